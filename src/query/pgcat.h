/*
 * pgcat.h -- PostgreSQL catalog emulation in the query layer: rewrites a
 * parsed statement's session functions and object-identifier casts
 * before binding.
 */
#ifndef WB_PGCAT_H
#define WB_PGCAT_H

#include "base/arena.h"
#include "base/err.h"
#include "query/ast.h"
#include "query/query.h"
#include "table/catalog.h"

/* Rewrites q and everything below it (subqueries, derived tables,
 * branches, join items):
 *   current_user, session_user, user, current_role -> the session user
 *   current_database(), current_catalog -> the session database
 *   current_setting('name') -> the session's value (QueryOpts.setting),
 *     when it has one
 *   'name'::regclass -> the relation's OID (ERR_TABLE_MISSING, SQLSTATE
 *     42P01, "relation \"name\" does not exist" when there is none)
 *   'name'::regtype -> the type's OID; x::regclass -> pg_class's name of
 *     OID x; x::regtype -> format_type(x, NULL); x::regnamespace
 *   casts to oid, regproc, xid, name, "char" -> int / text
 *   text_expr::regclass -> wb_regclass(text_expr): the OID, per row
 *   information_schema._pg_expandarray(a) and (...).x -> unnest(a),
 *     (...).n -> generate_subscripts(a, 1); in a derived table, a column
 *     k = _pg_expandarray(a) gains "k.n"; (d.k).x -> d.k, (d.k).n ->
 *     d."k.n"; any other (record).field -> ERR_UNSUPPORTED
 *   indkey[i] (and the other int2vector / oidvector columns) -> [i + 1]
 *   generate_series(array_lower(a, 1), array_upper(a, 1)) in the select
 *     list -> generate_subscripts(a, 1)
 * o->user / o->database NULL = "waybill".  *session is set to 1 when the statement
 * reads the session (it must not be cached across sessions). */
int pgcat_rewrite(Catalog *c, AstSelect *q, const QueryOpts *o, Arena *a, int *session, Err *e);

/* Installs the relation-size and OID-name lookups of expr/fnpg.c
 * (pg_relation_size, x::regclass) for catalog c. */
void pgcat_install(Catalog *c);

#endif
