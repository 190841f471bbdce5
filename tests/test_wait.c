/* SPDX-License-Identifier: MIT */
/*
 * adma_wait(): returns the op's own status (0, a custom operator's -EIO), after the callback
 * has returned when callbacks are not deferred, and without any adma_poll() when they are;
 * -ETIMEDOUT for a held op with timeout 0 and after at least the timeout with a timeout; at once
 * for an op that completed long ago (thousands of later ops, failures included); -EINVAL for
 * ticket 0, tickets never issued and bad timeouts; several threads waiting on one ticket all
 * return its status. Every configuration; scenarios that hold workers with a gate skip the
 * inline backend, where the gate would run inside adma_submit() and never return.
 */
#include "helpers.h"

#define NWAITERS 4

static long op_enospc(void *dst, const void *src, void *arg)
{
	(void)dst, (void)src, (void)arg;
	return -ENOSPC;
}

static long op_123(void *dst, const void *src, void *arg)
{
	(void)dst, (void)src, (void)arg;
	return 123;
}

struct rec {
	atomic_int calls;
	atomic_int done; /* set as the callback's last action */
	int status;
	size_t bytes;
	uint64_t ticket;
	unsigned sleep_ms;
};

static void rec_cb(void *arg, const struct adma_result *res)
{
	struct rec *r = arg;

	if (r->sleep_ms)
		t_sleep_ms(r->sleep_ms); /* widens the window in which a wait could return early */
	r->status = res->status;
	r->bytes = res->bytes;
	r->ticket = res->ticket;
	atomic_fetch_add(&r->calls, 1);
	atomic_store(&r->done, 1);
}

/* Submits one op, retrying (and polling deferred engines) while the backlog is full. */
static uint64_t submit_retry(struct adma_engine *e, const struct adma_op *op)
{
	uint64_t t = 0, deadline = t_deadline_s(20);
	unsigned spins = 0;
	int rc;

	while ((rc = adma_submit(e, op, 1, &t)) == -EAGAIN && t_now_ns() < deadline) {
		adma_poll(e, NULL, UINT32_MAX);
		t_backoff(&spins);
	}
	ASSERT_EQ(rc, 1);
	return t;
}

/* Gate ops that hold every worker: one per worker, one under ORDERED (one op at a time). */
static unsigned hold_workers(struct adma_engine *e, const struct t_config *c, struct t_gate *g,
			     uint64_t *first)
{
	unsigned n = t_gate_count(c);

	for (unsigned i = 0; i < n; i++) {
		uint64_t t = t_submit_custom(e, t_gate_op, g, NULL, NULL);

		if (i == 0 && first)
			*first = t;
	}
	t_gate_wait_entered(g, (int)n);
	return n;
}

/* Status of a completed copy: 0, after the callback (non-deferred), before it (deferred). */
static void test_status_and_callback(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	size_t n = t_valgrind() ? 64 << 10 : 1 << 20;
	uint8_t *src = malloc(n), *dst = calloc(1, n);
	struct rec r = { .sleep_ms = 5 };
	struct adma_op op;
	uint64_t t;

	ASSERT(src && dst);
	t_fill_random(src, n, 1);
	adma_prep_copy(&op, dst, src, n);
	adma_op_set_callback(&op, rec_cb, &r);
	t = t_submit1(e, &op);
	ASSERT_EQ(adma_wait(e, t, -1), 0);
	ASSERT(memcmp(dst, src, n) == 0);
	if (t_deferred(c)) {
		/* complete = result queued: nobody polled, so the callback has not run */
		ASSERT_EQ(atomic_load(&r.calls), 0);
		ASSERT_EQ(adma_poll(e, NULL, UINT32_MAX), 1);
	}
	ASSERT_EQ(atomic_load(&r.done), 1);
	ASSERT_EQ(atomic_load(&r.calls), 1);
	ASSERT_EQ(r.status, 0);
	ASSERT_UEQ(r.bytes, n);
	ASSERT_UEQ(r.ticket, t);
	/* waiting again, with every kind of timeout, gives the same answer */
	ASSERT_EQ(adma_wait(e, t, 0), 0);
	ASSERT_EQ(adma_wait(e, t, 1000), 0);
	ASSERT_EQ(adma_wait(e, t, -1), 0);

	/* a failing custom operator: its own status */
	struct rec rf = { .sleep_ms = 5 };

	t = t_submit_custom(e, t_op_eio, NULL, rec_cb, &rf);
	ASSERT_EQ(adma_wait(e, t, -1), -EIO);
	if (!t_deferred(c))
		ASSERT_EQ(atomic_load(&rf.done), 1);
	ASSERT_EQ(adma_wait(e, t, 0), -EIO);

	/* an operator's byte count is the result's bytes, status 0 */
	struct rec rb = { 0 };

	t = t_submit_custom(e, op_123, NULL, rec_cb, &rb);
	ASSERT_EQ(adma_wait(e, t, 10 * SEC), 0);

	/* an op without a callback */
	memset(dst, 0, n);
	adma_prep_copy(&op, dst, src, n / 2);
	t = t_submit1(e, &op);
	ASSERT_EQ(adma_wait(e, t, 10 * SEC), 0);
	ASSERT(memcmp(dst, src, n / 2) == 0);

	ASSERT_EQ(t_drain(e), -EIO);
	ASSERT_EQ(atomic_load(&rf.calls), 1);
	ASSERT_EQ(rf.status, -EIO);
	ASSERT_EQ(atomic_load(&rb.calls), 1);
	ASSERT_EQ(rb.status, 0);
	ASSERT_UEQ(rb.bytes, 123);
	ASSERT_OK(adma_engine_destroy(&e));
	free(src);
	free(dst);
}

/* Timeouts on a held op (threads backends only: a gate would block an inline submitter). */
static void test_timeouts(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	struct t_gate g = { 0 };
	uint8_t src[256], dst[256] = { 0 };
	struct rec r = { 0 };
	struct adma_op op;
	uint64_t tg, tx, t0, dt;

	t_fill_random(src, sizeof(src), 2);
	hold_workers(e, c, &g, &tg);
	adma_prep_copy(&op, dst, src, sizeof(src));
	adma_op_set_callback(&op, rec_cb, &r);
	adma_op_set_flags(&op, ADMA_OP_NO_INLINE); /* queued behind the gate, not run here */
	tx = t_submit1(e, &op);

	ASSERT_EQ(adma_wait(e, tg, 0), -ETIMEDOUT); /* running, held */
	ASSERT_EQ(adma_wait(e, tx, 0), -ETIMEDOUT); /* queued behind it */
	t0 = t_now_ns();
	ASSERT_EQ(adma_wait(e, tx, 20000000), -ETIMEDOUT);
	dt = t_now_ns() - t0;
	if (dt < 19000000)
		T_FAILED("a 20 ms wait returned -ETIMEDOUT after %" PRIu64 " ns", dt);
	t0 = t_now_ns();
	ASSERT_EQ(adma_wait(e, tg, 20000000), -ETIMEDOUT);
	dt = t_now_ns() - t0;
	if (dt < 19000000)
		T_FAILED("a 20 ms wait returned -ETIMEDOUT after %" PRIu64 " ns", dt);
	ASSERT_EQ(atomic_load(&r.calls), 0);

	atomic_store(&g.open, 1);
	ASSERT_EQ(adma_wait(e, tx, 10 * SEC), 0);
	ASSERT_EQ(adma_wait(e, tg, 10 * SEC), 0);
	ASSERT(memcmp(dst, src, sizeof(src)) == 0);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&r.calls), 1);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* Ops that completed long ago: their status comes back at once, failures included. A small
 * backlog makes the later ops reuse every slot many times over. */
static void test_long_ago(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 64);
	unsigned nlater = t_valgrind() ? 1500 : 10000;
	uint8_t src[64], *dst = calloc(nlater, 64), adst[64] = { 0 };
	uint64_t ta, tf, *later = calloc(nlater, sizeof(*later));
	struct adma_op op;

	ASSERT(dst && later);
	t_fill_random(src, sizeof(src), 3);
	adma_prep_copy(&op, adst, src, sizeof(src));
	ta = t_submit1(e, &op);
	tf = t_submit_custom(e, t_op_eio, NULL, NULL, NULL);
	ASSERT_EQ(adma_wait(e, ta, -1), 0);
	ASSERT_EQ(adma_wait(e, tf, -1), -EIO);
	ASSERT_EQ(t_drain(e), -EIO);

	/* later ops; every 100th fails with -ENOSPC */
	for (unsigned i = 0; i < nlater; i++) {
		if (i % 100 == 50)
			adma_prep_custom(&op, op_enospc, NULL, NULL, NULL);
		else
			adma_prep_copy(&op, dst + (size_t)i * 64, src, 64);
		later[i] = submit_retry(e, &op);
	}
	ASSERT_EQ(t_drain(e), -ENOSPC);
	ASSERT_EQ(t_drain(e), 0);

	ASSERT_EQ(adma_wait(e, ta, 0), 0);
	ASSERT_EQ(adma_wait(e, tf, 0), -EIO);
	ASSERT_EQ(adma_wait(e, ta, -1), 0);
	ASSERT_EQ(adma_wait(e, tf, -1), -EIO);
	ASSERT_EQ(adma_wait(e, tf, 5000000), -EIO);
	for (unsigned i = 0; i < nlater; i++) {
		int expect = i % 100 == 50 ? -ENOSPC : 0;
		int rc = adma_wait(e, later[i], 0);

		if (rc != expect)
			T_FAILED("later op %u (ticket %" PRIu64 "): wait returned %d, expected %d",
				 i, later[i], rc, expect);
		if (expect == 0 && memcmp(dst + (size_t)i * 64, src, 64) != 0)
			T_FAILED("later op %u: destination differs", i);
	}
	ASSERT_OK(adma_engine_destroy(&e));
	free(dst);
	free(later);
}

/* Tickets never issued, bad arguments. */
static void test_invalid(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	uint8_t src[16] = { 1 }, dst[16];
	struct adma_op op;
	uint64_t t;

	ASSERT_ERR(adma_wait(e, 0, 0), -EINVAL);
	ASSERT_ERR(adma_wait(e, 1, 0), -EINVAL);  /* fresh engine: nothing issued yet */
	ASSERT_ERR(adma_wait(e, 1, -1), -EINVAL); /* must not wait forever */
	adma_prep_copy(&op, dst, src, sizeof(src));
	t = t_submit1(e, &op);
	ASSERT_EQ(adma_wait(e, t, -1), 0);
	ASSERT_ERR(adma_wait(e, 0, -1), -EINVAL);
	ASSERT_ERR(adma_wait(e, t + 1, 0), -EINVAL);
	ASSERT_ERR(adma_wait(e, t + 1, -1), -EINVAL);
	ASSERT_ERR(adma_wait(e, t + 1000, 1000000), -EINVAL);
	ASSERT_ERR(adma_wait(e, UINT64_MAX, 0), -EINVAL);
	ASSERT_ERR(adma_wait(e, t, -2), -EINVAL);
	ASSERT_ERR(adma_wait(e, t, INT64_MIN), -EINVAL);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* Several threads waiting on the same ticket all get its status. */
struct waiter {
	pthread_t tid;
	struct adma_engine *e;
	uint64_t ticket;
	int64_t timeout;
	int rc;
	atomic_int *returned;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	w->rc = adma_wait(w->e, w->ticket, w->timeout);
	atomic_fetch_add(w->returned, 1);
	return NULL;
}

static void test_many_waiters(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	struct t_gate g = { 0 };
	struct waiter w[NWAITERS];
	atomic_int returned = 0;
	struct rec r = { 0 };
	uint64_t tx;
	bool held = c->backend != ADMA_BACKEND_INLINE;

	if (held)
		hold_workers(e, c, &g, NULL);
	tx = t_submit_custom(e, t_op_eio, NULL, rec_cb, &r);
	for (unsigned i = 0; i < NWAITERS; i++) {
		w[i] = (struct waiter){ .e = e, .ticket = tx, .returned = &returned };
		/* half wait forever, half with a (long) timeout */
		w[i].timeout = (i & 1) ? -1 : 30 * SEC;
		ASSERT_EQ(pthread_create(&w[i].tid, NULL, waiter_main, &w[i]), 0);
	}
	if (held) {
		t_sleep_ms(20);
		ASSERT_EQ(atomic_load(&returned), 0); /* the op is still held */
		atomic_store(&g.open, 1);
	}
	for (unsigned i = 0; i < NWAITERS; i++) {
		ASSERT_EQ(pthread_join(w[i].tid, NULL), 0);
		ASSERT_EQ(w[i].rc, -EIO);
	}
	ASSERT_EQ(atomic_load(&returned), NWAITERS);
	ASSERT_EQ(t_drain(e), -EIO);
	ASSERT_EQ(atomic_load(&r.calls), 1);
	ASSERT_EQ(r.status, -EIO);
	ASSERT_OK(adma_engine_destroy(&e));
}

int main(void)
{
	FOR_EACH_CONFIG (c) {
		test_status_and_callback(c);
		if (c->backend != ADMA_BACKEND_INLINE)
			test_timeouts(c);
		test_long_ago(c);
		test_invalid(c);
		test_many_waiters(c);
	}
	return T_PASS;
}
