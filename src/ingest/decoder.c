/*
 * decoder.c -- streaming NDJSON and CSV decoder for push ingest.
 *
 * How it works: decoder_feed() scans each chunk for record ends ('\n'; for
 * CSV only outside double quotes, with the quote state carried across
 * chunks).  A record that lies wholly inside the chunk is decoded in place;
 * the incomplete tail of a chunk is appended to `pend` and completed by
 * the next feed, so a split at any byte (inside a UTF-8 sequence too)
 * decodes the same as one chunk.  Per record: a UTF-8 BOM at the start of
 * the body and a trailing '\r' are dropped, an empty (or, for NDJSON,
 * blank) line is skipped silently, then
 *   NDJSON: jsonrec (a schema-directed single-pass JSON decoder, built
 *     once per decoder) matches the object's members to columns by exact
 *     name (unknown members are validated and ignored, a repeated
 *     member's last value wins) and converts each value straight into the
 *     row (a missing column becomes null).
 *   CSV: fields are split at the delimiter with RFC 4180 quoting ("" is a
 *     quote inside a quoted field; a quoted field may span lines); the
 *     header (or the given column list) maps CSV columns to schema
 *     columns; unknown CSV columns are ignored, schema columns absent from
 *     the CSV are null; each field is converted by convert_text.
 * When the table has ingestion transforms (DecodeOpts.config), each
 * NDJSON record goes through xform_record instead of jsonrec, and each
 * CSV record through xform_record_text (fields by header name, as text);
 * rows dropped by the filter are counted in DecodeStats.filtered.
 * A record that fails anywhere is reported to the caller's reject callback
 * with its line, the column at fault and the reason, and its row is
 * popped; decoding goes on.  A record longer than max_record is rejected
 * as soon as that is known and the rest of it is skipped without being
 * buffered.
 *
 * States: READING (normal) -> SKIPPING (inside an oversize record, until
 * its end) -> READING; decoder_finish() ends either state.
 *
 * Memory: the Decoder owns pend (at most max_record bytes), the CSV field
 * spans and unquoting scratch, and the JsonRec; all are reused, so the
 * steady state allocates nothing per row.  Row strings go into the
 * caller's RowBatch arena.
 *
 * Failure: ERR_NOMEM only (the caller aborts the stream); bad input never
 * fails a call.
 *
 * Exports: decoder_opts_init, decoder_create, decoder_feed,
 * decoder_finish, decoder_stats, decoder_free.
 */
#include "ingest/decoder.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/mem.h"
#include "ingest/convert.h"
#include "ingest/jsonrec.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_MAX_RECORD ((size_t)16 << 20)

typedef struct Span {
	const char *p;
	size_t n;
	int quoted;
} Span;

struct Decoder {
	DecodeFormat fmt;
	const Schema *schema;
	DecodeOpts o;

	int *htab;		/* field index + 1, 0 = empty */
	uint32_t hmask;

	Buf pend;		/* incomplete record carried to the next feed */
	int in_quote;		/* CSV: scanner is inside a quoted field */
	int skipping;		/* inside an oversize record */
	uint64_t nl;		/* newlines consumed before the current record */
	uint64_t rec_nl;	/* newlines inside the current record (CSV) */
	int started;		/* a record was seen (BOM check only before) */

	int header_pending;	/* CSV: the next non-empty record is a header */
	int ncsv;		/* CSV columns; -1 until known */
	int *csvmap;		/* CSV column -> schema column or -1 */
	int *present;		/* schema column -> is in the CSV */
	Span *spans;
	int spans_cap;
	Buf scratch;		/* unquoted CSV fields */

	JsonRec *json;		/* NDJSON: the record decoder */
	Xform *xf;		/* transforms, or NULL (the fast path) */
	char **csvnames;	/* CSV with xf: the header names */
	int ncsvnames;
	const char **csvvals;
	size_t *csvlens;
	Err err;
	DecodeStats st;
	/* an upsert table: rows need every primary-key column */
	int npk;
	int pk[16];
};

void
decoder_opts_init(DecodeOpts *o)
{
	memset(o, 0, sizeof *o);
	o->csv_delim = ',';
	o->mv_delim = ';';
	o->csv_header = 1;
	o->max_record = DEFAULT_MAX_RECORD;
}

static int
lookup(const Decoder *d, const char *name, size_t len)
{
	uint32_t h = (uint32_t)hash_bytes(name, len) & d->hmask;
	for (;;) {
		int v = d->htab[h];
		if (v == 0)
			return -1;
		const char *fn = d->schema->fields[v - 1].name;
		if (strncmp(fn, name, len) == 0 && fn[len] == '\0')
			return v - 1;
		h = (h + 1) & d->hmask;
	}
}

static int
map_columns(Decoder *d, int n, const char *const *names, const size_t *lens)
{
	int nf = d->schema->nfields;
	mem_free(d->csvmap);
	d->csvmap = mem_alloc(sizeof(int) * (size_t)(n ? n : 1));
	if (d->csvmap == NULL)
		return ERR_NOMEM;
	memset(d->present, 0, sizeof(int) * (size_t)nf);
	if (d->xf != NULL) {
		for (int i = 0; i < d->ncsvnames; i++)
			mem_free(d->csvnames[i]);
		mem_free(d->csvnames);
		mem_free(d->csvvals);
		mem_free(d->csvlens);
		d->ncsvnames = 0;
		d->csvnames = mem_calloc((size_t)(n ? n : 1), sizeof(char *));
		d->csvvals = mem_calloc((size_t)(n ? n : 1), sizeof(char *));
		d->csvlens = mem_calloc((size_t)(n ? n : 1), sizeof(size_t));
		if (d->csvnames == NULL || d->csvvals == NULL || d->csvlens == NULL)
			return ERR_NOMEM;
		for (int j = 0; j < n; j++) {
			size_t len = lens ? lens[j] : strlen(names[j]);
			d->csvnames[j] = mem_alloc(len + 1);
			if (d->csvnames[j] == NULL)
				return ERR_NOMEM;
			d->ncsvnames = j + 1;
			memcpy(d->csvnames[j], names[j], len);
			d->csvnames[j][len] = '\0';
		}
	}
	for (int j = 0; j < n; j++) {
		size_t len = lens ? lens[j] : strlen(names[j]);
		int idx = lookup(d, names[j], len);
		if (idx >= 0 && d->present[idx])
			idx = -1;	/* a repeated column: the first wins */
		d->csvmap[j] = idx;
		if (idx >= 0)
			d->present[idx] = 1;
	}
	d->ncsv = n;
	return 0;
}

Decoder *
decoder_create(DecodeFormat fmt, const Schema *s, const DecodeOpts *o, Err *e)
{
	if (s == NULL || s->nfields <= 0) {
		err_set(e, ERR_INVALID, "decoder needs a schema with columns");
		return NULL;
	}
	Decoder *d = mem_calloc(1, sizeof *d);
	if (d == NULL)
		goto oom;
	d->fmt = fmt;
	d->schema = s;
	if (o)
		d->o = *o;
	else
		decoder_opts_init(&d->o);
	if (d->o.max_record == 0)
		d->o.max_record = DEFAULT_MAX_RECORD;
	const TableConfig *tc = d->o.config;
	if (tc && tc->upsert_mode && strcmp(tc->upsert_mode, "NONE") != 0 && s->npk <= 16) {
		for (int k = 0; k < s->npk; k++) {
			int c = schema_find(s, s->pk[k]);
			if (c >= 0)
				d->pk[d->npk++] = c;
		}
	}
	if (d->o.csv_delim == 0)
		d->o.csv_delim = ',';
	if (d->o.mv_delim == 0)
		d->o.mv_delim = ';';
	if (fmt == DECODE_CSV && (d->o.csv_delim == '"' || d->o.csv_delim == '\n' ||
				  d->o.csv_delim == '\r')) {
		err_set(e, ERR_INVALID, "invalid CSV delimiter");
		mem_free(d);
		return NULL;
	}
	buf_init(&d->pend);
	buf_init(&d->scratch);
	d->ncsv = -1;

	int nf = s->nfields;
	uint32_t size = 16;
	while (size < (uint32_t)nf * 2)
		size *= 2;
	d->htab = mem_calloc(size, sizeof(int));
	d->present = mem_calloc((size_t)nf, sizeof(int));
	if (d->htab == NULL || d->present == NULL)
		goto oom;
	if (fmt == DECODE_NDJSON) {
		d->json = jsonrec_create(s, e);
		if (d->json == NULL)
			goto oom;
	}
	if (d->o.config != NULL) {
		int rc = xform_create(s, d->o.config, d->o.compiler, &d->xf, e);
		if (rc != 0) {
			decoder_free(d);
			return NULL;
		}
		if (!xform_active(d->xf)) {
			xform_free(d->xf);
			d->xf = NULL;
		}
	}
	d->hmask = size - 1;
	for (int i = 0; i < nf; i++) {
		const char *name = s->fields[i].name;
		uint32_t h = (uint32_t)hash_bytes(name, strlen(name)) & d->hmask;
		while (d->htab[h] != 0) {
			if (strcmp(s->fields[d->htab[h] - 1].name, name) == 0)
				break;	/* duplicate name: the first wins */
			h = (h + 1) & d->hmask;
		}
		if (d->htab[h] == 0)
			d->htab[h] = i + 1;
	}
	if (fmt == DECODE_CSV) {
		if (d->o.ncolumns > 0 && d->o.columns != NULL) {
			if (map_columns(d, d->o.ncolumns, d->o.columns, NULL) != 0)
				goto oom;
			d->header_pending = d->o.csv_header;
		} else if (d->o.csv_header) {
			d->header_pending = 1;
		} else {
			const char **names = mem_alloc(sizeof(char *) * (size_t)nf);
			if (names == NULL)
				goto oom;
			for (int i = 0; i < nf; i++)
				names[i] = s->fields[i].name;
			int rc = map_columns(d, nf, names, NULL);
			mem_free(names);
			if (rc != 0)
				goto oom;
		}
	}
	return d;
oom:
	decoder_free(d);
	err_set(e, ERR_NOMEM, "creating decoder");
	return NULL;
}

void
decoder_free(Decoder *d)
{
	if (d == NULL)
		return;
	buf_free(&d->pend);
	buf_free(&d->scratch);
	mem_free(d->htab);
	jsonrec_free(d->json);
	xform_free(d->xf);
	for (int i = 0; i < d->ncsvnames; i++)
		mem_free(d->csvnames[i]);
	mem_free(d->csvnames);
	mem_free(d->csvvals);
	mem_free(d->csvlens);
	mem_free(d->present);
	mem_free(d->csvmap);
	mem_free(d->spans);
	mem_free(d);
}

void
decoder_stats(const Decoder *d, DecodeStats *st)
{
	*st = d->st;
}

static void
reject_rec(Decoder *d, DecodeRejectFn reject, void *ctx, const char *column,
	   const char *reason, const char *raw, size_t len)
{
	d->st.rejected++;
	if (reject)
		reject(ctx, d->nl + 1, column, reason, raw, len);
}

static int
decode_json(Decoder *d, const char *rec, size_t len, RowBatch *out, DecodeRejectFn reject,
	    void *ctx)
{
	int col, filtered = 0;
	int rc = d->xf ? xform_record(d->xf, rec, len, out, &col, &filtered, &d->err)
		       : jsonrec_decode(d->json, rec, len, out, &col, &d->err);
	if (rc == 0) {
		d->st.accepted++;
		d->st.filtered += (uint64_t)filtered;
		return 0;
	}
	if (rc == ERR_NOMEM)
		return rc;
	reject_rec(d, reject, ctx, col >= 0 ? d->schema->fields[col].name : NULL, d->err.msg,
		   rec, len);
	err_clear(&d->err);
	return 0;
}

/* Splits a CSV record into d->spans; returns the field count, or -1 with
 * msg set when the record is malformed, or ERR_NOMEM. */
static int
split_csv(Decoder *d, const char *rec, size_t len, char *msg, size_t msgcap)
{
	char delim = d->o.csv_delim;
	buf_reset(&d->scratch);
	if (buf_reserve(&d->scratch, len + 1) != 0)
		return ERR_NOMEM;
	char *sp = d->scratch.p;
	int nf = 0;
	size_t i = 0;
	for (;;) {
		if (nf == d->spans_cap) {
			int cap = d->spans_cap ? d->spans_cap * 2 : 32;
			Span *ns = mem_realloc(d->spans, sizeof(Span) * (size_t)cap);
			if (ns == NULL)
				return ERR_NOMEM;
			d->spans = ns;
			d->spans_cap = cap;
		}
		Span *f = &d->spans[nf++];
		if (i < len && rec[i] == '"') {
			char *start = sp;
			i++;
			for (;;) {
				if (i >= len) {
					snprintf(msg, msgcap, "unterminated quoted field %d", nf);
					return -1;
				}
				if (rec[i] == '"') {
					if (i + 1 < len && rec[i + 1] == '"') {
						*sp++ = '"';
						i += 2;
						continue;
					}
					i++;
					break;
				}
				*sp++ = rec[i++];
			}
			f->p = start;
			f->n = (size_t)(sp - start);
			f->quoted = 1;
			if (i < len && rec[i] != delim) {
				snprintf(msg, msgcap,
					 "unexpected character after the closing quote of field %d", nf);
				return -1;
			}
		} else {
			const char *start = rec + i;
			const char *q = memchr(start, delim, len - i);
			size_t flen = q ? (size_t)(q - start) : len - i;
			f->p = start;
			f->n = flen;
			f->quoted = 0;
			i += flen;
		}
		if (i >= len)
			return nf;
		i++;	/* the delimiter */
		if (i == len) {
			/* a trailing delimiter: one more, empty field */
			if (nf == d->spans_cap) {
				int cap = d->spans_cap * 2;
				Span *ns = mem_realloc(d->spans, sizeof(Span) * (size_t)cap);
				if (ns == NULL)
					return ERR_NOMEM;
				d->spans = ns;
				d->spans_cap = cap;
			}
			d->spans[nf++] = (Span){rec + len, 0, 0};
			return nf;
		}
	}
}

/* A CSV record through the transforms: fields by header name, as text
 * (quoted fields unquoted into scratch by split_csv). */
static int
csv_xform(Decoder *d, const char *rec, size_t len, RowBatch *out, DecodeRejectFn reject, void *ctx)
{
	for (int j = 0; j < d->ncsv; j++) {
		const Span *sp = &d->spans[j];
		d->csvvals[j] = (sp->n == 0 && !sp->quoted) ? NULL : sp->p;
		d->csvlens[j] = sp->n;
	}
	int col, filtered = 0;
	int rc = xform_record_text(d->xf, d->ncsv, (const char *const *)d->csvnames, d->csvvals,
				   d->csvlens, out, &col, &filtered, &d->err);
	if (rc == 0) {
		d->st.accepted++;
		d->st.filtered += (uint64_t)filtered;
		return 0;
	}
	if (rc == ERR_NOMEM)
		return rc;
	reject_rec(d, reject, ctx, col >= 0 ? d->schema->fields[col].name : NULL, d->err.msg, rec, len);
	err_clear(&d->err);
	return 0;
}

static int
decode_csv(Decoder *d, const char *rec, size_t len, RowBatch *out, DecodeRejectFn reject,
	   void *ctx)
{
	char msg[160];
	int nf = split_csv(d, rec, len, msg, sizeof msg);
	if (nf == ERR_NOMEM)
		return nf;
	if (nf < 0) {
		reject_rec(d, reject, ctx, NULL, msg, rec, len);
		return 0;
	}
	if (d->header_pending) {
		d->header_pending = 0;
		d->st.records--;	/* the header is not a record */
		if (d->ncsv >= 0)
			return 0;	/* columns given: skip the header */
		const char **names = mem_alloc(sizeof(char *) * (size_t)nf);
		size_t *lens = mem_alloc(sizeof(size_t) * (size_t)nf);
		int rc = ERR_NOMEM;
		if (names && lens) {
			for (int j = 0; j < nf; j++) {
				const char *p = d->spans[j].p;
				size_t n = d->spans[j].n;
				while (n > 0 && (*p == ' ' || *p == '\t')) {
					p++;
					n--;
				}
				while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
					n--;
				names[j] = p;
				lens[j] = n;
			}
			rc = map_columns(d, nf, names, lens);
		}
		mem_free(names);
		mem_free(lens);
		return rc;
	}
	/* Fields past the header have no name and are ignored, as Pinot's
	 * CSV reader does (its own test data ends rows with ", # note");
	 * missing fields are an error. */
	if (nf < d->ncsv) {
		snprintf(msg, sizeof msg, "expected %d fields, got %d", d->ncsv, nf);
		reject_rec(d, reject, ctx, NULL, msg, rec, len);
		return 0;
	}
	const Schema *s = d->schema;
	if (d->xf != NULL)
		return csv_xform(d, rec, len, out, reject, ctx);
	Value *row = rowbatch_add_row(out);
	if (row == NULL)
		return ERR_NOMEM;
	int rc = 0;
	const Field *bad = NULL;
	for (int j = 0; j < d->ncsv && rc == 0; j++) {
		int idx = d->csvmap[j];
		if (idx < 0)
			continue;
		const Span *sp = &d->spans[j];
		rc = convert_text(&s->fields[idx], sp->p, sp->n, sp->quoted ? CONVERT_QUOTED : 0,
				  d->o.mv_delim, &out->arena, &row[idx], &d->err);
		bad = &s->fields[idx];
	}
	for (int i = 0; i < s->nfields && rc == 0; i++) {
		if (!d->present[i]) {
			rc = convert_text(&s->fields[i], "", 0, 0, d->o.mv_delim, &out->arena,
					  &row[i], &d->err);
			bad = &s->fields[i];
		}
	}
	if (rc != 0) {
		rowbatch_pop_row(out);
		if (rc == ERR_NOMEM)
			return rc;
		reject_rec(d, reject, ctx, bad->name, d->err.msg, rec, len);
		err_clear(&d->err);
		return 0;
	}
	d->st.accepted++;
	return 0;
}

/* An upsert table's rows [before, nrows) of out (one record's) must have
 * every primary-key column: else they are taken back and the record is
 * rejected. */
static void
key_check(Decoder *d, RowBatch *out, size_t before, DecodeRejectFn reject, void *ctx,
	  const char *rec, size_t len)
{
	for (size_t r = before; r < out->nrows; r++) {
		const Value *row = rowbatch_row(out, r);
		for (int k = 0; k < d->npk; k++) {
			if (!row[d->pk[k]].null)
				continue;
			const char *name = d->schema->fields[d->pk[k]].name;
			char msg[200];
			snprintf(msg, sizeof msg,
				 "primary key column '%.64s' is NULL: an upsert table needs every key column",
				 name);
			while (out->nrows > before)
				rowbatch_pop_row(out);
			d->st.accepted--;
			reject_rec(d, reject, ctx, name, msg, rec, len);
			return;
		}
	}
}

static int
record_one(Decoder *d, const char *rec, size_t len, RowBatch *out, DecodeRejectFn reject, void *ctx);

/* Decodes one whole record (terminator excluded). */
static int
record(Decoder *d, const char *rec, size_t len, RowBatch *out, DecodeRejectFn reject, void *ctx)
{
	size_t before = out->nrows;
	int rc = record_one(d, rec, len, out, reject, ctx);
	if (rc == 0 && d->npk > 0 && out->nrows > before)
		key_check(d, out, before, reject, ctx, rec, len);
	return rc;
}

static int
record_one(Decoder *d, const char *rec, size_t len, RowBatch *out, DecodeRejectFn reject, void *ctx)
{
	if (!d->started) {
		d->started = 1;
		if (len >= 3 && memcmp(rec, "\xEF\xBB\xBF", 3) == 0) {
			rec += 3;
			len -= 3;
		}
	}
	if (len > 0 && rec[len - 1] == '\r')
		len--;
	if (d->fmt == DECODE_NDJSON) {
		size_t i = 0;
		while (i < len && (rec[i] == ' ' || rec[i] == '\t' || rec[i] == '\r'))
			i++;
		if (i == len)
			return 0;
		d->st.records++;
		return decode_json(d, rec, len, out, reject, ctx);
	}
	if (len == 0)
		return 0;
	d->st.records++;
	return decode_csv(d, rec, len, out, reject, ctx);
}

/* Index of the record end ('\n') in p[0..n), or n if none; carries the
 * CSV quote state and counts newlines inside quotes in d->rec_nl. */
static size_t
scan(Decoder *d, const char *p, size_t n)
{
	if (d->fmt == DECODE_NDJSON) {
		const char *q = memchr(p, '\n', n);
		return q ? (size_t)(q - p) : n;
	}
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '"')
			d->in_quote = !d->in_quote;
		else if (c == '\n') {
			if (!d->in_quote)
				return i;
			d->rec_nl++;
		}
	}
	return n;
}

static void
oversize(Decoder *d, DecodeRejectFn reject, void *ctx, const char *raw, size_t len)
{
	char msg[96];
	snprintf(msg, sizeof msg, "record longer than %zu bytes", d->o.max_record);
	d->st.records++;
	reject_rec(d, reject, ctx, NULL, msg, raw, len < d->o.max_record ? len : d->o.max_record);
}

int
decoder_feed(Decoder *d, const char *data, size_t n, RowBatch *out, DecodeRejectFn reject,
	     void *ctx)
{
	size_t max = d->o.max_record;
	d->st.bytes += n;
	while (n > 0) {
		size_t i = scan(d, data, n);
		int found = i < n;
		if (d->skipping) {
			if (!found)
				return 0;
			d->skipping = 0;
		} else if (!found) {
			if (d->pend.len + n > max) {
				size_t take = max > d->pend.len ? max - d->pend.len : 0;
				buf_append(&d->pend, data, take);
				if (d->pend.oom)
					return ERR_NOMEM;
				d->started = 1;
				oversize(d, reject, ctx, d->pend.p, d->pend.len);
				buf_reset(&d->pend);
				d->skipping = 1;
				return 0;
			}
			buf_append(&d->pend, data, n);
			return d->pend.oom ? ERR_NOMEM : 0;
		} else if (d->pend.len > 0) {
			if (d->pend.len + i > max) {
				d->started = 1;
				oversize(d, reject, ctx, d->pend.p, d->pend.len);
			} else {
				buf_append(&d->pend, data, i);
				if (d->pend.oom)
					return ERR_NOMEM;
				int rc = record(d, d->pend.p, d->pend.len, out, reject, ctx);
				if (rc != 0)
					return rc;
			}
			buf_reset(&d->pend);
		} else if (i > max) {
			d->started = 1;
			oversize(d, reject, ctx, data, i);
		} else {
			int rc = record(d, data, i, out, reject, ctx);
			if (rc != 0)
				return rc;
		}
		d->nl += 1 + d->rec_nl;
		d->rec_nl = 0;
		d->st.lines = d->nl;
		data += i + 1;
		n -= i + 1;
	}
	return 0;
}

int
decoder_finish(Decoder *d, RowBatch *out, DecodeRejectFn reject, void *ctx)
{
	int rc = 0;
	if (d->skipping) {
		d->skipping = 0;
		d->nl += 1 + d->rec_nl;
	} else if (d->pend.len > 0) {
		if (d->fmt == DECODE_CSV && d->in_quote) {
			d->st.records++;
			reject_rec(d, reject, ctx, NULL, "unterminated quoted field at end of body",
				   d->pend.p, d->pend.len);
		} else {
			rc = record(d, d->pend.p, d->pend.len, out, reject, ctx);
		}
		d->nl += 1 + d->rec_nl;
	}
	buf_reset(&d->pend);
	d->rec_nl = 0;
	d->in_quote = 0;
	d->st.lines = d->nl;
	return rc;
}
