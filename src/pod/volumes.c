#include "pod/volumes.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "version.h" /* WL_VERSION, generated */
#include "kube/client.h"
#include "kube/quantity.h"
#include "pod/atomic_writer.h"
#include "pod/emptydir.h"
#include "pod/objects.h"
#include "pod/events.h"
#include "pod/fieldref.h"
#include "pod/runner.h"
#include "util/base64.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

/* A service account token stays at most this long before it is asked for
 * again, whatever its expiry (the kubelet's token manager: 24 h). */
#define TOKEN_MAX_AGE_S (24 * 3600)
/* Files per volume; bounds what a hostile ConfigMap costs. */
#define MAX_FILES 4096

/* ---------------------------------------------------------------- types */

struct req {
    json_t *pod; /* mount */
    char *uid;   /* unmount */
};

struct token {
    char *key; /* "<volume>/<source index>" */
    char *value;
    double refresh_at; /* monotonic */
};

struct mounted {
    struct mounted *next;
    char *uid;
    json_t *pod;
    struct wl_pod_spec *spec;
    double due;   /* monotonic: next write */
    double delay; /* backoff after failures, s; 0 when the last one worked */
    bool reported, reported_ok;
    char *reported_msg;
    struct token *tokens;
    size_t ntokens;
    /* emptyDir sizeLimit: next measure (monotonic; 0: no limit), and
     * whether the owner was told to evict the pod (then no more). */
    double check_due;
    bool evicted;
};

struct wl_volume_manager {
    const struct wl_pod_manager_config *cfg;
    struct wl_queue *reply;
    struct wl_queue *requests;
    pthread_t thread;
    /* thread state */
    struct wl_kube_client *client;
    unsigned client_gen; /* of cfg->creds, when client was made */
    struct mounted *pods;
    bool memory_plain_logged; /* medium Memory fell back to a plain dir */
};

/* One file of a payload, owned. */
struct pfile {
    char *path;
    char *data;
    size_t len;
    unsigned mode;
};

struct payload {
    struct pfile *files;
    size_t n;
    bool secret; /* holds a secret or a token: owner-only permissions */
};

static void req_free(void *p)
{
    struct req *r = p;
    if (!r)
        return;
    json_decref(r->pod);
    free(r->uid);
    free(r);
}

static void payload_clear(struct payload *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->files[i].path);
        if (p->files[i].data)
            explicit_bzero(p->files[i].data, p->files[i].len);
        free(p->files[i].data);
    }
    free(p->files);
    memset(p, 0, sizeof(*p));
}

/* Adds a file; takes data (malloc'd, len bytes), also on failure. */
static int payload_add(struct payload *p, const char *path, char *data,
                       size_t len, unsigned mode, struct wl_error *err)
{
    if (p->n >= MAX_FILES) {
        free(data);
        return wl_error_set(err, 0, "more than %d files", MAX_FILES);
    }
    struct pfile *f = realloc(p->files, (p->n + 1) * sizeof(*f));
    char *copy = strdup(path);
    if (f)
        p->files = f;
    if (!f || !copy) {
        free(copy);
        free(data);
        return wl_error_set(err, ENOMEM, "volume");
    }
    p->files[p->n++] = (struct pfile){copy, data, len, mode & 07777};
    return 0;
}

static void mounted_free(struct mounted *mp)
{
    if (!mp)
        return;
    for (size_t i = 0; i < mp->ntokens; i++) {
        free(mp->tokens[i].key);
        if (mp->tokens[i].value)
            explicit_bzero(mp->tokens[i].value, strlen(mp->tokens[i].value));
        free(mp->tokens[i].value);
    }
    free(mp->tokens);
    free(mp->reported_msg);
    wl_pod_spec_free(mp->spec);
    json_decref(mp->pod);
    free(mp->uid);
    free(mp);
}

static bool managed(enum wl_volume_type t)
{
    return t == WL_VOL_CONFIGMAP || t == WL_VOL_SECRET ||
           t == WL_VOL_DOWNWARDAPI || t == WL_VOL_PROJECTED;
}

bool wl_volumes_needed(const struct wl_pod_spec *s)
{
    for (size_t i = 0; i < s->nvolumes; i++)
        if (managed(s->volumes[i].type) ||
            wl_emptydir_managed(&s->volumes[i]))
            return true;
    return false;
}

/* ------------------------------------------------------ configMap, secret */

static unsigned mode_of(const json_t *o, const char *key, unsigned dflt)
{
    json_t *m = json_object_get(o, key);
    return json_is_integer(m) ? (unsigned)json_integer_value(m) & 07777 : dflt;
}

/* A configMap or secret source (a volume's, or a projected one): its
 * items, or every key. */
static int object_source(struct wl_volume_manager *vm, struct mounted *mp,
                         bool secret, const json_t *src, unsigned dmode,
                         struct payload *p, struct wl_error *err)
{
    const char *kind = secret ? "secret" : "configmap";
    const char *name = wl_json_str(src, secret ? "secretName" : "name", NULL);
    if (!name)
        name = wl_json_str(src, "name", NULL); /* projected secret */
    bool optional = json_is_true(json_object_get(src, "optional"));
    json_t *obj = NULL;
    if (!name)
        return wl_error_set(err, 0, "%s name missing", kind);
    if (wl_pod_get_object(vm->client, mp->spec->namespace_, secret, name,
                          &obj, err) < 0)
        return -1;
    if (!obj)
        return optional
                   ? 0
                   : wl_error_set(err, 0, "%s \"%s\" not found", kind, name);
    int rc = 0;
    json_t *items = json_object_get(src, "items");
    size_t i;
    json_t *it;
    if (json_array_size(items) > 0) {
        json_array_foreach(items, i, it)
        {
            const char *key = wl_json_str(it, "key", NULL);
            const char *path = wl_json_str(it, "path", NULL);
            char *v = NULL;
            size_t len = 0;
            if (!key || !path) {
                rc = wl_error_set(err, 0, "items[%zu]: key and path needed", i);
                break;
            }
            rc = wl_pod_object_value(obj, secret, key, &v, &len, err);
            if (rc < 0)
                break;
            if (!v && optional)
                continue;
            if (!v) {
                rc = wl_error_set(err, 0,
                                  secret ? "references non-existent "
                                           "secret key: %s"
                                         : "configmap references "
                                           "non-existent config key: %s",
                                  key);
                break;
            }
            if ((rc = payload_add(p, path, v, len, mode_of(it, "mode", dmode),
                                  err)) < 0)
                break;
        }
        json_decref(obj);
        return rc;
    }
    const char *maps[] = {"data", "binaryData"};
    for (size_t k = 0; k < (secret ? 1u : 2u) && rc == 0; k++) {
        const char *key;
        json_t *v;
        json_object_foreach(json_object_get(obj, maps[k]), key, v)
        {
            char *val = NULL;
            size_t len = 0;
            rc = wl_pod_object_value(obj, secret, key, &val, &len, err);
            if (rc < 0 || (rc = payload_add(p, key, val, len, dmode, err)) < 0)
                break;
        }
    }
    json_decref(obj);
    return rc;
}

/* ------------------------------------------------------------ downwardAPI */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Go's %q for the value: quoted, with \" \\ and control bytes escaped. */
static void quote(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(f, "\\%c", *c);
        else if (*c == '\n')
            fputs("\\n", f);
        else if (*c == '\t')
            fputs("\\t", f);
        else if (*c == '\r')
            fputs("\\r", f);
        else if (*c < 0x20 || *c == 0x7f)
            fprintf(f, "\\x%02x", *c);
        else
            fputc(*c, f);
    }
    fputc('"', f);
}

/* metadata.labels / metadata.annotations as the kubelet writes them
 * (fieldpath.FormatMap): key="value" lines sorted by key, no final
 * newline. */
static char *format_map(const json_t *map)
{
    size_t n = json_object_size(map), i = 0;
    _cleanup_free_ const char **keys = calloc(n ? n : 1, sizeof(*keys));
    char *out = NULL;
    size_t len = 0;
    FILE *f = keys ? open_memstream(&out, &len) : NULL;
    if (!f)
        return NULL;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)map, k, v) keys[i++] = k;
    qsort(keys, n, sizeof(*keys), cmp_str);
    for (i = 0; i < n; i++) {
        const char *val = json_string_value(json_object_get(map, keys[i]));
        fprintf(f, "%s%s=", i ? "\n" : "", keys[i]);
        quote(f, val ? val : "");
    }
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

static int field_value(const struct mounted *mp, const char *fp, char **ret,
                       struct wl_error *err)
{
    const struct wl_pod_spec *s = mp->spec;
    const char *v = NULL;
    char *owned = NULL;
    if (!strcmp(fp, "metadata.name"))
        v = s->name;
    else if (!strcmp(fp, "metadata.namespace"))
        v = s->namespace_;
    else if (!strcmp(fp, "metadata.uid"))
        v = s->uid ? s->uid : "";
    else if (!strcmp(fp, "metadata.labels") ||
             !strcmp(fp, "metadata.annotations")) {
        owned = format_map(
            wl_json_get(mp->pod, "metadata", fp + strlen("metadata."), NULL));
        if (!owned)
            return wl_error_set(err, ENOMEM, "%s", fp);
    } else {
        v = wl_fieldref_map_value(mp->pod, fp);
    }
    if (!v && !owned)
        return wl_error_set(err, 0, "fieldRef %s is not supported", fp);
    if (!owned && !(owned = strdup(v)))
        return wl_error_set(err, ENOMEM, "%s", fp);
    *ret = owned;
    return 0;
}

/* resourceFieldRef: limits.memory and limits.cpu of a container, with a
 * divisor, rounded up (as the runner's env). */
static int resource_value(const struct mounted *mp, const json_t *ref,
                          char **ret, struct wl_error *err)
{
    const char *cname = wl_json_str(ref, "containerName", NULL);
    const char *res = wl_json_str(ref, "resource", NULL);
    const char *div = wl_json_str(ref, "divisor", NULL);
    const struct wl_container *c = NULL;
    for (size_t i = 0; cname && i < mp->spec->ncontainers; i++)
        if (!strcmp(mp->spec->containers[i].name, cname))
            c = &mp->spec->containers[i];
    if (!c || !res)
        return wl_error_set(err, 0,
                            "resourceFieldRef: container \"%s\" "
                            "not found",
                            cname ? cname : "");
    int64_t value, divisor = 1;
    if (!strcmp(res, "limits.memory")) {
        if (div && wl_quantity_parse_bytes(div, &divisor, err) < 0)
            return -1;
        value = c->memory_limit;
    } else if (!strcmp(res, "limits.cpu")) {
        divisor = 1000;
        if (div && wl_quantity_parse_millis(div, &divisor, err) < 0)
            return -1;
        value = c->cpu_limit_millis;
    } else {
        return wl_error_set(err, 0, "resourceFieldRef %s is not supported",
                            res);
    }
    if (divisor <= 0)
        return wl_error_set(err, 0,
                            "resourceFieldRef: divisor must be "
                            "positive");
    return asprintf(ret, "%lld", (long long)((value + divisor - 1) / divisor)) <
                   0
               ? wl_error_set(err, ENOMEM, "resourceFieldRef")
               : 0;
}

static int downward_source(struct mounted *mp, const json_t *src,
                           unsigned dmode, struct payload *p,
                           struct wl_error *err)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(src, "items"), i, it)
    {
        const char *path = wl_json_str(it, "path", NULL);
        const char *fp = wl_json_str(it, "fieldRef", "fieldPath", NULL);
        json_t *rf = json_object_get(it, "resourceFieldRef");
        char *v = NULL;
        if (!path)
            return wl_error_set(err, 0, "items[%zu]: path missing", i);
        if (fp   ? field_value(mp, fp, &v, err) < 0
            : rf ? resource_value(mp, rf, &v, err) < 0
                 : wl_error_set(err, 0,
                                "items[%zu]: no fieldRef or "
                                "resourceFieldRef",
                                i) < 0)
            return -1;
        if (payload_add(p, path, v, strlen(v), mode_of(it, "mode", dmode),
                        err) < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------ serviceAccountToken */

static struct token *token_slot(struct mounted *mp, const char *key)
{
    for (size_t i = 0; i < mp->ntokens; i++)
        if (!strcmp(mp->tokens[i].key, key))
            return &mp->tokens[i];
    struct token *t = realloc(mp->tokens, (mp->ntokens + 1) * sizeof(*t));
    if (!t)
        return NULL;
    mp->tokens = t;
    t = &mp->tokens[mp->ntokens];
    memset(t, 0, sizeof(*t));
    if (!(t->key = strdup(key)))
        return NULL;
    mp->ntokens++;
    return t;
}

/* Seconds until an RFC 3339 UTC time ("2026-11-27T13:25:15Z"); fallback
 * when it does not parse. */
static double seconds_until(const char *ts, double fallback)
{
    time_t t;
    if (wl_time_parse(ts, &t) < 0)
        return fallback;
    return difftime(t, time(NULL));
}

/* TokenRequest for the pod's service account, bound to the pod. */
static int request_token(struct wl_volume_manager *vm, struct mounted *mp,
                         const char *audience, int64_t exp, struct token *t,
                         struct wl_error *err)
{
    const char *sa =
        mp->spec->service_account ? mp->spec->service_account : "default";
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "/api/v1/namespaces/%s/serviceaccounts/%s/token",
                 mp->spec->namespace_, sa) < 0)
        return wl_error_set(err, ENOMEM, "token");
    json_t *body = json_pack(
        "{s:s, s:s, s:{s:I, s:{s:s, s:s, s:s, s:s}}}", "apiVersion",
        "authentication.k8s.io/v1", "kind", "TokenRequest", "spec",
        "expirationSeconds", (json_int_t)exp, "boundObjectRef", "apiVersion",
        "v1", "kind", "Pod", "name", mp->spec->name, "uid", mp->uid);
    if (body && audience && *audience)
        json_object_set_new(json_object_get(body, "spec"), "audiences",
                            json_pack("[s]", audience));
    json_t *resp = NULL;
    int rc = body ? wl_kube_request(vm->client, "POST", path, NULL, body, &resp,
                                    NULL, err)
                  : wl_error_set(err, ENOMEM, "token");
    json_decref(body);
    if (rc < 0)
        return -1;
    const char *tok = wl_json_str(resp, "status", "token", NULL);
    char *copy = tok ? strdup(tok) : NULL;
    double life = seconds_until(
        wl_json_str(resp, "status", "expirationTimestamp", NULL), (double)exp);
    json_decref(resp);
    if (!copy)
        return wl_error_set(err, 0, "TokenRequest: no token in the answer");
    if (life > TOKEN_MAX_AGE_S / 0.8)
        life = TOKEN_MAX_AGE_S / 0.8;
    if (t->value)
        explicit_bzero(t->value, strlen(t->value));
    free(t->value);
    t->value = copy;
    /* Refreshed at 80% of its lifetime, as the kubelet's token manager. */
    t->refresh_at = wl_now_s() + 0.8 * (life > 0 ? life : 0);
    log_info("token requested pod=%s/%s serviceaccount=%s expires_in=%.0fs",
             mp->spec->namespace_, mp->spec->name, sa, life);
    return 0;
}

static int token_source(struct wl_volume_manager *vm, struct mounted *mp,
                        const char *vol, size_t idx, const json_t *src,
                        unsigned dmode, struct payload *p, struct wl_error *err)
{
    const char *path = wl_json_str(src, "path", NULL);
    const char *aud = wl_json_str(src, "audience", NULL);
    json_t *e = json_object_get(src, "expirationSeconds");
    int64_t exp = json_is_integer(e) ? json_integer_value(e)
                                     : WL_TOKEN_DEFAULT_EXPIRATION_S;
    if (exp < WL_TOKEN_MIN_EXPIRATION_S)
        exp = WL_TOKEN_MIN_EXPIRATION_S;
    if (!path)
        return wl_error_set(err, 0, "serviceAccountToken: path missing");
    char key[600];
    snprintf(key, sizeof(key), "%s/%zu", vol, idx);
    struct token *t = token_slot(mp, key);
    if (!t)
        return wl_error_set(err, ENOMEM, "token");
    if ((!t->value || wl_now_s() >= t->refresh_at) &&
        request_token(vm, mp, aud, exp, t, err) < 0)
        return -1;
    char *v = strdup(t->value);
    if (!v)
        return wl_error_set(err, ENOMEM, "token");
    return payload_add(p, path, v, strlen(v), dmode, err);
}

/* ---------------------------------------------------------------- volumes */

static int projected(struct wl_volume_manager *vm, struct mounted *mp,
                     const struct wl_volume *v, unsigned dmode,
                     struct payload *p, struct wl_error *err)
{
    size_t i;
    json_t *src;
    json_array_foreach(json_object_get(v->source, "sources"), i, src)
    {
        json_t *s;
        int rc;
        if ((s = json_object_get(src, "configMap")))
            rc = object_source(vm, mp, false, s, dmode, p, err);
        else if ((s = json_object_get(src, "secret")))
            rc = object_source(vm, mp, true, s, dmode, p, err);
        else if ((s = json_object_get(src, "downwardAPI")))
            rc = downward_source(mp, s, dmode, p, err);
        else if ((s = json_object_get(src, "serviceAccountToken")))
            rc = token_source(vm, mp, v->name, i, s, dmode, p, err);
        else
            rc = wl_error_set(err, 0, "sources[%zu]: unsupported source", i);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Whether a projected volume carries a secret or a token. */
static bool projected_secret(const json_t *source)
{
    size_t i;
    json_t *src;
    json_array_foreach(
        json_object_get(source, "sources"), i,
        src) if (json_object_get(src, "secret") ||
                 json_object_get(src, "serviceAccountToken")) return true;
    return false;
}

static int volume_dir(const struct wl_volume_manager *vm, const char *uid,
                      const char *name, char **ret)
{
    return asprintf(ret, "%s/pods/%s/volumes/%s", vm->cfg->data_dir, uid, name);
}

/* Builds and writes one volume. Secret-bearing volumes get a 0700
 * directory and files without group/other bits: wasm modules all run as
 * wasmlet's own user, so nobody else on the host needs to read them. */
static int write_volume(struct wl_volume_manager *vm, struct mounted *mp,
                        const struct wl_volume *v, struct wl_error *err)
{
    struct payload p = {0};
    unsigned dmode = mode_of(v->source, "defaultMode", 0644);
    int rc;
    switch (v->type) {
    case WL_VOL_CONFIGMAP:
    case WL_VOL_SECRET:
        p.secret = v->type == WL_VOL_SECRET;
        rc = object_source(vm, mp, p.secret, v->source, dmode, &p, err);
        break;
    case WL_VOL_DOWNWARDAPI:
        rc = downward_source(mp, v->source, dmode, &p, err);
        break;
    default:
        p.secret = projected_secret(v->source);
        rc = projected(vm, mp, v, dmode, &p, err);
    }
    _cleanup_free_ struct wl_aw_file *files =
        calloc(p.n ? p.n : 1, sizeof(*files));
    _cleanup_free_ char *dir = NULL;
    if (rc == 0 && (!files || volume_dir(vm, mp->uid, v->name, &dir) < 0))
        rc = wl_error_set(err, ENOMEM, "volume");
    for (size_t i = 0; rc == 0 && i < p.n; i++)
        files[i] = (struct wl_aw_file){
            p.files[i].path, p.files[i].data, p.files[i].len,
            p.secret ? p.files[i].mode & ~077u : p.files[i].mode};
    bool changed = false;
    if (rc == 0)
        rc = wl_atomic_write(dir, p.secret ? 0700 : 0755, files, p.n, &changed,
                             err);
    if (rc == 0 && changed)
        log_info("volume written pod=%s/%s volume=%s files=%zu",
                 mp->spec->namespace_, mp->spec->name, v->name, p.n);
    payload_clear(&p);
    return rc;
}

/* ---------------------------------------------------------------- thread */

static void reply(struct wl_volume_manager *vm, struct mounted *mp, bool ok,
                  const char *message)
{
    if (mp->reported && mp->reported_ok == ok &&
        (ok || !strcmp(mp->reported_msg ? mp->reported_msg : "", message)))
        return; /* nothing new for the owner */
    struct wl_pod_msg *m = calloc(1, sizeof(*m));
    if (!m)
        return;
    m->kind = WL_MSG_VOLUMES;
    m->uid = strdup(mp->uid);
    m->ok = ok;
    m->message = ok ? NULL : strdup(message);
    if (!m->uid || wl_queue_push(vm->reply, m) < 0) {
        wl_pod_msg_free(m);
        return;
    }
    mp->reported = true;
    mp->reported_ok = ok;
    free(mp->reported_msg);
    mp->reported_msg = ok ? NULL : strdup(message);
}

/* An emptyDir with a sizeLimit or medium Memory: the limit must parse
 * (else FailedMount, as a mount the kubelet cannot set up), and medium
 * Memory is a tmpfs, or where this node cannot mount one a plain
 * directory (said once: the sizeLimit is still enforced, by eviction). */
static int setup_emptydir(struct wl_volume_manager *vm, struct mounted *mp,
                          const struct wl_volume *v, struct wl_error *err)
{
    int64_t size = 0;
    const char *text = NULL;
    _cleanup_free_ char *dir = NULL;
    int merr = 0;
    if (wl_emptydir_limit(v, &size, &text, err) < 0)
        return -1;
    if (!wl_emptydir_memory(v))
        return 0; /* a plain emptyDir: the runner makes it */
    if (volume_dir(vm, mp->uid, v->name, &dir) < 0)
        return wl_error_set(err, ENOMEM, "volume");
    bool was_mounted = wl_emptydir_is_mount(dir);
    if (wl_emptydir_setup_memory(dir, size, &merr, err) < 0)
        return -1;
    if (merr == 0 && !was_mounted)
        log_info("tmpfs mounted pod=%s/%s volume=%s size=%s",
                 mp->spec->namespace_, mp->spec->name, v->name,
                 text ? text : "half-of-memory");
    if (merr != 0 && !vm->memory_plain_logged) {
        vm->memory_plain_logged = true;
        log_info("emptyDir medium Memory is a plain directory on this node "
                 "(no tmpfs: %s); sizeLimit is enforced by eviction",
                 merr == EPERM && geteuid() != 0 ? "wasmlet does not run as "
                                                   "root"
                                                 : strerror(merr));
    }
    return 0;
}

/* emptyDir sizeLimit, as the kubelet's eviction manager
 * (emptyDirLimitEviction): a volume using more than its limit evicts the
 * pod. The owner stops it and fails it with reason Evicted; we only
 * measure and tell, once. */
static void check_limits(struct wl_volume_manager *vm, struct mounted *mp)
{
    mp->check_due = wl_now_s() + WL_EMPTYDIR_CHECK_S;
    for (size_t i = 0; i < mp->spec->nvolumes && !mp->evicted; i++) {
        const struct wl_volume *v = &mp->spec->volumes[i];
        struct wl_error err = WL_ERROR_INIT;
        _cleanup_free_ char *dir = NULL;
        int64_t limit = 0;
        const char *text = NULL;
        uint64_t used = 0;
        /* A limit that does not parse failed the mount already. */
        if (wl_emptydir_limit(v, &limit, &text, &err) <= 0 ||
            volume_dir(vm, mp->uid, v->name, &dir) < 0 ||
            wl_dir_usage(dir, &used, &err) < 0) {
            if (err.msg)
                log_debug("emptyDir usage pod=%s/%s: %s",
                          mp->spec->namespace_, mp->spec->name, err.msg);
            wl_error_clear(&err);
            continue;
        }
        if (used <= (uint64_t)limit)
            continue;
        struct wl_pod_msg *m = calloc(1, sizeof(*m));
        if (!m)
            return;
        m->kind = WL_MSG_VOLUMES;
        m->ok = true;
        m->evict = true;
        m->uid = strdup(mp->uid);
        /* The kubelet's emptyDirMessageFmt, without its trailing space. */
        if (!m->uid || asprintf(&m->message,
                                "Usage of EmptyDir volume \"%s\" exceeds "
                                "the limit \"%s\".",
                                v->name, text) < 0) {
            m->message = NULL;
            wl_pod_msg_free(m);
            return;
        }
        log_warning("emptyDir over its sizeLimit pod=%s/%s volume=%s "
                    "used=%llu limit=%s",
                    mp->spec->namespace_, mp->spec->name, v->name,
                    (unsigned long long)used, text);
        if (wl_queue_push(vm->reply, m) < 0) {
            wl_pod_msg_free(m);
            return;
        }
        mp->evicted = true;
    }
}

static void sync_pod(struct wl_volume_manager *vm, struct mounted *mp)
{
    struct wl_error err = WL_ERROR_INIT;
    const struct wl_volume *failed = NULL;
    for (size_t i = 0; i < mp->spec->nvolumes && !failed; i++) {
        const struct wl_volume *v = &mp->spec->volumes[i];
        if ((managed(v->type) && write_volume(vm, mp, v, &err) < 0) ||
            (wl_emptydir_managed(v) && setup_emptydir(vm, mp, v, &err) < 0))
            failed = v;
    }
    double now = wl_now_s();
    if (!failed) {
        mp->delay = 0;
        mp->due = now + WL_VOLUME_RESYNC_S;
        for (size_t i = 0; i < mp->ntokens; i++)
            if (mp->tokens[i].refresh_at < mp->due)
                mp->due = mp->tokens[i].refresh_at;
        reply(vm, mp, true, NULL);
        return;
    }
    mp->delay = mp->delay ? mp->delay * 2 : 1;
    if (mp->delay > WL_VOLUME_BACKOFF_MAX_S)
        mp->delay = WL_VOLUME_BACKOFF_MAX_S;
    mp->due = now + mp->delay;
    /* The kubelet's wording, so users find it as they know it. */
    _cleanup_free_ char *msg = NULL;
    if (asprintf(&msg, "MountVolume.SetUp failed for volume \"%s\" : %s",
                 failed->name, err.msg ? err.msg : "out of memory") >= 0) {
        log_warning("volume mount failed pod=%s/%s: %s", mp->spec->namespace_,
                    mp->spec->name, msg);
        wl_pod_event(vm->client, vm->cfg->node_name, mp->pod, NULL, true,
                     "FailedMount", "%s", msg);
        reply(vm, mp, false, msg);
    }
    wl_error_clear(&err);
}

static struct mounted *find(struct wl_volume_manager *vm, const char *uid)
{
    for (struct mounted *mp = vm->pods; mp; mp = mp->next)
        if (!strcmp(mp->uid, uid))
            return mp;
    return NULL;
}

static void on_mount(struct wl_volume_manager *vm, json_t *pod)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_pod_spec *spec = NULL;
    if (wl_pod_spec_parse(pod, &spec, &err) < 0 || !spec->uid) {
        log_warning("volume mount: %s", err.msg ? err.msg : "pod has no uid");
        wl_error_clear(&err);
        wl_pod_spec_free(spec);
        json_decref(pod);
        return;
    }
    struct mounted *mp = find(vm, spec->uid);
    if (!mp) {
        mp = calloc(1, sizeof(*mp));
        if (!mp || !(mp->uid = strdup(spec->uid))) {
            free(mp);
            wl_pod_spec_free(spec);
            json_decref(pod);
            return;
        }
        mp->next = vm->pods;
        vm->pods = mp;
    }
    wl_pod_spec_free(mp->spec);
    json_decref(mp->pod);
    mp->spec = spec;
    mp->pod = pod;
    mp->due = 0;          /* now */
    mp->reported = false; /* the owner waits for an answer */
    mp->check_due = 0;
    for (size_t i = 0; i < spec->nvolumes && !mp->check_due; i++)
        if (json_object_get(spec->volumes[i].source, "sizeLimit") &&
            spec->volumes[i].type == WL_VOL_EMPTYDIR)
            mp->check_due = wl_now_s() + WL_EMPTYDIR_CHECK_S;
}

static void on_unmount(struct wl_volume_manager *vm, const char *uid)
{
    struct mounted **pp = &vm->pods;
    while (*pp && strcmp((*pp)->uid, uid) != 0)
        pp = &(*pp)->next;
    struct mounted *mp = *pp;
    if (!mp)
        return;
    *pp = mp->next;
    for (size_t i = 0; i < mp->spec->nvolumes; i++) {
        struct wl_error err = WL_ERROR_INIT;
        _cleanup_free_ char *dir = NULL;
        /* medium Memory goes too: the kubelet tears down the volumes of
         * terminated pods, and a tmpfs holds memory. */
        bool memory = wl_emptydir_memory(&mp->spec->volumes[i]);
        if (!(managed(mp->spec->volumes[i].type) || memory) ||
            volume_dir(vm, uid, mp->spec->volumes[i].name, &dir) < 0)
            continue;
        if ((memory && wl_emptydir_detach(dir, &err) < 0) ||
            wl_remove_tree(dir, &err) < 0) {
            log_warning("volume unmount pod=%s/%s: %s", mp->spec->namespace_,
                        mp->spec->name, err.msg);
            wl_error_clear(&err);
        }
    }
    /* The owner may have removed the pod directory while a write of ours
     * made it again: drop the parents when that left them empty. */
    _cleanup_free_ char *vols = NULL;
    if (asprintf(&vols, "%s/pods/%s/volumes", vm->cfg->data_dir, uid) >= 0 &&
        rmdir(vols) == 0) {
        vols[strlen(vols) - strlen("/volumes")] = '\0';
        (void)rmdir(vols);
    }
    log_info("volumes unmounted pod=%s/%s", mp->spec->namespace_,
             mp->spec->name);
    mounted_free(mp);
}

/* After a client certificate rotation: a new client. */
static void renew_client(struct wl_volume_manager *vm)
{
    struct wl_error err = WL_ERROR_INIT;
    if (wl_kube_client_renew(vm->cfg->creds, "wasmlet/" WL_VERSION,
                             &vm->client, &vm->client_gen, &err) < 0) {
        log_warning("volume manager: %s", err.msg);
        wl_error_clear(&err);
    }
}

static void *volume_main(void *arg)
{
    struct wl_volume_manager *vm = arg;
    while (!wl_queue_closed(vm->requests)) {
        /* Sleep until the next resync or check is due; with nothing
         * mounted, until a request comes (no polling when idle). */
        double now = wl_now_s(), next = HUGE_VAL;
        for (struct mounted *mp = vm->pods; mp; mp = mp->next) {
            if (mp->due < next)
                next = mp->due;
            if (mp->check_due && !mp->evicted && mp->check_due < next)
                next = mp->check_due;
        }
        long wait = next == HUGE_VAL ? -1
                    : next > now       ? (long)((next - now) * 1000) + 1
                                       : 0;
        struct req *r = wl_queue_pop(vm->requests, wait);
        for (; r; r = wl_queue_pop(vm->requests, 0)) {
            if (r->pod)
                on_mount(vm, TAKE_PTR(r->pod));
            else
                on_unmount(vm, r->uid);
            req_free(r);
        }
        renew_client(vm);
        now = wl_now_s();
        for (struct mounted *mp = vm->pods; mp; mp = mp->next)
            if (mp->due <= now && !wl_queue_closed(vm->requests))
                sync_pod(vm, mp);
        now = wl_now_s();
        for (struct mounted *mp = vm->pods; mp; mp = mp->next)
            if (mp->check_due && !mp->evicted && mp->check_due <= now)
                check_limits(vm, mp);
    }
    while (vm->pods) {
        struct mounted *mp = vm->pods;
        vm->pods = mp->next;
        mounted_free(mp);
    }
    return NULL;
}

int wl_volume_manager_start(const struct wl_pod_manager_config *cfg,
                            struct wl_queue *reply_q,
                            struct wl_volume_manager **ret,
                            struct wl_error *err)
{
    struct wl_volume_manager *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return wl_error_set(err, ENOMEM, "volume manager");
    vm->cfg = cfg;
    vm->reply = reply_q;
    vm->requests = wl_queue_new(req_free);
    if (!vm->requests ||
        wl_kube_client_from_creds(cfg->creds, "wasmlet/" WL_VERSION,
                                  &vm->client, &vm->client_gen, err) < 0) {
        wl_queue_free(vm->requests);
        free(vm);
        return err && err->msg ? -1
                               : wl_error_set(err, ENOMEM, "volume manager");
    }
    if (pthread_create(&vm->thread, NULL, volume_main, vm) != 0) {
        wl_kube_client_free(vm->client);
        wl_queue_free(vm->requests);
        free(vm);
        return wl_error_set(err, EAGAIN, "volume manager thread");
    }
    *ret = vm;
    return 0;
}

void wl_volume_manager_stop(struct wl_volume_manager *vm)
{
    if (!vm)
        return;
    wl_queue_close(vm->requests);
    (void)pthread_join(vm->thread, NULL);
    wl_queue_free(vm->requests);
    wl_kube_client_free(vm->client);
    free(vm);
}

static int push(struct wl_volume_manager *vm, json_t *pod, const char *uid)
{
    struct req *r = calloc(1, sizeof(*r));
    if (!r || (uid && !(r->uid = strdup(uid)))) {
        free(r);
        json_decref(pod);
        return -1;
    }
    r->pod = pod;
    if (wl_queue_push(vm->requests, r) < 0) {
        req_free(r);
        return -1;
    }
    return 0;
}

int wl_volume_manager_mount(struct wl_volume_manager *vm, json_t *pod)
{
    if (!pod)
        return -1;
    return push(vm, pod, NULL);
}

int wl_volume_manager_unmount(struct wl_volume_manager *vm, const char *uid)
{
    return push(vm, NULL, uid);
}
