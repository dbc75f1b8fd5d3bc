#include "config_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fyaml.h"

#define API_VERSION "kubelet.config.k8s.io/v1beta1"
#define KIND "KubeletConfiguration"

enum value_kind {
    V_STRING,
    V_INT,
    V_BOOL,
    V_LIST, /* a list of strings, handed on comma-joined */
    V_MAP,  /* a mapping of strings, handed on as k=v,... */
};

/* Every key read, with the flag it stands for. The KubeletConfiguration
 * fields are the ones that mean what the flag means; wasmlet's own
 * settings live under `wasmlet:`, so a kubelet field is never given a
 * meaning it does not have. */
static const struct file_key {
    const char *path;
    const char *flag;
    enum value_kind kind;
} file_keys[] = {
    {"address", "address", V_STRING},
    {"port", "port", V_INT},
    {"healthzPort", "healthz-port", V_INT},
    {"healthzBindAddress", "healthz-bind-address", V_STRING},
    {"maxPods", "max-pods", V_INT},
    {"tlsCertFile", "tls-cert-file", V_STRING},
    {"tlsPrivateKeyFile", "tls-private-key-file", V_STRING},
    {"authentication.x509.clientCAFile", "client-ca-file", V_STRING},
    {"authentication.webhook.enabled", "authentication-token-webhook", V_BOOL},
    {"containerLogMaxSize", "container-log-max-size", V_STRING},
    {"containerLogMaxFiles", "container-log-max-files", V_INT},
    {"logging.format", "log-format", V_STRING},
    {"staticPodPath", "pod-manifest-path", V_STRING},
    {"wasmlet.nodeName", "node-name", V_STRING},
    {"wasmlet.hostnameOverride", "hostname-override", V_STRING},
    {"wasmlet.nodeIP", "node-ip", V_STRING},
    {"wasmlet.dataDir", "data-dir", V_STRING},
    {"wasmlet.kubeconfig", "kubeconfig", V_STRING},
    {"wasmlet.bootstrapKubeconfig", "bootstrap-kubeconfig", V_STRING},
    {"wasmlet.nodeLabels", "node-labels", V_MAP},
    {"wasmlet.logLevel", "log-level", V_STRING},
    {"wasmlet.drainOnExit", "drain-on-exit", V_BOOL},
    {"wasmlet.insecureRegistries", "insecure-registries", V_LIST},
    {"wasmlet.registryConfig", "registry-config", V_STRING},
    {"wasmlet.registryCertsDir", "registry-certs-dir", V_STRING},
    {"wasmlet.maxLogStreams", "max-log-streams", V_INT},
};

struct walk {
    const struct wl_fyaml *y;
    const char *source;
    wl_config_file_set_fn *set;
    void *ctx;
    struct wl_error *err;
};

/* Fails with "source:line: path: <message>". */
__attribute__((format(printf, 4, 5))) static int
fail(const struct walk *w, int line, const char *path, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return wl_error_set(w->err, 0, "%s:%d: %s: %s", w->source, line, path, msg);
}

/* The text of scalar n as a new string; NULL with err set when n is not a
 * scalar, holds a NUL byte or memory ran out. */
static char *scalar_dup(const struct walk *w, struct fy_node *n, int line,
                        const char *path, const char *expected)
{
    _cleanup_free_ char *tmp = NULL;
    size_t len = 0;

    if (!n || !fy_node_is_scalar(n) || fy_node_is_alias(n)) {
        fail(w, line, path, "expected %s", expected);
        return NULL;
    }
    const char *s = wl_fyaml_scalar(w->y, n, &len, &tmp);
    if (!s) {
        wl_error_set(w->err, ENOMEM, "%s", path);
        return NULL;
    }
    if (memchr(s, '\0', len)) {
        fail(w, line, path, "contains a NUL byte");
        return NULL;
    }
    return tmp ? TAKE_PTR(tmp) : strndup(s, len);
}

/* Appends item to the comma-joined list in *list. Items are handed on as
 * one flag value, so an item may not contain the separator. */
static int join(const struct walk *w, int line, const char *path, char **list,
                const char *item)
{
    if (!*item || strchr(item, ','))
        return fail(w, line, path,
                    "\"%s\": expected a non-empty string "
                    "without commas",
                    item);
    char *joined = NULL;
    if (asprintf(&joined, "%s%s%s", *list ? *list : "", *list ? "," : "",
                 item) < 0)
        return wl_error_set(w->err, ENOMEM, "%s", path);
    free(*list);
    *list = joined;
    return 0;
}

/* One entry of a mapping of strings as "key=value" (a label's value may
 * be empty); NULL with err set. */
static char *map_item(const struct walk *w, struct fy_node_pair *pair, int line,
                      const char *path, const char *what)
{
    _cleanup_free_ char *k =
        scalar_dup(w, fy_node_pair_key(pair), line, path, what);
    struct fy_node *v = fy_node_pair_value(pair);
    _cleanup_free_ char *s = NULL;
    char *kv = NULL;

    if (!k ||
        (!wl_fyaml_is_unset(v) && !(s = scalar_dup(w, v, line, path, what))))
        return NULL;
    if (strchr(k, '=')) {
        fail(w, line, path, "key \"%s\" contains '='", k);
        return NULL;
    }
    if (asprintf(&kv, "%s=%s", k, s ? s : "") < 0) {
        wl_error_set(w->err, ENOMEM, "%s", path);
        return NULL;
    }
    return kv;
}

/* A list of strings, or a mapping of strings (as key=value), handed on
 * comma-joined. */
static int joined_value(const struct walk *w, struct fy_node *v, int line,
                        const char *path, bool mapping, char **ret)
{
    const char *what = mapping ? "a mapping of strings" : "a list of strings";
    _cleanup_free_ char *list = NULL;
    struct fy_node_pair *pair = NULL;
    struct fy_node *item = NULL;
    void *iter = NULL;

    if (fy_node_is_alias(v) ||
        !(mapping ? fy_node_is_mapping(v) : fy_node_is_sequence(v)))
        return fail(w, line, path, "expected %s", what);
    while (mapping ? (pair = fy_node_mapping_iterate(v, &iter)) != NULL
                   : (item = fy_node_sequence_iterate(v, &iter)) != NULL) {
        _cleanup_free_ char *s = mapping
                                     ? map_item(w, pair, line, path, what)
                                     : scalar_dup(w, item, line, path, what);
        if (!s || join(w, line, path, &list, s) < 0)
            return -1;
    }
    if (!list && !(list = strdup(""))) /* an empty list clears the flag's */
        return wl_error_set(w->err, ENOMEM, "%s", path);
    *ret = TAKE_PTR(list);
    return 0;
}

/* Whether s is a whole decimal integer (the range is the flag's to check). */
static bool is_integer(const char *s)
{
    char *end = NULL;
    errno = 0;
    (void)strtoll(s, &end, 10);
    return !errno && end != s && !*end;
}

/* Checks the value of key k against its kind and hands it on. */
static int apply_key(const struct walk *w, const struct file_key *k,
                     struct fy_node *v, int line)
{
    _cleanup_free_ char *value = NULL;
    bool b;

    if (fy_node_is_alias(v))
        return fail(w, line, k->path, "YAML aliases are not supported");
    switch (k->kind) {
    case V_STRING:
        value = scalar_dup(w, v, line, k->path, "a string");
        if (!value)
            return -1;
        break;
    case V_INT:
        if (!fy_node_is_scalar(v) || fy_node_get_style(v) != FYNS_PLAIN)
            return fail(w, line, k->path, "expected an integer");
        if (!(value = scalar_dup(w, v, line, k->path, "an integer")))
            return -1;
        if (!is_integer(value))
            return fail(w, line, k->path, "expected an integer");
        break;
    case V_BOOL:
        if (wl_fyaml_bool(v, &b) < 0)
            return fail(w, line, k->path, "expected a boolean");
        if (!(value = strdup(b ? "true" : "false")))
            return wl_error_set(w->err, ENOMEM, "%s", k->path);
        break;
    case V_LIST:
    case V_MAP:
        if (joined_value(w, v, line, k->path, k->kind == V_MAP, &value) < 0)
            return -1;
        break;
    }
    _cleanup_free_ char *what = NULL;
    if (asprintf(&what, "%s:%d: %s", w->source, line, k->path) < 0)
        return wl_error_set(w->err, ENOMEM, "%s", k->path);
    return w->set(w->ctx, k->flag, value, what, w->err);
}

/* Whether path names a mapping that holds keys (path "authentication"
 * for "authentication.webhook.enabled"). */
static bool is_section(const char *path)
{
    size_t len = strlen(path);
    for (size_t i = 0; i < WL_ARRAY_SIZE(file_keys); i++)
        if (!strncmp(file_keys[i].path, path, len) &&
            file_keys[i].path[len] == '.')
            return true;
    return false;
}

static const struct file_key *find_key(const char *path)
{
    for (size_t i = 0; i < WL_ARRAY_SIZE(file_keys); i++)
        if (!strcmp(file_keys[i].path, path))
            return &file_keys[i];
    return NULL;
}

/* Walks mapping map, whose keys are under prefix ("" at the top). */
static int walk_map(const struct walk *w, struct fy_node *map,
                    const char *prefix)
{
    struct fy_node_pair *pair;
    void *iter = NULL;

    while ((pair = fy_node_mapping_iterate(map, &iter))) {
        struct fy_node *kn = fy_node_pair_key(pair);
        struct fy_node *v = fy_node_pair_value(pair);
        int line = wl_fyaml_line(kn);
        _cleanup_free_ char *key = scalar_dup(
            w, kn, line, *prefix ? prefix : "(top level)", "string keys");
        _cleanup_free_ char *path = NULL;
        if (!key)
            return -1;
        if (asprintf(&path, "%s%s%s", prefix, *prefix ? "." : "", key) < 0)
            return wl_error_set(w->err, ENOMEM, "config file");
        if (!*prefix && (!strcmp(key, "apiVersion") || !strcmp(key, "kind")))
            continue; /* checked before the walk */
        /* A key with a dot would be taken for a path of two. */
        const struct file_key *k = strchr(key, '.') ? NULL : find_key(path);
        if (k && wl_fyaml_is_unset(v))
            continue;
        if (k) {
            if (apply_key(w, k, v, line) < 0)
                return -1;
            continue;
        }
        if (strchr(key, '.') || !is_section(path))
            return fail(w, line, path,
                        "unknown key (see "
                        "docs/configuration.md)");
        if (wl_fyaml_is_unset(v))
            continue;
        if (fy_node_is_alias(v) || !fy_node_is_mapping(v))
            return fail(w, line, path, "expected a mapping");
        if (walk_map(w, v, path) < 0)
            return -1;
    }
    return 0;
}

/* apiVersion and kind must say what the file is, as the kubelet insists. */
static int check_type(const struct walk *w, struct fy_node *root,
                      const char *key, const char *want)
{
    struct fy_node *v = wl_fyaml_map_get(w->y, root, key);
    int line = wl_fyaml_line(v);
    _cleanup_free_ char *s = NULL;

    if (wl_fyaml_is_unset(v))
        return wl_error_set(w->err, 0, "%s: %s: missing, expected %s",
                            w->source, key, want);
    if (!(s = scalar_dup(w, v, line, key, "a string")))
        return -1;
    if (strcmp(s, want))
        return fail(w, line, key, "\"%s\", expected %s", s, want);
    return 0;
}

int wl_config_file_parse(const char *yaml, size_t len, const char *source,
                         wl_config_file_set_fn *set, void *ctx,
                         struct wl_error *err)
{
    _cleanup_(wl_fyaml_clear) struct wl_fyaml y = {0};
    struct walk w = {
        .y = &y, .source = source, .set = set, .ctx = ctx, .err = err};

    if (len > WL_CONFIG_FILE_MAX_SIZE)
        return wl_error_set(err, 0, "%s: %zu bytes, over the limit of %d",
                            source, len, WL_CONFIG_FILE_MAX_SIZE);
    if (wl_fyaml_load(yaml, len, "config file", &y, err) < 0)
        return wl_error_prefix(err, "%s", source);
    struct fy_node *root = fy_document_root(y.doc);
    if (!root || fy_node_is_alias(root) || !fy_node_is_mapping(root))
        return wl_error_set(err, 0, "%s: expected a mapping: a %s", source,
                            KIND);
    if (check_type(&w, root, "apiVersion", API_VERSION) < 0 ||
        check_type(&w, root, "kind", KIND) < 0)
        return -1;
    return walk_map(&w, root, "");
}
