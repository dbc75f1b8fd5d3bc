#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_file.h"
#include "kube/quantity.h"
#include "node/sysinfo.h"
#include "server/listen.h"
#include "util/cleanup.h"
#include "util/fileio.h"

enum {
    OPT_NODE_NAME = 256,
    OPT_HOSTNAME,
    OPT_NODE_IP,
    OPT_PORT,
    OPT_DATA_DIR,
    OPT_KUBECONFIG,
    OPT_BOOTSTRAP_KUBECONFIG,
    OPT_MAX_PODS,
    OPT_NODE_LABELS,
    OPT_LOG_LEVEL,
    OPT_DRAIN,
    OPT_INSECURE,
    OPT_REGISTRY_CONFIG,
    OPT_CERTS_DIR,
    OPT_ADDRESS,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_CLIENT_CA,
    OPT_TOKEN_WEBHOOK,
    OPT_LOG_MAX_SIZE,
    OPT_LOG_MAX_FILES,
    OPT_MAX_LOG_STREAMS,
    OPT_LOG_FORMAT,
    OPT_CONFIG,
    OPT_POD_MANIFEST_PATH,
    OPT_HEALTHZ_PORT,
    OPT_HEALTHZ_ADDRESS,
    OPT_HELP,
};

/* Each option with the environment variable that can also set it. */
static const struct {
    struct option opt;
    const char *env;
} options[] = {
    {{"node-name", required_argument, NULL, OPT_NODE_NAME},
     "WASMLET_NODE_NAME"},
    {{"hostname-override", required_argument, NULL, OPT_HOSTNAME},
     "WASMLET_HOSTNAME_OVERRIDE"},
    {{"node-ip", required_argument, NULL, OPT_NODE_IP}, "WASMLET_NODE_IP"},
    {{"port", required_argument, NULL, OPT_PORT}, "WASMLET_PORT"},
    {{"data-dir", required_argument, NULL, OPT_DATA_DIR}, "WASMLET_DATA_DIR"},
    {{"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
     "WASMLET_KUBECONFIG"},
    {{"bootstrap-kubeconfig", required_argument, NULL,
      OPT_BOOTSTRAP_KUBECONFIG},
     "WASMLET_BOOTSTRAP_KUBECONFIG"},
    {{"max-pods", required_argument, NULL, OPT_MAX_PODS}, "WASMLET_MAX_PODS"},
    {{"node-labels", required_argument, NULL, OPT_NODE_LABELS},
     "WASMLET_NODE_LABELS"},
    {{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
     "WASMLET_LOG_LEVEL"},
    {{"drain-on-exit", no_argument, NULL, OPT_DRAIN}, "WASMLET_DRAIN_ON_EXIT"},
    {{"insecure-registries", required_argument, NULL, OPT_INSECURE},
     "WASMLET_INSECURE_REGISTRIES"},
    {{"registry-config", required_argument, NULL, OPT_REGISTRY_CONFIG},
     "WASMLET_REGISTRY_CONFIG"},
    {{"registry-certs-dir", required_argument, NULL, OPT_CERTS_DIR},
     "WASMLET_REGISTRY_CERTS_DIR"},
    {{"address", required_argument, NULL, OPT_ADDRESS}, "WASMLET_ADDRESS"},
    {{"tls-cert-file", required_argument, NULL, OPT_TLS_CERT},
     "WASMLET_TLS_CERT_FILE"},
    {{"tls-private-key-file", required_argument, NULL, OPT_TLS_KEY},
     "WASMLET_TLS_PRIVATE_KEY_FILE"},
    {{"client-ca-file", required_argument, NULL, OPT_CLIENT_CA},
     "WASMLET_CLIENT_CA_FILE"},
    {{"authentication-token-webhook", no_argument, NULL, OPT_TOKEN_WEBHOOK},
     "WASMLET_AUTHENTICATION_TOKEN_WEBHOOK"},
    {{"container-log-max-size", required_argument, NULL, OPT_LOG_MAX_SIZE},
     "WASMLET_CONTAINER_LOG_MAX_SIZE"},
    {{"container-log-max-files", required_argument, NULL, OPT_LOG_MAX_FILES},
     "WASMLET_CONTAINER_LOG_MAX_FILES"},
    {{"max-log-streams", required_argument, NULL, OPT_MAX_LOG_STREAMS},
     "WASMLET_MAX_LOG_STREAMS"},
    {{"log-format", required_argument, NULL, OPT_LOG_FORMAT},
     "WASMLET_LOG_FORMAT"},
    {{"config", required_argument, NULL, OPT_CONFIG}, "WASMLET_CONFIG"},
    {{"pod-manifest-path", required_argument, NULL, OPT_POD_MANIFEST_PATH},
     "WASMLET_POD_MANIFEST_PATH"},
    {{"healthz-port", required_argument, NULL, OPT_HEALTHZ_PORT},
     "WASMLET_HEALTHZ_PORT"},
    {{"healthz-bind-address", required_argument, NULL, OPT_HEALTHZ_ADDRESS},
     "WASMLET_HEALTHZ_BIND_ADDRESS"},
    {{"help", no_argument, NULL, OPT_HELP}, NULL},
};

static void usage(void)
{
    printf(
        "Usage: wasmlet serve [OPTIONS]\n"
        "\n"
        "Joins a Kubernetes cluster as a node that runs WebAssembly (WASI) "
        "pods.\nThe node carries the label and the NoSchedule/NoExecute "
        "taints\nkubernetes.io/arch=wasm32-wasi: wasm pods select the label "
        "and tolerate\nthe taints.\n"
        "\n"
        "Options (each also settable by the environment variable shown;\n"
        "flags win over variables, variables over the config file):\n"
        "  --config PATH            a KubeletConfiguration YAML file with "
        "settings\n"
        "                           [WASMLET_CONFIG] (see "
        "docs/configuration.md)\n"
        "  --kubeconfig PATH        credentials for the API server "
        "[WASMLET_KUBECONFIG]\n"
        "                           (default: $KUBECONFIG, then "
        "~/.kube/config)\n"
        "  --bootstrap-kubeconfig PATH\n"
        "                           credentials that may create a "
        "CertificateSigningRequest\n"
        "                           [WASMLET_BOOTSTRAP_KUBECONFIG]; when the "
        "--kubeconfig\n"
        "                           file is missing or its client "
        "certificate is (nearly)\n"
        "                           expired, a node certificate is "
        "requested and written\n"
        "                           there (--kubeconfig is then required)\n"
        "  --node-name NAME         the Node's name [WASMLET_NODE_NAME] "
        "(default:\n"
        "                           --hostname-override, else hostname)\n"
        "  --hostname-override NAME kubernetes.io/hostname and default node "
        "name\n"
        "                           [WASMLET_HOSTNAME_OVERRIDE] (default: "
        "--node-name, else\n"
        "                           hostname)\n"
        "  --node-ip IP             InternalIP address [WASMLET_NODE_IP]\n"
        "                           (default: the default route's "
        "interface)\n"
        "  --port PORT              kubelet API port [WASMLET_PORT] (default "
        "10250)\n"
        "  --data-dir DIR           modules, logs and state "
        "[WASMLET_DATA_DIR]\n"
        "                           (default /var/lib/wasmlet)\n"
        "  --max-pods N             pod capacity [WASMLET_MAX_PODS] (default "
        "110)\n"
        "  --node-labels K=V,...    extra node labels [WASMLET_NODE_LABELS]\n"
        "  --log-level LEVEL        error, warning, info, debug "
        "[WASMLET_LOG_LEVEL]\n"
        "  --log-format FORMAT      text, or json: one object per line "
        "[WASMLET_LOG_FORMAT]\n"
        "                           (default text)\n"
        "  --drain-on-exit          cordon and evict pods on SIGTERM "
        "[WASMLET_DRAIN_ON_EXIT=1]\n"
        "  --insecure-registries H,...  registries spoken to over plain "
        "HTTP\n"
        "                           [WASMLET_INSECURE_REGISTRIES]\n"
        "  --registry-config PATH   Docker config.json with registry "
        "credentials\n"
        "                           [WASMLET_REGISTRY_CONFIG]\n"
        "  --registry-certs-dir DIR trust DIR/<host>/ca.crt for <host> "
        "[WASMLET_REGISTRY_CERTS_DIR]\n"
        "  --pod-manifest-path DIR  run the pods of DIR's manifests as static "
        "pods,\n"
        "                           shown as mirror pods "
        "[WASMLET_POD_MANIFEST_PATH]\n"
        "  --address IP             kubelet API bind address "
        "[WASMLET_ADDRESS]\n"
        "                           (default: every address)\n"
        "  --tls-cert-file PATH     kubelet API serving certificate "
        "[WASMLET_TLS_CERT_FILE]\n"
        "                           (default: the one the cluster signed in "
        "DATA_DIR/pki,\n"
        "                           else a self-signed one)\n"
        "  --tls-private-key-file PATH  its key "
        "[WASMLET_TLS_PRIVATE_KEY_FILE]\n"
        "  --client-ca-file PATH    CA bundle client certificates must chain "
        "to\n"
        "                           [WASMLET_CLIENT_CA_FILE] (default: the "
        "kubeconfig's CA)\n"
        "  --authentication-token-webhook\n"
        "                           accept bearer tokens, checked with a "
        "TokenReview\n"
        "                           [WASMLET_AUTHENTICATION_TOKEN_WEBHOOK=1]\n"
        "  --container-log-max-size SIZE  rotate a container's log at SIZE "
        "(e.g. 10Mi)\n"
        "                           [WASMLET_CONTAINER_LOG_MAX_SIZE] (default "
        "10Mi)\n"
        "  --container-log-max-files N  log files kept per container, the "
        "live one\n"
        "                           included [WASMLET_CONTAINER_LOG_MAX_FILES] "
        "(default 5)\n"
        "  --max-log-streams N      concurrent `kubectl logs -f` streams "
        "[WASMLET_MAX_LOG_STREAMS]\n"
        "                           (default 64)\n"
        "  --healthz-port PORT      plain-HTTP /healthz for liveness probes "
        "[WASMLET_HEALTHZ_PORT]\n"
        "                           (default 10248; 0: none)\n"
        "  --healthz-bind-address IP  its bind address "
        "[WASMLET_HEALTHZ_BIND_ADDRESS]\n"
        "                           (default 127.0.0.1)\n"
        "  --help                   show this help\n"
        "\n"
        "Signals: SIGTERM or SIGINT marks the node NotReady and exits.\n"
        "Under systemd (Type=notify) it sends READY=1 once the node is "
        "Ready,\nWATCHDOG=1 (when WatchdogSec= is set) and STOPPING=1.\n");
}

static int parse_long(const char *what, const char *s, long min, long max,
                      long *ret, struct wl_error *err)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return wl_error_set(err, 0, "%s \"%s\": expected a number from %ld "
                                    "to %ld",
                            what, s, min, max);
    *ret = v;
    return 0;
}

static int parse_bool(const char *what, const char *v, bool *ret,
                      struct wl_error *err)
{
    if (strcmp(v, "1") && strcmp(v, "true") && strcmp(v, "0") &&
        strcmp(v, "false"))
        return wl_error_set(err, 0, "%s \"%s\": expected true or false",
                            what, v);
    *ret = !strcmp(v, "1") || !strcmp(v, "true");
    return 0;
}

static int set_str(char **field, const char *v, struct wl_error *err)
{
    char *copy = strdup(v);
    if (!copy)
        return wl_error_set(err, ENOMEM, "config");
    free(*field);
    *field = copy;
    return 0;
}

static void list_clear(char ***items, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*items)[i]);
    free(*items);
    *items = NULL;
    *n = 0;
}

static void labels_clear(struct wl_config *cfg)
{
    list_clear(&cfg->labels, &cfg->nlabels);
}

/* Appends the comma-separated entries of v to a list; key_value: each must
 * be key=value. */
static int parse_list(char ***items, size_t *n, bool key_value,
                      const char *what, const char *v, struct wl_error *err)
{
    _cleanup_free_ char *copy = strdup(v);
    if (!copy)
        return wl_error_set(err, ENOMEM, "config");
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (key_value && (!eq || eq == tok))
            return wl_error_set(err, 0, "%s: \"%s\" is not key=value", what,
                                tok);
        char **l = realloc(*items, (*n + 1) * sizeof(*l));
        if (!l)
            return wl_error_set(err, ENOMEM, "config");
        *items = l;
        if (!(l[*n] = strdup(tok)))
            return wl_error_set(err, ENOMEM, "config");
        (*n)++;
    }
    return 0;
}

/* Applies one option's value; what names its source for errors. */
static int apply(struct wl_config *cfg, int id, const char *what,
                 const char *v, struct wl_error *err)
{
    long n;
    switch (id) {
    case OPT_NODE_NAME:
        return set_str(&cfg->node_name, v, err);
    case OPT_HOSTNAME:
        return set_str(&cfg->hostname, v, err);
    case OPT_NODE_IP:
        return set_str(&cfg->node_ip, v, err);
    case OPT_DATA_DIR:
        return set_str(&cfg->data_dir, v, err);
    case OPT_KUBECONFIG:
        return set_str(&cfg->kubeconfig, v, err);
    case OPT_BOOTSTRAP_KUBECONFIG:
        return set_str(&cfg->bootstrap_kubeconfig, v, err);
    case OPT_PORT:
        if (parse_long(what, v, 1, 65535, &n, err) < 0)
            return -1;
        cfg->port = (int)n;
        return 0;
    case OPT_MAX_PODS:
        return parse_long(what, v, 1, 100000, &cfg->max_pods, err);
    case OPT_NODE_LABELS:
        return parse_list(&cfg->labels, &cfg->nlabels, true, what, v, err);
    case OPT_INSECURE:
        list_clear(&cfg->insecure_registries, &cfg->ninsecure);
        return parse_list(&cfg->insecure_registries, &cfg->ninsecure, false,
                          what, v, err);
    case OPT_REGISTRY_CONFIG:
        return set_str(&cfg->registry_config, v, err);
    case OPT_CERTS_DIR:
        return set_str(&cfg->registry_certs_dir, v, err);
    case OPT_POD_MANIFEST_PATH:
        return set_str(&cfg->pod_manifest_path, v, err);
    case OPT_ADDRESS:
        return set_str(&cfg->address, v, err);
    case OPT_TLS_CERT:
        return set_str(&cfg->tls_cert_file, v, err);
    case OPT_TLS_KEY:
        return set_str(&cfg->tls_key_file, v, err);
    case OPT_CLIENT_CA:
        return set_str(&cfg->client_ca_file, v, err);
    case OPT_TOKEN_WEBHOOK:
        return parse_bool(what, v, &cfg->token_webhook, err);
    case OPT_LOG_MAX_SIZE: {
        int64_t b;
        struct wl_error e = WL_ERROR_INIT;
        if (wl_quantity_parse_bytes(v, &b, &e) < 0 || b < 1024) {
            wl_error_clear(&e);
            return wl_error_set(err, 0, "%s \"%s\": expected a size of at "
                                        "least 1Ki, like 10Mi",
                                what, v);
        }
        cfg->log_max_size = b;
        return 0;
    }
    case OPT_LOG_MAX_FILES:
        return parse_long(what, v, 2, 100, &cfg->log_max_files, err);
    case OPT_MAX_LOG_STREAMS:
        return parse_long(what, v, 1, 10000, &cfg->max_log_streams, err);
    case OPT_HEALTHZ_PORT:
        if (parse_long(what, v, 0, 65535, &n, err) < 0)
            return -1;
        cfg->healthz_port = (int)n;
        return 0;
    case OPT_HEALTHZ_ADDRESS: {
        struct sockaddr_storage ss;
        bool v6;
        if (wl_listen_addr(v, 0, &ss, &v6) < 0)
            return wl_error_set(err, 0, "%s \"%s\": expected an IP address, "
                                        "like 127.0.0.1 or ::1",
                                what, v);
        return set_str(&cfg->healthz_address, v, err);
    }
    case OPT_LOG_LEVEL:
        if (wl_log_level_parse(v, &cfg->log_level) < 0)
            return wl_error_set(err, 0, "%s \"%s\": expected error, warning, "
                                        "info or debug",
                                what, v);
        return 0;
    case OPT_DRAIN:
        return parse_bool(what, v, &cfg->drain_on_exit, err);
    case OPT_LOG_FORMAT:
        if (wl_log_format_parse(v, &cfg->log_format) < 0)
            return wl_error_set(err, 0, "%s \"%s\": expected text or json",
                                what, v);
        return 0;
    case OPT_CONFIG:
        return set_str(&cfg->config_file, v, err);
    }
    return wl_error_set(err, 0, "unknown option");
}

static int apply_env(struct wl_config *cfg, struct wl_error *err)
{
    for (size_t i = 0; i < WL_ARRAY_SIZE(options); i++) {
        const char *v = options[i].env ? getenv(options[i].env) : NULL;
        if (!v || !*v)
            continue;
        /* WASMLET_NODE_LABELS replaces the file's labels. */
        if (options[i].opt.val == OPT_NODE_LABELS)
            labels_clear(cfg);
        if (apply(cfg, options[i].opt.val, options[i].env, v, err) < 0)
            return -1;
    }
    return 0;
}

/* A config file setting: flag is the option's long name. */
static int apply_file_setting(void *ctx, const char *flag, const char *value,
                              const char *what, struct wl_error *err)
{
    for (size_t i = 0; i < WL_ARRAY_SIZE(options); i++)
        if (!strcmp(options[i].opt.name, flag))
            return apply(ctx, options[i].opt.val, what, value, err);
    return wl_error_set(err, 0, "%s: no such option --%s", what, flag);
}

int wl_config_apply_file(struct wl_config *cfg, const char *yaml, size_t len,
                         const char *source, struct wl_error *err)
{
    return wl_config_file_parse(yaml, len, source, apply_file_setting, cfg,
                                err);
}

static int load_file(struct wl_config *cfg, const char *path,
                     struct wl_error *err)
{
    _cleanup_free_ uint8_t *data = NULL;
    size_t len = 0;

    if (wl_file_read(AT_FDCWD, path, WL_CONFIG_FILE_MAX_SIZE, &data, &len,
                     err) < 0)
        return wl_error_prefix(err, "config file");
    return wl_config_apply_file(cfg, (const char *)data, len, path, err);
}

/* Applies the flags to cfg. With config_path, only looks for --config
 * and stores it there: the file is the weakest source but has to be read
 * first; anything wrong with the flags is left for the second pass to
 * report. Returns 1 when --help was given (and printed). */
static int apply_flags(int argc, char **argv, struct option *longopts,
                       struct wl_config *cfg, char **config_path,
                       struct wl_error *err)
{
    int c, idx = 0;
    bool labels_from_flags = false;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
        if (c == OPT_HELP) {
            usage();
            return 1;
        }
        if (config_path) {
            if (c == OPT_CONFIG && set_str(config_path, optarg, err) < 0)
                return -1;
            continue;
        }
        /* --node-labels replaces WASMLET_NODE_LABELS; repeated flags add. */
        if (c == OPT_NODE_LABELS && !labels_from_flags) {
            labels_clear(cfg);
            labels_from_flags = true;
        }
        if (c == '?')
            return wl_error_set(err, 0, "unknown or incomplete option \"%s\" "
                                        "(see wasmlet serve --help)",
                                argv[optind - 1]);
        char what[64];
        snprintf(what, sizeof(what), "--%s", longopts[idx].name);
        if (apply(cfg, c, what, optarg ? optarg : "true", err) < 0)
            return -1;
    }
    if (!config_path && optind < argc)
        return wl_error_set(err, 0, "unexpected argument \"%s\"",
                            argv[optind]);
    return 0;
}

/* name trimmed of white space and lower-cased, in place (the kubelet's
 * nodeutil.GetHostname). */
static char *host_name_clean(char *name)
{
    size_t n = strlen(name);
    while (n && isspace((unsigned char)name[n - 1]))
        name[--n] = '\0';
    size_t skip = strspn(name, " \t\n\r\f\v");
    memmove(name, name + skip, n - skip + 1);
    for (char *p = name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return name;
}

/* The kubelet's names: its hostname is --hostname-override (cleaned as
 * GetHostname does) or the host's name, and its node name that hostname.
 * wasmlet also has --node-name; a node given only a node name is a kubelet
 * whose hostname override is that name, so kubernetes.io/hostname (and the
 * Hostname address) follow it and several nodes on one host are distinct
 * topology domains. */
static int default_names(struct wl_config *cfg, struct wl_error *err)
{
    char host[HOST_NAME_MAX + 1];
    if (cfg->hostname && !*host_name_clean(cfg->hostname))
        return wl_error_set(err, 0, "--hostname-override: empty host name");
    if (!cfg->hostname && cfg->node_name &&
        set_str(&cfg->hostname, cfg->node_name, err) < 0)
        return -1;
    if (!cfg->hostname) {
        if (gethostname(host, sizeof(host)) < 0)
            return wl_error_set(err, errno, "gethostname");
        host[HOST_NAME_MAX] = '\0';
        if (set_str(&cfg->hostname, host_name_clean(host), err) < 0)
            return -1;
    }
    if (!cfg->node_name && set_str(&cfg->node_name, cfg->hostname, err) < 0)
        return -1;
    if (!cfg->node_ip) {
        char ip[64];
        wl_sysinfo_default_ip(ip, sizeof(ip));
        if (set_str(&cfg->node_ip, ip, err) < 0)
            return -1;
    }
    if (!cfg->data_dir && set_str(&cfg->data_dir, "/var/lib/wasmlet", err) < 0)
        return -1;
    if (!cfg->healthz_address &&
        set_str(&cfg->healthz_address, "127.0.0.1", err) < 0)
        return -1;
    return 0;
}

int wl_config_parse(int argc, char **argv, struct wl_config *cfg,
                    struct wl_error *err)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->port = 10250;
    cfg->max_pods = 110;
    cfg->log_max_size = 10 * 1024 * 1024;
    cfg->log_max_files = 5;
    cfg->max_log_streams = 64;
    cfg->healthz_port = 10248;
    cfg->log_level = WL_LOG_INFO;

    cfg->log_format = WL_LOG_TEXT;

    struct option longopts[WL_ARRAY_SIZE(options) + 1];
    for (size_t i = 0; i < WL_ARRAY_SIZE(options); i++)
        longopts[i] = options[i].opt;
    longopts[WL_ARRAY_SIZE(options)] = (struct option){NULL, 0, NULL, 0};

    /* defaults < file < WASMLET_* < flags */
    _cleanup_free_ char *path = NULL;
    int r = apply_flags(argc, argv, longopts, cfg, &path, err);
    if (r != 0)
        return r;
    const char *env = getenv("WASMLET_CONFIG");
    if (!path && env && *env && set_str(&path, env, err) < 0)
        return -1;
    if (path && load_file(cfg, path, err) < 0)
        return -1;
    cfg->config_file = TAKE_PTR(path);
    if (apply_env(cfg, err) < 0)
        return -1;
    r = apply_flags(argc, argv, longopts, cfg, NULL, err);
    if (r != 0)
        return r;
    /* The bootstrap writes the node's credentials to --kubeconfig; falling
     * back to $KUBECONFIG or ~/.kube/config there would overwrite a
     * user's own file. */
    if (!cfg->tls_cert_file != !cfg->tls_key_file)
        return wl_error_set(err, 0, "--tls-cert-file and "
                                    "--tls-private-key-file go together");
    if (cfg->bootstrap_kubeconfig && !cfg->kubeconfig)
        return wl_error_set(err, 0, "--bootstrap-kubeconfig needs "
                                    "--kubeconfig: the path where the node's "
                                    "credentials are written");
    return default_names(cfg, err);
}

void wl_config_clear(struct wl_config *cfg)
{
    free(cfg->config_file);
    free(cfg->address);
    free(cfg->healthz_address);
    free(cfg->tls_cert_file);
    free(cfg->tls_key_file);
    free(cfg->client_ca_file);
    free(cfg->node_name);
    free(cfg->hostname);
    free(cfg->node_ip);
    free(cfg->data_dir);
    free(cfg->kubeconfig);
    free(cfg->bootstrap_kubeconfig);
    labels_clear(cfg);
    list_clear(&cfg->insecure_registries, &cfg->ninsecure);
    free(cfg->registry_config);
    free(cfg->registry_certs_dir);
    free(cfg->pod_manifest_path);
    memset(cfg, 0, sizeof(*cfg));
}
