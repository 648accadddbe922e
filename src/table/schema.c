/*
 * schema.c -- parses Pinot's schema JSON into a Schema.
 *
 * How it works: the document is parsed with cJSON, then each section is
 * walked in the order Pinot serializes it (dimensionFieldSpecs,
 * metricFieldSpecs, dateTimeFieldSpecs, timeFieldSpec, complexFieldSpecs).
 * Every field spec is checked (name, dataType, singleValueField,
 * defaultNullValue, maxLength, transformFunction, notNull, and for
 * date-time fields format and granularity, validated as Pinot's
 * DateTimeFormatSpec and DateTimeGranularitySpec do).  The legacy
 * timeFieldSpec takes its outgoingGranularitySpec when present, else its
 * incomingGranularitySpec, and becomes a FIELD_TIME column whose format is
 * written as "<timeUnitSize>:<timeType>:EPOCH" (or the SIMPLE_DATE_FORMAT
 * form it declares).  complexFieldSpecs (Pinot's MAP / STRUCT / LIST) are
 * kept as FIELD_COMPLEX columns of type JSON: the value is stored as JSON
 * text; childFieldSpecs are not interpreted.
 *
 * Booleans may be given as JSON booleans or as the strings "true" /
 * "false" (Jackson accepts both, and Pinot's examples use both).  Keys of
 * a field spec that Waybill does not use (cardinality, numValuesPerEntry,
 * averageLength, delimiter, fieldType, virtualColumnProvider, ...) are
 * ignored; keys it uses must have the right JSON type.
 *
 * Ownership: everything a Schema points to (names, formats, default null
 * strings and bytes, the field array, the primary key array, the canonical
 * JSON) lives in Schema.arena; the Schema itself is one mem_calloc block,
 * freed by the last schema_unref.  cJSON's own allocations are released
 * with cJSON_Delete / cJSON_free before returning.
 *
 * Failure: malformed JSON gives ERR_BAD_JSON with the byte offset (also in
 * Err.pos, 1-based); anything else wrong gives ERR_BAD_SCHEMA with a
 * message starting with the JSON path at fault, e.g.
 * "dimensionFieldSpecs[3].dataType: unknown type 'INTEGR'".  Allocation
 * failure gives ERR_NOMEM.  Nothing in the input can trigger an assert.
 *
 * Exports: schema_parse, schema_ref, schema_unref, schema_find,
 * schema_find_ci, schema_check_datetime_format,
 * schema_check_granularity, schema_time_unit_ms.
 */
#include "base/civil.h"
#include "base/jsondoc.h"
#include "table/schema.h"
#include "base/mem.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PATH_MAX_LEN 256

typedef struct Parser {
	Schema *s;
	Err *e;
	int cap;		/* capacity of s->fields */
} Parser;

static int
nomem(Err *e)
{
	return err_set(e, ERR_NOMEM, "out of memory while parsing the schema");
}

/* --- small JSON helpers ------------------------------------------------ */

/* Rejects an object that names the same key twice (Jackson would keep the
 * last one, cJSON the first: better to refuse than to guess). */
static int
check_dup_keys(const cJSON *obj, const char *path, Err *e)
{
	for (const cJSON *a = obj->child; a; a = a->next)
		for (const cJSON *b = a->next; b; b = b->next)
			if (a->string && b->string && strcmp(a->string, b->string) == 0)
				return err_set(e, ERR_BAD_SCHEMA, "%s%sduplicate key '%s'",
					       path, *path ? ": " : "", a->string);
	return 0;
}

/* 1 if item is a boolean (JSON or "true"/"false" text), value in *out. */
static int
get_bool(const cJSON *item, int *out)
{
	if (cJSON_IsBool(item)) {
		*out = cJSON_IsTrue(item);
		return 1;
	}
	if (cJSON_IsString(item)) {
		if (strcasecmp(item->valuestring, "true") == 0) {
			*out = 1;
			return 1;
		}
		if (strcasecmp(item->valuestring, "false") == 0) {
			*out = 0;
			return 1;
		}
	}
	return 0;
}

/* Optional boolean member; *out keeps its value when absent or null. */
static int
opt_bool(const cJSON *obj, const char *key, const char *path, int *out, Err *e)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (it == NULL || cJSON_IsNull(it))
		return 0;
	if (!get_bool(it, out))
		return err_set(e, ERR_BAD_SCHEMA, "%s%s%s: expected a boolean", path,
			       *path ? "." : "", key);
	return 0;
}

/* Optional string member: *out is NULL when absent or null.  The string is
 * cJSON's (copy it before the tree is deleted). */
static int
opt_str(const cJSON *obj, const char *key, const char *path, const char **out, Err *e)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	*out = NULL;
	if (it == NULL || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsString(it))
		return err_set(e, ERR_BAD_SCHEMA, "%s%s%s: expected a string", path,
			       *path ? "." : "", key);
	*out = it->valuestring;
	return 0;
}

/* Parses all of s (no spaces) as a decimal integer in [lo, hi]. */
static int
parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	if (s == NULL || *s == '\0')
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || isspace((unsigned char)*s) || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Integer from a JSON number (integral, exact in a double) or text. */
static int
json_i64(const cJSON *it, int64_t lo, int64_t hi, int64_t *out)
{
	if (cJSON_IsNumber(it)) {
		double d = it->valuedouble;
		if (d != floor(d) || fabs(d) > 9007199254740992.0 || d < (double)lo ||
		    d > (double)hi)
			return -1;
		*out = (int64_t)d;
		return 0;
	}
	if (cJSON_IsString(it))
		return parse_i64(it->valuestring, lo, hi, out);
	return -1;
}

static int
is_time_unit(const char *u)
{
	static const char *const units[] = {"NANOSECONDS", "MICROSECONDS", "MILLISECONDS",
					    "SECONDS", "MINUTES", "HOURS", "DAYS"};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(u, units[i]) == 0)
			return 1;
	return 0;
}

/* DateTimeFormatUnitSpec also accepts the calendar units. */
static int
is_format_unit(const char *u)
{
	return is_time_unit(u) || strcasecmp(u, "WEEKS") == 0 || strcasecmp(u, "MONTHS") == 0 ||
	       strcasecmp(u, "YEARS") == 0;
}

static int
is_positive_int(const char *s)
{
	int64_t v;
	return parse_i64(s, 1, 2147483647, &v) == 0;
}

/* --- date-time format and granularity ---------------------------------- */

/* Splits s at sep into at most max tokens (the last keeps the rest);
 * returns the count.  tokens point into buf. */
static int
split(const char *s, char sep, int max, char *buf, size_t bufsz, char **tokens)
{
	snprintf(buf, bufsz, "%s", s);
	int n = 0;
	char *p = buf;
	tokens[n++] = p;
	while (n < max && (p = strchr(p, sep)) != NULL) {
		*p++ = '\0';
		tokens[n++] = p;
	}
	return n;
}

int
schema_check_datetime_format(const char *format, char *why, size_t whylen)
{
	char buf[PATH_MAX_LEN];
	char *tok[4];
	if (format == NULL || *format == '\0') {
		snprintf(why, whylen, "must not be empty");
		return -1;
	}
	if (strlen(format) >= sizeof(buf)) {
		snprintf(why, whylen, "too long");
		return -1;
	}
	if (isdigit((unsigned char)format[0])) {
		/* size:timeUnit:timeFormat(:pattern) */
		int n = split(format, ':', 4, buf, sizeof(buf), tok);
		if (n < 3) {
			snprintf(why, whylen,
				 "must be of the form 'size:timeUnit:timeFormat(:pattern)'");
			return -1;
		}
		if (strcmp(tok[2], "EPOCH") == 0) {
			if (!is_positive_int(tok[0])) {
				snprintf(why, whylen, "invalid size '%s'", tok[0]);
				return -1;
			}
			if (!is_format_unit(tok[1])) {
				snprintf(why, whylen, "invalid time unit '%s'", tok[1]);
				return -1;
			}
			if (n == 4) {
				snprintf(why, whylen, "EPOCH takes no pattern");
				return -1;
			}
			return 0;
		}
		if (strcmp(tok[2], "TIMESTAMP") == 0)
			return 0;
		if (strcmp(tok[2], "SIMPLE_DATE_FORMAT") == 0) {
			if (n == 4 && *tok[3] == '\0') {
				snprintf(why, whylen, "empty SIMPLE_DATE_FORMAT pattern");
				return -1;
			}
			return 0;
		}
		snprintf(why, whylen, "invalid time format '%s' (EPOCH, SIMPLE_DATE_FORMAT or TIMESTAMP)",
			 tok[2]);
		return -1;
	}
	/* EPOCH|timeUnit(|size), SIMPLE_DATE_FORMAT|pattern(|timeZone), TIMESTAMP */
	int n = split(format, '|', 3, buf, sizeof(buf), tok);
	if (strcmp(tok[0], "EPOCH") == 0) {
		if (n < 2 || !is_format_unit(tok[1])) {
			snprintf(why, whylen, n < 2 ? "must be of the form 'EPOCH|timeUnit(|size)'"
						  : "invalid time unit '%s'",
				 n < 2 ? "" : tok[1]);
			return -1;
		}
		if (n == 3 && !is_positive_int(tok[2])) {
			snprintf(why, whylen, "invalid size '%s'", tok[2]);
			return -1;
		}
		return 0;
	}
	if (strcmp(tok[0], "TIMESTAMP") == 0) {
		if (n != 1) {
			snprintf(why, whylen, "TIMESTAMP takes no arguments");
			return -1;
		}
		return 0;
	}
	if (strcmp(tok[0], "SIMPLE_DATE_FORMAT") == 0) {
		if (n >= 2 && *tok[1] == '\0') {
			snprintf(why, whylen, "empty SIMPLE_DATE_FORMAT pattern");
			return -1;
		}
		return 0;
	}
	snprintf(why, whylen, "invalid time format '%s' (EPOCH, SIMPLE_DATE_FORMAT or TIMESTAMP)",
		 tok[0]);
	return -1;
}

int
schema_check_granularity(const char *g, char *why, size_t whylen)
{
	char buf[PATH_MAX_LEN];
	char *tok[3];
	if (g == NULL || *g == '\0' || strlen(g) >= sizeof(buf)) {
		snprintf(why, whylen, "must be of the form 'size:timeUnit'");
		return -1;
	}
	if (isdigit((unsigned char)g[0])) {
		int n = split(g, ':', 3, buf, sizeof(buf), tok);
		if (n != 2 || !is_positive_int(tok[0]) || !is_time_unit(tok[1])) {
			snprintf(why, whylen, "must be of the form 'size:timeUnit'");
			return -1;
		}
		return 0;
	}
	int n = split(g, '|', 3, buf, sizeof(buf), tok);
	if (n > 2 || !is_time_unit(tok[0]) || (n == 2 && !is_positive_int(tok[1]))) {
		snprintf(why, whylen, "must be of the form 'size:timeUnit' or 'timeUnit(|size)'");
		return -1;
	}
	return 0;
}

/* --- default null values ------------------------------------------------ */

static Value
pinot_default(WbType t, FieldKind kind, int big_decimal)
{
	if (big_decimal)
		return value_double(TYPE_DOUBLE, 0.0);
	if (kind == FIELD_METRIC) {
		switch (t) {
		case TYPE_FLOAT:
		case TYPE_DOUBLE:
			return value_double(t, 0.0);
		case TYPE_STRING:
		case TYPE_JSON:
			return value_str(t, "null", 4);
		case TYPE_BYTES:
			return value_str(t, "", 0);
		default:
			return value_int(t, 0);
		}
	}
	switch (t) {
	case TYPE_INT:
		return value_int(t, INT32_MIN);
	case TYPE_LONG:
		return value_int(t, INT64_MIN);
	case TYPE_FLOAT:
	case TYPE_DOUBLE:
		return value_double(t, -INFINITY);
	case TYPE_STRING:
	case TYPE_JSON:
		return value_str(t, "null", 4);
	case TYPE_BYTES:
		return value_str(t, "", 0);
	default:		/* BOOLEAN, TIMESTAMP */
		return value_int(t, 0);
	}
}


static int
digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* Milliseconds since the epoch (UTC) from "yyyy-MM-dd", "yyyy-MM-dd
 * HH:mm:ss[.fff]" or the ISO form with 'T' and an optional 'Z', or from
 * an integer (already milliseconds), as Pinot's TimestampUtils does. */
static int
parse_timestamp(const char *s, int64_t *out)
{
	if (parse_i64(s, INT64_MIN, INT64_MAX, out) == 0)
		return 0;
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return -1;
	if (*p == ' ' || *p == 'T') {
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec))
				return -1;
			if (*p == '.') {
				p++;
				int nd = 0;
				ms = 0;
				while (isdigit((unsigned char)*p)) {
					if (nd < 3)
						ms = ms * 10 + (*p - '0');
					nd++;
					p++;
				}
				if (nd == 0)
					return -1;
				for (; nd < 3; nd++)
					ms *= 10;
			}
		}
		if (*p == 'Z')
			p++;
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	int64_t days = civil_days_from(y, (unsigned)mo, (unsigned)d);
	*out = ((days * 24 + h) * 60 + mi) * 60000 + (int64_t)sec * 1000 + ms;
	return 0;
}


/* Text of a JSON scalar as Jackson's toString gives it, into buf. */
static const char *
scalar_text(const cJSON *it, char *buf, size_t n)
{
	if (cJSON_IsString(it))
		return it->valuestring;
	if (cJSON_IsBool(it))
		return cJSON_IsTrue(it) ? "true" : "false";
	double d = it->valuedouble;
	if (d == floor(d) && fabs(d) < 9007199254740992.0)
		snprintf(buf, n, "%lld", (long long)d);
	else
		snprintf(buf, n, "%.17g", d);
	return buf;
}

/* Converts a defaultNullValue into a Value of type t (strings and bytes
 * copied into the schema arena). */
static int
convert_default(Parser *ps, const cJSON *it, Field *f, const char *path)
{
	Arena *a = &ps->s->arena;
	char nb[64];
	WbType t = f->type;
	if (!(cJSON_IsString(it) || cJSON_IsNumber(it) || cJSON_IsBool(it)))
		return err_set(ps->e, ERR_BAD_SCHEMA, "%s.defaultNullValue: expected a scalar", path);
	const char *txt = scalar_text(it, nb, sizeof(nb));
	int64_t iv;
	switch (t) {
	case TYPE_INT:
	case TYPE_LONG: {
		int64_t lo = t == TYPE_INT ? INT32_MIN : INT64_MIN;
		int64_t hi = t == TYPE_INT ? INT32_MAX : INT64_MAX;
		if (cJSON_IsBool(it) || json_i64(it, lo, hi, &iv) != 0)
			goto bad;
		f->default_null = value_int(t, iv);
		return 0;
	}
	case TYPE_FLOAT:
	case TYPE_DOUBLE: {
		double d;
		if (cJSON_IsNumber(it)) {
			d = it->valuedouble;
		} else if (cJSON_IsString(it) && *txt != '\0' && !isspace((unsigned char)*txt)) {
			char *end;
			if (strcmp(txt, "Infinity") == 0)
				d = INFINITY;
			else if (strcmp(txt, "-Infinity") == 0)
				d = -INFINITY;
			else if (strcmp(txt, "NaN") == 0)
				d = NAN;
			else {
				d = strtod(txt, &end);
				if (*end != '\0' || isnan(d) || isinf(d))
					goto bad;
			}
		} else {
			goto bad;
		}
		if (t == TYPE_FLOAT)
			d = (double)(float)d;
		f->default_null = value_double(t, d);
		return 0;
	}
	case TYPE_BOOLEAN: {
		int b;
		if (get_bool(it, &b)) {
			f->default_null = value_int(t, b);
			return 0;
		}
		if (json_i64(it, 0, 1, &iv) == 0) {
			f->default_null = value_int(t, iv);
			return 0;
		}
		goto bad;
	}
	case TYPE_TIMESTAMP:
		if (cJSON_IsBool(it))
			goto bad;
		if (cJSON_IsNumber(it)) {
			if (json_i64(it, INT64_MIN, INT64_MAX, &iv) != 0)
				goto bad;
		} else if (parse_timestamp(txt, &iv) != 0) {
			goto bad;
		}
		f->default_null = value_int(t, iv);
		return 0;
	case TYPE_STRING:
	case TYPE_JSON: {
		size_t n = strlen(txt);
		char *s = arena_strndup(a, txt, n);
		if (s == NULL)
			return nomem(ps->e);
		f->default_null = value_str(t, s, (uint32_t)n);
		return 0;
	}
	case TYPE_BYTES: {
		if (!cJSON_IsString(it))
			goto bad;
		size_t n = strlen(txt);
		if (n % 2 != 0)
			goto bad;
		char *s = arena_alloc(a, n / 2 + 1);
		if (s == NULL)
			return nomem(ps->e);
		for (size_t i = 0; i < n / 2; i++) {
			int hi = civil_hexval((unsigned char)txt[2 * i]);
			int lo = civil_hexval((unsigned char)txt[2 * i + 1]);
			if (hi < 0 || lo < 0)
				goto bad;
			s[i] = (char)(hi * 16 + lo);
		}
		s[n / 2] = '\0';
		f->default_null = value_str(t, s, (uint32_t)(n / 2));
		return 0;
	}
	default:
		break;
	}
bad:
	return err_set(ps->e, ERR_BAD_SCHEMA, "%s.defaultNullValue: invalid %s value '%.64s'", path,
		       type_name(t), txt);
}

/* --- field specs --------------------------------------------------------- */

static int
allowed_type(FieldKind kind, WbType t)
{
	if (kind == FIELD_METRIC)
		return t == TYPE_INT || t == TYPE_LONG || t == TYPE_FLOAT || t == TYPE_DOUBLE ||
		       t == TYPE_BYTES;
	return 1;
}

static Field *
new_field(Parser *ps)
{
	Schema *s = ps->s;
	if (s->nfields == ps->cap) {
		int cap = ps->cap ? ps->cap * 2 : 16;
		Field *nf = arena_alloc(&s->arena, sizeof(Field) * (size_t)cap);
		if (nf == NULL)
			return NULL;
		if (s->nfields)
			memcpy(nf, s->fields, sizeof(Field) * (size_t)s->nfields);
		s->fields = nf;
		ps->cap = cap;
	}
	Field *f = &s->fields[s->nfields++];
	memset(f, 0, sizeof(*f));
	return f;
}

static int
set_name(Parser *ps, Field *f, const char *name, const char *path)
{
	if (*name == '\0')
		return err_set(ps->e, ERR_BAD_SCHEMA, "%s.name: must not be empty", path);
	for (int i = 0; i < ps->s->nfields; i++)
		if (&ps->s->fields[i] != f && strcmp(ps->s->fields[i].name, name) == 0)
			return err_set(ps->e, ERR_BAD_SCHEMA, "%s.name: duplicate column '%s'", path,
				       name);
	f->name = arena_strdup(&ps->s->arena, name);
	return f->name ? 0 : nomem(ps->e);
}

static int
set_type(Parser *ps, Field *f, const cJSON *spec, const char *key, const char *path,
	 int *big_decimal)
{
	const cJSON *dt = cJSON_GetObjectItemCaseSensitive(spec, key);
	if (dt == NULL || cJSON_IsNull(dt))
		return err_set(ps->e, ERR_BAD_SCHEMA, "%s.%s: required", path, key);
	if (!cJSON_IsString(dt))
		return err_set(ps->e, ERR_BAD_SCHEMA, "%s.%s: expected a string", path, key);
	WbType t;
	if (type_from_name(dt->valuestring, &t) != 0)
		return err_set(ps->e, ERR_BAD_SCHEMA, "%s.%s: unknown type '%.64s'", path, key,
			       dt->valuestring);
	if (!allowed_type(f->kind, t))
		return err_set(ps->e, ERR_BAD_SCHEMA, "%s.%s: %s is not allowed for a metric", path,
			       key, type_name(t));
	f->type = t;
	*big_decimal = strcasecmp(dt->valuestring, "BIG_DECIMAL") == 0;
	return 0;
}

/* Common members: singleValueField, defaultNullValue, maxLength,
 * transformFunction, notNull (spec is the object holding them). */
static int
common_members(Parser *ps, Field *f, const cJSON *spec, const char *path, int big_decimal)
{
	int rc;
	const char *tf;
	f->single_value = 1;
	if ((rc = opt_bool(spec, "singleValueField", path, &f->single_value, ps->e)) != 0)
		return rc;
	if ((rc = opt_bool(spec, "notNull", path, &f->not_null, ps->e)) != 0)
		return rc;
	if ((rc = opt_str(spec, "transformFunction", path, &tf, ps->e)) != 0)
		return rc;
	if (tf && (f->transform = arena_strdup(&ps->s->arena, tf)) == NULL)
		return nomem(ps->e);
	const cJSON *ml = cJSON_GetObjectItemCaseSensitive(spec, "maxLength");
	if (ml && !cJSON_IsNull(ml)) {
		int64_t v;
		if (json_i64(ml, 1, INT32_MAX, &v) != 0)
			return err_set(ps->e, ERR_BAD_SCHEMA, "%s.maxLength: expected a positive integer",
				       path);
		f->max_length = (int)v;
	}
	f->default_null = pinot_default(f->type, f->kind, big_decimal);
	const cJSON *dn = cJSON_GetObjectItemCaseSensitive(spec, "defaultNullValue");
	if (dn && !cJSON_IsNull(dn))
		return convert_default(ps, dn, f, path);
	return 0;
}

static int
parse_spec(Parser *ps, const cJSON *spec, FieldKind kind, const char *path)
{
	int rc, bigdec = 0;
	const char *name;
	if (!cJSON_IsObject(spec))
		return err_set(ps->e, ERR_BAD_SCHEMA, "%s: expected an object", path);
	if ((rc = check_dup_keys(spec, path, ps->e)) != 0)
		return rc;
	Field *f = new_field(ps);
	if (f == NULL)
		return nomem(ps->e);
	f->kind = kind;
	if ((rc = opt_str(spec, "name", path, &name, ps->e)) != 0)
		return rc;
	if (name == NULL)
		return err_set(ps->e, ERR_BAD_SCHEMA, "%s.name: required", path);
	if ((rc = set_name(ps, f, name, path)) != 0)
		return rc;
	if (kind == FIELD_COMPLEX) {
		const char *dt;
		if ((rc = opt_str(spec, "dataType", path, &dt, ps->e)) != 0)
			return rc;
		if (dt == NULL)
			return err_set(ps->e, ERR_BAD_SCHEMA, "%s.dataType: required", path);
		if (strcmp(dt, "MAP") != 0 && strcmp(dt, "STRUCT") != 0 && strcmp(dt, "LIST") != 0)
			return err_set(ps->e, ERR_BAD_SCHEMA,
				       "%s.dataType: complex fields are MAP, STRUCT or LIST, got '%.64s'",
				       path, dt);
		f->type = TYPE_JSON;
		f->single_value = 1;
		f->default_null = value_str(TYPE_JSON, "null", 4);
		return opt_bool(spec, "notNull", path, &f->not_null, ps->e);
	}
	if ((rc = set_type(ps, f, spec, "dataType", path, &bigdec)) != 0)
		return rc;
	if ((rc = common_members(ps, f, spec, path, bigdec)) != 0)
		return rc;
	if (kind == FIELD_DATETIME) {
		const char *fmt, *gran;
		char why[160];
		if ((rc = opt_str(spec, "format", path, &fmt, ps->e)) != 0)
			return rc;
		if (fmt == NULL)
			return err_set(ps->e, ERR_BAD_SCHEMA, "%s.format: required", path);
		if (schema_check_datetime_format(fmt, why, sizeof(why)) != 0)
			return err_set(ps->e, ERR_BAD_SCHEMA, "%s.format: invalid format '%.64s': %s",
				       path, fmt, why);
		if ((rc = opt_str(spec, "granularity", path, &gran, ps->e)) != 0)
			return rc;
		if (gran && schema_check_granularity(gran, why, sizeof(why)) != 0)
			return err_set(ps->e, ERR_BAD_SCHEMA,
				       "%s.granularity: invalid granularity '%.64s': %s", path, gran,
				       why);
		f->format = arena_strdup(&ps->s->arena, fmt);
		f->granularity = gran ? arena_strdup(&ps->s->arena, gran) : NULL;
		if (f->format == NULL || (gran && f->granularity == NULL))
			return nomem(ps->e);
	}
	return 0;
}

static int
parse_section(Parser *ps, const cJSON *root, const char *key, FieldKind kind)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, key);
	char path[PATH_MAX_LEN];
	if (arr == NULL || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr))
		return err_set(ps->e, ERR_BAD_SCHEMA, "%s: expected an array", key);
	int i = 0;
	for (const cJSON *spec = arr->child; spec; spec = spec->next, i++) {
		snprintf(path, sizeof(path), "%s[%d]", key, i);
		int rc = parse_spec(ps, spec, kind, path);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Legacy timeFieldSpec: {incomingGranularitySpec, outgoingGranularitySpec,
 * defaultNullValue, transformFunction, ...}. */
static int
parse_time_spec(Parser *ps, const cJSON *root)
{
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(root, "timeFieldSpec");
	int rc, bigdec = 0;
	if (ts == NULL || cJSON_IsNull(ts))
		return 0;
	if (!cJSON_IsObject(ts))
		return err_set(ps->e, ERR_BAD_SCHEMA, "timeFieldSpec: expected an object");
	if ((rc = check_dup_keys(ts, "timeFieldSpec", ps->e)) != 0)
		return rc;
	const char *which = "outgoingGranularitySpec";
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(ts, which);
	if (g == NULL || cJSON_IsNull(g)) {
		which = "incomingGranularitySpec";
		g = cJSON_GetObjectItemCaseSensitive(ts, which);
	}
	if (g == NULL || cJSON_IsNull(g))
		return err_set(ps->e, ERR_BAD_SCHEMA,
			       "timeFieldSpec: needs incomingGranularitySpec or outgoingGranularitySpec");
	char path[PATH_MAX_LEN];
	snprintf(path, sizeof(path), "timeFieldSpec.%s", which);
	if (!cJSON_IsObject(g))
		return err_set(ps->e, ERR_BAD_SCHEMA, "%s: expected an object", path);
	if ((rc = check_dup_keys(g, path, ps->e)) != 0)
		return rc;
	Field *f = new_field(ps);
	if (f == NULL)
		return nomem(ps->e);
	f->kind = FIELD_TIME;
	const char *name, *tt, *tfmt;
	if ((rc = opt_str(g, "name", path, &name, ps->e)) != 0)
		return rc;
	if (name == NULL)
		return err_set(ps->e, ERR_BAD_SCHEMA, "%s.name: required", path);
	if ((rc = set_name(ps, f, name, path)) != 0)
		return rc;
	if ((rc = set_type(ps, f, g, "dataType", path, &bigdec)) != 0)
		return rc;
	if ((rc = opt_str(g, "timeType", path, &tt, ps->e)) != 0)
		return rc;
	if (tt == NULL)
		return err_set(ps->e, ERR_BAD_SCHEMA, "%s.timeType: required", path);
	if (!is_time_unit(tt))
		return err_set(ps->e, ERR_BAD_SCHEMA, "%s.timeType: unknown time unit '%.64s'", path, tt);
	int64_t size = 1;
	const cJSON *us = cJSON_GetObjectItemCaseSensitive(g, "timeUnitSize");
	if (us && !cJSON_IsNull(us) && json_i64(us, 1, INT32_MAX, &size) != 0)
		return err_set(ps->e, ERR_BAD_SCHEMA, "%s.timeUnitSize: expected a positive integer",
			       path);
	if ((rc = opt_str(g, "timeFormat", path, &tfmt, ps->e)) != 0)
		return rc;
	if (tfmt && strncmp(tfmt, "SIMPLE_DATE_FORMAT", 18) == 0 &&
	    (tfmt[18] == ':' || tfmt[18] == '\0'))
		f->format = arena_printf(&ps->s->arena, "%lld:%s:%s", (long long)size, tt, tfmt);
	else if (tfmt == NULL || strcmp(tfmt, "EPOCH") == 0)
		f->format = arena_printf(&ps->s->arena, "%lld:%s:EPOCH", (long long)size, tt);
	else
		return err_set(ps->e, ERR_BAD_SCHEMA,
			       "%s.timeFormat: must be EPOCH or SIMPLE_DATE_FORMAT:<pattern>, got '%.64s'",
			       path, tfmt);
	f->granularity = arena_printf(&ps->s->arena, "%lld:%s", (long long)size, tt);
	if (f->format == NULL || f->granularity == NULL)
		return nomem(ps->e);
	/* singleValueField/defaultNullValue/transformFunction sit on the
	 * timeFieldSpec itself */
	return common_members(ps, f, ts, "timeFieldSpec", bigdec);
}

static int
parse_pk(Parser *ps, const cJSON *root)
{
	const cJSON *pk = cJSON_GetObjectItemCaseSensitive(root, "primaryKeyColumns");
	Schema *s = ps->s;
	if (pk == NULL || cJSON_IsNull(pk))
		return 0;
	if (!cJSON_IsArray(pk))
		return err_set(ps->e, ERR_BAD_SCHEMA, "primaryKeyColumns: expected an array");
	int n = cJSON_GetArraySize(pk);
	s->pk = arena_alloc(&s->arena, sizeof(char *) * (size_t)(n ? n : 1));
	if (s->pk == NULL)
		return nomem(ps->e);
	int i = 0;
	for (const cJSON *c = pk->child; c; c = c->next, i++) {
		if (!cJSON_IsString(c))
			return err_set(ps->e, ERR_BAD_SCHEMA, "primaryKeyColumns[%d]: expected a string", i);
		int idx = schema_find(s, c->valuestring);
		if (idx < 0)
			return err_set(ps->e, ERR_BAD_SCHEMA, "primaryKeyColumns[%d]: unknown column '%.64s'",
				       i, c->valuestring);
		for (int k = 0; k < s->npk; k++)
			if (strcmp(s->pk[k], c->valuestring) == 0)
				return err_set(ps->e, ERR_BAD_SCHEMA,
					       "primaryKeyColumns[%d]: column '%.64s' listed twice", i,
					       c->valuestring);
		if (!s->fields[idx].single_value)
			return err_set(ps->e, ERR_BAD_SCHEMA,
				       "primaryKeyColumns[%d]: column '%.64s' is multi-valued", i,
				       c->valuestring);
		s->pk[s->npk++] = s->fields[idx].name;
	}
	return 0;
}

static int
parse_root(Parser *ps, const cJSON *root)
{
	int rc;
	const char *name;
	Schema *s = ps->s;
	if (!cJSON_IsObject(root))
		return err_set(ps->e, ERR_BAD_SCHEMA, "schema: expected a JSON object");
	if ((rc = check_dup_keys(root, "", ps->e)) != 0)
		return rc;
	if ((rc = opt_str(root, "schemaName", "", &name, ps->e)) != 0)
		return rc;
	if (name == NULL)
		return err_set(ps->e, ERR_BAD_SCHEMA, "schemaName: required");
	if (*name == '\0')
		return err_set(ps->e, ERR_BAD_SCHEMA, "schemaName: must not be empty");
	if ((s->name = arena_strdup(&s->arena, name)) == NULL)
		return nomem(ps->e);
	if ((rc = parse_section(ps, root, "dimensionFieldSpecs", FIELD_DIMENSION)) != 0 ||
	    (rc = parse_section(ps, root, "metricFieldSpecs", FIELD_METRIC)) != 0 ||
	    (rc = parse_section(ps, root, "dateTimeFieldSpecs", FIELD_DATETIME)) != 0 ||
	    (rc = parse_time_spec(ps, root)) != 0 ||
	    (rc = parse_section(ps, root, "complexFieldSpecs", FIELD_COMPLEX)) != 0)
		return rc;
	if (s->nfields == 0)
		return err_set(ps->e, ERR_BAD_SCHEMA, "schema: has no fields");
	if ((rc = parse_pk(ps, root)) != 0)
		return rc;
	if ((rc = opt_bool(root, "enableColumnBasedNullHandling", "", &s->column_null_handling,
			   ps->e)) != 0)
		return rc;
	char *js = cJSON_PrintUnformatted(root);
	if (js == NULL)
		return nomem(ps->e);
	s->json = arena_strdup(&s->arena, js);
	cJSON_free(js);
	return s->json ? 0 : nomem(ps->e);
}

int
schema_parse(const char *json, size_t len, Schema **out, Err *e)
{
	*out = NULL;
	cJSON *root;
	if (jsondoc_parse(json, len, &root, e) != 0)
		return ERR_BAD_JSON;
	Schema *s = mem_calloc(1, sizeof(Schema));
	if (s == NULL) {
		cJSON_Delete(root);
		return nomem(e);
	}
	atomic_init(&s->refs, 1);
	arena_init(&s->arena, 8192);
	Parser ps = {.s = s, .e = e};
	int rc = parse_root(&ps, root);
	cJSON_Delete(root);
	if (rc != 0) {
		arena_free(&s->arena);
		mem_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void
schema_ref(Schema *s)
{
	if (s)
		atomic_fetch_add(&s->refs, 1);
}

void
schema_unref(Schema *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1) {
		arena_free(&s->arena);
		mem_free(s);
	}
}

int
schema_find(const Schema *s, const char *name)
{
	for (int i = 0; i < s->nfields; i++)
		if (strcmp(s->fields[i].name, name) == 0)
			return i;
	return -1;
}

int
schema_find_ci(const Schema *s, const char *name)
{
	int found = -1, exact = -1, n = 0;
	for (int i = 0; i < s->nfields; i++) {
		if (strcasecmp(s->fields[i].name, name) == 0) {
			found = i;
			n++;
			if (strcmp(s->fields[i].name, name) == 0)
				exact = i;
		}
	}
	if (n > 1)
		return exact >= 0 ? exact : -2;
	return found;
}

static double
unit_ms(const char *u)
{
	static const struct { const char *name; double ms; } units[] = {
		{"NANOSECONDS", 1e-6}, {"MICROSECONDS", 1e-3}, {"MILLISECONDS", 1},
		{"SECONDS", 1e3}, {"MINUTES", 6e4}, {"HOURS", 3.6e6}, {"DAYS", 8.64e7},
		{"WEEKS", 6.048e8}};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(u, units[i].name) == 0)
			return units[i].ms;
	return 0;
}

double
schema_time_unit_ms(const Field *f)
{
	if (f->type == TYPE_TIMESTAMP)
		return 1;
	if (f->format == NULL || !type_is_integer(f->type))
		return 0;
	char buf[256], *tok[4];
	int n = split(f->format, ':', 4, buf, sizeof(buf), tok);
	if (n >= 3 && strcmp(tok[2], "EPOCH") == 0)
		return (double)strtol(tok[0], NULL, 10) * unit_ms(tok[1]);
	n = split(f->format, '|', 3, buf, sizeof(buf), tok);
	if (n >= 2 && strcmp(tok[0], "EPOCH") == 0)
		return (n == 3 ? (double)strtol(tok[2], NULL, 10) : 1.0) * unit_ms(tok[1]);
	if (n == 1 && strcmp(tok[0], "TIMESTAMP") == 0)
		return 1;
	return 0;
}
