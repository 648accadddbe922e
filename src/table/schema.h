/*
 * schema.h -- a table's schema, parsed from and rendered to Pinot's schema
 * JSON (schemaName, dimensionFieldSpecs, metricFieldSpecs,
 * dateTimeFieldSpecs, timeFieldSpec, complexFieldSpecs, primaryKeyColumns,
 * enableColumnBasedNullHandling).
 *
 * Default null values follow Pinot: dimensions and date-times INT
 * -2147483648, LONG/TIMESTAMP -9223372036854775808 (TIMESTAMP: 0), FLOAT
 * and DOUBLE -Infinity, BOOLEAN 0, STRING/JSON "null", BYTES empty;
 * metrics 0 (BYTES empty).  A field's "defaultNullValue" overrides it.
 *
 * A Schema is immutable once parsed and owned by whoever parsed it; the
 * catalog shares it between tables by reference count.
 */
#ifndef WB_SCHEMA_H
#define WB_SCHEMA_H

#include <stdatomic.h>

#include "base/arena.h"
#include "base/err.h"
#include "storage/types.h"
#include "storage/value.h"

typedef enum FieldKind {
	FIELD_DIMENSION,
	FIELD_METRIC,
	FIELD_DATETIME,
	FIELD_TIME,		/* legacy timeFieldSpec */
	FIELD_COMPLEX
} FieldKind;

typedef struct Field {
	const char *name;
	WbType type;
	FieldKind kind;
	int single_value;	/* 0 = multi-value */
	Value default_null;	/* never null; strings live in the schema arena */
	const char *format;	/* dateTime "format", or NULL */
	const char *granularity;	/* dateTime "granularity", or NULL */
	const char *transform;	/* "transformFunction", or NULL */
	int max_length;		/* "maxLength", 0 = default */
	int not_null;		/* "notNull" */
} Field;

typedef struct Schema {
	_Atomic int refs;
	const char *name;
	int nfields;
	Field *fields;		/* in declaration order: dimensions, metrics,
				 * dateTimes, time, complex */
	int npk;
	const char **pk;	/* primaryKeyColumns */
	int column_null_handling;	/* enableColumnBasedNullHandling */
	char *json;		/* canonical JSON (what GET /schemas/x returns) */
	Arena arena;		/* owns every string and array above */
} Schema;

/* Parses Pinot schema JSON.  On error returns ERR_BAD_JSON or
 * ERR_BAD_SCHEMA with a message naming the field path at fault, e.g.
 * "dimensionFieldSpecs[3].dataType: unknown type 'INTEGR'".  On success
 * *out is owned by the caller (refs = 1). */
int schema_parse(const char *json, size_t len, Schema **out, Err *e);
void schema_ref(Schema *s);
void schema_unref(Schema *s);
/* Index of the column called name (exact match), or -1. */
int schema_find(const Schema *s, const char *name);
/* Index of the column called name ignoring case, or -1 (-2 if ambiguous). */
int schema_find_ci(const Schema *s, const char *name);

/* Checks a dateTime "format" the way Pinot's DateTimeFormatSpec does
 * ("1:MILLISECONDS:EPOCH", "1:DAYS:SIMPLE_DATE_FORMAT:yyyyMMdd",
 * "EPOCH|MILLISECONDS|1", "SIMPLE_DATE_FORMAT|yyyy-MM-dd", "TIMESTAMP").
 * 0 if valid, else -1 with the reason written into why. */
int schema_check_datetime_format(const char *format, char *why, size_t whylen);
/* Checks a dateTime "granularity" ("1:MILLISECONDS", "DAYS", "SECONDS|1");
 * 0 or -1 with the reason in why. */
/* Milliseconds per unit of a time column's values ("1:SECONDS:EPOCH": 1000;
 * TIMESTAMP: 1), or 0 when they are not epoch numbers (SIMPLE_DATE_FORMAT,
 * non-integer columns). */
double schema_time_unit_ms(const Field *f);
int schema_check_granularity(const char *granularity, char *why, size_t whylen);

#endif
