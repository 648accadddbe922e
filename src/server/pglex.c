/*
 * pglex.c -- just enough of PostgreSQL's lexical rules for the wire
 * server to cut and classify statements without parsing them.
 *
 * A simple-query message may hold several statements; the server must
 * split it at the semicolons that are not inside a string, quoted
 * identifier, comment or dollar-quoted body, find the $n parameters of
 * an extended-protocol statement (to splice their values in), and read
 * the handful of statements it answers itself (session settings,
 * transactions, cursors, COPY).  One tokenizer serves all three, so the
 * three agree on what is a string and what is code; the full grammar
 * stays libpg_query's (query/pgparse.c), which sees every statement that
 * reaches the query engine.
 *
 * Rules followed (PostgreSQL's scan.l): '...' with '' inside; E'...'
 * with backslash escapes; "..." with "" inside; $tag$...$tag$ bodies;
 * -- to end of line; nested slash-star comments; $n parameters; numbers
 * with a fraction or exponent; everything else one character at a time.
 * Unterminated quotes and comments run to the end of the input (the
 * parser reports them).
 *
 * Exports: pglex_init, pglex_next, pglex_is, pglex_text, pglex_split,
 * pglex_max_param.
 */
#include "server/pglex.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

void
pglex_init(PgLex *l, const char *s, size_t len)
{
	l->s = s;
	l->len = len;
	l->pos = 0;
	l->depth = 0;
}

static int
ident_start(int c)
{
	return isalpha(c) || c == '_' || c >= 0x80;
}

static int
ident_char(int c)
{
	return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

/* Skips blanks and comments. */
static void
skip_space(PgLex *l)
{
	const char *s = l->s;
	while (l->pos < l->len) {
		unsigned char c = (unsigned char)s[l->pos];
		if (isspace(c)) {
			l->pos++;
		} else if (c == '-' && l->pos + 1 < l->len && s[l->pos + 1] == '-') {
			while (l->pos < l->len && s[l->pos] != '\n' && s[l->pos] != '\r')
				l->pos++;
		} else if (c == '/' && l->pos + 1 < l->len && s[l->pos + 1] == '*') {
			int nest = 1;
			l->pos += 2;
			while (l->pos < l->len && nest > 0) {
				if (s[l->pos] == '/' && l->pos + 1 < l->len && s[l->pos + 1] == '*') {
					nest++;
					l->pos += 2;
				} else if (s[l->pos] == '*' && l->pos + 1 < l->len && s[l->pos + 1] == '/') {
					nest--;
					l->pos += 2;
				} else {
					l->pos++;
				}
			}
		} else {
			break;
		}
	}
}

/* From the opening quote q at l->pos to past the closing one; doubled
 * quotes stay inside; with backslashes, \x escapes the next byte. */
static void
skip_quoted(PgLex *l, char q, int backslashes)
{
	l->pos++;
	while (l->pos < l->len) {
		char c = l->s[l->pos];
		if (backslashes && c == '\\') {
			l->pos += 2;
			continue;
		}
		l->pos++;
		if (c == q) {
			if (l->pos < l->len && l->s[l->pos] == q) {
				l->pos++;
				continue;
			}
			return;
		}
	}
	l->pos = l->len;
}

PgTokKind
pglex_next(PgLex *l, PgTok *t)
{
	skip_space(l);
	const char *s = l->s;
	memset(t, 0, sizeof(*t));
	t->start = l->pos;
	t->depth = l->depth;
	if (l->pos >= l->len) {
		t->kind = PGT_END;
		return PGT_END;
	}
	unsigned char c = (unsigned char)s[l->pos];
	if ((c == 'E' || c == 'e') && l->pos + 1 < l->len && s[l->pos + 1] == '\'') {
		l->pos++;
		skip_quoted(l, '\'', 1);
		t->kind = PGT_STRING;
	} else if (c == '\'') {
		skip_quoted(l, '\'', 0);
		t->kind = PGT_STRING;
	} else if (c == '"') {
		skip_quoted(l, '"', 0);
		t->kind = PGT_QIDENT;
	} else if (c == '$' && l->pos + 1 < l->len && isdigit((unsigned char)s[l->pos + 1])) {
		int n = 0;
		l->pos++;
		while (l->pos < l->len && isdigit((unsigned char)s[l->pos])) {
			if (n < 100000)
				n = n * 10 + (s[l->pos] - '0');
			l->pos++;
		}
		t->kind = PGT_PARAM;
		t->param = n;
	} else if (c == '$') {
		/* $tag$ ... $tag$ (tag may be empty) */
		size_t e = l->pos + 1;
		while (e < l->len && s[e] != '$' && ident_char((unsigned char)s[e]) && s[e] != '$')
			e++;
		if (e < l->len && s[e] == '$') {
			size_t taglen = e - l->pos + 1;
			const char *tag = s + l->pos;
			size_t p = e + 1;
			l->pos = l->len;
			for (; p + taglen <= l->len; p++) {
				if (memcmp(s + p, tag, taglen) == 0) {
					l->pos = p + taglen;
					break;
				}
			}
			t->kind = PGT_STRING;
		} else {
			l->pos++;
			t->kind = PGT_OTHER;
		}
	} else if (ident_start(c)) {
		while (l->pos < l->len && ident_char((unsigned char)s[l->pos]))
			l->pos++;
		t->kind = PGT_IDENT;
	} else if (isdigit(c) || (c == '.' && l->pos + 1 < l->len && isdigit((unsigned char)s[l->pos + 1]))) {
		/* digits, at most one '.', then an exponent if digits follow
		 * it (scan.l); what comes next is another token */
		int dot = 0;
		while (l->pos < l->len && (isdigit((unsigned char)s[l->pos]) || (s[l->pos] == '.' && !dot))) {
			if (s[l->pos] == '.') {
				if (l->pos + 1 < l->len && s[l->pos + 1] == '.')
					break;	/* 1..2: a range operator follows */
				dot = 1;
			}
			l->pos++;
		}
		if (l->pos < l->len && (s[l->pos] == 'e' || s[l->pos] == 'E')) {
			size_t e = l->pos + 1;
			if (e < l->len && (s[e] == '+' || s[e] == '-'))
				e++;
			if (e < l->len && isdigit((unsigned char)s[e])) {
				while (e < l->len && isdigit((unsigned char)s[e]))
					e++;
				l->pos = e;
			}
		}
		t->kind = PGT_NUMBER;
	} else if (c == ';') {
		l->pos++;
		t->kind = PGT_SEMI;
	} else {
		if (c == '(')
			l->depth++;
		else if (c == ')' && l->depth > 0)
			l->depth--;
		l->pos++;
		t->kind = PGT_OTHER;
	}
	t->len = l->pos - t->start;
	return t->kind;
}

int
pglex_is(const PgLex *l, const PgTok *t, const char *w)
{
	size_t n = strlen(w);
	return t->kind == PGT_IDENT && t->len == n && strncasecmp(l->s + t->start, w, n) == 0;
}

void
pglex_text(const PgLex *l, const PgTok *t, Buf *b)
{
	const char *s = l->s + t->start;
	size_t n = t->len;
	switch (t->kind) {
	case PGT_IDENT:
		for (size_t i = 0; i < n; i++)
			buf_putc(b, (char)tolower((unsigned char)s[i]));
		return;
	case PGT_QIDENT:
	case PGT_STRING: {
		if (t->kind == PGT_STRING && n >= 1 && s[0] == '$') {
			const char *d = memchr(s + 1, '$', n - 1);
			size_t taglen = d ? (size_t)(d - s) + 1 : n;
			if (n >= 2 * taglen)
				buf_append(b, s + taglen, n - 2 * taglen);
			return;
		}
		int esc = 0;
		if (n && (s[0] == 'E' || s[0] == 'e')) {
			esc = 1;
			s++, n--;
		}
		char q = n ? s[0] : '\'';
		size_t end = n >= 2 && s[n - 1] == q ? n - 1 : n;
		for (size_t i = 1; i < end; i++) {
			if (s[i] == q && i + 1 < end && s[i + 1] == q) {
				buf_putc(b, q);
				i++;
			} else if (esc && s[i] == '\\' && i + 1 < end) {
				char x = s[++i];
				buf_putc(b, x == 'n' ? '\n' : x == 't' ? '\t' : x == 'r' ? '\r' : x == 'b' ? '\b' :
					 x == 'f' ? '\f' : x);
			} else {
				buf_putc(b, s[i]);
			}
		}
		return;
	}
	default:
		buf_append(b, s, n);
	}
}

int
pglex_split(const char *s, size_t len, PgSpan *out, int max)
{
	PgLex l;
	PgTok t;
	pglex_init(&l, s, len);
	int n = 0;
	size_t start = 0;
	int any = 0;
	size_t first = 0;
	for (;;) {
		PgTokKind k = pglex_next(&l, &t);
		if (k == PGT_END || k == PGT_SEMI) {
			if (any && n < max) {
				out[n].start = first;
				out[n].end = k == PGT_END ? len : t.start;
				n++;
			}
			if (k == PGT_END)
				break;
			start = l.pos;
			any = 0;
			continue;
		}
		if (!any) {
			first = t.start;
			any = 1;
		}
	}
	(void)start;
	return n;
}

int
pglex_max_param(const char *s, size_t len)
{
	PgLex l;
	PgTok t;
	int m = 0;
	pglex_init(&l, s, len);
	while (pglex_next(&l, &t) != PGT_END)
		if (t.kind == PGT_PARAM && t.param > m)
			m = t.param;
	return m;
}
