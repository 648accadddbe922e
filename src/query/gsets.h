/*
 * gsets.h -- GROUPING SETS / ROLLUP / CUBE as a UNION ALL of one grouped
 * statement per set; GROUPING() as each set's constant.
 */
#ifndef WB_GSETS_H
#define WB_GSETS_H

#include "base/arena.h"
#include "base/err.h"
#include "query/ast.h"

/* q has q->ngsets > 0 (pgparse.c's masks over q->group).  *out gets the
 * UNION ALL of one statement per set (in order; a first one that returns
 * no row may be added to name the columns), with q's DISTINCT, ORDER BY,
 * LIMIT and OFFSET.  Everything lives in a and may share q's nodes.
 * Errors: ERR_GROUPING (a GROUPING() argument that is no grouping
 * expression, or a GROUPING() call in ORDER BY that is no select item),
 * ERR_NOMEM; e->pos is set. */
int gsets_expand(const AstSelect *q, Arena *a, AstSelect **out, Err *e);

/* 1 if two expressions are the same grouping expression: names
 * case-insensitive unless quoted, column qualifiers compared only when
 * both have one (dept matches e.dept; e.dept does not match d.dept). */
int gsets_ast_equal(const Ast *x, const Ast *y);

#endif
