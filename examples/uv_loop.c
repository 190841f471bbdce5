/* SPDX-License-Identifier: MIT */
/*
 * uv_loop: adma inside a libuv loop.
 *
 * The engine is created with ADMA_CFG_DEFER_CALLBACKS: its workers only copy, and every
 * callback runs in the loop thread, inside adma_poll(). A uv_poll_t watches adma_fd() and
 * calls adma_poll() whenever it is readable, so callbacks may touch the loop's state without
 * locks. A 1 ms uv_timer_t keeps ticking while 64 copies of 1 MiB are in flight: the loop is
 * never blocked.
 *
 * pkg-config: adma libuv
 * Build against the installed library:
 *   gcc -std=c11 uv_loop.c $(pkg-config --cflags --libs adma libuv) -o uv_loop
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <adma.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define COPIES 64
#define COPY_BYTES ((size_t)1 << 20)
#define POLL_MAX 16

static struct adma_engine *e;
static unsigned calls[COPIES], callbacks, failures;
static uint64_t ticks;

static void on_copy(void *arg, const struct adma_result *res)
{
	unsigned *c = arg;

	(*c)++;
	if (res->status != 0 || res->bytes != COPY_BYTES)
		failures++;
	callbacks++;
}

/* adma_fd() is readable: adma_poll() runs the callbacks of the copies done so far. */
static void on_adma_fd(uv_poll_t *handle, int status, int events)
{
	int r = status < 0 ? status : adma_poll(e, NULL, POLL_MAX);

	if (r < 0 || !(events & UV_READABLE)) {
		fprintf(stderr, "uv_loop: %s\n", status < 0 ? uv_strerror(r) : adma_strerror(r));
		failures++;
		uv_stop(handle->loop);
	} else if (callbacks == COPIES) {
		uv_stop(handle->loop); /* uv_run() returns; the handles are closed after */
	}
}

static void on_tick(uv_timer_t *handle)
{
	(void)handle;
	ticks++;
}

static int fail(const char *what, const char *why)
{
	fprintf(stderr, "uv_loop: %s: %s\n", what, why);
	return 1;
}

int main(void)
{
	struct adma_op ops[COPIES];
	struct adma_config cfg;
	uv_loop_t *loop = uv_default_loop();
	uv_poll_t watcher;
	uv_timer_t timer;
	unsigned submitted = 0;
	uint64_t t0, ns;
	unsigned char *src = malloc(COPIES * COPY_BYTES), *dst = calloc(COPIES, COPY_BYTES);
	int r;

	if (!src || !dst)
		return fail("malloc", "out of memory");
	for (size_t i = 0; i < COPIES * COPY_BYTES; i++)
		src[i] = (unsigned char)(i * 13 + i / 4093);

	adma_config_init(&cfg);
	cfg.flags = ADMA_CFG_DEFER_CALLBACKS;
	r = adma_engine_create(&e, &cfg);
	if (r < 0)
		return fail("adma_engine_create", adma_strerror(r));

	/* libuv watches the engine's descriptor; it never reads or closes it */
	r = uv_poll_init(loop, &watcher, adma_fd(e));
	if (r == 0)
		r = uv_poll_start(&watcher, UV_READABLE, on_adma_fd);
	if (r == 0)
		r = uv_timer_init(loop, &timer);
	if (r == 0)
		r = uv_timer_start(&timer, on_tick, 1, 1);
	if (r < 0)
		return fail("uv", uv_strerror(r));

	t0 = uv_hrtime();
	for (unsigned i = 0; i < COPIES; i++) {
		adma_prep_copy(&ops[i], dst + i * COPY_BYTES, src + i * COPY_BYTES, COPY_BYTES);
		adma_op_set_callback(&ops[i], on_copy, &calls[i]);
	}
	/* A submit may accept only a prefix of the batch: submit the rest. */
	while (submitted < COPIES) {
		r = adma_submit(e, ops + submitted, COPIES - submitted, NULL);
		if (r < 0)
			return fail("adma_submit", adma_strerror(r));
		submitted += r;
	}
	uv_run(loop, UV_RUN_DEFAULT);
	ns = uv_hrtime() - t0;

	for (unsigned i = 0; i < COPIES; i++) {
		if (calls[i] != 1)
			return fail("callbacks", "a copy's callback did not run exactly once");
	}
	if (failures || callbacks != COPIES)
		return fail("copies", "a copy failed");
	if (memcmp(dst, src, COPIES * COPY_BYTES) != 0)
		return fail("data", "the destination differs from the source");
	printf("%d copies of %zu KiB in %.1f ms: %u callbacks run by adma_poll in the loop, "
	       "%llu timer ticks served meanwhile\n",
	       COPIES, COPY_BYTES >> 10, (double)ns / 1e6, callbacks, (unsigned long long)ticks);

	uv_close((uv_handle_t *)&watcher, NULL);
	uv_close((uv_handle_t *)&timer, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	r = uv_loop_close(loop);
	if (r < 0)
		return fail("uv_loop_close", uv_strerror(r));
	r = adma_engine_destroy(&e);
	free(src);
	free(dst);
	return r == 0 ? 0 : fail("adma_engine_destroy", adma_strerror(r));
}
