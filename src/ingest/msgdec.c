/*
 * msgdec.c -- one stream message to one JSON object text plus change
 * metadata (see msgdec.h; settings in docs/ingest-formats.md).
 *
 * How it works: msgdec_decode() runs two stages.  The format stage turns
 * the message into JSON text: JSON is passed through as it is (pointer
 * into the message); Avro is rendered by avroread_datum_decode() into the
 * scratch buffer `fmt_buf`; CSV is parsed into `fmt_buf` with the header's
 * column names as keys.  The envelope stage (Debezium, Cosmos) scans that
 * JSON with a small validating scanner that records byte spans instead of
 * building a tree (it accepts what cJSON 1.7 and jsonrec accept: bytes
 * <= 0x20 are whitespace, raw control bytes in strings, numbers as strtod
 * reads them), so numbers keep every digit and the row object is
 * copied byte for byte: the output is the row object's span, followed by
 * the metadata fields the schema has columns for (built in `env_buf`).
 * With no such column, the span itself is returned (zero copy).
 *
 * Ownership: the MsgDecoder owns the AvroDatum, the CSV column keys (its
 * arena) and both scratch buffers, which keep their size between
 * messages, so steady-state decoding allocates nothing.
 *
 * Failure: every malformed message is an error with a reason naming the
 * byte offset or the missing part; only ERR_NOMEM is fatal.  Nothing in
 * here asserts on input.
 *
 * Exports: msgdec_create, msgdec_decode, msgdec_format, msgdec_envelope,
 * msgdec_free.
 */
#include "ingest/msgdec.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/mem.h"
#include "ingest/avroread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JSON_MAX_DEPTH 1000

/* Metadata columns (bit = index). */
enum {
	META_OP,
	META_TS_MS,
	META_DELETED,
	META_LSN,
	META_SRC_CONNECTOR,
	META_SRC_DB,
	META_SRC_TABLE,
	META_COUNT
};
static const char *const meta_names[META_COUNT] = {
        "__op",        "__ts_ms",        "__deleted", "__lsn", "__source_connector",
        "__source_db", "__source_table",
};

typedef enum CosmosMode { COSMOS_AUTO, COSMOS_LATEST, COSMOS_AVAD } CosmosMode;

struct MsgDecoder {
	MsgFormat fmt;
	MsgEnvelope env;
	CosmosMode cosmos;
	size_t header_len;     /* wire header before the body: 0, 5, 17 */
	const char *wire_name; /* for messages */
	unsigned meta_mask;
	const Schema *schema;
	AvroDatum *avro;
	/* CSV */
	char delim;
	char mv_delim;
	const char *null_string;
	int ncols;
	const char **col_key; /* "\"name\":" */
	size_t *col_key_len;
	const char **col_name;
	unsigned char *col_mv;
	Arena arena;
	Buf fmt_buf;
	Buf env_buf;
	Buf field;
};

/* ---- configuration ---- */

static const char *
cfg_str(const cJSON *m, const char *prefix, const char *key, Err *e, int *bad)
{
	char k[256];
	snprintf(k, sizeof k, "%s%s", prefix, key);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, k);
	if (v == NULL || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsString(v)) {
		*bad = err_set(e, ERR_BAD_CONFIG, "stream config '%s' must be a string", k);
		return NULL;
	}
	return v->valuestring;
}

static int
meta_mask_of(const Schema *s)
{
	if (s == NULL)
		return (1 << META_COUNT) - 1;
	int m = 0;
	for (int k = 0; k < META_COUNT; k++)
		if (schema_find(s, meta_names[k]) >= 0)
			m |= 1 << k;
	return m;
}

/* Splits the configured header at the delimiter (empty names dropped, as
 * Pinot's StringUtils.split does) into the column tables. */
static int
csv_columns(MsgDecoder *d, const char *header, const char *key, Err *e)
{
	size_t n = strlen(header);
	int cap = 1;
	for (size_t i = 0; i < n; i++)
		cap += header[i] == d->delim;
	d->col_key = arena_alloc(&d->arena, sizeof(char *) * (size_t)cap);
	d->col_name = arena_alloc(&d->arena, sizeof(char *) * (size_t)cap);
	d->col_key_len = arena_alloc(&d->arena, sizeof(size_t) * (size_t)cap);
	d->col_mv = arena_calloc(&d->arena, (size_t)cap);
	if (!d->col_key || !d->col_name || !d->col_key_len || !d->col_mv)
		return err_set(e, ERR_NOMEM, "CSV header");
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && header[i] != d->delim)
			continue;
		if (i > start) {
			const char *name = arena_strndup(&d->arena, header + start, i - start);
			if (name == NULL)
				return err_set(e, ERR_NOMEM, "CSV header");
			for (int c = 0; c < d->ncols; c++)
				if (strcmp(d->col_name[c], name) == 0)
					return err_set(e, ERR_BAD_CONFIG,
					               "stream config '%s' names column '%s' twice",
					               key, name);
			Buf b;
			buf_init(&b);
			buf_json_str(&b, name, strlen(name));
			buf_putc(&b, ':');
			const char *k = b.oom ? NULL : arena_strndup(&d->arena, b.p, b.len);
			size_t kl = b.len;
			buf_free(&b);
			if (k == NULL)
				return err_set(e, ERR_NOMEM, "CSV header");
			int f = d->schema ? schema_find(d->schema, name) : -1;
			d->col_name[d->ncols] = name;
			d->col_key[d->ncols] = k;
			d->col_key_len[d->ncols] = kl;
			d->col_mv[d->ncols] = f >= 0 && !d->schema->fields[f].single_value;
			d->ncols++;
		}
		start = i + 1;
	}
	if (d->ncols == 0)
		return err_set(e, ERR_BAD_CONFIG, "stream config '%s' names no column", key);
	return 0;
}

static int
one_char(const char *v, const char *prefix, const char *key, char *out, Err *e)
{
	if (v == NULL)
		return 0;
	if (strcmp(v, "\\t") == 0 || strcasecmp(v, "tab") == 0) {
		*out = '\t';
		return 0;
	}
	if (strlen(v) != 1 || v[0] == '"' || v[0] == '\n' || v[0] == '\r')
		return err_set(
		        e, ERR_BAD_CONFIG,
		        "stream config '%s%s' must be one character (not a quote or newline), "
		        "got '%s'",
		        prefix, key, v);
	*out = v[0];
	return 0;
}

/* 1 if lowercase word occurs in s ignoring case. */
static int
has_word(const char *s, const char *word)
{
	size_t wl = strlen(word);
	for (; *s; s++)
		if (strncasecmp(s, word, wl) == 0)
			return 1;
	return 0;
}

int
msgdec_create(const cJSON *m, const Schema *s, MsgDecoder **out, Err *e)
{
	*out = NULL;
	if (m != NULL && !cJSON_IsObject(m))
		return err_set(e, ERR_BAD_CONFIG, "stream config must be a JSON object");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(m, "streamType");
	const char *type = cJSON_IsString(st) ? st->valuestring : "kafka";
	char prefix[96], pprefix[128];
	snprintf(prefix, sizeof prefix, "stream.%s.", type);
	snprintf(pprefix, sizeof pprefix, "stream.%s.decoder.prop.", type);

	MsgDecoder *d = mem_calloc(1, sizeof *d);
	if (d == NULL)
		return err_set(e, ERR_NOMEM, "message decoder");
	arena_init(&d->arena, 1024);
	buf_init(&d->fmt_buf);
	buf_init(&d->env_buf);
	buf_init(&d->field);
	d->schema = s;
	d->delim = ',';
	d->mv_delim = ';';
	d->meta_mask = (unsigned)meta_mask_of(s);

	int rc = 0;
	const char *cls = cfg_str(m, prefix, "decoder.class.name", e, &rc);
	const char *schema_json = cfg_str(m, pprefix, "schema", e, &rc);
	const char *envelope = cfg_str(m, pprefix, "envelope", e, &rc);
	const char *cmode = cfg_str(m, pprefix, "cosmos.mode", e, &rc);
	const char *header = cfg_str(m, pprefix, "header", e, &rc);
	const char *delim = cfg_str(m, pprefix, "delimiter", e, &rc);
	const char *mvdelim = cfg_str(m, pprefix, "multiValueDelimiter", e, &rc);
	const char *nullstr = cfg_str(m, pprefix, "nullStringValue", e, &rc);
	if (rc)
		goto fail;

	const char *short_cls = cls ? strrchr(cls, '.') : NULL;
	short_cls = short_cls ? short_cls + 1 : cls;
	if (cls == NULL || strcmp(short_cls, "KafkaJSONMessageDecoder") == 0 ||
	    strcmp(short_cls, "JSONMessageDecoder") == 0) {
		d->fmt = MSG_JSON;
	} else if (strcmp(short_cls, "KafkaConfluentSchemaRegistryJsonMessageDecoder") == 0) {
		d->fmt = MSG_JSON;
		d->header_len = 5;
		d->wire_name = "Confluent";
	} else if (strcmp(short_cls, "SimpleAvroMessageDecoder") == 0) {
		d->fmt = MSG_AVRO;
	} else if (strcmp(short_cls, "KafkaConfluentSchemaRegistryAvroMessageDecoder") == 0) {
		d->fmt = MSG_AVRO;
		d->header_len = 5;
		d->wire_name = "Confluent";
	} else if (strcmp(short_cls, "KafkaAvroMessageDecoder") == 0) {
		d->fmt = MSG_AVRO;
		d->header_len = 17;
		d->wire_name = "KafkaAvroMessageDecoder";
	} else if (strcmp(short_cls, "CSVMessageDecoder") == 0) {
		d->fmt = MSG_CSV;
	} else if (has_word(short_cls, "protobuf") || has_word(short_cls, "thrift") ||
	           has_word(short_cls, "arrow") || has_word(short_cls, "clp")) {
		rc = err_set(e, ERR_UNSUPPORTED,
		             "stream config '%sdecoder.class.name': decoder '%s' is not supported "
		             "(supported: JSON, Avro, CSV; see docs/ingest-formats.md)",
		             prefix, cls);
		goto fail;
	} else {
		rc = err_set(
		        e, ERR_BAD_CONFIG,
		        "stream config '%sdecoder.class.name': unknown decoder '%s' "
		        "(supported: KafkaJSONMessageDecoder, JSONMessageDecoder, "
		        "SimpleAvroMessageDecoder, KafkaConfluentSchemaRegistryAvroMessageDecoder, "
		        "KafkaAvroMessageDecoder, CSVMessageDecoder)",
		        prefix, cls);
		goto fail;
	}

	if (d->fmt == MSG_AVRO) {
		if (schema_json == NULL) {
			rc = err_set(
			        e, ERR_BAD_CONFIG,
			        "decoder '%s' needs the Avro writer schema (JSON) in stream config "
			        "'%sschema'%s",
			        short_cls, pprefix,
			        d->header_len ? ": Waybill does not reach a schema registry" : "");
			goto fail;
		}
		if ((rc = avroread_datum_create(schema_json, strlen(schema_json), &d->avro, e)) !=
		    0) {
			char why[ERR_MSG_MAX];
			snprintf(why, sizeof why, "%s", e ? e->msg : "");
			if (e)
				err_reset(e, rc, "stream config '%sschema': %s", pprefix, why);
			goto fail;
		}
	}

	if (envelope == NULL || strcasecmp(envelope, "plain") == 0 ||
	    strcasecmp(envelope, "none") == 0) {
		d->env = MSG_ENV_PLAIN;
	} else if (strcasecmp(envelope, "debezium") == 0) {
		d->env = MSG_ENV_DEBEZIUM;
	} else if (strcasecmp(envelope, "cosmos") == 0 || strcasecmp(envelope, "cosmosdb") == 0) {
		d->env = MSG_ENV_COSMOS;
	} else {
		rc = err_set(e, ERR_BAD_CONFIG,
		             "stream config '%senvelope': unknown envelope '%s' (plain, debezium, "
		             "cosmos)",
		             pprefix, envelope);
		goto fail;
	}
	if (d->env != MSG_ENV_PLAIN && d->fmt == MSG_CSV) {
		rc = err_set(e, ERR_BAD_CONFIG,
		             "stream config '%senvelope': the %s envelope needs JSON or Avro "
		             "messages, not CSV",
		             pprefix, envelope);
		goto fail;
	}
	if (cmode == NULL || strcasecmp(cmode, "auto") == 0)
		d->cosmos = COSMOS_AUTO;
	else if (strcasecmp(cmode, "latest") == 0 || strcasecmp(cmode, "latestVersion") == 0 ||
	         strcasecmp(cmode, "incremental") == 0)
		d->cosmos = COSMOS_LATEST;
	else if (strcasecmp(cmode, "allVersionsAndDeletes") == 0 ||
	         strcasecmp(cmode, "fullFidelity") == 0)
		d->cosmos = COSMOS_AVAD;
	else {
		rc = err_set(e, ERR_BAD_CONFIG,
		             "stream config '%scosmos.mode': unknown mode '%s' (auto, latest, "
		             "allVersionsAndDeletes)",
		             pprefix, cmode);
		goto fail;
	}

	if (d->fmt == MSG_CSV) {
		if ((rc = one_char(delim, pprefix, "delimiter", &d->delim, e)) != 0 ||
		    (rc = one_char(mvdelim, pprefix, "multiValueDelimiter", &d->mv_delim, e)) != 0)
			goto fail;
		if (nullstr != NULL &&
		    (d->null_string = arena_strdup(&d->arena, nullstr)) == NULL) {
			rc = err_set(e, ERR_NOMEM, "message decoder");
			goto fail;
		}
		if (header != NULL) {
			char key[192];
			snprintf(key, sizeof key, "%sheader", pprefix);
			if ((rc = csv_columns(d, header, key, e)) != 0)
				goto fail;
		}
	}
	*out = d;
	return 0;
fail:
	msgdec_free(d);
	return rc;
}

void
msgdec_free(MsgDecoder *d)
{
	if (d == NULL)
		return;
	avroread_datum_free(d->avro);
	arena_free(&d->arena);
	buf_free(&d->fmt_buf);
	buf_free(&d->env_buf);
	buf_free(&d->field);
	mem_free(d);
}

MsgFormat
msgdec_format(const MsgDecoder *d)
{
	return d->fmt;
}

MsgEnvelope
msgdec_envelope(const MsgDecoder *d)
{
	return d->env;
}

/* ---- UTF-8 ---- */

/* Offset of the first byte that is not valid UTF-8, or n. */
static size_t
utf8_bad(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		int len;
		unsigned lo = 0x80, hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			len = 2;
		else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else
			return i;
		if (n - i < (size_t)len)
			return i;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (int k = 2; k < len; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
		i += (size_t)len;
	}
	return n;
}

/* ---- CSV ---- */

/* Parses one field starting at *i into d->field (unquoted content);
 * *quoted tells whether it was quoted.  Stops at the delimiter (consumed),
 * at a line end (not consumed) or at n. */
static int
csv_field(MsgDecoder *d, const char *p, size_t n, size_t *i, int *quoted, int *more, Err *e)
{
	buf_reset(&d->field);
	*quoted = 0;
	*more = 0;
	size_t k = *i;
	if (k < n && p[k] == '"') {
		size_t open = k;
		*quoted = 1;
		k++;
		for (;;) {
			const char *q = k < n ? memchr(p + k, '"', n - k) : NULL;
			if (q == NULL)
				return err_set(
				        e, ERR_BAD_RECORD,
				        "CSV: unterminated quoted field starting at byte %zu",
				        open);
			size_t qi = (size_t)(q - p);
			buf_append(&d->field, p + k, qi - k);
			k = qi + 1;
			if (k < n && p[k] == '"') {
				buf_putc(&d->field, '"');
				k++;
				continue;
			}
			break;
		}
		if (k < n && p[k] != d->delim && p[k] != '\n' && p[k] != '\r')
			return err_set(
			        e, ERR_BAD_RECORD,
			        "CSV: unexpected character after the closing quote at byte %zu", k);
	} else {
		size_t s0 = k;
		while (k < n && p[k] != d->delim && p[k] != '\n' && p[k] != '\r')
			k++;
		buf_append(&d->field, p + s0, k - s0);
	}
	if (k < n && p[k] == d->delim) {
		k++;
		*more = 1;
	}
	*i = k;
	return 0;
}

/* Skips one line end at *i; 1 if there was one. */
static int
csv_eol(const char *p, size_t n, size_t *i)
{
	if (*i < n && p[*i] == '\r')
		(*i)++;
	if (*i < n && p[*i] == '\n') {
		(*i)++;
		return 1;
	}
	return 0;
}

static void
csv_value(MsgDecoder *d, Buf *o, int mv, int quoted)
{
	const char *s = d->field.p ? d->field.p : "";
	size_t n = d->field.len;
	if ((n == 0 && !quoted) || (!quoted && d->null_string && strlen(d->null_string) == n &&
	                            memcmp(s, d->null_string, n) == 0)) {
		buf_puts(o, "null");
		return;
	}
	if (!mv) {
		buf_json_str(o, s, n);
		return;
	}
	buf_putc(o, '[');
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != d->mv_delim)
			continue;
		if (start)
			buf_putc(o, ',');
		buf_json_str(o, s + start, i - start);
		start = i + 1;
	}
	buf_putc(o, ']');
}

static int
decode_csv(MsgDecoder *d, const char *p, size_t n, Err *e)
{
	Buf *o = &d->fmt_buf;
	buf_reset(o);
	size_t bad = utf8_bad((const unsigned char *)p, n);
	if (bad < n)
		return err_set(e, ERR_BAD_RECORD, "CSV: invalid UTF-8 at byte %zu", bad);
	size_t i = 0;
	int quoted, more, rc;
	/* Without a configured header, the message's first line names the
	 * columns (Pinot's CSVFormat.withHeader()). */
	size_t hdr_start = 0, hdr_end = 0;
	int ncols = d->ncols;
	if (ncols == 0) {
		if (n == 0)
			return err_set(e, ERR_BAD_RECORD, "empty message");
		do {
			if ((rc = csv_field(d, p, n, &i, &quoted, &more, e)) != 0)
				return rc;
			ncols++;
		} while (more);
		hdr_end = i;
		if (!csv_eol(p, n, &i))
			return err_set(e, ERR_BAD_RECORD,
			               "CSV: no data line after the header line (no header is "
			               "configured in decoder.prop.header)");
	}
	size_t rec_start = i;
	if (rec_start >= n)
		return err_set(e, ERR_BAD_RECORD, "empty message");
	size_t hi = hdr_start;
	buf_putc(o, '{');
	for (int c = 0;; c++) {
		if (c >= ncols)
			return err_set(e, ERR_BAD_RECORD,
			               "CSV: more than %d fields (the header names %d columns)",
			               ncols, ncols);
		int mv = 0;
		if (c)
			buf_putc(o, ',');
		if (d->ncols) {
			buf_append(o, d->col_key[c], d->col_key_len[c]);
			mv = d->col_mv[c];
		} else {
			int hq, hmore;
			if ((rc = csv_field(d, p, hdr_end, &hi, &hq, &hmore, e)) != 0)
				return rc;
			buf_json_str(o, d->field.p ? d->field.p : "", d->field.len);
			buf_putc(o, ':');
			if (d->schema) {
				char name[256];
				snprintf(name, sizeof name, "%.*s", (int)d->field.len,
				         d->field.p ? d->field.p : "");
				int f = schema_find(d->schema, name);
				mv = f >= 0 && !d->schema->fields[f].single_value;
			}
		}
		if ((rc = csv_field(d, p, n, &i, &quoted, &more, e)) != 0)
			return rc;
		csv_value(d, o, mv, quoted);
		if (!more) {
			if (c + 1 < ncols)
				return err_set(e, ERR_BAD_RECORD,
				               "CSV: %d fields, the header names %d columns", c + 1,
				               ncols);
			break;
		}
	}
	csv_eol(p, n, &i);
	if (i < n)
		return err_set(e, ERR_BAD_RECORD,
		               "CSV: more than one record in the message (byte %zu)", i);
	buf_putc(o, '}');
	if (o->oom)
		return err_set(e, ERR_NOMEM, "CSV: rendering a %zu-byte message", n);
	return 0;
}

/* ---- a validating JSON scanner that records spans ---- */

typedef struct Span {
	const char *p; /* NULL: absent */
	size_t n;
} Span;

typedef struct Scan {
	const char *p;
	size_t n, i;
	size_t bad; /* byte offset of the first error */
} Scan;

static void
ws(Scan *s)
{
	while (s->i < s->n && (unsigned char)s->p[s->i] <= 0x20)
		s->i++;
}

static int
fail_at(Scan *s, size_t at)
{
	s->bad = at;
	return -1;
}

static int
hexd(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int
scan_string(Scan *s)
{
	s->i++; /* opening quote */
	while (s->i < s->n) {
		unsigned char c = (unsigned char)s->p[s->i];
		if (c == '"') {
			s->i++;
			return 0;
		}
		if (c == '\\') {
			if (s->i + 1 >= s->n)
				return fail_at(s, s->i);
			char x = s->p[s->i + 1];
			if (x == 'u') {
				if (s->n - s->i < 6 || !hexd(s->p[s->i + 2]) ||
				    !hexd(s->p[s->i + 3]) || !hexd(s->p[s->i + 4]) ||
				    !hexd(s->p[s->i + 5]))
					return fail_at(s, s->i);
				s->i += 6;
				continue;
			}
			if (!strchr("\"\\/bfnrt", x) || x == '\0')
				return fail_at(s, s->i);
			s->i += 2;
			continue;
		}
		s->i++;
	}
	return fail_at(s, s->i);
}

/* A number as cJSON reads it: the run of [0-9+-.eE] (at most 63 bytes)
 * must be entirely consumed by strtod. */
static int
scan_number(Scan *s)
{
	size_t st = s->i;
	while (s->i < s->n && s->i - st < 64 && strchr("0123456789+-.eE", s->p[s->i]) &&
	       s->p[s->i] != '\0')
		s->i++;
	size_t len = s->i - st;
	if (len == 0 || len > 63)
		return fail_at(s, st);
	char tmp[64];
	memcpy(tmp, s->p + st, len);
	tmp[len] = '\0';
	char *end;
	(void)strtod(tmp, &end);
	if (end != tmp + len)
		return fail_at(s, st + (size_t)(end - tmp));
	return 0;
}

static int scan_value(Scan *s, int depth);

/* Iterates the members of the object whose '{' is at s->i (first call
 * with *started 0).  1 with key (raw, quotes included) and val spans, 0 at
 * the closing brace, -1 on bad JSON. */
static int
obj_next(Scan *s, int *started, Span *key, Span *val, int depth)
{
	if (!*started) {
		if (s->i >= s->n || s->p[s->i] != '{')
			return fail_at(s, s->i);
		s->i++;
		ws(s);
		*started = 1;
		if (s->i < s->n && s->p[s->i] == '}') {
			s->i++;
			return 0;
		}
	} else {
		ws(s);
		if (s->i < s->n && s->p[s->i] == '}') {
			s->i++;
			return 0;
		}
		if (s->i >= s->n || s->p[s->i] != ',')
			return fail_at(s, s->i);
		s->i++;
		ws(s);
	}
	if (s->i >= s->n || s->p[s->i] != '"')
		return fail_at(s, s->i);
	key->p = s->p + s->i;
	if (scan_string(s))
		return -1;
	key->n = (size_t)(s->p + s->i - key->p);
	ws(s);
	if (s->i >= s->n || s->p[s->i] != ':')
		return fail_at(s, s->i);
	s->i++;
	ws(s);
	val->p = s->p + s->i;
	if (scan_value(s, depth + 1))
		return -1;
	val->n = (size_t)(s->p + s->i - val->p);
	return 1;
}

static int
scan_value(Scan *s, int depth)
{
	if (depth > JSON_MAX_DEPTH)
		return fail_at(s, s->i);
	ws(s);
	if (s->i >= s->n)
		return fail_at(s, s->i);
	char c = s->p[s->i];
	if (c == '"')
		return scan_string(s);
	if (c == '-' || (c >= '0' && c <= '9'))
		return scan_number(s);
	if (c == '{') {
		int started = 0, r;
		Span k, v;
		while ((r = obj_next(s, &started, &k, &v, depth)) == 1)
			;
		return r;
	}
	if (c == '[') {
		s->i++;
		ws(s);
		if (s->i < s->n && s->p[s->i] == ']') {
			s->i++;
			return 0;
		}
		for (;;) {
			if (scan_value(s, depth + 1))
				return -1;
			ws(s);
			if (s->i < s->n && s->p[s->i] == ']') {
				s->i++;
				return 0;
			}
			if (s->i >= s->n || s->p[s->i] != ',')
				return fail_at(s, s->i);
			s->i++;
		}
	}
	static const char *const lits[] = {"true", "false", "null"};
	for (int k = 0; k < 3; k++) {
		size_t l = strlen(lits[k]);
		if (s->n - s->i >= l && memcmp(s->p + s->i, lits[k], l) == 0) {
			s->i += l;
			return 0;
		}
	}
	return fail_at(s, s->i);
}

static int
key_is(Span k, const char *name)
{
	size_t l = strlen(name);
	return k.n == l + 2 && memcmp(k.p + 1, name, l) == 0;
}

static int
span_is_obj(Span v)
{
	return v.p != NULL && v.n > 0 && v.p[0] == '{';
}

static int
span_is_null(Span v)
{
	return v.p == NULL || (v.n == 4 && memcmp(v.p, "null", 4) == 0);
}

/* Parses an integer token (no fraction or exponent); 0 or -1. */
static int
span_i64(Span v, int64_t *out)
{
	if (v.p == NULL || v.n == 0 || v.n > 20)
		return -1;
	char tmp[24];
	memcpy(tmp, v.p, v.n);
	tmp[v.n] = '\0';
	char *end;
	long long x = strtoll(tmp, &end, 10);
	if (*end != '\0' || end == tmp)
		return -1;
	*out = x;
	return 0;
}

/* The content of a string token without escapes into out (cap bytes);
 * 0, or -1 when it is not a plain string that fits. */
static int
span_str(Span v, char *out, size_t cap)
{
	if (v.p == NULL || v.n < 2 || v.p[0] != '"' || v.n - 2 >= cap)
		return -1;
	if (memchr(v.p + 1, '\\', v.n - 2))
		return -1;
	memcpy(out, v.p + 1, v.n - 2);
	out[v.n - 2] = '\0';
	return 0;
}

/* ---- envelopes ---- */

typedef struct Change {
	MsgOp op;
	const char *op_code; /* "c", "u", "d", "r" */
	int64_t ts_ms;
	Span lsn;
	Span connector, db, table;
	Span row; /* the row object */
	/* Cosmos delete without `previous`: the row is built from these */
	Span del_id;
	Span del_pk;
} Change;

static void
put_span_or_null(Buf *o, Span v)
{
	if (v.p)
		buf_append(o, v.p, v.n);
	else
		buf_puts(o, "null");
}

static void
put_meta(MsgDecoder *d, Buf *o, const Change *c, int *first)
{
	for (int k = 0; k < META_COUNT; k++) {
		if (!(d->meta_mask & (1u << k)))
			continue;
		if (!*first)
			buf_putc(o, ',');
		*first = 0;
		buf_putc(o, '"');
		buf_puts(o, meta_names[k]);
		buf_puts(o, "\":");
		switch (k) {
		case META_OP:
			buf_putc(o, '"');
			buf_puts(o, c->op_code);
			buf_putc(o, '"');
			break;
		case META_TS_MS:
			if (c->ts_ms >= 0)
				buf_i64(o, c->ts_ms);
			else
				buf_puts(o, "null");
			break;
		case META_DELETED:
			buf_puts(o, c->op == MSG_OP_DELETE ? "true" : "false");
			break;
		case META_LSN:
			put_span_or_null(o, c->lsn);
			break;
		case META_SRC_CONNECTOR:
			put_span_or_null(o, c->connector);
			break;
		case META_SRC_DB:
			put_span_or_null(o, c->db);
			break;
		default:
			put_span_or_null(o, c->table);
			break;
		}
	}
}

/* Output: the row object followed by the metadata fields. */
static int
emit(MsgDecoder *d, const Change *c, const char **json, size_t *json_len, Err *e)
{
	if (c->row.p != NULL && d->meta_mask == 0) {
		*json = c->row.p;
		*json_len = c->row.n;
		return 0;
	}
	Buf *o = &d->env_buf;
	buf_reset(o);
	int first = 1;
	if (c->row.p != NULL) {
		/* the span is a valid object: drop its closing brace */
		size_t n = c->row.n - 1;
		buf_append(o, c->row.p, n);
		size_t k = 1;
		while (k < n && (unsigned char)c->row.p[k] <= 0x20)
			k++;
		first = k >= n;
	} else {
		buf_puts(o, "{\"id\":");
		buf_append(o, c->del_id.p, c->del_id.n);
		first = 0;
		if (span_is_obj(c->del_pk)) {
			Scan s = {c->del_pk.p, c->del_pk.n, 0, 0};
			int started = 0;
			Span k, v;
			while (obj_next(&s, &started, &k, &v, 0) == 1) {
				if (key_is(k, "id"))
					continue;
				buf_putc(o, ',');
				buf_append(o, k.p, k.n);
				buf_putc(o, ':');
				buf_append(o, v.p, v.n);
			}
		}
	}
	put_meta(d, o, c, &first);
	buf_putc(o, '}');
	if (o->oom)
		return err_set(e, ERR_NOMEM, "rendering a change row");
	*json = o->p;
	*json_len = o->len;
	return 0;
}

static int
bad_json(Scan *s, const char *who, Err *e)
{
	return err_set(e, ERR_BAD_JSON, "%s: invalid JSON at byte %zu", who, s->bad);
}

/* Checks that a delete's row object holds every primary-key column. */
static int
check_pk(MsgDecoder *d, Span row, const char *who, const char *where, Err *e)
{
	const Schema *sc = d->schema;
	if (sc == NULL || sc->npk == 0)
		return 0;
	for (int k = 0; k < sc->npk; k++) {
		Scan s = {row.p, row.n, 0, 0};
		int started = 0, found = 0;
		Span key, v;
		while (obj_next(&s, &started, &key, &v, 0) == 1)
			if (key_is(key, sc->pk[k]) && !span_is_null(v)) {
				found = 1;
				break;
			}
		if (!found)
			return err_set(e, ERR_BAD_RECORD,
			               "%s: delete without primary key column '%s' in %s", who,
			               sc->pk[k], where);
	}
	return 0;
}

static int
is_blank_or_null(const char *p, size_t n)
{
	Scan s = {p, n, 0, 0};
	ws(&s);
	if (s.i == n)
		return 1;
	if (n - s.i >= 4 && memcmp(p + s.i, "null", 4) == 0) {
		s.i += 4;
		ws(&s);
		return s.i == n;
	}
	return 0;
}

static int
debezium(MsgDecoder *d, const char *p, size_t n, const char **json, size_t *json_len, MsgMeta *meta,
         Err *e)
{
	static const char who[] = "Debezium";
	if (p == NULL || is_blank_or_null(p, n)) {
		*json = NULL; /* tombstone after a delete */
		*json_len = 0;
		return 0;
	}
	Scan s = {p, n, 0, 0};
	ws(&s);
	if (s.i >= n || p[s.i] != '{') {
		Scan chk = s;
		if (scan_value(&chk, 0))
			return bad_json(&chk, who, e);
		return err_set(e, ERR_BAD_RECORD, "%s: message is not a JSON object", who);
	}
	Span before = {0}, after = {0}, op = {0}, ts = {0}, source = {0}, payload = {0};
	int has_schema = 0, r, started = 0;
	Span k, v;
	while ((r = obj_next(&s, &started, &k, &v, 0)) == 1) {
		if (key_is(k, "before") && !before.p)
			before = v;
		else if (key_is(k, "after") && !after.p)
			after = v;
		else if (key_is(k, "op") && !op.p)
			op = v;
		else if (key_is(k, "ts_ms") && !ts.p)
			ts = v;
		else if (key_is(k, "source") && !source.p)
			source = v;
		else if (key_is(k, "payload") && !payload.p)
			payload = v;
		else if (key_is(k, "schema"))
			has_schema = 1;
	}
	if (r < 0)
		return bad_json(&s, who, e);
	ws(&s);
	if (s.i != n)
		return err_set(e, ERR_BAD_JSON,
		               "%s: invalid JSON at byte %zu (data after the object)", who, s.i);
	if (payload.p && (has_schema || !op.p)) {
		/* the JsonConverter's {"schema":..., "payload":...} wrapper */
		if (span_is_null(payload)) {
			*json = NULL;
			*json_len = 0;
			return 0;
		}
		if (!span_is_obj(payload))
			return err_set(e, ERR_BAD_RECORD, "%s: 'payload' is not an object", who);
		memset(&before, 0, sizeof before);
		after = op = ts = source = before;
		Scan ps = {payload.p, payload.n, 0, 0};
		started = 0;
		while ((r = obj_next(&ps, &started, &k, &v, 0)) == 1) {
			if (key_is(k, "before") && !before.p)
				before = v;
			else if (key_is(k, "after") && !after.p)
				after = v;
			else if (key_is(k, "op") && !op.p)
				op = v;
			else if (key_is(k, "ts_ms") && !ts.p)
				ts = v;
			else if (key_is(k, "source") && !source.p)
				source = v;
		}
	}
	Change c = {0};
	c.ts_ms = -1;
	char opc[8];
	if (op.p == NULL)
		return err_set(e, ERR_BAD_RECORD, "%s: missing 'op'", who);
	if (span_str(op, opc, sizeof opc) != 0 || strlen(opc) != 1)
		return err_set(e, ERR_BAD_RECORD, "%s: unknown op %.*s", who,
		               (int)(op.n > 40 ? 40 : op.n), op.p);
	if (!span_is_null(before) && !span_is_obj(before))
		return err_set(e, ERR_BAD_RECORD, "%s: 'before' is not an object", who);
	if (!span_is_null(after) && !span_is_obj(after))
		return err_set(e, ERR_BAD_RECORD, "%s: 'after' is not an object", who);
	if (source.p && !span_is_null(source)) {
		if (!span_is_obj(source))
			return err_set(e, ERR_BAD_RECORD, "%s: 'source' is not an object", who);
		Scan ss = {source.p, source.n, 0, 0};
		started = 0;
		while ((r = obj_next(&ss, &started, &k, &v, 0)) == 1) {
			if (key_is(k, "connector"))
				c.connector = v;
			else if (key_is(k, "db"))
				c.db = v;
			else if (key_is(k, "table"))
				c.table = v;
			else if (key_is(k, "lsn"))
				c.lsn = v;
			else if (key_is(k, "ts_ms"))
				(void)span_i64(v, &c.ts_ms);
		}
	}
	if (c.ts_ms < 0 && ts.p)
		(void)span_i64(ts, &c.ts_ms);
	if (span_is_null(c.lsn))
		c.lsn.p = NULL;
	switch (opc[0]) {
	case 'c':
		c.op = MSG_OP_CREATE;
		c.op_code = "c";
		break;
	case 'u':
		c.op = MSG_OP_UPDATE;
		c.op_code = "u";
		break;
	case 'r':
		c.op = MSG_OP_READ;
		c.op_code = "r";
		break;
	case 'd':
		c.op = MSG_OP_DELETE;
		c.op_code = "d";
		break;
	case 't':
		return err_set(
		        e, ERR_UNSUPPORTED,
		        "%s: op 't' (truncate%s%.*s) is not applied: truncate the table by hand",
		        who, c.table.p ? " of " : "", c.table.p ? (int)c.table.n : 0,
		        c.table.p ? c.table.p : "");
	default:
		return err_set(e, ERR_BAD_RECORD, "%s: unknown op '%s' (c, u, r, d)", who, opc);
	}
	if (c.op == MSG_OP_DELETE) {
		if (span_is_null(before))
			return err_set(e, ERR_BAD_RECORD, "%s: op 'd' without 'before'", who);
		c.row = before;
		int rc = check_pk(d, before, who, "'before'", e);
		if (rc)
			return rc;
	} else {
		if (span_is_null(after))
			return err_set(e, ERR_BAD_RECORD, "%s: op '%s' without 'after'", who, opc);
		c.row = after;
	}
	meta->op = c.op;
	meta->ts_ms = c.ts_ms;
	if (c.lsn.p == NULL || span_i64(c.lsn, &meta->lsn) != 0)
		meta->lsn = -1;
	return emit(d, &c, json, json_len, e);
}

static int
cosmos(MsgDecoder *d, const char *p, size_t n, const char **json, size_t *json_len, MsgMeta *meta,
       Err *e)
{
	static const char who[] = "Cosmos";
	if (p == NULL || n == 0)
		return err_set(e, ERR_BAD_RECORD, "empty message");
	Scan s = {p, n, 0, 0};
	ws(&s);
	if (s.i >= n || p[s.i] != '{') {
		Scan chk = s;
		if (scan_value(&chk, 0))
			return bad_json(&chk, who, e);
		return err_set(e, ERR_BAD_RECORD, "%s: message is not a JSON object", who);
	}
	size_t obj_start = s.i;
	Span current = {0}, previous = {0}, metadata = {0}, id = {0}, ts = {0}, lsn = {0};
	int r, started = 0;
	Span k, v;
	while ((r = obj_next(&s, &started, &k, &v, 0)) == 1) {
		if (key_is(k, "current") && !current.p)
			current = v;
		else if (key_is(k, "previous") && !previous.p)
			previous = v;
		else if (key_is(k, "metadata") && !metadata.p)
			metadata = v;
		else if (key_is(k, "id") && !id.p)
			id = v;
		else if (key_is(k, "_ts") && !ts.p)
			ts = v;
		else if (key_is(k, "_lsn") && !lsn.p)
			lsn = v;
	}
	if (r < 0)
		return bad_json(&s, who, e);
	size_t obj_end = s.i;
	ws(&s);
	if (s.i != n)
		return err_set(e, ERR_BAD_JSON,
		               "%s: invalid JSON at byte %zu (data after the object)", who, s.i);
	Span optype = {0}, crts = {0}, mlsn = {0}, mid = {0}, mpk = {0};
	if (span_is_obj(metadata)) {
		Scan ms = {metadata.p, metadata.n, 0, 0};
		started = 0;
		while ((r = obj_next(&ms, &started, &k, &v, 0)) == 1) {
			if (key_is(k, "operationType"))
				optype = v;
			else if (key_is(k, "crts"))
				crts = v;
			else if (key_is(k, "lsn"))
				mlsn = v;
			else if (key_is(k, "id"))
				mid = v;
			else if (key_is(k, "partitionKey"))
				mpk = v;
		}
	}
	int avad = d->cosmos == COSMOS_AVAD || (d->cosmos == COSMOS_AUTO && optype.p != NULL);
	Change c = {0};
	c.ts_ms = -1;
	if (!avad) {
		/* latest-version mode: the document is the row; create and
		 * update cannot be told apart, so it is an upsert */
		if (id.p == NULL || span_is_null(id))
			return err_set(e, ERR_BAD_RECORD, "%s: document without 'id'", who);
		int64_t sec;
		if (ts.p && span_i64(ts, &sec) == 0 && sec >= 0 && sec < INT64_MAX / 1000)
			c.ts_ms = sec * 1000;
		c.op = MSG_OP_UPDATE;
		c.op_code = "u";
		c.lsn = span_is_null(lsn) ? (Span){0} : lsn;
		c.row.p = p + obj_start;
		c.row.n = obj_end - obj_start;
	} else {
		char opn[32];
		if (optype.p == NULL)
			return err_set(e, ERR_BAD_RECORD, "%s: missing 'metadata.operationType'",
			               who);
		if (span_str(optype, opn, sizeof opn) != 0)
			return err_set(e, ERR_BAD_RECORD, "%s: unknown operationType %.*s", who,
			               (int)(optype.n > 40 ? 40 : optype.n), optype.p);
		if (!span_is_null(current) && !span_is_obj(current))
			return err_set(e, ERR_BAD_RECORD, "%s: 'current' is not an object", who);
		if (!span_is_null(previous) && !span_is_obj(previous))
			return err_set(e, ERR_BAD_RECORD, "%s: 'previous' is not an object", who);
		if (strcasecmp(opn, "create") == 0) {
			c.op = MSG_OP_CREATE;
			c.op_code = "c";
		} else if (strcasecmp(opn, "replace") == 0) {
			c.op = MSG_OP_UPDATE;
			c.op_code = "u";
		} else if (strcasecmp(opn, "delete") == 0) {
			c.op = MSG_OP_DELETE;
			c.op_code = "d";
		} else {
			return err_set(e, ERR_BAD_RECORD,
			               "%s: unknown operationType '%s' (create, replace, delete)",
			               who, opn);
		}
		int64_t sec;
		if (crts.p && span_i64(crts, &sec) == 0 && sec >= 0 && sec < INT64_MAX / 1000)
			c.ts_ms = sec * 1000;
		c.lsn = span_is_null(mlsn) ? (Span){0} : mlsn;
		if (c.op == MSG_OP_DELETE) {
			if (span_is_obj(previous)) {
				c.row = previous;
				int rc = check_pk(d, previous, who, "'previous'", e);
				if (rc)
					return rc;
			} else if (mid.p && !span_is_null(mid)) {
				c.del_id = mid;
				c.del_pk = mpk;
			} else {
				return err_set(e, ERR_BAD_RECORD,
				               "%s: delete without 'previous' or 'metadata.id'",
				               who);
			}
		} else {
			if (!span_is_obj(current))
				return err_set(e, ERR_BAD_RECORD,
				               "%s: operationType '%s' without 'current'", who,
				               opn);
			c.row = current;
			if (c.ts_ms < 0) {
				Scan cs = {current.p, current.n, 0, 0};
				started = 0;
				while ((r = obj_next(&cs, &started, &k, &v, 0)) == 1)
					if (key_is(k, "_ts") && span_i64(v, &sec) == 0 &&
					    sec >= 0 && sec < INT64_MAX / 1000) {
						c.ts_ms = sec * 1000;
						break;
					}
			}
		}
	}
	meta->op = c.op;
	meta->ts_ms = c.ts_ms;
	if (c.lsn.p == NULL || span_i64(c.lsn, &meta->lsn) != 0)
		meta->lsn = -1;
	if (c.row.p == NULL && c.del_id.p == NULL)
		return err_set(e, ERR_INTERNAL, "%s: no row", who);
	return emit(d, &c, json, json_len, e);
}

/* ---- decoding ---- */

int
msgdec_decode(MsgDecoder *d, const void *msg, size_t len, const char **json, size_t *json_len,
              MsgMeta *meta, Err *e)
{
	const char *p = msg;
	size_t n = p ? len : 0;
	meta->op = MSG_OP_NONE;
	meta->ts_ms = -1;
	meta->lsn = -1;
	*json = NULL;
	*json_len = 0;
	if (n == 0 && d->env == MSG_ENV_DEBEZIUM) /* tombstone */
		return debezium(d, NULL, 0, json, json_len, meta, e);
	if (n == 0)
		return err_set(e, ERR_BAD_RECORD, "empty message");
	if (d->header_len) {
		if (n < d->header_len)
			return err_set(e, ERR_BAD_RECORD,
			               "%s: %zu-byte message is shorter than the %zu-byte header",
			               d->wire_name, n, d->header_len);
		if (p[0] != 0)
			return err_set(e, ERR_BAD_RECORD, "%s: magic byte 0x%02x, expected 0x00",
			               d->wire_name, (unsigned char)p[0]);
		p += d->header_len;
		n -= d->header_len;
	}
	const char *body = p;
	size_t body_len = n;
	int rc;
	switch (d->fmt) {
	case MSG_JSON:
		break;
	case MSG_AVRO:
		buf_reset(&d->fmt_buf);
		if ((rc = avroread_datum_decode(d->avro, p, n, &d->fmt_buf, e)) != 0)
			return rc;
		body = d->fmt_buf.p;
		body_len = d->fmt_buf.len;
		break;
	case MSG_CSV:
		if ((rc = decode_csv(d, p, n, e)) != 0)
			return rc;
		body = d->fmt_buf.p;
		body_len = d->fmt_buf.len;
		break;
	}
	switch (d->env) {
	case MSG_ENV_DEBEZIUM:
		return debezium(d, body, body_len, json, json_len, meta, e);
	case MSG_ENV_COSMOS:
		return cosmos(d, body, body_len, json, json_len, meta, e);
	default:
		*json = body;
		*json_len = body_len;
		return 0;
	}
}
