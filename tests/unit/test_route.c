/* The kubelet API's request targets: routes, authorization attributes,
 * log query parameters and refusals. */
#include "server/route.h"
#include "test.h"

static int parse(const char *method, const char *target, struct wl_route *r)
{
    struct wl_error err = WL_ERROR_INIT;
    int code = wl_route_parse(method, target, r, &err);
    if (code && !err.msg)
        code = -1; /* a refusal must say why */
    wl_error_clear(&err);
    return code;
}

static void test_endpoints(void)
{
    static const struct {
        const char *target;
        enum wl_route_kind kind;
        const char *subresource;
    } cases[] = {
        {"/healthz", WL_ROUTE_HEALTHZ, "proxy"},
        {"/healthz/ping", WL_ROUTE_HEALTHZ, "proxy"},
        {"/pods", WL_ROUTE_PODS, "proxy"},
        {"/pods/", WL_ROUTE_PODS, "proxy"},
        {"/metrics", WL_ROUTE_METRICS, "metrics"},
        {"/metrics/resource", WL_ROUTE_METRICS_RESOURCE, "metrics"},
        {"/stats/summary?only_cpu_and_memory=true", WL_ROUTE_STATS_SUMMARY,
         "stats"},
        {"/containerLogs/default/web-1/app", WL_ROUTE_CONTAINER_LOGS, "proxy"},
        {"/exec/default/web-1/app?command=sh", WL_ROUTE_UNSUPPORTED, "proxy"},
        {"/portForward/default/web-1", WL_ROUTE_UNSUPPORTED, "proxy"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct wl_route r;
        CHECK_INT(parse("GET", cases[i].target, &r), 0);
        CHECK_INT(r.kind, cases[i].kind);
        CHECK_STR(r.subresource, cases[i].subresource);
        CHECK_STR(r.verb, "get");
    }
    struct wl_route r;
    CHECK_INT(parse("POST", "/exec/ns/p/c?command=ls", &r), 0);
    CHECK_STR(r.what, "exec");
    CHECK_STR(r.verb, "create");
    CHECK_STR(r.container, "c");
}

static void test_log_params(void)
{
    struct wl_route r;
    CHECK_INT(parse("GET",
                    "/containerLogs/kube-system/p.v1/c?follow=true&tailLines=5"
                    "&timestamps=1&limitBytes=100&previous=false&x=y",
                    &r),
              0);
    CHECK_STR(r.namespace_, "kube-system");
    CHECK_STR(r.pod, "p.v1");
    CHECK_STR(r.container, "c");
    CHECK(r.follow);
    CHECK(r.timestamps);
    CHECK(!r.previous);
    CHECK_INT(r.tail_lines, 5);
    CHECK_INT(r.limit_bytes, 100);
    CHECK_INT(parse("GET", "/containerLogs/a/b/c?sinceSeconds=30", &r), 0);
    CHECK_INT(r.since_seconds, 30);
    CHECK_INT(r.tail_lines, -1);
    CHECK_INT(parse("GET",
                    "/containerLogs/a/b/c?sinceTime=2026-11-27T10%3A00%3A00Z",
                    &r),
              0);
    CHECK_INT(r.since_time, 1795773600);
}

static void test_refusals(void)
{
    static const struct {
        const char *method, *target;
        int code;
    } cases[] = {
        {"GET", "/nope", 404},
        {"GET", "/containerLogs/a/b", 404},
        {"GET", "/containerLogs/a/b/c/d", 404},
        {"GET", "/containerLogs/../etc/passwd", 404},
        {"GET", "/containerLogs/%2e%2e/b/c", 404},
        {"GET", "/containerLogs/a/b%2Fc/d", 404},
        {"GET", "/containerLogs/A/b/c", 404},
        {"GET", "/containerLogs/a/b/c%00", 404},
        {"GET", "/containerLogs/a/b/c%zz", 400}, /* Go: invalid URL escape */
        {"GET", "/containerLogs/a/b/c%4", 400},
        {"GET", "/containerLogs/a/b/c?tailLines=-1", 400},
        {"GET", "/containerLogs/a/b/c?tailLines=x", 400},
        {"GET", "/containerLogs/a/b/c?limitBytes=0", 400},
        {"GET", "/containerLogs/a/b/c?follow=maybe", 400},
        {"GET", "/containerLogs/a/b/c?sinceTime=yesterday", 400},
        {"GET", "/containerLogs/a/b/c?sinceSeconds=1&sinceTime=2026-01-01T00:00:00Z",
         400},
        {"POST", "/containerLogs/a/b/c", 405},
        {"DELETE", "/pods", 405},
        {"BREW", "/healthz", 405},
        {"GET", "healthz", 400},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct wl_route r;
        int code = parse(cases[i].method, cases[i].target, &r);
        if (code != cases[i].code)
            WL_FAIL("%s %s: %d, expected %d", cases[i].method,
                    cases[i].target, code, cases[i].code);
    }
    char *long_target = malloc(WL_ROUTE_MAX_TARGET + 10);
    CHECK(long_target);
    memset(long_target, 'a', WL_ROUTE_MAX_TARGET + 9);
    long_target[0] = '/';
    long_target[WL_ROUTE_MAX_TARGET + 9] = 0;
    struct wl_route r;
    int code = parse("GET", long_target, &r);
    free(long_target);
    CHECK_INT(code, 414);
}

WL_TEST_MAIN(WL_T(test_endpoints), WL_T(test_log_params), WL_T(test_refusals))
