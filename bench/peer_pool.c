/* SPDX-License-Identifier: MIT */
/*
 * Peer "pool": the plain thread pool most programs would write, and what AML's "linux" DMA
 * engine is: a FIFO of requests behind one mutex, a condition variable to wake the workers, one
 * malloc'd request per copy, each copy one memcpy on one worker, and a counter of requests not
 * yet done that the waiter sleeps on.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define POOL_MAX_THREADS 64

struct request {
	struct request *next;
	void *dst;
	const void *src;
	size_t n;
};

static struct {
	pthread_mutex_t lock; /* protects everything below */
	pthread_cond_t work;  /* a request was queued, or stop was set */
	pthread_cond_t idle;  /* pending fell to zero */
	struct request *head, *tail;
	unsigned long pending; /* queued or running */
	bool stop;
	unsigned nthreads, running;
	pthread_t threads[POOL_MAX_THREADS];
} pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER,
};

static void *worker(void *arg)
{
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		struct request *r;

		while (!pool.head && !pool.stop)
			pthread_cond_wait(&pool.work, &pool.lock);
		if (!pool.head)
			break;
		r = pool.head;
		pool.head = r->next;
		if (!pool.head)
			pool.tail = NULL;
		pthread_mutex_unlock(&pool.lock);

		memcpy(r->dst, r->src, r->n);
		free(r);

		pthread_mutex_lock(&pool.lock);
		if (--pool.pending == 0)
			pthread_cond_broadcast(&pool.idle);
	}
	pthread_mutex_unlock(&pool.lock);
	return arg;
}

static int pool_init(unsigned threads, char *why, size_t len)
{
	pool.nthreads = threads ? threads : 1;
	if (pool.nthreads > POOL_MAX_THREADS)
		pool.nthreads = POOL_MAX_THREADS;
	return 0;
}

static void pool_stop(void)
{
	pthread_mutex_lock(&pool.lock);
	pool.stop = true;
	pthread_cond_broadcast(&pool.work);
	pthread_mutex_unlock(&pool.lock);
	for (unsigned i = 0; i < pool.running; i++)
		pthread_join(pool.threads[i], NULL);
	pool.running = 0;
	pool.stop = false;
}

static int pool_start(void)
{
	for (pool.running = 0; pool.running < pool.nthreads; pool.running++) {
		int r = pthread_create(&pool.threads[pool.running], NULL, worker, NULL);

		if (r) {
			pool_stop();
			return -r;
		}
	}
	return 0;
}

static void pool_fini(void)
{
	if (pool.running)
		pool_stop();
}

static int pool_submit(void *const *dst, const void *src, size_t n, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		struct request *r = malloc(sizeof(*r));

		if (!r)
			return -ENOMEM;
		r->next = NULL;
		r->dst = dst[i];
		r->src = src;
		r->n = n;
		pthread_mutex_lock(&pool.lock);
		if (pool.tail)
			pool.tail->next = r;
		else
			pool.head = r;
		pool.tail = r;
		pool.pending++;
		pthread_cond_signal(&pool.work);
		pthread_mutex_unlock(&pool.lock);
	}
	return 0;
}

static int pool_wait_all(void)
{
	pthread_mutex_lock(&pool.lock);
	while (pool.pending)
		pthread_cond_wait(&pool.idle, &pool.lock);
	pthread_mutex_unlock(&pool.lock);
	return 0;
}

static int pool_batch(void *const *dst, const void *src, size_t n, unsigned count)
{
	int r = pool_submit(dst, src, n, count);
	int w = pool_wait_all();

	return r < 0 ? r : w;
}

static int pool_copy(void *dst, const void *src, size_t n)
{
	return pool_batch(&dst, src, n, 1);
}

static unsigned pool_threads(void)
{
	return pool.nthreads;
}

const struct bench_peer bench_peer_pool = {
	.name = "pool",
	.what = "pthread pool, mutex+condvar FIFO, malloc per request, one memcpy per request",
	.scenarios = BENCH_BIT(BENCH_BULK) | BENCH_BIT(BENCH_RATE) | BENCH_BIT(BENCH_LATENCY) |
		     BENCH_BIT(BENCH_ALLOC),
	.init = pool_init,
	.fini = pool_fini,
	.start = pool_start,
	.stop = pool_stop,
	.copy = pool_copy,
	.batch = pool_batch,
	.submit = pool_submit,
	.wait_all = pool_wait_all,
	.threads = pool_threads,
};
