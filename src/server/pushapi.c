/*
 * pushapi.c -- POST /tables/{name}/ingest: the body (NDJSON or CSV) is
 * streamed into a push job as it arrives, so a body of any size needs
 * only a chunk of memory.  The answer is 200 with {"accepted", "rejected",
 * "errors": [{"line", "column", "reason"}]} once every accepted row is
 * durable and visible; 404 for an unknown table, 415 for an unknown
 * format, and the error table's status when a write fails.
 *
 * Format: ?format=ndjson|json|csv, else the Content-Type (text/csv,
 * application/x-ndjson, application/json), else NDJSON.  CSV options:
 * ?delimiter=X (one character, or tab), ?header=false with ?columns=a,b,c
 * (up to 1024 names).
 *
 * The table's ingestion transforms, filter and complexTypeConfig apply
 * (ingest/xform.h), their SQL expressions compiled by query/exprc.h;
 * "filtered" in the answer counts rows the filter dropped.  A config
 * whose transforms cannot be compiled fails the request with 400 naming
 * the config path.
 *
 * Exports: pushapi_stream.
 */
#include "server/server_int.h"
#include "base/mem.h"
#include "ingest/push.h"
#include "query/exprc.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct PushState {
	PushJob *job;
	char *colbuf;
	const char *cols[1024];
	int failed;
} PushState;

static int
pick_format(HttpReq *req, DecodeFormat *fmt)
{
	const char *f = http_query(req, "format");
	if (f) {
		if (strcasecmp(f, "ndjson") == 0 || strcasecmp(f, "json") == 0 ||
		    strcasecmp(f, "jsonl") == 0)
			*fmt = DECODE_NDJSON;
		else if (strcasecmp(f, "csv") == 0)
			*fmt = DECODE_CSV;
		else
			return -1;
		return 0;
	}
	const char *ct = http_header(req, "Content-Type");
	*fmt = DECODE_NDJSON;
	if (ct && (strncasecmp(ct, "text/csv", 8) == 0 || strncasecmp(ct, "application/csv", 15) == 0))
		*fmt = DECODE_CSV;
	return 0;
}

/* A memory failure while the ingest budget is exhausted is the server
 * being busy, not broken: say so (503) and let the client retry. */
static void
budget_error(ServerApp *a, Err *e)
{
	if (e->code == ERR_NOMEM && atomic_load(&a->ingest_mem.exceeded)) {
		atomic_store(&a->ingest_mem.exceeded, 0);
		err_reset(e, ERR_BUSY,
			  "ingestion memory limit of %zu MiB (all uploads together) reached; retry later or send smaller bodies",
			  a->ingest_mem.limit >> 20);
	}
}

/* Ingestion transforms are SQL expressions compiled by src/query. */
static const XformCompiler xform_compiler = {NULL, exprc_compile, exprc_release};

static int
push_begin_cb(void *app, HttpReq *req, HttpResp *resp, void **state)
{
	ServerApp *a = app;
	const char *name = http_param(req, 0);
	Table *t = catalog_get_table(a->cat, name);
	if (t == NULL || strncmp(table_name(t), "sys.", 4) == 0) {
		if (t)
			table_unref(t);
		char msg[512];
		snprintf(msg, sizeof(msg), "Table %s not found", name);
		http_error(resp, 404, msg);
		return -1;
	}
	DecodeFormat fmt;
	if (pick_format(req, &fmt) != 0) {
		table_unref(t);
		http_error(resp, 415, "format: must be ndjson or csv");
		return -1;
	}
	DecodeOpts o;
	decoder_opts_init(&o);
	o.compiler = &xform_compiler;
	const char *d = http_query(req, "delimiter");
	if (d && d[0]) {
		if (strcmp(d, "\\t") == 0 || strcmp(d, "tab") == 0) {
			o.csv_delim = '\t';
		} else if (d[1] != '\0' || d[0] == '"' || d[0] == '\n' || d[0] == '\r') {
			table_unref(t);
			http_error(resp, 400, "delimiter: must be one character other than a quote or a line break (or tab)");
			return -1;
		} else {
			o.csv_delim = d[0];
		}
	}
	PushState *ps = mem_calloc(1, sizeof(PushState));
	if (ps == NULL) {
		table_unref(t);
		http_error(resp, 503, "out of memory");
		return -1;
	}
	const char *h = http_query(req, "header");
	const char *cols = http_query(req, "columns");
	if (h && strcasecmp(h, "false") == 0)
		o.csv_header = 0;
	if (cols) {
		/* strtok_r: connections run on threads of their own */
		ps->colbuf = mem_strdup(cols);
		if (ps->colbuf == NULL) {
			table_unref(t);
			*state = ps;
			http_error(resp, 503, "out of memory");
			return -1;
		}
		int n = 0;
		char *save = NULL;
		for (char *tok = strtok_r(ps->colbuf, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			if (n == (int)(sizeof(ps->cols) / sizeof(ps->cols[0]))) {
				table_unref(t);
				*state = ps;
				http_error(resp, 400, "columns: more than 1024 names");
				return -1;
			}
			ps->cols[n++] = tok;
		}
		o.ncolumns = n;
		o.columns = ps->cols;
	}
	Err e = {0};
	MemBudget *old = mem_budget_set(&a->ingest_mem);
	int rc = push_begin(a->cat, t, fmt, &o, "http", &ps->job, &e);
	mem_budget_set(old);
	budget_error(a, &e);
	table_unref(t);
	*state = ps;
	if (rc) {
		http_err(resp, &e);
		return -1;
	}
	return 0;
}

static void
fail_resp(HttpResp *resp, const Err *e, const PushResult *r)
{
	resp->status = err_http_status(e->code);
	buf_reset(&resp->body);
	buf_printf(&resp->body, "{\"code\":%d,\"error\":", resp->status);
	buf_json_str(&resp->body, err_msg(e), strlen(err_msg(e)));
	buf_printf(&resp->body, ",\"accepted\":%llu,\"rejected\":%llu}",
		   (unsigned long long)r->accepted, (unsigned long long)r->rejected);
}

static int
push_feed_cb(void *app, void *state, const char *data, size_t n, HttpResp *resp)
{
	PushState *ps = state;
	Err e = {0};
	MemBudget *old = mem_budget_set(&((ServerApp *)app)->ingest_mem);
	int rc = push_feed(ps->job, data, n, &e);
	mem_budget_set(old);
	if (rc != 0) {
		budget_error(app, &e);
		PushResult r;
		push_progress(ps->job, &r);
		fail_resp(resp, &e, &r);
		ps->failed = 1;
		return -1;
	}
	return 0;
}

static void
push_finish_cb(void *app, void *state, HttpResp *resp)
{
	PushState *ps = state;
	PushResult *r = mem_alloc(sizeof(PushResult));
	if (r == NULL) {
		http_error(resp, 503, "out of memory");
		return;
	}
	Err e = {0};
	MemBudget *old = mem_budget_set(&((ServerApp *)app)->ingest_mem);
	int rc = push_finish(ps->job, r, &e);
	mem_budget_set(old);
	if (rc != 0) {
		budget_error(app, &e);
		fail_resp(resp, &e, r);
		mem_free(r);
		return;
	}
	Buf *b = &resp->body;
	buf_printf(b, "{\"accepted\":%llu,\"rejected\":%llu,\"filtered\":%llu,\"bytes\":%llu,\"errors\":[",
		   (unsigned long long)r->accepted, (unsigned long long)r->rejected,
		   (unsigned long long)r->filtered,
		   (unsigned long long)r->bytes);
	for (int i = 0; i < r->nerrors; i++) {
		PushError *pe = &r->errors[i];
		buf_printf(b, "%s{\"line\":%llu,\"column\":", i ? "," : "",
			   (unsigned long long)pe->line);
		if (pe->column[0])
			buf_json_str(b, pe->column, strlen(pe->column));
		else
			buf_puts(b, "null");
		buf_puts(b, ",\"reason\":");
		buf_json_str(b, pe->reason, strlen(pe->reason));
		buf_putc(b, '}');
	}
	buf_puts(b, "]}");
	mem_free(r);
}

static void
push_free_cb(void *state)
{
	PushState *ps = state;
	if (ps == NULL)
		return;
	push_free(ps->job);
	mem_free(ps->colbuf);
	mem_free(ps);
}

const HttpStream pushapi_stream = {
	.begin = push_begin_cb,
	.feed = push_feed_cb,
	.finish = push_finish_cb,
	.free = push_free_cb,
};
