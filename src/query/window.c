/*
 * window.c -- one SQL window function over materialized rows
 * (PostgreSQL semantics, which Pinot's multistage engine follows too).
 *
 * How it works.  A permutation of row indexes is sorted (a stable merge
 * sort, so ties keep the rows' original order) by the partition keys
 * (ascending, NULLs last: any fixed order will do, they only group), then
 * by the ORDER BY keys with their DESC / NULLS FIRST.  NULLs equal each
 * other, both for partitioning and for peers.  Positions below are
 * positions in that sorted order.  Each partition [ps, pe) is walked once:
 * first its peer groups (rows equal on every ORDER BY key; without ORDER
 * BY the whole partition is one group) are recorded as glo/ghi per
 * position, then the function is evaluated for every position and its
 * value stored in out[perm[p]], so the output is in the rows' order.
 *
 *  - ranking (ROW_NUMBER, RANK, DENSE_RANK, PERCENT_RANK, CUME_DIST,
 *    NTILE) and LAG/LEAD ignore the frame; O(1) per row.
 *  - frames: every bound kind gives a frame [fs, fe) whose ends never move
 *    backwards as the current row advances (ROWS offsets, peer groups and
 *    RANGE offsets alike), so aggregates keep a sliding window: rows are
 *    added at the end and removed at the start, O(n) per partition.
 *    SUM/AVG/COUNT/BOOL_AND/BOOL_OR keep running totals (integers in a
 *    128-bit accumulator, so a window never overflows on the way;
 *    doubles in a compensated (Neumaier) sum with separate counts of
 *    NaN/+inf/-inf, so removing a value is exact enough and inf - inf
 *    never appears).  MIN/MAX keep a monotonic deque of positions: O(n)
 *    for every frame kind, sliding or growing.  If a frame ever moved
 *    backwards (it cannot), the window is rebuilt: correct, only slower.
 *  - RANGE with an offset binary-searches the one numeric ORDER BY key
 *    within the partition's non-NULL run; the target value is computed in
 *    128-bit integers (or double for FLOAT/DOUBLE keys), so no offset
 *    overflows.  A NULL current row's offset bounds are its NULL peer
 *    group; non-NULL rows never reach NULL rows through an offset bound
 *    (PostgreSQL's rules).
 *  - IGNORE NULLS (LAG/LEAD, FIRST/LAST/NTH_VALUE) uses a prefix count of
 *    non-NULL arguments over the sorted order and the list of their
 *    positions: O(1) per row.
 *
 * Integer SUM: the result is LONG; a frame whose sum does not fit in 64
 * bits fails the query with ERR_OVERFLOW (PostgreSQL returns numeric
 * there; Waybill has no numeric type).  AVG of integers divides the exact
 * 128-bit sum.
 *
 * LAG/LEAD: a negative offset looks the other way (as in PostgreSQL);
 * offset 0 is the current row.  The default value (WinSpec.dflt) is
 * converted to out_type when both are numeric (a double only if it is a
 * whole number in range) or both strings; its string bytes are copied
 * into the arena once.  Otherwise ERR_TYPE.
 *
 * The sort compares 64-bit prefixes of the first two keys kept next to
 * each row index (see SortEnt), falling back to the rows only on ties, so
 * it rarely touches the rows themselves.
 *
 * Memory: the permutation and the scratch arrays (7 words per row: the
 * sort's entries, then glo/ghi and the per-function arrays reusing that
 * space) come from one mem_alloc, freed before returning; nothing is
 * allocated per row.  out's strings point
 * into rows (or into a for the LAG/LEAD default).
 *
 * Failure: ERR_INVALID for a bad frame or parameter (checked before any
 * row is looked at, with PostgreSQL's messages) and for a RANGE offset
 * over a key whose values are not numbers (checked on the values: an
 * all-NULL key passes), ERR_TYPE for an unusable LAG/LEAD default,
 * ERR_NOMEM, ERR_OVERFLOW.  Out is then partly written and must be ignored.
 *
 * Exports: window_result_type, window_compute.
 */
#include "query/window.h"

#include <math.h>
#include <string.h>

#include "base/mem.h"
#include "query/sort.h"
#include "storage/types.h"

typedef __int128 I128;

static const char *const fn_names[] = {
	[WIN_ROW_NUMBER] = "row_number",
	[WIN_RANK] = "rank",
	[WIN_DENSE_RANK] = "dense_rank",
	[WIN_PERCENT_RANK] = "percent_rank",
	[WIN_CUME_DIST] = "cume_dist",
	[WIN_NTILE] = "ntile",
	[WIN_LAG] = "lag",
	[WIN_LEAD] = "lead",
	[WIN_FIRST_VALUE] = "first_value",
	[WIN_LAST_VALUE] = "last_value",
	[WIN_NTH_VALUE] = "nth_value",
	[WIN_COUNT_STAR] = "count(*)",
	[WIN_COUNT] = "count",
	[WIN_SUM] = "sum",
	[WIN_AVG] = "avg",
	[WIN_MIN] = "min",
	[WIN_MAX] = "max",
	[WIN_BOOL_AND] = "bool_and",
	[WIN_BOOL_OR] = "bool_or",
};

static const char *
fn_name(WinFn fn)
{
	if ((unsigned)fn < sizeof(fn_names) / sizeof(fn_names[0]) && fn_names[fn])
		return fn_names[fn];
	return "window function";
}

static const char *
tname(WbType t)
{
	return t == TYPE_NULL ? "NULL" : type_name(t);
}

int
window_result_type(WinFn fn, WbType t, int mv, WbType *out, Err *e)
{
	switch (fn) {
	case WIN_ROW_NUMBER:
	case WIN_RANK:
	case WIN_DENSE_RANK:
	case WIN_NTILE:
	case WIN_COUNT_STAR:
		*out = TYPE_LONG;
		return 0;
	case WIN_PERCENT_RANK:
	case WIN_CUME_DIST:
		*out = TYPE_DOUBLE;
		return 0;
	case WIN_COUNT:
		*out = TYPE_LONG; /* counts rows whose value is not NULL, MV too */
		return 0;
	default:
		break;
	}
	if ((unsigned)fn > WIN_BOOL_OR)
		return err_set(e, ERR_INVALID, "unknown window function %d", (int)fn);
	if (mv)
		return err_set(e, ERR_TYPE,
		               "window function %s does not take a multi-value argument (%s)",
		               fn_name(fn), tname(t));
	switch (fn) {
	case WIN_LAG:
	case WIN_LEAD:
	case WIN_FIRST_VALUE:
	case WIN_LAST_VALUE:
	case WIN_NTH_VALUE:
	case WIN_MIN:
	case WIN_MAX:
		*out = t;
		return 0;
	case WIN_SUM:
		if (t == TYPE_INT || t == TYPE_LONG) {
			*out = TYPE_LONG;
			return 0;
		}
		if (t == TYPE_FLOAT || t == TYPE_DOUBLE || t == TYPE_NULL) {
			*out = TYPE_DOUBLE;
			return 0;
		}
		break;
	case WIN_AVG:
		if (t == TYPE_INT || t == TYPE_LONG || type_is_float(t) || t == TYPE_NULL) {
			*out = TYPE_DOUBLE;
			return 0;
		}
		break;
	case WIN_BOOL_AND:
	case WIN_BOOL_OR:
		if (t == TYPE_BOOLEAN || t == TYPE_NULL) {
			*out = TYPE_BOOLEAN;
			return 0;
		}
		break;
	default:
		break;
	}
	return err_set(e, ERR_TYPE, "window function %s does not take an argument of type %s",
	               fn_name(fn), tname(t));
}

/* ---- comparison -------------------------------------------------------- */

/* Compares two non-NULL values of one column (MV arrays element-wise). */
static int
cmp_val(const Value *a, const Value *b)
{
	if (a->mv || b->mv) {
		if (!a->mv || !b->mv)
			return a->mv - b->mv;
		uint32_t n = a->n < b->n ? a->n : b->n;
		for (uint32_t i = 0; i < n; i++) {
			const Value *x = &a->u.mv[i], *y = &b->u.mv[i];
			int c = x->null || y->null ? (int)x->null - (int)y->null : cmp_val(x, y);
			if (c != 0)
				return c;
		}
		return a->n < b->n ? -1 : a->n > b->n;
	}
	if ((type_is_var((WbType)a->type) || type_is_var((WbType)b->type)) &&
	    (a->n == 0 || b->n == 0))
		return (a->n > 0) - (b->n > 0); /* no memcmp on a possibly NULL pointer */
	return sort_cmp_values(a, b);
}

/* NULLs equal each other and sort last (first with nulls_first). */
static int
cmp_nulls(const Value *a, const Value *b, int desc, int nulls_first)
{
	if (a->null || b->null) {
		if (a->null && b->null)
			return 0;
		int r = a->null ? 1 : -1;
		return nulls_first ? -r : r;
	}
	int r = cmp_val(a, b);
	return desc ? -r : r;
}

typedef struct Ctx {
	const Value *rows;
	size_t ncols;
	const WinSpec *w;
	size_t n;
	size_t *perm;      /* sorted position -> row index */
	size_t *glo, *ghi; /* peer group [glo, ghi) of each position */
	size_t *pre;       /* IGNORE NULLS: non-NULL args before position p (n+1) */
	size_t *nnpos;     /* IGNORE NULLS: positions of non-NULL args */
	size_t *dq;        /* MIN/MAX deque of positions */
	size_t ps, pe;     /* the current partition */
	size_t nnlo, nnhi; /* RANGE offset: the partition's non-NULL key run */
} Ctx;

static inline const Value *
row_cell(const Ctx *c, size_t row, int col)
{
	return &c->rows[row * c->ncols + (size_t)col];
}

static inline const Value *
cell(const Ctx *c, size_t p, int col)
{
	return row_cell(c, c->perm[p], col);
}

static int
key_desc(const WinSpec *w, int k)
{
	return w->desc ? w->desc[k] != 0 : 0;
}

static int
key_nulls_first(const WinSpec *w, int k)
{
	return w->nulls_first ? w->nulls_first[k] != 0 : key_desc(w, k);
}

static int
part_cmp(const Ctx *c, size_t ra, size_t rb)
{
	for (int k = 0; k < c->w->npart; k++) {
		int col = c->w->part[k];
		int r = cmp_nulls(row_cell(c, ra, col), row_cell(c, rb, col), 0, 0);
		if (r != 0)
			return r;
	}
	return 0;
}

static int
order_cmp(const Ctx *c, size_t ra, size_t rb)
{
	const WinSpec *w = c->w;
	for (int k = 0; k < w->norder; k++) {
		int col = w->order[k];
		int r = cmp_nulls(row_cell(c, ra, col), row_cell(c, rb, col), key_desc(w, k),
		                  key_nulls_first(w, k));
		if (r != 0)
			return r;
	}
	return 0;
}

static int
row_cmp(const Ctx *c, size_t ra, size_t rb)
{
	int r = part_cmp(c, ra, rb);
	return r != 0 ? r : order_cmp(c, ra, rb);
}

/* The sort works on entries carrying 64-bit prefixes of the first two
 * sort keys, so most comparisons stay in one cache-friendly array instead
 * of chasing two rows.  A prefix is a non-strictly monotone image of its
 * key (NULLs, DESC applied): different prefixes decide the order; equal
 * ones fall back to comparing the rows.  The second prefix is used only
 * when the first is exact (integers away from the extremes, doubles), and
 * the rows are not compared at all when exact prefixes cover every key. */
typedef struct SortEnt {
	uint64_t k[2];
	size_t r;
} SortEnt;

_Static_assert(sizeof(SortEnt) == 3 * sizeof(size_t), "the sort's entries overlay 3 words each");

enum { PFX_NONE, PFX_INT, PFX_FLOAT, PFX_STR };

typedef struct SortKey {
	int col, desc, nulls_first;
	int kind;
	int exact;
} SortKey;

typedef struct SortPlan {
	SortKey key[2];
	int nkeys; /* prefixes in use (0..2) */
	int full;  /* 1: equal prefixes need the row comparison */
} SortPlan;

static void
sort_key_kind(const Ctx *c, SortKey *k)
{
	int kind = -1, exact = 1;
	for (size_t r = 0; r < c->n; r++) {
		const Value *v = row_cell(c, r, k->col);
		if (v->null)
			continue;
		WbType t = (WbType)v->type;
		int vk = v->mv              ? PFX_NONE
		         : type_is_float(t) ? PFX_FLOAT
		         : type_is_var(t)   ? PFX_STR
		                            : PFX_INT;
		if (kind < 0)
			kind = vk;
		else if (kind != vk)
			kind = PFX_NONE;
		if (vk == PFX_INT && (v->u.i == INT64_MIN || v->u.i == INT64_MAX))
			exact = 0; /* would meet the NULL images 0 / ~0 */
		if (kind == PFX_NONE)
			break;
	}
	if (kind < 0)
		kind = PFX_INT; /* all NULL */
	k->kind = kind;
	k->exact = exact && (kind == PFX_INT || kind == PFX_FLOAT);
}

static uint64_t
sort_prefix(const Value *v, const SortKey *k)
{
	if (v->null)
		return k->nulls_first ? 0 : UINT64_MAX;
	uint64_t x = 0;
	switch (k->kind) {
	case PFX_INT:
		x = (uint64_t)v->u.i ^ (UINT64_C(1) << 63);
		break;
	case PFX_FLOAT: {
		double d = v->u.d;
		if (d != d) {
			x = UINT64_C(0xFFF8000000000000); /* every NaN: above +inf */
			break;
		}
		if (d == 0)
			d = 0.0; /* -0 equals 0 */
		uint64_t b;
		memcpy(&b, &d, sizeof(b));
		x = b >> 63 ? ~b : b | (UINT64_C(1) << 63);
		break;
	}
	case PFX_STR:
		for (uint32_t i = 0; i < 8 && i < v->n; i++)
			x |= (uint64_t)(uint8_t)v->u.s[i] << (56 - 8 * i);
		break;
	default:
		return 0;
	}
	return k->desc ? ~x : x;
}

static void
sort_plan(const Ctx *c, SortPlan *sp)
{
	const WinSpec *w = c->w;
	int total = w->npart + w->norder;
	sp->nkeys = 0;
	for (int i = 0; i < total && sp->nkeys < 2; i++) {
		SortKey *k = &sp->key[sp->nkeys];
		if (i < w->npart) {
			k->col = w->part[i];
			k->desc = k->nulls_first = 0;
		} else {
			int o = i - w->npart;
			k->col = w->order[o];
			k->desc = key_desc(w, o);
			k->nulls_first = key_nulls_first(w, o);
		}
		sort_key_kind(c, k);
		sp->nkeys++;
		if (!k->exact)
			break; /* a later prefix would be meaningless */
	}
	sp->full = !(sp->nkeys == total && sp->key[sp->nkeys - 1].exact);
}

static int
ent_cmp(const Ctx *c, const SortPlan *sp, const SortEnt *a, const SortEnt *b)
{
	for (int i = 0; i < sp->nkeys; i++)
		if (a->k[i] != b->k[i])
			return a->k[i] < b->k[i] ? -1 : 1;
	return sp->full ? row_cmp(c, a->r, b->r) : 0;
}

/* Stable merge sort of a[0..n) with tmp[n] as scratch: insertion-sorted
 * runs of 16, then bottom-up merges.  Returns the sorted array (a or
 * tmp). */
static SortEnt *
merge_sort(const Ctx *c, const SortPlan *sp, SortEnt *a, SortEnt *tmp, size_t n)
{
	enum { RUN = 16 };
	for (size_t lo = 0; lo < n; lo += RUN) {
		size_t hi = n - lo > RUN ? lo + RUN : n;
		for (size_t i = lo + 1; i < hi; i++) {
			SortEnt x = a[i];
			size_t j = i;
			while (j > lo && ent_cmp(c, sp, &a[j - 1], &x) > 0) {
				a[j] = a[j - 1];
				j--;
			}
			a[j] = x;
		}
	}
	SortEnt *src = a, *dst = tmp;
	for (size_t width = RUN; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = n - lo > width ? lo + width : n;
			size_t hi = n - mid > width ? mid + width : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				dst[k++] =
				        ent_cmp(c, sp, &src[j], &src[i]) < 0 ? src[j++] : src[i++];
			while (i < mid)
				dst[k++] = src[i++];
			while (j < hi)
				dst[k++] = src[j++];
		}
		SortEnt *t = src;
		src = dst;
		dst = t;
	}
	return src;
}

/* Fills c->perm with the rows in window order; ents holds 2n entries. */
static void
sort_rows_perm(Ctx *c, SortEnt *ents)
{
	size_t n = c->n;
	SortPlan sp;
	sort_plan(c, &sp);
	for (size_t r = 0; r < n; r++) {
		ents[r].r = r;
		ents[r].k[0] = ents[r].k[1] = 0;
		for (int i = 0; i < sp.nkeys; i++)
			ents[r].k[i] = sort_prefix(row_cell(c, r, sp.key[i].col), &sp.key[i]);
	}
	SortEnt *s = merge_sort(c, &sp, ents, ents + n, n);
	for (size_t p = 0; p < n; p++)
		c->perm[p] = s[p].r;
}

/* ---- frames ------------------------------------------------------------ */

static int
bound_is_offset(WinBound b)
{
	return b == WINB_PRECEDING || b == WINB_FOLLOWING;
}

static int
frame_has_range_offset(const WinFrame *f)
{
	return f->given && !f->rows && (bound_is_offset(f->start) || bound_is_offset(f->end));
}

static int
check_frame(const WinSpec *w, Err *e)
{
	const WinFrame *f = &w->frame;
	if (!f->given)
		return 0;
	if ((unsigned)f->start > WINB_UNBOUNDED_FOLLOWING ||
	    (unsigned)f->end > WINB_UNBOUNDED_FOLLOWING)
		return err_set(e, ERR_INVALID, "invalid window frame bound");
	if (f->start == WINB_UNBOUNDED_FOLLOWING)
		return err_set(e, ERR_INVALID, "frame start cannot be UNBOUNDED FOLLOWING");
	if (f->end == WINB_UNBOUNDED_PRECEDING)
		return err_set(e, ERR_INVALID, "frame end cannot be UNBOUNDED PRECEDING");
	if (f->start == WINB_CURRENT_ROW && f->end == WINB_PRECEDING)
		return err_set(e, ERR_INVALID,
		               "frame starting from current row cannot have preceding rows");
	if (f->start == WINB_FOLLOWING && f->end == WINB_PRECEDING)
		return err_set(e, ERR_INVALID,
		               "frame starting from following row cannot have preceding rows");
	if (f->start == WINB_FOLLOWING && f->end == WINB_CURRENT_ROW)
		return err_set(e, ERR_INVALID,
		               "frame starting from following row cannot end with current row");
	if (bound_is_offset(f->start) && f->start_off < 0)
		return err_set(e, ERR_INVALID, "frame starting offset must not be negative");
	if (bound_is_offset(f->end) && f->end_off < 0)
		return err_set(e, ERR_INVALID, "frame ending offset must not be negative");
	if (frame_has_range_offset(f) && w->norder != 1)
		return err_set(e, ERR_INVALID,
		               "RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER "
		               "BY column");
	return 0;
}

/* The value bound of RANGE ... offset: cur moved by off towards the
 * preceding (dir < 0) or following rows, in the key's sort direction. */
typedef struct Target {
	int isf;
	double d;
	I128 i;
} Target;

static int
target_cmp(const Value *v, const Target *t)
{
	if (type_is_float((WbType)v->type) || t->isf) {
		double x = type_is_float((WbType)v->type) ? v->u.d : (double)v->u.i;
		double y = t->isf ? t->d : (double)t->i;
		if (x != x || y != y)
			return (x != x) - (y != y); /* NaN above every number */
		return x < y ? -1 : x > y;
	}
	I128 x = v->u.i;
	return x < t->i ? -1 : x > t->i;
}

static size_t
range_bound(const Ctx *c, size_t p, int dir, int64_t off, int is_end)
{
	const WinSpec *w = c->w;
	const Value *cur = cell(c, p, w->order[0]);
	if (cur->null)
		return is_end ? c->ghi[p] : c->glo[p];
	int d = key_desc(w, 0) ? -1 : 1;
	int sign = dir * d; /* +1: towards larger values */
	Target t = {0};
	if (type_is_float((WbType)cur->type)) {
		t.isf = 1;
		t.d = cur->u.d + (double)sign * (double)off;
	} else {
		t.i = (I128)cur->u.i + (I128)sign * (I128)off;
	}
	/* first position whose key is at (start) or past (end) the target */
	size_t lo = c->nnlo, hi = c->nnhi;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = d * target_cmp(cell(c, mid, w->order[0]), &t);
		if (is_end ? r > 0 : r >= 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* The frame of position p: [*fs, *fe), empty when *fe <= *fs. */
static void
frame_at(const Ctx *c, size_t p, size_t *fs, size_t *fe)
{
	const WinSpec *w = c->w;
	const WinFrame *f = &w->frame;
	size_t ps = c->ps, pe = c->pe;
	if (!f->given) {
		*fs = ps;
		*fe = w->norder > 0 ? c->ghi[p] : pe;
		return;
	}
	uint64_t so = (uint64_t)f->start_off, eo = (uint64_t)f->end_off;
	switch (f->start) {
	case WINB_UNBOUNDED_PRECEDING:
		*fs = ps;
		break;
	case WINB_PRECEDING:
		if (f->rows)
			*fs = (uint64_t)(p - ps) > so ? p - (size_t)so : ps;
		else
			*fs = range_bound(c, p, -1, f->start_off, 0);
		break;
	case WINB_CURRENT_ROW:
		*fs = f->rows ? p : c->glo[p];
		break;
	case WINB_FOLLOWING:
		if (f->rows)
			*fs = (uint64_t)(pe - p) > so ? p + (size_t)so : pe;
		else
			*fs = range_bound(c, p, 1, f->start_off, 0);
		break;
	default:
		*fs = pe;
		break;
	}
	switch (f->end) {
	case WINB_PRECEDING:
		if (f->rows)
			*fe = (uint64_t)(p - ps) >= eo ? p - (size_t)eo + 1 : ps;
		else
			*fe = range_bound(c, p, -1, f->end_off, 1);
		break;
	case WINB_CURRENT_ROW:
		*fe = f->rows ? p + 1 : c->ghi[p];
		break;
	case WINB_FOLLOWING:
		if (f->rows)
			*fe = (uint64_t)(pe - p) > eo ? p + (size_t)eo + 1 : pe;
		else
			*fe = range_bound(c, p, 1, f->end_off, 1);
		break;
	case WINB_UNBOUNDED_FOLLOWING:
		*fe = pe;
		break;
	default:
		*fe = ps;
		break;
	}
}

/* ---- output values ----------------------------------------------------- */

static Value
out_int(WbType t, int64_t i)
{
	return type_is_float(t) ? value_double(t, (double)i) : value_int(t, i);
}

static Value
out_double(WbType t, double d)
{
	if (type_is_float(t))
		return value_double(t, d);
	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
		return value_null(t);
	return value_int(t, (int64_t)d);
}

/* v as a value of type t (the argument column's own type normally). */
static Value
out_copy(const Value *v, WbType t)
{
	if (v->null)
		return value_null(t);
	Value r = *v;
	WbType vt = (WbType)v->type;
	if (!v->mv && vt != t && t != TYPE_NULL) {
		if (type_is_float(t) && type_is_integer(vt))
			return value_double(t, (double)v->u.i);
		if (type_is_integer(t) && type_is_float(vt))
			return out_double(t, v->u.d);
		if (type_is_var(t) != type_is_var(vt))
			return value_null(t);
	}
	r.type = (uint8_t)t;
	return r;
}

/* The LAG/LEAD default as a value of type t (see the header comment). */
static int
prepare_default(const WinSpec *w, Arena *a, Value *dv, Err *e)
{
	const Value *d = &w->dflt;
	WbType t = w->out_type, dt = (WbType)d->type;
	*dv = value_null(t);
	if (d->null)
		return 0;
	if (d->mv)
		goto mismatch;
	if (type_is_integer(t) && type_is_integer(dt)) {
		*dv = value_int(t, d->u.i);
		return 0;
	}
	if (type_is_float(t) && type_is_integer(dt)) {
		*dv = value_double(t, (double)d->u.i);
		return 0;
	}
	if (type_is_float(t) && type_is_float(dt)) {
		*dv = value_double(t, d->u.d);
		return 0;
	}
	if (type_is_integer(t) && type_is_float(dt)) {
		double x = d->u.d;
		if (x >= -9223372036854775808.0 && x < 9223372036854775808.0 && x == floor(x)) {
			*dv = value_int(t, (int64_t)x);
			return 0;
		}
		goto mismatch;
	}
	if (type_is_var(t) && type_is_var(dt)) {
		char *s = arena_alloc(a, d->n ? d->n : 1);
		if (!s)
			return err_set(e, ERR_NOMEM, "%s: out of memory for the default value",
			               fn_name(w->fn));
		if (d->n)
			memcpy(s, d->u.s, d->n);
		*dv = value_str(t, s, d->n);
		return 0;
	}
mismatch:
	return err_set(e, ERR_TYPE,
	               "%s: default value of type %s does not match the argument type %s",
	               fn_name(w->fn), d->mv ? "multi-value" : tname(dt), tname(t));
}

/* ---- ranking and offsets ----------------------------------------------- */

static void
eval_ranking(const Ctx *c, Value *out)
{
	const WinSpec *w = c->w;
	WbType t = w->out_type;
	size_t ps = c->ps, pe = c->pe, np = pe - ps;
	int64_t dense = 0;
	/* ntile: the first r buckets hold q+1 rows, the others q */
	uint64_t nb = w->param > 0 ? (uint64_t)w->param : 1;
	uint64_t q = np / nb, r = np % nb, big = r * (q + 1);
	for (size_t p = ps; p < pe; p++) {
		Value v;
		if (p == c->glo[p])
			dense++;
		switch (w->fn) {
		case WIN_ROW_NUMBER:
			v = out_int(t, (int64_t)(p - ps + 1));
			break;
		case WIN_RANK:
			v = out_int(t, (int64_t)(c->glo[p] - ps + 1));
			break;
		case WIN_DENSE_RANK:
			v = out_int(t, dense);
			break;
		case WIN_PERCENT_RANK:
			v = out_double(t,
			               np > 1 ? (double)(c->glo[p] - ps) / (double)(np - 1) : 0.0);
			break;
		case WIN_CUME_DIST:
			v = out_double(t, (double)(c->ghi[p] - ps) / (double)np);
			break;
		default: { /* WIN_NTILE */
			uint64_t i = p - ps, b;
			if (i < big)
				b = i / (q + 1);
			else
				b = r + (i - big) / q; /* q > 0 here: i >= big means np > r */
			v = out_int(t, (int64_t)(b + 1));
			break;
		}
		}
		out[c->perm[p]] = v;
	}
}

static void
eval_lag_lead(const Ctx *c, const Value *dflt, Value *out)
{
	const WinSpec *w = c->w;
	size_t ps = c->ps, pe = c->pe;
	int64_t np = (int64_t)(pe - ps);
	/* signed distance to look ahead; clamped so it cannot overflow */
	int64_t off = w->param;
	if (off > np)
		off = np;
	if (off < -np)
		off = -np;
	if (w->fn == WIN_LAG)
		off = -off;
	for (size_t p = ps; p < pe; p++) {
		const Value *src = NULL;
		if (off == 0) {
			src = cell(c, p, w->arg);
		} else if (!w->ignore_nulls) {
			int64_t tgt = (int64_t)(p - ps) + off;
			if (tgt >= 0 && tgt < np)
				src = cell(c, ps + (size_t)tgt, w->arg);
		} else if (off < 0) {
			size_t k = (size_t)-off, before = c->pre[p] - c->pre[ps];
			if (k <= before)
				src = cell(c, c->nnpos[c->pre[p] - k], w->arg);
		} else {
			size_t k = (size_t)off, after = c->pre[pe] - c->pre[p + 1];
			if (k <= after)
				src = cell(c, c->nnpos[c->pre[p + 1] + k - 1], w->arg);
		}
		out[c->perm[p]] = src ? out_copy(src, w->out_type) : *dflt;
	}
}

/* ---- frame functions --------------------------------------------------- */

/* The sliding window [lo, hi) of an aggregate. */
typedef struct Acc {
	size_t lo, hi;
	I128 isum;     /* integer arguments */
	double ds, dc; /* finite float arguments: sum + compensation */
	int64_t nflt;  /* float arguments */
	int64_t npinf, nninf, nnan;
	int64_t nnn; /* non-NULL arguments */
	int64_t ntrue;
	size_t dh, dt; /* deque c->dq[dh..dt) */
} Acc;

static void
acc_reset(Acc *s, size_t at)
{
	memset(s, 0, sizeof(*s));
	s->lo = s->hi = at;
}

static void
neumaier(Acc *s, double x)
{
	double t = s->ds + x;
	/* on overflow to infinity the compensation is left alone: acc_fsum
	 * rebuilds the sum from the rows */
	if (isfinite(t) && fabs(s->ds) >= fabs(x))
		s->dc += (s->ds - t) + x;
	else if (isfinite(t))
		s->dc += (x - t) + s->ds;
	s->ds = t;
}

static int
truthy(const Value *v)
{
	return type_is_float((WbType)v->type) ? v->u.d != 0 : v->u.i != 0;
}

static void
acc_step(const Ctx *c, Acc *s, size_t p, int add)
{
	const WinSpec *w = c->w;
	if (w->fn == WIN_COUNT_STAR)
		return; /* the window's size is the answer; there is no argument */
	const Value *v = cell(c, p, w->arg);
	int64_t sg = add ? 1 : -1;
	if (w->fn == WIN_MIN || w->fn == WIN_MAX) {
		if (!add) {
			if (s->dh < s->dt && c->dq[s->dh] == p)
				s->dh++;
			return;
		}
		if (v->null)
			return;
		int want = w->fn == WIN_MIN ? 1 : -1;
		while (s->dt > s->dh && want * cmp_val(cell(c, c->dq[s->dt - 1], w->arg), v) > 0)
			s->dt--;
		c->dq[s->dt++] = p;
		return;
	}
	if (v->null)
		return;
	s->nnn += sg;
	switch (w->fn) {
	case WIN_SUM:
	case WIN_AVG:
		if (type_is_float((WbType)v->type)) {
			double x = v->u.d;
			s->nflt += sg;
			if (x != x)
				s->nnan += sg;
			else if (isinf(x))
				*(x > 0 ? &s->npinf : &s->nninf) += sg;
			else
				neumaier(s, add ? x : -x);
		} else {
			s->isum += add ? (I128)v->u.i : -(I128)v->u.i;
		}
		break;
	case WIN_BOOL_AND:
	case WIN_BOOL_OR:
		s->ntrue += truthy(v) ? sg : 0;
		break;
	default:
		break;
	}
}

/* Moves the window to [lo, hi). */
static void
acc_move(const Ctx *c, Acc *s, size_t lo, size_t hi)
{
	if (lo < s->lo || hi < s->hi)
		acc_reset(s, lo); /* a frame moved backwards: rebuild */
	if (s->hi < lo)
		acc_reset(s, lo); /* disjoint: skip the gap */
	while (s->hi < hi)
		acc_step(c, s, s->hi++, 1);
	while (s->lo < lo)
		acc_step(c, s, s->lo++, 0);
}

/* The sum of the window's float arguments; rebuilt from the rows when the
 * running sum overflowed to infinity. */
static double
acc_fsum(const Ctx *c, Acc *s)
{
	if (s->nnan > 0 || (s->npinf > 0 && s->nninf > 0))
		return NAN;
	if (s->npinf > 0)
		return INFINITY;
	if (s->nninf > 0)
		return -INFINITY;
	double f = s->ds + s->dc;
	if (!isfinite(f)) {
		s->ds = s->dc = 0;
		for (size_t p = s->lo; p < s->hi; p++) {
			const Value *v = cell(c, p, c->w->arg);
			if (!v->null && type_is_float((WbType)v->type) && isfinite(v->u.d))
				neumaier(s, v->u.d);
		}
		f = s->ds + s->dc;
	}
	return f;
}

static int
acc_result(const Ctx *c, Acc *s, Value *v, Err *e)
{
	const WinSpec *w = c->w;
	WbType t = w->out_type;
	switch (w->fn) {
	case WIN_COUNT_STAR:
		*v = out_int(t, (int64_t)(s->hi - s->lo));
		return 0;
	case WIN_COUNT:
		*v = out_int(t, s->nnn);
		return 0;
	case WIN_MIN:
	case WIN_MAX:
		*v = s->dh < s->dt ? out_copy(cell(c, c->dq[s->dh], w->arg), t) : value_null(t);
		return 0;
	case WIN_BOOL_AND:
		*v = s->nnn ? out_int(t, s->ntrue == s->nnn) : value_null(t);
		return 0;
	case WIN_BOOL_OR:
		*v = s->nnn ? out_int(t, s->ntrue > 0) : value_null(t);
		return 0;
	default:
		break;
	}
	if (s->nnn == 0) {
		*v = value_null(t);
		return 0;
	}
	if (w->fn == WIN_SUM && !type_is_float(t) && s->nflt == 0) {
		if (s->isum > INT64_MAX || s->isum < INT64_MIN)
			return err_set(e, ERR_OVERFLOW,
			               "sum: bigint out of range in a window frame");
		*v = out_int(t, (int64_t)s->isum);
		return 0;
	}
	double total = (double)s->isum;
	if (s->nflt > 0)
		total += acc_fsum(c, s);
	if (w->fn == WIN_AVG)
		total /= (double)s->nnn;
	else if (!type_is_float(t) &&
	         !(total >= -9223372036854775808.0 && total < 9223372036854775808.0))
		return err_set(e, ERR_OVERFLOW, "sum: bigint out of range in a window frame");
	*v = out_double(t, total);
	return 0;
}

/* The frame [fs, fe) of position p less its EXCLUDE rows, as at most
 * three ascending ranges r[2i] .. r[2i + 1]; returns their number. */
static int
frame_ranges(const Ctx *c, size_t p, size_t fs, size_t fe, size_t *r)
{
	size_t xs, xe;
	switch (c->w->frame.exclude) {
	case WINX_CURRENT_ROW:
		xs = p, xe = p + 1;
		break;
	case WINX_GROUP:
	case WINX_TIES:
		xs = c->glo[p], xe = c->ghi[p];
		break;
	default:
		r[0] = fs, r[1] = fe;
		return 1;
	}
	int n = 0;
	size_t cuts[3][2] = {{fs, xs < fe ? xs : fe}, {p, p + 1}, {xe > fs ? xe : fs, fe}};
	for (int i = 0; i < 3; i++) {
		if (i == 1 && (c->w->frame.exclude != WINX_TIES || p < fs || p >= fe))
			continue;
		if (cuts[i][0] < cuts[i][1]) {
			r[2 * n] = cuts[i][0];
			r[2 * n + 1] = cuts[i][1];
			n++;
		}
	}
	return n;
}

/* One position's frame function when EXCLUDE leaves holes in the frame:
 * computed from scratch over the included rows (O(frame)). */
static int
eval_excluded(const Ctx *c, size_t p, size_t fs, size_t fe, Value *v, Err *e)
{
	const WinSpec *w = c->w;
	WbType t = w->out_type;
	size_t r[6];
	int nr = frame_ranges(c, p, fs, fe, r);
	if (w->fn == WIN_FIRST_VALUE || w->fn == WIN_LAST_VALUE || w->fn == WIN_NTH_VALUE) {
		size_t want = w->fn == WIN_NTH_VALUE ? (size_t)w->param - 1 : 0, seen = 0;
		const Value *pick = NULL;
		for (int i = 0; i < nr; i++)
			for (size_t q = r[2 * i]; q < r[2 * i + 1]; q++) {
				const Value *x = cell(c, q, w->arg);
				if (w->ignore_nulls && x->null)
					continue;
				if (w->fn == WIN_LAST_VALUE)
					pick = x;
				else if (seen++ == want && pick == NULL)
					pick = x;
			}
		*v = pick ? out_copy(pick, t) : value_null(t);
		return 0;
	}
	Acc s;
	acc_reset(&s, 0);
	size_t rows = 0;
	for (int i = 0; i < nr; i++) {
		for (size_t q = r[2 * i]; q < r[2 * i + 1]; q++)
			acc_step(c, &s, q, 1);
		rows += r[2 * i + 1] - r[2 * i];
	}
	s.lo = 0;
	s.hi = rows;	/* COUNT(*) reads the frame's size from these */
	return acc_result(c, &s, v, e);
}

static int
eval_frame_fns(const Ctx *c, Value *out, Err *e)
{
	const WinSpec *w = c->w;
	WbType t = w->out_type;
	int is_value =
	        w->fn == WIN_FIRST_VALUE || w->fn == WIN_LAST_VALUE || w->fn == WIN_NTH_VALUE;
	Acc s;
	acc_reset(&s, c->ps);
	for (size_t p = c->ps; p < c->pe; p++) {
		size_t fs, fe;
		frame_at(c, p, &fs, &fe);
		if (fe < fs)
			fe = fs;
		Value v;
		if (w->frame.exclude != WINX_NO_OTHERS) {
			int rc = eval_excluded(c, p, fs, fe, &v, e);
			if (rc != 0)
				return rc;
		} else if (is_value) {
			size_t k = w->fn == WIN_NTH_VALUE ? (size_t)w->param - 1 : 0;
			size_t cnt = w->ignore_nulls ? c->pre[fe] - c->pre[fs] : fe - fs;
			size_t pick = 0;
			int found = cnt > 0 && k < cnt;
			if (found) {
				size_t i = w->fn == WIN_LAST_VALUE ? cnt - 1 : k;
				pick = w->ignore_nulls ? c->nnpos[c->pre[fs] + i] : fs + i;
			}
			v = found ? out_copy(cell(c, pick, w->arg), t) : value_null(t);
		} else {
			acc_move(c, &s, fs, fe);
			int rc = acc_result(c, &s, &v, e);
			if (rc != 0)
				return rc;
		}
		out[c->perm[p]] = v;
	}
	return 0;
}

/* ---- driver ------------------------------------------------------------ */

static int
check_spec(const WinSpec *w, Err *e)
{
	if ((unsigned)w->fn > WIN_BOOL_OR)
		return err_set(e, ERR_INVALID, "unknown window function %d", (int)w->fn);
	if (w->fn == WIN_NTILE && w->param <= 0)
		return err_set(e, ERR_INVALID, "argument of ntile must be greater than zero");
	if (w->fn == WIN_NTH_VALUE && w->param <= 0)
		return err_set(e, ERR_INVALID, "argument of nth_value must be greater than zero");
	int needs_arg = w->fn >= WIN_LAG && w->fn != WIN_NTILE && w->fn != WIN_COUNT_STAR;
	if (needs_arg && w->arg < 0)
		return err_set(e, ERR_INVALID, "window function %s requires an argument",
		               fn_name(w->fn));
	if (w->npart < 0 || w->norder < 0 || (w->npart > 0 && !w->part) ||
	    (w->norder > 0 && !w->order))
		return err_set(e, ERR_INVALID,
		               "window function %s: bad PARTITION BY / ORDER BY keys",
		               fn_name(w->fn));
	return check_frame(w, e);
}

/* RANGE with an offset needs a numeric ORDER BY key. */
static int
check_range_key(const Value *rows, size_t nrows, size_t ncols, const WinSpec *w, Err *e)
{
	int col = w->order[0];
	for (size_t r = 0; r < nrows; r++) {
		const Value *v = &rows[r * ncols + (size_t)col];
		if (v->null)
			continue;
		if (v->mv || !type_is_numeric((WbType)v->type))
			return err_set(e, ERR_INVALID,
			               "RANGE with offset PRECEDING/FOLLOWING is not supported for "
			               "column type %s",
			               v->mv ? "multi-value" : tname((WbType)v->type));
	}
	return 0;
}

int
window_compute(const Value *rows, size_t nrows, int ncols, const WinSpec *w, Value *out, Arena *a,
               Err *e)
{
	int rc = check_spec(w, e);
	if (rc != 0)
		return rc;
	Value dflt = value_null(w->out_type);
	if ((w->fn == WIN_LAG || w->fn == WIN_LEAD) && (rc = prepare_default(w, a, &dflt, e)) != 0)
		return rc;
	if (nrows == 0)
		return 0;
	if (frame_has_range_offset(&w->frame) &&
	    (rc = check_range_key(rows, nrows, (size_t)ncols, w, e)) != 0)
		return rc;

	int want_nn = w->ignore_nulls &&
	              (w->fn == WIN_LAG || w->fn == WIN_LEAD || w->fn == WIN_FIRST_VALUE ||
	               w->fn == WIN_LAST_VALUE || w->fn == WIN_NTH_VALUE);
	int want_dq = w->fn == WIN_MIN || w->fn == WIN_MAX;
	/* perm, glo, ghi [, pre, nnpos] [, dq]; the sort's 2n entries
	 * (3 words each) overlay everything after perm */
	size_t narr = 3 + (want_nn ? 2 : 0) + (want_dq ? 1 : 0);
	size_t words = narr > 7 ? narr : 7;
	if (nrows > SIZE_MAX / sizeof(size_t) / (words + 1) - 1)
		return err_set(e, ERR_NOMEM, "%s: too many rows (%zu)", fn_name(w->fn), nrows);
	size_t *mem = mem_alloc((words * nrows + 1) * sizeof(size_t));
	if (!mem)
		return err_set(e, ERR_NOMEM, "%s: out of memory sorting %zu rows", fn_name(w->fn),
		               nrows);

	Ctx c = {.rows = rows, .ncols = (size_t)ncols, .w = w, .n = nrows};
	size_t *next = mem;
	c.perm = next, next += nrows;
	c.glo = next, next += nrows;
	c.ghi = next, next += nrows;
	if (want_nn) {
		c.pre = next, next += nrows + 1;
		c.nnpos = next, next += nrows;
	}
	if (want_dq)
		c.dq = next;

	for (size_t i = 0; i < nrows; i++)
		c.perm[i] = i;
	if (w->npart > 0 || w->norder > 0)
		sort_rows_perm(&c, (SortEnt *)(void *)(mem + nrows));
	if (want_nn) {
		size_t k = 0;
		for (size_t p = 0; p < nrows; p++) {
			c.pre[p] = k;
			if (!cell(&c, p, w->arg)->null)
				c.nnpos[k++] = p;
		}
		c.pre[nrows] = k;
	}

	int range_off = frame_has_range_offset(&w->frame);
	for (size_t ps = 0; ps < nrows && rc == 0;) {
		size_t pe = ps + 1;
		while (pe < nrows && part_cmp(&c, c.perm[pe - 1], c.perm[pe]) == 0)
			pe++;
		c.ps = ps;
		c.pe = pe;
		/* peer groups */
		size_t g = ps;
		for (size_t p = ps; p < pe; p++) {
			if (p > ps && order_cmp(&c, c.perm[p - 1], c.perm[p]) != 0)
				g = p;
			c.glo[p] = g;
		}
		g = pe;
		for (size_t p = pe; p-- > ps;) {
			c.ghi[p] = g;
			if (c.glo[p] == p)
				g = p;
		}
		if (range_off) {
			int col = w->order[0];
			c.nnlo = ps;
			while (c.nnlo < pe && cell(&c, c.nnlo, col)->null)
				c.nnlo++;
			c.nnhi = c.nnlo;
			while (c.nnhi < pe && !cell(&c, c.nnhi, col)->null)
				c.nnhi++;
		}
		switch (w->fn) {
		case WIN_ROW_NUMBER:
		case WIN_RANK:
		case WIN_DENSE_RANK:
		case WIN_PERCENT_RANK:
		case WIN_CUME_DIST:
		case WIN_NTILE:
			eval_ranking(&c, out);
			break;
		case WIN_LAG:
		case WIN_LEAD:
			eval_lag_lead(&c, &dflt, out);
			break;
		default:
			rc = eval_frame_fns(&c, out, e);
			break;
		}
		ps = pe;
	}
	mem_free(mem);
	return rc;
}
