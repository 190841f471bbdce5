/* SPDX-License-Identifier: MIT */
/*
 * Peer "openmp": memcpy split across the threads of an OpenMP parallel region (gcc's libgomp),
 * the usual way an HPC code copies a large array. One copy: each thread copies its own
 * contiguous share, cut on 64-byte boundaries. A batch of copies: "omp parallel for" over them.
 * Synchronous: the call returns when the copy is done, so it has no submit/wait_all.
 *
 * Compiled with -fopenmp only when CMake's find_package(OpenMP) found it; otherwise this file
 * defines the peer as skipped, with the reason.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "bench.h"

#define SCENARIOS (BENCH_BIT(BENCH_BULK) | BENCH_BIT(BENCH_LATENCY))

#ifdef _OPENMP
#include <omp.h>

static unsigned nthreads;

static int omp_init(unsigned threads, char *why, size_t len)
{
	/* libgomp's own default (OMP_NUM_THREADS, else one per CPU), as a user would get it. */
	nthreads = (unsigned)omp_get_max_threads();
	return 0;
}

static void omp_fini(void)
{
}

static int omp_copy(void *dst, const void *src, size_t n)
{
#pragma omp parallel
	{
		size_t nt = (size_t)omp_get_num_threads(), t = (size_t)omp_get_thread_num();
		size_t share = (n / nt + 63) & ~(size_t)63;
		size_t lo = t * share < n ? t * share : n;
		size_t hi = lo + share < n ? lo + share : n;

		memcpy((char *)dst + lo, (const char *)src + lo, hi - lo);
	}
	return 0;
}

static int omp_batch(void *const *dst, const void *src, size_t n, unsigned count)
{
	if (count == 1)
		return omp_copy(dst[0], src, n);
#pragma omp parallel for schedule(static)
	for (unsigned i = 0; i < count; i++)
		memcpy(dst[i], src, n);
	return 0;
}

static unsigned omp_threads(void)
{
	return nthreads;
}

const struct bench_peer bench_peer_omp = {
	.name = "openmp",
	.what = "OpenMP parallel region, each thread memcpy's its share (libgomp)",
	.scenarios = SCENARIOS,
	.init = omp_init,
	.fini = omp_fini,
	.copy = omp_copy,
	.batch = omp_batch,
	.threads = omp_threads,
};

#else /* !_OPENMP */

const struct bench_peer bench_peer_omp = {
	.name = "openmp",
	.what = "OpenMP parallel region, each thread memcpy's its share (libgomp)",
	.scenarios = SCENARIOS,
#if defined(ADMA_BENCH_OMP_SANITIZED)
	.skip = "OpenMP is off in sanitizer builds",
#else
	.skip = "OpenMP not found",
#endif
};

#endif /* _OPENMP */
