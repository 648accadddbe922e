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
 * array through mem_*), finalize selects Pinot's element (quickselect,
 * O(n); the order a full sort gives),
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
 * SKEWNESS / KURTOSIS keep count, mean and the 2nd..4th central moment
 * sums (updated per value, merged pairwise) and finish with Apache
 * Commons Math's sample formulas, as Pinot: NaN below 3 / 4 values, 0
 * for (nearly) constant input, NULL for none.  DISTINCTSUM / DISTINCTAVG
 * are COUNT(DISTINCT)'s set read back as values (DOUBLE).  PERCENTILEKLL
 * is exact with KLL's inclusive rank rule (the smallest value whose
 * rank share reaches p).  PERCENTILEEST truncates its input to longs
 * first (Pinot's q-digest holds longs).  DISTINCTCOUNTSMARTHLL is exact
 * up to a threshold, then moves its keys into the HyperLogLog.
 * bit_and / bit_or / bit_xor are PostgreSQL's (found by agg_lookup_args
 * with one argument only: with two, bit_and is Pinot's scalar).
 * The funnel aggregates are (value, key) aggregates whose key the binder
 * builds from the step conditions.  FUNNELCOUNT's key is the bit mask of
 * the steps a row matched, its value the CORRELATE_BY id; it keeps one
 * distinct set of ids per step, and step j counts the ids of step 0
 * also found in steps 1..j (0 per step when none).  FUNNELMAXSTEP,
 * FUNNELMATCHSTEP and FUNNELCOMPLETECOUNT share one state: (time, first
 * step matched) events, walked at finalize in time order through
 * Pinot's sliding windows, with its modes (STRICT_DEDUPLICATION,
 * STRICT_ORDER, STRICT_INCREASE, KEEP_ALL) and maxStepDuration; their
 * window and modes come from the plan through agg_plan_init.
 *
 * Names: exact first, then Pinot's canonical form (case and underscores
 * ignored: percentile_tdigest = percentileTDigest).  Constant arguments
 * after the value (a percentile, DISTINCTCOUNTHLL's log2m, smart HLL's
 * options) are described by agg_const_args and checked by
 * agg_const_arg.
 *
 * Exports: agg_func, agg_lookup, agg_lookup_args, agg_const_args,
 * agg_const_arg, agg_result_type, agg_result_mv, agg_is_mv,
 * agg_is_two_arg, agg_update2, agg_is_funnel, agg_plan_init,
 * agg_update_funnel, agg_update_funnel_steps, agg_funnel_config.
 */
#include "query/agg.h"
#include "expr/exprfn.h"
#include "query/plan.h"

#include <stddef.h>
#include "base/hash.h"
#include "base/mem.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* Two passes over the batch: the keys first, with a prefetch of each
 * one's home slot (a set of 10^6 ids misses the cache on nearly every
 * insert), then the inserts, whose loads have mostly arrived by then. */
static int
dist_update(char *states, const uint32_t *gidx, const Vec *a, const uint16_t *sel, int nsel)
{
	uint64_t keys[EXPR_BATCH];
	HSet *sets[EXPR_BATCH];
	int m = 0;
	if (nsel > EXPR_BATCH)
		return ERR_INTERNAL;
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
		if (h == NULL)
			return ERR_NOMEM;
		if (h->cap > 0 && key != 0)
			__builtin_prefetch(&h->keys[hash_u64(key) & (h->cap - 1)], 1);
		keys[m] = key;
		sets[m++] = h;
	}
	for (int k = 0; k < m; k++)
		if (hset_add(sets[k], keys[k]) != 0)
			return ERR_NOMEM;
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
	PctSt *d = dv;
	const PctSt *s = sv;
	if (s->n == 0)
		return 0;
	if (d->n + s->n > d->cap) {
		uint64_t cap = d->cap ? d->cap : 16;
		while (cap < d->n + s->n)
			cap *= 2;
		double *v = mem_realloc(d->v, sizeof(double) * cap);
		if (v == NULL)
			return ERR_NOMEM;
		d->v = v;
		d->cap = cap;
	}
	memcpy(d->v + d->n, s->v, sizeof(double) * s->n);
	d->n += s->n;
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

/* Puts the value of rank k (0-based) of v[0..n) at v[k], smaller or equal
 * values before it, greater or equal after (quickselect, median-of-three
 * pivots; a full sort when the input holds NaN -- dcmp's order then --
 * or the partitions keep coming out lopsided).  Returns v[k]: the value
 * a full sort would put there.  The state's values are only reordered. */
static double
pct_select(double *v, uint64_t n, uint64_t k)
{
	for (uint64_t i = 0; i < n; i++)
		if (v[i] != v[i]) {
			qsort(v, n, sizeof(double), dcmp);
			return v[k];
		}
	uint64_t lo = 0, hi = n - 1;
	int budget = 2 * 64;
	while (hi > lo) {
		if (hi - lo < 16 || budget-- == 0) {
			qsort(v + lo, hi - lo + 1, sizeof(double), dcmp);
			break;
		}
		uint64_t mid = lo + (hi - lo) / 2;
		double a = v[lo], b = v[mid], c = v[hi];
		double piv = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
		uint64_t i = lo, j = hi;
		/* Hoare partition: v[lo..j] <= piv <= v[i..hi] */
		for (;;) {
			while (v[i] < piv)
				i++;
			while (v[j] > piv)
				j--;
			if (i >= j)
				break;
			double t = v[i];
			v[i] = v[j];
			v[j] = t;
			i++;
			j--;
			if (i > j)
				break;
		}
		/* now v[lo..j] <= piv, v[j+1..i-1] == piv, v[i..hi] >= piv */
		if (k <= j && j != UINT64_MAX)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return v[k];
}

/* Smallest value of v[k+1..n) (after pct_select(v, n, k)). */
static double
pct_next(const double *v, uint64_t n, uint64_t k)
{
	double m = v[k];
	if (k + 1 < n) {
		m = v[k + 1];
		for (uint64_t i = k + 2; i < n; i++)
			if (v[i] < m)
				m = v[i];
	}
	return m;
}

static void
pct_final(const void *st, WbType t, Value *out)
{
	const PctSt *s = st;
	if (s->n == 0) {
		*out = value_null(t);
		return;
	}
	/* selecting reorders the kept values only: the state stays equivalent */
	double pp = s->p < 0 ? 0 : s->p > 100 ? 100 : s->p;
	uint64_t i = (uint64_t)((double)s->n * pp / 100.0);
	if (i >= s->n)
		i = s->n - 1;
	double x = pct_select(s->v, s->n, i);
	if (t == TYPE_DOUBLE)
		*out = value_double(t, x);
	else
		*out = value_int(t, (int64_t)x);
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
	double f = s->p < 0 ? 0 : s->p > 100 ? 1 : s->p / 100.0;
	double pos = f * (double)(s->n - 1);
	uint64_t lo = (uint64_t)floor(pos);
	double vlo = pct_select(s->v, s->n, lo);
	double vhi = lo + 1 < s->n ? pct_next(s->v, s->n, lo) : vlo;
	*out = value_double(TYPE_DOUBLE, vlo + (pos - (double)lo) * (vhi - vlo));
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
	double f = s->p < 0 ? 0 : s->p > 100 ? 1 : s->p / 100.0;
	uint64_t i = f <= 0 ? 0 : (uint64_t)ceil(f * (double)s->n) - 1;
	if (i >= s->n)
		i = s->n - 1;
	double x = pct_select(s->v, s->n, i);
	if (type_is_float(t))
		*out = value_double(t, x);
	else
		*out = value_int(t, (int64_t)x);
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
 * reuses, so a stream of improvements costs a copy, not an allocation;
 * one shorter than ARG_IN bytes is kept in the state itself. */

#define ARG_IN 16

/* 48 bytes: a GROUP BY order_id with arg_max has millions of them */
typedef struct {
	union {
		int64_t i;
		double d;	/* kf */
	} k;			/* the key */
	union {
		int64_t i;
		double d;	/* vf */
	} v;			/* a number value */
	uint32_t n, cap;	/* string length; heap buffer size (0: none) */
	uint8_t has, kf, vf, vs;
	union {
		char in[ARG_IN];	/* a shorter string, while there is
					 * no heap buffer (no allocation per
					 * group) */
		char *s;	/* the heap buffer, once one was needed;
				 * reused for every later string */
	} u;
} ArgSt;
_Static_assert(sizeof(ArgSt) == 48, "ArgSt grew");

/* The string value (vs set). */
static inline const char *
arg_str(const ArgSt *s)
{
	return s->cap ? s->u.s : s->u.in;
}

static void arg_init(void *st) { memset(st, 0, sizeof(ArgSt)); }

/* -1, 0, 1: key of (ki, kd) against the state's */
static int
arg_keycmp(const ArgSt *s, int kf, int64_t ki, double kd)
{
	if (kf)
		return (kd > s->k.d) - (kd < s->k.d);
	return (ki > s->k.i) - (ki < s->k.i);
}

static int
arg_set_str(ArgSt *s, const char *p, uint32_t n)
{
	if (s->cap == 0 && n < ARG_IN) {
		memcpy(s->u.in, p, n);
		s->u.in[n] = '\0';
		s->n = n;
		s->vs = 1;
		return 0;
	}
	if (n + 1 > s->cap) {
		uint32_t cap = n + 1 < 32 ? 32 : n + 1;
		char *d = mem_realloc(s->cap ? s->u.s : NULL, cap);
		if (d == NULL)
			return ERR_NOMEM;
		s->u.s = d;
		s->cap = cap;
	}
	memcpy(s->u.s, p, n);
	s->u.s[n] = '\0';
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
	if (kf)
		s->k.d = kd;
	else
		s->k.i = ki;
	s->has = 1;
	if (type_is_var((WbType)v->type))
		return arg_set_str(s, v->u.s ? v->u.s : "", v->n);
	s->vs = 0;
	s->vf = (uint8_t)type_is_float((WbType)v->type);
	if (s->vf)
		s->v.d = v->u.d;
	else
		s->v.i = v->u.i;
	return 0;
}

static int
arg_dir(AggKind k, int *last)
{
	*last = k == AGG_LAST_WITH_TIME;
	return k == AGG_ARG_MIN || k == AGG_FIRST_WITH_TIME ? -1 : 1;
}

static int funnel_update2(char *states, const uint32_t *gidx, const Vec *corr, const Vec *mask,
			  const uint16_t *sel, int nsel);
static int fms_update2(char *states, const uint32_t *gidx, const Vec *ts, const Vec *step, const uint16_t *sel,
		       int nsel);
static int is_windowed(AggKind k);

int
agg_update2(AggKind k, char *states, const uint32_t *gidx, const Vec *a, const Vec *key,
	    const uint16_t *sel, int nsel)
{
	if (k == AGG_FUNNEL_COUNT)
		return funnel_update2(states, gidx, a, key, sel, nsel);
	if (is_windowed(k))
		return fms_update2(states, gidx, a, key, sel, nsel);
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
	Value v = s->vs ? value_str(TYPE_STRING, arg_str(s), s->n)
		      : s->vf ? value_double(TYPE_DOUBLE, s->v.d) : value_int(TYPE_LONG, s->v.i);
	return arg_offer(dst, s->kf, s->kf ? 0 : s->k.i, s->kf ? s->k.d : 0, &v, dir, last);
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
		*out = s->vs ? value_str(t, arg_str(s), s->n) : value_null(t);
	else if (s->vs)
		*out = value_null(t);
	else if (type_is_float(t))
		*out = value_double(t, s->vf ? s->v.d : (double)s->v.i);
	else
		*out = value_int(t, s->vf ? (int64_t)s->v.d : s->v.i);
}

/* Serialized: key as int64 and as double, value as int64 and as double
 * (the one not in use 0), string length, has/kf/vf/vs, string bytes. */
static void
arg_ser(const void *st, Buf *o)
{
	const ArgSt *s = st;
	int64_t ki = s->kf ? 0 : s->k.i, vi = s->vf ? 0 : s->v.i;
	double kd = s->kf ? s->k.d : 0, vd = s->vf ? s->v.d : 0;
	buf_append(o, &ki, 8);
	buf_append(o, &kd, 8);
	buf_append(o, &vi, 8);
	buf_append(o, &vd, 8);
	buf_append(o, &s->n, 4);
	buf_append(o, &s->has, 4);	/* has, kf, vf, vs */
	if (s->has && s->vs)
		buf_append(o, arg_str(s), s->n);
}

static int
arg_de(void *st, const char *p, size_t n, size_t *used, Err *e)
{
	ArgSt *s = st;
	size_t head = 40;
	arg_init(s);
	if (n < head)
		return err_set(e, ERR_CORRUPT, "arg_max state truncated");
	int64_t ki, vi;
	double kd, vd;
	memcpy(&ki, p, 8);
	memcpy(&kd, p + 8, 8);
	memcpy(&vi, p + 16, 8);
	memcpy(&vd, p + 24, 8);
	uint32_t len;
	memcpy(&len, p + 32, 4);
	memcpy(&s->has, p + 36, 4);
	if (s->kf)
		s->k.d = kd;
	else
		s->k.i = ki;
	if (s->vf)
		s->v.d = vd;
	else
		s->v.i = vi;
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
	if (s->cap)
		mem_free(s->u.s);
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

/* ---- SKEWNESS, KURTOSIS (sample statistics, as Apache Commons Math) ---- */

/* Count, mean and the sums of the 2nd to 4th powers of the deviations,
 * updated one value at a time (Terriberry) and merged pairwise (Pebay). */
typedef struct { double n, mean, m2, m3, m4; } MomSt;

static void mom_init(void *st) { memset(st, 0, sizeof(MomSt)); }

static int
put_mom(void *st, double x)
{
	MomSt *s = st;
	double n1 = s->n;
	s->n += 1;
	double n = s->n;
	double delta = x - s->mean, dn = delta / n, dn2 = dn * dn, t1 = delta * dn * n1;
	s->mean += dn;
	s->m4 += t1 * dn2 * (n * n - 3 * n + 3) + 6 * dn2 * s->m2 - 4 * dn * s->m3;
	s->m3 += t1 * dn * (n - 2) - 3 * dn * s->m2;
	s->m2 += t1;
	return 0;
}

MVU(mom_update, MomSt, sv_each_d, put_mom)

static int
mom_merge(void *dv, const void *sv)
{
	MomSt *d = dv;
	const MomSt *s = sv;
	if (s->n == 0)
		return 0;
	if (d->n == 0) {
		*d = *s;
		return 0;
	}
	double na = d->n, nb = s->n, n = na + nb;
	double delta = s->mean - d->mean, d2 = delta * delta;
	double m2 = d->m2 + s->m2 + d2 * na * nb / n;
	double m3 = d->m3 + s->m3 + d2 * delta * na * nb * (na - nb) / (n * n) +
		    3 * delta * (na * s->m2 - nb * d->m2) / n;
	double m4 = d->m4 + s->m4 + d2 * d2 * na * nb * (na * na - na * nb + nb * nb) / (n * n * n) +
		    6 * d2 * (na * na * s->m2 + nb * nb * d->m2) / (n * n) +
		    4 * delta * (na * s->m3 - nb * d->m3) / n;
	d->mean += delta * nb / n;
	d->n = n;
	d->m2 = m2;
	d->m3 = m3;
	d->m4 = m4;
	return 0;
}

/* NULL for no rows; NaN below 3 (skewness) or 4 (kurtosis) values; 0
 * when the values are (nearly) all equal. */
static void
skew_final(const void *st, WbType t, Value *out)
{
	const MomSt *s = st;
	double n = s->n;
	(void)t;
	if (n == 0) {
		*out = value_null(TYPE_DOUBLE);
		return;
	}
	double var = n > 1 ? s->m2 / (n - 1) : 0;
	double r = n < 3 ? NAN : var < 1e-19 ? 0 : n / ((n - 1) * (n - 2)) * s->m3 / (var * sqrt(var));
	*out = value_double(TYPE_DOUBLE, r);
}

static void
kurt_final(const void *st, WbType t, Value *out)
{
	const MomSt *s = st;
	double n = s->n;
	(void)t;
	if (n == 0) {
		*out = value_null(TYPE_DOUBLE);
		return;
	}
	double var = n > 1 ? s->m2 / (n - 1) : 0, r;
	if (n < 4)
		r = NAN;
	else if (var < 1e-19)
		r = 0;
	else
		r = n * (n + 1) / ((n - 1) * (n - 2) * (n - 3)) * s->m4 / (var * var) -
		    3 * (n - 1) * (n - 1) / ((n - 2) * (n - 3));
	*out = value_double(TYPE_DOUBLE, r);
}

static void mom_ser(const void *st, Buf *o) { raw_ser(st, sizeof(MomSt), o); }
static int mom_de(void *st, const char *p, size_t n, size_t *u, Err *e) { return raw_de(st, sizeof(MomSt), p, n, u, e); }

/* ---- DISTINCTSUM, DISTINCTAVG ---- */

/* The distinct set of COUNT(DISTINCT) (integers and doubles are kept by
 * value, so the keys give the values back) and whether they are doubles
 * (1) or integers (0). */
typedef struct { DistSt d; int64_t isf; } DsumSt;

static void dsum_init(void *st) { memset(st, 0, sizeof(DsumSt)); }

static int
dsum_update(char *states, const uint32_t *gidx, const Vec *a, const uint16_t *sel, int nsel)
{
	if (a->enc != VEC_I64 && a->enc != VEC_F64)
		return ERR_TYPE;
	for (int k = 0; k < nsel; k++) {
		int r = ROW(k);
		uint64_t key = 0;
		if (isnull(a, r))
			continue;
		sv_key(a, r, &key);
		DsumSt *s = ST(DsumSt, r);
		s->isf = a->enc == VEC_F64;
		HSet *h = dist_set(&s->d);
		if (h == NULL || hset_add(h, key) != 0)
			return ERR_NOMEM;
	}
	return 0;
}

static int
dsum_merge(void *dv, const void *sv)
{
	DsumSt *d = dv;
	const DsumSt *s = sv;
	if (s->d.set != NULL)
		d->isf = s->isf;
	return dist_merge(&d->d, &s->d);
}

static double
dsum_key(uint64_t k, int isf)
{
	if (!isf)
		return (double)(int64_t)k;
	double x;
	memcpy(&x, &k, 8);
	return x;
}

/* Sum and count of the distinct values; 0 values = NULL. */
static int
dsum_total(const DsumSt *s, double *sum, double *n)
{
	const HSet *h = s->d.set;
	*sum = 0;
	*n = 0;
	if (h == NULL)
		return 0;
	for (size_t i = 0; i < h->cap; i++)
		if (h->keys[i] != 0)
			*sum += dsum_key(h->keys[i], (int)s->isf);
	*n = (double)h->n + h->has_zero;
	return *n > 0;
}

static void
dsum_final(const void *st, WbType t, Value *out)
{
	double sum, n;
	(void)t;
	*out = dsum_total(st, &sum, &n) ? value_double(TYPE_DOUBLE, sum) : value_null(TYPE_DOUBLE);
}

static void
davg_final(const void *st, WbType t, Value *out)
{
	double sum, n;
	(void)t;
	*out = dsum_total(st, &sum, &n) ? value_double(TYPE_DOUBLE, sum / n) : value_null(TYPE_DOUBLE);
}

static void
dsum_ser(const void *st, Buf *o)
{
	const DsumSt *s = st;
	uint8_t f = (uint8_t)s->isf;
	buf_append(o, &f, 1);
	dist_ser(&s->d, o);
}

static int
dsum_de(void *st, const char *p, size_t n, size_t *used, Err *e)
{
	DsumSt *s = st;
	int rc;
	if (n < 1 || (p[0] != 0 && p[0] != 1))
		return err_set(e, ERR_CORRUPT, "distinct sum state truncated or invalid");
	s->isf = p[0];
	if ((rc = dist_de(&s->d, p + 1, n - 1, used, e)) != 0)
		return rc;
	*used += 1;
	return 0;
}

static void dsum_destroy(void *st) { dist_destroy(&((DsumSt *)st)->d); }

/* ---- DISTINCTCOUNTSMARTHLL ---- */

/* Exact (the COUNT(DISTINCT) set) until more than `threshold` distinct
 * values, then the HyperLogLog of DISTINCTCOUNTHLL (the set's keys are
 * moved into it).  threshold: Pinot's hllConversionThreshold, default
 * 100,000 (agg_const_arg parses it from the options; the state takes it
 * once the binder passes it on, see agg_const_args). */
typedef struct { DistSt d; HllSt h; double threshold; } SmartSt;

#define SMART_THRESHOLD 100000.0

static void
smart_init(void *st)
{
	memset(st, 0, sizeof(SmartSt));
	((SmartSt *)st)->threshold = SMART_THRESHOLD;
}

/* Moves the exact set into the registers. */
static int
smart_convert(SmartSt *s)
{
	HSet *h = s->d.set;
	if (h == NULL)
		return 0;
	if (h->has_zero && put_hll(&s->h, 0) != 0)
		return ERR_NOMEM;
	for (size_t i = 0; i < h->cap; i++)
		if (h->keys[i] != 0 && put_hll(&s->h, h->keys[i]) != 0)
			return ERR_NOMEM;
	dist_destroy(&s->d);
	return 0;
}

static int
put_smart(void *st, uint64_t k)
{
	SmartSt *s = st;
	if (s->h.reg != NULL)
		return put_hll(&s->h, k);
	HSet *h = dist_set(&s->d);
	if (h == NULL || hset_add(h, k) != 0)
		return ERR_NOMEM;
	return (double)(h->n + (size_t)h->has_zero) > s->threshold ? smart_convert(s) : 0;
}

MVU(smart_update, SmartSt, sv_each_k, put_smart)

static int
smart_merge(void *dv, const void *sv)
{
	SmartSt *d = dv;
	const SmartSt *s = sv;
	int rc;
	if (s->h.reg != NULL) {
		if ((rc = smart_convert(d)) != 0)
			return rc;
		return hll_merge(&d->h, &s->h);
	}
	if (s->d.set == NULL)
		return 0;
	if (d->h.reg != NULL) {
		if (s->d.set->has_zero && put_hll(&d->h, 0) != 0)
			return ERR_NOMEM;
		for (size_t i = 0; i < s->d.set->cap; i++)
			if (s->d.set->keys[i] != 0 && put_hll(&d->h, s->d.set->keys[i]) != 0)
				return ERR_NOMEM;
		return 0;
	}
	if ((rc = dist_merge(&d->d, &s->d)) != 0)
		return rc;
	return (double)(d->d.set->n + (size_t)d->d.set->has_zero) > d->threshold ? smart_convert(d) : 0;
}

static void
smart_final(const void *st, WbType t, Value *out)
{
	const SmartSt *s = st;
	if (s->h.reg != NULL)
		hll_final(&s->h, t, out);
	else
		dist_final(&s->d, t, out);
}

/* Serialized: threshold, then u8 0 and the exact form or u8 1 and the
 * HyperLogLog form. */
static void
smart_ser(const void *st, Buf *o)
{
	const SmartSt *s = st;
	uint8_t f = s->h.reg != NULL;
	buf_append(o, &s->threshold, 8);
	buf_append(o, &f, 1);
	if (f)
		hll_ser(&s->h, o);
	else
		dist_ser(&s->d, o);
}

static int
smart_de(void *st, const char *p, size_t n, size_t *used, Err *e)
{
	SmartSt *s = st;
	int rc;
	if (n < 9 || (p[8] != 0 && p[8] != 1))
		return err_set(e, ERR_CORRUPT, "smart HyperLogLog state truncated or invalid");
	memcpy(&s->threshold, p, 8);
	if (p[8] == 1)
		rc = hll_de(&s->h, p + 9, n - 9, used, e);
	else
		rc = dist_de(&s->d, p + 9, n - 9, used, e);
	if (rc != 0)
		return rc;
	*used += 9;
	return 0;
}

static void
smart_destroy(void *st)
{
	SmartSt *s = st;
	dist_destroy(&s->d);
	hll_destroy(&s->h);
}

/* ---- PERCENTILEEST: Pinot's q-digest holds longs ---- */

/* Java's (long) x: NaN is 0, out of range saturates. */
static double
java_long(double x)
{
	if (isnan(x))
		return 0;
	if (x >= 9223372036854775807.0)
		return 9223372036854775807.0;
	if (x <= -9223372036854775808.0)
		return -9223372036854775808.0;
	return (double)(int64_t)x;
}

static int put_td_long(void *st, double x) { return td_add(st, java_long(x), 1); }

MVU(tdl_update, TdSt, sv_each_d, put_td_long)
MVU(tdlmv_update, TdSt, mv_each_d, put_td_long)

/* ---- BIT_AND, BIT_OR, BIT_XOR (PostgreSQL's aggregates) ---- */

typedef struct { int64_t v; int64_t has; } BitSt;

static void bit_init(void *st) { memset(st, 0, sizeof(BitSt)); }

static inline void
bit_put(BitSt *s, int64_t x, int op)
{
	if (!s->has)
		s->v = x;
	else if (op == 0)
		s->v &= x;
	else if (op == 1)
		s->v |= x;
	else
		s->v ^= x;
	s->has = 1;
}

static int
bit_update(char *states, const uint32_t *gidx, const Vec *a, const uint16_t *sel, int nsel, int op)
{
	if (a->enc != VEC_I64)
		return ERR_TYPE;
	for (int k = 0; k < nsel; k++) {
		int r = ROW(k);
		if (!isnull(a, r))
			bit_put(ST(BitSt, r), a->i[r], op);
	}
	return 0;
}

static int bitand_update(char *s, const uint32_t *g, const Vec *a, const uint16_t *sel, int n) { return bit_update(s, g, a, sel, n, 0); }
static int bitor_update(char *s, const uint32_t *g, const Vec *a, const uint16_t *sel, int n) { return bit_update(s, g, a, sel, n, 1); }
static int bitxor_update(char *s, const uint32_t *g, const Vec *a, const uint16_t *sel, int n) { return bit_update(s, g, a, sel, n, 2); }

static int
bit_merge(void *dv, const void *sv, int op)
{
	const BitSt *s = sv;
	if (s->has)
		bit_put(dv, s->v, op);
	return 0;
}

static int bitand_merge(void *d, const void *s) { return bit_merge(d, s, 0); }
static int bitor_merge(void *d, const void *s) { return bit_merge(d, s, 1); }
static int bitxor_merge(void *d, const void *s) { return bit_merge(d, s, 2); }

static void
bit_final(const void *st, WbType t, Value *out)
{
	const BitSt *s = st;
	if (!s->has)
		*out = value_null(t);
	else if (t == TYPE_INT)
		*out = value_int(t, (int32_t)s->v);
	else
		*out = value_int(t, s->v);
}

static void bit_ser(const void *st, Buf *o) { raw_ser(st, sizeof(BitSt), o); }
static int bit_de(void *st, const char *p, size_t n, size_t *u, Err *e) { return raw_de(st, sizeof(BitSt), p, n, u, e); }

/* ---- FUNNELCOUNT(STEPS(c1, ..., cn), CORRELATE_BY(id)) ---- */

/* One distinct set of correlation ids per step (ids keyed as
 * COUNT(DISTINCT) keys them); the result, computed by finalize into res
 * (owned by the state), is the per-step count of ids that matched that
 * step and every earlier one. */
typedef struct {
	HSet *set[AGG_FUNNEL_MAX];
	Value *res;		/* nsteps LONG elements, allocated with the first id */
	int64_t nsteps;
} FunnelSt;

#define Z8(t) {.type = t}, {.type = t}, {.type = t}, {.type = t}, \
	      {.type = t}, {.type = t}, {.type = t}, {.type = t}
#define O8(t) {.type = t, .u.i = 1}, {.type = t, .u.i = 1}, {.type = t, .u.i = 1}, \
	      {.type = t, .u.i = 1}, {.type = t, .u.i = 1}, {.type = t, .u.i = 1}, \
	      {.type = t, .u.i = 1}, {.type = t, .u.i = 1}

/* The result of a FUNNELCOUNT that saw no id: a 0 per step, as Pinot */
static const Value funnel_zeros[AGG_FUNNEL_MAX] = {
	Z8(TYPE_LONG), Z8(TYPE_LONG), Z8(TYPE_LONG), Z8(TYPE_LONG)
};

/* FUNNELMATCHSTEP's results: k steps reached = the n elements from
 * match_flags[AGG_FUNNEL_MAX - k] (k ones, then zeros) */
static const Value match_flags[2 * AGG_FUNNEL_MAX] = {
	O8(TYPE_INT), O8(TYPE_INT), O8(TYPE_INT), O8(TYPE_INT),
	Z8(TYPE_INT), Z8(TYPE_INT), Z8(TYPE_INT), Z8(TYPE_INT)
};

static void funnel_init(void *st) { memset(st, 0, sizeof(FunnelSt)); }

static void
funnel_param(void *st, double n)
{
	FunnelSt *s = st;
	s->nsteps = n >= 1 && n <= AGG_FUNNEL_MAX ? (int64_t)n : 1;
}

static int
funnel_sets(FunnelSt *s)
{
	if (s->res == NULL && (s->res = mem_calloc((size_t)s->nsteps, sizeof(Value))) == NULL)
		return ERR_NOMEM;
	for (int64_t j = 0; j < s->nsteps; j++)
		if (s->set[j] == NULL && (s->set[j] = mem_calloc(1, sizeof(HSet))) == NULL)
			return ERR_NOMEM;
	return 0;
}

static int
funnel_update(char *states, const uint32_t *gidx, const Vec *a, const uint16_t *sel, int nsel)
{
	(void)states; (void)gidx; (void)a; (void)sel; (void)nsel;
	return ERR_UNSUPPORTED;	/* see agg_update2 */
}

/* Adds id key to the sets of the steps in mask. */
static int
funnel_add(FunnelSt *s, uint64_t key, uint64_t mask)
{
	for (int64_t j = 0; j < s->nsteps; j++) {
		if (!((mask >> j) & 1))
			continue;
		if (funnel_sets(s) != 0 || hset_add(s->set[j], key) != 0)
			return ERR_NOMEM;
	}
	return 0;
}

/* FUNNELCOUNT's agg_update2: corr the ids, mask the steps' bit masks. */
static int
funnel_update2(char *states, const uint32_t *gidx, const Vec *corr, const Vec *mask, const uint16_t *sel,
	       int nsel)
{
	if (mask->enc != VEC_I64)
		return ERR_TYPE;
	for (int k = 0; k < nsel; k++) {
		int r = ROW(k);
		uint64_t key;
		if (isnull(corr, r) || isnull(mask, r) || mask->i[r] == 0)
			continue;
		if (sv_key(corr, r, &key) != 0)
			return ERR_UNSUPPORTED;
		int rc = funnel_add(ST(FunnelSt, r), key, (uint64_t)mask->i[r]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
agg_update_funnel(char *states, const uint32_t *gidx, const Vec *corr, const Vec *const *steps, int nsteps,
		  const uint16_t *sel, int nsel)
{
	if (nsteps < 1 || nsteps > AGG_FUNNEL_MAX)
		return ERR_INTERNAL;
	for (int j = 0; j < nsteps; j++)
		if (steps[j]->enc != VEC_I64)
			return ERR_TYPE;
	for (int k = 0; k < nsel; k++) {
		int r = ROW(k);
		uint64_t key, mask = 0;
		if (isnull(corr, r))
			continue;
		if (sv_key(corr, r, &key) != 0)
			return ERR_UNSUPPORTED;
		FunnelSt *s = ST(FunnelSt, r);
		if (s->nsteps != nsteps)
			return ERR_INTERNAL;	/* setparam was not given the step count */
		for (int j = 0; j < nsteps; j++)
			if (!isnull(steps[j], r) && steps[j]->i[r] != 0)
				mask |= UINT64_C(1) << j;
		int rc = funnel_add(s, key, mask);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
hset_has(const HSet *h, uint64_t k)
{
	if (h == NULL)
		return 0;
	if (k == 0)
		return h->has_zero;
	if (h->cap == 0)
		return 0;
	size_t j = hash_u64(k) & (h->cap - 1);
	while (h->keys[j] != 0) {
		if (h->keys[j] == k)
			return 1;
		j = (j + 1) & (h->cap - 1);
	}
	return 0;
}

static int
funnel_merge(void *dv, const void *sv)
{
	FunnelSt *d = dv;
	const FunnelSt *s = sv;
	if (s->res == NULL)
		return 0;
	if (d->nsteps != s->nsteps)
		return ERR_INTERNAL;
	if (funnel_sets(d) != 0)
		return ERR_NOMEM;
	for (int64_t j = 0; j < s->nsteps; j++) {
		DistSt dd = {d->set[j]}, ss = {s->set[j]};
		if (dist_merge(&dd, &ss) != 0)
			return ERR_NOMEM;
	}
	return 0;
}

/* Counts the ids of step 0 that reach each later step. */
static void
funnel_count(const FunnelSt *s, int64_t *cnt)
{
	const HSet *h0 = s->set[0];
	memset(cnt, 0, sizeof(int64_t) * (size_t)s->nsteps);
	if (h0 == NULL)
		return;
	for (size_t i = 0; i <= h0->cap; i++) {
		uint64_t k;
		if (i == h0->cap) {
			if (!h0->has_zero)
				break;
			k = 0;
		} else if ((k = h0->keys[i]) == 0) {
			continue;
		}
		for (int64_t j = 0; j < s->nsteps && (j == 0 || hset_has(s->set[j], k)); j++)
			cnt[j]++;
	}
}

/* A LONG multi-value result of nsteps elements; it points into the
 * state (valid until destroy), or to constant zeros when no row matched
 * a step (Pinot's answer then). */
static void
funnel_final(const void *st, WbType t, Value *out)
{
	const FunnelSt *s = st;
	int64_t cnt[AGG_FUNNEL_MAX];
	(void)t;
	memset(out, 0, sizeof(*out));
	out->type = TYPE_LONG;
	out->mv = 1;
	out->n = (uint32_t)s->nsteps;
	if (s->res == NULL) {
		out->u.mv = funnel_zeros;
		return;
	}
	funnel_count(s, cnt);
	for (int64_t j = 0; j < s->nsteps; j++)
		s->res[j] = value_int(TYPE_LONG, cnt[j]);
	out->u.mv = s->res;
}

/* Serialized: u8 step count (0 = empty), then each step's set in the
 * COUNT(DISTINCT) form. */
static void
funnel_ser(const void *st, Buf *o)
{
	const FunnelSt *s = st;
	uint8_t n = s->res ? (uint8_t)s->nsteps : 0;
	buf_append(o, &n, 1);
	for (int j = 0; j < n; j++) {
		DistSt d = {s->set[j]};
		dist_ser(&d, o);
	}
}

static int
funnel_de(void *st, const char *p, size_t n, size_t *used, Err *e)
{
	FunnelSt *s = st;
	size_t off = 1;
	if (n < 1 || (uint8_t)p[0] > AGG_FUNNEL_MAX || (p[0] != 0 && s->nsteps != (uint8_t)p[0]))
		return err_set(e, ERR_CORRUPT, "funnel state truncated or for another step count");
	if (p[0] != 0 && funnel_sets(s) != 0)
		return err_set(e, ERR_NOMEM, "out of memory");
	for (int j = 0; j < (uint8_t)p[0]; j++) {
		DistSt d = {s->set[j]};
		size_t u = 0;
		int rc = dist_de(&d, p + off, n - off, &u, e);
		s->set[j] = d.set;
		if (rc != 0)
			return rc;
		off += u;
	}
	*used = off;
	return 0;
}

static void
funnel_destroy(void *st)
{
	FunnelSt *s = st;
	for (int j = 0; j < AGG_FUNNEL_MAX; j++) {
		DistSt d = {s->set[j]};
		dist_destroy(&d);
		s->set[j] = NULL;
	}
	mem_free(s->res);
	s->res = NULL;
}

/* ---- FUNNELMAXSTEP / FUNNELMATCHSTEP / FUNNELCOMPLETECOUNT ---- */

/* The events (time, index of the first step the row matched; -1 = none,
 * kept in KEEP_ALL mode only) of the group.  finalize sorts them by
 * (time, step) and walks them as Pinot does: a window opens at a step-0
 * event and takes the following events while time < start + window (and,
 * with a maximum step duration, while each is at most that after the
 * one before); the window is scored, its first event dropped, and the
 * next window opens at the next step-0 event still held or yet to come.
 * The walk stops once no event is left to add, as Pinot's does. */
typedef struct { int64_t ts; int32_t step; int32_t pad_; } FmsEv;

typedef struct {
	FmsEv *ev;
	uint64_t n, cap;
	int64_t window;		/* 0 = not configured */
	int64_t maxdur;		/* 0 = none */
	int32_t nsteps;
	int32_t modes;
} FmsSt;

static void fms_init(void *st) { memset(st, 0, sizeof(FmsSt)); }

static void
fms_param(void *st, double n)
{
	FmsSt *s = st;
	s->nsteps = n >= 1 && n <= AGG_FUNNEL_MAX ? (int32_t)n : 1;
}

static int
is_windowed(AggKind k)
{
	return k == AGG_FUNNEL_MAX_STEP || k == AGG_FUNNEL_MATCH_STEP || k == AGG_FUNNEL_COMPLETE_COUNT;
}

int
agg_is_funnel(AggKind k)
{
	return k == AGG_FUNNEL_COUNT || is_windowed(k);
}

void
agg_funnel_config(AggKind k, void *st, int nsteps, int64_t window)
{
	if (is_windowed(k)) {
		FmsSt *s = st;
		fms_param(s, nsteps);
		s->window = window > 0 ? window : 1;
	} else if (k == AGG_FUNNEL_COUNT) {
		funnel_param(st, nsteps);
	}
}

void
agg_plan_init(const PlanAgg *pa, void *st)
{
	if (!is_windowed(pa->kind))
		return;
	FmsSt *s = st;
	fms_param(s, pa->nsteps);
	s->window = pa->window > 0 ? pa->window : 1;
	s->maxdur = pa->max_step_duration > 0 ? pa->max_step_duration : 0;
	s->modes = pa->funnel_modes;
}

static int
fms_put(FmsSt *s, int64_t ts, int32_t step)
{
	if (s->n == s->cap) {
		uint64_t cap = s->cap ? s->cap * 2 : 16;
		FmsEv *v = mem_realloc(s->ev, sizeof(FmsEv) * cap);
		if (v == NULL)
			return ERR_NOMEM;
		s->ev = v;
		s->cap = cap;
	}
	s->ev[s->n].ts = ts;
	s->ev[s->n].step = step;
	s->ev[s->n].pad_ = 0;
	s->n++;
	return 0;
}

static int
fms_update(char *states, const uint32_t *gidx, const Vec *a, const uint16_t *sel, int nsel)
{
	(void)states; (void)gidx; (void)a; (void)sel; (void)nsel;
	return ERR_UNSUPPORTED;	/* see agg_update2 */
}

/* Adds the event (ts, step) to s; step < 0 (no step matched) only in
 * KEEP_ALL mode. */
static int
fms_event(FmsSt *s, int64_t ts, int64_t step)
{
	if (s->window == 0)
		return ERR_INTERNAL;	/* neither agg_plan_init nor agg_funnel_config ran */
	if (step < 0 || step >= s->nsteps) {
		if (!(s->modes & AGG_FUNNEL_KEEP_ALL))
			return 0;
		step = -1;
	}
	return fms_put(s, ts, (int32_t)step) != 0 ? ERR_NOMEM : 0;
}

/* The windowed funnels' agg_update2: ts the times, step the index of
 * the first step each row matched (-1 or NULL: none). */
static int
fms_update2(char *states, const uint32_t *gidx, const Vec *ts, const Vec *step, const uint16_t *sel, int nsel)
{
	if (ts->enc != VEC_I64 || step->enc != VEC_I64)
		return ERR_TYPE;
	for (int k = 0; k < nsel; k++) {
		int r = ROW(k);
		if (isnull(ts, r))
			continue;
		int rc = fms_event(ST(FmsSt, r), ts->i[r], isnull(step, r) ? -1 : step->i[r]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
agg_update_funnel_steps(char *states, const uint32_t *gidx, const Vec *ts, const Vec *const *steps, int nsteps,
			const uint16_t *sel, int nsel)
{
	if (ts->enc != VEC_I64 || nsteps < 1 || nsteps > AGG_FUNNEL_MAX)
		return ERR_TYPE;
	for (int j = 0; j < nsteps; j++)
		if (steps[j]->enc != VEC_I64)
			return ERR_TYPE;
	for (int k = 0; k < nsel; k++) {
		int r = ROW(k);
		if (isnull(ts, r))
			continue;
		FmsSt *s = ST(FmsSt, r);
		if (s->nsteps != nsteps)
			return ERR_INTERNAL;
		int64_t step = -1;
		for (int j = 0; j < nsteps && step < 0; j++)
			if (!isnull(steps[j], r) && steps[j]->i[r] != 0)
				step = j;
		int rc = fms_event(s, ts->i[r], step);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
fms_merge(void *dv, const void *sv)
{
	FmsSt *d = dv;
	const FmsSt *s = sv;
	if (d->window == 0 && s->window != 0) {
		d->window = s->window;
		d->maxdur = s->maxdur;
		d->modes = s->modes;
		d->nsteps = s->nsteps;
	}
	for (uint64_t i = 0; i < s->n; i++)
		if (fms_put(d, s->ev[i].ts, s->ev[i].step) != 0)
			return ERR_NOMEM;
	return 0;
}

static int
evcmp(const void *a, const void *b)
{
	const FmsEv *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->step < y->step ? -1 : x->step > y->step;
}

/* Steps reached in order in the window ev[lo, hi) (ev[lo] is a step-0
 * event), under the modes. */
static int64_t
fms_window(const FmsSt *s, uint64_t lo, uint64_t hi)
{
	int64_t max = 0, prev = 0;
	int have_prev = 0;
	for (uint64_t i = lo; i < hi; i++) {
		int64_t step = s->ev[i].step;
		/* a repeat of the step just reached ends the sequence */
		if ((s->modes & AGG_FUNNEL_STRICT_DEDUPLICATION) && step == max - 1)
			return max;
		/* any event but the next step ends it */
		if ((s->modes & AGG_FUNNEL_STRICT_ORDER) && step != max)
			return max;
		/* steps must come at strictly increasing times */
		if ((s->modes & AGG_FUNNEL_STRICT_INCREASE) && have_prev && prev == s->ev[i].ts)
			continue;
		if (step == max) {
			max++;
			prev = s->ev[i].ts;
			have_prev = 1;
		}
		if (max == s->nsteps)
			break;
	}
	return max;
}

/* FUNNELCOMPLETECOUNT's scoring of the window ev[lo, hi): the times all
 * steps were completed (progress restarts after each); *wstart becomes
 * the time of the last completion (the window's start if none). */
static int64_t
fms_complete(const FmsSt *s, uint64_t lo, uint64_t hi, int64_t *wstart)
{
	int64_t max = 0, prev = 0, done = 0;
	int have_prev = 0;
	*wstart = s->ev[lo].ts;
	for (uint64_t i = lo; i < hi; i++) {
		int64_t step = s->ev[i].step;
		if ((s->modes & AGG_FUNNEL_STRICT_DEDUPLICATION) && step == max - 1)
			max = 0;
		if ((s->modes & AGG_FUNNEL_STRICT_ORDER) && step != max)
			max = 0;
		if ((s->modes & AGG_FUNNEL_STRICT_INCREASE) && have_prev && prev == s->ev[i].ts)
			continue;
		prev = s->ev[i].ts;
		have_prev = 1;
		if (step == max)
			max++;
		if (max == s->nsteps) {
			done++;
			max = 0;
			*wstart = s->ev[i].ts;
		}
	}
	return done;
}

/* The walk (see FmsEv): FUNNELMAXSTEP's best window, or with complete
 * set FUNNELCOMPLETECOUNT's sum over the windows. */
static int64_t
fms_walk(const FmsSt *s, int complete)
{
	const FmsEv *ev = s->ev;
	uint64_t n = s->n, lo = 0, q = 0;
	int64_t best = 0, total = 0;
	while (q < n) {
		while (lo < q && ev[lo].step != 0)
			lo++;
		if (lo == q) {
			while (q < n && ev[q].step != 0)
				q++;
			if (q == n)
				break;
			lo = q++;
		}
		int64_t end = ev[lo].ts > INT64_MAX - s->window ? INT64_MAX : ev[lo].ts + s->window;
		while (q < n && ev[q].ts < end) {
			if (s->maxdur > 0 && (uint64_t)ev[q].ts - (uint64_t)ev[q - 1].ts > (uint64_t)s->maxdur)
				break;
			q++;
		}
		if (complete) {
			int64_t wstart;
			total += fms_complete(s, lo, q, &wstart);
			lo++;
			while (lo < q && ev[lo].ts < wstart)
				lo++;
			continue;
		}
		int64_t got = fms_window(s, lo, q);
		if (got > best)
			best = got;
		if (best == s->nsteps)
			break;
		lo++;
	}
	return complete ? total : best;
}

static void
fms_sort(const FmsSt *s)
{
	/* sorting reorders the kept events only: the state stays equivalent */
	if (s->n > 1)
		qsort(s->ev, s->n, sizeof(FmsEv), evcmp);
}

static void
fms_final(const void *st, WbType t, Value *out)
{
	fms_sort(st);
	*out = value_int(t == TYPE_LONG ? TYPE_LONG : TYPE_INT, fms_walk(st, 0));
}

static void
fmc_final(const void *st, WbType t, Value *out)
{
	fms_sort(st);
	*out = value_int(t == TYPE_LONG ? TYPE_LONG : TYPE_INT, fms_walk(st, 1));
}

/* An INT multi-value of nsteps flags pointing into constant storage. */
static void
fmm_final(const void *st, WbType t, Value *out)
{
	const FmsSt *s = st;
	(void)t;
	fms_sort(s);
	int64_t k = fms_walk(s, 0);
	memset(out, 0, sizeof(*out));
	out->type = TYPE_INT;
	out->mv = 1;
	out->n = (uint32_t)s->nsteps;
	out->u.mv = &match_flags[AGG_FUNNEL_MAX - k];
}

/* Serialized: window, maximum step duration, step count and modes (i32
 * each), event count, then (time i64, step i32) pairs. */
static void
fms_ser(const void *st, Buf *o)
{
	const FmsSt *s = st;
	buf_append(o, &s->window, 8);
	buf_append(o, &s->maxdur, 8);
	buf_append(o, &s->nsteps, 4);
	buf_append(o, &s->modes, 4);
	buf_append(o, &s->n, 8);
	for (uint64_t i = 0; i < s->n; i++) {
		buf_append(o, &s->ev[i].ts, 8);
		buf_append(o, &s->ev[i].step, 4);
	}
}

static int
fms_de(void *st, const char *p, size_t n, size_t *used, Err *e)
{
	FmsSt *s = st;
	uint64_t cnt;
	int64_t w, md;
	int32_t ns, modes;
	if (n < 32)
		return err_set(e, ERR_CORRUPT, "funnel state truncated");
	memcpy(&w, p, 8);
	memcpy(&md, p + 8, 8);
	memcpy(&ns, p + 16, 4);
	memcpy(&modes, p + 20, 4);
	memcpy(&cnt, p + 24, 8);
	if (w <= 0 || md < 0 || ns < 1 || ns > AGG_FUNNEL_MAX || cnt > (n - 32) / 12 ||
	    (s->window != 0 && (w != s->window || md != s->maxdur || ns != s->nsteps || modes != s->modes)))
		return err_set(e, ERR_CORRUPT, "funnel state truncated or for another funnel");
	s->window = w;
	s->maxdur = md;
	s->nsteps = ns;
	s->modes = modes;
	for (uint64_t i = 0; i < cnt; i++) {
		int64_t ts;
		int32_t step;
		memcpy(&ts, p + 32 + i * 12, 8);
		memcpy(&step, p + 40 + i * 12, 4);
		if (step < -1 || step >= ns)
			return err_set(e, ERR_CORRUPT, "funnel state holds step %d of %d", (int)step, (int)ns);
		if (fms_put(s, ts, step) != 0)
			return err_set(e, ERR_NOMEM, "out of memory");
	}
	*used = 32 + cnt * 12;
	return 0;
}

static void
fms_destroy(void *st)
{
	FmsSt *s = st;
	mem_free(s->ev);
	s->ev = NULL;
	s->n = s->cap = 0;
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
	{AGG_PERCENTILE_EST, "percentileest", sizeof(TdSt), td_init, tdl_update, td_merge, td_final, td_ser, td_de, td_destroy, td_param},
	{AGG_PERCENTILE_EST_MV, "percentileestmv", sizeof(TdSt), td_init, tdlmv_update, td_merge, td_final, td_ser, td_de, td_destroy, td_param},
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
	{AGG_SKEWNESS, "skewness", sizeof(MomSt), mom_init, mom_update, mom_merge, skew_final, mom_ser, mom_de, nop_destroy, NULL},
	{AGG_KURTOSIS, "kurtosis", sizeof(MomSt), mom_init, mom_update, mom_merge, kurt_final, mom_ser, mom_de, nop_destroy, NULL},
	{AGG_DISTINCT_SUM, "distinctsum", sizeof(DsumSt), dsum_init, dsum_update, dsum_merge, dsum_final, dsum_ser, dsum_de, dsum_destroy, NULL},
	{AGG_DISTINCT_AVG, "distinctavg", sizeof(DsumSt), dsum_init, dsum_update, dsum_merge, davg_final, dsum_ser, dsum_de, dsum_destroy, NULL},
	{AGG_PERCENTILE_KLL, "percentilekll", sizeof(PctSt), pct_init, pct_update, pct_merge, pctd_final, pct_ser, pct_de, pct_destroy, pct_param},
	{AGG_PERCENTILE_KLL_MV, "percentilekllmv", sizeof(PctSt), pct_init, pctmv_update, pct_merge, pctd_final, pct_ser, pct_de, pct_destroy, pct_param},
	{AGG_SMART_HLL, "distinctcountsmarthll", sizeof(SmartSt), smart_init, smart_update, smart_merge, smart_final, smart_ser, smart_de, smart_destroy, NULL},
	{AGG_BIT_AND, "bit_and", sizeof(BitSt), bit_init, bitand_update, bitand_merge, bit_final, bit_ser, bit_de, nop_destroy, NULL},
	{AGG_BIT_OR, "bit_or", sizeof(BitSt), bit_init, bitor_update, bitor_merge, bit_final, bit_ser, bit_de, nop_destroy, NULL},
	{AGG_BIT_XOR, "bit_xor", sizeof(BitSt), bit_init, bitxor_update, bitxor_merge, bit_final, bit_ser, bit_de, nop_destroy, NULL},
	{AGG_FUNNEL_COUNT, "funnelcount", sizeof(FunnelSt), funnel_init, funnel_update, funnel_merge, funnel_final, funnel_ser, funnel_de, funnel_destroy, funnel_param},
	{AGG_FUNNEL_MAX_STEP, "funnelmaxstep", sizeof(FmsSt), fms_init, fms_update, fms_merge, fms_final, fms_ser, fms_de, fms_destroy, fms_param},
	{AGG_FUNNEL_MATCH_STEP, "funnelmatchstep", sizeof(FmsSt), fms_init, fms_update, fms_merge, fmm_final, fms_ser, fms_de, fms_destroy, fms_param},
	{AGG_FUNNEL_COMPLETE_COUNT, "funnelcompletecount", sizeof(FmsSt), fms_init, fms_update, fms_merge, fmc_final, fms_ser, fms_de, fms_destroy, fms_param},
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
	{"skewness", AGG_SKEWNESS}, {"kurtosis", AGG_KURTOSIS},
	{"distinctsum", AGG_DISTINCT_SUM}, {"distinctavg", AGG_DISTINCT_AVG},
	{"percentilekll", AGG_PERCENTILE_KLL}, {"percentilekllmv", AGG_PERCENTILE_KLL_MV},
	{"segmentpartitioneddistinctcount", AGG_COUNT_DISTINCT},
	{"distinctcountsmarthll", AGG_SMART_HLL},
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
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (exprfn_name_eq(name, names[i].name)) {
			*out = names[i].kind;
			return 0;
		}
	return -1;
}

int
agg_lookup_args(const char *name, int distinct, int nargs, AggKind *out)
{
	static const struct { const char *name; AggKind kind; } bits[] = {
		{"bit_and", AGG_BIT_AND}, {"bit_or", AGG_BIT_OR}, {"bit_xor", AGG_BIT_XOR},
	};
	static const struct { const char *name; AggKind kind; } funnels[] = {
		{"funnelcount", AGG_FUNNEL_COUNT}, {"funnelmaxstep", AGG_FUNNEL_MAX_STEP},
		{"funnelmatchstep", AGG_FUNNEL_MATCH_STEP}, {"funnelcompletecount", AGG_FUNNEL_COMPLETE_COUNT},
	};
	/* any argument count: the binder says what is missing */
	for (size_t i = 0; i < sizeof(funnels) / sizeof(funnels[0]); i++)
		if (exprfn_name_eq(name, funnels[i].name)) {
			*out = funnels[i].kind;
			return 0;
		}
	if (nargs == 1)
		for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
			if (strcmp(name, bits[i].name) == 0) {
				*out = bits[i].kind;
				return 0;
			}
	return agg_lookup(name, distinct, out);
}

void
agg_const_args(AggKind k, int *lo, int *hi)
{
	*lo = *hi = 0;
	switch (k) {
	case AGG_PERCENTILE: case AGG_PERCENTILE_MV: case AGG_PERCENTILE_EST:
	case AGG_PERCENTILE_EST_MV: case AGG_PERCENTILE_CONT: case AGG_PERCENTILE_DISC:
		*lo = *hi = 1;
		break;
	case AGG_PERCENTILE_TDIGEST: case AGG_PERCENTILE_TDIGEST_MV:
	case AGG_PERCENTILE_KLL: case AGG_PERCENTILE_KLL_MV:
		*lo = 1;	/* then t-digest's compression / KLL's k */
		*hi = 2;
		break;
	case AGG_HLL: case AGG_HLL_MV: case AGG_SMART_HLL:
		*hi = 1;
		break;
	default:
		break;
	}
}

/* Parses Pinot's 'key=value;key=value' options of DISTINCTCOUNTSMARTHLL:
 * hllConversionThreshold (or threshold) and hllLog2m, positive
 * integers; algorithm (hll / hllplus) is accepted. */
static int
smart_options(const char *fname, const char *s, uint32_t n, double *threshold, Err *e)
{
	uint32_t i = 0;
	while (i < n) {
		uint32_t ks = i;
		while (i < n && s[i] != '=' && s[i] != ';')
			i++;
		uint32_t kn = i - ks;
		while (kn > 0 && isspace((unsigned char)s[ks + kn - 1]))
			kn--;
		while (kn > 0 && isspace((unsigned char)s[ks])) {
			ks++;
			kn--;
		}
		if (kn == 0 && (i >= n || s[i] == ';')) {
			i++;
			continue;
		}
		if (i >= n || s[i] != '=')
			return err_set(e, ERR_TYPE, "%s: option '%.*s' needs a value (key=value)", fname,
				       (int)kn, s + ks);
		i++;
		uint32_t vs = i;
		while (i < n && s[i] != ';')
			i++;
		char val[32];
		uint32_t vn = i - vs;
		while (vn > 0 && isspace((unsigned char)s[vs])) {
			vs++;
			vn--;
		}
		while (vn > 0 && isspace((unsigned char)s[vs + vn - 1]))
			vn--;
		i++;
		int is_thr = (kn == 22 && strncasecmp(s + ks, "hllConversionThreshold", 22) == 0) ||
			     (kn == 9 && strncasecmp(s + ks, "threshold", 9) == 0);
		int is_log = kn == 8 && strncasecmp(s + ks, "hllLog2m", 8) == 0;
		if (kn == 9 && strncasecmp(s + ks, "algorithm", 9) == 0) {
			if (!((vn == 3 && strncasecmp(s + vs, "hll", 3) == 0) ||
			      (vn == 7 && strncasecmp(s + vs, "hllplus", 7) == 0)))
				return err_set(e, ERR_TYPE, "%s: algorithm must be 'hll' or 'hllplus', not '%.*s'",
					       fname, (int)vn, s + vs);
			continue;
		}
		if (kn == 4 && strncasecmp(s + ks, "hllp", 4) == 0)
			is_log = 1;
		if (!is_thr && !is_log)
			return err_set(e, ERR_TYPE,
				       "%s: unknown option '%.*s' (hllConversionThreshold, hllLog2m, algorithm)",
				       fname, (int)kn, s + ks);
		char *end;
		if (vn == 0 || vn >= sizeof(val))
			return err_set(e, ERR_TYPE, "%s: option '%.*s' needs a positive integer", fname, (int)kn,
				       s + ks);
		memcpy(val, s + vs, vn);
		val[vn] = '\0';
		long long x = strtoll(val, &end, 10);
		if (*end != '\0' || x <= 0 || (is_log && x > 30))
			return err_set(e, ERR_TYPE, "%s: option '%.*s' must be a positive integer%s, not '%s'",
				       fname, (int)kn, s + ks, is_log ? " up to 30" : "", val);
		if (is_thr)
			*threshold = (double)x;
	}
	return 0;
}

int
agg_const_arg(AggKind k, const char *fname, int i, const Value *v, double *param, Err *e)
{
	int num = !v->null && type_is_numeric((WbType)v->type) && v->type != TYPE_BOOLEAN;
	double x = !num ? 0 : type_is_float((WbType)v->type) ? v->u.d : (double)v->u.i;
	switch (k) {
	case AGG_PERCENTILE_CONT: case AGG_PERCENTILE_DISC:
		if (i != 1 || !num || !(x >= 0 && x <= 1))
			return err_set(e, ERR_TYPE, "the fraction of %s must be a number constant between 0 and 1",
				       fname);
		*param = x * 100;	/* the state keeps percent */
		return 0;
	case AGG_PERCENTILE: case AGG_PERCENTILE_MV: case AGG_PERCENTILE_EST:
	case AGG_PERCENTILE_EST_MV: case AGG_PERCENTILE_TDIGEST: case AGG_PERCENTILE_TDIGEST_MV:
	case AGG_PERCENTILE_KLL: case AGG_PERCENTILE_KLL_MV:
		if (i == 1) {
			if (!num || !(x >= 0 && x <= 100))
				return err_set(e, ERR_TYPE,
					       "the percentile of %s must be a number constant between 0 and 100",
					       fname);
			*param = x;
			return 0;
		}
		if (i == 2 && num && x >= 1 && x <= 1e6 && x == floor(x))
			return 0;	/* compression / k: Waybill's own size is kept */
		return err_set(e, ERR_TYPE, "argument %d of %s (%s) must be an integer constant between 1 and 1000000",
			       i + 1, fname,
			       k == AGG_PERCENTILE_KLL || k == AGG_PERCENTILE_KLL_MV ? "k" : "compression");
	case AGG_HLL: case AGG_HLL_MV:
		/* log2m: Waybill's registers stay 2^12 (at least as precise) */
		if (i == 1 && num && x >= 1 && x <= 30 && x == floor(x))
			return 0;
		return err_set(e, ERR_TYPE, "the log2m of %s must be an integer constant between 1 and 30", fname);
	case AGG_SMART_HLL:
		if (i != 1 || v->null || !type_is_var((WbType)v->type))
			return err_set(e, ERR_TYPE,
				       "the options of %s must be a string constant like 'hllConversionThreshold=100000;hllLog2m=12'",
				       fname);
		*param = SMART_THRESHOLD;
		return smart_options(fname, v->u.s ? v->u.s : "", v->u.s ? v->n : 0, param, e);
	default:
		return err_set(e, ERR_TYPE, "%s takes no argument %d", fname, i + 1);
	}
}

int
agg_is_two_arg(AggKind k)
{
	return k == AGG_ARG_MAX || k == AGG_ARG_MIN || k == AGG_LAST_WITH_TIME ||
	       k == AGG_FIRST_WITH_TIME;
}

int
agg_result_mv(AggKind k)
{
	return k == AGG_FUNNEL_COUNT || k == AGG_FUNNEL_MATCH_STEP;
}

int
agg_is_mv(AggKind k)
{
	switch (k) {
	case AGG_COUNT_MV: case AGG_SUM_MV: case AGG_MIN_MV: case AGG_MAX_MV: case AGG_AVG_MV:
	case AGG_MINMAXRANGE_MV: case AGG_DISTINCT_MV: case AGG_PERCENTILE_MV:
	case AGG_PERCENTILE_EST_MV: case AGG_PERCENTILE_TDIGEST_MV: case AGG_HLL_MV:
	case AGG_PERCENTILE_KLL_MV:
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
	case AGG_SMART_HLL:
	case AGG_FUNNEL_COUNT:
		*out = TYPE_LONG;
		return 0;
	case AGG_FUNNEL_MAX_STEP:	/* INT, as Pinot */
	case AGG_FUNNEL_MATCH_STEP:
	case AGG_FUNNEL_COMPLETE_COUNT:
		*out = TYPE_INT;
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
	if ((k == AGG_SKEWNESS || k == AGG_KURTOSIS || k == AGG_DISTINCT_SUM || k == AGG_DISTINCT_AVG ||
	     k == AGG_PERCENTILE_KLL) && (t == TYPE_BOOLEAN || t == TYPE_TIMESTAMP))
		return err_set(e, ERR_TYPE, "%s(%s) is not supported: it takes numbers", funcs[k].name, type_name(t));
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
	case AGG_BIT_AND:
	case AGG_BIT_OR:
	case AGG_BIT_XOR:
		if (t != TYPE_INT && t != TYPE_LONG && t != TYPE_NULL)
			return err_set(e, ERR_TYPE, "%s(%s) is not supported: it takes INT or LONG", funcs[k].name,
				       type_name(t));
		*out = t == TYPE_NULL ? TYPE_INT : t;
		break;
	default:
		*out = TYPE_DOUBLE;
	}
	return 0;
}

