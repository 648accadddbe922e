/*
 * agg.c -- the aggregate functions: COUNT(*), COUNT(x), SUM, MIN, MAX,
 * AVG, COUNT(DISTINCT x) (= Pinot's DISTINCTCOUNT) and MINMAXRANGE.
 *
 * Each is a table of functions over a fixed-size state (see agg.h).
 * NULL arguments are skipped; SUM/MIN/MAX/AVG of no rows is NULL, COUNT of
 * no rows is 0, as in PostgreSQL.  SUM of integers accumulates in int64
 * (wrapping silently on overflow, a documented limit), of floats in
 * double.
 *
 * COUNT(DISTINCT) keeps a hash set of 64-bit keys: integers and doubles by
 * value (exact), strings by their 64-bit hash (exact up to hash
 * collisions, probability ~n^2/2^65).  The set is allocated with mem_*
 * (charged to the query's budget), owned by the state, freed by destroy.
 * Serialized form: u64 count, then the keys.
 *
 * Pinot's multi-value forms (countMV, sumMV, minMV, maxMV, avgMV,
 * minMaxRangeMV, distinctCountMV, percentileMV, percentileEstMV,
 * percentileTDigestMV, distinctCountHLLMV) read every element of the
 * row's array (VEC_MV: element ranges of the segment's column, read with
 * exprvec_mv_range / exprvec_elem, so mutable segments and segment files
 * alike) into the same states as their single-value forms; as in Pinot,
 * the numeric ones work in double and return DOUBLE.
 *
 * PERCENTILE(x, p) is exact: the state keeps every value (a growable
 * array through mem_*), finalize sorts them and picks Pinot's element,
 * index floor(n * p / 100) clamped to n - 1.  PERCENTILEEST (LONG result,
 * Pinot uses a q-digest there) and PERCENTILETDIGEST (DOUBLE) use a
 * merging t-digest (compression 100, at most 512 centroids plus a
 * 512-value buffer: ~32 KB per group, allocated on the first value);
 * centroids of weight 1 are exact values, so small inputs give exact
 * answers.  The percentile p is given to the state by setparam right
 * after init (the plan keeps it in PlanAgg.param).
 *
 * DISTINCTCOUNTHLL / approx_count_distinct: a HyperLogLog of 2^12 one-byte
 * registers, allocated on the first value (NULL pointer = empty), merged
 * register-wise by max, estimated with the usual bias-corrected harmonic
 * mean and linear counting for small cardinalities.  Serialized: u8 0
 * (empty) or 1 then the 4096 registers.
 *
 * DISTINCTCOUNTTHETASKETCH: a KMV theta sketch -- the 4,096 smallest
 * 64-bit hashes below a threshold lim (0 = none yet: exact); when more
 * than 8,192 are held, only the 4,096 smallest stay and lim becomes the
 * next one; estimate = kept / (lim / 2^64).  Union = keep the hashes
 * below the smaller lim.  Serialized: lim, then the DISTINCT form.
 *
 * Exports: agg_func, agg_lookup, agg_result_type, agg_is_mv, agg_is_two_arg,
 * agg_update2.
 */
#include "query/agg.h"

#include <stddef.h>
#include "base/hash.h"
#include "base/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ROW(k) (sel ? sel[k] : (k))
#define ST(T, r) ((T *)(states + (size_t)(gidx ? gidx[r] : 0) * sizeof(T)))

static inline int
isnull(const Vec *v, int r)
{
	return v->nulls != NULL && v->nulls[r];
}

static inline double
vd(const Vec *v, int r)
{
	return v->enc == VEC_F64 ? v->d[r] : (double)v->i[r];
}

/* ---- COUNT ---- */

typedef struct { int64_t n; } CountSt;

static void count_init(void *st) { ((CountSt *)st)->n = 0; }

static int
count_star_update(char *states, const uint32_t *gidx, const Vec *arg, const uint16_t *sel, int nsel)
{
	if (gidx == NULL) {
		((CountSt *)states)->n += nsel;
		return 0;
	}
	for (int k = 0; k < nsel; k++)
		ST(CountSt, ROW(k))->n++;
	return 0;
}

static int
count_update(char *states, const uint32_t *gidx, const Vec *arg, const uint16_t *sel, int nsel)
{
	if (arg->nulls == NULL)
		return count_star_update(states, gidx, arg, sel, nsel);
	for (int k = 0; k < nsel; k++) {
		int r = ROW(k);
		ST(CountSt, r)->n += !arg->nulls[r];
	}
	return 0;
}

static int
count_merge(void *d, const void *s)
{
	((CountSt *)d)->n += ((const CountSt *)s)->n;
	return 0;
}

static void
count_final(const void *st, WbType t, Value *out)
{
	*out = value_int(TYPE_LONG, ((const CountSt *)st)->n);
}

static void
raw_ser(const void *st, size_t n, Buf *out)
{
	buf_append(out, st, n);
}

static int
raw_de(void *st, size_t sz, const char *p, size_t n, size_t *used, Err *e)
{
	if (n < sz)
		return err_set(e, ERR_CORRUPT, "aggregate state truncated");
	memcpy(st, p, sz);
	*used = sz;
	return 0;
}

static void count_ser(const void *st, Buf *o) { raw_ser(st, sizeof(CountSt), o); }
static int count_de(void *st, const char *p, size_t n, size_t *u, Err *e) { return raw_de(st, sizeof(CountSt), p, n, u, e); }

/* ---- SUM ---- */

typedef struct { int64_t i; double d; int64_t has; } SumSt;

static void sum_init(void *st) { memset(st, 0, sizeof(SumSt)); }

static int
sum_update(char *states, const uint32_t *gidx, const Vec *a, const uint16_t *sel, int nsel)
{
	if (gidx == NULL && a->nulls == NULL) {
		SumSt *s = (SumSt *)states;
		if (a->enc == VEC_I64) {
			uint64_t acc = 0;
			if (sel == NULL)
				for (int r = 0; r < nsel; r++)
					acc += (uint64_t)a->i[r];
			else
				for (int k = 0; k < nsel; k++)
					acc += (uint64_t)a->i[sel[k]];
			s->i = (int64_t)((uint64_t)s->i + acc);
		} else {
			double acc = 0;
			for (int k = 0; k < nsel; k++)
				acc += a->d[ROW(k)];
			s->d += acc;
		}
		s->has |= nsel > 0;
		return 0;
	}
	for (int k = 0; k < nsel; k++) {
		int r = ROW(k);
		if (isnull(a, r))
			continue;
		SumSt *s = ST(SumSt, r);
		if (a->enc == VEC_I64)
			s->i = (int64_t)((uint64_t)s->i + (uint64_t)a->i[r]);
		else
			s->d += a->d[r];
		s->has = 1;
	}
	return 0;
}

static int
sum_merge(void *dv, const void *sv)
{
	SumSt *d = dv;
	const SumSt *s = sv;
	d->i = (int64_t)((uint64_t)d->i + (uint64_t)s->i);
	d->d += s->d;
	d->has |= s->has;
	return 0;
}

static void
sum_final(const void *st, WbType t, Value *out)
{
	const SumSt *s = st;
	if (!s->has)
		*out = value_null(t);
	else if (t == TYPE_DOUBLE)
		*out = value_double(t, s->d + (double)s->i);
	else
		*out = value_int(t, s->i);
}

static void sum_ser(const void *st, Buf *o) { raw_ser(st, sizeof(SumSt), o); }
static int sum_de(void *st, const char *p, size_t n, size_t *u, Err *e) { return raw_de(st, sizeof(SumSt), p, n, u, e); }

/* ---- MIN / MAX ---- */

typedef struct { int64_t i; double d; int64_t has; } MmSt;

static void mm_init(void *st) { memset(st, 0, sizeof(MmSt)); }

static inline void
mm_put(MmSt *s, const Vec *a, int r, int max)
{
	if (a->enc == VEC_I64) {
		int64_t x = a->i[r];
		if (!s->has || (max ? x > s->i : x < s->i))
			s->i = x;
	} else {
		double x = a->d[r];
		if (!s->has || (max ? x > s->d : x < s->d))
			s->d = x;
	}
	s->has = 1;
}

static int
min_update(char *states, const uint32_t *gidx, const Vec *a, const uint16_t *sel, int nsel)
{
	for (int k = 0; k < nsel; k++) {
		int r = ROW(k);
		if (!isnull(a, r))
			mm_put(ST(MmSt, r), a, r, 0);
	}
	return 0;
}

static int
max_update(char *states, const uint32_t *gidx, const Vec *a, const uint16_t *sel, int nsel)
{
	for (int k = 0; k < nsel; k++) {
		int r = ROW(k);
		if (!isnull(a, r))
			mm_put(ST(MmSt, r), a, r, 1);
	}
	return 0;
}

static int
mm_merge(void *dv, const void *sv, int max)
{
	MmSt *d = dv;
	const MmSt *s = sv;
	if (!s->has)
		return 0;
	if (!d->has) {
		*d = *s;
		return 0;
	}
	if (max ? s->i > d->i : s->i < d->i)
		d->i = s->i;
	if (max ? s->d > d->d : s->d < d->d)
		d->d = s->d;
	return 0;
}

static int min_merge(void *d, const void *s) { return mm_merge(d, s, 0); }
static int max_merge(void *d, const void *s) { return mm_merge(d, s, 1); }

static void
mm_final(const void *st, WbType t, Value *out)
{
	const MmSt *s = st;
	if (!s->has)
		*out = value_null(t);
	else if (type_is_float(t))
		*out = value_double(t, s->d);
	else
		*out = value_int(t, s->i);
}

static void mm_ser(const void *st, Buf *o) { raw_ser(st, sizeof(MmSt), o); }
static int mm_de(void *st, const char *p, size_t n, size_t *u, Err *e) { return raw_de(st, sizeof(MmSt), p, n, u, e); }

/* ---- AVG ---- */

typedef struct { double sum; int64_t n; } AvgSt;

static void avg_init(void *st) { memset(st, 0, sizeof(AvgSt)); }

static int
avg_update(char *states, const uint32_t *gidx, const Vec *a, const uint16_t *sel, int nsel)
{
	for (int k = 0; k < nsel; k++) {
		int r = ROW(k);
		if (isnull(a, r))
			continue;
		AvgSt *s = ST(AvgSt, r);
		s->sum += vd(a, r);
		s->n++;
	}
	return 0;
}

static int
avg_merge(void *dv, const void *sv)
{
	AvgSt *d = dv;
	const AvgSt *s = sv;
	d->sum += s->sum;
	d->n += s->n;
	return 0;
}

static void
avg_final(const void *st, WbType t, Value *out)
{
	const AvgSt *s = st;
	*out = s->n ? value_double(TYPE_DOUBLE, s->sum / (double)s->n) : value_null(TYPE_DOUBLE);
}

static void avg_ser(const void *st, Buf *o) { raw_ser(st, sizeof(AvgSt), o); }
static int avg_de(void *st, const char *p, size_t n, size_t *u, Err *e) { return raw_de(st, sizeof(AvgSt), p, n, u, e); }

/* ---- MINMAXRANGE ---- */

typedef struct { double lo, hi; int64_t has; } RangeSt;

static void range_init(void *st) { memset(st, 0, sizeof(RangeSt)); }

static int
range_update(char *states, const uint32_t *gidx, const Vec *a, const uint16_t *sel, int nsel)
{
	for (int k = 0; k < nsel; k++) {
		int r = ROW(k);
		if (isnull(a, r))
			continue;
		RangeSt *s = ST(RangeSt, r);
		double x = vd(a, r);
		if (!s->has || x < s->lo)
			s->lo = x;
		if (!s->has || x > s->hi)
			s->hi = x;
		s->has = 1;
	}
	return 0;
}

static int
range_merge(void *dv, const void *sv)
{
	RangeSt *d = dv;
	const RangeSt *s = sv;
	if (!s->has)
		return 0;
	if (!d->has || s->lo < d->lo)
		d->lo = s->lo;
	if (!d->has || s->hi > d->hi)
		d->hi = s->hi;
	d->has = 1;
	return 0;
}

static void
range_final(const void *st, WbType t, Value *out)
{
	const RangeSt *s = st;
	*out = s->has ? value_double(TYPE_DOUBLE, s->hi - s->lo) : value_null(TYPE_DOUBLE);
}

static void range_ser(const void *st, Buf *o) { raw_ser(st, sizeof(RangeSt), o); }
static int range_de(void *st, const char *p, size_t n, size_t *u, Err *e) { return raw_de(st, sizeof(RangeSt), p, n, u, e); }

/* ---- COUNT(DISTINCT) ---- */

typedef struct HSet {
	uint64_t *keys;		/* 0 = empty slot */
	size_t cap, n;
	int has_zero;
} HSet;

typedef struct { HSet *set; } DistSt;

static void dist_init(void *st) { ((DistSt *)st)->set = NULL; }

static int
hset_add(HSet *h, uint64_t k)
{
	if (k == 0) {
		h->has_zero = 1;
		return 0;
	}
	if ((h->n + 1) * 2 > h->cap) {
		size_t ncap = h->cap ? h->cap * 2 : 64;
		uint64_t *nk = mem_calloc(ncap, sizeof(uint64_t));
		if (nk == NULL)
			return ERR_NOMEM;
		for (size_t i = 0; i < h->cap; i++) {
			uint64_t x = h->keys[i];
			if (x == 0)
				continue;
			size_t j = hash_u64(x) & (ncap - 1);
			while (nk[j] != 0)
				j = (j + 1) & (ncap - 1);
			nk[j] = x;
		}
		mem_free(h->keys);
		h->keys = nk;
		h->cap = ncap;
	}
	size_t j = hash_u64(k) & (h->cap - 1);
	while (h->keys[j] != 0) {
		if (h->keys[j] == k)
			return 0;
		j = (j + 1) & (h->cap - 1);
	}
	h->keys[j] = k;
	h->n++;
	return 0;
}

static HSet *
dist_set(DistSt *s)
{
	if (s->set == NULL)
		s->set = mem_calloc(1, sizeof(HSet));
	return s->set;
}

static int
dist_update(char *states, const uint32_t *gidx, const Vec *a, const uint16_t *sel, int nsel)
{
	for (int k = 0; k < nsel; k++) {
		int r = ROW(k);
		if (isnull(a, r))
			continue;
		uint64_t key;
		switch (a->enc) {
		case VEC_I64:
			key = (uint64_t)a->i[r];
			break;
		case VEC_F64: {
			double d = a->d[r] == 0 ? 0.0 : a->d[r];
			memcpy(&key, &d, 8);
			break;
		}
		case VEC_STR:
			key = hash_bytes(a->s[r], a->slen[r]);
			break;
		case VEC_DICT: {
			uint32_t len = 0;
			const char *p = exprvec_dict_get(a, a->ids[r], &len);
			key = hash_bytes(p ? p : "", p ? len : 0);
			break;
		}
		default:
			return ERR_UNSUPPORTED;
		}
		HSet *h = dist_set(ST(DistSt, r));
		if (h == NULL || hset_add(h, key) != 0)
			return ERR_NOMEM;
	}
	return 0;
}

static int
dist_merge(void *dv, const void *sv)
{
	const DistSt *s = sv;
	if (s->set == NULL)
		return 0;
	HSet *h = dist_set(dv);
	if (h == NULL)
		return ERR_NOMEM;
	if (s->set->has_zero)
		h->has_zero = 1;
	for (size_t i = 0; i < s->set->cap; i++)
		if (s->set->keys[i] != 0 && hset_add(h, s->set->keys[i]) != 0)
			return ERR_NOMEM;
	return 0;
}

static void
dist_final(const void *st, WbType t, Value *out)
{
	const HSet *h = ((const DistSt *)st)->set;
	*out = value_int(TYPE_LONG, h ? (int64_t)h->n + h->has_zero : 0);
}

static void
dist_ser(const void *st, Buf *o)
{
	const HSet *h = ((const DistSt *)st)->set;
	uint64_t n = h ? h->n + (uint64_t)h->has_zero : 0;
	buf_append(o, &n, 8);
	if (h == NULL)
		return;
	if (h->has_zero) {
		uint64_t z = 0;
		buf_append(o, &z, 8);
	}
	for (size_t i = 0; i < h->cap; i++)
		if (h->keys[i] != 0)
			buf_append(o, &h->keys[i], 8);
}

static int
dist_de(void *st, const char *p, size_t n, size_t *used, Err *e)
{
	uint64_t cnt;
	DistSt *s = st;
	if (n < 8)
		return err_set(e, ERR_CORRUPT, "distinct state truncated");
	memcpy(&cnt, p, 8);
	if (cnt > (n - 8) / 8)
		return err_set(e, ERR_CORRUPT, "distinct state truncated");
	for (uint64_t i = 0; i < cnt; i++) {
		uint64_t k;
		memcpy(&k, p + 8 + i * 8, 8);
		HSet *h = dist_set(s);
		if (h == NULL || hset_add(h, k) != 0)
			return err_set(e, ERR_NOMEM, "out of memory");
	}
	*used = 8 + cnt * 8;
	return 0;
}

static void
dist_destroy(void *st)
{
	DistSt *s = st;
	if (s->set) {
		mem_free(s->set->keys);
		mem_free(s->set);
		s->set = NULL;
	}
}

/* ---- multi-value element access ---- */

static inline double
elem_d(const Vec *a, uint64_t i)
{
	Value x = exprvec_elem(a, i);
	return type_is_float(a->type) ? x.u.d : (double)x.u.i;
}

/* 64-bit distinct key of element i, as dist_update keys single values. */
static inline uint64_t
elem_key(const Vec *a, uint64_t i)
{
	Value x = exprvec_elem(a, i);
	uint64_t key;
	if (type_is_var(a->type))
		return hash_bytes(x.u.s ? x.u.s : "", x.u.s ? x.n : 0);
	if (type_is_float(a->type)) {
		double d = x.u.d == 0 ? 0.0 : x.u.d;
		memcpy(&key, &d, 8);
		return key;
	}
	return (uint64_t)x.u.i;
}

/* Key of single value r (same keys as elem_key); -1 = unsupported. */
static inline int
sv_key(const Vec *a, int r, uint64_t *key)
{
	switch (a->enc) {
	case VEC_I64:
		*key = (uint64_t)a->i[r];
		return 0;
	case VEC_F64: {
		double d = a->d[r] == 0 ? 0.0 : a->d[r];
		memcpy(key, &d, 8);
		return 0;
	}
	case VEC_STR:
		*key = hash_bytes(a->s[r], a->slen[r]);
		return 0;
	case VEC_DICT: {
		uint32_t len = 0;
		const char *p = exprvec_dict_get(a, a->ids[r], &len);
		*key = hash_bytes(p ? p : "", p ? len : 0);
		return 0;
	}
	default:
		return -1;
	}
}

typedef int (*PutD)(void *st, double x);
typedef int (*PutK)(void *st, uint64_t k);

/* Calls put for every element of every selected non-NULL MV row. */
static int
mv_each_d(char *states, size_t ssz, const uint32_t *gidx, const Vec *a, const uint16_t *sel,
	  int nsel, PutD put)
{
	if (a->enc != VEC_MV)
		return ERR_TYPE;
	for (int k = 0; k < nsel; k++) {
		int r = ROW(k);
		if (isnull(a, r))
			continue;
		uint64_t st;
		uint32_t n;
		exprvec_mv_range(a, r, &st, &n);
		void *s = states + (size_t)(gidx ? gidx[r] : 0) * ssz;
		for (uint32_t j = 0; j < n; j++) {
			int rc = put(s, elem_d(a, st + j));
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

static int
mv_each_k(char *states, size_t ssz, const uint32_t *gidx, const Vec *a, const uint16_t *sel,
	  int nsel, PutK put)
{
	if (a->enc != VEC_MV)
		return ERR_TYPE;
	for (int k = 0; k < nsel; k++) {
		int r = ROW(k);
		if (isnull(a, r))
			continue;
		uint64_t st;
		uint32_t n;
		exprvec_mv_range(a, r, &st, &n);
		void *s = states + (size_t)(gidx ? gidx[r] : 0) * ssz;
		for (uint32_t j = 0; j < n; j++) {
			int rc = put(s, elem_key(a, st + j));
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

static int
sv_each_d(char *states, size_t ssz, const uint32_t *gidx, const Vec *a, const uint16_t *sel,
	  int nsel, PutD put)
{
	if (a->enc != VEC_I64 && a->enc != VEC_F64)
		return ERR_TYPE;
	for (int k = 0; k < nsel; k++) {
		int r = ROW(k);
		if (isnull(a, r))
			continue;
		int rc = put(states + (size_t)(gidx ? gidx[r] : 0) * ssz, vd(a, r));
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
sv_each_k(char *states, size_t ssz, const uint32_t *gidx, const Vec *a, const uint16_t *sel,
	  int nsel, PutK put)
{
	for (int k = 0; k < nsel; k++) {
		int r = ROW(k);
		uint64_t key;
		if (isnull(a, r))
			continue;
		if (sv_key(a, r, &key) != 0)
			return ERR_UNSUPPORTED;
		int rc = put(states + (size_t)(gidx ? gidx[r] : 0) * ssz, key);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- multi-value forms of COUNT, SUM, MIN, MAX, AVG, MINMAXRANGE, DISTINCT ---- */

static int put_count(void *st, uint64_t k) { (void)k; ((CountSt *)st)->n++; return 0; }
static int put_sum(void *st, double x) { SumSt *s = st; s->d += x; s->has = 1; return 0; }
static int
put_min(void *st, double x)
{
	MmSt *s = st;
	if (!s->has || x < s->d)
		s->d = x;
	s->has = 1;
	return 0;
}
static int
put_max(void *st, double x)
{
	MmSt *s = st;
	if (!s->has || x > s->d)
		s->d = x;
	s->has = 1;
	return 0;
}
static int put_avg(void *st, double x) { AvgSt *s = st; s->sum += x; s->n++; return 0; }
static int
put_range(void *st, double x)
{
	RangeSt *s = st;
	if (!s->has || x < s->lo)
		s->lo = x;
	if (!s->has || x > s->hi)
		s->hi = x;
	s->has = 1;
	return 0;
}
static int
put_dist(void *st, uint64_t k)
{
	HSet *h = dist_set(st);
	return h == NULL || hset_add(h, k) != 0 ? ERR_NOMEM : 0;
}

#define MVU(name, St, each, put) \
	static int name(char *states, const uint32_t *gidx, const Vec *a, const uint16_t *sel, int nsel) \
	{ return each(states, sizeof(St), gidx, a, sel, nsel, put); }

MVU(countmv_update, CountSt, mv_each_k, put_count)
MVU(summv_update, SumSt, mv_each_d, put_sum)
MVU(minmv_update, MmSt, mv_each_d, put_min)
MVU(maxmv_update, MmSt, mv_each_d, put_max)
MVU(avgmv_update, AvgSt, mv_each_d, put_avg)
MVU(rangemv_update, RangeSt, mv_each_d, put_range)
MVU(distmv_update, DistSt, mv_each_k, put_dist)

/* MIN/MAX over doubles only (the MV forms): merge on d. */
static int
mmd_merge(void *dv, const void *sv, int max)
{
	MmSt *d = dv;
	const MmSt *s = sv;
	if (s->has && (!d->has || (max ? s->d > d->d : s->d < d->d)))
		d->d = s->d;
	d->has |= s->has;
	return 0;
}
static int mind_merge(void *d, const void *s) { return mmd_merge(d, s, 0); }
static int maxd_merge(void *d, const void *s) { return mmd_merge(d, s, 1); }

/* ---- PERCENTILE (exact) ---- */

typedef struct { double p; double *v; uint64_t n, cap; } PctSt;

static void pct_init(void *st) { memset(st, 0, sizeof(PctSt)); }
static void pct_param(void *st, double p) { ((PctSt *)st)->p = p; }

static int
put_pct(void *st, double x)
{
	PctSt *s = st;
	if (s->n == s->cap) {
		uint64_t cap = s->cap ? s->cap * 2 : 16;
		double *v = mem_realloc(s->v, sizeof(double) * cap);
		if (v == NULL)
			return ERR_NOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = x;
	return 0;
}

MVU(pct_update, PctSt, sv_each_d, put_pct)
MVU(pctmv_update, PctSt, mv_each_d, put_pct)

static int
pct_merge(void *dv, const void *sv)
{
	const PctSt *s = sv;
	for (uint64_t i = 0; i < s->n; i++)
		if (put_pct(dv, s->v[i]) != 0)
			return ERR_NOMEM;
	return 0;
}

static int
ucmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void
pct_final(const void *st, WbType t, Value *out)
{
	const PctSt *s = st;
	if (s->n == 0) {
		*out = value_null(t);
		return;
	}
	/* sorting reorders the kept values only: the state stays equivalent */
	qsort(s->v, s->n, sizeof(double), dcmp);
	double pp = s->p < 0 ? 0 : s->p > 100 ? 100 : s->p;
	uint64_t i = (uint64_t)((double)s->n * pp / 100.0);
	if (i >= s->n)
		i = s->n - 1;
	if (t == TYPE_DOUBLE)
		*out = value_double(t, s->v[i]);
	else
		*out = value_int(t, (int64_t)s->v[i]);
}

/* percentile_cont: linear interpolation between the two values around
 * position f * (n - 1) of the sorted values (PostgreSQL). */
static void
pctc_final(const void *st, WbType t, Value *out)
{
	const PctSt *s = st;
	if (s->n == 0) {
		*out = value_null(TYPE_DOUBLE);
		return;
	}
	qsort(s->v, s->n, sizeof(double), dcmp);
	double f = s->p < 0 ? 0 : s->p > 100 ? 1 : s->p / 100.0;
	double pos = f * (double)(s->n - 1);
	uint64_t lo = (uint64_t)floor(pos);
	uint64_t hi = lo + 1 < s->n ? lo + 1 : lo;
	*out = value_double(TYPE_DOUBLE, s->v[lo] + (pos - (double)lo) * (s->v[hi] - s->v[lo]));
}

/* percentile_disc: the first value whose cumulative share reaches f. */
static void
pctd_final(const void *st, WbType t, Value *out)
{
	const PctSt *s = st;
	if (s->n == 0) {
		*out = value_null(t);
		return;
	}
	qsort(s->v, s->n, sizeof(double), dcmp);
	double f = s->p < 0 ? 0 : s->p > 100 ? 1 : s->p / 100.0;
	uint64_t i = f <= 0 ? 0 : (uint64_t)ceil(f * (double)s->n) - 1;
	if (i >= s->n)
		i = s->n - 1;
	if (type_is_float(t))
		*out = value_double(t, s->v[i]);
	else
		*out = value_int(t, (int64_t)s->v[i]);
}

/* ---- MIN / MAX of strings (bytewise, as PostgreSQL's C collation) ---- */

typedef struct {
	char *s;		/* owned copy of the best value so far */
	uint32_t n;
	uint32_t has;
} StrSt;

static void strmm_init(void *st) { memset(st, 0, sizeof(StrSt)); }

static int
str_cmp(const char *a, uint32_t an, const char *b, uint32_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	return c != 0 ? c : (an > bn) - (an < bn);
}

/* Keeps (p, n) when it beats the state (max: greater, else smaller). */
static int
str_offer(StrSt *s, const char *p, uint32_t n, int max)
{
	if (s->has) {
		int c = str_cmp(p, n, s->s, s->n);
		if (max ? c <= 0 : c >= 0)
			return 0;
	}
	char *d = mem_alloc((size_t)n + 1);
	if (d == NULL)
		return ERR_NOMEM;
	memcpy(d, p, n);
	d[n] = '\0';
	mem_free(s->s);
	s->s = d;
	s->n = n;
	s->has = 1;
	return 0;
}

static int
strmm_update(char *states, const uint32_t *gidx, const Vec *a, const uint16_t *sel, int nsel,
	     int max)
{
	for (int k = 0; k < nsel; k++) {
		int r = ROW(k);
		if (isnull(a, r))
			continue;
		Value v;
		if (exprvec_value(a, r, &v, NULL) != 0 || v.null)
			continue;
		StrSt *s = (StrSt *)(states + (size_t)(gidx ? gidx[r] : 0) * sizeof(StrSt));
		int rc = str_offer(s, v.u.s ? v.u.s : "", v.n, max);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
strmin_update(char *states, const uint32_t *gidx, const Vec *a, const uint16_t *sel, int nsel)
{
	return strmm_update(states, gidx, a, sel, nsel, 0);
}

static int
strmax_update(char *states, const uint32_t *gidx, const Vec *a, const uint16_t *sel, int nsel)
{
	return strmm_update(states, gidx, a, sel, nsel, 1);
}

static int
strmin_merge(void *dst, const void *src)
{
	const StrSt *s = src;
	return s->has ? str_offer(dst, s->s, s->n, 0) : 0;
}

static int
strmax_merge(void *dst, const void *src)
{
	const StrSt *s = src;
	return s->has ? str_offer(dst, s->s, s->n, 1) : 0;
}

/* The result points into the state, which lives until the group table
 * is freed, after the result rows were copied. */
static void
strmm_final(const void *st, WbType t, Value *out)
{
	const StrSt *s = st;
	*out = s->has ? value_str(t, s->s, s->n) : value_null(t);
}

static void
strmm_ser(const void *st, Buf *o)
{
	const StrSt *s = st;
	buf_append(o, &s->has, 4);
	buf_append(o, &s->n, 4);
	if (s->has)
		buf_append(o, s->s, s->n);
}

static int
strmm_de(void *st, const char *p, size_t n, size_t *used, Err *e)
{
	StrSt *s = st;
	uint32_t has, len;
	if (n < 8)
		return err_set(e, ERR_CORRUPT, "string min/max state truncated");
	memcpy(&has, p, 4);
	memcpy(&len, p + 4, 4);
	if (has && len > n - 8)
		return err_set(e, ERR_CORRUPT, "string min/max state truncated");
	strmm_init(s);
	if (has && str_offer(s, p + 8, len, 0) != 0)
		return err_set(e, ERR_NOMEM, "out of memory");
	*used = 8 + (has ? len : 0);
	return 0;
}

static void
strmm_destroy(void *st)
{
	StrSt *s = st;
	mem_free(s->s);
	strmm_init(s);
}

/* ---- ARG_MAX / ARG_MIN (DuckDB), LASTWITHTIME / FIRSTWITHTIME (Pinot) ----
 * The value at the row with the greatest (least) key; rows where the
 * value or the key is NULL are skipped.  Ties: ARG_MAX, ARG_MIN and
 * FIRSTWITHTIME keep the row seen first, LASTWITHTIME the row seen last
 * (Pinot).  A string value is copied into a buffer the state owns and
 * reuses, so a stream of improvements costs a copy, not an allocation. */

typedef struct {
	int64_t ki;		/* the key: integer ... */
	double kd;		/* ... or floating (kf) */
	int64_t vi;		/* the value: integer, floating or string */
	double vd;
	char *s;
	uint32_t n, cap;
	uint8_t has, kf, vf, vs;
} ArgSt;

static void arg_init(void *st) { memset(st, 0, sizeof(ArgSt)); }

/* -1, 0, 1: key of (ki, kd) against the state's */
static int
arg_keycmp(const ArgSt *s, int kf, int64_t ki, double kd)
{
	if (kf)
		return (kd > s->kd) - (kd < s->kd);
	return (ki > s->ki) - (ki < s->ki);
}

static int
arg_set_str(ArgSt *s, const char *p, uint32_t n)
{
	if (n + 1 > s->cap) {
		uint32_t cap = n + 1 < 32 ? 32 : n + 1;
		char *d = mem_realloc(s->s, cap);
		if (d == NULL)
			return ERR_NOMEM;
		s->s = d;
		s->cap = cap;
	}
	memcpy(s->s, p, n);
	s->s[n] = '\0';
	s->n = n;
	s->vs = 1;
	return 0;
}

/* dir: 1 keep the greatest key, -1 the least; last: ties go to the newer */
static int
arg_offer(ArgSt *s, int kf, int64_t ki, double kd, const Value *v, int dir, int last)
{
	if (s->has) {
		int c = arg_keycmp(s, kf, ki, kd) * dir;
		if (c < 0 || (c == 0 && !last))
			return 0;
	}
	s->kf = (uint8_t)kf;
	s->ki = ki;
	s->kd = kd;
	s->has = 1;
	if (type_is_var((WbType)v->type))
		return arg_set_str(s, v->u.s ? v->u.s : "", v->n);
	s->vs = 0;
	s->vf = (uint8_t)type_is_float((WbType)v->type);
	if (s->vf)
		s->vd = v->u.d;
	else
		s->vi = v->u.i;
	return 0;
}

static int
arg_dir(AggKind k, int *last)
{
	*last = k == AGG_LAST_WITH_TIME;
	return k == AGG_ARG_MIN || k == AGG_FIRST_WITH_TIME ? -1 : 1;
}

int
agg_update2(AggKind k, char *states, const uint32_t *gidx, const Vec *a, const Vec *key,
	    const uint16_t *sel, int nsel)
{
	int last, dir = arg_dir(k, &last);
	int kf = key->enc == VEC_F64;
	if (key->enc != VEC_I64 && key->enc != VEC_F64)
		return ERR_TYPE;
	for (int j = 0; j < nsel; j++) {
		int r = ROW(j);
		if (isnull(a, r) || isnull(key, r))
			continue;
		Value v;
		if (a->enc == VEC_I64)
			v = value_int(TYPE_LONG, a->i[r]);
		else if (a->enc == VEC_F64)
			v = value_double(TYPE_DOUBLE, a->d[r]);
		else if (exprvec_value(a, r, &v, NULL) != 0 || v.null || v.mv)
			continue;
		int rc = arg_offer(ST(ArgSt, r), kf, kf ? 0 : key->i[r], kf ? key->d[r] : 0, &v, dir, last);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
arg_update(char *states, const uint32_t *gidx, const Vec *a, const uint16_t *sel, int nsel)
{
	(void)states; (void)gidx; (void)a; (void)sel; (void)nsel;
	return ERR_INTERNAL;	/* two arguments: agg_update2 */
}

static int
arg_merge_dir(void *dst, const void *src, AggKind k)
{
	const ArgSt *s = src;
	if (!s->has)
		return 0;
	int last, dir = arg_dir(k, &last);
	Value v = s->vs ? value_str(TYPE_STRING, s->s, s->n)
		      : s->vf ? value_double(TYPE_DOUBLE, s->vd) : value_int(TYPE_LONG, s->vi);
	return arg_offer(dst, s->kf, s->ki, s->kd, &v, dir, last);
}

static int argmax_merge(void *d, const void *s) { return arg_merge_dir(d, s, AGG_ARG_MAX); }
static int argmin_merge(void *d, const void *s) { return arg_merge_dir(d, s, AGG_ARG_MIN); }
static int lastwt_merge(void *d, const void *s) { return arg_merge_dir(d, s, AGG_LAST_WITH_TIME); }
static int firstwt_merge(void *d, const void *s) { return arg_merge_dir(d, s, AGG_FIRST_WITH_TIME); }

/* The result (a string points into the state) in type t. */
static void
arg_final(const void *st, WbType t, Value *out)
{
	const ArgSt *s = st;
	if (!s->has)
		*out = value_null(t);
	else if (type_is_var(t))
		*out = s->vs ? value_str(t, s->s, s->n) : value_null(t);
	else if (s->vs)
		*out = value_null(t);
	else if (type_is_float(t))
		*out = value_double(t, s->vf ? s->vd : (double)s->vi);
	else
		*out = value_int(t, s->vf ? (int64_t)s->vd : s->vi);
}

static void
arg_ser(const void *st, Buf *o)
{
	const ArgSt *s = st;
	buf_append(o, s, offsetof(ArgSt, s));
	buf_append(o, &s->n, 4);
	buf_append(o, &s->has, 4);	/* has, kf, vf, vs */
	if (s->has && s->vs)
		buf_append(o, s->s, s->n);
}

static int
arg_de(void *st, const char *p, size_t n, size_t *used, Err *e)
{
	ArgSt *s = st;
	size_t head = offsetof(ArgSt, s) + 8;
	arg_init(s);
	if (n < head)
		return err_set(e, ERR_CORRUPT, "arg_max state truncated");
	memcpy(s, p, offsetof(ArgSt, s));
	uint32_t len;
	memcpy(&len, p + offsetof(ArgSt, s), 4);
	memcpy(&s->has, p + offsetof(ArgSt, s) + 4, 4);
	*used = head;
	if (s->has && s->vs) {
		if (len > n - head)
			return err_set(e, ERR_CORRUPT, "arg_max state truncated");
		if (arg_set_str(s, p + head, len) != 0)
			return err_set(e, ERR_NOMEM, "out of memory");
		*used += len;
	}
	return 0;
}

static void
arg_destroy(void *st)
{
	ArgSt *s = st;
	mem_free(s->s);
	arg_init(s);
}

static void
pct_ser(const void *st, Buf *o)
{
	const PctSt *s = st;
	buf_append(o, &s->p, 8);
	buf_append(o, &s->n, 8);
	if (s->n)
		buf_append(o, s->v, (size_t)s->n * 8);
}

static int
pct_de(void *st, const char *p, size_t n, size_t *used, Err *e)
{
	PctSt *s = st;
	uint64_t cnt;
	if (n < 16)
		return err_set(e, ERR_CORRUPT, "percentile state truncated");
	memcpy(&s->p, p, 8);
	memcpy(&cnt, p + 8, 8);
	if (cnt > (n - 16) / 8)
		return err_set(e, ERR_CORRUPT, "percentile state truncated");
	s->n = 0;
	for (uint64_t i = 0; i < cnt; i++) {
		double x;
		memcpy(&x, p + 16 + i * 8, 8);
		if (put_pct(s, x) != 0)
			return err_set(e, ERR_NOMEM, "out of memory");
	}
	*used = 16 + cnt * 8;
	return 0;
}

static void
pct_destroy(void *st)
{
	PctSt *s = st;
	mem_free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

/* ---- t-digest (PERCENTILEEST, PERCENTILETDIGEST) ---- */

#define TD_DELTA 100.0
#define TD_CMAX 512		/* centroids kept, a hard bound */
#define TD_BUF 512		/* values buffered before a compression */

typedef struct { double m, w; } Cent;

typedef struct TDig {
	double min, max, total;
	uint32_t n, nb;		/* centroids [0, n), then nb buffered values */
	double mean[TD_CMAX + TD_BUF], w[TD_CMAX + TD_BUF];
	Cent scratch[TD_CMAX + TD_BUF];
} TDig;

typedef struct { double p; TDig *t; } TdSt;

static void td_init(void *st) { memset(st, 0, sizeof(TdSt)); }
static void td_param(void *st, double p) { ((TdSt *)st)->p = p; }

static int
ccmp(const void *a, const void *b)
{
	double x = ((const Cent *)a)->m, y = ((const Cent *)b)->m;
	return x < y ? -1 : x > y;
}

/* Merges the buffered values into the centroids: sort everything by
 * mean, then sweep, folding neighbours while the merged weight stays
 * under 4 W q (1 - q) / delta (small at the tails, so extremes stay
 * accurate); never more than TD_CMAX centroids. */
static void
td_compress(TDig *t)
{
	uint32_t m = t->n + t->nb;
	if (t->nb == 0)
		return;
	Cent *c = t->scratch;
	for (uint32_t i = 0; i < m; i++) {
		c[i].m = t->mean[i];
		c[i].w = t->w[i];
	}
	qsort(c, m, sizeof(Cent), ccmp);
	double W = 0;
	for (uint32_t i = 0; i < m; i++)
		W += c[i].w;
	uint32_t out = 0;
	double sofar = 0, cm = c[0].m, cw = c[0].w;
	for (uint32_t i = 1; i < m; i++) {
		double q0 = sofar / W, q2 = (sofar + cw + c[i].w) / W;
		double lim = 4 * W * fmin(q0 * (1 - q0), q2 * (1 - q2)) / TD_DELTA;
		if (cw + c[i].w <= lim || out == TD_CMAX - 1) {
			cm += (c[i].m - cm) * c[i].w / (cw + c[i].w);
			cw += c[i].w;
		} else {
			t->mean[out] = cm;
			t->w[out++] = cw;
			sofar += cw;
			cm = c[i].m;
			cw = c[i].w;
		}
	}
	t->mean[out] = cm;
	t->w[out++] = cw;
	t->n = out;
	t->nb = 0;
	t->total = W;
}

static int
td_add(TdSt *s, double x, double w)
{
	TDig *t = s->t;
	if (t == NULL) {
		if ((t = s->t = mem_calloc(1, sizeof(TDig))) == NULL)
			return ERR_NOMEM;
		t->min = t->max = x;
	}
	if (x < t->min)
		t->min = x;
	if (x > t->max)
		t->max = x;
	t->mean[t->n + t->nb] = x;
	t->w[t->n + t->nb] = w;
	t->nb++;
	t->total += w;
	if (t->nb == TD_BUF)
		td_compress(t);
	return 0;
}

static int put_td(void *st, double x) { return td_add(st, x, 1); }

MVU(td_update, TdSt, sv_each_d, put_td)
MVU(tdmv_update, TdSt, mv_each_d, put_td)

static int
td_merge(void *dv, const void *sv)
{
	TdSt *d = dv;
	const TdSt *s = sv;
	if (s->t == NULL)
		return 0;
	const TDig *t = s->t;
	for (uint32_t i = 0; i < t->n + t->nb; i++)
		if (td_add(d, t->mean[i], t->w[i]) != 0)
			return ERR_NOMEM;
	if (t->min < d->t->min)
		d->t->min = t->min;
	if (t->max > d->t->max)
		d->t->max = t->max;
	return 0;
}

/* The value at quantile q, interpolating between centroid centres; a
 * centroid of weight 1 is an exact value and is returned as is when the
 * rank falls within its half unit. */
static double
td_quantile(TDig *t, double q)
{
	td_compress(t);
	uint32_t n = t->n;
	double W = t->total, idx = q * W;
	if (n == 1 || idx <= 0)
		return n == 1 ? t->mean[0] : t->min;
	if (idx < t->w[0] / 2) {
		if (t->w[0] == 1)
			return t->mean[0];
		return t->min + (t->mean[0] - t->min) * idx / (t->w[0] / 2);
	}
	double sofar = t->w[0] / 2;
	for (uint32_t i = 0; i + 1 < n; i++) {
		double dw = (t->w[i] + t->w[i + 1]) / 2;
		if (sofar + dw > idx) {
			double lu = 0, ru = 0;
			if (t->w[i] == 1) {
				if (idx - sofar < 0.5)
					return t->mean[i];
				lu = 0.5;
			}
			if (t->w[i + 1] == 1) {
				if (sofar + dw - idx <= 0.5)
					return t->mean[i + 1];
				ru = 0.5;
			}
			double z1 = idx - sofar - lu, z2 = sofar + dw - idx - ru;
			return (t->mean[i] * z2 + t->mean[i + 1] * z1) / (z1 + z2);
		}
		sofar += dw;
	}
	double last = t->w[n - 1];
	if (last == 1 || idx <= sofar)
		return t->mean[n - 1];
	double z = (idx - sofar) / (last / 2);
	return t->mean[n - 1] + (t->max - t->mean[n - 1]) * (z > 1 ? 1 : z);
}

static void
td_final(const void *st, WbType t, Value *out)
{
	const TdSt *s = st;
	if (s->t == NULL) {
		*out = value_null(t);
		return;
	}
	/* compression regroups the kept data only: the state stays equivalent */
	double x = td_quantile(s->t, (s->p < 0 ? 0 : s->p > 100 ? 100 : s->p) / 100.0);
	if (t == TYPE_DOUBLE)
		*out = value_double(t, x);
	else
		*out = value_int(t, (int64_t)llround(x));
}

/* Serialized: p, u32 centroid count (0 = empty), then min, max and the
 * (mean, weight) pairs. */
static void
td_ser(const void *st, Buf *o)
{
	const TdSt *s = st;
	uint32_t n = 0;
	buf_append(o, &s->p, 8);
	if (s->t != NULL) {
		td_compress(s->t);
		n = s->t->n;
	}
	buf_append(o, &n, 4);
	if (n == 0)
		return;
	buf_append(o, &s->t->min, 8);
	buf_append(o, &s->t->max, 8);
	for (uint32_t i = 0; i < n; i++) {
		buf_append(o, &s->t->mean[i], 8);
		buf_append(o, &s->t->w[i], 8);
	}
}

static int
td_de(void *st, const char *p, size_t n, size_t *used, Err *e)
{
	TdSt *s = st;
	uint32_t cnt;
	if (n < 12)
		return err_set(e, ERR_CORRUPT, "t-digest state truncated");
	memcpy(&s->p, p, 8);
	memcpy(&cnt, p + 8, 4);
	if (cnt == 0) {
		*used = 12;
		return 0;
	}
	if (cnt > TD_CMAX || n - 12 < 16 + (size_t)cnt * 16)
		return err_set(e, ERR_CORRUPT, "t-digest state truncated or invalid");
	double mn, mx;
	memcpy(&mn, p + 12, 8);
	memcpy(&mx, p + 20, 8);
	for (uint32_t i = 0; i < cnt; i++) {
		double m, w;
		memcpy(&m, p + 28 + (size_t)i * 16, 8);
		memcpy(&w, p + 36 + (size_t)i * 16, 8);
		if (!(w > 0))
			return err_set(e, ERR_CORRUPT, "t-digest centroid with weight %g", w);
		if (td_add(s, m, w) != 0)
			return err_set(e, ERR_NOMEM, "out of memory");
	}
	if (mn < s->t->min)
		s->t->min = mn;
	if (mx > s->t->max)
		s->t->max = mx;
	*used = 28 + (size_t)cnt * 16;
	return 0;
}

static void
td_destroy(void *st)
{
	TdSt *s = st;
	mem_free(s->t);
	s->t = NULL;
}

/* ---- theta sketch (KMV): DISTINCTCOUNTTHETASKETCH ---- */

#define TH_K 4096

typedef struct { DistSt d; uint64_t lim; } ThSt;	/* lim 0 = exact so far */

static void th_init(void *st) { memset(st, 0, sizeof(ThSt)); }

/* Keeps the hashes below lim (and, when more than TH_K remain, only the
 * TH_K smallest: lim becomes the (TH_K+1)-th). */
static int
th_rebuild(ThSt *s, uint64_t lim)
{
	HSet *h = s->d.set;
	if (h == NULL)
		return 0;
	uint64_t *k = mem_alloc(sizeof(uint64_t) * (h->n + 1));
	if (k == NULL)
		return ERR_NOMEM;
	size_t n = 0;
	for (size_t i = 0; i < h->cap; i++)
		if (h->keys[i] != 0 && (lim == 0 || h->keys[i] < lim))
			k[n++] = h->keys[i];
	if (n > TH_K) {
		qsort(k, n, sizeof(uint64_t), ucmp);
		lim = k[TH_K];
		n = TH_K;
	}
	memset(h->keys, 0, sizeof(uint64_t) * h->cap);
	h->n = 0;
	for (size_t i = 0; i < n; i++)
		hset_add(h, k[i]);	/* fits: the table only shrank */
	mem_free(k);
	s->lim = lim;
	return 0;
}

static int
put_th(void *st, uint64_t key)
{
	ThSt *s = st;
	uint64_t h = hash_u64(key ^ 0xbb67ae8584caa73bull);
	if (h == 0 || (s->lim != 0 && h >= s->lim))
		return 0;
	HSet *set = dist_set(&s->d);
	if (set == NULL || hset_add(set, h) != 0)
		return ERR_NOMEM;
	return set->n > 2 * TH_K ? th_rebuild(s, s->lim) : 0;
}

MVU(th_update, ThSt, sv_each_k, put_th)

static int
th_merge(void *dv, const void *sv)
{
	ThSt *d = dv;
	const ThSt *s = sv;
	if (s->lim != 0 && (d->lim == 0 || s->lim < d->lim) && th_rebuild(d, s->lim) != 0)
		return ERR_NOMEM;
	if (s->d.set == NULL)
		return 0;
	for (size_t i = 0; i < s->d.set->cap; i++) {
		uint64_t h = s->d.set->keys[i];
		if (h == 0 || (d->lim != 0 && h >= d->lim))
			continue;
		HSet *set = dist_set(&d->d);
		if (set == NULL || hset_add(set, h) != 0)
			return ERR_NOMEM;
	}
	return d->d.set && d->d.set->n > TH_K ? th_rebuild(d, d->lim) : 0;
}

static void
th_final(const void *st, WbType t, Value *out)
{
	const ThSt *s = st;
	double n = s->d.set ? (double)s->d.set->n : 0;
	(void)t;
	if (s->lim == 0)
		*out = value_int(TYPE_LONG, (int64_t)n);
	else
		*out = value_int(TYPE_LONG, (int64_t)llround(n / ((double)s->lim / 18446744073709551616.0)));
}

static void
th_ser(const void *st, Buf *o)
{
	const ThSt *s = st;
	buf_append(o, &s->lim, 8);
	dist_ser(&s->d, o);
}

static int
th_de(void *st, const char *p, size_t n, size_t *used, Err *e)
{
	ThSt *s = st;
	int rc;
	if (n < 8)
		return err_set(e, ERR_CORRUPT, "theta sketch state truncated");
	memcpy(&s->lim, p, 8);
	if ((rc = dist_de(&s->d, p + 8, n - 8, used, e)) != 0)
		return rc;
	*used += 8;
	if (s->d.set && s->d.set->has_zero)
		return err_set(e, ERR_CORRUPT, "theta sketch with a zero hash");
	if (s->d.set && s->d.set->n > TH_K && th_rebuild(s, s->lim) != 0)
		return err_set(e, ERR_NOMEM, "out of memory");
	return 0;
}

static void th_destroy(void *st) { dist_destroy(&((ThSt *)st)->d); }

/* ---- HyperLogLog ---- */

#define HLL_P 12
#define HLL_M (1u << HLL_P)

typedef struct { uint8_t *reg; } HllSt;

static void hll_init(void *st) { ((HllSt *)st)->reg = NULL; }

static int
put_hll(void *st, uint64_t k)
{
	HllSt *s = st;
	if (s->reg == NULL && (s->reg = mem_calloc(HLL_M, 1)) == NULL)
		return ERR_NOMEM;
	uint64_t h = hash_u64(k ^ 0x6a09e667f3bcc909ull);
	uint32_t idx = (uint32_t)(h >> (64 - HLL_P));
	uint64_t w = h << HLL_P;
	uint8_t rank = w == 0 ? (uint8_t)(64 - HLL_P + 1) : (uint8_t)(__builtin_clzll(w) + 1);
	if (rank > s->reg[idx])
		s->reg[idx] = rank;
	return 0;
}

MVU(hll_update, HllSt, sv_each_k, put_hll)
MVU(hllmv_update, HllSt, mv_each_k, put_hll)

static int
hll_merge(void *dv, const void *sv)
{
	HllSt *d = dv;
	const HllSt *s = sv;
	if (s->reg == NULL)
		return 0;
	if (d->reg == NULL && (d->reg = mem_calloc(HLL_M, 1)) == NULL)
		return ERR_NOMEM;
	for (uint32_t i = 0; i < HLL_M; i++)
		if (s->reg[i] > d->reg[i])
			d->reg[i] = s->reg[i];
	return 0;
}

static void
hll_final(const void *st, WbType t, Value *out)
{
	const HllSt *s = st;
	(void)t;
	if (s->reg == NULL) {
		*out = value_int(TYPE_LONG, 0);
		return;
	}
	double sum = 0, m = HLL_M;
	uint32_t zeros = 0;
	for (uint32_t i = 0; i < HLL_M; i++) {
		sum += ldexp(1.0, -(int)s->reg[i]);
		zeros += s->reg[i] == 0;
	}
	double est = (0.7213 / (1 + 1.079 / m)) * m * m / sum;
	if (est <= 2.5 * m && zeros > 0)
		est = m * log(m / (double)zeros);
	*out = value_int(TYPE_LONG, (int64_t)llround(est));
}

static void
hll_ser(const void *st, Buf *o)
{
	const HllSt *s = st;
	uint8_t f = s->reg != NULL;
	buf_append(o, &f, 1);
	if (f)
		buf_append(o, s->reg, HLL_M);
}

static int
hll_de(void *st, const char *p, size_t n, size_t *used, Err *e)
{
	HllSt *s = st;
	if (n < 1 || (p[0] != 0 && p[0] != 1) || (p[0] == 1 && n < 1 + HLL_M))
		return err_set(e, ERR_CORRUPT, "HyperLogLog state truncated or invalid");
	if (p[0] == 0) {
		*used = 1;
		return 0;
	}
	if (s->reg == NULL && (s->reg = mem_calloc(HLL_M, 1)) == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	memcpy(s->reg, p + 1, HLL_M);
	*used = 1 + HLL_M;
	return 0;
}

static void
hll_destroy(void *st)
{
	HllSt *s = st;
	mem_free(s->reg);
	s->reg = NULL;
}

static void nop_destroy(void *st) { (void)st; }

static const AggFunc funcs[] = {
	{AGG_COUNT_STAR, "count", sizeof(CountSt), count_init, count_star_update, count_merge, count_final, count_ser, count_de, nop_destroy, NULL},
	{AGG_COUNT, "count", sizeof(CountSt), count_init, count_update, count_merge, count_final, count_ser, count_de, nop_destroy, NULL},
	{AGG_SUM, "sum", sizeof(SumSt), sum_init, sum_update, sum_merge, sum_final, sum_ser, sum_de, nop_destroy, NULL},
	{AGG_MIN, "min", sizeof(MmSt), mm_init, min_update, min_merge, mm_final, mm_ser, mm_de, nop_destroy, NULL},
	{AGG_MAX, "max", sizeof(MmSt), mm_init, max_update, max_merge, mm_final, mm_ser, mm_de, nop_destroy, NULL},
	{AGG_AVG, "avg", sizeof(AvgSt), avg_init, avg_update, avg_merge, avg_final, avg_ser, avg_de, nop_destroy, NULL},
	{AGG_COUNT_DISTINCT, "count", sizeof(DistSt), dist_init, dist_update, dist_merge, dist_final, dist_ser, dist_de, dist_destroy, NULL},
	{AGG_MINMAXRANGE, "minmaxrange", sizeof(RangeSt), range_init, range_update, range_merge, range_final, range_ser, range_de, nop_destroy, NULL},
	{AGG_COUNT_MV, "countmv", sizeof(CountSt), count_init, countmv_update, count_merge, count_final, count_ser, count_de, nop_destroy, NULL},
	{AGG_SUM_MV, "summv", sizeof(SumSt), sum_init, summv_update, sum_merge, sum_final, sum_ser, sum_de, nop_destroy, NULL},
	{AGG_MIN_MV, "minmv", sizeof(MmSt), mm_init, minmv_update, mind_merge, mm_final, mm_ser, mm_de, nop_destroy, NULL},
	{AGG_MAX_MV, "maxmv", sizeof(MmSt), mm_init, maxmv_update, maxd_merge, mm_final, mm_ser, mm_de, nop_destroy, NULL},
	{AGG_AVG_MV, "avgmv", sizeof(AvgSt), avg_init, avgmv_update, avg_merge, avg_final, avg_ser, avg_de, nop_destroy, NULL},
	{AGG_MINMAXRANGE_MV, "minmaxrangemv", sizeof(RangeSt), range_init, rangemv_update, range_merge, range_final, range_ser, range_de, nop_destroy, NULL},
	{AGG_DISTINCT_MV, "distinctcountmv", sizeof(DistSt), dist_init, distmv_update, dist_merge, dist_final, dist_ser, dist_de, dist_destroy, NULL},
	{AGG_PERCENTILE, "percentile", sizeof(PctSt), pct_init, pct_update, pct_merge, pct_final, pct_ser, pct_de, pct_destroy, pct_param},
	{AGG_PERCENTILE_MV, "percentilemv", sizeof(PctSt), pct_init, pctmv_update, pct_merge, pct_final, pct_ser, pct_de, pct_destroy, pct_param},
	{AGG_PERCENTILE_EST, "percentileest", sizeof(TdSt), td_init, td_update, td_merge, td_final, td_ser, td_de, td_destroy, td_param},
	{AGG_PERCENTILE_EST_MV, "percentileestmv", sizeof(TdSt), td_init, tdmv_update, td_merge, td_final, td_ser, td_de, td_destroy, td_param},
	{AGG_PERCENTILE_TDIGEST, "percentiletdigest", sizeof(TdSt), td_init, td_update, td_merge, td_final, td_ser, td_de, td_destroy, td_param},
	{AGG_PERCENTILE_TDIGEST_MV, "percentiletdigestmv", sizeof(TdSt), td_init, tdmv_update, td_merge, td_final, td_ser, td_de, td_destroy, td_param},
	{AGG_HLL, "distinctcounthll", sizeof(HllSt), hll_init, hll_update, hll_merge, hll_final, hll_ser, hll_de, hll_destroy, NULL},
	{AGG_HLL_MV, "distinctcounthllmv", sizeof(HllSt), hll_init, hllmv_update, hll_merge, hll_final, hll_ser, hll_de, hll_destroy, NULL},
	{AGG_THETA, "distinctcountthetasketch", sizeof(ThSt), th_init, th_update, th_merge, th_final, th_ser, th_de, th_destroy, NULL},
	{AGG_PERCENTILE_CONT, "percentile_cont", sizeof(PctSt), pct_init, pct_update, pct_merge, pctc_final, pct_ser, pct_de, pct_destroy, pct_param},
	{AGG_PERCENTILE_DISC, "percentile_disc", sizeof(PctSt), pct_init, pct_update, pct_merge, pctd_final, pct_ser, pct_de, pct_destroy, pct_param},
	{AGG_MIN_STR, "min", sizeof(StrSt), strmm_init, strmin_update, strmin_merge, strmm_final, strmm_ser, strmm_de, strmm_destroy, NULL},
	{AGG_MAX_STR, "max", sizeof(StrSt), strmm_init, strmax_update, strmax_merge, strmm_final, strmm_ser, strmm_de, strmm_destroy, NULL},
	{AGG_ARG_MAX, "arg_max", sizeof(ArgSt), arg_init, arg_update, argmax_merge, arg_final, arg_ser, arg_de, arg_destroy, NULL},
	{AGG_ARG_MIN, "arg_min", sizeof(ArgSt), arg_init, arg_update, argmin_merge, arg_final, arg_ser, arg_de, arg_destroy, NULL},
	{AGG_LAST_WITH_TIME, "lastwithtime", sizeof(ArgSt), arg_init, arg_update, lastwt_merge, arg_final, arg_ser, arg_de, arg_destroy, NULL},
	{AGG_FIRST_WITH_TIME, "firstwithtime", sizeof(ArgSt), arg_init, arg_update, firstwt_merge, arg_final, arg_ser, arg_de, arg_destroy, NULL},
};

const AggFunc *
agg_func(AggKind k)
{
	return &funcs[k];
}

static const struct {
	const char *name;
	AggKind kind;
} names[] = {
	{"distinctcount", AGG_COUNT_DISTINCT}, {"sum", AGG_SUM}, {"min", AGG_MIN},
	{"max", AGG_MAX}, {"avg", AGG_AVG}, {"minmaxrange", AGG_MINMAXRANGE},
	{"countmv", AGG_COUNT_MV}, {"summv", AGG_SUM_MV}, {"minmv", AGG_MIN_MV},
	{"maxmv", AGG_MAX_MV}, {"avgmv", AGG_AVG_MV}, {"minmaxrangemv", AGG_MINMAXRANGE_MV},
	{"distinctcountmv", AGG_DISTINCT_MV}, {"percentile", AGG_PERCENTILE},
	{"percentilemv", AGG_PERCENTILE_MV}, {"percentileest", AGG_PERCENTILE_EST},
	{"percentileestmv", AGG_PERCENTILE_EST_MV}, {"percentiletdigest", AGG_PERCENTILE_TDIGEST},
	{"percentiletdigestmv", AGG_PERCENTILE_TDIGEST_MV}, {"distinctcounthll", AGG_HLL},
	{"approx_count_distinct", AGG_HLL}, {"distinctcounthllmv", AGG_HLL_MV},
	{"distinctcountthetasketch", AGG_THETA},
	{"percentile_cont", AGG_PERCENTILE_CONT}, {"percentile_disc", AGG_PERCENTILE_DISC},
	{"arg_max", AGG_ARG_MAX}, {"argmax", AGG_ARG_MAX}, {"max_by", AGG_ARG_MAX},
	{"arg_min", AGG_ARG_MIN}, {"argmin", AGG_ARG_MIN}, {"min_by", AGG_ARG_MIN},
	{"lastwithtime", AGG_LAST_WITH_TIME}, {"firstwithtime", AGG_FIRST_WITH_TIME},
};

int
agg_lookup(const char *name, int distinct, AggKind *out)
{
	if (strcmp(name, "count") == 0) {
		*out = distinct ? AGG_COUNT_DISTINCT : AGG_COUNT;
		return 0;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i].name) == 0) {
			*out = names[i].kind;
			return 0;
		}
	return -1;
}

int
agg_is_two_arg(AggKind k)
{
	return k == AGG_ARG_MAX || k == AGG_ARG_MIN || k == AGG_LAST_WITH_TIME ||
	       k == AGG_FIRST_WITH_TIME;
}

int
agg_is_mv(AggKind k)
{
	switch (k) {
	case AGG_COUNT_MV: case AGG_SUM_MV: case AGG_MIN_MV: case AGG_MAX_MV: case AGG_AVG_MV:
	case AGG_MINMAXRANGE_MV: case AGG_DISTINCT_MV: case AGG_PERCENTILE_MV:
	case AGG_PERCENTILE_EST_MV: case AGG_PERCENTILE_TDIGEST_MV: case AGG_HLL_MV:
		return 1;
	default:
		return 0;
	}
}

int
agg_result_type(AggKind k, WbType t, WbType *out, Err *e)
{
	switch (k) {
	case AGG_COUNT_STAR:
	case AGG_COUNT:
	case AGG_COUNT_DISTINCT:
	case AGG_COUNT_MV:
	case AGG_DISTINCT_MV:
	case AGG_HLL:
	case AGG_HLL_MV:
	case AGG_THETA:
		*out = TYPE_LONG;
		return 0;
	default:
		break;
	}
	if (k == AGG_MIN_STR || k == AGG_MAX_STR || agg_is_two_arg(k)) {
		*out = t == TYPE_NULL ? TYPE_INT : t;	/* the value's type */
		return 0;
	}
	if (!type_is_numeric(t) && t != TYPE_NULL)
		return err_set(e, ERR_TYPE, "%s(%s) is not supported", funcs[k].name, type_name(t));
	switch (k) {
	case AGG_SUM:
		*out = type_is_float(t) ? TYPE_DOUBLE : TYPE_LONG;
		break;
	case AGG_MIN:
	case AGG_MAX:
		*out = t == TYPE_NULL ? TYPE_INT : t;
		break;
	case AGG_PERCENTILE_EST:
	case AGG_PERCENTILE_EST_MV:
		*out = TYPE_LONG;
		break;
	case AGG_PERCENTILE_DISC:
		*out = t == TYPE_NULL ? TYPE_DOUBLE : t;	/* a value of the input */
		break;
	default:
		*out = TYPE_DOUBLE;
	}
	return 0;
}

