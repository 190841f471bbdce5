/* SPDX-License-Identifier: MIT */
/*
 * Callbacks: with four threads submitting at once, every op's callback runs exactly once, never
 * inside the submitting call, on a worker thread (or in the thread calling adma_poll() when
 * callbacks are deferred), and carries the ticket adma_submit() returned and the op's bytes.
 * Also: a callback may submit new ops (a chain of ops, each submitted by the previous op's
 * callback), and all of them complete. Runs under every configuration, once with retries on
 * -EAGAIN and once with ADMA_CFG_BLOCK_WHEN_FULL, both with a small backlog so it fills.
 */
#include "helpers.h"

#include <poll.h>

#define NTHREADS 4
#define OPSZ 64
#define CHAIN_MAX 100

/* Where the current thread is: inside adma_submit(), inside adma_poll(), an application
 * thread (main, submitters, poller) rather than one of the engine's workers. */
static _Thread_local bool tl_in_submit;
static _Thread_local bool tl_in_poll;
static _Thread_local bool tl_app;

static int flagged_poll(struct adma_engine *e, struct adma_result *out, unsigned max)
{
	int rc;

	tl_in_poll = true;
	rc = adma_poll(e, out, max);
	tl_in_poll = false;
	return rc;
}

static int flagged_submit(struct adma_engine *e, const struct adma_op *op, uint64_t *ticket)
{
	int rc;

	tl_in_submit = true;
	rc = adma_submit(e, op, 1, ticket);
	tl_in_submit = false;
	return rc;
}

/* Where a callback may run: in a polling application thread when deferred, else on a worker. */
static void check_callback_thread(const struct t_config *c)
{
	CHECK(!tl_in_submit);
	if (t_deferred(c))
		CHECK(tl_in_poll);
	else
		CHECK(!tl_app);
}

/* ---- many submitters -------------------------------------------------------------------- */

static struct {
	struct adma_engine *e;
	const struct t_config *c;
	bool block; /* ADMA_CFG_BLOCK_WHEN_FULL: -EAGAIN is never expected */
	unsigned per_thread;
	unsigned nops;
	uint8_t *src, *dst;
	atomic_uint *calls;   /* per op */
	uint64_t *sub_ticket; /* per op, written by the submitter */
	uint64_t *cb_ticket;  /* per op, written by the callback */
	atomic_uint total;    /* callbacks run */
	atomic_bool stop;     /* poller: stop */
	atomic_uint eagain;   /* retries seen */
} g;

static bool is_fill(unsigned i)
{
	return i % 10 == 9;
}

static uint32_t fill_pattern(unsigned i)
{
	return 0xA5000000u | i;
}

static void many_cb(void *arg, const struct adma_result *res)
{
	unsigned i = (unsigned)(uintptr_t)arg;

	check_callback_thread(g.c);
	CHECK(i < g.nops);
	if (i >= g.nops)
		return;
	CHECK(res->status == 0);
	CHECK(res->bytes == OPSZ);
	g.cb_ticket[i] = res->ticket;
	atomic_fetch_add(&g.calls[i], 1);
	atomic_fetch_add(&g.total, 1);
}

static void *submitter(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;

	tl_app = true;
	for (unsigned k = 0; k < g.per_thread; k++) {
		unsigned i = t * g.per_thread + k;
		struct adma_op op;
		uint64_t deadline = 0;
		unsigned spins = 0;
		int rc;

		if (is_fill(i)) {
			uint32_t pat = fill_pattern(i);

			adma_prep_fill(&op, g.dst + (size_t)i * OPSZ, OPSZ, &pat, sizeof(pat));
		} else {
			adma_prep_copy(&op, g.dst + (size_t)i * OPSZ, g.src + (size_t)i * OPSZ,
				       OPSZ);
		}
		adma_op_set_callback(&op, many_cb, (void *)(uintptr_t)i);
		for (;;) {
			rc = flagged_submit(g.e, &op, &g.sub_ticket[i]);
			if (rc != -EAGAIN || g.block)
				break;
			atomic_fetch_add(&g.eagain, 1);
			if (!deadline)
				deadline = t_deadline_s(20);
			if (t_now_ns() > deadline)
				break;
			t_backoff(&spins);
		}
		CHECK(rc == 1);
		if (rc != 1)
			return NULL;
	}
	return NULL;
}

/* Polls like an event loop: waits on the engine's descriptor, then adma_poll(). Runs under
 * every configuration: without deferred callbacks adma_poll() must run none. */
static void *poller(void *arg)
{
	struct adma_result out[32];
	int fd = adma_fd(g.e);
	unsigned round = 0;

	(void)arg;
	tl_app = true;
	CHECK(fd >= 0);
	while (!atomic_load(&g.stop)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n;

		poll(&pfd, 1, 5);
		/* alternate between copying results out and not */
		n = flagged_poll(g.e, (round++ & 1) ? out : NULL, 32);
		CHECK(n >= 0 && n <= 32);
		if (!t_deferred(g.c))
			CHECK(n == 0);
		for (int k = 0; (round & 1) == 0 && k < n; k++) {
			CHECK(out[k].status == 0);
			CHECK(out[k].bytes == OPSZ);
		}
	}
	return NULL;
}

static void run_many(const struct t_config *c, bool block)
{
	pthread_t sub[NTHREADS], pol;
	struct adma_stats st;

	memset(&g, 0, sizeof(g));
	g.c = c;
	g.block = block;
	g.per_thread = t_valgrind() ? 150 : (block ? 2000 : 5000);
	g.nops = g.per_thread * NTHREADS;
	g.e = t_engine(c, block ? ADMA_CFG_BLOCK_WHEN_FULL : 0, 64);
	g.src = malloc((size_t)g.nops * OPSZ);
	g.dst = calloc(g.nops, OPSZ);
	g.calls = calloc(g.nops, sizeof(*g.calls));
	g.sub_ticket = calloc(g.nops, sizeof(*g.sub_ticket));
	g.cb_ticket = calloc(g.nops, sizeof(*g.cb_ticket));
	ASSERT(g.src && g.dst && g.calls && g.sub_ticket && g.cb_ticket);
	t_fill_random(g.src, (size_t)g.nops * OPSZ, 42 + g.nops);

	ASSERT_EQ(pthread_create(&pol, NULL, poller, NULL), 0);
	for (unsigned t = 0; t < NTHREADS; t++)
		ASSERT_EQ(pthread_create(&sub[t], NULL, submitter, (void *)(uintptr_t)t), 0);
	for (unsigned t = 0; t < NTHREADS; t++)
		ASSERT_EQ(pthread_join(sub[t], NULL), 0);
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);

	/* Every callback arrives (the poller runs them when deferred); bounded. */
	uint64_t deadline = t_deadline_s(20);

	while (atomic_load(&g.total) < g.nops && t_now_ns() < deadline)
		t_sleep_ms(1);
	atomic_store(&g.stop, true);
	ASSERT_EQ(pthread_join(pol, NULL), 0);
	ASSERT_EQ(atomic_load(&g.total), g.nops);
	ASSERT_EQ(t_drain(g.e), 0);
	ASSERT_EQ(atomic_load(&g.total), g.nops);
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);

	ASSERT_OK(adma_stats(g.e, &st));
	ASSERT_UEQ(st.submitted, g.nops);
	ASSERT_UEQ(st.completed, g.nops);
	ASSERT_UEQ(st.failed, 0);
	ASSERT_LE(st.backlog_peak, 64);
	ASSERT_OK(adma_engine_destroy(&g.e));
	ASSERT(g.e == NULL);

	for (unsigned i = 0; i < g.nops; i++) {
		if (atomic_load(&g.calls[i]) != 1)
			T_FAILED("op %u: callback ran %u times", i, atomic_load(&g.calls[i]));
		if (g.cb_ticket[i] != g.sub_ticket[i] || g.sub_ticket[i] == 0)
			T_FAILED("op %u: callback ticket %" PRIu64 ", submit gave %" PRIu64, i,
				 g.cb_ticket[i], g.sub_ticket[i]);
		if (is_fill(i)) {
			uint32_t pat = fill_pattern(i), w;

			for (unsigned k = 0; k < OPSZ; k += 4) {
				memcpy(&w, g.dst + (size_t)i * OPSZ + k, 4);
				if (w != pat)
					T_FAILED("fill op %u: word %u is 0x%08x, expected 0x%08x",
						 i, k / 4, w, pat);
			}
		} else if (memcmp(g.dst + (size_t)i * OPSZ, g.src + (size_t)i * OPSZ, OPSZ) != 0) {
			T_FAILED("copy op %u: destination differs from source", i);
		}
	}
	if (block)
		ASSERT_EQ(atomic_load(&g.eagain), 0);

	free(g.src);
	free(g.dst);
	free(g.calls);
	free(g.sub_ticket);
	free(g.cb_ticket);
}

/* ---- chains: each callback submits the next op ----------------------------------------- */

struct chain {
	struct adma_engine *e;
	const struct t_config *c;
	unsigned len;
	atomic_uint n; /* callbacks run so far = index of the next callback */
	atomic_uint calls[CHAIN_MAX];
	uint64_t sub[CHAIN_MAX]; /* tickets from adma_submit */
	uint64_t cbt[CHAIN_MAX]; /* tickets seen by the callbacks */
	uint8_t src[CHAIN_MAX][48];
	uint8_t dst[CHAIN_MAX][48];
};

static void chain_cb(void *arg, const struct adma_result *res)
{
	struct chain *ch = arg;
	unsigned i = atomic_load(&ch->n);
	struct adma_op op;

	check_callback_thread(ch->c);
	CHECK(i < ch->len);
	if (i >= ch->len)
		return;
	CHECK(res->status == 0);
	CHECK(res->bytes == sizeof(ch->src[i]));
	ch->cbt[i] = res->ticket;
	atomic_fetch_add(&ch->calls[i], 1);
	/* Published before the next op exists: its callback may run on another worker at once. */
	atomic_store(&ch->n, i + 1);
	if (i + 1 < ch->len) {
		adma_prep_copy(&op, ch->dst[i + 1], ch->src[i + 1], sizeof(ch->src[i + 1]));
		adma_op_set_callback(&op, chain_cb, ch);
		CHECK(flagged_submit(ch->e, &op, &ch->sub[i + 1]) == 1);
	}
}

static void run_chain(const struct t_config *c)
{
	struct chain *ch = calloc(1, sizeof(*ch));
	struct adma_op op;
	uint64_t deadline;

	ASSERT(ch != NULL);
	ch->c = c;
	ch->len = CHAIN_MAX;
	ch->e = t_engine(c, 0, 0);
	t_fill_random(ch->src, sizeof(ch->src), 7);

	adma_prep_copy(&op, ch->dst[0], ch->src[0], sizeof(ch->src[0]));
	adma_op_set_callback(&op, chain_cb, ch);
	ASSERT_EQ(flagged_submit(ch->e, &op, &ch->sub[0]), 1);

	deadline = t_deadline_s(10);
	while (atomic_load(&ch->n) < ch->len && t_now_ns() < deadline) {
		flagged_poll(ch->e, NULL, UINT32_MAX);
		t_sleep_ms(1);
	}
	ASSERT_EQ(atomic_load(&ch->n), ch->len);
	ASSERT_EQ(t_drain(ch->e), 0);
	ASSERT_OK(adma_engine_destroy(&ch->e));
	ASSERT_EQ(atomic_load(t_bg_errors()), 0);
	for (unsigned i = 0; i < ch->len; i++) {
		ASSERT_EQ(atomic_load(&ch->calls[i]), 1);
		ASSERT_UEQ(ch->cbt[i], ch->sub[i]);
		ASSERT(ch->sub[i] != 0);
		if (i > 0)
			ASSERT_GT(ch->sub[i], ch->sub[i - 1]);
		ASSERT(memcmp(ch->dst[i], ch->src[i], sizeof(ch->src[i])) == 0);
	}
	free(ch);
}

int main(void)
{
	tl_app = true;
	FOR_EACH_CONFIG (c) {
		run_many(c, false);
		run_many(c, true);
		run_chain(c);
	}
	return T_PASS;
}
