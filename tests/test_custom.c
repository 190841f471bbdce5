/* SPDX-License-Identifier: MIT */
/*
 * Custom operators under every configuration: the return value becomes result.bytes (status
 * 0), a negative errno becomes the status (bytes 0, counted as failed, reported by wait, the
 * callback and the barrier); the operator receives exactly dst, src and fn_arg (passed through
 * untouched, even when they are not real buffers); it runs on a worker (another thread) on the
 * threads backend and in the submitting thread on the inline backend; exactly once per op;
 * a NULL operator is -EINVAL.
 */
#include "helpers.h"

/* What an operator saw, and what it should do. */
struct ctx {
	atomic_int calls;
	void *dst;
	const void *src;
	void *arg;
	pthread_t thread;
	size_t copy; /* bytes to copy from src to dst (0: touch nothing) */
	long ret;    /* the value to return */
};

static long op_record(void *dst, const void *src, void *arg)
{
	struct ctx *x = arg;

	x->dst = dst;
	x->src = src;
	x->arg = arg;
	x->thread = pthread_self();
	if (x->copy)
		memcpy(dst, src, x->copy);
	atomic_fetch_add(&x->calls, 1);
	return x->ret;
}

static void ctx_init(struct ctx *x, size_t copy, long ret)
{
	memset(x, 0, sizeof(*x));
	x->copy = copy;
	x->ret = ret;
}

/* Submits op_record(dst, src, x) with a callback, waits, drains; checks what the op saw. */
static void run_one(struct adma_engine *e, const struct t_config *c, void *dst, const void *src,
		    struct ctx *x, int want_status, size_t want_bytes)
{
	struct adma_op op;
	struct t_rec r = { 0 };
	uint64_t t = 0;

	adma_prep_custom(&op, op_record, dst, src, x);
	adma_op_set_callback(&op, t_rec_cb, &r);
	ASSERT_EQ(adma_submit(e, &op, 1, &t), 1);
	ASSERT_EQ(adma_wait(e, t, -1), want_status);
	ASSERT_EQ(atomic_load(&x->calls), 1);
	if (!t_deferred(c))
		ASSERT_EQ(atomic_load(&r.calls), 1);
	ASSERT_EQ(t_drain(e), want_status); /* the barrier reports the failure, once */
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&r.calls), 1);
	ASSERT_EQ(atomic_load(&x->calls), 1);
	ASSERT_UEQ(r.ticket, t);
	ASSERT_EQ(r.status, want_status);
	ASSERT_UEQ(r.bytes, want_bytes);
	ASSERT_PTR_EQ(x->dst, dst);
	ASSERT_PTR_EQ(x->src, src);
	ASSERT_PTR_EQ(x->arg, x);
	if (c->backend == ADMA_BACKEND_INLINE)
		ASSERT(pthread_equal(x->thread, pthread_self()));
	else
		ASSERT(!pthread_equal(x->thread, pthread_self()));
	/* Waiting again answers at once with the same status. */
	ASSERT_EQ(adma_wait(e, t, 0), want_status);
}

static void test_results(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	struct adma_stats before = t_stats(e), after;
	uint8_t src[100], dst[100];
	struct ctx x;

	/* An operator that copies 100 bytes and says so. */
	t_fill_random(src, sizeof(src), 3);
	memset(dst, 0, sizeof(dst));
	ctx_init(&x, sizeof(src), (long)sizeof(src));
	run_one(e, c, dst, src, &x, 0, sizeof(src));
	ASSERT(memcmp(dst, src, sizeof(src)) == 0);

	/* Whatever it returns (>= 0) is the result's bytes. */
	ctx_init(&x, 0, 12345);
	run_one(e, c, dst, src, &x, 0, 12345);
	ctx_init(&x, 0, 0);
	run_one(e, c, dst, src, &x, 0, 0);

	/* dst and src are passed through untouched: NULL, equal, not even real buffers. */
	ctx_init(&x, 0, 7);
	run_one(e, c, NULL, NULL, &x, 0, 7);
	ctx_init(&x, 0, 1);
	run_one(e, c, (void *)(uintptr_t)0x1000, (const void *)(uintptr_t)0x2000, &x, 0, 1);
	ctx_init(&x, 0, 2);
	run_one(e, c, dst, dst, &x, 0, 2);

	after = t_stats(e);
	ASSERT_UEQ(after.submitted - before.submitted, 6);
	ASSERT_UEQ(after.completed - before.completed, 6);
	ASSERT_UEQ(after.failed - before.failed, 0);
	ASSERT_UEQ(after.bytes - before.bytes, 100 + 12345 + 0 + 7 + 1 + 2);

	/* A negative errno becomes the status; nothing counts as written. */
	before = after;
	ctx_init(&x, 0, -EIO);
	run_one(e, c, dst, src, &x, -EIO, 0);
	ctx_init(&x, 0, -ENOSPC);
	run_one(e, c, NULL, NULL, &x, -ENOSPC, 0);
	after = t_stats(e);
	ASSERT_UEQ(after.submitted - before.submitted, 2);
	ASSERT_UEQ(after.completed - before.completed, 2);
	ASSERT_UEQ(after.failed - before.failed, 2);
	ASSERT_UEQ(after.bytes - before.bytes, 0);
	ASSERT_UEQ(after.in_flight, 0);
	ASSERT_OK(adma_engine_destroy(&e));
}

static long op_count(void *dst, const void *src, void *arg)
{
	atomic_int *slot = dst;

	(void)src;
	atomic_fetch_add(slot, 1);
	atomic_fetch_add((atomic_int *)arg, 1);
	return (long)sizeof(*slot);
}

/* A batch of custom ops, each with its own dst: every one runs exactly once. */
static void test_batch(const struct t_config *c)
{
	enum {
		N = 64
	};
	struct adma_engine *e = t_engine(c, 0, 0);
	struct adma_op ops[N];
	atomic_int slots[N], total;
	struct t_rec r[N];

	memset(r, 0, sizeof(r));
	atomic_store(&total, 0);
	for (int i = 0; i < N; i++) {
		atomic_store(&slots[i], 0);
		adma_prep_custom(&ops[i], op_count, &slots[i], NULL, &total);
		adma_op_set_callback(&ops[i], t_rec_cb, &r[i]);
	}
	ASSERT_EQ(adma_submit(e, ops, N, NULL), N);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&total), N);
	for (int i = 0; i < N; i++) {
		ASSERT_EQ(atomic_load(&slots[i]), 1);
		ASSERT_EQ(atomic_load(&r[i].calls), 1);
		ASSERT_EQ(r[i].status, 0);
		ASSERT_UEQ(r[i].bytes, sizeof(atomic_int));
	}
	ASSERT_OK(adma_engine_destroy(&e));
}

/* A failing op between good ones fails alone; the barrier reports the lowest failed ticket. */
static void test_mixed_failures(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	struct ctx x[5];
	struct adma_op ops[5];
	uint64_t t[5];
	const long rets[5] = { 1, -EIO, 2, -EPERM, 3 };

	for (int i = 0; i < 5; i++) {
		ctx_init(&x[i], 0, rets[i]);
		adma_prep_custom(&ops[i], op_record, NULL, NULL, &x[i]);
	}
	ASSERT_EQ(adma_submit(e, ops, 5, t), 5);
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(adma_wait(e, t[i], -1), rets[i] < 0 ? rets[i] : 0);
	ASSERT_EQ(t_drain(e), -EIO);
	ASSERT_EQ(t_drain(e), 0);
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(atomic_load(&x[i].calls), 1);
	ASSERT_UEQ(t_stats(e).failed, 2);
	ASSERT_OK(adma_engine_destroy(&e));
}

static void test_null_fn(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	struct adma_stats before = t_stats(e), after;
	struct t_rec r = { 0 };
	struct adma_op op;
	int x = 0;

	adma_prep_custom(&op, NULL, &x, &x, &x);
	adma_op_set_callback(&op, t_rec_cb, &r);
	ASSERT_ERR(adma_submit(e, &op, 1, NULL), -EINVAL);
	ASSERT(strstr(adma_last_error(), "adma") != NULL);
	adma_prep_custom(&op, NULL, NULL, NULL, NULL);
	ASSERT_ERR(adma_submit(e, &op, 1, NULL), -EINVAL);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&r.calls), 0);
	after = t_stats(e);
	ASSERT_UEQ(after.submitted, before.submitted);
	ASSERT_UEQ(after.completed, before.completed);
	ASSERT_OK(adma_engine_destroy(&e));
}

int main(void)
{
	FOR_EACH_CONFIG (c) {
		test_results(c);
		test_batch(c);
		test_mixed_failures(c);
		test_null_fn(c);
	}
	return T_PASS;
}
