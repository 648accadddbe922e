/*
 * exec.c -- the executor: runs a Plan over a TableSnap.
 *
 * Work is split into morsels (a segment's rows in ranges of MORSEL_ROWS)
 * run in parallel on the worker pool: one task per morsel, or, for an
 * aggregation over more morsels than the pool has threads, one task per
 * thread taking morsels in turn (one group table and expression context
 * each: fewer tables to merge, per-dictionary sets built once).  Each morsel task scans batches,
 * narrows the selection with WHERE, and either feeds a task-local
 * GroupTable (aggregation) or materializes output rows (selection; stops
 * early once enough rows exist when there is no ORDER BY, keeps only the
 * best offset+limit rows when there is one and LIMIT is small).
 *
 * Then, on the calling thread: task group tables merge into one (the
 * first task's is adopted, not copied), groups
 * become "post" rows (keys + finalized aggregates), HAVING filters them
 * and the select list and ORDER BY keys are computed over them in
 * batches; rows are sorted, OFFSET/LIMIT applied, the server's row
 * ceiling enforced (ResultSet.partial + warning), and the result copied
 * into the ResultSet's arena.
 *
 * Limits: the deadline and the cancel flag (ExecLimits.cancel) are checked
 * before every batch (ERR_TIMEOUT, ERR_CANCELED); the
 * query's MemBudget is installed on every thread while it runs this
 * query's work (the calling thread and the pool's workers: run_task and
 * prep_task install it first thing, so every scan buffer, expression
 * vector, group table, aggregate state -- distinct sets, digests --,
 * collected row, sort array and post-aggregation row is charged), so an
 * allocation beyond it fails and the query ends with ERR_MEM_LIMIT; the
 * other queries have budgets of their own and go on.  When the caller
 * already charges a budget of its own (a statement's, over its derived
 * tables and subqueries), this query's budget is at most what is left of
 * it.  Group tables stop at ExecLimits.max_groups (ERR_TOO_LARGE).
 * Everything charged to the budget is freed before exec_run returns; the
 * ResultSet is allocated outside it (it outlives the query), but its size
 * is computed first and counted against the budget: a result that would
 * not fit fails with ERR_MEM_LIMIT before it is copied.
 *
 * A segment is a MutSeg or a segment file (SnapSeg.file; read by
 * scan_init_file); a damaged file block ends the query with the reader's
 * ERR_CORRUPT (Pinot error 200), naming file, column and block.
 *
 * Before morsels are made, every segment is prepared (in parallel):
 * prune_segment drops the ones no row of which can pass WHERE, and for
 * the segment files kept prune_index builds a row bitset from their
 * indexes plus the residual conjuncts; a morsel of such a segment skips
 * batches with no candidate row (Scan.selbits) and evaluates only the
 * residual on the candidates.  A selection without WHERE, ORDER BY or
 * aggregation needs only its first offset+limit rows: segments past
 * those are pruned "by limit".
 *
 * Upsert tables: a segment with a validity bitmap (SnapSeg.valid; bit
 * clear = an older version of its key, or a deleted key) shows only its
 * valid rows unless skipUpsert (ExecLimits.skip_upsert, SET skipUpsert).
 * The bitmap is ANDed into the segment's index bitset, or, without one,
 * becomes the candidate bitset itself with the whole WHERE as the
 * residual: batches with no valid row are skipped unread (mutable
 * segments too), a batch whose rows are all valid keeps the dense path,
 * and a segment without a valid row is pruned as empty.  The LIMIT
 * pruning counts valid rows.  So numDocsScanned counts visible matching
 * rows only; totalDocs stays every row of the segments queried.
 * Segment states (and their bitsets) are
 * owned by the Exec and freed before exec_run returns.  The statistics
 * (QueryStats, Pinot's meanings) are filled at the end, on errors too.
 *
 * Exports: exec_run.
 */
#include "query/exec.h"
#include "base/clock.h"
#include "base/mem.h"
#include "base/pool.h"
#include "expr/exprvec.h"
#include "query/agg.h"
#include "query/groupby.h"
#include "query/prune.h"
#include "query/scan.h"
#include "query/sort.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define MORSEL_ROWS ((size_t)4 * MUTSEG_CHUNK_ROWS)
#define TOPN_MAX 100000

typedef struct Morsel {
	const MutSeg *seg;
	size_t begin, end;
	int segi;
	const SegFile *file;	/* set instead of seg for a segment file */
	uint64_t docs;		/* rows that passed the filter */
} Morsel;

typedef struct TaskOut {
	Err err;
	GroupTable gt;
	int gt_init;
	const Value **rows;
	size_t nrows, cap;
	Arena arena;
	uint64_t docs, filter_entries;
	const Value *thresh;	/* top-N: the current N-th row; rows must beat it */
	int err_morsel;		/* the morsel err happened in; -1 */
} TaskOut;

/* Per segment of the snapshot: pruning verdict and index use. */
typedef struct SegState {
	PruneWhy why;
	PruneIx ix;
	Err err;
	uint64_t docs;		/* rows that passed the filter */
	/* candidate rows: the index bitset (ANDed with the upsert validity
	 * bitmap when the segment has one), else the validity bitmap
	 * (borrowed from the snapshot), else NULL = every row */
	const uint64_t *bits;
	size_t visible;		/* rows a query may see: nvalid or rows */
} SegState;

typedef struct Exec {
	const Plan *p;
	const TableSnap *snap;
	SegState *segst;	/* snap->nsegs entries; NULL without a snapshot */
	int nmorsels;
	Morsel *morsels;
	TaskOut *outs;		/* per task: nworkers, or nmorsels when 0 */
	int nworkers;
	/* worker mode: worker w takes morsels [rnext[w], rend[w]) -- a
	 * contiguous share, so its table sees few segments (few
	 * dictionaries) -- then helps with the other shares */
	_Atomic int *rnext;
	int *rend;
	MemBudget budget;
	int64_t deadline_ns;
	int64_t timeout_ms;
	const _Atomic int *cancel;	/* ExecLimits.cancel */
	size_t max_groups;	/* ExecLimits.max_groups */
	size_t mem_shown;	/* the budget messages name: the query's, or
				 * the caller's when that one is what binds */
	_Atomic int stop;
	_Atomic size_t produced;
	size_t stop_at;		/* selection without ORDER BY: rows enough */
	size_t topn;		/* selection with ORDER BY + small LIMIT */
	int ignore_nulls;
	int skip_upsert;	/* ExecLimits.skip_upsert or SET skipUpsert */
	Value *dflt;		/* per plan column: default null of the
				 * snapshot's schema (columns missing from
				 * older segment files read as it) */
} Exec;

static int
width(const Plan *p)
{
	return p->nout + p->norder;
}

static int
push_rows(TaskOut *o, const Plan *p, ExprCtx *cx, const Batch *b, const uint16_t *sel, int nsel)
{
	int w = width(p);
	int rc;
	if (o->nrows + (size_t)nsel > o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 1024;
		while (cap < o->nrows + (size_t)nsel)
			cap *= 2;
		const Value **nr = mem_realloc(o->rows, cap * sizeof(Value *));
		if (nr == NULL)
			return err_set(&o->err, ERR_NOMEM, "out of memory collecting rows");
		o->rows = nr;
		o->cap = cap;
	}
	Value *vals = arena_alloc(&o->arena, sizeof(Value) * (size_t)w * (size_t)nsel + 1);
	if (vals == NULL)
		return err_set(&o->err, ERR_NOMEM, "out of memory collecting rows");
	for (int j = 0; j < w; j++) {
		const Expr *ex = j < p->nout ? p->out[j] : p->order[j - p->nout];
		const Vec *v;
		if ((rc = exprvec_eval(cx, ex, b, sel, nsel, &v, &o->err)) != 0)
			return rc;
		for (int k = 0; k < nsel; k++) {
			Value tmp;
			if (exprvec_value(v, sel ? sel[k] : k, &tmp, &o->arena) != 0 ||
			    value_copy(&vals[(size_t)k * w + j], &tmp, &o->arena) != 0)
				return err_set(&o->err, ERR_NOMEM, "out of memory collecting rows");
		}
	}
	for (int k = 0; k < nsel; k++)
		o->rows[o->nrows++] = &vals[(size_t)k * w];
	return 0;
}

/*
 * Top-N: narrows sel (n entries, NULL = all rows of the batch) to the rows
 * whose ORDER BY keys sort before o->thresh, evaluating only the keys.
 * out may alias sel.
 */
static int
topn_filter(TaskOut *o, const Plan *p, ExprCtx *cx, const Batch *b, const uint16_t *sel,
	    int *n, uint16_t *out)
{
	const Vec *kv[16];
	int nk = p->norder;
	if (nk > 16)
		return 0;
	for (int k = 0; k < nk; k++) {
		int rc = exprvec_eval(cx, p->order[k], b, sel, *n, &kv[k], &o->err);
		if (rc)
			return rc;
	}
	Value keys[16];
	int m = 0;
	for (int j = 0; j < *n; j++) {
		int row = sel ? sel[j] : j;
		for (int k = 0; k < nk; k++)
			if (exprvec_value(kv[k], row, &keys[k], &o->arena) != 0)
				return err_set(&o->err, ERR_NOMEM, "out of memory in top-N");
		if (sort_cmp_keys(keys, o->thresh + p->nout, p) < 0)
			out[m++] = (uint16_t)row;
	}
	*n = m;
	return 0;
}

/* Top-N: after truncating to N rows, moves them to a fresh arena (so the
 * discarded rows' memory is released) and records the new threshold. */
static int
topn_compact(TaskOut *o, const Plan *p)
{
	int w = width(p);
	Arena fresh;
	arena_init(&fresh, 64 * 1024);
	for (size_t r = 0; r < o->nrows; r++) {
		Value *vals = arena_alloc(&fresh, sizeof(Value) * (size_t)w);
		if (vals == NULL)
			goto nomem;
		for (int j = 0; j < w; j++)
			if (value_copy(&vals[j], &o->rows[r][j], &fresh) != 0)
				goto nomem;
		o->rows[r] = vals;
	}
	arena_free(&o->arena);
	o->arena = fresh;
	o->thresh = o->nrows ? o->rows[o->nrows - 1] : NULL;
	return 0;
nomem:
	arena_free(&fresh);
	return err_set(&o->err, ERR_NOMEM, "out of memory in top-N");
}

/* Scans morsel mi into o (its group table, or its rows) with cx. */
static void
run_morsel(Exec *x, TaskOut *o, int mi, ExprCtx *cx)
{
	const Plan *p = x->p;
	Morsel *m = &x->morsels[mi];
	Scan sc;
	uint16_t sel[EXPR_BATCH];
	const SegState *st = x->segst ? &x->segst[m->segi] : NULL;
	const uint64_t *bits = st ? st->bits : NULL;
	const PruneIx *ix = st && st->ix.rows ? &st->ix : NULL;
	uint64_t docs0 = o->docs;

	if (m->file != NULL ? scan_init_file(&sc, p, m->file, m->begin, m->end, &o->err) != 0
			    : scan_init(&sc, p, m->seg, m->begin, m->end, &o->err) != 0) {
		o->err_morsel = mi;
		return;
	}
	sc.ignore_nulls = x->ignore_nulls;
	sc.dflt = x->dflt;
	sc.selbits = bits;
	const Batch *b;
	int n;
	while ((n = scan_next(&sc, &b)) > 0) {
		if (atomic_load(&x->stop))
			break;
		if (x->cancel && atomic_load(x->cancel)) {
			err_set(&o->err, ERR_CANCELED, "canceling statement due to user request");
			atomic_store(&x->stop, 1);
			break;
		}
		if (x->deadline_ns && clock_mono_ns() > x->deadline_ns) {
			err_set(&o->err, ERR_TIMEOUT, "query timed out after %lld ms", (long long)x->timeout_ms);
			atomic_store(&x->stop, 1);
			break;
		}
		exprvec_reset_batch(cx);
		const uint16_t *s = NULL;
		int nsel = n;
		if (bits) {
			/* candidates from the bitset (index and/or upsert
			 * validity) */
			const uint64_t *bw = bits + sc.batch_row / 64;
			nsel = 0;
			for (int w = 0; w < (n + 63) / 64; w++) {
				uint64_t word = bw[w];
				if (w == n / 64)
					word &= ((uint64_t)1 << (n & 63)) - 1;
				while (word) {
					sel[nsel++] = (uint16_t)(w * 64 + __builtin_ctzll(word));
					word &= word - 1;
				}
			}
			if (nsel == 0)
				continue;
			s = nsel == n && ix == NULL ? NULL : sel;
		}
		if (ix) {
			/* the conjuncts the indexes did not answer */
			o->filter_entries += (uint64_t)nsel * (uint64_t)ix->resid_cols;
			int bad = 0;
			for (int j = 0; j < ix->nresid && nsel > 0 && !bad; j++)
				bad = exprvec_filter(cx, ix->resid[j], b, sel, nsel, sel, &nsel, &o->err) != 0;
			if (bad)
				break;
		} else if (p->where) {
			o->filter_entries += (uint64_t)nsel * (uint64_t)p->nfilter_cols;
			if (exprvec_filter(cx, p->where, b, s, nsel, sel, &nsel, &o->err) != 0)
				break;
			s = sel;
		}
		if (nsel == 0)
			continue;
		o->docs += (uint64_t)nsel;
		if (p->is_agg) {
			if (groupby_update(&o->gt, cx, b, s, nsel, &o->err) != 0)
				break;
			continue;
		}
		if (o->thresh) {
			/* top-N: keep only rows whose keys beat the current N-th */
			if (topn_filter(o, p, cx, b, s ? s : NULL, &nsel, sel) != 0)
				break;
			s = sel;
			if (nsel == 0)
				continue;
		}
		if (push_rows(o, p, cx, b, s, nsel) != 0)
			break;
		if (x->stop_at) {
			size_t tot = atomic_fetch_add(&x->produced, (size_t)nsel) + (size_t)nsel;
			if (tot >= x->stop_at) {
				atomic_store(&x->stop, 1);
				break;
			}
		}
		if (x->topn && o->nrows > 4 * x->topn + EXPR_BATCH) {
			sort_rows(o->rows, o->nrows, p, p->nout);
			o->nrows = x->topn;
			if (topn_compact(o, p) != 0)
				break;
		}
	}
	m->docs = o->docs - docs0;
	if (o->err.code != 0) {
		o->err_morsel = mi;
		atomic_store(&x->stop, 1);
	}
	scan_end(&sc);
}

/* Task i: morsel i (x->nworkers 0), or -- an aggregation over more
 * morsels than threads -- worker i, which takes morsels from its share
 * and then the others' into one expression context and one group table
 * (per-dictionary sets built once per segment, not per morsel; fewer
 * tables to merge; a GROUP BY on a dictionary column stays on the
 * direct array of one segment: groupby.c). */
static void
run_task(void *arg, int i)
{
	Exec *x = arg;
	const Plan *p = x->p;
	TaskOut *o = &x->outs[i];
	MemBudget *old = mem_budget_set(&x->budget);
	ExprCtx cx;
	int have_cx = 0;

	o->err_morsel = -1;
	if (atomic_load(&x->stop))
		goto out;
	if (exprvec_ctx_init(&cx, p->nnodes) != 0) {
		err_set(&o->err, ERR_NOMEM, "out of memory");
		goto out;
	}
	have_cx = 1;
	cx.deadline_ns = x->deadline_ns;
	if (p->is_agg) {
		GroupLimits gl = {x->max_groups, x->deadline_ns, x->timeout_ms};
		if (groupby_init(&o->gt, p, &gl, &o->err) != 0)
			goto out;
		o->gt_init = 1;
	}
	if (x->nworkers == 0) {
		run_morsel(x, o, i, &cx);
	} else {
		int lastseg = -1;
		for (int j = 0; j < x->nworkers; j++) {
			int w = (i + j) % x->nworkers;
			for (;;) {
				/* another share's last morsel of a segment this
				 * worker has not read is left to its owner: a
				 * second dictionary costs the table more than the
				 * morsel saves */
				int peek = atomic_load(&x->rnext[w]);
				if (j > 0 && peek < x->rend[w] && x->rend[w] - peek < 2 &&
				    x->morsels[peek].segi != lastseg)
					break;
				int mi = atomic_fetch_add(&x->rnext[w], 1);
				if (mi >= x->rend[w] || atomic_load(&x->stop) || o->err.code != 0)
					break;
				lastseg = x->morsels[mi].segi;
				run_morsel(x, o, mi, &cx);
			}
		}
	}
	if (o->err.code != 0)
		atomic_store(&x->stop, 1);
out:
	if (have_cx)
		exprvec_ctx_free(&cx);
	mem_budget_set(old);
}

/* Fills post-batch column vectors from rows [r0, r0+n) of post rows. */
typedef struct PostBuf {
	Vec *cols;
	int64_t *i;
	double *d;
	const char **s;
	uint32_t *slen;
	uint8_t *nl;
} PostBuf;

/* Multi-value aggregate results (agg_result_mv: FUNNELCOUNT's counts)
 * as a computed VEC_MV of column c: per-row ranges and the numbers,
 * allocated in a. */
static int
post_fill_mv(PostBuf *pb, Vec *v, int c, Value *const *rows, size_t n, Arena *a)
{
	size_t off = (size_t)c * EXPR_BATCH, total = 0;
	int fl = type_is_float(v->type);
	for (size_t r = 0; r < n; r++)
		if (!rows[r][c].null && rows[r][c].mv)
			total += rows[r][c].n;
	uint32_t *mvoff = arena_alloc(a, sizeof(uint32_t) * 2 * (n ? n : 1));
	void *el = arena_alloc(a, 8 * (total ? total : 1));
	if (mvoff == NULL || el == NULL)
		return ERR_NOMEM;
	uint32_t *mvcnt = mvoff + n;
	int anynull = 0;
	total = 0;
	for (size_t r = 0; r < n; r++) {
		const Value *val = &rows[r][c];
		int isnull = val->null || !val->mv;
		pb->nl[off + r] = (uint8_t)isnull;
		anynull |= isnull;
		mvoff[r] = (uint32_t)total;
		mvcnt[r] = isnull ? 0 : val->n;
		for (uint32_t j = 0; j < mvcnt[r]; j++, total++) {
			if (fl)
				((double *)el)[total] = val->u.mv[j].u.d;
			else
				((int64_t *)el)[total] = val->u.mv[j].u.i;
		}
	}
	v->enc = VEC_MV;
	v->mvoff = mvoff;
	v->mvcnt = mvcnt;
	v->elems = el;
	v->nulls = anynull ? pb->nl + off : NULL;
	return 0;
}

static int
post_fill(PostBuf *pb, const Plan *p, Value *const *rows, size_t n, Arena *a)
{
	int nc = p->ngroup + p->nagg;
	for (int c = 0; c < nc; c++) {
		WbType t = c < p->ngroup ? p->group[c]->type : p->aggs[c - p->ngroup].type;
		Vec *v = &pb->cols[c];
		size_t off = (size_t)c * EXPR_BATCH;
		memset(v, 0, sizeof(*v));
		v->type = t;
		if (c >= p->ngroup && agg_result_mv(p->aggs[c - p->ngroup].kind)) {
			if (post_fill_mv(pb, v, c, rows, n, a) != 0)
				return ERR_NOMEM;
			continue;
		}
		v->enc = type_is_float(t) ? VEC_F64 : type_is_var(t) ? VEC_STR : VEC_I64;
		v->i = pb->i + off;
		v->d = pb->d + off;
		v->s = pb->s + off;
		v->slen = pb->slen + off;
		int anynull = 0;
		for (size_t r = 0; r < n; r++) {
			const Value *val = &rows[r][c];
			pb->nl[off + r] = val->null;
			anynull |= val->null;
			if (v->enc == VEC_I64)
				pb->i[off + r] = val->null ? 0 : val->u.i;
			else if (v->enc == VEC_F64)
				pb->d[off + r] = val->null ? 0 : val->u.d;
			else {
				pb->s[off + r] = val->null ? "" : val->u.s;
				pb->slen[off + r] = val->null ? 0 : val->n;
			}
		}
		v->nulls = anynull ? pb->nl + off : NULL;
	}
	return 0;
}

static int
finish_agg(Exec *x, GroupTable *gt, Arena *a, const Value ***out, size_t *nout, Err *e)
{
	const Plan *p = x->p;
	int nc = p->ngroup + p->nagg;
	int w = width(p);
	int rc = 0;
	PostBuf pb = {0};
	ExprCtx cx;
	uint16_t sel[EXPR_BATCH];
	size_t ncols = (size_t)(nc > 0 ? nc : 1);

	*out = NULL;
	*nout = 0;
	if (exprvec_ctx_init(&cx, p->nnodes) != 0)
		return err_set(e, ERR_NOMEM, "out of memory");
	cx.deadline_ns = x->deadline_ns;
	pb.cols = arena_calloc(a, sizeof(Vec) * ncols);
	pb.i = arena_alloc(a, sizeof(int64_t) * EXPR_BATCH * ncols);
	pb.d = arena_alloc(a, sizeof(double) * EXPR_BATCH * ncols);
	pb.s = arena_alloc(a, sizeof(char *) * EXPR_BATCH * ncols);
	pb.slen = arena_alloc(a, sizeof(uint32_t) * EXPR_BATCH * ncols);
	pb.nl = arena_alloc(a, EXPR_BATCH * ncols);
	Value **post = arena_alloc(a, sizeof(Value *) * EXPR_BATCH);
	const Value **res = mem_alloc(sizeof(Value *) * (gt->n ? gt->n : 1));
	if (!pb.cols || !pb.i || !pb.d || !pb.s || !pb.slen || !pb.nl || !post || !res) {
		mem_free(res);
		exprvec_ctx_free(&cx);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	Batch b = {.ncols = nc, .cols = pb.cols};
	size_t nres = 0;
	for (uint32_t g0 = 0; g0 < gt->n; g0 += EXPR_BATCH) {
		int n = (int)(gt->n - g0 < EXPR_BATCH ? gt->n - g0 : EXPR_BATCH);
		if ((g0 & 0xffff) == 0 && g0 > 0 && x->cancel && atomic_load(x->cancel)) {
			rc = err_set(e, ERR_CANCELED, "canceling statement due to user request");
			goto done;
		}
		if ((g0 & 0xffff) == 0 && g0 > 0 && x->deadline_ns && clock_mono_ns() > x->deadline_ns) {
			rc = err_set(e, ERR_TIMEOUT, "query timed out after %lld ms (finishing %u groups)",
				     (long long)x->timeout_ms, gt->n);
			goto done;
		}
		for (int k = 0; k < n; k++) {
			post[k] = arena_alloc(a, sizeof(Value) * ncols);
			if (post[k] == NULL) {
				rc = err_set(e, ERR_NOMEM, "out of memory");
				goto done;
			}
			groupby_row(gt, g0 + (uint32_t)k, post[k]);
		}
		if (post_fill(&pb, p, post, (size_t)n, a) != 0) {
			rc = err_set(e, ERR_NOMEM, "out of memory");
			goto done;
		}
		b.n = n;
		exprvec_reset_batch(&cx);
		const uint16_t *s = NULL;
		int nsel = n;
		if (p->having) {
			if ((rc = exprvec_filter(&cx, p->having, &b, NULL, n, sel, &nsel, e)) != 0)
				goto done;
			s = sel;
		}
		Value *vals = arena_alloc(a, sizeof(Value) * (size_t)w * (size_t)(nsel ? nsel : 1));
		if (vals == NULL) {
			rc = err_set(e, ERR_NOMEM, "out of memory");
			goto done;
		}
		for (int j = 0; j < w; j++) {
			const Expr *ex = j < p->nout ? p->out[j] : p->order[j - p->nout];
			const Vec *v;
			if ((rc = exprvec_eval(&cx, ex, &b, s, nsel, &v, e)) != 0)
				goto done;
			for (int k = 0; k < nsel; k++) {
				Value tmp;
				if (exprvec_value(v, s ? s[k] : k, &tmp, a) != 0 ||
				    value_copy(&vals[(size_t)k * w + j], &tmp, a) != 0) {
					rc = err_set(e, ERR_NOMEM, "out of memory");
					goto done;
				}
			}
		}
		for (int k = 0; k < nsel; k++)
			res[nres++] = &vals[(size_t)k * w];
	}
done:
	exprvec_ctx_free(&cx);
	if (rc != 0) {
		mem_free(res);
		return rc;
	}
	*out = res;
	*nout = nres;
	return 0;
}

/* A budget's size for messages: "8 MiB", or "100000 bytes" when it is not
 * a whole number of MiB below 16 MiB. */
static const char *
size_text(char *buf, size_t cap, size_t n)
{
	if (n >= ((size_t)16 << 20) || (n != 0 && n % ((size_t)1 << 20) == 0))
		snprintf(buf, cap, "%zu MiB", n >> 20);
	else
		snprintf(buf, cap, "%zu bytes", n);
	return buf;
}

/* Bytes value_copy needs for v beyond the Value itself (an upper bound:
 * arena alignment included). */
static size_t
value_extra(const Value *v)
{
	if (v->null)
		return 0;
	if (v->mv) {
		size_t n = sizeof(Value) * ((size_t)v->n + 1) + 8;
		for (uint32_t i = 0; i < v->n; i++)
			n += value_extra(&v->u.mv[i]);
		return n;
	}
	if (type_is_var((WbType)v->type))
		return (size_t)v->n + 16;
	return 0;
}

static int
build_result(Exec *x, const Value **rows, size_t n, size_t max_rows, ResultSet *rs, Err *e)
{
	const Plan *p = x->p;
	size_t off = (size_t)p->offset;
	size_t start = off < n ? off : n;
	size_t count = n - start;
	if (p->limit >= 0 && (size_t)p->limit < count)
		count = (size_t)p->limit;
	if (max_rows > 0 && count > max_rows) {
		count = max_rows;
		rs->partial = 1;
		snprintf(rs->warning, sizeof(rs->warning),
			 "result cut to the server's ceiling of %zu rows; add a LIMIT", max_rows);
	}
	if (x->budget.limit) {
		/* the copy lives outside the budget (it outlives the query) but
		 * must fit in what the query may still use */
		size_t need = sizeof(Value) * (size_t)p->nout * count;
		for (size_t r = 0; r < count && need <= x->budget.limit; r++)
			for (int c = 0; c < p->nout; c++)
				need += value_extra(&rows[start + r][c]);
		size_t used = atomic_load(&x->budget.used);
		if (need > x->budget.limit || used + need > x->budget.limit) {
			char lb[48], nb[48];
			atomic_store(&x->budget.exceeded, 1);
			return err_set(e, ERR_MEM_LIMIT,
				       "the result (%zu rows, about %s) does not fit the query's memory budget of "
				       "%s; add a LIMIT, select fewer columns, or raise queryOptions "
				       "maxMemoryBytes up to the server's ceiling (waybill serve --query-memory)",
				       count, size_text(nb, sizeof(nb), need), size_text(lb, sizeof(lb), x->mem_shown));
		}
	}
	rs->ncols = p->nout;
	rs->cols = arena_calloc(&rs->arena, sizeof(ResultCol) * (size_t)(p->nout + 1));
	rs->rows = arena_alloc(&rs->arena, sizeof(Value) * (size_t)p->nout * (count ? count : 1) + 1);
	if (rs->cols == NULL || rs->rows == NULL)
		return err_set(e, ERR_NOMEM, "out of memory building the result");
	for (int c = 0; c < p->nout; c++) {
		rs->cols[c].name = arena_strdup(&rs->arena, p->names[c]);
		rs->cols[c].type = p->out[c]->type == TYPE_NULL ? TYPE_STRING : p->out[c]->type;
		rs->cols[c].mv = p->out[c]->mv;
		rs->cols[c].untyped = p->out[c]->type == TYPE_NULL;
	}
	for (size_t r = 0; r < count; r++)
		for (int c = 0; c < p->nout; c++) {
			Value *dst = &rs->rows[r * (size_t)p->nout + c];
			if (value_copy(dst, &rows[start + r][c], &rs->arena) != 0)
				return err_set(e, ERR_NOMEM, "out of memory building the result");
			if (dst->type == TYPE_NULL)
				dst->type = TYPE_STRING;
		}
	rs->nrows = count;
	return 0;
}

static void
mark_cols(const Expr *x, uint8_t *seen, int ncols, int *n)
{
	if (x == NULL)
		return;
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

/* Columns read after the filter (Pinot's numEntriesScannedPostFilter
 * counts docs x these): group keys and aggregate arguments, or the
 * selected and ORDER BY expressions. */
static int
post_filter_cols(const Plan *p)
{
	uint8_t seen[1024];
	int n = 0;
	if (p->tab.ncols <= 0 || p->tab.ncols > (int)sizeof(seen))
		return p->tab.ncols > 0 ? p->tab.ncols : 0;
	memset(seen, 0, (size_t)p->tab.ncols);
	if (p->is_agg) {
		for (int k = 0; k < p->ngroup; k++)
			mark_cols(p->group[k], seen, p->tab.ncols, &n);
		for (int k = 0; k < p->nagg; k++) {
			mark_cols(p->aggs[k].arg, seen, p->tab.ncols, &n);
			mark_cols(p->aggs[k].filter, seen, p->tab.ncols, &n);
			mark_cols(p->aggs[k].arg2, seen, p->tab.ncols, &n);
		}
	} else {
		for (int k = 0; k < p->nout; k++)
			mark_cols(p->out[k], seen, p->tab.ncols, &n);
		for (int k = 0; k < p->norder; k++)
			mark_cols(p->order[k], seen, p->tab.ncols, &n);
	}
	return n;
}

/* Prunes segment i and, for a kept file, chooses its indexes; then the
 * candidate rows: an upsert segment's validity bitmap (unless
 * skipUpsert) is ANDed into the index bitset, or stands alone as the
 * candidates with the whole WHERE as the residual.  A segment none of
 * whose rows is valid is pruned as empty. */
static void
prep_task(void *arg, int i)
{
	Exec *x = arg;
	SegState *st = &x->segst[i];
	const SnapSeg *ss = &x->snap->segs[i];
	const uint64_t *valid = x->skip_upsert ? NULL : ss->valid;
	MemBudget *old = mem_budget_set(&x->budget);
	err_clear(&st->err);
	st->visible = valid ? ss->nvalid : ss->rows;
	if (valid && ss->nvalid == 0 && ss->rows > 0) {
		st->why = PRUNE_EMPTY;
		mem_budget_set(old);
		return;
	}
	if (prune_segment(x->p, ss, x->ignore_nulls, &st->why, &st->err) == 0 && st->why == PRUNE_KEEP &&
	    ss->file != NULL)
		prune_index(x->p, ss->file, x->ignore_nulls, &st->ix, &st->err);
	if (st->err.code == 0 && st->why == PRUNE_KEEP && valid) {
		if (st->ix.rows) {
			/* the index bitset has (file rows + 63) / 64 words,
			 * its bits past the rows clear */
			size_t nr = segfile_meta(ss->file)->nrows;
			size_t nw = ((nr < ss->rows ? nr : ss->rows) + 63) / 64;
			for (size_t w = 0; w < nw; w++)
				st->ix.rows[w] &= valid[w];
		} else {
			st->bits = valid;
		}
	}
	if (st->ix.rows)
		st->bits = st->ix.rows;
	mem_budget_set(old);
}

/* Prepares every segment; 0 or the first segment's error. */
static int
prepare(Exec *x, Err *e)
{
	int n = x->snap->nsegs;
	if (n == 1)
		prep_task(x, 0);
	else if (n > 1)
		pool_run(pool_default(), n, prep_task, x);
	for (int i = 0; i < n; i++)
		if (x->segst[i].err.code != 0) {
			*e = x->segst[i].err;
			if (e->code == ERR_CORRUPT && x->snap->segs[i].file && x->snap->table)
				table_quarantine(x->snap->table, x->snap->segs[i].file, err_msg(e));
			return e->code;
		}
	/* a selection without filter or order needs its first stop_at rows */
	if (x->stop_at && x->p->where == NULL && !x->p->is_agg && x->p->norder == 0) {
		size_t have = 0;
		for (int i = 0; i < n; i++) {
			if (x->segst[i].why != PRUNE_KEEP)
				continue;
			if (have >= x->stop_at)
				x->segst[i].why = PRUNE_LIMIT;
			else
				have += x->segst[i].visible;
		}
	}
	return 0;
}

static void
fill_stats(Exec *x, const TableSnap *snap, ResultSet *rs)
{
	QueryStats *st = &rs->stats;
	int nsegs = snap ? snap->nsegs : 0;
	st->total_docs = snap ? snap->total_rows : 0;
	st->num_segments_queried = nsegs;
	for (int s = 0; s < nsegs; s++) {
		if (snap->segs[s].file == NULL)
			st->num_consuming_segments_queried++;
		if (x->segst == NULL)
			continue;
		const SegState *g = &x->segst[s];
		switch (g->why) {
		case PRUNE_KEEP:
			st->num_segments_processed++;
			st->num_segments_matched += g->docs > 0;
			st->num_segments_index_used += g->ix.nused > 0;
			st->num_entries_scanned_in_filter += g->ix.entries;
			break;
		case PRUNE_EMPTY:
			st->num_segments_pruned_invalid++;
			break;
		case PRUNE_LIMIT:
			st->num_segments_pruned_by_limit++;
			break;
		default:
			st->num_segments_pruned_by_value++;
			break;
		}
	}
	st->num_segments_pruned_by_server = st->num_segments_pruned_invalid + st->num_segments_pruned_by_limit +
					    st->num_segments_pruned_by_value;
	if (snap == NULL) {
		st->num_segments_matched = 0;
		st->num_segments_processed = 0;
	}
	st->peak_mem = atomic_load(&x->budget.peak);
}

int
exec_run(const Plan *p, const TableSnap *snap, const ExecLimits *lim, ResultSet *rs, Err *e)
{
	Exec x;
	int rc = 0;
	int64_t t0 = clock_mono_ns();
	memset(&x, 0, sizeof(x));
	x.p = p;
	x.snap = snap;
	x.ignore_nulls = lim->ignore_nulls;
	x.skip_upsert = lim->skip_upsert || p->set_skip_upsert > 0;
	/* within what is left of the caller's budget, if it has one */
	size_t mlim = lim->mem_limit;
	MemBudget *outer = mem_budget_set(NULL);
	mem_budget_set(outer);
	if (outer != NULL && outer->limit) {
		size_t used = atomic_load(&outer->used);
		size_t left = used < outer->limit ? outer->limit - used : 1;
		if (mlim == 0 || left < mlim)
			mlim = left;
	}
	mem_budget_init(&x.budget, mlim);
	x.mem_shown = mlim == lim->mem_limit ? mlim : outer->limit;
	x.max_groups = lim->max_groups;
	x.timeout_ms = lim->timeout_ms;
	x.deadline_ns = lim->timeout_ms > 0 ? t0 + lim->timeout_ms * 1000000 : 0;
	x.cancel = lim->cancel;
	MemBudget *old = mem_budget_set(&x.budget);
	GroupTable global;
	int have_global = 0;
	const Value **rows = NULL;
	size_t nrows = 0;
	Arena post;
	arena_init(&post, 64 * 1024);

	if (!p->is_agg) {
		size_t want = lim->max_rows ? lim->max_rows + 1 : 0;
		if (p->limit >= 0 && (want == 0 || (size_t)p->limit < want))
			want = (size_t)p->limit;
		if (p->norder == 0 && (want > 0 || p->limit == 0))
			x.stop_at = (size_t)p->offset + want + (p->limit == 0 ? 1 : 0);
		if (p->norder > 0 && want > 0 && (size_t)p->offset + want <= TOPN_MAX)
			x.topn = (size_t)p->offset + want;
	}

	/* pruning and index use, then morsels of the segments kept */
	size_t nm = 0;
	int nsegs = snap ? snap->nsegs : 0;
	if (snap == NULL)
		nm = 1;
	if (nsegs > 0 && snap->schema && snap->schema->nfields == p->tab.ncols) {
		x.dflt = mem_calloc((size_t)p->tab.ncols + 1, sizeof(Value));
		if (x.dflt == NULL) {
			rc = err_set(e, ERR_NOMEM, "out of memory");
			goto out;
		}
		for (int c = 0; c < p->tab.ncols; c++)
			x.dflt[c] = snap->schema->fields[c].default_null;
	}
	if (nsegs > 0) {
		x.segst = mem_calloc((size_t)nsegs, sizeof(SegState));
		if (x.segst == NULL) {
			rc = err_set(e, ERR_NOMEM, "out of memory");
			goto out;
		}
		if ((rc = prepare(&x, e)) != 0)
			goto out;
	}
	for (int s = 0; s < nsegs; s++)
		if (x.segst[s].why == PRUNE_KEEP)
			nm += (snap->segs[s].rows + MORSEL_ROWS - 1) / MORSEL_ROWS;
	x.morsels = mem_calloc(nm ? nm : 1, sizeof(Morsel));
	x.outs = mem_calloc(nm ? nm : 1, sizeof(TaskOut));
	if (x.morsels == NULL || x.outs == NULL) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (snap == NULL) {
		x.morsels[0] = (Morsel){NULL, 0, 1, 0};
	} else {
		size_t k = 0;
		for (int s = 0; s < nsegs; s++)
			for (size_t r = 0; x.segst[s].why == PRUNE_KEEP && r < snap->segs[s].rows; r += MORSEL_ROWS) {
				size_t end = r + MORSEL_ROWS;
				if (end > snap->segs[s].rows)
					end = snap->segs[s].rows;
				x.morsels[k++] = (Morsel){snap->segs[s].seg, r, end, s, snap->segs[s].file};
			}
	}
	x.nmorsels = (int)nm;
	for (size_t i = 0; i < nm; i++)
		arena_init(&x.outs[i].arena, 64 * 1024);

	/* an aggregation over more morsels than threads: one task (one
	 * group table, one expression context) per thread */
	size_t nt = nm;
	if (p->is_agg && nm > 1) {
		int pw = pool_size(pool_default());
		if (pw < 1)
			pw = 1;
		if (nm > (size_t)pw) {
			x.rnext = mem_calloc((size_t)pw, sizeof(*x.rnext));
			x.rend = mem_calloc((size_t)pw, sizeof(int));
			if (x.rnext == NULL || x.rend == NULL) {
				rc = err_set(e, ERR_NOMEM, "out of memory");
				goto out;
			}
			/* equal shares, each boundary moved to a segment's
			 * first morsel when one is within a quarter share */
			int prev = 0;
			for (int w = 0; w < pw; w++) {
				int b = (int)(nm * (size_t)(w + 1) / (size_t)pw);
				int q = (int)(nm / (size_t)pw / 4);
				if (w + 1 < pw) {
					for (int d = 0; d <= q; d++) {
						if (b - d > prev && x.morsels[b - d].segi != x.morsels[b - d - 1].segi) {
							b -= d;
							break;
						}
						if (b + d < (int)nm && b + d > prev &&
						    x.morsels[b + d].segi != x.morsels[b + d - 1].segi) {
							b += d;
							break;
						}
					}
				}
				atomic_init(&x.rnext[w], prev);
				x.rend[w] = b;
				prev = b;
			}
			x.nworkers = pw;
			nt = (size_t)pw;
		}
	}
	if (nt == 1)
		run_task(&x, 0);
	else if (nt > 1)
		pool_run(pool_default(), (int)nt, run_task, &x);

	for (size_t i = 0; i < nm; i++) {
		TaskOut *o = &x.outs[i];
		rs->stats.num_docs_scanned += o->docs;
		rs->stats.num_entries_scanned_in_filter += o->filter_entries;
		if (x.segst)
			x.segst[x.morsels[i].segi].docs += x.morsels[i].docs;
		if (o->err.code == ERR_CORRUPT && o->err_morsel >= 0 && x.morsels[o->err_morsel].file != NULL &&
		    snap->table != NULL)
			/* a damaged block: this query fails, later ones are
			 * served from the other segments */
			table_quarantine(snap->table, x.morsels[o->err_morsel].file, err_msg(&o->err));
		if (o->err.code != 0 && rc == 0) {
			*e = o->err;
			rc = o->err.code;
		}
	}
	if (rc != 0)
		goto out;

	if (p->is_agg) {
		GroupLimits gl = {x.max_groups, x.deadline_ns, x.timeout_ms};
		size_t first = 0;
		/* the first task's table becomes the global one (same group
		 * order as merging it into an empty table, no copy) */
		if (nm > 0 && x.outs[0].gt_init && groupby_adopt(&global, &x.outs[0].gt, &gl) == 0) {
			first = 1;
		} else if (groupby_init(&global, p, &gl, e) != 0) {
			rc = e->code;
			goto out;
		}
		have_global = 1;
		for (size_t i = first; i < nm; i++)
			if (x.outs[i].gt_init && (rc = groupby_merge(&global, &x.outs[i].gt, e)) != 0)
				goto out;
		if ((rc = finish_agg(&x, &global, &post, &rows, &nrows, e)) != 0)
			goto out;
	} else {
		size_t tot = 0;
		for (size_t i = 0; i < nm; i++)
			tot += x.outs[i].nrows;
		rows = mem_alloc(sizeof(Value *) * (tot ? tot : 1));
		if (rows == NULL) {
			rc = err_set(e, ERR_NOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < nm; i++) {
			if (x.outs[i].nrows == 0)
				continue;
			memcpy(rows + nrows, x.outs[i].rows, sizeof(Value *) * x.outs[i].nrows);
			nrows += x.outs[i].nrows;
		}
	}
	sort_rows(rows, nrows, p, p->nout);
	if (x.cancel && atomic_load(x.cancel)) {
		rc = err_set(e, ERR_CANCELED, "canceling statement due to user request");
		goto out;
	}
	if (nrows > 65536 && x.deadline_ns && clock_mono_ns() > x.deadline_ns) {
		/* a long sort: the limit holds before the result is copied */
		rc = err_set(e, ERR_TIMEOUT, "query timed out after %lld ms (sorting %zu rows)",
			     (long long)x.timeout_ms, nrows);
		goto out;
	}
	rs->stats.num_entries_scanned_post_filter = rs->stats.num_docs_scanned * (uint64_t)post_filter_cols(p);
	mem_budget_set(old);
	rc = build_result(&x, rows, nrows, lim->max_rows, rs, e);
	mem_budget_set(&x.budget);
out:
	if (rc == ERR_NOMEM && atomic_load(&x.budget.exceeded)) {
		char lb[48];
		err_reset(e, ERR_MEM_LIMIT,
			  "query exceeded its memory budget of %s; make it need less (fewer groups or "
			  "distinct values, a LIMIT, a narrower filter) or raise queryOptions maxMemoryBytes up "
			  "to the server's ceiling (waybill serve --query-memory)",
			  size_text(lb, sizeof(lb), x.mem_shown));
		rc = ERR_MEM_LIMIT;
	}
	mem_free(rows);
	if (have_global)
		groupby_free(&global);
	for (size_t i = 0; x.outs && i < nm; i++) {
		if (x.outs[i].gt_init)
			groupby_free(&x.outs[i].gt);
		mem_free(x.outs[i].rows);
		arena_free(&x.outs[i].arena);
	}
	arena_free(&post);
	mem_free(x.outs);
	mem_free(x.morsels);
	mem_free((void *)x.rnext);
	mem_free(x.rend);
	fill_stats(&x, snap, rs);
	for (int s = 0; x.segst && s < nsegs; s++)
		prune_index_free(&x.segst[s].ix);
	mem_free(x.segst);
	mem_free(x.dflt);
	mem_budget_set(old);
	return rc;
}
