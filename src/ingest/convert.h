/*
 * convert.h -- type checking and conversion of one field value (a cJSON
 * node or a text field) into a Value of the column's type.
 *
 * Both functions write *out (type, null, mv, u, n).  Strings, BYTES and
 * multi-value arrays are copied into arena a (the RowBatch's), so *out
 * lives until that arena is reset.  A missing value, JSON null, an empty
 * text field (quoted "" for STRING excepted) and an empty multi-value
 * array give null = 1 with the column's default null value in u.
 *
 * Errors: ERR_TYPE (wrong type, unparsable text, invalid UTF-8) or
 * ERR_OVERFLOW (out of range) with a message naming the column, e.g.
 * `column 'ArrDelay': expected INT, got "abc"`; ERR_NOMEM when the arena
 * cannot grow.  Bad input never asserts.
 */
#ifndef WB_CONVERT_H
#define WB_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/arena.h"
#include "base/err.h"
#include "storage/value.h"
#include "table/schema.h"

/* Flags of convert_text. */
#define CONVERT_QUOTED 1	/* the CSV field was quoted ("" is an empty string) */

/* node: borrowed; NULL means the field is missing from the record. */
int convert_json(const Field *f, const cJSON *node, Arena *a, Value *out, Err *e);
/* s: n bytes of text (borrowed); a multi-value field is split at mv_delim. */
int convert_text(const Field *f, const char *s, size_t n, int flags, char mv_delim,
		 Arena *a, Value *out, Err *e);

/* Helpers also used by other decoders (each 0 or -1, no message): */
/* 1 if s[0..n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int convert_utf8_valid(const char *s, size_t n);
/* Parses ISO-8601 ("2014-01-01T10:20:30.5Z", offsets +hh:mm, date only)
 * or "yyyy-MM-dd HH:mm:ss[.SSS]" (UTC) into epoch milliseconds. */
int convert_parse_timestamp(const char *s, size_t n, int64_t *ms);

#endif
