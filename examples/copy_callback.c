/* SPDX-License-Identifier: MIT */
/*
 * copy_callback: one asynchronous copy whose outcome a completion callback records.
 *
 * The callback runs on a worker thread; adma_wait() returns only after it has returned, so
 * the main thread may read what it recorded without further locking.
 *
 * Build against the installed library:
 *   gcc -std=c11 copy_callback.c $(pkg-config --cflags --libs adma) -o copy_callback
 */
#include <adma.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N (4u << 20)

static void on_done(void *arg, const struct adma_result *res)
{
	/* @res is valid only during the call: keep a copy. */
	*(struct adma_result *)arg = *res;
}

int main(void)
{
	struct adma_engine *e;
	struct adma_result res = { 0 };
	struct adma_op op;
	uint64_t ticket;
	unsigned char *src = malloc(N), *dst = calloc(1, N);
	int r;

	if (!src || !dst)
		return 1;
	for (size_t i = 0; i < N; i++)
		src[i] = (unsigned char)(i * 7 + i / 251);

	r = adma_engine_create(&e, NULL);
	if (r < 0) {
		fprintf(stderr, "adma_engine_create: %s\n", adma_strerror(r));
		return 1;
	}
	adma_prep_copy(&op, dst, src, N);
	adma_op_set_callback(&op, on_done, &res);
	r = adma_submit(e, &op, 1, &ticket);
	if (r == 1)
		r = adma_wait(e, ticket, -1);
	if (r < 0) {
		fprintf(stderr, "copy: %s\n", adma_strerror(r));
		return 1;
	}
	printf("ticket %" PRIu64 ": status %d (%s), %zu bytes\n", res.ticket, res.status,
	       adma_strerror(res.status), res.bytes);
	if (res.ticket != ticket || res.status != 0 || res.bytes != N || memcmp(dst, src, N) != 0) {
		fprintf(stderr, "copy_callback: wrong result or data\n");
		return 1;
	}
	r = adma_engine_destroy(&e);
	free(src);
	free(dst);
	return r == 0 ? 0 : 1;
}
