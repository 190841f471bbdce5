/* SPDX-License-Identifier: MIT */
/*
 * The copy and fill kernels, non-temporal paths first. Their shape: from 4096 bytes up a
 * non-temporal kernel writes an unaligned head, a body of 128-byte blocks and a tail; below,
 * ordinary stores. Sizes around every boundary of that shape (4095, 4096, 4097, 4096 + 127,
 * 4096 + 128, 4096 + 129, 65536 + 3, 1 MiB + 77) at every destination misalignment 0..63 and
 * source misalignment 0..7, fills with every pattern length: every byte and the guard bytes
 * before and after the destination are checked.
 *  - Directly (adma__execute_part), with and without non-temporal stores, with the kernels this
 *    CPU selects and again with AVX2 masked off (the SSE2 kernels), whole and in 4 KiB-multiple
 *    pieces the way a split op runs them.
 *  - Through engines (threads-1 and inline; the kernels are shared, so one worker is enough):
 *    ops flagged ADMA_OP_NONTEMPORAL, ops flagged ADMA_OP_CACHED, an engine with
 *    nt_threshold = 4096 and no flags, an engine with nt_threshold = ADMA_OFF; half the ops are
 *    ADMA_OP_NO_INLINE so that both the worker and the submitting thread run kernels. Plus a
 *    non-temporal scatter-gather copy.
 * Valgrind and TSan builds check fewer misalignments and sizes up to 64 KiB.
 */
#include "helpers.h"

#include "backend.h" /* adma__execute_part(), adma__cpu(): the kernels themselves */

#define GUARD 64
#define GUARD_BYTE 0xA5
#define STALE 0xEE
#define MAXN ((1u << 20) + 77)
#define BUFSZ ((size_t)(MAXN + 4096 * 64 + 63) / 64 * 64) /* aligned_alloc: a multiple */

static const size_t all_sizes[] = { 4095,	4096,	    4097,      4096 + 127,
				    4096 + 128, 4096 + 129, 65536 + 3, (1u << 20) + 77 };
static const size_t plens[] = { 1, 2, 4, 8, 16 };
static const uint8_t pattern[16] = { 0x31, 0x42, 0x53, 0x64, 0x75, 0x86, 0x97, 0xa8,
				     0xb9, 0xca, 0xdb, 0xec, 0xfd, 0x0e, 0x1f, 0x20 };

/* The misalignments and sizes this run checks: all of them, or a sample on slow builds. */
static size_t dms[64], sms[8], sizes[8];
static size_t ndm, nsm, nsizes;

static void pick_cases(void)
{
	static const size_t slow_dm[] = { 0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 47, 48, 63 };
	static const size_t slow_sm[] = { 0, 1, 3, 7 };

	ndm = nsm = nsizes = 0;
	if (t_slow()) {
		for (size_t i = 0; i < sizeof(slow_dm) / sizeof(slow_dm[0]); i++)
			dms[ndm++] = slow_dm[i];
		for (size_t i = 0; i < sizeof(slow_sm) / sizeof(slow_sm[0]); i++)
			sms[nsm++] = slow_sm[i];
	} else {
		for (size_t i = 0; i < 64; i++)
			dms[ndm++] = i;
		for (size_t i = 0; i < 8; i++)
			sms[nsm++] = i;
	}
	for (size_t i = 0; i < sizeof(all_sizes) / sizeof(all_sizes[0]); i++)
		if (!t_slow() || all_sizes[i] <= 65536 + 3)
			sizes[nsizes++] = all_sizes[i];
}

static uint8_t *srcbuf; /* 64-aligned, random */
static uint8_t *dbuf;	/* 64-aligned: GUARD, up to 63 bytes of misalignment, n, GUARD */

/* Guards around [GUARD + dm, GUARD + dm + n), stale bytes inside. @return the destination. */
static uint8_t *prepare(size_t dm, size_t n)
{
	memset(dbuf, GUARD_BYTE, GUARD + dm);
	memset(dbuf + GUARD + dm, STALE, n);
	memset(dbuf + GUARD + dm + n, GUARD_BYTE, GUARD);
	return dbuf + GUARD + dm;
}

/* @what names the case in a failure. plen 0: a copy from srcbuf + sm. */
static void check(const char *what, size_t dm, size_t sm, size_t n, size_t plen)
{
	const uint8_t *dst = dbuf + GUARD + dm;
	size_t bad;

	bad = plen ? t_first_bad_fill(dst, n, pattern, plen) : t_first_diff(dst, srcbuf + sm, n);
	if (bad < n)
		T_FAILED("%s: %s of %zu bytes, pattern %zu, dst %% 64 = %zu, src %% 64 = %zu: byte %zu "
			 "(%zu from the end) is 0x%02x, expected 0x%02x",
			 what, plen ? "fill" : "copy", n, plen, dm, sm, bad, n - bad, dst[bad],
			 plen ? pattern[bad % plen] : srcbuf[sm + bad]);
	bad = t_first_not(dbuf, GUARD + dm, GUARD_BYTE);
	if (bad < GUARD + dm)
		T_FAILED("%s: %s of %zu bytes, pattern %zu, dst %% 64 = %zu, src %% 64 = %zu: guard "
			 "byte %zu before the destination overwritten",
			 what, plen ? "fill" : "copy", n, plen, dm, sm, GUARD + dm - bad);
	bad = t_first_not(dst + n, GUARD, GUARD_BYTE);
	if (bad < GUARD)
		T_FAILED("%s: %s of %zu bytes, pattern %zu, dst %% 64 = %zu, src %% 64 = %zu: guard "
			 "byte %zu after the destination overwritten",
			 what, plen ? "fill" : "copy", n, plen, dm, sm, bad);
}

static void prep(struct adma_op *op, size_t dm, size_t sm, size_t n, size_t plen)
{
	uint8_t *dst = prepare(dm, n);

	if (plen)
		adma_prep_fill(op, dst, n, pattern, plen);
	else
		adma_prep_copy(op, dst, srcbuf + sm, n);
}

/* ---- the kernels, called directly ---------------------------------------------------------- */

/* Runs the op in pieces of @piece bytes from offset 0 (piece SIZE_MAX: whole). */
static void run_direct(const struct adma_op *op, size_t piece, bool nt)
{
	struct adma__slot s = { .op = *op, .nt = nt };
	size_t total = 0;

	for (size_t off = 0; off < op->n || (op->n == 0 && off == 0); off += piece) {
		size_t bytes = SIZE_MAX;

		ASSERT_EQ(adma__execute_part(&s, off, piece, &bytes), 0);
		ASSERT(bytes <= piece);
		total += bytes;
		if (piece == SIZE_MAX)
			break;
	}
	ASSERT_UEQ(total, op->n);
}

static void direct_pass(const char *isa, bool nt)
{
	char what[96];
	struct adma_op op;

	snprintf(what, sizeof(what), "direct, %s kernels, %s stores", isa,
		 nt ? "non-temporal" : "ordinary");
	t_config_name = what;
	for (size_t z = 0; z < nsizes; z++) {
		for (size_t d = 0; d < ndm; d++) {
			for (size_t s = 0; s < nsm; s++) {
				prep(&op, dms[d], sms[s], sizes[z], 0);
				run_direct(&op, SIZE_MAX, nt);
				check("kernel", dms[d], sms[s], sizes[z], 0);
			}
			for (size_t p = 0; p < sizeof(plens) / sizeof(plens[0]); p++) {
				prep(&op, dms[d], 0, sizes[z], plens[p]);
				run_direct(&op, SIZE_MAX, nt);
				check("kernel", dms[d], 0, sizes[z], plens[p]);
			}
		}
	}
	/* In pieces, as a split op runs: each piece is its own head, body and tail. */
	snprintf(what, sizeof(what), "direct in pieces, %s kernels, %s stores", isa,
		 nt ? "non-temporal" : "ordinary");
	const size_t pieces[] = { 4096, 8192, 65536 };
	const size_t some_dm[] = { 0, 1, 31, 33, 63 };
	size_t n = sizes[nsizes - 1];

	for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
		for (size_t d = 0; d < sizeof(some_dm) / sizeof(some_dm[0]); d++) {
			prep(&op, some_dm[d], 5, n, 0);
			run_direct(&op, pieces[k], nt);
			check("kernel", some_dm[d], 5, n, 0);
			for (size_t p = 0; p < sizeof(plens) / sizeof(plens[0]); p++) {
				prep(&op, some_dm[d], 0, n, plens[p]);
				run_direct(&op, pieces[k], nt);
				check("kernel", some_dm[d], 0, n, plens[p]);
			}
		}
	}
}

static void test_direct(void)
{
	/* Not const: adma__cpu() hands out the library's own record, which is writable. */
	struct adma__cpu *cpu = (struct adma__cpu *)adma__cpu();
	const bool avx2 = cpu->avx2;

	direct_pass(avx2 ? "AVX2" : "SSE2", true);
	direct_pass(avx2 ? "AVX2" : "SSE2", false);
	if (avx2 && cpu->sse2) {
		/* No engine is running: nothing else reads the record meanwhile. */
		cpu->avx2 = false;
		direct_pass("SSE2 (AVX2 masked)", true);
		cpu->avx2 = true;
	}
}

/* ---- through engines ----------------------------------------------------------------------- */

struct variant {
	const char *name;
	size_t nt_threshold; /* engine config */
	unsigned flags;	     /* on every op */
};

static const struct variant variants[] = {
	{ "ops NONTEMPORAL", 0, ADMA_OP_NONTEMPORAL },
	{ "ops CACHED", 0, ADMA_OP_CACHED },
	{ "nt_threshold 4096", 4096, 0 },
	{ "nt_threshold ADMA_OFF", ADMA_OFF, 0 },
};

static void engine_one(struct adma_engine *e, const struct variant *v, size_t dm, size_t sm,
		       size_t n, size_t plen, bool no_inline)
{
	struct adma_op op;
	struct t_rec r = { 0 };
	uint64_t t;

	prep(&op, dm, sm, n, plen);
	adma_op_set_flags(&op, v->flags | (no_inline ? ADMA_OP_NO_INLINE : 0));
	adma_op_set_callback(&op, t_rec_cb, &r);
	t = t_submit1(e, &op);
	ASSERT_EQ(adma_wait(e, t, 30 * SEC), 0);
	check(v->name, dm, sm, n, plen);
	adma_poll(e, NULL, UINT32_MAX); /* deferred callbacks */
	ASSERT_EQ(atomic_load(&r.calls), 1);
	ASSERT_EQ(r.status, 0);
	ASSERT_UEQ(r.bytes, n);
}

/* A scatter-gather copy whose entries take the non-temporal path at odd alignments. */
static void engine_sg(struct adma_engine *e, const struct variant *v)
{
	const size_t n[3] = { 4097, 65536 + 3, 5000 };
	const size_t doff[3] = { 1, 8192 + 200, 4096 * 40 + 33 };
	const size_t soff[3] = { 7, 8192 + 3, 65536 * 2 + 5 };
	struct adma_sge sg[3];
	struct adma_op op;
	uint64_t t;

	memset(dbuf, STALE, 4096 * 48);
	for (int i = 0; i < 3; i++)
		sg[i] = (struct adma_sge){ dbuf + doff[i], srcbuf + soff[i], n[i] };
	adma_prep_copy_sg(&op, sg, 3);
	adma_op_set_flags(&op, v->flags);
	t = t_submit1(e, &op);
	ASSERT_EQ(adma_wait(e, t, 30 * SEC), 0);
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(t_first_diff(dbuf + doff[i], srcbuf + soff[i], n[i]), n[i]);
		ASSERT_EQ(dbuf[doff[i] - 1], STALE);
		ASSERT_EQ(dbuf[doff[i] + n[i]], STALE);
	}
}

static void run_engines(const struct t_config *c)
{
	for (size_t k = 0; k < sizeof(variants) / sizeof(variants[0]); k++) {
		const struct variant *v = &variants[k];
		struct adma_config tune = { .nt_threshold = v->nt_threshold };
		struct adma_engine *e = t_engine_tuned(c, 0, 0, &tune);

		for (size_t z = 0; z < nsizes; z++) {
			for (size_t d = 0; d < ndm; d++) {
				for (size_t s = 0; s < nsm; s++)
					engine_one(e, v, dms[d], sms[s], sizes[z], 0, (d + s) % 2);
				for (size_t p = 0; p < sizeof(plens) / sizeof(plens[0]); p++)
					engine_one(e, v, dms[d], 0, sizes[z], plens[p],
						   (d + p) % 2);
			}
		}
		engine_sg(e, v);
		ASSERT_EQ(t_drain(e), 0);
		ASSERT_UEQ(t_stats(e).failed, 0);
		ASSERT_OK(adma_engine_destroy(&e));
	}
}

int main(void)
{
	static const struct t_config configs[] = {
		{ "threads-1", ADMA_BACKEND_THREADS, 1, 0 },
		{ "inline", ADMA_BACKEND_INLINE, 0, 0 },
	};

	srcbuf = aligned_alloc(64, BUFSZ);
	dbuf = aligned_alloc(64, BUFSZ);
	ASSERT(srcbuf && dbuf);
	t_fill_random(srcbuf, BUFSZ, 4242);
	pick_cases();
	test_direct();
	t_run_configs(configs, sizeof(configs) / sizeof(configs[0]), run_engines);
	free(srcbuf);
	free(dbuf);
	return T_PASS;
}
