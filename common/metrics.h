/* metrics.h — counters and gauges a program updates from its main loop, served over HTTP in
 * the Prometheus text format on `[metrics] listen` (GET /metrics) by a small thread. */
#ifndef FL_METRICS_H
#define FL_METRICS_H

#include <stdint.h>

#include "common/buf.h"

typedef struct fl_metric fl_metric;

/* Registers a metric (names like "fastlane_relay_transactions_total"). Registering an
 * existing name returns the same metric. Never freed; call before serving. */
fl_metric *fl_metric_counter(const char *name, const char *help);
fl_metric *fl_metric_gauge(const char *name, const char *help);
/* One series of a counter family with a fixed label, e.g. ("fastlane_apply_not_applied_total",
 * "kind", "statement"); the family's HELP is the first series'. */
fl_metric *fl_metric_counter_series(const char *name, const char *label, const char *value, const char *help);
/* An info metric: value 1 with one label whose text may change (e.g. the build's version).
 * Never a label per transaction or position: those are numeric gauges. */
fl_metric *fl_metric_info(const char *name, const char *label, const char *help);

void fl_metric_add(fl_metric *m, uint64_t n);            /* counters */
void fl_metric_set(fl_metric *m, double v);              /* gauges */
void fl_metric_set_text(fl_metric *m, const char *text); /* info metrics */
double fl_metric_value(const fl_metric *m);

/* Registers what every program exports, named PREFIX_build_info{version="..."} and
 * PREFIX_last_error_timestamp_seconds (stamped by each error logged), e.g. "fastlane_relay". */
void fl_metrics_program(const char *prefix);

/* Appends every metric in the Prometheus text exposition format. */
void fl_metrics_render(fl_buf *out);

/* Starts serving on host:port in a background thread. Returns 0, or -1 with a reason. */
int fl_metrics_serve(const char *listen, char *err, size_t errlen);
/* Stops the thread and forgets every metric (for tests and orderly exits). */
void fl_metrics_shutdown(void);

#endif
