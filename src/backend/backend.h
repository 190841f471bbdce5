/* SPDX-License-Identifier: MIT */
/*
 * What a backend sees of an engine. The generic layer (engine.c, submit.c, complete.c) validates
 * every user input; backends trust what they are given.
 *
 * Locking: one mutex per engine, e->lock, protects every field below that is not marked
 * otherwise, including the threads backend's FIFO. Lock order: poll_lock -> exec_lock -> lock;
 * nothing is taken while e->lock is held, and no user code (callback, operator) ever runs with
 * e->lock held, so callbacks and operators may call any adma function.
 */
#ifndef ADMA_BACKEND_H
#define ADMA_BACKEND_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "adma.h"
#include "fault.h"

#define ADMA__NONE UINT32_MAX

/* x86-64 SIMD kernels (kernels.c, layout.c), chosen at run time by adma__cpu(). */
#if defined(__x86_64__)
#include <immintrin.h>
#define HAVE_X86 1
#else
#define HAVE_X86 0
#endif

enum adma__slot_state {
	SLOT_FREE,
	SLOT_QUEUED,
	SLOT_CANCELLED, /* still queued; completes with -ECANCELED at its turn */
	SLOT_RUNNING,   /* taken by workers; until its callback (if run there) returns */
	SLOT_INLINE,    /* being run by the submitting thread */
};

/* layout.c: a layout copy, planned once at submit. Addresses are integers: a reversed walk may
 * start or end outside any object, which pointer arithmetic may not. */
#define ADMA__PLAN_DIMS (2 * ADMA_MAX_DIMS)
struct adma__plan {
	uintptr_t dst, src;       /* flat element 0 of each side */
	size_t elem;              /* bytes per element */
	size_t count;             /* elements */
	size_t unit;              /* pieces of a split copy are multiples of this many bytes */
	bool transpose;           /* shared nest (.., I, J): J contiguous in dst, I in src */
	unsigned dnd, snd;        /* each side's dims, row-major; the same nest unless the two
				   * shapes interleave */
	size_t dn[ADMA__PLAN_DIMS], sn[ADMA__PLAN_DIMS];
	ptrdiff_t ds[ADMA__PLAN_DIMS], ss[ADMA__PLAN_DIMS];
};

/* Per-op state, preallocated: backlog slots per engine, never allocated on the submit path. */
struct adma__slot {
	struct adma_op op; /* validated copy of the user's descriptor */
	uint64_t ticket;
	uint32_t state;    /* enum adma__slot_state */
	uint32_t next;     /* free list or FIFO link */
	uint32_t older;    /* in-flight list, in ticket order */
	uint32_t newer;
	uint32_t chunks;   /* pieces the op is cut into across workers (1: whole) */
	uint32_t taken;    /* pieces handed out */
	uint32_t left;     /* pieces not yet finished */
	size_t piece_size; /* bytes per piece */
	bool nt;           /* write with non-temporal stores; decided at accept */
	struct adma__plan *plan; /* ADMA_OP_COPY_LAYOUT: e->plans[slot], made at accept */
	int status;        /* first failure among the pieces */
	size_t bytes;      /* bytes written by the pieces finished so far */
};

/* A result waiting for adma_poll(). */
struct adma__pending {
	struct adma_result res;
	adma_callback *cb;
	void *cb_arg;
};

/* A failure remembered for adma_wait() and adma_barrier(), kept sorted by ticket. */
struct adma__failure {
	uint64_t ticket;
	int status;
};

struct adma__backend {
	const char *name;
	/* Creates the backend's threads; no lock held. @return 0 or negative errno. */
	int (*start)(struct adma_engine *e);
	/* Stops and joins them; called when nothing is in flight or pending; no lock held. */
	void (*stop)(struct adma_engine *e);
	/* Hands @n freshly accepted slots over, in ticket order; e->lock held. */
	void (*enqueue)(struct adma_engine *e, struct adma__slot **s, unsigned n);
	/* Runs after the lock is dropped, in the submitting thread. Gets the slots the submit
	 * path marked SLOT_INLINE (none on the inline backend, which runs every queued op). */
	void (*run)(struct adma_engine *e, struct adma__slot **s, unsigned n);
	/* Writes backend-specific state to a dump; e->lock held. */
	void (*dump)(struct adma_engine *e, FILE *out);
	/* In a fork's child: frees the backend's memory without touching its threads (the
	 * child has none of them) or its locks (a parent's thread may have held one). */
	void (*forget)(struct adma_engine *e);
};

/* A thread in adma_wait or adma_barrier, linked from e->waiters, on its own stack. */
struct adma__waiter {
	pthread_cond_t cv;
	uint64_t ticket; /* adma_wait: this ticket; barrier: every ticket below this one */
	bool barrier;
	struct adma__waiter *next;
};

struct adma_engine {
	struct adma__backend be; /* copied from the backend's table, empty slots filled */
	unsigned backend;
	unsigned workers;
	unsigned backlog;
	unsigned flags;
	size_t align;
	bool deferred;           /* callbacks run in adma_poll(): DEFER_CALLBACKS or inline */
	/* The contiguous stream of copies and fills being submitted: where the last one's
	 * destination ended and how many bytes the stream has written so far. */
	uintptr_t stream_end;
	size_t stream_len;
	size_t nt_threshold;     /* SIZE_MAX: never */
	size_t split_size;       /* SIZE_MAX: never */
	size_t inline_max;       /* 0: never */
	uint64_t spin_ns;

	pthread_mutex_t lock;
	pthread_cond_t done;     /* an op completed; waited on by destroy */
	struct adma__waiter *waiters; /* wait and barrier, each woken when its condition holds */
	bool wake_room;               /* a broadcast of `room` is due, sent by adma__unlock() */
	pthread_condattr_t cond_attr; /* CLOCK_MONOTONIC, for the waiters' condition variables */
	pthread_cond_t room;     /* a slot was freed; waited on by blocking submitters */
	pthread_cond_t work;     /* threads backend: work may be takeable, or stop */
	unsigned done_waiters;
	unsigned room_waiters;

	struct adma__slot *slots; /* backlog entries */
	struct adma__plan *plans; /* one per slot, allocated by the first layout copy */
	uint32_t free_head;
	uint32_t queue_head, queue_tail; /* FIFO of queued slots (threads backend) */
	unsigned sleepers;       /* workers asleep on e->work */
	unsigned spinners;       /* workers polling work_gen without the lock */
	/* Bumped under the lock whenever a worker may find something new to take (enqueue, an
	 * inline retire that may unblock a fence); spinning workers read it without the lock. */
	atomic_uint work_gen;
	/* in_flight == backlog, mirrored under the lock so that a non-blocking submit can answer
	 * -EAGAIN without taking it. */
	atomic_bool full;
	uint32_t oldest, newest;         /* in-flight list by ticket: oldest first */
	unsigned in_flight;
	unsigned queued;
	unsigned running;        /* slots in SLOT_RUNNING */
	uint64_t next_ticket;    /* the next ticket to issue; tickets start at 1 */

	/* where[t & where_mask] is the slot that ticket t was given: a hint checked against
	 * slot->ticket, since a later ticket may have reused the entry. */
	uint32_t *where;
	uint64_t where_mask;

	struct adma__failure *fail; /* sorted by ticket; capacity reserved at submit */
	size_t nfail, fail_cap;
	uint64_t barrier_mark;      /* failures below this ticket were reported by a barrier */

	struct adma__pending *pend; /* ring of results for adma_poll(); capacity reserved at submit */
	size_t pend_head, npend, pend_cap;

	int efd;
	bool efd_armed;  /* the eventfd has been written and not yet cleared */
	bool stopping;   /* destroy: workers exit once the queue is empty */

	pthread_mutex_t poll_lock;  /* one poller at a time: deferred callbacks stay one at a time */
	pthread_mutex_t exec_lock;  /* inline backend: ops run one at a time, in ticket order */

	struct adma_stats st;       /* counters; in_flight, pending, workers filled on read */

	void *be_data;              /* the backend's own */
	unsigned forks;             /* adma__forks at creation (see adma__foreign) */
};

/* Bumped in the child of every fork(). An engine made before the fork belongs to the parent:
 * in the child it has no workers and its locks may be held forever, so every call on it is
 * refused. Relaxed: the child's only thread wrote it before anything else ran there. */
extern atomic_uint adma__forks;

static inline bool adma__foreign(const struct adma_engine *e)
{
	return e->forks != atomic_load_explicit(&adma__forks, memory_order_relaxed);
}

/* Tests only: the next ticket an idle engine issues, to test arithmetic near 2^32 and 2^64. */
void adma__set_next_ticket(struct adma_engine *e, uint64_t t);

/* -EOWNERDEAD with a message naming @fn. */
int adma__foreign_fail(const struct adma_engine *e, const char *fn);

extern const struct adma__backend adma__threads_backend;
extern const struct adma__backend adma__inline_backend;

/* kernels.c */
struct adma__cpu {
	bool sse2, avx2;
	size_t l2, l3; /* data cache sizes seen by one CPU; 0 if unknown */
};
/* Detected once, on first use. */
const struct adma__cpu *adma__cpu(void);
/* Runs bytes [off, off + len) of a copy, fill or layout copy (the whole op for other kinds:
 * pass 0 and SIZE_MAX). @return 0 or negative errno; *bytes written. With nt, the data is
 * published only by a later adma__publish(). */
int adma__execute_part(const struct adma__slot *s, size_t off, size_t len, size_t *bytes);
/* The copy kernel: non-temporal stores on whole lines with nt (and n large enough). */
void adma__copy(void *dst, const void *src, size_t n, bool nt);
/* Orders every non-temporal store of this thread before what follows (sfence). */
void adma__publish(void);

/* layout.c */
/* Checks op @i's layouts (messages name it). @return 0 or -EINVAL. */
int adma__layout_check(const struct adma_engine *e, unsigned i, const struct adma_layout *dst,
		       const struct adma_layout *src);
/* Plans a copy between two layouts that passed adma__layout_check(). */
void adma__layout_plan(struct adma__plan *p, const struct adma_layout *dst,
		       const struct adma_layout *src);
/* Runs bytes [off, off + len) of the plan's flat element order (off and len multiples of the
 * element size). @return bytes written. */
size_t adma__layout_run(const struct adma__plan *p, size_t off, size_t len, bool nt);

/* complete.c */
/* Runs the op's callback unless callbacks are deferred; no lock held. */
void adma__deliver(struct adma_engine *e, struct adma__slot *s, int status, size_t bytes);
/* Marks the op complete: result, failure record, counters, slot freed; lock held. A batch of
 * retires ends with one adma__retired(), which wakes waiters and arms the eventfd. */
void adma__retire(struct adma_engine *e, struct adma__slot *s, int status, size_t bytes);
void adma__retired(struct adma_engine *e);
/* Drops e->lock, then wakes the blocked submitters a retire found room for. Every unlock that
 * may follow a retire goes through it. */
void adma__unlock(struct adma_engine *e);
/* The same wake-up without dropping the lock: before a wait on a condition variable of
 * e->lock, which drops the lock without adma__unlock(). */
void adma__wake_locked(struct adma_engine *e);

/* Runs every pending deferred callback, taking poll_lock (destroy). */
void adma__drain_pending(struct adma_engine *e);

/* The engine whose callback or operator the calling thread is inside, as a chain of frames. */
struct adma__frame {
	const struct adma_engine *e;
	struct adma__frame *up;
};
void adma__enter(struct adma__frame *f, const struct adma_engine *e);
void adma__leave(struct adma__frame *f);
bool adma__inside(const struct adma_engine *e);

/* Records a failure message for adma_last_error() and, unless quiet, prints it. @return err. */
int adma__fail(const struct adma_engine *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));


#endif
