/*
 * exprvec.c -- vectorized evaluation of expression trees.
 *
 * exprvec_eval walks the tree bottom-up; every node writes its result
 * vector into its own slot of the ExprCtx (indexed by Expr.id), so one
 * tree evaluates without allocating once the slots exist (they are
 * allocated on first use, EXPR_BATCH entries each).  Column references
 * return the input vector itself; constants fill their slot once.
 *
 * Only the selected rows are computed, so a filter that removed a row
 * also protects it from e.g. division by zero further up an AND chain
 * (exprvec_filter narrows the selection argument by argument).
 *
 * Predicates whose subject is a dictionary column and whose other side is
 * constant (=, <>, <, IN, LIKE...) are evaluated once per dictionary entry
 * into a per-segment id set kept in the slot (rebuilt when the column
 * changes or grows), then applied to the id vector.  Multi-value columns
 * match when any element matches (Pinot semantics).
 *
 * An IN list of INSET_MIN or more constants (a subquery's rows become
 * one) is hashed once per context into the slot's InSet (strings and
 * integers in open-addressing tables, other numbers in sorted arrays), so
 * a lookup costs O(1) for raw values and dictionary entries alike, with
 * the linear pass's exact answers (NULL constants never match).  Long
 * loops -- building that set, a predicate over a big dictionary -- check
 * ExprCtx.deadline_ns and end with ERR_TIMEOUT.  Slots are allocated in
 * chunks on first use: the constants of a long list get none.
 *
 * Scalar functions (EXPR_FUNC, table in exprfn.h) get their evaluated
 * arguments and write the slot's buffers; their per-context state (a
 * compiled regex) lives in the slot until exprvec_ctx_free.  CASE and
 * COALESCE narrow the selection branch by branch, so a branch only sees
 * the rows that reach it (no division by zero from an untaken branch).
 *
 * A node marked memo (it depends on one single-value string column
 * only) whose column arrives dictionary-encoded is evaluated once per
 * distinct dictionary id: the missing ids of the batch are evaluated as
 * a synthetic string batch, results kept per id in the slot's Memo (reset
 * when the column changes, strings in the Memo's arena), then gathered.
 *
 * NULLs follow SQL three-valued logic: arithmetic and comparisons with a
 * NULL operand give NULL, AND/OR/NOT as in PostgreSQL, IS NULL never NULL.
 *
 * Errors (ERR_DIV_ZERO, ERR_TYPE, ERR_OVERFLOW, ERR_NOMEM, ERR_TIMEOUT) are recorded in
 * the caller's Err with the node's position.
 *
 * Dictionaries come from a mutable segment (Vec.col: insertion-ordered,
 * growing) or a segment file (Vec.fdict: sorted, fixed; its strings also
 * arrive as VEC_STR so that every consumer can read them); the dict_*
 * helpers hide which, and id sets / memos are keyed by the source (the
 * MutCol, or the file dictionary's offsets in the mapping), so a set
 * built once per dictionary serves every batch and morsel of a segment.
 * Id sets do not rely on the order of either kind.
 *
 * Exports: exprvec_ctx_init, exprvec_ctx_free, exprvec_reset_batch,
 * exprvec_eval, exprvec_filter, exprvec_value, exprvec_dict_size,
 * exprvec_dict_get, exprvec_dict_src, exprvec_dict_pred, exprvec_mv_range,
 * exprvec_elem.
 */
#include "expr/exprvec.h"
#include "expr/exprfn.h"
#include "base/clock.h"
#include "base/hash.h"
#include "base/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ExprSlot {
	Vec v;
	int64_t *i;
	double *d;
	const char **s;
	uint32_t *slen;
	uint8_t *nulls;
	uint8_t *aux;		/* AND/OR bookkeeping */
	const char **ms[2];	/* operands materialized as strings */
	uint32_t *mlen[2];
	uint8_t *set;		/* dictionary id set */
	uint32_t nset;
	const void *setsrc;	/* dictionary the set was built for */
	int const_ready;
	void *fnstate;		/* EXPR_FUNC per-context state */
	void (*fnfree)(void *);
	uint16_t *selbuf[3];	/* CASE / COALESCE sub-selections */
	uint32_t *mvoff;	/* multi-value function results */
	uint32_t *mvcnt;
	struct Memo *memo;	/* per-dictionary-entry results */
	struct InSet *inset;	/* EXPR_IN with a long list: its constants */
};

/* The constants of a long IN list (INSET_MIN or more), for lookups in
 * O(1) instead of a pass over the list: strings and integer constants in
 * open-addressing tables (slot = 1 + argument index, 0 = empty), the
 * other numeric constants (as the double pred_num compares) and the
 * integer ones as doubles in sorted arrays (NaN, which equals nothing,
 * left out).  Matches exactly what the linear pass would. */
typedef struct InSet {
	uint32_t mask;		/* table size - 1 */
	uint32_t *slot;		/* strings or integers: 1 + arg index */
	uint32_t *tag;		/* strings: low 32 bits of the hash */
	double *fd;		/* non-integer constants, sorted */
	uint32_t nfd;
	double *id;		/* integer constants as doubles, sorted */
	uint32_t nid;
	int nint;		/* integer constants in the table */
} InSet;

#define INSET_MIN 16
#define SLOT_CHUNK 32
#define DEADLINE_EVERY 0xFFFF

/* Results of a memoized node (Expr.memo) per dictionary id of the
 * column it depends on; state 0 unknown, 1 known, 2 pending. */
typedef struct Memo {
	const void *src;
	uint32_t cap;
	uint8_t *state;
	int64_t *i;
	double *d;
	const char **s;
	uint32_t *len;
	uint8_t *nulls;
	int null_done;		/* result for a NULL input */
	int64_t ni;
	double nd;
	const char *ns;
	uint32_t nlen;
	uint8_t nnull;
	Arena arena;		/* result strings */
	Vec *cols;		/* synthetic batch columns */
	int ncols;
	const char **ss;	/* synthetic string column */
	uint32_t *sl;
	uint8_t *sn;
	uint32_t *pend;
} Memo;

#define MEMO_MAX (1u << 16)

static int eval_node(ExprCtx *cx, const Expr *e, const Batch *b, const uint16_t *sel, int nsel,
		     const Vec **out, Err *err);

#define N EXPR_BATCH

int
exprvec_ctx_init(ExprCtx *cx, int nslots)
{
	cx->nslots = nslots;
	cx->slots = mem_calloc((size_t)(nslots > 0 ? (nslots + SLOT_CHUNK - 1) / SLOT_CHUNK : 1), sizeof(ExprSlot *));
	cx->deadline_ns = 0;
	arena_init(&cx->tmp, 16 * 1024);
	return cx->slots == NULL ? ERR_NOMEM : 0;
}

void
exprvec_ctx_free(ExprCtx *cx)
{
	for (int k = 0; cx->slots != NULL && k < cx->nslots; k++) {
		if (cx->slots[k / SLOT_CHUNK] == NULL) {
			k |= SLOT_CHUNK - 1;
			continue;
		}
		ExprSlot *s = &cx->slots[k / SLOT_CHUNK][k % SLOT_CHUNK];
		mem_free(s->i);
		mem_free(s->d);
		mem_free(s->s);
		mem_free(s->slen);
		mem_free(s->nulls);
		mem_free(s->aux);
		for (int j = 0; j < 2; j++) {
			mem_free(s->ms[j]);
			mem_free(s->mlen[j]);
		}
		mem_free(s->set);
		mem_free(s->mvoff);
		mem_free(s->mvcnt);
		if (s->fnfree != NULL && s->fnstate != NULL)
			s->fnfree(s->fnstate);
		for (int j = 0; j < 3; j++)
			mem_free(s->selbuf[j]);
		if (s->inset != NULL) {
			mem_free(s->inset->slot);
			mem_free(s->inset->tag);
			mem_free(s->inset->fd);
			mem_free(s->inset->id);
			mem_free(s->inset);
		}
		if (s->memo != NULL) {
			Memo *m = s->memo;
			mem_free(m->state);
			mem_free(m->i);
			mem_free(m->d);
			mem_free(m->s);
			mem_free(m->len);
			mem_free(m->nulls);
			arena_free(&m->arena);
			mem_free(m->cols);
			mem_free(m->ss);
			mem_free(m->sl);
			mem_free(m->sn);
			mem_free(m->pend);
			mem_free(m);
		}
	}
	for (int k = 0; cx->slots != NULL && k < (cx->nslots + SLOT_CHUNK - 1) / SLOT_CHUNK; k++)
		mem_free(cx->slots[k]);
	mem_free(cx->slots);
	cx->slots = NULL;
	arena_free(&cx->tmp);
}

void
exprvec_reset_batch(ExprCtx *cx)
{
	arena_reset(&cx->tmp);
}

static int
need(void **p, size_t size)
{
	if (*p == NULL)
		*p = mem_alloc(size);
	return *p == NULL ? ERR_NOMEM : 0;
}

static int
oom(Err *err)
{
	return err_set(err, ERR_NOMEM, "out of memory evaluating an expression");
}

/* Slot with buffers for the encoding of e's result type. */
static int
slot_for(ExprCtx *cx, const Expr *e, ExprSlot **out, Err *err)
{
	if (e->id < 0 || e->id >= cx->nslots)
		return err_set(err, ERR_INTERNAL, "expression slot %d out of range", e->id);
	ExprSlot **chunk = &cx->slots[e->id / SLOT_CHUNK];
	if (*chunk == NULL && (*chunk = mem_calloc(SLOT_CHUNK, sizeof(ExprSlot))) == NULL)
		return oom(err);
	ExprSlot *s = &(*chunk)[e->id % SLOT_CHUNK];
	int rc = 0;
	if (type_is_float(e->type))
		rc = need((void **)&s->d, N * sizeof(double));
	else if (type_is_var(e->type)) {
		rc = need((void **)&s->s, N * sizeof(char *));
		if (rc == 0)
			rc = need((void **)&s->slen, N * sizeof(uint32_t));
	} else
		rc = need((void **)&s->i, N * sizeof(int64_t));
	if (rc != 0)
		return oom(err);
	s->v.type = e->type;
	s->v.enc = type_is_float(e->type) ? VEC_F64 : type_is_var(e->type) ? VEC_STR : VEC_I64;
	s->v.i = s->i;
	s->v.d = s->d;
	s->v.s = s->s;
	s->v.slen = s->slen;
	s->v.ids = NULL;
	s->v.col = NULL;
	s->v.nulls = NULL;
	*out = s;
	return 0;
}

static int
slot_nulls(ExprSlot *s, Err *err)
{
	if (need((void **)&s->nulls, N) != 0)
		return oom(err);
	return 0;
}

/* s->v.nulls = a.nulls | b.nulls over the selection (b may be NULL). */
static int
merge_nulls(ExprSlot *s, const Vec *a, const Vec *b, const uint16_t *sel, int nsel, Err *err)
{
	const uint8_t *an = a->nulls, *bn = b ? b->nulls : NULL;
	if (an == NULL && bn == NULL) {
		s->v.nulls = NULL;
		return 0;
	}
	if (slot_nulls(s, err) != 0)
		return ERR_NOMEM;
	for (int k = 0; k < nsel; k++) {
		int r = sel ? sel[k] : k;
		s->nulls[r] = (uint8_t)((an ? an[r] : 0) | (bn ? bn[r] : 0));
	}
	s->v.nulls = s->nulls;
	return 0;
}

static inline double
num_d(const Vec *v, int r)
{
	return v->enc == VEC_F64 ? v->d[r] : (double)v->i[r];
}

static inline int
is_null(const Vec *v, int r)
{
	return v->nulls != NULL && v->nulls[r];
}

/* A single-value string vector with dictionary ids (either source). */
static inline int
is_sdict(const Vec *v)
{
	return v->enc == VEC_DICT || (v->enc == VEC_STR && v->ids != NULL && v->fdict != NULL);
}

static inline const void *
dict_src(const Vec *v)
{
	return v->col ? (const void *)v->col : v->fdict ? (const void *)v->fdict->offs : NULL;
}

const void *
exprvec_dict_src(const Vec *v)
{
	return dict_src(v);
}

int
exprvec_dict_pred(const Expr *e)
{
	if (e->nargs < 1 || e->args[0]->kind != EXPR_COL)
		return 0;
	switch (e->kind) {
	case EXPR_CMP:
		return e->nargs == 2 && e->args[1]->kind == EXPR_CONST && !e->args[1]->val.null;
	case EXPR_IN:
		return e->aux == 1;
	case EXPR_LIKE:
		return e->nargs == 2 && e->args[1]->kind == EXPR_CONST;
	case EXPR_ISNULL:
		return 1;
	default:
		return 0;
	}
}

uint32_t
exprvec_dict_size(const Vec *v)
{
	if (v->col)
		return mutcol_dict_size(v->col);
	return v->fdict ? v->fdict->card : 0;
}

const char *
exprvec_dict_get(const Vec *v, uint32_t id, uint32_t *len)
{
	if (v->col)
		return mutcol_dict_get(v->col, id, len);
	if (v->fdict == NULL || id >= v->fdict->card) {
		*len = 0;
		return NULL;
	}
	return segfile_dict_str(v->fdict, id, len);
}

void
exprvec_mv_range(const Vec *v, int r, uint64_t *start, uint32_t *n)
{
	if (v->col) {
		mutcol_mv_range(v->col, v->row0 + (size_t)r, start, n);
		return;
	}
	*start = v->mvoff[r];
	*n = v->mvcnt[r];
}

static inline uint32_t
elem_id(const Vec *v, uint64_t i)
{
	return v->col ? *(const uint32_t *)mutcol_elem(v->col, i) : ((const uint32_t *)v->elems)[i];
}

Value
exprvec_elem(const Vec *v, uint64_t i)
{
	WbType t = v->type;
	if (type_is_var(t) && v->col == NULL && v->fdict == NULL)	/* computed */
		return value_str(t, v->s[i], v->slen[i]);
	if (type_is_var(t)) {
		uint32_t len = 0;
		const char *p = exprvec_dict_get(v, elem_id(v, i), &len);
		return value_str(t, p ? p : "", p ? len : 0);
	}
	if (v->col == NULL)
		return type_is_float(t) ? value_double(t, ((const double *)v->elems)[i])
					: value_int(t, ((const int64_t *)v->elems)[i]);
	const void *p = mutcol_elem(v->col, i);
	switch (t) {
	case TYPE_INT:
	case TYPE_BOOLEAN:
		return value_int(t, *(const int32_t *)p);
	case TYPE_FLOAT:
		return value_double(t, *(const float *)p);
	case TYPE_DOUBLE:
		return value_double(t, *(const double *)p);
	default:
		return value_int(t, *(const int64_t *)p);
	}
}

/* Materializes a string vector (VEC_STR or VEC_DICT) into slot buffer j. */
static int
as_str(ExprSlot *s, int j, const Vec *v, const uint16_t *sel, int nsel,
       const char *const **ps, const uint32_t **pl, Err *err)
{
	if (v->enc == VEC_STR) {
		*ps = v->s;
		*pl = v->slen;
		return 0;
	}
	if (v->enc != VEC_DICT)
		return err_set(err, ERR_INTERNAL, "string expected");
	if (need((void **)&s->ms[j], N * sizeof(char *)) || need((void **)&s->mlen[j], N * sizeof(uint32_t)))
		return oom(err);
	uint32_t dsize = exprvec_dict_size(v);
	for (int k = 0; k < nsel; k++) {
		int r = sel ? sel[k] : k;
		uint32_t len = 0;
		const char *p = v->ids[r] < dsize ? exprvec_dict_get(v, v->ids[r], &len) : "";
		s->ms[j][r] = p ? p : "";
		s->mlen[j][r] = len;
	}
	*ps = s->ms[j];
	*pl = s->mlen[j];
	return 0;
}

static int
strcmp_n(const char *a, uint32_t an, const char *b, uint32_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	if (c != 0)
		return c;
	return an < bn ? -1 : an > bn;
}

static inline int
cmp_result(int c, int op)
{
	switch (op) {
	case EXPR_OP_EQ: return c == 0;
	case EXPR_OP_NE: return c != 0;
	case EXPR_OP_LT: return c < 0;
	case EXPR_OP_LE: return c <= 0;
	case EXPR_OP_GT: return c > 0;
	default: return c >= 0;
	}
}

/* ---- predicates with a constant other side ---------------------------- */

static int
timed_out(const ExprCtx *cx, Err *err, const char *what)
{
	if (cx->deadline_ns != 0 && clock_mono_ns() > cx->deadline_ns)
		return err_set(err, ERR_TIMEOUT, "query timed out (%s)", what);
	return 0;
}

static int
cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

static int
bsearch_double(const double *v, uint32_t n, double x)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo] == x;
}

static inline uint64_t
in_hash_str(const char *p, uint32_t n)
{
	return hash_bytes(p, n);
}

static inline uint64_t
in_hash_int(int64_t v)
{
	return hash_u64((uint64_t)v);
}

static void
inset_free(InSet *is)
{
	if (is == NULL)
		return;
	mem_free(is->slot);
	mem_free(is->tag);
	mem_free(is->fd);
	mem_free(is->id);
	mem_free(is);
}

/* Builds s->inset from e's constants (e an EXPR_IN over a string column
 * when str, else over numbers).  ERR_NOMEM, ERR_TIMEOUT. */
static int
inset_build(ExprCtx *cx, ExprSlot *s, const Expr *e, int str, Err *err)
{
	int nc = e->nargs - 1;
	uint32_t cap = 16;
	while (cap < (uint32_t)nc * 2u && cap < (1u << 31))
		cap <<= 1;
	InSet *is = mem_calloc(1, sizeof(InSet));
	if (is == NULL)
		return oom(err);
	is->mask = cap - 1;
	is->slot = mem_calloc(cap, sizeof(uint32_t));
	if (str)
		is->tag = mem_alloc((size_t)cap * sizeof(uint32_t));
	else {
		is->fd = mem_alloc((size_t)nc * sizeof(double) + 8);
		is->id = mem_alloc((size_t)nc * sizeof(double) + 8);
	}
	if (is->slot == NULL || (str ? is->tag == NULL : (is->fd == NULL || is->id == NULL))) {
		inset_free(is);
		return oom(err);
	}
	for (int k = 1; k < e->nargs; k++) {
		const Value *c = &e->args[k]->val;
		int rc;
		if ((k & DEADLINE_EVERY) == 0 && (rc = timed_out(cx, err, "building the set of a long IN list")) != 0) {
			inset_free(is);
			return rc;
		}
		if (c->null)
			continue;
		if (str) {
			uint64_t h = in_hash_str(c->u.s, c->n);
			uint32_t i = (uint32_t)h & is->mask;
			for (;; i = (i + 1) & is->mask) {
				uint32_t j = is->slot[i];
				if (j == 0) {
					is->slot[i] = (uint32_t)k;
					is->tag[i] = (uint32_t)h;
					break;
				}
				const Value *o = &e->args[j]->val;
				if (is->tag[i] == (uint32_t)h && o->n == c->n && memcmp(o->u.s, c->u.s, c->n) == 0)
					break;	/* duplicate */
			}
		} else if (type_is_integer((WbType)c->type)) {
			uint32_t i = (uint32_t)in_hash_int(c->u.i) & is->mask;
			for (;; i = (i + 1) & is->mask) {
				uint32_t j = is->slot[i];
				if (j == 0) {
					is->slot[i] = (uint32_t)k;
					is->nint++;
					break;
				}
				if (e->args[j]->val.u.i == c->u.i)
					break;
			}
			double y = (double)c->u.i;
			is->id[is->nid++] = y;
		} else {
			double y = type_is_float((WbType)c->type) ? c->u.d : (double)c->u.i;
			if (y == y)
				is->fd[is->nfd++] = y;
		}
	}
	if (!str) {
		qsort(is->fd, is->nfd, sizeof(double), cmp_double);
		qsort(is->id, is->nid, sizeof(double), cmp_double);
	}
	s->inset = is;
	return 0;
}

static int
inset_has_str(const InSet *is, const Expr *e, const char *p, uint32_t n)
{
	uint64_t h = in_hash_str(p, n);
	for (uint32_t i = (uint32_t)h & is->mask;; i = (i + 1) & is->mask) {
		uint32_t j = is->slot[i];
		if (j == 0)
			return 0;
		const Value *c = &e->args[j]->val;
		if (is->tag[i] == (uint32_t)h && c->n == n && memcmp(c->u.s, p, n) == 0)
			return 1;
	}
}

static int
inset_has_num(const InSet *is, const Expr *e, int64_t iv, double dv, int isf)
{
	if (!isf) {
		if (is->nint > 0) {
			for (uint32_t i = (uint32_t)in_hash_int(iv) & is->mask;; i = (i + 1) & is->mask) {
				uint32_t j = is->slot[i];
				if (j == 0)
					break;
				if (e->args[j]->val.u.i == iv)
					return 1;
			}
		}
		return is->nfd > 0 && bsearch_double(is->fd, is->nfd, (double)iv);
	}
	if (dv != dv)
		return 0;
	return bsearch_double(is->fd, is->nfd, dv) || bsearch_double(is->id, is->nid, dv);
}

/* Does e need (and lack) the hashed form of its IN list?  Builds it. */
static inline int
inset_need(ExprCtx *cx, ExprSlot *s, const Expr *e, int str, Err *err)
{
	if (e->kind != EXPR_IN || e->nargs - 1 < INSET_MIN || s->inset != NULL)
		return 0;
	return inset_build(cx, s, e, str, err);
}

static int
pred_str(const ExprSlot *s, const Expr *e, const char *p, uint32_t n)
{
	switch (e->kind) {
	case EXPR_CMP: {
		const Value *c = &e->args[1]->val;
		return cmp_result(strcmp_n(p, n, c->u.s, c->n), e->op);
	}
	case EXPR_IN:
		if (s->inset != NULL)
			return inset_has_str(s->inset, e, p, n);
		for (int k = 1; k < e->nargs; k++) {
			const Value *c = &e->args[k]->val;
			if (!c->null && c->n == n && memcmp(c->u.s, p, n) == 0)
				return 1;
		}
		return 0;
	case EXPR_LIKE: {
		const Value *c = &e->args[1]->val;
		return expr_like(c->u.s, c->n, p, n);
	}
	default:
		return 0;
	}
}

static int
pred_num(const ExprSlot *s, const Expr *e, int64_t iv, double dv, int isf)
{
	if (e->kind == EXPR_CMP) {
		const Value *c = &e->args[1]->val;
		int cmp;
		if (!isf && type_is_integer((WbType)c->type))
			cmp = iv < c->u.i ? -1 : iv > c->u.i;
		else {
			double x = isf ? dv : (double)iv;
			double y = type_is_float((WbType)c->type) ? c->u.d : (double)c->u.i;
			cmp = x < y ? -1 : x > y;
		}
		return cmp_result(cmp, e->op);
	}
	if (e->kind == EXPR_IN) {
		if (s->inset != NULL)
			return inset_has_num(s->inset, e, iv, dv, isf);
		for (int k = 1; k < e->nargs; k++) {
			const Value *c = &e->args[k]->val;
			if (c->null)
				continue;
			if (!isf && type_is_integer((WbType)c->type)) {
				if (iv == c->u.i)
					return 1;
			} else {
				double x = isf ? dv : (double)iv;
				double y = type_is_float((WbType)c->type) ? c->u.d : (double)c->u.i;
				if (x == y)
					return 1;
			}
		}
	}
	return 0;
}

static int
build_set(ExprCtx *cx, ExprSlot *s, const Expr *e, const Vec *col, Err *err)
{
	uint32_t n = exprvec_dict_size(col);
	int rc;
	if ((rc = inset_need(cx, s, e, 1, err)) != 0)
		return rc;
	if (s->set == NULL || n > s->nset) {
		uint32_t cap = n < 64 ? 64 : n + n / 4;
		mem_free(s->set);
		s->set = mem_alloc(cap);
		if (s->set == NULL) {
			s->nset = 0;
			s->setsrc = NULL;
			return oom(err);
		}
	}
	s->nset = 0;
	s->setsrc = NULL;
	for (uint32_t id = 0; id < n; id++) {
		uint32_t len = 0;
		if ((id & DEADLINE_EVERY) == DEADLINE_EVERY &&
		    (rc = timed_out(cx, err, "evaluating a predicate per dictionary entry")) != 0)
			return rc;
		const char *p = exprvec_dict_get(col, id, &len);
		s->set[id] = (uint8_t)pred_str(s, e, p ? p : "", p ? len : 0);
	}
	s->nset = n;
	s->setsrc = dict_src(col);
	return 0;
}

static int64_t
elem_i64(const Vec *v, WbType t, uint64_t idx, double *d, int *isf)
{
	if (v->col == NULL) {
		*isf = type_is_float(t);
		if (*isf) {
			*d = ((const double *)v->elems)[idx];
			return 0;
		}
		return ((const int64_t *)v->elems)[idx];
	}
	const void *p = mutcol_elem(v->col, idx);
	*isf = 0;
	switch (t) {
	case TYPE_INT:
	case TYPE_BOOLEAN:
		return *(const int32_t *)p;
	case TYPE_FLOAT:
		*isf = 1;
		*d = *(const float *)p;
		return 0;
	case TYPE_DOUBLE:
		*isf = 1;
		*d = *(const double *)p;
		return 0;
	default:
		return *(const int64_t *)p;
	}
}

/* CMP / IN / LIKE of a column (or any vector) against constants. */
static int
eval_pred(ExprCtx *cx, const Expr *e, const Vec *a, const uint16_t *sel, int nsel,
	  ExprSlot *s, Err *err)
{
	int64_t *out = s->i;
	int sdict = is_sdict(a);
	int computed = a->enc == VEC_MV && a->col == NULL && a->fdict == NULL;
	int rc;
	if (sdict || (a->enc == VEC_MV && type_is_var(a->type) && !computed)) {
		if (s->setsrc != dict_src(a) || s->set == NULL)
			if ((rc = build_set(cx, s, e, a, err)) != 0)
				return rc;
	} else if ((rc = inset_need(cx, s, e, type_is_var(a->type), err)) != 0) {
		return rc;
	}
	switch (sdict ? VEC_DICT : a->enc) {
	case VEC_DICT:
		for (int k = 0; k < nsel; k++) {
			int r = sel ? sel[k] : k;
			uint32_t id = a->ids[r];
			if (id >= s->nset) {
				if ((rc = build_set(cx, s, e, a, err)) != 0)
					return rc;
				if (id >= s->nset) {
					out[r] = 0;
					continue;
				}
			}
			out[r] = s->set[id];
		}
		break;
	case VEC_MV: {
		WbType et = a->type;
		for (int k = 0; k < nsel; k++) {
			int r = sel ? sel[k] : k;
			uint64_t st;
			uint32_t n;
			int any = 0;
			if (is_null(a, r)) {
				out[r] = 0;
				continue;
			}
			exprvec_mv_range(a, r, &st, &n);
			for (uint32_t j = 0; j < n && !any; j++) {
				if (type_is_var(et) && computed) {
					any = pred_str(s, e, a->s[st + j], a->slen[st + j]);
				} else if (type_is_var(et)) {
					uint32_t id = elem_id(a, st + j);
					if (id >= s->nset && (rc = build_set(cx, s, e, a, err)) != 0)
						return rc;
					any = id < s->nset && s->set[id];
				} else {
					double d = 0;
					int isf;
					int64_t iv = elem_i64(a, et, st + j, &d, &isf);
					any = pred_num(s, e, iv, d, isf);
				}
			}
			out[r] = any;
		}
		break;
	}
	case VEC_STR:
		for (int k = 0; k < nsel; k++) {
			int r = sel ? sel[k] : k;
			out[r] = pred_str(s, e, a->s[r], a->slen[r]);
		}
		break;
	case VEC_I64:
		for (int k = 0; k < nsel; k++) {
			int r = sel ? sel[k] : k;
			out[r] = pred_num(s, e, a->i[r], 0, 0);
		}
		break;
	case VEC_F64:
		for (int k = 0; k < nsel; k++) {
			int r = sel ? sel[k] : k;
			out[r] = pred_num(s, e, 0, a->d[r], 1);
		}
		break;
	}
	if (e->neg)
		for (int k = 0; k < nsel; k++) {
			int r = sel ? sel[k] : k;
			out[r] = !out[r];
		}
	return merge_nulls(s, a, NULL, sel, nsel, err);
}

/* ---- node kinds -------------------------------------------------------- */

static int
eval_const(const Expr *e, ExprSlot *s, Err *err)
{
	if (s->const_ready)
		return 0;
	const Value *c = &e->val;
	for (int r = 0; r < N; r++) {
		if (s->v.enc == VEC_I64)
			s->i[r] = c->null ? 0 : c->u.i;
		else if (s->v.enc == VEC_F64)
			s->d[r] = c->null ? 0 : c->u.d;
		else {
			s->s[r] = c->null ? "" : c->u.s;
			s->slen[r] = c->null ? 0 : c->n;
		}
	}
	if (c->null) {
		if (slot_nulls(s, err) != 0)
			return ERR_NOMEM;
		memset(s->nulls, 1, N);
	}
	s->const_ready = 1;
	return 0;
}

static int
eval_arith(const Expr *e, const Vec *a, const Vec *b, const uint16_t *sel, int nsel,
	   ExprSlot *s, Err *err)
{
	if (merge_nulls(s, a, b, sel, nsel, err) != 0)
		return ERR_NOMEM;
	const uint8_t *nl = s->v.nulls;
	int op = e->op;
	if (s->v.enc == VEC_F64) {
		for (int k = 0; k < nsel; k++) {
			int r = sel ? sel[k] : k;
			double x = num_d(a, r), y = num_d(b, r);
			double z;
			switch (op) {
			case EXPR_OP_ADD: z = x + y; break;
			case EXPR_OP_SUB: z = x - y; break;
			case EXPR_OP_MUL: z = x * y; break;
			case EXPR_OP_DIV:
			case EXPR_OP_MOD:
				if (y == 0) {
					if (nl && nl[r]) {
						z = 0;
						break;
					}
					err_set(err, ERR_DIV_ZERO, "division by zero at position %d", e->pos);
					err->pos = e->pos;
					return ERR_DIV_ZERO;
				}
				z = op == EXPR_OP_DIV ? x / y : fmod(x, y);
				break;
			default: z = 0;
			}
			s->d[r] = z;
		}
		return 0;
	}
	if (a->enc != VEC_I64 || b->enc != VEC_I64)
		return err_set(err, ERR_INTERNAL, "integer operands expected");
	const int64_t *x = a->i, *y = b->i;
	int64_t *z = s->i;
	switch (op) {
	case EXPR_OP_ADD:
		for (int k = 0; k < nsel; k++) {
			int r = sel ? sel[k] : k;
			z[r] = (int64_t)((uint64_t)x[r] + (uint64_t)y[r]);
		}
		break;
	case EXPR_OP_SUB:
		for (int k = 0; k < nsel; k++) {
			int r = sel ? sel[k] : k;
			z[r] = (int64_t)((uint64_t)x[r] - (uint64_t)y[r]);
		}
		break;
	case EXPR_OP_MUL:
		for (int k = 0; k < nsel; k++) {
			int r = sel ? sel[k] : k;
			z[r] = (int64_t)((uint64_t)x[r] * (uint64_t)y[r]);
		}
		break;
	default:
		for (int k = 0; k < nsel; k++) {
			int r = sel ? sel[k] : k;
			if (y[r] == 0) {
				if (nl && nl[r]) {
					z[r] = 0;
					continue;
				}
				err_set(err, ERR_DIV_ZERO, "division by zero at position %d", e->pos);
				err->pos = e->pos;
				return ERR_DIV_ZERO;
			}
			if (y[r] == -1)
				z[r] = op == EXPR_OP_DIV ? (int64_t)(0 - (uint64_t)x[r]) : 0;
			else
				z[r] = op == EXPR_OP_DIV ? x[r] / y[r] : x[r] % y[r];
		}
	}
	return 0;
}

#define CMP_LOOP(OPER)                                                          \
	do {                                                                    \
		if (sel == NULL)                                                \
			for (int r = 0; r < nsel; r++)                          \
				z[r] = x[r] OPER (bconst ? c : y[r]);           \
		else                                                            \
			for (int k = 0; k < nsel; k++) {                        \
				int r = sel[k];                                 \
				z[r] = x[r] OPER (bconst ? c : y[r]);           \
			}                                                       \
	} while (0)

static int
eval_cmp(ExprCtx *cx, const Expr *e, const Vec *a, const Vec *b, const uint16_t *sel, int nsel,
	 ExprSlot *s, Err *err)
{
	int64_t *z = s->i;
	if (type_is_var(a->type) || type_is_var(b->type)) {
		const char *const *as, *const *bs;
		const uint32_t *al, *bl;
		if (as_str(s, 0, a, sel, nsel, &as, &al, err) || as_str(s, 1, b, sel, nsel, &bs, &bl, err))
			return err->code;
		for (int k = 0; k < nsel; k++) {
			int r = sel ? sel[k] : k;
			z[r] = cmp_result(strcmp_n(as[r], al[r], bs[r], bl[r]), e->op);
		}
		return merge_nulls(s, a, b, sel, nsel, err);
	}
	if (a->enc == VEC_I64 && b->enc == VEC_I64) {
		const int64_t *x = a->i, *y = b->i;
		int bconst = e->args[1]->kind == EXPR_CONST;
		int64_t c = y[0];
		switch (e->op) {
		case EXPR_OP_EQ: CMP_LOOP(==); break;
		case EXPR_OP_NE: CMP_LOOP(!=); break;
		case EXPR_OP_LT: CMP_LOOP(<); break;
		case EXPR_OP_LE: CMP_LOOP(<=); break;
		case EXPR_OP_GT: CMP_LOOP(>); break;
		default: CMP_LOOP(>=); break;
		}
	} else {
		for (int k = 0; k < nsel; k++) {
			int r = sel ? sel[k] : k;
			double x = num_d(a, r), y = num_d(b, r);
			z[r] = cmp_result(x < y ? -1 : x > y ? 1 : (x == y ? 0 : (isnan(x) ? (isnan(y) ? 0 : 1) : -1)), e->op);
		}
	}
	(void)cx;
	return merge_nulls(s, a, b, sel, nsel, err);
}

static int
eval_bool(ExprCtx *cx, const Expr *e, const Batch *b, const uint16_t *sel, int nsel,
	  ExprSlot *s, Err *err)
{
	int rc;
	if (need((void **)&s->aux, N) != 0 || slot_nulls(s, err) != 0)
		return oom(err);
	/* aux: decided (AND: a FALSE seen; OR: a TRUE seen); nulls: NULL seen */
	for (int k = 0; k < nsel; k++) {
		int r = sel ? sel[k] : k;
		s->aux[r] = 0;
		s->nulls[r] = 0;
	}
	int want = e->kind == EXPR_AND ? 0 : 1;
	for (int j = 0; j < e->nargs; j++) {
		const Vec *v;
		if ((rc = exprvec_eval(cx, e->args[j], b, sel, nsel, &v, err)) != 0)
			return rc;
		for (int k = 0; k < nsel; k++) {
			int r = sel ? sel[k] : k;
			if (is_null(v, r))
				s->nulls[r] = 1;
			else if ((v->i[r] != 0) == want)
				s->aux[r] = 1;
		}
	}
	for (int k = 0; k < nsel; k++) {
		int r = sel ? sel[k] : k;
		if (s->aux[r]) {
			s->i[r] = want;
			s->nulls[r] = 0;
		} else {
			s->i[r] = !want;
		}
	}
	s->v.nulls = s->nulls;
	return 0;
}

static int
eval_cast(ExprCtx *cx, const Expr *e, const Vec *a, const uint16_t *sel, int nsel,
	  ExprSlot *s, Err *err)
{
	int rc;
	if (slot_nulls(s, err) != 0)
		return ERR_NOMEM;
	for (int k = 0; k < nsel; k++) {
		int r = sel ? sel[k] : k;
		Value in, out;
		if ((rc = exprvec_value(a, r, &in, &cx->tmp)) != 0)
			return oom(err);
		if ((rc = expr_convert(&in, e->type, &out, &cx->tmp, err)) != 0) {
			err->pos = e->pos;
			return rc;
		}
		s->nulls[r] = out.null;
		if (s->v.enc == VEC_I64)
			s->i[r] = out.null ? 0 : out.u.i;
		else if (s->v.enc == VEC_F64)
			s->d[r] = out.null ? 0 : out.u.d;
		else {
			s->s[r] = out.null ? "" : out.u.s;
			s->slen[r] = out.null ? 0 : out.n;
		}
	}
	s->v.nulls = s->nulls;
	return 0;
}

/* ---- functions, CASE, COALESCE ------------------------------------------ */

#define FN_MAXARGS 64

/* slot row r = row r of v, converted to the slot's encoding */
static inline void
put_row(ExprSlot *s, int r, const Vec *v)
{
	s->nulls[r] = (uint8_t)is_null(v, r);
	switch (s->v.enc) {
	case VEC_F64:
		s->d[r] = s->nulls[r] ? 0 : num_d(v, r);
		break;
	case VEC_STR:
		if (s->nulls[r]) {
			s->s[r] = "";
			s->slen[r] = 0;
		} else
			s->s[r] = exprfn_str(v, r, &s->slen[r]);
		break;
	default:
		s->i[r] = s->nulls[r] ? 0 : v->enc == VEC_F64 ? (int64_t)v->d[r] : v->i[r];
		break;
	}
}

static int
eval_func(ExprCtx *cx, const Expr *e, const Batch *b, const uint16_t *sel, int nsel,
	  ExprSlot *s, Err *err)
{
	const Vec *av[FN_MAXARGS];
	int rc;
	if (e->nargs > FN_MAXARGS)
		return err_set(err, ERR_UNSUPPORTED, "more than %d function arguments", FN_MAXARGS);
	for (int j = 0; j < e->nargs; j++) {
		if ((rc = exprvec_eval(cx, e->args[j], b, sel, nsel, &av[j], err)) != 0)
			return rc;
		/* only functions declaring multi-value arguments ('V') take them */
		if (av[j]->enc == VEC_MV && strchr(e->fn->args, 'V') == NULL)
			return err_set(err, ERR_UNSUPPORTED, "multi-value column in an expression at position %d",
				       e->pos);
	}
	if (slot_nulls(s, err) != 0)
		return ERR_NOMEM;
	int strict = (e->fn->flags & FN_STRICT) != 0;
	for (int k = 0; k < nsel; k++) {
		int r = sel ? sel[k] : k;
		uint8_t nl = 0;
		for (int j = 0; strict && j < e->nargs; j++)
			nl |= (uint8_t)is_null(av[j], r);
		s->nulls[r] = nl;
	}
	FnCall c = {.e = e, .a = av, .sel = sel, .nsel = nsel, .oi = s->i, .od = s->d, .os = s->s,
		    .ol = s->slen, .on = s->nulls, .arena = &cx->tmp, .state = &s->fnstate, .err = err};
	if (e->mv) {
		/* elements go to arrays the function allocates in the arena */
		if (need((void **)&s->mvoff, N * sizeof(uint32_t)) != 0 ||
		    need((void **)&s->mvcnt, N * sizeof(uint32_t)) != 0)
			return oom(err);
		s->v.enc = VEC_MV;
		s->v.mvoff = s->mvoff;
		s->v.mvcnt = s->mvcnt;
		s->v.elems = NULL;
		s->v.s = NULL;
		s->v.slen = NULL;
		s->v.fdict = NULL;
		s->v.col = NULL;
		for (int k = 0; k < nsel; k++) {
			int r = sel ? sel[k] : k;
			s->mvoff[r] = 0;
			s->mvcnt[r] = 0;
		}
		c.omv = &s->v;
	}
	s->fnfree = e->fn->free_state;
	s->v.nulls = s->nulls;
	rc = e->fn->eval(&c);
	if (rc != 0) {
		if (err != NULL && err->pos == 0)
			err->pos = e->pos;
		return rc;
	}
	/* NULL rows hold harmless values: consumers may read them */
	for (int k = 0; k < nsel; k++) {
		int r = sel ? sel[k] : k;
		if (!s->nulls[r])
			continue;
		if (s->v.enc == VEC_MV) {
			s->mvcnt[r] = 0;
		} else if (s->v.enc == VEC_STR) {
			s->s[r] = "";
			s->slen[r] = 0;
		} else if (s->v.enc == VEC_F64)
			s->d[r] = 0;
		else
			s->i[r] = 0;
	}
	return 0;
}

static int
sel_bufs(ExprSlot *s, Err *err)
{
	for (int j = 0; j < 3; j++)
		if (need((void **)&s->selbuf[j], N * sizeof(uint16_t)) != 0)
			return oom(err);
	return slot_nulls(s, err);
}

/* args: cond0, val0, ..., else; a row takes the first TRUE condition,
 * and only the rows that reach a branch evaluate it */
static int
eval_case(ExprCtx *cx, const Expr *e, const Batch *b, const uint16_t *sel, int nsel,
	  ExprSlot *s, Err *err)
{
	int rc;
	if ((rc = sel_bufs(s, err)) != 0)
		return rc;
	const uint16_t *cur = sel;
	int ncur = nsel;
	uint16_t *taken = s->selbuf[0];
	int npairs = (e->nargs - 1) / 2;
	for (int i = 0; i < npairs && ncur > 0; i++) {
		int nt;
		const Vec *v;
		if ((rc = exprvec_filter(cx, e->args[2 * i], b, cur, ncur, taken, &nt, err)) != 0)
			return rc;
		if (nt > 0) {
			if ((rc = exprvec_eval(cx, e->args[2 * i + 1], b, taken, nt, &v, err)) != 0)
				return rc;
			for (int k = 0; k < nt; k++)
				put_row(s, taken[k], v);
		}
		/* rest = cur minus taken (both increasing) */
		uint16_t *rest = s->selbuf[1 + (i & 1)];
		int nr = 0, t = 0;
		for (int k = 0; k < ncur; k++) {
			int r = cur ? cur[k] : k;
			if (t < nt && taken[t] == r)
				t++;
			else
				rest[nr++] = (uint16_t)r;
		}
		cur = rest;
		ncur = nr;
	}
	if (ncur > 0) {
		const Vec *v;
		if ((rc = exprvec_eval(cx, e->args[e->nargs - 1], b, cur, ncur, &v, err)) != 0)
			return rc;
		for (int k = 0; k < ncur; k++)
			put_row(s, cur ? cur[k] : k, v);
	}
	s->v.nulls = s->nulls;
	return 0;
}

static int
eval_coalesce(ExprCtx *cx, const Expr *e, const Batch *b, const uint16_t *sel, int nsel,
	      ExprSlot *s, Err *err)
{
	int rc;
	if ((rc = sel_bufs(s, err)) != 0)
		return rc;
	const uint16_t *cur = sel;
	int ncur = nsel;
	for (int j = 0; j < e->nargs && ncur > 0; j++) {
		const Vec *v;
		if ((rc = exprvec_eval(cx, e->args[j], b, cur, ncur, &v, err)) != 0)
			return rc;
		uint16_t *rest = s->selbuf[j & 1];
		int nr = 0;
		for (int k = 0; k < ncur; k++) {
			int r = cur ? cur[k] : k;
			if (is_null(v, r))
				rest[nr++] = (uint16_t)r;
			else
				put_row(s, r, v);
		}
		cur = rest;
		ncur = nr;
	}
	for (int k = 0; k < ncur; k++) {
		int r = cur ? cur[k] : k;
		s->nulls[r] = 1;
		if (s->v.enc == VEC_STR) {
			s->s[r] = "";
			s->slen[r] = 0;
		} else if (s->v.enc == VEC_F64)
			s->d[r] = 0;
		else
			s->i[r] = 0;
	}
	s->v.nulls = s->nulls;
	return 0;
}

/* ---- evaluation once per dictionary entry ------------------------------- */

static int
memo_grow(Memo *m, uint32_t n)
{
	uint32_t cap = n < 256 ? 256 : n + n / 2;
	if (cap > MEMO_MAX)
		cap = MEMO_MAX;
	if (cap < n)
		return ERR_NOMEM;
	void *p;
#define GROW(f, sz)                                                   \
	if ((p = mem_realloc(m->f, (size_t)cap * (sz))) == NULL)      \
		return ERR_NOMEM;                                     \
	m->f = p;
	GROW(state, 1)
	GROW(i, sizeof(int64_t))
	GROW(d, sizeof(double))
	GROW(s, sizeof(char *))
	GROW(len, sizeof(uint32_t))
	GROW(nulls, 1)
#undef GROW
	memset(m->state + m->cap, 0, cap - m->cap);
	m->cap = cap;
	return 0;
}

static void
memo_reset(Memo *m, const void *src)
{
	m->src = src;
	m->null_done = 0;
	if (m->cap)
		memset(m->state, 0, m->cap);
	arena_reset(&m->arena);
}

/* Evaluates e once per distinct dictionary id among the selected rows
 * that has no result yet, then gathers.  Returns 1 when not applicable. */
static int
eval_memo(ExprCtx *cx, const Expr *e, const Batch *b, const uint16_t *sel, int nsel,
	  ExprSlot *s, Err *err)
{
	const Vec *cv = &b->cols[e->memo - 1];
	uint32_t dsize = exprvec_dict_size(cv);
	if (s->memo == NULL) {
		s->memo = mem_calloc(1, sizeof(Memo));
		if (s->memo == NULL)
			return oom(err);
		arena_init(&s->memo->arena, 16 * 1024);
	}
	Memo *m = s->memo;
	if (m->ncols < b->ncols) {
		mem_free(m->cols);
		m->cols = mem_calloc((size_t)b->ncols, sizeof(Vec));
		if (m->cols == NULL) {
			m->ncols = 0;
			return oom(err);
		}
		m->ncols = b->ncols;
	}
	if (need((void **)&m->ss, N * sizeof(char *)) || need((void **)&m->sl, N * sizeof(uint32_t)) ||
	    need((void **)&m->sn, N) || need((void **)&m->pend, N * sizeof(uint32_t)))
		return oom(err);
	if (m->src != dict_src(cv))
		memo_reset(m, dict_src(cv));
	if (dsize > m->cap && memo_grow(m, dsize) != 0)
		return oom(err);
	int npend = 0, need_null = 0;
	for (int k = 0; k < nsel; k++) {
		int r = sel ? sel[k] : k;
		if (is_null(cv, r)) {
			need_null |= !m->null_done;
			continue;
		}
		uint32_t id = cv->ids[r];
		if (id >= m->cap)
			return 1;
		if (m->state[id] == 0) {
			m->state[id] = 2;
			m->pend[npend++] = id;
		}
	}
	if (npend > 0 || need_null) {
		int cnt = 0;
		for (int k = 0; k < npend; k++) {
			uint32_t len = 0;
			const char *p = exprvec_dict_get(cv, m->pend[k], &len);
			m->ss[cnt] = p ? p : "";
			m->sl[cnt] = p ? len : 0;
			m->sn[cnt++] = 0;
		}
		if (need_null) {
			m->ss[cnt] = "";
			m->sl[cnt] = 0;
			m->sn[cnt++] = 1;
		}
		memcpy(m->cols, b->cols, sizeof(Vec) * (size_t)b->ncols);
		Vec *sv = &m->cols[e->memo - 1];
		memset(sv, 0, sizeof(*sv));
		sv->type = cv->type;
		sv->enc = VEC_STR;
		sv->s = m->ss;
		sv->slen = m->sl;
		sv->nulls = need_null ? m->sn : NULL;
		Batch sb = {.n = cnt, .ncols = b->ncols, .cols = m->cols};
		const Vec *v;
		int rc = eval_node(cx, e, &sb, NULL, cnt, &v, err);
		if (rc != 0) {
			for (int k = 0; k < npend; k++)
				m->state[m->pend[k]] = 0;
			return rc;
		}
		for (int k = 0; k < cnt; k++) {
			int isn = is_null(v, k);
			int64_t iv = 0;
			double dv = 0;
			const char *sp = NULL;
			uint32_t sl = 0;
			if (!isn) {
				if (v->enc == VEC_F64)
					dv = v->d[k];
				else if (v->enc == VEC_STR || v->enc == VEC_DICT) {
					const char *p = exprfn_str(v, k, &sl);
					sp = arena_strndup(&m->arena, p, sl);
					if (sp == NULL)
						return oom(err);
				} else
					iv = v->i[k];
			}
			if (k < npend) {
				uint32_t id = m->pend[k];
				m->nulls[id] = (uint8_t)isn;
				m->i[id] = iv;
				m->d[id] = dv;
				m->s[id] = sp;
				m->len[id] = sl;
				m->state[id] = 1;
			} else {
				m->nnull = (uint8_t)isn;
				m->ni = iv;
				m->nd = dv;
				m->ns = sp;
				m->nlen = sl;
				m->null_done = 1;
			}
		}
	}
	if (slot_nulls(s, err) != 0)
		return ERR_NOMEM;
	/* eval_node re-pointed the slot's vector: restore */
	s->v.i = s->i;
	s->v.d = s->d;
	s->v.s = s->s;
	s->v.slen = s->slen;
	s->v.enc = type_is_float(e->type) ? VEC_F64 : type_is_var(e->type) ? VEC_STR : VEC_I64;
	s->v.ids = NULL;
	s->v.col = NULL;
	VecEnc enc = s->v.enc;
	for (int k = 0; k < nsel; k++) {
		int r = sel ? sel[k] : k;
		int isn;
		if (is_null(cv, r)) {
			isn = m->nnull;
			if (enc == VEC_I64)
				s->i[r] = m->ni;
			else if (enc == VEC_F64)
				s->d[r] = m->nd;
			else {
				s->s[r] = m->ns ? m->ns : "";
				s->slen[r] = m->nlen;
			}
		} else {
			uint32_t id = cv->ids[r];
			isn = m->nulls[id];
			if (enc == VEC_I64)
				s->i[r] = m->i[id];
			else if (enc == VEC_F64)
				s->d[r] = m->d[id];
			else {
				s->s[r] = m->s[id] ? m->s[id] : "";
				s->slen[r] = m->len[id];
			}
		}
		s->nulls[r] = (uint8_t)isn;
	}
	s->v.nulls = s->nulls;
	return 0;
}

static int
eval_node(ExprCtx *cx, const Expr *e, const Batch *b, const uint16_t *sel, int nsel,
	  const Vec **out, Err *err)
{
	int rc;
	ExprSlot *s = NULL;
	const Vec *a = NULL, *c = NULL;

	if (e->kind == EXPR_COL) {
		if (e->col < 0 || e->col >= b->ncols)
			return err_set(err, ERR_INTERNAL, "column %d not in batch", e->col);
		*out = &b->cols[e->col];
		return 0;
	}
	if ((rc = slot_for(cx, e, &s, err)) != 0)
		return rc;
	*out = &s->v;
	switch (e->kind) {
	case EXPR_CONST:
		rc = eval_const(e, s, err);
		if (rc == 0 && e->val.null)
			s->v.nulls = s->nulls;
		return rc;
	case EXPR_ARITH:
	case EXPR_CMP:
		if ((rc = exprvec_eval(cx, e->args[0], b, sel, nsel, &a, err)) != 0)
			return rc;
		if (e->kind == EXPR_CMP && e->args[1]->kind == EXPR_CONST &&
		    (is_sdict(a) || a->enc == VEC_MV) && !e->args[1]->val.null)
			return eval_pred(cx, e, a, sel, nsel, s, err);
		if ((rc = exprvec_eval(cx, e->args[1], b, sel, nsel, &c, err)) != 0)
			return rc;
		if (a->enc == VEC_MV || c->enc == VEC_MV)
			return err_set(err, ERR_UNSUPPORTED, "multi-value column in an expression at position %d", e->pos);
		if (e->kind == EXPR_ARITH)
			return eval_arith(e, a, c, sel, nsel, s, err);
		return eval_cmp(cx, e, a, c, sel, nsel, s, err);
	case EXPR_NEG:
		if ((rc = exprvec_eval(cx, e->args[0], b, sel, nsel, &a, err)) != 0)
			return rc;
		for (int k = 0; k < nsel; k++) {
			int r = sel ? sel[k] : k;
			if (s->v.enc == VEC_F64)
				s->d[r] = -num_d(a, r);
			else
				s->i[r] = (int64_t)(0 - (uint64_t)a->i[r]);
		}
		return merge_nulls(s, a, NULL, sel, nsel, err);
	case EXPR_AND:
	case EXPR_OR:
		return eval_bool(cx, e, b, sel, nsel, s, err);
	case EXPR_NOT:
		if ((rc = exprvec_eval(cx, e->args[0], b, sel, nsel, &a, err)) != 0)
			return rc;
		for (int k = 0; k < nsel; k++) {
			int r = sel ? sel[k] : k;
			s->i[r] = a->i[r] == 0;
		}
		return merge_nulls(s, a, NULL, sel, nsel, err);
	case EXPR_IN:
	case EXPR_LIKE:
		if ((rc = exprvec_eval(cx, e->args[0], b, sel, nsel, &a, err)) != 0)
			return rc;
		if (is_sdict(a) && e->kind == EXPR_LIKE && e->args[1]->kind != EXPR_CONST)
			return err_set(err, ERR_UNSUPPORTED, "LIKE pattern must be a constant");
		return eval_pred(cx, e, a, sel, nsel, s, err);
	case EXPR_ISNULL:
		if ((rc = exprvec_eval(cx, e->args[0], b, sel, nsel, &a, err)) != 0)
			return rc;
		for (int k = 0; k < nsel; k++) {
			int r = sel ? sel[k] : k;
			s->i[r] = is_null(a, r) != e->neg;
		}
		s->v.nulls = NULL;
		return 0;
	case EXPR_CAST:
		if ((rc = exprvec_eval(cx, e->args[0], b, sel, nsel, &a, err)) != 0)
			return rc;
		return eval_cast(cx, e, a, sel, nsel, s, err);
	case EXPR_FUNC:
		return eval_func(cx, e, b, sel, nsel, s, err);
	case EXPR_CASE:
		return eval_case(cx, e, b, sel, nsel, s, err);
	case EXPR_COALESCE:
		return eval_coalesce(cx, e, b, sel, nsel, s, err);
	default:
		return err_set(err, ERR_INTERNAL, "unknown expression kind %d", e->kind);
	}
}

int
exprvec_eval(ExprCtx *cx, const Expr *e, const Batch *b, const uint16_t *sel, int nsel,
	     const Vec **out, Err *err)
{
	if (e->memo > 0 && e->memo <= b->ncols && is_sdict(&b->cols[e->memo - 1]) &&
	    exprvec_dict_size(&b->cols[e->memo - 1]) <= MEMO_MAX) {
		ExprSlot *s;
		int rc = slot_for(cx, e, &s, err);
		if (rc != 0)
			return rc;
		rc = eval_memo(cx, e, b, sel, nsel, s, err);
		if (rc <= 0) {
			*out = &s->v;
			return rc;
		}
		/* rc > 0: not applicable, evaluate row by row */
	}
	return eval_node(cx, e, b, sel, nsel, out, err);
}

int
exprvec_filter(ExprCtx *cx, const Expr *e, const Batch *b, const uint16_t *sel, int nsel,
	       uint16_t *out, int *nout, Err *err)
{
	int rc;
	if (e->kind == EXPR_AND) {
		const uint16_t *cur = sel;
		int n = nsel;
		for (int j = 0; j < e->nargs && n > 0; j++) {
			if ((rc = exprvec_filter(cx, e->args[j], b, cur, n, out, &n, err)) != 0)
				return rc;
			cur = out;
		}
		if (cur != out) {	/* no argument ran: copy the selection */
			for (int k = 0; k < n; k++)
				out[k] = (uint16_t)(sel ? sel[k] : k);
		}
		*nout = n;
		return 0;
	}
	const Vec *v;
	if ((rc = exprvec_eval(cx, e, b, sel, nsel, &v, err)) != 0)
		return rc;
	int m = 0;
	const int64_t *x = v->i;
	const uint8_t *nl = v->nulls;
	if (v->enc != VEC_I64)
		return err_set(err, ERR_INTERNAL, "filter is not boolean");
	if (sel == NULL) {
		if (nl == NULL)
			for (int r = 0; r < nsel; r++) {
				out[m] = (uint16_t)r;
				m += x[r] != 0;
			}
		else
			for (int r = 0; r < nsel; r++) {
				out[m] = (uint16_t)r;
				m += (x[r] != 0) & !nl[r];
			}
	} else {
		for (int k = 0; k < nsel; k++) {
			int r = sel[k];
			out[m] = (uint16_t)r;
			m += (x[r] != 0) & !(nl && nl[r]);
		}
	}
	*nout = m;
	return 0;
}

int
exprvec_value(const Vec *v, int r, Value *out, Arena *a)
{
	if (v->enc == VEC_MV) {
		/* the batch's null flags decide: with NULLs ignored they are
		 * clear and the stored elements show */
		if (is_null(v, r)) {
			*out = value_null(v->type);
			out->mv = 1;
			return 0;
		}
		if (v->col)
			return mutcol_value_stored(v->col, v->row0 + (size_t)r, out, a);
		uint64_t st;
		uint32_t n;
		exprvec_mv_range(v, r, &st, &n);
		Value *arr = arena_alloc(a, sizeof(Value) * (n ? n : 1));
		if (arr == NULL)
			return ERR_NOMEM;
		for (uint32_t j = 0; j < n; j++)
			arr[j] = exprvec_elem(v, st + j);
		memset(out, 0, sizeof(*out));
		out->type = (uint8_t)v->type;
		out->mv = 1;
		out->n = n;
		out->u.mv = arr;
		return 0;
	}
	if (is_null(v, r)) {
		*out = value_null(v->type);
		return 0;
	}
	switch (v->enc) {
	case VEC_I64:
		*out = value_int(v->type, v->i[r]);
		break;
	case VEC_F64:
		*out = value_double(v->type, v->d[r]);
		break;
	case VEC_STR:
		*out = value_str(v->type, v->s[r], v->slen[r]);
		break;
	case VEC_DICT: {
		uint32_t len = 0;
		const char *p = mutcol_dict_get(v->col, v->ids[r], &len);
		*out = value_str(v->type, p ? p : "", len);
		break;
	}
	default:
		break;
	}
	return 0;
}
