/* The daemon's configuration: flags, then WASMLET_* environment variables,
 * then the config file (--config, WASMLET_CONFIG; src/config_file.h), then
 * defaults, in that order of precedence, gathered in one struct.
 * docs/configuration.md is the reference. */
#ifndef WL_CONFIG_H
#define WL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/log.h"

struct wl_config {
    char *node_name;  /* --node-name, WASMLET_NODE_NAME; default: hostname */
    char *hostname;   /* --hostname-override, WASMLET_HOSTNAME_OVERRIDE,
                       * lower-cased; default: --node-name, else the
                       * host's name (kubernetes.io/hostname) */
    char *node_ip;    /* --node-ip, WASMLET_NODE_IP; default: detected */
    int port;         /* --port, WASMLET_PORT; 10250 */
    char *data_dir;   /* --data-dir, WASMLET_DATA_DIR; /var/lib/wasmlet */
    char *kubeconfig; /* --kubeconfig, WASMLET_KUBECONFIG; NULL: $KUBECONFIG
                         or ~/.kube/config */
    char *bootstrap_kubeconfig; /* --bootstrap-kubeconfig,
                                   WASMLET_BOOTSTRAP_KUBECONFIG: credentials
                                   for TLS bootstrapping, or NULL */
    long max_pods;    /* --max-pods, WASMLET_MAX_PODS; 110 */
    char **labels;    /* --node-labels k=v,..., WASMLET_NODE_LABELS */
    size_t nlabels;
    char *config_file; /* --config, WASMLET_CONFIG: where the file settings
                          came from, or NULL */
    enum wl_log_level log_level; /* --log-level, WASMLET_LOG_LEVEL */
    enum wl_log_format log_format; /* --log-format, WASMLET_LOG_FORMAT */
    bool drain_on_exit;          /* --drain-on-exit, WASMLET_DRAIN_ON_EXIT */
    char **insecure_registries;  /* --insecure-registries h1,h2 */
    size_t ninsecure;
    char *registry_config;    /* --registry-config: Docker config.json */
    char *registry_certs_dir; /* --registry-certs-dir: <dir>/<host>/ca.crt */
    char *pod_manifest_path;  /* --pod-manifest-path: static pods' manifests */
    /* the kubelet API (src/server) */
    char *address;        /* --address: bind address; NULL: every one */
    char *tls_cert_file;  /* --tls-cert-file */
    char *tls_key_file;   /* --tls-private-key-file */
    char *client_ca_file; /* --client-ca-file; NULL: the kubeconfig's CA */
    bool token_webhook;   /* --authentication-token-webhook */
    int64_t log_max_size; /* --container-log-max-size; 10Mi */
    long log_max_files;   /* --container-log-max-files; 5 */
    long max_log_streams; /* --max-log-streams; 64 */
    /* the plain-HTTP health endpoint (src/server/healthz.c) */
    int healthz_port;      /* --healthz-port; 10248, 0: none */
    char *healthz_address; /* --healthz-bind-address; 127.0.0.1 */
};

/* Parses the arguments of `wasmlet serve` (argv[0] is "serve"). Returns 0,
 * 1 when --help was printed (the caller exits 0), or -1 with err naming the
 * flag or variable at fault. */
int wl_config_parse(int argc, char **argv, struct wl_config *cfg,
                    struct wl_error *err);

/* Applies a config file's settings (len bytes of YAML; source names it in
 * messages) to cfg, over what cfg holds. For wl_config_parse() and tests. */
int wl_config_apply_file(struct wl_config *cfg, const char *yaml, size_t len,
                         const char *source, struct wl_error *err);

/* Frees everything cfg holds. */
void wl_config_clear(struct wl_config *cfg);

#endif
