/*
 * pgtype.c -- PostgreSQL type OIDs for Waybill's types and the built-in
 * type list of the emulated pg_type.
 *
 * One constant table of PostgreSQL's real built-in types (OIDs, names,
 * lengths, categories, element and array types) serves pg_type rows,
 * format_type and the wire server's RowDescription (pgtype_oid).  Nothing
 * is allocated; everything is read-only and shared by every thread.
 *
 * Exports: pgtype_oid, pgtype_find, pgtype_by_name, pgtype_count,
 * pgtype_at, pgtype_format.
 */
#include "expr/pgtype.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const PgType types[] = {
	{16, "bool", "boolean", 1, 'B', 0, 1000},
	{17, "bytea", "bytea", -1, 'U', 0, 1001},
	{18, "char", "\"char\"", 1, 'Z', 0, 1002},
	{19, "name", "name", 64, 'S', 0, 1003},
	{20, "int8", "bigint", 8, 'N', 0, 1016},
	{21, "int2", "smallint", 2, 'N', 0, 1005},
	{22, "int2vector", "int2vector", -1, 'A', 21, 1006},
	{23, "int4", "integer", 4, 'N', 0, 1007},
	{24, "regproc", "regproc", 4, 'N', 0, 1008},
	{25, "text", "text", -1, 'S', 0, 1009},
	{26, "oid", "oid", 4, 'N', 0, 1028},
	{30, "oidvector", "oidvector", -1, 'A', 26, 1013},
	{114, "json", "json", -1, 'U', 0, 199},
	{700, "float4", "real", 4, 'N', 0, 1021},
	{701, "float8", "double precision", 8, 'N', 0, 1022},
	{705, "unknown", "unknown", -2, 'X', 0, 0},
	{1042, "bpchar", "character", -1, 'S', 0, 1014},
	{1043, "varchar", "character varying", -1, 'S', 0, 1015},
	{1082, "date", "date", 4, 'D', 0, 1182},
	{1083, "time", "time without time zone", 8, 'D', 0, 1183},
	{1114, "timestamp", "timestamp without time zone", 8, 'D', 0, 1115},
	{1184, "timestamptz", "timestamp with time zone", 8, 'D', 0, 1185},
	{1186, "interval", "interval", 16, 'T', 0, 1187},
	{1700, "numeric", "numeric", -1, 'N', 0, 1231},
	{2205, "regclass", "regclass", 4, 'N', 0, 2210},
	{2206, "regtype", "regtype", 4, 'N', 0, 2211},
	{2950, "uuid", "uuid", 16, 'U', 0, 2951},
	{3802, "jsonb", "jsonb", -1, 'U', 0, 3807},
	{199, "_json", "json[]", -1, 'A', 114, 0},
	{1000, "_bool", "boolean[]", -1, 'A', 16, 0},
	{1001, "_bytea", "bytea[]", -1, 'A', 17, 0},
	{1002, "_char", "\"char\"[]", -1, 'A', 18, 0},
	{1003, "_name", "name[]", -1, 'A', 19, 0},
	{1005, "_int2", "smallint[]", -1, 'A', 21, 0},
	{1006, "_int2vector", "int2vector[]", -1, 'A', 22, 0},
	{1007, "_int4", "integer[]", -1, 'A', 23, 0},
	{1008, "_regproc", "regproc[]", -1, 'A', 24, 0},
	{1009, "_text", "text[]", -1, 'A', 25, 0},
	{1013, "_oidvector", "oidvector[]", -1, 'A', 30, 0},
	{1014, "_bpchar", "character[]", -1, 'A', 1042, 0},
	{1015, "_varchar", "character varying[]", -1, 'A', 1043, 0},
	{1016, "_int8", "bigint[]", -1, 'A', 20, 0},
	{1021, "_float4", "real[]", -1, 'A', 700, 0},
	{1022, "_float8", "double precision[]", -1, 'A', 701, 0},
	{1028, "_oid", "oid[]", -1, 'A', 26, 0},
	{1115, "_timestamp", "timestamp without time zone[]", -1, 'A', 1114, 0},
	{1182, "_date", "date[]", -1, 'A', 1082, 0},
	{1183, "_time", "time without time zone[]", -1, 'A', 1083, 0},
	{1185, "_timestamptz", "timestamp with time zone[]", -1, 'A', 1184, 0},
	{1187, "_interval", "interval[]", -1, 'A', 1186, 0},
	{1231, "_numeric", "numeric[]", -1, 'A', 1700, 0},
	{2210, "_regclass", "regclass[]", -1, 'A', 2205, 0},
	{2211, "_regtype", "regtype[]", -1, 'A', 2206, 0},
	{2951, "_uuid", "uuid[]", -1, 'A', 2950, 0},
	{3807, "_jsonb", "jsonb[]", -1, 'A', 3802, 0},
};

#define NTYPES ((int)(sizeof(types) / sizeof(types[0])))

int32_t
pgtype_oid(WbType t, int mv)
{
	int32_t o;
	switch (t) {
	case TYPE_INT: o = 23; break;
	case TYPE_LONG: o = 20; break;
	case TYPE_FLOAT: o = 700; break;
	case TYPE_DOUBLE: o = 701; break;
	case TYPE_BOOLEAN: o = 16; break;
	case TYPE_TIMESTAMP: o = 1114; break;
	case TYPE_JSON: o = 114; break;
	case TYPE_BYTES: o = 17; break;
	default: o = 25; break;
	}
	if (mv) {
		const PgType *p = pgtype_find(o);
		return p ? p->array : o;
	}
	return o;
}

const PgType *
pgtype_find(int32_t oid)
{
	for (int i = 0; i < NTYPES; i++)
		if (types[i].oid == oid)
			return &types[i];
	return NULL;
}

const PgType *
pgtype_by_name(const char *name)
{
	for (int i = 0; i < NTYPES; i++)
		if (strcasecmp(types[i].name, name) == 0 || strcasecmp(types[i].sql, name) == 0)
			return &types[i];
	return NULL;
}

int pgtype_count(void) { return NTYPES; }

const PgType *
pgtype_at(int i)
{
	return i >= 0 && i < NTYPES ? &types[i] : NULL;
}

void
pgtype_format(int32_t oid, int32_t typmod, char *out, size_t cap)
{
	const PgType *p = pgtype_find(oid);
	if (p == NULL) {
		snprintf(out, cap, "???");
		return;
	}
	int32_t base = p->elem && p->category == 'A' && p->oid != 22 && p->oid != 30 ? p->elem : p->oid;
	const PgType *b = pgtype_find(base);
	const char *nm = b ? b->sql : p->sql;
	const char *arr = base != p->oid ? "[]" : "";
	if (typmod >= 0 && (base == 1043 || base == 1042) && typmod >= 4)
		snprintf(out, cap, "%s(%d)%s", nm, typmod - 4, arr);
	else if (typmod >= 4 && base == 1700)
		snprintf(out, cap, "numeric(%d,%d)%s", ((typmod - 4) >> 16) & 0xffff, (typmod - 4) & 0xffff, arr);
	else
		snprintf(out, cap, "%s%s", nm, arr);
}
