/* SPDX-License-Identifier: MIT */
/*
 * adma_fd() and adma_poll() as an event loop sees them (poll(2) on the descriptor).
 * The descriptor: the same every call, an eventfd, not readable on a fresh engine.
 * Without deferred callbacks: it turns readable when an op completes, stays readable until
 * adma_poll(), which returns 0 (out NULL or not) and clears it; callbacks never run in poll.
 * With deferred callbacks (and the inline backend): readable while results are pending;
 * adma_poll(e, out, max) runs the callbacks in the calling thread and fills out[] with
 * ticket/status/bytes; max = 2 of 5 pending leaves it readable; drained, it is not; out == NULL
 * works; ops without callbacks are reported too; failures carry their status; max 0 handles
 * nothing. Every configuration.
 */
#include "helpers.h"

#include <limits.h>
#include <poll.h>
#include <sys/stat.h>

#define LONG_MS (t_valgrind() ? 60000 : 10000)

static void test_descriptor(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	int fd = adma_fd(e);
	char path[64], link[PATH_MAX];
	struct stat sb;
	ssize_t n;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(adma_fd(e), fd);
	ASSERT_EQ(adma_fd(e), fd);
	ASSERT_EQ(fstat(fd, &sb), 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) { /* /proc may be missing */
		link[n] = '\0';
		if (strcmp(link, "anon_inode:[eventfd]") != 0)
			T_FAILED("adma_fd is %s, not an eventfd", link);
	}
	ASSERT(!t_readable(fd, 0));
	ASSERT_EQ(adma_poll(e, NULL, 16), 0);
	ASSERT(!t_readable(fd, 0));
	ASSERT_OK(adma_engine_destroy(&e));
}

static void test_not_deferred(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	int fd = adma_fd(e);
	struct adma_result out[4];
	uint8_t src[512], dst[512], dst5[5][512];
	struct t_rec r = { 0 };
	struct t_gate g = { 0 };
	struct adma_op op;
	uint64_t t;

	t_fill_random(src, sizeof(src), 8);
	ASSERT(!t_readable(fd, 0));

	/* completes: readable, and stays so until adma_poll */
	adma_prep_copy(&op, dst, src, sizeof(src));
	adma_op_set_callback(&op, t_rec_cb, &r);
	t = t_submit1(e, &op);
	ASSERT_EQ(adma_wait(e, t, -1), 0);
	ASSERT_EQ(atomic_load(&r.calls), 1);
	ASSERT(!pthread_equal(r.thread, pthread_self()));
	ASSERT(t_readable(fd, LONG_MS));
	ASSERT(t_readable(fd, 0));
	t_sleep_ms(10);
	ASSERT(t_readable(fd, 0));
	ASSERT_EQ(adma_poll(e, out, 4), 0);
	ASSERT(!t_readable(fd, 0));
	ASSERT_EQ(adma_poll(e, out, 4), 0);
	ASSERT(!t_readable(fd, 0));

	/* learnt from the descriptor alone, without waiting first */
	adma_prep_copy(&op, dst, src, sizeof(src));
	t = t_submit1(e, &op);
	ASSERT(t_readable(fd, LONG_MS));
	ASSERT_EQ(adma_wait(e, t, 10 * SEC), 0);
	ASSERT_EQ(adma_poll(e, NULL, 4), 0); /* out NULL */
	ASSERT(!t_readable(fd, 0));

	/* several completions, one acknowledgement */
	for (unsigned i = 0; i < 5; i++) {
		adma_prep_copy(&op, dst5[i], src, sizeof(src));
		t_submit1(e, &op);
	}
	ASSERT_EQ(adma_barrier(e, 10 * SEC), 0);
	ASSERT(t_readable(fd, LONG_MS));
	ASSERT_EQ(adma_poll(e, out, 1), 0);
	ASSERT(!t_readable(fd, 0));

	/* a held op: not readable until it completes (threads backend here) */
	adma_prep_custom(&op, t_gate_op, NULL, NULL, &g);
	t = t_submit1(e, &op);
	t_gate_wait_entered(&g, 1);
	ASSERT(!t_readable(fd, 20));
	atomic_store(&g.open, 1);
	ASSERT(t_readable(fd, LONG_MS));
	ASSERT_EQ(adma_wait(e, t, 10 * SEC), 0);
	ASSERT_EQ(adma_poll(e, out, 4), 0);
	ASSERT(!t_readable(fd, 0));
	ASSERT_EQ(atomic_load(&r.calls), 1);
	ASSERT_OK(adma_engine_destroy(&e));
}

static void test_deferred(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	bool in_order = (c->flags & ADMA_CFG_ORDERED) || c->backend == ADMA_BACKEND_INLINE;
	int fd = adma_fd(e);
	struct adma_result out[8];
	uint8_t src[5][100], dst[5][100];
	struct t_rec r[5];
	uint64_t t[5];
	bool seen[5] = { false };
	struct adma_op op;
	unsigned got = 0;
	int n;

	memset(r, 0, sizeof(r));
	t_fill_random(src, sizeof(src), 9);
	ASSERT(!t_readable(fd, 0));
	ASSERT_EQ(adma_poll(e, out, 8), 0);

	for (unsigned i = 0; i < 5; i++) {
		adma_prep_copy(&op, dst[i], src[i], 10 + i * 20);
		adma_op_set_callback(&op, t_rec_cb, &r[i]);
		t[i] = t_submit1(e, &op);
	}
	for (unsigned i = 0; i < 5; i++)
		ASSERT_EQ(adma_wait(e, t[i], -1), 0);
	ASSERT(t_readable(fd, LONG_MS));
	for (unsigned i = 0; i < 5; i++)
		ASSERT_EQ(atomic_load(&r[i].calls), 0); /* only adma_poll runs them */

	/* max 0 handles nothing */
	ASSERT_EQ(adma_poll(e, out, 0), 0);
	ASSERT_EQ(adma_poll(e, NULL, 0), 0);
	ASSERT(t_readable(fd, 0));

	/* two, two, then the last one */
	for (unsigned round = 0; round < 3; round++) {
		n = adma_poll(e, out, 2);
		ASSERT_EQ(n, round < 2 ? 2 : 1);
		for (int k = 0; k < n; k++) {
			unsigned i;

			for (i = 0; i < 5 && t[i] != out[k].ticket; i++)
				;
			if (i == 5)
				T_FAILED("adma_poll reported ticket %" PRIu64 ", never submitted",
					 out[k].ticket);
			ASSERT(!seen[i]);
			seen[i] = true;
			if (in_order)
				ASSERT_EQ(i, got);
			got++;
			ASSERT_EQ(out[k].status, 0);
			ASSERT_UEQ(out[k].bytes, 10 + i * 20);
			ASSERT_EQ(atomic_load(&r[i].calls), 1);
			ASSERT(pthread_equal(r[i].thread, pthread_self()));
			ASSERT_UEQ(r[i].ticket, t[i]);
			ASSERT_UEQ(r[i].bytes, 10 + i * 20);
		}
		if (round < 2)
			ASSERT(t_readable(fd, 0));
	}
	ASSERT_EQ(got, 5);
	ASSERT(!t_readable(fd, 0));
	ASSERT_EQ(adma_poll(e, out, 8), 0);
	ASSERT(!t_readable(fd, 0));
	for (unsigned i = 0; i < 5; i++)
		ASSERT_EQ(atomic_load(&r[i].calls), 1);

	/* out == NULL: callbacks run, the count comes back */
	memset(r, 0, sizeof(r));
	for (unsigned i = 0; i < 3; i++) {
		adma_prep_copy(&op, dst[i], src[i], 50);
		adma_op_set_callback(&op, t_rec_cb, &r[i]);
		t[i] = t_submit1(e, &op);
	}
	ASSERT_EQ(adma_barrier(e, -1), 0);
	ASSERT(t_readable(fd, LONG_MS));
	ASSERT_EQ(adma_poll(e, NULL, 16), 3);
	for (unsigned i = 0; i < 3; i++)
		ASSERT_EQ(atomic_load(&r[i].calls), 1);
	ASSERT(!t_readable(fd, 0));

	/* ops without callbacks are reported too; a failure carries its status */
	adma_prep_copy(&op, dst[0], src[0], 7);
	t[0] = t_submit1(e, &op);
	adma_prep_custom(&op, t_op_eio, NULL, NULL, NULL);
	t[1] = t_submit1(e, &op);
	adma_prep_copy(&op, dst[2], src[2], 0);
	t[2] = t_submit1(e, &op);
	ASSERT_EQ(adma_barrier(e, -1), -EIO);
	ASSERT(t_readable(fd, LONG_MS));
	n = adma_poll(e, out, 8);
	ASSERT_EQ(n, 3);
	memset(seen, 0, sizeof(seen));
	for (int k = 0; k < n; k++) {
		unsigned i;

		for (i = 0; i < 3 && t[i] != out[k].ticket; i++)
			;
		ASSERT_LT(i, 3);
		ASSERT(!seen[i]);
		seen[i] = true;
		if (in_order)
			ASSERT_EQ(i, (unsigned)k);
		ASSERT_EQ(out[k].status, i == 1 ? -EIO : 0);
		ASSERT_UEQ(out[k].bytes, i == 0 ? 7 : 0);
	}
	ASSERT(!t_readable(fd, 0));
	ASSERT_OK(adma_engine_destroy(&e));
}

/* Deferred, larger: an event loop in another thread runs every callback there. */
struct loop {
	struct adma_engine *e;
	unsigned expect;
	atomic_uint handled;
	atomic_int wrong_thread;
	pthread_t self;
	int rc;
};

static void loop_cb(void *arg, const struct adma_result *res)
{
	struct loop *l = arg;

	(void)res;
	if (!pthread_equal(pthread_self(), l->self))
		atomic_fetch_add(&l->wrong_thread, 1);
}

static void *loop_main(void *arg)
{
	struct loop *l = arg;
	struct adma_result out[16];
	int fd = adma_fd(l->e);
	uint64_t deadline = t_deadline_s(30);

	l->self = pthread_self();
	while (atomic_load(&l->handled) < l->expect && t_now_ns() < deadline) {
		int n;

		if (!t_readable(fd, 100))
			continue;
		n = adma_poll(l->e, out, 16);
		if (n < 0) {
			l->rc = n;
			return NULL;
		}
		atomic_fetch_add(&l->handled, (unsigned)n);
	}
	return NULL;
}

static void test_event_loop(const struct t_config *c)
{
	unsigned nops = t_valgrind() ? 100 : 2000;
	struct loop l = { .expect = nops };
	uint8_t src[64], *dst = malloc((size_t)nops * 64);
	struct adma_op op;
	pthread_t tid;

	ASSERT(dst);
	l.e = t_engine(c, ADMA_CFG_BLOCK_WHEN_FULL, 128);
	t_fill_random(src, sizeof(src), 10);
	/* l.self is written by the loop thread before it polls; loop_cb reads it there only */
	ASSERT_EQ(pthread_create(&tid, NULL, loop_main, &l), 0);
	for (unsigned i = 0; i < nops; i++) {
		adma_prep_copy(&op, dst + (size_t)i * 64, src, 64);
		if (i % 2)
			adma_op_set_callback(&op, loop_cb, &l);
		ASSERT_EQ(adma_submit(l.e, &op, 1, NULL), 1);
	}
	ASSERT_EQ(pthread_join(tid, NULL), 0);
	ASSERT_EQ(l.rc, 0);
	ASSERT_EQ(atomic_load(&l.handled), nops);
	ASSERT_EQ(atomic_load(&l.wrong_thread), 0);
	ASSERT_EQ(adma_barrier(l.e, 10 * SEC), 0);
	ASSERT(!t_readable(adma_fd(l.e), 0));
	ASSERT_EQ(adma_poll(l.e, NULL, 16), 0);
	for (unsigned i = 0; i < nops; i++)
		ASSERT(memcmp(dst + (size_t)i * 64, src, 64) == 0);
	ASSERT_OK(adma_engine_destroy(&l.e));
	free(dst);
}

int main(void)
{
	FOR_EACH_CONFIG (c) {
		test_descriptor(c);
		if (t_deferred(c)) {
			test_deferred(c);
			test_event_loop(c);
		} else {
			test_not_deferred(c);
		}
	}
	return T_PASS;
}
