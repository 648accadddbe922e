/*
 * decoder.h -- streaming decoder of NDJSON and CSV bodies into RowBatch
 * rows in schema column order.
 *
 * Bytes arrive in chunks split anywhere (inside a record, inside a UTF-8
 * sequence).  decoder_feed() appends every complete good record of the
 * chunk to `out` and reports every bad one through `reject`; the tail of
 * an incomplete record is kept until the next feed.  decoder_finish()
 * decodes the last record (no final newline needed).  The caller drains
 * `out` between feeds, so memory stays bounded by the chunk size plus the
 * longest record (max_record).
 *
 * Return values: 0, or ERR_NOMEM (the stream must be aborted).  Bad input
 * is never an error of these functions: it goes to `reject`.
 */
#ifndef WB_DECODER_H
#define WB_DECODER_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "storage/value.h"
#include "ingest/xform.h"
#include "table/schema.h"
#include "table/tblconfig.h"

typedef enum DecodeFormat {
	DECODE_NDJSON,
	DECODE_CSV
} DecodeFormat;

typedef struct DecodeOpts {
	char csv_delim;		/* field delimiter, default ',' */
	char mv_delim;		/* multi-value delimiter in CSV, default ';' */
	int csv_header;		/* 1 (default): the first CSV record names the
				 * columns; with `columns` set it is skipped */
	int ncolumns;		/* > 0: CSV column names given by the caller */
	const char *const *columns;	/* borrowed for the decoder's life */
	size_t max_record;	/* bytes, default 16 MiB */
	/* The table's config (borrowed for the decoder's life): when it has
	 * ingestion transforms, a filter or a complexTypeConfig, records go
	 * through xform.h (compiled with `compiler`, used during
	 * decoder_create only); otherwise (or NULL) straight through
	 * jsonrec / convert_text. */
	const TableConfig *config;
	const XformCompiler *compiler;
} DecodeOpts;

/* Called for each bad record: line is the 1-based line of the body where
 * the record starts; column is the column at fault or NULL; reason is a
 * message; raw/raw_len the record's bytes (at most max_record of them).
 * Every pointer is borrowed for the call only. */
typedef void (*DecodeRejectFn)(void *ctx, uint64_t line, const char *column,
			       const char *reason, const char *raw, size_t raw_len);

typedef struct DecodeStats {
	uint64_t bytes;		/* bytes consumed so far */
	uint64_t lines;		/* lines seen (newlines, plus a last partial) */
	uint64_t records;	/* non-empty records seen (CSV header excluded) */
	uint64_t accepted;
	uint64_t rejected;
	uint64_t filtered;	/* rows dropped by filterConfig */
} DecodeStats;

typedef struct Decoder Decoder;

/* Fills o with the defaults. */
void decoder_opts_init(DecodeOpts *o);
/* s (borrowed, must outlive the decoder) gives the columns; o may be NULL
 * for defaults.  Returns NULL with e set (ERR_NOMEM, ERR_INVALID, or
 * ERR_BAD_CONFIG / ERR_UNSUPPORTED from xform_create). */
Decoder *decoder_create(DecodeFormat fmt, const Schema *s, const DecodeOpts *o, Err *e);
/* Decodes data[0..n) (borrowed); rows go to out (ncols = schema's). */
int decoder_feed(Decoder *d, const char *data, size_t n, RowBatch *out,
		 DecodeRejectFn reject, void *ctx);
/* Ends the body: decodes a last record without newline, rejects an
 * unterminated quoted CSV field. */
int decoder_finish(Decoder *d, RowBatch *out, DecodeRejectFn reject, void *ctx);
void decoder_stats(const Decoder *d, DecodeStats *st);
void decoder_free(Decoder *d);

#endif
