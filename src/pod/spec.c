#include "pod/spec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/quantity.h"
#include "util/cleanup.h"

/* JSON paths in messages are built from our own field names and indices
 * bounded by the WL_POD_MAX_* limits, so they fit easily. */
#define PATH_MAX_LEN 128

/* Formats a JSON path for messages into buf (PATH_MAX_LEN bytes). */
static void path_fmt(char *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void path_fmt(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(buf, PATH_MAX_LEN, fmt, ap);
    va_end(ap);
}

/* ---- typed field readers: absent or null means unset ---- */

static int get_str(const json_t *o, const char *key, const char *path,
                   bool required, char **ret, struct wl_error *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required)
            return wl_error_set(err, 0, "%s: %s missing", path, key);
        *ret = NULL;
        return 0;
    }
    if (!json_is_string(v))
        return wl_error_set(err, 0, "%s.%s: expected a string", path, key);
    if (required && json_string_length(v) == 0)
        return wl_error_set(err, 0, "%s: %s missing", path, key);
    /* C strings end at a NUL: "a\u0000b" must not quietly become "a". */
    if (strlen(json_string_value(v)) != json_string_length(v))
        return wl_error_set(err, 0, "%s.%s: contains a NUL character", path,
                            key);
    char *s = strndup(json_string_value(v), json_string_length(v));
    if (!s)
        return wl_error_set(err, 0, "out of memory");
    *ret = s;
    return 0;
}

static int get_bool(const json_t *o, const char *key, const char *path,
                    bool *ret, struct wl_error *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *ret = false;
        return 0;
    }
    if (!json_is_boolean(v))
        return wl_error_set(err, 0, "%s.%s: expected true or false", path, key);
    *ret = json_is_true(v);
    return 0;
}

/* An integer field, def when unset; values below min are errors. */
static int get_int(const json_t *o, const char *key, const char *path,
                   int64_t def, int64_t min, int64_t *ret, struct wl_error *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *ret = def;
        return 0;
    }
    if (!json_is_integer(v))
        return wl_error_set(err, 0, "%s.%s: expected an integer", path, key);
    int64_t n = (int64_t)json_integer_value(v);
    if (n < min)
        return wl_error_set(err, 0, "%s.%s: %" PRId64 " is less than %" PRId64,
                            path, key, n, min);
    *ret = n;
    return 0;
}

/* An object field; *ret is NULL when unset. */
static int get_object(const json_t *o, const char *key, const char *path,
                      const json_t **ret, struct wl_error *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *ret = NULL;
        return 0;
    }
    if (!json_is_object(v))
        return wl_error_set(err, 0, "%s.%s: expected an object", path, key);
    *ret = v;
    return 0;
}

/* An array field of at most max items; *ret is NULL when unset. */
static int get_array(const json_t *o, const char *key, const char *path,
                     size_t max, const json_t **ret, struct wl_error *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *ret = NULL;
        return 0;
    }
    if (!json_is_array(v))
        return wl_error_set(err, 0, "%s.%s: expected an array", path, key);
    if (json_array_size(v) > max)
        return wl_error_set(err, 0,
                            "%s.%s: %zu items, more than the limit "
                            "of %zu",
                            path, key, json_array_size(v), max);
    *ret = v;
    return 0;
}

/* The array element at path[i] as an object. */
static int item_object(const json_t *arr, size_t i, const char *path,
                       const json_t **ret, struct wl_error *err)
{
    const json_t *v = json_array_get(arr, i);
    if (!json_is_object(v))
        return wl_error_set(err, 0, "%s: expected an object", path);
    *ret = v;
    return 0;
}

/* calloc for n items of size sz, NULL-safe for n == 0 (returns NULL). */
static int alloc_items(size_t n, size_t sz, void *ret, struct wl_error *err)
{
    void *p = NULL;
    if (n > 0 && !(p = calloc(n, sz)))
        return wl_error_set(err, 0, "out of memory");
    *(void **)ret = p;
    return 0;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* An array of strings (command, args). */
static int get_strv(const json_t *o, const char *key, const char *path,
                    char ***ret, size_t *ret_n, struct wl_error *err)
{
    const json_t *arr = NULL;
    if (get_array(o, key, path, WL_POD_MAX_ARGS, &arr, err) < 0)
        return -1;
    size_t n = json_array_size(arr); /* 0 for NULL */
    char **v = NULL;
    if (alloc_items(n, sizeof(*v), &v, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_array_get(arr, i);
        if (!json_is_string(s)) {
            strv_free(v, n);
            return wl_error_set(err, 0, "%s.%s[%zu]: expected a string", path,
                                key, i);
        }
        if (strlen(json_string_value(s)) != json_string_length(s)) {
            strv_free(v, n);
            return wl_error_set(err, 0, "%s.%s[%zu]: contains a NUL character",
                                path, key, i);
        }
        v[i] = strndup(json_string_value(s), json_string_length(s));
        if (!v[i]) {
            strv_free(v, n);
            return wl_error_set(err, 0, "out of memory");
        }
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

/* A Quantity field's text. The API server always sends strings; a static
 * pod's YAML may carry plain numbers, which Kubernetes accepts too. */
static int get_quantity_text(const json_t *o, const char *key, const char *path,
                             char **ret, struct wl_error *err)
{
    const json_t *v = json_object_get(o, key);
    char num[64];
    if (json_is_integer(v)) {
        (void)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                       json_integer_value(v));
    } else if (json_is_real(v)) {
        (void)snprintf(num, sizeof(num), "%.17g", json_real_value(v));
    } else {
        if (get_str(o, key, path, false, ret, err) < 0)
            return wl_error_set(err, 0, "%s.%s: expected a quantity", path,
                                key);
        return 0;
    }
    char *s = strdup(num);
    if (!s)
        return wl_error_set(err, 0, "out of memory");
    *ret = s;
    return 0;
}

/* ---- env ---- */

static void env_var_clear(struct wl_env_var *e)
{
    free(e->name);
    free(e->value);
    free(e->ref_name);
    free(e->ref_key);
    free(e->field_path);
    free(e->resource);
    free(e->container_name);
    free(e->divisor);
}

static int parse_key_ref(const json_t *ref, const char *path,
                         struct wl_env_var *e, struct wl_error *err)
{
    if (get_str(ref, "name", path, true, &e->ref_name, err) < 0 ||
        get_str(ref, "key", path, true, &e->ref_key, err) < 0 ||
        get_bool(ref, "optional", path, &e->optional, err) < 0)
        return -1;
    return 0;
}

/* valueFrom: exactly one of the four selectors (EnvVarSource). */
static int parse_value_from(const json_t *from, const char *path,
                            struct wl_env_var *e, struct wl_error *err)
{
    static const struct {
        const char *key;
        enum wl_env_source source;
    } kinds[] = {
        {"configMapKeyRef", WL_ENV_CONFIGMAP_KEY},
        {"secretKeyRef", WL_ENV_SECRET_KEY},
        {"fieldRef", WL_ENV_FIELD},
        {"resourceFieldRef", WL_ENV_RESOURCE},
    };
    const json_t *ref = NULL;
    const char *ref_key = NULL;
    for (size_t k = 0; k < WL_ARRAY_SIZE(kinds); k++) {
        const json_t *v = NULL;
        if (get_object(from, kinds[k].key, path, &v, err) < 0)
            return -1;
        if (!v)
            continue;
        if (ref)
            return wl_error_set(err, 0, "%s: both %s and %s set", path, ref_key,
                                kinds[k].key);
        ref = v;
        ref_key = kinds[k].key;
        e->source = kinds[k].source;
    }
    if (!ref)
        return wl_error_set(err, 0,
                            "%s: no configMapKeyRef, secretKeyRef, "
                            "fieldRef or resourceFieldRef",
                            path);

    char sub[PATH_MAX_LEN];
    path_fmt(sub, "%s.%s", path, ref_key);
    switch (e->source) {
    case WL_ENV_CONFIGMAP_KEY:
    case WL_ENV_SECRET_KEY:
        return parse_key_ref(ref, sub, e, err);
    case WL_ENV_FIELD:
        return get_str(ref, "fieldPath", sub, true, &e->field_path, err);
    case WL_ENV_RESOURCE:
        if (get_str(ref, "resource", sub, true, &e->resource, err) < 0 ||
            get_str(ref, "containerName", sub, false, &e->container_name, err) <
                0 ||
            get_quantity_text(ref, "divisor", sub, &e->divisor, err) < 0)
            return -1;
        return 0;
    case WL_ENV_VALUE:
        break;
    }
    return 0;
}

static int parse_env_var(const json_t *o, const char *path,
                         struct wl_env_var *e, struct wl_error *err)
{
    if (get_str(o, "name", path, true, &e->name, err) < 0 ||
        get_str(o, "value", path, false, &e->value, err) < 0)
        return -1;
    const json_t *from = NULL;
    char sub[PATH_MAX_LEN];
    path_fmt(sub, "%s.valueFrom", path);
    if (get_object(o, "valueFrom", path, &from, err) < 0)
        return -1;
    if (from) {
        if (e->value && *e->value)
            return wl_error_set(err, 0, "%s: both value and valueFrom set",
                                path);
        free(TAKE_PTR(e->value));
        return parse_value_from(from, sub, e, err);
    }
    e->source = WL_ENV_VALUE;
    if (!e->value && !(e->value = strdup("")))
        return wl_error_set(err, 0, "out of memory");
    return 0;
}

static int parse_env_from(const json_t *o, const char *path,
                          struct wl_env_from *e, struct wl_error *err)
{
    const json_t *cm = NULL, *sec = NULL;
    if (get_str(o, "prefix", path, false, &e->prefix, err) < 0 ||
        get_object(o, "configMapRef", path, &cm, err) < 0 ||
        get_object(o, "secretRef", path, &sec, err) < 0)
        return -1;
    if (cm && sec)
        return wl_error_set(err, 0, "%s: both configMapRef and secretRef set",
                            path);
    if (!cm && !sec)
        return wl_error_set(err, 0, "%s: no configMapRef or secretRef", path);
    e->is_secret = sec != NULL;
    char sub[PATH_MAX_LEN];
    path_fmt(sub, "%s.%s", path, sec ? "secretRef" : "configMapRef");
    const json_t *ref = sec ? sec : cm;
    if (get_str(ref, "name", sub, true, &e->name, err) < 0 ||
        get_bool(ref, "optional", sub, &e->optional, err) < 0)
        return -1;
    return 0;
}

/* ---- containers ---- */

static void container_clear(struct wl_container *c)
{
    free(c->name);
    free(c->image);
    strv_free(c->command, c->ncommand);
    strv_free(c->args, c->nargs);
    for (size_t i = 0; c->env && i < c->nenv; i++)
        env_var_clear(&c->env[i]);
    free(c->env);
    for (size_t i = 0; c->env_from && i < c->nenv_from; i++) {
        free(c->env_from[i].prefix);
        free(c->env_from[i].name);
    }
    free(c->env_from);
    for (size_t i = 0; c->mounts && i < c->nmounts; i++) {
        free(c->mounts[i].name);
        free(c->mounts[i].mount_path);
        free(c->mounts[i].sub_path);
        free(c->mounts[i].sub_path_expr);
    }
    free(c->mounts);
    for (size_t i = 0; c->ports && i < c->nports; i++) {
        free(c->ports[i].name);
        free(c->ports[i].protocol);
    }
    free(c->ports);
    free(c->image_pull_policy);
    free(c->restart_policy);
    free(c->working_dir);
    free(c->termination_message_path);
    free(c->termination_message_policy);
}

static int parse_env_list(const json_t *o, const char *path,
                          struct wl_container *c, struct wl_error *err)
{
    const json_t *arr = NULL;
    if (get_array(o, "env", path, WL_POD_MAX_ENV, &arr, err) < 0)
        return -1;
    size_t n = json_array_size(arr);
    if (alloc_items(n, sizeof(*c->env), &c->env, err) < 0)
        return -1;
    c->nenv = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *item = NULL;
        char sub[PATH_MAX_LEN];
        path_fmt(sub, "%s.env[%zu]", path, i);
        if (item_object(arr, i, sub, &item, err) < 0 ||
            parse_env_var(item, sub, &c->env[i], err) < 0)
            return -1;
    }

    if (get_array(o, "envFrom", path, WL_POD_MAX_ENV_FROM, &arr, err) < 0)
        return -1;
    n = json_array_size(arr);
    if (alloc_items(n, sizeof(*c->env_from), &c->env_from, err) < 0)
        return -1;
    c->nenv_from = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *item = NULL;
        char sub[PATH_MAX_LEN];
        path_fmt(sub, "%s.envFrom[%zu]", path, i);
        if (item_object(arr, i, sub, &item, err) < 0 ||
            parse_env_from(item, sub, &c->env_from[i], err) < 0)
            return -1;
    }
    return 0;
}

static const struct wl_volume *find_volume(const struct wl_pod_spec *s,
                                           const char *name)
{
    for (size_t i = 0; i < s->nvolumes; i++)
        if (strcmp(s->volumes[i].name, name) == 0)
            return &s->volumes[i];
    return NULL;
}

static int parse_mounts(const json_t *o, const char *path,
                        const struct wl_pod_spec *s, struct wl_container *c,
                        struct wl_error *err)
{
    const json_t *arr = NULL;
    if (get_array(o, "volumeMounts", path, WL_POD_MAX_MOUNTS, &arr, err) < 0)
        return -1;
    size_t n = json_array_size(arr);
    if (alloc_items(n, sizeof(*c->mounts), &c->mounts, err) < 0)
        return -1;
    c->nmounts = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *item = NULL;
        struct wl_volume_mount *m = &c->mounts[i];
        char sub[PATH_MAX_LEN];
        path_fmt(sub, "%s.volumeMounts[%zu]", path, i);
        if (item_object(arr, i, sub, &item, err) < 0 ||
            get_str(item, "name", sub, true, &m->name, err) < 0 ||
            get_str(item, "mountPath", sub, true, &m->mount_path, err) < 0 ||
            get_bool(item, "readOnly", sub, &m->read_only, err) < 0 ||
            get_str(item, "subPath", sub, false, &m->sub_path, err) < 0 ||
            get_str(item, "subPathExpr", sub, false, &m->sub_path_expr,
                    err) < 0)
            return -1;
        if (m->sub_path && *m->sub_path && m->sub_path_expr &&
            *m->sub_path_expr)
            return wl_error_set(err, 0, "%s: subPath and subPathExpr are "
                                        "mutually exclusive", sub);
        if (!find_volume(s, m->name))
            return wl_error_set(err, 0, "%s: volume \"%s\" not found", sub,
                                m->name);
    }
    return 0;
}

static int parse_ports(const json_t *o, const char *path,
                       struct wl_container *c, struct wl_error *err)
{
    const json_t *arr = NULL;
    if (get_array(o, "ports", path, WL_POD_MAX_PORTS, &arr, err) < 0)
        return -1;
    size_t n = json_array_size(arr);
    if (alloc_items(n, sizeof(*c->ports), &c->ports, err) < 0)
        return -1;
    c->nports = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *item = NULL;
        struct wl_container_port *p = &c->ports[i];
        char sub[PATH_MAX_LEN];
        path_fmt(sub, "%s.ports[%zu]", path, i);
        if (item_object(arr, i, sub, &item, err) < 0 ||
            get_str(item, "name", sub, false, &p->name, err) < 0 ||
            get_int(item, "containerPort", sub, 0, 0, &p->container_port, err) <
                0 ||
            get_int(item, "hostPort", sub, 0, 0, &p->host_port, err) < 0 ||
            get_str(item, "protocol", sub, false, &p->protocol, err) < 0)
            return -1;
    }
    return 0;
}

/* resources.limits.memory / .cpu; requests do not bound a module. */
static int parse_limits(const json_t *o, const char *path,
                        struct wl_container *c, struct wl_error *err)
{
    const json_t *res = NULL, *limits = NULL;
    char sub[PATH_MAX_LEN];
    path_fmt(sub, "%s.resources", path);
    if (get_object(o, "resources", path, &res, err) < 0)
        return -1;
    if (!res)
        return 0;
    if (get_object(res, "limits", sub, &limits, err) < 0)
        return -1;
    if (!limits)
        return 0;
    path_fmt(sub, "%s.resources.limits", path);

    _cleanup_free_ char *mem = NULL, *cpu = NULL;
    if (get_quantity_text(limits, "memory", sub, &mem, err) < 0 ||
        get_quantity_text(limits, "cpu", sub, &cpu, err) < 0)
        return -1;
    if (mem && wl_quantity_parse_bytes(mem, &c->memory_limit, err) < 0)
        return wl_error_prefix(err, "%s.memory", sub);
    if (cpu && wl_quantity_parse_millis(cpu, &c->cpu_limit_millis, err) < 0)
        return wl_error_prefix(err, "%s.cpu", sub);
    return 0;
}

static int check_one_of(const char *v, const char *path, const char *key,
                        const char *const *allowed, size_t n,
                        const char *expected, struct wl_error *err)
{
    if (!v)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(v, allowed[i]) == 0)
            return 0;
    return wl_error_set(err, 0, "%s.%s: \"%s\" is not %s", path, key, v,
                        expected);
}

static const char *const pull_policies[] = {"Always", "IfNotPresent", "Never"};

static const char *const message_policies[] = {"File",
                                               "FallbackToLogsOnError"};

static int parse_container(const json_t *o, const char *path,
                           const struct wl_pod_spec *s, struct wl_container *c,
                           struct wl_error *err)
{
    const json_t *sc = NULL;
    char sub[PATH_MAX_LEN];
    path_fmt(sub, "%s.securityContext", path);
    if (get_str(o, "name", path, true, &c->name, err) < 0 ||
        get_str(o, "image", path, true, &c->image, err) < 0 ||
        get_strv(o, "command", path, &c->command, &c->ncommand, err) < 0 ||
        get_strv(o, "args", path, &c->args, &c->nargs, err) < 0 ||
        parse_env_list(o, path, c, err) < 0 ||
        parse_mounts(o, path, s, c, err) < 0 ||
        parse_ports(o, path, c, err) < 0 || parse_limits(o, path, c, err) < 0 ||
        get_str(o, "imagePullPolicy", path, false, &c->image_pull_policy, err) <
            0 ||
        check_one_of(c->image_pull_policy, path, "imagePullPolicy",
                     pull_policies, WL_ARRAY_SIZE(pull_policies),
                     "Always, IfNotPresent or Never", err) < 0 ||
        get_str(o, "workingDir", path, false, &c->working_dir, err) < 0 ||
        get_str(o, "restartPolicy", path, false, &c->restart_policy, err) <
            0 ||
        get_str(o, "terminationMessagePath", path, false,
                &c->termination_message_path, err) < 0 ||
        get_str(o, "terminationMessagePolicy", path, false,
                &c->termination_message_policy, err) < 0 ||
        check_one_of(c->termination_message_policy, path,
                     "terminationMessagePolicy", message_policies,
                     WL_ARRAY_SIZE(message_policies),
                     "File or FallbackToLogsOnError", err) < 0 ||
        get_object(o, "securityContext", path, &sc, err) < 0)
        return -1;
    if (sc && get_bool(sc, "privileged", sub, &c->privileged, err) < 0)
        return -1;
    /* The API server's defaults (SetDefaults_Container). */
    if ((!c->termination_message_path &&
         !(c->termination_message_path = strdup("/dev/termination-log"))) ||
        (!c->termination_message_policy &&
         !(c->termination_message_policy = strdup("File"))))
        return wl_error_set(err, ENOMEM, "%s", path);
    return 0;
}

/* Container names are unique across containers and initContainers, as the
 * API server's validation requires: statuses are keyed by them. */
static int check_unique_name(const struct wl_pod_spec *s, const char *path,
                             const char *name, const struct wl_container *self,
                             struct wl_error *err)
{
    for (size_t i = 0; i < s->ninit; i++)
        if (&s->init_containers[i] != self && s->init_containers[i].name &&
            strcmp(s->init_containers[i].name, name) == 0)
            goto dup;
    for (size_t i = 0; i < s->ncontainers; i++)
        if (&s->containers[i] != self && s->containers[i].name &&
            strcmp(s->containers[i].name, name) == 0)
            goto dup;
    return 0;
dup:
    return wl_error_set(err, 0, "%s: duplicate container name \"%s\"", path,
                        name);
}

static int parse_containers(const json_t *spec, const char *key,
                            struct wl_pod_spec *s, struct wl_container **ret,
                            size_t *ret_n, struct wl_error *err)
{
    const json_t *arr = NULL;
    if (get_array(spec, key, "spec", WL_POD_MAX_CONTAINERS, &arr, err) < 0)
        return -1;
    size_t n = json_array_size(arr);
    if (alloc_items(n, sizeof(**ret), ret, err) < 0)
        return -1;
    *ret_n = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *item = NULL;
        char path[PATH_MAX_LEN];
        path_fmt(path, "spec.%s[%zu]", key, i);
        if (item_object(arr, i, path, &item, err) < 0 ||
            parse_container(item, path, s, &(*ret)[i], err) < 0 ||
            check_unique_name(s, path, (*ret)[i].name, &(*ret)[i], err) < 0)
            return -1;
    }
    return 0;
}

/* ---- volumes ---- */

static const struct {
    const char *key;
    enum wl_volume_type type;
} volume_types[] = {
    {"emptyDir", WL_VOL_EMPTYDIR},   {"configMap", WL_VOL_CONFIGMAP},
    {"secret", WL_VOL_SECRET},       {"hostPath", WL_VOL_HOSTPATH},
    {"projected", WL_VOL_PROJECTED}, {"downwardAPI", WL_VOL_DOWNWARDAPI},
};

static enum wl_volume_type volume_type_of(const char *key)
{
    for (size_t i = 0; i < WL_ARRAY_SIZE(volume_types); i++)
        if (strcmp(key, volume_types[i].key) == 0)
            return volume_types[i].type;
    return WL_VOL_UNSUPPORTED;
}

/* Every key of a Volume but "name" is a source (VolumeSource is inlined);
 * exactly one must be set. Unknown ones are kept for admission to name. */
static int parse_volume(const json_t *o, const char *path, struct wl_volume *v,
                        struct wl_error *err)
{
    if (get_str(o, "name", path, true, &v->name, err) < 0)
        return -1;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)o, key, val)
    {
        if (strcmp(key, "name") == 0 || json_is_null(val))
            continue;
        if (v->type_name)
            return wl_error_set(err, 0,
                                "%s: more than one volume source "
                                "(%s, %s)",
                                path, v->type_name, key);
        if (!json_is_object(val))
            return wl_error_set(err, 0, "%s.%s: expected an object", path, key);
        if (!(v->type_name = strdup(key)))
            return wl_error_set(err, 0, "out of memory");
        v->type = volume_type_of(key);
        v->source = json_incref(val);
    }
    if (!v->type_name)
        return wl_error_set(err, 0, "%s: no volume source", path);
    return 0;
}

static int parse_volumes(const json_t *spec, struct wl_pod_spec *s,
                         struct wl_error *err)
{
    const json_t *arr = NULL;
    if (get_array(spec, "volumes", "spec", WL_POD_MAX_VOLUMES, &arr, err) < 0)
        return -1;
    size_t n = json_array_size(arr);
    if (alloc_items(n, sizeof(*s->volumes), &s->volumes, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const json_t *item = NULL;
        char path[PATH_MAX_LEN];
        path_fmt(path, "spec.volumes[%zu]", i);
        s->nvolumes = i + 1; /* so a half-built one is freed */
        if (item_object(arr, i, path, &item, err) < 0 ||
            parse_volume(item, path, &s->volumes[i], err) < 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->volumes[j].name, s->volumes[i].name) == 0)
                return wl_error_set(err, 0,
                                    "%s: duplicate volume name "
                                    "\"%s\"",
                                    path, s->volumes[i].name);
    }
    return 0;
}

static int parse_pull_secrets(const json_t *spec, struct wl_pod_spec *s,
                              struct wl_error *err)
{
    const json_t *arr = NULL;
    if (get_array(spec, "imagePullSecrets", "spec", WL_POD_MAX_PULL_SECRETS,
                  &arr, err) < 0)
        return -1;
    size_t n = json_array_size(arr);
    if (alloc_items(n, sizeof(*s->image_pull_secrets), &s->image_pull_secrets,
                    err) < 0)
        return -1;
    s->npull_secrets = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *item = NULL;
        char path[PATH_MAX_LEN];
        path_fmt(path, "spec.imagePullSecrets[%zu]", i);
        if (item_object(arr, i, path, &item, err) < 0 ||
            get_str(item, "name", path, true, &s->image_pull_secrets[i], err) <
                0)
            return -1;
    }
    return 0;
}

/* ---- the pod ---- */

static const char *const restart_policies[] = {"Always", "OnFailure", "Never"};

static int parse_metadata(const json_t *pod, struct wl_pod_spec *s,
                          struct wl_error *err)
{
    const json_t *md = NULL;
    if (get_object(pod, "metadata", "pod", &md, err) < 0)
        return -1;
    if (!md)
        return wl_error_set(err, 0, "metadata: missing");
    char *ts = NULL;
    if (get_str(md, "name", "metadata", true, &s->name, err) < 0 ||
        get_str(md, "namespace", "metadata", false, &s->namespace_, err) < 0 ||
        get_str(md, "uid", "metadata", false, &s->uid, err) < 0 ||
        get_str(md, "resourceVersion", "metadata", false, &s->resource_version,
                err) < 0 ||
        get_str(md, "deletionTimestamp", "metadata", false, &ts, err) < 0)
        return -1;
    s->deleting = ts != NULL;
    free(ts);
    /* Static pods have no namespace field; the kubelet puts them in
     * "default" unless the manifest says otherwise. */
    if (!s->namespace_ && !(s->namespace_ = strdup("default")))
        return wl_error_set(err, 0, "out of memory");
    return 0;
}

static int parse_spec_fields(const json_t *spec, struct wl_pod_spec *s,
                             struct wl_error *err)
{
    const json_t *eph = NULL;
    if (get_str(spec, "nodeName", "spec", false, &s->node_name, err) < 0 ||
        get_str(spec, "restartPolicy", "spec", false, &s->restart_policy, err) <
            0 ||
        check_one_of(s->restart_policy, "spec", "restartPolicy",
                     restart_policies, WL_ARRAY_SIZE(restart_policies),
                     "Always, OnFailure or Never", err) < 0 ||
        get_int(spec, "terminationGracePeriodSeconds", "spec",
                WL_POD_DEFAULT_GRACE_S, 0, &s->termination_grace_s, err) < 0 ||
        get_int(spec, "activeDeadlineSeconds", "spec", -1, 1,
                &s->active_deadline_s, err) < 0 ||
        get_str(spec, "serviceAccountName", "spec", false, &s->service_account,
                err) < 0 ||
        get_str(spec, "runtimeClassName", "spec", false, &s->runtime_class,
                err) < 0 ||
        get_bool(spec, "hostNetwork", "spec", &s->host_network, err) < 0 ||
        get_bool(spec, "hostPID", "spec", &s->host_pid, err) < 0 ||
        get_bool(spec, "hostIPC", "spec", &s->host_ipc, err) < 0 ||
        get_array(spec, "ephemeralContainers", "spec", WL_POD_MAX_CONTAINERS,
                  &eph, err) < 0)
        return -1;
    s->nephemeral = json_array_size(eph);
    if (!s->restart_policy && !(s->restart_policy = strdup("Always")))
        return wl_error_set(err, 0, "out of memory");
    /* "" is the default RuntimeClass, as no name (the kubelet's
     * LookupRuntimeHandler). */
    if (s->runtime_class && !*s->runtime_class) {
        free(s->runtime_class);
        s->runtime_class = NULL;
    }
    /* serviceAccount is the deprecated spelling, still honoured. */
    if (!s->service_account && get_str(spec, "serviceAccount", "spec", false,
                                       &s->service_account, err) < 0)
        return -1;
    return 0;
}

int wl_pod_spec_parse(const json_t *pod, struct wl_pod_spec **ret,
                      struct wl_error *err)
{
    if (!json_is_object(pod))
        return wl_error_set(err, 0, "pod: expected a JSON object");
    struct wl_pod_spec *s = calloc(1, sizeof(*s));
    if (!s)
        return wl_error_set(err, 0, "out of memory");

    const json_t *spec = NULL, *md = NULL, *containers = NULL;
    if (parse_metadata(pod, s, err) < 0 ||
        get_object(pod, "spec", "pod", &spec, err) < 0)
        goto fail;
    if (!spec) {
        wl_error_set(err, 0, "spec: missing");
        goto fail;
    }
    if (parse_spec_fields(spec, s, err) < 0 ||
        parse_volumes(spec, s, err) < 0 || parse_pull_secrets(spec, s, err) < 0)
        goto fail;
    md = json_object_get(pod, "metadata");
    if (get_int(md, "deletionGracePeriodSeconds", "metadata",
                s->termination_grace_s, 0, &s->deletion_grace_s, err) < 0)
        goto fail;

    if (get_array(spec, "containers", "spec", WL_POD_MAX_CONTAINERS,
                  &containers, err) < 0)
        goto fail;
    if (json_array_size(containers) == 0) {
        wl_error_set(err, 0,
                     "spec.containers: a pod needs at least one "
                     "container");
        goto fail;
    }
    if (parse_containers(spec, "initContainers", s, &s->init_containers,
                         &s->ninit, err) < 0 ||
        parse_containers(spec, "containers", s, &s->containers, &s->ncontainers,
                         err) < 0)
        goto fail;
    *ret = s;
    return 0;
fail:
    wl_pod_spec_free(s);
    return -1;
}

void wl_pod_spec_free(struct wl_pod_spec *s)
{
    if (!s)
        return;
    free(s->namespace_);
    free(s->name);
    free(s->uid);
    free(s->resource_version);
    free(s->node_name);
    free(s->restart_policy);
    for (size_t i = 0; s->init_containers && i < s->ninit; i++)
        container_clear(&s->init_containers[i]);
    free(s->init_containers);
    for (size_t i = 0; s->containers && i < s->ncontainers; i++)
        container_clear(&s->containers[i]);
    free(s->containers);
    for (size_t i = 0; s->volumes && i < s->nvolumes; i++) {
        free(s->volumes[i].name);
        free(s->volumes[i].type_name);
        json_decref(s->volumes[i].source);
    }
    free(s->volumes);
    strv_free(s->image_pull_secrets, s->npull_secrets);
    free(s->service_account);
    free(s->runtime_class);
    free(s);
}

/* ---- admission ---- */

static int unsupported(const char **ret_reason)
{
    *ret_reason = WL_POD_REASON_UNSUPPORTED;
    return -1;
}

static int admit_container(const struct wl_container *c, const char *kind,
                           const char **ret_reason, struct wl_error *err)
{
    if (c->privileged) {
        wl_error_set(err, 0,
                     "%s \"%s\": securityContext.privileged is not "
                     "supported by wasmlet",
                     kind, c->name);
        return unsupported(ret_reason);
    }
    /* An init container may say restartPolicy Always (a sidecar); any
     * other container-level policy (an alpha API) is refused by name. */
    if (c->restart_policy && *c->restart_policy &&
        !(strcmp(kind, "init container") == 0 &&
          strcmp(c->restart_policy, "Always") == 0)) {
        wl_error_set(err, 0,
                     "%s \"%s\": restartPolicy %s is not supported by "
                     "wasmlet",
                     kind, c->name, c->restart_policy);
        return unsupported(ret_reason);
    }
    for (size_t i = 0; i < c->nports; i++) {
        if (c->ports[i].host_port == 0)
            continue;
        /* Wasm modules share the node's network namespace; there is no
         * per-pod network to forward a host port into. */
        wl_error_set(err, 0,
                     "%s \"%s\": ports[%zu].hostPort %" PRId64
                     " is not supported by wasmlet",
                     kind, c->name, i, c->ports[i].host_port);
        return unsupported(ret_reason);
    }
    return 0;
}

/* Projected sources the volume manager writes; the others
 * (clusterTrustBundle, podCertificate, ...) are refused by name. */
static int admit_projected(const struct wl_volume *v, const char **ret_reason,
                           struct wl_error *err)
{
    static const char *const known[] = {"configMap", "secret", "downwardAPI",
                                        "serviceAccountToken"};
    size_t i;
    json_t *src;
    json_array_foreach(json_object_get(v->source, "sources"), i, src) {
        const char *key;
        json_t *val;
        json_object_foreach(src, key, val) {
            bool ok = json_is_null(val);
            for (size_t k = 0; !ok && k < WL_ARRAY_SIZE(known); k++)
                ok = strcmp(key, known[k]) == 0;
            if (ok)
                continue;
            wl_error_set(err, 0,
                         "volume \"%s\": projected source %s "
                         "(sources[%zu]) is not supported by wasmlet",
                         v->name, key, i);
            return unsupported(ret_reason);
        }
    }
    return 0;
}

int wl_pod_admit(const struct wl_pod_spec *s, size_t running_pods,
                 long max_pods, const char **ret_reason, struct wl_error *err)
{
    static const struct {
        size_t offset;
        const char *msg;
    } host_ns[] = {
        {offsetof(struct wl_pod_spec, host_network),
         "spec.hostNetwork: host networking is not supported by wasmlet"},
        {offsetof(struct wl_pod_spec, host_pid),
         "spec.hostPID: the host PID namespace is not supported by wasmlet"},
        {offsetof(struct wl_pod_spec, host_ipc),
         "spec.hostIPC: the host IPC namespace is not supported by wasmlet"},
    };
    for (size_t i = 0; i < WL_ARRAY_SIZE(host_ns); i++) {
        if (*(const bool *)((const char *)s + host_ns[i].offset)) {
            wl_error_set(err, 0, "%s", host_ns[i].msg);
            return unsupported(ret_reason);
        }
    }
    if (s->nephemeral > 0) {
        wl_error_set(err, 0,
                     "spec.ephemeralContainers: ephemeral containers "
                     "are not supported by wasmlet");
        return unsupported(ret_reason);
    }
    for (size_t i = 0; i < s->ninit; i++)
        if (admit_container(&s->init_containers[i], "init container",
                            ret_reason, err) < 0)
            return -1;
    for (size_t i = 0; i < s->ncontainers; i++)
        if (admit_container(&s->containers[i], "container", ret_reason, err) <
            0)
            return -1;
    for (size_t i = 0; i < s->nvolumes; i++) {
        if (s->volumes[i].type == WL_VOL_PROJECTED &&
            admit_projected(&s->volumes[i], ret_reason, err) < 0)
            return -1;
        if (s->volumes[i].type != WL_VOL_UNSUPPORTED)
            continue;
        wl_error_set(err, 0,
                     "volume \"%s\": %s volumes are not supported "
                     "by wasmlet",
                     s->volumes[i].name, s->volumes[i].type_name);
        return unsupported(ret_reason);
    }
    /* The kubelet's resource-fit message for the pod count, word for word
     * (predicate InsufficientResourceError). */
    if (max_pods > 0 && running_pods >= (size_t)max_pods) {
        wl_error_set(err, 0,
                     "Node didn't have enough resource: pods, "
                     "requested: 1, used: %zu, capacity: %ld",
                     running_pods, max_pods);
        *ret_reason = WL_POD_REASON_OUT_OF_PODS;
        return -1;
    }
    return 0;
}

/* What each field would need that a WASI module does not have. */
static const char *const ignored_container_fields[] = {
    "livenessProbe", "readinessProbe", "startupProbe", /* no way in */
    "lifecycle",                                       /* no hooks */
    "stdin", "stdinOnce", "tty",                       /* no terminal */
};
static const char *const ignored_pod_fields[] = {
    "hostAliases", "shareProcessNamespace", "readinessGates", "dnsConfig",
};

static int add_field(char **list, const char *path)
{
    char *more = NULL;
    if (asprintf(&more, "%s%s%s", *list ? *list : "", *list ? ", " : "",
                 path) < 0)
        return -1;
    free(*list);
    *list = more;
    return 0;
}

/* A field counts when present and not its zero value (false, "", {}). */
static bool field_set(const json_t *v)
{
    return v && !json_is_null(v) && !json_is_false(v) &&
           !(json_is_string(v) && !*json_string_value(v)) &&
           !(json_is_object(v) && json_object_size(v) == 0) &&
           !(json_is_array(v) && json_array_size(v) == 0);
}

char *wl_pod_ignored_fields(const json_t *pod)
{
    const json_t *spec = json_object_get(pod, "spec");
    char *list = NULL, path[160];
    static const char *const kinds[] = {"initContainers", "containers"};
    for (size_t k = 0; k < WL_ARRAY_SIZE(kinds); k++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(spec, kinds[k]), i, c) {
            for (size_t f = 0; f < WL_ARRAY_SIZE(ignored_container_fields);
                 f++) {
                if (!field_set(json_object_get(c, ignored_container_fields[f])))
                    continue;
                snprintf(path, sizeof(path), "spec.%s[%zu].%s", kinds[k], i,
                         ignored_container_fields[f]);
                if (add_field(&list, path) < 0)
                    goto oom;
            }
            /* WASI has no working directory to set: "/" is all it means */
            const char *wd = json_string_value(json_object_get(c, "workingDir"));
            if (wd && *wd && strcmp(wd, "/") != 0) {
                snprintf(path, sizeof(path), "spec.%s[%zu].workingDir", kinds[k],
                         i);
                if (add_field(&list, path) < 0)
                    goto oom;
            }
        }
    }
    for (size_t f = 0; f < WL_ARRAY_SIZE(ignored_pod_fields); f++) {
        if (!field_set(json_object_get(spec, ignored_pod_fields[f])))
            continue;
        snprintf(path, sizeof(path), "spec.%s", ignored_pod_fields[f]);
        if (add_field(&list, path) < 0)
            goto oom;
    }
    if (list) {
        char *sentence = NULL;
        if (asprintf(&sentence, "%s: not supported by wasmlet, ignored",
                     list) < 0)
            goto oom;
        free(list);
        return sentence;
    }
    return NULL;
oom:
    free(list);
    return NULL;
}
