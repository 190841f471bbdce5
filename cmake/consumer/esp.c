/* SPDX-License-Identifier: MIT */
/* Checks that an installed libadma-esp links and runs: one copy through the ESP-IDF API. */
#include "esp_async_memcpy.h"

#include <semaphore.h>
#include <stdio.h>
#include <string.h>

static bool done(async_memcpy_handle_t mcp, async_memcpy_event_t *event, void *arg)
{
	(void)mcp;
	(void)event;
	sem_post(arg);
	return false;
}

int main(void)
{
	static char src[4096], dst[4096];
	async_memcpy_config_t config = ASYNC_MEMCPY_DEFAULT_CONFIG();
	async_memcpy_handle_t mcp;
	sem_t sem;
	esp_err_t err;

	memset(src, 0xa5, sizeof(src));
	sem_init(&sem, 0, 0);
	err = esp_async_memcpy_install(&config, &mcp);
	if (err != ESP_OK) {
		fprintf(stderr, "esp_async_memcpy_install: 0x%x\n", err);
		return 1;
	}
	err = esp_async_memcpy(mcp, dst, src, sizeof(src), done, &sem);
	if (err == ESP_OK)
		sem_wait(&sem);
	if (err != ESP_OK || memcmp(dst, src, sizeof(src)) != 0 ||
	    esp_async_memcpy_uninstall(mcp) != ESP_OK) {
		fprintf(stderr, "copy failed: 0x%x\n", err);
		return 1;
	}
	sem_destroy(&sem);
	printf("adma-esp: installed library works\n");
	return 0;
}
