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
 * Exports: agg_func, agg_lookup, agg_result_type.
 */
#include "query/agg.h"
#include "base/hash.h"
#include "base/mem.h"

#include <math.h>
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
			const char *p = mutcol_dict_get(a->col, a->ids[r], &len);
			key = hash_bytes(p ? p : "", len);
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

static void nop_destroy(void *st) { (void)st; }

static const AggFunc funcs[] = {
	{AGG_COUNT_STAR, "count", sizeof(CountSt), count_init, count_star_update, count_merge, count_final, count_ser, count_de, nop_destroy},
	{AGG_COUNT, "count", sizeof(CountSt), count_init, count_update, count_merge, count_final, count_ser, count_de, nop_destroy},
	{AGG_SUM, "sum", sizeof(SumSt), sum_init, sum_update, sum_merge, sum_final, sum_ser, sum_de, nop_destroy},
	{AGG_MIN, "min", sizeof(MmSt), mm_init, min_update, min_merge, mm_final, mm_ser, mm_de, nop_destroy},
	{AGG_MAX, "max", sizeof(MmSt), mm_init, max_update, max_merge, mm_final, mm_ser, mm_de, nop_destroy},
	{AGG_AVG, "avg", sizeof(AvgSt), avg_init, avg_update, avg_merge, avg_final, avg_ser, avg_de, nop_destroy},
	{AGG_COUNT_DISTINCT, "count", sizeof(DistSt), dist_init, dist_update, dist_merge, dist_final, dist_ser, dist_de, dist_destroy},
	{AGG_MINMAXRANGE, "minmaxrange", sizeof(RangeSt), range_init, range_update, range_merge, range_final, range_ser, range_de, nop_destroy},
};

const AggFunc *
agg_func(AggKind k)
{
	return &funcs[k];
}

int
agg_lookup(const char *name, int distinct, AggKind *out)
{
	if (strcmp(name, "count") == 0)
		*out = distinct ? AGG_COUNT_DISTINCT : AGG_COUNT;
	else if (strcmp(name, "distinctcount") == 0)
		*out = AGG_COUNT_DISTINCT;
	else if (strcmp(name, "sum") == 0)
		*out = AGG_SUM;
	else if (strcmp(name, "min") == 0)
		*out = AGG_MIN;
	else if (strcmp(name, "max") == 0)
		*out = AGG_MAX;
	else if (strcmp(name, "avg") == 0)
		*out = AGG_AVG;
	else if (strcmp(name, "minmaxrange") == 0)
		*out = AGG_MINMAXRANGE;
	else
		return -1;
	return 0;
}

int
agg_result_type(AggKind k, WbType t, WbType *out, Err *e)
{
	switch (k) {
	case AGG_COUNT_STAR:
	case AGG_COUNT:
	case AGG_COUNT_DISTINCT:
		*out = TYPE_LONG;
		return 0;
	default:
		break;
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
	default:
		*out = TYPE_DOUBLE;
	}
	return 0;
}
