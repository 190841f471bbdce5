/* SPDX-License-Identifier: MIT */
/*
 * Engine creation and destruction: defaults (NULL and zeroed configs), adma_config_init(),
 * every invalid configuration with its errno and *out cleared, forward-compatible larger
 * config structs, worker and backlog counts as the stats report them, the tuning fields
 * (nt_threshold, split_size, inline_max, spin_ns) accepted at 0 (auto), ADMA_OFF and other
 * values on both backends, destroy not held back by polling workers, destroy's NULL cases, and
 * the library version.
 */
#include "helpers.h"

#include <sched.h>

/* A config for @backend/@workers with ADMA_CFG_QUIET so that rejected configs stay silent. */
static struct adma_config quiet_config(unsigned backend, unsigned workers)
{
	struct adma_config cfg;

	adma_config_init(&cfg);
	cfg.backend = backend;
	cfg.workers = workers;
	cfg.flags = ADMA_CFG_QUIET;
	return cfg;
}

/* One small copy through @e, completed and checked: the engine is usable. */
static void smoke_copy(struct adma_engine *e)
{
	uint8_t src[256], dst[256];
	uint64_t t = 0;
	struct adma_op op;

	t_fill_random(src, sizeof(src), 42);
	memset(dst, 0, sizeof(dst));
	adma_prep_copy(&op, dst, src, sizeof(src));
	ASSERT_EQ(adma_submit(e, &op, 1, &t), 1);
	ASSERT_GT(t, 0);
	ASSERT_EQ(adma_wait(e, t, -1), 0);
	ASSERT_EQ(t_drain(e), 0);
	ASSERT(memcmp(dst, src, sizeof(src)) == 0);
}

/* Creating with @cfg must fail with @err and leave *out NULL. */
static void expect_create_fails(const struct adma_config *cfg, int err, const char *what)
{
	struct adma_engine *e = (struct adma_engine *)&e; /* any non-NULL value */

	t_config_name = what;
	ASSERT_ERR(adma_engine_create(&e, cfg), err);
	ASSERT_PTR_EQ(e, NULL);
	ASSERT(adma_last_error() != NULL);
	ASSERT(adma_last_error()[0] != '\0');
}

/* The documented auto rule: the CPUs this process may run on, clamped to 1..16. */
static unsigned auto_workers(void)
{
	cpu_set_t set;
	long n;

	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	else
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > 16)
		n = 16;
	return (unsigned)n;
}

static void test_defaults(void)
{
	struct adma_engine *e = NULL;
	struct adma_config cfg;
	struct adma_stats st;

	/* cfg NULL: all defaults (threads backend, auto workers, default backlog). */
	t_config_name = "cfg NULL";
	ASSERT_OK(adma_engine_create(&e, NULL));
	ASSERT(e != NULL);
	st = t_stats(e);
	ASSERT_UEQ(st.backlog, ADMA_BACKLOG_DEFAULT);
	ASSERT_UEQ(st.workers, auto_workers());
	ASSERT_UEQ(st.submitted, 0);
	ASSERT_UEQ(st.completed, 0);
	ASSERT_UEQ(st.in_flight, 0);
	smoke_copy(e);
	ASSERT_OK(adma_engine_destroy(&e));
	ASSERT_PTR_EQ(e, NULL);

	/* A zeroed struct (size 0) also means all defaults, whatever else it holds. */
	t_config_name = "cfg zeroed";
	memset(&cfg, 0, sizeof(cfg));
	ASSERT_OK(adma_engine_create(&e, &cfg));
	ASSERT(e != NULL);
	st = t_stats(e);
	ASSERT_UEQ(st.backlog, ADMA_BACKLOG_DEFAULT);
	ASSERT_UEQ(st.workers, auto_workers());
	smoke_copy(e);
	ASSERT_OK(adma_engine_destroy(&e));
	ASSERT_PTR_EQ(e, NULL);

	/* adma_config_init() overwrites every field with its default. */
	t_config_name = "adma_config_init";
	memset(&cfg, 0xff, sizeof(cfg));
	adma_config_init(&cfg);
	ASSERT_UEQ(cfg.size, sizeof(struct adma_config));
	ASSERT(cfg.backend == ADMA_BACKEND_AUTO || cfg.backend == ADMA_BACKEND_THREADS);
	ASSERT(cfg.backlog == 0 || cfg.backlog == ADMA_BACKLOG_DEFAULT);
	ASSERT(cfg.workers <= ADMA_WORKERS_MAX);
	ASSERT_UEQ(cfg.flags, 0);
	ASSERT_UEQ(cfg.align, 0);
	for (size_t i = 0; i < sizeof(cfg.reserved) / sizeof(cfg.reserved[0]); i++)
		ASSERT_UEQ(cfg.reserved[i], 0);
	ASSERT_OK(adma_engine_create(&e, &cfg));
	ASSERT(e != NULL);
	st = t_stats(e);
	ASSERT_UEQ(st.backlog, ADMA_BACKLOG_DEFAULT);
	ASSERT_GE(st.workers, 1);
	smoke_copy(e);
	ASSERT_OK(adma_engine_destroy(&e));

	/* ADMA_BACKEND_AUTO resolves to the threads backend: workers >= 1. */
	t_config_name = "backend AUTO";
	cfg = quiet_config(ADMA_BACKEND_AUTO, 0);
	ASSERT_OK(adma_engine_create(&e, &cfg));
	st = t_stats(e);
	ASSERT_UEQ(st.workers, auto_workers());
	smoke_copy(e);
	ASSERT_OK(adma_engine_destroy(&e));
}

static void test_bad_configs(void)
{
	struct adma_config cfg;
	struct adma_engine *e = NULL;

	cfg = quiet_config(3, 1);
	expect_create_fails(&cfg, -EINVAL, "backend 3");
	cfg = quiet_config(1000, 1);
	expect_create_fails(&cfg, -EINVAL, "backend 1000");

	cfg = quiet_config(ADMA_BACKEND_THREADS, 1);
	cfg.align = 3;
	expect_create_fails(&cfg, -EINVAL, "align 3");
	cfg.align = 24;
	expect_create_fails(&cfg, -EINVAL, "align 24");
	cfg.align = ((size_t)1 << 12) + 1;
	expect_create_fails(&cfg, -EINVAL, "align 4097");
	cfg.align = SIZE_MAX;
	expect_create_fails(&cfg, -EINVAL, "align SIZE_MAX");

	for (unsigned bit = 24; bit < 32; bit++) {
		char name[64];

		cfg = quiet_config(ADMA_BACKEND_THREADS, 1);
		cfg.flags |= 1u << bit;
		snprintf(name, sizeof(name), "reserved flag bit %u", bit);
		expect_create_fails(&cfg, -EINVAL, name);
	}
	cfg = quiet_config(ADMA_BACKEND_THREADS, 1);
	cfg.flags |= 1u << 20;
	expect_create_fails(&cfg, -EINVAL, "undefined flag bit 20");
	cfg = quiet_config(ADMA_BACKEND_INLINE, 0);
	cfg.flags |= 1u << 20;
	expect_create_fails(&cfg, -EINVAL, "inline, undefined flag bit 20");

	for (size_t i = 0; i < sizeof(cfg.reserved) / sizeof(cfg.reserved[0]); i++) {
		char name[64];

		cfg = quiet_config(ADMA_BACKEND_THREADS, 1);
		cfg.reserved[i] = 1;
		snprintf(name, sizeof(name), "reserved[%zu] = 1", i);
		expect_create_fails(&cfg, -EINVAL, name);
		cfg.reserved[i] = UINT64_C(1) << 63;
		expect_create_fails(&cfg, -EINVAL, name);
	}

	cfg = quiet_config(ADMA_BACKEND_THREADS, 1);
	cfg.backlog = ADMA_BACKLOG_MAX + 1;
	expect_create_fails(&cfg, -EINVAL, "backlog MAX+1");
	cfg.backlog = UINT32_MAX;
	expect_create_fails(&cfg, -EINVAL, "backlog UINT_MAX");

	cfg = quiet_config(ADMA_BACKEND_THREADS, ADMA_WORKERS_MAX + 1);
	expect_create_fails(&cfg, -EINVAL, "workers MAX+1");
	cfg.workers = UINT32_MAX;
	expect_create_fails(&cfg, -EINVAL, "workers UINT_MAX");

	/* A size between 1 and the first published struct's size is too small to be a config. */
	const size_t small[] = { 1, 4, sizeof(size_t) };

	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		char name[64];

		cfg = quiet_config(ADMA_BACKEND_THREADS, 1);
		cfg.size = small[i];
		snprintf(name, sizeof(name), "cfg.size %zu", small[i]);
		expect_create_fails(&cfg, -EINVAL, name);
	}

	/* out NULL. */
	t_config_name = "out NULL";
	cfg = quiet_config(ADMA_BACKEND_THREADS, 1);
	ASSERT_ERR(adma_engine_create(NULL, &cfg), -EINVAL);
	ASSERT_ERR(adma_engine_create(NULL, NULL), -EINVAL);

	/* After all those failures, a good config still works (nothing was left half-made). */
	t_config_name = "good after bad";
	cfg = quiet_config(ADMA_BACKEND_THREADS, 2);
	ASSERT_OK(adma_engine_create(&e, &cfg));
	smoke_copy(e);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* A caller built against a later header passes a bigger struct: zero tail accepted, else not. */
static void test_larger_struct(void)
{
	const size_t extra = 64;
	const size_t total = sizeof(struct adma_config) + extra;
	unsigned char *buf = calloc(1, total);
	struct adma_config *cfg = (struct adma_config *)buf;
	struct adma_engine *e = NULL;

	ASSERT(buf != NULL);
	t_config_name = "larger struct, zero tail";
	adma_config_init(cfg);
	cfg->backend = ADMA_BACKEND_THREADS;
	cfg->workers = 2;
	cfg->flags = ADMA_CFG_QUIET;
	cfg->size = total;
	ASSERT_OK(adma_engine_create(&e, cfg));
	ASSERT(e != NULL);
	ASSERT_UEQ(t_stats(e).workers, 2);
	smoke_copy(e);
	ASSERT_OK(adma_engine_destroy(&e));

	const size_t bad_at[] = { sizeof(struct adma_config), sizeof(struct adma_config) + 7,
				  total - 1 };

	for (size_t i = 0; i < sizeof(bad_at) / sizeof(bad_at[0]); i++) {
		memset(buf + sizeof(struct adma_config), 0, extra);
		buf[bad_at[i]] = 0x01;
		expect_create_fails(cfg, -EINVAL, "larger struct, non-zero tail byte");
	}

	/* The same tail is not read when size says the struct ends earlier. */
	t_config_name = "tail beyond size ignored";
	cfg->size = sizeof(struct adma_config);
	ASSERT_OK(adma_engine_create(&e, cfg));
	ASSERT_OK(adma_engine_destroy(&e));
	free(buf);
}

static void test_workers_and_backlog(void)
{
	struct adma_config cfg;
	struct adma_engine *e = NULL;
	struct adma_stats st;
	const unsigned workers[] = { 1, 2, 3, 4, 7, ADMA_WORKERS_MAX };

	for (size_t i = 0; i < sizeof(workers) / sizeof(workers[0]); i++) {
		char name[64];

		if (t_slow() && workers[i] > 8)
			continue; /* hundreds of threads are slow under valgrind */
		snprintf(name, sizeof(name), "threads workers=%u", workers[i]);
		t_config_name = name;
		cfg = quiet_config(ADMA_BACKEND_THREADS, workers[i]);
		ASSERT_OK(adma_engine_create(&e, &cfg));
		st = t_stats(e);
		ASSERT_UEQ(st.workers, workers[i]);
		ASSERT_UEQ(st.backlog, ADMA_BACKLOG_DEFAULT);
		smoke_copy(e);
		ASSERT_OK(adma_engine_destroy(&e));
		ASSERT_PTR_EQ(e, NULL);
	}

	/* workers = 0: the auto rule, at least one. */
	t_config_name = "threads workers=0";
	cfg = quiet_config(ADMA_BACKEND_THREADS, 0);
	ASSERT_OK(adma_engine_create(&e, &cfg));
	st = t_stats(e);
	ASSERT_GE(st.workers, 1);
	ASSERT_LE(st.workers, 16);
	ASSERT_UEQ(st.workers, auto_workers());
	smoke_copy(e);
	ASSERT_OK(adma_engine_destroy(&e));

	/* The inline backend ignores workers: it has none. */
	const unsigned inline_workers[] = { 0, 1, 4 };

	for (size_t i = 0; i < sizeof(inline_workers) / sizeof(inline_workers[0]); i++) {
		t_config_name = "inline";
		cfg = quiet_config(ADMA_BACKEND_INLINE, inline_workers[i]);
		ASSERT_OK(adma_engine_create(&e, &cfg));
		ASSERT_UEQ(t_stats(e).workers, 0);
		smoke_copy(e);
		ASSERT_OK(adma_engine_destroy(&e));
	}

	/* The backlog reported is the backlog configured (0 = the default). */
	const unsigned backlogs[] = { 0, 1, 2, 7, 1000, 1024, 5000 };

	for (size_t b = 0; b < sizeof(backlogs) / sizeof(backlogs[0]); b++) {
		const unsigned backends[] = { ADMA_BACKEND_THREADS, ADMA_BACKEND_INLINE };

		for (size_t k = 0; k < 2; k++) {
			char name[64];

			snprintf(name, sizeof(name), "%s backlog=%u", k ? "inline" : "threads",
				 backlogs[b]);
			t_config_name = name;
			cfg = quiet_config(backends[k], k ? 0 : 2);
			cfg.backlog = backlogs[b];
			ASSERT_OK(adma_engine_create(&e, &cfg));
			st = t_stats(e);
			ASSERT_UEQ(st.backlog, backlogs[b] ? backlogs[b] : ADMA_BACKLOG_DEFAULT);
			smoke_copy(e);
			ASSERT_OK(adma_engine_destroy(&e));
		}
	}

	/* Valid alignments: 0, 1 and powers of two. */
	const size_t aligns[] = { 0, 1, 2, 8, 64, 4096 };

	for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		t_config_name = "valid align";
		cfg = quiet_config(ADMA_BACKEND_THREADS, 1);
		cfg.align = aligns[i];
		ASSERT_OK(adma_engine_create(&e, &cfg));
		ASSERT_OK(adma_engine_destroy(&e));
	}

	/* Every defined flag, together, is accepted. */
	t_config_name = "all defined flags";
	cfg = quiet_config(ADMA_BACKEND_THREADS, 2);
	cfg.flags |= ADMA_CFG_ORDERED | ADMA_CFG_DEFER_CALLBACKS | ADMA_CFG_BLOCK_WHEN_FULL;
	ASSERT_OK(adma_engine_create(&e, &cfg));
	smoke_copy(e);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* One copy and one fill big enough to be split (pieces of 4 KiB and up) and to take the
 * non-temporal path, and one small enough to run inline, all checked. */
static void smoke_sizes(struct adma_engine *e)
{
	const size_t sizes[] = { 100, 40000, (256u << 10) + 3 };
	const uint8_t pat[4] = { 1, 2, 3, 4 };
	uint8_t *src = malloc(sizes[2]), *dst = malloc(sizes[2]);
	struct adma_op op;
	uint64_t t;

	ASSERT(src && dst);
	t_fill_random(src, sizes[2], 5);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(dst, 0, sizes[2]);
		adma_prep_copy(&op, dst, src, sizes[i]);
		t = t_submit1(e, &op);
		ASSERT_EQ(adma_wait(e, t, -1), 0);
		ASSERT(memcmp(dst, src, sizes[i]) == 0);
		adma_prep_fill(&op, dst, sizes[i], pat, 4);
		t = t_submit1(e, &op);
		ASSERT_EQ(adma_wait(e, t, -1), 0);
		ASSERT_EQ(t_first_bad_fill(dst, sizes[i], pat, 4), sizes[i]);
	}
	ASSERT_EQ(t_drain(e), 0);
	free(src);
	free(dst);
}

/* The tuning fields take 0 (auto), ADMA_OFF and any other value, on both backends. */
static void test_tuning_fields(void)
{
	const size_t values[] = { 0, ADMA_OFF, 1, 100, 4095, 4096, 5000, 1u << 20, ADMA_OFF - 1 };
	static const struct {
		const char *name;
		size_t offset;
	} fields[] = {
		{ "nt_threshold", offsetof(struct adma_config, nt_threshold) },
		{ "split_size", offsetof(struct adma_config, split_size) },
		{ "inline_max", offsetof(struct adma_config, inline_max) },
		{ "spin_ns", offsetof(struct adma_config, spin_ns) },
	};
	struct adma_config cfg;
	struct adma_engine *e = NULL;

	/* adma_config_init() leaves them at 0: auto */
	memset(&cfg, 0xff, sizeof(cfg));
	adma_config_init(&cfg);
	t_config_name = "adma_config_init tuning fields";
	ASSERT_UEQ(cfg.nt_threshold, 0);
	ASSERT_UEQ(cfg.split_size, 0);
	ASSERT_UEQ(cfg.inline_max, 0);
	ASSERT_UEQ(cfg.spin_ns, 0);

	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
			for (unsigned k = 0; k < 2; k++) {
				char name[128];

				snprintf(name, sizeof(name), "%s %s = %zu",
					 k ? "inline" : "threads-2", fields[f].name, values[v]);
				t_config_name = name;
				cfg = quiet_config(k ? ADMA_BACKEND_INLINE : ADMA_BACKEND_THREADS,
						   k ? 0 : 2);
				memcpy((char *)&cfg + fields[f].offset, &values[v], sizeof(size_t));
				ASSERT_OK(adma_engine_create(&e, &cfg));
				smoke_sizes(e);
				ASSERT_OK(adma_engine_destroy(&e));
			}
		}
	}

	/* all four at once, and with ORDERED and deferred callbacks */
	t_config_name = "all tuning fields set";
	cfg = quiet_config(ADMA_BACKEND_THREADS, 3);
	cfg.nt_threshold = 4096;
	cfg.split_size = 4096;
	cfg.inline_max = 1000;
	cfg.spin_ns = 1000;
	cfg.flags |= ADMA_CFG_ORDERED | ADMA_CFG_DEFER_CALLBACKS;
	ASSERT_OK(adma_engine_create(&e, &cfg));
	smoke_sizes(e);
	ASSERT_OK(adma_engine_destroy(&e));
	t_config_name = "all tuning fields off";
	cfg = quiet_config(ADMA_BACKEND_THREADS, 2);
	cfg.nt_threshold = cfg.split_size = cfg.inline_max = cfg.spin_ns = ADMA_OFF;
	ASSERT_OK(adma_engine_create(&e, &cfg));
	smoke_sizes(e);
	ASSERT_UEQ(t_stats(e).inlined, 0);
	ASSERT_UEQ(t_stats(e).split, 0);
	ASSERT_OK(adma_engine_destroy(&e));
}

/* Workers that poll for work (spin_ns) still stop at destroy: a long polling time does not
 * hold destroy back. 30 s of polling; destroy must be done well before (10 s, valgrind 25 s). */
static void test_spin_destroy(void)
{
	const struct t_config c = { "threads-2 spin_ns 30 s, destroy", ADMA_BACKEND_THREADS, 2, 0 };
	const struct adma_config tune = { .spin_ns = 30 * (size_t)SEC };
	uint8_t src[64] = { 1 }, dst[64];
	struct adma_engine *e;
	struct adma_op op;
	uint64_t t0, t;

	t_config_name = c.name;
	e = t_engine_tuned(&c, 0, 0, &tune);
	adma_prep_copy(&op, dst, src, sizeof(src));
	adma_op_set_flags(&op, ADMA_OP_NO_INLINE); /* a worker runs it, then polls for more */
	t = t_submit1(e, &op);
	ASSERT_EQ(adma_wait(e, t, -1), 0);
	t_sleep_ms(10);
	t0 = t_now_ns();
	ASSERT_OK(adma_engine_destroy(&e));
	t = t_now_ns() - t0;
	if (t > (t_valgrind() ? 25 : 10) * (uint64_t)SEC)
		T_FAILED("destroy of an idle engine took %.1f s (spin_ns 30 s)", (double)t / SEC);
}

static void test_matrix(void)
{
	FOR_EACH_CONFIG (c) {
		struct adma_engine *e = t_engine(c, 0, 0);
		struct adma_stats st = t_stats(e);

		ASSERT_UEQ(st.workers, c->backend == ADMA_BACKEND_INLINE ? 0 : c->workers);
		ASSERT_UEQ(st.backlog, ADMA_BACKLOG_DEFAULT);
		ASSERT_UEQ(st.in_flight, 0);
		ASSERT_UEQ(st.pending, 0);
		smoke_copy(e);
		ASSERT_OK(adma_engine_destroy(&e));
		ASSERT_PTR_EQ(e, NULL);
		/* A second destroy through the cleared pointer is a no-op. */
		ASSERT_EQ(adma_engine_destroy(&e), 0);
	}
}

static void test_destroy_null(void)
{
	struct adma_engine *e = NULL;

	t_config_name = "destroy NULL";
	ASSERT_EQ(adma_engine_destroy(NULL), 0);
	ASSERT_EQ(adma_engine_destroy(&e), 0);
	ASSERT_PTR_EQ(e, NULL);
}

/* Many engines alive at once and created/destroyed in a loop: nothing leaks, nothing shared. */
static void test_many_engines(void)
{
	enum {
		N = 16
	};
	struct adma_engine *es[N];
	const int rounds = t_slow() ? 2 : 10;

	t_config_name = "many engines";
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < N; i++) {
			struct adma_config cfg =
				quiet_config(i % 2 ? ADMA_BACKEND_INLINE : ADMA_BACKEND_THREADS,
					     1 + i % 3);

			ASSERT_OK(adma_engine_create(&es[i], &cfg));
		}
		for (int i = 0; i < N; i++)
			smoke_copy(es[i]);
		for (int i = 0; i < N; i++) {
			ASSERT_OK(adma_engine_destroy(&es[i]));
			ASSERT_PTR_EQ(es[i], NULL);
		}
	}
}

static void test_version(void)
{
	char want[64];
	const char *s = adma_version_string();

	t_config_name = "version";
	ASSERT_UEQ(adma_version(), ADMA_VERSION);
	ASSERT_UEQ(ADMA_VERSION,
		   ADMA_VERSION_MAJOR * 10000 + ADMA_VERSION_MINOR * 100 + ADMA_VERSION_PATCH);
	ASSERT(s != NULL);
	snprintf(want, sizeof(want), "%d.%d.%d", ADMA_VERSION_MAJOR, ADMA_VERSION_MINOR,
		 ADMA_VERSION_PATCH);
	if (strcmp(s, want) != 0)
		T_FAILED("adma_version_string() is \"%s\", expected \"%s\"", s, want);
	ASSERT_PTR_EQ(adma_version_string(), s); /* static storage */
}

int main(void)
{
	test_version();
	test_destroy_null();
	test_defaults();
	test_bad_configs();
	test_larger_struct();
	test_workers_and_backlog();
	test_tuning_fields();
	test_spin_destroy();
	test_matrix();
	test_many_engines();
	return T_PASS;
}
