/* SPDX-License-Identifier: MIT */
/* Error names and messages: one table feeds adma_strerror(); per-thread detail for humans. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "backend.h"

/* X(errno, message): every errno an adma function returns, with what it means in adma. */
#define ADMA_ERRNO_MAP(X)                                                                   \
	X(EINVAL, "invalid argument")                                                       \
	X(EAGAIN, "backlog full, or a worker thread could not be created")                  \
	X(ENOMEM, "out of memory")                                                          \
	X(EDEADLK, "would deadlock: called from a callback or operator of the same engine") \
	X(ETIMEDOUT, "timed out before the op completed")                                   \
	X(ECANCELED, "op cancelled before it started")                                      \
	X(EBUSY, "op already running, completed or cancelled")                              \
	X(ENOTSUP, "operation not supported by this version")                               \
	X(EMFILE, "too many open files in this process")                                    \
	X(ENFILE, "too many open files in the system")                                      \
	X(EINTR, "interrupted")                                                             \
	X(EIO, "input/output error")                                                        \
	X(ENOSPC, "no space left")                                                          \
	X(EFAULT, "bad address")                                                            \
	X(EPERM, "operation not permitted")                                                 \
	X(ENOSYS, "function not implemented")                                               \
	X(ERANGE, "result out of range")                                                    \
	X(EOVERFLOW, "value too large")                                                     \
	X(E2BIG, "argument list too long")                                                  \
	X(ENOENT, "no such entry")                                                          \
	X(EOWNERDEAD, "engine created before fork(): it belongs to the parent process")

const char *adma_strerror(int err)
{
	/* Either sign names the same errno; unsigned negation keeps INT_MIN defined. */
	unsigned code = err < 0 ? 0u - (unsigned)err : (unsigned)err;

	if (code == 0)
		return "success";
	switch (code) {
#define X(name, msg)  \
	case name:    \
		return #name ": " msg;
		ADMA_ERRNO_MAP(X)
#undef X
	}
	return "unknown error";
}

static _Thread_local char last_error[256];

static bool quiet_env(void)
{
	const char *q = getenv("ADMA_QUIET");

	return q && *q && *q != '0';
}

int adma__foreign_fail(const struct adma_engine *e, const char *fn)
{
	return adma__fail(e, -EOWNERDEAD, "%s: the engine was created before fork(): it belongs "
			  "to the parent process (destroy it here to free this copy)", fn);
}

const char *adma_last_error(void)
{
	return last_error;
}

int adma__fail(const struct adma_engine *e, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(last_error, sizeof(last_error), "adma: ");
	va_start(ap, fmt);
	vsnprintf(last_error + n, sizeof(last_error) - (size_t)n, fmt, ap);
	va_end(ap);
	/* Failures with no engine to ask (layout constructors, a NULL engine) follow the
	 * environment: ADMA_QUIET=1 silences them, for fuzzers and tests of bad input. */
	if (e ? !(e->flags & ADMA_CFG_QUIET) : !quiet_env())
		fprintf(stderr, "%s (%s)\n", last_error, adma_strerror(err));
	return err;
}
