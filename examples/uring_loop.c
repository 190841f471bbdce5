/* SPDX-License-Identifier: MIT */
/*
 * uring_loop: adma inside an io_uring loop.
 *
 * The engine is created with ADMA_CFG_DEFER_CALLBACKS: its workers only copy, and every
 * callback runs in the loop thread, inside adma_poll(). The ring carries a poll request on
 * adma_fd() (IORING_OP_POLL_ADD, one-shot: added again after each completion) and a 1 ms
 * timeout (IORING_OP_TIMEOUT) as a timer; when the poll request completes, adma_poll() runs
 * the callbacks of the copies done so far. The timer keeps ticking while 64 copies of 1 MiB are
 * in flight: the loop is never blocked. Exits 77 when the kernel refuses io_uring.
 *
 * pkg-config: adma liburing
 * Build against the installed library:
 *   gcc -std=c11 uring_loop.c $(pkg-config --cflags --libs adma liburing) -o uring_loop
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <adma.h>
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COPIES 64
#define COPY_BYTES ((size_t)1 << 20)
#define POLL_MAX 16

static struct io_uring ring;
/* Each request's user_data points at what it waits for: afd or one_ms. */
static int afd;
static struct __kernel_timespec one_ms = { .tv_nsec = 1000000 };
static unsigned calls[COPIES], callbacks, failures;

static void on_copy(void *arg, const struct adma_result *res)
{
	unsigned *c = arg;

	(*c)++;
	if (res->status != 0 || res->bytes != COPY_BYTES)
		failures++;
	callbacks++;
}

/* Queues a request with @data as its user_data; the next io_uring_submit() sends it. */
static struct io_uring_sqe *queue(void *data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring); /* never full: 2 requests at most */

	io_uring_sqe_set_data(sqe, data);
	return sqe;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "uring_loop: %s: %s\n", what, err < 0 ? adma_strerror(err) : strerror(err));
	return 1;
}

int main(void)
{
	struct adma_op ops[COPIES];
	struct adma_config cfg;
	struct adma_engine *e;
	struct timespec t0, t1;
	unsigned submitted = 0;
	uint64_t ticks = 0;
	unsigned char *src = malloc(COPIES * COPY_BYTES), *dst = calloc(COPIES, COPY_BYTES);
	int r;

	r = io_uring_queue_init(4, &ring, 0);
	if (r == -ENOSYS || r == -EPERM) {
		printf("uring_loop: the kernel refuses io_uring here: %s\n", strerror(-r));
		return 77;
	}
	if (r < 0)
		return fail("io_uring_queue_init", -r);
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
	io_uring_prep_poll_add(queue(&afd), afd, POLLIN);
	io_uring_prep_timeout(queue(&one_ms), &one_ms, 0, 0);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; i < COPIES; i++) {
		adma_prep_copy(&ops[i], dst + i * COPY_BYTES, src + i * COPY_BYTES, COPY_BYTES);
		adma_op_set_callback(&ops[i], on_copy, &calls[i]);
	}
	/* A submit may accept only a prefix of the batch: submit the rest. */
	while (submitted < COPIES) {
		r = adma_submit(e, ops + submitted, COPIES - submitted, NULL);
		if (r < 0)
			return fail("adma_submit", r);
		submitted += r;
	}

	while (callbacks < COPIES) {
		struct io_uring_cqe *cqe;
		void *what;
		int res;

		r = io_uring_submit(&ring);
		if (r >= 0)
			r = io_uring_wait_cqe(&ring, &cqe);
		if (r == -EINTR)
			continue;
		if (r < 0)
			return fail("io_uring", -r);
		what = io_uring_cqe_get_data(cqe);
		res = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
		if (what == &one_ms) { /* the timer: -ETIME when it expired */
			if (res != -ETIME)
				return fail("timeout", -res);
			ticks++;
			io_uring_prep_timeout(queue(&one_ms), &one_ms, 0, 0);
			continue;
		}
		/* adma_fd() is readable: run the callbacks, then watch it again */
		if (res < 0)
			return fail("poll", -res);
		r = adma_poll(e, NULL, POLL_MAX);
		if (r < 0)
			return fail("adma_poll", r);
		io_uring_prep_poll_add(queue(&afd), afd, POLLIN);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	for (unsigned i = 0; i < COPIES; i++) {
		if (calls[i] != 1)
			return fail("callbacks", EIO);
	}
	if (failures)
		return fail("copies", EIO);
	if (memcmp(dst, src, COPIES * COPY_BYTES) != 0)
		return fail("data", EIO);
	printf("%d copies of %zu KiB in %.1f ms: %u callbacks run by adma_poll in the loop, "
	       "%llu timer ticks served meanwhile\n",
	       COPIES, COPY_BYTES >> 10,
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6, callbacks,
	       (unsigned long long)ticks);

	io_uring_queue_exit(&ring); /* cancels the requests in flight; adma_fd() stays open */
	r = adma_engine_destroy(&e);
	free(src);
	free(dst);
	return r == 0 ? 0 : fail("adma_engine_destroy", r);
}
