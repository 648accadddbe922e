/*
 * segbloom.c -- bloom filters over a segment column's distinct values.
 *
 * How it works: a value's 64-bit hash h gives two 32-bit halves, h1 (low)
 * and h2 (high, forced odd); probe i (0 <= i < k) is bit
 * (h1 + i * h2) mod m, computed in 64 bits, of a filter of m bits stored
 * as little-endian u64 words (bit j in word j / 64, bit j % 64).  With
 * 10 bits per distinct value and k = 7 the false-positive rate is about
 * 0.8%.  Values hash by what they are, not how they are stored: strings
 * by their bytes, every integer type as an i64, FLOAT and DOUBLE as an
 * f64 (-0.0 as 0.0, so a filter never denies a value that compares
 * equal).
 *
 * Memory and errors: none; the caller owns the words.
 *
 * Exports: segbloom_hash_str, segbloom_hash_int, segbloom_hash_f64,
 * segbloom_bits, segbloom_add, segbloom_has.
 */
#include "storage/segbloom.h"
#include "base/hash.h"

#include <string.h>

uint64_t
segbloom_hash_str(const void *p, size_t n)
{
	return hash_bytes(n ? p : "", n);
}

uint64_t
segbloom_hash_int(int64_t v)
{
	return hash_u64((uint64_t)v);
}

uint64_t
segbloom_hash_f64(double d)
{
	if (d == 0)
		d = 0;
	uint64_t b;
	memcpy(&b, &d, 8);
	return hash_u64(b ^ 0x9e3779b97f4a7c15ULL);
}

uint64_t
segbloom_bits(uint64_t n)
{
	uint64_t m = n * SEGBLOOM_BITS_PER_VALUE;
	m = (m + 63) / 64 * 64;
	return m < 64 ? 64 : m;
}

void
segbloom_add(uint64_t *words, uint64_t m, unsigned k, uint64_t h)
{
	uint64_t h1 = h & 0xffffffffu, h2 = (h >> 32) | 1;
	for (unsigned i = 0; i < k; i++) {
		uint64_t bit = (h1 + i * h2) % m;
		words[bit >> 6] |= (uint64_t)1 << (bit & 63);
	}
}

int
segbloom_has(const uint64_t *words, uint64_t m, unsigned k, uint64_t h)
{
	uint64_t h1 = h & 0xffffffffu, h2 = (h >> 32) | 1;
	for (unsigned i = 0; i < k; i++) {
		uint64_t bit = (h1 + i * h2) % m;
		if (!((words[bit >> 6] >> (bit & 63)) & 1))
			return 0;
	}
	return 1;
}
