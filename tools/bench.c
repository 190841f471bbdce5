/* SPDX-License-Identifier: MIT */
/*
 * adma bench: adma measured side by side with glibc memcpy on the calling thread and with the
 * peers under bench/ (a plain thread pool, OpenMP, DPDK's dmadev skeleton), in one run.
 *
 * Every figure is the median of repeated samples, reported with its minimum and maximum; the
 * scenarios, the sampling and the buffers are described in docs/benchmarks.md. Every adma call
 * is checked and every implementation's output is compared byte for byte once per scenario, so
 * a broken engine cannot print good figures: adma failing stops the run (exit 1), a peer failing
 * is reported as skipped with the reason.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <adma.h>

#include "bench.h"

/* Small copies rotate over up to this many destinations, so that concurrent ops of one batch
 * never write the same cache lines (which would measure line bouncing, not copying). */
#define MAX_SLOTS 64
#define SLOT_SPAN (2 * MiB)
#define OPS_MAX 128 /* the largest batch handed to adma_submit() at once */
#define OP_BYTES 64
#define MAX_FIGURES 512
#define MAX_SAMPLES 1000
/* A step that shows no progress for this long is taken for a hang (engine or peer). */
#define WATCHDOG_S 300

/* ------------------------------------------------------------------------------------------ */
/* Run state                                                                                   */
/* ------------------------------------------------------------------------------------------ */

struct figure {
	unsigned scenario;   /* enum bench_scenario */
	const char *impl;    /* "memcpy", "adma", a peer's name, or a ratio "adma/memcpy" */
	const char *variant; /* "" or "batch", "stream", "warm", "idle", ... */
	size_t bytes;	     /* bytes per op or per copy; 0 when it does not apply */
	unsigned batch;	     /* ops per batch; 0 when it does not apply */
	const char *unit;    /* "GB/s", "Mops/s", "us", "ms", "ratio", "allocs/op" */
	double median, min, max, p99;
	bool has_p99;
	unsigned samples; /* samples (or trials) the figure summarises */
	const char *skip; /* non-NULL: not measured, and why */
};

static struct {
	struct bench_opts o;
	unsigned samples; /* per figure */
	double target_s;  /* the least time one sample takes */
	double t_start;
	unsigned scenario, nscenarios, scenario_index;
	bool progress_shown;

	double load_start;	/* 1-minute load average when the run started, -1 if unknown */
	struct adma_stats dflt; /* the default engine, as created with a NULL config */
	struct adma_config cfg; /* what adma_config_init() fills in */

	struct figure figs[MAX_FIGURES];
	unsigned nfigs;
	double samples_buf[MAX_SAMPLES];
} B;

/* The engine the scenario running now measures; the "adma" implementation submits to it. */
static struct adma_engine *eng;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_ns(long ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000L, .tv_nsec = ns % 1000000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Keeps the compiler from merging or dropping copies whose results it cannot see used. */
static inline void clobber(void)
{
	__asm__ __volatile__("" ::: "memory");
}

void bench_progress_clear(void)
{
	if (B.progress_shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		B.progress_shown = false;
	}
}

/* What runs now, for the watchdog's message; written only by the main thread. */
static char step_label[256];
static char watchdog_msg[128];

static void on_watchdog(int sig)
{
	ssize_t w = B.progress_shown ? write(STDERR_FILENO, "\r\033[K", 4) : 0;

	w += write(STDERR_FILENO, watchdog_msg, strlen(watchdog_msg));

	w += write(STDERR_FILENO, step_label, strnlen(step_label, sizeof(step_label)));
	w += write(STDERR_FILENO, "\n", 1);
	(void)w;
	_exit(3);
}

static void watchdog_arm(void)
{
	struct sigaction sa = { .sa_handler = on_watchdog };

	snprintf(watchdog_msg, sizeof(watchdog_msg),
		 "%s: bench: no progress for %d s, giving up (an engine or a peer seems stuck) "
		 "during: ",
		 tool_prog, WATCHDOG_S);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(WATCHDOG_S);
}

/* Names the step that starts now: on the progress line when shown, and for the watchdog,
 * which gets another WATCHDOG_S seconds. */
__attribute__((format(printf, 1, 2))) static void progress(const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(step_label, sizeof(step_label), "%s: ", bench_scenario_name(B.scenario));
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(step_label))
		vsnprintf(step_label + n, sizeof(step_label) - (size_t)n, fmt, ap);
	va_end(ap);
	alarm(WATCHDOG_S);
	if (!B.o.progress)
		return;
	fprintf(stderr, "\r\033[K[%u/%u %3.0fs] %s ...", B.scenario_index, B.nscenarios,
		now_s() - B.t_start, step_label);
	fflush(stderr);
	B.progress_shown = true;
}

static const char *mode_name(void)
{
	return B.o.quick ? "quick" : B.o.full ? "full" : "default";
}

static void *xalloc(size_t n)
{
	void *p = aligned_alloc(4096, (n + 4095) & ~(size_t)4095);

	if (!p) {
		bench_progress_clear();
		fprintf(stderr, "%s: bench: out of memory (%zu bytes)\n", tool_prog, n);
	}
	return p;
}

/* A pattern that differs from page to page and run to run, so that a copy that did not happen,
 * or went to the wrong place, cannot pass for one. Touching the pages also pre-faults them. */
static void fill_pattern(void *buf, size_t n, uint64_t seed)
{
	uint64_t *w = buf;

	for (size_t i = 0; i < n / 8; i++)
		w[i] = (i + seed) * UINT64_C(0x9E3779B97F4A7C15);
	for (size_t i = n / 8 * 8; i < n; i++)
		((unsigned char *)buf)[i] = (unsigned char)(i + seed);
}

/* ------------------------------------------------------------------------------------------ */
/* Figures                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static struct figure *add_figure(const char *impl, const char *variant, size_t bytes,
				 unsigned batch, const char *unit)
{
	struct figure *f;

	if (B.nfigs == MAX_FIGURES)
		tool_die("bench: too many figures", -ENOSPC);
	f = &B.figs[B.nfigs++];
	*f = (struct figure){ .scenario = B.scenario,
			      .impl = impl,
			      .variant = variant ? variant : "",
			      .bytes = bytes,
			      .batch = batch,
			      .unit = unit };
	return f;
}

static void add_skipped(const char *impl, const char *variant, size_t bytes, unsigned batch,
			const char *unit, const char *why)
{
	add_figure(impl, variant, bytes, batch, unit)->skip = why;
}

/* Median, min, max (and the nearest-rank 99th percentile) of @n values; sorts @v. */
static void summarize(struct figure *f, double *v, unsigned n, bool p99)
{
	qsort(v, n, sizeof(*v), cmp_double);
	f->min = v[0];
	f->max = v[n - 1];
	f->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	f->samples = n;
	f->has_p99 = p99;
	if (p99)
		f->p99 = v[((size_t)n * 99 + 99) / 100 - 1];
}

static const struct figure *find_figure(unsigned sc, const char *impl, const char *variant,
					size_t bytes, unsigned batch)
{
	for (unsigned i = 0; i < B.nfigs; i++) {
		const struct figure *f = &B.figs[i];

		if (f->scenario == sc && !strcmp(f->impl, impl) && !strcmp(f->variant, variant) &&
		    f->bytes == bytes && f->batch == batch)
			return f;
	}
	return NULL;
}

static bool measured(const struct figure *f)
{
	return f && !f->skip && f->samples;
}

/* a / b from two measured figures: the ratio of the medians, spread from the extremes. */
static void add_ratio(const char *name, const char *variant, size_t bytes, unsigned batch,
		      const struct figure *a, const struct figure *b)
{
	struct figure *r;

	if (!measured(a) || !measured(b) || b->median <= 0 || b->min <= 0)
		return;
	r = add_figure(name, variant, bytes, batch, "ratio");
	r->median = a->median / b->median;
	r->min = a->min / b->max;
	r->max = a->max / b->min;
	r->samples = a->samples < b->samples ? a->samples : b->samples;
}

/* ------------------------------------------------------------------------------------------ */
/* Implementations: memcpy and adma here, the peers in bench/                                  */
/* ------------------------------------------------------------------------------------------ */

static int memcpy_copy(void *dst, const void *src, size_t n)
{
	memcpy(dst, src, n);
	clobber();
	return 0;
}

static int memcpy_batch(void *const *dst, const void *src, size_t n, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		memcpy(dst[i], src, n);
		clobber();
	}
	return 0;
}

static unsigned one_thread(void)
{
	return 1;
}

static const struct bench_peer peer_memcpy = {
	.name = "memcpy",
	.what = "glibc memcpy on the calling thread",
	.scenarios = BENCH_BIT(BENCH_BULK) | BENCH_BIT(BENCH_LATENCY),
	.copy = memcpy_copy,
	.batch = memcpy_batch,
	.threads = one_thread,
};

/*
 * Tickets of the last op of recent submissions, oldest first. When the backlog is full, waiting
 * for the oldest of them makes room while the rest stays queued; a barrier would drain the
 * pipeline. This is how a program streams more ops than the backlog holds.
 */
#define FLOW_MAX 256
static struct {
	uint64_t t[FLOW_MAX];
	unsigned head, count;
} flow;

static int flow_wait_oldest(void)
{
	int r;

	if (!flow.count) {
		r = adma_barrier(eng, -1);
		return r;
	}
	r = adma_wait(eng, flow.t[flow.head], -1);
	flow.head = (flow.head + 1) % FLOW_MAX;
	flow.count--;
	return r;
}

static int wait_everything(void)
{
	flow.head = flow.count = 0;
	return adma_barrier(eng, -1);
}

/* Submits all @count ops (at most OPS_MAX), waiting for room whenever the backlog is full.
 * With @track the last ticket of each accepted prefix joins the flow window. */
static int submit_ops(const struct adma_op *ops, unsigned count, bool track)
{
	uint64_t tickets[OPS_MAX];
	unsigned done = 0;

	while (done < count) {
		int r = adma_submit(eng, ops + done, count - done, track ? tickets : NULL);

		if (r == -EAGAIN) {
			r = flow_wait_oldest();
			if (r < 0)
				return r;
			continue;
		}
		if (r < 0)
			return r;
		if (track) {
			if (flow.count == FLOW_MAX) {
				int w = flow_wait_oldest();

				if (w < 0)
					return w;
			}
			flow.t[(flow.head + flow.count++) % FLOW_MAX] = tickets[r - 1];
		}
		done += (unsigned)r;
	}
	return 0;
}

/* One op: submit, then adma_wait on its ticket. */
static int adma_copy1(void *dst, const void *src, size_t n)
{
	struct adma_op op;
	uint64_t t;
	int r;

	adma_prep_copy(&op, dst, src, n);
	while ((r = adma_submit(eng, &op, 1, &t)) == -EAGAIN) {
		r = wait_everything();
		if (r < 0)
			return r;
	}
	return r < 0 ? r : adma_wait(eng, t, -1);
}

static int adma_start_batch(void *const *dst, const void *src, size_t n, unsigned count, bool track)
{
	struct adma_op ops[OPS_MAX];

	for (unsigned done = 0; done < count;) {
		unsigned k = count - done < OPS_MAX ? count - done : OPS_MAX;
		int r;

		for (unsigned i = 0; i < k; i++)
			adma_prep_copy(&ops[i], dst[done + i], src, n);
		r = submit_ops(ops, k, track);
		if (r < 0)
			return r;
		done += k;
	}
	return 0;
}

/* A batch: submit every op (tickets NULL), then adma_barrier. */
static int adma_batch(void *const *dst, const void *src, size_t n, unsigned count)
{
	int r = adma_start_batch(dst, src, n, count, false);

	return r < 0 ? r : wait_everything();
}

static int adma_submit_only(void *const *dst, const void *src, size_t n, unsigned count)
{
	return adma_start_batch(dst, src, n, count, true);
}

static unsigned adma_threads(void)
{
	struct adma_stats st;

	if (eng && adma_stats(eng, &st) == 0)
		return (unsigned)st.workers;
	return (unsigned)B.dflt.workers;
}

static const struct bench_peer peer_adma = {
	.name = "adma",
	.what = "adma, default engine: submit, then adma_wait (one op) or adma_barrier",
	.scenarios = BENCH_BIT(BENCH_BULK) | BENCH_BIT(BENCH_RATE) | BENCH_BIT(BENCH_LATENCY) |
		     BENCH_BIT(BENCH_OVERLAP) | BENCH_BIT(BENCH_IDLE) | BENCH_BIT(BENCH_ALLOC) |
		     BENCH_BIT(BENCH_STREAM) | BENCH_BIT(BENCH_LAYOUT),
	.copy = adma_copy1,
	.batch = adma_batch,
	.submit = adma_submit_only,
	.wait_all = wait_everything,
	.threads = adma_threads,
};

enum {
	I_MEMCPY,
	I_ADMA,
	I_CEIL, /* right after adma: the host's bandwidth moves between measurements */
	I_POOL,
	I_OMP,
	I_DPDK,
	NIMPLS
};

struct impl {
	const struct bench_peer *p;
	bool tried;	  /* init() was called */
	bool running;	  /* between start() and stop() */
	const char *skip; /* non-NULL: not measured from now on, and why */
	char why[256];
};

static struct impl impls[NIMPLS] = {
	[I_MEMCPY] = { .p = &peer_memcpy },   [I_ADMA] = { .p = &peer_adma },
	[I_POOL] = { .p = &bench_peer_pool }, [I_OMP] = { .p = &bench_peer_omp },
	[I_DPDK] = { .p = &bench_peer_dpdk }, [I_CEIL] = { .p = &bench_peer_ceiling },
};

/* Takes part in the scenario running now (measured or reported as skipped)? */
static bool impl_in(const struct impl *im)
{
	return im->p->scenarios & BENCH_BIT(B.scenario);
}

/* Initialises the implementation on first use. @return true when it can be measured. */
static bool impl_ready(struct impl *im)
{
	if (!im->tried) {
		im->tried = true;
		if (im->p->skip) {
			im->skip = im->p->skip;
		} else if (im->p->init) {
			int r;

			progress("starting %s", im->p->name);
			im->why[0] = '\0';
			r = im->p->init((unsigned)B.dflt.workers, im->why, sizeof(im->why));
			if (r < 0) {
				if (!im->why[0])
					snprintf(im->why, sizeof(im->why), "init failed: %s",
						 strerror(-r));
				im->skip = im->why;
			}
		}
	}
	return !im->skip;
}

/* An implementation failed: adma stops the run, a peer is skipped from now on. */
static void impl_failed(struct impl *im, const char *what, int err)
{
	if (im == &impls[I_ADMA])
		tool_die(what, err);
	snprintf(im->why, sizeof(im->why), "failed: %s: %s", what, strerror(-err));
	im->skip = im->why;
}

static void impl_wrong_data(struct impl *im, const char *what)
{
	bench_progress_clear();
	if (im == &impls[I_ADMA]) {
		fprintf(stderr, "%s: bench: adma produced wrong data: %s\n", tool_prog, what);
		exit(1);
	}
	snprintf(im->why, sizeof(im->why), "produced wrong data: %s", what);
	im->skip = im->why;
}

static bool impl_start(struct impl *im)
{
	int r;

	if (!impl_ready(im))
		return false;
	if (!im->p->start)
		return true;
	r = im->p->start();
	if (r < 0) {
		impl_failed(im, "start", r);
		return false;
	}
	im->running = true;
	return true;
}

/* After every measurement, whatever its outcome. */
static void impl_stop(struct impl *im)
{
	if (im->running && im->p->stop)
		im->p->stop();
	im->running = false;
}

static void impls_fini(void)
{
	for (unsigned i = 0; i < NIMPLS; i++) {
		struct impl *im = &impls[i];

		if (im->tried && im->p->fini && (!im->p->skip && im->p->init))
			im->p->fini();
	}
}

static void engine_create(const struct adma_config *cfg)
{
	tool_check("adma_engine_create", adma_engine_create(&eng, cfg));
}

static void engine_destroy(void)
{
	tool_check("adma_engine_destroy", adma_engine_destroy(&eng));
}

/* ------------------------------------------------------------------------------------------ */
/* Sampling                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Runs @reps repetitions and stores the seconds they took; 0 or a negative errno. */
typedef int run_fn(void *ctx, uint64_t reps, double *secs);

/*
 * Fills @rate with B.samples samples of repetitions per second. The repetition count is
 * calibrated once (after one warm-up repetition) so that one sample lasts at least the target
 * time; every sample then runs the same count.
 */
static int sample_rates(run_fn *run, void *ctx, double *rate)
{
	double t = 0, target = B.target_s;
	uint64_t reps = 1;
	int r = run(ctx, 1, &t);

	if (r < 0)
		return r;
	for (;;) {
		r = run(ctx, reps, &t);
		if (r < 0)
			return r;
		if (t >= target / 8 || reps >= (UINT64_C(1) << 40))
			break;
		reps *= 4;
	}
	if (t < target)
		reps = (uint64_t)((double)reps * target / (t > 1e-9 ? t : 1e-9)) + 1;
	for (unsigned s = 0; s < B.samples; s++) {
		r = run(ctx, reps, &t);
		if (r < 0)
			return r;
		rate[s] = (double)reps / (t > 1e-12 ? t : 1e-12);
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* bulk: copies of 4 KiB to 1 GiB                                                              */
/* ------------------------------------------------------------------------------------------ */

struct bulk_ctx {
	const struct bench_peer *p;
	void *dst[MAX_SLOTS];
	const void *src;
	size_t bytes;
	unsigned slots;
};

/* One repetition is one copy: one op then wait for large sizes; for small ones, batches of one
 * copy per destination slot, then wait. */
static int run_bulk(void *ctx, uint64_t reps, double *secs)
{
	struct bulk_ctx *c = ctx;
	double t0 = now_s();
	int r = 0;

	if (c->slots == 1) {
		for (uint64_t i = 0; i < reps && r == 0; i++)
			r = c->p->copy(c->dst[0], c->src, c->bytes);
	} else {
		while (reps && r == 0) {
			unsigned n = reps < c->slots ? (unsigned)reps : c->slots;

			r = c->p->batch(c->dst, c->src, c->bytes, n);
			reps -= n;
		}
	}
	*secs = now_s() - t0;
	return r;
}

static void bulk_one(struct impl *im, const void *src, size_t bytes, unsigned slots)
{
	struct bulk_ctx c = { .p = im->p, .src = src, .bytes = bytes, .slots = slots };
	double *gbps = B.samples_buf;
	unsigned char *dst;
	struct figure *f;
	char sz[32];
	int r;

	tool_size_name(bytes, sz, sizeof(sz));
	if (!impl_in(im))
		return;
	/* A working peer without batch() copies one buffer at a time: no figure below 2 MiB. */
	if (slots > 1 && !im->p->batch && impl_ready(im))
		return;
	if (!impl_start(im)) {
		add_skipped(im->p->name, "", bytes, 0, "GB/s", im->skip);
		return;
	}
	progress("%s, %s", sz, im->p->name);
	/* A fresh destination for every implementation, pre-faulted, so that none inherits the
	 * page faults or the cache contents another one left. */
	dst = xalloc(bytes * slots);
	if (!dst) {
		impl_stop(im);
		add_skipped(im->p->name, "", bytes, 0, "GB/s", "out of memory");
		return;
	}
	memset(dst, 0, bytes * slots);
	for (unsigned s = 0; s < slots; s++)
		c.dst[s] = dst + (size_t)s * bytes;

	r = sample_rates(run_bulk, &c, gbps);
	if (r == 0) {
		/* The check: a cleared destination, one more round, every byte compared. */
		double t;

		memset(dst, 0, bytes * slots);
		r = run_bulk(&c, slots, &t);
	}
	if (r < 0) {
		impl_failed(im, "bulk copy", r);
	} else {
		for (unsigned s = 0; s < slots; s++) {
			if (memcmp(c.dst[s], src, bytes) != 0) {
				impl_wrong_data(im, "bulk copy");
				break;
			}
		}
	}
	impl_stop(im);
	free(dst);
	if (im->skip) {
		add_skipped(im->p->name, "", bytes, 0, "GB/s", im->skip);
		return;
	}
	for (unsigned s = 0; s < B.samples; s++)
		gbps[s] = gbps[s] * (double)bytes / 1e9;
	f = add_figure(im->p->name, "", bytes, 0, "GB/s");
	summarize(f, gbps, B.samples, false);
}

static void scenario_bulk(void)
{
	static const size_t sizes[] = { 4 * KiB, 64 * KiB, MiB, 16 * MiB, 256 * MiB, GiB };

	engine_create(NULL);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t bytes = sizes[i];
		unsigned slots = bytes >= SLOT_SPAN ? 1 : (unsigned)(SLOT_SPAN / bytes);
		void *src;

		if (bytes == GiB && !B.o.full)
			continue;
		if (slots > MAX_SLOTS)
			slots = MAX_SLOTS;
		src = xalloc(bytes);
		if (!src) {
			for (unsigned k = 0; k < NIMPLS; k++)
				if (impl_in(&impls[k]))
					add_skipped(impls[k].p->name, "", bytes, 0, "GB/s",
						    "out of memory");
			continue;
		}
		fill_pattern(src, bytes, i + 1);
		for (unsigned k = 0; k < NIMPLS; k++)
			bulk_one(&impls[k], src, bytes, slots);
		add_ratio("adma/memcpy", "", bytes, 0,
			  find_figure(BENCH_BULK, "adma", "", bytes, 0),
			  find_figure(BENCH_BULK, "memcpy", "", bytes, 0));
		add_ratio("adma/ceiling", "", bytes, 0,
			  find_figure(BENCH_BULK, "adma", "", bytes, 0),
			  find_figure(BENCH_BULK, "ceiling", "", bytes, 0));
		add_ratio("ceiling/memcpy", "", bytes, 0,
			  find_figure(BENCH_BULK, "ceiling", "", bytes, 0),
			  find_figure(BENCH_BULK, "memcpy", "", bytes, 0));
		free(src);
	}
	engine_destroy();
}

/* ------------------------------------------------------------------------------------------ */
/* rate: 64-byte ops by batch size                                                             */
/* ------------------------------------------------------------------------------------------ */

static const unsigned rate_batches[] = { 1, 8, 32, 128 };
#define NBATCHES (sizeof(rate_batches) / sizeof(rate_batches[0]))
/* The stream variant writes a ring of this many destinations (a multiple of every batch size)
 * and waits each time it wraps, so that no two copies in flight ever write the same bytes. */
#define RATE_RING 4096

struct rate_ctx {
	const struct bench_peer *p;
	unsigned batch;
	unsigned cursor; /* stream: the next ring slot */
	const void *src;
	void *dst[RATE_RING];
	struct adma_op ops[RATE_RING]; /* adma: prepared once, reused (submit copies them) */
};

/* One repetition is one batch, then wait: submit (tickets NULL), adma_barrier. */
static int run_rate_adma_batch(void *ctx, uint64_t reps, double *secs)
{
	struct rate_ctx *c = ctx;
	double t0 = now_s();
	int r = 0;

	for (uint64_t i = 0; i < reps && r == 0; i++) {
		r = submit_ops(c->ops, c->batch, false);
		if (r == 0)
			r = adma_barrier(eng, -1);
	}
	*secs = now_s() - t0;
	return r;
}

/* One repetition is one batch, submitted behind the previous ones without waiting. */
static int run_rate_adma_stream(void *ctx, uint64_t reps, double *secs)
{
	struct rate_ctx *c = ctx;
	double t0 = now_s();
	int r = 0;

	for (uint64_t i = 0; i < reps && r == 0; i++) {
		if (c->cursor == RATE_RING) {
			r = wait_everything();
			c->cursor = 0;
		}
		if (r == 0)
			r = submit_ops(c->ops + c->cursor, c->batch, true);
		c->cursor += c->batch;
	}
	if (r == 0)
		r = wait_everything();
	c->cursor = 0;
	*secs = now_s() - t0;
	return r;
}

static int run_rate_peer_batch(void *ctx, uint64_t reps, double *secs)
{
	struct rate_ctx *c = ctx;
	double t0 = now_s();
	int r = 0;

	for (uint64_t i = 0; i < reps && r == 0; i++)
		r = c->p->batch(c->dst, c->src, OP_BYTES, c->batch);
	*secs = now_s() - t0;
	return r;
}

static int run_rate_peer_stream(void *ctx, uint64_t reps, double *secs)
{
	struct rate_ctx *c = ctx;
	double t0 = now_s();
	int r = 0;

	for (uint64_t i = 0; i < reps && r == 0; i++) {
		if (c->cursor == RATE_RING) {
			r = c->p->wait_all();
			c->cursor = 0;
		}
		if (r == 0)
			r = c->p->submit(c->dst + c->cursor, c->src, OP_BYTES, c->batch);
		c->cursor += c->batch;
	}
	if (r == 0)
		r = c->p->wait_all();
	c->cursor = 0;
	*secs = now_s() - t0;
	return r;
}

/* The check: cleared destinations, one more pass over every slot the variant writes, every
 * byte compared. */
static int rate_check(struct impl *im, struct rate_ctx *c, run_fn *run, bool stream,
		      unsigned char (*ring)[OP_BYTES], const unsigned char *src)
{
	unsigned slots = stream ? RATE_RING : c->batch;
	double t;
	int r;

	memset(ring, 0, (size_t)RATE_RING * OP_BYTES);
	r = run(c, stream ? RATE_RING / c->batch : 1, &t);
	for (unsigned i = 0; r == 0 && i < slots; i++) {
		if (memcmp(ring[i], src, OP_BYTES) != 0) {
			impl_wrong_data(im, "64-byte ops");
			break;
		}
	}
	return r;
}

static void rate_one(struct impl *im, bool stream, unsigned char (*ring)[OP_BYTES],
		     const unsigned char *src)
{
	const char *variant = stream ? "stream" : "batch";
	struct rate_ctx *c;
	bool is_adma = im == &impls[I_ADMA];
	run_fn *run = is_adma ? (stream ? run_rate_adma_stream : run_rate_adma_batch) :
				(stream ? run_rate_peer_stream : run_rate_peer_batch);

	if (!impl_in(im) || (stream && !im->p->submit && !im->p->skip))
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		tool_die("bench: rate", -ENOMEM);
	c->p = im->p;
	c->src = src;
	for (unsigned i = 0; i < RATE_RING; i++) {
		c->dst[i] = ring[i];
		adma_prep_copy(&c->ops[i], ring[i], src, OP_BYTES);
	}
	for (size_t b = 0; b < NBATCHES; b++) {
		double *mops = B.samples_buf;
		int r;

		c->batch = rate_batches[b];
		if (!impl_start(im)) {
			add_skipped(im->p->name, variant, OP_BYTES, c->batch, "Mops/s", im->skip);
			continue;
		}
		progress("%s %s, batch %u", im->p->name, variant, c->batch);
		r = sample_rates(run, c, mops);
		if (r == 0 && b + 1 == NBATCHES)
			r = rate_check(im, c, run, stream, ring, src);
		if (r < 0)
			impl_failed(im, "64-byte ops", r);
		impl_stop(im);
		if (im->skip) {
			add_skipped(im->p->name, variant, OP_BYTES, c->batch, "Mops/s", im->skip);
			continue;
		}
		for (unsigned s = 0; s < B.samples; s++)
			mops[s] = mops[s] * c->batch / 1e6;
		summarize(add_figure(im->p->name, variant, OP_BYTES, c->batch, "Mops/s"), mops,
			  B.samples, false);
	}
	free(c);
}

static void scenario_rate(void)
{
	static _Alignas(64) unsigned char src[OP_BYTES], ring[RATE_RING][OP_BYTES];

	fill_pattern(src, sizeof(src), 3);
	engine_create(NULL);
	for (unsigned k = 0; k < NIMPLS; k++) {
		rate_one(&impls[k], false, ring, src);
		rate_one(&impls[k], true, ring, src);
	}
	engine_destroy();
}

/* ------------------------------------------------------------------------------------------ */
/* latency: one 64-byte op, warm and after idle                                                */
/* ------------------------------------------------------------------------------------------ */

static void latency_one(struct impl *im, unsigned warm_trials, unsigned idle_trials)
{
	static _Alignas(64) unsigned char src[OP_BYTES], dst[OP_BYTES];
	static double us[MAX_SAMPLES * 10];
	int r = 0;

	if (!impl_in(im))
		return;
	if (!impl_start(im)) {
		add_skipped(im->p->name, "warm", OP_BYTES, 1, "us", im->skip);
		add_skipped(im->p->name, "idle", OP_BYTES, 1, "us", im->skip);
		return;
	}
	fill_pattern(src, sizeof(src), 5);
	progress("%s, warm", im->p->name);
	for (unsigned i = 0; i < 100 + warm_trials && r == 0; i++) {
		double t0 = now_s();

		r = im->p->copy(dst, src, OP_BYTES);
		if (i >= 100)
			us[i - 100] = (now_s() - t0) * 1e6;
	}
	if (r == 0)
		summarize(add_figure(im->p->name, "warm", OP_BYTES, 1, "us"), us, warm_trials,
			  true);
	progress("%s, after 1 ms idle", im->p->name);
	memset(dst, 0, sizeof(dst));
	for (unsigned i = 0; i < idle_trials && r == 0; i++) {
		double t0;

		sleep_ns(1000000);
		t0 = now_s();
		r = im->p->copy(dst, src, OP_BYTES);
		us[i] = (now_s() - t0) * 1e6;
	}
	if (r < 0)
		impl_failed(im, "64-byte op", r);
	else if (memcmp(dst, src, OP_BYTES) != 0)
		impl_wrong_data(im, "64-byte op");
	impl_stop(im);
	if (im->skip) {
		if (!find_figure(BENCH_LATENCY, im->p->name, "warm", OP_BYTES, 1))
			add_skipped(im->p->name, "warm", OP_BYTES, 1, "us", im->skip);
		else
			B.figs[B.nfigs - 1].skip = im->skip;
		add_skipped(im->p->name, "idle", OP_BYTES, 1, "us", im->skip);
		return;
	}
	summarize(add_figure(im->p->name, "idle", OP_BYTES, 1, "us"), us, idle_trials, true);
}

static void scenario_latency(void)
{
	unsigned warm = B.o.quick ? 1000 : B.o.full ? 10000 : 2000;
	unsigned idle = B.o.quick ? 100 : B.o.full ? 1000 : 300;

	engine_create(NULL);
	for (unsigned k = 0; k < NIMPLS; k++)
		latency_one(&impls[k], warm, idle);
	engine_destroy();
}

/* ------------------------------------------------------------------------------------------ */
/* overlap: a copy on one worker while the caller computes                                     */
/* ------------------------------------------------------------------------------------------ */

/* A dependent chain of multiply-adds that touches no memory: it competes with the copy for
 * nothing but the CPU it runs on. */
static uint64_t compute(uint64_t iters)
{
	uint64_t x = iters | 1;

	for (uint64_t i = 0; i < iters; i++) {
		x = x * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
		__asm__ __volatile__("" : "+r"(x));
	}
	return x;
}

static volatile uint64_t compute_sink;

static double time_copy(void *dst, const void *src, size_t n)
{
	double t0 = now_s();

	tool_check("adma (overlap copy)", adma_copy1(dst, src, n));
	return now_s() - t0;
}

static double time_compute(uint64_t iters)
{
	double t0 = now_s();

	compute_sink = compute(iters);
	return now_s() - t0;
}

static double time_both(void *dst, const void *src, size_t n, uint64_t iters)
{
	struct adma_op op;
	uint64_t t;
	double t0 = now_s();

	adma_prep_copy(&op, dst, src, n);
	tool_check("adma_submit", adma_submit(eng, &op, 1, &t));
	compute_sink = compute(iters);
	tool_check("adma_wait", adma_wait(eng, t, -1));
	return now_s() - t0;
}

static void scenario_overlap(void)
{
	size_t bytes = B.o.quick ? 64 * MiB : 256 * MiB;
	struct adma_config cfg;
	double *ratio = B.samples_buf;
	double tc[MAX_SAMPLES], tp[MAX_SAMPLES], tb[MAX_SAMPLES];
	double per_iter, tcopy;
	uint64_t iters;
	void *src, *dst;

	src = xalloc(bytes);
	dst = src ? xalloc(bytes) : NULL;
	if (!dst) {
		free(src);
		add_skipped("adma", "", bytes, 1, "ratio", "out of memory");
		return;
	}
	fill_pattern(src, bytes, 7);
	memset(dst, 0, bytes);
	adma_config_init(&cfg);
	cfg.workers = 1;
	engine_create(&cfg);

	progress("calibrating, %zu MiB copy on one worker", bytes / MiB);
	time_copy(dst, src, bytes);
	tcopy = time_copy(dst, src, bytes);
	per_iter = time_compute(1u << 22) / (double)(1u << 22);
	iters = (uint64_t)(tcopy / per_iter) + 1;

	for (unsigned s = 0; s < B.samples; s++) {
		progress("sample %u of %u", s + 1, B.samples);
		tc[s] = time_copy(dst, src, bytes);
		tp[s] = time_compute(iters);
		tb[s] = time_both(dst, src, bytes, iters);
		ratio[s] = (tc[s] > tp[s] ? tc[s] : tp[s]) / tb[s];
	}
	memset(dst, 0, bytes);
	time_copy(dst, src, bytes);
	if (memcmp(dst, src, bytes) != 0)
		impl_wrong_data(&impls[I_ADMA], "overlap copy");
	engine_destroy();
	free(src);
	free(dst);

	summarize(add_figure("adma", "", bytes, 1, "ratio"), ratio, B.samples, false);
	for (unsigned s = 0; s < B.samples; s++) {
		tc[s] *= 1e3;
		tp[s] *= 1e3;
		tb[s] *= 1e3;
	}
	summarize(add_figure("adma", "copy alone", bytes, 1, "ms"), tc, B.samples, false);
	summarize(add_figure("compute", "compute alone", bytes, 1, "ms"), tp, B.samples, false);
	summarize(add_figure("adma", "both", bytes, 1, "ms"), tb, B.samples, false);
}

/* ------------------------------------------------------------------------------------------ */
/* idle: CPU time of an idle engine                                                            */
/* ------------------------------------------------------------------------------------------ */

static void scenario_idle(void)
{
	unsigned n = B.o.samples ? B.o.samples : B.o.quick ? 2 : B.o.full ? 5 : 3;
	double *ms = B.samples_buf;
	size_t bytes = 16 * MiB;
	unsigned char *src = xalloc(bytes), *dst = src ? xalloc(bytes) : NULL;

	if (!dst) {
		free(src);
		add_skipped("adma", "", 0, 0, "ms", "out of memory");
		return;
	}
	fill_pattern(src, bytes, 9);
	for (unsigned s = 0; s < n; s++) {
		void *d[OPS_MAX];
		double c0;

		progress("sample %u of %u (500 ms each)", s + 1, n);
		memset(dst, 0, bytes);
		engine_create(NULL);
		/* A little work first, so that the workers have run and gone idle: small ops, a
		 * medium one and a large one. */
		for (unsigned i = 0; i < OPS_MAX; i++)
			d[i] = dst + (size_t)i * 4 * KiB;
		tool_check("adma (idle: small ops)", adma_batch(d, src, OP_BYTES, OPS_MAX));
		tool_check("adma (idle: 1 MiB)", adma_copy1(dst + MiB, src + MiB, MiB));
		tool_check("adma (idle: 16 MiB)", adma_copy1(dst, src, bytes));
		if (memcmp(dst, src, bytes) != 0)
			impl_wrong_data(&impls[I_ADMA], "idle: warm-up copies");

		c0 = cpu_s();
		sleep_ns(500 * 1000000L);
		ms[s] = (cpu_s() - c0) * 1e3;
		engine_destroy();
	}
	free(src);
	free(dst);
	summarize(add_figure("adma", "", 0, 0, "ms"), ms, n, false);
}

/* ------------------------------------------------------------------------------------------ */
/* alloc: heap allocations per op in steady state                                              */
/* ------------------------------------------------------------------------------------------ */

static atomic_uint_fast64_t callbacks_run;

static void count_callback(void *arg, const struct adma_result *res)
{
	if (res->status == 0)
		atomic_fetch_add_explicit(&callbacks_run, 1, memory_order_relaxed);
}

#define ALLOC_ROUND 32
#define ALLOC_SMALL_SLOTS (ALLOC_ROUND - 2)

/* Rounds of 32 ops with callbacks: 64-byte copies, one of 64 KiB (a worker's job) and, every
 * 16th round, one of 4 MiB (split across the workers); adma_wait on the last ticket of each
 * round, then a barrier (the next round writes the same destinations). */
static void alloc_rounds(unsigned char *dst, const unsigned char *src, uint64_t rounds)
{
	for (uint64_t r = 0; r < rounds; r++) {
		struct adma_op ops[ALLOC_ROUND];
		uint64_t t[ALLOC_ROUND];
		unsigned done = 0;

		for (unsigned i = 0; i < ALLOC_SMALL_SLOTS; i++)
			adma_prep_copy(&ops[i], dst + i * OP_BYTES, src + i * OP_BYTES, OP_BYTES);
		adma_prep_copy(&ops[ALLOC_ROUND - 2], dst + 64 * KiB, src + 64 * KiB, 64 * KiB);
		if (r % 16 == 15)
			adma_prep_copy(&ops[ALLOC_ROUND - 1], dst + 4 * MiB, src + 4 * MiB,
				       4 * MiB);
		else
			adma_prep_copy(&ops[ALLOC_ROUND - 1], dst + 128 * KiB, src + 128 * KiB,
				       OP_BYTES);
		for (unsigned i = 0; i < ALLOC_ROUND; i++)
			adma_op_set_callback(&ops[i], count_callback, NULL);
		while (done < ALLOC_ROUND) {
			int n = adma_submit(eng, ops + done, ALLOC_ROUND - done, t + done);

			if (n == -EAGAIN) {
				tool_check("adma_barrier", adma_barrier(eng, -1));
				continue;
			}
			tool_check("adma_submit", n);
			done += (unsigned)n;
		}
		tool_check("adma_wait", adma_wait(eng, t[ALLOC_ROUND - 1], -1));
		tool_check("adma_barrier", adma_barrier(eng, -1));
	}
}

static void scenario_alloc(void)
{
	unsigned n = B.o.samples ? B.o.samples : B.o.full ? 5 : 3;
	uint64_t rounds = 100000 / ALLOC_ROUND, expect;
	size_t bytes = 8 * MiB + 4 * MiB;
	double *per_op = B.samples_buf;
	unsigned char *src, *dst;
	struct impl *pool = &impls[I_POOL];

	if (!bench_alloc_counting) {
		add_skipped("adma", "", 0, ALLOC_ROUND, "allocs/op", bench_alloc_skip);
		add_skipped("pool", "", OP_BYTES, ALLOC_ROUND, "allocs/op", bench_alloc_skip);
		return;
	}
	src = xalloc(bytes);
	dst = src ? xalloc(bytes) : NULL;
	if (!dst) {
		free(src);
		add_skipped("adma", "", 0, ALLOC_ROUND, "allocs/op", "out of memory");
		return;
	}
	fill_pattern(src, bytes, 11);
	memset(dst, 0, bytes);
	engine_create(NULL);
	atomic_store(&callbacks_run, 0);
	progress("warm-up");
	alloc_rounds(dst, src, 10000 / ALLOC_ROUND);
	for (unsigned s = 0; s < n; s++) {
		progress("sample %u of %u: %" PRIu64 " ops", s + 1, n, rounds * ALLOC_ROUND);
		bench_alloc_begin();
		alloc_rounds(dst, src, rounds);
		per_op[s] = (double)bench_alloc_end() / (double)(rounds * ALLOC_ROUND);
	}
	engine_destroy();
	expect = (10000 / ALLOC_ROUND + n * rounds) * ALLOC_ROUND;
	if (atomic_load(&callbacks_run) != expect)
		impl_wrong_data(&impls[I_ADMA], "alloc: callbacks lost or failed");
	if (memcmp(dst, src, ALLOC_SMALL_SLOTS * OP_BYTES) != 0 ||
	    memcmp(dst + 64 * KiB, src + 64 * KiB, 64 * KiB) != 0 ||
	    memcmp(dst + 4 * MiB, src + 4 * MiB, 4 * MiB) != 0)
		impl_wrong_data(&impls[I_ADMA], "alloc: copies");
	summarize(add_figure("adma", "", 0, ALLOC_ROUND, "allocs/op"), per_op, n, false);

	/* The same counter on the plain pool, which mallocs once per request: it must read 1. */
	if (impl_in(pool) && impl_start(pool)) {
		void *d[ALLOC_ROUND];
		uint64_t calls;
		int r = 0;

		progress("pool, the counter's check");
		for (unsigned i = 0; i < ALLOC_ROUND; i++)
			d[i] = dst + i * OP_BYTES;
		bench_alloc_begin();
		for (unsigned i = 0; i < 1000 && r == 0; i++)
			r = pool->p->batch(d, src, OP_BYTES, ALLOC_ROUND);
		calls = bench_alloc_end();
		impl_stop(pool);
		if (r < 0) {
			impl_failed(pool, "alloc", r);
		} else {
			struct figure *f =
				add_figure("pool", "", OP_BYTES, ALLOC_ROUND, "allocs/op");

			f->median = f->min = f->max = (double)calls / (1000.0 * ALLOC_ROUND);
			f->samples = 1;
		}
	}
	if (pool->skip && impl_in(pool))
		add_skipped("pool", "", OP_BYTES, ALLOC_ROUND, "allocs/op", pool->skip);
	free(src);
	free(dst);
}

/* ------------------------------------------------------------------------------------------ */
/* stream: 4 KiB copies with callbacks through a large buffer                                  */
/* ------------------------------------------------------------------------------------------ */

#define STREAM_PIECE (4 * KiB)
#define STREAM_BATCH 32

static double stream_memcpy(unsigned char *dst, const unsigned char *src, size_t bytes)
{
	double t0 = now_s();

	for (size_t off = 0; off < bytes; off += STREAM_PIECE) {
		memcpy(dst + off, src + off, STREAM_PIECE);
		clobber();
	}
	return now_s() - t0;
}

/* Submits the stream to `eng`. @blocking: the engine has ADMA_CFG_BLOCK_WHEN_FULL, so a full
 * backlog blocks adma_submit until a quarter of it is free; otherwise the flow window waits
 * for the oldest batch's last ticket whenever the backlog is full (one wake-up per batch). */
static double stream_adma(unsigned char *dst, const unsigned char *src, size_t bytes, bool blocking)
{
	struct adma_op ops[STREAM_BATCH];
	double t0 = now_s();

	for (size_t off = 0; off < bytes;) {
		unsigned k = 0;

		for (; k < STREAM_BATCH && off < bytes; k++, off += STREAM_PIECE) {
			adma_prep_copy(&ops[k], dst + off, src + off, STREAM_PIECE);
			adma_op_set_callback(&ops[k], count_callback, NULL);
		}
		if (blocking) {
			int r = adma_submit(eng, ops, k, NULL);

			tool_check("adma_submit (stream, blocking)", r < 0 ? r : 0);
			if ((unsigned)r != k)
				tool_check("adma_submit (stream, blocking): ops left over", -EIO);
		} else {
			tool_check("adma_submit (stream)", submit_ops(ops, k, true));
		}
	}
	tool_check("adma_barrier (stream)", wait_everything());
	return now_s() - t0;
}

/* One submitter style: its engine, samples and figure names. */
struct stream_way {
	const char *impl, *ratio;
	bool blocking;
	struct adma_engine *e;
	double gbps[MAX_SAMPLES];
};

static double stream_way_run(struct stream_way *w, unsigned char *dst, const unsigned char *src,
			     size_t bytes)
{
	double t;

	eng = w->e;
	t = stream_adma(dst, src, bytes, w->blocking);
	eng = NULL;
	return t;
}

static void scenario_stream(void)
{
	size_t bytes = B.o.quick ? 16 * MiB : 64 * MiB;
	uint64_t pieces = bytes / STREAM_PIECE;
	double m[MAX_SAMPLES];
	unsigned char *src = xalloc(bytes), *dst = src ? xalloc(bytes) : NULL;
	struct stream_way ways[] = {
		{ .impl = "adma", .ratio = "adma/memcpy", .blocking = true },
		{ .impl = "adma-ticket", .ratio = "adma-ticket/memcpy", .blocking = false },
	};
	struct figure *fm;
#define NWAYS (sizeof(ways) / sizeof(ways[0]))

	if (!dst) {
		free(src);
		add_skipped("memcpy", "", STREAM_PIECE, STREAM_BATCH, "GB/s", "out of memory");
		for (unsigned i = 0; i < NWAYS; i++)
			add_skipped(ways[i].impl, "", STREAM_PIECE, STREAM_BATCH, "GB/s",
				    "out of memory");
		return;
	}
	fill_pattern(src, bytes, 13);
	memset(dst, 0, bytes);
	for (unsigned i = 0; i < NWAYS; i++) {
		struct adma_config cfg = B.cfg;

		if (ways[i].blocking)
			cfg.flags |= ADMA_CFG_BLOCK_WHEN_FULL;
		tool_check("adma_engine_create", adma_engine_create(&ways[i].e, &cfg));
	}
	atomic_store(&callbacks_run, 0);
	stream_memcpy(dst, src, bytes);
	for (unsigned i = 0; i < NWAYS; i++)
		stream_way_run(&ways[i], dst, src, bytes);
	/* Alternating samples, so that a drift of the machine affects all alike. */
	for (unsigned s = 0; s < B.samples; s++) {
		progress("%zu MiB as 4 KiB ops, sample %u of %u", bytes / MiB, s + 1, B.samples);
		m[s] = (double)bytes / stream_memcpy(dst, src, bytes) / 1e9;
		for (unsigned i = 0; i < NWAYS; i++)
			ways[i].gbps[s] =
				(double)bytes / stream_way_run(&ways[i], dst, src, bytes) / 1e9;
	}
	for (unsigned i = 0; i < NWAYS; i++) {
		memset(dst, 0, bytes);
		stream_way_run(&ways[i], dst, src, bytes);
		if (memcmp(dst, src, bytes) != 0)
			impl_wrong_data(&impls[I_ADMA], "stream copies");
		tool_check("adma_engine_destroy", adma_engine_destroy(&ways[i].e));
	}
	if (atomic_load(&callbacks_run) != NWAYS * (B.samples + 2) * pieces)
		impl_wrong_data(&impls[I_ADMA], "stream: callbacks lost or failed");
	free(src);
	free(dst);
	fm = add_figure("memcpy", "", STREAM_PIECE, STREAM_BATCH, "GB/s");
	summarize(fm, m, B.samples, false);
	for (unsigned i = 0; i < NWAYS; i++) {
		struct figure *fa =
			add_figure(ways[i].impl, "", STREAM_PIECE, STREAM_BATCH, "GB/s");

		summarize(fa, ways[i].gbps, B.samples, false);
		add_ratio(ways[i].ratio, "", STREAM_PIECE, STREAM_BATCH, fa, fm);
	}
#undef NWAYS
}

/* ------------------------------------------------------------------------------------------ */
/* layout: copies between n-dimensional layouts                                                */
/* ------------------------------------------------------------------------------------------ */

/* The matrices are LAYOUT_SIDE x LAYOUT_SIDE: the sub-block is the centre quarter of one of
 * doubles, the transpose is of one of floats; the 1-D case copies LAYOUT_1D_BYTES. --quick
 * halves the side and quarters the 1-D copy; the targets are defined at the default sizes. */
#define LAYOUT_SIDE_DEFAULT ((size_t)4096)
#define LAYOUT_1D_DEFAULT (64 * MiB)
#define LAYOUT_SIDE (B.o.quick ? LAYOUT_SIDE_DEFAULT / 2 : LAYOUT_SIDE_DEFAULT)
#define LAYOUT_1D_BYTES (B.o.quick ? LAYOUT_1D_DEFAULT / 4 : LAYOUT_1D_DEFAULT)
#define LAYOUT_BLOCK_BYTES_OF(side) ((side) / 2 * ((side) / 2) * sizeof(double))
#define LAYOUT_T_BYTES_OF(side) ((side) * (side) * sizeof(float))
#define LAYOUT_BLOCK_BYTES LAYOUT_BLOCK_BYTES_OF(LAYOUT_SIDE)
#define LAYOUT_T_BYTES LAYOUT_T_BYTES_OF(LAYOUT_SIDE)

/* One case: the buffers, the two layouts adma copies between, and what the implementations
 * on the caller need to do the same by hand. */
struct layout_case {
	const char *variant; /* "sub-block", "transpose", "1-D" */
	unsigned char *src, *dst;
	size_t bytes;	     /* bytes the copy writes */
	size_t rows, cols;   /* the source matrix, in elements */
	size_t row0, col0;   /* sub-block: where it starts */
	size_t brows, bcols; /* sub-block: its extents */
	size_t elem;	     /* element size */
	struct adma_layout ldst, lsrc;
};

struct layout_impl {
	const char *impl;
	void (*run)(struct layout_case *c);	    /* one copy; dies if adma fails */
	bool (*check)(const struct layout_case *c); /* the destination is right */
	bool is_adma;
	uint64_t reps; /* per sample */
	double gbps[MAX_SAMPLES];
};

/* One layout op: submit, then adma_wait on its ticket. */
static void layout_adma(struct layout_case *c)
{
	struct adma_op op;
	uint64_t t;

	adma_prep_copy_layout(&op, &c->ldst, &c->lsrc);
	tool_check("adma_submit (layout copy)", adma_submit(eng, &op, 1, &t));
	tool_check("adma_wait (layout copy)", adma_wait(eng, t, -1));
}

/* The same bytes as one plain copy op: submit, then adma_wait. */
static void layout_adma_copy(struct layout_case *c)
{
	tool_check("adma (plain copy)", adma_copy1(c->dst, c->src, c->bytes));
}

static void layout_memcpy(struct layout_case *c)
{
	memcpy(c->dst, c->src, c->bytes);
	clobber();
}

/* The sub-block as a program would copy it by hand: one memcpy per row. */
static void layout_memcpy_rows(struct layout_case *c)
{
	size_t row = c->bcols * c->elem, pitch = c->cols * c->elem;
	const unsigned char *s = c->src + c->row0 * pitch + c->col0 * c->elem;

	for (size_t i = 0; i < c->brows; i++)
		memcpy(c->dst + i * row, s + i * pitch, row);
	clobber();
}

/* The transpose as a program would write it first: two nested loops, the destination written
 * in order, the source read down its columns. The floats move as their 4-byte patterns. */
static void layout_naive_transpose(struct layout_case *c)
{
	const uint32_t *s = (const uint32_t *)c->src;
	uint32_t *d = (uint32_t *)c->dst;
	size_t rows = c->rows, cols = c->cols;

	for (size_t i = 0; i < cols; i++)
		for (size_t j = 0; j < rows; j++)
			d[i * rows + j] = s[j * cols + i];
	clobber();
}

static bool layout_check_same(const struct layout_case *c)
{
	return memcmp(c->dst, c->src, c->bytes) == 0;
}

static bool layout_check_block(const struct layout_case *c)
{
	size_t row = c->bcols * c->elem, pitch = c->cols * c->elem;
	const unsigned char *s = c->src + c->row0 * pitch + c->col0 * c->elem;

	for (size_t i = 0; i < c->brows; i++)
		if (memcmp(c->dst + i * row, s + i * pitch, row) != 0)
			return false;
	return true;
}

static bool layout_check_transpose(const struct layout_case *c)
{
	const uint32_t *s = (const uint32_t *)c->src, *d = (const uint32_t *)c->dst;

	for (size_t i = 0; i < c->rows; i++)
		for (size_t j = 0; j < c->cols; j++)
			if (d[j * c->rows + i] != s[i * c->cols + j])
				return false;
	return true;
}

static double layout_time(struct layout_case *c, const struct layout_impl *m, uint64_t reps)
{
	double t0 = now_s();

	for (uint64_t i = 0; i < reps; i++)
		m->run(c);
	return now_s() - t0;
}

/*
 * Measures the implementations of one case side by side: each is warmed up and calibrated
 * (the repetitions that make one sample last the target time), then every sample times each of
 * them in turn, so that a drift of the machine affects all alike; the one that goes first
 * rotates from sample to sample, so that none always inherits the caches another left. Then
 * each one's output is checked once, on a cleared destination. Adds a GB/s figure per
 * implementation.
 */
static void layout_measure(struct layout_case *c, struct layout_impl *m, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		double t;

		progress("%s, %s, calibrating", c->variant, m[k].impl);
		m[k].run(c);
		t = layout_time(c, &m[k], 1);
		m[k].reps = t >= B.target_s ? 1 :
					      (uint64_t)(B.target_s / (t > 1e-9 ? t : 1e-9)) + 1;
	}
	for (unsigned s = 0; s < B.samples; s++) {
		progress("%s, sample %u of %u", c->variant, s + 1, B.samples);
		for (unsigned j = 0; j < n; j++) {
			unsigned k = (s + j) % n; /* each goes first in turn */
			double t = layout_time(c, &m[k], m[k].reps);

			m[k].gbps[s] = (double)c->bytes * (double)m[k].reps /
				       (t > 1e-12 ? t : 1e-12) / 1e9;
		}
	}
	for (unsigned k = 0; k < n; k++) {
		char what[64];

		progress("%s, %s, checking the data", c->variant, m[k].impl);
		memset(c->dst, 0, c->bytes);
		m[k].run(c);
		if (m[k].check(c))
			continue;
		snprintf(what, sizeof(what), "layout: %s (%s)", c->variant, m[k].impl);
		if (m[k].is_adma)
			impl_wrong_data(&impls[I_ADMA], what);
		bench_progress_clear();
		fprintf(stderr,
			"%s: bench: the reference copy produced wrong data (a bug in the "
			"tool): %s\n",
			tool_prog, what);
		exit(1);
	}
	for (unsigned k = 0; k < n; k++)
		summarize(add_figure(m[k].impl, c->variant, c->bytes, 1, "GB/s"), m[k].gbps,
			  B.samples, false);
}

/* Allocates the case's buffers, fills the source, clears the destination. */
static bool layout_alloc(struct layout_case *c, size_t src_bytes, uint64_t seed)
{
	c->src = xalloc(src_bytes);
	c->dst = c->src ? xalloc(c->bytes) : NULL;
	if (!c->dst) {
		free(c->src);
		c->src = NULL;
		return false;
	}
	fill_pattern(c->src, src_bytes, seed);
	memset(c->dst, 0, c->bytes);
	return true;
}

static void layout_free(struct layout_case *c)
{
	free(c->src);
	free(c->dst);
}

static void layout_skip_all(const char *variant, size_t bytes, const char *const *names, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		add_skipped(names[k], variant, bytes, 1, "GB/s", "out of memory");
}

/* sub-block: the centre quarter of a row-major matrix of doubles into a dense buffer. */
static void layout_sub_block(void)
{
	static const char *const names[] = { "adma", "memcpy" };
	size_t side = LAYOUT_SIDE;
	struct layout_case c = { .variant = "sub-block",
				 .bytes = LAYOUT_BLOCK_BYTES,
				 .rows = side,
				 .cols = side,
				 .row0 = side / 4,
				 .col0 = side / 4,
				 .brows = side / 2,
				 .bcols = side / 2,
				 .elem = sizeof(double) };
	size_t dims[2] = { side, side }, off[2] = { c.row0, c.col0 },
	       bdims[2] = { c.brows, c.bcols };
	static struct layout_impl m[2] = {
		{ .impl = "adma", .run = layout_adma, .check = layout_check_block, .is_adma = true },
		{ .impl = "memcpy",
		  .run = layout_memcpy_rows,
		  .check = layout_check_block,
		  .is_adma = false },
	};
	struct adma_layout whole;

	if (!layout_alloc(&c, side * side * sizeof(double), 21)) {
		layout_skip_all(c.variant, c.bytes, names, 2);
		return;
	}
	tool_check("adma_layout_dense",
		   adma_layout_dense(&whole, c.src, sizeof(double), 2, dims, ADMA_ROW_MAJOR));
	tool_check("adma_layout_slice", adma_layout_slice(&c.lsrc, &whole, off, bdims));
	tool_check("adma_layout_dense",
		   adma_layout_dense(&c.ldst, c.dst, sizeof(double), 2, bdims, ADMA_ROW_MAJOR));
	layout_measure(&c, m, 2);
	layout_free(&c);
	add_ratio("adma/memcpy", c.variant, c.bytes, 1,
		  find_figure(BENCH_LAYOUT, "adma", c.variant, c.bytes, 1),
		  find_figure(BENCH_LAYOUT, "memcpy", c.variant, c.bytes, 1));
}

/* transpose: a square row-major matrix of floats, through its transposed view, into a dense
 * destination; memcpy of the same bytes and the naive loop as references. */
static void layout_transpose(void)
{
	static const char *const names[] = { "adma", "memcpy", "naive" };
	static const unsigned perm[2] = { 1, 0 };
	size_t side = LAYOUT_SIDE;
	struct layout_case c = { .variant = "transpose",
				 .bytes = LAYOUT_T_BYTES,
				 .rows = side,
				 .cols = side,
				 .elem = sizeof(float) };
	size_t dims[2] = { side, side }, tdims[2] = { side, side };
	static struct layout_impl m[3] = {
		{ .impl = "adma",
		  .run = layout_adma,
		  .check = layout_check_transpose,
		  .is_adma = true },
		{ .impl = "memcpy",
		  .run = layout_memcpy,
		  .check = layout_check_same,
		  .is_adma = false },
		{ .impl = "naive",
		  .run = layout_naive_transpose,
		  .check = layout_check_transpose,
		  .is_adma = false },
	};
	struct adma_layout whole;

	if (!layout_alloc(&c, c.bytes, 22)) {
		layout_skip_all(c.variant, c.bytes, names, 3);
		return;
	}
	tool_check("adma_layout_dense",
		   adma_layout_dense(&whole, c.src, sizeof(float), 2, dims, ADMA_ROW_MAJOR));
	tool_check("adma_layout_transpose", adma_layout_transpose(&c.lsrc, &whole, perm));
	tool_check("adma_layout_dense",
		   adma_layout_dense(&c.ldst, c.dst, sizeof(float), 2, tdims, ADMA_ROW_MAJOR));
	layout_measure(&c, m, 3);
	layout_free(&c);
	add_ratio("adma/memcpy", c.variant, c.bytes, 1,
		  find_figure(BENCH_LAYOUT, "adma", c.variant, c.bytes, 1),
		  find_figure(BENCH_LAYOUT, "memcpy", c.variant, c.bytes, 1));
	add_ratio("adma/naive", c.variant, c.bytes, 1,
		  find_figure(BENCH_LAYOUT, "adma", c.variant, c.bytes, 1),
		  find_figure(BENCH_LAYOUT, "naive", c.variant, c.bytes, 1));
}

/* 1-D: a dense 1-D layout of 8-byte elements, against a plain copy op of the same bytes. */
static void layout_1d(void)
{
	static const char *const names[] = { "adma", "adma-copy", "memcpy" };
	struct layout_case c = { .variant = "1-D", .bytes = LAYOUT_1D_BYTES, .elem = 8 };
	size_t dims[1] = { c.bytes / 8 };
	static struct layout_impl m[3] = {
		{ .impl = "adma", .run = layout_adma, .check = layout_check_same, .is_adma = true },
		{ .impl = "adma-copy",
		  .run = layout_adma_copy,
		  .check = layout_check_same,
		  .is_adma = true },
		{ .impl = "memcpy",
		  .run = layout_memcpy,
		  .check = layout_check_same,
		  .is_adma = false },
	};

	if (!layout_alloc(&c, c.bytes, 23)) {
		layout_skip_all(c.variant, c.bytes, names, 3);
		return;
	}
	tool_check("adma_layout_dense",
		   adma_layout_dense(&c.lsrc, c.src, 8, 1, dims, ADMA_ROW_MAJOR));
	tool_check("adma_layout_dense",
		   adma_layout_dense(&c.ldst, c.dst, 8, 1, dims, ADMA_ROW_MAJOR));
	layout_measure(&c, m, 3);
	layout_free(&c);
	add_ratio("adma/adma-copy", c.variant, c.bytes, 1,
		  find_figure(BENCH_LAYOUT, "adma", c.variant, c.bytes, 1),
		  find_figure(BENCH_LAYOUT, "adma-copy", c.variant, c.bytes, 1));
	add_ratio("adma/memcpy", c.variant, c.bytes, 1,
		  find_figure(BENCH_LAYOUT, "adma", c.variant, c.bytes, 1),
		  find_figure(BENCH_LAYOUT, "memcpy", c.variant, c.bytes, 1));
}

static void scenario_layout(void)
{
	engine_create(NULL);
	layout_sub_block();
	layout_transpose();
	layout_1d();
	engine_destroy();
}

/* ------------------------------------------------------------------------------------------ */
/* Targets                                                                                     */
/* ------------------------------------------------------------------------------------------ */

struct target {
	const char *name;
	const char *goal;
	const struct figure *f;
	double value;
	bool met, stretch, has_stretch;
	const char *unit; /* how the figure prints: "x", " M ops/s", ... */
	int decimals;
};

#define NTARGETS 10
static struct target targets[NTARGETS];

static void eval_targets(void)
{
	const struct figure *f;
	struct target *t = targets;

	f = find_figure(BENCH_BULK, "adma/memcpy", "", 256 * MiB, 0);
	*t++ = (struct target){ "bulk copy of 256 MiB, adma (submit + wait) vs memcpy",
				">= 1.5x (stretch 2x)",
				f,
				.unit = "x",
				.decimals = 2,
				.has_stretch = true };
	if (f) {
		t[-1].met = f->median >= 1.5;
		t[-1].stretch = f->median >= 2.0;
	}
	f = find_figure(BENCH_RATE, "adma", "batch", OP_BYTES, 32);
	*t++ = (struct target){ "64-byte copies in batches of 32, adma", ">= 40 M ops/s", f,
				.unit = " M ops/s", .decimals = 1 };
	if (f)
		t[-1].met = f->median >= 40;
	f = find_figure(BENCH_LATENCY, "adma", "warm", OP_BYTES, 1);
	*t++ = (struct target){ "one 64-byte op, submit until adma_wait returns, median", "<= 1 us",
				f, .unit = " us", .decimals = 2 };
	if (f)
		t[-1].met = f->median <= 1.0;
	f = find_figure(BENCH_OVERLAP, "adma", "", B.o.quick ? 64 * MiB : 256 * MiB, 1);
	*t++ = (struct target){ "overlap: max(copy, compute alone) / both together", ">= 0.8", f,
				.unit = "", .decimals = 2 };
	if (f)
		t[-1].met = f->median >= 0.8;
	f = find_figure(BENCH_IDLE, "adma", "", 0, 0);
	*t++ = (struct target){ "CPU time of an idle engine over 500 ms", "<= 5 ms", f,
				.unit = " ms", .decimals = 2 };
	if (f)
		t[-1].met = f->median <= 5.0;
	f = find_figure(BENCH_ALLOC, "adma", "", 0, ALLOC_ROUND);
	*t++ = (struct target){ "heap allocations per op, steady state", "0", f, .unit = "",
				.decimals = 3 };
	if (f)
		t[-1].met = f->max == 0;
	f = find_figure(BENCH_STREAM, "adma/memcpy", "", STREAM_PIECE, STREAM_BATCH);
	*t++ = (struct target){ "stream of 4 KiB copies with callbacks vs memcpy", ">= 0.9x", f,
				.unit = "x", .decimals = 2 };
	if (f)
		t[-1].met = f->median >= 0.9;
	/* The layout targets hold at the default sizes only: --quick leaves them not measured. */
	f = find_figure(BENCH_LAYOUT, "adma/memcpy", "sub-block",
			LAYOUT_BLOCK_BYTES_OF(LAYOUT_SIDE_DEFAULT), 1);
	*t++ = (struct target){ "layout: 2048x2048 sub-block of doubles vs memcpy by rows",
				">= 0.9x", f, .unit = "x", .decimals = 2 };
	if (f)
		t[-1].met = f->median >= 0.9;
	f = find_figure(BENCH_LAYOUT, "adma/memcpy", "transpose",
			LAYOUT_T_BYTES_OF(LAYOUT_SIDE_DEFAULT), 1);
	*t++ = (struct target){ "layout: transpose of 4096x4096 floats vs memcpy", ">= 0.4x", f,
				.unit = "x", .decimals = 2 };
	if (f)
		t[-1].met = f->median >= 0.4;
	f = find_figure(BENCH_LAYOUT, "adma/adma-copy", "1-D", LAYOUT_1D_DEFAULT, 1);
	*t++ = (struct target){ "1-D layout vs plain adma copy (at plain copy speed)", ">= 0.95x",
				f, .unit = "x", .decimals = 2 };
	if (f)
		t[-1].met = f->median >= 0.95;
	for (unsigned i = 0; i < NTARGETS; i++) {
		if (targets[i].f && targets[i].f->skip)
			targets[i].f = NULL;
		if (targets[i].f)
			targets[i].value = targets[i].f->median;
	}
}

static const char *target_verdict(const struct target *t)
{
	if (!t->f)
		return "not measured";
	if (t->has_stretch && t->stretch)
		return "met (stretch too)";
	return t->met ? "met" : "not met";
}

/* ------------------------------------------------------------------------------------------ */
/* Output                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* Three significant digits, whatever the magnitude. */
static const char *num(double v, char *buf, size_t len)
{
	double a = v < 0 ? -v : v;

	if (a >= 100 || a == 0)
		snprintf(buf, len, "%.0f", v);
	else if (a >= 10)
		snprintf(buf, len, "%.1f", v);
	else if (a >= 1)
		snprintf(buf, len, "%.2f", v);
	else if (a >= 0.01)
		snprintf(buf, len, "%.3f", v);
	else
		snprintf(buf, len, "%.4f", v);
	return buf;
}

/* "median (min..max)", or "skipped" */
static const char *cell(const struct figure *f, char *buf, size_t len)
{
	char a[32], b[32], c[32];

	if (!f)
		snprintf(buf, len, "-");
	else if (f->skip)
		snprintf(buf, len, "skipped");
	else
		snprintf(buf, len, "%s (%s..%s)", num(f->median, a, sizeof(a)),
			 num(f->min, b, sizeof(b)), num(f->max, c, sizeof(c)));
	return buf;
}

static bool any_measured(unsigned sc, const char *impl, const char *variant)
{
	for (unsigned i = 0; i < B.nfigs; i++) {
		const struct figure *f = &B.figs[i];

		if (f->scenario == sc && !f->skip && !strcmp(f->impl, impl) &&
		    (!variant || !strcmp(f->variant, variant)))
			return true;
	}
	return false;
}

static bool scenario_ran(unsigned sc)
{
	for (unsigned i = 0; i < B.nfigs; i++)
		if (B.figs[i].scenario == sc)
			return true;
	return false;
}

/* Lists the implementations that took part in @sc only as skipped, with their reasons. */
static void print_skips(unsigned sc)
{
	for (unsigned i = 0; i < B.nfigs; i++) {
		const struct figure *f = &B.figs[i];
		bool first = true;

		if (f->scenario != sc || !f->skip)
			continue;
		for (unsigned j = 0; j < i; j++)
			if (B.figs[j].scenario == sc && B.figs[j].skip &&
			    !strcmp(B.figs[j].impl, f->impl) && !strcmp(B.figs[j].skip, f->skip))
				first = false;
		if (first)
			printf("  %s: skipped: %s\n", f->impl, f->skip);
	}
}

static void print_machine_line(void)
{
	char model[256], l1[32], l2[32], l3[32];
	long c1 = tool_cache_size(1), c2 = tool_cache_size(2), c3 = tool_cache_size(3);

	tool_cpu_model(model, sizeof(model));
	printf("machine: %s, %ld CPUs online (%ld usable); L1d %s, L2 %s, L3 %s\n", model,
	       sysconf(_SC_NPROCESSORS_ONLN), tool_usable_cpus(),
	       c1 ? tool_size_name((size_t)c1, l1, sizeof(l1)) : "?",
	       c2 ? tool_size_name((size_t)c2, l2, sizeof(l2)) : "?",
	       c3 ? tool_size_name((size_t)c3, l3, sizeof(l3)) : "?");
}

static void print_table_bulk(void)
{
	static const size_t sizes[] = { 4 * KiB, 64 * KiB, MiB, 16 * MiB, 256 * MiB, GiB };
	bool col[NIMPLS];
	char sz[32], buf[64];

	printf("\nbulk copy: GB/s, median (min..max) of %u samples; one copy then wait (below 2 "
	       "MiB: a batch\nof copies to up to %d distinct destinations, then wait); a fresh "
	       "pre-faulted destination each\n",
	       B.samples, MAX_SLOTS);
	printf("%8s", "size");
	for (unsigned k = 0; k < NIMPLS; k++) {
		col[k] = any_measured(BENCH_BULK, impls[k].p->name, NULL);
		if (col[k])
			printf("  %-20s", impls[k].p->name);
	}
	printf("  %-11s  %s\n", "adma/memcpy", col[I_CEIL] ? "adma/ceiling" : "");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		const struct figure *r = find_figure(BENCH_BULK, "adma/memcpy", "", sizes[i], 0);
		const struct figure *rc = find_figure(BENCH_BULK, "adma/ceiling", "", sizes[i], 0);
		bool any = false;

		for (unsigned k = 0; k < NIMPLS; k++)
			any |= find_figure(BENCH_BULK, impls[k].p->name, "", sizes[i], 0) != NULL;
		if (!any)
			continue;
		printf("%8s", tool_size_name(sizes[i], sz, sizeof(sz)));
		for (unsigned k = 0; k < NIMPLS; k++)
			if (col[k])
				printf("  %-20s", cell(find_figure(BENCH_BULK, impls[k].p->name, "",
								   sizes[i], 0),
						       buf, sizeof(buf)));
		printf("  %-11s", r ? num(r->median, buf, sizeof(buf)) : "-");
		printf("  %s\n", rc ? num(rc->median, buf, sizeof(buf)) : col[I_CEIL] ? "-" : "");
	}
	print_skips(BENCH_BULK);
}

static void print_table_rate(void)
{
	const char *variants[] = { "batch", "stream" };
	char buf[64], name[64];

	printf("\n%d-byte copies: M ops/s, median (min..max) of %u samples. batch: submit a batch, "
	       "wait for it\n(adma: tickets NULL, then adma_barrier); stream: batches back to back "
	       "to a ring of %d\ndestinations, one wait when the ring wraps (adma: a ticket window "
	       "when the backlog is full)\n",
	       OP_BYTES, B.samples, RATE_RING);
	printf("%-15s", "");
	for (size_t b = 0; b < NBATCHES; b++) {
		snprintf(name, sizeof(name), "batch %u", rate_batches[b]);
		printf("  %-22s", name);
	}
	putchar('\n');
	for (unsigned k = 0; k < NIMPLS; k++) {
		for (unsigned v = 0; v < 2; v++) {
			if (!any_measured(BENCH_RATE, impls[k].p->name, variants[v]))
				continue;
			snprintf(name, sizeof(name), "%s, %s", impls[k].p->name, variants[v]);
			printf("%-15s", name);
			for (size_t b = 0; b < NBATCHES; b++)
				printf("  %-22s",
				       cell(find_figure(BENCH_RATE, impls[k].p->name, variants[v],
							OP_BYTES, rate_batches[b]),
					    buf, sizeof(buf)));
			putchar('\n');
		}
	}
	print_skips(BENCH_RATE);
}

static void print_table_latency(void)
{
	const char *variants[] = { "warm", "idle" };
	char a[32], b[32], c[32], d[32];

	printf("\nlatency of one %d-byte copy, us: from the call until the copy is complete "
	       "(adma: submit\nuntil adma_wait returns); back to back (warm), and each after a "
	       "1 ms sleep (after idle)\n",
	       OP_BYTES);
	printf("%-10s  %-34s  %-34s\n", "", "warm: median, p99 (min..max)",
	       "after idle: median, p99 (min..max)");
	for (unsigned k = 0; k < NIMPLS; k++) {
		const struct figure *w =
			find_figure(BENCH_LATENCY, impls[k].p->name, "warm", OP_BYTES, 1);

		if (!w || w->skip)
			continue;
		printf("%-10s", impls[k].p->name);
		for (unsigned v = 0; v < 2; v++) {
			const struct figure *f = find_figure(BENCH_LATENCY, impls[k].p->name,
							     variants[v], OP_BYTES, 1);
			char cellbuf[96];

			if (f && !f->skip)
				snprintf(cellbuf, sizeof(cellbuf), "%s, p99 %s (%s..%s)",
					 num(f->median, a, sizeof(a)), num(f->p99, b, sizeof(b)),
					 num(f->min, c, sizeof(c)), num(f->max, d, sizeof(d)));
			else
				snprintf(cellbuf, sizeof(cellbuf), "-");
			printf("  %-34s", cellbuf);
		}
		putchar('\n');
	}
	for (unsigned k = 0; k < NIMPLS; k++) {
		const struct figure *w =
			find_figure(BENCH_LATENCY, impls[k].p->name, "warm", OP_BYTES, 1);
		const struct figure *i =
			find_figure(BENCH_LATENCY, impls[k].p->name, "idle", OP_BYTES, 1);

		if (measured(w) && measured(i)) {
			printf("(%u trials warm, %u after idle, each)\n", w->samples, i->samples);
			break;
		}
	}
	print_skips(BENCH_LATENCY);
}

/* One case of the layout table: a line per implementation, then its ratios on one line. */
static void print_layout_case(const char *variant, size_t bytes, const char *const *impl,
			      const char *const *label, unsigned n, const char *const *ratio,
			      unsigned nr)
{
	char buf[64];

	for (unsigned k = 0; k < n; k++)
		printf("    %-20s %s\n", label[k],
		       cell(find_figure(BENCH_LAYOUT, impl[k], variant, bytes, 1), buf,
			    sizeof(buf)));
	printf("    %-20s", "ratios");
	for (unsigned k = 0; k < nr; k++) {
		const struct figure *f = find_figure(BENCH_LAYOUT, ratio[k], variant, bytes, 1);

		printf("%s %s %s", k ? "," : "", ratio[k],
		       f ? num(f->median, buf, sizeof(buf)) : "-");
	}
	putchar('\n');
}

static void print_table_layout(void)
{
	static const char *const sb_impl[] = { "adma", "memcpy" };
	static const char *const sb_label[] = { "adma", "memcpy by rows" };
	static const char *const sb_ratio[] = { "adma/memcpy" };
	static const char *const t_impl[] = { "adma", "memcpy", "naive" };
	static const char *const t_label[] = { "adma", "memcpy of the bytes", "naive loop" };
	static const char *const t_ratio[] = { "adma/memcpy", "adma/naive" };
	static const char *const d_impl[] = { "adma", "adma-copy", "memcpy" };
	static const char *const d_label[] = { "adma layout", "adma copy op", "memcpy" };
	static const char *const d_ratio[] = { "adma/adma-copy", "adma/memcpy" };
	size_t side = LAYOUT_SIDE;
	char sz[32];

	printf("\nlayout: copies between layouts; adma: one layout op on a default engine, submit + "
	       "adma_wait;\nGB/s of elements copied, median (min..max) of %u samples, the "
	       "implementations alternating\n",
	       B.samples);
	printf("  sub-block: %zux%zu doubles at (%zu, %zu) of a %zux%zu row-major matrix (%s)\n",
	       side / 2, side / 2, side / 4, side / 4, side, side,
	       tool_size_name(LAYOUT_BLOCK_BYTES, sz, sizeof(sz)));
	print_layout_case("sub-block", LAYOUT_BLOCK_BYTES, sb_impl, sb_label, 2, sb_ratio, 1);
	printf("  transpose: the transposed view of %zux%zu floats (%s)\n", side, side,
	       tool_size_name(LAYOUT_T_BYTES, sz, sizeof(sz)));
	print_layout_case("transpose", LAYOUT_T_BYTES, t_impl, t_label, 3, t_ratio, 2);
	printf("  1-D: a dense 1-D layout of %s in 8-byte elements, against a plain copy op\n",
	       tool_size_name(LAYOUT_1D_BYTES, sz, sizeof(sz)));
	print_layout_case("1-D", LAYOUT_1D_BYTES, d_impl, d_label, 3, d_ratio, 2);
	print_skips(BENCH_LAYOUT);
}

/* The bulk target against what the memory allowed in this run: adma cannot beat the ceiling,
 * so its ratio to memcpy cannot exceed ceiling/memcpy. */
static void print_bulk_bound(void)
{
	const struct figure *c = find_figure(BENCH_BULK, "ceiling", "", 256 * MiB, 0);
	const struct figure *cm = find_figure(BENCH_BULK, "ceiling/memcpy", "", 256 * MiB, 0);
	const struct figure *ac = find_figure(BENCH_BULK, "adma/ceiling", "", 256 * MiB, 0);
	char b1[32], b2[32], b3[32];

	if (!measured(c) || !measured(cm) || !measured(ac))
		return;
	printf("    (the memory allowed at most %sx memcpy in this run: the ceiling, %u plain "
	       "threads with\n    non-temporal stores, copied %s GB/s; adma reached %s of the "
	       "ceiling)\n",
	       num(cm->median, b1, sizeof(b1)), bench_peer_ceiling.threads(),
	       num(c->median, b2, sizeof(b2)), num(ac->median, b3, sizeof(b3)));
}

static void print_table(void)
{
	char buf[64], b2[64], b3[64], b4[64];
	struct utsname u;
	const struct figure *f;

	printf("adma %s bench, %s mode, %u samples per figure\n", adma_version_string(),
	       mode_name(), B.samples);
	print_machine_line();
	if (uname(&u) == 0)
		printf("system:  %s %s %s\n", u.sysname, u.release, u.machine);
	printf("default engine: %" PRIu64 " workers, backlog %" PRIu64 "\n", B.dflt.workers,
	       B.dflt.backlog);
	/* Other programs running at the same time skew the figures; say so. */
	if (B.load_start >= 0.5)
		printf("note: the machine was busy when the run started (load average %.2f): "
		       "figures may be noisy\n",
		       B.load_start);
	printf("implementations:\n");
	for (unsigned k = 0; k < NIMPLS; k++) {
		const struct impl *im = &impls[k];

		if (im->tried && !im->skip)
			printf("  %-8s %s; %u thread%s\n", im->p->name, im->p->what,
			       im->p->threads(), im->p->threads() == 1 ? "" : "s");
		else if (im->skip)
			printf("  %-8s skipped: %s\n", im->p->name, im->skip);
	}

	if (scenario_ran(BENCH_BULK))
		print_table_bulk();
	if (scenario_ran(BENCH_RATE))
		print_table_rate();
	if (scenario_ran(BENCH_LATENCY))
		print_table_latency();
	if (scenario_ran(BENCH_OVERLAP)) {
		size_t bytes = B.o.quick ? 64 * MiB : 256 * MiB;

		printf("\noverlap: an engine with 1 worker copies %zu MiB while the caller runs a "
		       "compute loop\ncalibrated to take as long; median (min..max) of %u "
		       "samples\n",
		       bytes / MiB, B.samples);
		f = find_figure(BENCH_OVERLAP, "adma", "copy alone", bytes, 1);
		if (f)
			printf("  copy alone %s ms, compute alone %s ms, both together %s ms\n",
			       cell(f, buf, sizeof(buf)),
			       cell(find_figure(BENCH_OVERLAP, "compute", "compute alone", bytes,
						1),
				    b2, sizeof(b2)),
			       cell(find_figure(BENCH_OVERLAP, "adma", "both", bytes, 1), b3,
				    sizeof(b3)));
		f = find_figure(BENCH_OVERLAP, "adma", "", bytes, 1);
		printf("  max(copy alone, compute alone) / both together: %s\n",
		       cell(f, b4, sizeof(b4)));
		print_skips(BENCH_OVERLAP);
	}
	if (scenario_ran(BENCH_IDLE)) {
		f = find_figure(BENCH_IDLE, "adma", "", 0, 0);
		printf("\nidle: process CPU time while the caller sleeps 500 ms, a default engine "
		       "idle after some work:\n  %s ms, median (min..max) of %u samples\n",
		       cell(f, buf, sizeof(buf)), f ? f->samples : 0);
		print_skips(BENCH_IDLE);
	}
	if (scenario_ran(BENCH_ALLOC)) {
		f = find_figure(BENCH_ALLOC, "adma", "", 0, ALLOC_ROUND);
		printf("\nalloc: heap allocations (malloc, calloc, realloc, aligned_alloc, ...) "
		       "per op, any thread,\nover 100000 ops in rounds of %d with callbacks and "
		       "tickets, after a warm-up\n",
		       ALLOC_ROUND);
		if (f && !f->skip)
			printf("  adma  %.3f (%.3f..%.3f) over %u samples\n", f->median, f->min,
			       f->max, f->samples);
		f = find_figure(BENCH_ALLOC, "pool", "", OP_BYTES, ALLOC_ROUND);
		if (f && !f->skip)
			printf("  pool  %.3f (the counter's check: one malloc per request)\n",
			       f->median);
		print_skips(BENCH_ALLOC);
	}
	if (scenario_ran(BENCH_STREAM)) {
		f = find_figure(BENCH_STREAM, "adma/memcpy", "", STREAM_PIECE, STREAM_BATCH);
		printf("\nstream: %zu MiB copied as 4 KiB pieces; adma: ops with a callback each, "
		       "batches of %d,\none barrier at the end; GB/s, median (min..max) of %u "
		       "samples\n",
		       (B.o.quick ? 16 * MiB : 64 * MiB) / MiB, STREAM_BATCH, B.samples);
		printf("  memcpy %s\n",
		       cell(find_figure(BENCH_STREAM, "memcpy", "", STREAM_PIECE, STREAM_BATCH),
			    buf, sizeof(buf)));
		printf("  adma        %s, adma/memcpy %s   (BLOCK_WHEN_FULL: a full backlog blocks "
		       "the submit)\n",
		       cell(find_figure(BENCH_STREAM, "adma", "", STREAM_PIECE, STREAM_BATCH), b2,
			    sizeof(b2)),
		       f ? num(f->median, b3, sizeof(b3)) : "-");
		f = find_figure(BENCH_STREAM, "adma-ticket/memcpy", "", STREAM_PIECE, STREAM_BATCH);
		printf("  adma-ticket %s, adma-ticket/memcpy %s   (default engine: -EAGAIN, then "
		       "adma_wait on the oldest batch)\n",
		       cell(find_figure(BENCH_STREAM, "adma-ticket", "", STREAM_PIECE,
					STREAM_BATCH),
			    b2, sizeof(b2)),
		       f ? num(f->median, b3, sizeof(b3)) : "-");
		print_skips(BENCH_STREAM);
	}
	if (scenario_ran(BENCH_LAYOUT))
		print_table_layout();

	printf("\ntargets (figures measured above, in this run)\n");
	printf("  %-56s %12s  %-21s %s\n", "", "figure", "goal", "");
	for (unsigned i = 0; i < NTARGETS; i++) {
		const struct target *t = &targets[i];
		char v[48];

		if (t->f)
			snprintf(v, sizeof(v), "%.*f%s", t->decimals, t->value, t->unit);
		else
			snprintf(v, sizeof(v), "-");
		printf("  %-56s %12s  %-21s %s\n", t->name, v, t->goal, target_verdict(t));
		if (i == 0)
			print_bulk_bound();
	}
}

static void json_string(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void json_number(double v)
{
	printf("%.6g", v);
}

static void json_size(const char *key, size_t v, bool last)
{
	printf("\"%s\": ", key);
	if (v == ADMA_OFF)
		printf("\"off\"");
	else
		printf("%zu", v);
	printf(last ? "" : ", ");
}

/* One figure per line, so that line tools (bench/plot.sh uses awk) can read the file. */
static void json_figure(const struct figure *f)
{
	printf("{\"scenario\": \"%s\", \"impl\": ", bench_scenario_name(f->scenario));
	json_string(f->impl);
	printf(", \"variant\": ");
	json_string(f->variant);
	printf(", \"bytes\": %zu, \"batch\": %u, \"unit\": ", f->bytes, f->batch);
	json_string(f->unit);
	if (f->skip) {
		printf(", \"skipped\": ");
		json_string(f->skip);
	} else {
		printf(", \"median\": ");
		json_number(f->median);
		printf(", \"min\": ");
		json_number(f->min);
		printf(", \"max\": ");
		json_number(f->max);
		if (f->has_p99) {
			printf(", \"p99\": ");
			json_number(f->p99);
		}
		printf(", \"samples\": %u", f->samples);
	}
	putchar('}');
}

static void print_json(double elapsed)
{
	char model[256], feats[256];
	struct utsname u;
	bool have_u = uname(&u) == 0;
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);

	tool_cpu_model(model, sizeof(model));
	tool_cpu_features(feats, sizeof(feats));
	printf("{\n  \"tool\": \"adma bench\",\n  \"version\": ");
	json_string(adma_version_string());
	printf(",\n  \"mode\": \"%s\",\n  \"samples\": %u,\n  \"elapsed_s\": %.1f,\n", mode_name(),
	       B.samples, elapsed);
	printf("  \"machine\": {\"cpu\": ");
	json_string(model);
	printf(", \"cpus_online\": %ld, \"cpus_usable\": %ld, \"l1d_bytes\": %ld, "
	       "\"l2_bytes\": %ld, \"l3_bytes\": %ld, \"memory_bytes\": %lld, \"features\": ",
	       sysconf(_SC_NPROCESSORS_ONLN), tool_usable_cpus(), tool_cache_size(1),
	       tool_cache_size(2), tool_cache_size(3),
	       pages > 0 && page > 0 ? (long long)pages * page : -1LL);
	json_string(feats);
	printf(", \"load_average_at_start\": %.2f, \"system\": ", B.load_start);
	json_string(have_u ? u.sysname : "");
	printf(", \"release\": ");
	json_string(have_u ? u.release : "");
	printf(", \"arch\": ");
	json_string(have_u ? u.machine : "");
	printf("},\n  \"config\": {\"workers\": %" PRIu64 ", \"backlog\": %" PRIu64 ", ",
	       B.dflt.workers, B.dflt.backlog);
	printf("\"backend\": %u, \"flags\": %u, ", B.cfg.backend, B.cfg.flags);
	json_size("nt_threshold", B.cfg.nt_threshold, false);
	json_size("split_size", B.cfg.split_size, false);
	json_size("inline_max", B.cfg.inline_max, false);
	json_size("spin_ns", B.cfg.spin_ns, true);
	printf("},\n  \"implementations\": [");
	for (unsigned k = 0; k < NIMPLS; k++) {
		const struct impl *im = &impls[k];

		printf("%s\n    {\"name\": ", k ? "," : "");
		json_string(im->p->name);
		printf(", \"what\": ");
		json_string(im->p->what);
		if (im->skip) {
			printf(", \"available\": false, \"skipped\": ");
			json_string(im->skip);
		} else {
			printf(", \"available\": true");
			if (im->tried)
				printf(", \"threads\": %u", im->p->threads());
		}
		putchar('}');
	}
	printf("\n  ],\n  \"figures\": [");
	for (unsigned i = 0; i < B.nfigs; i++) {
		printf("%s\n    ", i ? "," : "");
		json_figure(&B.figs[i]);
	}
	printf("\n  ],\n  \"targets\": [");
	for (unsigned i = 0; i < NTARGETS; i++) {
		const struct target *t = &targets[i];

		printf("%s\n    {\"name\": ", i ? "," : "");
		json_string(t->name);
		printf(", \"goal\": ");
		json_string(t->goal);
		if (t->f) {
			printf(", \"figure\": ");
			json_number(t->value);
			printf(", \"met\": %s", t->met ? "true" : "false");
			if (t->has_stretch)
				printf(", \"stretch_met\": %s", t->stretch ? "true" : "false");
		} else {
			printf(", \"figure\": null, \"met\": null");
		}
		putchar('}');
	}
	printf("\n  ]\n}\n");
}

static void csv_text(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static void print_csv(void)
{
	printf("scenario,impl,variant,bytes,batch,unit,median,min,max,p99,samples,skipped\n");
	for (unsigned i = 0; i < B.nfigs; i++) {
		const struct figure *f = &B.figs[i];

		printf("%s,%s,%s,%zu,%u,%s,", bench_scenario_name(f->scenario), f->impl, f->variant,
		       f->bytes, f->batch, f->unit);
		if (f->skip) {
			printf(",,,,,");
			csv_text(f->skip);
		} else {
			printf("%.6g,%.6g,%.6g,", f->median, f->min, f->max);
			if (f->has_p99)
				printf("%.6g", f->p99);
			printf(",%u,", f->samples);
		}
		putchar('\n');
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Entry                                                                                       */
/* ------------------------------------------------------------------------------------------ */

#define BENCH_NAME(id, name, what) name,
#define BENCH_WHAT(id, name, what) what,
static const char *const scenario_names[] = { BENCH_SCENARIOS(BENCH_NAME) };
static const char *const scenario_whats[] = { BENCH_SCENARIOS(BENCH_WHAT) };

int bench_scenario_by_name(const char *name, size_t len)
{
	for (unsigned i = 0; i < BENCH_NSCENARIOS; i++)
		if (strlen(scenario_names[i]) == len && !strncmp(scenario_names[i], name, len))
			return (int)i;
	return -1;
}

const char *bench_scenario_name(unsigned id)
{
	return id < BENCH_NSCENARIOS ? scenario_names[id] : "?";
}

const char *bench_scenario_what(unsigned id)
{
	return id < BENCH_NSCENARIOS ? scenario_whats[id] : "?";
}

int bench_run(const struct bench_opts *opts)
{
	static void (*const run[BENCH_NSCENARIOS])(void) = {
		[BENCH_BULK] = scenario_bulk,	    [BENCH_RATE] = scenario_rate,
		[BENCH_LATENCY] = scenario_latency, [BENCH_OVERLAP] = scenario_overlap,
		[BENCH_IDLE] = scenario_idle,	    [BENCH_ALLOC] = scenario_alloc,
		[BENCH_STREAM] = scenario_stream,   [BENCH_LAYOUT] = scenario_layout,
	};
	unsigned only;
	double elapsed;

	B.o = *opts;
	B.samples = opts->samples ? opts->samples : opts->quick ? 3 : opts->full ? 7 : 5;
	if (B.samples > MAX_SAMPLES)
		B.samples = MAX_SAMPLES;
	B.target_s = opts->quick ? 0.01 : opts->full ? 0.1 : 0.03;
	B.t_start = now_s();
	only = opts->only ? opts->only : (1u << BENCH_NSCENARIOS) - 1;
	for (unsigned i = 0; i < BENCH_NSCENARIOS; i++)
		B.nscenarios += !!(only & BENCH_BIT(i));

	if (getloadavg(&B.load_start, 1) != 1)
		B.load_start = -1;
	watchdog_arm();
	snprintf(step_label, sizeof(step_label), "starting");
	adma_config_init(&B.cfg);
	engine_create(NULL);
	tool_check("adma_stats", adma_stats(eng, &B.dflt));
	engine_destroy();

	impl_ready(&impls[I_MEMCPY]);
	impl_ready(&impls[I_ADMA]);
	for (unsigned i = 0; i < BENCH_NSCENARIOS; i++) {
		if (!(only & BENCH_BIT(i)))
			continue;
		B.scenario = i;
		B.scenario_index++;
		run[i]();
	}
	/* Peers that took part in no scenario run are listed but were never started. */
	impls_fini();
	alarm(0);
	bench_progress_clear();
	elapsed = now_s() - B.t_start;
	eval_targets();

	if (opts->format == BENCH_CSV)
		print_csv();
	else if (opts->format == BENCH_JSON)
		print_json(elapsed);
	else
		print_table();
	if (opts->format == BENCH_TABLE)
		printf("\n(%.1f s)\n", elapsed);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
