/*
 * jsonrec.h -- schema-directed decoder of one NDJSON record (a JSON
 * object) into one RowBatch row, in a single pass over its bytes.
 *
 * A JsonRec is built once per schema (column-name hash table, key-order
 * cache, scratch buffers) and reused for every record of a stream; it
 * allocates nothing per record once its scratch buffers have grown.  It
 * accepts and rejects exactly what cJSON 1.7 accepts and rejects, with
 * the same error byte offsets, except where documented in jsonrec.c.
 *
 * Return values of jsonrec_decode and jsonrec_decode_cjson: 0 with one
 * row appended to out; ERR_NOMEM (abort the stream); or another negative
 * ERR_* code for a bad record, with no row appended, e->msg set ("invalid
 * JSON at byte 7", "JSON value is not an object", "column 'x': expected
 * INT, got \"abc\"") and *col set to the column at fault or -1.
 */
#ifndef WB_JSONREC_H
#define WB_JSONREC_H

#include <stddef.h>

#include "base/err.h"
#include "storage/value.h"
#include "table/schema.h"

/* Deepest nesting of arrays and objects (the record's object counts),
 * as cJSON's CJSON_NESTING_LIMIT. */
#define JSONREC_MAX_DEPTH 1000

typedef struct JsonRec JsonRec;

/* s is borrowed and must outlive the JsonRec.  NULL with e set on OOM. */
JsonRec *jsonrec_create(const Schema *s, Err *e);
void jsonrec_free(JsonRec *j);
/* Index of the column named name[0..len) (exact, bytes), or -1. */
int jsonrec_lookup(const JsonRec *j, const char *name, size_t len);
/* Decodes rec[0..len) (borrowed; the record's terminator excluded) into a
 * new row of out; strings go to out's arena. */
int jsonrec_decode(JsonRec *j, const char *rec, size_t len, RowBatch *out, int *col, Err *e);
/* The same through cJSON's tree and convert_json: the decoder used before
 * jsonrec, kept as the reference for differential tests and benchmarks. */
int jsonrec_decode_cjson(JsonRec *j, const char *rec, size_t len, RowBatch *out, int *col,
			 Err *e);

#endif
