/* Prometheus metrics for the daemon's /metrics endpoint, in the text
 * exposition format 0.0.4.
 *
 * A metric is a static object in the module that updates it, defined with
 * one of the initializer macros and registered once at start-up (before the
 * first scrape; updating an unregistered metric is harmless, it is just not
 * rendered):
 *
 *     static const double pull_bounds[] = {0.1, 0.5, 1, 5, 30};
 *     static struct wl_metric pulls = WL_COUNTER_VEC(
 *         "wasmlet_image_pulls_total", "Image pulls.", "result");
 *     static struct wl_metric pull_seconds = WL_HISTOGRAM(
 *         "wasmlet_image_pull_duration_seconds", "Pull time.", pull_bounds);
 *
 *     wl_metrics_register(&err, &pulls, &pull_seconds);   (at start-up)
 *     wl_counter_inc(wl_metric_with(&pulls, "ok"));
 *     wl_histogram_observe(&pull_seconds, 1.25);
 *
 * Thread-safety: updates (inc/add/set/observe) on an unlabelled metric, or
 * on a child returned by wl_metric_with(), are lock-free C11 atomics.
 * wl_metric_with() finds an existing child without a lock and takes a mutex
 * only to create one. A hot path should look its child up once and keep the
 * pointer: children live as long as the process.
 *
 * A labelled metric has at most WL_METRIC_MAX_CHILDREN label-value tuples;
 * past that, wl_metric_with() hands back a sink whose updates are not
 * rendered and counts the refusal in wasmlet_metrics_dropped_series_total,
 * so a label fed from outside (pod names) cannot grow memory without bound.
 */
#ifndef WL_UTIL_METRICS_H
#define WL_UTIL_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define WL_METRIC_MAX_LABELS 3
#define WL_METRIC_MAX_CHILDREN 64
#define WL_METRIC_MAX_BOUNDS 16

enum wl_metric_type {
    WL_METRIC_COUNTER,
    WL_METRIC_GAUGE,
    WL_METRIC_HISTOGRAM,
};

/* A counter, gauge or histogram, or a labelled child of one. Define it with
 * the macros below; the fields are private to metrics.c. */
struct wl_metric {
    /* Definition, constant after initialisation. */
    const char *name;
    const char *help;
    enum wl_metric_type type;
    const char *label_names[WL_METRIC_MAX_LABELS]; /* unused ones NULL */
    const double *bounds; /* histogram upper bounds, increasing, no +Inf */
    size_t nbounds;

    /* Values: counter count, gauge double bits, or histogram per-bucket
     * (not cumulative) counts with buckets[nbounds] the +Inf overflow, and
     * the histogram sum as double bits. */
    _Atomic uint64_t value;
    _Atomic uint64_t sum;
    _Atomic uint64_t buckets[WL_METRIC_MAX_BOUNDS + 1];

    /* Labelled children: appended under a mutex, read without one. */
    struct wl_metric *parent;                 /* set in children */
    char *label_values[WL_METRIC_MAX_LABELS]; /* children: owned */
    _Atomic(struct wl_metric *) children;     /* first child */
    _Atomic(struct wl_metric *) next_child;   /* sibling, in a child */
    struct wl_metric *last_child;
    size_t nchildren;

    struct wl_metric *next; /* the registry, sorted by name */
    bool registered;
};

#define WL_METRIC_INIT_(name_, help_, type_, ...)                              \
    {                                                                          \
        .name = (name_), .help = (help_), .type = (type_),                     \
        .label_names = {__VA_ARGS__},                                          \
    }

/* Unlabelled and labelled counters and gauges. Label names are string
 * literals, at most WL_METRIC_MAX_LABELS. */
#define WL_COUNTER(name_, help_)                                               \
    WL_METRIC_INIT_(name_, help_, WL_METRIC_COUNTER, NULL)
#define WL_COUNTER_VEC(name_, help_, ...)                                      \
    WL_METRIC_INIT_(name_, help_, WL_METRIC_COUNTER, __VA_ARGS__)
#define WL_GAUGE(name_, help_)                                                 \
    WL_METRIC_INIT_(name_, help_, WL_METRIC_GAUGE, NULL)
#define WL_GAUGE_VEC(name_, help_, ...)                                        \
    WL_METRIC_INIT_(name_, help_, WL_METRIC_GAUGE, __VA_ARGS__)

/* The number of elements of a static bounds array; a compile error past
 * WL_METRIC_MAX_BOUNDS. */
#define WL_METRIC_NBOUNDS_(b)                                                  \
    (sizeof(b) / sizeof((b)[0]) +                                              \
     0 * sizeof(                                                               \
             char[sizeof(b) / sizeof((b)[0]) <= WL_METRIC_MAX_BOUNDS ? 1       \
                                                                     : -1]))

/* A histogram over a static const double array of increasing upper bounds
 * (seconds, by Prometheus convention; +Inf is implied). */
#define WL_HISTOGRAM(name_, help_, bounds_)                                    \
    {                                                                          \
        .name = (name_), .help = (help_), .type = WL_METRIC_HISTOGRAM,         \
        .bounds = (bounds_), .nbounds = WL_METRIC_NBOUNDS_(bounds_),           \
    }
#define WL_HISTOGRAM_VEC(name_, help_, bounds_, ...)                           \
    {                                                                          \
        .name = (name_), .help = (help_), .type = WL_METRIC_HISTOGRAM,         \
        .label_names = {__VA_ARGS__}, .bounds = (bounds_),                     \
        .nbounds = WL_METRIC_NBOUNDS_(bounds_),                                \
    }

/* Adds metrics to the registry that wl_metrics_render() walks. Registering
 * the same object again does nothing. Fails, registering none of the rest,
 * for a name or label name Prometheus would refuse, a label named "le" on
 * a histogram, decreasing bounds, or a name already taken by another
 * object. Call it at start-up, e.g. from a module's init function. */
int wl_metrics_registerv(struct wl_metric *const *ms, size_t n,
                         struct wl_error *err);
#define wl_metrics_register(err, ...)                                          \
    wl_metrics_registerv((struct wl_metric *const[]){__VA_ARGS__},             \
                         sizeof((struct wl_metric *const[]){__VA_ARGS__}) /    \
                             sizeof(struct wl_metric *),                       \
                         (err))

/* Updates. The metric must be of the named type (a broken invariant
 * otherwise: the update is ignored). Counters only go up. */
void wl_counter_add(struct wl_metric *m, uint64_t n);
void wl_counter_inc(struct wl_metric *m);
void wl_gauge_set(struct wl_metric *m, double v);
void wl_gauge_add(struct wl_metric *m, double d);
void wl_histogram_observe(struct wl_metric *m, double v);

/* Current values, for tests and for code that reads its own metrics. */
uint64_t wl_counter_value(const struct wl_metric *m);
double wl_gauge_value(const struct wl_metric *m);

/* The child of labelled metric m for one value per label name, in order,
 * created on first use (values are copied; NULL counts as ""). Never NULL:
 * when the tuple cannot be created (WL_METRIC_MAX_CHILDREN reached, out of
 * memory, the wrong number of values, m not labelled) the result is a sink
 * that is never rendered, and the refusal is counted in
 * wasmlet_metrics_dropped_series_total. */
struct wl_metric *wl_metric_withv(struct wl_metric *m,
                                  const char *const *values, size_t n);
#define wl_metric_with(m, ...)                                                 \
    wl_metric_withv((m), (const char *const[]){__VA_ARGS__},                   \
                    sizeof((const char *const[]){__VA_ARGS__}) /               \
                        sizeof(const char *))

/* Text being rendered: a growable buffer that remembers running out of
 * memory, so writers need not check each append. Initialise with
 * WL_METRICS_OUT_INIT; the fields are private. */
struct wl_metrics_out {
    char *buf;
    size_t len, cap;
    bool failed;
};

#define WL_METRICS_OUT_INIT                                                    \
    {                                                                          \
        NULL, 0, 0, false                                                      \
    }

/* Hands the text (NUL-terminated) to the caller, who frees it, and writes
 * its length to *len_ret if not NULL. NULL if any append ran out of memory.
 * out is empty afterwards either way. */
char *wl_metrics_out_steal(struct wl_metrics_out *out, size_t *len_ret);

/* Frees the text without handing it over. */
void wl_metrics_out_clear(struct wl_metrics_out *out);

/* Writes a family's "# HELP" and "# TYPE" lines; type is "counter",
 * "gauge", "histogram" or "untyped". HELP text is escaped. */
void wl_metrics_out_family(struct wl_metrics_out *out, const char *name,
                           const char *type, const char *help);

/* Writes one sample line: name{labels} value [timestamp]. labels is a
 * NULL-terminated list of alternating names and values (WL_LABELS), or
 * NULL; values are escaped. timestamp_ms is milliseconds since the epoch,
 * written only when positive. Values print in the shortest form that reads
 * back exactly; +Inf, -Inf and NaN as Prometheus spells them. */
void wl_metrics_out_sample(struct wl_metrics_out *out, const char *name,
                           const char *const *labels, double value,
                           int64_t timestamp_ms);
#define WL_LABELS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Renders one metric (all its children, for a labelled one): # HELP,
 * # TYPE, then samples; histograms as cumulative _bucket{le=...} lines
 * ending with le="+Inf", then _sum and _count. A labelled metric with no
 * children renders nothing. */
void wl_metric_render(const struct wl_metric *m, struct wl_metrics_out *out);

/* A collector appends families computed at scrape time (pods by phase,
 * process figures) with the wl_metrics_out_* writers. It runs on the
 * scraping thread with the registry locked: it must not register metrics or
 * collectors, and its family names must not repeat a registered metric's. */
typedef void wl_metrics_collect_fn(struct wl_metrics_out *out, void *arg);

/* Adds a collector, run on every render after the registered metrics, in
 * the order added. Returns -1 only when out of memory. */
int wl_metrics_add_collector(wl_metrics_collect_fn *fn, void *arg);

/* The whole exposition: every registered metric (by name, including the
 * built-in wasmlet_metrics_dropped_series_total), the built-in process_*
 * families, then the collectors. Returns 0 and a malloc'd NUL-terminated
 * text in *ret (its length in *len_ret if not NULL), or -1 when out of
 * memory. Serve it as "text/plain; version=0.0.4; charset=utf-8". */
int wl_metrics_render(char **ret, size_t *len_ret);

/* Figures about this process, as the Prometheus process collector reports
 * them. */
struct wl_proc_stats {
    uint64_t resident_bytes; /* /proc/self/statm */
    uint64_t virtual_bytes;
    double cpu_seconds; /* user + system, all threads (getrusage) */
    uint64_t open_fds;  /* entries in /proc/self/fd */
    uint64_t max_fds;   /* RLIMIT_NOFILE soft limit */
    double start_time;  /* unix seconds (/proc/self/stat and btime) */
    uint64_t threads;
};

/* Reads the figures. Returns 0 and fills *out, or -1 (errno set) when /proc
 * cannot be read. */
int wl_proc_self_stats(struct wl_proc_stats *out);

#endif
