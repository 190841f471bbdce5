/* SPDX-License-Identifier: MIT */
/*
 * The worker-pool backend: a FIFO of slots (linked through slot->next) under e->lock, served by
 * a pool of threads that sleep on e->work when nothing can be taken.
 */
#include <errno.h>
#include <stdlib.h>

#include "backend.h"

struct pool {
	pthread_t *tids;
	unsigned n;
};

/* The head of the FIFO if it may start now: ORDERED engines run one op at a time, and a fence
 * waits until everything before it has completed. Lock held. */
static struct adma__slot *take(struct adma_engine *e)
{
	struct adma__slot *s;

	if (e->queue_head == ADMA__NONE)
		return NULL;
	s = &e->slots[e->queue_head];
	if (e->running && ((e->flags & ADMA_CFG_ORDERED) || (s->op.flags & ADMA_OP_FENCE)))
		return NULL;
	e->queue_head = s->next;
	if (e->queue_head == ADMA__NONE)
		e->queue_tail = ADMA__NONE;
	e->queued--;
	e->running++;
	return s;
}

static void *worker(void *arg)
{
	struct adma_engine *e = arg;
	struct adma__frame f;

	/* Everything a worker runs (operators, callbacks) is inside this engine. */
	adma__enter(&f, e);
	pthread_mutex_lock(&e->lock);
	for (;;) {
		struct adma__slot *s = take(e);
		size_t bytes = 0;
		int status;

		if (!s) {
			if (e->stopping)
				break;
			pthread_cond_wait(&e->work, &e->lock);
			continue;
		}
		/* A cancelled op keeps its turn: its callback runs here, in order. */
		status = s->state == SLOT_CANCELLED ? -ECANCELED : 0;
		s->state = SLOT_RUNNING;
		pthread_mutex_unlock(&e->lock);

		if (!status)
			status = adma__execute(&s->op, &bytes);
		adma__deliver(e, s, status, bytes);

		pthread_mutex_lock(&e->lock);
		e->running--;
		adma__retire(e, s, status, bytes);
		/* A fence or an ordered op may have waited for this one: let a sleeper look. */
		if (e->queued && !e->running)
			pthread_cond_signal(&e->work);
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
	if (n == 1)
		pthread_cond_signal(&e->work);
	else
		pthread_cond_broadcast(&e->work);
}

static void join(struct adma_engine *e, struct pool *p)
{
	pthread_mutex_lock(&e->lock);
	e->stopping = true;
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
	struct pool *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->tids = calloc(e->workers, sizeof(*p->tids));
	if (!p->tids) {
		free(p);
		return -ENOMEM;
	}
	e->be_data = p;
	for (; p->n < e->workers; p->n++) {
		int rc = pthread_create(&p->tids[p->n], NULL, worker, e);

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

static void dump(struct adma_engine *e, FILE *out)
{
	const struct pool *p = e->be_data;

	fprintf(out, "  threads backend: %u worker threads, FIFO of %u queued ops\n", p->n,
		e->queued);
}

const struct adma__backend adma__threads_backend = {
	.name = "threads",
	.start = start,
	.stop = stop,
	.enqueue = enqueue,
	.dump = dump,
};
