/*
 * pgproto.h -- PostgreSQL frontend/backend protocol 3.0: reading the
 * fields of a client message, writing server messages, and the text and
 * binary forms of Waybill values under PostgreSQL's type OIDs.
 */
#ifndef WB_PGPROTO_H
#define WB_PGPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "storage/value.h"

/* PostgreSQL type OIDs Waybill uses (pg_type.oid). */
enum {
	PG_BOOL = 16, PG_BYTEA = 17, PG_NAME = 19, PG_INT8 = 20, PG_INT2 = 21, PG_INT4 = 23,
	PG_TEXT = 25, PG_OID = 26, PG_JSON = 114, PG_FLOAT4 = 700, PG_FLOAT8 = 701,
	PG_UNKNOWN = 705, PG_BOOL_ARR = 1000, PG_BYTEA_ARR = 1001, PG_INT2_ARR = 1005,
	PG_INT4_ARR = 1007, PG_TEXT_ARR = 1009, PG_INT8_ARR = 1016, PG_FLOAT4_ARR = 1021,
	PG_FLOAT8_ARR = 1022, PG_BPCHAR = 1042, PG_VARCHAR = 1043, PG_DATE = 1082,
	PG_TIMESTAMP = 1114, PG_TIMESTAMP_ARR = 1115, PG_TIMESTAMPTZ = 1184,
	PG_NUMERIC = 1700, PG_JSON_ARR = 199, PG_JSONB = 3802
};

/* Reads the fields of one message body.  Every getter checks the bounds:
 * past the end (or a string without its NUL) it sets bad and returns a
 * zero value, so a parser reads on and checks bad once at the end. */
typedef struct PgMsg {
	const char *p;
	size_t len;
	size_t off;
	int bad;
} PgMsg;

void pgproto_msg_init(PgMsg *m, const char *p, size_t len);
int pgproto_get_u8(PgMsg *m);
int32_t pgproto_get_i16(PgMsg *m);
int32_t pgproto_get_i32(PgMsg *m);
/* A NUL-terminated string inside the message (not copied). */
const char *pgproto_get_str(PgMsg *m);
/* n raw bytes inside the message (not copied). */
const char *pgproto_get_bytes(PgMsg *m, size_t n);

/* Writing: pgproto_begin(b, type) opens a message (type 0: none, as in
 * the replies to SSLRequest), the put functions append fields, and
 * pgproto_end(b, start) patches the length; start is what begin
 * returned. */
size_t pgproto_begin(Buf *b, char type);
void pgproto_end(Buf *b, size_t start);
void pgproto_put_i16(Buf *b, int v);
void pgproto_put_i32(Buf *b, int32_t v);
void pgproto_put_i64(Buf *b, int64_t v);
void pgproto_put_str(Buf *b, const char *s);

/* Whole messages. */
void pgproto_auth(Buf *b, int32_t code, const void *data, size_t n);
void pgproto_param_status(Buf *b, const char *name, const char *value);
void pgproto_ready(Buf *b, char status);
void pgproto_complete(Buf *b, const char *tag);
void pgproto_simple(Buf *b, char type);	/* a message with no body: '1' '2' '3' 'n' 'I' 's' 'c' */
/* ErrorResponse ('E') or NoticeResponse ('N'): severity ("ERROR",
 * "FATAL", "NOTICE", "WARNING"), SQLSTATE, message, an optional detail or
 * hint (NULL = none) and position (1-based into the statement; 0 = none). */
void pgproto_error(Buf *b, char type, const char *severity, const char *sqlstate, const char *msg,
		   const char *detail, const char *hint, int position);

/* Appends v in PostgreSQL's text form (no NULL handling: the caller
 * sends NULLs as length -1).  TIMESTAMP is milliseconds since the epoch,
 * written 'YYYY-MM-DD HH:MM:SS[.fff]'; BYTES as \x hex; multi-values as
 * an array literal {a,"b c",NULL}. */
void pgproto_text_value(const Value *v, Buf *b);
/* Appends v in PostgreSQL's binary form for its type OID. */
void pgproto_binary_value(const Value *v, Buf *b);

/* A DataRow ('D') of n values, each in text (formats[i] == 0, or formats
 * NULL) or binary form. */
void pgproto_data_row(Buf *b, const Value *row, int n, const int16_t *formats);

/* Turns a parameter value the client sent (text or binary format) for
 * type OID oid (0 = unspecified) into an SQL literal appended to out:
 * numbers as written, strings quoted, timestamps and the like as
 * CAST('...' AS type).  Errors (ERR_BAD_REQUEST / ERR_INVALID) name the
 * parameter number (1-based). */
int pgproto_param_literal(int num, int32_t oid, int binary, const char *data, int32_t len, Buf *out,
			  Err *e);

#endif
