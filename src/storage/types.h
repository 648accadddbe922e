/*
 * types.h -- Waybill's column types (Pinot's data types) and their
 * physical widths.
 *
 * Physical representation:
 *   INT, BOOLEAN        int32_t   (BOOLEAN is 0/1, as Pinot stores it)
 *   LONG, TIMESTAMP     int64_t   (TIMESTAMP: milliseconds since epoch, UTC)
 *   FLOAT               float
 *   DOUBLE              double
 *   STRING, JSON, BYTES uint32_t  dictionary id in a segment; in a Value,
 *                                 a pointer and a length
 */
#ifndef WB_TYPES_H
#define WB_TYPES_H

#include <stddef.h>

typedef enum WbType {
	TYPE_NULL = 0,		/* the type of a NULL literal only */
	TYPE_INT,
	TYPE_LONG,
	TYPE_FLOAT,
	TYPE_DOUBLE,
	TYPE_BOOLEAN,
	TYPE_TIMESTAMP,
	TYPE_STRING,
	TYPE_JSON,
	TYPE_BYTES,
	TYPE_COUNT
} WbType;

/* Pinot's name: "INT", "LONG", ... */
const char *type_name(WbType t);
/* Parses a Pinot type name (case-insensitive); 0 or ERR_INVALID.
 * Accepts BIG_DECIMAL as DOUBLE (documented limitation). */
int type_from_name(const char *name, WbType *out);
/* Bytes per value in a column: 4 or 8; var-length types store a 4-byte
 * dictionary id. */
size_t type_width(WbType t);
int type_is_var(WbType t);	/* STRING, JSON, BYTES */
int type_is_integer(WbType t);	/* INT, LONG, BOOLEAN, TIMESTAMP */
int type_is_float(WbType t);	/* FLOAT, DOUBLE */
int type_is_numeric(WbType t);	/* integer or float */
int type_is_int64(WbType t);	/* LONG, TIMESTAMP (8-byte integers) */

#endif
