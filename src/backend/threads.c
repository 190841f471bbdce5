/* SPDX-License-Identifier: MIT */
/*
 * The worker-pool backend: a FIFO of slots (linked through slot->next) under e->lock, served by
 * a pool of threads. A large copy or fill stays at the head of the FIFO while its pieces are
 * handed out, so every worker helps with it; small ops are taken in runs. Small ops without a
 * worker-run callback may run in the submitting thread instead (SLOT_INLINE, see submit.c).
 * An idle worker polls work_gen for spin_ns, then sleeps on e->work.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "backend.h"

struct pool {
	pthread_t *tids;
	unsigned n;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Tells idle workers there is work: polling ones see work_gen move; a sleeper is woken only if
 * no worker polls (that one will take it). Lock held. */
static void announce(struct adma_engine *e)
{
	atomic_fetch_add_explicit(&e->work_gen, 1, memory_order_relaxed);
	if (e->sleepers && !e->spinners)
		pthread_cond_signal(&e->work);
}

/* A worker takes a run of up to RUN_MAX small ops (RUN_BYTES in all) per lock: the lock and the
 * wake-up are paid once per run, not once per op. */
#define RUN_MAX 16
#define RUN_BYTES (256u << 10)

/* Larger than two pieces: n > 2 * split_size, written so that it cannot overflow. */
static bool splits(const struct adma_engine *e, const struct adma_op *op)
{
	return (op->opcode == ADMA_OP_COPY || op->opcode == ADMA_OP_FILL ||
		op->opcode == ADMA_OP_COPY_LAYOUT) && e->workers > 1 &&
	       op->n - op->n / 2 > e->split_size;
}

/* Only data movement of known cost joins a run: a custom operator may take any time (or wait
 * for another op), and the ops behind it in a run would wait with it while workers idle. */
static bool joins_run(const struct adma_engine *e, const struct adma_op *op)
{
	return op->opcode != ADMA_OP_CUSTOM && !(op->flags & ADMA_OP_FENCE) && !splits(e, op);
}

/* Decides in how many pieces a copy or fill runs. */
static void plan(struct adma_engine *e, struct adma__slot *s)
{
	const struct adma_op *op = &s->op;

	s->piece_size = SIZE_MAX;
	s->chunks = 1;
	if (splits(e, op)) {
		/* Pieces stay multiples of 4 KiB (fill patterns keep their phase), of a layout
		 * plan's unit (whole elements, whole bands of transpose tiles), and their count
		 * fits 32 bits, whatever the op's size. */
		s->piece_size = e->split_size;
		if (op->opcode == ADMA_OP_COPY_LAYOUT) {
			size_t u = s->plan->unit;

			s->piece_size = s->piece_size / u * u;
			if (s->piece_size < u)
				s->piece_size = u;
		}
		while (op->n / s->piece_size >= UINT32_MAX)
			s->piece_size *= 2;
		s->chunks = (uint32_t)((op->n + s->piece_size - 1) / s->piece_size);
		if (s->chunks > 1)
			e->st.split++;
		else
			s->piece_size = SIZE_MAX; /* a layout whose unit is the whole copy */
	}
	s->taken = 0;
	s->left = s->chunks;
	s->status = 0;
	s->bytes = 0;
}

static void pop_head(struct adma_engine *e, struct adma__slot *s)
{
	e->queue_head = s->next;
	if (e->queue_head == ADMA__NONE)
		e->queue_tail = ADMA__NONE;
	e->queued--;
}

/* The FIFO head if it may start, or NULL; *piece is the piece of a RUNNING op. Lock held.
 * ORDERED engines and fences wait until the head is the oldest op in flight, that is, until
 * everything submitted before it has completed. */
static struct adma__slot *take(struct adma_engine *e, uint32_t *piece)
{
	uint32_t idx = e->queue_head;
	struct adma__slot *s;

	if (idx == ADMA__NONE)
		return NULL;
	s = &e->slots[idx];
	if (s->state != SLOT_RUNNING) {
		if (((e->flags & ADMA_CFG_ORDERED) || (s->op.flags & ADMA_OP_FENCE)) && e->oldest != idx)
			return NULL;
		if (s->state == SLOT_CANCELLED) {
			pop_head(e, s);
			return s;
		}
		plan(e, s);
		s->state = SLOT_RUNNING;
		e->running++;
	}
	*piece = s->taken++;
	if (s->taken == s->chunks)
		pop_head(e, s);
	return s;
}

/* What one worker does next: one piece of a split op, or a run of whole ops from the FIFO head
 * (ORDERED engines: one op). Wakes one more worker if work remains. Lock held. */
static unsigned take_run(struct adma_engine *e, struct adma__slot **run, uint32_t *piece)
{
	size_t bytes;
	unsigned n;

	if (!(run[0] = take(e, piece)))
		return 0;
	n = 1;
	if (run[0]->state == SLOT_RUNNING && run[0]->chunks == 1 && joins_run(e, &run[0]->op) &&
	    !(e->flags & ADMA_CFG_ORDERED)) {
		bytes = run[0]->op.n;
		while (n < RUN_MAX && bytes < RUN_BYTES && e->queue_head != ADMA__NONE) {
			const struct adma__slot *h = &e->slots[e->queue_head];
			uint32_t p;

			if (h->state == SLOT_RUNNING || !joins_run(e, &h->op))
				break;
			run[n++] = take(e, &p);
			bytes += h->op.opcode == ADMA_OP_COPY_SG ? RUN_BYTES / RUN_MAX : h->op.n;
		}
	}
	if (e->queue_head != ADMA__NONE)
		announce(e); /* more to take: one more worker joins in */
	return n;
}

/* One piece of a split op; the worker that finishes the last piece completes the op. Called
 * and returns with the lock held. */
static void process_piece(struct adma_engine *e, struct adma__slot *s, uint32_t piece)
{
	size_t bytes = 0;
	int status;

	adma__unlock(e);
	status = adma__execute_part(s, (size_t)piece * s->piece_size, s->piece_size, &bytes);
	if (s->nt)
		adma__publish();
	pthread_mutex_lock(&e->lock);
	s->bytes += bytes;
	if (status && !s->status)
		s->status = status;
	if (--s->left)
		return;
	status = s->status;
	bytes = s->bytes;
	adma__unlock(e);
	adma__deliver(e, s, status, bytes);
	pthread_mutex_lock(&e->lock);
	e->running--;
	adma__retire(e, s, status, bytes);
	adma__retired(e);
}

/* Moves the data of whole ops (cancelled ones: none, -ECANCELED) into each slot's status and
 * bytes, then publishes it all with one fence, before any callback or retire. No lock held. */
static void execute(struct adma__slot **s, unsigned n, const bool *cancelled)
{
	bool nt = false;

	for (unsigned i = 0; i < n; i++) {
		s[i]->bytes = 0;
		if (cancelled && cancelled[i]) {
			s[i]->status = -ECANCELED;
			continue;
		}
		s[i]->status = adma__execute_part(s[i], 0, SIZE_MAX, &s[i]->bytes);
		nt |= s[i]->nt;
	}
	if (nt)
		adma__publish();
}

/* A run of whole ops: data, then callbacks, then one lock to retire them all. Called and
 * returns with the lock held. */
static void process_run(struct adma_engine *e, struct adma__slot **run, unsigned n)
{
	bool cancelled[RUN_MAX];

	for (unsigned i = 0; i < n; i++)
		cancelled[i] = run[i]->state == SLOT_CANCELLED;
	adma__unlock(e);
	execute(run, n, cancelled);
	for (unsigned i = 0; i < n; i++)
		adma__deliver(e, run[i], run[i]->status, run[i]->bytes);
	pthread_mutex_lock(&e->lock);
	for (unsigned i = 0; i < n; i++) {
		if (!cancelled[i])
			e->running--;
		adma__retire(e, run[i], run[i]->status, run[i]->bytes);
	}
	adma__retired(e);
}

/* Polls work_gen until it moves or spin_ns passes. The lock taken afterwards orders whatever
 * the change announced, so a relaxed read is enough here. */
static void spin(struct adma_engine *e, unsigned gen)
{
	uint64_t end = now_ns() + e->spin_ns;

	for (unsigned i = 1;; i++) {
		if (atomic_load_explicit(&e->work_gen, memory_order_relaxed) != gen)
			return;
		cpu_relax();
		if (!(i & 63) && now_ns() >= end)
			return;
	}
}

static void *worker(void *arg)
{
	struct adma_engine *e = arg;
	struct adma__frame f;

	/* Everything a worker runs (operators, callbacks) is inside this engine. */
	adma__enter(&f, e);
	pthread_mutex_lock(&e->lock);
	for (;;) {
		struct adma__slot *run[RUN_MAX];
		uint32_t piece = 0;
		unsigned n = take_run(e, run, &piece);

		if (n == 1 && run[0]->state == SLOT_RUNNING && run[0]->chunks > 1) {
			process_piece(e, run[0], piece);
			continue;
		}
		if (n) {
			process_run(e, run, n);
			continue;
		}
		if (e->stopping)
			break;
		if (e->spin_ns) {
			unsigned gen = atomic_load_explicit(&e->work_gen, memory_order_relaxed);

			e->spinners++;
			adma__unlock(e);
			spin(e, gen);
			pthread_mutex_lock(&e->lock);
			e->spinners--;
			/* Work announced while this worker spun was not signalled: look again. */
			if (atomic_load_explicit(&e->work_gen, memory_order_relaxed) != gen)
				continue;
			/* So was a stop: its broadcast found nobody asleep. */
			if (e->stopping)
				break;
		}
		e->sleepers++;
		adma__wake_locked(e); /* the wait drops the lock without adma__unlock() */
		pthread_cond_wait(&e->work, &e->lock);
		e->sleepers--;
	}
	pthread_mutex_unlock(&e->lock);
	adma__leave(&f);
	return NULL;
}

static void enqueue(struct adma_engine *e, struct adma__slot **s, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint32_t idx = (uint32_t)(s[i] - e->slots);

		if (e->queue_tail == ADMA__NONE)
			e->queue_head = idx;
		else
			e->slots[e->queue_tail].next = idx;
		e->queue_tail = idx;
	}
	e->queued += n;
	announce(e);
}

/* Runs the ops the submit path chose to run here (SLOT_INLINE: no callback to run on a
 * worker), then retires them with one lock. */
static void run(struct adma_engine *e, struct adma__slot **s, unsigned n)
{
	if (!n)
		return;
	execute(s, n, NULL);
	pthread_mutex_lock(&e->lock);
	e->st.inlined += n;
	for (unsigned i = 0; i < n; i++)
		adma__retire(e, s[i], s[i]->status, s[i]->bytes);
	adma__retired(e);
	/* A fence at the head may have waited for these ops: workers must look again. */
	if (e->queue_head != ADMA__NONE)
		announce(e);
	adma__unlock(e);
}

static void join(struct adma_engine *e, struct pool *p)
{
	pthread_mutex_lock(&e->lock);
	e->stopping = true;
	/* Polling workers watch work_gen, not the condition variable. */
	atomic_fetch_add_explicit(&e->work_gen, 1, memory_order_relaxed);
	pthread_cond_broadcast(&e->work);
	pthread_mutex_unlock(&e->lock);
	for (unsigned i = 0; i < p->n; i++)
		pthread_join(p->tids[i], NULL);
	free(p->tids);
	free(p);
	e->be_data = NULL;
}

static int start(struct adma_engine *e)
{
	struct pool *p = adma__calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->tids = adma__calloc(e->workers, sizeof(*p->tids));
	if (!p->tids) {
		free(p);
		return -ENOMEM;
	}
	e->be_data = p;
	for (; p->n < e->workers; p->n++) {
		int rc = adma__thread_create(&p->tids[p->n], worker, e);

		if (rc) {
			join(e, p);
			return -rc;
		}
	}
	return 0;
}

static void stop(struct adma_engine *e)
{
	join(e, e->be_data);
}

static void forget(struct adma_engine *e)
{
	struct pool *p = e->be_data;

	free(p->tids);
	free(p);
	e->be_data = NULL;
}

static void dump(struct adma_engine *e, FILE *out)
{
	const struct pool *p = e->be_data;

	fprintf(out, "  threads backend: %u worker threads (%u asleep, %u polling), FIFO of %u "
		"queued ops\n", p->n, e->sleepers, e->spinners, e->queued);
	fprintf(out, "  non-temporal from %zu bytes, pieces of %zu bytes, inline up to %zu bytes, "
		"poll %llu ns before sleeping\n", e->nt_threshold, e->split_size, e->inline_max,
		(unsigned long long)e->spin_ns);
}

const struct adma__backend adma__threads_backend = {
	.name = "threads",
	.start = start,
	.stop = stop,
	.forget = forget,
	.enqueue = enqueue,
	.run = run,
	.dump = dump,
};
