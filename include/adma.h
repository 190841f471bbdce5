/* SPDX-License-Identifier: MIT */
/*
 * adma: an asynchronous memory-copy engine for Linux hosts (a software DMA engine).
 *
 * The model
 * ---------
 * An engine (struct adma_engine) accepts operations ("ops": copies, fills, scatter-gather
 * lists, custom data-movement operators), runs them in the background and reports each one's
 * completion exactly once. Every accepted op receives a ticket; tickets increase strictly per
 * engine. Completion is learnt in any mix of four ways:
 *
 *   - a callback set on the op (runs on a worker thread, or in adma_poll() for engines
 *     created with ADMA_CFG_DEFER_CALLBACKS);
 *   - adma_wait() on the op's ticket;
 *   - adma_barrier(), which waits for everything submitted so far and reports the first failure;
 *   - adma_fd(), an eventfd for epoll/poll/select, libuv or io_uring loops, then adma_poll().
 *
 * The call order
 * --------------
 *   struct adma_engine *e;
 *   adma_engine_create(&e, NULL);                  (or use adma_default())
 *   struct adma_op op;
 *   adma_prep_copy(&op, dst, src, n);              (or _fill, _copy_sg, _copy_layout, _custom)
 *   adma_op_set_callback(&op, done, arg);          (optional)
 *   adma_submit(e, &op, 1, &ticket);               (or the one-call adma_memcpy())
 *   ... compute ...
 *   adma_wait(e, ticket, -1);                      (or barrier, or the fd + adma_poll)
 *   adma_engine_destroy(&e);                       (drains: nothing submitted is lost)
 *
 * Conventions
 * -----------
 * Every int function returns 0 (or a count >= 0) on success and a negative errno on failure;
 * adma_strerror() names any of them and adma_last_error() gives the detailed message of the
 * calling thread's last failure. Unknown flag bits, non-zero reserved fields and bad arguments
 * are -EINVAL. Bits 24-31 of every flags word are reserved and must be zero. All functions are
 * thread-safe unless stated. Callbacks never run inside the submitting call.
 *
 * Data visibility: when completion of an op is observed (its callback runs, adma_wait() or
 * adma_barrier() returns for it, or adma_poll() reports it), every byte the op wrote is visible
 * to the observing thread.
 *
 * fork(): engines belong to the process that created them; the parent's keep running there,
 * untouched. In the child they have no workers, so every call on them (submit, wait, barrier,
 * poll, cancel, fd, stats) returns -EOWNERDEAD, and adma_engine_destroy() frees the child's copy
 * of their memory (nothing else) and returns 0. The child creates and uses engines of its own;
 * its adma_default() is a new engine, not the parent's.
 */
#ifndef ADMA_H
#define ADMA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(ADMA_STATIC)
#define ADMA_API
#elif defined(__GNUC__)
#define ADMA_API __attribute__((visibility("default")))
#else
#define ADMA_API
#endif

#define ADMA_VERSION_MAJOR 0
#define ADMA_VERSION_MINOR 1
#define ADMA_VERSION_PATCH 0
/* One number for compile-time comparisons: major * 10000 + minor * 100 + patch. */
#define ADMA_VERSION (ADMA_VERSION_MAJOR * 10000 + ADMA_VERSION_MINOR * 100 + ADMA_VERSION_PATCH)

/** @return ADMA_VERSION of the library actually loaded (may differ from the header's). */
ADMA_API unsigned adma_version(void);
/** @return the loaded library's version as "major.minor.patch"; static storage. */
ADMA_API const char *adma_version_string(void);

/* ------------------------------------------------------------------------------------------ */
/* Engine                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/** Backends. AUTO resolves to THREADS. */
enum adma_backend {
	ADMA_BACKEND_AUTO = 0,
	ADMA_BACKEND_THREADS = 1, /* FIFO queue served by a pool of worker threads */
	ADMA_BACKEND_INLINE = 2,  /* every op runs inside adma_submit(); callbacks via adma_poll() */
};

/* Engine flags (struct adma_config.flags). */
/** Ops start and complete in submission order; callbacks run in that order, one at a time. */
#define ADMA_CFG_ORDERED (1u << 0)
/** Callbacks are not run on workers but in the thread that calls adma_poll() (event loops). */
#define ADMA_CFG_DEFER_CALLBACKS (1u << 1)
/** A submit that finds the backlog full waits for room instead of returning -EAGAIN. */
#define ADMA_CFG_BLOCK_WHEN_FULL (1u << 2)
/** Do not print rejected-argument messages on stderr (adma_last_error() still has them).
 * Failures with no engine (the layout constructors, a NULL engine) are silenced by setting
 * ADMA_QUIET=1 in the environment instead. */
#define ADMA_CFG_QUIET (1u << 3)

/** Default and largest backlog. */
#define ADMA_BACKLOG_DEFAULT 1024u
#define ADMA_BACKLOG_MAX (1u << 22)
/** Most worker threads one engine may have. */
#define ADMA_WORKERS_MAX 256u

/** A tuning field set to ADMA_OFF turns its feature off. */
#define ADMA_OFF SIZE_MAX

/**
 * Engine configuration. Zero-initialise it or call adma_config_init(), then set fields.
 * A struct whose size is 0 means "all defaults". The tuning fields (nt_threshold and after)
 * take 0 for the documented automatic value and ADMA_OFF to turn the feature off.
 */
struct adma_config {
	size_t size;      /* sizeof(struct adma_config); adma_config_init() sets it */
	unsigned backend; /* enum adma_backend */
	unsigned workers; /* worker threads; 0 = auto: the CPUs this process may run on, 1..16 */
	unsigned backlog; /* max ops submitted and not yet completed; 0 = ADMA_BACKLOG_DEFAULT */
	unsigned flags;   /* ADMA_CFG_* */
	size_t align;     /* 0, or a power of two every address and size of every op must honour */
	/* Copies and fills of at least this many bytes write with non-temporal stores (bypassing
	 * the caches); so do those that continue a contiguous stream (each destination starting
	 * where the previous op's ended) once the stream has written this many bytes.
	 * 0 = auto: half the last-level cache, read at start-up. */
	size_t nt_threshold;
	/* Copies and fills larger than twice this are cut into chunks of this many bytes that
	 * all workers share. 0 = auto (1 MiB). Rounded up to a multiple of 4 KiB. */
	size_t split_size;
	/* Copies and fills of at most this many bytes run in the submitting thread (whole, never
	 * split) when no op waits in the queue, unless the engine is ORDERED, the op is a FENCE
	 * or ADMA_OP_NO_INLINE, or its callback must run on a worker (callbacks not deferred).
	 * 0 = auto (16 KiB, about what memcpy moves in the time a hand-off to a worker takes). */
	size_t inline_max;
	/* How long an idle worker polls for work before it sleeps, in ns. 0 = auto (50 us). */
	size_t spin_ns;
	uint64_t reserved[2]; /* must be zero */
};

/** Opaque engine handle. */
struct adma_engine;

/** Fills @cfg with the defaults and sets cfg->size. */
ADMA_API void adma_config_init(struct adma_config *cfg);

/**
 * Creates an engine.
 * @param out  receives the engine; set to NULL on failure.
 * @param cfg  NULL or a zeroed struct for all defaults; only read during the call.
 * @return 0 on success;
 *   -EINVAL  out is NULL; cfg->size is neither 0 nor at least the size of the first published
 *            struct; unknown backend; unknown or reserved flag bits; align not a power of two;
 *            backlog above ADMA_BACKLOG_MAX; workers above ADMA_WORKERS_MAX; non-zero reserved
 *            fields (including bytes past the end of the struct this library knows);
 *   -ENOMEM  out of memory;
 *   -EAGAIN  a worker thread could not be created;
 *   -EMFILE, -ENFILE  no file descriptor left for the eventfd.
 */
ADMA_API int adma_engine_create(struct adma_engine **out, const struct adma_config *cfg);

/**
 * Destroys an engine: waits until every submitted op has completed (nothing is dropped; ops
 * submitted meanwhile by callbacks are drained too), runs every deferred callback still pending,
 * stops the workers and frees everything. Sets *engine to NULL.
 * @return 0 on success, and also when engine or *engine is NULL;
 *   -EDEADLK called from a callback or custom operator of the same engine (nothing is done).
 */
ADMA_API int adma_engine_destroy(struct adma_engine **engine);

/**
 * The process-wide default engine (threads backend, all defaults), created on first use by
 * whichever thread gets there first, and destroyed (drained) at exit().
 * @return the engine, or NULL if it could not be created (adma_last_error() says why).
 */
ADMA_API struct adma_engine *adma_default(void);

/* ------------------------------------------------------------------------------------------ */
/* Operations                                                                                  */
/* ------------------------------------------------------------------------------------------ */

enum adma_opcode {
	ADMA_OP_COPY,
	ADMA_OP_FILL,
	ADMA_OP_COPY_SG,
	ADMA_OP_COPY_LAYOUT,
	ADMA_OP_CUSTOM,
};

/* Op flags (adma_op_set_flags). */
/** This op starts only after every op submitted before it has completed. */
#define ADMA_OP_FENCE (1u << 0)
/** Write the destination with non-temporal stores whatever the op's size (except a layout
 * copy planned as a transpose, whose tiles always write through the cache). */
#define ADMA_OP_NONTEMPORAL (1u << 1)
/** Never use non-temporal stores: the destination is read right after completion. */
#define ADMA_OP_CACHED (1u << 2)
/** Always run on a worker, never in the submitting thread. */
#define ADMA_OP_NO_INLINE (1u << 3)

/** The outcome of one op. */
struct adma_result {
	uint64_t ticket; /* the op's ticket */
	int status;      /* 0 or a negative errno */
	size_t bytes;    /* bytes written to the destination */
};

/**
 * Completion callback. Runs exactly once per op, on a worker thread, or inside adma_poll()
 * under ADMA_CFG_DEFER_CALLBACKS. @res is valid only during the call. It may submit new ops; it
 * must not block (adma_wait, adma_barrier and adma_engine_destroy on its own engine return
 * -EDEADLK there).
 */
typedef void adma_callback(void *arg, const struct adma_result *res);

/**
 * Custom data-movement operator; runs on a worker (in the submitting thread on the inline
 * backend). @return the number of bytes it wrote (>= 0, status 0), or a negative errno that
 * becomes the op's status.
 */
typedef long adma_operator(void *dst, const void *src, void *fn_arg);

/** One scatter-gather entry. */
struct adma_sge {
	void *dst;
	const void *src;
	size_t n;
};

/* ------------------------------------------------------------------------------------------ */
/* Layouts                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/*
 * An n-dimensional strided view of memory (the AML model). Element (i0, .., i{n-1}) lives at
 *   base + i0 * strides[0] + ... + i{n-1} * strides[n-1]
 * and is elem_size bytes long. dims are element counts; strides are bytes and may be negative
 * (a reversed view) or zero (a source element read many times). Views never copy data: the
 * constructors below only compute base, dims and strides, and a layout may also be filled by
 * hand. A copy between two layouts (adma_prep_copy_layout) pairs elements in row-major order of
 * each side's own dims: with equal dims, index to same index; with different dims (same
 * element count), the k-th element of one side goes to the k-th element of the other, as a
 * numpy reshape would pair them.
 */
#define ADMA_MAX_DIMS 8
#define ADMA_ROW_MAJOR 0 /* the last dimension is contiguous (C order) */
#define ADMA_COL_MAJOR 1 /* the first dimension is contiguous (Fortran order) */

struct adma_layout {
	void *base;                       /* the address of element (0, .., 0) */
	size_t elem_size;                 /* bytes per element, > 0 */
	unsigned ndims;                   /* 1 .. ADMA_MAX_DIMS */
	size_t dims[ADMA_MAX_DIMS];       /* element counts; 0 makes an empty layout */
	ptrdiff_t strides[ADMA_MAX_DIMS]; /* bytes between neighbours in each dimension */
};

/**
 * Describes a packed array of @ndims dims at @base: ADMA_ROW_MAJOR makes the last dimension
 * contiguous, ADMA_COL_MAJOR the first.
 * @return 0, or -EINVAL: l or dims NULL, ndims 0 or above ADMA_MAX_DIMS, elem_size 0, an
 *   unknown order, or extents whose element count or byte span overflows.
 */
ADMA_API int adma_layout_dense(struct adma_layout *l, void *base, size_t elem_size,
			       unsigned ndims, const size_t *dims, int order);

/**
 * The sub-block of @in that starts at @offsets and spans @dims (one entry per dimension of
 * @in), keeping @in's strides. @out may be @in.
 * @return 0, or -EINVAL: a NULL argument, an invalid @in, or a block that leaves @in
 *   (offsets[i] + dims[i] > in->dims[i]).
 */
ADMA_API int adma_layout_slice(struct adma_layout *out, const struct adma_layout *in,
			       const size_t *offsets, const size_t *dims);

/**
 * Permutes dimensions (numpy's transpose): output dimension i gets the extent and stride of
 * input dimension perm[i]. @out may be @in.
 * @return 0, or -EINVAL: a NULL argument, an invalid @in, or a @perm that is not a permutation
 *   of 0 .. in->ndims - 1.
 */
ADMA_API int adma_layout_transpose(struct adma_layout *out, const struct adma_layout *in,
				   const unsigned *perm);

/**
 * Reverses dimension @dim (numpy's flip): base moves to that dimension's last element and its
 * stride changes sign. @out may be @in.
 * @return 0, or -EINVAL: a NULL argument, an invalid @in, or dim >= in->ndims.
 */
ADMA_API int adma_layout_reverse(struct adma_layout *out, const struct adma_layout *in,
				 unsigned dim);

/**
 * One op descriptor. Fill it with an adma_prep_*() call (which resets every field), then
 * optionally adma_op_set_callback() and adma_op_set_flags(). The fields are public so that
 * arrays of ops can live on the stack, but their meaning is private to the prep functions.
 */
struct adma_op {
	uint8_t opcode;      /* enum adma_opcode */
	uint8_t pattern_len; /* ADMA_OP_FILL: 1, 2, 4, 8 or 16 */
	uint16_t reserved;   /* must be zero */
	unsigned flags;      /* ADMA_OP_* */
	void *dst;
	const void *src;
	size_t n; /* bytes; entries for ADMA_OP_COPY_SG */
	union {
		uint8_t pattern[16];         /* ADMA_OP_FILL */
		const struct adma_sge *sg;   /* ADMA_OP_COPY_SG */
		struct {                     /* ADMA_OP_CUSTOM */
			adma_operator *fn;
			void *arg;
		} custom;
		struct {                     /* ADMA_OP_COPY_LAYOUT */
			const struct adma_layout *dst;
			const struct adma_layout *src;
		} layout;
	} u;
	adma_callback *cb;
	void *cb_arg;
};

/** Prepares a copy of @n bytes from @src to @dst. The ranges must not overlap. */
ADMA_API void adma_prep_copy(struct adma_op *op, void *dst, const void *src, size_t n);

/**
 * Prepares a fill of @n bytes at @dst with the @pattern_len bytes at @pattern (1, 2, 4, 8 or
 * 16, else the submit fails with -EINVAL). The pattern is copied into the op now; it repeats
 * from dst and the last repetition may be partial.
 */
ADMA_API void adma_prep_fill(struct adma_op *op, void *dst, size_t n, const void *pattern,
			     size_t pattern_len);

/**
 * Prepares a scatter-gather copy: @count entries {dst, src, n}, one completion whose bytes are
 * the sum of the entries'. The array (not just the data) must stay valid until the op
 * completes. Each entry's source and destination must not overlap; entries must not write over
 * each other or over another entry's source (they may run in any order or in parallel).
 */
ADMA_API void adma_prep_copy_sg(struct adma_op *op, const struct adma_sge *sg, size_t count);

/**
 * Prepares a copy from layout @src to layout @dst (see "Layouts" above). The two structs are
 * read by adma_submit() and need not outlive it; the memory they describe must stay valid
 * until the op completes. The copy is planned once at submit: dimensions contiguous on both
 * sides merge into long runs copied with the engine's copy kernels, transposed dimensions go
 * through cache-blocked tile kernels, and large copies are split across workers. The result's
 * bytes are the element count times the element size.
 * Checked at submit (-EINVAL): each layout as the constructors check it (and a NULL base with
 * elements), equal element sizes and counts, the engine's align rule (base, element size and
 * every stride), and overlap. The overlap check is conservative and never accepts a real one:
 * a destination whose dimensions, sorted by stride, do not each step over everything the
 * smaller ones span is rejected as self-overlapping, and the byte spans (lowest to highest
 * byte) of destination and source must not intersect.
 */
ADMA_API void adma_prep_copy_layout(struct adma_op *op, const struct adma_layout *dst,
				    const struct adma_layout *src);

/**
 * Prepares a custom op: @fn(dst, src, fn_arg) runs on a worker. @dst and @src are passed through
 * untouched (only the engine's align rule applies to them).
 */
ADMA_API void adma_prep_custom(struct adma_op *op, adma_operator *fn, void *dst, const void *src,
			       void *fn_arg);

/** Sets the op's completion callback (NULL for none) and its argument. */
ADMA_API void adma_op_set_callback(struct adma_op *op, adma_callback *cb, void *arg);

/** Sets the op's flags (ADMA_OP_*), replacing any set before. */
ADMA_API void adma_op_set_flags(struct adma_op *op, unsigned flags);

/**
 * Submits @count ops. The descriptors are copied: @ops need not outlive the call; the data they
 * point at, and a scatter-gather array, must stay valid until each op completes.
 * Ops are accepted in order; the first op that cannot be accepted stops the batch.
 * @param tickets NULL, or an array of @count entries receiving one ticket per accepted op.
 * @return the number of ops accepted (a prefix of @ops, >= 1 when count >= 1), or when none was:
 *   -EINVAL  e is NULL, ops NULL with count > 0, or the first op is invalid: unknown opcode or
 *            flag bit, non-zero reserved field, NULL pointer with n > 0, overlapping source and
 *            destination, an address range that wraps, a pattern length not in {1,2,4,8,16},
 *            a NULL operator, an address or size that breaks the engine's align rule, a
 *            layout copy whose layouts are invalid, differ in element size or count, or
 *            overlap (see adma_prep_copy_layout());
 *   -EAGAIN  the backlog is full (never with ADMA_CFG_BLOCK_WHEN_FULL, except when called from
 *            a callback or custom operator of the same engine, where waiting could never end);
 *   -ENOMEM  memory to keep results for adma_poll() could not be reserved;
 *   -EOVERFLOW the engine has issued its last ticket (UINT64_MAX - 1: centuries of ops).
 * @a count == 0 returns 0.
 */
ADMA_API int adma_submit(struct adma_engine *e, const struct adma_op *ops, unsigned count,
			 uint64_t *tickets);

/**
 * One copy in one call (the esp_async_memcpy shape): prep, set callback, submit.
 * @return 0 or the negative errno adma_submit() would return.
 */
ADMA_API int adma_memcpy(struct adma_engine *e, void *dst, const void *src, size_t n,
			 adma_callback *cb, void *arg);

/* ------------------------------------------------------------------------------------------ */
/* Completion                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/**
 * Waits for the op with @ticket to complete.
 * An op is complete, without deferred callbacks, once its callback (if any) has returned; with
 * deferred callbacks (and on the inline backend) once its result is queued for adma_poll().
 * @param timeout_ns -1 waits forever, 0 only tests, > 0 waits at most that long.
 * @return the op's own status (0 or negative errno, -ECANCELED if it was cancelled), at once for
 *   an op that completed long ago;
 *   -ETIMEDOUT the timeout passed first;
 *   -EINVAL    e NULL, a ticket never issued by this engine, or timeout_ns < -1;
 *   -EDEADLK   called from a callback or custom operator of the same engine.
 */
ADMA_API int adma_wait(struct adma_engine *e, uint64_t ticket, int64_t timeout_ns);

/**
 * Waits until every op submitted before the call has completed.
 * @return 0 if none of the ops that completed since the previous barrier failed; otherwise the
 *   status of the failed op with the lowest ticket among them (a cancelled op counts, with
 *   -ECANCELED). Failures are reported once: the next barrier starts afresh. Also:
 *   -ETIMEDOUT the timeout passed first (failures stay for the next barrier);
 *   -EINVAL    e NULL or timeout_ns < -1;
 *   -EDEADLK   called from a callback or custom operator of the same engine.
 */
ADMA_API int adma_barrier(struct adma_engine *e, int64_t timeout_ns);

/**
 * Under ADMA_CFG_DEFER_CALLBACKS (and on the inline backend): runs pending callbacks in the
 * calling thread and reports up to @max results into @out (NULL: results are not copied out,
 * @max still bounds how many are handled), one for every completed op, with or without a
 * callback, in completion order. Clears adma_fd() once nothing is pending. Never blocks: when
 * another thread is already polling this engine it returns 0.
 * Without deferred callbacks: only acknowledges (clears) the file descriptor and returns 0.
 * @return the number of results handled; -EINVAL for e NULL or out non-NULL with max 0 allowed
 *   (max 0 handles nothing and returns 0).
 */
ADMA_API int adma_poll(struct adma_engine *e, struct adma_result *out, unsigned max);

/**
 * The engine's completion descriptor (an eventfd), for epoll/poll/select, libuv or io_uring.
 * With deferred callbacks it is readable while adma_poll() has callbacks to run; otherwise it
 * turns readable when an op completes and stays so until the next adma_poll(). It belongs to
 * the engine: never close it, never read it yourself.
 * @return the descriptor (>= 0), or -EINVAL for e NULL.
 */
ADMA_API int adma_fd(struct adma_engine *e);

/**
 * Withdraws an op that has not started. It then completes, callback and all (on a worker, or in
 * adma_poll() with deferred callbacks; under ADMA_CFG_ORDERED at its turn), with -ECANCELED.
 * @return 0 the op was withdrawn;
 *   -EBUSY  the op is running or done, or was already cancelled;
 *   -EINVAL e NULL or a ticket never issued by this engine.
 */
ADMA_API int adma_cancel(struct adma_engine *e, uint64_t ticket);

/* ------------------------------------------------------------------------------------------ */
/* Statistics and diagnostics                                                                  */
/* ------------------------------------------------------------------------------------------ */

/** A snapshot of an engine's counters since its creation. */
struct adma_stats {
	uint64_t submitted;    /* ops accepted */
	uint64_t completed;    /* ops completed, whatever their status */
	uint64_t failed;       /* ops completed with a negative status (cancelled ones included) */
	uint64_t bytes;        /* bytes written to destinations */
	uint64_t inlined;      /* ops run in the submitting thread */
	uint64_t split;        /* ops divided across workers */
	uint64_t backlog_peak; /* most ops in flight at once */
	uint64_t cancelled;    /* ops withdrawn by adma_cancel() */
	uint64_t in_flight;    /* ops submitted and not yet completed, now */
	uint64_t pending;      /* results waiting for adma_poll(), now */
	uint64_t workers;      /* worker threads */
	uint64_t backlog;      /* the engine's backlog limit */
	uint64_t nontemporal;  /* ops written with non-temporal stores */
};

/** Fills @st with a consistent snapshot. @return 0, or -EINVAL for a NULL argument. */
ADMA_API int adma_stats(struct adma_engine *e, struct adma_stats *st);

/** Writes a human-readable description of the engine's state to @out (stderr if NULL). */
ADMA_API void adma_dump(struct adma_engine *e, FILE *out);

/**
 * @return a static message for 0 or any negative errno an adma function returns (positive
 *   values are accepted too); never NULL, never needs freeing.
 */
ADMA_API const char *adma_strerror(int err);

/**
 * @return the detailed message of the calling thread's last adma failure ("" if none), e.g.
 *   "adma_submit: op 3: copy source and destination overlap". Thread-local; valid until the
 *   thread's next adma call.
 */
ADMA_API const char *adma_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* ADMA_H */
