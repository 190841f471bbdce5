/* SPDX-License-Identifier: MIT */
/*
 * Fault injection, for tests: every allocation, worker thread creation and eventfd creation of
 * the library goes through the functions below, and a test can make the Nth of a kind fail.
 * Disarmed (always, outside tests) each costs one relaxed atomic load.
 */
#ifndef ADMA_FAULT_H
#define ADMA_FAULT_H

#include <pthread.h>
#include <stddef.h>

enum adma__fault {
	ADMA__FAULT_ALLOC,   /* malloc, calloc, realloc: NULL (ENOMEM) */
	ADMA__FAULT_THREAD,  /* pthread_create: EAGAIN */
	ADMA__FAULT_EVENTFD, /* eventfd: -1, errno EMFILE */
	ADMA__FAULT_KINDS,
};

/* From now on, counts the calls of @kind; the @nth one fails (and only it; 0: none fails). */
void adma__fault_arm(enum adma__fault kind, unsigned long nth);
/* Calls of @kind counted since it was last armed. */
unsigned long adma__fault_calls(enum adma__fault kind);
/* Stops counting and injecting every kind. */
void adma__fault_reset(void);

void *adma__malloc(size_t n);
void *adma__calloc(size_t count, size_t size);
void *adma__realloc(void *p, size_t n);
int adma__thread_create(pthread_t *tid, void *(*fn)(void *), void *arg);
int adma__eventfd(unsigned initval, int flags);

#endif /* ADMA_FAULT_H */
