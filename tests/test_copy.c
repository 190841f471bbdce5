/* SPDX-License-Identifier: MIT */
/*
 * Plain copies under every configuration: many sizes and src/dst offsets, random data checked
 * byte for byte with guard bytes on both sides of the destination; completion learnt through a
 * callback, adma_wait(), adma_memcpy() with and without a callback; n == 0 with NULL pointers;
 * the counters; batches with tickets (strictly increasing) and without.
 */
#include "helpers.h"

#define GUARD 64
#define GUARD_BYTE 0xA5

static void rec_reset(struct t_rec *r)
{
	atomic_store(&r->calls, 0);
	r->ticket = 0;
	r->status = 1;
	r->bytes = (size_t)-1;
}

/* Prepares dbuf for a copy of @src[0..n) to dbuf + GUARD + doff: guards around, and every
 * destination byte different from the byte that must land there. */
static void prepare_dst(uint8_t *dbuf, size_t doff, const uint8_t *src, size_t n)
{
	memset(dbuf, GUARD_BYTE, GUARD + doff);
	for (size_t i = 0; i < n; i++)
		dbuf[GUARD + doff + i] = (uint8_t)~src[i];
	memset(dbuf + GUARD + doff + n, GUARD_BYTE, GUARD);
}

static void check_dst(const uint8_t *dbuf, size_t doff, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < GUARD + doff; i++)
		if (dbuf[i] != GUARD_BYTE)
			T_FAILED("n %zu doff %zu: guard byte %zd before dst overwritten (0x%02x)",
				 n, doff, (ssize_t)i - (ssize_t)(GUARD + doff), dbuf[i]);
	if (memcmp(dbuf + GUARD + doff, src, n) != 0) {
		for (size_t i = 0; i < n; i++)
			if (dbuf[GUARD + doff + i] != src[i])
				T_FAILED("n %zu doff %zu: dst[%zu] = 0x%02x, expected 0x%02x", n,
					 doff, i, dbuf[GUARD + doff + i], src[i]);
	}
	for (size_t i = 0; i < GUARD; i++)
		if (dbuf[GUARD + doff + n + i] != GUARD_BYTE)
			T_FAILED("n %zu doff %zu: guard byte %zu after dst overwritten (0x%02x)", n,
				 doff, i, dbuf[GUARD + doff + n + i]);
}

/* Copies of every size at several offsets, rotating over four ways of learning completion. */
static void test_sizes(const struct t_config *c)
{
	const size_t big1 = t_slow() ? (64u << 10) + 3 : (1u << 20) + 3;
	const size_t big2 = t_slow() ? (256u << 10) + 1 : 16u << 20;
	const size_t sizes[] = { 0, 1, 7, 64, 4095, 4096, 65537, big1, big2 };
	const size_t offs[][2] = { { 0, 0 }, { 1, 3 }, { 13, 0 }, { 0, 63 } }; /* {src, dst} */
	const size_t max_off = 64;
	uint8_t *src = malloc(big2 + max_off);
	uint8_t *dbuf = malloc(big2 + max_off + 2 * GUARD);
	struct adma_engine *e = t_engine(c, 0, 0);
	struct adma_stats before = t_stats(e), after;
	uint64_t nops = 0, nbytes = 0, last_ticket = 0;
	struct t_rec r;

	ASSERT(src != NULL && dbuf != NULL);
	t_fill_random(src, big2 + max_off, 0x5eed);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++) {
			const size_t n = sizes[s], soff = offs[o][0], doff = offs[o][1];
			uint8_t *dst = dbuf + GUARD + doff;
			struct adma_op op;
			uint64_t t = 0;

			prepare_dst(dbuf, doff, src + soff, n);
			rec_reset(&r);
			switch (o % 4) {
			case 0: /* callback + adma_wait */
				adma_prep_copy(&op, dst, src + soff, n);
				adma_op_set_callback(&op, t_rec_cb, &r);
				ASSERT_EQ(adma_submit(e, &op, 1, &t), 1);
				ASSERT_GT(t, last_ticket);
				last_ticket = t;
				ASSERT_EQ(adma_wait(e, t, -1), 0);
				/* Complete means the callback has returned, unless deferred. */
				if (!t_deferred(c))
					ASSERT_EQ(atomic_load(&r.calls), 1);
				check_dst(dbuf, doff, src + soff, n);
				ASSERT_EQ(t_drain(e), 0);
				ASSERT_EQ(atomic_load(&r.calls), 1);
				ASSERT_UEQ(r.ticket, t);
				ASSERT_EQ(r.status, 0);
				ASSERT_UEQ(r.bytes, n);
				/* Waiting again on a long-completed op answers at once. */
				ASSERT_EQ(adma_wait(e, t, 0), 0);
				break;
			case 1: /* no callback, adma_wait only */
				adma_prep_copy(&op, dst, src + soff, n);
				ASSERT_EQ(adma_submit(e, &op, 1, &t), 1);
				ASSERT_GT(t, last_ticket);
				last_ticket = t;
				ASSERT_EQ(adma_wait(e, t, -1), 0);
				check_dst(dbuf, doff, src + soff, n);
				ASSERT_EQ(t_drain(e), 0);
				break;
			case 2: /* adma_memcpy with a callback */
				ASSERT_EQ(adma_memcpy(e, dst, src + soff, n, t_rec_cb, &r), 0);
				ASSERT_EQ(t_drain(e), 0);
				ASSERT_EQ(atomic_load(&r.calls), 1);
				ASSERT_EQ(r.status, 0);
				ASSERT_UEQ(r.bytes, n);
				ASSERT_GT(r.ticket, last_ticket);
				last_ticket = r.ticket;
				check_dst(dbuf, doff, src + soff, n);
				break;
			default: /* adma_memcpy without a callback, then a barrier */
				ASSERT_EQ(adma_memcpy(e, dst, src + soff, n, NULL, NULL), 0);
				ASSERT_EQ(t_drain(e), 0);
				check_dst(dbuf, doff, src + soff, n);
				break;
			}
			nops++;
			nbytes += n;
			ASSERT_EQ(atomic_load(&r.calls), o % 4 == 0 || o % 4 == 2 ? 1 : 0);
		}
	}

	after = t_stats(e);
	ASSERT_UEQ(after.submitted - before.submitted, nops);
	ASSERT_UEQ(after.completed - before.completed, nops);
	ASSERT_UEQ(after.bytes - before.bytes, nbytes);
	ASSERT_UEQ(after.failed - before.failed, 0);
	ASSERT_UEQ(after.cancelled, 0);
	ASSERT_UEQ(after.in_flight, 0);
	ASSERT_UEQ(after.pending, 0);
	if (c->backend == ADMA_BACKEND_INLINE)
		ASSERT_UEQ(after.inlined - before.inlined, nops);
	else
		ASSERT_LE(after.inlined - before.inlined, nops);

	ASSERT_OK(adma_engine_destroy(&e));
	free(src);
	free(dbuf);
}

/* Many copies in flight at once, completed by one barrier: every one lands. */
static void test_many_in_flight(const struct t_config *c)
{
	enum {
		N = 200,
		SZ = 3000
	};
	uint8_t *src = malloc((size_t)N * SZ), *dst = malloc((size_t)N * SZ);
	struct adma_engine *e = t_engine(c, 0, 0);
	struct t_rec *r = calloc(N, sizeof(*r));

	ASSERT(src && dst && r);
	t_fill_random(src, (size_t)N * SZ, 7);
	memset(dst, 0, (size_t)N * SZ);
	for (int i = 0; i < N; i++) {
		size_t n = SZ - (size_t)i; /* a different length each */

		rec_reset(&r[i]);
		ASSERT_EQ(adma_memcpy(e, dst + (size_t)i * SZ, src + (size_t)i * SZ, n, t_rec_cb,
				      &r[i]),
			  0);
	}
	ASSERT_EQ(t_drain(e), 0);
	for (int i = 0; i < N; i++) {
		size_t n = SZ - (size_t)i;

		ASSERT_EQ(atomic_load(&r[i].calls), 1);
		ASSERT_EQ(r[i].status, 0);
		ASSERT_UEQ(r[i].bytes, n);
		ASSERT(memcmp(dst + (size_t)i * SZ, src + (size_t)i * SZ, n) == 0);
		for (size_t k = n; k < SZ; k++)
			ASSERT_EQ(dst[(size_t)i * SZ + k], 0);
	}
	ASSERT_OK(adma_engine_destroy(&e));
	free(src);
	free(dst);
	free(r);
}

/* n == 0 is valid, with NULL pointers too, and completes with status 0 and 0 bytes. */
static void test_zero(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	struct adma_stats before = t_stats(e), after;
	struct t_rec r1, r2, r3;
	struct adma_op op;
	uint64_t t = 0;
	uint8_t byte = 0x11;

	rec_reset(&r1);
	rec_reset(&r2);
	rec_reset(&r3);
	adma_prep_copy(&op, NULL, NULL, 0);
	adma_op_set_callback(&op, t_rec_cb, &r1);
	ASSERT_EQ(adma_submit(e, &op, 1, &t), 1);
	ASSERT_GT(t, 0);
	ASSERT_EQ(adma_wait(e, t, -1), 0);
	ASSERT_EQ(adma_memcpy(e, NULL, NULL, 0, t_rec_cb, &r2), 0);
	ASSERT_EQ(adma_memcpy(e, NULL, NULL, 0, NULL, NULL), 0);
	/* n == 0 with one NULL pointer, and with equal pointers: nothing to overlap. */
	adma_prep_copy(&op, &byte, NULL, 0);
	ASSERT_EQ(adma_submit(e, &op, 1, NULL), 1);
	adma_prep_copy(&op, &byte, &byte, 0);
	adma_op_set_callback(&op, t_rec_cb, &r3);
	ASSERT_EQ(adma_submit(e, &op, 1, NULL), 1);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(byte, 0x11);
	ASSERT_EQ(atomic_load(&r1.calls), 1);
	ASSERT_UEQ(r1.ticket, t);
	ASSERT_EQ(r1.status, 0);
	ASSERT_UEQ(r1.bytes, 0);
	ASSERT_EQ(atomic_load(&r2.calls), 1);
	ASSERT_GT(r2.ticket, t);
	ASSERT_EQ(r2.status, 0);
	ASSERT_UEQ(r2.bytes, 0);
	ASSERT_EQ(atomic_load(&r3.calls), 1);
	ASSERT_EQ(r3.status, 0);
	ASSERT_UEQ(r3.bytes, 0);
	after = t_stats(e);
	ASSERT_UEQ(after.submitted - before.submitted, 5);
	ASSERT_UEQ(after.completed - before.completed, 5);
	ASSERT_UEQ(after.bytes - before.bytes, 0);
	ASSERT_UEQ(after.failed - before.failed, 0);
	ASSERT_OK(adma_engine_destroy(&e));
}

static atomic_int batch_calls;
static atomic_ullong batch_bytes;

static void batch_cb(void *arg, const struct adma_result *res)
{
	(void)arg;
	ASSERT_EQ(res->status, 0);
	atomic_fetch_add(&batch_bytes, res->bytes);
	atomic_fetch_add(&batch_calls, 1);
}

/* A batch of 32 returns 32 with strictly increasing tickets; tickets may be NULL. */
static void test_batch(const struct t_config *c)
{
	enum {
		N = 32
	};
	struct adma_engine *e = t_engine(c, 0, 0);
	struct adma_op ops[N];
	uint64_t tickets[N], first = 0;
	uint8_t *src = malloc(2 * N * 1000 + 16), *dst = malloc(2 * N * 1000 + 16);
	struct adma_stats before = t_stats(e), after;
	uint64_t want_bytes = 0;

	ASSERT(src && dst);
	t_fill_random(src, 2 * N * 1000 + 16, 99);
	memset(dst, 0, 2 * N * 1000 + 16);
	atomic_store(&batch_calls, 0);
	atomic_store(&batch_bytes, 0);

	/* One op before the batch, to its own byte: the batch's tickets come after it. */
	adma_prep_copy(&ops[0], dst + 2 * N * 1000, src + 2 * N * 1000, 1);
	ASSERT_EQ(adma_submit(e, ops, 1, &first), 1);
	want_bytes += 1;

	for (int i = 0; i < N; i++) {
		adma_prep_copy(&ops[i], dst + i * 1000, src + i * 1000, 1000 - (size_t)i);
		adma_op_set_callback(&ops[i], batch_cb, NULL);
		tickets[i] = 0;
		want_bytes += 1000 - (size_t)i;
	}
	ASSERT_EQ(adma_submit(e, ops, N, tickets), N);
	/* The descriptors were copied: scribbling over them now changes nothing. */
	memset(ops, 0, sizeof(ops));
	ASSERT_GT(tickets[0], first);
	for (int i = 1; i < N; i++)
		ASSERT_GT(tickets[i], tickets[i - 1]);
	for (int i = 0; i < N; i++)
		ASSERT_EQ(adma_wait(e, tickets[i], -1), 0);

	/* tickets == NULL is allowed. */
	for (int i = 0; i < N; i++) {
		adma_prep_copy(&ops[i], dst + (N + i) * 1000, src + (N + i) * 1000, 1000);
		adma_op_set_callback(&ops[i], batch_cb, NULL);
		want_bytes += 1000;
	}
	ASSERT_EQ(adma_submit(e, ops, N, NULL), N);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&batch_calls), 2 * N);
	ASSERT_UEQ(atomic_load(&batch_bytes), want_bytes - 1);
	ASSERT_EQ(dst[2 * N * 1000], src[2 * N * 1000]);
	ASSERT_EQ(dst[2 * N * 1000 + 1], 0);
	for (int i = 0; i < N; i++) {
		size_t n = 1000 - (size_t)i;

		ASSERT(memcmp(dst + i * 1000, src + i * 1000, n) == 0);
		for (size_t k = n; k < 1000; k++)
			ASSERT_EQ(dst[i * 1000 + k], 0);
		ASSERT(memcmp(dst + (N + i) * 1000, src + (N + i) * 1000, 1000) == 0);
	}
	after = t_stats(e);
	ASSERT_UEQ(after.submitted - before.submitted, 2 * N + 1);
	ASSERT_UEQ(after.completed - before.completed, 2 * N + 1);
	ASSERT_UEQ(after.bytes - before.bytes, want_bytes);

	/* Tickets go on increasing after a NULL-tickets batch. */
	uint64_t t2 = 0;

	adma_prep_copy(&ops[0], dst + 2 * N * 1000 + 4, src, 10);
	ASSERT_EQ(adma_submit(e, ops, 1, &t2), 1);
	ASSERT_GT(t2, tickets[N - 1] + N - 1);
	ASSERT_EQ(adma_wait(e, t2, -1), 0);
	ASSERT_EQ(t_drain(e), 0);

	ASSERT_OK(adma_engine_destroy(&e));
	free(src);
	free(dst);
}

int main(void)
{
	FOR_EACH_CONFIG (c) {
		test_zero(c);
		test_sizes(c);
		test_many_in_flight(c);
		test_batch(c);
	}
	return T_PASS;
}
