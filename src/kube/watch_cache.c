/* The watch cache: what a list+watch consumer has been told, and the
 * diffing and dropping of replays (kube/watch.h). Pure logic, no I/O: the
 * network loop is in watch.c; fuzz_watch drives this with lines framed by
 * kube/lines.c. */
#include "kube/watch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"

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
