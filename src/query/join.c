/*
 * join.c -- hash join of two materialized row sets (the executor's join
 * operator; joinplan.c decides what is joined on what).
 *
 * Build: the right rows' keys are hashed into a chained table (heads
 * indexed by hash, one `next` link per right row; rows with a NULL key
 * are left out, as NULL never equals anything).  Probe: each left row's
 * key walks its chain; equal keys (compared by value: integers and
 * floats numerically, strings bytewise) match.  The probe runs twice:
 * once to count the output rows, so the result is allocated once at its
 * exact size (a cross product that cannot fit the query's memory budget
 * fails at that allocation, before any work), and once to fill it.
 * Outer joins: a left row without a match (or whose lcond is not true)
 * is emitted with NULLs for the right side; RIGHT/FULL keep a matched
 * flag per right row and emit the unmatched ones at the end.  Without
 * keys every pair matches (cross join; ON conditions are applied after
 * by the statement's WHERE, or were pushed into the inputs).
 *
 * Memory: the hash table and flags come from mem_* and are freed before
 * returning; the output rows from out's arena.  Values are copied by
 * value: their strings still point into l and r.
 *
 * join_setop does INTERSECT and EXCEPT the same way, keyed on every
 * column, with NULLs equal (as set operations compare rows): the right
 * rows are hashed with a count per distinct row, the left rows probe.
 *
 * Exports: join_rows, join_from_pairs, join_setop.
 */
#include "query/join.h"

#include <stdatomic.h>
#include <string.h>

#include "base/clock.h"
#include "base/hash.h"
#include "base/mem.h"

#define NO_ROW UINT32_MAX

typedef struct Table {
	uint32_t *heads;
	uint32_t *next;
	uint64_t *hashes;
	uint64_t mask;
} Table;

/* A key value's hash: numbers by value (an integral double hashes like
 * the integer), strings by bytes. */
static uint64_t
key_hash(const Value *v)
{
	WbType t = (WbType)v->type;
	if (type_is_var(t))
		return hash_bytes(v->u.s, v->n);
	if (type_is_float(t)) {
		double d = v->u.d;
		if (d >= -9.2e18 && d <= 9.2e18 && (double)(int64_t)d == d)
			return hash_u64((uint64_t)(int64_t)d);
		if (d == 0)
			return hash_u64(0);
		uint64_t bits;
		memcpy(&bits, &d, sizeof(bits));
		return hash_u64(bits);
	}
	return hash_u64((uint64_t)v->u.i);
}

static int
key_equal(const Value *a, const Value *b)
{
	WbType ta = (WbType)a->type, tb = (WbType)b->type;
	if (type_is_var(ta))
		return a->n == b->n && memcmp(a->u.s, b->u.s, a->n) == 0;
	if (type_is_float(ta) || type_is_float(tb)) {
		double x = type_is_float(ta) ? a->u.d : (double)a->u.i;
		double y = type_is_float(tb) ? b->u.d : (double)b->u.i;
		return x == y;
	}
	return a->u.i == b->u.i;
}

static uint64_t
row_hash(const Value *row, const int *key, int nkeys, int *null)
{
	uint64_t h = 0x9E3779B97F4A7C15ull;
	*null = 0;
	for (int k = 0; k < nkeys; k++) {
		const Value *v = &row[key[k]];
		if (v->null) {
			*null = 1;
			return 0;
		}
		h = hash_u64(h ^ key_hash(v)) + (uint64_t)k;
	}
	return h;
}

/* Key columns must be comparable: both strings, or both numbers. */
static int
check_keys(const ResultSet *l, const ResultSet *r, const JoinSpec *js, Err *e)
{
	for (int k = 0; k < js->nkeys; k++) {
		const ResultCol *a = &l->cols[js->lkey[k]], *b = &r->cols[js->rkey[k]];
		if (a->mv || b->mv)
			return err_set(e, ERR_TYPE, "cannot join on the multi-value column %s",
				       a->mv ? a->name : b->name);
		if (a->type == TYPE_NULL || b->type == TYPE_NULL)
			continue;
		int va = type_is_var(a->type), vb = type_is_var(b->type);
		if (va != vb || (a->type == TYPE_BOOLEAN) != (b->type == TYPE_BOOLEAN))
			return err_set(e, ERR_TYPE, "cannot join %s (%s) with %s (%s): the types differ", a->name,
				       type_name(a->type), b->name, type_name(b->type));
	}
	return 0;
}

static int
build(const ResultSet *r, const JoinSpec *js, Table *t, Err *e)
{
	uint64_t cap = 16;
	while (cap < (uint64_t)r->nrows * 2)
		cap <<= 1;
	t->mask = cap - 1;
	t->heads = mem_alloc(sizeof(uint32_t) * cap);
	t->next = mem_alloc(sizeof(uint32_t) * (r->nrows + 1));
	t->hashes = mem_alloc(sizeof(uint64_t) * (r->nrows + 1));
	if (t->heads == NULL || t->next == NULL || t->hashes == NULL)
		return err_set(e, ERR_NOMEM, "out of memory building a join's hash table (%zu rows)", r->nrows);
	memset(t->heads, 0xFF, sizeof(uint32_t) * cap);
	/* insert in reverse so each chain lists rows in their order */
	for (size_t i = r->nrows; i-- > 0;) {
		int null;
		uint64_t h = row_hash(&r->rows[i * (size_t)r->ncols], js->rkey, js->nkeys, &null);
		t->next[i] = NO_ROW;
		if (null)
			continue;
		t->hashes[i] = h;
		t->next[i] = t->heads[h & t->mask];
		t->heads[h & t->mask] = (uint32_t)i;
	}
	return 0;
}

static int
keys_equal(const Value *lrow, const Value *rrow, const JoinSpec *js)
{
	for (int k = 0; k < js->nkeys; k++)
		if (!key_equal(&lrow[js->lkey[k]], &rrow[js->rkey[k]]))
			return 0;
	return 1;
}

static void
emit(ResultSet *out, size_t *n, const ResultSet *l, const Value *lrow, const ResultSet *r,
     const Value *rrow)
{
	Value *dst = &out->rows[*n * (size_t)out->ncols];
	if (out->ncols == l->ncols + r->ncols + 2) {
		/* row numbers of the pair (JoinSpec.rids) */
		dst[l->ncols + r->ncols] = value_int(TYPE_LONG, (int64_t)((lrow - l->rows) / l->ncols));
		dst[l->ncols + r->ncols + 1] = value_int(TYPE_LONG, (int64_t)((rrow - r->rows) / r->ncols));
	}
	if (lrow)
		memcpy(dst, lrow, sizeof(Value) * (size_t)l->ncols);
	else
		for (int c = 0; c < l->ncols; c++)
			dst[c] = value_null(l->cols[c].type);
	if (rrow)
		memcpy(dst + l->ncols, rrow, sizeof(Value) * (size_t)r->ncols);
	else
		for (int c = 0; c < r->ncols; c++)
			dst[l->ncols + c] = value_null(r->cols[c].type);
	(*n)++;
}

static int
lcond_true(const Value *lrow, const JoinSpec *js)
{
	if (js->lcond < 0)
		return 1;
	const Value *v = &lrow[js->lcond];
	return !v->null && v->u.i != 0;
}

/* One probe pass: fill = 0 counts into *n, fill = 1 writes the rows. */
static int
probe(const ResultSet *l, const ResultSet *r, const JoinSpec *js, const Table *t, uint8_t *matched,
      int fill, ResultSet *out, size_t *n, Err *e)
{
	int louter = js->type == AST_JOIN_LEFT || js->type == AST_JOIN_FULL;
	int router = js->type == AST_JOIN_RIGHT || js->type == AST_JOIN_FULL;
	size_t cnt = 0;
	/* limits are checked every 64 Ki rows or pairs, whichever comes
	 * first: one left row may match millions */
	size_t work = 0, next_check = 0;
	for (size_t i = 0; i < l->nrows; i++) {
		if (work >= next_check) {
			next_check = work + 65536;
			if (js->cancel && atomic_load(js->cancel))
				return err_set(e, ERR_CANCELED, "canceling statement due to user request");
			if (js->deadline_ns && clock_mono_ns() > js->deadline_ns)
				return err_set(e, ERR_TIMEOUT, "query timed out while joining");
		}
		const Value *lrow = &l->rows[i * (size_t)l->ncols];
		size_t found = 0;
		if (lcond_true(lrow, js)) {
			if (js->nkeys == 0) {
				found = r->nrows;
				if (fill)
					for (size_t j = 0; j < r->nrows; j++)
						emit(out, &cnt, l, lrow, r, &r->rows[j * (size_t)r->ncols]);
				else
					cnt += r->nrows;
				if (matched)
					memset(matched, 1, r->nrows);
			} else {
				int null;
				uint64_t h = row_hash(lrow, js->lkey, js->nkeys, &null);
				for (uint32_t j = null ? NO_ROW : t->heads[h & t->mask]; j != NO_ROW; j = t->next[j]) {
					const Value *rrow = &r->rows[(size_t)j * (size_t)r->ncols];
					if (t->hashes[j] != h || !keys_equal(lrow, rrow, js))
						continue;
					found++;
					if (matched)
						matched[j] = 1;
					if (fill)
						emit(out, &cnt, l, lrow, r, rrow);
					else
						cnt++;
				}
			}
		}
		work += found + 1;
		if (found == 0 && louter) {
			if (fill)
				emit(out, &cnt, l, lrow, r, NULL);
			else
				cnt++;
		}
		if (!fill && cnt > ((size_t)1 << 40))
			return err_set(e, ERR_TOO_LARGE, "the join would produce more than 2^40 rows");
	}
	if (router)
		for (size_t j = 0; j < r->nrows; j++)
			if (!matched[j]) {
				if (fill)
					emit(out, &cnt, l, NULL, r, &r->rows[j * (size_t)r->ncols]);
				else
					cnt++;
			}
	*n = cnt;
	return 0;
}

static int
out_columns(const ResultSet *l, const ResultSet *r, const char *const *names, int rids, ResultSet *out,
	    Err *e)
{
	out->ncols = l->ncols + r->ncols + (rids ? 2 : 0);
	out->cols = arena_calloc(&out->arena, sizeof(ResultCol) * (size_t)(out->ncols + 1));
	if (out->cols == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	for (int c = 0; c < l->ncols + r->ncols; c++) {
		out->cols[c] = c < l->ncols ? l->cols[c] : r->cols[c - l->ncols];
		out->cols[c].name = names[c];
	}
	if (rids) {
		out->cols[l->ncols + r->ncols] = (ResultCol){"__lrid", TYPE_LONG, 0};
		out->cols[l->ncols + r->ncols + 1] = (ResultCol){"__rrid", TYPE_LONG, 0};
	}
	return 0;
}

static int
alloc_rows(ResultSet *out, size_t n, Err *e)
{
	size_t bytes = sizeof(Value) * (size_t)out->ncols;
	if (n == 0)
		return 0;
	if (n > SIZE_MAX / 2 / (bytes ? bytes : 1) || (out->rows = arena_alloc(&out->arena, bytes * n)) == NULL)
		return err_set(e, ERR_NOMEM, "out of memory: the join produces %zu rows of %d columns", n,
			       out->ncols);
	return 0;
}

int
join_from_pairs(const ResultSet *l, const ResultSet *r, AstJoin type, const int64_t *lrid,
		const int64_t *rrid, size_t npairs, const char *const *names, ResultSet *out, Err *e)
{
	int louter = type == AST_JOIN_LEFT || type == AST_JOIN_FULL;
	int router = type == AST_JOIN_RIGHT || type == AST_JOIN_FULL;
	uint8_t *lm = mem_calloc(l->nrows + 1, 1), *rm = mem_calloc(r->nrows + 1, 1);
	int rc = lm && rm ? 0 : err_set(e, ERR_NOMEM, "out of memory");
	size_t n = npairs;
	for (size_t k = 0; rc == 0 && k < npairs; k++) {
		if (lrid[k] < 0 || (size_t)lrid[k] >= l->nrows || rrid[k] < 0 || (size_t)rrid[k] >= r->nrows)
			rc = err_set(e, ERR_INTERNAL, "join: row number out of range");
		else
			lm[lrid[k]] = rm[rrid[k]] = 1;
	}
	for (size_t i = 0; rc == 0 && louter && i < l->nrows; i++)
		n += !lm[i];
	for (size_t j = 0; rc == 0 && router && j < r->nrows; j++)
		n += !rm[j];
	if (rc == 0)
		rc = out_columns(l, r, names, 0, out, e);
	if (rc == 0)
		rc = alloc_rows(out, n, e);
	size_t w = 0;
	/* the pairs, then left rows without one, then right rows without one */
	for (size_t k = 0; rc == 0 && k < npairs; k++)
		emit(out, &w, l, &l->rows[(size_t)lrid[k] * (size_t)l->ncols], r,
		     &r->rows[(size_t)rrid[k] * (size_t)r->ncols]);
	for (size_t i = 0; rc == 0 && louter && i < l->nrows; i++)
		if (!lm[i])
			emit(out, &w, l, &l->rows[i * (size_t)l->ncols], r, NULL);
	for (size_t j = 0; rc == 0 && router && j < r->nrows; j++)
		if (!rm[j])
			emit(out, &w, l, NULL, r, &r->rows[j * (size_t)r->ncols]);
	if (rc == 0)
		out->nrows = w;
	mem_free(lm);
	mem_free(rm);
	return rc;
}

int
join_rows(const ResultSet *l, const ResultSet *r, const JoinSpec *js, const char *const *names,
	  ResultSet *out, Err *e)
{
	Table t = {0};
	uint8_t *matched = NULL;
	int router = js->type == AST_JOIN_RIGHT || js->type == AST_JOIN_FULL;
	int rc = check_keys(l, r, js, e);
	if (rc == 0 && (l->nrows >= NO_ROW || r->nrows >= NO_ROW))
		rc = err_set(e, ERR_TOO_LARGE, "a join input has more than 2^32 rows");
	if (rc == 0 && js->nkeys > 0)
		rc = build(r, js, &t, e);
	if (rc == 0 && router && (matched = mem_calloc(r->nrows + 1, 1)) == NULL)
		rc = err_set(e, ERR_NOMEM, "out of memory");
	size_t n = 0;
	if (js->rids && js->type != AST_JOIN_INNER)
		rc = err_set(e, ERR_INTERNAL, "join: row numbers of an outer join");
	out->ncols = l->ncols + r->ncols + (js->rids ? 2 : 0);
	if (rc == 0)
		rc = probe(l, r, js, &t, matched, 0, out, &n, e);
	if (rc == 0)
		rc = out_columns(l, r, names, js->rids, out, e);
	if (rc == 0)
		rc = alloc_rows(out, n, e);
	if (rc == 0 && n > 0) {
		if (matched)
			memset(matched, 0, r->nrows);
		size_t n2 = 0;
		rc = probe(l, r, js, &t, matched, 1, out, &n2, e);
		if (rc == 0 && n2 != n)
			rc = err_set(e, ERR_INTERNAL, "join: %zu rows counted, %zu written", n, n2);
	}
	if (rc == 0)
		out->nrows = n;
	mem_free(t.heads);
	mem_free(t.next);
	mem_free(t.hashes);
	mem_free(matched);
	return rc;
}

/* ---- INTERSECT / EXCEPT ------------------------------------------------ */

static uint64_t
value_hash(const Value *v)
{
	if (v->null)
		return 0x5bd1e995u;
	if (!v->mv)
		return key_hash(v);
	uint64_t h = 0x9E3779B97F4A7C15ull ^ v->n;
	for (uint32_t i = 0; i < v->n; i++)
		h = hash_u64(h ^ value_hash(&v->u.mv[i]));
	return h;
}

/* Equal as set operations see values: NULLs equal each other. */
static int
value_same(const Value *a, const Value *b)
{
	if (a->null || b->null)
		return a->null && b->null;
	if (a->mv != b->mv)
		return 0;
	if (a->mv) {
		if (a->n != b->n)
			return 0;
		for (uint32_t i = 0; i < a->n; i++)
			if (!value_same(&a->u.mv[i], &b->u.mv[i]))
				return 0;
		return 1;
	}
	if (type_is_var((WbType)a->type) != type_is_var((WbType)b->type))
		return 0;
	return key_equal(a, b);
}

static uint64_t
whole_hash(const Value *row, int ncols)
{
	uint64_t h = 0xC2B2AE3D27D4EB4Full;
	for (int c = 0; c < ncols; c++)
		h = hash_u64(h ^ value_hash(&row[c])) + (uint64_t)c;
	return h;
}

static int
rows_same(const Value *a, const Value *b, int ncols)
{
	for (int c = 0; c < ncols; c++)
		if (!value_same(&a[c], &b[c]))
			return 0;
	return 1;
}

typedef struct RowSet {
	uint32_t *heads, *next;
	uint64_t *hashes;
	int64_t *count;		/* per first row of a distinct value */
	uint64_t mask;
} RowSet;

/* Indexes rows by whole-row value; the first row of each distinct value
 * carries the number of its copies. */
static int
rowset_build(const ResultSet *r, RowSet *s, Err *e)
{
	uint64_t cap = 16;
	while (cap < (uint64_t)r->nrows * 2)
		cap <<= 1;
	s->mask = cap - 1;
	s->heads = mem_alloc(sizeof(uint32_t) * cap);
	s->next = mem_alloc(sizeof(uint32_t) * (r->nrows + 1));
	s->hashes = mem_alloc(sizeof(uint64_t) * (r->nrows + 1));
	s->count = mem_calloc(r->nrows + 1, sizeof(int64_t));
	if (s->heads == NULL || s->next == NULL || s->hashes == NULL || s->count == NULL)
		return err_set(e, ERR_NOMEM, "out of memory hashing %zu rows", r->nrows);
	memset(s->heads, 0xFF, sizeof(uint32_t) * cap);
	for (size_t i = 0; i < r->nrows; i++) {
		const Value *row = &r->rows[i * (size_t)r->ncols];
		uint64_t h = whole_hash(row, r->ncols);
		uint32_t j = s->heads[h & s->mask];
		for (; j != NO_ROW; j = s->next[j])
			if (s->hashes[j] == h && rows_same(&r->rows[(size_t)j * (size_t)r->ncols], row, r->ncols))
				break;
		if (j != NO_ROW) {
			s->count[j]++;
			continue;
		}
		s->hashes[i] = h;
		s->count[i] = 1;
		s->next[i] = s->heads[h & s->mask];
		s->heads[h & s->mask] = (uint32_t)i;
	}
	return 0;
}

/* The row of s equal to row (its first copy), or NO_ROW. */
static uint32_t
rowset_find(const RowSet *s, const ResultSet *r, const Value *row, uint64_t h)
{
	for (uint32_t j = s->heads[h & s->mask]; j != NO_ROW; j = s->next[j])
		if (s->hashes[j] == h && rows_same(&r->rows[(size_t)j * (size_t)r->ncols], row, r->ncols))
			return j;
	return NO_ROW;
}

static void
rowset_free(RowSet *s)
{
	mem_free(s->heads);
	mem_free(s->next);
	mem_free(s->hashes);
	mem_free(s->count);
}

int
join_setop(const ResultSet *l, const ResultSet *r, int op, int all, ResultSet *out, Err *e)
{
	if (l->ncols != r->ncols)
		return err_set(e, ERR_SQL_PARSE, "each %s query must have the same number of columns (%d and %d)",
			       op == AST_SETOP_INTERSECT ? "INTERSECT" : "EXCEPT", l->ncols, r->ncols);
	if (l->nrows >= NO_ROW || r->nrows >= NO_ROW)
		return err_set(e, ERR_TOO_LARGE, "a set operation input has more than 2^32 rows");
	RowSet rs = {0}, ls = {0};
	int rc = rowset_build(r, &rs, e);
	if (rc == 0)
		rc = rowset_build(l, &ls, e);
	/* per distinct left value (its first row): copies given so far */
	int64_t *taken = rc == 0 ? mem_calloc(l->nrows + 1, sizeof(int64_t)) : NULL;
	uint32_t *pick = rc == 0 ? mem_alloc(sizeof(uint32_t) * (l->nrows + 1)) : NULL;
	if (rc == 0 && (taken == NULL || pick == NULL))
		rc = err_set(e, ERR_NOMEM, "out of memory");
	size_t n = 0;
	for (size_t i = 0; rc == 0 && i < l->nrows; i++) {
		const Value *row = &l->rows[i * (size_t)l->ncols];
		uint64_t h = whole_hash(row, l->ncols);
		uint32_t j = rowset_find(&rs, r, row, h), f = rowset_find(&ls, l, row, h);
		int64_t m = ls.count[f], rn = j == NO_ROW ? 0 : rs.count[j];
		int64_t copies = op == AST_SETOP_INTERSECT ? (all ? (m < rn ? m : rn) : rn > 0)
							   : (all ? m - rn : rn == 0);
		if (taken[f] < copies) {
			taken[f]++;
			pick[n++] = (uint32_t)i;
		}
	}
	if (rc == 0) {
		out->ncols = l->ncols;
		out->cols = arena_calloc(&out->arena, sizeof(ResultCol) * (size_t)(l->ncols + 1));
		out->rows = n ? arena_alloc(&out->arena, sizeof(Value) * n * (size_t)l->ncols) : NULL;
		if (out->cols == NULL || (n && out->rows == NULL))
			rc = err_set(e, ERR_NOMEM, "out of memory");
	}
	if (rc == 0) {
		memcpy(out->cols, l->cols, sizeof(ResultCol) * (size_t)l->ncols);
		for (size_t k = 0; k < n; k++)
			memcpy(&out->rows[k * (size_t)l->ncols], &l->rows[(size_t)pick[k] * (size_t)l->ncols],
			       sizeof(Value) * (size_t)l->ncols);
		out->nrows = n;
	}
	rowset_free(&rs);
	rowset_free(&ls);
	mem_free(taken);
	mem_free(pick);
	return rc;
}
