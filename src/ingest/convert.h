/*
 * convert.h -- type checking and conversion of one field value (a cJSON
 * node, a JSON value parsed by jsonrec, or a text field) into a Value of
 * the column's type.
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
#include "base/buf.h"
#include "base/err.h"
#include "storage/value.h"
#include "table/schema.h"

/* Flags of convert_text. */
#define CONVERT_QUOTED 1	/* the CSV field was quoted ("" is an empty string) */

/* node: borrowed; NULL means the field is missing from the record. */
int convert_json(const Field *f, const cJSON *node, Arena *a, Value *out, Err *e);
/* Kinds of a non-null JSON value given to convert_jvalue. */
typedef enum ConvertJKind {
	CONVERT_JFALSE,
	CONVERT_JTRUE,
	CONVERT_JNUMBER,
	CONVERT_JSTRING,
	CONVERT_JARRAY,
	CONVERT_JOBJECT
} ConvertJKind;

/* A JSON value parsed by a schema-directed decoder (s borrowed):
 *   NUMBER         s[0..n) is the number's text (cJSON's number syntax)
 *   STRING         s[0..n) are the unescaped bytes (may hold NULs)
 *   ARRAY, OBJECT  s[0..n) is the value printed compactly as cJSON
 *                  prints it; may be NULL unless the column is STRING or
 *                  JSON (other types reject it by kind alone)
 *   FALSE, TRUE    s unused */
typedef struct ConvertJValue {
	ConvertJKind kind;
	const char *s;
	size_t n;
} ConvertJValue;

/* Converts one non-null JSON value for a single-value column, or one
 * element of a multi-value column (the caller splits arrays).  Same rules
 * as convert_json, except that integers are exact (no 2^53 limit). */
int convert_jvalue(const Field *f, const ConvertJValue *v, Arena *a, Value *out, Err *e);
/* Writes the column's null (its default null value; [default] for MV). */
void convert_null(const Field *f, Value *out);
/* The double that strtod reads from the JSON number text s[0..n) (at most
 * 63 bytes), with an exact fast path for short decimals. */
double convert_jnumber(const char *s, size_t n);
/* Appends d as cJSON 1.7 prints a number ("null" for NaN/Infinity). */
void convert_print_number(double d, Buf *b);

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
