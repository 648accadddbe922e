/*
 * lcsql.h -- life-cycle answers as SQL table functions (flow_stuck,
 * flow_gaps, flow_funnel, flow_attribution, flow_timeline): see lcsql.c.
 */
#ifndef WB_LCSQL_H
#define WB_LCSQL_H

#include "lifecycle/lifecycle.h"
#include "table/catalog.h"

/* Makes the functions answer for statements on catalog c from lc. */
void lcsql_register(Catalog *c, Lifecycle *lc);
/* Before lc closes: waits for calls in flight. */
void lcsql_unregister(Catalog *c);

#endif
