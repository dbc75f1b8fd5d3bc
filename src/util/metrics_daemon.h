/* The daemon's own metrics, served at /metrics: defined here, in one list
 * (docs/architecture.md names them), updated by the modules that see the
 * events, registered by wl_daemon_metrics_register() at start-up. */
#ifndef WL_UTIL_METRICS_DAEMON_H
#define WL_UTIL_METRICS_DAEMON_H

#include "util/metrics.h"

/* pod/runner.c, pod/manager.c */
extern struct wl_metric wl_m_container_starts;   /* modules started */
extern struct wl_metric wl_m_container_failures; /* {reason} */
/* runtime/run.c: instantiate + WASI set-up until _start is called */
extern struct wl_metric wl_m_module_start_seconds;
/* runtime/module_cache.c */
extern struct wl_metric wl_m_module_cache;       /* {result}: memory, disk,
                                                    compiled */
extern struct wl_metric wl_m_module_compile_seconds;
/* oci/puller.c */
extern struct wl_metric wl_m_image_pulls;        /* {result}: ok, error */
extern struct wl_metric wl_m_image_pull_seconds;
extern struct wl_metric wl_m_image_pull_bytes;
/* kube/client.c */
extern struct wl_metric wl_m_api_request_seconds; /* {verb} */
extern struct wl_metric wl_m_api_request_errors;  /* {verb, code} */
/* pod/writer.c */
extern struct wl_metric wl_m_status_writes;
extern struct wl_metric wl_m_events_written;
/* server/server.c */
extern struct wl_metric wl_m_http_requests;       /* {path, code} */

int wl_daemon_metrics_register(struct wl_error *err);

#endif
