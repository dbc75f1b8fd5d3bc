/* This machine as a Kubernetes Node: registration, status, and the Lease
 * heartbeat in kube-node-lease.
 *
 * A wl_node is owned by one thread (the daemon's node loop), which also
 * owns the API client it is given. Nothing here is shared.
 */
#ifndef WL_NODE_NODE_H
#define WL_NODE_NODE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "kube/client.h"
#include "node/sysinfo.h"
#include "util/error.h"

/* Matching Krustlet: wasm pods select this label and tolerate the taints
 * of the same key, so ordinary Linux pods never land here. */
#define WL_NODE_ARCH_KEY "kubernetes.io/arch"
#define WL_NODE_ARCH_VALUE "wasm32-wasi"

#define WL_LEASE_DURATION_S 40
#define WL_LEASE_RENEW_S 10
#define WL_STATUS_REPORT_S 60

struct wl_node_config {
    const char *name;     /* node name (lower-case DNS subdomain) */
    const char *hostname; /* kubernetes.io/hostname and Hostname address */
    const char *node_ip;  /* InternalIP */
    int port;             /* kubelet endpoint */
    long max_pods;
    const char *const *labels; /* extra "key=value" labels */
    size_t nlabels;
    const char *data_dir;  /* its filesystem is the node's disk */
    const char *version;   /* wasmlet version */
    const char *wasmtime_version;
};

/* One node condition as we last reported it. */
struct wl_node_condition {
    const char *type;
    bool status; /* True/False as Kubernetes reports it */
    const char *reason;
    char message[160];
    time_t transition; /* lastTransitionTime */
};

enum { WL_COND_READY, WL_COND_MEMORY, WL_COND_DISK, WL_COND_PID, WL_COND_N };

struct wl_node {
    const struct wl_node_config *cfg; /* borrowed: outlives the node */
    struct wl_kube_client *client;    /* borrowed */
    char *uid;                        /* the Node's metadata.uid */
    struct wl_node_condition cond[WL_COND_N];
    bool ready;           /* what Ready should say */
    const char *not_ready_reason;
    time_t last_status;   /* when status was last written */
    json_t *lease;        /* the Lease as last read or written */
};

/* Validates cfg ("name" a DNS subdomain, labels key=value, port and
 * max_pods in range) so bad flags fail before anything is sent. */
int wl_node_config_check(const struct wl_node_config *cfg,
                         struct wl_error *err);

/* Prepares node; nothing is sent yet. */
void wl_node_init(struct wl_node *node, const struct wl_node_config *cfg,
                  struct wl_kube_client *client);

/* Frees what node holds (not cfg or client). */
void wl_node_clear(struct wl_node *node);

/* Creates the Node, or, when it exists (a restart), makes sure it carries
 * our labels and taints and takes it over; then writes its status. */
int wl_node_register(struct wl_node *node, struct wl_error *err);

/* Sets what the Ready condition says from now on (reason/message as the
 * kubelet's KubeletReady / KubeletNotReady). */
void wl_node_set_ready(struct wl_node *node, bool ready, const char *message);

/* Re-reads the machine and writes node status when a condition changed or
 * WL_STATUS_REPORT_S passed since the last write (force: always). */
int wl_node_update_status(struct wl_node *node, bool force,
                          struct wl_error *err);

/* Creates or renews the Lease kube-node-lease/<name>. */
int wl_node_renew_lease(struct wl_node *node, struct wl_error *err);

/* Marks the node unschedulable and evicts every pod bound to it (the
 * --drain-on-exit path). Pods that cannot be evicted now (a
 * PodDisruptionBudget) are reported in err after the others are done. */
int wl_node_drain(struct wl_node *node, struct wl_error *err);

/* Builders, exposed for the unit tests: the Node object we create and the
 * status we write. Both return new references. */
json_t *wl_node_build(const struct wl_node *node, const struct wl_sysinfo *si,
                      time_t now);
json_t *wl_node_build_status(const struct wl_node *node,
                             const struct wl_sysinfo *si, time_t now);

/* Updates node->cond from si and node->ready; true when any condition's
 * status changed (which is when Kubernetes moves lastTransitionTime). */
bool wl_node_eval_conditions(struct wl_node *node, const struct wl_sysinfo *si,
                             time_t now);


#endif
