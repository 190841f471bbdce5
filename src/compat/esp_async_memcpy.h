/* SPDX-License-Identifier: MIT */
/*
 * esp_async_memcpy.h for Linux hosts: ESP-IDF's async memcpy driver API, carried out by adma.
 *
 * Firmware components that call the async memcpy driver build and run unchanged on a host:
 * compile with $(pkg-config --cflags --libs adma-esp) (or link the CMake target
 * adma::adma_esp) and keep #include "esp_async_memcpy.h". Each installed driver is an adma
 * engine of its own whose worker threads play the DMA channel.
 *
 * What the host keeps from ESP-IDF
 * --------------------------------
 *   - The types, macros, error codes and prototypes of both generations of the API (the
 *     sram/psram alignment fields and the newer weight and burst-size fields; the legacy
 *     async_memcpy_t handle type).
 *   - Backlog: at most config->backlog copies (0 means 4) are pending at once; one more makes
 *     esp_async_memcpy() return ESP_ERR_INVALID_STATE at once. A thread the callback wakes may
 *     submit at once: the copy no longer counts (on the chip the interrupt has freed it by
 *     the time any task it woke runs).
 *   - Copies of one handle run and complete in submission order; callbacks run one at a time,
 *     in that order.
 *   - esp_async_memcpy() is thread safe and may be called from a callback.
 *   - Uninstall with copies pending returns ESP_ERR_INVALID_STATE and frees nothing.
 *
 * What differs on the host, and why
 * ---------------------------------
 *   - Callbacks run on an engine thread, not in an interrupt; they must still not block for
 *     long (the next copy's completion waits behind them). Their return value ("a higher
 *     priority task was woken") means nothing on a host scheduler and is ignored.
 *   - A copy leaves the backlog just before its callback runs, not when it returns: a thread
 *     woken by the callback must find it free at once, and a host thread (unlike a task
 *     under an interrupt) can run while the callback still runs. So with backlog 1 a callback
 *     may itself submit the next copy, which the chip would refuse; and an uninstall that
 *     meets a callback still returning waits for it instead of failing.
 *   - The source address must honour sram_trans_align too (as in current ESP-IDF; older
 *     releases checked only the destination and the size).
 *   - All host memory is internal RAM: sram_trans_align applies to every copy (destination,
 *     source and size must be multiples of it); psram_trans_align (0, 16, 32 or 64),
 *     dma_burst_size (0 or a power of two) and weight are checked at install and otherwise
 *     have no effect; flags are accepted and ignored.
 *   - The four install functions exist whatever the chip would have. Each installs an
 *     independent engine with identical behaviour, except that a CP DMA driver, as on the
 *     chip, has no ETM event (esp_async_memcpy_new_etm_event returns ESP_ERR_NOT_SUPPORTED).
 *     esp_async_memcpy_install() installs the AHB GDMA kind.
 *   - The ETM "copy done" event becomes a file descriptor (esp_etm_event_fd(), a host-only
 *     addition) for poll/epoll/libuv/io_uring loops. It cannot trigger an ETM task.
 *   - Overlapping source and destination ranges are refused (ESP_ERR_INVALID_ARG): the result
 *     of such a copy is undefined on the chip too.
 *   - Errors are also described in one line on stderr (prefixed "adma-esp:"), as the driver
 *     logs them on the chip; ADMA_QUIET=1 in the environment silences them.
 */
#ifndef ADMA_ESP_ASYNC_MEMCPY_H
#define ADMA_ESP_ASYNC_MEMCPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(ADMA_ESP_STATIC)
#define ADMA_ESP_API
#elif defined(__GNUC__)
#define ADMA_ESP_API __attribute__((visibility("default")))
#else
#define ADMA_ESP_API
#endif

/*
 * esp_err_t and the codes this API returns, at ESP-IDF's values. A program that includes its
 * own esp_err.h first keeps its definitions: each macro is defined only when absent, and the
 * typedef repeats ESP-IDF's (a repeated identical typedef is valid C11 and C++).
 */
typedef int esp_err_t;
#ifndef ESP_OK
#define ESP_OK 0
#endif
#ifndef ESP_FAIL
#define ESP_FAIL -1
#endif
#ifndef ESP_ERR_NO_MEM
#define ESP_ERR_NO_MEM 0x101
#endif
#ifndef ESP_ERR_INVALID_ARG
#define ESP_ERR_INVALID_ARG 0x102
#endif
#ifndef ESP_ERR_INVALID_STATE
#define ESP_ERR_INVALID_STATE 0x103
#endif
#ifndef ESP_ERR_INVALID_SIZE
#define ESP_ERR_INVALID_SIZE 0x104
#endif
#ifndef ESP_ERR_NOT_SUPPORTED
#define ESP_ERR_NOT_SUPPORTED 0x106
#endif

/** An ETM event (esp_etm.h on the chip): here, the "copy done" event of one driver. */
typedef struct esp_etm_event_t *esp_etm_event_handle_t;

/** A driver handle. */
typedef struct async_memcpy_context_t *async_memcpy_handle_t;
/** The legacy name of the handle type. */
typedef async_memcpy_handle_t async_memcpy_t;

/** Passed to callbacks; data is NULL (reserved, as on the chip). */
typedef struct {
	void *data;
} async_memcpy_event_t;

/**
 * Runs once per copy, after the copy's data is in place, on an engine thread (one callback at
 * a time per handle, in submission order). The return value is ignored on the host.
 */
typedef bool (*async_memcpy_isr_cb_t)(async_memcpy_handle_t mcp_hdl, async_memcpy_event_t *event,
				      void *cb_args);

/** Driver configuration: fields of both generations of the API. */
typedef struct {
	uint32_t backlog;	  /* most copies pending at once; 0 = 4 */
	size_t sram_trans_align;  /* 0, or a power of two: addresses and size must be multiples */
	size_t psram_trans_align; /* 0, 16, 32 or 64 (no PSRAM on a host: no other effect) */
	uint32_t flags;		  /* accepted and ignored */
	uint32_t weight;	  /* channel arbitration weight: accepted and ignored */
	size_t dma_burst_size;	  /* 0 or a power of two: accepted, no effect on a host */
} async_memcpy_config_t;

#define ASYNC_MEMCPY_DEFAULT_CONFIG()                                                    \
	{                                                                                \
		.backlog = 8, .sram_trans_align = 0, .psram_trans_align = 0, .flags = 0, \
		.weight = 0, .dma_burst_size = 16,                                       \
	}

/** ETM events a driver offers. */
typedef enum {
	ASYNC_MEMCPY_ETM_EVENT_COPY_DONE, /* a copy finished */
} async_memcpy_etm_event_t;

/**
 * Installs a driver: creates an adma engine (ordered, callbacks on its workers) and returns
 * its handle in *mcp. The four functions differ only in the kind they record (see the top of
 * this file); esp_async_memcpy_install() is the AHB GDMA kind.
 * @return ESP_OK;
 *   ESP_ERR_INVALID_ARG   config or mcp NULL; sram_trans_align or dma_burst_size not 0 or a
 *                         power of two; psram_trans_align not 0, 16, 32 or 64; a backlog
 *                         above 4194303;
 *   ESP_ERR_NO_MEM        out of memory;
 *   ESP_FAIL              the engine's threads or descriptor could not be created.
 * On failure *mcp (when mcp is not NULL) is set to NULL.
 */
ADMA_ESP_API esp_err_t esp_async_memcpy_install(const async_memcpy_config_t *config,
						async_memcpy_handle_t *mcp);
ADMA_ESP_API esp_err_t esp_async_memcpy_install_cpdma(const async_memcpy_config_t *config,
						      async_memcpy_handle_t *mcp);
ADMA_ESP_API esp_err_t esp_async_memcpy_install_gdma_ahb(const async_memcpy_config_t *config,
							 async_memcpy_handle_t *mcp);
ADMA_ESP_API esp_err_t esp_async_memcpy_install_gdma_axi(const async_memcpy_config_t *config,
							 async_memcpy_handle_t *mcp);

/**
 * Uninstalls a driver once it is idle: waits for a callback still returning, then frees
 * everything. ETM events of the handle stay valid (they never fire again) until
 * esp_etm_del_event(). Must not run at the same time as any other call on the same handle.
 * @return ESP_OK;
 *   ESP_ERR_INVALID_ARG   mcp NULL;
 *   ESP_ERR_INVALID_STATE copies are still pending, or called from one of the handle's own
 *                         callbacks: nothing is freed, the handle stays usable.
 */
ADMA_ESP_API esp_err_t esp_async_memcpy_uninstall(async_memcpy_handle_t mcp);

/**
 * Queues a copy of @n bytes from @src to @dst; @cb_isr (may be NULL) runs with @cb_args once
 * the copy is done. Thread safe; may be called from a callback.
 * @return ESP_OK;
 *   ESP_ERR_INVALID_ARG   mcp, dst or src NULL; n 0; an address or n not a multiple of
 *                         sram_trans_align; overlapping or wrapping ranges;
 *   ESP_ERR_INVALID_STATE the backlog is full (nothing queued);
 *   ESP_ERR_NO_MEM        out of memory (not expected: nothing is allocated per copy).
 */
ADMA_ESP_API esp_err_t esp_async_memcpy(async_memcpy_handle_t mcp, void *dst, void *src, size_t n,
					async_memcpy_isr_cb_t cb_isr, void *cb_args);

/**
 * Creates the handle's "copy done" event. On the host it is an eventfd (see esp_etm_event_fd)
 * that every completed copy of the handle increments, before the copy's callback runs.
 * A handle may have several events; each counts every copy completed after its creation.
 * @return ESP_OK;
 *   ESP_ERR_INVALID_ARG   mcp or out_event NULL;
 *   ESP_ERR_NOT_SUPPORTED an unknown event_type, or a CP DMA driver (no ETM on that engine,
 *                         as on the chip);
 *   ESP_ERR_NO_MEM        out of memory;
 *   ESP_FAIL              no file descriptor left for the eventfd.
 */
ADMA_ESP_API esp_err_t esp_async_memcpy_new_etm_event(async_memcpy_handle_t mcp,
						      async_memcpy_etm_event_t event_type,
						      esp_etm_event_handle_t *out_event);

/**
 * Deletes an event: closes its descriptor and frees it. Must not run at the same time as the
 * uninstall of its handle.
 * @return ESP_OK, or ESP_ERR_INVALID_ARG for NULL.
 */
ADMA_ESP_API esp_err_t esp_etm_del_event(esp_etm_event_handle_t event);

/**
 * Host-only addition: the event's descriptor (a non-blocking, close-on-exec eventfd) for
 * poll/epoll/select, libuv or io_uring. It turns readable when a copy is done; reading 8 bytes
 * returns how many copies completed since the last read and makes it unreadable again. Readable
 * says a copy is done, not that the handle is idle. The descriptor belongs to the event: never
 * close it; esp_etm_del_event() does.
 * @return the descriptor (>= 0), or -1 for NULL.
 */
ADMA_ESP_API int esp_etm_event_fd(esp_etm_event_handle_t event);

#ifdef __cplusplus
}
#endif

#endif /* ADMA_ESP_ASYNC_MEMCPY_H */
