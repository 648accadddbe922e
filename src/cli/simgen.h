/*
 * simgen.h -- the deterministic generator behind `waybill simulate`:
 * order life-cycle events from about 20 microservices, an
 * item-availability update stream, injected faults and their ground
 * truth.  It produces messages in send order with their send time on a
 * simulated timeline; the caller paces and delivers them (Kafka or
 * stdout).  See docs/simulator.md.
 */
#ifndef WB_SIMGEN_H
#define WB_SIMGEN_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define SIMGEN_MAX_FAULTS 32

typedef enum SimFaultKind {
	SIM_FAULT_SLOW,  /* a service takes longer: delays x factor + extra */
	SIM_FAULT_DROP,  /* a share of a service's events is never sent */
	SIM_FAULT_BURST, /* a burst of failures in one market, in a window */
	SIM_FAULT_DUP,   /* a share of events is sent twice */
	SIM_FAULT_LATE,  /* a share of events is sent after later events */
	SIM_FAULT_STALL, /* a share of orders stops at a stage */
} SimFaultKind;

typedef struct SimFault {
	SimFaultKind kind;
	int service;      /* service index, -1 = any */
	int market;       /* market index, -1 = any */
	int stage;        /* stage index (stall), -1 = any */
	double share;     /* probability per event (per order for stall) */
	double factor;    /* slow */
	int64_t extra_ms; /* slow: added latency */
	int64_t delay_ms; /* dup, late: send delay */
	int64_t from_ms;  /* window on the timeline, from the start */
	int64_t until_ms; /* INT64_MAX = open */
} SimFault;

typedef struct SimConfig {
	uint64_t seed;
	int64_t start_ms;      /* timeline origin (epoch ms) */
	double time_scale;     /* real delays are divided by this */
	double rate;           /* order events per second of timeline */
	int64_t orders;        /* orders to generate, < 0 = no limit */
	double avail_rate;     /* availability updates per second of timeline */
	int64_t avail_updates; /* availability updates to send, then that stream
	                        * ends; < 0 = while orders still arrive */
	double avail_late;     /* share of availability updates that are stale:
	                        * sent now with an updated_at up to avail_late_ms
	                        * older (a late message an upsert must ignore) */
	int64_t avail_late_ms;
	int items;
	int nodes;
	SimFault faults[SIMGEN_MAX_FAULTS];
	int nfaults;
} SimConfig;

/* One message, borrowed until the next simgen_next. */
typedef struct SimMsg {
	int topic; /* simgen_topic_name(topic) */
	const char *key;
	size_t key_len;
	const char *json; /* one JSON object, no newline */
	size_t json_len;
	int64_t send_ms;   /* when it is due on the timeline */
	const char *truth; /* NDJSON lines of faults this message realises, or NULL */
	size_t truth_len;
	int is_order_event; /* 0 for availability updates */
} SimMsg;

typedef struct SimStats {
	uint64_t orders;
	uint64_t per_topic[32];
	uint64_t faults[6];   /* by SimFaultKind: truth lines written */
	uint64_t avail_stale; /* availability updates sent stale */
} SimStats;

typedef struct SimGen SimGen;

/* Topics: the services, then the availability stream (its name is
 * "item_availability" before any renaming by the caller). */
int simgen_topic_count(void);
const char *simgen_topic_name(int i);
int simgen_avail_topic(void);
/* The names of markets, stages and services, for options and docs. */
int simgen_market_find(const char *name);
int simgen_stage_find(const char *name);
/* The order flow of the model as a flow definition (POST /flows): the
 * service tables (the 20 service topics' table names), the stages and
 * their next stages, and per stage an SLA of 1.25 x its longest
 * legitimate stay divided by time_scale (at least 2 s). */
void simgen_flow_json(const char *const *tables, int ntables, double time_scale, Buf *out);
int simgen_service_find(const char *name);
const char *simgen_fault_name(SimFaultKind k);

/* Parses one --fault SPEC ("kind[:key=value,...]") into f. */
int simgen_parse_fault(const char *spec, SimFault *f, Err *e);

/* *out is the caller's (simgen_close). */
int simgen_open(const SimConfig *c, SimGen **out, Err *e);
/* The next message in send order: 1 and *m filled, 0 when every order
 * is done (only with c->orders >= 0) and the availability updates asked
 * for (c->avail_updates) are sent, < 0 on out of memory. */
int simgen_next(SimGen *g, SimMsg *m, Err *e);
/* The send time of the next message without producing it (INT64_MAX if
 * none). */
int64_t simgen_peek_ms(SimGen *g);
const SimStats *simgen_stats(const SimGen *g);
/* Expected order events per order (estimated at open). */
double simgen_events_per_order(const SimGen *g);
void simgen_close(SimGen *g);

/* Writes the items dimension: NDJSON, or CSV when csv != 0.  Returns 0
 * or ERR_IO. */
int simgen_write_items(const char *path, int items, uint64_t seed, int csv, Err *e);

#endif
