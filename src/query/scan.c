/*
 * scan.c -- the scan operator: turns a row range of a mutable segment
 * into Batches of EXPR_BATCH rows for the columns the plan uses.
 *
 * LONG/TIMESTAMP/DOUBLE vectors point straight into the segment's chunks
 * (a batch never crosses a chunk: chunks are a multiple of EXPR_BATCH
 * rows and ranges start on a batch boundary); INT/BOOLEAN/FLOAT are
 * widened into the scan's buffers; strings stay dictionary ids; null
 * bitmaps become per-row flags only when the chunk has NULLs.  Buffers
 * are allocated once in scan_init and freed by scan_end.
 *
 * A segment file (scan_init_file) is read through one SegCursor per used
 * column, owned by the Scan (so by one task/thread).  Columns are found in
 * the file by name (Scan.fmap): a file keeps the columns it was written
 * with, and a column added to the table later reads as NULL from it (a
 * one-entry empty dictionary stands behind such string columns so every
 * consumer sees the usual file encodings).  A batch never crosses
 * a 65,536-row block, so fixed-width values come zero-copy from
 * segfile_cursor_get (widened like the MutSeg's); numeric dictionary ids
 * are gathered into values; string ids stay as ids (Vec.ids, Vec.fdict:
 * predicates run per dictionary entry) and are also resolved to
 * pointers into the mapping (VEC_STR) for consumers that know no file
 * dictionaries (except for columns the plan only uses in predicates
 * exprvec answers from ids: exprvec_dict_pred).  Multi-value rows become batch-local element ranges
 * (Vec.mvoff/mvcnt) over an element buffer per column that only grows
 * (so no allocation once it fits the largest batch).  A damaged block is
 * the reader's ERR_CORRUPT (naming file, column and block), returned by
 * scan_next and recorded in the scan's Err.  With Scan.selbits (rows an
 * index selected, or an upsert segment's valid rows; files and mutable
 * segments alike), batches holding no selected row are skipped before
 * any column is read.
 *
 * Exports: scan_init, scan_init_file, scan_next, scan_end.
 */
#include "query/scan.h"
#include "base/mem.h"

#include <string.h>

#define B EXPR_BATCH

int
scan_init(Scan *s, const Plan *p, const MutSeg *seg, size_t begin, size_t end, Err *e)
{
	memset(s, 0, sizeof(*s));
	s->p = p;
	s->seg = seg;
	s->row = begin;
	s->end = end;
	s->err = e;
	int nc = p->tab.ncols;
	s->batch.ncols = nc;
	s->batch.cols = mem_calloc((size_t)(nc > 0 ? nc : 1), sizeof(Vec));
	s->ibuf = mem_alloc(sizeof(int64_t) * EXPR_BATCH * (size_t)(nc > 0 ? nc : 1));
	s->dbuf = mem_alloc(sizeof(double) * EXPR_BATCH * (size_t)(nc > 0 ? nc : 1));
	s->nbuf = mem_alloc((size_t)EXPR_BATCH * (size_t)(nc > 0 ? nc : 1));
	if (s->batch.cols == NULL || s->ibuf == NULL || s->dbuf == NULL || s->nbuf == NULL) {
		scan_end(s);
		return err_set(e, ERR_NOMEM, "out of memory starting a scan");
	}
	return 0;
}

static void
fill(Scan *s, int c, size_t row, int n)
{
	const MutCol *mc = mutseg_col(s->seg, c);
	Vec *v = &s->batch.cols[c];
	WbType t = mutcol_type(mc);
	memset(v, 0, sizeof(*v));
	v->type = t;
	if (mutcol_is_mv(mc)) {
		v->enc = VEC_MV;
		v->col = mc;
		v->row0 = row;
	} else {
		const void *data = mutcol_data(mc, row);
		int64_t *ib = s->ibuf + (size_t)c * EXPR_BATCH;
		double *db = s->dbuf + (size_t)c * EXPR_BATCH;
		switch (t) {
		case TYPE_INT:
		case TYPE_BOOLEAN: {
			const int32_t *src = data;
			for (int k = 0; k < n; k++)
				ib[k] = src[k];
			v->enc = VEC_I64;
			v->i = ib;
			break;
		}
		case TYPE_LONG:
		case TYPE_TIMESTAMP:
			v->enc = VEC_I64;
			v->i = data;
			break;
		case TYPE_FLOAT: {
			const float *src = data;
			for (int k = 0; k < n; k++)
				db[k] = src[k];
			v->enc = VEC_F64;
			v->d = db;
			break;
		}
		case TYPE_DOUBLE:
			v->enc = VEC_F64;
			v->d = data;
			break;
		default:
			v->enc = VEC_DICT;
			v->ids = data;
			v->col = mc;
			break;
		}
	}
	const uint64_t *w = s->ignore_nulls ? NULL : mutcol_nulls(mc, row);
	if (w != NULL) {
		uint8_t *nb = s->nbuf + (size_t)c * EXPR_BATCH;
		/* the writer may be setting bits of unpublished rows in the
		 * same words: load each word atomically, once */
		uint64_t words[(EXPR_BATCH + 63) / 64];
		uint64_t any = 0;
		for (int k = 0; k < (n + 63) / 64; k++) {
			words[k] = __atomic_load_n(&w[k], __ATOMIC_RELAXED);
			any |= words[k];
		}
		if (any) {
			for (int k = 0; k < n; k++)
				nb[k] = (uint8_t)((words[k >> 6] >> (k & 63)) & 1);
			v->nulls = nb;
		}
	}
}

/* Marks the columns x reads other than as the subject of a predicate
 * evaluated per dictionary entry. */
static void
mark_str(const Expr *x, uint8_t *need, int ncols)
{
	if (x == NULL)
		return;
	if (x->kind == EXPR_COL) {
		if (x->col >= 0 && x->col < ncols)
			need[x->col] = 1;
		return;
	}
	if (exprvec_dict_pred(x))
		return;		/* the other arguments are constants */
	int n = x->kind == EXPR_IN && x->aux == 1 ? 1 : x->nargs;	/* a list of constants */
	for (int k = 0; k < n; k++)
		mark_str(x->args[k], need, ncols);
}

int
scan_init_file(Scan *s, const Plan *p, const SegFile *f, size_t begin, size_t end, Err *e)
{
	int rc = scan_init(s, p, NULL, begin, end, e);
	if (rc != 0)
		return rc;
	SegFile *sf = (SegFile *)f;	/* the reader's cursors need it mutable */
	size_t nc = (size_t)(p->tab.ncols > 0 ? p->tab.ncols : 1);
	s->file = sf;
	s->cur = mem_calloc(nc, sizeof(SegCursor));
	s->dict = mem_calloc(nc, sizeof(SegDict));
	s->sbuf = mem_alloc(nc * B * sizeof(char *));
	s->lbuf = mem_alloc(nc * B * sizeof(uint32_t));
	s->mvoff = mem_alloc(nc * B * sizeof(uint32_t));
	s->mvcnt = mem_alloc(nc * B * sizeof(uint32_t));
	s->mvst = mem_alloc(B * sizeof(uint64_t));
	s->ebuf = mem_calloc(nc, sizeof(void *));
	s->rbuf = mem_calloc(nc, sizeof(void *));
	s->ecap = mem_calloc(nc, sizeof(size_t));
	s->need_str = mem_calloc(nc, 1);
	s->fmap = mem_alloc(nc * sizeof(int));
	if (s->fmap == NULL || s->need_str == NULL || s->cur == NULL || s->dict == NULL || s->sbuf == NULL || s->lbuf == NULL ||
	    s->mvoff == NULL || s->mvcnt == NULL || s->mvst == NULL || s->ebuf == NULL ||
	    s->rbuf == NULL || s->ecap == NULL) {
		scan_end(s);
		return err_set(e, ERR_NOMEM, "out of memory starting a scan");
	}
	mark_str(p->where, s->need_str, p->tab.ncols);
	for (int k = 0; k < p->ngroup; k++)
		mark_str(p->group[k], s->need_str, p->tab.ncols);
	for (int k = 0; k < p->nagg; k++) {
		mark_str(p->aggs[k].arg, s->need_str, p->tab.ncols);
		mark_str(p->aggs[k].filter, s->need_str, p->tab.ncols);
		mark_str(p->aggs[k].arg2, s->need_str, p->tab.ncols);
	}
	if (!p->is_agg) {
		for (int k = 0; k < p->nout; k++)
			mark_str(p->out[k], s->need_str, p->tab.ncols);
		for (int k = 0; k < p->norder; k++)
			mark_str(p->order[k], s->need_str, p->tab.ncols);
	}
	const SegMeta *m = segfile_meta(sf);
	for (int c = 0; c < p->tab.ncols; c++) {
		if (!p->used[c])
			continue;
		const BindCol *bc = &p->tab.cols[c];
		int fc = segfile_col_find(sf, bc->name);
		s->fmap[c] = fc;
		if (fc < 0) {
			/* added after the file was written: NULL in every row */
			static const uint32_t empty_offs[2] = {0, 0};
			s->dict[c] = (SegDict){bc->type, 1, empty_offs, "", NULL};
			memset(s->nbuf + (size_t)c * B, 1, B);
			continue;
		}
		const SegColInfo *ci = segfile_col(sf, fc);
		if (ci == NULL || ci->type != bc->type || !ci->mv != !bc->mv) {
			rc = err_set(e, ERR_INVALID, "segment file %s: column %s has another type than the table's",
				     segfile_path(sf), bc->name);
			break;
		}
		segfile_cursor_init(&s->cur[c], sf, fc);
		if (ci->has_dict && (rc = segfile_dict(sf, fc, &s->dict[c], e)) != 0)
			break;
	}
	if (end > m->nrows && rc == 0)
		rc = err_set(e, ERR_INVALID, "segment file %s has %llu rows, not %zu", segfile_path(sf),
			     (unsigned long long)m->nrows, end);
	if (rc != 0) {
		scan_end(s);
		return rc;
	}
	s->seg = NULL;
	return 0;
}

/* Makes the element buffers of column c hold n elements. */
static int
grow_elems(Scan *s, int c, size_t n)
{
	if (n <= s->ecap[c])
		return 0;
	size_t cap = n < 4096 ? 4096 : n + n / 2;
	void *a = mem_realloc(s->ebuf[c], cap * 8);
	if (a == NULL)
		return err_set(s->err, ERR_NOMEM, "out of memory scanning %s", segfile_path(s->file));
	s->ebuf[c] = a;
	void *b = mem_realloc(s->rbuf[c], cap * 8);
	if (b == NULL)
		return err_set(s->err, ERR_NOMEM, "out of memory scanning %s", segfile_path(s->file));
	s->rbuf[c] = b;
	s->ecap[c] = cap;
	return 0;
}

static inline int64_t
dict_i64(const SegDict *d, uint32_t id)
{
	int64_t x;
	memcpy(&x, d->nums + (size_t)id * 8, 8);
	return x;
}

static inline double
dict_f64(const SegDict *d, uint32_t id)
{
	double x;
	memcpy(&x, d->nums + (size_t)id * 8, 8);
	return x;
}

/* n numbers of type t (ids of dictionary d when d != NULL, else raw
 * type_width() values) into int64_t (integers) or double (floats). */
static void
widen(WbType t, const SegDict *d, const void *src, size_t n, int64_t *ib, double *db)
{
	if (d != NULL) {
		const uint32_t *ids = src;
		if (type_is_float(t))
			for (size_t k = 0; k < n; k++)
				db[k] = dict_f64(d, ids[k]);
		else
			for (size_t k = 0; k < n; k++)
				ib[k] = dict_i64(d, ids[k]);
		return;
	}
	switch (t) {
	case TYPE_INT:
	case TYPE_BOOLEAN:
		for (size_t k = 0; k < n; k++)
			ib[k] = ((const int32_t *)src)[k];
		break;
	case TYPE_FLOAT:
		for (size_t k = 0; k < n; k++)
			db[k] = ((const float *)src)[k];
		break;
	case TYPE_DOUBLE:
		memcpy(db, src, n * sizeof(double));
		break;
	default:
		memcpy(ib, src, n * sizeof(int64_t));
		break;
	}
}

static int
fill_file_mv(Scan *s, int c, const SegColInfo *ci, Vec *v, size_t row, int n)
{
	SegCursor *cur = &s->cur[c];
	uint32_t *cnt = s->mvcnt + (size_t)c * B, *off = s->mvoff + (size_t)c * B;
	uint64_t *st = s->mvst;
	int rc = segfile_read_mv(cur, row, (size_t)n, st, cnt, s->err);
	if (rc != 0)
		return rc;
	uint64_t e0 = st[0], e1 = e0;
	for (int k = 0; k < n; k++) {
		if (st[k] < e0 || st[k] - e0 > UINT32_MAX)
			return err_set(s->err, ERR_CORRUPT, "segment file %s: column %s: element ranges out of order near row %zu",
				       segfile_path(s->file), ci->name, row);
		off[k] = (uint32_t)(st[k] - e0);
		if (st[k] + cnt[k] > e1)
			e1 = st[k] + cnt[k];
	}
	size_t tot = (size_t)(e1 - e0);
	if ((rc = grow_elems(s, c, tot)) != 0)
		return rc;
	WbType t = ci->type;
	if (tot > 0) {
		int var = type_is_var(t);
		int direct = var || (!ci->has_dict && type_width(t) == 8);
		void *dst = direct ? s->ebuf[c] : s->rbuf[c];
		if ((rc = segfile_read_elems(cur, e0, tot, dst, s->err)) != 0)
			return rc;
		if (!direct)
			widen(t, ci->has_dict ? &s->dict[c] : NULL, dst, tot, s->ebuf[c], s->ebuf[c]);
	}
	v->enc = VEC_MV;
	v->mvoff = off;
	v->mvcnt = cnt;
	v->elems = s->ebuf[c];
	v->fdict = ci->has_dict ? &s->dict[c] : NULL;
	return 0;
}

/* A column the file lacks: n NULLs in the usual file encodings, holding
 * the column's default null value (what rows stored before the column
 * existed read as when NULL handling is off, as in a mutable segment). */
static void
fill_missing(Scan *s, int c, int n)
{
	static const uint32_t zero_ids[B];
	Vec *v = &s->batch.cols[c];
	WbType t = s->p->tab.cols[c].type;
	size_t off = (size_t)c * B;
	const Value *d = s->dflt && s->dflt[c].type == (uint8_t)t && !s->dflt[c].mv ? &s->dflt[c] : NULL;
	memset(v, 0, sizeof(*v));
	v->type = t;
	if (s->p->tab.cols[c].mv) {
		memset(s->mvoff + off, 0, (size_t)n * sizeof(uint32_t));
		memset(s->mvcnt + off, 0, (size_t)n * sizeof(uint32_t));
		v->enc = VEC_MV;
		v->mvoff = s->mvoff + off;
		v->mvcnt = s->mvcnt + off;
		v->fdict = type_is_var(t) ? &s->dict[c] : NULL;
	} else if (type_is_var(t)) {
		for (int k = 0; k < n; k++) {
			s->sbuf[off + (size_t)k] = d ? d->u.s : "";
			s->lbuf[off + (size_t)k] = d ? d->n : 0;
		}
		v->enc = VEC_STR;
		v->s = s->sbuf + off;
		v->slen = s->lbuf + off;
		if (d == NULL) {
			v->ids = zero_ids;
			v->fdict = &s->dict[c];
		}
	} else if (type_is_float(t)) {
		for (int k = 0; k < n; k++)
			s->dbuf[off + (size_t)k] = d ? d->u.d : 0;
		v->enc = VEC_F64;
		v->d = s->dbuf + off;
	} else {
		for (int k = 0; k < n; k++)
			s->ibuf[off + (size_t)k] = d ? d->u.i : 0;
		v->enc = VEC_I64;
		v->i = s->ibuf + off;
	}
	/* NULL handling off: the default value shows, as for a mutable
	 * segment's rows that got the column as NULL */
	v->nulls = s->ignore_nulls && d ? NULL : s->nbuf + off;
}

static int
fill_file(Scan *s, int c, size_t row, int n)
{
	if (s->fmap[c] < 0) {
		fill_missing(s, c, n);
		return 0;
	}
	const SegColInfo *ci = segfile_col(s->file, s->fmap[c]);
	SegCursor *cur = &s->cur[c];
	Vec *v = &s->batch.cols[c];
	WbType t = ci->type;
	int rc;
	memset(v, 0, sizeof(*v));
	v->type = t;
	if (ci->mv) {
		if ((rc = fill_file_mv(s, c, ci, v, row, n)) != 0)
			return rc;
	} else {
		const void *data;
		if ((rc = segfile_cursor_get(cur, row, (size_t)n, &data, s->err)) != 0)
			return rc;
		int64_t *ib = s->ibuf + (size_t)c * B;
		double *db = s->dbuf + (size_t)c * B;
		if (type_is_var(t)) {
			/* ids were checked against the dictionary size when the
			 * block was decoded */
			const SegDict *d = &s->dict[c];
			const uint32_t *ids = data;
			if (s->need_str[c]) {
				const char **sp = s->sbuf + (size_t)c * B;
				uint32_t *lp = s->lbuf + (size_t)c * B;
				for (int k = 0; k < n; k++) {
					uint32_t o = d->offs[ids[k]];
					sp[k] = d->bytes + o;
					lp[k] = d->offs[ids[k] + 1] - o;
				}
				v->s = sp;
				v->slen = lp;
			}
			v->enc = VEC_STR;
			v->ids = ids;
			v->fdict = d;
		} else if (!ci->has_dict && (t == TYPE_LONG || t == TYPE_TIMESTAMP)) {
			v->enc = VEC_I64;
			v->i = data;
		} else if (!ci->has_dict && t == TYPE_DOUBLE) {
			v->enc = VEC_F64;
			v->d = data;
		} else {
			widen(t, ci->has_dict ? &s->dict[c] : NULL, data, (size_t)n, ib, db);
			v->enc = type_is_float(t) ? VEC_F64 : VEC_I64;
			v->i = ib;
			v->d = db;
		}
	}
	if (s->ignore_nulls || ci->null_count == 0)
		return 0;
	uint64_t words[(B + 63) / 64];
	int any = 0;
	if ((rc = segfile_read_nulls(cur, row, (size_t)n, words, &any, s->err)) != 0)
		return rc;
	if (any) {
		uint8_t *nb = s->nbuf + (size_t)c * B;
		for (int k = 0; k < n; k++)
			nb[k] = (uint8_t)((words[k >> 6] >> (k & 63)) & 1);
		v->nulls = nb;
	}
	return 0;
}

/* 1 if a bit of rows [row, min(row + B, end)) is set (row is a
 * multiple of B, so of 64; bits past end are not looked at: an upsert
 * validity bitmap says nothing about rows past the snapshot's). */
static int
any_bit(const uint64_t *bits, size_t row, size_t end)
{
	size_t last = end < row + B ? end : row + B;
	size_t w0 = row / 64, w1 = last / 64;
	uint64_t acc = 0;
	for (size_t w = w0; w < w1; w++)
		acc |= bits[w];
	if (last & 63)
		acc |= bits[w1] & (((uint64_t)1 << (last & 63)) - 1);
	return acc != 0;
}

int
scan_next(Scan *s, const Batch **out)
{
	if (s->file != NULL) {
		if (s->selbits != NULL)
			while (s->row < s->end && !any_bit(s->selbits, s->row, s->end))
				s->row += B;
		if (s->row >= s->end)
			return 0;
		size_t left = s->end - s->row;
		int n = left < B ? (int)left : B;
		s->batch_row = s->row;
		for (int c = 0; c < s->p->tab.ncols; c++) {
			if (!s->p->used[c])
				continue;
			int rc = fill_file(s, c, s->row, n);
			if (rc != 0) {
				s->row = s->end;
				return rc;
			}
		}
		s->batch.n = n;
		s->row += (size_t)n;
		*out = &s->batch;
		return n;
	}
	if (s->seg == NULL) {
		if (s->row >= s->end)
			return 0;
		s->row = s->end;
		s->batch.n = 1;
		*out = &s->batch;
		return 1;
	}
	if (s->selbits != NULL)
		while (s->row < s->end && !any_bit(s->selbits, s->row, s->end))
			s->row += B;
	if (s->row >= s->end)
		return 0;
	size_t left = s->end - s->row;
	int n = left < EXPR_BATCH ? (int)left : EXPR_BATCH;
	s->batch_row = s->row;
	for (int c = 0; c < s->p->tab.ncols; c++)
		if (s->p->used[c])
			fill(s, c, s->row, n);
	s->batch.n = n;
	s->row += (size_t)n;
	*out = &s->batch;
	return n;
}

void
scan_end(Scan *s)
{
	if (s->cur != NULL)
		for (int c = 0; c < s->p->tab.ncols; c++)
			if (s->cur[c].sf != NULL)
				segfile_cursor_free(&s->cur[c]);
	if (s->ebuf != NULL)
		for (int c = 0; c < s->p->tab.ncols; c++) {
			mem_free(s->ebuf[c]);
			mem_free(s->rbuf[c]);
		}
	mem_free(s->cur);
	mem_free(s->dict);
	mem_free(s->sbuf);
	mem_free(s->lbuf);
	mem_free(s->mvoff);
	mem_free(s->mvcnt);
	mem_free(s->mvst);
	mem_free(s->ebuf);
	mem_free(s->rbuf);
	mem_free(s->ecap);
	mem_free(s->need_str);
	mem_free(s->fmap);
	s->fmap = NULL;
	s->need_str = NULL;
	s->cur = NULL;
	s->dict = NULL;
	s->sbuf = NULL;
	s->lbuf = NULL;
	s->mvoff = s->mvcnt = NULL;
	s->mvst = NULL;
	s->ebuf = s->rbuf = NULL;
	s->ecap = NULL;
	s->file = NULL;
	mem_free(s->batch.cols);
	mem_free(s->ibuf);
	mem_free(s->dbuf);
	mem_free(s->nbuf);
	s->batch.cols = NULL;
	s->ibuf = NULL;
	s->dbuf = NULL;
	s->nbuf = NULL;
}
