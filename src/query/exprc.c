/*
 * exprc.c -- compiles one standalone SQL expression (Pinot's ingestion
 * transformFunction / filterFunction, as Pinot >= 0.11 parses them with
 * Calcite) into an Expr tree over named inputs, for src/ingest/xform.c.
 *
 * How it works: the text is wrapped as `SELECT <text> FROM __xform`,
 * parsed by pgparse and bound by the binder in Pinot's dialect against a
 * table whose columns are the known (schema) columns plus every other
 * name the expression uses.  Before binding, the AST's column references
 * are resolved here:
 *   - a name matching a known column (case-insensitively unless quoted,
 *     as SQL names match) becomes that column, spelled exactly;
 *   - any other name is a source field, spelled as written in the text
 *     (PostgreSQL lowercases unquoted names; Pinot keeps their case, so
 *     the original spelling is read back from the text), and a compound
 *     name `repo.name` is the one field "repo.name" (Pinot's flattened
 *     names), not a qualified column;
 *   - a source field gets a type from its first use: an argument of
 *     class N is DOUBLE, I/M LONG, T TIMESTAMP, B BOOLEAN (exprfn.h
 *     classes of the first overload with that arity), an operand of
 *     arithmetic DOUBLE, of a comparison with a number DOUBLE, anything
 *     else STRING (an object or array then arrives as its JSON text, so
 *     jsonPathString(payload, ...) reads it, while a plain string that is
 *     not JSON fails there, as in Pinot).
 * After binding, the inputs the tree reads are renumbered densely, so
 * ExprCompiled.inputs lists only those.
 *
 * Memory: everything lives in the Plan's arena (the parse arena is moved
 * into it, as bound constants may point at AST strings); the Plan is the
 * owner (exprc_release frees it).
 *
 * Errors: ERR_SQL_PARSE (with the position in the expression text),
 * ERR_FUNC_MISSING, ERR_TYPE, ERR_UNSUPPORTED (more than one expression,
 * subqueries, aggregates), ERR_NOMEM.
 *
 * Exports: exprc_compile, exprc_release.
 */
#include "query/exprc.h"
#include "base/buf.h"
#include "base/mem.h"
#include "expr/exprfn.h"
#include "query/bind.h"
#include "query/pgparse.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define PREFIX "SELECT "
#define MAX_SRC 256

typedef struct C {
	const char *sql;
	size_t sqllen;
	Arena *a;
	const ExprIn *known;
	int nknown;
	int nsrc;
	BindCol src[MAX_SRC];
	Err *e;
} C;

/* The identifier at sql[pos - 1] as written: dotted parts, quoted parts
 * unquoted ("" inside quotes is one quote). */
static char *
raw_ident(C *c, int pos)
{
	if (pos <= 0 || (size_t)pos > c->sqllen)
		return NULL;
	Buf b;
	buf_init(&b);
	size_t i = (size_t)pos - 1;
	const char *s = c->sql;
	for (;;) {
		if (s[i] == '"') {
			for (i++; i < c->sqllen; i++) {
				if (s[i] == '"') {
					if (s[i + 1] == '"') {
						buf_putc(&b, '"');
						i++;
						continue;
					}
					i++;
					break;
				}
				buf_putc(&b, s[i]);
			}
		} else {
			while (i < c->sqllen && (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '$' ||
						 (unsigned char)s[i] >= 0x80))
				buf_putc(&b, s[i++]);
		}
		if (i < c->sqllen && s[i] == '.' && i + 1 < c->sqllen && s[i + 1] != '*') {
			buf_putc(&b, '.');
			i++;
			continue;
		}
		break;
	}
	char *r = b.oom || b.len == 0 ? NULL : arena_strndup(c->a, b.p, b.len);
	buf_free(&b);
	return r;
}

static WbType
class_type(char cls, const char *fname)
{
	switch (cls) {
	case 'N': return TYPE_DOUBLE;
	case 'I': case 'M': return TYPE_LONG;
	case 'T': return TYPE_TIMESTAMP;
	case 'B': return TYPE_BOOLEAN;
	default: (void)fname; return TYPE_STRING;
	}
}

/* class of argument i of a call with nargs arguments (0 = none fits) */
static char
arg_class(const char *fname, int i, int nargs)
{
	int nf;
	const ExprFn *f = exprfn_find(fname, &nf);
	for (int k = 0; k < nf; k++) {
		char c = exprfn_sig_class(f[k].args, i, nargs);
		if (c)
			return c;
	}
	return 0;
}

static int
is_num_const(const Ast *n)
{
	return n && n->kind == AST_CONST && !n->lit_string && !n->val.null &&
	       type_is_numeric((WbType)n->val.type);
}

/* Resolves the column reference n (see the file comment); cls is the
 * class its context expects (0 = unknown). */
static int
colref(C *c, Ast *n, char cls)
{
	const char *raw = raw_ident(c, n->pos);
	if (raw == NULL)
		raw = n->qual ? arena_printf(c->a, "%s.%s", n->qual, n->name) : n->name;
	if (raw == NULL)
		return err_set(c->e, ERR_NOMEM, "out of memory");
	int compound = n->qual != NULL;
	for (int i = 0; i < c->nknown; i++) {
		const char *kn = c->known[i].name;
		if ((n->quoted || compound) ? strcmp(kn, raw) == 0 : strcasecmp(kn, raw) == 0) {
			n->name = kn;
			n->qual = NULL;
			n->quoted = 1;
			return 0;
		}
	}
	n->name = raw;
	n->qual = NULL;
	n->quoted = 1;
	for (int i = 0; i < c->nsrc; i++)
		if (strcmp(c->src[i].name, raw) == 0) {
			if (c->src[i].type == TYPE_STRING && cls != 0 && cls != 'S' && cls != 'A')
				c->src[i].type = class_type(cls, NULL);
			return 0;
		}
	if (c->nsrc == MAX_SRC)
		return err_set(c->e, ERR_TOO_LARGE, "more than %d input fields", MAX_SRC);
	c->src[c->nsrc].name = raw;
	c->src[c->nsrc].type = cls ? class_type(cls, NULL) : TYPE_STRING;
	c->src[c->nsrc].mv = 0;
	c->nsrc++;
	return 0;
}

static int
walk(C *c, Ast *n, char cls)
{
	if (n == NULL)
		return 0;
	int rc;
	switch (n->kind) {
	case AST_COLREF:
		return colref(c, n, cls);
	case AST_STAR:
		return err_set(c->e, ERR_UNSUPPORTED, "'*' is not an expression");
	case AST_SUBLINK:
		return err_set(c->e, ERR_UNSUPPORTED, "subqueries are not supported in ingestion expressions");
	case AST_FUNC:
		if (n->over != NULL || n->filter != NULL)
			return err_set(c->e, ERR_UNSUPPORTED, "%s: window and aggregate calls are not supported here",
				       n->name);
		for (int i = 0; i < n->nargs; i++)
			if ((rc = walk(c, n->args[i], arg_class(n->name, i, n->nargs))) != 0)
				return rc;
		return 0;
	case AST_OP: {
		char k = 0;
		const char *op = n->name ? n->name : "";
		if (strchr("+-*/%", op[0]) && op[1] == '\0')
			k = 'N';
		else if (n->nargs == 2 && (is_num_const(n->args[0]) || is_num_const(n->args[1])))
			k = 'N';
		for (int i = 0; i < n->nargs; i++)
			if ((rc = walk(c, n->args[i], k)) != 0)
				return rc;
		return 0;
	}
	case AST_AND:
	case AST_OR:
	case AST_NOT:
		for (int i = 0; i < n->nargs; i++)
			if ((rc = walk(c, n->args[i], 'B')) != 0)
				return rc;
		return 0;
	case AST_IN:
	case AST_BETWEEN: {
		char k = 0;
		for (int i = 1; i < n->nargs; i++)
			if (is_num_const(n->args[i]))
				k = 'N';
		for (int i = 0; i < n->nargs; i++)
			if ((rc = walk(c, n->args[i], k)) != 0)
				return rc;
		return 0;
	}
	default:
		for (int i = 0; i < n->nargs; i++)
			if ((rc = walk(c, n->args[i], 0)) != 0)
				return rc;
		return 0;
	}
}

/* Renumbers EXPR_COL nodes: map[old] = new index (assigned on first use). */
static void
renumber(Expr *e, int *map, int *next)
{
	if (e == NULL)
		return;
	if (e->kind == EXPR_COL) {
		if (map[e->col] < 0)
			map[e->col] = (*next)++;
		e->col = map[e->col];
	}
	for (int i = 0; i < e->nargs; i++)
		renumber(e->args[i], map, next);
}

int
exprc_compile(void *ctx, const char *text, const ExprIn *known, int nknown, ExprCompiled *out, Err *e)
{
	(void)ctx;
	memset(out, 0, sizeof *out);
	size_t tl = strlen(text);
	Buf sql;
	buf_init(&sql);
	buf_printf(&sql, "%s%s FROM __xform", PREFIX, text);
	if (sql.oom) {
		buf_free(&sql);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	Arena a;
	arena_init(&a, 4096);
	AstSelect *q = NULL;
	Err pe;
	err_clear(&pe);
	int rc = pgparse_parse(sql.p, &a, &q, &pe);
	if (rc != 0) {
		int pos = pe.pos > (int)strlen(PREFIX) ? pe.pos - (int)strlen(PREFIX) : 0;
		if (pos > 0 && (size_t)pos <= tl)
			err_set(e, rc, "cannot parse '%s' at position %d: %s", text, pos, pe.msg);
		else
			err_set(e, rc, "cannot parse '%s': %s", text, pe.msg);
		goto out;
	}
	if (q->ntargets != 1 || q->targets[0].alias != NULL || q->where || q->ngroup || q->norder ||
	    q->limit || q->nbranch || q->noptions || q->distinct || q->has_sublink) {
		rc = err_set(e, ERR_UNSUPPORTED, "'%s' is not one expression", text);
		goto out;
	}
	C c = {.sql = sql.p, .sqllen = sql.len, .a = &a, .known = known, .nknown = nknown, .e = e};
	if ((rc = walk(&c, q->targets[0].expr, 0)) != 0)
		goto out;
	int ncols = nknown + c.nsrc;
	BindCol *cols = arena_calloc(&a, sizeof(BindCol) * (size_t)(ncols + 1));
	if (cols == NULL) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < nknown; i++) {
		cols[i].name = known[i].name;
		cols[i].type = known[i].type;
		cols[i].mv = known[i].mv;
	}
	for (int i = 0; i < c.nsrc; i++)
		cols[nknown + i] = c.src[i];
	BindTable t = {.name = "__xform", .ncols = ncols, .cols = cols};
	Plan *p = NULL;
	Err be;
	err_clear(&be);
	if ((rc = bind_select(q, &t, 2, &p, &be)) != 0) {
		err_set(e, rc, "'%s': %s", text, be.msg);
		goto out;
	}
	if (p->nout != 1 || p->is_agg) {
		bind_free(p);
		rc = err_set(e, ERR_UNSUPPORTED, "'%s': aggregates are not supported in ingestion expressions", text);
		goto out;
	}
	int *map = arena_alloc(&p->arena, sizeof(int) * (size_t)(ncols + 1));
	ExprIn *ins = arena_calloc(&p->arena, sizeof(ExprIn) * (size_t)(ncols + 1));
	if (map == NULL || ins == NULL) {
		bind_free(p);
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < ncols; i++)
		map[i] = -1;
	int next = 0;
	renumber(p->out[0], map, &next);
	for (int i = 0; i < ncols; i++) {
		if (map[i] < 0)
			continue;
		ExprIn *in = &ins[map[i]];
		in->name = arena_strdup(&p->arena, cols[i].name);
		in->type = cols[i].type;
		in->mv = cols[i].mv;
		if (in->name == NULL) {
			bind_free(p);
			rc = err_set(e, ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	out->expr = p->out[0];
	out->nnodes = p->nnodes;
	out->ninputs = next;
	out->inputs = ins;
	out->owner = p;
	arena_steal(&p->arena, &a);	/* the tree may point at AST strings */
out:
	arena_free(&a);
	buf_free(&sql);
	return rc;
}

void
exprc_release(void *ctx, void *owner)
{
	(void)ctx;
	if (owner != NULL)
		bind_free(owner);
}
