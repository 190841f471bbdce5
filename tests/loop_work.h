/* SPDX-License-Identifier: MIT */
/*
 * The workload of the event-loop tests (test_loop_*.c): adma_fd() watched by a real loop.
 *
 * The engine defers callbacks (ADMA_CFG_DEFER_CALLBACKS), so every callback runs in the loop
 * thread inside adma_poll(), and has one worker: the test machines have 2 vCPUs, one for the
 * worker that copies and one for the loop that verifies. 1 GiB in all: 1024 copies of 1 MiB
 * from a 64 MiB source (64 chunks, each with its own content) into a 32 MiB destination ring
 * (32 chunks), at most LW_WINDOW in flight. Copy j reads source chunk (j * 7) % 64 and writes
 * destination chunk j % 32, which is reused only once its previous copy was verified. Each
 * callback checks that it runs in the loop thread, counts its own calls, checks status and
 * bytes, compares the destination chunk with its source chunk, then submits the next copy.
 * Under valgrind and the sanitizers the total shrinks to 64 MiB.
 *
 * A 1 ms timer runs in the same loop. Every gap between two of its ticks (or between the first
 * submit or the last callback and the nearest tick) is measured, and so is its stall: the gap
 * less the time the loop thread spent runnable but waiting for a CPU that other tasks held
 * (/proc/thread-self/schedstat), which no loop can help on a busy machine. The largest stall
 * must stay under 10 ms, 200 ms under valgrind and the sanitizers; ADMA_TEST_STALL_MS
 * overrides the limit. Without schedstat the stall is the whole gap.
 *
 * A test owns the loop: it watches adma_fd(w->e) for readability and calls lw_poll() when it
 * is readable, calls lw_tick() every 1 ms, calls lw_start() in the loop thread and runs the
 * loop until lw_finished(): the copies are done and LW_QUIET_TICKS more ticks passed, during
 * which adma_fd() must not wake the loop. Every wakeup must find a result to handle.
 * lw_finish() checks the counts and the timer, prints the figures, and checks that adma_fd()
 * still works.
 */
#ifndef ADMA_TEST_LOOP_WORK_H
#define ADMA_TEST_LOOP_WORK_H

#include "helpers.h"

#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>

#define LW_CHUNK ((size_t)1 << 20)
#define LW_SRC_CHUNKS 64
#define LW_DST_CHUNKS 32
#define LW_OPS_MAX 1024 /* 1 GiB of 1 MiB copies */
#define LW_OPS_SMALL 64 /* 64 MiB: valgrind and the sanitizers */
#define LW_WINDOW 16
/* Results one lw_poll() handles: each callback compares 1 MiB, so a bound keeps the loop's
 * other sources (the timer) served between batches while the worker keeps completing. */
#define LW_POLL_MAX 4
#define LW_QUIET_TICKS 5
#define LW_STALL_MS 10
#define LW_STALL_MS_SLOW 200

#if defined(__SANITIZE_ADDRESS__)
#define LW_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LW_ASAN 1
#endif
#endif
#ifndef LW_ASAN
#define LW_ASAN 0
#endif

static const struct t_config lw_config = { "threads-1-deferred", ADMA_BACKEND_THREADS, 1,
					   ADMA_CFG_DEFER_CALLBACKS };

/* A copy's callback argument. */
struct lw_copy {
	struct lw *w;
	unsigned j;
};

/* The workload's state, touched by the loop thread only (callbacks included). */
struct lw {
	const char *name;
	struct adma_engine *e;
	uint8_t *src, *dst;
	unsigned nops;
	unsigned next;	    /* the next copy to submit */
	unsigned in_flight; /* submitted, callback not run yet */
	unsigned callbacks;
	unsigned errors;
	unsigned empty_polls; /* wakeups that found nothing to handle */
	pthread_t loop_thread;
	uint64_t t_start, t_end, deadline;
	uint64_t last_tick, max_gap, max_stall, ticks, quiet_ticks;
	int schedstat_fd;	      /* the loop thread's /proc/thread-self/schedstat, or -1 */
	uint64_t last_wait;	      /* lw_cpu_wait() at last_tick */
	bool dst_busy[LW_DST_CHUNKS]; /* written by a copy whose callback has not run yet */
	unsigned calls[LW_OPS_MAX];   /* each copy's callback runs */
	struct lw_copy copies[LW_OPS_MAX];
};

static inline const char *lw_slow_reason(void)
{
	if (t_valgrind())
		return "valgrind";
	if (T_SLOW_BUILD)
		return "ThreadSanitizer build";
	if (LW_ASAN)
		return "AddressSanitizer build";
	return NULL;
}

/* The stall limit in ms: ADMA_TEST_STALL_MS, or the build's default. */
static inline unsigned lw_stall_limit_ms(void)
{
	const char *s = getenv("ADMA_TEST_STALL_MS");
	char *end;
	unsigned long ms;

	if (!s || !*s)
		return lw_slow_reason() ? LW_STALL_MS_SLOW : LW_STALL_MS;
	ms = strtoul(s, &end, 10);
	if (*end || ms == 0 || ms > UINT32_MAX)
		T_FAILED("ADMA_TEST_STALL_MS=%s: expected a number of ms > 0", s);
	return (unsigned)ms;
}

static inline uint8_t *lw_src(struct lw *w, unsigned j)
{
	return w->src + (size_t)(j * 7 % LW_SRC_CHUNKS) * LW_CHUNK;
}

static inline uint8_t *lw_dst(struct lw *w, unsigned j)
{
	return w->dst + (size_t)(j % LW_DST_CHUNKS) * LW_CHUNK;
}

/* A failure seen in a callback: printed (the first ten) and counted; lw_finish() fails. */
static inline void lw_error(struct lw *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline void lw_error(struct lw *w, const char *fmt, ...)
{
	va_list ap;

	if (w->errors++ >= 10)
		return;
	fprintf(stderr, "%s: [%s] ", w->name, t_config_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The loop thread's time spent runnable but waiting for a CPU, in ns, since it started (the
 * second field of its schedstat); 0 without schedstat. */
static inline uint64_t lw_cpu_wait(struct lw *w)
{
	unsigned long long ran, waited;
	char buf[128];
	ssize_t n;

	if (w->schedstat_fd < 0)
		return 0;
	n = pread(w->schedstat_fd, buf, sizeof(buf) - 1, 0);
	ASSERT_GT(n, 0);
	buf[n] = '\0';
	ASSERT_EQ(sscanf(buf, "%llu %llu", &ran, &waited), 2);
	return waited;
}

/* Closes a gap of the timer at @now (a tick, the first submit or the last callback). */
static inline void lw_gap(struct lw *w, uint64_t now)
{
	uint64_t gap = now - w->last_tick, wait = lw_cpu_wait(w), waited = wait - w->last_wait;
	uint64_t stall = waited < gap ? gap - waited : 0;

	if (gap > w->max_gap)
		w->max_gap = gap;
	if (stall > w->max_stall)
		w->max_stall = stall;
	w->last_tick = now;
	w->last_wait = wait;
}

static inline void lw_copied(void *arg, const struct adma_result *res);

/* Submits copies while any remain, the window has room and the next destination is free. */
static inline void lw_submit_more(struct lw *w)
{
	while (w->next < w->nops && w->in_flight < LW_WINDOW &&
	       !w->dst_busy[w->next % LW_DST_CHUNKS]) {
		unsigned j = w->next;
		struct adma_op op;
		int rc;

		adma_prep_copy(&op, lw_dst(w, j), lw_src(w, j), LW_CHUNK);
		adma_op_set_callback(&op, lw_copied, &w->copies[j]);
		rc = adma_submit(w->e, &op, 1, NULL);
		if (rc != 1)
			T_FAILED("%s: copy %u: adma_submit returned %d (%s): %s", w->name, j, rc,
				 adma_strerror(rc), adma_last_error());
		w->dst_busy[j % LW_DST_CHUNKS] = true;
		w->next++;
		w->in_flight++;
	}
}

static inline void lw_copied(void *arg, const struct adma_result *res)
{
	struct lw_copy *c = arg;
	struct lw *w = c->w;
	unsigned j = c->j;

	if (!pthread_equal(pthread_self(), w->loop_thread))
		lw_error(w, "copy %u: callback outside the loop thread", j);
	w->calls[j]++;
	w->callbacks++;
	w->in_flight--;
	if (res->status != 0 || res->bytes != LW_CHUNK)
		lw_error(w, "copy %u: status %d (%s), %zu bytes; expected 0, %zu bytes", j,
			 res->status, adma_strerror(res->status), res->bytes, LW_CHUNK);
	if (memcmp(lw_dst(w, j), lw_src(w, j), LW_CHUNK) != 0)
		lw_error(w,
			 "copy %u: destination chunk %u differs from source chunk %u at byte %zu",
			 j, j % LW_DST_CHUNKS, j * 7 % LW_SRC_CHUNKS,
			 t_first_diff(lw_dst(w, j), lw_src(w, j), LW_CHUNK));
	w->dst_busy[j % LW_DST_CHUNKS] = false;
	if (w->callbacks == w->nops) {
		w->t_end = t_now_ns();
		lw_gap(w, w->t_end);
	}
	lw_submit_more(w);
}

/* Creates the engine and the buffers; the test then adds adma_fd(w->e) to its loop. */
static inline void lw_init(struct lw *w, const char *name)
{
	size_t src_size = LW_SRC_CHUNKS * LW_CHUNK, dst_size = LW_DST_CHUNKS * LW_CHUNK;
	uint64_t *p;

	memset(w, 0, sizeof(*w));
	w->name = name;
	w->schedstat_fd = -1;
	t_config_name = lw_config.name;
	w->nops = lw_slow_reason() ? LW_OPS_SMALL : LW_OPS_MAX;
	if (lw_slow_reason())
		printf("%s: %s: %u MiB in all instead of %u MiB\n", name, lw_slow_reason(), w->nops,
		       LW_OPS_MAX);
	for (unsigned j = 0; j < w->nops; j++)
		w->copies[j] = (struct lw_copy){ w, j };
	w->src = aligned_alloc(4096, src_size);
	w->dst = aligned_alloc(4096, dst_size);
	ASSERT(w->src && w->dst);
	/* every 8-byte word of the source differs from every other, across chunks too */
	p = (uint64_t *)w->src;
	for (size_t i = 0; i < src_size / 8; i++)
		p[i] = (i + 1) * 0x9e3779b97f4a7c15ull;
	memset(w->dst, 0, dst_size); /* no page faults while the loop is timed */
	w->e = t_engine(&lw_config, 0, 0);
}

/* Called in the loop thread, the loop ready: the first copies go, the timer's watch starts. */
static inline void lw_start(struct lw *w)
{
	w->loop_thread = pthread_self();
	w->schedstat_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	if (w->schedstat_fd < 0)
		printf("%s: no /proc/thread-self/schedstat (%s): stalls include waits for a CPU\n",
		       w->name, strerror(errno));
	w->last_wait = lw_cpu_wait(w);
	w->deadline = t_deadline_s(60);
	w->t_start = w->last_tick = t_now_ns();
	lw_submit_more(w);
}

/* The loop's handler for a readable adma_fd(): runs up to LW_POLL_MAX callbacks. */
static inline void lw_poll(struct lw *w)
{
	int n = adma_poll(w->e, NULL, LW_POLL_MAX);

	if (n < 0)
		T_FAILED("%s: adma_poll returned %d (%s)", w->name, n, adma_strerror(n));
	if (n == 0)
		w->empty_polls++;
}

/* The loop's 1 ms timer handler. */
static inline void lw_tick(struct lw *w)
{
	uint64_t now = t_now_ns();

	if (w->t_end) {
		w->quiet_ticks++;
		return;
	}
	if (!w->t_start)
		return;
	w->ticks++;
	lw_gap(w, now);
	if (now > w->deadline)
		T_FAILED("%s: %u of %u copies verified by the deadline: the loop is no longer woken",
			 w->name, w->callbacks, w->nops);
}

/* Whether the copies are done and LW_QUIET_TICKS ticks passed since: the loop may stop. */
static inline bool lw_finished(const struct lw *w)
{
	return w->t_end && w->quiet_ticks >= LW_QUIET_TICKS;
}

static inline void lw_count_cb(void *arg, const struct adma_result *res)
{
	(void)res;
	(*(unsigned *)arg)++;
}

/* After the loop: every assertion, the figures, adma_fd() quiet and still working. */
static inline void lw_finish(struct lw *w)
{
	unsigned limit_ms = lw_stall_limit_ms(), calls = 0;
	double ms = (double)(w->t_end - w->t_start) / 1e6;
	int fd = adma_fd(w->e);
	struct adma_stats st;
	struct adma_op op;

	ASSERT_EQ(w->errors, 0);
	ASSERT_EQ(w->callbacks, w->nops);
	ASSERT_EQ(w->in_flight, 0);
	for (unsigned j = 0; j < w->nops; j++)
		if (w->calls[j] != 1)
			T_FAILED("%s: copy %u: its callback ran %u times", w->name, j, w->calls[j]);
	ASSERT_EQ(w->empty_polls, 0);
	ASSERT_GE(w->quiet_ticks, LW_QUIET_TICKS);
	st = t_stats(w->e);
	ASSERT_UEQ(st.submitted, w->nops);
	ASSERT_UEQ(st.completed, w->nops);
	ASSERT_UEQ(st.failed, 0);
	ASSERT_UEQ(st.pending, 0);

	printf("%s: %u MiB copied, %u callbacks, %" PRIu64 " timer ticks, max timer gap %.2f ms, "
	       "max stall %.2f ms (limit %u ms), %.1f ms, %.2f GB/s\n",
	       w->name, w->nops, w->callbacks, w->ticks, (double)w->max_gap / 1e6,
	       (double)w->max_stall / 1e6, limit_ms, ms, (double)w->nops * LW_CHUNK / ms / 1e6);
	if (w->max_stall >= (uint64_t)limit_ms * 1000000u)
		T_FAILED("%s: the 1 ms timer went unserved for %.2f ms while the loop thread had a "
			 "CPU, limit %u ms (ADMA_TEST_STALL_MS sets another)",
			 w->name, (double)w->max_stall / 1e6, limit_ms);
	if (w->schedstat_fd >= 0)
		close(w->schedstat_fd);

	/* drained: not readable; one more copy makes it readable, and adma_poll() clears it */
	ASSERT(!t_readable(fd, 0));
	ASSERT_EQ(adma_poll(w->e, NULL, LW_POLL_MAX), 0);
	adma_prep_copy(&op, w->dst, w->src, 4096);
	adma_op_set_callback(&op, lw_count_cb, &calls);
	t_submit1(w->e, &op);
	ASSERT(t_readable(fd, t_valgrind() ? 60000 : 10000));
	ASSERT_EQ(calls, 0);
	ASSERT_EQ(adma_poll(w->e, NULL, LW_POLL_MAX), 1);
	ASSERT_EQ(calls, 1);
	ASSERT(!t_readable(fd, 0));
	ASSERT_EQ(memcmp(w->dst, w->src, 4096), 0);

	ASSERT_OK(adma_engine_destroy(&w->e));
	free(w->src);
	free(w->dst);
}

#endif
