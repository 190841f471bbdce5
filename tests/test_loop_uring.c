/* SPDX-License-Identifier: MIT */
/*
 * adma_fd() in an io_uring loop: an IORING_OP_POLL_ADD request on adma_fd() (one-shot, added
 * again after each completion) whose completion calls adma_poll(), which runs the engine's
 * callbacks; a 1 ms IORING_OP_TIMEOUT, added again after each expiry, as the timer; one
 * io_uring_wait_cqe() loop. The workload and its checks are loop_work.h's: 1 GiB of verified
 * 1 MiB copies, every callback once and in the loop thread, every wakeup with a result to
 * handle, none once the copies are done, the timer never unserved for 10 ms while the loop
 * thread had a CPU, adma_fd() still working afterwards.
 * Skipped, saying why, when built without liburing (pkg-config did not find it) or when the
 * kernel refuses io_uring (-ENOSYS: not built in; -EPERM: disabled by sysctl or seccomp).
 */
#include "loop_work.h"

#ifdef ADMA_TEST_NO_LIBURING

int main(void)
{
	printf("SKIP: test_loop_uring: liburing not found at build time (Debian: liburing-dev; "
	       "scripts/deps.sh installs it)\n");
	return T_SKIP;
}

#else

#include <liburing.h>

static struct lw w;
static struct io_uring ring;
/* Each request's user_data points at what it waits for: afd or one_ms. */
static int afd;
static struct __kernel_timespec one_ms = { .tv_nsec = 1000000 };

static struct io_uring_sqe *get_sqe(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	ASSERT(sqe != NULL); /* at most two requests are ever queued */
	return sqe;
}

/* A poll request completes once, when adma_fd() is readable (at once if it already is). */
static void watch_fd(void)
{
	struct io_uring_sqe *sqe = get_sqe();

	io_uring_prep_poll_add(sqe, afd, POLLIN);
	io_uring_sqe_set_data(sqe, &afd);
}

/* A timeout that waits for no completion count is a plain timer: it ends with -ETIME. */
static void arm_tick(void)
{
	struct io_uring_sqe *sqe = get_sqe();

	io_uring_prep_timeout(sqe, &one_ms, 0, 0);
	io_uring_sqe_set_data(sqe, &one_ms);
}

int main(void)
{
	int rc = io_uring_queue_init(4, &ring, 0);

	if (rc == -ENOSYS || rc == -EPERM) {
		printf("SKIP: test_loop_uring: the kernel refuses io_uring here "
		       "(io_uring_queue_init: %s)\n",
		       strerror(-rc));
		return T_SKIP;
	}
	ASSERT_EQ(rc, 0);
	lw_init(&w, "test_loop_uring");
	afd = adma_fd(w.e);
	ASSERT_GE(afd, 0);
	watch_fd();
	arm_tick();

	lw_start(&w);
	while (!lw_finished(&w)) {
		struct io_uring_cqe *cqe;
		void *what;
		int res;

		ASSERT_GE(io_uring_submit(&ring), 0);
		rc = io_uring_wait_cqe(&ring, &cqe);
		if (rc == -EINTR)
			continue;
		ASSERT_EQ(rc, 0);
		what = io_uring_cqe_get_data(cqe);
		res = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
		if (what == &afd) {
			ASSERT_GT(res, 0);
			ASSERT(res & POLLIN);
			lw_poll(&w);
			watch_fd();
		} else {
			ASSERT_PTR_EQ(what, &one_ms);
			ASSERT_EQ(res, -ETIME);
			lw_tick(&w);
			arm_tick();
		}
	}

	io_uring_queue_exit(&ring); /* cancels the requests still queued; adma_fd() stays open */
	lw_finish(&w);
	return T_PASS;
}

#endif
