/* SPDX-License-Identifier: MIT */
/*
 * libadma-esp where ESP-IDF's own tests never go: every return code of the header's contract.
 *   - Codes and types: the error codes have ESP-IDF's values; ASYNC_MEMCPY_DEFAULT_CONFIG()
 *     is backlog 8 and installs; the legacy async_memcpy_t works as a handle.
 *   - Install (all four functions): NULL config or mcp is ESP_ERR_INVALID_ARG, *mcp NULL after
 *     any failure; sram_trans_align 3 and 12, psram_trans_align 8 and 128, dma_burst_size 24
 *     and a backlog of 4194304 are refused; sram 4 and 64, psram 0/16/32/64, any weight and
 *     flags are accepted.
 *   - esp_async_memcpy: NULL mcp/dst/src, size 0, overlapping ranges, and (sram_trans_align
 *     16) a misaligned dst, src or size are ESP_ERR_INVALID_ARG with nothing written and no
 *     callback; aligned copies work. A failure prints "adma-esp: <function>: ... (<code>)" on
 *     stderr, and nothing with ADMA_QUIET=1 (kept set for the rest of the bad input).
 *   - Backlog, deterministically (the first copy's callback holds the channel): exactly
 *     backlog more copies are accepted (8 by default, 4 for 0, 1 for 1), the next is
 *     ESP_ERR_INVALID_STATE at once and writes nothing; uninstall meanwhile is
 *     ESP_ERR_INVALID_STATE and frees nothing: afterwards every copy completes and verifies,
 *     the refused one goes through when resubmitted, and uninstall is ESP_OK.
 *   - Backlog 1 as ESP-IDF uses it: a thread woken by the callback submits the next copy at
 *     once, and a callback submits the next copy itself: never refused.
 *   - Order: callbacks run in submission order, never two at once, never in the submitting
 *     thread.
 *   - Uninstall: NULL is ESP_ERR_INVALID_ARG; from the handle's own callback it is
 *     ESP_ERR_INVALID_STATE (with or without copies behind it), then works from the main
 *     thread; "wait for the last callback's signal, then uninstall" is ESP_OK every time.
 *   - Four threads submitting to one handle, retrying on ESP_ERR_INVALID_STATE: only ESP_OK
 *     and ESP_ERR_INVALID_STATE are seen, every callback runs exactly once, all data right.
 *   - The ETM event: argument checks, none on CP DMA; on the other kinds a non-blocking,
 *     close-on-exec eventfd, readable inside the copy's callback (it fires first), counting
 *     exactly the copies done, on every event of the handle; a poll()-driven loop without
 *     callbacks; deleting one event while copies run leaves the other counting; an event
 *     outlives its handle's uninstall until deleted, and deleting it closes its descriptor.
 */
#include "esp_async_memcpy.h"

#include "helpers.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <semaphore.h>
#include <sys/stat.h>

typedef esp_err_t (*install_fn)(const async_memcpy_config_t *config, async_memcpy_handle_t *mcp);

static const struct {
	const char *name;
	install_fn install;
	bool etm; /* has the ETM "copy done" event */
} installs[] = {
	{ "esp_async_memcpy_install", esp_async_memcpy_install, true },
	{ "esp_async_memcpy_install_gdma_ahb", esp_async_memcpy_install_gdma_ahb, true },
	{ "esp_async_memcpy_install_gdma_axi", esp_async_memcpy_install_gdma_axi, true },
	{ "esp_async_memcpy_install_cpdma", esp_async_memcpy_install_cpdma, false },
};

#define NINSTALLS (sizeof(installs) / sizeof(installs[0]))

static const char *esp_name(esp_err_t err)
{
	switch (err) {
	case ESP_OK:
		return "ESP_OK";
	case ESP_FAIL:
		return "ESP_FAIL";
	case ESP_ERR_NO_MEM:
		return "ESP_ERR_NO_MEM";
	case ESP_ERR_INVALID_ARG:
		return "ESP_ERR_INVALID_ARG";
	case ESP_ERR_INVALID_STATE:
		return "ESP_ERR_INVALID_STATE";
	case ESP_ERR_INVALID_SIZE:
		return "ESP_ERR_INVALID_SIZE";
	case ESP_ERR_NOT_SUPPORTED:
		return "ESP_ERR_NOT_SUPPORTED";
	default:
		return "unknown";
	}
}

/* A call that must return exactly @want. */
#define ASSERT_ESP(call, want)                                                                    \
	do {                                                                                      \
		esp_err_t rc_ = (call), want_ = (want);                                           \
		if (rc_ != want_)                                                                 \
			T_FAILED("%s returned %s (0x%x), expected %s (0x%x)", #call,              \
				 esp_name(rc_), (unsigned)rc_, esp_name(want_), (unsigned)want_); \
	} while (0)

#define ASSERT_ESP_OK(call) ASSERT_ESP(call, ESP_OK)

/* Scales an iteration count: a quarter under valgrind or TSan. */
static unsigned scaled(unsigned n)
{
	return t_slow() ? n / 4 : n;
}

static struct timespec realtime_in(unsigned s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += t_valgrind() ? 10 * s : s;
	return ts;
}

/* Waits for one post of @s for up to @s_max seconds (ten times that under valgrind).
 * @return false on timeout. Usable off the main thread. */
static bool sem_wait_s(sem_t *s, unsigned s_max)
{
	struct timespec ts = realtime_in(s_max);

	return t_sem_timedwait(s, &ts);
}

/* Waits for one post of @s on the main thread: fails the test instead of hanging. */
#define WAIT_POST(s)                                                   \
	do {                                                           \
		if (!sem_wait_s((s), 30))                              \
			T_FAILED("%s was not posted within 30 s", #s); \
	} while (0)

static async_memcpy_handle_t install_with(install_fn install, const async_memcpy_config_t *cfg)
{
	async_memcpy_handle_t mcp = NULL;

	ASSERT_ESP_OK(install(cfg, &mcp));
	ASSERT(mcp != NULL);
	return mcp;
}

static async_memcpy_handle_t install_backlog(install_fn install, uint32_t backlog)
{
	async_memcpy_config_t cfg = ASYNC_MEMCPY_DEFAULT_CONFIG();

	cfg.backlog = backlog;
	return install_with(install, &cfg);
}

/* A callback that counts and posts. */
struct sync {
	sem_t sem;
	atomic_uint calls;
};

static void sync_init(struct sync *s)
{
	atomic_init(&s->calls, 0);
	ASSERT_EQ(sem_init(&s->sem, 0, 0), 0);
}

static bool post_cb(async_memcpy_handle_t mcp, async_memcpy_event_t *event, void *cb_args)
{
	struct sync *s = cb_args;

	CHECK(mcp != NULL);
	CHECK(event != NULL && event->data == NULL);
	atomic_fetch_add(&s->calls, 1);
	t_sem_post(&s->sem);
	return false;
}

/* A callback that must never run. */
static atomic_uint stray_calls;

static bool stray_cb(async_memcpy_handle_t mcp, async_memcpy_event_t *event, void *cb_args)
{
	(void)mcp;
	(void)event;
	(void)cb_args;
	atomic_fetch_add(&stray_calls, 1);
	return false;
}

/* Every copy of @mcp submitted so far has completed: one more copy, ordered behind them, whose
 * callback is waited for. */
static void sync_handle(async_memcpy_handle_t mcp)
{
	static _Alignas(64) uint8_t a[64], b[64]; /* any sram_trans_align up to 64 */
	struct sync s;

	sync_init(&s);
	ASSERT_ESP_OK(esp_async_memcpy(mcp, b, a, sizeof(a), post_cb, &s));
	WAIT_POST(&s.sem);
	/* The callback may still be returning: sem_post is its last touch of s, and sem_destroy
	 * of a semaphore nobody waits on is allowed. */
	sem_destroy(&s.sem);
}

/* ---- codes, default config, legacy type ------------------------------------------------ */

static void test_codes(void)
{
	async_memcpy_config_t cfg = ASYNC_MEMCPY_DEFAULT_CONFIG();
	async_memcpy_t legacy = NULL;
	async_memcpy_handle_t h;
	uint8_t src[256], dst[256] = { 0 };
	struct sync s;

	t_config_name = "codes";
	ASSERT_EQ(ESP_OK, 0);
	ASSERT_EQ(ESP_FAIL, -1);
	ASSERT_EQ(ESP_ERR_NO_MEM, 0x101);
	ASSERT_EQ(ESP_ERR_INVALID_ARG, 0x102);
	ASSERT_EQ(ESP_ERR_INVALID_STATE, 0x103);
	ASSERT_EQ(ESP_ERR_INVALID_SIZE, 0x104);
	ASSERT_EQ(ESP_ERR_NOT_SUPPORTED, 0x106);
	ASSERT_EQ(sizeof(esp_err_t), sizeof(int));
	ASSERT_EQ(ASYNC_MEMCPY_ETM_EVENT_COPY_DONE, 0);

	ASSERT_EQ(cfg.backlog, 8);
	ASSERT_EQ(cfg.sram_trans_align, 0);
	ASSERT_EQ(cfg.psram_trans_align, 0);
	ASSERT_EQ(cfg.flags, 0);

	/* The legacy handle type, through the default install function. */
	sync_init(&s);
	t_fill_random(src, sizeof(src), 3);
	ASSERT_ESP_OK(esp_async_memcpy_install(&cfg, &legacy));
	ASSERT(legacy != NULL);
	h = legacy;
	ASSERT_ESP_OK(esp_async_memcpy(legacy, dst, src, sizeof(src), post_cb, &s));
	WAIT_POST(&s.sem);
	ASSERT_EQ(memcmp(dst, src, sizeof(src)), 0);
	ASSERT_ESP_OK(esp_async_memcpy_uninstall(h));
	ASSERT_EQ(atomic_load(&s.calls), 1);
	sem_destroy(&s.sem);
}

/* ---- install ------------------------------------------------------------------------------ */

/* @cfg must be refused with ESP_ERR_INVALID_ARG and *mcp set to NULL. */
static void install_refused(install_fn install, const async_memcpy_config_t *cfg, const char *what)
{
	async_memcpy_handle_t mcp = (async_memcpy_handle_t)(uintptr_t)0x1234;
	esp_err_t rc = install(cfg, &mcp);

	if (rc != ESP_ERR_INVALID_ARG)
		T_FAILED("install with %s returned %s (0x%x), expected ESP_ERR_INVALID_ARG", what,
			 esp_name(rc), (unsigned)rc);
	if (mcp != NULL)
		T_FAILED("install with %s failed but left *mcp = %p", what, (void *)mcp);
}

/* @cfg must install; one copy through it. */
static void install_accepted(install_fn install, const async_memcpy_config_t *cfg, const char *what)
{
	async_memcpy_handle_t mcp = NULL;
	esp_err_t rc = install(cfg, &mcp);
	static _Alignas(64) uint8_t src[256], dst[256];

	if (rc != ESP_OK || mcp == NULL)
		T_FAILED("install with %s returned %s (0x%x), handle %p, expected ESP_OK", what,
			 esp_name(rc), (unsigned)rc, (void *)mcp);
	t_fill_random(src, sizeof(src), (uint64_t)(uintptr_t)what);
	memset(dst, 0, sizeof(dst));
	sync_handle(mcp); /* works */
	ASSERT_ESP_OK(esp_async_memcpy(mcp, dst, src, sizeof(src), NULL, NULL));
	sync_handle(mcp);
	ASSERT_EQ(memcmp(dst, src, sizeof(src)), 0);
	ASSERT_ESP_OK(esp_async_memcpy_uninstall(mcp));
}

static void test_install(void)
{
	for (size_t i = 0; i < NINSTALLS; i++) {
		install_fn install = installs[i].install;
		async_memcpy_config_t cfg = ASYNC_MEMCPY_DEFAULT_CONFIG();
		async_memcpy_handle_t mcp = (async_memcpy_handle_t)(uintptr_t)0x1234;

		t_config_name = installs[i].name;
		ASSERT_ESP(install(NULL, &mcp), ESP_ERR_INVALID_ARG);
		ASSERT(mcp == NULL);
		ASSERT_ESP(install(&cfg, NULL), ESP_ERR_INVALID_ARG);
		ASSERT_ESP(install(NULL, NULL), ESP_ERR_INVALID_ARG);

		static const size_t sram_bad[] = { 3, 12, 6, 100 }, sram_ok[] = { 0, 1, 4, 64 };
		static const size_t psram_bad[] = { 8, 128, 4, 48 }, psram_ok[] = { 0, 16, 32, 64 };
		static const size_t burst_bad[] = { 24, 3 }, burst_ok[] = { 0, 4, 16, 64 };
		char what[80];

		for (size_t k = 0; k < 4; k++) {
			cfg = (async_memcpy_config_t)ASYNC_MEMCPY_DEFAULT_CONFIG();
			cfg.sram_trans_align = sram_bad[k];
			snprintf(what, sizeof(what), "sram_trans_align %zu", sram_bad[k]);
			install_refused(install, &cfg, what);
			cfg.sram_trans_align = sram_ok[k];
			snprintf(what, sizeof(what), "sram_trans_align %zu", sram_ok[k]);
			install_accepted(install, &cfg, what);

			cfg = (async_memcpy_config_t)ASYNC_MEMCPY_DEFAULT_CONFIG();
			cfg.psram_trans_align = psram_bad[k];
			snprintf(what, sizeof(what), "psram_trans_align %zu", psram_bad[k]);
			install_refused(install, &cfg, what);
			cfg.psram_trans_align = psram_ok[k];
			snprintf(what, sizeof(what), "psram_trans_align %zu", psram_ok[k]);
			install_accepted(install, &cfg, what);

			cfg = (async_memcpy_config_t)ASYNC_MEMCPY_DEFAULT_CONFIG();
			cfg.dma_burst_size = burst_ok[k];
			snprintf(what, sizeof(what), "dma_burst_size %zu", burst_ok[k]);
			install_accepted(install, &cfg, what);
			if (k < 2) {
				cfg.dma_burst_size = burst_bad[k];
				snprintf(what, sizeof(what), "dma_burst_size %zu", burst_bad[k]);
				install_refused(install, &cfg, what);
			}
		}

		cfg = (async_memcpy_config_t)ASYNC_MEMCPY_DEFAULT_CONFIG();
		cfg.backlog = 4194304;
		install_refused(install, &cfg, "backlog 4194304");
		cfg.backlog = UINT32_MAX;
		install_refused(install, &cfg, "backlog UINT32_MAX");

		cfg = (async_memcpy_config_t)ASYNC_MEMCPY_DEFAULT_CONFIG();
		cfg.weight = UINT32_MAX;
		cfg.flags = UINT32_MAX;
		install_accepted(install, &cfg, "weight and flags UINT32_MAX");
		cfg.weight = 7;
		cfg.flags = 0x5a5a5a5a;
		install_accepted(install, &cfg, "weight 7, flags 0x5a5a5a5a");
	}
}

/* ---- esp_async_memcpy's bad input ---------------------------------------------------------- */

/* Runs esp_async_memcpy(mcp, NULL, src, 16, ...) with fd 2 going to a temporary file, and
 * puts what it printed in @out. */
static esp_err_t captured_bad_copy(async_memcpy_handle_t mcp, char *out, size_t cap)
{
	static uint8_t src[16];
	FILE *tmp = tmpfile();
	int saved;
	esp_err_t rc;
	size_t n;

	ASSERT(tmp != NULL);
	fflush(stderr);
	saved = dup(2);
	ASSERT_GE(saved, 0);
	ASSERT_GE(dup2(fileno(tmp), 2), 0);
	rc = esp_async_memcpy(mcp, NULL, src, sizeof(src), stray_cb, NULL);
	fflush(stderr);
	ASSERT_GE(dup2(saved, 2), 0);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, cap - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	return rc;
}

static void test_messages(void)
{
	async_memcpy_handle_t mcp = install_backlog(esp_async_memcpy_install, 8);
	char out[1024];

	t_config_name = "messages";
	unsetenv("ADMA_QUIET");
	ASSERT_ESP(captured_bad_copy(mcp, out, sizeof(out)), ESP_ERR_INVALID_ARG);
	if (!strstr(out, "adma-esp: esp_async_memcpy:") || !strstr(out, "ESP_ERR_INVALID_ARG"))
		T_FAILED("the failure printed \"%s\", not the \"adma-esp: esp_async_memcpy: ... "
			 "(ESP_ERR_INVALID_ARG)\" line",
			 out);
	ASSERT_EQ(setenv("ADMA_QUIET", "0", 1), 0); /* "0" is not quiet */
	ASSERT_ESP(captured_bad_copy(mcp, out, sizeof(out)), ESP_ERR_INVALID_ARG);
	ASSERT(strstr(out, "adma-esp: esp_async_memcpy:") != NULL);
	ASSERT_EQ(setenv("ADMA_QUIET", "1", 1), 0);
	ASSERT_ESP(captured_bad_copy(mcp, out, sizeof(out)), ESP_ERR_INVALID_ARG);
	if (out[0] != '\0')
		T_FAILED("with ADMA_QUIET=1 the failure still printed \"%s\"", out);
	ASSERT_ESP_OK(esp_async_memcpy_uninstall(mcp));
	ASSERT_EQ(atomic_load(&stray_calls), 0);
	/* ADMA_QUIET=1 stays set: the rest of the bad input is silent. */
}

#define BAD_N 256

static void test_bad_copies(void)
{
	static _Alignas(64) uint8_t src[2 * BAD_N], dst[2 * BAD_N], buf[2 * BAD_N];
	static uint8_t dst_ref[sizeof(dst)], buf_ref[sizeof(buf)];

	for (size_t i = 0; i < NINSTALLS; i++) {
		async_memcpy_handle_t mcp = install_backlog(installs[i].install, 4);
		async_memcpy_config_t cfg = ASYNC_MEMCPY_DEFAULT_CONFIG();
		struct sync s;

		t_config_name = installs[i].name;
		t_fill_random(src, sizeof(src), 11 + i);
		t_fill_random(buf, sizeof(buf), 12 + i);
		memset(dst, 0xD5, sizeof(dst));
		memcpy(dst_ref, dst, sizeof(dst));
		memcpy(buf_ref, buf, sizeof(buf));

		ASSERT_ESP(esp_async_memcpy(NULL, dst, src, BAD_N, stray_cb, NULL),
			   ESP_ERR_INVALID_ARG);
		ASSERT_ESP(esp_async_memcpy(mcp, NULL, src, BAD_N, stray_cb, NULL),
			   ESP_ERR_INVALID_ARG);
		ASSERT_ESP(esp_async_memcpy(mcp, dst, NULL, BAD_N, stray_cb, NULL),
			   ESP_ERR_INVALID_ARG);
		ASSERT_ESP(esp_async_memcpy(mcp, dst, src, 0, stray_cb, NULL), ESP_ERR_INVALID_ARG);
		ASSERT_ESP(esp_async_memcpy(NULL, NULL, NULL, 0, NULL, NULL), ESP_ERR_INVALID_ARG);
		/* overlaps, both ways, and the same buffer */
		ASSERT_ESP(esp_async_memcpy(mcp, buf + 8, buf, BAD_N, stray_cb, NULL),
			   ESP_ERR_INVALID_ARG);
		ASSERT_ESP(esp_async_memcpy(mcp, buf, buf + 8, BAD_N, stray_cb, NULL),
			   ESP_ERR_INVALID_ARG);
		ASSERT_ESP(esp_async_memcpy(mcp, buf, buf, BAD_N, stray_cb, NULL),
			   ESP_ERR_INVALID_ARG);
		ASSERT_ESP(esp_async_memcpy(mcp, buf + BAD_N - 1, buf, BAD_N, stray_cb, NULL),
			   ESP_ERR_INVALID_ARG);
		/* a range that wraps around the address space */
		ASSERT_ESP(esp_async_memcpy(mcp, dst, (void *)(UINTPTR_MAX - 15), 64, stray_cb,
					    NULL),
			   ESP_ERR_INVALID_ARG);

		/* Everything submitted before this has completed: nothing was written, no stray
		 * callback ran. Adjacent ranges are not an overlap. */
		ASSERT_ESP_OK(esp_async_memcpy(mcp, buf + BAD_N, buf, BAD_N, NULL, NULL));
		sync_handle(mcp);
		memcpy(buf_ref + BAD_N, buf_ref, BAD_N);
		ASSERT_EQ(memcmp(dst, dst_ref, sizeof(dst)), 0);
		ASSERT_EQ(memcmp(buf, buf_ref, sizeof(buf)), 0);
		ASSERT_EQ(atomic_load(&stray_calls), 0);
		ASSERT_ESP_OK(esp_async_memcpy_uninstall(mcp));
		ASSERT_EQ(atomic_load(&stray_calls), 0);

		/* sram_trans_align 16 */
		cfg.sram_trans_align = 16;
		mcp = install_with(installs[i].install, &cfg);
		ASSERT_ESP(esp_async_memcpy(mcp, dst + 4, src, 64, stray_cb, NULL),
			   ESP_ERR_INVALID_ARG);
		ASSERT_ESP(esp_async_memcpy(mcp, dst + 8, src, 64, stray_cb, NULL),
			   ESP_ERR_INVALID_ARG);
		ASSERT_ESP(esp_async_memcpy(mcp, dst, src + 4, 64, stray_cb, NULL),
			   ESP_ERR_INVALID_ARG);
		ASSERT_ESP(esp_async_memcpy(mcp, dst, src + 1, 64, stray_cb, NULL),
			   ESP_ERR_INVALID_ARG);
		ASSERT_ESP(esp_async_memcpy(mcp, dst, src, 24, stray_cb, NULL),
			   ESP_ERR_INVALID_ARG);
		ASSERT_ESP(esp_async_memcpy(mcp, dst, src, 15, stray_cb, NULL),
			   ESP_ERR_INVALID_ARG);
		sync_init(&s);
		ASSERT_ESP_OK(esp_async_memcpy(mcp, dst + 16, src + 32, 48, post_cb, &s));
		WAIT_POST(&s.sem);
		memcpy(dst_ref + 16, src + 32, 48);
		ASSERT_EQ(memcmp(dst, dst_ref, sizeof(dst)), 0);
		ASSERT_ESP_OK(esp_async_memcpy_uninstall(mcp));
		ASSERT_EQ(atomic_load(&s.calls), 1);
		ASSERT_EQ(atomic_load(&stray_calls), 0);
		sem_destroy(&s.sem);
	}
}

/* ---- backlog ------------------------------------------------------------------------------ */

/* The first copy's callback: says it is running, then holds the channel until the gate
 * opens. */
struct blocker {
	sem_t entered, gate, done;
	atomic_uint calls;
	atomic_bool gate_timeout;
};

static void blocker_init(struct blocker *b)
{
	ASSERT_EQ(sem_init(&b->entered, 0, 0), 0);
	ASSERT_EQ(sem_init(&b->gate, 0, 0), 0);
	ASSERT_EQ(sem_init(&b->done, 0, 0), 0);
	atomic_init(&b->calls, 0);
	atomic_init(&b->gate_timeout, false);
}

static void blocker_destroy(struct blocker *b)
{
	sem_destroy(&b->entered);
	sem_destroy(&b->gate);
	sem_destroy(&b->done);
}

static bool block_cb(async_memcpy_handle_t mcp, async_memcpy_event_t *event, void *cb_args)
{
	struct blocker *b = cb_args;

	(void)mcp;
	(void)event;
	t_sem_post(&b->entered);
	if (!sem_wait_s(&b->gate, 60))
		atomic_store(&b->gate_timeout, true);
	atomic_fetch_add(&b->calls, 1);
	t_sem_post(&b->done);
	return false;
}

static bool done_cb(async_memcpy_handle_t mcp, async_memcpy_event_t *event, void *cb_args)
{
	struct blocker *b = cb_args;

	(void)mcp;
	(void)event;
	atomic_fetch_add(&b->calls, 1);
	t_sem_post(&b->done);
	return false;
}

#define BL_N 64

static void backlog_case(install_fn install, const async_memcpy_config_t *cfg, unsigned expect)
{
	async_memcpy_handle_t mcp = install_with(install, cfg);
	unsigned total = expect + 2; /* the blocked one, expect accepted, one refused */
	uint8_t *src = malloc((size_t)total * BL_N), *dst = calloc(total, BL_N);
	uint8_t zero[BL_N] = { 0 };
	struct blocker b;

	ASSERT(src && dst);
	blocker_init(&b);
	t_fill_random(src, (size_t)total * BL_N, 99 + expect);

	ASSERT_ESP_OK(esp_async_memcpy(mcp, dst, src, BL_N, block_cb, &b));
	WAIT_POST(&b.entered);
	/* Copy 0's place is free: its callback runs. */
	for (unsigned i = 1; i <= expect; i++) {
		esp_err_t rc = esp_async_memcpy(mcp, dst + (size_t)i * BL_N, src + (size_t)i * BL_N,
						BL_N, done_cb, &b);

		if (rc != ESP_OK)
			T_FAILED("backlog %u: copy %u of %u refused with %s", cfg->backlog, i,
				 expect, esp_name(rc));
	}
	for (int k = 0; k < 3; k++)
		ASSERT_ESP(esp_async_memcpy(mcp, dst + (size_t)(expect + 1) * BL_N,
					    src + (size_t)(expect + 1) * BL_N, BL_N, stray_cb,
					    NULL),
			   ESP_ERR_INVALID_STATE);
	/* A bad copy is a bad argument even with the backlog full: retrying cannot help it. */
	ASSERT_ESP(esp_async_memcpy(mcp, dst + 8, dst, 64, stray_cb, NULL), ESP_ERR_INVALID_ARG);
	ASSERT_ESP(esp_async_memcpy(mcp, dst, (void *)(UINTPTR_MAX - 15), 64, stray_cb, NULL),
		   ESP_ERR_INVALID_ARG);
	ASSERT_ESP(esp_async_memcpy_uninstall(mcp), ESP_ERR_INVALID_STATE);
	ASSERT_ESP(esp_async_memcpy_uninstall(mcp), ESP_ERR_INVALID_STATE);

	/* The handle still works. */
	t_sem_post(&b.gate);
	for (unsigned i = 0; i <= expect; i++)
		WAIT_POST(&b.done);
	ASSERT(!atomic_load(&b.gate_timeout));
	ASSERT_EQ(atomic_load(&b.calls), expect + 1);
	for (unsigned i = 0; i <= expect; i++)
		if (memcmp(dst + (size_t)i * BL_N, src + (size_t)i * BL_N, BL_N) != 0)
			T_FAILED("backlog %u: copy %u is wrong", cfg->backlog, i);
	ASSERT_EQ(memcmp(dst + (size_t)(expect + 1) * BL_N, zero, BL_N), 0);
	ASSERT_EQ(atomic_load(&stray_calls), 0);

	/* The refused copy goes through now. */
	ASSERT_ESP_OK(esp_async_memcpy(mcp, dst + (size_t)(expect + 1) * BL_N,
				       src + (size_t)(expect + 1) * BL_N, BL_N, done_cb, &b));
	WAIT_POST(&b.done);
	ASSERT_EQ(memcmp(dst, src, (size_t)total * BL_N), 0);
	ASSERT_ESP_OK(esp_async_memcpy_uninstall(mcp));
	ASSERT_EQ(atomic_load(&b.calls), expect + 2);
	blocker_destroy(&b);
	free(src);
	free(dst);
}

static void test_backlog(void)
{
	static const struct {
		uint32_t backlog; /* UINT32_MAX: ASYNC_MEMCPY_DEFAULT_CONFIG() as is */
		unsigned expect;
	} cases[] = { { UINT32_MAX, 8 }, { 0, 4 }, { 1, 1 }, { 3, 3 }, { 8, 8 }, { 33, 33 } };

	for (size_t i = 0; i < NINSTALLS; i++) {
		t_config_name = installs[i].name;
		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
			async_memcpy_config_t cfg = ASYNC_MEMCPY_DEFAULT_CONFIG();

			if (cases[k].backlog != UINT32_MAX)
				cfg.backlog = cases[k].backlog;
			backlog_case(installs[i].install, &cfg, cases[k].expect);
		}
	}
}

/* ---- backlog 1: the ESP-IDF pattern, and chains ----------------------------------------- */

#define SMALL 64

static void test_wake_and_submit(void)
{
	unsigned n = scaled(2000);
	uint8_t *src = malloc((size_t)n * SMALL), *dst = calloc(n, SMALL);

	ASSERT(src && dst);
	for (size_t i = 0; i < NINSTALLS; i++) {
		async_memcpy_handle_t mcp = install_backlog(installs[i].install, 1);
		struct sync s;

		t_config_name = installs[i].name;
		sync_init(&s);
		t_fill_random(src, (size_t)n * SMALL, 21 + i);
		for (unsigned k = 0; k < n; k++) {
			esp_err_t rc = esp_async_memcpy(mcp, dst + (size_t)k * SMALL,
							src + (size_t)k * SMALL, SMALL, post_cb,
							&s);

			if (rc != ESP_OK)
				T_FAILED("backlog 1: copy %u, submitted once the previous "
					 "callback posted, returned %s",
					 k, esp_name(rc));
			WAIT_POST(&s.sem);
		}
		ASSERT_ESP_OK(esp_async_memcpy_uninstall(mcp));
		ASSERT_EQ(atomic_load(&s.calls), n);
		ASSERT_EQ(t_first_diff(dst, src, (size_t)n * SMALL), (size_t)n * SMALL);
		ASSERT_EQ(atomic_load(t_bg_errors()), 0);
		sem_destroy(&s.sem);
	}
	free(src);
	free(dst);
}

struct chain {
	async_memcpy_handle_t mcp;
	unsigned len;
	atomic_uint done; /* callbacks run */
	atomic_uint refused;
	esp_err_t first_bad;
	uint8_t *src, *dst;
	sem_t end;
};

static bool chain_cb(async_memcpy_handle_t mcp, async_memcpy_event_t *event, void *cb_args)
{
	struct chain *ch = cb_args;
	unsigned k = atomic_fetch_add(&ch->done, 1) + 1; /* copies done, = the next one */
	esp_err_t rc;

	(void)event;
	CHECK(mcp == ch->mcp);
	if (k == ch->len) {
		t_sem_post(&ch->end);
		return false;
	}
	rc = esp_async_memcpy(mcp, ch->dst + (size_t)k * SMALL, ch->src + (size_t)k * SMALL, SMALL,
			      chain_cb, ch);
	if (rc != ESP_OK) {
		ch->first_bad = rc;
		atomic_fetch_add(&ch->refused, 1);
		t_sem_post(&ch->end);
	}
	return false;
}

static void test_chain(void)
{
	for (size_t i = 0; i < NINSTALLS; i++) {
		struct chain ch = { .len = scaled(2000) };

		t_config_name = installs[i].name;
		ch.mcp = install_backlog(installs[i].install, 1);
		ch.src = malloc((size_t)ch.len * SMALL);
		ch.dst = calloc(ch.len, SMALL);
		ASSERT(ch.src && ch.dst);
		ASSERT_EQ(sem_init(&ch.end, 0, 0), 0);
		t_fill_random(ch.src, (size_t)ch.len * SMALL, 31 + i);
		ASSERT_ESP_OK(esp_async_memcpy(ch.mcp, ch.dst, ch.src, SMALL, chain_cb, &ch));
		if (!sem_wait_s(&ch.end, 60))
			T_FAILED("chain stalled after %u of %u copies", atomic_load(&ch.done),
				 ch.len);
		if (atomic_load(&ch.refused))
			T_FAILED("chain: copy %u submitted by a callback was refused with %s",
				 atomic_load(&ch.done), esp_name(ch.first_bad));
		ASSERT_ESP_OK(esp_async_memcpy_uninstall(ch.mcp));
		ASSERT_EQ(atomic_load(&ch.done), ch.len);
		ASSERT_EQ(t_first_diff(ch.dst, ch.src, (size_t)ch.len * SMALL),
			  (size_t)ch.len * SMALL);
		ASSERT_EQ(atomic_load(t_bg_errors()), 0);
		sem_destroy(&ch.end);
		free(ch.src);
		free(ch.dst);
	}
}

/* ---- order ------------------------------------------------------------------------------- */

static _Thread_local bool tl_in_submit;

static struct {
	pthread_t main_thread;
	unsigned n;
	unsigned *order;
	atomic_uint pos;
	atomic_int inside, inside_max;
	atomic_uint on_main;
	sem_t last;
} ord;

static bool order_cb(async_memcpy_handle_t mcp, async_memcpy_event_t *event, void *cb_args)
{
	unsigned seq = (unsigned)(uintptr_t)cb_args, p;
	int in = atomic_fetch_add(&ord.inside, 1) + 1, max = atomic_load(&ord.inside_max);

	(void)mcp;
	(void)event;
	while (in > max && !atomic_compare_exchange_weak(&ord.inside_max, &max, in))
		;
	CHECK(!tl_in_submit);
	if (pthread_equal(pthread_self(), ord.main_thread))
		atomic_fetch_add(&ord.on_main, 1);
	p = atomic_fetch_add(&ord.pos, 1);
	if (p < ord.n)
		ord.order[p] = seq;
	for (volatile int spin = 0; spin < 200; spin++) /* widen the window for an overlap */
		;
	atomic_fetch_sub(&ord.inside, 1);
	if (seq == ord.n - 1)
		t_sem_post(&ord.last);
	return false;
}

static void test_order(void)
{
	static uint8_t src[16], dst[16];

	ord.main_thread = pthread_self();
	ord.n = scaled(2000);
	ord.order = calloc(ord.n, sizeof(*ord.order));
	ASSERT(ord.order != NULL);
	for (size_t i = 0; i < NINSTALLS; i++) {
		async_memcpy_handle_t mcp = install_backlog(installs[i].install, 16);

		t_config_name = installs[i].name;
		atomic_store(&ord.pos, 0);
		atomic_store(&ord.inside_max, 0);
		atomic_store(&ord.on_main, 0);
		ASSERT_EQ(sem_init(&ord.last, 0, 0), 0);
		for (unsigned k = 0; k < ord.n; k++) {
			unsigned spins = 0;
			esp_err_t rc;

			for (;;) {
				tl_in_submit = true;
				rc = esp_async_memcpy(mcp, dst, src, sizeof(src), order_cb,
						      (void *)(uintptr_t)k);
				tl_in_submit = false;
				if (rc != ESP_ERR_INVALID_STATE)
					break;
				t_backoff(&spins);
			}
			ASSERT_ESP_OK(rc);
		}
		WAIT_POST(&ord.last);
		ASSERT_ESP_OK(esp_async_memcpy_uninstall(mcp));
		ASSERT_EQ(atomic_load(&ord.pos), ord.n);
		for (unsigned k = 0; k < ord.n; k++)
			if (ord.order[k] != k)
				T_FAILED("callback %u ran for copy %u", k, ord.order[k]);
		ASSERT_EQ(atomic_load(&ord.inside_max), 1);
		ASSERT_EQ(atomic_load(&ord.on_main), 0);
		ASSERT_EQ(atomic_load(t_bg_errors()), 0);
		sem_destroy(&ord.last);
	}
	free(ord.order);
}

/* ---- uninstall --------------------------------------------------------------------------- */

struct self_uninstall {
	sem_t sem;
	atomic_int rc;
	atomic_uint calls;
};

static bool uninstall_cb(async_memcpy_handle_t mcp, async_memcpy_event_t *event, void *cb_args)
{
	struct self_uninstall *u = cb_args;

	(void)event;
	atomic_store(&u->rc, esp_async_memcpy_uninstall(mcp));
	atomic_fetch_add(&u->calls, 1);
	t_sem_post(&u->sem);
	return false;
}

static void test_uninstall(void)
{
	static uint8_t src[4][256], dst[4][256];
	unsigned rounds = scaled(200);

	t_config_name = "uninstall";
	ASSERT_ESP(esp_async_memcpy_uninstall(NULL), ESP_ERR_INVALID_ARG);

	/* From the handle's own callback: alone (nothing pending), then with a copy behind it. */
	for (size_t i = 0; i < NINSTALLS; i++) {
		for (int behind = 0; behind < 2; behind++) {
			async_memcpy_handle_t mcp = install_backlog(installs[i].install, 4);
			struct self_uninstall u = { .rc = -12345 };
			struct blocker b;

			t_config_name = installs[i].name;
			blocker_init(&b);
			ASSERT_EQ(sem_init(&u.sem, 0, 0), 0);
			t_fill_random(src, sizeof(src), 41 + i);
			memset(dst, 0, sizeof(dst));
			ASSERT_ESP_OK(esp_async_memcpy(mcp, dst[0], src[0], 256, uninstall_cb, &u));
			if (behind)
				ASSERT_ESP_OK(
					esp_async_memcpy(mcp, dst[1], src[1], 256, done_cb, &b));
			WAIT_POST(&u.sem);
			ASSERT_ESP(atomic_load(&u.rc), ESP_ERR_INVALID_STATE);
			if (behind)
				WAIT_POST(&b.done);
			/* Still usable. */
			ASSERT_ESP_OK(esp_async_memcpy(mcp, dst[2], src[2], 256, done_cb, &b));
			WAIT_POST(&b.done);
			ASSERT_ESP_OK(esp_async_memcpy_uninstall(mcp));
			ASSERT_EQ(atomic_load(&u.calls), 1);
			ASSERT_EQ(atomic_load(&b.calls), behind ? 2 : 1);
			ASSERT_EQ(memcmp(dst[0], src[0], 256), 0);
			ASSERT_EQ(memcmp(dst[2], src[2], 256), 0);
			if (behind)
				ASSERT_EQ(memcmp(dst[1], src[1], 256), 0);
			sem_destroy(&u.sem);
			blocker_destroy(&b);
		}
	}

	/* Wait for the last callback's signal, then uninstall at once: copies before the last
	 * have no callback. */
	t_config_name = "uninstall rounds";
	for (unsigned r = 0; r < rounds; r++) {
		async_memcpy_handle_t mcp = install_backlog(installs[r % NINSTALLS].install, 4);
		unsigned copies = r % 4 + 1;
		struct sync s;

		sync_init(&s);
		t_fill_random(src, sizeof(src), 51 + r);
		memset(dst, 0, sizeof(dst));
		for (unsigned k = 0; k < copies; k++) {
			bool last = k + 1 == copies;

			ASSERT_ESP_OK(esp_async_memcpy(mcp, dst[k], src[k], 256,
						       last ? post_cb : NULL, last ? &s : NULL));
		}
		WAIT_POST(&s.sem);
		{
			esp_err_t rc = esp_async_memcpy_uninstall(mcp);

			if (rc != ESP_OK)
				T_FAILED("round %u (%s, %u copies): uninstall right after the last "
					 "callback's signal returned %s",
					 r, installs[r % NINSTALLS].name, copies, esp_name(rc));
		}
		for (unsigned k = 0; k < copies; k++)
			ASSERT_EQ(memcmp(dst[k], src[k], 256), 0);
		ASSERT_EQ(atomic_load(&s.calls), 1);
		sem_destroy(&s.sem);
	}
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);
}

/* ---- several submitting threads ------------------------------------------------------------ */

#define MT_THREADS 4
#define MT_SIZE 48

static struct {
	async_memcpy_handle_t mcp;
	unsigned per_thread, nops;
	uint8_t *src, *dst;
	atomic_uint *calls; /* per copy */
	atomic_uint total;
	unsigned ok[MT_THREADS], full[MT_THREADS], other[MT_THREADS];
	esp_err_t other_rc[MT_THREADS];
} mt;

static bool mt_cb(async_memcpy_handle_t mcp, async_memcpy_event_t *event, void *cb_args)
{
	unsigned i = (unsigned)(uintptr_t)cb_args;

	(void)event;
	CHECK(mcp == mt.mcp);
	CHECK(i < mt.nops);
	if (i < mt.nops)
		atomic_fetch_add(&mt.calls[i], 1);
	atomic_fetch_add(&mt.total, 1);
	return false;
}

static void *mt_submitter(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;

	for (unsigned k = 0; k < mt.per_thread; k++) {
		unsigned i = t * mt.per_thread + k, spins = 0;
		uint64_t deadline = 0;

		for (;;) {
			esp_err_t rc = esp_async_memcpy(mt.mcp, mt.dst + (size_t)i * MT_SIZE,
							mt.src + (size_t)i * MT_SIZE, MT_SIZE,
							mt_cb, (void *)(uintptr_t)i);

			if (rc == ESP_OK) {
				mt.ok[t]++;
				break;
			}
			if (rc != ESP_ERR_INVALID_STATE) {
				mt.other[t]++;
				mt.other_rc[t] = rc;
				return NULL;
			}
			mt.full[t]++;
			if (!deadline)
				deadline = t_deadline_s(30);
			if (t_now_ns() > deadline) {
				CHECK(!"the backlog stayed full for 30 s");
				return NULL;
			}
			t_backoff(&spins);
		}
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t tid[MT_THREADS];
	uint64_t deadline;
	unsigned full = 0;

	t_config_name = "threads";
	memset(&mt, 0, sizeof(mt));
	mt.per_thread = scaled(2000);
	mt.nops = mt.per_thread * MT_THREADS;
	mt.src = malloc((size_t)mt.nops * MT_SIZE);
	mt.dst = calloc(mt.nops, MT_SIZE);
	mt.calls = calloc(mt.nops, sizeof(*mt.calls));
	ASSERT(mt.src && mt.dst && mt.calls);
	t_fill_random(mt.src, (size_t)mt.nops * MT_SIZE, 61);
	mt.mcp = install_backlog(esp_async_memcpy_install, 8);

	for (unsigned t = 0; t < MT_THREADS; t++)
		ASSERT_EQ(pthread_create(&tid[t], NULL, mt_submitter, (void *)(uintptr_t)t), 0);
	for (unsigned t = 0; t < MT_THREADS; t++)
		ASSERT_EQ(pthread_join(tid[t], NULL), 0);
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);
	for (unsigned t = 0; t < MT_THREADS; t++) {
		if (mt.other[t])
			T_FAILED("thread %u: esp_async_memcpy returned %s", t,
				 esp_name(mt.other_rc[t]));
		ASSERT_EQ(mt.ok[t], mt.per_thread);
		full += mt.full[t];
	}
	deadline = t_deadline_s(30);
	while (atomic_load(&mt.total) < mt.nops && t_now_ns() < deadline)
		t_sleep_ms(1);
	ASSERT_EQ(atomic_load(&mt.total), mt.nops);
	ASSERT_ESP_OK(esp_async_memcpy_uninstall(mt.mcp));
	ASSERT_EQ(atomic_load(&mt.total), mt.nops);
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);
	for (unsigned i = 0; i < mt.nops; i++)
		if (atomic_load(&mt.calls[i]) != 1)
			T_FAILED("copy %u: callback ran %u times", i, atomic_load(&mt.calls[i]));
	ASSERT_EQ(t_first_diff(mt.dst, mt.src, (size_t)mt.nops * MT_SIZE),
		  (size_t)mt.nops * MT_SIZE);
	printf("threads: %u copies from %d threads, %u refusals (backlog full) retried\n", mt.nops,
	       MT_THREADS, full);
	free(mt.src);
	free(mt.dst);
	free(mt.calls);
}

/* ---- ETM events ---------------------------------------------------------------------------- */

#define LONG_MS (t_valgrind() ? 300000 : 30000)

/* Whether @fd is readable within @ms (0: now). */
static bool readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int rc;

	do
		rc = poll(&p, 1, ms);
	while (rc < 0 && errno == EINTR);
	CHECK(rc >= 0);
	CHECK((p.revents & (POLLERR | POLLNVAL)) == 0);
	return rc == 1 && (p.revents & POLLIN);
}

/* The 8-byte counter of eventfd @fd, reset; 0 if it was not readable. */
static uint64_t take_count(int fd)
{
	uint64_t v = 0;
	ssize_t n = read(fd, &v, sizeof(v));

	if (n < 0 && errno == EAGAIN)
		return 0;
	ASSERT_EQ(n, (ssize_t)sizeof(v));
	return v;
}

static esp_etm_event_handle_t new_event(async_memcpy_handle_t mcp)
{
	esp_etm_event_handle_t ev = NULL;

	ASSERT_ESP_OK(esp_async_memcpy_new_etm_event(mcp, ASYNC_MEMCPY_ETM_EVENT_COPY_DONE, &ev));
	ASSERT(ev != NULL);
	ASSERT_GE(esp_etm_event_fd(ev), 0);
	return ev;
}

static void check_descriptor(int fd)
{
	char path[64], link[PATH_MAX];
	uint64_t v;
	ssize_t n;
	int fl;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) { /* /proc may be missing */
		link[n] = '\0';
		if (strcmp(link, "anon_inode:[eventfd]") != 0)
			T_FAILED("the event's descriptor is %s, not an eventfd", link);
	}
	fl = fcntl(fd, F_GETFL);
	ASSERT_GE(fl, 0);
	ASSERT(fl & O_NONBLOCK);
	fl = fcntl(fd, F_GETFD);
	ASSERT_GE(fl, 0);
	ASSERT(fl & FD_CLOEXEC);
	errno = 0;
	ASSERT_EQ(read(fd, &v, sizeof(v)), -1);
	ASSERT_EQ(errno, EAGAIN);
	ASSERT(!readable(fd, 0));
}

/* Callbacks that look at the event's descriptor. */
struct etm_cb {
	int fd;
	bool drain; /* read the counter in the callback */
	atomic_uint calls;
	atomic_uint not_readable; /* callbacks that found the descriptor unreadable */
	atomic_uint short_count;  /* drain: the total read so far was below the copies done */
	uint64_t drained;	  /* drain: total read (callbacks run one at a time) */
	sem_t sem;
};

static bool etm_cb_fn(async_memcpy_handle_t mcp, async_memcpy_event_t *event, void *cb_args)
{
	struct etm_cb *c = cb_args;
	unsigned k = atomic_load(&c->calls) + 1; /* this callback's copy is the k-th */

	(void)mcp;
	(void)event;
	if (!readable(c->fd, 0))
		atomic_fetch_add(&c->not_readable, 1);
	if (c->drain) {
		uint64_t v = 0;

		if (read(c->fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
			c->drained += v;
		/* Copies 1..k have all fired before this callback. */
		if (c->drained < k)
			atomic_fetch_add(&c->short_count, 1);
	}
	atomic_store(&c->calls, k);
	t_sem_post(&c->sem);
	return false;
}

#define ETM_K 6
#define ETM_SIZE 4096

static void etm_counts(install_fn install)
{
	async_memcpy_handle_t mcp = install_backlog(install, 8);
	esp_etm_event_handle_t ev = new_event(mcp), ev2;
	static uint8_t src[ETM_K][ETM_SIZE], dst[ETM_K][ETM_SIZE];
	struct etm_cb c = { .fd = esp_etm_event_fd(ev) };
	int fd2;

	ASSERT_EQ(sem_init(&c.sem, 0, 0), 0);
	check_descriptor(c.fd);
	ASSERT_EQ(esp_etm_event_fd(ev), c.fd);

	/* K copies: readable in each callback; one read gives exactly K afterwards. */
	t_fill_random(src, sizeof(src), 71);
	memset(dst, 0, sizeof(dst));
	for (unsigned i = 0; i < ETM_K; i++)
		ASSERT_ESP_OK(esp_async_memcpy(mcp, dst[i], src[i], ETM_SIZE, etm_cb_fn, &c));
	for (unsigned i = 0; i < ETM_K; i++)
		WAIT_POST(&c.sem);
	ASSERT_EQ(atomic_load(&c.not_readable), 0);
	ASSERT_EQ(memcmp(dst, src, sizeof(src)), 0);
	ASSERT(readable(c.fd, 0));
	ASSERT_UEQ(take_count(c.fd), ETM_K);
	ASSERT(!readable(c.fd, 0));
	ASSERT_UEQ(take_count(c.fd), 0);

	/* Two events on one handle: both count every copy; callbacks drain the first one. */
	ev2 = new_event(mcp);
	fd2 = esp_etm_event_fd(ev2);
	ASSERT_NE(fd2, c.fd);
	check_descriptor(fd2);
	atomic_store(&c.calls, 0);
	c.drain = true;
	t_fill_random(src, sizeof(src), 72);
	for (unsigned i = 0; i < ETM_K; i++)
		ASSERT_ESP_OK(esp_async_memcpy(mcp, dst[i], src[i], ETM_SIZE, etm_cb_fn, &c));
	for (unsigned i = 0; i < ETM_K; i++)
		WAIT_POST(&c.sem);
	ASSERT_EQ(atomic_load(&c.not_readable), 0);
	ASSERT_EQ(atomic_load(&c.short_count), 0);
	ASSERT_UEQ(c.drained, ETM_K);
	ASSERT_EQ(memcmp(dst, src, sizeof(src)), 0);
	ASSERT_UEQ(take_count(c.fd), 0);
	ASSERT_UEQ(take_count(fd2), ETM_K);
	ASSERT_UEQ(take_count(fd2), 0);

	ASSERT_ESP_OK(esp_etm_del_event(ev2));
	ASSERT_ESP_OK(esp_etm_del_event(ev));
	/* Events gone, copies still work. */
	c.drain = false;
	ASSERT_ESP_OK(esp_async_memcpy(mcp, dst[0], src[1], ETM_SIZE, NULL, NULL));
	sync_handle(mcp);
	ASSERT_ESP_OK(esp_async_memcpy_uninstall(mcp));
	ASSERT_EQ(memcmp(dst[0], src[1], ETM_SIZE), 0);
	sem_destroy(&c.sem);
}

/* An event loop: no callbacks, poll() on the descriptor, copies submitted while there is room. */
#define LOOP_N 64

static void etm_poll_loop(install_fn install)
{
	async_memcpy_handle_t mcp = install_backlog(install, 8);
	esp_etm_event_handle_t ev = new_event(mcp);
	int fd = esp_etm_event_fd(ev);
	uint8_t *src = malloc((size_t)LOOP_N * ETM_SIZE), *dst = calloc(LOOP_N, ETM_SIZE);
	unsigned submitted = 0, wakeups = 0;
	uint64_t counted = 0;

	ASSERT(src && dst);
	t_fill_random(src, (size_t)LOOP_N * ETM_SIZE, 81);
	while (counted < LOOP_N) {
		while (submitted < LOOP_N) {
			esp_err_t rc = esp_async_memcpy(mcp, dst + (size_t)submitted * ETM_SIZE,
							src + (size_t)submitted * ETM_SIZE,
							ETM_SIZE, NULL, NULL);

			if (rc == ESP_ERR_INVALID_STATE)
				break;
			ASSERT_ESP_OK(rc);
			submitted++;
		}
		if (!readable(fd, LONG_MS))
			T_FAILED("no completion within %d ms: %" PRIu64 " of %u submitted counted",
				 LONG_MS, counted, submitted);
		counted += take_count(fd);
		ADMA_HAPPENS_AFTER(ev); /* the library's annotation of its write to fd */
		wakeups++;
		ASSERT_LE(counted, submitted);
	}
	ASSERT_EQ(submitted, LOOP_N);
	ASSERT_UEQ(counted, LOOP_N);
	ASSERT_EQ(t_first_diff(dst, src, (size_t)LOOP_N * ETM_SIZE), (size_t)LOOP_N * ETM_SIZE);
	ASSERT(!readable(fd, 0));
	ASSERT_ESP_OK(esp_async_memcpy_uninstall(mcp));
	ASSERT_ESP_OK(esp_etm_del_event(ev));
	free(src);
	free(dst);
	(void)wakeups;
}

/* Deleting one of two events while copies are queued: the other counts every copy. */
static void etm_delete_while_running(install_fn install)
{
	enum {
		N = 8
	};
	async_memcpy_handle_t mcp = install_backlog(install, N);
	esp_etm_event_handle_t keep = new_event(mcp), gone = new_event(mcp);
	static uint8_t src[N + 1][256], dst[N + 1][256];
	struct blocker b;

	blocker_init(&b);
	t_fill_random(src, sizeof(src), 91);
	memset(dst, 0, sizeof(dst));
	ASSERT_ESP_OK(esp_async_memcpy(mcp, dst[0], src[0], 256, block_cb, &b));
	WAIT_POST(&b.entered);
	for (unsigned i = 1; i <= N; i++)
		ASSERT_ESP_OK(esp_async_memcpy(mcp, dst[i], src[i], 256, done_cb, &b));
	/* Copy 0 has fired both events (before its callback); the rest are queued. */
	ASSERT_UEQ(take_count(esp_etm_event_fd(gone)), 1);
	ASSERT_ESP_OK(esp_etm_del_event(gone));
	t_sem_post(&b.gate);
	for (unsigned i = 0; i <= N; i++)
		WAIT_POST(&b.done);
	ASSERT(!atomic_load(&b.gate_timeout));
	ASSERT_UEQ(take_count(esp_etm_event_fd(keep)), N + 1);
	ASSERT_EQ(memcmp(dst, src, sizeof(src)), 0);
	ASSERT_ESP_OK(esp_async_memcpy_uninstall(mcp));
	ASSERT_ESP_OK(esp_etm_del_event(keep));
	blocker_destroy(&b);
}

/* An event outlives its handle's uninstall: still a valid descriptor (never firing again)
 * until deleted; deleting it closes the descriptor. */
static void etm_after_uninstall(install_fn install)
{
	async_memcpy_handle_t mcp = install_backlog(install, 4);
	esp_etm_event_handle_t ev = new_event(mcp), ev2 = new_event(mcp);
	int fd = esp_etm_event_fd(ev);
	static uint8_t src[128], dst[128];
	struct sync s;

	sync_init(&s);
	t_fill_random(src, sizeof(src), 101);
	ASSERT_ESP_OK(esp_async_memcpy(mcp, dst, src, sizeof(src), post_cb, &s));
	WAIT_POST(&s.sem);
	ASSERT_ESP_OK(esp_async_memcpy_uninstall(mcp));
	ASSERT_EQ(esp_etm_event_fd(ev), fd);
	ASSERT_GE(fcntl(fd, F_GETFD), 0);
	ASSERT_UEQ(take_count(fd), 1);
	ASSERT(!readable(fd, 0));
	ASSERT_ESP_OK(esp_etm_del_event(ev));
	errno = 0;
	ASSERT_EQ(fcntl(fd, F_GETFD), -1);
	ASSERT_EQ(errno, EBADF);
	/* The second one is deleted unread. */
	ASSERT_ESP_OK(esp_etm_del_event(ev2));
	ASSERT_EQ(memcmp(dst, src, sizeof(src)), 0);
	sem_destroy(&s.sem);
}

static void test_etm(void)
{
	async_memcpy_handle_t mcp;
	esp_etm_event_handle_t ev = (esp_etm_event_handle_t)(uintptr_t)0x1234;

	t_config_name = "etm";
	ASSERT_EQ(esp_etm_event_fd(NULL), -1);
	ASSERT_ESP(esp_etm_del_event(NULL), ESP_ERR_INVALID_ARG);
	ASSERT_ESP(esp_async_memcpy_new_etm_event(NULL, ASYNC_MEMCPY_ETM_EVENT_COPY_DONE, &ev),
		   ESP_ERR_INVALID_ARG);
	ASSERT_ESP(esp_async_memcpy_new_etm_event(NULL, ASYNC_MEMCPY_ETM_EVENT_COPY_DONE, NULL),
		   ESP_ERR_INVALID_ARG);

	for (size_t i = 0; i < NINSTALLS; i++) {
		t_config_name = installs[i].name;
		mcp = install_backlog(installs[i].install, 8);
		ASSERT_ESP(esp_async_memcpy_new_etm_event(mcp, ASYNC_MEMCPY_ETM_EVENT_COPY_DONE,
							  NULL),
			   ESP_ERR_INVALID_ARG);
		/* An event type the driver does not have: ESP-IDF's answer. */
		ASSERT_ESP(esp_async_memcpy_new_etm_event(mcp, (async_memcpy_etm_event_t)1, &ev),
			   ESP_ERR_NOT_SUPPORTED);
		ASSERT_ESP(esp_async_memcpy_new_etm_event(mcp, (async_memcpy_etm_event_t)-1, &ev),
			   ESP_ERR_NOT_SUPPORTED);
		if (!installs[i].etm) {
			ASSERT_ESP(esp_async_memcpy_new_etm_event(mcp,
								  ASYNC_MEMCPY_ETM_EVENT_COPY_DONE,
								  &ev),
				   ESP_ERR_NOT_SUPPORTED);
			sync_handle(mcp); /* the handle is unharmed */
			ASSERT_ESP_OK(esp_async_memcpy_uninstall(mcp));
			continue;
		}
		ASSERT_ESP_OK(esp_async_memcpy_uninstall(mcp));
		etm_counts(installs[i].install);
		etm_poll_loop(installs[i].install);
		etm_delete_while_running(installs[i].install);
		etm_after_uninstall(installs[i].install);
	}
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);
}

int main(void)
{
	test_codes();
	test_messages(); /* sets ADMA_QUIET=1 for the rest */
	test_install();
	test_bad_copies();
	test_backlog();
	test_wake_and_submit();
	test_chain();
	test_order();
	test_uninstall();
	test_threads();
	test_etm();
	ASSERT_EQ(atomic_load(&stray_calls), 0);
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);
	return T_PASS;
}
