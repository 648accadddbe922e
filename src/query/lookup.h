/*
 * lookup.h -- Pinot's LOOKUP() join against a dimension table, as a
 * rewrite of the statement into a LEFT JOIN.
 *
 * LOOKUP('dimTable', 'dimColToLookUp', 'dimJoinKey', factJoinKey
 *        [, 'dimJoinKey2', factJoinKey2 ...]) returns dimColToLookUp of the
 * dimension table's row whose keys equal the fact keys, NULL when none.
 */
#ifndef WB_LOOKUP_H
#define WB_LOOKUP_H

#include "base/arena.h"
#include "base/err.h"
#include "query/ast.h"
#include "table/catalog.h"

/* Rewrites every LOOKUP call in q and in the statements inside it (new
 * nodes in a); *changed = 1 when q was rewritten.  Bad arguments (not
 * string literals, an unknown table or column, odd key pairs) fail with
 * an error naming the call. */
int lookup_rewrite(Catalog *c, AstSelect *q, Arena *a, int *changed, Err *e);

#endif
