/*
 * test_ingest_jsonrec.c -- the schema-directed NDJSON record decoder:
 * differential fuzzing against the cJSON path (generated and mutated
 * records must be accepted/rejected alike with the same message, column
 * and values), the documented deliberate differences (exact big integers,
 * NULs in strings, bad \u escapes), cJSON's error offsets, the nesting
 * limit, duplicate keys, the key-order cache, and allocation failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "ingest/jsonrec.h"
#include "ingest_testutil.h"

static const char *SPEC = "i:INT,l:LONG,f:FLOAT,d:DOUBLE,b:BOOLEAN,ts:TIMESTAMP,s:STRING,"
			  "j:JSON,by:BYTES,im:INT[],sm:STRING[],lm:LONG[],jm:JSON[],dm:DOUBLE[],"
			  "bm:BOOLEAN[],tm:TIMESTAMP[],m:INT!";

static uint64_t rng = 0x243F6A8885A308D3ull;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? (uint32_t)((rng >> 11) % n) : 0;
}

/* Appends a stable description of v: type, flags and exact contents. */
static void
describe(Buf *b, const Value *v)
{
	int var = v->type == TYPE_STRING || v->type == TYPE_JSON || v->type == TYPE_BYTES;
	buf_printf(b, "<t%d n%d m%d c%u ", v->type, v->null, v->mv, v->mv || var ? v->n : 0);
	if (v->mv) {
		for (uint32_t k = 0; k < v->n; k++)
			describe(b, &v->u.mv[k]);
	} else if (v->type == TYPE_STRING || v->type == TYPE_JSON || v->type == TYPE_BYTES) {
		buf_json_str(b, v->u.s, v->n);
	} else {
		buf_printf(b, "%016" PRIx64, (uint64_t)v->u.i);
	}
	buf_putc(b, '>');
}

typedef struct Outcome {
	int rc;
	int col;
	char msg[ERR_MSG_MAX];
	Buf row;
} Outcome;

static void
decode_one(JsonRec *j, int legacy, const char *rec, size_t len, RowBatch *b, Outcome *o)
{
	Err e = {0};
	rowbatch_reset(b);
	buf_reset(&o->row);
	o->col = -2;
	o->rc = legacy ? jsonrec_decode_cjson(j, rec, len, b, &o->col, &e)
		       : jsonrec_decode(j, rec, len, b, &o->col, &e);
	snprintf(o->msg, sizeof o->msg, "%s", o->rc ? e.msg : "");
	assert_int_equal(b->nrows, o->rc == 0 ? 1 : 0);
	if (o->rc == 0)
		for (int c = 0; c < b->ncols; c++)
			describe(&o->row, &rowbatch_row(b, 0)[c]);
}

/* Records where the two paths differ on purpose (see jsonrec.c). */
static int
known_difference(const char *rec, size_t len)
{
	size_t run = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)rec[i];
		if (c == 0)
			return 1;
		if (c >= '0' && c <= '9') {
			if (++run >= 16)
				return 1;	/* integers near or beyond 2^53 */
		} else {
			run = 0;
		}
		if ((c == 'e' || c == 'E') && i > 0 &&
		    ((rec[i - 1] >= '0' && rec[i - 1] <= '9') || rec[i - 1] == '.'))
			return 1;	/* 1e17 etc. for integer columns */
		if (c == '\\' && i + 1 < len && rec[i + 1] == 'u') {
			int hex = 0;
			for (size_t k = i + 2; k < i + 6 && k < len; k++) {
				char h = rec[k];
				hex += (h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') ||
				       (h >= 'A' && h <= 'F');
			}
			if (hex < 4 || (len >= i + 6 && memcmp(rec + i + 2, "0000", 4) == 0))
				return 1;
		}
	}
	return 0;
}

typedef struct Diff {
	JsonRec *j;
	RowBatch a, b;
	Outcome oa, ob;
	long same, tolerated, accepted;
} Diff;

static void
diff_init(Diff *d, const Schema *s)
{
	Err e = {0};
	memset(d, 0, sizeof *d);
	d->j = jsonrec_create(s, &e);
	assert_non_null(d->j);
	rowbatch_init(&d->a, s->nfields);
	rowbatch_init(&d->b, s->nfields);
	buf_init(&d->oa.row);
	buf_init(&d->ob.row);
}

static void
diff_free(Diff *d)
{
	jsonrec_free(d->j);
	rowbatch_free(&d->a);
	rowbatch_free(&d->b);
	buf_free(&d->oa.row);
	buf_free(&d->ob.row);
}

static void
diff_check(Diff *d, const char *rec, size_t len)
{
	decode_one(d->j, 1, rec, len, &d->a, &d->oa);
	decode_one(d->j, 0, rec, len, &d->b, &d->ob);
	int same = d->oa.rc == d->ob.rc && d->oa.col == d->ob.col &&
		   strcmp(d->oa.msg, d->ob.msg) == 0 &&
		   strcmp(d->oa.row.p ? d->oa.row.p : "", d->ob.row.p ? d->ob.row.p : "") == 0;
	if (same) {
		d->same++;
		d->accepted += d->ob.rc == 0;
		return;
	}
	if (known_difference(rec, len)) {
		d->tolerated++;
		return;
	}
	Buf show;
	buf_init(&show);
	buf_json_str(&show, rec, len);
	fprintf(stderr, "record %s\n old rc=%d col=%d msg=%s\n     %s\n new rc=%d col=%d msg=%s\n     %s\n",
		      show.p, d->oa.rc, d->oa.col, d->oa.msg, d->oa.row.p ? d->oa.row.p : "",
		      d->ob.rc, d->ob.col, d->ob.msg, d->ob.row.p ? d->ob.row.p : "");
	buf_free(&show);
	fail();
}

/* ---- record generator ---- */

static const char *const WS[] = {"", "", "", "", " ", "  ", "\t", "\r", " \x01", "\x0b", "\x1f "};

static void
gen_ws(Buf *b)
{
	buf_puts(b, WS[rnd(sizeof WS / sizeof *WS)]);
}

static void
gen_string(Buf *b)
{
	static const char *const parts[] = {
		"abc", "user-17", " 42 ", "7", "-3", "1e3", "12.5", "2021-01-01T09:01:01.001Z",
		"2024-02-29 12:00:00", "true", "FALSE", "1", "0", "0aFF", "zz", "{\\\"x\\\": 1}",
		"[1, 2]", "null", "caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\\n", "\\t",
		"\\\"", "\\\\", "\\/", "\\u00e9", "\\u20AC", "\\ud83d\\ude00", "\\u0041", "\\b\\f\\r",
		"\xFF", "\xC3", "\xED\xA0\x80", "\x01", "\t", "", " ", "NaN", "-Infinity", "1.5",
		"9007199254740993", "\\u001f",
	};
	buf_putc(b, '"');
	int n = (int)rnd(3);
	for (int k = 0; k < n; k++)
		buf_puts(b, parts[rnd(sizeof parts / sizeof *parts)]);
	buf_putc(b, '"');
}

static void
gen_number(Buf *b)
{
	static const char *const nums[] = {
		"0",	"-0",	   "12",	 "-17",		 "2147483647", "2147483648",
		"-2147483648", "-2147483649", "1.5", "0.1",	  "-.5",	"01",
		"1.",	"12.0",	   "1.25",	 "123456789012", "1609491661001", "3.14159",
		"-0.0", "100",	   "0.000123", "99999.99",  "7.0",	"1.0000000000000002",
		"5e-324", "1.7976931348623157", "0.30000000000000004", "00012", "-01.50",
		"1e3",	"1E+2",	   "2.5e-3",	 "1e400",	 "-1e400",	"1e-400",
		"123e-2", "1e17",  "4e15",	 "-2.5E1",	 "1.5e300",	"1e-5",
	};
	if (rnd(3) == 0) {
		buf_printf(b, "%s%u", rnd(2) ? "-" : "", rnd(1000000));
		if (rnd(2))
			buf_printf(b, ".%u", rnd(10000));
		return;
	}
	buf_puts(b, nums[rnd(sizeof nums / sizeof *nums)]);
}

static void gen_value(Buf *b, int depth);

static void
gen_container(Buf *b, int depth, int obj)
{
	buf_putc(b, obj ? '{' : '[');
	gen_ws(b);
	int n = (int)rnd(4);
	for (int k = 0; k < n; k++) {
		if (k) {
			buf_putc(b, ',');
			gen_ws(b);
		}
		if (obj) {
			gen_string(b);
			gen_ws(b);
			buf_putc(b, ':');
			gen_ws(b);
		}
		gen_value(b, depth + 1);
		gen_ws(b);
	}
	buf_putc(b, obj ? '}' : ']');
}

static void
gen_value(Buf *b, int depth)
{
	uint32_t k = rnd(depth > 2 ? 6 : 9);
	switch (k) {
	case 0:
	case 1:
		gen_string(b);
		break;
	case 2:
	case 3:
		gen_number(b);
		break;
	case 4:
		buf_puts(b, rnd(2) ? "true" : "false");
		break;
	case 5:
		buf_puts(b, "null");
		break;
	case 6:
	case 7:
		gen_container(b, depth, 0);
		break;
	default:
		gen_container(b, depth, 1);
		break;
	}
}

/* A value that suits column type t most of the time. */
static void
gen_for(Buf *b, const Field *f)
{
	if (rnd(5) == 0) {
		gen_value(b, 1);
		return;
	}
	if (!f->single_value && rnd(4) != 0) {
		buf_putc(b, '[');
		int n = (int)rnd(4);
		for (int k = 0; k < n; k++) {
			if (k)
				buf_putc(b, ',');
			gen_ws(b);
			if (rnd(6) == 0)
				buf_puts(b, "null");
			else if (f->type == TYPE_STRING || f->type == TYPE_JSON)
				gen_string(b);
			else if (f->type == TYPE_BOOLEAN)
				buf_puts(b, rnd(2) ? "true" : "false");
			else
				gen_number(b);
		}
		buf_putc(b, ']');
		return;
	}
	switch (f->type) {
	case TYPE_STRING:
	case TYPE_JSON:
	case TYPE_BYTES:
		gen_string(b);
		break;
	case TYPE_BOOLEAN:
		buf_puts(b, rnd(2) ? "true" : "false");
		break;
	default:
		gen_number(b);
		break;
	}
}

static void
gen_record(Buf *b, const Schema *s)
{
	buf_reset(b);
	if (rnd(50) == 0)
		buf_puts(b, "\xEF\xBB\xBF");
	gen_ws(b);
	buf_putc(b, '{');
	gen_ws(b);
	int n = (int)rnd((uint32_t)s->nfields + 4);
	for (int k = 0; k < n; k++) {
		if (k) {
			buf_putc(b, ',');
			gen_ws(b);
		}
		const Field *f = &s->fields[rnd((uint32_t)s->nfields)];
		uint32_t kk = rnd(12);
		if (kk == 0)
			buf_puts(b, "\"unknown\"");
		else if (kk == 1)
			buf_puts(b, "\"I\"");
		else if (kk == 2 && strcmp(f->name, "s") == 0)
			buf_puts(b, "\"\\u0073\"");	/* "s" escaped */
		else
			buf_printf(b, "\"%s\"", f->name);
		gen_ws(b);
		buf_putc(b, ':');
		gen_ws(b);
		if (kk <= 1)
			gen_value(b, 1);
		else
			gen_for(b, f);
		gen_ws(b);
	}
	buf_putc(b, '}');
	if (rnd(20) == 0)
		buf_puts(b, rnd(2) ? "  \t" : " x");
}

static void
mutate(Buf *b)
{
	static const char alphabet[] = "{}[]\",:\\ \t0123456789.-+eEnulltruefalse\x01\xC3\xFF/ux";
	int edits = 1 + (int)rnd(4);
	for (int m = 0; m < edits && b->len > 0; m++) {
		size_t at = rnd((uint32_t)b->len);
		char c = alphabet[rnd(sizeof alphabet - 1)];
		switch (rnd(4)) {
		case 0:
			b->p[at] = c;
			break;
		case 1:
			memmove(b->p + at, b->p + at + 1, b->len - at - 1);
			b->len--;
			break;
		case 2:
			buf_putc(b, 0);
			memmove(b->p + at + 1, b->p + at, b->len - at - 1);
			b->p[at] = c;
			break;
		default:
			b->len = at;
			break;
		}
	}
}

static long
iterations(long dflt)
{
	const char *s = getenv("WB_FUZZ_ITERS");
	return s ? atol(s) : dflt;
}

static void
test_differential_generated(void **state)
{
	Schema *s = mk_schema(SPEC);
	Diff d;
	diff_init(&d, s);
	Buf rec;
	buf_init(&rec);
	long n = iterations(40000);
	for (long it = 0; it < n; it++) {
		gen_record(&rec, s);
		diff_check(&d, rec.p, rec.len);
	}
	print_message("generated: %ld same (%ld accepted), %ld known differences\n", d.same,
		      d.accepted, d.tolerated);
	assert_true(d.accepted > n / 20);
	assert_true(d.tolerated < n / 4);
	buf_free(&rec);
	diff_free(&d);
	free_schema(s);
}

static void
test_differential_mutated(void **state)
{
	Schema *s = mk_schema(SPEC);
	Diff d;
	diff_init(&d, s);
	Buf rec;
	buf_init(&rec);
	long n = iterations(40000);
	for (long it = 0; it < n; it++) {
		gen_record(&rec, s);
		mutate(&rec);
		diff_check(&d, rec.p, rec.len);
	}
	print_message("mutated: %ld same (%ld accepted), %ld known differences\n", d.same,
		      d.accepted, d.tolerated);
	buf_free(&rec);
	diff_free(&d);
	free_schema(s);
}

/* Hand-picked malformed and odd records: same outcome as cJSON. */
static void
test_differential_cases(void **state)
{
	static const char *const cases[] = {
		"{", "}", "{\"i\"", "{\"i\":", "{\"i\":1", "{\"i\":1,", "{\"i\":1,}", "{,}",
		"{a:1}", "{\"i\" 1}", "{\"i\":1 \"l\":2}", "[", "[1", "[1,", "[1,]", "[]", "\"x\"",
		"1", "-", "--1", "-.5", "{\"i\":-}", "{\"i\":1.5.2}", "{\"i\":1e}", "{\"i\":1e+}",
		"{\"i\":+1}", "{\"i\":.5}", "{\"i\":01}", "{\"d\":1.}", "{\"d\":-.5e1}",
		"{\"i\":nul}", "{\"i\":nulll}", "{\"i\":tru}", "{\"i\":True}", "{\"s\":\"abc}",
		"{\"s\":\"a\\\"}", "{\"s\":\"a\\x\"}", "{\"s\":\"\\ud800\"}", "{\"s\":\"\\udc00\"}",
		"{\"s\":\"\\ud800\\u0041\"}", "{\"s\":\"\\ud83d\\ude00\"}", "{\"s\":\"\\u12\"}",
		"{\"s\":\"\\", "{\"s\":\"\\\"", "   ", "\x01", "\xEF\xBB\xBF{}", "\xEF\xBB\xBF{",
		"\xEF\xBB\xBF\xEF\xBB\xBF{}", " \xEF\xBB\xBF{}", "{} ", "{}\t\r", "{} x", "{}\x01",
		"{}{}", "{\"i\":1}\x0b", "\x0b{\"i\":1}", "{\"i\"\x01:\x1f" "1\x02}",
		"{\"i\":[1,2]}", "{\"im\":[1,[2]]}", "{\"im\":[1,{}]}", "{\"sm\":[1,[2,\"x\"]]}",
		"{\"jm\":[{\"a\":1},[true]]}", "{\"j\":{\"a\" : [1, 2.50, \"\\u00e9\\n\"]}}",
		"{\"s\":{\"k\":\"\\u0001\\\"\"}}", "{\"j\":1e400}", "{\"j\":-0}", "{\"j\":0.1}",
		"{\"j\":123456789}", "{\"s\":1e400}", "{\"s\":-0.0}", "{\"d\":1e400}",
		"{\"d\":1e-400}", "{\"f\":1e39}", "{\"i\":\"x\",\"l\":\"y\"}",
		"{\"l\":\"y\",\"i\":\"x\"}", "{\"i\":\"x\",\"i\":5}", "{\"i\":5,\"i\":\"x\"}",
		"{\"i\":\"x\",\"i\":\"y\"}", "{\"im\":[1,\"x\",\"y\"]}", "{\"im\":[1,[\"x\"],\"y\"]}",
		"{\"unknown\":{\"a\":[1,{\"b\":\"\\u00\"}]}}", "{\"unknown\":[1 2]}",
		"{\"i\":1,\"unknown\":{\"a\":}}", "{\"by\":\"0aFF\"}", "{\"by\":\"0aF\"}",
		"{\"ts\":\"2021-01-01\"}", "{\"ts\":1.5}", "{\"b\":2}", "{\"b\":\"yes\"}",
		"{\"s\":\"\xff\"}", "{\"j\":\"\xff\"}", "{\"sm\":[\"\xff\"]}", "{\"s\":[\"\xff\"]}",
		"{\"unknown\":\"\xff\"}", "{\"\xff\":1}", "{\"s\":\"\x01\t raw\"}",
		"{\"m\":null,\"im\":null,\"sm\":[],\"lm\":[null]}", "{\"dm\":5,\"bm\":true}",
		"{\"j\":\"{\\\"x\\\": 1} tail\"}", "{\"j\":\"plain\"}", "{\"jm\":[\"[1, 2]\", 3]}",
		"{\"s\":12345678901234}", "{\"s\":true}", "{\"i\":12.0}", "{\"i\":1e3}",
	};
	Schema *s = mk_schema(SPEC);
	Diff d;
	diff_init(&d, s);
	for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
		diff_check(&d, cases[k], strlen(cases[k]));
	assert_int_equal(d.tolerated, 0);
	diff_free(&d);
	free_schema(s);
}

static int
dec(JsonRec *j, const char *rec, RowBatch *b, Err *e, int *col)
{
	err_clear(e);
	rowbatch_reset(b);
	return jsonrec_decode(j, rec, strlen(rec), b, col, e);
}

static void
test_exact_big_integers(void **state)
{
	Schema *s = mk_schema("l:LONG,ts:TIMESTAMP,lm:LONG[],s:STRING,i:INT");
	Err e = {0};
	JsonRec *j = jsonrec_create(s, &e);
	RowBatch b;
	rowbatch_init(&b, s->nfields);
	int col;
	assert_int_equal(dec(j, "{\"l\":9007199254740993,\"ts\":9223372036854775807,"
				"\"lm\":[9007199254740993,-9223372036854775808,1e18,"
				"9007199254740993.0],\"s\":9007199254740993}", &b, &e, &col), 0);
	Value *r = rowbatch_row(&b, 0);
	assert_true(r[0].u.i == 9007199254740993LL);
	assert_true(r[1].u.i == INT64_MAX);
	assert_int_equal(r[2].n, 4);
	assert_true(r[2].u.mv[0].u.i == 9007199254740993LL);
	assert_true(r[2].u.mv[1].u.i == INT64_MIN);
	assert_true(r[2].u.mv[2].u.i == 1000000000000000000LL);
	assert_true(r[2].u.mv[3].u.i == 9007199254740993LL);
	assert_int_equal(r[3].n, 16);
	assert_memory_equal(r[3].u.s, "9007199254740993", 16);
	assert_int_equal(dec(j, "{\"l\":9223372036854775808}", &b, &e, &col), ERR_OVERFLOW);
	assert_int_equal(col, 0);
	assert_string_equal(e.msg, "column 'l': expected LONG, got 9.2233720368547758e+18: out of range");
	assert_int_equal(dec(j, "{\"l\":9007199254740993.5}", &b, &e, &col), ERR_TYPE);
	assert_non_null(strstr(e.msg, "not an integer"));
	assert_int_equal(dec(j, "{\"ts\":1e19}", &b, &e, &col), ERR_OVERFLOW);
	assert_int_equal(dec(j, "{\"i\":4294967296}", &b, &e, &col), ERR_OVERFLOW);
	assert_string_equal(e.msg, "column 'i': expected INT, got 4294967296: out of range");
	assert_int_equal(dec(j, "{\"l\":-0,\"i\":-2147483648}", &b, &e, &col), 0);
	assert_true(rowbatch_row(&b, 0)[0].u.i == 0);
	assert_true(rowbatch_row(&b, 0)[4].u.i == INT32_MIN);
	rowbatch_free(&b);
	jsonrec_free(j);
	free_schema(s);
}

static void
test_nul_and_bad_escapes(void **state)
{
	Schema *s = mk_schema("id:INT,s:STRING,j:JSON");
	Err e = {0};
	JsonRec *j = jsonrec_create(s, &e);
	RowBatch b;
	rowbatch_init(&b, s->nfields);
	int col;
	/* cJSON cut "a\u0000b" to "a" and matched key "id\u0000x" to id */
	assert_int_equal(dec(j, "{\"s\":\"a\\u0000b\",\"id\\u0000x\":5,\"j\":[\"\\u0000\"]}", &b, &e,
			     &col), 0);
	Value *r = rowbatch_row(&b, 0);
	assert_int_equal(r[1].n, 3);
	assert_memory_equal(r[1].u.s, "a\0b", 3);
	assert_int_equal(r[0].null, 1);
	assert_int_equal(r[2].n, strlen("[\"\\u0000\"]"));
	assert_memory_equal(r[2].u.s, "[\"\\u0000\"]", r[2].n);
	/* cJSON read a non-hex \u digit as U+0000 */
	assert_int_equal(dec(j, "{\"s\":\"ab\\u00zz\"}", &b, &e, &col), ERR_BAD_JSON);
	assert_string_equal(e.msg, "invalid JSON at byte 9");
	assert_int_equal(col, -1);
	rowbatch_free(&b);
	jsonrec_free(j);
	free_schema(s);
}

/* 1000 nested containers (the record's object included) are accepted,
 * 1001 are not, at the byte of the one too many -- as cJSON. */
static void
test_depth_limit(void **state)
{
	Schema *s = mk_schema("id:INT,sm:STRING[]");
	Diff d;
	diff_init(&d, s);
	Buf rec;
	buf_init(&rec);
	for (int extra = 997; extra <= 1001; extra++) {
		for (int mode = 0; mode < 3; mode++) {
			buf_reset(&rec);
			buf_puts(&rec, mode == 0 ? "{\"x\":" : mode == 1 ? "{\"sm\":" : "{\"sm\":[");
			int n = mode == 2 ? extra - 1 : extra;
			for (int k = 0; k < n; k++)
				buf_putc(&rec, k % 2 ? '[' : '[');
			for (int k = 0; k < n; k++)
				buf_putc(&rec, ']');
			buf_puts(&rec, mode == 2 ? "]}" : "}");
			diff_check(&d, rec.p, rec.len);
			int want = 1 + extra <= JSONREC_MAX_DEPTH ? 0 : ERR_BAD_JSON;
			assert_int_equal(d.ob.rc, want);
		}
	}
	/* a million brackets: rejected, no stack overflow */
	buf_reset(&rec);
	buf_puts(&rec, "{\"x\":");
	for (int k = 0; k < 1000000; k++)
		buf_putc(&rec, '[');
	diff_check(&d, rec.p, rec.len);
	assert_string_equal(d.ob.msg, "invalid JSON at byte 1005");
	buf_free(&rec);
	diff_free(&d);
	free_schema(s);
}

static void
test_key_order_cache(void **state)
{
	Schema *s = mk_schema("a:INT,b:STRING,c:LONG");
	Err e = {0};
	JsonRec *j = jsonrec_create(s, &e);
	RowBatch b;
	rowbatch_init(&b, s->nfields);
	int col;
	static const char *const recs[] = {
		"{\"a\":1,\"b\":\"x\",\"c\":3,\"zz\":0}",
		"{\"a\":2,\"b\":\"y\",\"c\":4,\"zz\":0}",
		"{\"c\":5,\"a\":3,\"b\":\"z\"}",
		"{\"zz\":1,\"b\":\"w\",\"aa\":9,\"a\":4}",
		"{\"a\":5,\"b\":\"v\",\"c\":6,\"zz\":0}",
		"{\"\\u0061\":6,\"b\":\"u\"}",
		"{\"a\":7,\"b\":\"t\",\"c\":8,\"zz\":0}",
	};
	static const char *const want[] = {
		"1 x 3", "2 y 4", "3 z 5", "4 w null", "5 v 6", "6 u null", "7 t 8",
	};
	for (int round = 0; round < 3; round++) {
		for (size_t k = 0; k < sizeof recs / sizeof *recs; k++) {
			assert_int_equal(dec(j, recs[k], &b, &e, &col), 0);
			Value *r = rowbatch_row(&b, 0);
			char got[64];
			char cbuf[24];
			if (r[2].null)
				snprintf(cbuf, sizeof cbuf, "null");
			else
				snprintf(cbuf, sizeof cbuf, "%lld", (long long)r[2].u.i);
			snprintf(got, sizeof got, "%lld %.*s %s", (long long)r[0].u.i, (int)r[1].n,
				 r[1].u.s, cbuf);
			assert_string_equal(got, want[k]);
		}
	}
	rowbatch_free(&b);
	jsonrec_free(j);
	free_schema(s);
}

static void
test_alloc_failure(void **state)
{
	Schema *s = mk_schema("id:INT,name:STRING,tags:STRING[],j:JSON");
	static const char *const recs[] = {
		"{\"id\":1,\"name\":\"abc\",\"tags\":[\"x\",\"y\",\"z\",\"w\",\"v\",\"u\",\"t\",\"s\","
		"\"r\",\"q\",\"p\",\"o\",\"n\",\"m\",\"l\",\"k\",\"j\"],\"j\":{\"a\":[1,\"\\n\"]}}",
		"{\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,"
		"\"k10\":0,\"k11\":0,\"k12\":0,\"k13\":0,\"k14\":0,\"k15\":0,\"k16\":0,\"k17\":0}",
		"{\"name\":\"a\\nb\",\"id\":\"x\"}",
	};
	int saw_nomem = 0, saw_ok = 0;
	for (long n = 1; n < 40; n++) {
		Err e = {0};
		mem_fail_nth(n);
		JsonRec *j = jsonrec_create(s, &e);
		if (j == NULL) {
			mem_fail_nth(0);
			assert_int_equal(e.code, ERR_NOMEM);
			saw_nomem = 1;
			continue;
		}
		RowBatch b;
		rowbatch_init(&b, s->nfields);
		int rc = 0, col;
		for (size_t k = 0; k < sizeof recs / sizeof *recs && rc != ERR_NOMEM; k++) {
			err_clear(&e);
			rc = jsonrec_decode(j, recs[k], strlen(recs[k]), &b, &col, &e);
		}
		mem_fail_nth(0);
		if (rc == ERR_NOMEM)
			saw_nomem = 1;
		else
			saw_ok = 1;
		rowbatch_free(&b);
		jsonrec_free(j);
	}
	assert_true(saw_nomem && saw_ok);
	free_schema(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_differential_cases),
		cmocka_unit_test(test_differential_generated),
		cmocka_unit_test(test_differential_mutated),
		cmocka_unit_test(test_exact_big_integers),
		cmocka_unit_test(test_nul_and_bad_escapes),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_key_order_cache),
		cmocka_unit_test(test_alloc_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
