/*
 * pgtype.h -- PostgreSQL's view of Waybill's types: the type OIDs a
 * PostgreSQL client sees (RowDescription, pg_type, format_type) and the
 * static list of built-in types the catalog emulation serves.
 */
#ifndef WB_PGTYPE_H
#define WB_PGTYPE_H

#include <stdint.h>

#include "storage/types.h"

typedef struct PgType {
	int32_t oid;
	const char *name;	/* typname: "int4", "_text" */
	const char *sql;	/* format_type's name: "integer", "text[]" */
	int16_t len;		/* typlen: bytes, -1 variable */
	char category;		/* typcategory: 'N', 'S', 'A', ... */
	int32_t elem;		/* array types: the element's OID, else 0 */
	int32_t array;		/* the array type of this type, else 0 */
} PgType;

/* The PostgreSQL type OID of a Waybill column type: INT int4 (23), LONG
 * int8 (20), FLOAT float4 (700), DOUBLE float8 (701), BOOLEAN bool (16),
 * TIMESTAMP timestamp (1114), STRING text (25), JSON json (114), BYTES
 * bytea (17); mv (a multi-value column) gives the array type (_int4 1007
 * ...).  TYPE_NULL is text (25), as PostgreSQL's unknown literals end. */
int32_t pgtype_oid(WbType t, int mv);
/* The type with this OID, or NULL. */
const PgType *pgtype_find(int32_t oid);
/* The type named name (typname or format_type's name), or NULL. */
const PgType *pgtype_by_name(const char *name);
/* All built-in types, for pg_type: i in [0, pgtype_count()). */
int pgtype_count(void);
const PgType *pgtype_at(int i);
/* format_type(oid, typmod) into out: "integer", "character varying(10)",
 * "text[]"; "???" for an unknown OID (PostgreSQL's answer). */
void pgtype_format(int32_t oid, int32_t typmod, char *out, size_t cap);

#endif
