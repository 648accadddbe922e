/*
 * avroread.c -- Avro object container files to NDJSON lines, over libavro.
 *
 * How it works: avroread_open() opens the file with libavro's file reader,
 * takes the writer schema from the header and makes one generic value of
 * it, reused for every record.  avroread_next() reads the next record into
 * that value and walks it recursively (see avroread.h for the mapping),
 * appending JSON to the caller's Buf.  Nothing is allocated per record by
 * this module; libavro reuses the value's storage.
 *
 * Codecs: Debian's libavro handles null, deflate, snappy and lzma.  The
 * codec is read from the container header first, because libavro does not
 * reliably refuse an unknown one; any other codec (zstandard, bzip2, xz)
 * fails in avroread_open() with ERR_UNSUPPORTED naming the codec.
 *
 * Ownership: AvroRead owns the libavro reader, the writer schema (libavro
 * returns it with a reference taken), the value interface and the value;
 * avroread_close() releases them with libavro's own functions.
 *
 * Single datums (Kafka message bodies): avroread_datum_create() compiles a
 * writer schema into a flat node table owned by the AvroDatum (its arena);
 * avroread_datum_decode() walks one datum's bytes against it with bounds
 * checks and renders the same JSON (see the comment above DNode below).
 * Bad bytes give ERR_BAD_RECORD naming the byte offset and field.
 *
 * Exports: avroread_open, avroread_next, avroread_count, avroread_close,
 * avroread_datum_create, avroread_datum_decode, avroread_datum_free.
 */
#include "ingest/avroread.h"
#include "base/arena.h"
#include "base/mem.h"
#include "ingest/convert.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <avro.h>

struct AvroRead {
	avro_file_reader_t reader;
	avro_schema_t schema;
	avro_value_iface_t *iface;
	avro_value_t value;
	int have_value;
	long long count;
	char path[256];
};

#define MAX_DEPTH 64

#define HEADER_MAX (1 << 20)

static int
read_varint(const unsigned char *p, size_t n, size_t *i, int64_t *out)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (*i >= n)
			return -1;
		unsigned char c = p[(*i)++];
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
			return 0;
		}
	}
	return -1;
}

/* Finds the "avro.codec" entry of the container header's metadata map.
 * Returns 0 with codec set ("null" when absent), -1 when the header cannot
 * be parsed (libavro then reports the problem). */
static int
header_codec(const char *path, char *codec, size_t cap)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	unsigned char *h = mem_alloc(HEADER_MAX);
	if (h == NULL) {
		fclose(f);
		return -1;
	}
	size_t n = fread(h, 1, HEADER_MAX, f);
	fclose(f);
	int rc = -1;
	size_t i = 4;
	snprintf(codec, cap, "null");
	for (;;) {
		int64_t count, len;
		if (read_varint(h, n, &i, &count))
			goto done;
		if (count == 0)
			break;
		if (count < 0) {
			int64_t bytes;
			count = -count;
			if (read_varint(h, n, &i, &bytes))
				goto done;
		}
		for (int64_t k = 0; k < count; k++) {
			if (read_varint(h, n, &i, &len) || len < 0 || (uint64_t)len > n - i)
				goto done;
			int is_codec = len == 10 && memcmp(h + i, "avro.codec", 10) == 0;
			i += (size_t)len;
			if (read_varint(h, n, &i, &len) || len < 0 || (uint64_t)len > n - i)
				goto done;
			if (is_codec) {
				size_t m = (size_t)len < cap - 1 ? (size_t)len : cap - 1;
				for (size_t c = 0; c < m; c++) {
					unsigned char ch = h[i + c];
					codec[c] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
				}
				codec[m] = '\0';
			}
			i += (size_t)len;
		}
	}
	rc = 0;
done:
	mem_free(h);
	return rc;
}

int
avroread_open(const char *path, AvroRead **out, Err *e)
{
	*out = NULL;
	FILE *probe = fopen(path, "rb");
	if (probe == NULL)
		return err_set(e, ERR_IO, "open %s: %s", path, strerror(errno));
	char magic[4] = {0};
	size_t got = fread(magic, 1, 4, probe);
	fclose(probe);
	if (got != 4 || memcmp(magic, "Obj\x01", 4) != 0)
		return err_set(e, ERR_BAD_RECORD, "%s: not an Avro object container file", path);

	char codec[32];
	if (header_codec(path, codec, sizeof codec) == 0 && strcmp(codec, "null") != 0 &&
	    strcmp(codec, "deflate") != 0 && strcmp(codec, "snappy") != 0 &&
	    strcmp(codec, "lzma") != 0)
		return err_set(e, ERR_UNSUPPORTED,
			       "%s: Avro codec '%s' is not supported (supported: null, deflate, "
			       "snappy, lzma)", path, codec);

	AvroRead *r = mem_calloc(1, sizeof *r);
	if (r == NULL)
		return err_set(e, ERR_NOMEM, "opening %s", path);
	snprintf(r->path, sizeof r->path, "%s", path);
	if (avro_file_reader(path, &r->reader) != 0) {
		err_set(e, ERR_BAD_RECORD, "%s: %s", path, avro_strerror());
		mem_free(r);
		return ERR_BAD_RECORD;
	}
	r->schema = avro_file_reader_get_writer_schema(r->reader);
	r->iface = r->schema ? avro_generic_class_from_schema(r->schema) : NULL;
	if (r->iface == NULL || avro_generic_value_new(r->iface, &r->value) != 0) {
		err_set(e, ERR_BAD_RECORD, "%s: unusable writer schema: %s", path,
			avro_strerror());
		avroread_close(r);
		return ERR_BAD_RECORD;
	}
	r->have_value = 1;
	*out = r;
	return 0;
}

static void
put_hex(Buf *b, const void *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = p;
	buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		char h[2] = {hex[s[i] >> 4], hex[s[i] & 15]};
		buf_append(b, h, 2);
	}
	buf_putc(b, '"');
}

static void
put_double(Buf *b, double d)
{
	if (!isfinite(d))
		buf_puts(b, "null");
	else
		buf_json_double(b, d);
}

static int
render(avro_value_t *v, Buf *b, int depth)
{
	if (depth > MAX_DEPTH)
		return -1;
	switch (avro_value_get_type(v)) {
	case AVRO_NULL:
		buf_puts(b, "null");
		return 0;
	case AVRO_BOOLEAN: {
		int x;
		if (avro_value_get_boolean(v, &x))
			return -1;
		buf_puts(b, x ? "true" : "false");
		return 0;
	}
	case AVRO_INT32: {
		int32_t x;
		if (avro_value_get_int(v, &x))
			return -1;
		buf_i64(b, x);
		return 0;
	}
	case AVRO_INT64: {
		int64_t x;
		if (avro_value_get_long(v, &x))
			return -1;
		buf_i64(b, x);
		return 0;
	}
	case AVRO_FLOAT: {
		float x;
		if (avro_value_get_float(v, &x))
			return -1;
		put_double(b, (double)x);
		return 0;
	}
	case AVRO_DOUBLE: {
		double x;
		if (avro_value_get_double(v, &x))
			return -1;
		put_double(b, x);
		return 0;
	}
	case AVRO_STRING: {
		const char *s;
		size_t n;
		if (avro_value_get_string(v, &s, &n))
			return -1;
		buf_json_str(b, s, n > 0 ? n - 1 : 0);	/* n counts the NUL */
		return 0;
	}
	case AVRO_BYTES: {
		const void *p;
		size_t n;
		if (avro_value_get_bytes(v, &p, &n))
			return -1;
		put_hex(b, p, n);
		return 0;
	}
	case AVRO_FIXED: {
		const void *p;
		size_t n;
		if (avro_value_get_fixed(v, &p, &n))
			return -1;
		put_hex(b, p, n);
		return 0;
	}
	case AVRO_ENUM: {
		int x;
		if (avro_value_get_enum(v, &x))
			return -1;
		const char *sym = avro_schema_enum_get(avro_value_get_schema(v), x);
		if (sym == NULL)
			return -1;
		buf_json_str(b, sym, strlen(sym));
		return 0;
	}
	case AVRO_UNION: {
		avro_value_t branch;
		if (avro_value_get_current_branch(v, &branch))
			return -1;
		return render(&branch, b, depth + 1);
	}
	case AVRO_RECORD:
	case AVRO_MAP: {
		size_t n;
		if (avro_value_get_size(v, &n))
			return -1;
		buf_putc(b, '{');
		for (size_t i = 0; i < n; i++) {
			avro_value_t child;
			const char *name = NULL;
			if (avro_value_get_by_index(v, i, &child, &name) || name == NULL)
				return -1;
			if (i)
				buf_putc(b, ',');
			buf_json_str(b, name, strlen(name));
			buf_putc(b, ':');
			if (render(&child, b, depth + 1))
				return -1;
		}
		buf_putc(b, '}');
		return 0;
	}
	case AVRO_ARRAY: {
		size_t n;
		if (avro_value_get_size(v, &n))
			return -1;
		buf_putc(b, '[');
		for (size_t i = 0; i < n; i++) {
			avro_value_t child;
			if (avro_value_get_by_index(v, i, &child, NULL))
				return -1;
			if (i)
				buf_putc(b, ',');
			if (render(&child, b, depth + 1))
				return -1;
		}
		buf_putc(b, ']');
		return 0;
	}
	default:
		return -1;
	}
}

int
avroread_next(AvroRead *r, Buf *json_line, Err *e)
{
	buf_reset(json_line);
	avro_value_reset(&r->value);
	int rc = avro_file_reader_read_value(r->reader, &r->value);
	if (rc == EOF)
		return 0;
	if (rc != 0)
		return err_set(e, ERR_CORRUPT, "%s: record %lld: %s", r->path, r->count + 1,
			       avro_strerror());
	if (render(&r->value, json_line, 0) != 0)
		return err_set(e, ERR_CORRUPT, "%s: record %lld: cannot render value", r->path,
			       r->count + 1);
	if (json_line->oom)
		return err_set(e, ERR_NOMEM, "%s: record %lld", r->path, r->count + 1);
	r->count++;
	return 1;
}

long long
avroread_count(const AvroRead *r)
{
	return r->count;
}

void
avroread_close(AvroRead *r)
{
	if (r == NULL)
		return;
	if (r->have_value)
		avro_value_decref(&r->value);
	if (r->iface)
		avro_value_iface_decref(r->iface);
	if (r->schema)
		avro_schema_decref(r->schema);
	if (r->reader)
		avro_file_reader_close(r->reader);
	mem_free(r);
}

/*
 * Single datums.  The writer schema is compiled into a flat table of
 * DNodes (named references resolved to node indices, so recursive schemas
 * work) with record keys and enum symbols pre-rendered as JSON.  Decoding
 * walks the bytes against the table: every length and count is checked
 * against the bytes left before anything is read, so garbage input is an
 * error, never a large allocation or a long loop (libavro's own reader
 * allocates a string's length before checking it).  Nothing is allocated
 * per datum except growth of the caller's Buf.
 */

#define DATUM_MAX_DEPTH 64
#define DATUM_MAX_NODES 100000
#define DATUM_MAX_EMPTY_ITEMS (1 << 20)	/* array/map items that take 0 bytes */

typedef struct DNode {
	avro_type_t type;
	int n;			/* record fields, union branches, enum symbols */
	int *kid;		/* record fields, union branches: node indices */
	const char **jname;	/* record: "\"f\":" ; enum: "\"sym\"" */
	uint32_t *jlen;
	const char **fname;	/* record field names, for messages */
	int item;		/* array items, map values */
	int64_t fixed;		/* fixed size */
	int empty;		/* 1: the datum can take zero bytes */
} DNode;

struct AvroDatum {
	avro_schema_t schema;
	DNode *nodes;
	avro_schema_t *src;	/* schema of each node (memo) */
	int nnodes, cap;
	Arena arena;
	/* per-decode state */
	const unsigned char *p;
	size_t n, i;
	Buf *out;
	const char *field;	/* innermost record field being decoded */
	uint64_t empty_items;
	Err *e;
};

static int
dnode_new(AvroDatum *d, avro_schema_t s)
{
	if (d->nnodes == d->cap) {
		if (d->cap >= DATUM_MAX_NODES)
			return -1;
		int cap = d->cap ? d->cap * 2 : 16;
		DNode *nn = mem_realloc(d->nodes, (size_t)cap * sizeof *nn);
		if (nn == NULL)
			return -1;
		d->nodes = nn;
		avro_schema_t *ns = mem_realloc(d->src, (size_t)cap * sizeof *ns);
		if (ns == NULL)
			return -1;
		d->src = ns;
		d->cap = cap;
	}
	memset(&d->nodes[d->nnodes], 0, sizeof d->nodes[0]);
	d->nodes[d->nnodes].type = avro_typeof(s);
	d->src[d->nnodes] = s;
	return d->nnodes++;
}

/* Renders name as a JSON string (with a trailing ':' if colon) into the
 * arena. */
static const char *
jname(AvroDatum *d, const char *name, int colon, uint32_t *len)
{
	Buf b;
	buf_init(&b);
	buf_json_str(&b, name, strlen(name));
	if (colon)
		buf_putc(&b, ':');
	char *s = b.oom ? NULL : arena_strndup(&d->arena, b.p, b.len);
	*len = (uint32_t)b.len;
	buf_free(&b);
	return s;
}

/* Returns the node index of s, or -1 (out of memory or too deep/large). */
static int
compile(AvroDatum *d, avro_schema_t s, int depth)
{
	if (depth > 1000 || s == NULL)
		return -1;
	if (is_avro_link(s))
		s = avro_schema_link_target(s);
	if (s == NULL)
		return -1;
	for (int k = 0; k < d->nnodes; k++)
		if (d->src[k] == s)
			return k;
	int me = dnode_new(d, s);
	if (me < 0)
		return -1;
	switch (avro_typeof(s)) {
	case AVRO_RECORD: {
		int n = (int)avro_schema_record_size(s);
		int *kid = arena_alloc(&d->arena, sizeof(int) * (size_t)(n + 1));
		const char **jn = arena_alloc(&d->arena, sizeof(char *) * (size_t)(n + 1));
		const char **fn = arena_alloc(&d->arena, sizeof(char *) * (size_t)(n + 1));
		uint32_t *jl = arena_alloc(&d->arena, sizeof(uint32_t) * (size_t)(n + 1));
		if (!kid || !jn || !fn || !jl)
			return -1;
		for (int i = 0; i < n; i++) {
			const char *name = avro_schema_record_field_name(s, i);
			avro_schema_t fs = avro_schema_record_field_get_by_index(s, i);
			if (name == NULL || fs == NULL)
				return -1;
			fn[i] = arena_strdup(&d->arena, name);
			jn[i] = jname(d, name, 1, &jl[i]);
			if (fn[i] == NULL || jn[i] == NULL)
				return -1;
			int k = compile(d, fs, depth + 1);
			if (k < 0)
				return -1;
			kid[i] = k;
		}
		DNode *nd = &d->nodes[me];
		nd->n = n;
		nd->kid = kid;
		nd->jname = jn;
		nd->jlen = jl;
		nd->fname = fn;
		return me;
	}
	case AVRO_ENUM: {
		int n = avro_schema_enum_number_of_symbols(s);
		if (n < 0)
			return -1;
		const char **jn = arena_alloc(&d->arena, sizeof(char *) * (size_t)(n + 1));
		uint32_t *jl = arena_alloc(&d->arena, sizeof(uint32_t) * (size_t)(n + 1));
		if (!jn || !jl)
			return -1;
		for (int i = 0; i < n; i++) {
			const char *sym = avro_schema_enum_get(s, i);
			if (sym == NULL || (jn[i] = jname(d, sym, 0, &jl[i])) == NULL)
				return -1;
		}
		d->nodes[me].n = n;
		d->nodes[me].jname = jn;
		d->nodes[me].jlen = jl;
		return me;
	}
	case AVRO_UNION: {
		int n = (int)avro_schema_union_size(s);
		int *kid = arena_alloc(&d->arena, sizeof(int) * (size_t)(n + 1));
		if (kid == NULL)
			return -1;
		for (int i = 0; i < n; i++) {
			int k = compile(d, avro_schema_union_branch(s, i), depth + 1);
			if (k < 0)
				return -1;
			kid[i] = k;
		}
		d->nodes[me].n = n;
		d->nodes[me].kid = kid;
		return me;
	}
	case AVRO_ARRAY:
	case AVRO_MAP: {
		avro_schema_t is = avro_typeof(s) == AVRO_ARRAY ? avro_schema_array_items(s)
								 : avro_schema_map_values(s);
		int k = compile(d, is, depth + 1);
		if (k < 0)
			return -1;
		d->nodes[me].item = k;
		return me;
	}
	case AVRO_FIXED:
		d->nodes[me].fixed = avro_schema_fixed_size(s);
		if (d->nodes[me].fixed < 0)
			return -1;
		return me;
	case AVRO_NULL:
	case AVRO_BOOLEAN:
	case AVRO_INT32:
	case AVRO_INT64:
	case AVRO_FLOAT:
	case AVRO_DOUBLE:
	case AVRO_STRING:
	case AVRO_BYTES:
		return me;
	default:
		return -1;
	}
}

/* 1 if node k can be encoded in zero bytes (null, fixed(0), a record of
 * such fields).  visiting guards recursive records. */
static int
node_empty(AvroDatum *d, int k, unsigned char *visiting)
{
	DNode *nd = &d->nodes[k];
	switch (nd->type) {
	case AVRO_NULL:
		return 1;
	case AVRO_FIXED:
		return nd->fixed == 0;
	case AVRO_RECORD:
		if (visiting[k])
			return 0;
		visiting[k] = 1;
		for (int i = 0; i < nd->n; i++)
			if (!node_empty(d, nd->kid[i], visiting)) {
				visiting[k] = 0;
				return 0;
			}
		visiting[k] = 0;
		return 1;
	default:
		return 0;
	}
}

int
avroread_datum_create(const char *schema_json, size_t len, AvroDatum **out, Err *e)
{
	*out = NULL;
	AvroDatum *d = mem_calloc(1, sizeof *d);
	if (d == NULL)
		return err_set(e, ERR_NOMEM, "Avro schema");
	arena_init(&d->arena, 4096);
	if (avro_schema_from_json_length(schema_json, len, &d->schema) != 0) {
		err_set(e, ERR_BAD_CONFIG, "Avro schema does not parse: %s", avro_strerror());
		avroread_datum_free(d);
		return ERR_BAD_CONFIG;
	}
	avro_schema_t root = d->schema;
	if (is_avro_link(root))
		root = avro_schema_link_target(root);
	if (!is_avro_record(root)) {
		err_set(e, ERR_BAD_CONFIG, "Avro schema must be a record, not %s",
			avro_schema_type_name(root));
		avroread_datum_free(d);
		return ERR_BAD_CONFIG;
	}
	if (compile(d, root, 0) != 0) {
		err_set(e, ERR_NOMEM, "compiling the Avro schema");
		avroread_datum_free(d);
		return ERR_NOMEM;
	}
	unsigned char *visiting = mem_calloc((size_t)d->nnodes, 1);
	if (visiting == NULL) {
		avroread_datum_free(d);
		return err_set(e, ERR_NOMEM, "compiling the Avro schema");
	}
	for (int k = 0; k < d->nnodes; k++)
		d->nodes[k].empty = node_empty(d, k, visiting);
	mem_free(visiting);
	*out = d;
	return 0;
}

void
avroread_datum_free(AvroDatum *d)
{
	if (d == NULL)
		return;
	if (d->schema)
		avro_schema_decref(d->schema);
	mem_free(d->nodes);
	mem_free(d->src);
	arena_free(&d->arena);
	mem_free(d);
}

static int
dfail(AvroDatum *d, size_t at, const char *what)
{
	if (d->field)
		return err_set(d->e, ERR_BAD_RECORD, "Avro: %s at byte %zu (field '%s')", what, at,
			       d->field);
	return err_set(d->e, ERR_BAD_RECORD, "Avro: %s at byte %zu", what, at);
}

static int
dlong(AvroDatum *d, int64_t *v)
{
	size_t at = d->i;
	uint64_t u = 0;
	for (int shift = 0; shift < 70; shift += 7) {
		if (d->i >= d->n)
			return dfail(d, at, "truncated record");
		unsigned char c = d->p[d->i++];
		if (shift == 63 && (c & 0x7e))
			return dfail(d, at, "varint out of range");
		u |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
			return 0;
		}
	}
	return dfail(d, at, "varint longer than 10 bytes");
}

/* Reads a length-prefixed byte string: *s, *len. */
static int
dbytes(AvroDatum *d, const unsigned char **s, size_t *len)
{
	size_t at = d->i;
	int64_t l;
	int rc = dlong(d, &l);
	if (rc)
		return rc;
	if (l < 0)
		return dfail(d, at, "negative length");
	if ((uint64_t)l > d->n - d->i)
		return dfail(d, at, "truncated record");
	*s = d->p + d->i;
	*len = (size_t)l;
	d->i += (size_t)l;
	return 0;
}

static int
dstring(AvroDatum *d)
{
	const unsigned char *s;
	size_t len;
	size_t at = d->i;
	int rc = dbytes(d, &s, &len);
	if (rc)
		return rc;
	if (!convert_utf8_valid((const char *)s, len))
		return dfail(d, at, "invalid UTF-8 in string");
	buf_json_str(d->out, (const char *)s, len);
	return 0;
}

static uint64_t
le_bytes(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int k = n - 1; k >= 0; k--)
		v = v << 8 | p[k];
	return v;
}

static int ddatum(AvroDatum *d, int k, int depth);

/* Array and map blocks: counts checked before any item is read. */
static int
dblocks(AvroDatum *d, int k, int depth, int is_map)
{
	int item = d->nodes[k].item;
	int first = 1;
	buf_putc(d->out, is_map ? '{' : '[');
	for (;;) {
		size_t at = d->i;
		int64_t count;
		int rc = dlong(d, &count);
		if (rc)
			return rc;
		if (count == 0)
			break;
		if (count < 0) {
			if (count == INT64_MIN)
				return dfail(d, at, "bad block count");
			count = -count;
			int64_t bytes;
			if ((rc = dlong(d, &bytes)) != 0)
				return rc;
			if (bytes < 0 || (uint64_t)bytes > d->n - d->i)
				return dfail(d, at, "truncated record");
		}
		if (is_map || !d->nodes[item].empty) {
			if ((uint64_t)count > d->n - d->i)
				return dfail(d, at, "truncated record");
		} else {
			d->empty_items += (uint64_t)count;
			if (d->empty_items > DATUM_MAX_EMPTY_ITEMS)
				return dfail(d, at, "too many zero-size array items");
		}
		for (int64_t c = 0; c < count; c++) {
			if (!first)
				buf_putc(d->out, ',');
			first = 0;
			if (is_map) {
				if ((rc = dstring(d)) != 0)
					return rc;
				buf_putc(d->out, ':');
			}
			if ((rc = ddatum(d, item, depth + 1)) != 0)
				return rc;
		}
	}
	buf_putc(d->out, is_map ? '}' : ']');
	return 0;
}

static int
ddatum(AvroDatum *d, int k, int depth)
{
	DNode *nd = &d->nodes[k];
	size_t at = d->i;
	int rc;
	int64_t v;
	if (depth > DATUM_MAX_DEPTH)
		return dfail(d, at, "nesting deeper than 64");
	switch (nd->type) {
	case AVRO_NULL:
		buf_puts(d->out, "null");
		return 0;
	case AVRO_BOOLEAN:
		if (d->i >= d->n)
			return dfail(d, at, "truncated record");
		if (d->p[d->i] > 1)
			return dfail(d, at, "bad boolean byte");
		buf_puts(d->out, d->p[d->i++] ? "true" : "false");
		return 0;
	case AVRO_INT32:
		if ((rc = dlong(d, &v)) != 0)
			return rc;
		if (v < INT32_MIN || v > INT32_MAX)
			return dfail(d, at, "int out of range");
		buf_i64(d->out, v);
		return 0;
	case AVRO_INT64:
		if ((rc = dlong(d, &v)) != 0)
			return rc;
		buf_i64(d->out, v);
		return 0;
	case AVRO_FLOAT: {
		if (d->n - d->i < 4)
			return dfail(d, at, "truncated record");
		uint32_t u = (uint32_t)le_bytes(d->p + d->i, 4);
		float f;
		memcpy(&f, &u, 4);
		d->i += 4;
		put_double(d->out, (double)f);
		return 0;
	}
	case AVRO_DOUBLE: {
		if (d->n - d->i < 8)
			return dfail(d, at, "truncated record");
		uint64_t u = le_bytes(d->p + d->i, 8);
		double x;
		memcpy(&x, &u, 8);
		d->i += 8;
		put_double(d->out, x);
		return 0;
	}
	case AVRO_STRING:
		return dstring(d);
	case AVRO_BYTES: {
		const unsigned char *s;
		size_t len;
		if ((rc = dbytes(d, &s, &len)) != 0)
			return rc;
		put_hex(d->out, s, len);
		return 0;
	}
	case AVRO_FIXED:
		if ((uint64_t)nd->fixed > d->n - d->i)
			return dfail(d, at, "truncated record");
		put_hex(d->out, d->p + d->i, (size_t)nd->fixed);
		d->i += (size_t)nd->fixed;
		return 0;
	case AVRO_ENUM:
		if ((rc = dlong(d, &v)) != 0)
			return rc;
		if (v < 0 || v >= nd->n)
			return dfail(d, at, "enum index out of range");
		buf_append(d->out, nd->jname[v], nd->jlen[v]);
		return 0;
	case AVRO_UNION:
		if ((rc = dlong(d, &v)) != 0)
			return rc;
		if (v < 0 || v >= nd->n)
			return dfail(d, at, "union branch out of range");
		return ddatum(d, nd->kid[v], depth + 1);
	case AVRO_RECORD: {
		const char *outer = d->field;
		buf_putc(d->out, '{');
		for (int f = 0; f < nd->n; f++) {
			if (f)
				buf_putc(d->out, ',');
			buf_append(d->out, nd->jname[f], nd->jlen[f]);
			d->field = nd->fname[f];
			if ((rc = ddatum(d, nd->kid[f], depth + 1)) != 0)
				return rc;
		}
		d->field = outer;
		buf_putc(d->out, '}');
		return 0;
	}
	case AVRO_ARRAY:
		return dblocks(d, k, depth, 0);
	case AVRO_MAP:
		return dblocks(d, k, depth, 1);
	default:
		return dfail(d, at, "unsupported Avro type");
	}
}

int
avroread_datum_decode(AvroDatum *d, const void *p, size_t n, Buf *out, Err *e)
{
	d->p = p;
	d->n = p ? n : 0;
	d->i = 0;
	d->out = out;
	d->field = NULL;
	d->empty_items = 0;
	d->e = e;
	int rc = ddatum(d, 0, 0);
	if (rc == 0 && d->i != d->n)
		rc = err_set(e, ERR_BAD_RECORD, "Avro: %zu trailing bytes after the record at byte %zu",
			     d->n - d->i, d->i);
	if (rc == 0 && out->oom)
		rc = err_set(e, ERR_NOMEM, "Avro: rendering a %zu-byte record", n);
	d->p = NULL;
	d->out = NULL;
	d->e = NULL;
	return rc;
}
