/*
 * cmd_ingest.c -- `waybill ingest FILE --table T [--format ndjson|csv|avro]
 * [--server URL]`: streams a file to POST /tables/T/ingest and prints a
 * live progress line (rows/s, MB/s) on stderr, then the server's answer.
 *
 * NDJSON and CSV files are sent as they are; Avro files are read here
 * (ingest/avroread.c, libavro) and sent as NDJSON, so the server needs
 * one decoder fewer.  The body is produced as curl asks for it, so a file
 * of any size streams in constant memory.
 *
 * Exit status: 0 when the server accepted the body (even with rejected
 * records, which are listed), 1 on an error, 2 on bad usage.
 *
 * Exports: cmd_ingest.
 */
#include "cli/cmd.h"
#include "cli/httpc.h"
#include "base/clock.h"
#include "base/mem.h"
#include "ingest/avroread.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef struct Src {
	FILE *f;		/* ndjson / csv */
	AvroRead *avro;		/* avro */
	Buf pending;		/* avro: rendered lines not yet sent */
	Buf line;		/* avro: the record being rendered */
	size_t pending_off;
	uint64_t bytes, rows;
	int64_t t0, last_print;
	int failed;
	Err err;
} Src;

static void
progress(Src *s, int final)
{
	int64_t now = clock_mono_ns();
	if (!final && now - s->last_print < 500000000)
		return;
	s->last_print = now;
	double secs = (double)(now - s->t0) / 1e9;
	if (secs <= 0)
		secs = 1e-9;
	fprintf(stderr, "\r%llu rows, %.1f MB sent, %.0f rows/s, %.1f MB/s   %s",
		(unsigned long long)s->rows, (double)s->bytes / 1e6, (double)s->rows / secs,
		(double)s->bytes / 1e6 / secs, final ? "\n" : "");
	fflush(stderr);
}

static long
count_lines(Src *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] == '\n')
			s->rows++;
	s->bytes += n;
	return (long)n;
}

static long
read_file(void *ctx, char *dst, size_t cap)
{
	Src *s = ctx;
	progress(s, 0);
	size_t n = fread(dst, 1, cap, s->f);
	if (n == 0 && ferror(s->f)) {
		s->failed = 1;
		err_set(&s->err, ERR_IO, "reading the input file");
		return -1;
	}
	return count_lines(s, dst, n);
}

static long
read_avro(void *ctx, char *dst, size_t cap)
{
	Src *s = ctx;
	progress(s, 0);
	while (s->pending.len - s->pending_off < cap && s->avro) {
		if (s->pending_off > 0) {
			memmove(s->pending.p, s->pending.p + s->pending_off,
				s->pending.len - s->pending_off);
			s->pending.len -= s->pending_off;
			s->pending_off = 0;
		}
		int r = avroread_next(s->avro, &s->line, &s->err);
		if (r < 0) {
			s->failed = 1;
			return -1;
		}
		if (r == 0) {
			avroread_close(s->avro);
			s->avro = NULL;
			break;
		}
		buf_append(&s->pending, s->line.p, s->line.len);
		buf_putc(&s->pending, '\n');
	}
	size_t n = s->pending.len - s->pending_off;
	if (n > cap)
		n = cap;
	memcpy(dst, s->pending.p + s->pending_off, n);
	s->pending_off += n;
	return count_lines(s, dst, n);
}

static void
print_answer(int status, const char *body)
{
	cJSON *doc = cJSON_Parse(body);
	if (status == 200 && doc) {
		const cJSON *acc = cJSON_GetObjectItem(doc, "accepted");
		const cJSON *rej = cJSON_GetObjectItem(doc, "rejected");
		printf("accepted %.0f, rejected %.0f\n", cJSON_IsNumber(acc) ? acc->valuedouble : 0,
		       cJSON_IsNumber(rej) ? rej->valuedouble : 0);
		const cJSON *errs = cJSON_GetObjectItem(doc, "errors"), *it;
		int n = 0;
		cJSON_ArrayForEach(it, errs)
		{
			if (n++ == 20) {
				printf("  ...\n");
				break;
			}
			const cJSON *line = cJSON_GetObjectItem(it, "line");
			const cJSON *col = cJSON_GetObjectItem(it, "column");
			const cJSON *why = cJSON_GetObjectItem(it, "reason");
			printf("  line %.0f%s%s: %s\n", cJSON_IsNumber(line) ? line->valuedouble : 0,
			       cJSON_IsString(col) ? ", column " : "",
			       cJSON_IsString(col) ? col->valuestring : "",
			       cJSON_IsString(why) ? why->valuestring : "?");
		}
	} else {
		const cJSON *msg = doc ? cJSON_GetObjectItem(doc, "error") : NULL;
		fprintf(stderr, "waybill ingest: server answered %d: %s\n", status,
			cJSON_IsString(msg) ? msg->valuestring : body);
	}
	cJSON_Delete(doc);
}

int
cmd_ingest(int argc, char **argv)
{
	const char *file = NULL, *table = NULL, *format = NULL;
	const char *server = "http://127.0.0.1:8099";
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0) {
			puts("usage: waybill ingest FILE --table T [--format ndjson|csv|avro] [--server URL]");
			return 0;
		} else if (strcmp(a, "--table") == 0 && v) {
			table = v;
			i++;
		} else if (strcmp(a, "--format") == 0 && v) {
			format = v;
			i++;
		} else if (strcmp(a, "--server") == 0 && v) {
			server = v;
			i++;
		} else if (a[0] != '-' && file == NULL) {
			file = a;
		} else {
			fprintf(stderr, "waybill ingest: bad argument '%s' (try --help)\n", a);
			return 2;
		}
	}
	if (file == NULL || table == NULL) {
		fprintf(stderr, "waybill ingest: FILE and --table are required (try --help)\n");
		return 2;
	}
	if (format == NULL) {
		const char *dot = strrchr(file, '.');
		format = dot && strcasecmp(dot, ".csv") == 0 ? "csv"
			 : dot && strcasecmp(dot, ".avro") == 0 ? "avro" : "ndjson";
	}
	int avro = strcasecmp(format, "avro") == 0;
	if (!avro && strcasecmp(format, "csv") != 0 && strcasecmp(format, "ndjson") != 0 &&
	    strcasecmp(format, "json") != 0) {
		fprintf(stderr, "waybill ingest: --format must be ndjson, csv or avro\n");
		return 2;
	}
	Src s = {0};
	buf_init(&s.pending);
	buf_init(&s.line);
	Err e = {0};
	if (avro) {
		if (avroread_open(file, &s.avro, &e) != 0) {
			fprintf(stderr, "waybill ingest: %s\n", err_msg(&e));
			return 1;
		}
	} else if ((s.f = fopen(file, "rb")) == NULL) {
		fprintf(stderr, "waybill ingest: cannot open %s\n", file);
		return 1;
	}
	char url[2048];
	snprintf(url, sizeof(url), "%s/tables/%s/ingest?format=%s", server, table,
		 avro ? "ndjson" : format);
	s.t0 = s.last_print = clock_mono_ns();
	Buf out;
	buf_init(&out);
	int status = 0;
	int rc = httpc_post_stream(url, avro || strcasecmp(format, "csv") != 0 ? "application/x-ndjson" : "text/csv",
				   avro ? read_avro : read_file, &s, &status, &out, &e);
	progress(&s, 1);
	if (s.f)
		fclose(s.f);
	if (s.avro)
		avroread_close(s.avro);
	buf_free(&s.pending);
	buf_free(&s.line);
	if (s.failed) {
		fprintf(stderr, "waybill ingest: %s\n", err_msg(&s.err));
		buf_free(&out);
		return 1;
	}
	if (rc != 0) {
		fprintf(stderr, "waybill ingest: %s\n", err_msg(&e));
		buf_free(&out);
		return 1;
	}
	print_answer(status, out.p ? out.p : "");
	buf_free(&out);
	return status == 200 ? 0 : 1;
}
