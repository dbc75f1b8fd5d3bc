#include "pod/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "version.h" /* WL_VERSION, generated */
#include "kube/quantity.h"
#include "pod/events.h"
#include "pod/expand.h"
#include "pod/fieldref.h"
#include "pod/atomic_writer.h"
#include "pod/objects.h"
#include "pod/runrecord.h"
#include "pod/runtimeclass.h"
#include "pod/spec.h"
#include "pod/termmsg.h"
#include "pod/writer.h"
#include "runtime/module_cache.h"
#include "util/base64.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

void wl_pod_msg_free(void *p)
{
    struct wl_pod_msg *m = p;
    if (!m)
        return;
    if (m->snapshot) /* never reached the owner */
        wl_snapshot_req_answer(m->snapshot, NULL);
    json_decref(m->obj);
    free(m->uid);
    free(m->image_id);
    free(m->message);
    free(m->term_message);
    wl_run_result_clear(&m->result);
    free(m);
}

/* State of one run, freed at the end of wl_runner_main. */
struct run {
    struct wl_runner_job *job;
    struct wl_pod_spec *spec;
    const struct wl_container *c;
    struct wl_kube_client *client;
    char field_path[300];
    /* the environment, in order */
    char **names, **values;
    size_t nenv;
    struct wl_preopen *preopens;
    size_t npreopens;
    char **argv;
    size_t argc;
    char *pod_dir;
    /* wasmlet run POD.yaml's file image, read once: hashed and compiled
     * from these very bytes (local_image) */
    uint8_t *local_wasm;
    size_t local_len;
};

static void run_clear(struct run *r)
{
    for (size_t i = 0; i < r->nenv; i++) {
        free(r->names[i]);
        free(r->values[i]);
    }
    free(r->names);
    free(r->values);
    for (size_t i = 0; i < r->npreopens; i++)
        free((char *)r->preopens[i].host_path);
    free(r->preopens);
    for (size_t i = 0; i < r->argc; i++)
        free(r->argv[i]);
    free(r->argv);
    free(r->pod_dir);
    free(r->local_wasm);
    wl_kube_client_free(r->client);
    wl_pod_spec_free(r->spec);
}

static struct wl_pod_msg *msg_new(struct run *r, enum wl_pod_msg_kind kind)
{
    struct wl_pod_msg *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->kind = kind;
    m->uid = strdup(r->spec->uid ? r->spec->uid : "");
    m->is_init = r->job->is_init;
    m->index = r->job->index;
    m->run_id = r->job->run_id;
    m->when = time(NULL);
    return m;
}

static void send_msg(struct run *r, struct wl_pod_msg *m)
{
    if (!m || wl_queue_push(r->job->queue, m) < 0)
        wl_pod_msg_free(m); /* the manager is gone: nobody to tell */
}

/* The container could not be started: tell the manager why. */
static void send_failure(struct run *r, const char *reason, const char *msg)
{
    struct wl_pod_msg *m = msg_new(r, WL_MSG_EXITED);
    if (m) {
        m->ran = false;
        m->reason = reason;
        m->message = strdup(msg);
    }
    send_msg(r, m);
}

/* An Event about the run's pod, posted by the pod writer thread. */
#define run_event(r, ...)                                                      \
    wl_pod_writer_eventf((r)->job->writer, (r)->job->cfg->node_name,         \
                         (r)->job->pod, __VA_ARGS__)

/* The API client, made on first use: most runs never need one. */
static struct wl_kube_client *client_of(struct run *r, struct wl_error *err)
{
    if (!r->client)
        (void)wl_kube_client_from_creds(r->job->cfg->creds,
                                        "wasmlet/" WL_VERSION, &r->client,
                                        NULL, err);
    return r->client;
}

/* ---- environment ---- */

static const char *lookup_env(void *ud, const char *name, size_t len)
{
    struct run *r = ud;
    for (size_t i = r->nenv; i-- > 0;)
        if (strlen(r->names[i]) == len && memcmp(r->names[i], name, len) == 0)
            return r->values[i];
    return NULL;
}

static int env_add(struct run *r, const char *name, char *value_taken,
                   struct wl_error *err)
{
    char **n = realloc(r->names, (r->nenv + 1) * sizeof(*n));
    char **v = n ? realloc(r->values, (r->nenv + 1) * sizeof(*v)) : NULL;
    if (n)
        r->names = n;
    if (v)
        r->values = v;
    char *copy = strdup(name);
    if (!n || !v || !copy) {
        free(copy);
        free(value_taken);
        return wl_error_set(err, ENOMEM, "env");
    }
    r->names[r->nenv] = copy;
    r->values[r->nenv] = value_taken;
    r->nenv++;
    return 0;
}

/* GET a ConfigMap or Secret of the pod's namespace; *ret NULL when it
 * does not exist. */
static int get_object(struct run *r, bool secret, const char *name,
                      json_t **ret, struct wl_error *err)
{
    struct wl_kube_client *c = client_of(r, err);
    *ret = NULL;
    return c ? wl_pod_get_object(c, r->spec->namespace_, secret, name, ret,
                                 err)
             : -1;
}

/* A key's value as an environment variable's. */
static int object_value(const json_t *obj, bool secret, const char *key,
                        char **ret, struct wl_error *err)
{
    size_t len = 0;
    return wl_pod_object_value(obj, secret, key, ret, &len, err);
}

static int env_from_ref(struct run *r, const struct wl_env_var *e,
                        struct wl_error *err)
{
    bool secret = e->source == WL_ENV_SECRET_KEY;
    const char *kind = secret ? "secret" : "configmap";
    json_t *obj = NULL;
    char *value = NULL;
    if (get_object(r, secret, e->ref_name, &obj, err) < 0)
        return -1;
    int rc = obj ? object_value(obj, secret, e->ref_key, &value, err) : 0;
    json_decref(obj);
    if (rc < 0)
        return -1;
    if (!value) {
        if (e->optional)
            return 0;
        return wl_error_set(err, 0, obj ? "couldn't find key %s in %s %s/%s"
                                        : "%s%s %s/%s not found",
                            obj ? e->ref_key : "", kind, r->spec->namespace_,
                            e->ref_name);
    }
    return env_add(r, e->name, value, err);
}

static int env_from_field(struct run *r, const struct wl_env_var *e,
                          struct wl_error *err)
{
    const json_t *pod = r->job->pod;
    const char *f = e->field_path, *v = NULL;
    const char *ip = r->job->cfg->node_ip;

    if (strcmp(f, "metadata.name") == 0)
        v = r->spec->name;
    else if (strcmp(f, "metadata.namespace") == 0)
        v = r->spec->namespace_;
    else if (strcmp(f, "metadata.uid") == 0)
        v = r->spec->uid ? r->spec->uid : "";
    else if (strcmp(f, "spec.nodeName") == 0)
        v = r->job->cfg->node_name;
    else if (strcmp(f, "spec.serviceAccountName") == 0)
        v = r->spec->service_account ? r->spec->service_account : "";
    else if (!strcmp(f, "status.hostIP") || !strcmp(f, "status.podIP") ||
             !strcmp(f, "status.hostIPs") || !strcmp(f, "status.podIPs"))
        v = ip; /* wasm pods share the node's network for now */
    else
        v = wl_fieldref_map_value(pod, f);
    if (!v)
        return wl_error_set(err, 0, "env %s: fieldRef %s is not supported",
                            e->name, f);
    char *copy = strdup(v);
    return copy ? env_add(r, e->name, copy, err)
                : wl_error_set(err, ENOMEM, "env");
}

static int env_from_resource(struct run *r, const struct wl_env_var *e,
                             struct wl_error *err)
{
    const struct wl_container *c = r->c;
    int64_t value, divisor = 1;
    char *out = NULL;

    if (strcmp(e->resource, "limits.memory") == 0) {
        if (e->divisor && wl_quantity_parse_bytes(e->divisor, &divisor, err) < 0)
            return -1;
        value = c->memory_limit;
    } else if (strcmp(e->resource, "limits.cpu") == 0) {
        /* millicores over a divisor in millicores ("1" = 1000) */
        if (e->divisor && wl_quantity_parse_millis(e->divisor, &divisor, err) < 0)
            return -1;
        if (!e->divisor)
            divisor = 1000;
        value = c->cpu_limit_millis;
    } else {
        return wl_error_set(err, 0, "env %s: resourceFieldRef %s is not "
                                    "supported",
                            e->name, e->resource);
    }
    if (divisor <= 0)
        return wl_error_set(err, 0, "env %s: divisor must be positive",
                            e->name);
    /* As Kubernetes: rounded up; no limit set reports 0 here (the
     * kubelet would report the node's allocatable). */
    if (asprintf(&out, "%lld",
                 (long long)((value + divisor - 1) / divisor)) < 0)
        return wl_error_set(err, ENOMEM, "env");
    return env_add(r, e->name, out, err);
}

static bool valid_env_name(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
            return false;
    return true;
}

static int env_from_source(struct run *r, const struct wl_env_from *f,
                           struct wl_error *err)
{
    json_t *obj = NULL;
    if (get_object(r, f->is_secret, f->name, &obj, err) < 0)
        return -1;
    if (!obj) {
        if (f->optional)
            return 0;
        return wl_error_set(err, 0, "%s %s/%s not found",
                            f->is_secret ? "secret" : "configmap",
                            r->spec->namespace_, f->name);
    }
    const char *key;
    json_t *v;
    int rc = 0;
    json_object_foreach(json_object_get(obj, "data"), key, v) {
        _cleanup_free_ char *name = NULL;
        char *value = NULL;
        if (asprintf(&name, "%s%s", f->prefix ? f->prefix : "", key) < 0) {
            rc = wl_error_set(err, ENOMEM, "env");
            break;
        }
        if (!valid_env_name(name))
            continue; /* as the kubelet: skipped (and reported below) */
        if ((rc = object_value(obj, f->is_secret, key, &value, err)) < 0 ||
            (rc = env_add(r, name, value, err)) < 0)
            break;
    }
    json_decref(obj);
    return rc;
}

static int build_env(struct run *r, struct wl_error *err)
{
    const struct wl_container *c = r->c;
    /* envFrom first, then env (which wins on a clash, being later). */
    for (size_t i = 0; i < c->nenv_from; i++)
        if (env_from_source(r, &c->env_from[i], err) < 0)
            return -1;
    for (size_t i = 0; i < c->nenv; i++) {
        const struct wl_env_var *e = &c->env[i];
        int rc;
        switch (e->source) {
        case WL_ENV_VALUE: {
            char *v = wl_expand(e->value, lookup_env, r);
            rc = v ? env_add(r, e->name, v, err)
                   : wl_error_set(err, ENOMEM, "env");
            break;
        }
        case WL_ENV_CONFIGMAP_KEY:
        case WL_ENV_SECRET_KEY:
            rc = env_from_ref(r, e, err);
            break;
        case WL_ENV_FIELD:
            rc = env_from_field(r, e, err);
            break;
        case WL_ENV_RESOURCE:
            rc = env_from_resource(r, e, err);
            break;
        default:
            rc = wl_error_set(err, 0, "env %s: unknown source", e->name);
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- argv, volumes ---- */

static int build_argv(struct run *r, struct wl_error *err)
{
    const struct wl_container *c = r->c;
    size_t n = (c->ncommand ? c->ncommand : 1) + c->nargs;
    r->argv = calloc(n, sizeof(char *));
    if (!r->argv)
        return wl_error_set(err, ENOMEM, "argv");
    /* argv[0]: command[0] when given, else the image name. */
    const char *first = c->ncommand ? c->command[0] : c->image;
    r->argv[r->argc++] = wl_expand(first, lookup_env, r);
    for (size_t i = 1; i < c->ncommand; i++)
        r->argv[r->argc++] = wl_expand(c->command[i], lookup_env, r);
    for (size_t i = 0; i < c->nargs; i++)
        r->argv[r->argc++] = wl_expand(c->args[i], lookup_env, r);
    for (size_t i = 0; i < r->argc; i++)
        if (!r->argv[i])
            return wl_error_set(err, ENOMEM, "argv");
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

/* hostPath.type as the kubelet checks it. WASI preopens only directories,
 * so the file-like types cannot be mounted at all. */
static int hostpath_check(const struct wl_volume *v, const char *path,
                          struct wl_error *err)
{
    static const char *const file_types[] = {"FileOrCreate", "File",
                                             "Socket", "CharDevice",
                                             "BlockDevice"};
    const char *type = wl_json_str(v->source, "type", NULL);
    struct stat st;
    if (!type || !*type)
        return 0; /* no check */
    for (size_t i = 0; i < WL_ARRAY_SIZE(file_types); i++)
        if (!strcmp(type, file_types[i]))
            return wl_error_set(err, 0, "volume \"%s\": hostPath type %s is "
                                        "not supported: WASI can only "
                                        "preopen directories",
                                v->name, type);
    bool create = !strcmp(type, "DirectoryOrCreate");
    if (!create && strcmp(type, "Directory") != 0)
        return wl_error_set(err, 0, "volume \"%s\": hostPath type \"%s\" "
                                    "is not valid",
                            v->name, type);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    if (create && errno == ENOENT) {
        if (wl_mkdir_p(path, 0755, err) < 0)
            return wl_error_prefix(err, "volume \"%s\"", v->name);
        return chmod(path, 0755) < 0
                   ? wl_error_set(err, errno, "volume \"%s\": chmod %s",
                                  v->name, path)
                   : 0;
    }
    return wl_error_set(err, 0, "volume \"%s\": hostPath type check "
                                "failed: %s is not a directory",
                        v->name, path);
}

/* The host directory behind a volume, malloc'd in *ret; read_only set for
 * the kinds the kubelet mounts read-only. */
static int volume_host(struct run *r, const struct wl_volume *v, char **ret,
                       bool *read_only, struct wl_error *err)
{
    struct stat st;
    char *host = NULL;
    switch (v->type) {
    case WL_VOL_HOSTPATH: {
        const char *p = wl_json_str(v->source, "path", NULL);
        if (!p)
            return wl_error_set(err, 0, "hostPath %s: no path", v->name);
        if (hostpath_check(v, p, err) < 0)
            return -1;
        return (*ret = strdup(p)) ? 0 : wl_error_set(err, ENOMEM, "volumes");
    }
    case WL_VOL_EMPTYDIR:
    case WL_VOL_CONFIGMAP:
    case WL_VOL_SECRET:
    case WL_VOL_DOWNWARDAPI:
    case WL_VOL_PROJECTED:
        break;
    default:
        return wl_error_set(err, 0, "volume \"%s\": %s volumes are not "
                                    "supported yet by wasmlet",
                            v->name, v->type_name);
    }
    if (asprintf(&host, "%s/volumes/%s", r->pod_dir, v->name) < 0)
        return wl_error_set(err, ENOMEM, "volumes");
    if (v->type == WL_VOL_EMPTYDIR) {
        if (wl_mkdir_p(host, 0750, err) < 0) {
            free(host);
            return -1;
        }
    } else {
        /* Written by the volume manager before any container starts. */
        *read_only = true;
        if (stat(host, &st) < 0 || !S_ISDIR(st.st_mode)) {
            free(host);
            return wl_error_set(err, 0, "volume \"%s\": not mounted yet",
                                v->name);
        }
    }
    *ret = host;
    return 0;
}

/* A volumeMount's subPath (or subPathExpr, expanded with the container's
 * environment) narrows *host to that directory of the volume. It must be
 * a relative path without ".." that stays inside the volume after
 * symlinks, and a directory (WASI preopens only directories); a missing
 * one is created in writable volumes, as the kubelet does. */
static int sub_path(struct run *r, const struct wl_volume_mount *vm,
                    const struct wl_volume *v, char **host,
                    struct wl_error *err)
{
    _cleanup_free_ char *expanded = NULL, *full = NULL, *root = NULL,
                        *real = NULL;
    const char *sub = vm->sub_path;
    if (vm->sub_path_expr && *vm->sub_path_expr) {
        if (!(expanded = wl_expand(vm->sub_path_expr, lookup_env, r)))
            return wl_error_set(err, ENOMEM, "subPathExpr");
        sub = expanded;
    }
    if (!sub || !*sub)
        return 0;
    if (wl_aw_check_path(sub, err) < 0)
        return wl_error_prefix(err, "volumeMount %s: subPath", vm->name);
    if (asprintf(&full, "%s/%s", *host, sub) < 0)
        return wl_error_set(err, ENOMEM, "subPath");
    bool writable = v->type == WL_VOL_EMPTYDIR || v->type == WL_VOL_HOSTPATH;
    if (writable && !vm->read_only && wl_mkdir_p(full, 0750, err) < 0)
        return wl_error_prefix(err, "volumeMount %s: subPath %s", vm->name,
                               sub);
    struct stat st;
    if (!(root = realpath(*host, NULL)) || !(real = realpath(full, NULL)) ||
        stat(real, &st) < 0)
        return wl_error_set(err, errno, "volumeMount %s: subPath %s",
                            vm->name, sub);
    size_t n = strlen(root);
    if (strncmp(real, root, n) != 0 || (real[n] != '/' && real[n] != '\0'))
        return wl_error_set(err, 0, "volumeMount %s: subPath %s leads out "
                                    "of the volume",
                            vm->name, sub);
    if (!S_ISDIR(st.st_mode))
        return wl_error_set(err, 0, "volumeMount %s: subPath %s is not a "
                                    "directory: WASI can only preopen "
                                    "directories",
                            vm->name, sub);
    free(*host);
    *host = TAKE_PTR(real);
    return 0;
}

static int build_volumes(struct run *r, struct wl_error *err)
{
    const struct wl_container *c = r->c;
    r->preopens = calloc(c->nmounts ? c->nmounts : 1, sizeof(*r->preopens));
    if (!r->preopens)
        return wl_error_set(err, ENOMEM, "volumes");
    for (size_t i = 0; i < c->nmounts; i++) {
        const struct wl_volume_mount *vm = &c->mounts[i];
        const struct wl_volume *v = find_volume(r->spec, vm->name);
        char *host = NULL;
        bool read_only = vm->read_only;
        if (!v)
            return wl_error_set(err, 0, "volume \"%s\" not found", vm->name);
        if (volume_host(r, v, &host, &read_only, err) < 0)
            return -1;
        if (sub_path(r, vm, v, &host, err) < 0) {
            free(host);
            return -1;
        }
        r->preopens[r->npreopens++] = (struct wl_preopen){
            .host_path = host, .guest_path = vm->mount_path,
            .read_only = read_only};
    }
    return 0;
}

/* terminationMessagePath: a file the guest can write, in a directory of
 * this run preopened at the path's directory, unless a volume is mounted
 * there (pod/termmsg.h). Added after the volumes: WASI resolves a path by
 * the longest matching preopen, so a volume deeper under it (/dev/shm)
 * still wins for its own paths. */
static int termination_file(struct run *r, const char *ctr_dir,
                            struct wl_termmsg *tm, struct wl_error *err)
{
    if (wl_termmsg_prepare(ctr_dir, r->job->restart,
                           r->c->termination_message_path, r->preopens,
                           r->npreopens, tm, err) < 0)
        return -1;
    if (!tm->host_dir)
        return 0;
    struct wl_preopen *p =
        realloc(r->preopens, (r->npreopens + 1) * sizeof(*p));
    char *host = p ? strdup(tm->host_dir) : NULL;
    if (p)
        r->preopens = p;
    if (!host)
        return wl_error_set(err, ENOMEM, "termination message");
    r->preopens[r->npreopens++] = (struct wl_preopen){
        .host_path = host, .guest_path = tm->guest_dir, .read_only = false};
    return 0;
}

/* ---- pull ---- */

/* Docker config documents from the pod's imagePullSecrets; missing ones
 * are reported as the kubelet does and skipped. */
static void pull_secrets(struct run *r, char ***docs, size_t **lens,
                         size_t *n)
{
    *docs = calloc(r->spec->npull_secrets + 1, sizeof(char *));
    *lens = calloc(r->spec->npull_secrets + 1, sizeof(size_t));
    *n = 0;
    if (!*docs || !*lens)
        return;
    for (size_t i = 0; i < r->spec->npull_secrets; i++) {
        struct wl_error err = WL_ERROR_INIT;
        json_t *s = NULL;
        const char *name = r->spec->image_pull_secrets[i];
        if (get_object(r, true, name, &s, &err) < 0 || !s) {
            run_event(r, NULL, true, "FailedToRetrieveImagePullSecret",
                      "Unable to retrieve some image pull secrets (%s); "
                      "attempting to pull the image may not succeed.",
                      name);
            wl_error_clear(&err);
            json_decref(s);
            continue;
        }
        const char *data = wl_json_str(s, "data", ".dockerconfigjson", NULL);
        if (!data)
            data = wl_json_str(s, "data", ".dockercfg", NULL);
        char *doc = NULL;
        size_t len = 0;
        if (data && wl_base64_decode(data, strlen(data), name, &doc, &len,
                                     &err) == 0) {
            (*docs)[*n] = doc;
            (*lens)[*n] = len;
            (*n)++;
        }
        wl_error_clear(&err);
        json_decref(s);
    }
}

/* Whether the container's image is in the store already. */
static bool image_present(struct run *r)
{
    char **keep = NULL;
    size_t n = 0;
    struct wl_error err = WL_ERROR_INIT;
    (void)wl_puller_image_blobs(r->job->cfg->puller, r->c->image, &keep, &n,
                                &err);
    wl_error_clear(&err);
    for (size_t i = 0; i < n; i++)
        free(keep[i]);
    free(keep);
    return n > 0;
}

static enum wl_pull_policy pull_policy(const struct wl_container *c)
{
    enum wl_pull_policy policy = wl_pull_policy_default(c->image);
    if (c->image_pull_policy)
        (void)wl_pull_policy_parse(c->image_pull_policy, &policy);
    return policy;
}

static int do_pull(struct run *r, struct wl_pull_result *res,
                   struct wl_error *err)
{
    const struct wl_container *c = r->c;
    enum wl_pull_policy policy = pull_policy(c);
    char **docs = NULL;
    size_t *lens = NULL, n = 0;
    pull_secrets(r, &docs, &lens, &n);
    struct wl_pull_auth auth = {.docker_configs = (const char *const *)docs,
                                .docker_config_lens = lens, .n = n};
    /* As the kubelet: "Pulling" only when the registry is asked. */
    if (policy == WL_PULL_ALWAYS ||
        (policy == WL_PULL_IF_NOT_PRESENT && !image_present(r)))
        run_event(r, r->field_path, false, "Pulling", "Pulling image \"%s\"",
                  c->image);
    double t0 = wl_now_s();
    int rc = wl_puller_pull(r->job->cfg->puller, c->image, policy, &auth, res,
                            err);
    for (size_t i = 0; i < n; i++) {
        explicit_bzero(docs[i], lens[i]);
        free(docs[i]);
    }
    free(docs);
    free(lens);
    if (rc < 0)
        return -1;
    if (res->cached)
        run_event(r, r->field_path, false, "Pulled",
                  "Container image \"%s\" already present on machine",
                  c->image);
    else
        run_event(r, r->field_path, false, "Pulled",
                  "Successfully pulled image \"%s\" in %.3fs. "
                  "Image size: %llu bytes.",
                  c->image, wl_now_s() - t0,
                  (unsigned long long)res->module_size);
    return 0;
}

/* wasmlet run POD.yaml (cfg->local_images): an image that is an absolute
 * path is the .wasm file itself; pod/standalone.c checked it when it
 * loaded the manifest. Its digest keys the compiled-module cache, so the
 * bytes hashed are kept (r->local_wasm) and compiled: a second read could
 * find another module swapped in, cached under this one's digest. */
static int local_image(struct run *r, struct wl_pull_result *res,
                       struct wl_error *err)
{
    _cleanup_free_ uint8_t *wasm = NULL;
    size_t len = 0;
    char digest[80];
    if (wl_file_read(AT_FDCWD, r->c->image, WL_MODULE_MAX_BYTES, &wasm, &len,
                     err) < 0)
        return -1;
    if (wl_digest_of(wasm, len, digest, err) < 0)
        return wl_error_prefix(err, "image %s", r->c->image);
    res->module_size = len;
    res->cached = true;
    if (!(res->module_digest = strdup(digest)) ||
        !(res->module_path = strdup(r->c->image)) ||
        asprintf(&res->image_id, "file://%s@%s", r->c->image, digest) < 0) {
        res->image_id = NULL;
        wl_pull_result_clear(res);
        return wl_error_set(err, ENOMEM, "image %s", r->c->image);
    }
    free(r->local_wasm);
    r->local_wasm = TAKE_PTR(wasm);
    r->local_len = len;
    return 0;
}

static int get_image(struct run *r, struct wl_pull_result *res,
                     struct wl_error *err)
{
    if (r->job->cfg->local_images && r->c->image[0] == '/')
        return local_image(r, res, err);
    return do_pull(r, res, err);
}

/* wasmlet run POD.yaml shows the container's output as it logs it. */
static int echo_output(struct run *r, struct wl_cri_log *log,
                       struct wl_error *err)
{
    const struct wl_pod_manager_config *cfg = r->job->cfg;
    _cleanup_free_ char *prefix = NULL;
    if (!cfg->echo_logs)
        return 0;
    if (asprintf(&prefix, "[%s/%s] ", r->spec->name, r->c->name) < 0)
        return wl_error_set(err, ENOMEM, "log");
    return wl_cri_log_echo(log, cfg->echo_prefix ? prefix : "", err);
}

/* ---- the run ---- */

/* The compiled module, from the cache's memory, its files (under
 * <data_dir>/modules/compiled for serve), or a compile (see
 * runtime/module_cache.h). */
static int load_module(struct run *r, const struct wl_pull_result *pulled,
                       struct wl_module **ret, struct wl_error *err)
{
    const struct wl_pod_manager_config *cfg = r->job->cfg;
    enum wl_module_source how;

    int rc = r->local_wasm
                 ? wl_module_load_bytes(cfg->modules, pulled->module_digest,
                                        r->local_wasm, r->local_len, ret, &how,
                                        err)
                 : wl_module_load(cfg->modules, pulled->module_digest,
                                  pulled->module_path, ret, &how, err);
    if (rc < 0)
        return -1;
    log_info("module loaded pod=%s/%s container=%s digest=%s source=%s",
             r->spec->namespace_, r->spec->name, r->c->name,
             pulled->module_digest, wl_module_source_name(how));
    return 0;
}

/* spec.runtimeClassName (pod/runtimeclass.h), checked first as the
 * kubelet checks it when it makes the pod's sandbox. */
static int runtime_class_ok(struct run *r, struct wl_error *err)
{
    struct wl_kube_client *client = NULL;
    if (!r->spec->runtime_class)
        return 0;
    if (r->job->cfg->creds && !(client = client_of(r, err)))
        return -1;
    return wl_runtime_class_check(client, r->spec->runtime_class, err);
}

static void runner(struct run *r)
{
    struct wl_runner_job *job = r->job;
    const struct wl_pod_manager_config *cfg = job->cfg;
    struct wl_error err = WL_ERROR_INIT;
    struct wl_pull_result pulled = {0};
    struct wl_module *module = NULL;
    struct wl_cri_log *log = NULL;
    struct wl_termmsg tm = {0};
    _cleanup_free_ char *log_path = NULL, *ctr_dir = NULL, *tmsg = NULL;

    if (runtime_class_ok(r, &err) < 0) {
        /* The kubelet's Event; the container waits and is tried again. */
        run_event(r, NULL, true, "FailedCreatePodSandBox",
                  "Failed to create pod sandbox: %s", err.msg);
        send_failure(r, "ContainerCreating", err.msg);
        goto out;
    }
    if (get_image(r, &pulled, &err) < 0) {
        if (pull_policy(r->c) == WL_PULL_NEVER) {
            /* The kubelet's words and reason for it. */
            char msg[600];
            snprintf(msg, sizeof(msg), "Container image \"%s\" is not "
                     "present with pull policy of Never", r->c->image);
            run_event(r, r->field_path, true, "ErrImageNeverPull", "%s", msg);
            send_failure(r, "ErrImageNeverPull", msg);
            goto out;
        }
        run_event(r, r->field_path, true, "Failed",
                  "Failed to pull image \"%s\": %s", r->c->image, err.msg);
        send_failure(r, "ErrImagePull", err.msg);
        goto out;
    }
    if (build_env(r, &err) < 0 || build_volumes(r, &err) < 0 ||
        build_argv(r, &err) < 0) {
        run_event(r, r->field_path, true, "Failed", "Error: %s", err.msg);
        send_failure(r, "CreateContainerConfigError", err.msg);
        goto out;
    }
    if (asprintf(&ctr_dir, "%s/%s", r->pod_dir, r->c->name) < 0 ||
        wl_mkdir_p(ctr_dir, 0750, &err) < 0 ||
        asprintf(&log_path, "%s/%u.log", ctr_dir, job->restart) < 0) {
        send_failure(r, "CreateContainerError", "cannot create the log dir");
        goto out;
    }
    /* Like the kubelet, keep the logs of this run and the one before. */
    if (job->restart >= 2)
        wl_run_record_prune(ctr_dir, job->restart - 1);
    if (termination_file(r, ctr_dir, &tm, &err) < 0 ||
        load_module(r, &pulled, &module, &err) < 0 ||
        wl_cri_log_open(log_path, &cfg->log_opts, &log, &err) < 0 ||
        echo_output(r, log, &err) < 0) {
        run_event(r, r->field_path, true, "Failed", "Error: %s", err.msg);
        send_failure(r, "CreateContainerError", err.msg);
        goto out;
    }

    struct wl_pod_msg *started = msg_new(r, WL_MSG_STARTED);
    if (started)
        started->image_id = strdup(pulled.image_id);
    send_msg(r, started);

    struct wl_run_spec spec = {
        .argv = (const char *const *)r->argv,
        .argc = r->argc,
        .env_names = (const char *const *)r->names,
        .env_values = (const char *const *)r->values,
        .envc = r->nenv,
        .preopens = r->preopens,
        .npreopens = r->npreopens,
        .log = log,
        .memory_limit = r->c->memory_limit,
        .cpu_limit_millis = r->c->cpu_limit_millis,
        .cancel = job->cancel,
        .stats = job->stats,
    };
    struct wl_pod_msg *done = msg_new(r, WL_MSG_EXITED);
    struct wl_run_result res = {0};
    time_t started_at = time(NULL);
    int run_rc = wl_run(cfg->engine, module, &spec, &res, &err);
    int log_errno = 0;
    unsigned long lost = wl_cri_log_failures(log, &log_errno);
    if (lost) {
        log_warning("container log pod=%s/%s container=%s: %lu writes "
                    "failed: %s",
                    r->spec->namespace_, r->spec->name, r->c->name, lost,
                    strerror(log_errno));
        run_event(r, r->field_path, true, "FailedLogWrite",
                  "%lu writes to the container's log failed (%s): part of "
                  "its output is lost",
                  lost, strerror(log_errno));
    }
    /* The log is complete (a last partial line flushed) before n.exit says
     * the run ended: a `logs -f` reader stops at n.exit. */
    wl_cri_log_close(log);
    log = NULL;
    /* The kubelet reads the termination message once the container
     * exited; a container that could not run has none (nor logs). */
    if (run_rc == 0)
        tmsg = wl_termmsg_of_run(
            &tm, ctr_dir, job->restart,
            !strcmp(r->c->termination_message_policy, "FallbackToLogsOnError"),
            res.kind != WL_EXIT_CODE || res.exit_code != 0 || res.oom);
    /* How the run ended, for a wasmlet that restarts after a crash
     * (pod/runrecord.h); the log file already says it began. */
    struct wl_error rec_err = WL_ERROR_INIT;
    if (wl_run_record_write(ctr_dir, job->restart, run_rc < 0 ? NULL : &res,
                            err.msg, tmsg, started_at, time(NULL),
                            &rec_err) < 0) {
        log_warning("run record pod=%s/%s container=%s: %s",
                    r->spec->namespace_, r->spec->name, r->c->name,
                    rec_err.msg);
        wl_error_clear(&rec_err);
    }
    if (run_rc < 0) {
        if (done) {
            done->reason = "RunContainerError";
            done->message = strdup(err.msg);
        }
    } else if (done) {
        done->ran = true;
        done->result = res;
        done->term_message = TAKE_PTR(tmsg);
        done->when = time(NULL);
    } else {
        wl_run_result_clear(&res);
    }
    send_msg(r, done);
out:
    wl_termmsg_clear(&tm);
    wl_cri_log_close(log);
    wl_module_free(module);
    wl_pull_result_clear(&pulled);
    wl_error_clear(&err);
}

void *wl_runner_main(void *arg)
{
    struct wl_runner_job *job = arg;
    struct run r = {.job = job};
    struct wl_error err = WL_ERROR_INIT;

    if (wl_pod_spec_parse(job->pod, &r.spec, &err) < 0) {
        log_error("runner: %s", err.msg); /* the manager parsed it before */
        wl_error_clear(&err);
    } else {
        r.c = job->is_init ? &r.spec->init_containers[job->index]
                           : &r.spec->containers[job->index];
        snprintf(r.field_path, sizeof(r.field_path), "%s{%s}",
                 job->is_init ? "spec.initContainers" : "spec.containers",
                 r.c->name);
        if (asprintf(&r.pod_dir, "%s/pods/%s", job->cfg->data_dir,
                     r.spec->uid) < 0)
            r.pod_dir = NULL;
        if (r.pod_dir)
            runner(&r);
        else
            send_failure(&r, "CreateContainerError", "out of memory");
    }
    run_clear(&r);
    json_decref(job->pod);
    free(job);
    return NULL;
}
