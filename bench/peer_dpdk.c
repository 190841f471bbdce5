/* SPDX-License-Identifier: MIT */
/*
 * Peer "dpdk": DPDK's dmadev API on its software skeleton driver (drivers/dma/skeleton), the
 * reference a DMA-engine API is usually held against. The skeleton copies with memcpy on one
 * thread of its own that polls its ring; the caller enqueues with rte_dma_copy(), rings the
 * doorbell with rte_dma_submit() and polls rte_dma_completed() (DPDK never sleeps).
 *
 * Built only when pkg-config finds libdpdk (Debian: apt-get install libdpdk-dev); otherwise
 * this file defines the peer as skipped, with the reason. The EAL arguments can be replaced
 * with the environment variable ADMA_BENCH_EAL (words separated by spaces).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define SCENARIOS (BENCH_BIT(BENCH_BULK) | BENCH_BIT(BENCH_RATE) | BENCH_BIT(BENCH_LATENCY))

#if defined(ADMA_BENCH_HAVE_DPDK)
#include <pthread.h>
#include <sched.h>

#include <rte_dmadev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>

#define DEV_NAME "dma_skeleton0"
#define EAL_ARGS "--no-huge --no-pci --no-shconf -m 1024 --vdev=" DEV_NAME " --log-level=error"
#define MAX_ARGS 32
#define RING 4096
/* rte_dma_copy() takes a 32-bit length. */
#define MAX_PIECE ((size_t)1 << 30)

static int16_t dev = -1;
static bool started, eal_up;
static uint64_t inflight; /* enqueued and not yet reported by rte_dma_completed() */

/* Harvests completions; @return 0 or -EIO when the device reports a failed copy. */
static int reap(void)
{
	while (inflight) {
		uint16_t last;
		bool err = false;
		uint16_t n =
			rte_dma_completed(dev, 0,
					  inflight > UINT16_MAX ? UINT16_MAX : (uint16_t)inflight,
					  &last, &err);

		inflight -= n;
		if (err)
			return -EIO;
		if (!n)
			break;
	}
	return 0;
}

static int enqueue(void *dst, const void *src, size_t n)
{
	/* The skeleton memcpy's between the "IOVAs" as pointers: a virtual address is what it
	 * needs whatever IOVA mode the EAL chose. */
	for (;;) {
		int r = rte_dma_copy(dev, 0, (rte_iova_t)(uintptr_t)src, (rte_iova_t)(uintptr_t)dst,
				     (uint32_t)n, 0);

		if (r >= 0) {
			inflight++;
			return 0;
		}
		if (r != -ENOSPC)
			return r;
		/* Ring full: ring the doorbell for what is there and make room. */
		r = rte_dma_submit(dev, 0);
		if (r < 0)
			return r;
		r = reap();
		if (r < 0)
			return r;
	}
}

static int dpdk_submit(void *const *dst, const void *src, size_t n, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		size_t off = 0;

		do {
			size_t len = n - off < MAX_PIECE ? n - off : MAX_PIECE;
			int r = enqueue((char *)dst[i] + off, (const char *)src + off, len);

			if (r < 0)
				return r;
			off += len;
		} while (off < n);
	}
	return rte_dma_submit(dev, 0);
}

static int dpdk_wait_all(void)
{
	while (inflight) {
		int r = reap();

		if (r < 0)
			return r;
	}
	return 0;
}

static int dpdk_batch(void *const *dst, const void *src, size_t n, unsigned count)
{
	int r = dpdk_submit(dst, src, n, count);

	return r < 0 ? r : dpdk_wait_all();
}

static int dpdk_copy(void *dst, const void *src, size_t n)
{
	return dpdk_batch(&dst, src, n, 1);
}

static int dpdk_start(void)
{
	int r = rte_dma_start(dev);

	started = r == 0;
	return r;
}

static void dpdk_stop(void)
{
	if (started)
		rte_dma_stop(dev);
	started = false;
}

static int dpdk_init(unsigned threads, char *why, size_t len)
{
	static char buf[512];
	char *argv[MAX_ARGS + 1];
	int argc = 0, r;
	const char *args = getenv("ADMA_BENCH_EAL");
	cpu_set_t cpus;
	bool have_cpus;
	struct rte_dma_info info;
	struct rte_dma_conf conf = { .nb_vchans = 1 };
	struct rte_dma_vchan_conf vconf = { .direction = RTE_DMA_DIR_MEM_TO_MEM };

	snprintf(buf, sizeof(buf), "%s", args && *args ? args : EAL_ARGS);
	argv[argc++] = (char *)"adma-bench";
	for (char *save = NULL, *w = strtok_r(buf, " ", &save); w && argc < MAX_ARGS;
	     w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;

	/* The EAL pins the calling thread to its main lcore; every thread the benchmark creates
	 * later would inherit that. Give the thread its CPUs back. */
	have_cpus = pthread_getaffinity_np(pthread_self(), sizeof(cpus), &cpus) == 0;
	rte_openlog_stream(stderr);
	r = rte_eal_init(argc, argv);
	if (have_cpus)
		pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
	if (r < 0) {
		snprintf(why, len, "rte_eal_init failed: %s (EAL arguments: %s)",
			 rte_strerror(rte_errno), args && *args ? args : EAL_ARGS);
		return -(rte_errno ? rte_errno : EINVAL);
	}
	eal_up = true;

	r = rte_dma_get_dev_id_by_name(DEV_NAME);
	if (r < 0) {
		snprintf(why, len, "no %s device (is DPDK's dma_skeleton driver installed?)",
			 DEV_NAME);
		return r;
	}
	dev = (int16_t)r;
	r = rte_dma_info_get(dev, &info);
	if (r == 0)
		r = rte_dma_configure(dev, &conf);
	if (r == 0) {
		vconf.nb_desc = RING;
		if (vconf.nb_desc > info.max_desc)
			vconf.nb_desc = info.max_desc;
		if (vconf.nb_desc < info.min_desc)
			vconf.nb_desc = info.min_desc;
		r = rte_dma_vchan_setup(dev, 0, &vconf);
	}
	if (r < 0) {
		snprintf(why, len, "configuring %s failed: %s", DEV_NAME, strerror(-r));
		return r;
	}
	return 0;
}

static void dpdk_fini(void)
{
	dpdk_stop();
	if (dev >= 0)
		rte_dma_close(dev);
	dev = -1;
	if (eal_up)
		rte_eal_cleanup();
	eal_up = false;
}

static unsigned dpdk_threads(void)
{
	return 1;
}

const struct bench_peer bench_peer_dpdk = {
	.name = "dpdk",
	.what = "DPDK dmadev, dma_skeleton0 (one copy thread), rte_dma_copy/submit/completed",
	.scenarios = SCENARIOS,
	.init = dpdk_init,
	.fini = dpdk_fini,
	.start = dpdk_start,
	.stop = dpdk_stop,
	.copy = dpdk_copy,
	.batch = dpdk_batch,
	.submit = dpdk_submit,
	.wait_all = dpdk_wait_all,
	.threads = dpdk_threads,
};

#else /* !ADMA_BENCH_HAVE_DPDK */

const struct bench_peer bench_peer_dpdk = {
	.name = "dpdk",
	.what = "DPDK dmadev, dma_skeleton0 (one copy thread), rte_dma_copy/submit/completed",
	.scenarios = SCENARIOS,
#if defined(ADMA_BENCH_DPDK_SANITIZED)
	.skip = "DPDK is off in sanitizer builds",
#else
	.skip = "libdpdk-dev not installed",
#endif
};

#endif /* ADMA_BENCH_HAVE_DPDK */
