#include "node/mirror.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pod/standalone.h"
#include "util/cleanup.h"
#include "util/hex.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

#define ANN_MIRROR "kubernetes.io/config.mirror"
#define ANN_HASH "kubernetes.io/config.hash"
#define ANN_SOURCE "kubernetes.io/config.source"
#define ANN_SEEN "kubernetes.io/config.seen"

/* Most manifest files read in one turn. */
#define MAX_FILES 256

struct wl_mirror {
    const char *dir;
    char *node;
    /* the problems logged last turn: each is logged once, until it goes */
    char **said;
    size_t nsaid;
};

/* A pod the directory asks for. */
struct want {
    char *namespace_;
    char *name; /* the mirror pod's: <name>-<node> */
    char hash[33];
    json_t *obj; /* the mirror pod to create */
    bool present; /* a mirror pod with this hash exists */
};

struct turn {
    struct wl_mirror *m;
    char **said; /* this turn's problems */
    size_t nsaid;
    struct want *want;
    size_t nwant;
};

int wl_mirror_new(const char *dir, const char *node_name,
                  struct wl_mirror **ret, struct wl_error *err)
{
    struct wl_mirror *m = calloc(1, sizeof(*m));
    if (!m || !(m->node = strdup(node_name))) {
        free(m);
        return wl_error_set(err, ENOMEM, "static pods");
    }
    m->dir = dir;
    *ret = m;
    return 0;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void wl_mirror_free(struct wl_mirror *m)
{
    if (!m)
        return;
    strv_free(m->said, m->nsaid);
    free(m->node);
    free(m);
}

/* Logs a problem unless it was logged last turn, and keeps it for the
 * next turn's comparison. */
__attribute__((format(printf, 2, 3))) static void problem(struct turn *t,
                                                          const char *fmt,
                                                          ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    bool seen = false;
    for (size_t i = 0; i < t->m->nsaid && !seen; i++)
        seen = strcmp(t->m->said[i], msg) == 0;
    if (!seen)
        log_warning("static pod: %s", msg);
    char **v = realloc(t->said, (t->nsaid + 1) * sizeof(*v));
    if (!v)
        return;
    t->said = v;
    if ((v[t->nsaid] = strdup(msg)))
        t->nsaid++;
}

/* The first image of obj's containers that is a file path, or NULL. */
static const char *path_image(const json_t *obj)
{
    static const char *const lists[] = {"initContainers", "containers"};
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *c;
        json_array_foreach(wl_json_get(obj, "spec", lists[l], NULL), i, c)
        {
            const char *image = wl_json_str(c, "image", NULL);
            if (image && image[0] == '/')
                return image;
        }
    }
    return NULL;
}

/* 32 hex digits of the SHA-256 of obj's compact, key-sorted JSON. */
static int hash_of(const json_t *obj, char out[33])
{
    _cleanup_free_ char *text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (!text ||
        EVP_Digest(text, strlen(text), md, &len, EVP_sha256(), NULL) != 1 ||
        len < 16)
        return -1;
    wl_hex_encode(md, 16, out);
    return 0;
}

/* Adds the tolerations of the node's own taints,
 * kubernetes.io/arch=wasm32-wasi:NoSchedule and :NoExecute, to spec: a
 * static pod is this node's by definition, and without them the taint
 * manager would evict its mirror pod at once. */
static int tolerate_node(json_t *spec)
{
    json_t *tol = json_object_get(spec, "tolerations");
    if (!json_is_array(tol)) {
        tol = json_array();
        if (json_object_set_new(spec, "tolerations", tol) < 0)
            return -1;
    }
    static const char *const effects[] = {"NoSchedule", "NoExecute"};
    for (size_t i = 0; i < 2; i++)
        if (json_array_append_new(
                tol, json_pack("{s:s, s:s, s:s, s:s}", "key",
                               "kubernetes.io/arch", "operator", "Equal",
                               "value", "wasm32-wasi", "effect",
                               effects[i])) < 0)
            return -1;
    return 0;
}

/* The mirror pod of a loaded static pod, or NULL (out of memory). */
static json_t *mirror_of(const json_t *pod, const char *node,
                         const char *node_uid, const char *name,
                         const char *namespace_, const char *hash)
{
    json_t *o = json_deep_copy(pod);
    json_t *meta = o ? json_object_get(o, "metadata") : NULL;
    if (!json_is_object(meta)) {
        json_decref(o);
        return NULL;
    }
    json_object_del(o, "status");
    static const char *const server_owned[] = {
        "uid", "resourceVersion", "creationTimestamp", "generation",
        "selfLink", "managedFields", "ownerReferences", "deletionTimestamp"};
    for (size_t i = 0; i < sizeof(server_owned) / sizeof(*server_owned); i++)
        json_object_del(meta, server_owned[i]);
    json_t *ann = json_object_get(meta, "annotations");
    if (!json_is_object(ann)) {
        ann = json_object();
        json_object_set_new(meta, "annotations", ann);
    }
    char seen[64];
    wl_time_format(time(NULL), seen, sizeof(seen));
    json_t *owner = json_pack("[{s:s, s:s, s:s, s:s, s:b}]", "apiVersion",
                              "v1", "kind", "Node", "name", node, "uid",
                              node_uid, "controller", 1);
    json_t *spec = json_object_get(o, "spec");
    if (!ann || !owner || !json_is_object(spec) ||
        json_object_set_new(meta, "name", json_string(name)) < 0 ||
        json_object_set_new(meta, "namespace", json_string(namespace_)) < 0 ||
        json_object_set_new(meta, "ownerReferences", owner) < 0 ||
        json_object_set_new(ann, ANN_MIRROR, json_string(hash)) < 0 ||
        json_object_set_new(ann, ANN_HASH, json_string(hash)) < 0 ||
        json_object_set_new(ann, ANN_SOURCE, json_string("file")) < 0 ||
        json_object_set_new(ann, ANN_SEEN, json_string(seen)) < 0 ||
        json_object_set_new(spec, "nodeName", json_string(node)) < 0 ||
        tolerate_node(spec) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Adds the pods of one manifest file to t->want. */
static void load_file(struct turn *t, const char *path, const char *node_uid)
{
    struct wl_mirror *m = t->m;
    struct wl_static_pod_opts opts = {.strict = true, .node_name = m->node};
    struct wl_static_pods pods = {0};
    struct wl_error err = WL_ERROR_INIT;
    if (wl_static_pods_load(path, &opts, &pods, &err) < 0) {
        problem(t, "%s", err.msg);
        wl_error_clear(&err);
        return;
    }
    for (size_t i = 0; i < pods.n; i++) {
        json_t *obj = json_deep_copy(pods.v[i].obj);
        json_t *meta = obj ? json_object_get(obj, "metadata") : NULL;
        if (!meta) {
            json_decref(obj);
            continue;
        }
        json_object_del(meta, "uid"); /* made up at each load */
        const char *pod = wl_json_str(obj, "metadata", "name", NULL);
        const char *ns = wl_json_str(obj, "metadata", "namespace", NULL);
        const char *image = path_image(obj);
        _cleanup_free_ char *name = NULL;
        struct want w = {0};
        if (image) {
            problem(t,
                    "%s: pod \"%s\": image %s is a file; static pods of "
                    "wasmlet serve pull their images from a registry "
                    "(files work with wasmlet run)",
                    path, pod ? pod : "", image);
        } else if (!pod || asprintf(&name, "%s-%s", pod, m->node) < 0 ||
                   hash_of(obj, w.hash) < 0) {
            problem(t, "%s: cannot make a mirror pod (out of memory)", path);
        } else if ((w.obj = mirror_of(obj, m->node, node_uid, name,
                                      ns ? ns : "default", w.hash))) {
            struct want *v =
                realloc(t->want, (t->nwant + 1) * sizeof(*v));
            w.namespace_ = strdup(ns ? ns : "default");
            w.name = name;
            if (v && w.namespace_) {
                t->want = v;
                name = NULL;
                t->want[t->nwant++] = w;
            } else {
                if (v)
                    t->want = v;
                json_decref(w.obj);
                free(w.namespace_);
            }
        }
        json_decref(obj);
    }
    wl_static_pods_clear(&pods);
}

/* Reads the directory into t->want. */
static void load_dir(struct turn *t, const char *node_uid)
{
    struct wl_error err = WL_ERROR_INIT;
    char **paths;
    size_t n;
    bool more;
    if (wl_static_manifests(t->m->dir, MAX_FILES, &paths, &n, &more,
                            &err) < 0) {
        problem(t, "%s", err.msg);
        wl_error_clear(&err);
        return;
    }
    if (more)
        problem(t, "%s: more than %d manifests; the rest are not read",
                t->m->dir, MAX_FILES);
    for (size_t i = 0; i < n; i++)
        load_file(t, paths[i], node_uid);
    wl_static_manifests_free(paths, n);
}

static struct want *find_want(struct turn *t, const char *ns, const char *name)
{
    for (size_t i = 0; i < t->nwant; i++)
        if (strcmp(t->want[i].namespace_, ns) == 0 &&
            strcmp(t->want[i].name, name) == 0)
            return &t->want[i];
    return NULL;
}

/* Deletes a mirror pod at once (the pod manager stops what runs). */
static void delete_pod(struct turn *t, struct wl_kube_client *c,
                       const char *ns, const char *name, const char *why)
{
    _cleanup_free_ char *path = NULL;
    struct wl_error err = WL_ERROR_INIT;
    json_t *body = json_pack("{s:s, s:s, s:i}", "kind", "DeleteOptions",
                             "apiVersion", "v1", "gracePeriodSeconds", 0);
    if (body && asprintf(&path, "/api/v1/namespaces/%s/pods/%s", ns, name) >= 0 &&
        wl_kube_request(c, "DELETE", path, NULL, body, NULL, NULL, &err) == 0)
        log_info("static pod: mirror pod deleted pod=%s/%s (%s)", ns, name,
                 why);
    else if (err.msg)
        problem(t, "delete mirror pod %s/%s: %s", ns, name, err.msg);
    wl_error_clear(&err);
    json_decref(body);
}

/* Compares the node's mirror pods with t->want: deletes those that no
 * manifest (or no longer this manifest) asks for, marks the rest present. */
static int reconcile_existing(struct turn *t, struct wl_kube_client *c)
{
    _cleanup_free_ char *sel = NULL, *esc = NULL, *path = NULL;
    struct wl_error err = WL_ERROR_INIT;
    json_t *list = NULL;
    if (asprintf(&sel, "spec.nodeName=%s", t->m->node) < 0 ||
        !(esc = wl_kube_query_escape(sel)) ||
        asprintf(&path, "/api/v1/pods?fieldSelector=%s", esc) < 0)
        return -1;
    if (wl_kube_request(c, "GET", path, NULL, NULL, &list, NULL, &err) < 0) {
        problem(t, "list the node's pods: %s", err.msg);
        wl_error_clear(&err);
        return -1;
    }
    size_t i;
    json_t *pod;
    json_array_foreach(json_object_get(list, "items"), i, pod)
    {
        const char *hash =
            wl_json_str(pod, "metadata", "annotations", ANN_MIRROR, NULL);
        const char *ns = wl_json_str(pod, "metadata", "namespace", NULL);
        const char *name = wl_json_str(pod, "metadata", "name", NULL);
        if (!hash || !ns || !name)
            continue; /* not a mirror pod */
        struct want *w = find_want(t, ns, name);
        if (wl_json_get(pod, "metadata", "deletionTimestamp", NULL)) {
            /* going: recreated once it is gone */
            if (w)
                w->present = true;
        } else if (!w) {
            delete_pod(t, c, ns, name, "its manifest is gone");
        } else if (strcmp(w->hash, hash) != 0) {
            delete_pod(t, c, ns, name, "its manifest changed");
            w->present = true; /* created again when it is gone */
        } else {
            w->present = true;
        }
    }
    json_decref(list);
    return 0;
}

void wl_mirror_sync(struct wl_mirror *m, struct wl_kube_client *c,
                    const char *node_uid)
{
    struct turn t = {.m = m};
    load_dir(&t, node_uid ? node_uid : "");
    if (reconcile_existing(&t, c) == 0) {
        for (size_t i = 0; i < t.nwant; i++) {
            struct want *w = &t.want[i];
            if (w->present)
                continue;
            _cleanup_free_ char *path = NULL;
            struct wl_error err = WL_ERROR_INIT;
            if (asprintf(&path, "/api/v1/namespaces/%s/pods",
                         w->namespace_) < 0)
                continue;
            if (wl_kube_request(c, "POST", path, NULL, w->obj, NULL, NULL,
                                &err) == 0)
                log_info("static pod: mirror pod created pod=%s/%s hash=%s",
                         w->namespace_, w->name, w->hash);
            else
                problem(&t, "create mirror pod %s/%s: %s", w->namespace_,
                        w->name, err.msg);
            wl_error_clear(&err);
        }
    }
    for (size_t i = 0; i < t.nwant; i++) {
        json_decref(t.want[i].obj);
        free(t.want[i].namespace_);
        free(t.want[i].name);
    }
    free(t.want);
    strv_free(m->said, m->nsaid);
    m->said = t.said;
    m->nsaid = t.nsaid;
}
