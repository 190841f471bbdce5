/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: op validation and execution (built by `make fuzz`, clang only).
 *
 * Each input decodes into a batch of 1 to 4 op descriptors written field by field, the way a
 * careless or hostile caller could fill struct adma_op: any opcode byte, any flag bits, a
 * reserved field, destinations and sources that are NULL, inside buffer A or B, or wild
 * addresses near the top of the address space; sizes that fit or that wrap; fill patterns of
 * any length; scatter-gather arrays of 0 to 4 entries, or NULL; custom operators, or NULL. The
 * batch goes to one of three engines: inline, ORDERED threads with one worker (both run ops in
 * submission order, so the expected bytes are known), and inline with align 16. A naive model
 * of the header's rules decides, independently of the library, which ops are valid.
 * Properties, each an abort() when broken:
 *   - adma_submit returns exactly the model's count: the index of the first invalid op, or
 *     -EINVAL when it is the first (never another errno, never a different count);
 *   - every accepted op's callback runs exactly once, with status 0 (or the operator's error)
 *     and the bytes the header promises; a refused op's callback never runs;
 *   - afterwards buffers A and B equal the model's replay of the accepted ops alone: a refused
 *     op (or one behind it in the batch) writes nothing;
 *   - stats.submitted grows by the accepted count only.
 * The library cannot know buffer bounds, so a batch is submitted only when every op the model
 * accepts stays inside A and B and its scatter-gather entries do not write over each other
 * (the header leaves that undefined); wild addresses reach the library only in ops the model
 * rejects, or with a size of 0.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adma.h"
#define FUZZ_NAME "fuzz_op"
#include "fuzz_input.h"

#define BUFSZ 4096
#define MAX_OPS 4
#define MAX_SG 4

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct adma_engine *engines[3]; /* inline, ordered threads, inline align 16 */
static const size_t engine_align[3] = { 0, 0, 16 };
static uint8_t *bufs[2]; /* A, B: BUFSZ bytes, 64-aligned */
static uint8_t expect[2][BUFSZ];
static unsigned long n_skipped, n_batches, n_ops_accepted, n_ops_refused;

/* ---- operators ------------------------------------------------------------------------------ */

/* A custom op writes only through its argument, never through dst/src (which may be wild). */
struct custom_arg {
	uint8_t *to;
	const uint8_t *from;
	size_t n;
	long ret; /* < 0: fail with it, writing nothing */
};

static long op_custom(void *dst, const void *src, void *arg)
{
	const struct custom_arg *a = arg;

	(void)dst;
	(void)src;
	if (a->ret < 0)
		return a->ret;
	memcpy(a->to, a->from, a->n);
	return (long)a->n;
}

/* ---- decoding --------------------------------------------------------------------------------- */

enum where {
	W_NULL,
	W_A,
	W_B,
	W_WILD
};

/* A pointer: NULL, into A or B at an offset, or near the top of the address space. */
static uint8_t *pointer(struct in *in, enum where *w)
{
	uint8_t k = u8(in);
	uint16_t off = u16(in) % BUFSZ;

	switch (k % 8) {
	case 0:
		*w = W_NULL;
		return NULL;
	case 1:
		*w = W_WILD;
		return (uint8_t *)(UINTPTR_MAX - off);
	case 2:
	case 3:
	case 4:
		*w = W_A;
		return bufs[0] + off;
	default:
		*w = W_B;
		return bufs[1] + off;
	}
}

/* A size: mostly small, sometimes huge enough to wrap or to overflow a sum. */
static size_t size(struct in *in)
{
	uint8_t k = u8(in);

	switch (k % 16) {
	case 0:
		return 0;
	case 1:
		return SIZE_MAX - u8(in);
	case 2:
		return (size_t)1 << (u8(in) % 64);
	default:
		return u16(in) % (BUFSZ + 64);
	}
}

struct fop {
	struct adma_op op;
	struct adma_sge sg[MAX_SG];
	struct custom_arg carg;
	bool valid;	/* the model's verdict */
	bool in_bounds; /* every range the op would touch lies inside A or B */
	size_t bytes;	/* what the result must report when it succeeds */
	int status;	/* what the result must report */
	unsigned calls; /* callbacks seen */
	int got_status;
	size_t got_bytes;
};

/* Whether [p, p + n) lies inside A or B (n == 0: anywhere, nothing is touched). */
static bool inside(const uint8_t *p, size_t n)
{
	for (int b = 0; b < 2; b++)
		if (p >= bufs[b] && p <= bufs[b] + BUFSZ && n <= (size_t)(bufs[b] + BUFSZ - p))
			return true;
	return n == 0;
}

static bool range_ok(const void *p, size_t n, size_t align)
{
	uintptr_t a = (uintptr_t)p;

	if (n && !p)
		return false;
	if (n > UINTPTR_MAX - a)
		return false;
	return !align || !((a | n) & (align - 1));
}

static bool copy_ok(const void *dst, const void *src, size_t n, size_t align)
{
	uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src;

	if (!range_ok(dst, n, align) || !range_ok(src, n, align))
		return false;
	return !n || !(d < s + n && s < d + n);
}

static bool overlaps(const void *a, size_t an, const void *b, size_t bn)
{
	uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;

	return an && bn && x < y + bn && y < x + an;
}

static void decode(struct in *in, struct fop *f, size_t align)
{
	struct adma_op *op = &f->op;
	uint8_t k = u8(in);
	enum where wd, ws;
	unsigned flags;

	memset(f, 0, sizeof(*f));
	op->opcode = k < 240 ? k % 5 : k; /* mostly known opcodes, sometimes anything */
	flags = u8(in) & 0xf;
	if (u8(in) == 0xff)
		flags |= (unsigned)u64(in); /* unknown and reserved bits */
	op->flags = flags;
	if (u8(in) == 0xfe)
		op->reserved = u16(in);
	op->dst = pointer(in, &wd);
	op->src = pointer(in, &ws);
	op->n = size(in);
	f->in_bounds = inside(op->dst, op->n) && inside(op->src, op->n);
	f->valid = !(op->flags & ~(unsigned)(ADMA_OP_FENCE | ADMA_OP_NONTEMPORAL | ADMA_OP_CACHED |
					     ADMA_OP_NO_INLINE)) &&
		   !op->reserved &&
		   !((op->flags & ADMA_OP_NONTEMPORAL) && (op->flags & ADMA_OP_CACHED));
	f->bytes = op->n;

	switch (op->opcode) {
	case ADMA_OP_COPY:
		f->valid = f->valid && copy_ok(op->dst, op->src, op->n, align);
		break;
	case ADMA_OP_FILL: {
		uint8_t len = u8(in);

		op->pattern_len = len < 200 ? (uint8_t)(1u << (len % 6)) : len; /* 1..32, or any */
		for (unsigned i = 0; i < sizeof(op->u.pattern); i++)
			op->u.pattern[i] = u8(in);
		op->src = NULL;
		f->in_bounds = inside(op->dst, op->n);
		f->valid = f->valid &&
			   (op->pattern_len == 1 || op->pattern_len == 2 || op->pattern_len == 4 ||
			    op->pattern_len == 8 || op->pattern_len == 16) &&
			   range_ok(op->dst, op->n, align);
		break;
	}
	case ADMA_OP_COPY_SG: {
		uint8_t c = u8(in);
		size_t total = 0;
		bool sum_ok = true;

		op->n = c % (MAX_SG + 1);
		op->u.sg = c >= 250 ? NULL : f->sg;
		f->in_bounds = true;
		for (size_t i = 0; op->u.sg && i < op->n; i++) {
			f->sg[i].dst = pointer(in, &wd);
			f->sg[i].src = pointer(in, &ws);
			f->sg[i].n = size(in);
			f->in_bounds = f->in_bounds && inside(f->sg[i].dst, f->sg[i].n) &&
				       inside(f->sg[i].src, f->sg[i].n);
		}
		if (op->n && !op->u.sg) {
			f->valid = false;
			break;
		}
		for (size_t i = 0; i < op->n; i++) {
			f->valid = f->valid &&
				   copy_ok(f->sg[i].dst, f->sg[i].src, f->sg[i].n, align);
			if (f->sg[i].n > SIZE_MAX - total)
				sum_ok = false;
			else
				total += f->sg[i].n;
		}
		f->valid = f->valid && sum_ok;
		f->bytes = total;
		/* Entries that write over each other or over another's source are the caller's
		 * mistake the library cannot see: such a batch is not submitted. */
		for (size_t i = 0; i < op->n; i++)
			for (size_t j = 0; j < op->n; j++)
				if (i != j &&
				    (overlaps(f->sg[i].dst, f->sg[i].n, f->sg[j].dst, f->sg[j].n) ||
				     overlaps(f->sg[i].dst, f->sg[i].n, f->sg[j].src, f->sg[j].n)))
					f->in_bounds = false;
		break;
	}
	case ADMA_OP_COPY_LAYOUT:
		/* Layouts have their own fuzzer; here only the NULL-layout rejection. */
		f->valid = false;
		break;
	case ADMA_OP_CUSTOM: {
		uint8_t c = u8(in);
		uint16_t from = u16(in) % BUFSZ, to = u16(in) % BUFSZ, n = u16(in) % BUFSZ;

		op->u.custom.fn = c % 8 ? op_custom : NULL;
		op->u.custom.arg = &f->carg;
		/* The operator copies within B into A: in bounds, never overlapping. */
		f->carg.to = bufs[0] + to;
		f->carg.from = bufs[1] + from;
		f->carg.n = n;
		if (f->carg.n > (size_t)BUFSZ - to)
			f->carg.n = (size_t)BUFSZ - to;
		if (f->carg.n > (size_t)BUFSZ - from)
			f->carg.n = (size_t)BUFSZ - from;
		f->carg.ret = c % 4 == 3 ? -EIO : 0;
		f->in_bounds = true; /* dst and src are only passed through */
		f->valid = f->valid && op->u.custom.fn &&
			   (!align || !(((uintptr_t)op->dst | (uintptr_t)op->src) & (align - 1)));
		f->bytes = f->carg.ret < 0 ? 0 : f->carg.n;
		f->status = (int)f->carg.ret;
		break;
	}
	default:
		f->valid = false;
	}
}

/* ---- the model's replay --------------------------------------------------------------------- */

static uint8_t *model_ptr(const void *p)
{
	for (int b = 0; b < 2; b++)
		if ((const uint8_t *)p >= bufs[b] && (const uint8_t *)p <= bufs[b] + BUFSZ)
			return expect[b] + ((const uint8_t *)p - bufs[b]);
	return NULL;
}

static void model_copy(const void *dst, const void *src, size_t n)
{
	if (n)
		memmove(model_ptr(dst), model_ptr(src), n);
}

static void replay(const struct fop *f)
{
	const struct adma_op *op = &f->op;

	switch (op->opcode) {
	case ADMA_OP_COPY:
		model_copy(op->dst, op->src, op->n);
		break;
	case ADMA_OP_FILL:
		for (size_t i = 0; i < op->n; i++)
			model_ptr(op->dst)[i] = op->u.pattern[i % op->pattern_len];
		break;
	case ADMA_OP_COPY_SG:
		for (size_t i = 0; i < op->n; i++)
			model_copy(f->sg[i].dst, f->sg[i].src, f->sg[i].n);
		break;
	case ADMA_OP_CUSTOM:
		if (f->carg.ret >= 0)
			model_copy(f->carg.to, f->carg.from, f->carg.n);
		break;
	}
}

static void on_done(void *arg, const struct adma_result *res)
{
	struct fop *f = arg;

	f->calls++;
	f->got_status = res->status;
	f->got_bytes = res->bytes;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct adma_config cfg;

	(void)argc;
	(void)argv;
	for (int b = 0; b < 2; b++)
		if (posix_memalign((void **)&bufs[b], 64, BUFSZ))
			abort();
	for (int i = 0; i < 3; i++) {
		adma_config_init(&cfg);
		cfg.flags = ADMA_CFG_QUIET;
		cfg.backend = i == 1 ? ADMA_BACKEND_THREADS : ADMA_BACKEND_INLINE;
		if (i == 1) {
			cfg.workers = 1;
			cfg.flags |= ADMA_CFG_ORDERED;
		}
		cfg.align = engine_align[i];
		if (adma_engine_create(&engines[i], &cfg))
			abort();
	}
	return 0;
}

static void report(void)
{
	fprintf(stderr,
		"fuzz_op: %lu batches submitted (%lu ops accepted, %lu refused), %lu inputs "
		"skipped (out of bounds)\n",
		n_batches, n_ops_accepted, n_ops_refused, n_skipped);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size_in)
{
	static bool reported;
	struct in in = { data, size_in };
	struct fop f[MAX_OPS];
	struct adma_op ops[MAX_OPS];
	struct adma_stats st0, st1;
	struct adma_engine *e;
	unsigned count, ei, model;
	int rc;

	if (!reported) {
		reported = true;
		atexit(report);
	}
	ei = u8(&in) % 3;
	e = engines[ei];
	count = 1 + u8(&in) % MAX_OPS;
	model = count;
	for (unsigned i = 0; i < count; i++) {
		decode(&in, &f[i], engine_align[ei]);
		if (!f[i].valid && model == count)
			model = i;
	}
	/* Only ops the library will run must stay inside the buffers. */
	for (unsigned i = 0; i < model; i++)
		if (!f[i].in_bounds) {
			n_skipped++;
			return 0;
		}

	for (int b = 0; b < 2; b++) {
		for (size_t i = 0; i < BUFSZ; i++)
			bufs[b][i] = (uint8_t)(i * 7 + b * 101 + size_in);
		memcpy(expect[b], bufs[b], BUFSZ);
	}
	for (unsigned i = 0; i < count; i++) {
		ops[i] = f[i].op;
		adma_op_set_callback(&ops[i], on_done, &f[i]);
	}
	if (adma_stats(e, &st0))
		abort();
	rc = adma_submit(e, ops, count, NULL);
	if (adma_barrier(e, -1) == -EINVAL || adma_poll(e, NULL, MAX_OPS) < 0)
		abort();
	n_batches++;
	if (model == 0 ? rc != -EINVAL : rc != (int)model)
		FAIL("adma_submit returned %d, the model accepts %u of %u (%s)", rc, model, count,
		     adma_last_error());
	n_ops_accepted += model;
	n_ops_refused += count - model;
	if (adma_stats(e, &st1))
		abort();
	if (st1.submitted - st0.submitted != model)
		FAIL("stats.submitted grew by %llu, accepted %u",
		     (unsigned long long)(st1.submitted - st0.submitted), model);

	for (unsigned i = 0; i < count; i++) {
		if (i >= model) {
			if (f[i].calls)
				FAIL("op %u was refused but its callback ran %u times", i,
				     f[i].calls);
			continue;
		}
		if (f[i].calls != 1)
			FAIL("op %u: callback ran %u times", i, f[i].calls);
		if (f[i].got_status != f[i].status)
			FAIL("op %u (opcode %u): status %d, expected %d", i, f[i].op.opcode,
			     f[i].got_status, f[i].status);
		if (f[i].got_bytes != f[i].bytes)
			FAIL("op %u (opcode %u): %zu bytes, expected %zu", i, f[i].op.opcode,
			     f[i].got_bytes, f[i].bytes);
		replay(&f[i]);
	}
	for (int b = 0; b < 2; b++)
		for (size_t i = 0; i < BUFSZ; i++)
			if (bufs[b][i] != expect[b][i])
				FAIL("buffer %c byte %zu is 0x%02x, expected 0x%02x (%u ops, %u "
				     "accepted, engine %u)",
				     'A' + b, i, bufs[b][i], expect[b][i], count, model, ei);
	return 0;
}
