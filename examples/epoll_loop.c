/* SPDX-License-Identifier: MIT */
/*
 * epoll_loop: adma inside a single-threaded event loop.
 *
 * The engine is created with ADMA_CFG_DEFER_CALLBACKS: its workers only copy, and every
 * callback runs in the loop thread, inside adma_poll(), when epoll reports adma_fd() readable.
 * So callbacks may touch the loop's state without locks. A 10 ms timerfd served by the same
 * epoll set keeps ticking while 64 copies of 1 MiB are in flight: the loop is never blocked.
 *
 * Build against the installed library:
 *   gcc -std=c11 epoll_loop.c $(pkg-config --cflags --libs adma) -o epoll_loop
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <adma.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define COPIES 64
#define COPY_BYTES ((size_t)1 << 20)
#define POLL_MAX 16

struct copy {
	unsigned calls;
	int status;
	size_t bytes;
};

static struct copy copies[COPIES];
static unsigned callbacks, outside_poll;
static int in_poll; /* set around adma_poll(): deferred callbacks may only run there */

static void on_copy(void *arg, const struct adma_result *res)
{
	struct copy *c = arg;

	if (!in_poll)
		outside_poll++;
	c->calls++;
	c->status = res->status;
	c->bytes = res->bytes;
	callbacks++;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "epoll_loop: %s: %s\n", what, err < 0 ? adma_strerror(err) : strerror(err));
	return 1;
}

int main(void)
{
	struct itimerspec every_10ms = { { 0, 10000000 }, { 0, 10000000 } };
	struct epoll_event ev = { .events = EPOLLIN };
	struct adma_result res[POLL_MAX];
	struct adma_op ops[COPIES];
	struct adma_config cfg;
	struct adma_engine *e;
	struct timespec t0, t1;
	unsigned results = 0, polls = 0, submitted = 0;
	uint64_t ticks = 0;
	unsigned char *src = malloc(COPIES * COPY_BYTES), *dst = calloc(COPIES, COPY_BYTES);
	int ep, tfd, afd, r;

	if (!src || !dst)
		return fail("malloc", ENOMEM);
	for (size_t i = 0; i < COPIES * COPY_BYTES; i++)
		src[i] = (unsigned char)(i * 13 + i / 4093);

	adma_config_init(&cfg);
	cfg.flags = ADMA_CFG_DEFER_CALLBACKS;
	r = adma_engine_create(&e, &cfg);
	if (r < 0)
		return fail("adma_engine_create", r);
	afd = adma_fd(e);
	if (afd < 0)
		return fail("adma_fd", afd);

	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ep < 0 || tfd < 0 || timerfd_settime(tfd, 0, &every_10ms, NULL) < 0)
		return fail("epoll/timerfd", errno);
	ev.data.fd = afd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, afd, &ev) < 0)
		return fail("epoll_ctl", errno);
	ev.data.fd = tfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) < 0)
		return fail("epoll_ctl", errno);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; i < COPIES; i++) {
		adma_prep_copy(&ops[i], dst + i * COPY_BYTES, src + i * COPY_BYTES, COPY_BYTES);
		adma_op_set_callback(&ops[i], on_copy, &copies[i]);
	}
	/* A submit may accept only a prefix of the batch: submit the rest. */
	while (submitted < COPIES) {
		r = adma_submit(e, ops + submitted, COPIES - submitted, NULL);
		if (r < 0)
			return fail("adma_submit", r);
		submitted += r;
	}

	while (results < COPIES) {
		struct epoll_event evs[2];
		int n = epoll_wait(ep, evs, 2, 1000);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail("epoll_wait", errno);
		if (n == 0 || ticks > 1000)
			return fail("copies", ETIMEDOUT);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == tfd) {
				uint64_t expired;

				if (read(tfd, &expired, sizeof(expired)) == sizeof(expired))
					ticks += expired;
				continue;
			}
			in_poll = 1;
			r = adma_poll(e, res, POLL_MAX);
			in_poll = 0;
			if (r < 0)
				return fail("adma_poll", r);
			polls++;
			for (int j = 0; j < r; j++) {
				if (res[j].status != 0 || res[j].bytes != COPY_BYTES)
					return fail("copy result",
						    res[j].status ? res[j].status : EIO);
			}
			results += r;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	for (unsigned i = 0; i < COPIES; i++) {
		if (copies[i].calls != 1 || copies[i].status != 0 || copies[i].bytes != COPY_BYTES)
			return fail("callback", EIO);
	}
	if (callbacks != COPIES || outside_poll != 0)
		return fail("callbacks", EIO);
	if (memcmp(dst, src, COPIES * COPY_BYTES) != 0)
		return fail("data", EIO);
	printf("%d copies of %zu KiB in %.1f ms: %u callbacks, %u results from %u adma_poll calls, "
	       "%llu timer ticks served meanwhile\n",
	       COPIES, COPY_BYTES >> 10,
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6, callbacks, results,
	       polls, (unsigned long long)ticks);

	close(tfd);
	close(ep); /* not afd: it belongs to the engine */
	r = adma_engine_destroy(&e);
	free(src);
	free(dst);
	return r == 0 ? 0 : fail("adma_engine_destroy", r);
}
