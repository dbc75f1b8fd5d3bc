/* The kubelet API's request targets: a raw request target ("/path?query",
 * straight off the request line, still percent-encoded) becomes a route
 * with its checked parameters, or an HTTP status and a message.
 *
 * Names taken from the path (namespace, pod, container) must be what the
 * API allows (lower-case DNS labels and subdomains), so nothing from a URL
 * ever reaches a file name unchecked. Pure functions: the fuzz target
 * tests/fuzz/fuzz_route.c drives wl_route_parse.
 */
#ifndef WL_SERVER_ROUTE_H
#define WL_SERVER_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

/* Longest request target accepted (the kubelet's API paths are short). */
#define WL_ROUTE_MAX_TARGET 4096

enum wl_route_kind {
    WL_ROUTE_HEALTHZ,
    WL_ROUTE_PODS,
    WL_ROUTE_METRICS,
    WL_ROUTE_METRICS_RESOURCE,
    WL_ROUTE_STATS_SUMMARY,
    WL_ROUTE_CONTAINER_LOGS,
    WL_ROUTE_UNSUPPORTED, /* exec, attach, portForward, run: not for wasm */
};

struct wl_route {
    enum wl_route_kind kind;
    /* authorization, as the kubelet derives it: verb from the method,
     * subresource of nodes from the path (stats, metrics, log or proxy) */
    const char *verb;
    const char *subresource;
    /* CONTAINER_LOGS, UNSUPPORTED (container may be empty there) */
    char namespace_[254];
    char pod[254];
    char container[64];
    const char *what; /* UNSUPPORTED: "exec", "attach", ... */
    /* CONTAINER_LOGS query */
    bool follow, previous, timestamps;
    long tail_lines;      /* -1: all */
    int64_t since_seconds; /* 0: none */
    int64_t since_time;    /* unix seconds; 0: none */
    int64_t limit_bytes;   /* 0: none */
};

/* Parses method and target. Returns 0 and fills *ret, or the HTTP status
 * to answer (400 bad parameter, 404 no such path, 405 wrong method, 414
 * too long) with err saying why in words kubectl can show. */
int wl_route_parse(const char *method, const char *target,
                   struct wl_route *ret, struct wl_error *err);

#endif
