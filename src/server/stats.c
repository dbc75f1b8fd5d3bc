#include "server/stats.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/json.h"
#include "util/metrics.h"
#include "util/time.h"

/* ---- Node figures ---- */

/* Busy CPU time of the whole node from the "cpu" line of /proc/stat, as the
 * root cgroup's cpuacct.usage counts it: everything but idle and iowait
 * (guest time is already inside user). Also the btime line. */
static int read_proc_stat(uint64_t *cpu_ns, int64_t *boot_ns,
                          struct wl_error *err)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/stat", "re");
    char line[512];
    unsigned long long t[8], btime = 0;
    bool have_cpu = false, have_btime = false;
    long hz = sysconf(_SC_CLK_TCK);

    if (!f)
        return wl_error_set(err, errno, "open /proc/stat");
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &t[0],
                   &t[1], &t[2], &t[3], &t[4], &t[5], &t[6], &t[7]) == 8)
            have_cpu = true;
        else if (sscanf(line, "btime %llu", &btime) == 1)
            have_btime = true;
    }
    if (!have_cpu || !have_btime || hz <= 0)
        return wl_error_set(err, 0, "/proc/stat: no cpu or btime line");
    /* user nice system idle iowait irq softirq steal */
    uint64_t busy = t[0] + t[1] + t[2] + t[5] + t[6] + t[7];
    *cpu_ns = busy * (1000000000ULL / (uint64_t)hz);
    *boot_ns = (int64_t)btime * 1000000000LL;
    return 0;
}

struct meminfo {
    uint64_t total, free, inactive_file, anon;
};

static int read_meminfo(struct meminfo *mi, struct wl_error *err)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/meminfo", "re");
    const struct {
        const char *key;
        uint64_t *dst;
    } fields[] = {
        {"MemTotal", &mi->total},
        {"MemFree", &mi->free},
        {"Inactive(file)", &mi->inactive_file},
        {"AnonPages", &mi->anon},
    };
    char line[256], key[64];
    unsigned long long kb;
    size_t found = 0;

    if (!f)
        return wl_error_set(err, errno, "open /proc/meminfo");
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%63[^:]: %llu", key, &kb) != 2)
            continue;
        for (size_t i = 0; i < WL_ARRAY_SIZE(fields); i++) {
            if (strcmp(key, fields[i].key) == 0) {
                *fields[i].dst = (uint64_t)kb * 1024;
                found++;
            }
        }
    }
    if (found != WL_ARRAY_SIZE(fields))
        return wl_error_set(err, 0, "/proc/meminfo: missing fields");
    return 0;
}

int wl_stats_node_read(const char *data_dir, const char *node_name,
                       struct wl_stats_node *out, struct wl_error *err)
{
    struct wl_stats_node n = {.node_name = node_name};
    struct meminfo mi = {0};
    struct statvfs sv;

    if (read_proc_stat(&n.cpu_ns, &n.start_ns, err) < 0 ||
        read_meminfo(&mi, err) < 0)
        return -1;
    if (statvfs(data_dir, &sv) < 0)
        return wl_error_set(err, errno, "statvfs %s", data_dir);

    /* The kubelet's working set: usage less inactive file pages, which the
     * kernel can drop at will; its availableBytes is capacity less that. */
    n.memory_usage = mi.total - mi.free;
    n.memory_working_set = n.memory_usage > mi.inactive_file
                               ? n.memory_usage - mi.inactive_file
                               : 0;
    n.memory_available = mi.total - n.memory_working_set;
    n.memory_rss = mi.anon;

    n.fs_capacity = (uint64_t)sv.f_blocks * sv.f_frsize;
    n.fs_available = (uint64_t)sv.f_bavail * sv.f_frsize;
    n.fs_used = (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize;
    n.fs_inodes = sv.f_files;
    n.fs_inodes_free = sv.f_ffree;
    *out = n;
    return 0;
}

/* ---- /stats/summary ---- */

/* Builds objects without checking each allocation: the first failure is
 * remembered and the whole document dropped at the end. */
struct builder {
    bool failed;
    char now[32];
};

static json_t *obj(struct builder *b)
{
    json_t *o = json_object();
    if (!o)
        b->failed = true;
    return o;
}

static void set(struct builder *b, json_t *o, const char *key, json_t *v)
{
    if (!o || json_object_set_new(o, key, v) < 0)
        b->failed = true;
    if (!o)
        json_decref(v);
}

static void set_u64(struct builder *b, json_t *o, const char *key, uint64_t v)
{
    set(b, o, key, json_integer((json_int_t)v));
}

static void set_str(struct builder *b, json_t *o, const char *key,
                    const char *s)
{
    set(b, o, key, json_string(s ? s : ""));
}

static void set_time(struct builder *b, json_t *o, const char *key, int64_t ns)
{
    char t[32];
    wl_time_format((time_t)(ns / 1000000000LL), t, sizeof(t));
    set_str(b, o, key, t);
}

static json_t *cpu_stats(struct builder *b, uint64_t cpu_ns)
{
    json_t *o = obj(b);
    set_str(b, o, "time", b->now);
    set_u64(b, o, "usageCoreNanoSeconds", cpu_ns);
    return o;
}

static json_t *memory_stats(struct builder *b, uint64_t usage,
                            uint64_t working_set, uint64_t rss)
{
    json_t *o = obj(b);
    set_str(b, o, "time", b->now);
    set_u64(b, o, "usageBytes", usage);
    set_u64(b, o, "workingSetBytes", working_set);
    set_u64(b, o, "rssBytes", rss);
    return o;
}

/* An FsStats for space on the node's filesystem (logs, volumes and
 * ephemeral storage all live in the data dir). */
static json_t *fs_stats(struct builder *b, const struct wl_stats_node *node,
                        uint64_t used)
{
    json_t *o = obj(b);
    set_str(b, o, "time", b->now);
    set_u64(b, o, "availableBytes", node->fs_available);
    set_u64(b, o, "capacityBytes", node->fs_capacity);
    set_u64(b, o, "usedBytes", used);
    return o;
}

static json_t *node_json(struct builder *b, const struct wl_stats_node *node)
{
    json_t *o = obj(b);
    set_str(b, o, "nodeName", node->node_name);
    set(b, o, "systemContainers", json_array());
    set_time(b, o, "startTime", node->start_ns);
    set(b, o, "cpu", cpu_stats(b, node->cpu_ns));

    json_t *mem = memory_stats(b, node->memory_usage, node->memory_working_set,
                               node->memory_rss);
    set_u64(b, mem, "availableBytes", node->memory_available);
    set(b, o, "memory", mem);

    json_t *fs = fs_stats(b, node, node->fs_used);
    set_u64(b, fs, "inodes", node->fs_inodes);
    set_u64(b, fs, "inodesFree", node->fs_inodes_free);
    set_u64(b, fs, "inodesUsed",
            node->fs_inodes > node->fs_inodes_free
                ? node->fs_inodes - node->fs_inodes_free
                : 0);
    set(b, o, "fs", fs);
    return o;
}

static json_t *container_json(struct builder *b,
                              const struct wl_stats_node *node,
                              const struct wl_stats_container *c)
{
    json_t *o = obj(b);
    set_str(b, o, "name", c->name);
    set_time(b, o, "startTime", c->start_ns);
    set(b, o, "cpu", cpu_stats(b, c->cpu_ns));
    /* A wasm instance's memory is all anonymous: usage, working set and
     * RSS are the same figure. */
    set(b, o, "memory",
        memory_stats(b, c->memory_bytes, c->memory_bytes, c->memory_bytes));
    set(b, o, "logs", fs_stats(b, node, c->logs_bytes));
    return o;
}

static json_t *pod_json(struct builder *b, const struct wl_stats_node *node,
                        const struct wl_stats_pod *p)
{
    json_t *o = obj(b), *ref = obj(b), *ctrs = json_array();
    uint64_t cpu = 0, mem = 0, logs = 0;

    set_str(b, ref, "name", p->name);
    set_str(b, ref, "namespace", p->namespace_);
    set_str(b, ref, "uid", p->uid);
    set(b, o, "podRef", ref);
    set_time(b, o, "startTime", p->start_ns);
    for (size_t i = 0; i < p->nctrs; i++) {
        const struct wl_stats_container *c = &p->ctrs[i];
        cpu += c->cpu_ns;
        mem += c->memory_bytes;
        logs += c->logs_bytes;
        if (!ctrs || json_array_append_new(ctrs, container_json(b, node, c)))
            b->failed = true;
    }
    set(b, o, "containers", ctrs);
    set(b, o, "cpu", cpu_stats(b, cpu));
    set(b, o, "memory", memory_stats(b, mem, mem, mem));
    if (p->nvols > 0) {
        json_t *vols = json_array();
        for (size_t i = 0; i < p->nvols; i++) {
            json_t *v = fs_stats(b, node, p->vols[i].used_bytes);
            set_str(b, v, "name", p->vols[i].name);
            if (!vols || json_array_append_new(vols, v) < 0) {
                b->failed = true;
                if (!vols)
                    json_decref(v);
            }
        }
        set(b, o, "volume", vols);
    }
    /* The kubelet's pod ephemeral storage: emptyDir volumes plus logs (a
     * wasm container has no writable root filesystem). */
    set(b, o, "ephemeral-storage", fs_stats(b, node, p->volume_bytes + logs));
    return o;
}

char *wl_stats_summary_json(const struct wl_stats_node *node,
                            const struct wl_stats_pod *pods, size_t npods,
                            int64_t now_ns)
{
    struct builder b = {0};
    wl_time_format((time_t)(now_ns / 1000000000LL), b.now, sizeof(b.now));

    json_t *root = obj(&b), *arr = json_array();
    set(&b, root, "node", node_json(&b, node));
    for (size_t i = 0; i < npods; i++)
        if (!arr || json_array_append_new(arr, pod_json(&b, node, &pods[i])))
            b.failed = true;
    set(&b, root, "pods", arr);

    char *s = b.failed ? NULL : wl_json_dump(root);
    json_decref(root);
    return s;
}

/* ---- /metrics/resource ---- */

/* Seconds from nanoseconds without going through a double of the whole
 * count, which cannot hold a unix time in ns exactly. */
static double ns_to_s(int64_t ns)
{
    return (double)(ns / 1000000000LL) + (double)(ns % 1000000000LL) / 1e9;
}

enum ctr_figure { CTR_CPU, CTR_MEMORY, CTR_START };

static void container_samples(struct wl_metrics_out *out, const char *name,
                              const struct wl_stats_pod *pods, size_t npods,
                              enum ctr_figure which, int64_t ts_ms)
{
    for (size_t i = 0; i < npods; i++) {
        const struct wl_stats_pod *p = &pods[i];
        for (size_t j = 0; j < p->nctrs; j++) {
            const struct wl_stats_container *c = &p->ctrs[j];
            const char *const *l = WL_LABELS("container", c->name, "namespace",
                                             p->namespace_, "pod", p->name);
            if (which == CTR_CPU)
                wl_metrics_out_sample(out, name, l, ns_to_s((int64_t)c->cpu_ns),
                                      ts_ms);
            else if (which == CTR_MEMORY)
                wl_metrics_out_sample(out, name, l, (double)c->memory_bytes,
                                      ts_ms);
            else
                wl_metrics_out_sample(out, name, l, ns_to_s(c->start_ns),
                                      c->start_ns / 1000000);
        }
    }
}

static void pod_samples(struct wl_metrics_out *out, const char *name,
                        const struct wl_stats_pod *pods, size_t npods, bool cpu,
                        int64_t ts_ms)
{
    for (size_t i = 0; i < npods; i++) {
        const struct wl_stats_pod *p = &pods[i];
        uint64_t sum = 0;
        for (size_t j = 0; j < p->nctrs; j++)
            sum += cpu ? p->ctrs[j].cpu_ns : p->ctrs[j].memory_bytes;
        wl_metrics_out_sample(
            out, name, WL_LABELS("namespace", p->namespace_, "pod", p->name),
            cpu ? ns_to_s((int64_t)sum) : (double)sum, ts_ms);
    }
}

/* The families and help texts of the kubelet's resource metrics collector
 * (pkg/kubelet/metrics/collectors/resource_metrics.go), in its name order. */
char *wl_stats_resource_metrics(const struct wl_stats_node *node,
                                const struct wl_stats_pod *pods, size_t npods,
                                int64_t now_ns)
{
    struct wl_metrics_out out = WL_METRICS_OUT_INIT;
    int64_t ts = now_ns / 1000000;

    wl_metrics_out_family(
        &out, "container_cpu_usage_seconds_total", "counter",
        "Cumulative cpu time consumed by the container in core-seconds");
    container_samples(&out, "container_cpu_usage_seconds_total", pods, npods,
                      CTR_CPU, ts);
    wl_metrics_out_family(&out, "container_memory_working_set_bytes", "gauge",
                          "Current working set of the container in bytes");
    container_samples(&out, "container_memory_working_set_bytes", pods, npods,
                      CTR_MEMORY, ts);
    wl_metrics_out_family(
        &out, "container_start_time_seconds", "gauge",
        "Start time of the container since unix epoch in seconds");
    container_samples(&out, "container_start_time_seconds", pods, npods,
                      CTR_START, ts);

    wl_metrics_out_family(
        &out, "node_cpu_usage_seconds_total", "counter",
        "Cumulative cpu time consumed by the node in core-seconds");
    wl_metrics_out_sample(&out, "node_cpu_usage_seconds_total", NULL,
                          ns_to_s((int64_t)node->cpu_ns), ts);
    wl_metrics_out_family(&out, "node_memory_working_set_bytes", "gauge",
                          "Current working set of the node in bytes");
    wl_metrics_out_sample(&out, "node_memory_working_set_bytes", NULL,
                          (double)node->memory_working_set, ts);

    wl_metrics_out_family(
        &out, "pod_cpu_usage_seconds_total", "counter",
        "Cumulative cpu time consumed by the pod in core-seconds");
    pod_samples(&out, "pod_cpu_usage_seconds_total", pods, npods, true, ts);
    wl_metrics_out_family(&out, "pod_memory_working_set_bytes", "gauge",
                          "Current working set of the pod in bytes");
    pod_samples(&out, "pod_memory_working_set_bytes", pods, npods, false, ts);

    wl_metrics_out_family(
        &out, "scrape_error", "gauge",
        "1 if there was an error while getting container metrics, 0 otherwise");
    wl_metrics_out_sample(&out, "scrape_error", NULL, 0, 0);
    return wl_metrics_out_steal(&out, NULL);
}
