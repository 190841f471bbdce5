/* SPDX-License-Identifier: MIT */
/*
 * Peer "ceiling": what the memory of this machine allows at the moment of the run, with no
 * engine in the way. As many plain threads as adma's default engine has workers (the caller is
 * one of them) claim 1 MiB pieces of the copy and write them with non-temporal stores (AVX2
 * when the CPU has it), the technique adma's kernels use above the cache size, written here
 * independently of adma. A large copy runs at
 * memory speed, and that speed moves with the load on the host: adma's bulk ratio against
 * memcpy cannot exceed ceiling/memcpy in the same run, so this figure tells an engine that is
 * slow from a machine whose bandwidth is spent.
 *
 * Only one copy at a time (bulk sizes from 2 MiB up): it has no batch(). Between
 * start() and stop() the helper threads poll for the next copy, as the team of a parallel
 * region would, so that no wake-up is timed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

#define WHAT "no engine: plain threads (as many as adma's), non-temporal stores; memory speed"

#if defined(__x86_64__)
#include <immintrin.h>

#define MAX_TEAM 64

static unsigned team = 1; /* threads that copy, the caller included */
static unsigned helpers;  /* of them, started by start() */
static pthread_t tids[MAX_TEAM];
/* The copy in progress: written by the caller before it bumps gen (release), read by helpers
 * after they see gen move (acquire). */
static struct {
	char *dst;
	const char *src;
	size_t n;
} job;
static atomic_uint gen;  /* bumped once per copy */
static atomic_uint done; /* helpers finished with the copy of this gen */
static atomic_bool quit;

#define CHUNK ((size_t)1 << 20) /* threads claim the copy in pieces of this many bytes */

static atomic_size_t next_chunk; /* the next piece of the job to claim */
static bool have_avx2;

/* Whole 128-byte blocks with non-temporal stores; d 64-byte aligned, n a multiple of 128. */
static void nt_body_sse2(char *d, const char *s, size_t n)
{
	for (; n; n -= 128, d += 128, s += 128)
		for (int i = 0; i < 128; i += 16)
			_mm_stream_si128((__m128i *)(d + i),
					 _mm_loadu_si128((const __m128i *)(s + i)));
}

__attribute__((target("avx2"))) static void nt_body_avx2(char *d, const char *s, size_t n)
{
	for (; n; n -= 128, d += 128, s += 128) {
		__m256i a = _mm256_loadu_si256((const __m256i *)s);
		__m256i b = _mm256_loadu_si256((const __m256i *)(s + 32));
		__m256i c = _mm256_loadu_si256((const __m256i *)(s + 64));
		__m256i e = _mm256_loadu_si256((const __m256i *)(s + 96));

		_mm256_stream_si256((__m256i *)d, a);
		_mm256_stream_si256((__m256i *)(d + 32), b);
		_mm256_stream_si256((__m256i *)(d + 64), c);
		_mm256_stream_si256((__m256i *)(d + 96), e);
	}
}

/* Ordinary stores up to the first 64-byte line of the destination, whole 128-byte blocks with
 * non-temporal stores, an ordinary tail. The caller fences. */
static void nt_copy(char *d, const char *s, size_t n)
{
	size_t head = (64 - ((uintptr_t)d & 63)) & 63, body;

	if (head > n)
		head = n;
	memcpy(d, s, head);
	d += head;
	s += head;
	n -= head;
	body = n & ~(size_t)127;
	if (have_avx2)
		nt_body_avx2(d, s, body);
	else
		nt_body_sse2(d, s, body);
	memcpy(d + body, s + body, n - body);
}

/* Claims pieces of the job until none is left (so that a thread the host slows down does less
 * of it), then fences. */
static void copy_pieces(void)
{
	for (;;) {
		size_t lo = atomic_fetch_add_explicit(&next_chunk, CHUNK, memory_order_relaxed);

		if (lo >= job.n)
			break;
		nt_copy(job.dst + lo, job.src + lo, job.n - lo < CHUNK ? job.n - lo : CHUNK);
	}
	_mm_sfence();
}

static void *helper(void *arg)
{
	unsigned seen = atomic_load(&gen);

	(void)arg;

	for (;;) {
		unsigned g;

		while ((g = atomic_load_explicit(&gen, memory_order_acquire)) == seen) {
			if (atomic_load_explicit(&quit, memory_order_relaxed))
				return NULL;
			_mm_pause();
		}
		seen = g;
		copy_pieces();
		/* Release: the caller that sees the count sees the data of these pieces. */
		atomic_fetch_add_explicit(&done, 1, memory_order_release);
	}
}

static int ceiling_init(unsigned threads, char *why, size_t len)
{
	(void)why;
	(void)len;
	team = threads < 1 ? 1 : threads > MAX_TEAM ? MAX_TEAM : threads;
	have_avx2 = __builtin_cpu_supports("avx2");
	return 0;
}

static void ceiling_fini(void)
{
}

static void ceiling_stop(void)
{
	atomic_store_explicit(&quit, true, memory_order_relaxed);
	for (unsigned i = 0; i < helpers; i++)
		pthread_join(tids[i], NULL);
	helpers = 0;
	atomic_store_explicit(&quit, false, memory_order_relaxed);
}

static int ceiling_start(void)
{
	for (helpers = 0; helpers + 1 < team; helpers++) {
		int rc = pthread_create(&tids[helpers], NULL, helper, NULL);

		if (rc) {
			ceiling_stop();
			return -rc;
		}
	}
	return 0;
}

static int ceiling_copy(void *dst, const void *src, size_t n)
{
	if (helpers + 1 != team)
		return -EINVAL; /* not started */
	job.dst = dst;
	job.src = src;
	job.n = n;
	atomic_store_explicit(&next_chunk, 0, memory_order_relaxed);
	atomic_store_explicit(&done, 0, memory_order_relaxed);
	atomic_fetch_add_explicit(&gen, 1, memory_order_release);
	copy_pieces();
	while (atomic_load_explicit(&done, memory_order_acquire) != helpers)
		_mm_pause();
	return 0;
}

static unsigned ceiling_threads(void)
{
	return team;
}

const struct bench_peer bench_peer_ceiling = {
	.name = "ceiling",
	.what = WHAT,
	.scenarios = BENCH_BIT(BENCH_BULK),
	.init = ceiling_init,
	.fini = ceiling_fini,
	.start = ceiling_start,
	.stop = ceiling_stop,
	.copy = ceiling_copy,
	.threads = ceiling_threads,
};

#else /* !__x86_64__ */

const struct bench_peer bench_peer_ceiling = {
	.name = "ceiling",
	.what = WHAT,
	.scenarios = BENCH_BIT(BENCH_BULK),
	.skip = "non-temporal stores are written for x86-64 only",
};

#endif
