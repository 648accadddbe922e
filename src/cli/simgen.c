/*
 * simgen.c -- the deterministic event generator of `waybill simulate`.
 *
 * What it models: retail orders crossing 20 microservices (one topic
 * each: order, customer, pricing, promotions, tax, checkout, payment,
 * fraud, inventory, store, picking, packing, label, routing, dispatch,
 * driver_app, delivery_tracking, notification, loyalty, returns) in the
 * markets US, CA and MX, plus an item-availability update stream over
 * (item_id, node_id) keys.  docs/simulator.md lists the events.
 *
 * How it works: a discrete-event simulation on a timeline of epoch
 * milliseconds starting at SimConfig.start_ms.  Orders arrive as a
 * Poisson process whose mean gap is chosen so that the order events come
 * at SimConfig.rate per second of timeline (the events per order are
 * estimated at open from 2,000 sample paths).  When an order arrives its
 * whole path is drawn at once (build_path) from its own random stream,
 * seeded from (seed, order number): the stages, the alternative and
 * failure branches, and each event's time (real-world delays divided by
 * time_scale).  Faults are applied to the path (slow and burst while it
 * is drawn; stall, drop, dup and late afterwards) and its events are
 * pushed on a min-heap keyed by (send time, push counter).  simgen_next
 * merges three sources in time order -- the heap, the next order
 * arrival and the next availability update -- so the output is a pure
 * function of the configuration: the same seed gives the same bytes.
 * Ground truth is emitted with the message that realises it (a dropped
 * event yields a message without JSON but with its truth line), so the
 * truth log only ever names what really happened before the run ended.
 *
 * The availability stream is an upsert feed (docs/item-availability.md):
 * each update is the whole state of one (item_id, node_id) key -- its
 * quantity and event time updated_at -- keyed "item_id:node_id", so a
 * key's updates stay in one Kafka partition, in order.  It runs while
 * orders arrive, or for exactly avail_updates updates when that is set
 * (with no orders: an availability-only run).  A share avail_late of the
 * updates is stale: sent at its turn with an updated_at up to
 * avail_late_ms older, which a table comparing updated_at must ignore
 * when the key has a newer version.  Whether an update is stale comes
 * from its own random stream, so the share changes only those times.
 *
 * Ownership: SimGen owns its heap (mem_realloc'd array) and two Bufs
 * (message JSON and truth lines) whose contents SimMsg borrows until the
 * next simgen_next.  Failures: ERR_NOMEM when the heap cannot grow or a
 * Buf ran out of memory; ERR_INVALID for a bad fault spec; ERR_IO when
 * the items file cannot be written.
 *
 * Exports: simgen_topic_count, simgen_topic_name, simgen_avail_topic,
 * simgen_market_find, simgen_stage_find, simgen_service_find,
 * simgen_fault_name, simgen_parse_fault, simgen_open, simgen_next,
 * simgen_peek_ms, simgen_stats, simgen_events_per_order, simgen_close,
 * simgen_write_items, simgen_flow_json.
 */
#include "cli/simgen.h"
#include "base/buf.h"
#include "base/mem.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the model's tables ------------------------------------------------ */

typedef struct Market {
	const char *name;
	double weight;
	int stores;
	double price_mult;
} Market;

static const Market MARKETS[] = {
        {"US", 0.60, 120, 1.0}, /* amounts in the market's currency */
        {"CA", 0.15, 40, 1.36},
        {"MX", 0.25, 60, 17.5},
};
#define NMARKETS 3

enum {
	SV_ORDER,
	SV_CUSTOMER,
	SV_PRICING,
	SV_PROMOTIONS,
	SV_TAX,
	SV_CHECKOUT,
	SV_PAYMENT,
	SV_FRAUD,
	SV_INVENTORY,
	SV_STORE,
	SV_PICKING,
	SV_PACKING,
	SV_LABEL,
	SV_ROUTING,
	SV_DISPATCH,
	SV_DRIVER_APP,
	SV_DELIVERY,
	SV_NOTIFICATION,
	SV_LOYALTY,
	SV_RETURNS,
	NSERVICES
};

static const char *const TOPICS[] = {
        "order",
        "customer",
        "pricing",
        "promotions",
        "tax",
        "checkout",
        "payment",
        "fraud",
        "inventory",
        "store",
        "picking",
        "packing",
        "label",
        "routing",
        "dispatch",
        "driver_app",
        "delivery_tracking",
        "notification",
        "loyalty",
        "returns",
        "item_availability",
};

enum {
	ST_PLACED,
	ST_CHECKOUT,
	ST_PAYMENT,
	ST_FRAUD,
	ST_INVENTORY,
	ST_ASSIGNED,
	ST_PICKING,
	ST_PACKING,
	ST_LABELING,
	ST_ROUTED,
	ST_DISPATCHED,
	ST_IN_TRANSIT,
	ST_OUT_FOR_DELIVERY,
	ST_DELIVERED,
	ST_RETURNED,
	ST_CANCELLED,
	NSTAGES,
	ST_TRIGGER = -1 /* notifications: the stage of the event that triggered them */
};

static const char *const STAGES[] = {
        "placed",           "checkout",  "payment",  "fraud_check", "inventory",  "assigned",
        "picking",          "packing",   "labeling", "routed",      "dispatched", "in_transit",
        "out_for_delivery", "delivered", "returned", "cancelled",
};

typedef struct EvType {
	const char *name;
	int service;
	int stage;
	const char *status;
	int lat_lo, lat_hi; /* the service's own processing latency, ms */
	int amount;         /* carries the order amount */
	int terminal;       /* ends the main life cycle (no stall after it) */
} EvType;

enum {
	T_ORDER_CREATED,
	T_CUSTOMER_VERIFIED,
	T_PRICE_CALCULATED,
	T_TAX_CALCULATED,
	T_PROMOTION_APPLIED,
	T_CHECKOUT_COMPLETED,
	T_PAYMENT_AUTHORIZED,
	T_PAYMENT_FAILED,
	T_FRAUD_APPROVED,
	T_FRAUD_REVIEW,
	T_FRAUD_REJECTED,
	T_PAYMENT_VOIDED,
	T_ORDER_CANCELLED,
	T_INVENTORY_RESERVED,
	T_INVENTORY_SHORTAGE,
	T_STORE_ASSIGNED,
	T_PICK_STARTED,
	T_PICK_COMPLETED,
	T_PACK_COMPLETED,
	T_LABEL_CREATED,
	T_ROUTE_PLANNED,
	T_DISPATCHED,
	T_PAYMENT_CAPTURED,
	T_DRIVER_ASSIGNED,
	T_PICKED_UP,
	T_OUT_FOR_DELIVERY,
	T_DELIVERED,
	T_DELIVERY_FAILED,
	T_RETURNED_TO_STORE,
	T_POINTS_AWARDED,
	T_RETURN_REQUESTED,
	T_RETURN_RECEIVED,
	T_REFUND_ISSUED,
	T_NOTIFY_CONFIRMED,
	T_NOTIFY_SHIPPED,
	T_NOTIFY_DELIVERED,
	T_NOTIFY_DELIVERY_FAILED,
	T_NOTIFY_CANCELLED,
	T_NOTIFY_REFUNDED,
	NTYPES
};

static const EvType TYPES[NTYPES] = {
        [T_ORDER_CREATED] = {"order_created", SV_ORDER, ST_PLACED, "CREATED", 20, 120, 1, 0},
        [T_CUSTOMER_VERIFIED] = {"customer_verified", SV_CUSTOMER, ST_PLACED, "VERIFIED", 10, 80, 0,
                                 0},
        [T_PRICE_CALCULATED] = {"price_calculated", SV_PRICING, ST_PLACED, "PRICED", 5, 60, 1, 0},
        [T_TAX_CALCULATED] = {"tax_calculated", SV_TAX, ST_PLACED, "CALCULATED", 5, 40, 1, 0},
        [T_PROMOTION_APPLIED] = {"promotion_applied", SV_PROMOTIONS, ST_PLACED, "APPLIED", 5, 50, 1,
                                 0},
        [T_CHECKOUT_COMPLETED] = {"checkout_completed", SV_CHECKOUT, ST_CHECKOUT, "COMPLETED", 50,
                                  400, 1, 0},
        [T_PAYMENT_AUTHORIZED] = {"payment_authorized", SV_PAYMENT, ST_PAYMENT, "AUTHORIZED", 150,
                                  900, 1, 0},
        [T_PAYMENT_FAILED] = {"payment_failed", SV_PAYMENT, ST_PAYMENT, "FAILED", 150, 1500, 1, 0},
        [T_FRAUD_APPROVED] = {"fraud_approved", SV_FRAUD, ST_FRAUD, "APPROVED", 40, 300, 0, 0},
        [T_FRAUD_REVIEW] = {"fraud_review", SV_FRAUD, ST_FRAUD, "REVIEW", 40, 300, 0, 0},
        [T_FRAUD_REJECTED] = {"fraud_rejected", SV_FRAUD, ST_FRAUD, "REJECTED", 40, 300, 0, 0},
        [T_PAYMENT_VOIDED] = {"payment_voided", SV_PAYMENT, ST_CANCELLED, "VOIDED", 100, 600, 1, 0},
        [T_ORDER_CANCELLED] = {"order_cancelled", SV_ORDER, ST_CANCELLED, "CANCELLED", 20, 120, 1,
                               1},
        [T_INVENTORY_RESERVED] = {"inventory_reserved", SV_INVENTORY, ST_INVENTORY, "RESERVED", 10,
                                  120, 0, 0},
        [T_INVENTORY_SHORTAGE] = {"inventory_shortage", SV_INVENTORY, ST_INVENTORY, "SHORTAGE", 10,
                                  120, 0, 0},
        [T_STORE_ASSIGNED] = {"store_assigned", SV_STORE, ST_ASSIGNED, "ASSIGNED", 10, 200, 0, 0},
        [T_PICK_STARTED] = {"pick_started", SV_PICKING, ST_PICKING, "IN_PROGRESS", 20, 150, 0, 0},
        [T_PICK_COMPLETED] = {"pick_completed", SV_PICKING, ST_PICKING, "PICKED", 20, 150, 0, 0},
        [T_PACK_COMPLETED] = {"pack_completed", SV_PACKING, ST_PACKING, "PACKED", 20, 150, 0, 0},
        [T_LABEL_CREATED] = {"label_created", SV_LABEL, ST_LABELING, "LABELED", 80, 700, 0, 0},
        [T_ROUTE_PLANNED] = {"route_planned", SV_ROUTING, ST_ROUTED, "ROUTED", 100, 2000, 0, 0},
        [T_DISPATCHED] = {"dispatched", SV_DISPATCH, ST_DISPATCHED, "DISPATCHED", 20, 200, 0, 0},
        [T_PAYMENT_CAPTURED] = {"payment_captured", SV_PAYMENT, ST_DISPATCHED, "CAPTURED", 150, 900,
                                1, 0},
        [T_DRIVER_ASSIGNED] = {"driver_assigned", SV_DRIVER_APP, ST_DISPATCHED, "ASSIGNED", 50, 500,
                               0, 0},
        [T_PICKED_UP] = {"picked_up", SV_DRIVER_APP, ST_IN_TRANSIT, "PICKED_UP", 50, 500, 0, 0},
        [T_OUT_FOR_DELIVERY] = {"out_for_delivery", SV_DELIVERY, ST_OUT_FOR_DELIVERY,
                                "OUT_FOR_DELIVERY", 30, 300, 0, 0},
        [T_DELIVERED] = {"delivered", SV_DELIVERY, ST_DELIVERED, "DELIVERED", 30, 300, 0, 1},
        [T_DELIVERY_FAILED] = {"delivery_failed", SV_DELIVERY, ST_OUT_FOR_DELIVERY, "FAILED", 30,
                               300, 0, 0},
        [T_RETURNED_TO_STORE] = {"returned_to_store", SV_DELIVERY, ST_RETURNED, "RETURNED_TO_STORE",
                                 30, 300, 0, 1},
        [T_POINTS_AWARDED] = {"points_awarded", SV_LOYALTY, ST_DELIVERED, "AWARDED", 10, 100, 0, 0},
        [T_RETURN_REQUESTED] = {"return_requested", SV_RETURNS, ST_RETURNED, "REQUESTED", 20, 200,
                                1, 0},
        [T_RETURN_RECEIVED] = {"return_received", SV_RETURNS, ST_RETURNED, "RECEIVED", 20, 200, 0,
                               0},
        [T_REFUND_ISSUED] = {"refund_issued", SV_PAYMENT, ST_RETURNED, "REFUNDED", 150, 900, 1, 0},
        [T_NOTIFY_CONFIRMED] = {"order_confirmation_sent", SV_NOTIFICATION, ST_TRIGGER, "SENT", 30,
                                800, 0, 0},
        [T_NOTIFY_SHIPPED] = {"shipping_notice_sent", SV_NOTIFICATION, ST_TRIGGER, "SENT", 30, 800,
                              0, 0},
        [T_NOTIFY_DELIVERED] = {"delivery_notice_sent", SV_NOTIFICATION, ST_TRIGGER, "SENT", 30,
                                800, 0, 0},
        [T_NOTIFY_DELIVERY_FAILED] = {"delivery_failed_notice_sent", SV_NOTIFICATION, ST_TRIGGER,
                                      "SENT", 30, 800, 0, 0},
        [T_NOTIFY_CANCELLED] = {"cancellation_notice_sent", SV_NOTIFICATION, ST_TRIGGER, "SENT", 30,
                                800, 0, 0},
        [T_NOTIFY_REFUNDED] = {"refund_notice_sent", SV_NOTIFICATION, ST_TRIGGER, "SENT", 30, 800,
                               0, 0},
};

static const char *const FAULT_NAMES[] = {"slow", "drop", "burst", "dup", "late", "stall"};

/* ---- generator state --------------------------------------------------- */

#define MAX_PATH 48

enum {
	F_DROP = 1 << 0,
	F_DUP = 1 << 1,     /* the original of a duplicated event */
	F_DUPCOPY = 1 << 2, /* the second copy */
	F_LATE = 1 << 3,
	F_STALL = 1 << 4, /* the last event of a stalled order */
	F_BURST = 1 << 5,
	F_SLOW = 1 << 6,
};

/* One pending event (pushed on the heap). */
typedef struct HeapEv {
	int64_t send_ms;
	uint64_t tie; /* push counter: stable order for equal times */
	int64_t ts;
	uint64_t order_no;
	int64_t amount_cents; /* the order's amount */
	int32_t latency_ms;
	int32_t slow_add_ms;
	uint16_t store;
	uint8_t market, type, stage, seq, attempt, items, flags;
} HeapEv;

typedef struct PathEv {
	int type;
	int stage;
	int64_t ts;
	int32_t latency_ms;
	int32_t slow_add_ms;
	int attempt;
	int flags;
	int64_t send_ms;
	int64_t dup_delay_ms;
} PathEv;

/* An order's path while it is drawn. */
typedef struct Path {
	const SimConfig *c; /* NULL: no faults (estimation) */
	uint64_t rng;
	int market;
	int64_t t; /* time of the last event */
	int n;
	PathEv ev[MAX_PATH];
} Path;

struct SimGen {
	SimConfig c;
	char order_prefix[16]; /* "o" + 6 hex digits of the seed */
	double events_per_order;
	double mean_gap_ms; /* mean order inter-arrival time */
	uint64_t arrival_rng;
	uint64_t avail_rng;
	uint64_t late_rng; /* stale availability updates: their own stream,
	                    * so the updates drawn do not depend on the share */
	uint64_t avail_made;
	int64_t next_arrival;
	double next_arrival_f;
	uint64_t orders_made;
	int64_t next_avail;
	double next_avail_f;
	HeapEv *heap;
	size_t nheap, capheap;
	uint64_t tie;
	Buf json, key, truth;
	SimStats stats;
};

static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double
unif(uint64_t *s)
{
	return (double)(rnd(s) >> 11) * 0x1.0p-53;
}

static uint64_t
mix(uint64_t a, uint64_t b)
{
	uint64_t s = a ^ (b * 0xd1342543de82ef95ULL);
	rnd(&s);
	return rnd(&s);
}

/* ---- names -------------------------------------------------------------- */

int
simgen_topic_count(void)
{
	return NSERVICES + 1;
}

const char *
simgen_topic_name(int i)
{
	return i >= 0 && i <= NSERVICES ? TOPICS[i] : "?";
}

int
simgen_avail_topic(void)
{
	return NSERVICES;
}

int
simgen_market_find(const char *name)
{
	for (int i = 0; i < NMARKETS; i++)
		if (strcmp(MARKETS[i].name, name) == 0)
			return i;
	return -1;
}

int
simgen_stage_find(const char *name)
{
	for (int i = 0; i < NSTAGES; i++)
		if (strcmp(STAGES[i], name) == 0)
			return i;
	return -1;
}

int
simgen_service_find(const char *name)
{
	for (int i = 0; i < NSERVICES; i++)
		if (strcmp(TOPICS[i], name) == 0)
			return i;
	return -1;
}

const char *
simgen_fault_name(SimFaultKind k)
{
	return (unsigned)k < 6 ? FAULT_NAMES[k] : "?";
}

/* ---- fault specs --------------------------------------------------------- */

static int
num_arg(const char *spec, const char *key, const char *v, double lo, double hi, double *out, Err *e)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (*v == '\0' || *end != '\0' || errno || !isfinite(d) || d < lo || d > hi)
		return err_set(e, ERR_INVALID, "--fault '%s': %s=%s is not a number from %g to %g",
		               spec, key, v, lo, hi);
	*out = d;
	return 0;
}

/* Which keys each kind takes. */
static int
key_allowed(SimFaultKind k, const char *key)
{
	static const char *const allowed[6] = {
	        [SIM_FAULT_SLOW] = " service factor extra from until market ",
	        [SIM_FAULT_DROP] = " service share from until market ",
	        [SIM_FAULT_BURST] = " market service share from until ",
	        [SIM_FAULT_DUP] = " service share delay from until market ",
	        [SIM_FAULT_LATE] = " service share delay from until market ",
	        [SIM_FAULT_STALL] = " stage share market from until ",
	};
	char pat[32];
	snprintf(pat, sizeof(pat), " %s ", key);
	return strstr(allowed[k], pat) != NULL;
}

int
simgen_parse_fault(const char *spec, SimFault *f, Err *e)
{
	memset(f, 0, sizeof(*f));
	f->service = f->market = f->stage = -1;
	f->until_ms = INT64_MAX;
	f->factor = 1.0;
	const char *colon = strchr(spec, ':');
	size_t kl = colon ? (size_t)(colon - spec) : strlen(spec);
	int kind = -1;
	for (int i = 0; i < 6; i++)
		if (strlen(FAULT_NAMES[i]) == kl && memcmp(FAULT_NAMES[i], spec, kl) == 0)
			kind = i;
	if (kind < 0)
		return err_set(e, ERR_INVALID,
		               "--fault '%s': unknown fault kind (use slow, drop, burst, dup, late "
		               "or stall)",
		               spec);
	f->kind = (SimFaultKind)kind;
	switch (f->kind) {
	case SIM_FAULT_SLOW:
		f->factor = 5.0;
		break;
	case SIM_FAULT_DROP:
		f->share = 0.05;
		break;
	case SIM_FAULT_BURST:
		f->share = 0.5;
		f->service = SV_PAYMENT;
		break;
	case SIM_FAULT_DUP:
		f->share = 0.01;
		break;
	case SIM_FAULT_LATE:
		f->share = 0.01;
		f->delay_ms = 30000;
		break;
	case SIM_FAULT_STALL:
		f->share = 0.01;
		break;
	}
	int have_service = 0, have_market = 0;
	const char *p = colon ? colon + 1 : NULL;
	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char item[128];
		if (len == 0 || len >= sizeof(item))
			return err_set(e, ERR_INVALID, "--fault '%s': empty or overlong item",
			               spec);
		memcpy(item, p, len);
		item[len] = '\0';
		char *eq = strchr(item, '=');
		if (eq == NULL || eq == item || eq[1] == '\0')
			return err_set(e, ERR_INVALID, "--fault '%s': '%s' is not KEY=VALUE", spec,
			               item);
		*eq = '\0';
		const char *key = item, *v = eq + 1;
		if (!key_allowed(f->kind, key))
			return err_set(e, ERR_INVALID, "--fault '%s': %s faults take no '%s'", spec,
			               FAULT_NAMES[f->kind], key);
		double d;
		if (strcmp(key, "service") == 0) {
			if ((f->service = simgen_service_find(v)) < 0)
				return err_set(e, ERR_INVALID, "--fault '%s': unknown service '%s'",
				               spec, v);
			have_service = 1;
		} else if (strcmp(key, "market") == 0) {
			if ((f->market = simgen_market_find(v)) < 0)
				return err_set(e, ERR_INVALID,
				               "--fault '%s': unknown market '%s' (US, CA or MX)",
				               spec, v);
			have_market = 1;
		} else if (strcmp(key, "stage") == 0) {
			if ((f->stage = simgen_stage_find(v)) < 0)
				return err_set(e, ERR_INVALID, "--fault '%s': unknown stage '%s'",
				               spec, v);
			if (f->stage == ST_DELIVERED || f->stage == ST_RETURNED ||
			    f->stage == ST_CANCELLED)
				return err_set(e, ERR_INVALID,
				               "--fault '%s': an order cannot stall at the final "
				               "stage '%s'",
				               spec, v);
		} else if (strcmp(key, "share") == 0) {
			if (num_arg(spec, key, v, 0, 1, &f->share, e))
				return e->code;
		} else if (strcmp(key, "factor") == 0) {
			if (num_arg(spec, key, v, 1, 1000, &f->factor, e))
				return e->code;
		} else if (strcmp(key, "extra") == 0 || strcmp(key, "delay") == 0) {
			if (num_arg(spec, key, v, 0, 86400000.0 * 30, &d, e))
				return e->code;
			*(key[0] == 'e' ? &f->extra_ms : &f->delay_ms) = (int64_t)d;
		} else { /* from, until: seconds */
			if (num_arg(spec, key, v, 0, 86400.0 * 3650, &d, e))
				return e->code;
			*(key[0] == 'f' ? &f->from_ms : &f->until_ms) = (int64_t)(d * 1000);
		}
		p = end ? end + 1 : NULL;
	}
	if (f->kind == SIM_FAULT_SLOW && !have_service)
		return err_set(e, ERR_INVALID, "--fault '%s': slow needs service=NAME", spec);
	if (f->kind == SIM_FAULT_DROP && !have_service)
		return err_set(e, ERR_INVALID, "--fault '%s': drop needs service=NAME", spec);
	if (f->kind == SIM_FAULT_BURST) {
		if (!have_market)
			return err_set(e, ERR_INVALID, "--fault '%s': burst needs market=US|CA|MX",
			               spec);
		if (f->service != SV_PAYMENT && f->service != SV_FRAUD &&
		    f->service != SV_INVENTORY && f->service != SV_DELIVERY)
			return err_set(e, ERR_INVALID,
			               "--fault '%s': burst failures exist for payment, fraud, "
			               "inventory and delivery_tracking only",
			               spec);
	}
	if (f->until_ms <= f->from_ms)
		return err_set(e, ERR_INVALID, "--fault '%s': until must be after from", spec);
	return 0;
}

/* ---- drawing a path ------------------------------------------------------ */

/* A delay in timeline ms: a real delay from lo_s to hi_s seconds, skewed
 * towards lo, divided by the time scale. */
static int64_t
delay_ms(Path *p, double lo_s, double hi_s)
{
	double u = unif(&p->rng);
	double s = lo_s + (hi_s - lo_s) * u * u;
	double scale = p->c ? p->c->time_scale : 1.0;
	return (int64_t)(s * 1000.0 / scale);
}

static int
in_window(const SimFault *f, const SimConfig *c, int64_t ts)
{
	int64_t rel = ts - c->start_ms;
	return rel >= f->from_ms && rel < f->until_ms;
}

/* Appends an event of type t, lo_s..hi_s seconds (real time) after the
 * previous one; a slow fault on its service stretches the delay. */
static void
step(Path *p, int t, double lo_s, double hi_s, int attempt)
{
	if (p->n >= MAX_PATH)
		return;
	const EvType *ty = &TYPES[t];
	int64_t d = p->n == 0 ? 0 : delay_ms(p, lo_s, hi_s);
	double lat = ty->lat_lo + (ty->lat_hi - ty->lat_lo) * unif(&p->rng);
	PathEv *ev = &p->ev[p->n];
	memset(ev, 0, sizeof(*ev));
	ev->type = t;
	ev->stage =
	        ty->stage == ST_TRIGGER ? (p->n ? p->ev[p->n - 1].stage : ST_PLACED) : ty->stage;
	ev->attempt = attempt;
	if (p->c)
		for (int i = 0; i < p->c->nfaults; i++) {
			const SimFault *f = &p->c->faults[i];
			if (f->kind != SIM_FAULT_SLOW || f->service != ty->service ||
			    (f->market >= 0 && f->market != p->market) ||
			    !in_window(f, p->c, p->t + d))
				continue;
			int64_t nd = (int64_t)((double)d * f->factor) + f->extra_ms;
			ev->slow_add_ms += (int32_t)(nd - d);
			ev->flags |= F_SLOW;
			lat = lat * f->factor + (double)f->extra_ms;
			d = nd;
		}
	p->t += d;
	ev->ts = p->t;
	ev->latency_ms = (int32_t)lat;
	p->n++;
}

/* 1 if a burst fault makes this service fail now for this order. */
static int
burst(Path *p, int service)
{
	if (p->c == NULL)
		return 0;
	int hit = 0;
	for (int i = 0; i < p->c->nfaults; i++) {
		const SimFault *f = &p->c->faults[i];
		if (f->kind != SIM_FAULT_BURST || f->service != service || f->market != p->market ||
		    !in_window(f, p->c, p->t))
			continue;
		if (unif(&p->rng) < f->share)
			hit = 1;
	}
	return hit;
}

static void
mark_burst(Path *p)
{
	p->ev[p->n - 1].flags |= F_BURST;
}

static void
cancel(Path *p, double lo_s, double hi_s)
{
	step(p, T_ORDER_CANCELLED, lo_s, hi_s, 1);
	step(p, T_NOTIFY_CANCELLED, 5, 60, 1);
}

/* The order flow of this model (simgen_flow_json): per stage, the next
 * stages and the longest legitimate stay in real seconds -- from the
 * first event of the stage to the first of a later stage, over every
 * branch draw_path can take (the upper bounds of its delays added up):
 * e.g. payment: a failure, the retry up to 600 s later failing again,
 * then the cancellation up to 300 s later = 900 s; out_for_delivery: a
 * failed attempt (7,200 s), the notice, the second attempt 12-24 h later
 * and the return to the store = 115,260 s.  0 = terminal. */
static const struct {
	int next[3];		/* -1 ends */
	double max_stay_s;
} FLOW[NSTAGES] = {
        [ST_PLACED] = {{ST_CHECKOUT, -1}, 304},
        [ST_CHECKOUT] = {{ST_PAYMENT, -1}, 5},
        [ST_PAYMENT] = {{ST_FRAUD, ST_CANCELLED, -1}, 900},
        [ST_FRAUD] = {{ST_INVENTORY, ST_CANCELLED, -1}, 3620},
        [ST_INVENTORY] = {{ST_ASSIGNED, ST_CANCELLED, -1}, 60},
        [ST_ASSIGNED] = {{ST_PICKING, -1}, 5400},
        [ST_PICKING] = {{ST_PACKING, -1}, 3000},
        [ST_PACKING] = {{ST_LABELING, -1}, 300},
        [ST_LABELING] = {{ST_ROUTED, -1}, 1800},
        [ST_ROUTED] = {{ST_DISPATCHED, -1}, 7200},
        [ST_DISPATCHED] = {{ST_IN_TRANSIT, -1}, 4320},
        [ST_IN_TRANSIT] = {{ST_OUT_FOR_DELIVERY, -1}, 3600},
        [ST_OUT_FOR_DELIVERY] = {{ST_DELIVERED, ST_RETURNED, -1}, 115260},
        [ST_DELIVERED] = {{ST_RETURNED, -1}, 0},
        [ST_RETURNED] = {{-1}, 0},
        [ST_CANCELLED] = {{-1}, 0},
};

void
simgen_flow_json(const char *const *tables, int ntables, double time_scale, Buf *out)
{
	buf_puts(out, "{\n  \"name\": \"order\",\n  \"entityKey\": \"order_id\",\n"
		      "  \"sourceDefaults\": {\"keyColumn\": \"order_id\", \"stageColumn\": "
		      "\"stage\", \"timeColumn\": \"ts\", \"serviceColumn\": \"service\", "
		      "\"eventColumn\": \"event_type\"},\n  \"sources\": [");
	for (int i = 0; i < ntables; i++) {
		buf_puts(out, i ? ", " : "");
		buf_json_str(out, tables[i], strlen(tables[i]));
	}
	buf_puts(out, "],\n  \"stages\": [\n");
	for (int st = 0; st < NSTAGES; st++) {
		buf_printf(out, "    {\"name\": \"%s\"", STAGES[st]);
		if (FLOW[st].max_stay_s > 0) {
			/* a quarter more than the longest legitimate stay, and at
			 * least 2 s for the way from the producer to a query */
			double ms = FLOW[st].max_stay_s * 1250.0 / (time_scale > 0 ? time_scale : 1);
			buf_printf(out, ", \"sla\": \"%lldms\"", (long long)(ms < 2000 ? 2000 : ms));
		}
		buf_puts(out, ", \"next\": [");
		for (int k = 0; k < 3 && FLOW[st].next[k] >= 0; k++)
			buf_printf(out, "%s\"%s\"", k ? ", " : "", STAGES[FLOW[st].next[k]]);
		buf_printf(out, "]}%s\n", st + 1 < NSTAGES ? "," : "");
	}
	buf_puts(out, "  ],\n  \"successStages\": [\"delivered\"],\n"
		      "  \"failureStages\": [\"returned\"],\n  \"cancelStages\": [\"cancelled\"],\n"
		      "  \"dimensions\": [\"market\", \"store_id\"]\n}\n");
}

/* Draws the life cycle of one order into p (p->market and p->t set). */
static void
draw_path(Path *p)
{
	step(p, T_ORDER_CREATED, 0, 0, 1);
	step(p, T_CUSTOMER_VERIFIED, 0.2, 2, 1);
	step(p, T_PRICE_CALCULATED, 0.1, 1, 1);
	step(p, T_TAX_CALCULATED, 0.05, 0.5, 1);
	if (unif(&p->rng) < 0.35)
		step(p, T_PROMOTION_APPLIED, 0.05, 0.5, 1);
	step(p, T_CHECKOUT_COMPLETED, 20, 300, 1);

	for (int attempt = 1; attempt <= 2; attempt++) {
		double lo = attempt == 1 ? 1 : 30, hi = attempt == 1 ? 5 : 600;
		int b = burst(p, SV_PAYMENT);
		int fail = unif(&p->rng) < (attempt == 1 ? 0.04 : 0.35) || b;
		if (!fail) {
			step(p, T_PAYMENT_AUTHORIZED, lo, hi, attempt);
			break;
		}
		step(p, T_PAYMENT_FAILED, lo, hi, attempt);
		if (b)
			mark_burst(p);
		if (attempt == 2 || unif(&p->rng) < 0.5) {
			cancel(p, 30, 300);
			return;
		}
	}

	double r = unif(&p->rng);
	int b = burst(p, SV_FRAUD);
	if (r < 0.01 || b) {
		step(p, T_FRAUD_REJECTED, 0.5, 5, 1);
		if (b)
			mark_burst(p);
		step(p, T_PAYMENT_VOIDED, 1, 10, 1);
		cancel(p, 5, 60);
		return;
	}
	if (r < 0.04) {
		step(p, T_FRAUD_REVIEW, 0.5, 5, 1);
		if (unif(&p->rng) < 0.2) {
			step(p, T_FRAUD_REJECTED, 600, 3600, 1);
			step(p, T_PAYMENT_VOIDED, 1, 10, 1);
			cancel(p, 5, 60);
			return;
		}
		step(p, T_FRAUD_APPROVED, 600, 3600, 1);
	} else {
		step(p, T_FRAUD_APPROVED, 0.5, 5, 1);
	}
	step(p, T_NOTIFY_CONFIRMED, 1, 10, 1);

	b = burst(p, SV_INVENTORY);
	if (unif(&p->rng) < 0.02 || b) {
		step(p, T_INVENTORY_SHORTAGE, 1, 10, 1);
		if (b)
			mark_burst(p);
		step(p, T_PAYMENT_VOIDED, 1, 10, 1);
		cancel(p, 5, 60);
		return;
	}
	step(p, T_INVENTORY_RESERVED, 1, 10, 1);
	step(p, T_STORE_ASSIGNED, 5, 60, 1);
	step(p, T_PICK_STARTED, 600, 5400, 1);
	step(p, T_PICK_COMPLETED, 300, 1800, 1);
	step(p, T_PACK_COMPLETED, 300, 1200, 1);
	step(p, T_LABEL_CREATED, 60, 300, 1);
	step(p, T_ROUTE_PLANNED, 300, 1800, 1);
	step(p, T_DISPATCHED, 600, 7200, 1);
	step(p, T_PAYMENT_CAPTURED, 5, 60, 1);
	step(p, T_NOTIFY_SHIPPED, 10, 60, 1);
	step(p, T_DRIVER_ASSIGNED, 300, 1800, 1);
	step(p, T_PICKED_UP, 600, 2400, 1);

	for (int attempt = 1; attempt <= 2; attempt++) {
		if (attempt == 1)
			step(p, T_OUT_FOR_DELIVERY, 600, 3600, 1);
		else
			step(p, T_OUT_FOR_DELIVERY, 43200, 86400, 2);
		b = burst(p, SV_DELIVERY);
		int fail = unif(&p->rng) < (attempt == 1 ? 0.05 : 0.2) || b;
		if (!fail) {
			step(p, T_DELIVERED, 900, 7200, attempt);
			break;
		}
		step(p, T_DELIVERY_FAILED, 900, 7200, attempt);
		if (b)
			mark_burst(p);
		step(p, T_NOTIFY_DELIVERY_FAILED, 10, 60, attempt);
		if (attempt == 2) {
			step(p, T_RETURNED_TO_STORE, 3600, 14400, 1);
			step(p, T_REFUND_ISSUED, 3600, 86400, 1);
			step(p, T_NOTIFY_REFUNDED, 10, 60, 1);
			return;
		}
	}
	step(p, T_NOTIFY_DELIVERED, 5, 60, 1);
	step(p, T_POINTS_AWARDED, 60, 600, 1);
	if (unif(&p->rng) < 0.06) {
		step(p, T_RETURN_REQUESTED, 86400, 259200, 1);
		step(p, T_RETURN_RECEIVED, 86400, 172800, 1);
		step(p, T_REFUND_ISSUED, 3600, 86400, 1);
		step(p, T_NOTIFY_REFUNDED, 10, 60, 1);
	}
}

static int
fault_matches(const SimFault *f, const SimConfig *c, int market, const PathEv *ev)
{
	return (f->service < 0 || f->service == TYPES[ev->type].service) &&
	       (f->market < 0 || f->market == market) && in_window(f, c, ev->ts);
}

/* Stall, drop, dup and late, after the path is drawn. */
static void
apply_faults(Path *p)
{
	const SimConfig *c = p->c;
	for (int i = 0; i < c->nfaults; i++) {
		const SimFault *f = &c->faults[i];
		if (f->kind != SIM_FAULT_STALL || (f->market >= 0 && f->market != p->market))
			continue;
		if (unif(&p->rng) >= f->share)
			continue;
		/* the first event at a final stage (delivered, returned,
		 * cancelled -- payment_voided is already at cancelled): an
		 * order is stalled before it, never once it is done */
		int term = p->n;
		for (int k = 0; k < p->n; k++) {
			int st = p->ev[k].stage;
			if (TYPES[p->ev[k].type].terminal || st == ST_DELIVERED || st == ST_RETURNED ||
			    st == ST_CANCELLED) {
				term = k;
				break;
			}
		}
		int at = -1;
		if (f->stage >= 0) {
			for (int k = 0; k < term && at < 0; k++)
				if (p->ev[k].stage == f->stage && in_window(f, c, p->ev[k].ts))
					at = k;
		} else if (term > 0) {
			int k = (int)(rnd(&p->rng) % (uint64_t)term);
			if (in_window(f, c, p->ev[k].ts))
				at = k;
		}
		if (at < 0 || at + 1 >= p->n)
			continue;
		p->n = at + 1;
		p->ev[at].flags |= F_STALL;
		break;
	}
	for (int k = 0; k < p->n; k++) {
		PathEv *ev = &p->ev[k];
		ev->send_ms = ev->ts;
		if (ev->flags & F_STALL)
			continue;
		for (int i = 0; i < c->nfaults; i++) {
			const SimFault *f = &c->faults[i];
			if (f->kind != SIM_FAULT_DROP && f->kind != SIM_FAULT_DUP &&
			    f->kind != SIM_FAULT_LATE)
				continue;
			if (!fault_matches(f, c, p->market, ev))
				continue;
			int hit = unif(&p->rng) < f->share;
			if (!hit || (ev->flags & F_DROP))
				continue;
			if (f->kind == SIM_FAULT_DROP) {
				ev->flags = (ev->flags & ~(F_DUP | F_LATE)) | F_DROP;
				ev->send_ms = ev->ts;
			} else if (f->kind == SIM_FAULT_DUP && !(ev->flags & F_DUP)) {
				ev->flags |= F_DUP;
				ev->dup_delay_ms = f->delay_ms;
			} else if (f->kind == SIM_FAULT_LATE && !(ev->flags & F_LATE)) {
				ev->flags |= F_LATE;
				int64_t s = ev->ts + f->delay_ms;
				if (k + 1 < p->n && p->ev[k + 1].ts + 1 > s)
					s = p->ev[k + 1].ts + 1;
				ev->send_ms = s;
			}
		}
	}
}

/* ---- the heap of pending events ------------------------------------------ */

static int
ev_before(const HeapEv *a, const HeapEv *b)
{
	return a->send_ms < b->send_ms || (a->send_ms == b->send_ms && a->tie < b->tie);
}

static int
heap_push(SimGen *g, const HeapEv *ev)
{
	if (g->nheap == g->capheap) {
		size_t cap = g->capheap ? g->capheap * 2 : 4096;
		HeapEv *h = mem_realloc(g->heap, cap * sizeof(HeapEv));
		if (h == NULL)
			return ERR_NOMEM;
		g->heap = h;
		g->capheap = cap;
	}
	size_t i = g->nheap++;
	g->heap[i] = *ev;
	g->heap[i].tie = g->tie++;
	while (i > 0) {
		size_t up = (i - 1) / 2;
		if (!ev_before(&g->heap[i], &g->heap[up]))
			break;
		HeapEv t = g->heap[up];
		g->heap[up] = g->heap[i];
		g->heap[i] = t;
		i = up;
	}
	return 0;
}

static void
heap_pop(SimGen *g, HeapEv *out)
{
	*out = g->heap[0];
	g->heap[0] = g->heap[--g->nheap];
	size_t i = 0, n = g->nheap;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && ev_before(&g->heap[l], &g->heap[m]))
			m = l;
		if (r < n && ev_before(&g->heap[r], &g->heap[m]))
			m = r;
		if (m == i)
			break;
		HeapEv t = g->heap[m];
		g->heap[m] = g->heap[i];
		g->heap[i] = t;
		i = m;
	}
}

/* ---- orders ------------------------------------------------------------- */

static int
pick_market(uint64_t *rng)
{
	double u = unif(rng), acc = 0;
	for (int i = 0; i < NMARKETS; i++) {
		acc += MARKETS[i].weight;
		if (u < acc)
			return i;
	}
	return NMARKETS - 1;
}

/* Draws order order_no arriving at t and pushes its events. */
static int
gen_order(SimGen *g, uint64_t order_no, int64_t t)
{
	Path p;
	p.c = &g->c;
	p.rng = mix(g->c.seed, order_no);
	p.market = pick_market(&p.rng);
	p.t = t;
	p.n = 0;
	const Market *mk = &MARKETS[p.market];
	int store = (int)(rnd(&p.rng) % (uint64_t)mk->stores) + 1;
	double u = unif(&p.rng);
	int items = 1 + (int)(u * u * 8);
	double price = 0;
	for (int i = 0; i < items; i++)
		price += 2.0 + 40.0 * unif(&p.rng) * unif(&p.rng);
	int64_t cents = (int64_t)llround(price * mk->price_mult * 100.0);
	draw_path(&p);
	apply_faults(&p);
	for (int k = 0; k < p.n; k++) {
		const PathEv *pe = &p.ev[k];
		HeapEv ev = {
		        .send_ms = pe->send_ms,
		        .ts = pe->ts,
		        .order_no = order_no,
		        .amount_cents = cents,
		        .latency_ms = pe->latency_ms,
		        .slow_add_ms = pe->slow_add_ms,
		        .store = (uint16_t)store,
		        .market = (uint8_t)p.market,
		        .type = (uint8_t)pe->type,
		        .stage = (uint8_t)pe->stage,
		        .seq = (uint8_t)(k + 1),
		        .attempt = (uint8_t)pe->attempt,
		        .items = (uint8_t)items,
		        .flags = (uint8_t)pe->flags,
		};
		if (heap_push(g, &ev) != 0)
			return ERR_NOMEM;
		if (pe->flags & F_DUP) {
			ev.flags = (uint8_t)((pe->flags & ~F_DUP) | F_DUPCOPY);
			ev.send_ms += pe->dup_delay_ms;
			if (heap_push(g, &ev) != 0)
				return ERR_NOMEM;
		}
	}
	g->stats.orders++;
	return 0;
}

/* Events per order, from sample paths drawn without faults. */
static double
estimate_events(uint64_t seed)
{
	const int N = 2000;
	long total = 0;
	for (int i = 0; i < N; i++) {
		Path p;
		p.c = NULL;
		p.rng = mix(seed ^ 0x5eedULL, (uint64_t)i);
		p.market = pick_market(&p.rng);
		p.t = 0;
		p.n = 0;
		draw_path(&p);
		total += p.n;
	}
	return (double)total / N;
}

static double
exp_gap(uint64_t *rng, double mean)
{
	double u = unif(rng);
	return -log(1.0 - u) * mean;
}

int
simgen_open(const SimConfig *c, SimGen **out, Err *e)
{
	SimGen *g = mem_calloc(1, sizeof(SimGen));
	if (g == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	g->c = *c;
	if (g->c.time_scale <= 0)
		g->c.time_scale = 1;
	snprintf(g->order_prefix, sizeof(g->order_prefix), "o%06llx",
	         (unsigned long long)(mix(c->seed, 0xabcdefULL) & 0xffffff));
	g->events_per_order = estimate_events(c->seed);
	g->mean_gap_ms = c->rate > 0 ? 1000.0 * g->events_per_order / c->rate : 1.0;
	g->arrival_rng = mix(c->seed, 0xa11a11ULL);
	g->avail_rng = mix(c->seed, 0xa7a11ULL);
	g->late_rng = mix(c->seed, 0x1a7e5ULL);
	g->next_arrival_f = (double)c->start_ms;
	g->next_arrival = c->start_ms;
	g->next_avail_f = (double)c->start_ms;
	if (c->avail_rate > 0 && c->items > 0 && c->nodes > 0 && c->avail_updates != 0)
		g->next_avail_f += exp_gap(&g->avail_rng, 1000.0 / c->avail_rate);
	g->next_avail = (int64_t)g->next_avail_f;
	buf_init(&g->json);
	buf_init(&g->key);
	buf_init(&g->truth);
	*out = g;
	return 0;
}

void
simgen_close(SimGen *g)
{
	if (g == NULL)
		return;
	mem_free(g->heap);
	buf_free(&g->json);
	buf_free(&g->key);
	buf_free(&g->truth);
	mem_free(g);
}

const SimStats *
simgen_stats(const SimGen *g)
{
	return &g->stats;
}

double
simgen_events_per_order(const SimGen *g)
{
	return g->events_per_order;
}

static int
orders_left(const SimGen *g)
{
	return g->c.orders < 0 || g->orders_made < (uint64_t)g->c.orders;
}

/* Another availability update is due: while orders arrive, or until
 * c.avail_updates were sent when that is set. */
static int
avail_left(const SimGen *g)
{
	if (g->c.avail_rate <= 0 || g->c.items <= 0 || g->c.nodes <= 0)
		return 0;
	if (g->c.avail_updates >= 0)
		return g->avail_made < (uint64_t)g->c.avail_updates;
	return orders_left(g);
}

int64_t
simgen_peek_ms(SimGen *g)
{
	int64_t t = g->nheap ? g->heap[0].send_ms : INT64_MAX;
	if (orders_left(g) && g->next_arrival < t)
		t = g->next_arrival;
	if (avail_left(g) && g->next_avail < t)
		t = g->next_avail;
	return t;
}

/* ---- rendering ---------------------------------------------------------- */

static void
put_ids(SimGen *g, Buf *b, const HeapEv *ev, int with_event)
{
	buf_printf(b, "\"order_id\":\"%s-%07llu\"", g->order_prefix,
	           (unsigned long long)ev->order_no);
	if (with_event)
		buf_printf(b, ",\"event_id\":\"%s-%07llu-%02u\"", g->order_prefix,
		           (unsigned long long)ev->order_no, (unsigned)ev->seq);
}

static void
render_event(SimGen *g, const HeapEv *ev)
{
	const EvType *ty = &TYPES[ev->type];
	const Market *mk = &MARKETS[ev->market];
	Buf *b = &g->json;
	buf_reset(b);
	buf_printf(b, "{\"event_id\":\"%s-%07llu-%02u\",", g->order_prefix,
	           (unsigned long long)ev->order_no, (unsigned)ev->seq);
	put_ids(g, b, ev, 0);
	buf_printf(b,
	           ",\"service\":\"%s\",\"event_type\":\"%s\",\"stage\":\"%s\",\"status\":\"%s\","
	           "\"market\":\"%s\",\"store_id\":\"%s-S%04u\",\"ts\":%lld,\"seq\":%u,"
	           "\"attempt\":%u,\"latency_ms\":%d,\"amount\":",
	           TOPICS[ty->service], ty->name, STAGES[ev->stage], ty->status, mk->name, mk->name,
	           (unsigned)ev->store, (long long)ev->ts, (unsigned)ev->seq, (unsigned)ev->attempt,
	           (int)ev->latency_ms);
	if (ty->amount)
		buf_printf(b, "%lld.%02lld", (long long)(ev->amount_cents / 100),
		           (long long)(ev->amount_cents % 100));
	else
		buf_puts(b, "null");
	buf_printf(b, ",\"items\":%u}", (unsigned)ev->items);
	buf_reset(&g->key);
	buf_printf(&g->key, "%s-%07llu", g->order_prefix, (unsigned long long)ev->order_no);
}

static void
truth_head(SimGen *g, SimFaultKind k, const HeapEv *ev)
{
	const EvType *ty = &TYPES[ev->type];
	Buf *b = &g->truth;
	buf_printf(b, "{\"fault\":\"%s\",", FAULT_NAMES[k]);
	put_ids(g, b, ev, 1);
	buf_printf(b,
	           ",\"service\":\"%s\",\"event_type\":\"%s\",\"stage\":\"%s\",\"market\":\"%s\","
	           "\"seq\":%u,\"ts\":%lld",
	           TOPICS[ty->service], ty->name, STAGES[ev->stage], MARKETS[ev->market].name,
	           (unsigned)ev->seq, (long long)ev->ts);
	g->stats.faults[k]++;
}

static void
render_truth(SimGen *g, const HeapEv *ev)
{
	Buf *b = &g->truth;
	buf_reset(b);
	if (ev->flags & F_SLOW) {
		truth_head(g, SIM_FAULT_SLOW, ev);
		buf_printf(b, ",\"added_ms\":%d}\n", (int)ev->slow_add_ms);
	}
	if (ev->flags & F_BURST) {
		truth_head(g, SIM_FAULT_BURST, ev);
		buf_puts(b, "}\n");
	}
	if (ev->flags & F_DROP) {
		truth_head(g, SIM_FAULT_DROP, ev);
		buf_puts(b, "}\n");
	}
	if (ev->flags & F_DUPCOPY) {
		truth_head(g, SIM_FAULT_DUP, ev);
		buf_printf(b, ",\"send_ms\":%lld}\n", (long long)ev->send_ms);
	}
	if (ev->flags & F_LATE) {
		truth_head(g, SIM_FAULT_LATE, ev);
		buf_printf(b, ",\"send_ms\":%lld}\n", (long long)ev->send_ms);
	}
	if (ev->flags & F_STALL) {
		truth_head(g, SIM_FAULT_STALL, ev);
		buf_puts(b, "}\n");
	}
}

static void
render_avail(SimGen *g)
{
	uint64_t *r = &g->avail_rng;
	double u = unif(r);
	int item = 1 + (int)(u * u * g->c.items); /* popular items update more */
	if (item > g->c.items)
		item = g->c.items;
	int node = 1 + (int)(rnd(r) % (uint64_t)g->c.nodes);
	int mk = node * 100 / (g->c.nodes + 1) < 60   ? 0
	         : node * 100 / (g->c.nodes + 1) < 75 ? 1
	                                              : 2;
	int qty = unif(r) < 0.08 ? 0 : (int)(rnd(r) % 120);
	int64_t at = g->next_avail;
	if (g->c.avail_late > 0 && unif(&g->late_rng) < g->c.avail_late) {
		/* stale: measured up to avail_late_ms ago, arriving only now */
		int64_t back =
		        1 + (int64_t)(rnd(&g->late_rng) %
		                      (uint64_t)(g->c.avail_late_ms > 0 ? g->c.avail_late_ms : 1));
		at = at - back < g->c.start_ms ? g->c.start_ms : at - back;
		g->stats.avail_stale++;
	}
	buf_reset(&g->json);
	buf_printf(&g->json,
	           "{\"item_id\":\"I%06d\",\"node_id\":\"%s-N%04d\",\"market\":\"%s\",\"qty\":%d,"
	           "\"updated_at\":%lld}",
	           item, MARKETS[mk].name, node, MARKETS[mk].name, qty, (long long)at);
	buf_reset(&g->key);
	buf_printf(&g->key, "I%06d:%s-N%04d", item, MARKETS[mk].name, node);
}

int
simgen_next(SimGen *g, SimMsg *m, Err *e)
{
	memset(m, 0, sizeof(*m));
	for (;;) {
		int64_t top = g->nheap ? g->heap[0].send_ms : INT64_MAX;
		if (orders_left(g) && g->next_arrival <= top) {
			if (gen_order(g, g->orders_made + 1, g->next_arrival) != 0)
				return err_set(e, ERR_NOMEM, "out of memory (%zu pending events)",
				               g->nheap);
			g->orders_made++;
			g->next_arrival_f += exp_gap(&g->arrival_rng, g->mean_gap_ms);
			g->next_arrival = (int64_t)g->next_arrival_f;
			continue;
		}
		if (avail_left(g) && g->next_avail < top) {
			render_avail(g);
			m->topic = NSERVICES;
			m->send_ms = g->next_avail;
			g->next_avail_f += exp_gap(&g->avail_rng, 1000.0 / g->c.avail_rate);
			g->next_avail = (int64_t)g->next_avail_f;
			g->avail_made++;
			break;
		}
		if (g->nheap == 0)
			return 0;
		HeapEv ev;
		heap_pop(g, &ev);
		render_truth(g, &ev);
		m->topic = TYPES[ev.type].service;
		m->send_ms = ev.send_ms;
		m->is_order_event = 1;
		if (!(ev.flags & F_DROP))
			render_event(g, &ev);
		else
			buf_reset(&g->json);
		if (g->truth.len) {
			m->truth = g->truth.p;
			m->truth_len = g->truth.len;
		}
		if (ev.flags & F_DROP) {
			if (g->truth.oom)
				return err_set(e, ERR_NOMEM, "out of memory");
			return 1;
		}
		break;
	}
	if (g->json.oom || g->key.oom || g->truth.oom)
		return err_set(e, ERR_NOMEM, "out of memory");
	m->json = g->json.p;
	m->json_len = g->json.len;
	m->key = g->key.p;
	m->key_len = g->key.len;
	g->stats.per_topic[m->topic]++;
	return 1;
}

/* ---- the items dimension ----------------------------------------------- */

typedef struct Dept {
	const char *name;
	const char *cats[3];
	double lo, hi;
} Dept;

static const Dept DEPTS[] = {
        {"grocery", {"pantry", "snacks", "beverages"}, 1, 15},
        {"fresh", {"produce", "dairy", "bakery"}, 1, 12},
        {"frozen", {"frozen_meals", "ice_cream", "frozen_vegetables"}, 2, 14},
        {"household", {"cleaning", "paper", "laundry"}, 2, 30},
        {"health_beauty", {"pharmacy", "personal_care", "cosmetics"}, 3, 40},
        {"electronics", {"phones", "audio", "computers"}, 15, 900},
        {"home", {"kitchen", "bedding", "decor"}, 5, 150},
        {"apparel", {"women", "men", "kids"}, 5, 80},
        {"toys", {"games", "outdoor_play", "baby"}, 4, 90},
        {"sports", {"fitness", "camping", "cycling"}, 5, 300},
};
#define NDEPTS 10

int
simgen_write_items(const char *path, int items, uint64_t seed, int csv, Err *e)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return err_set(e, ERR_IO, "--emit-items: cannot create %s: %s", path,
		               strerror(errno));
	if (csv)
		fputs("item_id,category,department,price\n", f);
	for (int i = 1; i <= items; i++) {
		uint64_t r = mix(seed ^ 0x17e5ULL, (uint64_t)i);
		const Dept *d = &DEPTS[rnd(&r) % NDEPTS];
		const char *cat = d->cats[rnd(&r) % 3];
		double u = unif(&r);
		double price = d->lo + (d->hi - d->lo) * u * u;
		if (csv)
			fprintf(f, "I%06d,%s,%s,%.2f\n", i, cat, d->name, price);
		else
			fprintf(f,
			        "{\"item_id\":\"I%06d\",\"category\":\"%s\",\"department\":\"%s\","
			        "\"price\":%.2f}\n",
			        i, cat, d->name, price);
	}
	int bad = ferror(f);
	if (fclose(f) != 0 || bad)
		return err_set(e, ERR_IO, "--emit-items: write %s: %s", path, strerror(errno));
	return 0;
}
