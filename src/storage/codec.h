/*
 * codec.h -- block compression for segment files: none, LZ4 or zstd,
 * chosen per column.  The only module that talks to libzstd and liblz4.
 */
#ifndef WB_CODEC_H
#define WB_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef enum CodecId {
	CODEC_NONE = 0,
	CODEC_LZ4 = 1,
	CODEC_ZSTD = 2,
	CODEC_COUNT
} CodecId;

/* "none", "lz4", "zstd"; "?" for an unknown id. */
const char *codec_name(int codec);
/* Parses a codec name (case-insensitive; also "raw"/"passthrough" for
 * none, as Pinot's compressionCodec spells it); 0 or ERR_INVALID. */
int codec_from_name(const char *name, int *out);
/* Largest compressed size of n input bytes (0 if n is too large). */
size_t codec_bound(int codec, size_t n);
/* Compresses src[0..n) into dst (capacity cap, at least codec_bound);
 * *out_len gets the compressed size.  CODEC_NONE copies. */
int codec_compress(int codec, const void *src, size_t n, void *dst, size_t cap,
		   size_t *out_len, Err *e);
/* Decompresses src[0..n) into dst, which must come out exactly raw_len
 * bytes; anything else (damaged input, wrong size) is ERR_CORRUPT.  Never
 * reads or writes outside the given ranges, whatever src holds. */
int codec_decompress(int codec, const void *src, size_t n, void *dst, size_t raw_len,
		     Err *e);

#endif
