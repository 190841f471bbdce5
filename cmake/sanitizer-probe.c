/* SPDX-License-Identifier: MIT */
/*
 * Built only in sanitizer builds: the Makefile runs it first to learn whether the sanitizer
 * runtime starts on this kernel (high mmap randomisation makes some runtimes die with
 * "unexpected memory mapping") or needs to run under "setarch -R".
 */
#include <pthread.h>
#include <stdlib.h>

static void *worker(void *arg)
{
	return arg;
}

int main(void)
{
	pthread_t t;
	void *p = malloc(16);

	if (!p || pthread_create(&t, NULL, worker, p) != 0 || pthread_join(t, NULL) != 0)
		return 1;
	free(p);
	return 0;
}
