/*
 * test_ingest_avroread.c -- Avro container files rendered as NDJSON lines,
 * on Pinot's example data (WB_SHARED), and the lines decoded by the NDJSON
 * decoder; bad files give clear errors.
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
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "ingest/avroread.h"
#include "ingest/decoder.h"
#include "ingest_testutil.h"

#define EX "/pinot-examples/pinot-tools-examples"

static char path_buf[1024];

static const char *
shared(const char *rel)
{
	const char *root = getenv("WB_SHARED");
	snprintf(path_buf, sizeof path_buf, "%s%s", root ? root : "/work/shared", rel);
	return path_buf;
}

/* Reads every record; returns the count, checks each line is a JSON
 * object, keeps the first line in first (if not NULL). */
static long
read_all(const char *path, Buf *first, int *final_rc)
{
	AvroRead *r = NULL;
	Err e = {0};
	int rc = avroread_open(path, &r, &e);
	if (rc != 0) {
		*final_rc = rc;
		return -1;
	}
	Buf line;
	buf_init(&line);
	long n = 0;
	while ((rc = avroread_next(r, &line, &e)) == 1) {
		cJSON *j = cJSON_ParseWithLength(line.p, line.len);
		assert_non_null(j);
		assert_true(cJSON_IsObject(j));
		cJSON_Delete(j);
		if (n == 0 && first)
			buf_append(first, line.p, line.len);
		n++;
	}
	assert_int_equal(avroread_count(r), n);
	*final_rc = rc;
	buf_free(&line);
	avroread_close(r);
	return n;
}

static void
test_airline_batch_day(void **state)
{
	Buf first;
	buf_init(&first);
	int rc;
	long n = read_all(shared(EX "/batch/airlineStats/rawdata/2014/01/01/"
				    "airlineStats_data_2014-01-01.avro"), &first, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(n, 289);
	cJSON *j = cJSON_Parse(first.p);
	assert_non_null(j);
	assert_int_equal(cJSON_GetObjectItem(j, "DaysSinceEpoch")->valueint, 16071);
	assert_string_equal(cJSON_GetObjectItem(j, "Origin")->valuestring, "JFK");
	assert_string_equal(cJSON_GetObjectItem(j, "Dest")->valuestring, "LAX");
	assert_string_equal(cJSON_GetObjectItem(j, "OriginCityName")->valuestring, "New York, NY");
	assert_int_equal(cJSON_GetObjectItem(j, "ArrDelay")->valueint, 13);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "CarrierDelay")));	/* union null */
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "DivAirports")));
	cJSON_Delete(j);
	buf_free(&first);
}

static void
test_airline_stream_and_decode(void **state)
{
	const char *path = shared(EX "/stream/airlineStats/rawdata/airlineStats_data.avro");
	int rc;
	assert_int_equal(read_all(path, NULL, &rc), 9746);
	assert_int_equal(rc, 0);

	/* Avro -> NDJSON -> decoder, as `waybill ingest --format avro` does */
	Schema *s = mk_schema("FlightNum:INT,Origin:STRING,Dest:STRING,ArrDelay:INT,"
			      "DaysSinceEpoch:INT,DivAirports:STRING[],Cancelled:INT");
	Err e = {0};
	Decoder *d = decoder_create(DECODE_NDJSON, s, NULL, &e);
	AvroRead *r;
	assert_int_equal(avroread_open(path, &r, &e), 0);
	RowBatch b;
	rowbatch_init(&b, s->nfields);
	Buf line;
	buf_init(&line);
	long rows = 0, nulls = 0;
	while (avroread_next(r, &line, &e) == 1) {
		buf_putc(&line, '\n');
		assert_int_equal(decoder_feed(d, line.p, line.len, &b, NULL, NULL), 0);
		for (size_t i = 0; i < b.nrows; i++)
			nulls += rowbatch_row(&b, i)[3].null;
		rows += (long)b.nrows;
		rowbatch_reset(&b);
	}
	assert_int_equal(decoder_finish(d, &b, NULL, NULL), 0);
	DecodeStats st;
	decoder_stats(d, &st);
	assert_int_equal(rows, 9746);
	assert_int_equal(st.rejected, 0);
	assert_true(nulls > 0 && nulls < rows);	/* ArrDelay is a nullable union */
	buf_free(&line);
	rowbatch_free(&b);
	avroread_close(r);
	decoder_free(d);
	free_schema(s);
}

static void
test_snappy_and_others(void **state)
{
	static const struct {
		const char *rel;
		long n;
	} files[] = {
		{EX "/batch/ssb/dates/rawdata/dates.avro", 2556},
		{EX "/batch/ssb/supplier/rawdata/supplier.avro", 2000},
		{EX "/batch/clientSalaryNulls/rawdata/clientSalaryNulls_data.avro", 100},
		{EX "/batch/tpch/region/rawdata/region.avro", 5},
	};
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		int rc;
		assert_int_equal(read_all(shared(files[i].rel), NULL, &rc), files[i].n);
		assert_int_equal(rc, 0);
	}
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	char *p = mem_alloc(*len);
	assert_int_equal(fread(p, 1, *len, f), *len);
	fclose(f);
	return p;
}

static void
spit(const char *path, const char *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

static void
test_bad_files(void **state)
{
	AvroRead *r = NULL;
	Err e = {0};
	assert_int_equal(avroread_open("/nonexistent/x.avro", &r, &e), ERR_IO);
	assert_null(r);

	char tmp[] = "/tmp/wb-avro-XXXXXX";
	int fd = mkstemp(tmp);
	assert_true(fd >= 0);
	close(fd);
	spit(tmp, "{\"not\":\"avro\"}\n", 15);
	err_clear(&e);
	assert_int_equal(avroread_open(tmp, &r, &e), ERR_BAD_RECORD);
	assert_non_null(strstr(e.msg, "not an Avro object container file"));

	/* an unknown codec in the header */
	size_t len;
	char *data = slurp(shared(EX "/batch/ssb/dates/rawdata/dates.avro"), &len);
	char *c = memmem(data, len, "snappy", 6);
	assert_non_null(c);
	memcpy(c, "zzzzzz", 6);
	spit(tmp, data, len);
	err_clear(&e);
	assert_int_equal(avroread_open(tmp, &r, &e), ERR_UNSUPPORTED);
	assert_non_null(strstr(e.msg, "codec 'zzzzzz' is not supported"));
	mem_free(data);

	/* truncated: records up to the cut, then an error, no crash */
	data = slurp(shared(EX "/stream/airlineStats/rawdata/airlineStats_data.avro"), &len);
	spit(tmp, data, len / 2);
	int rc;
	long n = read_all(tmp, NULL, &rc);
	assert_true(n > 0 && n < 9746);
	assert_true(rc < 0);
	mem_free(data);
	unlink(tmp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_airline_batch_day),
		cmocka_unit_test(test_airline_stream_and_decode),
		cmocka_unit_test(test_snappy_and_others),
		cmocka_unit_test(test_bad_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
