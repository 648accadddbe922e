/*
 * xform.h -- a table's ingestion transforms (Pinot's ingestionConfig
 * transformConfigs, filterConfig, complexTypeConfig, and the schema's
 * per-field transformFunction) applied to each JSON record.
 *
 * The expressions are SQL text compiled by a layer above (src/query) and
 * handed in through an XformCompiler: src/ingest cannot include the SQL
 * front end.  See xform.c for the record model and input typing.
 */
#ifndef WB_XFORM_H
#define WB_XFORM_H

#include <stddef.h>

#include "base/err.h"
#include "expr/expr.h"
#include "expr/exprin.h"
#include "storage/value.h"
#include "table/schema.h"
#include "table/tblconfig.h"

typedef ExprIn XformCol;
typedef ExprCompiled XformExpr;

/* What compiles the expressions (src/query/exprc.c: exprc_compile and
 * exprc_release, ctx NULL), given by the server or CLI. */
typedef struct XformCompiler {
	void *ctx;
	ExprCompileFn compile;
	ExprReleaseFn release;
} XformCompiler;

typedef struct Xform Xform;

/* Builds the transforms of a table: s and cfg are borrowed and must
 * outlive the Xform; cc is used during the call only.  ERR_BAD_CONFIG
 * naming the config path (e.g. "ingestionConfig.transformConfigs[0].
 * transformFunction: Groovy is not supported") when a transform cannot be
 * compiled or names an unknown column.  *out is owned by the caller.  An
 * Xform is used by one thread at a time (one per stream / push job). */
int xform_create(const Schema *s, const TableConfig *cfg, const XformCompiler *cc, Xform **out,
		 Err *e);
/* 0 when the table has no transforms, filter or complexTypeConfig:
 * callers then decode with jsonrec directly (x may be NULL). */
int xform_active(const Xform *x);
/* Decodes one JSON record rec[0..len) (borrowed) and appends 0..n rows to
 * out (0 when filtered out, n > 1 when unnested); returns 0, ERR_NOMEM,
 * or another ERR_* for a bad record (no row appended) with e->msg naming
 * the column and the function, and *col = the column at fault or -1.
 * *filtered is incremented when filterConfig drops the record. */
int xform_record(Xform *x, const char *rec, size_t len, RowBatch *out, int *col, int *filtered,
		 Err *e);
/* The same for a record given as field names and text values (CSV):
 * names[i] = values[i] (values[i] NULL = missing). */
int xform_record_text(Xform *x, int n, const char *const *names, const char *const *values,
		      const size_t *lens, RowBatch *out, int *col, int *filtered, Err *e);
void xform_free(Xform *x);

#endif
