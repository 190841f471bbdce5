/* SPDX-License-Identifier: MIT */
/*
 * adma_fd() in an epoll loop: the engine's descriptor and a 1 ms timerfd in one epoll set,
 * level-triggered; adma_fd() readable calls adma_poll(), which runs the callbacks. The
 * workload and its checks are loop_work.h's: 1 GiB of verified 1 MiB copies, every callback
 * once and in the loop thread, every wakeup with a result to handle, none once the copies are
 * done, the timer never unserved for 10 ms while the loop thread had a CPU, adma_fd() still
 * working afterwards.
 */
#include "loop_work.h"

#include <sys/epoll.h>
#include <sys/timerfd.h>

static struct lw w;

int main(void)
{
	struct itimerspec every_1ms = { { 0, 1000000 }, { 0, 1000000 } };
	struct epoll_event ev = { .events = EPOLLIN };
	int ep, tfd, afd;

	lw_init(&w, "test_loop_epoll");
	afd = adma_fd(w.e);
	ASSERT_GE(afd, 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_GE(ep, 0);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ASSERT_GE(tfd, 0);
	ev.data.fd = afd;
	ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, afd, &ev), 0);
	ev.data.fd = tfd;
	ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev), 0);
	ASSERT_EQ(timerfd_settime(tfd, 0, &every_1ms, NULL), 0);

	lw_start(&w);
	while (!lw_finished(&w)) {
		struct epoll_event evs[2];
		int n = epoll_wait(ep, evs, 2, -1);

		if (n < 0 && errno == EINTR)
			continue;
		ASSERT_GT(n, 0);
		for (int i = 0; i < n; i++) {
			uint64_t expired;

			if (evs[i].data.fd == afd) {
				lw_poll(&w);
				continue;
			}
			ASSERT_EQ(read(tfd, &expired, sizeof(expired)), sizeof(expired));
			lw_tick(&w);
		}
	}

	close(tfd);
	close(ep); /* not afd: it belongs to the engine */
	lw_finish(&w);
	return T_PASS;
}
