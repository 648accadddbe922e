/*
 * lcexpr.h -- a flow source's stageExpr, compiled against the source
 * table's schema and evaluated over rows of events (lcexpr.c).
 */
#ifndef WB_LCEXPR_H
#define WB_LCEXPR_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "storage/value.h"
#include "table/schema.h"

typedef struct LcExpr LcExpr;

/* Compiles text against sch's columns; ERR_BAD_CONFIG naming it. */
int lcexpr_compile(const char *text, const Schema *sch, LcExpr **out, Err *e);
/* The columns it reads (names as the schema spells them). */
int lcexpr_ninputs(const LcExpr *x);
const char *lcexpr_input(const LcExpr *x, int k);
/* Evaluates it over nrows row-major rows of ncols values, input k being
 * column incol[k] (-1: NULL): out[r] / outlen[r] = row r's result as
 * text in a, or NULL for a NULL.  Thread-safe. */
int lcexpr_eval(LcExpr *x, const int *incol, const Value *rows, size_t nrows, int ncols,
		const char **out, uint32_t *outlen, Arena *a, Err *e);
void lcexpr_free(LcExpr *x);

#endif
