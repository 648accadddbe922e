/*
 * types.c -- names and widths of Waybill's column types.
 *
 * Exports: type_name, type_from_name, type_width, type_is_var,
 * type_is_integer, type_is_float, type_is_numeric, type_is_int64.
 */
#include "storage/types.h"
#include "base/err.h"

#include <strings.h>

static const char *const type_names[TYPE_COUNT] = {
	[TYPE_NULL] = "NULL",
	[TYPE_INT] = "INT",
	[TYPE_LONG] = "LONG",
	[TYPE_FLOAT] = "FLOAT",
	[TYPE_DOUBLE] = "DOUBLE",
	[TYPE_BOOLEAN] = "BOOLEAN",
	[TYPE_TIMESTAMP] = "TIMESTAMP",
	[TYPE_STRING] = "STRING",
	[TYPE_JSON] = "JSON",
	[TYPE_BYTES] = "BYTES",
};

const char *
type_name(WbType t)
{
	return (unsigned)t < TYPE_COUNT ? type_names[t] : "UNKNOWN";
}

int
type_from_name(const char *name, WbType *out)
{
	for (int t = TYPE_INT; t < TYPE_COUNT; t++) {
		if (strcasecmp(name, type_names[t]) == 0) {
			*out = (WbType)t;
			return 0;
		}
	}
	if (strcasecmp(name, "BIG_DECIMAL") == 0) {
		*out = TYPE_DOUBLE;
		return 0;
	}
	return ERR_INVALID;
}

size_t
type_width(WbType t)
{
	switch (t) {
	case TYPE_LONG:
	case TYPE_TIMESTAMP:
	case TYPE_DOUBLE:
		return 8;
	default:
		return 4;
	}
}

int type_is_var(WbType t) { return t == TYPE_STRING || t == TYPE_JSON || t == TYPE_BYTES; }

int
type_is_integer(WbType t)
{
	return t == TYPE_INT || t == TYPE_LONG || t == TYPE_BOOLEAN || t == TYPE_TIMESTAMP;
}

int type_is_float(WbType t) { return t == TYPE_FLOAT || t == TYPE_DOUBLE; }
int type_is_numeric(WbType t) { return type_is_integer(t) || type_is_float(t); }
int type_is_int64(WbType t) { return t == TYPE_LONG || t == TYPE_TIMESTAMP; }
