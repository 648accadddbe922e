/*
 * lcexpr.c -- a flow source's stageExpr: a SQL expression over the
 * source table's columns that names each row's stage, e.g.
 *   CASE WHEN status = 'FAILED' THEN 'cancelled' ELSE stage END
 *
 * How: compiled once by the SQL front end (exprc_compile, the compiler
 * of ingestion transforms) against the table's schema; evaluated
 * vectorized over up to EXPR_BATCH rows at a time: each input column's
 * values are laid out as a Vec (strings as pointers and lengths,
 * integers widened to int64, floats to double, a NULL flag per row), the
 * tree runs once, and each row's result becomes text (a number is
 * formatted).  The inputs are found by name in the caller's row layout,
 * so a schema that gained columns (or the backfill's compact rows) needs
 * no recompilation.
 *
 * Threads: one ExprCtx, under a mutex (partitions' observer calls may
 * run together); evaluation is microseconds per batch.
 *
 * Failures: ERR_BAD_CONFIG naming the expression for one that does not
 * compile, reads a multi-value column or gives a multi-value;
 * evaluation errors (ERR_TYPE, ERR_DIV_ZERO...) make that batch's rows
 * stage-less (reported by the caller).
 *
 * Exports: lcexpr_compile, lcexpr_ninputs, lcexpr_input, lcexpr_eval,
 * lcexpr_free.
 */
#include "lifecycle/lcexpr.h"
#include "base/mem.h"
#include "expr/exprvec.h"
#include "query/exprc.h"

#include <pthread.h>
#include <string.h>

struct LcExpr {
	ExprCompiled x;
	ExprCtx cx;
	pthread_mutex_t mu;
	/* input vectors, EXPR_BATCH rows each */
	Vec *vecs;
	int64_t *i;
	double *d;
	const char **s;
	uint32_t *slen;
	uint8_t *nulls;
};

int
lcexpr_compile(const char *text, const Schema *sch, LcExpr **out, Err *e)
{
	ExprIn *known = mem_calloc((size_t)sch->nfields + 1, sizeof(ExprIn));
	LcExpr *x = mem_calloc(1, sizeof(*x));
	if (known == NULL || x == NULL) {
		mem_free(known);
		mem_free(x);
		return err_set(e, ERR_NOMEM, "compiling a stageExpr");
	}
	pthread_mutex_init(&x->mu, NULL);
	for (int i = 0; i < sch->nfields; i++) {
		known[i].name = sch->fields[i].name;
		known[i].type = sch->fields[i].type;
		known[i].mv = !sch->fields[i].single_value;
	}
	Err ce = {0};
	int rc = exprc_compile(NULL, text, known, sch->nfields, &x->x, &ce);
	mem_free(known);
	if (rc) {
		pthread_mutex_destroy(&x->mu);
		mem_free(x);
		return err_set(e, rc == ERR_NOMEM ? ERR_NOMEM : ERR_BAD_CONFIG, "stageExpr '%s': %s",
			       text, err_msg(&ce));
	}
	int ni = x->x.ninputs;
	for (int k = 0; k < ni && rc == 0; k++) {
		const ExprIn *in = &x->x.inputs[k];
		int c = schema_find(sch, in->name);
		if (c < 0)
			rc = err_set(e, ERR_BAD_CONFIG, "stageExpr '%s': no column \"%s\"", text, in->name);
		else if (in->mv)
			rc = err_set(e, ERR_BAD_CONFIG,
				     "stageExpr '%s': column \"%s\" is multi-value", text, in->name);
	}
	if (rc == 0 && x->x.expr->mv)
		rc = err_set(e, ERR_BAD_CONFIG, "stageExpr '%s' gives a multi-value, not a stage", text);
	size_t n = (size_t)(ni + 1) * EXPR_BATCH;
	if (rc == 0 &&
	    ((x->vecs = mem_calloc((size_t)ni + 1, sizeof(Vec))) == NULL ||
	     (x->i = mem_calloc(n, sizeof(int64_t))) == NULL ||
	     (x->d = mem_calloc(n, sizeof(double))) == NULL ||
	     (x->s = mem_calloc(n, sizeof(char *))) == NULL ||
	     (x->slen = mem_calloc(n, sizeof(uint32_t))) == NULL ||
	     (x->nulls = mem_calloc(n, 1)) == NULL || exprvec_ctx_init(&x->cx, x->x.nnodes) != 0))
		rc = err_set(e, ERR_NOMEM, "compiling a stageExpr");
	if (rc) {
		lcexpr_free(x);
		return rc;
	}
	for (int k = 0; k < ni; k++) {
		Vec *v = &x->vecs[k];
		WbType t = x->x.inputs[k].type;
		size_t off = (size_t)k * EXPR_BATCH;
		v->type = t;
		v->nulls = x->nulls + off;
		if (type_is_var(t)) {
			v->enc = VEC_STR;
			v->s = x->s + off;
			v->slen = x->slen + off;
		} else if (type_is_float(t)) {
			v->enc = VEC_F64;
			v->d = x->d + off;
		} else {
			v->enc = VEC_I64;
			v->i = x->i + off;
		}
	}
	*out = x;
	return 0;
}

int lcexpr_ninputs(const LcExpr *x) { return x->x.ninputs; }
const char *lcexpr_input(const LcExpr *x, int k) { return x->x.inputs[k].name; }

int
lcexpr_eval(LcExpr *x, const int *incol, const Value *rows, size_t nrows, int ncols,
	    const char **out, uint32_t *outlen, Arena *a, Err *e)
{
	int ni = x->x.ninputs;
	int rc = 0;
	pthread_mutex_lock(&x->mu);
	for (size_t r0 = 0; r0 < nrows && rc == 0; r0 += EXPR_BATCH) {
		int n = nrows - r0 < EXPR_BATCH ? (int)(nrows - r0) : EXPR_BATCH;
		for (int k = 0; k < ni; k++) {
			size_t off = (size_t)k * EXPR_BATCH;
			WbType t = x->x.inputs[k].type;
			for (int r = 0; r < n; r++) {
				const Value *v =
					incol[k] >= 0 ? &rows[(r0 + (size_t)r) * (size_t)ncols + (size_t)incol[k]]
						      : NULL;
				int null = v == NULL || v->null || v->mv;
				x->nulls[off + (size_t)r] = (uint8_t)null;
				if (type_is_var(t)) {
					int str = !null && type_is_var((WbType)v->type);
					x->s[off + (size_t)r] = str ? v->u.s : "";
					x->slen[off + (size_t)r] = str ? v->n : 0;
				} else if (type_is_float(t)) {
					x->d[off + (size_t)r] =
						null ? 0 : type_is_float((WbType)v->type) ? v->u.d : (double)v->u.i;
				} else {
					x->i[off + (size_t)r] =
						null ? 0 : type_is_float((WbType)v->type) ? (int64_t)v->u.d : v->u.i;
				}
			}
		}
		Batch b = {.n = n, .ncols = ni, .cols = x->vecs};
		const Vec *o;
		exprvec_reset_batch(&x->cx);
		if ((rc = exprvec_eval(&x->cx, x->x.expr, &b, NULL, n, &o, e)) != 0)
			break;
		Buf t;
		buf_init(&t);
		for (int r = 0; r < n; r++) {
			Value v;
			const char **po = &out[r0 + (size_t)r];
			uint32_t *pl = &outlen[r0 + (size_t)r];
			*po = NULL;
			*pl = 0;
			if (exprvec_value(o, r, &v, a) != 0) {
				rc = err_set(e, ERR_NOMEM, "evaluating a stageExpr");
				break;
			}
			if (v.null || v.mv)
				continue;
			buf_reset(&t);
			if (type_is_var((WbType)v.type))
				buf_append(&t, v.u.s, v.n);
			else
				value_format(&v, &t);
			char *c = arena_strndup(a, t.p ? t.p : "", t.len);
			if (c == NULL) {
				rc = err_set(e, ERR_NOMEM, "evaluating a stageExpr");
				break;
			}
			*po = c;
			*pl = (uint32_t)t.len;
		}
		buf_free(&t);
	}
	pthread_mutex_unlock(&x->mu);
	return rc;
}

void
lcexpr_free(LcExpr *x)
{
	if (x == NULL)
		return;
	if (x->x.owner)
		exprc_release(NULL, x->x.owner);
	if (x->cx.slots)
		exprvec_ctx_free(&x->cx);
	mem_free(x->vecs);
	mem_free(x->i);
	mem_free(x->d);
	mem_free(x->s);
	mem_free(x->slen);
	mem_free(x->nulls);
	pthread_mutex_destroy(&x->mu);
	mem_free(x);
}
