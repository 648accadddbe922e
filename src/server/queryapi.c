/*
 * queryapi.c -- Pinot's broker query endpoint: POST /query/sql with
 * {"sql": ..., "queryOptions": "k=v;..."} and GET /query/sql?sql=...
 * Both answer with Pinot's broker response (query_pinot_response); SQL
 * errors travel inside it with HTTP 200, as Pinot does.  Only a request
 * that carries no SQL at all is answered with a 400 error body.
 *
 * Exports: queryapi_post, queryapi_get.
 */
#include "server/server_int.h"
#include "query/query.h"

#include <cjson/cJSON.h>
#include <stdio.h>

void
queryapi_post(void *app, HttpReq *req, HttpResp *resp)
{
	size_t len;
	const char *body = http_body(req, &len);
	const char *end = NULL;
	cJSON *doc = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (doc == NULL || !cJSON_IsObject(doc)) {
		char msg[256];
		snprintf(msg, sizeof(msg), "request body is not a JSON object (error near byte %zu)",
			 end ? (size_t)(end - body) : (size_t)0);
		cJSON_Delete(doc);
		http_error(resp, 400, msg);
		return;
	}
	const cJSON *sql = cJSON_GetObjectItemCaseSensitive(doc, "sql");
	if (!cJSON_IsString(sql)) {
		/* the old PQL key, still sent by some clients */
		sql = cJSON_GetObjectItemCaseSensitive(doc, "pql");
	}
	if (!cJSON_IsString(sql)) {
		cJSON_Delete(doc);
		http_error(resp, 400, "request body needs a string field \"sql\"");
		return;
	}
	const cJSON *opts = cJSON_GetObjectItemCaseSensitive(doc, "queryOptions");
	query_pinot_response(((ServerApp *)app)->cat, sql->valuestring,
			     cJSON_IsString(opts) ? opts->valuestring : NULL, &resp->body);
	cJSON_Delete(doc);
}

void
queryapi_get(void *app, HttpReq *req, HttpResp *resp)
{
	const char *sql = http_query(req, "sql");
	if (sql == NULL) {
		http_error(resp, 400, "missing query parameter sql");
		return;
	}
	query_pinot_response(((ServerApp *)app)->cat, sql, http_query(req, "queryOptions"),
			     &resp->body);
}
