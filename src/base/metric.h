/*
 * metric.h -- process-wide counters, defined once in metrics.def and
 * rendered by /metrics.  metric_add is a relaxed atomic add: cheap enough
 * for per-request (not per-row) use.
 */
#ifndef WB_METRIC_H
#define WB_METRIC_H

#include <stdint.h>

#include "base/buf.h"

typedef enum MetricId {
#define METRIC(id, name, type, help) id,
#include "base/metrics.def"
#undef METRIC
	METRIC_COUNT
} MetricId;

void metric_add(MetricId id, uint64_t n);
uint64_t metric_get(MetricId id);
/* Appends every metric in Prometheus text exposition format. */
void metric_render(Buf *out);

#endif
