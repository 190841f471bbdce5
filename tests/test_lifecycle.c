/* SPDX-License-Identifier: MIT */
/*
 * Lifecycle hazards.
 *   - fork() while an engine runs ops: in the child every call on the parent's engine returns
 *     -EOWNERDEAD and touches nothing, adma_engine_destroy() on it returns 0 (frees the child's
 *     copy), adma_default() is a new engine of the child's that works, and the child creates,
 *     uses and destroys its own engine, then exits through exit() (atexit handlers and all)
 *     with status 0. Meanwhile the parent's ops complete, data verified, its stats untouched by
 *     the child, its default engine still works.
 *   - exit with a live default engine: a child submits 200 copies to adma_default() behind a
 *     slow op and calls exit(0) at once; every callback still runs before the process ends
 *     (each writes a byte to a pipe the parent counts) and the data they report is right.
 *   - signals during waits: SIGUSR1 (handler without SA_RESTART) every 2 ms at the waiting
 *     thread: adma_wait and adma_barrier with timeouts return -ETIMEDOUT no earlier than the
 *     timeout, waits without one return the op's status once it completes, and a submit that
 *     blocks on a full backlog (ADMA_CFG_BLOCK_WHEN_FULL) returns only once it was accepted.
 *   - tickets near 2^32, 2^63 and the end of the 64-bit range: consecutive tickets, waits with
 *     each op's own status, the barrier's lowest failure, cancel, -EINVAL for a ticket not yet
 *     issued; at the end the last ticket is UINT64_MAX - 1, a batch that crosses it is cut
 *     short, and the next submit is -EOVERFLOW.
 *   - many ops on one engine: ADMA_TEST_OPS (default 20 million; 200 thousand under valgrind
 *     and TSan; `make soak` asks for billions) 64-byte copies in batches of 32, tickets strictly
 *     consecutive, stats exact at the end.
 */
#include "helpers.h"

#include <signal.h>
#include <sys/wait.h>

#include "backend.h"

/* ThreadSanitizer cannot follow threads started in the child of a multithreaded process (its
 * registry keeps the parent's): under TSan the children here start none, using the inline
 * backend, and the exit test (whose child needs the threads of adma_default()) is skipped. */
#define T_CHILD_THREADS (!T_SLOW_BUILD)

/* ---- a slow op: an operator that holds its worker until released ---------------------------- */

struct gate {
	atomic_bool open;
};

static long op_gate(void *dst, const void *src, void *arg)
{
	struct gate *g = arg;

	(void)dst, (void)src;
	while (!atomic_load(&g->open))
		t_sleep_ms(1);
	return 0;
}

static long op_sleep_50ms(void *dst, const void *src, void *arg)
{
	(void)dst, (void)src, (void)arg;
	t_sleep_ms(50);
	return 0;
}

static int child_status(pid_t pid)
{
	int st;

	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		T_FAILED("child killed by signal %d", WTERMSIG(st));
	ASSERT(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* ---- fork ------------------------------------------------------------------------------------ */

#define FORK_BYTES (1u << 20)

static void child_after_fork(struct adma_engine *parent, uint64_t t)
{
	static uint8_t a[FORK_BYTES], b[FORK_BYTES];
	struct adma_engine *mine = NULL, *def;
	struct adma_config cfg;
	struct adma_result res;
	struct adma_stats st;
	struct adma_op op;
	uint64_t tk;

	/* Every call on the parent's engine is refused, whatever its arguments. */
	adma_prep_copy(&op, a, b, 64);
	ASSERT_ERR(adma_submit(parent, &op, 1, NULL), -EOWNERDEAD);
	ASSERT_ERR(adma_memcpy(parent, a, b, 64, NULL, NULL), -EOWNERDEAD);
	ASSERT_ERR(adma_wait(parent, t, 0), -EOWNERDEAD);
	ASSERT_ERR(adma_wait(parent, t, -1), -EOWNERDEAD);
	ASSERT_ERR(adma_barrier(parent, -1), -EOWNERDEAD);
	ASSERT_ERR(adma_poll(parent, &res, 1), -EOWNERDEAD);
	ASSERT_ERR(adma_cancel(parent, t), -EOWNERDEAD);
	ASSERT_ERR(adma_fd(parent), -EOWNERDEAD);
	ASSERT_ERR(adma_stats(parent, &st), -EOWNERDEAD);
	ASSERT(strstr(adma_last_error(), "fork") != NULL);
	ASSERT_EQ(adma_engine_destroy(&parent), 0);
	ASSERT(parent == NULL);

	/* The child's default engine is its own: the parent's would refuse the copy. (Its
	 * address may be the parent's: the child's copy of that one was freed at the fork.) */
	if (T_CHILD_THREADS) {
		def = adma_default();
		ASSERT(def != NULL);
		t_fill_random(b, FORK_BYTES, 11);
		adma_prep_copy(&op, a, b, FORK_BYTES);
		tk = t_submit1(def, &op);
		ASSERT_EQ(adma_wait(def, tk, -1), 0);
		ASSERT(memcmp(a, b, FORK_BYTES) == 0);
	}

	/* And so is any engine it creates. */
	adma_config_init(&cfg);
	cfg.backend = T_CHILD_THREADS ? ADMA_BACKEND_THREADS : ADMA_BACKEND_INLINE;
	ASSERT_OK(adma_engine_create(&mine, &cfg));
	memset(a, 0, FORK_BYTES);
	t_fill_random(b, FORK_BYTES, 12);
	adma_prep_copy(&op, a, b, FORK_BYTES);
	tk = t_submit1(mine, &op);
	ASSERT_EQ(adma_wait(mine, tk, -1), 0);
	adma_poll(mine, NULL, 1);
	ASSERT(memcmp(a, b, FORK_BYTES) == 0);
	ASSERT_OK(adma_engine_destroy(&mine));
	exit(T_PASS); /* atexit: the child's default engine is drained and destroyed */
}

static void test_fork(const struct t_config *c)
{
	uint8_t *src = malloc(FORK_BYTES), *dst = calloc(1, FORK_BYTES);
	struct adma_engine *e = t_engine(c, 0, 0), *def = adma_default();
	struct adma_stats before, after;
	struct t_rec rec = { 0 };
	struct gate g = { false };
	struct adma_op op;
	uint64_t slow, copy;
	pid_t pid;

	ASSERT(src && dst && def);
	t_fill_random(src, FORK_BYTES, 3);
	/* A slow op in flight at the fork, and a copy queued behind it (or run inline). */
	slow = t_submit_custom(e, op_gate, &g, NULL, NULL);
	adma_prep_copy(&op, dst, src, FORK_BYTES);
	adma_op_set_callback(&op, t_rec_cb, &rec);
	copy = t_submit1(e, &op);
	before = t_stats(e);

	fflush(NULL);
	pid = fork();
	ASSERT(pid >= 0);
	if (pid == 0)
		child_after_fork(e, slow);
	ASSERT_EQ(child_status(pid), T_PASS);

	atomic_store(&g.open, true);
	ASSERT_EQ(adma_wait(e, slow, -1), 0);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(adma_wait(e, copy, -1), 0);
	ASSERT_EQ(atomic_load(&rec.calls), 1);
	ASSERT(memcmp(dst, src, FORK_BYTES) == 0);
	after = t_stats(e);
	ASSERT_UEQ(after.submitted, before.submitted);
	ASSERT_UEQ(after.completed, 2);
	ASSERT_OK(adma_memcpy(def, dst, src, 4096, NULL, NULL));
	ASSERT_EQ(adma_barrier(def, -1), 0);
	ASSERT_OK(adma_engine_destroy(&e));
	free(src);
	free(dst);
}

/* ---- exit with a live default engine ----------------------------------------------------------- */

#define EXIT_OPS 200
#define EXIT_BYTES 4096

static int exit_pipe = -1;
static uint8_t exit_src[EXIT_OPS][EXIT_BYTES], exit_dst[EXIT_OPS][EXIT_BYTES];

/* Writes 'y' when the op's destination is right, 'n' otherwise. */
static void exit_cb(void *arg, const struct adma_result *res)
{
	size_t i = (size_t)(uintptr_t)arg;
	char c = res->status == 0 && res->bytes == EXIT_BYTES &&
				 memcmp(exit_dst[i], exit_src[i], EXIT_BYTES) == 0 ?
			 'y' :
			 'n';

	(void)!write(exit_pipe, &c, 1);
}

static void test_exit_drains(void)
{
	int fds[2];
	char buf[64];
	unsigned yes = 0, no = 0;
	ssize_t n;
	pid_t pid;

	if (!T_CHILD_THREADS) {
		printf("exit with a live default engine: skipped under ThreadSanitizer\n");
		return;
	}
	ASSERT_EQ(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	ASSERT(pid >= 0);
	if (pid == 0) {
		struct adma_engine *def = adma_default();
		struct adma_op op;

		close(fds[0]);
		exit_pipe = fds[1];
		ASSERT(def != NULL);
		t_fill_random(exit_src, sizeof(exit_src), 5);
		/* A slow op first, so that the copies are still queued when exit() runs. */
		t_submit_custom(def, op_sleep_50ms, NULL, NULL, NULL);
		for (size_t i = 0; i < EXIT_OPS; i++) {
			adma_prep_copy(&op, exit_dst[i], exit_src[i], EXIT_BYTES);
			adma_op_set_callback(&op, exit_cb, (void *)(uintptr_t)i);
			adma_op_set_flags(&op, ADMA_OP_NO_INLINE);
			t_submit1(def, &op);
		}
		exit(T_PASS);
	}
	close(fds[1]);
	while ((n = read(fds[0], buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		ASSERT(n > 0);
		for (ssize_t i = 0; i < n; i++)
			buf[i] == 'y' ? yes++ : no++;
	}
	close(fds[0]);
	ASSERT_EQ(child_status(pid), T_PASS);
	ASSERT_EQ(no, 0);
	ASSERT_EQ(yes, EXIT_OPS);
}

/* ---- signals --------------------------------------------------------------------------------- */

static atomic_uint signals_seen;

static void on_sigusr1(int sig)
{
	(void)sig;
	atomic_fetch_add(&signals_seen, 1);
}

struct pelter {
	pthread_t target, self;
	atomic_bool stop;
};

static void *pelt(void *arg)
{
	struct pelter *p = arg;

	while (!atomic_load(&p->stop)) {
		pthread_kill(p->target, SIGUSR1);
		t_sleep_ms(2);
	}
	return NULL;
}

static void *open_gate_later(void *arg)
{
	struct gate *g = arg;

	t_sleep_ms(30);
	atomic_store(&g->open, true);
	return NULL;
}

/* Threads backends only: an inline engine would run the gate in the waiting thread. */
static void test_signals(const struct t_config *c)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 }; /* no SA_RESTART */
	struct pelter p = { .target = pthread_self() };
	struct adma_engine *e = t_engine(c, ADMA_CFG_BLOCK_WHEN_FULL, 2);
	struct gate g = { false };
	struct adma_op ops[3];
	pthread_t opener;
	uint64_t slow, t0;
	unsigned seen;

	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	atomic_store(&p.stop, false);
	ASSERT_EQ(pthread_create(&p.self, NULL, pelt, &p), 0);
	seen = atomic_load(&signals_seen);

	slow = t_submit_custom(e, op_gate, &g, NULL, NULL);
	t0 = t_now_ns();
	ASSERT_ERR(adma_wait(e, slow, 100 * 1000000LL), -ETIMEDOUT);
	ASSERT_GE(t_now_ns() - t0, 100 * 1000000ULL);
	t0 = t_now_ns();
	ASSERT_ERR(adma_barrier(e, 50 * 1000000LL), -ETIMEDOUT);
	ASSERT_GE(t_now_ns() - t0, 50 * 1000000ULL);

	/* Backlog 2, one place taken by the gate: the batch of three gated ops can only be
	 * accepted whole once the gate has opened and ops completed, signals or not. */
	for (int i = 0; i < 3; i++)
		adma_prep_custom(&ops[i], op_gate, NULL, NULL, &g);
	ASSERT_EQ(pthread_create(&opener, NULL, open_gate_later, &g), 0);
	ASSERT_EQ(adma_submit(e, ops, 3, NULL), 3);
	ASSERT(atomic_load(&g.open));
	ASSERT_EQ(pthread_join(opener, NULL), 0);

	ASSERT_EQ(adma_wait(e, slow, -1), 0);
	ASSERT_EQ(t_drain(e), 0);
	atomic_store(&p.stop, true);
	ASSERT_EQ(pthread_join(p.self, NULL), 0);
	ASSERT_GT(atomic_load(&signals_seen), seen);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* ---- tickets near the boundaries ------------------------------------------------------------ */

static void test_tickets_at(const struct t_config *c, uint64_t start)
{
	struct adma_engine *e = t_engine(c, 0, 64);
	static uint8_t a[300][64], b[300][64];
	uint64_t tickets[300], t;
	struct adma_op ops[300];
	struct gate g = { false };
	unsigned n = 0;

	adma__set_next_ticket(e, start);
	t_fill_random(b, sizeof(b), start);
	/* Batches of 1 to 7 ops; every 5th a failing custom op. */
	while (n < 300) {
		unsigned k = 1 + n % 7;

		if (k > 300 - n)
			k = 300 - n;
		for (unsigned i = n; i < n + k; i++) {
			if (i % 5 == 4)
				adma_prep_custom(&ops[i], t_op_eio, NULL, NULL, NULL);
			else
				adma_prep_copy(&ops[i], a[i], b[i], sizeof(b[i]));
		}
		for (unsigned done = 0; done < k;) {
			int rc = adma_submit(e, ops + n + done, k - done, tickets + n + done);

			if (rc == -EAGAIN) {
				adma_poll(e, NULL, UINT32_MAX);
				sched_yield();
				continue;
			}
			ASSERT_GT(rc, 0);
			done += (unsigned)rc;
		}
		n += k;
	}
	for (unsigned i = 0; i < 300; i++)
		ASSERT_UEQ(tickets[i], start + i);
	ASSERT_ERR(adma_wait(e, start + 300, 0), -EINVAL);
	ASSERT_EQ(t_drain(e), -EIO); /* the lowest failure: op 4 */
	for (unsigned i = 0; i < 300; i++) {
		ASSERT_EQ(adma_wait(e, tickets[i], 0), i % 5 == 4 ? -EIO : 0);
		if (i % 5 != 4)
			ASSERT(memcmp(a[i], b[i], sizeof(b[i])) == 0);
	}
	ASSERT_EQ(adma_barrier(e, -1), 0);

	/* Cancel across the boundary: a queued op behind a gate. */
	if (c->backend == ADMA_BACKEND_THREADS && c->workers == 1) {
		uint64_t slow = t_submit_custom(e, op_gate, &g, NULL, NULL);

		adma_prep_copy(&ops[0], a[0], b[0], 64);
		adma_op_set_flags(&ops[0], ADMA_OP_NO_INLINE);
		t = t_submit1(e, &ops[0]);
		ASSERT_UEQ(t, slow + 1);
		ASSERT_EQ(adma_cancel(e, t), 0);
		atomic_store(&g.open, true);
		ASSERT_EQ(t_drain(e), -ECANCELED);
		ASSERT_EQ(adma_wait(e, t, 0), -ECANCELED);
	}
	ASSERT_OK(adma_engine_destroy(&e));
}

static void test_tickets_end(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 64);
	static uint8_t a[8][64], b[8][64];
	struct adma_op ops[8];
	uint64_t tickets[8] = { 0 };

	adma__set_next_ticket(e, UINT64_MAX - 5);
	for (int i = 0; i < 8; i++)
		adma_prep_copy(&ops[i], a[i], b[i], 64);
	/* Five tickets are left (UINT64_MAX - 5 .. UINT64_MAX - 1): the batch is cut there. */
	ASSERT_EQ(adma_submit(e, ops, 8, tickets), 5);
	ASSERT_UEQ(tickets[4], UINT64_MAX - 1);
	ASSERT_UEQ(tickets[5], 0);
	ASSERT_ERR(adma_submit(e, ops + 5, 3, tickets + 5), -EOVERFLOW);
	ASSERT_ERR(adma_memcpy(e, a[0], b[0], 64, NULL, NULL), -EOVERFLOW);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT_EQ(adma_wait(e, UINT64_MAX - 1, 0), 0);
	ASSERT_ERR(adma_wait(e, UINT64_MAX, 0), -EINVAL);
	ASSERT_ERR(adma_cancel(e, UINT64_MAX), -EINVAL);
	ASSERT_UEQ(t_stats(e).submitted, 5);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* ---- many ops ---------------------------------------------------------------------------------- */

static void test_many_ops(void)
{
	const char *env = getenv("ADMA_TEST_OPS");
	uint64_t want = env ? strtoull(env, NULL, 0) : t_slow() ? 200000 : 20000000;
	struct adma_engine *e = NULL;
	static uint8_t a[32][64], b[32][64];
	struct adma_op ops[32];
	uint64_t tickets[32], next = 1, done = 0, t0 = t_now_ns();
	struct adma_stats st;
	unsigned spins = 0;

	ASSERT_OK(adma_engine_create(&e, NULL));
	for (int i = 0; i < 32; i++)
		adma_prep_copy(&ops[i], a[i], b[i], 64);
	while (done < want) {
		unsigned k = want - done < 32 ? (unsigned)(want - done) : 32;
		int rc = adma_submit(e, ops, k, tickets);

		if (rc == -EAGAIN) {
			t_backoff(&spins);
			continue;
		}
		ASSERT_GT(rc, 0);
		for (int i = 0; i < rc; i++)
			if (tickets[i] != next++)
				T_FAILED("ticket %" PRIu64 ", expected %" PRIu64, tickets[i],
					 next - 1);
		done += (unsigned)rc;
		spins = 0;
	}
	ASSERT_EQ(adma_barrier(e, -1), 0);
	ASSERT_OK(adma_stats(e, &st));
	ASSERT_UEQ(st.submitted, want);
	ASSERT_UEQ(st.completed, want);
	ASSERT_UEQ(st.failed, 0);
	ASSERT_UEQ(st.bytes, want * 64);
	printf("many ops: %" PRIu64 " ops on one engine in %.1f s (%.1f M ops/s)\n", want,
	       (double)(t_now_ns() - t0) / 1e9, (double)want * 1e3 / (double)(t_now_ns() - t0));
	ASSERT_OK(adma_engine_destroy(&e));
}

int main(void)
{
	static const struct t_config threads[] = {
		{ "threads-1", ADMA_BACKEND_THREADS, 1, 0 },
		{ "threads-2", ADMA_BACKEND_THREADS, 2, 0 },
		{ "threads-2-deferred", ADMA_BACKEND_THREADS, 2, ADMA_CFG_DEFER_CALLBACKS },
	};
	static const uint64_t starts[] = { 1, ((uint64_t)1 << 32) - 150, ((uint64_t)1 << 63) - 150,
					   UINT64_MAX - 400 };

	t_run_configs(threads, 3, test_fork);
	t_config_name = "default";
	test_exit_drains();
	t_run_configs(threads, 3, test_signals);
	FOR_EACH_CONFIG (c) {
		for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
			test_tickets_at(c, starts[i]);
		test_tickets_end(c);
	}
	t_config_name = "default";
	test_many_ops();
	return T_PASS;
}
