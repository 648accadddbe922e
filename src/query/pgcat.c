/*
 * pgcat.c -- the parts of PostgreSQL's catalog emulation that need the
 * session or the catalog's names at bind time.
 *
 * pgcat_rewrite walks a parsed statement (every expression of every
 * nested SELECT) and replaces, in place in the statement's arena, the
 * calls that depend on the session (current_user, current_database(),
 * current_setting('x') of a setting the session has) by constants, and
 * the object-identifier casts (::regclass, ::regtype, ::oid) by what the
 * binder knows: OIDs as int constants or calls of expr/fnpg.c's lookups
 * (text::regclass of an expression: wb_regclass, looked up per row).  It
 * also turns PostgreSQL forms Waybill has no type for into ones it runs:
 * information_schema._pg_expandarray and its record fields (x, n) into
 * unnest / generate_subscripts, subscripts of int2vector columns (from 0)
 * into Waybill's (from 1), generate_series over an array's bounds into
 * generate_subscripts.  The virtual tables themselves are in systab.c.
 *
 * pgcat_install gives fnpg.c a catalog to answer pg_relation_size,
 * oid::regclass, text::regclass and pg_get_indexdef / constraintdef from
 * (process-wide; one catalog per process).
 *
 * Failures: a missing relation in 'x'::regclass is ERR_TABLE_MISSING
 * naming it, at the literal's position; an unknown type in 'x'::regtype
 * is ERR_TYPE; (c).f of a column c that is no _pg_expandarray record of
 * a derived table in scope is ERR_TYPE ("column notation .f applied to
 * column c, which is not a composite type", as PostgreSQL); another
 * field of such a record is ERR_UNSUPPORTED.
 *
 * Exports: pgcat_rewrite, pgcat_install.
 */
#include "query/pgcat.h"
#include "query/systab.h"
#include "expr/fnpg.h"
#include "expr/pgtype.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The statements around the expression being rewritten (innermost
 * first): their FROM items are what a (column).field may name. */
typedef struct RwScope {
	const AstSelect *q;
	const struct RwScope *up;
} RwScope;

typedef struct Rw {
	Catalog *c;
	const char *user;
	const char *db;
	const char *(*setting)(void *ctx, const char *name);
	void *setting_ctx;
	Arena *a;
	int *session;
	Err *e;
	const RwScope *scope;
} Rw;

static int rw_select(Rw *w, AstSelect *q, int derived);

static void
set_str(Ast *n, const char *s)
{
	n->kind = AST_CONST;
	n->nargs = 0;
	n->args = NULL;
	n->val = value_str(TYPE_STRING, s, (uint32_t)strlen(s));
	n->lit_string = 0;
}

static void
set_int(Ast *n, int64_t v)
{
	n->kind = AST_CONST;
	n->nargs = 0;
	n->args = NULL;
	n->val = value_int(TYPE_INT, v);
	n->lit_string = 0;
}

/* n becomes fname(arg) */
static int
set_call(Rw *w, Ast *n, const char *fname, Ast *arg, int nargs)
{
	Ast **args = arena_calloc(w->a, sizeof(Ast *) * 2);
	if (args == NULL)
		return err_set(w->e, ERR_NOMEM, "out of memory");
	args[0] = arg;
	if (nargs == 2) {
		Ast *nul = arena_calloc(w->a, sizeof(Ast));
		if (nul == NULL)
			return err_set(w->e, ERR_NOMEM, "out of memory");
		nul->kind = AST_CONST;
		nul->val = value_null(TYPE_INT);
		args[1] = nul;
	}
	n->kind = AST_FUNC;
	n->name = fname;
	n->args = args;
	n->nargs = nargs;
	return 0;
}

/* The OID of the relation a regclass input names: 'name' or
 * 'schema.name' (quoted parts exact, others lowercased as PostgreSQL's
 * regclass input does; a Waybill table is then also found
 * case-insensitively), or a number (already an OID); 0 if none. */
static int32_t
regclass_lookup(Catalog *c, const char *s, size_t n)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%.*s", (int)(n < sizeof(buf) ? n : sizeof(buf) - 1), s);
	char *schema = NULL, *name = buf;
	char *dot = strchr(buf, '.');
	if (dot != NULL && buf[0] != '"') {
		*dot = '\0';
		schema = buf;
		name = dot + 1;
	}
	for (char *p = name; *p; p++)
		if (*p == '"')
			memmove(p, p + 1, strlen(p));
	int32_t oid = 0;
	char *end;
	long v = strtol(name, &end, 10);
	if (*name && *end == '\0' && schema == NULL)
		oid = (int32_t)v;
	else
		oid = systab_rel_by_name(c, schema, name);
	if (oid == 0 && c != NULL && (schema == NULL || strcasecmp(schema, "public") == 0)) {
		Table *t = catalog_get_table_ci(c, name);
		if (t != NULL) {
			oid = systab_rel_oid("public", table_name(t));
			table_unref(t);
		}
	}
	return oid;
}

static int
regclass_const(Rw *w, Ast *n, const Ast *lit)
{
	int32_t oid = regclass_lookup(w->c, lit->val.u.s, lit->val.n);
	if (oid == 0) {
		int rc = err_set(w->e, ERR_TABLE_MISSING, "relation \"%.*s\" does not exist at position %d",
				 (int)lit->val.n, lit->val.u.s, lit->pos ? lit->pos : n->pos);
		w->e->pos = lit->pos ? lit->pos : n->pos;
		return rc;
	}
	set_int(n, oid);
	return 0;
}

static int
rw_cast(Rw *w, Ast *n)
{
	const char *t = n->name;
	Ast *arg = n->args[0];
	int lit = arg->kind == AST_CONST && !arg->val.null && type_is_var((WbType)arg->val.type);
	if (strcmp(t, "regclass") == 0) {
		if (lit)
			return regclass_const(w, n, arg);
		/* text: the OID, looked up per row; an OID: its name */
		return set_call(w, n, "wb_regclass", arg, 1);
	}
	if (strcmp(t, "regtype") == 0) {
		if (lit) {
			char buf[128];
			snprintf(buf, sizeof(buf), "%.*s", (int)arg->val.n, arg->val.u.s);
			const PgType *p = pgtype_by_name(buf);
			if (p == NULL) {
				int rc = err_set(w->e, ERR_TYPE, "type \"%s\" does not exist at position %d", buf,
						 arg->pos ? arg->pos : n->pos);
				w->e->pos = arg->pos ? arg->pos : n->pos;
				return rc;
			}
			set_int(n, p->oid);
			return 0;
		}
		return set_call(w, n, "format_type", arg, 2);
	}
	if (strcmp(t, "regnamespace") == 0)
		return set_call(w, n, "wb_nspname", arg, 1);
	if (strcmp(t, "oid") == 0 || strcmp(t, "regproc") == 0 || strcmp(t, "regprocedure") == 0 ||
	    strcmp(t, "regrole") == 0 || strcmp(t, "xid") == 0 || strcmp(t, "cid") == 0 ||
	    strcmp(t, "regoper") == 0)
		n->name = "int8";
	else if (strcmp(t, "name") == 0 || strcmp(t, "char") == 0 || strcmp(t, "bpchar") == 0)
		n->name = "text";
	return 0;
}

static int
is_array_literal(const Ast *n)
{
	if (!(n->kind == AST_CONST && n->lit_string && !n->val.null && n->val.n >= 2 && n->val.u.s[0] == '{' &&
	      n->val.u.s[n->val.n - 1] == '}'))
		return 0;
	/* a JSON object ('{"k": 1}', compared with a JSON column) has a ':'
	 * outside its strings; an array literal does not */
	int inq = 0;
	for (uint32_t i = 1; i + 1 < n->val.n; i++) {
		char c = n->val.u.s[i];
		if (c == '\\' && inq)
			i++;
		else if (c == '"')
			inq = !inq;
		else if (c == ':' && !inq)
			return 0;
	}
	return 1;
}

/* col = '{a,b}' (an array literal): array_to_string(col, ',') = 'a,b' */
static int
rw_array_literal(Rw *w, Ast *n)
{
	int li = is_array_literal(n->args[1]) ? 1 : is_array_literal(n->args[0]) ? 0 : -1;
	if (li < 0 || n->args[1 - li]->kind != AST_COLREF)
		return 0;
	Ast *lit = n->args[li];
	char *d = arena_alloc(w->a, lit->val.n);
	Ast *sep = arena_calloc(w->a, sizeof(Ast)), *call = arena_calloc(w->a, sizeof(Ast));
	Ast **args = arena_calloc(w->a, sizeof(Ast *) * 2);
	if (d == NULL || sep == NULL || call == NULL || args == NULL)
		return err_set(w->e, ERR_NOMEM, "out of memory");
	uint32_t k = 0;
	for (uint32_t i = 1; i + 1 < lit->val.n; i++)
		if (lit->val.u.s[i] != '"')
			d[k++] = lit->val.u.s[i];
	d[k] = '\0';
	lit->val = value_str(TYPE_STRING, d, k);
	sep->kind = AST_CONST;
	sep->val = value_str(TYPE_STRING, ",", 1);
	sep->lit_string = 1;
	args[0] = n->args[1 - li];
	args[1] = sep;
	*call = (Ast){.kind = AST_FUNC, .pos = args[0]->pos, .name = "array_to_string", .nargs = 2, .args = args};
	n->args[1 - li] = call;
	return 0;
}

/* PostgreSQL names x::regclass after x (a function call in Waybill) */
static const char *
cast_colname(const Ast *n)
{
	if (n->kind != AST_CAST || (strcmp(n->name, "regclass") != 0 && strcmp(n->name, "regtype") != 0 &&
				    strcmp(n->name, "regnamespace") != 0))
		return NULL;
	const char *type = n->name;
	while (n->kind == AST_CAST)
		n = n->args[0];
	/* a column or function names it, anything else the type */
	return n->kind == AST_COLREF || n->kind == AST_FUNC ? n->name : type;
}

/* ---- information_schema._pg_expandarray(arr) ---------------------------
 * PostgreSQL's set-returning function of records (x: the element, n: its
 * 1-based position), read by pgjdbc's getPrimaryKeys and getIndexInfo as
 * (_pg_expandarray(a)).n and ((derived).keys).x.  Waybill has no record
 * type: a record of _pg_expandarray is its x, so the call becomes
 * unnest(a), its .x unnest(a), its .n generate_subscripts(a, 1) (which
 * query.c runs in lockstep with unnest); a derived table's column K
 * holding such a record gets a companion column "K.n" for (q.K).n. */

static int
is_expandarray(const Ast *n)
{
	return n != NULL && n->kind == AST_FUNC && n->over == NULL && n->nargs == 1 &&
	       strcmp(n->name, "_pg_expandarray") == 0;
}

/* n (a _pg_expandarray call or a (call).field) becomes unnest(arr) or
 * generate_subscripts(arr, 1) */
static int
set_expand(Rw *w, Ast *n, Ast *arr, int pos)
{
	if (!pos)
		return set_call(w, n, "unnest", arr, 1);
	Ast **args = arena_calloc(w->a, sizeof(Ast *) * 2);
	Ast *one = arena_calloc(w->a, sizeof(Ast));
	if (args == NULL || one == NULL)
		return err_set(w->e, ERR_NOMEM, "out of memory");
	one->kind = AST_CONST;
	one->val = value_int(TYPE_INT, 1);
	args[0] = arr;
	args[1] = one;
	n->kind = AST_FUNC;
	n->name = "generate_subscripts";
	n->args = args;
	n->nargs = 2;
	return 0;
}

/* 1 when derived table d has a column `name` holding a _pg_expandarray
 * record (before or after rw_expand_targets ran on d). */
static int
rec_col(const AstSelect *d, const char *name)
{
	if (d == NULL || d->nbranch > 0)
		return 0;
	size_t len = strlen(name);
	for (int i = 0; i < d->ntargets; i++) {
		const AstTarget *t = &d->targets[i];
		const char *al = t->alias ? t->alias : is_expandarray(t->expr) ? "_pg_expandarray" : NULL;
		if (al == NULL)
			continue;
		if (is_expandarray(t->expr) && strcasecmp(al, name) == 0)
			return 1;
		/* rewritten already: K and its companion "K.n" */
		if (strlen(al) == len + 2 && strncasecmp(al, name, len) == 0 && strcmp(al + len, ".n") == 0)
			return 1;
	}
	return 0;
}

/* 1 when colref c names a record column of a derived table among the
 * FROM items of the statements around it. */
static int
is_record_ref(const Rw *w, const Ast *c)
{
	for (const RwScope *s = w->scope; s != NULL; s = s->up) {
		const AstSelect *q = s->q;
		if (q->from_sub && (c->qual == NULL || (q->from_alias && strcasecmp(c->qual, q->from_alias) == 0)) &&
		    rec_col(q->from_sub, c->name))
			return 1;
		for (int i = 0; i < q->nfrom; i++)
			if (q->from[i].sub &&
			    (c->qual == NULL || (q->from[i].alias && strcasecmp(c->qual, q->from[i].alias) == 0)) &&
			    rec_col(q->from[i].sub, c->name))
				return 1;
	}
	return 0;
}

/* wb_field(record, 'f'), pgparse.c's (record).f */
static int
is_field(const Ast *n)
{
	return n->kind == AST_FUNC && n->nargs == 2 && strcmp(n->name, "wb_field") == 0 &&
	       n->args[1]->kind == AST_CONST && !n->args[1]->val.null && type_is_var((WbType)n->args[1]->val.type);
}

static int
rw_field(Rw *w, Ast *n)
{
	Ast *rec = n->args[0];
	const Ast *f = n->args[1];
	const char *fld = f->val.u.s;
	int isx = f->val.n == 1 && fld[0] == 'x', isn = f->val.n == 1 && fld[0] == 'n';
	if (is_expandarray(rec) && (isx || isn))
		return set_expand(w, n, rec->args[0], isn);
	if (rec->kind == AST_COLREF && !is_record_ref(w, rec)) {
		/* PostgreSQL: column notation .x applied to type text, which
		 * is not a composite type */
		int rc = err_set(w->e, ERR_TYPE,
				 "column notation .%.*s applied to column \"%s\", which is not a composite type "
				 "(at position %d)",
				 (int)f->val.n, fld, rec->name, n->pos);
		w->e->pos = n->pos;
		return rc;
	}
	if (rec->kind == AST_COLREF && (isx || isn)) {
		Ast c = *rec;
		if (isn) {
			char *nm = arena_alloc(w->a, strlen(rec->name) + 3);
			if (nm == NULL)
				return err_set(w->e, ERR_NOMEM, "out of memory");
			sprintf(nm, "%s.n", rec->name);
			c.name = nm;
			c.quoted = 1;
		}
		*n = c;
		return 0;
	}
	int rc = err_set(w->e, ERR_UNSUPPORTED,
			 "field selection (...).%.*s is not supported here (only the x and n of "
			 "information_schema._pg_expandarray) at position %d",
			 (int)f->val.n, fld, n->pos);
	w->e->pos = n->pos;
	return rc;
}

/* a derived table's targets: K = _pg_expandarray(a) gets "K.n" */
static int
rw_expand_targets(Rw *w, AstSelect *q)
{
	int extra = 0;
	for (int i = 0; q->nbranch == 0 && i < q->ntargets; i++)
		extra += is_expandarray(q->targets[i].expr);
	if (extra == 0)
		return 0;
	AstTarget *t = arena_calloc(w->a, sizeof(AstTarget) * (size_t)(q->ntargets + extra));
	if (t == NULL)
		return err_set(w->e, ERR_NOMEM, "out of memory");
	memcpy(t, q->targets, sizeof(AstTarget) * (size_t)q->ntargets);
	int k = q->ntargets;
	for (int i = 0; i < q->ntargets; i++) {
		if (!is_expandarray(t[i].expr))
			continue;
		const char *al = t[i].alias ? t[i].alias : "_pg_expandarray";
		char *nm = arena_alloc(w->a, strlen(al) + 3);
		Ast *c = arena_calloc(w->a, sizeof(Ast));
		if (nm == NULL || c == NULL)
			return err_set(w->e, ERR_NOMEM, "out of memory");
		sprintf(nm, "%s.n", al);
		*c = *t[i].expr;
		int rc = set_expand(w, c, t[i].expr->args[0], 1);
		if (rc != 0)
			return rc;
		t[i].alias = al;
		t[k] = t[i];
		t[k].expr = c;
		t[k].alias = nm;
		k++;
	}
	q->targets = t;
	q->ntargets = k;
	return 0;
}

/* int2vector and oidvector columns (pg_index.indkey, ...) subscript from
 * 0 in PostgreSQL (psqlODBC: ta.attnum = i.indkey[ia.attnum-1]); Waybill's
 * multi-values from 1: their subscripts call wb_subscript0 */
static int
zero_based(const Ast *a)
{
	static const char *const names[] = {"indkey", "indclass", "indcollation", "indoption", "proargtypes",
					    "stxkeys", "partattrs", "partclass", "partcollation", "tgattr", NULL};
	if (a->kind != AST_COLREF)
		return 0;
	for (int i = 0; names[i]; i++)
		if (strcmp(a->name, names[i]) == 0)
			return 1;
	return 0;
}

/* array_lower(a, 1) / array_upper(a, 1): a, else NULL */
static const Ast *
bound_of(const Ast *n, const char *fn)
{
	if (n->kind != AST_FUNC || n->nargs != 2 || strcmp(n->name, fn) != 0 || n->args[1]->kind != AST_CONST ||
	    n->args[1]->val.null || (n->args[1]->val.type != TYPE_INT && n->args[1]->val.type != TYPE_LONG) ||
	    n->args[1]->val.u.i != 1)
		return NULL;
	return n->args[0];
}

/* generate_series(array_lower(a, 1), array_upper(a, 1)) (psqlODBC's
 * SQLForeignKeys) is generate_subscripts(a, 1), which query.c runs in
 * the select list */
static int
rw_series_of_array(Rw *w, Ast *n)
{
	if (n->kind != AST_FUNC || n->nargs != 2 || n->over != NULL || strcmp(n->name, "generate_series") != 0)
		return 0;
	const Ast *lo = bound_of(n->args[0], "array_lower"), *hi = bound_of(n->args[1], "array_upper");
	if (lo == NULL || hi == NULL || lo->kind != AST_COLREF || hi->kind != AST_COLREF ||
	    strcmp(lo->name, hi->name) != 0 || (lo->qual == NULL) != (hi->qual == NULL) ||
	    (lo->qual && strcmp(lo->qual, hi->qual) != 0))
		return 0;
	return set_expand(w, n, n->args[0]->args[0], 1);
}

static int
rw_expr(Rw *w, Ast *n)
{
	if (n == NULL)
		return 0;
	int rc;
	if (is_field(n) && (rc = rw_field(w, n)) != 0)
		return rc;
	if (is_expandarray(n) && (rc = set_expand(w, n, n->args[0], 0)) != 0)
		return rc;
	if (n->kind == AST_FUNC && n->nargs == 2 && strcmp(n->name, "wb_subscript") == 0 && zero_based(n->args[0]))
		n->name = "wb_subscript0";	/* renamed: a WITH query read twice is rewritten twice */
	for (int i = 0; i < n->nargs; i++)
		if ((rc = rw_expr(w, n->args[i])) != 0)
			return rc;
	if ((rc = rw_expr(w, n->filter)) != 0)
		return rc;
	if (n->sub != NULL && (rc = rw_select(w, n->sub, 0)) != 0)
		return rc;
	if (n->over != NULL) {
		for (int i = 0; i < n->over->npart; i++)
			if ((rc = rw_expr(w, n->over->part[i])) != 0)
				return rc;
		for (int i = 0; i < n->over->norder; i++)
			if ((rc = rw_expr(w, n->over->order[i].expr)) != 0)
				return rc;
	}
	if (n->kind == AST_CAST)
		return rw_cast(w, n);
	if (n->kind == AST_OP && n->nargs == 2 && (strcmp(n->name, "=") == 0 || strcmp(n->name, "<>") == 0))
		return rw_array_literal(w, n);
	if (n->kind == AST_FUNC && n->over == NULL && (n->nargs == 1 || n->nargs == 2) && w->setting &&
	    strcmp(n->name, "current_setting") == 0 && n->args[0]->kind == AST_CONST && !n->args[0]->val.null &&
	    type_is_var((WbType)n->args[0]->val.type)) {
		/* the session's value of a setting it has (SET, startup) */
		char name[128];
		snprintf(name, sizeof(name), "%.*s", (int)(n->args[0]->val.n < 127 ? n->args[0]->val.n : 127),
			 n->args[0]->val.u.s);
		const char *v = w->setting(w->setting_ctx, name);
		if (v != NULL) {
			const char *copy = arena_strdup(w->a, v);
			if (copy == NULL)
				return err_set(w->e, ERR_NOMEM, "out of memory");
			set_str(n, copy);
		}
		*w->session = 1;
		return 0;
	}
	if (n->kind != AST_FUNC || n->nargs != 0 || n->over != NULL)
		return 0;
	if (strcmp(n->name, "current_user") == 0 || strcmp(n->name, "session_user") == 0 ||
	    strcmp(n->name, "user") == 0 || strcmp(n->name, "current_role") == 0 ||
	    strcmp(n->name, "getpgusername") == 0) {
		set_str(n, w->user);
		*w->session = 1;
	} else if (strcmp(n->name, "current_database") == 0 || strcmp(n->name, "current_catalog") == 0) {
		set_str(n, w->db);
		*w->session = 1;
	}
	return 0;
}

static int rw_select_in(Rw *w, AstSelect *q, int derived);

static int
rw_select(Rw *w, AstSelect *q, int derived)
{
	if (q == NULL)
		return 0;
	const RwScope *up = w->scope;
	RwScope s = {q, up};
	w->scope = &s;
	int rc = rw_select_in(w, q, derived);
	w->scope = up;
	return rc;
}

static int
rw_select_in(Rw *w, AstSelect *q, int derived)
{
	int rc;
	if (derived && (rc = rw_expand_targets(w, q)) != 0)
		return rc;
	for (int i = 0; i < q->ntargets; i++) {
		if ((rc = rw_series_of_array(w, q->targets[i].expr)) != 0)
			return rc;
		const Ast *x = q->targets[i].expr;
		if (q->targets[i].alias == NULL && is_expandarray(x))
			q->targets[i].alias = "_pg_expandarray";
		else if (q->targets[i].alias == NULL && is_field(x) &&
			 (q->targets[i].alias = arena_strndup(w->a, x->args[1]->val.u.s, x->args[1]->val.n)) == NULL)
			return err_set(w->e, ERR_NOMEM, "out of memory");
		else if (q->targets[i].alias == NULL && x->kind == AST_FUNC && x->nargs == 2 &&
			 strncmp(x->name, "wb_subscript", 12) == 0 && x->args[0]->kind == AST_COLREF)
			q->targets[i].alias = x->args[0]->name;	/* PostgreSQL names a[i] a */
		const char *nm = q->targets[i].alias ? NULL : cast_colname(q->targets[i].expr);
		if (nm != NULL)
			q->targets[i].alias = nm;
		if ((rc = rw_expr(w, q->targets[i].expr)) != 0)
			return rc;
	}
	if ((rc = rw_expr(w, q->where)) != 0 || (rc = rw_expr(w, q->having)) != 0)
		return rc;
	for (int i = 0; i < q->ngroup; i++)
		if ((rc = rw_expr(w, q->group[i])) != 0)
			return rc;
	for (int i = 0; i < q->norder; i++)
		if ((rc = rw_expr(w, q->order[i].expr)) != 0)
			return rc;
	if ((rc = rw_select(w, q->from_sub, 1)) != 0)
		return rc;
	for (int i = 0; i < q->nbranch; i++)
		if ((rc = rw_select(w, q->branches[i], 0)) != 0)
			return rc;
	for (int i = 0; i < q->nfrom; i++) {
		if ((rc = rw_select(w, q->from[i].sub, 1)) != 0 || (rc = rw_expr(w, q->from[i].on)) != 0 ||
		    (rc = rw_expr(w, q->from[i].fcall)) != 0)
			return rc;
	}
	return 0;
}

int
pgcat_rewrite(Catalog *c, AstSelect *q, const QueryOpts *o, Arena *a, int *session, Err *e)
{
	Rw w = {c, o->user ? o->user : "waybill", o->database ? o->database : "waybill", o->setting,
		o->setting_ctx, a, session, e, NULL};
	return rw_select(&w, q, 0);
}

static int64_t
relsize(int32_t oid, void *arg)
{
	char sc[256], nm[256];
	int64_t bytes = -1;
	if (!systab_rel_by_oid(arg, oid, sc, sizeof(sc), nm, sizeof(nm), &bytes))
		return -1;
	return bytes;
}

static int
relname(int32_t oid, void *arg, char *out, size_t cap)
{
	char sc[256], nm[256];
	if (!systab_rel_by_oid(arg, oid, sc, sizeof(sc), nm, sizeof(nm), NULL))
		return -1;
	/* qualified unless visible on the search path (public, pg_catalog) */
	if (strcmp(sc, "public") == 0 || strcmp(sc, "pg_catalog") == 0)
		snprintf(out, cap, "%s", nm);
	else
		snprintf(out, cap, "%s.%s", sc, nm);
	return 0;
}

static int32_t
reloid(const char *name, size_t n, void *arg)
{
	return regclass_lookup(arg, name, n);
}

static int
indexdef(int32_t oid, int col, void *arg, char *out, size_t cap)
{
	return systab_index_def(arg, oid, col, out, cap);
}

void
pgcat_install(Catalog *c)
{
	FnpgCatalog fc = {relsize, relname, reloid, indexdef, c};
	fnpg_set_catalog(&fc);
}
