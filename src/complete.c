/* SPDX-License-Identifier: MIT */
/*
 * Completion: retiring ops, tickets, wait, barrier, poll, the eventfd, cancel, and the record of
 * which engine's callback or operator a thread is inside (for -EDEADLK).
 *
 * Visibility: a worker writes an op's data before it takes e->lock to retire the op; every
 * observer (wait, barrier, poll, stats) reads the op's state under e->lock, so the unlock/lock
 * pair orders the data before the observation. A non-deferred callback runs on the worker that
 * wrote the data.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"

static _Thread_local struct adma__frame *frames;

void adma__enter(struct adma__frame *f, const struct adma_engine *e)
{
	f->e = e;
	f->up = frames;
	frames = f;
}

void adma__leave(struct adma__frame *f)
{
	frames = f->up;
}

bool adma__inside(const struct adma_engine *e)
{
	for (const struct adma__frame *f = frames; f; f = f->up)
		if (f->e == e)
			return true;
	return false;
}

void adma__deliver(struct adma_engine *e, struct adma__slot *s, int status, size_t bytes)
{
	struct adma_result res = { s->ticket, status, bytes };
	struct adma__frame f;

	if (e->deferred || !s->op.cb)
		return;
	adma__enter(&f, e);
	s->op.cb(s->op.cb_arg, &res);
	adma__leave(&f);
}

/* Index of the first failure with ticket >= t. */
static size_t fail_lower_bound(const struct adma_engine *e, uint64_t t)
{
	size_t lo = 0, hi = e->nfail;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (e->fail[mid].ticket < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Completions arrive almost in ticket order, so the insertion point is found from the end.
 * Capacity was reserved when the op was accepted. */
static void record_failure(struct adma_engine *e, uint64_t t, int status)
{
	size_t i = e->nfail;

	while (i > 0 && e->fail[i - 1].ticket > t)
		i--;
	memmove(&e->fail[i + 1], &e->fail[i], (e->nfail - i) * sizeof(e->fail[0]));
	e->fail[i].ticket = t;
	e->fail[i].status = status;
	e->nfail++;
}

/* The status of a completed op: failures are remembered, everything else succeeded. */
static int completed_status(const struct adma_engine *e, uint64_t t)
{
	size_t i = fail_lower_bound(e, t);

	return i < e->nfail && e->fail[i].ticket == t ? e->fail[i].status : 0;
}

/* Makes the eventfd readable unless it already is. */
static void arm_fd(struct adma_engine *e)
{
	uint64_t one = 1;

	if (e->efd_armed)
		return;
	e->efd_armed = true;
	/* Cannot fail: the counter is far from overflow since it is cleared on every disarm. */
	(void)!write(e->efd, &one, sizeof(one));
}

static void disarm_fd(struct adma_engine *e)
{
	uint64_t v;

	if (!e->efd_armed)
		return;
	e->efd_armed = false;
	(void)!read(e->efd, &v, sizeof(v));
}

/* Whether every op with a ticket below end has completed. Lock held. */
static bool below_done(const struct adma_engine *e, uint64_t end)
{
	return e->oldest == ADMA__NONE || e->slots[e->oldest].ticket >= end;
}

void adma__retire(struct adma_engine *e, struct adma__slot *s, int status, size_t bytes)
{
	uint32_t idx = (uint32_t)(s - e->slots);

	if (e->deferred) {
		struct adma__pending *p = &e->pend[(e->pend_head + e->npend) % e->pend_cap];

		p->res.ticket = s->ticket;
		p->res.status = status;
		p->res.bytes = bytes;
		p->cb = s->op.cb;
		p->cb_arg = s->op.cb_arg;
		e->npend++;
	}
	if (status < 0) {
		record_failure(e, s->ticket, status);
		e->st.failed++;
	}
	e->st.completed++;
	e->st.bytes += bytes;

	if (s->older != ADMA__NONE)
		e->slots[s->older].newer = s->newer;
	else
		e->oldest = s->newer;
	if (s->newer != ADMA__NONE)
		e->slots[s->newer].older = s->older;
	else
		e->newest = s->older;
	s->state = SLOT_FREE;
	s->next = e->free_head;
	e->free_head = idx;
	e->in_flight--;
	for (struct adma__waiter *w = e->waiters; w; w = w->next)
		if (!w->barrier && w->ticket == s->ticket)
			pthread_cond_signal(&w->cv);
}

void adma__retired(struct adma_engine *e)
{
	unsigned room = e->backlog - e->in_flight;

	for (struct adma__waiter *w = e->waiters; w; w = w->next)
		if (w->barrier && below_done(e, w->ticket))
			pthread_cond_signal(&w->cv);

	atomic_store_explicit(&e->full, !room, memory_order_relaxed);
	if (e->done_waiters)
		pthread_cond_broadcast(&e->done);
	/* Blocked submitters wake once a quarter of the backlog is free, not at every run of
	 * completions: one wake-up then lets them accept many ops. */
	if (e->room_waiters && (room >= (e->backlog + 3) / 4 || !e->in_flight))
		e->wake_room = true;
	arm_fd(e);
}

void adma__unlock(struct adma_engine *e)
{
	bool room = e->wake_room;

	e->wake_room = false;
	pthread_mutex_unlock(&e->lock);
	/* After the unlock: the woken submitters find the lock free. Nothing is lost: a
	 * submitter tests for room under the lock before it sleeps, and the retire came first.
	 * `room` belongs to the engine, which outlives every thread that uses it. */
	if (room)
		pthread_cond_broadcast(&e->room);
}

void adma__wake_locked(struct adma_engine *e)
{
	if (e->wake_room)
		pthread_cond_broadcast(&e->room);
	e->wake_room = false;
}

/* The slot of ticket t if t is still in flight, else NULL (t completed). Lock held; t issued. */
static struct adma__slot *find_in_flight(struct adma_engine *e, uint64_t t)
{
	struct adma__slot *s;

	if (e->oldest == ADMA__NONE || t < e->slots[e->oldest].ticket)
		return NULL;
	s = &e->slots[e->where[t & e->where_mask]];
	if (s->state != SLOT_FREE && s->ticket == t)
		return s;
	/* Unless a later ticket has taken over t's hint entry, the hint was exact. */
	if (e->next_ticket - t <= e->where_mask + 1)
		return NULL;
	for (uint32_t i = e->oldest; i != ADMA__NONE; i = e->slots[i].newer) {
		if (e->slots[i].ticket == t)
			return &e->slots[i];
		if (e->slots[i].ticket > t)
			break;
	}
	return NULL;
}

void adma__set_next_ticket(struct adma_engine *e, uint64_t t)
{
	pthread_mutex_lock(&e->lock);
	e->next_ticket = t;
	pthread_mutex_unlock(&e->lock);
}

static bool issued(const struct adma_engine *e, uint64_t t)
{
	return t != 0 && t < e->next_ticket;
}

static struct timespec deadline_after(int64_t ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ns / 1000000000);
	ts.tv_nsec += (long)(ns % 1000000000);
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

/* Sleeps on w->cv until retire says w's condition may hold, or the deadline. Lock held.
 * @return 0, or -ETIMEDOUT once the deadline has passed (or at once when timeout_ns is 0). */
static int sleep_until(struct adma_engine *e, struct adma__waiter *w, int64_t timeout_ns,
		       const struct timespec *deadline)
{
	int rc = 0;

	if (timeout_ns == 0)
		return -ETIMEDOUT;
	if (timeout_ns < 0)
		pthread_cond_wait(&w->cv, &e->lock);
	else
		rc = pthread_cond_timedwait(&w->cv, &e->lock, deadline);
	return rc == ETIMEDOUT ? -ETIMEDOUT : 0;
}

/* Waiters are few and short-lived: a list on their own stacks, each with its own condition
 * variable, so a completion wakes only the threads it concerns. Lock held. */
static void add_waiter(struct adma_engine *e, struct adma__waiter *w, uint64_t ticket,
		       bool barrier)
{
	pthread_cond_init(&w->cv, &e->cond_attr);
	w->ticket = ticket;
	w->barrier = barrier;
	w->next = e->waiters;
	e->waiters = w;
}

static void remove_waiter(struct adma_engine *e, struct adma__waiter *w)
{
	struct adma__waiter **p = &e->waiters;

	while (*p != w)
		p = &(*p)->next;
	*p = w->next;
	pthread_cond_destroy(&w->cv);
}

static int check_wait_args(struct adma_engine *e, int64_t timeout_ns, const char *fn)
{
	if (!e)
		return adma__fail(e, -EINVAL, "%s: engine is NULL", fn);
	if (adma__foreign(e))
		return adma__foreign_fail(e, fn);
	if (timeout_ns < -1)
		return adma__fail(e, -EINVAL, "%s: timeout %lld ns is below -1 (forever)", fn,
				  (long long)timeout_ns);
	if (adma__inside(e))
		return adma__fail(e, -EDEADLK, "%s: called from a callback or operator of the same engine",
				  fn);
	return 0;
}

int adma_wait(struct adma_engine *e, uint64_t ticket, int64_t timeout_ns)
{
	struct timespec deadline;
	int rc = check_wait_args(e, timeout_ns, "adma_wait");

	if (rc)
		return rc;
	if (timeout_ns > 0)
		deadline = deadline_after(timeout_ns);
	pthread_mutex_lock(&e->lock);
	if (!issued(e, ticket)) {
		pthread_mutex_unlock(&e->lock);
		return adma__fail(e, -EINVAL, "adma_wait: ticket %llu was never issued by this engine",
				  (unsigned long long)ticket);
	}
	if (find_in_flight(e, ticket) && timeout_ns) {
		struct adma__waiter w;

		add_waiter(e, &w, ticket, false);
		while (find_in_flight(e, ticket)) {
			rc = sleep_until(e, &w, timeout_ns, &deadline);
			if (rc && find_in_flight(e, ticket))
				break;
			rc = 0;
		}
		remove_waiter(e, &w);
	} else if (find_in_flight(e, ticket)) {
		rc = -ETIMEDOUT;
	}
	if (!rc)
		rc = completed_status(e, ticket);
	pthread_mutex_unlock(&e->lock);
	return rc;
}

int adma_barrier(struct adma_engine *e, int64_t timeout_ns)
{
	struct timespec deadline;
	uint64_t end;
	size_t i;
	int rc = check_wait_args(e, timeout_ns, "adma_barrier");

	if (rc)
		return rc;
	if (timeout_ns > 0)
		deadline = deadline_after(timeout_ns);
	pthread_mutex_lock(&e->lock);
	end = e->next_ticket;
	if (!below_done(e, end)) {
		struct adma__waiter w;

		add_waiter(e, &w, end, true);
		while (!below_done(e, end)) {
			if (sleep_until(e, &w, timeout_ns, &deadline) && !below_done(e, end)) {
				rc = -ETIMEDOUT;
				break;
			}
		}
		remove_waiter(e, &w);
		if (rc) {
			pthread_mutex_unlock(&e->lock);
			return rc;
		}
	}
	/* Every op below `end` has completed: report the lowest failure not yet reported. */
	i = fail_lower_bound(e, e->barrier_mark);
	if (i < e->nfail && e->fail[i].ticket < end)
		rc = e->fail[i].status;
	if (end > e->barrier_mark)
		e->barrier_mark = end;
	pthread_mutex_unlock(&e->lock);
	return rc;
}

/* Runs up to max pending results' callbacks in this thread. poll_lock held, e->lock not. */
static unsigned run_pending(struct adma_engine *e, struct adma_result *out, unsigned max)
{
	struct adma__frame f;
	unsigned n = 0;

	adma__enter(&f, e);
	while (n < max) {
		struct adma__pending p;

		pthread_mutex_lock(&e->lock);
		if (!e->npend) {
			pthread_mutex_unlock(&e->lock);
			break;
		}
		p = e->pend[e->pend_head];
		e->pend_head = (e->pend_head + 1) % e->pend_cap;
		e->npend--;
		pthread_mutex_unlock(&e->lock);

		if (p.cb)
			p.cb(p.cb_arg, &p.res);
		if (out)
			out[n] = p.res;
		n++;
	}
	adma__leave(&f);
	pthread_mutex_lock(&e->lock);
	if (!e->npend)
		disarm_fd(e);
	pthread_mutex_unlock(&e->lock);
	return n;
}

int adma_poll(struct adma_engine *e, struct adma_result *out, unsigned max)
{
	int n;

	if (!e)
		return adma__fail(e, -EINVAL, "adma_poll: engine is NULL");
	if (adma__foreign(e))
		return adma__foreign_fail(e, __func__);
	if (!e->deferred) {
		pthread_mutex_lock(&e->lock);
		disarm_fd(e);
		pthread_mutex_unlock(&e->lock);
		return 0;
	}
	if (max > INT32_MAX)
		max = INT32_MAX;
	/* One poller at a time keeps deferred callbacks one at a time and in order; a second
	 * poller (or one nested in a callback) finds the lock taken and returns at once. */
	if (pthread_mutex_trylock(&e->poll_lock))
		return 0;
	n = (int)run_pending(e, out, max);
	pthread_mutex_unlock(&e->poll_lock);
	return n;
}

void adma__drain_pending(struct adma_engine *e)
{
	pthread_mutex_lock(&e->poll_lock);
	run_pending(e, NULL, UINT32_MAX);
	pthread_mutex_unlock(&e->poll_lock);
}

int adma_fd(struct adma_engine *e)
{
	if (!e)
		return adma__fail(e, -EINVAL, "adma_fd: engine is NULL");
	if (adma__foreign(e))
		return adma__foreign_fail(e, __func__);
	return e->efd;
}

int adma_cancel(struct adma_engine *e, uint64_t ticket)
{
	struct adma__slot *s;
	int rc = 0;

	if (!e)
		return adma__fail(e, -EINVAL, "adma_cancel: engine is NULL");
	if (adma__foreign(e))
		return adma__foreign_fail(e, __func__);
	pthread_mutex_lock(&e->lock);
	if (!issued(e, ticket)) {
		pthread_mutex_unlock(&e->lock);
		return adma__fail(e, -EINVAL, "adma_cancel: ticket %llu was never issued by this engine",
				  (unsigned long long)ticket);
	}
	s = find_in_flight(e, ticket);
	if (s && s->state == SLOT_QUEUED) {
		/* It stays at its place in the queue and completes, callback and all, at its turn. */
		s->state = SLOT_CANCELLED;
		e->st.cancelled++;
	} else {
		rc = -EBUSY;
	}
	pthread_mutex_unlock(&e->lock);
	return rc;
}
