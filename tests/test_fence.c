/* SPDX-License-Identifier: MIT */
/*
 * ADMA_OP_FENCE: the op starts only after every op submitted before it has completed.
 * Slow custom ops (20 ms) and copies of mixed sizes, then a fence custom op that records a
 * sequence number: every earlier op ended before it started, every earlier copy's data is
 * complete, and without deferred callbacks every earlier callback has returned (complete =
 * callback returned; with deferred callbacks complete = result queued, and the fence holds
 * there too). A fence copy reads a buffer an earlier slow op writes last; a fence fill writes
 * over what an earlier slow op writes: both see the earlier op's effect complete. Ops after a
 * fence may still run concurrently with each other (two ops meet at a rendezvous). Then rounds
 * of random ops, each closed by a fence that checks everything before it.
 * The point is non-ordered engines with several workers (threads-2, threads-4, deferred or
 * not, plus threads-4-deferred); the contract holds everywhere, so every configuration runs
 * (ORDERED and inline ones trivially; the concurrency check is skipped there and on 1 worker).
 */
#include "helpers.h"

#include <sched.h>

#define MAXOPS 64

static const struct t_config extra_configs[] = {
	{ "threads-4-deferred", ADMA_BACKEND_THREADS, 4, ADMA_CFG_DEFER_CALLBACKS },
};

static atomic_uint_fast64_t seq; /* starts at 1: 0 means "not yet" */

/* One planned op. */
struct rec {
	bool custom;
	unsigned sleep_ms;		 /* custom */
	uint8_t *dst;			 /* copy */
	const uint8_t *src;		 /* copy */
	size_t n;			 /* copy */
	atomic_uint_fast64_t start, end; /* custom */
	atomic_int cb_done;		 /* set as the callback's last action */
};

/* A fence op's view: the ops before it. */
struct fence {
	struct rec *before;
	unsigned nbefore;
	bool deferred;
	uint64_t start;
};

static long op_slow(void *dst, const void *src, void *arg)
{
	struct rec *r = arg;

	(void)dst, (void)src;
	atomic_store(&r->start, atomic_fetch_add(&seq, 1));
	if (r->sleep_ms)
		t_sleep_ms(r->sleep_ms);
	atomic_store(&r->end, atomic_fetch_add(&seq, 1));
	return 0;
}

static long op_fence(void *dst, const void *src, void *arg)
{
	struct fence *f = arg;

	(void)dst, (void)src;
	f->start = atomic_fetch_add(&seq, 1);
	for (unsigned i = 0; i < f->nbefore; i++) {
		struct rec *r = &f->before[i];

		if (r->custom) {
			uint64_t end = atomic_load(&r->end);

			CHECK(end != 0 && end < f->start);
		} else {
			CHECK(memcmp(r->dst, r->src, r->n) == 0);
		}
		if (!f->deferred)
			CHECK(atomic_load(&r->cb_done) == 1);
	}
	return 0;
}

static void rec_cb(void *arg, const struct adma_result *res)
{
	struct rec *r = arg;

	CHECK(res->status == 0);
	sched_yield(); /* widen the window between "op done" and "callback returned" */
	atomic_store(&r->cb_done, 1);
}

/* Two ops that must be running at the same time to both succeed. */
struct rendezvous {
	atomic_int arrived;
};

static long op_rendezvous(void *dst, const void *src, void *arg)
{
	struct rendezvous *rv = arg;
	uint64_t deadline = t_now_ns() + (t_valgrind() ? 60 : 10) * (uint64_t)SEC;

	(void)dst, (void)src;
	atomic_fetch_add(&rv->arrived, 1);
	while (atomic_load(&rv->arrived) < 2 && t_now_ns() < deadline)
		t_sleep_ms(1);
	return atomic_load(&rv->arrived) >= 2 ? 0 : -ETIMEDOUT;
}

/* Writes its buffer only after sleeping: a later fence op must see the write. */
struct late_write {
	uint8_t *buf;
	size_t n;
	int byte;
};

static long op_late_write(void *dst, const void *src, void *arg)
{
	struct late_write *w = arg;

	(void)dst, (void)src;
	t_sleep_ms(20);
	memset(w->buf, w->byte, w->n);
	return (long)w->n;
}

static void prep_rec(struct adma_op *op, struct rec *r)
{
	if (r->custom)
		adma_prep_custom(op, op_slow, NULL, NULL, r);
	else
		adma_prep_copy(op, r->dst, r->src, r->n);
	adma_op_set_callback(op, rec_cb, r);
}

static void test_slow_then_fence(const struct t_config *c)
{
	bool threads = c->backend != ADMA_BACKEND_INLINE;
	unsigned nslow = threads ? 2 * c->workers : 2, ncopy = 6, nb = 0;
	size_t maxsz = t_valgrind() ? 256 << 10 : 4 << 20;
	const size_t sizes[6] = { 1, 100, 4096 + 3, 65536, maxsz / 3, maxsz };
	uint8_t *src = malloc(maxsz);
	struct rec *before = calloc(nslow + ncopy, sizeof(*before));
	struct fence f = { .before = before, .deferred = t_deferred(c) };
	struct rendezvous rv = { 0 };
	bool concurrent = threads && c->workers >= 2 && !(c->flags & ADMA_CFG_ORDERED);
	uint8_t wbuf[4096] = { 0 }, wout[4096] = { 0 }, vbuf[4096] = { 0 };
	struct late_write w = { wbuf, sizeof(wbuf), 0x5A }, v = { vbuf, sizeof(vbuf), 0x11 };
	uint8_t pat = 0x22;
	struct adma_engine *e = t_engine(c, 0, 0);
	struct adma_op op;
	uint64_t tf, tr[2] = { 0, 0 };

	ASSERT(src && before);
	t_fill_random(src, maxsz, 21);
	atomic_store(&seq, 1);
	/* slow ops and copies, interleaved */
	for (unsigned ns = 0, nc = 0; ns < nslow || nc < ncopy;) {
		struct rec *r = &before[nb++];

		if (nc >= ncopy || (ns < nslow && ns <= nc)) {
			r->custom = true;
			r->sleep_ms = 20;
			ns++;
		} else {
			r->n = sizes[nc++];
			r->src = src;
			r->dst = calloc(1, r->n);
			ASSERT(r->dst);
		}
		prep_rec(&op, r);
		t_submit1(e, &op);
	}
	f.nbefore = nb;
	adma_prep_custom(&op, op_fence, NULL, NULL, &f);
	adma_op_set_flags(&op, ADMA_OP_FENCE);
	tf = t_submit1(e, &op);

	/* after the fence: two ops free to run at once */
	if (concurrent) {
		for (unsigned k = 0; k < 2; k++) {
			adma_prep_custom(&op, op_rendezvous, NULL, NULL, &rv);
			tr[k] = t_submit1(e, &op);
		}
	}
	/* a fence copy of a buffer the op before it writes last */
	adma_prep_custom(&op, op_late_write, NULL, NULL, &w);
	t_submit1(e, &op);
	adma_prep_copy(&op, wout, wbuf, sizeof(wbuf));
	adma_op_set_flags(&op, ADMA_OP_FENCE);
	t_submit1(e, &op);
	/* a fence fill over a buffer the op before it writes last */
	adma_prep_custom(&op, op_late_write, NULL, NULL, &v);
	t_submit1(e, &op);
	adma_prep_fill(&op, vbuf, sizeof(vbuf), &pat, 1);
	adma_op_set_flags(&op, ADMA_OP_FENCE);
	t_submit1(e, &op);

	ASSERT_EQ(adma_wait(e, tf, (t_valgrind() ? 300 : 30) * SEC), 0);
	for (unsigned k = 0; concurrent && k < 2; k++) {
		int rc = adma_wait(e, tr[k], (t_valgrind() ? 300 : 30) * SEC);

		if (rc != 0)
			T_FAILED("rendezvous op %u after the fence returned %d: ops after a fence "
				 "did not run concurrently",
				 k, rc);
	}
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_OK(adma_engine_destroy(&e));
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);

	for (unsigned i = 0; i < nb; i++) {
		struct rec *r = &before[i];

		ASSERT_EQ(atomic_load(&r->cb_done), 1);
		if (r->custom) {
			if (!(atomic_load(&r->end) < f.start))
				T_FAILED("op %u ended at seq %" PRIu64
					 ", the fence started at %" PRIu64,
					 i, (uint64_t)atomic_load(&r->end), f.start);
		} else {
			ASSERT(memcmp(r->dst, src, r->n) == 0);
		}
		free(r->dst);
	}
	for (size_t i = 0; i < sizeof(wout); i++) {
		if (wout[i] != 0x5A)
			T_FAILED("fence copy byte %zu = 0x%02x: it started before the write", i,
				 wout[i]);
		if (vbuf[i] != 0x22)
			T_FAILED("fence fill byte %zu = 0x%02x: it started before the write", i,
				 vbuf[i]);
	}
	free(before);
	free(src);
}

/* Rounds of random ops, each closed by a fence that checks everything since the start. */
static void test_rounds(const struct t_config *c)
{
	unsigned rounds = t_valgrind() ? 4 : 20;
	size_t maxsz = t_valgrind() ? 16 << 10 : 256 << 10;
	uint64_t rs = 99;
	uint8_t *src = malloc(maxsz);
	struct rec *recs = calloc(rounds * 16, sizeof(*recs));
	struct fence *fences = calloc(rounds, sizeof(*fences));
	struct adma_engine *e = t_engine(c, 0, 0);
	unsigned n = 0;

	ASSERT(src && recs && fences);
	t_fill_random(src, maxsz, 31);
	atomic_store(&seq, 1);
	for (unsigned round = 0; round < rounds; round++) {
		unsigned k = 4 + (unsigned)(t_rand(&rs) % 12);
		struct adma_op ops[17];

		for (unsigned i = 0; i < k; i++) {
			struct rec *r = &recs[n + i];

			if (t_rand(&rs) % 3 == 0) {
				r->custom = true;
				r->sleep_ms = (unsigned)(t_rand(&rs) % 4);
			} else {
				r->n = 1 + (size_t)(t_rand(&rs) % maxsz);
				r->src = src;
				r->dst = calloc(1, r->n);
				ASSERT(r->dst);
			}
			prep_rec(&ops[i], r);
		}
		n += k;
		fences[round] =
			(struct fence){ .before = recs, .nbefore = n, .deferred = t_deferred(c) };
		adma_prep_custom(&ops[k], op_fence, NULL, NULL, &fences[round]);
		adma_op_set_flags(&ops[k], ADMA_OP_FENCE);
		/* one batch: the fence is accepted together with the ops it waits for */
		ASSERT_EQ(adma_submit(e, ops, k + 1, NULL), (int)k + 1);
		if (t_deferred(c) && round % 3 == 0)
			adma_poll(e, NULL, UINT32_MAX);
	}
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_OK(adma_engine_destroy(&e));
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);
	for (unsigned round = 1; round < rounds; round++)
		ASSERT_LT(fences[round - 1].start, fences[round].start);
	for (unsigned i = 0; i < n; i++)
		free(recs[i].dst);
	free(recs);
	free(fences);
	free(src);
}

static void run(const struct t_config *c)
{
	test_slow_then_fence(c);
	test_rounds(c);
}

int main(void)
{
	FOR_EACH_CONFIG (c) {
		run(c);
	}
	t_run_configs(extra_configs, sizeof(extra_configs) / sizeof(extra_configs[0]), run);
	return T_PASS;
}
