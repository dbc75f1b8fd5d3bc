/* The node's certificates while it runs: the kubelet's certificate manager.
 *
 * Two slots, each driven by wl_certs_tick() from the node loop:
 *
 * - serving: <data-dir>/pki/kubelet-server.{crt,key}, the kubelet API's TLS
 *   certificate, signer kubernetes.io/kubelet-serving, CN=system:node:<name>,
 *   O=system:nodes, SANs IP <node-ip> and DNS <hostname>. Such a CSR is
 *   approved by a human or a controller (`kubectl certificate approve`), so
 *   the loop never waits for it: the pending CSR's name and key are kept and
 *   the CSR is read once per tick.
 * - client: the client certificate in --kubeconfig, only when wasmlet wrote
 *   it (TLS bootstrapping). Renewed with signer
 *   kubernetes.io/kube-apiserver-client-kubelet but authenticated as the
 *   node itself, which the `selfnodeclient` ClusterRole lets the
 *   controller-manager approve on its own. When issued, the kubeconfig is
 *   rewritten atomically and a new API client is handed to the loop.
 *
 * A certificate is replaced once it is missing, does not match its key, is
 * not valid now, (serving) does not name the node IP, or has passed 80% of
 * its lifetime: client-go's certificate manager picks a jittered point in
 * 70-90%; one fixed point in the middle keeps behaviour testable, and with
 * a single wasmlet per node there is no herd to spread out. The old
 * certificate stays in use until the new one is written.
 *
 * A Denied or Failed CSR is logged as an error with its message and no new
 * one is made for WL_CERTS_DENIED_BACKOFF_S.
 *
 * Not thread-safe: owned by the node loop's thread like struct wl_node.
 */
#ifndef WL_NODE_CERTS_H
#define WL_NODE_CERTS_H

#include <stdbool.h>
#include <time.h>

#include "kube/client.h"
#include "node/bootstrap.h"
#include "util/error.h"

/* Percent of a certificate's lifetime after which it is renewed. */
#define WL_CERTS_ROTATE_PERCENT 80

/* Wait after a Denied/Failed CSR before asking again. */
#define WL_CERTS_DENIED_BACKOFF_S 300

struct wl_certs_config {
    const char *node_name;
    const char *node_ip;    /* the serving certificate's IP SAN */
    const char *hostname;   /* its DNS SAN; NULL or "" for none */
    const char *data_dir;   /* pki/ lives here */
    const char *kubeconfig; /* rotate its client certificate; NULL: it is
                               not ours (an admin's), leave it alone */
    const char *user_agent; /* for the API client made after rotation */
};

/* One certificate being watched and, when needed, requested. */
struct wl_cert_slot {
    const char *kind;   /* "serving" or "client" */
    char *csr_name;     /* the pending CSR, or NULL */
    char *key_pem;      /* the key the pending CSR is for (wiped on free) */
    time_t retry_after; /* no new CSR before this (after a denial) */
    time_t rotate_at;   /* the current certificate's deadline; 0: check */
};

struct wl_certs {
    const struct wl_certs_config *cfg; /* borrowed */
    struct wl_cert_slot serving;
    struct wl_cert_slot client;
};

/* Rotation deadline of a certificate valid from not_before to not_after:
 * WL_CERTS_ROTATE_PERCENT of the lifetime after not_before (not_before
 * itself for an empty or inverted lifetime). Overflow-safe. */
time_t wl_certs_rotation_deadline(time_t not_before, time_t not_after);

/* Prepares certs; nothing is read or sent yet. */
void wl_certs_init(struct wl_certs *certs, const struct wl_certs_config *cfg);

/* Frees what certs holds, wiping pending keys. Accepts a zeroed struct. */
void wl_certs_clear(struct wl_certs *certs);

/* One step of each slot at time now, through client (the node loop's): a
 * certificate that needs replacing gets a CSR (unless one is pending or a
 * denial's backoff runs), a pending CSR is read, and an issued certificate
 * is written. Never waits for approval. Logs what happens (csr created,
 * "serving certificate written path=...", denials as errors). Returns 0, or
 * -1 when a step failed (err: the first failure; the step is retried on the
 * next tick). When the client certificate was replaced, *ret_client is a new
 * API client for the rewritten kubeconfig which the caller takes (the old
 * one still works until its certificate expires); otherwise it is left
 * NULL. */
int wl_certs_tick(struct wl_certs *certs, struct wl_kube_client *client,
                  time_t now, struct wl_kube_client **ret_client,
                  struct wl_error *err);

#endif
