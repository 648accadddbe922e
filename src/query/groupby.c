/*
 * groupby.c -- hash aggregation for GROUP BY and plain aggregates.
 *
 * Per scan task a GroupTable maps key tuples to group numbers, and keeps
 * one state array per aggregate (group g's state at g * state_size).
 * A batch first computes the group number of every selected row (gidx),
 * then runs each aggregate's vectorized update over the whole batch.
 *
 * Group numbers: no keys -> group 0 (created at init, so an empty input
 * still yields one row); a single dictionary-column key with a small
 * dictionary -> a direct array indexed by id (NULL at slot 0); otherwise
 * open addressing over the key words.  String keys that are not
 * dictionary ids are interned in the table's arena.
 *
 * Columns are read through exprvec's source-independent helpers
 * (exprvec_dict_*, exprvec_mv_range, exprvec_elem), so mutable segments
 * and segment files group alike.  A mutable segment's dictionary lives as
 * long as the segment, so its ids serve as key words (kenc VEC_DICT,
 * kcol the column); a file's dictionary record belongs to the scan task,
 * so a file string key's words are interned strings, made once per
 * dictionary id by the direct array (the id fast path) when the key is
 * alone.  The direct array records the identity of the dictionary it is
 * indexed by (exprvec_dict_src) in its header.
 *
 * GROUP BY a multi-value column follows Pinot: a row joins one group per
 * element (per combination of elements with several such keys); the
 * aggregates then run once per "round" j over the rows that have a
 * (j+1)-th group, with gidx set to it.
 *
 * Limits: a table holds at most max_groups groups (the query's cap, Pinot's
 * numGroupsLimit, never above the server's --max-groups ceiling); the
 * group past it fails the update with ERR_TOO_LARGE naming the limit and
 * how to change it.  A task's table holds a subset of the final groups,
 * so checking every table (task-local and global) is exact.  The query's
 * deadline is checked inside long batches (ERR_TIMEOUT): every 64 Ki new
 * groups and every multi-value row.
 *
 * Memory: arrays through mem_* (charged to the query's budget), strings in
 * the table's arena; groupby_free releases both and destroys states.
 * Failures: ERR_NOMEM from allocation (exec turns it into ERR_MEM_LIMIT
 * when the budget refused it), ERR_TOO_LARGE past max_groups.
 *
 * Speed: a string key read from a file dictionary is interned once per
 * dictionary id (a per-key id -> word array when the dictionary has at
 * most IDW_MAX entries, else a one-entry cache of the last id, which
 * serves runs of a sorted column), and a row whose key words equal the
 * previous row's takes its group without a hash probe.  exec adopts the
 * first task's table as the global one (groupby_adopt) instead of
 * merging it into an empty table.
 *
 * Exports: groupby_init, groupby_free, groupby_update, groupby_merge,
 * groupby_adopt, groupby_row.
 */
#include "query/groupby.h"
#include "base/clock.h"
#include "base/hash.h"
#include "base/mem.h"

#include <string.h>

#define DIRECT_MAX (1u << 16)
#define IDW_MAX (1u << 18)
/* group numbers and hash slots are uint32_t: stay clear of overflow */
#define GROUPS_MAX (1u << 30)
/* direct[0 .. DHDR): the dictionary source (a pointer); slots follow */
#define DHDR ((uint32_t)(sizeof(void *) / sizeof(uint32_t)))

static const void *
direct_src(const GroupTable *gt)
{
	const void *src;
	memcpy(&src, gt->direct, sizeof(src));
	return src;
}

static void
drop_direct(GroupTable *gt)
{
	mem_free(gt->direct);
	gt->direct = NULL;
	gt->ndirect = 0;
}

static int
nomem(Err *e)
{
	return err_set(e, ERR_NOMEM, "out of memory in GROUP BY");
}

static int
grow_to(GroupTable *gt, uint32_t cap, Err *e)
{
	size_t nk = (size_t)(gt->nkeys ? gt->nkeys : 1);
	uint64_t *k = mem_realloc(gt->keys, sizeof(uint64_t) * cap * nk);
	if (k == NULL)
		return nomem(e);
	gt->keys = k;
	uint8_t *kn = mem_realloc(gt->knull, cap * nk);
	if (kn == NULL)
		return nomem(e);
	gt->knull = kn;
	for (int a = 0; a < gt->p->nagg; a++) {
		size_t sz = agg_func(gt->p->aggs[a].kind)->state_size;
		char *s = mem_realloc(gt->states[a], sz * cap);
		if (s == NULL)
			return nomem(e);
		gt->states[a] = s;
	}
	gt->cap = cap;
	return 0;
}

static int
grow(GroupTable *gt, Err *e)
{
	return grow_to(gt, gt->cap ? gt->cap * 2 : 64, e);
}

static int
too_many(GroupTable *gt, Err *e)
{
	return err_set(e, ERR_TOO_LARGE,
		       "GROUP BY exceeded the limit of %zu groups; group by fewer distinct keys or filter "
		       "more, or raise the limit with 'SET numGroupsLimit = N;' or queryOptions "
		       "numGroupsLimit=N, up to the server's ceiling (waybill serve --max-groups)",
		       gt->max_groups);
}

/* Past the deadline?  Checked where one batch can take long: every 64 Ki
 * new groups (building or merging a big table) and every multi-value row
 * (whose cross product may make thousands of groups). */
static int
late(const GroupTable *gt)
{
	return gt->deadline_ns != 0 && clock_mono_ns() > gt->deadline_ns;
}

static int
timed_out(const GroupTable *gt, Err *e)
{
	return err_set(e, ERR_TIMEOUT, "query timed out after %lld ms (in GROUP BY, with %u groups)",
		       (long long)gt->timeout_ms, gt->n);
}

static int
new_group(GroupTable *gt, const uint64_t *words, const uint8_t *nulls, uint32_t *out, Err *e)
{
	if (gt->max_groups && gt->n >= gt->max_groups)
		return too_many(gt, e);
	if (gt->n >= GROUPS_MAX)
		return err_set(e, ERR_TOO_LARGE, "GROUP BY exceeded %u groups, the most one table holds", gt->n);
	if ((gt->n & 0xffff) == 0xffff && late(gt))
		return timed_out(gt, e);
	if (gt->n == gt->cap && grow(gt, e) != 0)
		return ERR_NOMEM;
	uint32_t g = gt->n++;
	if (gt->nkeys) {
		memcpy(gt->keys + (size_t)g * gt->nkeys, words, sizeof(uint64_t) * (size_t)gt->nkeys);
		memcpy(gt->knull + (size_t)g * gt->nkeys, nulls, (size_t)gt->nkeys);
	}
	for (int a = 0; a < gt->p->nagg; a++) {
		const AggFunc *f = agg_func(gt->p->aggs[a].kind);
		f->init(gt->states[a] + (size_t)g * f->state_size);
		if (f->setparam != NULL)
			f->setparam(gt->states[a] + (size_t)g * f->state_size, gt->p->aggs[a].param);
	}
	*out = g;
	return 0;
}

int
groupby_init(GroupTable *gt, const Plan *p, const GroupLimits *lim, Err *e)
{
	memset(gt, 0, sizeof(*gt));
	gt->p = p;
	if (lim != NULL) {
		gt->max_groups = lim->max_groups;
		gt->deadline_ns = lim->deadline_ns;
		gt->timeout_ms = lim->timeout_ms;
	}
	gt->nkeys = p->ngroup;
	arena_init(&gt->arena, 16 * 1024);
	int nk = p->ngroup > 0 ? p->ngroup : 1;
	gt->kenc = mem_calloc((size_t)nk, sizeof(VecEnc));
	gt->kcol = mem_calloc((size_t)nk, sizeof(MutCol *));
	gt->states = mem_calloc((size_t)(p->nagg > 0 ? p->nagg : 1), sizeof(char *));
	gt->idw = mem_calloc((size_t)nk, sizeof(uint64_t *));
	gt->nidw = mem_calloc((size_t)nk, sizeof(uint32_t));
	gt->idsrc = mem_calloc((size_t)nk, sizeof(void *));
	gt->lastid = mem_calloc((size_t)nk, sizeof(uint32_t));
	gt->lastw = mem_calloc((size_t)nk, sizeof(uint64_t));
	if (gt->kenc == NULL || gt->kcol == NULL || gt->states == NULL || gt->idw == NULL ||
	    gt->nidw == NULL || gt->idsrc == NULL || gt->lastid == NULL || gt->lastw == NULL)
		return nomem(e);
	for (int k = 0; k < p->ngroup; k++)
		gt->kenc[k] = type_is_float(p->group[k]->type) ? VEC_F64
			    : type_is_var(p->group[k]->type) ? VEC_STR : VEC_I64;
	if (gt->nkeys == 0) {
		uint32_t g;
		return new_group(gt, NULL, NULL, &g, e);
	}
	return 0;
}

void
groupby_free(GroupTable *gt)
{
	for (int a = 0; gt->states && a < gt->p->nagg; a++) {
		const AggFunc *f = agg_func(gt->p->aggs[a].kind);
		for (uint32_t g = 0; gt->states[a] && g < gt->n; g++)
			f->destroy(gt->states[a] + (size_t)g * f->state_size);
		mem_free(gt->states[a]);
	}
	mem_free(gt->states);
	mem_free(gt->keys);
	mem_free(gt->knull);
	mem_free(gt->kenc);
	mem_free(gt->kcol);
	for (int k = 0; gt->idw && k < (gt->nkeys > 0 ? gt->nkeys : 1); k++)
		mem_free(gt->idw[k]);
	mem_free(gt->idw);
	mem_free(gt->nidw);
	mem_free(gt->idsrc);
	mem_free(gt->lastid);
	mem_free(gt->lastw);
	mem_free(gt->ht);
	mem_free(gt->direct);
	mem_free(gt->istr);
	mem_free(gt->mvg);
	arena_free(&gt->arena);
	memset(gt, 0, sizeof(*gt));
}

/* Interned record for (s, n): u32 length then the bytes. */
static const char *
intern(GroupTable *gt, const char *s, uint32_t n)
{
	uint64_t h = hash_bytes(s, n);
	if ((gt->nistr + 1) * 2 > gt->istrcap) {
		uint32_t cap = gt->istrcap ? gt->istrcap * 2 : 64;
		const char **t = mem_calloc(cap, sizeof(char *));
		if (t == NULL)
			return NULL;
		for (uint32_t i = 0; i < gt->istrcap; i++) {
			const char *r = gt->istr[i];
			if (r == NULL)
				continue;
			uint32_t rl;
			memcpy(&rl, r, 4);
			uint32_t j = (uint32_t)hash_bytes(r + 4, rl) & (cap - 1);
			while (t[j] != NULL)
				j = (j + 1) & (cap - 1);
			t[j] = r;
		}
		mem_free(gt->istr);
		gt->istr = t;
		gt->istrcap = cap;
	}
	uint32_t j = (uint32_t)h & (gt->istrcap - 1);
	while (gt->istr[j] != NULL) {
		uint32_t rl;
		memcpy(&rl, gt->istr[j], 4);
		if (rl == n && memcmp(gt->istr[j] + 4, s, n) == 0)
			return gt->istr[j];
		j = (j + 1) & (gt->istrcap - 1);
	}
	char *r = arena_alloc(&gt->arena, 4 + (size_t)n + 1);
	if (r == NULL)
		return NULL;
	memcpy(r, &n, 4);
	memcpy(r + 4, s, n);
	r[4 + n] = '\0';
	gt->istr[j] = r;
	gt->nistr++;
	return r;
}

static uint64_t
tuple_hash(const uint64_t *w, const uint8_t *nl, int nk)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;
	for (int k = 0; k < nk; k++)
		h = hash_u64(h ^ (nl[k] ? 0x5bd1e995ull : w[k]));
	return h;
}

/* (Re)builds the hash index over every group, sized for `want` groups
 * (at least twice as many slots: a table that grouped through the direct
 * array, or was adopted, has many groups and no index yet). */
static int
ht_build(GroupTable *gt, uint64_t want, Err *e)
{
	int nk = gt->nkeys;
	uint32_t cap = 256;
	while ((want + 1) * 2 > cap)
		cap *= 2;
	uint32_t *t = mem_calloc(cap, sizeof(uint32_t));
	if (t == NULL)
		return nomem(e);
	for (uint32_t g = 0; g < gt->n; g++) {
		uint32_t j = (uint32_t)tuple_hash(gt->keys + (size_t)g * nk, gt->knull + (size_t)g * nk, nk) & (cap - 1);
		while (t[j] != 0)
			j = (j + 1) & (cap - 1);
		t[j] = g + 1;
	}
	mem_free(gt->ht);
	gt->ht = t;
	gt->htcap = cap;
	return 0;
}

static int
lookup(GroupTable *gt, const uint64_t *w, const uint8_t *nl, uint32_t *out, Err *e)
{
	int nk = gt->nkeys;
	if ((gt->n + 1) * 2 > gt->htcap && ht_build(gt, gt->n, e) != 0)
		return ERR_NOMEM;
	uint32_t j = (uint32_t)tuple_hash(w, nl, nk) & (gt->htcap - 1);
	for (;;) {
		uint32_t s = gt->ht[j];
		if (s == 0)
			break;
		const uint64_t *gw = gt->keys + (size_t)(s - 1) * nk;
		const uint8_t *gn = gt->knull + (size_t)(s - 1) * nk;
		int eq = 1;
		for (int k = 0; k < nk && eq; k++)
			eq = gn[k] == nl[k] && (nl[k] || gw[k] == w[k]);
		if (eq) {
			*out = s - 1;
			return 0;
		}
		j = (j + 1) & (gt->htcap - 1);
	}
	uint32_t g;
	int rc = new_group(gt, w, nl, &g, e);
	if (rc != 0)
		return rc;
	gt->ht[j] = g + 1;
	*out = g;
	return 0;
}

static uint64_t
dbits(double d)
{
	uint64_t u;
	if (d == 0)
		d = 0.0;
	if (d != d)
		return 0x7ff8000000000000ull;
	memcpy(&u, &d, 8);
	return u;
}

/* Single dictionary key v (ids): group numbers through the direct array.
 * Words are the ids (kenc VEC_DICT) or interned strings (VEC_STR). */
static int
direct_gidx(GroupTable *gt, const Vec *v, const void *src, const uint16_t *sel, int nsel,
	    Err *e)
{
	for (int k = 0; k < nsel; k++) {
		int r = sel ? sel[k] : k;
		int isnull = v->nulls && v->nulls[r];
		uint32_t slot = isnull ? 0 : v->ids[r] + 1;
		if (slot >= gt->ndirect) {
			uint32_t nd = exprvec_dict_size(v) + 1;
			if (nd <= slot)
				nd = slot + 1;
			nd += nd / 4;
			uint32_t *t = mem_realloc(gt->direct, sizeof(uint32_t) * (DHDR + nd));
			if (t == NULL)
				return nomem(e);
			if (gt->direct == NULL)
				memcpy(t, &src, sizeof(src));
			memset(t + DHDR + gt->ndirect, 0, sizeof(uint32_t) * (nd - gt->ndirect));
			gt->direct = t;
			gt->ndirect = nd;
		}
		uint32_t *d = gt->direct + DHDR;
		uint32_t g1 = d[slot];
		if (g1 == 0) {
			uint64_t w = isnull ? 0 : v->ids[r];
			uint8_t nl = (uint8_t)isnull;
			uint32_t g;
			if (!isnull && gt->kenc[0] != VEC_DICT) {
				uint32_t len = 0;
				const char *s = exprvec_dict_get(v, v->ids[r], &len);
				const char *in = intern(gt, s ? s : "", s ? len : 0);
				if (in == NULL)
					return nomem(e);
				w = (uint64_t)(uintptr_t)in;
			}
			int rc = new_group(gt, &w, &nl, &g, e);
			if (rc != 0)
				return rc;
			g1 = d[slot] = g + 1;
		}
		gt->gidx[r] = g1 - 1;
	}
	return 0;
}

/* Interned word of dictionary id `id` of v (key k), through the key's
 * id cache. */
static int
dict_word(GroupTable *gt, int k, const Vec *v, uint32_t id, uint64_t *w, Err *e)
{
	const void *src = exprvec_dict_src(v);
	if (gt->idsrc[k] != src || src == NULL) {
		uint32_t n = exprvec_dict_size(v);
		gt->idsrc[k] = src;
		gt->lastid[k] = UINT32_MAX;
		if (src != NULL && n <= IDW_MAX) {
			if (n > gt->nidw[k]) {
				mem_free(gt->idw[k]);
				gt->nidw[k] = 0;
				if ((gt->idw[k] = mem_alloc(sizeof(uint64_t) * (n ? n : 1))) == NULL)
					return nomem(e);
				gt->nidw[k] = n;
			}
			memset(gt->idw[k], 0, sizeof(uint64_t) * gt->nidw[k]);
		} else if (gt->idw[k] != NULL) {
			mem_free(gt->idw[k]);
			gt->idw[k] = NULL;
			gt->nidw[k] = 0;
		}
	}
	if (src != NULL && id < gt->nidw[k] && gt->idw[k][id] != 0) {
		*w = gt->idw[k][id];
		return 0;
	}
	if (src != NULL && id == gt->lastid[k]) {
		*w = gt->lastw[k];
		return 0;
	}
	uint32_t len = 0;
	const char *s = exprvec_dict_get(v, id, &len);
	const char *in = intern(gt, s ? s : "", s ? len : 0);
	if (in == NULL)
		return nomem(e);
	*w = (uint64_t)(uintptr_t)in;
	if (src != NULL) {
		if (id < gt->nidw[k])
			gt->idw[k][id] = *w;
		gt->lastid[k] = id;
		gt->lastw[k] = *w;
	}
	return 0;
}

/* Word of single-value key k at row r. */
static int
key_word(GroupTable *gt, int k, const Vec *v, int r, uint64_t *w, uint8_t *nl, Err *e)
{
	*nl = v->nulls ? v->nulls[r] : 0;
	*w = 0;
	if (*nl)
		return 0;
	switch (v->enc) {
	case VEC_I64: *w = (uint64_t)v->i[r]; break;
	case VEC_F64: *w = dbits(v->d[r]); break;
	case VEC_DICT:
		if (gt->kenc[k] == VEC_DICT && (const void *)gt->kcol[k] == exprvec_dict_src(v))
			*w = v->ids[r];
		else
			return dict_word(gt, k, v, v->ids[r], w, e);
		break;
	case VEC_STR: {
		const char *in;
		if (v->ids != NULL && exprvec_has_dict(v))
			/* a file column (maybe read as ids only) */
			return dict_word(gt, k, v, v->ids[r], w, e);
		in = intern(gt, v->s[r], v->slen[r]);
		if (in == NULL)
			return nomem(e);
		*w = (uint64_t)(uintptr_t)in;
		break;
	}
	default:
		return err_set(e, ERR_UNSUPPORTED, "GROUP BY a multi-value expression");
	}
	return 0;
}

/* Word of element i of multi-value key v, in the key's encoding:
 * integers, double bits, or interned strings. */
static int
elem_word(GroupTable *gt, const Vec *v, uint64_t i, uint64_t *w, Err *e)
{
	Value x = exprvec_elem(v, i);
	if (type_is_var(v->type)) {
		const char *in = intern(gt, x.u.s ? x.u.s : "", x.u.s ? x.n : 0);
		if (in == NULL)
			return nomem(e);
		*w = (uint64_t)(uintptr_t)in;
	} else if (type_is_float(v->type)) {
		*w = dbits(x.u.d);
	} else {
		*w = (uint64_t)x.u.i;
	}
	return 0;
}

static int
mv_push(GroupTable *gt, uint32_t g, Err *e)
{
	if (gt->nmvg == gt->mvgcap) {
		uint32_t cap = gt->mvgcap ? gt->mvgcap * 2 : 2 * EXPR_BATCH;
		uint32_t *t = mem_realloc(gt->mvg, sizeof(uint32_t) * cap);
		if (t == NULL)
			return nomem(e);
		gt->mvg = t;
		gt->mvgcap = cap;
	}
	gt->mvg[gt->nmvg++] = g;
	return 0;
}

/*
 * Pinot's GROUP BY over multi-value keys: a row belongs to one group per
 * combination of its keys' elements (the cross product when several keys
 * are multi-value; a row with an empty array belongs to none).  Row r's
 * groups are mvg[mvoff[r] .. + mvcnt[r]); *maxc receives the largest
 * count.
 */
static int
mv_groups(GroupTable *gt, const Vec *const *kv, const uint16_t *sel, int nsel, uint32_t *maxc,
	  Err *e)
{
	int nk = gt->nkeys, rc;
	uint64_t w[64], st[64];
	uint32_t cnt[64], pos[64];
	uint8_t nl[64];
	*maxc = 0;
	gt->nmvg = 0;
	for (int kk = 0; kk < nsel; kk++) {
		int r = sel ? sel[kk] : kk;
		int empty = 0;
		if (late(gt))
			return timed_out(gt, e);
		gt->mvoff[r] = gt->nmvg;
		gt->mvcnt[r] = 0;
		for (int k = 0; k < nk; k++) {
			const Vec *v = kv[k];
			pos[k] = 0;
			cnt[k] = 1;
			if (v->enc != VEC_MV) {
				if ((rc = key_word(gt, k, v, r, &w[k], &nl[k], e)) != 0)
					return rc;
				continue;
			}
			nl[k] = v->nulls ? v->nulls[r] : 0;
			w[k] = 0;
			if (nl[k])
				continue;
			exprvec_mv_range(v, r, &st[k], &cnt[k]);
			if (cnt[k] == 0)
				empty = 1;
		}
		if (empty)
			continue;
		for (;;) {
			for (int k = 0; k < nk; k++)
				if (kv[k]->enc == VEC_MV && !nl[k] &&
				    (rc = elem_word(gt, kv[k], st[k] + pos[k], &w[k], e)) != 0)
					return rc;
			uint32_t g;
			if ((rc = lookup(gt, w, nl, &g, e)) != 0 || (rc = mv_push(gt, g, e)) != 0)
				return rc;
			gt->mvcnt[r]++;
			int k = nk - 1;
			while (k >= 0 && ++pos[k] == cnt[k])
				pos[k--] = 0;
			if (k < 0)
				break;
		}
		if (gt->mvcnt[r] > *maxc)
			*maxc = gt->mvcnt[r];
	}
	return 0;
}

static int
agg_update(GroupTable *gt, int a, const uint32_t *gidx, const Vec *arg, const Vec *key,
	   const uint16_t *sel, int nsel, Err *e)
{
	const AggFunc *f = agg_func(gt->p->aggs[a].kind);
	int rc;
	if (key != NULL) {
		if ((rc = agg_update2(gt->p->aggs[a].kind, gt->states[a], gidx, arg, key, sel, nsel)) != 0)
			return err_set(e, rc, rc == ERR_NOMEM ? "out of memory in %s" : "%s: unsupported argument",
				       f->name);
		return 0;
	}
	if (arg && arg->enc == VEC_MV && !agg_is_mv(gt->p->aggs[a].kind)) {
		/* COUNT(mv column): counts non-NULL rows */
		Vec tmp = *arg;
		tmp.enc = VEC_I64;
		tmp.i = NULL;
		if ((rc = f->update(gt->states[a], gidx, &tmp, sel, nsel)) != 0)
			return err_set(e, rc, "aggregate update failed");
		return 0;
	}
	if ((rc = f->update(gt->states[a], gidx, arg, sel, nsel)) != 0) {
		if (rc == ERR_NOMEM)
			return err_set(e, rc, "out of memory in %s", f->name);
		return err_set(e, rc, "%s: unsupported argument", f->name);
	}
	return 0;
}

/* Key k's words become interned strings instead of ids of the mutable
 * segment column kcol[k]; the direct array goes, the hash index is
 * rebuilt over the new words.  Group numbers stay. */
static int
rekey_dict(GroupTable *gt, int k, Err *e)
{
	size_t nk = (size_t)gt->nkeys;
	for (uint32_t g = 0; g < gt->n; g++) {
		size_t i = (size_t)g * nk + (size_t)k;
		if (gt->knull[i])
			continue;
		uint32_t len = 0;
		const char *s = mutcol_dict_get(gt->kcol[k], (uint32_t)gt->keys[i], &len);
		const char *in = intern(gt, s ? s : "", s ? len : 0);
		if (in == NULL)
			return nomem(e);
		gt->keys[i] = (uint64_t)(uintptr_t)in;
	}
	gt->kenc[k] = VEC_STR;
	gt->kcol[k] = NULL;
	if (gt->direct != NULL)
		drop_direct(gt);
	/* the hash over the new words; a table with a hash index never
	 * goes back to the direct array */
	return ht_build(gt, gt->n, e);
}

int
groupby_update(GroupTable *gt, ExprCtx *cx, const Batch *b, const uint16_t *sel, int nsel, Err *e)
{
	const Plan *p = gt->p;
	int rc;
	const uint32_t *gidx = NULL;
	int has_mv = 0;
	uint32_t maxc = 0;
	if (gt->nkeys > 0) {
		const Vec *kv[64];
		if (gt->nkeys > 64)
			return err_set(e, ERR_UNSUPPORTED, "more than 64 GROUP BY keys");
		for (int k = 0; k < gt->nkeys; k++) {
			if ((rc = exprvec_eval(cx, p->group[k], b, sel, nsel, &kv[k], e)) != 0)
				return rc;
			if (kv[k]->enc == VEC_MV)
				has_mv = 1;
			/* a mutable segment's ids key the groups (its dictionary
			 * outlives the table); a file's become interned strings */
			if (kv[k]->enc == VEC_DICT && kv[k]->col != NULL) {
				if (gt->kenc[k] == VEC_STR && gt->n == 0)
					gt->kenc[k] = VEC_DICT;
				if (gt->kenc[k] == VEC_DICT && gt->kcol[k] == NULL)
					gt->kcol[k] = kv[k]->col;
			}
			/* rows of another segment (a table fed by several
			 * morsels): the ids give way to interned strings */
			if (gt->kenc[k] == VEC_DICT && gt->kcol[k] != NULL &&
			    (kv[k]->enc != VEC_DICT || kv[k]->col != gt->kcol[k]) &&
			    (rc = rekey_dict(gt, k, e)) != 0)
				return rc;
		}
		const Vec *v0 = kv[0];
		const void *src0 = NULL;
		int direct = 0;
		if (!has_mv && gt->nkeys == 1 && gt->ht == NULL && v0->ids != NULL &&
		    (v0->enc == VEC_DICT || v0->enc == VEC_STR) && exprvec_has_dict(v0)) {
			src0 = exprvec_dict_src(v0);
			direct = src0 != NULL && (gt->direct == NULL || direct_src(gt) == src0) &&
				 exprvec_dict_size(v0) < DIRECT_MAX &&
				 (gt->kenc[0] == VEC_DICT ? (const void *)gt->kcol[0] == src0
							  : gt->kenc[0] == VEC_STR);
		}
		if (has_mv) {
			if (gt->direct != NULL)
				drop_direct(gt);
			if ((rc = mv_groups(gt, kv, sel, nsel, &maxc, e)) != 0)
				return rc;
		} else if (direct) {
			if ((rc = direct_gidx(gt, v0, src0, sel, nsel, e)) != 0)
				return rc;
		} else {
			/* switch from direct to hash: lookup indexes existing groups */
			if (gt->direct != NULL)
				drop_direct(gt);
			uint64_t w[64], pw[64] = {0};
			uint8_t nl[64], pnl[64] = {0};
			uint32_t pg = UINT32_MAX;
			int nk = gt->nkeys;
			for (int kk = 0; kk < nsel; kk++) {
				int r = sel ? sel[kk] : kk;
				int same = pg != UINT32_MAX;
				for (int k = 0; k < nk; k++) {
					if ((rc = key_word(gt, k, kv[k], r, &w[k], &nl[k], e)) != 0)
						return rc;
					same &= w[k] == pw[k] && nl[k] == pnl[k];
				}
				if (same) {
					/* a run of one key (a sorted column): no probe */
					gt->gidx[r] = pg;
					continue;
				}
				if ((rc = lookup(gt, w, nl, &gt->gidx[r], e)) != 0)
					return rc;
				pg = gt->gidx[r];
				memcpy(pw, w, sizeof(uint64_t) * (size_t)nk);
				memcpy(pnl, nl, (size_t)nk);
			}
		}
		gidx = gt->gidx;
	}
	uint16_t fsel[EXPR_BATCH];
	const uint16_t *sel0 = sel;
	int nsel0 = nsel;
	for (int a = 0; a < p->nagg; a++) {
		const Vec *arg = NULL;
		const Expr *in = p->aggs[a].arg;
		sel = sel0;
		nsel = nsel0;
		if (p->aggs[a].filter) {
			int nf = 0;
			if ((rc = exprvec_filter(cx, p->aggs[a].filter, b, sel0, nsel0, fsel, &nf, e)) != 0)
				return rc;
			sel = fsel;
			nsel = nf;
		}
		if (in && (rc = exprvec_eval(cx, in, b, sel, nsel, &arg, e)) != 0)
			return rc;
		const Vec *key = NULL;
		if (p->aggs[a].arg2 && (rc = exprvec_eval(cx, p->aggs[a].arg2, b, sel, nsel, &key, e)) != 0)
			return rc;
		if (!has_mv) {
			if ((rc = agg_update(gt, a, gidx, arg, key, sel, nsel, e)) != 0)
				return rc;
			continue;
		}
		/* round j: the rows with a (j+1)-th group, in that group */
		for (uint32_t j = 0; j < maxc; j++) {
			int n2 = 0;
			for (int kk = 0; kk < nsel; kk++) {
				int r = sel ? sel[kk] : kk;
				if (gt->mvcnt[r] > j) {
					gt->sel2[n2++] = (uint16_t)r;
					gt->gidx[r] = gt->mvg[gt->mvoff[r] + j];
				}
			}
			if ((rc = agg_update(gt, a, gidx, arg, key, gt->sel2, n2, e)) != 0)
				return rc;
		}
	}
	return 0;
}

/* Key k of group g as a Value. */
static void
key_value(const GroupTable *gt, uint32_t g, int k, Value *out)
{
	WbType t = gt->p->group[k]->type;
	uint64_t w = gt->keys[(size_t)g * gt->nkeys + k];
	if (gt->knull[(size_t)g * gt->nkeys + k]) {
		*out = value_null(t);
		return;
	}
	switch (gt->kenc[k]) {
	case VEC_I64:
		*out = value_int(t, (int64_t)w);
		break;
	case VEC_F64: {
		double d;
		memcpy(&d, &w, 8);
		*out = value_double(t, d);
		break;
	}
	case VEC_DICT: {
		uint32_t len = 0;
		const char *s = mutcol_dict_get(gt->kcol[k], (uint32_t)w, &len);
		*out = value_str(t, s ? s : "", len);
		break;
	}
	default: {
		const char *r = (const char *)(uintptr_t)w;
		uint32_t len;
		memcpy(&len, r, 4);
		*out = value_str(t, r + 4, len);
	}
	}
}

int
groupby_merge(GroupTable *dst, GroupTable *src, Err *e)
{
	int nk = dst->nkeys;
	uint64_t w[64];
	uint8_t nl[64];
	int rc;
	/* room for every group of src at once (at most twice what is
	 * needed, as doubling gives): no copy per doubling, one rehash */
	uint64_t want = (uint64_t)dst->n + src->n;
	if (dst->max_groups && want > dst->max_groups + 1)
		want = dst->max_groups + 1;
	if (nk > 0 && src->n > 1024 && want < GROUPS_MAX) {
		uint32_t cap = dst->cap ? dst->cap : 64;
		while (cap < want)
			cap *= 2;
		if (cap > dst->cap && (rc = grow_to(dst, cap, e)) != 0)
			return rc;
		if ((want + 1) * 2 > dst->htcap && (rc = ht_build(dst, want, e)) != 0)
			return rc;
	}
	for (uint32_t g = 0; g < src->n; g++) {
		uint32_t dg = 0;
		if ((g & 0xffff) == 0xffff && late(dst))
			return timed_out(dst, e);
		if (nk > 0) {
			for (int k = 0; k < nk; k++) {
				Value v;
				key_value(src, g, k, &v);
				nl[k] = v.null;
				w[k] = 0;
				if (v.null)
					continue;
				if (dst->kenc[k] == VEC_STR || dst->kenc[k] == VEC_DICT) {
					const char *in = intern(dst, v.u.s, v.n);
					if (in == NULL)
						return nomem(e);
					w[k] = (uint64_t)(uintptr_t)in;
				} else if (dst->kenc[k] == VEC_F64)
					w[k] = dbits(v.u.d);
				else
					w[k] = (uint64_t)v.u.i;
			}
			if ((rc = lookup(dst, w, nl, &dg, e)) != 0)
				return rc;
		}
		for (int a = 0; a < dst->p->nagg; a++) {
			const AggFunc *f = agg_func(dst->p->aggs[a].kind);
			if (f->merge(dst->states[a] + (size_t)dg * f->state_size,
				     src->states[a] + (size_t)g * f->state_size) != 0)
				return nomem(e);
		}
	}
	return 0;
}

int
groupby_adopt(GroupTable *dst, GroupTable *src, const GroupLimits *lim)
{
	for (int k = 0; k < src->nkeys; k++)
		if (src->kenc[k] == VEC_DICT)
			return 1;
	*dst = *src;
	memset(src, 0, sizeof(*src));
	src->p = dst->p;
	arena_init(&src->arena, 1024);
	if (dst->direct != NULL)
		drop_direct(dst);
	if (lim != NULL) {
		dst->max_groups = lim->max_groups;
		dst->deadline_ns = lim->deadline_ns;
		dst->timeout_ms = lim->timeout_ms;
	}
	return 0;
}

void
groupby_row(const GroupTable *gt, uint32_t g, Value *row)
{
	for (int k = 0; k < gt->nkeys; k++)
		key_value(gt, g, k, &row[k]);
	for (int a = 0; a < gt->p->nagg; a++) {
		const AggFunc *f = agg_func(gt->p->aggs[a].kind);
		f->finalize(gt->states[a] + (size_t)g * f->state_size, gt->p->aggs[a].type, &row[gt->nkeys + a]);
	}
}
