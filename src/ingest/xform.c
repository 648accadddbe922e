/*
 * xform.c -- a table's ingestion transforms applied to each record:
 * Pinot's ingestionConfig.complexTypeConfig, transformConfigs,
 * filterConfig, and the schema fields' transformFunction.
 *
 * Layering: the expressions are SQL text, and the SQL front end lives in
 * src/query (same layer, not includable here).  The caller (server or
 * CLI) hands in an XformCompiler whose compile() turns one expression
 * into an Expr tree over named inputs (src/query/exprc.c); this module
 * evaluates those trees with src/expr's evaluator, one record at a time.
 *
 * Record model, in Pinot's order (ComplexTypeTransformer, then
 * ExpressionTransformer, then FilterTransformer):
 *   1. The record is parsed with cJSON (a record that is not a JSON
 *      object is rejected).
 *   2. complexTypeConfig (when present): nested objects are flattened
 *      into fields named path.to.key (the delimiter, default "."); each
 *      object is also kept whole under its own name (so a JSON column or
 *      jsonFormat(payload) can take it, as in Pinot's
 *      githubComplexTypeEvents example); arrays named in
 *      fieldsToUnnest become one record per element (the cartesian
 *      product for several; an empty or missing array keeps the record
 *      once); other arrays are kept as they are (multi-value) unless
 *      collectionNotUnnestedToJson says to turn them into JSON text
 *      (NON_PRIMITIVE, the default: arrays holding objects or arrays;
 *      ALL; NONE); then prefixesToRename replaces name prefixes.
 *      Without complexTypeConfig the fields are the record's top-level
 *      members.
 *   3. Every schema column takes the field of its name (convert.h rules:
 *      a missing field is null).
 *   4. Transforms run in order: transformConfigs in config order, then
 *      schema transformFunctions (a column with both uses the config's).
 *      As Pinot, a transform is skipped when its column already holds a
 *      non-null value from the record.  Inputs are resolved by name: a
 *      schema column reads the row being built (so a transform sees the
 *      result of an earlier one); any other name reads the record's
 *      field of that exact name.
 *   5. filterConfig.filterFunction is evaluated over the same names; a
 *      row for which it is TRUE is dropped and counted in *filtered.
 *
 * Input typing: schema columns have their schema type.  A source field
 * that is not a schema column has no declared type; the compiler types
 * it from its use (a numeric argument LONG or DOUBLE, anything else
 * STRING; see exprc.c), and each record's
 * value is converted to that type with convert_json's rules (numbers
 * from numeric strings, objects and arrays to their JSON text for
 * STRING/JSON).  A value that does not convert rejects the record.
 *
 * Memory: the Xform owns the compiled expressions (released through the
 * compiler), one ExprCtx per expression, and a scratch arena and cJSON
 * tree per record (freed before xform_record returns).  Output rows and
 * their strings live in the caller's RowBatch.  Not thread-safe: one
 * Xform per thread.
 *
 * Failure: a bad record returns its ERR_* code with e->msg naming the
 * column and the transform text ("column 'ts': fromEpochDays(Days):
 * ..."), appends no row, and leaves the Xform usable; ERR_NOMEM only
 * when memory ran out.  Configuration errors (xform_create) are
 * ERR_BAD_CONFIG naming the config path.  Groovy() transforms are
 * refused at xform_create.
 *
 * Exports: xform_create, xform_active, xform_record, xform_record_text,
 * xform_free.
 */
#include "ingest/xform.h"
#include "base/log.h"
#include "base/mem.h"
#include "expr/exprvec.h"
#include "ingest/convert.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>

enum { CT_NONE, CT_NON_PRIMITIVE, CT_ALL };

typedef struct InSlot {
	int64_t i;
	double d;
	const char *s;
	uint32_t sl;
	uint8_t nl;
	uint32_t off, cnt;
} InSlot;

typedef struct Step {
	int dest;		/* schema column, -1 for the filter */
	const char *text;	/* the expression (in the Xform's arena) */
	XformExpr x;
	int *schema_col;	/* per input: schema column index or -1 */
	Vec *vecs;
	InSlot *slots;
	ExprCtx cx;
	int cx_ok;
} Step;

typedef struct Pair {
	const char *name;
	const cJSON *node;
} Pair;

typedef struct Rec {
	Pair *p;
	int n, cap;
} Rec;

struct Xform {
	const Schema *s;
	XformCompiler cc;
	Arena arena;		/* config strings, steps' arrays */
	int nsteps;
	Step *steps;
	Step *filter;
	/* complexTypeConfig */
	int complex;
	const char *delim;
	int nunnest;
	const char **unnest;
	int to_json;
	int nrename;
	const char **ren_from, **ren_to;
	/* per record */
	Arena tmp;
	cJSON *made;		/* nodes created by flattening (a cJSON array) */
	Rec *recs;		/* in tmp */
	int nrecs;
};

/* ---- creation ------------------------------------------------------------ */

static int
is_groovy(const char *t)
{
	while (isspace((unsigned char)*t))
		t++;
	if (strncasecmp(t, "groovy", 6) != 0)
		return 0;
	t += 6;
	while (isspace((unsigned char)*t))
		t++;
	return *t == '(';
}

static int
add_step(Xform *x, const char *path, const char *text, int dest, Err *e)
{
	if (is_groovy(text))
		return err_set(e, ERR_BAD_CONFIG,
			       "%s: Groovy scripts are not supported; write the transform as a SQL expression "
			       "(Pinot's transform functions)", path);
	Step *st = dest >= 0 ? &x->steps[x->nsteps] : x->filter;
	memset(st, 0, sizeof *st);
	st->dest = dest;
	st->text = arena_strdup(&x->arena, text);
	if (st->text == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	int nf = x->s->nfields;
	XformCol *known = mem_calloc((size_t)nf, sizeof *known);
	if (known == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	for (int i = 0; i < nf; i++) {
		known[i].name = x->s->fields[i].name;
		known[i].type = x->s->fields[i].type;
		known[i].mv = !x->s->fields[i].single_value;
	}
	Err ce;
	err_clear(&ce);
	int rc = x->cc.compile(x->cc.ctx, text, known, nf, &st->x, &ce);
	mem_free(known);
	if (rc != 0) {
		st->x.owner = NULL;
		return err_set(e, rc == ERR_NOMEM ? ERR_NOMEM : ERR_BAD_CONFIG, "%s: %s", path, err_msg(&ce));
	}
	if (dest >= 0)
		x->nsteps++;
	const Expr *ex = st->x.expr;
	if (dest < 0 && ex->type != TYPE_BOOLEAN && ex->type != TYPE_NULL)
		return err_set(e, ERR_BAD_CONFIG, "%s: '%s' is %s, not a condition", path, text, type_name(ex->type));
	if (dest >= 0 && ex->mv && x->s->fields[dest].single_value)
		return err_set(e, ERR_BAD_CONFIG, "%s: '%s' gives a multi-value, but column '%s' is single-value",
			       path, text, x->s->fields[dest].name);
	int ni = st->x.ninputs;
	st->schema_col = arena_calloc(&x->arena, sizeof(int) * (size_t)(ni + 1));
	st->vecs = arena_calloc(&x->arena, sizeof(Vec) * (size_t)(ni + 1));
	st->slots = arena_calloc(&x->arena, sizeof(InSlot) * (size_t)(ni + 1));
	if (st->schema_col == NULL || st->vecs == NULL || st->slots == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	for (int i = 0; i < ni; i++) {
		const XformCol *in = &st->x.inputs[i];
		int sc = schema_find(x->s, in->name);
		st->schema_col[i] = sc;
		if (dest >= 0 && sc == dest)
			return err_set(e, ERR_BAD_CONFIG, "%s: the transform of column '%s' cannot read '%s' itself",
				       path, x->s->fields[dest].name, in->name);
		Vec *v = &st->vecs[i];
		InSlot *sl = &st->slots[i];
		v->type = in->type;
		v->nulls = &sl->nl;
		if (in->mv) {
			v->enc = VEC_MV;
			v->mvoff = &sl->off;
			v->mvcnt = &sl->cnt;
		} else if (type_is_var(in->type)) {
			v->enc = VEC_STR;
			v->s = &sl->s;
			v->slen = &sl->sl;
		} else if (type_is_float(in->type)) {
			v->enc = VEC_F64;
			v->d = &sl->d;
		} else {
			v->enc = VEC_I64;
			v->i = &sl->i;
		}
	}
	if (exprvec_ctx_init(&st->cx, st->x.nnodes) != 0)
		return err_set(e, ERR_NOMEM, "out of memory");
	st->cx_ok = 1;
	return 0;
}

static int
parse_complex(Xform *x, const cJSON *ct, Err *e)
{
	const char *p = "ingestionConfig.complexTypeConfig";
	if (!cJSON_IsObject(ct))
		return err_set(e, ERR_BAD_CONFIG, "%s: must be an object", p);
	x->complex = 1;
	x->delim = ".";
	x->to_json = CT_NON_PRIMITIVE;
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(ct, "fieldsToUnnest");
	if (f != NULL && !cJSON_IsNull(f)) {
		if (!cJSON_IsArray(f))
			return err_set(e, ERR_BAD_CONFIG, "%s.fieldsToUnnest: must be an array of names", p);
		int n = cJSON_GetArraySize(f);
		x->unnest = arena_calloc(&x->arena, sizeof(char *) * (size_t)(n + 1));
		if (x->unnest == NULL)
			return err_set(e, ERR_NOMEM, "out of memory");
		for (const cJSON *c = f->child; c; c = c->next) {
			if (!cJSON_IsString(c))
				return err_set(e, ERR_BAD_CONFIG, "%s.fieldsToUnnest[%d]: must be a string", p, x->nunnest);
			x->unnest[x->nunnest++] = arena_strdup(&x->arena, c->valuestring);
		}
	}
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(ct, "delimiter");
	if (d != NULL && !cJSON_IsNull(d)) {
		if (!cJSON_IsString(d) || d->valuestring[0] == '\0')
			return err_set(e, ERR_BAD_CONFIG, "%s.delimiter: must be a non-empty string", p);
		x->delim = arena_strdup(&x->arena, d->valuestring);
	}
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(ct, "collectionNotUnnestedToJson");
	if (j != NULL && !cJSON_IsNull(j)) {
		if (cJSON_IsString(j) && strcasecmp(j->valuestring, "NONE") == 0)
			x->to_json = CT_NONE;
		else if (cJSON_IsString(j) && strcasecmp(j->valuestring, "NON_PRIMITIVE") == 0)
			x->to_json = CT_NON_PRIMITIVE;
		else if (cJSON_IsString(j) && strcasecmp(j->valuestring, "ALL") == 0)
			x->to_json = CT_ALL;
		else
			return err_set(e, ERR_BAD_CONFIG,
				       "%s.collectionNotUnnestedToJson: must be NONE, NON_PRIMITIVE or ALL", p);
	}
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(ct, "prefixesToRename");
	if (r != NULL && !cJSON_IsNull(r)) {
		if (!cJSON_IsObject(r))
			return err_set(e, ERR_BAD_CONFIG, "%s.prefixesToRename: must be an object", p);
		int n = cJSON_GetArraySize(r);
		x->ren_from = arena_calloc(&x->arena, sizeof(char *) * (size_t)(n + 1));
		x->ren_to = arena_calloc(&x->arena, sizeof(char *) * (size_t)(n + 1));
		if (x->ren_from == NULL || x->ren_to == NULL)
			return err_set(e, ERR_NOMEM, "out of memory");
		for (const cJSON *c = r->child; c; c = c->next) {
			if (!cJSON_IsString(c))
				return err_set(e, ERR_BAD_CONFIG, "%s.prefixesToRename.%s: must be a string", p, c->string);
			x->ren_from[x->nrename] = arena_strdup(&x->arena, c->string);
			x->ren_to[x->nrename++] = arena_strdup(&x->arena, c->valuestring);
		}
	}
	return 0;
}

int
xform_create(const Schema *s, const TableConfig *cfg, const XformCompiler *cc, Xform **out, Err *e)
{
	*out = NULL;
	Xform *x = mem_calloc(1, sizeof *x);
	if (x == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	x->s = s;
	if (cc)
		x->cc = *cc;
	arena_init(&x->arena, 4096);
	arena_init(&x->tmp, 16384);
	cJSON *root = cfg && cfg->json ? cJSON_Parse(cfg->json) : NULL;
	const cJSON *ic = cJSON_GetObjectItemCaseSensitive(root, "ingestionConfig");
	const cJSON *tc = cJSON_GetObjectItemCaseSensitive(ic, "transformConfigs");
	const cJSON *fc = cJSON_GetObjectItemCaseSensitive(ic, "filterConfig");
	const cJSON *ct = cJSON_GetObjectItemCaseSensitive(ic, "complexTypeConfig");
	const cJSON *ff = cJSON_GetObjectItemCaseSensitive(fc, "filterFunction");
	int ntc = cJSON_IsArray(tc) ? cJSON_GetArraySize(tc) : 0;
	int rc = 0;
	char path[160];
	x->steps = arena_calloc(&x->arena, sizeof(Step) * (size_t)(ntc + s->nfields + 1));
	x->filter = arena_calloc(&x->arena, sizeof(Step));
	if (x->steps == NULL || x->filter == NULL) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto done;
	}
	x->filter->x.owner = NULL;
	uint8_t *has = arena_calloc(&x->arena, (size_t)s->nfields + 1);
	if (has == NULL) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto done;
	}
	int need_cc = ntc > 0 || (cJSON_IsString(ff) && ff->valuestring[0] != '\0');
	for (int i = 0; i < s->nfields; i++)
		need_cc |= s->fields[i].transform != NULL;
	if (need_cc && x->cc.compile == NULL) {
		rc = err_set(e, ERR_UNSUPPORTED, "ingestion transforms need an expression compiler");
		goto done;
	}
	if (tc != NULL && !cJSON_IsNull(tc) && !cJSON_IsArray(tc)) {
		rc = err_set(e, ERR_BAD_CONFIG, "ingestionConfig.transformConfigs: must be an array");
		goto done;
	}
	for (int i = 0; i < ntc && rc == 0; i++) {
		const cJSON *t = cJSON_GetArrayItem(tc, i);
		const cJSON *cn = cJSON_GetObjectItemCaseSensitive(t, "columnName");
		const cJSON *tf = cJSON_GetObjectItemCaseSensitive(t, "transformFunction");
		snprintf(path, sizeof path, "ingestionConfig.transformConfigs[%d]", i);
		if (!cJSON_IsString(cn) || !cJSON_IsString(tf)) {
			rc = err_set(e, ERR_BAD_CONFIG, "%s: needs columnName and transformFunction strings", path);
			break;
		}
		int dest = schema_find(s, cn->valuestring);
		if (dest < 0) {
			rc = err_set(e, ERR_BAD_CONFIG, "%s.columnName: column '%s' is not in schema '%s'", path,
				     cn->valuestring, s->name);
			break;
		}
		if (has[dest]) {
			rc = err_set(e, ERR_BAD_CONFIG, "%s.columnName: column '%s' has two transforms", path,
				     cn->valuestring);
			break;
		}
		has[dest] = 1;
		snprintf(path, sizeof path, "ingestionConfig.transformConfigs[%d].transformFunction", i);
		rc = add_step(x, path, tf->valuestring, dest, e);
	}
	for (int i = 0; i < s->nfields && rc == 0; i++) {
		if (s->fields[i].transform == NULL || has[i])
			continue;
		snprintf(path, sizeof path, "schema %s field '%s' transformFunction", s->name, s->fields[i].name);
		int before = x->nsteps;
		rc = add_step(x, path, s->fields[i].transform, i, e);
		if (rc != 0 && rc != ERR_NOMEM && x->nsteps == before && !is_groovy(s->fields[i].transform)) {
			/* a schema's own transform that does not compile (e.g.
			 * Pinot's geospatial toSphericalGeography): the schema is
			 * Pinot's and loads as it is; the column is filled from
			 * the record, else its default, and the log says so */
			static _Atomic int warned;
			if (atomic_fetch_add(&warned, 1) < 20)
				log_warn("%s; the column is filled from the record or its default instead",
					 err_msg(e));
			err_clear(e);
			rc = 0;
		}
	}
	if (rc == 0 && ff != NULL && !cJSON_IsNull(ff)) {
		if (!cJSON_IsString(ff))
			rc = err_set(e, ERR_BAD_CONFIG, "ingestionConfig.filterConfig.filterFunction: must be a string");
		else if (ff->valuestring[0] != '\0')
			rc = add_step(x, "ingestionConfig.filterConfig.filterFunction", ff->valuestring, -1, e);
		else
			x->filter = NULL;
	} else {
		x->filter = rc == 0 ? NULL : x->filter;
	}
	if (rc == 0 && ct != NULL && !cJSON_IsNull(ct))
		rc = parse_complex(x, ct, e);
done:
	cJSON_Delete(root);
	if (rc != 0) {
		xform_free(x);
		return rc;
	}
	*out = x;
	return 0;
}

int
xform_active(const Xform *x)
{
	return x != NULL && (x->nsteps > 0 || x->filter != NULL || x->complex);
}

static void
free_step(Xform *x, Step *st)
{
	if (st->cx_ok)
		exprvec_ctx_free(&st->cx);
	if (st->x.owner != NULL && x->cc.release != NULL)
		x->cc.release(x->cc.ctx, st->x.owner);
	st->x.owner = NULL;
	st->cx_ok = 0;
}

void
xform_free(Xform *x)
{
	if (x == NULL)
		return;
	for (int i = 0; x->steps && i <= x->nsteps; i++)
		free_step(x, &x->steps[i]);	/* [nsteps] may hold a half-built step */
	if (x->filter)
		free_step(x, x->filter);
	cJSON_Delete(x->made);
	arena_free(&x->tmp);
	arena_free(&x->arena);
	mem_free(x);
}

/* ---- flattening ---------------------------------------------------------- */

static const cJSON *
rec_get(const Rec *r, const char *name)
{
	for (int i = r->n - 1; i >= 0; i--)
		if (strcmp(r->p[i].name, name) == 0)
			return r->p[i].node;
	return NULL;
}

/* Pairs live in x->tmp (reset per record). */
static int
rec_add(Xform *x, Rec *r, const char *name, const cJSON *node)
{
	if (r->n == r->cap) {
		int cap = r->cap ? r->cap * 2 : 32;
		Pair *p = arena_alloc(&x->tmp, sizeof(Pair) * (size_t)cap);
		if (p == NULL)
			return ERR_NOMEM;
		if (r->n)
			memcpy(p, r->p, sizeof(Pair) * (size_t)r->n);
		r->p = p;
		r->cap = cap;
	}
	r->p[r->n].name = name;
	r->p[r->n].node = node;
	r->n++;
	return 0;
}

/* Appends an empty record to (*list, *n, *cap); NULL on OOM. */
static Rec *
push_rec(Xform *x, Rec **list, int *n, int *cap)
{
	if (*n == *cap) {
		int c = *cap ? *cap * 2 : 4;
		Rec *l = arena_alloc(&x->tmp, sizeof(Rec) * (size_t)c);
		if (l == NULL)
			return NULL;
		if (*n)
			memcpy(l, *list, sizeof(Rec) * (size_t)*n);
		*list = l;
		*cap = c;
	}
	Rec *r = &(*list)[(*n)++];
	memset(r, 0, sizeof *r);
	return r;
}

/* Adds obj's members to r, objects flattened into prefix<delim>key
 * names (and kept whole under their own name);
 * arrays are kept as they are. */
static int
flatten(Xform *x, Rec *r, const cJSON *obj, const char *prefix)
{
	for (const cJSON *c = obj->child; c; c = c->next) {
		const char *name = c->string ? c->string : "";
		if (prefix != NULL && (name = arena_printf(&x->tmp, "%s%s%s", prefix, x->delim, name)) == NULL)
			return ERR_NOMEM;
		int rc;
		if (cJSON_IsObject(c)) {
			if ((rc = rec_add(x, r, name, c)) != 0)
				return rc;
			if ((rc = flatten(x, r, c, name)) != 0)
				return rc;
		} else if ((rc = rec_add(x, r, name, c)) != 0) {
			return rc;
		}
	}
	return 0;
}

/* complexTypeConfig over obj: x->recs[0..nrecs) */
static int
complex_records(Xform *x, const cJSON *obj)
{
	int rc;
	Rec *list = NULL;
	int n = 0, cap = 0;
	Rec *r0 = push_rec(x, &list, &n, &cap);
	if (r0 == NULL || (rc = flatten(x, r0, obj, NULL)) != 0)
		return ERR_NOMEM;
	for (int u = 0; u < x->nunnest; u++) {
		const char *un = x->unnest[u];
		Rec *nl = NULL;
		int nn = 0, ncap = 0;
		for (int i = 0; i < n; i++) {
			const Rec *src = &list[i];
			const cJSON *arr = rec_get(src, un);
			if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0) {
				Rec *d = push_rec(x, &nl, &nn, &ncap);
				if (d == NULL)
					return ERR_NOMEM;
				*d = list[i];
				continue;
			}
			for (const cJSON *el = arr->child; el; el = el->next) {
				Rec *d = push_rec(x, &nl, &nn, &ncap);
				if (d == NULL)
					return ERR_NOMEM;
				src = &list[i];
				for (int k = 0; k < src->n; k++)
					if (strcmp(src->p[k].name, un) != 0 &&
					    (rc = rec_add(x, d, src->p[k].name, src->p[k].node)) != 0)
						return rc;
				rc = cJSON_IsObject(el) ? flatten(x, d, el, un) : rec_add(x, d, un, el);
				if (rc != 0)
					return rc;
			}
		}
		list = nl;
		n = nn;
	}
	for (int i = 0; i < n; i++)
		for (int k = 0; k < list[i].n; k++) {
			Pair *p = &list[i].p[k];
			if (cJSON_IsArray(p->node) && x->to_json != CT_NONE) {
				int nonprim = 0;
				for (const cJSON *el = p->node->child; el; el = el->next)
					nonprim |= cJSON_IsArray(el) || cJSON_IsObject(el);
				if (x->to_json == CT_ALL || nonprim) {
					char *t = cJSON_PrintUnformatted(p->node);
					cJSON *sn = t ? cJSON_CreateString(t) : NULL;
					cJSON_free(t);
					if (sn == NULL)
						return ERR_NOMEM;
					cJSON_AddItemToArray(x->made, sn);
					p->node = sn;
				}
			}
			for (int q = 0; q < x->nrename; q++) {
				size_t fl = strlen(x->ren_from[q]);
				if (strncmp(p->name, x->ren_from[q], fl) == 0) {
					const char *nn = arena_printf(&x->tmp, "%s%s", x->ren_to[q], p->name + fl);
					if (nn == NULL)
						return ERR_NOMEM;
					p->name = nn;
					break;
				}
			}
		}
	x->recs = list;
	x->nrecs = n;
	return 0;
}

/* ---- evaluation ---------------------------------------------------------- */

static void
short_text(const char *t, char *buf, size_t n)
{
	size_t l = strlen(t);
	if (l < n) {
		memcpy(buf, t, l + 1);
		return;
	}
	memcpy(buf, t, n - 4);
	memcpy(buf + n - 4, "...", 4);
}

/* Loads input i of st for the row being built. */
static int
load_input(Xform *x, Step *st, int i, const Rec *rec, const Value *row, Err *e)
{
	const XformCol *in = &st->x.inputs[i];
	InSlot *sl = &st->slots[i];
	Vec *v = &st->vecs[i];
	Value val;
	int sc = st->schema_col[i];
	if (sc >= 0) {
		val = row[sc];
	} else {
		Field f = {.name = in->name, .type = in->type, .kind = FIELD_DIMENSION, .single_value = !in->mv};
		f.default_null = value_null(in->type);
		int rc = convert_json(&f, rec_get(rec, in->name), &x->tmp, &val, e);
		if (rc != 0)
			return rc;
	}
	sl->nl = val.null;
	if (in->mv) {
		uint32_t n = val.null ? 0 : val.n;
		sl->off = 0;
		sl->cnt = n;
		if (type_is_var(in->type)) {
			const char **s = arena_alloc(&x->tmp, sizeof(char *) * (n + 1));
			uint32_t *l = arena_alloc(&x->tmp, sizeof(uint32_t) * (n + 1));
			if (s == NULL || l == NULL)
				return err_set(e, ERR_NOMEM, "out of memory");
			for (uint32_t k = 0; k < n; k++) {
				s[k] = val.u.mv[k].u.s;
				l[k] = val.u.mv[k].n;
			}
			v->s = s;
			v->slen = l;
		} else {
			int64_t *el = arena_alloc(&x->tmp, 8 * (n + 1));
			if (el == NULL)
				return err_set(e, ERR_NOMEM, "out of memory");
			for (uint32_t k = 0; k < n; k++) {
				if (type_is_float(in->type))
					((double *)el)[k] = val.u.mv[k].u.d;
				else
					el[k] = val.u.mv[k].u.i;
			}
			v->elems = el;
		}
		return 0;
	}
	if (val.null)
		return 0;
	if (type_is_var(in->type)) {
		sl->s = val.u.s;
		sl->sl = val.n;
	} else if (type_is_float(in->type)) {
		sl->d = type_is_float((WbType)val.type) ? val.u.d : (double)val.u.i;
	} else {
		sl->i = type_is_float((WbType)val.type) ? (int64_t)val.u.d : val.u.i;
	}
	return 0;
}

/* Converts one scalar result r into field f's (element) type. */
static int
to_field(const Field *f, const Value *r, Arena *a, Value *out, Err *e)
{
	Field sf = *f;
	sf.single_value = 1;
	WbType rt = (WbType)r->type;
	if (type_is_var(rt)) {
		if (f->type == TYPE_JSON && rt == TYPE_JSON)
			return value_copy(out, r, a) == 0 ? 0 : err_set(e, ERR_NOMEM, "out of memory");
		ConvertJValue jv = {CONVERT_JSTRING, r->u.s, r->n};
		return convert_jvalue(&sf, &jv, a, out, e);
	}
	if (type_is_numeric(f->type) || f->type == TYPE_TIMESTAMP) {
		int rc = expr_convert(r, f->type, out, a, e);
		if (rc == 0)
			out->mv = 0;
		return rc;
	}
	char buf[64];
	ConvertJValue jv = {CONVERT_JNUMBER, buf, 0};
	if (rt == TYPE_BOOLEAN) {
		jv.kind = r->u.i ? CONVERT_JTRUE : CONVERT_JFALSE;
		if (f->type == TYPE_STRING) {
			jv.kind = CONVERT_JSTRING;
			jv.s = r->u.i ? "true" : "false";
			jv.n = strlen(jv.s);
		}
	} else {
		Buf b;
		buf_init(&b);
		value_format(r, &b);
		jv.n = b.len < sizeof buf ? b.len : sizeof buf - 1;
		memcpy(buf, b.p ? b.p : "", jv.n);
		buf_free(&b);
		if (f->type == TYPE_STRING)
			jv.kind = CONVERT_JSTRING;
	}
	return convert_jvalue(&sf, &jv, a, out, e);
}

/* Stores result res into column f of the row (strings in a). */
static int
store(const Field *f, const Value *res, Arena *a, Value *out, Err *e)
{
	if (res->null || (res->mv && res->n == 0)) {
		convert_null(f, out);
		return 0;
	}
	if (f->single_value) {
		if (res->mv)
			return err_set(e, ERR_TYPE, "multi-value result for single-value column");
		return to_field(f, res, a, out, e);
	}
	uint32_t n = res->mv ? res->n : 1;
	Value *arr = arena_alloc(a, sizeof(Value) * n);
	if (arr == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	for (uint32_t k = 0; k < n; k++) {
		int rc = to_field(f, res->mv ? &res->u.mv[k] : res, a, &arr[k], e);
		if (rc != 0)
			return rc;
	}
	*out = (Value){.type = (uint8_t)f->type, .mv = 1, .n = n};
	out->u.mv = arr;
	return 0;
}

/* Evaluates st for the row; *res lives in x->tmp / st->cx. */
static int
eval_step(Xform *x, Step *st, const Rec *rec, const Value *row, Value *res, Err *e)
{
	int rc;
	for (int i = 0; i < st->x.ninputs; i++)
		if ((rc = load_input(x, st, i, rec, row, e)) != 0)
			return rc;
	Batch b = {.n = 1, .ncols = st->x.ninputs, .cols = st->vecs};
	const Vec *o;
	exprvec_reset_batch(&st->cx);
	if ((rc = exprvec_eval(&st->cx, st->x.expr, &b, NULL, 1, &o, e)) != 0)
		return rc;
	if (exprvec_value(o, 0, res, &x->tmp) != 0)
		return err_set(e, ERR_NOMEM, "out of memory");
	return 0;
}

/* One flattened record into a new row of out; 1 when filtered out. */
static int
one_row(Xform *x, const Rec *rec, RowBatch *out, int *col, Err *e)
{
	const Schema *s = x->s;
	Value *row = rowbatch_add_row(out);
	if (row == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	int rc;
	for (int i = 0; i < s->nfields; i++) {
		if ((rc = convert_json(&s->fields[i], rec_get(rec, s->fields[i].name), &out->arena, &row[i], e)) != 0) {
			*col = i;
			goto fail;
		}
	}
	for (int k = 0; k < x->nsteps; k++) {
		Step *st = &x->steps[k];
		if (!row[st->dest].null)
			continue;	/* the record gave the column (Pinot) */
		Value res;
		Err ee;
		err_clear(&ee);
		rc = eval_step(x, st, rec, row, &res, &ee);
		if (rc == 0)
			rc = store(&s->fields[st->dest], &res, &out->arena, &row[st->dest], &ee);
		if (rc != 0) {
			char t[100];
			short_text(st->text, t, sizeof t);
			err_set(e, rc, "column '%s': transform %s: %s", s->fields[st->dest].name, t, err_msg(&ee));
			*col = st->dest;
			goto fail;
		}
	}
	if (x->filter != NULL) {
		Value res;
		Err ee;
		err_clear(&ee);
		if ((rc = eval_step(x, x->filter, rec, row, &res, &ee)) != 0) {
			char t[100];
			short_text(x->filter->text, t, sizeof t);
			err_set(e, rc, "filterFunction %s: %s", t, err_msg(&ee));
			*col = -1;
			goto fail;
		}
		if (!res.null && res.u.i != 0) {
			rowbatch_pop_row(out);
			return 1;
		}
	}
	return 0;
fail:
	rowbatch_pop_row(out);
	return rc;
}

static int
run(Xform *x, const cJSON *obj, RowBatch *out, int *col, int *filtered, Err *e)
{
	int rc = 0;
	if (x->complex) {
		if (complex_records(x, obj) != 0)
			return err_set(e, ERR_NOMEM, "out of memory");
	} else {
		Rec *list = NULL;
		int n = 0, cap = 0;
		Rec *r0 = push_rec(x, &list, &n, &cap);
		if (r0 == NULL)
			return err_set(e, ERR_NOMEM, "out of memory");
		for (const cJSON *c = obj->child; c; c = c->next)
			if (rec_add(x, r0, c->string ? c->string : "", c) != 0)
				return err_set(e, ERR_NOMEM, "out of memory");
		x->recs = list;
		x->nrecs = n;
	}
	size_t n0 = out->nrows;
	int nf = 0;
	for (int r = 0; r < x->nrecs; r++) {
		rc = one_row(x, &x->recs[r], out, col, e);
		if (rc == 1) {
			nf++;
			rc = 0;
		}
		if (rc != 0) {
			while (out->nrows > n0)
				rowbatch_pop_row(out);
			return rc;
		}
	}
	if (filtered)
		*filtered += nf;
	return 0;
}

static void
end_record(Xform *x)
{
	arena_reset(&x->tmp);
	cJSON_Delete(x->made);
	x->made = NULL;
}

int
xform_record(Xform *x, const char *rec, size_t len, RowBatch *out, int *col, int *filtered, Err *e)
{
	*col = -1;
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(rec, len, &end, 0);
	if (j == NULL) {
		const char *ep = cJSON_GetErrorPtr();
		size_t at = ep && ep >= rec && ep <= rec + len ? (size_t)(ep - rec) : 0;
		return err_set(e, ERR_BAD_JSON, "invalid JSON at byte %zu", at);
	}
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return err_set(e, ERR_BAD_JSON, "JSON value is not an object");
	}
	x->made = cJSON_CreateArray();
	int rc = x->made ? run(x, j, out, col, filtered, e) : err_set(e, ERR_NOMEM, "out of memory");
	end_record(x);
	cJSON_Delete(j);
	return rc;
}

int
xform_record_text(Xform *x, int n, const char *const *names, const char *const *values,
		  const size_t *lens, RowBatch *out, int *col, int *filtered, Err *e)
{
	*col = -1;
	cJSON *j = cJSON_CreateObject();
	x->made = cJSON_CreateArray();
	int rc = 0;
	if (j == NULL || x->made == NULL)
		rc = err_set(e, ERR_NOMEM, "out of memory");
	for (int i = 0; i < n && rc == 0; i++) {
		if (values[i] == NULL || names[i] == NULL)
			continue;
		char *t = arena_strndup(&x->tmp, values[i], lens[i]);
		cJSON *sv = t ? cJSON_CreateString(t) : NULL;
		if (sv == NULL || !cJSON_AddItemToObject(j, names[i], sv)) {
			cJSON_Delete(sv);
			rc = err_set(e, ERR_NOMEM, "out of memory");
		}
	}
	if (rc == 0)
		rc = run(x, j, out, col, filtered, e);
	end_record(x);
	cJSON_Delete(j);
	return rc;
}
