/* SPDX-License-Identifier: MIT */
/*
 * Small ops in the submitting thread (struct adma_config.inline_max). On threads engines that
 * are not ORDERED, copies and fills of 0 B .. inline_max (auto: 16 KiB; also 100 and 1) are
 * counted by stats.inlined and complete inside adma_submit(): adma_wait(t, 0) == 0 right after
 * it (deferred engines too), stats.bytes counts them and adma_fd() turns readable. An op of
 * inline_max + 1 bytes is not inlined; nothing is with inline_max = ADMA_OFF, on ORDERED
 * engines, for FENCE and ADMA_OP_NO_INLINE ops; a custom op always runs on a worker. On the
 * inline backend every op counts. Callbacks of small ops run exactly once, never inside the
 * submitting call, on a worker (not deferred) or inside adma_poll() (deferred), and adma_wait()
 * returns only after them; such a callback may submit. The backlog is checked first: with every
 * slot taken by gate ops, a small copy is -EAGAIN and not run. FIFO start order: while an op
 * waits in the queue (submitted before, or earlier in the same batch), a new small op is not
 * inlined and completes only after the gate opens. A fence behind small ops with slow
 * callbacks starts only after every one of them returned; a fence submitted in one batch behind
 * inlined ops starts once they are done, with no polling worker to notice. Four threads mixing
 * inlined and queued ops lose nothing. Gate scenarios run on threads engines only (a gate would
 * never return on the inline backend).
 */
#include "helpers.h"

#include <poll.h>

#define GUARD 32
#define AUTO_INLINE_MAX (16u << 10) /* the documented automatic inline_max */

/* Whether this thread is inside adma_submit() / adma_poll() called by this test. */
static _Thread_local bool tl_in_submit;
static _Thread_local bool tl_in_poll;

static int flagged_submit(struct adma_engine *e, const struct adma_op *ops, unsigned n,
			  uint64_t *tickets)
{
	int rc;

	tl_in_submit = true;
	rc = adma_submit(e, ops, n, tickets);
	tl_in_submit = false;
	return rc;
}

static int flagged_poll(struct adma_engine *e)
{
	int rc;

	tl_in_poll = true;
	rc = adma_poll(e, NULL, UINT32_MAX);
	tl_in_poll = false;
	return rc;
}

/* t_drain() with the polls flagged: every op submitted so far complete, every result handled.
 * @return the barrier's status. */
static int drain_flagged(struct adma_engine *e)
{
	int rc;

	for (;;) {
		flagged_poll(e);
		rc = adma_barrier(e, 1000000);
		if (rc != -ETIMEDOUT)
			break;
	}
	while (flagged_poll(e) > 0)
		;
	return rc;
}

/* Engines that may run small ops in the submitting thread: threads backend, not ORDERED. */
static bool may_inline(const struct t_config *c)
{
	return c->backend == ADMA_BACKEND_THREADS && !(c->flags & ADMA_CFG_ORDERED);
}

static struct adma_engine *engine_inline_max(const struct t_config *c, size_t inline_max,
					     unsigned backlog)
{
	struct adma_config tune = { .inline_max = inline_max };

	return t_engine_tuned(c, 0, backlog, &tune);
}

static uint64_t inlined(struct adma_engine *e)
{
	return t_stats(e).inlined;
}

/* ---- sizes: what is inlined and what is not ------------------------------------------------ */

/* One copy (plen 0) or fill of @n bytes without callback, checked at once when inlined. */
static void one_small(struct adma_engine *e, bool expect_inline, size_t n, size_t plen,
		      uint8_t *dbuf, const uint8_t *src)
{
	static const uint8_t pat[16] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
					 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xf1, 0xf2 };
	uint8_t *dst = dbuf + GUARD;
	struct pollfd pfd = { .fd = adma_fd(e), .events = POLLIN };
	struct adma_stats before, after;
	struct adma_op op;
	uint64_t t = 0;
	size_t bad;

	memset(dbuf, 0, n + 2 * GUARD);
	if (plen)
		adma_prep_fill(&op, dst, n, pat, plen);
	else
		adma_prep_copy(&op, dst, src, n);
	while (adma_poll(e, NULL, UINT32_MAX) > 0) /* the descriptor is clear now */
		;
	ASSERT_EQ(poll(&pfd, 1, 0), 0);
	before = t_stats(e);
	ASSERT_EQ(flagged_submit(e, &op, 1, &t), 1);
	if (expect_inline) {
		/* complete when adma_submit() returns: data there, counted, wait says done */
		ASSERT_UEQ(t_stats(e).inlined, before.inlined + 1);
		ASSERT_EQ(adma_wait(e, t, 0), 0);
	} else {
		ASSERT_EQ(adma_wait(e, t, 10 * SEC), 0);
		ASSERT_UEQ(t_stats(e).inlined, before.inlined);
	}
	/* like any completion: counted, and the descriptor turns readable */
	after = t_stats(e);
	ASSERT_UEQ(after.completed, before.completed + 1);
	ASSERT_UEQ(after.bytes, before.bytes + n);
	ASSERT_EQ(poll(&pfd, 1, 0), 1);
	bad = plen ? t_first_bad_fill(dst, n, pat, plen) : t_first_diff(dst, src, n);
	if (bad < n)
		T_FAILED("%s of %zu bytes (pattern %zu): byte %zu wrong", plen ? "fill" : "copy", n,
			 plen, bad);
	ASSERT_EQ(t_first_not(dbuf, GUARD, 0), GUARD);
	ASSERT_EQ(t_first_not(dst + n, GUARD, 0), GUARD);
}

/* Copies and fills of many sizes on an engine whose inline_max is @cfg_max (what the engine
 * makes of it: @max; 0 = nothing inlined). */
static void test_sizes(const struct t_config *c, size_t cfg_max, size_t max)
{
	const size_t sizes[] = { 0,    1,    2,	    3,	   15,	  16,	 17,   63,
				 64,   100,  101,   255,   256,	  4095,	 4096, 4097,
				 8191, 8192, 16383, 16384, 16385, 20000, max,  max + 1 };
	const size_t plens[] = { 0, 1, 2, 4, 8, 16 };
	const size_t big = 20000 + 2 * GUARD;
	struct adma_engine *e = engine_inline_max(c, cfg_max, 0);
	uint8_t *src = malloc(big), *dbuf = malloc(big);
	uint64_t before;
	char name[128];
	const char *cfg_name = t_config_name;

	ASSERT(src && dbuf);
	t_fill_random(src, big, 7);
	before = inlined(e);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = sizes[s];
		bool expect;

		if (n > 20000)
			continue;
		/* the inline backend runs everything in the submitting thread */
		expect = c->backend == ADMA_BACKEND_INLINE || (may_inline(c) && max && n <= max);
		for (size_t p = 0; p < sizeof(plens) / sizeof(plens[0]); p++) {
			snprintf(name, sizeof(name), "%s, inline_max %zu, %s of %zu", cfg_name,
				 cfg_max, plens[p] ? "fill" : "copy", n);
			t_config_name = name;
			one_small(e, expect, n, plens[p], dbuf, src);
		}
	}
	t_config_name = cfg_name;
	ASSERT_EQ(t_drain(e), 0);
	if (!may_inline(c) && c->backend != ADMA_BACKEND_INLINE)
		ASSERT_UEQ(inlined(e), before); /* ORDERED: never */
	if (c->backend == ADMA_BACKEND_INLINE)
		ASSERT_UEQ(t_stats(e).inlined, t_stats(e).submitted);
	ASSERT_OK(adma_engine_destroy(&e));
	free(src);
	free(dbuf);
}

/* ---- ops that are never inlined ------------------------------------------------------------ */

struct where {
	pthread_t thread;
	atomic_int ran;
};

static long op_where(void *dst, const void *src, void *arg)
{
	struct where *w = arg;

	(void)dst, (void)src;
	w->thread = pthread_self();
	atomic_store(&w->ran, 1);
	return 0;
}

/* FENCE and NO_INLINE copies and fills, and custom ops, run on a worker on threads engines. */
static void test_never_inlined(const struct t_config *c)
{
	struct adma_engine *e = engine_inline_max(c, 0, 0);
	uint8_t src[256], dst[4][256];
	const uint8_t pat[4] = { 1, 2, 3, 4 };
	const unsigned flags[] = { ADMA_OP_FENCE, ADMA_OP_NO_INLINE,
				   ADMA_OP_FENCE | ADMA_OP_NO_INLINE | ADMA_OP_CACHED,
				   ADMA_OP_NO_INLINE | ADMA_OP_NONTEMPORAL };
	struct where w = { 0 };
	struct adma_op op;
	uint64_t before = inlined(e), t;

	t_fill_random(src, sizeof(src), 3);
	for (unsigned i = 0; i < 4; i++) {
		memset(dst, 0, sizeof(dst));
		adma_prep_copy(&op, dst[0], src, 1 + 60 * i);
		adma_op_set_flags(&op, flags[i]);
		t = t_submit1(e, &op);
		adma_prep_fill(&op, dst[1], 100, pat, 4);
		adma_op_set_flags(&op, flags[i]);
		ASSERT_EQ(adma_wait(e, t_submit1(e, &op), 10 * SEC), 0);
		ASSERT_EQ(adma_wait(e, t, 10 * SEC), 0);
		ASSERT(memcmp(dst[0], src, 1 + 60 * i) == 0);
		ASSERT_EQ(t_first_bad_fill(dst[1], 100, pat, 4), 100);
		if (c->backend == ADMA_BACKEND_THREADS)
			ASSERT_UEQ(inlined(e), before);
	}
	/* a custom op: on a worker, never in this thread */
	t = t_submit_custom(e, op_where, &w, NULL, NULL);
	ASSERT_EQ(adma_wait(e, t, 10 * SEC), 0);
	ASSERT_EQ(atomic_load(&w.ran), 1);
	if (c->backend == ADMA_BACKEND_THREADS) {
		ASSERT(!pthread_equal(w.thread, pthread_self()));
		ASSERT_UEQ(inlined(e), before);
	}
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* ---- callbacks of small ops ---------------------------------------------------------------- */

struct cbrec {
	atomic_int calls;
	atomic_int done; /* the callback's last store */
	int status;
	size_t bytes;
	uint64_t ticket;
	pthread_t thread;
	bool in_submit, in_poll;
	unsigned sleep_ms;
	atomic_int *returned; /* bumped last, if set */
};

static void cbrec_cb(void *arg, const struct adma_result *res)
{
	struct cbrec *r = arg;

	r->in_submit = tl_in_submit;
	r->in_poll = tl_in_poll;
	r->thread = pthread_self();
	r->status = res->status;
	r->bytes = res->bytes;
	r->ticket = res->ticket;
	if (r->sleep_ms)
		t_sleep_ms(r->sleep_ms);
	atomic_fetch_add(&r->calls, 1);
	atomic_store(&r->done, 1);
	if (r->returned)
		atomic_fetch_add(r->returned, 1);
}

/* Small copies and fills with callbacks, submitted one by one and in a batch. */
static void test_callbacks(const struct t_config *c)
{
	enum {
		N = 24
	};
	struct adma_engine *e = engine_inline_max(c, 0, 0);
	const uint8_t pat[8] = { 9, 8, 7, 6, 5, 4, 3, 2 };
	uint8_t src[512], dst[N][512];
	struct cbrec r[N];
	struct adma_op ops[N];
	uint64_t t[N], before = inlined(e), n_inlined;

	t_fill_random(src, sizeof(src), 4);
	memset(dst, 0, sizeof(dst));
	memset(r, 0, sizeof(r));
	for (unsigned i = 0; i < N; i++) {
		if (i % 3 == 2)
			adma_prep_fill(&ops[i], dst[i], 1 + 21 * i, pat, 8);
		else
			adma_prep_copy(&ops[i], dst[i], src, 1 + 21 * i);
		adma_op_set_callback(&ops[i], cbrec_cb, &r[i]);
		r[i].sleep_ms = i % 4 == 0 ? 2 : 0; /* widen the window of an early wait */
	}
	for (unsigned i = 0; i < N / 2; i++) {
		ASSERT_EQ(flagged_submit(e, &ops[i], 1, &t[i]), 1);
		if (t_deferred(c)) {
			/* complete = result queued; the callback waits for adma_poll() */
			if (may_inline(c))
				ASSERT_EQ(adma_wait(e, t[i], 0), 0);
			ASSERT_EQ(adma_wait(e, t[i], 10 * SEC), 0);
			ASSERT_EQ(atomic_load(&r[i].calls), 0);
		} else {
			/* complete = callback returned */
			ASSERT_EQ(adma_wait(e, t[i], 10 * SEC), 0);
			ASSERT_EQ(atomic_load(&r[i].done), 1);
		}
	}
	ASSERT_EQ(flagged_submit(e, &ops[N / 2], N - N / 2, &t[N / 2]), N - N / 2);
	ASSERT_EQ(drain_flagged(e), 0);
	n_inlined = inlined(e) - before;
	for (unsigned i = 0; i < N; i++) {
		size_t n = 1 + 21 * i;

		ASSERT_EQ(atomic_load(&r[i].calls), 1);
		ASSERT_EQ(r[i].status, 0);
		ASSERT_UEQ(r[i].bytes, n);
		ASSERT_UEQ(r[i].ticket, t[i]);
		ASSERT(!r[i].in_submit); /* never inside the submitting call */
		if (t_deferred(c)) {
			ASSERT(r[i].in_poll);
			ASSERT(pthread_equal(r[i].thread, pthread_self()));
		} else {
			ASSERT(!pthread_equal(r[i].thread, pthread_self())); /* a worker */
		}
		if (i % 3 == 2)
			ASSERT_EQ(t_first_bad_fill(dst[i], n, pat, 8), n);
		else
			ASSERT(memcmp(dst[i], src, n) == 0);
	}
	ASSERT_UEQ(t_stats(e).completed, N);
	if (c->backend == ADMA_BACKEND_INLINE)
		ASSERT_UEQ(n_inlined, N);
	else if (!may_inline(c))
		ASSERT_UEQ(n_inlined, 0);
	else if (t_deferred(c))
		ASSERT_UEQ(n_inlined, N); /* nothing ever waited in the queue */
	else
		ASSERT_LE(n_inlined, N); /* an engine may hand these to a worker whole */
	ASSERT_OK(adma_engine_destroy(&e));
}

/* A callback of a small op submits the next small op: a chain. */
struct chain {
	struct adma_engine *e;
	unsigned len;
	atomic_uint n;
	uint8_t src[64];
	uint8_t (*dst)[64];
};

static void chain_cb(void *arg, const struct adma_result *res)
{
	struct chain *ch = arg;
	unsigned i = atomic_fetch_add(&ch->n, 1);

	CHECK(res->status == 0);
	CHECK(!tl_in_submit);
	if (i + 1 < ch->len) {
		struct adma_op op;

		adma_prep_copy(&op, ch->dst[i + 1], ch->src, sizeof(ch->src));
		adma_op_set_callback(&op, chain_cb, ch);
		CHECK(flagged_submit(ch->e, &op, 1, NULL) == 1);
	}
}

static void test_chain(const struct t_config *c)
{
	struct chain ch = { .len = 50 };
	struct adma_op op;
	uint64_t deadline = t_deadline_s(10);

	ch.e = engine_inline_max(c, 0, 0);
	ch.dst = calloc(ch.len, sizeof(*ch.dst));
	ASSERT(ch.dst);
	t_fill_random(ch.src, sizeof(ch.src), 5);
	adma_prep_copy(&op, ch.dst[0], ch.src, sizeof(ch.src));
	adma_op_set_callback(&op, chain_cb, &ch);
	ASSERT_EQ(flagged_submit(ch.e, &op, 1, NULL), 1);
	while (atomic_load(&ch.n) < ch.len && t_now_ns() < deadline) {
		if (flagged_poll(ch.e) == 0)
			t_sleep_ms(1);
	}
	ASSERT_EQ(atomic_load(&ch.n), ch.len);
	ASSERT_EQ(drain_flagged(ch.e), 0);
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);
	for (unsigned i = 0; i < ch.len; i++)
		if (memcmp(ch.dst[i], ch.src, sizeof(ch.src)) != 0)
			T_FAILED("chain op %u: destination differs", i);
	ASSERT_UEQ(t_stats(ch.e).completed, ch.len);
	ASSERT_OK(adma_engine_destroy(&ch.e));
	free(ch.dst);
}

/* ---- the backlog comes first ---------------------------------------------------------------- */

/* Every slot taken by gate ops (NO_INLINE): a small copy that could otherwise run here is
 * -EAGAIN, writes nothing and counts nowhere. With 2+ workers the queue is empty then. */
static void test_backlog_first(const struct t_config *c)
{
	unsigned ng = t_gate_count(c), b = ng > 2 ? ng : 2;
	struct adma_engine *e = engine_inline_max(c, 0, b);
	struct t_gate g = { 0 };
	uint8_t src[64], dst[64] = { 0 };
	struct adma_op ops[2];
	struct adma_stats st;

	t_fill_random(src, sizeof(src), 6);
	for (unsigned i = 0; i < b; i++) {
		adma_prep_custom(&ops[0], t_gate_op, NULL, NULL, &g);
		adma_op_set_flags(&ops[0], ADMA_OP_NO_INLINE);
		t_submit1(e, &ops[0]);
	}
	t_gate_wait_entered(&g, (int)ng);
	st = t_stats(e);
	adma_prep_copy(&ops[0], dst, src, sizeof(src));
	adma_prep_copy(&ops[1], dst + 32, src, 32);
	ASSERT_ERR(flagged_submit(e, ops, 1, NULL), -EAGAIN);
	ASSERT_ERR(flagged_submit(e, ops, 2, NULL), -EAGAIN);
	ASSERT_ERR(adma_memcpy(e, dst, src, 8, NULL, NULL), -EAGAIN);
	ASSERT_UEQ(t_stats(e).inlined, st.inlined);
	ASSERT_UEQ(t_stats(e).submitted, st.submitted);
	ASSERT_UEQ(t_stats(e).in_flight, b);
	ASSERT_EQ(t_first_not(dst, sizeof(dst), 0), sizeof(dst));

	atomic_store(&g.open, 1);
	ASSERT_EQ(t_drain(e), 0);
	/* room again: now it runs here */
	ASSERT_EQ(flagged_submit(e, ops, 1, NULL), 1);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT(memcmp(dst, src, sizeof(src)) == 0);
	ASSERT_UEQ(t_stats(e).inlined, st.inlined + (may_inline(c) ? 1 : 0));
	ASSERT_OK(adma_engine_destroy(&e));
}

/* ---- FIFO start order ---------------------------------------------------------------------- */

/* Workers held by gates, queue empty: a small copy still runs here. Then one NO_INLINE copy
 * waits in the queue: a new small copy or fill must queue behind it, not run here. */
static void test_fifo_order(const struct t_config *c)
{
	struct adma_engine *e = engine_inline_max(c, 0, 0);
	const uint8_t pat[2] = { 0x5a, 0xa5 };
	struct t_gate g = { 0 };
	uint8_t src[128], dst[4][128];
	struct adma_op op;
	uint64_t ta, tq, tx, ty, before;
	bool ordered = c->flags & ADMA_CFG_ORDERED;

	t_fill_random(src, sizeof(src), 8);
	memset(dst, 0, sizeof(dst));
	t_hold_workers(e, c, &g, NULL);

	/* an empty queue: inlined even though every worker is busy */
	before = inlined(e);
	adma_prep_copy(&op, dst[0], src, sizeof(src));
	ta = t_submit1(e, &op);
	if (may_inline(c)) {
		ASSERT_EQ(adma_wait(e, ta, 0), 0);
		ASSERT(memcmp(dst[0], src, sizeof(src)) == 0);
		ASSERT_UEQ(inlined(e), before + 1);
	} else {
		ASSERT_EQ(adma_wait(e, ta, 0), -ETIMEDOUT); /* ORDERED: behind the gate */
	}

	/* one op waiting in the queue */
	before = inlined(e);
	adma_prep_copy(&op, dst[1], src, sizeof(src));
	adma_op_set_flags(&op, ADMA_OP_NO_INLINE);
	tq = t_submit1(e, &op);
	adma_prep_copy(&op, dst[2], src, sizeof(src));
	tx = t_submit1(e, &op);
	adma_prep_fill(&op, dst[3], sizeof(src), pat, 2);
	ty = t_submit1(e, &op);
	ASSERT_UEQ(inlined(e), before);
	ASSERT_EQ(adma_wait(e, tq, 0), -ETIMEDOUT);
	ASSERT_EQ(adma_wait(e, tx, 0), -ETIMEDOUT);
	ASSERT_EQ(adma_wait(e, ty, 0), -ETIMEDOUT);
	t_sleep_ms(10);
	ASSERT_EQ(adma_wait(e, tx, 0), -ETIMEDOUT);
	ASSERT_EQ(adma_wait(e, ty, 0), -ETIMEDOUT);
	ASSERT_UEQ(t_stats(e).completed, ordered ? 0 : 1);

	atomic_store(&g.open, 1);
	ASSERT_EQ(adma_wait(e, tx, 10 * SEC), 0);
	ASSERT_EQ(adma_wait(e, ty, 10 * SEC), 0);
	ASSERT_EQ(adma_wait(e, tq, 10 * SEC), 0);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_UEQ(inlined(e), before);
	for (unsigned i = 0; i < 3; i++)
		ASSERT(memcmp(dst[i], src, sizeof(src)) == 0);
	ASSERT_EQ(t_first_bad_fill(dst[3], sizeof(src), pat, 2), sizeof(src));

	/* the same in one batch: the queued op comes first within the very submit */
	struct adma_op ops[3];
	uint64_t t[3];

	memset(dst, 0, sizeof(dst));
	atomic_store(&g.open, 0);
	atomic_store(&g.entered, 0);
	t_hold_workers(e, c, &g, NULL);
	before = inlined(e);
	adma_prep_copy(&ops[0], dst[1], src, sizeof(src));
	adma_op_set_flags(&ops[0], ADMA_OP_NO_INLINE);
	adma_prep_copy(&ops[1], dst[2], src, sizeof(src));
	adma_prep_fill(&ops[2], dst[3], sizeof(src), pat, 2);
	ASSERT_EQ(adma_submit(e, ops, 3, t), 3);
	ASSERT_UEQ(inlined(e), before);
	for (unsigned i = 0; i < 3; i++)
		ASSERT_EQ(adma_wait(e, t[i], 0), -ETIMEDOUT);
	ASSERT_EQ(t_first_not(dst[0], sizeof(dst), 0), sizeof(dst));
	atomic_store(&g.open, 1);
	for (unsigned i = 0; i < 3; i++)
		ASSERT_EQ(adma_wait(e, t[i], 10 * SEC), 0);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_UEQ(inlined(e), before);
	for (unsigned i = 1; i < 3; i++)
		ASSERT(memcmp(dst[i], src, sizeof(src)) == 0);
	ASSERT_EQ(t_first_bad_fill(dst[3], sizeof(src), pat, 2), sizeof(src));
	ASSERT_OK(adma_engine_destroy(&e));
}

/* ---- a fence behind small ops with slow callbacks ----------------------------------------- */

struct fence_probe {
	atomic_int *returned;
	int seen;
	const uint8_t *src;
	uint8_t (*dst)[64];
	unsigned n;
	bool data_ok;
};

static long op_fence_probe(void *dst, const void *src, void *arg)
{
	struct fence_probe *p = arg;

	(void)dst, (void)src;
	p->seen = atomic_load(p->returned);
	p->data_ok = true;
	for (unsigned i = 0; i < p->n; i++)
		if (memcmp(p->dst[i], p->src, 64) != 0)
			p->data_ok = false;
	return 0;
}

static void test_fence_after_callbacks(const struct t_config *c)
{
	enum {
		K = 4
	};
	struct adma_engine *e = engine_inline_max(c, 0, 0);
	atomic_int returned = 0;
	uint8_t src[64], dst[K][64];
	struct cbrec r[K];
	struct fence_probe p = { .returned = &returned, .seen = -1, .src = src, .dst = dst, .n = K };
	struct adma_op op;
	uint64_t tf;

	t_fill_random(src, sizeof(src), 9);
	memset(dst, 0, sizeof(dst));
	memset(r, 0, sizeof(r));
	for (unsigned i = 0; i < K; i++) {
		r[i].sleep_ms = 20;
		r[i].returned = &returned;
		adma_prep_copy(&op, dst[i], src, sizeof(src));
		adma_op_set_callback(&op, cbrec_cb, &r[i]);
		ASSERT_EQ(flagged_submit(e, &op, 1, NULL), 1);
	}
	adma_prep_custom(&op, op_fence_probe, NULL, NULL, &p);
	adma_op_set_flags(&op, ADMA_OP_FENCE);
	tf = t_submit1(e, &op);
	/* no adma_poll() needed: deferred ops are complete once their result is queued */
	ASSERT_EQ(adma_wait(e, tf, 10 * SEC), 0);
	ASSERT(p.data_ok);
	if (!t_deferred(c))
		ASSERT_EQ(p.seen, K); /* every callback had returned before the fence started */
	ASSERT_EQ(drain_flagged(e), 0);
	ASSERT_EQ(atomic_load(&returned), K);
	for (unsigned i = 0; i < K; i++) {
		ASSERT_EQ(atomic_load(&r[i].calls), 1);
		ASSERT(!r[i].in_submit);
	}
	ASSERT_OK(adma_engine_destroy(&e));
}

/* One batch: big copies that run in the submitting thread, then a FENCE op that must wait for
 * them in the queue. Once they are done the fence starts (the submitter must tell the workers,
 * which found it blocked and went to sleep: no polling here). */
static void test_fence_in_batch(const struct t_config *c)
{
	enum {
		K = 4
	};
	size_t n = t_slow() ? 64u << 10 : 1u << 20;
	const struct adma_config tune = { .inline_max = n, .spin_ns = ADMA_OFF };
	struct adma_engine *e = t_engine_tuned(c, 0, 0, &tune);
	uint8_t *src = malloc(n), *dst = calloc(K, n);
	struct adma_op ops[K + 1];
	uint64_t t[K + 1], before = inlined(e);

	ASSERT(src && dst);
	t_fill_random(src, n, 12);
	for (unsigned i = 0; i < K; i++)
		adma_prep_copy(&ops[i], dst + i * n, src, n);
	adma_prep_fill(&ops[K], dst, 64, src, 16);
	adma_op_set_flags(&ops[K], ADMA_OP_FENCE);
	ASSERT_EQ(flagged_submit(e, ops, K + 1, t), K + 1);
	ASSERT_EQ(adma_wait(e, t[K], 10 * SEC), 0);
	for (unsigned i = 0; i < K; i++)
		ASSERT_EQ(adma_wait(e, t[i], 0), 0);
	ASSERT_EQ(t_first_bad_fill(dst, 64, src, 16), 64);
	ASSERT(memcmp(dst + 64, src + 64, n - 64) == 0);
	for (unsigned i = 1; i < K; i++)
		ASSERT(memcmp(dst + i * n, src, n) == 0);
	if (may_inline(c))
		ASSERT_UEQ(inlined(e), before + K);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_OK(adma_engine_destroy(&e));
	free(src);
	free(dst);
}

/* ---- ORDERED engines never inline, whatever inline_max says ------------------------------- */

static void test_ordered_never(void)
{
	static const struct t_config cfgs[] = {
		{ "threads-1-ordered", ADMA_BACKEND_THREADS, 1, ADMA_CFG_ORDERED },
		{ "threads-4-ordered", ADMA_BACKEND_THREADS, 4, ADMA_CFG_ORDERED },
		{ "threads-2-ordered-deferred", ADMA_BACKEND_THREADS, 2,
		  ADMA_CFG_ORDERED | ADMA_CFG_DEFER_CALLBACKS },
	};

	for (size_t k = 0; k < sizeof(cfgs) / sizeof(cfgs[0]); k++) {
		const struct t_config *c = &cfgs[k];
		struct adma_engine *e;
		uint8_t src[256], dst[64][256];
		const uint8_t pat[16] = { 1 };
		struct adma_op op;

		t_config_name = c->name;
		e = engine_inline_max(c, 1u << 20, 0);
		t_fill_random(src, sizeof(src), 10);
		for (unsigned i = 0; i < 64; i++) {
			if (i % 2)
				adma_prep_fill(&op, dst[i], 1 + i * 3, pat, 16);
			else
				adma_prep_copy(&op, dst[i], src, 1 + i * 3);
			t_submit1(e, &op);
		}
		ASSERT_EQ(t_drain(e), 0);
		ASSERT_UEQ(t_stats(e).inlined, 0);
		ASSERT_UEQ(t_stats(e).completed, 64);
		for (unsigned i = 0; i < 64; i += 2)
			ASSERT(memcmp(dst[i], src, 1 + i * 3) == 0);
		ASSERT_OK(adma_engine_destroy(&e));
	}
}

/* ---- four threads mixing small, large, flagged and callback ops ---------------------------- */

struct mixer {
	struct adma_engine *e;
	const struct t_config *c;
	unsigned per;
	uint8_t *src;
	uint8_t *dst; /* per thread: per x 32 KiB */
	unsigned id;
	atomic_int *calls;
	atomic_int finished; /* its submissions are over */
};

static void mix_cb(void *arg, const struct adma_result *res)
{
	atomic_int *calls = arg;

	CHECK(res->status == 0);
	CHECK(!tl_in_submit);
	atomic_fetch_add(calls, 1);
}

static size_t mix_size(unsigned id, unsigned i)
{
	return ((size_t)(id * 7919 + i * 104729)) % (32u << 10);
}

static void *mixer_main(void *arg)
{
	struct mixer *m = arg;
	uint64_t deadline = t_deadline_s(30);

	for (unsigned i = 0; i < m->per; i++) {
		size_t n = mix_size(m->id, i);
		struct adma_op op;
		unsigned spins = 0;
		int rc;

		adma_prep_copy(&op, m->dst + (size_t)i * (32u << 10), m->src, n);
		if (i % 3 == 0)
			adma_op_set_callback(&op, mix_cb, m->calls);
		if (i % 7 == 0)
			adma_op_set_flags(&op, ADMA_OP_NO_INLINE);
		if (i % 50 == 49)
			adma_op_set_flags(&op, ADMA_OP_FENCE);
		while ((rc = flagged_submit(m->e, &op, 1, NULL)) == -EAGAIN &&
		       t_now_ns() < deadline)
			t_backoff(&spins);
		CHECK(rc == 1);
		if (rc != 1)
			break;
	}
	t_publish(&m->finished, 1);
	return NULL;
}

static void test_threads_mixed(const struct t_config *c)
{
	enum {
		NT = 4
	};
	unsigned per = t_slow() ? 60 : 400;
	struct adma_engine *e = engine_inline_max(c, 0, 64);
	struct mixer m[NT];
	pthread_t tid[NT];
	atomic_int calls = 0;
	uint8_t *src = malloc(32u << 10), *dst = calloc(NT * (size_t)per, 32u << 10);
	unsigned expect_calls = 0;
	struct adma_stats st;

	ASSERT(src && dst);
	t_fill_random(src, 32u << 10, 11);
	for (unsigned k = 0; k < NT; k++) {
		m[k] = (struct mixer){ .e = e,
				       .c = c,
				       .per = per,
				       .src = src,
				       .id = k,
				       .dst = dst + (size_t)k * per * (32u << 10),
				       .calls = &calls };
		ASSERT_EQ(pthread_create(&tid[k], NULL, mixer_main, &m[k]), 0);
	}
	for (unsigned k = 0; k < NT; k++) {
		/* deferred callbacks run here meanwhile: the submitters may wait for room */
		while (t_deferred(c) && !t_observe(&m[k].finished)) {
			flagged_poll(e);
			t_sleep_ms(1);
		}
		ASSERT_EQ(pthread_join(tid[k], NULL), 0);
	}
	ASSERT_EQ(drain_flagged(e), 0);
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);
	for (unsigned k = 0; k < NT; k++)
		for (unsigned i = 0; i < per; i++) {
			size_t n = mix_size(k, i);

			if (memcmp(m[k].dst + (size_t)i * (32u << 10), src, n) != 0)
				T_FAILED("thread %u op %u (%zu bytes): destination differs", k, i,
					 n);
			expect_calls += i % 3 == 0;
		}
	ASSERT_EQ(atomic_load(&calls), (int)expect_calls);
	st = t_stats(e);
	ASSERT_UEQ(st.submitted, NT * per);
	ASSERT_UEQ(st.completed, NT * per);
	ASSERT_LE(st.inlined, NT * per);
	ASSERT_LE(st.backlog_peak, 64);
	ASSERT_OK(adma_engine_destroy(&e));
	free(src);
	free(dst);
}

int main(void)
{
	FOR_EACH_CONFIG (c) {
		test_sizes(c, 0, AUTO_INLINE_MAX);
		test_sizes(c, 100, 100);
		test_sizes(c, 1, 1);
		test_sizes(c, ADMA_OFF, 0);
		test_never_inlined(c);
		test_callbacks(c);
		test_chain(c);
		test_threads_mixed(c);
		test_fence_in_batch(c);
		if (c->backend != ADMA_BACKEND_THREADS)
			continue; /* gates */
		test_backlog_first(c);
		test_fifo_order(c);
		test_fence_after_callbacks(c);
	}
	test_ordered_never();
	return T_PASS;
}
