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
