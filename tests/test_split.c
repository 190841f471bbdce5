/* SPDX-License-Identifier: MIT */
/*
 * Large copies and fills cut into pieces that all workers share (struct adma_config.split_size).
 * For split_size 4096, 8192, auto (1 MiB) and 5000 (rounded up to 8192): copies and fills of
 * 2s - 1, 2s, 2s + 1, 2s + 2, 3s - 1, 10s + 7 and 64 MiB bytes, aligned and misaligned, with
 * ordinary, non-temporal and cached stores, fill patterns of 2, 8 and 16 bytes (their phase must
 * run on across piece boundaries): every byte and the guard bytes around the destination are
 * checked, the callback runs once with bytes == n, and stats.split counts the op exactly when
 * n > 2 x split_size on a threads engine with more than one worker (threads-1 and the inline
 * backend never split; neither does split_size = ADMA_OFF). The ops are ADMA_OP_NO_INLINE: the
 * small ones would otherwise run whole in the submitting thread. ORDERED engines keep
 * completion order with a split op ahead of small ops; a FENCE behind split ops sees all their
 * bytes; a queued split op can be cancelled (-ECANCELED, nothing written), a running one cannot
 * (-EBUSY, every byte written); destroy with split ops in flight loses nothing. Valgrind and
 * TSan builds stop at 4 MiB.
 */
#include "helpers.h"

#define GUARD 64
#define GUARD_BYTE 0xA5
#define UNTOUCHED 0xEE
#define AUTO_SPLIT (1u << 20) /* the documented automatic split_size */
#define MIB (1u << 20)

static struct adma_engine *engine_split(const struct t_config *c, size_t split, unsigned flags)
{
	struct adma_config tune = { .split_size = split };

	return t_engine_tuned(c, flags, 0, &tune);
}

/* Whether an op of @n bytes must be split on @c with an effective split size of @s. */
static bool must_split(const struct t_config *c, size_t s, size_t n)
{
	return c->backend == ADMA_BACKEND_THREADS && c->workers > 1 && s != SIZE_MAX && n > 2 * s;
}

/* Buffers big enough for the largest op, with guards and room for misalignment. */
struct bufs {
	size_t cap;
	uint8_t *src; /* random */
	uint8_t *dbuf;
};

static struct bufs bufs_new(size_t cap)
{
	struct bufs b = { cap, malloc(cap + 64), malloc(cap + 2 * GUARD + 64) };

	ASSERT(b.src && b.dbuf);
	t_fill_random(b.src, cap + 64, 1234);
	return b;
}

static void bufs_free(struct bufs *b)
{
	free(b->src);
	free(b->dbuf);
}

/* One kind of op the boundary loop runs. */
struct kind {
	const char *name;
	size_t plen; /* 0: copy */
	size_t doff, soff;
	unsigned flags;
};

static const struct kind kinds[] = {
	{ "copy", 0, 0, 0, 0 },
	{ "copy dst+3 src+5 NONTEMPORAL", 0, 3, 5, ADMA_OP_NONTEMPORAL },
	{ "copy dst+61 src+1 CACHED", 0, 61, 1, ADMA_OP_CACHED },
	{ "fill 2", 2, 0, 0, 0 },
	{ "fill 8 dst+5 NONTEMPORAL", 8, 5, 0, ADMA_OP_NONTEMPORAL },
	{ "fill 16 dst+1", 16, 1, 0, 0 },
};

static const uint8_t pattern[16] = { 0x01, 0x12, 0x23, 0x34, 0x45, 0x56, 0x67, 0x78,
				     0x89, 0x9a, 0xab, 0xbc, 0xcd, 0xde, 0xef, 0xf0 };

/* Runs one op of kind @k and @n bytes on @e (split size @s) and checks everything. */
static void run_one(struct adma_engine *e, const struct t_config *c, size_t s, const struct kind *k,
		    size_t n, struct bufs *b)
{
	uint8_t *dst = b->dbuf + GUARD + k->doff;
	const uint8_t *src = b->src + k->soff;
	struct adma_stats before = t_stats(e), after;
	struct t_rec r = { 0 };
	struct adma_op op;
	uint64_t t;
	size_t bad;

	memset(b->dbuf, GUARD_BYTE, GUARD + k->doff);
	memset(dst, UNTOUCHED, n);
	memset(dst + n, GUARD_BYTE, GUARD);
	if (k->plen)
		adma_prep_fill(&op, dst, n, pattern, k->plen);
	else
		adma_prep_copy(&op, dst, src, n);
	/* small ones would run in the submitting thread, whole */
	adma_op_set_flags(&op, k->flags | ADMA_OP_NO_INLINE);
	adma_op_set_callback(&op, t_rec_cb, &r);
	t = t_submit1(e, &op);
	ASSERT_EQ(adma_wait(e, t, 30 * SEC), 0);
	if (!t_deferred(c))
		ASSERT_EQ(atomic_load(&r.calls), 1); /* complete = callback returned */
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&r.calls), 1);
	ASSERT_EQ(r.status, 0);
	ASSERT_UEQ(r.bytes, n);
	ASSERT_UEQ(r.ticket, t);

	bad = k->plen ? t_first_bad_fill(dst, n, pattern, k->plen) : t_first_diff(dst, src, n);
	if (bad < n)
		T_FAILED("%s of %zu bytes, split %zu: byte %zu is 0x%02x (piece %zu, offset %zu in "
			 "it)",
			 k->name, n, s, bad, dst[bad], bad / s, bad % s);
	bad = t_first_not(b->dbuf, GUARD + k->doff, GUARD_BYTE);
	if (bad < GUARD + k->doff)
		T_FAILED("%s of %zu bytes: guard byte %zu before dst overwritten", k->name, n,
			 GUARD + k->doff - bad);
	bad = t_first_not(dst + n, GUARD, GUARD_BYTE);
	if (bad < GUARD)
		T_FAILED("%s of %zu bytes: guard byte %zu after dst overwritten", k->name, n, bad);

	after = t_stats(e);
	ASSERT_UEQ(after.completed, before.completed + 1);
	ASSERT_UEQ(after.bytes, before.bytes + n);
	if (after.split != before.split + (must_split(c, s, n) ? 1 : 0))
		T_FAILED("%s of %zu bytes, split_size %zu, %u workers: stats.split went from %" PRIu64
			 " to %" PRIu64 ", expected %s",
			 k->name, n, s, c->workers, before.split, after.split,
			 must_split(c, s, n) ? "+1" : "no change");
}

/* Every size around the boundaries of one split size. @cfg_split is what the config says, @s
 * what the engine makes of it. */
static void test_boundaries(const struct t_config *c, size_t cfg_split, size_t s, struct bufs *b)
{
	const size_t sizes[] = { 2 * s - 1, 2 * s,	2 * s + 1, 2 * s + 2,
				 3 * s - 1, 10 * s + 7, 64 * MIB };
	struct adma_engine *e = engine_split(c, cfg_split, 0);
	const char *cfg_name = t_config_name;
	char name[160];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			size_t n = sizes[i];

			if (n > b->cap)
				continue;
			if (n == 64 * MIB && k % 3 != 0)
				continue; /* the biggest once per copy and once per fill */
			snprintf(name, sizeof(name), "%s, split_size %zu, %s of %zu", cfg_name,
				 cfg_split, kinds[k].name, n);
			t_config_name = name;
			run_one(e, c, s, &kinds[k], n, b);
		}
	}
	t_config_name = cfg_name;
	ASSERT_OK(adma_engine_destroy(&e));
}

/* An odd split size is rounded up to a multiple of 4 KiB: 5000 acts as 8192 (10001 = 2 x 5000
 * + 1 is not split, 16384 is not, 16385 is). */
static void test_rounding(const struct t_config *c, struct bufs *b)
{
	const size_t sizes[] = { 10001, 12289, 16384, 16385 };
	struct adma_engine *e = engine_split(c, 5000, 0);

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			run_one(e, c, 8192, &kinds[k], sizes[i], b);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* split_size = ADMA_OFF: nothing is ever split. */
static void test_off(const struct t_config *c, struct bufs *b)
{
	struct adma_engine *e = engine_split(c, ADMA_OFF, 0);
	size_t n = b->cap;

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k += 3)
		run_one(e, c, SIZE_MAX, &kinds[k], n, b);
	ASSERT_UEQ(t_stats(e).split, 0);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* ---- ORDERED: a split op, then small ops: callbacks in ticket order ---------------------- */

struct order_log {
	uint64_t tickets[64];
	atomic_uint n;
	const uint8_t *big_src, *big_dst;
	size_t big_n;
	atomic_int big_seen_done; /* the first later callback saw the split op's bytes */
};

static void order_cb(void *arg, const struct adma_result *res)
{
	struct order_log *l = arg;
	unsigned k = atomic_fetch_add(&l->n, 1);

	CHECK(res->status == 0);
	if (k < 64)
		l->tickets[k] = res->ticket;
	if (k == 1) /* the first small op completes after every piece of the split op */
		atomic_store(&l->big_seen_done,
			     t_first_diff(l->big_dst, l->big_src, l->big_n) == l->big_n ? 1 : -1);
}

static void test_ordered(const struct t_config *c, struct bufs *b)
{
	size_t n = t_slow() ? MIB + 3 : 8 * MIB + 3, small = 100;
	struct adma_engine *e = engine_split(c, 4096, 0);
	struct order_log l = { .big_src = b->src, .big_dst = b->dbuf, .big_n = n };
	uint8_t *sdst = b->dbuf + n + 64;
	struct adma_op op;
	unsigned nsmall = 20;

	memset(b->dbuf, UNTOUCHED, n + 64 + nsmall * small);
	adma_prep_copy(&op, b->dbuf, b->src, n);
	adma_op_set_callback(&op, order_cb, &l);
	t_submit1(e, &op);
	for (unsigned i = 0; i < nsmall; i++) {
		if (i % 2)
			adma_prep_fill(&op, sdst + i * small, small, pattern, 4);
		else
			adma_prep_copy(&op, sdst + i * small, b->src + i, small);
		adma_op_set_callback(&op, order_cb, &l);
		t_submit1(e, &op);
	}
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&l.n), nsmall + 1);
	t_check_ticket_order(l.tickets, nsmall + 1);
	ASSERT_EQ(atomic_load(&l.big_seen_done), 1);
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);
	ASSERT_UEQ(t_stats(e).split, must_split(c, 4096, n) ? 1 : 0);
	for (unsigned i = 0; i < nsmall; i++) {
		if (i % 2)
			ASSERT_EQ(t_first_bad_fill(sdst + i * small, small, pattern, 4), small);
		else
			ASSERT(memcmp(sdst + i * small, b->src + i, small) == 0);
	}
	ASSERT_OK(adma_engine_destroy(&e));
}

/* ---- a fence behind split ops ---------------------------------------------------------- */

struct fence_probe {
	const uint8_t *src, *dst;
	size_t n, stride;
	unsigned count;
	int verdict; /* 1: every byte of every earlier op was there */
};

static long op_fence_check(void *dst, const void *src, void *arg)
{
	struct fence_probe *p = arg;

	(void)dst, (void)src;
	p->verdict = 1;
	for (unsigned i = 0; i < p->count; i++)
		if (t_first_diff(p->dst + i * p->stride, p->src + i, p->n) != p->n)
			p->verdict = -1;
	return 0;
}

static void test_fence(const struct t_config *c, struct bufs *b)
{
	const unsigned count = 3;
	size_t n = t_slow() ? 256u << 10 : 4 * MIB, stride = n + 64;
	struct adma_engine *e = engine_split(c, 4096, 0);
	struct fence_probe p = { b->src, b->dbuf, n, stride, count, 0 };
	uint8_t after_src[64], after_dst[64] = { 0 };
	struct adma_op op;
	uint64_t tf, ta;

	ASSERT_LE(count * stride, b->cap);
	memset(b->dbuf, UNTOUCHED, count * stride);
	t_fill_random(after_src, sizeof(after_src), 5);
	for (unsigned i = 0; i < count; i++) {
		adma_prep_copy(&op, b->dbuf + i * stride, b->src + i, n);
		t_submit1(e, &op);
	}
	adma_prep_custom(&op, op_fence_check, NULL, NULL, &p);
	adma_op_set_flags(&op, ADMA_OP_FENCE);
	tf = t_submit1(e, &op);
	adma_prep_copy(&op, after_dst, after_src, sizeof(after_src));
	ta = t_submit1(e, &op);
	ASSERT_EQ(adma_wait(e, tf, 30 * SEC), 0);
	ASSERT_EQ(adma_wait(e, ta, 30 * SEC), 0);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(p.verdict, 1);
	ASSERT(memcmp(after_dst, after_src, sizeof(after_src)) == 0);
	ASSERT_UEQ(t_stats(e).split, must_split(c, 4096, n) ? count : 0);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* ---- cancel -------------------------------------------------------------------------------- */

/* A split op queued behind the gates is withdrawn whole; a second one behind it runs. */
static void test_cancel_queued(const struct t_config *c, struct bufs *b)
{
	size_t n = t_slow() ? 256u << 10 : 2 * MIB + 5;
	struct adma_engine *e = engine_split(c, 4096, 0);
	struct t_gate g = { 0 };
	struct t_rec r1 = { 0 }, r2 = { 0 };
	uint8_t *d1 = b->dbuf, *d2 = b->dbuf + n + 64;
	struct adma_op op;
	uint64_t t1, t2;

	ASSERT_LE(2 * n + 64, b->cap);
	memset(b->dbuf, UNTOUCHED, 2 * n + 64);
	t_hold_workers(e, c, &g, NULL);
	adma_prep_copy(&op, d1, b->src, n);
	adma_op_set_callback(&op, t_rec_cb, &r1);
	t1 = t_submit1(e, &op);
	adma_prep_fill(&op, d2, n, pattern, 16);
	adma_op_set_callback(&op, t_rec_cb, &r2);
	t2 = t_submit1(e, &op);
	ASSERT_EQ(adma_cancel(e, t1), 0);
	ASSERT_ERR(adma_cancel(e, t1), -EBUSY);
	atomic_store(&g.open, 1);
	ASSERT_EQ(adma_wait(e, t1, 30 * SEC), -ECANCELED);
	ASSERT_EQ(adma_wait(e, t2, 30 * SEC), 0);
	ASSERT_EQ(t_drain(e), -ECANCELED);
	ASSERT_EQ(atomic_load(&r1.calls), 1);
	ASSERT_EQ(r1.status, -ECANCELED);
	ASSERT_UEQ(r1.bytes, 0);
	ASSERT_EQ(atomic_load(&r2.calls), 1);
	ASSERT_EQ(r2.status, 0);
	ASSERT_UEQ(r2.bytes, n);
	ASSERT_EQ(t_first_not(d1, n, UNTOUCHED), n);
	ASSERT_EQ(t_first_bad_fill(d2, n, pattern, 16), n);
	ASSERT_UEQ(t_stats(e).cancelled, 1);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* Once stats.split counts it, a split op has started: cancel is -EBUSY and every byte lands.
 * Whatever cancel answers, it must agree with the outcome. */
static void test_cancel_running(const struct t_config *c, struct bufs *b)
{
	size_t n = b->cap;
	struct adma_engine *e = engine_split(c, 4096, 0);
	struct t_rec r = { 0 };
	struct adma_op op;
	uint64_t t, deadline = t_deadline_s(10);
	int rc;

	memset(b->dbuf, UNTOUCHED, n);
	adma_prep_copy(&op, b->dbuf, b->src, n);
	adma_op_set_callback(&op, t_rec_cb, &r);
	t = t_submit1(e, &op);
	while (t_stats(e).split == 0 && t_now_ns() < deadline)
		sched_yield();
	ASSERT_UEQ(t_stats(e).split, 1);
	rc = adma_cancel(e, t);
	ASSERT_ERR(rc, -EBUSY);
	ASSERT_EQ(adma_wait(e, t, 30 * SEC), 0);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&r.calls), 1);
	ASSERT_EQ(r.status, 0);
	ASSERT_UEQ(r.bytes, n);
	ASSERT_EQ(t_first_diff(b->dbuf, b->src, n), n);
	ASSERT_UEQ(t_stats(e).cancelled, 0);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* ---- destroy with split ops in flight ----------------------------------------------------- */

static void test_destroy(const struct t_config *c, struct bufs *b)
{
	enum {
		NOPS = 6
	};
	size_t n = b->cap / NOPS - 64;
	struct adma_engine *e = engine_split(c, 8192, 0);
	struct t_rec r[NOPS];
	struct adma_op op;

	memset(r, 0, sizeof(r));
	memset(b->dbuf, UNTOUCHED, b->cap);
	for (unsigned i = 0; i < NOPS; i++) {
		uint8_t *d = b->dbuf + i * (n + 64);

		if (i % 2)
			adma_prep_fill(&op, d, n, pattern, 8);
		else
			adma_prep_copy(&op, d, b->src + i, n);
		adma_op_set_callback(&op, t_rec_cb, &r[i]);
		t_submit1(e, &op);
	}
	ASSERT_OK(adma_engine_destroy(&e));
	for (unsigned i = 0; i < NOPS; i++) {
		uint8_t *d = b->dbuf + i * (n + 64);

		ASSERT_EQ(atomic_load(&r[i].calls), 1);
		ASSERT_EQ(r[i].status, 0);
		ASSERT_UEQ(r[i].bytes, n);
		if (i % 2)
			ASSERT_EQ(t_first_bad_fill(d, n, pattern, 8), n);
		else
			ASSERT_EQ(t_first_diff(d, b->src + i, n), n);
	}
}

int main(void)
{
	size_t cap = t_slow() ? 4 * MIB : 64 * MIB;
	struct bufs b = bufs_new(cap);

	FOR_EACH_CONFIG (c) {
		const bool threads = c->backend == ADMA_BACKEND_THREADS;

		test_boundaries(c, 4096, 4096, &b);
		test_boundaries(c, 8192, 8192, &b);
		test_boundaries(c, 0, AUTO_SPLIT, &b);
		test_rounding(c, &b);
		test_off(c, &b);
		if (c->flags & ADMA_CFG_ORDERED)
			test_ordered(c, &b);
		test_fence(c, &b);
		if (threads) /* gates */
			test_cancel_queued(c, &b);
		if (must_split(c, 4096, cap))
			test_cancel_running(c, &b);
		test_destroy(c, &b);
	}
	bufs_free(&b);
	return T_PASS;
}
