/* SPDX-License-Identifier: MIT */
/*
 * ESP-IDF's async memcpy driver on adma (libadma-esp). Uses only adma's public API.
 *
 * A driver is an ORDERED adma engine: copies start and complete in submission order and
 * callbacks run one at a time, like the transactions of one DMA channel. The driver keeps its
 * own backlog count because adma counts an op until its callback has returned, while a task
 * woken by the chip's callback always finds the transaction already freed (the interrupt ends
 * first): here a copy leaves the driver's count before its callback runs. The engine's
 * backlog is one more than the driver's: an ORDERED engine runs one op at a time, so at most
 * one op has left the driver's count without having left the engine's (its callback is
 * running), and adma_memcpy() can never find the engine full once the driver admitted a copy.
 *
 * Per-copy state (the user's callback and argument) lives in a table of backlog entries made at
 * install; esp_async_memcpy() allocates nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../annotate.h"
#include "adma.h"
#include "esp_async_memcpy.h"

/* ESP-IDF's DEFAULT_TRANSACTION_QUEUE_LENGTH: the backlog of a config that leaves it 0. */
#define BACKLOG_DEFAULT 4u

enum kind {
	KIND_GDMA_AHB,
	KIND_GDMA_AXI,
	KIND_CPDMA,
};

/* One pending copy. busy is claimed by a submitter (acquire) and released by the callback
 * wrapper once it has read the entry (release). */
struct entry {
	atomic_bool busy;
	async_memcpy_isr_cb_t cb;
	void *cb_args;
	struct async_memcpy_context_t *mcp;
};

struct esp_etm_event_t {
	int fd;
	struct async_memcpy_context_t *mcp; /* NULL once the handle is uninstalled */
	struct esp_etm_event_t *next;
};

struct async_memcpy_context_t {
	struct adma_engine *e;
	enum kind kind;
	uint32_t backlog;
	size_t align;		/* sram_trans_align; 0: none */
	atomic_uint pending;	/* copies admitted whose callback has not started */
	atomic_uint next_entry; /* where the search for a free entry starts */
	struct entry *entries;	/* backlog of them */
	/* The event list: changed under events_lock, walked under it by the callback wrapper
	 * when nevents says there is something to walk. */
	pthread_mutex_t events_lock;
	atomic_uint nevents;
	struct esp_etm_event_t *events;
};

static const char *err_name(esp_err_t err)
{
	switch (err) {
	case ESP_OK:
		return "ESP_OK";
	case ESP_ERR_NO_MEM:
		return "ESP_ERR_NO_MEM";
	case ESP_ERR_INVALID_ARG:
		return "ESP_ERR_INVALID_ARG";
	case ESP_ERR_INVALID_STATE:
		return "ESP_ERR_INVALID_STATE";
	case ESP_ERR_NOT_SUPPORTED:
		return "ESP_ERR_NOT_SUPPORTED";
	default:
		return "ESP_FAIL";
	}
}

/* Reports a failure on stderr, as the driver logs it on the chip, and returns @err. */
__attribute__((format(printf, 3, 4))) static esp_err_t fail(const char *fn, esp_err_t err,
							    const char *fmt, ...)
{
	const char *quiet = getenv("ADMA_QUIET");
	char msg[256];
	va_list ap;

	if (quiet && *quiet && *quiet != '0') /* the rule of adma's own messages */
		return err;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "adma-esp: %s: %s (%s)\n", fn, msg, err_name(err));
	return err;
}

static bool pow2_or_0(size_t v)
{
	return (v & (v - 1)) == 0;
}

/* The engine's outcome of a copy reaches the driver here, on a worker, in submission order. A
 * copy cannot fail once accepted (no cancel through this API), so the status is not read. */
static void copy_done(void *arg, const struct adma_result *res)
{
	struct entry *x = arg;
	struct async_memcpy_context_t *mcp = x->mcp;
	async_memcpy_isr_cb_t cb = x->cb;
	void *cb_args = x->cb_args;
	async_memcpy_event_t ev = { NULL };

	(void)res;
	/* Release: the next claimant of x may overwrite cb and cb_args read above. */
	ADMA_HAPPENS_BEFORE(x);
	atomic_store_explicit(&x->busy, false, memory_order_release);
	/* The copy leaves the backlog before its callback runs: whoever the callback wakes may
	 * submit at once, as a task woken by the chip's interrupt may. Release: pairs with the
	 * acquire in uninstall. */
	ADMA_HAPPENS_BEFORE(&mcp->pending);
	atomic_fetch_sub_explicit(&mcp->pending, 1, memory_order_release);
	if (atomic_load_explicit(&mcp->nevents, memory_order_relaxed)) {
		uint64_t one = 1;

		pthread_mutex_lock(&mcp->events_lock);
		for (struct esp_etm_event_t *e = mcp->events; e; e = e->next) {
			/* A reader of the descriptor sees the copy's data: the kernel orders it,
			 * helgrind is told (the event handle is the tag). */
			ADMA_HAPPENS_BEFORE(e);
			(void)!write(e->fd, &one, sizeof(one)); /* cannot overflow: 2^64 - 2 */
		}
		pthread_mutex_unlock(&mcp->events_lock);
	}
	if (cb)
		(void)cb(mcp, &ev, cb_args);
}

static esp_err_t install(const char *fn, enum kind kind, const async_memcpy_config_t *config,
			 async_memcpy_handle_t *out)
{
	struct async_memcpy_context_t *mcp;
	struct adma_config cfg;
	uint32_t backlog;
	int rc;

	if (out)
		*out = NULL;
	if (!config || !out)
		return fail(fn, ESP_ERR_INVALID_ARG, "%s is NULL", config ? "mcp" : "config");
	if (!pow2_or_0(config->sram_trans_align))
		return fail(fn, ESP_ERR_INVALID_ARG,
			    "sram_trans_align %zu is not 0 or a power of two",
			    config->sram_trans_align);
	if (config->psram_trans_align != 0 && config->psram_trans_align != 16 &&
	    config->psram_trans_align != 32 && config->psram_trans_align != 64)
		return fail(fn, ESP_ERR_INVALID_ARG, "psram_trans_align %zu is not 0, 16, 32 or 64",
			    config->psram_trans_align);
	if (!pow2_or_0(config->dma_burst_size))
		return fail(fn, ESP_ERR_INVALID_ARG,
			    "dma_burst_size %zu is not 0 or a power of two",
			    config->dma_burst_size);
	backlog = config->backlog ? config->backlog : BACKLOG_DEFAULT;
	if (backlog >= ADMA_BACKLOG_MAX)
		return fail(fn, ESP_ERR_INVALID_ARG, "backlog %u is above %u", backlog,
			    ADMA_BACKLOG_MAX - 1);

	mcp = calloc(1, sizeof(*mcp));
	if (!mcp)
		return fail(fn, ESP_ERR_NO_MEM, "no memory for the driver");
	mcp->entries = calloc(backlog, sizeof(*mcp->entries));
	if (!mcp->entries) {
		free(mcp);
		return fail(fn, ESP_ERR_NO_MEM, "no memory for a backlog of %u", backlog);
	}
	rc = pthread_mutex_init(&mcp->events_lock, NULL);
	if (rc) {
		free(mcp->entries);
		free(mcp);
		return fail(fn, ESP_ERR_NO_MEM, "no mutex: %s", strerror(rc));
	}
	mcp->kind = kind;
	mcp->backlog = backlog;
	mcp->align = config->sram_trans_align;
	for (uint32_t i = 0; i < backlog; i++) {
		mcp->entries[i].mcp = mcp;
		/* Peeked at before the compare-and-swap that claims the entry. */
		ADMA_BENIGN_RACE(&mcp->entries[i].busy, "read before the claiming CAS");
	}
	ADMA_BENIGN_RACE(&mcp->pending, "an atomic count; its release/acquire pair is annotated");
	ADMA_BENIGN_RACE(&mcp->next_entry, "only where a search starts");
	ADMA_BENIGN_RACE(&mcp->nevents, "a hint: the list is walked under events_lock");

	adma_config_init(&cfg);
	cfg.flags = ADMA_CFG_ORDERED | ADMA_CFG_QUIET;
	cfg.backlog = backlog + 1;
	cfg.align = config->sram_trans_align;
	rc = adma_engine_create(&mcp->e, &cfg);
	if (rc < 0) {
		pthread_mutex_destroy(&mcp->events_lock);
		free(mcp->entries);
		free(mcp);
		return fail(fn,
			    rc == -ENOMEM ? ESP_ERR_NO_MEM :
			    rc == -EINVAL ? ESP_ERR_INVALID_ARG :
					    ESP_FAIL,
			    "cannot create the engine: %s", adma_last_error());
	}
	*out = mcp;
	return ESP_OK;
}

esp_err_t esp_async_memcpy_install_gdma_ahb(const async_memcpy_config_t *config,
					    async_memcpy_handle_t *mcp)
{
	return install(__func__, KIND_GDMA_AHB, config, mcp);
}

esp_err_t esp_async_memcpy_install_gdma_axi(const async_memcpy_config_t *config,
					    async_memcpy_handle_t *mcp)
{
	return install(__func__, KIND_GDMA_AXI, config, mcp);
}

esp_err_t esp_async_memcpy_install_cpdma(const async_memcpy_config_t *config,
					 async_memcpy_handle_t *mcp)
{
	return install(__func__, KIND_CPDMA, config, mcp);
}

esp_err_t esp_async_memcpy_install(const async_memcpy_config_t *config, async_memcpy_handle_t *mcp)
{
	return install(__func__, KIND_GDMA_AHB, config, mcp);
}

esp_err_t esp_async_memcpy_uninstall(async_memcpy_handle_t mcp)
{
	unsigned pending;
	int rc;

	if (!mcp)
		return fail(__func__, ESP_ERR_INVALID_ARG, "mcp is NULL");
	pending = atomic_load_explicit(&mcp->pending, memory_order_acquire);
	ADMA_HAPPENS_AFTER(&mcp->pending);
	if (pending)
		return fail(__func__, ESP_ERR_INVALID_STATE, "%u copies are still pending",
			    pending);
	/* Waits for a callback still returning (and drains anything it submitted). */
	rc = adma_engine_destroy(&mcp->e);
	if (rc == -EDEADLK)
		return fail(__func__, ESP_ERR_INVALID_STATE,
			    "called from the handle's own callback");
	pthread_mutex_lock(&mcp->events_lock);
	for (struct esp_etm_event_t *e = mcp->events; e; e = e->next)
		e->mcp = NULL;
	pthread_mutex_unlock(&mcp->events_lock);
	pthread_mutex_destroy(&mcp->events_lock);
	free(mcp->entries);
	free(mcp);
	return ESP_OK;
}

/* Claims a free entry; one exists because the caller holds one of the backlog's places and
 * entries are released before their place is. */
static struct entry *claim(struct async_memcpy_context_t *mcp)
{
	unsigned i =
		atomic_fetch_add_explicit(&mcp->next_entry, 1, memory_order_relaxed) % mcp->backlog;

	for (;; i = i + 1 == mcp->backlog ? 0 : i + 1) {
		struct entry *x = &mcp->entries[i];
		bool expected = false;

		if (!atomic_load_explicit(&x->busy, memory_order_relaxed) &&
		    atomic_compare_exchange_strong_explicit(&x->busy, &expected, true,
							    memory_order_acquire,
							    memory_order_relaxed)) {
			ADMA_HAPPENS_AFTER(x);
			return x;
		}
	}
}

esp_err_t esp_async_memcpy(async_memcpy_handle_t mcp, void *dst, void *src, size_t n,
			   async_memcpy_isr_cb_t cb_isr, void *cb_args)
{
	unsigned pending;
	struct entry *x;
	int rc;

	if (!mcp || !dst || !src)
		return fail(__func__, ESP_ERR_INVALID_ARG, "%s is NULL",
			    !mcp ? "mcp" :
			    !dst ? "dst" :
				   "src");
	if (!n)
		return fail(__func__, ESP_ERR_INVALID_ARG, "size is 0");
	if (mcp->align &&
	    ((uintptr_t)dst % mcp->align || (uintptr_t)src % mcp->align || n % mcp->align))
		return fail(__func__, ESP_ERR_INVALID_ARG,
			    "dst %p, src %p or size %zu is not a multiple of sram_trans_align %zu",
			    dst, src, n, mcp->align);
	/* Checked before a place is taken, so that a bad copy is never answered "backlog full"
	 * (adma checks them too, but only once the place is held). */
	if (n > UINTPTR_MAX - (uintptr_t)dst || n > UINTPTR_MAX - (uintptr_t)src)
		return fail(__func__, ESP_ERR_INVALID_ARG,
			    "dst %p or src %p + %zu bytes wraps around", dst, src, n);
	if ((uintptr_t)dst < (uintptr_t)src + n && (uintptr_t)src < (uintptr_t)dst + n)
		return fail(__func__, ESP_ERR_INVALID_ARG, "src %p and dst %p overlap (%zu bytes)",
			    src, dst, n);

	/* A place in the backlog; relaxed: the entry's flag orders the entry itself. */
	pending = atomic_load_explicit(&mcp->pending, memory_order_relaxed);
	do {
		if (pending >= mcp->backlog)
			return fail(__func__, ESP_ERR_INVALID_STATE, "the backlog of %u is full",
				    mcp->backlog);
	} while (!atomic_compare_exchange_weak_explicit(&mcp->pending, &pending, pending + 1,
							memory_order_relaxed,
							memory_order_relaxed));
	x = claim(mcp);
	x->cb = cb_isr;
	x->cb_args = cb_args;
	rc = adma_memcpy(mcp->e, dst, src, n, copy_done, x);
	if (rc >= 0)
		return ESP_OK;
	ADMA_HAPPENS_BEFORE(x);
	atomic_store_explicit(&x->busy, false, memory_order_release);
	ADMA_HAPPENS_BEFORE(&mcp->pending);
	atomic_fetch_sub_explicit(&mcp->pending, 1, memory_order_release);
	return fail(__func__,
		    rc == -EINVAL ? ESP_ERR_INVALID_ARG :
		    rc == -ENOMEM ? ESP_ERR_NO_MEM :
		    rc == -EAGAIN ? ESP_ERR_INVALID_STATE :
				    ESP_FAIL,
		    "%s", adma_last_error());
}

esp_err_t esp_async_memcpy_new_etm_event(async_memcpy_handle_t mcp,
					 async_memcpy_etm_event_t event_type,
					 esp_etm_event_handle_t *out_event)
{
	struct esp_etm_event_t *ev;

	if (out_event)
		*out_event = NULL;
	if (!mcp || !out_event)
		return fail(__func__, ESP_ERR_INVALID_ARG, "%s is NULL", mcp ? "out_event" : "mcp");
	if (event_type != ASYNC_MEMCPY_ETM_EVENT_COPY_DONE)
		return fail(__func__, ESP_ERR_NOT_SUPPORTED, "unknown event type %d",
			    (int)event_type);
	if (mcp->kind == KIND_CPDMA)
		return fail(__func__, ESP_ERR_NOT_SUPPORTED, "a CP DMA driver has no ETM events");
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return fail(__func__, ESP_ERR_NO_MEM, "no memory for the event");
	ev->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ev->fd < 0) {
		int err = errno;

		free(ev);
		return fail(__func__, err == ENOMEM ? ESP_ERR_NO_MEM : ESP_FAIL, "no eventfd: %s",
			    strerror(err));
	}
	ev->mcp = mcp;
	pthread_mutex_lock(&mcp->events_lock);
	ev->next = mcp->events;
	mcp->events = ev;
	atomic_fetch_add_explicit(&mcp->nevents, 1, memory_order_relaxed);
	pthread_mutex_unlock(&mcp->events_lock);
	*out_event = ev;
	return ESP_OK;
}

esp_err_t esp_etm_del_event(esp_etm_event_handle_t event)
{
	struct async_memcpy_context_t *mcp;

	if (!event)
		return fail(__func__, ESP_ERR_INVALID_ARG, "event is NULL");
	mcp = event->mcp;
	if (mcp) {
		pthread_mutex_lock(&mcp->events_lock);
		for (struct esp_etm_event_t **p = &mcp->events; *p; p = &(*p)->next)
			if (*p == event) {
				*p = event->next;
				break;
			}
		atomic_fetch_sub_explicit(&mcp->nevents, 1, memory_order_relaxed);
		pthread_mutex_unlock(&mcp->events_lock);
	}
	close(event->fd);
	free(event);
	return ESP_OK;
}

int esp_etm_event_fd(esp_etm_event_handle_t event)
{
	return event ? event->fd : -1;
}
