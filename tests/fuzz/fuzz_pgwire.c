/*
 * fuzz_pgwire.c -- libFuzzer target: one whole PostgreSQL wire-protocol
 * session (startup packet first, trust authentication) over the input
 * bytes, against a catalog with one small table (fuzz_common.h) opened
 * once per process.  The server's answers are discarded; the sanitizers
 * and libFuzzer's leak and timeout checks are the oracles.
 */
#define _GNU_SOURCE	/* memmem */
#include "fuzz_common.h"

static Catalog *cat;
static char dir[64];

static void
cleanup(void)
{
	fz_catalog_close(cat, dir);
	cat = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (cat == NULL) {
		log_set_level(LOG_ERROR + 1);
		cat = fz_catalog_open(dir);
		if (cat == NULL)
			abort();
		atexit(cleanup);
	}
	/* WB_FUZZ_SKIP lists known bugs to step around so fuzzing can go on
	 * until they are fixed (see tests/fuzz/regressions/):
	 *   v31     sessions that open with protocol 3.x, x > 0, and no
	 *           _pq_ option
	 *   qempty  sessions holding "" (an empty quoted name) */
	static int skip_v31 = -1, skip_qempty;
	if (skip_v31 < 0) {
		const char *sk = getenv("WB_FUZZ_SKIP");
		skip_v31 = sk && strstr(sk, "v31");
		skip_qempty = sk && strstr(sk, "qempty");
	}
	if (skip_qempty && memmem(data, size, "\"\"", 2) != NULL)
		return 0;
	if (skip_v31 && size >= 8 && data[4] == 0 && data[5] == 3 && (data[6] | data[7])) {
		size_t n = (size_t)data[0] << 24 | (size_t)data[1] << 16 | (size_t)data[2] << 8 | data[3];
		if (memmem(data, n < size ? n : size, "_pq_.", 5) == NULL)
			return 0;
	}
	pgwire_fuzz(cat, (const char *)data, size);
	return 0;
}
