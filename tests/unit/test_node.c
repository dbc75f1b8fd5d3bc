/* The Node object and conditions wasmlet reports, from a fixed machine. */
#include <stdlib.h>

#include "node/node.h"
#include "test.h"
#include "util/json.h"
#include "util/time.h"

static const char *const extra[] = {"team=wasm"};
static const struct wl_node_config cfg = {
    .name = "n1",
    .hostname = "host-1",
    .node_ip = "10.1.2.3",
    .port = 10250,
    .max_pods = 110,
    .labels = extra,
    .nlabels = 1,
    .data_dir = "/tmp",
    .version = "0.1.0",
    .wasmtime_version = "39.0.0",
};

static struct wl_sysinfo machine(void)
{
    struct wl_sysinfo si = {
        .cpus = 4,
        .memory_total = 8LL << 30,
        .memory_available = 4LL << 30,
        .disk_total = 100LL << 30,
        .disk_available = 50LL << 30,
        .pids_max = 4194304,
        .pids_used = 300,
        .kernel = "6.1.0",
        .arch = "amd64",
        .os_image = "Debian GNU/Linux 12 (bookworm)",
        .machine_id = "abc",
        .boot_id = "def",
    };
    return si;
}

static void test_node_object_has_wasm_labels_taints_and_capacity(void)
{
    struct wl_node node;
    struct wl_sysinfo si = machine();
    wl_node_init(&node, &cfg, NULL);
    wl_node_eval_conditions(&node, &si, 1000);
    json_t *o = wl_node_build(&node, &si, 1000);
    CHECK(o != NULL);
    CHECK_STR(wl_json_str(o, "metadata", "name", NULL), "n1");
    CHECK_STR(wl_json_str(o, "metadata", "labels", "kubernetes.io/arch", NULL),
              "wasm32-wasi");
    CHECK_STR(wl_json_str(o, "metadata", "labels", "kubernetes.io/hostname",
                          NULL),
              "host-1");
    CHECK_STR(wl_json_str(o, "metadata", "labels", "team", NULL), "wasm");
    json_t *taints = wl_json_get(o, "spec", "taints", NULL);
    CHECK_INT(json_array_size(taints), 2);
    CHECK_STR(wl_json_str(json_array_get(taints, 0), "effect", NULL),
              "NoSchedule");
    CHECK_STR(wl_json_str(json_array_get(taints, 1), "effect", NULL),
              "NoExecute");
    CHECK_STR(wl_json_str(o, "status", "capacity", "cpu", NULL), "4");
    CHECK_STR(wl_json_str(o, "status", "capacity", "memory", NULL), "8388608Ki");
    CHECK_STR(wl_json_str(o, "status", "allocatable", "memory", NULL),
              "8286208Ki"); /* 8Gi - 100Mi */
    CHECK_STR(wl_json_str(o, "status", "capacity", "pods", NULL), "110");
    CHECK_STR(wl_json_str(o, "status", "nodeInfo", "kubeletVersion", NULL),
              "wasmlet/0.1.0");
    CHECK_STR(wl_json_str(o, "status", "nodeInfo", "containerRuntimeVersion",
                          NULL),
              "wasmtime://39.0.0");
    CHECK_INT(json_integer_value(wl_json_get(o, "status", "daemonEndpoints",
                                             "kubeletEndpoint", "Port", NULL)),
              10250);
    json_t *addr = wl_json_get(o, "status", "addresses", NULL);
    CHECK_STR(wl_json_str(json_array_get(addr, 0), "type", NULL), "InternalIP");
    CHECK_STR(wl_json_str(json_array_get(addr, 0), "address", NULL),
              "10.1.2.3");
    json_decref(o);
    wl_node_clear(&node);
}

static void test_conditions_move_transition_time_only_on_change(void)
{
    struct wl_node node;
    struct wl_sysinfo si = machine();
    wl_node_init(&node, &cfg, NULL);
    CHECK(wl_node_eval_conditions(&node, &si, 1000)); /* first report */
    CHECK(!wl_node_eval_conditions(&node, &si, 1010));
    CHECK_INT(node.cond[WL_COND_READY].transition, 1000);
    CHECK_STR(node.cond[WL_COND_READY].reason, "KubeletReady");

    si.memory_available = 50LL << 20; /* under 100Mi */
    CHECK(wl_node_eval_conditions(&node, &si, 1020));
    CHECK(node.cond[WL_COND_MEMORY].status);
    CHECK_STR(node.cond[WL_COND_MEMORY].reason, "KubeletHasInsufficientMemory");
    CHECK_INT(node.cond[WL_COND_MEMORY].transition, 1020);
    CHECK_INT(node.cond[WL_COND_READY].transition, 1000);

    wl_node_set_ready(&node, false, "wasmlet is shutting down");
    CHECK(wl_node_eval_conditions(&node, &si, 1030));
    CHECK(!node.cond[WL_COND_READY].status);
    CHECK_STR(node.cond[WL_COND_READY].reason, "KubeletNotReady");
    CHECK_STR(node.cond[WL_COND_READY].message, "wasmlet is shutting down");
    wl_node_clear(&node);
}

static void test_pressure_thresholds(void)
{
    struct wl_sysinfo si = machine();
    CHECK(!wl_sysinfo_disk_pressure(&si));
    si.disk_available = si.disk_total / 20; /* 5% free */
    CHECK(wl_sysinfo_disk_pressure(&si));
    CHECK(!wl_sysinfo_pid_pressure(&si));
    si.pids_used = si.pids_max - si.pids_max / 20;
    CHECK(wl_sysinfo_pid_pressure(&si));
}

static void test_config_check_rejects_bad_values(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_node_config c = cfg;
    CHECK_INT(wl_node_config_check(&c, &err), 0);
    c.name = "Upper";
    CHECK_INT(wl_node_config_check(&c, &err), -1);
    CHECK_CONTAINS(err.msg, "not a lower-case DNS subdomain");
    c.name = "ok";
    const char *const bad[] = {"novalue"};
    c.labels = bad;
    CHECK_INT(wl_node_config_check(&c, &err), -1);
    CHECK_STR(err.msg, "node label \"novalue\": expected key=value");
    wl_error_clear(&err);
}

static void test_time_formats(void)
{
    char buf[40];
    wl_time_format(0, buf, sizeof(buf));
    CHECK_STR(buf, "1970-01-01T00:00:00Z");
    struct timespec ts = {1795771925, 123456789};
    wl_microtime_format(&ts, buf, sizeof(buf));
    CHECK_STR(buf, "2026-11-27T09:32:05.123456Z");

    time_t t = 0;
    CHECK_INT(wl_time_parse("2026-11-27T09:32:05Z", &t), 0);
    CHECK_INT((long long)t, 1795771925LL);
    CHECK_INT(wl_time_parse("2026-11-27T09:32:05.5Z", &t), 0);
    CHECK_INT((long long)t, 1795771925LL);
    CHECK_INT(wl_time_parse("2026-11-27T10:32:05+01:00", &t), 0);
    CHECK_INT((long long)t, 1795771925LL);
    CHECK_INT(wl_time_parse("2026-11-27T09:32:05", &t), -1);
    CHECK_INT(wl_time_parse("2026-11-27T09:32:05Zjunk", &t), -1);
    CHECK_INT(wl_time_parse("2026-11-27T09:32:05.Z", &t), -1);
    CHECK_INT(wl_time_parse("yesterday", &t), -1);
    CHECK_INT(wl_time_parse(NULL, &t), -1);
}

static void test_json_depth_limit(void)
{
    struct wl_error err = WL_ERROR_INIT;
    json_t *v = NULL;
    char deep[200];
    for (int i = 0; i < 100; i++) {
        deep[i] = '[';
        deep[199 - i] = ']';
    }
    CHECK_INT(wl_json_parse(deep, sizeof(deep), 64, &v, &err), -1);
    CHECK_STR(err.msg, "JSON nested deeper than 64 levels");
    CHECK_INT(wl_json_parse(deep, sizeof(deep), 100, &v, &err), 0);
    json_decref(v);
    /* Brackets inside strings do not count. */
    const char s[] = "{\"a\":\"[[[[[[[[\\\"[[[[\"}";
    CHECK_INT(wl_json_parse(s, sizeof(s) - 1, 2, &v, &err), 0);
    json_decref(v);
    CHECK_INT(wl_json_parse("{\"a\":1,\"a\":2}", 13, 8, &v, &err), -1);
    CHECK_CONTAINS(err.msg, "invalid JSON at line 1");
    wl_error_clear(&err);
}

WL_TEST_MAIN(WL_T(test_node_object_has_wasm_labels_taints_and_capacity),
             WL_T(test_conditions_move_transition_time_only_on_change),
             WL_T(test_pressure_thresholds),
             WL_T(test_config_check_rejects_bad_values),
             WL_T(test_time_formats), WL_T(test_json_depth_limit))
