/*
 * lcanswer.h -- the answers of life-cycle tracking, as JSON, computed
 * from a flow's in-memory state (lcstate.h) at time now: where-is, stuck,
 * gaps, funnel and attribution (docs/lifecycle.md has the formats).
 */
#ifndef WB_LCANSWER_H
#define WB_LCANSWER_H

#include "base/buf.h"
#include "base/err.h"
#include "lifecycle/flowdef.h"
#include "lifecycle/lcstate.h"
#include "lifecycle/lifecycle.h"

/* One entity; ERR_NOT_FOUND when the flow has never seen key. */
int lcanswer_entity(const FlowDef *d, LcState *st, int64_t now, const char *key, Buf *out,
		    Err *e);
/* what: "stuck", "gaps", "funnel", "attribution" (ERR_NOT_FOUND
 * otherwise); parameters through arg (ERR_INVALID naming a bad one). */
int lcanswer_query(const FlowDef *d, LcState *st, int64_t now, const char *what, LcArgFn arg,
		   void *ctx, Buf *out, Err *e);

#endif
