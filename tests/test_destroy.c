/* SPDX-License-Identifier: MIT */
/*
 * adma_engine_destroy() drains: with 1000 copies of 64 KiB just submitted, destroy at once;
 * afterwards every callback ran exactly once (deferred ones too: destroy runs the pending
 * callbacks) and every destination is right; with workers held by a gate that another thread
 * opens later, destroy waits; failed and cancelled ops are drained too; callbacks that submit
 * new ops while destroy drains (chains) see those ops complete as well; the pointer is set to
 * NULL; NULL arguments return 0. Every configuration (the gate scenario skips the inline
 * backend, where the gate would block the submitter).
 */
#include "helpers.h"

struct many {
	unsigned n;
	size_t sz;
	uint8_t *src, *dst;
	atomic_int *calls;
	int *status;
};

struct op_arg {
	struct many *m;
	unsigned i;
};

static void many_cb(void *arg, const struct adma_result *res)
{
	struct op_arg *a = arg;

	a->m->status[a->i] = res->status;
	atomic_fetch_add(&a->m->calls[a->i], 1);
}

/* Submits m->n ops with op flags @flags: copies, every 50th a failing custom op. */
static void submit_many(struct adma_engine *e, struct many *m, struct op_arg *args,
			uint64_t *tickets, unsigned flags)
{
	for (unsigned i = 0; i < m->n; i++) {
		struct adma_op op;

		args[i] = (struct op_arg){ m, i };
		if (i % 50 == 49)
			adma_prep_custom(&op, t_op_eio, NULL, NULL, NULL);
		else
			adma_prep_copy(&op, m->dst + (size_t)i * m->sz, m->src, m->sz);
		adma_op_set_callback(&op, many_cb, &args[i]);
		adma_op_set_flags(&op, flags);
		ASSERT_EQ(adma_submit(e, &op, 1, tickets ? &tickets[i] : NULL), 1);
	}
}

static void check_many(struct many *m, const bool *cancelled)
{
	for (unsigned i = 0; i < m->n; i++) {
		bool failing = i % 50 == 49, canc = cancelled && cancelled[i];

		if (atomic_load(&m->calls[i]) != 1)
			T_FAILED("op %u: callback ran %d times", i, atomic_load(&m->calls[i]));
		ASSERT_EQ(m->status[i], canc ? -ECANCELED : failing ? -EIO : 0);
		if (!failing && !canc && memcmp(m->dst + (size_t)i * m->sz, m->src, m->sz) != 0)
			T_FAILED("op %u: destination differs after destroy", i);
	}
}

static struct many *many_new(unsigned n, size_t sz)
{
	struct many *m = calloc(1, sizeof(*m));

	ASSERT(m);
	m->n = n;
	m->sz = sz;
	m->src = malloc(sz);
	m->dst = calloc(n, sz);
	m->calls = calloc(n, sizeof(*m->calls));
	m->status = calloc(n, sizeof(*m->status));
	ASSERT(m->src && m->dst && m->calls && m->status);
	t_fill_random(m->src, sz, n);
	return m;
}

static void many_free(struct many *m)
{
	free(m->src);
	free(m->dst);
	free(m->calls);
	free(m->status);
	free(m);
}

/* 1000 copies of 64 KiB, destroyed at once. */
static void test_in_flight(const struct t_config *c)
{
	struct many *m = many_new(t_valgrind() ? 100 : 1000, t_valgrind() ? 4096 : 64 << 10);
	struct op_arg *args = calloc(m->n, sizeof(*args));
	struct adma_engine *e = t_engine(c, 0, 0);

	ASSERT(args);
	submit_many(e, m, args, NULL, 0);
	ASSERT_OK(adma_engine_destroy(&e));
	ASSERT(e == NULL);
	check_many(m, NULL);
	ASSERT_OK(adma_engine_destroy(&e)); /* *engine NULL */
	free(args);
	many_free(m);
}

/* Workers held; another thread opens the gate later; some queued ops (ADMA_OP_NO_INLINE, so
 * that they wait in the queue) cancelled. */
struct opener {
	struct t_gate *g;
	unsigned ms;
};

static void *opener_main(void *arg)
{
	struct opener *o = arg;

	t_sleep_ms(o->ms);
	atomic_store(&o->g->open, 1);
	return NULL;
}

static void test_held(const struct t_config *c)
{
	struct many *m = many_new(t_valgrind() ? 50 : 500, 4096);
	struct op_arg *args = calloc(m->n, sizeof(*args));
	bool *cancelled = calloc(m->n, sizeof(*cancelled));
	uint64_t *tickets = calloc(m->n, sizeof(*tickets));
	struct adma_engine *e = t_engine(c, 0, 0);
	struct t_gate g = { 0 };
	struct opener o = { &g, 50 };
	pthread_t tid;

	ASSERT(args && cancelled && tickets);
	t_hold_workers(e, c, &g, NULL);
	submit_many(e, m, args, tickets, ADMA_OP_NO_INLINE); /* queued behind the gate */
	for (unsigned i = 3; i < m->n; i += 7) {
		ASSERT_EQ(adma_cancel(e, tickets[i]), 0);
		cancelled[i] = true;
	}
	ASSERT_EQ(pthread_create(&tid, NULL, opener_main, &o), 0);
	ASSERT_OK(adma_engine_destroy(&e));
	ASSERT(e == NULL);
	ASSERT(atomic_load(&g.open)); /* destroy waited for the held ops */
	ASSERT_EQ(pthread_join(tid, NULL), 0);
	check_many(m, cancelled);
	free(args);
	free(cancelled);
	free(tickets);
	many_free(m);
}

/* Callbacks that keep submitting while destroy drains. */
struct chain {
	struct adma_engine *e; /* a copy of the pointer: destroy clears the caller's only */
	unsigned len;
	atomic_uint n;
	atomic_uint calls;
	uint8_t src[64];
	uint8_t (*dst)[64];
};

static void chain_cb(void *arg, const struct adma_result *res)
{
	struct chain *ch = arg;
	unsigned i = atomic_fetch_add(&ch->n, 1);

	CHECK(res->status == 0);
	atomic_fetch_add(&ch->calls, 1);
	if (i + 1 < ch->len) {
		struct adma_op op;

		adma_prep_copy(&op, ch->dst[i + 1], ch->src, sizeof(ch->src));
		adma_op_set_callback(&op, chain_cb, ch);
		CHECK(adma_submit(ch->e, &op, 1, NULL) == 1);
	}
}

static void test_chains(const struct t_config *c)
{
	enum {
		NCHAINS = 8
	};
	unsigned len = t_valgrind() ? 10 : 50;
	struct chain ch[NCHAINS];
	struct adma_engine *e = t_engine(c, 0, 0);

	for (unsigned k = 0; k < NCHAINS; k++) {
		struct adma_op op;

		memset(&ch[k], 0, sizeof(ch[k]));
		ch[k].e = e;
		ch[k].len = len;
		ch[k].dst = calloc(len, sizeof(*ch[k].dst));
		ASSERT(ch[k].dst);
		t_fill_random(ch[k].src, sizeof(ch[k].src), k + 1);
		adma_prep_copy(&op, ch[k].dst[0], ch[k].src, sizeof(ch[k].src));
		adma_op_set_callback(&op, chain_cb, &ch[k]);
		ASSERT_EQ(adma_submit(e, &op, 1, NULL), 1);
	}
	ASSERT_OK(adma_engine_destroy(&e));
	ASSERT(e == NULL);
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);
	for (unsigned k = 0; k < NCHAINS; k++) {
		ASSERT_EQ(atomic_load(&ch[k].calls), len);
		for (unsigned i = 0; i < len; i++)
			if (memcmp(ch[k].dst[i], ch[k].src, sizeof(ch[k].src)) != 0)
				T_FAILED("chain %u op %u: destination differs", k, i);
		free(ch[k].dst);
	}
}

/* Deferred: results never polled before destroy; destroy runs their callbacks. */
static void test_pending_deferred(const struct t_config *c)
{
	struct many *m = many_new(100, 256);
	struct op_arg *args = calloc(m->n, sizeof(*args));
	struct adma_engine *e = t_engine(c, 0, 0);

	ASSERT(args);
	submit_many(e, m, args, NULL, 0);
	ASSERT_EQ(adma_barrier(e, -1), -EIO); /* complete = queued: no callback ran yet */
	for (unsigned i = 0; i < m->n; i++)
		ASSERT_EQ(atomic_load(&m->calls[i]), 0);
	ASSERT_OK(adma_engine_destroy(&e));
	ASSERT(e == NULL);
	check_many(m, NULL);
	free(args);
	many_free(m);
}

int main(void)
{
	ASSERT_OK(adma_engine_destroy(NULL));
	FOR_EACH_CONFIG (c) {
		struct adma_engine *e = t_engine(c, 0, 0);

		ASSERT_OK(adma_engine_destroy(&e)); /* nothing submitted */
		ASSERT(e == NULL);
		test_in_flight(c);
		if (c->backend != ADMA_BACKEND_INLINE)
			test_held(c);
		test_chains(c);
		if (t_deferred(c))
			test_pending_deferred(c);
	}
	return T_PASS;
}
