/*
 * lifecycle.c -- the flows of a server: definitions, attachment to the
 * source tables, backfill, stuck detection and the state tables.
 *
 * How events arrive: the Lifecycle is the catalog's write observer
 * (catalog_set_observer).  Every partition write of every table calls
 * observe(), which looks the table up among the flows' sources and turns
 * each row into an event (key, time, stage, service, label, dimensions)
 * applied to the flow's LcState (lcstate.h) before the write returns.
 * Nothing is queued, so the state is as fresh as the data.
 *
 * Backfill and restart: a flow's state is a function of the set of its
 * events (lcstate.c dedupes), so it is rebuilt by reading every row the
 * source tables hold -- when the flow is defined or changed, and at each
 * start -- on a thread of its own, while live writes keep arriving
 * through the observer (registered first, so no row is missed; rows seen
 * twice count once).  This is what makes the state exactly-once with the
 * sources whatever the moment the process died: it is never more or
 * less than what the tables hold.  (The cost is a start-up proportional
 * to the stored events; a checkpoint is the planned remedy.)
 *
 * The state table <flow>_state is an upsert table (one row per entity,
 * the latest wins) written by the background thread from the entities
 * that changed (lcstate_drain), every second (an entity's changes within
 * it make one row version), so SQL, dashboards and the PostgreSQL wire
 * see the state.  The same thread sweeps the deadlines
 * (lcstate_sweep): an entity becomes stuck within ~100 ms of its
 * deadline.  The HTTP answers read the in-memory state directly
 * (lcanswer.c), with the flags derived at the moment of the request.
 * While a flow's state is being rebuilt its questions answer ERR_BUSY
 * (503) and its state table is left as it was: answers from part of the
 * events would be wrong.
 *
 * Locks: lc->mu (rwlock) guards the flow list; observe() holds it in
 * read mode, changes take it in write mode (and so wait for observer
 * calls in flight).  Flows are reference-counted: the background thread
 * and requests hold a reference while they use one, and a dropped flow
 * is freed by its last user.  Nothing here holds lc->mu while calling
 * the catalog in a way that waits for table writes.
 *
 * Persistence: DATA/flows/<name>.json (canonical definition, written
 * atomically).  A flow whose definition no longer checks against the
 * catalog (a table dropped) is kept with the error in its status.
 *
 * Exports: lifecycle_open, lifecycle_close, lifecycle_put_flow,
 * lifecycle_delete_flow, lifecycle_get_flow, lifecycle_list_flows,
 * lifecycle_entity, lifecycle_query, and lifecycle__dims (for lcsql.c).
 */
#define _GNU_SOURCE
#include "lifecycle/lifecycle.h"
#include "lifecycle/flowdef.h"
#include "lifecycle/lcanswer.h"
#include "lifecycle/lcexpr.h"
#include "lifecycle/lcsql.h"
#include "lifecycle/lcstate.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "base/mem.h"
#include "table/schema.h"
#include "table/table.h"
#include "table/tblconfig.h"

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 100
#define WRITE_TICKS 10		/* the state table is written every second */
#define MAX_EXPR_IN 32		/* columns a stageExpr may read */
#define DRAIN_ROWS 20000

typedef struct Flow {
	_Atomic int refs;
	FlowDef *d;
	LcState *st;
	char state_table[FLOW_NAME_MAX + 8];
	pthread_t backfill;
	int has_backfill;
	_Atomic int stop;	/* the backfill stops early */
	_Atomic int backfilling;
	_Atomic uint64_t backfilled;	/* rows read by the backfill */
	_Atomic uint64_t events;	/* rows applied from live writes */
	_Atomic uint64_t state_rows;	/* rows written to the state table */
	pthread_mutex_t status_mu;
	char error[512];	/* the last error ("" if none) */
	/* stageExpr of each source, compiled on first use (under status_mu)
	 * against the table's schema; a failure is kept in error */
	LcExpr *expr[FLOW_MAX_SOURCES];
	int expr_failed[FLOW_MAX_SOURCES];
} Flow;

struct Lifecycle {
	Catalog *cat;
	char dir[4096];		/* DATA/flows */
	pthread_rwlock_t mu;
	Flow **flows;
	int nflows;
	pthread_mutex_t put_mu;	/* serializes definition changes */
	pthread_t thread;
	_Atomic int stop;
};

static void
flow_unref(Flow *f)
{
	if (f == NULL || atomic_fetch_sub(&f->refs, 1) != 1)
		return;
	lcstate_free(f->st);
	for (int i = 0; f->d && i < f->d->nsources; i++)
		lcexpr_free(f->expr[i]);
	flowdef_free(f->d);
	pthread_mutex_destroy(&f->status_mu);
	mem_free(f);
}

static void
set_error(Flow *f, const char *msg)
{
	pthread_mutex_lock(&f->status_mu);
	snprintf(f->error, sizeof(f->error), "%s", msg ? msg : "");
	pthread_mutex_unlock(&f->status_mu);
}

/* The flow's clock. */
static int64_t
flow_now(const Flow *f)
{
	int64_t m = lcstate_max_ts(f->st);
	if (f->d->event_clock)
		return m == INT64_MIN ? 0 : m;
	int64_t w = clock_wall_ms();
	return m > w ? m : w;
}

/* A new reference to the flow called name, or NULL. */
static Flow *
get_flow(Lifecycle *lc, const char *name)
{
	Flow *f = NULL;
	pthread_rwlock_rdlock(&lc->mu);
	for (int i = 0; i < lc->nflows; i++)
		if (strcmp(lc->flows[i]->d->name, name) == 0) {
			f = lc->flows[i];
			atomic_fetch_add(&f->refs, 1);
			break;
		}
	pthread_rwlock_unlock(&lc->mu);
	return f;
}

/* ---- rows to events --------------------------------------------------------- */

/* Where one source's fields are in a row layout. */
typedef struct SrcCols {
	int key, stage, time, svc, label;
	int dims[FLOW_MAX_DIMS];
	double unit_ms;		/* of the time column */
} SrcCols;

static int
src_cols(const FlowDef *d, const FlowSource *src, Table *t, const Schema *s, SrcCols *c)
{
	c->key = schema_find(s, src->key_col ? src->key_col : d->entity_key);
	c->stage = src->stage_col ? schema_find(s, src->stage_col) : -1;
	const char *tc = src->time_col;
	if (tc == NULL) {
		const TableConfig *cfg = table_config(t);
		tc = cfg ? cfg->time_column : NULL;
	}
	c->time = tc ? schema_find(s, tc) : -1;
	c->unit_ms = 1;
	if (c->time >= 0 && s->fields[c->time].kind == FIELD_DATETIME) {
		double u = schema_time_unit_ms(&s->fields[c->time]);
		if (u > 0)
			c->unit_ms = u;
	}
	c->svc = src->service_col ? schema_find(s, src->service_col) : -1;
	c->label = src->event_col ? schema_find(s, src->event_col) : -1;
	for (int i = 0; i < d->ndims; i++)
		c->dims[i] = schema_find(s, d->dims[i]);
	return c->key >= 0 && (c->stage >= 0 || src->stage_col == NULL);
}

/* The text of v: strings as they are, others formatted into scratch. */
static const char *
text_of(const Value *v, size_t *len, Buf *scratch)
{
	if (v->null || v->mv)
		return NULL;
	if (v->type == TYPE_STRING || v->type == TYPE_JSON) {
		*len = v->n;
		return v->u.s;
	}
	size_t at = scratch->len;
	value_format(v, scratch);
	*len = scratch->len - at;
	return NULL;	/* caller reads scratch at `at`: see text_at */
}

typedef struct Conv {
	Buf scratch;		/* texts formatted from non-string values */
} Conv;

/* Fills ev from row; 0 if the row is not an event (no key). */
static int
row_event(const FlowDef *d, int srcno, const char *table, const SrcCols *c, const Value *row,
	  Conv *cv, const char *stage_txt, size_t stage_len, int has_expr, LcEventIn *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->src = srcno;
	const FlowSource *src = &d->sources[srcno];
	/* formatted texts go to scratch; pointers are fixed after all are in */
	const char *p[4 + FLOW_MAX_DIMS];
	size_t n[4 + FLOW_MAX_DIMS];
	int cols[4 + FLOW_MAX_DIMS];
	size_t off[4 + FLOW_MAX_DIMS];
	int nc = 0;
	cols[nc++] = c->key;
	cols[nc++] = c->stage;
	cols[nc++] = c->svc;
	cols[nc++] = c->label;
	for (int i = 0; i < d->ndims; i++)
		cols[nc++] = c->dims[i];
	buf_reset(&cv->scratch);
	for (int i = 0; i < nc; i++) {
		p[i] = NULL;
		n[i] = 0;
		off[i] = (size_t)-1;
		if (cols[i] < 0)
			continue;
		size_t at = cv->scratch.len;
		p[i] = text_of(&row[cols[i]], &n[i], &cv->scratch);
		if (p[i] == NULL && cv->scratch.len > at)
			off[i] = at;
	}
	for (int i = 0; i < nc; i++)
		if (off[i] != (size_t)-1)
			p[i] = cv->scratch.p + off[i];
	if (has_expr) {
		p[1] = stage_txt;
		n[1] = stage_len;
	}
	if (p[0] == NULL || n[0] == 0)
		return 0;
	ev->key = p[0];
	ev->keylen = n[0];
	ev->stage = -1;
	if (p[1]) {
		if (src->nmap > 0) {
			for (int m = 0; m < src->nmap; m++)
				if (strlen(src->map_from[m]) == n[1] &&
				    memcmp(src->map_from[m], p[1], n[1]) == 0) {
					ev->stage = src->map_to[m];
					break;
				}
		} else {
			ev->stage = flowdef_stage(d, p[1], n[1]);
		}
	}
	if (p[2]) {
		ev->svc = p[2];
		ev->svclen = n[2];
	} else {
		ev->svc = table;
		ev->svclen = strlen(table);
	}
	if (p[3]) {
		ev->label = p[3];
		ev->labellen = n[3];
	} else if (p[1]) {
		ev->label = p[1];
		ev->labellen = n[1];
	}
	for (int i = 0; i < d->ndims; i++) {
		ev->dim[i] = p[4 + i];
		ev->dimlen[i] = n[4 + i];
	}
	const Value *tv = c->time >= 0 ? &row[c->time] : NULL;
	if (tv && !tv->null && !tv->mv && type_is_integer((WbType)tv->type))
		ev->ts = (int64_t)((double)tv->u.i * c->unit_ms);
	else
		ev->ts = clock_wall_ms();
	return 1;
}

#define APPLY_CHUNK 128

/* The compiled stageExpr of source srcno (compiled now if needed, against
 * schema s), or NULL when it has none or it does not compile. */
static LcExpr *
source_expr(Flow *f, int srcno, const Schema *s)
{
	const FlowSource *src = &f->d->sources[srcno];
	if (src->stage_expr == NULL)
		return NULL;
	pthread_mutex_lock(&f->status_mu);
	LcExpr *x = f->expr[srcno];
	if (x == NULL && !f->expr_failed[srcno]) {
		Err e = {0};
		if (lcexpr_compile(src->stage_expr, s, &f->expr[srcno], &e) != 0) {
			f->expr_failed[srcno] = 1;
			snprintf(f->error, sizeof(f->error), "sources[%d] (%s): %s", srcno, src->table,
				 err_msg(&e));
			log_warn("flow %s: %s", f->d->name, f->error);
		}
		x = f->expr[srcno];
	}
	pthread_mutex_unlock(&f->status_mu);
	return x;
}

/* Applies rows [0, nrows) of a row-major array to flow f's source srcno;
 * x (may be NULL) is its stageExpr, reading columns incol[]. */
static void
apply_rows(Flow *f, int srcno, const char *table, const SrcCols *c, const Value *rows,
	   size_t nrows, int ncols, LcExpr *x, const int *incol)
{
	Conv cv[APPLY_CHUNK];
	LcEventIn ev[APPLY_CHUNK];
	const char *stxt[APPLY_CHUNK];
	uint32_t slen[APPLY_CHUNK];
	Arena a;
	static _Thread_local int64_t warned;
	arena_init(&a, 4096);
	for (int i = 0; i < APPLY_CHUNK; i++)
		buf_init(&cv[i].scratch);
	size_t r = 0;
	while (r < nrows) {
		size_t chunk = nrows - r < APPLY_CHUNK ? nrows - r : APPLY_CHUNK;
		Err e = {0};
		int xrc = 0;
		if (x) {
			arena_reset(&a);
			xrc = lcexpr_eval(x, incol, rows + r * (size_t)ncols, chunk, ncols, stxt, slen, &a,
					  &e);
			if (xrc) {	/* the chunk's events get no stage */
				memset(stxt, 0, sizeof(stxt));
				memset(slen, 0, sizeof(slen));
				set_error(f, err_msg(&e));
				e = (Err){0};
			}
		}
		int n = 0;
		for (size_t k = 0; k < chunk; k++, r++)
			if (row_event(f->d, srcno, table, c, rows + r * (size_t)ncols, &cv[n],
				      x ? stxt[k] : NULL, x ? slen[k] : 0, x != NULL, &ev[n]))
				n++;
		if (n > 0 && lcstate_apply(f->st, ev, n, flow_now(f), &e) != 0) {
			set_error(f, err_msg(&e));
			int64_t now = clock_wall_ms();
			if (now - warned > 10000) {
				warned = now;
				log_warn("flow %s: %s", f->d->name, err_msg(&e));
			}
		}
	}
	for (int i = 0; i < APPLY_CHUNK; i++)
		buf_free(&cv[i].scratch);
	arena_free(&a);
}

static void
observe(void *ctx, Table *t, int part, const RowBatch *b)
{
	(void)part;
	Lifecycle *lc = ctx;
	const char *name = table_name(t);
	pthread_rwlock_rdlock(&lc->mu);
	for (int i = 0; i < lc->nflows; i++) {
		Flow *f = lc->flows[i];
		for (int s = 0; s < f->d->nsources; s++) {
			if (strcmp(f->d->sources[s].table, name) != 0)
				continue;
			SrcCols c;
			const Schema *sch = table_schema(t);
			if (!src_cols(f->d, &f->d->sources[s], t, sch, &c))
				continue;
			LcExpr *x = source_expr(f, s, sch);
			if (f->d->sources[s].stage_expr && x == NULL)
				continue;
			int incol[MAX_EXPR_IN];
			for (int k = 0; x && k < lcexpr_ninputs(x) && k < MAX_EXPR_IN; k++)
				incol[k] = schema_find(sch, lcexpr_input(x, k));
			apply_rows(f, s, name, &c, b->vals, b->nrows, b->ncols, x, incol);
			atomic_fetch_add(&f->events, b->nrows);
		}
	}
	pthread_rwlock_unlock(&lc->mu);
}

/* ---- backfill ------------------------------------------------------------------ */

#define BF_ROWS 4096
#define MAXW (5 + FLOW_MAX_DIMS + MAX_EXPR_IN)

/* Reads every stored row of source srcno into the flow. */
static int
backfill_source(Lifecycle *lc, Flow *f, int srcno, Err *e)
{
	const FlowSource *src = &f->d->sources[srcno];
	Table *t = catalog_get_table(lc->cat, src->table);
	if (t == NULL)
		return err_set(e, ERR_NOT_FOUND, "flow %s: no table \"%s\"", f->d->name, src->table);
	TableSnap snap;
	int rc = table_snapshot(t, &snap, e);
	if (rc) {
		table_unref(t);
		return rc;
	}
	SrcCols c;
	if (!src_cols(f->d, src, t, snap.schema, &c)) {
		rc = err_set(e, ERR_BAD_CONFIG, "flow %s: table %s lacks the flow's key or stage column",
			     f->d->name, src->table);
		goto out;
	}
	/* the columns to read, in a compact row layout: the flow's fields,
	 * then the stageExpr's inputs */
	LcExpr *x = source_expr(f, srcno, snap.schema);
	if (src->stage_expr && x == NULL) {
		rc = err_set(e, ERR_BAD_CONFIG, "flow %s: the stageExpr of %s does not compile",
			     f->d->name, src->table);
		goto out;
	}
	int want[MAXW], nw = 0, incol[MAX_EXPR_IN];
	SrcCols cc = c;	/* positions in the compact row */
	int *cf[5 + FLOW_MAX_DIMS] = {&cc.key, &cc.stage, &cc.time, &cc.svc, &cc.label};
	want[nw++] = c.key;
	want[nw++] = c.stage;
	want[nw++] = c.time;
	want[nw++] = c.svc;
	want[nw++] = c.label;
	for (int i = 0; i < f->d->ndims; i++) {
		cf[nw] = &cc.dims[i];
		want[nw++] = c.dims[i];
	}
	for (int i = 0; i < nw; i++)
		*cf[i] = want[i] >= 0 ? i : -1;
	for (int k = 0; x && k < lcexpr_ninputs(x); k++) {
		if (k >= MAX_EXPR_IN || nw >= MAXW) {
			rc = err_set(e, ERR_BAD_CONFIG, "flow %s: the stageExpr of %s reads too many columns",
				     f->d->name, src->table);
			goto out;
		}
		incol[k] = nw;
		want[nw++] = schema_find(snap.schema, lcexpr_input(x, k));
	}
	Value *rows = mem_calloc((size_t)BF_ROWS * (size_t)nw, sizeof(Value));
	Arena a;
	arena_init(&a, 1 << 16);
	if (rows == NULL) {
		rc = err_set(e, ERR_NOMEM, "flow %s: backfill of %s", f->d->name, src->table);
		goto out2;
	}
	for (int sg = 0; sg < snap.nsegs && rc == 0 && !atomic_load(&f->stop) &&
			 !atomic_load(&lc->stop);
	     sg++) {
		const SnapSeg *seg = &snap.segs[sg];
		SegCursor cur[MAXW];
		int fcol[MAXW];
		if (seg->file) {
			for (int i = 0; i < nw; i++) {
				fcol[i] = want[i] >= 0
						  ? segfile_col_find(seg->file, snap.schema->fields[want[i]].name)
						  : -1;
				if (fcol[i] >= 0)
					segfile_cursor_init(&cur[i], (SegFile *)seg->file, fcol[i]);
			}
		}
		for (size_t r0 = 0; r0 < seg->rows && rc == 0; r0 += BF_ROWS) {
			size_t n = seg->rows - r0 < BF_ROWS ? seg->rows - r0 : BF_ROWS;
			arena_reset(&a);
			for (size_t r = 0; r < n && rc == 0; r++) {
				Value *row = rows + r * (size_t)nw;
				for (int i = 0; i < nw; i++) {
					row[i] = value_null(TYPE_STRING);
					if (want[i] < 0)
						continue;
					if (seg->file) {
						if (fcol[i] >= 0)
							rc = segfile_value(&cur[i], r0 + r, &row[i], &a, e);
					} else if (want[i] < mutseg_ncols(seg->seg)) {
						rc = mutcol_value(mutseg_col(seg->seg, want[i]), r0 + r, &row[i], &a);
						if (rc)
							rc = err_set(e, rc, "reading %s", src->table);
					}
				}
			}
			if (rc == 0)
				apply_rows(f, srcno, src->table, &cc, rows, n, nw, x, incol);
			atomic_fetch_add(&f->backfilled, n);
		}
		if (seg->file)
			for (int i = 0; i < nw; i++)
				if (fcol[i] >= 0)
					segfile_cursor_free(&cur[i]);
	}
out2:
	arena_free(&a);
	mem_free(rows);
out:
	table_snap_free(&snap);
	table_unref(t);
	return rc;
}

static void *
backfill_main(void *arg)
{
	void **args = arg;
	Lifecycle *lc = args[0];
	Flow *f = args[1];
	mem_free(args);
	int64_t t0 = clock_mono_ns();
	for (int s = 0; s < f->d->nsources && !atomic_load(&f->stop) && !atomic_load(&lc->stop);
	     s++) {
		Err e = {0};
		if (backfill_source(lc, f, s, &e) != 0) {
			log_warn("flow %s: backfill: %s", f->d->name, err_msg(&e));
			set_error(f, err_msg(&e));
		}
	}
	lcstate_mark_all(f->st);
	atomic_store(&f->backfilling, 0);
	log_info("flow %s: backfill read %llu rows, %llu entities in %.1f s", f->d->name,
		 (unsigned long long)atomic_load(&f->backfilled),
		 (unsigned long long)lcstate_count(f->st), (double)(clock_mono_ns() - t0) / 1e9);
	flow_unref(f);
	return NULL;
}

static int
start_backfill(Lifecycle *lc, Flow *f, Err *e)
{
	void **args = mem_alloc(2 * sizeof(void *));
	if (args == NULL)
		return err_set(e, ERR_NOMEM, "flow %s: backfill", f->d->name);
	args[0] = lc;
	args[1] = f;
	atomic_fetch_add(&f->refs, 1);
	atomic_store(&f->backfilling, 1);
	if (pthread_create(&f->backfill, NULL, backfill_main, args) != 0) {
		atomic_store(&f->backfilling, 0);
		atomic_fetch_sub(&f->refs, 1);
		mem_free(args);
		return err_set(e, ERR_INTERNAL, "flow %s: cannot start the backfill thread", f->d->name);
	}
	f->has_backfill = 1;
	return 0;
}

static void
stop_backfill(Flow *f)
{
	if (!f->has_backfill)
		return;
	atomic_store(&f->stop, 1);
	pthread_join(f->backfill, NULL);
	f->has_backfill = 0;
}

/* ---- the background thread ------------------------------------------------------ */

static void
write_state(Lifecycle *lc, Flow *f, int64_t now)
{
	Table *t = catalog_get_table(lc->cat, f->state_table);
	if (t == NULL)
		return;
	const Schema *s = table_schema(t);
	RowBatch b;
	rowbatch_init(&b, s->nfields);
	for (;;) {
		rowbatch_reset(&b);
		size_t n = lcstate_drain(f->st, now, s, &b, DRAIN_ROWS);
		if (n == 0)
			break;
		Err e = {0};
		if (table_write(t, &b, &e) != 0) {
			/* the rows stay in memory; marked again so a later write
			 * has them */
			set_error(f, err_msg(&e));
			log_warn("flow %s: writing %s: %s", f->d->name, f->state_table, err_msg(&e));
			lcstate_mark_all(f->st);
			break;
		}
		atomic_fetch_add(&f->state_rows, n);
	}
	rowbatch_free(&b);
	table_unref(t);
}

static void *
bg_main(void *arg)
{
	Lifecycle *lc = arg;
	for (unsigned tick = 1; !atomic_load(&lc->stop); tick++) {
		clock_sleep_ms(TICK_MS);
		Flow *fl[256];
		int n = 0;
		pthread_rwlock_rdlock(&lc->mu);
		for (int i = 0; i < lc->nflows && n < 256; i++) {
			fl[n] = lc->flows[i];
			atomic_fetch_add(&fl[n]->refs, 1);
			n++;
		}
		pthread_rwlock_unlock(&lc->mu);
		for (int i = 0; i < n; i++) {
			/* nothing is written from a state being rebuilt: the
			 * backfill marks every entity when it ends */
			if (!atomic_load(&fl[i]->backfilling)) {
				int64_t now = flow_now(fl[i]);
				lcstate_sweep(fl[i]->st, now);
				/* fewer, larger writes: an entity's changes within
				 * a second make one row version */
				if (tick % WRITE_TICKS == 0)
					write_state(lc, fl[i], now);
			}
			flow_unref(fl[i]);
		}
	}
	return NULL;
}

/* ---- definitions -------------------------------------------------------------- */

static void
flow_path(Lifecycle *lc, const char *name, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s.json", lc->dir, name);
}

/* Creates or extends the state table of d. */
static int
ensure_state_table(Lifecycle *lc, const FlowDef *d, int fresh, Err *e)
{
	char name[FLOW_NAME_MAX + 8];
	snprintf(name, sizeof(name), "%s_state", d->name);
	for (int i = 0; i < d->ndims; i++)
		if (lcstate_own_column(d, d->dims[i]))
			return err_set(e, ERR_BAD_CONFIG,
				       "dimensions[%d]: \"%s\" is a column of the state table %s", i,
				       d->dims[i], name);
	if (fresh) {
		Table *t = catalog_get_table(lc->cat, name);
		if (t) {
			table_unref(t);
			return err_set(e, ERR_EXISTS,
				       "flow %s: a table %s exists already (the flow's state table)",
				       d->name, name);
		}
	}
	Buf js;
	buf_init(&js);
	lcstate_schema_json(d, &js);
	int rc = catalog_put_schema(lc->cat, js.p, js.len, 1, NULL, e);
	buf_reset(&js);
	if (rc == 0) {
		lcstate_config_json(d, &js);
		rc = catalog_put_table(lc->cat, js.p, js.len, 1, NULL, NULL, e);
	}
	buf_free(&js);
	if (rc) {
		char msg[ERR_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s", err_msg(e));
		err_reset(e, rc, "flow %s: state table %s: %s", d->name, name, msg);
	}
	return rc;
}

/* A new flow object for d (owned from now on). */
static int
flow_new(FlowDef *d, Flow **out, Err *e)
{
	Flow *f = mem_calloc(1, sizeof(*f));
	if (f == NULL) {
		flowdef_free(d);
		return err_set(e, ERR_NOMEM, "flow %s", d->name);
	}
	f->d = d;
	atomic_store(&f->refs, 1);
	pthread_mutex_init(&f->status_mu, NULL);
	snprintf(f->state_table, sizeof(f->state_table), "%s_state", d->name);
	int rc = lcstate_create(d, &f->st, e);
	if (rc) {
		flow_unref(f);
		return rc;
	}
	*out = f;
	return 0;
}

/* Adds f to the list (replacing old, which is returned for the caller
 * to stop and release). */
static Flow *
install(Lifecycle *lc, Flow *f)
{
	Flow *old = NULL;
	pthread_rwlock_wrlock(&lc->mu);
	int i;
	for (i = 0; i < lc->nflows; i++)
		if (strcmp(lc->flows[i]->d->name, f->d->name) == 0)
			break;
	if (i < lc->nflows) {
		old = lc->flows[i];
		lc->flows[i] = f;
	} else {
		Flow **nf = mem_realloc(lc->flows, (size_t)(lc->nflows + 1) * sizeof(Flow *));
		if (nf) {
			lc->flows = nf;
			lc->flows[lc->nflows++] = f;
		} else {
			old = f;	/* cannot happen in practice; dropped */
		}
	}
	pthread_rwlock_unlock(&lc->mu);
	return old;
}

int
lifecycle_put_flow(Lifecycle *lc, const char *json, size_t len, int replace,
		   const char *expect_name, Err *e)
{
	FlowDef *d;
	int rc = flowdef_parse(json, len, expect_name, &d, e);
	if (rc)
		return rc;
	if ((rc = flowdef_check(d, lc->cat, e)) != 0) {
		flowdef_free(d);
		return rc;
	}
	/* every stageExpr must compile against its table now */
	for (int s = 0; s < d->nsources && rc == 0; s++) {
		if (d->sources[s].stage_expr == NULL)
			continue;
		Table *t = catalog_get_table(lc->cat, d->sources[s].table);
		LcExpr *x = NULL;
		if (t && (rc = lcexpr_compile(d->sources[s].stage_expr, table_schema(t), &x, e)) != 0) {
			char msg[ERR_MSG_MAX];
			snprintf(msg, sizeof(msg), "%s", err_msg(e));
			err_reset(e, rc, "sources[%d].stageExpr: %s", s, msg);
		}
		lcexpr_free(x);
		table_unref(t);
	}
	if (rc) {
		flowdef_free(d);
		return rc;
	}
	pthread_mutex_lock(&lc->put_mu);
	Flow *cur = get_flow(lc, d->name);
	if (cur && !replace) {
		rc = err_set(e, ERR_EXISTS, "flow %s exists", d->name);
		goto fail;
	}
	if (!cur && replace && expect_name) {
		/* PUT of a new flow creates it */
	}
	if ((rc = ensure_state_table(lc, d, cur == NULL, e)) != 0)
		goto fail;
	Buf js;
	buf_init(&js);
	flowdef_to_json(d, &js);
	char path[4200];
	flow_path(lc, d->name, path, sizeof(path));
	rc = file_write_atomic(path, js.p, js.len, e);
	buf_free(&js);
	if (rc)
		goto fail;
	Flow *f;
	if ((rc = flow_new(d, &f, e)) != 0) {
		d = NULL;
		goto fail;
	}
	d = NULL;
	Flow *old = install(lc, f);
	if (old) {
		stop_backfill(old);
		flow_unref(old);
		/* the state table starts empty: the rebuild writes every entity
		 * again, and none of the old definition's stays behind */
		Err de = {0};
		if (catalog_delete_table(lc->cat, f->state_table, -1, &de) != 0 ||
		    catalog_delete_schema(lc->cat, f->state_table, &de) != 0 ||
		    ensure_state_table(lc, f->d, 0, &de) != 0) {
			log_warn("flow %s: recreating %s: %s", f->d->name, f->state_table, err_msg(&de));
			set_error(f, err_msg(&de));
		}
	}
	rc = start_backfill(lc, f, e);
	if (cur)
		flow_unref(cur);
	pthread_mutex_unlock(&lc->put_mu);
	log_info("flow %s %s", f->d->name, cur ? "replaced" : "defined");
	return rc;
fail:
	if (cur)
		flow_unref(cur);
	pthread_mutex_unlock(&lc->put_mu);
	flowdef_free(d);
	return rc;
}

int
lifecycle_delete_flow(Lifecycle *lc, const char *name, Err *e)
{
	pthread_mutex_lock(&lc->put_mu);
	Flow *f = NULL;
	pthread_rwlock_wrlock(&lc->mu);
	for (int i = 0; i < lc->nflows; i++)
		if (strcmp(lc->flows[i]->d->name, name) == 0) {
			f = lc->flows[i];
			lc->flows[i] = lc->flows[--lc->nflows];
			break;
		}
	pthread_rwlock_unlock(&lc->mu);
	if (f == NULL) {
		pthread_mutex_unlock(&lc->put_mu);
		return err_set(e, ERR_NOT_FOUND, "no flow %s", name);
	}
	stop_backfill(f);
	char path[4200];
	flow_path(lc, name, path, sizeof(path));
	int rc = 0;
	if (remove(path) != 0)
		rc = err_set(e, ERR_IO, "removing %s", path);
	Err e2 = {0};
	if (catalog_delete_table(lc->cat, f->state_table, -1, &e2) != 0)
		log_warn("flow %s: dropping %s: %s", name, f->state_table, err_msg(&e2));
	else if (catalog_delete_schema(lc->cat, f->state_table, &e2) != 0)
		log_warn("flow %s: dropping schema %s: %s", name, f->state_table, err_msg(&e2));
	flow_unref(f);
	pthread_mutex_unlock(&lc->put_mu);
	return rc;
}

int
lifecycle__dims(Lifecycle *lc, const char *flow, const char **dims, int max, Arena *a, Err *e)
{
	Flow *f = get_flow(lc, flow);
	if (f == NULL)
		return err_set(e, ERR_NOT_FOUND, "no flow %s", flow);
	int n = 0;
	for (int i = 0; i < f->d->ndims && n < max; i++)
		if ((dims[n] = arena_strdup(a, f->d->dims[i])) != NULL)
			n++;
	flow_unref(f);
	return n;
}

int
lifecycle_get_flow(Lifecycle *lc, const char *name, Buf *out, Err *e)
{
	Flow *f = get_flow(lc, name);
	if (f == NULL)
		return err_set(e, ERR_NOT_FOUND, "no flow %s", name);
	buf_puts(out, "{\"flow\":");
	flowdef_to_json(f->d, out);
	buf_printf(out, ",\"status\":{\"state\":\"%s\",\"entities\":%llu,\"backfilledRows\":%llu,"
			"\"liveRows\":%llu,\"stateRows\":%llu,\"stateTable\":",
		   atomic_load(&f->backfilling) ? "BACKFILLING" : "READY",
		   (unsigned long long)lcstate_count(f->st),
		   (unsigned long long)atomic_load(&f->backfilled),
		   (unsigned long long)atomic_load(&f->events),
		   (unsigned long long)atomic_load(&f->state_rows));
	buf_json_str(out, f->state_table, strlen(f->state_table));
	buf_puts(out, ",\"now\":");
	buf_i64(out, flow_now(f));
	buf_puts(out, ",\"error\":");
	pthread_mutex_lock(&f->status_mu);
	if (f->error[0])
		buf_json_str(out, f->error, strlen(f->error));
	else
		buf_puts(out, "null");
	pthread_mutex_unlock(&f->status_mu);
	buf_puts(out, "}}");
	flow_unref(f);
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void
lifecycle_list_flows(Lifecycle *lc, Buf *out)
{
	pthread_rwlock_rdlock(&lc->mu);
	const char **names = mem_calloc((size_t)lc->nflows + 1, sizeof(char *));
	int n = 0;
	if (names)
		for (int i = 0; i < lc->nflows; i++)
			names[n++] = lc->flows[i]->d->name;
	qsort(names, (size_t)n, sizeof(char *), cmp_names);
	buf_putc(out, '[');
	for (int i = 0; i < n; i++) {
		if (i)
			buf_putc(out, ',');
		buf_json_str(out, names[i], strlen(names[i]));
	}
	buf_putc(out, ']');
	pthread_rwlock_unlock(&lc->mu);
	mem_free(names);
}

/* ERR_BUSY while f's state is being rebuilt: answers from part of the
 * events would be wrong (an order read up to its first stage looks
 * stuck there). */
static int
check_ready(Flow *f, Err *e)
{
	if (!atomic_load(&f->backfilling))
		return 0;
	return err_set(e, ERR_BUSY,
		       "flow %s is rebuilding its state from the stored events (%llu rows read); "
		       "try again shortly",
		       f->d->name, (unsigned long long)atomic_load(&f->backfilled));
}

int
lifecycle_entity(Lifecycle *lc, const char *flow, const char *key, Buf *out, Err *e)
{
	Flow *f = get_flow(lc, flow);
	if (f == NULL)
		return err_set(e, ERR_NOT_FOUND, "no flow %s", flow);
	int rc = check_ready(f, e);
	if (rc == 0)
		rc = lcanswer_entity(f->d, f->st, flow_now(f), key, out, e);
	flow_unref(f);
	return rc;
}

int
lifecycle_query(Lifecycle *lc, const char *flow, const char *what, LcArgFn arg, void *ctx,
		Buf *out, Err *e)
{
	Flow *f = get_flow(lc, flow);
	if (f == NULL)
		return err_set(e, ERR_NOT_FOUND, "no flow %s", flow);
	int rc = check_ready(f, e);
	if (rc == 0)
		rc = lcanswer_query(f->d, f->st, flow_now(f), what, arg, ctx, out, e);
	flow_unref(f);
	return rc;
}

/* ---- open / close ------------------------------------------------------------ */

static int
load_flows(Lifecycle *lc, Err *e)
{
	DIR *dir = opendir(lc->dir);
	if (dir == NULL)
		return err_set(e, ERR_IO, "opendir %s", lc->dir);
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		size_t n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0 || de->d_name[0] == '.')
			continue;
		char path[4400];
		snprintf(path, sizeof(path), "%s/%s", lc->dir, de->d_name);
		char *json;
		size_t len;
		Err le = {0};
		FlowDef *d;
		if (file_read_all(path, &json, &len, &le) != 0) {
			log_error("flows: %s", err_msg(&le));
			continue;
		}
		int rc = flowdef_parse(json, len, NULL, &d, &le);
		mem_free(json);
		if (rc) {
			log_error("flows: %s: %s", path, err_msg(&le));
			continue;
		}
		Flow *f;
		if (flow_new(d, &f, &le) != 0) {
			log_error("flows: %s: %s", path, err_msg(&le));
			continue;
		}
		if (flowdef_check(d, lc->cat, &le) != 0) {
			log_warn("flow %s: %s", d->name, err_msg(&le));
			set_error(f, err_msg(&le));
		}
		Flow *old = install(lc, f);
		flow_unref(old);
	}
	closedir(dir);
	return 0;
}

int
lifecycle_open(Catalog *cat, Lifecycle **out, Err *e)
{
	Lifecycle *lc = mem_calloc(1, sizeof(*lc));
	if (lc == NULL)
		return err_set(e, ERR_NOMEM, "life-cycle tracking");
	lc->cat = cat;
	snprintf(lc->dir, sizeof(lc->dir), "%s/flows", catalog_data_dir(cat));
	pthread_rwlock_init(&lc->mu, NULL);
	pthread_mutex_init(&lc->put_mu, NULL);
	int rc = file_mkdirs(lc->dir, e);
	if (rc == 0)
		rc = load_flows(lc, e);
	if (rc) {
		pthread_rwlock_destroy(&lc->mu);
		pthread_mutex_destroy(&lc->put_mu);
		mem_free(lc);
		return rc;
	}
	/* observer first, then the backfills: no row is missed */
	catalog_set_observer(cat, observe, lc);
	for (int i = 0; i < lc->nflows; i++) {
		Err be = {0};
		if (start_backfill(lc, lc->flows[i], &be) != 0)
			log_error("%s", err_msg(&be));
	}
	if (pthread_create(&lc->thread, NULL, bg_main, lc) != 0) {
		catalog_set_observer(cat, NULL, NULL);
		lifecycle_close(lc);	/* not reached in practice */
		return err_set(e, ERR_INTERNAL, "cannot start the life-cycle thread");
	}
	lcsql_register(cat, lc);
	*out = lc;
	return 0;
}

void
lifecycle_close(Lifecycle *lc)
{
	if (lc == NULL)
		return;
	lcsql_unregister(lc->cat);
	catalog_set_observer(lc->cat, NULL, NULL);
	atomic_store(&lc->stop, 1);
	if (lc->thread)
		pthread_join(lc->thread, NULL);
	for (int i = 0; i < lc->nflows; i++) {
		stop_backfill(lc->flows[i]);
		flow_unref(lc->flows[i]);
	}
	mem_free(lc->flows);
	pthread_rwlock_destroy(&lc->mu);
	pthread_mutex_destroy(&lc->put_mu);
	mem_free(lc);
}
