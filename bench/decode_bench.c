/*
 * decode_bench.c -- micro benchmark of the push-ingest decoder.
 *
 * Set up: N synthetic ~200-byte order events (10 columns: strings, longs,
 * an int, a double, a timestamp, a boolean, a multi-value string), as
 * NDJSON and as CSV, held in memory.  Measured, on one core:
 *   cjson-parse  cJSON_ParseWithLength + cJSON_Delete per line (the JSON
 *                library alone, no conversion)
 *   old-record   jsonrec_decode_cjson per line: cJSON tree + convert_json
 *                into a RowBatch (the NDJSON decoder before jsonrec)
 *   new-record   jsonrec_decode per line: the schema-directed decoder
 *   ndjson       decoder_feed in 64 KiB chunks (new decoder, with record
 *                splitting), rows into a RowBatch drained after every chunk
 *   csv          the same events as CSV
 * The RowBatch is reset every 4096 rows in the per-line runs.  Each is run
 * `reps` times (default 3) and the best run is printed: rows/s, MB/s and
 * the speed as a ratio of old-record's.
 * Not built by default (not in CMakeLists).  Build from /work/main:
 *
 *   gcc -O2 -DNDEBUG -Isrc bench/decode_bench.c src/ingest/convert.c \
 *       src/ingest/decoder.c src/ingest/jsonrec.c src/base/?*.c \
 *       src/storage/types.c src/storage/value.c -lcjson -lxxhash -lm \
 *       -lpthread -o /tmp/decode_bench
 *   /tmp/decode_bench [rows [reps]]      (default 1,000,000 and 3)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "base/mem.h"
#include "ingest/decoder.h"
#include "ingest/jsonrec.h"

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static Schema *
bench_schema(void)
{
	static const struct {
		const char *name;
		WbType t;
		int sv;
	} cols[] = {
		{"orderId", TYPE_STRING, 1}, {"service", TYPE_STRING, 1},
		{"stage", TYPE_STRING, 1},   {"market", TYPE_STRING, 1},
		{"ts", TYPE_TIMESTAMP, 1},   {"amount", TYPE_DOUBLE, 1},
		{"items", TYPE_INT, 1},      {"storeId", TYPE_LONG, 1},
		{"express", TYPE_BOOLEAN, 1}, {"flags", TYPE_STRING, 0},
	};
	int n = (int)(sizeof cols / sizeof *cols);
	Schema *s = mem_calloc(1, sizeof *s);
	arena_init(&s->arena, 4096);
	s->nfields = n;
	s->fields = arena_calloc(&s->arena, sizeof(Field) * (size_t)n);
	for (int i = 0; i < n; i++) {
		Field *f = &s->fields[i];
		f->name = cols[i].name;
		f->type = cols[i].t;
		f->single_value = cols[i].sv;
		if (type_is_var(f->type))
			f->default_null = value_str(f->type, "null", 4);
		else if (type_is_float(f->type))
			f->default_null = value_double(f->type, -INFINITY);
		else
			f->default_null = value_int(f->type, 0);
	}
	return s;
}

static const char *services[] = {"order", "payment", "inventory", "picking", "dispatch"};
static const char *stages[] = {"CREATED", "AUTHORIZED", "RESERVED", "PICKED", "SHIPPED"};
static const char *markets[] = {"US", "CA", "MX"};

static void
make_bodies(long rows, Buf *nd, Buf *csv)
{
	buf_puts(csv, "orderId,service,stage,market,ts,amount,items,storeId,express,flags\n");
	uint64_t x = 88172645463325252ull;
	for (long i = 0; i < rows; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int k = (int)(x % 5), m = (int)(x % 3);
		long long ts = 1716800000000LL + i * 37;
		double amount = (double)(x % 100000) / 100.0;
		buf_printf(nd,
			   "{\"orderId\":\"ORD-%010ld\",\"service\":\"%s\",\"stage\":\"%s\","
			   "\"market\":\"%s\",\"ts\":%lld,\"amount\":%.2f,\"items\":%d,"
			   "\"storeId\":%d,\"express\":%s,\"flags\":[\"gift\",\"prio-%d\"],"
			   "\"note\":\"ok\"}\n",
			   i, services[k], stages[k], markets[m], ts, amount, (int)(x % 9) + 1,
			   (int)(x % 5000), x & 1 ? "true" : "false", k);
		buf_printf(csv, "ORD-%010ld,%s,%s,%s,%lld,%.2f,%d,%d,%s,gift;prio-%d\n", i,
			   services[k], stages[k], markets[m], ts, amount, (int)(x % 9) + 1,
			   (int)(x % 5000), x & 1 ? "true" : "false", k);
	}
}

static double
bench_decoder(DecodeFormat fmt, const Schema *s, const Buf *body, long *rows_out)
{
	Err e = {0};
	Decoder *d = decoder_create(fmt, s, NULL, &e);
	RowBatch b;
	rowbatch_init(&b, s->nfields);
	long rows = 0;
	const size_t chunk = 64 * 1024;
	double t0 = now();
	for (size_t off = 0; off < body->len; off += chunk) {
		size_t n = body->len - off < chunk ? body->len - off : chunk;
		if (decoder_feed(d, body->p + off, n, &b, NULL, NULL) != 0) {
			fprintf(stderr, "out of memory\n");
			exit(1);
		}
		rows += (long)b.nrows;
		rowbatch_reset(&b);
	}
	decoder_finish(d, &b, NULL, NULL);
	rows += (long)b.nrows;
	double t = now() - t0;
	DecodeStats st;
	decoder_stats(d, &st);
	if (st.rejected)
		fprintf(stderr, "unexpected rejects: %llu\n", (unsigned long long)st.rejected);
	rowbatch_free(&b);
	decoder_free(d);
	*rows_out = rows;
	return t;
}

/* Decodes every line of body with the new (legacy = 0) or the cJSON
 * record decoder; returns the time. */
static double
bench_records(const Schema *s, const Buf *body, int legacy, long *rows_out)
{
	Err e = {0};
	JsonRec *j = jsonrec_create(s, &e);
	RowBatch b;
	rowbatch_init(&b, s->nfields);
	long rows = 0, bad = 0;
	double t0 = now();
	for (const char *p = body->p, *end = body->p + body->len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		int col;
		int rc = legacy ? jsonrec_decode_cjson(j, p, len, &b, &col, &e)
				: jsonrec_decode(j, p, len, &b, &col, &e);
		if (rc != 0)
			bad++;
		if (b.nrows == 4096) {
			rows += (long)b.nrows;
			rowbatch_reset(&b);
		}
		p += len + 1;
	}
	rows += (long)b.nrows;
	double t = now() - t0;
	if (bad)
		fprintf(stderr, "unexpected rejects: %ld\n", bad);
	rowbatch_free(&b);
	jsonrec_free(j);
	*rows_out = rows;
	return t;
}

static void
report(const char *what, long rows, size_t bytes, double t, double base)
{
	printf("%-12s %9ld rows  %8.0f rows/s  %7.1f MB/s", what, rows, rows / t,
	       (double)bytes / t / 1e6);
	if (base > 0)
		printf("  x%.2f of old-record", base / t);
	printf("\n");
}

int
main(int argc, char **argv)
{
	long rows = argc > 1 ? atol(argv[1]) : 1000000;
	Schema *s = bench_schema();
	Buf nd, csv;
	buf_init(&nd);
	buf_init(&csv);
	make_bodies(rows, &nd, &csv);
	printf("NDJSON %.1f MB (%.0f bytes/event), CSV %.1f MB\n", nd.len / 1e6,
	       (double)nd.len / (double)rows, csv.len / 1e6);

	int reps = argc > 2 ? atoi(argv[2]) : 3;
	double t_cjson = 1e30, t_nd = 1e30, t_csv = 1e30, t_old = 1e30, t_new = 1e30;
	long parsed = 0, got_nd = 0, got_csv = 0, got_old = 0, got_new = 0;
	for (int r = 0; r < reps; r++) {
		double t0 = now();
		parsed = 0;
		for (const char *p = nd.p, *end = nd.p + nd.len; p < end;) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			cJSON *j = cJSON_ParseWithLength(p, (size_t)(nl - p));
			parsed += j != NULL;
			cJSON_Delete(j);
			p = nl + 1;
		}
		double t = now() - t0;
		t_cjson = t < t_cjson ? t : t_cjson;
		t = bench_records(s, &nd, 1, &got_old);
		t_old = t < t_old ? t : t_old;
		t = bench_records(s, &nd, 0, &got_new);
		t_new = t < t_new ? t : t_new;
		t = bench_decoder(DECODE_NDJSON, s, &nd, &got_nd);
		t_nd = t < t_nd ? t : t_nd;
		t = bench_decoder(DECODE_CSV, s, &csv, &got_csv);
		t_csv = t < t_csv ? t : t_csv;
	}
	report("cjson-parse", parsed, nd.len, t_cjson, t_old);
	report("old-record", got_old, nd.len, t_old, t_old);
	report("new-record", got_new, nd.len, t_new, t_old);
	report("ndjson", got_nd, nd.len, t_nd, t_old);
	report("csv", got_csv, csv.len, t_csv, t_old);

	buf_free(&nd);
	buf_free(&csv);
	arena_free(&s->arena);
	mem_free(s);
	return 0;
}
