/*
 * jsonrec.c -- schema-directed decoder of one NDJSON record (a JSON
 * object) into one RowBatch row, replacing cJSON on the push-ingest path.
 *
 * How it works: one pass over the record's bytes.  The top-level object's
 * keys are matched to columns first by a key-order cache (the k-th key of
 * the previous record: one length compare and memcmp when producers send
 * keys in a stable order), else by an open-addressing hash table of the
 * column names built at create time.  A matched value is converted
 * straight into the row:
 *   strings for STRING columns are unescaped into the RowBatch arena (a
 *     SWAR scan finds the closing quote; UTF-8 is validated only when a
 *     byte >= 0x80 or an escape was seen);
 *   numbers go to convert_jvalue as their text (integers exact as int64,
 *     doubles through convert_jnumber's exact fast path or strtod);
 *   arrays of multi-value columns are converted element by element into
 *     a reusable scratch array, then copied to the arena;
 *   arrays and objects for STRING/JSON columns are validated, then printed
 *     compactly exactly as cJSON_PrintUnformatted prints them;
 *   everything else goes through convert_jvalue, which holds the rules.
 * Unknown keys' values are validated and skipped by an iterative scanner
 * whose explicit stack is bounded by JSONREC_MAX_DEPTH (no recursion).
 *
 * Compatibility: the grammar and the error byte offsets are cJSON 1.7's
 * (it skips bytes <= 0x20 as whitespace, accepts raw control bytes in
 * strings, numbers as strtod reads them from at most 63 bytes of
 * [0-9+-.eE] -- so "01", "1." and "-.5" are numbers -- a BOM at offset 0
 * of a record of >= 5 bytes, and at most 1000 nested containers).  A
 * column's value that fails conversion does not stop the parse: the whole
 * record must still be valid JSON, a syntax error wins over a conversion
 * error, the last of duplicate keys wins (as the cJSON path's "last
 * member wins"), and the error reported is that of the first failing
 * column in schema order -- its message is rebuilt at the end by
 * converting that column's last value again through the general path.
 * Deliberate differences from the cJSON path (tests/unit/ingest/
 * test_ingest_jsonrec.c checks them):
 *   - integers beyond 2^53 are exact for INT/LONG/TIMESTAMP (cJSON's
 *     doubles lost digits, so the old path rejected them, except a
 *     workaround for top-level LONG/TIMESTAMP), and a STRING column keeps
 *     such an integer's exact digits;
 *   - strings keep NUL bytes (from \u0000 or raw): cJSON cut every
 *     string and key at the first NUL, so a key "id\u0000x" matched
 *     column "id" and "a\u0000b" was stored as "a";
 *   - "\u" followed by a non-hex digit is invalid JSON (cJSON read it as
 *     U+0000 and truncated the string there).
 *
 * Memory: the JsonRec owns the hash table, the key cache (at most 256
 * entries), per-column stamps, the MV scratch array and two Bufs; all are
 * reused, so steady state allocates nothing per record.  Row strings and
 * MV arrays go to the RowBatch arena.
 *
 * Failure: ERR_NOMEM aborts; bad input only rejects the record.
 *
 * Exports: jsonrec_create, jsonrec_free, jsonrec_lookup, jsonrec_decode,
 * jsonrec_decode_cjson.
 */
#include "ingest/jsonrec.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/mem.h"
#include "ingest/convert.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

typedef unsigned char uchar;

#define KEY_INLINE 24
#define MAX_CACHED_KEYS 256
#define MAX_NUMBER 63		/* cJSON reads at most 63 bytes of a number */

/* internal results besides 0, ERR_NOMEM */
enum { SYNTAX = 1, CONV_BAD = 2 };

/* flags of a string span */
enum { STR_ESC = 1, STR_HIGH = 2 };

typedef struct KeySlot {
	int col;		/* column index, or -1 */
	int valid;
	uint32_t len;
	const char *name;	/* the column's name, or NULL: name in inl */
	char inl[KEY_INLINE];
} KeySlot;

struct JsonRec {
	const Schema *s;
	int nf;
	int *htab;		/* column index + 1, 0 = empty */
	size_t *namelen;
	uint32_t hmask;

	KeySlot *keys;		/* key-order cache */
	int nkeys;

	uint32_t gen;		/* record stamp */
	uint32_t *seen;		/* gen when the column was last seen */
	uint32_t *failed;	/* gen when its last value failed to convert */
	size_t *last;		/* offset of its last value in the record */
	int slow;		/* converting again for the message: no fast paths */

	Value *mv;		/* MV elements of the current array */
	size_t mvcap;
	Buf scratch;		/* unescaped strings for the general path */
	Buf print;		/* arrays/objects printed for STRING/JSON columns */
	const cJSON **slots;	/* cJSON path: member per column */

	const uchar *p;		/* the record */
	size_t len;
	size_t errpos;		/* 0-based byte of a syntax error */
	Err err;
	uint8_t stack[JSONREC_MAX_DEPTH];
};

JsonRec *
jsonrec_create(const Schema *s, Err *e)
{
	if (s == NULL || s->nfields <= 0) {
		err_set(e, ERR_INVALID, "decoder needs a schema with columns");
		return NULL;
	}
	JsonRec *j = mem_calloc(1, sizeof *j);
	if (j == NULL)
		goto oom;
	j->s = s;
	j->nf = s->nfields;
	buf_init(&j->scratch);
	buf_init(&j->print);
	uint32_t size = 16;
	while (size < (uint32_t)j->nf * 2)
		size *= 2;
	size_t nf = (size_t)j->nf;
	j->htab = mem_calloc(size, sizeof(int));
	j->namelen = mem_calloc(nf, sizeof(size_t));
	j->seen = mem_calloc(nf, sizeof(uint32_t));
	j->failed = mem_calloc(nf, sizeof(uint32_t));
	j->last = mem_calloc(nf, sizeof(size_t));
	j->slots = mem_calloc(nf, sizeof(cJSON *));
	if (!j->htab || !j->namelen || !j->seen || !j->failed || !j->last || !j->slots)
		goto oom;
	j->hmask = size - 1;
	for (int i = 0; i < j->nf; i++) {
		const char *name = s->fields[i].name;
		size_t n = strlen(name);
		j->namelen[i] = n;
		uint32_t h = (uint32_t)hash_bytes(name, n) & j->hmask;
		while (j->htab[h] != 0) {
			if (strcmp(s->fields[j->htab[h] - 1].name, name) == 0)
				break;	/* duplicate name: the first wins */
			h = (h + 1) & j->hmask;
		}
		if (j->htab[h] == 0)
			j->htab[h] = i + 1;
	}
	return j;
oom:
	jsonrec_free(j);
	err_set(e, ERR_NOMEM, "creating JSON decoder");
	return NULL;
}

void
jsonrec_free(JsonRec *j)
{
	if (j == NULL)
		return;
	mem_free(j->htab);
	mem_free(j->namelen);
	mem_free(j->seen);
	mem_free(j->failed);
	mem_free(j->last);
	mem_free(j->slots);
	mem_free(j->keys);
	mem_free(j->mv);
	buf_free(&j->scratch);
	buf_free(&j->print);
	mem_free(j);
}

int
jsonrec_lookup(const JsonRec *j, const char *name, size_t len)
{
	uint32_t h = (uint32_t)hash_bytes(name, len) & j->hmask;
	for (;;) {
		int v = j->htab[h];
		if (v == 0)
			return -1;
		if (j->namelen[v - 1] == len && memcmp(j->s->fields[v - 1].name, name, len) == 0)
			return v - 1;
		h = (h + 1) & j->hmask;
	}
}

/* The column of the kpos-th key k[0..n) of the record; refreshes the
 * key-order cache. */
static int
key_lookup(JsonRec *j, int kpos, const char *k, size_t n)
{
	if (kpos < j->nkeys) {
		KeySlot *ks = &j->keys[kpos];
		if (ks->valid && ks->len == n &&
		    memcmp(ks->name ? ks->name : ks->inl, k, n) == 0)
			return ks->col;
	}
	int c = jsonrec_lookup(j, k, n);
	if (kpos >= MAX_CACHED_KEYS)
		return c;
	if (kpos >= j->nkeys) {
		int cap = j->nkeys ? j->nkeys * 2 : 16;
		while (cap <= kpos)
			cap *= 2;
		KeySlot *nk = mem_realloc(j->keys, sizeof(KeySlot) * (size_t)cap);
		if (nk == NULL)
			return c;	/* no cache, still correct */
		memset(nk + j->nkeys, 0, sizeof(KeySlot) * (size_t)(cap - j->nkeys));
		j->keys = nk;
		j->nkeys = cap;
	}
	KeySlot *ks = &j->keys[kpos];
	ks->col = c;
	ks->len = (uint32_t)n;
	ks->valid = 1;
	if (c >= 0) {
		ks->name = j->s->fields[c].name;
	} else if (n <= KEY_INLINE) {
		ks->name = NULL;
		memcpy(ks->inl, k, n);
	} else {
		ks->valid = 0;
	}
	return c;
}

/* ---- the scanner: cJSON's grammar and error positions ---- */

static int
fail(JsonRec *j, size_t pos)
{
	j->errpos = pos < j->len ? pos : j->len - 1;
	return SYNTAX;
}

/* cJSON's buffer_skip_whitespace: bytes <= 0x20; at the end it stays on
 * the last byte. */
static inline size_t
ws(const JsonRec *j, size_t i)
{
	if (i >= j->len || j->p[i] > 32)
		return i;
	while (i < j->len && j->p[i] <= 32)
		i++;
	return i == j->len ? i - 1 : i;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static inline uint64_t
zero_bytes(uint64_t x)
{
	return (x - ONES) & ~x & HIGHS;
}

/* p[i] is '"': sets *end to the closing quote and *flags. */
static int
str_find(JsonRec *j, size_t i, size_t *end, int *flags)
{
	const uchar *p = j->p;
	size_t len = j->len, k = i + 1;
	uint64_t hi = 0;
	int esc = 0;
	for (;;) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		while (k + 8 <= len) {
			uint64_t w;
			memcpy(&w, p + k, 8);
			uint64_t m = zero_bytes(w ^ (ONES * '"')) | zero_bytes(w ^ (ONES * '\\'));
			if (m) {
				unsigned off = (unsigned)__builtin_ctzll(m) >> 3;
				if (off)
					hi |= w & ((1ull << (off * 8)) - 1);
				k += off;
				break;
			}
			hi |= w;
			k += 8;
		}
#endif
		while (k < len && p[k] != '"' && p[k] != '\\')
			hi |= p[k++];
		if (k >= len)
			return fail(j, i + 1);
		if (p[k] == '"')
			break;
		esc = 1;
		if (k + 1 >= len)
			return fail(j, i + 1);
		k += 2;
	}
	*end = k;
	*flags = (esc ? STR_ESC : 0) | ((hi & HIGHS) ? STR_HIGH : 0);
	return 0;
}

static int
hex4(const uchar *s)
{
	int v = 0;
	for (int k = 0; k < 4; k++) {
		int c = s[k], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* Unescapes p[a..b) (a string's content; b its closing quote) into dst
 * (at least b - a bytes; NULL: validate only); *outn gets the length. */
static int
unescape(JsonRec *j, size_t a, size_t b, char *dst, size_t *outn)
{
	const uchar *p = j->p;
	size_t k = a, o = 0;
	while (k < b) {
		const uchar *bs = memchr(p + k, '\\', b - k);
		size_t run = bs ? (size_t)(bs - p) - k : b - k;
		if (dst && run)
			memcpy(dst + o, p + k, run);
		o += run;
		k += run;
		if (k >= b)
			break;
		char ch;
		switch (p[k + 1]) {
		case 'b':
			ch = '\b';
			break;
		case 'f':
			ch = '\f';
			break;
		case 'n':
			ch = '\n';
			break;
		case 'r':
			ch = '\r';
			break;
		case 't':
			ch = '\t';
			break;
		case '"':
		case '\\':
		case '/':
			ch = (char)p[k + 1];
			break;
		case 'u': {
			if (b - k < 6)
				return fail(j, k);
			int hv = hex4(p + k + 2);
			if (hv < 0 || (hv >= 0xDC00 && hv <= 0xDFFF))
				return fail(j, k);
			uint32_t cp = (uint32_t)hv;
			size_t seq = 6;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (b - (k + 6) < 6 || p[k + 6] != '\\' || p[k + 7] != 'u')
					return fail(j, k);
				int lo = hex4(p + k + 8);
				if (lo < 0xDC00 || lo > 0xDFFF)
					return fail(j, k);
				cp = 0x10000 + (((cp & 0x3FF) << 10) | ((uint32_t)lo & 0x3FF));
				seq = 12;
			}
			if (dst) {
				char *q = dst + o;
				if (cp < 0x80) {
					q[0] = (char)cp;
				} else if (cp < 0x800) {
					q[0] = (char)(0xC0 | cp >> 6);
					q[1] = (char)(0x80 | (cp & 0x3F));
				} else if (cp < 0x10000) {
					q[0] = (char)(0xE0 | cp >> 12);
					q[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
					q[2] = (char)(0x80 | (cp & 0x3F));
				} else {
					q[0] = (char)(0xF0 | cp >> 18);
					q[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
					q[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
					q[3] = (char)(0x80 | (cp & 0x3F));
				}
			}
			o += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
			k += seq;
			continue;
		}
		default:
			return fail(j, k);
		}
		if (dst)
			dst[o] = ch;
		o++;
		k += 2;
	}
	*outn = o;
	return 0;
}

static inline int
is_digit(uchar c)
{
	return c >= '0' && c <= '9';
}

/* End of the number at p[i] ('-' or a digit) as strtod reads cJSON's copy
 * of it; i when there is none. */
static size_t
num_end(const JsonRec *j, size_t i)
{
	const uchar *p = j->p;
	size_t lim = j->len - i > MAX_NUMBER ? i + MAX_NUMBER : j->len;
	size_t k = i;
	if (p[k] == '-')
		k++;
	size_t d0 = k;
	while (k < lim && is_digit(p[k]))
		k++;
	size_t nd = k - d0;
	if (k < lim && p[k] == '.') {
		size_t q = k + 1;
		while (q < lim && is_digit(p[q]))
			q++;
		nd += q - k - 1;
		if (nd > 0)
			k = q;
	}
	if (nd == 0)
		return i;
	if (k < lim && (p[k] == 'e' || p[k] == 'E')) {
		size_t q = k + 1;
		if (q < lim && (p[q] == '+' || p[q] == '-'))
			q++;
		size_t e0 = q;
		while (q < lim && is_digit(p[q]))
			q++;
		if (q > e0)
			k = q;
	}
	return k;
}

/* Length of the literal null/true/false at p[i], or 0. */
static size_t
literal(const JsonRec *j, size_t i, int *kind)
{
	size_t left = j->len - i;
	const char *s = (const char *)j->p + i;
	if (left >= 4 && memcmp(s, "null", 4) == 0) {
		*kind = -1;
		return 4;
	}
	if (left >= 5 && memcmp(s, "false", 5) == 0) {
		*kind = CONVERT_JFALSE;
		return 5;
	}
	if (left >= 4 && memcmp(s, "true", 4) == 0) {
		*kind = CONVERT_JTRUE;
		return 4;
	}
	return 0;
}

/* Validates the value at *ip and moves past it; depth containers are
 * already open around it.  Iterative: j->stack holds the open ones. */
static int
skip_value(JsonRec *j, size_t *ip, int depth)
{
	const uchar *p = j->p;
	size_t len = j->len, i = *ip;
	int sp = 0, kind;
	enum { VALUE, KEY, AFTER } state = VALUE;
	for (;;) {
		if (state == KEY) {
			size_t end;
			int fl;
			if (i >= len || p[i] != '"')
				return fail(j, i + 1);
			if (str_find(j, i, &end, &fl) != 0)
				return SYNTAX;
			if ((fl & STR_ESC) && unescape(j, i + 1, end, NULL, &(size_t){0}) != 0)
				return SYNTAX;
			i = ws(j, end + 1);
			if (i >= len || p[i] != ':')
				return fail(j, i);
			i = ws(j, i + 1);
			state = VALUE;
			continue;
		}
		if (state == AFTER) {
			if (sp == 0) {
				*ip = i;
				return 0;
			}
			uchar close = j->stack[sp - 1] == '{' ? '}' : ']';
			i = ws(j, i);
			if (i < len && p[i] == ',') {
				i = ws(j, i + 1);
				state = close == '}' ? KEY : VALUE;
				continue;
			}
			if (i >= len || p[i] != close)
				return fail(j, i);
			sp--;
			i++;
			continue;
		}
		if (i >= len)
			return fail(j, i);
		uchar c = p[i];
		if (c == '{' || c == '[') {
			if (depth + sp >= JSONREC_MAX_DEPTH)
				return fail(j, i);
			j->stack[sp++] = c;
			size_t open = i;
			i = ws(j, i + 1);
			if (i < len && p[i] == (c == '{' ? '}' : ']')) {
				sp--;
				i++;
				state = AFTER;
				continue;
			}
			if (i >= len)
				return fail(j, open);
			state = c == '{' ? KEY : VALUE;
			continue;
		}
		if (c == '"') {
			size_t end;
			int fl;
			if (str_find(j, i, &end, &fl) != 0)
				return SYNTAX;
			if ((fl & STR_ESC) && unescape(j, i + 1, end, NULL, &(size_t){0}) != 0)
				return SYNTAX;
			i = end + 1;
		} else if (c == '-' || is_digit(c)) {
			size_t end = num_end(j, i);
			if (end == i)
				return fail(j, i);
			i = end;
		} else {
			size_t n = literal(j, i, &kind);
			if (n == 0)
				return fail(j, i);
			i += n;
		}
		state = AFTER;
	}
}

/* Appends p[a..b) (a string's content, validated) escaped as cJSON prints
 * a string, quotes included. */
static int
print_string(JsonRec *j, size_t a, size_t b, int flags, Buf *out)
{
	static const char hexd[] = "0123456789abcdef";
	const char *s = (const char *)j->p + a;
	size_t n = b - a;
	if (flags & STR_ESC) {
		buf_reset(&j->scratch);
		if (buf_reserve(&j->scratch, n + 1) != 0)
			return ERR_NOMEM;
		if (unescape(j, a, b, j->scratch.p, &n) != 0)
			return SYNTAX;
		s = j->scratch.p;
	}
	buf_putc(out, '"');
	size_t run = 0;
	for (size_t k = 0; k < n; k++) {
		uchar c = (uchar)s[k];
		if (c > 31 && c != '"' && c != '\\')
			continue;
		buf_append(out, s + run, k - run);
		run = k + 1;
		char esc[7] = {'\\', 0};
		size_t el = 2;
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hexd[c >> 4];
			esc[5] = hexd[c & 15];
			el = 6;
			break;
		}
		buf_append(out, esc, el);
	}
	buf_append(out, s + run, n - run);
	buf_putc(out, '"');
	return 0;
}

/* Prints the valid value p[a..b) compactly, as cJSON_PrintUnformatted
 * prints its tree: token by token, so no nesting state is needed. */
static int
print_span(JsonRec *j, size_t a, size_t b, Buf *out)
{
	const uchar *p = j->p;
	size_t i = a;
	while (i < b) {
		uchar c = p[i];
		if (c <= 32) {
			i++;
		} else if (c == '{' || c == '}' || c == '[' || c == ']' || c == ':' || c == ',') {
			buf_putc(out, (char)c);
			i++;
		} else if (c == '"') {
			size_t end;
			int fl;
			if (str_find(j, i, &end, &fl) != 0)
				return SYNTAX;
			int rc = print_string(j, i + 1, end, fl, out);
			if (rc != 0)
				return rc;
			i = end + 1;
		} else if (c == '-' || is_digit(c)) {
			size_t end = num_end(j, i);
			convert_print_number(convert_jnumber((const char *)p + i, end - i), out);
			i = end;
		} else {
			int kind;
			size_t n = literal(j, i, &kind);
			buf_append(out, p + i, n);
			i += n ? n : 1;
		}
	}
	return out->oom ? ERR_NOMEM : 0;
}

/* ---- conversion of a column's value ---- */

static int
conv_rc(int rc)
{
	if (rc == 0 || rc == ERR_NOMEM)
		return rc;
	return CONV_BAD;
}

/* The string at *ip for column f. */
static int
conv_string(JsonRec *j, size_t *ip, const Field *f, Value *out, Arena *a)
{
	size_t i = *ip, end, n;
	int fl;
	int rc = str_find(j, i, &end, &fl);
	if (rc != 0)
		return rc;
	size_t raw = end - i - 1;
	*ip = end + 1;
	if (f->type == TYPE_STRING && !j->slow) {
		char *dst = arena_alloc(a, raw + 1);
		if (dst == NULL)
			return ERR_NOMEM;
		if (fl & STR_ESC) {
			rc = unescape(j, i + 1, end, dst, &n);
			if (rc != 0)
				return rc;
		} else {
			memcpy(dst, j->p + i + 1, raw);
			n = raw;
		}
		dst[n] = '\0';
		if (n > UINT32_MAX || ((fl & (STR_ESC | STR_HIGH)) && !convert_utf8_valid(dst, n)))
			return CONV_BAD;
		out->type = TYPE_STRING;
		out->null = 0;
		out->mv = 0;
		out->n = (uint32_t)n;
		out->u.s = dst;
		return 0;
	}
	const char *s = (const char *)j->p + i + 1;
	n = raw;
	if (fl & STR_ESC) {
		buf_reset(&j->scratch);
		if (buf_reserve(&j->scratch, raw + 1) != 0)
			return ERR_NOMEM;
		rc = unescape(j, i + 1, end, j->scratch.p, &n);
		if (rc != 0)
			return rc;
		s = j->scratch.p;
	}
	ConvertJValue v = {CONVERT_JSTRING, s, n};
	return conv_rc(convert_jvalue(f, &v, a, out, &j->err));
}

/* The number p[i..end) for column f. */
static int
conv_number(JsonRec *j, size_t i, size_t end, const Field *f, Value *out, Arena *a)
{
	WbType t = f->type;
	const uchar *p = j->p;
	if (!j->slow && (t == TYPE_LONG || t == TYPE_TIMESTAMP || t == TYPE_INT)) {
		/* plain integers of at most 18 digits: exact in int64 */
		size_t k = i + (p[i] == '-');
		if (end - k <= 18 && end > k) {
			int64_t v = 0;
			size_t q = k;
			while (q < end && is_digit(p[q]))
				v = v * 10 + (p[q++] - '0');
			if (q == end) {
				if (p[i] == '-')
					v = -v;
				if (t != TYPE_INT || (v >= INT32_MIN && v <= INT32_MAX)) {
					out->type = (uint8_t)t;
					out->null = 0;
					out->mv = 0;
					out->u.i = v;
					return 0;
				}
			}
		}
	}
	ConvertJValue v = {CONVERT_JNUMBER, (const char *)p + i, end - i};
	return conv_rc(convert_jvalue(f, &v, a, out, &j->err));
}

/* The value at *ip for a single-value column, or one element of a
 * multi-value one; depth containers are open around it. */
static int
conv_single(JsonRec *j, size_t *ip, const Field *f, Value *out, Arena *a, int depth)
{
	size_t i = *ip;
	if (i >= j->len)
		return fail(j, i);
	uchar c = j->p[i];
	if (c == '"')
		return conv_string(j, ip, f, out, a);
	if (c == '-' || is_digit(c)) {
		size_t end = num_end(j, i);
		if (end == i)
			return fail(j, i);
		*ip = end;
		return conv_number(j, i, end, f, out, a);
	}
	if (c == '[' || c == '{') {
		int rc = skip_value(j, ip, depth);
		if (rc != 0)
			return rc;
		ConvertJValue v = {c == '[' ? CONVERT_JARRAY : CONVERT_JOBJECT, NULL, 0};
		if (f->type == TYPE_STRING || f->type == TYPE_JSON) {
			buf_reset(&j->print);
			rc = print_span(j, i, *ip, &j->print);
			if (rc != 0)
				return rc;
			v.s = j->print.p;
			v.n = j->print.len;
		}
		return conv_rc(convert_jvalue(f, &v, a, out, &j->err));
	}
	int kind;
	size_t n = literal(j, i, &kind);
	if (n == 0)
		return fail(j, i);
	*ip = i + n;
	if (kind < 0) {
		convert_null(f, out);
		return 0;
	}
	if (f->type == TYPE_BOOLEAN) {
		out->type = TYPE_BOOLEAN;
		out->null = 0;
		out->mv = 0;
		out->u.i = kind == CONVERT_JTRUE;
		return 0;
	}
	ConvertJValue v = {(ConvertJKind)kind, NULL, 0};
	return conv_rc(convert_jvalue(f, &v, a, out, &j->err));
}

/* The value at *ip for a multi-value column (depth 1: in the record). */
static int
conv_multi(JsonRec *j, size_t *ip, const Field *f, Value *out, Arena *a)
{
	const uchar *p = j->p;
	size_t len = j->len, i = *ip;
	int kind, rc;
	if (i >= len)
		return fail(j, i);
	if (p[i] != '[') {
		if (literal(j, i, &kind) == 4 && kind < 0) {
			*ip = i + 4;
			convert_null(f, out);
			return 0;
		}
		Value *el = arena_alloc(a, sizeof(Value));
		if (el == NULL)
			return ERR_NOMEM;
		rc = conv_single(j, ip, f, el, a, 1);
		if (rc != 0)
			return rc;
		*out = (Value){.type = (uint8_t)f->type, .mv = 1, .n = 1};
		out->u.mv = el;
		return 0;
	}
	size_t open = i;
	i = ws(j, i + 1);
	if (i < len && p[i] == ']') {
		*ip = i + 1;
		convert_null(f, out);
		return 0;
	}
	if (i >= len)
		return fail(j, open);
	size_t k = 0;
	int bad = 0;
	int nested_ok = f->type == TYPE_JSON || f->type == TYPE_STRING;
	for (;;) {
		i = ws(j, i);
		if (bad) {
			rc = skip_value(j, &i, 2);
		} else if (i < len && p[i] == 'n' && literal(j, i, &kind) == 4) {
			i += 4;
			rc = 0;
		} else if (i < len && p[i] == '[' && !nested_ok) {
			rc = skip_value(j, &i, 2);
			bad = 1;
			err_reset(&j->err, ERR_TYPE, "column '%s': expected %s, got an array: nested array",
				  f->name, type_name(f->type));
		} else {
			if (k == j->mvcap) {
				size_t cap = j->mvcap ? j->mvcap * 2 : 16;
				Value *nv = mem_realloc(j->mv, cap * sizeof(Value));
				if (nv == NULL)
					return ERR_NOMEM;
				j->mv = nv;
				j->mvcap = cap;
			}
			rc = conv_single(j, &i, f, &j->mv[k], a, 2);
			if (rc == CONV_BAD) {
				bad = 1;
				rc = 0;
			} else if (rc == 0) {
				k++;
			}
		}
		if (rc != 0)
			return rc;
		i = ws(j, i);
		if (i < len && p[i] == ',') {
			i = ws(j, i + 1);
			continue;
		}
		if (i >= len || p[i] != ']')
			return fail(j, i);
		i++;
		break;
	}
	*ip = i;
	if (bad)
		return CONV_BAD;
	if (k == 0) {
		convert_null(f, out);
		return 0;
	}
	Value *arr = arena_alloc(a, sizeof(Value) * k);
	if (arr == NULL)
		return ERR_NOMEM;
	memcpy(arr, j->mv, sizeof(Value) * k);
	*out = (Value){.type = (uint8_t)f->type, .mv = 1, .n = (uint32_t)k};
	out->u.mv = arr;
	return 0;
}

static int
conv_column(JsonRec *j, size_t *ip, int c, Value *out, Arena *a)
{
	const Field *f = &j->s->fields[c];
	return f->single_value ? conv_single(j, ip, f, out, a, 1) : conv_multi(j, ip, f, out, a);
}

/* The record's object at *ip (p[*ip] == '{') into row. */
static int
parse_root(JsonRec *j, size_t *ip, Value *row, Arena *a)
{
	const uchar *p = j->p;
	size_t len = j->len, i = *ip;
	size_t open = i;
	i = ws(j, i + 1);
	if (i < len && p[i] == '}') {
		*ip = i + 1;
		return 0;
	}
	if (i >= len)
		return fail(j, open);
	for (int kpos = 0;; kpos++) {
		size_t kend;
		int fl, c, rc;
		if (i >= len || p[i] != '"')
			return fail(j, i + 1);
		rc = str_find(j, i, &kend, &fl);
		if (rc != 0)
			return rc;
		if (fl & STR_ESC) {
			size_t n;
			buf_reset(&j->scratch);
			if (buf_reserve(&j->scratch, kend - i) != 0)
				return ERR_NOMEM;
			rc = unescape(j, i + 1, kend, j->scratch.p, &n);
			if (rc != 0)
				return rc;
			c = jsonrec_lookup(j, j->scratch.p, n);
		} else {
			c = key_lookup(j, kpos, (const char *)p + i + 1, kend - i - 1);
		}
		i = ws(j, kend + 1);
		if (i >= len || p[i] != ':')
			return fail(j, i);
		i = ws(j, i + 1);
		if (c >= 0) {
			j->seen[c] = j->gen;
			j->last[c] = i;
			rc = conv_column(j, &i, c, &row[c], a);
			if (rc == CONV_BAD) {
				j->failed[c] = j->gen;
				rc = 0;
			} else if (rc == 0) {
				j->failed[c] = 0;
			}
		} else {
			rc = skip_value(j, &i, 1);
		}
		if (rc != 0)
			return rc;
		i = ws(j, i);
		if (i < len && p[i] == ',') {
			i = ws(j, i + 1);
			continue;
		}
		if (i >= len || p[i] != '}')
			return fail(j, i);
		*ip = i + 1;
		return 0;
	}
}

static int
syntax_error(JsonRec *j, Err *e)
{
	return err_reset(e, ERR_BAD_JSON, "invalid JSON at byte %zu", j->errpos + 1);
}

/* After the value ends at i: only ' ', '\t', '\r' may follow. */
static int
trailing(JsonRec *j, size_t i, Err *e)
{
	for (; i < j->len; i++) {
		uchar c = j->p[i];
		if (c != ' ' && c != '\t' && c != '\r')
			return err_reset(e, ERR_BAD_JSON,
					 "invalid JSON at byte %zu: text after the value", i + 1);
	}
	return 0;
}

int
jsonrec_decode(JsonRec *j, const char *rec, size_t len, RowBatch *out, int *col, Err *e)
{
	*col = -1;
	if (len == 0)
		return err_reset(e, ERR_BAD_JSON, "invalid JSON at byte 1");
	j->p = (const uchar *)rec;
	j->len = len;
	j->slow = 0;
	size_t i = 0;
	if (len >= 5 && memcmp(rec, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	i = ws(j, i);
	if (j->p[i] != '{') {
		if (skip_value(j, &i, 0) != 0)
			return syntax_error(j, e);
		int rc = trailing(j, i, e);
		if (rc != 0)
			return rc;
		return err_reset(e, ERR_BAD_JSON, "JSON value is not an object");
	}
	Value *row = rowbatch_add_row(out);
	if (row == NULL)
		return ERR_NOMEM;
	if (++j->gen == 0) {
		memset(j->seen, 0, sizeof(uint32_t) * (size_t)j->nf);
		memset(j->failed, 0, sizeof(uint32_t) * (size_t)j->nf);
		j->gen = 1;
	}
	int rc = parse_root(j, &i, row, &out->arena);
	if (rc == 0)
		rc = trailing(j, i, e);
	else if (rc == SYNTAX)
		rc = syntax_error(j, e);
	if (rc != 0) {
		rowbatch_pop_row(out);
		return rc;
	}
	const Field *fields = j->s->fields;
	for (int c = 0; c < j->nf; c++) {
		if (j->failed[c] == j->gen) {
			/* convert it again without fast paths for the message */
			Value tmp;
			size_t at = j->last[c];
			j->slow = 1;
			rc = conv_column(j, &at, c, &tmp, &out->arena);
			rowbatch_pop_row(out);
			*col = c;
			if (rc == ERR_NOMEM)
				return rc;
			if (rc != CONV_BAD)
				return err_reset(e, ERR_INTERNAL, "column '%s': inconsistent conversion",
						 fields[c].name);
			return err_reset(e, j->err.code, "%s", j->err.msg);
		}
		if (j->seen[c] != j->gen)
			convert_null(&fields[c], &row[c]);
	}
	return 0;
}

int
jsonrec_decode_cjson(JsonRec *j, const char *rec, size_t len, RowBatch *out, int *col, Err *e)
{
	*col = -1;
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(rec, len, &end, 0);
	if (root == NULL) {
		size_t at = end && end >= rec && end <= rec + len ? (size_t)(end - rec) : 0;
		return err_reset(e, ERR_BAD_JSON, "invalid JSON at byte %zu", at + 1);
	}
	for (const char *q = end; q < rec + len; q++) {
		if (*q != ' ' && *q != '\t' && *q != '\r') {
			cJSON_Delete(root);
			return err_reset(e, ERR_BAD_JSON, "invalid JSON at byte %zu: text after the value",
					 (size_t)(q - rec) + 1);
		}
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return err_reset(e, ERR_BAD_JSON, "JSON value is not an object");
	}
	int nf = j->nf;
	memset(j->slots, 0, sizeof(cJSON *) * (size_t)nf);
	for (const cJSON *c = root->child; c != NULL; c = c->next) {
		if (c->string == NULL)
			continue;
		int idx = jsonrec_lookup(j, c->string, strlen(c->string));
		if (idx >= 0)
			j->slots[idx] = c;
	}
	Value *row = rowbatch_add_row(out);
	if (row == NULL) {
		cJSON_Delete(root);
		return ERR_NOMEM;
	}
	for (int i = 0; i < nf; i++) {
		int rc = convert_json(&j->s->fields[i], j->slots[i], &out->arena, &row[i], e);
		if (rc != 0) {
			cJSON_Delete(root);
			rowbatch_pop_row(out);
			*col = i;
			return rc;
		}
	}
	cJSON_Delete(root);
	return 0;
}
