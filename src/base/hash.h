/*
 * hash.h -- 64-bit hashing (xxHash3) for keys, dictionaries and checksums.
 */
#ifndef WB_HASH_H
#define WB_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t hash_bytes(const void *p, size_t n);
uint64_t hash_u64(uint64_t v);
/* 32-bit checksum for log records and blocks. */
uint32_t hash_crc(const void *p, size_t n);

#endif
