/*
 * exprc.h -- compiles one standalone SQL expression (an ingestion
 * transform or filter) into an Expr tree over named inputs.
 */
#ifndef WB_EXPRC_H
#define WB_EXPRC_H

#include "expr/exprin.h"

/* An ExprCompileFn (expr/exprin.h); ctx unused.  On success out->owner
 * must be released with exprc_release. */
int exprc_compile(void *ctx, const char *text, const ExprIn *known, int nknown, ExprCompiled *out,
		  Err *e);
void exprc_release(void *ctx, void *owner);

#endif
