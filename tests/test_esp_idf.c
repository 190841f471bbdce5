/* SPDX-License-Identifier: MIT */
/*
 * libadma-esp under the scenarios of ESP-IDF's own async memcpy test app (written anew here),
 * each run with every install function (esp_async_memcpy_install, _gdma_ahb, _gdma_axi,
 * _cpdma):
 *   - repeated copies: 100 rounds into one destination buffer, the source's content changed and
 *     the size (256 bytes to 4 KiB) changed every round; after each round's callback has
 *     signalled, the destination equals the new source over the size and a CPU model of the
 *     earlier rounds beyond it (so a stale or over-long copy shows);
 *   - alignment: sizes 256, 512, 1024, 2048, 4096, 5008, 5011 and 5012 at source offsets 0-3
 *     times destination offsets 0-3 (mutually misaligned pairs included), each copy checked
 *     byte for byte, the guard bytes around the destination untouched, the source unchanged;
 *   - five copies of different sizes between separate buffers in flight at once: every
 *     callback runs exactly once, in submission order, and every destination is right after
 *     the last one;
 *   - the callback gets the handle, an event whose data is NULL and its own argument.
 * Then throughput against CPU memcpy (1 MiB and 64 KiB copies, a few hundred each, submitted
 * the ESP-IDF way: a semaphore the callback posts frees a place): both figures are printed in
 * MB/s; only the data is asserted, never a time.
 */

/* The header comes first, before anything else is included, so that this file fails to
 * compile if esp_async_memcpy.h ever stops being self-contained. */
#include "esp_async_memcpy.h"

#include "helpers.h"

#include <semaphore.h>

#define GUARD 64
#define GUARD_BYTE 0xEE

typedef esp_err_t (*install_fn)(const async_memcpy_config_t *config, async_memcpy_handle_t *mcp);

static const struct {
	const char *name;
	install_fn install;
} installs[] = {
	{ "esp_async_memcpy_install", esp_async_memcpy_install },
	{ "esp_async_memcpy_install_gdma_ahb", esp_async_memcpy_install_gdma_ahb },
	{ "esp_async_memcpy_install_gdma_axi", esp_async_memcpy_install_gdma_axi },
	{ "esp_async_memcpy_install_cpdma", esp_async_memcpy_install_cpdma },
};

#define NINSTALLS (sizeof(installs) / sizeof(installs[0]))

#define ASSERT_ESP_OK(call)                                                                  \
	do {                                                                                 \
		esp_err_t rc_ = (call);                                                      \
		if (rc_ != ESP_OK)                                                           \
			T_FAILED("%s returned 0x%x, expected ESP_OK", #call, (unsigned)rc_); \
	} while (0)

/* What one copy's callback saw. */
struct done {
	sem_t *sem;
	async_memcpy_handle_t mcp;
	unsigned index;
	atomic_uint calls;
	atomic_uint *order_pos; /* NULL: the order is not recorded */
	unsigned *order;
};

static bool on_done(async_memcpy_handle_t mcp, async_memcpy_event_t *event, void *cb_args)
{
	struct done *d = cb_args;

	CHECK(mcp == d->mcp);
	CHECK(event != NULL && event->data == NULL);
	if (d->order_pos)
		d->order[atomic_fetch_add(d->order_pos, 1)] = d->index;
	atomic_fetch_add(&d->calls, 1);
	t_sem_post(d->sem);
	return false;
}

/* Waits for one post of @s; fails the test instead of hanging (generous: 30 s, 300 s under
 * valgrind). */
static void wait_post(sem_t *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += t_valgrind() ? 300 : 30;
	if (!t_sem_timedwait(s, &ts))
		T_FAILED("no callback signalled: sem_timedwait: %s", strerror(errno));
}

static async_memcpy_handle_t install_default(install_fn install)
{
	async_memcpy_config_t cfg = ASYNC_MEMCPY_DEFAULT_CONFIG();
	async_memcpy_handle_t mcp = NULL;

	ASSERT_ESP_OK(install(&cfg, &mcp));
	ASSERT(mcp != NULL);
	return mcp;
}

/* ---- (a) repeated copies into one destination -------------------------------------------- */

#define REPEAT_ROUNDS 100
#define REPEAT_MAX 4096

static void repeated(install_fn install)
{
	async_memcpy_handle_t mcp = install_default(install);
	uint8_t *src = malloc(REPEAT_MAX), *dst = malloc(REPEAT_MAX), *model = malloc(REPEAT_MAX);
	sem_t sem;

	ASSERT(src && dst && model);
	ASSERT_EQ(sem_init(&sem, 0, 0), 0);
	memset(dst, 0x3C, REPEAT_MAX);
	memset(model, 0x3C, REPEAT_MAX);
	for (unsigned r = 0; r < REPEAT_ROUNDS; r++) {
		size_t n = 256 + (size_t)r * (REPEAT_MAX - 256) / (REPEAT_ROUNDS - 1);
		struct done d = { .sem = &sem, .mcp = mcp, .index = r };
		size_t bad;

		t_fill_random(src, REPEAT_MAX, 1000 + r);
		ASSERT_ESP_OK(esp_async_memcpy(mcp, dst, src, n, on_done, &d));
		wait_post(&sem);
		ASSERT_EQ(atomic_load(&d.calls), 1);
		memcpy(model, src, n);
		bad = t_first_diff(dst, model, REPEAT_MAX);
		if (bad < REPEAT_MAX)
			T_FAILED("round %u (%zu bytes): byte %zu is 0x%02x, expected 0x%02x", r, n,
				 bad, dst[bad], model[bad]);
	}
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);
	ASSERT_ESP_OK(esp_async_memcpy_uninstall(mcp));
	sem_destroy(&sem);
	free(src);
	free(dst);
	free(model);
}

/* ---- (b) sizes and misalignment ---------------------------------------------------------- */

static const size_t align_sizes[] = { 256, 512, 1024, 2048, 4096, 5008, 5011, 5012 };

#define ALIGN_MAX 5012
#define ALIGN_BUF (ALIGN_MAX + 3 + 2 * GUARD)

static void misaligned(install_fn install)
{
	async_memcpy_handle_t mcp = install_default(install);
	uint8_t *src = malloc(ALIGN_BUF), *orig = malloc(ALIGN_BUF), *dst = malloc(ALIGN_BUF);
	unsigned round = 0;
	sem_t sem;

	ASSERT(src && orig && dst);
	ASSERT_EQ(sem_init(&sem, 0, 0), 0);
	for (size_t k = 0; k < sizeof(align_sizes) / sizeof(align_sizes[0]); k++) {
		size_t n = align_sizes[k];

		for (unsigned so = 0; so < 4; so++) {
			for (unsigned dof = 0; dof < 4; dof++, round++) {
				struct done d = { .sem = &sem, .mcp = mcp, .index = round };
				uint8_t *from = src + GUARD + so, *to = dst + GUARD + dof;
				size_t head = GUARD + dof, tail = ALIGN_BUF - head - n, bad;

				t_fill_random(src, ALIGN_BUF, 77 + round);
				memcpy(orig, src, ALIGN_BUF);
				memset(dst, GUARD_BYTE, ALIGN_BUF);
				ASSERT_ESP_OK(esp_async_memcpy(mcp, to, from, n, on_done, &d));
				wait_post(&sem);
				ASSERT_EQ(atomic_load(&d.calls), 1);
				bad = t_first_diff(to, from, n);
				if (bad < n)
					T_FAILED("%zu bytes, src offset %u, dst offset %u: byte %zu "
						 "is 0x%02x, expected 0x%02x",
						 n, so, dof, bad, to[bad], from[bad]);
				bad = t_first_not(dst, head, GUARD_BYTE);
				if (bad < head)
					T_FAILED("%zu bytes, src offset %u, dst offset %u: guard byte "
						 "%zu before the destination was written",
						 n, so, dof, head - bad);
				bad = t_first_not(to + n, tail, GUARD_BYTE);
				if (bad < tail)
					T_FAILED("%zu bytes, src offset %u, dst offset %u: guard byte "
						 "%zu after the destination was written",
						 n, so, dof, bad);
				ASSERT_EQ(t_first_diff(src, orig, ALIGN_BUF), ALIGN_BUF);
			}
		}
	}
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);
	ASSERT_ESP_OK(esp_async_memcpy_uninstall(mcp));
	sem_destroy(&sem);
	free(src);
	free(orig);
	free(dst);
}

/* ---- (c) five copies in flight at once --------------------------------------------------- */

#define INFLIGHT 5

static const size_t inflight_sizes[INFLIGHT] = { 1024, 4093, 16384, 65539, 262144 };

static void in_flight(install_fn install)
{
	async_memcpy_handle_t mcp = install_default(install);
	uint8_t *src[INFLIGHT], *dst[INFLIGHT];
	struct done d[INFLIGHT];
	unsigned order[INFLIGHT];
	atomic_uint pos = 0;
	sem_t sem;

	ASSERT_EQ(sem_init(&sem, 0, 0), 0);
	for (unsigned i = 0; i < INFLIGHT; i++) {
		src[i] = malloc(inflight_sizes[i]);
		dst[i] = calloc(1, inflight_sizes[i]);
		ASSERT(src[i] && dst[i]);
		t_fill_random(src[i], inflight_sizes[i], 500 + i);
		d[i] = (struct done){
			.sem = &sem, .mcp = mcp, .index = i, .order_pos = &pos, .order = order
		};
	}
	for (unsigned i = 0; i < INFLIGHT; i++)
		ASSERT_ESP_OK(
			esp_async_memcpy(mcp, dst[i], src[i], inflight_sizes[i], on_done, &d[i]));
	for (unsigned i = 0; i < INFLIGHT; i++)
		wait_post(&sem);
	ASSERT_EQ(atomic_load(&pos), INFLIGHT);
	for (unsigned i = 0; i < INFLIGHT; i++) {
		size_t bad = t_first_diff(dst[i], src[i], inflight_sizes[i]);

		ASSERT_EQ(atomic_load(&d[i].calls), 1);
		ASSERT_EQ(order[i], i);
		if (bad < inflight_sizes[i])
			T_FAILED("copy %u (%zu bytes): byte %zu differs", i, inflight_sizes[i],
				 bad);
	}
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);
	ASSERT_ESP_OK(esp_async_memcpy_uninstall(mcp));
	for (unsigned i = 0; i < INFLIGHT; i++) {
		free(src[i]);
		free(dst[i]);
	}
	sem_destroy(&sem);
}

/* ---- (d) throughput against CPU memcpy -------------------------------------------------- */

#define NDST 4

struct counter {
	sem_t sem;
	atomic_uint calls;
};

static bool count_done(async_memcpy_handle_t mcp, async_memcpy_event_t *event, void *cb_args)
{
	struct counter *c = cb_args;

	(void)mcp;
	(void)event;
	atomic_fetch_add(&c->calls, 1);
	t_sem_post(&c->sem);
	return false;
}

static double mb_per_s(size_t bytes, uint64_t ns)
{
	return ns ? (double)bytes * 1000.0 / (double)ns : 0.0;
}

/* @count copies of @n bytes from one source into NDST destinations in turn, through the
 * driver with at most backlog (8) in flight, then the same with memcpy(). */
static void throughput(size_t n, unsigned count)
{
	async_memcpy_handle_t mcp = install_default(esp_async_memcpy_install);
	async_memcpy_config_t cfg = ASYNC_MEMCPY_DEFAULT_CONFIG();
	uint8_t *src = malloc(n), *dst[NDST];
	struct counter c = { .calls = 0 };
	unsigned in_flight_now = 0;
	uint64_t t0, dma_ns, cpu_ns;

	ASSERT(src != NULL);
	ASSERT_EQ(sem_init(&c.sem, 0, 0), 0);
	t_fill_random(src, n, n + count);
	for (unsigned k = 0; k < NDST; k++) {
		dst[k] = malloc(n);
		ASSERT(dst[k] != NULL);
		memset(dst[k], 0, n); /* touched before timing: no page faults inside */
	}

	t0 = t_now_ns();
	for (unsigned i = 0; i < count; i++) {
		if (in_flight_now == cfg.backlog) {
			wait_post(&c.sem); /* a copy finished: its place is free */
			in_flight_now--;
		}
		ASSERT_ESP_OK(esp_async_memcpy(mcp, dst[i % NDST], src, n, count_done, &c));
		in_flight_now++;
	}
	while (in_flight_now--)
		wait_post(&c.sem);
	dma_ns = t_now_ns() - t0;
	ASSERT_EQ(atomic_load(&c.calls), count);
	for (unsigned k = 0; k < NDST && k < count; k++) {
		ASSERT_EQ(t_first_diff(dst[k], src, n), n);
		memset(dst[k], 0, n);
	}

	t0 = t_now_ns();
	for (unsigned i = 0; i < count; i++) {
		memcpy(dst[i % NDST], src, n);
		__asm__ __volatile__("" : : "r"(dst[i % NDST]) : "memory");
	}
	cpu_ns = t_now_ns() - t0;
	for (unsigned k = 0; k < NDST && k < count; k++)
		ASSERT_EQ(t_first_diff(dst[k], src, n), n);

	printf("throughput, %u copies of %zu KiB: esp_async_memcpy %.1f MB/s, CPU memcpy %.1f MB/s "
	       "(esp_async_memcpy/memcpy %.2f)\n",
	       count, n >> 10, mb_per_s(n * count, dma_ns), mb_per_s(n * count, cpu_ns),
	       cpu_ns && dma_ns ? (double)cpu_ns / (double)dma_ns : 0.0);
	ASSERT_ESP_OK(esp_async_memcpy_uninstall(mcp));
	sem_destroy(&c.sem);
	for (unsigned k = 0; k < NDST; k++)
		free(dst[k]);
	free(src);
}

int main(void)
{
	for (size_t i = 0; i < NINSTALLS; i++) {
		t_config_name = installs[i].name;
		repeated(installs[i].install);
		misaligned(installs[i].install);
		in_flight(installs[i].install);
	}
	t_config_name = "throughput";
	throughput((size_t)1 << 20, t_valgrind() ? 8 : T_SLOW_BUILD ? 32 : 300);
	throughput((size_t)64 << 10, t_valgrind() ? 16 : T_SLOW_BUILD ? 64 : 400);
	return T_PASS;
}
