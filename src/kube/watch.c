#include "kube/watch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000

void wl_watch_cache_init(struct wl_watch_cache *c, wl_watch_fn fn,
                         void *userdata)
{
    memset(c, 0, sizeof(*c));
    c->objects = json_object();
    c->fn = fn;
    c->userdata = userdata;
}

void wl_watch_cache_clear(struct wl_watch_cache *c)
{
    json_decref(c->objects);
    free(c->rv);
    memset(c, 0, sizeof(*c));
}

static int set_rv(struct wl_watch_cache *c, const char *rv,
                  struct wl_error *err)
{
    char *copy = strdup(rv);
    if (!copy)
        return wl_error_set(err, ENOMEM, "watch");
    free(c->rv);
    c->rv = copy;
    return 0;
}

/* "namespace/name", or "name" for cluster-scoped objects. */
static char *key_of(const json_t *obj)
{
    const char *ns = wl_json_str(obj, "metadata", "namespace", NULL);
    const char *name = wl_json_str(obj, "metadata", "name", NULL);
    char *key = NULL;
    if (!name)
        return NULL;
    if (asprintf(&key, "%s%s%s", ns ? ns : "", ns ? "/" : "", name) < 0)
        return NULL;
    return key;
}

static const char *rv_of(const json_t *obj)
{
    return wl_json_str(obj, "metadata", "resourceVersion", NULL);
}

int wl_watch_cache_apply_list(struct wl_watch_cache *c, const json_t *list,
                              struct wl_error *err)
{
    const char *rv = wl_json_str(list, "metadata", "resourceVersion", NULL);
    json_t *items = json_object_get(list, "items");
    if (!rv || !json_is_array(items))
        return wl_error_set(err, 0, "list: no items or resourceVersion");

    json_t *fresh = json_object();
    size_t i;
    json_t *obj;
    json_array_foreach(items, i, obj) {
        _cleanup_free_ char *key = key_of(obj);
        if (!key)
            continue; /* nameless: nothing to track it by */
        json_object_set(fresh, key, obj);
    }

    /* Deleted while we were away, in no particular order (the server
     * gives none), then the list's own order for added and changed. */
    const char *key;
    void *tmp;
    json_object_foreach_safe(c->objects, tmp, key, obj) {
        if (!json_object_get(fresh, key)) {
            c->fn(c->userdata, WL_WATCH_DELETED, obj);
            json_object_del(c->objects, key);
        }
    }
    json_array_foreach(items, i, obj) {
        _cleanup_free_ char *k = key_of(obj);
        if (!k)
            continue;
        json_t *old = json_object_get(c->objects, k);
        if (!old) {
            c->fn(c->userdata, WL_WATCH_ADDED, obj);
        } else {
            const char *a = rv_of(old), *b = rv_of(obj);
            if (!a || !b || strcmp(a, b) != 0)
                c->fn(c->userdata, WL_WATCH_MODIFIED, obj);
        }
        json_object_set(c->objects, k, obj);
    }
    json_decref(fresh);
    return set_rv(c, rv, err);
}

/* Kubernetes resourceVersions are opaque strings, but etcd's are integers
 * and equal strings mean the same version; the numeric comparison is used
 * only to drop an event the consumer has already seen. */
static bool already_seen(const json_t *have, const json_t *obj)
{
    const char *a = rv_of(have), *b = rv_of(obj);
    if (!a || !b)
        return false;
    char *ea, *eb;
    unsigned long long x = strtoull(a, &ea, 10), y = strtoull(b, &eb, 10);
    if (*ea || *eb)
        return strcmp(a, b) == 0;
    return y <= x;
}

enum wl_watch_step wl_watch_cache_apply_event(struct wl_watch_cache *c,
                                              const json_t *event,
                                              struct wl_error *err)
{
    const char *type = wl_json_str(event, "type", NULL);
    json_t *obj = json_object_get(event, "object");
    if (!type || !json_is_object(obj)) {
        wl_error_set(err, 0, "watch: event without type or object");
        return WL_WATCH_FAILED;
    }
    if (strcmp(type, "ERROR") == 0) {
        json_int_t code = json_integer_value(json_object_get(obj, "code"));
        const char *msg = wl_json_str(obj, "message", NULL);
        if (code == 410)
            return WL_WATCH_RELIST;
        wl_error_set(err, 0, "watch: error %lld: %s", (long long)code,
                     msg ? msg : "(no message)");
        return WL_WATCH_FAILED;
    }
    const char *rv = rv_of(obj);
    if (!rv) {
        wl_error_set(err, 0, "watch: %s event without resourceVersion", type);
        return WL_WATCH_FAILED;
    }
    if (strcmp(type, "BOOKMARK") == 0)
        return set_rv(c, rv, err) < 0 ? WL_WATCH_FAILED : WL_WATCH_CONTINUE;

    _cleanup_free_ char *key = key_of(obj);
    if (!key) {
        wl_error_set(err, 0, "watch: %s event for a nameless object", type);
        return WL_WATCH_FAILED;
    }
    json_t *have = json_object_get(c->objects, key);
    if (strcmp(type, "DELETED") == 0) {
        if (have) {
            c->fn(c->userdata, WL_WATCH_DELETED, obj);
            json_object_del(c->objects, key);
        }
    } else if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) {
        if (!have || !already_seen(have, obj)) {
            c->fn(c->userdata, have ? WL_WATCH_MODIFIED : WL_WATCH_ADDED, obj);
            json_object_set(c->objects, key, obj);
        }
    } else {
        wl_error_set(err, 0, "watch: unknown event type \"%s\"", type);
        return WL_WATCH_FAILED;
    }
    return set_rv(c, rv, err) < 0 ? WL_WATCH_FAILED : WL_WATCH_CONTINUE;
}

/* ---- the network loop ---- */

struct run_ctx {
    struct wl_watch_cache *cache;
    enum wl_watch_step step;
    struct wl_error err;
    unsigned events;
};

static int on_line(void *userdata, const json_t *event)
{
    struct run_ctx *r = userdata;
    r->step = wl_watch_cache_apply_event(r->cache, event, &r->err);
    r->events++;
    return r->step == WL_WATCH_CONTINUE ? 0 : -1;
}

static int append_query(char **path, const char *name, const char *value)
{
    if (!value)
        return 0;
    _cleanup_free_ char *esc = wl_kube_query_escape(value);
    char *next = NULL;
    if (!esc || asprintf(&next, "%s%c%s=%s", *path,
                         strchr(*path, '?') ? '&' : '?', name, esc) < 0)
        return -1;
    free(*path);
    *path = next;
    return 0;
}

static char *build_path(const struct wl_watch_opts *o, const char *rv)
{
    char *p = strdup(o->path);
    char timeout[16];
    snprintf(timeout, sizeof(timeout), "%d", o->timeout_s ? o->timeout_s : 300);
    if (!p || append_query(&p, "labelSelector", o->label_selector) < 0 ||
        append_query(&p, "fieldSelector", o->field_selector) < 0 ||
        (rv && (append_query(&p, "watch", "1") < 0 ||
                append_query(&p, "resourceVersion", rv) < 0 ||
                append_query(&p, "allowWatchBookmarks", "true") < 0 ||
                append_query(&p, "timeoutSeconds", timeout) < 0))) {
        free(p);
        return NULL;
    }
    return p;
}

/* Sleeps ms (plus up to 50% random jitter, so many nodes restarting
 * together do not stampede the API server), waking early on *stop. */
static void backoff_sleep(unsigned ms, const atomic_bool *stop)
{
    unsigned total = ms + (unsigned)(random() % (ms / 2 + 1));
    for (unsigned slept = 0; slept < total && !atomic_load(stop);
         slept += WL_WATCH_STOP_CHECK_MS) {
        struct timespec ts = {0, WL_WATCH_STOP_CHECK_MS * 1000000L};
        (void)nanosleep(&ts, NULL);
    }
}

static int do_list(struct wl_kube_client *client,
                   const struct wl_watch_opts *o, struct wl_watch_cache *cache,
                   struct wl_error *err)
{
    _cleanup_free_ char *path = build_path(o, NULL);
    json_t *list = NULL;
    if (!path)
        return wl_error_set(err, ENOMEM, "list");
    if (wl_kube_request(client, "GET", path, NULL, NULL, &list, NULL, err) < 0)
        return -1;
    int r = wl_watch_cache_apply_list(cache, list, err);
    json_decref(list);
    return r;
}

int wl_watch_run(struct wl_kube_client *client, const struct wl_watch_opts *o,
                 struct wl_watch_cache *cache, const atomic_bool *stop)
{
    unsigned backoff = BACKOFF_MIN_MS;
    bool need_list = cache->rv == NULL;

    while (!atomic_load(stop)) {
        struct run_ctx r = {.cache = cache, .step = WL_WATCH_CONTINUE};
        if (need_list) {
            if (do_list(client, o, cache, &r.err) < 0) {
                log_warning("list %s: %s (retrying)", o->path, r.err.msg);
                wl_error_clear(&r.err);
                backoff_sleep(backoff, stop);
                backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                       : backoff * 2;
                continue;
            }
            need_list = false;
        }
        _cleanup_free_ char *path = build_path(o, cache->rv);
        long status = 0;
        int sr = path ? wl_kube_stream(client, path, on_line, &r, stop,
                                       &status, &r.err)
                      : wl_error_set(&r.err, ENOMEM, "watch");
        if (r.step == WL_WATCH_RELIST || status == 410) {
            log_info("watch %s: resourceVersion %s is gone; listing again",
                     o->path, cache->rv);
            need_list = true;
            wl_error_clear(&r.err);
            continue;
        }
        if (sr == 0 && r.step == WL_WATCH_CONTINUE) {
            /* The server closed a healthy stream: resume at once. */
            backoff = BACKOFF_MIN_MS;
            continue;
        }
        log_warning("watch %s: %s (resuming from resourceVersion %s)",
                    o->path, r.err.msg ? r.err.msg : "stream failed",
                    cache->rv);
        wl_error_clear(&r.err);
        if (r.events > 0)
            backoff = BACKOFF_MIN_MS; /* it worked for a while */
        backoff_sleep(backoff, stop);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    return 0;
}
