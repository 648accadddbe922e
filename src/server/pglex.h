/*
 * pglex.h -- a small lexer of PostgreSQL's SQL syntax for the wire
 * server: splitting a simple-query string into statements, finding $n
 * parameters, and reading the utility statements the server answers
 * itself (SET, SHOW, BEGIN, DECLARE, FETCH, COPY ...).
 */
#ifndef WB_PGLEX_H
#define WB_PGLEX_H

#include <stddef.h>

#include "base/buf.h"

typedef enum PgTokKind {
	PGT_END = 0,
	PGT_IDENT,		/* word or keyword (folded to lower case by pglex_text) */
	PGT_QIDENT,		/* "quoted identifier" */
	PGT_STRING,		/* 'string', E'string', $$string$$ */
	PGT_NUMBER,
	PGT_PARAM,		/* $n: value in PgTok.param */
	PGT_SEMI,		/* ; */
	PGT_OTHER		/* any other character: operators, punctuation */
} PgTokKind;

typedef struct PgTok {
	PgTokKind kind;
	size_t start, len;	/* bytes in the input */
	int param;		/* PGT_PARAM: n */
	int depth;		/* parenthesis depth where the token starts */
} PgTok;

typedef struct PgLex {
	const char *s;
	size_t len;
	size_t pos;
	int depth;
} PgLex;

void pglex_init(PgLex *l, const char *s, size_t len);
/* The next token (comments and blanks skipped); PGT_END at the end.  An
 * unterminated string or comment runs to the end of the input. */
PgTokKind pglex_next(PgLex *l, PgTok *t);
/* Is t the word w (ASCII, case-insensitive)? */
int pglex_is(const PgLex *l, const PgTok *t, const char *w);
/* Appends t's value: words folded to lower case, quoted identifiers and
 * strings unquoted (doubled quotes undone; E'' escapes \n \t \\ \'). */
void pglex_text(const PgLex *l, const PgTok *t, Buf *b);

/* Statement i of s: [start, end) without the ';'.  Statements holding
 * nothing but blanks and comments are skipped.  Returns how many were
 * found, at most max. */
typedef struct PgSpan {
	size_t start, end;
} PgSpan;
int pglex_split(const char *s, size_t len, PgSpan *out, int max);

/* The highest $n in s (0 if none). */
int pglex_max_param(const char *s, size_t len);

#endif
