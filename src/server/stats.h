/* The kubelet's resource statistics, rendered from a snapshot the server
 * builds: /stats/summary (the Summary API, k8s.io/kubelet/pkg/apis/stats/
 * v1alpha1) and /metrics/resource (what metrics-server >= 0.6 scrapes for
 * `kubectl top`).
 *
 * The renderers are pure functions of the snapshot; only
 * wl_stats_node_read() does I/O. All strings in the snapshot are borrowed
 * for the duration of the call.
 */
#ifndef WL_SERVER_STATS_H
#define WL_SERVER_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct wl_stats_container {
    const char *name;
    int64_t start_ns;      /* unix ns */
    uint64_t cpu_ns;       /* cumulative CPU time */
    uint64_t memory_bytes; /* working set: linear memory + store */
    uint64_t logs_bytes;   /* the container's log files */
};

struct wl_stats_volume {
    const char *name;    /* the pod's volume name */
    uint64_t used_bytes; /* emptyDir usage */
};

struct wl_stats_pod {
    const char *namespace_, *name, *uid;
    int64_t start_ns; /* unix ns */
    const struct wl_stats_container *ctrs;
    size_t nctrs;
    const struct wl_stats_volume *vols; /* may be NULL when nvols is 0 */
    size_t nvols;
    uint64_t volume_bytes; /* emptyDir usage, all volumes */
};

struct wl_stats_node {
    const char *node_name;       /* borrowed */
    int64_t start_ns;            /* boot time, unix ns */
    uint64_t cpu_ns;             /* node total busy CPU time, from /proc/stat */
    uint64_t memory_working_set; /* usage less inactive file pages */
    uint64_t memory_available;   /* MemTotal less the working set */
    uint64_t memory_usage;       /* MemTotal less MemFree */
    uint64_t memory_rss;         /* anonymous pages */
    uint64_t fs_capacity, fs_available, fs_used; /* statvfs of the data dir */
    uint64_t fs_inodes, fs_inodes_free;
};

/* Fills *out from /proc/stat, /proc/meminfo and statvfs(data_dir), the way
 * the kubelet computes its root-cgroup figures (working set = usage minus
 * inactive file pages; available = capacity minus working set). node_name
 * is stored, not copied. Fails, leaving *out untouched, when a file cannot
 * be read or parsed. */
int wl_stats_node_read(const char *data_dir, const char *node_name,
                       struct wl_stats_node *out, struct wl_error *err);

/* The /stats/summary body: {"node":{...},"pods":[...]} with every sample
 * stamped now_ns. usageNanoCores is left out (metrics-server computes rates
 * from usageCoreNanoSeconds of two scrapes). Malloc'd, caller frees; NULL
 * when out of memory. */
char *wl_stats_summary_json(const struct wl_stats_node *node,
                            const struct wl_stats_pod *pods, size_t npods,
                            int64_t now_ns);

/* The /metrics/resource body in the Prometheus text format: node, pod and
 * container CPU and working set, container start times and scrape_error,
 * each sample with a millisecond timestamp as the kubelet writes them
 * (now_ns, or the start time for container_start_time_seconds). Malloc'd,
 * caller frees; NULL when out of memory. */
char *wl_stats_resource_metrics(const struct wl_stats_node *node,
                                const struct wl_stats_pod *pods, size_t npods,
                                int64_t now_ns);

#endif
