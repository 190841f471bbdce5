/* SPDX-License-Identifier: MIT */
/* The naive reference both the layout test and the layout fuzzer check adma against. */
#ifndef ADMA_TEST_LAYOUT_REF_H
#define ADMA_TEST_LAYOUT_REF_H

#include <stddef.h>

#include "adma.h"

/* Byte offset from base of element @k in row-major order of @l's dims: unravelled the naive
 * way, last dimension fastest. */
static inline ptrdiff_t elem_offset(const struct adma_layout *l, size_t k)
{
	ptrdiff_t off = 0;

	for (unsigned d = l->ndims; d-- > 0;) {
		off += (ptrdiff_t)(k % l->dims[d]) * l->strides[d];
		k /= l->dims[d];
	}
	return off;
}

#endif
