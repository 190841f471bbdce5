/* SPDX-License-Identifier: MIT */
/*
 * Resource failures, through the library's fault injection (src/fault.h). For each kind
 * (allocation, worker thread creation, eventfd creation) and each configuration of the matrix,
 * a sweep makes the 1st, 2nd, 3rd, ... call of that kind fail until a run of the scenario
 * makes fewer calls than that, so that every call site met on the way fails once. The scenario,
 * on engines with a backlog of 8: create; plain copies; a fill; a scatter-gather copy; a
 * transposing layout copy (the first allocates the plan array); a second engine created, used
 * and destroyed while the first has results pending; 12 failing custom ops (-EIO) in batches
 * of 4 (the failure table grows past its 8 entries); 24 more copies without polling (with
 * deferred callbacks the results ring grows past its 16 entries while wrapped; on the inline
 * backend in one batch, so that the growth meets the fault in its second chunk of 8: a short
 * count); then poll everything and destroy. adma_default() is left out: it is process-wide,
 * created once for good, and a fault there would leave this process without a default engine.
 * For every injected failure:
 *   - the call that met it returns exactly the clean errno: adma_engine_create() -ENOMEM,
 *     -EAGAIN or -EMFILE with *out NULL; adma_submit() -ENOMEM with nothing accepted, or a
 *     short count (a prefix accepted) when a later chunk of the batch failed; each errno
 *     comes with its own adma_last_error() naming the function; no other call meets a fault;
 *   - ops refused were never run (destination untouched, operator and callback never called,
 *     stats.submitted unchanged) and, resubmitted, are accepted at once; ops accepted before
 *     or after a failure complete exactly once, with their status, bytes and ticket, data
 *     correct, callbacks in ticket order where the configuration promises it;
 *   - nothing is left behind: after each failed create and after each run, the threads
 *     (/proc/self/status) and open descriptors (/proc/self/fd) are the baseline's plus the
 *     live engines' workers and eventfd; leaks are for the ASan and valgrind runs to find;
 *   - the process stays usable: disarmed again, the same scenario runs through without a
 *     failure (engine created, every op accepted first time and checked, destroyed).
 * The sweep ends with a run that makes exactly N - 1 calls: the calls are deterministic (every
 * batch is waited for, so what is in flight and pending at each call is always the same).
 */
#include "helpers.h"

#include "fault.h"

#include <dirent.h>

#define BACKLOG 8u
#define BUF (64u << 10) /* bytes of the source, destination and expected images */
#define GAP 16u		/* untouched bytes between two ops' regions */
#define MAX_OPS 96u
#define MAX_BATCH 32u
#define ROWS 37u /* the layout copy: a ROWS x COLS matrix of uint32 transposed */
#define COLS 29u
#define NSGE 3u

enum kind {
	K_COPY,
	K_FILL,
	K_SG,
	K_LAYOUT,
	K_EIO
};

/* An engine of the scenario and what it accepted. */
struct eng {
	struct adma_engine *e;
	unsigned naccepted, neio; /* ops accepted; of them, failing ones */
};

/* One op of the scenario. calls is bumped last, after the fields it publishes. */
struct rec {
	atomic_int calls; /* callback runs */
	atomic_int runs;  /* operator runs (K_EIO) */
	int status;
	size_t bytes;
	uint64_t ticket;    /* as the callback saw it */
	uint64_t submitted; /* as adma_submit() gave it; 0 until accepted */
	enum kind kind;
	struct eng *g;	 /* the engine it goes to */
	size_t off, len; /* K_COPY, K_FILL: region of dst (src at the same offset) */
	uint8_t pat[4];	 /* K_FILL */
};

/* One run of the scenario. */
static struct run {
	const struct t_config *c;
	enum adma__fault kind;
	unsigned long nth; /* the call of kind that fails; 0: none (a clean run) */
	bool hit;	   /* a call reported the injected failure */
	bool from_submit;  /* ... and it was adma_submit() */
	bool short_count;  /* ... with a short count */
	struct eng main;   /* the engine the scenario is about */
	struct eng other;  /* a second one, created and destroyed in the middle */
	struct rec rec[MAX_OPS];
	unsigned nops;
	size_t next_off;
	struct adma_sge sge[NSGE];
	uint64_t order[MAX_OPS]; /* main's tickets in the order callbacks ran */
	atomic_uint norder;
} R;

static uint8_t src[BUF], dst[BUF], expect[BUF];
static uint32_t lsrc[ROWS * COLS], ldst[COLS * ROWS], lexpect[COLS * ROWS];

static struct {
	unsigned create[ADMA__FAULT_KINDS], submit, short_counts, runs;
} totals;
static int base_threads, base_fds;
static char config_name[128];

static const char *const kind_name[] = { "alloc", "thread", "eventfd" };
static const int kind_errno[] = { -ENOMEM, -EAGAIN, -EMFILE };

/* ---- the process -------------------------------------------------------------------------- */

static int count_threads(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int n = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	for (struct dirent *de; (de = readdir(d));)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Threads and descriptors are the baseline's plus the live engines' (their workers, their
 * eventfd): nothing more is left behind. A joined thread may take a moment to leave the
 * count. */
static void check_process(void)
{
	unsigned engines = !!R.main.e + !!R.other.e;
	int threads = base_threads + (int)(engines * R.c->workers);
	uint64_t end = t_deadline_s(5);

	while (count_threads() != threads && t_now_ns() < end)
		t_sleep_ms(1);
	ASSERT_EQ(count_threads(), threads);
	ASSERT_EQ(count_fds(), base_fds + (int)engines);
}

/* ---- faults ------------------------------------------------------------------------------- */

/* Overwrites the calling thread's last error with a known one, quietly and without calling
 * anything that counts as a fault site: a failure must then write its own. */
static void forget_error(void)
{
	struct adma_config cfg;
	struct adma_engine *e;

	adma_config_init(&cfg);
	cfg.flags = ADMA_CFG_QUIET;
	cfg.backend = 99;
	ASSERT_ERR(adma_engine_create(&e, &cfg), -EINVAL);
	ASSERT(strstr(adma_last_error(), "unknown backend") != NULL);
}

/* Whether the armed fault was met by the call that started at count @before. */
static bool met(unsigned long before)
{
	return R.nth && before < R.nth && R.nth <= adma__fault_calls(R.kind);
}

/* A refusal leaves its own message, naming the function (forget_error() ran before it). */
static void check_message(const char *fn)
{
	const char *m = adma_last_error();

	if (!strstr(m, fn) || strstr(m, "unknown backend"))
		T_FAILED("last error \"%s\" is not a message of %s", m, fn);
}

/* Records the one injected failure. */
static void hit(bool from_submit)
{
	ASSERT(!R.hit);
	R.hit = true;
	R.from_submit = from_submit;
}

/* ---- ops ---------------------------------------------------------------------------------- */

static void on_done(void *arg, const struct adma_result *res)
{
	struct rec *r = arg;

	r->ticket = res->ticket;
	r->status = res->status;
	r->bytes = res->bytes;
	if (r->g == &R.main)
		R.order[atomic_fetch_add(&R.norder, 1)] = res->ticket;
	atomic_fetch_add(&r->calls, 1);
}

static long op_eio(void *d, const void *s, void *arg)
{
	struct rec *r = arg;

	(void)d, (void)s;
	atomic_fetch_add(&r->runs, 1);
	return -EIO;
}

struct batch {
	struct eng *g;
	struct adma_op ops[MAX_BATCH];
	unsigned id[MAX_BATCH];
	unsigned n;
};

static struct rec *new_op(struct batch *b, enum kind kind)
{
	unsigned id = R.nops++;
	struct rec *r = &R.rec[id];

	ASSERT_LT(id, MAX_OPS);
	ASSERT_LT(b->n, MAX_BATCH);
	r->kind = kind;
	r->g = b->g;
	b->id[b->n] = id;
	adma_op_set_callback(&b->ops[b->n], on_done, r);
	b->n++;
	return r;
}

/* A region of dst (and src) of @len bytes, GAP bytes away from the previous one. */
static size_t region(size_t len)
{
	size_t off = R.next_off;

	R.next_off += len + GAP;
	ASSERT_LE(R.next_off, BUF);
	return off;
}

static void add_copy(struct batch *b, size_t len)
{
	size_t off = region(len);
	struct rec *r;

	adma_prep_copy(&b->ops[b->n], dst + off, src + off, len);
	r = new_op(b, K_COPY);
	r->off = off;
	r->len = len;
}

static void add_fill(struct batch *b, size_t len, uint32_t pattern)
{
	size_t off = region(len);
	struct rec *r;

	adma_prep_fill(&b->ops[b->n], dst + off, len, &pattern, sizeof(pattern));
	r = new_op(b, K_FILL);
	r->off = off;
	r->len = len;
	memcpy(r->pat, &pattern, sizeof(pattern));
}

static void add_sg(struct batch *b)
{
	static const size_t len[NSGE] = { 300, 1, 2000 };
	struct rec *r;

	for (unsigned k = 0; k < NSGE; k++) {
		size_t off = region(len[k]);

		R.sge[k] = (struct adma_sge){ dst + off, src + off, len[k] };
	}
	adma_prep_copy_sg(&b->ops[b->n], R.sge, NSGE);
	r = new_op(b, K_SG);
	r->len = len[0] + len[1] + len[2];
}

/* @l[0] the destination, @l[1] the transposed source view: must live until submitted. */
static void add_layout(struct batch *b, struct adma_layout l[2])
{
	struct adma_layout m;

	ASSERT_OK(adma_layout_dense(&l[0], ldst, sizeof(uint32_t), 2, (size_t[]){ COLS, ROWS },
				    ADMA_ROW_MAJOR));
	ASSERT_OK(adma_layout_dense(&m, lsrc, sizeof(uint32_t), 2, (size_t[]){ ROWS, COLS },
				    ADMA_ROW_MAJOR));
	ASSERT_OK(adma_layout_transpose(&l[1], &m, (unsigned[]){ 1, 0 }));
	adma_prep_copy_layout(&b->ops[b->n], &l[0], &l[1]);
	new_op(b, K_LAYOUT)->len = sizeof(ldst);
}

static void add_eio(struct batch *b)
{
	struct rec *r = &R.rec[R.nops];

	adma_prep_custom(&b->ops[b->n], op_eio, NULL, NULL, r);
	new_op(b, K_EIO);
}

/* What the op's completion must say. */
static int want_status(const struct rec *r)
{
	return r->kind == K_EIO ? -EIO : 0;
}

static size_t want_bytes(const struct rec *r)
{
	return r->kind == K_EIO ? 0 : r->len;
}

/* An op was accepted: the expected images get what it will write. */
static void accepted(struct rec *r, uint64_t ticket)
{
	ASSERT(ticket != 0);
	ASSERT_UEQ(r->submitted, 0);
	r->submitted = ticket;
	r->g->naccepted++;
	switch (r->kind) {
	case K_COPY:
		memcpy(expect + r->off, src + r->off, r->len);
		break;
	case K_FILL:
		t_pattern(expect + r->off, r->len, r->pat, sizeof(r->pat));
		break;
	case K_SG:
		for (unsigned k = 0; k < NSGE; k++) {
			size_t off = (size_t)((uint8_t *)R.sge[k].dst - dst);

			memcpy(expect + off, src + off, R.sge[k].n);
		}
		break;
	case K_LAYOUT:
		for (unsigned i = 0; i < ROWS; i++)
			for (unsigned j = 0; j < COLS; j++)
				lexpect[j * ROWS + i] = lsrc[i * COLS + j];
		break;
	case K_EIO:
		r->g->neio++;
		break;
	}
}

/* The destinations hold exactly what the accepted ops wrote (every accepted op complete). */
static void check_data(void)
{
	size_t i = t_first_diff(dst, expect, BUF);

	if (i < BUF)
		T_FAILED("dst[%zu] is 0x%02x, expected 0x%02x", i, dst[i], expect[i]);
	i = t_first_diff((const uint8_t *)ldst, (const uint8_t *)lexpect, sizeof(ldst));
	if (i < sizeof(ldst))
		T_FAILED("layout destination byte %zu is wrong", i);
}

/* ---- the scenario ------------------------------------------------------------------------- */

/* Waits until everything submitted has completed, without polling. */
static void settle(struct eng *g)
{
	int rc = adma_barrier(g->e, (t_valgrind() ? 600 : 60) * SEC);

	ASSERT_NE(rc, -ETIMEDOUT);
	ASSERT(rc == 0 || rc == -EIO);
}

/* Waits for everything and runs every deferred callback. */
static void drain(struct eng *g)
{
	int rc = t_drain(g->e);

	ASSERT(rc == 0 || rc == -EIO);
}

static bool create(struct eng *g)
{
	struct adma_config cfg;
	unsigned long before = adma__fault_calls(R.kind);
	int rc;

	adma_config_init(&cfg);
	cfg.backend = R.c->backend;
	cfg.workers = R.c->workers;
	cfg.flags = R.c->flags | ADMA_CFG_QUIET;
	cfg.backlog = BACKLOG;
	g->e = (struct adma_engine *)&cfg; /* any non-NULL value: a failure must clear it */
	forget_error();
	rc = adma_engine_create(&g->e, &cfg);
	if (met(before)) {
		hit(false);
		ASSERT_ERR(rc, kind_errno[R.kind]);
		ASSERT_PTR_EQ(g->e, NULL);
		check_message("adma_engine_create");
		check_process();
		return false;
	}
	ASSERT_OK(rc);
	ASSERT(g->e != NULL);
	return true;
}

/* Submits @b, then waits for it. A batch refused (wholly or in part) by the injected failure:
 * what was refused never runs, what was accepted completes; the rest, submitted again, is
 * accepted at once. */
static void submit(struct batch *b)
{
	uint64_t tickets[MAX_BATCH];
	unsigned done = 0;

	while (done < b->n) {
		unsigned long before = adma__fault_calls(R.kind);
		unsigned left = b->n - done, ok;
		struct adma_stats st;
		int rc;

		memset(tickets, 0, sizeof(tickets));
		forget_error();
		rc = adma_submit(b->g->e, b->ops + done, left, tickets);
		if (!met(before)) {
			ASSERT_OK(rc);
			ASSERT_EQ(rc, left);
			for (unsigned k = 0; k < left; k++)
				accepted(&R.rec[b->id[done + k]], tickets[k]);
			break;
		}
		hit(true);
		ASSERT_EQ(R.kind, ADMA__FAULT_ALLOC);
		if (rc < 0) {
			ASSERT_ERR(rc, -ENOMEM);
			check_message("adma_submit");
			ok = 0;
		} else {
			/* A later chunk failed: the prefix before it was accepted. */
			ASSERT_GE(rc, 1);
			ASSERT_LT(rc, left);
			R.short_count = true;
			ok = (unsigned)rc;
		}
		for (unsigned k = 0; k < ok; k++)
			accepted(&R.rec[b->id[done + k]], tickets[k]);
		for (unsigned k = ok; k < left; k++)
			ASSERT_UEQ(tickets[k], 0);
		done += ok;
		drain(b->g);
		st = t_stats(b->g->e);
		ASSERT_UEQ(st.submitted, b->g->naccepted);
		ASSERT_UEQ(st.completed, b->g->naccepted);
		for (unsigned k = done; k < b->n; k++) {
			const struct rec *r = &R.rec[b->id[k]];

			ASSERT_EQ(atomic_load(&r->calls), 0);
			ASSERT_EQ(atomic_load(&r->runs), 0);
		}
		check_data();
	}
	settle(b->g);
}

/* Runs up to @max deferred callbacks: results left pending make the ring wrap. */
static void poll_some(unsigned max)
{
	int n = adma_poll(R.main.e, NULL, max);

	ASSERT_GE(n, 0);
	ASSERT_LE(n, (int)max);
	if (!t_deferred(R.c))
		ASSERT_EQ(n, 0);
	else if (!R.hit) /* a refusal's drain polls everything */
		ASSERT_EQ(n, (int)max);
}

/* Every op completed once, with its own ticket, status and bytes, and wrote what it should. */
static void check_ops(void)
{
	bool in_order = (R.c->flags & ADMA_CFG_ORDERED) || R.c->backend == ADMA_BACKEND_INLINE;
	unsigned norder = atomic_load(&R.norder);

	ASSERT_EQ(R.main.naccepted + R.other.naccepted, R.nops);
	for (unsigned i = 0; i < R.nops; i++) {
		const struct rec *r = &R.rec[i];

		if (atomic_load(&r->calls) != 1)
			T_FAILED("op %u (kind %d, ticket %" PRIu64 "): %d callbacks", i, r->kind,
				 r->submitted, atomic_load(&r->calls));
		ASSERT_UEQ(r->ticket, r->submitted);
		ASSERT_EQ(r->status, want_status(r));
		ASSERT_UEQ(r->bytes, want_bytes(r));
		ASSERT_EQ(atomic_load(&r->runs), r->kind == K_EIO ? 1 : 0);
	}
	ASSERT_EQ(norder, R.main.naccepted);
	if (in_order)
		t_check_ticket_order(R.order, norder);
	check_data();
}

static void batch(struct batch *b, struct eng *g)
{
	b->g = g;
	b->n = 0;
}

/* Polls everything, checks the counters and destroys the engine. */
static void finish(struct eng *g)
{
	struct adma_stats st;

	drain(g);
	st = t_stats(g->e);
	ASSERT_UEQ(st.submitted, g->naccepted);
	ASSERT_UEQ(st.completed, g->naccepted);
	ASSERT_UEQ(st.failed, g->neio);
	ASSERT_UEQ(st.in_flight, 0);
	ASSERT_UEQ(st.pending, 0);
	ASSERT_OK(adma_engine_destroy(&g->e));
	ASSERT_PTR_EQ(g->e, NULL);
}

static void scenario(const struct t_config *c, enum adma__fault kind, unsigned long nth)
{
	struct adma_layout l[2];
	struct batch b;

	memset(&R, 0, sizeof(R));
	R.c = c;
	R.kind = kind;
	R.nth = nth;
	atomic_store(&R.norder, 0);
	memset(dst, 0, sizeof(dst));
	memset(expect, 0, sizeof(expect));
	memset(ldst, 0, sizeof(ldst));
	memset(lexpect, 0, sizeof(lexpect));
	totals.runs++;
	if (!create(&R.main))
		return;

	/* Copies: in the submitting thread and on workers (above inline_max). */
	batch(&b, &R.main);
	add_copy(&b, 100);
	add_copy(&b, 1000);
	add_copy(&b, 4096);
	add_copy(&b, 20000);
	submit(&b);
	batch(&b, &R.main);
	add_fill(&b, 3000, 0xa5c3e10fu);
	submit(&b);
	batch(&b, &R.main);
	add_sg(&b);
	submit(&b);
	batch(&b, &R.main);
	add_layout(&b, l);
	submit(&b);
	poll_some(5);

	/* A second engine, created, used and destroyed (or failing) while the first has results
	 * pending: neither disturbs the other. */
	if (create(&R.other)) {
		batch(&b, &R.other);
		add_copy(&b, 500);
		add_eio(&b);
		add_copy(&b, 17000);
		submit(&b);
		finish(&R.other);
	}

	/* 12 failures: the table of BACKLOG entries grows. */
	for (unsigned k = 0; k < 3; k++) {
		batch(&b, &R.main);
		for (unsigned i = 0; i < 4; i++)
			add_eio(&b);
		submit(&b);
	}
	poll_some(8);

	/* 24 results left pending (deferred): the ring of 2 x BACKLOG, wrapped, grows. The inline
	 * backend takes them in one batch, chunks of BACKLOG run in turn inside the call; a
	 * threads engine would refuse part of such a batch (full backlog): batches of 4. */
	batch(&b, &R.main);
	for (unsigned i = 0; i < 3 * BACKLOG; i++) {
		add_copy(&b, 64 + 29 * i);
		if (c->backend != ADMA_BACKEND_INLINE && b.n == 4) {
			submit(&b);
			batch(&b, &R.main);
		}
	}
	if (b.n)
		submit(&b);

	finish(&R.main);
	check_ops();
}

/* Fails the 1st, 2nd, ... call of @kind until a run makes fewer calls than that. */
static void sweep(const struct t_config *c, enum adma__fault kind)
{
	for (unsigned long n = 1;; n++) {
		unsigned long calls;

		snprintf(config_name, sizeof(config_name), "%s, %s call %lu fails", c->name,
			 kind_name[kind], n);
		t_config_name = config_name;
		ASSERT_LT(n, 1000);
		adma__fault_arm(kind, n);
		scenario(c, kind, n);
		calls = adma__fault_calls(kind);
		adma__fault_reset();
		check_process();
		if (calls < n) {
			ASSERT(!R.hit);
			/* The run before failed call n - 1: every call of the scenario failed once. */
			ASSERT_UEQ(calls, n - 1);
			break;
		}
		/* No call but the one that can report it may meet a fault. */
		if (!R.hit)
			T_FAILED("call %lu of %s (of %lu) failed unreported", n, kind_name[kind],
				 calls);
		if (R.from_submit)
			totals.submit++;
		else
			totals.create[kind]++;
		totals.short_counts += R.short_count;

		snprintf(config_name, sizeof(config_name), "%s, clean run after %s call %lu",
			 c->name, kind_name[kind], n);
		scenario(c, kind, 0);
		check_process();
	}
}

int main(void)
{
	struct adma_engine *e = NULL;
	unsigned nconfigs = 0;

	t_fill_random(src, sizeof(src), 0xfa17);
	t_fill_random(lsrc, sizeof(lsrc), 0x1a7);
	/* Whatever a first engine sets up for good (a sanitizer's own thread, CPU detection)
	 * belongs to the baseline. */
	ASSERT_OK(adma_engine_create(&e, NULL));
	ASSERT_OK(adma_engine_destroy(&e));
	t_sleep_ms(10);
	base_threads = count_threads();
	base_fds = count_fds();
	if (base_threads < 0 || base_fds < 0) {
		fprintf(stderr, "no /proc/self: skipped\n");
		return T_SKIP;
	}

	FOR_EACH_CONFIG (c) {
		for (int k = 0; k < ADMA__FAULT_KINDS; k++)
			sweep(c, (enum adma__fault)k);
		nconfigs++;
	}
	t_config_name = "totals";
	ASSERT_GT(totals.create[ADMA__FAULT_ALLOC], 0);
	ASSERT_GT(totals.create[ADMA__FAULT_THREAD], 0);
	ASSERT_GT(totals.create[ADMA__FAULT_EVENTFD], 0);
	ASSERT_GT(totals.submit, 0);
	ASSERT_GT(totals.short_counts, 0);
	printf("faults injected: alloc %u (%u in adma_engine_create, %u in adma_submit, %u of "
	       "them short counts), thread %u, eventfd %u; %u scenario runs over %u "
	       "configurations\n",
	       totals.create[ADMA__FAULT_ALLOC] + totals.submit, totals.create[ADMA__FAULT_ALLOC],
	       totals.submit, totals.short_counts, totals.create[ADMA__FAULT_THREAD],
	       totals.create[ADMA__FAULT_EVENTFD], totals.runs, nconfigs);
	return T_PASS;
}
