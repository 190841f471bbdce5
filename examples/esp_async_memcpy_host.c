/* SPDX-License-Identifier: MIT */
/*
 * esp_async_memcpy_host: ESP-IDF's async memcpy driver, used the way a firmware component uses
 * it, running on a Linux host through libadma-esp.
 *
 * The component installs the driver with ASYNC_MEMCPY_DEFAULT_CONFIG(), queues a few copies
 * whose completion callback gives a semaphore (xSemaphoreGiveFromISR on the chip; a POSIX
 * semaphore here, since on the host the callback runs on an engine thread, not in an ISR), takes
 * the semaphore once per copy, checks the data and uninstalls the driver. The same source
 * builds for the chip with FreeRTOS semaphores in place of the POSIX ones; nothing of adma's
 * own API appears.
 *
 * pkg-config: adma-esp
 * Build against the installed library:
 *   gcc -std=c11 esp_async_memcpy_host.c $(pkg-config --cflags --libs adma-esp) -o esp_async_memcpy_host
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "esp_async_memcpy.h"

#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define COPIES 4
#define COPY_BYTES (64u << 10)

static unsigned char src[COPIES][COPY_BYTES], dst[COPIES][COPY_BYTES];
static sem_t copy_done;

/* Runs once per copy, after its data is in place. On the chip this is an ISR: it only gives
 * the semaphore. The return value ("a higher priority task was woken") is ignored on a host. */
static bool on_copy_done(async_memcpy_handle_t mcp, async_memcpy_event_t *event, void *cb_args)
{
	(void)mcp;
	(void)event;
	sem_post(cb_args);
	return false;
}

/* Takes the semaphore, waiting at most a second (like xSemaphoreTake with a timeout). */
static int take(sem_t *s)
{
	struct timespec ts;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 1;
	do
		rc = sem_timedwait(s, &ts);
	while (rc < 0 && errno == EINTR);
	return rc;
}

int main(void)
{
	async_memcpy_config_t config = ASYNC_MEMCPY_DEFAULT_CONFIG();
	async_memcpy_handle_t driver = NULL;
	esp_err_t err;
	int status = 0;

	for (unsigned i = 0; i < COPIES; i++)
		for (unsigned k = 0; k < COPY_BYTES; k++)
			src[i][k] = (unsigned char)(i * 31 + k * 7 + k / 253);
	if (sem_init(&copy_done, 0, 0) != 0) {
		perror("sem_init");
		return 1;
	}

	err = esp_async_memcpy_install(&config, &driver);
	if (err != ESP_OK) {
		fprintf(stderr, "esp_async_memcpy_install failed: 0x%x\n", (unsigned)err);
		return 1;
	}
	/* Up to config.backlog (8) copies may be pending: these four are queued at once. */
	for (unsigned i = 0; i < COPIES; i++) {
		err = esp_async_memcpy(driver, dst[i], src[i], COPY_BYTES, on_copy_done,
				       &copy_done);
		if (err != ESP_OK) {
			fprintf(stderr, "esp_async_memcpy %u failed: 0x%x\n", i, (unsigned)err);
			status = 1;
			break;
		}
	}
	/* ... the component does other work while the copies run ... */
	for (unsigned i = 0; i < COPIES && status == 0; i++) {
		if (take(&copy_done) != 0) {
			fprintf(stderr, "copy %u did not finish within a second\n", i);
			return 1; /* the driver may still be using the buffers: do not uninstall */
		}
	}
	for (unsigned i = 0; i < COPIES && status == 0; i++) {
		if (memcmp(dst[i], src[i], COPY_BYTES) != 0) {
			fprintf(stderr, "copy %u: destination differs from source\n", i);
			status = 1;
		}
	}
	if (status == 0)
		printf("%u copies of %u KiB done and verified\n", COPIES, COPY_BYTES >> 10);

	/* The last callback may still be returning: uninstall waits for it. */
	err = esp_async_memcpy_uninstall(driver);
	if (err != ESP_OK) {
		fprintf(stderr, "esp_async_memcpy_uninstall failed: 0x%x\n", (unsigned)err);
		status = 1;
	}
	sem_destroy(&copy_done);
	return status;
}
