/* SPDX-License-Identifier: MIT */
/*
 * Counts heap allocations for "adma bench" (scenario "alloc"): this file defines malloc and
 * every other glibc allocation entry point, so that the adma program's own calls and those of
 * the statically linked library, on any thread, come here; each forwards to glibc's __libc_*
 * implementation, whose blocks glibc's free() releases as usual.
 *
 * Sanitizer runtimes interpose the same functions, so sanitizer builds (ADMA_BENCH_NO_ALLOC_COUNT)
 * leave the allocator alone and report the scenario as skipped.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"

#if !defined(ADMA_BENCH_NO_ALLOC_COUNT) && defined(__GLIBC__)

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t count, size_t n);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);

const bool bench_alloc_counting = true;
const char *const bench_alloc_skip = NULL;

static atomic_bool counting;
static atomic_uint_fast64_t calls;

static inline void note(void)
{
	/* Relaxed: the counter is read after the measured threads have been joined or have
	 * completed ops whose completion the reader observed (adma's data visibility rule). */
	if (atomic_load_explicit(&counting, memory_order_relaxed))
		atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
}

void bench_alloc_begin(void)
{
	atomic_store(&calls, 0);
	atomic_store(&counting, true);
}

uint64_t bench_alloc_end(void)
{
	atomic_store(&counting, false);
	return atomic_load(&calls);
}

void *malloc(size_t n)
{
	note();
	return __libc_malloc(n);
}

void *calloc(size_t count, size_t n)
{
	note();
	return __libc_calloc(count, n);
}

void *realloc(void *p, size_t n)
{
	note();
	return __libc_realloc(p, n);
}

void *memalign(size_t align, size_t n)
{
	note();
	return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
	note();
	return __libc_memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	note();
	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return EINVAL;
	p = __libc_memalign(align, n);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

void *valloc(size_t n)
{
	note();
	return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), n);
}

void *pvalloc(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	note();
	return __libc_memalign(page, (n + page - 1) & ~(page - 1));
}

#else

const bool bench_alloc_counting = false;
#if defined(ADMA_BENCH_NO_ALLOC_COUNT)
const char *const bench_alloc_skip = "allocation counting is off in sanitizer builds";
#else
const char *const bench_alloc_skip = "allocation counting needs glibc";
#endif

void bench_alloc_begin(void)
{
}

uint64_t bench_alloc_end(void)
{
	return 0;
}

#endif
