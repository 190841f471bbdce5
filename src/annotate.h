/* SPDX-License-Identifier: MIT */
/*
 * Annotations for valgrind's thread checker helgrind, which sees mutexes, condition variables,
 * semaphores and joins but not C11 atomics: a release store read by an acquire load is a
 * happens-before edge it cannot know of, and a relaxed flag polled without the lock is a race
 * by design. A build configured with ADMA_ANNOTATE=helgrind turns these macros into helgrind's
 * client requests; every other build compiles them to nothing.
 *
 *   ADMA_HAPPENS_BEFORE(p)   just before a release store (or the unlock-like step) on p
 *   ADMA_HAPPENS_AFTER(p)    just after the acquire load that observed it
 *   ADMA_BENIGN_RACE(p, why) p (an object) is read and written without a lock on purpose
 *   ADMA_FORGET(p)           forget the access history of object p (its memory is reused)
 */
#ifndef ADMA_ANNOTATE_H
#define ADMA_ANNOTATE_H

#if defined(ADMA_ANNOTATE_HELGRIND)
#include <valgrind/helgrind.h>
#define ADMA_HAPPENS_BEFORE(p) ANNOTATE_HAPPENS_BEFORE(p)
#define ADMA_HAPPENS_AFTER(p) ANNOTATE_HAPPENS_AFTER(p)
#define ADMA_BENIGN_RACE(p, why) ANNOTATE_BENIGN_RACE_SIZED((p), sizeof(*(p)), why)
#define ADMA_FORGET(p) VALGRIND_HG_CLEAN_MEMORY((p), sizeof(*(p)))
#else
#define ADMA_HAPPENS_BEFORE(p) ((void)(p))
#define ADMA_HAPPENS_AFTER(p) ((void)(p))
#define ADMA_BENIGN_RACE(p, why) ((void)(p))
#define ADMA_FORGET(p) ((void)(p))
#endif

#endif
