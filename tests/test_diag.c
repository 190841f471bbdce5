/* SPDX-License-Identifier: MIT */
/*
 * Diagnostics: adma_strerror() for every errno the library returns, positive values and unknown
 * ones (never NULL, distinct messages); adma_stats() after a known workload under every
 * configuration (submitted, completed, failed, bytes, inlined, in_flight, pending, cancelled)
 * and backlog_peak/in_flight while gate operators hold the workers; adma_dump() to a file and
 * to stderr, giving the tuning fields (inline_max, nt_threshold, split_size as rounded up,
 * spin_ns, set and automatic); adma_last_error() is "" in a thread that never failed.
 */
#include "helpers.h"

static void test_strerror(void)
{
	const int errs[] = { -EINVAL, -EAGAIN,	-EDEADLK, -ETIMEDOUT, -ECANCELED, -EBUSY,
			     -ENOMEM, -ENOTSUP, -EMFILE,  -ENFILE,    -EIO };
	const size_t n = sizeof(errs) / sizeof(errs[0]);
	const char *ok;

	t_config_name = "strerror";
	ok = adma_strerror(0);
	ASSERT(ok != NULL && ok[0] != '\0');
	for (size_t i = 0; i < n; i++) {
		const char *m = adma_strerror(errs[i]);
		const char *p = adma_strerror(-errs[i]);

		if (m == NULL || m[0] == '\0')
			T_FAILED("adma_strerror(%d) is empty", errs[i]);
		if (p == NULL || p[0] == '\0')
			T_FAILED("adma_strerror(%d) is empty", -errs[i]);
		if (strcmp(m, ok) == 0)
			T_FAILED("adma_strerror(%d) is the success message \"%s\"", errs[i], m);
		/* Static: the same text every time. */
		ASSERT(strcmp(adma_strerror(errs[i]), m) == 0);
	}
	/* Distinct errnos get distinct messages (only those the library itself returns). */
	for (size_t i = 0; i < 9; i++)
		for (size_t k = i + 1; k < 9; k++)
			if (strcmp(adma_strerror(errs[i]), adma_strerror(errs[k])) == 0)
				T_FAILED("adma_strerror(%d) == adma_strerror(%d): \"%s\"", errs[i],
					 errs[k], adma_strerror(errs[i]));
	/* Unknown values: still a string, never NULL. */
	const int unknown[] = { -99999, 99999, INT32_MIN, INT32_MAX, -4095 };

	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		ASSERT(adma_strerror(unknown[i]) != NULL);
}

static long op_five(void *dst, const void *src, void *arg)
{
	(void)src;
	(void)arg;
	memset(dst, 1, 5);
	return 5;
}

/* A known workload: its counters exactly. */
static void test_stats(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	struct adma_stats st = t_stats(e);
	uint8_t src[4096], dst[8192];
	const uint8_t pat[2] = { 1, 2 };
	struct adma_sge sg[2];
	struct adma_op ops[8];
	struct t_rec r = { 0 };
	uint64_t t[8];

	/* A fresh engine counts nothing. */
	ASSERT_UEQ(st.submitted, 0);
	ASSERT_UEQ(st.completed, 0);
	ASSERT_UEQ(st.failed, 0);
	ASSERT_UEQ(st.bytes, 0);
	ASSERT_UEQ(st.inlined, 0);
	ASSERT_UEQ(st.split, 0);
	ASSERT_UEQ(st.backlog_peak, 0);
	ASSERT_UEQ(st.cancelled, 0);
	ASSERT_UEQ(st.in_flight, 0);
	ASSERT_UEQ(st.pending, 0);

	t_fill_random(src, sizeof(src), 1);
	sg[0] = (struct adma_sge){ dst + 4096, src, 10 };
	sg[1] = (struct adma_sge){ dst + 5000, src + 100, 20 };
	adma_prep_copy(&ops[0], dst, src, 1000);
	adma_prep_copy(&ops[1], dst + 1000, src, 0);
	adma_prep_fill(&ops[2], dst + 2000, 300, pat, 2);
	adma_prep_copy_sg(&ops[3], sg, 2);
	adma_prep_custom(&ops[4], op_five, dst + 3000, NULL, NULL);
	adma_prep_custom(&ops[5], t_op_eio, NULL, NULL, NULL);
	adma_op_set_callback(&ops[5], t_rec_cb, &r);
	adma_prep_copy(&ops[6], dst + 6000, src, 2000);
	ASSERT_EQ(adma_submit(e, ops, 7, t), 7);
	ASSERT_EQ(adma_wait(e, t[5], -1), -EIO);
	ASSERT_EQ(t_drain(e), -EIO);
	ASSERT_EQ(atomic_load(&r.calls), 1);
	ASSERT_EQ(r.status, -EIO);

	st = t_stats(e);
	ASSERT_UEQ(st.submitted, 7);
	ASSERT_UEQ(st.completed, 7);
	ASSERT_UEQ(st.failed, 1);
	ASSERT_UEQ(st.bytes, 1000 + 0 + 300 + 30 + 5 + 0 + 2000);
	ASSERT_UEQ(st.cancelled, 0);
	ASSERT_UEQ(st.in_flight, 0);
	ASSERT_UEQ(st.pending, 0);
	ASSERT_GE(st.backlog_peak, 1);
	ASSERT_LE(st.backlog_peak, 7);
	if (c->backend == ADMA_BACKEND_INLINE)
		ASSERT_UEQ(st.inlined, 7); /* every op runs in the submitting thread */
	else
		ASSERT_LE(st.inlined, 7);
	ASSERT_LE(st.split, 7);
	ASSERT_UEQ(st.workers, c->backend == ADMA_BACKEND_INLINE ? 0 : c->workers);
	ASSERT_UEQ(st.backlog, ADMA_BACKLOG_DEFAULT);

	/* Rejected submits count nowhere. */
	adma_prep_copy(&ops[0], dst, dst, 10);
	ASSERT_ERR(adma_submit(e, ops, 1, NULL), -EINVAL);
	ASSERT_UEQ(t_stats(e).submitted, 7);

	/* Deferred engines: results wait in "pending" until adma_poll(). */
	if (t_deferred(c)) {
		adma_prep_copy(&ops[0], dst, src, 100);
		adma_prep_copy(&ops[1], dst + 100, src, 100);
		ASSERT_EQ(adma_submit(e, ops, 2, t), 2);
		ASSERT_EQ(adma_wait(e, t[0], -1), 0);
		ASSERT_EQ(adma_wait(e, t[1], -1), 0);
		st = t_stats(e);
		ASSERT_UEQ(st.completed, 9);
		ASSERT_UEQ(st.pending, 2);
		ASSERT_EQ(t_drain(e), 0);
		ASSERT_UEQ(t_stats(e).pending, 0);
	}
	ASSERT_OK(adma_engine_destroy(&e));
}

/*
 * backlog_peak and in_flight while gate operators hold every worker: one gate per worker plus
 * 10 copies are all in flight at once. Threads backend only: on the inline backend a gate
 * would block adma_submit() forever.
 */
static void test_peak(const struct t_config *c)
{
	const unsigned gates = c->workers;
	struct adma_engine *e = t_engine(c, 0, 0);
	struct t_gate gate;
	struct adma_op op;
	uint8_t src[10][64], dst[10][64];
	struct adma_stats st;

	atomic_store(&gate.open, 0);
	atomic_store(&gate.entered, 0);
	for (unsigned i = 0; i < gates; i++) {
		adma_prep_custom(&op, t_gate_op, NULL, NULL, &gate);
		ASSERT_EQ(adma_submit(e, &op, 1, NULL), 1);
	}
	t_gate_wait_entered(&gate, 1);
	for (int i = 0; i < 10; i++) {
		t_fill_random(src[i], 64, (uint64_t)i + 1);
		adma_prep_copy(&op, dst[i], src[i], 64);
		ASSERT_EQ(adma_submit(e, &op, 1, NULL), 1);
	}
	st = t_stats(e);
	ASSERT_UEQ(st.submitted, gates + 10);
	/* An engine may run a small op in the submitting thread: those are no longer in flight.
	 * Every other op is held behind the gates. */
	ASSERT_UEQ(st.completed, st.inlined);
	ASSERT_UEQ(st.in_flight, gates + 10 - st.inlined);
	ASSERT_GE(st.backlog_peak, gates + 10 - st.inlined);
	atomic_store(&gate.open, 1);
	ASSERT_EQ(t_drain(e), 0);
	st = t_stats(e);
	ASSERT_UEQ(st.in_flight, 0);
	ASSERT_UEQ(st.completed, gates + 10);
	ASSERT_GE(st.backlog_peak, gates + 10 - st.inlined);
	ASSERT_LE(st.backlog_peak, gates + 10);
	ASSERT_UEQ(st.cancelled, 0);
	ASSERT_UEQ(st.failed, 0);
	for (int i = 0; i < 10; i++)
		ASSERT(memcmp(dst[i], src[i], 64) == 0);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* Reads the whole of @f into a malloc'd NUL-terminated string. */
static char *slurp(FILE *f)
{
	long len;
	char *s;

	ASSERT_EQ(fflush(f), 0);
	ASSERT_EQ(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	ASSERT_GE(len, 0);
	rewind(f);
	s = malloc((size_t)len + 1);
	ASSERT(s != NULL);
	ASSERT_UEQ(fread(s, 1, (size_t)len, f), (uint64_t)len);
	s[len] = '\0';
	return s;
}

/* True when some line of @s holds @word and @n as a whole number. */
static bool mentions(const char *s, const char *word, uint64_t n)
{
	char num[24];
	const char *line = s;

	snprintf(num, sizeof(num), "%" PRIu64, n);
	while (*line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char *l = strndup(line, len);
		bool hit = false;

		ASSERT(l != NULL);
		if (strstr(l, word)) {
			for (const char *p = strstr(l, num); p; p = strstr(p + 1, num)) {
				bool left = p == l || !(p[-1] >= '0' && p[-1] <= '9');
				bool right = !(p[strlen(num)] >= '0' && p[strlen(num)] <= '9');

				if (left && right) {
					hit = true;
					break;
				}
			}
		}
		free(l);
		if (hit)
			return true;
		if (!end)
			break;
		line = end + 1;
	}
	return false;
}

/* True when some line of @s holds the word "worker" and @n as a whole number. */
static bool mentions_workers(const char *s, unsigned n)
{
	return mentions(s, "worker", n);
}

/* The tuning fields show in the dump of a threads engine: set ones (split_size as rounded up)
 * and the automatic values. */
static void test_dump_tuning(void)
{
	const struct t_config c = { "dump tuning, threads-2", ADMA_BACKEND_THREADS, 2, 0 };
	const struct adma_config tune = {
		.nt_threshold = 12345, .split_size = 5000, .inline_max = 333, .spin_ns = 777777
	};
	struct adma_engine *e;
	FILE *f;
	char *s;

	t_config_name = c.name;
	e = t_engine_tuned(&c, 0, 0, &tune);
	ASSERT((f = tmpfile()) != NULL);
	adma_dump(e, f);
	s = slurp(f);
	if (!mentions(s, "inline up to", 333))
		T_FAILED("adma_dump does not give \"inline up to\" 333 bytes:\n%s", s);
	if (!mentions(s, "non-temporal", 12345))
		T_FAILED("adma_dump does not give the non-temporal threshold 12345:\n%s", s);
	if (!mentions(s, "", 8192))
		T_FAILED("adma_dump does not give the split size 5000 rounded up to 8192:\n%s", s);
	if (!mentions(s, "", 777777))
		T_FAILED("adma_dump does not give the polling time 777777 ns:\n%s", s);
	free(s);
	fclose(f);
	ASSERT_OK(adma_engine_destroy(&e));

	t_config_name = "dump tuning, threads-2, auto";
	e = t_engine(&c, 0, 0);
	ASSERT((f = tmpfile()) != NULL);
	adma_dump(e, f);
	s = slurp(f);
	if (!mentions(s, "inline up to", 16384))
		T_FAILED("adma_dump does not give the automatic inline_max 16384:\n%s", s);
	if (!mentions(s, "", 1u << 20))
		T_FAILED("adma_dump does not give the automatic split size 1048576:\n%s", s);
	if (!mentions(s, "", 50000))
		T_FAILED("adma_dump does not give the automatic polling time 50000 ns:\n%s", s);
	free(s);
	fclose(f);
	ASSERT_OK(adma_engine_destroy(&e));
}

static void test_dump(const struct t_config *c)
{
	struct adma_engine *e = t_engine(c, 0, 0);
	const char *backend = c->backend == ADMA_BACKEND_INLINE ? "inline" : "threads";
	uint8_t src[100], dst[100];
	FILE *f = tmpfile();
	char *s;

	ASSERT(f != NULL);
	memset(src, 3, sizeof(src));
	ASSERT_EQ(adma_memcpy(e, dst, src, sizeof(src), NULL, NULL), 0);
	ASSERT_EQ(t_drain(e), 0);
	adma_dump(e, f);
	s = slurp(f);
	if (strstr(s, backend) == NULL)
		T_FAILED("adma_dump does not name the backend \"%s\":\n%s", backend, s);
	if (strstr(s, "backlog") == NULL)
		T_FAILED("adma_dump does not mention the backlog:\n%s", s);
	if (c->backend != ADMA_BACKEND_INLINE && !mentions_workers(s, c->workers))
		T_FAILED("adma_dump does not give the worker count %u:\n%s", c->workers, s);
	free(s);
	fclose(f);

	/* NULL: to stderr, and it must not crash. */
	adma_dump(e, NULL);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* An engine with a distinctive worker count, mid-flight (gates held): the dump still works. */
static void test_dump_busy(void)
{
	struct adma_config cfg;
	struct adma_engine *e = NULL;
	struct t_gate gate;
	struct adma_op op;
	FILE *f = tmpfile();
	char *s;

	t_config_name = "dump busy, threads-3";
	ASSERT(f != NULL);
	adma_config_init(&cfg);
	cfg.backend = ADMA_BACKEND_THREADS;
	cfg.workers = 3;
	cfg.backlog = 777;
	cfg.flags = ADMA_CFG_QUIET;
	ASSERT_OK(adma_engine_create(&e, &cfg));
	atomic_store(&gate.open, 0);
	atomic_store(&gate.entered, 0);
	for (int i = 0; i < 5; i++) {
		adma_prep_custom(&op, t_gate_op, NULL, NULL, &gate);
		ASSERT_EQ(adma_submit(e, &op, 1, NULL), 1);
	}
	t_gate_wait_entered(&gate, 3);
	adma_dump(e, f);
	atomic_store(&gate.open, 1);
	ASSERT_EQ(t_drain(e), 0);
	s = slurp(f);
	if (!mentions_workers(s, 3))
		T_FAILED("adma_dump does not give the worker count 3:\n%s", s);
	if (strstr(s, "777") == NULL)
		T_FAILED("adma_dump does not give the backlog 777:\n%s", s);
	free(s);
	fclose(f);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* The message is thread-local: read it in the thread itself. */
static void *fresh_thread(void *arg)
{
	int *verdict = arg;
	const char *m = adma_last_error();

	*verdict = m == NULL ? 1 : m[0] != '\0' ? 2 : 0;
	return NULL;
}

static void test_last_error_fresh(void)
{
	pthread_t th;
	int verdict = -1;

	t_config_name = "last_error fresh thread";
	ASSERT_ERR(adma_stats(NULL, NULL), -EINVAL); /* a failure in this thread, not that one */
	ASSERT_EQ(pthread_create(&th, NULL, fresh_thread, &verdict), 0);
	ASSERT_EQ(pthread_join(th, NULL), 0);
	if (verdict != 0)
		T_FAILED("adma_last_error() in a thread that never failed is %s, expected \"\"",
			 verdict == 1 ? "NULL" : "not empty");
}

int main(void)
{
	test_strerror();
	test_last_error_fresh();
	FOR_EACH_CONFIG (c) {
		test_stats(c);
		test_dump(c);
		if (c->backend != ADMA_BACKEND_INLINE)
			test_peak(c);
	}
	test_dump_busy();
	test_dump_tuning();
	return T_PASS;
}
