/* SPDX-License-Identifier: MIT */
/*
 * The backlog (ops submitted and not yet complete). With workers held by gate ops and a
 * backlog of 4 (one more than the ops that hold every worker plus two, with 4 workers), and the
 * copies behind them marked ADMA_OP_NO_INLINE so that they wait in the queue rather than run
 * inside adma_submit(): the op that finds it full gets -EAGAIN; a batch of 6 with 2 slots free
 * returns 2 (the rejected ops never run, never call back); ADMA_CFG_BLOCK_WHEN_FULL:
 * submitting threads block (still blocked after 50 ms), opening the gate lets them finish, and
 * all their ops complete; from a callback of such an engine with a full backlog adma_submit()
 * returns -EAGAIN rather than blocking. stats.backlog_peak never exceeds the backlog, also
 * under 4 threads hammering a backlog of 16 (every configuration). On the inline backend every
 * op completes inside adma_submit(), so single submits never find it full; gate scenarios skip
 * it (the gate would never return there).
 */
#include "helpers.h"

#define OPSZ 512

static void count_cb(void *arg, const struct adma_result *res)
{
	atomic_int *calls = arg;

	CHECK(res->status == 0);
	atomic_fetch_add(calls, 1);
}

static void submit_gate(struct adma_engine *e, struct t_gate *g, adma_callback *cb, void *arg,
			uint64_t *t)
{
	struct adma_op op;

	adma_prep_custom(&op, t_gate_op, NULL, NULL, g);
	adma_op_set_callback(&op, cb, arg);
	ASSERT_EQ(adma_submit(e, &op, 1, t), 1);
}

static void check_peak(struct adma_engine *e, unsigned backlog, bool reached)
{
	struct adma_stats st;

	ASSERT_OK(adma_stats(e, &st));
	ASSERT_UEQ(st.backlog, backlog);
	ASSERT_LE(st.backlog_peak, backlog);
	if (reached)
		ASSERT_UEQ(st.backlog_peak, backlog);
}

/* Full: -EAGAIN, and a batch takes the free prefix. */
static void test_full(const struct t_config *c)
{
	unsigned ng = t_gate_count(c), b = ng + 2 > 4 ? ng + 2 : 4;
	struct adma_engine *e = t_engine(c, 0, b);
	uint8_t src[OPSZ], dst[8][OPSZ];
	atomic_int calls[8];
	struct t_gate g = { 0 };
	struct adma_op ops[8];
	uint64_t t[8];
	struct adma_stats st;
	unsigned nfill = b - ng - 2;

	t_fill_random(src, sizeof(src), 1);
	memset(dst, 0, sizeof(dst));
	for (unsigned i = 0; i < 8; i++) {
		atomic_init(&calls[i], 0);
		adma_prep_copy(&ops[i], dst[i], src, OPSZ);
		adma_op_set_callback(&ops[i], count_cb, &calls[i]);
		adma_op_set_flags(&ops[i], ADMA_OP_NO_INLINE); /* they wait behind the gate */
	}
	t_hold_workers(e, c, &g, NULL);
	for (unsigned i = 0; i < nfill; i++)
		ASSERT_EQ(adma_submit(e, &ops[i], 1, NULL), 1);
	/* two slots free: a batch of six takes two */
	for (unsigned i = 0; i < 8; i++)
		t[i] = 0;
	ASSERT_EQ(adma_submit(e, &ops[nfill], 6, t), 2);
	ASSERT(t[0] != 0 && t[1] > t[0]);
	/* full */
	ASSERT_ERR(adma_submit(e, &ops[nfill + 2], 1, NULL), -EAGAIN);
	ASSERT_ERR(adma_submit(e, &ops[nfill + 2], 3, NULL), -EAGAIN);
	ASSERT_ERR(adma_memcpy(e, dst[7], src, OPSZ, NULL, NULL), -EAGAIN);
	ASSERT_OK(adma_stats(e, &st));
	ASSERT_UEQ(st.in_flight, b);
	ASSERT_UEQ(st.submitted, b);
	check_peak(e, b, true);

	atomic_store(&g.open, 1);
	ASSERT_EQ(t_drain(e), 0);
	for (unsigned i = 0; i < 8; i++) {
		bool accepted = i < nfill + 2;

		ASSERT_EQ(atomic_load(&calls[i]), accepted ? 1 : 0);
		for (unsigned k = 0; k < OPSZ; k++)
			if (dst[i][k] != (accepted ? src[k] : 0))
				T_FAILED("op %u (%s) byte %u = 0x%02x", i,
					 accepted ? "accepted" : "rejected", k, dst[i][k]);
	}
	/* room again */
	ASSERT_EQ(adma_submit(e, ops, 4, NULL), 4); /* b >= 4 */
	ASSERT_EQ(t_drain(e), 0);
	check_peak(e, b, true);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* ADMA_CFG_BLOCK_WHEN_FULL: submitters wait for room. */
struct blocked {
	struct adma_engine *e;
	struct adma_op *ops;
	unsigned n;
	int rc;
	atomic_int returned;
};

static void *blocked_submitter(void *arg)
{
	struct blocked *b = arg;

	b->rc = adma_submit(b->e, b->ops, b->n, NULL);
	atomic_store(&b->returned, 1);
	return NULL;
}

static void test_block(const struct t_config *c)
{
	unsigned ng = t_gate_count(c), b = ng + 2 > 4 ? ng + 2 : 4;
	struct adma_engine *e = t_engine(c, ADMA_CFG_BLOCK_WHEN_FULL, b);
	uint8_t src[OPSZ], dst[16][OPSZ];
	atomic_int calls = 0;
	struct t_gate g = { 0 };
	struct adma_op ops[16];
	struct blocked b1, b2;
	pthread_t t1, t2;
	uint64_t deadline;
	unsigned nfill = b - ng;

	t_fill_random(src, sizeof(src), 2);
	memset(dst, 0, sizeof(dst));
	for (unsigned i = 0; i < 16; i++) {
		adma_prep_copy(&ops[i], dst[i], src, OPSZ);
		adma_op_set_callback(&ops[i], count_cb, &calls);
		adma_op_set_flags(&ops[i], ADMA_OP_NO_INLINE); /* they wait behind the gate */
	}
	t_hold_workers(e, c, &g, NULL);
	/* fill up */
	ASSERT_EQ(adma_submit(e, ops, nfill, NULL), (int)nfill);
	b1 = (struct blocked){ .e = e, .ops = &ops[nfill], .n = 6 };
	b2 = (struct blocked){ .e = e, .ops = &ops[nfill + 6], .n = 1 };
	ASSERT_EQ(pthread_create(&t1, NULL, blocked_submitter, &b1), 0);
	ASSERT_EQ(pthread_create(&t2, NULL, blocked_submitter, &b2), 0);
	t_sleep_ms(50);
	ASSERT_EQ(atomic_load(&b1.returned), 0);
	ASSERT_EQ(atomic_load(&b2.returned), 0);
	atomic_store(&g.open, 1);
	deadline = t_deadline_s(10);
	while ((!atomic_load(&b1.returned) || !atomic_load(&b2.returned)) && t_now_ns() < deadline)
		t_sleep_ms(1);
	ASSERT_EQ(atomic_load(&b1.returned), 1);
	ASSERT_EQ(atomic_load(&b2.returned), 1);
	ASSERT_EQ(pthread_join(t1, NULL), 0);
	ASSERT_EQ(pthread_join(t2, NULL), 0);
	ASSERT_EQ(b1.rc, 6);
	ASSERT_EQ(b2.rc, 1);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&calls), (int)nfill + 7);
	for (unsigned i = 0; i < nfill + 7; i++)
		ASSERT(memcmp(dst[i], src, OPSZ) == 0);
	check_peak(e, b, true);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* From a callback of a BLOCK_WHEN_FULL engine whose backlog is full: -EAGAIN, no blocking.
 * Op X (held by gate gx) carries the callback; gate ga holds the other workers and every
 * other slot. Without deferred callbacks X still counts while its callback runs (complete =
 * callback returned); with deferred ones X's slot is free when its callback runs in
 * adma_poll(), so one more op fills it first. The callback runs in a helper thread so that a
 * submit that blocked could be released (by opening ga) and reported. */
struct in_cb {
	struct adma_engine *e;
	uint8_t src[64], dst[64];
	int rc;
	atomic_int ran;
};

static void try_submit_cb(void *arg, const struct adma_result *res)
{
	struct in_cb *x = arg;
	struct adma_op op;

	CHECK(res->status == 0);
	adma_prep_copy(&op, x->dst, x->src, sizeof(x->src));
	x->rc = adma_submit(x->e, &op, 1, NULL);
	t_publish(&x->ran, 1);
}

static void *poll_thread(void *arg)
{
	struct in_cb *x = arg;
	uint64_t deadline = t_deadline_s(10);

	while (!atomic_load(&x->ran) && t_now_ns() < deadline) {
		adma_poll(x->e, NULL, UINT32_MAX);
		t_sleep_ms(1);
	}
	return NULL;
}

static void test_block_in_callback(const struct t_config *c)
{
	unsigned ng = t_gate_count(c), b = ng + 3;
	struct adma_engine *e = t_engine(c, ADMA_CFG_BLOCK_WHEN_FULL, b);
	struct t_gate ga = { 0 }, gx = { 0 };
	struct in_cb x = { .e = e };
	uint64_t tx, deadline;
	pthread_t tid;
	bool ran;

	t_fill_random(x.src, sizeof(x.src), 3);
	submit_gate(e, &gx, try_submit_cb, &x, &tx);
	for (unsigned i = 1; i < b; i++)
		submit_gate(e, &ga, NULL, NULL, NULL);
	t_gate_wait_entered(&gx, 1);
	t_gate_wait_entered(&ga, (int)ng - 1);
	check_peak(e, b, true);

	atomic_store(&gx.open, 1);
	if (t_deferred(c)) {
		ASSERT_EQ(adma_wait(e, tx, 10 * SEC), 0);
		/* X's worker now holds another ga op; one slot is free: fill it */
		submit_gate(e, &ga, NULL, NULL, NULL);
		ASSERT_EQ(pthread_create(&tid, NULL, poll_thread, &x), 0);
	}
	deadline = t_deadline_s(10);
	while (!atomic_load(&x.ran) && t_now_ns() < deadline)
		t_sleep_ms(1);
	ran = t_observe(&x.ran);
	atomic_store(&ga.open, 1); /* releases a blocked callback too */
	if (t_deferred(c))
		ASSERT_EQ(pthread_join(tid, NULL), 0);
	if (!ran)
		T_FAILED("adma_submit from a callback with a full backlog blocked (%s)",
			 "BLOCK_WHEN_FULL");
	ASSERT_EQ(x.rc, -EAGAIN);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);
	check_peak(e, b, true);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* Inline: every op completes inside adma_submit(), so the backlog never stays full. */
static void test_inline(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 4);
	uint8_t src[OPSZ], dst[OPSZ];
	atomic_int calls = 0;
	struct adma_op op;

	t_fill_random(src, sizeof(src), 4);
	adma_prep_copy(&op, dst, src, OPSZ);
	adma_op_set_callback(&op, count_cb, &calls);
	for (unsigned i = 0; i < 20; i++)
		ASSERT_EQ(adma_submit(e, &op, 1, NULL), 1);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&calls), 20);
	check_peak(e, 4, false);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* Four threads against a backlog of 16; a sampler checks in_flight <= 16. */
struct hammer {
	struct adma_engine *e;
	const struct t_config *c;
	bool block;
	unsigned per;
	uint8_t *src, *dst;
	atomic_int calls;
	atomic_int done;
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	static atomic_uint next;
	unsigned me = atomic_fetch_add(&next, 1) % 4;
	uint64_t deadline = t_deadline_s(30);

	for (unsigned i = 0; i < h->per; i++) {
		struct adma_op op;
		int rc;

		adma_prep_copy(&op, h->dst + ((size_t)me * h->per + i) * 64, h->src, 64);
		adma_op_set_callback(&op, count_cb, &h->calls);
		unsigned spins = 0;

		while ((rc = adma_submit(h->e, &op, 1, NULL)) == -EAGAIN && !h->block &&
		       t_now_ns() < deadline) {
			if (t_deferred(h->c))
				adma_poll(h->e, NULL, 64);
			t_backoff(&spins);
		}
		CHECK(rc == 1);
		if (rc != 1)
			break;
	}
	atomic_fetch_add(&h->done, 1);
	return NULL;
}

static void test_hammer(const struct t_config *c, bool block)
{
	struct hammer h = { .c = c, .block = block, .per = t_valgrind() ? 100 : 2000 };
	pthread_t tid[4];
	struct adma_stats st;
	unsigned spins = 0;

	h.e = t_engine(c, block ? ADMA_CFG_BLOCK_WHEN_FULL : 0, 16);
	h.src = malloc(64);
	h.dst = calloc(4 * h.per, 64);
	ASSERT(h.src && h.dst);
	t_fill_random(h.src, 64, 5);
	for (unsigned i = 0; i < 4; i++)
		ASSERT_EQ(pthread_create(&tid[i], NULL, hammer_main, &h), 0);
	while (atomic_load(&h.done) < 4) {
		ASSERT_OK(adma_stats(h.e, &st));
		ASSERT_LE(st.in_flight, 16);
		ASSERT_LE(st.backlog_peak, 16);
		if (t_deferred(c))
			adma_poll(h.e, NULL, 64);
		t_backoff(&spins);
	}
	for (unsigned i = 0; i < 4; i++)
		ASSERT_EQ(pthread_join(tid[i], NULL), 0);
	ASSERT_EQ(t_drain(h.e), 0);
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);
	ASSERT_EQ(atomic_load(&h.calls), (int)(4 * h.per));
	for (size_t i = 0; i < 4 * (size_t)h.per; i++)
		ASSERT(memcmp(h.dst + i * 64, h.src, 64) == 0);
	check_peak(h.e, 16, false);
	ASSERT_OK(adma_engine_destroy(&h.e));
	free(h.src);
	free(h.dst);
}

int main(void)
{
	FOR_EACH_CONFIG (c) {
		if (c->backend == ADMA_BACKEND_INLINE) {
			test_inline(c);
		} else {
			test_full(c);
			test_block(c);
			test_block_in_callback(c);
		}
		test_hammer(c, false);
		test_hammer(c, true);
	}
	return T_PASS;
}
