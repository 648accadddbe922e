/*
 * value.c -- formatting and copying of Values, and RowBatch with its WAL
 * encoding.
 *
 * WAL encoding of a batch (little-endian):
 *   u32 nrows, u32 ncols, then per value:
 *     u8 tag: bit0 null, bit1 mv, bits 2..7 type
 *     non-null scalar: 8-byte integer or double, or u32 len + bytes
 *     mv: u32 count, then count scalars of the element type
 * The encoding is only read back by rowbatch_decode, which checks every
 * length (and the row count) against the buffer, so a torn or forged
 * record can never be over-read.
 *
 * Exports: value_format, value_json, value_copy, rowbatch_init,
 * rowbatch_free, rowbatch_reset, rowbatch_add_row, rowbatch_pop_row,
 * rowbatch_encode, rowbatch_decode.
 */
#include "storage/value.h"
#include "base/mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void
scalar_format(const Value *v, Buf *b, int json)
{
	static const char hex[] = "0123456789abcdef";
	if (v->null) {
		buf_puts(b, "null");
		return;
	}
	switch ((WbType)v->type) {
	case TYPE_INT:
	case TYPE_LONG:
	case TYPE_TIMESTAMP:
		buf_i64(b, v->u.i);
		break;
	case TYPE_BOOLEAN:
		buf_puts(b, v->u.i ? "true" : "false");
		break;
	case TYPE_FLOAT:
	case TYPE_DOUBLE:
		if (json) {
			buf_json_double(b, v->u.d);
		} else {
			size_t before = b->len;
			buf_json_double(b, v->u.d);
			/* strip JSON quotes of NaN/Infinity in text form */
			if (b->len > before && b->p[before] == '"') {
				memmove(b->p + before, b->p + before + 1, b->len - before - 2);
				b->len -= 2;
				b->p[b->len] = '\0';
			}
		}
		break;
	case TYPE_BYTES:
		if (json)
			buf_putc(b, '"');
		for (uint32_t i = 0; i < v->n; i++) {
			unsigned char c = (unsigned char)v->u.s[i];
			char h[2] = {hex[c >> 4], hex[c & 15]};
			buf_append(b, h, 2);
		}
		if (json)
			buf_putc(b, '"');
		break;
	case TYPE_STRING:
	case TYPE_JSON:
		if (json)
			buf_json_str(b, v->u.s, v->n);
		else
			buf_append(b, v->u.s, v->n);
		break;
	default:
		buf_puts(b, "null");
	}
}

static void
format_any(const Value *v, Buf *b, int json)
{
	if (v->mv && !v->null) {
		buf_putc(b, '[');
		for (uint32_t i = 0; i < v->n; i++) {
			if (i)
				buf_putc(b, ',');
			scalar_format(&v->u.mv[i], b, json);
		}
		buf_putc(b, ']');
		return;
	}
	scalar_format(v, b, json);
}

void value_format(const Value *v, Buf *b) { format_any(v, b, 0); }
void value_json(const Value *v, Buf *b) { format_any(v, b, 1); }

int
value_copy(Value *dst, const Value *src, Arena *a)
{
	*dst = *src;
	if (src->null)
		return 0;
	if (src->mv) {
		Value *arr = arena_alloc(a, sizeof(Value) * (src->n ? src->n : 1));
		if (arr == NULL)
			return ERR_NOMEM;
		for (uint32_t i = 0; i < src->n; i++)
			if (value_copy(&arr[i], &src->u.mv[i], a) != 0)
				return ERR_NOMEM;
		dst->u.mv = arr;
	} else if (type_is_var((WbType)src->type)) {
		char *s = arena_alloc(a, src->n + 1);
		if (s == NULL)
			return ERR_NOMEM;
		memcpy(s, src->u.s, src->n);
		s[src->n] = '\0';
		dst->u.s = s;
	}
	return 0;
}

void
rowbatch_init(RowBatch *b, int ncols)
{
	b->ncols = ncols;
	b->nrows = b->cap = 0;
	b->vals = NULL;
	arena_init(&b->arena, 64 * 1024);
}

void
rowbatch_free(RowBatch *b)
{
	mem_free(b->vals);
	arena_free(&b->arena);
	b->vals = NULL;
	b->nrows = b->cap = 0;
}

void
rowbatch_reset(RowBatch *b)
{
	b->nrows = 0;
	arena_reset(&b->arena);
}

Value *
rowbatch_add_row(RowBatch *b)
{
	if (b->nrows == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		Value *nv = mem_realloc(b->vals, cap * (size_t)b->ncols * sizeof(Value));
		if (nv == NULL)
			return NULL;
		b->vals = nv;
		b->cap = cap;
	}
	Value *row = b->vals + b->nrows * (size_t)b->ncols;
	memset(row, 0, sizeof(Value) * (size_t)b->ncols);
	for (int i = 0; i < b->ncols; i++)
		row[i].null = 1;
	b->nrows++;
	return row;
}

void
rowbatch_pop_row(RowBatch *b)
{
	if (b->nrows > 0)
		b->nrows--;
}

static void
put_u32(Buf *b, uint32_t v)
{
	buf_append(b, &v, 4);
}

static void
encode_scalar(Buf *b, const Value *v)
{
	if (type_is_var((WbType)v->type)) {
		put_u32(b, v->n);
		buf_append(b, v->u.s, v->n);
	} else {
		buf_append(b, &v->u, 8);
	}
}

void
rowbatch_encode(const RowBatch *b, Buf *out)
{
	put_u32(out, (uint32_t)b->nrows);
	put_u32(out, (uint32_t)b->ncols);
	size_t n = b->nrows * (size_t)b->ncols;
	for (size_t i = 0; i < n; i++) {
		const Value *v = &b->vals[i];
		uint8_t tag = (uint8_t)((v->null ? 1 : 0) | (v->mv ? 2 : 0) | (v->type << 2));
		buf_putc(out, (char)tag);
		if (v->null)
			continue;
		if (v->mv) {
			put_u32(out, v->n);
			for (uint32_t k = 0; k < v->n; k++)
				encode_scalar(out, &v->u.mv[k]);
		} else {
			encode_scalar(out, v);
		}
	}
}

typedef struct Reader {
	const char *p, *end;
} Reader;

static int
rd(Reader *r, void *dst, size_t n)
{
	if ((size_t)(r->end - r->p) < n)
		return -1;
	memcpy(dst, r->p, n);
	r->p += n;
	return 0;
}

static int
decode_scalar(Reader *r, Value *v, WbType t, Arena *a)
{
	v->type = (uint8_t)t;
	if (type_is_var(t)) {
		uint32_t n;
		if (rd(r, &n, 4) != 0 || (size_t)(r->end - r->p) < n)
			return -1;
		char *s = arena_strndup(a, r->p, n);
		if (s == NULL)
			return -2;
		r->p += n;
		v->u.s = s;
		v->n = n;
		return 0;
	}
	return rd(r, &v->u, 8);
}

int
rowbatch_decode(RowBatch *b, const char *data, size_t len, Err *e)
{
	Reader r = {data, data + len};
	uint32_t nrows, ncols;
	if (rd(&r, &nrows, 4) != 0 || rd(&r, &ncols, 4) != 0)
		return err_set(e, ERR_CORRUPT, "row batch header truncated");
	if ((int)ncols != b->ncols)
		return err_set(e, ERR_CORRUPT, "row batch has %u columns, table has %d",
			       ncols, b->ncols);
	/* every value takes at least its tag byte: a row count the record
	 * cannot hold is refused before any row is added */
	if (ncols > 0 && nrows > (size_t)(r.end - r.p) / ncols)
		return err_set(e, ERR_CORRUPT, "row batch claims %u rows in %zu bytes", nrows,
			       (size_t)(r.end - r.p));
	for (uint32_t i = 0; i < nrows; i++) {
		Value *row = rowbatch_add_row(b);
		if (row == NULL)
			return err_set(e, ERR_NOMEM, "decoding row batch");
		for (uint32_t c = 0; c < ncols; c++) {
			uint8_t tag;
			if (rd(&r, &tag, 1) != 0)
				goto corrupt;
			Value *v = &row[c];
			WbType t = (WbType)(tag >> 2);
			if (t >= TYPE_COUNT)
				goto corrupt;
			v->type = (uint8_t)t;
			v->null = tag & 1;
			v->mv = (tag >> 1) & 1;
			if (v->null)
				continue;
			if (v->mv) {
				uint32_t n;
				if (rd(&r, &n, 4) != 0 || n > (size_t)(r.end - r.p))
					goto corrupt;
				Value *arr = arena_calloc(&b->arena, sizeof(Value) * (n ? n : 1));
				if (arr == NULL)
					return err_set(e, ERR_NOMEM, "decoding row batch");
				for (uint32_t k = 0; k < n; k++)
					if (decode_scalar(&r, &arr[k], t, &b->arena) != 0)
						goto corrupt;
				v->u.mv = arr;
				v->n = n;
			} else if (decode_scalar(&r, v, t, &b->arena) != 0) {
				goto corrupt;
			}
		}
	}
	if (r.p != r.end)
		goto corrupt;
	return 0;
corrupt:
	return err_set(e, ERR_CORRUPT, "row batch record is malformed at byte %zu",
		       (size_t)(r.p - data));
}
