/* SPDX-License-Identifier: MIT */
/*
 * adma: the command-line tool.
 *
 *   adma info           library, backends, default engine, CPU, benchmark peers
 *   adma bench [...]    adma against glibc memcpy and other copy engines (tools/bench.c)
 *
 * Uses only the public header, libc and pthread (plus the optional peers under bench/), so it
 * doubles as a user of the installed API.
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
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <adma.h>

#include "bench.h"

const char *tool_prog = "adma";

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %s <command> [options]\n"
		"\n"
		"commands:\n"
		"  info                  library version, backends, default engine, CPU, bench peers\n"
		"  bench [options]       adma against glibc memcpy, a thread pool, OpenMP and DPDK:\n"
		"                        bulk copies, op rates, latency, overlap, idle CPU, heap use,\n"
		"                        layout copies (sub-block, transpose, 1-D) against memcpy\n"
		"      --quick           fewer samples, smaller overlap, stream and layout sizes\n"
		"                        (seconds)\n"
		"      --full            every scenario at full size, 1 GiB copies, more samples\n"
		"                        (needs about 3 GiB of memory; a minute or more)\n"
		"      --only LIST       only these scenarios (comma-separated):\n",
		tool_prog);
	for (unsigned i = 0; i < BENCH_NSCENARIOS; i++)
		fprintf(out, "                          %-8s %s\n", bench_scenario_name(i),
			bench_scenario_what(i));
	fprintf(out,
		"      --samples N       samples per figure (default: 3 quick, 5, 7 full)\n"
		"      --csv             print the figures as CSV, one row per figure\n"
		"      --json            print one JSON document: machine, config, every figure\n"
		"  version               the library version\n"
		"  help                  this text\n"
		"\n"
		"bench prints a progress line on stderr when stderr is a terminal.\n");
}

_Noreturn void tool_die(const char *what, int err)
{
	const char *detail = adma_last_error();

	bench_progress_clear();
	fprintf(stderr, "%s: %s: %s", tool_prog, what, adma_strerror(err));
	if (detail && *detail)
		fprintf(stderr, " (%s)", detail);
	fputc('\n', stderr);
	exit(1);
}

void tool_check(const char *what, int err)
{
	if (err < 0)
		tool_die(what, err);
}

const char *tool_size_name(size_t n, char *buf, size_t len)
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

void tool_cpu_model(char *buf, size_t len)
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
long tool_cache_size(int level)
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

void tool_cpu_features(char *buf, size_t len)
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

long tool_usable_cpus(void)
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
	static const struct bench_peer *const peers[] = { &bench_peer_pool, &bench_peer_omp,
							  &bench_peer_dpdk };
	struct adma_engine *e;
	struct adma_stats st;
	char model[256], feats[256], b1[32], b2[32], b3[32];
	long l1 = tool_cache_size(1), l2 = tool_cache_size(2), l3 = tool_cache_size(3);
	unsigned hv = ADMA_VERSION;

	tool_check("adma_engine_create", adma_engine_create(&e, NULL));
	tool_check("adma_stats", adma_stats(e, &st));
	tool_check("adma_engine_destroy", adma_engine_destroy(&e));
	tool_cpu_model(model, sizeof(model));
	tool_cpu_features(feats, sizeof(feats));

	printf("adma %s (built against header %u.%u.%u)\n", adma_version_string(), hv / 10000,
	       hv / 100 % 100, hv % 100);
	printf("backends:        threads (default): %s\n", probe_backend(ADMA_BACKEND_THREADS));
	printf("                 inline:            %s\n", probe_backend(ADMA_BACKEND_INLINE));
	printf("default engine:  %" PRIu64 " workers, backlog %" PRIu64 "\n", st.workers,
	       st.backlog);
	printf("cpu:             %s\n", model);
	printf("cpus:            %ld online", sysconf(_SC_NPROCESSORS_ONLN));
	if (tool_usable_cpus() > 0)
		printf(", %ld usable by this process", tool_usable_cpus());
	putchar('\n');
	printf("caches:          L1d %s, L2 %s, L3 %s\n",
	       l1 ? tool_size_name(l1, b1, sizeof(b1)) : "?",
	       l2 ? tool_size_name(l2, b2, sizeof(b2)) : "?",
	       l3 ? tool_size_name(l3, b3, sizeof(b3)) : "?");
	printf("cpu features:    %s\n", feats);
	printf("bench peers:     memcpy, adma");
	for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
		if (peers[i]->skip)
			printf(", %s (skipped: %s)", peers[i]->name, peers[i]->skip);
		else
			printf(", %s", peers[i]->name);
	}
	printf("\nalloc counting:  %s\n", bench_alloc_counting ? "on" : bench_alloc_skip);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* bench: options (the benchmark itself is tools/bench.c)                                      */
/* ------------------------------------------------------------------------------------------ */

static int bench_usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: bench: ", tool_prog);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(%s help lists the options)\n", tool_prog);
	return 2;
}

static int parse_only(struct bench_opts *o, const char *list)
{
	const char *p = list;

	while (*p) {
		size_t len = strcspn(p, ",");
		int id = bench_scenario_by_name(p, len);

		if (id < 0)
			return -1;
		o->only |= BENCH_BIT(id);
		p += len;
		if (*p == ',')
			p++;
	}
	return o->only ? 0 : -1;
}

static int cmd_bench(int argc, char **argv)
{
	struct bench_opts o = { .format = BENCH_TABLE };
	bool csv = false, json = false;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *val = NULL;

		if ((!strcmp(a, "--only") || !strcmp(a, "--samples")) && i + 1 < argc)
			val = argv[++i];
		else if (!strncmp(a, "--only=", 7) || !strncmp(a, "--samples=", 10))
			val = strchr(a, '=') + 1;

		if (!strcmp(a, "--quick")) {
			o.quick = true;
		} else if (!strcmp(a, "--full")) {
			o.full = true;
		} else if (!strcmp(a, "--csv")) {
			csv = true;
		} else if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strncmp(a, "--only", 6) && val) {
			if (parse_only(&o, val) < 0)
				return bench_usage_error("--only: unknown scenario in '%s'", val);
		} else if (!strncmp(a, "--samples", 9) && val) {
			char *end;
			unsigned long n = strtoul(val, &end, 10);

			if (*val < '0' || *val > '9' || *end || n < 1 || n > 1000)
				return bench_usage_error("--samples: '%s' is not a number 1..1000",
							 val);
			o.samples = (unsigned)n;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else {
			return bench_usage_error("unknown option or missing value: '%s'", a);
		}
	}
	if (o.quick && o.full)
		return bench_usage_error("%s", "--quick and --full exclude each other");
	if (csv && json)
		return bench_usage_error("%s", "--csv and --json exclude each other");
	o.format = csv ? BENCH_CSV : json ? BENCH_JSON : BENCH_TABLE;
	o.progress = isatty(STDERR_FILENO);
	return bench_run(&o);
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
		fprintf(stderr, "%s: info: unexpected argument '%s'\n", tool_prog, argv[2]);
		return 2;
	}
	if (!strcmp(argv[1], "bench"))
		return cmd_bench(argc - 2, argv + 2);
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("adma %s\n", adma_version_string());
		return 0;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "%s: unknown command or arguments: '%s'\n", tool_prog, argv[1]);
	usage(stderr);
	return 2;
}
