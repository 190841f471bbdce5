/* SPDX-License-Identifier: MIT */
/*
 * What the fuzzers share: reading an input as a stream of little-endian integers (zeros once
 * it runs out, so every input decodes to something), and FAIL(), which names the broken
 * property and aborts so that libFuzzer saves the input. Define FUZZ_NAME first.
 */
#ifndef ADMA_FUZZ_INPUT_H
#define ADMA_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FAIL(...)                                                                      \
	do {                                                                           \
		fprintf(stderr, FUZZ_NAME ": property broken at line %d: ", __LINE__); \
		fprintf(stderr, __VA_ARGS__);                                          \
		fprintf(stderr, "\n");                                                 \
		abort();                                                               \
	} while (0)

struct in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t u8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint16_t u16(struct in *in)
{
	return (uint16_t)(u8(in) | (unsigned)u8(in) << 8);
}

static inline uint64_t u64(struct in *in)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)u8(in) << (8 * i);
	return v;
}

#endif /* ADMA_FUZZ_INPUT_H */
