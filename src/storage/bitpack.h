/*
 * bitpack.h -- fixed-width bit packing of dictionary ids.
 *
 * n ids of `bits` bits each are packed least-significant bit first into
 * little-endian 64-bit words: id i occupies bits [i*bits, (i+1)*bits) of
 * the stream, word k holds stream bits [64k, 64k+64).  0 bits (a
 * dictionary of at most one entry) takes no bytes: every id is 0.
 */
#ifndef WB_BITPACK_H
#define WB_BITPACK_H

#include <stddef.h>
#include <stdint.h>

/* Bits per id for a dictionary of card entries: ceil(log2(card)), 0 for
 * card <= 1. */
unsigned bitpack_bits(uint64_t card);
/* Bytes taken by n packed ids (a whole number of 64-bit words). */
size_t bitpack_bytes(size_t n, unsigned bits);
/* Packs ids[0..n) into out (bitpack_bytes(n, bits) bytes, fully written). */
void bitpack_pack(const uint32_t *ids, size_t n, unsigned bits, void *out);
/* Unpacks ids [start, start+n) of the stream at in (which must hold at
 * least bitpack_bytes(start+n, bits) bytes) into out. */
void bitpack_unpack(const void *in, size_t start, size_t n, unsigned bits, uint32_t *out);
/* Largest id among ids [0, n) of the stream (0 when n == 0). */
uint32_t bitpack_max(const void *in, size_t n, unsigned bits);

#endif
