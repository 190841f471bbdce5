/* SPDX-License-Identifier: MIT */
/*
 * layout_transpose: transposes a 1024x768 row-major matrix of floats into a 768x1024 one.
 *
 * adma_layout_transpose() with perm {1, 0} swaps the dims and strides of the source view:
 * it reads as a 768x1024 matrix whose element (i, j) is the source's (j, i). Copying that
 * view into a dense 768x1024 destination is the transpose; the engine runs it through
 * cache-blocked tiles on its workers.
 *
 * Build against the installed library:
 *   gcc -std=c11 layout_transpose.c $(pkg-config --cflags --libs adma) -o layout_transpose
 */
#include <adma.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define ROWS 1024
#define COLS 768

int main(void)
{
	const size_t dims[2] = { ROWS, COLS }, tdims[2] = { COLS, ROWS };
	const unsigned perm[2] = { 1, 0 };
	struct adma_layout a, at, t;
	struct adma_engine *e = adma_default();
	struct adma_op op;
	uint64_t ticket;
	float *src = malloc(sizeof(float) * ROWS * COLS);
	float *dst = calloc((size_t)COLS * ROWS, sizeof(float));
	int r;

	if (!e || !src || !dst)
		return 1;
	for (size_t i = 0; i < ROWS * COLS; i++)
		src[i] = (float)i; /* exact: below 2^24 */

	r = adma_layout_dense(&a, src, sizeof(float), 2, dims, ADMA_ROW_MAJOR);
	if (r == 0)
		r = adma_layout_transpose(&at, &a, perm); /* dims {768, 1024}, strides {4, 3072} */
	if (r == 0)
		r = adma_layout_dense(&t, dst, sizeof(float), 2, tdims, ADMA_ROW_MAJOR);
	if (r < 0) {
		fprintf(stderr, "layout: %s\n", adma_strerror(r));
		return 1;
	}

	adma_prep_copy_layout(&op, &t, &at);
	r = adma_submit(e, &op, 1, &ticket);
	if (r == 1)
		r = adma_wait(e, ticket, -1);
	if (r < 0) {
		fprintf(stderr, "transpose: %s (%s)\n", adma_strerror(r), adma_last_error());
		return 1;
	}

	for (size_t i = 0; i < ROWS; i++) {
		for (size_t j = 0; j < COLS; j++) {
			if (dst[j * ROWS + i] != src[i * COLS + j]) {
				fprintf(stderr, "layout_transpose: wrong element (%zu, %zu)\n", j,
					i);
				return 1;
			}
		}
	}
	printf("ticket %" PRIu64 ": %dx%d floats transposed to %dx%d: t[1][0] = %g, "
	       "t[0][1] = %g\n",
	       ticket, ROWS, COLS, COLS, ROWS, dst[ROWS], dst[1]);
	free(src);
	free(dst);
	return 0;
}
