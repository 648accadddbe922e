/*
 * bitpack.c -- packs and unpacks fixed-width dictionary ids (format in
 * bitpack.h).  Words are read and written with memcpy so the stream may
 * sit at any address (a memory-mapped file); byte widths (8, 16, 32)
 * take a plain loop, other widths a shift-and-mask loop.  No allocation,
 * no failure.
 *
 * Exports: bitpack_bits, bitpack_bytes, bitpack_pack, bitpack_unpack,
 * bitpack_max.
 */
#include "storage/bitpack.h"

#include <string.h>

unsigned
bitpack_bits(uint64_t card)
{
	unsigned b = 0;
	while (b < 64 && ((uint64_t)1 << b) < card)
		b++;
	return b;
}

size_t
bitpack_bytes(size_t n, unsigned bits)
{
	return ((n * bits + 63) / 64) * 8;
}

static inline uint64_t
load64(const unsigned char *p, size_t w)
{
	uint64_t v;
	memcpy(&v, p + w * 8, 8);
	return v;
}

void
bitpack_pack(const uint32_t *ids, size_t n, unsigned bits, void *out)
{
	unsigned char *o = out;
	size_t nbytes = bitpack_bytes(n, bits);
	if (nbytes == 0)
		return;
	memset(o, 0, nbytes);
	uint64_t acc = 0;
	unsigned fill = 0;
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t v = ids[i];
		acc |= v << fill;
		fill += bits;
		if (fill >= 64) {
			memcpy(o + w * 8, &acc, 8);
			w++;
			fill -= 64;
			acc = fill ? v >> (bits - fill) : 0;
		}
	}
	if (fill)
		memcpy(o + w * 8, &acc, 8);
}

void
bitpack_unpack(const void *in, size_t start, size_t n, unsigned bits, uint32_t *out)
{
	const unsigned char *p = in;
	if (bits == 0) {
		memset(out, 0, n * sizeof(uint32_t));
		return;
	}
	if (bits == 8) {
		for (size_t i = 0; i < n; i++)
			out[i] = p[start + i];
		return;
	}
	if (bits == 16) {
		for (size_t i = 0; i < n; i++) {
			uint16_t v;
			memcpy(&v, p + (start + i) * 2, 2);
			out[i] = v;
		}
		return;
	}
	if (bits == 32) {
		memcpy(out, p + start * 4, n * 4);
		return;
	}
	uint64_t mask = ((uint64_t)1 << bits) - 1;
	size_t pos = start * bits;
	for (size_t i = 0; i < n; i++, pos += bits) {
		size_t w = pos >> 6;
		unsigned sh = (unsigned)(pos & 63);
		uint64_t v = load64(p, w) >> sh;
		if (sh + bits > 64)
			v |= load64(p, w + 1) << (64 - sh);
		out[i] = (uint32_t)(v & mask);
	}
}

uint32_t
bitpack_max(const void *in, size_t n, unsigned bits)
{
	uint32_t buf[256], m = 0;
	for (size_t i = 0; i < n; i += 256) {
		size_t k = n - i < 256 ? n - i : 256;
		bitpack_unpack(in, i, k, bits, buf);
		for (size_t j = 0; j < k; j++)
			m = buf[j] > m ? buf[j] : m;
	}
	return m;
}
