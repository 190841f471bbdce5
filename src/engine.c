/* SPDX-License-Identifier: MIT */
/* Engine creation and destruction, configuration, the default engine, stats and dump. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "annotate.h"
#include "backend.h"

#define CFG_FLAGS_KNOWN \
	(ADMA_CFG_ORDERED | ADMA_CFG_DEFER_CALLBACKS | ADMA_CFG_BLOCK_WHEN_FULL | ADMA_CFG_QUIET)
/* The ticket-to-slot hints cover at least this many recent tickets. */
#define WHERE_MIN 4096u
#define AUTO_WORKERS_MAX 16u
#define AUTO_SPLIT (1u << 20)
#define AUTO_INLINE_MAX (16u << 10)
#define AUTO_SPIN_NS 50000u
#define PAGE 4096u

unsigned adma_version(void)
{
	return ADMA_VERSION;
}

#define STR_(x) #x
#define STR(x) STR_(x)

const char *adma_version_string(void)
{
	return STR(ADMA_VERSION_MAJOR) "." STR(ADMA_VERSION_MINOR) "." STR(ADMA_VERSION_PATCH);
}

void adma_config_init(struct adma_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = sizeof(*cfg);
	cfg->backend = ADMA_BACKEND_AUTO;
	cfg->backlog = ADMA_BACKLOG_DEFAULT;
}

/* Default worker count: the CPUs this process may run on, 1..AUTO_WORKERS_MAX. */
static unsigned auto_workers(void)
{
	cpu_set_t set;
	long n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= 0)
		n = 1;
	return n > (long)AUTO_WORKERS_MAX ? AUTO_WORKERS_MAX : (unsigned)n;
}

static void noop_slots(struct adma_engine *e, struct adma__slot **s, unsigned n)
{
}

static int noop_start(struct adma_engine *e)
{
	return 0;
}

static void noop_stop(struct adma_engine *e)
{
}

static void noop_dump(struct adma_engine *e, FILE *out)
{
}

/* Copies the backend's table and fills its empty slots, so the hot path never tests for NULL. */
static void fill_backend(struct adma__backend *be, const struct adma__backend *from)
{
	*be = *from;
	if (!be->start)
		be->start = noop_start;
	if (!be->stop)
		be->stop = noop_stop;
	if (!be->enqueue)
		be->enqueue = noop_slots;
	if (!be->run)
		be->run = noop_slots;
	if (!be->dump)
		be->dump = noop_dump;
	if (!be->forget)
		be->forget = noop_stop;
}

/* Reads the user's config of any size into a full one. @return 0 or -EINVAL. */
static int read_config(struct adma_config *c, const struct adma_config *user)
{
	adma_config_init(c);
	if (!user || !user->size)
		return 0;
	if (user->size < sizeof(*c))
		return adma__fail(NULL, -EINVAL,
				  "adma_engine_create: config size %zu is smaller than %zu; call "
				  "adma_config_init()", user->size, sizeof(*c));
	/* Bytes of a newer, larger struct that this library does not know must be zero. */
	for (size_t i = sizeof(*c); i < user->size; i++)
		if (((const unsigned char *)user)[i])
			return adma__fail(NULL, -EINVAL,
					  "adma_engine_create: config byte %zu is beyond what this "
					  "version knows and is not zero", i);
	memcpy(c, user, sizeof(*c));
	c->size = sizeof(*c);
	return 0;
}

/* Rejections of a config that asks for quiet are reported through this engine-less stand-in. */
static const struct adma_engine quiet = { .flags = ADMA_CFG_QUIET };

static int check_config(const struct adma_config *c)
{
	const struct adma_engine *who = c->flags & ADMA_CFG_QUIET ? &quiet : NULL;
	const char *fn = "adma_engine_create";

	if (c->backend > ADMA_BACKEND_INLINE)
		return adma__fail(who, -EINVAL, "%s: unknown backend %u", fn, c->backend);
	if (c->flags & ~CFG_FLAGS_KNOWN)
		return adma__fail(who, -EINVAL, "%s: unknown flag bits 0x%x", fn,
				  c->flags & ~CFG_FLAGS_KNOWN);
	if (c->align & (c->align - 1))
		return adma__fail(who, -EINVAL, "%s: align %zu is not a power of two", fn, c->align);
	if (c->backlog > ADMA_BACKLOG_MAX)
		return adma__fail(who, -EINVAL, "%s: backlog %u is above %u", fn, c->backlog,
				  ADMA_BACKLOG_MAX);
	if (c->workers > ADMA_WORKERS_MAX)
		return adma__fail(who, -EINVAL, "%s: %u workers is above %u", fn, c->workers,
				  ADMA_WORKERS_MAX);
	for (size_t i = 0; i < sizeof(c->reserved) / sizeof(c->reserved[0]); i++)
		if (c->reserved[i])
			return adma__fail(who, -EINVAL, "%s: reserved[%zu] is not zero", fn, i);
	return 0;
}

/* The documented automatic values of the tuning fields; internally "off" is SIZE_MAX for
 * thresholds and 0 for amounts. */
static void tune(struct adma_engine *e, const struct adma_config *c)
{
	const struct adma__cpu *cpu = adma__cpu();
	size_t llc = cpu->l3 ? cpu->l3 : cpu->l2 ? 4 * cpu->l2 : 8u << 20;

	e->nt_threshold = c->nt_threshold ? c->nt_threshold : llc / 2;
	e->split_size = c->split_size == ADMA_OFF ? SIZE_MAX :
			c->split_size ? (c->split_size + PAGE - 1) / PAGE * PAGE : AUTO_SPLIT;
	if (!e->split_size)
		e->split_size = SIZE_MAX; /* rounding wrapped: as good as never */
	e->inline_max = c->inline_max == ADMA_OFF ? 0 : c->inline_max ? c->inline_max : AUTO_INLINE_MAX;
	e->spin_ns = c->spin_ns == ADMA_OFF ? 0 : c->spin_ns ? c->spin_ns : AUTO_SPIN_NS;
	if (e->backend == ADMA_BACKEND_INLINE)
		e->inline_max = 0; /* it runs everything in the submitting thread its own way */
}

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static struct adma_engine *default_engine;

atomic_uint adma__forks;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* In a fork's child (its only thread, before anything else runs there): engines made before
 * now become foreign, the child's copy of the parent's default engine is freed (the
 * destroy of a foreign engine takes no lock: glibc has made malloc usable again by then), and
 * adma_default() makes the child a default engine of its own. */
static void after_fork_child(void)
{
	atomic_fetch_add_explicit(&adma__forks, 1, memory_order_relaxed);
	adma_engine_destroy(&default_engine);
	default_once = (pthread_once_t)PTHREAD_ONCE_INIT;
}

static void watch_forks(void)
{
	pthread_atfork(NULL, NULL, after_fork_child);
}

/* The memory of an engine; its synchronisation objects are the caller's business. */
static void free_memory(struct adma_engine *e)
{
	if (e->efd >= 0)
		close(e->efd);
	free(e->pend);
	free(e->fail);
	free(e->where);
	free(e->slots);
	free(e->plans);
	free(e);
}

static void free_engine(struct adma_engine *e)
{
	pthread_cond_destroy(&e->work);
	pthread_cond_destroy(&e->room);
	pthread_cond_destroy(&e->done);
	pthread_condattr_destroy(&e->cond_attr);
	pthread_mutex_destroy(&e->exec_lock);
	pthread_mutex_destroy(&e->poll_lock);
	pthread_mutex_destroy(&e->lock);
	free_memory(e);
}

/* Mutexes and condition variables; waits on the conditions use CLOCK_MONOTONIC deadlines. */
static void init_sync(struct adma_engine *e)
{
	pthread_mutexattr_t ma;

	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->poll_lock, NULL);
	/* Recursive: an inline operator may submit to its own engine. */
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&e->exec_lock, &ma);
	pthread_mutexattr_destroy(&ma);
	pthread_condattr_init(&e->cond_attr);
	pthread_condattr_setclock(&e->cond_attr, CLOCK_MONOTONIC);
	pthread_cond_init(&e->done, &e->cond_attr);
	pthread_cond_init(&e->room, &e->cond_attr);
	pthread_cond_init(&e->work, &e->cond_attr);
}

int adma_engine_create(struct adma_engine **out, const struct adma_config *cfg)
{
	struct adma_config c;
	struct adma_engine *e;
	const struct adma_engine *who;
	size_t nwhere = WHERE_MIN;
	int rc;

	if (!out)
		return adma__fail(NULL, -EINVAL, "adma_engine_create: out is NULL");
	*out = NULL;
	if ((rc = read_config(&c, cfg)) || (rc = check_config(&c)))
		return rc;
	who = c.flags & ADMA_CFG_QUIET ? &quiet : NULL;

	pthread_once(&atfork_once, watch_forks);
	e = adma__calloc(1, sizeof(*e));
	if (!e)
		return adma__fail(who, -ENOMEM, "adma_engine_create: out of memory");
	e->forks = atomic_load_explicit(&adma__forks, memory_order_relaxed);
	e->efd = -1;
	init_sync(e);
	e->backend = c.backend == ADMA_BACKEND_AUTO ? ADMA_BACKEND_THREADS : c.backend;
	e->backlog = c.backlog ? c.backlog : ADMA_BACKLOG_DEFAULT;
	e->flags = c.flags;
	e->align = c.align;
	if (e->backend == ADMA_BACKEND_INLINE) {
		e->workers = 0;
		e->deferred = true;
		fill_backend(&e->be, &adma__inline_backend);
	} else {
		e->workers = c.workers ? c.workers : auto_workers();
		e->deferred = c.flags & ADMA_CFG_DEFER_CALLBACKS;
		fill_backend(&e->be, &adma__threads_backend);
	}
	tune(e, &c);
	while (nwhere < 4 * (size_t)e->backlog)
		nwhere *= 2;
	e->where_mask = nwhere - 1;
	e->next_ticket = 1;
	e->free_head = 0;
	e->oldest = e->newest = ADMA__NONE;
	e->queue_head = e->queue_tail = ADMA__NONE;
	atomic_init(&e->work_gen, 0);
	atomic_init(&e->full, false);
	/* Both are hints read without the lock; what they announce is read under it. */
	ADMA_BENIGN_RACE(&e->work_gen, "polled by spinning workers");
	ADMA_BENIGN_RACE(&e->full, "read by non-blocking submits");

	e->slots = adma__calloc(e->backlog, sizeof(*e->slots));
	e->where = adma__calloc(nwhere, sizeof(*e->where));
	e->fail_cap = e->backlog;
	e->fail = adma__malloc(e->fail_cap * sizeof(*e->fail));
	if (e->deferred) {
		e->pend_cap = 2 * (size_t)e->backlog;
		e->pend = adma__malloc(e->pend_cap * sizeof(*e->pend));
	}
	if (!e->slots || !e->where || !e->fail || (e->deferred && !e->pend)) {
		free_engine(e);
		return adma__fail(who, -ENOMEM, "adma_engine_create: out of memory");
	}
	for (unsigned i = 0; i < e->backlog; i++)
		e->slots[i].next = i + 1 < e->backlog ? i + 1 : ADMA__NONE;

	e->efd = adma__eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->efd < 0) {
		rc = -errno;
		free_engine(e);
		return adma__fail(who, rc, "adma_engine_create: eventfd failed: %s",
				  adma_strerror(rc));
	}
	e->st.backlog = e->backlog;
	e->st.workers = e->workers;
	if ((rc = e->be.start(e))) {
		unsigned workers = e->workers;

		free_engine(e);
		return adma__fail(who, rc, "adma_engine_create: could not start %u worker thread%s: %s",
				  workers, workers == 1 ? "" : "s", adma_strerror(rc));
	}
	*out = e;
	return 0;
}

int adma_engine_destroy(struct adma_engine **engine)
{
	struct adma_engine *e;

	if (!engine || !*engine)
		return 0;
	e = *engine;
	if (adma__foreign(e)) {
		/* The parent's engine, inherited: its memory is this process's copy to free; its
		 * workers, locks and ops stay the parent's business. */
		e->be.forget(e);
		free_memory(e);
		*engine = NULL;
		return 0;
	}
	if (adma__inside(e))
		return adma__fail(e, -EDEADLK,
				  "adma_engine_destroy: called from a callback or operator of the "
				  "same engine");
	/* Callbacks run during the drain may submit more ops: loop until nothing is left. */
	for (;;) {
		if (e->deferred)
			adma__drain_pending(e);
		pthread_mutex_lock(&e->lock);
		if (!e->in_flight && !e->npend) {
			pthread_mutex_unlock(&e->lock);
			break;
		}
		if (!e->npend) {
			e->done_waiters++;
			pthread_cond_wait(&e->done, &e->lock);
			e->done_waiters--;
		}
		pthread_mutex_unlock(&e->lock);
	}
	e->be.stop(e);
	free_engine(e);
	*engine = NULL;
	return 0;
}

static void default_exit(void)
{
	adma_engine_destroy(&default_engine);
}

static void default_init(void)
{
	if (adma_engine_create(&default_engine, NULL) == 0)
		atexit(default_exit);
	/* pthread_once orders this for every caller; helgrind does not know it. */
	ADMA_HAPPENS_BEFORE(&default_once);
}

struct adma_engine *adma_default(void)
{
	pthread_once(&default_once, default_init);
	ADMA_HAPPENS_AFTER(&default_once);
	return default_engine;
}

int adma_stats(struct adma_engine *e, struct adma_stats *st)
{
	if (!e || !st)
		return adma__fail(e, -EINVAL, "adma_stats: %s is NULL", e ? "stats" : "engine");
	if (adma__foreign(e))
		return adma__foreign_fail(e, __func__);
	pthread_mutex_lock(&e->lock);
	*st = e->st;
	st->in_flight = e->in_flight;
	st->pending = e->npend;
	pthread_mutex_unlock(&e->lock);
	return 0;
}

void adma_dump(struct adma_engine *e, FILE *out)
{
	struct adma_stats s;

	if (!out)
		out = stderr;
	if (!e) {
		fprintf(out, "adma engine (null)\n");
		return;
	}
	if (adma__foreign(e)) {
		fprintf(out, "adma engine %p: created before fork(), belongs to the parent process\n",
			(void *)e);
		return;
	}
	pthread_mutex_lock(&e->lock);
	s = e->st;
	fprintf(out, "adma engine %p: backend %s, %u workers, flags%s%s%s%s, align %zu\n",
		(void *)e, e->be.name, e->workers,
		e->flags & ADMA_CFG_ORDERED ? " ordered" : "",
		e->flags & ADMA_CFG_DEFER_CALLBACKS ? " deferred" : "",
		e->flags & ADMA_CFG_BLOCK_WHEN_FULL ? " block-when-full" : "",
		e->flags & ~ADMA_CFG_QUIET ? "" : " none", e->align);
	fprintf(out, "  backlog %u in flight of %u (peak %llu), %u queued, %u running, "
		"%zu results pending for adma_poll, fd %d %s\n",
		e->in_flight, e->backlog, (unsigned long long)s.backlog_peak, e->queued, e->running,
		e->npend, e->efd, e->efd_armed ? "readable" : "clear");
	fprintf(out, "  tickets issued %llu, oldest in flight %llu\n",
		(unsigned long long)(e->next_ticket - 1),
		e->oldest == ADMA__NONE ? 0ull : (unsigned long long)e->slots[e->oldest].ticket);
	fprintf(out, "  ops submitted %llu, completed %llu, failed %llu, cancelled %llu, "
		"inlined %llu, split %llu, non-temporal %llu, bytes %llu\n",
		(unsigned long long)s.submitted, (unsigned long long)s.completed,
		(unsigned long long)s.failed, (unsigned long long)s.cancelled,
		(unsigned long long)s.inlined, (unsigned long long)s.split,
		(unsigned long long)s.nontemporal,
		(unsigned long long)s.bytes);
	fprintf(out, "  failures remembered %zu\n", e->nfail);
	e->be.dump(e, out);
	pthread_mutex_unlock(&e->lock);
}
