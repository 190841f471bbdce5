/* SPDX-License-Identifier: MIT */
/*
 * esp_async_memcpy.h next to a program's own ESP-IDF definitions: a firmware component built
 * on the host often brings its own esp_err.h and esp_etm.h (or stubs of them) and includes
 * them before esp_async_memcpy.h. Here this file defines first exactly what those would
 * (esp_err_t, ESP_OK, ESP_FAIL, ESP_ERR_NO_MEM, ESP_ERR_INVALID_ARG, esp_etm_event_handle_t and
 * the prototype of esp_etm_del_event), then includes the header, twice. It must compile without
 * a warning (-Werror in CI, -Wpedantic forced on here), keep the program's definitions,
 * supply the codes the program did not define at ESP-IDF's values, and run one copy with a
 * callback, one ETM event and an uninstall.
 */

/* What a program's esp_err.h defines... */
typedef int esp_err_t;
#define ESP_OK 0
#define ESP_FAIL -1
#define ESP_ERR_NO_MEM 0x101
#define ESP_ERR_INVALID_ARG 0x102
/* ... and its esp_etm.h. */
typedef struct esp_etm_event_t *esp_etm_event_handle_t;
esp_err_t esp_etm_del_event(esp_etm_event_handle_t event);

#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wpedantic"
#include "esp_async_memcpy.h"
#include "esp_async_memcpy.h" /* the include guard */
#pragma GCC diagnostic pop

#include "helpers.h"

#include <semaphore.h>

#define N 3000

static sem_t done;
static atomic_uint calls;

static bool on_done(async_memcpy_handle_t mcp, async_memcpy_event_t *event, void *cb_args)
{
	CHECK(mcp != NULL);
	CHECK(event != NULL && event->data == NULL);
	CHECK(cb_args == &done);
	atomic_fetch_add(&calls, 1);
	t_sem_post(&done);
	return false;
}

int main(void)
{
	async_memcpy_config_t cfg = ASYNC_MEMCPY_DEFAULT_CONFIG();
	async_memcpy_handle_t mcp = NULL;
	esp_etm_event_handle_t ev = NULL;
	static uint8_t src[N], dst[N];
	struct timespec ts;
	uint64_t count = 0;
	esp_err_t rc;

	/* The program's codes, and the header's for the rest, at ESP-IDF's values. */
	ASSERT_EQ(ESP_OK, 0);
	ASSERT_EQ(ESP_FAIL, -1);
	ASSERT_EQ(ESP_ERR_NO_MEM, 0x101);
	ASSERT_EQ(ESP_ERR_INVALID_ARG, 0x102);
	ASSERT_EQ(ESP_ERR_INVALID_STATE, 0x103);
	ASSERT_EQ(ESP_ERR_INVALID_SIZE, 0x104);
	ASSERT_EQ(ESP_ERR_NOT_SUPPORTED, 0x106);

	ASSERT_EQ(sem_init(&done, 0, 0), 0);
	t_fill_random(src, sizeof(src), 5);
	rc = esp_async_memcpy_install(&cfg, &mcp);
	ASSERT_EQ(rc, ESP_OK);
	ASSERT(mcp != NULL);
	rc = esp_async_memcpy_new_etm_event(mcp, ASYNC_MEMCPY_ETM_EVENT_COPY_DONE, &ev);
	ASSERT_EQ(rc, ESP_OK);
	ASSERT_GE(esp_etm_event_fd(ev), 0);
	rc = esp_async_memcpy(mcp, dst, src, sizeof(src), on_done, &done);
	ASSERT_EQ(rc, ESP_OK);

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += t_valgrind() ? 300 : 30;
	if (!t_sem_timedwait(&done, &ts))
		T_FAILED("the copy's callback did not run: sem_timedwait: %s", strerror(errno));
	ASSERT_EQ(memcmp(dst, src, sizeof(src)), 0);
	ASSERT_EQ(read(esp_etm_event_fd(ev), &count, sizeof(count)), (ssize_t)sizeof(count));
	ASSERT_UEQ(count, 1);
	ASSERT_EQ(esp_async_memcpy_uninstall(mcp), ESP_OK);
	ASSERT_EQ(esp_etm_del_event(ev), ESP_OK);
	ASSERT_EQ(atomic_load(&calls), 1);
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);
	sem_destroy(&done);
	return T_PASS;
}
