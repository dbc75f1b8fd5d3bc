/* Resource stats: the Summary API document and the /metrics/resource text
 * for a two-pod snapshot, and the node figures read from /proc. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "server/stats.h"
#include "test.h"

#define NOW_NS 1700000060500000000LL   /* 2023-11-14T22:14:20.5Z */
#define START_NS 1700000000000000000LL /* 2023-11-14T22:13:20Z */

static const struct wl_stats_node node = {
    .node_name = "wasm-1",
    .start_ns = 1690000000000000000LL,
    .cpu_ns = 123456000000000ULL,
    .memory_working_set = 2000000000,
    .memory_available = 6000000000,
    .memory_usage = 3000000000,
    .memory_rss = 1000000000,
    .fs_capacity = 100000000000ULL,
    .fs_available = 60000000000ULL,
    .fs_used = 40000000000ULL,
    .fs_inodes = 1000,
    .fs_inodes_free = 900,
};

static const struct wl_stats_container web_ctrs[] = {
    {.name = "app",
     .start_ns = START_NS,
     .cpu_ns = 1500000000,
     .memory_bytes = 4194304,
     .logs_bytes = 1000},
    {.name = "sidecar",
     .start_ns = START_NS + 250000000,
     .cpu_ns = 500000000,
     .memory_bytes = 1048576,
     .logs_bytes = 24},
};

static const struct wl_stats_container job_ctrs[] = {
    {.name = "main",
     .start_ns = START_NS,
     .cpu_ns = 7,
     .memory_bytes = 65536,
     .logs_bytes = 0},
};

static const struct wl_stats_volume web_vols[] = {
    {.name = "cache", .used_bytes = 4096},
};

static const struct wl_stats_pod pods[] = {
    {.namespace_ = "default",
     .name = "web",
     .uid = "uid-web",
     .start_ns = START_NS,
     .ctrs = web_ctrs,
     .nctrs = 2,
     .vols = web_vols,
     .nvols = 1,
     .volume_bytes = 4096},
    {.namespace_ = "batch",
     .name = "job \"x\"",
     .uid = "uid-job",
     .start_ns = START_NS,
     .ctrs = job_ctrs,
     .nctrs = 1},
};

static json_t *summary(void)
{
    char *s = wl_stats_summary_json(&node, pods, 2, NOW_NS);
    if (!s)
        return NULL;
    json_t *v = json_loads(s, 0, NULL);
    free(s);
    return v;
}

#define J(o, path) json_integer_value(json_object_get((o), (path)))
#define S(o, path) json_string_value(json_object_get((o), (path)))

static void test_stats_summary_node(void)
{
    json_t *root = summary();
    CHECK(root);
    json_t *n = json_object_get(root, "node");
    CHECK_STR(S(n, "nodeName"), "wasm-1");
    CHECK_STR(S(n, "startTime"), "2023-07-22T04:26:40Z");
    CHECK(json_is_array(json_object_get(n, "systemContainers")));
    json_t *cpu = json_object_get(n, "cpu");
    CHECK_STR(S(cpu, "time"), "2023-11-14T22:14:20Z");
    CHECK_INT(J(cpu, "usageCoreNanoSeconds"), 123456000000000LL);
    json_t *mem = json_object_get(n, "memory");
    CHECK_INT(J(mem, "workingSetBytes"), 2000000000);
    CHECK_INT(J(mem, "availableBytes"), 6000000000LL);
    CHECK_INT(J(mem, "usageBytes"), 3000000000LL);
    CHECK_INT(J(mem, "rssBytes"), 1000000000);
    json_t *fs = json_object_get(n, "fs");
    CHECK_INT(J(fs, "capacityBytes"), 100000000000LL);
    CHECK_INT(J(fs, "availableBytes"), 60000000000LL);
    CHECK_INT(J(fs, "usedBytes"), 40000000000LL);
    CHECK_INT(J(fs, "inodesUsed"), 100);
    json_decref(root);
}

static void test_stats_summary_pods_and_containers(void)
{
    json_t *root = summary();
    CHECK(root);
    json_t *ps = json_object_get(root, "pods");
    CHECK_INT(json_array_size(ps), 2);

    json_t *web = json_array_get(ps, 0);
    json_t *ref = json_object_get(web, "podRef");
    CHECK_STR(S(ref, "name"), "web");
    CHECK_STR(S(ref, "namespace"), "default");
    CHECK_STR(S(ref, "uid"), "uid-web");
    CHECK_STR(S(web, "startTime"), "2023-11-14T22:13:20Z");
    CHECK_INT(J(json_object_get(web, "cpu"), "usageCoreNanoSeconds"),
              2000000000);
    CHECK_INT(J(json_object_get(web, "memory"), "workingSetBytes"), 5242880);

    json_t *ctrs = json_object_get(web, "containers");
    CHECK_INT(json_array_size(ctrs), 2);
    json_t *app = json_array_get(ctrs, 0);
    CHECK_STR(S(app, "name"), "app");
    CHECK_STR(S(app, "startTime"), "2023-11-14T22:13:20Z");
    CHECK_INT(J(json_object_get(app, "cpu"), "usageCoreNanoSeconds"),
              1500000000);
    CHECK_STR(S(json_object_get(app, "cpu"), "time"), "2023-11-14T22:14:20Z");
    json_t *mem = json_object_get(app, "memory");
    CHECK_INT(J(mem, "workingSetBytes"), 4194304);
    CHECK_INT(J(mem, "usageBytes"), 4194304);
    CHECK_INT(J(mem, "rssBytes"), 4194304);
    CHECK_INT(J(json_object_get(app, "logs"), "usedBytes"), 1000);
    CHECK_INT(J(json_object_get(app, "logs"), "capacityBytes"), 100000000000LL);
    CHECK_STR(S(json_array_get(ctrs, 1), "name"), "sidecar");

    json_t *vols = json_object_get(web, "volume");
    CHECK_INT(json_array_size(vols), 1);
    CHECK_STR(S(json_array_get(vols, 0), "name"), "cache");
    CHECK_INT(J(json_array_get(vols, 0), "usedBytes"), 4096);
    CHECK_INT(J(json_object_get(web, "ephemeral-storage"), "usedBytes"),
              4096 + 1024);

    json_t *job = json_array_get(ps, 1);
    CHECK_STR(S(json_object_get(job, "podRef"), "name"), "job \"x\"");
    CHECK(json_object_get(job, "volume") == NULL);
    CHECK_INT(J(json_object_get(job, "cpu"), "usageCoreNanoSeconds"), 7);
    json_decref(root);
}

static void test_stats_summary_with_no_pods(void)
{
    char *s = wl_stats_summary_json(&node, NULL, 0, NOW_NS);
    CHECK_CONTAINS(s, "\"pods\":[]");
    free(s);
}

static void test_stats_resource_metrics_text(void)
{
    char *s = wl_stats_resource_metrics(&node, pods, 2, NOW_NS);
    CHECK(s);
    CHECK_CONTAINS(s, "# HELP container_cpu_usage_seconds_total Cumulative cpu "
                      "time consumed by the container in core-seconds\n"
                      "# TYPE container_cpu_usage_seconds_total counter\n"
                      "container_cpu_usage_seconds_total{container=\"app\","
                      "namespace=\"default\",pod=\"web\"} 1.5 1700000060500\n"
                      "container_cpu_usage_seconds_total{container=\"sidecar\","
                      "namespace=\"default\",pod=\"web\"} 0.5 1700000060500\n"
                      "container_cpu_usage_seconds_total{container=\"main\","
                      "namespace=\"batch\",pod=\"job \\\"x\\\"\"} 7e-09 "
                      "1700000060500\n");
    CHECK_CONTAINS(s, "# TYPE container_memory_working_set_bytes gauge\n"
                      "container_memory_working_set_bytes{container=\"app\","
                      "namespace=\"default\",pod=\"web\"} 4194304 "
                      "1700000060500\n");
    CHECK_CONTAINS(s, "# TYPE container_start_time_seconds gauge\n"
                      "container_start_time_seconds{container=\"app\","
                      "namespace=\"default\",pod=\"web\"} 1700000000 "
                      "1700000000000\n"
                      "container_start_time_seconds{container=\"sidecar\","
                      "namespace=\"default\",pod=\"web\"} 1700000000.25 "
                      "1700000000250\n");
    CHECK_CONTAINS(s, "# TYPE node_cpu_usage_seconds_total counter\n"
                      "node_cpu_usage_seconds_total 123456 1700000060500\n");
    CHECK_CONTAINS(s, "# TYPE node_memory_working_set_bytes gauge\n"
                      "node_memory_working_set_bytes 2000000000 "
                      "1700000060500\n");
    CHECK_CONTAINS(s, "# TYPE pod_cpu_usage_seconds_total counter\n"
                      "pod_cpu_usage_seconds_total{namespace=\"default\","
                      "pod=\"web\"} 2 1700000060500\n");
    CHECK_CONTAINS(s, "# TYPE pod_memory_working_set_bytes gauge\n"
                      "pod_memory_working_set_bytes{namespace=\"default\","
                      "pod=\"web\"} 5242880 1700000060500\n"
                      "pod_memory_working_set_bytes{namespace=\"batch\","
                      "pod=\"job \\\"x\\\"\"} 65536 1700000060500\n");
    CHECK_CONTAINS(s, "# TYPE scrape_error gauge\nscrape_error 0\n");
    free(s);
}

static void test_stats_node_read_is_sane(void)
{
    struct wl_stats_node n;
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(wl_stats_node_read("/tmp", "me", &n, &err), 0);
    CHECK_STR(n.node_name, "me");
    CHECK(n.cpu_ns > 0);
    CHECK(n.memory_usage > 0);
    CHECK(n.memory_working_set > 0);
    CHECK(n.memory_working_set <= n.memory_usage);
    CHECK(n.memory_available > 0);
    CHECK(n.fs_capacity > 0);
    CHECK(n.fs_available <= n.fs_capacity);
    CHECK(n.fs_used <= n.fs_capacity);
    int64_t now_ns = (int64_t)time(NULL) * 1000000000LL;
    CHECK(n.start_ns > 0 && n.start_ns < now_ns);
}

static void test_stats_node_read_fails_for_missing_dir(void)
{
    struct wl_stats_node n = {0};
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(wl_stats_node_read("/nonexistent/wl", "me", &n, &err), -1);
    CHECK_CONTAINS(err.msg, "statvfs /nonexistent/wl");
    CHECK(n.node_name == NULL); /* untouched */
    wl_error_clear(&err);
}

WL_TEST_MAIN(WL_T(test_stats_summary_node),
             WL_T(test_stats_summary_pods_and_containers),
             WL_T(test_stats_summary_with_no_pods),
             WL_T(test_stats_resource_metrics_text),
             WL_T(test_stats_node_read_is_sane),
             WL_T(test_stats_node_read_fails_for_missing_dir))
