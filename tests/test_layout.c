/* SPDX-License-Identifier: MIT */
/*
 * Layout copies (adma_prep_copy_layout) and the layout constructors.
 *
 * Every copy is checked against a naive reference: element k of the source, in row-major order
 * of the source's own dims, lands on element k of the destination in row-major order of the
 * destination's dims (elem_size bytes, memcpy). The whole destination buffer is compared, so
 * bytes outside the layout must keep their fill; the result says status 0 and count x elem_size
 * bytes. Under every configuration of the matrix:
 *   - random cases (500 per configuration, 4500 in all; 40 under TSan, 15 under valgrind;
 *     ADMA_TEST_SEED sets the seed): 1 to 8 dims, element sizes 1 to 32, dense parents (row-
 *     or col-major) sliced, transposed and reversed through the constructors, sometimes a
 *     destination of other dims with the same count (reshape pairing), zero-extent dims (empty
 *     copies), zero source strides (broadcast), random op flags; in batches of up to four;
 *   - large cases whose dims merge into long contiguous runs (1-D, 2-D, 3-D, col-major,
 *     reshapes of contiguous data);
 *   - 2-D transposes of elements of 1, 2, 4, 8 and 16 bytes at 1000x37, 64x64 and 513x1025,
 *     both directions (a transposed source, a transposed destination);
 *   - the submit checks, as a table of hand-made layouts with the exact errno and no side
 *     effect (nothing written, nothing queued, no callback), next to rows that must pass;
 *     the engine align rule on base, element size and strides;
 *   - a queued layout op cancelled (-ECANCELED, nothing written);
 *   - layouts that die right after adma_submit (stack temporaries overwritten, heap copies
 *     freed): the copy must have taken what it needed.
 * On engines with a small split_size: big layouts (a 1024x1024 block of doubles, a 2048x512
 * float transpose, a reshape of a slice, 12- and 24-byte elements) are split (stats.split
 * grows) and land right, a queued one is cancelled whole; with
 * ADMA_CFG_ORDERED, a FENCE layout op that reads what the layout op before it wrote, and
 * ADMA_OP_NONTEMPORAL / ADMA_OP_CACHED (stats.nontemporal follows the flag on copies of
 * contiguous runs; transposes go by tiles and never count).
 * The constructors: exact values (dense strides, slice base, transpose, reverse, out == in)
 * and every documented -EINVAL, leaving *out untouched.
 */
#include "helpers.h"
#include "layout_ref.h"

#include <stddef.h>

#define MAXD ADMA_MAX_DIMS
#define MIB (1u << 20)
#define GUARD 64 /* bytes of fill after every parent array */

/* ---- the reference ---------------------------------------------------------------------- */

/* Element count, or SIZE_MAX if it overflows. */
static size_t lay_count(const struct adma_layout *l)
{
	size_t n = 1;

	for (unsigned i = 0; i < l->ndims; i++) {
		if (l->dims[i] == 0)
			return 0;
		if (n > SIZE_MAX / l->dims[i])
			return SIZE_MAX;
		n *= l->dims[i];
	}
	return n;
}

/* What copying @src to @dst must leave in the destination buffer: @out starts as a copy of
 * the destination buffer @dbuf; the source is read from @in, a copy of the source buffer
 * @sbuf (the same address translation). */
static void ref_copy(uint8_t *out, const uint8_t *dbuf, const struct adma_layout *dst,
		     const uint8_t *in, const uint8_t *sbuf, const struct adma_layout *src)
{
	size_t n = lay_count(dst), es = dst->elem_size;
	ptrdiff_t db = (const uint8_t *)dst->base - dbuf, sb = (const uint8_t *)src->base - sbuf;

	for (size_t k = 0; k < n; k++)
		memcpy(out + db + elem_offset(dst, k), in + sb + elem_offset(src, k), es);
}

static int describe(char *buf, size_t cap, const struct adma_layout *l, const void *bufbase)
{
	int w = snprintf(buf, cap, "base %+td es %zu dims [",
			 (const uint8_t *)l->base - (const uint8_t *)bufbase, l->elem_size);

	for (unsigned i = 0; i < l->ndims && i < MAXD && (size_t)w < cap; i++)
		w += snprintf(buf + w, cap - (size_t)w, "%s%zu", i ? " " : "", l->dims[i]);
	if ((size_t)w < cap)
		w += snprintf(buf + w, cap - (size_t)w, "] strides [");
	for (unsigned i = 0; i < l->ndims && i < MAXD && (size_t)w < cap; i++)
		w += snprintf(buf + w, cap - (size_t)w, "%s%td", i ? " " : "", l->strides[i]);
	if ((size_t)w < cap)
		w += snprintf(buf + w, cap - (size_t)w, "]");
	return w;
}

/* ---- one copy: buffers, layouts, the expected result --------------------------------------- */

struct lcase {
	struct adma_layout d, s;
	uint8_t *dbuf, *sbuf; /* the parents' allocations */
	size_t dcap, scap;
	uint8_t *expect; /* dcap bytes */
	unsigned flags;	 /* op flags */
	struct t_rec rec;
	uint64_t ticket;
	const char *what;
};

static uint8_t *xmalloc(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	ASSERT(p != NULL);
	return p;
}

static void lcase_free(struct lcase *k)
{
	free(k->dbuf);
	free(k->sbuf);
	free(k->expect);
	k->dbuf = k->sbuf = k->expect = NULL;
}

/* Fills the buffers (the source with random bytes, the destination with another random
 * pattern, the canary) and computes the expected destination. */
static void lcase_prepare(struct lcase *k, uint64_t seed)
{
	t_fill_random(k->sbuf, k->scap, seed * 2 + 1);
	t_fill_random(k->dbuf, k->dcap, seed * 2 + 2);
	k->expect = xmalloc(k->dcap);
	memcpy(k->expect, k->dbuf, k->dcap);
	ref_copy(k->expect, k->dbuf, &k->d, k->sbuf, k->sbuf, &k->s);
	memset(&k->rec, 0, sizeof(k->rec));
}

static void lcase_fail(const struct lcase *k, const char *why, size_t at)
{
	char d[512], s[512];

	describe(d, sizeof(d), &k->d, k->dbuf);
	describe(s, sizeof(s), &k->s, k->sbuf);
	T_FAILED("%s: %s (byte %zu of %zu: 0x%02x, expected 0x%02x)\n  dst %s\n  src %s\n  flags "
		 "0x%x",
		 k->what, why, at, k->dcap, at < k->dcap ? k->dbuf[at] : 0,
		 at < k->dcap ? k->expect[at] : 0, d, s, k->flags);
}

/* After completion: the callback's result and every byte of the destination buffer. */
static void lcase_check(const struct lcase *k)
{
	size_t bytes = lay_count(&k->d) * k->d.elem_size, bad;

	if (atomic_load(&k->rec.calls) != 1)
		lcase_fail(k, "callback did not run exactly once", 0);
	if (k->rec.status != 0 || k->rec.bytes != bytes || k->rec.ticket != k->ticket) {
		char why[160];

		snprintf(why, sizeof(why),
			 "result status %d bytes %zu ticket %" PRIu64 ", expected 0, %zu, %" PRIu64,
			 k->rec.status, k->rec.bytes, k->rec.ticket, bytes, k->ticket);
		lcase_fail(k, why, 0);
	}
	bad = t_first_diff(k->dbuf, k->expect, k->dcap);
	if (bad < k->dcap)
		lcase_fail(k, "destination buffer differs from the reference", bad);
}

/* Submits @n cases as one batch, waits for each, drains, checks data and counters. */
static void run_cases(struct adma_engine *e, struct lcase *ks, unsigned n)
{
	struct adma_op ops[8];
	uint64_t tickets[8] = { 0 };
	struct adma_stats before = t_stats(e), after;
	uint64_t bytes = 0;

	ASSERT_LE(n, 8);
	for (unsigned i = 0; i < n; i++) {
		adma_prep_copy_layout(&ops[i], &ks[i].d, &ks[i].s);
		adma_op_set_flags(&ops[i], ks[i].flags);
		adma_op_set_callback(&ops[i], t_rec_cb, &ks[i].rec);
		bytes += lay_count(&ks[i].d) * ks[i].d.elem_size;
	}
	int rc = adma_submit(e, ops, n, tickets);

	if (rc != (int)n) {
		for (unsigned i = 0; i < n; i++) {
			char d[512], s[512];

			describe(d, sizeof(d), &ks[i].d, ks[i].dbuf);
			describe(s, sizeof(s), &ks[i].s, ks[i].sbuf);
			fprintf(stderr, "op %u (%s):\n  dst %s\n  src %s\n", i, ks[i].what, d, s);
		}
		T_FAILED("adma_submit of %u layout ops returned %d (%s): %s", n, rc,
			 adma_strerror(rc), adma_last_error());
	}
	for (unsigned i = 0; i < n; i++) {
		ks[i].ticket = tickets[i];
		int w = adma_wait(e, tickets[i], 60 * SEC);

		if (w != 0)
			lcase_fail(&ks[i], adma_strerror(w), 0);
	}
	ASSERT_EQ(t_drain(e), 0);
	for (unsigned i = 0; i < n; i++)
		lcase_check(&ks[i]);
	after = t_stats(e);
	ASSERT_UEQ(after.submitted - before.submitted, n);
	ASSERT_UEQ(after.completed - before.completed, n);
	ASSERT_UEQ(after.failed - before.failed, 0);
	ASSERT_UEQ(after.bytes - before.bytes, bytes);
}

/* ---- random layouts ------------------------------------------------------------------------ */

static size_t rnd(uint64_t *rs, size_t n) /* 0 .. n-1 */
{
	return n ? (size_t)(t_rand(rs) % n) : 0;
}

static size_t prod(const size_t *v, unsigned n)
{
	size_t p = 1;

	for (unsigned i = 0; i < n; i++)
		p *= v[i];
	return p;
}

static void rand_perm(unsigned *perm, unsigned n, uint64_t *rs, bool identity)
{
	for (unsigned i = 0; i < n; i++)
		perm[i] = i;
	if (identity)
		return;
	for (unsigned i = n; i > 1; i--) {
		unsigned j = (unsigned)rnd(rs, i), t = perm[i - 1];

		perm[i - 1] = perm[j];
		perm[j] = t;
	}
}

/* How a side is built. */
struct side_opts {
	bool plain;   /* dense, no padding, no permutation, no reversal */
	int order;    /* -1: random */
	bool reverse; /* may reverse dims */
};

/*
 * Allocates a buffer with a dense parent array and makes @l a view of it whose dims are
 * exactly @v (@n dims of @es bytes): the view is a slice (random offsets into a parent padded
 * in some dims), then a transpose, then reversals, every step through the constructors, some
 * of them in place (out == in).
 */
static void make_side(struct adma_layout *l, uint8_t **buf, size_t *cap, const size_t *v,
		      unsigned n, size_t es, uint64_t *rs, const struct side_opts *o)
{
	unsigned perm[MAXD];
	size_t blk[MAXD], par[MAXD], off[MAXD], front = o->plain ? 0 : rnd(rs, 64), pbytes;
	int order = o->order >= 0 ? o->order : (int)rnd(rs, 2);
	struct adma_layout p, s;

	rand_perm(perm, n, rs, o->plain || rnd(rs, 3) == 0);
	for (unsigned i = 0; i < n; i++)
		blk[perm[i]] = v[i];
	for (unsigned j = 0; j < n; j++)
		par[j] = blk[j] + (!o->plain && rnd(rs, 3) == 0 ? 1 + rnd(rs, 3) : 0);
	/* keep the parent within 4x the block (+ 4 KiB): padding a run of 1-extent dims would
	 * multiply it */
	for (unsigned j = 0; j < n && prod(par, n) * es > 4 * prod(blk, n) * es + 4096; j++)
		par[j] = blk[j];
	for (unsigned j = 0; j < n; j++)
		off[j] = rnd(rs, par[j] - blk[j] + 1);
	pbytes = prod(par, n) * es;
	*cap = front + pbytes + GUARD;
	*buf = xmalloc(*cap);

	ASSERT_OK(adma_layout_dense(&p, *buf + front, es, n, par, order));
	if (rnd(rs, 2)) {
		ASSERT_OK(adma_layout_slice(&p, &p, off, blk)); /* in place */
		s = p;
	} else {
		ASSERT_OK(adma_layout_slice(&s, &p, off, blk));
	}
	if (rnd(rs, 2)) {
		ASSERT_OK(adma_layout_transpose(&s, &s, perm));
		*l = s;
	} else {
		ASSERT_OK(adma_layout_transpose(l, &s, perm));
	}
	for (unsigned i = 0; o->reverse && !o->plain && i < n; i++) {
		if (v[i] == 0 || rnd(rs, 4) != 0)
			continue;
		if (rnd(rs, 2)) {
			ASSERT_OK(adma_layout_reverse(l, l, i));
		} else {
			struct adma_layout r;

			ASSERT_OK(adma_layout_reverse(&r, l, i));
			*l = r;
		}
	}
	ASSERT_EQ(l->ndims, n);
	ASSERT_UEQ(l->elem_size, es);
	for (unsigned i = 0; i < n; i++)
		ASSERT_UEQ(l->dims[i], v[i]);
}

/* Random dims, @n of them, whose product is at most @budget (>= 1), in random order. */
static void rand_dims(size_t *dims, unsigned n, size_t budget, uint64_t *rs)
{
	size_t p = 1;
	unsigned perm[MAXD];
	size_t tmp[MAXD];

	for (unsigned i = 0; i < n; i++) {
		size_t room = budget / p, cap = i + 1 == n ? room : room < 64 ? room : 64;

		tmp[i] = 1 + rnd(rs, cap ? cap : 1);
		if (rnd(rs, 4) == 0)
			tmp[i] = 1;
		p *= tmp[i];
	}
	rand_perm(perm, n, rs, false);
	for (unsigned i = 0; i < n; i++)
		dims[i] = tmp[perm[i]];
}

/* @n dims whose product is @count (> 0): its prime factors thrown into random dims. */
static void factor_dims(size_t *dims, unsigned n, size_t count, uint64_t *rs)
{
	for (unsigned i = 0; i < n; i++)
		dims[i] = 1;
	for (size_t f = 2; f * f <= count; f++)
		while (count % f == 0) {
			dims[rnd(rs, n)] *= f;
			count /= f;
		}
	if (count > 1)
		dims[rnd(rs, n)] *= count;
}

static const size_t common_es[] = { 1, 2, 4, 8, 16, 3, 12, 24, 32 };

/* One random case, numbered @idx: see the file comment. */
static void make_random(struct lcase *k, uint64_t *rs, bool slow)
{
	size_t es = rnd(rs, 2) ? common_es[rnd(rs, sizeof(common_es) / sizeof(common_es[0]))] :
				 1 + rnd(rs, 32);
	unsigned ns = 1 + (unsigned)rnd(rs, MAXD), nd = ns;
	size_t vs[MAXD], vd[MAXD], budget, count;
	unsigned r = (unsigned)rnd(rs, 100);
	struct side_opts so = { false, -1, true }, dopt = { false, -1, true };

	budget = r < 70 ? 512 : r < 95 ? 8192 : 65536;
	if (slow && budget > 4096)
		budget = 4096;
	rand_dims(vs, ns, budget, rs);
	if (rnd(rs, 20) == 0)
		vs[rnd(rs, ns)] = 0; /* an empty copy */
	count = prod(vs, ns);

	if (rnd(rs, 6) == 0) { /* contiguous on both sides: one run */
		so.plain = dopt.plain = true;
		so.order = dopt.order = (int)rnd(rs, 2);
	}
	if (rnd(rs, 4) == 0) { /* reshape: other dims, same count */
		nd = 1 + (unsigned)rnd(rs, MAXD);
		if (count)
			factor_dims(vd, nd, count, rs);
		else {
			rand_dims(vd, nd, 64, rs);
			vd[rnd(rs, nd)] = 0;
		}
	} else {
		memcpy(vd, vs, sizeof(vs));
	}
	make_side(&k->s, &k->sbuf, &k->scap, vs, ns, es, rs, &so);
	make_side(&k->d, &k->dbuf, &k->dcap, vd, nd, es, rs, &dopt);
	if (rnd(rs, 8) == 0) { /* broadcast: a source dimension read again and again */
		unsigned i = (unsigned)rnd(rs, ns);

		k->s.strides[i] = 0;
		if (rnd(rs, 2))
			k->s.strides[rnd(rs, ns)] = 0;
	}
	switch (rnd(rs, 10)) {
	case 0:
		k->flags = ADMA_OP_NONTEMPORAL;
		break;
	case 1:
		k->flags = ADMA_OP_CACHED;
		break;
	case 2:
		k->flags = ADMA_OP_NO_INLINE;
		break;
	case 3:
		k->flags = ADMA_OP_FENCE;
		break;
	default:
		k->flags = 0;
		break;
	}
}

static void test_random(struct adma_engine *e, unsigned ncases, uint64_t seed)
{
	uint64_t rs = seed | 1;
	const char *cfg_name = t_config_name;
	char name[160];

	for (unsigned done = 0; done < ncases;) {
		struct lcase ks[4];
		unsigned n = 1 + (unsigned)rnd(&rs, 4);

		if (n > ncases - done)
			n = ncases - done;
		memset(ks, 0, sizeof(ks));
		snprintf(name, sizeof(name), "%s: random cases %u..%u (seed %" PRIu64 ")", cfg_name,
			 done, done + n - 1, seed);
		t_config_name = name;
		for (unsigned i = 0; i < n; i++) {
			make_random(&ks[i], &rs, t_slow());
			lcase_prepare(&ks[i], t_rand(&rs));
			ks[i].what = "random case";
		}
		run_cases(e, ks, n);
		for (unsigned i = 0; i < n; i++)
			lcase_free(&ks[i]);
		done += n;
	}
	t_config_name = cfg_name;
}

/* ---- fixed shapes: contiguous runs and transposes ------------------------------------------ */

/* A case over dense parents: @pd/@pdn the destination parent's dims, @ps/@psn the source's;
 * the views are the parents, then @dview / @sview adjust them (may be NULL). */
static void dense_case(struct lcase *k, size_t es, const size_t *pd, unsigned pdn, int dorder,
		       const size_t *ps, unsigned psn, int sorder)
{
	size_t dn = prod(pd, pdn) * es, sn = prod(ps, psn) * es;

	memset(k, 0, sizeof(*k));
	k->dcap = dn + GUARD + 16;
	k->scap = sn + 16;
	k->dbuf = xmalloc(k->dcap);
	k->sbuf = xmalloc(k->scap);
	ASSERT_OK(adma_layout_dense(&k->d, k->dbuf + 16, es, pdn, pd, dorder));
	ASSERT_OK(adma_layout_dense(&k->s, k->sbuf + 16, es, psn, ps, sorder));
}

static void run_one(struct adma_engine *e, struct lcase *k, uint64_t seed)
{
	lcase_prepare(k, seed);
	run_cases(e, k, 1);
	lcase_free(k);
}

/* Copies whose dims merge into long contiguous runs. */
static void test_contiguous(struct adma_engine *e, bool slow)
{
	const size_t q = slow ? 8 : 1; /* shrink */
	const char *cfg_name = t_config_name;
	char name[160];
	struct lcase k;

#define NAME(s)                                                                  \
	do {                                                                     \
		snprintf(name, sizeof(name), "%s: contiguous: %s", cfg_name, s); \
		t_config_name = name;                                            \
		k.what = s;                                                      \
	} while (0)

	{ /* 1-D, 3 MiB + 5 single bytes */
		size_t d[1] = { (3 * MIB + 5) / q };

		dense_case(&k, 1, d, 1, ADMA_ROW_MAJOR, d, 1, ADMA_COL_MAJOR);
		NAME("1-D bytes");
		run_one(e, &k, 1);
	}
	{ /* 2-D 1024 x 1024 floats, row-major both */
		size_t d[2] = { 1024 / q, 1024 };

		dense_case(&k, 4, d, 2, ADMA_ROW_MAJOR, d, 2, ADMA_ROW_MAJOR);
		NAME("2-D floats row-major");
		run_one(e, &k, 2);
	}
	{ /* col-major both sides, 4096 x 300 shorts */
		size_t d[2] = { 4096, 300 / q };

		dense_case(&k, 2, d, 2, ADMA_COL_MAJOR, d, 2, ADMA_COL_MAJOR);
		NAME("2-D col-major");
		run_one(e, &k, 3);
	}
	{ /* 3-D: a block of whole planes of [80][64][256] bytes */
		size_t ps[3] = { 80, 64 / q, 256 }, pd[3] = { 64, 64 / q, 256 };
		size_t off[3] = { 9, 0, 0 };

		dense_case(&k, 1, pd, 3, ADMA_ROW_MAJOR, ps, 3, ADMA_ROW_MAJOR);
		ASSERT_OK(adma_layout_slice(&k.s, &k.s, off, pd));
		NAME("3-D block of whole planes");
		run_one(e, &k, 4);
	}
	{ /* rows of 4000 of a [300][4096] parent: runs of one row each */
		size_t pd[2] = { 256 / q, 4000 }, ps[2] = { pd[0] + 44, 4096 };
		size_t off[2] = { 7, 33 };

		dense_case(&k, 1, pd, 2, ADMA_ROW_MAJOR, ps, 2, ADMA_ROW_MAJOR);
		ASSERT_OK(adma_layout_slice(&k.s, &k.s, off, pd));
		NAME("2-D block of partial rows");
		run_one(e, &k, 5);
	}
	{ /* reshape of contiguous data: [1000][1000] floats to [10][100000] */
		size_t ps[2] = { 1000 / q, 1000 }, pd[2] = { 10, 100000 / q };

		dense_case(&k, 4, pd, 2, ADMA_ROW_MAJOR, ps, 2, ADMA_ROW_MAJOR);
		NAME("reshape [1000][1000] -> [10][100000]");
		run_one(e, &k, 6);
	}
	{ /* a 24-byte element, 8 dims, contiguous */
		size_t d[8] = { 2, 3, 4, 5, 2, 3, 4, 5 / (q > 1 ? 5 : 1) };

		dense_case(&k, 24, d, 8, ADMA_ROW_MAJOR, d, 8, ADMA_ROW_MAJOR);
		NAME("8-D, 24-byte elements");
		run_one(e, &k, 7);
	}
#undef NAME
	t_config_name = cfg_name;
}

/* 2-D transposes: @rows x @cols of @es bytes, a transposed source into a dense destination
 * and a dense source into a transposed destination. */
static void transpose_pair(struct adma_engine *e, size_t es, size_t rows, size_t cols)
{
	const unsigned t10[2] = { 1, 0 };
	const char *cfg_name = t_config_name;
	char name[160];
	struct lcase k;
	size_t rc[2] = { rows, cols }, cr[2] = { cols, rows };

	snprintf(name, sizeof(name), "%s: transpose %zux%zu of %zu-byte elements, source side",
		 cfg_name, rows, cols, es);
	t_config_name = name;
	dense_case(&k, es, cr, 2, ADMA_ROW_MAJOR, rc, 2, ADMA_ROW_MAJOR);
	ASSERT_OK(adma_layout_transpose(&k.s, &k.s, t10));
	k.what = name;
	run_one(e, &k, rows * 31 + cols + es);

	snprintf(name, sizeof(name), "%s: transpose %zux%zu of %zu-byte elements, destination side",
		 cfg_name, rows, cols, es);
	dense_case(&k, es, cr, 2, ADMA_ROW_MAJOR, rc, 2, ADMA_ROW_MAJOR);
	ASSERT_OK(adma_layout_transpose(&k.d, &k.d, t10));
	k.what = name;
	run_one(e, &k, rows * 37 + cols + es);
	t_config_name = cfg_name;
}

static void test_transposes(struct adma_engine *e, const struct t_config *c, bool first)
{
	static const size_t ess[] = { 1, 2, 4, 8, 16 };

	for (size_t i = 0; i < sizeof(ess) / sizeof(ess[0]); i++) {
		transpose_pair(e, ess[i], 1000, 37);
		transpose_pair(e, ess[i], 64, 64);
		/* tile edges on both sides; under valgrind/TSan once per element size, on the
		 * first configuration */
		if (!t_slow() || first)
			transpose_pair(e, ess[i], 513, 1025);
	}
	(void)c;
}

/* ---- the submit checks --------------------------------------------------------------------- */

#define RB 4096 /* bytes of each row buffer */

struct rbufs {
	uint8_t *d, *s; /* RB bytes each, 64-aligned */
	struct adma_layout ld, ls;
};

static atomic_int stray_calls;

static void stray_cb(void *arg, const struct adma_result *res)
{
	(void)arg;
	(void)res;
	atomic_fetch_add(&stray_calls, 1);
}

/* A hand-made layout. */
static struct adma_layout hand(void *base, size_t es, unsigned n, const size_t *dims,
			       const ptrdiff_t *strides)
{
	struct adma_layout l;

	memset(&l, 0, sizeof(l));
	l.base = base;
	l.elem_size = es;
	l.ndims = n;
	for (unsigned i = 0; i < n && i < MAXD; i++) {
		l.dims[i] = dims[i];
		l.strides[i] = strides[i];
	}
	return l;
}

#define HAND(base, es, n, ...) hand_v((base), (es), (n), __VA_ARGS__)
/* hand_v(base, es, n, d0, s0, d1, s1, ...): dims and strides interleaved, up to 4 dims */
static struct adma_layout hand_v(void *base, size_t es, unsigned n, size_t d0, ptrdiff_t s0,
				 size_t d1, ptrdiff_t s1, size_t d2, ptrdiff_t s2)
{
	size_t dims[3] = { d0, d1, d2 };
	ptrdiff_t strides[3] = { s0, s1, s2 };

	return hand(base, es, n, dims, strides);
}

/* clang-format off */
enum lrow {
	/* -EINVAL */
	L_NULL_DST, L_NULL_SRC, L_NULL_BOTH, L_DST_NDIMS0, L_SRC_NDIMS9, L_DST_NDIMS9,
	L_ES0, L_DST_ES0, L_DST_BASE_NULL, L_SRC_BASE_NULL, L_ES_DIFF, L_ES_DIFF_SAME_BYTES,
	L_COUNT_DIFF, L_COUNT_DIFF_EMPTY, L_COUNT_OVERFLOW, L_SRC_SPAN_OVERFLOW,
	L_DST_SPAN_OVERFLOW, L_DST_WRAPS, L_DST_STRIDE0, L_DST_STRIDE0_INNER,
	L_DST_STRIDE_LT_ES, L_DST_NEG_STRIDE_LT_ES, L_DST_DIMS_OVERLAP, L_DST_DIMS_OVERLAP_NEG,
	L_DST_CONSERVATIVE, L_SPANS_INTERLEAVED, L_INPLACE_TRANSPOSE, L_SAME_LAYOUT,
	L_DST_INSIDE_SRC, L_SRC_INSIDE_DST, L_SPANS_SHARE_ONE_BYTE, L_BAD_FLAGS,
	/* accepted */
	G_TRANSPOSED_DST, G_PADDED_DST, G_BROADCAST_SRC, G_SRC_SELF_OVERLAP, G_ADJACENT_SPANS,
	G_ADJACENT_SPANS_BACK, G_EMPTY_NULL, G_EMPTY_OTHER_DIMS, G_REVERSED_DST, G_RESHAPE,
	G_ONE_ELEMENT, G_NEG_STRIDES_BOTH,
	/* align 16 */
	A_DST_BASE8, A_SRC_BASE8, A_ES8, A_DST_STRIDE24, A_SRC_STRIDE40, A_SRC_STRIDE_NEG8,
	AG_ALIGNED, AG_BROADCAST,
};

static void lmake(enum lrow id, struct adma_op *op, struct rbufs *b)
{
	uint8_t *d = b->d, *s = b->s;
	struct adma_layout *ld = &b->ld, *ls = &b->ls;
	const size_t d44[2] = { 4, 4 }, d16[1] = { 16 };
	const unsigned t10[2] = { 1, 0 };

	/* the default: 16 x 4-byte elements, dense on both sides */
	ASSERT_OK(adma_layout_dense(ld, d, 4, 1, d16, ADMA_ROW_MAJOR));
	ASSERT_OK(adma_layout_dense(ls, s, 4, 1, d16, ADMA_ROW_MAJOR));
	adma_prep_copy_layout(op, ld, ls);
	switch (id) {
	case L_NULL_DST: adma_prep_copy_layout(op, NULL, ls); break;
	case L_NULL_SRC: adma_prep_copy_layout(op, ld, NULL); break;
	case L_NULL_BOTH: adma_prep_copy_layout(op, NULL, NULL); break;
	case L_DST_NDIMS0: ld->ndims = 0; break;
	case L_SRC_NDIMS9: ls->ndims = 9; break;
	case L_DST_NDIMS9: ld->ndims = ADMA_MAX_DIMS + 1; break;
	case L_ES0: ld->elem_size = 0; ls->elem_size = 0; break;
	case L_DST_ES0: ld->elem_size = 0; break;
	case L_DST_BASE_NULL: ld->base = NULL; break;
	case L_SRC_BASE_NULL: ls->base = NULL; break;
	case L_ES_DIFF: *ld = HAND(d, 8, 1, 16, 8, 0, 0, 0, 0); break;
	case L_ES_DIFF_SAME_BYTES: *ld = HAND(d, 8, 1, 8, 8, 0, 0, 0, 0); break;
	case L_COUNT_DIFF: *ld = HAND(d, 4, 1, 15, 4, 0, 0, 0, 0); break;
	case L_COUNT_DIFF_EMPTY: *ld = HAND(d, 4, 2, 0, 16, 4, 4, 0, 0); break;
	case L_COUNT_OVERFLOW: /* 2^32 x 2^32 elements both sides: the count overflows */
		*ls = HAND(s, 1, 2, (size_t)1 << 32, 0, (size_t)1 << 32, 0, 0, 0);
		*ld = HAND(d, 1, 2, (size_t)1 << 32, 0, (size_t)1 << 32, 1, 0, 0);
		break;
	case L_SRC_SPAN_OVERFLOW: /* 4 elements PTRDIFF_MAX apart: 3 x PTRDIFF_MAX bytes */
		*ls = HAND(s, 4, 1, 4, PTRDIFF_MAX, 0, 0, 0, 0);
		*ld = HAND(d, 4, 1, 4, 4, 0, 0, 0, 0);
		break;
	case L_DST_SPAN_OVERFLOW:
		*ls = HAND(s, 4, 1, 4, 4, 0, 0, 0, 0);
		*ld = HAND(d, 4, 1, 4, -PTRDIFF_MAX, 0, 0, 0, 0);
		break;
	case L_DST_WRAPS: /* base near the top of the address space */
		*ld = HAND((void *)(UINTPTR_MAX - 31), 4, 1, 16, 4, 0, 0, 0, 0);
		break;
	case L_DST_STRIDE0: *ld = HAND(d, 4, 1, 16, 0, 0, 0, 0, 0); break;
	case L_DST_STRIDE0_INNER: *ld = HAND(d, 4, 2, 8, 4, 2, 0, 0, 0); break;
	case L_DST_STRIDE_LT_ES: *ld = HAND(d, 4, 1, 16, 2, 0, 0, 0, 0); break;
	case L_DST_NEG_STRIDE_LT_ES: *ld = HAND(d + 64, 4, 1, 16, -3, 0, 0, 0, 0); break;
	case L_DST_DIMS_OVERLAP: /* (0,2) and (1,0) are the same element */
		*ld = HAND(d, 4, 2, 4, 8, 4, 4, 0, 0);
		break;
	case L_DST_DIMS_OVERLAP_NEG: *ld = HAND(d + 256, 4, 2, 4, -8, 4, -4, 0, 0); break;
	case L_DST_CONSERVATIVE:
		/* 1-byte elements at {0, 2, 4} + {0, 3}: six distinct bytes, but stride 3 does
		 * not step over the 5 bytes the stride-2 dim spans: rejected as documented */
		*ls = HAND(s, 1, 1, 6, 1, 0, 0, 0, 0);
		*ld = HAND(d, 1, 2, 2, 3, 3, 2, 0, 0);
		break;
	case L_SPANS_INTERLEAVED: /* even 8-byte slots from odd ones of the same buffer */
		*ld = HAND(d, 8, 1, 16, 16, 0, 0, 0, 0);
		*ls = HAND(d + 8, 8, 1, 16, 16, 0, 0, 0, 0);
		break;
	case L_INPLACE_TRANSPOSE:
		ASSERT_OK(adma_layout_dense(ls, d, 4, 2, d44, ADMA_ROW_MAJOR));
		ASSERT_OK(adma_layout_transpose(ld, ls, t10));
		break;
	case L_SAME_LAYOUT: *ls = *ld; break;
	case L_DST_INSIDE_SRC:
		*ls = HAND(d, 4, 1, 16, 64, 0, 0, 0, 0);
		*ld = HAND(d + 68, 4, 1, 16, 4, 0, 0, 0, 0);
		break;
	case L_SRC_INSIDE_DST:
		*ld = HAND(d, 4, 1, 16, 64, 0, 0, 0, 0);
		*ls = HAND(d + 4, 4, 1, 16, 4, 0, 0, 0, 0);
		break;
	case L_SPANS_SHARE_ONE_BYTE: /* dst [d, d+64), src [d+63, d+127) */
		*ls = HAND(d + 63, 4, 1, 16, 4, 0, 0, 0, 0);
		break;
	case L_BAD_FLAGS: adma_op_set_flags(op, ADMA_OP_NONTEMPORAL | ADMA_OP_CACHED); break;
	case G_TRANSPOSED_DST: /* dims {8,4} strides {4,32}: interleaved, no overlap */
		ASSERT_OK(adma_layout_dense(ld, d, 4, 2, (const size_t[]){ 4, 8 }, ADMA_ROW_MAJOR));
		ASSERT_OK(adma_layout_transpose(ld, ld, t10));
		ASSERT_OK(adma_layout_dense(ls, s, 4, 2, (const size_t[]){ 8, 4 }, ADMA_ROW_MAJOR));
		break;
	case G_PADDED_DST:
		*ld = HAND(d, 8, 2, 3, 100, 10, 8, 0, 0);
		*ls = HAND(s, 8, 1, 30, 8, 0, 0, 0, 0);
		break;
	case G_BROADCAST_SRC: *ls = HAND(s, 4, 2, 4, 0, 4, 4, 0, 0); break;
	case G_SRC_SELF_OVERLAP: *ls = HAND(s, 4, 1, 16, 2, 0, 0, 0, 0); break;
	case G_ADJACENT_SPANS: /* dst [d, d+64), src [d+64, d+128) */
		*ls = HAND(d + 64, 4, 1, 16, 4, 0, 0, 0, 0);
		break;
	case G_ADJACENT_SPANS_BACK: /* src [d, d+64), dst [d+64, d+128) reversed */
		*ls = HAND(d, 4, 1, 16, 4, 0, 0, 0, 0);
		*ld = HAND(d + 124, 4, 1, 16, -4, 0, 0, 0, 0);
		break;
	case G_EMPTY_NULL:
		*ld = HAND(NULL, 4, 2, 0, 4, 5, 4, 0, 0);
		*ls = HAND(NULL, 4, 2, 0, 4, 5, 4, 0, 0);
		break;
	case G_EMPTY_OTHER_DIMS:
		*ld = HAND(d, 4, 2, 0, 12, 3, 4, 0, 0);
		*ls = HAND(s, 4, 3, 5, 4, 1, 4, 0, 4);
		break;
	case G_REVERSED_DST: ASSERT_OK(adma_layout_reverse(ld, ld, 0)); break;
	case G_RESHAPE:
		ASSERT_OK(adma_layout_dense(ld, d, 4, 2, d44, ADMA_COL_MAJOR));
		ASSERT_OK(adma_layout_dense(ls, s, 4, 2, (const size_t[]){ 2, 8 }, ADMA_ROW_MAJOR));
		break;
	case G_ONE_ELEMENT: /* one element: strides do not matter */
		*ld = HAND(d + 8, 16, 3, 1, 0, 1, -5, 1, 3);
		*ls = HAND(s + 8, 16, 1, 1, 0, 0, 0, 0, 0);
		break;
	case G_NEG_STRIDES_BOTH:
		*ld = HAND(d + 4000, 8, 2, 5, -800, 10, -16, 0, 0);
		*ls = HAND(s + 4000, 8, 2, 10, -8, 5, -400, 0, 0);
		break;
	/* align 16 */
	case A_DST_BASE8: *ld = HAND(d + 8, 16, 1, 4, 16, 0, 0, 0, 0); *ls = HAND(s, 16, 1, 4, 16, 0, 0, 0, 0); break;
	case A_SRC_BASE8: *ld = HAND(d, 16, 1, 4, 16, 0, 0, 0, 0); *ls = HAND(s + 8, 16, 1, 4, 16, 0, 0, 0, 0); break;
	case A_ES8: *ld = HAND(d, 8, 1, 4, 16, 0, 0, 0, 0); *ls = HAND(s, 8, 1, 4, 16, 0, 0, 0, 0); break;
	case A_DST_STRIDE24: *ld = HAND(d, 16, 1, 4, 24, 0, 0, 0, 0); *ls = HAND(s, 16, 1, 4, 16, 0, 0, 0, 0); break;
	case A_SRC_STRIDE40:
		*ld = HAND(d, 16, 2, 2, 32, 2, 16, 0, 0);
		*ls = HAND(s, 16, 2, 2, 40, 2, 16, 0, 0);
		break;
	case A_SRC_STRIDE_NEG8: *ld = HAND(d, 16, 1, 4, 16, 0, 0, 0, 0); *ls = HAND(s + 512, 16, 1, 4, -8, 0, 0, 0, 0); break;
	case AG_ALIGNED:
		*ld = HAND(d + 48, 16, 2, 4, 64, 3, -16, 0, 0);
		*ls = HAND(s + 32, 16, 2, 3, 48, 4, 144, 0, 0);
		break;
	case AG_BROADCAST:
		*ld = HAND(d, 32, 2, 3, 32, 4, 96, 0, 0);
		*ls = HAND(s, 32, 2, 4, 0, 3, 0, 0, 0);
		break;
	}
}
/* clang-format on */

struct lrow_def {
	const char *name;
	enum lrow id;
	int err; /* 0: accepted */
};

static const struct lrow_def lrows[] = {
	{ "NULL destination layout", L_NULL_DST, -EINVAL },
	{ "NULL source layout", L_NULL_SRC, -EINVAL },
	{ "NULL layouts", L_NULL_BOTH, -EINVAL },
	{ "destination ndims 0", L_DST_NDIMS0, -EINVAL },
	{ "source ndims 9", L_SRC_NDIMS9, -EINVAL },
	{ "destination ndims ADMA_MAX_DIMS + 1", L_DST_NDIMS9, -EINVAL },
	{ "elem_size 0 on both sides", L_ES0, -EINVAL },
	{ "destination elem_size 0", L_DST_ES0, -EINVAL },
	{ "destination base NULL with elements", L_DST_BASE_NULL, -EINVAL },
	{ "source base NULL with elements", L_SRC_BASE_NULL, -EINVAL },
	{ "element sizes differ", L_ES_DIFF, -EINVAL },
	{ "element sizes differ, same bytes", L_ES_DIFF_SAME_BYTES, -EINVAL },
	{ "counts differ", L_COUNT_DIFF, -EINVAL },
	{ "counts differ, destination empty", L_COUNT_DIFF_EMPTY, -EINVAL },
	{ "element count overflows", L_COUNT_OVERFLOW, -EINVAL },
	{ "source byte span overflows", L_SRC_SPAN_OVERFLOW, -EINVAL },
	{ "destination byte span overflows (negative stride)", L_DST_SPAN_OVERFLOW, -EINVAL },
	{ "destination wraps the address space", L_DST_WRAPS, -EINVAL },
	{ "destination stride 0, dim 16", L_DST_STRIDE0, -EINVAL },
	{ "destination inner stride 0, dim 2", L_DST_STRIDE0_INNER, -EINVAL },
	{ "destination stride 2 < elem_size 4", L_DST_STRIDE_LT_ES, -EINVAL },
	{ "destination stride -3, elem_size 4", L_DST_NEG_STRIDE_LT_ES, -EINVAL },
	{ "destination dims overlap", L_DST_DIMS_OVERLAP, -EINVAL },
	{ "destination dims overlap, negative strides", L_DST_DIMS_OVERLAP_NEG, -EINVAL },
	{ "destination dims interleave (conservative rule)", L_DST_CONSERVATIVE, -EINVAL },
	{ "byte spans intersect, no byte shared", L_SPANS_INTERLEAVED, -EINVAL },
	{ "in-place transpose", L_INPLACE_TRANSPOSE, -EINVAL },
	{ "source == destination", L_SAME_LAYOUT, -EINVAL },
	{ "destination inside the source span", L_DST_INSIDE_SRC, -EINVAL },
	{ "source inside the destination span", L_SRC_INSIDE_DST, -EINVAL },
	{ "spans share one byte", L_SPANS_SHARE_ONE_BYTE, -EINVAL },
	{ "NONTEMPORAL|CACHED", L_BAD_FLAGS, -EINVAL },
	{ "transposed destination (interleaved dims, no overlap)", G_TRANSPOSED_DST, 0 },
	{ "padded destination", G_PADDED_DST, 0 },
	{ "broadcast source (stride 0)", G_BROADCAST_SRC, 0 },
	{ "source elements overlap each other", G_SRC_SELF_OVERLAP, 0 },
	{ "adjacent spans, source after destination", G_ADJACENT_SPANS, 0 },
	{ "adjacent spans, reversed destination after source", G_ADJACENT_SPANS_BACK, 0 },
	{ "empty, NULL bases", G_EMPTY_NULL, 0 },
	{ "empty, other dims", G_EMPTY_OTHER_DIMS, 0 },
	{ "reversed destination", G_REVERSED_DST, 0 },
	{ "reshape [2][8] -> col-major [4][4]", G_RESHAPE, 0 },
	{ "one element, odd strides", G_ONE_ELEMENT, 0 },
	{ "negative strides on both sides", G_NEG_STRIDES_BOTH, 0 },
};

static const struct lrow_def lalign_rows[] = {
	{ "align 16: destination base + 8", A_DST_BASE8, -EINVAL },
	{ "align 16: source base + 8", A_SRC_BASE8, -EINVAL },
	{ "align 16: elem_size 8", A_ES8, -EINVAL },
	{ "align 16: destination stride 24", A_DST_STRIDE24, -EINVAL },
	{ "align 16: source stride 40", A_SRC_STRIDE40, -EINVAL },
	{ "align 16: source stride -8", A_SRC_STRIDE_NEG8, -EINVAL },
	{ "align 16: aligned, negative stride", AG_ALIGNED, 0 },
	{ "align 16: aligned broadcast", AG_BROADCAST, 0 },
};

static void check_last_error(const char *row)
{
	const char *m = adma_last_error();

	if (m == NULL || m[0] == '\0' || strstr(m, "adma") == NULL)
		T_FAILED("row \"%s\": adma_last_error() is \"%s\" after a rejection", row,
			 m ? m : "(null)");
}

static void run_lrows(struct adma_engine *e, const struct lrow_def *rows, size_t nrows)
{
	struct rbufs b;
	uint8_t *snap_d = xmalloc(RB), *snap_s = xmalloc(RB), *expect = xmalloc(RB);
	const char *cfg_name = t_config_name;
	char name[256];

	b.d = aligned_alloc(64, RB);
	b.s = aligned_alloc(64, RB);
	ASSERT(b.d && b.s);
	atomic_store(&stray_calls, 0);
	for (size_t i = 0; i < nrows; i++) {
		const struct lrow_def *r = &rows[i];
		struct adma_stats before, after;
		struct adma_op ops[2];
		uint64_t tickets[2] = { 0, 0 };
		int rc;

		snprintf(name, sizeof(name), "%s: layout row \"%s\"", cfg_name, r->name);
		t_config_name = name;
		t_fill_random(b.s, RB, 1000 + i);
		t_fill_random(b.d, RB, 2000 + i);
		memcpy(snap_d, b.d, RB);
		memcpy(snap_s, b.s, RB);
		before = t_stats(e);
		lmake(r->id, &ops[0], &b);
		if (r->err == 0) {
			struct t_rec rec = { 0 };
			size_t bytes = lay_count(&b.ld) * b.ld.elem_size, bad;

			/* a source in b.d is read from the snapshot of b.d */
			bool in_s = (uint8_t *)b.ls.base >= b.s && (uint8_t *)b.ls.base < b.s + RB;

			memcpy(expect, b.d, RB);
			if (bytes)
				ref_copy(expect, b.d, &b.ld, in_s ? b.s : snap_d, in_s ? b.s : b.d,
					 &b.ls);
			adma_op_set_callback(&ops[0], t_rec_cb, &rec);
			rc = adma_submit(e, ops, 1, tickets);
			if (rc != 1)
				T_FAILED("a good layout op was refused: %d (%s): %s", rc,
					 adma_strerror(rc), adma_last_error());
			ASSERT_EQ(adma_wait(e, tickets[0], 30 * SEC), 0);
			ASSERT_EQ(t_drain(e), 0);
			ASSERT_EQ(atomic_load(&rec.calls), 1);
			ASSERT_EQ(rec.status, 0);
			ASSERT_UEQ(rec.bytes, bytes);
			bad = t_first_diff(b.d, expect, RB);
			if (bad < RB)
				T_FAILED("destination byte %zu is 0x%02x, expected 0x%02x", bad,
					 b.d[bad], expect[bad]);
			ASSERT(memcmp(b.s, snap_s, RB) == 0);
			after = t_stats(e);
			ASSERT_UEQ(after.submitted, before.submitted + 1);
			ASSERT_UEQ(after.bytes, before.bytes + bytes);
			continue;
		}

		/* alone */
		adma_op_set_callback(&ops[0], stray_cb, NULL);
		rc = adma_submit(e, ops, 1, tickets);
		if (rc != r->err)
			T_FAILED("adma_submit returned %d (%s), expected %d (%s)", rc,
				 rc > 0 ? "accepted" : adma_strerror(rc), r->err,
				 adma_strerror(r->err));
		check_last_error(name);

		/* first of a batch whose second op is good: nothing is accepted */
		lmake(r->id, &ops[0], &b);
		adma_op_set_callback(&ops[0], stray_cb, NULL);
		adma_prep_copy(&ops[1], b.d + 2048, b.s + 2048, 64);
		adma_op_set_callback(&ops[1], stray_cb, NULL);
		rc = adma_submit(e, ops, 2, tickets);
		if (rc != r->err)
			T_FAILED("batch [bad, good]: submit returned %d (%s), expected %d (%s)", rc,
				 rc > 0 ? "accepted" : adma_strerror(rc), r->err,
				 adma_strerror(r->err));
		check_last_error(name);

		/* second of a batch: the first is accepted alone */
		adma_prep_copy(&ops[0], b.d + 3072, b.s + 3072, 64);
		lmake(r->id, &ops[1], &b);
		adma_op_set_callback(&ops[1], stray_cb, NULL);
		ASSERT_EQ(adma_submit(e, ops, 2, tickets), 1);
		ASSERT_EQ(adma_wait(e, tickets[0], 30 * SEC), 0);
		ASSERT_EQ(t_drain(e), 0);
		ASSERT(memcmp(b.d + 3072, b.s + 3072, 64) == 0);
		memcpy(b.d + 3072, snap_d + 3072, 64);

		after = t_stats(e);
		ASSERT_UEQ(after.submitted, before.submitted + 1);
		ASSERT_UEQ(after.completed, before.completed + 1);
		ASSERT_UEQ(after.in_flight, 0);
		if (memcmp(b.d, snap_d, RB) != 0)
			T_FAILED("%s", "a rejected layout op wrote to the destination buffer");
		if (memcmp(b.s, snap_s, RB) != 0)
			T_FAILED("%s", "a rejected layout op wrote to the source buffer");
	}
	t_config_name = cfg_name;
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(atomic_load(&stray_calls), 0);
	free(b.d);
	free(b.s);
	free(snap_d);
	free(snap_s);
	free(expect);
}

static void test_submit_checks(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	struct adma_config cfg;

	run_lrows(e, lrows, sizeof(lrows) / sizeof(lrows[0]));
	ASSERT_OK(adma_engine_destroy(&e));

	adma_config_init(&cfg);
	cfg.backend = c->backend;
	cfg.workers = c->workers;
	cfg.flags = c->flags | ADMA_CFG_QUIET;
	cfg.align = 16;
	ASSERT_OK(adma_engine_create(&e, &cfg));
	run_lrows(e, lalign_rows, sizeof(lalign_rows) / sizeof(lalign_rows[0]));
	ASSERT_OK(adma_engine_destroy(&e));
}

/* ---- cancel -------------------------------------------------------------------------------- */

static void test_cancel(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	struct t_gate g = { 0 };
	struct lcase k1, k2;
	size_t d1[2] = { 300, 200 }, d2[2] = { 200, 300 };
	const unsigned t10[2] = { 1, 0 };
	struct adma_op op;
	uint8_t *snap;

	dense_case(&k1, 8, d1, 2, ADMA_ROW_MAJOR, d2, 2, ADMA_ROW_MAJOR);
	ASSERT_OK(adma_layout_transpose(&k1.s, &k1.s, t10));
	dense_case(&k2, 4, d1, 2, ADMA_COL_MAJOR, d1, 2, ADMA_ROW_MAJOR);
	lcase_prepare(&k1, 11);
	lcase_prepare(&k2, 12);
	k1.what = "cancelled layout op";
	k2.what = "layout op after the cancelled one";
	snap = xmalloc(k1.dcap);
	memcpy(snap, k1.dbuf, k1.dcap);

	t_hold_workers(e, c, &g, NULL);
	adma_prep_copy_layout(&op, &k1.d, &k1.s);
	adma_op_set_flags(&op, ADMA_OP_NO_INLINE);
	adma_op_set_callback(&op, t_rec_cb, &k1.rec);
	k1.ticket = t_submit1(e, &op);
	adma_prep_copy_layout(&op, &k2.d, &k2.s);
	adma_op_set_flags(&op, ADMA_OP_NO_INLINE);
	adma_op_set_callback(&op, t_rec_cb, &k2.rec);
	k2.ticket = t_submit1(e, &op);
	ASSERT_EQ(adma_cancel(e, k1.ticket), 0);
	ASSERT_ERR(adma_cancel(e, k1.ticket), -EBUSY);
	atomic_store(&g.open, 1);
	ASSERT_EQ(adma_wait(e, k1.ticket, 30 * SEC), -ECANCELED);
	ASSERT_EQ(adma_wait(e, k2.ticket, 30 * SEC), 0);
	ASSERT_EQ(t_drain(e), -ECANCELED);
	ASSERT_EQ(atomic_load(&k1.rec.calls), 1);
	ASSERT_EQ(k1.rec.status, -ECANCELED);
	ASSERT_UEQ(k1.rec.bytes, 0);
	if (memcmp(k1.dbuf, snap, k1.dcap) != 0)
		T_FAILED("%s", "a cancelled layout op wrote to its destination");
	lcase_check(&k2);
	ASSERT_UEQ(t_stats(e).cancelled, 1);
	ASSERT_OK(adma_engine_destroy(&e));
	lcase_free(&k1);
	lcase_free(&k2);
	free(snap);
}

/* ---- layouts that die right after the submit ------------------------------------------------ */

/* Submits a transposing copy of [rows][cols] floats whose layouts live in this frame only. */
static __attribute__((noinline)) uint64_t submit_stack_layouts(struct adma_engine *e,
							       struct lcase *k)
{
	struct adma_layout d, s;
	const unsigned t10[2] = { 1, 0 };
	struct adma_op op;

	d = k->d;
	ASSERT_OK(adma_layout_transpose(&s, &k->s, t10));
	adma_prep_copy_layout(&op, &d, &s);
	adma_op_set_flags(&op, ADMA_OP_NO_INLINE);
	adma_op_set_callback(&op, t_rec_cb, &k->rec);
	return t_submit1(e, &op);
}

/* Writes over the stack where the frame above lived. */
static __attribute__((noinline)) void scribble_stack(void)
{
	volatile uint8_t junk[16384];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(0xE7 ^ i);
}

static void test_temporaries(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	struct t_gate g = { 0 };
	bool gates = c->backend == ADMA_BACKEND_THREADS;
	size_t dd[2] = { 96, 130 }, ds[2] = { 130, 96 };
	const unsigned t10[2] = { 1, 0 };
	struct lcase k, h;
	struct adma_layout *hd, *hs;
	struct adma_op op;

	/* the transposed source view is what the helper builds: prepare the reference with it */
	dense_case(&k, 4, dd, 2, ADMA_ROW_MAJOR, ds, 2, ADMA_ROW_MAJOR);
	struct adma_layout parent = k.s;

	ASSERT_OK(adma_layout_transpose(&k.s, &parent, t10));
	lcase_prepare(&k, 21);
	k.s = parent; /* the helper transposes it again, on its own stack */
	k.what = "stack layouts";

	/* heap layouts freed right after the submit */
	dense_case(&h, 2, dd, 2, ADMA_COL_MAJOR, ds, 2, ADMA_ROW_MAJOR);
	ASSERT_OK(adma_layout_transpose(&h.s, &h.s, t10));
	lcase_prepare(&h, 22);
	h.what = "heap layouts, freed";
	hd = malloc(sizeof(*hd));
	hs = malloc(sizeof(*hs));
	ASSERT(hd && hs);
	*hd = h.d;
	*hs = h.s;

	if (gates)
		t_hold_workers(e, c, &g, NULL);
	k.ticket = submit_stack_layouts(e, &k);
	scribble_stack();
	adma_prep_copy_layout(&op, hd, hs);
	adma_op_set_flags(&op, ADMA_OP_NO_INLINE);
	adma_op_set_callback(&op, t_rec_cb, &h.rec);
	h.ticket = t_submit1(e, &op);
	memset(hd, 0xEE, sizeof(*hd));
	memset(hs, 0xEE, sizeof(*hs));
	free(hd);
	free(hs);
	scribble_stack();
	if (gates)
		atomic_store(&g.open, 1);
	ASSERT_EQ(adma_wait(e, k.ticket, 30 * SEC), 0);
	ASSERT_EQ(adma_wait(e, h.ticket, 30 * SEC), 0);
	ASSERT_EQ(t_drain(e), 0);
	{
		/* lcase_check names k.s in a failure: show the view the helper made */
		ASSERT_OK(adma_layout_transpose(&k.s, &parent, t10));
		lcase_check(&k);
		lcase_check(&h);
	}
	ASSERT_OK(adma_engine_destroy(&e));
	lcase_free(&k);
	lcase_free(&h);
}

/* ---- splitting ------------------------------------------------------------------------------ */

static const struct t_config split_configs[] = {
	{ "split-threads-4", ADMA_BACKEND_THREADS, 4, 0 },
	{ "split-threads-2-ordered", ADMA_BACKEND_THREADS, 2, ADMA_CFG_ORDERED },
	{ "split-threads-3-deferred", ADMA_BACKEND_THREADS, 3, ADMA_CFG_DEFER_CALLBACKS },
	{ "split-threads-1", ADMA_BACKEND_THREADS, 1, 0 },
};

/* Runs @k on @e (split_size 4096) and checks that the op was split iff @c has 2+ workers. */
static void run_split(struct adma_engine *e, const struct t_config *c, struct lcase *k,
		      uint64_t seed)
{
	uint64_t before = t_stats(e).split, after;

	run_one(e, k, seed);
	after = t_stats(e).split;
	if (c->workers > 1 && after <= before)
		T_FAILED("%s: a large layout op was not split (stats.split %" PRIu64 " -> %" PRIu64
			 ")",
			 k->what, before, after);
	if (c->workers <= 1 && after != before)
		T_FAILED("%s: split on a single worker", k->what);
}

static void test_split(const struct t_config *c)
{
	struct adma_config tune = { .split_size = 4096 };
	struct adma_engine *e = t_engine_tuned(c, 0, 0, &tune);
	const size_t q = t_slow() ? 4 : 1;
	const unsigned t10[2] = { 1, 0 };
	struct lcase k;

	{ /* a 1024 x 1024 block of doubles out of [1100][1030] */
		size_t pd[2] = { 1024 / q, 1024 / q }, ps[2] = { pd[0] + 76, pd[1] + 6 };
		size_t off[2] = { 37, 3 };

		dense_case(&k, 8, pd, 2, ADMA_ROW_MAJOR, ps, 2, ADMA_ROW_MAJOR);
		ASSERT_OK(adma_layout_slice(&k.s, &k.s, off, pd));
		k.what = "1024x1024 doubles sub-block";
		run_split(e, c, &k, 31);
	}
	{ /* a 2048 x 512 float transpose */
		size_t rc[2] = { 2048 / q, 512 }, cr[2] = { 512, 2048 / q };

		dense_case(&k, 4, cr, 2, ADMA_ROW_MAJOR, rc, 2, ADMA_ROW_MAJOR);
		ASSERT_OK(adma_layout_transpose(&k.s, &k.s, t10));
		k.what = "2048x512 float transpose";
		run_split(e, c, &k, 32);
	}
	{ /* a reshape: a [512][512] block of [600][700] floats into col-major [64][4096] */
		size_t blk[2] = { 512 / q, 512 / q }, ps[2] = { blk[0] + 88, blk[1] + 188 };
		size_t pd[2] = { 64, 4096 / q / q }, off[2] = { 80, 101 };

		dense_case(&k, 4, pd, 2, ADMA_COL_MAJOR, ps, 2, ADMA_ROW_MAJOR);
		ASSERT_OK(adma_layout_slice(&k.s, &k.s, off, blk));
		ASSERT_OK(adma_layout_reverse(&k.s, &k.s, 1));
		k.what = "reshape of a reversed block";
		run_split(e, c, &k, 33);
	}
	{ /* odd element sizes: pieces of 4 KiB would cut elements in two */
		size_t blk[2] = { 200 / q, 300 / q }, ps[2] = { blk[0] + 60, blk[1] + 10 };
		size_t pd[3] = { 2, blk[0] / 2, blk[1] }, off[2] = { 31, 7 };
		size_t rc[2] = { 300 / q, 200 / q }, cr[2] = { 200 / q, 300 / q };

		dense_case(&k, 12, pd, 3, ADMA_ROW_MAJOR, ps, 2, ADMA_ROW_MAJOR);
		ASSERT_OK(adma_layout_slice(&k.s, &k.s, off, blk));
		k.what = "12-byte elements, a block reshaped to 3-D";
		run_split(e, c, &k, 36);

		dense_case(&k, 24, cr, 2, ADMA_ROW_MAJOR, rc, 2, ADMA_ROW_MAJOR);
		ASSERT_OK(adma_layout_transpose(&k.s, &k.s, t10));
		k.what = "24-byte elements, 300x200 transpose";
		run_split(e, c, &k, 37);
	}
	{ /* NONTEMPORAL and CACHED: the data, and stats.nontemporal follows the flag on a
	   * copy of runs (a block of rows); a transposing copy goes by tiles, whose stores are
	   * never non-temporal: only its data is checked */
		size_t d[3] = { 64 / q, 128, 96 }, dd[3] = { 96, 64 / q, 128 };
		size_t blk[2] = { 600 / q, 256 }, ps[2] = { blk[0] + 100, 300 },
		       off[2] = { 50, 40 };
		const unsigned p[3] = { 2, 0, 1 };
		const unsigned flags[2] = { ADMA_OP_NONTEMPORAL, ADMA_OP_CACHED };
		uint64_t nt;

		for (int i = 0; i < 2; i++) {
			dense_case(&k, 8, blk, 2, ADMA_ROW_MAJOR, ps, 2, ADMA_ROW_MAJOR);
			ASSERT_OK(adma_layout_slice(&k.s, &k.s, off, blk));
			k.flags = flags[i];
			k.what = i ? "block of rows, CACHED" : "block of rows, NONTEMPORAL";
			nt = t_stats(e).nontemporal;
			run_split(e, c, &k, 34 + (uint64_t)i);
			ASSERT_UEQ(t_stats(e).nontemporal, nt + (i == 0));

			dense_case(&k, 4, dd, 3, ADMA_ROW_MAJOR, d, 3, ADMA_ROW_MAJOR);
			ASSERT_OK(adma_layout_transpose(&k.s, &k.s, p));
			k.flags = flags[i];
			k.what = i ? "3-D permutation, CACHED" : "3-D permutation, NONTEMPORAL";
			nt = t_stats(e).nontemporal;
			run_split(e, c, &k, 38 + (uint64_t)i);
			if (i)
				ASSERT_UEQ(t_stats(e).nontemporal, nt);
		}
	}
	{ /* A: src -> mid (split), then a FENCE op B: mid transposed -> out, then a copy C.
	   * B reads what A wrote: it must see all of it. */
		size_t n0 = 768 / q, n1 = 640;
		size_t dims[2] = { n0, n1 }, tdims[2] = { n1, n0 };
		uint8_t *src = xmalloc(n0 * n1 * 8), *mid = xmalloc(n0 * n1 * 8);
		uint8_t *out = xmalloc(n0 * n1 * 8), *cdst = xmalloc(4096), *csrc = xmalloc(4096);
		struct adma_layout la_d, la_s, lb_d, lb_s;
		struct adma_op ops[3];
		uint64_t tk[3] = { 0 };
		struct adma_stats before = t_stats(e);

		t_fill_random(src, n0 * n1 * 8, 41);
		t_fill_random(csrc, 4096, 42);
		memset(mid, 0, n0 * n1 * 8);
		memset(out, 0, n0 * n1 * 8);
		ASSERT_OK(adma_layout_dense(&la_d, mid, 8, 2, dims, ADMA_ROW_MAJOR));
		ASSERT_OK(adma_layout_dense(&la_s, src, 8, 2, dims, ADMA_ROW_MAJOR));
		ASSERT_OK(adma_layout_dense(&lb_d, out, 8, 2, tdims, ADMA_ROW_MAJOR));
		ASSERT_OK(adma_layout_transpose(&lb_s, &la_d, t10));
		adma_prep_copy_layout(&ops[0], &la_d, &la_s);
		adma_op_set_flags(&ops[0], ADMA_OP_NONTEMPORAL);
		adma_prep_copy_layout(&ops[1], &lb_d, &lb_s);
		adma_op_set_flags(&ops[1], ADMA_OP_FENCE | ADMA_OP_CACHED);
		adma_prep_copy(&ops[2], cdst, csrc, 4096);
		ASSERT_EQ(adma_submit(e, ops, 3, tk), 3);
		for (int i = 0; i < 3; i++)
			ASSERT_EQ(adma_wait(e, tk[i], 60 * SEC), 0);
		ASSERT_EQ(t_drain(e), 0);
		for (size_t i = 0; i < n1; i++)
			for (size_t j = 0; j < n0; j++)
				if (memcmp(out + (i * n0 + j) * 8, src + (j * n1 + i) * 8, 8) != 0)
					T_FAILED("fenced transpose: out[%zu][%zu] wrong", i, j);
		ASSERT(memcmp(cdst, csrc, 4096) == 0);
		if (c->workers > 1)
			ASSERT_GE(t_stats(e).split - before.split, 2);
		free(src);
		free(mid);
		free(out);
		free(cdst);
		free(csrc);
	}
	{ /* a queued split layout op cancelled whole, behind gates */
		struct t_gate g = { 0 };
		size_t d[2] = { 512 / q, 512 };
		struct adma_op op;
		uint8_t *snap;

		dense_case(&k, 4, d, 2, ADMA_COL_MAJOR, d, 2, ADMA_ROW_MAJOR);
		lcase_prepare(&k, 51);
		snap = xmalloc(k.dcap);
		memcpy(snap, k.dbuf, k.dcap);
		t_hold_workers(e, c, &g, NULL);
		adma_prep_copy_layout(&op, &k.d, &k.s);
		adma_op_set_flags(&op, ADMA_OP_NO_INLINE);
		adma_op_set_callback(&op, t_rec_cb, &k.rec);
		k.ticket = t_submit1(e, &op);
		ASSERT_EQ(adma_cancel(e, k.ticket), 0);
		atomic_store(&g.open, 1);
		ASSERT_EQ(adma_wait(e, k.ticket, 30 * SEC), -ECANCELED);
		ASSERT_EQ(t_drain(e), -ECANCELED);
		ASSERT_EQ(k.rec.status, -ECANCELED);
		ASSERT(memcmp(k.dbuf, snap, k.dcap) == 0);
		free(snap);
		lcase_free(&k);
	}
	ASSERT_OK(adma_engine_destroy(&e));
}

/* ---- the constructors ----------------------------------------------------------------------- */

/* A failing constructor call must return -EINVAL and leave *out as it was. */
#define CTOR_FAILS(out, call)                                               \
	do {                                                                \
		struct adma_layout snap_;                                   \
		memset((out), 0xA5, sizeof(*(out)));                        \
		memcpy(&snap_, (out), sizeof(snap_));                       \
		ASSERT_ERR(call, -EINVAL);                                  \
		if (memcmp(&snap_, (out), sizeof(snap_)) != 0)              \
			T_FAILED("%s failed but changed *%s", #call, #out); \
		check_last_error(#call);                                    \
	} while (0)

/* Same, when the output is also the input (out == in). */
#define CTOR_FAILS_INPLACE(l, call)                                       \
	do {                                                              \
		struct adma_layout snap_ = *(l);                          \
		ASSERT_ERR(call, -EINVAL);                                \
		if (memcmp(&snap_, (l), sizeof(snap_)) != 0)              \
			T_FAILED("%s failed but changed *%s", #call, #l); \
	} while (0)

static void expect_layout(const struct adma_layout *l, const void *base, size_t es, unsigned n,
			  const size_t *dims, const ptrdiff_t *strides)
{
	ASSERT_PTR_EQ(l->base, base);
	ASSERT_UEQ(l->elem_size, es);
	ASSERT_EQ(l->ndims, n);
	for (unsigned i = 0; i < n; i++) {
		ASSERT_UEQ(l->dims[i], dims[i]);
		ASSERT_EQ(l->strides[i], strides[i]);
	}
}

static void test_constructors(void)
{
	static uint8_t buf[1 << 16];
	uint8_t *B = buf + 1000;
	struct adma_layout l, o, in;
	const size_t d234[3] = { 2, 3, 4 }, d1020[2] = { 10, 20 };
	size_t big[3];

	t_config_name = "constructors";

	/* dense: exact strides */
	ASSERT_OK(adma_layout_dense(&l, B, 8, 3, d234, ADMA_ROW_MAJOR));
	expect_layout(&l, B, 8, 3, d234, (const ptrdiff_t[]){ 96, 32, 8 });
	ASSERT_OK(adma_layout_dense(&l, B, 8, 3, d234, ADMA_COL_MAJOR));
	expect_layout(&l, B, 8, 3, d234, (const ptrdiff_t[]){ 8, 16, 48 });
	ASSERT_OK(adma_layout_dense(&l, B, 3, 1, (const size_t[]){ 7 }, ADMA_COL_MAJOR));
	expect_layout(&l, B, 3, 1, (const size_t[]){ 7 }, (const ptrdiff_t[]){ 3 });
	{
		size_t d8[8] = { 2, 1, 3, 1, 2, 2, 1, 5 };
		ptrdiff_t rs[8], cs[8], acc = 12;

		for (int i = 7; i >= 0; i--) {
			rs[i] = acc;
			acc *= (ptrdiff_t)d8[i];
		}
		acc = 12;
		for (int i = 0; i < 8; i++) {
			cs[i] = acc;
			acc *= (ptrdiff_t)d8[i];
		}
		ASSERT_OK(adma_layout_dense(&l, B, 12, 8, d8, ADMA_ROW_MAJOR));
		expect_layout(&l, B, 12, 8, d8, rs);
		ASSERT_OK(adma_layout_dense(&l, B, 12, 8, d8, ADMA_COL_MAJOR));
		expect_layout(&l, B, 12, 8, d8, cs);
	}
	/* the base is not checked by the constructors; empty arrays are fine */
	ASSERT_OK(adma_layout_dense(&l, NULL, 4, 2, d1020, ADMA_ROW_MAJOR));
	ASSERT_OK(adma_layout_dense(&l, B, 4, 2, (const size_t[]){ 0, 5 }, ADMA_ROW_MAJOR));
	ASSERT_UEQ(l.dims[0], 0);
	ASSERT_UEQ(l.dims[1], 5);
	ASSERT_EQ(l.strides[1], 4);

	/* dense: failures */
	ASSERT_ERR(adma_layout_dense(NULL, B, 4, 2, d1020, ADMA_ROW_MAJOR), -EINVAL);
	CTOR_FAILS(&l, adma_layout_dense(&l, B, 4, 2, NULL, ADMA_ROW_MAJOR));
	CTOR_FAILS(&l, adma_layout_dense(&l, B, 4, 0, d1020, ADMA_ROW_MAJOR));
	CTOR_FAILS(&l, adma_layout_dense(&l, B, 4, ADMA_MAX_DIMS + 1, d1020, ADMA_ROW_MAJOR));
	CTOR_FAILS(&l, adma_layout_dense(&l, B, 4, UINT32_MAX, d1020, ADMA_ROW_MAJOR));
	CTOR_FAILS(&l, adma_layout_dense(&l, B, 0, 2, d1020, ADMA_ROW_MAJOR));
	CTOR_FAILS(&l, adma_layout_dense(&l, B, 4, 2, d1020, 2));
	CTOR_FAILS(&l, adma_layout_dense(&l, B, 4, 2, d1020, -1));
	big[0] = (size_t)1 << 32; /* element count 2^64 */
	big[1] = (size_t)1 << 32;
	CTOR_FAILS(&l, adma_layout_dense(&l, B, 1, 2, big, ADMA_ROW_MAJOR));
	CTOR_FAILS(&l, adma_layout_dense(&l, B, 1, 2, big, ADMA_COL_MAJOR));
	big[0] = (size_t)1 << 40; /* 2^40 elements of 2^30 bytes */
	CTOR_FAILS(&l, adma_layout_dense(&l, B, (size_t)1 << 30, 1, big, ADMA_ROW_MAJOR));
	big[0] = SIZE_MAX; /* SIZE_MAX elements of 2 bytes */
	CTOR_FAILS(&l, adma_layout_dense(&l, B, 2, 1, big, ADMA_COL_MAJOR));
	big[0] = 3; /* 3 x 2^62 x 8 bytes: the count fits, the bytes do not */
	big[1] = (size_t)1 << 62;
	CTOR_FAILS(&l, adma_layout_dense(&l, B, 8, 2, big, ADMA_ROW_MAJOR));
	CTOR_FAILS(&l, adma_layout_dense(&l, B, 8, 2, big, ADMA_COL_MAJOR));
	big[0] = 2; /* 2 x 2^31 x 2^31 x 2 bytes = 2^64 */
	big[1] = (size_t)1 << 31;
	big[2] = (size_t)1 << 31;
	CTOR_FAILS(&l, adma_layout_dense(&l, B, 2, 3, big, ADMA_ROW_MAJOR));

	/* slice: base and strides */
	ASSERT_OK(adma_layout_dense(&in, B, 4, 2, d1020, ADMA_ROW_MAJOR));
	ASSERT_OK(adma_layout_slice(&o, &in, (const size_t[]){ 2, 3 }, (const size_t[]){ 5, 6 }));
	expect_layout(&o, B + 2 * 80 + 3 * 4, 4, 2, (const size_t[]){ 5, 6 },
		      (const ptrdiff_t[]){ 80, 4 });
	/* the whole array; the last element; an empty block at the far edge */
	ASSERT_OK(adma_layout_slice(&o, &in, (const size_t[]){ 0, 0 }, d1020));
	expect_layout(&o, B, 4, 2, d1020, (const ptrdiff_t[]){ 80, 4 });
	ASSERT_OK(adma_layout_slice(&o, &in, (const size_t[]){ 9, 19 }, (const size_t[]){ 1, 1 }));
	ASSERT_PTR_EQ(o.base, B + 9 * 80 + 19 * 4);
	ASSERT_OK(adma_layout_slice(&o, &in, (const size_t[]){ 10, 0 }, (const size_t[]){ 0, 20 }));
	ASSERT_UEQ(o.dims[0], 0);
	/* of a reversed view: the base moves backwards */
	ASSERT_OK(adma_layout_reverse(&o, &in, 0));
	ASSERT_OK(adma_layout_slice(&o, &o, (const size_t[]){ 2, 1 }, (const size_t[]){ 3, 19 }));
	expect_layout(&o, B + 9 * 80 - 2 * 80 + 4, 4, 2, (const size_t[]){ 3, 19 },
		      (const ptrdiff_t[]){ -80, 4 });
	/* out == in */
	l = in;
	ASSERT_OK(adma_layout_slice(&l, &l, (const size_t[]){ 1, 2 }, (const size_t[]){ 4, 4 }));
	expect_layout(&l, B + 80 + 8, 4, 2, (const size_t[]){ 4, 4 }, (const ptrdiff_t[]){ 80, 4 });

	/* slice: failures */
	CTOR_FAILS(&o, adma_layout_slice(NULL, &in, (const size_t[]){ 0, 0 }, d1020));
	CTOR_FAILS(&o, adma_layout_slice(&o, NULL, (const size_t[]){ 0, 0 }, d1020));
	CTOR_FAILS(&o, adma_layout_slice(&o, &in, NULL, d1020));
	CTOR_FAILS(&o, adma_layout_slice(&o, &in, (const size_t[]){ 0, 0 }, NULL));
	CTOR_FAILS(&o, adma_layout_slice(&o, &in, (const size_t[]){ 1, 0 }, d1020));
	CTOR_FAILS(&o, adma_layout_slice(&o, &in, (const size_t[]){ 0, 0 },
					 (const size_t[]){ 10, 21 }));
	CTOR_FAILS(&o, adma_layout_slice(&o, &in, (const size_t[]){ 11, 0 },
					 (const size_t[]){ 0, 20 }));
	CTOR_FAILS(&o, adma_layout_slice(&o, &in, (const size_t[]){ SIZE_MAX, 0 },
					 (const size_t[]){ 2, 20 })); /* offset + dim wraps to 1 */
	CTOR_FAILS(&o, adma_layout_slice(&o, &in, (const size_t[]){ 1, 0 },
					 (const size_t[]){ SIZE_MAX, 20 }));
	CTOR_FAILS(&o, adma_layout_slice(&o, &in, (const size_t[]){ 0, SIZE_MAX },
					 (const size_t[]){ 10, SIZE_MAX }));
	l = in;
	CTOR_FAILS_INPLACE(&l, adma_layout_slice(&l, &l, (const size_t[]){ 5, 0 }, d1020));
	/* an invalid input */
	l = in;
	l.ndims = 0;
	CTOR_FAILS(&o, adma_layout_slice(&o, &l, (const size_t[]){ 0, 0 }, d1020));
	l.ndims = ADMA_MAX_DIMS + 1;
	CTOR_FAILS(&o, adma_layout_slice(&o, &l, (const size_t[]){ 0, 0, 0, 0, 0, 0, 0, 0, 0 },
					 (const size_t[]){ 1, 1, 1, 1, 1, 1, 1, 1, 1 }));
	l = in;
	l.elem_size = 0;
	CTOR_FAILS(&o, adma_layout_slice(&o, &l, (const size_t[]){ 0, 0 }, d1020));
	l = in;
	l.dims[0] = (size_t)1 << 40; /* 2^40 x 20 x 4 bytes: fine; x 2^30 elem: not */
	l.elem_size = (size_t)1 << 30;
	CTOR_FAILS(&o, adma_layout_slice(&o, &l, (const size_t[]){ 0, 0 }, d1020));

	/* transpose */
	ASSERT_OK(adma_layout_dense(&in, B, 8, 3, d234, ADMA_ROW_MAJOR));
	ASSERT_OK(adma_layout_transpose(&o, &in, (const unsigned[]){ 2, 0, 1 }));
	expect_layout(&o, B, 8, 3, (const size_t[]){ 4, 2, 3 }, (const ptrdiff_t[]){ 8, 96, 32 });
	ASSERT_OK(adma_layout_transpose(&o, &in, (const unsigned[]){ 0, 1, 2 }));
	expect_layout(&o, B, 8, 3, d234, (const ptrdiff_t[]){ 96, 32, 8 });
	l = in;
	ASSERT_OK(adma_layout_transpose(&l, &l, (const unsigned[]){ 1, 2, 0 }));
	expect_layout(&l, B, 8, 3, (const size_t[]){ 3, 4, 2 }, (const ptrdiff_t[]){ 32, 8, 96 });
	ASSERT_OK(adma_layout_transpose(&l, &l, (const unsigned[]){ 2, 0, 1 })); /* inverse */
	expect_layout(&l, B, 8, 3, d234, (const ptrdiff_t[]){ 96, 32, 8 });

	CTOR_FAILS(&o, adma_layout_transpose(NULL, &in, (const unsigned[]){ 0, 1, 2 }));
	CTOR_FAILS(&o, adma_layout_transpose(&o, NULL, (const unsigned[]){ 0, 1, 2 }));
	CTOR_FAILS(&o, adma_layout_transpose(&o, &in, NULL));
	CTOR_FAILS(&o, adma_layout_transpose(&o, &in, (const unsigned[]){ 0, 0, 1 }));
	CTOR_FAILS(&o, adma_layout_transpose(&o, &in, (const unsigned[]){ 2, 1, 2 }));
	CTOR_FAILS(&o, adma_layout_transpose(&o, &in, (const unsigned[]){ 0, 1, 3 }));
	CTOR_FAILS(&o, adma_layout_transpose(&o, &in, (const unsigned[]){ 0, 1, UINT32_MAX }));
	CTOR_FAILS(&o, adma_layout_transpose(&o, &in, (const unsigned[]){ 3, 4, 5 }));
	l = in;
	CTOR_FAILS_INPLACE(&l, adma_layout_transpose(&l, &l, (const unsigned[]){ 1, 1, 0 }));
	l = in;
	l.ndims = 0;
	CTOR_FAILS(&o, adma_layout_transpose(&o, &l, (const unsigned[]){ 0 }));
	l.ndims = 9;
	CTOR_FAILS(&o,
		   adma_layout_transpose(&o, &l, (const unsigned[]){ 0, 1, 2, 3, 4, 5, 6, 7, 8 }));
	l = in;
	l.elem_size = 0;
	CTOR_FAILS(&o, adma_layout_transpose(&o, &l, (const unsigned[]){ 0, 1, 2 }));

	/* reverse */
	ASSERT_OK(adma_layout_reverse(&o, &in, 1));
	expect_layout(&o, B + 2 * 32, 8, 3, d234, (const ptrdiff_t[]){ 96, -32, 8 });
	ASSERT_OK(adma_layout_reverse(&o, &o, 1)); /* twice: back where it was */
	expect_layout(&o, B, 8, 3, d234, (const ptrdiff_t[]){ 96, 32, 8 });
	ASSERT_OK(adma_layout_reverse(&o, &in, 2));
	ASSERT_OK(adma_layout_reverse(&o, &o, 0));
	expect_layout(&o, B + 96 + 3 * 8, 8, 3, d234, (const ptrdiff_t[]){ -96, 32, -8 });
	l = in;
	ASSERT_OK(adma_layout_reverse(&l, &l, 0));
	expect_layout(&l, B + 96, 8, 3, d234, (const ptrdiff_t[]){ -96, 32, 8 });

	CTOR_FAILS(&o, adma_layout_reverse(NULL, &in, 0));
	CTOR_FAILS(&o, adma_layout_reverse(&o, NULL, 0));
	CTOR_FAILS(&o, adma_layout_reverse(&o, &in, 3));
	CTOR_FAILS(&o, adma_layout_reverse(&o, &in, UINT32_MAX));
	l = in;
	CTOR_FAILS_INPLACE(&l, adma_layout_reverse(&l, &l, 3));
	l = in;
	l.ndims = 0;
	CTOR_FAILS(&o, adma_layout_reverse(&o, &l, 0));
	l.ndims = 9;
	CTOR_FAILS(&o, adma_layout_reverse(&o, &l, 0));
	l = in;
	l.elem_size = 0;
	CTOR_FAILS(&o, adma_layout_reverse(&o, &l, 0));
}

/* ---- main ----------------------------------------------------------------------------------- */

int main(void)
{
	const unsigned ncases = t_valgrind() ? 15 : t_slow() ? 40 : 500;
	bool first = true;
	uint64_t seed = 0x1a7e0;
	const char *env = getenv("ADMA_TEST_SEED");

	if (env && *env)
		seed = strtoull(env, NULL, 0);

	test_constructors();
	FOR_EACH_CONFIG (c) {
		struct adma_engine *e = t_engine(c, 0, 0);

		test_random(e, ncases, seed + (uint64_t)(c - t_configs));
		test_contiguous(e, t_slow());
		test_transposes(e, c, first);
		ASSERT_OK(adma_engine_destroy(&e));
		test_submit_checks(c);
		if (c->backend == ADMA_BACKEND_THREADS) /* gates would block an inline submitter */
			test_cancel(c);
		test_temporaries(c);
		first = false;
	}
	t_run_configs(split_configs, sizeof(split_configs) / sizeof(split_configs[0]), test_split);
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);
	return T_PASS;
}
