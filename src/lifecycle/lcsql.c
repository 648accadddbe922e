/*
 * lcsql.c -- life-cycle answers as SQL table functions, so dashboards and
 * the PostgreSQL wire get what the HTTP API gives:
 *
 *   SELECT * FROM flow_stuck('order') WHERE market = 'MX'
 *   SELECT * FROM flow_gaps('order')
 *   SELECT * FROM flow_funnel('order' [, from_ms, to_ms])
 *   SELECT * FROM flow_attribution('order' [, 'window', 'baseline'])
 *   SELECT * FROM flow_timeline('order', 'o4c69ff-0000002')
 *
 * (Each entity's state is the table <flow>_state.)  How: the functions
 * are registered with the SQL engine (query_register_table_fn) while a
 * Lifecycle is open; a call finds the Lifecycle of the statement's
 * catalog, asks the same question the HTTP API asks (lifecycle_query /
 * lifecycle_entity: one code path, the same numbers) and turns the JSON
 * answer into rows by a column table per function: JSON key, SQL type.
 * stuck and gaps give every matching entity (no page limit).
 *
 * Ownership: the registry of open Lifecycles (one per catalog) is a
 * small mutex-guarded array; the rows live in the ResultSet's arena.
 *
 * Exports: lcsql_register, lcsql_unregister.
 */
#include "lifecycle/lcsql.h"
#include "base/arena.h"
#include "base/mem.h"
#include "query/query.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define MAX_OPEN 16

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	Catalog *cat;
	Lifecycle *lc;
} open_lcs[MAX_OPEN];
static int nopen;

/* A result column: its name, the JSON key it comes from ("dims.X" for a
 * dimension), its type. */
typedef struct Col {
	const char *name;
	const char *key;
	WbType type;
} Col;

static const Col STUCK_COLS[] = {
	{"key", "key", TYPE_STRING},		{"stage", "stage", TYPE_STRING},
	{"since", "since", TYPE_LONG},		{"deadline", "deadline", TYPE_LONG},
	{"overdue_ms", "overdueMs", TYPE_LONG}, {"holder", "holder", TYPE_STRING},
	{"last_service", "lastService", TYPE_STRING},
	{"last_event", "lastEvent", TYPE_STRING},
	{"last_ts", "lastTs", TYPE_LONG},
};
static const Col GAP_COLS[] = {
	{"key", "key", TYPE_STRING},	   {"kind", "kind", TYPE_STRING},
	{"stages", "stages", TYPE_STRING}, {"stage", "stage", TYPE_STRING},
	{"detail", "detail", TYPE_STRING}, {"last_ts", "lastTs", TYPE_LONG},
};
static const Col FUNNEL_COLS[] = {
	{"stage", "stage", TYPE_STRING},	   {"count", "count", TYPE_LONG},
	{"conversion", "conversion", TYPE_DOUBLE}, {"p50_ms", "p50Ms", TYPE_LONG},
	{"p95_ms", "p95Ms", TYPE_LONG},
};
static const Col ATTR_COLS[] = {
	{"kind", "", TYPE_STRING},
	{"name", "", TYPE_STRING},
	{"stuck", "stuck", TYPE_LONG},
	{"late", "late", TYPE_LONG},
	{"baseline_late", "baselineLate", TYPE_LONG},
	{"share", "share", TYPE_DOUBLE},
	{"baseline_share", "baselineShare", TYPE_DOUBLE},
	{"excess", "excess", TYPE_DOUBLE},
};
static const Col TIMELINE_COLS[] = {
	{"key", "", TYPE_STRING},	 {"ts", "ts", TYPE_LONG},
	{"stage", "stage", TYPE_STRING}, {"service", "service", TYPE_STRING},
	{"table", "table", TYPE_STRING}, {"event", "event", TYPE_STRING},
};

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Lifecycle *
find_lc(Catalog *c)
{
	for (int i = 0; i < nopen; i++)
		if (open_lcs[i].cat == c)
			return open_lcs[i].lc;
	return NULL;
}

/* The text of argument i, or NULL. */
static const char *
arg_text(const Value *args, int nargs, int i, Arena *a, Buf *tmp)
{
	if (i >= nargs || args[i].null || args[i].mv)
		return NULL;
	buf_reset(tmp);
	if (args[i].type == TYPE_STRING || args[i].type == TYPE_JSON)
		buf_append(tmp, args[i].u.s, args[i].n);
	else
		value_format(&args[i], tmp);
	return arena_strndup(a, tmp->p ? tmp->p : "", tmp->len);
}

typedef struct Args {
	const char *names[8];
	const char *vals[8];
	int n;
} Args;

static const char *
args_get(void *ctx, const char *name)
{
	Args *a = ctx;
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->names[i], name) == 0)
			return a->vals[i];
	return NULL;
}

static Value
json_value(const cJSON *x, WbType t, Arena *a)
{
	if (x == NULL || cJSON_IsNull(x))
		return value_null(t);
	if (t == TYPE_STRING) {
		const char *s = NULL;
		char *buf = NULL;
		if (cJSON_IsString(x)) {
			s = x->valuestring;
		} else {
			buf = cJSON_PrintUnformatted(x);	/* arrays of stages */
			s = buf;
		}
		if (s == NULL)
			return value_null(t);
		size_t n = strlen(s);
		if (cJSON_IsArray(x) && n >= 2) {	/* ["a","b"] -> a,b */
			char *o = arena_alloc(a, n + 1), *w = o;
			if (o == NULL) {
				cJSON_free(buf);
				return value_null(t);
			}
			for (const char *p = s + 1; p < s + n - 1; p++)
				if (*p != '"')
					*w++ = *p;
			*w = '\0';
			cJSON_free(buf);
			return value_str(t, o, (uint32_t)(w - o));
		}
		char *c = arena_strndup(a, s, n);
		cJSON_free(buf);
		return c ? value_str(t, c, (uint32_t)n) : value_null(t);
	}
	if (!cJSON_IsNumber(x))
		return value_null(t);
	if (t == TYPE_DOUBLE)
		return value_double(t, x->valuedouble);
	return value_int(t, (int64_t)x->valuedouble);
}

/* Appends the rows of array arr (objects) to r; fixed[k] (may be NULL)
 * overrides the first nfixed columns. */
static int
add_rows(ResultSet *r, const Col *cols, int ncols, int ndims, const char *const *dims,
	 const cJSON *arr, const char *const *fixed, int nfixed)
{
	int total = ncols + ndims;
	size_t n = (size_t)cJSON_GetArraySize(arr);
	Value *rows = arena_alloc(&r->arena, sizeof(Value) * (r->nrows + n) * (size_t)total + 1);
	if (rows == NULL)
		return ERR_NOMEM;
	if (r->nrows)
		memcpy(rows, r->rows, sizeof(Value) * r->nrows * (size_t)total);
	r->rows = rows;
	const cJSON *o;
	cJSON_ArrayForEach(o, arr)
	{
		Value *row = rows + r->nrows * (size_t)total;
		for (int c = 0; c < ncols; c++) {
			if (c < nfixed && fixed[c]) {
				size_t len = strlen(fixed[c]);
				char *s = arena_strndup(&r->arena, fixed[c], len);
				row[c] = s ? value_str(TYPE_STRING, s, (uint32_t)len)
					   : value_null(TYPE_STRING);
				continue;
			}
			row[c] = json_value(cJSON_GetObjectItemCaseSensitive(o, cols[c].key),
					    cols[c].type, &r->arena);
		}
		const cJSON *dj = cJSON_GetObjectItemCaseSensitive(o, "dims");
		for (int k = 0; k < ndims; k++)
			row[ncols + k] = json_value(cJSON_GetObjectItemCaseSensitive(dj, dims[k]),
						    TYPE_STRING, &r->arena);
		r->nrows++;
	}
	return 0;
}

static int
set_cols(ResultSet *r, const Col *cols, int ncols, int ndims, const char *const *dims)
{
	r->ncols = ncols + ndims;
	r->cols = arena_calloc(&r->arena, sizeof(ResultCol) * (size_t)(r->ncols + 1));
	if (r->cols == NULL)
		return ERR_NOMEM;
	for (int c = 0; c < ncols; c++)
		r->cols[c] = (ResultCol){cols[c].name, cols[c].type, 0, 0};
	for (int k = 0; k < ndims; k++)
		r->cols[ncols + k] = (ResultCol){arena_strdup(&r->arena, dims[k]), TYPE_STRING, 0, 0};
	return 0;
}

static int
table_fn(void *ctx, Catalog *c, const char *name, const Value *args, int nargs, ResultSet **out,
	 Err *e)
{
	(void)ctx;
	pthread_mutex_lock(&mu);
	Lifecycle *lc = find_lc(c);
	pthread_mutex_unlock(&mu);
	/* (a Lifecycle unregisters before it closes, and the query engine
	 * holds its read lock over this call: lc stays valid) */
	if (lc == NULL)
		return err_set(e, ERR_UNSUPPORTED, "%s: life-cycle tracking is not running", name);
	ResultSet *r = query_result_new();
	if (r == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	*out = r;
	Buf tmp;
	buf_init(&tmp);
	const char *flow = arg_text(args, nargs, 0, &r->arena, &tmp);
	int rc = 0;
	const char *dims[8];
	int ndims = 0;
	if (flow == NULL)
		rc = err_set(e, ERR_INVALID, "%s(flow, ...): the flow's name is missing", name);
	else if ((ndims = lifecycle__dims(lc, flow, dims, 8, &r->arena, e)) < 0)
		rc = ndims;
	Args qa = {.n = 0};
	const char *what = NULL;
	const Col *cols = NULL;
	int ncols = 0, maxargs = 1;
	if (rc == 0) {
		if (strcmp(name, "flow_stuck") == 0) {
			what = "stuck", cols = STUCK_COLS, ncols = NELEM(STUCK_COLS);
		} else if (strcmp(name, "flow_gaps") == 0) {
			what = "gaps", cols = GAP_COLS, ncols = NELEM(GAP_COLS);
		} else if (strcmp(name, "flow_funnel") == 0) {
			what = "funnel", cols = FUNNEL_COLS, ncols = NELEM(FUNNEL_COLS), ndims = 0;
			maxargs = 3;
			qa.names[qa.n] = "from", qa.vals[qa.n++] = arg_text(args, nargs, 1, &r->arena, &tmp);
			qa.names[qa.n] = "to", qa.vals[qa.n++] = arg_text(args, nargs, 2, &r->arena, &tmp);
		} else if (strcmp(name, "flow_attribution") == 0) {
			what = "attribution", cols = ATTR_COLS, ncols = NELEM(ATTR_COLS), ndims = 0;
			maxargs = 3;
			qa.names[qa.n] = "window",
			qa.vals[qa.n++] = arg_text(args, nargs, 1, &r->arena, &tmp);
			qa.names[qa.n] = "baseline",
			qa.vals[qa.n++] = arg_text(args, nargs, 2, &r->arena, &tmp);
		} else {
			cols = TIMELINE_COLS, ncols = NELEM(TIMELINE_COLS), ndims = 0;
			maxargs = 2;
		}
		if (nargs > maxargs)
			rc = err_set(e, ERR_INVALID, "%s takes at most %d arguments, got %d", name,
				     maxargs, nargs);
	}
	qa.names[qa.n] = "_all", qa.vals[qa.n++] = "1";
	if (rc == 0)
		rc = set_cols(r, cols, ncols, ndims, dims);
	Buf ans;
	buf_init(&ans);
	if (rc == 0) {
		if (what)
			rc = lifecycle_query(lc, flow, what, args_get, &qa, &ans, e);
		else {
			const char *key = arg_text(args, nargs, 1, &r->arena, &tmp);
			if (key == NULL)
				rc = err_set(e, ERR_INVALID, "flow_timeline(flow, key): the key is missing");
			else {
				rc = lifecycle_entity(lc, flow, key, &ans, e);
				if (rc == ERR_NOT_FOUND && strstr(e->msg, "no entity")) {
					rc = 0;	/* no rows */
					err_clear(e);
					buf_puts(&ans, "{\"timeline\":[]}");
				}
			}
		}
	}
	cJSON *j = rc == 0 ? cJSON_Parse(ans.p) : NULL;
	if (rc == 0 && j == NULL)
		rc = err_set(e, ERR_INTERNAL, "%s: unreadable answer", name);
	if (rc == 0) {
		if (what && strcmp(what, "attribution") == 0) {
			const char *fs[2] = {"service", NULL};
			const cJSON *x;
			cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(j, "services"))
			{
				const cJSON *nm = cJSON_GetObjectItemCaseSensitive(x, "service");
				fs[1] = cJSON_IsString(nm) ? nm->valuestring : NULL;
				cJSON *one = cJSON_CreateArray();
				cJSON_AddItemReferenceToArray(one, (cJSON *)x);
				rc = rc ? rc : add_rows(r, cols, ncols, 0, NULL, one, fs, 2);
				cJSON_Delete(one);
			}
			fs[0] = "stage";
			cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(j, "stages"))
			{
				const cJSON *nm = cJSON_GetObjectItemCaseSensitive(x, "stage");
				fs[1] = cJSON_IsString(nm) ? nm->valuestring : NULL;
				cJSON *one = cJSON_CreateArray();
				cJSON_AddItemReferenceToArray(one, (cJSON *)x);
				rc = rc ? rc : add_rows(r, cols, ncols, 0, NULL, one, fs, 2);
				cJSON_Delete(one);
			}
		} else if (what && strcmp(what, "funnel") == 0) {
			rc = add_rows(r, cols, ncols, 0, NULL, cJSON_GetObjectItemCaseSensitive(j, "stages"),
				      NULL, 0);
		} else if (what) {
			rc = add_rows(r, cols, ncols, ndims, dims,
				      cJSON_GetObjectItemCaseSensitive(j, "entities"), NULL, 0);
		} else {
			const char *fs[1] = {arg_text(args, nargs, 1, &r->arena, &tmp)};
			rc = add_rows(r, cols, ncols, 0, NULL,
				      cJSON_GetObjectItemCaseSensitive(j, "timeline"), fs, 1);
		}
		if (rc)
			rc = err_set(e, rc, "%s: out of memory", name);
	}
	cJSON_Delete(j);
	buf_free(&ans);
	buf_free(&tmp);
	return rc;
}

static const char *const FNS[] = {"flow_stuck", "flow_gaps", "flow_funnel", "flow_attribution",
				  "flow_timeline"};

void
lcsql_register(Catalog *c, Lifecycle *lc)
{
	pthread_mutex_lock(&mu);
	int i;
	for (i = 0; i < nopen; i++)
		if (open_lcs[i].cat == c)
			break;
	if (i < MAX_OPEN) {
		open_lcs[i].cat = c;
		open_lcs[i].lc = lc;
		if (i == nopen)
			nopen++;
	}
	pthread_mutex_unlock(&mu);
	for (size_t k = 0; k < sizeof(FNS) / sizeof(FNS[0]); k++)
		query_register_table_fn(FNS[k], table_fn, NULL);
}

void
lcsql_unregister(Catalog *c)
{
	pthread_mutex_lock(&mu);
	for (int i = 0; i < nopen; i++)
		if (open_lcs[i].cat == c) {
			open_lcs[i] = open_lcs[--nopen];
			break;
		}
	int left = nopen;
	pthread_mutex_unlock(&mu);
	/* re-registering takes the engine's write lock: calls in flight end
	 * first, so no call still uses the Lifecycle being closed */
	for (size_t k = 0; k < sizeof(FNS) / sizeof(FNS[0]); k++)
		query_register_table_fn(FNS[k], left ? table_fn : NULL, NULL);
}
