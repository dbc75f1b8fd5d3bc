#include "util/metrics_daemon.h"

static const double start_bounds[] = {0.0001, 0.00025, 0.0005, 0.001,
                                      0.0025, 0.005,   0.01,   0.05,
                                      0.25,   1};
static const double compile_bounds[] = {0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10,
                                        30};
static const double pull_bounds[] = {0.01, 0.05, 0.1, 0.25, 0.5,
                                     1,    2.5,  5,   10,   30};
static const double api_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                    0.1,   0.25,   0.5,   1,    2.5,   10};

struct wl_metric wl_m_container_starts =
    WL_COUNTER("wasmlet_container_starts_total",
               "Container runs whose module started.");
struct wl_metric wl_m_container_failures =
    WL_COUNTER_VEC("wasmlet_container_failures_total",
                   "Container runs that could not start or ended in failure, "
                   "by reason.",
                   "reason");
struct wl_metric wl_m_module_start_seconds = WL_HISTOGRAM(
    "wasmlet_module_start_duration_seconds",
    "Time from a run's start to its module's _start being called "
    "(instantiation and WASI set-up; the module already compiled).",
    start_bounds);
struct wl_metric wl_m_module_cache =
    WL_COUNTER_VEC("wasmlet_module_cache_lookups_total",
                   "Compiled-module lookups, by where the module came from: "
                   "memory or disk (hits) or compiled (a miss).",
                   "result");
struct wl_metric wl_m_module_compile_seconds =
    WL_HISTOGRAM("wasmlet_module_compile_duration_seconds",
                 "Time to compile a module to native code.", compile_bounds);
struct wl_metric wl_m_image_pulls = WL_COUNTER_VEC(
    "wasmlet_image_pulls_total",
    "Image pulls that contacted a registry, by result (ok, error).", "result");
struct wl_metric wl_m_image_pull_seconds =
    WL_HISTOGRAM("wasmlet_image_pull_duration_seconds",
                 "Time of image pulls that contacted a registry.", pull_bounds);
struct wl_metric wl_m_image_pull_bytes =
    WL_COUNTER("wasmlet_image_pull_bytes_total",
               "Bytes of blobs downloaded from registries.");
struct wl_metric wl_m_api_request_seconds = WL_HISTOGRAM_VEC(
    "wasmlet_api_request_duration_seconds",
    "Latency of requests to the Kubernetes API server, by verb.", api_bounds,
    "verb");
struct wl_metric wl_m_api_request_errors = WL_COUNTER_VEC(
    "wasmlet_api_request_errors_total",
    "Requests to the API server that failed, by verb and HTTP status "
    "(0: no answer).",
    "verb", "code");
struct wl_metric wl_m_status_writes =
    WL_COUNTER("wasmlet_pod_status_writes_total",
               "Pod status PATCHes written to the API server.");
struct wl_metric wl_m_events_written =
    WL_COUNTER("wasmlet_events_written_total",
               "Events written to the API server.");
struct wl_metric wl_m_http_requests = WL_COUNTER_VEC(
    "wasmlet_kubelet_api_requests_total",
    "Requests to the kubelet API, by endpoint and HTTP status.", "path",
    "code");

int wl_daemon_metrics_register(struct wl_error *err)
{
    return wl_metrics_register(
        err, &wl_m_container_starts, &wl_m_container_failures,
        &wl_m_module_start_seconds, &wl_m_module_cache,
        &wl_m_module_compile_seconds, &wl_m_image_pulls,
        &wl_m_image_pull_seconds, &wl_m_image_pull_bytes,
        &wl_m_api_request_seconds, &wl_m_api_request_errors,
        &wl_m_status_writes, &wl_m_events_written, &wl_m_http_requests);
}
