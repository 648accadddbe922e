/*
 * segbloom.h -- the bloom filters of segment files (format:
 * docs/segment-format.md, "Bloom filter"): how a value is hashed, how a
 * filter is sized, and setting and testing its bits.  segwrite.c builds
 * filters, segfile.c tests them; both go through this module so they
 * hash alike.
 */
#ifndef WB_SEGBLOOM_H
#define WB_SEGBLOOM_H

#include <stddef.h>
#include <stdint.h>

#define SEGBLOOM_K 7		/* probes per value: ~1% false positives at
				 * SEGBLOOM_BITS_PER_VALUE */
#define SEGBLOOM_BITS_PER_VALUE 10
#define SEGBLOOM_HEADER_BYTES 16

/* 64-bit hashes of a value: strings by their bytes (XXH3), integer types
 * as an i64, floats as the bits of an f64 with -0.0 taken as 0.0. */
uint64_t segbloom_hash_str(const void *p, size_t n);
uint64_t segbloom_hash_int(int64_t v);
uint64_t segbloom_hash_f64(double d);

/* Filter size in bits (a multiple of 64, at least 64) for n distinct values. */
uint64_t segbloom_bits(uint64_t n);
/* Sets / tests the k probes of hash h in the filter of m bits. */
void segbloom_add(uint64_t *words, uint64_t m, unsigned k, uint64_t h);
int segbloom_has(const uint64_t *words, uint64_t m, unsigned k, uint64_t h);

#endif
