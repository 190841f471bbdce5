/* SPDX-License-Identifier: MIT */
/*
 * ADMA_CFG_ORDERED: ops start and complete in submission order, one at a time; callbacks run in
 * ticket order, never two at once. A random mix of copies (1 byte .. 8 MiB) and custom ops that
 * record an atomic sequence number when they start and end: each custom op sees the copy before
 * it complete and the copy after it not started; custom ops' start order == end order ==
 * submission order, without overlap; every callback sees its own data complete; callbacks'
 * tickets are strictly increasing. Then two threads submitting custom ops at once: start order
 * follows ticket order. Runs under the ORDERED configurations of the matrix plus ORDERED engines
 * with 1 and 4 workers (deferred or not); the other configurations do not promise an order.
 */
#include "helpers.h"

#include <sched.h>

#define MAXN 200

static const struct t_config extra_configs[] = {
	{ "threads-1-ordered", ADMA_BACKEND_THREADS, 1, ADMA_CFG_ORDERED },
	{ "threads-4-ordered", ADMA_BACKEND_THREADS, 4, ADMA_CFG_ORDERED },
	{ "threads-4-ordered-deferred", ADMA_BACKEND_THREADS, 4,
	  ADMA_CFG_ORDERED | ADMA_CFG_DEFER_CALLBACKS },
};

struct op_rec {
	unsigned idx;
	bool custom;
	size_t n;	     /* copies */
	uint8_t *dst;	     /* copies */
	int prev_copy;	     /* custom: index of the last copy before it, -1 if none */
	int next_copy;	     /* custom: index of the first copy after it, -1 if none */
	unsigned sleep_us;   /* custom */
	uint64_t start, end; /* custom: sequence numbers */
	uint64_t ticket;     /* from submit */
	atomic_int calls;
};

static struct {
	const struct t_config *c;
	struct op_rec rec[MAXN];
	unsigned n;
	const uint8_t *src;	  /* every copy reads src[0 .. n) */
	atomic_uint_fast64_t seq; /* start/end events of custom ops */
	atomic_int in_cb;
	uint64_t cb_ticket[MAXN];
	atomic_uint ncb;
} g;

/* Every byte of small buffers, a sample of large ones (a worker's chunk is never tiny). */
static bool same(const uint8_t *a, const uint8_t *b, size_t n)
{
	if (n <= 65536)
		return memcmp(a, b, n) == 0;
	for (size_t i = 0; i < n; i += 4093)
		if (a[i] != b[i])
			return false;
	return a[n - 1] == b[n - 1];
}

static bool untouched(const uint8_t *a, size_t n)
{
	size_t step = n <= 65536 ? 1 : 4093;

	for (size_t i = 0; i < n; i += step)
		if (a[i] != 0)
			return false;
	return a[n - 1] == 0;
}

static long op_record(void *dst, const void *src, void *arg)
{
	struct op_rec *r = arg;

	(void)dst, (void)src;
	r->start = atomic_fetch_add(&g.seq, 1);
	if (r->prev_copy >= 0) {
		const struct op_rec *p = &g.rec[r->prev_copy];

		CHECK(same(p->dst, g.src, p->n)); /* the copy before it has completed */
	}
	if (r->next_copy >= 0) {
		const struct op_rec *q = &g.rec[r->next_copy];

		CHECK(untouched(q->dst, q->n)); /* the copy after it has not started */
	}
	if (r->sleep_us) {
		struct timespec ts = { 0, (long)r->sleep_us * 1000 };

		nanosleep(&ts, NULL);
	}
	if (r->next_copy >= 0) {
		const struct op_rec *q = &g.rec[r->next_copy];

		CHECK(untouched(q->dst, q->n));
	}
	r->end = atomic_fetch_add(&g.seq, 1);
	return 0;
}

static void ordered_cb(void *arg, const struct adma_result *res)
{
	struct op_rec *r = arg;
	int prev = atomic_fetch_add(&g.in_cb, 1);
	unsigned k;

	CHECK(prev == 0); /* never two callbacks at once */
	CHECK(res->status == 0);
	if (!r->custom) {
		CHECK(res->bytes == r->n);
		CHECK(same(r->dst, g.src, r->n));
	}
	k = atomic_fetch_add(&g.ncb, 1);
	if (k < MAXN)
		g.cb_ticket[k] = res->ticket;
	atomic_fetch_add(&r->calls, 1);
	/* stay a little, so that a second callback running at once would be seen */
	if (k % 8 == 0)
		sched_yield();
	atomic_fetch_sub(&g.in_cb, 1);
}

static void test_mixed(const struct t_config *c)
{
	size_t maxsz = t_valgrind() ? 256 << 10 : 8 << 20;
	unsigned maxbits = t_valgrind() ? 18 : 23;
	uint64_t rs = 0x1234567 + (uint64_t)(uintptr_t)c->name[0];
	uint8_t *src = malloc(maxsz);
	struct adma_engine *e;
	struct adma_op ops[8];
	int last_copy = -1;

	ASSERT(src);
	memset(&g, 0, sizeof(g));
	g.c = c;
	g.n = t_valgrind() ? 30 : 150;
	t_fill_random(src, maxsz, 77);
	for (size_t i = 0; i < maxsz; i++)
		src[i] |= 1; /* never 0: a zero destination byte means "not written yet" */
	g.src = src;

	/* plan */
	for (unsigned i = 0; i < g.n; i++) {
		struct op_rec *r = &g.rec[i];

		r->idx = i;
		r->prev_copy = r->next_copy = -1;
		r->custom = i % 2 == 0 ? (t_rand(&rs) % 10 < 5) : (t_rand(&rs) % 10 < 2);
		if (r->custom) {
			r->prev_copy = last_copy;
			r->sleep_us = (unsigned)(t_rand(&rs) % 500);
		} else {
			unsigned bits = (unsigned)(t_rand(&rs) % (maxbits + 1));

			r->n = i % 37 == 1 ? maxsz :
					     1 + (size_t)(t_rand(&rs) % ((size_t)1 << bits));
			r->dst = calloc(1, r->n);
			ASSERT(r->dst);
			last_copy = (int)i;
		}
	}
	for (int i = (int)g.n - 1, next = -1; i >= 0; i--) {
		if (g.rec[i].custom)
			g.rec[i].next_copy = next;
		else
			next = i;
	}

	e = t_engine(c, 0, 0);
	for (unsigned i = 0; i < g.n;) {
		unsigned b = 1 + (unsigned)(t_rand(&rs) % 8);
		uint64_t t[8];

		if (b > g.n - i)
			b = g.n - i;
		for (unsigned k = 0; k < b; k++) {
			struct op_rec *r = &g.rec[i + k];

			if (r->custom)
				adma_prep_custom(&ops[k], op_record, NULL, NULL, r);
			else
				adma_prep_copy(&ops[k], r->dst, src, r->n);
			adma_op_set_callback(&ops[k], ordered_cb, r);
		}
		ASSERT_EQ(adma_submit(e, ops, b, t), (int)b);
		for (unsigned k = 0; k < b; k++)
			g.rec[i + k].ticket = t[k];
		i += b;
		if (t_deferred(c) && t_rand(&rs) % 4 == 0)
			adma_poll(e, NULL, UINT32_MAX);
	}
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_OK(adma_engine_destroy(&e));
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);

	ASSERT_EQ(atomic_load(&g.ncb), g.n);
	for (unsigned i = 0; i < g.n; i++) {
		struct op_rec *r = &g.rec[i];

		ASSERT_EQ(atomic_load(&r->calls), 1);
		if (i > 0)
			ASSERT_GT(r->ticket, g.rec[i - 1].ticket);
		/* callbacks in ticket order = submission order */
		if (g.cb_ticket[i] != r->ticket)
			T_FAILED("callback %u had ticket %" PRIu64 ", op %u has %" PRIu64, i,
				 g.cb_ticket[i], i, r->ticket);
		if (!r->custom && memcmp(r->dst, src, r->n) != 0)
			T_FAILED("copy %u of %zu bytes: destination differs", i, r->n);
	}
	/* custom ops: one at a time, in submission order */
	for (unsigned i = 0, prev = UINT32_MAX; i < g.n; i++) {
		struct op_rec *r = &g.rec[i];

		if (!r->custom)
			continue;
		ASSERT_LT(r->start, r->end);
		if (prev != UINT32_MAX && !(g.rec[prev].end < r->start))
			T_FAILED("custom op %u started (seq %" PRIu64
				 ") before op %u ended (seq %" PRIu64 ")",
				 i, r->start, prev, g.rec[prev].end);
		prev = i;
	}
	for (unsigned i = 0; i < g.n; i++)
		free(g.rec[i].dst);
	free(src);
}

/* Two threads submitting custom ops at once: start order follows ticket order. */
struct sub {
	struct adma_engine *e;
	struct op_rec *rec;
	unsigned n;
	int rc;
};

static void *submitter(void *arg)
{
	struct sub *s = arg;
	struct adma_op op;

	for (unsigned i = 0; i < s->n; i++) {
		adma_prep_custom(&op, op_record, NULL, NULL, &s->rec[i]);
		adma_op_set_callback(&op, ordered_cb, &s->rec[i]);
		s->rc = adma_submit(s->e, &op, 1, &s->rec[i].ticket);
		if (s->rc != 1)
			return NULL;
	}
	return NULL;
}

static int by_ticket(const void *a, const void *b)
{
	const struct op_rec *x = a, *y = b;

	return x->ticket < y->ticket ? -1 : x->ticket > y->ticket;
}

static void test_two_submitters(const struct t_config *c)
{
	unsigned per = t_valgrind() ? 20 : MAXN / 2;
	struct sub s[2];
	pthread_t tid[2];
	struct adma_engine *e;

	memset(&g, 0, sizeof(g));
	g.c = c;
	for (unsigned i = 0; i < 2 * per; i++)
		g.rec[i] = (struct op_rec){ .idx = i,
					    .custom = true,
					    .prev_copy = -1,
					    .next_copy = -1,
					    .sleep_us = i % 5 == 0 ? 100 : 0 };
	e = t_engine(c, 0, 0);
	for (unsigned k = 0; k < 2; k++) {
		s[k] = (struct sub){ .e = e, .rec = &g.rec[k * per], .n = per };
		ASSERT_EQ(pthread_create(&tid[k], NULL, submitter, &s[k]), 0);
	}
	for (unsigned k = 0; k < 2; k++) {
		ASSERT_EQ(pthread_join(tid[k], NULL), 0);
		ASSERT_EQ(s[k].rc, 1);
	}
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_OK(adma_engine_destroy(&e));
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);
	ASSERT_EQ(atomic_load(&g.ncb), 2 * per);
	for (unsigned k = 1; k < 2 * per; k++)
		ASSERT_GT(g.cb_ticket[k], g.cb_ticket[k - 1]);
	qsort(g.rec, 2 * per, sizeof(g.rec[0]), by_ticket);
	for (unsigned i = 0; i < 2 * per; i++) {
		ASSERT_EQ(atomic_load(&g.rec[i].calls), 1);
		ASSERT_UEQ(g.cb_ticket[i], g.rec[i].ticket);
		ASSERT_LT(g.rec[i].start, g.rec[i].end);
		if (i > 0 && !(g.rec[i - 1].end < g.rec[i].start))
			T_FAILED("ticket %" PRIu64 " started (seq %" PRIu64
				 ") before ticket %" PRIu64 " ended (seq %" PRIu64 ")",
				 g.rec[i].ticket, g.rec[i].start, g.rec[i - 1].ticket,
				 g.rec[i - 1].end);
	}
}

static void run(const struct t_config *c)
{
	test_mixed(c);
	test_two_submitters(c);
}

int main(void)
{
	FOR_EACH_CONFIG (c) {
		if (c->flags & ADMA_CFG_ORDERED)
			run(c);
	}
	t_run_configs(extra_configs, sizeof(extra_configs) / sizeof(extra_configs[0]), run);
	return T_PASS;
}
