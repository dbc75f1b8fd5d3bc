#include "runtime/module_cache.h"
#include "util/metrics_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/engine_internal.h"
#include "runtime/wasmtime_error.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/fileio.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/time.h"

/* Largest .wasm compiled, as the puller's WL_MODULE_MAX_BYTES. */
#define WASM_MAX_BYTES (256ull * 1024 * 1024)

/* Modules kept in memory; past this the least recently added is dropped
 * (clones in use stay valid, a later load finds it on disk). */
#define CACHE_MAX_ENTRIES 256

/* A .cwasm file is wasmtime's serialized module followed by this trailer.
 * wasmtime checks its version and settings when deserializing but trusts
 * the code itself, so the sha256 is what stops a torn or bit-flipped file
 * from being run. */
static const char trailer_magic[8] = {'w', 'l', 'c', 'w', 'a', 's', 'm', '1'};
#define SHA256_LEN 32
#define TRAILER_LEN (SHA256_LEN + sizeof(trailer_magic))

/* One digest, from the moment a load of it starts. While a loader works on
 * it (done false) others wait on the cache's condition variable. A
 * successful load stays in the list with its module; a failed one is
 * unlinked at once (so the next load tries again) and freed by whoever
 * drops the last reference. */
struct entry {
    struct entry *next;
    char *digest;
    wasmtime_module_t *module; /* done and loaded */
    char *error;               /* done and failed */
    bool done;
    bool linked;   /* in the list, which then owns the entry */
    unsigned refs; /* loader and waiters currently holding it */
};

struct wl_module_cache {
    struct wl_engine *engine; /* borrowed: compiles and deserializes */
    char *dir;                /* the .cwasm files; NULL: memory only */
    /* Guards every field below and every entry. Held only for list work
     * and clones, never while reading files or compiling. */
    pthread_mutex_t lock;
    pthread_cond_t done;   /* broadcast whenever a load finishes */
    struct entry *entries; /* most recently added first */
    size_t nentries;
    struct wl_module_cache_stats stats;
};

/* What a load outside the lock found, for the counters. */
struct outcome {
    enum wl_module_source how;
    bool rejected;
    bool write_failed;
};

int wl_module_cache_new(struct wl_engine *engine, const char *cache_dir,
                        struct wl_module_cache **ret, struct wl_error *err)
{
    struct wl_module_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return wl_error_set(err, ENOMEM, "create module cache");
    c->engine = engine;
    if (cache_dir && !(c->dir = strdup(cache_dir))) {
        free(c);
        return wl_error_set(err, ENOMEM, "create module cache");
    }
    int r = pthread_mutex_init(&c->lock, NULL);
    if (r != 0) {
        free(c->dir);
        free(c);
        return wl_error_set(err, r, "create module cache");
    }
    r = pthread_cond_init(&c->done, NULL);
    if (r != 0) {
        (void)pthread_mutex_destroy(&c->lock);
        free(c->dir);
        free(c);
        return wl_error_set(err, r, "create module cache");
    }
    *ret = c;
    return 0;
}

static void entry_free(struct entry *e)
{
    if (!e)
        return;
    if (e->module)
        wasmtime_module_delete(e->module);
    free(e->digest);
    free(e->error);
    free(e);
}

void wl_module_cache_free(struct wl_module_cache *c)
{
    if (!c)
        return;
    /* Its owner frees it only once no load is running any more. */
    for (struct entry *e = c->entries, *next; e; e = next) {
        next = e->next;
        entry_free(e);
    }
    (void)pthread_cond_destroy(&c->done);
    (void)pthread_mutex_destroy(&c->lock);
    free(c->dir);
    free(c);
}

const char *wl_module_source_name(enum wl_module_source how)
{
    switch (how) {
    case WL_MODULE_MEMORY:
        return "memory";
    case WL_MODULE_DISK:
        return "disk";
    case WL_MODULE_COMPILED:
        return "compiled";
    }
    return "unknown";
}

void wl_module_cache_stats(struct wl_module_cache *c,
                           struct wl_module_cache_stats *ret)
{
    (void)pthread_mutex_lock(&c->lock);
    *ret = c->stats;
    (void)pthread_mutex_unlock(&c->lock);
}

/* <cache_dir>/<hex sha256 of digest, wasmtime version, settings>.cwasm.
 * The parts are NUL-separated so no two tuples hash the same input. */
static char *cwasm_path(const char *cache_dir, const char *digest)
{
    _cleanup_free_ char *input = NULL;
    int n = asprintf(&input, "wasmlet-cwasm-v1%c%s%c%s%c%s", '\0', digest, '\0',
                     wl_engine_wasmtime_version(), '\0', wl_engine_settings());
    if (n < 0)
        return NULL;
    unsigned char md[SHA256_LEN];
    unsigned int mdlen = 0;
    if (EVP_Digest(input, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1)
        return NULL;
    char key[2 * SHA256_LEN + 1];
    wl_hex_encode(md, SHA256_LEN, key);
    char *path = NULL;
    if (asprintf(&path, "%s/%s.cwasm", cache_dir, key) < 0)
        return NULL;
    return path;
}

static bool sha256_of(const void *data, size_t len, unsigned char *md)
{
    unsigned int n = 0;
    return EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) == 1;
}

/* Loads the module cached at path. Returns 1 with *ret set, 0 for no
 * file, -1 for a file that cannot be used (the caller deletes it), with
 * err saying why. */
static int disk_read(struct wl_engine *engine, const char *path,
                     wasmtime_module_t **ret, struct wl_error *err)
{
    _cleanup_free_ uint8_t *data = NULL;
    size_t len = 0;
    if (wl_file_read(AT_FDCWD, path, WL_CWASM_MAX_BYTES, &data, &len, err) < 0)
        return err->errnum == ENOENT ? 0 : -1;

    if (len < TRAILER_LEN || memcmp(data + len - sizeof(trailer_magic),
                                    trailer_magic, sizeof(trailer_magic)) != 0)
        return wl_error_set(err, 0, "%s: truncated or not a cache file", path);
    size_t body = len - TRAILER_LEN;
    unsigned char md[SHA256_LEN];
    if (!sha256_of(data, body, md) || memcmp(md, data + body, SHA256_LEN) != 0)
        return wl_error_set(err, 0, "%s: checksum mismatch", path);

    wasmtime_module_t *module = NULL;
    wasmtime_error_t *error =
        wasmtime_module_deserialize(wl_engine_raw(engine), data, body, &module);
    if (error)
        return wl_error_from_wasmtime(err, error, path);
    *ret = module;
    return 1;
}

/* Writes module to path with its trailer, atomically. */
static int disk_write(const char *cache_dir, const char *path,
                      wasmtime_module_t *module, struct wl_error *err)
{
    wasm_byte_vec_t ser;
    wasmtime_error_t *error = wasmtime_module_serialize(module, &ser);
    if (error)
        return wl_error_from_wasmtime(err, error, "serialize");

    size_t len = ser.size + TRAILER_LEN;
    _cleanup_free_ uint8_t *buf = malloc(len);
    if (!buf) {
        wasm_byte_vec_delete(&ser);
        return wl_error_set(err, ENOMEM, "serialize");
    }
    memcpy(buf, ser.data, ser.size);
    bool hashed = sha256_of(ser.data, ser.size, buf + ser.size);
    memcpy(buf + ser.size + SHA256_LEN, trailer_magic, sizeof(trailer_magic));
    wasm_byte_vec_delete(&ser);
    if (!hashed)
        return wl_error_set(err, 0, "serialize: sha256 failed");

    if (wl_mkdir_p(cache_dir, 0700, err) < 0)
        return -1;
    return wl_file_write_atomic(AT_FDCWD, path, buf, len, 0600, err);
}

/* The module's bytes: in memory already (wl_module_load_bytes), or read
 * from a file now. */
struct source {
    const char *path;
    const uint8_t *wasm;
    size_t len;
};

static int compile_source(struct wl_engine *engine, const struct source *src,
                          wasmtime_module_t **ret, struct wl_error *err)
{
    _cleanup_free_ uint8_t *wasm = NULL;
    size_t len = 0;
    if (src->wasm)
        return wl_module_compile_raw(engine, src->wasm, src->len, ret, err);
    if (wl_file_read(AT_FDCWD, src->path, WASM_MAX_BYTES, &wasm, &len, err) <
        0)
        return -1;
    return wl_module_compile_raw(engine, wasm, len, ret, err);
}

/* The slow path, run by one loader per digest without the lock: the disk
 * cache, else a compile (written back to the disk cache). */
static int load_uncached(struct wl_engine *engine, const char *cache_dir,
                         const char *digest, const struct source *src,
                         wasmtime_module_t **ret, struct outcome *out,
                         struct wl_error *err)
{
    _cleanup_free_ char *path = NULL;
    if (cache_dir) {
        path = cwasm_path(cache_dir, digest);
        if (!path)
            return wl_error_set(err, ENOMEM, "module cache path");
        struct wl_error derr = WL_ERROR_INIT;
        int r = disk_read(engine, path, ret, &derr);
        if (r > 0) {
            out->how = WL_MODULE_DISK;
            return 0;
        }
        if (r < 0) {
            /* Never trusted again: the compile below replaces it. */
            log_debug("module cache: dropping digest=%s: %s", digest, derr.msg);
            (void)unlink(path);
            out->rejected = true;
        }
        wl_error_clear(&derr);
    }

    double t0 = wl_now_s();
    if (compile_source(engine, src, ret, err) < 0)
        return -1;
    wl_histogram_observe(&wl_m_module_compile_seconds, wl_now_s() - t0);
    out->how = WL_MODULE_COMPILED;

    if (path) {
        struct wl_error werr = WL_ERROR_INIT;
        if (disk_write(cache_dir, path, *ret, &werr) < 0) {
            log_debug("module cache: cannot store digest=%s: %s", digest,
                      werr.msg);
            out->write_failed = true;
        }
        wl_error_clear(&werr);
    }
    return 0;
}

static struct entry *find(struct wl_module_cache *c, const char *digest)
{
    for (struct entry *e = c->entries; e; e = e->next)
        if (strcmp(e->digest, digest) == 0)
            return e;
    return NULL;
}

static void unlink_entry(struct wl_module_cache *c, struct entry *e)
{
    for (struct entry **p = &c->entries; *p; p = &(*p)->next) {
        if (*p == e) {
            *p = e->next;
            e->next = NULL;
            e->linked = false;
            c->nentries--;
            return;
        }
    }
}

/* Drops a reference; the last one out of an unlinked entry frees it. */
static void entry_put(struct entry *e)
{
    e->refs--;
    if (!e->linked && e->refs == 0)
        entry_free(e);
}

/* Keeps the list under CACHE_MAX_ENTRIES by unlinking the oldest loaded
 * entries. Called with the lock held. */
static void evict(struct wl_module_cache *c)
{
    while (c->nentries > CACHE_MAX_ENTRIES) {
        struct entry *oldest = NULL;
        for (struct entry *e = c->entries; e; e = e->next)
            if (e->done)
                oldest = e;
        if (!oldest)
            return;
        unlink_entry(c, oldest);
        oldest->refs++;
        entry_put(oldest);
    }
}

/* Hands out a clone of a loaded entry's module. Lock held. */
static int take_clone(struct entry *e, struct wl_module **ret,
                      struct wl_error *err)
{
    wasmtime_module_t *clone = wasmtime_module_clone(e->module);
    if (!clone)
        return wl_error_set(err, ENOMEM, "clone module");
    return wl_module_wrap(clone, ret, err);
}

/* Waits for another thread's load of e. Lock held; e is referenced. */
static int wait_for(struct wl_module_cache *c, struct entry *e,
                    struct wl_module **ret, struct wl_error *err)
{
    while (!e->done)
        (void)pthread_cond_wait(&c->done, &c->lock);
    if (!e->module)
        return wl_error_set(err, 0, "%s", e->error ? e->error : "load failed");
    c->stats.memory_hits++;
    wl_counter_inc(wl_metric_with(&wl_m_module_cache, "memory"));
    return take_clone(e, ret, err);
}

/* Records the loader's result in e and wakes the waiters. Lock held. */
static int finish(struct wl_module_cache *c, struct entry *e, int r,
                  wasmtime_module_t *module, const struct outcome *out,
                  struct wl_error *err)
{
    if (out->rejected)
        c->stats.disk_rejected++;
    if (out->write_failed)
        c->stats.disk_write_errors++;
    if (r < 0) {
        unlink_entry(c, e);
        e->error = strdup(err->msg ? err->msg : "load failed");
    } else {
        e->module = module;
        if (out->how == WL_MODULE_DISK)
            c->stats.disk_hits++;
        else
            c->stats.compiles++;
        wl_counter_inc(wl_metric_with(
            &wl_m_module_cache,
            out->how == WL_MODULE_DISK ? "disk" : "compiled"));
    }
    e->done = true;
    (void)pthread_cond_broadcast(&c->done);
    evict(c);
    return r;
}

static int load(struct wl_module_cache *c, const char *digest,
                const struct source *src, struct wl_module **ret,
                enum wl_module_source *how, struct wl_error *err)
{
    if (!wl_digest_valid(digest))
        return wl_error_set(err, 0, "load module: malformed digest \"%s\"",
                            digest);

    (void)pthread_mutex_lock(&c->lock);
    struct entry *e = find(c, digest);
    if (e) {
        e->refs++;
        int r = wait_for(c, e, ret, err);
        entry_put(e);
        (void)pthread_mutex_unlock(&c->lock);
        if (r == 0 && how)
            *how = WL_MODULE_MEMORY;
        return r;
    }

    /* We load it; later arrivals find the entry and wait. */
    e = calloc(1, sizeof(*e));
    if (!e || !(e->digest = strdup(digest))) {
        free(e);
        (void)pthread_mutex_unlock(&c->lock);
        return wl_error_set(err, ENOMEM, "load module");
    }
    e->refs = 1;
    e->linked = true;
    e->next = c->entries;
    c->entries = e;
    c->nentries++;
    (void)pthread_mutex_unlock(&c->lock);

    wasmtime_module_t *module = NULL;
    struct outcome out = {0};
    int r = load_uncached(c->engine, c->dir, digest, src, &module, &out, err);

    (void)pthread_mutex_lock(&c->lock);
    r = finish(c, e, r, module, &out, err);
    if (r == 0)
        r = take_clone(e, ret, err);
    entry_put(e);
    (void)pthread_mutex_unlock(&c->lock);
    if (r == 0 && how)
        *how = out.how;
    return r;
}

int wl_module_load(struct wl_module_cache *c, const char *digest,
                   const char *wasm_path, struct wl_module **ret,
                   enum wl_module_source *how, struct wl_error *err)
{
    struct source src = {.path = wasm_path};
    return load(c, digest, &src, ret, how, err);
}

int wl_module_load_bytes(struct wl_module_cache *c, const char *digest,
                         const uint8_t *wasm, size_t len,
                         struct wl_module **ret, enum wl_module_source *how,
                         struct wl_error *err)
{
    struct source src = {.wasm = wasm, .len = len};
    return load(c, digest, &src, ret, how, err);
}
