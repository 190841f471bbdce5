/* SPDX-License-Identifier: MIT */
/*
 * Calls that could never return from inside the engine: adma_wait(), adma_barrier() and
 * adma_engine_destroy() called from a callback of the same engine return -EDEADLK (deferred
 * callbacks too, from inside adma_poll()), whatever the timeout and whether the awaited op is
 * done or not; destroy leaves the engine alone (the pointer is not cleared, the engine keeps
 * working). The same from a custom operator of the same engine (threads backends; on the
 * inline backend the operator runs inside adma_submit()). On a different engine, from a
 * callback or an operator, adma_wait() and adma_barrier() work. Every configuration.
 * Where a call that should fail at once might wait instead, it is given a short timeout, so
 * that a regression shows as -ETIMEDOUT rather than a hang.
 */
#include "helpers.h"

#define SHORT_NS 100000000LL /* 100 ms */

struct probe {
	struct adma_engine *e;	   /* the engine it runs in */
	struct adma_engine *other; /* another engine, or NULL */
	uint64_t done_ticket;	   /* an op of e that completed */
	int rc_wait_self, rc_wait_done, rc_wait_done_forever, rc_barrier, rc_barrier_test;
	int rc_destroy;
	struct adma_engine *after_destroy;
	int rc_other_wait, rc_other_barrier;
	uint8_t src[256], dst[256], scratch[16];
	atomic_int ran;
};

static void probe_run(struct probe *p, uint64_t self)
{
	struct adma_engine *copy = p->e;

	if (self)
		p->rc_wait_self = adma_wait(p->e, self, SHORT_NS);
	p->rc_wait_done = adma_wait(p->e, p->done_ticket, 0);
	p->rc_wait_done_forever = adma_wait(p->e, p->done_ticket, -1);
	p->rc_barrier = adma_barrier(p->e, SHORT_NS);
	p->rc_barrier_test = adma_barrier(p->e, 0);
	p->rc_destroy = adma_engine_destroy(&copy);
	p->after_destroy = copy;
	if (p->other) {
		struct adma_op op;
		uint64_t t = 0;
		int rc;

		adma_prep_copy(&op, p->dst, p->src, sizeof(p->src));
		rc = adma_submit(p->other, &op, 1, &t);
		p->rc_other_wait = rc == 1 ? adma_wait(p->other, t, 30 * SEC) : rc - 1000;
		p->rc_other_barrier = adma_barrier(p->other, 30 * SEC);
	}
	t_publish(&p->ran, 1);
}

static void probe_cb(void *arg, const struct adma_result *res)
{
	probe_run(arg, res->ticket);
}

static long probe_op(void *dst, const void *src, void *arg)
{
	(void)dst, (void)src;
	probe_run(arg, 0); /* its own ticket is not known here: done_ticket and barriers */
	return 0;
}

static void check_probe(const struct probe *p, bool self_checked)
{
	ASSERT_EQ(t_observe(&p->ran), 1);
	if (self_checked)
		ASSERT_ERR(p->rc_wait_self, -EDEADLK);
	ASSERT_ERR(p->rc_wait_done, -EDEADLK);
	ASSERT_ERR(p->rc_wait_done_forever, -EDEADLK);
	ASSERT_ERR(p->rc_barrier, -EDEADLK);
	ASSERT_ERR(p->rc_barrier_test, -EDEADLK);
	ASSERT_ERR(p->rc_destroy, -EDEADLK);
	ASSERT_PTR_EQ(p->after_destroy, p->e);
	if (p->other) {
		ASSERT_EQ(p->rc_other_wait, 0);
		ASSERT_EQ(p->rc_other_barrier, 0);
		ASSERT(memcmp(p->dst, p->src, sizeof(p->src)) == 0);
	}
}

static uint64_t done_op(struct adma_engine *e)
{
	static uint8_t s[32], d[32];
	struct adma_op op;
	uint64_t t = 0;

	adma_prep_copy(&op, d, s, sizeof(s));
	ASSERT_EQ(adma_submit(e, &op, 1, &t), 1);
	ASSERT_EQ(adma_wait(e, t, -1), 0);
	return t;
}

/* Polls (for deferred engines) until the probe ran; bounded. */
static void wait_ran(struct adma_engine *e, struct probe *p)
{
	uint64_t deadline = t_deadline_s(30);

	while (!t_observe(&p->ran) && t_now_ns() < deadline) {
		adma_poll(e, NULL, UINT32_MAX);
		t_sleep_ms(1);
	}
}

static void test_from_callback(const struct t_config *c, struct adma_engine *other)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	struct probe p = { .e = e, .other = other };
	struct adma_op op;

	t_fill_random(p.src, sizeof(p.src), 1);
	p.done_ticket = done_op(e);
	adma_prep_copy(&op, p.scratch, p.src, sizeof(p.scratch));
	adma_op_set_callback(&op, probe_cb, &p);
	ASSERT_EQ(adma_submit(e, &op, 1, NULL), 1);
	wait_ran(e, &p);
	check_probe(&p, true);
	/* the engine still works */
	ASSERT_EQ(t_drain(e), 0);
	done_op(e);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_OK(adma_engine_destroy(&e));
	ASSERT(e == NULL);
}

static void test_from_operator(const struct t_config *c, struct adma_engine *other)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	struct probe p = { .e = e, .other = other };
	struct adma_op op;
	uint64_t t = 0;

	t_fill_random(p.src, sizeof(p.src), 2);
	p.done_ticket = done_op(e);
	adma_prep_custom(&op, probe_op, NULL, NULL, &p);
	ASSERT_EQ(adma_submit(e, &op, 1, &t), 1);
	wait_ran(e, &p);
	check_probe(&p, false);
	ASSERT_EQ(adma_wait(e, t, 30 * SEC), 0);
	ASSERT_EQ(t_drain(e), 0);
	done_op(e);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_OK(adma_engine_destroy(&e));
	ASSERT(e == NULL);
}

int main(void)
{
	FOR_EACH_CONFIG (c) {
		struct adma_engine *other;

		test_from_callback(c, NULL);
		test_from_operator(c, NULL);
		/* a different engine: the same configuration, then a plain threads one */
		other = t_engine(c, 0, 0);
		test_from_callback(c, other);
		test_from_operator(c, other);
		ASSERT_OK(adma_engine_destroy(&other));
		other = t_engine(&t_configs[1], 0, 0);
		test_from_callback(c, other);
		test_from_operator(c, other);
		ASSERT_OK(adma_engine_destroy(&other));
	}
	return T_PASS;
}
