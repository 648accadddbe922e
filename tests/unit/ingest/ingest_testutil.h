/*
 * ingest_testutil.h -- hand-built schemas for the ingest unit tests (so
 * they do not depend on schema_parse).
 *
 * mk_schema("id:LONG,name:STRING,tags:STRING[],m:INT!") builds a Schema:
 * "[]" marks a multi-value column, "!" a metric (default null 0); other
 * columns get Pinot's dimension default null values.
 */
#ifndef WB_INGEST_TESTUTIL_H
#define WB_INGEST_TESTUTIL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/arena.h"
#include "base/mem.h"
#include "storage/types.h"
#include "table/schema.h"

static inline Value
tu_default_null(WbType t, int metric)
{
	switch (t) {
	case TYPE_INT:
		return value_int(t, metric ? 0 : INT32_MIN);
	case TYPE_LONG:
		return value_int(t, metric ? 0 : INT64_MIN);
	case TYPE_TIMESTAMP:
	case TYPE_BOOLEAN:
		return value_int(t, 0);
	case TYPE_FLOAT:
	case TYPE_DOUBLE:
		return value_double(t, metric ? 0.0 : -INFINITY);
	case TYPE_STRING:
	case TYPE_JSON:
		return value_str(t, "null", 4);
	default:
		return value_str(t, "", 0);
	}
}

static inline Schema *
mk_schema(const char *spec)
{
	Schema *s = mem_calloc(1, sizeof *s);
	arena_init(&s->arena, 4096);
	s->name = "t";
	s->refs = 1;
	int cap = 1;
	for (const char *p = spec; *p; p++)
		cap += *p == ',';
	s->fields = arena_calloc(&s->arena, sizeof(Field) * (size_t)cap);
	const char *p = spec;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char item[128];
		memcpy(item, p, len);
		item[len] = '\0';
		char *colon = strchr(item, ':');
		*colon = '\0';
		char *tn = colon + 1;
		Field *f = &s->fields[s->nfields++];
		f->name = arena_strdup(&s->arena, item);
		int metric = 0;
		f->single_value = 1;
		size_t tl = strlen(tn);
		if (tl && tn[tl - 1] == '!') {
			metric = 1;
			tn[--tl] = '\0';
		}
		if (tl > 2 && strcmp(tn + tl - 2, "[]") == 0) {
			f->single_value = 0;
			tn[tl - 2] = '\0';
		}
		WbType t = TYPE_NULL;
		type_from_name(tn, &t);
		f->type = t;
		f->kind = metric ? FIELD_METRIC : FIELD_DIMENSION;
		f->default_null = tu_default_null(t, metric);
		p += len;
		if (*p == ',')
			p++;
	}
	return s;
}

static inline void
free_schema(Schema *s)
{
	arena_free(&s->arena);
	mem_free(s);
}

#endif
