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
 * Exports: avroread_open, avroread_next, avroread_count, avroread_close.
 */
#include "ingest/avroread.h"
#include "base/mem.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
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
