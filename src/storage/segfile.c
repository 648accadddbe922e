/*
 * segfile.c -- the segment file reader: maps a file written by segwrite.c
 * (format: docs/segment-format.md) and serves columns to scans.
 *
 * Trust: no byte of the file is trusted.  segfile_open checks the magic
 * and version at both ends, the footer checksum, then parses the footer
 * with a bounds-checked reader and checks every block's offset and length
 * against the file, its kind and column against the record pointing to
 * it, and its raw size against the row, element and dictionary counts.
 * A block's checksum, and what its decoded bytes say (ids below the
 * dictionary size, multi-value ends in order and adding up), are checked
 * the first time a cursor decodes it; a flag per block (atomic, so any
 * number of threads may race to set it) records that it passed.
 * Dictionaries (stored uncompressed and read in place) are checked —
 * checksum, offsets in order and within the bytes, entries strictly
 * increasing — on first use.  Indexes (read in place too) are checked
 * per column and index kind on first use, flag bits in Col.ix_ok: block
 * checksums, then everything a lookup will rely on — inverted directory
 * entries inside their block, bitsets of the right length and row count,
 * Roaring bitmaps well formed with every row < nrows (rbitmap_check, before
 * the library sees them), row starts in order and covering the rows, row
 * numbers < nrows, raw range values sorted, the bloom header matching its
 * size — so a lookup never reads outside a block or writes outside the
 * caller's row bitset.  Damage is ERR_CORRUPT naming the file, column and
 * block.
 *
 * Sub-blocks (format 3): a single-value data block is framed in
 * sub-blocks of 2^k rows (a table of frame ends and XXH32 checksums
 * first, then the frames, each compressed alone; stored raw the frames
 * are the raw bytes, read in place).  A cursor positioned on a row block
 * only points at its data block (checking the table once per block);
 * segfile_cursor_get then decodes just the sub-blocks holding the rows
 * asked for — decompressing their frames and unpacking their ids into
 * the row block's buffer at their place, a bit per sub-block in
 * SegCursor.have — so a point read costs a sub-block, a full scan the
 * same as before.  Each sub-block is checked (frame checksum, ids below
 * the dictionary size) the first time any cursor decodes it, a bit per
 * sub-block in SegFile.subok (atomic); the block checksum covering table
 * and frames is left to segfile_verify.  Format 2 files (one frame per
 * block) are still read: their block is decoded whole and checked by its
 * checksum, and only the id unpacking goes by 4,096-row pieces.  Null
 * bitmaps and multi-value blocks are decoded whole, as before.
 *
 * Memory: the SegFile (footer tables, names) is allocated with mem_*;
 * the mapping is the file.  A SegCursor owns the buffers it decodes
 * compressed blocks and bit-packed ids into (mem_*, grown to the largest
 * block it met, freed by segfile_cursor_free); uncompressed raw values
 * and null words are read in place.
 *
 * Exports: segfile_open, segfile_close, segfile_path, segfile_meta,
 * segfile_col, segfile_col_find, segfile_verify, segfile_dict,
 * segfile_dict_str, segfile_dict_i64, segfile_dict_f64,
 * segfile_dict_value, segfile_dict_find, segfile_dict_bound,
 * segfile_cursor_init, segfile_cursor_free, segfile_cursor_get,
 * segfile_read, segfile_read_values, segfile_read_nulls, segfile_read_mv,
 * segfile_read_elems, segfile_value, segfile_ix_ids, segfile_ix_range,
 * segfile_bloom_check.
 */
#define _GNU_SOURCE
#include "storage/segfile.h"
#include "base/hash.h"
#include "base/mem.h"
#include "storage/bitpack.h"
#include "storage/codec.h"
#include "storage/rbitmap.h"
#include "storage/segbloom.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "segment files are little-endian and read in place"
#endif

#define MAX_RAW ((uint64_t)1 << 31)	/* largest block, decoded */
#define VER_OK 1u		/* block checksum and contents checked */
#define VER_HDR 2u		/* framed block: sub-block table checked */
#define MAX_SUBS (SEGFILE_BLOCK_ROWS / SEGFILE_SUB_MIN)	/* 64: one bit each */
#define V2_SUB_SHIFT 12		/* format 2: ids unpacked 4,096 at a time */

typedef struct Blk {
	uint64_t off, stored, raw;
	uint32_t crc;
	uint8_t codec, kind;
	uint16_t col;
} Blk;

typedef struct Rb {
	uint32_t data, nulls, elems;
	uint64_t elem0, nel;
} Rb;

typedef struct Col {
	SegColInfo info;
	uint32_t dict_a, dict_b;
	Rb *rbs;
	_Atomic int dict_ok;
	SegDict dict;		/* pointers set at open; contents checked once */
	uint32_t ix_blk[SEGFILE_IXB_COUNT];	/* index blocks or SEGFILE_NONE */
	_Atomic unsigned ix_ok;	/* SEGFILE_IX_* bits whose blocks passed their check */
} Col;

struct SegFile {
	char *path;
	const unsigned char *map;
	size_t size;
	SegMeta meta;
	SegSource *sources;
	Blk *blocks;
	uint8_t *verified;	/* per block VER_* bits, set atomically once checked */
	uint64_t *subok;	/* per framed block, bit i: sub-block i checked */
	int framed;		/* format >= 3: data blocks framed in sub-blocks */
	uint32_t nrb;
	Col *cols;
	char *names;
};

static const char *kind_names[SEGFILE_K_COUNT] = {
	"?", "dictionary offsets", "dictionary bytes", "dictionary values", "data",
	"null bitmap", "multi-value ends", "multi-value elements", "inverted index directory",
	"inverted index bitmaps", "sorted index", "range index id starts", "range index values",
	"range index rows", "bloom filter"};

/* ---- bounds-checked footer reader ---- */

typedef struct Rd {
	const unsigned char *p;
	size_t n, pos;
	int bad;
} Rd;

static void
rd(Rd *r, void *out, size_t k)
{
	if (r->bad || k > r->n - r->pos) {
		r->bad = 1;
		memset(out, 0, k);
		return;
	}
	memcpy(out, r->p + r->pos, k);
	r->pos += k;
}
static uint8_t
rd8(Rd *r)
{
	uint8_t v;
	rd(r, &v, 1);
	return v;
}
static uint16_t
rd16(Rd *r)
{
	uint16_t v;
	rd(r, &v, 2);
	return v;
}
static uint32_t
rd32(Rd *r)
{
	uint32_t v;
	rd(r, &v, 4);
	return v;
}
static uint64_t
rd64(Rd *r)
{
	uint64_t v;
	rd(r, &v, 8);
	return v;
}

static int
corrupt(const SegFile *sf, Err *e, const char *fmt, const char *what)
{
	return err_set(e, ERR_CORRUPT, "segment %s: %s%s", sf->path, what, fmt);
}

static int
bad_block(const SegFile *sf, Err *e, uint32_t b, const char *why)
{
	const Blk *k = &sf->blocks[b];
	const char *col = k->col < sf->meta.ncols ? sf->cols[k->col].info.name : "?";
	return err_set(e, ERR_CORRUPT, "segment %s: column %s: block %u (%s at offset %llu): %s",
		       sf->path, col ? col : "?", b, k->kind < SEGFILE_K_COUNT ? kind_names[k->kind] : "?",
		       (unsigned long long)k->off, why);
}

/* ---- open ---- */

static int
check_ref(SegFile *sf, uint32_t b, int kind, int col, uint64_t raw, Err *e)
{
	const char *cn = sf->cols[col].info.name;
	if (b >= sf->meta.nblocks)
		return err_set(e, ERR_CORRUPT, "segment %s: column %s: %s block number %u out of range",
			       sf->path, cn, kind_names[kind], b);
	const Blk *k = &sf->blocks[b];
	if (k->kind != kind || k->col != col)
		return bad_block(sf, e, b, "block kind or column does not match its reference");
	if (raw != UINT64_MAX && k->raw != raw)
		return bad_block(sf, e, b, "decoded size does not match the row count");
	return 0;
}

/* Checks the index references of column c's record against its flags,
 * kinds and the sizes the counts imply. */
static int
parse_indexes(SegFile *sf, int c, Err *e)
{
	Col *col = &sf->cols[c];
	SegColInfo *ci = &col->info;
	unsigned ix = ci->indexes;
	uint32_t *bk = col->ix_blk;
	uint64_t card1 = ((uint64_t)ci->card + 1) * 4;
	uint64_t npairs = ci->mv ? ci->nelems : sf->meta.nrows;
	int want[SEGFILE_IXB_COUNT] = {0};
	int kinds[SEGFILE_IXB_COUNT] = {SEGFILE_K_INV_DIR, SEGFILE_K_INV_BITMAPS, SEGFILE_K_SORTED,
					ci->has_dict ? SEGFILE_K_RANGE_STARTS : SEGFILE_K_RANGE_VALUES,
					SEGFILE_K_RANGE_ROWS, SEGFILE_K_BLOOM};
	uint64_t raw[SEGFILE_IXB_COUNT] = {(uint64_t)ci->card * SEGFILE_INV_ENTRY_BYTES, UINT64_MAX,
					   card1, ci->has_dict ? card1 : npairs * 8,
					   ci->has_dict ? UINT64_MAX : npairs * 4, UINT64_MAX};
	if (ix & ~(SEGFILE_IX_INVERTED | SEGFILE_IX_SORTED | SEGFILE_IX_RANGE | SEGFILE_IX_BLOOM) ||
	    (!ci->has_dict && (ix & (SEGFILE_IX_INVERTED | SEGFILE_IX_SORTED))) ||
	    ((ix & SEGFILE_IX_SORTED) && sf->meta.sort_col != c))
		return err_set(e, ERR_CORRUPT, "segment %s: column %s: bad index flags", sf->path,
			       ci->name);
	want[SEGFILE_IXB_INV_DIR] = want[SEGFILE_IXB_INV_BITMAPS] = (ix & SEGFILE_IX_INVERTED) != 0;
	want[SEGFILE_IXB_SORTED] = (ix & SEGFILE_IX_SORTED) != 0;
	want[SEGFILE_IXB_RANGE_A] = want[SEGFILE_IXB_RANGE_ROWS] =
		(ix & SEGFILE_IX_RANGE) &&
		!(ci->has_dict && (ix & (SEGFILE_IX_INVERTED | SEGFILE_IX_SORTED)));
	want[SEGFILE_IXB_BLOOM] = (ix & SEGFILE_IX_BLOOM) != 0;
	for (int i = 0; i < SEGFILE_IXB_COUNT; i++) {
		int rc;
		if (!want[i]) {
			if (bk[i] != SEGFILE_NONE)
				return err_set(e, ERR_CORRUPT,
					       "segment %s: column %s: index block without its index",
					       sf->path, ci->name);
			continue;
		}
		if ((rc = check_ref(sf, bk[i], kinds[i], c, raw[i], e)) != 0)
			return rc;
		const Blk *k = &sf->blocks[bk[i]];
		if (k->codec != CODEC_NONE)
			return bad_block(sf, e, bk[i], "index block compressed");
		static const int bitno[SEGFILE_IXB_COUNT] = {0, 0, 1, 2, 2, 3};
		col->info.ix_bytes[bitno[i]] += k->stored;
		if ((i == SEGFILE_IXB_RANGE_ROWS && (k->raw & 3)) ||
		    (i == SEGFILE_IXB_BLOOM &&
		     (k->raw < SEGBLOOM_HEADER_BYTES + 8 || (k->raw & 7))))
			return bad_block(sf, e, bk[i], "size does not fit the index");
	}
	return 0;
}

static int
parse_col(SegFile *sf, Rd *r, int c, char **namep, Err *e)
{
	Col *col = &sf->cols[c];
	SegColInfo *ci = &col->info;
	uint16_t nl = rd16(r);
	if (r->bad || nl > r->n - r->pos)
		return err_set(e, ERR_CORRUPT, "segment %s: footer: column %d record truncated",
			       sf->path, c);
	memcpy(*namep, r->p + r->pos, nl);
	(*namep)[nl] = '\0';
	ci->name = *namep;
	*namep += nl + 1;
	r->pos += nl;
	uint8_t type = rd8(r), mv = rd8(r), hd = rd8(r), codec = rd8(r), bits = rd8(r),
		hm = rd8(r);
	(void)rd16(r);
	ci->card = rd32(r);
	ci->null_count = rd64(r);
	ci->nelems = rd64(r);
	uint64_t mn = rd64(r), mx = rd64(r);
	col->dict_a = rd32(r);
	col->dict_b = rd32(r);
	ci->indexes = rd32(r);
	for (int i = 0; i < SEGFILE_IXB_COUNT; i++)
		col->ix_blk[i] = rd32(r);
	uint32_t ixres = rd32(r);
	if (r->bad)
		return err_set(e, ERR_CORRUPT, "segment %s: footer: column %s record truncated",
			       sf->path, ci->name);
	if (type <= TYPE_NULL || type >= TYPE_COUNT || mv > 1 || hd > 1 || codec >= CODEC_COUNT ||
	    hm > 1 || (type_is_var((WbType)type) && !hd))
		return err_set(e, ERR_CORRUPT, "segment %s: column %s: bad type or encoding",
			       sf->path, ci->name);
	ci->type = (WbType)type;
	ci->mv = mv;
	ci->has_dict = hd;
	ci->codec = codec;
	ci->bits = bits;
	ci->has_minmax = hm;
	memcpy(&ci->min, &mn, 8);
	memcpy(&ci->max, &mx, 8);
	uint64_t nrows = sf->meta.nrows;
	if (ci->null_count > nrows || (!mv && ci->nelems != 0) ||
	    (hd && bits != bitpack_bits(ci->card)) || (!hd && (ci->card || bits)) ||
	    (hd && hm && (type_is_var(ci->type) ? (ci->min.id >= ci->card || ci->max.id >= ci->card)
						: ci->card == 0)))
		return err_set(e, ERR_CORRUPT, "segment %s: column %s: inconsistent counts",
			       sf->path, ci->name);
	int rc;
	if (hd) {
		if (type_is_var(ci->type)) {
			if ((rc = check_ref(sf, col->dict_a, SEGFILE_K_DICT_OFFS, c,
					    ((uint64_t)ci->card + 1) * 4, e)) != 0 ||
			    (rc = check_ref(sf, col->dict_b, SEGFILE_K_DICT_BYTES, c, UINT64_MAX, e)) != 0)
				return rc;
		} else if ((rc = check_ref(sf, col->dict_a, SEGFILE_K_DICT_NUMS, c,
					   (uint64_t)ci->card * 8, e)) != 0) {
			return rc;
		}
		if (sf->blocks[col->dict_a].codec != CODEC_NONE ||
		    (col->dict_b != SEGFILE_NONE && sf->blocks[col->dict_b].codec != CODEC_NONE))
			return err_set(e, ERR_CORRUPT, "segment %s: column %s: compressed dictionary",
				       sf->path, ci->name);
		/* pointers only: the contents are checked by segfile_dict */
		col->dict.type = ci->type;
		col->dict.card = ci->card;
		if (type_is_var(ci->type)) {
			col->dict.offs = (const uint32_t *)(sf->map + sf->blocks[col->dict_a].off);
			col->dict.bytes = (const char *)sf->map + sf->blocks[col->dict_b].off;
		} else {
			col->dict.nums = sf->map + sf->blocks[col->dict_a].off;
		}
	}
	col->rbs = mem_calloc(sf->nrb ? sf->nrb : 1, sizeof(Rb));
	if (col->rbs == NULL)
		return err_set(e, ERR_NOMEM, "opening segment %s", sf->path);
	size_t width = hd ? 0 : type_width(ci->type);
	for (uint32_t b = 0; b < sf->nrb; b++) {
		Rb *rb = &col->rbs[b];
		rb->data = rd32(r);
		rb->nulls = rd32(r);
		rb->elems = rd32(r);
		(void)rd32(r);
		rb->elem0 = rd64(r);
	}
	if (r->bad)
		return err_set(e, ERR_CORRUPT, "segment %s: footer: column %s record truncated",
			       sf->path, ci->name);
	for (uint32_t b = 0; b < sf->nrb; b++) {
		Rb *rb = &col->rbs[b];
		uint64_t r0 = (uint64_t)b * sf->meta.block_rows;
		uint64_t n = nrows - r0 < sf->meta.block_rows ? nrows - r0 : sf->meta.block_rows;
		uint64_t next = b + 1 < sf->nrb ? col->rbs[b + 1].elem0 : ci->nelems;
		if (rb->elem0 > next || (b == 0 && rb->elem0 != 0))
			return err_set(e, ERR_CORRUPT,
				       "segment %s: column %s: row block %u: element counts out of order",
				       sf->path, ci->name, b);
		rb->nel = next - rb->elem0;
		if (!mv) {
			if (rb->elems != SEGFILE_NONE || rb->elem0 != 0)
				return err_set(e, ERR_CORRUPT,
					       "segment %s: column %s: row block %u: elements in a "
					       "single-value column",
					       sf->path, ci->name, b);
			if ((rc = check_ref(sf, rb->data, SEGFILE_K_DATA, c,
					    hd ? bitpack_bytes(n, bits) : n * width, e)) != 0)
				return rc;
		} else {
			if (rb->nel > MAX_RAW ||
			    (rc = check_ref(sf, rb->data, SEGFILE_K_MV_ENDS, c, n * 4, e)) != 0 ||
			    (rc = check_ref(sf, rb->elems, SEGFILE_K_MV_ELEMS, c,
					    hd ? bitpack_bytes(rb->nel, bits) : rb->nel * width, e)) != 0)
				return rc ? rc
					  : err_set(e, ERR_CORRUPT,
						    "segment %s: column %s: row block %u too large",
						    sf->path, ci->name, b);
		}
		if (rb->nulls != SEGFILE_NONE &&
		    (rc = check_ref(sf, rb->nulls, SEGFILE_K_NULLS, c, (n + 63) / 64 * 8, e)) != 0)
			return rc;
	}
	if (ixres != 0)
		return err_set(e, ERR_CORRUPT, "segment %s: column %s: reserved bytes not zero",
			       sf->path, ci->name);
	if ((rc = parse_indexes(sf, c, e)) != 0)
		return rc;
	for (uint32_t b = 0; b < sf->meta.nblocks; b++)
		if (sf->blocks[b].col == c) {
			ci->stored_bytes += sf->blocks[b].stored;
			ci->raw_bytes += sf->blocks[b].raw;
		}
	return 0;
}

static int
parse_footer(SegFile *sf, const unsigned char *f, size_t flen, uint64_t foff, Err *e)
{
	Rd r = {f, flen, 0, 0};
	SegMeta *m = &sf->meta;
	uint32_t ncols = rd32(&r);
	m->block_rows = rd32(&r);
	m->nrows = rd64(&r);
	m->created_ms = (int64_t)rd64(&r);
	m->time_col = (int32_t)rd32(&r);
	m->sort_col = (int32_t)rd32(&r);
	m->has_time = (int)rd32(&r);
	m->nsources = rd32(&r);
	m->tmin = (int64_t)rd64(&r);
	m->tmax = (int64_t)rd64(&r);
	if (r.bad || ncols > 65535 || m->block_rows != SEGFILE_BLOCK_ROWS ||
	    m->nrows > UINT32_MAX || m->time_col < -1 || m->time_col >= (int)ncols ||
	    m->sort_col < -1 || m->sort_col >= (int)ncols || (unsigned)m->has_time > 1 ||
	    m->nsources > (flen - r.pos) / 24)
		return corrupt(sf, e, "", "footer: bad header fields");
	m->ncols = (int)ncols;
	sf->nrb = (uint32_t)((m->nrows + m->block_rows - 1) / m->block_rows);
	sf->sources = mem_calloc(m->nsources ? m->nsources : 1, sizeof(SegSource));
	if (sf->sources == NULL)
		return err_set(e, ERR_NOMEM, "opening segment %s", sf->path);
	for (uint32_t i = 0; i < m->nsources; i++) {
		sf->sources[i].id = (int64_t)rd64(&r);
		sf->sources[i].start = (int64_t)rd64(&r);
		sf->sources[i].end = (int64_t)rd64(&r);
	}
	m->sources = sf->sources;
	m->nblocks = rd32(&r);
	(void)rd32(&r);
	if (r.bad || m->nblocks > (flen - r.pos) / SEGFILE_BLOCK_BYTES)
		return corrupt(sf, e, "", "footer: bad block count");
	sf->blocks = mem_calloc(m->nblocks ? m->nblocks : 1, sizeof(Blk));
	sf->verified = mem_calloc(m->nblocks ? m->nblocks : 1, 1);
	sf->subok = mem_calloc(m->nblocks ? m->nblocks : 1, sizeof(uint64_t));
	sf->cols = mem_calloc(ncols ? ncols : 1, sizeof(Col));
	sf->names = mem_alloc(flen + ncols + 1);
	if (sf->blocks == NULL || sf->verified == NULL || sf->subok == NULL || sf->cols == NULL ||
	    sf->names == NULL)
		return err_set(e, ERR_NOMEM, "opening segment %s", sf->path);
	for (uint32_t i = 0; i < m->nblocks; i++) {
		Blk *b = &sf->blocks[i];
		b->off = rd64(&r);
		b->stored = rd64(&r);
		b->raw = rd64(&r);
		b->crc = rd32(&r);
		b->codec = rd8(&r);
		b->kind = rd8(&r);
		b->col = rd16(&r);
		/* a framed data block stored raw: its sub-block table, then
		 * the raw bytes (checked against the table on first use) */
		int fr = sf->framed && b->kind == SEGFILE_K_DATA;
		if (b->off < SEGFILE_HEADER_BYTES || (b->off & 7) || b->off > foff ||
		    b->stored > foff - b->off || b->raw > MAX_RAW || b->codec >= CODEC_COUNT ||
		    b->kind == 0 || b->kind >= SEGFILE_K_COUNT || b->col >= ncols ||
		    (b->codec == CODEC_NONE && !fr && b->stored != b->raw) ||
		    (b->codec == CODEC_NONE && fr &&
		     (b->stored <= b->raw || b->stored - b->raw > 8 + 8 * MAX_SUBS ||
		      ((b->stored - b->raw) & 7))))
			return err_set(e, ERR_CORRUPT,
				       "segment %s: footer: block %u: bad offset, size, codec or kind",
				       sf->path, i);
	}
	char *np = sf->names;
	for (uint32_t c = 0; c < ncols; c++) {
		int rc = parse_col(sf, &r, (int)c, &np, e);
		if (rc)
			return rc;
	}
	if (r.pos != flen)
		return corrupt(sf, e, "", "footer: trailing bytes");
	if (m->time_col >= 0) {
		const SegColInfo *t = &sf->cols[m->time_col].info;
		if (t->mv || !type_is_integer(t->type))
			return corrupt(sf, e, "", "footer: time column is not an integer column");
	}
	if (m->sort_col >= 0 && sf->cols[m->sort_col].info.mv)
		return corrupt(sf, e, "", "footer: sort column is multi-value");
	return 0;
}

int
segfile_open(const char *path, SegFile **out, Err *e)
{
	*out = NULL;
	SegFile *sf = mem_calloc(1, sizeof(SegFile));
	if (sf == NULL || (sf->path = mem_strdup(path)) == NULL) {
		mem_free(sf);
		return err_set(e, ERR_NOMEM, "opening segment %s", path);
	}
	int rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = err_set(e, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO, "open %s: %s", path,
			     strerror(errno));
		goto fail;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		rc = err_set(e, ERR_IO, "stat %s: %s", path, strerror(errno));
		close(fd);
		goto fail;
	}
	sf->size = (size_t)st.st_size;
	if (sf->size < SEGFILE_HEADER_BYTES + SEGFILE_TRAILER_BYTES) {
		close(fd);
		rc = err_set(e, ERR_CORRUPT, "segment %s: %zu bytes: too short for a segment file",
			     path, sf->size);
		goto fail;
	}
	void *map = mmap(NULL, sf->size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		rc = err_set(e, ERR_IO, "mmap %s: %s", path, strerror(errno));
		goto fail;
	}
	sf->map = map;
	sf->meta.file_bytes = sf->size;
	const unsigned char *tr = sf->map + sf->size - SEGFILE_TRAILER_BYTES;
	uint32_t hver, tver, fcrc;
	uint64_t foff, flen;
	memcpy(&hver, sf->map + 8, 4);
	memcpy(&foff, tr, 8);
	memcpy(&flen, tr + 8, 8);
	memcpy(&fcrc, tr + 16, 4);
	memcpy(&tver, tr + 20, 4);
	if (memcmp(sf->map, SEGFILE_MAGIC, 8) != 0 || memcmp(tr + 24, SEGFILE_MAGIC, 8) != 0) {
		rc = err_set(e, ERR_CORRUPT,
			     "segment %s: not a segment file or truncated (magic number missing)",
			     path);
		goto fail;
	}
	if (hver != tver || hver < SEGFILE_VERSION_MIN || hver > SEGFILE_VERSION) {
		rc = err_set(e, ERR_CORRUPT, "segment %s: format version %u/%u, this build reads %d to %d",
			     path, hver, tver, SEGFILE_VERSION_MIN, SEGFILE_VERSION);
		goto fail;
	}
	sf->framed = hver >= 3;
	uint32_t reserved;
	memcpy(&reserved, sf->map + 12, 4);
	if (reserved != 0) {
		rc = err_set(e, ERR_CORRUPT, "segment %s: header: reserved bytes not zero", path);
		goto fail;
	}
	sf->meta.version = hver;
	uint64_t fend = sf->size - SEGFILE_TRAILER_BYTES;
	if (foff < SEGFILE_HEADER_BYTES || foff > fend || flen != fend - foff) {
		rc = err_set(e, ERR_CORRUPT, "segment %s: footer position out of the file", path);
		goto fail;
	}
	if (hash_crc(sf->map + foff, flen) != fcrc) {
		rc = err_set(e, ERR_CORRUPT, "segment %s: footer checksum mismatch", path);
		goto fail;
	}
	if ((rc = parse_footer(sf, sf->map + foff, flen, foff, e)) != 0)
		goto fail;
	*out = sf;
	return 0;
fail:
	segfile_close(sf);
	return rc;
}

void
segfile_close(SegFile *sf)
{
	if (sf == NULL)
		return;
	if (sf->map)
		munmap((void *)sf->map, sf->size);
	if (sf->cols)
		for (int c = 0; c < sf->meta.ncols; c++)
			mem_free(sf->cols[c].rbs);
	mem_free(sf->cols);
	mem_free(sf->names);
	mem_free(sf->blocks);
	mem_free(sf->verified);
	mem_free(sf->subok);
	mem_free(sf->sources);
	mem_free(sf->path);
	mem_free(sf);
}

const char *segfile_path(const SegFile *sf) { return sf->path; }
const SegMeta *segfile_meta(const SegFile *sf) { return &sf->meta; }
const SegColInfo *segfile_col(const SegFile *sf, int c) { return &sf->cols[c].info; }

int
segfile_col_find(const SegFile *sf, const char *name)
{
	for (int c = 0; c < sf->meta.ncols; c++)
		if (strcmp(sf->cols[c].info.name, name) == 0)
			return c;
	return -1;
}

/* ---- dictionaries ---- */

static uint64_t
fkey(double d)
{
	uint64_t b;
	memcpy(&b, &d, 8);
	return (b >> 63) ? ~b : b | ((uint64_t)1 << 63);
}

static int
block_crc(SegFile *sf, uint32_t b, Err *e)
{
	const Blk *k = &sf->blocks[b];
	if (hash_crc(sf->map + k->off, k->stored) != k->crc)
		return bad_block(sf, e, b, "checksum mismatch");
	return 0;
}

int
segfile_dict(SegFile *sf, int c, SegDict *out, Err *e)
{
	Col *col = &sf->cols[c];
	if (!col->info.has_dict)
		return err_set(e, ERR_INVALID, "segment %s: column %s has no dictionary", sf->path,
			       col->info.name);
	if (__atomic_load_n(&col->dict_ok, __ATOMIC_ACQUIRE)) {
		*out = col->dict;
		return 0;
	}
	const SegDict d = col->dict;
	int rc;
	if ((rc = block_crc(sf, col->dict_a, e)) != 0)
		return rc;
	if (type_is_var(d.type)) {
		const Blk *bb = &sf->blocks[col->dict_b];
		if ((rc = block_crc(sf, col->dict_b, e)) != 0)
			return rc;
		if (d.offs[0] != 0 || d.offs[d.card] != bb->raw)
			return bad_block(sf, e, col->dict_a, "offsets do not cover the bytes");
		for (uint32_t i = 0; i < d.card; i++) {
			if (d.offs[i + 1] < d.offs[i])
				return bad_block(sf, e, col->dict_a, "offsets out of order");
			if (i > 0) {
				uint32_t la = d.offs[i] - d.offs[i - 1], lb = d.offs[i + 1] - d.offs[i];
				int cmp = memcmp(d.bytes + d.offs[i - 1], d.bytes + d.offs[i],
						 la < lb ? la : lb);
				if (cmp > 0 || (cmp == 0 && la >= lb))
					return bad_block(sf, e, col->dict_b, "entries not sorted");
			}
		}
	} else {
		for (uint32_t i = 1; i < d.card; i++) {
			int ok;
			if (type_is_float(d.type))
				ok = fkey(segfile_dict_f64(&d, i - 1)) < fkey(segfile_dict_f64(&d, i));
			else
				ok = segfile_dict_i64(&d, i - 1) < segfile_dict_i64(&d, i);
			if (!ok)
				return bad_block(sf, e, col->dict_a, "entries not sorted");
		}
	}
	__atomic_store_n(&col->dict_ok, 1, __ATOMIC_RELEASE);
	*out = d;
	return 0;
}

const char *
segfile_dict_str(const SegDict *d, uint32_t id, uint32_t *len)
{
	*len = d->offs[id + 1] - d->offs[id];
	return d->bytes + d->offs[id];
}

int64_t
segfile_dict_i64(const SegDict *d, uint32_t id)
{
	int64_t v;
	memcpy(&v, d->nums + (size_t)id * 8, 8);
	return v;
}

double
segfile_dict_f64(const SegDict *d, uint32_t id)
{
	double v;
	memcpy(&v, d->nums + (size_t)id * 8, 8);
	return v;
}

Value
segfile_dict_value(const SegDict *d, uint32_t id)
{
	if (type_is_var(d->type)) {
		uint32_t len;
		const char *s = segfile_dict_str(d, id, &len);
		return value_str(d->type, s, len);
	}
	if (type_is_float(d->type))
		return value_double(d->type, segfile_dict_f64(d, id));
	return value_int(d->type, segfile_dict_i64(d, id));
}

/* Sign of entry id minus v. */
static int
cmp_entry(const SegDict *d, uint32_t id, const Value *v)
{
	if (type_is_var(d->type)) {
		uint32_t len, vl = v->u.s ? v->n : 0;
		const char *s = segfile_dict_str(d, id, &len);
		int c = memcmp(s, v->u.s ? v->u.s : "", len < vl ? len : vl);
		if (c)
			return c;
		return len < vl ? -1 : len > vl;
	}
	int vfloat = type_is_float((WbType)v->type);
	if (type_is_float(d->type)) {
		uint64_t a = fkey(segfile_dict_f64(d, id)), b = fkey(vfloat ? v->u.d : (double)v->u.i);
		return a < b ? -1 : a > b;
	}
	int64_t a = segfile_dict_i64(d, id);
	if (vfloat) {
		double x = (double)a;
		return x < v->u.d ? -1 : x > v->u.d;
	}
	return a < v->u.i ? -1 : a > v->u.i;
}

uint32_t
segfile_dict_bound(const SegDict *d, const Value *v, int upper)
{
	uint32_t lo = 0, hi = d->card;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = cmp_entry(d, mid, v);
		if (c < 0 || (upper && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint32_t
segfile_dict_find(const SegDict *d, const Value *v)
{
	uint32_t id = segfile_dict_bound(d, v, 0);
	return id < d->card && cmp_entry(d, id, v) == 0 ? id : SEGFILE_NONE;
}

/* ---- cursors ---- */

void
segfile_cursor_init(SegCursor *cur, SegFile *sf, int c)
{
	memset(cur, 0, sizeof(*cur));
	cur->sf = sf;
	cur->col = c;
	cur->rb = SEGFILE_NONE;
	cur->dblk = SEGFILE_NONE;
}

void
segfile_cursor_free(SegCursor *cur)
{
	for (int i = 0; i < 6; i++)
		mem_free(cur->bufs[i]);
	memset(cur, 0, sizeof(*cur));
	cur->rb = SEGFILE_NONE;
}

static void *
cbuf(SegCursor *cur, int i, size_t need)
{
	if (need > cur->caps[i]) {
		size_t n = need < 4096 ? 4096 : need;
		void *p = mem_alloc(n);
		if (p == NULL)
			return NULL;
		mem_free(cur->bufs[i]);
		cur->bufs[i] = p;
		cur->caps[i] = n;
	}
	return cur->bufs[i] ? cur->bufs[i] : (void *)"";
}

/* Raw bytes of block b: in place when uncompressed, else decoded into
 * buffer slot.  The checksum is checked when the block was not yet. */
static int
raw_block(SegCursor *cur, uint32_t b, int slot, const void **out, Err *e)
{
	SegFile *sf = cur->sf;
	const Blk *k = &sf->blocks[b];
	int rc;
	if (!(__atomic_load_n(&sf->verified[b], __ATOMIC_ACQUIRE) & VER_OK) &&
	    (rc = block_crc(sf, b, e)) != 0)
		return rc;
	if (k->codec == CODEC_NONE) {
		*out = sf->map + k->off;
		return 0;
	}
	void *dst = cbuf(cur, slot, k->raw + 8);
	if (dst == NULL)
		return err_set(e, ERR_NOMEM, "decoding segment %s", sf->path);
	Err de = {0};
	if (codec_decompress(k->codec, sf->map + k->off, k->stored, dst, k->raw, &de) != 0)
		return bad_block(sf, e, b, err_msg(&de));
	*out = dst;
	return 0;
}

/* Ids of a packed block: unpacked into slot, checked below card the first
 * time. */
static int
ids_block(SegCursor *cur, uint32_t b, int rawslot, int slot, size_t n, const uint32_t **out,
	  Err *e)
{
	const SegColInfo *ci = &cur->sf->cols[cur->col].info;
	const void *raw;
	int rc = raw_block(cur, b, rawslot, &raw, e);
	if (rc)
		return rc;
	uint32_t *ids = cbuf(cur, slot, n * 4 + 4);
	if (ids == NULL)
		return err_set(e, ERR_NOMEM, "decoding segment %s", cur->sf->path);
	bitpack_unpack(raw, 0, n, ci->bits, ids);
	if (!(__atomic_load_n(&cur->sf->verified[b], __ATOMIC_ACQUIRE) & VER_OK)) {
		uint32_t m = 0;
		for (size_t i = 0; i < n; i++)
			m = ids[i] > m ? ids[i] : m;
		if (n && m >= ci->card)
			return bad_block(cur->sf, e, b, "dictionary id out of range");
	}
	*out = ids;
	return 0;
}

static void
mark(SegFile *sf, uint32_t b)
{
	if (b != SEGFILE_NONE)
		__atomic_fetch_or(&sf->verified[b], VER_OK, __ATOMIC_RELEASE);
}

static size_t
vwidth(const SegColInfo *ci)
{
	return ci->has_dict ? 4 : type_width(ci->type);
}

/* Decoded byte offset of sub-block i (of 1 << sh rows) in a data block
 * of raw bytes: packed ids start on a 64-bit word, values are fixed width. */
static size_t
sub_off(const SegColInfo *ci, unsigned sh, uint32_t i, uint64_t raw)
{
	size_t r = (size_t)i << sh;
	size_t o = ci->has_dict ? r / 8 * ci->bits : r * type_width(ci->type);
	return o < raw ? o : (size_t)raw;
}

/* Checks (once per block) the sub-block table of framed data block b of
 * a row block of n rows; *shift gets log2 of its rows per sub-block. */
static int
check_frames(SegFile *sf, const SegColInfo *ci, uint32_t b, size_t n, unsigned *shift, Err *e)
{
	const Blk *k = &sf->blocks[b];
	const unsigned char *p = sf->map + k->off;
	uint32_t nsub, srows;
	if (k->stored < 8)
		return bad_block(sf, e, b, "sub-block table truncated");
	memcpy(&nsub, p, 4);
	memcpy(&srows, p + 4, 4);
	unsigned sh = (unsigned)__builtin_ctz(srows | 0x80000000u);
	*shift = sh;
	if (__atomic_load_n(&sf->verified[b], __ATOMIC_ACQUIRE) & VER_HDR)
		return 0;
	if (srows < SEGFILE_SUB_MIN || srows > SEGFILE_BLOCK_ROWS || (srows & (srows - 1)) ||
	    n == 0 || nsub != (n + srows - 1) / srows)
		return bad_block(sf, e, b, "sub-block table: bad sub-block count or size");
	uint64_t hdr = 8 + 8 * (uint64_t)nsub, prev = 0;
	if (hdr > k->stored)
		return bad_block(sf, e, b, "sub-block table truncated");
	for (uint32_t i = 0; i < nsub; i++) {
		uint32_t end;
		memcpy(&end, p + 8 + 8 * (size_t)i, 4);
		if (end < prev || end > k->stored - hdr ||
		    (k->codec == CODEC_NONE && end != sub_off(ci, sh, i + 1, k->raw)))
			return bad_block(sf, e, b, "sub-block table: frame ends out of order or range");
		prev = end;
	}
	if (prev != k->stored - hdr)
		return bad_block(sf, e, b, "sub-block table: frames do not fill the block");
	__atomic_fetch_or(&sf->verified[b], VER_HDR, __ATOMIC_RELEASE);
	return 0;
}

/* Sets up the cursor's single-value data block b (row block of n rows)
 * for decoding by sub-block: a framed block is only pointed at; a format
 * 2 block is decoded whole (one frame) and only its ids unpacked lazily. */
static int
load_data(SegCursor *cur, uint32_t b, size_t n, Err *e)
{
	SegFile *sf = cur->sf;
	const SegColInfo *ci = &sf->cols[cur->col].info;
	const Blk *k = &sf->blocks[b];
	int rc;
	cur->dblk = b;
	cur->nrows_rb = (uint32_t)n;
	cur->have = 0;
	cur->raw = NULL;
	if (sf->framed) {
		if ((rc = check_frames(sf, ci, b, n, &cur->sub_shift, e)) != 0)
			return rc;
		uint32_t nsub;
		memcpy(&nsub, sf->map + k->off, 4);
		cur->hdr = 8 + 8 * nsub;
		cur->src = sf->map + k->off + cur->hdr;
		if (k->codec != CODEC_NONE) {
			if ((cur->raw = cbuf(cur, 0, k->raw + 8)) == NULL)
				return err_set(e, ERR_NOMEM, "decoding segment %s", sf->path);
		}
	} else {
		const void *p;
		if ((rc = raw_block(cur, b, 0, &p, e)) != 0)
			return rc;
		mark(sf, b);	/* checksum; ids are checked by sub-block */
		cur->src = p;
		cur->hdr = 0;
		cur->sub_shift = V2_SUB_SHIFT;
		if (!ci->has_dict)
			cur->have = ~(uint64_t)0;	/* values ready */
	}
	if (ci->has_dict) {
		if ((cur->data = cbuf(cur, 1, n * 4 + 4)) == NULL)
			return err_set(e, ERR_NOMEM, "decoding segment %s", sf->path);
	} else {
		cur->data = cur->raw ? (const void *)cur->raw : (const void *)cur->src;
	}
	return 0;
}

/* Decodes sub-block i of the cursor's data block into cur->data
 * (decompressing its frame, unpacking its ids), checking it the first
 * time any cursor meets it. */
static int
decode_sub(SegCursor *cur, uint32_t i, Err *e)
{
	SegFile *sf = cur->sf;
	const SegColInfo *ci = &sf->cols[cur->col].info;
	uint32_t b = cur->dblk;
	const Blk *k = &sf->blocks[b];
	unsigned sh = cur->sub_shift;
	size_t r0 = (size_t)i << sh, nr = cur->nrows_rb - r0;
	if (nr > ((size_t)1 << sh))
		nr = (size_t)1 << sh;
	uint64_t bit = (uint64_t)1 << i;
	int ok = (__atomic_load_n(&sf->subok[b], __ATOMIC_ACQUIRE) & bit) != 0;
	const unsigned char *packed = cur->raw ? cur->raw : cur->src;
	if (cur->hdr) {
		const unsigned char *t = sf->map + k->off + 8;
		uint32_t f0 = 0, f1;
		if (i > 0)
			memcpy(&f0, t + 8 * (size_t)(i - 1), 4);
		memcpy(&f1, t + 8 * (size_t)i, 4);
		if (!ok) {
			uint32_t crc;
			memcpy(&crc, t + 8 * (size_t)i + 4, 4);
			if (hash_crc(cur->src + f0, f1 - f0) != crc) {
				char why[64];
				snprintf(why, sizeof(why), "sub-block %u checksum mismatch", i);
				return bad_block(sf, e, b, why);
			}
		}
		if (cur->raw) {
			size_t o0 = sub_off(ci, sh, i, k->raw), o1 = sub_off(ci, sh, i + 1, k->raw);
			if (i + 1 == (uint32_t)((cur->nrows_rb + ((size_t)1 << sh) - 1) >> sh))
				o1 = k->raw;
			Err de = {0};
			if (codec_decompress(k->codec, cur->src + f0, f1 - f0, cur->raw + o0, o1 - o0,
					     &de) != 0) {
				char why[300];
				snprintf(why, sizeof(why), "sub-block %u: %s", i, err_msg(&de));
				return bad_block(sf, e, b, why);
			}
		}
	}
	if (ci->has_dict) {
		uint32_t *ids = (uint32_t *)cur->data + r0;
		bitpack_unpack(packed, r0, nr, ci->bits, ids);
		if (!ok) {
			uint32_t m = 0;
			for (size_t j = 0; j < nr; j++)
				m = ids[j] > m ? ids[j] : m;
			if (m >= ci->card) {
				char why[64];
				snprintf(why, sizeof(why), "sub-block %u: dictionary id out of range", i);
				return bad_block(sf, e, b, why);
			}
		}
	}
	if (!ok)
		__atomic_fetch_or(&sf->subok[b], bit, __ATOMIC_RELEASE);
	cur->have |= bit;
	return 0;
}

/* Makes rows [r, r+n) of the cursor's row block (n >= 1) decoded. */
static inline int
ensure_rows(SegCursor *cur, size_t r, size_t n, Err *e)
{
	uint32_t s0 = (uint32_t)(r >> cur->sub_shift), s1 = (uint32_t)((r + n - 1) >> cur->sub_shift);
	uint64_t want = (s1 >= 63 ? ~(uint64_t)0 : ((uint64_t)2 << s1) - 1) & ~(((uint64_t)1 << s0) - 1);
	uint64_t miss = want & ~cur->have;
	while (miss) {
		int rc = decode_sub(cur, (uint32_t)__builtin_ctzll(miss), e);
		if (rc)
			return rc;
		miss &= miss - 1;
	}
	return 0;
}

static int
load_rb(SegCursor *cur, uint32_t rbi, Err *e)
{
	if (cur->rb == rbi)
		return 0;
	SegFile *sf = cur->sf;
	Col *col = &sf->cols[cur->col];
	const SegColInfo *ci = &col->info;
	const Rb *rb = &col->rbs[rbi];
	size_t r0 = (size_t)rbi * sf->meta.block_rows;
	size_t n = sf->meta.nrows - r0 < sf->meta.block_rows ? sf->meta.nrows - r0 : sf->meta.block_rows;
	int rc;
	cur->rb = SEGFILE_NONE;
	cur->nulls = NULL;
	if (rb->nulls != SEGFILE_NONE) {
		const void *p = NULL;
		if ((rc = raw_block(cur, rb->nulls, 2, &p, e)) != 0)
			return rc;
		cur->nulls = p;
	}
	if (!ci->mv) {
		if ((rc = load_data(cur, rb->data, n, e)) != 0)
			return rc;
	} else {
		const void *p = NULL;
		if ((rc = raw_block(cur, rb->data, 3, &p, e)) != 0)
			return rc;
		cur->ends = p;
		if (!(__atomic_load_n(&sf->verified[rb->data], __ATOMIC_ACQUIRE) & VER_OK)) {
			uint32_t prev = 0;
			for (size_t i = 0; i < n; i++) {
				if (cur->ends[i] < prev)
					return bad_block(sf, e, rb->data, "element ends out of order");
				prev = cur->ends[i];
			}
			if (prev != rb->nel)
				return bad_block(sf, e, rb->data, "element ends do not match the count");
		}
		if (ci->has_dict) {
			const uint32_t *ids = NULL;
			if ((rc = ids_block(cur, rb->elems, 4, 5, rb->nel, &ids, e)) != 0)
				return rc;
			cur->elems = ids;
		} else if ((rc = raw_block(cur, rb->elems, 4, &cur->elems, e)) != 0) {
			return rc;
		}
		cur->elem0 = rb->elem0;
		cur->nelems_rb = rb->nel;
		mark(sf, rb->elems);
		mark(sf, rb->data);
	}
	mark(sf, rb->nulls);
	cur->rb = rbi;
	return 0;
}

int
segfile_cursor_get(SegCursor *cur, size_t row, size_t n, const void **out, Err *e)
{
	const SegMeta *m = &cur->sf->meta;
	const SegColInfo *ci = &cur->sf->cols[cur->col].info;
	size_t rbi = row / m->block_rows;
	if (ci->mv || row + n > m->nrows || (n && (row + n - 1) / m->block_rows != rbi))
		return err_set(e, ERR_INVALID, "segment %s: column %s: bad row range %zu+%zu",
			       cur->sf->path, ci->name, row, n);
	if (n == 0) {
		*out = NULL;
		return 0;
	}
	size_t off = row - rbi * m->block_rows;
	int rc = load_rb(cur, (uint32_t)rbi, e);
	if (rc || (rc = ensure_rows(cur, off, n, e)) != 0)
		return rc;
	*out = (const char *)cur->data + off * vwidth(ci);
	return 0;
}

int
segfile_read(SegCursor *cur, size_t row, size_t n, void *out, Err *e)
{
	const SegMeta *m = &cur->sf->meta;
	size_t w = vwidth(&cur->sf->cols[cur->col].info);
	while (n > 0) {
		size_t k = m->block_rows - row % m->block_rows;
		if (k > n)
			k = n;
		const void *p = NULL;
		int rc = segfile_cursor_get(cur, row, k, &p, e);
		if (rc)
			return rc;
		memcpy(out, p, k * w);
		out = (char *)out + k * w;
		row += k;
		n -= k;
	}
	return 0;
}

/* Dictionary ids -> values of the column's type width. */
static void
ids_to_values(const SegDict *d, const uint32_t *ids, size_t n, void *out)
{
	for (size_t i = 0; i < n; i++) {
		switch (d->type) {
		case TYPE_INT:
		case TYPE_BOOLEAN:
			((int32_t *)out)[i] = (int32_t)segfile_dict_i64(d, ids[i]);
			break;
		case TYPE_FLOAT:
			((float *)out)[i] = (float)segfile_dict_f64(d, ids[i]);
			break;
		case TYPE_DOUBLE:
			((double *)out)[i] = segfile_dict_f64(d, ids[i]);
			break;
		default:
			((int64_t *)out)[i] = segfile_dict_i64(d, ids[i]);
			break;
		}
	}
}

int
segfile_read_values(SegCursor *cur, size_t row, size_t n, void *out, Err *e)
{
	const SegColInfo *ci = &cur->sf->cols[cur->col].info;
	if (type_is_var(ci->type))
		return err_set(e, ERR_INVALID, "segment %s: column %s is not numeric", cur->sf->path,
			       ci->name);
	if (!ci->has_dict)
		return segfile_read(cur, row, n, out, e);
	SegDict d;
	int rc = segfile_dict(cur->sf, cur->col, &d, e);
	const SegMeta *m = &cur->sf->meta;
	size_t w = type_width(ci->type);
	while (rc == 0 && n > 0) {
		size_t k = m->block_rows - row % m->block_rows;
		if (k > n)
			k = n;
		const void *p = NULL;
		if ((rc = segfile_cursor_get(cur, row, k, &p, e)) != 0)
			break;
		ids_to_values(&d, p, k, out);
		out = (char *)out + k * w;
		row += k;
		n -= k;
	}
	return rc;
}

int
segfile_read_nulls(SegCursor *cur, size_t row, size_t n, uint64_t *out, int *any, Err *e)
{
	const SegMeta *m = &cur->sf->meta;
	const SegColInfo *ci = &cur->sf->cols[cur->col].info;
	*any = 0;
	if ((row & 63) || row + n > m->nrows)
		return err_set(e, ERR_INVALID, "segment %s: column %s: bad null range %zu+%zu",
			       cur->sf->path, ci->name, row, n);
	size_t nw = (n + 63) / 64;
	memset(out, 0, nw * 8);
	size_t done = 0;
	while (done < n) {
		size_t r = row + done;
		size_t rbi = r / m->block_rows, off = r % m->block_rows;
		size_t k = m->block_rows - off;
		if (k > n - done)
			k = n - done;
		int rc = load_rb(cur, (uint32_t)rbi, e);
		if (rc)
			return rc;
		if (cur->nulls) {
			size_t kw = (k + 63) / 64;
			for (size_t i = 0; i < kw; i++) {
				uint64_t wv;
				memcpy(&wv, cur->nulls + off / 64 + i, 8);
				out[done / 64 + i] = wv;
			}
		}
		done += k;
	}
	if (n & 63)
		out[nw - 1] &= ((uint64_t)1 << (n & 63)) - 1;
	uint64_t acc = 0;
	for (size_t i = 0; i < nw; i++)
		acc |= out[i];
	*any = acc != 0;
	return 0;
}

int
segfile_read_mv(SegCursor *cur, size_t row, size_t n, uint64_t *start, uint32_t *count, Err *e)
{
	const SegMeta *m = &cur->sf->meta;
	const SegColInfo *ci = &cur->sf->cols[cur->col].info;
	if (!ci->mv || row + n > m->nrows)
		return err_set(e, ERR_INVALID, "segment %s: column %s: bad multi-value range",
			       cur->sf->path, ci->name);
	for (size_t i = 0; i < n; i++) {
		size_t r = row + i, rbi = r / m->block_rows, off = r % m->block_rows;
		int rc = load_rb(cur, (uint32_t)rbi, e);
		if (rc)
			return rc;
		uint32_t b = off ? cur->ends[off - 1] : 0;
		start[i] = cur->elem0 + b;
		count[i] = cur->ends[off] - b;
	}
	return 0;
}

int
segfile_read_elems(SegCursor *cur, uint64_t elem, size_t n, void *out, Err *e)
{
	Col *col = &cur->sf->cols[cur->col];
	const SegColInfo *ci = &col->info;
	size_t w = vwidth(ci);
	if (!ci->mv || elem > ci->nelems || n > ci->nelems - elem)
		return err_set(e, ERR_INVALID, "segment %s: column %s: bad element range",
			       cur->sf->path, ci->name);
	while (n > 0) {
		if (cur->rb == SEGFILE_NONE || elem < cur->elem0 ||
		    elem >= cur->elem0 + cur->nelems_rb) {
			uint32_t lo = 0, hi = cur->sf->nrb;	/* last rb with elem0 <= elem, nel > 0 */
			while (hi - lo > 1) {
				uint32_t mid = (lo + hi) / 2;
				if (col->rbs[mid].elem0 <= elem)
					lo = mid;
				else
					hi = mid;
			}
			while (lo < cur->sf->nrb && col->rbs[lo].elem0 + col->rbs[lo].nel <= elem)
				lo++;
			int rc = load_rb(cur, lo, e);
			if (rc)
				return rc;
		}
		uint64_t off = elem - cur->elem0;
		size_t k = cur->nelems_rb - off < n ? (size_t)(cur->nelems_rb - off) : n;
		memcpy(out, (const char *)cur->elems + off * w, k * w);
		out = (char *)out + k * w;
		elem += k;
		n -= k;
	}
	return 0;
}

/* One stored value (id or typed value at p) as a Value. */
static Value
to_value(const SegColInfo *ci, const SegDict *d, const void *p)
{
	if (ci->has_dict) {
		uint32_t id;
		memcpy(&id, p, 4);
		return segfile_dict_value(d, id);
	}
	switch (ci->type) {
	case TYPE_INT:
	case TYPE_BOOLEAN: {
		int32_t v;
		memcpy(&v, p, 4);
		return value_int(ci->type, v);
	}
	case TYPE_FLOAT: {
		float v;
		memcpy(&v, p, 4);
		return value_double(ci->type, v);
	}
	case TYPE_DOUBLE: {
		double v;
		memcpy(&v, p, 8);
		return value_double(ci->type, v);
	}
	default: {
		int64_t v;
		memcpy(&v, p, 8);
		return value_int(ci->type, v);
	}
	}
}

int
segfile_value(SegCursor *cur, size_t r, Value *out, Arena *a, Err *e)
{
	const SegColInfo *ci = &cur->sf->cols[cur->col].info;
	SegDict d = {0};
	int rc, any;
	if (ci->has_dict && (rc = segfile_dict(cur->sf, cur->col, &d, e)) != 0)
		return rc;
	uint64_t w;
	size_t base = r & ~(size_t)63;
	if ((rc = segfile_read_nulls(cur, base, r - base + 1, &w, &any, e)) != 0)
		return rc;
	int isnull = (int)((w >> (r - base)) & 1);
	if (!ci->mv) {
		const void *p = NULL;
		if ((rc = segfile_cursor_get(cur, r, 1, &p, e)) != 0)
			return rc;
		*out = to_value(ci, &d, p);
		out->null = (uint8_t)isnull;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	out->type = (uint8_t)ci->type;
	out->mv = 1;
	if (isnull) {
		out->null = 1;
		return 0;
	}
	uint64_t s = 0;
	uint32_t cnt = 0;
	if ((rc = segfile_read_mv(cur, r, 1, &s, &cnt, e)) != 0)
		return rc;
	Value *arr = arena_alloc(a, sizeof(Value) * (cnt ? cnt : 1));
	if (arr == NULL)
		return err_set(e, ERR_NOMEM, "reading segment %s", cur->sf->path);
	for (uint32_t k = 0; k < cnt; k++) {
		unsigned char tmp[8];
		if ((rc = segfile_read_elems(cur, s + k, 1, tmp, e)) != 0)
			return rc;
		arr[k] = to_value(ci, &d, tmp);
	}
	out->u.mv = arr;
	out->n = cnt;
	return 0;
}

/* ---- full verification ---- */

static int
cmp_blk_off(const void *a, const void *b)
{
	const Blk *x = *(const Blk *const *)a, *y = *(const Blk *const *)b;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Every byte between the header and the footer that no block covers is
 * alignment padding and must be zero, so no flipped bit goes unseen. */
static int
check_padding(SegFile *sf, Err *e)
{
	uint32_t nb = sf->meta.nblocks;
	const Blk **order = mem_alloc(sizeof(Blk *) * (nb ? nb : 1));
	if (order == NULL)
		return err_set(e, ERR_NOMEM, "verifying segment %s", sf->path);
	for (uint32_t b = 0; b < nb; b++)
		order[b] = &sf->blocks[b];
	qsort(order, nb, sizeof(Blk *), cmp_blk_off);
	uint64_t foff;
	memcpy(&foff, sf->map + sf->size - SEGFILE_TRAILER_BYTES, 8);
	uint64_t pos = SEGFILE_HEADER_BYTES;
	int rc = 0;
	for (uint32_t i = 0; i <= nb && rc == 0; i++) {
		uint64_t end = i < nb ? order[i]->off : foff;
		for (uint64_t p = pos; p < end; p++)
			if (sf->map[p] != 0) {
				rc = err_set(e, ERR_CORRUPT,
					     "segment %s: byte %llu outside every block is not zero",
					     sf->path, (unsigned long long)p);
				break;
			}
		if (i < nb && order[i]->off + order[i]->stored > pos)
			pos = order[i]->off + order[i]->stored;
	}
	mem_free(order);
	return rc;
}

static int ix_check(SegFile *sf, int c, unsigned which, int force, Err *e);

int
segfile_verify(SegFile *sf, Err *e)
{
	int rc;
	for (uint32_t b = 0; b < sf->meta.nblocks; b++)
		if ((rc = block_crc(sf, b, e)) != 0)
			return rc;
	if ((rc = check_padding(sf, e)) != 0)
		return rc;
	for (int c = 0; c < sf->meta.ncols; c++) {
		SegDict d;
		if (sf->cols[c].info.has_dict && (rc = segfile_dict(sf, c, &d, e)) != 0)
			return rc;
		SegCursor cur;
		segfile_cursor_init(&cur, sf, c);
		for (uint32_t rb = 0; rb < sf->nrb && rc == 0; rb++) {
			/* decode every block again, checking contents */
			const Rb *r = &sf->cols[c].rbs[rb];
			__atomic_store_n(&sf->verified[r->data], 0, __ATOMIC_RELAXED);
			if (r->nulls != SEGFILE_NONE)
				__atomic_store_n(&sf->verified[r->nulls], 0, __ATOMIC_RELAXED);
			if (r->elems != SEGFILE_NONE)
				__atomic_store_n(&sf->verified[r->elems], 0, __ATOMIC_RELAXED);
			__atomic_store_n(&sf->subok[r->data], 0, __ATOMIC_RELAXED);
			cur.rb = SEGFILE_NONE;
			rc = load_rb(&cur, rb, e);
			if (rc == 0 && !sf->cols[c].info.mv)
				rc = ensure_rows(&cur, 0, cur.nrows_rb, e);
		}
		segfile_cursor_free(&cur);
		if (rc)
			return rc;
		for (unsigned bit = 1; bit <= SEGFILE_IX_BLOOM; bit <<= 1)
			if ((sf->cols[c].info.indexes & bit) && (rc = ix_check(sf, c, bit, 1, e)) != 0)
				return rc;
	}
	return 0;
}

/* ---- indexes ---- */

static const void *
blk_ptr(const SegFile *sf, uint32_t b)
{
	return sf->map + sf->blocks[b].off;
}

static uint32_t
ld32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* (card + 1) u32 starts: 0 first, non-decreasing, `last` at the end. */
static int
check_starts(SegFile *sf, uint32_t b, uint32_t card, uint64_t last, Err *e)
{
	const uint32_t *st = blk_ptr(sf, b);
	if (st[0] != 0 || st[card] != last)
		return bad_block(sf, e, b, "starts do not cover the rows");
	for (uint32_t i = 0; i < card; i++)
		if (st[i + 1] < st[i])
			return bad_block(sf, e, b, "starts out of order");
	return 0;
}

static int
check_rows(SegFile *sf, uint32_t b, Err *e)
{
	const uint32_t *rows = blk_ptr(sf, b);
	uint64_t n = sf->blocks[b].raw / 4;
	uint32_t m = 0;
	for (uint64_t i = 0; i < n; i++)
		m = rows[i] > m ? rows[i] : m;
	if (n && m >= sf->meta.nrows)
		return bad_block(sf, e, b, "row number out of range");
	return 0;
}

static int
check_inverted(SegFile *sf, int c, Err *e)
{
	const Col *col = &sf->cols[c];
	uint32_t bd = col->ix_blk[SEGFILE_IXB_INV_DIR], bb = col->ix_blk[SEGFILE_IXB_INV_BITMAPS];
	int rc;
	if ((rc = block_crc(sf, bd, e)) != 0 || (rc = block_crc(sf, bb, e)) != 0)
		return rc;
	const unsigned char *dir = blk_ptr(sf, bd), *data = blk_ptr(sf, bb);
	uint64_t draw = sf->blocks[bb].raw, nrows = sf->meta.nrows, nw = (nrows + 63) / 64;
	for (uint32_t id = 0; id < col->info.card; id++) {
		const unsigned char *ent = dir + (size_t)id * SEGFILE_INV_ENTRY_BYTES;
		uint32_t off = ld32(ent), len = ld32(ent + 4), cnt = ld32(ent + 8), enc = ld32(ent + 12);
		if ((off & 7) || off > draw || len > draw - off)
			return bad_block(sf, e, bd, "bitmap outside the bitmaps block");
		if (enc == SEGFILE_INV_EMPTY) {
			if (len || cnt)
				return bad_block(sf, e, bd, "empty bitmap with rows");
		} else if (enc == SEGFILE_INV_BITSET) {
			if (len != nw * 8)
				return bad_block(sf, e, bd, "bitset length does not match the rows");
			const uint64_t *wv = (const uint64_t *)(const void *)(data + off);
			uint64_t pc = 0;
			for (uint64_t k = 0; k < nw; k++)
				pc += (uint64_t)__builtin_popcountll(wv[k]);
			if (pc != cnt || ((nrows & 63) && (wv[nw - 1] >> (nrows & 63))))
				return bad_block(sf, e, bb, "bitset does not match its row count");
		} else if (enc == SEGFILE_INV_ROARING) {
			uint64_t card;
			const char *why = "";
			if (rbitmap_check(data + off, len, (uint32_t)nrows, &card, &why) != 0)
				return bad_block(sf, e, bb, why);
			if (card != cnt)
				return bad_block(sf, e, bb, "roaring bitmap does not match its row count");
		} else {
			return bad_block(sf, e, bd, "unknown bitmap encoding");
		}
	}
	return 0;
}

static int
check_range(SegFile *sf, int c, Err *e)
{
	const Col *col = &sf->cols[c];
	uint32_t ba = col->ix_blk[SEGFILE_IXB_RANGE_A], br = col->ix_blk[SEGFILE_IXB_RANGE_ROWS];
	int rc;
	if (ba == SEGFILE_NONE)
		return 0;	/* served by the inverted or sorted index */
	if ((rc = block_crc(sf, ba, e)) != 0 || (rc = block_crc(sf, br, e)) != 0 ||
	    (rc = check_rows(sf, br, e)) != 0)
		return rc;
	if (col->info.has_dict)
		return check_starts(sf, ba, col->info.card, sf->blocks[br].raw / 4, e);
	const unsigned char *v = blk_ptr(sf, ba);
	uint64_t n = sf->blocks[ba].raw / 8;
	int fl = type_is_float(col->info.type);
	for (uint64_t i = 1; i < n; i++) {
		uint64_t a, b;
		memcpy(&a, v + 8 * (i - 1), 8);
		memcpy(&b, v + 8 * i, 8);
		int ok;
		if (fl) {
			double x, y;
			memcpy(&x, &a, 8);
			memcpy(&y, &b, 8);
			ok = fkey(x) <= fkey(y);
		} else {
			ok = (int64_t)a <= (int64_t)b;
		}
		if (!ok)
			return bad_block(sf, e, ba, "values not sorted");
	}
	return 0;
}

static int
check_bloom(SegFile *sf, int c, Err *e)
{
	uint32_t b = sf->cols[c].ix_blk[SEGFILE_IXB_BLOOM];
	int rc;
	if ((rc = block_crc(sf, b, e)) != 0)
		return rc;
	const unsigned char *p = blk_ptr(sf, b);
	uint32_t k = ld32(p), res = ld32(p + 4);
	uint64_t m;
	memcpy(&m, p + 8, 8);
	if (k == 0 || k > 32 || res != 0 || m != (sf->blocks[b].raw - SEGBLOOM_HEADER_BYTES) * 8)
		return bad_block(sf, e, b, "bad bloom filter header");
	return 0;
}

/* Checks index `which` (one SEGFILE_IX_* bit) of column c once; force:
 * again even if it passed before. */
static int
ix_check(SegFile *sf, int c, unsigned which, int force, Err *e)
{
	Col *col = &sf->cols[c];
	if (!force && (__atomic_load_n(&col->ix_ok, __ATOMIC_ACQUIRE) & which))
		return 0;
	int rc = 0;
	switch (which) {
	case SEGFILE_IX_INVERTED:
		rc = check_inverted(sf, c, e);
		break;
	case SEGFILE_IX_SORTED: {
		uint32_t b = col->ix_blk[SEGFILE_IXB_SORTED];
		if ((rc = block_crc(sf, b, e)) == 0)
			rc = check_starts(sf, b, col->info.card, sf->meta.nrows, e);
		break;
	}
	case SEGFILE_IX_RANGE:
		rc = check_range(sf, c, e);
		break;
	default:
		rc = check_bloom(sf, c, e);
		break;
	}
	if (rc == 0)
		__atomic_fetch_or(&col->ix_ok, which, __ATOMIC_RELEASE);
	return rc;
}

static int
ix_col(SegFile *sf, int c, const char *fn, Err *e)
{
	if (c < 0 || c >= sf->meta.ncols)
		return err_set(e, ERR_INVALID, "segment %s: %s: no column %d", sf->path, fn, c);
	return 0;
}

static void
set_bits(uint64_t *w, uint64_t a, uint64_t b)
{
	while (a < b && (a & 63)) {
		w[a >> 6] |= (uint64_t)1 << (a & 63);
		a++;
	}
	for (; a + 64 <= b; a += 64)
		w[a >> 6] = ~(uint64_t)0;
	for (; a < b; a++)
		w[a >> 6] |= (uint64_t)1 << (a & 63);
}

int
segfile_ix_ids(SegFile *sf, int c, uint32_t lo, uint32_t hi, uint64_t *rows,
	       uint64_t *entries, Err *e)
{
	int rc;
	if (entries)
		*entries = 0;
	if ((rc = ix_col(sf, c, "segfile_ix_ids", e)) != 0)
		return rc;
	const Col *col = &sf->cols[c];
	const SegColInfo *ci = &col->info;
	unsigned ix = ci->indexes;
	if (!ci->has_dict || !(ix & (SEGFILE_IX_INVERTED | SEGFILE_IX_SORTED | SEGFILE_IX_RANGE)))
		return err_set(e, ERR_INVALID,
			       "segment %s: column %s has no inverted, sorted or range index",
			       sf->path, ci->name);
	if (hi > ci->card)
		hi = ci->card;
	if (lo >= hi)
		return 0;
	if (ix & SEGFILE_IX_SORTED) {
		if ((rc = ix_check(sf, c, SEGFILE_IX_SORTED, 0, e)) != 0)
			return rc;
		const uint32_t *st = blk_ptr(sf, col->ix_blk[SEGFILE_IXB_SORTED]);
		set_bits(rows, st[lo], st[hi]);
		if (entries)
			*entries = hi - lo;
		return 0;
	}
	if (ix & SEGFILE_IX_INVERTED) {
		if ((rc = ix_check(sf, c, SEGFILE_IX_INVERTED, 0, e)) != 0)
			return rc;
		uint32_t bb = col->ix_blk[SEGFILE_IXB_INV_BITMAPS];
		const unsigned char *dir = blk_ptr(sf, col->ix_blk[SEGFILE_IXB_INV_DIR]);
		const unsigned char *data = blk_ptr(sf, bb);
		uint64_t nw = (sf->meta.nrows + 63) / 64;
		for (uint32_t id = lo; id < hi; id++) {
			const unsigned char *ent = dir + (size_t)id * SEGFILE_INV_ENTRY_BYTES;
			uint32_t off = ld32(ent), len = ld32(ent + 4), enc = ld32(ent + 12);
			if (enc == SEGFILE_INV_BITSET) {
				const uint64_t *wv = (const uint64_t *)(const void *)(data + off);
				for (uint64_t k = 0; k < nw; k++)
					rows[k] |= wv[k];
			} else if (enc == SEGFILE_INV_ROARING) {
				rc = rbitmap_or_into(data + off, len, rows);
				if (rc == ERR_NOMEM)
					return err_set(e, rc, "segment %s: reading an index", sf->path);
				if (rc)
					return bad_block(sf, e, bb, "roaring bitmap rejected");
			}
		}
		if (entries)
			*entries = hi - lo;
		return 0;
	}
	if ((rc = ix_check(sf, c, SEGFILE_IX_RANGE, 0, e)) != 0)
		return rc;
	const uint32_t *st = blk_ptr(sf, col->ix_blk[SEGFILE_IXB_RANGE_A]);
	const uint32_t *rl = blk_ptr(sf, col->ix_blk[SEGFILE_IXB_RANGE_ROWS]);
	for (uint32_t k = st[lo]; k < st[hi]; k++)
		rows[rl[k] >> 6] |= (uint64_t)1 << (rl[k] & 63);
	if (entries)
		*entries = st[hi] - st[lo];
	return 0;
}

int
segfile_ix_range(SegFile *sf, int c, SegNum lo, SegNum hi, uint64_t *rows,
		 uint64_t *entries, Err *e)
{
	int rc;
	if (entries)
		*entries = 0;
	if ((rc = ix_col(sf, c, "segfile_ix_range", e)) != 0)
		return rc;
	const Col *col = &sf->cols[c];
	const SegColInfo *ci = &col->info;
	if (ci->has_dict || !(ci->indexes & SEGFILE_IX_RANGE))
		return err_set(e, ERR_INVALID, "segment %s: column %s has no raw range index",
			       sf->path, ci->name);
	if ((rc = ix_check(sf, c, SEGFILE_IX_RANGE, 0, e)) != 0)
		return rc;
	const unsigned char *v = blk_ptr(sf, col->ix_blk[SEGFILE_IXB_RANGE_A]);
	const uint32_t *rl = blk_ptr(sf, col->ix_blk[SEGFILE_IXB_RANGE_ROWS]);
	uint64_t n = sf->blocks[col->ix_blk[SEGFILE_IXB_RANGE_A]].raw / 8;
	int fl = type_is_float(ci->type);
	uint64_t klo, khi;	/* order keys: the range is [klo, khi] */
	if (fl) {
		if (lo.d != lo.d || hi.d != hi.d || lo.d > hi.d)
			return 0;
		klo = fkey(lo.d == 0 ? -0.0 : lo.d);
		khi = fkey(hi.d == 0 ? 0.0 : hi.d);
	} else {
		if (lo.i > hi.i)
			return 0;
		klo = (uint64_t)lo.i ^ ((uint64_t)1 << 63);
		khi = (uint64_t)hi.i ^ ((uint64_t)1 << 63);
	}
	uint64_t a = 0, b = n;	/* first entry with key >= klo */
	uint64_t bounds[2];
	for (int pass = 0; pass < 2; pass++) {
		uint64_t target = pass ? khi : klo;
		a = 0;
		b = n;
		while (a < b) {
			uint64_t mid = a + (b - a) / 2, raw, key;
			memcpy(&raw, v + 8 * mid, 8);
			if (fl) {
				double d;
				memcpy(&d, &raw, 8);
				key = fkey(d);
			} else {
				key = raw ^ ((uint64_t)1 << 63);
			}
			if (key < target || (pass && key == target))
				a = mid + 1;
			else
				b = mid;
		}
		bounds[pass] = a;
	}
	for (uint64_t k = bounds[0]; k < bounds[1]; k++)
		rows[rl[k] >> 6] |= (uint64_t)1 << (rl[k] & 63);
	if (entries)
		*entries = bounds[1] - bounds[0];
	return 0;
}

int
segfile_bloom_check(SegFile *sf, int c, const Value *v, int *may, Err *e)
{
	int rc;
	*may = 1;
	if ((rc = ix_col(sf, c, "segfile_bloom_check", e)) != 0)
		return rc;
	const Col *col = &sf->cols[c];
	const SegColInfo *ci = &col->info;
	if (!(ci->indexes & SEGFILE_IX_BLOOM) || v->null || v->mv)
		return 0;
	uint64_t h;
	WbType vt = (WbType)v->type;
	if (type_is_var(ci->type)) {
		if (!type_is_var(vt))
			return 0;
		h = segbloom_hash_str(v->u.s, v->u.s ? v->n : 0);
	} else if (type_is_float(ci->type)) {
		double d;
		if (type_is_float(vt)) {
			d = v->u.d;
		} else if (type_is_integer(vt)) {
			d = (double)v->u.i;
			if (d >= 9223372036854775808.0 || (int64_t)d != v->u.i)
				return 0;	/* not exact as a double: cannot judge */
		} else {
			return 0;
		}
		h = segbloom_hash_f64(d);
	} else {
		if (type_is_integer(vt)) {
			h = segbloom_hash_int(v->u.i);
		} else if (type_is_float(vt)) {
			double d = v->u.d;
			if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) ||
			    d != (double)(int64_t)d) {
				*may = 0;	/* no integer equals it */
				return 0;
			}
			h = segbloom_hash_int((int64_t)d);
		} else {
			return 0;
		}
	}
	if ((rc = ix_check(sf, c, SEGFILE_IX_BLOOM, 0, e)) != 0)
		return rc;
	const unsigned char *p = blk_ptr(sf, col->ix_blk[SEGFILE_IXB_BLOOM]);
	uint64_t m;
	memcpy(&m, p + 8, 8);
	*may = segbloom_has((const uint64_t *)(const void *)(p + SEGBLOOM_HEADER_BYTES), m, ld32(p),
			    h);
	return 0;
}
