/* SPDX-License-Identifier: MIT */
/* Op preparation, validation (the only place user ops are checked) and the submission path. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

#define OP_FLAGS_KNOWN \
	(ADMA_OP_FENCE | ADMA_OP_NONTEMPORAL | ADMA_OP_CACHED | ADMA_OP_NO_INLINE)
/* Ops accepted per critical section: bounds the slot array on the submitter's stack. */
#define SUBMIT_CHUNK 64u

void adma_prep_copy(struct adma_op *op, void *dst, const void *src, size_t n)
{
	memset(op, 0, sizeof(*op));
	op->opcode = ADMA_OP_COPY;
	op->dst = dst;
	op->src = src;
	op->n = n;
}

static bool pattern_len_ok(size_t len)
{
	return len == 1 || len == 2 || len == 4 || len == 8 || len == 16;
}

void adma_prep_fill(struct adma_op *op, void *dst, size_t n, const void *pattern,
		    size_t pattern_len)
{
	memset(op, 0, sizeof(*op));
	op->opcode = ADMA_OP_FILL;
	op->dst = dst;
	op->n = n;
	/* A bad length is kept (saturated, 0 for a NULL pattern) so that the submit rejects it. */
	op->pattern_len = !pattern ? 0 : pattern_len > 255 ? 255 : (uint8_t)pattern_len;
	if (pattern && pattern_len_ok(pattern_len))
		memcpy(op->u.pattern, pattern, pattern_len);
}

void adma_prep_copy_sg(struct adma_op *op, const struct adma_sge *sg, size_t count)
{
	memset(op, 0, sizeof(*op));
	op->opcode = ADMA_OP_COPY_SG;
	op->u.sg = sg;
	op->n = count;
}

void adma_prep_copy_layout(struct adma_op *op, const struct adma_layout *dst,
			   const struct adma_layout *src)
{
	memset(op, 0, sizeof(*op));
	op->opcode = ADMA_OP_COPY_LAYOUT;
	op->u.layout.dst = dst;
	op->u.layout.src = src;
}

void adma_prep_custom(struct adma_op *op, adma_operator *fn, void *dst, const void *src,
		      void *fn_arg)
{
	memset(op, 0, sizeof(*op));
	op->opcode = ADMA_OP_CUSTOM;
	op->dst = dst;
	op->src = src;
	op->u.custom.fn = fn;
	op->u.custom.arg = fn_arg;
}

void adma_op_set_callback(struct adma_op *op, adma_callback *cb, void *arg)
{
	op->cb = cb;
	op->cb_arg = arg;
}

void adma_op_set_flags(struct adma_op *op, unsigned flags)
{
	op->flags = flags;
}

/* Checks one byte range: NULL with n > 0, an end that wraps, the align rule. */
static int check_range(const struct adma_engine *e, unsigned i, const char *what, const void *p,
		       size_t n)
{
	uintptr_t a = (uintptr_t)p;

	if (n && !p)
		return adma__fail(e, -EINVAL, "adma_submit: op %u: %s is NULL with %zu bytes", i,
				  what, n);
	if (n > UINTPTR_MAX - a)
		return adma__fail(e, -EINVAL, "adma_submit: op %u: %s %p + %zu bytes wraps around",
				  i, what, p, n);
	if (e->align && ((a | n) & (e->align - 1)))
		return adma__fail(e, -EINVAL,
				  "adma_submit: op %u: %s %p or size %zu is not a multiple of the "
				  "engine's align %zu", i, what, p, n, e->align);
	return 0;
}

static int check_copy(const struct adma_engine *e, unsigned i, void *dst, const void *src,
		      size_t n)
{
	uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src;
	int rc;

	if ((rc = check_range(e, i, "destination", dst, n)) ||
	    (rc = check_range(e, i, "source", src, n)))
		return rc;
	if (n && d < s + n && s < d + n)
		return adma__fail(e, -EINVAL,
				  "adma_submit: op %u: source %p and destination %p overlap (%zu bytes)",
				  i, src, dst, n);
	return 0;
}

static int validate(const struct adma_engine *e, const struct adma_op *op, unsigned i)
{
	size_t total = 0;
	int rc;

	if (op->flags & ~OP_FLAGS_KNOWN)
		return adma__fail(e, -EINVAL, "adma_submit: op %u: unknown flag bits 0x%x", i,
				  op->flags & ~OP_FLAGS_KNOWN);
	if (op->reserved)
		return adma__fail(e, -EINVAL, "adma_submit: op %u: reserved field is not zero", i);
	if ((op->flags & ADMA_OP_NONTEMPORAL) && (op->flags & ADMA_OP_CACHED))
		return adma__fail(e, -EINVAL,
				  "adma_submit: op %u: ADMA_OP_NONTEMPORAL and ADMA_OP_CACHED both set", i);
	switch (op->opcode) {
	case ADMA_OP_COPY:
		return check_copy(e, i, op->dst, op->src, op->n);
	case ADMA_OP_FILL:
		if (!pattern_len_ok(op->pattern_len))
			return adma__fail(e, -EINVAL,
					  "adma_submit: op %u: fill pattern is NULL or its length %u "
					  "is not 1, 2, 4, 8 or 16", i, op->pattern_len);
		return check_range(e, i, "destination", op->dst, op->n);
	case ADMA_OP_COPY_SG:
		if (op->n && !op->u.sg)
			return adma__fail(e, -EINVAL,
					  "adma_submit: op %u: scatter-gather array is NULL with %zu "
					  "entries", i, op->n);
		if (op->n > SIZE_MAX / sizeof(struct adma_sge))
			return adma__fail(e, -EINVAL, "adma_submit: op %u: %zu entries is too many",
					  i, op->n);
		for (size_t k = 0; k < op->n; k++) {
			const struct adma_sge *g = &op->u.sg[k];

			if ((rc = check_copy(e, i, g->dst, g->src, g->n)))
				return rc;
			if (g->n > SIZE_MAX - total)
				return adma__fail(e, -EINVAL,
						  "adma_submit: op %u: scatter-gather sizes overflow", i);
			total += g->n;
		}
		return 0;
	case ADMA_OP_COPY_LAYOUT:
		return adma__layout_check(e, i, op->u.layout.dst, op->u.layout.src);
	case ADMA_OP_CUSTOM:
		if (!op->u.custom.fn)
			return adma__fail(e, -EINVAL, "adma_submit: op %u: custom operator is NULL", i);
		if (e->align && (((uintptr_t)op->dst | (uintptr_t)op->src) & (e->align - 1)))
			return adma__fail(e, -EINVAL,
					  "adma_submit: op %u: operator address is not a multiple of "
					  "the engine's align %zu", i, e->align);
		return 0;
	}
	return adma__fail(e, -EINVAL, "adma_submit: op %u: unknown opcode %u", i, op->opcode);
}

/* Grows *buf so that it holds at least need elements. Lock held. */
static int reserve(void **buf, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 64;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = adma__realloc(*buf, n * elem);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

/* Makes room for n more ops' completion records, so that retiring never allocates: a result
 * slot for every op that may be queued for adma_poll(), a failure slot for every op that may
 * fail. Allocates only when results or failures pile up beyond what was seen before. */
static int reserve_completion(struct adma_engine *e, unsigned n)
{
	size_t need = e->in_flight + (size_t)n;
	struct adma__pending *old = e->pend;
	size_t old_cap = e->pend_cap;
	int rc;

	rc = reserve((void **)&e->fail, &e->fail_cap, e->nfail + need, sizeof(*e->fail));
	if (rc || !e->deferred || e->npend + need <= e->pend_cap)
		return rc;
	/* The ring cannot be realloc'ed in place: it is unwrapped into a new array. */
	e->pend = NULL;
	e->pend_cap = 0;
	rc = reserve((void **)&e->pend, &e->pend_cap, e->npend + need, sizeof(*e->pend));
	if (rc) {
		e->pend = old;
		e->pend_cap = old_cap;
		return rc;
	}
	for (size_t k = 0; k < e->npend; k++)
		e->pend[k] = old[(e->pend_head + k) % old_cap];
	e->pend_head = 0;
	free(old);
	return 0;
}

/* The first layout copy an engine sees allocates a plan for every slot: engines that never copy
 * layouts pay nothing, and later ones never allocate. Lock held. */
static int reserve_plans(struct adma_engine *e, const struct adma_op *ops, unsigned n)
{
	if (e->plans)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		if (ops[i].opcode != ADMA_OP_COPY_LAYOUT)
			continue;
		e->plans = adma__calloc(e->backlog, sizeof(*e->plans));
		return e->plans ? 0 : -ENOMEM;
	}
	return 0;
}

/* Whether an op may run in the submitting thread: a small copy or fill, when nothing waits in
 * the FIFO before it (so FIFO start order holds), no ordering rule asks for a worker, and no
 * callback must run on a worker (that op would pay for a hand-off anyway: the worker might as
 * well move its data too). */
static bool runs_here(const struct adma_engine *e, const struct adma_op *op, bool queued)
{
	return !queued && e->inline_max && op->n <= e->inline_max &&
	       (op->opcode == ADMA_OP_COPY || op->opcode == ADMA_OP_FILL) &&
	       !(op->flags & (ADMA_OP_FENCE | ADMA_OP_NO_INLINE)) &&
	       !(e->flags & ADMA_CFG_ORDERED) && (!op->cb || e->deferred);
}

/* Whether an op writes with non-temporal stores: forced or forbidden by its flags; else a copy
 * or fill whose data outgrows the caches: the op alone, or the contiguous stream of copies and
 * fills it continues (a large buffer copied in small pieces is one large copy). Lock held:
 * submission order decides what is contiguous. */
static bool use_nt(struct adma_engine *e, const struct adma_op *op)
{
	uintptr_t dst = (uintptr_t)op->dst;

	if (op->flags & (ADMA_OP_NONTEMPORAL | ADMA_OP_CACHED))
		return op->flags & ADMA_OP_NONTEMPORAL;
	if (op->opcode == ADMA_OP_COPY_LAYOUT)
		return op->n >= e->nt_threshold;
	if (op->opcode != ADMA_OP_COPY && op->opcode != ADMA_OP_FILL)
		return false;
	if (dst == e->stream_end && op->n <= SIZE_MAX - e->stream_len)
		e->stream_len += op->n;
	else
		e->stream_len = op->n;
	e->stream_end = dst + op->n;
	return e->stream_len >= e->nt_threshold;
}

/* Takes n slots for ops[0..n), in ticket order; those that will run in this thread go to
 * here[], the others to queue[]. Lock held; room and completion records reserved.
 * @return how many go to here[]. */
static unsigned accept(struct adma_engine *e, const struct adma_op *ops, unsigned n,
		       struct adma__slot **queue, struct adma__slot **here, uint64_t *tickets)
{
	unsigned nq = 0, nh = 0;

	for (unsigned i = 0; i < n; i++) {
		uint32_t idx = e->free_head;
		struct adma__slot *s = &e->slots[idx];

		e->free_head = s->next;
		s->op = ops[i];
		s->plan = NULL;
		if (s->op.opcode == ADMA_OP_COPY_LAYOUT) {
			/* The user's layouts may die with this call: the plan keeps what counts,
			 * and the op's size becomes the bytes it moves. */
			s->plan = &e->plans[idx];
			adma__layout_plan(s->plan, s->op.u.layout.dst, s->op.u.layout.src);
			s->op.u.layout.dst = s->op.u.layout.src = NULL;
			s->op.n = s->plan->count * s->plan->elem;
		}
		s->ticket = e->next_ticket++;
		s->next = ADMA__NONE;
		s->newer = ADMA__NONE;
		s->older = e->newest;
		if (e->newest != ADMA__NONE)
			e->slots[e->newest].newer = idx;
		else
			e->oldest = idx;
		e->newest = idx;
		e->where[s->ticket & e->where_mask] = idx;
		/* Transpose tiles write short rows through the cache: never counted as
		 * non-temporal. */
		s->nt = use_nt(e, &s->op) && !(s->plan && s->plan->transpose);
		e->st.nontemporal += s->nt;
		if (runs_here(e, &s->op, nq || e->queued)) {
			s->state = SLOT_INLINE;
			here[nh++] = s;
		} else {
			s->state = SLOT_QUEUED;
			queue[nq++] = s;
		}
		if (tickets)
			tickets[i] = s->ticket;
	}
	e->in_flight += n;
	atomic_store_explicit(&e->full, e->in_flight == e->backlog, memory_order_relaxed);
	e->st.submitted += n;
	if (e->in_flight > e->st.backlog_peak)
		e->st.backlog_peak = e->in_flight;
	if (nq)
		e->be.enqueue(e, queue, nq);
	return nh;
}

int adma_submit(struct adma_engine *e, const struct adma_op *ops, unsigned count,
		uint64_t *tickets)
{
	struct adma__slot *queue[SUBMIT_CHUNK], *here[SUBMIT_CHUNK];
	unsigned done = 0;
	bool can_block;

	if (!e)
		return adma__fail(e, -EINVAL, "adma_submit: engine is NULL");
	if (adma__foreign(e))
		return adma__foreign_fail(e, __func__);
	if (!ops && count)
		return adma__fail(e, -EINVAL, "adma_submit: ops is NULL with count %u", count);
	if (count > INT32_MAX)
		return adma__fail(e, -EINVAL, "adma_submit: count %u does not fit the return value",
				  count);
	can_block = (e->flags & ADMA_CFG_BLOCK_WHEN_FULL) && !adma__inside(e);

	while (done < count) {
		unsigned n = 0, room, nhere;
		int err = 0, rc;

		while (n < SUBMIT_CHUNK && done + n < count) {
			if ((err = validate(e, &ops[done + n], done + n)))
				break;
			n++;
		}
		if (!n)
			return done ? (int)done : err;

		/* A caller retrying on -EAGAIN must not keep the lock from the workers. */
		if (!can_block && atomic_load_explicit(&e->full, memory_order_relaxed))
			return done ? (int)done : -EAGAIN;
		pthread_mutex_lock(&e->lock);
		/* The backlog is checked before anything runs, inline or not. */
		while (e->in_flight == e->backlog && can_block) {
			e->room_waiters++;
			pthread_cond_wait(&e->room, &e->lock);
			e->room_waiters--;
		}
		room = e->backlog - e->in_flight;
		if (!room) {
			pthread_mutex_unlock(&e->lock);
			return done ? (int)done : -EAGAIN;
		}
		if (n > room) {
			n = room;
			err = 0;
		}
		/* Tickets never wrap: the last one is UINT64_MAX - 1 (centuries away at any rate). */
		if (n > UINT64_MAX - e->next_ticket) {
			n = (unsigned)(UINT64_MAX - e->next_ticket);
			err = 0;
			if (!n) {
				pthread_mutex_unlock(&e->lock);
				return done ? (int)done : adma__fail(e, -EOVERFLOW,
						"adma_submit: the engine has issued every ticket");
			}
		}
		if ((rc = reserve_completion(e, n))) {
			pthread_mutex_unlock(&e->lock);
			return done ? (int)done : adma__fail(e, rc, "adma_submit: no memory for results");
		}
		if ((rc = reserve_plans(e, ops + done, n))) {
			pthread_mutex_unlock(&e->lock);
			return done ? (int)done : adma__fail(e, rc,
							     "adma_submit: no memory for layout plans");
		}
		nhere = accept(e, ops + done, n, queue, here, tickets ? tickets + done : NULL);
		pthread_mutex_unlock(&e->lock);

		/* Only this thread touches here[]'s slots until they are retired; queue[]'s may
		 * already be done and reused. */
		e->be.run(e, here, nhere);
		done += n;
		if (err)
			break;
	}
	return (int)done;
}

int adma_memcpy(struct adma_engine *e, void *dst, const void *src, size_t n, adma_callback *cb,
		void *arg)
{
	struct adma_op op;
	int rc;

	adma_prep_copy(&op, dst, src, n);
	adma_op_set_callback(&op, cb, arg);
	rc = adma_submit(e, &op, 1, NULL);
	return rc < 0 ? rc : 0;
}
