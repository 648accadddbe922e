/*
 * fuzz_pglex.c -- libFuzzer target: the wire server's SQL lexer
 * (pglex_split, pglex_next, pglex_text, pglex_is, pglex_max_param) over
 * arbitrary text, with the invariants of fz_pglex_one (fuzz_common.h).
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size bytes, so ASan sees any read past the end */
	char *s = mem_alloc(size ? size : 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	const char *bad = fz_pglex_one(s, size);
	mem_free(s);
	if (bad) {
		fprintf(stderr, "fuzz_pglex: %s\n", bad);
		abort();
	}
	return 0;
}
