/* SPDX-License-Identifier: MIT */
/*
 * Layouts: the constructors, the checks a layout copy passes at submit, the copy plan made once
 * per op, and the code that runs any range of a plan (a piece, when a copy is split).
 *
 * A plan pairs elements by flat index: the k-th element of the destination's loop nest gets
 * the k-th of the source's. When the two shapes refine to one set of dims (always, unless both
 * sides keep several dims after merging and their extents interleave, like 2x3 against 3x2),
 * both sides share that set, which is then reordered freely for locality (any order pairs the
 * same elements) and merged where contiguous on both sides. Otherwise each side keeps its own
 * dims in row-major order and the two are walked side by side, one run at a time.
 */
#include <errno.h>
#include <string.h>

#include "backend.h"

/* Tile edge of the transpose kernel, in elements: 32x32 of 16-byte elements is 16 KiB a side. */
#define TILE 32

static bool mul_ok(size_t a, size_t b, size_t *r)
{
	return !__builtin_mul_overflow(a, b, r);
}

/* ------------------------------------------------------------------------------------------ */
/* Checks                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* What a valid layout spans: its element count and the byte offsets, from base, of its lowest
 * and one past its highest byte (both 0 for an empty layout). */
struct span {
	size_t count;
	intptr_t lo, hi;
};

/*
 * Checks one layout's description; with @at_submit also that it can be used where it points
 * (a base for its elements, an address range that does not wrap). @who and @what name it in
 * the message.
 */
static int check_layout(const struct adma_engine *e, const char *who, const char *what,
			const struct adma_layout *l, bool at_submit, struct span *sp)
{
	size_t count = 1, bytes;
	intptr_t lo = 0, hi;

	if (!l)
		return adma__fail(e, -EINVAL, "%s: %s layout is NULL", who, what);
	if (l->ndims == 0 || l->ndims > ADMA_MAX_DIMS)
		return adma__fail(e, -EINVAL, "%s: %s layout has %u dims (1 to %d)", who, what,
				  l->ndims, ADMA_MAX_DIMS);
	if (!l->elem_size)
		return adma__fail(e, -EINVAL, "%s: %s layout has element size 0", who, what);
	if (l->elem_size > PTRDIFF_MAX)
		return adma__fail(e, -EINVAL, "%s: %s layout's element size %zu is too large", who,
				  what, l->elem_size);
	hi = (intptr_t)l->elem_size;
	for (unsigned d = 0; d < l->ndims; d++)
		if (!l->dims[d])
			count = 0; /* an empty layout, however large its other extents */
	for (unsigned d = 0; d < l->ndims && count; d++) {
		if (!mul_ok(count, l->dims[d], &count))
			return adma__fail(e, -EINVAL, "%s: %s layout's element count overflows", who,
					  what);
	}
	if (!mul_ok(count, l->elem_size, &bytes) || bytes > PTRDIFF_MAX)
		return adma__fail(e, -EINVAL, "%s: %s layout's %zu elements of %zu bytes overflow",
				  who, what, count, l->elem_size);
	sp->count = count;
	sp->lo = sp->hi = 0;
	if (!count)
		return 0;
	for (unsigned d = 0; d < l->ndims; d++) {
		intptr_t reach;

		if (__builtin_mul_overflow((intptr_t)(l->dims[d] - 1), (intptr_t)l->strides[d],
					   &reach) ||
		    __builtin_add_overflow(reach < 0 ? lo : hi, reach, reach < 0 ? &lo : &hi))
			return adma__fail(e, -EINVAL, "%s: %s layout's byte span overflows (dim %u)",
					  who, what, d);
	}
	if (at_submit) {
		uintptr_t b = (uintptr_t)l->base;

		if (!l->base)
			return adma__fail(e, -EINVAL, "%s: %s layout's base is NULL with %zu elements",
					  who, what, count);
		if (b < (uintptr_t)0 - (uintptr_t)lo || UINTPTR_MAX - b < (uintptr_t)hi)
			return adma__fail(e, -EINVAL, "%s: %s layout at %p wraps around the address "
					  "space", who, what, l->base);
	}
	sp->lo = lo;
	sp->hi = hi;
	return 0;
}

/* Whether n * s == want, without overflow (a product that overflows is never equal). */
static bool steps_to(size_t n, ptrdiff_t s, ptrdiff_t want)
{
	ptrdiff_t r;

	return !__builtin_mul_overflow((ptrdiff_t)n, s, &r) && r == want;
}

static size_t abs_stride(ptrdiff_t s)
{
	return s < 0 ? 0u - (size_t)s : (size_t)s;
}

/*
 * Whether two elements of @l may share a byte. Conservative: the dims (those with more than one
 * element), sorted by stride, must each step over everything the smaller ones span. Dense
 * arrays and every slice, transpose and reversal of one pass; a few exotic interleavings that
 * happen not to collide are refused.
 */
static bool self_overlaps(const struct adma_layout *l)
{
	size_t st[ADMA_MAX_DIMS], n[ADMA_MAX_DIMS], reach = l->elem_size;
	unsigned k = 0;

	for (unsigned d = 0; d < l->ndims; d++) {
		unsigned j;

		if (l->dims[d] < 2)
			continue;
		/* insertion by stride */
		for (j = k; j > 0 && st[j - 1] > abs_stride(l->strides[d]); j--) {
			st[j] = st[j - 1];
			n[j] = n[j - 1];
		}
		st[j] = abs_stride(l->strides[d]);
		n[j] = l->dims[d];
		k++;
	}
	for (unsigned j = 0; j < k; j++) {
		if (st[j] < reach)
			return true;
		reach += (n[j] - 1) * st[j]; /* within the span checked above */
	}
	return false;
}

int adma__layout_check(const struct adma_engine *e, unsigned i, const struct adma_layout *dst,
		       const struct adma_layout *src)
{
	char who[48];
	struct span ds, ss;
	int rc;

	snprintf(who, sizeof(who), "adma_submit: op %u", i);
	if ((rc = check_layout(e, who, "destination", dst, true, &ds)) ||
	    (rc = check_layout(e, who, "source", src, true, &ss)))
		return rc;
	if (dst->elem_size != src->elem_size)
		return adma__fail(e, -EINVAL, "%s: element sizes differ (destination %zu, source %zu)",
				  who, dst->elem_size, src->elem_size);
	if (ds.count != ss.count)
		return adma__fail(e, -EINVAL,
				  "%s: element counts differ (destination %zu, source %zu)", who,
				  ds.count, ss.count);
	if (e->align) {
		size_t bits = (uintptr_t)dst->base | (uintptr_t)src->base | dst->elem_size;

		for (unsigned d = 0; d < dst->ndims; d++)
			bits |= abs_stride(dst->strides[d]);
		for (unsigned d = 0; d < src->ndims; d++)
			bits |= abs_stride(src->strides[d]);
		if (bits & (e->align - 1))
			return adma__fail(e, -EINVAL,
					  "%s: a layout base, element size or stride is not a multiple "
					  "of the engine's align %zu", who, e->align);
	}
	if (!ds.count)
		return 0;
	if (self_overlaps(dst))
		return adma__fail(e, -EINVAL, "%s: destination layout's elements overlap each other "
				  "(or interleave in a way adma does not prove disjoint)", who);
	if ((uintptr_t)dst->base + (uintptr_t)ds.lo < (uintptr_t)src->base + (uintptr_t)ss.hi &&
	    (uintptr_t)src->base + (uintptr_t)ss.lo < (uintptr_t)dst->base + (uintptr_t)ds.hi)
		return adma__fail(e, -EINVAL, "%s: destination and source layouts' byte spans "
				  "overlap", who);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Constructors                                                                                */
/* ------------------------------------------------------------------------------------------ */

int adma_layout_dense(struct adma_layout *l, void *base, size_t elem_size, unsigned ndims,
		      const size_t *dims, int order)
{
	static const char who[] = "adma_layout_dense";
	struct adma_layout t;
	struct span sp;
	size_t step;
	int rc;

	if (!l || !dims)
		return adma__fail(NULL, -EINVAL, "%s: %s is NULL", who, !l ? "layout" : "dims");
	if (order != ADMA_ROW_MAJOR && order != ADMA_COL_MAJOR)
		return adma__fail(NULL, -EINVAL, "%s: order %d is neither ADMA_ROW_MAJOR nor "
				  "ADMA_COL_MAJOR", who, order);
	memset(&t, 0, sizeof(t));
	t.base = base;
	t.elem_size = elem_size;
	t.ndims = ndims;
	if (ndims && ndims <= ADMA_MAX_DIMS)
		memcpy(t.dims, dims, ndims * sizeof(*dims));
	/* The count check comes first: once it passes, every stride below fits. */
	if ((rc = check_layout(NULL, who, "the", &t, false, &sp)))
		return rc;
	step = elem_size;
	for (unsigned k = 0; k < ndims; k++) {
		unsigned d = order == ADMA_ROW_MAJOR ? ndims - 1 - k : k;

		t.strides[d] = (ptrdiff_t)step;
		step *= dims[d] ? dims[d] : 1; /* an empty layout's strides stay finite */
		if (step > PTRDIFF_MAX)
			step = 0; /* only an empty layout gets here: its strides are never used */
	}
	*l = t;
	return 0;
}

int adma_layout_slice(struct adma_layout *out, const struct adma_layout *in,
		      const size_t *offsets, const size_t *dims)
{
	static const char who[] = "adma_layout_slice";
	struct adma_layout t;
	struct span sp;
	uintptr_t base;
	int rc;

	if (!out || !offsets || !dims)
		return adma__fail(NULL, -EINVAL, "%s: %s is NULL", who,
				  !out ? "out" : !offsets ? "offsets" : "dims");
	if ((rc = check_layout(NULL, who, "the input", in, false, &sp)))
		return rc;
	t = *in;
	base = (uintptr_t)in->base;
	for (unsigned d = 0; d < in->ndims; d++) {
		if (offsets[d] > in->dims[d] || dims[d] > in->dims[d] - offsets[d])
			return adma__fail(NULL, -EINVAL, "%s: dim %u: block [%zu, %zu + %zu) leaves "
					  "the input's %zu elements", who, d, offsets[d], offsets[d],
					  dims[d], in->dims[d]);
		t.dims[d] = dims[d];
		/* Within the input's span, which fits: no overflow. */
		base += (uintptr_t)offsets[d] * (uintptr_t)in->strides[d];
	}
	t.base = (void *)base;
	*out = t;
	return 0;
}

int adma_layout_transpose(struct adma_layout *out, const struct adma_layout *in,
			  const unsigned *perm)
{
	static const char who[] = "adma_layout_transpose";
	struct adma_layout t;
	struct span sp;
	unsigned seen = 0;
	int rc;

	if (!out || !perm)
		return adma__fail(NULL, -EINVAL, "%s: %s is NULL", who, !out ? "out" : "perm");
	if ((rc = check_layout(NULL, who, "the input", in, false, &sp)))
		return rc;
	t = *in;
	for (unsigned d = 0; d < in->ndims; d++) {
		if (perm[d] >= in->ndims || (seen & (1u << perm[d])))
			return adma__fail(NULL, -EINVAL, "%s: perm is not a permutation of 0..%u "
					  "(perm[%u] = %u)", who, in->ndims - 1, d, perm[d]);
		seen |= 1u << perm[d];
		t.dims[d] = in->dims[perm[d]];
		t.strides[d] = in->strides[perm[d]];
	}
	*out = t;
	return 0;
}

int adma_layout_reverse(struct adma_layout *out, const struct adma_layout *in, unsigned dim)
{
	static const char who[] = "adma_layout_reverse";
	struct adma_layout t;
	struct span sp;
	int rc;

	if (!out)
		return adma__fail(NULL, -EINVAL, "%s: out is NULL", who);
	if ((rc = check_layout(NULL, who, "the input", in, false, &sp)))
		return rc;
	if (dim >= in->ndims)
		return adma__fail(NULL, -EINVAL, "%s: dim %u is not below the input's %u dims", who,
				  dim, in->ndims);
	t = *in;
	if (in->dims[dim])
		t.base = (void *)((uintptr_t)in->base +
				  (uintptr_t)(in->dims[dim] - 1) * (uintptr_t)in->strides[dim]);
	t.strides[dim] = -in->strides[dim];
	*out = t;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Planning                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* One side's dims in row-major order, extents of 1 dropped, neighbours that are contiguous
 * merged (this keeps the side's own flat order). @return the dim count (>= 1). */
static unsigned own_dims(const struct adma_layout *l, size_t *n, ptrdiff_t *s)
{
	unsigned k = 0;

	for (unsigned d = 0; d < l->ndims; d++) {
		if (l->dims[d] == 1)
			continue;
		if (k && steps_to(l->dims[d], l->strides[d], s[k - 1])) {
			n[k - 1] *= l->dims[d];
			s[k - 1] = l->strides[d];
			continue;
		}
		n[k] = l->dims[d];
		s[k] = l->strides[d];
		k++;
	}
	if (!k) {
		n[0] = 1;
		s[0] = (ptrdiff_t)l->elem_size;
		k = 1;
	}
	return k;
}

/*
 * Refines two row-major shapes of equal count into one, innermost first: a dim whose extent
 * is a multiple of the other side's innermost extent splits into (outer, inner). @return the
 * common dim count, or 0 when the extents interleave and no common shape exists.
 */
static unsigned refine(const size_t *an, const ptrdiff_t *as, unsigned na, const size_t *bn,
		       const ptrdiff_t *bs, unsigned nb, size_t *n, ptrdiff_t *sa, ptrdiff_t *sb)
{
	unsigned k = 0;
	int i = (int)na - 1, j = (int)nb - 1;
	size_t ra = an[i], rb = bn[j];
	ptrdiff_t ta = as[i], tb = bs[j];

	for (;;) {
		size_t m = ra < rb ? ra : rb;

		if (ra % m || rb % m || k == ADMA__PLAN_DIMS)
			return 0;
		n[k] = m;
		sa[k] = ta;
		sb[k] = tb;
		k++;
		ra /= m, rb /= m;
		/* The outer part's stride; when nothing is left of the dim it is never used, and
		 * the unsigned product cannot overflow into undefined behaviour. */
		ta = (ptrdiff_t)((uintptr_t)ta * m);
		tb = (ptrdiff_t)((uintptr_t)tb * m);
		if (ra == 1) {
			if (--i < 0)
				break;
			ra = an[i], ta = as[i];
		}
		if (rb == 1) {
			if (--j < 0)
				break;
			rb = bn[j], tb = bs[j];
		}
	}
	return k;
}

void adma__layout_plan(struct adma__plan *p, const struct adma_layout *dst,
		       const struct adma_layout *src)
{
	size_t dn[ADMA_MAX_DIMS], sn[ADMA_MAX_DIMS], n[ADMA__PLAN_DIMS], count = 1;
	ptrdiff_t dsd[ADMA_MAX_DIMS], ssd[ADMA_MAX_DIMS], ds[ADMA__PLAN_DIMS], ss[ADMA__PLAN_DIMS];
	unsigned dk, sk, k, m;

	memset(p, 0, sizeof(*p));
	p->dst = (uintptr_t)dst->base;
	p->src = (uintptr_t)src->base;
	p->elem = dst->elem_size;
	for (unsigned d = 0; d < dst->ndims; d++)
		count *= dst->dims[d];
	p->count = count;
	p->unit = p->elem;
	if (!count)
		return;
	dk = own_dims(dst, dn, dsd);
	sk = own_dims(src, sn, ssd);
	k = refine(dn, dsd, dk, sn, ssd, sk, n, ds, ss);
	if (!k) {
		/* Interleaved shapes: each side walks its own nest. */
		p->dnd = dk;
		p->snd = sk;
		memcpy(p->dn, dn, dk * sizeof(*dn));
		memcpy(p->ds, dsd, dk * sizeof(*dsd));
		memcpy(p->sn, sn, sk * sizeof(*sn));
		memcpy(p->ss, ssd, sk * sizeof(*ssd));
		return;
	}
	/* One shared nest. Destination strides made positive (both sides reversed together:
	 * the same pairs), then sorted outermost first by destination stride, so that writes
	 * sweep memory forwards; the source stride breaks ties. */
	for (unsigned d = 0; d < k; d++) {
		if (ds[d] < 0) {
			p->dst += (uintptr_t)((intptr_t)(n[d] - 1) * ds[d]);
			p->src += (uintptr_t)((intptr_t)(n[d] - 1) * ss[d]);
			ds[d] = -ds[d];
			ss[d] = -ss[d];
		}
	}
	for (unsigned d = 1; d < k; d++) {
		size_t tn = n[d];
		ptrdiff_t td = ds[d], ts = ss[d];
		unsigned j = d;

		for (; j > 0 && (ds[j - 1] < td ||
				 (ds[j - 1] == td && abs_stride(ss[j - 1]) < abs_stride(ts))); j--) {
			n[j] = n[j - 1];
			ds[j] = ds[j - 1];
			ss[j] = ss[j - 1];
		}
		n[j] = tn, ds[j] = td, ss[j] = ts;
	}
	/* Merge neighbours contiguous on both sides. */
	m = 0;
	for (unsigned d = 0; d < k; d++) {
		if (m && steps_to(n[d], ds[d], ds[m - 1]) && steps_to(n[d], ss[d], ss[m - 1])) {
			n[m - 1] *= n[d];
			ds[m - 1] = ds[d];
			ss[m - 1] = ss[d];
			continue;
		}
		n[m] = n[d], ds[m] = ds[d], ss[m] = ss[d];
		m++;
	}
	/* A transpose: the destination's contiguous dim is innermost, and another dim is the
	 * source's contiguous one; that dim moves next to it and the two go by tiles. */
	if (m >= 2 && ds[m - 1] == (ptrdiff_t)p->elem && ss[m - 1] != (ptrdiff_t)p->elem &&
	    n[m - 1] >= TILE / 2) {
		for (unsigned d = 0; d + 1 < m; d++) {
			if (ss[d] != (ptrdiff_t)p->elem || n[d] < TILE / 2)
				continue;
			size_t tn = n[d];
			ptrdiff_t td = ds[d], ts = ss[d];

			for (unsigned j = d; j + 2 < m; j++) {
				n[j] = n[j + 1], ds[j] = ds[j + 1], ss[j] = ss[j + 1];
			}
			n[m - 2] = tn, ds[m - 2] = td, ss[m - 2] = ts;
			p->transpose = true;
			p->unit = TILE * n[m - 1] * p->elem;
			break;
		}
	}
	p->dnd = p->snd = m;
	memcpy(p->dn, n, m * sizeof(*n));
	memcpy(p->sn, n, m * sizeof(*n));
	memcpy(p->ds, ds, m * sizeof(*ds));
	memcpy(p->ss, ss, m * sizeof(*ss));
}

/* ------------------------------------------------------------------------------------------ */
/* Running                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* k elements from s (step sstep) to d (step dstep). Addresses are integers: a reversed or
 * finished walk may point outside any object, which pointer arithmetic may not. */
static void copy_elems(uintptr_t d, ptrdiff_t dstep, uintptr_t s, ptrdiff_t sstep, size_t k,
		       size_t elem, bool nt)
{
	if (dstep == (ptrdiff_t)elem && sstep == (ptrdiff_t)elem) {
		adma__copy((void *)d, (const void *)s, k * elem, nt);
		return;
	}
#define STRIDED(T)                                                                              \
	for (size_t i = 0; i < k; i++, d += (uintptr_t)dstep, s += (uintptr_t)sstep) {         \
		T v;                                                                            \
		memcpy(&v, (const void *)s, sizeof(v));                                         \
		memcpy((void *)d, &v, sizeof(v));                                               \
	}                                                                                       \
	return;
	switch (elem) {
	case 1:
		STRIDED(uint8_t)
	case 2:
		STRIDED(uint16_t)
	case 4:
		STRIDED(uint32_t)
	case 8:
		STRIDED(uint64_t)
	case 16: {
		struct e16 {
			uint64_t a, b;
		};
		STRIDED(struct e16)
	}
	}
#undef STRIDED
	for (size_t i = 0; i < k; i++, d += (uintptr_t)dstep, s += (uintptr_t)sstep)
		memcpy((void *)d, (const void *)s, elem);
}

/* Where flat index @at of a nest lives; idx[] gets its coordinates. */
static uintptr_t locate(uintptr_t base, const size_t *n, const ptrdiff_t *st, unsigned nd,
			size_t at, size_t *idx)
{
	for (unsigned d = nd; d-- > 0;) {
		idx[d] = at % n[d];
		at /= n[d];
		base += (uintptr_t)((intptr_t)idx[d] * st[d]);
	}
	return base;
}

/* Moves a nest's position @k elements on, within its innermost dim or to the next row. */
static uintptr_t advance(uintptr_t p, const size_t *n, const ptrdiff_t *st, unsigned nd,
			 size_t *idx, size_t k)
{
	unsigned d = nd - 1;

	idx[d] += k;
	p += (uintptr_t)((intptr_t)k * st[d]);
	while (d > 0 && idx[d] == n[d]) {
		p -= (uintptr_t)((intptr_t)n[d] * st[d]);
		idx[d] = 0;
		d--;
		idx[d]++;
		p += (uintptr_t)st[d];
	}
	return p;
}

/* Elements [a, b) of the plan, one run at a time: a run ends where either side's innermost
 * dim does. */
static void walk(const struct adma__plan *p, size_t a, size_t b, bool nt)
{
	size_t di[ADMA__PLAN_DIMS], si[ADMA__PLAN_DIMS];
	unsigned dl = p->dnd - 1, sl = p->snd - 1;
	uintptr_t d = locate(p->dst, p->dn, p->ds, p->dnd, a, di);
	uintptr_t s = locate(p->src, p->sn, p->ss, p->snd, a, si);

	while (a < b) {
		size_t k = b - a;

		if (p->dn[dl] - di[dl] < k)
			k = p->dn[dl] - di[dl];
		if (p->sn[sl] - si[sl] < k)
			k = p->sn[sl] - si[sl];
		copy_elems(d, p->ds[dl], s, p->ss[sl], k, p->elem, nt);
		a += k;
		if (a == b)
			break;
		d = advance(d, p->dn, p->ds, p->dnd, di, k);
		s = advance(s, p->sn, p->ss, p->snd, si, k);
	}
}

#if HAVE_X86
/* What SIMD blocks of a tile leave: the columns from @cn of the rows below @rn, then every
 * column of the rows from @rn. */
static void tile_edges(uintptr_t d, ptrdiff_t drow, uintptr_t s, ptrdiff_t scol, size_t rows,
		       size_t cols, size_t elem, size_t rn, size_t cn)
{
	for (size_t i = 0; i < rows; i++) {
		size_t j = i < rn ? cn : 0;

		copy_elems(d + (uintptr_t)((intptr_t)i * drow) + j * elem, (ptrdiff_t)elem,
			   s + i * elem + (uintptr_t)((intptr_t)j * scol), scol, cols - j, elem, false);
	}
}

/*
 * The 4-byte tile with AVX2: 8x8 blocks, each 8 source loads (one per destination column,
 * 8 rows wide), an in-register transpose, and 8 destination stores. Edges go by the scalar
 * loop.
 */
__attribute__((target("avx2"))) static void tile4_avx2(uintptr_t d, ptrdiff_t drow, uintptr_t s,
						      ptrdiff_t scol, size_t rows, size_t cols)
{
	size_t r8 = rows & ~(size_t)7, c8 = cols & ~(size_t)7;

	for (size_t i = 0; i < r8; i += 8) {
		for (size_t j = 0; j < c8; j += 8) {
			const uint8_t *sp = (const uint8_t *)(s + i * 4 + (uintptr_t)((intptr_t)j * scol));
			uint8_t *dp = (uint8_t *)(d + (uintptr_t)((intptr_t)i * drow) + j * 4);
			__m256 r0 = _mm256_loadu_ps((const float *)(sp + 0 * scol));
			__m256 r1 = _mm256_loadu_ps((const float *)(sp + 1 * scol));
			__m256 r2 = _mm256_loadu_ps((const float *)(sp + 2 * scol));
			__m256 r3 = _mm256_loadu_ps((const float *)(sp + 3 * scol));
			__m256 r4 = _mm256_loadu_ps((const float *)(sp + 4 * scol));
			__m256 r5 = _mm256_loadu_ps((const float *)(sp + 5 * scol));
			__m256 r6 = _mm256_loadu_ps((const float *)(sp + 6 * scol));
			__m256 r7 = _mm256_loadu_ps((const float *)(sp + 7 * scol));
			__m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
			__m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
			__m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
			__m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
			__m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
			__m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
			__m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
			__m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);

			_mm256_storeu_ps((float *)(dp + 0 * drow), _mm256_permute2f128_ps(u0, u4, 0x20));
			_mm256_storeu_ps((float *)(dp + 1 * drow), _mm256_permute2f128_ps(u1, u5, 0x20));
			_mm256_storeu_ps((float *)(dp + 2 * drow), _mm256_permute2f128_ps(u2, u6, 0x20));
			_mm256_storeu_ps((float *)(dp + 3 * drow), _mm256_permute2f128_ps(u3, u7, 0x20));
			_mm256_storeu_ps((float *)(dp + 4 * drow), _mm256_permute2f128_ps(u0, u4, 0x31));
			_mm256_storeu_ps((float *)(dp + 5 * drow), _mm256_permute2f128_ps(u1, u5, 0x31));
			_mm256_storeu_ps((float *)(dp + 6 * drow), _mm256_permute2f128_ps(u2, u6, 0x31));
			_mm256_storeu_ps((float *)(dp + 7 * drow), _mm256_permute2f128_ps(u3, u7, 0x31));
		}
	}
	tile_edges(d, drow, s, scol, rows, cols, 4, r8, c8);
}

/*
 * The 1- and 2-byte tiles with SSE2: 16x16 and 8x8 blocks, transposed in registers by log2(N)
 * rounds of the same interleave (row q with row q + N/2, low and high halves), which is the
 * whole transpose after the last round. Edges go by the scalar loop.
 */
static inline __attribute__((always_inline)) void
tile_small_sse2(uintptr_t d, ptrdiff_t drow, uintptr_t s, ptrdiff_t scol, size_t rows, size_t cols,
		const size_t elem)
{
	const size_t n = 16 / elem;
	size_t rn = rows / n * n, cn = cols / n * n;

	for (size_t i = 0; i < rn; i += n) {
		for (size_t j = 0; j < cn; j += n) {
			__m128i v[16], t[16];

			for (size_t k = 0; k < n; k++)
				v[k] = _mm_loadu_si128((const __m128i *)(s + i * elem +
									 (uintptr_t)((intptr_t)(j + k) * scol)));
			for (size_t round = 1; round < n; round *= 2) {
				for (size_t q = 0; q < n / 2; q++) {
					if (elem == 1) {
						t[2 * q] = _mm_unpacklo_epi8(v[q], v[q + n / 2]);
						t[2 * q + 1] = _mm_unpackhi_epi8(v[q], v[q + n / 2]);
					} else {
						t[2 * q] = _mm_unpacklo_epi16(v[q], v[q + n / 2]);
						t[2 * q + 1] = _mm_unpackhi_epi16(v[q], v[q + n / 2]);
					}
				}
				memcpy(v, t, n * sizeof(v[0]));
			}
			for (size_t k = 0; k < n; k++)
				_mm_storeu_si128((__m128i *)(d + (uintptr_t)((intptr_t)(i + k) * drow) +
							     j * elem), v[k]);
		}
	}
	tile_edges(d, drow, s, scol, rows, cols, elem, rn, cn);
}
#endif

/* One tile: rows x cols elements; destination rows contiguous, source columns contiguous. */
static void tile(uintptr_t d, ptrdiff_t drow, uintptr_t s, ptrdiff_t scol, size_t rows,
		 size_t cols, size_t elem)
{
#define TILE_LOOP(T)                                                                          \
	for (size_t i = 0; i < rows; i++) {                                                   \
		T *dp = (T *)(d + (uintptr_t)((intptr_t)i * drow));                           \
		uintptr_t sp = s + i * sizeof(T);                                             \
		for (size_t j = 0; j < cols; j++, sp += (uintptr_t)scol)                      \
			memcpy(&dp[j], (const void *)sp, sizeof(T));                          \
	}                                                                                     \
	return;
#if HAVE_X86
	if (elem == 4 && adma__cpu()->avx2) {
		tile4_avx2(d, drow, s, scol, rows, cols);
		return;
	}
	if (elem == 1 || elem == 2) {
		/* constant element sizes: the blocks stay in registers */
		if (elem == 1)
			tile_small_sse2(d, drow, s, scol, rows, cols, 1);
		else
			tile_small_sse2(d, drow, s, scol, rows, cols, 2);
		return;
	}
#endif
	switch (elem) {
	case 1:
		TILE_LOOP(uint8_t)
	case 2:
		TILE_LOOP(uint16_t)
	case 4:
		TILE_LOOP(uint32_t)
	case 8:
		TILE_LOOP(uint64_t)
	case 16: {
		struct e16 {
			uint64_t a, b;
		};
		TILE_LOOP(struct e16)
	}
	}
#undef TILE_LOOP
	for (size_t i = 0; i < rows; i++)
		copy_elems(d + (uintptr_t)((intptr_t)i * drow), (ptrdiff_t)elem, s + i * elem, scol,
			   cols, elem, false);
}

/*
 * Elements [a, b) of a transpose plan. Its nest is (outer.., I, J): J is contiguous in the
 * destination, I in the source. Whole rows (one I, every J) go by tiles of TILE rows and
 * TILE columns, so that both sides touch TILE lines at a time; a part row at either end of
 * the range goes element by element.
 */
static void transpose(const struct adma__plan *p, size_t a, size_t b)
{
	unsigned nd = p->dnd, I = nd - 2, J = nd - 1;
	size_t cols = p->dn[J], r0 = (a + cols - 1) / cols, r1 = b / cols;
	/* 1-byte tiles span a whole 64-byte line a side */
	size_t edge = p->elem == 1 ? 2 * TILE : TILE;
	size_t idx[ADMA__PLAN_DIMS];

	if (r0 > r1) { /* inside one row */
		walk(p, a, b, false);
		return;
	}
	if (a < r0 * cols)
		walk(p, a, r0 * cols, false);
	while (r0 < r1) {
		/* rows r0.. share their outer coordinates up to the end of this I extent */
		size_t i0 = r0 % p->dn[I], rows = p->dn[I] - i0;
		uintptr_t d, s;

		if (rows > r1 - r0)
			rows = r1 - r0;
		d = locate(p->dst, p->dn, p->ds, nd, r0 * cols, idx);
		s = locate(p->src, p->sn, p->ss, nd, r0 * cols, idx);
		for (size_t i = 0; i < rows; i += edge) {
			size_t h = rows - i < edge ? rows - i : edge;

			for (size_t j = 0; j < cols; j += edge) {
				size_t w = cols - j < edge ? cols - j : edge;

				tile(d + (uintptr_t)((intptr_t)i * p->ds[I] + (intptr_t)j * p->ds[J]),
				     p->ds[I],
				     s + (uintptr_t)((intptr_t)i * p->ss[I] + (intptr_t)j * p->ss[J]),
				     p->ss[J], h, w, p->elem);
			}
		}
		r0 += rows;
	}
	if (r1 * cols < b)
		walk(p, r1 * cols, b, false);
}

size_t adma__layout_run(const struct adma__plan *p, size_t off, size_t len, bool nt)
{
	size_t total = p->count * p->elem, a, b;

	if (off >= total)
		return 0;
	if (len > total - off)
		len = total - off;
	a = off / p->elem;
	b = (off + len) / p->elem;
	if (p->transpose)
		transpose(p, a, b);
	else
		walk(p, a, b, nt);
	return (b - a) * p->elem;
}
