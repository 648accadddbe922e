/*
 * codec.c -- adapter for libzstd and liblz4 (DESIGN.md: each third-party
 * library is used from one adapter file).  Blocks are compressed whole
 * (LZ4 block format, zstd single frame) and their raw size is stored by
 * the caller, so decompression is told exactly how many bytes must come
 * out and anything else is reported as corruption, never trusted.
 *
 * Both libraries keep their own state; zstd contexts are created per call
 * with the libraries' own allocators (freed with their own functions), so
 * the module holds no global state and is safe from any thread.
 *
 * Exports: codec_name, codec_from_name, codec_bound, codec_compress,
 * codec_decompress.
 */
#include "storage/codec.h"

#include <limits.h>
#include <lz4.h>
#include <string.h>
#include <strings.h>
#include <zstd.h>

#define ZSTD_LEVEL 3

const char *
codec_name(int codec)
{
	switch (codec) {
	case CODEC_NONE:
		return "none";
	case CODEC_LZ4:
		return "lz4";
	case CODEC_ZSTD:
		return "zstd";
	default:
		return "?";
	}
}

int
codec_from_name(const char *name, int *out)
{
	if (strcasecmp(name, "none") == 0 || strcasecmp(name, "raw") == 0 ||
	    strcasecmp(name, "passthrough") == 0)
		*out = CODEC_NONE;
	else if (strcasecmp(name, "lz4") == 0)
		*out = CODEC_LZ4;
	else if (strcasecmp(name, "zstd") == 0 || strcasecmp(name, "zstandard") == 0)
		*out = CODEC_ZSTD;
	else
		return ERR_INVALID;
	return 0;
}

size_t
codec_bound(int codec, size_t n)
{
	switch (codec) {
	case CODEC_LZ4:
		return n > (size_t)LZ4_MAX_INPUT_SIZE ? 0 : (size_t)LZ4_compressBound((int)n);
	case CODEC_ZSTD:
		return ZSTD_compressBound(n);
	default:
		return n;
	}
}

int
codec_compress(int codec, const void *src, size_t n, void *dst, size_t cap, size_t *out_len,
	       Err *e)
{
	switch (codec) {
	case CODEC_NONE:
		if (cap < n)
			return err_set(e, ERR_INTERNAL, "codec: output buffer too small");
		if (n)
			memcpy(dst, src, n);
		*out_len = n;
		return 0;
	case CODEC_LZ4: {
		if (n > (size_t)LZ4_MAX_INPUT_SIZE)
			return err_set(e, ERR_TOO_LARGE, "lz4: block of %zu bytes too large", n);
		int r = LZ4_compress_default(src, dst, (int)n, cap > INT_MAX ? INT_MAX : (int)cap);
		if (r <= 0 && n > 0)
			return err_set(e, ERR_INTERNAL, "lz4: compression failed");
		*out_len = (size_t)(r < 0 ? 0 : r);
		return 0;
	}
	case CODEC_ZSTD: {
		size_t r = ZSTD_compress(dst, cap, src, n, ZSTD_LEVEL);
		if (ZSTD_isError(r))
			return err_set(e, ERR_INTERNAL, "zstd: %s", ZSTD_getErrorName(r));
		*out_len = r;
		return 0;
	}
	default:
		return err_set(e, ERR_INVALID, "unknown codec %d", codec);
	}
}

int
codec_decompress(int codec, const void *src, size_t n, void *dst, size_t raw_len, Err *e)
{
	switch (codec) {
	case CODEC_NONE:
		if (n != raw_len)
			return err_set(e, ERR_CORRUPT, "stored %zu bytes, expected %zu", n, raw_len);
		if (n)
			memcpy(dst, src, n);
		return 0;
	case CODEC_LZ4: {
		if (n > INT_MAX || raw_len > INT_MAX)
			return err_set(e, ERR_CORRUPT, "lz4 block too large");
		if (raw_len == 0 && n <= 1)
			return 0;
		int r = LZ4_decompress_safe(src, dst, (int)n, (int)raw_len);
		if (r < 0 || (size_t)r != raw_len)
			return err_set(e, ERR_CORRUPT, "lz4: damaged block (%d of %zu bytes)", r,
				       raw_len);
		return 0;
	}
	case CODEC_ZSTD: {
		unsigned long long fs = ZSTD_getFrameContentSize(src, n);
		if (fs != (unsigned long long)raw_len)
			return err_set(e, ERR_CORRUPT, "zstd: frame holds %llu bytes, expected %zu",
				       fs, raw_len);
		size_t r = ZSTD_decompress(dst, raw_len, src, n);
		if (ZSTD_isError(r))
			return err_set(e, ERR_CORRUPT, "zstd: %s", ZSTD_getErrorName(r));
		if (r != raw_len)
			return err_set(e, ERR_CORRUPT, "zstd: %zu bytes, expected %zu", r, raw_len);
		return 0;
	}
	default:
		return err_set(e, ERR_CORRUPT, "unknown codec %d", codec);
	}
}
