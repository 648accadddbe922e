/*
 * query.c -- the SQL entry points: query_exec (parse, bind, cache, run),
 * query_pinot_response (Pinot's broker-response JSON), query options and
 * server ceilings, and the virtual sys.tables.
 *
 * Flow of query_exec:
 *   plan cache lookup by (exact text, catalog, catalog version, implicit
 *   limit flag) -> on a miss: pgparse_parse -> table lookup (unquoted
 *   names case-insensitively; sys.X is the table "sys.X") -> bind_select
 *   -> pg_query_fingerprint, and the plan is cached -> effective limits
 *   (client options and SET statements, never above the ceilings) ->
 *   snapshot of the table (sys.tables: a temporary mutable segment built
 *   from catalog_tables) -> exec_run -> ResultSet.  The snapshot carries
 *   the schema its segments follow; if columns were added since the plan
 *   was bound (its columns differ), the query binds afresh (bypassing
 *   the cache) and runs once more.
 *
 * Plan cache: PLAN_CACHE_SIZE entries under one mutex, replaced round
 * robin; a plan is reference-counted so an entry can be replaced while a
 * query still runs it.  A catalog change (catalog_version) makes every
 * older entry stale.
 *
 * EXPLAIN prints the plan's operators and, for a table, what pruning
 * would do to the segments of its current snapshot (how many go and by
 * what: min/max, time range, dictionary, bloom filter, constant, empty)
 * and the access path of each WHERE conjunct in the segment files
 * (sorted / inverted / range index or scan), through prune.h.
 *
 * Upsert tables: a snapshot's segments carry validity bitmaps
 * (SnapSeg.valid) that exec.c honors; Pinot's skipUpsert (queryOptions
 * or a leading SET skipUpsert = true) makes every version visible, for
 * every table the statement reads (ExecLimits.skip_upsert).  Tests may
 * edit a copy of each snapshot's segment list (query_set_snap_hook) to
 * give segments bitmaps of their own.
 *
 * Ownership: the ResultSet and everything in it belong to the caller
 * (result_free).  Failures return the ERR_* code with Err filled; the
 * Pinot response turns them into exceptions with Pinot's error codes.
 *
 * Exports: query_set_ceilings, query_exec, result_free,
 * query_parse_options, query_pinot_response, query_set_snap_hook,
 * query_register_table_fn, query_result_new.
 */
#include "query/query.h"
#include "query/qlog.h"
#include "query/systab.h"
#include "query/pgcat.h"
#include "query/astcopy.h"
#include "base/clock.h"
#include "base/metric.h"
#include "base/mem.h"
#include "expr/expr.h"
#include "query/bind.h"
#include "query/exec.h"
#include "query/pgparse.h"
#include "query/prune.h"
#include "query/join.h"
#include "query/gsets.h"
#include "query/joinplan.h"
#include "query/lookup.h"
#include "query/winplan.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PLAN_CACHE_SIZE 256

static _Atomic int64_t ceil_timeout_ms = 10000;
static _Atomic size_t ceil_max_rows = 1000000;
static _Atomic size_t ceil_mem = (size_t)1 << 30;
static _Atomic size_t ceil_groups = 5000000;
static _Atomic uint64_t next_request_id = 1;

typedef struct CachedPlan {
	Plan *plan;
	_Atomic int refs;
	uint64_t fingerprint;
} CachedPlan;

typedef struct CacheEnt {
	char *text;
	uint64_t hash;
	const Catalog *cat;
	unsigned long version;
	int pinot_limit;
	CachedPlan *cp;
} CacheEnt;

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static CacheEnt cache[PLAN_CACHE_SIZE];
static int cache_next;

void
query_set_ceilings(int64_t timeout_ms, size_t max_rows, size_t mem_limit, size_t max_groups)
{
	atomic_store(&ceil_timeout_ms, timeout_ms);
	atomic_store(&ceil_max_rows, max_rows);
	atomic_store(&ceil_mem, mem_limit);
	atomic_store(&ceil_groups, max_groups);
}

static void
cp_release(CachedPlan *cp)
{
	if (cp != NULL && atomic_fetch_sub(&cp->refs, 1) == 1) {
		bind_free(cp->plan);
		mem_free(cp);
	}
}

static uint64_t
text_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static CachedPlan *
cache_get(const char *sql, const Catalog *cat, unsigned long ver, int pl)
{
	uint64_t h = text_hash(sql);
	CachedPlan *cp = NULL;
	pthread_mutex_lock(&cache_mu);
	for (int i = 0; i < PLAN_CACHE_SIZE; i++) {
		CacheEnt *c = &cache[i];
		if (c->cp && c->hash == h && c->cat == cat && c->version == ver && c->pinot_limit == pl &&
		    strcmp(c->text, sql) == 0) {
			cp = c->cp;
			atomic_fetch_add(&cp->refs, 1);
			break;
		}
	}
	pthread_mutex_unlock(&cache_mu);
	return cp;
}

static void
cache_put(const char *sql, const Catalog *cat, unsigned long ver, int pl, CachedPlan *cp)
{
	char *text = mem_strdup(sql);
	if (text == NULL)
		return;
	pthread_mutex_lock(&cache_mu);
	CacheEnt *c = &cache[cache_next];
	cache_next = (cache_next + 1) % PLAN_CACHE_SIZE;
	CachedPlan *old = c->cp;
	char *oldtext = c->text;
	c->text = text;
	c->hash = text_hash(sql);
	c->cat = cat;
	c->version = ver;
	c->pinot_limit = pl;
	c->cp = cp;
	atomic_fetch_add(&cp->refs, 1);
	pthread_mutex_unlock(&cache_mu);
	mem_free(oldtext);
	cp_release(old);
}

/* ---- binding against the catalog -------------------------------------- */

/* The session of the statement this thread runs (exec_statement sets it;
 * the catalog's virtual tables read it): NULL = "waybill". */
static _Thread_local const char *session_user;
static _Thread_local const char *session_db;

static Table *
find_table(Catalog *cat, const AstSelect *q, char *name, size_t cap)
{
	/* public is PostgreSQL's schema of Waybill's tables */
	if (q->schema && strcasecmp(q->schema, "public") != 0)
		snprintf(name, cap, "%s.%s", q->schema, q->table);
	else
		snprintf(name, cap, "%s", q->table);
	if (q->table_quoted)
		return catalog_get_table(cat, name);
	return catalog_get_table_ci(cat, name);
}

/* Looks up q's table (a system table, or the catalog's) and binds q
 * against it. */
static int
bind_ast(Catalog *cat, const AstSelect *q, Arena *a, int pl, Plan **out, Err *e)
{
	int rc = 0;
	Plan *plan = NULL;
	BindTable bt = {0};
	BindCol *cols = NULL;
	const SysTab *vt = NULL;
	Table *t = NULL;
	if (q->table != NULL) {
		if ((vt = systab_find(q->schema, q->table)) != NULL) {
			bt.name = arena_printf(a, "%s.%s", systab_schema(vt), systab_name(vt));
			bt.alias = q->from_alias;
			bt.ncols = systab_ncols(vt);
			bt.cols = systab_cols(vt);
		} else {
			char name[512];
			t = cat ? find_table(cat, q, name, sizeof(name)) : NULL;
			if (t == NULL) {
				rc = err_set(e, ERR_TABLE_MISSING, "Table '%s' does not exist at position %d", name,
					     q->table_pos);
				e->pos = q->table_pos;
				goto out;
			}
			const Schema *sc = table_schema(t);
			cols = mem_calloc((size_t)sc->nfields + 1, sizeof(BindCol));
			if (cols == NULL) {
				table_unref(t);
				rc = err_set(e, ERR_NOMEM, "out of memory");
				goto out;
			}
			for (int i = 0; i < sc->nfields; i++)
				cols[i] = (BindCol){sc->fields[i].name, sc->fields[i].type, !sc->fields[i].single_value};
			bt.name = table_name(t);
			bt.alias = q->from_alias;
			bt.ncols = sc->nfields;
			bt.cols = cols;
		}
	}
	rc = bind_select(q, q->table ? &bt : NULL, pl, &plan, e);
	if (rc == 0 && vt != NULL)
		plan->systables = systab_id(vt);
	if (rc == 0 && plan->table) {
		/* column names must outlive the table reference: copy them */
		BindCol *pc = arena_calloc(&plan->arena, sizeof(BindCol) * (size_t)(bt.ncols + 1));
		if (pc == NULL)
			rc = err_set(e, ERR_NOMEM, "out of memory");
		for (int i = 0; pc && i < bt.ncols; i++) {
			pc[i] = bt.cols[i];
			pc[i].name = arena_strdup(&plan->arena, bt.cols[i].name);
		}
		plan->tab.cols = pc;
		plan->tab.name = plan->table;
	}
out:
	mem_free(cols);
	if (t)
		table_unref(t);
	*out = rc == 0 ? plan : NULL;
	return rc;
}

static int srf_kind(const Ast *n);

#define NEEDS_DERIVED 2	/* plan_for: the statement reads a derived table */

typedef struct Derived {
	Arena a;		/* owns q */
	AstSelect *q;
} Derived;

static const char *pg_colname(const Ast *n);

/* PostgreSQL's names (FigureColname) for the unnamed items of the select
 * list a client sees: count(*) is "count", x::int is "x", 1 + 1 is
 * "?column?".  Column references and stars keep theirs. */
static void
pg_names(AstSelect *q)
{
	for (int i = 0; i < q->ntargets; i++) {
		AstTarget *t = &q->targets[i];
		if (t->alias == NULL && t->expr != NULL && t->expr->kind != AST_COLREF && t->expr->kind != AST_STAR)
			t->alias = pg_colname(t->expr);
	}
}

/* force: bind afresh even if the cache holds a plan (it was bound against
 * columns the table no longer has).  A statement reading a derived table
 * (FROM (SELECT ...), WITH) is not bound here: NEEDS_DERIVED, with the
 * parsed statement in *d (the caller frees d->a). */
static int
plan_for(Catalog *cat, const char *sql, int pl, int force, const QueryOpts *o, CachedPlan **out, Derived *d,
	 Err *e)
{
	unsigned long ver = cat ? catalog_version(cat) : 0;
	int key = pl | (o->pg_names ? 4 : 0);	/* the names are part of the plan */
	CachedPlan *cp = force ? NULL : cache_get(sql, cat, ver, key);
	if (cp != NULL) {
		*out = cp;
		return 0;
	}
	Arena a;
	arena_init(&a, 8192);
	AstSelect *q;
	int rc = pgparse_parse(sql, &a, &q, e);
	Plan *plan = NULL;
	if (rc != 0)
		goto done;
	if (o->pg_names && !q->explain)
		pg_names(q);
	int looked = 0, session = 0;
	if ((rc = lookup_rewrite(cat, q, &a, &looked, e)) != 0)
		goto done;
	if ((rc = pgcat_rewrite(cat, q, o, &a, &session, e)) != 0)
		goto done;
	for (int i = 0; i < q->ntargets; i++)
		session |= srf_kind(q->targets[i].expr) != 0;	/* run_srf */
	if (looked || session || q->from_sub != NULL || q->has_sublink || q->nbranch > 0 || q->ngsets > 0 || q->has_window ||
	    q->nfrom > 0) {
		/* a derived table or a subquery: bound once its rows exist
		 * (not cached) */
		d->a = a;
		d->q = q;
		return NEEDS_DERIVED;
	}
	rc = bind_ast(cat, q, &a, pl, &plan, e);
	if (rc != 0)
		goto done;
	cp = mem_calloc(1, sizeof(CachedPlan));
	if (cp == NULL) {
		bind_free(plan);
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto done;
	}
	cp->plan = plan;
	atomic_store(&cp->refs, 1);
	Err fe;
	err_clear(&fe);
	pgparse_fingerprint(sql, &cp->fingerprint, &fe);
	cache_put(sql, cat, ver, key, cp);
	*out = cp;
done:
	arena_free(&a);
	return rc;
}

static int64_t
clamp_i(int64_t want, int64_t ceil)
{
	if (want <= 0)
		return ceil;
	if (ceil > 0 && want > ceil)
		return ceil;
	return want;
}

static size_t
clamp_z(size_t want, size_t ceil)
{
	if (want == 0)
		return ceil;
	if (ceil > 0 && want > ceil)
		return ceil;
	return want;
}

static int plan_matches(const Plan *p, const Schema *sc);

static QuerySnapHook snap_hook;
static void *snap_hook_arg;

void
query_set_snap_hook(QuerySnapHook fn, void *arg)
{
	snap_hook = fn;
	snap_hook_arg = arg;
}

/* Takes t's snapshot into *snap; *view is what the query reads: snap
 * itself, or -- with a snapshot hook set (tests) -- a copy of it whose
 * segment list (allocated here) the hook has edited.  Release both with
 * snap_release. */
static int
snap_take(Table *t, TableSnap *snap, TableSnap *view, Err *e)
{
	int rc = table_snapshot(t, snap, e);
	if (rc != 0)
		return rc;
	*view = *snap;
	if (snap_hook == NULL)
		return 0;
	SnapSeg *segs = mem_alloc(sizeof(SnapSeg) * (size_t)(snap->nsegs + 1));
	if (segs == NULL) {
		table_snap_free(snap);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	if (snap->nsegs > 0)
		memcpy(segs, snap->segs, sizeof(SnapSeg) * (size_t)snap->nsegs);
	view->segs = segs;
	snap_hook(view, snap_hook_arg);
	return 0;
}

static void
snap_release(TableSnap *snap, TableSnap *view)
{
	if (view->segs != snap->segs)
		mem_free(view->segs);
	table_snap_free(snap);
}

/* EXPLAIN's segment lines: how many segments of the table's current
 * snapshot pruning drops and why (an upsert segment without a valid row
 * counts as empty unless skip_upsert), and the access path of each WHERE
 * conjunct. */
static void
explain_segments(Catalog *c, const Plan *p, int ignore_nulls, int skip_upsert, Buf *b)
{
	Table *t = c && p->table && !p->systables ? catalog_get_table(c, p->table) : NULL;
	if (t == NULL)
		return;
	TableSnap snap, view;
	Err e;
	err_clear(&e);
	if (snap_take(t, &snap, &view, &e) != 0) {
		table_unref(t);
		return;
	}
	skip_upsert |= p->set_skip_upsert > 0;
	if (plan_matches(p, view.schema)) {
		int cnt[PRUNE_NWHY] = {0}, files = 0;
		for (int s = 0; s < view.nsegs; s++) {
			const SnapSeg *ss = &view.segs[s];
			PruneWhy w = PRUNE_KEEP;
			files += ss->file != NULL;
			if (!skip_upsert && ss->valid && ss->nvalid == 0 && ss->rows > 0)
				w = PRUNE_EMPTY;
			else if (prune_segment(p, ss, ignore_nulls, &w, &e) != 0)
				w = PRUNE_KEEP;
			cnt[w]++;
		}
		buf_printf(b, "  SEGMENTS %d (%d sealed, %d mutable): %d to scan", view.nsegs, files,
			   view.nsegs - files, cnt[PRUNE_KEEP]);
		for (int w = PRUNE_KEEP + 1; w < PRUNE_NWHY; w++)
			if (cnt[w])
				buf_printf(b, ", %d pruned by %s", cnt[w], prune_why_name((PruneWhy)w));
		buf_putc(b, '\n');
		prune_explain(p, &view, "  ", b);
	}
	snap_release(&snap, &view);
	table_unref(t);
}

/* The plan of one bound statement as text lines (each ends in '\n'). */
static void
explain_text(Catalog *c, const Plan *p, int ignore_nulls, int skip_upsert, Buf *b)
{
	buf_printf(b, "SCAN %s (%d columns read)\n", p->table ? p->table : "(no table)", p->nout);
	explain_segments(c, p, ignore_nulls, skip_upsert, b);
	if (p->where)
		buf_printf(b, "FILTER (vectorized, %d column(s))\n", p->nfilter_cols);
	if (p->is_agg)
		buf_printf(b, "AGGREGATE keys=%d aggregates=%d%s\n", p->ngroup, p->nagg, p->having ? " HAVING" : "");
	if (p->norder)
		buf_printf(b, "SORT keys=%d\n", p->norder);
	if (p->limit >= 0 || p->offset > 0)
		buf_printf(b, "LIMIT %lld OFFSET %lld\n", (long long)p->limit, (long long)p->offset);
	buf_printf(b, "PROJECT %d column(s)\n", p->nout);
}

/* A one-column result "QUERY PLAN" of b's lines. */
static int
plan_result(Buf *b, ResultSet *rs, Err *e)
{
	if (b->oom)
		return err_set(e, ERR_NOMEM, "out of memory");
	int lines = 0;
	for (size_t i = 0; i < b->len; i++)
		lines += b->p[i] == '\n';
	rs->ncols = 1;
	rs->cols = arena_calloc(&rs->arena, sizeof(ResultCol));
	rs->rows = arena_calloc(&rs->arena, sizeof(Value) * (size_t)lines + 1);
	char *text = b->p ? arena_strndup(&rs->arena, b->p, b->len) : NULL;
	if (rs->cols == NULL || rs->rows == NULL || text == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	rs->cols[0] = (ResultCol){"QUERY PLAN", TYPE_STRING, 0};
	char *line = text;
	for (int i = 0; i < lines; i++) {
		char *nl = strchr(line, '\n');
		*nl = '\0';
		rs->rows[i] = value_str(TYPE_STRING, line, (uint32_t)(nl - line));
		line = nl + 1;
	}
	rs->nrows = (size_t)lines;
	return 0;
}

static int
explain(Catalog *c, const Plan *p, const ExecLimits *lim, ResultSet *rs, Err *e)
{
	Buf b;
	buf_init(&b);
	explain_text(c, p, lim->ignore_nulls, lim->skip_upsert, &b);
	int rc = plan_result(&b, rs, e);
	buf_free(&b);
	return rc;
}

/* 1 if plan p was bound against exactly the columns of sc. */
static int
plan_matches(const Plan *p, const Schema *sc)
{
	if (sc == NULL || p->tab.ncols != sc->nfields)
		return 0;
	for (int i = 0; i < sc->nfields; i++) {
		const BindCol *bc = &p->tab.cols[i];
		if (strcmp(bc->name, sc->fields[i].name) != 0 || bc->type != sc->fields[i].type ||
		    bc->mv != !sc->fields[i].single_value)
			return 0;
	}
	return 1;
}

#define STALE_PLAN 1	/* run_table: the plan's columns are not the snapshot's */

/* Runs p over a snapshot of its table; STALE_PLAN (nothing run) when
 * the snapshot's schema is not the one p was bound with. */
static int
run_table(Catalog *c, const Plan *p, const ExecLimits *lim, ResultSet *rs, Err *e)
{
	Table *t = catalog_get_table(c, p->table);
	if (t == NULL)
		return err_set(e, ERR_TABLE_MISSING, "Table '%s' does not exist", p->table);
	TableSnap snap, view;
	int rc = snap_take(t, &snap, &view, e);
	if (rc == 0) {
		if (lim->describe_only) {
			/* the columns, none of the rows */
			view.nsegs = 0;
			view.total_rows = 0;
		}
		rc = plan_matches(p, view.schema) ? exec_run(p, &view, lim, rs, e) : STALE_PLAN;
		snap_release(&snap, &view);
	}
	table_unref(t);
	return rc;
}

static int64_t clamp_i(int64_t want, int64_t ceil);
static size_t clamp_z(size_t want, size_t ceil);

/* Effective limits: the client's options and the statement's SET ones
 * (p may be NULL), never above the server's ceilings. */
static ExecLimits
limits_of(const Plan *p, const QueryOpts *o)
{
	ExecLimits lim;
	int64_t t = p && p->set_timeout_ms > 0 ? p->set_timeout_ms : o->timeout_ms;
	size_t r = p && p->set_max_rows > 0 ? (size_t)p->set_max_rows : o->max_rows;
	lim.timeout_ms = clamp_i(t, atomic_load(&ceil_timeout_ms));
	lim.max_rows = clamp_z(r, atomic_load(&ceil_max_rows));
	lim.mem_limit = clamp_z(o->mem_limit, atomic_load(&ceil_mem));
	size_t g = p && p->set_max_groups > 0 ? (size_t)p->set_max_groups : o->max_groups;
	lim.max_groups = clamp_z(g, atomic_load(&ceil_groups));
	lim.ignore_nulls = o->no_null_handling;
	lim.skip_upsert = o->skip_upsert || (p && p->set_skip_upsert > 0);
	lim.cancel = o->cancel;
	lim.describe_only = o->describe_only;
	return lim;
}

/* A statement with derived tables is not bound as a whole: its leading
 * SET skipUpsert is read here (as bind.c reads SET options: a string
 * "true" or a non-zero number), so every table it reads sees it. */
static int
set_skip_upsert(const AstSelect *q)
{
	int on = 0;
	for (int i = 0; i < q->noptions; i++) {
		const AstOption *o = &q->options[i];
		if (strcasecmp(o->name, "skipupsert") != 0 || o->val.null)
			continue;
		if (type_is_integer((WbType)o->val.type))
			on = o->val.u.i != 0;
		else if (type_is_var((WbType)o->val.type))
			on = (o->val.n == 4 && strncasecmp(o->val.u.s, "true", 4) == 0) ||
			     atoll(o->val.u.s) != 0;
	}
	return on;
}

/* Runs a bound plan over its table, a system table, or no table. */
static int
run_plan(Catalog *c, const Plan *p, const ExecLimits *lim, ResultSet *rs, Err *e)
{
	if (p->explain)
		return explain(c, p, lim, rs, e);
	if (p->table == NULL)
		return exec_run(p, NULL, lim, rs, e);
	if (p->systables) {
		MutSeg *s = NULL;
		int rc = systab_build(systab_get(p->systables), c, session_user, session_db, &s, e);
		if (rc == 0) {
			SnapSeg seg = {s, mutseg_rows(s), 0};
			TableSnap snap = {NULL, 1, &seg, seg.rows};
			rc = exec_run(p, &snap, lim, rs, e);
			mutseg_free(s);
		}
		return rc;
	}
	int rc = run_table(c, p, lim, rs, e);
	if (rc == STALE_PLAN)
		rc = err_set(e, ERR_BUSY, "the schema of table %s changed during the query; retry", p->table);
	return rc;
}

/* Runs q (parsed, not cached), whose FROM may be a derived table: the
 * inner statement runs first (depth-first), its rows become a temporary
 * mutable segment, and q is bound against its columns (named by the
 * inner select list) under the derived table's alias.  A derived table
 * is materialized within the statement's memory budget. */
static int run_ast(Catalog *c, AstSelect *q, int pl, const ExecLimits *lim, int depth, Arena *a,
		   ResultSet *rs, Err *e);
static int run_ast_resolved(Catalog *c, AstSelect *q, int pl, const ExecLimits *lim, int depth,
			    Arena *sa, ResultSet *rs, Err *e);

/* Replaces the subqueries in expression n (and below) by constants: x IN
 * (SELECT ...) by x IN (v1, v2, ...) -- FALSE when the subquery has no
 * row --, EXISTS (...) by TRUE/FALSE, a scalar subquery by its one value
 * (NULL without rows; more than one row is an error).  Subqueries are
 * uncorrelated: a reference to an outer column fails to bind inside. */
static ResultSet *
new_result(Err *e)
{
	ResultSet *r = mem_calloc(1, sizeof(ResultSet));
	if (r == NULL) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	arena_init(&r->arena, 16 * 1024);
	return r;
}

/* Runs a statement inside another (a subquery, derived table, join
 * input, UNION branch, window input) into *out (the caller frees it, also
 * on failure): Pinot's dialect without its implicit LIMIT when pl is set,
 * no cut at the row ceiling -- more rows than that is ERR_TOO_LARGE
 * naming `what`. */
static int
run_inner(Catalog *c, AstSelect *q, int pl, const ExecLimits *lim, int depth, Arena *a, const char *what,
	  ResultSet **out, Err *e)
{
	if ((*out = new_result(e)) == NULL)
		return ERR_NOMEM;
	ExecLimits il = *lim;
	il.max_rows = 0;
	int rc = run_ast(c, q, pl ? 2 : 0, &il, depth + 1, a, *out, e);
	if (rc == 0 && (*out)->partial)
		rc = err_set(e, ERR_TOO_LARGE, "%s has more rows than the server's row ceiling", what);
	return rc;
}

/* ---- correlated EXISTS ---------------------------------------------------- */

typedef struct Scope {
	const AstSelect *sub;
	const char *const *cols;
	int ncols;
} Scope;

/* 1 if colref n names a column of the subquery's table, 0 if it must be
 * the outer statement's. */
static int
inner_ref(const Scope *s, const Ast *n)
{
	if (n->qual != NULL) {
		/* an alias hides the table's own name */
		const char *tn = s->sub->from_alias ? s->sub->from_alias : s->sub->table;
		if (strcasecmp(n->qual, tn) != 0)
			return 0;
	}
	for (int i = 0; i < s->ncols; i++)
		if (n->quoted ? strcmp(s->cols[i], n->name) == 0 : strcasecmp(s->cols[i], n->name) == 0)
			return 1;
	return n->qual != NULL;	/* t.nosuch: the binder reports it */
}

/* Counts n's inner and outer column references. */
static void
refs(const Scope *s, const Ast *n, int *in, int *out)
{
	if (n == NULL)
		return;
	if (n->kind == AST_COLREF)
		*(inner_ref(s, n) ? in : out) += 1;
	if (n->kind == AST_SUBLINK)
		*out += 1;	/* nested subqueries: leave alone */
	for (int i = 0; i < n->nargs; i++)
		refs(s, n->args[i], in, out);
	refs(s, n->filter, in, out);
}

static void
and_list(Ast *n, Ast **v, int *nv, int cap)
{
	if (n != NULL && n->kind == AST_AND) {
		for (int i = 0; i < n->nargs; i++)
			and_list(n->args[i], v, nv, cap);
	} else if (n != NULL && *nv < cap) {
		v[(*nv)++] = n;
	} else if (n != NULL) {
		(*nv)++;
	}
}

static Ast *
mk_node(Arena *a, AstKind k, int pos, int nargs)
{
	Ast *n = arena_calloc(a, sizeof(Ast));
	if (n && nargs && (n->args = arena_calloc(a, sizeof(Ast *) * (size_t)nargs)) == NULL)
		return NULL;
	if (n) {
		n->kind = k;
		n->pos = pos;
		n->nargs = nargs;
	}
	return n;
}

/*
 * EXISTS (SELECT ... FROM s WHERE s.k = o.k AND <conditions on s>), with
 * o the outer statement: rewritten into
 *   o.k IS NOT NULL AND o.k IN (SELECT DISTINCT s.k FROM s WHERE
 *                               <conditions on s> AND s.k IS NOT NULL)
 * which is true and false exactly where EXISTS is (never NULL), so NOT
 * EXISTS works too.  One correlating equality over one table; other
 * shapes run once per outer row (run_correlated).  1 when n was
 * rewritten; with dry set, 1 when it would be (n is left as it is).
 */
static int
decorrelate_exists(Catalog *c, Ast *n, int dry, Arena *a, Err *e)
{
	const AstSelect *sub = n->sub;
	if (sub->table == NULL || sub->nfrom || sub->from_sub || sub->nbranch || sub->ngroup || sub->having ||
	    sub->ngsets || sub->has_window || sub->where == NULL || sub->schema)
		return 0;
	char name[512];
	Table *t = c ? find_table(c, sub, name, sizeof(name)) : NULL;
	if (t == NULL)
		return 0;
	const Schema *sc = table_schema(t);
	const char **cols = arena_calloc(a, sizeof(char *) * (size_t)(sc->nfields + 1));
	for (int i = 0; cols && i < sc->nfields; i++)
		cols[i] = arena_strdup(a, sc->fields[i].name);
	Scope s = {sub, cols, sc->nfields};
	table_unref(t);
	if (cols == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	Ast *cj[64];
	int ncj = 0, corr = -1;
	Ast *inner = NULL, *outer = NULL;
	and_list(sub->where, cj, &ncj, 64);
	if (ncj > 64)
		return 0;
	for (int i = 0; i < ncj; i++) {
		int in = 0, out = 0;
		refs(&s, cj[i], &in, &out);
		if (out == 0)
			continue;
		if (corr >= 0 || cj[i]->kind != AST_OP || cj[i]->nargs != 2 || strcmp(cj[i]->name, "=") != 0)
			return 0;
		int i0 = 0, o0 = 0, i1 = 0, o1 = 0;
		refs(&s, cj[i]->args[0], &i0, &o0);
		refs(&s, cj[i]->args[1], &i1, &o1);
		if (i0 > 0 && o0 == 0 && o1 > 0 && i1 == 0) {
			inner = cj[i]->args[0];
			outer = cj[i]->args[1];
		} else if (i1 > 0 && o1 == 0 && o0 > 0 && i0 == 0) {
			inner = cj[i]->args[1];
			outer = cj[i]->args[0];
		} else {
			return 0;
		}
		corr = i;
	}
	if (corr < 0)
		return 0;	/* not correlated */
	if (dry)
		return 1;
	AstSelect *ns = arena_alloc(a, sizeof(AstSelect));
	AstTarget *tg = arena_calloc(a, sizeof(AstTarget));
	Ast *nn = mk_node(a, AST_NULLTEST, n->pos, 1), *on = mk_node(a, AST_NULLTEST, n->pos, 1);
	Ast *in = mk_node(a, AST_SUBLINK, n->pos, 1);
	Ast **args = arena_calloc(a, sizeof(Ast *) * 2);
	if (ns == NULL || tg == NULL || nn == NULL || on == NULL || in == NULL || args == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	*ns = *sub;
	ns->distinct = 1;
	ns->ntargets = 1;
	ns->targets = tg;
	tg->expr = inner;
	tg->pos = inner->pos;
	ns->limit = ns->offset = NULL;
	ns->norder = 0;
	nn->neg = 1;
	nn->args[0] = inner;
	Ast *w = nn;
	for (int i = 0; i < ncj; i++) {
		if (i == corr)
			continue;
		Ast *x = mk_node(a, AST_AND, n->pos, 2);
		if (x == NULL)
			return err_set(e, ERR_NOMEM, "out of memory");
		x->args[0] = cj[i];
		x->args[1] = w;
		w = x;
	}
	ns->where = w;
	in->args[0] = outer;
	in->sub = ns;
	on->neg = 1;
	on->args[0] = outer;
	args[0] = on;
	args[1] = in;
	n->kind = AST_AND;
	n->nargs = 2;
	n->args = args;
	n->sub = NULL;
	n->ilike = 0;
	return 1;
}

static int
resolve_sublinks(Catalog *c, Ast *n, Arena *a, const ExecLimits *lim, int depth, Err *e)
{
	if (n == NULL)
		return 0;
	for (int i = 0; i < n->nargs; i++) {
		int rc = resolve_sublinks(c, n->args[i], a, lim, depth, e);
		if (rc != 0)
			return rc;
	}
	if (n->filter) {
		int rc = resolve_sublinks(c, n->filter, a, lim, depth, e);
		if (rc != 0)
			return rc;
	}
	if (n->kind != AST_SUBLINK)
		return 0;
	if (n->nargs == 0 && n->ilike) {
		int d = decorrelate_exists(c, n, 0, a, e);
		if (d < 0)
			return d;
		if (d == 1)
			return resolve_sublinks(c, n, a, lim, depth, e);
	}
	ResultSet *in;
	char what[64];
	snprintf(what, sizeof(what), "the subquery at position %d", n->pos);
	int rc = run_inner(c, n->sub, 0, lim, depth, a, what, &in, e);
	int exists = n->nargs == 0 && n->ilike;
	if (rc == 0 && !exists && in->ncols != 1)
		rc = err_set(e, ERR_SQL_PARSE, "subquery at position %d must return only one column", n->pos);
	if (rc == 0 && n->nargs == 0 && !exists && in->nrows > 1)
		rc = err_set(e, ERR_INVALID, "more than one row returned by a subquery used as an expression (position %d)",
			     n->pos);
	if (rc != 0) {
		if (e->pos == 0)
			e->pos = n->pos;
		result_free(in);
		return rc;
	}
	if (exists || (n->nargs == 1 && in->nrows == 0)) {
		/* EXISTS, or IN over no row (false even for a NULL left side) */
		n->kind = AST_CONST;
		n->val = value_int(TYPE_BOOLEAN, exists ? in->nrows > 0 : 0);
		n->nargs = 0;
	} else if (n->nargs == 0) {
		n->kind = AST_CONST;
		n->val = in->nrows ? in->rows[0] : value_null(in->cols[0].type);
		if (n->val.mv)
			rc = err_set(e, ERR_UNSUPPORTED, "a multi-value scalar subquery (position %d)", n->pos);
		else if (!n->val.null && (rc = value_copy(&n->val, &in->rows[0], a)) != 0)
			rc = err_set(e, ERR_NOMEM, "out of memory");
	} else {
		Ast **args = arena_alloc(a, sizeof(Ast *) * (in->nrows + 1));
		Ast *consts = arena_calloc(a, sizeof(Ast) * in->nrows);
		if (args == NULL || consts == NULL)
			rc = err_set(e, ERR_NOMEM, "out of memory");
		for (size_t r = 0; rc == 0 && r < in->nrows; r++) {
			Ast *k = &consts[r];
			k->kind = AST_CONST;
			k->pos = n->pos;
			k->val = in->rows[r];
			if (k->val.mv)
				rc = err_set(e, ERR_UNSUPPORTED, "IN over a multi-value subquery column (position %d)",
					     n->pos);
			else if (!k->val.null && value_copy(&k->val, &in->rows[r], a) != 0)
				rc = err_set(e, ERR_NOMEM, "out of memory");
			args[r + 1] = k;
		}
		if (rc == 0) {
			args[0] = n->args[0];
			n->kind = AST_IN;
			n->args = args;
			n->nargs = (int)in->nrows + 1;
		}
	}
	n->sub = NULL;
	result_free(in);
	return rc;
}

/* Every subquery in q's own expressions (not in its derived table, which
 * resolves its own when it runs). */
static int
resolve_select(Catalog *c, AstSelect *q, Arena *a, const ExecLimits *lim, int depth, Err *e)
{
	int rc = 0;
	if (!q->has_sublink)
		return 0;
	for (int i = 0; rc == 0 && i < q->ntargets; i++)
		rc = resolve_sublinks(c, q->targets[i].expr, a, lim, depth, e);
	if (rc == 0)
		rc = resolve_sublinks(c, q->where, a, lim, depth, e);
	for (int i = 0; rc == 0 && i < q->ngroup; i++)
		rc = resolve_sublinks(c, q->group[i], a, lim, depth, e);
	if (rc == 0)
		rc = resolve_sublinks(c, q->having, a, lim, depth, e);
	for (int i = 0; rc == 0 && i < q->norder; i++)
		rc = resolve_sublinks(c, q->order[i].expr, a, lim, depth, e);
	for (int i = 0; rc == 0 && i < q->nfrom; i++)
		rc = resolve_sublinks(c, q->from[i].on, a, lim, depth, e);
	if (rc == 0)
		q->has_sublink = 0;
	return rc;
}

static int derive(const AstSelect *q, const char *alias, ResultSet **ins, int nin, int pl,
		  const ExecLimits *lim, ResultSet *rs, Err *e);

/* A statement with window functions: the statement without them runs
 * first (winplan.h), the functions are computed over its rows, and the
 * rest (DISTINCT, ORDER BY, LIMIT) runs over those as a derived table. */
static int
run_windowed(Catalog *c, AstSelect *q, int pl, const ExecLimits *lim, int depth, Arena *a, ResultSet *rs,
	     Err *e)
{
	WinPlan wp;
	int rc = winplan_split(q, a, &wp, e);
	if (rc != 0)
		return rc;
	ResultSet *in, *x = NULL;
	rc = run_inner(c, wp.inner, pl, lim, depth, a, "the statement under the window functions", &in, e);
	if (rc == 0)
		rc = winplan_apply(&wp, in, a, &x, e);
	if (rc == 0)
		rc = derive(&wp.outer, "window", &x, 1, pl, lim, rs, e);
	result_free(x);
	result_free(in);
	return rc;
}

/* ---- correlated subqueries ------------------------------------------------
 *
 * A scalar or EXISTS subquery that names columns of the statement around
 * it (PostgreSQL's catalog queries do: psql's \d, SQLAlchemy's
 * get_columns) runs once per row of that statement ("apply"):
 *   1. Q0, the statement's FROM and the WHERE conditions without such
 *      subqueries, selects every column the statement and the subqueries
 *      name (__c0, __c1, ...);
 *   2. for each of its rows, each correlated subquery runs on a fresh
 *      copy of itself with the outer columns replaced by the row's
 *      values (__s0, __s1, ...);
 *   3. the statement runs over those rows as over a derived table, its
 *      column references renamed __cN and the subqueries replaced by
 *      __sK (the remaining WHERE conditions, GROUP BY, ORDER BY, LIMIT
 *      apply there).
 * Outer references are found by name: a qualified one whose qualifier is
 * none of the subquery's FROM items, an unqualified one that no FROM
 * item's columns have.  At most APPLY_MAX_ROWS outer rows. */

static int item_columns(Catalog *c, const AstFrom *f, Arena *a, JoinInput *in, Err *e);

#define APPLY_MAX_ROWS 100000
#define APPLY_MAX_REFS 256
#define APPLY_MAX_SUBS 64

typedef struct SItem {
	const char *alias;
	const char *const *cols;
	int ncols;
	int open;		/* columns unknown: any unqualified name matches */
} SItem;

typedef struct SScope {
	SItem items[65];
	int n;
	const struct SScope *up;
} SScope;

typedef struct Ref {
	const char *qual;
	const char *name;
	int quoted;
} Ref;

typedef struct Apply {
	Catalog *c;
	Arena *a;
	Err *e;
	Ref refs[APPLY_MAX_REFS];	/* every column the statement reads */
	int nrefs;
	Ast *subs[APPLY_MAX_SUBS];	/* correlated subqueries (in q1) */
	int nsubs;
	const Value *row;		/* substitution: the Q0 row */
	int overflow;
	int ex_all;		/* take every correlated EXISTS, also those
				 * decorrelate_exists could rewrite */
} Apply;

static void
scope_cols_of_select(const AstSelect *s, SItem *it, Arena *a)
{
	const char **cols = arena_calloc(a, sizeof(char *) * (size_t)(s->ntargets + 1));
	for (int i = 0; cols && i < s->ntargets; i++) {
		const AstTarget *t = &s->targets[i];
		if (t->expr->kind == AST_STAR || s->nbranch > 0)
			it->open = 1;
		else if (t->alias)
			cols[it->ncols++] = t->alias;
		else if (t->expr->kind == AST_COLREF)
			cols[it->ncols++] = t->expr->name;
	}
	it->cols = cols;
	if (s->nbranch > 0 || cols == NULL)
		it->open = 1;
}

static void
scope_table(Catalog *c, const char *table, const char *schema, int quoted, SItem *it, Arena *a)
{
	AstFrom f = {0};
	f.table = table;
	f.schema = schema;
	f.table_quoted = quoted;
	JoinInput in;
	Err e;
	err_clear(&e);
	if (item_columns(c, &f, a, &in, &e) != 0) {
		it->open = 1;
		return;
	}
	it->cols = in.names;
	it->ncols = in.ncols;
}

/* The FROM items of s. */
static void
scope_of(Catalog *c, const AstSelect *s, Arena *a, SScope *sc)
{
	sc->n = 0;
	if (s->table != NULL) {
		SItem *it = &sc->items[sc->n++];
		memset(it, 0, sizeof(*it));
		it->alias = s->from_alias ? s->from_alias : s->table;
		scope_table(c, s->table, s->schema, s->table_quoted, it, a);
	} else if (s->from_sub != NULL) {
		SItem *it = &sc->items[sc->n++];
		memset(it, 0, sizeof(*it));
		it->alias = s->from_alias;
		scope_cols_of_select(s->from_sub, it, a);
	}
	for (int i = 0; i < s->nfrom && sc->n < 64; i++) {
		const AstFrom *f = &s->from[i];
		SItem *it = &sc->items[sc->n++];
		memset(it, 0, sizeof(*it));
		it->alias = f->alias;
		if (f->sub != NULL)
			scope_cols_of_select(f->sub, it, a);
		else
			scope_table(c, f->table, f->schema, f->table_quoted, it, a);
	}
	/* its own select-list aliases (ORDER BY / HAVING name them) */
	const char **al = arena_calloc(a, sizeof(char *) * (size_t)(s->ntargets + 1));
	if (al != NULL) {
		SItem *it = &sc->items[sc->n++];
		memset(it, 0, sizeof(*it));
		for (int i = 0; i < s->ntargets; i++)
			if (s->targets[i].alias)
				al[it->ncols++] = s->targets[i].alias;
		it->cols = al;
	}
}

/* 1 when colref n is one of the scope chain's columns. */
static int
scope_has(const SScope *sc, const Ast *n)
{
	for (; sc != NULL; sc = sc->up)
		for (int i = 0; i < sc->n; i++) {
			const SItem *it = &sc->items[i];
			if (n->qual != NULL) {
				if (it->alias && strcasecmp(it->alias, n->qual) == 0)
					return 1;
				continue;
			}
			if (it->open)
				return 1;
			for (int k = 0; k < it->ncols; k++)
				if (n->quoted ? strcmp(it->cols[k], n->name) == 0 : strcasecmp(it->cols[k], n->name) == 0)
					return 1;
		}
	return 0;
}

static int
ref_find(const Apply *ap, const Ast *n)
{
	for (int i = 0; i < ap->nrefs; i++) {
		const Ref *r = &ap->refs[i];
		if ((r->qual == NULL) != (n->qual == NULL))
			continue;
		if (r->qual && strcasecmp(r->qual, n->qual) != 0)
			continue;
		if (r->quoted || n->quoted ? strcmp(r->name, n->name) == 0 : strcasecmp(r->name, n->name) == 0)
			return i;
	}
	return -1;
}

static int
ref_add(Apply *ap, const Ast *n)
{
	int i = ref_find(ap, n);
	if (i >= 0)
		return i;
	if (ap->nrefs >= APPLY_MAX_REFS) {
		ap->overflow = 1;
		return -1;
	}
	ap->refs[ap->nrefs] = (Ref){n->qual, n->name, n->quoted};
	return ap->nrefs++;
}

/* Inside subquery s (scope chain sc): mode 0 counts outer references
 * (into *nout, adding them to ap->refs); mode 1 replaces them by the
 * values of ap->row. */
static void outer_refs_sel(Apply *ap, AstSelect *s, const SScope *up, int mode, int *nout);

static void
outer_refs(Apply *ap, Ast *n, const SScope *sc, int mode, int *nout)
{
	if (n == NULL)
		return;
	if (n->kind == AST_COLREF && !scope_has(sc, n)) {
		(*nout)++;
		if (mode == 0) {
			ref_add(ap, n);
		} else {
			int i = ref_find(ap, n);
			if (i >= 0) {
				Value v = ap->row[i];
				n->kind = AST_CONST;
				n->val = v.mv ? value_null((WbType)v.type) : v;
				n->qual = NULL;
			}
		}
		return;
	}
	for (int i = 0; i < n->nargs; i++)
		outer_refs(ap, n->args[i], sc, mode, nout);
	outer_refs(ap, n->filter, sc, mode, nout);
	if (n->sub != NULL)
		outer_refs_sel(ap, n->sub, sc, mode, nout);
}

static void
outer_refs_sel(Apply *ap, AstSelect *s, const SScope *up, int mode, int *nout)
{
	SScope *sc = arena_calloc(ap->a, sizeof(SScope));
	if (sc == NULL) {
		ap->overflow = 1;
		return;
	}
	scope_of(ap->c, s, ap->a, sc);
	sc->up = up;
	for (int i = 0; i < s->nbranch; i++)
		outer_refs_sel(ap, s->branches[i], up, mode, nout);
	for (int i = 0; i < s->ntargets; i++)
		outer_refs(ap, s->targets[i].expr, sc, mode, nout);
	outer_refs(ap, s->where, sc, mode, nout);
	outer_refs(ap, s->having, sc, mode, nout);
	for (int i = 0; i < s->ngroup; i++)
		outer_refs(ap, s->group[i], sc, mode, nout);
	for (int i = 0; i < s->norder; i++)
		outer_refs(ap, s->order[i].expr, sc, mode, nout);
	for (int i = 0; i < s->nfrom; i++) {
		outer_refs(ap, s->from[i].on, sc, mode, nout);
		outer_refs(ap, s->from[i].fcall, up, mode, nout);
	}
}

/* 1 when subquery node n (AST_SUBLINK) names outer columns. */
static int
correlated(Apply *ap, Ast *n)
{
	int nout = 0;
	int saved = ap->nrefs;
	outer_refs_sel(ap, n->sub, NULL, 0, &nout);
	if (nout == 0)
		ap->nrefs = saved;
	return nout > 0;
}

static int
is_alias(const AstSelect *q, const Ast *n)
{
	if (n->qual != NULL)
		return 0;
	for (int i = 0; i < q->ntargets; i++)
		if (q->targets[i].alias && strcasecmp(q->targets[i].alias, n->name) == 0)
			return 1;
	return 0;
}

/* The statement's own expression n: mode 0 collects its column
 * references and correlated subqueries; mode 1 renames them (__cN,
 * __sK).  Output aliases (ORDER BY name) are left alone when
 * alias_ok. */
static void
own_refs(Apply *ap, const AstSelect *q, Ast *n, int alias_ok, int mode)
{
	if (n == NULL)
		return;
	if (n->kind == AST_COLREF) {
		if (alias_ok && is_alias(q, n))
			return;
		if (mode == 0) {
			ref_add(ap, n);
		} else {
			int i = ref_find(ap, n);
			n->name = arena_printf(ap->a, "__c%d", i);
			n->qual = NULL;
			n->quoted = 0;
		}
		return;
	}
	if (n->kind == AST_SUBLINK && n->nargs == 0) {
		/* scalar, ARRAY and EXISTS subqueries; a correlated EXISTS of
		 * one equality is decorrelated by resolve_sublinks instead,
		 * unless it must run here (ex_all: the expression holding it
		 * runs over the apply rows, where the outer names are gone) */
		if (mode == 0) {
			for (int k = 0; k < ap->nsubs; k++)
				if (ap->subs[k] == n)
					return;
			int saved = ap->nrefs, take;
			if (n->ilike == 1)
				take = correlated(ap, n) &&
				       (ap->ex_all || decorrelate_exists(ap->c, n, 1, ap->a, ap->e) != 1);
			else	/* ARRAY (sub) always runs here, correlated or not */
				take = correlated(ap, n) || n->array;
			if (!take) {
				ap->nrefs = saved;
			} else if (ap->nsubs >= APPLY_MAX_SUBS) {
				ap->overflow = 1;
			} else {
				ap->subs[ap->nsubs++] = n;
			}
			return;
		}
		for (int k = 0; k < ap->nsubs; k++)
			if (ap->subs[k] == n) {
				n->kind = AST_COLREF;
				n->name = arena_printf(ap->a, "__s%d", k);
				n->qual = NULL;
				n->quoted = 0;
				n->sub = NULL;
				n->ilike = 0;
				return;
			}
		return;
	}
	for (int i = 0; i < n->nargs; i++)
		own_refs(ap, q, n->args[i], alias_ok, mode);
	own_refs(ap, q, n->filter, alias_ok, mode);
	if (n->over != NULL) {
		for (int i = 0; i < n->over->npart; i++)
			own_refs(ap, q, n->over->part[i], alias_ok, mode);
		for (int i = 0; i < n->over->norder; i++)
			own_refs(ap, q, n->over->order[i].expr, alias_ok, mode);
	}
}

/* 1 when n holds one of ap's subqueries (before they are marked). */
static int
holds_sub(const Apply *ap, const Ast *n)
{
	if (n == NULL)
		return 0;
	for (int k = 0; k < ap->nsubs; k++)
		if (ap->subs[k] == n)
			return 1;
	for (int i = 0; i < n->nargs; i++)
		if (holds_sub(ap, n->args[i]))
			return 1;
	return holds_sub(ap, n->filter);
}

/* 1 when n holds one of the correlated subqueries found in q1 (by
 * position: q0 is a copy of q1 made before the walk). */
static int
has_csub(const Ast *n)
{
	if (n == NULL)
		return 0;
	if (n->kind == AST_SUBLINK && n->nargs == 0 && (n->ilike == 2 || n->ilike == 3))
		return 1;	/* 3: an EXISTS */
	for (int i = 0; i < n->nargs; i++)
		if (has_csub(n->args[i]))
			return 1;
	return has_csub(n->filter);
}

/* PostgreSQL's name of an unaliased select item (FigureColname). */
static const char *
pg_colname(const Ast *n)
{
	while (n->kind == AST_CAST)
		n = n->args[0];
	if (n->kind == AST_COLREF || n->kind == AST_FUNC)
		return n->name;
	if (n->kind == AST_SUBLINK && n->sub && n->sub->ntargets == 1) {
		const AstTarget *t = &n->sub->targets[0];
		return t->alias ? t->alias : pg_colname(t->expr);
	}
	if (n->kind == AST_CASE)
		return "case";
	return "?column?";
}

static void
and_split(Ast *n, Ast **v, int *nv, int cap)
{
	if (n != NULL && n->kind == AST_AND) {
		for (int i = 0; i < n->nargs; i++)
			and_split(n->args[i], v, nv, cap);
	} else if (n != NULL && *nv < cap) {
		v[(*nv)++] = n;
	}
}

static Ast *
and_join(Arena *a, Ast **v, int n)
{
	if (n == 0)
		return NULL;
	if (n == 1)
		return v[0];
	Ast *x = mk_node(a, AST_AND, v[0]->pos, n);
	if (x != NULL)
		memcpy(x->args, v, sizeof(Ast *) * (size_t)n);
	return x;
}

static int
run_correlated(Catalog *c, AstSelect *q, int pl, const ExecLimits *lim, int depth, Arena *a, ResultSet *rs,
	       int *applied, Err *e)
{
	*applied = 0;
	if (q->nbranch > 0 || (q->table == NULL && q->from_sub == NULL && q->nfrom == 0))
		return 0;
	Apply *ap = arena_calloc(a, sizeof(Apply));
	if (ap == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	ap->c = c;
	ap->a = a;
	ap->e = e;
	/* find the correlated subqueries first (in the select list, WHERE,
	 * HAVING, ORDER BY) */
	for (int i = 0; i < q->ntargets; i++)
		own_refs(ap, q, q->targets[i].expr, 0, 0);
	own_refs(ap, q, q->where, 0, 0);
	own_refs(ap, q, q->having, 1, 0);
	for (int i = 0; i < q->norder; i++)
		own_refs(ap, q, q->order[i].expr, 1, 0);
	for (int i = 0; i < q->ngroup; i++)
		own_refs(ap, q, q->group[i], 1, 0);
	if (ap->nsubs == 0)
		return 0;
	/* the statement runs per row: the EXISTS left for decorrelation
	 * outside the plain WHERE conditions (which stay in Q0) run per row
	 * too */
	ap->ex_all = 1;
	for (int i = 0; i < q->ntargets; i++)
		own_refs(ap, q, q->targets[i].expr, 0, 0);
	own_refs(ap, q, q->having, 1, 0);
	for (int i = 0; i < q->norder; i++)
		own_refs(ap, q, q->order[i].expr, 1, 0);
	for (int i = 0; i < q->ngroup; i++)
		own_refs(ap, q, q->group[i], 1, 0);
	{
		Ast *wc[256];
		int nwc = 0;
		and_split(q->where, wc, &nwc, 256);
		for (int i = 0; i < nwc; i++)
			if (holds_sub(ap, wc[i]))
				own_refs(ap, q, wc[i], 0, 0);
	}
	if (ap->overflow)
		return err_set(e, ERR_UNSUPPORTED, "a statement with this many correlated subqueries or columns");
	for (int i = 0; i < q->ntargets; i++)
		if (q->targets[i].expr->kind == AST_STAR)
			return err_set(e, ERR_UNSUPPORTED, "SELECT * with a correlated subquery (name the columns)");
	*applied = 1;
	/* mark them (ilike = 2, an EXISTS 3) so that the copy q0 knows them */
	for (int k = 0; k < ap->nsubs; k++)
		ap->subs[k]->ilike = ap->subs[k]->ilike ? 3 : 2;
	AstSelect *q0 = astcopy_select(q, a);
	if (q0 == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	int *exists = arena_calloc(a, sizeof(int) * (size_t)ap->nsubs);
	int *arrays = arena_calloc(a, sizeof(int) * (size_t)ap->nsubs);
	if (exists == NULL || arrays == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	for (int k = 0; k < ap->nsubs; k++)
		arrays[k] = ap->subs[k]->array;
	for (int k = 0; k < ap->nsubs; k++) {
		exists[k] = ap->subs[k]->ilike == 3;
		ap->subs[k]->ilike = 2;
	}
	/* Q0: FROM, the plain WHERE conditions, every column named */
	Ast *cj[256], *keep[256], *late[256];
	int ncj = 0, nkeep = 0, nlate = 0;
	and_split(q0->where, cj, &ncj, 256);
	for (int i = 0; i < ncj; i++) {
		if (has_csub(cj[i]))
			late[nlate++] = cj[i];
		else
			keep[nkeep++] = cj[i];
	}
	(void)late;
	q0->where = and_join(a, keep, nkeep);
	q0->ngroup = 0;
	q0->ngsets = 0;
	q0->having = NULL;
	q0->norder = 0;
	q0->limit = q0->offset = NULL;
	q0->distinct = 0;
	q0->explain = 0;
	int nr = ap->nrefs;
	q0->targets = arena_calloc(a, sizeof(AstTarget) * (size_t)(nr + 1));
	if (q0->targets == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	for (int i = 0; i < nr; i++) {
		Ast *r = mk_node(a, AST_COLREF, q->targets[0].pos, 0);
		if (r == NULL)
			return err_set(e, ERR_NOMEM, "out of memory");
		r->name = ap->refs[i].name;
		r->qual = ap->refs[i].qual;
		r->quoted = ap->refs[i].quoted;
		q0->targets[i] = (AstTarget){r, arena_printf(a, "__c%d", i), r->pos};
	}
	q0->ntargets = nr;
	if (nr == 0) {
		Ast *one = mk_node(a, AST_CONST, 1, 0);
		if (one == NULL)
			return err_set(e, ERR_NOMEM, "out of memory");
		one->val = value_int(TYPE_INT, 1);
		q0->targets[0] = (AstTarget){one, "__one", 1};
		q0->ntargets = 1;
	}
	ResultSet *r0 = NULL, *x = NULL;
	int rc = run_inner(c, q0, pl, lim, depth, a, "the rows under a correlated subquery", &r0, e);
	if (rc == 0 && r0->nrows > APPLY_MAX_ROWS)
		rc = err_set(e, ERR_TOO_LARGE, "a correlated subquery over more than %d rows", APPLY_MAX_ROWS);
	int nc = nr + ap->nsubs;
	if (rc == 0 && (x = new_result(e)) == NULL)
		rc = ERR_NOMEM;
	if (rc == 0) {
		x->ncols = nc;
		x->nrows = r0->nrows;
		x->cols = arena_calloc(&x->arena, sizeof(ResultCol) * (size_t)(nc + 1));
		x->rows = arena_calloc(&x->arena, sizeof(Value) * (r0->nrows * (size_t)nc + 1));
		if (x->cols == NULL || x->rows == NULL)
			rc = err_set(e, ERR_NOMEM, "out of memory");
	}
	for (int i = 0; rc == 0 && i < nc; i++) {
		x->cols[i].name = arena_printf(&x->arena, i < nr ? "__c%d" : "__s%d", i < nr ? i : i - nr);
		if (i < nr) {
			x->cols[i].type = r0->cols[i].type;
			x->cols[i].mv = r0->cols[i].mv;
		} else {
			x->cols[i].type = exists[i - nr] ? TYPE_BOOLEAN : TYPE_NULL;
			x->cols[i].untyped = !exists[i - nr];
			x->cols[i].mv = arrays[i - nr];
		}
	}
	for (size_t r = 0; rc == 0 && r < r0->nrows; r++) {
		const Value *row = &r0->rows[r * (size_t)r0->ncols];
		Value *out = &x->rows[r * (size_t)nc];
		for (int i = 0; i < nr; i++)
			out[i] = row[i];
		ap->row = row;
		for (int k = 0; rc == 0 && k < ap->nsubs; k++) {
			AstSelect *sub = astcopy_select(ap->subs[k]->sub, a);
			if (sub == NULL) {
				rc = err_set(e, ERR_NOMEM, "out of memory");
				break;
			}
			int nout = 0;
			outer_refs_sel(ap, sub, NULL, 1, &nout);
			ResultSet *in = NULL;
			char what[64];
			snprintf(what, sizeof(what), "the subquery at position %d", ap->subs[k]->pos);
			rc = run_inner(c, sub, pl, lim, depth, a, what, &in, e);
			if (rc == 0 && !exists[k] && in->ncols != 1)
				rc = err_set(e, ERR_SQL_PARSE, "subquery at position %d must return only one column",
					     ap->subs[k]->pos);
			if (rc == 0 && !exists[k] && !arrays[k] && in->nrows > 1)
				rc = err_set(e, ERR_INVALID,
					     "more than one row returned by a subquery used as an expression (position %d)",
					     ap->subs[k]->pos);
			if (rc == 0) {
				Value v;
				if (exists[k]) {
					v = value_int(TYPE_BOOLEAN, in->nrows > 0);
				} else if (arrays[k]) {
					/* the column's values, NULLs left out */
					Value *el = arena_calloc(&x->arena, sizeof(Value) * (in->nrows + 1));
					WbType et = in->cols[0].type;
					if (x->cols[nr + k].untyped && et != TYPE_NULL) {
						x->cols[nr + k].type = et;
						x->cols[nr + k].untyped = 0;
					}
					uint32_t ne = 0;
					for (size_t i = 0; el && rc == 0 && i < in->nrows; i++) {
						const Value *src = &in->rows[i * (size_t)in->ncols];
						if (src->null || src->mv)
							continue;
						if (value_copy(&el[ne], src, &x->arena) != 0)
							rc = err_set(e, ERR_NOMEM, "out of memory");
						ne++;
					}
					if (el == NULL)
						rc = err_set(e, ERR_NOMEM, "out of memory");
					v = value_null(et);
					v.null = 0;
					v.mv = 1;
					v.n = ne;
					v.u.mv = el;
				} else {
					v = in->nrows ? in->rows[0] : value_null(in->cols[0].type);
					if (x->cols[nr + k].untyped && in->cols[0].type != TYPE_NULL) {
						x->cols[nr + k].type = in->cols[0].type;
						x->cols[nr + k].untyped = 0;
					}
					if (v.mv)
						rc = err_set(e, ERR_UNSUPPORTED, "a multi-value scalar subquery (position %d)",
							     ap->subs[k]->pos);
					else if (!v.null && value_copy(&v, &in->rows[0], &x->arena) != 0)
						rc = err_set(e, ERR_NOMEM, "out of memory");
				}
				out[nr + k] = v;
			}
			result_free(in);
		}
	}
	/* the subqueries' values all of one type (NULLs take it) */
	for (int k = 0; rc == 0 && k < ap->nsubs; k++) {
		WbType t = x->cols[nr + k].type;
		if (t == TYPE_NULL)
			t = TYPE_STRING;
		x->cols[nr + k].type = t;
		x->cols[nr + k].untyped = 0;
		for (size_t r = 0; r < x->nrows; r++) {
			Value *v = &x->rows[r * (size_t)nc + (size_t)(nr + k)];
			if (v->null)
				*v = value_null(t);
			else if (v->mv) {
				v->type = (uint8_t)t;
				for (uint32_t i = 0; i < v->n; i++)
					((Value *)v->u.mv)[i].type = (uint8_t)t;
			}
		}
	}
	if (rc == 0) {
		/* the statement over those rows */
		AstSelect *q1 = q;
		for (int i = 0; i < q1->ntargets; i++)
			if (q1->targets[i].alias == NULL)
				q1->targets[i].alias = pg_colname(q1->targets[i].expr);
		for (int i = 0; i < q1->ntargets; i++)
			own_refs(ap, q1, q1->targets[i].expr, 0, 1);
		Ast *w1[256];
		int nw1 = 0;
		ncj = 0;
		and_split(q1->where, cj, &ncj, 256);
		for (int i = 0; i < ncj; i++)
			if (has_csub(cj[i]))
				w1[nw1++] = cj[i];
		q1->where = and_join(a, w1, nw1);
		own_refs(ap, q1, q1->where, 0, 1);
		own_refs(ap, q1, q1->having, 1, 1);
		for (int i = 0; i < q1->norder; i++)
			own_refs(ap, q1, q1->order[i].expr, 1, 1);
		for (int i = 0; i < q1->ngroup; i++)
			own_refs(ap, q1, q1->group[i], 1, 1);
		q1->table = NULL;
		q1->schema = NULL;
		q1->from_sub = NULL;
		q1->nfrom = 0;
		q1->from = NULL;
		q1->has_sublink = 1;
		rc = resolve_select(c, q1, a, lim, depth, e);
		if (rc == 0)
			rc = derive(q1, "apply", &x, 1, pl, lim, rs, e);
	}
	result_free(x);
	result_free(r0);
	return rc;
}

/* ---- set-returning functions in the select list ----------------------------
 *
 * SELECT unnest(arr), generate_subscripts(arr, 1), x FROM t (PostgreSQL's
 * catalog queries read int2vector columns so): the statement runs with
 * each such call replaced by its array (a multi-value column), then
 * every row becomes as many rows as its longest array has elements --
 * unnest gives element i (NULL past the end of a shorter array),
 * generate_subscripts i (from 1).  Only without GROUP BY, aggregates
 * over the result, DISTINCT, ORDER BY, LIMIT. */

static int
srf_kind(const Ast *n)
{
	if (n->kind != AST_FUNC || n->over != NULL)
		return 0;
	if (strcmp(n->name, "unnest") == 0 && n->nargs == 1)
		return 1;
	if (strcmp(n->name, "generate_subscripts") == 0 && (n->nargs == 1 || n->nargs == 2))
		return 2;
	return 0;
}

static int
run_srf(Catalog *c, AstSelect *q, int pl, const ExecLimits *lim, int depth, Arena *a, ResultSet *rs,
	int *applied, Err *e)
{
	*applied = 0;
	int any = 0;
	for (int i = 0; i < q->ntargets; i++)
		any |= srf_kind(q->targets[i].expr) != 0;
	if (!any || q->nbranch > 0)
		return 0;
	*applied = 1;
	if (q->ngroup > 0 || q->having || q->distinct || q->norder > 0 || q->limit || q->offset)
		return err_set(e, ERR_UNSUPPORTED,
			       "unnest / generate_subscripts with GROUP BY, DISTINCT, ORDER BY or LIMIT (use a derived table)");
	AstSelect *q0 = astcopy_select(q, a);
	uint8_t *kind = arena_calloc(a, (size_t)q->ntargets + 1);
	if (q0 == NULL || kind == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	for (int i = 0; i < q0->ntargets; i++) {
		AstTarget *t = &q0->targets[i];
		kind[i] = (uint8_t)srf_kind(t->expr);
		if (kind[i] == 0)
			continue;
		if (t->alias == NULL)
			t->alias = t->expr->name;
		t->expr = t->expr->args[0];
	}
	ResultSet *in = NULL;
	int rc = run_inner(c, q0, pl, lim, depth, a, "the rows under unnest", &in, e);
	int nc = in ? in->ncols : 0;
	for (int i = 0; rc == 0 && i < nc; i++)
		if (kind[i] && !in->cols[i].mv)
			rc = err_set(e, ERR_TYPE, "%s needs an array (a multi-value column)",
				     kind[i] == 1 ? "unnest" : "generate_subscripts");
	size_t nout = 0;
	for (size_t r = 0; rc == 0 && r < in->nrows; r++) {
		uint32_t m = 0;
		for (int i = 0; i < nc; i++) {
			const Value *v = &in->rows[r * (size_t)nc + (size_t)i];
			if (kind[i] && !v->null && v->mv && v->n > m)
				m = v->n;
		}
		nout += m;
	}
	if (rc == 0) {
		rs->ncols = nc;
		rs->cols = arena_calloc(&rs->arena, sizeof(ResultCol) * (size_t)(nc + 1));
		rs->rows = arena_calloc(&rs->arena, sizeof(Value) * (nout * (size_t)nc + 1));
		if (rs->cols == NULL || rs->rows == NULL)
			rc = err_set(e, ERR_NOMEM, "out of memory");
	}
	for (int i = 0; rc == 0 && i < nc; i++) {
		rs->cols[i] = in->cols[i];
		rs->cols[i].name = arena_strdup(&rs->arena, in->cols[i].name);
		if (kind[i]) {
			rs->cols[i].mv = 0;
			if (kind[i] == 2)
				rs->cols[i].type = TYPE_INT;
		}
	}
	size_t o = 0;
	for (size_t r = 0; rc == 0 && r < in->nrows; r++) {
		const Value *row = &in->rows[r * (size_t)nc];
		uint32_t m = 0;
		for (int i = 0; i < nc; i++)
			if (kind[i] && !row[i].null && row[i].mv && row[i].n > m)
				m = row[i].n;
		for (uint32_t k = 0; rc == 0 && k < m; k++, o++) {
			Value *out = &rs->rows[o * (size_t)nc];
			for (int i = 0; rc == 0 && i < nc; i++) {
				Value v = row[i];
				if (kind[i] == 2)
					v = value_int(TYPE_INT, k + 1);
				else if (kind[i] == 1)
					v = !row[i].null && k < row[i].n ? row[i].u.mv[k] : value_null((WbType)row[i].type);
				if (!v.null && value_copy(&out[i], &v, &rs->arena) != 0)
					rc = err_set(e, ERR_NOMEM, "out of memory");
				else if (v.null)
					out[i] = v;
			}
		}
	}
	if (rc == 0)
		rs->nrows = nout;
	result_free(in);
	return rc;
}

/* Runs q with its subqueries resolved; the constants replacing them go
 * to a, the statement's arena (a WITH query named twice runs twice over
 * the same, already resolved, tree). */
static int
run_ast(Catalog *c, AstSelect *q, int pl, const ExecLimits *lim, int depth, Arena *a, ResultSet *rs,
	Err *e)
{
	if (depth > 64)
		return err_set(e, ERR_UNSUPPORTED, "subqueries nested more than 64 deep");
	if (q->has_window)
		return run_windowed(c, q, pl, lim, depth, a, rs, e);
	if (q->ngsets > 0) {
		AstSelect *u;
		int rc = gsets_expand(q, a, &u, e);
		return rc ? rc : run_ast(c, u, pl, lim, depth, a, rs, e);
	}
	int srf = 0;
	int src = run_srf(c, q, pl, lim, depth, a, rs, &srf, e);
	if (src != 0 || srf)
		return src;
	if (q->has_sublink) {
		int applied = 0;
		int rc = run_correlated(c, q, pl, lim, depth, a, rs, &applied, e);
		if (rc != 0 || applied)
			return rc;
	}
	int rc = resolve_select(c, q, a, lim, depth, e);
	return rc ? rc : run_ast_resolved(c, q, pl, lim, depth, a, rs, e);
}

/* The rows of ins (same column count; the first names the columns; types
 * must agree, or are widened: integers with floats to DOUBLE) become a
 * temporary mutable segment named alias, and q runs over it. */
static int
derive(const AstSelect *q, const char *alias, ResultSet **ins, int nin, int pl,
       const ExecLimits *lim, ResultSet *rs, Err *e)
{
	int ncols = ins[0]->ncols;
	int rc = 0;
	Plan *plan = NULL;
	ColDesc *cd = mem_calloc((size_t)ncols + 1, sizeof(ColDesc));
	BindCol *bc = mem_calloc((size_t)ncols + 1, sizeof(BindCol));
	MutSeg *seg = NULL;
	if (cd == NULL || bc == NULL)
		rc = err_set(e, ERR_NOMEM, "out of memory");
	for (int i = 0; rc == 0 && i < ncols; i++) {
		WbType t = ins[0]->cols[i].type;
		int mv = ins[0]->cols[i].mv;
		/* a bare NULL (a key left out of a grouping set) takes the
		 * other inputs' type */
		int untyped = ins[0]->cols[i].untyped;
		for (int k = 1; rc == 0 && k < nin; k++) {
			const ResultCol *o = &ins[k]->cols[i];
			if (ins[k]->ncols != ncols) {
				rc = err_set(e, ERR_SQL_PARSE, "each UNION query must have the same number of columns (%d and %d)",
					     ncols, ins[k]->ncols);
				break;
			}
			if (o->type == t || o->type == TYPE_NULL || o->untyped)
				continue;
			if (t == TYPE_NULL || untyped) {
				t = o->type;
				mv = o->mv;
				untyped = 0;
			} else if (type_is_numeric(t) && type_is_numeric(o->type) && o->mv == mv)
				t = type_is_float(t) || type_is_float(o->type) ? TYPE_DOUBLE : TYPE_LONG;
			else
				rc = err_set(e, ERR_TYPE, "UNION types %s and %s cannot be matched (column %d)",
					     type_name(t), type_name(o->type), i + 1);
		}
		if (t == TYPE_NULL)
			t = TYPE_STRING;
		cd[i].type = t;
		cd[i].mv = mv;
		bc[i] = (BindCol){ins[0]->cols[i].name, t, mv};
	}
	/* bound first: the columns q never reads are left NULL (a derived
	 * table's unused group key costs nothing to copy) */
	BindTable bt = {alias, ncols, bc, NULL};
	if (rc == 0)
		rc = bind_select(q, &bt, pl, &plan, e);
	if (rc == 0 && (seg = mutseg_create(ncols, cd)) == NULL)
		rc = err_set(e, ERR_NOMEM, "out of memory");
	/* rows go in batches, so a big derived table needs no second copy */
	RowBatch b;
	rowbatch_init(&b, ncols);
	for (int k = 0; rc == 0 && k < nin; k++) {
		const ResultSet *in = ins[k];
		for (size_t r0 = 0; rc == 0 && r0 < in->nrows; r0 += 4096) {
			size_t n = in->nrows - r0 < 4096 ? in->nrows - r0 : 4096;
			rowbatch_reset(&b);
			for (size_t r = r0; r < r0 + n; r++) {
				Value *row = rowbatch_add_row(&b);
				if (row == NULL) {
					rc = err_set(e, ERR_NOMEM, "out of memory");
					break;
				}
				for (int i = 0; i < ncols; i++) {
					Value v = in->rows[r * (size_t)ncols + (size_t)i];
					WbType t = cd[i].type;
					if (v.null || in->cols[i].type == TYPE_NULL || !plan->used[i])
						v = value_null(t);
					else if (!v.mv && type_is_float(t) && !type_is_float((WbType)v.type))
						v = value_double(t, (double)v.u.i);
					v.type = (uint8_t)t;
					row[i] = v;
				}
			}
			if (rc == 0 && (rc = mutseg_append(seg, &b, e)) == 0)
				mutseg_publish(seg);
		}
	}
	rowbatch_free(&b);
	if (rc == 0) {
		plan->tab.cols = bc;
		rs->table = arena_strdup(&rs->arena, alias);
		SnapSeg ss = {seg, mutseg_rows(seg), 0};
		TableSnap snap = {NULL, 1, &ss, ss.rows};
		rc = plan->explain ? err_set(e, ERR_UNSUPPORTED, "EXPLAIN of a query with a derived table")
				   : exec_run(plan, &snap, lim, rs, e);
	}
	bind_free(plan);
	mutseg_free(seg);
	mem_free(cd);
	mem_free(bc);
	return rc;
}

/* The columns of FROM item f, a table or a sys. table, copied into a. */
static int
item_columns(Catalog *c, const AstFrom *f, Arena *a, JoinInput *in, Err *e)
{
	if (f->func) {
		int rc = err_set(e, ERR_UNSUPPORTED, "the function %s in FROM is not supported (at position %d)",
				 f->table, f->table_pos);
		e->pos = f->table_pos;
		return rc;
	}
	const SysTab *vt = systab_find(f->schema, f->table);
	AstSelect probe = {0};
	probe.table = f->table;
	probe.schema = f->schema;
	probe.table_quoted = f->table_quoted;
	const BindCol *cols = NULL;
	int n = 0;
	Table *t = NULL;
	if (vt != NULL) {
		cols = systab_cols(vt);
		n = systab_ncols(vt);
	} else {
		char name[512];
		t = c ? find_table(c, &probe, name, sizeof(name)) : NULL;
		if (t == NULL) {
			int rc = err_set(e, ERR_TABLE_MISSING, "Table '%s' does not exist at position %d", name,
					 f->table_pos);
			e->pos = f->table_pos;
			return rc;
		}
	}
	const Schema *sc = t ? table_schema(t) : NULL;
	if (sc)
		n = sc->nfields;
	const char **names = arena_calloc(a, sizeof(char *) * (size_t)(n + 1));
	int rc = names ? 0 : err_set(e, ERR_NOMEM, "out of memory");
	for (int i = 0; rc == 0 && i < n; i++)
		if ((names[i] = arena_strdup(a, sc ? sc->fields[i].name : cols[i].name)) == NULL)
			rc = err_set(e, ERR_NOMEM, "out of memory");
	if (t)
		table_unref(t);
	*in = (JoinInput){n, names, 1};
	return rc;
}

/* An outer join step whose ON is more than keys: the inner join's pairs
 * (with their row numbers) are filtered by the plan's residual statement,
 * then join_from_pairs adds the rows without a pair. */
static int
join_residual(const JoinPlan *jp, int i, const ResultSet *l, const ResultSet *r, const JoinSpec *js,
	      int pl, const ExecLimits *lim, ResultSet *out, Err *e)
{
	JoinSpec inner = *js;
	inner.type = AST_JOIN_INNER;
	inner.rids = 1;
	ResultSet *m = new_result(e), *pairs = new_result(e);
	int64_t *lr = NULL, *rr = NULL;
	int rc = m && pairs ? 0 : ERR_NOMEM;
	if (rc == 0)
		rc = join_rows(l, r, &inner, jp->names, m, e);
	ExecLimits il = *lim;
	il.max_rows = 0;
	if (rc == 0)
		rc = derive(jp->resid[i], "join", &m, 1, pl ? 2 : 0, &il, pairs, e);
	if (rc == 0 && ((lr = mem_alloc(sizeof(int64_t) * (pairs->nrows + 1))) == NULL ||
			(rr = mem_alloc(sizeof(int64_t) * (pairs->nrows + 1))) == NULL))
		rc = err_set(e, ERR_NOMEM, "out of memory");
	for (size_t k = 0; rc == 0 && k < pairs->nrows; k++) {
		lr[k] = pairs->rows[2 * k].u.i;
		rr[k] = pairs->rows[2 * k + 1].u.i;
	}
	if (rc == 0)
		rc = join_from_pairs(l, r, js->type, lr, rr, pairs->nrows, jp->names, out, e);
	mem_free(lr);
	mem_free(rr);
	result_free(m);
	result_free(pairs);
	return rc;
}

/* ---- functions in FROM ----------------------------------------------------- */

#define FUNC_MAX_ROWS 10000000
#define MAX_TABLE_FNS 32

/* Table functions registered by upper layers (query_register_table_fn). */
static struct {
	char name[64];
	QueryTableFn fn;
	void *ctx;
} table_fns[MAX_TABLE_FNS];
static int ntable_fns;
static pthread_rwlock_t table_fns_mu = PTHREAD_RWLOCK_INITIALIZER;

void
query_register_table_fn(const char *name, QueryTableFn fn, void *ctx)
{
	pthread_rwlock_wrlock(&table_fns_mu);
	int i;
	for (i = 0; i < ntable_fns; i++)
		if (strcmp(table_fns[i].name, name) == 0)
			break;
	if (fn == NULL) {
		if (i < ntable_fns)
			table_fns[i] = table_fns[--ntable_fns];
	} else if (i < ntable_fns || ntable_fns < MAX_TABLE_FNS) {
		if (i == ntable_fns)
			ntable_fns++;
		snprintf(table_fns[i].name, sizeof(table_fns[i].name), "%s", name);
		table_fns[i].fn = fn;
		table_fns[i].ctx = ctx;
	}
	pthread_rwlock_unlock(&table_fns_mu);
}

ResultSet *
query_result_new(void)
{
	return new_result(NULL);
}

/* Runs the registered table function fc names, if any: 1 with *rc set,
 * else 0.  The read lock is held during the call, so unregistering
 * waits for calls in flight. */
static int
ext_table_fn(Catalog *c, Ast *fc, int pl, const ExecLimits *lim, int depth, Arena *a,
	     ResultSet **out, int *rc, Err *e)
{
	pthread_rwlock_rdlock(&table_fns_mu);
	int i;
	for (i = 0; i < ntable_fns; i++)
		if (strcasecmp(table_fns[i].name, fc->name) == 0)
			break;
	if (i == ntable_fns) {
		pthread_rwlock_unlock(&table_fns_mu);
		return 0;
	}
	ResultSet *in = NULL;
	*rc = 0;
	if (fc->nargs > 0) {
		AstSelect *s = arena_calloc(a, sizeof(AstSelect));
		AstTarget *t = arena_calloc(a, sizeof(AstTarget) * (size_t)fc->nargs);
		if (s == NULL || t == NULL) {
			*rc = err_set(e, ERR_NOMEM, "out of memory");
		} else {
			for (int k = 0; k < fc->nargs; k++)
				t[k] = (AstTarget){fc->args[k], arena_printf(a, "a%d", k), fc->pos};
			s->targets = t;
			s->ntargets = fc->nargs;
			s->has_sublink = 1;
			*rc = run_inner(c, s, pl, lim, depth, a, "a function in FROM", &in, e);
		}
	}
	if (*rc == 0)
		*rc = table_fns[i].fn(table_fns[i].ctx, c, table_fns[i].name, in ? in->rows : NULL,
				      in ? in->ncols : 0, out, e);
	pthread_rwlock_unlock(&table_fns_mu);
	result_free(in);
	return 1;
}

/* The rows of FROM item f, a function: generate_series(a, b [, step])
 * (integers), unnest(array), or any scalar function's one value; one
 * column named after the item's alias. */
static int
func_rows(Catalog *c, const AstFrom *f, int pl, const ExecLimits *lim, int depth, Arena *a, ResultSet **out,
	  Err *e)
{
	Ast *fc = f->fcall;
	int ext_rc;
	if (ext_table_fn(c, fc, pl, lim, depth, a, out, &ext_rc, e))
		return ext_rc;
	int gs = strcmp(fc->name, "generate_series") == 0;
	int un = strcmp(fc->name, "unnest") == 0 && fc->nargs == 1;
	if (gs && (fc->nargs < 2 || fc->nargs > 3))
		return err_set(e, ERR_FUNC_MISSING, "function generate_series needs 2 or 3 arguments");
	/* the arguments (or the call) as a statement without FROM */
	AstSelect *s = arena_calloc(a, sizeof(AstSelect));
	AstTarget *t = arena_calloc(a, sizeof(AstTarget) * (size_t)(fc->nargs + 1));
	if (s == NULL || t == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	s->targets = t;
	if (gs || un) {
		for (int i = 0; i < fc->nargs; i++)
			t[i] = (AstTarget){fc->args[i], arena_printf(a, "a%d", i), fc->pos};
		s->ntargets = fc->nargs;
	} else {
		t[0] = (AstTarget){fc, f->alias, fc->pos};
		s->ntargets = 1;
	}
	s->has_sublink = 1;	/* resolve_select looks for subqueries */
	ResultSet *in = NULL;
	int rc = run_inner(c, s, pl, lim, depth, a, "a function in FROM", &in, e);
	if (rc != 0 || (!gs && !un)) {
		if (rc == 0 && in->ncols == 1)
			in->cols[0].name = arena_strdup(&in->arena, f->alias);
		*out = in;
		return rc;
	}
	ResultSet *r = new_result(e);
	if (r == NULL) {
		result_free(in);
		return ERR_NOMEM;
	}
	*out = r;
	r->ncols = 1;
	r->cols = arena_calloc(&r->arena, sizeof(ResultCol) * 2);
	if (r->cols == NULL)
		rc = err_set(e, ERR_NOMEM, "out of memory");
	const Value *v = in->rows;
	if (rc == 0 && gs) {
		int64_t x[3] = {0, 0, 1};
		int null = 0;
		for (int i = 0; i < in->ncols; i++) {
			if (v[i].null)
				null = 1;
			else if (!type_is_integer((WbType)v[i].type) || v[i].mv)
				rc = err_set(e, ERR_TYPE, "generate_series takes integers (argument %d)", i + 1);
			else
				x[i] = v[i].u.i;
		}
		if (rc == 0 && x[2] == 0)
			rc = err_set(e, ERR_INVALID, "step size cannot equal zero");
		int64_t n = 0;
		if (rc == 0 && !null && (x[2] > 0 ? x[1] >= x[0] : x[1] <= x[0]))
			n = (x[1] - x[0]) / x[2] + 1;
		if (rc == 0 && n > FUNC_MAX_ROWS)
			rc = err_set(e, ERR_TOO_LARGE, "generate_series of more than %d rows", FUNC_MAX_ROWS);
		int wide = x[0] > INT32_MAX || x[0] < INT32_MIN || x[1] > INT32_MAX || x[1] < INT32_MIN;
		if (rc == 0) {
			r->cols[0] = (ResultCol){arena_strdup(&r->arena, f->alias), wide ? TYPE_LONG : TYPE_INT, 0, 0};
			r->rows = arena_calloc(&r->arena, sizeof(Value) * (size_t)(n + 1));
			if (r->rows == NULL)
				rc = err_set(e, ERR_NOMEM, "out of memory");
		}
		for (int64_t i = 0; rc == 0 && i < n; i++)
			r->rows[i] = value_int(wide ? TYPE_LONG : TYPE_INT, x[0] + i * x[2]);
		if (rc == 0)
			r->nrows = (size_t)n;
	} else if (rc == 0) {
		/* unnest: the array's elements */
		uint32_t n = !v[0].null && v[0].mv ? v[0].n : 0;
		if (!v[0].null && !v[0].mv)
			rc = err_set(e, ERR_TYPE, "unnest needs an array (a multi-value column)");
		if (rc == 0) {
			r->cols[0] = (ResultCol){arena_strdup(&r->arena, f->alias), in->cols[0].type, 0, 0};
			r->rows = arena_calloc(&r->arena, sizeof(Value) * ((size_t)n + 1));
			if (r->rows == NULL)
				rc = err_set(e, ERR_NOMEM, "out of memory");
		}
		for (uint32_t i = 0; rc == 0 && i < n; i++)
			if (value_copy(&r->rows[i], &v[0].u.mv[i], &r->arena) != 0)
				rc = err_set(e, ERR_NOMEM, "out of memory");
		if (rc == 0)
			r->nrows = n;
	}
	result_free(in);
	return rc;
}

/* A FROM with joins (joinplan.h): derived tables run first and their
 * rows are inputs as they are; each table is read by the scan statement
 * the plan gives it; the rows are joined left to right (join.h), and the
 * statement runs over the joined rows as over a derived table. */
static int
run_joined(Catalog *c, AstSelect *q, int pl, const ExecLimits *lim, int depth, Arena *a, ResultSet *rs,
	   Err *e)
{
	int n = q->nfrom, rc = 0;
	ResultSet **rows = mem_calloc((size_t)n, sizeof(ResultSet *));
	JoinInput *in = arena_calloc(a, sizeof(JoinInput) * (size_t)n);
	ResultSet *acc = NULL;
	if (rows == NULL || in == NULL) {
		mem_free(rows);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	for (int i = 0; rc == 0 && i < n; i++) {
		const AstFrom *f = &q->from[i];
		if (f->sub == NULL && !f->func) {
			rc = item_columns(c, f, a, &in[i], e);
			continue;
		}
		char what[300];
		snprintf(what, sizeof(what), "subquery %s", f->alias);
		if (f->func)
			rc = func_rows(c, f, pl, lim, depth, a, &rows[i], e);
		else
			rc = run_inner(c, f->sub, pl, lim, depth, a, what, &rows[i], e);
		if (rc != 0)
			break;
		const char **names = arena_calloc(a, sizeof(char *) * (size_t)(rows[i]->ncols + 1));
		if (names == NULL) {
			rc = err_set(e, ERR_NOMEM, "out of memory");
			break;
		}
		for (int k = 0; k < rows[i]->ncols; k++)
			names[k] = rows[i]->cols[k].name;
		in[i] = (JoinInput){rows[i]->ncols, names, 0};
	}
	if (rc == 0 && n == 1) {
		/* FROM f(...) alone */
		rc = derive(q, q->from[0].alias, &rows[0], 1, pl, lim, rs, e);
		result_free(rows[0]);
		mem_free(rows);
		return rc;
	}
	JoinPlan jp;
	if (rc == 0)
		rc = joinplan_plan(q, in, a, &jp, e);
	for (int i = 0; rc == 0 && i < n; i++) {
		if (jp.scans[i] == NULL)
			continue;
		char what[300];
		snprintf(what, sizeof(what), "join input %s", q->from[i].alias);
		rc = run_inner(c, jp.scans[i], pl, lim, depth, a, what, &rows[i], e);
	}
	int64_t deadline = lim->timeout_ms > 0 ? clock_mono_ns() + lim->timeout_ms * 1000000 : 0;
	for (int i = 1; rc == 0 && i < n; i++) {
		ResultSet *out = new_result(e);
		if (out == NULL) {
			rc = ERR_NOMEM;
			break;
		}
		JoinSpec js = jp.steps[i];
		js.deadline_ns = deadline;
		js.cancel = lim->cancel;
		const ResultSet *left = i == 1 ? rows[0] : acc;
		if (jp.resid[i] == NULL)
			rc = join_rows(left, rows[i], &js, jp.names, out, e);
		else
			rc = join_residual(&jp, i, left, rows[i], &js, pl, lim, out, e);
		result_free(acc);
		acc = out;
	}
	if (rc == 0)
		rc = derive(jp.final, "join", &acc, 1, pl, lim, rs, e);
	result_free(acc);
	for (int i = 0; i < n; i++)
		result_free(rows[i]);
	mem_free(rows);
	return rc;
}

/* ---- projection into a derived table ---------------------------------- */

/* 1 when expression n may read a column named `name` (a reference to
 * it, *, or a subquery, which might). */
static int
ast_uses(const Ast *n, const char *name)
{
	if (n == NULL)
		return 0;
	if (n->kind == AST_STAR || n->kind == AST_SUBLINK || n->sub != NULL)
		return 1;
	if (n->kind == AST_COLREF && strcasecmp(n->name, name) == 0)
		return 1;
	for (int i = 0; i < n->nargs; i++)
		if (ast_uses(n->args[i], name))
			return 1;
	if (ast_uses(n->filter, name))
		return 1;
	if (n->over != NULL) {
		for (int i = 0; i < n->over->npart; i++)
			if (ast_uses(n->over->part[i], name))
				return 1;
		for (int i = 0; i < n->over->norder; i++)
			if (ast_uses(n->over->order[i].expr, name))
				return 1;
	}
	return 0;
}

static int
select_uses(const AstSelect *q, const char *name)
{
	for (int i = 0; i < q->ntargets; i++)
		if (ast_uses(q->targets[i].expr, name))
			return 1;
	for (int i = 0; i < q->ngroup; i++)
		if (ast_uses(q->group[i], name))
			return 1;
	for (int i = 0; i < q->norder; i++)
		if (ast_uses(q->order[i].expr, name))
			return 1;
	return ast_uses(q->where, name) || ast_uses(q->having, name);
}

/* The derived table sub as q reads it: a select-list item q never names
 * (a plain column or an aliased expression) becomes NULL under the same
 * name, so its values are neither copied into sub's rows nor into the
 * derived table -- `SELECT stage, count(*) FROM (SELECT order_id,
 * arg_max(...) AS stage ... GROUP BY order_id)` groups by order_id but
 * never copies 10^6 of them.  sub itself is left alone (a WITH query may
 * be read twice); the copy goes to a.  sub unchanged when unsure. */
static AstSelect *
project_sub(const AstSelect *q, AstSelect *sub, Arena *a)
{
	if (q->nfrom > 0 || q->nbranch > 0 || sub->nbranch > 0 || sub->distinct || sub->ngsets > 0 ||
	    sub->norder > 0 || sub->has_window || sub->ntargets > 256)
		return sub;
	/* GROUP BY 1 names a select-list item by position */
	for (int i = 0; i < sub->ngroup; i++)
		if (sub->group[i]->kind == AST_CONST)
			return sub;
	uint8_t drop[256];
	int ndrop = 0;
	for (int i = 0; i < sub->ntargets; i++) {
		const AstTarget *t = &sub->targets[i];
		const char *name = t->alias ? t->alias : t->expr->kind == AST_COLREF ? t->expr->name : NULL;
		drop[i] = 0;
		if (name == NULL || t->expr->kind == AST_STAR || select_uses(q, name))
			continue;
		/* an alias sub's own GROUP BY or HAVING names */
		if (t->alias != NULL && select_uses(&(AstSelect){.ngroup = sub->ngroup, .group = sub->group,
								  .having = sub->having},
						    t->alias))
			continue;
		drop[i] = 1;
		ndrop++;
	}
	if (ndrop == 0 || ndrop == sub->ntargets)
		return sub;
	AstSelect *cp = arena_alloc(a, sizeof(*cp));
	AstTarget *ts = arena_alloc(a, sizeof(AstTarget) * (size_t)sub->ntargets);
	Ast *nul = arena_calloc(a, sizeof(Ast));
	if (cp == NULL || ts == NULL || nul == NULL)
		return sub;
	*cp = *sub;
	nul->kind = AST_CONST;
	nul->val = value_null(TYPE_NULL);
	for (int i = 0; i < sub->ntargets; i++) {
		ts[i] = sub->targets[i];
		if (drop[i]) {
			if (ts[i].alias == NULL)
				ts[i].alias = ts[i].expr->name;
			ts[i].expr = nul;
		}
	}
	cp->targets = ts;
	return cp;
}

static int
run_ast_resolved(Catalog *c, AstSelect *q, int pl, const ExecLimits *lim, int depth, Arena *sa,
		 ResultSet *rs, Err *e)
{
	Plan *plan = NULL;
	int rc;
	if (q->nfrom > 0)
		return run_joined(c, q, pl, lim, depth, sa, rs, e);
	if (q->from_sub == NULL && q->nbranch == 0) {
		Arena a;
		arena_init(&a, 4096);
		rc = bind_ast(c, q, &a, pl, &plan, e);
		if (rc == 0) {
			if (plan->table)
				rs->table = arena_strdup(&rs->arena, plan->table);
			rc = run_plan(c, plan, lim, rs, e);
		}
		bind_free(plan);
		arena_free(&a);
		return rc;
	}
	int nin = q->nbranch > 0 ? q->nbranch : 1;
	ResultSet **ins = mem_calloc((size_t)nin, sizeof(ResultSet *));
	if (ins == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	rc = 0;
	for (int i = 0; rc == 0 && i < nin; i++) {
		AstSelect *sub = q->nbranch > 0 ? q->branches[i] : project_sub(q, q->from_sub, sa);
		char what[300];
		snprintf(what, sizeof(what), q->nbranch > 0 ? "a branch of the set operation" : "subquery %s",
			 q->from_alias);
		rc = run_inner(c, sub, pl, lim, depth, sa, what, &ins[i], e);
	}
	if (rc == 0) {
		if (q->nbranch > 0) {
			/* SELECT [DISTINCT] * FROM (the branches) ORDER BY ... LIMIT ... */
			AstSelect top = {0};
			Ast star = {.kind = AST_STAR, .pos = 1};
			AstTarget t = {&star, NULL, 1};
			top.distinct = q->union_distinct && q->setop == AST_SETOP_UNION;
			top.ntargets = 1;
			top.targets = &t;
			top.norder = q->norder;
			top.order = q->order;
			top.limit = q->limit;
			top.offset = q->offset;
			if (q->setop == AST_SETOP_UNION) {
				rc = derive(&top, "union", ins, nin, pl, lim, rs, e);
			} else {
				/* INTERSECT / EXCEPT, left to right */
				ResultSet *cur = NULL;
				for (int k = 1; rc == 0 && k < nin; k++) {
					ResultSet *next = new_result(e);
					rc = next ? join_setop(k == 1 ? ins[0] : cur, ins[k], q->setop, !q->union_distinct,
							       next, e)
						  : ERR_NOMEM;
					result_free(cur);
					cur = next;
				}
				if (rc == 0)
					rc = derive(&top, q->setop == AST_SETOP_INTERSECT ? "intersect" : "except", &cur, 1, pl,
						    lim, rs, e);
				result_free(cur);
			}
		} else {
			rc = derive(q, q->from_alias, ins, 1, pl, lim, rs, e);
		}
	}
	for (int i = 0; i < nin; i++)
		result_free(ins[i]);
	mem_free(ins);
	return rc;
}

static int exec_statement(Catalog *c, const char *sql, const QueryOpts *opts, ResultSet **out,
			  Err *e);
static int exec_statement_in(Catalog *c, const char *sql, const QueryOpts *op, int pl, int64_t t0,
			     CachedPlan **cpp, Derived *dp, ResultSet **out, Err *e);

/* ---- EXPLAIN of statements over derived rows ----------------------------- */

static void
indent(Buf *b, int ind)
{
	for (int i = 0; i < ind; i++)
		buf_puts(b, "  ");
}

/* Appends src's lines to b, indented. */
static void
append_indented(Buf *b, const Buf *src, int ind)
{
	size_t i = 0;
	while (i < src->len) {
		const char *nl = memchr(src->p + i, '\n', src->len - i);
		size_t n = nl ? (size_t)(nl - (src->p + i)) + 1 : src->len - i;
		indent(b, ind);
		buf_append(b, src->p + i, n);
		i += n;
	}
}

/* What runs over the rows a statement reads, from its syntax. */
static void
explain_tail(const AstSelect *q, int ind, Buf *b)
{
	if (q->where) {
		indent(b, ind);
		buf_puts(b, "FILTER\n");
	}
	if (q->ngroup > 0 || q->having) {
		indent(b, ind);
		buf_printf(b, "AGGREGATE keys=%d%s\n", q->ngroup, q->having ? " HAVING" : "");
	}
	if (q->distinct) {
		indent(b, ind);
		buf_puts(b, "DISTINCT\n");
	}
	if (q->norder > 0) {
		indent(b, ind);
		buf_printf(b, "SORT keys=%d\n", q->norder);
	}
	if (q->limit || q->offset) {
		indent(b, ind);
		buf_puts(b, "LIMIT\n");
	}
}

static const char *
join_name(AstJoin t)
{
	static const char *n[] = {"INNER", "LEFT", "RIGHT", "FULL", "CROSS"};
	return (unsigned)t < 5 ? n[t] : "?";
}

static int explain_ast(Catalog *c, const AstSelect *q, int pl, Arena *a, int ind, Buf *b, Err *e);

/* A bound table statement, indented. */
static int
explain_bound(Catalog *c, const AstSelect *q, int pl, Arena *a, int ind, Buf *b, Err *e)
{
	Plan *p = NULL;
	int rc = bind_ast(c, q, a, pl, &p, e);
	if (rc != 0)
		return rc;
	Buf t;
	buf_init(&t);
	explain_text(c, p, 0, 0, &t);
	append_indented(b, &t, ind);
	buf_free(&t);
	bind_free(p);
	return 0;
}

static int
explain_join(Catalog *c, const AstSelect *q, int pl, Arena *a, int ind, Buf *b, Err *e)
{
	int n = q->nfrom, rc = 0, subs = 0;
	JoinInput *in = arena_calloc(a, sizeof(JoinInput) * (size_t)n);
	if (in == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	for (int i = 0; rc == 0 && i < n; i++) {
		if (q->from[i].sub)
			subs++;
		else
			rc = item_columns(c, &q->from[i], a, &in[i], e);
	}
	if (rc != 0)
		return rc;
	indent(b, ind);
	buf_printf(b, "JOIN %d inputs, left to right (hash joins over materialized rows)\n", n);
	JoinPlan jp;
	if (subs == 0 && (rc = joinplan_plan(q, in, a, &jp, e)) != 0)
		return rc;
	for (int i = 0; i < n; i++) {
		const AstFrom *f = &q->from[i];
		indent(b, ind + 1);
		if (i > 0) {
			if (subs > 0)
				buf_printf(b, "%s JOIN %s (keys found when the derived inputs have run)\n",
					   join_name(f->join), f->alias);
			else if (jp.steps[i].nkeys == 0)
				buf_printf(b, "%s JOIN %s: every pair (no equality key)%s\n", join_name(f->join), f->alias,
					   jp.resid[i] ? ", then the ON condition" : "");
			else
				buf_printf(b, "%s HASH JOIN %s on %d key(s), build side %s%s%s\n",
					   join_name(jp.steps[i].type), f->alias, jp.steps[i].nkeys, f->alias,
					   jp.resid[i] ? ", then the rest of ON" : "",
					   jp.steps[i].lcond >= 0 ? ", left rows gated by ON" : "");
			indent(b, ind + 1);
		}
		if (f->sub) {
			buf_printf(b, "DERIVED TABLE %s\n", f->alias);
			if ((rc = explain_ast(c, f->sub, pl, a, ind + 2, b, e)) != 0)
				return rc;
		} else {
			buf_printf(b, "INPUT %s AS %s\n", f->table, f->alias);
			if (subs == 0 && (rc = explain_bound(c, jp.scans[i], pl, a, ind + 2, b, e)) != 0)
				return rc;
		}
	}
	explain_tail(subs == 0 ? jp.final : q, ind, b);
	return 0;
}

/* The plan of a statement that runs over derived rows: joins, window
 * functions, derived tables, set operations, subqueries. */
static int
explain_ast(Catalog *c, const AstSelect *q0, int pl, Arena *a, int ind, Buf *b, Err *e)
{
	AstSelect *q = arena_alloc(a, sizeof(AstSelect));
	if (q == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	*q = *q0;
	q->explain = 0;
	int rc;
	if (ind > 40)
		return err_set(e, ERR_TOO_LARGE, "EXPLAIN: statement nested too deeply");
	if (q->has_window) {
		WinPlan wp;
		if ((rc = winplan_split(q, a, &wp, e)) != 0)
			return rc;
		indent(b, ind);
		buf_printf(b, "WINDOW %d function(s), one sort per window:", wp.ncalls);
		for (int i = 0; i < wp.ncalls; i++)
			buf_printf(b, " %s(PARTITION BY %d, ORDER BY %d)", wp.calls[i].call->name, wp.calls[i].spec.npart,
				   wp.calls[i].spec.norder);
		buf_puts(b, "\n");
		if ((rc = explain_ast(c, wp.inner, pl, a, ind + 1, b, e)) != 0)
			return rc;
		explain_tail(&wp.outer, ind, b);
		return 0;
	}
	if (q->ngsets > 0) {
		indent(b, ind);
		buf_printf(b, "GROUPING SETS: %d grouped queries\n", q->ngsets);
		AstSelect *u;
		int rc2 = gsets_expand(q, a, &u, e);
		return rc2 ? rc2 : explain_ast(c, u, pl, a, ind + 1, b, e);
	}
	if (q->nbranch > 0) {
		indent(b, ind);
		buf_printf(b, "%s%s of %d queries\n",
			   q->setop == AST_SETOP_INTERSECT ? "INTERSECT" : q->setop == AST_SETOP_EXCEPT ? "EXCEPT" : "UNION",
			   q->union_distinct ? "" : " ALL", q->nbranch);
		for (int i = 0; i < q->nbranch; i++)
			if ((rc = explain_ast(c, q->branches[i], pl, a, ind + 1, b, e)) != 0)
				return rc;
		explain_tail(q, ind, b);
		return 0;
	}
	if (q->has_sublink) {
		indent(b, ind);
		buf_puts(b, "SUBQUERIES run first; their values replace them\n");
	}
	if (q->nfrom > 0)
		return explain_join(c, q, pl, a, ind, b, e);
	if (q->from_sub != NULL) {
		indent(b, ind);
		buf_printf(b, "DERIVED TABLE %s (materialized)\n", q->from_alias);
		if ((rc = explain_ast(c, q->from_sub, pl, a, ind + 1, b, e)) != 0)
			return rc;
		explain_tail(q, ind, b);
		return 0;
	}
	if (q->has_sublink) {
		explain_tail(q, ind, b);
		return 0;
	}
	return explain_bound(c, q, pl, a, ind, b, e);
}

static int
explain_derived(Catalog *c, const AstSelect *q, int pl, Arena *a, ResultSet *rs, Err *e)
{
	Buf b;
	buf_init(&b);
	int rc = explain_ast(c, q, pl, a, 0, &b, e);
	if (rc == 0)
		rc = plan_result(&b, rs, e);
	buf_free(&b);
	return rc;
}

int
query_exec(Catalog *c, const char *sql, const QueryOpts *opts, ResultSet **out, Err *e)
{
	int64_t t0 = clock_mono_ns();
	int64_t wall0 = clock_wall_ms();
	if (c != NULL)
		pgcat_install(c);
	int rc = exec_statement(c, sql, opts, out, e);
	int64_t us = (clock_mono_ns() - t0) / 1000;
	metric_add(METRIC_QUERIES, 1);
	metric_add(METRIC_QUERY_TIME_MS, (uint64_t)(us / 1000));
	if (rc != 0)
		metric_add(METRIC_QUERY_ERRORS, 1);
	else
		metric_add(METRIC_QUERY_DOCS_SCANNED, (*out)->stats.num_docs_scanned);
	/* sys.queries: one entry per statement (the struct is big: heap) */
	QlogEntry *q = mem_calloc(1, sizeof(QlogEntry));
	if (q != NULL) {
		q->id = qlog_next_id();
		q->start_ms = wall0;
		q->duration_us = us;
		q->error = rc;
		if (rc != 0) {
			snprintf(q->message, sizeof(q->message), "%s", err_msg(e));
		} else {
			q->docs_scanned = (*out)->stats.num_docs_scanned;
			q->total_docs = (*out)->stats.total_docs;
			q->result_rows = (*out)->nrows;
			q->peak_mem = (*out)->stats.peak_mem;
		}
		snprintf(q->sql, sizeof(q->sql), "%s", sql ? sql : "");
		qlog_record(q);
		mem_free(q);
	}
	return rc;
}

static int
exec_statement(Catalog *c, const char *sql, const QueryOpts *opts, ResultSet **out, Err *e)
{
	int64_t t0 = clock_mono_ns();
	QueryOpts o = {0};
	if (opts)
		o = *opts;
	if (sql == NULL)
		return err_set(e, ERR_SQL_PARSE, "empty query");
	CachedPlan *cp = NULL;
	Derived d = {0};
	/* Pinot's dialect with its implicit LIMIT 10, or without it (its
	 * multi-stage engine) */
	int pl = o.pinot_default_limit ? 1 : o.pinot_dialect ? 2 : 0;
	const char *su = session_user, *sd = session_db;
	session_user = o.user;
	session_db = o.database;
	if (o.describe_only && o.param_types)
		bind_set_param_sink(o.param_types, o.nparams);
	int rc = exec_statement_in(c, sql, &o, pl, t0, &cp, &d, out, e);
	bind_set_param_sink(NULL, 0);
	session_user = su;
	session_db = sd;
	return rc;
}

static int
exec_statement_in(Catalog *c, const char *sql, const QueryOpts *op, int pl, int64_t t0, CachedPlan **cpp,
		  Derived *dp, ResultSet **out, Err *e)
{
	QueryOpts o = *op;
	CachedPlan *cp = *cpp;
	Derived d = *dp;
	/* parameter types are learned while binding: never from the cache */
	int rc = plan_for(c, sql, pl, o.param_types != NULL, &o, &cp, &d, e);
	if (rc == NEEDS_DERIVED) {
		ExecLimits lim = limits_of(NULL, &o);
		lim.skip_upsert |= set_skip_upsert(d.q);
		/* derived tables, joins and window inputs are materialized:
		 * they count against a budget of the statement's own */
		MemBudget *sb = mem_calloc(1, sizeof(MemBudget));
		if (sb == NULL) {
			arena_free(&d.a);
			return err_set(e, ERR_NOMEM, "out of memory");
		}
		mem_budget_init(sb, lim.mem_limit);
		MemBudget *old = mem_budget_set(sb);
		ResultSet *rs = mem_calloc(1, sizeof(ResultSet));
		rc = rs ? 0 : err_set(e, ERR_NOMEM, "out of memory");
		if (rs) {
			arena_init(&rs->arena, 16 * 1024);
			rs->budget = sb;
		}
		if (rc == 0)
			rc = d.q->explain ? explain_derived(c, d.q, pl, &d.a, rs, e)
					  : run_ast(c, d.q, pl, &lim, 0, &d.a, rs, e);
		mem_budget_set(old);
		if (rc == ERR_NOMEM && atomic_load(&sb->exceeded)) {
			err_reset(e, ERR_MEM_LIMIT,
				  "query exceeded its memory budget of %zu MiB with the rows of its subqueries, joins "
				  "or window functions; make it need less or raise queryOptions maxMemoryBytes up to "
				  "the server's ceiling",
				  sb->limit >> 20);
			rc = ERR_MEM_LIMIT;
		}
		arena_free(&d.a);
		if (rs == NULL)
			mem_free(sb);
		if (rc != 0) {
			result_free(rs);
			return rc;
		}
		rs->stats.time_used_ms = (clock_mono_ns() - t0) / 1000000;
		*out = rs;
		return 0;
	}
	if (rc != 0)
		return rc;
	const Plan *p = cp->plan;
	ResultSet *rs = mem_calloc(1, sizeof(ResultSet));
	if (rs == NULL) {
		cp_release(cp);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	arena_init(&rs->arena, 16 * 1024);
	if (p->table)
		rs->table = arena_strdup(&rs->arena, p->table);
	ExecLimits lim = limits_of(p, &o);

	rc = run_plan(c, p, &lim, rs, e);
	if (rc == ERR_BUSY && p->table && !p->systables) {
		/* columns were added between binding and the snapshot: bind
		 * afresh and run once more */
		cp_release(cp);
		cp = NULL;
		err_clear(e);
		if ((rc = plan_for(c, sql, pl, 1, &o, &cp, &d, e)) == 0) {
			p = cp->plan;
			rc = run_plan(c, p, &lim, rs, e);
		}
	}
	cp_release(cp);
	if (rc != 0) {
		result_free(rs);
		return rc;
	}
	rs->stats.time_used_ms = (clock_mono_ns() - t0) / 1000000;
	*out = rs;
	return 0;
}

void
result_free(ResultSet *r)
{
	if (r == NULL)
		return;
	struct MemBudget *b = r->budget;
	arena_free(&r->arena);
	mem_free(r);
	mem_free(b);
}

int
query_parse_options(const char *s, QueryOpts *opts, Err *e)
{
	if (s == NULL)
		return 0;
	while (*s) {
		const char *end = strchr(s, ';');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		char kv[256];
		if (len >= sizeof(kv))
			return err_set(e, ERR_INVALID, "queryOptions entry too long");
		memcpy(kv, s, len);
		kv[len] = '\0';
		char *eq = strchr(kv, '=');
		if (eq != NULL) {
			*eq = '\0';
			char *k = kv, *v = eq + 1;
			while (*k == ' ')
				k++;
			for (char *t = k + strlen(k); t > k && t[-1] == ' ';)
				*--t = '\0';
			while (*v == ' ')
				v++;
			char *endp;
			if (strcasecmp(k, "timeoutMs") == 0) {
				long long x = strtoll(v, &endp, 10);
				if (endp == v || x < 0)
					return err_set(e, ERR_INVALID, "queryOptions timeoutMs: bad value '%s'", v);
				opts->timeout_ms = x;
			} else if (strcasecmp(k, "maxRows") == 0 || strcasecmp(k, "maxRowsInResult") == 0) {
				long long x = strtoll(v, &endp, 10);
				if (endp == v || x < 0)
					return err_set(e, ERR_INVALID, "queryOptions %s: bad value '%s'", k, v);
				opts->max_rows = (size_t)x;
			} else if (strcasecmp(k, "maxMemoryBytes") == 0) {
				long long x = strtoll(v, &endp, 10);
				if (endp == v || x < 0)
					return err_set(e, ERR_INVALID, "queryOptions %s: bad value '%s'", k, v);
				opts->mem_limit = (size_t)x;
			} else if (strcasecmp(k, "numGroupsLimit") == 0 || strcasecmp(k, "maxGroups") == 0) {
				long long x = strtoll(v, &endp, 10);
				if (endp == v || x < 0)
					return err_set(e, ERR_INVALID, "queryOptions %s: bad value '%s'", k, v);
				opts->max_groups = (size_t)x;
			} else if (strcasecmp(k, "pinotDefaultLimit") == 0) {
				opts->pinot_default_limit = strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0;
			} else if (strcasecmp(k, "useMultiStageEngine") == 0) {
				opts->pinot_dialect = strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0;
			} else if (strcasecmp(k, "enableNullHandling") == 0) {
				opts->no_null_handling = strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0;
			} else if (strcasecmp(k, "skipUpsert") == 0) {
				opts->skip_upsert = strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0;
			}
		}
		if (end == NULL)
			break;
		s = end + 1;
	}
	return 0;
}

/* ---- Pinot broker response -------------------------------------------- */

static const char *
pinot_type(WbType t)
{
	switch (t) {
	case TYPE_INT: return "INT";
	case TYPE_LONG: return "LONG";
	case TYPE_FLOAT: return "FLOAT";
	case TYPE_DOUBLE: return "DOUBLE";
	case TYPE_BOOLEAN: return "BOOLEAN";
	case TYPE_TIMESTAMP: return "TIMESTAMP";
	case TYPE_JSON: return "JSON";
	case TYPE_BYTES: return "BYTES";
	default: return "STRING";
	}
}

static void
pinot_scalar(const Value *v, Buf *b)
{
	if (v->null) {
		buf_puts(b, "null");
		return;
	}
	if (v->type == TYPE_TIMESTAMP) {
		buf_putc(b, '"');
		expr_ts_format(v->u.i, b);
		buf_putc(b, '"');
		return;
	}
	value_json(v, b);
}

static void
pinot_value(const Value *v, Buf *b)
{
	if (v->mv && !v->null) {
		buf_putc(b, '[');
		for (uint32_t i = 0; i < v->n; i++) {
			if (i)
				buf_putc(b, ',');
			pinot_scalar(&v->u.mv[i], b);
		}
		buf_putc(b, ']');
		return;
	}
	if (v->mv) {
		buf_puts(b, "[]");
		return;
	}
	pinot_scalar(v, b);
}

static const char *
pinot_err_name(int pinot)
{
	switch (pinot) {
	case 150: return "SQLParsingError";
	case 190: return "TableDoesNotExistError";
	case 710: return "UnknownColumnError";
	case 250: return "ExecutionTimeoutError";
	case 503: return "QueryCancellationError";
	default: return "QueryExecutionError";
	}
}

void
query_pinot_response(Catalog *c, const char *sql, const char *query_options, Buf *out)
{
	QueryOpts o = {0};
	Err e;
	err_clear(&e);
	ResultSet *rs = NULL;
	int64_t t0 = clock_mono_ns();
	int rc = query_parse_options(query_options, &o, &e);
	if (rc == 0)
		rc = query_exec(c, sql, &o, &rs, &e);
	uint64_t rid = atomic_fetch_add(&next_request_id, 1);

	buf_putc(out, '{');
	if (rc == 0) {
		buf_puts(out, "\"resultTable\":{\"dataSchema\":{\"columnNames\":[");
		for (int i = 0; i < rs->ncols; i++) {
			if (i)
				buf_putc(out, ',');
			buf_json_str(out, rs->cols[i].name, strlen(rs->cols[i].name));
		}
		buf_puts(out, "],\"columnDataTypes\":[");
		for (int i = 0; i < rs->ncols; i++) {
			if (i)
				buf_putc(out, ',');
			buf_printf(out, "\"%s%s\"", pinot_type(rs->cols[i].type), rs->cols[i].mv ? "_ARRAY" : "");
		}
		buf_puts(out, "]},\"rows\":[");
		for (size_t r = 0; r < rs->nrows; r++) {
			buf_puts(out, r ? ",[" : "[");
			for (int i = 0; i < rs->ncols; i++) {
				if (i)
					buf_putc(out, ',');
				pinot_value(&rs->rows[r * (size_t)rs->ncols + i], out);
			}
			buf_putc(out, ']');
		}
		buf_puts(out, "]},\"exceptions\":[],");
	} else {
		int pc = err_pinot_code(rc);
		char msg[ERR_MSG_MAX + 64];
		snprintf(msg, sizeof(msg), "%s: %s", pinot_err_name(pc), err_msg(&e));
		buf_printf(out, "\"exceptions\":[{\"errorCode\":%d,\"message\":", pc);
		buf_json_str(out, msg, strlen(msg));
		buf_puts(out, "}],");
	}
	QueryStats st = rs ? rs->stats : (QueryStats){0};
	buf_printf(out,
		   "\"numServersQueried\":1,\"numServersResponded\":%d,\"numSegmentsQueried\":%d,"
		   "\"numSegmentsProcessed\":%d,\"numSegmentsMatched\":%d,\"numConsumingSegmentsQueried\":%d,"
		   "\"numSegmentsPrunedByServer\":%d,\"numSegmentsPrunedInvalid\":%d,"
		   "\"numSegmentsPrunedByLimit\":%d,\"numSegmentsPrunedByValue\":%d,"
		   "\"numDocsScanned\":%" PRIu64 ",\"numEntriesScannedInFilter\":%" PRIu64
		   ",\"numEntriesScannedPostFilter\":%" PRIu64 ",\"numGroupsLimitReached\":false,"
		   "\"partialResult\":%s,\"totalDocs\":%" PRIu64 ",\"timeUsedMs\":%lld,\"numRowsResultSet\":%zu,",
		   rc == 0 ? 1 : 0, st.num_segments_queried, st.num_segments_processed, st.num_segments_matched,
		   st.num_consuming_segments_queried, st.num_segments_pruned_by_server,
		   st.num_segments_pruned_invalid, st.num_segments_pruned_by_limit, st.num_segments_pruned_by_value,
		   st.num_docs_scanned, st.num_entries_scanned_in_filter,
		   st.num_entries_scanned_post_filter, rs && rs->partial ? "true" : "false", st.total_docs,
		   (long long)((clock_mono_ns() - t0) / 1000000), rs ? rs->nrows : (size_t)0);
	if (rs && rs->partial) {
		buf_puts(out, "\"warning\":");
		buf_json_str(out, rs->warning, strlen(rs->warning));
		buf_putc(out, ',');
	}
	buf_printf(out, "\"requestId\":\"%" PRIu64 "\",\"brokerId\":\"Broker_waybill\",\"tablesQueried\":[", rid);
	if (rs && rs->table)
		buf_json_str(out, rs->table, strlen(rs->table));
	buf_puts(out, "]}");
	result_free(rs);
}
