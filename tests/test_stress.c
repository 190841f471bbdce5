/* SPDX-License-Identifier: MIT */
/*
 * Stress and soak: engines of every backend and flag combination, one after the other, each
 * driven by 3 or 4 submitting threads for a slice of the time budget, then destroyed, with
 * every byte and every completion checked.
 *
 * Time budget: ADMA_STRESS_SECONDS (default 8 s; 20 s under ASan or TSan; 30 s in all under
 * valgrind, with tiny sizes); `make soak` runs 600. ADMA_STRESS_SEED replays a run (default:
 * from the clock; always printed); ADMA_STRESS_ENGINE=N starts at engine N of that seed (each
 * engine's configuration and random streams derive from the seed and its number only), and
 * ADMA_STRESS_VERBOSE=1 prints one line per engine.
 *
 * Engines: the threads backend with 1, 2 and 4 workers, ORDERED, DEFER_CALLBACKS and both,
 * BLOCK_WHEN_FULL, the inline backend (plain and ORDERED), cycled through; on each a backlog of
 * 4, 16, the default or a random one, and half the time tuning fields set low (split_size 4 to
 * 64 KiB, inline_max, nt_threshold, spin_ns small, 0 or ADMA_OFF). ADMA_CFG_QUIET always.
 *
 * Each submitter runs a random mix: batches of 1 to 32 ops (copy; fill with patterns of 1, 2,
 * 4, 8 or 16 bytes; scatter-gather of 1 to 8 entries; layout copies of 1 to 4 dims, dense,
 * sliced, transposed, reversed, reshaped or broadcast; custom operators that copy, or that
 * fail with a chosen errno after writing a prefix), sizes 0 to 16 MiB (log-uniform, mostly
 * small) at random offsets, random op flags (FENCE, NONTEMPORAL, CACHED, NO_INLINE), a
 * callback on three ops in four; adma_cancel of recently submitted ops; adma_wait with
 * timeouts 0, 1 ms and forever; adma_barrier (serialized, bracketed by marker ops so that the
 * ticket range it covers is known); adma_poll at random moments and, some of the time, from a
 * dedicated thread sleeping in poll(2) on adma_fd(); -EAGAIN and partial batches retried.
 * Sources live in a per-thread arena that does not change while an engine lives; each op
 * writes its own region of a per-thread destination arena (a ring: a region is reused only
 * after its op completed and was checked), framed by guard bytes, and pre-filled with the op's
 * canary byte. The main thread checks adma_stats while they run, and adma_dump's output.
 *
 * Each engine ends one of two ways: drained (barrier, every result polled, adma_stats exact:
 * submitted == completed, failed, cancelled, bytes), or destroyed while busy (the submitters
 * leave their last ops in flight, deferred results unpolled), when adma_engine_destroy must
 * complete them all. Checks:
 *   - every destination region: the guards and gaps keep the canary; the op's bytes equal the
 *     reference (the source, the fill pattern, the layout reference walker of layout_ref.h,
 *     the operator's prefix); a cancelled op wrote nothing;
 *   - every callback ran exactly once (counted per op, checked again after destroy), never
 *     inside adma_submit, with the expected status (0, the operator's errno, or -ECANCELED
 *     exactly when adma_cancel returned 0), bytes and ticket; under ORDERED one at a time in
 *     ticket order; adma_wait from a callback or operator is -EDEADLK;
 *   - adma_wait returns the op's status, also long after completion; a cancel after a wait
 *     saw completion is -EBUSY, a second cancel too;
 *   - tickets strictly increase per thread; adma_poll reports each op at most once (exactly
 *     once on drained deferred engines) with the right status and bytes;
 *   - each barrier returns 0 when no op of the ticket range it certainly covers failed, the
 *     status of a failed op of the range it may cover otherwise, and 0 if none may;
 *   - adma_stats consistent while running, exact when drained.
 * A watchdog turns a hang into a failure. Failures print the seed, the engine and the op.
 */
#include "helpers.h"
#include "layout_ref.h"

#include <poll.h>
#include <stdarg.h>

#define MAXT 4	   /* submitting threads per engine, at most */
#define MAXB 32	   /* ops per adma_submit, at most */
#define MAXSG 8	   /* scatter-gather entries */
#define MAXLD 4	   /* layout dims */
#define RING 1024  /* ops in flight per thread, at most */
#define GUARD 32   /* canary bytes on each side of a destination region */
#define OLD 64	   /* completed tickets remembered per thread, for late adma_wait */
#define POLLMAX 64 /* results per adma_poll */
#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
#define MS 1000000LL

#if defined(__SANITIZE_ADDRESS__)
#define STRESS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STRESS_ASAN 1
#endif
#endif
#ifndef STRESS_ASAN
#define STRESS_ASAN 0
#endif

enum kind {
	K_COPY,
	K_FILL,
	K_SG,
	K_LAYOUT,
	K_CCOPY,
	K_CFAIL,
	K_MARKER,
	NKINDS
};

static const char *const kind_name[NKINDS] = { "copy",	      "fill",	     "sg",    "layout",
					       "custom-copy", "custom-fail", "marker" };

/* ---- run parameters -------------------------------------------------------------------- */

static struct {
	double seconds;
	uint64_t seed;
	unsigned first_engine;
	bool verbose;
	size_t max_op;	   /* largest copy, fill or custom op; sg total */
	size_t layout_max; /* largest layout copy, bytes */
	size_t src_cap;	   /* per-thread source arena */
	size_t dst_cap;	   /* per-thread destination arena */
	size_t scratch_cap;
	unsigned rec_cap; /* ops per engine, at most */
	unsigned hang_s;  /* the watchdog's limit past an engine's slice */
	unsigned max_threads;
} P;

/* ---- per-op records: persist for an engine's life ----------------------------------------- */

struct rec {
	atomic_int calls; /* callbacks run */
	int status;	  /* what the callback saw */
	size_t bytes;
	uint64_t ticket;
	uint64_t my_ticket; /* from adma_submit */
	size_t exp_bytes;
	int exp_status;
	uint8_t kind, has_cb, thread, accepted;
};

/* One barrier: p a marker ticket issued before the call, m one issued after it returned. */
struct bev {
	uint64_t p, m;
	int rc;
};

struct counts {
	uint64_t ops[NKINDS], bytes_verified, regions, won, lost, waits, barriers, barrier_fails,
		polled, eagain, partial, inflight_at_destroy, inlined, split, nontemporal, engines,
		engines_busy;
};

struct eng {
	struct adma_engine *e;
	unsigned idx;
	char desc[400];
	struct adma_config cfg;
	bool deferred, ordered, block, inline_be, poller, destroy_busy;
	unsigned nthreads;
	unsigned fail_pm;   /* failing custom ops per 1000 ops: 0, 5 or 120 */
	unsigned cancel_pm; /* cancels per 1000 actions: 0 when nothing may fail */
	uint64_t seed, slice_end;
	atomic_bool stop, poller_stop;

	struct rec *recs;
	atomic_uint nrec;

	struct adma_result *log; /* every result adma_poll copied out */
	atomic_uint nlog;
	atomic_uint unlogged; /* results handled with out == NULL */
	atomic_uint log_overflow;

	pthread_mutex_t bar_lock; /* barriers one at a time, so that each covers a known range */
	struct bev *ev;
	unsigned nev, ev_cap;

	atomic_uint_fast64_t last_cb; /* ORDERED: the last callback's ticket */
	atomic_int in_cb;
	atomic_uint won;
};

/* ---- live ops: a per-thread ring, reused once an op is checked -------------------------- */

struct cust {
	size_t n, partial;
	int err;
	bool probe;	   /* the operator checks that adma_wait is -EDEADLK inside it */
	unsigned delay_us; /* the operator sleeps first (keeps a worker busy) */
};

struct live {
	struct rec *r;
	uint8_t kind, canary;
	unsigned flags;
	bool submitted, cancel_tried, cancelled, known_done;
	size_t reg_off, reg_len; /* the region in the destination arena, guards included */
	uint8_t *pay;		 /* the payload area inside it */
	size_t pay_len;
	const uint8_t *src; /* copy, custom */
	size_t n;
	uint8_t pat[16]; /* fill */
	unsigned plen;
	struct adma_sge sg[MAXSG];
	size_t sg_gap[MAXSG];	/* canary bytes before the k-th entry laid out */
	unsigned sg_lay[MAXSG]; /* the entry laid out k-th */
	unsigned nsg;
	struct adma_layout ld, ls;
	struct cust c;
};

struct sub {
	struct eng *g;
	unsigned id;
	uint64_t rs;
	uint8_t *src, *dst, *scratch;
	struct live *ring;
	unsigned tail, count;
	size_t head_off;
	struct adma_op ops[MAXB];
	struct live *blv[MAXB];
	struct rec *brec[MAXB]; /* markers have no live op */
	unsigned nb;
	uint64_t last_ticket;
	struct {
		uint64_t t;
		int st;
		bool retired; /* seen complete by adma_wait (or a deferred callback) */
	} old[OLD];
	unsigned nold;
	struct counts c;
	pthread_t tid;
};

static struct sub subs[MAXT];
static struct eng *g_cur;
static _Thread_local bool in_submit;
static struct counts total;

/* The watchdog: a phase that outlives hang_at is a hang. */
static atomic_uint_fast64_t hang_at;
static atomic_bool watchdog_stop;

/* ---- failure reports ---------------------------------------------------------------------- */

static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;

static void describe_layout(FILE *f, const char *what, const struct adma_layout *l,
			    const uint8_t *arena)
{
	fprintf(f, "    %s: base arena%+td es %zu dims [", what, (const uint8_t *)l->base - arena,
		l->elem_size);
	for (unsigned i = 0; i < l->ndims && i < ADMA_MAX_DIMS; i++)
		fprintf(f, "%s%zu", i ? " " : "", l->dims[i]);
	fprintf(f, "] strides [");
	for (unsigned i = 0; i < l->ndims && i < ADMA_MAX_DIMS; i++)
		fprintf(f, "%s%td", i ? " " : "", l->strides[i]);
	fprintf(f, "]\n");
}

static void describe(FILE *f, const struct sub *s, const struct live *lv)
{
	const struct rec *r = lv->r;

	fprintf(f,
		"  op: %s, ticket %" PRIu64 ", flags 0x%x, %s, canary 0x%02x, region %zu+%zu of "
		"the thread's destination arena, payload at %td (%zu bytes)\n",
		kind_name[lv->kind], r ? r->my_ticket : 0, lv->flags,
		r && r->has_cb ? "callback" : "no callback", lv->canary, lv->reg_off, lv->reg_len,
		lv->pay - s->dst, lv->pay_len);
	fprintf(f, "    cancel %s; submitted %d, completion seen by wait %d\n",
		lv->cancelled	 ? "won" :
		lv->cancel_tried ? "lost" :
				   "not tried",
		lv->submitted, lv->known_done);
	if (r)
		fprintf(f,
			"    expected status %d bytes %zu; callback ran %d times: status %d bytes %zu "
			"ticket %" PRIu64 "\n",
			r->exp_status, r->exp_bytes, atomic_load(&r->calls), r->status, r->bytes,
			r->ticket);
	switch (lv->kind) {
	case K_COPY:
	case K_CCOPY:
	case K_CFAIL:
		fprintf(f, "    %zu bytes from source arena+%td", lv->n, lv->src - s->src);
		if (lv->kind == K_CFAIL)
			fprintf(f, "; the operator writes %zu bytes and returns %d", lv->c.partial,
				lv->c.err);
		fprintf(f, "\n");
		break;
	case K_FILL:
		fprintf(f, "    %zu bytes of the %u-byte pattern", lv->n, lv->plen);
		for (unsigned i = 0; i < lv->plen; i++)
			fprintf(f, " %02x", lv->pat[i]);
		fprintf(f, "\n");
		break;
	case K_SG:
		for (unsigned i = 0; i < lv->nsg; i++)
			fprintf(f, "    entry %u: %zu bytes, payload+%td <- source arena+%td\n", i,
				lv->sg[i].n,
				lv->sg[i].dst ? (const uint8_t *)lv->sg[i].dst - lv->pay : -1,
				lv->sg[i].src ? (const uint8_t *)lv->sg[i].src - s->src : -1);
		break;
	case K_LAYOUT:
		describe_layout(f, "dst", &lv->ld, lv->pay);
		describe_layout(f, "src", &lv->ls, s->src);
		break;
	}
}

__attribute__((format(printf, 4, 5), noreturn)) static void
failf(const struct eng *g, const struct sub *s, const struct live *lv, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&fail_lock); /* never released: _exit follows */
	fprintf(stderr,
		"test_stress: FAILED, seed 0x%" PRIx64 " (replay: ADMA_STRESS_SEED=0x%" PRIx64
		" ADMA_STRESS_ENGINE=%u)\n",
		P.seed, P.seed, g ? g->idx : 0);
	if (g)
		fprintf(stderr, "  engine #%u: %s\n", g->idx, g->desc);
	if (s)
		fprintf(stderr, "  submitting thread %u\n", s->id);
	fprintf(stderr, "  ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (lv && s)
		describe(stderr, s, lv);
	fflush(stderr);
	_exit(T_FAIL);
}

/* ---- random numbers --------------------------------------------------------------------- */

static uint64_t splitmix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return (x ^ (x >> 31)) | 1;
}

static size_t rnd(uint64_t *rs, size_t n) /* 0 .. n-1 */
{
	return n ? (size_t)(t_rand(rs) % n) : 0;
}

static size_t log_uniform(uint64_t *rs, size_t lo, size_t hi) /* 1 <= lo <= hi */
{
	unsigned blo = 63 - (unsigned)__builtin_clzll(lo), bhi = 63 - (unsigned)__builtin_clzll(hi);
	unsigned b = blo + (unsigned)rnd(rs, bhi - blo + 1);
	size_t v = ((size_t)1 << b) + rnd(rs, (size_t)1 << b);

	return v < lo ? lo : v > hi ? hi : v;
}

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Mostly small, a few large: 2% empty, 92.5% up to 64 KiB, 5% up to 1 MiB, 0.5% up to max. */
static size_t pick_size(uint64_t *rs, size_t max)
{
	unsigned r = (unsigned)rnd(rs, 1000);

	if (r < 20 || max == 0)
		return 0;
	if (r < 945)
		return log_uniform(rs, 1, min_sz(64 * KIB, max));
	if (r < 995)
		return log_uniform(rs, min_sz(64 * KIB, max), min_sz(MIB, max));
	return log_uniform(rs, min_sz(MIB, max), max);
}

static void fill_arena(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t s = seed | 1, x;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		x = t_rand(&s);
		memcpy(p + i, &x, 8);
	}
	for (; i < n; i++)
		p[i] = (uint8_t)(t_rand(&s) >> 56);
}

static unsigned pick_flags(uint64_t *rs)
{
	unsigned f = 0, r = (unsigned)rnd(rs, 100);

	if (r < 10)
		f |= ADMA_OP_NONTEMPORAL;
	else if (r < 20)
		f |= ADMA_OP_CACHED;
	if (rnd(rs, 100) < 15)
		f |= ADMA_OP_NO_INLINE;
	if (rnd(rs, 100) < 3)
		f |= ADMA_OP_FENCE;
	return f;
}

/* ---- callbacks and operators -------------------------------------------------------------- */

static void op_cb(void *arg, const struct adma_result *res)
{
	struct rec *r = arg;
	struct eng *g = g_cur;

	if (in_submit)
		failf(g, NULL, NULL, "callback of ticket %" PRIu64 " ran inside adma_submit",
		      res->ticket);
	if (g->ordered) {
		int busy = atomic_fetch_add(&g->in_cb, 1);
		uint64_t last = atomic_exchange(&g->last_cb, res->ticket);

		if (busy)
			failf(g, NULL, NULL, "ORDERED: two callbacks at once (ticket %" PRIu64 ")",
			      res->ticket);
		if (last >= res->ticket)
			failf(g, NULL, NULL,
			      "ORDERED: callback of ticket %" PRIu64 " after that of %" PRIu64,
			      res->ticket, last);
		atomic_fetch_sub(&g->in_cb, 1);
	}
	if ((res->ticket & 63) == 0) {
		int rc = adma_wait(g->e, res->ticket, 0);

		if (rc != -EDEADLK)
			failf(g, NULL, NULL,
			      "adma_wait from the callback of ticket %" PRIu64
			      " returned %d, expected -EDEADLK",
			      res->ticket, rc);
	}
	r->status = res->status;
	r->bytes = res->bytes;
	r->ticket = res->ticket;
	ADMA_HAPPENS_BEFORE(&r->calls);
	atomic_fetch_add_explicit(&r->calls, 1, memory_order_release);
}


static void probe_deadlock(const struct cust *c)
{
	int rc;

	if (!c->probe)
		return;
	rc = adma_wait(g_cur->e, 1, 0);
	if (rc != -EDEADLK)
		failf(g_cur, NULL, NULL, "adma_wait in a custom operator returned %d", rc);
}

static long op_copy(void *dst, const void *src, void *arg)
{
	const struct cust *c = arg;

	probe_deadlock(c);
	if (c->delay_us) {
		struct timespec ts = { 0, (long)c->delay_us * 1000 };

		nanosleep(&ts, NULL);
	}
	if (c->n)
		memcpy(dst, src, c->n);
	return (long)c->n;
}

static long op_fail(void *dst, const void *src, void *arg)
{
	const struct cust *c = arg;

	probe_deadlock(c);
	if (c->partial)
		memcpy(dst, src, c->partial);
	return c->err;
}

static const int fail_errnos[] = { -EIO, -ENODATA, -EPROTO, -ENOSPC, -EFAULT, -EMSGSIZE, -EXDEV };

/* ---- polling ------------------------------------------------------------------------------ */

static void log_results(struct eng *g, const struct adma_result *res, unsigned n)
{
	unsigned at = atomic_fetch_add(&g->nlog, n);

	if (at + n > P.rec_cap + 8) {
		atomic_fetch_add(&g->log_overflow, n);
		return;
	}
	memcpy(&g->log[at], res, n * sizeof(*res));
}

/* One adma_poll, its results logged. @return how many it handled. */
static int poll_some(struct eng *g, uint64_t *rs)
{
	struct adma_result res[POLLMAX];
	unsigned max = 1 + (unsigned)rnd(rs, POLLMAX);
	bool out = rnd(rs, 8) != 0;
	int n = adma_poll(g->e, out ? res : NULL, max);

	if (n < 0 || (unsigned)n > max || (!g->deferred && n != 0))
		failf(g, NULL, NULL, "adma_poll(max %u) returned %d", max, n);
	if (out)
		log_results(g, res, (unsigned)n);
	else
		atomic_fetch_add(&g->unlogged, (unsigned)n);
	return n;
}

static void *poller_main(void *arg)
{
	struct eng *g = arg;
	uint64_t rs = splitmix(g->seed + 99);
	int fd = adma_fd(g->e);

	if (fd < 0)
		failf(g, NULL, NULL, "adma_fd returned %d", fd);
	while (!atomic_load(&g->poller_stop)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r = poll(&pfd, 1, 5);

		if (r < 0 && errno != EINTR)
			failf(g, NULL, NULL, "poll(2) on adma_fd: %s", strerror(errno));
		if (poll_some(g, &rs) == 0 && r > 0) {
			/* another thread polls, or a non-deferred engine: let it be */
			struct timespec ts = { 0, 100000 };

			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

/* ---- checking a completed op -------------------------------------------------------------- */

static void bad_byte(struct sub *s, struct live *lv, const char *what, const uint8_t *at,
		     uint8_t expect)
{
	failf(s->g, s, lv, "%s: payload byte %td is 0x%02x, expected 0x%02x", what, at - lv->pay,
	      *at, expect);
}

static void check_canary(struct sub *s, struct live *lv, const uint8_t *p, size_t n,
			 const char *what)
{
	size_t i = t_first_not(p, n, lv->canary);

	if (i < n)
		bad_byte(s, lv, what, p + i, lv->canary);
}

static void check_same(struct sub *s, struct live *lv, const uint8_t *d, const uint8_t *src,
		       size_t n, const char *what)
{
	size_t i = t_first_diff(d, src, n);

	if (i < n)
		bad_byte(s, lv, what, d + i, src[i]);
}

/* The region of a completed op against the reference. */
static void check_data(struct sub *s, struct live *lv)
{
	uint8_t *reg = s->dst + lv->reg_off, *pay = lv->pay, *end = pay + lv->pay_len;
	size_t i;

	check_canary(s, lv, reg, (size_t)(pay - reg), "guard before the payload written");
	check_canary(s, lv, end, (size_t)(reg + lv->reg_len - end),
		     "guard after the payload written");
	if (lv->cancelled) {
		check_canary(s, lv, pay, lv->pay_len, "cancelled op wrote its destination");
		return;
	}
	switch (lv->kind) {
	case K_COPY:
	case K_CCOPY:
		check_same(s, lv, pay, lv->src, lv->n, "copy differs from its source");
		break;
	case K_CFAIL:
		check_same(s, lv, pay, lv->src, lv->c.partial, "operator's prefix differs");
		check_canary(s, lv, pay + lv->c.partial, lv->n - lv->c.partial,
			     "written past the failing operator's prefix");
		break;
	case K_FILL:
		i = t_first_bad_fill(pay, lv->n, lv->pat, lv->plen);
		if (i < lv->n)
			bad_byte(s, lv, "fill differs from its pattern", pay + i,
				 lv->pat[i % lv->plen]);
		break;
	case K_SG: {
		size_t at = 0;

		for (unsigned k = 0; k < lv->nsg; k++) {
			const struct adma_sge *e = &lv->sg[lv->sg_lay[k]];

			check_canary(s, lv, pay + at, lv->sg_gap[k], "sg gap written");
			at += lv->sg_gap[k];
			if (e->n)
				check_same(s, lv, pay + at, e->src, e->n, "sg entry differs");
			at += e->n;
		}
		check_canary(s, lv, pay + at, lv->pay_len - at, "sg tail written");
		break;
	}
	case K_LAYOUT: {
		size_t count = 1, es = lv->ld.elem_size;
		ptrdiff_t db = (uint8_t *)lv->ld.base - pay;

		for (unsigned d = 0; d < lv->ld.ndims; d++)
			count *= lv->ld.dims[d];
		memset(s->scratch, lv->canary, lv->pay_len);
		for (size_t k = 0; k < count; k++)
			memcpy(s->scratch + db + elem_offset(&lv->ld, k),
			       (const uint8_t *)lv->ls.base + elem_offset(&lv->ls, k), es);
		i = t_first_diff(pay, s->scratch, lv->pay_len);
		if (i < lv->pay_len)
			bad_byte(s, lv, "layout copy differs from the reference walker", pay + i,
				 s->scratch[i]);
		break;
	}
	}
	s->c.bytes_verified += lv->reg_len;
	s->c.regions++;
}

/* The record of an op known complete (callback run, if any). */
static void check_rec(struct eng *g, struct sub *s, struct live *lv, const struct rec *r)
{
	int calls = t_observe(&r->calls);

	if (calls != (r->has_cb ? 1 : 0))
		failf(g, s, lv, "%s ticket %" PRIu64 ": callback ran %d times, expected %d",
		      kind_name[r->kind], r->my_ticket, calls, r->has_cb ? 1 : 0);
	if (r->has_cb &&
	    (r->status != r->exp_status || r->bytes != r->exp_bytes || r->ticket != r->my_ticket))
		failf(g, s, lv,
		      "%s ticket %" PRIu64 ": callback saw status %d bytes %zu ticket %" PRIu64
		      ", expected %d, %zu, %" PRIu64,
		      kind_name[r->kind], r->my_ticket, r->status, r->bytes, r->ticket,
		      r->exp_status, r->exp_bytes, r->my_ticket);
}

/* ---- the destination ring ----------------------------------------------------------------- */

/* A non-deferred callback runs before its op completes (its run is retired after all of its
 * callbacks), so an op seen only through its callback may still be in flight for a moment. */
static void remember(struct sub *s, const struct live *lv)
{
	s->old[s->nold % OLD].t = lv->r->my_ticket;
	s->old[s->nold % OLD].st = lv->r->exp_status;
	s->old[s->nold % OLD].retired = lv->known_done || s->g->deferred;
	s->nold++;
}

static void flush(struct sub *s);

/* Blocks until the oldest live op is complete and its callback ran, checks it, frees it. */
static void retire_oldest(struct sub *s)
{
	struct eng *g = s->g;
	struct live *lv;
	struct rec *r;
	unsigned spins = 0;

	if (!s->ring[s->tail].submitted) {
		flush(s); /* which may retire ops itself */
		if (!s->count)
			return;
	}
	lv = &s->ring[s->tail];
	r = lv->r;
	if (!r->has_cb || rnd(&s->rs, 2)) {
		int64_t to = rnd(&s->rs, 4) == 0 ? MS : -1;
		int rc;

		for (uint64_t t0 = t_now_ns();;) {
			rc = adma_wait(g->e, r->my_ticket, to);
			if (rc != -ETIMEDOUT || to < 0)
				break;
			if (g->deferred)
				poll_some(g, &s->rs);
			if (t_now_ns() - t0 > (uint64_t)P.hang_s * SEC)
				failf(g, s, lv, "adma_wait timed out for %u s", P.hang_s);
		}
		s->c.waits++;
		if (rc != r->exp_status)
			failf(g, s, lv, "adma_wait returned %d (%s), expected %d", rc,
			      adma_strerror(rc), r->exp_status);
		lv->known_done = true;
		if (r->has_cb && !g->deferred && t_observe(&r->calls) != 1)
			failf(g, s, lv, "adma_wait returned before the op's callback ran");
	}
	while (r->has_cb && t_observe(&r->calls) == 0) {
		if (g->deferred && poll_some(g, &s->rs) > 0)
			spins = 0;
		else
			t_backoff(&spins);
	}
	check_rec(g, s, lv, r);
	check_data(s, lv);
	remember(s, lv);
	s->tail = (s->tail + 1) % RING;
	s->count--;
}

/* Retires, without blocking, the oldest ops that are complete already. */
static void retire_done(struct sub *s)
{
	struct eng *g = s->g;

	for (unsigned k = 0; k < 16 && s->count; k++) {
		struct live *lv = &s->ring[s->tail];
		struct rec *r = lv->r;

		if (!lv->submitted)
			return;
		if (r->has_cb) {
			if (!t_observe(&r->calls))
				return;
		} else {
			int rc = adma_wait(g->e, r->my_ticket, 0);

			if (rc == -ETIMEDOUT)
				return;
			if (rc != r->exp_status)
				failf(g, s, lv, "adma_wait(0) returned %d (%s), expected %d", rc,
				      adma_strerror(rc), r->exp_status);
		}
		retire_oldest(s);
	}
}

/* Whether @len bytes fit at the ring's head: *off where. */
static bool ring_fits(struct sub *s, size_t len, size_t *off)
{
	size_t t;

	if (!s->count) {
		*off = 0;
		return len <= P.dst_cap;
	}
	t = s->ring[s->tail].reg_off;
	if (s->head_off > t) { /* live: [t, head_off) */
		if (s->head_off + len <= P.dst_cap) {
			*off = s->head_off;
			return true;
		}
		*off = 0;
		return len <= t;
	}
	*off = s->head_off; /* wrapped, live: [t, cap) and [0, head_off) */
	return s->head_off + len <= t;
}

/* A new live op with a payload of @payload bytes at a random offset, its region filled with
 * its canary. Retires old ops (flushing the batch first if one of them is in it) for room. */
static struct live *new_live(struct sub *s, struct rec *r, unsigned kind, size_t payload)
{
	size_t shift = rnd(&s->rs, 64), len = payload + shift + 2 * GUARD, off;
	struct live *lv;

	while (s->count == RING || !ring_fits(s, len, &off))
		retire_oldest(s);
	lv = &s->ring[(s->tail + s->count) % RING];
	s->count++;
	s->head_off = off + len;
	memset(lv, 0, sizeof(*lv));
	lv->r = r;
	lv->kind = (uint8_t)kind;
	lv->canary = (uint8_t)rnd(&s->rs, 256);
	lv->reg_off = off;
	lv->reg_len = len;
	lv->pay = s->dst + off + GUARD + shift;
	lv->pay_len = payload;
	memset(s->dst + off, lv->canary, len);
	return lv;
}

/* ---- records and submission --------------------------------------------------------------- */

static struct rec *alloc_rec(struct eng *g, unsigned limit, unsigned kind, unsigned thread)
{
	unsigned i = atomic_load(&g->nrec);
	struct rec *r;

	do {
		if (i >= limit)
			return NULL;
	} while (!atomic_compare_exchange_weak(&g->nrec, &i, i + 1));
	r = &g->recs[i];
	r->kind = (uint8_t)kind;
	r->thread = (uint8_t)thread;
	return r;
}

static void accepted(struct sub *s, unsigned i, uint64_t t)
{
	struct rec *r = s->brec[i];

	if (t <= s->last_ticket)
		failf(s->g, s, s->blv[i],
		      "ticket %" PRIu64 " after ticket %" PRIu64 " of the same thread", t,
		      s->last_ticket);
	s->last_ticket = t;
	r->my_ticket = t;
	r->accepted = 1;
	if (s->blv[i])
		s->blv[i]->submitted = true;
	s->c.ops[r->kind]++;
}

/* Submits the batch, retrying after -EAGAIN or a partial acceptance until all is accepted. */
static void flush(struct sub *s)
{
	struct eng *g = s->g;
	uint64_t tk[MAXB], t0 = t_now_ns();
	unsigned done = 0, spins = 0;

	while (done < s->nb) {
		unsigned want = s->nb - done;
		int rc;

		in_submit = true;
		rc = adma_submit(g->e, s->ops + done, want, tk + done);
		in_submit = false;
		if (rc > 0 && (unsigned)rc <= want) {
			if (g->block && (unsigned)rc != want)
				failf(g, s, s->blv[done],
				      "BLOCK_WHEN_FULL engine accepted %d ops of %u", rc, want);
			for (unsigned i = done; i < done + (unsigned)rc; i++)
				accepted(s, i, tk[i]);
			if ((unsigned)rc < want)
				s->c.partial++;
			done += (unsigned)rc;
			spins = 0;
			continue;
		}
		if (rc != -EAGAIN || g->block)
			failf(g, s, s->blv[done], "adma_submit of %u ops returned %d (%s): %s",
			      want, rc, adma_strerror(rc), adma_last_error());
		s->c.eagain++;
		/* Room: complete an op of ours if one is out, else let the others work. */
		if (s->count && s->ring[s->tail].submitted) {
			retire_oldest(s);
		} else {
			if (g->deferred)
				poll_some(g, &s->rs);
			t_backoff(&spins);
		}
		if (t_now_ns() - t0 > (uint64_t)P.hang_s * SEC)
			failf(g, s, s->blv[done], "adma_submit -EAGAIN for %u s", P.hang_s);
	}
	s->nb = 0;
}

/* Copy, fill and custom ops: one payload of n bytes. */
static struct live *prep_flat(struct sub *s, struct rec *r, unsigned kind)
{
	uint64_t *rs = &s->rs;
	size_t n = pick_size(rs, P.max_op);
	struct live *lv = new_live(s, r, kind, n);
	struct adma_op *op = &s->ops[s->nb];

	lv->n = n;
	lv->src = s->src + rnd(rs, P.src_cap - n + 1);
	r->exp_bytes = n;
	if (kind == K_COPY) {
		adma_prep_copy(op, lv->pay, lv->src, n);
	} else if (kind == K_FILL) {
		lv->plen = 1u << rnd(rs, 5);
		for (unsigned i = 0; i < lv->plen; i++)
			lv->pat[i] = (uint8_t)rnd(rs, 256);
		adma_prep_fill(op, lv->pay, n, lv->pat, lv->plen);
	} else {
		lv->c.n = n;
		lv->c.probe = rnd(rs, 64) == 0;
		if (kind == K_CFAIL) {
			lv->c.partial = rnd(rs, 2) ? 0 : rnd(rs, n + 1);
			lv->c.err =
				fail_errnos[rnd(rs, sizeof(fail_errnos) / sizeof(fail_errnos[0]))];
			r->exp_status = lv->c.err;
			r->exp_bytes = 0;
		}
		adma_prep_custom(op, kind == K_CCOPY ? op_copy : op_fail, lv->pay, lv->src, &lv->c);
	}
	return lv;
}

/* Scatter-gather: 1 to 8 entries laid out in the payload with gaps, listed in another order. */
static struct live *prep_sg(struct sub *s, struct rec *r)
{
	uint64_t *rs = &s->rs;
	unsigned nsg = 1 + (unsigned)rnd(rs, MAXSG), perm[MAXSG];
	size_t sizes[MAXSG], gaps[MAXSG], payload = 0, at = 0, sum = 0;
	struct live *lv;

	for (unsigned k = 0; k < nsg; k++) {
		sizes[k] = pick_size(rs, P.max_op / nsg);
		gaps[k] = rnd(rs, 3) ? rnd(rs, 65) : 0;
		payload += sizes[k] + gaps[k];
		perm[k] = k;
	}
	payload += rnd(rs, 65);
	for (unsigned k = nsg; k > 1; k--) {
		unsigned j = (unsigned)rnd(rs, k), t = perm[k - 1];

		perm[k - 1] = perm[j];
		perm[j] = t;
	}
	lv = new_live(s, r, K_SG, payload);
	lv->nsg = nsg;
	for (unsigned k = 0; k < nsg; k++) {
		struct adma_sge *e = &lv->sg[perm[k]];

		lv->sg_lay[k] = perm[k];
		lv->sg_gap[k] = gaps[k];
		at += gaps[k];
		e->n = sizes[k];
		e->dst = lv->pay + at;
		e->src = s->src + rnd(rs, P.src_cap - sizes[k] + 1);
		if (!sizes[k] && rnd(rs, 4) == 0) /* an empty entry may name NULL */
			e->dst = NULL, e->src = NULL;
		at += sizes[k];
		sum += sizes[k];
	}
	r->exp_bytes = sum;
	adma_prep_copy_sg(&s->ops[s->nb], lv->sg, nsg);
	return lv;
}

/* How one side of a layout copy is made from a dense parent. */
struct side {
	unsigned n, perm[MAXLD], rev;
	int order;
	size_t par[MAXLD], off[MAXLD], blk[MAXLD];
};

/* Plans a side whose dims are exactly v[0..n): a parent padded in some dims, in either order,
 * the block at random offsets in it, transposed, some dims reversed; a plain side is the whole
 * parent as it is. @return the parent's bytes (at most 4x the block's + 4 KiB). */
static size_t plan_side(struct side *d, const size_t *v, unsigned n, size_t es, bool plain,
			int order, uint64_t *rs)
{
	size_t pb = es, bb = es;

	d->n = n;
	d->order = plain ? order : (int)rnd(rs, 2);
	for (unsigned i = 0; i < n; i++)
		d->perm[i] = i;
	if (!plain && rnd(rs, 3))
		for (unsigned i = n; i > 1; i--) {
			unsigned j = (unsigned)rnd(rs, i), t = d->perm[i - 1];

			d->perm[i - 1] = d->perm[j];
			d->perm[j] = t;
		}
	for (unsigned i = 0; i < n; i++)
		d->blk[d->perm[i]] = v[i];
	for (unsigned i = 0; i < n; i++) {
		d->par[i] = d->blk[i] + (!plain && rnd(rs, 3) == 0 ? 1 + rnd(rs, 3) : 0);
		pb *= d->par[i];
		bb *= d->blk[i];
	}
	for (unsigned i = 0; i < n && pb > 4 * bb + 4096; i++) {
		pb = pb / d->par[i] * d->blk[i];
		d->par[i] = d->blk[i];
	}
	for (unsigned i = 0; i < n; i++)
		d->off[i] = rnd(rs, d->par[i] - d->blk[i] + 1);
	d->rev = 0;
	for (unsigned i = 0; i < n && !plain; i++)
		if (v[i] && rnd(rs, 4) == 0)
			d->rev |= 1u << i;
	return pb;
}

/* Builds the planned side at @base through the constructors. */
static void build_side(struct sub *s, struct live *lv, struct adma_layout *out,
		       const struct side *d, const size_t *v, size_t es, void *base)
{
	struct adma_layout p;
	int rc = adma_layout_dense(&p, base, es, d->n, d->par, d->order);

	if (!rc)
		rc = adma_layout_slice(&p, &p, d->off, d->blk);
	if (!rc)
		rc = adma_layout_transpose(out, &p, d->perm);
	for (unsigned i = 0; i < d->n && !rc; i++)
		if (d->rev & (1u << i))
			rc = adma_layout_reverse(out, out, i);
	if (rc)
		failf(s->g, s, lv, "a layout constructor returned %d: %s", rc, adma_last_error());
	for (unsigned i = 0; i < d->n; i++)
		if (out->dims[i] != v[i])
			failf(s->g, s, lv, "layout dim %u is %zu, expected %zu", i, out->dims[i],
			      v[i]);
}

/* Layout copy: 1 to 4 dims, mostly small, sometimes empty, reshaped or broadcast. */
static struct live *prep_layout(struct sub *s, struct rec *r)
{
	static const size_t common_es[] = { 1, 2, 4, 8, 16, 3, 12, 24 };
	uint64_t *rs = &s->rs;
	size_t es = rnd(rs, 2) ? common_es[rnd(rs, 8)] : 1 + rnd(rs, 32);
	unsigned ns = 1 + (unsigned)rnd(rs, MAXLD), nd = ns, rr = (unsigned)rnd(rs, 100);
	size_t vs[MAXLD], vd[MAXLD], count = 1, budget, sbytes, dbytes;
	bool plain = rnd(rs, 6) == 0; /* contiguous on both sides: one run */
	int order = (int)rnd(rs, 2);
	struct side ss, sd;
	struct live *lv;

	budget = rr < 70 ? 2 * KIB : rr < 95 ? 32 * KIB : P.layout_max;
	budget = min_sz(budget, P.layout_max) / es;
	budget = budget > 256 * KIB ? 256 * KIB : budget ? budget : 1; /* elements */
	for (unsigned i = 0; i < ns; i++) {
		size_t room = budget / count, cap = i + 1 == ns ? room : min_sz(room, 64);

		vs[i] = rnd(rs, 4) == 0 ? 1 : 1 + rnd(rs, cap ? cap : 1);
		count *= vs[i];
	}
	if (rnd(rs, 30) == 0) {
		vs[rnd(rs, ns)] = 0;
		count = 0;
	}
	if (count && rnd(rs, 4) == 0) { /* reshape: other dims, the same count */
		size_t c = count;

		nd = 1 + (unsigned)rnd(rs, MAXLD);
		for (unsigned i = 0; i < nd; i++)
			vd[i] = 1;
		for (size_t f = 2; f * f <= c; f++)
			while (c % f == 0) {
				vd[rnd(rs, nd)] *= f;
				c /= f;
			}
		if (c > 1)
			vd[rnd(rs, nd)] *= c;
	} else {
		memcpy(vd, vs, sizeof(vs));
	}
	sbytes = plan_side(&ss, vs, ns, es, plain, order, rs);
	dbytes = plan_side(&sd, vd, nd, es, plain, order, rs);
	lv = new_live(s, r, K_LAYOUT, dbytes);
	build_side(s, lv, &lv->ls, &ss, vs, es, s->src + rnd(rs, P.src_cap - sbytes + 1));
	build_side(s, lv, &lv->ld, &sd, vd, es, lv->pay);
	if (rnd(rs, 8) == 0) /* broadcast: a source dim read again and again */
		lv->ls.strides[rnd(rs, ns)] = 0;
	r->exp_bytes = count * es;
	adma_prep_copy_layout(&s->ops[s->nb], &lv->ld, &lv->ls);
	return lv;
}

/* Builds one op of @kind into the batch. @return false when the engine's records are used up. */
static bool add_op(struct sub *s, unsigned kind, unsigned extra_flags)
{
	struct eng *g = s->g;
	struct rec *r = alloc_rec(g, P.rec_cap, kind, s->id);
	struct adma_op *op;
	struct live *lv;

	if (!r) {
		atomic_store(&g->stop, true);
		return false;
	}
	if (s->nb == MAXB)
		flush(s);
	/* new_live() may flush the batch: the op's place is known after it */
	lv = kind == K_SG     ? prep_sg(s, r) :
	     kind == K_LAYOUT ? prep_layout(s, r) :
				prep_flat(s, r, kind);
	op = &s->ops[s->nb];
	lv->flags = pick_flags(&s->rs) | extra_flags;
	adma_op_set_flags(op, lv->flags);
	r->has_cb = rnd(&s->rs, 4) != 0;
	if (r->has_cb)
		adma_op_set_callback(op, op_cb, r);
	s->blv[s->nb] = lv;
	s->brec[s->nb] = r;
	s->nb++;
	return true;
}

static unsigned pick_kind(const struct eng *g, uint64_t *rs)
{
	unsigned r = (unsigned)rnd(rs, 1000);

	if (r < g->fail_pm)
		return K_CFAIL;
	r = (unsigned)rnd(rs, 100);
	return r < 35 ? K_COPY : r < 52 ? K_FILL : r < 69 ? K_SG : r < 86 ? K_LAYOUT : K_CCOPY;
}

static void submit_batch(struct sub *s, unsigned extra_flags)
{
	unsigned n = rnd(&s->rs, 3) == 0 ? 1 + (unsigned)rnd(&s->rs, MAXB) :
					   1 + (unsigned)rnd(&s->rs, 4);

	for (unsigned i = 0; i < n; i++)
		if (!add_op(s, pick_kind(s->g, &s->rs), extra_flags))
			break;
	flush(s);
}

/* A 0-byte copy with no callback, submitted alone. @return its ticket, 0 if no record. */
static uint64_t submit_marker(struct eng *g, struct sub *s, unsigned limit)
{
	struct rec *r = alloc_rec(g, limit, K_MARKER, s->id);

	if (!r)
		return 0;
	adma_prep_copy(&s->ops[0], NULL, NULL, 0);
	adma_op_set_flags(&s->ops[0], rnd(&s->rs, 4) ? 0 : ADMA_OP_NO_INLINE);
	s->blv[0] = NULL;
	s->brec[0] = r;
	s->nb = 1;
	flush(s);
	return r->my_ticket;
}

/* ---- the other actions of a submitter ----------------------------------------------------- */

static struct live *pick_recent(struct sub *s)
{
	unsigned k = (unsigned)rnd(&s->rs, s->count < 16 ? s->count : 16);
	struct live *lv;

	if (!s->count)
		return NULL;
	lv = &s->ring[(s->tail + s->count - 1 - k) % RING];
	return lv->submitted ? lv : NULL;
}

static void try_cancel(struct sub *s)
{
	struct eng *g = s->g;
	struct live *lv = pick_recent(s);
	int rc;

	if (!lv || (lv->cancel_tried && !lv->cancelled))
		return;
	rc = adma_cancel(g->e, lv->r->my_ticket);
	if (lv->cancelled) {
		if (rc != -EBUSY)
			failf(g, s, lv, "a second adma_cancel returned %d, expected -EBUSY", rc);
		return;
	}
	lv->cancel_tried = true;
	if (rc == 0) {
		if (lv->known_done)
			failf(g, s, lv, "adma_cancel won over an op that adma_wait saw complete");
		lv->cancelled = true;
		lv->r->exp_status = -ECANCELED;
		lv->r->exp_bytes = 0;
		s->c.won++;
		atomic_fetch_add(&g->won, 1);
	} else if (rc == -EBUSY) {
		s->c.lost++;
	} else {
		failf(g, s, lv, "adma_cancel returned %d (%s)", rc, adma_strerror(rc));
	}
}

static void try_wait(struct sub *s)
{
	struct eng *g = s->g;
	struct live *lv = s->count ? &s->ring[(s->tail + rnd(&s->rs, s->count)) % RING] : NULL;
	int64_t to;
	int rc;

	if (!lv || !lv->submitted)
		return;
	to = rnd(&s->rs, 10) == 0 ? -1 : rnd(&s->rs, 2) ? 0 : 100000;
	rc = adma_wait(g->e, lv->r->my_ticket, to);
	s->c.waits++;
	if (rc == -ETIMEDOUT && to >= 0)
		return;
	if (rc != lv->r->exp_status)
		failf(g, s, lv, "adma_wait(%lld ns) returned %d (%s), expected %d", (long long)to,
		      rc, adma_strerror(rc), lv->r->exp_status);
	if (lv->r->has_cb && !g->deferred && t_observe(&lv->r->calls) != 1)
		failf(g, s, lv, "adma_wait returned before the op's callback ran");
	lv->known_done = true;
}

static void rewait_old(struct sub *s)
{
	unsigned n = s->nold < OLD ? s->nold : OLD, k;
	int rc;

	if (!n)
		return;
	k = (unsigned)rnd(&s->rs, n);
	rc = adma_wait(s->g->e, s->old[k].t, s->old[k].retired ? 0 : -1);
	s->c.waits++;
	if (rc != s->old[k].st)
		failf(s->g, s, NULL,
		      "adma_wait(%s) on ticket %" PRIu64 ", %s earlier, returned %d, expected %d",
		      s->old[k].retired ? "0" : "-1", s->old[k].t,
		      s->old[k].retired ? "completed" : "its callback ran", rc, s->old[k].st);
}

/* A barrier bracketed by markers, under bar_lock: checked against the tickets at the end. */
static void do_barrier(struct eng *g, struct sub *s, unsigned limit, int64_t to)
{
	uint64_t p, m;
	int rc;

	flush(s);
	pthread_mutex_lock(&g->bar_lock);
	p = submit_marker(g, s, limit);
	if (!p) {
		pthread_mutex_unlock(&g->bar_lock);
		return;
	}
	rc = adma_barrier(g->e, to);
	if (rc == -ETIMEDOUT && to >= 0) { /* reports nothing, moves nothing */
		pthread_mutex_unlock(&g->bar_lock);
		return;
	}
	if (rc > 0 || rc == -EINVAL || rc == -EDEADLK || rc == -ETIMEDOUT)
		failf(g, s, NULL, "adma_barrier returned %d (%s)", rc, adma_strerror(rc));
	m = submit_marker(g, s, limit);
	if (g->nev == g->ev_cap) {
		g->ev_cap = g->ev_cap ? 2 * g->ev_cap : 64;
		g->ev = realloc(g->ev, g->ev_cap * sizeof(*g->ev));
		if (!g->ev)
			failf(g, s, NULL, "out of memory");
	}
	g->ev[g->nev++] = (struct bev){ p, m ? m : UINT64_MAX, rc };
	s->c.barriers++;
	s->c.barrier_fails += rc < 0;
	pthread_mutex_unlock(&g->bar_lock);
}

static void *sub_main(void *arg)
{
	struct sub *s = arg;
	struct eng *g = s->g;

	while (!atomic_load(&g->stop) && t_now_ns() < g->slice_end) {
		unsigned r = (unsigned)rnd(&s->rs, 1000);
		int64_t to = rnd(&s->rs, 5) == 0 ? 0 : rnd(&s->rs, 3) == 0 ? MS : -1;

		if (r < 800)
			submit_batch(s, 0);
		else if (r < 850)
			(r - 800 < g->cancel_pm) ? try_cancel(s) : (void)0;
		else if (r < 880)
			try_wait(s);
		else if (r < 890)
			rewait_old(s);
		else if (r < 898)
			do_barrier(g, s, P.rec_cap, to);
		else if (r < 950 && g->deferred)
			poll_some(g, &s->rs);
		else if (r < 980)
			for (unsigned k = 1 + (unsigned)rnd(&s->rs, 8); k-- && s->count;)
				retire_oldest(s);
		retire_done(s);
	}
	flush(s);
	/* Destroyed busy: a last batch that waits in the queue (unless it is already done) */
	if (g->destroy_busy) {
		submit_batch(s, ADMA_OP_NO_INLINE);
		if (g->cancel_pm && rnd(&s->rs, 2))
			try_cancel(s);
	}
	return NULL;
}

/* ---- one engine --------------------------------------------------------------------------- */

static const struct t_config bases[] = {
	{ "threads-1", ADMA_BACKEND_THREADS, 1, 0 },
	{ "threads-2", ADMA_BACKEND_THREADS, 2, 0 },
	{ "threads-4", ADMA_BACKEND_THREADS, 4, 0 },
	{ "threads-2-ordered", ADMA_BACKEND_THREADS, 2, ADMA_CFG_ORDERED },
	{ "threads-1-deferred", ADMA_BACKEND_THREADS, 1, ADMA_CFG_DEFER_CALLBACKS },
	{ "threads-2-deferred", ADMA_BACKEND_THREADS, 2, ADMA_CFG_DEFER_CALLBACKS },
	{ "threads-4-ordered-deferred", ADMA_BACKEND_THREADS, 4,
	  ADMA_CFG_ORDERED | ADMA_CFG_DEFER_CALLBACKS },
	{ "inline", ADMA_BACKEND_INLINE, 0, 0 },
	{ "threads-2-block", ADMA_BACKEND_THREADS, 2, ADMA_CFG_BLOCK_WHEN_FULL },
	{ "threads-4-deferred-block", ADMA_BACKEND_THREADS, 4,
	  ADMA_CFG_DEFER_CALLBACKS | ADMA_CFG_BLOCK_WHEN_FULL },
	{ "threads-1-ordered-block", ADMA_BACKEND_THREADS, 1,
	  ADMA_CFG_ORDERED | ADMA_CFG_BLOCK_WHEN_FULL },
	{ "inline-ordered", ADMA_BACKEND_INLINE, 0, ADMA_CFG_ORDERED },
};

#define NBASES (sizeof(bases) / sizeof(bases[0]))

static size_t pick_tune(uint64_t *rs, size_t small)
{
	switch (rnd(rs, 4)) {
	case 0:
		return 0;
	case 1:
		return ADMA_OFF;
	default:
		return 1 + rnd(rs, small);
	}
}

static void tune_str(char *buf, size_t cap, size_t v)
{
	if (v == ADMA_OFF)
		snprintf(buf, cap, "off");
	else if (v == 0)
		snprintf(buf, cap, "auto");
	else
		snprintf(buf, cap, "%zu", v);
}

static void pick_engine(struct eng *g, unsigned idx)
{
	const struct t_config *b = &bases[idx % NBASES];
	uint64_t rs = splitmix(P.seed ^ splitmix(idx));
	struct adma_config *c = &g->cfg;
	char nt[24], sp[24], in[24], sn[24];

	g->idx = idx;
	g->seed = rs;
	adma_config_init(c);
	c->backend = b->backend;
	c->workers = b->workers;
	c->flags = b->flags | ADMA_CFG_QUIET;
	if (rnd(&rs, 4) == 0)
		c->flags |= ADMA_CFG_BLOCK_WHEN_FULL;
	switch (rnd(&rs, 4)) {
	case 0:
		c->backlog = 4;
		break;
	case 1:
		c->backlog = 16;
		break;
	case 2:
		c->backlog = 0;
		break;
	default:
		c->backlog = 32 + (unsigned)rnd(&rs, 2048);
		break;
	}
	if (rnd(&rs, 2)) {
		c->split_size = (4 * KIB) << rnd(&rs, 5);
		if (rnd(&rs, 2))
			c->split_size += rnd(&rs, 4 * KIB); /* rounded up to 4 KiB */
		c->inline_max = pick_tune(&rs, 64 * KIB);
		c->nt_threshold = pick_tune(&rs, 256 * KIB);
		c->spin_ns = pick_tune(&rs, 100000);
	}
	g->deferred = (c->flags & ADMA_CFG_DEFER_CALLBACKS) || c->backend == ADMA_BACKEND_INLINE;
	g->ordered = c->flags & ADMA_CFG_ORDERED;
	g->block = c->flags & ADMA_CFG_BLOCK_WHEN_FULL;
	g->inline_be = c->backend == ADMA_BACKEND_INLINE;
	g->nthreads = P.max_threads == 3 ? 3 : 3 + (unsigned)rnd(&rs, 2);
	g->poller = g->deferred ? rnd(&rs, 2) : rnd(&rs, 4) == 0;
	g->destroy_busy = rnd(&rs, 2);
	switch (rnd(&rs, 3)) {
	case 0: /* nothing fails: every barrier must return 0 */
		g->fail_pm = 0;
		g->cancel_pm = 0;
		break;
	case 1:
		g->fail_pm = 5;
		g->cancel_pm = 5;
		break;
	default:
		g->fail_pm = 120;
		g->cancel_pm = 50;
		break;
	}
	tune_str(nt, sizeof(nt), c->nt_threshold);
	tune_str(sp, sizeof(sp), c->split_size);
	tune_str(in, sizeof(in), c->inline_max);
	tune_str(sn, sizeof(sn), c->spin_ns);
	snprintf(g->desc, sizeof(g->desc),
		 "%s%s, backlog %u, split_size %s, inline_max %s, nt_threshold %s, spin_ns %s; "
		 "%u submitters%s; failing ops %u/1000, cancels %u/1000; %s",
		 b->name, g->block && !(b->flags & ADMA_CFG_BLOCK_WHEN_FULL) ? "+block" : "",
		 c->backlog, sp, in, nt, sn, g->nthreads, g->poller ? " + fd poller" : "",
		 g->fail_pm, g->cancel_pm, g->destroy_busy ? "destroyed busy" : "drained");
	t_config_name = g->desc;
}

static void *watchdog_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&watchdog_stop)) {
		uint64_t at = atomic_load(&hang_at);

		if (at && t_now_ns() > at) {
			struct eng *g = g_cur;

			fprintf(stderr,
				"test_stress: engine #%u still busy %u s after its slice: "
				"a hang; engine state follows\n",
				g ? g->idx : 0, P.hang_s);
			fflush(stderr);
			if (g && g->e)
				adma_dump(g->e, stderr); /* may block if the engine deadlocked */
			failf(g, NULL, NULL, "hang");
		}
		t_sleep_ms(100);
	}
	return NULL;
}

/* Main thread while the submitters run: snapshots of the counters, polls, a dump. */
static void watch(struct eng *g, uint64_t *rs)
{
	FILE *devnull = fopen("/dev/null", "w");

	while (!atomic_load(&g->stop) && t_now_ns() < g->slice_end) {
		unsigned r = (unsigned)rnd(rs, 100);

		t_sleep_ms(t_valgrind() ? 20 : 1 + (unsigned)rnd(rs, 5));
		if (r < 30) {
			struct adma_stats st = t_stats(g->e);

			if (st.completed > st.submitted ||
			    st.in_flight != st.submitted - st.completed ||
			    st.in_flight > st.backlog || st.failed > st.completed ||
			    st.backlog_peak > st.backlog || st.cancelled > st.submitted)
				failf(g, NULL, NULL,
				      "inconsistent adma_stats: submitted %" PRIu64
				      " completed %" PRIu64 " in_flight %" PRIu64 " failed %" PRIu64
				      " backlog %" PRIu64 " peak %" PRIu64 " cancelled %" PRIu64,
				      st.submitted, st.completed, st.in_flight, st.failed,
				      st.backlog, st.backlog_peak, st.cancelled);
		} else if (r < 60 && g->deferred && !g->poller) {
			poll_some(g, rs);
		} else if (r == 60 && devnull) {
			adma_dump(g->e, devnull);
		}
	}
	if (devnull)
		fclose(devnull);
}

struct tk {
	uint64_t t;
	unsigned i; /* index in recs */
};

static int tk_cmp(const void *a, const void *b)
{
	const struct tk *x = a, *y = b;

	return x->t < y->t ? -1 : x->t > y->t;
}

/* The first index of @v (sorted by ticket) with ticket >= t. */
static size_t lower(const struct tk *v, size_t n, uint64_t t)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].t < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* After the engine is gone: records, poll results and barriers. */
static void check_engine(struct eng *g, bool drained)
{
	unsigned n = atomic_load(&g->nrec), nlog = atomic_load(&g->nlog), nf = 0;
	uint64_t pp = 0, pm = 0; /* the previous barrier's markers */
	struct tk *v = malloc((n + 1) * sizeof(*v)), *fails = malloc((n + 1) * sizeof(*fails));
	uint8_t *seen = calloc(n + 1, 1);

	if (!v || !fails || !seen)
		failf(g, NULL, NULL, "out of memory");
	for (unsigned i = 0; i < n; i++) {
		struct rec *r = &g->recs[i];

		if (!r->accepted)
			failf(g, NULL, NULL, "record %u (%s) never accepted", i,
			      kind_name[r->kind]);
		check_rec(g, NULL, NULL, r);
		v[i] = (struct tk){ r->my_ticket, i };
	}
	qsort(v, n, sizeof(*v), tk_cmp);
	for (unsigned i = 0; i < n; i++) {
		if (i && v[i].t == v[i - 1].t)
			failf(g, NULL, NULL, "ticket %" PRIu64 " issued twice", v[i].t);
		if (g->recs[v[i].i].exp_status < 0)
			fails[nf++] = v[i];
	}

	/* adma_poll: each result at most once (exactly once when drained), right values */
	if (atomic_load(&g->log_overflow))
		failf(g, NULL, NULL, "adma_poll reported %u results for %u ops", nlog, n);
	for (unsigned k = 0; k < nlog; k++) {
		const struct adma_result *res = &g->log[k];
		size_t j = lower(v, n, res->ticket);
		const struct rec *r;

		if (j == n || v[j].t != res->ticket)
			failf(g, NULL, NULL, "adma_poll reported ticket %" PRIu64 ", never issued",
			      res->ticket);
		r = &g->recs[v[j].i];
		if (seen[j]++)
			failf(g, NULL, NULL, "adma_poll reported ticket %" PRIu64 " twice",
			      res->ticket);
		if (res->status != r->exp_status || res->bytes != r->exp_bytes)
			failf(g, NULL, NULL,
			      "adma_poll: %s ticket %" PRIu64
			      " status %d bytes %zu, expected %d, %zu",
			      kind_name[r->kind], res->ticket, res->status, res->bytes,
			      r->exp_status, r->exp_bytes);
	}
	if (drained && g->deferred && nlog + atomic_load(&g->unlogged) != n)
		failf(g, NULL, NULL, "drained: adma_poll handled %u + %u results for %u ops", nlog,
		      atomic_load(&g->unlogged), n);

	/* Barriers: event k certainly covers tickets [m(k-1), p(k)], and may cover
	 * (p(k-1), m(k)). */
	for (unsigned k = 0; k < g->nev; k++) {
		const struct bev *ev = &g->ev[k];
		size_t d = lower(fails, nf, pm), q = lower(fails, nf, pp + 1);
		bool in_d = d < nf && fails[d].t <= ev->p, in_p = q < nf && fails[q].t < ev->m;
		uint64_t upto = in_d ? fails[d].t : ev->m - 1;
		bool found = false;

		if (ev->rc == 0 && in_d)
			failf(g, NULL, NULL,
			      "barrier %u (markers %" PRIu64 ", %" PRIu64
			      ") returned 0, but ticket %" PRIu64 " failed with %d",
			      k, ev->p, ev->m, fails[d].t, g->recs[fails[d].i].exp_status);
		if (ev->rc != 0 && !in_p)
			failf(g, NULL, NULL,
			      "barrier %u (markers %" PRIu64 ", %" PRIu64
			      ") returned %d with no failed "
			      "op in tickets %" PRIu64 "..%" PRIu64,
			      k, ev->p, ev->m, ev->rc, pp + 1, ev->m - 1);
		for (size_t j = q; ev->rc && j < nf && fails[j].t <= upto && !found; j++)
			found = g->recs[fails[j].i].exp_status == ev->rc;
		if (ev->rc && !found)
			failf(g, NULL, NULL,
			      "barrier %u (markers %" PRIu64 ", %" PRIu64 ") returned %d: no op of "
			      "tickets %" PRIu64 "..%" PRIu64 " failed with it",
			      k, ev->p, ev->m, ev->rc, pp + 1, upto);
		pp = ev->p;
		pm = ev->m;
	}
	free(v);
	free(fails);
	free(seen);
}

/* Every live op of every thread: complete now (drained, or destroyed). */
static void check_live(struct eng *g)
{
	for (unsigned t = 0; t < g->nthreads; t++) {
		struct sub *s = &subs[t];

		for (; s->count; s->tail = (s->tail + 1) % RING, s->count--) {
			struct live *lv = &s->ring[s->tail];

			if (!lv->submitted)
				failf(g, s, lv, "a live op was never submitted");
			check_rec(g, s, lv, lv->r);
			check_data(s, lv);
		}
	}
}

static void run_engine(unsigned idx, uint64_t slice_ns)
{
	struct eng *g = calloc(1, sizeof(*g));
	struct sub *m = &subs[0]; /* the main thread borrows thread 0's batch for its own ops */
	uint64_t t0 = t_now_ns(), rs, bytes = 0, ops = 0;
	unsigned won, n, nfail = 0;
	struct adma_stats st;
	pthread_t poller;
	int rc;

	if (!g)
		failf(NULL, NULL, NULL, "out of memory");
	pick_engine(g, idx);
	rs = splitmix(g->seed + 7);
	g->slice_end = t0 + slice_ns;
	g->recs = calloc(P.rec_cap + 8, sizeof(*g->recs));
	g->log = calloc(P.rec_cap + 8, sizeof(*g->log));
	if (!g->recs || !g->log)
		failf(g, NULL, NULL, "out of memory");
	pthread_mutex_init(&g->bar_lock, NULL);
	rc = adma_engine_create(&g->e, &g->cfg);
	if (rc)
		failf(g, NULL, NULL, "adma_engine_create returned %d (%s): %s", rc,
		      adma_strerror(rc), adma_last_error());
	g_cur = g;
	atomic_store(&hang_at, g->slice_end + (uint64_t)P.hang_s * SEC);

	for (unsigned t = 0; t < g->nthreads; t++) {
		struct sub *s = &subs[t];

		s->g = g;
		s->id = t;
		s->rs = splitmix(g->seed + 1000 + t);
		s->tail = s->count = 0;
		s->head_off = 0;
		s->nb = 0;
		s->last_ticket = 0;
		s->nold = 0;
		memset(&s->c, 0, sizeof(s->c));
		fill_arena(s->src, P.src_cap, s->rs);
		if (pthread_create(&s->tid, NULL, sub_main, s))
			failf(g, NULL, NULL, "pthread_create failed");
	}
	if (g->poller && pthread_create(&poller, NULL, poller_main, g))
		failf(g, NULL, NULL, "pthread_create failed");
	watch(g, &rs);
	for (unsigned t = 0; t < g->nthreads; t++)
		pthread_join(subs[t].tid, NULL);
	if (g->poller) {
		atomic_store(&g->poller_stop, true);
		pthread_join(poller, NULL);
	}

	won = atomic_load(&g->won);
	if (!g->destroy_busy) {
		uint64_t tm;

		do_barrier(g, m, P.rec_cap + 8, -1);
		tm = submit_marker(g, m, P.rec_cap + 8);
		if (adma_wait(g->e, tm, -1) != 0)
			failf(g, NULL, NULL, "adma_wait on the last marker failed");
		for (unsigned spins = 0;;) {
			st = t_stats(g->e);
			if (!st.pending && !st.in_flight)
				break;
			if (poll_some(g, &rs) == 0)
				t_backoff(&spins);
		}
		n = atomic_load(&g->nrec);
		for (unsigned i = 0; i < n; i++) {
			nfail += g->recs[i].exp_status < 0;
			bytes += g->recs[i].exp_bytes;
		}
		st = t_stats(g->e);
		if (st.submitted != n || st.completed != n || st.failed != nfail ||
		    st.cancelled != won || st.bytes != bytes || st.in_flight || st.pending ||
		    st.backlog != (g->cfg.backlog ? g->cfg.backlog : ADMA_BACKLOG_DEFAULT) ||
		    (!g->inline_be && st.workers != g->cfg.workers) ||
		    (g->ordered && !g->inline_be && st.inlined))
			failf(g, NULL, NULL,
			      "adma_stats after draining: submitted %" PRIu64 " completed %" PRIu64
			      " failed %" PRIu64 " cancelled %" PRIu64 " bytes %" PRIu64
			      " in_flight %" PRIu64 " pending %" PRIu64 " backlog %" PRIu64
			      " workers %" PRIu64 " inlined %" PRIu64
			      "; expected %u ops, %u failed, %u cancelled, %" PRIu64 " bytes",
			      st.submitted, st.completed, st.failed, st.cancelled, st.bytes,
			      st.in_flight, st.pending, st.backlog, st.workers, st.inlined, n,
			      nfail, won, bytes);
		check_live(g);
	} else {
		/* A last burst queued behind an operator that sleeps, destroyed at once. */
		if (add_op(m, K_CCOPY, ADMA_OP_NO_INLINE)) {
			m->blv[m->nb - 1]->c.delay_us = 1000 + (unsigned)rnd(&rs, 10000);
			for (unsigned k = (unsigned)rnd(&rs, MAXB); k--;)
				if (!add_op(m, pick_kind(g, &m->rs), ADMA_OP_NO_INLINE))
					break;
			flush(m);
		}
		n = atomic_load(&g->nrec);
		st = t_stats(g->e);
		if (st.submitted != n || st.cancelled != won || st.completed > n)
			failf(g, NULL, NULL,
			      "adma_stats before destroy: submitted %" PRIu64 " completed %" PRIu64
			      " cancelled %" PRIu64 "; expected %u ops, %u cancelled",
			      st.submitted, st.completed, st.cancelled, n, won);
		total.inflight_at_destroy += st.in_flight + st.pending;
		total.engines_busy++;
	}
	rc = adma_engine_destroy(&g->e);
	if (rc || g->e)
		failf(g, NULL, NULL, "adma_engine_destroy returned %d", rc);
	if (g->destroy_busy)
		check_live(g);
	check_engine(g, !g->destroy_busy);
	atomic_store(&hang_at, 0);

	total.engines++;
	total.inlined += st.inlined;
	total.split += st.split;
	total.nontemporal += st.nontemporal;
	total.polled += atomic_load(&g->nlog) + atomic_load(&g->unlogged);

	for (unsigned t = 0; t < g->nthreads; t++) {
		const struct counts *c = &subs[t].c;

		for (unsigned k = 0; k < NKINDS; k++) {
			total.ops[k] += c->ops[k];
			ops += c->ops[k];
		}
		total.bytes_verified += c->bytes_verified;
		total.regions += c->regions;
		total.won += c->won;
		total.lost += c->lost;
		total.waits += c->waits;
		total.barriers += c->barriers;
		total.barrier_fails += c->barrier_fails;
		total.eagain += c->eagain;
		total.partial += c->partial;
	}
	if (P.verbose)
		printf("engine #%u: %s: %" PRIu64 " ops, %u cancelled, %u barriers, %.2f s\n", idx,
		       g->desc, ops, won, g->nev, (double)(t_now_ns() - t0) / SEC);
	g_cur = NULL;
	t_config_name = "-";
	pthread_mutex_destroy(&g->bar_lock);
	free(g->recs);
	free(g->log);
	free(g->ev);
	free(g);
}

/* ---- main --------------------------------------------------------------------------------- */

static void setup(void)
{
	const char *sec = getenv("ADMA_STRESS_SECONDS"), *seed = getenv("ADMA_STRESS_SEED"),
		   *first = getenv("ADMA_STRESS_ENGINE"), *verbose = getenv("ADMA_STRESS_VERBOSE");
	bool sanitized = T_SLOW_BUILD || STRESS_ASAN;
	char *end;

	P.seconds = t_valgrind() ? 30 : sanitized ? 20 : 8;
	if (sec && *sec) {
		P.seconds = strtod(sec, &end);
		if (*end || !(P.seconds >= 0) || P.seconds > 1e7) {
			fprintf(stderr,
				"test_stress: ADMA_STRESS_SECONDS=%s is not a number of "
				"seconds\n",
				sec);
			exit(T_FAIL);
		}
	}
	if (seed && *seed) {
		P.seed = strtoull(seed, &end, 0);
		if (*end) {
			fprintf(stderr, "test_stress: ADMA_STRESS_SEED=%s is not a number\n", seed);
			exit(T_FAIL);
		}
	} else {
		P.seed = splitmix(t_now_ns() ^ ((uint64_t)getpid() << 32));
	}
	P.first_engine = first && *first ? (unsigned)strtoul(first, NULL, 0) : 0;
	P.verbose = verbose && *verbose && strcmp(verbose, "0") != 0;
	P.max_threads = MAXT;
	if (t_valgrind()) { /* one thread at a time, 20 to 50 times slower: tiny sizes */
		P.max_op = 64 * KIB;
		P.layout_max = 8 * KIB;
		P.src_cap = 160 * KIB;
		P.dst_cap = 320 * KIB;
		P.rec_cap = 1u << 15;
		P.hang_s = 300;
		P.max_threads = 3;
	} else if (T_SLOW_BUILD) {
		P.max_op = 1 * MIB;
		P.layout_max = 64 * KIB;
		P.src_cap = 2 * MIB;
		P.dst_cap = 4 * MIB;
		P.rec_cap = 1u << 17;
		P.hang_s = 120;
	} else { /* 4 x (17 + 32) MiB of arenas, 4 x 4 MiB scratch, 36 MiB of records */
		P.max_op = 16 * MIB;
		P.layout_max = MIB;
		P.src_cap = 17 * MIB;
		P.dst_cap = 32 * MIB;
		P.rec_cap = 1u << 19;
		P.hang_s = sanitized ? 120 : 60;
	}
	P.scratch_cap = 4 * P.layout_max + 4096 + 64;
	for (unsigned t = 0; t < MAXT; t++) {
		struct sub *s = &subs[t];

		s->src = malloc(P.src_cap);
		s->dst = malloc(P.dst_cap);
		s->scratch = malloc(P.scratch_cap);
		s->ring = calloc(RING, sizeof(*s->ring));
		if (!s->src || !s->dst || !s->scratch || !s->ring) {
			fprintf(stderr, "test_stress: cannot allocate the arenas: skipped\n");
			exit(T_SKIP);
		}
	}
}

int main(void)
{
	uint64_t start = t_now_ns(), deadline, margin, ops = 0;
	pthread_t wd;
	double secs;

	setup();
	printf("test_stress: seed 0x%" PRIx64
	       " (ADMA_STRESS_SEED), %.0f s (ADMA_STRESS_SECONDS)%s\n",
	       P.seed, P.seconds, t_valgrind() ? ", valgrind sizes" : "");
	fflush(stdout);
	deadline = start + (uint64_t)(P.seconds * SEC);
	margin = t_valgrind() ? 3 * SEC : SEC / 10; /* for the last engine's drain and checks */
	if (pthread_create(&wd, NULL, watchdog_main, NULL))
		failf(NULL, NULL, NULL, "pthread_create failed");

	for (unsigned i = P.first_engine;; i++) {
		uint64_t now = t_now_ns(),
			 left = deadline > now + margin ? deadline - now - margin : 0;
		uint64_t rs = splitmix(P.seed ^ splitmix(i) ^ 0xabcdef), slice;
		double per = P.seconds / (1.3 * NBASES);

		if (!left && i > P.first_engine)
			break;
		/* Every base configuration gets a turn in any budget; in a soak, one engine in
		 * ten lives four times longer. */
		if (per > 1.5)
			per = 1.5;
		if (per < 0.3)
			per = 0.3;
		slice = (uint64_t)(per * SEC / 2) + rnd(&rs, (uint64_t)(per * SEC / 2));
		if (P.seconds >= 60 && rnd(&rs, 10) == 0)
			slice *= 4;
		if (slice > left)
			slice = left;
		run_engine(i, slice);
	}
	atomic_store(&watchdog_stop, true);
	pthread_join(wd, NULL);

	secs = (double)(t_now_ns() - start) / SEC;
	for (unsigned k = 0; k < NKINDS; k++)
		ops += total.ops[k];
	printf("test_stress: %.1f s, seed 0x%" PRIx64 ", %" PRIu64 " engines (%" PRIu64
	       " destroyed busy with %" PRIu64 " ops in flight or unpolled)\n",
	       secs, P.seed, total.engines, total.engines_busy, total.inflight_at_destroy);
	printf("  ops: %" PRIu64 " (%.0f/s):", ops, ops / secs);
	for (unsigned k = 0; k < NKINDS; k++)
		printf(" %s %" PRIu64, kind_name[k], total.ops[k]);
	printf("\n  verified: %" PRIu64 " regions, %.1f MiB (%.1f MiB/s)\n", total.regions,
	       (double)total.bytes_verified / MIB, (double)total.bytes_verified / MIB / secs);
	printf("  cancels won %" PRIu64 ", lost %" PRIu64 "; waits %" PRIu64 "; barriers %" PRIu64
	       " (%" PRIu64 " reported a failure); results polled %" PRIu64 "\n",
	       total.won, total.lost, total.waits, total.barriers, total.barrier_fails,
	       total.polled);
	printf("  -EAGAIN %" PRIu64 ", partial batches %" PRIu64
	       "; engine counters: inlined %" PRIu64 ", split %" PRIu64 ", non-temporal %" PRIu64
	       "\n",
	       total.eagain, total.partial, total.inlined, total.split, total.nontemporal);
	for (unsigned t = 0; t < MAXT; t++) {
		free(subs[t].src);
		free(subs[t].dst);
		free(subs[t].scratch);
		free(subs[t].ring);
	}
	return T_PASS;
}
