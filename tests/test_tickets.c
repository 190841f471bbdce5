/* SPDX-License-Identifier: MIT */
/*
 * Tickets: the first op of a fresh engine gets ticket 1 (0 is never issued), tickets of one
 * batch increase, and each engine counts on its own. Four threads submitting at once (single
 * ops and batches): every ticket is distinct and non-zero, strictly increasing per thread, and
 * each is reported exactly once to a callback; on ORDERED engines the callbacks' tickets
 * arrive strictly increasing. Every configuration.
 */
#include "helpers.h"

#define NTHREADS 4

static struct {
	struct adma_engine *e;
	const struct t_config *c;
	unsigned per;
	uint64_t *tickets;  /* [thread * per + i] */
	uint64_t *cb_order; /* tickets in callback order */
	uint8_t *dst;	    /* 16 bytes per op */
	atomic_uint ncb;
	atomic_int in_cb;
	unsigned cap;
} g;

static void ticket_cb(void *arg, const struct adma_result *res)
{
	unsigned k;
	int prev = atomic_fetch_add(&g.in_cb, 1);

	(void)arg;
	if (g.c->flags & ADMA_CFG_ORDERED)
		CHECK(prev == 0);
	CHECK(res->status == 0);
	k = atomic_fetch_add(&g.ncb, 1);
	CHECK(k < g.cap);
	if (k < g.cap)
		g.cb_order[k] = res->ticket;
	atomic_fetch_sub(&g.in_cb, 1);
}

static void *submitter(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;
	uint64_t *mine = g.tickets + (size_t)t * g.per;
	uint64_t rs = 1000 + t, deadline = t_deadline_s(30);
	static const uint8_t src[16] = { 7 };
	uint8_t *dst = g.dst + (size_t)t * g.per * 16;
	struct adma_op ops[8];
	unsigned spins = 0;

	for (unsigned i = 0; i < g.per;) {
		unsigned b = (unsigned)(t_rand(&rs) % 3 == 0 ? 1 + t_rand(&rs) % 8 : 1);
		int rc;

		if (b > g.per - i)
			b = g.per - i;
		for (unsigned k = 0; k < b; k++) {
			uint8_t *d = dst + (size_t)(i + k) * 16;

			if ((i + k) % 3 == 2)
				adma_prep_fill(&ops[k], d, 16, src, 1);
			else
				adma_prep_copy(&ops[k], d, src, 16);
			adma_op_set_callback(&ops[k], ticket_cb, NULL);
		}
		rc = adma_submit(g.e, ops, b, mine + i);
		if (rc == -EAGAIN) {
			if (t_now_ns() > deadline)
				break;
			if (t_deferred(g.c))
				adma_poll(g.e, NULL, 64);
			t_backoff(&spins);
			continue;
		}
		CHECK(rc >= 1 && rc <= (int)b);
		if (rc < 1)
			break;
		i += (unsigned)rc;
		if (t_deferred(g.c) && i % 16 == 0)
			adma_poll(g.e, NULL, 64);
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_concurrent(const struct t_config *c)
{
	unsigned total;
	pthread_t tid[NTHREADS];
	uint64_t *sorted;

	memset(&g, 0, sizeof(g));
	g.c = c;
	g.per = t_valgrind() ? 300 : 5000;
	total = g.per * NTHREADS;
	g.cap = total;
	g.tickets = calloc(total, sizeof(*g.tickets));
	g.cb_order = calloc(total, sizeof(*g.cb_order));
	sorted = calloc(total, sizeof(*sorted));
	g.dst = calloc(total, 16);
	ASSERT(g.tickets && g.cb_order && sorted && g.dst);
	g.e = t_engine(c, 0, 256);
	for (unsigned t = 0; t < NTHREADS; t++)
		ASSERT_EQ(pthread_create(&tid[t], NULL, submitter, (void *)(uintptr_t)t), 0);
	for (unsigned t = 0; t < NTHREADS; t++)
		ASSERT_EQ(pthread_join(tid[t], NULL), 0);
	ASSERT_EQ(t_drain(g.e), 0);
	ASSERT_OK(adma_engine_destroy(&g.e));
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);

	for (unsigned t = 0; t < NTHREADS; t++) {
		const uint64_t *mine = g.tickets + (size_t)t * g.per;

		for (unsigned i = 0; i < g.per; i++) {
			if (mine[i] == 0)
				T_FAILED("thread %u op %u: ticket 0", t, i);
			if (i > 0 && mine[i] <= mine[i - 1])
				T_FAILED("thread %u: ticket %" PRIu64 " after %" PRIu64, t, mine[i],
					 mine[i - 1]);
		}
	}
	memcpy(sorted, g.tickets, total * sizeof(*sorted));
	qsort(sorted, total, sizeof(*sorted), cmp_u64);
	for (unsigned i = 1; i < total; i++)
		if (sorted[i] == sorted[i - 1])
			T_FAILED("ticket %" PRIu64 " issued twice", sorted[i]);
	ASSERT_UEQ(sorted[0], 1); /* fresh engine */

	/* each ticket reported to exactly one callback */
	ASSERT_EQ(atomic_load(&g.ncb), total);
	if (c->flags & ADMA_CFG_ORDERED)
		t_check_ticket_order(g.cb_order, total);
	qsort(g.cb_order, total, sizeof(*g.cb_order), cmp_u64);
	for (unsigned i = 0; i < total; i++)
		if (g.cb_order[i] != sorted[i])
			T_FAILED("callbacks' tickets differ from submitted ones at %u: %" PRIu64
				 " vs %" PRIu64,
				 i, g.cb_order[i], sorted[i]);
	for (size_t i = 0; i < (size_t)total * 16; i++)
		if (g.dst[i] != (i % 16 == 0 || (i / 16) % g.per % 3 == 2 ? 7 : 0))
			T_FAILED("op %zu: destination byte %zu is %u", i / 16, i % 16, g.dst[i]);
	free(g.tickets);
	free(g.cb_order);
	free(g.dst);
	free(sorted);
}

/* The first ticket is 1; a batch's tickets increase; engines count independently. */
static void test_basics(const struct t_config *c)
{
	struct adma_engine *e1 = t_engine(c, 0, 0), *e2 = t_engine(c, 0, 0);
	uint8_t src[32] = { 1, 2, 3 }, dst[10][32];
	struct adma_op ops[10];
	uint64_t t1 = 0, t2 = 0, tb[5] = { 0 }, prev;

	/* distinct destinations: ops of one batch may run at once */
	for (unsigned k = 0; k < 10; k++)
		adma_prep_copy(&ops[k], dst[k], src, sizeof(src));
	ASSERT_EQ(adma_submit(e1, &ops[5], 1, &t1), 1);
	ASSERT_UEQ(t1, 1);
	ASSERT_EQ(adma_submit(e2, &ops[6], 1, &t2), 1);
	ASSERT_UEQ(t2, 1);
	ASSERT_EQ(adma_submit(e1, ops, 5, tb), 5);
	prev = t1;
	for (unsigned k = 0; k < 5; k++) {
		ASSERT_GT(tb[k], prev);
		prev = tb[k];
	}
	ASSERT_EQ(adma_submit(e2, &ops[7], 1, &t2), 1);
	ASSERT_GT(t2, 1);
	ASSERT_EQ(adma_memcpy(e1, dst[8], src, sizeof(src), NULL, NULL), 0);
	ASSERT_EQ(adma_submit(e1, &ops[9], 1, &t1), 1);
	ASSERT_GT(t1, prev + 1); /* adma_memcpy took a ticket in between */
	ASSERT_EQ(t_drain(e1), 0);
	ASSERT_EQ(t_drain(e2), 0);
	ASSERT_OK(adma_engine_destroy(&e1));
	ASSERT_OK(adma_engine_destroy(&e2));
}

int main(void)
{
	FOR_EACH_CONFIG (c) {
		test_basics(c);
		test_concurrent(c);
	}
	return T_PASS;
}
