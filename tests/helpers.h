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
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adma.h"
#include "annotate.h"

#define T_PASS 0
#define T_FAIL 1
#define T_SKIP 77

#define SEC 1000000000LL /* one second in ns: adma timeouts are in ns */

/* T_SLOW_BUILD: ThreadSanitizer, slow enough that big byte-by-byte checks shrink (t_slow()). */
#if defined(__SANITIZE_THREAD__)
#define T_SLOW_BUILD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define T_SLOW_BUILD 1
#endif
#endif
#ifndef T_SLOW_BUILD
#define T_SLOW_BUILD 0
#endif

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

/* A check off the main thread: failures count in t_bg_errors(); the main thread asserts none. */
#define CHECK(cond)                                                                           \
	do {                                                                                  \
		if (!(cond) && atomic_fetch_add(t_bg_errors(), 1) < 20)                       \
			fprintf(stderr, "%s:%d: [%s] check failed off the main thread: %s\n", \
				__FILE__, __LINE__, t_config_name, #cond);                    \
	} while (0)

/* Failed CHECK()s so far; a function, so that tests without CHECK() get no unused variable. */
static inline atomic_int *t_bg_errors(void)
{
	static atomic_int n;

	return &n;
}

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

/* Runs @run under each of a test's own @n extra configurations, named like the matrix's. */
static inline void t_run_configs(const struct t_config *configs, size_t n,
				 void (*run)(const struct t_config *c))
{
	for (size_t i = 0; i < n; i++) {
		t_config_name = configs[i].name;
		run(&configs[i]);
	}
}

/* True when callbacks run in adma_poll() rather than on workers. */
static inline bool t_deferred(const struct t_config *c)
{
	return (c->flags & ADMA_CFG_DEFER_CALLBACKS) || c->backend == ADMA_BACKEND_INLINE;
}

/* Creates an engine for @c with @extra_flags, backlog @backlog (0 default), quiet, and the
 * tuning fields (nt_threshold, split_size, inline_max, spin_ns) of @tune (NULL: all auto). */
static inline struct adma_engine *t_engine_tuned(const struct t_config *c, unsigned extra_flags,
						 unsigned backlog, const struct adma_config *tune)
{
	struct adma_config cfg;
	struct adma_engine *e = NULL;

	adma_config_init(&cfg);
	cfg.backend = c->backend;
	cfg.workers = c->workers;
	cfg.flags = c->flags | extra_flags | ADMA_CFG_QUIET;
	cfg.backlog = backlog;
	if (tune) {
		cfg.nt_threshold = tune->nt_threshold;
		cfg.split_size = tune->split_size;
		cfg.inline_max = tune->inline_max;
		cfg.spin_ns = tune->spin_ns;
	}
	ASSERT_OK(adma_engine_create(&e, &cfg));
	ASSERT(e != NULL);
	return e;
}

/* Creates an engine for @c with @extra_flags, backlog @backlog (0 default), quiet. */
static inline struct adma_engine *t_engine(const struct t_config *c, unsigned extra_flags,
					   unsigned backlog)
{
	return t_engine_tuned(c, extra_flags, backlog, NULL);
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

/* The engine's counters, every field 0xff before the call so that one it forgot shows. */
static inline struct adma_stats t_stats(struct adma_engine *e)
{
	struct adma_stats st;

	memset(&st, 0xff, sizeof(st));
	ASSERT_OK(adma_stats(e, &st));
	return st;
}

/* Submits one op that must be accepted; @return its ticket, never 0. */
static inline uint64_t t_submit1(struct adma_engine *e, struct adma_op *op)
{
	uint64_t t = 0;

	ASSERT_EQ(adma_submit(e, op, 1, &t), 1);
	ASSERT(t != 0);
	return t;
}

/* Submits custom operator @fn(@arg) with callback @cb(@cb_arg) (NULL: none); @return the ticket. */
static inline uint64_t t_submit_custom(struct adma_engine *e, adma_operator *fn, void *arg,
				       adma_callback *cb, void *cb_arg)
{
	struct adma_op op;

	adma_prep_custom(&op, fn, NULL, NULL, arg);
	adma_op_set_callback(&op, cb, cb_arg);
	return t_submit1(e, &op);
}

/* A custom operator that fails with -EIO. */
static inline long t_op_eio(void *dst, const void *src, void *arg)
{
	(void)dst, (void)src, (void)arg;
	return -EIO;
}

/* ---- hand-offs helgrind sees (annotate.h) ---------------------------------------------------
 * helgrind does not know C11 atomics nor sem_timedwait: a flag or counter that publishes
 * other data goes through t_publish / t_observe, a semaphore through t_sem_post /
 * t_sem_timedwait. Other builds compile the annotations to nothing. */

/* Stores @v into @a, releasing everything written before. */
static inline void t_publish(atomic_int *a, int v)
{
	ADMA_HAPPENS_BEFORE(a);
	atomic_store(a, v);
}

/* Loads @a, acquiring what its t_publish released. */
static inline int t_observe(const atomic_int *a)
{
	int v = atomic_load(a);

	ADMA_HAPPENS_AFTER(a);
	return v;
}

static inline int t_sem_post(sem_t *s)
{
	ADMA_HAPPENS_BEFORE(s);
	return sem_post(s);
}

/* sem_timedwait until @deadline (CLOCK_REALTIME), EINTR retried. @return whether a post was
 * taken. Every read sem_post makes of the semaphore comes before the count it adds, so once a
 * post is taken its history is forgotten: a semaphore on the stack whose posts have all been
 * taken may be reused as anything (helgrind would otherwise see sem_post's reads race
 * with it). */
static inline bool t_sem_timedwait(sem_t *s, const struct timespec *deadline)
{
	int rc;

	do
		rc = sem_timedwait(s, deadline);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return false;
	ADMA_HAPPENS_AFTER(s);
	ADMA_FORGET(s);
	return true;
}

/* What a callback saw: pass &rec with t_rec_cb; calls is bumped last, after the fields. */
struct t_rec {
	atomic_int calls;
	uint64_t ticket;
	int status;
	size_t bytes;
	pthread_t thread; /* the thread the callback ran in */
};

static inline void t_rec_cb(void *arg, const struct adma_result *res)
{
	struct t_rec *r = arg;

	r->ticket = res->ticket;
	r->status = res->status;
	r->bytes = res->bytes;
	r->thread = pthread_self();
	atomic_fetch_add(&r->calls, 1);
}

static inline uint64_t t_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Whether @fd turns readable within @ms (0: now). Main thread: fails the test on a poll error. */
static inline bool t_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int rc;

	do
		rc = poll(&p, 1, ms);
	while (rc < 0 && errno == EINTR);
	ASSERT(rc >= 0);
	ASSERT((p.revents & (POLLERR | POLLNVAL)) == 0);
	return rc == 1 && (p.revents & POLLIN);
}

static inline void t_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Whether ADMA_TEST_VALGRIND (set and not "0") asks for smaller workloads and longer deadlines:
 * valgrind runs one thread at a time, many times slower. Read once, from any thread. */
static inline bool t_valgrind(void)
{
	static atomic_int cached = -1;
	int v = atomic_load(&cached);

	if (v < 0) {
		const char *s = getenv("ADMA_TEST_VALGRIND");

		v = s && strcmp(s, "0") != 0;
		atomic_store(&cached, v);
	}
	return v;
}

/* Valgrind or a ThreadSanitizer build: big buffers checked byte by byte shrink. */
static inline bool t_slow(void)
{
	return T_SLOW_BUILD || t_valgrind();
}

/* The time @s seconds from now, ten times that under valgrind: for bounded waits. */
static inline uint64_t t_deadline_s(unsigned s)
{
	return t_now_ns() + (uint64_t)(t_valgrind() ? 10 * s : s) * SEC;
}

/* Backing off while the backlog is full: a few yields, then short sleeps, so that a spinning
 * submitter cannot starve the workers (valgrind runs one thread at a time). */
static inline void t_backoff(unsigned *spins)
{
	if ((*spins)++ < 8) {
		sched_yield();
	} else {
		struct timespec ts = { 0, 50000 };

		nanosleep(&ts, NULL);
	}
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

/* Writes @n bytes of the fill pattern @pat (@len bytes) at @buf, phase 0 at @buf. */
static inline void t_pattern(uint8_t *buf, size_t n, const uint8_t *pat, size_t len)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = pat[i % len];
}

/* The index of the first byte where @a and @b differ, or @n if none; fast when none does. */
static inline size_t t_first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t i = 0;

	for (size_t k; i < n; i += k) {
		k = n - i < 4096 ? n - i : 4096;
		if (memcmp(a + i, b + i, k) != 0)
			break;
	}
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/* The index of the first of @n bytes at @p that breaks the fill pattern @pat (@len bytes, a
 * power of two up to 16, phase 0 at @p), or @n if none. The first 4 KiB are checked byte by
 * byte, every later 4 KiB block (a whole number of periods) against them with memcmp. */
static inline size_t t_first_bad_fill(const uint8_t *p, size_t n, const uint8_t *pat, size_t len)
{
	size_t head = n < 4096 ? n : 4096, i;

	for (i = 0; i < head; i++)
		if (p[i] != pat[i % len])
			return i;
	for (; i < n; i += 4096) {
		size_t k = n - i < 4096 ? n - i : 4096, d = t_first_diff(p + i, p, k);

		if (d < k)
			return i + d;
	}
	return n;
}

/* The index of the first of @n bytes at @p that is not @v, or @n if none. */
static inline size_t t_first_not(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return i;
	return n;
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

/* Fails unless @n tickets, in the order their callbacks ran, strictly increase (ORDERED). */
static inline void t_check_ticket_order(const uint64_t *order, unsigned n)
{
	for (unsigned k = 1; k < n; k++)
		if (order[k] <= order[k - 1])
			T_FAILED("ORDERED: callback %u had ticket %" PRIu64
				 " after ticket %" PRIu64,
				 k, order[k], order[k - 1]);
}

/* Gate ops that hold every worker of @c: one per worker, one if ORDERED (one op at a time). */
static inline unsigned t_gate_count(const struct t_config *c)
{
	return (c->flags & ADMA_CFG_ORDERED) ? 1 : c->workers;
}

/* Holds every worker of @e with gate ops of @g, waiting until they all run; their tickets go to
 * @tickets, or, when NULL, they are submitted without asking for tickets. @return their count. */
static inline unsigned t_hold_workers(struct adma_engine *e, const struct t_config *c,
				      struct t_gate *g, uint64_t *tickets)
{
	unsigned n = t_gate_count(c);
	struct adma_op op;

	for (unsigned i = 0; i < n; i++) {
		adma_prep_custom(&op, t_gate_op, NULL, NULL, g);
		if (tickets)
			tickets[i] = t_submit1(e, &op);
		else
			ASSERT_EQ(adma_submit(e, &op, 1, NULL), 1);
	}
	t_gate_wait_entered(g, (int)n);
	return n;
}

#endif
