/* SPDX-License-Identifier: MIT */
/* Copy and fill kernels, and the dispatcher that runs one validated op. No locks, no threads. */
#include <errno.h>
#include <string.h>

#include "backend.h"

/* Fills n bytes at dst with a pattern of len bytes (a power of two up to 16): the first block
 * is written by hand, then doubled by copying the part already written, which keeps the pattern
 * phase because every block length is a multiple of len. */
static void fill(uint8_t *dst, size_t n, const uint8_t *pattern, size_t len)
{
	enum { BLOCK = 4096 };
	size_t done, k;

	if (len == 1) {
		memset(dst, pattern[0], n);
		return;
	}
	k = n < 64 ? n : 64;
	for (done = 0; done < k; done++)
		dst[done] = pattern[done & (len - 1)];
	while (done < n && done < BLOCK) {
		k = done <= n - done ? done : n - done;
		memcpy(dst + done, dst, k);
		done += k;
	}
	while (done < n) {
		k = n - done < BLOCK ? n - done : BLOCK;
		memcpy(dst + done, dst, k);
		done += k;
	}
}

int adma__execute(const struct adma_op *op, size_t *bytes)
{
	long r;

	switch (op->opcode) {
	case ADMA_OP_COPY:
		if (op->n)
			memcpy(op->dst, op->src, op->n);
		*bytes = op->n;
		return 0;
	case ADMA_OP_FILL:
		fill(op->dst, op->n, op->u.pattern, op->pattern_len);
		*bytes = op->n;
		return 0;
	case ADMA_OP_COPY_SG:
		*bytes = 0;
		for (size_t i = 0; i < op->n; i++) {
			const struct adma_sge *g = &op->u.sg[i];

			if (g->n)
				memcpy(g->dst, g->src, g->n);
			*bytes += g->n;
		}
		return 0;
	case ADMA_OP_CUSTOM:
		r = op->u.custom.fn(op->dst, op->src, op->u.custom.arg);
		*bytes = r >= 0 ? (size_t)r : 0;
		return r >= 0 ? 0 : (int)r;
	}
	*bytes = 0;
	return -ENOTSUP;
}
