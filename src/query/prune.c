/*
 * prune.c -- segment pruning and index use, from a plan's WHERE.
 *
 * Pruning (prune_segment) proves that no row of a segment makes the
 * WHERE TRUE.  never(e, neg) answers "is e never TRUE" (neg = 0) or "is e
 * never FALSE" (neg = 1) over the segment, so NOT pushes down exactly
 * under three-valued logic: AND is never TRUE if one argument is, OR if
 * all are, NOT flips neg.  Leaves are comparisons of a column with a
 * constant (=, <>, <, <=, >, >=; BETWEEN arrives as two of them), IN
 * lists, IS [NOT] NULL and boolean constants; anything else proves
 * nothing.  A leaf uses, for segment files only: the time range
 * (SegMeta tmin/tmax, for the time column), the column's min/max
 * (dictionary ids for var-length columns, compared through the
 * dictionary), the bloom filter and the dictionary (= and IN).  Numbers
 * compare exactly as the executor compares them (integer with integer,
 * otherwise as doubles), so an INT column against 2.5 is handled; a
 * float column holding NaN or a NaN / zero constant (where -0.0 and 0.0
 * differ in dictionary order) prunes nothing.  Multi-value columns are
 * TRUE when any element matches, so min/max over elements apply, but
 * never under a negation.  With NULLs read as stored values
 * (ignore_nulls) a column that has NULLs prunes nothing.  Mutable
 * segments are pruned by constant predicates only.
 *
 * Index use (prune_index) takes the top-level AND's conjuncts; each
 * comparison (not <>) or IN of a column with an inverted, sorted or range
 * index becomes rows of a bitset (segfile_ix_ids over a dictionary id
 * range, segfile_ix_range over a raw value range); the comparisons of one
 * column (BETWEEN) are intersected into one range first; the bitsets of
 * the conjuncts are ANDed.
 * A conjunct answered by an index is dropped from the residual only when
 * the column has no NULL (an index may list NULL rows under their stored
 * value); the residual is evaluated on the selected rows.  A range over
 * more than INV_MAX_IDS ids of a column with only an inverted index is
 * left to the scan (one bitmap per id costs more than reading the ids).  An index call
 * failing with anything but ERR_CORRUPT / ERR_NOMEM (not built, not
 * implemented) leaves its conjunct to the scan.
 *
 * Ownership: PruneIx owns its bitset and residual array (mem_alloc; freed
 * by prune_index_free); Exprs belong to the plan; dictionaries point into
 * the segment file's mapping.
 *
 * Exports: prune_why_name, prune_segment, prune_index, prune_index_free,
 * prune_explain.
 */
#include "query/prune.h"
#include "base/mem.h"

#include <math.h>
#include <string.h>

#define EXACT_DBL 9007199254740992.0	/* 2^53: integers below convert exactly */
#define INV_MAX_IDS 64			/* widest id range read through an inverted index */

typedef struct Ctx {
	const Plan *p;
	SegFile *f;		/* NULL: a mutable segment */
	const SegMeta *m;
	int ignore_nulls;
	Err *e;
	int rc;			/* first hard error (ERR_CORRUPT, ERR_NOMEM) */
} Ctx;

const char *
prune_why_name(PruneWhy w)
{
	switch (w) {
	case PRUNE_EMPTY: return "empty";
	case PRUNE_CONST: return "constant";
	case PRUNE_MINMAX: return "minmax";
	case PRUNE_TIME: return "time";
	case PRUNE_DICT: return "dictionary";
	case PRUNE_BLOOM: return "bloom";
	case PRUNE_LIMIT: return "limit";
	default: return "none";
	}
}

/* Soft failures (missing index, not implemented) are ignored; damage
 * and memory exhaustion end the query. */
static int
hard(Ctx *cx, int rc, const Err *tmp)
{
	if (rc == ERR_CORRUPT || rc == ERR_NOMEM) {
		if (cx->rc == 0) {
			*cx->e = *tmp;
			cx->rc = rc;
		}
		return 1;
	}
	return 0;
}

/* The file's column behind x (found by name: files keep the columns they
 * were written with) when x is a column reference of the same type;
 * *fc its index in the file.  NULL otherwise (also for a column the file
 * lacks, which reads as NULL: nothing is proven from it). */
static const SegColInfo *
fcol(const Ctx *cx, const Expr *x, int *fc)
{
	if (cx->f == NULL || x->kind != EXPR_COL)
		return NULL;
	int c = x->col;
	if (c < 0 || c >= cx->p->tab.ncols)
		return NULL;
	const BindCol *bc = &cx->p->tab.cols[c];
	*fc = segfile_col_find(cx->f, bc->name);
	if (*fc < 0)
		return NULL;
	const SegColInfo *ci = segfile_col(cx->f, *fc);
	if (ci == NULL || ci->type != bc->type || !ci->mv != !bc->mv)
		return NULL;
	if (cx->ignore_nulls && ci->null_count > 0)
		return NULL;
	if (type_is_float(ci->type) && ci->has_minmax && (isnan(ci->min.d) || isnan(ci->max.d)))
		return NULL;
	return ci;
}

static int
get_dict(Ctx *cx, int col, SegDict *d)
{
	Err tmp;
	err_clear(&tmp);
	int rc = segfile_dict(cx->f, col, d, &tmp);
	if (rc != 0)
		hard(cx, rc, &tmp);
	return rc;
}

static int
strcmp_n(const char *a, uint32_t an, const char *b, uint32_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	if (c != 0)
		return c < 0 ? -1 : 1;
	return an < bn ? -1 : an > bn;
}

/* A constant the executor compares with the column without surprises. */
static int
const_ok(const SegColInfo *ci, const Value *c)
{
	if (c->null || c->mv)
		return 0;
	if (type_is_var(ci->type))
		return type_is_var((WbType)c->type);
	if (!type_is_numeric((WbType)c->type))
		return 0;
	return !(type_is_float((WbType)c->type) && isnan(c->u.d));
}

/* Compares a column value v (a min or max: SegNum) with constant c as
 * the executor does: *out = -1/0/1.  -1 when it cannot tell. */
static int
cmp_bound(Ctx *cx, const SegColInfo *ci, int col, SegNum v, const Value *c, int *out)
{
	if (type_is_var(ci->type)) {
		SegDict d;
		if (!ci->has_dict || get_dict(cx, col, &d) != 0 || v.id >= d.card)
			return -1;
		uint32_t n = 0;
		const char *s = segfile_dict_str(&d, v.id, &n);
		*out = strcmp_n(s ? s : "", s ? n : 0, c->u.s, c->n);
		return 0;
	}
	if (!type_is_float(ci->type) && type_is_integer((WbType)c->type)) {
		*out = v.i < c->u.i ? -1 : v.i > c->u.i;
		return 0;
	}
	double a = type_is_float(ci->type) ? v.d : (double)v.i;
	double b = type_is_float((WbType)c->type) ? c->u.d : (double)c->u.i;
	*out = a < b ? -1 : a > b;
	return 0;
}

/* 1 if no value in [lo, hi] (compared with c: clo, chi) satisfies op. */
static int
range_never(int op, int clo, int chi)
{
	switch (op) {
	case EXPR_OP_EQ: return chi < 0 || clo > 0;
	case EXPR_OP_NE: return clo == 0 && chi == 0;
	case EXPR_OP_LT: return clo >= 0;
	case EXPR_OP_LE: return clo > 0;
	case EXPR_OP_GT: return chi <= 0;
	default: return chi < 0;
	}
}

static int
negate_op(int op)
{
	switch (op) {
	case EXPR_OP_EQ: return EXPR_OP_NE;
	case EXPR_OP_NE: return EXPR_OP_EQ;
	case EXPR_OP_LT: return EXPR_OP_GE;
	case EXPR_OP_LE: return EXPR_OP_GT;
	case EXPR_OP_GT: return EXPR_OP_LE;
	default: return EXPR_OP_LT;
	}
}

/* By time range, then min/max: PRUNE_TIME / PRUNE_MINMAX if no value of
 * the column satisfies `x op c`, else PRUNE_KEEP. */
static PruneWhy
bounds_never(Ctx *cx, const SegColInfo *ci, int col, int op, const Value *c)
{
	int lo, hi;
	if (col == cx->m->time_col && cx->m->has_time && !type_is_var(ci->type) && !type_is_float(ci->type)) {
		SegNum a = {.i = cx->m->tmin}, b = {.i = cx->m->tmax};
		if (cmp_bound(cx, ci, col, a, c, &lo) == 0 && cmp_bound(cx, ci, col, b, c, &hi) == 0 &&
		    range_never(op, lo, hi))
			return PRUNE_TIME;
	}
	if (cmp_bound(cx, ci, col, ci->min, c, &lo) == 0 && cmp_bound(cx, ci, col, ci->max, c, &hi) == 0 &&
	    range_never(op, lo, hi))
		return PRUNE_MINMAX;
	return PRUNE_KEEP;
}

/* The value of the column's type family that equals c under the
 * executor's comparison: 1 (*out set), 0 when no value of the column can
 * equal c, -1 when it cannot tell (NaN, zero of a float column, an
 * integer column against a double beyond 2^53). */
static int
eq_key(const SegColInfo *ci, const Value *c, Value *out)
{
	if (type_is_var(ci->type)) {
		*out = *c;
		return 1;
	}
	if (!type_is_float(ci->type)) {
		if (type_is_integer((WbType)c->type)) {
			*out = value_int(ci->type, c->u.i);
			return 1;
		}
		double d = c->u.d;
		if (isnan(d) || !(fabs(d) < EXACT_DBL))
			return -1;
		if (d != trunc(d))
			return 0;
		*out = value_int(ci->type, (int64_t)d);
		return 1;
	}
	double d = type_is_float((WbType)c->type) ? c->u.d : (double)c->u.i;
	if (isnan(d) || d == 0)
		return -1;
	*out = value_double(ci->type, d);
	return 1;
}

/* Whether `x = c` can hold for some row: PRUNE_KEEP or the reason it
 * cannot (min/max, bloom filter, dictionary). */
static PruneWhy
eq_never(Ctx *cx, const SegColInfo *ci, int col, const Value *c)
{
	PruneWhy w = bounds_never(cx, ci, col, EXPR_OP_EQ, c);
	if (w != PRUNE_KEEP)
		return w;
	Value k;
	int r = eq_key(ci, c, &k);
	if (r == 0)
		return PRUNE_MINMAX;
	if (r < 0)
		return PRUNE_KEEP;
	if (ci->indexes & SEGFILE_IX_BLOOM) {
		int may = 1;
		Err tmp;
		err_clear(&tmp);
		int rc = segfile_bloom_check(cx->f, col, &k, &may, &tmp);
		if (rc != 0)
			hard(cx, rc, &tmp);
		else if (!may)
			return PRUNE_BLOOM;
	}
	SegDict d;
	if (ci->has_dict && get_dict(cx, col, &d) == 0 && segfile_dict_find(&d, &k) == SEGFILE_NONE)
		return PRUNE_DICT;
	return PRUNE_KEEP;
}

static PruneWhy
never(Ctx *cx, const Expr *e, int neg)
{
	if (cx->rc != 0)
		return PRUNE_KEEP;
	switch (e->kind) {
	case EXPR_CONST:
		if (e->type != TYPE_BOOLEAN && e->type != TYPE_NULL)
			return PRUNE_KEEP;
		if (e->val.null)
			return PRUNE_CONST;
		return (e->val.u.i != 0) == neg ? PRUNE_CONST : PRUNE_KEEP;
	case EXPR_AND:
	case EXPR_OR: {
		int any = (e->kind == EXPR_AND) != neg;
		PruneWhy last = PRUNE_KEEP;
		for (int k = 0; k < e->nargs; k++) {
			PruneWhy w = never(cx, e->args[k], neg);
			if (any && w != PRUNE_KEEP)
				return w;
			if (!any && w == PRUNE_KEEP)
				return PRUNE_KEEP;
			last = w;
		}
		return any ? PRUNE_KEEP : last;
	}
	case EXPR_NOT:
		return never(cx, e->args[0], !neg);
	case EXPR_CASE: {
		/* (x IN (a, NULL) binds as CASE WHEN x IN (a) THEN true END)
		 * never TRUE (FALSE): no branch both taken and TRUE (FALSE) */
		if (e->type != TYPE_BOOLEAN)
			return PRUNE_KEEP;
		PruneWhy last = PRUNE_CONST;
		int k = 0;
		for (; k + 1 < e->nargs; k += 2) {
			PruneWhy w = never(cx, e->args[k], 0);
			if (w == PRUNE_KEEP)
				w = never(cx, e->args[k + 1], neg);
			if (w == PRUNE_KEEP)
				return PRUNE_KEEP;
			last = w;
		}
		if (k < e->nargs && never(cx, e->args[k], neg) == PRUNE_KEEP)
			return PRUNE_KEEP;
		return last;
	}
	case EXPR_CMP: {
		int fc = -1;
		const SegColInfo *ci = fcol(cx, e->args[0], &fc);
		if (ci == NULL || e->args[1]->kind != EXPR_CONST)
			return PRUNE_KEEP;
		const Value *c = &e->args[1]->val;
		if (c->null)
			return PRUNE_CONST;
		if (neg && ci->mv)
			return PRUNE_KEEP;
		if (!ci->has_minmax)
			return PRUNE_MINMAX;	/* every value NULL: never TRUE nor FALSE */
		if (!const_ok(ci, c))
			return PRUNE_KEEP;
		int op = neg ? negate_op(e->op) : e->op;
		if (op == EXPR_OP_EQ)
			return eq_never(cx, ci, fc, c);
		return bounds_never(cx, ci, fc, op, c);
	}
	case EXPR_IN: {
		int col = -1;
		const SegColInfo *ci = fcol(cx, e->args[0], &col);
		if (ci == NULL)
			return PRUNE_KEEP;
		int pol = neg != e->neg;
		if (pol && ci->mv)
			return PRUNE_KEEP;
		if (!ci->has_minmax)
			return PRUNE_MINMAX;
		if (!pol) {
			/* x IN (...) never TRUE: no constant can match */
			PruneWhy w = PRUNE_CONST;
			for (int k = 1; k < e->nargs; k++) {
				const Value *c = &e->args[k]->val;
				if (e->args[k]->kind != EXPR_CONST)
					return PRUNE_KEEP;
				if (c->null)
					continue;
				if (!const_ok(ci, c))
					return PRUNE_KEEP;
				PruneWhy wk = eq_never(cx, ci, col, c);
				if (wk == PRUNE_KEEP)
					return PRUNE_KEEP;
				if (wk > w || w == PRUNE_CONST)
					w = wk;
			}
			return w;
		}
		/* x IN (...) never FALSE: every value is one of the constants */
		for (int k = 1; k < e->nargs; k++) {
			const Value *c = &e->args[k]->val;
			if (e->args[k]->kind != EXPR_CONST || c->null || !const_ok(ci, c))
				continue;
			int lo, hi;
			if (cmp_bound(cx, ci, col, ci->min, c, &lo) == 0 &&
			    cmp_bound(cx, ci, col, ci->max, c, &hi) == 0 && lo == 0 && hi == 0)
				return PRUNE_MINMAX;
		}
		return PRUNE_KEEP;
	}
	case EXPR_ISNULL: {
		int fc;
		const SegColInfo *ci = fcol(cx, e->args[0], &fc);
		if (ci == NULL || cx->ignore_nulls)
			return PRUNE_KEEP;
		int pol = neg != e->neg;
		if (!pol)
			return ci->null_count == 0 ? PRUNE_MINMAX : PRUNE_KEEP;
		return ci->null_count == cx->m->nrows ? PRUNE_MINMAX : PRUNE_KEEP;
	}
	default:
		return PRUNE_KEEP;
	}
}

int
prune_segment(const Plan *p, const SnapSeg *ss, int ignore_nulls, PruneWhy *why, Err *e)
{
	*why = PRUNE_KEEP;
	if (ss->rows == 0) {
		*why = PRUNE_EMPTY;
		return 0;
	}
	if (p->where == NULL)
		return 0;
	Ctx cx = {p, (SegFile *)ss->file, NULL, ignore_nulls, e, 0};
	if (ss->file != NULL)
		cx.m = segfile_meta(ss->file);
	PruneWhy w = never(&cx, p->where, 0);
	if (cx.rc != 0)
		return cx.rc;
	*why = w;
	return 0;
}

/* ---- index use ---------------------------------------------------------- */

static int
count_conj(const Expr *e)
{
	if (e->kind != EXPR_AND)
		return 1;
	int n = 0;
	for (int k = 0; k < e->nargs; k++)
		n += count_conj(e->args[k]);
	return n;
}

static void
list_conj(const Expr *e, const Expr **out, int *n)
{
	if (e->kind != EXPR_AND) {
		out[(*n)++] = e;
		return;
	}
	for (int k = 0; k < e->nargs; k++)
		list_conj(e->args[k], out, n);
}

/* Access path of a conjunct. */
typedef enum Path { PATH_SCAN, PATH_IDS, PATH_RAWRANGE } Path;

/* Which index would answer conjunct x in this file (PATH_SCAN: none);
 * *ci_out the column, *fc its index in the file. */
static Path
conj_path(Ctx *cx, const Expr *x, const SegColInfo **ci_out, int *fc)
{
	if (x->kind == EXPR_CMP) {
		if (x->op == EXPR_OP_NE || x->args[1]->kind != EXPR_CONST)
			return PATH_SCAN;
	} else if (x->kind == EXPR_IN) {
		if (x->neg)
			return PATH_SCAN;
	} else {
		return PATH_SCAN;
	}
	const SegColInfo *ci = fcol(cx, x->args[0], fc);
	if (ci == NULL)
		return PATH_SCAN;
	*ci_out = ci;
	if (ci->has_dict && (ci->indexes & (SEGFILE_IX_INVERTED | SEGFILE_IX_SORTED | SEGFILE_IX_RANGE)))
		return PATH_IDS;
	if (!ci->has_dict && !ci->mv && type_is_numeric(ci->type) && (ci->indexes & SEGFILE_IX_RANGE))
		return PATH_RAWRANGE;
	return PATH_SCAN;
}

/* Dictionary id range [*lo, *hi) of the values v with `v op c`;
 * -1 if it cannot be computed exactly. */
static int
id_range(const SegDict *d, const SegColInfo *ci, int op, const Value *c, uint32_t *lo, uint32_t *hi)
{
	Value klo, khi;
	if (!const_ok(ci, c))
		return -1;
	if (type_is_var(ci->type)) {
		klo = khi = *c;
	} else if (!type_is_float(ci->type)) {
		int64_t fl, ce;
		if (type_is_integer((WbType)c->type)) {
			fl = ce = c->u.i;
		} else {
			double x = c->u.d;
			if (!(fabs(x) < EXACT_DBL))
				return -1;
			fl = (int64_t)floor(x);
			ce = (int64_t)ceil(x);
			if (op == EXPR_OP_EQ && fl != ce) {
				*lo = *hi = 0;
				return 0;
			}
		}
		klo = value_int(ci->type, ce);	/* bound for <, >= */
		khi = value_int(ci->type, fl);	/* bound for <=, > */
	} else {
		double x = type_is_float((WbType)c->type) ? c->u.d : (double)c->u.i;
		if (x == 0)
			return -1;
		klo = khi = value_double(ci->type, x);
	}
	switch (op) {
	case EXPR_OP_EQ:
		*lo = segfile_dict_bound(d, &klo, 0);
		*hi = segfile_dict_bound(d, &khi, 1);
		break;
	case EXPR_OP_LT:
		*lo = 0;
		*hi = segfile_dict_bound(d, &klo, 0);
		break;
	case EXPR_OP_LE:
		*lo = 0;
		*hi = segfile_dict_bound(d, &khi, 1);
		break;
	case EXPR_OP_GT:
		*lo = segfile_dict_bound(d, &khi, 1);
		*hi = d->card;
		break;
	case EXPR_OP_GE:
		*lo = segfile_dict_bound(d, &klo, 0);
		*hi = d->card;
		break;
	default:
		return -1;
	}
	if (*hi < *lo)
		*hi = *lo;
	return 0;
}

/* Inclusive raw value range [*lo, *hi] of `v op c`; *empty = 1 if no
 * value qualifies; -1 if it cannot be computed exactly. */
static int
raw_range(const SegColInfo *ci, int op, const Value *c, SegNum *lo, SegNum *hi, int *empty)
{
	*empty = 0;
	if (!const_ok(ci, c))
		return -1;
	if (!type_is_float(ci->type)) {
		int64_t fl, ce;
		if (type_is_integer((WbType)c->type)) {
			fl = ce = c->u.i;
		} else {
			double x = c->u.d;
			if (!(fabs(x) < EXACT_DBL))
				return -1;
			fl = (int64_t)floor(x);
			ce = (int64_t)ceil(x);
		}
		lo->i = INT64_MIN;
		hi->i = INT64_MAX;
		switch (op) {
		case EXPR_OP_EQ:
			if (fl != ce)
				*empty = 1;
			lo->i = hi->i = fl;
			break;
		case EXPR_OP_LT:
			if (ce == INT64_MIN)
				*empty = 1;
			else
				hi->i = ce - 1;
			break;
		case EXPR_OP_LE:
			hi->i = fl;
			break;
		case EXPR_OP_GT:
			if (fl == INT64_MAX)
				*empty = 1;
			else
				lo->i = fl + 1;
			break;
		case EXPR_OP_GE:
			lo->i = ce;
			break;
		default:
			return -1;
		}
		return 0;
	}
	double x = type_is_float((WbType)c->type) ? c->u.d : (double)c->u.i;
	if (x == 0)
		return -1;
	lo->d = -INFINITY;
	hi->d = INFINITY;
	switch (op) {
	case EXPR_OP_EQ: lo->d = hi->d = x; break;
	case EXPR_OP_LT: hi->d = nextafter(x, -INFINITY); break;
	case EXPR_OP_LE: hi->d = x; break;
	case EXPR_OP_GT: lo->d = nextafter(x, INFINITY); break;
	case EXPR_OP_GE: lo->d = x; break;
	default: return -1;
	}
	return 0;
}

/* A set of values as an index reads it: dictionary ids [lo, hi) or raw
 * values [rlo, rhi]. */
typedef struct Ival {
	int empty;
	uint32_t lo, hi;
	SegNum rlo, rhi;
} Ival;

/* The values with `v op c`; 0, or -1 if not exactly computable. */
static int
ival_of(Ctx *cx, Path path, const SegColInfo *ci, int col, int op, const Value *c, Ival *iv)
{
	memset(iv, 0, sizeof(*iv));
	if (c->null) {
		iv->empty = 1;
		return 0;
	}
	if (path == PATH_IDS) {
		SegDict d;
		if (get_dict(cx, col, &d) != 0 || id_range(&d, ci, op, c, &iv->lo, &iv->hi) != 0)
			return -1;
		iv->empty = iv->lo >= iv->hi;
		return 0;
	}
	return raw_range(ci, op, c, &iv->rlo, &iv->rhi, &iv->empty);
}

/* a = a AND b (BETWEEN, or several comparisons of one column). */
static void
ival_and(Path path, const SegColInfo *ci, Ival *a, const Ival *b)
{
	if (b->empty)
		a->empty = 1;
	if (a->empty)
		return;
	if (path == PATH_IDS) {
		if (b->lo > a->lo)
			a->lo = b->lo;
		if (b->hi < a->hi)
			a->hi = b->hi;
		a->empty = a->lo >= a->hi;
	} else if (type_is_float(ci->type)) {
		if (b->rlo.d > a->rlo.d)
			a->rlo.d = b->rlo.d;
		if (b->rhi.d < a->rhi.d)
			a->rhi.d = b->rhi.d;
		a->empty = a->rlo.d > a->rhi.d;
	} else {
		if (b->rlo.i > a->rlo.i)
			a->rlo.i = b->rlo.i;
		if (b->rhi.i < a->rhi.i)
			a->rhi.i = b->rhi.i;
		a->empty = a->rlo.i > a->rhi.i;
	}
}

/* ORs the rows whose value is in iv into rows; 0 done, -1 not answered. */
static int
ix_ival(Ctx *cx, Path path, const SegColInfo *ci, int col, const Ival *iv, uint64_t *rows,
	uint64_t *entries)
{
	Err tmp;
	err_clear(&tmp);
	uint64_t ent = 0;
	int rc;
	if (iv->empty)
		return 0;
	if (path == PATH_IDS) {
		/* an inverted index ORs one bitmap per id: over a wide id
		 * range the scan is cheaper */
		if (!(ci->indexes & (SEGFILE_IX_SORTED | SEGFILE_IX_RANGE)) && iv->hi - iv->lo > INV_MAX_IDS)
			return -1;
		rc = segfile_ix_ids(cx->f, col, iv->lo, iv->hi, rows, &ent, &tmp);
	} else {
		rc = segfile_ix_range(cx->f, col, iv->rlo, iv->rhi, rows, &ent, &tmp);
	}
	if (rc != 0) {
		hard(cx, rc, &tmp);
		return -1;
	}
	*entries += ent;
	return 0;
}

/* Rows of IN list x into rows (zeroed by the caller); 0 or -1. */
static int
ix_in(Ctx *cx, const Expr *x, Path path, const SegColInfo *ci, int col, uint64_t *rows, uint64_t *entries)
{
	for (int k = 1; k < x->nargs; k++) {
		Ival iv;
		if (x->args[k]->kind != EXPR_CONST ||
		    ival_of(cx, path, ci, col, EXPR_OP_EQ, &x->args[k]->val, &iv) != 0 ||
		    ix_ival(cx, path, ci, col, &iv, rows, entries) != 0)
			return -1;
	}
	return 0;
}

static void
mark_cols(const Expr *x, uint8_t *seen, int ncols, int *n)
{
	if (x->kind == EXPR_COL) {
		if (x->col >= 0 && x->col < ncols && !seen[x->col]) {
			seen[x->col] = 1;
			(*n)++;
		}
		return;
	}
	for (int k = 0; k < x->nargs; k++)
		mark_cols(x->args[k], seen, ncols, n);
}

void
prune_index_free(PruneIx *ix)
{
	mem_free(ix->rows);
	mem_free(ix->resid);
	memset(ix, 0, sizeof(*ix));
}

int
prune_index(const Plan *p, const SegFile *f, int ignore_nulls, PruneIx *ix, Err *e)
{
	memset(ix, 0, sizeof(*ix));
	if (p->where == NULL || f == NULL)
		return 0;
	Ctx cx = {p, (SegFile *)f, segfile_meta(f), ignore_nulls, e, 0};
	int n = count_conj(p->where);
	const Expr **conj = mem_alloc(sizeof(Expr *) * (size_t)n);
	uint8_t *exact = mem_calloc((size_t)n, 1);
	int *grouped = mem_calloc((size_t)n, sizeof(int));	/* 1: done; 2 + k: answered with k */
	size_t nw = (size_t)((cx.m->nrows + 63) / 64);
	uint64_t *tmp = NULL;
	int rc = 0;
	if (conj == NULL || exact == NULL || grouped == NULL)
		goto nomem;
	int k0 = 0;
	list_conj(p->where, conj, &k0);
	for (int k = 0; k < n && cx.rc == 0; k++) {
		const SegColInfo *ci = NULL;
		int col = -1;
		Path path = conj_path(&cx, conj[k], &ci, &col);
		if (path == PATH_SCAN || grouped[k])
			continue;
		if (tmp == NULL && (tmp = mem_alloc(nw * 8 + 8)) == NULL)
			goto nomem;
		memset(tmp, 0, nw * 8);
		uint64_t ent = 0;
		if (conj[k]->kind == EXPR_IN) {
			if (ix_in(&cx, conj[k], path, ci, col, tmp, &ent) != 0)
				continue;
			grouped[k] = 1;
		} else {
			/* every comparison of this column: one interval */
			Ival iv, jv;
			if (ival_of(&cx, path, ci, col, conj[k]->op, &conj[k]->args[1]->val, &iv) != 0)
				continue;
			grouped[k] = 1;
			for (int j = k + 1; j < n; j++) {
				const SegColInfo *cj = NULL;
				int fj = -1;
				if (conj[j]->kind != EXPR_CMP || grouped[j] || conj_path(&cx, conj[j], &cj, &fj) != path ||
				    fj != col ||
				    ival_of(&cx, path, ci, col, conj[j]->op, &conj[j]->args[1]->val, &jv) != 0)
					continue;
				ival_and(path, ci, &iv, &jv);
				grouped[j] = 2 + k;	/* answered with k */
			}
			if (ix_ival(&cx, path, ci, col, &iv, tmp, &ent) != 0) {
				for (int j = k; j < n; j++)
					if (j == k || grouped[j] == 2 + k)
						grouped[j] = 0;
				continue;
			}
		}
		ix->entries += ent;
		ix->nused++;
		for (int j = k; j < n; j++)
			if (j == k || grouped[j] == 2 + k)
				exact[j] = ci->null_count == 0;
		if (ix->rows == NULL) {
			ix->rows = tmp;
			tmp = NULL;
		} else {
			for (size_t w = 0; w < nw; w++)
				ix->rows[w] &= tmp[w];
		}
	}
	if (cx.rc != 0) {
		rc = cx.rc;
		goto fail;
	}
	if (ix->nused > 0) {
		ix->resid = mem_alloc(sizeof(Expr *) * (size_t)n);
		uint8_t *seen = mem_calloc((size_t)(p->tab.ncols > 0 ? p->tab.ncols : 1), 1);
		if (ix->resid == NULL || seen == NULL) {
			mem_free(seen);
			goto nomem;
		}
		for (int k = 0; k < n; k++)
			if (!exact[k]) {
				ix->resid[ix->nresid++] = conj[k];
				mark_cols(conj[k], seen, p->tab.ncols, &ix->resid_cols);
			}
		mem_free(seen);
	}
	mem_free(tmp);
	mem_free(conj);
	mem_free(exact);
	mem_free(grouped);
	return 0;
nomem:
	rc = err_set(e, ERR_NOMEM, "out of memory choosing indexes");
fail:
	mem_free(tmp);
	mem_free(conj);
	mem_free(exact);
	mem_free(grouped);
	prune_index_free(ix);
	return rc;
}

/* ---- EXPLAIN ------------------------------------------------------------ */

static const char *
op_text(int op)
{
	switch (op) {
	case EXPR_OP_EQ: return "=";
	case EXPR_OP_NE: return "<>";
	case EXPR_OP_LT: return "<";
	case EXPR_OP_LE: return "<=";
	case EXPR_OP_GT: return ">";
	default: return ">=";
	}
}

static void
put_const(const Value *v, Buf *b)
{
	if (v->null) {
		buf_puts(b, "NULL");
		return;
	}
	if (type_is_var((WbType)v->type)) {
		buf_putc(b, '\'');
		buf_append(b, v->u.s, v->n);
		buf_putc(b, '\'');
		return;
	}
	value_format(v, b);
}

/* A short rendering of the predicates pruning and indexes understand. */
static void
put_expr(const Plan *p, const Expr *x, Buf *b)
{
	switch (x->kind) {
	case EXPR_COL:
		buf_puts(b, x->col >= 0 && x->col < p->tab.ncols ? p->tab.cols[x->col].name : "?");
		return;
	case EXPR_CONST:
		put_const(&x->val, b);
		return;
	case EXPR_CMP:
		put_expr(p, x->args[0], b);
		buf_printf(b, " %s ", op_text(x->op));
		put_expr(p, x->args[1], b);
		return;
	case EXPR_IN:
		put_expr(p, x->args[0], b);
		buf_puts(b, x->neg ? " NOT IN (" : " IN (");
		for (int k = 1; k < x->nargs; k++) {
			if (k > 1)
				buf_puts(b, ", ");
			put_expr(p, x->args[k], b);
		}
		buf_putc(b, ')');
		return;
	case EXPR_ISNULL:
		put_expr(p, x->args[0], b);
		buf_puts(b, x->neg ? " IS NOT NULL" : " IS NULL");
		return;
	case EXPR_NOT:
		buf_puts(b, "NOT (");
		put_expr(p, x->args[0], b);
		buf_putc(b, ')');
		return;
	case EXPR_AND:
	case EXPR_OR:
		buf_putc(b, '(');
		for (int k = 0; k < x->nargs; k++) {
			if (k)
				buf_puts(b, x->kind == EXPR_AND ? " AND " : " OR ");
			put_expr(p, x->args[k], b);
		}
		buf_putc(b, ')');
		return;
	default:
		buf_puts(b, "<expression>");
		return;
	}
}

void
prune_explain(const Plan *p, const TableSnap *snap, const char *indent, Buf *b)
{
	if (p->where == NULL)
		return;
	int n = count_conj(p->where);
	const Expr **conj = mem_alloc(sizeof(Expr *) * (size_t)n);
	if (conj == NULL)
		return;
	int k0 = 0;
	list_conj(p->where, conj, &k0);
	Err tmp;
	err_clear(&tmp);
	for (int k = 0; k < n; k++) {
		/* [0] sorted, [1] inverted, [2] range over ids, [3] raw range,
		 * [4] scan of files, [5] scan of mutable segments */
		int cnt[6] = {0};
		for (int s = 0; snap && s < snap->nsegs; s++) {
			const SnapSeg *ss = &snap->segs[s];
			if (ss->file == NULL) {
				cnt[5]++;
				continue;
			}
			Ctx cx = {p, (SegFile *)ss->file, segfile_meta(ss->file), 0, &tmp, 0};
			const SegColInfo *ci = NULL;
			int fc;
			Path path = conj_path(&cx, conj[k], &ci, &fc);
			if (path == PATH_IDS)
				cnt[(ci->indexes & SEGFILE_IX_SORTED) ? 0 : (ci->indexes & SEGFILE_IX_INVERTED) ? 1 : 2]++;
			else if (path == PATH_RAWRANGE)
				cnt[3]++;
			else
				cnt[4]++;
		}
		static const char *const names[6] = {"sorted index", "inverted index", "range index",
						      "range index", "scan", "scan (mutable)"};
		buf_printf(b, "%sPREDICATE ", indent);
		put_expr(p, conj[k], b);
		buf_puts(b, ":");
		int any = 0;
		for (int i = 0; i < 6; i++)
			if (cnt[i]) {
				buf_printf(b, "%s %s x%d", any ? "," : "", names[i], cnt[i]);
				any = 1;
			}
		if (!any)
			buf_puts(b, " (no segments)");
		buf_putc(b, '\n');
	}
	mem_free(conj);
}
