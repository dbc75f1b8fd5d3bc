/* The pod manager: runs the pods bound to this node.
 *
 * Threads (DESIGN.md, "Concurrency model"):
 * - the owner thread holds every pod's state and is the only one to read
 *   or write it; it writes pod status and Events;
 * - a watch thread lists+watches pods with spec.nodeName=<node> and sends
 *   each change to the owner's queue;
 * - one runner thread per running container pulls its image, resolves its
 *   environment, runs the module and sends the outcome (with its
 *   termination message) to the queue.
 * Messages are owned by the receiver; a runner reads only its own job (a
 * copy of what it needs) and its cancel flag.
 */
#ifndef WL_POD_MANAGER_H
#define WL_POD_MANAGER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kube/client.h"
#include "oci/puller.h"
#include "runtime/crilog.h"
#include "runtime/engine.h"
#include "runtime/module_cache.h"
#include "util/error.h"

struct wl_pod_manager_config {
    /* each thread makes its clients from these; they change when the
     * client certificate is rotated */
    struct wl_kube_creds *creds;
    const char *node_name;
    const char *node_ip;
    const char *data_dir; /* pods/<uid>/ holds logs and volumes */
    long max_pods;
    struct wl_puller *puller;  /* shared, thread-safe */
    struct wl_engine *engine;  /* shared, thread-safe */
    struct wl_module_cache *modules; /* shared, thread-safe; made for engine */
    struct wl_cri_log_opts log_opts; /* rotation of container logs */
    /* wasmlet run POD.yaml only (pod/standalone.h), never serve: */
    bool local_images; /* an absolute path as image is the .wasm file (a
                          pod from the API server must not read the
                          node's files) */
    bool echo_logs;    /* container output to our stdout/stderr too */
    bool echo_prefix;  /* ... each line after "[pod/container] " */
};

struct wl_pod_manager;

/* Starts the owner and watch threads. cfg's pointers must outlive the
 * manager. */
int wl_pod_manager_start(const struct wl_pod_manager_config *cfg,
                         struct wl_pod_manager **ret, struct wl_error *err);

/* What the kubelet API (src/server) sees of the pods: a copy made by the
 * owner thread on request, so the server never touches the owner's state.
 * Run n of a container logs to <data_dir>/pods/<uid>/<name>/n.log. */
struct wl_pod_view_ctr {
    char *name;
    bool is_init;
    unsigned restarts;  /* the current (or last) run's number */
    bool ran;           /* a run started at least once */
    bool running;
    const char *waiting;   /* the waiting reason (static), or NULL */
    uint64_t cpu_ns;       /* the current or last run's CPU time */
    uint64_t memory_bytes; /* linear memory now; 0 when not running */
    int64_t started_ns;    /* realtime unix ns; 0: never ran */
};

struct wl_pod_view {
    char *namespace_, *name, *uid;
    char *phase;
    int64_t start_ns; /* when wasmlet took the pod on */
    json_t *obj;      /* with its current status; only when asked */
    struct wl_pod_view_ctr *ctrs; /* init containers first */
    size_t nctrs;
};

struct wl_pod_snapshot {
    struct wl_pod_view *pods;
    size_t npods;
};

/* Asks the owner thread for a snapshot of every pod it runs (with each
 * pod's object and status when with_objects), waiting at most timeout_ms.
 * Any thread. */
int wl_pod_manager_snapshot(struct wl_pod_manager *m, bool with_objects,
                            long timeout_ms, struct wl_pod_snapshot **ret,
                            struct wl_error *err);

/* Finds a pod of a snapshot by namespace and name; NULL if absent. */
const struct wl_pod_view *wl_pod_snapshot_find(const struct wl_pod_snapshot *s,
                                               const char *namespace_,
                                               const char *name);

void wl_pod_snapshot_free(struct wl_pod_snapshot *s);

/* Seconds the owner thread has been on one turn beyond its 0.5 s wait
 * (0 while it turns as it should): /healthz fails when it is stuck. Any
 * thread. */
double wl_pod_manager_stalled_s(struct wl_pod_manager *m);

/* Stops everything: running modules are cancelled (their pods' status
 * says so), threads joined, memory freed. Accepts NULL. */
void wl_pod_manager_stop(struct wl_pod_manager *m);

#endif
