#include "pod/standalone.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pod/backoff.h"
#include "pod/emptydir.h"
#include "pod/runner.h"
#include "pod/spec.h"
#include "pod/state.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/queue.h"
#include "util/sig.h"
#include "util/time.h"
#include "util/yaml.h"

bool wl_static_is_wasm(const void *head, size_t len)
{
    return len >= 4 && memcmp(head, "\0asm", 4) == 0;
}

/* ---- strict mode: the fields of a v1 Pod ----
 *
 * Each object kind lists its fields; a field with a schema is checked
 * further (each item, for an array). Objects wasmlet never reads (affinity,
 * probes, securityContext...) are not descended into; free-form maps
 * (labels, limits) have no schema. A Volume is open: every other key is a
 * volume source, which admission names when it is not supported. */

struct schema;
struct field {
    const char *name;
    const struct schema *sub;
};
struct schema {
    const struct field *fields; /* ends with {NULL} */
    bool open;
};

#define SCHEMA(id, open_, ...)                                                 \
    static const struct field id##_fields[] = {__VA_ARGS__, {NULL, NULL}};     \
    static const struct schema id = {id##_fields, open_}

SCHEMA(s_keyref, false, {"name", NULL}, {"key", NULL}, {"optional", NULL});
SCHEMA(s_ref, false, {"name", NULL}, {"optional", NULL});
SCHEMA(s_fieldref, false, {"apiVersion", NULL}, {"fieldPath", NULL});
SCHEMA(s_resref, false, {"containerName", NULL}, {"resource", NULL},
       {"divisor", NULL});
SCHEMA(s_envsrc, false, {"fieldRef", &s_fieldref},
       {"resourceFieldRef", &s_resref}, {"configMapKeyRef", &s_keyref},
       {"secretKeyRef", &s_keyref});
SCHEMA(s_env, false, {"name", NULL}, {"value", NULL}, {"valueFrom", &s_envsrc});
SCHEMA(s_envfrom, false, {"prefix", NULL}, {"configMapRef", &s_ref},
       {"secretRef", &s_ref});
SCHEMA(s_mount, false, {"name", NULL}, {"mountPath", NULL}, {"readOnly", NULL},
       {"subPath", NULL}, {"subPathExpr", NULL}, {"mountPropagation", NULL},
       {"recursiveReadOnly", NULL});
SCHEMA(s_port, false, {"name", NULL}, {"containerPort", NULL},
       {"hostPort", NULL}, {"hostIP", NULL}, {"protocol", NULL});
SCHEMA(s_resources, false, {"limits", NULL}, {"requests", NULL},
       {"claims", NULL});
SCHEMA(s_container, false, {"name", NULL}, {"image", NULL}, {"command", NULL},
       {"args", NULL}, {"workingDir", NULL}, {"ports", &s_port},
       {"envFrom", &s_envfrom}, {"env", &s_env}, {"resources", &s_resources},
       {"resizePolicy", NULL}, {"restartPolicy", NULL},
       {"volumeMounts", &s_mount}, {"volumeDevices", NULL},
       {"livenessProbe", NULL}, {"readinessProbe", NULL},
       {"startupProbe", NULL}, {"lifecycle", NULL},
       {"terminationMessagePath", NULL}, {"terminationMessagePolicy", NULL},
       {"imagePullPolicy", NULL}, {"securityContext", NULL}, {"stdin", NULL},
       {"stdinOnce", NULL}, {"tty", NULL});
SCHEMA(s_emptydir, false, {"medium", NULL}, {"sizeLimit", NULL});
SCHEMA(s_hostpath, false, {"path", NULL}, {"type", NULL});
SCHEMA(s_volume, true, {"name", NULL}, {"emptyDir", &s_emptydir},
       {"hostPath", &s_hostpath});
SCHEMA(s_spec, false, {"containers", &s_container},
       {"initContainers", &s_container}, {"ephemeralContainers", NULL},
       {"volumes", &s_volume}, {"restartPolicy", NULL},
       {"terminationGracePeriodSeconds", NULL}, {"activeDeadlineSeconds", NULL},
       {"dnsPolicy", NULL}, {"nodeSelector", NULL},
       {"serviceAccountName", NULL}, {"serviceAccount", NULL},
       {"automountServiceAccountToken", NULL}, {"nodeName", NULL},
       {"hostNetwork", NULL}, {"hostPID", NULL}, {"hostIPC", NULL},
       {"shareProcessNamespace", NULL}, {"securityContext", NULL},
       {"imagePullSecrets", NULL}, {"hostname", NULL}, {"subdomain", NULL},
       {"affinity", NULL}, {"schedulerName", NULL}, {"tolerations", NULL},
       {"hostAliases", NULL}, {"priorityClassName", NULL}, {"priority", NULL},
       {"dnsConfig", NULL}, {"readinessGates", NULL},
       {"runtimeClassName", NULL}, {"enableServiceLinks", NULL},
       {"preemptionPolicy", NULL}, {"overhead", NULL},
       {"topologySpreadConstraints", NULL}, {"setHostnameAsFQDN", NULL},
       {"os", NULL}, {"hostUsers", NULL}, {"schedulingGates", NULL},
       {"resourceClaims", NULL}, {"resources", NULL});
SCHEMA(s_metadata, false, {"name", NULL}, {"namespace", NULL}, {"uid", NULL},
       {"labels", NULL}, {"annotations", NULL}, {"generateName", NULL},
       {"resourceVersion", NULL}, {"creationTimestamp", NULL},
       {"deletionTimestamp", NULL}, {"deletionGracePeriodSeconds", NULL},
       {"ownerReferences", NULL}, {"finalizers", NULL}, {"managedFields", NULL},
       {"generation", NULL}, {"selfLink", NULL});
SCHEMA(s_pod, false, {"apiVersion", NULL}, {"kind", NULL},
       {"metadata", &s_metadata}, {"spec", &s_spec}, {"status", NULL});

static const struct field *schema_field(const struct schema *s, const char *key)
{
    for (const struct field *f = s->fields; f->name; f++)
        if (strcmp(f->name, key) == 0)
            return f;
    return NULL;
}

/* How unknown fields are treated: errors, or warnings that say where. */
struct check {
    bool strict;
    const char *where; /* "file: pod \"name\"" */
};

static int check_fields(const json_t *obj, const struct schema *s,
                        const char *path, const struct check *ck,
                        struct wl_error *err);

/* The value of a known field: an object, or each object of an array. */
static int check_value(const json_t *v, const struct schema *s,
                       const char *path, const struct check *ck,
                       struct wl_error *err)
{
    if (json_is_object(v))
        return check_fields(v, s, path, ck, err);
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        _cleanup_free_ char *sub = NULL;
        if (asprintf(&sub, "%s[%zu]", path, i) < 0)
            return wl_error_set(err, ENOMEM, "check fields");
        if (json_is_object(item) && check_fields(item, s, sub, ck, err) < 0)
            return -1;
    }
    return 0; /* other types: wl_pod_spec_parse names them */
}

static int check_fields(const json_t *obj, const struct schema *s,
                        const char *path, const struct check *ck,
                        struct wl_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        _cleanup_free_ char *sub = NULL;
        if (asprintf(&sub, "%s%s%s", path, *path ? "." : "", key) < 0)
            return wl_error_set(err, ENOMEM, "check fields");
        const struct field *f = schema_field(s, key);
        if (!f && s->open)
            continue;
        if (!f && ck->strict)
            return wl_error_set(err, 0, "%s: unknown field", sub);
        if (!f) {
            log_warning("%s: %s: unknown field, ignored", ck->where, sub);
            continue;
        }
        if (f->sub && check_value(v, f->sub, sub, ck, err) < 0)
            return -1;
    }
    return 0;
}

/* ---- what standalone mode cannot do ---- */

#define NO_API_SERVER "needs an API server, and wasmlet run has none"

static int admit_container(const struct wl_container *c, const char *kind,
                           size_t index, struct wl_error *err)
{
    for (size_t i = 0; i < c->nenv; i++) {
        const struct wl_env_var *e = &c->env[i];
        if (e->source == WL_ENV_CONFIGMAP_KEY || e->source == WL_ENV_SECRET_KEY)
            return wl_error_set(
                err, 0,
                "spec.%s[%zu].env[%zu].valueFrom.%s (%s): " NO_API_SERVER, kind,
                index, i,
                e->source == WL_ENV_SECRET_KEY ? "secretKeyRef"
                                               : "configMapKeyRef",
                e->name);
    }
    if (c->nenv_from > 0)
        return wl_error_set(
            err, 0, "spec.%s[%zu].envFrom[0].%s: " NO_API_SERVER, kind, index,
            c->env_from[0].is_secret ? "secretRef" : "configMapRef");
    if (c->restart_policy && strcmp(kind, "initContainers") == 0)
        return wl_error_set(err, 0,
                            "spec.%s[%zu].restartPolicy: sidecar containers "
                            "are not supported by wasmlet run",
                            kind, index);
    return 0;
}

static int admit_static(const struct wl_pod_spec *s, struct wl_error *err)
{
    const char *reason = NULL;
    if (wl_pod_admit(s, 0, 0, &reason, err) < 0)
        return -1;
    if (s->npull_secrets > 0)
        return wl_error_set(err, 0, "spec.imagePullSecrets: " NO_API_SERVER);
    for (size_t i = 0; i < s->ninit; i++)
        if (admit_container(&s->init_containers[i], "initContainers", i, err) <
            0)
            return -1;
    for (size_t i = 0; i < s->ncontainers; i++)
        if (admit_container(&s->containers[i], "containers", i, err) < 0)
            return -1;
    for (size_t i = 0; i < s->nvolumes; i++) {
        const struct wl_volume *v = &s->volumes[i];
        if (v->type == WL_VOL_EMPTYDIR || v->type == WL_VOL_HOSTPATH)
            continue;
        return wl_error_set(err, 0,
                            "volume \"%s\": %s volumes need an API server, "
                            "and wasmlet run has none",
                            v->name, v->type_name);
    }
    return 0;
}

/* ---- images ---- */

/* Whether image names a file rather than a registry: absolute, "./" or
 * "../", or a plain relative name ending in ".wasm" that exists. */
static bool image_is_path(const char *image, const char *dir)
{
    if (image[0] == '/' || strncmp(image, "./", 2) == 0 ||
        strncmp(image, "../", 3) == 0)
        return true;
    size_t n = strlen(image);
    if (n < 5 || strcmp(image + n - 5, ".wasm") != 0 || strpbrk(image, ":@"))
        return false;
    _cleanup_free_ char *full = NULL;
    if (asprintf(&full, "%s/%s", dir, image) < 0)
        return false;
    return access(full, F_OK) == 0;
}

/* The file image names (relative to dir), made absolute, which must be a
 * wasm module. */
static int resolve_image(const char *image, const char *dir, char **ret,
                         struct wl_error *err)
{
    _cleanup_free_ char *full = NULL, *real = NULL;
    unsigned char head[4];
    if (image[0] == '/' ? !(full = strdup(image))
                        : asprintf(&full, "%s/%s", dir, image) < 0)
        return wl_error_set(err, ENOMEM, "image");
    if (!(real = realpath(full, NULL)))
        return wl_error_set(err, errno, "%s", full);
    _cleanup_close_ int fd = open(real, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return wl_error_set(err, errno, "%s", real);
    if (!S_ISREG(st.st_mode))
        return wl_error_set(err, 0, "%s is not a file", real);
    ssize_t n = read(fd, head, sizeof(head));
    if (n == (ssize_t)sizeof(head) && memcmp(head, "\177ELF", 4) == 0)
        return wl_error_set(err, 0,
                            "%s is an ELF executable, not a WebAssembly "
                            "module: Linux images cannot run on wasmlet",
                            real);
    if (n < 0 || !wl_static_is_wasm(head, (size_t)n))
        return wl_error_set(err, 0,
                            "%s is not a WebAssembly module (no \\0asm "
                            "magic): wasmlet runs only wasm32-wasi modules",
                            real);
    *ret = TAKE_PTR(real);
    return 0;
}

/* Makes every image that is a path absolute, in the pod object. */
static int resolve_images(json_t *pod, const char *dir, struct wl_error *err)
{
    static const char *const kinds[] = {"initContainers", "containers"};
    json_t *spec = json_object_get(pod, "spec");
    for (size_t k = 0; k < WL_ARRAY_SIZE(kinds); k++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(spec, kinds[k]), i, c)
        {
            const char *image = json_string_value(json_object_get(c, "image"));
            _cleanup_free_ char *abs = NULL;
            if (!image || !image_is_path(image, dir))
                continue;
            if (resolve_image(image, dir, &abs, err) < 0)
                return wl_error_prefix(err, "spec.%s[%zu].image", kinds[k], i);
            if (json_object_set_new(c, "image", json_string(abs)) < 0)
                return wl_error_set(err, ENOMEM, "image");
        }
    }
    return 0;
}

/* ---- loading ---- */

/* A random (version 4) UUID, as the API server gives each pod. */
static int make_uid(char *buf, size_t size, struct wl_error *err)
{
    uint8_t b[16];
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        return wl_error_set(err, errno, "getrandom");
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    /* 8-4-4-4-12 hex digits: groups of 4, 2, 2, 2 and 6 bytes. */
    static const size_t groups[] = {4, 2, 2, 2, 6};
    char hex[2 * sizeof(b) + 4 + 1], *p = hex;
    const uint8_t *q = b;
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
        if (g > 0)
            *p++ = '-';
        wl_hex_encode(q, groups[g], p);
        p += 2 * groups[g];
        q += groups[g];
    }
    (void)snprintf(buf, size, "%s", hex);
    return 0;
}

/* metadata.uid (a new one, unless the manifest has one) and spec.nodeName,
 * as the API server and the scheduler would set them. */
static int fill_in(json_t *pod, const char *node_name, struct wl_error *err)
{
    json_t *md = json_object_get(pod, "metadata");
    json_t *spec = json_object_get(pod, "spec");
    char uid[40];
    if (json_is_object(md) && !json_object_get(md, "uid")) {
        if (make_uid(uid, sizeof(uid), err) < 0 ||
            json_object_set_new(md, "uid", json_string(uid)) < 0)
            return err->msg ? -1 : wl_error_set(err, ENOMEM, "uid");
    }
    if (json_is_object(spec) && !json_object_get(spec, "nodeName") &&
        json_object_set_new(spec, "nodeName", json_string(node_name)) < 0)
        return wl_error_set(err, ENOMEM, "nodeName");
    return 0;
}

struct loader {
    const struct wl_static_pod_opts *o;
    struct wl_static_pods *pods;
    const char *file; /* the manifest being read */
    const char *dir;  /* its directory: relative images start there */
};

/* where: "file: pod \"name\"", for warnings. */
static int check_pod(struct loader *l, json_t *pod, const char *where,
                     struct wl_pod_spec **ret, struct wl_error *err)
{
    struct check ck = {.strict = l->o->strict, .where = where};
    if (check_fields(pod, &s_pod, "", &ck, err) < 0 ||
        fill_in(pod, l->o->node_name, err) < 0 ||
        wl_pod_spec_parse(pod, ret, err) < 0)
        return -1;
    if (admit_static(*ret, err) < 0 || resolve_images(pod, l->dir, err) < 0) {
        wl_pod_spec_free(*ret);
        *ret = NULL;
        return -1;
    }
    char *ignored = wl_pod_ignored_fields(pod);
    if (ignored)
        log_warning("%s: %s", where, ignored);
    free(ignored);
    /* No volume manager here: no tmpfs, no eviction. */
    for (size_t i = 0; i < (*ret)->nvolumes; i++)
        if (wl_emptydir_managed(&(*ret)->volumes[i]))
            log_warning("%s: volume \"%s\": emptyDir medium and sizeLimit "
                        "are ignored by wasmlet run (a plain directory)",
                        where, (*ret)->volumes[i].name);
    return 0;
}

/* Takes pod (a reference). */
static int add_pod(struct loader *l, json_t *pod, struct wl_error *err)
{
    struct wl_static_pods *p = l->pods;
    struct wl_pod_spec *spec = NULL;
    _cleanup_free_ char *where = NULL;
    const char *name = json_string_value(
        json_object_get(json_object_get(pod, "metadata"), "name"));
    if ((name ? asprintf(&where, "%s: pod \"%s\"", l->file, name)
              : asprintf(&where, "%s", l->file)) < 0) {
        json_decref(pod);
        return wl_error_set(err, ENOMEM, "%s", l->file);
    }
    if (check_pod(l, pod, where, &spec, err) < 0) {
        wl_error_prefix(err, "%s", where);
        json_decref(pod);
        return -1;
    }
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->v[i].spec->name, spec->name) != 0 ||
            strcmp(p->v[i].spec->namespace_, spec->namespace_) != 0)
            continue;
        wl_error_set(err, 0, "%s: pod \"%s\": a pod %s/%s is in %s already",
                     l->file, spec->name, spec->namespace_, spec->name,
                     p->v[i].source);
        goto fail;
    }
    if (p->n == WL_STATIC_POD_MAX_PODS) {
        wl_error_set(err, 0, "%s: more than %d pods", l->file,
                     WL_STATIC_POD_MAX_PODS);
        goto fail;
    }
    struct wl_static_pod *v = realloc(p->v, (p->n + 1) * sizeof(*v));
    if (!v) {
        wl_error_set(err, ENOMEM, "%s", l->file);
        goto fail;
    }
    p->v = v;
    v[p->n] = (struct wl_static_pod){.obj = pod, .spec = spec};
    if (!(v[p->n].source = strdup(l->file))) {
        wl_error_set(err, ENOMEM, "%s", l->file);
        goto fail;
    }
    p->n++;
    return 0;
fail:
    wl_pod_spec_free(spec);
    json_decref(pod);
    return -1;
}

/* One document: a v1 Pod, or a v1 List of them. */
static int add_document(struct loader *l, json_t *doc, size_t index,
                        size_t ndocs, struct wl_error *err)
{
    _cleanup_free_ char *where = NULL;
    if ((ndocs > 1 ? asprintf(&where, "%s: document %zu", l->file, index + 1)
                   : asprintf(&where, "%s", l->file)) < 0)
        return wl_error_set(err, ENOMEM, "%s", l->file);
    if (!json_is_object(doc))
        return wl_error_set(err, 0, "%s: expected a Pod object, found a %s",
                            where,
                            json_is_array(doc)    ? "list"
                            : json_is_string(doc) ? "string"
                                                  : "scalar");
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    const char *api = json_string_value(json_object_get(doc, "apiVersion"));
    if (!kind || !api)
        return wl_error_set(err, 0,
                            "%s: kind and apiVersion missing: "
                            "expected kind: Pod, apiVersion: v1",
                            where);
    if (strcmp(kind, "List") == 0 && strcmp(api, "v1") == 0) {
        json_t *items = json_object_get(doc, "items");
        size_t i;
        json_t *item;
        if (!json_is_array(items))
            return wl_error_set(err, 0, "%s: items: expected an array", where);
        json_array_foreach(items, i, item)
        {
            if (!json_is_object(item) ||
                !json_is_string(json_object_get(item, "kind")) ||
                strcmp(json_string_value(json_object_get(item, "kind")),
                       "Pod") != 0)
                return wl_error_set(err, 0, "%s: items[%zu]: not a Pod", where,
                                    i);
            if (add_document(l, item, 0, 1, err) < 0)
                return -1;
        }
        return 0;
    }
    if (strcmp(kind, "Pod") != 0 || strcmp(api, "v1") != 0)
        return wl_error_set(err, 0,
                            "%s: %s %s is not a Pod: wasmlet run runs v1 "
                            "Pods",
                            where, api, kind);
    return add_pod(l, json_deep_copy(doc), err);
}

static int load_file(struct loader *l, struct wl_error *err)
{
    _cleanup_free_ uint8_t *data = NULL;
    _cleanup_free_ char *dircopy = strdup(l->file);
    size_t len = 0;
    json_t *docs = NULL;
    if (!dircopy)
        return wl_error_set(err, ENOMEM, "%s", l->file);
    l->dir = dirname(dircopy);
    if (wl_file_read(AT_FDCWD, l->file, WL_STATIC_POD_MAX_BYTES, &data, &len,
                     err) < 0)
        return -1;
    if (wl_static_is_wasm(data, len))
        return wl_error_set(err, 0, "%s: a wasm module, not a pod manifest",
                            l->file);
    if (wl_yaml_to_json((const char *)data, len, &docs, err) < 0)
        return wl_error_prefix(err, "%s", l->file);
    size_t n = json_array_size(docs), i;
    json_t *doc;
    int rc = 0;
    if (n == 0)
        rc = wl_error_set(err, 0, "%s: no pod in it", l->file);
    json_array_foreach(docs, i, doc)
    {
        if ((rc = add_document(l, doc, i, n, err)) < 0)
            break;
    }
    json_decref(docs);
    l->dir = NULL;
    return rc;
}

static bool manifest_name(const char *name)
{
    static const char *const exts[] = {".yaml", ".yml", ".json"};
    size_t n = strlen(name);
    if (name[0] == '.')
        return false;
    for (size_t i = 0; i < WL_ARRAY_SIZE(exts); i++) {
        size_t e = strlen(exts[i]);
        if (n > e && strcmp(name + n - e, exts[i]) == 0)
            return true;
    }
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void wl_static_manifests_free(char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

int wl_static_manifests(const char *dir, size_t max, char ***ret,
                        size_t *ret_n, bool *more, struct wl_error *err)
{
    DIR *d = opendir(dir);
    char **paths = NULL;
    size_t n = 0;
    struct dirent *e;
    *ret = NULL;
    *ret_n = 0;
    *more = false;
    if (!d)
        return wl_error_set(err, errno, "%s", dir);
    while ((e = readdir(d))) {
        if (!manifest_name(e->d_name))
            continue;
        if (n == max) {
            *more = true;
            break;
        }
        char **v = realloc(paths, (n + 1) * sizeof(*paths));
        if (!v || asprintf(&v[n], "%s/%s", dir, e->d_name) < 0) {
            wl_static_manifests_free(v ? v : paths, n);
            closedir(d);
            return wl_error_set(err, ENOMEM, "%s", dir);
        }
        paths = v;
        n++;
    }
    closedir(d);
    if (n)
        qsort(paths, n, sizeof(*paths), cmp_str);
    *ret = paths;
    *ret_n = n;
    return 0;
}

/* The manifests of dir for `wasmlet run`: at least one, and not more
 * than it runs. */
static int list_dir(const char *dir, char ***ret, size_t *ret_n,
                    struct wl_error *err)
{
    bool more;
    if (wl_static_manifests(dir, WL_STATIC_POD_MAX_PODS, ret, ret_n, &more,
                            err) < 0)
        return wl_error_set(err, err->errnum, "--pod-manifest-path %s",
                            dir);
    if (more || *ret_n == 0) {
        wl_static_manifests_free(*ret, *ret_n);
        *ret = NULL;
        *ret_n = 0;
        if (more)
            return wl_error_set(err, 0, "%s: too many manifests", dir);
        return wl_error_set(err, 0,
                            "%s: no pod manifests (*.yaml, *.yml, *.json) "
                            "in it",
                            dir);
    }
    return 0;
}

int wl_static_pods_load(const char *path, const struct wl_static_pod_opts *o,
                        struct wl_static_pods *ret, struct wl_error *err)
{
    struct loader l = {.o = o, .pods = ret, .file = path};
    char **names = NULL;
    size_t n = 0;
    int rc = 0;
    if (!o->is_dir)
        rc = load_file(&l, err);
    else if ((rc = list_dir(path, &names, &n, err)) == 0)
        for (size_t i = 0; i < n && rc == 0; i++) {
            l.file = names[i];
            rc = load_file(&l, err);
        }
    wl_static_manifests_free(names, n);
    if (rc < 0)
        wl_static_pods_clear(ret);
    return rc;
}

void wl_static_pods_clear(struct wl_static_pods *pods)
{
    for (size_t i = 0; pods && i < pods->n; i++) {
        free(pods->v[i].source);
        json_decref(pods->v[i].obj);
        wl_pod_spec_free(pods->v[i].spec);
    }
    if (pods) {
        free(pods->v);
        *pods = (struct wl_static_pods){0};
    }
}

/* ---- running ---- */

struct sa_pod {
    const struct wl_static_pod *src;
    struct ctr *init, *apps;
    size_t ninit, napps;
    size_t next_init; /* init containers completed */
    bool apps_started;
    bool done; /* nothing runs or will run */
    bool deadline_hit;
    double deadline_at; /* monotonic s; 0: no activeDeadlineSeconds */
};

struct sa {
    const struct wl_pod_manager_config *cfg;
    struct wl_queue *queue;
    struct sa_pod *pods;
    size_t npods;
    bool stopping;
    int status; /* the first failure's; -1 while none */
};

static void fail_status(struct sa *sa, int status)
{
    if (sa->status < 0)
        sa->status = status;
}

static int ctrs_new(const struct wl_container *specs, size_t n, bool is_init,
                    struct ctr **ret)
{
    struct ctr *c = calloc(n ? n : 1, sizeof(*c));
    if (!c)
        return -1;
    *ret = c; /* half-built is freed by ctrs_free */
    for (size_t i = 0; i < n; i++) {
        c[i].spec = &specs[i];
        c[i].is_init = is_init;
        c[i].index = i;
        c[i].cancel = calloc(1, sizeof(*c[i].cancel));
        c[i].stats = calloc(1, sizeof(*c[i].stats));
        if (!c[i].cancel || !c[i].stats)
            return -1;
        atomic_init(c[i].cancel, false);
    }
    return 0;
}

static void ctrs_free(struct ctr *c, size_t n)
{
    for (size_t i = 0; c && i < n; i++) {
        term_clear(&c[i].last);
        term_clear(&c[i].prev);
        free(c[i].wait_message);
        free(c[i].image_id);
        free(c[i].cancel);
        free(c[i].stats);
    }
    free(c);
}

static const char *pod_name(const struct sa_pod *p)
{
    return p->src->spec->name;
}

static void start_ctr(struct sa *sa, struct sa_pod *p, struct ctr *c)
{
    struct wl_runner_job *job = calloc(1, sizeof(*job));
    json_t *copy = json_deep_copy(p->src->obj);
    if (job && copy) {
        *job = (struct wl_runner_job){
            .cfg = sa->cfg,
            .queue = sa->queue,
            .pod = copy,
            .is_init = c->is_init,
            .index = c->index,
            .run_id = ++c->run_id,
            .restart = c->restarts,
            .cancel = c->cancel,
            .stats = c->stats,
        };
        atomic_store(c->cancel, false);
        c->started = time(NULL);
        c->restart_at = 0;
        if (pthread_create(&c->thread, NULL, wl_runner_main, job) == 0) {
            c->live = true;
            c->state = CTR_RUNNING;
            return;
        }
    }
    free(job);
    json_decref(copy);
    log_error("pod=%s container=%s: cannot start a thread", pod_name(p),
              c->spec->name);
    fail_status(sa, 125);
    c->state = CTR_TERMINATED;
}

static void start_next(struct sa *sa, struct sa_pod *p)
{
    if (sa->stopping || p->done)
        return;
    if (p->next_init < p->ninit) {
        struct ctr *c = &p->init[p->next_init];
        if (!c->live && !c->restart_at && c->state == CTR_WAITING)
            start_ctr(sa, p, c);
        return;
    }
    if (p->apps_started)
        return;
    p->apps_started = true;
    for (size_t i = 0; i < p->napps; i++)
        start_ctr(sa, p, &p->apps[i]);
}

static void stop_pod(struct sa *sa, struct sa_pod *p)
{
    struct ctr *all[2] = {p->init, p->apps};
    size_t ns[2] = {p->ninit, p->napps};
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < ns[k]; i++) {
            /* one waiting to restart after a failure failed for good */
            if (all[k][i].restart_at && all[k][i].last.exit_code != 0)
                fail_status(sa, all[k][i].last.exit_code);
            all[k][i].restart_at = 0;
            if (all[k][i].live)
                wl_run_cancel(sa->cfg->engine, all[k][i].cancel);
        }
}

static bool pod_live(const struct sa_pod *p)
{
    for (size_t i = 0; i < p->ninit; i++)
        if (p->init[i].live || p->init[i].restart_at)
            return true;
    for (size_t i = 0; i < p->napps; i++)
        if (p->apps[i].live || p->apps[i].restart_at)
            return true;
    return false;
}

/* A container ended for good. */
static void ctr_done(struct sa *sa, struct sa_pod *p, struct ctr *c)
{
    int code = c->last.exit_code;
    if (sa->stopping || p->deadline_hit)
        return; /* stopped by us: not the module's failure */
    if (c->is_init) {
        if (code == 0) {
            p->next_init++;
            start_next(sa, p);
            return;
        }
        /* an init container failed for good: the pod fails */
        fail_status(sa, code);
        p->done = true;
        stop_pod(sa, p);
        return;
    }
    if (code != 0)
        fail_status(sa, code);
}

/* s with line ends shown as \n and \r, for a log line; NULL for NULL. */
static char *one_line(const char *s)
{
    if (!s)
        return NULL;
    size_t n = 0;
    for (const char *c = s; *c; c++)
        n += *c == '\n' || *c == '\r' ? 2 : 1;
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *c = s; *c; c++) {
        if (*c == '\n' || *c == '\r') {
            *o++ = '\\';
            *o++ = *c == '\n' ? 'n' : 'r';
        } else {
            *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

static void ctr_exited(struct sa *sa, struct sa_pod *p, struct ctr *c,
                       struct wl_pod_msg *m)
{
    (void)pthread_join(c->thread, NULL);
    c->live = false;
    if (!m->ran) {
        /* The kubelet would retry (ErrImagePull, CreateContainerConfigError)
         * until the pod is deleted; nothing here changes between tries. */
        log_error("pod=%s container=%s reason=%s: %s", pod_name(p),
                  c->spec->name, m->reason ? m->reason : "RunContainerError",
                  m->message ? m->message : "could not start");
        c->state = CTR_TERMINATED;
        fail_status(sa, 125);
        p->done = true;
        stop_pod(sa, p);
        return;
    }
    ctr_run_ended(c, m->when, &m->result, m->term_message, p->deadline_hit);
    const struct term *t = &c->last;
    bool stopping = sa->stopping || p->done || p->deadline_hit;
    /* The message is what a user would read in the terminated state (a
     * trap, the termination message): shown for a success too. */
    if ((t->exit_code != 0 && !stopping) || t->message) {
        _cleanup_free_ char *msg = one_line(t->message);
        log_info("pod=%s container=%s exit_code=%d reason=%s%s%s", pod_name(p),
                 c->spec->name, t->exit_code, t->reason,
                 msg ? " message=" : "", msg ? msg : "");
    }
    if (!ctr_should_restart(c, p->src->spec->restart_policy, stopping)) {
        ctr_done(sa, p, c);
        return;
    }
    int64_t ran_ms = (int64_t)(c->last.finished - c->last.started) * 1000;
    int64_t delay = wl_backoff_delay(&c->backoff, ran_ms);
    c->restarts++;
    c->restart_at = wl_now_s() + (double)delay / 1000.0;
    c->state = CTR_WAITING;
    if (delay > 0)
        log_info("pod=%s container=%s: back-off %" PRId64
                 "s restarting failed container (CrashLoopBackOff)",
                 pod_name(p), c->spec->name, delay / 1000);
}

static struct sa_pod *find_pod(struct sa *sa, const char *uid)
{
    for (size_t i = 0; i < sa->npods; i++)
        if (uid && strcmp(sa->pods[i].src->spec->uid, uid) == 0)
            return &sa->pods[i];
    return NULL;
}

static void handle_msg(struct sa *sa, struct wl_pod_msg *m)
{
    struct sa_pod *p = find_pod(sa, m->uid);
    if (!p || m->kind != WL_MSG_EXITED)
        return;
    size_t n = m->is_init ? p->ninit : p->napps;
    struct ctr *c = m->index < n
                        ? (m->is_init ? &p->init[m->index] : &p->apps[m->index])
                        : NULL;
    if (c && c->live && c->run_id == m->run_id)
        ctr_exited(sa, p, c, m);
}

/* Restarts that are due, deadlines that passed, pods that are done. */
static void tick(struct sa *sa)
{
    double now = wl_now_s();
    for (size_t i = 0; i < sa->npods; i++) {
        struct sa_pod *p = &sa->pods[i];
        if (p->deadline_at && now >= p->deadline_at && !p->deadline_hit &&
            !p->done) {
            /* The kubelet's message for activeDeadlineSeconds. */
            log_error("pod=%s reason=DeadlineExceeded: Pod was active on the "
                      "node longer than the specified deadline",
                      pod_name(p));
            p->deadline_hit = true;
            fail_status(sa, 124);
            p->done = true;
            stop_pod(sa, p);
        }
        struct ctr *all[2] = {p->init, p->apps};
        size_t ns[2] = {p->ninit, p->napps};
        for (size_t k = 0; k < 2; k++)
            for (size_t j = 0; j < ns[k]; j++) {
                struct ctr *c = &all[k][j];
                if (c->restart_at && now >= c->restart_at && !c->live)
                    start_ctr(sa, p, c);
            }
    }
}

static bool all_done(const struct sa *sa)
{
    for (size_t i = 0; i < sa->npods; i++)
        if (pod_live(&sa->pods[i]))
            return false;
    return true;
}

static void stop_all(struct sa *sa, int sig)
{
    log_info("signal=%s: stopping every container",
             sig == SIGINT ? "SIGINT" : "SIGTERM");
    sa->stopping = true;
    /* a pull from a stalled registry must not hold the stop up */
    if (sa->cfg->puller)
        wl_puller_cancel(sa->cfg->puller);
    for (size_t i = 0; i < sa->npods; i++)
        stop_pod(sa, &sa->pods[i]);
}

static void loop(struct sa *sa)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    for (size_t i = 0; i < sa->npods; i++)
        start_next(sa, &sa->pods[i]);
    while (!all_done(sa)) {
        struct wl_pod_msg *m = wl_queue_pop(sa->queue, 100);
        if (m) {
            handle_msg(sa, m);
            wl_pod_msg_free(m);
        }
        int sig = wl_sig_wait_ms(&set, 0);
        if (sig)
            stop_all(sa, sig);
        tick(sa);
    }
}

int wl_static_pods_run(const struct wl_static_pods *pods,
                       const struct wl_pod_manager_config *cfg)
{
    struct sa sa = {.cfg = cfg, .status = -1};
    sa.queue = wl_queue_new(wl_pod_msg_free);
    sa.pods = calloc(pods->n ? pods->n : 1, sizeof(*sa.pods));
    int status = 125;
    if (!sa.queue || !sa.pods) {
        log_error("out of memory");
        goto out;
    }
    double now = wl_now_s();
    for (size_t i = 0; i < pods->n; i++) {
        struct sa_pod *p = &sa.pods[i];
        const struct wl_pod_spec *s = pods->v[i].spec;
        p->src = &pods->v[i];
        sa.npods = i + 1;
        p->ninit = s->ninit;
        p->napps = s->ncontainers;
        if (ctrs_new(s->init_containers, s->ninit, true, &p->init) < 0 ||
            ctrs_new(s->containers, s->ncontainers, false, &p->apps) < 0) {
            log_error("out of memory");
            goto out;
        }
        if (s->active_deadline_s > 0)
            p->deadline_at = now + (double)s->active_deadline_s;
    }
    loop(&sa);
    status = sa.status < 0 ? 0 : sa.status;
out:
    for (size_t i = 0; i < sa.npods; i++) {
        ctrs_free(sa.pods[i].init, sa.pods[i].ninit);
        ctrs_free(sa.pods[i].apps, sa.pods[i].napps);
    }
    free(sa.pods);
    wl_queue_free(sa.queue);
    return status;
}
