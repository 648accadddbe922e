/*
 * fuzz_common.h -- what the libFuzzer targets (tests/fuzz/fuzz_*.c) and
 * the corpus replay test (tests/unit/server/test_pgfuzz.c) share: the
 * catalog every pgwire session runs against, and the one-input bodies of
 * the pglex and pgproto_param_literal targets with their oracles.
 *
 * Header-only (static inline functions) because the unit-test build compiles
 * each test_*.c alone.  The catalog lives in a fresh temporary directory
 * with one table "fz" (every column type, a multi-value column, NULLs,
 * one sealed segment and one mutable one) so queries touch real data;
 * the fuzz targets open it once per process and never close it (the
 * directory is removed at exit), the replay test closes it in teardown.
 *
 * The oracles return 0, or a short description of the broken invariant
 * (the fuzz targets abort() with it, the replay test fails with it):
 *   pglex: spans and tokens lie inside the input, in order, and every
 *     token makes progress; pglex_split finds no more statements when
 *     given room for more; pglex_max_param agrees with the $n tokens;
 *     and where PostgreSQL's own scanner (libpg_query's pg_query_scan)
 *     accepts the text, both find the same ';' and $n tokens at the same
 *     offsets -- a disagreement is where a spliced parameter or a
 *     statement split could land inside a string or comment.
 *   param literal: a literal that was produced is one SQL value and
 *     cannot change the statement it is spliced into: "SELECT <lit>"
 *     lexes to one statement with no ';' and no $n, and every string
 *     it holds is closed.
 */
#ifndef WB_FUZZ_COMMON_H
#define WB_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/file.h"
#include "base/log.h"
#include "base/mem.h"
#include "server/pglex.h"
#include "server/pgproto.h"
#include "server/pgwire.h"
#include "table/catalog.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#define FZ_SCHEMA                                                                                    \
	"{\"schemaName\":\"fz\",\"dimensionFieldSpecs\":["                                           \
	"{\"name\":\"name\",\"dataType\":\"STRING\"},"                                               \
	"{\"name\":\"team\",\"dataType\":\"STRING\"},"                                               \
	"{\"name\":\"tags\",\"dataType\":\"STRING\",\"singleValueField\":false},"                    \
	"{\"name\":\"nums\",\"dataType\":\"INT\",\"singleValueField\":false},"                       \
	"{\"name\":\"active\",\"dataType\":\"BOOLEAN\"},"                                            \
	"{\"name\":\"doc\",\"dataType\":\"JSON\"},"                                                  \
	"{\"name\":\"raw\",\"dataType\":\"BYTES\"}],"                                                \
	"\"metricFieldSpecs\":[{\"name\":\"games\",\"dataType\":\"INT\"},"                           \
	"{\"name\":\"hits\",\"dataType\":\"LONG\"},{\"name\":\"avg\",\"dataType\":\"DOUBLE\"},"      \
	"{\"name\":\"ratio\",\"dataType\":\"FLOAT\"}],"                                              \
	"\"dateTimeFieldSpecs\":[{\"name\":\"ts\",\"dataType\":\"TIMESTAMP\","                       \
	"\"format\":\"1:MILLISECONDS:TIMESTAMP\",\"granularity\":\"1:MILLISECONDS\"}],"              \
	"\"enableColumnBasedNullHandling\":true}"
#define FZ_TABLE                                                                                     \
	"{\"tableName\":\"fz\",\"tableType\":\"OFFLINE\",\"segmentsConfig\":{\"schemaName\":\"fz\","  \
	"\"replication\":\"1\"},\"tableIndexConfig\":{\"invertedIndexColumns\":[\"team\"]}}"

#define FZ_ROWS 24

static inline int
fz_col(const Schema *s, const char *name)
{
	for (int i = 0; i < s->nfields; i++)
		if (strcmp(s->fields[i].name, name) == 0)
			return i;
	return -1;
}

static inline Value
fz_str(RowBatch *b, WbType t, const char *s, size_t n)
{
	return value_str(t, arena_strndup(&b->arena, s, n), (uint32_t)n);
}

/* Rows [from, to) of table fz; row 7 of each 8 is mostly NULL. */
static inline int
fz_write(Table *t, const Schema *sc, int from, int to, Err *e)
{
	static const char *const names[] = {"Hank", "Willie", "Shohei", "Babe", "Ichiro", "O'Neil", "Zoë",
					    "tab\there"};
	static const char *const teams[] = {"ATL", "SFN", "LAD", "NYA"};
	RowBatch b;
	rowbatch_init(&b, sc->nfields);
	for (int i = from; i < to; i++) {
		Value *r = rowbatch_add_row(&b);
		for (int c = 0; c < sc->nfields; c++)
			r[c] = value_null(sc->fields[c].type);
		if (i % 8 == 7) {
			const char *nm = "Nobody";
			r[fz_col(sc, "name")] = fz_str(&b, TYPE_STRING, nm, strlen(nm));
			continue;
		}
		const char *nm = names[i % 8];
		r[fz_col(sc, "name")] = fz_str(&b, TYPE_STRING, nm, strlen(nm));
		r[fz_col(sc, "team")] = fz_str(&b, TYPE_STRING, teams[i % 4], strlen(teams[i % 4]));
		int ntags = i % 3;
		Value *tags = arena_alloc(&b.arena, sizeof(Value) * 3);
		Value *nums = arena_alloc(&b.arena, sizeof(Value) * 3);
		for (int k = 0; k < ntags; k++) {
			tags[k] = fz_str(&b, TYPE_STRING, teams[(i + k) % 4], 3);
			nums[k] = value_int(TYPE_INT, i * 10 + k);
		}
		Value mv = {.type = TYPE_STRING, .mv = 1, .n = (uint32_t)ntags};
		mv.u.mv = tags;
		r[fz_col(sc, "tags")] = mv;
		mv.type = TYPE_INT;
		mv.u.mv = nums;
		r[fz_col(sc, "nums")] = mv;
		r[fz_col(sc, "active")] = value_int(TYPE_BOOLEAN, i % 2);
		char doc[64];
		int n = snprintf(doc, sizeof(doc), "{\"a\":%d,\"b\":[\"x\",%d]}", i, i * 2);
		r[fz_col(sc, "doc")] = fz_str(&b, TYPE_JSON, doc, (size_t)n);
		char raw[4] = {(char)i, 0, (char)0xff, '\\'};
		r[fz_col(sc, "raw")] = fz_str(&b, TYPE_BYTES, raw, sizeof(raw));
		r[fz_col(sc, "games")] = value_int(TYPE_INT, 100 * i - 700);
		r[fz_col(sc, "hits")] = value_int(TYPE_LONG, (int64_t)i * 1000000007LL);
		r[fz_col(sc, "avg")] = value_double(TYPE_DOUBLE, i / 7.0);
		r[fz_col(sc, "ratio")] = value_double(TYPE_FLOAT, (float)(i * 0.25));
		r[fz_col(sc, "ts")] = value_int(TYPE_TIMESTAMP, 1700000000000LL + (int64_t)i * 86400500LL);
	}
	int rc = table_write(t, &b, e);
	rowbatch_free(&b);
	return rc;
}

/* Opens a catalog in a new directory under /tmp (its path into dir, at
 * least 64 bytes) holding table fz; NULL on failure (message on stderr). */
static inline Catalog *
fz_catalog_open(char *dir)
{
	Err e;
	err_clear(&e);
	snprintf(dir, 64, "/tmp/wb-fuzz-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "fuzz: mkdtemp failed\n");
		return NULL;
	}
	Catalog *cat = NULL;
	if (catalog_open(dir, &cat, &e) != 0)
		goto fail;
	if (catalog_put_schema(cat, FZ_SCHEMA, strlen(FZ_SCHEMA), 1, NULL, &e) != 0 ||
	    catalog_put_table(cat, FZ_TABLE, strlen(FZ_TABLE), 1, NULL, NULL, &e) != 0)
		goto fail;
	Table *t = catalog_get_table(cat, "fz");
	Schema *sc = catalog_get_schema(cat, "fz");
	int rc = t && sc ? 0 : -1;
	if (rc == 0)
		rc = fz_write(t, sc, 0, FZ_ROWS / 2, &e);
	if (rc == 0)
		rc = table_seal(t, &e);
	if (rc == 0)
		rc = fz_write(t, sc, FZ_ROWS / 2, FZ_ROWS, &e);
	if (sc)
		schema_unref(sc);
	if (t)
		table_unref(t);
	if (rc != 0)
		goto fail;
	return cat;
fail:
	fprintf(stderr, "fuzz: catalog set-up failed: %s\n", err_msg(&e));
	if (cat)
		catalog_close(cat);
	return NULL;
}

static inline void
fz_catalog_close(Catalog *cat, const char *dir)
{
	Err e;
	err_clear(&e);
	if (cat)
		catalog_close(cat);
	file_remove_tree(dir, &e);
}

/* ---- pglex ---------------------------------------------------------------- */

/* ';' and $n offsets of PostgreSQL's scanner vs pglex's; 0 = agree (or
 * PostgreSQL rejects the text). */
static inline const char *
fz_pglex_vs_pg(const char *data, size_t len)
{
	static char why[160];
	if (len == 0 || len > 65536 || memchr(data, '\0', len) != NULL)
		return NULL;
	/* WB_FUZZ_SKIP=cr: skip texts with a CR (a known difference, so
	 * fuzzing can go on until it is fixed) */
	const char *skip = getenv("WB_FUZZ_SKIP");
	if (skip && strstr(skip, "cr") && memchr(data, '\r', len) != NULL)
		return NULL;
	/* WB_FUZZ_SKIP=num: skip texts where pglex reads a number PostgreSQL
	 * would not (more than one '.', or letters other than an exponent) */
	if (skip && strstr(skip, "num")) {
		PgLex l;
		PgTok t;
		pglex_init(&l, data, len);
		while (pglex_next(&l, &t) != PGT_END) {
			if (t.kind != PGT_NUMBER)
				continue;
			int dots = 0, odd = 0;
			for (size_t i = t.start; i < t.start + t.len; i++) {
				char c = data[i];
				dots += c == '.';
				odd |= !(c >= '0' && c <= '9') && !strchr(".eE+-", c);
			}
			if (dots > 1 || odd)
				return NULL;
		}
	}
	char *z = mem_alloc(len + 1);
	if (z == NULL)
		return NULL;
	memcpy(z, data, len);
	z[len] = '\0';
	PgQueryScanResult r = pg_query_scan(z);
	const char *bad = NULL;
	PgQuery__ScanResult *sr = NULL;
	if (r.error == NULL)
		sr = pg_query__scan_result__unpack(NULL, r.pbuf.len, (const uint8_t *)r.pbuf.data);
	if (sr != NULL) {
		PgLex l;
		pglex_init(&l, z, len);
		PgTok t;
		size_t k = 0;
		for (;;) {
			PgTokKind kind;
			do
				kind = pglex_next(&l, &t);
			while (kind != PGT_END && kind != PGT_SEMI && kind != PGT_PARAM);
			while (k < sr->n_tokens && sr->tokens[k]->token != PG_QUERY__TOKEN__ASCII_59 &&
			       sr->tokens[k]->token != PG_QUERY__TOKEN__PARAM)
				k++;
			if (kind == PGT_END && k == sr->n_tokens)
				break;
			if (kind == PGT_END || k == sr->n_tokens) {
				snprintf(why, sizeof(why), "pglex vs PostgreSQL: %s ';'/$n token at offset %zu",
					 kind == PGT_END ? "pglex misses the" : "pglex has an extra",
					 kind == PGT_END ? (size_t)sr->tokens[k]->start : t.start);
				bad = why;
				break;
			}
			PgQuery__ScanToken *pt = sr->tokens[k++];
			int pk = pt->token == PG_QUERY__TOKEN__PARAM ? PGT_PARAM : PGT_SEMI;
			if ((size_t)pt->start != t.start || (int)kind != pk ||
			    (kind == PGT_PARAM && (size_t)pt->end != t.start + t.len)) {
				snprintf(why, sizeof(why),
					 "pglex vs PostgreSQL: pglex has %s at offset %zu, PostgreSQL %s at %d",
					 kind == PGT_PARAM ? "$n" : "';'", t.start, pk == PGT_PARAM ? "$n" : "';'",
					 (int)pt->start);
				bad = why;
				break;
			}
		}
		pg_query__scan_result__free_unpacked(sr, NULL);
	}
	pg_query_free_scan_result(r);
	mem_free(z);
	return bad;
}

static inline const char *
fz_pglex_one(const char *data, size_t len)
{
	PgSpan spans[64];
	int n = pglex_split(data, len, spans, 64);
	if (n < 0 || n > 64)
		return "pglex_split: count out of range";
	for (int i = 0; i < n; i++) {
		if (spans[i].start > spans[i].end || spans[i].end > len)
			return "pglex_split: span outside the input";
		if (i > 0 && spans[i].start < spans[i - 1].end)
			return "pglex_split: spans overlap";
	}
	PgSpan few[2];
	int m = pglex_split(data, len, few, 2);
	if (m != (n < 2 ? n : 2))
		return "pglex_split: count depends on max";
	for (int i = 0; i < m; i++)
		if (few[i].start != spans[i].start || few[i].end != spans[i].end)
			return "pglex_split: spans depend on max";

	PgLex l;
	pglex_init(&l, data, len);
	PgTok t;
	Buf b;
	buf_init(&b);
	size_t prev_end = 0, ntok = 0;
	int maxp = 0;
	const char *bad = NULL;
	while (pglex_next(&l, &t) != PGT_END) {
		if (++ntok > len + 1) {
			bad = "pglex_next: no progress";
			break;
		}
		if (t.start < prev_end || t.start + t.len > len || t.len == 0) {
			bad = "pglex_next: token outside the input or empty";
			break;
		}
		prev_end = t.start + t.len;
		if (t.kind == PGT_PARAM && t.param > maxp)
			maxp = t.param;
		buf_reset(&b);
		pglex_text(&l, &t, &b);
		(void)pglex_is(&l, &t, "select");
		(void)pglex_is(&l, &t, "");
	}
	buf_free(&b);
	if (bad)
		return bad;
	if (pglex_max_param(data, len) != maxp)
		return "pglex_max_param disagrees with the $n tokens";
	return fz_pglex_vs_pg(data, len);
}

/* ---- pgproto_param_literal ------------------------------------------------ */

/* Checks that "SELECT " + lit + " AS zz_end" is one statement that
 * ends with the word zz_end at parenthesis depth 0 (so every string,
 * quoted identifier, comment and parenthesis in lit is closed) and has
 * neither ';' nor $n in lit. */
static inline const char *
fz_literal_check(const char *lit, size_t n)
{
	static const char tail[] = " AS zz_end";
	Buf q;
	buf_init(&q);
	buf_puts(&q, "SELECT ");
	buf_append(&q, lit, n);
	buf_puts(&q, tail);
	const char *bad = NULL;
	if (q.oom)
		goto out;
	PgLex l;
	pglex_init(&l, q.p, q.len);
	PgTok t, last = {0};
	while (bad == NULL && pglex_next(&l, &t) != PGT_END) {
		if (t.kind == PGT_SEMI)
			bad = "param literal holds a ';'";
		else if (t.kind == PGT_PARAM)
			bad = "param literal holds a $n";
		last = t;
	}
	if (bad == NULL && (last.kind != PGT_IDENT || last.start != q.len - 6 || last.depth != 0))
		bad = "param literal leaves a string, comment or parenthesis open";
	PgSpan sp[2];
	if (bad == NULL && pglex_split(q.p, q.len, sp, 2) != 1)
		bad = "param literal splits the statement";
out:
	buf_free(&q);
	return bad;
}

/* Input: [0] picks the OID (below 0xE0: one of the known OIDs; else the
 * next four bytes are a raw OID), then one byte whose low bit is the
 * format and whose bit 1 means a NULL (length -1); the rest is the
 * value. */
static inline const char *
fz_param_one(const char *data, size_t len)
{
	static const int32_t fz_oids[] = {
		0, PG_BOOL, PG_BYTEA, PG_NAME, PG_INT8, PG_INT2, PG_INT4, PG_TEXT, PG_OID, PG_JSON, PG_FLOAT4,
		PG_FLOAT8, PG_UNKNOWN, PG_BOOL_ARR, PG_BYTEA_ARR, PG_INT2_ARR, PG_INT4_ARR, PG_TEXT_ARR,
		PG_INT8_ARR, PG_FLOAT4_ARR, PG_FLOAT8_ARR, PG_BPCHAR, PG_VARCHAR, PG_DATE, PG_TIMESTAMP,
		PG_TIMESTAMP_ARR, PG_TIMESTAMPTZ, PG_NUMERIC, PG_JSON_ARR, PG_JSONB, 1083, 1266, 2950, 3904
	};
	if (len < 2)
		return NULL;
	int32_t oid;
	size_t off;
	unsigned char k = (unsigned char)data[0];
	if (k < 0xE0) {
		oid = fz_oids[k % (sizeof(fz_oids) / sizeof(fz_oids[0]))];
		off = 1;
	} else {
		if (len < 6)
			return NULL;
		const unsigned char *u = (const unsigned char *)data + 1;
		oid = (int32_t)((uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3]);
		off = 5;
	}
	unsigned char fl = (unsigned char)data[off++];
	int binary = fl & 1;
	size_t n = len - off;
	if (n > INT32_MAX)
		return NULL;
	/* a copy of exactly n bytes, so ASan sees any read past the value */
	char *v = mem_alloc(n ? n : 1);
	if (v == NULL)
		return NULL;
	memcpy(v, data + off, n);
	Buf out;
	buf_init(&out);
	Err e;
	err_clear(&e);
	int rc = pgproto_param_literal(3, oid, binary, v, (fl & 2) ? -1 : (int32_t)n, &out, &e);
	const char *bad = NULL;
	if (rc == 0 && out.len == 0 && !out.oom)
		bad = "param literal: success with no text";
	else if (rc == 0 && !out.oom)
		bad = fz_literal_check(out.p, out.len);
	else if (rc != 0 && e.msg[0] == '\0')
		bad = "param literal: error without a message";
	buf_free(&out);
	mem_free(v);
	return bad;
}

#endif
