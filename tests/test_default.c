/* SPDX-License-Identifier: MIT */
/*
 * The process-wide default engine: 8 threads racing on first use all get the same non-NULL
 * engine; copies through it work (from several threads at once); it is drained at exit (a
 * forked child leaves a slow op in flight and returns from main: the op's callback still runs).
 * The program exits WITHOUT destroying it: the library does that at exit, and valgrind checks
 * that nothing leaks. Calling adma_engine_destroy() on it is not something users do: untested.
 * This test does not loop over the configuration matrix: the default engine has one fixed
 * configuration (threads backend, all defaults).
 */
#include "helpers.h"

#include <fcntl.h>
#include <sys/wait.h>

enum {
	RACERS = 8
};

static pthread_barrier_t start;
static struct adma_engine *seen[RACERS];

static void *racer(void *arg)
{
	size_t i = (size_t)(uintptr_t)arg;

	pthread_barrier_wait(&start);
	seen[i] = adma_default();
	return NULL;
}

/* ---- the child: an op still running when main returns ------------------------------------ */

static int report_fd = -1;

static long slow_op(void *dst, const void *src, void *arg)
{
	(void)src;
	(void)arg;
	t_sleep_ms(200);
	memset(dst, 0x42, 16);
	return 16;
}

static void report_cb(void *arg, const struct adma_result *res)
{
	const uint8_t *dst = arg;
	char msg = res->status == 0 && res->bytes == 16 && dst[15] == 0x42 ? 'D' : 'X';

	if (write(report_fd, &msg, 1) != 1)
		_exit(3);
}

static int child_main(void)
{
	static uint8_t dst[16];
	struct adma_engine *e = adma_default();
	struct adma_op op;

	if (e == NULL)
		return 2;
	adma_prep_custom(&op, slow_op, dst, NULL, NULL);
	adma_op_set_callback(&op, report_cb, dst);
	if (adma_submit(e, &op, 1, NULL) != 1)
		return 2;
	return 0; /* exit() drains the default engine: the callback must still run */
}

static void test_drained_at_exit(void)
{
	int fds[2];
	pid_t pid;
	int status = 0;
	char buf[4];
	ssize_t got;

	t_config_name = "default engine drained at exit";
	fflush(NULL);
	ASSERT_EQ(pipe(fds), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		report_fd = fds[1];
		exit(child_main());
	}
	close(fds[1]);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		T_FAILED("the child ended with status 0x%x", status);
	got = read(fds[0], buf, sizeof(buf));
	close(fds[0]);
	if (got != 1 || buf[0] != 'D')
		T_FAILED("the op in flight at exit %s (read %zd)",
			 got == 0 ? "never completed: it was dropped" : "completed wrongly", got);
}

/* ---- the parent ------------------------------------------------------------------------- */

static atomic_int copies_done;

static void count_cb(void *arg, const struct adma_result *res)
{
	(void)arg;
	ASSERT_EQ(res->status, 0);
	atomic_fetch_add(&copies_done, 1);
}

static void *copier(void *arg)
{
	struct adma_engine *e = arg;
	uint8_t src[5000], dst[5000];
	struct adma_op op;
	uint64_t t = 0;

	t_fill_random(src, sizeof(src), (uint64_t)(uintptr_t)&src);
	for (int i = 0; i < 20; i++) {
		memset(dst, 0, sizeof(dst));
		adma_prep_copy(&op, dst, src, sizeof(src) - (size_t)i);
		adma_op_set_callback(&op, count_cb, NULL);
		ASSERT_EQ(adma_submit(e, &op, 1, &t), 1);
		ASSERT_EQ(adma_wait(e, t, -1), 0);
		ASSERT(memcmp(dst, src, sizeof(src) - (size_t)i) == 0);
		if (i > 0) /* the first byte past the copy is untouched */
			ASSERT_EQ(dst[sizeof(src) - (size_t)i], 0);
	}
	return NULL;
}

int main(void)
{
	pthread_t th[RACERS];
	struct adma_engine *e;
	struct adma_stats st;

	/* First, before this process has a default engine or any thread. */
	test_drained_at_exit();

	t_config_name = "default engine race";
	ASSERT_EQ(pthread_barrier_init(&start, NULL, RACERS), 0);
	for (size_t i = 0; i < RACERS; i++)
		ASSERT_EQ(pthread_create(&th[i], NULL, racer, (void *)(uintptr_t)i), 0);
	for (size_t i = 0; i < RACERS; i++)
		ASSERT_EQ(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&start);
	e = seen[0];
	ASSERT(e != NULL);
	for (size_t i = 1; i < RACERS; i++)
		ASSERT_PTR_EQ(seen[i], e);
	ASSERT_PTR_EQ(adma_default(), e);

	/* It is a threads engine with the defaults. */
	ASSERT_OK(adma_stats(e, &st));
	ASSERT_GE(st.workers, 1);
	ASSERT_UEQ(st.backlog, ADMA_BACKLOG_DEFAULT);

	/* A copy through it works: adma_memcpy, then a barrier. */
	t_config_name = "default engine copy";
	{
		uint8_t src[4096], dst[4096];

		t_fill_random(src, sizeof(src), 9);
		memset(dst, 0, sizeof(dst));
		ASSERT_EQ(adma_memcpy(adma_default(), dst, src, sizeof(src), count_cb, NULL), 0);
		ASSERT_EQ(adma_barrier(adma_default(), -1), 0);
		/* Callbacks run on workers here: complete means the callback has returned. */
		ASSERT_EQ(atomic_load(&copies_done), 1);
		ASSERT(memcmp(dst, src, sizeof(src)) == 0);
	}

	/* From several threads at once. */
	for (size_t i = 0; i < 4; i++)
		ASSERT_EQ(pthread_create(&th[i], NULL, copier, e), 0);
	for (size_t i = 0; i < 4; i++)
		ASSERT_EQ(pthread_join(th[i], NULL), 0);
	ASSERT_EQ(atomic_load(&copies_done), 1 + 4 * 20);

	/* Leave one op in flight: the at-exit drain must finish it without a leak or a crash. */
	static uint8_t tail_src[1 << 16], tail_dst[1 << 16];

	ASSERT_EQ(adma_memcpy(e, tail_dst, tail_src, sizeof(tail_dst), NULL, NULL), 0);
	return T_PASS; /* without adma_engine_destroy: the library destroys it at exit */
}
