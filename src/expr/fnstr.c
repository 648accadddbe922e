/*
 * fnstr.c -- string scalar functions with PostgreSQL's names and
 * semantics, plus Pinot's names where Pinot has its own.
 *
 * Strings are UTF-8; lengths, positions and padding count characters
 * (code points), case mapping is ASCII-only (PostgreSQL's C collation).
 * Results that are a piece of an argument (substr, trim, split_part...)
 * point into the argument, which lives at least as long as the batch;
 * new strings are built in the batch arena (FnCall.arena).  Where a name
 * exists in both dialects with different meaning, PostgreSQL wins
 * (substr/substring are 1-based with a length, strpos is 1-based);
 * Pinot's variants keep their own names (splitpart 0-based, 3-argument
 * strpos, regexpreplace global with $1).  See docs/sql.md.  (In Pinot's
 * dialect the binder rewrites substr's constant arguments into Pinot's
 * 0-based begin / exclusive end.)  regexp_like also takes a multi-value
 * string column: true when any element matches.  Pinot's
 * regexpExtract(s, pattern[, group[, default]]) gives a group of the
 * first match (pointing into s) or the default.  md5(bytes) is Pinot's
 * (RFC 1321 computed here; lowercase hex).
 *
 * Regular expressions are POSIX extended (regcomp); the pattern must be
 * a constant: it is checked when the query is bound and compiled once per
 * execution context (kept in FnCall.state, freed by free_regex).
 *
 * Errors: bad arguments (negative substring length, field position 0,
 * invalid regular expression) are ERR_INVALID with the node's position.
 *
 * Exports: fnstr_table.
 */
#include "expr/exprfn.h"
#include "base/mem.h"

#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <string.h>

/* ---- UTF-8 helpers ----------------------------------------------------- */

static inline int
cont(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

static int64_t
u8len(const char *s, uint32_t n)
{
	int64_t k = 0;
	for (uint32_t i = 0; i < n; i++)
		k += !cont((unsigned char)s[i]);
	return k;
}

/* byte offset of character ch (0-based), n if past the end */
static uint32_t
u8off(const char *s, uint32_t n, int64_t ch)
{
	uint32_t i = 0;
	if (ch <= 0)
		return 0;
	while (i < n) {
		i++;
		while (i < n && cont((unsigned char)s[i]))
			i++;
		if (--ch == 0)
			return i;
	}
	return n;
}

static char *
out_alloc(FnCall *c, size_t n)
{
	char *p = arena_alloc(c->arena, n + 1);
	if (p == NULL)
		err_set(c->err, ERR_NOMEM, "out of memory evaluating %s", c->e->fn->name);
	return p;
}

#define ARG(j, r, len) exprfn_str(c->a[j], r, &len)

/* ---- case, length ------------------------------------------------------ */

static int
casemap(FnCall *c, int up)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n;
		const char *s = ARG(0, r, n);
		char *d = out_alloc(c, n);
		if (d == NULL)
			return ERR_NOMEM;
		for (uint32_t i = 0; i < n; i++) {
			char ch = s[i];
			if (up && ch >= 'a' && ch <= 'z')
				ch = (char)(ch - 32);
			else if (!up && ch >= 'A' && ch <= 'Z')
				ch = (char)(ch + 32);
			d[i] = ch;
		}
		d[n] = '\0';
		c->os[r] = d;
		c->ol[r] = n;
	}
	return 0;
}

static int f_lower(FnCall *c) { return casemap(c, 0); }
static int f_upper(FnCall *c) { return casemap(c, 1); }

static int
f_initcap(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n;
		const char *s = ARG(0, r, n);
		char *d = out_alloc(c, n);
		if (d == NULL)
			return ERR_NOMEM;
		int word = 0;
		for (uint32_t i = 0; i < n; i++) {
			char ch = s[i];
			int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
				    (unsigned char)ch >= 0x80;
			if (!word && ch >= 'a' && ch <= 'z')
				ch = (char)(ch - 32);
			else if (word && ch >= 'A' && ch <= 'Z')
				ch = (char)(ch + 32);
			word = alnum;
			d[i] = ch;
		}
		d[n] = '\0';
		c->os[r] = d;
		c->ol[r] = n;
	}
	return 0;
}

static int
f_length(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n;
		const char *s = ARG(0, r, n);
		c->oi[r] = u8len(s, n);
	}
	return 0;
}

static int
f_octet_length(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n;
		(void)ARG(0, r, n);
		c->oi[r] = n;
	}
	return 0;
}

static int
f_codepoint(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n;
		const unsigned char *s = (const unsigned char *)ARG(0, r, n);
		int64_t cp = 0;
		if (n == 0)
			cp = 0;
		else if (s[0] < 0x80)
			cp = s[0];
		else {
			int more = s[0] >= 0xF0 ? 3 : s[0] >= 0xE0 ? 2 : 1;
			cp = s[0] & (0x3F >> more);
			for (int j = 1; j <= more && (uint32_t)j < n; j++)
				cp = (cp << 6) | (s[j] & 0x3F);
		}
		c->oi[r] = cp;
	}
	return 0;
}

/* ---- pieces ------------------------------------------------------------ */

/* PostgreSQL substr(s, from [, count]): 1-based, clamped */
static int
substr_pg(FnCall *c, int has_count)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n;
		const char *s = ARG(0, r, n);
		int64_t from = exprfn_i(c->a[1], r);
		int64_t end = INT64_MAX;
		if (has_count) {
			int64_t cnt = exprfn_i(c->a[2], r);
			if (cnt < 0)
				return exprfn_fail(c, ERR_INVALID, "negative substring length not allowed");
			end = from > INT64_MAX - cnt ? INT64_MAX : from + cnt;
		}
		if (from < 1)
			from = 1;
		if (end <= from) {
			c->os[r] = "";
			c->ol[r] = 0;
			continue;
		}
		uint32_t b0 = u8off(s, n, from - 1);
		uint32_t b1 = end == INT64_MAX ? n : u8off(s, n, end - 1);
		c->os[r] = s + b0;
		c->ol[r] = b1 - b0;
	}
	return 0;
}

static int f_substr2(FnCall *c) { return substr_pg(c, 0); }
static int f_substr3(FnCall *c) { return substr_pg(c, 1); }

static int
f_left(FnCall *c, int right)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n;
		const char *s = ARG(0, r, n);
		int64_t len = u8len(s, n);
		int64_t m = exprfn_i(c->a[1], r);
		if (m < 0)
			m = len + m < 0 ? 0 : len + m;
		if (m > len)
			m = len;
		if (!right) {
			c->os[r] = s;
			c->ol[r] = u8off(s, n, m);
		} else {
			uint32_t b = u8off(s, n, len - m);
			c->os[r] = s + b;
			c->ol[r] = n - b;
		}
	}
	return 0;
}

static int f_leftfn(FnCall *c) { return f_left(c, 0); }
static int f_rightfn(FnCall *c) { return f_left(c, 1); }

static int
in_set(const char *set, uint32_t sn, const char *p, uint32_t cl)
{
	for (uint32_t i = 0; i < sn;) {
		uint32_t l = 1;
		while (i + l < sn && cont((unsigned char)set[i + l]))
			l++;
		if (l == cl && memcmp(set + i, p, cl) == 0)
			return 1;
		i += l;
	}
	return 0;
}

/* mode bit 1: leading, bit 2: trailing */
static int
trim_any(FnCall *c, int mode)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n, sn = 1;
		const char *s = ARG(0, r, n);
		const char *set = " ";
		if (c->e->nargs > 1)
			set = ARG(1, r, sn);
		uint32_t b = 0, e = n;
		while ((mode & 1) && b < e) {
			uint32_t l = 1;
			while (b + l < e && cont((unsigned char)s[b + l]))
				l++;
			if (!in_set(set, sn, s + b, l))
				break;
			b += l;
		}
		while ((mode & 2) && e > b) {
			uint32_t st = e - 1;
			while (st > b && cont((unsigned char)s[st]))
				st--;
			if (!in_set(set, sn, s + st, e - st))
				break;
			e = st;
		}
		c->os[r] = s + b;
		c->ol[r] = e - b;
	}
	return 0;
}

static int f_btrim(FnCall *c) { return trim_any(c, 3); }
static int f_ltrim(FnCall *c) { return trim_any(c, 1); }
static int f_rtrim(FnCall *c) { return trim_any(c, 2); }

static int
f_replace(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n, fn, tn;
		const char *s = ARG(0, r, n);
		const char *f = ARG(1, r, fn);
		const char *t = ARG(2, r, tn);
		if (fn == 0 || fn > n) {
			c->os[r] = s;
			c->ol[r] = n;
			continue;
		}
		size_t cnt = 0;
		for (uint32_t i = 0; i + fn <= n;)
			if (memcmp(s + i, f, fn) == 0) {
				cnt++;
				i += fn;
			} else
				i++;
		if (cnt == 0) {
			c->os[r] = s;
			c->ol[r] = n;
			continue;
		}
		size_t len = n + cnt * tn - cnt * fn;
		if (len > UINT32_MAX - 1)
			return exprfn_fail(c, ERR_TOO_LARGE, "result of replace() is too long");
		char *d = out_alloc(c, len);
		if (d == NULL)
			return ERR_NOMEM;
		size_t o = 0;
		for (uint32_t i = 0; i < n;)
			if (i + fn <= n && memcmp(s + i, f, fn) == 0) {
				memcpy(d + o, t, tn);
				o += tn;
				i += fn;
			} else
				d[o++] = s[i++];
		d[o] = '\0';
		c->os[r] = d;
		c->ol[r] = (uint32_t)o;
	}
	return 0;
}

static int
f_reverse(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n;
		const char *s = ARG(0, r, n);
		char *d = out_alloc(c, n);
		if (d == NULL)
			return ERR_NOMEM;
		uint32_t o = n;
		for (uint32_t i = 0; i < n;) {
			uint32_t l = 1;
			while (i + l < n && cont((unsigned char)s[i + l]))
				l++;
			o -= l;
			memcpy(d + o, s + i, l);
			i += l;
		}
		d[n] = '\0';
		c->os[r] = d;
		c->ol[r] = n;
	}
	return 0;
}

#define MAX_PAD (1 << 20)

static int
pad(FnCall *c, int left)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n, fn = 1;
		const char *s = ARG(0, r, n);
		const char *f = " ";
		if (c->e->nargs > 2)
			f = ARG(2, r, fn);
		int64_t want = exprfn_i(c->a[1], r);
		int64_t have = u8len(s, n);
		if (want < 0)
			want = 0;
		if (want > MAX_PAD)
			return exprfn_fail(c, ERR_TOO_LARGE, "requested length too large");
		if (want <= have || fn == 0) {
			/* truncated on the right, as PostgreSQL */
			c->os[r] = s;
			c->ol[r] = want <= have ? u8off(s, n, want) : n;
			continue;
		}
		int64_t fill = want - have;
		int64_t fchars = u8len(f, fn);
		char *d = out_alloc(c, (size_t)n + (size_t)fill * 4);
		if (d == NULL)
			return ERR_NOMEM;
		size_t o = 0;
		if (!left) {
			memcpy(d, s, n);
			o = n;
		}
		for (int64_t i = 0; i < fill;) {
			int64_t take = fill - i < fchars ? fill - i : fchars;
			uint32_t b = u8off(f, fn, take);
			memcpy(d + o, f, b);
			o += b;
			i += take;
		}
		if (left) {
			memcpy(d + o, s, n);
			o += n;
		}
		d[o] = '\0';
		c->os[r] = d;
		c->ol[r] = (uint32_t)o;
	}
	return 0;
}

static int f_lpad(FnCall *c) { return pad(c, 1); }
static int f_rpad(FnCall *c) { return pad(c, 0); }

static int
f_repeat(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n;
		const char *s = ARG(0, r, n);
		int64_t m = exprfn_i(c->a[1], r);
		if (m < 0)
			m = 0;
		if ((uint64_t)m * n > MAX_PAD * 16ULL)
			return exprfn_fail(c, ERR_TOO_LARGE, "requested length too large");
		char *d = out_alloc(c, (size_t)m * n);
		if (d == NULL)
			return ERR_NOMEM;
		for (int64_t i = 0; i < m; i++)
			memcpy(d + (size_t)i * n, s, n);
		d[(size_t)m * n] = '\0';
		c->os[r] = d;
		c->ol[r] = (uint32_t)((size_t)m * n);
	}
	return 0;
}

static int64_t
find(const char *s, uint32_t n, const char *f, uint32_t fn, uint32_t from)
{
	if (fn == 0)
		return from <= n ? (int64_t)from : -1;
	for (uint32_t i = from; i + fn <= n; i++)
		if (memcmp(s + i, f, fn) == 0)
			return i;
	return -1;
}

static int
f_strpos(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n, fn;
		const char *s = ARG(0, r, n);
		const char *f = ARG(1, r, fn);
		int64_t b = find(s, n, f, fn, 0);
		c->oi[r] = b < 0 ? 0 : u8len(s, (uint32_t)b) + 1;
	}
	return 0;
}

/* Pinot strpos(s, find, instance): 0-based index of the instance-th
 * occurrence, -1 if none */
static int
f_strpos3(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n, fn;
		const char *s = ARG(0, r, n);
		const char *f = ARG(1, r, fn);
		int64_t inst = exprfn_i(c->a[2], r);
		int64_t b = -1;
		uint32_t from = 0;
		for (int64_t i = 0; i < inst || i == 0; i++) {
			b = inst <= 0 ? -1 : find(s, n, f, fn, from);
			if (b < 0)
				break;
			from = (uint32_t)b + (fn ? fn : 1);
			if (i + 1 >= inst)
				break;
		}
		c->oi[r] = b < 0 ? -1 : u8len(s, (uint32_t)b);
	}
	return 0;
}

static int
affix(FnCall *c, int mode)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n, pn;
		const char *s = ARG(0, r, n);
		const char *p = ARG(1, r, pn);
		int v;
		if (mode == 0)
			v = pn <= n && memcmp(s, p, pn) == 0;
		else if (mode == 1)
			v = pn <= n && memcmp(s + n - pn, p, pn) == 0;
		else
			v = find(s, n, p, pn, 0) >= 0;
		c->oi[r] = v;
	}
	return 0;
}

static int f_starts(FnCall *c) { return affix(c, 0); }
static int f_ends(FnCall *c) { return affix(c, 1); }
static int f_contains(FnCall *c) { return affix(c, 2); }

/* split_part: PostgreSQL 1-based (negative from the end); Pinot's
 * splitpart 0-based */
static int
split(FnCall *c, int pinot)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n, dn;
		const char *s = ARG(0, r, n);
		const char *d = ARG(1, r, dn);
		int64_t idx = exprfn_i(c->a[2], r);
		if (!pinot && idx == 0)
			return exprfn_fail(c, ERR_INVALID, "field position must not be zero");
		if (pinot)
			idx = idx < 0 ? idx : idx + 1;
		/* count fields */
		int64_t nf = 1;
		if (dn > 0)
			for (int64_t p = find(s, n, d, dn, 0); p >= 0; p = find(s, n, d, dn, (uint32_t)p + dn))
				nf++;
		if (dn == 0 && n == 0)
			nf = 0;
		if (idx < 0)
			idx = nf + idx + 1;
		if (idx < 1 || idx > nf) {
			if (pinot)
				c->on[r] = 1;
			c->os[r] = "";
			c->ol[r] = 0;
			continue;
		}
		uint32_t st = 0;
		for (int64_t f = 1; f < idx; f++)
			st = (uint32_t)find(s, n, d, dn, st) + dn;
		int64_t e = dn ? find(s, n, d, dn, st) : -1;
		c->os[r] = s + st;
		c->ol[r] = (uint32_t)(e < 0 ? n : (uint32_t)e) - st;
	}
	return 0;
}

static int f_split_part(FnCall *c) { return split(c, 0); }
static int f_splitpart(FnCall *c) { return split(c, 1); }

/* concat / textcat / concat_ws: arguments of any type as text */
static int
text_of(FnCall *c, int j, int r, const char **p, uint32_t *len)
{
	const Vec *v = c->a[j];
	if (v->enc == VEC_STR || v->enc == VEC_DICT) {
		*p = exprfn_str(v, r, len);
		return 0;
	}
	Value in, out;
	if (exprvec_value(v, r, &in, c->arena) != 0)
		return ERR_NOMEM;
	if (in.type == TYPE_BOOLEAN && !in.null) {
		*p = in.u.i ? "true" : "false";
		*len = in.u.i ? 4 : 5;
		return 0;
	}
	int rc = expr_convert(&in, TYPE_STRING, &out, c->arena, c->err);
	if (rc != 0)
		return rc;
	*p = out.u.s;
	*len = out.n;
	return 0;
}

static int
concat_any(FnCall *c, int ws)
{
	int n = c->e->nargs;
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		const char *sep = "";
		uint32_t sepn = 0;
		if (ws) {
			if (exprfn_null(c->a[0], r)) {
				c->on[r] = 1;
				continue;
			}
			sep = ARG(0, r, sepn);
		}
		size_t tot = 0;
		int parts = 0;
		for (int j = ws; j < n; j++) {
			const char *p;
			uint32_t l;
			if (exprfn_null(c->a[j], r))
				continue;
			if (text_of(c, j, r, &p, &l) != 0)
				return c->err->code ? c->err->code : ERR_NOMEM;
			tot += l + (parts++ ? sepn : 0);
		}
		if (tot > UINT32_MAX - 1)
			return exprfn_fail(c, ERR_TOO_LARGE, "result of concat() is too long");
		char *d = out_alloc(c, tot);
		if (d == NULL)
			return ERR_NOMEM;
		size_t o = 0;
		parts = 0;
		for (int j = ws; j < n; j++) {
			const char *p;
			uint32_t l;
			if (exprfn_null(c->a[j], r))
				continue;
			if (text_of(c, j, r, &p, &l) != 0)
				return c->err->code ? c->err->code : ERR_NOMEM;
			if (parts++ && sepn) {
				memcpy(d + o, sep, sepn);
				o += sepn;
			}
			memcpy(d + o, p, l);
			o += l;
		}
		d[o] = '\0';
		c->os[r] = d;
		c->ol[r] = (uint32_t)o;
	}
	return 0;
}

/* PostgreSQL's format(fmt, args...): %s the text of the next argument
 * ('' for NULL), %I it quoted as an identifier when needed, %L as a
 * literal (NULL unquoted), %% a percent sign.  Widths, flags and
 * positions (%1$s) are refused by name. */
static int
f_format(FnCall *c)
{
	int n = c->e->nargs;
	Buf b;
	buf_init(&b);
	int rc = 0;
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		if (exprfn_null(c->a[0], r)) {
			c->on[r] = 1;
			continue;
		}
		uint32_t fl;
		const char *f = ARG(0, r, fl);
		buf_reset(&b);
		int next = 1;
		for (uint32_t i = 0; i < fl && rc == 0; i++) {
			if (f[i] != '%') {
				buf_putc(&b, f[i]);
				continue;
			}
			if (++i >= fl) {
				rc = exprfn_fail(c, ERR_INVALID, "format(): unterminated format() type specifier");
				break;
			}
			char t = f[i];
			if (t == '%') {
				buf_putc(&b, '%');
				continue;
			}
			if (t != 's' && t != 'I' && t != 'L') {
				rc = exprfn_fail(c, ERR_UNSUPPORTED,
						 "format(): only %%s, %%I, %%L and %%%% are supported, not %%%c", t);
				break;
			}
			if (next >= n) {
				rc = exprfn_fail(c, ERR_INVALID, "format(): too few arguments");
				break;
			}
			int j = next++;
			if (exprfn_null(c->a[j], r)) {
				if (t == 'I')
					rc = exprfn_fail(c, ERR_INVALID, "format(): null values cannot be formatted as an SQL identifier");
				else if (t == 'L')
					buf_puts(&b, "NULL");
				continue;
			}
			const char *p;
			uint32_t l;
			if (text_of(c, j, r, &p, &l) != 0) {
				rc = c->err->code ? c->err->code : ERR_NOMEM;
				break;
			}
			int quote = t == 'L';
			if (t == 'I') {
				quote = l == 0 || !((p[0] >= 'a' && p[0] <= 'z') || p[0] == '_');
				for (uint32_t x = 0; x < l && !quote; x++)
					quote = !((p[x] >= 'a' && p[x] <= 'z') || (p[x] >= '0' && p[x] <= '9') || p[x] == '_');
			}
			char q = t == 'I' ? '"' : '\'';
			if (quote)
				buf_putc(&b, q);
			for (uint32_t x = 0; x < l; x++) {
				if (quote && p[x] == q)
					buf_putc(&b, q);
				buf_putc(&b, p[x]);
			}
			if (quote)
				buf_putc(&b, q);
		}
		if (rc == 0 && b.oom)
			rc = ERR_NOMEM;
		if (rc)
			break;
		char *d = out_alloc(c, b.len);
		if (d == NULL) {
			rc = ERR_NOMEM;
			break;
		}
		if (b.len)
			memcpy(d, b.p, b.len);
		c->os[r] = d;
		c->ol[r] = (uint32_t)b.len;
	}
	buf_free(&b);
	return rc;
}

static int f_concat(FnCall *c) { return concat_any(c, 0); }
static int f_concat_ws(FnCall *c) { return concat_any(c, 1); }

/* ---- regular expressions ------------------------------------------------ */

typedef struct Rx {
	regex_t re;
	int global;
} Rx;

static void
free_regex(void *st)
{
	Rx *x = st;
	if (x != NULL) {
		regfree(&x->re);
		mem_free(x);
	}
}

/* flags: i (case-insensitive), c (sensitive), g (global), n/m (newline) */
static int
rx_flags(const Value *fl, int *cflags, int *global, Err *err)
{
	*global = 0;
	for (uint32_t i = 0; fl != NULL && !fl->null && i < fl->n; i++) {
		switch (fl->u.s[i]) {
		case 'i': *cflags |= REG_ICASE; break;
		case 'c': *cflags &= ~REG_ICASE; break;
		case 'g': *global = 1; break;
		case 'n': case 'm': *cflags |= REG_NEWLINE; break;
		case 's': *cflags &= ~REG_NEWLINE; break;
		default:
			return err_set(err, ERR_INVALID, "invalid regular expression option: \"%c\"", fl->u.s[i]);
		}
	}
	return 0;
}

static int
rx_compile(const Expr *e, int pat_arg, int flag_arg, Rx **out, Err *err)
{
	const Value *p = &e->args[pat_arg]->val;
	const Value *fl = flag_arg < e->nargs ? &e->args[flag_arg]->val : NULL;
	int cflags = REG_EXTENDED, global = 0;
	int rc = rx_flags(fl, &cflags, &global, err);
	if (rc != 0)
		return rc;
	if (e->fn->name[0] == 'r' && strcmp(e->fn->name, "regexpreplace") == 0)
		global = 1;
	Rx *x = mem_calloc(1, sizeof(Rx));
	if (x == NULL)
		return err_set(err, ERR_NOMEM, "out of memory compiling a regular expression");
	char *pat = mem_alloc((size_t)p->n + 1);
	if (pat == NULL) {
		mem_free(x);
		return err_set(err, ERR_NOMEM, "out of memory compiling a regular expression");
	}
	/* a NULL pattern compiles as "": strict, every row's answer is NULL */
	if (!p->null && p->n)
		memcpy(pat, p->u.s, p->n);
	pat[p->null ? 0 : p->n] = '\0';
	int r = regcomp(&x->re, pat, cflags);
	mem_free(pat);
	if (r != 0) {
		char msg[200];
		regerror(r, &x->re, msg, sizeof(msg));
		mem_free(x);
		return err_set(err, ERR_INVALID, "invalid regular expression: %s", msg);
	}
	x->global = global;
	*out = x;
	return 0;
}

static int
prep_regex(Expr *e, Arena *a, Err *err)
{
	(void)a;
	for (int j = 1; j < e->nargs; j++)
		if (e->args[j]->kind != EXPR_CONST)
			return err_set(err, ERR_UNSUPPORTED, "%s: the pattern and flags must be constants",
				       e->fn->name);
	if (e->args[1]->val.null)
		return 0;
	int ext = strcmp(e->fn->name, "regexpextract") == 0;
	int flag_arg = ext ? e->nargs : strcmp(e->fn->name, "regexp_like") == 0 ? 2 : 3;
	Rx *x;
	int rc = rx_compile(e, 1, flag_arg, &x, err);
	if (rc != 0)
		return rc;
	if (ext && e->nargs > 2 && !e->args[2]->val.null &&
	    (e->args[2]->val.u.i < 0 || (uint64_t)e->args[2]->val.u.i > x->re.re_nsub || e->args[2]->val.u.i > 9))
		rc = err_set(err, ERR_INVALID, "regexpExtract: group %lld does not exist in the pattern (it has %zu)",
			     (long long)e->args[2]->val.u.i, (size_t)x->re.re_nsub);
	free_regex(x);
	return rc;
}

static Rx *
rx_state(FnCall *c, int flag_arg)
{
	if (*c->state == NULL) {
		Rx *x;
		if (rx_compile(c->e, 1, flag_arg, &x, c->err) != 0) {
			c->err->pos = c->e->pos;
			return NULL;
		}
		*c->state = x;
	}
	return *c->state;
}

static int
f_regexp_like(FnCall *c)
{
	Rx *x = rx_state(c, 2);
	if (x == NULL)
		return c->err->code;
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n;
		const char *s = ARG(0, r, n);
		regmatch_t m[1];
		m[0].rm_so = 0;
		m[0].rm_eo = (regoff_t)n;
		int rc = regexec(&x->re, n ? s : "", 1, m, REG_STARTEND);
		c->oi[r] = rc == 0;
	}
	return 0;
}

/* Pinot's regexpExtract(s, pattern [, group [, default]]): the text of
 * the group (0 = the whole match) of the first match, else default
 * ('' without). */
static int
f_regexp_extract(FnCall *c)
{
	Rx *x = rx_state(c, c->e->nargs);
	if (x == NULL)
		return c->err->code;
	/* the group is a constant (FN_CONSTARGS), checked by prep_regex */
	int64_t g = c->e->nargs > 2 ? c->e->args[2]->val.u.i : 0;
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n;
		const char *s = ARG(0, r, n);
		regmatch_t m[10];
		m[0].rm_so = 0;
		m[0].rm_eo = (regoff_t)n;
		if (g >= 0 && g <= 9 && (size_t)g <= x->re.re_nsub &&
		    regexec(&x->re, n ? s : "", 10, m, REG_STARTEND) == 0 && m[g].rm_so >= 0) {
			c->os[r] = s + m[g].rm_so;
			c->ol[r] = (uint32_t)(m[g].rm_eo - m[g].rm_so);
		} else if (c->e->nargs > 3) {
			c->os[r] = ARG(3, r, n);
			c->ol[r] = n;
		} else {
			c->os[r] = "";
			c->ol[r] = 0;
		}
	}
	return 0;
}

/* regexp_like(mv, pattern [, flags]) over a multi-value string column:
 * true when any element matches (Pinot's filter semantics for MV) */
static int
f_regexp_like_mv(FnCall *c)
{
	Rx *x = rx_state(c, 2);
	if (x == NULL)
		return c->err->code;
	const Vec *v = c->a[0];
	if (!type_is_var(v->type))
		return exprfn_fail(c, ERR_TYPE, "regexp_like: the multi-value argument must hold strings, not %s",
				   type_name(v->type));
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint64_t st;
		uint32_t n;
		exprvec_mv_range(v, r, &st, &n);
		int hit = 0;
		for (uint32_t i = 0; i < n && !hit; i++) {
			Value e = exprvec_elem(v, st + i);
			regmatch_t m[1];
			m[0].rm_so = 0;
			m[0].rm_eo = (regoff_t)e.n;
			hit = regexec(&x->re, e.n ? e.u.s : "", 1, m, REG_STARTEND) == 0;
		}
		c->oi[r] = hit;
	}
	return 0;
}

/* regexp_replace(s, pattern, replacement [, flags]): PostgreSQL replaces
 * the first match unless 'g', \1..\9 and \& refer to groups; Pinot's
 * regexpreplace replaces every match, $1..$9 refer to groups. */
static int
f_regexp_replace(FnCall *c)
{
	Rx *x = rx_state(c, 3);
	if (x == NULL)
		return c->err->code;
	int dollar = strcmp(c->e->fn->name, "regexpreplace") == 0;
	Buf b;
	buf_init(&b);
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n, rn;
		const char *s = ARG(0, r, n);
		const char *rep = ARG(2, r, rn);
		buf_reset(&b);
		uint32_t pos = 0;
		int done = 0;
		while (pos <= n && !done) {
			regmatch_t m[10];
			m[0].rm_so = (regoff_t)pos;
			m[0].rm_eo = (regoff_t)n;
			if (regexec(&x->re, n ? s : "", 10, m, REG_STARTEND | (pos > 0 ? REG_NOTBOL : 0)) != 0)
				break;
			buf_append(&b, s + pos, (size_t)(m[0].rm_so - (regoff_t)pos));
			for (uint32_t i = 0; i < rn; i++) {
				char ch = rep[i];
				int g = -1;
				if ((ch == '\\' || (dollar && ch == '$')) && i + 1 < rn) {
					char nx = rep[i + 1];
					if (nx >= '0' && nx <= '9')
						g = nx - '0';
					else if (!dollar && nx == '&')
						g = 0;
					else if (ch == '\\') {
						buf_putc(&b, nx);
						i++;
						continue;
					}
				}
				if (g >= 0) {
					if (m[g].rm_so >= 0)
						buf_append(&b, s + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so));
					i++;
				} else {
					buf_putc(&b, ch);
				}
			}
			if (m[0].rm_eo == m[0].rm_so) {
				if ((uint32_t)m[0].rm_eo < n)
					buf_putc(&b, s[m[0].rm_eo]);
				pos = (uint32_t)m[0].rm_eo + 1;
			} else {
				pos = (uint32_t)m[0].rm_eo;
			}
			done = !x->global;
		}
		if (pos < n)
			buf_append(&b, s + pos, n - pos);
		if (b.oom) {
			buf_free(&b);
			return err_set(c->err, ERR_NOMEM, "out of memory in regexp_replace");
		}
		char *d = arena_strndup(c->arena, b.p ? b.p : "", b.len);
		if (d == NULL) {
			buf_free(&b);
			return err_set(c->err, ERR_NOMEM, "out of memory in regexp_replace");
		}
		c->os[r] = d;
		c->ol[r] = (uint32_t)b.len;
	}
	buf_free(&b);
	return 0;
}

/* ---- md5(bytes): Pinot's, the digest as 32 lowercase hex digits ---------- */

/* RFC 1321.  The sine table is computed once (K[i] = floor(|sin(i+1)| *
 * 2^32), exact in double precision); the per-round shifts are fixed. */
static uint32_t md5_k[64];
static pthread_once_t md5_once = PTHREAD_ONCE_INIT;

static void
md5_init_k(void)
{
	for (int i = 0; i < 64; i++)
		md5_k[i] = (uint32_t)(fabs(sin((double)(i + 1))) * 4294967296.0);
}

static inline uint32_t
rotl32(uint32_t x, int c)
{
	return (x << c) | (x >> (32 - c));
}

static void
md5_block(uint32_t h[4], const unsigned char *p)
{
	static const int sh[16] = {7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21};
	uint32_t w[16], a = h[0], b = h[1], c = h[2], d = h[3];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[i * 4] | (uint32_t)p[i * 4 + 1] << 8 | (uint32_t)p[i * 4 + 2] << 16 |
		       (uint32_t)p[i * 4 + 3] << 24;
	for (int i = 0; i < 64; i++) {
		uint32_t f;
		int g;
		if (i < 16) {
			f = (b & c) | (~b & d);
			g = i;
		} else if (i < 32) {
			f = (d & b) | (~d & c);
			g = (5 * i + 1) & 15;
		} else if (i < 48) {
			f = b ^ c ^ d;
			g = (3 * i + 5) & 15;
		} else {
			f = c ^ (b | ~d);
			g = (7 * i) & 15;
		}
		uint32_t t = d;
		d = c;
		c = b;
		b = b + rotl32(a + f + md5_k[i] + w[g], sh[(i >> 4) * 4 + (i & 3)]);
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
}

/* Writes the 32 hex digits of md5(p[0..n)) into out (33 bytes with the
 * terminator). */
static void
md5_hex(const char *p, uint32_t n, char *out)
{
	uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
	unsigned char tail[128];
	uint32_t full = n & ~63u;
	pthread_once(&md5_once, md5_init_k);
	for (uint32_t i = 0; i < full; i += 64)
		md5_block(h, (const unsigned char *)p + i);
	uint32_t rem = n - full;
	memcpy(tail, p + full, rem);
	tail[rem] = 0x80;
	uint32_t tl = rem + 1 + 8 <= 64 ? 64 : 128;
	memset(tail + rem + 1, 0, tl - rem - 1);
	uint64_t bits = (uint64_t)n * 8;
	for (int i = 0; i < 8; i++)
		tail[tl - 8 + i] = (unsigned char)(bits >> (8 * i));
	md5_block(h, tail);
	if (tl == 128)
		md5_block(h, tail + 64);
	static const char hx[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		unsigned char byte = (unsigned char)(h[i / 4] >> (8 * (i % 4)));
		out[i * 2] = hx[byte >> 4];
		out[i * 2 + 1] = hx[byte & 15];
	}
	out[32] = '\0';
}

static int
prep_md5(Expr *e, Arena *a, Err *err)
{
	(void)a;
	WbType t = e->args[0]->type;
	if (t != TYPE_BYTES && t != TYPE_STRING && t != TYPE_JSON && t != TYPE_NULL)
		return err_set(err, ERR_TYPE, "md5: the argument must be BYTES or a string, not %s", type_name(t));
	return 0;
}

static int
f_md5(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n;
		const char *s = ARG(0, r, n);
		char *d = arena_alloc(c->arena, 33);
		if (d == NULL)
			return err_set(c->err, ERR_NOMEM, "out of memory in md5");
		md5_hex(s, n, d);
		c->os[r] = d;
		c->ol[r] = 32;
	}
	return 0;
}

const ExprFn fnstr_table[] = {
	{"lower", "S", 'S', FN_STRICT, NULL, f_lower, NULL},
	{"upper", "S", 'S', FN_STRICT, NULL, f_upper, NULL},
	{"initcap", "S", 'S', FN_STRICT, NULL, f_initcap, NULL},
	{"length", "S", 'I', FN_STRICT, NULL, f_length, NULL},
	{"char_length", "S", 'I', FN_STRICT, NULL, f_length, NULL},
	{"character_length", "S", 'I', FN_STRICT, NULL, f_length, NULL},
	{"octet_length", "S", 'I', FN_STRICT, NULL, f_octet_length, NULL},
	{"codepoint", "S", 'I', FN_STRICT, NULL, f_codepoint, NULL},
	{"ascii", "S", 'I', FN_STRICT, NULL, f_codepoint, NULL},
	{"substr", "SI", 'S', FN_STRICT, NULL, f_substr2, NULL},
	{"substr", "SII", 'S', FN_STRICT, NULL, f_substr3, NULL},
	{"substring", "SI", 'S', FN_STRICT, NULL, f_substr2, NULL},
	{"substring", "SII", 'S', FN_STRICT, NULL, f_substr3, NULL},
	{"left", "SI", 'S', FN_STRICT, NULL, f_leftfn, NULL},
	{"right", "SI", 'S', FN_STRICT, NULL, f_rightfn, NULL},
	{"btrim", "S|S", 'S', FN_STRICT, NULL, f_btrim, NULL},
	{"trim", "S|S", 'S', FN_STRICT, NULL, f_btrim, NULL},
	{"ltrim", "S|S", 'S', FN_STRICT, NULL, f_ltrim, NULL},
	{"rtrim", "S|S", 'S', FN_STRICT, NULL, f_rtrim, NULL},
	{"replace", "SSS", 'S', FN_STRICT, NULL, f_replace, NULL},
	{"reverse", "S", 'S', FN_STRICT, NULL, f_reverse, NULL},
	{"lpad", "SI|S", 'S', FN_STRICT, NULL, f_lpad, NULL},
	{"rpad", "SI|S", 'S', FN_STRICT, NULL, f_rpad, NULL},
	{"repeat", "SI", 'S', FN_STRICT, NULL, f_repeat, NULL},
	{"strpos", "SS", 'I', FN_STRICT, NULL, f_strpos, NULL},
	{"strpos", "SSI", 'I', FN_STRICT, NULL, f_strpos3, NULL},
	{"position", "SS", 'I', FN_STRICT, NULL, f_strpos, NULL},
	{"starts_with", "SS", 'B', FN_STRICT, NULL, f_starts, NULL},
	{"startswith", "SS", 'B', FN_STRICT, NULL, f_starts, NULL},
	{"ends_with", "SS", 'B', FN_STRICT, NULL, f_ends, NULL},
	{"endswith", "SS", 'B', FN_STRICT, NULL, f_ends, NULL},
	{"contains", "SS", 'B', FN_STRICT, NULL, f_contains, NULL},
	{"split_part", "SSI", 'S', FN_STRICT, NULL, f_split_part, NULL},
	{"splitpart", "SSI", 'S', FN_STRICT, NULL, f_splitpart, NULL},
	{"concat", "A*", 'S', 0, NULL, f_concat, NULL},
	{"format", "S|A*", 'S', 0, NULL, f_format, NULL},
	{"textcat", "AA", 'S', FN_STRICT, NULL, f_concat, NULL},
	{"concat_ws", "SA*", 'S', 0, NULL, f_concat_ws, NULL},
	{"regexp_like", "SS|S", 'B', FN_STRICT | FN_CONSTARGS, prep_regex, f_regexp_like, free_regex},
	{"regexp_like", "VS|S", 'B', FN_STRICT | FN_CONSTARGS, prep_regex, f_regexp_like_mv, free_regex},
	{"regexp_replace", "SSS|S", 'S', FN_STRICT | FN_CONSTARGS, prep_regex, f_regexp_replace, free_regex},
	{"regexpreplace", "SSS", 'S', FN_STRICT | FN_CONSTARGS, prep_regex, f_regexp_replace, free_regex},
	{"regexpextract", "SS|IS", 'S', FN_STRICT | FN_CONSTARGS, prep_regex, f_regexp_extract, free_regex},
	{"md5", "A", 'S', FN_STRICT, prep_md5, f_md5, NULL},
	{NULL, NULL, 0, 0, NULL, NULL, NULL},
};
