/* SPDX-License-Identifier: MIT */
/*
 * adma bench: declarations shared by the tool (tools/adma.c, tools/bench.c, tools/alloc_count.c)
 * and the peers it measures adma against (bench/peer_*.c).
 */
#ifndef ADMA_TOOLS_BENCH_H
#define ADMA_TOOLS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define GiB ((size_t)1 << 30)

/* ---- the tool's helpers (tools/adma.c) ---------------------------------------------------- */

extern const char *tool_prog;

/** Prints "prog: what: message (detail)" and exits with status 1; clears the progress line. */
_Noreturn void tool_die(const char *what, int err);
/** tool_die() when @err is negative. */
void tool_check(const char *what, int err);
/** "4 KiB", "256 MiB", "1 GiB", "100 B" into @buf. */
const char *tool_size_name(size_t n, char *buf, size_t len);
void tool_cpu_model(char *buf, size_t len);
void tool_cpu_features(char *buf, size_t len);
/** Level 1 data, 2 and 3 cache sizes of cpu0 in bytes, 0 if unknown. */
long tool_cache_size(int level);
/** CPUs this process may run on, or -1. */
long tool_usable_cpus(void);

/* ---- bench (tools/bench.c) ---------------------------------------------------------------- */

enum bench_format {
	BENCH_TABLE,
	BENCH_CSV,
	BENCH_JSON,
};

/* Scenarios, in the order they run; --only takes their names. */
#define BENCH_SCENARIOS(X)                                                      \
	X(BULK, "bulk", "bulk copies, 4 KiB to 256 MiB (1 GiB with --full)")    \
	X(RATE, "rate", "64-byte ops per second by batch size")                 \
	X(LATENCY, "latency", "one 64-byte op, warm and after 1 ms idle")       \
	X(OVERLAP, "overlap", "a copy on one worker while the caller computes") \
	X(IDLE, "idle", "CPU time an idle engine uses over 500 ms")             \
	X(ALLOC, "alloc", "heap allocations per op in steady state")            \
	X(STREAM, "stream", "a stream of 4 KiB copies with callbacks")          \
	X(LAYOUT, "layout", "layout copies: sub-block, transpose, 1-D dense")

#define BENCH_ENUM(id, name, what) BENCH_##id,
enum bench_scenario {
	BENCH_SCENARIOS(BENCH_ENUM) BENCH_NSCENARIOS
};
#undef BENCH_ENUM

struct bench_opts {
	enum bench_format format;
	bool quick, full;
	unsigned samples; /* 0: the mode's default */
	unsigned only;	  /* bit per enum bench_scenario; 0: all */
	bool progress;	  /* a progress line on stderr */
};

/** @return the scenario's index for its name, or -1. */
int bench_scenario_by_name(const char *name, size_t len);
const char *bench_scenario_name(unsigned id);
const char *bench_scenario_what(unsigned id);
/** Clears the progress line from the terminal if one is shown. */
void bench_progress_clear(void);
/** Runs the benchmark and prints its report on stdout. @return the process exit status. */
int bench_run(const struct bench_opts *opts);

/* ---- heap allocation counting (tools/alloc_count.c) --------------------------------------- */

/** True when this build counts allocations (it interposes malloc and friends). */
extern const bool bench_alloc_counting;
/** Why it does not, when it does not. */
extern const char *const bench_alloc_skip;
/** Counting starts from zero. */
void bench_alloc_begin(void);
/** Counting stops. @return the calls to malloc, calloc, realloc, aligned_alloc, memalign,
 * posix_memalign, valloc and pvalloc made by any thread since bench_alloc_begin(). */
uint64_t bench_alloc_end(void);

/* ---- peers (bench/peer_*.c) --------------------------------------------------------------- */

/*
 * One implementation of "copy these bytes", measured side by side with adma. Every function
 * returns 0 or a negative errno. A peer that cannot start (not built in, or init failed) is
 * reported as skipped with its reason, never silently left out.
 */
struct bench_peer {
	const char *name; /* short, a column heading: "pool", "openmp", "dpdk" */
	const char *what; /* one line for the legend */
	/* Non-NULL: the peer is not built into this program, and why. */
	const char *skip;
	/* Which scenarios it takes part in (bit per enum bench_scenario). */
	unsigned scenarios;
	/* Prepares the peer; @threads is the thread count adma's default engine uses (the peer
	 * may ignore it). On failure writes the reason into @why. Called once. */
	int (*init)(unsigned threads, char *why, size_t len);
	void (*fini)(void);
	/* Optional: called before and after each measurement, so that a peer's threads that poll
	 * while idle cost nothing while the others are measured. */
	int (*start)(void);
	void (*stop)(void);
	/* One copy of @n bytes, returning when it is complete. */
	int (*copy)(void *dst, const void *src, size_t n);
	/* @count copies of @n bytes from @src to each of @dst[0..count-1], all started before any
	 * is waited for; returns when every one is complete. NULL: the peer copies one large
	 * buffer at a time (bulk only, where one repetition is one copy). */
	int (*batch)(void *const *dst, const void *src, size_t n, unsigned count);
	/* Optional (NULL for synchronous peers): starts the same copies and returns at once;
	 * wait_all() returns when everything started so far is complete. */
	int (*submit)(void *const *dst, const void *src, size_t n, unsigned count);
	int (*wait_all)(void);
	/* Threads that do the copies (for the legend). */
	unsigned (*threads)(void);
};

extern const struct bench_peer bench_peer_pool;
extern const struct bench_peer bench_peer_omp;
extern const struct bench_peer bench_peer_dpdk;
extern const struct bench_peer bench_peer_ceiling;

#define BENCH_BIT(s) (1u << (s))

#endif /* ADMA_TOOLS_BENCH_H */
