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
 * Exports: scan_init, scan_next, scan_end.
 */
#include "query/scan.h"
#include "base/mem.h"

#include <string.h>

int
scan_init(Scan *s, const Plan *p, const MutSeg *seg, size_t begin, size_t end, Err *e)
{
	memset(s, 0, sizeof(*s));
	s->p = p;
	s->seg = seg;
	s->row = begin;
	s->end = end;
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

int
scan_next(Scan *s, const Batch **out)
{
	if (s->seg == NULL) {
		if (s->row >= s->end)
			return 0;
		s->row = s->end;
		s->batch.n = 1;
		*out = &s->batch;
		return 1;
	}
	if (s->row >= s->end)
		return 0;
	size_t left = s->end - s->row;
	int n = left < EXPR_BATCH ? (int)left : EXPR_BATCH;
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
	mem_free(s->batch.cols);
	mem_free(s->ibuf);
	mem_free(s->dbuf);
	mem_free(s->nbuf);
	s->batch.cols = NULL;
	s->ibuf = NULL;
	s->dbuf = NULL;
	s->nbuf = NULL;
}
