/*
 * metric.c -- the counters of metrics.def as an array of atomics, and
 * their Prometheus text rendering (# HELP, # TYPE, value).
 *
 * Exports: metric_add, metric_get, metric_render.
 */
#include "base/metric.h"

#include <stdatomic.h>

typedef struct MetricInfo {
	const char *name;
	const char *type;
	const char *help;
} MetricInfo;

static const MetricInfo metric_info[METRIC_COUNT] = {
#define METRIC(id, name, type, help) [id] = {name, #type, help},
#include "base/metrics.def"
#undef METRIC
};

static _Atomic uint64_t metric_val[METRIC_COUNT];

void
metric_add(MetricId id, uint64_t n)
{
	if ((unsigned)id < METRIC_COUNT)
		atomic_fetch_add_explicit(&metric_val[id], n, memory_order_relaxed);
}

uint64_t
metric_get(MetricId id)
{
	return (unsigned)id < METRIC_COUNT ? atomic_load_explicit(&metric_val[id], memory_order_relaxed) : 0;
}

void
metric_render(Buf *out)
{
	for (int i = 0; i < METRIC_COUNT; i++) {
		const MetricInfo *m = &metric_info[i];
		buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", m->name, m->help, m->name,
			   m->type, m->name, (unsigned long long)metric_get((MetricId)i));
	}
}
