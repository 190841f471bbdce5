/* SPDX-License-Identifier: MIT */
/*
 * Scatter-gather copies under every configuration: 1, 3 and 100 entries of mixed sizes
 * (0-size entries, with NULL pointers too), one completion whose bytes are the sum, every
 * destination byte and every byte between the entries checked; count 0 completes with 0
 * bytes; bad entries and a NULL array are -EINVAL with nothing written and nothing queued.
 */
#include "helpers.h"

#define GAP 32
#define GUARD_BYTE 0xA5

/*
 * One scatter-gather op over @count entries of the given sizes. Destinations are laid out in
 * dbuf in a shuffled order with GAP guard bytes around each; sources come from a separate
 * random buffer at odd offsets. Entries with size 0 and (i % 2) get NULL pointers.
 */
static void run_sg(struct adma_engine *e, const struct t_config *c, const size_t *sizes,
		   size_t count, uint64_t seed)
{
	size_t total = 0, dlen = GAP, slen = 0;
	struct adma_sge *sg = calloc(count ? count : 1, sizeof(*sg));
	size_t *doff = calloc(count ? count : 1, sizeof(size_t));

	ASSERT(sg && doff);
	for (size_t i = 0; i < count; i++) {
		total += sizes[i];
		slen += sizes[i] + 3;
	}
	/* destinations in reverse entry order: entries need not be sorted */
	for (size_t k = count; k-- > 0;) {
		doff[k] = dlen + (k % 5);
		dlen = doff[k] + sizes[k] + GAP;
	}
	uint8_t *src = malloc(slen + 1), *dbuf = malloc(dlen), *expect = malloc(dlen);

	ASSERT(src && dbuf && expect);
	t_fill_random(src, slen + 1, seed);
	memset(dbuf, GUARD_BYTE, dlen);
	size_t so = 1;

	for (size_t i = 0; i < count; i++) {
		sg[i].dst = dbuf + doff[i];
		sg[i].src = src + so;
		sg[i].n = sizes[i];
		for (size_t k = 0; k < sizes[i]; k++)
			dbuf[doff[i] + k] = (uint8_t)~src[so + k];
		so += sizes[i] + 3;
		if (sizes[i] == 0 && i % 2) {
			sg[i].dst = NULL;
			sg[i].src = NULL;
		}
	}
	memcpy(expect, dbuf, dlen);
	for (size_t i = 0; i < count; i++)
		if (sizes[i])
			memcpy(expect + doff[i], sg[i].src, sizes[i]);

	struct adma_stats before = t_stats(e), after;
	struct t_rec r = { 0 };
	struct adma_op op;
	uint64_t t = 0;

	adma_prep_copy_sg(&op, sg, count);
	adma_op_set_callback(&op, t_rec_cb, &r);
	ASSERT_EQ(adma_submit(e, &op, 1, &t), 1);
	ASSERT_EQ(adma_wait(e, t, -1), 0);
	if (!t_deferred(c))
		ASSERT_EQ(atomic_load(&r.calls), 1);
	for (size_t k = 0; k < dlen; k++)
		if (dbuf[k] != expect[k])
			T_FAILED("sg of %zu entries: byte %zu of the destination area is 0x%02x, "
				 "expected 0x%02x",
				 count, k, dbuf[k], expect[k]);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&r.calls), 1); /* one completion for the whole list */
	ASSERT_UEQ(r.ticket, t);
	ASSERT_EQ(r.status, 0);
	ASSERT_UEQ(r.bytes, total);
	after = t_stats(e);
	ASSERT_UEQ(after.submitted - before.submitted, 1);
	ASSERT_UEQ(after.completed - before.completed, 1);
	ASSERT_UEQ(after.bytes - before.bytes, total);
	t_sleep_ms(1);
	ASSERT_EQ(adma_poll(e, NULL, UINT32_MAX), 0);
	ASSERT_EQ(atomic_load(&r.calls), 1);
	free(sg);
	free(doff);
	free(src);
	free(dbuf);
	free(expect);
}

static void test_shapes(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	const size_t big = t_slow() ? (64u << 10) + 3 : (1u << 20) + 3;
	const size_t one[] = { 4097 };
	const size_t three[] = { big, 0, 4099 };
	const size_t mix[] = { 0, 1, 7, 64, 100, 4095, 4096, 13, 0, 65537 };
	size_t hundred[100];

	for (size_t i = 0; i < 100; i++)
		hundred[i] = mix[i % 10] + (i / 10) * (mix[i % 10] ? 1 : 0);
	run_sg(e, c, one, 1, 1);
	run_sg(e, c, three, 3, 3);
	run_sg(e, c, hundred, 100, 100);
	/* only zero-size entries */
	const size_t zeros[] = { 0, 0, 0, 0 };

	run_sg(e, c, zeros, 4, 4);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* count 0 is valid (with an array or NULL) and completes with 0 bytes. */
static void test_count_zero(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	struct adma_sge sg[1] = { { NULL, NULL, 0 } };
	struct t_rec r1 = { 0 }, r2 = { 0 };
	struct adma_op op;
	uint64_t t1 = 0, t2 = 0;

	adma_prep_copy_sg(&op, sg, 0);
	adma_op_set_callback(&op, t_rec_cb, &r1);
	ASSERT_EQ(adma_submit(e, &op, 1, &t1), 1);
	adma_prep_copy_sg(&op, NULL, 0);
	adma_op_set_callback(&op, t_rec_cb, &r2);
	ASSERT_EQ(adma_submit(e, &op, 1, &t2), 1);
	ASSERT_EQ(adma_wait(e, t1, -1), 0);
	ASSERT_EQ(adma_wait(e, t2, -1), 0);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&r1.calls), 1);
	ASSERT_EQ(r1.status, 0);
	ASSERT_UEQ(r1.bytes, 0);
	ASSERT_EQ(atomic_load(&r2.calls), 1);
	ASSERT_EQ(r2.status, 0);
	ASSERT_UEQ(r2.bytes, 0);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* Several scatter-gather ops in flight at once, sharing nothing. */
static void test_batch(const struct t_config *c)
{
	enum {
		OPS = 16,
		ENT = 8,
		SZ = 500
	};
	struct adma_engine *e = t_engine(c, 0, 0);
	struct adma_sge sg[OPS][ENT];
	struct adma_op ops[OPS];
	struct t_rec r[OPS];
	uint8_t *src = malloc(OPS * ENT * SZ), *dst = calloc(OPS * ENT, SZ);

	ASSERT(src && dst);
	memset(r, 0, sizeof(r));
	t_fill_random(src, OPS * ENT * SZ, 5);
	for (int i = 0; i < OPS; i++) {
		for (int k = 0; k < ENT; k++) {
			size_t at = ((size_t)i * ENT + (size_t)k) * SZ;

			sg[i][k].dst = dst + at;
			sg[i][k].src = src + at;
			sg[i][k].n = SZ - (size_t)k;
		}
		adma_prep_copy_sg(&ops[i], sg[i], ENT);
		adma_op_set_callback(&ops[i], t_rec_cb, &r[i]);
	}
	ASSERT_EQ(adma_submit(e, ops, OPS, NULL), OPS);
	ASSERT_EQ(t_drain(e), 0);
	for (int i = 0; i < OPS; i++) {
		ASSERT_EQ(atomic_load(&r[i].calls), 1);
		ASSERT_EQ(r[i].status, 0);
		ASSERT_UEQ(r[i].bytes, ENT * SZ - ENT * (ENT - 1) / 2);
		for (int k = 0; k < ENT; k++) {
			size_t at = ((size_t)i * ENT + (size_t)k) * SZ, n = SZ - (size_t)k;

			ASSERT(memcmp(dst + at, src + at, n) == 0);
			for (size_t b = n; b < SZ; b++)
				ASSERT_EQ(dst[at + b], 0);
		}
	}
	ASSERT_OK(adma_engine_destroy(&e));
	free(src);
	free(dst);
}

static void test_invalid(const struct t_config *c)
{
	enum {
		SZ = 256
	};
	struct adma_engine *e = t_engine(c, 0, 0);
	uint8_t *src = malloc(4 * SZ), *dst = malloc(4 * SZ), *snap = malloc(4 * SZ);
	struct adma_sge sg[3];
	struct adma_stats before, after;
	struct t_rec r = { 0 };
	struct adma_op op;

	ASSERT(src && dst && snap);
	t_fill_random(src, 4 * SZ, 11);
	memset(dst, 0x5A, 4 * SZ);
	memcpy(snap, dst, 4 * SZ);
	before = t_stats(e);

#define GOOD_SG()                                   \
	do {                                        \
		for (int i_ = 0; i_ < 3; i_++) {    \
			sg[i_].dst = dst + i_ * SZ; \
			sg[i_].src = src + i_ * SZ; \
			sg[i_].n = SZ;              \
		}                                   \
	} while (0)
#define EXPECT_BAD(what)                                                                        \
	do {                                                                                    \
		adma_prep_copy_sg(&op, sg, 3);                                                  \
		adma_op_set_callback(&op, t_rec_cb, &r);                                        \
		int rc_ = adma_submit(e, &op, 1, NULL);                                         \
		if (rc_ != -EINVAL)                                                             \
			T_FAILED("sg %s: submit returned %d (%s), expected -EINVAL", what, rc_, \
				 adma_strerror(rc_));                                           \
		ASSERT(strstr(adma_last_error(), "adma") != NULL);                              \
	} while (0)

	/* The last entry is the bad one: the good ones before it must not have run. */
	GOOD_SG();
	sg[2].dst = NULL;
	EXPECT_BAD("entry 2 NULL dst");
	GOOD_SG();
	sg[1].dst = NULL;
	EXPECT_BAD("entry 1 NULL dst");
	GOOD_SG();
	sg[2].src = NULL;
	EXPECT_BAD("entry 2 NULL src");
	GOOD_SG();
	sg[2].dst = dst + 3 * SZ;
	sg[2].src = dst + 3 * SZ + 10; /* its own source and destination overlap */
	sg[2].n = 100;
	EXPECT_BAD("entry 2 overlapping src/dst");
	GOOD_SG();
	sg[2].src = dst + 2 * SZ; /* src == dst */
	EXPECT_BAD("entry 2 src == dst");
	GOOD_SG();
	sg[2].dst = dst + 3 * SZ + 10;
	sg[2].src = dst + 3 * SZ; /* overlap the other way */
	sg[2].n = 100;
	EXPECT_BAD("entry 2 overlapping dst/src");
	GOOD_SG();
	sg[2].dst = (void *)(UINTPTR_MAX - 10);
	EXPECT_BAD("entry 2 dst range wraps");
	GOOD_SG();
	sg[2].src = (const void *)(UINTPTR_MAX - 10);
	EXPECT_BAD("entry 2 src range wraps");
	GOOD_SG();
	sg[0].n = SIZE_MAX;
	EXPECT_BAD("entry 0 n SIZE_MAX");

	/* A NULL array with count > 0. */
	adma_prep_copy_sg(&op, NULL, 3);
	adma_op_set_callback(&op, t_rec_cb, &r);
	ASSERT_ERR(adma_submit(e, &op, 1, NULL), -EINVAL);
	adma_prep_copy_sg(&op, NULL, 1);
	ASSERT_ERR(adma_submit(e, &op, 1, NULL), -EINVAL);
#undef GOOD_SG
#undef EXPECT_BAD

	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&r.calls), 0);
	ASSERT(memcmp(dst, snap, 4 * SZ) == 0);
	after = t_stats(e);
	ASSERT_UEQ(after.submitted, before.submitted);
	ASSERT_UEQ(after.completed, before.completed);
	ASSERT_UEQ(after.bytes, before.bytes);
	ASSERT_OK(adma_engine_destroy(&e));
	free(src);
	free(dst);
	free(snap);
}

int main(void)
{
	FOR_EACH_CONFIG (c) {
		test_count_zero(c);
		test_shapes(c);
		test_batch(c);
		test_invalid(c);
	}
	return T_PASS;
}
