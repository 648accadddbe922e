/*
 * mutseg.c -- the mutable segment: columns that one writer appends to and
 * any number of readers scan without locks.
 *
 * Storage is a set of chunk vectors (Vec): a directory of pointers to
 * fixed-size chunks that never move once allocated.  When the directory
 * fills up, a bigger copy is published with a release store and the old
 * one is kept on a retired list until the segment is freed, so a reader
 * holding the old directory still reads valid chunk pointers.
 *
 * Visibility: the writer fills rows beyond `published`, then
 * mutseg_publish stores each dictionary's entry count and finally the row
 * count, all with release ordering.  A reader loads the row count with
 * acquire (mutseg_rows) and touches nothing beyond it.  Null bitmap words
 * are shared between published and unpublished rows, so the writer sets
 * bits with atomic OR and readers load whole words (atomically).  A
 * reader that checks a directory's capacity (the null vector, whose
 * chunks appear only with the first NULL) loads the capacity before the
 * directory; the writer stores them the other way round.  mutseg_bytes
 * reports a figure the writer stores at publish, so readers never touch
 * the writer's counters.
 *
 * Dictionaries (STRING/JSON/BYTES) are insertion-ordered: entries
 * {pointer, length} in a Vec, bytes in an arena whose blocks never move,
 * and a writer-only open-addressing hash from bytes to id.
 *
 * Memory: everything belongs to the MutSeg and is released by
 * mutseg_free.  Allocation failure during append returns ERR_NOMEM and
 * rolls the writer position back to the last published row.
 *
 * Exports: mutseg_create, mutseg_free, mutseg_append, mutseg_publish,
 * mutseg_rollback, mutseg_rows, mutseg_ncols, mutseg_col, mutseg_bytes, mutcol_type,
 * mutcol_is_mv, mutcol_data, mutcol_is_null, mutcol_nulls, mutcol_nulls_load,
 * mutcol_mv_range, mutcol_elem, mutcol_dict_size, mutcol_dict_get,
 * mutcol_dict_find, mutcol_value.
 */
#include "storage/mutseg.h"
#include "base/arena.h"
#include "base/hash.h"
#include "base/mem.h"

#include <stdatomic.h>
#include <string.h>

#define CHUNK_MASK (MUTSEG_CHUNK_ROWS - 1)
#define NULL_WORDS (MUTSEG_CHUNK_ROWS / 64)

typedef struct Retired {
	struct Retired *next;
	void **dir;
} Retired;

typedef struct Vec {
	void **_Atomic dir;	/* chunk directory, readers load with acquire */
	_Atomic size_t dircap;	/* stored (release) after dir; readers that
				 * check it load it (acquire) BEFORE dir */
	size_t chunk_bytes;	/* bytes per chunk */
	Retired *retired;
	size_t bytes;		/* allocated chunk bytes */
} Vec;

typedef struct DictEntry {
	const char *p;
	uint32_t len;
	uint32_t pad_;
} DictEntry;

typedef struct Dict {
	Vec entries;		/* DictEntry per id */
	Arena bytes;		/* string bytes; blocks never move */
	uint32_t count;		/* writer's count */
	_Atomic uint32_t published;
	uint32_t *slots;	/* hash slots: id + 1, 0 = empty (writer only) */
	size_t nslots;
} Dict;

struct MutCol {
	ColDesc d;
	size_t width;		/* bytes per slot (elements for MV) */
	Vec data;		/* SV: slots per row; MV: uint64_t end per row */
	Vec nulls;		/* uint64_t words; chunk allocated on first NULL */
	Vec elems;		/* MV elements */
	uint64_t nelems;	/* writer's element count */
	uint64_t nelems_published;
	Dict *dict;		/* var-length types */
	char *dflt_bytes;	/* owned copy of a var-length d.dflt */
};

struct MutSeg {
	int ncols;
	MutCol *cols;
	size_t nrows;		/* writer's row count */
	_Atomic size_t published;
	_Atomic size_t bytes;	/* memory used, as of the last publish */
};

/* ---- chunk vectors ---- */

static void
vec_init(Vec *v, size_t chunk_bytes)
{
	atomic_store_explicit(&v->dir, NULL, memory_order_relaxed);
	atomic_store_explicit(&v->dircap, 0, memory_order_relaxed);
	v->chunk_bytes = chunk_bytes;
	v->retired = NULL;
	v->bytes = 0;
}

static void
vec_free(Vec *v)
{
	void **dir = atomic_load_explicit(&v->dir, memory_order_relaxed);
	size_t cap = atomic_load_explicit(&v->dircap, memory_order_relaxed);
	for (size_t i = 0; i < cap; i++)
		mem_free(dir[i]);
	mem_free(dir);
	while (v->retired) {
		Retired *r = v->retired;
		v->retired = r->next;
		mem_free(r->dir);
		mem_free(r);
	}
}

static inline void *
vec_chunk(const Vec *v, size_t chunk)
{
	void **dir = atomic_load_explicit(&((Vec *)v)->dir, memory_order_acquire);
	return __atomic_load_n(&dir[chunk], __ATOMIC_ACQUIRE);
}

/* Chunk `chunk`, allocating it (zeroed) if needed; NULL on OOM. Writer only. */
static void *
vec_need(Vec *v, size_t chunk)
{
	void **dir = atomic_load_explicit(&v->dir, memory_order_relaxed);
	size_t oldcap = atomic_load_explicit(&v->dircap, memory_order_relaxed);
	if (chunk >= oldcap) {
		if (chunk >= MUTSEG_MAX_CHUNKS)
			return NULL;
		size_t cap = oldcap ? oldcap * 2 : 8;
		while (cap <= chunk)
			cap *= 2;
		void **nd = mem_calloc(cap, sizeof(void *));
		Retired *r = dir ? mem_alloc(sizeof(Retired)) : NULL;
		if (nd == NULL || (dir && r == NULL)) {
			mem_free(nd);
			mem_free(r);
			return NULL;
		}
		if (dir) {
			memcpy(nd, dir, oldcap * sizeof(void *));
			r->dir = dir;
			r->next = v->retired;
			v->retired = r;
		}
		atomic_store_explicit(&v->dir, nd, memory_order_release);
		atomic_store_explicit(&v->dircap, cap, memory_order_release);
		dir = nd;
	}
	if (dir[chunk] == NULL) {
		void *c = mem_calloc(1, v->chunk_bytes);
		if (c == NULL)
			return NULL;
		v->bytes += v->chunk_bytes;
		__atomic_store_n(&dir[chunk], c, __ATOMIC_RELEASE);
	}
	return dir[chunk];
}

static inline void *
vec_slot_need(Vec *v, size_t idx, size_t width)
{
	char *c = vec_need(v, idx >> MUTSEG_CHUNK_SHIFT);
	return c ? c + (idx & CHUNK_MASK) * width : NULL;
}

/* ---- dictionary ---- */

static Dict *
dict_create(void)
{
	Dict *d = mem_calloc(1, sizeof(Dict));
	if (d == NULL)
		return NULL;
	vec_init(&d->entries, MUTSEG_CHUNK_ROWS * sizeof(DictEntry));
	arena_init(&d->bytes, 256 * 1024);
	return d;
}

static void
dict_free(Dict *d)
{
	if (d == NULL)
		return;
	vec_free(&d->entries);
	arena_free(&d->bytes);
	mem_free(d->slots);
	mem_free(d);
}

static const DictEntry *
dict_entry(const Dict *d, uint32_t id)
{
	const DictEntry *c = vec_chunk(&d->entries, id >> MUTSEG_CHUNK_SHIFT);
	return &c[id & CHUNK_MASK];
}

static int
dict_grow(Dict *d)
{
	size_t n = d->nslots ? d->nslots * 2 : 1024;
	uint32_t *slots = mem_calloc(n, sizeof(uint32_t));
	if (slots == NULL)
		return -1;
	for (uint32_t id = 0; id < d->count; id++) {
		const DictEntry *e = dict_entry(d, id);
		size_t h = hash_bytes(e->p, e->len) & (n - 1);
		while (slots[h])
			h = (h + 1) & (n - 1);
		slots[h] = id + 1;
	}
	mem_free(d->slots);
	d->slots = slots;
	d->nslots = n;
	return 0;
}

static uint32_t
dict_lookup(const Dict *d, const char *s, uint32_t len, size_t *slot_out)
{
	if (d->nslots == 0)
		return UINT32_MAX;
	size_t mask = d->nslots - 1;
	size_t h = hash_bytes(s, len) & mask;
	for (;;) {
		uint32_t v = d->slots[h];
		if (v == 0) {
			if (slot_out)
				*slot_out = h;
			return UINT32_MAX;
		}
		const DictEntry *e = dict_entry(d, v - 1);
		if (e->len == len && memcmp(e->p, s, len) == 0)
			return v - 1;
		h = (h + 1) & mask;
	}
}

/* Id of s, adding it if new; UINT32_MAX on OOM. */
static uint32_t
dict_intern(Dict *d, const char *s, uint32_t len)
{
	if ((size_t)(d->count + 1) * 2 > d->nslots && dict_grow(d) != 0)
		return UINT32_MAX;
	size_t slot = 0;
	uint32_t id = dict_lookup(d, s, len, &slot);
	if (id != UINT32_MAX)
		return id;
	if (d->count == UINT32_MAX - 1)
		return UINT32_MAX;
	char *copy = arena_alloc(&d->bytes, len + 1);
	DictEntry *e = vec_slot_need(&d->entries, d->count, sizeof(DictEntry));
	if (copy == NULL || e == NULL)
		return UINT32_MAX;
	if (len)
		memcpy(copy, s, len);
	copy[len] = '\0';
	e->p = copy;
	e->len = len;
	d->slots[slot] = d->count + 1;
	return d->count++;
}

/* ---- segment ---- */

static size_t bytes_now(const MutSeg *s);

MutSeg *
mutseg_create(int ncols, const ColDesc *cols)
{
	MutSeg *s = mem_calloc(1, sizeof(MutSeg));
	if (s == NULL)
		return NULL;
	s->cols = mem_calloc((size_t)(ncols ? ncols : 1), sizeof(MutCol));
	if (s->cols == NULL) {
		mem_free(s);
		return NULL;
	}
	s->ncols = ncols;
	for (int i = 0; i < ncols; i++) {
		MutCol *c = &s->cols[i];
		c->d = cols[i];
		c->width = type_width(cols[i].type);
		if (c->d.mv) {
			vec_init(&c->data, MUTSEG_CHUNK_ROWS * sizeof(uint64_t));
			vec_init(&c->elems, MUTSEG_CHUNK_ROWS * c->width);
		} else {
			vec_init(&c->data, MUTSEG_CHUNK_ROWS * c->width);
			vec_init(&c->elems, 8);
		}
		vec_init(&c->nulls, NULL_WORDS * sizeof(uint64_t));
		if (c->d.has_dflt && (WbType)c->d.dflt.type != c->d.type)
			c->d.has_dflt = 0;
		if (c->d.has_dflt) {
			c->d.dflt.null = 0;
			c->d.dflt.mv = 0;
		}
		if (c->d.has_dflt && type_is_var(c->d.type)) {
			uint32_t n = c->d.dflt.u.s ? c->d.dflt.n : 0;
			c->dflt_bytes = mem_alloc((size_t)n + 1);
			if (c->dflt_bytes != NULL) {
				if (n)
					memcpy(c->dflt_bytes, c->d.dflt.u.s, n);
				c->dflt_bytes[n] = '\0';
			}
			c->d.dflt.u.s = c->dflt_bytes;
			c->d.dflt.n = n;
		}
		if (type_is_var(cols[i].type)) {
			c->dict = dict_create();
			if (c->dict == NULL || (c->d.has_dflt && c->dflt_bytes == NULL)) {
				dict_free(c->dict);
				mem_free(c->dflt_bytes);
				s->ncols = i;	/* column i's vectors hold nothing yet */
				mutseg_free(s);
				return NULL;
			}
		}
	}
	return s;
}

void
mutseg_free(MutSeg *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < s->ncols; i++) {
		MutCol *c = &s->cols[i];
		vec_free(&c->data);
		vec_free(&c->nulls);
		vec_free(&c->elems);
		dict_free(c->dict);
		mem_free(c->dflt_bytes);
	}
	mem_free(s->cols);
	mem_free(s);
}

/* Writes scalar v (already of the column's type, or numeric convertible)
 * into slot. */
static int
put_scalar(MutCol *c, void *slot, const Value *v)
{
	WbType t = c->d.type;
	WbType vt = (WbType)v->type;
	int vint = type_is_integer(vt) || vt == TYPE_NULL;
	switch (t) {
	case TYPE_INT:
	case TYPE_BOOLEAN: {
		int32_t x = vint ? (int32_t)v->u.i : (int32_t)v->u.d;
		memcpy(slot, &x, 4);
		return 0;
	}
	case TYPE_LONG:
	case TYPE_TIMESTAMP: {
		int64_t x = vint ? v->u.i : (int64_t)v->u.d;
		memcpy(slot, &x, 8);
		return 0;
	}
	case TYPE_FLOAT: {
		float x = vint ? (float)v->u.i : (float)v->u.d;
		memcpy(slot, &x, 4);
		return 0;
	}
	case TYPE_DOUBLE: {
		double x = vint ? (double)v->u.i : v->u.d;
		memcpy(slot, &x, 8);
		return 0;
	}
	default: {
		const char *p = "";
		uint32_t n = 0;
		if (type_is_var(vt) && v->u.s != NULL) {
			p = v->u.s;
			n = v->n;
		}
		uint32_t id = dict_intern(c->dict, p, n);
		if (id == UINT32_MAX)
			return ERR_NOMEM;
		memcpy(slot, &id, 4);
		return 0;
	}
	}
}

static int
set_null(MutCol *c, size_t r)
{
	uint64_t *chunk = vec_need(&c->nulls, r >> MUTSEG_CHUNK_SHIFT);
	if (chunk == NULL)
		return ERR_NOMEM;
	__atomic_fetch_or(&chunk[(r & CHUNK_MASK) >> 6], (uint64_t)1 << (r & 63),
			  __ATOMIC_RELAXED);
	return 0;
}

static int
append_value(MutCol *c, size_t r, const Value *v)
{
	int rc;
	if (v->null && (rc = set_null(c, r)) != 0)
		return rc;
	if (!c->d.mv) {
		void *slot = vec_slot_need(&c->data, r, c->width);
		if (slot == NULL)
			return ERR_NOMEM;
		if (v->null && c->d.has_dflt)
			return put_scalar(c, slot, &c->d.dflt);
		if (v->mv) {
			/* a multi-value for a single-value column: take the first */
			if (v->n == 0 || v->null) {
				Value nv = value_null((WbType)v->type);
				return put_scalar(c, slot, &nv);
			}
			return put_scalar(c, slot, &v->u.mv[0]);
		}
		return put_scalar(c, slot, v);
	}
	/* A NULL multi-value keeps the elements it carries (the decoders give
	 * Pinot's [default]), so queries that ignore NULLs see what Pinot
	 * sees; the null bit still makes it NULL for SQL. */
	uint32_t n = v->mv ? v->n : (!v->null ? 1 : 0);
	for (uint32_t k = 0; k < n; k++) {
		void *slot = vec_slot_need(&c->elems, c->nelems, c->width);
		if (slot == NULL)
			return ERR_NOMEM;
		rc = put_scalar(c, slot, v->mv ? &v->u.mv[k] : v);
		if (rc)
			return rc;
		c->nelems++;
	}
	uint64_t *end = vec_slot_need(&c->data, r, sizeof(uint64_t));
	if (end == NULL)
		return ERR_NOMEM;
	*end = c->nelems;
	return 0;
}

int
mutseg_append(MutSeg *s, const RowBatch *b, Err *e)
{
	if (b->ncols != s->ncols)
		return err_set(e, ERR_INTERNAL, "batch has %d columns, segment %d",
			       b->ncols, s->ncols);
	if (s->nrows + b->nrows > (size_t)MUTSEG_MAX_CHUNKS * MUTSEG_CHUNK_ROWS)
		return err_set(e, ERR_TOO_LARGE, "mutable segment is full (%zu rows)", s->nrows);
	for (size_t i = 0; i < b->nrows; i++) {
		const Value *row = rowbatch_row(b, i);
		for (int cidx = 0; cidx < s->ncols; cidx++) {
			int rc = append_value(&s->cols[cidx], s->nrows, &row[cidx]);
			if (rc != 0) {
				mutseg_rollback(s);
				return err_set(e, rc, "appending to mutable segment");
			}
		}
		s->nrows++;
	}
	return 0;
}

void
mutseg_rollback(MutSeg *s)
{
	size_t pub = atomic_load_explicit(&s->published, memory_order_relaxed);
	/* clear null bits set by the discarded rows */
	for (int k = 0; k < s->ncols; k++) {
		MutCol *c = &s->cols[k];
		c->nelems = c->nelems_published;
		for (size_t r = pub; r < s->nrows; r++) {
			void **dir = atomic_load_explicit(&c->nulls.dir, memory_order_relaxed);
			size_t chunk = r >> MUTSEG_CHUNK_SHIFT;
			if (dir == NULL ||
			    chunk >= atomic_load_explicit(&c->nulls.dircap, memory_order_relaxed) ||
			    dir[chunk] == NULL)
				continue;
			uint64_t *w = dir[chunk];
			__atomic_fetch_and(&w[(r & CHUNK_MASK) >> 6], ~((uint64_t)1 << (r & 63)),
					   __ATOMIC_RELAXED);
		}
	}
	s->nrows = pub;
}

void
mutseg_publish(MutSeg *s)
{
	for (int i = 0; i < s->ncols; i++) {
		MutCol *c = &s->cols[i];
		c->nelems_published = c->nelems;
		if (c->dict)
			atomic_store_explicit(&c->dict->published, c->dict->count,
					      memory_order_release);
	}
	atomic_store_explicit(&s->bytes, bytes_now(s), memory_order_relaxed);
	atomic_store_explicit(&s->published, s->nrows, memory_order_release);
}

size_t
mutseg_rows(const MutSeg *s)
{
	return atomic_load_explicit(&((MutSeg *)s)->published, memory_order_acquire);
}

int mutseg_ncols(const MutSeg *s) { return s->ncols; }
const MutCol *mutseg_col(const MutSeg *s, int c) { return &s->cols[c]; }

/* Writer, at publish: bytes holding data.  Chunks are allocated whole
 * but only touched as rows arrive, so count what the rows use, not the
 * reservations.  Reads writer-owned fields, hence computed here and
 * handed to readers through s->bytes. */
static size_t
bytes_now(const MutSeg *s)
{
	size_t rows = s->nrows;
	size_t n = sizeof(MutSeg);
	for (int i = 0; i < s->ncols; i++) {
		const MutCol *c = &s->cols[i];
		n += rows * (c->d.mv ? sizeof(uint64_t) : c->width) + rows / 8;
		n += (size_t)c->nelems * c->width;
		if (c->dict)
			n += (size_t)c->dict->count * sizeof(DictEntry) + c->dict->bytes.total +
			     c->dict->nslots * sizeof(uint32_t);
	}
	return n;
}

size_t
mutseg_bytes(const MutSeg *s)
{
	/* readers must not touch the writer's counters (data race) */
	return atomic_load_explicit(&((MutSeg *)s)->bytes, memory_order_relaxed);
}

WbType mutcol_type(const MutCol *c) { return c->d.type; }
int mutcol_is_mv(const MutCol *c) { return c->d.mv; }

const void *
mutcol_data(const MutCol *c, size_t r)
{
	const char *chunk = vec_chunk(&c->data, r >> MUTSEG_CHUNK_SHIFT);
	return chunk + (r & CHUNK_MASK) * (c->d.mv ? sizeof(uint64_t) : c->width);
}

const uint64_t *
mutcol_nulls(const MutCol *c, size_t r)
{
	size_t chunk = r >> MUTSEG_CHUNK_SHIFT;
	/* capacity first: a directory loaded after it is at least that big
	 * (the null vector, unlike the data, may not reach r's chunk yet) */
	size_t cap = atomic_load_explicit(&((MutCol *)c)->nulls.dircap, memory_order_acquire);
	void **dir = atomic_load_explicit(&((MutCol *)c)->nulls.dir, memory_order_acquire);
	if (dir == NULL || chunk >= cap)
		return NULL;
	const uint64_t *w = __atomic_load_n(&dir[chunk], __ATOMIC_ACQUIRE);
	return w ? w + ((r & CHUNK_MASK) >> 6) : NULL;
}

int
mutcol_nulls_load(const MutCol *c, size_t r, size_t n, uint64_t *out)
{
	const uint64_t *w = mutcol_nulls(c, r);
	if (w == NULL || n == 0)
		return 0;
	uint64_t any = 0;
	size_t words = (n + 63) / 64;
	for (size_t k = 0; k < words; k++) {
		uint64_t x = __atomic_load_n(&w[k], __ATOMIC_RELAXED);
		if (k == words - 1 && (n & 63))
			x &= ((uint64_t)1 << (n & 63)) - 1;
		out[k] = x;
		any |= x;
	}
	return any != 0;
}

int
mutcol_is_null(const MutCol *c, size_t r)
{
	const uint64_t *w = mutcol_nulls(c, r & ~(size_t)63);
	if (w == NULL)
		return 0;
	return (int)((__atomic_load_n(w, __ATOMIC_RELAXED) >> (r & 63)) & 1);
}

void
mutcol_mv_range(const MutCol *c, size_t r, uint64_t *start, uint32_t *n)
{
	uint64_t end = *(const uint64_t *)mutcol_data(c, r);
	uint64_t begin = r ? *(const uint64_t *)mutcol_data(c, r - 1) : 0;
	*start = begin;
	*n = (uint32_t)(end - begin);
}

const void *
mutcol_elem(const MutCol *c, uint64_t i)
{
	const char *chunk = vec_chunk(&c->elems, (size_t)(i >> MUTSEG_CHUNK_SHIFT));
	return chunk + (i & CHUNK_MASK) * c->width;
}

uint32_t
mutcol_dict_size(const MutCol *c)
{
	return c->dict ? atomic_load_explicit(&c->dict->published, memory_order_acquire) : 0;
}

const char *
mutcol_dict_get(const MutCol *c, uint32_t id, uint32_t *len)
{
	const DictEntry *e = dict_entry(c->dict, id);
	*len = e->len;
	return e->p;
}

uint32_t
mutcol_dict_find(const MutCol *c, const char *s, uint32_t len)
{
	if (c->dict == NULL)
		return UINT32_MAX;
	return dict_lookup(c->dict, s, len, NULL);
}

static int col_value(const MutCol *c, size_t r, Value *out, Arena *a, int isnull);

static void
scalar_at(const MutCol *c, const void *slot, Value *out)
{
	WbType t = c->d.type;
	out->type = (uint8_t)t;
	out->null = 0;
	out->mv = 0;
	switch (t) {
	case TYPE_INT:
	case TYPE_BOOLEAN: {
		int32_t x;
		memcpy(&x, slot, 4);
		out->u.i = x;
		break;
	}
	case TYPE_LONG:
	case TYPE_TIMESTAMP:
		memcpy(&out->u.i, slot, 8);
		break;
	case TYPE_FLOAT: {
		float x;
		memcpy(&x, slot, 4);
		out->u.d = x;
		break;
	}
	case TYPE_DOUBLE:
		memcpy(&out->u.d, slot, 8);
		break;
	default: {
		uint32_t id, len;
		memcpy(&id, slot, 4);
		out->u.s = mutcol_dict_get(c, id, &len);
		out->n = len;
	}
	}
}

int
mutcol_value(const MutCol *c, size_t r, Value *out, Arena *a)
{
	return col_value(c, r, out, a, mutcol_is_null(c, r));
}

int
mutcol_value_stored(const MutCol *c, size_t r, Value *out, Arena *a)
{
	return col_value(c, r, out, a, 0);
}

static int
col_value(const MutCol *c, size_t r, Value *out, Arena *a, int isnull)
{
	if (!c->d.mv) {
		scalar_at(c, mutcol_data(c, r), out);
		out->null = (uint8_t)isnull;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	out->type = (uint8_t)c->d.type;
	out->mv = 1;
	if (isnull) {
		out->null = 1;
		return 0;
	}
	uint64_t start;
	uint32_t n;
	mutcol_mv_range(c, r, &start, &n);
	Value *arr = arena_alloc(a, sizeof(Value) * (n ? n : 1));
	if (arr == NULL)
		return ERR_NOMEM;
	for (uint32_t k = 0; k < n; k++)
		scalar_at(c, mutcol_elem(c, start + k), &arr[k]);
	out->u.mv = arr;
	out->n = n;
	return 0;
}
