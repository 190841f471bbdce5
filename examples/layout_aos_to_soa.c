/* SPDX-License-Identifier: MIT */
/*
 * layout_aos_to_soa: an array of structs {x, y, z, id} split into four separate arrays, one
 * layout copy per field, submitted as one batch of four ops and waited for with one barrier.
 *
 * Each field, seen across the array, is a 1-D layout: N elements of 4 bytes, one every
 * sizeof(struct point) bytes, starting at that field of the first struct. Layouts are plain
 * structs and may be filled by hand like this. (The same view comes from a dense 2-D view
 * [N][4] of 4-byte elements sliced by column, when the struct has no padding.)
 *
 * Build against the installed library:
 *   gcc -std=c11 layout_aos_to_soa.c $(pkg-config --cflags --libs adma) -o layout_aos_to_soa
 */
#include <adma.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#define N 100000

struct point {
	float x, y, z;
	int id;
};

int main(void)
{
	static const size_t field_off[4] = { offsetof(struct point, x), offsetof(struct point, y),
					     offsetof(struct point, z),
					     offsetof(struct point, id) };
	struct point *pts = malloc(N * sizeof(*pts));
	float *xs = malloc(N * sizeof(float)), *ys = malloc(N * sizeof(float));
	float *zs = malloc(N * sizeof(float));
	int *ids = malloc(N * sizeof(int));
	void *arrays[4] = { xs, ys, zs, ids };
	struct adma_layout from[4], to[4];
	struct adma_op ops[4];
	struct adma_engine *e;
	unsigned submitted = 0;
	int r;

	if (!pts || !xs || !ys || !zs || !ids)
		return 1;
	for (int i = 0; i < N; i++)
		pts[i] = (struct point){
			.x = (float)i, .y = 0.5f * (float)i, .z = -(float)i, .id = 7 * i + 1
		};

	r = adma_engine_create(&e, NULL);
	if (r < 0) {
		fprintf(stderr, "adma_engine_create: %s\n", adma_strerror(r));
		return 1;
	}
	for (int f = 0; f < 4; f++) {
		/* Source: field f of every struct, by hand. */
		from[f] = (struct adma_layout){ .base = (char *)pts + field_off[f],
						.elem_size = 4,
						.ndims = 1,
						.dims = { N },
						.strides = { (ptrdiff_t)sizeof(struct point) } };
		/* Destination: a packed array of N 4-byte elements. */
		r = adma_layout_dense(&to[f], arrays[f], 4, 1, (const size_t[]){ N },
				      ADMA_ROW_MAJOR);
		if (r < 0) {
			fprintf(stderr, "adma_layout_dense: %s\n", adma_strerror(r));
			return 1;
		}
		adma_prep_copy_layout(&ops[f], &to[f], &from[f]);
	}
	/* One batch; a submit may accept only a prefix of it: submit the rest. */
	while (submitted < 4) {
		r = adma_submit(e, ops + submitted, 4 - submitted, NULL);
		if (r < 0) {
			fprintf(stderr, "adma_submit: %s (%s)\n", adma_strerror(r),
				adma_last_error());
			return 1;
		}
		submitted += (unsigned)r;
	}
	r = adma_barrier(e, -1); /* all four done, and the first failure if any */
	if (r < 0) {
		fprintf(stderr, "adma_barrier: %s\n", adma_strerror(r));
		return 1;
	}

	for (int i = 0; i < N; i++) {
		if (xs[i] != pts[i].x || ys[i] != pts[i].y || zs[i] != pts[i].z ||
		    ids[i] != pts[i].id) {
			fprintf(stderr, "layout_aos_to_soa: wrong data at %d\n", i);
			return 1;
		}
	}
	printf("%d structs split into 4 arrays by 4 layout ops and 1 barrier: "
	       "pts[%d] = {%g, %g, %g, %d}\n",
	       N, N - 1, xs[N - 1], ys[N - 1], zs[N - 1], ids[N - 1]);
	r = adma_engine_destroy(&e);
	free(pts);
	free(xs);
	free(ys);
	free(zs);
	free(ids);
	return r == 0 ? 0 : 1;
}
