/* SPDX-License-Identifier: MIT */
/*
 * adma_fd() in a libuv loop: a uv_poll_t watches adma_fd() for UV_READABLE and its callback
 * calls adma_poll(), which runs the engine's callbacks; a 1 ms uv_timer_t runs in the same
 * loop, uv_run(UV_RUN_DEFAULT) until the workload is done. The workload and its checks are
 * loop_work.h's: 1 GiB of verified 1 MiB copies, every callback once and in the loop thread,
 * every wakeup with a result to handle, none once the copies are done, the timer never
 * unserved for 10 ms while the loop thread had a CPU, adma_fd() still working afterwards.
 * Then every handle is closed and uv_loop_close() succeeds.
 * Built without libuv (pkg-config did not find it), the test says so and is skipped.
 * Only the test's thread calls libuv, never the engine's worker: libuv, not built for TSan,
 * needs no suppression there.
 */
#include "loop_work.h"

#ifdef ADMA_TEST_NO_LIBUV

int main(void)
{
	printf("SKIP: test_loop_uv: libuv not found at build time (Debian: libuv1-dev; "
	       "scripts/deps.sh installs it)\n");
	return T_SKIP;
}

#else

#include <uv.h>

static struct lw w;

#define ASSERT_UV(call)                                                                      \
	do {                                                                                 \
		int uv_rc_ = (call);                                                         \
		if (uv_rc_ != 0)                                                             \
			T_FAILED("%s returned %d (%s)", #call, uv_rc_, uv_strerror(uv_rc_)); \
	} while (0)

static void on_adma_fd(uv_poll_t *handle, int status, int events)
{
	ASSERT_UV(status);
	ASSERT(events & UV_READABLE);
	lw_poll(handle->data);
}

static void on_tick(uv_timer_t *timer)
{
	struct lw *lw = timer->data;

	lw_tick(lw);
	if (lw_finished(lw))
		uv_stop(timer->loop);
}

int main(void)
{
	uv_loop_t loop;
	uv_poll_t watcher;
	uv_timer_t timer;

	lw_init(&w, "test_loop_uv");
	ASSERT_UV(uv_loop_init(&loop));
	ASSERT_UV(uv_poll_init(&loop, &watcher, adma_fd(w.e)));
	ASSERT_UV(uv_timer_init(&loop, &timer));
	watcher.data = &w;
	timer.data = &w;
	ASSERT_UV(uv_poll_start(&watcher, UV_READABLE, on_adma_fd));
	ASSERT_UV(uv_timer_start(&timer, on_tick, 1, 1));

	lw_start(&w);
	/* returns once on_tick() stops it: both handles are still active */
	ASSERT_NE(uv_run(&loop, UV_RUN_DEFAULT), 0);
	ASSERT(lw_finished(&w));

	/* closing does not touch adma_fd(), which belongs to the engine */
	uv_close((uv_handle_t *)&watcher, NULL);
	uv_close((uv_handle_t *)&timer, NULL);
	ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
	ASSERT_UV(uv_loop_close(&loop));
	lw_finish(&w);
	return T_PASS;
}

#endif
