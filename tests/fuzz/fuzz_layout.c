/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: layout copies and the layout constructors (built by `make fuzz`, clang only).
 *
 * Each input decodes into two layouts, a destination over buffer A and a source over buffer B or
 * over A itself, each either built through the constructors (dense, then slices, transposes,
 * reversals and stride tweaks, in place or not, with arguments that may be out of range) or
 * filled by hand (any ndims, element size, dims and strides: negative, zero, huge); plus the op
 * flags and which engine (inline backend, quiet; align 0 or 16) gets the op. Properties, each
 * an abort() when broken:
 *   - a constructor returns 0 or -EINVAL; on -EINVAL it leaves *out untouched; on 0 its result
 *     is what the header documents (dense strides, slice base, transpose and reverse); with a
 *     valid input and in-range arguments it succeeds;
 *   - adma_submit returns 1 or exactly -EINVAL; a rejected op writes nothing;
 *   - it rejects what the header says it must: NULL layouts, ndims outside 1..8, element size
 *     0, element sizes or counts that differ, counts whose bytes overflow, a NULL base with
 *     elements, NONTEMPORAL|CACHED; on the align-16 engine an unaligned base, element size or
 *     stride;
 *   - it never accepts a destination whose elements share a byte, or that shares a byte with
 *     the source (brute force over byte sets), nor byte spans that intersect;
 *   - when it accepts, the whole buffer A (and B) afterwards equals the naive reference
 *     (element k of the source in row-major order of its dims to element k of the destination),
 *     and the result has status 0 and count x elem_size bytes;
 *   - it accepts constructor-built layouts in bounds, with equal sizes and counts and disjoint
 *     spans, that the engine's align allows.
 * The library cannot know buffer bounds: an op is submitted only when every element of both
 * layouts lies inside its buffer and there are at most 4096 elements, or when it must be
 * rejected anyway.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adma.h"
#define FUZZ_NAME "fuzz_layout"
#include "fuzz_input.h"
#include "../layout_ref.h"

#define BUFSZ 8192
#define MAXD ADMA_MAX_DIMS
#define MAX_ELEMS 4096

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct adma_engine *eng0, *eng16; /* align 0 and 16 */
static uint8_t *bufs[2];		 /* A, B: BUFSZ bytes, 64-aligned */
static uint8_t snap[2][BUFSZ], expect[2][BUFSZ];
static uint8_t mark[2][BUFSZ];
/* What became of the inputs: printed at exit, so that a run shows it tested copies. */
static unsigned long n_skipped, n_rejected, n_accepted, n_accepted_bytes;

/* ---- layouts --------------------------------------------------------------------------------- */

/* Element count; *ovf set when the product of the dims (none of them 0) overflows. */
static size_t count_of(const struct adma_layout *l, bool *ovf)
{
	size_t n = 1;
	unsigned nd = l->ndims < MAXD ? l->ndims : MAXD;

	*ovf = false;
	for (unsigned i = 0; i < nd; i++)
		if (l->dims[i] == 0)
			return 0;
	for (unsigned i = 0; i < nd; i++)
		if (__builtin_mul_overflow(n, l->dims[i], &n)) {
			*ovf = true;
			return SIZE_MAX;
		}
	return n;
}

/* An empty layout (a 0 dim) whose dims before the first 0 overflow when multiplied: the library
 * multiplies left to right and refuses it as "element count overflows", though its count is
 * 0. Reported; the checks that a valid layout is accepted skip it. */
static bool empty_but_overflows(const struct adma_layout *l)
{
	size_t n = 1;
	unsigned nd = l->ndims < MAXD ? l->ndims : MAXD;

	for (unsigned i = 0; i < nd && l->dims[i]; i++)
		if (__builtin_mul_overflow(n, l->dims[i], &n)) {
			for (unsigned j = i + 1; j < nd; j++)
				if (!l->dims[j])
					return true;
			return false;
		}
	return false;
}

static bool desc_ok(const struct adma_layout *l)
{
	return l->ndims >= 1 && l->ndims <= MAXD && l->elem_size > 0;
}

/* One side as decoded. */
struct side {
	struct adma_layout l;
	const struct adma_layout *ptr; /* &l, or NULL */
	int buf;		       /* 0: A, 1: B */
	bool ctor_only;		       /* built by successful constructor calls alone */
	bool valid;		       /* desc_ok, count known without overflow */
	size_t count;
	bool in_bounds;	 /* every element inside its buffer (true when empty) */
	__int128 lo, hi; /* byte span relative to the buffer start, when non-empty */
};

/* Where @l's elements lie relative to @buf: in_bounds, lo, hi. */
static void locate(struct side *s)
{
	const struct adma_layout *l = &s->l;
	__int128 rel = (__int128)(uintptr_t)l->base - (__int128)(uintptr_t)bufs[s->buf];
	__int128 lo = 0, hi = (__int128)l->elem_size;
	const __int128 cap = (__int128)1 << 70;

	s->in_bounds = false;
	if (!s->valid)
		return;
	if (s->count == 0) {
		s->in_bounds = true;
		return;
	}
	for (unsigned d = 0; d < l->ndims; d++) {
		__int128 r = (__int128)(l->dims[d] - 1) * (__int128)l->strides[d];

		if (r > cap || r < -cap)
			return;
		if (r < 0)
			lo += r;
		else
			hi += r;
	}
	s->lo = rel + lo;
	s->hi = rel + hi;
	s->in_bounds = l->base != NULL && s->lo >= 0 && s->hi <= BUFSZ;
}

static void expect_eq_layout(const char *what, const struct adma_layout *got,
			     const struct adma_layout *want)
{
	if (got->base != want->base || got->elem_size != want->elem_size ||
	    got->ndims != want->ndims)
		FAIL("%s: base/elem_size/ndims differ from the documented result", what);
	for (unsigned i = 0; i < want->ndims && i < MAXD; i++)
		if (got->dims[i] != want->dims[i] || got->strides[i] != want->strides[i])
			FAIL("%s: dim %u is %zu/%td, expected %zu/%td", what, i, got->dims[i],
			     got->strides[i], want->dims[i], want->strides[i]);
}

/* A constructor's return: 0 or -EINVAL; on failure *out as it was. */
static void ctor_rc(const char *what, int rc, const struct adma_layout *out,
		    const struct adma_layout *before)
{
	if (rc != 0 && rc != -EINVAL)
		FAIL("%s returned %d", what, rc);
	if (rc && memcmp(out, before, sizeof(*out)) != 0)
		FAIL("%s failed but changed its output", what);
}

/* Mostly 1..16 (and 0); 17..72 reach the transpose tiles' edges (16+ on both sides, widths
 * that are not multiples of 8); rarely any 64-bit value. */
static size_t dim_from(struct in *in)
{
	uint8_t b = u8(in);

	if (b >= 0xF8)
		return (size_t)u64(in);
	return b >= 0xC0 ? 17 + (size_t)(b - 0xC0) : (size_t)((b + 1) % 17);
}

static size_t es_from(struct in *in)
{
	static const size_t tab[] = { 4, 1, 2, 8, 16, 3, 12, 24, 32, 6, 5, 7 };
	uint8_t b = u8(in);

	if (b == 0xFF)
		return (size_t)u64(in);
	return b < 0xC0 ? tab[b % (sizeof(tab) / sizeof(tab[0]))] : (size_t)(b & 0x3F);
}

static unsigned nd_from(struct in *in)
{
	uint8_t b = u8(in);

	return b < 0xE0 ? 1u + b % MAXD : b == 0xFF ? UINT32_MAX : (unsigned)(b & 0x0F);
}

static ptrdiff_t stride_from(struct in *in, size_t es)
{
	uint8_t t = u8(in);

	if (t == 0xFF)
		return (ptrdiff_t)u64(in);
	switch (t % 4) {
	case 0:
		return (ptrdiff_t)(int8_t)u8(in) * (ptrdiff_t)(es < 64 ? es : 1);
	case 1:
		return (ptrdiff_t)(int8_t)u8(in);
	case 2:
		return 0;
	default:
		return (ptrdiff_t)(int16_t)u16(in);
	}
}

/* A shape the source takes from the destination, so that counts match more often than chance. */
struct link {
	bool on;
	size_t es;
	unsigned nd;
	size_t dims[MAXD];
};

/* The constructors' chain: dense, then up to 4 steps (no slices under a link: they would change
 * the count). */
static void build_ctor(struct side *s, struct in *in, uint8_t *base, const struct link *lk)
{
	struct adma_layout t, before;
	size_t es = lk->on ? lk->es : es_from(in), dims[MAXD];
	unsigned nd = lk->on ? lk->nd : nd_from(in);
	uint8_t ob = u8(in);
	int order = ob == 0xFF ? -1 : (int)(ob % 3); /* 2 and -1 are no order */
	int rc;
	bool dims_ok = true, tweaked = false;
	unsigned nsteps;

	for (unsigned i = 0; i < MAXD; i++)
		dims[i] = i >= nd ? 1 : lk->on ? lk->dims[i] : dim_from(in);

	memset(&t, 0x5A, sizeof(t));
	before = t;
	rc = adma_layout_dense(&t, base, es, nd, dims, order);
	ctor_rc("adma_layout_dense", rc, &t, &before);
	{
		/* the documented result, and whether the call had to succeed */
		struct adma_layout want;
		size_t cnt = 1, bytes = 0;
		bool zero = false, ovf = false, big;

		memset(&want, 0, sizeof(want));
		for (unsigned i = 0; i < nd && i < MAXD; i++) {
			zero |= dims[i] == 0;
			ovf |= __builtin_mul_overflow(cnt, dims[i], &cnt);
		}
		/* An empty layout whose other dims overflow when multiplied (before the 0):
		 * its count is 0, but the library multiplies left to right and refuses it;
		 * either answer is let pass, like bytes or an element size past PTRDIFF_MAX (a
		 * stride could not hold them), which the header leaves open. */
		big = zero && ovf;
		if (zero)
			ovf = false, cnt = 0;
		ovf |= __builtin_mul_overflow(cnt, es, &bytes);
		big |= !ovf && (bytes > PTRDIFF_MAX || es > PTRDIFF_MAX);
		dims_ok = nd >= 1 && nd <= MAXD && es > 0 && (order == 0 || order == 1);
		if (!dims_ok && rc == 0)
			FAIL("adma_layout_dense accepted ndims %u, elem_size %zu, order %d", nd, es,
			     order);
		if (dims_ok && !ovf && !big && rc != 0)
			FAIL("adma_layout_dense refused valid extents (ndims %u, elem_size %zu): %s",
			     nd, es, adma_last_error());
		if (dims_ok && ovf && rc == 0)
			FAIL("adma_layout_dense accepted extents whose bytes overflow");
		if (rc == 0 && !zero && !big) {
			ptrdiff_t step = (ptrdiff_t)es;

			want.base = base;
			want.elem_size = es;
			want.ndims = nd;
			for (unsigned k = 0; k < nd; k++) {
				unsigned d = order == ADMA_ROW_MAJOR ? nd - 1 - k : k;

				want.dims[d] = dims[d];
				want.strides[d] = step;
				step *= (ptrdiff_t)dims[d];
			}
			expect_eq_layout("adma_layout_dense", &t, &want);
		}
	}
	if (rc != 0) {
		/* fall back to a hand-made layout of the same description */
		memset(&s->l, 0, sizeof(s->l));
		s->l.base = base;
		s->l.elem_size = es;
		s->l.ndims = nd;
		for (unsigned i = 0; i < MAXD; i++) {
			s->l.dims[i] = dims[i];
			s->l.strides[i] = (ptrdiff_t)es;
		}
		s->ctor_only = false;
		return;
	}
	s->l = t;
	s->ctor_only = true;

	nsteps = u8(in) % 5;
	for (unsigned step = 0; step < nsteps; step++) {
		uint8_t kind = u8(in);
		bool inplace = kind & 0x80, quirk = tweaked || empty_but_overflows(&s->l);
		struct adma_layout *cur = &s->l, out, *dst = inplace ? cur : &out;
		unsigned n = cur->ndims;

		memset(&out, 0xA5, sizeof(out));
		before = *dst;
		/* every call reads cur and writes dst: the same struct when in place */
		switch (lk->on && kind % 4 == 0 ? 2 : kind % 4) {
		case 0: { /* slice */
			size_t off[MAXD], blk[MAXD];
			bool fits = true;
			struct adma_layout want = *cur;
			uintptr_t b = (uintptr_t)cur->base;

			for (unsigned i = 0; i < n; i++) {
				size_t dim = cur->dims[i], room;
				uint8_t how = u8(in);

				off[i] = dim < 250 ? u8(in) % (dim + 2) : u8(in);
				room = dim >= off[i] ? dim - off[i] : 0;
				switch (how % 4) {
				case 0:
					blk[i] = room;
					break; /* to the end */
				case 1:
					blk[i] = room + 1;
					break; /* one past */
				case 2:
					blk[i] = (size_t)u64(in);
					break; /* anything */
				default:
					blk[i] = room < 250 ? u8(in) % (room + 1) : u8(in);
					break;
				}
				if (how == 0xFF)
					off[i] = (size_t)u64(in);
				fits &= off[i] <= dim && blk[i] <= dim - off[i];
				want.dims[i] = blk[i];
				b += (uintptr_t)off[i] * (uintptr_t)cur->strides[i];
			}
			want.base = (void *)b;
			rc = adma_layout_slice(dst, cur, off, blk);
			ctor_rc("adma_layout_slice", rc, dst, &before);
			if (fits && rc && !quirk)
				FAIL("adma_layout_slice refused a block inside its input: %s",
				     adma_last_error());
			if (!fits && !rc)
				FAIL("adma_layout_slice accepted a block that leaves its input");
			if (!rc)
				expect_eq_layout("adma_layout_slice", dst, &want);
			break;
		}
		case 1: { /* transpose */
			unsigned perm[MAXD];
			bool is_perm = true;
			unsigned seen = 0;
			struct adma_layout want = *cur;

			for (unsigned i = 0; i < n; i++)
				perm[i] = i;
			if (u8(in) % 8 == 7) { /* raw, maybe not a permutation */
				for (unsigned i = 0; i < n; i++) {
					uint8_t b = u8(in);

					perm[i] = b == 0xFF ? UINT32_MAX : b % (n + 1);
				}
			} else {
				for (unsigned i = n; i > 1; i--) {
					unsigned j = u8(in) % i, x = perm[i - 1];

					perm[i - 1] = perm[j];
					perm[j] = x;
				}
			}
			for (unsigned i = 0; i < n; i++) {
				if (perm[i] >= n || (seen & (1u << perm[i]))) {
					is_perm = false;
					break;
				}
				seen |= 1u << perm[i];
				want.dims[i] = cur->dims[perm[i]];
				want.strides[i] = cur->strides[perm[i]];
			}
			rc = adma_layout_transpose(dst, cur, perm);
			ctor_rc("adma_layout_transpose", rc, dst, &before);
			if (!is_perm && rc == 0)
				FAIL("adma_layout_transpose accepted a perm that is not a permutation");
			if (is_perm && rc != 0 && !quirk)
				FAIL("adma_layout_transpose refused a permutation: %s",
				     adma_last_error());
			if (!rc)
				expect_eq_layout("adma_layout_transpose", dst, &want);
			break;
		}
		case 2: { /* reverse */
			unsigned d = u8(in) % (n + 1);
			struct adma_layout want = *cur;
			size_t dimd = d < n ? cur->dims[d] : 0;

			if (d < n) {
				if (cur->dims[d])
					want.base = (void *)((uintptr_t)cur->base +
							     (uintptr_t)(cur->dims[d] - 1) *
								     (uintptr_t)cur->strides[d]);
				want.strides[d] = -cur->strides[d];
			}
			rc = adma_layout_reverse(dst, cur, d);
			ctor_rc("adma_layout_reverse", rc, dst, &before);
			if (d >= n && rc == 0)
				FAIL("adma_layout_reverse accepted dim %u of %u", d, n);
			if (d < n && rc != 0 && !quirk)
				FAIL("adma_layout_reverse refused dim %u of %u", d, n);
			if (!rc && dimd)
				expect_eq_layout("adma_layout_reverse", dst, &want);
			break;
		}
		default: /* a hand tweak: one stride */
			cur->strides[u8(in) % n] = stride_from(in, cur->elem_size);
			s->ctor_only = false;
			tweaked = true;
			rc = -1;
			break;
		}
		if (rc == 0 && !inplace)
			*cur = out;
	}
}

static void build_hand(struct side *s, struct in *in, uint8_t *base, const struct link *lk)
{
	memset(&s->l, 0, sizeof(s->l));
	s->l.base = base;
	s->l.elem_size = lk->on ? lk->es : es_from(in);
	s->l.ndims = lk->on ? lk->nd : nd_from(in);
	for (unsigned i = 0; i < MAXD; i++) {
		if (i >= s->l.ndims)
			break;
		s->l.dims[i] = lk->on ? lk->dims[i] : dim_from(in);
		s->l.strides[i] = stride_from(in, s->l.elem_size);
	}
	if (u8(in) == 0xFE)
		s->l.base = NULL;
	s->ctor_only = false;
}

static void build_side(struct side *s, struct in *in, int buf, const struct link *lk)
{
	uint8_t mode = u8(in);
	long off = (long)(u16(in) % (BUFSZ + 128)) - 64;
	uint8_t *base = (uint8_t *)((uintptr_t)bufs[buf] + (uintptr_t)off);
	bool ovf;

	s->buf = buf;
	s->ptr = &s->l;
	if (mode % 8 < 5)
		build_ctor(s, in, base, lk);
	else
		build_hand(s, in, base, lk);
	if (mode == 0xFF) {
		s->ptr = NULL;
		s->ctor_only = false;
	}
	s->count = count_of(&s->l, &ovf);
	s->valid = desc_ok(&s->l) && !ovf;
	locate(s);
}

/* ---- the properties ------------------------------------------------------------------------ */

/* The offset of @s's base from the start of its buffer. */
static __int128 rel_base(const struct side *s)
{
	return (__int128)(uintptr_t)s->l.base - (__int128)(uintptr_t)bufs[s->buf];
}

/* Marks with @v the bytes of @s's elements (in bounds); @return whether one of them was already
 * marked with a bit of @clash. */
static bool mark_side(const struct side *s, uint8_t v, uint8_t clash)
{
	bool hit = false;
	size_t es = s->l.elem_size;

	for (size_t k = 0; k < s->count; k++) {
		uint8_t *m = mark[s->buf] + (size_t)(rel_base(s) + elem_offset(&s->l, k));

		for (size_t j = 0; j < es; j++) {
			hit |= (m[j] & clash) != 0;
			m[j] |= v;
		}
	}
	return hit;
}

static bool aligned(const struct adma_layout *l, size_t a)
{
	size_t bits = (uintptr_t)l->base | l->elem_size;

	for (unsigned d = 0; d < l->ndims && d < MAXD; d++)
		bits |= (size_t)l->strides[d];
	return (bits & (a - 1)) == 0;
}

static void print_stats(void)
{
	fprintf(stderr,
		"fuzz_layout: %lu inputs skipped (out of our buffers), %lu ops rejected, %lu "
		"accepted (%lu of them non-empty)\n",
		n_skipped, n_rejected, n_accepted, n_accepted_bytes);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct adma_config cfg;

	(void)argc;
	(void)argv;
	setenv("ADMA_QUIET", "1", 1); /* constructors have no engine to ask */
	atexit(print_stats);
	adma_config_init(&cfg);
	cfg.backend = ADMA_BACKEND_INLINE;
	cfg.flags = ADMA_CFG_QUIET;
	if (adma_engine_create(&eng0, &cfg) != 0)
		abort();
	cfg.align = 16;
	if (adma_engine_create(&eng16, &cfg) != 0)
		abort();
	for (int i = 0; i < 2; i++) {
		bufs[i] = aligned_alloc(64, BUFSZ);
		if (!bufs[i])
			abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned flag_choices[] = { 0,
						 ADMA_OP_FENCE,
						 ADMA_OP_NONTEMPORAL,
						 ADMA_OP_CACHED,
						 ADMA_OP_NO_INLINE,
						 ADMA_OP_NONTEMPORAL | ADMA_OP_CACHED,
						 0,
						 0 };
	struct in in = { data, size };
	uint8_t g = u8(&in);
	bool al16 = g & 1, same = g & 2;
	unsigned flags = flag_choices[(g >> 2) & 7];
	struct adma_engine *e = al16 ? eng16 : eng0;
	struct side d, s;
	bool must_reject = false, safe, accepted;
	struct adma_op op;
	struct adma_result res;
	uint64_t ticket = 0;
	int rc;

	if (!eng0)
		LLVMFuzzerInitialize(NULL, NULL);
	for (int i = 0; i < 2; i++)
		for (size_t k = 0; k < BUFSZ; k++)
			bufs[i][k] = (uint8_t)(k * 131 + (size_t)i * 71 + 7);

	struct link lk = { false, 0, 0, { 0 } };

	build_side(&d, &in, 0, &lk);
	/* bits 5-6: the source's shape: its own, the destination's dims, or its count in one dim */
	if (((g >> 5) & 3) == 1 || ((g >> 5) & 3) == 2) {
		lk.on = d.l.ndims >= 1 && d.l.ndims <= MAXD;
		lk.es = d.l.elem_size;
		lk.nd = d.l.ndims;
		memcpy(lk.dims, d.l.dims, sizeof(lk.dims));
		if (((g >> 5) & 3) == 2 && d.valid) {
			lk.nd = 1;
			lk.dims[0] = d.count;
		}
	}
	build_side(&s, &in, same ? 0 : 1, &lk);

	/* what the header says is refused */
	must_reject |= !d.ptr || !s.ptr;
	must_reject |= !desc_ok(&d.l) || !desc_ok(&s.l);
	if (d.ptr && s.ptr && desc_ok(&d.l) && desc_ok(&s.l)) {
		size_t bytes;
		bool dov, sov;

		count_of(&d.l, &dov);
		count_of(&s.l, &sov);
		must_reject |= dov || sov;
		must_reject |= d.l.elem_size != s.l.elem_size;
		must_reject |= !dov && !sov && d.count != s.count;
		must_reject |= !dov && __builtin_mul_overflow(d.count, d.l.elem_size, &bytes);
		must_reject |= !sov && __builtin_mul_overflow(s.count, s.l.elem_size, &bytes);
		must_reject |= (d.count && !dov && !d.l.base) || (s.count && !sov && !s.l.base);
		must_reject |= al16 && (!aligned(&d.l, 16) || !aligned(&s.l, 16));
	}
	must_reject |= (flags & ADMA_OP_NONTEMPORAL) && (flags & ADMA_OP_CACHED);

	safe = d.ptr && s.ptr && d.valid && s.valid && d.in_bounds && s.in_bounds &&
	       d.count <= MAX_ELEMS && s.count <= MAX_ELEMS;
	if (!must_reject && !safe) {
		n_skipped++;
		return 0; /* the library cannot know our buffers: a copy out of them would be ours */
	}

	/* brute force: the byte sets */
	bool d_self = false, d_src = false, spans_meet = false;

	if (safe) {
		memset(mark, 0, sizeof(mark));
		d_self = mark_side(&d, 1, 1);
		d_src = mark_side(&s, 2, 1);
		if (d.count && s.count)
			spans_meet = d.buf == s.buf && d.lo < s.hi && s.lo < d.hi;
		memcpy(snap, bufs[0], BUFSZ);
		memcpy(snap[1], bufs[1], BUFSZ);
		memcpy(expect, snap, sizeof(expect));
		/* the reference: element k of the source to element k of the destination, read
		 * from the snapshot */
		for (size_t k = 0; k < d.count && d.count == s.count; k++) {
			size_t dat = (size_t)(rel_base(&d) + elem_offset(&d.l, k));
			size_t sat = (size_t)(rel_base(&s) + elem_offset(&s.l, k));

			memcpy(expect[d.buf] + dat, snap[s.buf] + sat,
			       d.l.elem_size < s.l.elem_size ? d.l.elem_size : s.l.elem_size);
		}
	} else {
		memcpy(snap, bufs[0], BUFSZ);
		memcpy(snap[1], bufs[1], BUFSZ);
	}

	adma_prep_copy_layout(&op, d.ptr, s.ptr);
	adma_op_set_flags(&op, flags);
	rc = adma_submit(e, &op, 1, &ticket);
	if (rc != 1 && rc != -EINVAL)
		FAIL("adma_submit returned %d (%s)", rc, adma_strerror(rc));
	accepted = rc == 1;

	if (!accepted) {
		n_rejected++;
		if (adma_last_error()[0] == '\0')
			FAIL("%s", "rejected with no adma_last_error()");
		if (memcmp(bufs[0], snap[0], BUFSZ) || memcmp(bufs[1], snap[1], BUFSZ))
			FAIL("%s", "a rejected op wrote to a buffer");
		/* constructor-built, in bounds, equal, disjoint, aligned as asked: must pass */
		if (safe && !must_reject && d.ctor_only && s.ctor_only &&
		    !empty_but_overflows(&d.l) && !empty_but_overflows(&s.l) &&
		    d.l.elem_size == s.l.elem_size && d.count == s.count && !spans_meet)
			FAIL("a valid constructor-built pair was refused: %s", adma_last_error());
		return 0;
	}

	n_accepted++;
	n_accepted_bytes += d.count > 0;
	if (must_reject)
		FAIL("accepted an op the header says is invalid (flags 0x%x, align16 %d)", flags,
		     al16);
	if (d_self)
		FAIL("%s", "accepted a destination whose elements overlap");
	if (d_src)
		FAIL("%s", "accepted a destination that overlaps the source");
	if (spans_meet)
		FAIL("%s", "accepted a destination whose byte span meets the source's");

	rc = adma_wait(e, ticket, 0);
	if (rc != 0)
		FAIL("inline op: adma_wait returned %d", rc);
	memset(&res, 0, sizeof(res));
	if (adma_poll(e, &res, 1) != 1)
		FAIL("%s", "inline op: no result to poll");
	if (res.ticket != ticket || res.status != 0 || res.bytes != d.count * d.l.elem_size)
		FAIL("result ticket %llu status %d bytes %zu, expected %llu, 0, %zu",
		     (unsigned long long)res.ticket, res.status, res.bytes,
		     (unsigned long long)ticket, d.count * d.l.elem_size);
	for (int i = 0; i < 2; i++) {
		for (size_t k = 0; k < BUFSZ; k++)
			if (bufs[i][k] != expect[i][k])
				FAIL("buffer %c byte %zu is 0x%02x, expected 0x%02x (destination in A, "
				     "source in %c, %zu elements of %zu bytes)",
				     'A' + i, k, bufs[i][k], expect[i][k], 'A' + s.buf, d.count,
				     d.l.elem_size);
	}
	return 0;
}
