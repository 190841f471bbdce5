/* SPDX-License-Identifier: MIT */
/*
 * The synchronous backend: ops run inside adma_submit(), in the submitting thread, one at a
 * time and in ticket order (e->exec_lock); their results wait for adma_poll().
 */
#include <errno.h>

#include "backend.h"

/* The oldest op still queued, if any. Lock held. */
static struct adma__slot *oldest_queued(struct adma_engine *e)
{
	for (uint32_t i = e->oldest; i != ADMA__NONE; i = e->slots[i].newer) {
		struct adma__slot *s = &e->slots[i];

		if (s->state == SLOT_QUEUED || s->state == SLOT_CANCELLED)
			return s;
	}
	return NULL;
}

/* Runs every queued op in ticket order, the caller's own among them: when two threads submit at
 * once, whichever holds exec_lock runs both threads' ops, so that each submit returns only once
 * its ops are done and completions stay in ticket order. */
static void run(struct adma_engine *e, struct adma__slot **mine, unsigned n)
{
	struct adma__frame f;

	pthread_mutex_lock(&e->exec_lock);
	adma__enter(&f, e);
	pthread_mutex_lock(&e->lock);
	for (struct adma__slot *s; (s = oldest_queued(e));) {
		int status = s->state == SLOT_CANCELLED ? -ECANCELED : 0;
		size_t bytes = 0;

		s->state = SLOT_RUNNING;
		e->running++;
		e->st.inlined++;
		adma__unlock(e);

		if (!status) {
			status = adma__execute_part(s, 0, SIZE_MAX, &bytes);
			if (s->nt)
				adma__publish();
		}

		pthread_mutex_lock(&e->lock);
		e->running--;
		adma__retire(e, s, status, bytes);
		adma__retired(e);
	}
	adma__unlock(e);
	adma__leave(&f);
	pthread_mutex_unlock(&e->exec_lock);
}

const struct adma__backend adma__inline_backend = {
	.name = "inline",
	.run = run,
};
