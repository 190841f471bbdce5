/* SPDX-License-Identifier: MIT */
/*
 * Test helpers: assertions that print both values, file and line; the configuration matrix
 * every feature test runs under; small utilities. Exit codes: 0 pass, 1 fail, 77 skip.
 */
#ifndef ADMA_TEST_HELPERS_H
#define ADMA_TEST_HELPERS_H

#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adma.h"

#define T_PASS 0
#define T_FAIL 1
#define T_SKIP 77

/* The configuration the current check runs under, printed with every failure. */
static const char *t_config_name = "-";

#define T_FAILED(fmt, ...)                                                                    \
	do {                                                                                  \
		fprintf(stderr, "%s:%d: [%s] " fmt "\n", __FILE__, __LINE__, t_config_name,   \
			__VA_ARGS__);                                                         \
		exit(T_FAIL);                                                                 \
	} while (0)

#define ASSERT(expr)                                                                          \
	do {                                                                                  \
		if (!(expr))                                                                  \
			T_FAILED("assertion failed: %s", #expr);                              \
	} while (0)

#define ASSERT_BASE(a, op, b, type, fmt)                                                      \
	do {                                                                                  \
		type a_ = (type)(a);                                                          \
		type b_ = (type)(b);                                                          \
		if (!(a_ op b_))                                                              \
			T_FAILED("%s %s %s: %" fmt " %s %" fmt, #a, #op, #b, a_, #op, b_);    \
	} while (0)

#define ASSERT_EQ(a, b) ASSERT_BASE(a, ==, b, int64_t, PRId64)
#define ASSERT_NE(a, b) ASSERT_BASE(a, !=, b, int64_t, PRId64)
#define ASSERT_LT(a, b) ASSERT_BASE(a, <, b, int64_t, PRId64)
#define ASSERT_LE(a, b) ASSERT_BASE(a, <=, b, int64_t, PRId64)
#define ASSERT_GT(a, b) ASSERT_BASE(a, >, b, int64_t, PRId64)
#define ASSERT_GE(a, b) ASSERT_BASE(a, >=, b, int64_t, PRId64)
#define ASSERT_UEQ(a, b) ASSERT_BASE(a, ==, b, uint64_t, PRIu64)
#define ASSERT_PTR_EQ(a, b) ASSERT_BASE(a, ==, b, const void *, "p")

/* An adma call that must succeed (return >= 0); prints the errno name otherwise. */
#define ASSERT_OK(call)                                                                       \
	do {                                                                                  \
		int rc_ = (call);                                                             \
		if (rc_ < 0)                                                                  \
			T_FAILED("%s returned %d (%s): %s", #call, rc_, adma_strerror(rc_),   \
				 adma_last_error());                                          \
	} while (0)

/* An adma call that must fail with exactly @err (a negative errno). */
#define ASSERT_ERR(call, err)                                                                 \
	do {                                                                                  \
		int rc_ = (call);                                                             \
		if (rc_ != (err))                                                             \
			T_FAILED("%s returned %d (%s), expected %d (%s)", #call, rc_,         \
				 adma_strerror(rc_), (int)(err), adma_strerror(err));         \
	} while (0)

/* ---- the configuration matrix ---------------------------------------------------------- */

struct t_config {
	const char *name;
	unsigned backend;
	unsigned workers;
	unsigned flags;
};

static const struct t_config t_configs[] = {
	{ "threads-1", ADMA_BACKEND_THREADS, 1, 0 },
	{ "threads-2", ADMA_BACKEND_THREADS, 2, 0 },
	{ "threads-4", ADMA_BACKEND_THREADS, 4, 0 },
	{ "threads-2-ordered", ADMA_BACKEND_THREADS, 2, ADMA_CFG_ORDERED },
	{ "threads-1-deferred", ADMA_BACKEND_THREADS, 1, ADMA_CFG_DEFER_CALLBACKS },
	{ "threads-2-deferred", ADMA_BACKEND_THREADS, 2, ADMA_CFG_DEFER_CALLBACKS },
	{ "threads-2-ordered-deferred", ADMA_BACKEND_THREADS, 2,
	  ADMA_CFG_ORDERED | ADMA_CFG_DEFER_CALLBACKS },
	{ "inline", ADMA_BACKEND_INLINE, 0, 0 },
	{ "inline-ordered", ADMA_BACKEND_INLINE, 0, ADMA_CFG_ORDERED },
};

#define T_NCONFIGS (sizeof(t_configs) / sizeof(t_configs[0]))

/* Iterates over every configuration: `FOR_EACH_CONFIG(c) { ... c->flags ... }`. */
#define FOR_EACH_CONFIG(c)                                                                    \
	for (const struct t_config *c = t_configs;                                            \
	     c < t_configs + T_NCONFIGS && ((t_config_name = c->name), 1); c++)

/* True when callbacks run in adma_poll() rather than on workers. */
static inline bool t_deferred(const struct t_config *c)
{
	return (c->flags & ADMA_CFG_DEFER_CALLBACKS) || c->backend == ADMA_BACKEND_INLINE;
}

/* Creates an engine for @c with @extra_flags, backlog @backlog (0 default), quiet. */
static inline struct adma_engine *t_engine(const struct t_config *c, unsigned extra_flags,
					   unsigned backlog)
{
	struct adma_config cfg;
	struct adma_engine *e = NULL;

	adma_config_init(&cfg);
	cfg.backend = c->backend;
	cfg.workers = c->workers;
	cfg.flags = c->flags | extra_flags | ADMA_CFG_QUIET;
	cfg.backlog = backlog;
	ASSERT_OK(adma_engine_create(&e, &cfg));
	ASSERT(e != NULL);
	return e;
}

/* Drives an engine until every op submitted so far has completed and, for deferred engines,
 * every callback has run: polls while waiting. @return the barrier's status. */
static inline int t_drain(struct adma_engine *e)
{
	int rc;

	for (;;) {
		adma_poll(e, NULL, UINT32_MAX);
		rc = adma_barrier(e, 1000000); /* 1 ms */
		if (rc != -ETIMEDOUT)
			break;
	}
	while (adma_poll(e, NULL, UINT32_MAX) > 0)
		;
	return rc;
}

static inline uint64_t t_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void t_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Deterministic pseudo-random numbers (xorshift64*). */
static inline uint64_t t_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static inline void t_fill_random(void *buf, size_t n, uint64_t seed)
{
	uint8_t *p = buf;
	uint64_t s = seed | 1;

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(t_rand(&s) >> 56);
}

/* A gate that holds custom operators until opened: used to keep workers busy so that later ops
 * stay queued. Pass &gate as fn_arg of t_gate_op. */
struct t_gate {
	atomic_int open;
	atomic_int entered;
};

static inline long t_gate_op(void *dst, const void *src, void *arg)
{
	struct t_gate *g = arg;

	(void)dst;
	(void)src;
	atomic_fetch_add(&g->entered, 1);
	while (!atomic_load(&g->open))
		t_sleep_ms(1);
	return 0;
}

/* Waits until @n operators have entered the gate (bounded: fails the test after 10 s). */
static inline void t_gate_wait_entered(struct t_gate *g, int n)
{
	for (int i = 0; i < 10000 && atomic_load(&g->entered) < n; i++)
		t_sleep_ms(1);
	ASSERT_GE(atomic_load(&g->entered), n);
}

#endif
