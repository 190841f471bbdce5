/* SPDX-License-Identifier: MIT */
/*
 * The bad-input table. Each row builds one op (or makes one engine call) that must fail with
 * an exact errno, and then nothing may have happened: no byte written, nothing queued
 * (stats.submitted unchanged), no callback ever run (checked after a drain), and
 * adma_last_error() names the failure. A row is also submitted first in a batch followed by a
 * good op: the batch is refused as a whole. Rows that must succeed (adjacent ranges, aligned
 * ops on an aligned engine) sit next to the bad ones to show the checks are not too eager.
 * Op flags: unknown bits (4-23, spot-checked in the table, each one alone in a loop), reserved
 * bits (24-31) and ADMA_OP_NONTEMPORAL with ADMA_OP_CACHED are -EINVAL; the defined flags
 * alone and in compatible sets are accepted. Op rows run under every configuration.
 */
#include "helpers.h"

#define BUF 4096

struct bufs {
	uint8_t *dst; /* BUF bytes, 64-aligned */
	uint8_t *src; /* BUF bytes, 64-aligned */
	uint8_t pat[16];
	struct adma_sge sg[3];
	uint8_t layout_storage[256];
};

static atomic_int stray_calls;

static void stray_cb(void *arg, const struct adma_result *res)
{
	(void)arg;
	(void)res;
	atomic_fetch_add(&stray_calls, 1);
}

static long op_noop(void *dst, const void *src, void *arg)
{
	(void)dst;
	(void)src;
	(void)arg;
	return 0;
}

/* adma_last_error() right after a failure: non-empty and names the library. */
static void check_last_error(const char *row)
{
	const char *m = adma_last_error();

	if (m == NULL || m[0] == '\0' || strstr(m, "adma") == NULL)
		T_FAILED("row \"%s\": adma_last_error() is \"%s\" after a failure", row,
			 m ? m : "(null)");
}

/* ---- the op rows -------------------------------------------------------------------------- */

static void sg_good(struct bufs *b)
{
	for (int i = 0; i < 3; i++) {
		b->sg[i].dst = b->dst + 64 * i;
		b->sg[i].src = b->src + 64 * i;
		b->sg[i].n = 64;
	}
}

#define U8(p) ((uint8_t *)(p))
#define TOP(k) ((void *)(UINTPTR_MAX - (k))) /* near the top of the address space */
/* Contradictory op flags: never accepted. */
#define NT_CACHED (ADMA_OP_NONTEMPORAL | ADMA_OP_CACHED)

/* Every op row, by what it builds. One line per row reads as a table: */
/* clang-format off */
enum row_id {
	COPY_NULL_DST, COPY_NULL_SRC, COPY_NULL_BOTH, COPY_SAME, COPY_SAME_1, COPY_OVL_FWD,
	COPY_OVL_BACK, COPY_OVL_LAST, COPY_OVL_LAST2, COPY_OVL_INSIDE, COPY_DST_WRAPS,
	COPY_SRC_WRAPS, COPY_N_MAX, COPY_DST_WRAPS_1, OPCODE_99, OPCODE_NEXT, FLAG_5, FLAG_4,
	FLAG_8, FLAG_12, FLAG_16, FLAG_23, FLAG_24, FLAG_24_NT, FLAG_31, FLAG_NT_CACHED,
	FLAG_ALL_NT_CACHED, FILL_NT_CACHED, SG_NT_CACHED, CUSTOM_NT_CACHED, RESERVED_1,
	RESERVED_HI, FILL_NULL_DST, FILL_NULL_PAT, FILL_LEN0, FILL_LEN3, FILL_LEN5, FILL_LEN17,
	FILL_LEN32, FILL_WRAPS, CUSTOM_NULL, SG_NULL_ARRAY, SG_NULL_DST, SG_NULL_SRC, SG_OVERLAP,
	SG_WRAPS, SG_FLAG_24, LAYOUT,
	/* good rows: adjacent ranges do not overlap; each defined flag alone, and the defined
	 * flags that may go together, are accepted */
	G_COPY_ADJ_FWD, G_COPY_ADJ_BACK, G_COPY_FENCE, G_COPY_NT, G_COPY_CACHED, G_COPY_NO_INLINE,
	G_COPY_FENCE_NT_NO_INLINE, G_FILL_NT, G_FILL_CACHED, G_SG_NT, G_CUSTOM_FLAGS, G_FILL, G_SG,
	G_CUSTOM, G_COPY_0_NULL,
	/* rows for an engine created with align = 64 */
	A_COPY_DST1, A_COPY_DST32, A_COPY_SRC8, A_COPY_N100, A_COPY_N65, A_FILL_N100, A_FILL_DST4,
	A_SG_DST2, A_SG_SRC16, A_SG_N63, A_CUSTOM_DST1, A_CUSTOM_SRC1, AG_COPY, AG_COPY_0,
	AG_FILL16, AG_FILL1, AG_SG, AG_CUSTOM,
};

static void make(enum row_id id, struct adma_op *op, struct bufs *b)
{
	uint8_t *d = b->dst, *s = b->src;
	struct adma_sge *g = b->sg;

	sg_good(b);
	switch (id) {
	case COPY_NULL_DST: adma_prep_copy(op, NULL, s, 10); break;
	case COPY_NULL_SRC: adma_prep_copy(op, d, NULL, 10); break;
	case COPY_NULL_BOTH: adma_prep_copy(op, NULL, NULL, 1); break;
	case COPY_SAME: adma_prep_copy(op, d, d, 100); break;
	case COPY_SAME_1: adma_prep_copy(op, d, d, 1); break;
	case COPY_OVL_FWD: adma_prep_copy(op, d + 1, d, 100); break;
	case COPY_OVL_BACK: adma_prep_copy(op, d, d + 1, 100); break;
	case COPY_OVL_LAST: adma_prep_copy(op, d + 99, d, 100); break;
	case COPY_OVL_LAST2: adma_prep_copy(op, d, d + 99, 100); break;
	case COPY_OVL_INSIDE: adma_prep_copy(op, d + 10, d, 1000); break;
	case COPY_DST_WRAPS: adma_prep_copy(op, TOP(10), s, 100); break;
	case COPY_SRC_WRAPS: adma_prep_copy(op, d, TOP(10), 100); break;
	case COPY_N_MAX: adma_prep_copy(op, d, s, SIZE_MAX); break;
	case COPY_DST_WRAPS_1: adma_prep_copy(op, TOP(99), s, 101); break;
	case OPCODE_99: adma_prep_copy(op, d, s, 10); op->opcode = 99; break;
	case OPCODE_NEXT: adma_prep_copy(op, d, s, 10); op->opcode = ADMA_OP_CUSTOM + 1; break;
	case FLAG_5: adma_prep_copy(op, d, s, 10); adma_op_set_flags(op, 1u << 5); break;
	case FLAG_4: adma_prep_copy(op, d, s, 10); adma_op_set_flags(op, ADMA_OP_FENCE | 1u << 4); break;
	case FLAG_8: adma_prep_copy(op, d, s, 10); adma_op_set_flags(op, 1u << 8); break;
	case FLAG_12: adma_prep_copy(op, d, s, 10); adma_op_set_flags(op, ADMA_OP_NO_INLINE | 1u << 12); break;
	case FLAG_16: adma_prep_copy(op, d, s, 10); adma_op_set_flags(op, ADMA_OP_NONTEMPORAL | 1u << 16); break;
	case FLAG_23: adma_prep_copy(op, d, s, 10); adma_op_set_flags(op, 1u << 23); break;
	case FLAG_24: adma_prep_copy(op, d, s, 10); adma_op_set_flags(op, 1u << 24); break;
	case FLAG_24_NT: adma_prep_copy(op, d, s, 10); adma_op_set_flags(op, ADMA_OP_CACHED | 1u << 24); break;
	case FLAG_31: adma_prep_copy(op, d, s, 10); adma_op_set_flags(op, 1u << 31); break;
	case FLAG_NT_CACHED: adma_prep_copy(op, d, s, BUF); adma_op_set_flags(op, NT_CACHED); break;
	case FLAG_ALL_NT_CACHED:
		adma_prep_copy(op, d, s, 10);
		adma_op_set_flags(op, ADMA_OP_FENCE | NT_CACHED | ADMA_OP_NO_INLINE);
		break;
	case FILL_NT_CACHED: adma_prep_fill(op, d, BUF, b->pat, 8); adma_op_set_flags(op, NT_CACHED); break;
	case SG_NT_CACHED: adma_prep_copy_sg(op, g, 3); adma_op_set_flags(op, NT_CACHED); break;
	case CUSTOM_NT_CACHED: adma_prep_custom(op, op_noop, d, s, NULL); adma_op_set_flags(op, NT_CACHED); break;
	case RESERVED_1: adma_prep_copy(op, d, s, 10); op->reserved = 1; break;
	case RESERVED_HI: adma_prep_copy(op, d, s, 10); op->reserved = 0x8000; break;
	case FILL_NULL_DST: adma_prep_fill(op, NULL, 10, b->pat, 1); break;
	case FILL_NULL_PAT: adma_prep_fill(op, d, 10, NULL, 1); break;
	case FILL_LEN0: adma_prep_fill(op, d, 10, b->pat, 0); break;
	case FILL_LEN3: adma_prep_fill(op, d, 10, b->pat, 3); break;
	case FILL_LEN5: adma_prep_fill(op, d, 10, b->pat, 5); break;
	case FILL_LEN17: adma_prep_fill(op, d, 10, b->layout_storage, 17); break;
	case FILL_LEN32: adma_prep_fill(op, d, 10, b->layout_storage, 32); break;
	case FILL_WRAPS: adma_prep_fill(op, TOP(10), 100, b->pat, 4); break;
	case CUSTOM_NULL: adma_prep_custom(op, NULL, d, s, NULL); break;
	case SG_NULL_ARRAY: adma_prep_copy_sg(op, NULL, 3); break;
	case SG_NULL_DST: g[2].dst = NULL; adma_prep_copy_sg(op, g, 3); break;
	case SG_NULL_SRC: g[1].src = NULL; adma_prep_copy_sg(op, g, 3); break;
	case SG_OVERLAP: g[2].src = U8(g[2].dst) + 8; adma_prep_copy_sg(op, g, 3); break;
	case SG_WRAPS: g[2].dst = TOP(10); adma_prep_copy_sg(op, g, 3); break;
	case SG_FLAG_24: adma_prep_copy_sg(op, g, 3); adma_op_set_flags(op, 1u << 24); break;
	case LAYOUT: adma_prep_copy_layout(op, NULL, NULL); break;
	case G_COPY_ADJ_FWD: adma_prep_copy(op, d + 100, d, 100); break;
	case G_COPY_ADJ_BACK: adma_prep_copy(op, d + 1000, d + 1100, 100); break;
	case G_COPY_FENCE: adma_prep_copy(op, d, s, 9); adma_op_set_flags(op, ADMA_OP_FENCE); break;
	case G_COPY_NT: adma_prep_copy(op, d, s, BUF); adma_op_set_flags(op, ADMA_OP_NONTEMPORAL); break;
	case G_COPY_CACHED: adma_prep_copy(op, d, s, BUF); adma_op_set_flags(op, ADMA_OP_CACHED); break;
	case G_COPY_NO_INLINE: adma_prep_copy(op, d, s, 9); adma_op_set_flags(op, ADMA_OP_NO_INLINE); break;
	case G_COPY_FENCE_NT_NO_INLINE:
		adma_prep_copy(op, d, s, BUF);
		adma_op_set_flags(op, ADMA_OP_FENCE | ADMA_OP_NONTEMPORAL | ADMA_OP_NO_INLINE);
		break;
	case G_FILL_NT: adma_prep_fill(op, d, BUF, b->pat, 16); adma_op_set_flags(op, ADMA_OP_NONTEMPORAL); break;
	case G_FILL_CACHED: adma_prep_fill(op, d, BUF, b->pat, 2); adma_op_set_flags(op, ADMA_OP_CACHED); break;
	case G_SG_NT: adma_prep_copy_sg(op, g, 3); adma_op_set_flags(op, ADMA_OP_NONTEMPORAL); break;
	case G_CUSTOM_FLAGS:
		adma_prep_custom(op, op_noop, d, s, NULL);
		adma_op_set_flags(op, ADMA_OP_CACHED | ADMA_OP_NO_INLINE | ADMA_OP_FENCE);
		break;
	case G_FILL: adma_prep_fill(op, d, 10, b->pat, 16); break;
	case G_SG: adma_prep_copy_sg(op, g, 3); break;
	case G_CUSTOM: adma_prep_custom(op, op_noop, d, s, NULL); break;
	case G_COPY_0_NULL: adma_prep_copy(op, NULL, NULL, 0); break;
	case A_COPY_DST1: adma_prep_copy(op, d + 1, s, 64); break;
	case A_COPY_DST32: adma_prep_copy(op, d + 32, s, 64); break;
	case A_COPY_SRC8: adma_prep_copy(op, d, s + 8, 64); break;
	case A_COPY_N100: adma_prep_copy(op, d, s, 100); break;
	case A_COPY_N65: adma_prep_copy(op, d, s, 65); break;
	case A_FILL_N100: adma_prep_fill(op, d, 100, b->pat, 4); break;
	case A_FILL_DST4: adma_prep_fill(op, d + 4, 64, b->pat, 4); break;
	case A_SG_DST2: g[2].dst = U8(g[2].dst) + 2; adma_prep_copy_sg(op, g, 3); break;
	case A_SG_SRC16: g[1].src = U8(g[1].src) + 16; adma_prep_copy_sg(op, g, 3); break;
	case A_SG_N63: g[0].n = 63; adma_prep_copy_sg(op, g, 3); break;
	case A_CUSTOM_DST1: adma_prep_custom(op, op_noop, d + 1, s, NULL); break;
	case A_CUSTOM_SRC1: adma_prep_custom(op, op_noop, d, s + 1, NULL); break;
	case AG_COPY: adma_prep_copy(op, d + 64, s + 128, 192); break;
	case AG_COPY_0: adma_prep_copy(op, d, s, 0); break;
	case AG_FILL16: adma_prep_fill(op, d + 128, 128, b->pat, 16); break;
	case AG_FILL1: adma_prep_fill(op, d + 128, 64, b->pat, 1); break;
	case AG_SG: adma_prep_copy_sg(op, g, 3); break;
	case AG_CUSTOM: adma_prep_custom(op, op_noop, d, s, NULL); break;
	}
}
/* clang-format on */

struct row {
	const char *name;
	enum row_id id;
	int err; /* 0: must be accepted and complete with status 0 */
};

static const struct row op_rows[] = {
	{ "copy NULL dst, n > 0", COPY_NULL_DST, -EINVAL },
	{ "copy NULL src, n > 0", COPY_NULL_SRC, -EINVAL },
	{ "copy NULL dst and src, n 1", COPY_NULL_BOTH, -EINVAL },
	{ "copy src == dst", COPY_SAME, -EINVAL },
	{ "copy src == dst, n 1", COPY_SAME_1, -EINVAL },
	{ "copy overlap, dst = src + 1", COPY_OVL_FWD, -EINVAL },
	{ "copy overlap, src = dst + 1", COPY_OVL_BACK, -EINVAL },
	{ "copy overlap by the last byte (dst after src)", COPY_OVL_LAST, -EINVAL },
	{ "copy overlap by the last byte (src after dst)", COPY_OVL_LAST2, -EINVAL },
	{ "copy overlap, dst inside src", COPY_OVL_INSIDE, -EINVAL },
	{ "copy dst range wraps", COPY_DST_WRAPS, -EINVAL },
	{ "copy src range wraps", COPY_SRC_WRAPS, -EINVAL },
	{ "copy n SIZE_MAX", COPY_N_MAX, -EINVAL },
	{ "copy dst range wraps by one byte", COPY_DST_WRAPS_1, -EINVAL },
	{ "unknown opcode 99", OPCODE_99, -EINVAL },
	{ "unknown opcode CUSTOM+1", OPCODE_NEXT, -EINVAL },
	{ "unknown op flag bit 5", FLAG_5, -EINVAL },
	{ "unknown op flag bit 4 with FENCE", FLAG_4, -EINVAL },
	{ "unknown op flag bit 8", FLAG_8, -EINVAL },
	{ "unknown op flag bit 12 with NO_INLINE", FLAG_12, -EINVAL },
	{ "unknown op flag bit 16 with NONTEMPORAL", FLAG_16, -EINVAL },
	{ "unknown op flag bit 23", FLAG_23, -EINVAL },
	{ "reserved op flag bit 24", FLAG_24, -EINVAL },
	{ "reserved op flag bit 24 with CACHED", FLAG_24_NT, -EINVAL },
	{ "reserved op flag bit 31", FLAG_31, -EINVAL },
	{ "copy NONTEMPORAL|CACHED", FLAG_NT_CACHED, -EINVAL },
	{ "copy FENCE|NONTEMPORAL|CACHED|NO_INLINE", FLAG_ALL_NT_CACHED, -EINVAL },
	{ "fill NONTEMPORAL|CACHED", FILL_NT_CACHED, -EINVAL },
	{ "sg NONTEMPORAL|CACHED", SG_NT_CACHED, -EINVAL },
	{ "custom NONTEMPORAL|CACHED", CUSTOM_NT_CACHED, -EINVAL },
	{ "op.reserved = 1", RESERVED_1, -EINVAL },
	{ "op.reserved = 0x8000", RESERVED_HI, -EINVAL },
	{ "fill NULL dst", FILL_NULL_DST, -EINVAL },
	{ "fill NULL pattern", FILL_NULL_PAT, -EINVAL },
	{ "fill pattern_len 0", FILL_LEN0, -EINVAL },
	{ "fill pattern_len 3", FILL_LEN3, -EINVAL },
	{ "fill pattern_len 5", FILL_LEN5, -EINVAL },
	{ "fill pattern_len 17", FILL_LEN17, -EINVAL },
	{ "fill pattern_len 32", FILL_LEN32, -EINVAL },
	{ "fill dst range wraps", FILL_WRAPS, -EINVAL },
	{ "custom NULL fn", CUSTOM_NULL, -EINVAL },
	{ "sg NULL array, count 3", SG_NULL_ARRAY, -EINVAL },
	{ "sg entry 2 NULL dst", SG_NULL_DST, -EINVAL },
	{ "sg entry 1 NULL src", SG_NULL_SRC, -EINVAL },
	{ "sg entry 2 src overlaps its dst", SG_OVERLAP, -EINVAL },
	{ "sg entry 2 dst range wraps", SG_WRAPS, -EINVAL },
	{ "sg reserved flag bit 24", SG_FLAG_24, -EINVAL },
	{ "layout copy, NULL layouts", LAYOUT, -EINVAL },
	{ "copy adjacent, dst right after src", G_COPY_ADJ_FWD, 0 },
	{ "copy adjacent, src right after dst", G_COPY_ADJ_BACK, 0 },
	{ "copy with FENCE", G_COPY_FENCE, 0 },
	{ "copy with NONTEMPORAL", G_COPY_NT, 0 },
	{ "copy with CACHED", G_COPY_CACHED, 0 },
	{ "copy with NO_INLINE", G_COPY_NO_INLINE, 0 },
	{ "copy with FENCE|NONTEMPORAL|NO_INLINE", G_COPY_FENCE_NT_NO_INLINE, 0 },
	{ "fill with NONTEMPORAL", G_FILL_NT, 0 },
	{ "fill with CACHED", G_FILL_CACHED, 0 },
	{ "sg with NONTEMPORAL", G_SG_NT, 0 },
	{ "custom with FENCE|CACHED|NO_INLINE", G_CUSTOM_FLAGS, 0 },
	{ "fill pattern_len 16", G_FILL, 0 },
	{ "sg 3 entries", G_SG, 0 },
	{ "custom", G_CUSTOM, 0 },
	{ "copy n 0, NULL pointers", G_COPY_0_NULL, 0 },
};

static const struct row align_rows[] = {
	{ "align 64: copy dst + 1", A_COPY_DST1, -EINVAL },
	{ "align 64: copy dst + 32", A_COPY_DST32, -EINVAL },
	{ "align 64: copy src + 8", A_COPY_SRC8, -EINVAL },
	{ "align 64: copy n 100", A_COPY_N100, -EINVAL },
	{ "align 64: copy n 65", A_COPY_N65, -EINVAL },
	{ "align 64: fill n 100", A_FILL_N100, -EINVAL },
	{ "align 64: fill dst + 4", A_FILL_DST4, -EINVAL },
	{ "align 64: sg entry 2 dst + 2", A_SG_DST2, -EINVAL },
	{ "align 64: sg entry 1 src + 16", A_SG_SRC16, -EINVAL },
	{ "align 64: sg entry 0 n 63", A_SG_N63, -EINVAL },
	{ "align 64: custom dst + 1", A_CUSTOM_DST1, -EINVAL },
	{ "align 64: custom src + 1", A_CUSTOM_SRC1, -EINVAL },
	{ "align 64: copy aligned", AG_COPY, 0 },
	{ "align 64: copy n 0", AG_COPY_0, 0 },
	{ "align 64: fill aligned, pattern 16", AG_FILL16, 0 },
	{ "align 64: fill aligned, pattern 1", AG_FILL1, 0 },
	{ "align 64: sg aligned", AG_SG, 0 },
	{ "align 64: custom aligned", AG_CUSTOM, 0 },
};

static struct bufs *bufs_new(void)
{
	struct bufs *b = calloc(1, sizeof(*b));

	ASSERT(b != NULL);
	b->dst = aligned_alloc(64, BUF);
	b->src = aligned_alloc(64, BUF);
	ASSERT(b->dst && b->src);
	t_fill_random(b->src, BUF, 77);
	memset(b->dst, 0x5A, BUF);
	for (int i = 0; i < 16; i++)
		b->pat[i] = (uint8_t)(0xC0 + i);
	memset(b->layout_storage, 0, sizeof(b->layout_storage));
	return b;
}

static void bufs_free(struct bufs *b)
{
	free(b->dst);
	free(b->src);
	free(b);
}

/* Runs every row of @rows against @e; bad rows alone and first in a batch. */
static void run_rows(struct adma_engine *e, const struct row *rows, size_t nrows)
{
	struct bufs *b = bufs_new();
	uint8_t *snap_dst = malloc(BUF), *snap_src = malloc(BUF);
	const char *cfg_name = t_config_name;
	char name[256];

	ASSERT(snap_dst && snap_src);
	atomic_store(&stray_calls, 0);
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		struct adma_stats before, after;
		struct adma_op ops[2];
		uint64_t tickets[2] = { 0, 0 };
		int rc;

		snprintf(name, sizeof(name), "%s: %s", cfg_name, r->name);
		t_config_name = name;
		if (r->err == 0) {
			/* A good row: accepted, completes with status 0. */
			make(r->id, &ops[0], b);
			ASSERT_EQ(adma_submit(e, ops, 1, tickets), 1);
			ASSERT_EQ(adma_wait(e, tickets[0], -1), 0);
			ASSERT_EQ(t_drain(e), 0);
			memset(b->dst, 0x5A, BUF);
			continue;
		}

		memcpy(snap_dst, b->dst, BUF);
		memcpy(snap_src, b->src, BUF);
		before = t_stats(e);

		/* Alone. */
		make(r->id, &ops[0], b);
		adma_op_set_callback(&ops[0], stray_cb, NULL);
		rc = adma_submit(e, ops, 1, tickets);
		if (rc != r->err)
			T_FAILED("adma_submit returned %d (%s), expected %d (%s)", rc,
				 adma_strerror(rc), r->err, adma_strerror(r->err));
		check_last_error(name);

		/* First of a batch whose second op is good: nothing is accepted. */
		make(r->id, &ops[0], b);
		adma_op_set_callback(&ops[0], stray_cb, NULL);
		adma_prep_copy(&ops[1], b->dst + 2048, b->src + 2048, 64);
		adma_op_set_callback(&ops[1], stray_cb, NULL);
		rc = adma_submit(e, ops, 2, tickets);
		if (rc != r->err)
			T_FAILED("batch [bad, good]: submit returned %d (%s), expected %d (%s)", rc,
				 adma_strerror(rc), r->err, adma_strerror(r->err));
		check_last_error(name);

		after = t_stats(e);
		ASSERT_UEQ(after.submitted, before.submitted);
		ASSERT_UEQ(after.completed, before.completed);
		ASSERT_UEQ(after.in_flight, 0);
		if (memcmp(b->dst, snap_dst, BUF) != 0)
			T_FAILED("%s", "a rejected op wrote to the destination buffer");
		if (memcmp(b->src, snap_src, BUF) != 0)
			T_FAILED("%s", "a rejected op wrote to the source buffer");
	}
	t_config_name = cfg_name;
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&stray_calls), 0);
	free(snap_dst);
	free(snap_src);
	bufs_free(b);
}

/* A batch whose 3rd op is bad: the 2 before it are accepted and complete; nothing after. */
static void test_batch_prefix(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	struct bufs *b = bufs_new();
	struct adma_op ops[5];
	uint64_t t[5] = { 0 };
	struct adma_stats before = t_stats(e), after;

	atomic_store(&stray_calls, 0);
	for (int i = 0; i < 5; i++) {
		adma_prep_copy(&ops[i], b->dst + 256 * i, b->src + 256 * i, 200);
		adma_op_set_callback(&ops[i], stray_cb, NULL);
	}
	adma_prep_copy(&ops[2], b->dst + 512, b->dst + 513, 100); /* overlap */
	adma_op_set_callback(&ops[2], stray_cb, NULL);
	ASSERT_EQ(adma_submit(e, ops, 5, t), 2);
	ASSERT_GT(t[0], 0);
	ASSERT_GT(t[1], t[0]);
	ASSERT_EQ(adma_wait(e, t[0], -1), 0);
	ASSERT_EQ(adma_wait(e, t[1], -1), 0);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&stray_calls), 2);
	ASSERT(memcmp(b->dst, b->src, 200) == 0);
	ASSERT(memcmp(b->dst + 256, b->src + 256, 200) == 0);
	for (size_t k = 512; k < BUF; k++)
		if (b->dst[k] != 0x5A)
			T_FAILED("byte %zu written by an op after the rejected one", k);
	after = t_stats(e);
	ASSERT_UEQ(after.submitted - before.submitted, 2);
	ASSERT_UEQ(after.completed - before.completed, 2);
	ASSERT_UEQ(after.bytes - before.bytes, 400);
	/* The ticket after a rejected batch tail still increases strictly. */
	uint64_t t2 = 0;

	adma_prep_copy(&ops[0], b->dst + 3000, b->src, 10);
	ASSERT_EQ(adma_submit(e, ops, 1, &t2), 1);
	ASSERT_GT(t2, t[1]);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_OK(adma_engine_destroy(&e));
	bufs_free(b);
}

/* Every op flag bit alone: bits 0-3 are defined and accepted, 4-23 unknown, 24-31 reserved. */
static void test_every_flag_bit(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	struct bufs *b = bufs_new();
	const char *cfg_name = t_config_name;
	char name[128];

	atomic_store(&stray_calls, 0);
	for (unsigned bit = 0; bit < 32; bit++) {
		struct adma_op op;
		uint64_t t = 0;

		snprintf(name, sizeof(name), "%s: op flag bit %u alone", cfg_name, bit);
		t_config_name = name;
		adma_prep_copy(&op, b->dst, b->src, 64);
		adma_op_set_flags(&op, 1u << bit);
		if (bit < 4) {
			ASSERT_EQ(adma_submit(e, &op, 1, &t), 1);
			ASSERT_EQ(adma_wait(e, t, -1), 0);
			ASSERT(memcmp(b->dst, b->src, 64) == 0);
			memset(b->dst, 0x5A, BUF);
			continue;
		}
		adma_op_set_callback(&op, stray_cb, NULL);
		ASSERT_ERR(adma_submit(e, &op, 1, &t), -EINVAL);
		check_last_error(name);
		for (unsigned k = 0; k < 64; k++)
			ASSERT_EQ(b->dst[k], 0x5A);
	}
	t_config_name = cfg_name;
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&stray_calls), 0);
	ASSERT_OK(adma_engine_destroy(&e));
	bufs_free(b);
}

/* Engine calls with bad arguments. */
static void test_calls(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	struct bufs *b = bufs_new();
	struct adma_op op;
	struct adma_stats st;
	struct adma_result res;
	uint64_t t = 0;
	uint8_t snap[BUF];

	atomic_store(&stray_calls, 0);
	adma_prep_copy(&op, b->dst, b->src, 64);
	ASSERT_EQ(adma_submit(e, &op, 1, &t), 1);
	ASSERT_EQ(t_drain(e), 0);
	memcpy(snap, b->dst, BUF);
	const uint64_t submitted = t_stats(e).submitted;

#define BAD(call, err)                   \
	do {                             \
		ASSERT_ERR(call, err);   \
		check_last_error(#call); \
	} while (0)

	adma_prep_copy(&op, b->dst + 100, b->src, 64);
	adma_op_set_callback(&op, stray_cb, NULL);
	BAD(adma_submit(NULL, &op, 1, NULL), -EINVAL);
	BAD(adma_submit(NULL, &op, 1, &t), -EINVAL);
	BAD(adma_submit(e, NULL, 1, NULL), -EINVAL);
	BAD(adma_submit(e, NULL, 5, NULL), -EINVAL);
	ASSERT_EQ(adma_submit(e, &op, 0, NULL), 0);
	ASSERT_EQ(adma_submit(e, NULL, 0, NULL), 0);
	ASSERT_EQ(adma_submit(e, &op, 0, &t), 0);
	BAD(adma_memcpy(NULL, b->dst, b->src, 64, stray_cb, NULL), -EINVAL);
	BAD(adma_memcpy(e, NULL, b->src, 64, stray_cb, NULL), -EINVAL);
	BAD(adma_memcpy(e, b->dst, NULL, 64, stray_cb, NULL), -EINVAL);
	BAD(adma_memcpy(e, b->dst, b->dst + 1, 64, stray_cb, NULL), -EINVAL);
	BAD(adma_memcpy(e, (void *)(UINTPTR_MAX - 10), b->src, 100, stray_cb, NULL), -EINVAL);

	BAD(adma_wait(e, 0, 0), -EINVAL);
	BAD(adma_wait(e, 0, -1), -EINVAL);
	BAD(adma_wait(e, t + 1, 0), -EINVAL);
	BAD(adma_wait(e, t + 1000000, 0), -EINVAL);
	BAD(adma_wait(e, t + 1000, -1), -EINVAL); /* never issued: must not wait forever */
	BAD(adma_wait(e, UINT64_MAX, 1000000), -EINVAL);
	BAD(adma_wait(e, t, -2), -EINVAL);
	BAD(adma_wait(e, t, INT64_MIN), -EINVAL);
	BAD(adma_wait(NULL, t, 0), -EINVAL);
	ASSERT_EQ(adma_wait(e, t, 0), 0); /* the issued ticket is fine */

	BAD(adma_barrier(NULL, 0), -EINVAL);
	BAD(adma_barrier(e, -2), -EINVAL);

	BAD(adma_cancel(e, 0), -EINVAL);
	BAD(adma_cancel(e, t + 1000), -EINVAL);
	BAD(adma_cancel(e, UINT64_MAX), -EINVAL);
	BAD(adma_cancel(NULL, t), -EINVAL);

	BAD(adma_stats(NULL, &st), -EINVAL);
	BAD(adma_stats(e, NULL), -EINVAL);
	BAD(adma_stats(NULL, NULL), -EINVAL);
	BAD(adma_fd(NULL), -EINVAL);
	BAD(adma_poll(NULL, &res, 1), -EINVAL);
	BAD(adma_poll(NULL, NULL, 0), -EINVAL);
	ASSERT_EQ(adma_poll(e, &res, 0), 0); /* max 0 handles nothing */
#undef BAD

	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&stray_calls), 0);
	ASSERT_UEQ(t_stats(e).submitted, submitted);
	ASSERT(memcmp(snap, b->dst, BUF) == 0);
	ASSERT_OK(adma_engine_destroy(&e));
	bufs_free(b);
}

/* The failure message is per thread: another thread's failure does not show here. */
static void *other_thread(void *arg)
{
	(void)arg;
	ASSERT_ERR(adma_stats(NULL, NULL), -EINVAL);
	ASSERT(strstr(adma_last_error(), "adma") != NULL);
	return NULL;
}

static void test_last_error_thread_local(void)
{
	pthread_t th;
	char mine[512];
	const char *m;

	t_config_name = "last_error thread-local";
	ASSERT_ERR(adma_wait(NULL, 1, 0), -EINVAL);
	snprintf(mine, sizeof(mine), "%s", adma_last_error());
	ASSERT(strstr(mine, "adma") != NULL);
	ASSERT_EQ(pthread_create(&th, NULL, other_thread, NULL), 0);
	ASSERT_EQ(pthread_join(th, NULL), 0);
	m = adma_last_error();
	ASSERT(m != NULL);
	if (strcmp(m, mine) != 0) /* still our own failure, not the other thread's */
		T_FAILED("adma_last_error() changed from \"%s\" to \"%s\" by another thread", mine,
			 m);
}

int main(void)
{
	FOR_EACH_CONFIG (c) {
		struct adma_engine *e = t_engine(c, 0, 0);

		run_rows(e, op_rows, sizeof(op_rows) / sizeof(op_rows[0]));
		ASSERT_OK(adma_engine_destroy(&e));

		struct adma_config cfg;

		adma_config_init(&cfg);
		cfg.backend = c->backend;
		cfg.workers = c->workers;
		cfg.flags = c->flags | ADMA_CFG_QUIET;
		cfg.align = 64;
		ASSERT_OK(adma_engine_create(&e, &cfg));
		run_rows(e, align_rows, sizeof(align_rows) / sizeof(align_rows[0]));
		ASSERT_OK(adma_engine_destroy(&e));

		test_batch_prefix(c);
		test_every_flag_bit(c);
		test_calls(c);
	}
	test_last_error_thread_local();
	return T_PASS;
}
