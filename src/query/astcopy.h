/*
 * astcopy.h -- deep copies of syntax trees (ast.h), for statements that
 * run more than once with different constants (correlated subqueries).
 */
#ifndef WB_ASTCOPY_H
#define WB_ASTCOPY_H

#include "base/arena.h"
#include "query/ast.h"

/* Copies of n / q and everything below them into a (strings and
 * constants' values are shared: they are never modified); NULL when out
 * of memory (or n / q NULL). */
Ast *astcopy_expr(const Ast *n, Arena *a);
AstSelect *astcopy_select(const AstSelect *q, Arena *a);

#endif
