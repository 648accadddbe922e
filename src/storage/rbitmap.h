/*
 * rbitmap.h -- Roaring bitmaps in their portable serialized form, for the
 * sparse lists of the segment files' inverted indexes (segwrite.c writes,
 * segfile.c reads).  The only interface to libroaring: no other file
 * includes roaring.h.
 */
#ifndef WB_RBITMAP_H
#define WB_RBITMAP_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* Appends the portable serialization of the set of the n values in vals
 * (strictly increasing) to out.  ERR_NOMEM on allocation failure. */
int rbitmap_encode(const uint32_t *vals, size_t n, Buf *out);

/* Checks that the len bytes at p are exactly one well-formed portable
 * Roaring bitmap (containers in key order, arrays strictly increasing,
 * bitset and run cardinalities as declared, offsets consistent) whose
 * values are all < limit.  *card gets its cardinality.  0, or ERR_CORRUPT
 * with *why (a static string) saying what is wrong. */
int rbitmap_check(const void *p, size_t len, uint32_t limit, uint64_t *card, const char **why);

/* ORs the values of the bitmap at p (len bytes, already passed
 * rbitmap_check with limit <= 64 * number of words) into the bitset words.
 * ERR_CORRUPT if the library rejects the bytes, ERR_NOMEM. */
int rbitmap_or_into(const void *p, size_t len, uint64_t *words);

#endif
