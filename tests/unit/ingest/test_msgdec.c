/*
 * test_msgdec.c -- per-message decoders (JSON pass-through, Avro datums
 * generated here with libavro, CSV) and change-feed envelopes (Debezium,
 * Cosmos DB), their error messages, and robustness: every truncation of
 * valid Avro messages, random and mutated bytes, invalid UTF-8, 16 MiB
 * messages.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>
#include <cjson/cJSON.h>

#include "base/mem.h"
#include "ingest/jsonrec.h"
#include "ingest/msgdec.h"
#include "ingest_testutil.h"

#define P   "stream.kafka.decoder.prop."
#define CLS "stream.kafka.decoder.class.name"

/* Builds a config map from "k=v" pairs (NULL-terminated). */
static cJSON *
cfg(const char *first, ...)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "streamType", "kafka");
	va_list ap;
	va_start(ap, first);
	for (const char *kv = first; kv; kv = va_arg(ap, const char *)) {
		const char *eq = strchr(kv, '=');
		char key[256];
		snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
		cJSON_AddStringToObject(m, key, eq + 1);
	}
	va_end(ap);
	return m;
}

static MsgDecoder *
mk(const Schema *s, const char *first, ...)
{
	cJSON *m = cJSON_CreateObject();
	va_list ap;
	va_start(ap, first);
	for (const char *kv = first; kv; kv = va_arg(ap, const char *)) {
		const char *eq = strchr(kv, '=');
		char key[256];
		snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
		cJSON_AddStringToObject(m, key, eq + 1);
	}
	va_end(ap);
	MsgDecoder *d = NULL;
	Err e = {0};
	int rc = msgdec_create(m, s, &d, &e);
	if (rc != 0)
		fprintf(stderr, "msgdec_create: %s\n", e.msg);
	assert_int_equal(rc, 0);
	cJSON_Delete(m);
	return d;
}

/* Decodes text; returns rc; *out gets a NUL-terminated copy (static). */
static char outbuf[1 << 16];
static MsgMeta last_meta;
static Err last_err;

static int
dec(MsgDecoder *d, const void *msg, size_t n)
{
	const char *j = NULL;
	size_t jl = 0;
	memset(&last_err, 0, sizeof last_err);
	int rc = msgdec_decode(d, msg, n, &j, &jl, &last_meta, &last_err);
	outbuf[0] = '\0';
	if (rc == 0 && j != NULL)
		snprintf(outbuf, sizeof outbuf, "%.*s", (int)jl, j);
	if (rc == 0 && j == NULL)
		snprintf(outbuf, sizeof outbuf, "<skip>");
	return rc;
}

static int
decs(MsgDecoder *d, const char *text)
{
	return dec(d, text, strlen(text));
}

static void
expect_err(int rc, int code, const char *substr)
{
	if (rc != code || strstr(last_err.msg, substr) == NULL)
		fprintf(stderr, "rc %d (want %d), msg '%s' (want '%s')\n", rc, code, last_err.msg,
		        substr);
	assert_int_equal(rc, code);
	assert_non_null(strstr(last_err.msg, substr));
}

static int
create_err(const cJSON *m, Err *e)
{
	MsgDecoder *d = NULL;
	memset(e, 0, sizeof *e);
	int rc = msgdec_create(m, NULL, &d, e);
	msgdec_free(d);
	return rc;
}

/* ---- JSON ---- */

static void
test_json_passthrough(void **state)
{
	(void)state;
	MsgDecoder *d =
	        mk(NULL, CLS "=org.apache.pinot.plugin.stream.kafka.KafkaJSONMessageDecoder", NULL);
	assert_int_equal(msgdec_format(d), MSG_JSON);
	assert_int_equal(msgdec_envelope(d), MSG_ENV_PLAIN);
	const char msg[] = "{\"a\":1}";
	const char *j;
	size_t jl;
	MsgMeta m;
	Err e = {0};
	assert_int_equal(msgdec_decode(d, msg, 7, &j, &jl, &m, &e), 0);
	assert_ptr_equal(j, msg); /* zero copy */
	assert_int_equal(jl, 7);
	assert_int_equal(m.op, MSG_OP_NONE);
	assert_int_equal(m.ts_ms, -1);
	/* bad JSON is not msgdec's business for plain JSON */
	assert_int_equal(decs(d, "{bad"), 0);
	assert_string_equal(outbuf, "{bad");
	expect_err(dec(d, "", 0), ERR_BAD_RECORD, "empty message");
	expect_err(dec(d, NULL, 0), ERR_BAD_RECORD, "empty message");
	msgdec_free(d);

	/* the inputformat.json class and no class at all are JSON too */
	d = mk(NULL, CLS "=org.apache.pinot.plugin.inputformat.json.JSONMessageDecoder", NULL);
	assert_int_equal(msgdec_format(d), MSG_JSON);
	msgdec_free(d);
	d = mk(NULL, NULL);
	assert_int_equal(msgdec_format(d), MSG_JSON);
	msgdec_free(d);

	/* Confluent JSON: header stripped */
	d = mk(NULL,
	       CLS "=org.apache.pinot.plugin.inputformat.json.confluent."
	           "KafkaConfluentSchemaRegistryJsonMessageDecoder",
	       NULL);
	assert_int_equal(dec(d, "\0\0\0\0\7{\"a\":2}", 12), 0);
	assert_string_equal(outbuf, "{\"a\":2}");
	expect_err(dec(d, "\1\0\0\0\7{}", 7), ERR_BAD_RECORD, "magic byte 0x01");
	expect_err(dec(d, "\0\0", 2), ERR_BAD_RECORD, "shorter than the 5-byte header");
	msgdec_free(d);
}

static void
test_config_errors(void **state)
{
	(void)state;
	Err e;
	cJSON *m = cfg(CLS "=com.example.Nope", NULL);
	assert_int_equal(create_err(m, &e), ERR_BAD_CONFIG);
	assert_non_null(strstr(e.msg, "unknown decoder 'com.example.Nope'"));
	cJSON_Delete(m);

	m = cfg(CLS "=org.apache.pinot.plugin.inputformat.protobuf.ProtoBufMessageDecoder", NULL);
	assert_int_equal(create_err(m, &e), ERR_UNSUPPORTED);
	cJSON_Delete(m);

	m = cfg(CLS "=org.apache.pinot.plugin.inputformat.avro.confluent."
	            "KafkaConfluentSchemaRegistryAvroMessageDecoder",
	        NULL);
	assert_int_equal(create_err(m, &e), ERR_BAD_CONFIG);
	assert_non_null(strstr(e.msg, "stream.kafka.decoder.prop.schema"));
	assert_non_null(strstr(e.msg, "schema registry"));
	cJSON_Delete(m);

	m = cfg(CLS "=org.apache.pinot.plugin.inputformat.avro.SimpleAvroMessageDecoder",
	        P "schema={not json", NULL);
	assert_int_equal(create_err(m, &e), ERR_BAD_CONFIG);
	assert_non_null(strstr(e.msg, "stream.kafka.decoder.prop.schema"));
	cJSON_Delete(m);

	m = cfg(CLS "=org.apache.pinot.plugin.inputformat.avro.SimpleAvroMessageDecoder",
	        P "schema=\"string\"", NULL);
	assert_int_equal(create_err(m, &e), ERR_BAD_CONFIG);
	assert_non_null(strstr(e.msg, "must be a record"));
	cJSON_Delete(m);

	m = cfg(P "envelope=mongo", NULL);
	assert_int_equal(create_err(m, &e), ERR_BAD_CONFIG);
	assert_non_null(strstr(e.msg, "unknown envelope 'mongo'"));
	cJSON_Delete(m);

	m = cfg(CLS "=org.apache.pinot.plugin.inputformat.csv.CSVMessageDecoder",
	        P "envelope=debezium", NULL);
	assert_int_equal(create_err(m, &e), ERR_BAD_CONFIG);
	assert_non_null(strstr(e.msg, "not CSV"));
	cJSON_Delete(m);

	m = cfg(CLS "=org.apache.pinot.plugin.inputformat.csv.CSVMessageDecoder", P "delimiter=ab",
	        NULL);
	assert_int_equal(create_err(m, &e), ERR_BAD_CONFIG);
	assert_non_null(strstr(e.msg, "delimiter"));
	cJSON_Delete(m);

	m = cfg(P "envelope=cosmos", P "cosmos.mode=sometimes", NULL);
	assert_int_equal(create_err(m, &e), ERR_BAD_CONFIG);
	assert_non_null(strstr(e.msg, "cosmos.mode"));
	cJSON_Delete(m);

	m = cJSON_CreateObject();
	cJSON_AddNumberToObject(m, CLS, 3);
	assert_int_equal(create_err(m, &e), ERR_BAD_CONFIG);
	assert_non_null(strstr(e.msg, "must be a string"));
	cJSON_Delete(m);
}

/* ---- Avro ---- */

static const char EV_SCHEMA[] =
        "{\"type\":\"record\",\"name\":\"Ev\",\"fields\":["
        "{\"name\":\"id\",\"type\":\"long\"},"
        "{\"name\":\"name\",\"type\":\"string\"},"
        "{\"name\":\"n\",\"type\":\"int\"},"
        "{\"name\":\"score\",\"type\":\"double\"},"
        "{\"name\":\"f\",\"type\":\"float\"},"
        "{\"name\":\"ok\",\"type\":\"boolean\"},"
        "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}},"
        "{\"name\":\"attrs\",\"type\":{\"type\":\"map\",\"values\":\"int\"}},"
        "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"K\",\"symbols\":[\"A\",\"B\"]}},"
        "{\"name\":\"opt\",\"type\":[\"null\",\"string\"]},"
        "{\"name\":\"raw\",\"type\":\"bytes\"},"
        "{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"F2\",\"size\":2}},"
        "{\"name\":\"sub\",\"type\":{\"type\":\"record\",\"name\":\"Sub\",\"fields\":["
        "{\"name\":\"x\",\"type\":\"long\"}]}},"
        "{\"name\":\"nul\",\"type\":\"null\"}"
        "]}";

static const char EV_EXPECT[] =
        "{\"id\":9007199254740993,\"name\":\"caf\xc3\xa9 \\\"q\\\"\",\"n\":-7,\"score\":2.5,"
        "\"f\":0.5,\"ok\":true,\"tags\":[\"x\",\"y\"],\"attrs\":{\"k\":3},\"kind\":\"B\","
        "\"opt\":\"o\",\"raw\":\"00ff\",\"fx\":\"abcd\",\"sub\":{\"x\":42},\"nul\":null}";

/* Writes one datum of EV_SCHEMA with libavro into out (returns size).
 * name: the string field's bytes (len), big: length of a long name. */
static size_t
avro_make(char *out, size_t cap, const char *name, size_t name_len, int opt_null)
{
	avro_schema_t sc;
	assert_int_equal(avro_schema_from_json_length(EV_SCHEMA, strlen(EV_SCHEMA), &sc), 0);
	avro_value_iface_t *iface = avro_generic_class_from_schema(sc);
	avro_value_t v, f, x, br;
	assert_int_equal(avro_generic_value_new(iface, &v), 0);
	avro_value_get_by_name(&v, "id", &f, NULL);
	avro_value_set_long(&f, 9007199254740993LL);
	avro_value_get_by_name(&v, "name", &f, NULL);
	char *nm = malloc(name_len + 1);
	memcpy(nm, name, name_len);
	nm[name_len] = '\0';
	avro_value_set_string_len(&f, nm, name_len + 1);
	free(nm);
	avro_value_get_by_name(&v, "n", &f, NULL);
	avro_value_set_int(&f, -7);
	avro_value_get_by_name(&v, "score", &f, NULL);
	avro_value_set_double(&f, 2.5);
	avro_value_get_by_name(&v, "f", &f, NULL);
	avro_value_set_float(&f, 0.5f);
	avro_value_get_by_name(&v, "ok", &f, NULL);
	avro_value_set_boolean(&f, 1);
	avro_value_get_by_name(&v, "tags", &f, NULL);
	avro_value_append(&f, &x, NULL);
	avro_value_set_string(&x, "x");
	avro_value_append(&f, &x, NULL);
	avro_value_set_string(&x, "y");
	avro_value_get_by_name(&v, "attrs", &f, NULL);
	avro_value_add(&f, "k", &x, NULL, NULL);
	avro_value_set_int(&x, 3);
	avro_value_get_by_name(&v, "kind", &f, NULL);
	avro_value_set_enum(&f, 1);
	avro_value_get_by_name(&v, "opt", &f, NULL);
	if (opt_null) {
		avro_value_set_branch(&f, 0, &br);
		avro_value_set_null(&br);
	} else {
		avro_value_set_branch(&f, 1, &br);
		avro_value_set_string(&br, "o");
	}
	avro_value_get_by_name(&v, "raw", &f, NULL);
	avro_value_set_bytes(&f, "\x00\xff", 2);
	avro_value_get_by_name(&v, "fx", &f, NULL);
	avro_value_set_fixed(&f, "\xab\xcd", 2);
	avro_value_get_by_name(&v, "sub", &f, NULL);
	avro_value_get_by_name(&f, "x", &x, NULL);
	avro_value_set_long(&x, 42);
	avro_value_get_by_name(&v, "nul", &f, NULL);
	avro_value_set_null(&f);
	size_t sz = 0;
	assert_int_equal(avro_value_sizeof(&v, &sz), 0);
	assert_true(sz <= cap);
	avro_writer_t w = avro_writer_memory(out, (int64_t)cap);
	assert_int_equal(avro_value_write(w, &v), 0);
	avro_writer_free(w);
	avro_value_decref(&v);
	avro_value_iface_decref(iface);
	avro_schema_decref(sc);
	return sz;
}

static MsgDecoder *
mk_avro(const char *cls_short, const Schema *s, const char *env)
{
	char c1[256], c2[8192], c3[128];
	snprintf(c1, sizeof c1, CLS "=org.apache.pinot.plugin.inputformat.avro.%s", cls_short);
	snprintf(c2, sizeof c2, P "schema=%s", EV_SCHEMA);
	snprintf(c3, sizeof c3, P "envelope=%s", env ? env : "plain");
	return mk(s, c1, c2, c3, NULL);
}

static void
test_avro_decode(void **state)
{
	(void)state;
	char msg[4096];
	const char nm[] = "caf\xc3\xa9 \"q\"";
	size_t n = avro_make(msg, sizeof msg, nm, strlen(nm), 0);
	MsgDecoder *d = mk_avro("SimpleAvroMessageDecoder", NULL, NULL);
	assert_int_equal(msgdec_format(d), MSG_AVRO);
	assert_int_equal(dec(d, msg, n), 0);
	assert_string_equal(outbuf, EV_EXPECT);
	/* the output is valid JSON */
	cJSON *j = cJSON_Parse(outbuf);
	assert_non_null(j);
	cJSON_Delete(j);

	/* trailing bytes */
	msg[n] = 0;
	expect_err(dec(d, msg, n + 1), ERR_BAD_RECORD, "1 trailing bytes after the record");

	/* null union branch */
	n = avro_make(msg, sizeof msg, "a", 1, 1);
	assert_int_equal(dec(d, msg, n), 0);
	assert_non_null(strstr(outbuf, "\"opt\":null"));

	/* invalid UTF-8 in a string */
	n = avro_make(msg, sizeof msg, "ab\xff", 3, 0);
	expect_err(dec(d, msg, n), ERR_BAD_RECORD, "invalid UTF-8 in string at byte");
	assert_non_null(strstr(last_err.msg, "field 'name'"));
	msgdec_free(d);

	/* Confluent wire format: magic 0 + 4-byte schema id + datum */
	d = mk_avro("confluent.KafkaConfluentSchemaRegistryAvroMessageDecoder", NULL, NULL);
	char cm[4096] = {0, 0, 0, 0, 42};
	n = avro_make(cm + 5, sizeof cm - 5, nm, strlen(nm), 0);
	assert_int_equal(dec(d, cm, n + 5), 0);
	assert_string_equal(outbuf, EV_EXPECT);
	cm[0] = 1;
	expect_err(dec(d, cm, n + 5), ERR_BAD_RECORD, "Confluent: magic byte 0x01");
	expect_err(dec(d, cm, 3), ERR_BAD_RECORD, "shorter than the 5-byte header");
	msgdec_free(d);
}

static void
test_avro_truncations_and_garbage(void **state)
{
	(void)state;
	char msg[4096];
	const char nm[] = "hello world";
	size_t n = avro_make(msg, sizeof msg, nm, strlen(nm), 0);
	MsgDecoder *d = mk_avro("SimpleAvroMessageDecoder", NULL, NULL);
	for (size_t k = 0; k < n; k++) {
		char *cut = malloc(k ? k : 1); /* exact size: ASan sees overreads */
		memcpy(cut, msg, k);
		int rc = dec(d, cut, k);
		assert_true(rc == ERR_BAD_RECORD);
		if (k > 0)
			assert_non_null(strstr(last_err.msg, "Avro: truncated record at byte"));
		free(cut);
	}
	expect_err(dec(d, msg, 9), ERR_BAD_RECORD, "truncated record at byte 8 (field 'name')");
	expect_err(dec(d, msg, 3), ERR_BAD_RECORD, "truncated record at byte 0 (field 'id')");

	/* random bytes and random mutations of a valid message: no crash */
	srand(12345);
	int ok = 0;
	for (int it = 0; it < 20000; it++) {
		size_t len = (size_t)(rand() % 80);
		char *r = malloc(len ? len : 1);
		if (it % 2) {
			for (size_t k = 0; k < len; k++)
				r[k] = (char)rand();
		} else {
			len = n;
			r = realloc(r, n);
			memcpy(r, msg, n);
			for (int f = 0; f < 1 + rand() % 3; f++)
				r[rand() % n] ^= (char)(1 << (rand() % 8));
		}
		int rc = dec(d, r, len);
		assert_true(rc == 0 || rc == ERR_BAD_RECORD);
		if (rc == 0) {
			cJSON *j = cJSON_Parse(outbuf);
			assert_non_null(j);
			cJSON_Delete(j);
			ok++;
		} else {
			assert_true(strncmp(last_err.msg, "Avro: ", 6) == 0 ||
			            strcmp(last_err.msg, "empty message") == 0);
		}
		free(r);
	}
	assert_true(ok > 0);

	/* a huge string length and a huge array count are errors, fast */
	const unsigned char huge[] = {2, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
	expect_err(dec(d, huge, sizeof huge), ERR_BAD_RECORD, "truncated record at byte 1");
	msgdec_free(d);

	/* an array of nulls with a huge count */
	cJSON *m = cfg(CLS "=org.apache.pinot.plugin.inputformat.avro.SimpleAvroMessageDecoder",
	               P "schema={\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\","
	                 "\"type\":{\"type\":\"array\",\"items\":\"null\"}}]}",
	               NULL);
	Err e = {0};
	assert_int_equal(msgdec_create(m, NULL, &d, &e), 0);
	cJSON_Delete(m);
	const unsigned char nulls[] = {0xfe, 0xff, 0xff, 0xff, 0x0f, 0};
	expect_err(dec(d, nulls, sizeof nulls), ERR_BAD_RECORD, "too many zero-size array items");
	const unsigned char three[] = {6, 0};
	assert_int_equal(dec(d, three, sizeof three), 0);
	assert_string_equal(outbuf, "{\"a\":[null,null,null]}");
	msgdec_free(d);
}

static void
test_avro_recursive_and_big(void **state)
{
	(void)state;
	/* a recursive schema (linked list) */
	cJSON *m = cfg(CLS "=org.apache.pinot.plugin.inputformat.avro.SimpleAvroMessageDecoder",
	               P "schema={\"type\":\"record\",\"name\":\"L\",\"fields\":[{\"name\":\"v\","
	                 "\"type\":\"int\"},{\"name\":\"next\",\"type\":[\"null\",\"L\"]}]}",
	               NULL);
	MsgDecoder *d = NULL;
	Err e = {0};
	assert_int_equal(msgdec_create(m, NULL, &d, &e), 0);
	cJSON_Delete(m);
	const unsigned char two[] = {2, 2, 4, 0};
	assert_int_equal(dec(d, two, sizeof two), 0);
	assert_string_equal(outbuf, "{\"v\":1,\"next\":{\"v\":2,\"next\":null}}");
	/* deeper than the limit: an error, not a stack overflow */
	unsigned char deep[400];
	for (int k = 0; k < 199; k++) {
		deep[2 * k] = 2;
		deep[2 * k + 1] = 2;
	}
	deep[398] = 2;
	deep[399] = 0;
	expect_err(dec(d, deep, sizeof deep), ERR_BAD_RECORD, "nesting deeper than 64");
	msgdec_free(d);

	/* a 16 MiB string: decoded */
	size_t big = 16u << 20;
	char *bm = malloc(big + 64);
	char *nm = malloc(big);
	memset(nm, 'z', big);
	size_t n = avro_make(bm, big + 64, nm, big, 0);
	d = mk_avro("SimpleAvroMessageDecoder", NULL, NULL);
	const char *j;
	size_t jl;
	MsgMeta meta;
	assert_int_equal(msgdec_decode(d, bm, n, &j, &jl, &meta, &e), 0);
	assert_true(jl > big);
	msgdec_free(d);
	free(bm);
	free(nm);
}

/* ---- CSV ---- */

static void
test_csv(void **state)
{
	(void)state;
	Schema *s = mk_schema("id:LONG,name:STRING,tags:STRING[],n:INT,score:DOUBLE");
	MsgDecoder *d = mk(s, CLS "=org.apache.pinot.plugin.inputformat.csv.CSVMessageDecoder",
	                   P "header=id,name,tags,n,score", NULL);
	assert_int_equal(msgdec_format(d), MSG_CSV);
	assert_int_equal(decs(d, "1,\"a, \"\"b\"\"\",x;y,,2.5\n"), 0);
	assert_string_equal(outbuf,
	                    "{\"id\":\"1\",\"name\":\"a, \\\"b\\\"\",\"tags\":[\"x\",\"y\"],"
	                    "\"n\":null,\"score\":\"2.5\"}");

	/* what the pipeline does next: jsonrec converts the text to types */
	Err e = {0};
	JsonRec *jr = jsonrec_create(s, &e);
	assert_non_null(jr);
	RowBatch b;
	rowbatch_init(&b, s->nfields);
	int col = -1;
	assert_int_equal(jsonrec_decode(jr, outbuf, strlen(outbuf), &b, &col, &e), 0);
	Value *row = rowbatch_row(&b, 0);
	assert_int_equal(row[0].u.i, 1);
	assert_int_equal(row[2].mv, 1);
	assert_int_equal(row[2].n, 2);
	assert_int_equal(row[3].null, 1);
	assert_true(row[4].u.d == 2.5);
	rowbatch_free(&b);
	jsonrec_free(jr);

	assert_int_equal(decs(d, "2,\"\",a,7,1e3\r\n"), 0);
	assert_string_equal(outbuf, "{\"id\":\"2\",\"name\":\"\",\"tags\":[\"a\"],\"n\":\"7\","
	                            "\"score\":\"1e3\"}");
	expect_err(decs(d, "1,2,3"), ERR_BAD_RECORD, "CSV: 3 fields, the header names 5 columns");
	expect_err(decs(d, "1,2,3,4,5,6"), ERR_BAD_RECORD, "more than 5 fields");
	expect_err(decs(d, "1,ab\xff,x,1,2"), ERR_BAD_RECORD, "CSV: invalid UTF-8 at byte 4");
	expect_err(decs(d, "\xc0\xaf"), ERR_BAD_RECORD, "CSV: invalid UTF-8 at byte 0");
	expect_err(decs(d, "1,\"abc,x,1,2"), ERR_BAD_RECORD, "unterminated quoted field");
	expect_err(decs(d, "1,\"a\"b,x,1,2"), ERR_BAD_RECORD, "after the closing quote at byte 5");
	expect_err(decs(d, "1,a,x,1,2\n3,b,y,4,5"), ERR_BAD_RECORD, "more than one record");
	expect_err(decs(d, ""), ERR_BAD_RECORD, "empty message");
	msgdec_free(d);

	/* another delimiter, a null string, and a header in each message */
	d = mk(s, CLS "=org.apache.pinot.plugin.inputformat.csv.CSVMessageDecoder", P "delimiter=|",
	       P "multiValueDelimiter=,", P "nullStringValue=NA", NULL);
	assert_int_equal(decs(d, "name|tags|id\nNA|p,q|5\n"), 0);
	assert_string_equal(outbuf, "{\"name\":null,\"tags\":[\"p\",\"q\"],\"id\":\"5\"}");
	expect_err(decs(d, "name|id"), ERR_BAD_RECORD, "no data line after the header");
	msgdec_free(d);
	free_schema(s);
}

/* ---- Debezium ---- */

static Schema *
pk_schema(const char *spec, const char *pk)
{
	Schema *s = mk_schema(spec);
	s->npk = 1;
	s->pk = arena_alloc(&s->arena, sizeof(char *));
	s->pk[0] = arena_strdup(&s->arena, pk);
	return s;
}

static void
test_debezium_ops(void **state)
{
	(void)state;
	Schema *s = pk_schema("id:LONG,name:STRING,__op:STRING,__ts_ms:LONG,__deleted:BOOLEAN,"
	                      "__lsn:LONG,__source_table:STRING,__source_db:STRING",
	                      "id");
	MsgDecoder *d = mk(s, P "envelope=debezium", NULL);
	assert_int_equal(msgdec_envelope(d), MSG_ENV_DEBEZIUM);

	const char *src = "\"source\":{\"connector\":\"postgresql\",\"db\":\"shop\",\"table\":"
	                  "\"orders\",\"lsn\":777,\"ts_ms\":1700000000000}";
	char msg[2048];
	snprintf(msg, sizeof msg,
	         "{\"before\":null,\"after\":{\"id\":9007199254740993,\"name\":\"a\"},%s,"
	         "\"op\":\"c\",\"ts_ms\":1700000000500}",
	         src);
	assert_int_equal(decs(d, msg), 0);
	assert_string_equal(outbuf, "{\"id\":9007199254740993,\"name\":\"a\",\"__op\":\"c\","
	                            "\"__ts_ms\":1700000000000,\"__deleted\":false,\"__lsn\":777,"
	                            "\"__source_db\":\"shop\",\"__source_table\":\"orders\"}");
	assert_int_equal(last_meta.op, MSG_OP_CREATE);
	assert_int_equal(last_meta.ts_ms, 1700000000000LL);
	assert_int_equal(last_meta.lsn, 777);

	/* with the JsonConverter wrapper, update */
	snprintf(msg, sizeof msg,
	         "{\"schema\":{\"type\":\"struct\"},\"payload\":{\"before\":{\"id\":1,\"name\":"
	         "\"a\"},"
	         "\"after\":{\"id\":1,\"name\":\"b\"},\"op\":\"u\",\"ts_ms\":5}}");
	assert_int_equal(decs(d, msg), 0);
	assert_string_equal(outbuf, "{\"id\":1,\"name\":\"b\",\"__op\":\"u\",\"__ts_ms\":5,"
	                            "\"__deleted\":false,\"__lsn\":null,\"__source_db\":null,"
	                            "\"__source_table\":null}");
	assert_int_equal(last_meta.op, MSG_OP_UPDATE);
	assert_int_equal(last_meta.lsn, -1);

	/* snapshot read */
	assert_int_equal(decs(d, "{\"after\":{\"id\":2},\"op\":\"r\"}"), 0);
	assert_int_equal(last_meta.op, MSG_OP_READ);
	assert_non_null(strstr(outbuf, "\"__op\":\"r\""));
	assert_int_equal(last_meta.ts_ms, -1);

	/* delete: the row is `before` */
	assert_int_equal(
	        decs(d, "{\"before\":{\"id\":3,\"name\":\"x\"},\"after\":null,\"op\":\"d\"}"), 0);
	assert_int_equal(last_meta.op, MSG_OP_DELETE);
	assert_string_equal(outbuf, "{\"id\":3,\"name\":\"x\",\"__op\":\"d\",\"__ts_ms\":null,"
	                            "\"__deleted\":true,\"__lsn\":null,\"__source_db\":null,"
	                            "\"__source_table\":null}");

	/* empty objects get no stray comma */
	assert_int_equal(decs(d, "{\"after\":{ },\"op\":\"c\"}"), 0);
	assert_true(strncmp(outbuf, "{ \"__op\"", 8) == 0);
	cJSON *j = cJSON_Parse(outbuf);
	assert_non_null(j);
	cJSON_Delete(j);

	/* tombstones: skipped */
	assert_int_equal(dec(d, NULL, 0), 0);
	assert_string_equal(outbuf, "<skip>");
	assert_int_equal(last_meta.op, MSG_OP_NONE);
	assert_int_equal(dec(d, "", 0), 0);
	assert_string_equal(outbuf, "<skip>");
	assert_int_equal(decs(d, " null "), 0);
	assert_string_equal(outbuf, "<skip>");
	assert_int_equal(decs(d, "{\"schema\":{},\"payload\":null}"), 0);
	assert_string_equal(outbuf, "<skip>");
	msgdec_free(d);
	free_schema(s);
}

static void
test_debezium_errors(void **state)
{
	(void)state;
	Schema *s = pk_schema("id:LONG,name:STRING", "id");
	MsgDecoder *d = mk(s, P "envelope=debezium", NULL);
	expect_err(decs(d, "{\"after\":{\"id\":1}}"), ERR_BAD_RECORD, "Debezium: missing 'op'");
	expect_err(decs(d, "{\"before\":{\"id\":1},\"op\":\"u\"}"), ERR_BAD_RECORD,
	           "Debezium: op 'u' without 'after'");
	expect_err(decs(d, "{\"op\":\"c\",\"after\":null}"), ERR_BAD_RECORD,
	           "Debezium: op 'c' without 'after'");
	expect_err(decs(d, "{\"op\":\"r\"}"), ERR_BAD_RECORD, "Debezium: op 'r' without 'after'");
	expect_err(decs(d, "{\"op\":\"d\",\"after\":null}"), ERR_BAD_RECORD,
	           "Debezium: op 'd' without 'before'");
	expect_err(decs(d, "{\"op\":\"d\",\"before\":{\"name\":\"x\"}}"), ERR_BAD_RECORD,
	           "delete without primary key column 'id' in 'before'");
	expect_err(decs(d, "{\"op\":\"x\",\"after\":{}}"), ERR_BAD_RECORD, "unknown op 'x'");
	expect_err(decs(d, "{\"op\":7,\"after\":{}}"), ERR_BAD_RECORD, "unknown op 7");
	expect_err(decs(d, "{\"op\":\"c\",\"after\":[1]}"), ERR_BAD_RECORD,
	           "'after' is not an object");
	expect_err(decs(d, "{\"op\":\"t\",\"source\":{\"table\":\"orders\"}}"), ERR_UNSUPPORTED,
	           "op 't' (truncate of \"orders\") is not applied");
	expect_err(decs(d, "{\"op\":\"c\",\"after\":{\"id\":1"), ERR_BAD_JSON,
	           "Debezium: invalid JSON at byte 25");
	expect_err(decs(d, "{\"op\":\"c\",\"after\":{\"id\":--1}}"), ERR_BAD_JSON, "invalid JSON");
	expect_err(decs(d, "{\"op\":\"c\",\"after\":{}} x"), ERR_BAD_JSON, "data after the object");
	expect_err(decs(d, "[1]"), ERR_BAD_RECORD, "message is not a JSON object");
	expect_err(decs(d, "nope"), ERR_BAD_JSON, "invalid JSON at byte 0");
	expect_err(decs(d, "{\"schema\":{},\"payload\":3}"), ERR_BAD_RECORD,
	           "'payload' is not an object");
	/* no metadata column in the schema: the row is the `after` span (zero copy) */
	const char msg[] = "{\"op\":\"c\",\"after\":{\"id\":1}}";
	const char *j;
	size_t jl;
	MsgMeta m;
	Err e = {0};
	assert_int_equal(msgdec_decode(d, msg, strlen(msg), &j, &jl, &m, &e), 0);
	assert_ptr_equal(j, msg + 18);
	assert_int_equal(jl, 8);
	/* random bytes never crash the envelope scanner */
	srand(7);
	for (int it = 0; it < 20000; it++) {
		char r[64];
		const char alpha[] = "{}[]\":,0123456789-.eE tnurlfasbop\\\x01\xff";
		size_t len = (size_t)(rand() % (int)sizeof r);
		for (size_t k = 0; k < len; k++)
			r[k] = alpha[rand() % (int)(sizeof alpha - 1)];
		int rc = dec(d, r, len);
		assert_true(rc == 0 || rc == ERR_BAD_RECORD || rc == ERR_BAD_JSON ||
		            rc == ERR_UNSUPPORTED);
	}
	/* mutations of a valid event: whatever is accepted is JSON that
	 * cJSON parses (into an object) */
	const char good[] = "{\"schema\":{},\"payload\":{\"before\":{\"id\":1,\"n\":\"a\"},"
	                    "\"after\":{\"id\":1,\"n\":[1,2.5e3,{\"x\":null}]},\"op\":\"u\","
	                    "\"source\":{\"table\":\"t\"}}}";
	int accepted = 0;
	for (int it = 0; it < 20000; it++) {
		char r[sizeof good];
		memcpy(r, good, sizeof good);
		const char alpha[] = "{}[]\":,0-.e tnul\\";
		for (int f = 0; f < 1 + rand() % 2; f++)
			r[rand() % (int)(sizeof good - 1)] =
			        alpha[rand() % (int)(sizeof alpha - 1)];
		int rc = dec(d, r, sizeof good - 1);
		if (rc == 0 && strcmp(outbuf, "<skip>") != 0) {
			cJSON *jj = cJSON_Parse(outbuf);
			if (jj == NULL)
				fprintf(stderr, "accepted %s -> %s\n", r, outbuf);
			assert_non_null(jj);
			assert_true(cJSON_IsObject(jj));
			cJSON_Delete(jj);
			accepted++;
		}
	}
	assert_true(accepted > 0);
	msgdec_free(d);
	free_schema(s);
}

/* Debezium events carried as Avro (unions for before/after). */
static void
test_debezium_avro(void **state)
{
	(void)state;
	const char sch[] =
	        "{\"type\":\"record\",\"name\":\"Env\",\"fields\":["
	        "{\"name\":\"before\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"V\","
	        "\"fields\":[{\"name\":\"id\",\"type\":\"long\"}]}]},"
	        "{\"name\":\"after\",\"type\":[\"null\",\"V\"]},"
	        "{\"name\":\"op\",\"type\":\"string\"},"
	        "{\"name\":\"ts_ms\",\"type\":[\"null\",\"long\"]}]}";
	char c2[1024];
	snprintf(c2, sizeof c2, P "schema=%s", sch);
	Schema *s = mk_schema("id:LONG,__op:STRING");
	MsgDecoder *d =
	        mk(s, CLS "=org.apache.pinot.plugin.inputformat.avro.SimpleAvroMessageDecoder", c2,
	           P "envelope=debezium", NULL);
	/* before null (0), after V{id=5} (2, 10), op "u" (2 'u'), ts 9 (2, 18) */
	const unsigned char m[] = {0, 2, 10, 2, 'u', 2, 18};
	assert_int_equal(dec(d, m, sizeof m), 0);
	assert_string_equal(outbuf, "{\"id\":5,\"__op\":\"u\"}");
	assert_int_equal(last_meta.ts_ms, 9);
	msgdec_free(d);
	free_schema(s);
}

/* ---- Cosmos DB ---- */

static void
test_cosmos_latest(void **state)
{
	(void)state;
	Schema *s = pk_schema(
	        "id:STRING,qty:INT,__op:STRING,__ts_ms:LONG,__deleted:BOOLEAN,__lsn:LONG", "id");
	MsgDecoder *d = mk(s, P "envelope=cosmos", NULL);
	assert_int_equal(msgdec_envelope(d), MSG_ENV_COSMOS);
	const char doc[] = "{\"id\":\"i1\",\"qty\":3,\"_rid\":\"abc==\",\"_etag\":\"\\\"0000\\\"\","
	                   "\"_ts\":1700000000,\"_lsn\":12}";
	assert_int_equal(decs(d, doc), 0);
	assert_int_equal(last_meta.op, MSG_OP_UPDATE);
	assert_int_equal(last_meta.ts_ms, 1700000000000LL);
	assert_int_equal(last_meta.lsn, 12);
	char want[512];
	snprintf(want, sizeof want,
	         "%.*s,\"__op\":\"u\",\"__ts_ms\":1700000000000,\"__deleted\":false,\"__lsn\":12}",
	         (int)strlen(doc) - 1, doc);
	assert_string_equal(outbuf, want);
	expect_err(decs(d, "{\"qty\":1}"), ERR_BAD_RECORD, "Cosmos: document without 'id'");
	expect_err(decs(d, "{\"id\":1"), ERR_BAD_JSON, "Cosmos: invalid JSON at byte 7");
	expect_err(dec(d, NULL, 0), ERR_BAD_RECORD, "empty message");
	msgdec_free(d);

	/* explicit latest mode: a document with its own "metadata" field */
	d = mk(s, P "envelope=cosmos", P "cosmos.mode=latest", NULL);
	assert_int_equal(decs(d, "{\"id\":\"x\",\"metadata\":{\"operationType\":\"delete\"}}"), 0);
	assert_int_equal(last_meta.op, MSG_OP_UPDATE);
	msgdec_free(d);
	free_schema(s);
}

static void
test_cosmos_all_versions(void **state)
{
	(void)state;
	Schema *s = pk_schema(
	        "id:STRING,pk:STRING,qty:INT,__op:STRING,__ts_ms:LONG,__deleted:BOOLEAN", "id");
	MsgDecoder *d = mk(s, P "envelope=cosmos", NULL);
	assert_int_equal(
	        decs(d, "{\"current\":{\"id\":\"a\",\"pk\":\"p\",\"qty\":1,\"_ts\":100},"
	                "\"metadata\":{\"operationType\":\"create\",\"lsn\":5,\"crts\":101}}"),
	        0);
	assert_int_equal(last_meta.op, MSG_OP_CREATE);
	assert_int_equal(last_meta.ts_ms, 101000);
	assert_int_equal(last_meta.lsn, 5);
	assert_string_equal(outbuf,
	                    "{\"id\":\"a\",\"pk\":\"p\",\"qty\":1,\"_ts\":100,\"__op\":\"c\","
	                    "\"__ts_ms\":101000,\"__deleted\":false}");

	assert_int_equal(decs(d, "{\"current\":{\"id\":\"a\",\"qty\":2,\"_ts\":200},"
	                         "\"metadata\":{\"operationType\":\"replace\",\"lsn\":6,"
	                         "\"previousImageLSN\":5}}"),
	                 0);
	assert_int_equal(last_meta.op, MSG_OP_UPDATE);
	assert_int_equal(last_meta.ts_ms, 200000); /* no crts: current._ts */

	/* delete with the previous image */
	assert_int_equal(decs(d, "{\"current\":null,\"previous\":{\"id\":\"a\",\"qty\":2},"
	                         "\"metadata\":{\"operationType\":\"delete\",\"lsn\":7,"
	                         "\"crts\":300,\"timeToLiveExpired\":false}}"),
	                 0);
	assert_int_equal(last_meta.op, MSG_OP_DELETE);
	assert_string_equal(outbuf, "{\"id\":\"a\",\"qty\":2,\"__op\":\"d\",\"__ts_ms\":300000,"
	                            "\"__deleted\":true}");

	/* delete without previous: id and partition key from metadata */
	assert_int_equal(decs(d, "{\"metadata\":{\"operationType\":\"delete\",\"id\":\"a\","
	                         "\"partitionKey\":{\"pk\":\"p\",\"id\":\"a\"},\"lsn\":8}}"),
	                 0);
	assert_string_equal(outbuf, "{\"id\":\"a\",\"pk\":\"p\",\"__op\":\"d\",\"__ts_ms\":null,"
	                            "\"__deleted\":true}");

	expect_err(decs(d, "{\"metadata\":{\"operationType\":\"delete\"}}"), ERR_BAD_RECORD,
	           "Cosmos: delete without 'previous' or 'metadata.id'");
	expect_err(
	        decs(d, "{\"previous\":{\"qty\":1},\"metadata\":{\"operationType\":\"delete\"}}"),
	        ERR_BAD_RECORD, "delete without primary key column 'id' in 'previous'");
	expect_err(decs(d, "{\"metadata\":{\"operationType\":\"replace\"}}"), ERR_BAD_RECORD,
	           "Cosmos: operationType 'replace' without 'current'");
	expect_err(decs(d, "{\"current\":{},\"metadata\":{\"operationType\":\"upsert\"}}"),
	           ERR_BAD_RECORD, "unknown operationType 'upsert'");
	expect_err(decs(d, "{\"current\":5,\"metadata\":{\"operationType\":\"create\"}}"),
	           ERR_BAD_RECORD, "'current' is not an object");
	msgdec_free(d);

	/* forced mode: a message without metadata is an error */
	d = mk(s, P "envelope=cosmos", P "cosmos.mode=allVersionsAndDeletes", NULL);
	expect_err(decs(d, "{\"id\":\"a\"}"), ERR_BAD_RECORD, "missing 'metadata.operationType'");
	msgdec_free(d);
	free_schema(s);
}

/* A 16 MiB JSON message through an envelope: decoded. */
static void
test_big_messages(void **state)
{
	(void)state;
	size_t big = 16u << 20;
	char *m = malloc(big + 100);
	size_t n = (size_t)sprintf(m, "{\"op\":\"c\",\"after\":{\"id\":1,\"s\":\"");
	memset(m + n, 'q', big);
	n += big;
	n += (size_t)sprintf(m + n, "\"}}");
	Schema *s = mk_schema("id:LONG,s:STRING,__op:STRING");
	MsgDecoder *d = mk(s, P "envelope=debezium", NULL);
	const char *j;
	size_t jl;
	MsgMeta meta;
	Err e = {0};
	assert_int_equal(msgdec_decode(d, m, n, &j, &jl, &meta, &e), 0);
	assert_int_equal(jl, big + 26);
	msgdec_free(d);

	/* CSV too */
	d = mk(s, CLS "=org.apache.pinot.plugin.inputformat.csv.CSVMessageDecoder", P "header=id,s",
	       NULL);
	n = (size_t)sprintf(m, "1,");
	memset(m + n, 'q', big);
	n += big;
	assert_int_equal(msgdec_decode(d, m, n, &j, &jl, &meta, &e), 0);
	assert_int_equal(jl, big + 17);
	msgdec_free(d);
	free_schema(s);
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_json_passthrough),
	        cmocka_unit_test(test_config_errors),
	        cmocka_unit_test(test_avro_decode),
	        cmocka_unit_test(test_avro_truncations_and_garbage),
	        cmocka_unit_test(test_avro_recursive_and_big),
	        cmocka_unit_test(test_csv),
	        cmocka_unit_test(test_debezium_ops),
	        cmocka_unit_test(test_debezium_errors),
	        cmocka_unit_test(test_debezium_avro),
	        cmocka_unit_test(test_cosmos_latest),
	        cmocka_unit_test(test_cosmos_all_versions),
	        cmocka_unit_test(test_big_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
