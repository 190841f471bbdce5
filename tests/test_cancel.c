/* SPDX-License-Identifier: MIT */
/*
 * adma_cancel(): with every worker held by gate ops, queued ops (ADMA_OP_NO_INLINE, so that
 * they wait in the queue rather than run inside adma_submit()) that are cancelled return 0,
 * then complete exactly once with -ECANCELED (callback, adma_wait, adma_barrier) and leave their
 * destination untouched, while the others copy; a running op, a completed op and a second
 * cancel are -EBUSY; tickets never issued are -EINVAL; under ORDERED callbacks (cancelled ones
 * included) run in ticket order; stats.cancelled and stats.failed count them. A race of
 * cancels against running workers keeps the invariant: cancel returned 0 <=> the op completed
 * with -ECANCELED and wrote nothing. On the inline backend every op is done when submit
 * returns, so cancel is always -EBUSY (gate scenarios skip it: the gate would never return).
 */
#include "helpers.h"

#include <sched.h>

#define NQ 16
#define QSZ 4096
#define UNTOUCHED 0xAA

struct rec {
	atomic_int calls;
	int status;
	size_t bytes;
	uint64_t ticket;
};

/* Tickets in the order their callbacks ran (ORDERED: must be increasing). */
static uint64_t *order;
static atomic_uint norder;
static unsigned order_cap;
static atomic_int in_cb; /* ORDERED: callbacks one at a time */

static void record(void *arg, const struct adma_result *res, bool ordered)
{
	struct rec *r = arg;
	unsigned k = atomic_fetch_add(&norder, 1);
	int prev = atomic_fetch_add(&in_cb, 1);

	if (ordered)
		CHECK(prev == 0); /* never two callbacks of an ORDERED engine at once */
	if (k < order_cap)
		order[k] = res->ticket;
	r->status = res->status;
	r->bytes = res->bytes;
	r->ticket = res->ticket;
	atomic_fetch_add(&r->calls, 1);
	atomic_fetch_sub(&in_cb, 1);
}

static void rec_cb(void *arg, const struct adma_result *res)
{
	record(arg, res, false);
}

static void ordered_cb(void *arg, const struct adma_result *res)
{
	record(arg, res, true);
}

static bool cancelled_index(unsigned i)
{
	return i == 0 || i % 2 == 1 || i == NQ - 1;
}

static void test_held(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	bool ord = c->flags & ADMA_CFG_ORDERED;
	uint8_t *src = malloc(NQ * QSZ), *dst = malloc(NQ * QSZ);
	struct rec r[NQ];
	uint64_t gt[8], t[NQ];
	struct t_gate g = { 0 };
	struct adma_stats st;
	struct adma_op op;
	unsigned ng, ncancel = 0;

	ASSERT(src && dst);
	ASSERT_LE(c->workers, 8);
	t_fill_random(src, NQ * QSZ, 99);
	memset(dst, UNTOUCHED, NQ * QSZ);
	memset(r, 0, sizeof(r));
	order_cap = 64;
	order = calloc(order_cap, sizeof(*order));
	atomic_store(&norder, 0);

	ng = t_hold_workers(e, c, &g, gt);
	for (unsigned i = 0; i < NQ; i++) {
		adma_prep_copy(&op, dst + i * QSZ, src + i * QSZ, QSZ);
		adma_op_set_callback(&op, ord ? ordered_cb : rec_cb, &r[i]);
		adma_op_set_flags(&op, ADMA_OP_NO_INLINE); /* queued: cancellable */
		t[i] = t_submit1(e, &op);
	}
	for (unsigned i = 0; i < NQ; i++) {
		if (!cancelled_index(i))
			continue;
		ASSERT_EQ(adma_cancel(e, t[i]), 0);
		ncancel++;
	}
	for (unsigned i = 0; i < NQ; i++)
		if (cancelled_index(i))
			ASSERT_ERR(adma_cancel(e, t[i]), -EBUSY); /* second cancel */
	for (unsigned i = 0; i < ng; i++)
		ASSERT_ERR(adma_cancel(e, gt[i]), -EBUSY); /* running */
	ASSERT_ERR(adma_cancel(e, 0), -EINVAL);
	ASSERT_ERR(adma_cancel(e, t[NQ - 1] + 1), -EINVAL);
	ASSERT_ERR(adma_cancel(e, t[NQ - 1] + 1000), -EINVAL);
	ASSERT_ERR(adma_cancel(e, UINT64_MAX), -EINVAL);
	ASSERT_OK(adma_stats(e, &st));
	ASSERT_UEQ(st.cancelled, ncancel);

	atomic_store(&g.open, 1);
	for (unsigned i = 0; i < NQ; i++) {
		int rc = adma_wait(e, t[i], 10 * SEC);

		if (rc != (cancelled_index(i) ? -ECANCELED : 0))
			T_FAILED("op %u (ticket %" PRIu64 "): wait returned %d", i, t[i], rc);
	}
	for (unsigned i = 0; i < ng; i++)
		ASSERT_EQ(adma_wait(e, gt[i], 10 * SEC), 0);
	ASSERT_EQ(adma_barrier(e, 10 * SEC), -ECANCELED);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);

	for (unsigned i = 0; i < NQ; i++) {
		ASSERT_EQ(atomic_load(&r[i].calls), 1);
		ASSERT_UEQ(r[i].ticket, t[i]);
		if (cancelled_index(i)) {
			ASSERT_EQ(r[i].status, -ECANCELED);
			ASSERT_UEQ(r[i].bytes, 0);
			for (unsigned k = 0; k < QSZ; k++)
				if (dst[i * QSZ + k] != UNTOUCHED)
					T_FAILED("cancelled op %u wrote byte %u", i, k);
		} else {
			ASSERT_EQ(r[i].status, 0);
			ASSERT_UEQ(r[i].bytes, QSZ);
			ASSERT(memcmp(dst + i * QSZ, src + i * QSZ, QSZ) == 0);
		}
		/* completed (or completed cancelled): -EBUSY */
		ASSERT_ERR(adma_cancel(e, t[i]), -EBUSY);
	}
	ASSERT_EQ(atomic_load(&norder), NQ);
	if (ord)
		t_check_ticket_order(order, NQ);

	ASSERT_OK(adma_stats(e, &st));
	ASSERT_UEQ(st.cancelled, ncancel);
	ASSERT_UEQ(st.failed, ncancel);
	ASSERT_UEQ(st.submitted, NQ + ng);
	ASSERT_UEQ(st.completed, NQ + ng);
	ASSERT_OK(adma_engine_destroy(&e));
	for (unsigned i = 0; i < NQ; i++)
		ASSERT_EQ(atomic_load(&r[i].calls), 1);
	free(order);
	order = NULL;
	free(src);
	free(dst);
}

/* A completed op (before its deferred callback ran, too) cannot be cancelled. */
static void test_completed(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	uint8_t src[64], dst[64];
	struct rec r = { 0 };
	struct adma_op op;
	uint64_t t;

	t_fill_random(src, sizeof(src), 4);
	adma_prep_copy(&op, dst, src, sizeof(src));
	adma_op_set_callback(&op, rec_cb, &r);
	t = t_submit1(e, &op);
	ASSERT_EQ(adma_wait(e, t, 10 * SEC), 0);
	ASSERT_ERR(adma_cancel(e, t), -EBUSY); /* deferred: result still pending */
	ASSERT_ERR(adma_cancel(e, t), -EBUSY);
	ASSERT_ERR(adma_cancel(e, t + 1), -EINVAL);
	ASSERT_ERR(adma_cancel(e, 0), -EINVAL);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&r.calls), 1);
	ASSERT_EQ(r.status, 0);
	ASSERT_ERR(adma_cancel(e, t), -EBUSY);

	if (c->backend == ADMA_BACKEND_INLINE) {
		/* every op is done when submit returns */
		struct adma_stats st;

		for (unsigned i = 0; i < 10; i++) {
			t = t_submit1(e, &op);
			ASSERT_ERR(adma_cancel(e, t), -EBUSY);
		}
		ASSERT_EQ(t_drain(e), 0);
		ASSERT_OK(adma_stats(e, &st));
		ASSERT_UEQ(st.cancelled, 0);
		ASSERT_UEQ(st.failed, 0);
		ASSERT_EQ(atomic_load(&r.calls), 11);
	}
	ASSERT_OK(adma_engine_destroy(&e));
}

/* Cancels racing with workers: a thread cancels two ops in three as soon as their tickets are
 * published, while the main thread keeps submitting and the workers drain the queue. Half the
 * batches are ADMA_OP_NO_INLINE so that they are queued; the others may run inline. */
struct race {
	struct adma_engine *e;
	unsigned n;
	uint64_t *t;
	int *rc;
	atomic_int published;
	atomic_uint ncancel;
};

static void *canceller(void *arg)
{
	struct race *rc = arg;
	uint64_t deadline = t_deadline_s(30);

	for (unsigned i = 0; i < rc->n; i++) {
		while (t_observe(&rc->published) <= (int)i) {
			if (t_now_ns() > deadline)
				return NULL;
			sched_yield(); /* valgrind runs one thread at a time */
		}
		if (i % 3 == 0)
			continue;
		rc->rc[i] = adma_cancel(rc->e, rc->t[i]);
		CHECK(rc->rc[i] == 0 || rc->rc[i] == -EBUSY);
		if (rc->rc[i] == 0)
			atomic_fetch_add(&rc->ncancel, 1);
	}
	return NULL;
}

static void test_race(const struct t_config *c)
{
	unsigned n = t_valgrind() ? 200 : 6000, batch = 20;
	struct adma_engine *e = t_engine(c, 0, 8192);
	bool ord = c->flags & ADMA_CFG_ORDERED;
	uint8_t src[256], *dst = malloc((size_t)n * 256);
	struct rec *r = calloc(n, sizeof(*r));
	struct race rc = { .e = e, .n = n };
	struct adma_op op[20];
	struct adma_stats st;
	unsigned ncancel;
	pthread_t tid;

	rc.t = calloc(n, sizeof(*rc.t));
	rc.rc = calloc(n, sizeof(*rc.rc));
	ASSERT(dst && r && rc.t && rc.rc);
	t_fill_random(src, sizeof(src), 5);
	memset(dst, UNTOUCHED, (size_t)n * 256);
	for (unsigned i = 0; i < n; i++)
		rc.rc[i] = 1; /* not cancelled */
	order_cap = n;
	order = calloc(order_cap, sizeof(*order));
	atomic_store(&norder, 0);
	ASSERT_EQ(pthread_create(&tid, NULL, canceller, &rc), 0);
	for (unsigned i = 0; i < n; i += batch) {
		for (unsigned k = 0; k < batch; k++) {
			adma_prep_copy(&op[k], dst + (size_t)(i + k) * 256, src, 256);
			adma_op_set_callback(&op[k], ord ? ordered_cb : rec_cb, &r[i + k]);
			/* Every other batch goes through the queue for the workers to race on;
			 * the rest may run inside adma_submit() (then cancel is -EBUSY). */
			if ((i / batch) % 2 == 0)
				adma_op_set_flags(&op[k], ADMA_OP_NO_INLINE);
		}
		ASSERT_EQ(adma_submit(e, op, batch, &rc.t[i]), (int)batch);
		t_publish(&rc.published, (int)(i + batch));
		if (t_deferred(c))
			adma_poll(e, NULL, UINT32_MAX);
	}
	ASSERT_EQ(pthread_join(tid, NULL), 0);
	ncancel = atomic_load(&rc.ncancel);
	ASSERT_EQ(t_drain(e), ncancel ? -ECANCELED : 0);
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *d = dst + (size_t)i * 256;

		ASSERT_EQ(atomic_load(&r[i].calls), 1);
		ASSERT_UEQ(r[i].ticket, rc.t[i]);
		if (rc.rc[i] == 0) {
			ASSERT_EQ(r[i].status, -ECANCELED);
			ASSERT_EQ(adma_wait(e, rc.t[i], 0), -ECANCELED);
			for (unsigned k = 0; k < 256; k++)
				if (d[k] != UNTOUCHED)
					T_FAILED("cancelled op %u wrote byte %u", i, k);
		} else {
			ASSERT_EQ(r[i].status, 0);
			ASSERT_EQ(adma_wait(e, rc.t[i], 0), 0);
			ASSERT(memcmp(d, src, 256) == 0);
		}
	}
	if (ord)
		t_check_ticket_order(order, n);
	ASSERT_OK(adma_stats(e, &st));
	ASSERT_UEQ(st.cancelled, ncancel);
	ASSERT_UEQ(st.failed, ncancel);
	ASSERT_UEQ(st.completed, n);
	ASSERT_OK(adma_engine_destroy(&e));
	free(order);
	order = NULL;
	free(dst);
	free(r);
	free(rc.t);
	free(rc.rc);
}

int main(void)
{
	FOR_EACH_CONFIG (c) {
		test_completed(c);
		if (c->backend == ADMA_BACKEND_INLINE)
			continue; /* gates would block the submitter; cancel is always -EBUSY there */
		test_held(c);
		test_race(c);
	}
	return T_PASS;
}
