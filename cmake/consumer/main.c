/* SPDX-License-Identifier: MIT */
/* Checks that an installed adma links and runs: one copy on the default engine. */
#include <stdio.h>
#include <string.h>

#include <adma.h>

int main(void)
{
	static char src[4096], dst[4096];
	struct adma_engine *e = NULL;
	uint64_t ticket;
	struct adma_op op;
	int rc;

	if (adma_version() != ADMA_VERSION) {
		fprintf(stderr, "header says %d, library says %u\n", ADMA_VERSION, adma_version());
		return 1;
	}
	memset(src, 0x5a, sizeof(src));
	rc = adma_engine_create(&e, NULL);
	if (rc < 0) {
		fprintf(stderr, "adma_engine_create: %s\n", adma_strerror(rc));
		return 1;
	}
	adma_prep_copy(&op, dst, src, sizeof(src));
	rc = adma_submit(e, &op, 1, &ticket);
	if (rc == 1)
		rc = adma_wait(e, ticket, -1);
	if (rc < 0 || memcmp(dst, src, sizeof(src)) != 0) {
		fprintf(stderr, "copy failed: %s\n", adma_strerror(rc));
		adma_engine_destroy(&e);
		return 1;
	}
	adma_engine_destroy(&e);
	printf("adma %s: installed library works\n", adma_version_string());
	return 0;
}
