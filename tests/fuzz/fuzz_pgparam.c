/*
 * fuzz_pgparam.c -- libFuzzer target: pgproto_param_literal (a Bind
 * parameter turned into an SQL literal) for an arbitrary type OID,
 * format and value; the input layout and the oracle (the literal cannot
 * change the statement's shape) are fz_param_one's (fuzz_common.h).
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *bad = fz_param_one((const char *)data, size);
	if (bad) {
		fprintf(stderr, "fuzz_pgparam: %s\n", bad);
		abort();
	}
	return 0;
}
