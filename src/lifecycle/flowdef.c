/*
 * flowdef.c -- parses, checks and renders flow definitions (flowdef.h),
 * and derives the stage-graph masks the entity state uses on every event.
 *
 * How it works: the JSON of POST /flows is parsed with cJSON and read
 * strictly: every object's keys are checked against the keys this module
 * knows (an unknown or repeated key is an error naming it), every value's
 * type is checked, and every error names the JSON path at fault
 * ("stages[3].next[0]: no stage \"pakcing\"").  The stages are read
 * first (names, then the terminal lists, then "next", whose default
 * depends on whether a stage is terminal), so that the sources' stageMap
 * values can be resolved to stage indexes.  A source is a table name or
 * an object; "sourceDefaults" supplies every field a source leaves out
 * (an explicit null in a source means "none" and overrides the default;
 * a source's own stageColumn or stageExpr replaces both defaults).
 * A stage may also be given as a bare name string (no SLA, default next).
 * Stage names must differ ignoring case (they become column names
 * t_<stage> of the state table); lookups (flowdef_stage) are exact.
 *
 * Derived masks (bit i = stage i), computed once after parsing:
 *   desc[s]  stages reachable from s by one or more "next" edges
 *   anc[s]   stages from which s is reachable (s itself only on a cycle)
 *   dom[s]   stages on every path from stage 0 to s, s excluded: the
 *            usual iterative dataflow (dom[0] = 0; every other reachable
 *            stage starts at all-ones and becomes the intersection over
 *            its reachable predecessors p of dom[p] | p until nothing
 *            changes); unreachable stages get 0
 *   terminal stages listed in successStages, failureStages, cancelStages
 *
 * flowdef_to_json writes the canonical form: every source spelled out (no
 * sourceDefaults), every field present (null when unset), "sla" as a
 * duration string such as "1h30m", "next" always explicit.  Parsing it
 * again gives an equal FlowDef.
 *
 * Ownership: a FlowDef and every string and array in it are separate
 * mem_* blocks owned by the FlowDef and released by flowdef_free, which
 * also accepts a partly built definition.  cJSON's tree is freed before
 * flowdef_parse returns.
 *
 * Failure: ERR_BAD_JSON (with the byte offset) for malformed JSON,
 * ERR_BAD_CONFIG with the path and the reason for anything invalid,
 * ERR_NOMEM.  flowdef_check: ERR_NOT_FOUND for a missing table,
 * ERR_BAD_CONFIG for a missing column or one of an unusable type.
 *
 * Exports: flowdef_parse, flowdef_check, flowdef_to_json, flowdef_free,
 * flowdef_stage, flowdef_duration, flowdef_format_duration.
 */
#include "lifecycle/flowdef.h"
#include "base/jsondoc.h"
#include "base/mem.h"
#include "table/schema.h"
#include "table/table.h"
#include "table/tblconfig.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DURATION_MS (3650LL * 86400000LL) /* 10 years, exclusive */
#define MAX_COL_LEN     255                   /* a column or table name */
#define MAX_EXPR_LEN    65536                 /* a stageExpr */
#define MAX_MAP         100000                /* stageMap entries per source */
#define SHOW            80                    /* bytes of a user string quoted in errors */

static const char *const top_keys[] = {
        "name",          "entityKey",    "sourceDefaults", "sources",    "stages", "successStages",
        "failureStages", "cancelStages", "dimensions",     "gapGraceMs", "clock",  NULL};
static const char *const source_keys[] = {"table",         "keyColumn",   "stageColumn",
                                          "stageExpr",     "stageMap",    "timeColumn",
                                          "serviceColumn", "eventColumn", NULL};
/* sourceDefaults: every source field but the table */
static const char *const default_keys[] = {"keyColumn",  "stageColumn",   "stageExpr",   "stageMap",
                                           "timeColumn", "serviceColumn", "eventColumn", NULL};
static const char *const stage_keys[] = {"name", "sla", "next", NULL};
static const char *const kind_lists[] = {NULL, "successStages", "failureStages", "cancelStages"};

static int
bad(Err *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = err_setv(e, ERR_BAD_CONFIG, fmt, ap);
	va_end(ap);
	return rc;
}

static int
nomem(Err *e)
{
	return err_set(e, ERR_NOMEM, "out of memory");
}

/* Length of s to quote in a message: at most SHOW bytes. */
static int
showlen(const char *s)
{
	size_t n = strlen(s);
	return n > SHOW ? SHOW : (int)n;
}

static int
is_ident(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > FLOW_NAME_MAX || isdigit((unsigned char)s[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

/* Every key of obj must be in keys[] and appear once; path names obj
 * ("" for the top level). */
static int
check_keys(const cJSON *obj, const char *path, const char *const *keys, Err *e)
{
	const char *sep = path[0] ? ": " : "";
	int seen[16] = {0};
	for (const cJSON *it = obj->child; it; it = it->next) {
		const char *k = it->string ? it->string : "";
		int i = 0;
		while (keys[i] && strcmp(keys[i], k) != 0)
			i++;
		if (keys[i] == NULL)
			return bad(e, "%s%sunknown key \"%.*s\"", path, sep, showlen(k), k);
		if (seen[i]++)
			return bad(e, "%s%skey \"%s\" is given twice", path, sep, k);
	}
	return 0;
}

static const cJSON *
item(const cJSON *obj, const char *key)
{
	return obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

/* A column name, table name or expression: absent or null (ok only when
 * nullable) or a non-empty string of at most max bytes. */
static int
check_str(const cJSON *v, const char *path, const char *key, int nullable, size_t max, Err *e)
{
	const char *dot = path[0] ? "." : "";
	if (v == NULL || cJSON_IsNull(v)) {
		if (nullable)
			return 0;
		return bad(e, "%s%s%s: is required", path, dot, key);
	}
	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return bad(e, "%s%s%s: expected a string", path, dot, key);
	size_t n = strlen(v->valuestring);
	if (n == 0)
		return bad(e, "%s%s%s: must not be empty", path, dot, key);
	if (n > max)
		return bad(e, "%s%s%s: longer than %zu bytes", path, dot, key, max);
	return 0;
}

static int
check_ident(const cJSON *v, const char *key, Err *e)
{
	int rc = check_str(v, "", key, 0, MAX_COL_LEN, e);
	if (rc)
		return rc;
	if (!is_ident(v->valuestring))
		return bad(e,
		           "%s: \"%.*s\" is not a name ([A-Za-z_][A-Za-z0-9_]*, at most %d bytes)",
		           key, showlen(v->valuestring), v->valuestring, FLOW_NAME_MAX);
	return 0;
}

static int
dup_str(const char *s, char **out, Err *e)
{
	*out = NULL;
	if (s == NULL)
		return 0;
	*out = mem_strdup(s);
	return *out ? 0 : nomem(e);
}

int
flowdef_stage(const FlowDef *d, const char *name, size_t len)
{
	if (d == NULL || name == NULL)
		return -1;
	for (int i = 0; i < d->nstages; i++) {
		const char *s = d->stages[i].name;
		if (s && strncmp(s, name, len) == 0 && s[len] == '\0')
			return i;
	}
	return -1;
}

static int
stage_of(const FlowDef *d, const char *name)
{
	return flowdef_stage(d, name, strlen(name));
}

/* A stage name from a JSON array element (path[i] in messages). */
static int
stage_ref(const FlowDef *d, const cJSON *v, const char *path, int i, int *out, Err *e)
{
	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return bad(e, "%s[%d]: expected a stage name", path, i);
	*out = stage_of(d, v->valuestring);
	if (*out < 0)
		return bad(e, "%s[%d]: no stage \"%.*s\"", path, i, showlen(v->valuestring),
		           v->valuestring);
	return 0;
}

/* ---- durations ---- */

int
flowdef_duration(const char *s, int64_t *ms)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {{"d", 86400000}, {"h", 3600000}, {"ms", 1}, {"m", 60000}, {"s", 1000}};
	/* units in the order they may appear: d h m s ms */
	static const int rank[] = {0, 1, 4, 2, 3};
	if (s == NULL || *s == '\0')
		return -1;
	int64_t total = 0;
	int last = -1;
	while (*s) {
		if (!isdigit((unsigned char)*s))
			return -1;
		int64_t n = 0;
		int digits = 0;
		while (isdigit((unsigned char)*s)) {
			if (++digits > 15)
				return -1;
			n = n * 10 + (*s++ - '0');
		}
		int u = 0;
		while (u < 5 && strncmp(s, units[u].unit, strlen(units[u].unit)) != 0)
			u++;
		if (u == 5 || rank[u] <= last)
			return -1;
		last = rank[u];
		s += strlen(units[u].unit);
		int64_t part;
		if (__builtin_mul_overflow(n, units[u].ms, &part) ||
		    __builtin_add_overflow(total, part, &total))
			return -1;
	}
	*ms = total;
	return 0;
}

void
flowdef_format_duration(int64_t ms, Buf *out)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
	if (ms <= 0) {
		buf_puts(out, "0ms");
		return;
	}
	for (int u = 0; u < 5; u++) {
		int64_t n = ms / units[u].ms;
		if (n > 0) {
			buf_i64(out, n);
			buf_puts(out, units[u].unit);
			ms -= n * units[u].ms;
		}
	}
}

/* ---- stages ---- */

static int
parse_sla(const cJSON *v, const char *path, int64_t *ms, Err *e)
{
	*ms = 0;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (cJSON_IsNumber(v)) {
		double sec = v->valuedouble;
		if (!(sec > 0) || sec * 1000.0 >= (double)MAX_DURATION_MS)
			return bad(e, "%s.sla: must be more than 0 and less than 10 years", path);
		*ms = (int64_t)llround(sec * 1000.0);
		if (*ms <= 0)
			return bad(e, "%s.sla: must be at least 1ms", path);
		return 0;
	}
	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return bad(e, "%s.sla: expected a duration (\"30m\", \"1h30m\") or seconds", path);
	if (flowdef_duration(v->valuestring, ms) != 0)
		return bad(e,
		           "%s.sla: \"%.*s\" is not a duration (e.g. \"250ms\", \"45s\", \"30m\", "
		           "\"6h\", \"2d\", \"1h30m\")",
		           path, showlen(v->valuestring), v->valuestring);
	if (*ms <= 0 || *ms >= MAX_DURATION_MS)
		return bad(e, "%s.sla: must be more than 0 and less than 10 years", path);
	return 0;
}

/* Pass 1: names and SLAs. */
static int
parse_stage_names(FlowDef *d, const cJSON *arr, Err *e)
{
	if (arr == NULL || cJSON_IsNull(arr))
		return bad(e, "stages: is required");
	if (!cJSON_IsArray(arr))
		return bad(e, "stages: expected an array");
	int n = cJSON_GetArraySize(arr);
	if (n < 1 || n > FLOW_MAX_STAGES)
		return bad(e, "stages: expected 1 to %d stages, got %d", FLOW_MAX_STAGES, n);
	d->stages = mem_calloc((size_t)n, sizeof(FlowStage));
	if (d->stages == NULL)
		return nomem(e);
	d->nstages = n;
	int i = 0;
	for (const cJSON *it = arr->child; it; it = it->next, i++) {
		char path[32];
		snprintf(path, sizeof(path), "stages[%d]", i);
		const cJSON *nm = it;
		if (cJSON_IsObject(it)) {
			int rc = check_keys(it, path, stage_keys, e);
			if (rc)
				return rc;
			nm = item(it, "name");
			if (nm == NULL || cJSON_IsNull(nm))
				return bad(e, "%s.name: is required", path);
			if ((rc = parse_sla(item(it, "sla"), path, &d->stages[i].sla_ms, e)))
				return rc;
		} else if (!cJSON_IsString(it)) {
			return bad(e, "%s: expected an object or a stage name", path);
		}
		const char *what = nm == it ? "" : ".name";
		if (!cJSON_IsString(nm) || nm->valuestring == NULL)
			return bad(e, "%s%s: expected a string", path, what);
		const char *s = nm->valuestring;
		if (!is_ident(s))
			return bad(e,
			           "%s%s: \"%.*s\" is not a stage name ([A-Za-z_][A-Za-z0-9_]*, "
			           "at most %d bytes)",
			           path, what, showlen(s), s, FLOW_NAME_MAX);
		for (int j = 0; j < i; j++)
			if (strcasecmp(d->stages[j].name, s) == 0)
				return bad(e, "%s%s: stage \"%s\" is already stages[%d]%s", path,
				           what, s, j,
				           strcmp(d->stages[j].name, s)
				                   ? " (names are compared "
				                     "ignoring case: they become column names)"
				                   : "");
		int rc = dup_str(s, &d->stages[i].name, e);
		if (rc)
			return rc;
	}
	return 0;
}

static int
parse_kind_list(FlowDef *d, const cJSON *root, int kind, Err *e)
{
	const char *key = kind_lists[kind];
	const cJSON *arr = item(root, key);
	if (arr == NULL || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr))
		return bad(e, "%s: expected an array of stage names", key);
	int i = 0;
	for (const cJSON *it = arr->child; it; it = it->next, i++) {
		int s;
		int rc = stage_ref(d, it, key, i, &s, e);
		if (rc)
			return rc;
		int k = d->stages[s].kind;
		if (k == kind)
			return bad(e, "%s[%d]: \"%s\" is listed twice", key, i, d->stages[s].name);
		if (k != FLOW_STAGE_NORMAL)
			return bad(e, "%s[%d]: \"%s\" is already in %s", key, i, d->stages[s].name,
			           kind_lists[k]);
		d->stages[s].kind = kind;
	}
	return 0;
}

/* Pass 2: next (the default needs the kinds). */
static int
parse_next(FlowDef *d, const cJSON *arr, Err *e)
{
	int i = 0;
	for (const cJSON *it = arr->child; it; it = it->next, i++) {
		FlowStage *st = &d->stages[i];
		const cJSON *nx = cJSON_IsObject(it) ? item(it, "next") : NULL;
		if (nx == NULL || cJSON_IsNull(nx)) {
			if (st->kind == FLOW_STAGE_NORMAL && i + 1 < d->nstages) {
				st->nnext = 1;
				st->next[0] = i + 1;
			}
			continue;
		}
		char path[32];
		snprintf(path, sizeof(path), "stages[%d].next", i);
		if (!cJSON_IsArray(nx))
			return bad(e, "%s: expected an array of stage names", path);
		int n = cJSON_GetArraySize(nx);
		if (n > FLOW_MAX_STAGES)
			return bad(e, "%s: more than %d stages", path, FLOW_MAX_STAGES);
		int j = 0;
		for (const cJSON *x = nx->child; x; x = x->next, j++) {
			int s;
			int rc = stage_ref(d, x, path, j, &s, e);
			if (rc)
				return rc;
			for (int k = 0; k < st->nnext; k++)
				if (st->next[k] == s)
					return bad(e, "%s[%d]: \"%s\" is listed twice", path, j,
					           d->stages[s].name);
			st->next[st->nnext++] = s;
		}
	}
	return 0;
}

/* ---- sources ---- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Validates a stageMap (path is "sources[i]" or "sourceDefaults") and,
 * when s is not NULL, copies it into s. */
static int
parse_map(const FlowDef *d, const cJSON *m, const char *path, FlowSource *s, Err *e)
{
	if (m == NULL || cJSON_IsNull(m))
		return 0;
	if (!cJSON_IsObject(m))
		return bad(e, "%s.stageMap: expected an object of value -> stage name", path);
	int n = 0;
	for (const cJSON *it = m->child; it; it = it->next) {
		if (++n > MAX_MAP)
			return bad(e, "%s.stageMap: more than %d values", path, MAX_MAP);
		const char *k = it->string ? it->string : "";
		if (!cJSON_IsString(it) || it->valuestring == NULL)
			return bad(e, "%s.stageMap.%.*s: expected a stage name", path, showlen(k),
			           k);
		if (stage_of(d, it->valuestring) < 0)
			return bad(e, "%s.stageMap.%.*s: no stage \"%.*s\"", path, showlen(k), k,
			           showlen(it->valuestring), it->valuestring);
	}
	if (n == 0)
		return 0;
	const char **keys = mem_alloc((size_t)n * sizeof(char *));
	if (keys == NULL)
		return nomem(e);
	int i = 0;
	for (const cJSON *it = m->child; it; it = it->next)
		keys[i++] = it->string ? it->string : "";
	qsort(keys, (size_t)n, sizeof(char *), cmp_str);
	for (i = 1; i < n; i++)
		if (strcmp(keys[i - 1], keys[i]) == 0) {
			int rc = bad(e, "%s.stageMap: value \"%.*s\" is given twice", path,
			             showlen(keys[i]), keys[i]);
			mem_free(keys);
			return rc;
		}
	mem_free(keys);
	if (s == NULL)
		return 0;
	s->map_from = mem_calloc((size_t)n, sizeof(char *));
	s->map_to = mem_calloc((size_t)n, sizeof(int));
	if (s->map_from == NULL || s->map_to == NULL)
		return nomem(e);
	s->nmap = n;
	i = 0;
	for (const cJSON *it = m->child; it; it = it->next, i++) {
		int rc = dup_str(it->string ? it->string : "", &s->map_from[i], e);
		if (rc)
			return rc;
		s->map_to[i] = stage_of(d, it->valuestring);
	}
	return 0;
}

static int
parse_defaults(const FlowDef *d, const cJSON *defs, Err *e)
{
	if (defs == NULL)
		return 0;
	if (!cJSON_IsObject(defs))
		return bad(e, "sourceDefaults: expected an object");
	int rc = check_keys(defs, "sourceDefaults", default_keys, e);
	for (int k = 0; rc == 0 && default_keys[k]; k++) {
		const char *key = default_keys[k];
		if (strcmp(key, "stageMap") == 0)
			rc = parse_map(d, item(defs, key), "sourceDefaults", NULL, e);
		else
			rc = check_str(item(defs, key), "sourceDefaults", key, 1,
			               strcmp(key, "stageExpr") == 0 ? MAX_EXPR_LEN : MAX_COL_LEN,
			               e);
	}
	if (rc)
		return rc;
	const cJSON *sc = item(defs, "stageColumn"), *se = item(defs, "stageExpr");
	if (sc && !cJSON_IsNull(sc) && se && !cJSON_IsNull(se))
		return bad(e, "sourceDefaults: stageColumn and stageExpr are both set");
	return 0;
}

/* The value of key for a source: its own (even null) or the default. */
static const cJSON *
pick(const cJSON *own, const cJSON *defs, const char *key)
{
	const cJSON *v = item(own, key);
	return v ? v : item(defs, key);
}

static int
set_col(const cJSON *v, char **out, Err *e)
{
	return dup_str(v && cJSON_IsString(v) ? v->valuestring : NULL, out, e);
}

static int
parse_source(FlowDef *d, int i, const cJSON *it, const cJSON *defs, Err *e)
{
	FlowSource *s = &d->sources[i];
	char path[32];
	snprintf(path, sizeof(path), "sources[%d]", i);
	const cJSON *own = NULL, *tbl = it;
	int rc;
	if (cJSON_IsObject(it)) {
		own = it;
		if ((rc = check_keys(own, path, source_keys, e)))
			return rc;
		tbl = item(own, "table");
		if ((rc = check_str(tbl, path, "table", 0, MAX_COL_LEN, e)))
			return rc;
		for (int k = 1; source_keys[k]; k++) {
			const char *key = source_keys[k];
			if (strcmp(key, "stageMap") == 0)
				rc = parse_map(d, item(own, key), path, NULL, e);
			else
				rc = check_str(item(own, key), path, key, 1,
				               strcmp(key, "stageExpr") == 0 ? MAX_EXPR_LEN
				                                             : MAX_COL_LEN,
				               e);
			if (rc)
				return rc;
		}
	} else if (cJSON_IsString(it)) {
		if ((rc = check_str(it, "", path, 0, MAX_COL_LEN, e)))
			return rc;
	} else {
		return bad(e, "%s: expected a table name or an object", path);
	}
	for (int j = 0; j < i; j++)
		if (strcmp(d->sources[j].table, tbl->valuestring) == 0)
			return bad(e, "%s: table \"%.*s\" is already sources[%d]", path,
			           showlen(tbl->valuestring), tbl->valuestring, j);
	if ((rc = dup_str(tbl->valuestring, &s->table, e)))
		return rc;

	const cJSON *key = pick(own, defs, "keyColumn");
	if ((rc = dup_str(key && cJSON_IsString(key) ? key->valuestring : d->entity_key,
	                  &s->key_col, e)))
		return rc;

	const cJSON *sc = item(own, "stageColumn"), *se = item(own, "stageExpr");
	int own_sc = sc && !cJSON_IsNull(sc), own_se = se && !cJSON_IsNull(se);
	if (own_sc && own_se)
		return bad(e, "%s: stageColumn and stageExpr are both set", path);
	if (!own_sc && !own_se) {
		sc = item(defs, "stageColumn");
		se = item(defs, "stageExpr");
	}
	if ((rc = set_col(sc, &s->stage_col, e)) || (rc = set_col(se, &s->stage_expr, e)))
		return rc;
	if (s->stage_col == NULL && s->stage_expr == NULL)
		return bad(e, "%s: stageColumn or stageExpr is required", path);

	const cJSON *m = item(own, "stageMap");
	if ((rc = parse_map(d, m ? m : item(defs, "stageMap"), path, s, e)))
		return rc;
	if ((rc = set_col(pick(own, defs, "timeColumn"), &s->time_col, e)) ||
	    (rc = set_col(pick(own, defs, "serviceColumn"), &s->service_col, e)) ||
	    (rc = set_col(pick(own, defs, "eventColumn"), &s->event_col, e)))
		return rc;
	return 0;
}

static int
parse_sources(FlowDef *d, const cJSON *root, Err *e)
{
	const cJSON *defs = item(root, "sourceDefaults");
	if (cJSON_IsNull(defs))
		defs = NULL;
	int rc = parse_defaults(d, defs, e);
	if (rc)
		return rc;
	const cJSON *arr = item(root, "sources");
	if (arr == NULL || cJSON_IsNull(arr))
		return bad(e, "sources: is required");
	if (!cJSON_IsArray(arr))
		return bad(e, "sources: expected an array");
	int n = cJSON_GetArraySize(arr);
	if (n < 1 || n > FLOW_MAX_SOURCES)
		return bad(e, "sources: expected 1 to %d sources, got %d", FLOW_MAX_SOURCES, n);
	d->sources = mem_calloc((size_t)n, sizeof(FlowSource));
	if (d->sources == NULL)
		return nomem(e);
	int i = 0;
	for (const cJSON *it = arr->child; it; it = it->next, i++) {
		/* parse_source fills sources[i]; count it first so a failure
		 * frees what it copied */
		d->nsources = i + 1;
		if ((rc = parse_source(d, i, it, defs, e)))
			return rc;
	}
	return 0;
}

/* ---- the rest ---- */

static int
parse_dims(FlowDef *d, const cJSON *arr, Err *e)
{
	if (arr == NULL || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr))
		return bad(e, "dimensions: expected an array of column names");
	int n = cJSON_GetArraySize(arr);
	if (n > FLOW_MAX_DIMS)
		return bad(e, "dimensions: at most %d, got %d", FLOW_MAX_DIMS, n);
	if (n == 0)
		return 0;
	d->dims = mem_calloc((size_t)n, sizeof(char *));
	if (d->dims == NULL)
		return nomem(e);
	int i = 0;
	for (const cJSON *it = arr->child; it; it = it->next, i++) {
		char path[32];
		snprintf(path, sizeof(path), "dimensions[%d]", i);
		int rc = check_str(it, "", path, 0, MAX_COL_LEN, e);
		if (rc)
			return rc;
		for (int j = 0; j < i; j++)
			if (strcmp(d->dims[j], it->valuestring) == 0)
				return bad(e, "%s: \"%.*s\" is listed twice", path,
				           showlen(it->valuestring), it->valuestring);
		d->ndims = i + 1;
		if ((rc = dup_str(it->valuestring, &d->dims[i], e)))
			return rc;
	}
	return 0;
}

static int
parse_scalars(FlowDef *d, const cJSON *root, Err *e)
{
	d->gap_grace_ms = 60000;
	const cJSON *g = item(root, "gapGraceMs");
	if (g && !cJSON_IsNull(g)) {
		double v = g->valuedouble;
		if (!cJSON_IsNumber(g) || !(v >= 0) || v >= (double)MAX_DURATION_MS ||
		    v != floor(v))
			return bad(e, "gapGraceMs: expected a whole number of milliseconds, "
			              "at least 0 and less than 10 years");
		d->gap_grace_ms = (int64_t)v;
	}
	d->event_clock = 0;
	const cJSON *c = item(root, "clock");
	if (c && !cJSON_IsNull(c)) {
		if (cJSON_IsString(c) && c->valuestring && strcmp(c->valuestring, "wall") == 0)
			d->event_clock = 0;
		else if (cJSON_IsString(c) && c->valuestring &&
		         strcmp(c->valuestring, "event") == 0)
			d->event_clock = 1;
		else
			return bad(e, "clock: must be \"wall\" or \"event\"");
	}
	return 0;
}

/* The masks of flowdef.h (see the design comment). */
static void
derive(FlowDef *d)
{
	int n = d->nstages;
	uint64_t succ[FLOW_MAX_STAGES] = {0};
	d->terminal = 0;
	for (int s = 0; s < n; s++) {
		for (int k = 0; k < d->stages[s].nnext; k++)
			succ[s] |= 1ULL << d->stages[s].next[k];
		if (d->stages[s].kind != FLOW_STAGE_NORMAL)
			d->terminal |= 1ULL << s;
	}
	for (int s = 0; s < n; s++) {
		uint64_t r = succ[s], prev;
		do {
			prev = r;
			for (int t = 0; t < n; t++)
				if (r & (1ULL << t))
					r |= succ[t];
		} while (r != prev);
		d->desc[s] = r;
	}
	for (int s = 0; s < n; s++) {
		d->anc[s] = 0;
		for (int t = 0; t < n; t++)
			if (d->desc[t] & (1ULL << s))
				d->anc[s] |= 1ULL << t;
	}
	uint64_t reach = d->desc[0] | 1ULL;
	uint64_t all = n == 64 ? ~0ULL : (1ULL << n) - 1;
	for (int s = 0; s < n; s++)
		d->dom[s] = s != 0 && (reach & (1ULL << s)) ? all : 0;
	for (int s = n; s < FLOW_MAX_STAGES; s++)
		d->dom[s] = d->anc[s] = d->desc[s] = 0;
	int changed = 1;
	while (changed) {
		changed = 0;
		for (int s = 1; s < n; s++) {
			if (!(reach & (1ULL << s)))
				continue;
			uint64_t m = all;
			for (int p = 0; p < n; p++)
				if ((reach & (1ULL << p)) && (succ[p] & (1ULL << s)))
					m &= d->dom[p] | (1ULL << p);
			m &= ~(1ULL << s);
			if (m != d->dom[s]) {
				d->dom[s] = m;
				changed = 1;
			}
		}
	}
}

static int
parse_root(FlowDef *d, const cJSON *root, const char *expect_name, Err *e)
{
	if (!cJSON_IsObject(root))
		return bad(e, "a flow definition must be a JSON object");
	int rc = check_keys(root, "", top_keys, e);
	if (rc)
		return rc;
	const cJSON *nm = item(root, "name");
	if ((rc = check_ident(nm, "name", e)))
		return rc;
	if (expect_name && strcmp(expect_name, nm->valuestring) != 0)
		return bad(e, "name: \"%s\" does not match \"%.*s\" in the URL", nm->valuestring,
		           showlen(expect_name), expect_name);
	if ((rc = dup_str(nm->valuestring, &d->name, e)))
		return rc;
	const cJSON *key = item(root, "entityKey");
	if ((rc = check_ident(key, "entityKey", e)) ||
	    (rc = dup_str(key->valuestring, &d->entity_key, e)))
		return rc;
	const cJSON *stages = item(root, "stages");
	if ((rc = parse_stage_names(d, stages, e)))
		return rc;
	for (int k = FLOW_STAGE_SUCCESS; k <= FLOW_STAGE_CANCEL; k++)
		if ((rc = parse_kind_list(d, root, k, e)))
			return rc;
	if ((rc = parse_next(d, stages, e)) || (rc = parse_sources(d, root, e)) ||
	    (rc = parse_dims(d, item(root, "dimensions"), e)) || (rc = parse_scalars(d, root, e)))
		return rc;
	derive(d);
	return 0;
}

int
flowdef_parse(const char *json, size_t len, const char *expect_name, FlowDef **out, Err *e)
{
	*out = NULL;
	cJSON *root;
	if (jsondoc_parse(json, len, &root, e) != 0)
		return ERR_BAD_JSON;
	FlowDef *d = mem_calloc(1, sizeof(FlowDef));
	if (d == NULL) {
		cJSON_Delete(root);
		return nomem(e);
	}
	int rc = parse_root(d, root, expect_name, e);
	cJSON_Delete(root);
	if (rc) {
		flowdef_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

void
flowdef_free(FlowDef *d)
{
	if (d == NULL)
		return;
	for (int i = 0; d->sources && i < d->nsources; i++) {
		FlowSource *s = &d->sources[i];
		mem_free(s->table);
		mem_free(s->key_col);
		mem_free(s->stage_col);
		mem_free(s->stage_expr);
		for (int k = 0; s->map_from && k < s->nmap; k++)
			mem_free(s->map_from[k]);
		mem_free(s->map_from);
		mem_free(s->map_to);
		mem_free(s->time_col);
		mem_free(s->service_col);
		mem_free(s->event_col);
	}
	mem_free(d->sources);
	for (int i = 0; d->stages && i < d->nstages; i++)
		mem_free(d->stages[i].name);
	mem_free(d->stages);
	for (int i = 0; d->dims && i < d->ndims; i++)
		mem_free(d->dims[i]);
	mem_free(d->dims);
	mem_free(d->name);
	mem_free(d->entity_key);
	mem_free(d);
}

/* ---- canonical JSON ---- */

static void
put_str_or_null(Buf *b, const char *key, const char *v)
{
	buf_printf(b, ",\"%s\":", key);
	if (v)
		buf_json_str(b, v, strlen(v));
	else
		buf_puts(b, "null");
}

static void
put_kind_list(Buf *b, const FlowDef *d, int kind)
{
	buf_printf(b, ",\"%s\":[", kind_lists[kind]);
	int first = 1;
	for (int s = 0; s < d->nstages; s++)
		if (d->stages[s].kind == kind) {
			if (!first)
				buf_putc(b, ',');
			first = 0;
			buf_json_str(b, d->stages[s].name, strlen(d->stages[s].name));
		}
	buf_putc(b, ']');
}

void
flowdef_to_json(const FlowDef *d, Buf *b)
{
	buf_puts(b, "{\"name\":");
	buf_json_str(b, d->name, strlen(d->name));
	buf_puts(b, ",\"entityKey\":");
	buf_json_str(b, d->entity_key, strlen(d->entity_key));
	buf_puts(b, ",\"sources\":[");
	for (int i = 0; i < d->nsources; i++) {
		const FlowSource *s = &d->sources[i];
		buf_puts(b, i ? ",{\"table\":" : "{\"table\":");
		buf_json_str(b, s->table, strlen(s->table));
		put_str_or_null(b, "keyColumn", s->key_col);
		put_str_or_null(b, "stageColumn", s->stage_col);
		put_str_or_null(b, "stageExpr", s->stage_expr);
		buf_puts(b, ",\"stageMap\":{");
		for (int k = 0; k < s->nmap; k++) {
			if (k)
				buf_putc(b, ',');
			buf_json_str(b, s->map_from[k], strlen(s->map_from[k]));
			buf_putc(b, ':');
			const char *to = d->stages[s->map_to[k]].name;
			buf_json_str(b, to, strlen(to));
		}
		buf_putc(b, '}');
		put_str_or_null(b, "timeColumn", s->time_col);
		put_str_or_null(b, "serviceColumn", s->service_col);
		put_str_or_null(b, "eventColumn", s->event_col);
		buf_putc(b, '}');
	}
	buf_puts(b, "],\"stages\":[");
	for (int i = 0; i < d->nstages; i++) {
		const FlowStage *st = &d->stages[i];
		buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
		buf_json_str(b, st->name, strlen(st->name));
		buf_puts(b, ",\"sla\":");
		if (st->sla_ms > 0) {
			buf_putc(b, '"');
			flowdef_format_duration(st->sla_ms, b);
			buf_putc(b, '"');
		} else {
			buf_puts(b, "null");
		}
		buf_puts(b, ",\"next\":[");
		for (int k = 0; k < st->nnext; k++) {
			const char *to = d->stages[st->next[k]].name;
			if (k)
				buf_putc(b, ',');
			buf_json_str(b, to, strlen(to));
		}
		buf_puts(b, "]}");
	}
	buf_putc(b, ']');
	for (int k = FLOW_STAGE_SUCCESS; k <= FLOW_STAGE_CANCEL; k++)
		put_kind_list(b, d, k);
	buf_puts(b, ",\"dimensions\":[");
	for (int i = 0; i < d->ndims; i++) {
		if (i)
			buf_putc(b, ',');
		buf_json_str(b, d->dims[i], strlen(d->dims[i]));
	}
	buf_puts(b, "],\"gapGraceMs\":");
	buf_i64(b, d->gap_grace_ms);
	buf_puts(b, d->event_clock ? ",\"clock\":\"event\"}" : ",\"clock\":\"wall\"}");
}

/* ---- against the catalog ---- */

/* Column col of table t (source i, field key) must exist, be single-valued
 * and of one of the types in ok[] (ended by TYPE_NULL). */
static int
check_col(const Table *t, int i, const char *key, const char *col, const WbType *ok,
          const char *want, const Field **out, Err *e)
{
	const Schema *sc = table_schema(t);
	int c = schema_find(sc, col);
	if (c < 0)
		return bad(e, "sources[%d].%s: table \"%s\" has no column \"%s\"", i, key,
		           table_name(t), col);
	const Field *f = &sc->fields[c];
	int good = 0;
	for (int k = 0; ok[k] != TYPE_NULL; k++)
		good |= f->type == ok[k];
	if (!good || !f->single_value)
		return bad(e, "sources[%d].%s: column \"%s\" of table \"%s\" is %s%s, expected %s",
		           i, key, col, table_name(t), f->single_value ? "" : "multi-value ",
		           type_name(f->type), want);
	if (out)
		*out = f;
	return 0;
}

static int
check_time(const Table *t, int i, const FlowSource *s, Err *e)
{
	static const WbType time_ok[] = {TYPE_INT, TYPE_LONG, TYPE_TIMESTAMP, TYPE_NULL};
	const char *col = s->time_col, *key = "timeColumn";
	if (col == NULL) {
		const TableConfig *cfg = table_config(t);
		col = cfg ? cfg->time_column : NULL;
		if (col == NULL)
			return bad(e,
			           "sources[%d].timeColumn: not set, and table \"%s\" has no "
			           "time column (segmentsConfig.timeColumnName)",
			           i, table_name(t));
		key = "timeColumn (the table's segmentsConfig.timeColumnName)";
	}
	const Field *f = NULL;
	int rc = check_col(t, i, key, col, time_ok, "INT, LONG or TIMESTAMP", &f, e);
	if (rc)
		return rc;
	if ((f->kind == FIELD_DATETIME || f->kind == FIELD_TIME) && f->format &&
	    schema_time_unit_ms(f) != 1)
		return bad(e,
		           "sources[%d].%s: column \"%s\" of table \"%s\" has format \"%s\", "
		           "expected epoch milliseconds",
		           i, key, col, table_name(t), f->format);
	return 0;
}

int
flowdef_check(const FlowDef *d, Catalog *c, Err *e)
{
	static const WbType str_ok[] = {TYPE_STRING, TYPE_NULL};
	static const WbType label_ok[] = {TYPE_STRING, TYPE_INT, TYPE_LONG, TYPE_NULL};
	Table **tabs = mem_calloc((size_t)d->nsources + 1, sizeof(Table *));
	if (tabs == NULL)
		return nomem(e);
	int rc = 0, ntabs = 0;
	for (int i = 0; rc == 0 && i < d->nsources; i++) {
		const FlowSource *s = &d->sources[i];
		Table *t = catalog_get_table(c, s->table);
		if (t == NULL) {
			rc = err_set(e, ERR_NOT_FOUND, "sources[%d]: no table \"%s\"", i, s->table);
			break;
		}
		tabs[ntabs++] = t;
		for (int j = 0; j < ntabs - 1; j++)
			if (tabs[j] == t) {
				rc = bad(e, "sources[%d]: table \"%s\" is already sources[%d]", i,
				         s->table, j);
				break;
			}
		if (rc == 0)
			rc = check_col(t, i, "keyColumn", s->key_col, str_ok, "STRING", NULL, e);
		if (rc == 0 && s->stage_col)
			rc = check_col(t, i, "stageColumn", s->stage_col, label_ok,
			               "STRING, INT or LONG", NULL, e);
		if (rc == 0 && s->service_col)
			rc = check_col(t, i, "serviceColumn", s->service_col, str_ok, "STRING",
			               NULL, e);
		if (rc == 0 && s->event_col)
			rc = check_col(t, i, "eventColumn", s->event_col, label_ok,
			               "STRING, INT or LONG", NULL, e);
		if (rc == 0)
			rc = check_time(t, i, s, e);
	}
	for (int k = 0; rc == 0 && k < d->ndims; k++) {
		int found = 0;
		for (int j = 0; j < ntabs && !found; j++)
			found = schema_find(table_schema(tabs[j]), d->dims[k]) >= 0;
		if (!found)
			rc = bad(e, "dimensions[%d]: no source table has a column \"%s\"", k,
			         d->dims[k]);
	}
	for (int j = 0; j < ntabs; j++)
		table_unref(tabs[j]);
	mem_free(tabs);
	return rc;
}
