/*
 * server_int.h -- what the server folder's modules share: the application
 * object handed to every HTTP handler, and the handlers themselves.
 */
#ifndef WB_SERVER_INT_H
#define WB_SERVER_INT_H

#include "base/mem.h"
#include "ingest/stream.h"
#include "lifecycle/lifecycle.h"
#include "server/http.h"
#include "table/catalog.h"

typedef struct ServerApp {
	Catalog *cat;
	int64_t started_ms;
	/* Memory of all push-ingest jobs together (decoded batches, bodies
	 * being read): past the limit a job fails with 503 instead of the
	 * process running out of memory. */
	MemBudget ingest_mem;
	StreamSet *streams;	/* Kafka sources of stream-fed tables */
	Lifecycle *lc;		/* flows and entity state (flowapi.c) */
} ServerApp;

/* ctlapi.c: Pinot controller API */
void ctlapi_health(void *app, HttpReq *req, HttpResp *resp);
void ctlapi_metrics(void *app, HttpReq *req, HttpResp *resp);
void ctlapi_list_schemas(void *app, HttpReq *req, HttpResp *resp);
void ctlapi_post_schema(void *app, HttpReq *req, HttpResp *resp);
void ctlapi_get_schema(void *app, HttpReq *req, HttpResp *resp);
void ctlapi_put_schema(void *app, HttpReq *req, HttpResp *resp);
void ctlapi_delete_schema(void *app, HttpReq *req, HttpResp *resp);
void ctlapi_list_tables(void *app, HttpReq *req, HttpResp *resp);
void ctlapi_post_table(void *app, HttpReq *req, HttpResp *resp);
void ctlapi_get_table(void *app, HttpReq *req, HttpResp *resp);
void ctlapi_put_table(void *app, HttpReq *req, HttpResp *resp);
void ctlapi_delete_table(void *app, HttpReq *req, HttpResp *resp);
void ctlapi_get_table_schema(void *app, HttpReq *req, HttpResp *resp);
void ctlapi_force_commit(void *app, HttpReq *req, HttpResp *resp);
void ctlapi_list_segments(void *app, HttpReq *req, HttpResp *resp);
void ctlapi_pause(void *app, HttpReq *req, HttpResp *resp);
void ctlapi_resume(void *app, HttpReq *req, HttpResp *resp);
void ctlapi_pause_status(void *app, HttpReq *req, HttpResp *resp);

/* queryapi.c: Pinot broker API */
void queryapi_post(void *app, HttpReq *req, HttpResp *resp);
void queryapi_get(void *app, HttpReq *req, HttpResp *resp);

/* flowapi.c: life-cycle tracking (flows, where-is, stuck, gaps, funnel,
 * attribution) */
void flowapi_list(void *app, HttpReq *req, HttpResp *resp);
void flowapi_post(void *app, HttpReq *req, HttpResp *resp);
void flowapi_get(void *app, HttpReq *req, HttpResp *resp);
void flowapi_put(void *app, HttpReq *req, HttpResp *resp);
void flowapi_delete(void *app, HttpReq *req, HttpResp *resp);
void flowapi_entity(void *app, HttpReq *req, HttpResp *resp);
void flowapi_question(void *app, HttpReq *req, HttpResp *resp);

/* pushapi.c: streaming push ingest */
extern const HttpStream pushapi_stream;

#endif
