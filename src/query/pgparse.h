/*
 * pgparse.h -- the libpg_query adapter: SQL text to Waybill's AST.
 */
#ifndef WB_PGPARSE_H
#define WB_PGPARSE_H

#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "query/ast.h"

/* Parses sql: any number of leading `SET name = value` statements, then
 * one SELECT (optionally under EXPLAIN).  Nodes live in a.  Errors:
 * ERR_SQL_PARSE (libpg_query's message, e->pos its cursor position),
 * ERR_UNSUPPORTED naming the construct and its position. */
int pgparse_parse(const char *sql, Arena *a, AstSelect **out, Err *e);

/* Expressions may nest this deep; statements may be this long (bytes).
 * Beyond either: ERR_TOO_LARGE. */
#define PGPARSE_MAX_DEPTH 1000
#define PGPARSE_MAX_SQL (8 << 20)
/* GROUP BY with grouping sets: at most this many distinct expressions
 * (one bit each in AstSelect.gsets) and this many sets (PostgreSQL's
 * limit).  Beyond either: ERR_TOO_LARGE. */
#define PGPARSE_MAX_GROUP_KEYS 64
#define PGPARSE_MAX_GSETS 4096
/* libpg_query's fingerprint of sql (equal for queries that differ only in
 * constants and whitespace). */
int pgparse_fingerprint(const char *sql, uint64_t *fp, Err *e);

#endif
