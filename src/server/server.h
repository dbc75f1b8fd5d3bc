/* The kubelet API: an HTTPS server on the node's kubelet port that the
 * API server (kubectl logs), metrics-server and Prometheus talk to.
 *
 * libmicrohttpd with GnuTLS, one thread per connection (a `logs -f`
 * stream blocks in its own thread, waiting on inotify). Every request is
 * authenticated (a client certificate signed by the client CA, or a
 * bearer token through TokenReview when enabled) and authorised (a
 * SubjectAccessReview) before anything else, as the kubelet does; no
 * anonymous access.
 *
 * The serving certificate is, in order: --tls-cert-file/--tls-private-key-
 * file; <data>/pki/kubelet-server.{crt,key} once the kubelet-serving CSR
 * is issued (picked up within WL_SERVER_CERT_RECHECK_S of being written,
 * without a restart); else a self-signed one kept in
 * <data>/pki/kubelet-selfsigned.{crt,key}, as the kubelet makes.
 *
 * Pods are read through wl_pod_manager_snapshot(): the server has no
 * state of its own besides its counters and the auth cache.
 */
#ifndef WL_SERVER_SERVER_H
#define WL_SERVER_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "kube/client.h"
#include "pod/manager.h"
#include "util/error.h"

#define WL_SERVER_CERT_RECHECK_S 10

struct wl_server_config {
    const char *address; /* bind address, NULL or "" for every address */
    int port;
    const char *node_name;
    const char *node_ip;   /* the self-signed certificate's IP SAN */
    const char *hostname;  /* and its DNS SAN */
    const char *data_dir;
    const char *tls_cert_file; /* NULL: pki/ as above */
    const char *tls_key_file;
    const char *client_ca_pem; /* PEM bundle client certificates chain to */
    struct wl_kube_creds *creds; /* for the reviews */
    const char *user_agent;
    int token_webhook;        /* accept bearer tokens */
    unsigned max_log_streams; /* concurrent `logs -f`; 0: a default */
    unsigned max_connections; /* 0: a default */
    unsigned timeout_s;       /* idle connection timeout; 0: a default */
    struct wl_pod_manager *manager;
};

struct wl_server;

int wl_server_start(const struct wl_server_config *cfg, struct wl_server **ret,
                    struct wl_error *err);

/* Stops accepting, ends open streams (within about a second), frees.
 * Accepts NULL. */
void wl_server_stop(struct wl_server *s);

#endif
