#include "oci/puller.h"
#include "util/metrics_daemon.h"
#include "util/time.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/creds.h"
#include "oci/manifest.h"
#include "oci/ref.h"
#include "oci/registry.h"
#include "oci/tar.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/fileio.h"
#include "util/log.h"

#define MAX_INFLIGHT 64

struct wl_puller {
    struct wl_store *store;
    char **insecure;
    size_t ninsecure;
    char *certs_dir;
    char *auth_file;
    wl_progress_fn progress;
    void *progress_data;
    /* Single flight: digests being downloaded now. Guarded by lock;
     * waiters sleep on done. */
    pthread_mutex_t lock;
    pthread_cond_t done;
    char *inflight[MAX_INFLIGHT];
    atomic_uint downloads;
    atomic_bool cancelled; /* wl_puller_cancel(): abandon transfers */
};

/* ---- policy ---- */

enum wl_pull_policy wl_pull_policy_default(const char *image)
{
    struct wl_oci_ref *ref = NULL;
    struct wl_error err = WL_ERROR_INIT;
    enum wl_pull_policy p = WL_PULL_ALWAYS;
    if (wl_oci_ref_parse(image, &ref, &err) == 0) {
        bool latest = !ref->digest && ref->tag && strcmp(ref->tag, "latest") == 0;
        /* An explicit ":latest" and no tag at all both parse to "latest". */
        p = latest ? WL_PULL_ALWAYS : WL_PULL_IF_NOT_PRESENT;
    }
    wl_error_clear(&err);
    wl_oci_ref_free(ref);
    return p;
}

int wl_pull_policy_parse(const char *s, enum wl_pull_policy *ret)
{
    if (strcmp(s, "Always") == 0)
        *ret = WL_PULL_ALWAYS;
    else if (strcmp(s, "IfNotPresent") == 0)
        *ret = WL_PULL_IF_NOT_PRESENT;
    else if (strcmp(s, "Never") == 0)
        *ret = WL_PULL_NEVER;
    else
        return -1;
    return 0;
}

/* ---- life cycle ---- */

int wl_puller_new(const struct wl_puller_config *cfg, struct wl_puller **ret,
                  struct wl_error *err)
{
    struct wl_puller *p = calloc(1, sizeof(*p));
    if (!p)
        return wl_error_set(err, ENOMEM, "puller");
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->cancelled, false);
    if (wl_store_open(cfg->store_dir, &p->store, err) < 0) {
        wl_puller_free(p);
        return -1;
    }
    p->insecure = calloc(cfg->ninsecure + 1, sizeof(char *));
    p->certs_dir = cfg->certs_dir ? strdup(cfg->certs_dir) : NULL;
    p->auth_file = cfg->auth_file ? strdup(cfg->auth_file) : NULL;
    p->progress = cfg->progress;
    p->progress_data = cfg->progress_data;
    bool ok = p->insecure && (!cfg->certs_dir || p->certs_dir) &&
              (!cfg->auth_file || p->auth_file);
    for (size_t i = 0; ok && i < cfg->ninsecure; i++) {
        ok = (p->insecure[i] = strdup(cfg->insecure[i])) != NULL;
        p->ninsecure = i + 1;
    }
    if (!ok) {
        wl_puller_free(p);
        return wl_error_set(err, ENOMEM, "puller");
    }
    *ret = p;
    return 0;
}

void wl_puller_cancel(struct wl_puller *p)
{
    atomic_store(&p->cancelled, true);
}

void wl_puller_free(struct wl_puller *p)
{
    if (!p)
        return;
    wl_store_free(p->store);
    for (size_t i = 0; p->insecure && i < p->ninsecure; i++)
        free(p->insecure[i]);
    free(p->insecure);
    free(p->certs_dir);
    free(p->auth_file);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->done);
    free(p);
}

struct wl_store *wl_puller_store(struct wl_puller *p) { return p->store; }

unsigned wl_puller_downloads(const struct wl_puller *p)
{
    return atomic_load(&p->downloads);
}

void wl_pull_result_clear(struct wl_pull_result *r)
{
    free(r->image_id);
    free(r->module_digest);
    free(r->module_path);
    memset(r, 0, sizeof(*r));
}

/* ---- single flight ---- */

static int inflight_find(struct wl_puller *p, const char *digest)
{
    for (int i = 0; i < MAX_INFLIGHT; i++)
        if (p->inflight[i] && strcmp(p->inflight[i], digest) == 0)
            return i;
    return -1;
}

/* The size of stored blob digest. */
static int blob_size(struct wl_puller *p, const char *digest, uint64_t *ret,
                     struct wl_error *err)
{
    struct stat st;
    _cleanup_free_ char *path = wl_store_blob_path(p->store, digest);
    if (!path || stat(path, &st) < 0)
        return wl_error_set(err, path ? errno : ENOMEM, "blob %s", digest);
    *ret = (uint64_t)st.st_size;
    return 0;
}

/* Downloads blob digest unless it is stored or another thread is already
 * downloading it, in which case this waits for that download. *ret_size
 * gets the stored blob's size; *downloaded grows by it when this call
 * downloaded it. */
static int fetch_blob(struct wl_puller *p, struct wl_registry *reg,
                      const char *repo, const char *digest, uint64_t max,
                      uint64_t *downloaded, uint64_t *ret_size,
                      struct wl_error *err)
{
    int slot = -1;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (wl_store_has(p->store, digest)) {
            pthread_mutex_unlock(&p->lock);
            return blob_size(p, digest, ret_size, err);
        }
        if (inflight_find(p, digest) < 0) {
            for (int i = 0; i < MAX_INFLIGHT && slot < 0; i++)
                if (!p->inflight[i])
                    slot = i;
            if (slot >= 0)
                break;
        }
        /* Someone is fetching it (or every slot is busy): wait. */
        pthread_cond_wait(&p->done, &p->lock);
    }
    p->inflight[slot] = strdup(digest);
    pthread_mutex_unlock(&p->lock);

    atomic_fetch_add(&p->downloads, 1);
    int rc = wl_registry_get_blob(reg, repo, digest, max, p->store,
                                  p->progress, p->progress_data, err);
    if (rc == 0 && (rc = blob_size(p, digest, ret_size, err)) == 0)
        *downloaded += *ret_size;

    pthread_mutex_lock(&p->lock);
    free(p->inflight[slot]);
    p->inflight[slot] = NULL;
    pthread_cond_broadcast(&p->done);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

/* ---- one pull ---- */

struct pull {
    struct wl_puller *p;
    struct wl_oci_ref *ref;
    char *canonical;
    struct wl_registry *reg;
    struct wl_pull_result *res;
};

static bool is_insecure(const struct wl_puller *p, const char *host)
{
    for (size_t i = 0; i < p->ninsecure; i++)
        if (strcmp(p->insecure[i], host) == 0)
            return true;
    return false;
}

/* Credentials for host: the pod's secrets first, then the node's file. */
static int find_creds(const struct wl_puller *p, const struct wl_pull_auth *a,
                      const char *host, char **user, char **pass,
                      struct wl_error *err)
{
    for (size_t i = 0; a && i < a->n; i++) {
        int r = wl_creds_lookup(a->docker_configs[i], a->docker_config_lens[i],
                                host, user, pass, err);
        if (r != 0)
            return r < 0 ? wl_error_prefix(err, "imagePullSecret %zu", i) : 0;
    }
    if (!p->auth_file)
        return 0;
    _cleanup_free_ uint8_t *data = NULL;
    size_t len = 0;
    if (wl_file_read(AT_FDCWD, p->auth_file, WL_CREDS_MAX_SIZE, &data, &len,
                     err) < 0)
        return wl_error_prefix(err, "registry auth file");
    int r = wl_creds_lookup((char *)data, len, host, user, pass, err);
    return r < 0 ? wl_error_prefix(err, "%s", p->auth_file) : 0;
}

static int open_registry(struct pull *pl, const struct wl_pull_auth *auth,
                         struct wl_error *err)
{
    const char *host = wl_oci_ref_api_host(pl->ref);
    _cleanup_free_ char *user = NULL, *pass = NULL, *ca = NULL;
    struct stat st;

    if (find_creds(pl->p, auth, pl->ref->registry, &user, &pass, err) < 0)
        return -1;
    if (pl->p->certs_dir &&
        asprintf(&ca, "%s/%s/ca.crt", pl->p->certs_dir, host) >= 0 &&
        stat(ca, &st) != 0) {
        free(ca);
        ca = NULL;
    }
    struct wl_registry_opts o = {
        .insecure = is_insecure(pl->p, pl->ref->registry),
        .ca_file = ca,
        .username = user,
        .password = pass,
        .cancel = &pl->p->cancelled,
    };
    int r = wl_registry_new(host, &o, &pl->reg, err);
    if (pass)
        explicit_bzero(pass, strlen(pass));
    return r;
}

/* Fetches manifest reference, stores it, and decodes it. */
static int get_manifest(struct pull *pl, const char *reference,
                        struct wl_oci_manifest **ret, char *digest,
                        struct wl_error *err)
{
    _cleanup_free_ char *body = NULL, *ct = NULL;
    size_t len = 0;
    if (wl_registry_get_manifest(pl->reg, pl->ref->repository, reference,
                                 &body, &len, &ct, digest, err) < 0 ||
        wl_store_put(pl->p->store, body, len, digest, err) < 0)
        return -1;
    return wl_oci_manifest_parse(body, len, ct, ret, err);
}

/* Fetches the blob a descriptor names and checks it is the size the
 * manifest declares: no more is downloaded than declared (up to limit),
 * and a blob that is shorter (or, cached, of another size) is refused. */
static int fetch_desc(struct pull *pl, const struct wl_oci_descriptor *d,
                      uint64_t limit, struct wl_error *err)
{
    if (d->size < 0 || (uint64_t)d->size > limit)
        return wl_error_set(err, 0, "blob %s of %lld bytes is over the limit "
                                    "of %llu",
                            d->digest, (long long)d->size,
                            (unsigned long long)limit);
    uint64_t max = d->size > 0 ? (uint64_t)d->size : limit, size;
    if (fetch_blob(pl->p, pl->reg, pl->ref->repository, d->digest, max,
                   &pl->res->downloaded, &size, err) < 0) {
        if (err->errnum != EFBIG || max == limit)
            return -1;
        wl_error_clear(err);
        return wl_error_set(err, 0, "blob %s is larger than the %lld bytes "
                                    "the manifest declares; not stored",
                            d->digest, (long long)d->size);
    }
    if (size != (uint64_t)d->size)
        return wl_error_set(err, 0, "blob %s is %llu bytes; the manifest "
                                    "says %lld",
                            d->digest, (unsigned long long)size,
                            (long long)d->size);
    return 0;
}

/* Format (c): find the module file in the layers, topmost first. */
static int module_from_image(struct pull *pl, const struct wl_oci_manifest *m,
                             char *module_digest, struct wl_error *err)
{
    _cleanup_free_ uint8_t *cfg = NULL;
    _cleanup_free_ char *path = NULL;
    size_t cfg_len = 0;

    if (fetch_desc(pl, &m->config, WL_MANIFEST_MAX_SIZE, err) < 0 ||
        wl_store_read(pl->p->store, m->config.digest, WL_MANIFEST_MAX_SIZE,
                      &cfg, &cfg_len, err) < 0 ||
        wl_oci_image_config_module((char *)cfg, cfg_len, &path, err) < 0)
        return -1;

    for (size_t i = m->nentries; i-- > 0;) {
        const struct wl_oci_descriptor *l = &m->entries[i];
        if (strstr(l->media_type, "zstd"))
            return wl_error_set(err, 0, "layer %s: zstd layers are not "
                                        "supported",
                                l->digest);
        if (fetch_desc(pl, l, WL_LAYER_MAX_BYTES, err) < 0)
            return -1;
        _cleanup_free_ char *lp = wl_store_blob_path(pl->p->store, l->digest);
        _cleanup_close_ int fd = lp ? open(lp, O_RDONLY | O_CLOEXEC) : -1;
        if (fd < 0)
            return wl_error_set(err, errno, "open layer %s", l->digest);
        _cleanup_free_ uint8_t *data = NULL;
        size_t len = 0;
        int found = 0;
        if (wl_tar_extract(fd, path, WL_MODULE_MAX_BYTES, &data, &len, &found,
                           err) < 0)
            return wl_error_prefix(err, "layer %s", l->digest);
        if (!found)
            continue;
        if (wl_digest_of(data, len, module_digest, err) < 0)
            return -1;
        return wl_store_put(pl->p->store, data, len, module_digest, err);
    }
    return wl_error_set(err, 0, "no layer holds %s, the module the image "
                                "config names",
                        path);
}

/* Resolves the module of manifest digest (already stored) and fills
 * module_digest. */
static int module_of(struct pull *pl, struct wl_oci_manifest *m,
                     char *module_digest, struct wl_error *err)
{
    enum wl_wasm_format fmt;
    const struct wl_oci_descriptor *layer = NULL;

    if (wl_oci_manifest_pick_wasm(m, &fmt, &layer, err) < 0)
        return -1;
    if (fmt == WL_WASM_FORMAT_IMAGE)
        return module_from_image(pl, m, module_digest, err);
    if (layer->size > (int64_t)WL_MODULE_MAX_BYTES)
        return wl_error_set(err, 0, "module layer of %lld bytes is over the "
                                    "limit of %llu",
                            (long long)layer->size, WL_MODULE_MAX_BYTES);
    if (fetch_desc(pl, layer, WL_MODULE_MAX_BYTES, err) < 0)
        return -1;
    memcpy(module_digest, layer->digest, strlen(layer->digest) + 1);
    return 0;
}

static char *module_key(const char *manifest_digest)
{
    char *k = NULL;
    if (asprintf(&k, "module-of %s", manifest_digest) < 0)
        return NULL;
    return k;
}

static int fill_result(struct pull *pl, const char *manifest_digest,
                       const char *module_digest, struct wl_error *err)
{
    struct wl_pull_result *res = pl->res;
    struct stat st;
    if (asprintf(&res->image_id, "%s/%s@%s", pl->ref->registry,
                 pl->ref->repository, manifest_digest) < 0)
        res->image_id = NULL;
    res->module_digest = strdup(module_digest);
    res->module_path = wl_store_blob_path(pl->p->store, module_digest);
    if (!res->image_id || !res->module_digest || !res->module_path)
        return wl_error_set(err, ENOMEM, "pull");
    if (stat(res->module_path, &st) < 0)
        return wl_error_set(err, errno, "module %s", module_digest);
    res->module_size = (uint64_t)st.st_size;
    return 0;
}

/* IfNotPresent / Never: what a previous pull stored for this reference. */
static int from_store(struct pull *pl, struct wl_error *err)
{
    _cleanup_free_ char *manifest = pl->ref->digest
                                        ? strdup(pl->ref->digest)
                                        : wl_store_tag_get(pl->p->store,
                                                           pl->canonical);
    if (!manifest)
        return 0;
    _cleanup_free_ char *key = module_key(manifest);
    _cleanup_free_ char *module = key ? wl_store_tag_get(pl->p->store, key)
                                      : NULL;
    if (!module || !wl_store_has(pl->p->store, module))
        return 0;
    if (fill_result(pl, manifest, module, err) < 0)
        return -1;
    pl->res->cached = true;
    return 1;
}

static int pull_remote(struct pull *pl, const struct wl_pull_auth *auth,
                       struct wl_error *err)
{
    struct wl_oci_manifest *m = NULL;
    _cleanup_free_ char *key = NULL;
    char digest[80], module[80];
    int rc = -1;

    if (open_registry(pl, auth, err) < 0 || wl_registry_ping(pl->reg, err) < 0)
        return -1;
    const char *reference = pl->ref->digest ? pl->ref->digest : pl->ref->tag;
    if (get_manifest(pl, reference, &m, digest, err) < 0)
        goto out;
    if (m->kind == WL_MANIFEST_INDEX) {
        const struct wl_oci_descriptor *d = NULL;
        struct wl_oci_manifest *img = NULL;
        char idx_digest[80];
        memcpy(idx_digest, digest, sizeof(idx_digest));
        if (wl_oci_index_pick_wasm(m, &d, err) < 0 ||
            get_manifest(pl, d->digest, &img, digest, err) < 0)
            goto out;
        wl_oci_manifest_free(m);
        m = img;
        /* imageID names what the user asked for: the index. */
        memcpy(digest, idx_digest, sizeof(digest));
    }
    if (module_of(pl, m, module, err) < 0)
        goto out;
    key = module_key(digest);
    if (!key || wl_store_tag_set(pl->p->store, key, module, err) < 0 ||
        (!pl->ref->digest &&
         wl_store_tag_set(pl->p->store, pl->canonical, digest, err) < 0))
        goto out;
    rc = fill_result(pl, digest, module, err);
out:
    wl_oci_manifest_free(m);
    return rc;
}

int wl_puller_pull(struct wl_puller *p, const char *image,
                   enum wl_pull_policy policy, const struct wl_pull_auth *auth,
                   struct wl_pull_result *ret, struct wl_error *err)
{
    struct wl_pull_result res = {0};
    struct pull pl = {.p = p, .res = &res};
    int rc = -1;

    if (wl_oci_ref_parse(image, &pl.ref, err) < 0)
        return -1;
    pl.canonical = wl_oci_ref_string(pl.ref);
    if (!pl.canonical) {
        wl_error_set(err, ENOMEM, "pull");
        goto out;
    }
    if (policy != WL_PULL_ALWAYS) {
        rc = from_store(&pl, err);
        if (rc != 0) {
            rc = rc > 0 ? 0 : -1;
            goto out;
        }
        if (policy == WL_PULL_NEVER) {
            rc = wl_error_set(err, 0, "image %s is not present and the pull "
                                      "policy is Never",
                              pl.canonical);
            goto out;
        }
    }
    double t0 = wl_now_s();
    rc = pull_remote(&pl, auth, err);
    wl_counter_inc(wl_metric_with(&wl_m_image_pulls, rc < 0 ? "error" : "ok"));
    wl_histogram_observe(&wl_m_image_pull_seconds, wl_now_s() - t0);
    wl_counter_add(&wl_m_image_pull_bytes, res.downloaded);
out:
    if (rc < 0) {
        wl_error_prefix(err, "pull %s", pl.canonical ? pl.canonical : image);
        wl_pull_result_clear(&res);
    } else {
        *ret = res;
    }
    wl_registry_free(pl.reg);
    wl_oci_ref_free(pl.ref);
    free(pl.canonical);
    return rc;
}

static int keep_add(char ***keep, size_t *nkeep, const char *digest,
                    struct wl_error *err)
{
    for (size_t i = 0; i < *nkeep; i++)
        if (strcmp((*keep)[i], digest) == 0)
            return 0;
    char **k = realloc(*keep, (*nkeep + 1) * sizeof(*k));
    if (!k)
        return wl_error_set(err, ENOMEM, "gc");
    *keep = k;
    if (!(k[*nkeep] = strdup(digest)))
        return wl_error_set(err, ENOMEM, "gc");
    (*nkeep)++;
    return 0;
}

static int stored_manifest(struct wl_puller *p, const char *digest,
                           struct wl_oci_manifest **ret, struct wl_error *err)
{
    _cleanup_free_ uint8_t *body = NULL;
    size_t len = 0;
    if (wl_store_read(p->store, digest, WL_MANIFEST_MAX_SIZE, &body, &len,
                      err) < 0)
        return -1;
    return wl_oci_manifest_parse((char *)body, len, NULL, ret, err);
}

int wl_puller_image_blobs(struct wl_puller *p, const char *image,
                          char ***keep, size_t *nkeep, struct wl_error *err)
{
    struct wl_oci_ref *ref = NULL;
    struct wl_oci_manifest *m = NULL;
    _cleanup_free_ char *canonical = NULL, *top = NULL, *key = NULL;
    _cleanup_free_ char *module = NULL;
    int rc = -1;

    if (wl_oci_ref_parse(image, &ref, err) < 0)
        return -1;
    if (!(canonical = wl_oci_ref_string(ref))) {
        wl_error_set(err, ENOMEM, "gc");
        goto out;
    }
    top = ref->digest ? strdup(ref->digest)
                      : wl_store_tag_get(p->store, canonical);
    if (!top || !wl_store_has(p->store, top)) {
        rc = 0; /* never pulled */
        goto out;
    }
    if (keep_add(keep, nkeep, top, err) < 0 ||
        stored_manifest(p, top, &m, err) < 0)
        goto out;
    if (m->kind == WL_MANIFEST_INDEX) {
        const struct wl_oci_descriptor *d = NULL;
        struct wl_oci_manifest *img = NULL;
        if (wl_oci_index_pick_wasm(m, &d, err) < 0 ||
            keep_add(keep, nkeep, d->digest, err) < 0 ||
            stored_manifest(p, d->digest, &img, err) < 0)
            goto out;
        wl_oci_manifest_free(m);
        m = img;
    }
    if (keep_add(keep, nkeep, m->config.digest, err) < 0)
        goto out;
    for (size_t i = 0; i < m->nentries; i++)
        if (keep_add(keep, nkeep, m->entries[i].digest, err) < 0)
            goto out;
    key = module_key(top);
    module = key ? wl_store_tag_get(p->store, key) : NULL;
    if (module && keep_add(keep, nkeep, module, err) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0)
        wl_error_prefix(err, "blobs of %s", image);
    wl_oci_manifest_free(m);
    wl_oci_ref_free(ref);
    return rc;
}
