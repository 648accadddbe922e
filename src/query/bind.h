/*
 * bind.h -- the binder: AST + table columns -> Plan.
 */
#ifndef WB_BIND_H
#define WB_BIND_H

#include "base/err.h"
#include "query/ast.h"
#include "query/plan.h"

/* Binds q against table t (NULL when q has no FROM).  pinot_limit: 0
 * PostgreSQL's dialect; 1 Pinot's (its function semantics and result
 * types) with LIMIT 10 when q has none; 2 Pinot's without that limit (a
 * statement inside another).  On success *out is owned by the caller
 * (bind_free).  Errors: ERR_COLUMN_MISSING, ERR_AMBIGUOUS, ERR_TYPE,
 * ERR_GROUPING, ERR_FUNC_MISSING, ERR_UNSUPPORTED, with e->pos set. */
int bind_select(const AstSelect *q, const BindTable *t, int pinot_limit, Plan **out, Err *e);
void bind_free(Plan *p);
/* 1 if two expressions are the same (names case-insensitive unless
 * quoted), as the binder matches GROUP BY items with select items. */
int bind_ast_equal(const Ast *x, const Ast *y);
/* Describe of a prepared statement: on this thread, until called again
 * with NULL, the string literal "\x01wbparam<n>" stands for parameter n
 * (1 <= n <= nparams) and types[n-1] gets the type the binder coerces it
 * to (left as is where nothing does).  Such a literal binds as a NULL of
 * that type. */
void bind_set_param_sink(WbType *types, int nparams);
/* Maps a SQL type name (int, bigint, varchar, timestamp, long, ...). */
int bind_type_name(const char *name, WbType *out);

#endif
