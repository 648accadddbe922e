/*
 * upsert.c -- a partition's upsert state: which row holds the latest
 * version of each primary key, and which rows queries may see.
 *
 * Key index.  An open-addressing hash table (linear probing, position =
 * the hash scaled to the capacity, which grows by half when 80% full) of
 * 16-byte entries: the key's 64-bit hash, the segment number and the row
 * (its top bit: the latest version is a delete; the next: the hash is
 * exact).  A key of one integer column (INT, LONG, TIMESTAMP, BOOLEAN), or
 * of two whose values fit 32 bits each (item id and node id), is stored as
 * a bijective mix of its value(s): equal exact hashes are equal keys, and
 * an exact entry only ever matches an exact lookup.  For any other key
 * an equal hash is only a candidate: the stored row's key columns are
 * read back (from the mutable segment, a segment file, or the batch being
 * decided) and compared, and probing goes on past a candidate that is
 * another key -- two distinct keys are never merged, they just share a
 * hash (counted in UpsertStats.collisions).  Nothing lives on a garbage-
 * collected heap and there is no per-key allocation.
 *
 * Deciding a row (upsert_prepare, writer thread).  The new row's key is
 * looked up.  With no entry the row becomes the latest.  Else the
 * comparison columns decide (one: compare; several, Pinot's way: the
 * first non-NULL one of the new row against the same column of the old
 * row; none: arrival order); a tie goes to the newer arrival.  A row older
 * than the latest is stored invisible (with dropOutOfOrderRecord not
 * stored at all; with outOfOrderRecordColumn stored with that column
 * true).  In PARTIAL mode a newer row is merged with the latest live
 * version, column by column by strategy, and the merged row is what is
 * stored (and logged: replay and rebuild then decide stored rows the
 * FULL way, with the same result).  A row whose deleteRecordColumn is
 * true stays the key's latest version but is invisible, so an older row
 * arriving later cannot bring the key back; a newer one does.  A row
 * whose primary key is NULL is stored invisible and not indexed.
 *
 * Visibility.  Each segment has a validity bitmap.  Decisions only queue
 * bit changes; upsert_commit applies them and publishes the group's rows
 * under the state's lock, and queries copy the bitmaps of the rows they
 * can see under the same lock (upsert_view_bits), so a query sees a key's
 * new version exactly when it stops seeing the old one.  A group that
 * fails (disk full) is undone from an undo log of the entries it changed;
 * capacity is reserved before a group so undo never meets a resize.
 *
 * Locks.  seg_mu guards the segment list and what segments are read from
 * (the sealer swaps a mutable segment for its file, retention drops
 * segments); the writer holds it while deciding.  mu guards the bitmaps
 * and the version.  Order: seg_mu before mu; the partition's own mutex
 * is never taken while holding either.
 *
 * Persistence.  At each rotation the writer copies the bitmaps of the
 * segments about to be sealed, plus a bitmap of the rows holding deleted
 * keys' latest versions; the sealer writes them as upsert-N.snap before
 * the manifest names segment N.  Opening loads the snapshot that covers
 * exactly the manifest's segments and rebuilds the key index from the
 * marked rows only (one insert per live key, no comparisons), then the
 * logs are replayed through the usual decisions.  Without a usable
 * snapshot every segment's rows are decided again in order (slower, same
 * result).
 *
 * Owns: the table, the bitmaps, per-segment cursors over segment files,
 * scratch rows.  Borrows: the segments (the partition keeps them alive
 * until upsert_seg_drop / the state is freed).
 *
 * Exports: upsert_cfg_build, upsert_cfg_free, upsert_new, upsert_free,
 * upsert_seg_add, upsert_seg_set_file, upsert_seg_set_mut,
 * upsert_seg_drop, upsert_seg_reset, upsert_prepare, upsert_commit, upsert_rollback,
 * upsert_view_bits, upsert_lock, upsert_unlock, upsert_version,
 * upsert_snapshot_take, upsert_snapshot_write, upsert_load,
 * upsert_rebuild, upsert_snapshot_upto, upsert_maintain, upsert_remap,
 * upsert_stats.
 */
#include "table/upsert.h"
#include "base/arena.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/mem.h"
#include "table/schema.h"
#include "table/tblconfig.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define EMPTY UINT32_MAX	/* Ent.seq of a free slot */
#define DEL_BIT 0x80000000u	/* Ent.row: the latest version is a delete */
#define EXACT_BIT 0x40000000u	/* Ent.row: h is a bijection of the key */
#define ROW_MASK 0x3fffffffu	/* Ent.row: the row */
#define OP_SET 0x80000000u	/* Op.row: set (else clear) */
#define MAX_LOAD 0.8
#define SNAP_MAGIC "WBUPSNP1"

typedef struct Ent {
	uint64_t h;
	uint32_t seq;
	uint32_t row;
} Ent;

typedef struct Op {
	uint32_t seq;
	uint32_t row;
} Op;

typedef struct Undo {
	size_t slot;
	Ent old;
	int grew;		/* the entry was new: count went up */
} Undo;

typedef struct USeg {
	uint32_t seq;
	int dropped;
	const MutSeg *mut;
	SegFile *file;
	int *fcol;		/* file column of each table column, -1: none */
	SegCursor *cur;		/* per table column, opened lazily */
	uint8_t *curon;
	uint64_t *bits;
	size_t words;		/* capacity of bits */
	double maxcmp;		/* largest first comparison value stored */
	int hascmp;
} USeg;

struct Upsert {
	UpsertCfg cfg;		/* deep copy */
	ColDesc *cols;
	int exact;		/* one integer key column: every hash is the key */
	int pack2;		/* two integer key columns: keys that fit 32
				 * bits each hash exactly (EXACT_BIT) */
	Ent *tab;
	size_t cap, count, ndel;
	USeg *segs;		/* ascending seq */
	int nsegs, capsegs;
	int last;		/* seg_find cache */
	Op *ops;
	size_t nops, capops;
	Undo *undo;
	size_t nundo, capundo;
	RowBatch scratch;
	Arena tmp;
	/* the batch being decided: rows at (pend_seq, pend_base + k) */
	const RowBatch *pend;
	uint32_t pend_seq;
	size_t pend_base;
	int replay;		/* deciding stored rows: no merge, no drop */
	double maxcmp;		/* largest first comparison value seen */
	int hasmax;
	int need_maint;
	uint64_t version;
	uint64_t ooo, collisions;
	pthread_mutex_t seg_mu, mu;
};

/* ---- config -------------------------------------------------------------- */

static int
col_of(const Schema *s, const char *name, const char *what, Err *e)
{
	int c = schema_find(s, name);
	if (c < 0)
		err_set(e, ERR_BAD_CONFIG, "upsertConfig: %s '%.64s' is not a column of schema '%.64s'",
			what, name, s->name);
	return c;
}

int
upsert_cfg_build(const TableConfig *c, const Schema *s, UpsertCfg *out, Err *e)
{
	memset(out, 0, sizeof(*out));
	out->delete_col = out->ooo_col = -1;
	if (c == NULL || c->upsert_mode == NULL || strcmp(c->upsert_mode, "NONE") == 0)
		return 0;
	if (s->npk == 0)
		return err_set(e, ERR_BAD_CONFIG, "upsertConfig.mode: %s upsert needs primaryKeyColumns in schema '%.64s'",
			       c->upsert_mode, s->name);
	if (s->npk > UPSERT_MAX_PK)
		return err_set(e, ERR_BAD_CONFIG, "schema '%.64s': at most %d primaryKeyColumns", s->name,
			       UPSERT_MAX_PK);
	out->partial = strcmp(c->upsert_mode, "PARTIAL") == 0;
	out->ncols = s->nfields;
	out->names = mem_calloc((size_t)s->nfields + 1, sizeof(char *));
	out->strategy = mem_calloc((size_t)s->nfields + 1, sizeof(int));
	if (out->names == NULL || out->strategy == NULL) {
		upsert_cfg_free(out);
		return err_set(e, ERR_NOMEM, "upsert config");
	}
	for (int i = 0; i < s->nfields; i++) {
		out->names[i] = s->fields[i].name;
		out->strategy[i] = c->default_strategy;
	}
	int rc = 0;
	for (int i = 0; i < s->npk && rc == 0; i++) {
		out->pk[i] = col_of(s, s->pk[i], "primary key column", e);
		rc = out->pk[i] < 0 ? ERR_BAD_CONFIG : 0;
	}
	out->npk = s->npk;
	if (rc == 0 && c->ncmp > UPSERT_MAX_CMP)
		rc = err_set(e, ERR_BAD_CONFIG, "upsertConfig.comparisonColumns: at most %d columns",
			     UPSERT_MAX_CMP);
	for (int i = 0; rc == 0 && i < c->ncmp; i++) {
		out->cmp[i] = col_of(s, c->cmp_cols[i], "comparison column", e);
		rc = out->cmp[i] < 0 ? ERR_BAD_CONFIG : 0;
		out->ncmp = i + 1;
	}
	if (rc == 0 && c->ncmp == 0 && c->time_column) {
		int tc = schema_find(s, c->time_column);
		if (tc >= 0) {
			out->cmp[0] = tc;
			out->ncmp = 1;
		}
	}
	for (int i = 0; rc == 0 && i < c->nstrategies; i++) {
		int k = col_of(s, c->strategy_cols[i], "partialUpsertStrategies column", e);
		if (k < 0)
			rc = ERR_BAD_CONFIG;
		else
			out->strategy[k] = c->strategies[i];
	}
	if (rc == 0 && c->delete_col && (out->delete_col = col_of(s, c->delete_col, "deleteRecordColumn", e)) < 0)
		rc = ERR_BAD_CONFIG;
	if (rc == 0 && c->out_of_order_col &&
	    (out->ooo_col = col_of(s, c->out_of_order_col, "outOfOrderRecordColumn", e)) < 0)
		rc = ERR_BAD_CONFIG;
	if (rc) {
		upsert_cfg_free(out);
		return rc;
	}
	out->drop_ooo = c->drop_out_of_order;
	out->deleted_keys_ttl = c->deleted_keys_ttl;
	out->metadata_ttl = c->metadata_ttl;
	out->on = 1;
	return 0;
}

void
upsert_cfg_free(UpsertCfg *cfg)
{
	mem_free(cfg->names);
	mem_free(cfg->strategy);
	cfg->names = NULL;
	cfg->strategy = NULL;
	cfg->on = 0;
}

/* ---- helpers -------------------------------------------------------------- */

static uint64_t
mix64(uint64_t x)
{
	/* MurmurHash3's finalizer: a bijection on 64 bits */
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint64_t
val_hash(const Value *v)
{
	if (v->null)
		return 0x9e3779b97f4a7c15ULL;
	if (v->mv) {
		uint64_t h = (uint64_t)v->n;
		for (uint32_t i = 0; i < v->n; i++)
			h = hash_u64(h ^ val_hash(&v->u.mv[i]));
		return h;
	}
	switch (v->type) {
	case TYPE_STRING:
	case TYPE_JSON:
	case TYPE_BYTES:
		return hash_bytes(v->u.s, v->n);
	case TYPE_FLOAT:
	case TYPE_DOUBLE: {
		double d = v->u.d == 0 ? 0 : v->u.d;	/* -0 == 0 */
		uint64_t bits;
		memcpy(&bits, &d, 8);
		return hash_u64(bits);
	}
	default:
		return hash_u64((uint64_t)v->u.i);
	}
}

static int
val_eq(const Value *a, const Value *b)
{
	if (a->null || b->null)
		return a->null && b->null;
	if (a->mv || b->mv) {
		if (!a->mv || !b->mv || a->n != b->n)
			return 0;
		for (uint32_t i = 0; i < a->n; i++)
			if (!val_eq(&a->u.mv[i], &b->u.mv[i]))
				return 0;
		return 1;
	}
	switch (a->type) {
	case TYPE_STRING:
	case TYPE_JSON:
	case TYPE_BYTES:
		return a->n == b->n && memcmp(a->u.s, b->u.s, a->n) == 0;
	case TYPE_FLOAT:
	case TYPE_DOUBLE:
		return a->u.d == b->u.d;
	default:
		return a->u.i == b->u.i;
	}
}

static int
is_float(const Value *v)
{
	return v->type == TYPE_FLOAT || v->type == TYPE_DOUBLE;
}

static double
val_num(const Value *v)
{
	return is_float(v) ? v->u.d : (double)v->u.i;
}

/* <0, 0, >0; a NULL is smaller than anything else */
static int
val_cmp(const Value *a, const Value *b)
{
	if (a->null || b->null)
		return (int)!a->null - (int)!b->null;
	if (a->type == TYPE_STRING || a->type == TYPE_JSON || a->type == TYPE_BYTES) {
		uint32_t n = a->n < b->n ? a->n : b->n;
		int c = memcmp(a->u.s, b->u.s, n);
		return c ? c : (a->n > b->n) - (a->n < b->n);
	}
	if (is_float(a) || is_float(b)) {
		double x = val_num(a), y = val_num(b);
		return (x > y) - (x < y);
	}
	return (a->u.i > b->u.i) - (a->u.i < b->u.i);
}

static int
truthy(const Value *v)
{
	if (v->null || v->mv)
		return 0;
	switch (v->type) {
	case TYPE_STRING:
		return (v->n == 4 && strncasecmp(v->u.s, "true", 4) == 0) || (v->n == 1 && v->u.s[0] == '1');
	case TYPE_FLOAT:
	case TYPE_DOUBLE:
		return v->u.d != 0;
	case TYPE_JSON:
	case TYPE_BYTES:
		return 0;
	default:
		return v->u.i != 0;
	}
}

static int
key_null(const Upsert *u, const Value *row)
{
	for (int i = 0; i < u->cfg.npk; i++)
		if (row[u->cfg.pk[i]].null)
			return 1;
	return 0;
}

/* The key's hash; *ex = 1 when it is a bijection of the key (one integer
 * column, or two whose values fit 32 bits each), so equal hashes of two
 * such keys mean equal keys. */
static uint64_t
key_hash(const Upsert *u, const Value *row, int *ex)
{
	*ex = 1;
	if (u->exact)
		return mix64((uint64_t)row[u->cfg.pk[0]].u.i);
	if (u->pack2) {
		int64_t a = row[u->cfg.pk[0]].u.i, b = row[u->cfg.pk[1]].u.i;
		if (a >= INT32_MIN && a <= INT32_MAX && b >= INT32_MIN && b <= INT32_MAX)
			return mix64(((uint64_t)(uint32_t)a << 32) | (uint32_t)b);
	}
	*ex = 0;
	uint64_t h = 0x243f6a8885a308d3ULL;
	for (int i = 0; i < u->cfg.npk; i++)
		h = hash_u64(h ^ val_hash(&row[u->cfg.pk[i]])) + (uint64_t)i;
	if (u->cfg.hash_bits > 0 && u->cfg.hash_bits < 64)
		h &= ((uint64_t)1 << u->cfg.hash_bits) - 1;
	return h;
}

static size_t
home(const Upsert *u, uint64_t h)
{
	return (size_t)(((unsigned __int128)h * u->cap) >> 64);
}

static int
seg_index(Upsert *u, uint32_t seq)
{
	if (u->last < u->nsegs && u->segs[u->last].seq == seq)
		return u->last;
	int lo = 0, hi = u->nsegs - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (u->segs[mid].seq == seq)
			return u->last = mid;
		if (u->segs[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static USeg *
seg_find(Upsert *u, uint32_t seq)
{
	int i = seg_index(u, seq);
	return i < 0 ? NULL : &u->segs[i];
}

static void
seg_close_file(USeg *s, int ncols)
{
	if (s->cur)
		for (int c = 0; c < ncols; c++)
			if (s->curon[c])
				segfile_cursor_free(&s->cur[c]);
	mem_free(s->cur);
	mem_free(s->curon);
	mem_free(s->fcol);
	s->cur = NULL;
	s->curon = NULL;
	s->fcol = NULL;
}

static int
seg_attach_file(Upsert *u, USeg *s, SegFile *f)
{
	int n = u->cfg.ncols;
	int *fcol = mem_alloc(sizeof(int) * (size_t)n);
	SegCursor *cur = mem_calloc((size_t)n, sizeof(SegCursor));
	uint8_t *on = mem_calloc((size_t)n, 1);
	if (fcol == NULL || cur == NULL || on == NULL) {
		mem_free(fcol);
		mem_free(cur);
		mem_free(on);
		return ERR_NOMEM;
	}
	for (int c = 0; c < n; c++)
		fcol[c] = segfile_col_find(f, u->cfg.names[c]);
	seg_close_file(s, n);
	s->fcol = fcol;
	s->cur = cur;
	s->curon = on;
	s->file = f;
	s->mut = NULL;
	/* the TTLs need the segment's newest comparison value: from the
	 * file's statistics when it was not seen being written */
	const SegColInfo *ci = u->cfg.ncmp > 0 && fcol[u->cfg.cmp[0]] >= 0
				       ? segfile_col(f, fcol[u->cfg.cmp[0]])
				       : NULL;
	if (ci && ci->has_minmax && !ci->mv && ci->type != TYPE_STRING && ci->type != TYPE_JSON &&
	    ci->type != TYPE_BYTES) {
		double mx = ci->type == TYPE_FLOAT || ci->type == TYPE_DOUBLE ? ci->max.d : (double)ci->max.i;
		if (!s->hascmp || mx > s->maxcmp)
			s->maxcmp = mx;
		s->hascmp = 1;
		if (!u->hasmax || mx > u->maxcmp) {
			u->maxcmp = mx;
			u->hasmax = 1;
		}
	}
	return 0;
}

/* Column col of row (seq, row) into *out (strings borrowed from the
 * segment or the pending batch; MV arrays in u->tmp). */
static int
read_val(Upsert *u, uint32_t seq, size_t row, int col, Value *out, Err *e)
{
	if (u->pend && seq == u->pend_seq && row >= u->pend_base) {
		*out = rowbatch_row(u->pend, row - u->pend_base)[col];
		return 0;
	}
	USeg *s = seg_find(u, seq);
	if (s == NULL || s->dropped)
		return err_set(e, ERR_INTERNAL, "upsert: segment %u is not known", seq);
	if (s->mut)
		return mutcol_value(mutseg_col(s->mut, col), row, out, &u->tmp) == 0
			       ? 0
			       : err_set(e, ERR_NOMEM, "upsert: reading a row");
	int fc = s->fcol[col];
	if (fc < 0) {
		*out = value_null(u->cols[col].type);
		return 0;
	}
	if (!s->curon[col]) {
		segfile_cursor_init(&s->cur[col], s->file, fc);
		s->curon[col] = 1;
	}
	return segfile_value(&s->cur[col], row, out, &u->tmp, e);
}

/* ---- the key index ------------------------------------------------------ */

static int
grow(Upsert *u, size_t need)
{
	size_t cap = u->cap ? u->cap : 1024;
	while ((double)need > (double)cap * MAX_LOAD)
		cap += cap / 2;
	if (cap == u->cap)
		return 0;
	Ent *t = mem_alloc(sizeof(Ent) * cap);
	if (t == NULL)
		return ERR_NOMEM;
	for (size_t i = 0; i < cap; i++)
		t[i].seq = EMPTY;
	Ent *old = u->tab;
	size_t ocap = u->cap;
	u->tab = t;
	u->cap = cap;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i].seq == EMPTY)
			continue;
		size_t j = home(u, old[i].h);
		while (t[j].seq != EMPTY)
			j = j + 1 == cap ? 0 : j + 1;
		t[j] = old[i];
	}
	mem_free(old);
	return 0;
}

/* Finds the entry of row's key: its slot, or -1 with *ins = the free slot
 * to insert at.  A key read back from a segment that fails to read is an
 * error. */
static int
find(Upsert *u, uint64_t h, int ex, const Value *row, long *slot, size_t *ins, int *stale, Err *e)
{
	size_t i = home(u, h);
	*stale = 0;
	for (;;) {
		Ent *x = &u->tab[i];
		if (x->seq == EMPTY) {
			*slot = -1;
			*ins = i;
			return 0;
		}
		if (x->h == h && ((x->row & EXACT_BIT) != 0) == (ex != 0)) {
			USeg *s = seg_find(u, x->seq);
			if (s == NULL || s->dropped) {
				/* a dropped segment's entry: garbage until
				 * upsert_maintain; an exact key is that key */
				if (ex) {
					*slot = -1;
					*ins = i;
					*stale = 1;
					return 0;
				}
			} else if (ex) {
				*slot = (long)i;
				return 0;
			} else {
				int same = 1;
				for (int k = 0; k < u->cfg.npk && same; k++) {
					Value v;
					int c = u->cfg.pk[k];
					if (read_val(u, x->seq, x->row & ROW_MASK, c, &v, e) != 0)
						return e->code;
					same = val_eq(&v, &row[c]);
				}
				if (same) {
					*slot = (long)i;
					return 0;
				}
				u->collisions++;
			}
		}
		i = i + 1 == u->cap ? 0 : i + 1;
	}
}

static int
push_undo(Upsert *u, size_t slot, int grew)
{
	if (u->nundo == u->capundo) {
		size_t cap = u->capundo ? 2 * u->capundo : 1024;
		Undo *n = mem_realloc(u->undo, sizeof(Undo) * cap);
		if (n == NULL)
			return ERR_NOMEM;
		u->undo = n;
		u->capundo = cap;
	}
	u->undo[u->nundo].slot = slot;
	u->undo[u->nundo].old = u->tab[slot];
	u->undo[u->nundo].grew = grew;
	u->nundo++;
	return 0;
}

static int
push_op(Upsert *u, uint32_t seq, uint32_t row)
{
	if (u->nops == u->capops) {
		size_t cap = u->capops ? 2 * u->capops : 4096;
		Op *n = mem_realloc(u->ops, sizeof(Op) * cap);
		if (n == NULL)
			return ERR_NOMEM;
		u->ops = n;
		u->capops = cap;
	}
	u->ops[u->nops].seq = seq;
	u->ops[u->nops].row = row;
	u->nops++;
	return 0;
}

/* ---- lifecycle ------------------------------------------------------------ */

static int
int_col(const ColDesc *c)
{
	return !c->mv && (c->type == TYPE_INT || c->type == TYPE_LONG || c->type == TYPE_TIMESTAMP ||
			  c->type == TYPE_BOOLEAN);
}

int
upsert_new(const UpsertCfg *cfg, const ColDesc *cols, Upsert **out, Err *e)
{
	Upsert *u = mem_calloc(1, sizeof(Upsert));
	if (u == NULL)
		return err_set(e, ERR_NOMEM, "upsert state");
	u->cfg = *cfg;
	int n = cfg->ncols;
	u->cfg.names = mem_calloc((size_t)n + 1, sizeof(char *));
	u->cfg.strategy = mem_calloc((size_t)n + 1, sizeof(int));
	u->cols = mem_calloc((size_t)n + 1, sizeof(ColDesc));
	int ok = u->cfg.names && u->cfg.strategy && u->cols;
	for (int i = 0; ok && i < n; i++) {
		u->cfg.names[i] = mem_strdup(cfg->names[i]);
		u->cfg.strategy[i] = cfg->strategy ? cfg->strategy[i] : TBL_UPS_OVERWRITE;
		u->cols[i] = cols[i];
		u->cols[i].has_dflt = 0;	/* dflt's bytes are not ours */
		ok = u->cfg.names[i] != NULL;
	}
	u->last = 0;
	rowbatch_init(&u->scratch, n);
	arena_init(&u->tmp, 16 * 1024);
	pthread_mutex_init(&u->seg_mu, NULL);
	pthread_mutex_init(&u->mu, NULL);
	if (!ok || grow(u, 1) != 0) {
		upsert_free(u);
		return err_set(e, ERR_NOMEM, "upsert state");
	}
	WbType kt = cols[cfg->pk[0]].type;
	u->exact = cfg->npk == 1 && !cols[cfg->pk[0]].mv &&
		   (kt == TYPE_INT || kt == TYPE_LONG || kt == TYPE_TIMESTAMP || kt == TYPE_BOOLEAN);
	u->pack2 = cfg->npk == 2 && int_col(&cols[cfg->pk[0]]) && int_col(&cols[cfg->pk[1]]);
	*out = u;
	return 0;
}

void
upsert_free(Upsert *u)
{
	if (u == NULL)
		return;
	for (int i = 0; i < u->nsegs; i++) {
		seg_close_file(&u->segs[i], u->cfg.ncols);
		mem_free(u->segs[i].bits);
	}
	mem_free(u->segs);
	for (int i = 0; u->cfg.names && i < u->cfg.ncols; i++)
		mem_free((char *)u->cfg.names[i]);
	mem_free(u->cfg.names);
	mem_free(u->cfg.strategy);
	mem_free(u->cols);
	mem_free(u->tab);
	mem_free(u->ops);
	mem_free(u->undo);
	rowbatch_free(&u->scratch);
	arena_free(&u->tmp);
	pthread_mutex_destroy(&u->seg_mu);
	pthread_mutex_destroy(&u->mu);
	mem_free(u);
}

int
upsert_seg_add(Upsert *u, uint64_t seq, const MutSeg *mut, SegFile *file, Err *e)
{
	if (seq >= EMPTY)
		return err_set(e, ERR_TOO_LARGE, "upsert: segment number %llu is too large",
			       (unsigned long long)seq);
	pthread_mutex_lock(&u->seg_mu);
	pthread_mutex_lock(&u->mu);
	int rc = 0;
	if (u->nsegs == u->capsegs) {
		int cap = u->capsegs ? 2 * u->capsegs : 16;
		USeg *n = mem_realloc(u->segs, sizeof(USeg) * (size_t)cap);
		if (n == NULL)
			rc = err_set(e, ERR_NOMEM, "upsert: adding a segment");
		else {
			u->segs = n;
			u->capsegs = cap;
		}
	}
	if (rc == 0) {
		int at = u->nsegs;
		while (at > 0 && u->segs[at - 1].seq > (uint32_t)seq)
			at--;
		memmove(&u->segs[at + 1], &u->segs[at], sizeof(USeg) * (size_t)(u->nsegs - at));
		USeg *s = &u->segs[at];
		memset(s, 0, sizeof(*s));
		s->seq = (uint32_t)seq;
		s->mut = mut;
		u->nsegs++;
		u->last = 0;
		if (file && seg_attach_file(u, s, file) != 0) {
			memmove(&u->segs[at], &u->segs[at + 1], sizeof(USeg) * (size_t)(u->nsegs - at - 1));
			u->nsegs--;
			rc = err_set(e, ERR_NOMEM, "upsert: adding a segment");
		}
	}
	pthread_mutex_unlock(&u->mu);
	pthread_mutex_unlock(&u->seg_mu);
	return rc;
}

void
upsert_seg_set_file(Upsert *u, uint64_t seq, SegFile *file)
{
	pthread_mutex_lock(&u->seg_mu);
	USeg *s = seg_find(u, (uint32_t)seq);
	if (s && seg_attach_file(u, s, file) != 0) {
		/* keep reading the mutable segment: the partition frees it
		 * only after this; but it will go -- mark it unreadable */
		log_error("upsert: no memory to switch segment %llu to its file; its keys are dropped",
			  (unsigned long long)seq);
		s->dropped = 1;
		u->need_maint = 1;
	}
	pthread_mutex_unlock(&u->seg_mu);
}

void
upsert_seg_set_mut(Upsert *u, uint64_t seq, const MutSeg *mut)
{
	pthread_mutex_lock(&u->seg_mu);
	USeg *s = seg_find(u, (uint32_t)seq);
	if (s)
		s->mut = mut;
	pthread_mutex_unlock(&u->seg_mu);
}

void
upsert_seg_drop(Upsert *u, uint64_t seq)
{
	pthread_mutex_lock(&u->seg_mu);
	pthread_mutex_lock(&u->mu);
	USeg *s = seg_find(u, (uint32_t)seq);
	if (s) {
		s->dropped = 1;
		seg_close_file(s, u->cfg.ncols);
		s->mut = NULL;
		s->file = NULL;
		u->need_maint = 1;
		u->version++;
	}
	pthread_mutex_unlock(&u->mu);
	pthread_mutex_unlock(&u->seg_mu);
}

static void remove_at(Upsert *u, size_t i);

void
upsert_seg_reset(Upsert *u, uint64_t seq, const MutSeg *mut)
{
	pthread_mutex_lock(&u->seg_mu);
	pthread_mutex_lock(&u->mu);
	USeg *s = seg_find(u, (uint32_t)seq);
	if (s) {
		s->mut = mut;
		if (s->bits)
			memset(s->bits, 0, s->words * sizeof(uint64_t));
		s->hascmp = 0;
		for (size_t i = 0; i < u->cap;) {
			Ent *x = &u->tab[i];
			if (x->seq != (uint32_t)seq) {
				i++;
				continue;
			}
			if (x->row & DEL_BIT)
				u->ndel--;
			u->count--;
			remove_at(u, i);
		}
		u->version++;
	}
	pthread_mutex_unlock(&u->mu);
	pthread_mutex_unlock(&u->seg_mu);
}

/* ---- deciding rows --------------------------------------------------------- */

/* >= 0: row (new) wins over the version at (seq, orow); < 0: it is older. */
static int
compare(Upsert *u, const Value *row, uint32_t seq, size_t orow, int *out, Err *e)
{
	*out = 1;
	for (int k = 0; k < u->cfg.ncmp; k++) {
		int c = u->cfg.cmp[k];
		if (row[c].null && u->cfg.ncmp > 1)
			continue;
		Value old;
		if (read_val(u, seq, orow, c, &old, e) != 0)
			return e->code;
		*out = val_cmp(&row[c], &old);
		return 0;
	}
	return 0;
}

/* Adds src's elements to *dst (old elements first), skipping ones
 * already there when uniq. */
static int
mv_concat(Arena *a, const Value *old, const Value *add, int uniq, Value *out)
{
	uint32_t n0 = old->null ? 0 : old->n, n1 = add->null ? 0 : add->n;
	Value *el = arena_alloc(a, sizeof(Value) * ((size_t)n0 + n1 + 1));
	if (el == NULL)
		return ERR_NOMEM;
	uint32_t n = 0;
	for (uint32_t i = 0; i < n0; i++)
		if (value_copy(&el[n++], &old->u.mv[i], a) != 0)
			return ERR_NOMEM;
	for (uint32_t i = 0; i < n1; i++) {
		int dup = 0;
		for (uint32_t j = 0; uniq && j < n && !dup; j++)
			dup = val_eq(&el[j], &add->u.mv[i]);
		if (!dup && value_copy(&el[n++], &add->u.mv[i], a) != 0)
			return ERR_NOMEM;
	}
	*out = *add;
	out->null = 0;
	out->mv = 1;
	out->n = n;
	out->u.mv = el;
	return 0;
}

/* The merged row of the live version at (seq, orow) and the new row, into
 * a new scratch row. */
static int
merge(Upsert *u, const Value *row, uint32_t seq, size_t orow, Value *dst, Err *e)
{
	Arena *a = &u->scratch.arena;
	for (int c = 0; c < u->cfg.ncols; c++) {
		const Value *nv = &row[c];
		int st = u->cfg.strategy[c];
		int is_key = 0;
		for (int k = 0; k < u->cfg.npk; k++)
			is_key |= u->cfg.pk[k] == c;
		for (int k = 0; k < u->cfg.ncmp; k++)
			st = u->cfg.cmp[k] == c ? TBL_UPS_OVERWRITE : st;
		if (c == u->cfg.delete_col || c == u->cfg.ooo_col)
			st = TBL_UPS_OVERWRITE;
		if (is_key || st == TBL_UPS_FORCE_OVERWRITE) {
			if (value_copy(&dst[c], nv, a) != 0)
				return err_set(e, ERR_NOMEM, "partial upsert");
			continue;
		}
		Value ov;
		if (read_val(u, seq, orow, c, &ov, e) != 0)
			return e->code;
		Value res = *nv;
		switch (st) {
		case TBL_UPS_OVERWRITE:
			res = nv->null ? ov : *nv;
			break;
		case TBL_UPS_IGNORE:
			res = ov.null ? *nv : ov;
			break;
		case TBL_UPS_INCREMENT:
		case TBL_UPS_MAX:
		case TBL_UPS_MIN:
			if (nv->null || ov.null) {
				res = nv->null ? ov : *nv;
			} else if (nv->mv || ov.mv) {
				res = *nv;
			} else if (st == TBL_UPS_INCREMENT) {
				if (is_float(nv))
					res.u.d = nv->u.d + val_num(&ov);
				else
					res.u.i = (int64_t)((uint64_t)nv->u.i + (uint64_t)ov.u.i);
			} else {
				int c2 = val_cmp(nv, &ov);
				res = (st == TBL_UPS_MAX ? c2 >= 0 : c2 <= 0) ? *nv : ov;
			}
			break;
		case TBL_UPS_APPEND:
		case TBL_UPS_UNION:
			if (nv->null) {
				res = ov;
			} else if (ov.null || !ov.mv || !nv->mv) {
				res = *nv;
			} else if (mv_concat(a, &ov, nv, st == TBL_UPS_UNION, &res) != 0) {
				return err_set(e, ERR_NOMEM, "partial upsert");
			}
			break;
		default:
			break;
		}
		if (value_copy(&dst[c], &res, a) != 0)
			return err_set(e, ERR_NOMEM, "partial upsert");
	}
	return 0;
}

static void
note_cmp(Upsert *u, const Value *row, uint32_t seq)
{
	if (u->cfg.ncmp == 0 || row[u->cfg.cmp[0]].null || row[u->cfg.cmp[0]].mv)
		return;
	const Value *v = &row[u->cfg.cmp[0]];
	if (v->type == TYPE_STRING || v->type == TYPE_JSON || v->type == TYPE_BYTES)
		return;
	double d = val_num(v);
	if (!u->hasmax || d > u->maxcmp) {
		u->maxcmp = d;
		u->hasmax = 1;
	}
	USeg *s = seg_find(u, seq);
	if (s && (!s->hascmp || d > s->maxcmp)) {
		s->maxcmp = d;
		s->hascmp = 1;
	}
}

static int bits_reserve(USeg *s, size_t rows);

static int
prepare_locked(Upsert *u, const RowBatch *in, uint32_t seq, size_t base, const RowBatch **out, Err *e)
{
	int rewrite = !u->replay &&
		      (u->cfg.partial || u->cfg.drop_ooo || u->cfg.ooo_col >= 0 || u->cfg.ncmp > 1);
	const RowBatch *dst = in;
	if (rewrite) {
		rowbatch_reset(&u->scratch);
		dst = &u->scratch;
	}
	u->pend = dst;
	u->pend_seq = seq;
	u->pend_base = base;
	if (grow(u, u->count + in->nrows) != 0)
		return err_set(e, ERR_NOMEM, "upsert: growing the key index");
	/* the bits the rows may set exist before anything is logged, so
	 * commit cannot fail (queries copy bitmaps under mu) */
	USeg *cur = seg_find(u, seq);
	if (cur == NULL || cur->dropped)
		return err_set(e, ERR_INTERNAL, "upsert: segment %u is not known", seq);
	pthread_mutex_lock(&u->mu);
	int brc = bits_reserve(cur, base + in->nrows);
	pthread_mutex_unlock(&u->mu);
	if (brc)
		return err_set(e, ERR_NOMEM, "upsert: growing a validity bitmap");
	for (size_t r = 0; r < in->nrows; r++) {
		const Value *row = rowbatch_row(in, r);
		size_t at = base + dst->nrows;	/* in: dst == in, nrows is final */
		if (!rewrite)
			at = base + r;
		if (at > ROW_MASK)
			return err_set(e, ERR_TOO_LARGE, "upsert: a segment holds at most 2^30 rows");
		if (key_null(u, row)) {
			if (rewrite) {
				Value *d = rowbatch_add_row(&u->scratch);
				if (d == NULL || (memcpy(d, row, sizeof(Value) * (size_t)in->ncols), 0))
					return err_set(e, ERR_NOMEM, "upsert");
			}
			continue;
		}
		int ex;
		uint64_t h = key_hash(u, row, &ex);
		long slot;
		size_t ins = 0;
		int stale;
		if (find(u, h, ex, row, &slot, &ins, &stale, e) != 0)
			return e->code;
		uint32_t oseq = 0, orow = 0;
		int odel = 0;
		if (slot >= 0) {
			oseq = u->tab[slot].seq;
			orow = u->tab[slot].row & ROW_MASK;
			odel = (u->tab[slot].row & DEL_BIT) != 0;
			int c;
			if (compare(u, row, oseq, orow, &c, e) != 0)
				return e->code;
			if (c < 0) {
				u->ooo++;
				if (!rewrite)
					continue;	/* stored invisible */
				if (u->cfg.drop_ooo)
					continue;	/* not stored */
				Value *d = rowbatch_add_row(&u->scratch);
				if (d == NULL)
					return err_set(e, ERR_NOMEM, "upsert");
				memcpy(d, row, sizeof(Value) * (size_t)in->ncols);
				if (u->cfg.ooo_col >= 0)
					d[u->cfg.ooo_col] = value_int(u->cols[u->cfg.ooo_col].type, 1);
				continue;
			}
		}
		const Value *stored = row;
		if (rewrite) {
			Value *d = rowbatch_add_row(&u->scratch);
			if (d == NULL)
				return err_set(e, ERR_NOMEM, "upsert");
			if (u->cfg.partial && slot >= 0 && !odel) {
				if (merge(u, row, oseq, orow, d, e) != 0)
					return e->code;
			} else {
				memcpy(d, row, sizeof(Value) * (size_t)in->ncols);
				/* several comparison columns: the winner carries the
				 * latest values of those it does not set (Pinot's
				 * rule), so later rows compare against them */
				for (int k = 0; slot >= 0 && u->cfg.ncmp > 1 && k < u->cfg.ncmp; k++) {
					int c = u->cfg.cmp[k];
					Value ov;
					if (!d[c].null)
						continue;
					if (read_val(u, oseq, orow, c, &ov, e) != 0)
						return e->code;
					if (value_copy(&d[c], &ov, &u->scratch.arena) != 0)
						return err_set(e, ERR_NOMEM, "upsert");
				}
			}
			if (u->cfg.ooo_col >= 0 && d[u->cfg.ooo_col].null)
				d[u->cfg.ooo_col] = value_int(u->cols[u->cfg.ooo_col].type, 0);
			stored = d;
		}
		int del = u->cfg.delete_col >= 0 && truthy(&stored[u->cfg.delete_col]);
		size_t s = slot >= 0 ? (size_t)slot : ins;
		if (push_undo(u, s, slot < 0 && !stale) != 0 || (slot >= 0 && !odel && push_op(u, oseq, orow) != 0) ||
		    (!del && push_op(u, seq, (uint32_t)at | OP_SET) != 0))
			return err_set(e, ERR_NOMEM, "upsert");
		if (stale && (u->tab[s].row & DEL_BIT))
			u->ndel--;
		if (slot < 0 && !stale)
			u->count++;
		if (odel && slot >= 0)
			u->ndel--;
		if (del)
			u->ndel++;
		u->tab[s].h = h;
		u->tab[s].seq = seq;
		u->tab[s].row = (uint32_t)at | (del ? DEL_BIT : 0) | (ex ? EXACT_BIT : 0);
		note_cmp(u, stored, seq);
	}
	*out = dst;
	return 0;
}

int
upsert_prepare(Upsert *u, const RowBatch *in, uint64_t seq, size_t base, int stored,
	       const RowBatch **out, Err *e)
{
	if (seq >= EMPTY)
		return err_set(e, ERR_TOO_LARGE, "upsert: segment number too large");
	pthread_mutex_lock(&u->seg_mu);
	arena_reset(&u->tmp);
	u->replay = stored;
	int rc = prepare_locked(u, in, (uint32_t)seq, base, out, e);
	u->replay = 0;
	u->pend = NULL;
	pthread_mutex_unlock(&u->seg_mu);
	return rc;
}

static int
bits_reserve(USeg *s, size_t rows)
{
	size_t need = (rows + 63) / 64;
	if (need <= s->words)
		return 0;
	size_t w = s->words ? s->words : 64;
	while (w < need)
		w *= 2;
	uint64_t *n = mem_realloc(s->bits, sizeof(uint64_t) * w);
	if (n == NULL)
		return ERR_NOMEM;
	memset(n + s->words, 0, sizeof(uint64_t) * (w - s->words));
	s->bits = n;
	s->words = w;
	return 0;
}

static void
apply_ops(Upsert *u)
{
	for (size_t i = 0; i < u->nops; i++) {
		const Op *o = &u->ops[i];
		USeg *s = seg_find(u, o->seq);
		if (s == NULL || s->dropped)
			continue;
		size_t r = o->row & ~OP_SET;
		if (bits_reserve(s, r + 1) != 0) {
			/* cannot happen for a clear (the bit exists); a set that
			 * finds no memory leaves the row invisible */
			log_error("upsert: no memory for a validity bitmap; a row stays invisible");
			continue;
		}
		if (o->row & OP_SET)
			s->bits[r >> 6] |= (uint64_t)1 << (r & 63);
		else
			s->bits[r >> 6] &= ~((uint64_t)1 << (r & 63));
	}
	u->nops = 0;
	u->nundo = 0;
}

void
upsert_commit(Upsert *u, void (*publish)(void *), void *arg)
{
	pthread_mutex_lock(&u->mu);
	apply_ops(u);
	if (publish)
		publish(arg);
	u->version++;
	pthread_mutex_unlock(&u->mu);
}

void
upsert_rollback(Upsert *u)
{
	while (u->nundo > 0) {
		Undo *x = &u->undo[--u->nundo];
		Ent *cur = &u->tab[x->slot];
		if (cur->seq != EMPTY && (cur->row & DEL_BIT))
			u->ndel--;
		if (x->old.seq != EMPTY && (x->old.row & DEL_BIT))
			u->ndel++;
		*cur = x->old;
		if (x->grew)
			u->count--;
	}
	u->nops = 0;
}

/* ---- query views ------------------------------------------------------------ */

void upsert_lock(Upsert *u) { pthread_mutex_lock(&u->mu); }
void upsert_unlock(Upsert *u) { pthread_mutex_unlock(&u->mu); }
uint64_t upsert_version(const Upsert *u) { return u->version; }

int
upsert_view_bits(Upsert *u, uint64_t seq, size_t rows, uint64_t **bits, size_t *nvalid)
{
	*bits = NULL;
	*nvalid = 0;
	size_t words = (rows + 63) / 64;
	if (words == 0)
		return 0;
	uint64_t *b = mem_calloc(words, sizeof(uint64_t));
	if (b == NULL)
		return ERR_NOMEM;
	USeg *s = seg_find(u, (uint32_t)seq);
	if (s && !s->dropped && s->bits) {
		size_t n = words < s->words ? words : s->words;
		memcpy(b, s->bits, n * sizeof(uint64_t));
		if (rows & 63)
			b[words - 1] &= ((uint64_t)1 << (rows & 63)) - 1;
		size_t cnt = 0;
		for (size_t i = 0; i < words; i++)
			cnt += (size_t)__builtin_popcountll(b[i]);
		*nvalid = cnt;
	}
	*bits = b;
	return 0;
}

/* ---- persistence -------------------------------------------------------------- */

static size_t
seg_rows(const USeg *s)
{
	if (s->file)
		return (size_t)segfile_meta(s->file)->nrows;
	return s->mut ? mutseg_rows(s->mut) : 0;
}

int
upsert_snapshot_take(Upsert *u, uint64_t upto, void **blob, size_t *len, Err *e)
{
	pthread_mutex_lock(&u->seg_mu);
	pthread_mutex_lock(&u->mu);
	size_t total = 8 + 8 + 8;	/* magic, upto, count + pad: words stay aligned */
	int n = 0;
	for (int i = 0; i < u->nsegs; i++) {
		const USeg *s = &u->segs[i];
		if (s->dropped || s->seq > upto)
			continue;
		total += 16 + 2 * 8 * ((seg_rows(s) + 63) / 64);
		n++;
	}
	total += 8;
	unsigned char *p = mem_calloc(1, total);
	if (p == NULL) {
		pthread_mutex_unlock(&u->mu);
		pthread_mutex_unlock(&u->seg_mu);
		return err_set(e, ERR_NOMEM, "upsert snapshot");
	}
	size_t off = 0;
	memcpy(p, SNAP_MAGIC, 8);
	off = 8;
	memcpy(p + off, &upto, 8);
	off += 8;
	uint32_t nn = (uint32_t)n;
	memcpy(p + off, &nn, 4);
	off += 8;
	uint64_t **tombs = mem_calloc((size_t)u->nsegs + 1, sizeof(uint64_t *));
	size_t *nrows = mem_calloc((size_t)u->nsegs + 1, sizeof(size_t));
	if (tombs == NULL || nrows == NULL) {
		mem_free(tombs);
		mem_free(nrows);
		mem_free(p);
		pthread_mutex_unlock(&u->mu);
		pthread_mutex_unlock(&u->seg_mu);
		return err_set(e, ERR_NOMEM, "upsert snapshot");
	}
	for (int i = 0; i < u->nsegs; i++) {
		const USeg *s = &u->segs[i];
		if (s->dropped || s->seq > upto)
			continue;
		uint64_t seq = s->seq, rows = seg_rows(s);
		size_t words = (rows + 63) / 64;
		memcpy(p + off, &seq, 8);
		memcpy(p + off + 8, &rows, 8);
		off += 16;
		size_t have = words < s->words ? words : s->words;
		if (have)
			memcpy(p + off, s->bits, have * 8);
		tombs[i] = (uint64_t *)(void *)(p + off + words * 8);
		nrows[i] = rows;
		off += 2 * words * 8;
	}
	/* rows holding deleted keys' latest versions */
	for (size_t k = 0; k < u->cap; k++) {
		const Ent *x = &u->tab[k];
		if (x->seq == EMPTY || !(x->row & DEL_BIT))
			continue;
		int i = seg_index(u, x->seq);
		size_t r = x->row & ROW_MASK;
		if (i >= 0 && tombs[i] && r < nrows[i])
			tombs[i][r >> 6] |= (uint64_t)1 << (r & 63);
	}
	mem_free(tombs);
	mem_free(nrows);
	uint64_t sum = hash_bytes(p, off);
	memcpy(p + off, &sum, 8);
	off += 8;
	pthread_mutex_unlock(&u->mu);
	pthread_mutex_unlock(&u->seg_mu);
	*blob = p;
	*len = off;
	return 0;
}

int
upsert_snapshot_write(const char *path, const void *blob, size_t len, Err *e)
{
	return file_write_atomic(path, blob, len, e);
}

uint64_t
upsert_snapshot_upto(const char *path)
{
	unsigned long long n = 0;
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	if (sscanf(b, "upsert-%llu.snap", &n) != 1)
		return 0;
	return n;
}

/* Indexes row r of segment s as its key's latest version (a load). */
static int
index_row(Upsert *u, USeg *s, size_t r, int del, Value *row, Err *e)
{
	Value key[UPSERT_MAX_PK];
	int rc = 0;
	if ((r & 4095) == 0)
		arena_reset(&u->tmp);
	for (int k = 0; k < u->cfg.npk && rc == 0; k++) {
		rc = read_val(u, s->seq, r, u->cfg.pk[k], &key[k], e);
		row[u->cfg.pk[k]] = key[k];
	}
	if (rc == 0) {
		int ex;
		uint64_t h = key_hash(u, row, &ex);
		size_t i = home(u, h);
		while (u->tab[i].seq != EMPTY)
			i = i + 1 == u->cap ? 0 : i + 1;
		u->tab[i].h = h;
		u->tab[i].seq = s->seq;
		u->tab[i].row = (uint32_t)r | (del ? DEL_BIT : 0) | (ex ? EXACT_BIT : 0);
		u->count++;
		u->ndel += del != 0;
	}
	return rc;
}

int
upsert_load(Upsert *u, const char *path, Err *e)
{
	char *data = NULL;
	size_t len = 0;
	Err le = {0};
	if (file_read_all(path, &data, &len, &le) != 0)
		return 0;
	int rc = 0, ok = 1;
	if (len < 32 || memcmp(data, SNAP_MAGIC, 8) != 0) {
		rc = err_set(e, ERR_CORRUPT, "upsert snapshot %s: not a snapshot", path);
		goto out;
	}
	uint64_t sum;
	memcpy(&sum, data + len - 8, 8);
	if (hash_bytes(data, len - 8) != sum) {
		rc = err_set(e, ERR_CORRUPT, "upsert snapshot %s: checksum mismatch", path);
		goto out;
	}
	uint32_t n;
	memcpy(&n, data + 16, 4);
	/* first pass: every live segment must be in the file with its rows */
	size_t off = 24;
	int found = 0;
	for (uint32_t i = 0; i < n && ok; i++) {
		uint64_t seq, rows;
		if (off + 16 > len - 8) {
			rc = err_set(e, ERR_CORRUPT, "upsert snapshot %s: truncated", path);
			goto out;
		}
		memcpy(&seq, data + off, 8);
		memcpy(&rows, data + off + 8, 8);
		size_t words = (size_t)((rows + 63) / 64);
		if (words > (len - 8 - off - 16) / 16) {
			rc = err_set(e, ERR_CORRUPT, "upsert snapshot %s: truncated", path);
			goto out;
		}
		USeg *s = seq < EMPTY ? seg_find(u, (uint32_t)seq) : NULL;
		if (s && !s->dropped) {
			found++;
			if (seg_rows(s) != rows)
				ok = 0;
		}
		off += 16 + 16 * words;
	}
	int live = 0;
	for (int i = 0; i < u->nsegs; i++)
		live += !u->segs[i].dropped;
	if (!ok || found != live)
		goto out;	/* does not apply: rc 0, ok 0 */
	off = 24;
	Value *row = mem_calloc((size_t)u->cfg.ncols + 1, sizeof(Value));
	if (row == NULL) {
		rc = err_set(e, ERR_NOMEM, "upsert load");
		goto out;
	}
	pthread_mutex_lock(&u->seg_mu);
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		uint64_t seq, rows;
		memcpy(&seq, data + off, 8);
		memcpy(&rows, data + off + 8, 8);
		size_t words = (size_t)((rows + 63) / 64);
		const uint64_t *valid = (const uint64_t *)(const void *)(data + off + 16);
		const uint64_t *tomb = valid + words;
		off += 16 + 16 * words;
		USeg *s = seq < EMPTY ? seg_find(u, (uint32_t)seq) : NULL;
		if (s == NULL || s->dropped)
			continue;
		if (bits_reserve(s, (size_t)rows) != 0) {
			rc = err_set(e, ERR_NOMEM, "upsert load");
			break;
		}
		memcpy(s->bits, valid, words * 8);
		size_t marked = 0;
		for (size_t w = 0; w < words; w++)
			marked += (size_t)__builtin_popcountll(valid[w] | tomb[w]);
		if (grow(u, u->count + marked) != 0) {
			rc = err_set(e, ERR_NOMEM, "upsert load");
			break;
		}
		for (size_t w = 0; w < words && rc == 0; w++) {
			uint64_t m = valid[w] | tomb[w];
			while (m && rc == 0) {
				size_t r = w * 64 + (size_t)__builtin_ctzll(m);
				m &= m - 1;
				rc = index_row(u, s, r, (tomb[w] >> (r & 63)) & 1, row, e);
			}
		}
	}
	pthread_mutex_unlock(&u->seg_mu);
	mem_free(row);
	if (rc == 0)
		u->version++;
out:
	mem_free(data);
	return rc ? rc : ok;
}

int
upsert_rebuild(Upsert *u, Err *e)
{
	/* decide every stored row again, in segment order, reading the
	 * columns decisions need */
	int rc = 0;
	RowBatch b;
	rowbatch_init(&b, u->cfg.ncols);
	int need[UPSERT_MAX_PK + UPSERT_MAX_CMP + 1], nneed = 0;
	for (int k = 0; k < u->cfg.npk; k++)
		need[nneed++] = u->cfg.pk[k];
	for (int k = 0; k < u->cfg.ncmp; k++)
		need[nneed++] = u->cfg.cmp[k];
	if (u->cfg.delete_col >= 0)
		need[nneed++] = u->cfg.delete_col;
	u->replay = 1;
	for (int i = 0; i < u->nsegs && rc == 0; i++) {
		USeg *s = &u->segs[i];
		if (s->dropped)
			continue;
		size_t rows = seg_rows(s);
		for (size_t r0 = 0; r0 < rows && rc == 0; r0 += 4096) {
			size_t n = rows - r0 < 4096 ? rows - r0 : 4096;
			rowbatch_reset(&b);
			arena_reset(&u->tmp);
			for (size_t r = 0; r < n && rc == 0; r++) {
				Value *row = rowbatch_add_row(&b);
				if (row == NULL) {
					rc = err_set(e, ERR_NOMEM, "upsert rebuild");
					break;
				}
				for (int k = 0; k < nneed && rc == 0; k++) {
					Value v;
					rc = read_val(u, s->seq, r0 + r, need[k], &v, e);
					if (rc == 0)
						rc = value_copy(&row[need[k]], &v, &b.arena) == 0
							     ? 0
							     : err_set(e, ERR_NOMEM, "upsert rebuild");
				}
			}
			const RowBatch *out;
			if (rc == 0) {
				pthread_mutex_lock(&u->seg_mu);
				rc = prepare_locked(u, &b, s->seq, r0, &out, e);
				u->pend = NULL;
				pthread_mutex_unlock(&u->seg_mu);
			}
			if (rc == 0)
				upsert_commit(u, NULL, NULL);
		}
	}
	u->replay = 0;
	rowbatch_free(&b);
	if (rc)
		upsert_rollback(u);
	return rc;
}

/* ---- maintenance ------------------------------------------------------------------ */

static void
remove_at(Upsert *u, size_t i)
{
	/* backward-shift deletion for linear probing */
	u->tab[i].seq = EMPTY;
	size_t j = i;
	for (;;) {
		j = j + 1 == u->cap ? 0 : j + 1;
		if (u->tab[j].seq == EMPTY)
			return;
		size_t k = home(u, u->tab[j].h);
		/* entry j may move to i unless its home lies cyclically in (i, j] */
		int stay = i <= j ? (k > i && k <= j) : (k > i || k <= j);
		if (stay)
			continue;
		u->tab[i] = u->tab[j];
		u->tab[j].seq = EMPTY;
		i = j;
	}
}

void
upsert_maintain(Upsert *u)
{
	double cut_meta = -INFINITY, cut_del = -INFINITY;
	if (u->hasmax && u->cfg.metadata_ttl > 0)
		cut_meta = u->maxcmp - u->cfg.metadata_ttl;
	if (u->hasmax && u->cfg.deleted_keys_ttl > 0)
		cut_del = u->maxcmp - u->cfg.deleted_keys_ttl;
	if (!u->need_maint && cut_meta == -INFINITY && cut_del == -INFINITY)
		return;
	pthread_mutex_lock(&u->seg_mu);
	u->need_maint = 0;
	size_t removed = 0;
	for (size_t i = 0; i < u->cap;) {
		Ent *x = &u->tab[i];
		if (x->seq == EMPTY) {
			i++;
			continue;
		}
		USeg *s = seg_find(u, x->seq);
		int drop = s == NULL || s->dropped;
		/* a whole segment older than the TTL: its keys are forgotten
		 * (Pinot's metadataTTL works per segment too) */
		if (!drop && s->hascmp) {
			if ((x->row & DEL_BIT) && s->maxcmp < cut_del)
				drop = 1;
			else if (s->maxcmp < cut_meta && !(x->row & DEL_BIT))
				drop = 1;
		}
		if (!drop) {
			i++;
			continue;
		}
		if (x->row & DEL_BIT)
			u->ndel--;
		u->count--;
		removed++;
		remove_at(u, i);
		/* slot i now holds a shifted entry (or is empty): look again */
	}
	pthread_mutex_unlock(&u->seg_mu);
	if (removed)
		log_debug("upsert: forgot %zu keys (TTL or dropped segments)", removed);
}

int
upsert_remap(Upsert *u, int ncols, const ColDesc *cols, const char **names, const int *map, Err *e)
{
	const char **nn = mem_calloc((size_t)ncols + 1, sizeof(char *));
	int *st = mem_calloc((size_t)ncols + 1, sizeof(int));
	ColDesc *nc = mem_calloc((size_t)ncols + 1, sizeof(ColDesc));
	int ok = nn && st && nc;
	for (int i = 0; ok && i < ncols; i++) {
		nn[i] = mem_strdup(names[i]);
		ok = nn[i] != NULL;
		st[i] = map[i] >= 0 ? u->cfg.strategy[map[i]] : TBL_UPS_OVERWRITE;
		nc[i] = cols[i];
		nc[i].has_dflt = 0;
	}
	if (!ok) {
		for (int i = 0; nn && i < ncols; i++)
			mem_free((char *)nn[i]);
		mem_free(nn);
		mem_free(st);
		mem_free(nc);
		return err_set(e, ERR_NOMEM, "upsert: column change");
	}
	int back[4096];
	int lim = u->cfg.ncols < 4096 ? u->cfg.ncols : 4096;
	for (int i = 0; i < lim; i++)
		back[i] = -1;
	for (int i = 0; i < ncols; i++)
		if (map[i] >= 0 && map[i] < lim)
			back[map[i]] = i;
	pthread_mutex_lock(&u->seg_mu);
	for (int k = 0; k < u->cfg.npk; k++)
		u->cfg.pk[k] = back[u->cfg.pk[k]];
	for (int k = 0; k < u->cfg.ncmp; k++)
		u->cfg.cmp[k] = back[u->cfg.cmp[k]];
	if (u->cfg.delete_col >= 0)
		u->cfg.delete_col = back[u->cfg.delete_col];
	if (u->cfg.ooo_col >= 0)
		u->cfg.ooo_col = back[u->cfg.ooo_col];
	for (int i = 0; i < u->cfg.ncols; i++)
		mem_free((char *)u->cfg.names[i]);
	mem_free(u->cfg.names);
	mem_free(u->cfg.strategy);
	mem_free(u->cols);
	int oldn = u->cfg.ncols;
	u->cfg.names = nn;
	u->cfg.strategy = st;
	u->cols = nc;
	u->cfg.ncols = ncols;
	for (int i = 0; i < u->nsegs; i++) {
		USeg *s = &u->segs[i];
		if (s->file) {
			SegFile *f = s->file;
			seg_close_file(s, oldn);
			if (seg_attach_file(u, s, f) != 0) {
				s->dropped = 1;
				u->need_maint = 1;
			}
		}
	}
	rowbatch_free(&u->scratch);
	rowbatch_init(&u->scratch, ncols);
	pthread_mutex_unlock(&u->seg_mu);
	return 0;
}

int
upsert_col_read(const Upsert *u, int c)
{
	for (int k = 0; k < u->cfg.npk; k++)
		if (u->cfg.pk[k] == c)
			return !u->exact;	/* an exact key is never read back */
	for (int k = 0; k < u->cfg.ncmp; k++)
		if (u->cfg.cmp[k] == c)
			return 1;
	return c == u->cfg.delete_col;
}

void
upsert_stats(Upsert *u, UpsertStats *st)
{
	pthread_mutex_lock(&u->mu);
	st->keys = u->count;
	st->index_bytes = u->cap * sizeof(Ent);
	st->deleted = u->ndel;
	st->out_of_order = u->ooo;
	st->collisions = u->collisions;
	pthread_mutex_unlock(&u->mu);
}
