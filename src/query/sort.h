/*
 * sort.h -- ORDER BY over materialized rows.
 */
#ifndef WB_SORT_H
#define WB_SORT_H

#include <stddef.h>

#include "query/plan.h"
#include "storage/value.h"

/* Sorts rows (pointers to Value arrays) by the plan's ORDER BY keys, found
 * at rows[i][keyoff + k]. */
void sort_rows(const Value **rows, size_t n, const Plan *p, int keyoff);
/* Compares two ORDER BY key tuples (p->norder Values each, NULLs and
 * directions applied): < 0 when a sorts first. */
int sort_cmp_keys(const Value *a, const Value *b, const Plan *p);
int sort__row_cmp(const void *x, const void *y, void *arg);
/* Compares two values of the same column (NULLs handled by the caller). */
int sort_cmp_values(const Value *a, const Value *b);

#endif
