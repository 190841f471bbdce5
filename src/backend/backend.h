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
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "adma.h"

#define ADMA__NONE UINT32_MAX

enum adma__slot_state {
	SLOT_FREE,
	SLOT_QUEUED,
	SLOT_CANCELLED, /* still queued; completes with -ECANCELED at its turn */
	SLOT_RUNNING,   /* taken by a worker; until its callback (if run there) returns */
};

/* Per-op state, preallocated: backlog slots per engine, never allocated on the submit path. */
struct adma__slot {
	struct adma_op op; /* validated copy of the user's descriptor */
	uint64_t ticket;
	uint32_t state;    /* enum adma__slot_state */
	uint32_t next;     /* free list or FIFO link */
	uint32_t older;    /* in-flight list, in ticket order */
	uint32_t newer;
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
	/* Runs after the lock is dropped, in the submitting thread, with the same slots. */
	void (*run)(struct adma_engine *e, struct adma__slot **s, unsigned n);
	/* Writes backend-specific state to a dump; e->lock held. */
	void (*dump)(struct adma_engine *e, FILE *out);
};

struct adma_engine {
	struct adma__backend be; /* copied from the backend's table, empty slots filled */
	unsigned backend;
	unsigned workers;
	unsigned backlog;
	unsigned flags;
	size_t align;
	bool deferred;           /* callbacks run in adma_poll(): DEFER_CALLBACKS or inline */

	pthread_mutex_t lock;
	pthread_cond_t done;     /* an op completed; waited on by wait, barrier, destroy */
	pthread_cond_t room;     /* a slot was freed; waited on by blocking submitters */
	pthread_cond_t work;     /* threads backend: work may be takeable, or stop */
	unsigned done_waiters;
	unsigned room_waiters;

	struct adma__slot *slots; /* backlog entries */
	uint32_t free_head;
	uint32_t queue_head, queue_tail; /* FIFO of queued slots (threads backend) */
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
};

extern const struct adma__backend adma__threads_backend;
extern const struct adma__backend adma__inline_backend;

/* kernels.c: runs one op's data movement. @return 0 or negative errno; *bytes = bytes written. */
int adma__execute(const struct adma_op *op, size_t *bytes);

/* complete.c */
/* Runs the op's callback unless callbacks are deferred; no lock held. */
void adma__deliver(struct adma_engine *e, struct adma__slot *s, int status, size_t bytes);
/* Marks the op complete: result, failure record, counters, slot freed, waiters woken; lock held. */
void adma__retire(struct adma_engine *e, struct adma__slot *s, int status, size_t bytes);

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

/* Default worker count for this process. */
unsigned adma__auto_workers(void);

#endif
