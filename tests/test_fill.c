/* SPDX-License-Identifier: MIT */
/*
 * Fills under every configuration: every pattern length (1, 2, 4, 8, 16), many sizes including
 * a partial last repetition and n < pattern_len, two destination alignments; every byte and the
 * guard bytes around the destination are checked; the pattern is copied at prep time (the
 * caller's buffer is scribbled over and freed before the submit); result bytes == n. Invalid
 * pattern lengths and a NULL pattern are -EINVAL with nothing written.
 */
#include "helpers.h"

#define GUARD 64
#define GUARD_BYTE 0xA5

/* A pattern of @len distinct bytes, none equal to the guard byte. */
static void make_pattern(uint8_t *p, size_t len, unsigned salt)
{
	for (size_t i = 0; i < len; i++) {
		p[i] = (uint8_t)(0x10 + 13 * i + salt);
		if (p[i] == GUARD_BYTE)
			p[i] ^= 0x40;
	}
}

static void check_fill(const uint8_t *dbuf, size_t doff, size_t n, const uint8_t *pat, size_t plen)
{
	const uint8_t *dst = dbuf + GUARD + doff;

	for (size_t i = 0; i < GUARD + doff; i++)
		if (dbuf[i] != GUARD_BYTE)
			T_FAILED("fill n %zu plen %zu doff %zu: guard byte %zd before dst "
				 "overwritten (0x%02x)",
				 n, plen, doff, (ssize_t)i - (ssize_t)(GUARD + doff), dbuf[i]);
	for (size_t i = 0; i < n; i++)
		if (dst[i] != pat[i % plen])
			T_FAILED("fill n %zu plen %zu doff %zu: dst[%zu] = 0x%02x, expected 0x%02x",
				 n, plen, doff, i, dst[i], pat[i % plen]);
	for (size_t i = 0; i < GUARD; i++)
		if (dst[n + i] != GUARD_BYTE)
			T_FAILED("fill n %zu plen %zu doff %zu: guard byte %zu after dst "
				 "overwritten (0x%02x)",
				 n, plen, doff, i, dst[n + i]);
}

static void test_patterns(const struct t_config *c)
{
	const size_t big1 = t_slow() ? (64u << 10) + 3 : (1u << 20) + 3;
	const size_t big2 = t_slow() ? (256u << 10) + 5 : (4u << 20) + 5;
	const size_t sizes[] = { 0,  1,	 2,  3,	 5,   7,    8,	  9,	15,    16,   17,  31,
				 33, 63, 64, 65, 100, 4095, 4096, 4097, 65537, big1, big2 };
	const size_t plens[] = { 1, 2, 4, 8, 16 };
	const size_t doffs[] = { 0, 3, 8 };
	uint8_t *dbuf = malloc(big2 + 16 + 2 * GUARD);
	struct adma_engine *e = t_engine(c, 0, 0);
	struct adma_stats before = t_stats(e), after;
	uint64_t nops = 0, nbytes = 0;
	unsigned salt = 0;

	ASSERT(dbuf != NULL);
	for (size_t p = 0; p < sizeof(plens) / sizeof(plens[0]); p++) {
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			for (size_t o = 0; o < sizeof(doffs) / sizeof(doffs[0]); o++) {
				const size_t plen = plens[p], n = sizes[s], doff = doffs[o];
				uint8_t want[16];
				uint8_t *pat;
				struct adma_op op;
				struct t_rec r = { 0 };
				uint64_t t = 0;

				if (n > (1u << 20) && o != 0)
					continue; /* big sizes once per pattern is enough */
				pat = malloc(plen);
				ASSERT(pat != NULL);
				make_pattern(want, plen, salt++);
				memcpy(pat, want, plen);

				memset(dbuf, GUARD_BYTE, GUARD + doff);
				for (size_t i = 0; i < n;
				     i++) /* every byte differs from its target */
					dbuf[GUARD + doff + i] = (uint8_t)~want[i % plen];
				memset(dbuf + GUARD + doff + n, GUARD_BYTE, GUARD);

				adma_prep_fill(&op, dbuf + GUARD + doff, n, pat, plen);
				/* The pattern was copied into the op: the buffer may go. */
				memset(pat, 0xEE, plen);
				free(pat);
				if (s % 2)
					adma_op_set_callback(&op, t_rec_cb, &r);
				ASSERT_EQ(adma_submit(e, &op, 1, &t), 1);
				ASSERT_EQ(adma_wait(e, t, -1), 0);
				check_fill(dbuf, doff, n, want, plen);
				ASSERT_EQ(t_drain(e), 0);
				if (s % 2) {
					ASSERT_EQ(atomic_load(&r.calls), 1);
					ASSERT_UEQ(r.ticket, t);
					ASSERT_EQ(r.status, 0);
					ASSERT_UEQ(r.bytes, n);
				} else {
					ASSERT_EQ(atomic_load(&r.calls), 0);
				}
				nops++;
				nbytes += n;
			}
		}
	}
	after = t_stats(e);
	ASSERT_UEQ(after.submitted - before.submitted, nops);
	ASSERT_UEQ(after.completed - before.completed, nops);
	ASSERT_UEQ(after.bytes - before.bytes, nbytes);
	ASSERT_UEQ(after.failed - before.failed, 0);
	ASSERT_OK(adma_engine_destroy(&e));
	free(dbuf);
}

/* Several fills in one batch, each with its own pattern, the prep buffer reused between preps. */
static void test_batch(const struct t_config *c)
{
	enum {
		N = 20,
		SZ = 333
	};
	struct adma_engine *e = t_engine(c, 0, 0);
	struct adma_op ops[N];
	uint8_t pat[16], want[N][16];
	uint8_t *dst = calloc(N, SZ);
	const size_t plens[] = { 1, 2, 4, 8, 16 };

	ASSERT(dst != NULL);
	for (int i = 0; i < N; i++) {
		size_t plen = plens[i % 5];

		make_pattern(pat, plen, (unsigned)i * 7);
		memcpy(want[i], pat, plen);
		adma_prep_fill(&ops[i], dst + i * SZ, SZ - (size_t)i, pat, plen);
		memset(pat, 0, sizeof(pat));
	}
	ASSERT_EQ(adma_submit(e, ops, N, NULL), N);
	ASSERT_EQ(t_drain(e), 0);
	for (int i = 0; i < N; i++) {
		size_t plen = plens[i % 5];

		for (size_t k = 0; k < SZ; k++) {
			uint8_t expect = k < SZ - (size_t)i ? want[i][k % plen] : 0;

			if (dst[i * SZ + k] != expect)
				T_FAILED("batch fill %d byte %zu = 0x%02x, expected 0x%02x", i, k,
					 dst[i * SZ + k], expect);
		}
	}
	ASSERT_OK(adma_engine_destroy(&e));
	free(dst);
}

/* n == 0 is valid, even with a NULL destination. */
static void test_zero(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	struct adma_op op;
	struct t_rec r = { 0 };
	const uint8_t pat[4] = { 1, 2, 3, 4 };
	uint64_t t = 0;

	adma_prep_fill(&op, NULL, 0, pat, 4);
	adma_op_set_callback(&op, t_rec_cb, &r);
	ASSERT_EQ(adma_submit(e, &op, 1, &t), 1);
	ASSERT_EQ(adma_wait(e, t, -1), 0);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&r.calls), 1);
	ASSERT_EQ(r.status, 0);
	ASSERT_UEQ(r.bytes, 0);
	ASSERT_OK(adma_engine_destroy(&e));
}

static void test_bad_lengths(const struct t_config *c)
{
	/* 257 and 260 would be 1 and 4 if truncated to 8 bits: they must be rejected too. */
	const size_t bad[] = { 0, 3, 5, 6, 7, 9, 12, 15, 17, 24, 32, 64, 256, 257, 260, SIZE_MAX };
	uint8_t pat[512];
	uint8_t dst[256];
	struct adma_engine *e = t_engine(c, 0, 0);
	struct adma_stats before = t_stats(e), after;
	struct t_rec r = { 0 };
	struct adma_op op;

	memset(pat, 0x3C, sizeof(pat));
	memset(dst, 0x77, sizeof(dst));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* SIZE_MAX: prep must not read that far; its copy is bounded by 16 bytes. */
		adma_prep_fill(&op, dst, 100, pat, bad[i]);
		adma_op_set_callback(&op, t_rec_cb, &r);
		int rc = adma_submit(e, &op, 1, NULL);

		if (rc != -EINVAL)
			T_FAILED("fill with pattern_len %zu: submit returned %d (%s), expected "
				 "-EINVAL",
				 bad[i], rc, adma_strerror(rc));
		ASSERT(strstr(adma_last_error(), "adma") != NULL);
	}
	/* NULL pattern with n > 0. */
	adma_prep_fill(&op, dst, 100, NULL, 4);
	adma_op_set_callback(&op, t_rec_cb, &r);
	ASSERT_ERR(adma_submit(e, &op, 1, NULL), -EINVAL);
	adma_prep_fill(&op, dst, 100, NULL, 1);
	ASSERT_ERR(adma_submit(e, &op, 1, NULL), -EINVAL);
	/* NULL destination with n > 0. */
	adma_prep_fill(&op, NULL, 100, pat, 4);
	adma_op_set_callback(&op, t_rec_cb, &r);
	ASSERT_ERR(adma_submit(e, &op, 1, NULL), -EINVAL);
	/* A destination range that wraps around the address space. */
	adma_prep_fill(&op, (void *)(UINTPTR_MAX - 10), 100, pat, 4);
	ASSERT_ERR(adma_submit(e, &op, 1, NULL), -EINVAL);

	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&r.calls), 0);
	for (size_t i = 0; i < sizeof(dst); i++)
		ASSERT_EQ(dst[i], 0x77);
	after = t_stats(e);
	ASSERT_UEQ(after.submitted, before.submitted);
	ASSERT_UEQ(after.completed, before.completed);
	ASSERT_OK(adma_engine_destroy(&e));
}

int main(void)
{
	FOR_EACH_CONFIG (c) {
		test_zero(c);
		test_patterns(c);
		test_batch(c);
		test_bad_lengths(c);
	}
	return T_PASS;
}
