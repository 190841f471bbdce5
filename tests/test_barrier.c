/* SPDX-License-Identifier: MIT */
/*
 * adma_barrier(): waits for every earlier op (data checked right after it returns; callbacks
 * have run when not deferred, have not when deferred); returns 0 without failures; returns the
 * status of the failed op with the lowest ticket since the previous barrier, whatever order the
 * failures completed in, and reports each failure once; a failure after one barrier is reported
 * by the next; -ETIMEDOUT with a held op keeps the failures for a later barrier; a cancelled op
 * makes it return -ECANCELED; ops submitted after the call began need not complete for it.
 * Every configuration; scenarios that hold workers with a gate skip the inline backend, where
 * the gate would run inside adma_submit() and never return.
 */
#include "helpers.h"

static atomic_int calls;

static void count_cb(void *arg, const struct adma_result *res)
{
	(void)arg;
	(void)res;
	atomic_fetch_add(&calls, 1);
}

/* A custom operator that sleeps fn_arg->ms, then returns fn_arg->ret. */
struct slow {
	unsigned ms;
	long ret;
};

static long op_slow(void *dst, const void *src, void *arg)
{
	const struct slow *s = arg;

	(void)dst, (void)src;
	if (s->ms)
		t_sleep_ms(s->ms);
	return s->ret;
}

/* Every op of this test counts its callback in calls. */
static uint64_t submit_custom(struct adma_engine *e, adma_operator *fn, void *arg)
{
	return t_submit_custom(e, fn, arg, count_cb, NULL);
}

static unsigned hold_workers(struct adma_engine *e, const struct t_config *c, struct t_gate *g)
{
	unsigned n = t_gate_count(c);

	for (unsigned i = 0; i < n; i++)
		submit_custom(e, t_gate_op, g);
	t_gate_wait_entered(g, (int)n);
	return n;
}

/* The barrier waits for every earlier op: data complete right after it returns. */
static void test_waits_for_all(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	unsigned nops = t_valgrind() ? 16 : 64;
	size_t sz = t_valgrind() ? 16 << 10 : 256 << 10;
	uint8_t *src = malloc(sz * nops), *dst = calloc(nops, sz);
	struct adma_op op;

	ASSERT(src && dst);
	atomic_store(&calls, 0);
	ASSERT_EQ(adma_barrier(e, 0), 0); /* nothing submitted */
	ASSERT_EQ(adma_barrier(e, -1), 0);
	t_fill_random(src, sz * nops, 11);
	for (unsigned i = 0; i < nops; i++) {
		adma_prep_copy(&op, dst + i * sz, src + i * sz, sz);
		adma_op_set_callback(&op, count_cb, NULL);
		t_submit1(e, &op);
	}
	ASSERT_EQ(adma_barrier(e, -1), 0);
	for (unsigned i = 0; i < nops; i++)
		if (memcmp(dst + i * sz, src + i * sz, sz) != 0)
			T_FAILED("op %u not complete after the barrier", i);
	if (t_deferred(c))
		ASSERT_EQ(atomic_load(&calls), 0); /* complete = queued for adma_poll() */
	else
		ASSERT_EQ(atomic_load(&calls), nops); /* complete = callback returned */
	ASSERT_EQ(adma_barrier(e, 0), 0);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&calls), nops);
	ASSERT_OK(adma_engine_destroy(&e));
	free(src);
	free(dst);
}

/* Ops 3 and 7 of ten fail; the 3rd completes last. The lowest ticket wins, once. */
static void failures_lowest(const struct t_config *c, long err3, long err7)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	struct slow ok = { 0, 0 }, f3 = { 30, err3 }, f7 = { 0, err7 };
	uint64_t t[11];

	atomic_store(&calls, 0);
	for (unsigned i = 1; i <= 10; i++)
		t[i] = submit_custom(e, op_slow, i == 3 ? &f3 : i == 7 ? &f7 : &ok);
	for (unsigned i = 2; i <= 10; i++)
		ASSERT_GT(t[i], t[i - 1]);
	ASSERT_EQ(adma_barrier(e, -1), (int)err3);
	ASSERT_EQ(adma_barrier(e, -1), 0); /* reported once */
	ASSERT_EQ(adma_barrier(e, 0), 0);
	ASSERT_EQ(adma_wait(e, t[3], 0), (int)err3);
	ASSERT_EQ(adma_wait(e, t[7], 0), (int)err7);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&calls), 10);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* A failure after one barrier is reported by the next one. */
static void test_failure_after_barrier(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	struct slow ok = { 0, 0 }, bad = { 0, -EIO }, bad2 = { 0, -EPERM };

	atomic_store(&calls, 0);
	submit_custom(e, op_slow, &ok);
	ASSERT_EQ(adma_barrier(e, -1), 0);
	submit_custom(e, op_slow, &bad);
	submit_custom(e, op_slow, &ok);
	ASSERT_EQ(adma_barrier(e, -1), -EIO);
	ASSERT_EQ(adma_barrier(e, -1), 0);
	submit_custom(e, op_slow, &ok);
	submit_custom(e, op_slow, &bad2);
	ASSERT_EQ(adma_barrier(e, -1), -EPERM);
	ASSERT_EQ(adma_barrier(e, -1), 0);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&calls), 5);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* -ETIMEDOUT with a held op; the failure before it stays for a later barrier. */
static void test_timeout_keeps_failures(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	struct slow bad = { 0, -EIO };
	struct t_gate g = { 0 };
	uint64_t tf, t0, dt;

	tf = submit_custom(e, op_slow, &bad);
	ASSERT_EQ(adma_wait(e, tf, 10 * SEC), -EIO);
	hold_workers(e, c, &g);
	ASSERT_EQ(adma_barrier(e, 0), -ETIMEDOUT);
	t0 = t_now_ns();
	ASSERT_EQ(adma_barrier(e, 20000000), -ETIMEDOUT);
	dt = t_now_ns() - t0;
	if (dt < 19000000)
		T_FAILED("a 20 ms barrier returned -ETIMEDOUT after %" PRIu64 " ns", dt);
	atomic_store(&g.open, 1);
	ASSERT_EQ(adma_barrier(e, 10 * SEC), -EIO);
	ASSERT_EQ(adma_barrier(e, 10 * SEC), 0);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* A cancelled op counts as a failure with -ECANCELED, by ticket order like any other. */
static void test_cancelled(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	struct slow bad = { 0, -EIO };
	struct t_gate g = { 0 };
	uint8_t src[128], dst[128] = { 0 };
	struct adma_op op;
	uint64_t tx, tf;

	t_fill_random(src, sizeof(src), 5);
	/* cancelled op first, failing op after: -ECANCELED */
	hold_workers(e, c, &g);
	adma_prep_copy(&op, dst, src, sizeof(src));
	adma_op_set_flags(&op, ADMA_OP_NO_INLINE); /* it must wait in the queue to be cancelled */
	tx = t_submit1(e, &op);
	tf = submit_custom(e, op_slow, &bad);
	ASSERT_EQ(adma_cancel(e, tx), 0);
	atomic_store(&g.open, 1);
	ASSERT_EQ(adma_barrier(e, 10 * SEC), -ECANCELED);
	ASSERT_EQ(adma_barrier(e, 10 * SEC), 0);
	ASSERT_EQ(adma_wait(e, tf, 0), -EIO);
	ASSERT_EQ(dst[0], 0);

	/* failing op first, cancelled op after: -EIO */
	atomic_store(&g.open, 0);
	atomic_store(&g.entered, 0);
	hold_workers(e, c, &g);
	tf = submit_custom(e, op_slow, &bad);
	tx = t_submit1(e, &op);
	ASSERT_EQ(adma_cancel(e, tx), 0);
	atomic_store(&g.open, 1);
	ASSERT_EQ(adma_barrier(e, 10 * SEC), -EIO);
	ASSERT_EQ(adma_barrier(e, 10 * SEC), 0);
	ASSERT_EQ(adma_wait(e, tx, 0), -ECANCELED);
	for (size_t i = 0; i < sizeof(dst); i++)
		ASSERT_EQ(dst[i], 0);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* Ops submitted after the barrier call began need not complete for it: the barrier waits on
 * op A (held by gate a) while another thread submits B (held by gate b, opened only after the
 * barrier returned). Loose: B is submitted 100 ms after the barrier thread started. */
struct late {
	struct adma_engine *e;
	struct t_gate *gb;
	atomic_int started;
	atomic_int returned;
	int rc;
};

static void *barrier_thread(void *arg)
{
	struct late *l = arg;

	atomic_store(&l->started, 1);
	l->rc = adma_barrier(l->e, 10 * SEC);
	atomic_store(&l->returned, 1);
	return NULL;
}

static void test_later_ops_not_waited(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	struct t_gate ga = { 0 }, gb = { 0 };
	struct late l = { .e = e, .gb = &gb };
	pthread_t tid;

	hold_workers(e, c, &ga);
	ASSERT_EQ(pthread_create(&tid, NULL, barrier_thread, &l), 0);
	while (!atomic_load(&l.started))
		t_sleep_ms(1);
	t_sleep_ms(t_valgrind() ? 500 : 100);
	ASSERT_EQ(atomic_load(&l.returned), 0);
	submit_custom(e, t_gate_op, &gb); /* after the barrier call began */
	atomic_store(&ga.open, 1);
	ASSERT_EQ(pthread_join(tid, NULL), 0);
	ASSERT_EQ(l.rc, 0);
	atomic_store(&gb.open, 1);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_OK(adma_engine_destroy(&e));
}

int main(void)
{
	FOR_EACH_CONFIG (c) {
		bool threads = c->backend != ADMA_BACKEND_INLINE;

		test_waits_for_all(c);
		failures_lowest(c, -EIO, -ENOSPC);
		failures_lowest(c, -ENOSPC, -EIO);
		test_failure_after_barrier(c);
		if (threads) { /* gates */
			test_timeout_keeps_failures(c);
			test_cancelled(c);
			test_later_ops_not_waited(c);
		}
	}
	return T_PASS;
}
