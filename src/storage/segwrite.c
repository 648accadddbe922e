/*
 * segwrite.c -- writes an immutable segment file from the published rows
 * of a MutSeg (format: docs/segment-format.md).
 *
 * How it works: rows are optionally put in order of the sort column (a
 * permutation, computed once: counting sort over dictionary ids, or a sort
 * of (order key, row) pairs for raw numbers).  Columns are then written one
 * after the other.  A dictionary column first gets its sorted dictionary:
 * a var-length column marks the MutSeg ids its rows use, sorts those ids by
 * their bytes once and builds a remap array old id -> sorted id; a numeric
 * one collects its distinct values in a hash table, sorts them and keeps
 * the position of each value in the table.  Then every row block of
 * SEGFILE_BLOCK_ROWS rows (one MutSeg chunk) is gathered into a scratch
 * buffer (ids remapped and bit-packed, or raw values), compressed with the
 * column's codec, checksummed and appended at an 8-byte aligned offset;
 * null words and multi-value ends/elements become blocks of their own.
 * A single-value data block (format 3) is framed in sub-blocks of
 * SEGFILE_SUB_ROWS rows (SEGFILE_SUB_ZSTD for zstd, whose per-frame setup
 * costs more): a table of u32 frame end and u32 XXH32 per sub-block, then
 * the frames, each compressed alone (w_framed), so a reader decodes only
 * the sub-blocks holding the rows it wants.  SegWriteSpec.version = 2
 * writes the previous layout (one frame per block), for tests.
 * Min/max and null counts are gathered on the way.  Then the column's
 * indexes, as its SegColOpt asks (docs/segment-format.md, "Indexes"): for
 * a dictionary column one pass over its rows (in written order) counts
 * the rows per id (a multi-value row once per distinct id) and a second
 * lists them, giving CSR arrays (starts per id, rows ascending) that
 * become the inverted index (per id a bitset when the id is on at least
 * 1/16 of the rows, else a Roaring bitmap through rbitmap.c), the sorted
 * index of the sort column (the starts alone) and the range index (starts
 * and rows, only when neither of the others can serve ranges).  A raw
 * numeric column's range index is its (value, row) pairs sorted by
 * value.  Bloom filters (segbloom.c) take the distinct values: the
 * dictionary entries, or the distinct sorted raw values.  Index blocks
 * are stored uncompressed so readers use them in place.  The footer
 * (schema, counts, block table, row-block and index references) and the
 * trailer come last.
 *
 * Durability: the file is written as path.tmp, fsynced, renamed over path
 * and the directory fsynced; any failure removes the temporary.
 *
 * Memory: scratch buffers, remap arrays, index arrays (4 bytes per row
 * and index entry, for the column being written) and the footer are
 * allocated with mem_* per write and freed before returning; nothing
 * outlives the call.  Roaring's own allocations stay inside rbitmap.c.
 * Allocation failure is ERR_NOMEM, write failure ERR_IO naming the path.
 *
 * Exports: segwrite_file.
 */
#define _GNU_SOURCE
#include "storage/segwrite.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/mem.h"
#include "storage/bitpack.h"
#include "storage/codec.h"
#include "storage/rbitmap.h"
#include "storage/segbloom.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Static_assert(SEGFILE_BLOCK_ROWS == MUTSEG_CHUNK_ROWS, "a row block is one MutSeg chunk");

typedef struct BlockEnt {
	uint64_t off, stored, raw;
	uint32_t crc;
	uint8_t codec, kind;
	uint16_t col;
} BlockEnt;

typedef struct RbRec {
	uint32_t data, nulls, elems;
	uint64_t elem0;
} RbRec;

typedef struct W {
	const char *path;
	int fd;
	uint64_t pos;
	BlockEnt *blocks;
	uint32_t nblocks, capblocks;
	void *cbuf;		/* compression output */
	size_t ccap;
	int framed;		/* format 3: data blocks framed in sub-blocks */
	uint32_t sub_rows;	/* rows per sub-block asked for, 0: by codec */
	Err *e;
} W;

/* Per-column state while writing it. */
typedef struct ColW {
	const MutCol *mc;
	WbType type;
	int mv, dict, codec;
	unsigned bits;
	uint32_t card;
	uint32_t *remap;	/* var-length: MutSeg id -> sorted id */
	uint64_t *keys;		/* numeric dict: sorted order keys (card) */
	uint64_t *hkeys;	/* numeric dict: hash table of keys */
	uint32_t *hids;		/* its sorted id per slot (after sorting) */
	size_t hcap;
	uint64_t nulls, nelems;
	int has_minmax;
	uint64_t kmin, kmax;	/* order keys (ids for dictionary columns) */
	uint32_t dict_a, dict_b;
	RbRec *rbs;
	unsigned ix;		/* SEGFILE_IX_* written */
	uint32_t ix_blk[SEGFILE_IXB_COUNT];	/* index blocks, SEGFILE_NONE if absent */
} ColW;

static int
grow(void **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 4096;
	while (n < need)
		n *= 2;
	void *q = mem_realloc(*p, n);
	if (q == NULL)
		return ERR_NOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* Order-preserving map of a number to uint64_t (integers: sign flipped;
 * doubles: IEEE total order). */
static uint64_t
key_i64(int64_t v)
{
	return (uint64_t)v ^ ((uint64_t)1 << 63);
}

static uint64_t
key_f64(double d)
{
	uint64_t b;
	memcpy(&b, &d, 8);
	return (b >> 63) ? ~b : b | ((uint64_t)1 << 63);
}

static double
f64_of_key(uint64_t k)
{
	uint64_t b = (k >> 63) ? k & ~((uint64_t)1 << 63) : ~k;
	double d;
	memcpy(&d, &b, 8);
	return d;
}

/* Order key of the value in a MutSeg slot of a numeric column. */
static uint64_t
slot_key(WbType t, const void *p)
{
	switch (t) {
	case TYPE_INT:
	case TYPE_BOOLEAN: {
		int32_t v;
		memcpy(&v, p, 4);
		return key_i64(v);
	}
	case TYPE_LONG:
	case TYPE_TIMESTAMP: {
		int64_t v;
		memcpy(&v, p, 8);
		return key_i64(v);
	}
	case TYPE_FLOAT: {
		float v;
		memcpy(&v, p, 4);
		return key_f64(v);
	}
	default: {
		double v;
		memcpy(&v, p, 8);
		return key_f64(v);
	}
	}
}

/* The 8-byte stored form of a key: int64_t or double bits. */
static uint64_t
key_stored(WbType t, uint64_t k)
{
	if (type_is_float(t)) {
		double d = f64_of_key(k);
		uint64_t b;
		memcpy(&b, &d, 8);
		return b;
	}
	return k ^ ((uint64_t)1 << 63);
}

/* ---- output ---- */

static int
w_write(W *w, const void *p, size_t n)
{
	if (n && file_write_full(w->fd, p, n) != 0)
		return err_set(w->e, ERR_IO, "write %s.tmp: %s", w->path, strerror(errno));
	w->pos += n;
	return 0;
}

/* Appends out[0..outlen) as a block of `raw` decoded bytes at the next
 * 8-byte aligned offset and returns its index in *idx. */
static int
w_emit(W *w, int kind, int col, int codec, const void *out, size_t outlen, size_t raw,
       uint32_t *idx)
{
	static const char zeros[8];
	int rc;
	if (w->pos & 7 && (rc = w_write(w, zeros, 8 - (w->pos & 7))) != 0)
		return rc;
	if (w->nblocks == w->capblocks) {
		size_t cap = (size_t)w->capblocks * sizeof(BlockEnt);
		void *p = w->blocks;
		if (grow(&p, &cap, cap + 64 * sizeof(BlockEnt)) != 0)
			return err_set(w->e, ERR_NOMEM, "writing segment %s", w->path);
		w->blocks = p;
		w->capblocks = (uint32_t)(cap / sizeof(BlockEnt));
	}
	BlockEnt *b = &w->blocks[w->nblocks];
	b->off = w->pos;
	b->stored = outlen;
	b->raw = raw;
	b->crc = hash_crc(out, outlen);
	b->codec = (uint8_t)codec;
	b->kind = (uint8_t)kind;
	b->col = (uint16_t)col;
	if ((rc = w_write(w, out, outlen)) != 0)
		return rc;
	*idx = w->nblocks++;
	return 0;
}

/* Appends one block (raw bytes, compressed with codec) and returns its
 * index in *idx. */
static int
w_block(W *w, int kind, int col, int codec, const void *raw, size_t n, uint32_t *idx)
{
	int rc;
	const void *out = raw;
	size_t outlen = n;
	if (codec != CODEC_NONE) {
		size_t bound = codec_bound(codec, n);
		if (bound == 0 || grow(&w->cbuf, &w->ccap, bound) != 0)
			return err_set(w->e, ERR_NOMEM, "writing segment %s", w->path);
		if ((rc = codec_compress(codec, raw, n, w->cbuf, w->ccap, &outlen, w->e)) != 0)
			return rc;
		out = w->cbuf;
		if (outlen > n - n / 4) {
			/* saving less than a quarter is not worth a decode at
			 * every scan: stored raw, read in place */
			codec = CODEC_NONE;
			out = raw;
			outlen = n;
		}
	}
	return w_emit(w, kind, col, codec, out, outlen, n, idx);
}

/* Appends a single-value data block framed in nsub sub-blocks (format
 * 3): sub-block i is raw[offs[i] .. offs[i+1]).  Stored bytes: u32 nsub,
 * u32 sub_rows, per sub-block u32 end (of its frame, from the first
 * frame) and u32 XXH32 of its frame, then the frames back to back.  Each
 * is compressed alone; when all of them together save less than a
 * quarter the block is stored raw (frames = the raw bytes, contiguous, so
 * read in place). */
static int
w_framed(W *w, int col, int codec, const void *raw, const size_t *offs, uint32_t nsub,
	 uint32_t sub_rows, uint32_t *idx)
{
	size_t n = offs[nsub], hdr = 8 + 8 * (size_t)nsub;
	size_t need = hdr + n;
	if (codec != CODEC_NONE) {
		size_t b = 0;
		for (uint32_t i = 0; i < nsub; i++) {
			size_t k = codec_bound(codec, offs[i + 1] - offs[i]);
			if (k == 0)
				return err_set(w->e, ERR_TOO_LARGE, "segment %s: block too large", w->path);
			b += k;
		}
		if (b > n)
			need = hdr + b;
	}
	if (grow(&w->cbuf, &w->ccap, need) != 0)
		return err_set(w->e, ERR_NOMEM, "writing segment %s", w->path);
	unsigned char *o = w->cbuf, *f = o + hdr;
	size_t pos = 0;
	int rc;
	if (codec != CODEC_NONE) {
		for (uint32_t i = 0; i < nsub; i++) {
			size_t len;
			if ((rc = codec_compress(codec, (const char *)raw + offs[i], offs[i + 1] - offs[i],
						 f + pos, w->ccap - hdr - pos, &len, w->e)) != 0)
				return rc;
			uint32_t end = (uint32_t)(pos + len), crc = hash_crc(f + pos, len);
			memcpy(o + 8 + 8 * (size_t)i, &end, 4);
			memcpy(o + 12 + 8 * (size_t)i, &crc, 4);
			pos += len;
		}
		if (pos > n - n / 4)
			codec = CODEC_NONE;	/* not worth a decode at every scan */
	}
	if (codec == CODEC_NONE) {
		if (n)
			memcpy(f, raw, n);
		for (uint32_t i = 0; i < nsub; i++) {
			uint32_t end = (uint32_t)offs[i + 1],
				 crc = hash_crc(f + offs[i], offs[i + 1] - offs[i]);
			memcpy(o + 8 + 8 * (size_t)i, &end, 4);
			memcpy(o + 12 + 8 * (size_t)i, &crc, 4);
		}
		pos = n;
	}
	memcpy(o, &nsub, 4);
	memcpy(o + 4, &sub_rows, 4);
	return w_emit(w, SEGFILE_K_DATA, col, codec, o, hdr + pos, n, idx);
}

/* ---- dictionaries ---- */

/* qsort's comparator context: segments of several partitions may be
 * written at once, so it is set and used under sort_lock. */
static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;
static const MutCol *sort_mc;

static int
cmp_dict_ids(const void *a, const void *b)
{
	uint32_t la, lb;
	const char *pa = mutcol_dict_get(sort_mc, *(const uint32_t *)a, &la);
	const char *pb = mutcol_dict_get(sort_mc, *(const uint32_t *)b, &lb);
	int c = memcmp(pa, pb, la < lb ? la : lb);
	if (c)
		return c;
	return la < lb ? -1 : la > lb;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}


/* Calls f(ctx, slot) for the slot of every value (rows or MV elements) of
 * rows [0, n). */
static int
each_slot(const MutCol *mc, int mv, size_t n, int (*f)(void *, const void *), void *ctx)
{
	if (!mv) {
		for (size_t r = 0; r < n;) {
			size_t k = MUTSEG_CHUNK_ROWS - (r & (MUTSEG_CHUNK_ROWS - 1));
			if (k > n - r)
				k = n - r;
			const char *p = mutcol_data(mc, r);
			size_t wdt = type_is_var(mutcol_type(mc)) ? 4 : type_width(mutcol_type(mc));
			for (size_t i = 0; i < k; i++) {
				int rc = f(ctx, p + i * wdt);
				if (rc)
					return rc;
			}
			r += k;
		}
		return 0;
	}
	uint64_t s;
	uint32_t cnt;
	if (n == 0)
		return 0;
	mutcol_mv_range(mc, n - 1, &s, &cnt);
	uint64_t total = s + cnt;
	for (uint64_t i = 0; i < total; i++) {
		int rc = f(ctx, mutcol_elem(mc, i));
		if (rc)
			return rc;
	}
	return 0;
}

typedef struct MarkCtx {
	uint8_t *used;
	uint32_t size;
} MarkCtx;

static int
mark_id(void *ctx, const void *slot)
{
	MarkCtx *m = ctx;
	uint32_t id;
	memcpy(&id, slot, 4);
	if (id >= m->size)
		return ERR_INTERNAL;
	m->used[id] = 1;
	return 0;
}

static int
build_var_dict(ColW *cw, size_t n, W *w, int col)
{
	uint32_t dsize = mutcol_dict_size(cw->mc);
	uint8_t *used = mem_calloc(dsize ? dsize : 1, 1);
	cw->remap = mem_alloc(sizeof(uint32_t) * (dsize ? dsize : 1));
	uint32_t *order = mem_alloc(sizeof(uint32_t) * (dsize ? dsize : 1));
	int rc = 0;
	uint32_t *offs = NULL;
	char *bytes = NULL;
	if (used == NULL || cw->remap == NULL || order == NULL) {
		rc = err_set(w->e, ERR_NOMEM, "dictionary of column %d", col);
		goto out;
	}
	MarkCtx m = {used, dsize};
	if ((rc = each_slot(cw->mc, cw->mv, n, mark_id, &m)) != 0) {
		rc = err_set(w->e, ERR_INTERNAL, "column %d: dictionary id out of range", col);
		goto out;
	}
	uint32_t card = 0;
	uint64_t total = 0;
	for (uint32_t i = 0; i < dsize; i++)
		if (used[i]) {
			order[card++] = i;
			uint32_t len;
			mutcol_dict_get(cw->mc, i, &len);
			total += len;
		}
	if (total > UINT32_MAX) {
		rc = err_set(w->e, ERR_TOO_LARGE, "column %d: dictionary over 4 GiB", col);
		goto out;
	}
	pthread_mutex_lock(&sort_lock);
	sort_mc = cw->mc;
	qsort(order, card, sizeof(uint32_t), cmp_dict_ids);
	pthread_mutex_unlock(&sort_lock);
	offs = mem_alloc(sizeof(uint32_t) * ((size_t)card + 1));
	bytes = mem_alloc(total ? total : 1);
	if (offs == NULL || bytes == NULL) {
		rc = err_set(w->e, ERR_NOMEM, "dictionary of column %d", col);
		goto out;
	}
	uint32_t pos = 0;
	for (uint32_t k = 0; k < card; k++) {
		uint32_t len;
		const char *p = mutcol_dict_get(cw->mc, order[k], &len);
		offs[k] = pos;
		if (len)
			memcpy(bytes + pos, p, len);
		pos += len;
		cw->remap[order[k]] = k;
	}
	offs[card] = pos;
	cw->card = card;
	cw->bits = bitpack_bits(card);
	if ((rc = w_block(w, SEGFILE_K_DICT_OFFS, col, CODEC_NONE, offs,
			  sizeof(uint32_t) * ((size_t)card + 1), &cw->dict_a)) != 0)
		goto out;
	rc = w_block(w, SEGFILE_K_DICT_BYTES, col, CODEC_NONE, bytes, pos, &cw->dict_b);
out:
	mem_free(used);
	mem_free(order);
	mem_free(offs);
	mem_free(bytes);
	return rc;
}

static size_t
hslot(const ColW *cw, uint64_t k)
{
	size_t mask = cw->hcap - 1;
	size_t i = (size_t)hash_u64(k) & mask;
	while (cw->hids[i] != SEGFILE_NONE && cw->hkeys[i] != k)
		i = (i + 1) & mask;
	return i;
}

static int
hput(void *ctx, const void *slot)
{
	ColW *cw = ctx;
	uint64_t k = slot_key(cw->type, slot);
	size_t i = hslot(cw, k);
	if (cw->hids[i] != SEGFILE_NONE)
		return 0;
	if ((uint64_t)cw->card * 2 + 2 > cw->hcap) {
		size_t ncap = cw->hcap * 2;
		uint64_t *nk = mem_alloc(ncap * sizeof(uint64_t));
		uint32_t *ni = mem_alloc(ncap * sizeof(uint32_t));
		if (nk == NULL || ni == NULL) {
			mem_free(nk);
			mem_free(ni);
			return ERR_NOMEM;
		}
		memset(ni, 0xff, ncap * sizeof(uint32_t));
		uint64_t *ok = cw->hkeys;
		uint32_t *oi = cw->hids;
		size_t ocap = cw->hcap;
		cw->hkeys = nk;
		cw->hids = ni;
		cw->hcap = ncap;
		for (size_t j = 0; j < ocap; j++)
			if (oi[j] != SEGFILE_NONE) {
				size_t s = hslot(cw, ok[j]);
				nk[s] = ok[j];
				ni[s] = 0;
			}
		mem_free(ok);
		mem_free(oi);
		i = hslot(cw, k);
	}
	cw->hkeys[i] = k;
	cw->hids[i] = 0;
	cw->card++;
	return 0;
}

static int
build_num_dict(ColW *cw, size_t n, W *w, int col)
{
	cw->hcap = 1024;
	cw->hkeys = mem_alloc(cw->hcap * sizeof(uint64_t));
	cw->hids = mem_alloc(cw->hcap * sizeof(uint32_t));
	if (cw->hkeys == NULL || cw->hids == NULL)
		return err_set(w->e, ERR_NOMEM, "dictionary of column %d", col);
	memset(cw->hids, 0xff, cw->hcap * sizeof(uint32_t));
	int rc = each_slot(cw->mc, cw->mv, n, hput, cw);
	if (rc)
		return err_set(w->e, ERR_NOMEM, "dictionary of column %d", col);
	cw->keys = mem_alloc(sizeof(uint64_t) * (cw->card ? cw->card : 1));
	if (cw->keys == NULL)
		return err_set(w->e, ERR_NOMEM, "dictionary of column %d", col);
	uint32_t k = 0;
	for (size_t i = 0; i < cw->hcap; i++)
		if (cw->hids[i] != SEGFILE_NONE)
			cw->keys[k++] = cw->hkeys[i];
	qsort(cw->keys, cw->card, sizeof(uint64_t), cmp_u64);
	for (uint32_t id = 0; id < cw->card; id++)
		cw->hids[hslot(cw, cw->keys[id])] = id;
	cw->bits = bitpack_bits(cw->card);
	/* the stored dictionary: values, not keys */
	uint64_t *vals = mem_alloc(sizeof(uint64_t) * (cw->card ? cw->card : 1));
	if (vals == NULL)
		return err_set(w->e, ERR_NOMEM, "dictionary of column %d", col);
	for (uint32_t id = 0; id < cw->card; id++)
		vals[id] = key_stored(cw->type, cw->keys[id]);
	rc = w_block(w, SEGFILE_K_DICT_NUMS, col, CODEC_NONE, vals,
		     sizeof(uint64_t) * cw->card, &cw->dict_a);
	mem_free(vals);
	return rc;
}

/* Sorted dictionary id of the value in a MutSeg slot. */
static inline uint32_t
slot_id(const ColW *cw, const void *slot)
{
	if (cw->remap) {
		uint32_t id;
		memcpy(&id, slot, 4);
		return cw->remap[id];
	}
	return cw->hids[hslot(cw, slot_key(cw->type, slot))];
}

/* ---- rows ---- */

static void
note_minmax(ColW *cw, uint64_t k)
{
	if (!cw->has_minmax) {
		cw->kmin = cw->kmax = k;
		cw->has_minmax = 1;
		return;
	}
	if (k < cw->kmin)
		cw->kmin = k;
	if (k > cw->kmax)
		cw->kmax = k;
}

typedef struct Scratch {
	void *vals;		/* gathered ids / values */
	size_t vcap;
	void *packed;
	size_t pcap;
	uint64_t *nulls;
	size_t ncap;
	uint32_t *ends;
	size_t ecap;
} Scratch;

/* Encodes `cnt` gathered entries (ids or values in sc->vals) as a block;
 * single-value rows (kind DATA) framed in sub-blocks when sub_rows != 0. */
static int
put_values(W *w, ColW *cw, Scratch *sc, int kind, int col, size_t cnt, uint32_t *idx)
{
	const void *src = sc->vals;
	size_t nb = cnt * type_width(cw->type);
	if (cw->dict) {
		nb = bitpack_bytes(cnt, cw->bits);
		if (grow(&sc->packed, &sc->pcap, nb ? nb : 8) != 0)
			return err_set(w->e, ERR_NOMEM, "writing segment %s", w->path);
		bitpack_pack(sc->vals, cnt, cw->bits, sc->packed);
		src = sc->packed;
	}
	if (kind != SEGFILE_K_DATA || !w->framed)
		return w_block(w, kind, col, cw->codec, src, nb, idx);
	/* sub-block i holds rows [i*S, (i+1)*S): its ids start on a 64-bit
	 * word (S is a multiple of 64), the last one runs to the end */
	size_t offs[SEGFILE_BLOCK_ROWS / SEGFILE_SUB_MIN + 1];
	uint32_t sr = w->sub_rows ? w->sub_rows
				  : cw->codec == CODEC_ZSTD ? SEGFILE_SUB_ZSTD : SEGFILE_SUB_ROWS;
	uint32_t nsub = (uint32_t)((cnt + sr - 1) / sr);
	for (uint32_t i = 0; i < nsub; i++)
		offs[i] = cw->dict ? (size_t)i * sr / 8 * cw->bits : (size_t)i * sr * type_width(cw->type);
	offs[nsub] = nb;
	return w_framed(w, col, cw->codec, src, offs, nsub, sr, idx);
}

/* Stores the slot's value (id or raw value) at index i of sc->vals. */
static inline void
gather(ColW *cw, Scratch *sc, size_t i, const void *slot, int isnull)
{
	if (cw->dict) {
		uint32_t id = slot_id(cw, slot);
		((uint32_t *)sc->vals)[i] = id;
		if (!isnull)
			note_minmax(cw, id);
		return;
	}
	size_t wd = type_width(cw->type);
	memcpy((char *)sc->vals + i * wd, slot, wd);
	if (!isnull)
		note_minmax(cw, slot_key(cw->type, slot));
}

static int
write_rowblock(W *w, ColW *cw, Scratch *sc, int col, const uint32_t *perm, size_t r0, size_t n,
	       RbRec *rec)
{
	size_t nw = (n + 63) / 64;
	size_t vw = cw->dict ? 4 : type_width(cw->type);
	memset(sc->nulls, 0, nw * 8);
	int anynull = 0;
	rec->nulls = rec->elems = SEGFILE_NONE;
	rec->elem0 = cw->nelems;
	if (perm == NULL) {
		anynull = mutcol_nulls_load(cw->mc, r0, n, sc->nulls);
	} else {
		for (size_t i = 0; i < n; i++)
			if (mutcol_is_null(cw->mc, perm[r0 + i])) {
				sc->nulls[i >> 6] |= (uint64_t)1 << (i & 63);
				anynull = 1;
			}
	}
	for (size_t k = 0; anynull && k < nw; k++)
		cw->nulls += (uint64_t)__builtin_popcountll(sc->nulls[k]);
	int rc;
	if (!cw->mv) {
		if (grow(&sc->vals, &sc->vcap, n * vw) != 0)
			return err_set(w->e, ERR_NOMEM, "writing segment %s", w->path);
		const char *base = perm ? NULL : mutcol_data(cw->mc, r0);
		size_t sw = type_is_var(cw->type) ? 4 : type_width(cw->type);
		for (size_t i = 0; i < n; i++) {
			const void *slot = perm ? mutcol_data(cw->mc, perm[r0 + i]) : base + i * sw;
			gather(cw, sc, i, slot, (int)((sc->nulls[i >> 6] >> (i & 63)) & 1));
		}
		rc = put_values(w, cw, sc, SEGFILE_K_DATA, col, n, &rec->data);
	} else {
		uint64_t cnt = 0;
		for (size_t i = 0; i < n; i++) {
			uint64_t s;
			uint32_t c;
			mutcol_mv_range(cw->mc, perm ? perm[r0 + i] : r0 + i, &s, &c);
			cnt += c;
			if (cnt > UINT32_MAX)
				return err_set(w->e, ERR_TOO_LARGE, "column %d: too many elements", col);
			sc->ends[i] = (uint32_t)cnt;
		}
		if (grow(&sc->vals, &sc->vcap, (cnt ? cnt : 1) * vw) != 0)
			return err_set(w->e, ERR_NOMEM, "writing segment %s", w->path);
		size_t j = 0;
		for (size_t i = 0; i < n; i++) {
			uint64_t s;
			uint32_t c;
			int isnull = (int)((sc->nulls[i >> 6] >> (i & 63)) & 1);
			mutcol_mv_range(cw->mc, perm ? perm[r0 + i] : r0 + i, &s, &c);
			for (uint32_t k = 0; k < c; k++)
				gather(cw, sc, j++, mutcol_elem(cw->mc, s + k), isnull);
		}
		if ((rc = w_block(w, SEGFILE_K_MV_ENDS, col, cw->codec, sc->ends, n * 4,
				  &rec->data)) != 0)
			return rc;
		rc = put_values(w, cw, sc, SEGFILE_K_MV_ELEMS, col, cnt, &rec->elems);
		cw->nelems += cnt;
	}
	if (rc == 0 && anynull)
		rc = w_block(w, SEGFILE_K_NULLS, col, cw->codec, sc->nulls, nw * 8, &rec->nulls);
	return rc;
}

/* ---- sorting ---- */

typedef struct KeyRow {
	uint64_t key;
	uint32_t row;
	uint32_t pad_;
} KeyRow;

static int
cmp_keyrow(const void *a, const void *b)
{
	const KeyRow *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

/* perm[i] = the MutSeg row that goes to position i, stable by key. */
static int
sort_rows(ColW *cw, size_t n, uint32_t *perm, W *w)
{
	if (cw->dict) {
		uint32_t *cnt = mem_calloc((size_t)cw->card + 1, sizeof(uint32_t));
		if (cnt == NULL)
			return err_set(w->e, ERR_NOMEM, "sorting segment rows");
		for (size_t r = 0; r < n; r++)
			cnt[slot_id(cw, mutcol_data(cw->mc, r)) + 1]++;
		for (uint32_t k = 0; k < cw->card; k++)
			cnt[k + 1] += cnt[k];
		for (size_t r = 0; r < n; r++)
			perm[cnt[slot_id(cw, mutcol_data(cw->mc, r))]++] = (uint32_t)r;
		mem_free(cnt);
		return 0;
	}
	KeyRow *kr = mem_alloc(sizeof(KeyRow) * (n ? n : 1));
	if (kr == NULL)
		return err_set(w->e, ERR_NOMEM, "sorting segment rows");
	for (size_t r = 0; r < n; r++) {
		kr[r].key = slot_key(cw->type, mutcol_data(cw->mc, r));
		kr[r].row = (uint32_t)r;
	}
	qsort(kr, n, sizeof(KeyRow), cmp_keyrow);
	for (size_t r = 0; r < n; r++)
		perm[r] = kr[r].row;
	mem_free(kr);
	return 0;
}

/* ---- indexes ---- */

#define IX_MAX_RAW ((uint64_t)1 << 31)	/* largest block a reader accepts */

static int
ix_block(W *w, int kind, int col, const void *raw, uint64_t n, uint32_t *idx)
{
	if (n > IX_MAX_RAW)
		return err_set(w->e, ERR_TOO_LARGE, "segment %s: column %d: index block too large",
			       w->path, col);
	return w_block(w, kind, col, CODEC_NONE, raw, (size_t)n, idx);
}

/* MutSeg row of written row i. */
static inline size_t
orig_row(const uint32_t *perm, size_t i)
{
	return perm ? perm[i] : i;
}

/* Index state of a dictionary column: rows per id as CSR (starts[card+1],
 * rows ascending per id, a multi-value row once per distinct id it holds)
 * and, for the bloom filter, one MutSeg slot per id. */
typedef struct DictIx {
	uint32_t *starts;
	uint32_t *rows;
	const void **rep;
	int sorted;		/* 1: ids never decrease along the rows */
} DictIx;

static int
dict_ix_build(ColW *cw, const uint32_t *perm, size_t n, int want_rows, int want_rep, DictIx *dx,
	      W *w, int col)
{
	uint32_t card = cw->card;
	uint32_t *last = mem_alloc(sizeof(uint32_t) * ((size_t)card + 1));
	uint32_t *pos = mem_alloc(sizeof(uint32_t) * ((size_t)card + 1));
	dx->starts = mem_calloc((size_t)card + 1, sizeof(uint32_t));
	dx->rep = want_rep ? mem_calloc((size_t)card + 1, sizeof(void *)) : NULL;
	dx->sorted = 1;
	int rc = 0;
	if (last == NULL || pos == NULL || dx->starts == NULL || (want_rep && dx->rep == NULL)) {
		rc = err_set(w->e, ERR_NOMEM, "indexing column %d", col);
		goto out;
	}
	memset(last, 0xff, sizeof(uint32_t) * ((size_t)card + 1));
	uint64_t total = 0;
	uint32_t prev = 0;
	for (int pass = 0; pass < 1 + want_rows; pass++) {
		for (size_t i = 0; i < n; i++) {
			size_t r = orig_row(perm, i);
			uint64_t s = 0;
			uint32_t cnt = 1;
			if (cw->mv)
				mutcol_mv_range(cw->mc, r, &s, &cnt);
			for (uint32_t k = 0; k < cnt; k++) {
				const void *slot = cw->mv ? mutcol_elem(cw->mc, s + k)
							  : mutcol_data(cw->mc, r);
				uint32_t id = slot_id(cw, slot);
				if (id >= card || last[id] == (uint32_t)i)
					continue;
				last[id] = (uint32_t)i;
				if (pass == 0) {
					dx->starts[id + 1]++;
					total++;
					if (dx->rep && dx->rep[id] == NULL)
						dx->rep[id] = slot;
					if (!cw->mv && id < prev)
						dx->sorted = 0;
					prev = id;
				} else {
					dx->rows[pos[id]++] = (uint32_t)i;
				}
			}
		}
		if (pass == 0) {
			if (total * 4 > IX_MAX_RAW) {
				rc = err_set(w->e, ERR_TOO_LARGE, "indexing column %d: too many entries",
					     col);
				goto out;
			}
			for (uint32_t id = 0; id < card; id++)
				dx->starts[id + 1] += dx->starts[id];
			if (!want_rows)
				break;
			memcpy(pos, dx->starts, sizeof(uint32_t) * card);
			memset(last, 0xff, sizeof(uint32_t) * ((size_t)card + 1));
			dx->rows = mem_alloc(sizeof(uint32_t) * (total ? total : 1));
			if (dx->rows == NULL) {
				rc = err_set(w->e, ERR_NOMEM, "indexing column %d", col);
				goto out;
			}
		}
	}
out:
	mem_free(last);
	mem_free(pos);
	return rc;
}

static void
dict_ix_free(DictIx *dx)
{
	mem_free(dx->starts);
	mem_free(dx->rows);
	mem_free((void *)dx->rep);
	memset(dx, 0, sizeof(*dx));
}

/* Inverted index: a directory entry per id and the bitmaps, each a
 * bitset when the id is on at least 1/16 of the rows, else Roaring. */
static int
write_inverted(W *w, ColW *cw, const DictIx *dx, size_t n, int col)
{
	uint32_t card = cw->card;
	size_t nw = (n + 63) / 64;
	uint32_t *dir = mem_calloc((size_t)card * 4 + 1, sizeof(uint32_t));
	uint64_t *bits = mem_alloc(sizeof(uint64_t) * (nw ? nw : 1));
	Buf data;
	buf_init(&data);
	int rc = 0;
	if (dir == NULL || bits == NULL) {
		rc = err_set(w->e, ERR_NOMEM, "indexing column %d", col);
		goto out;
	}
	for (uint32_t id = 0; id < card; id++) {
		uint32_t a = dx->starts[id], cnt = dx->starts[id + 1] - a;
		static const char zeros[8];
		if (data.len & 7)
			buf_append(&data, zeros, 8 - (data.len & 7));
		uint32_t *ent = dir + (size_t)id * 4;
		ent[0] = (uint32_t)data.len;
		ent[2] = cnt;
		if (cnt == 0) {
			ent[3] = SEGFILE_INV_EMPTY;
		} else if ((uint64_t)cnt * 16 >= n) {
			ent[3] = SEGFILE_INV_BITSET;
			memset(bits, 0, nw * 8);
			for (uint32_t k = 0; k < cnt; k++) {
				uint32_t r = dx->rows[a + k];
				bits[r >> 6] |= (uint64_t)1 << (r & 63);
			}
			buf_append(&data, bits, nw * 8);
		} else {
			ent[3] = SEGFILE_INV_ROARING;
			if (rbitmap_encode(dx->rows + a, cnt, &data) != 0)
				data.oom = 1;
		}
		if (data.oom || data.len > IX_MAX_RAW) {
			rc = err_set(w->e, data.oom ? ERR_NOMEM : ERR_TOO_LARGE, "indexing column %d",
				     col);
			goto out;
		}
		ent[1] = (uint32_t)(data.len - ent[0]);
	}
	if ((rc = ix_block(w, SEGFILE_K_INV_DIR, col, dir, (uint64_t)card * SEGFILE_INV_ENTRY_BYTES,
			   &cw->ix_blk[SEGFILE_IXB_INV_DIR])) != 0)
		goto out;
	rc = ix_block(w, SEGFILE_K_INV_BITMAPS, col, data.p ? data.p : "", data.len,
		      &cw->ix_blk[SEGFILE_IXB_INV_BITMAPS]);
out:
	mem_free(dir);
	mem_free(bits);
	buf_free(&data);
	return rc;
}

/* Bloom filter block: u32 k, u32 0, u64 m, then m / 64 words. */
static int
write_bloom(W *w, ColW *cw, const uint64_t *hashes, size_t nh, int col)
{
	uint64_t m = segbloom_bits(nh);
	uint64_t bytes = SEGBLOOM_HEADER_BYTES + m / 8;
	if (bytes > IX_MAX_RAW)
		return err_set(w->e, ERR_TOO_LARGE, "bloom filter of column %d too large", col);
	unsigned char *blk = mem_calloc((size_t)bytes, 1);
	if (blk == NULL)
		return err_set(w->e, ERR_NOMEM, "bloom filter of column %d", col);
	uint32_t k = SEGBLOOM_K;
	memcpy(blk, &k, 4);
	memcpy(blk + 8, &m, 8);
	uint64_t *words = (uint64_t *)(void *)(blk + SEGBLOOM_HEADER_BYTES);
	for (size_t i = 0; i < nh; i++)
		segbloom_add(words, m, k, hashes[i]);
	int rc = ix_block(w, SEGFILE_K_BLOOM, col, blk, bytes, &cw->ix_blk[SEGFILE_IXB_BLOOM]);
	mem_free(blk);
	return rc;
}

/* Bloom hash of a numeric order key (as slot_key makes them). */
static uint64_t
key_hash(WbType t, uint64_t k)
{
	if (type_is_float(t))
		return segbloom_hash_f64(f64_of_key(k));
	return segbloom_hash_int((int64_t)(k ^ ((uint64_t)1 << 63)));
}

static int
dict_indexes(W *w, ColW *cw, const SegColOpt *o, int sorted, const uint32_t *perm, size_t n,
	     int col)
{
	DictIx dx = {0};
	int want_range = o->range && !o->inverted && !sorted;
	int rc = dict_ix_build(cw, perm, n, o->inverted || want_range, o->bloom, &dx, w, col);
	if (rc)
		goto out;
	if (o->inverted) {
		if ((rc = write_inverted(w, cw, &dx, n, col)) != 0)
			goto out;
		cw->ix |= SEGFILE_IX_INVERTED;
	}
	if (sorted) {
		if (!dx.sorted || dx.starts[cw->card] != n) {
			rc = err_set(w->e, ERR_INTERNAL, "column %d: rows not sorted", col);
			goto out;
		}
		if ((rc = ix_block(w, SEGFILE_K_SORTED, col, dx.starts,
				   ((uint64_t)cw->card + 1) * 4, &cw->ix_blk[SEGFILE_IXB_SORTED])) != 0)
			goto out;
		cw->ix |= SEGFILE_IX_SORTED;
	}
	if (want_range) {
		if ((rc = ix_block(w, SEGFILE_K_RANGE_STARTS, col, dx.starts,
				   ((uint64_t)cw->card + 1) * 4, &cw->ix_blk[SEGFILE_IXB_RANGE_A])) != 0 ||
		    (rc = ix_block(w, SEGFILE_K_RANGE_ROWS, col, dx.rows ? (void *)dx.rows : "",
				   (uint64_t)dx.starts[cw->card] * 4,
				   &cw->ix_blk[SEGFILE_IXB_RANGE_ROWS])) != 0)
			goto out;
	}
	if (o->range)
		cw->ix |= SEGFILE_IX_RANGE;
	if (o->bloom) {
		uint64_t *h = mem_alloc(sizeof(uint64_t) * ((size_t)cw->card + 1));
		if (h == NULL) {
			rc = err_set(w->e, ERR_NOMEM, "bloom filter of column %d", col);
			goto out;
		}
		size_t nh = 0;
		for (uint32_t id = 0; id < cw->card; id++) {
			if (type_is_var(cw->type)) {
				if (dx.rep[id] == NULL)
					continue;
				uint32_t mid, len;
				memcpy(&mid, dx.rep[id], 4);
				const char *p = mutcol_dict_get(cw->mc, mid, &len);
				h[nh++] = segbloom_hash_str(p, len);
			} else {
				h[nh++] = key_hash(cw->type, cw->keys[id]);
			}
		}
		rc = write_bloom(w, cw, h, nh, col);
		mem_free(h);
		if (rc)
			goto out;
		cw->ix |= SEGFILE_IX_BLOOM;
	}
out:
	dict_ix_free(&dx);
	return rc;
}

/* Range index and bloom filter of a raw numeric column: (value, row)
 * pairs sorted by value then row. */
static int
raw_indexes(W *w, ColW *cw, const SegColOpt *o, const uint32_t *perm, size_t n, int col)
{
	uint64_t total = cw->mv ? cw->nelems : n;
	if (total * 8 > IX_MAX_RAW)
		return err_set(w->e, ERR_TOO_LARGE, "indexing column %d: too many values", col);
	KeyRow *kr = mem_alloc(sizeof(KeyRow) * (total ? total : 1));
	uint64_t *vals = NULL;
	uint32_t *rows = NULL;
	int rc = 0;
	if (kr == NULL) {
		rc = err_set(w->e, ERR_NOMEM, "indexing column %d", col);
		goto out;
	}
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		size_t r = orig_row(perm, i);
		uint64_t s = 0;
		uint32_t cnt = 1;
		if (cw->mv)
			mutcol_mv_range(cw->mc, r, &s, &cnt);
		for (uint32_t k = 0; k < cnt && j < total; k++, j++) {
			const void *slot = cw->mv ? mutcol_elem(cw->mc, s + k) : mutcol_data(cw->mc, r);
			kr[j].key = slot_key(cw->type, slot);
			kr[j].row = (uint32_t)i;
			kr[j].pad_ = 0;
		}
	}
	total = j;
	qsort(kr, total, sizeof(KeyRow), cmp_keyrow);
	if (o->range) {
		vals = mem_alloc(sizeof(uint64_t) * (total ? total : 1));
		rows = mem_alloc(sizeof(uint32_t) * (total ? total : 1));
		if (vals == NULL || rows == NULL) {
			rc = err_set(w->e, ERR_NOMEM, "indexing column %d", col);
			goto out;
		}
		for (size_t i = 0; i < total; i++) {
			vals[i] = key_stored(cw->type, kr[i].key);
			rows[i] = kr[i].row;
		}
		if ((rc = ix_block(w, SEGFILE_K_RANGE_VALUES, col, vals, total * 8,
				   &cw->ix_blk[SEGFILE_IXB_RANGE_A])) != 0 ||
		    (rc = ix_block(w, SEGFILE_K_RANGE_ROWS, col, rows, total * 4,
				   &cw->ix_blk[SEGFILE_IXB_RANGE_ROWS])) != 0)
			goto out;
		cw->ix |= SEGFILE_IX_RANGE;
	}
	if (o->bloom) {
		/* distinct values, hashed, over the keys already read (hash
		 * nh is written at or below byte 8 * i + 8, key i is read
		 * at byte 16 * i first) */
		uint64_t *h = vals ? vals : (uint64_t *)(void *)kr;
		size_t nh = 0;
		uint64_t prev = 0;
		for (size_t i = 0; i < total; i++) {
			uint64_t k = kr[i].key;
			if (i == 0 || k != prev)
				h[nh++] = key_hash(cw->type, k);
			prev = k;
		}
		if ((rc = write_bloom(w, cw, h, nh, col)) != 0)
			goto out;
		cw->ix |= SEGFILE_IX_BLOOM;
	}
out:
	mem_free(kr);
	mem_free(vals);
	mem_free(rows);
	return rc;
}

/* Writes column c's indexes (after its row blocks) as its options ask. */
static int
write_indexes(W *w, ColW *cw, const SegWriteSpec *sp, const uint32_t *perm, size_t n, int c)
{
	const SegColOpt *o = &sp->cols[c];
	int sorted = sp->sort_col == c && cw->dict;
	if (cw->dict) {
		if (!o->inverted && !o->range && !o->bloom && !sorted)
			return 0;
		return dict_indexes(w, cw, o, sorted, perm, n, c);
	}
	/* raw columns are numeric; an inverted index needs a dictionary
	 * and is not written for them */
	if (!o->range && !o->bloom)
		return 0;
	return raw_indexes(w, cw, o, perm, n, c);
}

/* ---- footer ---- */

static void
put_u8(Buf *b, unsigned v)
{
	buf_putc(b, (char)(uint8_t)v);
}
static void
put_u16(Buf *b, uint16_t v)
{
	buf_append(b, &v, 2);
}
static void
put_u32(Buf *b, uint32_t v)
{
	buf_append(b, &v, 4);
}
static void
put_u64(Buf *b, uint64_t v)
{
	buf_append(b, &v, 8);
}

static void
colw_free(ColW *cw)
{
	mem_free(cw->remap);
	mem_free(cw->keys);
	mem_free(cw->hkeys);
	mem_free(cw->hids);
	mem_free(cw->rbs);
	memset(cw, 0, sizeof(*cw));
}

static int
check_spec(const SegWriteSpec *sp, int ncols, size_t n, Err *e)
{
	if (ncols > 65535)
		return err_set(e, ERR_INVALID, "segment: %d columns (at most 65535)", ncols);
	if (n > UINT32_MAX)
		return err_set(e, ERR_TOO_LARGE, "segment: %zu rows (at most 2^32-1)", n);
	for (int c = 0; c < ncols; c++) {
		const SegColOpt *o = &sp->cols[c];
		if (o->name == NULL || strlen(o->name) > 65535)
			return err_set(e, ERR_INVALID, "segment: column %d has no name", c);
		if (o->codec < 0 || o->codec >= CODEC_COUNT)
			return err_set(e, ERR_INVALID, "segment: column %s: unknown codec %d",
				       o->name, o->codec);
	}
	if ((sp->version != 0 && (sp->version < SEGFILE_VERSION_MIN || sp->version > SEGFILE_VERSION)) ||
	    (sp->sub_rows != 0 && (sp->sub_rows < SEGFILE_SUB_MIN || sp->sub_rows > SEGFILE_BLOCK_ROWS ||
				   (sp->sub_rows & (sp->sub_rows - 1)))))
		return err_set(e, ERR_INVALID, "segment: format version %u or sub-block rows %u not supported",
			       sp->version, sp->sub_rows);
	if (sp->sort_col < -1 || sp->sort_col >= ncols || sp->time_col < -1 || sp->time_col >= ncols)
		return err_set(e, ERR_INVALID, "segment: sort or time column out of range");
	if (sp->sort_col >= 0 && mutcol_is_mv(mutseg_col(sp->seg, sp->sort_col)))
		return err_set(e, ERR_INVALID, "segment: sort column %s is multi-value",
			       sp->cols[sp->sort_col].name);
	if (sp->time_col >= 0) {
		const MutCol *tc = mutseg_col(sp->seg, sp->time_col);
		WbType t = mutcol_type(tc);
		if (mutcol_is_mv(tc) || !(t == TYPE_INT || t == TYPE_LONG || t == TYPE_TIMESTAMP))
			return err_set(e, ERR_INVALID,
				       "segment: time column %s must be a single-value INT, LONG or "
				       "TIMESTAMP",
				       sp->cols[sp->time_col].name);
	}
	return 0;
}

static int
setup_col(ColW *cw, const SegWriteSpec *sp, int c, size_t n, W *w)
{
	cw->mc = mutseg_col(sp->seg, c);
	cw->type = mutcol_type(cw->mc);
	cw->mv = mutcol_is_mv(cw->mc);
	cw->dict = type_is_var(cw->type) || sp->cols[c].dict;
	cw->codec = sp->cols[c].codec;
	cw->dict_a = cw->dict_b = SEGFILE_NONE;
	for (int i = 0; i < SEGFILE_IXB_COUNT; i++)
		cw->ix_blk[i] = SEGFILE_NONE;
	if (!cw->dict)
		return 0;
	return type_is_var(cw->type) ? build_var_dict(cw, n, w, c) : build_num_dict(cw, n, w, c);
}

static int
write_body(W *w, const SegWriteSpec *sp, size_t n, Buf *cols_out, int64_t tm[3])
{
	int ncols = mutseg_ncols(sp->seg);
	size_t nrb = (n + SEGFILE_BLOCK_ROWS - 1) / SEGFILE_BLOCK_ROWS;
	uint32_t *perm = NULL;
	Scratch sc = {0};
	ColW cw = {0};
	int rc = 0;
	sc.nulls = mem_alloc(SEGFILE_BLOCK_ROWS / 8);
	sc.ends = mem_alloc(SEGFILE_BLOCK_ROWS * sizeof(uint32_t));
	if (sc.nulls == NULL || sc.ends == NULL) {
		rc = err_set(w->e, ERR_NOMEM, "writing segment %s", w->path);
		goto out;
	}
	if (sp->sort_col >= 0 && n > 1) {
		perm = mem_alloc(sizeof(uint32_t) * n);
		if (perm == NULL) {
			rc = err_set(w->e, ERR_NOMEM, "sorting segment rows");
			goto out;
		}
		/* order by the sort column: strings by a remap of the whole
		 * MutSeg dictionary (same order as the written one) */
		ColW sw = {0};
		sw.mc = mutseg_col(sp->seg, sp->sort_col);
		sw.type = mutcol_type(sw.mc);
		sw.dict = type_is_var(sw.type);
		if (sw.dict) {
			uint32_t dsize = mutcol_dict_size(sw.mc);
			uint32_t *order = mem_alloc(sizeof(uint32_t) * (dsize ? dsize : 1));
			sw.remap = mem_alloc(sizeof(uint32_t) * (dsize ? dsize : 1));
			if (order == NULL || sw.remap == NULL) {
				mem_free(order);
				colw_free(&sw);
				rc = err_set(w->e, ERR_NOMEM, "sorting segment rows");
				goto out;
			}
			for (uint32_t i = 0; i < dsize; i++)
				order[i] = i;
			pthread_mutex_lock(&sort_lock);
			sort_mc = sw.mc;
			qsort(order, dsize, sizeof(uint32_t), cmp_dict_ids);
			pthread_mutex_unlock(&sort_lock);
			for (uint32_t k = 0; k < dsize; k++)
				sw.remap[order[k]] = k;
			sw.card = dsize;
			mem_free(order);
		}
		rc = sort_rows(&sw, n, perm, w);
		colw_free(&sw);
		if (rc)
			goto out;
	}
	for (int c = 0; c < ncols; c++) {
		if ((rc = setup_col(&cw, sp, c, n, w)) != 0)
			goto out;
		cw.rbs = mem_calloc(nrb ? nrb : 1, sizeof(RbRec));
		if (cw.rbs == NULL) {
			rc = err_set(w->e, ERR_NOMEM, "writing segment %s", w->path);
			goto out;
		}
		for (size_t rb = 0; rb < nrb; rb++) {
			size_t r0 = rb * SEGFILE_BLOCK_ROWS;
			size_t k = n - r0 < SEGFILE_BLOCK_ROWS ? n - r0 : SEGFILE_BLOCK_ROWS;
			if ((rc = write_rowblock(w, &cw, &sc, c, perm, r0, k, &cw.rbs[rb])) != 0)
				goto out;
		}
		if ((rc = write_indexes(w, &cw, sp, perm, n, c)) != 0)
			goto out;
		/* column record */
		const char *name = sp->cols[c].name;
		size_t nl = strlen(name);
		put_u16(cols_out, (uint16_t)nl);
		buf_append(cols_out, name, nl);
		put_u8(cols_out, cw.type);
		put_u8(cols_out, (unsigned)cw.mv);
		put_u8(cols_out, (unsigned)cw.dict);
		put_u8(cols_out, (unsigned)cw.codec);
		put_u8(cols_out, cw.bits);
		put_u8(cols_out, (unsigned)cw.has_minmax);
		put_u16(cols_out, 0);
		put_u32(cols_out, cw.card);
		put_u64(cols_out, cw.nulls);
		put_u64(cols_out, cw.nelems);
		uint64_t mn = 0, mx = 0;
		if (cw.has_minmax) {
			mn = cw.dict ? (type_is_var(cw.type) ? cw.kmin
							       : key_stored(cw.type, cw.keys[cw.kmin]))
				     : key_stored(cw.type, cw.kmin);
			mx = cw.dict ? (type_is_var(cw.type) ? cw.kmax
							       : key_stored(cw.type, cw.keys[cw.kmax]))
				     : key_stored(cw.type, cw.kmax);
		}
		put_u64(cols_out, mn);
		put_u64(cols_out, mx);
		put_u32(cols_out, cw.dict_a);
		put_u32(cols_out, cw.dict_b);
		put_u32(cols_out, cw.ix);
		for (int i = 0; i < SEGFILE_IXB_COUNT; i++)
			put_u32(cols_out, cw.ix_blk[i]);
		put_u32(cols_out, 0);
		for (size_t rb = 0; rb < nrb; rb++) {
			put_u32(cols_out, cw.rbs[rb].data);
			put_u32(cols_out, cw.rbs[rb].nulls);
			put_u32(cols_out, cw.rbs[rb].elems);
			put_u32(cols_out, 0);
			put_u64(cols_out, cw.rbs[rb].elem0);
		}
		if (c == sp->time_col && cw.has_minmax) {
			tm[0] = 1;
			memcpy(&tm[1], &mn, 8);
			memcpy(&tm[2], &mx, 8);
		}
		colw_free(&cw);
	}
	if (cols_out->oom)
		rc = err_set(w->e, ERR_NOMEM, "writing segment %s", w->path);
out:
	colw_free(&cw);
	mem_free(perm);
	mem_free(sc.vals);
	mem_free(sc.packed);
	mem_free(sc.nulls);
	mem_free(sc.ends);
	return rc;
}

int
segwrite_file(const char *path, const SegWriteSpec *sp, uint64_t *bytes_out, Err *e)
{
	int ncols = mutseg_ncols(sp->seg);
	size_t avail = mutseg_rows(sp->seg);
	size_t n = sp->nrows ? sp->nrows : avail;
	if (n > avail)
		return err_set(e, ERR_INVALID, "segment: %zu rows asked, %zu published", n, avail);
	int rc = check_spec(sp, ncols, n, e);
	if (rc)
		return rc;
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return err_set(e, ERR_INVALID, "segment path too long");
	W w = {.path = path, .e = e};
	w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w.fd < 0)
		return err_set(e, ERR_IO, "create %s: %s", tmp, strerror(errno));
	Buf cols, foot;
	buf_init(&cols);
	buf_init(&foot);
	int64_t tm[3] = {0, 0, 0};
	char hdr[SEGFILE_HEADER_BYTES] = {0};
	uint32_t ver = sp->version ? sp->version : SEGFILE_VERSION;
	w.framed = ver >= 3;
	w.sub_rows = sp->sub_rows;
	memcpy(hdr, SEGFILE_MAGIC, 8);
	memcpy(hdr + 8, &ver, 4);
	if ((rc = w_write(&w, hdr, sizeof(hdr))) != 0)
		goto fail;
	if ((rc = write_body(&w, sp, n, &cols, tm)) != 0)
		goto fail;
	static const char zeros[8];
	if (w.pos & 7 && (rc = w_write(&w, zeros, 8 - (w.pos & 7))) != 0)
		goto fail;
	put_u32(&foot, (uint32_t)ncols);
	put_u32(&foot, SEGFILE_BLOCK_ROWS);
	put_u64(&foot, n);
	put_u64(&foot, (uint64_t)(sp->created_ms ? sp->created_ms : clock_wall_ms()));
	put_u32(&foot, (uint32_t)(int32_t)sp->time_col);
	put_u32(&foot, (uint32_t)(int32_t)sp->sort_col);
	put_u32(&foot, (uint32_t)tm[0]);
	put_u32(&foot, sp->nsources);
	put_u64(&foot, (uint64_t)tm[1]);
	put_u64(&foot, (uint64_t)tm[2]);
	for (uint32_t i = 0; i < sp->nsources; i++) {
		put_u64(&foot, (uint64_t)sp->sources[i].id);
		put_u64(&foot, (uint64_t)sp->sources[i].start);
		put_u64(&foot, (uint64_t)sp->sources[i].end);
	}
	put_u32(&foot, w.nblocks);
	put_u32(&foot, 0);
	for (uint32_t i = 0; i < w.nblocks; i++) {
		const BlockEnt *b = &w.blocks[i];
		put_u64(&foot, b->off);
		put_u64(&foot, b->stored);
		put_u64(&foot, b->raw);
		put_u32(&foot, b->crc);
		put_u8(&foot, b->codec);
		put_u8(&foot, b->kind);
		put_u16(&foot, b->col);
	}
	buf_append(&foot, cols.p, cols.len);
	if (foot.oom) {
		rc = err_set(e, ERR_NOMEM, "writing segment %s", path);
		goto fail;
	}
	uint64_t foff = w.pos, flen = foot.len;
	if ((rc = w_write(&w, foot.p, foot.len)) != 0)
		goto fail;
	char tr[SEGFILE_TRAILER_BYTES];
	uint32_t fcrc = hash_crc(foot.p, foot.len);
	memcpy(tr, &foff, 8);
	memcpy(tr + 8, &flen, 8);
	memcpy(tr + 16, &fcrc, 4);
	memcpy(tr + 20, &ver, 4);
	memcpy(tr + 24, SEGFILE_MAGIC, 8);
	if ((rc = w_write(&w, tr, sizeof(tr))) != 0)
		goto fail;
	if (fsync(w.fd) != 0) {
		rc = err_set(e, ERR_IO, "fsync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	close(w.fd);
	w.fd = -1;
	if (rename(tmp, path) != 0) {
		rc = err_set(e, ERR_IO, "rename %s: %s", tmp, strerror(errno));
		goto fail;
	}
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	if ((rc = file_fsync_dir(dirname(dir), e)) != 0)
		goto done;
	if (bytes_out)
		*bytes_out = w.pos;
	goto done;
fail:
	if (w.fd >= 0)
		close(w.fd);
	unlink(tmp);
done:
	buf_free(&cols);
	buf_free(&foot);
	mem_free(w.blocks);
	mem_free(w.cbuf);
	return rc;
}
