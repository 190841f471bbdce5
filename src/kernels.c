/* SPDX-License-Identifier: MIT */
/*
 * Copy and fill kernels, CPU and cache detection, and the dispatcher that runs one validated op
 * or one chunk of it. No locks, no threads.
 *
 * Ordinary stores win while source and destination fit in the caches; above that, non-temporal
 * stores skip the read-for-ownership of every destination line and roughly double the copy
 * rate. Non-temporal stores are weakly ordered: whoever completes an op calls adma__publish()
 * after its data and before its callback or retire. One fence per run of ops, not one per op:
 * a fence after every 4 KiB costs a third of the rate.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"

static struct adma__cpu cpu;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

/* Size of the data cache of @level (2, 3) seen by cpu0, or 0. sysfs describes what this
 * CPU sees (a VM's share), where sysconf may report a whole package. */
static size_t cache_size(int level)
{
	for (int i = 0; i < 8; i++) {
		char path[96], buf[32];
		size_t sz = 0;
		int lv = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
		if (!(f = fopen(path, "r")))
			break;
		if (fscanf(f, "%d", &lv) != 1)
			lv = 0;
		fclose(f);
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
		if (!(f = fopen(path, "r")))
			continue;
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
		if (lv != level || strncmp(buf, "Instruction", 11) == 0)
			continue;
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
		if (!(f = fopen(path, "r")))
			continue;
		if (fscanf(f, "%zu%31s", &sz, buf) >= 1)
			sz *= buf[0] == 'M' ? 1024 * 1024 : buf[0] == 'K' ? 1024 : 1;
		fclose(f);
		return sz;
	}
#ifdef _SC_LEVEL2_CACHE_SIZE
	{
		long v = sysconf(level == 2 ? _SC_LEVEL2_CACHE_SIZE : _SC_LEVEL3_CACHE_SIZE);

		return v > 0 ? (size_t)v : 0;
	}
#else
	return 0;
#endif
}

static void detect(void)
{
#if HAVE_X86
	__builtin_cpu_init();
	cpu.sse2 = __builtin_cpu_supports("sse2");
	cpu.avx2 = __builtin_cpu_supports("avx2");
#endif
	cpu.l2 = cache_size(2);
	cpu.l3 = cache_size(3);
}

const struct adma__cpu *adma__cpu(void)
{
	pthread_once(&cpu_once, detect);
	return &cpu;
}

/* Fills n bytes at dst with a pattern of len bytes (a power of two up to 16): the first block
 * is written by hand, then doubled by copying the part already written, which keeps the pattern
 * phase because every block length is a multiple of len. */
static void fill_cached(uint8_t *dst, size_t n, const uint8_t *pattern, size_t len)
{
	enum { BLOCK = 4096 };
	size_t done, k;

	if (len == 1) {
		memset(dst, pattern[0], n);
		return;
	}
	k = n < 64 ? n : 64;
	for (done = 0; done < k; done++)
		dst[done] = pattern[done & (len - 1)];
	while (done < n && done < BLOCK) {
		k = done <= n - done ? done : n - done;
		memcpy(dst + done, dst, k);
		done += k;
	}
	while (done < n) {
		k = n - done < BLOCK ? n - done : BLOCK;
		memcpy(dst + done, dst, k);
		done += k;
	}
}

#if HAVE_X86
/* Streams 32-byte blocks: d is 64-byte aligned, n a multiple of 128. */
__attribute__((target("avx2"))) static void copy_nt_avx2(uint8_t *d, const uint8_t *s, size_t n)
{
	for (; n; n -= 128, d += 128, s += 128) {
		__m256i a = _mm256_loadu_si256((const __m256i *)s);
		__m256i b = _mm256_loadu_si256((const __m256i *)(s + 32));
		__m256i c = _mm256_loadu_si256((const __m256i *)(s + 64));
		__m256i e = _mm256_loadu_si256((const __m256i *)(s + 96));

		_mm_prefetch((const char *)s + 1024, _MM_HINT_NTA);
		_mm256_stream_si256((__m256i *)d, a);
		_mm256_stream_si256((__m256i *)(d + 32), b);
		_mm256_stream_si256((__m256i *)(d + 64), c);
		_mm256_stream_si256((__m256i *)(d + 96), e);
	}
}

static void copy_nt_sse2(uint8_t *d, const uint8_t *s, size_t n)
{
	for (; n; n -= 128, d += 128, s += 128)
		for (int i = 0; i < 128; i += 16)
			_mm_stream_si128((__m128i *)(d + i), _mm_loadu_si128((const __m128i *)(s + i)));
}

__attribute__((target("avx2"))) static void fill_nt_avx2(uint8_t *d, const uint8_t *v, size_t n)
{
	__m256i x = _mm256_loadu_si256((const __m256i *)v);

	for (; n; n -= 128, d += 128) {
		_mm256_stream_si256((__m256i *)d, x);
		_mm256_stream_si256((__m256i *)(d + 32), x);
		_mm256_stream_si256((__m256i *)(d + 64), x);
		_mm256_stream_si256((__m256i *)(d + 96), x);
	}
}

static void fill_nt_sse2(uint8_t *d, const uint8_t *v, size_t n)
{
	__m128i x = _mm_loadu_si128((const __m128i *)v);

	for (; n; n -= 128, d += 128)
		for (int i = 0; i < 128; i += 16)
			_mm_stream_si128((__m128i *)(d + i), x);
}
#endif

/* Below this, a non-temporal kernel's alignment head and tail cost more than they save. */
#define NT_MIN 4096

void adma__copy(void *dst, const void *src, size_t n, bool nt)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	if (!n)
		return;
#if HAVE_X86
	if (nt && n >= NT_MIN) {
		/* Whole cache lines only: a partly written line costs the memory a
		 * read-modify-write, more than the non-temporal store saves. */
		size_t head = (size_t)(-(uintptr_t)d & 63), body;

		memcpy(d, s, head);
		d += head, s += head, n -= head;
		body = n & ~(size_t)127;
		if (adma__cpu()->avx2)
			copy_nt_avx2(d, s, body);
		else
			copy_nt_sse2(d, s, body);
		memcpy(d + body, s + body, n - body);
		return;
	}
#endif
	(void)nt;
	memcpy(d, s, n);
}

static void fill(uint8_t *d, size_t n, const uint8_t *pattern, size_t len, bool nt)
{
	if (!n)
		return;
#if HAVE_X86
	if (nt && n >= NT_MIN) {
		size_t head = (size_t)(-(uintptr_t)d & 63), body;
		const uint8_t *v = d + head;

		/* The head up to a line and one more line are written normally; that line's
		 * first 32 bytes (whose phase is head % len) are the vector every later 32
		 * bytes repeat, and the streaming stores start on a line. */
		fill_cached(d, head + 64, pattern, len);
		d += head + 64, n -= head + 64;
		body = n & ~(size_t)127;
		if (adma__cpu()->avx2)
			fill_nt_avx2(d, v, body);
		else
			fill_nt_sse2(d, v, body);
		memcpy(d + body, v, n - body);
		return;
	}
#endif
	(void)nt;
	fill_cached(d, n, pattern, len);
}

void adma__publish(void)
{
#if HAVE_X86
	_mm_sfence();
#endif
}

int adma__execute_part(const struct adma__slot *sl, size_t off, size_t len, size_t *bytes)
{
	const struct adma_op *op = &sl->op;
	bool nt = sl->nt;
	long r;

	/* An empty copy or fill may name NULL: no pointer arithmetic, no memcpy on it. */
	if ((op->opcode == ADMA_OP_COPY || op->opcode == ADMA_OP_FILL) && off >= op->n) {
		*bytes = 0;
		return 0;
	}
	switch (op->opcode) {
	case ADMA_OP_COPY:
		if (len > op->n - off)
			len = op->n - off;
		adma__copy((uint8_t *)op->dst + off, (const uint8_t *)op->src + off, len, nt);
		*bytes = len;
		return 0;
	case ADMA_OP_FILL:
		/* Chunk offsets are multiples of 4 KiB, so every chunk starts at pattern phase 0. */
		if (len > op->n - off)
			len = op->n - off;
		fill((uint8_t *)op->dst + off, len, op->u.pattern, op->pattern_len, nt);
		*bytes = len;
		return 0;
	case ADMA_OP_COPY_SG:
		*bytes = 0;
		for (size_t i = 0; i < op->n; i++) {
			const struct adma_sge *g = &op->u.sg[i];

			if (g->n) /* an empty entry may name NULL */
				adma__copy(g->dst, g->src, g->n, nt);
			*bytes += g->n;
		}
		return 0;
	case ADMA_OP_COPY_LAYOUT:
		*bytes = adma__layout_run(sl->plan, off, len, nt);
		return 0;
	case ADMA_OP_CUSTOM:
		r = op->u.custom.fn(op->dst, op->src, op->u.custom.arg);
		*bytes = r >= 0 ? (size_t)r : 0;
		return r >= 0 ? 0 : (int)r;
	}
	*bytes = 0;
	return -ENOTSUP;
}
