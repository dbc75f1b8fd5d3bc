#include "kube/kubeconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/fyaml.h"

/* What a parse needs besides the YAML. */
struct parse_state {
    const struct wl_fyaml *y; /* the document: node marks index its text */
    const char *base_dir;     /* relative file references; NULL refuses them */
    const char *source;       /* the kubeconfig's path for messages, or NULL */
    struct wl_error *err;
    bool named;   /* the message already names source */
    bool missing; /* a context, cluster or user was not defined: with
                     merged kubeconfigs another file might define it */
};

static void wl_kubeconfig_freep(struct wl_kubeconfig **kc)
{
    wl_kubeconfig_free(*kc);
}

void wl_kubeconfig_free(struct wl_kubeconfig *kc)
{
    if (!kc)
        return;
    free(kc->context);
    free(kc->server);
    free(kc->tls_server_name);
    free(kc->ca_pem);
    free(kc->cert_pem);
    free(kc->key_pem);
    free(kc->token);
    free(kc->namespace_);
    free(kc);
}

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64_encode(FILE *f, const char *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    for (; len >= 3; p += 3, len -= 3) {
        uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
        fputc(base64_alphabet[v >> 18 & 63], f);
        fputc(base64_alphabet[v >> 12 & 63], f);
        fputc(base64_alphabet[v >> 6 & 63], f);
        fputc(base64_alphabet[v & 63], f);
    }
    if (len == 0)
        return;
    uint32_t v = (uint32_t)p[0] << 16 | (len == 2 ? (uint32_t)p[1] << 8 : 0);
    fputc(base64_alphabet[v >> 18 & 63], f);
    fputc(base64_alphabet[v >> 12 & 63], f);
    fputc(len == 2 ? base64_alphabet[v >> 6 & 63] : '=', f);
    fputc('=', f);
}

/* ------------------------------------------------------------ YAML nodes */

/* Whether n holds anything: a non-empty string, list or mapping. */
static bool node_is_set(struct fy_node *n)
{
    if (wl_fyaml_is_unset(n))
        return false;
    if (fy_node_is_sequence(n))
        return fy_node_sequence_item_count(n) > 0;
    if (fy_node_is_mapping(n))
        return fy_node_mapping_item_count(n) > 0;
    return true;
}

/* Anchors and aliases are refused outright: kubeconfigs do not use them,
 * and not resolving them keeps "billion laughs" documents harmless. */
static int node_check_kind(struct fy_node *n, enum fy_node_type type,
                           const char *key, struct wl_error *err)
{
    static const char *const names[] = {
        [FYNT_SCALAR] = "a string",
        [FYNT_SEQUENCE] = "a list",
        [FYNT_MAPPING] = "a mapping",
    };

    if (fy_node_is_alias(n))
        return wl_error_set(err, 0, "%s: YAML aliases are not supported", key);
    if (fy_node_get_type(n) != type)
        return wl_error_set(err, 0, "%s: expected %s", key, names[type]);
    return 0;
}

/* The value of key in mapping map (NULL when absent). */
static struct fy_node *map_get(const struct parse_state *st,
                               struct fy_node *map, const char *key)
{
    return wl_fyaml_map_get(st->y, map, key);
}

/* The mapping at key in map: *ret is NULL when the key is unset. */
static int map_get_map(const struct parse_state *st, struct fy_node *map,
                       const char *key, struct fy_node **ret)
{
    struct fy_node *n = map_get(st, map, key);
    if (wl_fyaml_is_unset(n)) {
        *ret = NULL;
        return 0;
    }
    if (node_check_kind(n, FYNT_MAPPING, key, st->err) < 0)
        return -1;
    *ret = n;
    return 0;
}

/* A copy of the string at key in map, NUL-terminated: *ret is NULL when the
 * key is unset or empty. ret_len may be NULL. */
static int map_dup_str(const struct parse_state *st, struct fy_node *map,
                       const char *key, char **ret, size_t *ret_len)
{
    _cleanup_free_ char *tmp = NULL;
    struct fy_node *n = map_get(st, map, key);
    size_t len = 0;
    const char *s;
    char *copy;

    if (wl_fyaml_is_unset(n)) {
        *ret = NULL;
        if (ret_len)
            *ret_len = 0;
        return 0;
    }
    if (node_check_kind(n, FYNT_SCALAR, key, st->err) < 0)
        return -1;
    s = wl_fyaml_scalar(st->y, n, &len, &tmp);
    if (!s)
        return wl_error_set(st->err, ENOMEM, "%s", key);
    if (memchr(s, '\0', len))
        return wl_error_set(st->err, 0, "%s: contains a NUL byte", key);
    if (len == 0) {
        copy = NULL;
    } else if (tmp) {
        copy = TAKE_PTR(tmp);
    } else if (!(copy = strndup(s, len))) {
        return wl_error_set(st->err, ENOMEM, "%s", key);
    }
    *ret = copy;
    if (ret_len)
        *ret_len = len;
    return 0;
}

/* A boolean as sigs.k8s.io/yaml reads one (YAML 1.1, so yes/no/on/off
 * count); unset is false. */
static int map_get_bool(const struct parse_state *st, struct fy_node *map,
                        const char *key, bool *ret)
{
    struct fy_node *n = map_get(st, map, key);

    if (wl_fyaml_is_unset(n)) {
        *ret = false;
        return 0;
    }
    if (node_check_kind(n, FYNT_SCALAR, key, st->err) < 0)
        return -1;
    if (wl_fyaml_bool(n, ret) < 0)
        return wl_error_set(st->err, 0, "%s: expected true or false", key);
    return 0;
}

/* Finds the entry called name in the list at key ("clusters") of root, and
 * returns its body: the mapping under field ("cluster"), NULL when that is
 * unset. *ret_found tells whether the entry exists. Every entry of the list
 * must be well-formed, and a name defined twice is an error, as in
 * client-go's conversion of the lists into maps. */
static int find_entry(const struct parse_state *st, struct fy_node *root,
                      const char *key, const char *field, const char *name,
                      bool *ret_found, struct fy_node **ret_body)
{
    struct wl_error *err = st->err;
    struct fy_node *list = map_get(st, root, key);
    struct fy_node *body = NULL, *item;
    size_t name_len = strlen(name), index = 0;
    bool found = false;
    void *iter = NULL;

    if (wl_fyaml_is_unset(list)) {
        *ret_found = false;
        *ret_body = NULL;
        return 0;
    }
    if (node_check_kind(list, FYNT_SEQUENCE, key, err) < 0)
        return -1;
    for (; (item = fy_node_sequence_iterate(list, &iter)); index++) {
        _cleanup_free_ char *s = NULL;
        size_t len;
        struct fy_node *b;

        if (fy_node_is_alias(item) || !fy_node_is_mapping(item))
            return wl_error_set(err, 0, "%s[%zu]: expected a mapping", key,
                                index);
        if (map_dup_str(st, item, "name", &s, &len) < 0 ||
            map_get_map(st, item, field, &b) < 0)
            return wl_error_prefix(err, "%s[%zu]", key, index);
        if (!s || len != name_len || memcmp(s, name, len) != 0)
            continue;
        if (found)
            return wl_error_set(err, 0, "%s \"%s\" is defined twice", field,
                                name);
        found = true;
        body = b;
    }
    *ret_found = found;
    *ret_body = body;
    return 0;
}

/* ------------------------------------------------------------ fields */

/* Reads a file a kubeconfig refers to. Relative paths are relative to the
 * kubeconfig's directory (client-go's ResolvePaths). */
static int read_ref(const struct parse_state *st, const char *key,
                    const char *path, char **ret, size_t *ret_len)
{
    _cleanup_free_ char *full = NULL;
    _cleanup_free_ uint8_t *data = NULL;
    size_t len = 0;

    if (!st->base_dir)
        return wl_error_set(st->err, 0,
                            "%s: file references are not allowed here", key);
    if (path[0] != '/') {
        if (asprintf(&full, "%s/%s", st->base_dir, path) < 0)
            return wl_error_set(st->err, ENOMEM, "%s", key);
        path = full;
    }
    if (wl_file_read(AT_FDCWD, path, WL_KUBECONFIG_MAX_REF_SIZE, &data, &len,
                     st->err) < 0)
        return wl_error_prefix(st->err, "%s", key);
    *ret = (char *)TAKE_PTR(data);
    *ret_len = len;
    return 0;
}

/* Reads the pair file_key / data_key (certificate-authority and
 * certificate-authority-data, ...): the contents of the file, or the
 * decoded data. *ret is NULL when neither is set. */
static int read_file_or_data(const struct parse_state *st, struct fy_node *map,
                             const char *file_key, const char *data_key,
                             char **ret, size_t *ret_len)
{
    _cleanup_free_ char *data = NULL;
    _cleanup_free_ char *file = NULL;
    size_t data_len;

    if (map_dup_str(st, map, file_key, &file, NULL) < 0 ||
        map_dup_str(st, map, data_key, &data, &data_len) < 0)
        return -1;
    /* client-go's validation calls this an error too ("client-cert-data
     * and client-cert are both specified"). */
    if (file && data)
        return wl_error_set(st->err, 0, "%s and %s are both set", file_key,
                            data_key);
    if (data)
        return wl_base64_decode(data, data_len, data_key, ret, ret_len, st->err);
    if (file)
        return read_ref(st, file_key, file, ret, ret_len);
    *ret = NULL;
    *ret_len = 0;
    return 0;
}

/* The token goes into an Authorization header verbatim. */
static int check_token(const char *token, const char *key, struct wl_error *err)
{
    for (const char *p = token; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return wl_error_set(err, 0, "%s: contains control characters", key);
    return 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

/* user.token, else the contents of user.tokenFile trimmed as client-go
 * trims it (strings.TrimSpace). client-go also rereads tokenFile now and
 * then; we read it once, so a rotated token needs a reload. */
static int read_token(const struct parse_state *st, struct fy_node *user,
                      char **ret)
{
    _cleanup_free_ char *token = NULL;
    _cleanup_free_ char *file = NULL;
    _cleanup_free_ char *data = NULL;
    size_t len = 0;

    if (map_dup_str(st, user, "token", &token, NULL) < 0)
        return -1;
    if (token) {
        if (check_token(token, "token", st->err) < 0)
            return -1;
        *ret = TAKE_PTR(token);
        return 0;
    }
    if (map_dup_str(st, user, "tokenFile", &file, NULL) < 0)
        return -1;
    if (!file) {
        *ret = NULL;
        return 0;
    }
    if (read_ref(st, "tokenFile", file, &data, &len) < 0)
        return -1;
    if (memchr(data, '\0', len))
        return wl_error_set(st->err, 0, "tokenFile %s contains a NUL byte",
                            file);
    size_t start = 0;
    while (start < len && is_space(data[start]))
        start++;
    while (len > start && is_space(data[len - 1]))
        len--;
    if (len == start)
        return wl_error_set(st->err, 0, "tokenFile %s is empty", file);
    if (!(token = strndup(data + start, len - start)))
        return wl_error_set(st->err, ENOMEM, "tokenFile");
    if (check_token(token, "tokenFile", st->err) < 0)
        return -1;
    *ret = TAKE_PTR(token);
    return 0;
}

struct unsupported {
    const char *key;
    const char *why;
};

/* Fields that change what the connection means: ignoring one would
 * connect differently from what the kubeconfig asks for. */
static const struct unsupported unsupported_cluster[] = {
    {"proxy-url", "proxies are not supported"},
};
static const struct unsupported unsupported_user[] = {
    {"exec", "exec credential plugins are not supported"},
    {"auth-provider", "auth provider plugins are not supported"},
    {"username", "basic authentication is not supported"},
    {"password", "basic authentication is not supported"},
    {"as", "impersonation is not supported"},
    {"as-uid", "impersonation is not supported"},
    {"as-groups", "impersonation is not supported"},
    {"as-user-extra", "impersonation is not supported"},
};

static int check_unsupported(const struct parse_state *st, struct fy_node *map,
                             const struct unsupported *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (node_is_set(map_get(st, map, list[i].key)))
            return wl_error_set(st->err, 0, "%s: %s", list[i].key, list[i].why);
    return 0;
}

static int resolve_cluster(const struct parse_state *st, struct fy_node *c,
                           struct wl_kubeconfig *kc)
{
    bool insecure = false;

    if (!c)
        return wl_error_set(st->err, 0, "server is not set");
    if (check_unsupported(st, c, unsupported_cluster,
                          WL_ARRAY_SIZE(unsupported_cluster)) < 0 ||
        map_get_bool(st, c, "insecure-skip-tls-verify", &insecure) < 0)
        return -1;
    if (insecure)
        return wl_error_set(st->err, 0,
                            "insecure-skip-tls-verify: TLS verification "
                            "cannot be turned off");
    if (map_dup_str(st, c, "server", &kc->server, NULL) < 0)
        return -1;
    if (!kc->server)
        return wl_error_set(st->err, 0, "server is not set");
    if (map_dup_str(st, c, "tls-server-name", &kc->tls_server_name, NULL) < 0)
        return -1;
    return read_file_or_data(st, c, "certificate-authority",
                             "certificate-authority-data", &kc->ca_pem,
                             &kc->ca_pem_len);
}

static int resolve_user(const struct parse_state *st, struct fy_node *u,
                        struct wl_kubeconfig *kc)
{
    if (!u) /* an empty user: anonymous, as in client-go */
        return 0;
    if (check_unsupported(st, u, unsupported_user,
                          WL_ARRAY_SIZE(unsupported_user)) < 0)
        return -1;
    if (read_file_or_data(st, u, "client-certificate",
                          "client-certificate-data", &kc->cert_pem,
                          &kc->cert_pem_len) < 0 ||
        read_file_or_data(st, u, "client-key", "client-key-data", &kc->key_pem,
                          &kc->key_pem_len) < 0)
        return -1;
    /* client-go: "client-key-data or client-key must be specified for %v
     * to use the clientCert authentication method" */
    if (kc->cert_pem && !kc->key_pem)
        return wl_error_set(st->err, 0,
                            "client-certificate is set but client-key is not");
    if (kc->key_pem && !kc->cert_pem)
        return wl_error_set(st->err, 0,
                            "client-key is set but client-certificate is not");
    return read_token(st, u, &kc->token);
}

/* The context's name: the one asked for, else current-context. */
static int context_name(struct parse_state *st, struct fy_node *root,
                        const char *context, char **ret)
{
    if (context && *context) {
        char *copy = strdup(context);
        if (!copy)
            return wl_error_set(st->err, ENOMEM, "context");
        *ret = copy;
        return 0;
    }
    if (map_dup_str(st, root, "current-context", ret, NULL) < 0)
        return -1;
    if (*ret)
        return 0;
    st->missing = true;
    st->named = st->source != NULL;
    return wl_error_set(st->err, 0,
                        "no context given and current-context is not set%s%s",
                        st->source ? " in " : "", st->source ? st->source : "");
}

static int resolve(struct parse_state *st, struct fy_node *root,
                   const char *context, struct wl_kubeconfig *kc)
{
    struct fy_node *ctx, *cluster, *user;
    _cleanup_free_ char *cluster_name = NULL;
    _cleanup_free_ char *user_name = NULL;
    bool found;

    if (context_name(st, root, context, &kc->context) < 0)
        return -1;
    if (find_entry(st, root, "contexts", "context", kc->context, &found, &ctx) <
        0)
        return -1;
    if (!found) {
        st->missing = true;
        st->named = st->source != NULL;
        return wl_error_set(st->err, 0, "context \"%s\" not found%s%s",
                            kc->context, st->source ? " in " : "",
                            st->source ? st->source : "");
    }
    if (ctx && (map_dup_str(st, ctx, "cluster", &cluster_name, NULL) < 0 ||
                map_dup_str(st, ctx, "user", &user_name, NULL) < 0 ||
                map_dup_str(st, ctx, "namespace", &kc->namespace_, NULL) < 0))
        return wl_error_prefix(st->err, "context \"%s\"", kc->context);
    if (!cluster_name)
        return wl_error_set(st->err, 0, "context \"%s\" has no cluster",
                            kc->context);

    if (find_entry(st, root, "clusters", "cluster", cluster_name, &found,
                   &cluster) < 0)
        return -1;
    if (!found) {
        st->missing = true;
        return wl_error_set(st->err, 0,
                            "context \"%s\" refers to cluster \"%s\", which "
                            "is not defined",
                            kc->context, cluster_name);
    }
    if (resolve_cluster(st, cluster, kc) < 0)
        return wl_error_prefix(st->err, "cluster \"%s\"", cluster_name);

    if (!user_name)
        return 0;
    if (find_entry(st, root, "users", "user", user_name, &found, &user) < 0)
        return -1;
    if (!found) {
        st->missing = true;
        return wl_error_set(st->err, 0,
                            "context \"%s\" refers to user \"%s\", which is "
                            "not defined",
                            kc->context, user_name);
    }
    if (resolve_user(st, user, kc) < 0)
        return wl_error_prefix(st->err, "user \"%s\"", user_name);
    return 0;
}

/* ------------------------------------------------------------ parsing */

/* Parses len bytes of yaml and resolves context into *ret. */
static int parse(struct parse_state *st, const char *yaml, size_t len,
                 const char *context, struct wl_kubeconfig **ret)
{
    _cleanup_(wl_fyaml_clear) struct wl_fyaml y = {0};
    _cleanup_(wl_kubeconfig_freep) struct wl_kubeconfig *kc = NULL;
    _cleanup_free_ char *kind = NULL;

    if (len > WL_KUBECONFIG_MAX_SIZE)
        return wl_error_set(st->err, 0,
                            "kubeconfig is %zu bytes, over the limit of %d",
                            len, WL_KUBECONFIG_MAX_SIZE);
    if (len == 0)
        return wl_error_set(st->err, 0, "kubeconfig is empty");
    if (wl_fyaml_load(yaml, len, "kubeconfig", &y, st->err) < 0)
        return -1;
    st->y = &y;
    struct fy_node *root = fy_document_root(y.doc);
    if (wl_fyaml_is_unset(root))
        return wl_error_set(st->err, 0, "kubeconfig is empty");
    if (node_check_kind(root, FYNT_MAPPING, "kubeconfig", st->err) < 0)
        return -1;
    if (map_dup_str(st, root, "kind", &kind, NULL) < 0)
        return -1;
    if (kind && strcmp(kind, "Config") != 0)
        return wl_error_set(
            st->err, 0, "kind is \"%s\", not Config: not a kubeconfig", kind);

    kc = calloc(1, sizeof(*kc));
    if (!kc)
        return wl_error_set(st->err, ENOMEM, "kubeconfig");
    if (resolve(st, root, context, kc) < 0)
        return -1;
    *ret = TAKE_PTR(kc);
    return 0;
}

int wl_kubeconfig_parse(const char *yaml, size_t len, const char *base_dir,
                        const char *context, struct wl_kubeconfig **ret,
                        struct wl_error *err)
{
    struct parse_state st = {.base_dir = base_dir, .err = err};
    return parse(&st, yaml, len, context, ret);
}

/* The file client-go would read first: the first entry of $KUBECONFIG,
 * else ~/.kube/config. *ret_entries counts $KUBECONFIG's entries. */
static int default_path(char **ret, size_t *ret_entries, struct wl_error *err)
{
    const char *env = getenv("KUBECONFIG");
    const char *first = NULL;
    size_t first_len = 0, entries = 0;

    for (const char *p = env; p && *p;) {
        size_t n = strcspn(p, ":");
        if (n > 0 && entries++ == 0) {
            first = p;
            first_len = n;
        }
        p += n + (p[n] == ':');
    }
    if (first) {
        if (!(*ret = strndup(first, first_len)))
            return wl_error_set(err, ENOMEM, "kubeconfig path");
        *ret_entries = entries;
        return 0;
    }

    const char *home = getenv("HOME");
    if (!home || !*home)
        return wl_error_set(err, 0,
                            "no kubeconfig: neither $KUBECONFIG nor $HOME is "
                            "set");
    if (asprintf(ret, "%s/.kube/config", home) < 0)
        return wl_error_set(err, ENOMEM, "kubeconfig path");
    *ret_entries = 0;
    return 0;
}

int wl_kubeconfig_load(const char *path, const char *context,
                       struct wl_kubeconfig **ret, struct wl_error *err)
{
    _cleanup_free_ char *env_path = NULL;
    _cleanup_free_ char *dir = NULL;
    _cleanup_free_ uint8_t *data = NULL;
    size_t len = 0, entries = 0;

    if (!path) {
        if (default_path(&env_path, &entries, err) < 0)
            return -1;
        path = env_path;
    }
    if (wl_file_read(AT_FDCWD, path, WL_KUBECONFIG_MAX_SIZE, &data, &len, err) <
        0)
        return -1;
    if (!(dir = strdup(path)))
        return wl_error_set(err, ENOMEM, "kubeconfig %s", path);

    struct parse_state st = {
        .base_dir = dirname(dir),
        .source = path,
        .err = err,
    };
    if (parse(&st, (const char *)data, len, context, ret) == 0)
        return 0;
    if (!st.named)
        (void)wl_error_prefix(err, "%s", path);
    if (st.missing && entries > 1 && err && err->msg)
        return wl_error_set(err, 0,
                            "%s ($KUBECONFIG lists %zu files; only the first "
                            "is read, merging several files is not supported)",
                            err->msg, entries);
    return -1;
}

/* ------------------------------------------------------------ writing */

/* name, server and token become YAML double-quoted strings; printable ASCII
 * needs no escaping there besides '"' and '\'. */
static int check_printable(const char *s, const char *what,
                           struct wl_error *err)
{
    if (!s || !*s)
        return wl_error_set(err, 0, "%s is empty", what);
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e)
            return wl_error_set(err, 0,
                                "%s contains a character that is not "
                                "printable ASCII",
                                what);
    return 0;
}

static void put_quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void put_field(FILE *f, const char *indent, const char *key,
                      const char *value)
{
    fprintf(f, "%s%s: ", indent, key);
    put_quoted(f, value);
    fputc('\n', f);
}

static void put_data(FILE *f, const char *key, const char *pem)
{
    fprintf(f, "    %s: ", key);
    base64_encode(f, pem, strlen(pem));
    fputc('\n', f);
}

static void put_kubeconfig(FILE *f, const char *name, const char *server,
                           const char *ca_pem, const char *cert_pem,
                           const char *key_pem, const char *token)
{
    fputs("apiVersion: v1\nkind: Config\nclusters:\n", f);
    put_field(f, "- ", "name", name);
    fputs("  cluster:\n", f);
    put_field(f, "    ", "server", server);
    if (ca_pem)
        put_data(f, "certificate-authority-data", ca_pem);
    fputs("contexts:\n", f);
    put_field(f, "- ", "name", name);
    fputs("  context:\n", f);
    put_field(f, "    ", "cluster", name);
    put_field(f, "    ", "user", name);
    put_field(f, "", "current-context", name);
    fputs("users:\n", f);
    put_field(f, "- ", "name", name);
    if (!cert_pem && !token) {
        fputs("  user: {}\n", f);
        return;
    }
    fputs("  user:\n", f);
    if (cert_pem) {
        put_data(f, "client-certificate-data", cert_pem);
        put_data(f, "client-key-data", key_pem);
    }
    if (token)
        put_field(f, "    ", "token", token);
}

int wl_kubeconfig_write(const char *path, const char *name, const char *server,
                        const char *ca_pem, const char *cert_pem,
                        const char *key_pem, const char *token,
                        struct wl_error *err)
{
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;

    if (check_printable(name, "name", err) < 0 ||
        check_printable(server, "server", err) < 0 ||
        (token && check_printable(token, "token", err) < 0))
        return wl_error_prefix(err, "write kubeconfig %s", path);
    if (!cert_pem != !key_pem)
        return wl_error_set(err, 0,
                            "write kubeconfig %s: a client certificate and "
                            "key go together",
                            path);
    /* An empty PEM would be written as an empty field, which reads back as
     * not set. */
    if ((ca_pem && !*ca_pem) || (cert_pem && !*cert_pem) ||
        (key_pem && !*key_pem))
        return wl_error_set(err, 0, "write kubeconfig %s: empty PEM", path);

    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return wl_error_set(err, errno, "write kubeconfig %s", path);
    put_kubeconfig(f, name, server, ca_pem, cert_pem, key_pem, token);
    bool failed = ferror(f);
    if (fclose(f) != 0 || failed)
        return wl_error_set(err, ENOMEM, "write kubeconfig %s", path);
    if (len > WL_KUBECONFIG_MAX_SIZE)
        return wl_error_set(err, 0,
                            "write kubeconfig %s: %zu bytes is over the limit "
                            "of %d",
                            path, len, WL_KUBECONFIG_MAX_SIZE);
    return wl_file_write_atomic(AT_FDCWD, path, buf, len, 0600, err);
}
