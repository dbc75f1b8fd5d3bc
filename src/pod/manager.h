/* The pod manager: runs the pods bound to this node.
 *
 * Threads (DESIGN.md, "Concurrency model"):
 * - the owner thread holds every pod's state and is the only one to read
 *   or write it; it writes pod status and Events;
 * - a watch thread lists+watches pods with spec.nodeName=<node> and sends
 *   each change to the owner's queue;
 * - one runner thread per running container pulls its image, resolves its
 *   environment, runs the module and sends the outcome to the queue.
 * Messages are owned by the receiver; a runner reads only its own job (a
 * copy of what it needs) and its cancel flag.
 */
#ifndef WL_POD_MANAGER_H
#define WL_POD_MANAGER_H

#include <stddef.h>

#include "kube/client.h"
#include "oci/puller.h"
#include "runtime/engine.h"
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
};

struct wl_pod_manager;

/* Starts the owner and watch threads. cfg's pointers must outlive the
 * manager. */
int wl_pod_manager_start(const struct wl_pod_manager_config *cfg,
                         struct wl_pod_manager **ret, struct wl_error *err);

/* Stops everything: running modules are cancelled (their pods' status
 * says so), threads joined, memory freed. Accepts NULL. */
void wl_pod_manager_stop(struct wl_pod_manager *m);

#endif
