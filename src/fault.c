/* SPDX-License-Identifier: MIT */
/*
 * Fault injection (fault.h). Counters are atomics because worker threads and submitters may
 * allocate concurrently with a test's own thread; tests arm and read them between runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/eventfd.h>

#include "fault.h"

static atomic_bool armed;
static atomic_ulong calls[ADMA__FAULT_KINDS];
static atomic_ulong nth[ADMA__FAULT_KINDS];

void adma__fault_arm(enum adma__fault kind, unsigned long n)
{
	atomic_store(&calls[kind], 0);
	atomic_store(&nth[kind], n);
	atomic_store(&armed, true);
}

unsigned long adma__fault_calls(enum adma__fault kind)
{
	return atomic_load(&calls[kind]);
}

void adma__fault_reset(void)
{
	atomic_store(&armed, false);
	for (int k = 0; k < ADMA__FAULT_KINDS; k++) {
		atomic_store(&nth[k], 0);
		atomic_store(&calls[k], 0);
	}
}

/* Whether this call of @kind is the one to fail. */
static bool fails(enum adma__fault kind)
{
	unsigned long n;

	if (!atomic_load_explicit(&armed, memory_order_relaxed))
		return false;
	n = atomic_fetch_add(&calls[kind], 1) + 1;
	return n == atomic_load(&nth[kind]);
}

void *adma__malloc(size_t n)
{
	if (fails(ADMA__FAULT_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return malloc(n);
}

void *adma__calloc(size_t count, size_t size)
{
	if (fails(ADMA__FAULT_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return calloc(count, size);
}

void *adma__realloc(void *p, size_t n)
{
	if (fails(ADMA__FAULT_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n);
}

int adma__thread_create(pthread_t *tid, void *(*fn)(void *), void *arg)
{
	if (fails(ADMA__FAULT_THREAD))
		return EAGAIN;
	return pthread_create(tid, NULL, fn, arg);
}

int adma__eventfd(unsigned initval, int flags)
{
	if (fails(ADMA__FAULT_EVENTFD)) {
		errno = EMFILE;
		return -1;
	}
	return eventfd(initval, flags);
}
