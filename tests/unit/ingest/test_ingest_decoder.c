/*
 * test_ingest_decoder.c -- the streaming NDJSON/CSV decoder: chunk
 * splitting at every byte, malformed lines of many kinds with their line
 * numbers, CSV quoting, multi-values, nulls, the record size limit, stats
 * and allocation failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "ingest/decoder.h"
#include "ingest_testutil.h"

/* What a decode produced: rows as JSON arrays, one per line, then rejects
 * as "REJECT line|column|reason|raw". */
typedef struct Run {
	Buf rows;
	Buf rejects;
	int nrows;
	int nrej;
	uint64_t lines[2048];
	DecodeStats st;
	int rc;
} Run;

static void
on_reject(void *ctx, uint64_t line, const char *column, const char *reason, const char *raw,
	  size_t raw_len)
{
	Run *r = ctx;
	if (r->nrej < 2048)
		r->lines[r->nrej] = line;
	r->nrej++;
	buf_printf(&r->rejects, "REJECT %" PRIu64 "|%s|%s|", line, column ? column : "-", reason);
	buf_append(&r->rejects, raw, raw_len);
	buf_putc(&r->rejects, '\n');
}

static void
drain(Run *r, RowBatch *b)
{
	for (size_t i = 0; i < b->nrows; i++) {
		Value *row = rowbatch_row(b, i);
		buf_putc(&r->rows, '[');
		for (int c = 0; c < b->ncols; c++) {
			if (c)
				buf_putc(&r->rows, ',');
			if (row[c].null)
				buf_puts(&r->rows, "null");
			else
				value_json(&row[c], &r->rows);
		}
		buf_puts(&r->rows, "]\n");
		r->nrows++;
	}
	rowbatch_reset(b);
}

/* Decodes body fed in pieces of `chunk` bytes (0 = all at once), or split
 * once at `split` when chunk < 0. */
static void
run(Run *r, DecodeFormat fmt, const Schema *s, const DecodeOpts *o, const char *body,
    size_t len, long chunk, size_t split)
{
	memset(r, 0, sizeof *r);
	buf_init(&r->rows);
	buf_init(&r->rejects);
	Err e = {0};
	Decoder *d = decoder_create(fmt, s, o, &e);
	assert_non_null(d);
	RowBatch b;
	rowbatch_init(&b, s->nfields);
	size_t off = 0;
	while (off < len && r->rc == 0) {
		size_t n = len - off;
		if (chunk > 0 && (size_t)chunk < n)
			n = (size_t)chunk;
		if (chunk < 0 && off < split)
			n = split - off;
		r->rc = decoder_feed(d, body + off, n, &b, on_reject, r);
		drain(r, &b);
		off += n;
	}
	if (r->rc == 0)
		r->rc = decoder_finish(d, &b, on_reject, r);
	drain(r, &b);
	decoder_stats(d, &r->st);
	rowbatch_free(&b);
	decoder_free(d);
}

static void
run_free(Run *r)
{
	buf_free(&r->rows);
	buf_free(&r->rejects);
}

static const char *
str(const Buf *b)
{
	return b->p ? b->p : "";
}

static void
test_ndjson_basic(void **state)
{
	Schema *s = mk_schema("id:LONG,name:STRING,score:DOUBLE,tags:STRING[],ok:BOOLEAN");
	const char *body = "{\"id\":1,\"name\":\"a\",\"score\":1.5,\"tags\":[\"x\",\"y\"],\"ok\":true,"
			   "\"extra\":{\"deep\":1}}\n"
			   "{\"name\":\"b\",\"id\":2}\n"
			   "{\"id\":3,\"Name\":\"ignored\",\"name\":\"c\",\"name\":\"c2\",\"tags\":\"t\"}\n";
	Run r;
	run(&r, DECODE_NDJSON, s, NULL, body, strlen(body), 0, 0);
	assert_int_equal(r.rc, 0);
	assert_string_equal(str(&r.rejects), "");
	assert_string_equal(str(&r.rows), "[1,\"a\",1.5,[\"x\",\"y\"],true]\n"
					  "[2,\"b\",null,null,null]\n"
					  "[3,\"c2\",null,[\"t\"],null]\n");
	assert_int_equal(r.st.records, 3);
	assert_int_equal(r.st.accepted, 3);
	assert_int_equal(r.st.rejected, 0);
	assert_int_equal(r.st.bytes, strlen(body));
	assert_int_equal(r.st.lines, 3);
	run_free(&r);
	free_schema(s);
}

static void
test_ndjson_defaults_in_rows(void **state)
{
	Schema *s = mk_schema("a:INT,m:LONG!,s:STRING");
	Err e = {0};
	Decoder *d = decoder_create(DECODE_NDJSON, s, NULL, &e);
	RowBatch b;
	rowbatch_init(&b, 3);
	const char *body = "{\"a\":null}";
	assert_int_equal(decoder_feed(d, body, strlen(body), &b, NULL, NULL), 0);
	assert_int_equal(b.nrows, 0);	/* no newline yet */
	assert_int_equal(decoder_finish(d, &b, NULL, NULL), 0);
	assert_int_equal(b.nrows, 1);
	Value *row = rowbatch_row(&b, 0);
	assert_int_equal(row[0].null, 1);
	assert_int_equal(row[0].type, TYPE_INT);
	assert_int_equal(row[0].u.i, INT32_MIN);
	assert_int_equal(row[1].null, 1);
	assert_int_equal(row[1].type, TYPE_LONG);
	assert_int_equal(row[1].u.i, 0);
	assert_int_equal(row[2].null, 1);
	assert_memory_equal(row[2].u.s, "null", 4);
	rowbatch_free(&b);
	decoder_free(d);
	free_schema(s);
}

/* A body with every oddity; decoding it split at any byte must give the
 * same transcript as decoding it whole. */
static const char split_body[] =
	"\xEF\xBB\xBF{\"id\":1,\"name\":\"h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80\"}\r\n"
	"\n"
	"   \r\n"
	"{\"id\":\"x\",\"name\":\"bad type\"}\n"
	"{\"id\":2,\"name\":\"caf\xC3\xA9\",\"tags\":[1,2]}\n"
	"not json\n"
	"{\"id\":3,\"name\":\"bad \xC3 utf8\"}\n"
	"[1,2]\n"
	"{\"id\":4}";

static void
test_split_every_byte(void **state)
{
	Schema *s = mk_schema("id:INT,name:STRING,tags:INT[]");
	size_t len = sizeof split_body - 1;
	Run whole;
	run(&whole, DECODE_NDJSON, s, NULL, split_body, len, 0, 0);
	assert_int_equal(whole.rc, 0);
	assert_int_equal(whole.nrows, 3);
	assert_int_equal(whole.nrej, 4);
	assert_string_equal(str(&whole.rows),
			    "[1,\"h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80\",null]\n"
			    "[2,\"caf\xC3\xA9\",[1,2]]\n"
			    "[4,null,null]\n");
	assert_int_equal(whole.lines[0], 4);
	assert_int_equal(whole.lines[1], 6);
	assert_int_equal(whole.lines[2], 7);
	assert_int_equal(whole.lines[3], 8);
	assert_non_null(strstr(str(&whole.rejects), "REJECT 4|id|column 'id': expected INT, got \"x\"|"));
	assert_non_null(strstr(str(&whole.rejects), "REJECT 7|name|column 'name': invalid UTF-8|"));
	assert_non_null(strstr(str(&whole.rejects), "REJECT 8|-|JSON value is not an object|[1,2]"));
	assert_int_equal(whole.st.lines, 9);
	assert_int_equal(whole.st.records, 7);
	for (size_t k = 1; k < len; k++) {
		Run part;
		run(&part, DECODE_NDJSON, s, NULL, split_body, len, -1, k);
		assert_int_equal(part.rc, 0);
		assert_string_equal(str(&part.rows), str(&whole.rows));
		assert_string_equal(str(&part.rejects), str(&whole.rejects));
		assert_int_equal(part.st.bytes, len);
		assert_int_equal(part.st.lines, whole.st.lines);
		run_free(&part);
	}
	for (long chunk = 1; chunk <= 7; chunk++) {
		Run part;
		run(&part, DECODE_NDJSON, s, NULL, split_body, len, chunk, 0);
		assert_string_equal(str(&part.rows), str(&whole.rows));
		assert_string_equal(str(&part.rejects), str(&whole.rejects));
		run_free(&part);
	}
	run_free(&whole);
	free_schema(s);
}

static const char csv_split_body[] =
	"\xEF\xBB\xBFid,name,tags\r\n"
	"1,\"multi\r\nline, with \"\"quotes\"\"\",1;2\r\n"
	"\r\n"
	"2,caf\xC3\xA9,\r\n"
	"x,bad,\r\n"
	"3,\"\",7\n"
	"4,too\n"
	"5,\"unterminated";

static void
test_csv_split_every_byte(void **state)
{
	Schema *s = mk_schema("id:INT,name:STRING,tags:INT[]");
	size_t len = sizeof csv_split_body - 1;
	Run whole;
	run(&whole, DECODE_CSV, s, NULL, csv_split_body, len, 0, 0);
	assert_int_equal(whole.rc, 0);
	assert_string_equal(str(&whole.rows),
			    "[1,\"multi\\r\\nline, with \\\"quotes\\\"\",[1,2]]\n"
			    "[2,\"caf\xC3\xA9\",null]\n"
			    "[3,\"\",[7]]\n");
	assert_int_equal(whole.nrej, 3);
	assert_int_equal(whole.lines[0], 6);
	assert_int_equal(whole.lines[1], 8);
	assert_int_equal(whole.lines[2], 9);
	assert_non_null(strstr(str(&whole.rejects), "REJECT 8|-|expected 3 fields, got 2|"));
	assert_non_null(strstr(str(&whole.rejects),
			       "REJECT 9|-|unterminated quoted field at end of body|5,\"unterminated"));
	assert_int_equal(whole.st.records, 6);
	for (size_t k = 1; k < len; k++) {
		Run part;
		run(&part, DECODE_CSV, s, NULL, csv_split_body, len, -1, k);
		assert_string_equal(str(&part.rows), str(&whole.rows));
		assert_string_equal(str(&part.rejects), str(&whole.rejects));
		run_free(&part);
	}
	Run one;
	run(&one, DECODE_CSV, s, NULL, csv_split_body, len, 1, 0);
	assert_string_equal(str(&one.rows), str(&whole.rows));
	assert_string_equal(str(&one.rejects), str(&whole.rejects));
	run_free(&one);
	run_free(&whole);
	free_schema(s);
}

/* 1,000 records, every 10th malformed in one of many ways, with blank
 * lines in between so line numbers differ from record numbers. */
static void
test_ten_percent_malformed(void **state)
{
	Schema *s = mk_schema("id:LONG,name:STRING,n:INT,price:DOUBLE,ts:TIMESTAMP,tags:STRING[]");
	static const char *bad[] = {
		"{\"id\":1,\"name\":\"a\"",			/* truncated JSON */
		"[1,2,3]",					/* not an object */
		"\"just a string\"",				/* not an object */
		"{\"id\":\"abc\"}",				/* wrong type */
		"{\"id\":1,\"n\":4294967296}",			/* out of range */
		"{\"id\":1,\"name\":\"\xFF\xFE\"}",		/* invalid UTF-8 */
		"{\"id\":1} trailing",				/* text after value */
		"{\"id\":1,\"n\":1.5}",				/* fraction for INT */
		"{\"id\":1,\"ts\":\"not a time\"}",		/* bad timestamp */
		"{\"id\":1,\"tags\":[\"a\",{\"x\":1}],\"price\":true}", /* bool for DOUBLE */
		"{\"id\":1,\"name\":\"unterminated}",		/* bad string */
		"{\"id\":1,,}",					/* syntax */
		"{\"id\":1,\"price\":1e999}",			/* double overflow */
		"{\"id\":1,\"n\":[1]}",				/* array for SV */
		"{\"id\":1,\"x\":\"" /* + filler: too long */,
	};
	const size_t nbad = sizeof bad / sizeof *bad;
	DecodeOpts o;
	decoder_opts_init(&o);
	o.max_record = 300;
	Buf body;
	buf_init(&body);
	uint64_t line = 0, want_lines[100];
	int nwant = 0;
	for (int i = 0; i < 1000; i++) {
		if (i % 7 == 3) {
			buf_puts(&body, i % 2 ? "\n" : "  \r\n");
			line++;
		}
		line++;
		if (i % 10 == 9) {
			const char *b = bad[(size_t)(i / 10) % nbad];
			buf_puts(&body, b);
			if ((size_t)(i / 10) % nbad == nbad - 1) {
				for (int k = 0; k < 400; k++)
					buf_putc(&body, 'z');
				buf_puts(&body, "\"}");
			}
			want_lines[nwant++] = line;
		} else {
			buf_printf(&body,
				   "{\"id\":%d,\"name\":\"user-%d\",\"n\":%d,\"price\":%d.25,"
				   "\"ts\":\"2024-05-0%dT10:00:00Z\",\"tags\":[\"a\",\"b%d\"]}",
				   i, i, i * 3, i, 1 + i % 9, i);
		}
		buf_puts(&body, i % 3 ? "\n" : "\r\n");
	}
	for (long chunk = 0; chunk <= 4096; chunk = chunk ? chunk * 8 : 1) {
		Run r;
		run(&r, DECODE_NDJSON, s, &o, body.p, body.len, chunk, 0);
		assert_int_equal(r.rc, 0);
		assert_int_equal(r.nrej, 100);
		assert_int_equal(r.nrows, 900);
		assert_int_equal(r.st.rejected, 100);
		assert_int_equal(r.st.accepted, 900);
		assert_int_equal(r.st.records, 1000);
		for (int k = 0; k < 100; k++)
			assert_int_equal(r.lines[k], want_lines[k]);
		assert_non_null(strstr(str(&r.rejects), "record longer than 300 bytes"));
		assert_non_null(strstr(str(&r.rejects), "|n|column 'n': expected INT, got 4294967296: out of range|"));
		assert_non_null(strstr(str(&r.rows), "[8,\"user-8\",24,8.25,1715248800000,[\"a\",\"b8\"]]\n"));
		run_free(&r);
	}
	buf_free(&body);
	free_schema(s);
}

static void
test_csv_quoting_and_header(void **state)
{
	Schema *s = mk_schema("id:INT,name:STRING,city:STRING,tags:STRING[],price:DOUBLE");
	const char *body = "name,unknown,id,tags,city\n"
			   "\"Smith, John\",zzz,1,a;b;c,\"New\nYork\"\n"
			   "plain,,2,,\n"
			   "\"he said \"\"hi\"\"\",x,3,\"x;y\",\"\"\n"
			   "\"bad\"x,1,4,,\n"
			   "short,1\n";
	Run r;
	run(&r, DECODE_CSV, s, NULL, body, strlen(body), 0, 0);
	assert_int_equal(r.rc, 0);
	assert_string_equal(str(&r.rows), "[1,\"Smith, John\",\"New\\nYork\",[\"a\",\"b\",\"c\"],null]\n"
					  "[2,\"plain\",null,null,null]\n"
					  "[3,\"he said \\\"hi\\\"\",\"\",[\"x\",\"y\"],null]\n");
	assert_int_equal(r.nrej, 2);
	assert_int_equal(r.lines[0], 6);
	assert_int_equal(r.lines[1], 7);
	assert_non_null(strstr(str(&r.rejects), "unexpected character after the closing quote of field 1"));
	assert_non_null(strstr(str(&r.rejects), "REJECT 7|-|expected 5 fields, got 2|short,1"));
	run_free(&r);

	/* tab delimiter, no header: schema order */
	DecodeOpts o;
	decoder_opts_init(&o);
	o.csv_delim = '\t';
	o.csv_header = 0;
	const char *tsv = "7\tx\ty\tp|q\t2.5\n8\t\t\t\t\n";
	o.mv_delim = '|';
	run(&r, DECODE_CSV, s, &o, tsv, strlen(tsv), 0, 0);
	assert_string_equal(str(&r.rows), "[7,\"x\",\"y\",[\"p\",\"q\"],2.5]\n"
					  "[8,null,null,null,null]\n");
	run_free(&r);

	/* given column list, header line skipped */
	const char *cols[] = {"price", "id"};
	decoder_opts_init(&o);
	o.columns = cols;
	o.ncolumns = 2;
	const char *b2 = "P,I\n1.5,10\n2.5,abc\n";
	run(&r, DECODE_CSV, s, &o, b2, strlen(b2), 0, 0);
	assert_string_equal(str(&r.rows), "[10,null,null,null,1.5]\n");
	assert_int_equal(r.nrej, 1);
	assert_non_null(strstr(str(&r.rejects), "REJECT 3|id|column 'id': expected INT, got \"abc\"|"));
	run_free(&r);

	/* given column list and no header */
	o.csv_header = 0;
	run(&r, DECODE_CSV, s, &o, b2 + 4, strlen(b2 + 4), 0, 0);
	assert_string_equal(str(&r.rows), "[10,null,null,null,1.5]\n");
	assert_int_equal(r.lines[0], 2);
	run_free(&r);

	/* trailing delimiter gives an empty last field */
	const char *b3 = "id,name\n5,\n";
	Schema *s2 = mk_schema("id:INT,name:STRING");
	run(&r, DECODE_CSV, s2, NULL, b3, strlen(b3), 0, 0);
	assert_string_equal(str(&r.rows), "[5,null]\n");
	run_free(&r);
	free_schema(s2);
	free_schema(s);
}

static void
test_record_size_limit(void **state)
{
	Schema *s = mk_schema("id:INT,s:STRING");
	DecodeOpts o;
	decoder_opts_init(&o);
	o.max_record = 64;
	Buf body;
	buf_init(&body);
	buf_puts(&body, "{\"id\":1}\n{\"id\":2,\"s\":\"");
	for (int i = 0; i < 200; i++)
		buf_putc(&body, 'a' + i % 26);
	buf_puts(&body, "\"}\n{\"id\":3}\n{\"id\":4,\"s\":\"");
	for (int i = 0; i < 100; i++)
		buf_putc(&body, 'q');
	for (long chunk = 0; chunk < 80; chunk = chunk ? chunk + 13 : 1) {
		Run r;
		run(&r, DECODE_NDJSON, s, &o, body.p, body.len, chunk, 0);
		assert_int_equal(r.rc, 0);
		assert_string_equal(str(&r.rows), "[1,null]\n[3,null]\n");
		assert_int_equal(r.nrej, 2);
		assert_int_equal(r.lines[0], 2);
		assert_int_equal(r.lines[1], 4);
		assert_non_null(strstr(str(&r.rejects), "REJECT 2|-|record longer than 64 bytes|{\"id\":2,\"s\":\"abc"));
		/* the raw bytes handed over stop at the limit */
		const char *p = strstr(str(&r.rejects), "REJECT 2|-|record longer than 64 bytes|");
		const char *eol = strchr(p, '\n');
		assert_int_equal(eol - p, strlen("REJECT 2|-|record longer than 64 bytes|") + 64);
		assert_int_equal(r.st.records, 4);
		run_free(&r);
	}
	/* exactly at the limit is fine (CR excluded) */
	char rec[80];
	memset(rec, ' ', sizeof rec);
	memcpy(rec, "{\"id\":9}", 8);
	rec[64] = '\r';
	rec[65] = '\n';
	Run r;
	run(&r, DECODE_NDJSON, s, &o, rec, 66, 0, 0);
	assert_int_equal(r.nrej, 1);	/* 65 bytes with the CR: over */
	run_free(&r);
	rec[63] = '\n';
	run(&r, DECODE_NDJSON, s, &o, rec, 64, 0, 0);
	assert_int_equal(r.nrej, 0);
	assert_string_equal(str(&r.rows), "[9,null]\n");
	run_free(&r);
	buf_free(&body);
	free_schema(s);
}

static void
test_empty_and_blank(void **state)
{
	Schema *s = mk_schema("id:INT");
	Run r;
	run(&r, DECODE_NDJSON, s, NULL, "", 0, 0, 0);
	assert_int_equal(r.nrows + r.nrej, 0);
	run_free(&r);
	run(&r, DECODE_NDJSON, s, NULL, "\n\r\n \n\xEF\xBB\xBF", 9, 0, 0);
	assert_int_equal(r.nrows + r.nrej, 1);	/* a BOM not at the start is bad JSON */
	assert_int_equal(r.lines[0], 4);
	run_free(&r);
	run(&r, DECODE_NDJSON, s, NULL, "\xEF\xBB\xBF", 3, 1, 0);
	assert_int_equal(r.nrows + r.nrej, 0);
	run_free(&r);
	run(&r, DECODE_CSV, s, NULL, "id\n\n\n", 5, 0, 0);
	assert_int_equal(r.nrows + r.nrej, 0);
	assert_int_equal(r.st.records, 0);
	run_free(&r);
	free_schema(s);
}

/* Random byte mutations of the split bodies: never a crash or an error
 * return, and every record is either accepted or rejected. */
static void
test_mutations(void **state)
{
	Schema *s = mk_schema("id:INT,name:STRING,tags:INT[]");
	uint64_t x = 0x9E3779B97F4A7C15ull;
	static const char alphabet[] = "{}[]\",:;\n\r\\ 0a\xC3\xFF\xEF";
	char buf[512];
	for (int iter = 0; iter < 3000; iter++) {
		int csv = iter & 1;
		const char *src = csv ? csv_split_body : split_body;
		size_t len = csv ? sizeof csv_split_body - 1 : sizeof split_body - 1;
		memcpy(buf, src, len);
		for (int m = 0; m < 1 + iter % 6; m++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[x % len] = alphabet[(x >> 20) % (sizeof alphabet - 1)];
		}
		Run r;
		run(&r, csv ? DECODE_CSV : DECODE_NDJSON, s, NULL, buf, len, (long)(x % 13) + 1, 0);
		assert_int_equal(r.rc, 0);
		assert_int_equal(r.st.accepted + r.st.rejected, r.st.records);
		assert_int_equal(r.nrows, r.st.accepted);
		assert_int_equal(r.nrej, r.st.rejected);
		run_free(&r);
	}
	free_schema(s);
}

static void
test_bad_args(void **state)
{
	Err e = {0};
	assert_null(decoder_create(DECODE_NDJSON, NULL, NULL, &e));
	assert_int_equal(e.code, ERR_INVALID);
	Schema *s = mk_schema("id:INT");
	DecodeOpts o;
	decoder_opts_init(&o);
	o.csv_delim = '"';
	err_clear(&e);
	assert_null(decoder_create(DECODE_CSV, s, &o, &e));
	assert_int_equal(e.code, ERR_INVALID);
	free_schema(s);
}

static void
test_alloc_failure(void **state)
{
	Schema *s = mk_schema("id:INT,name:STRING,tags:STRING[]");
	const char *body = "{\"id\":1,\"name\":\"abc\",\"tags\":[\"x\",\"y\"]}\n{\"id\":2}\n{\"id\":";
	const char *csv = "id,name,tags\n1,\"a\"\"b\",x;y\n2,c,";
	int saw_nomem = 0, saw_ok = 0;
	for (long n = 1; n < 60; n++) {
		for (int fmt = 0; fmt < 2; fmt++) {
			Err e = {0};
			mem_fail_nth(n);
			Decoder *d = decoder_create(fmt ? DECODE_CSV : DECODE_NDJSON, s, NULL, &e);
			if (d == NULL) {
				mem_fail_nth(0);
				assert_int_equal(e.code, ERR_NOMEM);
				saw_nomem = 1;
				continue;
			}
			RowBatch b;
			rowbatch_init(&b, 3);
			const char *in = fmt ? csv : body;
			int rc = 0;
			for (size_t off = 0; off < strlen(in) && rc == 0; off += 5) {
				size_t k = strlen(in + off) < 5 ? strlen(in + off) : 5;
				rc = decoder_feed(d, in + off, k, &b, NULL, NULL);
			}
			if (rc == 0)
				rc = decoder_finish(d, &b, NULL, NULL);
			mem_fail_nth(0);
			assert_true(rc == 0 || rc == ERR_NOMEM);
			if (rc)
				saw_nomem = 1;
			else
				saw_ok = 1;
			rowbatch_free(&b);
			decoder_free(d);
		}
	}
	assert_true(saw_nomem && saw_ok);
	free_schema(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ndjson_basic),
		cmocka_unit_test(test_ndjson_defaults_in_rows),
		cmocka_unit_test(test_split_every_byte),
		cmocka_unit_test(test_csv_split_every_byte),
		cmocka_unit_test(test_ten_percent_malformed),
		cmocka_unit_test(test_csv_quoting_and_header),
		cmocka_unit_test(test_record_size_limit),
		cmocka_unit_test(test_empty_and_blank),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_alloc_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
