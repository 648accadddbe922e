/*
 * lcstate.c -- the entity states of one flow, in memory.
 *
 * What it keeps: per entity, its events -- 16 bytes each (time, stage,
 * source, service and label ids) in event-time order -- its dimension
 * values, and what was last derived from them (current stage, flags,
 * the next time they can change).  Everything else an answer needs
 * (first and last time per stage, gaps, contradictions, retries) is
 * derived again from the events when asked (derive): a life cycle has a
 * few dozen events, so a derivation costs well under a microsecond, and
 * the state can never disagree with the events it came from.  Ordering by
 * event time makes late events harmless: the current stage is the
 * furthest stage reached in the flow's order, whatever order the events
 * came in.  An event equal to a stored one (time, stage, source, label)
 * is a duplicate and ignored, so applying the same events twice -- a
 * backfill racing live ingestion, a source that re-delivers -- changes
 * nothing: the state is a function of the set of events.
 *
 * How: 64 shards by key hash, each a mutex, a chained hash table of
 * entities, a list of entities changed since the last drain (for the
 * state table) and a min-heap of times at which an entity's flags can
 * change without a new event (its deadline, the end of a gap's grace
 * time).  lcstate_sweep pops what is due and derives again.  Each entity
 * has at most one live heap entry that matters (check): an entry whose
 * time is not the entity's check is stale and skipped.  Strings (labels,
 * services, dimension values) are interned in dictionaries whose pages
 * never move, so an id read under a shard lock names a stable string.
 *
 * Ownership: the state owns its entities, events and dictionaries; the
 * flow definition is borrowed.  Failures: ERR_NOMEM (the event is not
 * applied), ERR_INVALID for a key longer than 64 KiB or a dictionary full
 * (16 M strings; labels and services 65,535).
 *
 * Exports: lcstate_create, lcstate_free, lcstate_apply, lcstate_max_ts,
 * lcstate_sweep, lcstate_get, lcstate_scan, lcstate_count, lcstate_svc,
 * lcstate_label, lcstate_dim, lcstate_status, lcstate_own_column,
 * lcstate_schema_json, lcstate_config_json,
 * lcstate_drain, lcstate_mark_all.
 */
#include "lifecycle/lcstate.h"
#include "base/clock.h"
#include "base/hash.h"
#include "base/mem.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define NSHARDS 64
#define DICT_PAGE 4096
#define DICT_PAGES 4096		/* 16 M strings */

/* ---- dictionaries -------------------------------------------------------- */

typedef struct Dict {
	pthread_mutex_t mu;
	char **pages[DICT_PAGES];	/* pages[i][j]: string i*DICT_PAGE+j */
	uint32_t n;		/* ids 1..n in use (0: none) */
	uint32_t max;		/* largest id allowed */
	uint32_t *slots;	/* open addressing: id, 0 = empty */
	uint32_t nslots;
} Dict;

static const char *
dict_str(const Dict *d, uint32_t id)
{
	if (id == 0 || id > d->n)
		return NULL;
	return d->pages[(id - 1) / DICT_PAGE][(id - 1) % DICT_PAGE];
}

/* The id of s[0..len) (hash h), added if new; 0 on OOM or when full. */
static uint32_t
dict_id(Dict *d, const char *s, size_t len, uint64_t h)
{
	pthread_mutex_lock(&d->mu);
	uint32_t id = 0;
	if (d->nslots == 0 || (uint64_t)(d->n + 1) * 2 > d->nslots) {
		uint32_t ns = d->nslots ? d->nslots * 2 : 256;
		uint32_t *sl = mem_calloc(ns, sizeof(uint32_t));
		if (sl == NULL)
			goto out;
		for (uint32_t i = 1; i <= d->n; i++) {
			const char *x = dict_str(d, i);
			uint32_t j = (uint32_t)hash_bytes(x, strlen(x)) & (ns - 1);
			while (sl[j])
				j = (j + 1) & (ns - 1);
			sl[j] = i;
		}
		mem_free(d->slots);
		d->slots = sl;
		d->nslots = ns;
	}
	uint32_t j = (uint32_t)h & (d->nslots - 1);
	while (d->slots[j]) {
		const char *x = dict_str(d, d->slots[j]);
		if (strlen(x) == len && memcmp(x, s, len) == 0) {
			id = d->slots[j];
			goto out;
		}
		j = (j + 1) & (d->nslots - 1);
	}
	if (d->n >= d->max)
		goto out;
	uint32_t page = d->n / DICT_PAGE;
	if (d->pages[page] == NULL && (d->pages[page] = mem_calloc(DICT_PAGE, sizeof(char *))) == NULL)
		goto out;
	char *copy = mem_strndup(s, len);
	if (copy == NULL)
		goto out;
	d->pages[page][d->n % DICT_PAGE] = copy;
	id = ++d->n;
	d->slots[j] = id;
out:
	pthread_mutex_unlock(&d->mu);
	return id;
}

/* A caller's small direct-mapped cache in front of dict_id: a batch of
 * events repeats the same few services, labels and markets, and a hit
 * takes no lock. */
#define DCACHE 32
typedef struct DCacheEnt {
	uint64_t h;
	uint32_t id;
} DCacheEnt;

static uint32_t
dict_cached(Dict *d, DCacheEnt *c, const char *s, size_t len)
{
	uint64_t h = hash_bytes(s, len);
	DCacheEnt *x = &c[h & (DCACHE - 1)];
	if (x->id && x->h == h) {
		const char *t = dict_str(d, x->id);
		if (strncmp(t, s, len) == 0 && t[len] == '\0')
			return x->id;
	}
	x->h = h;
	x->id = dict_id(d, s, len, h);
	return x->id;
}

static void
dict_free(Dict *d)
{
	for (uint32_t i = 1; i <= d->n; i++)
		mem_free((char *)dict_str(d, i));
	for (int p = 0; p < DICT_PAGES; p++)
		mem_free(d->pages[p]);
	mem_free(d->slots);
	pthread_mutex_destroy(&d->mu);
}

/* ---- entities and shards --------------------------------------------------- */

typedef struct Ent {
	struct Ent *next;	/* hash chain */
	uint64_t hash;
	LcEvent *ev;
	uint32_t nev, cap;
	int64_t check;		/* time of its live heap entry, INT64_MAX none */
	int64_t stuck_at;	/* wall ms the flag was first seen, 0 if not stuck */
	uint32_t dims[FLOW_MAX_DIMS];
	uint8_t flags;
	uint8_t cur;
	uint8_t dirty;		/* on the shard's dirty list */
	uint16_t keylen;
	char key[];
} Ent;

typedef struct HeapEnt {
	int64_t t;
	Ent *e;
} HeapEnt;

typedef struct Shard {
	pthread_mutex_t mu;
	Ent **buckets;
	size_t nbuckets, n;
	Ent **dirty;
	size_t ndirty, dirty_cap;
	HeapEnt *heap;
	size_t nheap, heap_cap;
} Shard;

struct LcState {
	const FlowDef *d;
	Shard shards[NSHARDS];
	Dict labels, svcs, dimvals;
	_Atomic int64_t max_ts;
	_Atomic uint64_t count;
	_Atomic int64_t version;	/* last updated_at written */
	uint64_t fail_mask, cancel_mask, success_mask;
	/* services that first entered each stage, for the holder: counts by
	 * service id (the first 64 services) */
	_Atomic uint32_t enter[FLOW_MAX_STAGES][64];
};

int
lcstate_create(const FlowDef *d, LcState **out, Err *e)
{
	LcState *s = mem_calloc(1, sizeof(*s));
	if (s == NULL)
		return err_set(e, ERR_NOMEM, "flow %s: entity state", d->name);
	s->d = d;
	for (int i = 0; i < NSHARDS; i++)
		pthread_mutex_init(&s->shards[i].mu, NULL);
	pthread_mutex_init(&s->labels.mu, NULL);
	pthread_mutex_init(&s->svcs.mu, NULL);
	pthread_mutex_init(&s->dimvals.mu, NULL);
	s->labels.max = 65535;
	s->svcs.max = 65535;
	s->dimvals.max = DICT_PAGE * DICT_PAGES - 1;
	atomic_store(&s->max_ts, INT64_MIN);
	for (int i = 0; i < d->nstages; i++) {
		uint64_t bit = 1ULL << i;
		if (d->stages[i].kind == FLOW_STAGE_FAILURE)
			s->fail_mask |= bit;
		else if (d->stages[i].kind == FLOW_STAGE_CANCEL)
			s->cancel_mask |= bit;
		else if (d->stages[i].kind == FLOW_STAGE_SUCCESS)
			s->success_mask |= bit;
	}
	*out = s;
	return 0;
}

void
lcstate_free(LcState *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < NSHARDS; i++) {
		Shard *sh = &s->shards[i];
		for (size_t b = 0; b < sh->nbuckets; b++) {
			Ent *x = sh->buckets[b];
			while (x) {
				Ent *nx = x->next;
				mem_free(x->ev);
				mem_free(x);
				x = nx;
			}
		}
		mem_free(sh->buckets);
		mem_free(sh->dirty);
		mem_free(sh->heap);
		pthread_mutex_destroy(&sh->mu);
	}
	dict_free(&s->labels);
	dict_free(&s->svcs);
	dict_free(&s->dimvals);
	mem_free(s);
}

const char *lcstate_svc(const LcState *s, int id) { return id > 0 ? dict_str(&s->svcs, (uint32_t)id) : NULL; }
const char *lcstate_label(const LcState *s, int id) { return id > 0 ? dict_str(&s->labels, (uint32_t)id) : NULL; }
const char *lcstate_dim(const LcState *s, uint32_t id) { return dict_str(&s->dimvals, id); }
int64_t lcstate_max_ts(const LcState *s) { return atomic_load(&((LcState *)s)->max_ts); }
uint64_t lcstate_count(const LcState *s) { return atomic_load(&((LcState *)s)->count); }

static Ent *
find(Shard *sh, uint64_t h, const char *key, size_t len)
{
	if (sh->nbuckets == 0)
		return NULL;
	for (Ent *x = sh->buckets[h & (sh->nbuckets - 1)]; x; x = x->next)
		if (x->hash == h && x->keylen == len && memcmp(x->key, key, len) == 0)
			return x;
	return NULL;
}

static int
grow_buckets(Shard *sh)
{
	size_t nb = sh->nbuckets ? sh->nbuckets * 2 : 1024;
	Ent **b = mem_calloc(nb, sizeof(Ent *));
	if (b == NULL)
		return ERR_NOMEM;
	for (size_t i = 0; i < sh->nbuckets; i++) {
		Ent *x = sh->buckets[i];
		while (x) {
			Ent *nx = x->next;
			x->next = b[x->hash & (nb - 1)];
			b[x->hash & (nb - 1)] = x;
			x = nx;
		}
	}
	mem_free(sh->buckets);
	sh->buckets = b;
	sh->nbuckets = nb;
	return 0;
}

static int
heap_push(Shard *sh, int64_t t, Ent *e)
{
	if (sh->nheap == sh->heap_cap) {
		size_t nc = sh->heap_cap ? sh->heap_cap * 2 : 256;
		HeapEnt *h = mem_realloc(sh->heap, nc * sizeof(HeapEnt));
		if (h == NULL)
			return ERR_NOMEM;
		sh->heap = h;
		sh->heap_cap = nc;
	}
	size_t i = sh->nheap++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (sh->heap[p].t <= t)
			break;
		sh->heap[i] = sh->heap[p];
		i = p;
	}
	sh->heap[i].t = t;
	sh->heap[i].e = e;
	e->check = t;
	return 0;
}

static HeapEnt
heap_pop(Shard *sh)
{
	HeapEnt top = sh->heap[0];
	HeapEnt last = sh->heap[--sh->nheap];
	size_t i = 0, n = sh->nheap;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && sh->heap[c + 1].t < sh->heap[c].t)
			c++;
		if (sh->heap[c].t >= last.t)
			break;
		sh->heap[i] = sh->heap[c];
		i = c;
	}
	if (n > 0)
		sh->heap[i] = last;
	return top;
}

static void
mark_dirty(Shard *sh, Ent *e)
{
	if (e->dirty)
		return;
	if (sh->ndirty == sh->dirty_cap) {
		size_t nc = sh->dirty_cap ? sh->dirty_cap * 2 : 256;
		Ent **d = mem_realloc(sh->dirty, nc * sizeof(Ent *));
		if (d == NULL)
			return;	/* written at the next change or drain of all */
		sh->dirty = d;
		sh->dirty_cap = nc;
	}
	sh->dirty[sh->ndirty++] = e;
	e->dirty = 1;
}

/* ---- derivation --------------------------------------------------------- */

static int
top_bit(uint64_t m)
{
	return 63 - __builtin_clzll(m);
}

/* Fills v from e's events at time now; *check = the next time the flags
 * can change without a new event (INT64_MAX: never).  full = 0 leaves
 * out what only answers need (retries, holder): the path of every event
 * and sweep. */
static void
derive(const LcState *s, const Ent *e, int64_t now, LcView *v, int64_t *check, int full)
{
	const FlowDef *d = s->d;
	memset(v, 0, offsetof(LcView, first));
	v->key = e->key;
	v->keylen = e->keylen;
	v->ev = e->ev;
	v->nev = (int)e->nev;
	v->events = (int)e->nev;
	memcpy(v->dims, e->dims, sizeof(v->dims));
	v->cur = LC_NO_STAGE;
	v->deadline = INT64_MAX;
	v->holder = -1;
	v->stuck_at = e->stuck_at;
	v->last_svc = v->last_label = 0;
	*check = INT64_MAX;
	if (e->nev == 0)
		return;
	v->first_ts = e->ev[0].ts;
	v->last_ts = e->ev[e->nev - 1].ts;
	v->last_svc = e->ev[e->nev - 1].svc;
	v->last_label = e->ev[e->nev - 1].label;
	uint64_t seen = 0;
	for (uint32_t i = 0; i < e->nev; i++) {
		const LcEvent *x = &e->ev[i];
		if (x->stage == LC_NO_STAGE)
			continue;
		uint64_t bit = 1ULL << x->stage;
		if (!(seen & bit))
			v->first[x->stage] = x->ts;
		else if (full)
			for (uint32_t j = 0; j < i; j++)	/* the same event again, later */
				if (e->ev[j].stage == x->stage && e->ev[j].label == x->label &&
				    e->ev[j].src == x->src) {
					v->retries++;
					break;
				}
		seen |= bit;
		v->last[x->stage] = x->ts;
	}
	v->seen = seen;
	if (seen == 0)
		return;
	int cur = top_bit(seen);
	const FlowStage *st = &d->stages[cur];
	v->cur = cur;
	v->since = v->first[cur];
	if (d->terminal & (1ULL << cur))
		v->flags |= LC_F_TERMINAL;
	else if (st->sla_ms > 0)
		v->deadline = v->since + st->sla_ms;
	if (v->deadline <= now)
		v->flags |= LC_F_STUCK;
	else if (v->deadline != INT64_MAX)
		*check = v->deadline;
	if (seen & s->fail_mask)
		v->flags |= LC_F_FAILED;
	for (uint64_t m = seen; m; m &= m - 1) {
		int i = __builtin_ctzll(m);
		uint64_t miss = d->dom[i] & ~seen;
		if (miss) {
			int64_t t = v->first[i] + d->gap_grace_ms;
			if (t <= now)
				v->skipped |= miss;
			else if (t < *check)
				*check = t;
		}
		if ((s->fail_mask | s->cancel_mask) & (1ULL << i)) {
			uint64_t c = seen & ~d->anc[i] & ~d->desc[i] & ~(1ULL << i);
			if (c)
				v->contra |= c | (1ULL << i);
		}
	}
	if (v->skipped)
		v->flags |= LC_F_GAP;
	if (v->contra)
		v->flags |= LC_F_CONTRA;
	if (full && !(v->flags & LC_F_TERMINAL) && st->nnext > 0) {
		int nx = st->next[0];
		uint32_t best = 0;
		for (int k = 0; k < 64; k++) {
			uint32_t c = atomic_load(&((LcState *)s)->enter[nx][k]);
			if (c > best) {
				best = c;
				v->holder = k;
			}
		}
	}
}

/* Derives e at now into *v and makes e agree with it: its flags and
 * stage, when it was first seen stuck, and a heap entry for the next time
 * its flags can change.  Returns 1 if flags or stage changed. */
static int
sync_ent(LcState *s, Shard *sh, Ent *e, int64_t now, LcView *v, int full)
{
	int64_t check;
	derive(s, e, now, v, &check, full);
	int chg = v->flags != e->flags || v->cur != e->cur;
	e->flags = (uint8_t)v->flags;
	e->cur = (uint8_t)v->cur;
	if (!(v->flags & LC_F_STUCK))
		e->stuck_at = 0;
	else if (e->stuck_at == 0)
		e->stuck_at = clock_wall_ms();
	v->stuck_at = e->stuck_at;
	if (check != INT64_MAX && check < e->check)
		heap_push(sh, check, e);
	return chg;
}

/* Derives e again and records what changed (flags, stage, heap): the
 * state table gets it at the next drain. */
static void
refresh(LcState *s, Shard *sh, Ent *e, int64_t now, int changed)
{
	LcView v;
	if (sync_ent(s, sh, e, now, &v, 0) || changed)
		mark_dirty(sh, e);
}

/* Inserts x into e's events in time order; 0 if it was there already, 1
 * if inserted, <0 on OOM. */
static int
insert_event(Ent *e, const LcEvent *x)
{
	uint32_t lo = 0, hi = e->nev;
	while (lo < hi) {	/* first event with ts > x->ts */
		uint32_t mid = (lo + hi) / 2;
		if (e->ev[mid].ts <= x->ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (uint32_t j = lo; j > 0 && e->ev[j - 1].ts == x->ts; j--) {
		const LcEvent *y = &e->ev[j - 1];
		if (y->stage == x->stage && y->src == x->src && y->label == x->label)
			return 0;
	}
	if (e->nev == e->cap) {
		uint32_t nc = e->cap ? e->cap + e->cap / 2 : 8;	/* 8, 12, 18, 27, 40 */
		LcEvent *ev = mem_realloc(e->ev, nc * sizeof(LcEvent));
		if (ev == NULL)
			return ERR_NOMEM;
		e->ev = ev;
		e->cap = nc;
	}
	memmove(e->ev + lo + 1, e->ev + lo, (e->nev - lo) * sizeof(LcEvent));
	e->ev[lo] = *x;
	e->nev++;
	return 1;
}

int
lcstate_apply(LcState *s, const LcEventIn *ev, int n, int64_t now, Err *e)
{
	int rc = 0;
	DCacheEnt cl[DCACHE] = {{0}}, cs[DCACHE] = {{0}}, cd[DCACHE] = {{0}};
	int64_t batch_max = INT64_MIN;
	for (int i = 0; i < n; i++) {
		const LcEventIn *in = &ev[i];
		if (in->keylen == 0 || in->keylen > 65535) {
			rc = err_set(e, ERR_INVALID, "flow %s: entity key of %zu bytes", s->d->name,
				     in->keylen);
			continue;
		}
		LcEvent x = {.ts = in->ts, .stage = LC_NO_STAGE, .src = (uint8_t)in->src};
		if (in->stage >= 0 && in->stage < s->d->nstages)
			x.stage = (uint8_t)in->stage;
		if (in->label)
			x.label = (uint16_t)dict_cached(&s->labels, cl, in->label, in->labellen);
		if (in->svc)
			x.svc = (uint16_t)dict_cached(&s->svcs, cs, in->svc, in->svclen);
		uint32_t dims[FLOW_MAX_DIMS] = {0};
		for (int k = 0; k < s->d->ndims; k++)
			if (in->dim[k])
				dims[k] = dict_cached(&s->dimvals, cd, in->dim[k], in->dimlen[k]);
		uint64_t h = hash_bytes(in->key, in->keylen);
		Shard *sh = &s->shards[(h >> 58) & (NSHARDS - 1)];
		pthread_mutex_lock(&sh->mu);
		Ent *en = find(sh, h, in->key, in->keylen);
		if (en == NULL) {
			if ((sh->n + 1 > sh->nbuckets && grow_buckets(sh) != 0) ||
			    (en = mem_calloc(1, sizeof(Ent) + in->keylen)) == NULL) {
				pthread_mutex_unlock(&sh->mu);
				rc = err_set(e, ERR_NOMEM, "flow %s: a new entity", s->d->name);
				continue;
			}
			en->hash = h;
			en->keylen = (uint16_t)in->keylen;
			memcpy(en->key, in->key, in->keylen);
			en->check = INT64_MAX;
			en->cur = LC_NO_STAGE;
			en->next = sh->buckets[h & (sh->nbuckets - 1)];
			sh->buckets[h & (sh->nbuckets - 1)] = en;
			sh->n++;
			atomic_fetch_add(&s->count, 1);
		}
		/* the stage's first event so far (by event time): its service
		 * is the one that entered the stage, for the holder counts */
		int old_first = -1;
		if (x.stage != LC_NO_STAGE)
			for (uint32_t j = 0; j < en->nev; j++)
				if (en->ev[j].stage == x.stage) {
					old_first = (int)j;
					break;
				}
		uint16_t old_svc = old_first >= 0 ? en->ev[old_first].svc : 0;
		int64_t old_ts = old_first >= 0 ? en->ev[old_first].ts : 0;
		int ins = insert_event(en, &x);
		if (ins < 0) {
			pthread_mutex_unlock(&sh->mu);
			rc = err_set(e, ERR_NOMEM, "flow %s: an event of %.*s", s->d->name,
				     (int)in->keylen, in->key);
			continue;
		}
		int dimchg = 0;
		for (int k = 0; k < s->d->ndims; k++)
			if (dims[k] && en->dims[k] != dims[k] && (en->dims[k] == 0 || ins)) {
				en->dims[k] = dims[k];
				dimchg = 1;
			}
		if (ins) {
			if (x.stage != LC_NO_STAGE && (old_first < 0 || x.ts < old_ts)) {
				if (x.svc > 0 && x.svc <= 64)
					atomic_fetch_add(&s->enter[x.stage][x.svc - 1], 1);
				if (old_first >= 0 && old_svc > 0 && old_svc <= 64)
					atomic_fetch_sub(&s->enter[x.stage][old_svc - 1], 1);
			}
			refresh(s, sh, en, now, 1);
		} else if (dimchg) {
			mark_dirty(sh, en);
		}
		pthread_mutex_unlock(&sh->mu);
		if (in->ts > batch_max)
			batch_max = in->ts;
	}
	/* one update of the shared clock per batch, not per event */
	int64_t m = atomic_load(&s->max_ts);
	while (batch_max > m && !atomic_compare_exchange_weak(&s->max_ts, &m, batch_max))
		;
	return rc;
}

void
lcstate_sweep(LcState *s, int64_t now)
{
	for (int i = 0; i < NSHARDS; i++) {
		Shard *sh = &s->shards[i];
		pthread_mutex_lock(&sh->mu);
		while (sh->nheap > 0 && sh->heap[0].t <= now) {
			HeapEnt h = heap_pop(sh);
			if (h.t != h.e->check)
				continue;	/* stale */
			h.e->check = INT64_MAX;
			refresh(s, sh, h.e, now, 0);
		}
		pthread_mutex_unlock(&sh->mu);
	}
}

int
lcstate_get(LcState *s, const char *key, size_t keylen, int64_t now,
	    void (*fn)(void *ctx, const LcView *v), void *ctx)
{
	uint64_t h = hash_bytes(key, keylen);
	Shard *sh = &s->shards[(h >> 58) & (NSHARDS - 1)];
	pthread_mutex_lock(&sh->mu);
	Ent *en = find(sh, h, key, keylen);
	if (en) {
		LcView v;
		int64_t check;
		derive(s, en, now, &v, &check, 1);
		fn(ctx, &v);
	}
	pthread_mutex_unlock(&sh->mu);
	return en != NULL;
}

void
lcstate_scan(LcState *s, int64_t now, int want, void (*fn)(void *ctx, const LcView *v), void *ctx)
{
	LcView v;
	for (int i = 0; i < NSHARDS; i++) {
		Shard *sh = &s->shards[i];
		pthread_mutex_lock(&sh->mu);
		for (size_t b = 0; b < sh->nbuckets; b++)
			for (Ent *x = sh->buckets[b]; x; x = x->next) {
				/* the stored flags, and the time they can next
				 * change, say which entities can match */
				if (want && !(x->flags & want) && x->check > now)
					continue;
				int64_t check;
				derive(s, x, now, &v, &check, 1);
				fn(ctx, &v);
			}
		pthread_mutex_unlock(&sh->mu);
	}
}

void
lcstate_mark_all(LcState *s)
{
	for (int i = 0; i < NSHARDS; i++) {
		Shard *sh = &s->shards[i];
		pthread_mutex_lock(&sh->mu);
		for (size_t b = 0; b < sh->nbuckets; b++)
			for (Ent *x = sh->buckets[b]; x; x = x->next)
				mark_dirty(sh, x);
		pthread_mutex_unlock(&sh->mu);
	}
}

/* ---- the state table ------------------------------------------------------ */

static const char *const STR_COLS[] = {"stage", "status", "next_stages", "holder",
				       "last_service", "last_event", "gap_stages"};
static const char *const LONG_COLS[] = {"stage_since", "deadline", "last_ts", "first_ts"};
static const char *const BOOL_COLS[] = {"stuck", "gap", "contradiction", "failed", "terminal"};
static const int BOOL_FLAGS[] = {LC_F_STUCK, LC_F_GAP, LC_F_CONTRA, LC_F_FAILED, LC_F_TERMINAL};

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *const INT_COLS[] = {"events", "retries", "updated_at"};

int
lcstate_own_column(const FlowDef *d, const char *name)
{
	const char *const *lists[] = {STR_COLS, LONG_COLS, BOOL_COLS, INT_COLS};
	const int ns[] = {NELEM(STR_COLS), NELEM(LONG_COLS), NELEM(BOOL_COLS), NELEM(INT_COLS)};
	for (int l = 0; l < 4; l++)
		for (int i = 0; i < ns[l]; i++)
			if (strcmp(name, lists[l][i]) == 0)
				return 1;
	return strcmp(name, d->entity_key) == 0 || strncmp(name, "t_", 2) == 0;
}

static void
field(Buf *out, int *first, const char *prefix, const char *name, const char *type)
{
	if (!*first)
		buf_putc(out, ',');
	*first = 0;
	buf_puts(out, "{\"name\":");
	Buf nm;
	buf_init(&nm);
	buf_puts(&nm, prefix);
	buf_puts(&nm, name);
	buf_json_str(out, nm.p, nm.len);
	buf_free(&nm);
	buf_printf(out, ",\"dataType\":\"%s\"}", type);
}

void
lcstate_schema_json(const FlowDef *d, Buf *out)
{
	int first = 1;
	buf_puts(out, "{\"schemaName\":");
	buf_printf(out, "\"%s_state\",\"primaryKeyColumns\":[", d->name);
	buf_json_str(out, d->entity_key, strlen(d->entity_key));
	buf_puts(out, "],\"dimensionFieldSpecs\":[");
	field(out, &first, "", d->entity_key, "STRING");
	for (int i = 0; i < NELEM(STR_COLS); i++)
		field(out, &first, "", STR_COLS[i], "STRING");
	for (int i = 0; i < d->ndims; i++)
		field(out, &first, "", d->dims[i], "STRING");
	for (int i = 0; i < NELEM(LONG_COLS); i++)
		field(out, &first, "", LONG_COLS[i], "LONG");
	for (int i = 0; i < NELEM(BOOL_COLS); i++)
		field(out, &first, "", BOOL_COLS[i], "BOOLEAN");
	for (int i = 0; i < d->nstages; i++)
		field(out, &first, "t_", d->stages[i].name, "LONG");
	buf_puts(out, "],\"metricFieldSpecs\":[{\"name\":\"events\",\"dataType\":\"INT\"},"
		      "{\"name\":\"retries\",\"dataType\":\"INT\"}],"
		      "\"dateTimeFieldSpecs\":[{\"name\":\"updated_at\",\"dataType\":\"LONG\","
		      "\"format\":\"1:MILLISECONDS:EPOCH\",\"granularity\":\"1:MILLISECONDS\"}]}");
}

void
lcstate_config_json(const FlowDef *d, Buf *out)
{
	buf_printf(out,
		   "{\"tableName\":\"%s_state\",\"tableType\":\"REALTIME\","
		   "\"segmentsConfig\":{\"schemaName\":\"%s_state\",\"timeColumnName\":\"updated_at\","
		   "\"replication\":\"1\"},\"tenants\":{},\"metadata\":{},"
		   "\"tableIndexConfig\":{\"loadMode\":\"MMAP\",\"invertedIndexColumns\":[\"stage\",\"status\"],"
		   "\"segmentPartitionConfig\":{\"columnPartitionMap\":{",
		   d->name, d->name);
	buf_json_str(out, d->entity_key, strlen(d->entity_key));
	buf_puts(out, ":{\"functionName\":\"Murmur\",\"numPartitions\":2}}}},"
		      "\"upsertConfig\":{\"mode\":\"FULL\",\"comparisonColumns\":[\"updated_at\"]}}");
}

const char *
lcstate_status(const LcState *s, const LcView *v)
{
	uint64_t bit = v->cur == LC_NO_STAGE ? 0 : 1ULL << v->cur;
	if (bit & s->success_mask)
		return "succeeded";
	if (bit & s->fail_mask)
		return "failed";
	if (bit & s->cancel_mask)
		return "cancelled";
	return v->flags & LC_F_STUCK ? "stuck" : "active";
}

static void
put_str(RowBatch *b, Value *dst, const char *s)
{
	if (s == NULL) {
		*dst = value_null(TYPE_STRING);
		return;
	}
	size_t n = strlen(s);
	char *c = arena_strndup(&b->arena, s, n);
	*dst = c ? value_str(TYPE_STRING, c, (uint32_t)n) : value_null(TYPE_STRING);
}

static void
put_mask(const FlowDef *d, RowBatch *b, Value *dst, uint64_t m)
{
	if (m == 0) {
		*dst = value_null(TYPE_STRING);
		return;
	}
	Buf t;
	buf_init(&t);
	for (; m; m &= m - 1) {
		if (t.len)
			buf_putc(&t, ',');
		buf_puts(&t, d->stages[__builtin_ctzll(m)].name);
	}
	buf_putc(&t, '\0');
	put_str(b, dst, t.p);
	buf_free(&t);
}

static void
put_long(Value *dst, int have, int64_t x)
{
	*dst = have ? value_int(TYPE_LONG, x) : value_null(TYPE_LONG);
}

/* Where column i of a row goes (i < 0: nowhere, into *tmp). */
static Value *
at(Value *row, Value *tmp, int i)
{
	return i >= 0 ? &row[i] : tmp;
}

/* One state row of v at column indexes idx (see lcstate_drain). */
static int
state_row(const LcState *s, const LcView *v, const int *idx, int ncols, int64_t version,
	  RowBatch *b)
{
	const FlowDef *d = s->d;
	Value *row = rowbatch_add_row(b);
	if (row == NULL)
		return ERR_NOMEM;
	for (int c = 0; c < ncols; c++)
		row[c] = value_null(TYPE_STRING);
	int k = 0;
	Value tmp;
	{
		char *c = arena_strndup(&b->arena, v->key, v->keylen);
		*at(row, &tmp, idx[k]) = c ? value_str(TYPE_STRING, c, (uint32_t)v->keylen)
				: value_null(TYPE_STRING);
		k++;
	}
	int has = v->cur != LC_NO_STAGE;
	put_str(b, at(row, &tmp, idx[k++]), has ? d->stages[v->cur].name : NULL);
	put_str(b, at(row, &tmp, idx[k++]), lcstate_status(s, v));
	uint64_t next = 0;
	if (has && !(v->flags & LC_F_TERMINAL))
		for (int i = 0; i < d->stages[v->cur].nnext; i++)
			next |= 1ULL << d->stages[v->cur].next[i];
	put_mask(d, b, at(row, &tmp, idx[k++]), next);
	put_str(b, at(row, &tmp, idx[k++]), v->holder >= 0 ? lcstate_svc(s, v->holder + 1) : NULL);
	put_str(b, at(row, &tmp, idx[k++]), lcstate_svc(s, v->last_svc));
	put_str(b, at(row, &tmp, idx[k++]), lcstate_label(s, v->last_label));
	put_mask(d, b, at(row, &tmp, idx[k++]), v->skipped | v->contra);
	for (int i = 0; i < d->ndims; i++)
		put_str(b, at(row, &tmp, idx[k++]), v->dims[i] ? lcstate_dim(s, v->dims[i]) : NULL);
	put_long(at(row, &tmp, idx[k++]), has, v->since);
	put_long(at(row, &tmp, idx[k++]), v->deadline != INT64_MAX, v->deadline);
	put_long(at(row, &tmp, idx[k++]), v->nev > 0, v->last_ts);
	put_long(at(row, &tmp, idx[k++]), v->nev > 0, v->first_ts);
	for (int i = 0; i < NELEM(BOOL_COLS); i++)
		*at(row, &tmp, idx[k++]) = value_int(TYPE_BOOLEAN, (v->flags & BOOL_FLAGS[i]) != 0);
	for (int i = 0; i < d->nstages; i++)
		put_long(at(row, &tmp, idx[k++]), (v->seen >> i) & 1, v->first[i]);
	*at(row, &tmp, idx[k++]) = value_int(TYPE_INT, v->events);
	*at(row, &tmp, idx[k++]) = value_int(TYPE_INT, v->retries);
	*at(row, &tmp, idx[k++]) = value_int(TYPE_LONG, version);
	return 0;
}

/* Column indexes of the state row's values in sch, in state_row's order
 * (-1: the table lacks it); returns how many. */
static int
state_cols(const FlowDef *d, const Schema *sch, int *idx)
{
	int k = 0;
	char name[FLOW_NAME_MAX + 8];
	idx[k++] = schema_find(sch, d->entity_key);
	for (int i = 0; i < NELEM(STR_COLS); i++)
		idx[k++] = schema_find(sch, STR_COLS[i]);
	for (int i = 0; i < d->ndims; i++)
		idx[k++] = schema_find(sch, d->dims[i]);
	for (int i = 0; i < NELEM(LONG_COLS); i++)
		idx[k++] = schema_find(sch, LONG_COLS[i]);
	for (int i = 0; i < NELEM(BOOL_COLS); i++)
		idx[k++] = schema_find(sch, BOOL_COLS[i]);
	for (int i = 0; i < d->nstages; i++) {
		snprintf(name, sizeof(name), "t_%s", d->stages[i].name);
		idx[k++] = schema_find(sch, name);
	}
	idx[k++] = schema_find(sch, "events");
	idx[k++] = schema_find(sch, "retries");
	idx[k++] = schema_find(sch, "updated_at");
	return k;
}

size_t
lcstate_drain(LcState *s, int64_t now, const Schema *sch, RowBatch *b, size_t max)
{
	int idx[16 + FLOW_MAX_DIMS + FLOW_MAX_STAGES + 8];
	state_cols(s->d, sch, idx);
	int64_t version = clock_wall_ms();
	int64_t last = atomic_load(&s->version);
	if (version <= last)
		version = last + 1;
	atomic_store(&s->version, version);
	size_t done = 0;
	for (int i = 0; i < NSHARDS && done < max; i++) {
		Shard *sh = &s->shards[i];
		pthread_mutex_lock(&sh->mu);
		size_t take = sh->ndirty;
		if (take > max - done)
			take = max - done;
		size_t t;
		for (t = 0; t < take; t++) {
			Ent *en = sh->dirty[sh->ndirty - 1 - t];
			LcView v;
			/* what is written is what the entity's flags say, so a
			 * later change (a deadline passing) is swept and written
			 * again: derive alone, at a now older than an event
			 * applied meanwhile, could write "active" for an entity
			 * whose flags already say stuck, and nothing would ever
			 * correct it */
			sync_ent(s, sh, en, now, &v, 1);
			if (state_row(s, &v, idx, b->ncols, version, b) != 0)
				break;
			en->dirty = 0;
		}
		sh->ndirty -= t;
		done += t;
		pthread_mutex_unlock(&sh->mu);
	}
	return done;
}
