/*
 * test_codec.c -- block codecs and bit packing: round trips of every codec
 * and width, and damaged input that must be refused, never trusted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "storage/bitpack.h"
#include "storage/codec.h"

static void
test_codec_roundtrip(void **state)
{
	size_t n = 200000;
	char *src = mem_alloc(n);
	for (size_t i = 0; i < n; i++)
		src[i] = (char)(i % 251 < 100 ? 'a' : (char)(i * 7));
	for (int c = 0; c < CODEC_COUNT; c++) {
		size_t cap = codec_bound(c, n);
		char *dst = mem_alloc(cap), *back = mem_alloc(n);
		size_t len;
		Err e = {0};
		assert_int_equal(codec_compress(c, src, n, dst, cap, &len, &e), 0);
		assert_int_equal(codec_decompress(c, dst, len, back, n, &e), 0);
		assert_memory_equal(src, back, n);
		/* wrong expected size, truncation and garbage are ERR_CORRUPT */
		assert_int_equal(codec_decompress(c, dst, len, back, n - 1, &e), ERR_CORRUPT);
		if (c != CODEC_NONE) {
			assert_int_equal(codec_decompress(c, dst, len / 2, back, n, &e), ERR_CORRUPT);
			for (int k = 0; k < 200; k++) {
				char *g = mem_alloc(len);
				memcpy(g, dst, len);
				g[(size_t)rand() % len] ^= (char)(1 + rand() % 255);
				Err e2 = {0};
				(void)codec_decompress(c, g, len, back, n, &e2);
				mem_free(g);
			}
		}
		/* empty input */
		assert_int_equal(codec_compress(c, src, 0, dst, cap, &len, &e), 0);
		assert_int_equal(codec_decompress(c, dst, len, back, 0, &e), 0);
		mem_free(dst);
		mem_free(back);
	}
	int id;
	assert_int_equal(codec_from_name("ZSTD", &id), 0);
	assert_int_equal(id, CODEC_ZSTD);
	assert_int_equal(codec_from_name("snappy", &id), ERR_INVALID);
	mem_free(src);
}

static void
test_bitpack(void **state)
{
	assert_int_equal(bitpack_bits(0), 0);
	assert_int_equal(bitpack_bits(1), 0);
	assert_int_equal(bitpack_bits(2), 1);
	assert_int_equal(bitpack_bits(3), 2);
	assert_int_equal(bitpack_bits(256), 8);
	assert_int_equal(bitpack_bits(257), 9);
	size_t n = 10007;
	uint32_t *ids = mem_alloc(n * 4), *back = mem_alloc(n * 4);
	for (unsigned bits = 0; bits <= 32; bits++) {
		uint64_t lim = bits == 32 ? UINT32_MAX : ((uint64_t)1 << bits) - 1;
		for (size_t i = 0; i < n; i++)
			ids[i] = lim ? (uint32_t)(((uint64_t)i * 2654435761u) % (lim + 1)) : 0;
		ids[n - 1] = (uint32_t)lim;
		size_t nb = bitpack_bytes(n, bits);
		void *p = mem_alloc(nb ? nb : 8);
		bitpack_pack(ids, n, bits, p);
		bitpack_unpack(p, 0, n, bits, back);
		assert_memory_equal(ids, back, n * 4);
		bitpack_unpack(p, 333, 1000, bits, back);
		assert_memory_equal(ids + 333, back, 1000 * 4);
		assert_int_equal(bitpack_max(p, n, bits), (uint32_t)lim);
		mem_free(p);
	}
	mem_free(ids);
	mem_free(back);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec_roundtrip),
		cmocka_unit_test(test_bitpack),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
