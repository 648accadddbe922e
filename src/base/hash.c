/*
 * hash.c -- adapter for libxxhash: XXH3 for hashing, XXH32 as the block
 * checksum.  The only file that includes xxhash.h.
 *
 * Exports: hash_bytes, hash_u64, hash_crc.
 */
#include "base/hash.h"

#include <xxhash.h>

uint64_t hash_bytes(const void *p, size_t n) { return XXH3_64bits(p, n); }

uint64_t
hash_u64(uint64_t v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdULL;
	v ^= v >> 33;
	v *= 0xc4ceb9fe1a85ec53ULL;
	v ^= v >> 33;
	return v;
}

uint32_t hash_crc(const void *p, size_t n) { return XXH32(p, n, 0x57617962u); }
