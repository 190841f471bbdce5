/* SPDX-License-Identifier: MIT */
/*
 * layout_submatrix: copies a 300x200 block of doubles that starts at row 17, column 40 of a
 * 1000x800 row-major matrix into a dense 300x200 buffer, as one layout copy.
 *
 * adma_layout_dense() describes the whole matrix, adma_layout_slice() narrows that view to the
 * block (only base and dims change: no data moves), and a dense layout describes the buffer.
 * The engine copies the block's 300 rows of 1600 bytes each.
 *
 * Build against the installed library:
 *   gcc -std=c11 layout_submatrix.c $(pkg-config --cflags --libs adma) -o layout_submatrix
 */
#include <adma.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define ROWS 1000
#define COLS 800
#define ROW0 17
#define COL0 40
#define BROWS 300
#define BCOLS 200

int main(void)
{
	const size_t dims[2] = { ROWS, COLS };
	const size_t offsets[2] = { ROW0, COL0 }, bdims[2] = { BROWS, BCOLS };
	struct adma_layout matrix, block, out;
	struct adma_engine *e = adma_default();
	struct adma_op op;
	uint64_t ticket;
	double *m = malloc(sizeof(double) * ROWS * COLS);
	double *blk = calloc(BROWS * BCOLS, sizeof(double));
	int r;

	if (!e || !m || !blk)
		return 1;
	/* m[i][j] = 1000 i + j: every element says where it came from. */
	for (size_t i = 0; i < ROWS; i++)
		for (size_t j = 0; j < COLS; j++)
			m[i * COLS + j] = 1000.0 * (double)i + (double)j;

	/* Three views; the constructors only check their arguments and compute strides. */
	r = adma_layout_dense(&matrix, m, sizeof(double), 2, dims, ADMA_ROW_MAJOR);
	if (r == 0)
		r = adma_layout_slice(&block, &matrix, offsets, bdims);
	if (r == 0)
		r = adma_layout_dense(&out, blk, sizeof(double), 2, bdims, ADMA_ROW_MAJOR);
	if (r < 0) {
		fprintf(stderr, "layout: %s\n", adma_strerror(r));
		return 1;
	}

	/* The layout structs are read at submit: they need not outlive adma_submit(). */
	adma_prep_copy_layout(&op, &out, &block);
	r = adma_submit(e, &op, 1, &ticket);
	if (r == 1)
		r = adma_wait(e, ticket, -1);
	if (r < 0) {
		fprintf(stderr, "layout copy: %s (%s)\n", adma_strerror(r), adma_last_error());
		return 1;
	}

	for (size_t i = 0; i < BROWS; i++) {
		for (size_t j = 0; j < BCOLS; j++) {
			if (blk[i * BCOLS + j] != m[(ROW0 + i) * COLS + COL0 + j]) {
				fprintf(stderr, "layout_submatrix: wrong element at (%zu, %zu)\n",
					i, j);
				return 1;
			}
		}
	}
	printf("ticket %" PRIu64 ": %dx%d block at (%d, %d) of a %dx%d matrix copied: "
	       "first %g, last %g\n",
	       ticket, BROWS, BCOLS, ROW0, COL0, ROWS, COLS, blk[0], blk[BROWS * BCOLS - 1]);
	free(m);
	free(blk);
	return 0;
}
