/* SPDX-License-Identifier: MIT */
/*
 * adma: the command-line tool.
 *
 *   adma info                               library, backends, default engine, CPU
 *   adma bench [--quick|--full] [--csv|--json]
 *                                           adma against glibc memcpy on the calling thread
 *
 * Uses only the public header, libc and pthread, so it doubles as a user of the installed API.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <adma.h>

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define GiB ((size_t)1 << 30)

static const char *prog = "adma";
static bool progress_shown; /* a progress line is on the terminal and must be cleared */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %s <command> [options]\n"
		"\n"
		"commands:\n"
		"  info                  library version, backends, default engine, CPU\n"
		"  bench [options]       copy throughput against memcpy, op rate, op latency\n"
		"      --quick           sizes up to 64 MiB, fewer samples (a few seconds)\n"
		"      --full            add 1 GiB copies (needs 2 GiB of memory)\n"
		"      --csv             print the figures as CSV instead of tables\n"
		"      --json            print the figures as JSON instead of tables\n"
		"  version               the library version\n"
		"  help                  this text\n",
		prog);
}

static void die(const char *what, int err)
{
	const char *detail = adma_last_error();

	if (progress_shown)
		fputs("\r\033[K", stderr);
	fprintf(stderr, "%s: %s: %s", prog, what, adma_strerror(err));
	if (detail && *detail)
		fprintf(stderr, " (%s)", detail);
	fputc('\n', stderr);
	exit(1);
}

static void check(const char *what, int err)
{
	if (err < 0)
		die(what, err);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const char *size_name(size_t n, char *buf, size_t len)
{
	if (n >= GiB && n % GiB == 0)
		snprintf(buf, len, "%zu GiB", n / GiB);
	else if (n >= MiB && n % MiB == 0)
		snprintf(buf, len, "%zu MiB", n / MiB);
	else if (n >= KiB && n % KiB == 0)
		snprintf(buf, len, "%zu KiB", n / KiB);
	else
		snprintf(buf, len, "%zu B", n);
	return buf;
}

/* ------------------------------------------------------------------------------------------ */
/* CPU description                                                                             */
/* ------------------------------------------------------------------------------------------ */

static void cpu_model(char *buf, size_t len)
{
	static const char *const keys[] = { "model name", "Model", "cpu model", "cpu",
					    "Processor" };
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");
	struct utsname u;

	buf[0] = '\0';
	/* Each architecture names its model differently; take the first key that appears. */
	for (size_t k = 0; f && k < sizeof(keys) / sizeof(keys[0]) && !buf[0]; k++) {
		size_t kl = strlen(keys[k]);

		rewind(f);
		while (fgets(line, sizeof(line), f)) {
			char *p = line + kl;

			if (strncmp(line, keys[k], kl) != 0 ||
			    (*p != ' ' && *p != '\t' && *p != ':'))
				continue;
			p = strchr(line, ':');
			if (!p)
				continue;
			for (p++; *p == ' ' || *p == '\t'; p++)
				;
			p[strcspn(p, "\n")] = '\0';
			snprintf(buf, len, "%s", p);
			break;
		}
	}
	if (f)
		fclose(f);
	if (!buf[0])
		snprintf(buf, len, "%s", uname(&u) == 0 ? u.machine : "unknown");
}

static long read_sysfs_cache(int level, const char *type)
{
	char path[128], text[64];
	long size = 0;

	for (int i = 0; i < 16 && !size; i++) {
		FILE *f;
		int lv = -1;
		char ty[32] = "";

		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
		f = fopen(path, "r");
		if (!f)
			break;
		if (fscanf(f, "%d", &lv) != 1)
			lv = -1;
		fclose(f);
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
		f = fopen(path, "r");
		if (!f || fscanf(f, "%31s", ty) != 1)
			ty[0] = '\0';
		if (f)
			fclose(f);
		if (lv != level || (strcmp(ty, type) != 0 && strcmp(ty, "Unified") != 0))
			continue;
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(text, sizeof(text), f)) {
			char *end;
			long v = strtol(text, &end, 10);

			if (*end == 'K')
				v *= 1024;
			else if (*end == 'M')
				v *= 1024 * 1024;
			size = v > 0 ? v : 0;
		}
		fclose(f);
	}
	return size;
}

/* Level 1 data, 2, 3 of cpu0: sysfs first, since glibc's sysconf reports the L3 of a whole AMD
 * package (all its CCXs) rather than the slice one CPU can use; sysconf where there is no sysfs. */
static long cache_size(int level)
{
	long v = read_sysfs_cache(level, level == 1 ? "Data" : "Unified");

#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE) && \
	defined(_SC_LEVEL3_CACHE_SIZE)
	if (v <= 0 && level == 1)
		v = sysconf(_SC_LEVEL1_DCACHE_SIZE);
	else if (v <= 0 && level == 2)
		v = sysconf(_SC_LEVEL2_CACHE_SIZE);
	else if (v <= 0)
		v = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
	return v > 0 ? v : 0;
}

static void cpu_features(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;
	bool erms = false, fsrm = false;

	__builtin_cpu_init();
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
		erms = b & (1u << 9);
		fsrm = d & (1u << 4);
	}
	const struct {
		const char *name;
		bool on;
	} feats[] = {
		{ "sse2", __builtin_cpu_supports("sse2") },
		{ "avx", __builtin_cpu_supports("avx") },
		{ "avx2", __builtin_cpu_supports("avx2") },
		{ "avx512f", __builtin_cpu_supports("avx512f") },
		{ "erms", erms },
		{ "fsrm", fsrm },
	};

	for (size_t i = 0; i < sizeof(feats) / sizeof(feats[0]); i++) {
		if (!feats[i].on || used >= len)
			continue;
		used += snprintf(buf + used, len - used, "%s%s", used ? " " : "", feats[i].name);
	}
#endif
	if (!used)
		snprintf(buf, len, "none detected");
}

static long usable_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return -1;
	return CPU_COUNT(&set);
}

/* ------------------------------------------------------------------------------------------ */
/* info                                                                                        */
/* ------------------------------------------------------------------------------------------ */

static const char *probe_backend(unsigned backend)
{
	struct adma_engine *e;
	struct adma_config cfg;
	int r;

	adma_config_init(&cfg);
	cfg.backend = backend;
	cfg.flags = ADMA_CFG_QUIET;
	r = adma_engine_create(&e, &cfg);
	if (r < 0)
		return adma_strerror(r);
	r = adma_engine_destroy(&e);
	return r < 0 ? adma_strerror(r) : "available";
}

static int cmd_info(void)
{
	struct adma_engine *e;
	struct adma_stats st;
	char model[256], feats[256], b1[32], b2[32], b3[32];
	long l1 = cache_size(1), l2 = cache_size(2), l3 = cache_size(3);
	unsigned hv = ADMA_VERSION;

	check("adma_engine_create", adma_engine_create(&e, NULL));
	check("adma_stats", adma_stats(e, &st));
	check("adma_engine_destroy", adma_engine_destroy(&e));
	cpu_model(model, sizeof(model));
	cpu_features(feats, sizeof(feats));

	printf("adma %s (built against header %u.%u.%u)\n", adma_version_string(), hv / 10000,
	       hv / 100 % 100, hv % 100);
	printf("backends:        threads (default): %s\n", probe_backend(ADMA_BACKEND_THREADS));
	printf("                 inline:            %s\n", probe_backend(ADMA_BACKEND_INLINE));
	printf("default engine:  %" PRIu64 " workers, backlog %" PRIu64 "\n", st.workers,
	       st.backlog);
	printf("cpu:             %s\n", model);
	printf("cpus:            %ld online", sysconf(_SC_NPROCESSORS_ONLN));
	if (usable_cpus() > 0)
		printf(", %ld usable by this process", usable_cpus());
	putchar('\n');
	printf("caches:          L1d %s, L2 %s, L3 %s\n", l1 ? size_name(l1, b1, sizeof(b1)) : "?",
	       l2 ? size_name(l2, b2, sizeof(b2)) : "?", l3 ? size_name(l3, b3, sizeof(b3)) : "?");
	printf("cpu features:    %s\n", feats);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* bench                                                                                       */
/* ------------------------------------------------------------------------------------------ */

enum {
	FMT_TABLE,
	FMT_CSV,
	FMT_JSON
};

#define MAX_SIZES 8
#define MAX_SAMPLES 5
/* Small copies rotate over up to this many destinations, so that concurrent ops of one batch
 * never write the same cache lines (which would measure line bouncing, not copying). */
#define MAX_SLOTS 64
#define SLOT_SPAN (2 * MiB)
#define OP_BYTES 64
#define LAT_TRIALS 2000

struct figure {
	double median, min, max;
};

struct copy_row {
	size_t bytes;
	bool skipped;
	struct figure memcpy_gbps, adma_gbps;
};

struct ops_row {
	unsigned batch;
	struct figure mops;
};

struct bench {
	struct adma_engine *e;
	int fmt;
	bool quick, full, progress;
	unsigned samples;
	double target_s; /* the least time one sample takes */
	unsigned step, steps;

	unsigned nsizes;
	struct copy_row copy[MAX_SIZES];
	struct ops_row ops[2];
	double lat_median_us, lat_p99_us;
	unsigned lat_trials;
	struct adma_stats st;
};

static void progress(struct bench *b, const char *what, size_t bytes)
{
	char sz[32];

	b->step++;
	if (!b->progress)
		return;
	fprintf(stderr, "\r\033[K[%u/%u] %s", b->step, b->steps, what);
	if (bytes)
		fprintf(stderr, " %s", size_name(bytes, sz, sizeof(sz)));
	fputs(" ...", stderr);
	fflush(stderr);
	progress_shown = true;
}

static void progress_done(void)
{
	if (progress_shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		progress_shown = false;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static struct figure summarize(double *v, unsigned n)
{
	struct figure f;

	qsort(v, n, sizeof(*v), cmp_double);
	f.min = v[0];
	f.max = v[n - 1];
	f.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return f;
}

/* Submits all @count ops, waiting for room whenever the backlog is full. */
static void submit_all(struct adma_engine *e, const struct adma_op *ops, unsigned count,
		       uint64_t *tickets)
{
	unsigned done = 0;

	while (done < count) {
		int r = adma_submit(e, ops + done, count - done, tickets ? tickets + done : NULL);

		if (r == -EAGAIN) {
			/* The barrier also reports failures of ops it waited for; none may hide. */
			check("adma_barrier", adma_barrier(e, -1));
			continue;
		}
		check("adma_submit", r);
		done += r;
	}
}

/* Keeps the compiler from merging or dropping copies whose results it cannot see used. */
static inline void clobber(void)
{
	__asm__ __volatile__("" ::: "memory");
}

struct copy_ctx {
	struct bench *b;
	unsigned char *src, *dst;
	size_t bytes;
	unsigned slots;
	struct adma_op ops[MAX_SLOTS];
};

static double run_memcpy(struct copy_ctx *c, uint64_t reps)
{
	double t0 = now_s();

	for (uint64_t i = 0; i < reps; i++) {
		memcpy(c->dst + (i % c->slots) * c->bytes, c->src, c->bytes);
		clobber();
	}
	return now_s() - t0;
}

/* Rounds of one batch (one op per destination slot) then a wait: submit + adma_wait for one op,
 * submit + adma_barrier for more. */
static double run_adma(struct copy_ctx *c, uint64_t reps)
{
	struct adma_engine *e = c->b->e;
	double t0 = now_s();

	while (reps) {
		unsigned n = reps < c->slots ? (unsigned)reps : c->slots;

		if (n == 1) {
			uint64_t t;

			submit_all(e, c->ops, 1, &t);
			check("adma_wait", adma_wait(e, t, -1));
		} else {
			submit_all(e, c->ops, n, NULL);
			check("adma_barrier", adma_barrier(e, -1));
		}
		reps -= n;
	}
	return now_s() - t0;
}

/* How many repetitions make one sample last at least the target time. */
static uint64_t calibrate(double (*run)(struct copy_ctx *, uint64_t), struct copy_ctx *c)
{
	double target = c->b->target_s, t;
	uint64_t reps = 1;

	run(c, 1); /* warm-up: caches, TLB, workers awake */
	for (;;) {
		t = run(c, reps);
		if (t >= target / 8 || reps >= (UINT64_C(1) << 40))
			break;
		reps *= 4;
	}
	if (t < target)
		reps = (uint64_t)((double)reps * target / (t > 1e-9 ? t : 1e-9)) + 1;
	return reps;
}

static struct figure measure(double (*run)(struct copy_ctx *, uint64_t), struct copy_ctx *c)
{
	double gbps[MAX_SAMPLES];
	uint64_t reps = calibrate(run, c);

	for (unsigned s = 0; s < c->b->samples; s++)
		gbps[s] = (double)reps * c->bytes / run(c, reps) / 1e9;
	return summarize(gbps, c->b->samples);
}

static void bench_copy(struct bench *b, struct copy_row *row)
{
	struct copy_ctx c = { .b = b, .bytes = row->bytes };
	size_t dst_len;
	char sz[32];

	c.slots = row->bytes >= SLOT_SPAN ? 1 : (unsigned)(SLOT_SPAN / row->bytes);
	if (c.slots > MAX_SLOTS)
		c.slots = MAX_SLOTS;
	dst_len = c.slots * row->bytes;
	c.src = aligned_alloc(4096, row->bytes);
	c.dst = aligned_alloc(4096, dst_len);
	if (!c.src || !c.dst) {
		fprintf(stderr, "%s: bench: %s: out of memory, skipped\n", prog,
			size_name(row->bytes, sz, sizeof(sz)));
		free(c.src);
		free(c.dst);
		row->skipped = true;
		b->step += 2;
		return;
	}
	/* Touch every page now so that page faults are not timed; a pattern, so that a copy
	 * that did not happen cannot pass for one. */
	for (size_t i = 0; i < row->bytes; i++)
		c.src[i] = (unsigned char)(i * 131 + 7 + i / 4096);
	memset(c.dst, 0, dst_len);
	for (unsigned s = 0; s < c.slots; s++)
		adma_prep_copy(&c.ops[s], c.dst + s * row->bytes, c.src, row->bytes);

	progress(b, "memcpy", row->bytes);
	row->memcpy_gbps = measure(run_memcpy, &c);

	memset(c.dst, 0, dst_len);
	progress(b, "adma", row->bytes);
	row->adma_gbps = measure(run_adma, &c);
	for (unsigned s = 0; s < c.slots; s++) {
		if (memcmp(c.dst + s * row->bytes, c.src, row->bytes) != 0) {
			progress_done();
			fprintf(stderr,
				"%s: bench: adma copy of %s produced wrong data (slot %u)\n", prog,
				size_name(row->bytes, sz, sizeof(sz)), s);
			exit(1);
		}
	}
	free(c.src);
	free(c.dst);
}

static double run_ops(struct adma_engine *e, const struct adma_op *ops, unsigned batch,
		      uint64_t rounds)
{
	double t0 = now_s();

	for (uint64_t r = 0; r < rounds; r++) {
		submit_all(e, ops, batch, NULL);
		check("adma_barrier", adma_barrier(e, -1));
	}
	return now_s() - t0;
}

static void bench_ops(struct bench *b, struct ops_row *row)
{
	static unsigned char src[OP_BYTES], dst[32][OP_BYTES];
	struct adma_op ops[32];
	double mops[MAX_SAMPLES], t;
	uint64_t rounds = 1;

	progress(b, row->batch == 1 ? "64-byte ops, batch 1" : "64-byte ops, batch 32", 0);
	for (unsigned i = 0; i < OP_BYTES; i++)
		src[i] = (unsigned char)(i + 1);
	for (unsigned i = 0; i < row->batch; i++)
		adma_prep_copy(&ops[i], dst[i], src, OP_BYTES);

	run_ops(b->e, ops, row->batch, 16);
	for (;;) {
		t = run_ops(b->e, ops, row->batch, rounds);
		if (t >= b->target_s / 8 || rounds >= (UINT64_C(1) << 40))
			break;
		rounds *= 4;
	}
	if (t < b->target_s)
		rounds = (uint64_t)((double)rounds * b->target_s / (t > 1e-9 ? t : 1e-9)) + 1;
	for (unsigned s = 0; s < b->samples; s++) {
		t = run_ops(b->e, ops, row->batch, rounds);
		mops[s] = (double)rounds * row->batch / t / 1e6;
	}
	row->mops = summarize(mops, b->samples);

	for (unsigned i = 0; i < row->batch; i++) {
		if (memcmp(dst[i], src, OP_BYTES) != 0) {
			progress_done();
			fprintf(stderr, "%s: bench: adma 64-byte copy produced wrong data\n", prog);
			exit(1);
		}
	}
}

static void bench_latency(struct bench *b)
{
	static unsigned char src[OP_BYTES], dst[OP_BYTES];
	static double us[LAT_TRIALS];
	struct adma_op op;
	unsigned n = LAT_TRIALS, warm = 100;

	progress(b, "latency of one 64-byte op", 0);
	memset(src, 0x5a, sizeof(src));
	adma_prep_copy(&op, dst, src, OP_BYTES);
	for (unsigned i = 0; i < warm + n; i++) {
		uint64_t t;
		double t0 = now_s();

		submit_all(b->e, &op, 1, &t);
		check("adma_wait", adma_wait(b->e, t, -1));
		if (i >= warm)
			us[i - warm] = (now_s() - t0) * 1e6;
	}
	if (memcmp(dst, src, OP_BYTES) != 0) {
		progress_done();
		fprintf(stderr, "%s: bench: adma 64-byte copy produced wrong data\n", prog);
		exit(1);
	}
	qsort(us, n, sizeof(us[0]), cmp_double);
	b->lat_trials = n;
	b->lat_median_us = n % 2 ? us[n / 2] : (us[n / 2 - 1] + us[n / 2]) / 2;
	/* Nearest rank: the smallest value with at least 99% of the trials at or below it. */
	b->lat_p99_us = us[(n * 99 + 99) / 100 - 1];
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
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

static const char *mode_name(const struct bench *b)
{
	return b->quick ? "quick" : b->full ? "full" : "default";
}

static void print_table(const struct bench *b, const char *model)
{
	char sz[32];

	printf("adma %s bench (%s): %s; default engine: %" PRIu64 " workers, backlog %" PRIu64
	       "\n\n",
	       adma_version_string(), mode_name(b), model, b->st.workers, b->st.backlog);
	printf("copy throughput, GB/s per copy, median of %u samples (min..max)\n"
	       "memcpy: glibc on this thread; adma: one op per copy, then adma_wait (below 2 MiB:\n"
	       "batches of up to %d ops to distinct destinations, then adma_barrier)\n\n",
	       b->samples, MAX_SLOTS);
	printf("%8s  %8s %-17s  %8s %-17s  %11s\n", "size", "memcpy", "", "adma", "",
	       "adma/memcpy");
	for (unsigned i = 0; i < b->nsizes; i++) {
		const struct copy_row *r = &b->copy[i];
		char m[32], a[32];

		if (r->skipped) {
			printf("%8s  skipped (out of memory)\n",
			       size_name(r->bytes, sz, sizeof(sz)));
			continue;
		}
		snprintf(m, sizeof(m), "(%.2f..%.2f)", r->memcpy_gbps.min, r->memcpy_gbps.max);
		snprintf(a, sizeof(a), "(%.2f..%.2f)", r->adma_gbps.min, r->adma_gbps.max);
		printf("%8s  %8.2f %-17s  %8.2f %-17s  %11.2f\n",
		       size_name(r->bytes, sz, sizeof(sz)), r->memcpy_gbps.median, m,
		       r->adma_gbps.median, a, r->adma_gbps.median / r->memcpy_gbps.median);
	}
	printf("\n%d-byte ops: submit a batch, then adma_barrier; M ops/s, median (min..max)\n",
	       OP_BYTES);
	for (unsigned i = 0; i < 2; i++) {
		const struct ops_row *r = &b->ops[i];

		printf("  batch %-3u %8.3f  (%.3f..%.3f)\n", r->batch, r->mops.median, r->mops.min,
		       r->mops.max);
	}
	printf("\nlatency of one %d-byte op, submit until adma_wait returns (%u trials):\n"
	       "  median %.2f us, p99 %.2f us\n",
	       OP_BYTES, b->lat_trials, b->lat_median_us, b->lat_p99_us);
	if (b->st.inlined)
		printf("\nthe engine ran %" PRIu64 " of %" PRIu64
		       " ops in the submitting thread (inline fast path)\n",
		       b->st.inlined, b->st.submitted);
}

static void print_csv(const struct bench *b)
{
	printf("test,bytes,batch,impl,unit,median,min,max,p99,samples\n");
	for (unsigned i = 0; i < b->nsizes; i++) {
		const struct copy_row *r = &b->copy[i];

		if (r->skipped)
			continue;
		printf("copy,%zu,,memcpy,GB/s,%.4f,%.4f,%.4f,,%u\n", r->bytes,
		       r->memcpy_gbps.median, r->memcpy_gbps.min, r->memcpy_gbps.max, b->samples);
		printf("copy,%zu,,adma,GB/s,%.4f,%.4f,%.4f,,%u\n", r->bytes, r->adma_gbps.median,
		       r->adma_gbps.min, r->adma_gbps.max, b->samples);
		printf("copy,%zu,,adma/memcpy,ratio,%.4f,,,,%u\n", r->bytes,
		       r->adma_gbps.median / r->memcpy_gbps.median, b->samples);
	}
	for (unsigned i = 0; i < 2; i++)
		printf("ops,%d,%u,adma,Mops/s,%.4f,%.4f,%.4f,,%u\n", OP_BYTES, b->ops[i].batch,
		       b->ops[i].mops.median, b->ops[i].mops.min, b->ops[i].mops.max, b->samples);
	printf("latency,%d,1,adma,us,%.3f,,,%.3f,%u\n", OP_BYTES, b->lat_median_us, b->lat_p99_us,
	       b->lat_trials);
}

static void print_figure(const char *name, const struct figure *f)
{
	printf("\"%s\": {\"median\": %.4f, \"min\": %.4f, \"max\": %.4f}", name, f->median, f->min,
	       f->max);
}

static void print_json(const struct bench *b, const char *model)
{
	bool first = true;

	printf("{\n  \"version\": ");
	json_string(adma_version_string());
	printf(",\n  \"mode\": \"%s\",\n  \"cpu\": ", mode_name(b));
	json_string(model);
	printf(",\n  \"cpus\": %ld,\n  \"workers\": %" PRIu64 ",\n  \"backlog\": %" PRIu64
	       ",\n  \"samples\": %u,\n  \"copy\": [",
	       sysconf(_SC_NPROCESSORS_ONLN), b->st.workers, b->st.backlog, b->samples);
	for (unsigned i = 0; i < b->nsizes; i++) {
		const struct copy_row *r = &b->copy[i];

		if (r->skipped)
			continue;
		printf("%s\n    {\"bytes\": %zu, ", first ? "" : ",", r->bytes);
		print_figure("memcpy_gbps", &r->memcpy_gbps);
		printf(", ");
		print_figure("adma_gbps", &r->adma_gbps);
		printf(", \"ratio\": %.4f}", r->adma_gbps.median / r->memcpy_gbps.median);
		first = false;
	}
	printf("\n  ],\n  \"ops\": [");
	for (unsigned i = 0; i < 2; i++) {
		printf("%s\n    {\"bytes\": %d, \"batch\": %u, ", i ? "," : "", OP_BYTES,
		       b->ops[i].batch);
		print_figure("mops", &b->ops[i].mops);
		printf("}");
	}
	printf("\n  ],\n  \"latency\": {\"bytes\": %d, \"trials\": %u, \"median_us\": %.3f, "
	       "\"p99_us\": %.3f},\n",
	       OP_BYTES, b->lat_trials, b->lat_median_us, b->lat_p99_us);
	printf("  \"inlined\": %" PRIu64 ",\n  \"submitted\": %" PRIu64 "\n}\n", b->st.inlined,
	       b->st.submitted);
}

static int cmd_bench(int argc, char **argv)
{
	static const size_t all_sizes[] = { 4 * KiB, 64 * KiB, MiB, 16 * MiB, 256 * MiB, GiB };
	struct bench b = { .fmt = FMT_TABLE };
	char model[256];
	bool csv = false, json = false;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			b.quick = true;
		} else if (!strcmp(argv[i], "--full")) {
			b.full = true;
		} else if (!strcmp(argv[i], "--csv")) {
			csv = true;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "%s: bench: unknown option '%s'\n", prog, argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if ((b.quick && b.full) || (csv && json)) {
		fprintf(stderr,
			"%s: bench: --quick and --full, --csv and --json exclude each other\n",
			prog);
		return 2;
	}
	b.fmt = csv ? FMT_CSV : json ? FMT_JSON : FMT_TABLE;
	b.samples = b.quick ? 3 : 5;
	b.target_s = b.quick ? 0.02 : 0.05;
	for (size_t i = 0; i < sizeof(all_sizes) / sizeof(all_sizes[0]); i++) {
		size_t n = all_sizes[i];

		if (n == GiB && !b.full)
			continue;
		if (b.quick && n > 64 * MiB)
			n = 64 * MiB;
		b.copy[b.nsizes++].bytes = n;
	}
	b.ops[0].batch = 1;
	b.ops[1].batch = 32;
	b.steps = 2 * b.nsizes + 3;
	b.progress = isatty(STDERR_FILENO);
	cpu_model(model, sizeof(model));

	check("adma_engine_create", adma_engine_create(&b.e, NULL));
	for (unsigned i = 0; i < b.nsizes; i++)
		bench_copy(&b, &b.copy[i]);
	bench_ops(&b, &b.ops[0]);
	bench_ops(&b, &b.ops[1]);
	bench_latency(&b);
	check("adma_stats", adma_stats(b.e, &b.st));
	check("adma_engine_destroy", adma_engine_destroy(&b.e));
	progress_done();

	if (b.fmt == FMT_CSV)
		print_csv(&b);
	else if (b.fmt == FMT_JSON)
		print_json(&b, model);
	else
		print_table(&b, model);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "info")) {
		if (argc == 2)
			return cmd_info();
		fprintf(stderr, "%s: info: unexpected argument '%s'\n", prog, argv[2]);
		return 2;
	}
	if (!strcmp(argv[1], "bench"))
		return cmd_bench(argc - 2, argv + 2);
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("adma %s\n", adma_version_string());
		return 0;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stderr);
		return 0;
	}
	fprintf(stderr, "%s: unknown command or arguments: '%s'\n", prog, argv[1]);
	usage(stderr);
	return 2;
}
