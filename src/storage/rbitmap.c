/*
 * rbitmap.c -- adapter for libroaring (Debian's 0.2.x C API): builds and
 * reads Roaring bitmaps in the portable serialized format (the one the
 * Java and Go implementations share, RoaringFormatSpec).  The only file
 * that includes roaring.h.
 *
 * How it works: rbitmap_encode builds a roaring_bitmap_t from a sorted
 * list, run-optimizes it and appends its portable bytes to a Buf.
 * rbitmap_check walks the serialized bytes itself, without the library,
 * so a damaged bitmap is rejected before the library sees it: cookie and
 * container count, keys strictly increasing, offsets (when present) equal
 * to where each container really starts, array containers strictly
 * increasing, bitset containers holding the declared cardinality, run
 * containers ordered, disjoint and inside 16 bits, the whole length used
 * exactly, every value below a limit.  rbitmap_or_into then lets the
 * library deserialize (its bounded "safe" reader) and iterate.
 *
 * Memory: the library allocates with its own malloc; every bitmap it
 * returns is freed with roaring_bitmap_free before returning.  Output
 * bytes go to the caller's Buf.
 *
 * Errors: ERR_NOMEM, ERR_CORRUPT (with a static reason from rbitmap_check).
 *
 * Exports: rbitmap_encode, rbitmap_check, rbitmap_or_into.
 */
#include "storage/rbitmap.h"
#include "base/err.h"

#include <roaring/roaring.h>
#include <string.h>

#define COOKIE_NO_RUN 12346u
#define COOKIE_RUN 12347u
#define NO_OFFSET_THRESHOLD 4u
#define ARRAY_MAX 4096u

int
rbitmap_encode(const uint32_t *vals, size_t n, Buf *out)
{
	roaring_bitmap_t *r = roaring_bitmap_create();
	if (r == NULL)
		return ERR_NOMEM;
	roaring_bitmap_add_many(r, n, vals);
	roaring_bitmap_run_optimize(r);
	size_t sz = roaring_bitmap_portable_size_in_bytes(r);
	if (buf_reserve(out, sz) != 0) {
		roaring_bitmap_free(r);
		return ERR_NOMEM;
	}
	size_t w = roaring_bitmap_portable_serialize(r, out->p + out->len);
	roaring_bitmap_free(r);
	if (w != sz)
		return ERR_INTERNAL;
	out->len += w;
	out->p[out->len] = '\0';
	return 0;
}

static uint16_t
ld16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
ld32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static int
fail(const char **why, const char *msg)
{
	*why = msg;
	return ERR_CORRUPT;
}

int
rbitmap_check(const void *p, size_t len, uint32_t limit, uint64_t *card, const char **why)
{
	const unsigned char *b = p;
	size_t pos, size;
	int has_runs;
	const unsigned char *runflags = NULL;
	*card = 0;
	if (len < 8)
		return fail(why, "roaring bitmap truncated");
	uint32_t cookie = ld32(b);
	if (cookie == COOKIE_NO_RUN) {
		size = ld32(b + 4);
		has_runs = 0;
		pos = 8;
		if (size > 65536)
			return fail(why, "roaring bitmap: too many containers");
	} else if ((cookie & 0xFFFF) == COOKIE_RUN) {
		size = (cookie >> 16) + 1;
		has_runs = 1;
		runflags = b + 4;
		pos = 4 + (size + 7) / 8;
	} else {
		return fail(why, "roaring bitmap: bad cookie");
	}
	int offsets = !has_runs || size >= NO_OFFSET_THRESHOLD;
	size_t hdr = size * 4;
	if (pos > len || hdr > len - pos)
		return fail(why, "roaring bitmap truncated");
	const unsigned char *desc = b + pos;
	pos += hdr;
	const unsigned char *offs = NULL;
	if (offsets) {
		if (size * 4 > len - pos)
			return fail(why, "roaring bitmap truncated");
		offs = b + pos;
		pos += size * 4;
	}
	uint64_t total = 0;
	for (size_t i = 0; i < size; i++) {
		uint32_t key = ld16(desc + 4 * i);
		uint32_t cn = (uint32_t)ld16(desc + 4 * i + 2) + 1;
		if (i > 0 && key <= ld16(desc + 4 * (i - 1)))
			return fail(why, "roaring bitmap: container keys out of order");
		if (offs && ld32(offs + 4 * i) != pos)
			return fail(why, "roaring bitmap: container offset wrong");
		uint32_t maxlow;
		if (has_runs && (runflags[i / 8] >> (i % 8)) & 1) {
			if (len - pos < 2)
				return fail(why, "roaring bitmap truncated");
			uint32_t nr = ld16(b + pos);
			pos += 2;
			if ((size_t)nr * 4 > len - pos || nr == 0)
				return fail(why, "roaring bitmap: bad run container");
			uint32_t sum = 0, next = 0;
			for (uint32_t k = 0; k < nr; k++) {
				uint32_t v = ld16(b + pos + 4 * k), l = ld16(b + pos + 4 * k + 2);
				if (v < next || v + l > 65535)
					return fail(why, "roaring bitmap: runs overlap or overflow");
				next = v + l + 1;
				sum += l + 1;
			}
			if (sum != cn)
				return fail(why, "roaring bitmap: run cardinality wrong");
			maxlow = next - 1;
			pos += (size_t)nr * 4;
		} else if (cn > ARRAY_MAX) {
			if (len - pos < 8192)
				return fail(why, "roaring bitmap truncated");
			uint32_t pc = 0;
			int top = -1;
			for (int w = 0; w < 1024; w++) {
				uint64_t x;
				memcpy(&x, b + pos + 8 * (size_t)w, 8);
				pc += (uint32_t)__builtin_popcountll(x);
				if (x)
					top = w * 64 + 63 - __builtin_clzll(x);
			}
			if (pc != cn)
				return fail(why, "roaring bitmap: bitset cardinality wrong");
			maxlow = (uint32_t)top;
			pos += 8192;
		} else {
			if ((size_t)cn * 2 > len - pos)
				return fail(why, "roaring bitmap truncated");
			for (uint32_t k = 1; k < cn; k++)
				if (ld16(b + pos + 2 * k) <= ld16(b + pos + 2 * (k - 1)))
					return fail(why, "roaring bitmap: array not increasing");
			maxlow = ld16(b + pos + 2 * (size_t)(cn - 1));
			pos += (size_t)cn * 2;
		}
		if (((uint64_t)key << 16 | maxlow) >= limit)
			return fail(why, "roaring bitmap: value out of range");
		total += cn;
	}
	if (pos != len)
		return fail(why, "roaring bitmap: length does not match its contents");
	*card = total;
	return 0;
}

static bool
or_one(uint32_t v, void *ctx)
{
	uint64_t *words = ctx;
	words[v >> 6] |= (uint64_t)1 << (v & 63);
	return true;
}

int
rbitmap_or_into(const void *p, size_t len, uint64_t *words)
{
	roaring_bitmap_t *r = roaring_bitmap_portable_deserialize_safe(p, len);
	if (r == NULL)
		return ERR_CORRUPT;
	roaring_iterate(r, or_one, words);
	roaring_bitmap_free(r);
	return 0;
}
