/*
 * lcanswer.c -- life-cycle answers as JSON: where-is, stuck, gaps,
 * funnel, attribution.
 *
 * Where-is looks one entity up (a hash probe and a derivation: a few
 * microseconds).  The other questions scan every entity of the flow
 * (lcstate_scan, one shard locked at a time), filter in the scan's
 * callback and copy what they keep -- a small record per matching entity,
 * its key in an arena -- then sort and page outside the locks.  Scans
 * cost about 10-50 ns per entity, so a few hundred milliseconds at 10 M
 * entities: meant for dashboards and bots polling every few seconds,
 * not per-event use.
 *
 * Durations (funnel percentiles, attribution's dwell times) go into
 * log-scale histograms with 2% wide buckets, so percentiles are exact to
 * 2% and cost fixed memory whatever the number of entities.
 *
 * Definitions (docs/lifecycle.md):
 *   stuck        not terminal and past its deadline (first time of the
 *                current stage + its SLA);
 *   late         not terminal, not stuck, in its stage longer than
 *                lateFraction (default 0.5) of the stage's SLA;
 *   detectedAt   the wall-clock time the tracker first saw an entity
 *                stuck (at the event that made it so, or at the sweep
 *                after its deadline): what detection delay is measured by;
 *   holder       the service expected to act next: the one that most
 *                often enters the current stage's first next stage;
 *   attribution  per holder service (and per stage), its share of the
 *                stuck + late entities now, against its share of the
 *                late transitions (dwell over the same threshold)
 *                completed in the baseline window; excess = share now
 *                - baseline share, sorted descending.
 *
 * Exports: lcanswer_entity, lcanswer_query.
 */
#include "lifecycle/lcanswer.h"
#include "base/arena.h"
#include "base/clock.h"
#include "base/mem.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LIMIT 10000
#define NBUCKETS 1200		/* log1.02 buckets: up to ~2e10 ms */

/* ---- small helpers ------------------------------------------------------------ */

static void
jstr(Buf *out, const char *s)
{
	if (s)
		buf_json_str(out, s, strlen(s));
	else
		buf_puts(out, "null");
}

static void
jkey(Buf *out, const char *k)
{
	buf_json_str(out, k, strlen(k));
	buf_putc(out, ':');
}

static void
jts(Buf *out, int have, int64_t v)
{
	if (have)
		buf_i64(out, v);
	else
		buf_puts(out, "null");
}

static const char *
stage_name(const FlowDef *d, int s)
{
	return s >= 0 && s < d->nstages ? d->stages[s].name : NULL;
}

static void
jmask(Buf *out, const FlowDef *d, uint64_t m)
{
	buf_putc(out, '[');
	for (int first = 1; m; m &= m - 1, first = 0) {
		if (!first)
			buf_putc(out, ',');
		jstr(out, d->stages[__builtin_ctzll(m)].name);
	}
	buf_putc(out, ']');
}

static int
bucket_of(int64_t ms)
{
	if (ms < 1)
		return 0;
	int b = (int)(log((double)ms) / log(1.02)) + 1;
	return b >= NBUCKETS ? NBUCKETS - 1 : b;
}

static int64_t
bucket_ms(int b)
{
	return b == 0 ? 0 : (int64_t)llround(pow(1.02, (double)b - 0.5));
}

static int64_t
hist_pct(const uint64_t *h, uint64_t n, double p)
{
	if (n == 0)
		return -1;
	uint64_t want = (uint64_t)ceil(p * (double)n), acc = 0;
	if (want == 0)
		want = 1;
	for (int b = 0; b < NBUCKETS; b++) {
		acc += h[b];
		if (acc >= want)
			return bucket_ms(b);
	}
	return bucket_ms(NBUCKETS - 1);
}

/* Integer parameter; 0 with *v set (or untouched when absent). */
static int
arg_int(LcArgFn arg, void *ctx, const char *name, int64_t lo, int64_t hi, int64_t *v, Err *e)
{
	const char *s = arg ? arg(ctx, name) : NULL;
	if (s == NULL || *s == '\0')
		return 0;
	char *end;
	errno = 0;
	long long x = strtoll(s, &end, 10);
	if (errno || *end || x < lo || x > hi)
		return err_set(e, ERR_INVALID, "parameter %s: \"%.100s\" is not an integer from %lld to %lld",
			       name, s, (long long)lo, (long long)hi);
	*v = x;
	return 0;
}

/* A duration parameter: "10m", "1h30m", or milliseconds. */
static int
arg_dur(LcArgFn arg, void *ctx, const char *name, int64_t *v, Err *e)
{
	const char *s = arg ? arg(ctx, name) : NULL;
	if (s == NULL || *s == '\0')
		return 0;
	char *end;
	errno = 0;
	long long x = strtoll(s, &end, 10);
	if (!errno && *end == '\0' && x >= 0) {
		*v = x;
		return 0;
	}
	int64_t ms;
	if (flowdef_duration(s, &ms) != 0)
		return err_set(e, ERR_INVALID,
			       "parameter %s: \"%.100s\" is not a duration (e.g. 90s, 10m, 2h, or "
			       "milliseconds)",
			       name, s);
	*v = ms;
	return 0;
}

static int
arg_double(LcArgFn arg, void *ctx, const char *name, double lo, double hi, double *v, Err *e)
{
	const char *s = arg ? arg(ctx, name) : NULL;
	if (s == NULL || *s == '\0')
		return 0;
	char *end;
	errno = 0;
	double x = strtod(s, &end);
	if (errno || *end || !(x >= lo && x <= hi))
		return err_set(e, ERR_INVALID, "parameter %s: \"%.100s\" is not a number from %g to %g",
			       name, s, lo, hi);
	*v = x;
	return 0;
}

/* Filters shared by the questions: stage, service (holder), dimensions. */
typedef struct Filter {
	int stage;		/* -1: any */
	const char *service;	/* holder service name, or NULL */
	const char *dim[FLOW_MAX_DIMS];	/* wanted value, or NULL */
} Filter;

static int
parse_filter(const FlowDef *d, LcArgFn arg, void *ctx, Filter *f, Err *e)
{
	memset(f, 0, sizeof(*f));
	f->stage = -1;
	const char *s = arg ? arg(ctx, "stage") : NULL;
	if (s && *s) {
		f->stage = flowdef_stage(d, s, strlen(s));
		if (f->stage < 0)
			return err_set(e, ERR_INVALID, "parameter stage: flow %s has no stage \"%.100s\"",
				       d->name, s);
	}
	s = arg ? arg(ctx, "service") : NULL;
	if (s && *s)
		f->service = s;
	for (int i = 0; i < d->ndims; i++) {
		s = arg ? arg(ctx, d->dims[i]) : NULL;
		if (s && *s)
			f->dim[i] = s;
	}
	return 0;
}

static int
dims_match(const FlowDef *d, LcState *st, const Filter *f, const LcView *v)
{
	for (int i = 0; i < d->ndims; i++) {
		if (f->dim[i] == NULL)
			continue;
		const char *x = v->dims[i] ? lcstate_dim(st, v->dims[i]) : NULL;
		if (x == NULL || strcmp(x, f->dim[i]) != 0)
			return 0;
	}
	return 1;
}

static void
jdims(Buf *out, const FlowDef *d, LcState *st, const uint32_t *dims)
{
	buf_putc(out, '{');
	for (int i = 0; i < d->ndims; i++) {
		if (i)
			buf_putc(out, ',');
		jkey(out, d->dims[i]);
		jstr(out, dims[i] ? lcstate_dim(st, dims[i]) : NULL);
	}
	buf_putc(out, '}');
}

/* ---- where-is ---------------------------------------------------------------- */

typedef struct EntCtx {
	const FlowDef *d;
	LcState *st;
	int64_t now;
	Buf *out;
} EntCtx;

static void
anomalies(Buf *out, const FlowDef *d, const LcView *v, int64_t now)
{
	int first = 1;
	buf_putc(out, '[');
	if (v->flags & LC_F_STUCK) {
		first = 0;
		buf_puts(out, "{\"kind\":\"stuck\",\"stage\":");
		jstr(out, stage_name(d, v->cur));
		buf_printf(out, ",\"detail\":\"in %s since %lld; deadline %lld passed %lld ms ago\"}",
			   stage_name(d, v->cur), (long long)v->since, (long long)v->deadline,
			   (long long)(now - v->deadline));
	}
	for (uint64_t m = v->skipped; m; m &= m - 1) {
		int s = __builtin_ctzll(m);
		/* the stage reached without it */
		int by = -1;
		for (uint64_t r = v->seen; r; r &= r - 1) {
			int x = __builtin_ctzll(r);
			if (d->dom[x] & (1ULL << s)) {
				by = x;
				break;
			}
		}
		if (!first)
			buf_putc(out, ',');
		first = 0;
		buf_puts(out, "{\"kind\":\"skipped\",\"stage\":");
		jstr(out, d->stages[s].name);
		buf_printf(out, ",\"detail\":\"reached %s without %s\"}", stage_name(d, by),
			   d->stages[s].name);
	}
	if (v->contra) {
		for (uint64_t m = v->contra; m; m &= m - 1) {
			int f = __builtin_ctzll(m);
			int k = d->stages[f].kind;
			if (k != FLOW_STAGE_FAILURE && k != FLOW_STAGE_CANCEL)
				continue;
			if (!first)
				buf_putc(out, ',');
			first = 0;
			buf_puts(out, "{\"kind\":\"contradiction\",\"stage\":");
			jstr(out, d->stages[f].name);
			buf_printf(out, ",\"detail\":\"%s together with", d->stages[f].name);
			for (uint64_t o = v->contra & ~(1ULL << f); o; o &= o - 1)
				buf_printf(out, " %s", d->stages[__builtin_ctzll(o)].name);
			buf_puts(out, "\"}");
		}
	}
	buf_putc(out, ']');
}

static void
entity_json(void *arg, const LcView *v)
{
	EntCtx *c = arg;
	const FlowDef *d = c->d;
	Buf *out = c->out;
	int has = v->cur != LC_NO_STAGE;
	buf_puts(out, "{\"flow\":");
	jstr(out, d->name);
	buf_puts(out, ",\"key\":");
	buf_json_str(out, v->key, v->keylen);
	buf_puts(out, ",\"now\":");
	buf_i64(out, c->now);
	buf_puts(out, ",\"stage\":");
	jstr(out, has ? d->stages[v->cur].name : NULL);
	buf_puts(out, ",\"stageSince\":");
	jts(out, has, v->since);
	buf_puts(out, ",\"status\":");
	jstr(out, lcstate_status(c->st, v));
	uint64_t next = 0;
	if (has && !(v->flags & LC_F_TERMINAL))
		for (int i = 0; i < d->stages[v->cur].nnext; i++)
			next |= 1ULL << d->stages[v->cur].next[i];
	buf_puts(out, ",\"next\":");
	jmask(out, d, next);
	buf_puts(out, ",\"deadline\":");
	jts(out, v->deadline != INT64_MAX, v->deadline);
	buf_puts(out, ",\"overdueMs\":");
	buf_i64(out, v->deadline != INT64_MAX && c->now > v->deadline ? c->now - v->deadline : 0);
	buf_puts(out, ",\"detectedAt\":");
	jts(out, (v->flags & LC_F_STUCK) != 0, v->stuck_at ? v->stuck_at : clock_wall_ms());
	buf_puts(out, ",\"holder\":");
	jstr(out, v->holder >= 0 ? lcstate_svc(c->st, v->holder + 1) : NULL);
	buf_puts(out, ",\"lastService\":");
	jstr(out, lcstate_svc(c->st, v->last_svc));
	buf_puts(out, ",\"lastEvent\":");
	jstr(out, lcstate_label(c->st, v->last_label));
	buf_puts(out, ",\"lastTs\":");
	jts(out, v->nev > 0, v->last_ts);
	buf_puts(out, ",\"firstTs\":");
	jts(out, v->nev > 0, v->first_ts);
	buf_printf(out, ",\"events\":%d,\"retries\":%d,\"flags\":{\"stuck\":%s,\"gap\":%s,"
			"\"contradiction\":%s,\"failed\":%s,\"terminal\":%s},\"dims\":",
		   v->events, v->retries, v->flags & LC_F_STUCK ? "true" : "false",
		   v->flags & LC_F_GAP ? "true" : "false", v->flags & LC_F_CONTRA ? "true" : "false",
		   v->flags & LC_F_FAILED ? "true" : "false",
		   v->flags & LC_F_TERMINAL ? "true" : "false");
	jdims(out, d, c->st, v->dims);
	buf_puts(out, ",\"stages\":{");
	int first = 1;
	for (int i = 0; i < d->nstages; i++) {
		if (!((v->seen >> i) & 1))
			continue;
		if (!first)
			buf_putc(out, ',');
		first = 0;
		jkey(out, d->stages[i].name);
		buf_printf(out, "{\"first\":%lld,\"last\":%lld}", (long long)v->first[i],
			   (long long)v->last[i]);
	}
	buf_puts(out, "},\"timeline\":[");
	for (int i = 0; i < v->nev; i++) {
		const LcEvent *x = &v->ev[i];
		if (i)
			buf_putc(out, ',');
		buf_puts(out, "{\"ts\":");
		buf_i64(out, x->ts);
		buf_puts(out, ",\"stage\":");
		jstr(out, x->stage == LC_NO_STAGE ? NULL : stage_name(d, x->stage));
		buf_puts(out, ",\"service\":");
		jstr(out, lcstate_svc(c->st, x->svc));
		buf_puts(out, ",\"table\":");
		jstr(out, x->src < d->nsources ? d->sources[x->src].table : NULL);
		buf_puts(out, ",\"event\":");
		jstr(out, lcstate_label(c->st, x->label));
		buf_putc(out, '}');
	}
	buf_puts(out, "],\"anomalies\":");
	anomalies(out, d, v, c->now);
	buf_putc(out, '}');
}

int
lcanswer_entity(const FlowDef *d, LcState *st, int64_t now, const char *key, Buf *out, Err *e)
{
	EntCtx c = {d, st, now, out};
	if (!lcstate_get(st, key, strlen(key), now, entity_json, &c))
		return err_set(e, ERR_NOT_FOUND, "flow %s has no entity \"%.200s\"", d->name, key);
	return 0;
}

/* ---- stuck and gaps ---------------------------------------------------------- */

typedef struct Hit {
	const char *key;	/* in the arena */
	uint32_t keylen;
	int cur;
	int kind;		/* gaps: 0 skipped, 1 contradiction */
	int holder, last_svc, last_label;
	int64_t since, deadline, overdue, last_ts, stuck_at;
	uint64_t stages;	/* gaps: the skipped / contradicting stages */
	uint32_t dims[FLOW_MAX_DIMS];
} Hit;

typedef struct Scan {
	const FlowDef *d;
	LcState *st;
	int64_t now;
	Filter f;
	int gaps;		/* 0: stuck, 1: gaps */
	int kind;		/* gaps: -1 any, 0 skipped, 1 contradiction */
	int64_t min_age;
	Hit *hits;
	size_t n, cap;
	Arena arena;
	int oom;
} Scan;

static void
add_hit(Scan *s, const LcView *v, int kind, uint64_t stages)
{
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 1024;
		Hit *h = mem_realloc(s->hits, nc * sizeof(Hit));
		if (h == NULL) {
			s->oom = 1;
			return;
		}
		s->hits = h;
		s->cap = nc;
	}
	char *k = arena_strndup(&s->arena, v->key, v->keylen);
	if (k == NULL) {
		s->oom = 1;
		return;
	}
	Hit *h = &s->hits[s->n++];
	h->key = k;
	h->keylen = (uint32_t)v->keylen;
	h->cur = v->cur;
	h->kind = kind;
	h->holder = v->holder;
	h->last_svc = v->last_svc;
	h->last_label = v->last_label;
	h->since = v->since;
	h->deadline = v->deadline;
	h->overdue = v->deadline != INT64_MAX && s->now > v->deadline ? s->now - v->deadline : 0;
	h->last_ts = v->last_ts;
	h->stuck_at = v->stuck_at ? v->stuck_at : clock_wall_ms();
	h->stages = stages;
	memcpy(h->dims, v->dims, sizeof(h->dims));
}

static void
scan_cb(void *arg, const LcView *v)
{
	Scan *s = arg;
	if (s->oom)
		return;
	if (s->f.stage >= 0 && v->cur != s->f.stage)
		return;
	if (!dims_match(s->d, s->st, &s->f, v))
		return;
	if (s->f.service) {
		const char *h = v->holder >= 0 ? lcstate_svc(s->st, v->holder + 1) : NULL;
		if (h == NULL || strcmp(h, s->f.service) != 0)
			return;
	}
	if (!s->gaps) {
		if (!(v->flags & LC_F_STUCK))
			return;
		if (s->min_age > 0 && s->now - v->since < s->min_age)
			return;
		add_hit(s, v, 0, 0);
		return;
	}
	if ((v->flags & LC_F_GAP) && s->kind != 1)
		add_hit(s, v, 0, v->skipped);
	if ((v->flags & LC_F_CONTRA) && s->kind != 0)
		add_hit(s, v, 1, v->contra);
}

static int
cmp_stuck(const void *a, const void *b)
{
	const Hit *x = a, *y = b;
	if (x->overdue != y->overdue)
		return x->overdue > y->overdue ? -1 : 1;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->key, y->key, n);
	return c ? c : (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

static int
cmp_gap(const void *a, const void *b)
{
	const Hit *x = a, *y = b;
	if (x->last_ts != y->last_ts)	/* newest first */
		return x->last_ts > y->last_ts ? -1 : 1;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->key, y->key, n);
	if (c)
		return c;
	if (x->keylen != y->keylen)
		return (x->keylen > y->keylen) - (x->keylen < y->keylen);
	return x->kind - y->kind;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* {"value": count, ...} of the ids ids[0..n) (sorted here). */
static void
count_json(Buf *out, uint32_t *ids, size_t n, const char *(*name)(void *, uint32_t), void *nctx)
{
	qsort(ids, n, sizeof(uint32_t), cmp_u32);
	buf_putc(out, '{');
	int first = 1;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && ids[j] == ids[i])
			j++;
		const char *nm = name(nctx, ids[i]);
		if (!first)
			buf_putc(out, ',');
		first = 0;
		jkey(out, nm ? nm : "null");
		buf_printf(out, "%zu", j - i);
		i = j;
	}
	buf_putc(out, '}');
}

static const char *
name_stage(void *ctx, uint32_t id)
{
	return stage_name(ctx, (int)id);
}

static const char *
name_svc(void *ctx, uint32_t id)
{
	return id ? lcstate_svc(ctx, (int)id) : NULL;
}

static const char *
name_dim(void *ctx, uint32_t id)
{
	return id ? lcstate_dim(ctx, id) : NULL;
}

static int
answer_list(Scan *s, LcArgFn arg, void *ctx, Buf *out, Err *e)
{
	const FlowDef *d = s->d;
	int64_t limit = 100, offset = 0;
	int rc;
	const char *all = arg ? arg(ctx, "_all") : NULL;	/* SQL: every row */
	if (all)
		limit = INT64_MAX / 4;
	else if ((rc = arg_int(arg, ctx, "limit", 0, MAX_LIMIT, &limit, e)) != 0)
		return rc;
	if ((rc = arg_int(arg, ctx, "offset", 0, INT64_MAX / 4, &offset, e)) != 0)
		return rc;
	lcstate_scan(s->st, s->now, s->gaps ? LC_F_GAP | LC_F_CONTRA : LC_F_STUCK, scan_cb, s);
	if (s->oom)
		return err_set(e, ERR_NOMEM, "flow %s: too many entities to list", d->name);
	if (s->n > 0)
		qsort(s->hits, s->n, sizeof(Hit), s->gaps ? cmp_gap : cmp_stuck);
	uint32_t *ids = mem_calloc(s->n + 1, sizeof(uint32_t));
	if (ids == NULL)
		return err_set(e, ERR_NOMEM, "flow %s: counting", d->name);
	buf_puts(out, "{\"flow\":");
	jstr(out, d->name);
	buf_puts(out, ",\"now\":");
	buf_i64(out, s->now);
	buf_printf(out, ",\"total\":%zu,\"offset\":%lld,\"limit\":%lld", s->n, (long long)offset,
		   (long long)limit);
	if (s->gaps) {
		buf_printf(out, ",\"byKind\":{");
		size_t k0 = 0, k1 = 0;
		for (size_t i = 0; i < s->n; i++) {
			if (s->hits[i].kind)
				k1++;
			else
				k0++;
		}
		int first = 1;
		if (k0) {
			buf_printf(out, "\"skipped\":%zu", k0);
			first = 0;
		}
		if (k1)
			buf_printf(out, "%s\"contradiction\":%zu", first ? "" : ",", k1);
		buf_putc(out, '}');
		/* by stage: each skipped / contradicting stage counts */
		size_t m = 0;
		uint32_t *sids = mem_calloc(s->n * 4 + 1, sizeof(uint32_t));
		if (sids) {
			size_t cap = s->n * 4;
			for (size_t i = 0; i < s->n; i++)
				for (uint64_t b = s->hits[i].stages; b && m < cap; b &= b - 1)
					sids[m++] = (uint32_t)__builtin_ctzll(b);
		}
		buf_puts(out, ",\"byStage\":");
		count_json(out, sids ? sids : ids, sids ? m : 0, name_stage, (void *)d);
		mem_free(sids);
	} else {
		for (size_t i = 0; i < s->n; i++)
			ids[i] = (uint32_t)s->hits[i].cur;
		buf_puts(out, ",\"byStage\":");
		count_json(out, ids, s->n, name_stage, (void *)d);
		for (size_t i = 0; i < s->n; i++)
			ids[i] = (uint32_t)(s->hits[i].holder + 1);
		buf_puts(out, ",\"byService\":");
		count_json(out, ids, s->n, name_svc, s->st);
	}
	buf_puts(out, ",\"byDimension\":{");
	for (int k = 0; k < d->ndims; k++) {
		for (size_t i = 0; i < s->n; i++)
			ids[i] = s->hits[i].dims[k];
		if (k)
			buf_putc(out, ',');
		jkey(out, d->dims[k]);
		count_json(out, ids, s->n, name_dim, s->st);
	}
	buf_puts(out, "},\"entities\":[");
	mem_free(ids);
	for (size_t i = (size_t)offset; i < s->n && i < (size_t)offset + (size_t)limit; i++) {
		const Hit *h = &s->hits[i];
		if (i > (size_t)offset)
			buf_putc(out, ',');
		buf_puts(out, "{\"key\":");
		buf_json_str(out, h->key, h->keylen);
		if (s->gaps) {
			buf_printf(out, ",\"kind\":\"%s\",\"stages\":", h->kind ? "contradiction" : "skipped");
			jmask(out, d, h->stages);
		}
		buf_puts(out, ",\"stage\":");
		jstr(out, stage_name(d, h->cur));
		if (s->gaps) {
			buf_puts(out, ",\"detail\":\"");
			if (h->kind == 0) {
				buf_puts(out, "reached ");
				buf_puts(out, stage_name(d, h->cur) ? stage_name(d, h->cur) : "?");
				buf_puts(out, " without");
			} else {
				buf_puts(out, "contradicting stages:");
			}
			for (uint64_t b = h->stages; b; b &= b - 1)
				buf_printf(out, " %s", d->stages[__builtin_ctzll(b)].name);
			buf_putc(out, '"');
		} else {
			buf_puts(out, ",\"since\":");
			buf_i64(out, h->since);
			buf_puts(out, ",\"deadline\":");
			jts(out, h->deadline != INT64_MAX, h->deadline);
			buf_puts(out, ",\"overdueMs\":");
			buf_i64(out, h->overdue);
			buf_puts(out, ",\"detectedAt\":");
			buf_i64(out, h->stuck_at);
			buf_puts(out, ",\"holder\":");
			jstr(out, h->holder >= 0 ? lcstate_svc(s->st, h->holder + 1) : NULL);
			buf_puts(out, ",\"lastService\":");
			jstr(out, lcstate_svc(s->st, h->last_svc));
			buf_puts(out, ",\"lastEvent\":");
			jstr(out, lcstate_label(s->st, h->last_label));
		}
		buf_puts(out, ",\"lastTs\":");
		buf_i64(out, h->last_ts);
		buf_puts(out, ",\"dims\":");
		jdims(out, d, s->st, h->dims);
		buf_putc(out, '}');
	}
	buf_puts(out, "]}");
	return 0;
}

static int
stuck_or_gaps(const FlowDef *d, LcState *st, int64_t now, int gaps, LcArgFn arg, void *ctx,
	      Buf *out, Err *e)
{
	Scan s = {.d = d, .st = st, .now = now, .gaps = gaps, .kind = -1};
	arena_init(&s.arena, 1 << 16);
	int rc = parse_filter(d, arg, ctx, &s.f, e);
	if (rc == 0 && !gaps)
		rc = arg_dur(arg, ctx, "minAge", &s.min_age, e);
	if (rc == 0 && gaps) {
		const char *k = arg ? arg(ctx, "kind") : NULL;
		if (k && *k) {
			if (strcmp(k, "skipped") == 0)
				s.kind = 0;
			else if (strcmp(k, "contradiction") == 0)
				s.kind = 1;
			else
				rc = err_set(e, ERR_INVALID,
					     "parameter kind: \"%.100s\" (expected skipped or "
					     "contradiction)",
					     k);
		}
	}
	if (rc == 0)
		rc = answer_list(&s, arg, ctx, out, e);
	mem_free(s.hits);
	arena_free(&s.arena);
	return rc;
}

/* ---- funnel ------------------------------------------------------------------ */

typedef struct Funnel {
	const FlowDef *d;
	LcState *st;
	Filter f;
	int64_t from, to;
	uint64_t entities;
	uint64_t count[FLOW_MAX_STAGES];
	uint64_t *hist;		/* [stage][NBUCKETS] */
} Funnel;

static void
funnel_cb(void *arg, const LcView *v)
{
	Funnel *fu = arg;
	if (v->seen == 0 || v->first_ts < fu->from || v->first_ts >= fu->to)
		return;
	if (!dims_match(fu->d, fu->st, &fu->f, v))
		return;
	fu->entities++;
	int prev = -1;
	for (int i = 0; i < fu->d->nstages; i++) {
		if (!((v->seen >> i) & 1))
			continue;
		fu->count[i]++;
		if (prev >= 0) {
			int64_t dt = v->first[i] - v->first[prev];
			fu->hist[(size_t)i * NBUCKETS + (size_t)bucket_of(dt)]++;
		}
		prev = i;
	}
}

static int
funnel(const FlowDef *d, LcState *st, int64_t now, LcArgFn arg, void *ctx, Buf *out, Err *e)
{
	Funnel fu = {.d = d, .st = st, .from = now - 24 * 3600 * 1000LL, .to = now + 1};
	int rc = parse_filter(d, arg, ctx, &fu.f, e);
	if (rc == 0)
		rc = arg_int(arg, ctx, "from", INT64_MIN / 2, INT64_MAX / 2, &fu.from, e);
	if (rc == 0)
		rc = arg_int(arg, ctx, "to", INT64_MIN / 2, INT64_MAX / 2, &fu.to, e);
	if (rc == 0 && fu.to <= fu.from)
		rc = err_set(e, ERR_INVALID, "parameters from and to: from (%lld) must be before to (%lld)",
			     (long long)fu.from, (long long)fu.to);
	if (rc)
		return rc;
	fu.hist = mem_calloc((size_t)d->nstages * NBUCKETS, sizeof(uint64_t));
	if (fu.hist == NULL)
		return err_set(e, ERR_NOMEM, "flow %s: funnel", d->name);
	lcstate_scan(st, now, 0, funnel_cb, &fu);
	buf_puts(out, "{\"flow\":");
	jstr(out, d->name);
	buf_printf(out, ",\"now\":%lld,\"from\":%lld,\"to\":%lld,\"entities\":%llu,\"stages\":[",
		   (long long)now, (long long)fu.from, (long long)fu.to,
		   (unsigned long long)fu.entities);
	for (int i = 0; i < d->nstages; i++) {
		if (i)
			buf_putc(out, ',');
		buf_puts(out, "{\"stage\":");
		jstr(out, d->stages[i].name);
		buf_printf(out, ",\"count\":%llu,\"conversion\":", (unsigned long long)fu.count[i]);
		buf_json_double(out, fu.entities ? (double)fu.count[i] / (double)fu.entities : 0);
		const uint64_t *h = fu.hist + (size_t)i * NBUCKETS;
		uint64_t n = 0;
		for (int b = 0; b < NBUCKETS; b++)
			n += h[b];
		buf_puts(out, ",\"p50Ms\":");
		jts(out, n > 0, hist_pct(h, n, 0.50));
		buf_puts(out, ",\"p95Ms\":");
		jts(out, n > 0, hist_pct(h, n, 0.95));
		buf_putc(out, '}');
	}
	buf_puts(out, "]}");
	mem_free(fu.hist);
	return 0;
}

/* ---- attribution ---------------------------------------------------------------- */

#define MAX_SVC 65536

typedef struct Attr {
	const FlowDef *d;
	LcState *st;
	Filter f;
	int64_t now, base_from, base_to;
	double late_frac;
	uint32_t *now_svc, *late_svc, *base_svc;	/* by service id */
	uint32_t stuck_stage[FLOW_MAX_STAGES], late_stage[FLOW_MAX_STAGES];
	uint32_t base_stage[FLOW_MAX_STAGES];
	uint64_t total_now, total_base;
} Attr;

static int64_t
late_after(const FlowDef *d, int s, double frac)
{
	int64_t sla = d->stages[s].sla_ms;
	return sla > 0 ? (int64_t)((double)sla * frac) : INT64_MAX;
}

static void
attr_cb(void *arg, const LcView *v)
{
	Attr *a = arg;
	if (v->cur == LC_NO_STAGE || !dims_match(a->d, a->st, &a->f, v))
		return;
	/* now: stuck or late entities, by holder and stage */
	if (!(v->flags & LC_F_TERMINAL)) {
		int stuck = (v->flags & LC_F_STUCK) != 0;
		int late = !stuck && a->now - v->since > late_after(a->d, v->cur, a->late_frac);
		if (stuck || late) {
			uint32_t h = (uint32_t)(v->holder + 1);
			if (stuck) {
				a->now_svc[h]++;
				a->stuck_stage[v->cur]++;
			} else {
				a->late_svc[h]++;
				a->late_stage[v->cur]++;
			}
			a->total_now++;
		}
	}
	/* baseline: transitions completed in the window that were late, by the
	 * service that made them (the one entering the next stage) */
	int prev = -1;
	for (int i = 0; i < a->d->nstages; i++) {
		if (!((v->seen >> i) & 1))
			continue;
		if (prev >= 0 && v->first[i] >= a->base_from && v->first[i] < a->base_to &&
		    v->first[i] - v->first[prev] > late_after(a->d, prev, a->late_frac)) {
			int svc = 0;
			for (int k = 0; k < v->nev; k++)
				if (v->ev[k].stage == i) {
					svc = v->ev[k].svc;
					break;
				}
			a->base_svc[svc]++;
			a->base_stage[prev]++;
			a->total_base++;
		}
		prev = i;
	}
}

typedef struct AttrRow {
	int id;
	uint32_t stuck, late, base;
	double share, bshare, excess;
} AttrRow;

static int
cmp_attr(const void *x, const void *y)
{
	const AttrRow *a = x, *b = y;
	if (a->excess != b->excess)
		return a->excess > b->excess ? -1 : 1;
	uint32_t ca = a->stuck + a->late, cb = b->stuck + b->late;
	if (ca != cb)
		return ca > cb ? -1 : 1;
	return a->id - b->id;
}

static void
attr_rows(Buf *out, Attr *a, int services)
{
	int n = services ? MAX_SVC : a->d->nstages;
	AttrRow *rows = mem_calloc((size_t)n, sizeof(AttrRow));
	if (rows == NULL) {
		buf_puts(out, "[]");
		return;
	}
	int m = 0;
	for (int i = 0; i < n; i++) {
		uint32_t st = services ? a->now_svc[i] : a->stuck_stage[i];
		uint32_t la = services ? a->late_svc[i] : a->late_stage[i];
		uint32_t ba = services ? a->base_svc[i] : a->base_stage[i];
		if (st + la + ba == 0)
			continue;
		AttrRow *r = &rows[m++];
		r->id = i;
		r->stuck = st;
		r->late = la;
		r->base = ba;
		r->share = a->total_now ? (double)(st + la) / (double)a->total_now : 0;
		r->bshare = a->total_base ? (double)ba / (double)a->total_base : 0;
		r->excess = r->share - r->bshare;
	}
	qsort(rows, (size_t)m, sizeof(AttrRow), cmp_attr);
	buf_putc(out, '[');
	for (int i = 0; i < m; i++) {
		const AttrRow *r = &rows[i];
		if (i)
			buf_putc(out, ',');
		buf_puts(out, services ? "{\"service\":" : "{\"stage\":");
		jstr(out, services ? (r->id ? lcstate_svc(a->st, r->id) : NULL)
				   : stage_name(a->d, r->id));
		buf_printf(out, ",\"stuck\":%u,\"late\":%u,\"baselineLate\":%u,\"share\":", r->stuck,
			   r->late, r->base);
		buf_json_double(out, r->share);
		buf_puts(out, ",\"baselineShare\":");
		buf_json_double(out, r->bshare);
		buf_puts(out, ",\"excess\":");
		buf_json_double(out, r->excess);
		buf_putc(out, '}');
	}
	buf_putc(out, ']');
	mem_free(rows);
}

static int
attribution(const FlowDef *d, LcState *st, int64_t now, LcArgFn arg, void *ctx, Buf *out,
	    Err *e)
{
	int64_t window = 15 * 60 * 1000LL, baseline = 2 * 3600 * 1000LL;
	Attr a = {.d = d, .st = st, .now = now, .late_frac = 0.5};
	int rc = parse_filter(d, arg, ctx, &a.f, e);
	if (rc == 0)
		rc = arg_dur(arg, ctx, "window", &window, e);
	if (rc == 0)
		rc = arg_dur(arg, ctx, "baseline", &baseline, e);
	if (rc == 0)
		rc = arg_double(arg, ctx, "lateFraction", 0.01, 100, &a.late_frac, e);
	if (rc)
		return rc;
	a.base_to = now - window;
	a.base_from = a.base_to - baseline;
	a.now_svc = mem_calloc(MAX_SVC, sizeof(uint32_t));
	a.late_svc = mem_calloc(MAX_SVC, sizeof(uint32_t));
	a.base_svc = mem_calloc(MAX_SVC, sizeof(uint32_t));
	if (a.now_svc && a.late_svc && a.base_svc) {
		lcstate_scan(st, now, 0, attr_cb, &a);
		buf_puts(out, "{\"flow\":");
		jstr(out, d->name);
		buf_printf(out,
			   ",\"now\":%lld,\"baselineFrom\":%lld,\"baselineTo\":%lld,\"lateFraction\":",
			   (long long)now, (long long)a.base_from, (long long)a.base_to);
		buf_json_double(out, a.late_frac);
		buf_printf(out, ",\"total\":%llu,\"baselineTotal\":%llu,\"services\":",
			   (unsigned long long)a.total_now, (unsigned long long)a.total_base);
		attr_rows(out, &a, 1);
		buf_puts(out, ",\"stages\":");
		attr_rows(out, &a, 0);
		buf_putc(out, '}');
	} else {
		rc = err_set(e, ERR_NOMEM, "flow %s: attribution", d->name);
	}
	mem_free(a.now_svc);
	mem_free(a.late_svc);
	mem_free(a.base_svc);
	return rc;
}

int
lcanswer_query(const FlowDef *d, LcState *st, int64_t now, const char *what, LcArgFn arg,
	       void *ctx, Buf *out, Err *e)
{
	if (strcmp(what, "stuck") == 0)
		return stuck_or_gaps(d, st, now, 0, arg, ctx, out, e);
	if (strcmp(what, "gaps") == 0)
		return stuck_or_gaps(d, st, now, 1, arg, ctx, out, e);
	if (strcmp(what, "funnel") == 0)
		return funnel(d, st, now, arg, ctx, out, e);
	if (strcmp(what, "attribution") == 0)
		return attribution(d, st, now, arg, ctx, out, e);
	return err_set(e, ERR_NOT_FOUND,
		       "flow %s: no question \"%.100s\" (stuck, gaps, funnel, attribution)", d->name,
		       what);
}
