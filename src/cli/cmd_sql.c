/*
 * cmd_sql.c -- `waybill sql "SELECT ..." [--server URL] [--json]`: runs a
 * query through the broker API and prints the result as an aligned text
 * table (or the raw broker response with --json).  Exit status 1 when the
 * response carries exceptions.
 *
 * Exports: cmd_sql.
 */
#include "cli/cmd.h"
#include "cli/httpc.h"
#include "base/mem.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static char *
cell_text(const cJSON *v)
{
	if (cJSON_IsString(v))
		return mem_strdup(v->valuestring);
	char *p = cJSON_PrintUnformatted(v);
	char *d = mem_strdup(p ? p : "null");
	cJSON_free(p);
	return d;
}

static void
print_table(const cJSON *rt)
{
	const cJSON *names = cJSON_GetObjectItem(cJSON_GetObjectItem(rt, "dataSchema"), "columnNames");
	const cJSON *rows = cJSON_GetObjectItem(rt, "rows");
	int nc = cJSON_GetArraySize(names), nr = cJSON_GetArraySize(rows);
	if (nc <= 0)
		return;
	size_t *w = mem_calloc((size_t)nc, sizeof(size_t));
	char **cells = mem_calloc((size_t)(nr + 1) * (size_t)nc, sizeof(char *));
	if (w == NULL || cells == NULL) {
		mem_free(w);
		mem_free(cells);
		return;
	}
	for (int c = 0; c < nc; c++)
		cells[c] = cell_text(cJSON_GetArrayItem(names, c));
	for (int r = 0; r < nr; r++) {
		const cJSON *row = cJSON_GetArrayItem(rows, r);
		for (int c = 0; c < nc; c++)
			cells[(size_t)(r + 1) * (size_t)nc + (size_t)c] = cell_text(cJSON_GetArrayItem(row, c));
	}
	for (size_t i = 0; i < (size_t)(nr + 1) * (size_t)nc; i++) {
		size_t l = cells[i] ? strlen(cells[i]) : 0;
		if (l > w[i % (size_t)nc])
			w[i % (size_t)nc] = l;
	}
	for (int r = 0; r <= nr; r++) {
		for (int c = 0; c < nc; c++) {
			const char *t = cells[(size_t)r * (size_t)nc + (size_t)c];
			printf("%s%-*s", c ? " | " : "", (int)w[c], t ? t : "");
		}
		putchar('\n');
		if (r == 0) {
			for (int c = 0; c < nc; c++) {
				printf("%s", c ? "-+-" : "");
				for (size_t k = 0; k < w[c]; k++)
					putchar('-');
			}
			putchar('\n');
		}
	}
	printf("(%d row%s)\n", nr, nr == 1 ? "" : "s");
	for (size_t i = 0; i < (size_t)(nr + 1) * (size_t)nc; i++)
		mem_free(cells[i]);
	mem_free(cells);
	mem_free(w);
}

int
cmd_sql(int argc, char **argv)
{
	const char *sql = NULL, *server = "http://127.0.0.1:8099";
	int json = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			puts("usage: waybill sql \"SELECT ...\" [--server URL] [--json]");
			return 0;
		} else if (strcmp(argv[i], "--server") == 0 && i + 1 < argc) {
			server = argv[++i];
		} else if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (sql == NULL) {
			sql = argv[i];
		} else {
			fprintf(stderr, "waybill sql: unexpected argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if (sql == NULL) {
		fprintf(stderr, "waybill sql: give the SQL to run (try --help)\n");
		return 2;
	}
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "sql", sql);
	char *body = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	char url[2048];
	snprintf(url, sizeof(url), "%s/query/sql", server);
	Buf out;
	buf_init(&out);
	Err e = {0};
	int status = 0;
	int rc = httpc_post(url, "application/json", body, strlen(body), &status, &out, &e);
	cJSON_free(body);
	if (rc) {
		fprintf(stderr, "waybill sql: %s\n", err_msg(&e));
		buf_free(&out);
		return 1;
	}
	if (json) {
		printf("%s\n", out.p ? out.p : "");
		buf_free(&out);
		return status == 200 ? 0 : 1;
	}
	cJSON *doc = cJSON_Parse(out.p ? out.p : "");
	int exit_code = 0;
	const cJSON *ex = doc ? cJSON_GetObjectItem(doc, "exceptions") : NULL;
	if (doc == NULL || status != 200) {
		fprintf(stderr, "waybill sql: server answered %d: %s\n", status, out.p ? out.p : "");
		exit_code = 1;
	} else if (cJSON_GetArraySize(ex) > 0) {
		const cJSON *it;
		cJSON_ArrayForEach(it, ex)
		{
			const cJSON *code = cJSON_GetObjectItem(it, "errorCode");
			const cJSON *msg = cJSON_GetObjectItem(it, "message");
			fprintf(stderr, "error %.0f: %s\n", cJSON_IsNumber(code) ? code->valuedouble : 0,
				cJSON_IsString(msg) ? msg->valuestring : "?");
		}
		exit_code = 1;
	} else {
		print_table(cJSON_GetObjectItem(doc, "resultTable"));
	}
	cJSON_Delete(doc);
	buf_free(&out);
	return exit_code;
}
