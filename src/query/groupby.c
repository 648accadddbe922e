/*
 * groupby.c -- hash aggregation for GROUP BY and plain aggregates.
 *
 * Per scan task a GroupTable maps key tuples to group numbers, and keeps
 * one state array per aggregate (group g's state at g * state_size).
 * A batch first computes the group number of every selected row (gidx),
 * then runs each aggregate's vectorized update over the whole batch.
 *
 * Keys are words (groupby.h): numbers as themselves, strings as a
 * pointer and a length, compared by content.  A string word points into
 * a segment file's dictionary, which stays mapped while the query runs,
 * or, for any other string (computed, a mutable segment's, a multi-value
 * element), into a copy in the table's arena made when its group is
 * created -- never per row.  A mutable segment's dictionary ids serve as
 * words while a task reads that one segment (kenc VEC_DICT, kcol the
 * column); rows of another segment turn them into strings (rekey_dict).
 * Every group keeps the hash of its key (ghash), content-based for
 * strings, so the hash index is rebuilt and tables are merged without
 * hashing a string again.
 *
 * Group numbers: no keys -> group 0 (created at init, so an empty input
 * still yields one row).  A first key read as dictionary ids (any
 * dictionary of up to DIRECT_MAX entries) -> a direct array indexed by
 * id holding the id's last group, rebuilt when the dictionary changes
 * (the next segment); with more keys, the row takes that group when its
 * other keys match.  While all groups came from one dictionary's ids and
 * no id has two groups (gt->pure), a new id is a new group: dictionary
 * entries are distinct, so no hash probe is needed at all -- a GROUP BY
 * of a high-cardinality column (and columns it determines, as an order's
 * market) over one segment never hashes.  When groups from elsewhere join, the hash index is built over
 * every group (from ghash) and new ids are looked up in it.  Other keys
 * go through open addressing over the key tuple; a string key read from
 * a dictionary gets its (pointer, length, hash) from a per-key cache by
 * id (every id of a small dictionary, the last id of a big one -- runs of
 * a sorted column), and a row whose words equal the previous row's takes
 * its group without a probe.
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
 * the table's arena (a merge moves the source's arena into the
 * destination's); groupby_free releases both and destroys states.
 * Failures: ERR_NOMEM from allocation (exec turns it into ERR_MEM_LIMIT
 * when the budget refused it), ERR_TOO_LARGE past max_groups.  exec adopts
 * the first task's table as the global one (groupby_adopt) instead of
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

#define DIRECT_MAX (1u << 22)
#define IDC_MAX (1u << 16)
#define DIRECT2_MAX (1u << 16)
/* group numbers and hash slots are uint32_t: stay clear of overflow */
#define GROUPS_MAX (1u << 30)
/* direct[0 .. DHDR): the dictionary source (a pointer); slots follow */
#define DHDR ((uint32_t)(sizeof(void *) / sizeof(uint32_t)))
#define NULL_HASH 0x5bd1e995ull

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
	uint32_t *kl = mem_realloc(gt->klen, sizeof(uint32_t) * cap * nk);
	if (kl == NULL)
		return nomem(e);
	gt->klen = kl;
	uint8_t *kn = mem_realloc(gt->knull, cap * nk);
	if (kn == NULL)
		return nomem(e);
	gt->knull = kn;
	uint64_t *gh = mem_realloc(gt->ghash, sizeof(uint64_t) * cap);
	if (gh == NULL)
		return nomem(e);
	gt->ghash = gh;
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

static inline uint64_t
tuple_hash(const uint64_t *kh, const uint8_t *nl, int nk)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;
	for (int k = 0; k < nk; k++)
		h = hash_u64(h ^ (nl[k] ? NULL_HASH : kh[k]));
	return h;
}

/* Hash of key k's word w (of length l): content for strings. */
static inline uint64_t
word_hash(const GroupTable *gt, int k, uint64_t w, uint32_t l)
{
	return gt->kenc[k] == VEC_STR ? hash_bytes((const char *)(uintptr_t)w, l) : w;
}

/* New group with key words w (lengths l, NULL flags nl) and hash h; the
 * string keys whose bit is set in copy are copied into the arena. */
static int
new_group(GroupTable *gt, const uint64_t *w, const uint32_t *l, const uint8_t *nl, uint64_t h,
	  uint64_t copy, uint32_t *out, Err *e)
{
	if (gt->max_groups && gt->n >= gt->max_groups)
		return too_many(gt, e);
	if (gt->n >= GROUPS_MAX)
		return err_set(e, ERR_TOO_LARGE, "GROUP BY exceeded %u groups, the most one table holds", gt->n);
	if ((gt->n & 0xffff) == 0xffff && late(gt))
		return timed_out(gt, e);
	if (gt->n == gt->cap && grow(gt, e) != 0)
		return ERR_NOMEM;
	uint32_t g = gt->n;
	size_t nk = (size_t)gt->nkeys;
	if (nk) {
		uint64_t *gw = gt->keys + (size_t)g * nk;
		memcpy(gw, w, sizeof(uint64_t) * nk);
		memcpy(gt->klen + (size_t)g * nk, l, sizeof(uint32_t) * nk);
		memcpy(gt->knull + (size_t)g * nk, nl, nk);
		for (size_t k = 0; copy != 0 && k < nk; k++) {
			if (!(copy >> k & 1) || nl[k])
				continue;
			char *c = arena_alloc(&gt->arena, (size_t)l[k] + 1);
			if (c == NULL)
				return nomem(e);
			memcpy(c, (const char *)(uintptr_t)w[k], l[k]);
			c[l[k]] = '\0';
			gw[k] = (uint64_t)(uintptr_t)c;
		}
	}
	gt->ghash[g] = h;
	gt->n++;
	for (int a = 0; a < gt->p->nagg; a++) {
		const AggFunc *f = agg_func(gt->p->aggs[a].kind);
		f->init(gt->states[a] + (size_t)g * f->state_size);
		if (f->setparam != NULL)
			f->setparam(gt->states[a] + (size_t)g * f->state_size, gt->p->aggs[a].param);
		agg_plan_init(&gt->p->aggs[a], gt->states[a] + (size_t)g * f->state_size);
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
	gt->kc = mem_calloc((size_t)nk, sizeof(KeyCache));
	if (gt->kenc == NULL || gt->kcol == NULL || gt->states == NULL || gt->kc == NULL)
		return nomem(e);
	for (int k = 0; k < p->ngroup; k++)
		gt->kenc[k] = type_is_float(p->group[k]->type) ? VEC_F64
			    : type_is_var(p->group[k]->type) ? VEC_STR : VEC_I64;
	if (gt->nkeys == 0) {
		uint32_t g;
		return new_group(gt, NULL, NULL, NULL, 0, 0, &g, e);
	}
	return 0;
}

static void
kc_clear(KeyCache *c)
{
	mem_free(c->p);
	mem_free(c->len);
	mem_free(c->h);
	memset(c, 0, sizeof(*c));
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
	mem_free(gt->klen);
	mem_free(gt->knull);
	mem_free(gt->ghash);
	mem_free(gt->kenc);
	mem_free(gt->kcol);
	for (int k = 0; gt->kc && k < (gt->nkeys > 0 ? gt->nkeys : 1); k++)
		kc_clear(&gt->kc[k]);
	mem_free(gt->kc);
	mem_free(gt->ht);
	mem_free(gt->direct);
	mem_free(gt->direct2);
	mem_free(gt->mvg);
	arena_free(&gt->arena);
	memset(gt, 0, sizeof(*gt));
}

/* (Re)builds the hash index over every group, sized for `want` groups
 * (at least twice as many slots). */
static int
ht_build(GroupTable *gt, uint64_t want, Err *e)
{
	uint32_t cap = 256;
	while ((want + 1) * 2 > cap)
		cap *= 2;
	uint32_t *t = mem_calloc(cap, sizeof(uint32_t));
	if (t == NULL)
		return nomem(e);
	for (uint32_t g = 0; g < gt->n; g++) {
		uint32_t j = (uint32_t)gt->ghash[g] & (cap - 1);
		while (t[j] != 0)
			j = (j + 1) & (cap - 1);
		t[j] = g + 1;
	}
	mem_free(gt->ht);
	gt->ht = t;
	gt->htcap = cap;
	return 0;
}

/* Groups from elsewhere than the pure dictionary are coming: index every
 * group made so far. */
static int
impure(GroupTable *gt, Err *e)
{
	if (gt->pure == NULL)
		return 0;
	gt->pure = NULL;
	return ht_build(gt, gt->n, e);
}

static inline int
keys_eq(const GroupTable *gt, uint32_t g, const uint64_t *w, const uint32_t *l, const uint8_t *nl)
{
	int nk = gt->nkeys;
	const uint64_t *gw = gt->keys + (size_t)g * nk;
	const uint32_t *gl = gt->klen + (size_t)g * nk;
	const uint8_t *gn = gt->knull + (size_t)g * nk;
	for (int k = 0; k < nk; k++) {
		if (gn[k] != nl[k])
			return 0;
		if (nl[k])
			continue;
		if (gt->kenc[k] != VEC_STR) {
			if (gw[k] != w[k])
				return 0;
		} else if (gl[k] != l[k] || (gw[k] != w[k] &&
			   memcmp((const char *)(uintptr_t)gw[k], (const char *)(uintptr_t)w[k], l[k]) != 0)) {
			return 0;
		}
	}
	return 1;
}

/* The group of key (w, l, nl) with hash h, made if new (copy: new_group).
 * Not while the table is pure (impure() first). */
static int
lookup(GroupTable *gt, const uint64_t *w, const uint32_t *l, const uint8_t *nl, uint64_t h,
       uint64_t copy, uint32_t *out, Err *e)
{
	if ((gt->n + 1) * 2 > gt->htcap && ht_build(gt, gt->n, e) != 0)
		return ERR_NOMEM;
	uint32_t j = (uint32_t)h & (gt->htcap - 1);
	for (;;) {
		uint32_t s = gt->ht[j];
		if (s == 0)
			break;
		if (gt->ghash[s - 1] == h && keys_eq(gt, s - 1, w, l, nl)) {
			*out = s - 1;
			return 0;
		}
		j = (j + 1) & (gt->htcap - 1);
	}
	uint32_t g;
	int rc = new_group(gt, w, l, nl, h, copy, &g, e);
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

/* String word of dictionary id `id` of v (key k): pointer, length and
 * hash, through the key's cache. */
static void
dict_key(GroupTable *gt, int k, const Vec *v, uint32_t id, uint64_t *w, uint32_t *l, uint64_t *kh)
{
	KeyCache *c = &gt->kc[k];
	const void *src = exprvec_dict_src(v);
	if (c->src != src || src == NULL) {
		uint32_t n = exprvec_dict_size(v);
		c->src = src;
		c->lastid = UINT32_MAX;
		if (src != NULL && n <= IDC_MAX && n > 0) {
			if (n > c->n) {
				const void *keep = c->src;
				kc_clear(c);
				c->src = keep;
				c->lastid = UINT32_MAX;
				c->p = mem_alloc(sizeof(char *) * n);
				c->len = mem_alloc(sizeof(uint32_t) * n);
				c->h = mem_alloc(sizeof(uint64_t) * n);
				if (c->p == NULL || c->len == NULL || c->h == NULL) {
					/* no cache: only the last id is kept */
					kc_clear(c);
					c->src = keep;
					c->lastid = UINT32_MAX;
				} else {
					c->n = n;
				}
			}
			if (c->p != NULL)
				memset(c->p, 0, sizeof(char *) * c->n);
		} else {
			const void *keep = c->src;
			kc_clear(c);
			c->src = keep;
			c->lastid = UINT32_MAX;
		}
	}
	if (src != NULL && id < c->n && c->p[id] != NULL) {
		*w = (uint64_t)(uintptr_t)c->p[id];
		*l = c->len[id];
		*kh = c->h[id];
		return;
	}
	if (src != NULL && id == c->lastid) {
		*w = (uint64_t)(uintptr_t)c->lastp;
		*l = c->lastlen;
		*kh = c->lasth;
		return;
	}
	uint32_t len = 0;
	const char *s = exprvec_dict_get(v, id, &len);
	if (s == NULL) {
		s = "";
		len = 0;
	}
	*w = (uint64_t)(uintptr_t)s;
	*l = len;
	*kh = hash_bytes(s, len);
	if (src != NULL) {
		if (id < c->n) {
			c->p[id] = s;
			c->len[id] = len;
			c->h[id] = *kh;
		}
		c->lastid = id;
		c->lastp = s;
		c->lastlen = len;
		c->lasth = *kh;
	}
}

/* Word of single-value key k at row r: *w, *l, its hash *kh, *nl; *copy
 * gets bit k when the bytes must be copied if kept. */
static int
key_word(GroupTable *gt, int k, const Vec *v, int r, uint64_t *w, uint32_t *l, uint64_t *kh,
	 uint8_t *nl, uint64_t *copy, Err *e)
{
	*nl = v->nulls ? v->nulls[r] : 0;
	*w = 0;
	*l = 0;
	*kh = 0;
	if (*nl)
		return 0;
	switch (v->enc) {
	case VEC_I64: *kh = *w = (uint64_t)v->i[r]; break;
	case VEC_F64: *kh = *w = dbits(v->d[r]); break;
	case VEC_DICT:
		if (gt->kenc[k] == VEC_DICT && (const void *)gt->kcol[k] == exprvec_dict_src(v)) {
			*kh = *w = v->ids[r];
		} else {
			dict_key(gt, k, v, v->ids[r], w, l, kh);
			if (v->col != NULL)
				*copy |= 1ull << k;
		}
		break;
	case VEC_STR:
		if (v->ids != NULL && exprvec_has_dict(v)) {
			/* a file column (maybe read as ids only) */
			dict_key(gt, k, v, v->ids[r], w, l, kh);
			if (v->col != NULL)
				*copy |= 1ull << k;
			break;
		}
		*w = (uint64_t)(uintptr_t)(v->s[r] ? v->s[r] : "");
		*l = v->s[r] ? v->slen[r] : 0;
		*kh = hash_bytes((const char *)(uintptr_t)*w, *l);
		*copy |= 1ull << k;
		break;
	default:
		return err_set(e, ERR_UNSUPPORTED, "GROUP BY a multi-value expression");
	}
	return 0;
}

/* First key read as dictionary ids (kv[0], of dictionary src): group
 * numbers through the direct array, id -> the group of that id seen last.
 * With one key that is the group; with more, the other keys must match
 * it, else the hash decides (and the slot takes the new group).  Key 0's
 * words are the ids (kenc VEC_DICT) or strings (VEC_STR). */
static int
direct_gidx(GroupTable *gt, const Vec *const *kv, const void *src, const uint16_t *sel, int nsel,
	    Err *e)
{
	const Vec *v = kv[0];
	int nk = gt->nkeys;
	int rc;
	if (gt->direct != NULL && direct_src(gt) != src)
		drop_direct(gt);
	if (gt->pure != NULL && gt->pure != src && (rc = impure(gt, e)) != 0)
		return rc;
	if (gt->n == 0)
		gt->pure = src;
	int ids = gt->kenc[0] == VEC_DICT;
	/* a mutable segment's strings are copied; a file's stay mapped */
	uint64_t copy0 = !ids && v->col != NULL;
	uint64_t w[64], kh[64];
	uint32_t l[64];
	uint8_t nl[64];
	for (int kk = 0; kk < nsel; kk++) {
		int r = sel ? sel[kk] : kk;
		int isnull = v->nulls && v->nulls[r];
		uint32_t slot = isnull ? 0 : v->ids[r] + 1;
		if (slot >= gt->ndirect) {
			uint32_t nd = exprvec_dict_size(v) + 1;
			if (nd <= slot)
				nd = slot + 1;
			if (v->col != NULL)
				nd += nd / 4;	/* a mutable dictionary grows */
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
		if (g1 != 0 && nk == 1) {
			gt->gidx[r] = g1 - 1;
			continue;
		}
		uint64_t copy = copy0;
		w[0] = kh[0] = 0;
		l[0] = 0;
		nl[0] = (uint8_t)isnull;
		if (!isnull) {
			if (ids)
				kh[0] = w[0] = v->ids[r];
			else
				dict_key(gt, 0, v, v->ids[r], &w[0], &l[0], &kh[0]);
		}
		for (int k = 1; k < nk; k++)
			if ((rc = key_word(gt, k, kv[k], r, &w[k], &l[k], &kh[k], &nl[k], &copy, e)) != 0)
				return rc;
		if (g1 != 0 && keys_eq(gt, g1 - 1, w, l, nl)) {
			gt->gidx[r] = g1 - 1;
			continue;
		}
		uint32_t g;
		uint64_t h = tuple_hash(kh, nl, nk);
		if (g1 == 0 && gt->pure == src) {
			/* a new id: a new key */
			rc = new_group(gt, w, l, nl, h, copy, &g, e);
		} else {
			if ((rc = impure(gt, e)) != 0)
				return rc;
			rc = lookup(gt, w, l, nl, h, copy, &g, e);
		}
		if (rc != 0)
			return rc;
		d[slot] = g + 1;
		gt->gidx[r] = g;
	}
	return 0;
}

/* Two keys read as ids of small dictionaries (srcs src0, src1 of c0 and
 * c1 entries, c0 * c1 <= DIRECT2_MAX): group numbers through a direct
 * array over the id pairs -- GROUP BY service, market costs an array load
 * per row.  A pair seen first is looked up by its words. */
static int
direct2_gidx(GroupTable *gt, const Vec *const *kv, const void *src0, const void *src1, uint32_t c0,
	     uint32_t c1, const uint16_t *sel, int nsel, Err *e)
{
	int rc;
	uint32_t stride = c1 + 1, nd = (c0 + 1) * stride;
	if (gt->direct2 == NULL || gt->d2src[0] != src0 || gt->d2src[1] != src1 || gt->ndirect2 < nd ||
	    gt->stride2 != stride) {
		mem_free(gt->direct2);
		gt->ndirect2 = 0;
		if ((gt->direct2 = mem_calloc(nd, sizeof(uint32_t))) == NULL)
			return nomem(e);
		gt->ndirect2 = nd;
		gt->stride2 = stride;
		gt->d2src[0] = src0;
		gt->d2src[1] = src1;
	}
	const Vec *a = kv[0], *b = kv[1];
	for (int kk = 0; kk < nsel; kk++) {
		int r = sel ? sel[kk] : kk;
		uint32_t ia = a->nulls && a->nulls[r] ? 0 : a->ids[r] + 1;
		uint32_t ib = b->nulls && b->nulls[r] ? 0 : b->ids[r] + 1;
		if (ia > c0 || ib > c1)
			return err_set(e, ERR_CORRUPT, "dictionary id out of range in GROUP BY");
		uint32_t *slot = &gt->direct2[ia * stride + ib];
		if (*slot == 0) {
			uint64_t w[2], kh[2], copy = 0;
			uint32_t l[2];
			uint8_t nl[2];
			uint32_t g;
			for (int k = 0; k < 2; k++)
				if ((rc = key_word(gt, k, kv[k], r, &w[k], &l[k], &kh[k], &nl[k], &copy, e)) != 0)
					return rc;
			if ((rc = impure(gt, e)) != 0 ||
			    (rc = lookup(gt, w, l, nl, tuple_hash(kh, nl, 2), copy, &g, e)) != 0)
				return rc;
			*slot = g + 1;
		}
		gt->gidx[r] = *slot - 1;
	}
	return 0;
}

/* Word of element i of multi-value key v (key k), in the key's encoding:
 * integers, double bits, or strings (to be copied when kept). */
static void
elem_word(const Vec *v, int k, uint64_t i, uint64_t *w, uint32_t *l, uint64_t *kh, uint64_t *copy)
{
	Value x = exprvec_elem(v, i);
	*l = 0;
	if (type_is_var(v->type)) {
		*w = (uint64_t)(uintptr_t)(x.u.s ? x.u.s : "");
		*l = x.u.s ? x.n : 0;
		*kh = hash_bytes((const char *)(uintptr_t)*w, *l);
		*copy |= 1ull << k;
		return;
	}
	*kh = *w = type_is_float(v->type) ? dbits(x.u.d) : (uint64_t)x.u.i;
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
	uint64_t w[64], kh[64], st[64];
	uint32_t l[64], cnt[64], pos[64];
	uint8_t nl[64];
	*maxc = 0;
	gt->nmvg = 0;
	if ((rc = impure(gt, e)) != 0)
		return rc;
	for (int kk = 0; kk < nsel; kk++) {
		int r = sel ? sel[kk] : kk;
		int empty = 0;
		uint64_t copy = 0;
		if (late(gt))
			return timed_out(gt, e);
		gt->mvoff[r] = gt->nmvg;
		gt->mvcnt[r] = 0;
		for (int k = 0; k < nk; k++) {
			const Vec *v = kv[k];
			pos[k] = 0;
			cnt[k] = 1;
			if (v->enc != VEC_MV) {
				if ((rc = key_word(gt, k, v, r, &w[k], &l[k], &kh[k], &nl[k], &copy, e)) != 0)
					return rc;
				continue;
			}
			nl[k] = v->nulls ? v->nulls[r] : 0;
			w[k] = kh[k] = 0;
			l[k] = 0;
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
				if (kv[k]->enc == VEC_MV && !nl[k])
					elem_word(kv[k], k, st[k] + pos[k], &w[k], &l[k], &kh[k], &copy);
			uint32_t g;
			if ((rc = lookup(gt, w, l, nl, tuple_hash(kh, nl, nk), copy, &g, e)) != 0 ||
			    (rc = mv_push(gt, g, e)) != 0)
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

/* Hash of group g's key, from its words. */
static uint64_t
group_hash(const GroupTable *gt, uint32_t g)
{
	int nk = gt->nkeys;
	uint64_t kh[64];
	const uint64_t *w = gt->keys + (size_t)g * nk;
	const uint32_t *l = gt->klen + (size_t)g * nk;
	for (int k = 0; k < nk; k++)
		kh[k] = word_hash(gt, k, w[k], l[k]);
	return tuple_hash(kh, gt->knull + (size_t)g * nk, nk);
}

/* Key k's words become strings (copies) instead of ids of the mutable
 * segment column kcol[k]; the direct array goes, hashes are recomputed
 * and the hash index rebuilt over every group.  Group numbers stay. */
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
		char *c = arena_strndup(&gt->arena, s ? s : "", s ? len : 0);
		if (c == NULL)
			return nomem(e);
		gt->keys[i] = (uint64_t)(uintptr_t)c;
		gt->klen[i] = s ? len : 0;
	}
	gt->kenc[k] = VEC_STR;
	gt->kcol[k] = NULL;
	if (gt->direct != NULL)
		drop_direct(gt);
	for (uint32_t g = 0; g < gt->n; g++)
		gt->ghash[g] = group_hash(gt, g);
	gt->pure = NULL;
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
			 * outlives the table) while the table is empty or
			 * keyed by them */
			if (kv[k]->enc == VEC_DICT && kv[k]->col != NULL) {
				if (gt->kenc[k] == VEC_STR && gt->n == 0)
					gt->kenc[k] = VEC_DICT;
				if (gt->kenc[k] == VEC_DICT && gt->kcol[k] == NULL)
					gt->kcol[k] = kv[k]->col;
			}
			/* rows of another segment (a table fed by several
			 * morsels): the ids give way to strings */
			if (gt->kenc[k] == VEC_DICT && gt->kcol[k] != NULL &&
			    (kv[k]->enc != VEC_DICT || kv[k]->col != gt->kcol[k]) &&
			    (rc = rekey_dict(gt, k, e)) != 0)
				return rc;
		}
		const Vec *v0 = kv[0];
		const void *src0 = NULL;
		int direct = 0;
		if (!has_mv && v0->ids != NULL &&
		    (v0->enc == VEC_DICT || v0->enc == VEC_STR) && exprvec_has_dict(v0)) {
			src0 = exprvec_dict_src(v0);
			direct = src0 != NULL && exprvec_dict_size(v0) < DIRECT_MAX &&
				 (gt->kenc[0] == VEC_DICT ? (const void *)gt->kcol[0] == src0
							  : gt->kenc[0] == VEC_STR);
		}
		/* two dictionary keys with few pairs: the pair array */
		uint32_t c0 = 0, c1 = 0;
		const void *src1 = NULL;
		if (direct && gt->nkeys == 2 && gt->kenc[0] == VEC_STR && gt->kenc[1] == VEC_STR &&
		    kv[1]->ids != NULL && (kv[1]->enc == VEC_DICT || kv[1]->enc == VEC_STR) &&
		    exprvec_has_dict(kv[1]) && (src1 = exprvec_dict_src(kv[1])) != NULL) {
			c0 = exprvec_dict_size(v0);
			c1 = exprvec_dict_size(kv[1]);
			if ((uint64_t)(c0 + 1) * (c1 + 1) > DIRECT2_MAX)
				src1 = NULL;
		}
		if (has_mv) {
			if ((rc = mv_groups(gt, kv, sel, nsel, &maxc, e)) != 0)
				return rc;
		} else if (src1 != NULL) {
			if ((rc = direct2_gidx(gt, kv, src0, src1, c0, c1, sel, nsel, e)) != 0)
				return rc;
		} else if (direct) {
			if ((rc = direct_gidx(gt, kv, src0, sel, nsel, e)) != 0)
				return rc;
		} else {
			uint64_t w[64], kh[64], pw[64] = {0};
			uint32_t l[64], pl[64] = {0};
			uint8_t nl[64], pnl[64] = {0};
			uint32_t pg = UINT32_MAX;
			int nk = gt->nkeys;
			if ((rc = impure(gt, e)) != 0)
				return rc;
			for (int kk = 0; kk < nsel; kk++) {
				int r = sel ? sel[kk] : kk;
				int same = pg != UINT32_MAX;
				uint64_t copy = 0;
				for (int k = 0; k < nk; k++) {
					if ((rc = key_word(gt, k, kv[k], r, &w[k], &l[k], &kh[k], &nl[k], &copy, e)) != 0)
						return rc;
					same &= w[k] == pw[k] && l[k] == pl[k] && nl[k] == pnl[k];
				}
				if (same) {
					/* a run of one key (a sorted column): no probe */
					gt->gidx[r] = pg;
					continue;
				}
				if ((rc = lookup(gt, w, l, nl, tuple_hash(kh, nl, nk), copy, &gt->gidx[r], e)) != 0)
					return rc;
				pg = gt->gidx[r];
				memcpy(pw, w, sizeof(uint64_t) * (size_t)nk);
				memcpy(pl, l, sizeof(uint32_t) * (size_t)nk);
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
	size_t i = (size_t)g * gt->nkeys + k;
	uint64_t w = gt->keys[i];
	if (gt->knull[i]) {
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
		*out = value_str(t, s ? s : "", s ? len : 0);
		break;
	}
	default:
		*out = value_str(t, (const char *)(uintptr_t)w, gt->klen[i]);
	}
}

int
groupby_merge(GroupTable *dst, GroupTable *src, Err *e)
{
	int nk = dst->nkeys;
	int rc;
	/* src's words in dst's terms: strings for mutable-segment ids (dst
	 * never holds ids: it is adopted only without them, or fresh) */
	for (int k = 0; k < nk; k++)
		if (src->kenc[k] == VEC_DICT && src->kcol[k] != NULL && (rc = rekey_dict(src, k, e)) != 0)
			return rc;
	for (int k = 0; k < nk; k++)
		if (dst->kenc[k] == VEC_DICT && dst->kcol[k] != NULL && (rc = rekey_dict(dst, k, e)) != 0)
			return rc;
	arena_steal(&dst->arena, &src->arena);
	if ((rc = impure(dst, e)) != 0)
		return rc;
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
			size_t i = (size_t)g * nk;
			if ((rc = lookup(dst, src->keys + i, src->klen + i, src->knull + i, src->ghash[g], 0, &dg,
					 e)) != 0)
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
	mem_free(dst->direct2);
	dst->direct2 = NULL;
	dst->ndirect2 = 0;
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
