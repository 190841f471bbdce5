/* SPDX-License-Identifier: MIT */
/*
 * Contiguous streams: a large buffer copied (or filled) in small pieces is one large copy, so
 * once the stream has written nt_threshold bytes its further pieces use non-temporal stores,
 * like a single op of that size. Checked through stats.nontemporal, and the data byte for
 * byte. A gap in the destination starts a new stream; ADMA_OP_CACHED pieces never use
 * non-temporal stores and ADMA_OP_NONTEMPORAL pieces always do. Runs under every configuration.
 */
#include "helpers.h"

#define PIECE 4096u
#define THRESHOLD (16u * PIECE)
#define PIECES 48u

static uint64_t nontemporal(struct adma_engine *e)
{
	return t_stats(e).nontemporal;
}

/* Submits `count` pieces of PIECE bytes from src to dst starting at piece `first`, each with
 * `flags`; every piece after a `gap_at` piece index leaves one piece of room. */
static void submit_pieces(struct adma_engine *e, uint8_t *dst, const uint8_t *src, unsigned count,
			  unsigned flags, unsigned gap_at)
{
	for (unsigned i = 0; i < count; i++) {
		size_t off = (size_t)(i + (i >= gap_at)) * PIECE;
		struct adma_op op;

		adma_prep_copy(&op, dst + off, src + off, PIECE);
		adma_op_set_flags(&op, flags);
		t_submit1(e, &op);
	}
	ASSERT_EQ(t_drain(e), 0);
}

static void run(const struct t_config *c)
{
	size_t bytes = (size_t)(PIECES + 1) * PIECE;
	uint8_t *src = malloc(bytes), *dst = malloc(bytes + PIECE); /* the gap shifts by half */
	struct adma_config tune = { 0 };
	struct adma_engine *e;
	uint64_t before;

	ASSERT(src && dst);
	tune.nt_threshold = THRESHOLD;
	e = t_engine_tuned(c, 0, 0, &tune);

	/* One stream: pieces 0..15 reach the threshold at piece 15, which and every later piece
	 * is non-temporal. */
	t_fill_random(src, bytes, 1);
	memset(dst, 0, bytes + PIECE);
	before = nontemporal(e);
	submit_pieces(e, dst, src, PIECES, 0, UINT32_MAX);
	ASSERT_UEQ(nontemporal(e) - before, PIECES - THRESHOLD / PIECE + 1);
	ASSERT(memcmp(dst, src, (size_t)PIECES * PIECE) == 0);

	/* A gap after piece 20 starts a new stream that needs the threshold again. */
	t_fill_random(src, bytes, 2);
	before = nontemporal(e);
	submit_pieces(e, dst + PIECE / 2, src, PIECES, 0, 20); /* new start: not contiguous */
	ASSERT_UEQ(nontemporal(e) - before, (20 - 15) + (PIECES - 20 - 15));
	ASSERT(memcmp(dst + PIECE / 2, src, 20 * PIECE) == 0);
	ASSERT(memcmp(dst + PIECE / 2 + 21 * PIECE, src + 21 * PIECE, (PIECES - 20) * PIECE) == 0);

	/* ADMA_OP_CACHED pieces never stream; ADMA_OP_NONTEMPORAL pieces always do. */
	before = nontemporal(e);
	submit_pieces(e, dst, src, PIECES, ADMA_OP_CACHED, UINT32_MAX);
	ASSERT_UEQ(nontemporal(e) - before, 0);
	before = nontemporal(e);
	submit_pieces(e, dst, src, 3, ADMA_OP_NONTEMPORAL, UINT32_MAX);
	ASSERT_UEQ(nontemporal(e) - before, 3);
	ASSERT(memcmp(dst, src, 3 * PIECE) == 0);

	/* Fills stream too, and keep their pattern across non-temporal pieces. */
	before = nontemporal(e);
	for (unsigned i = 0; i < PIECES; i++) {
		static const uint8_t pat[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
		struct adma_op op;

		adma_prep_fill(&op, dst + (size_t)i * PIECE, PIECE, pat, sizeof(pat));
		t_submit1(e, &op);
	}
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_UEQ(nontemporal(e) - before, PIECES - THRESHOLD / PIECE + 1);
	for (size_t i = 0; i < (size_t)PIECES * PIECE; i++)
		if (dst[i] != (uint8_t)(i % 8 + 1))
			T_FAILED("fill byte %zu is %u, expected %u", i, dst[i], (unsigned)(i % 8 + 1));

	/* nt_threshold OFF: nothing is ever non-temporal, however long the stream. */
	ASSERT_OK(adma_engine_destroy(&e));
	tune.nt_threshold = ADMA_OFF;
	e = t_engine_tuned(c, 0, 0, &tune);
	submit_pieces(e, dst, src, PIECES, 0, UINT32_MAX);
	ASSERT_UEQ(nontemporal(e), 0);
	ASSERT_OK(adma_engine_destroy(&e));
	free(src);
	free(dst);
}

int main(void)
{
	FOR_EACH_CONFIG(c)
		run(c);
	return T_PASS;
}
