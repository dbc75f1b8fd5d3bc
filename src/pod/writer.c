#include "pod/writer.h"
#include "util/metrics_daemon.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "pod/events.h"
#include "util/json.h"
#include "util/log.h"
#include "util/queue.h"
#include "util/time.h"

/* How long a stopping writer keeps trying to flush. */
#define FLUSH_LIMIT_S 5.0
#define RETRY_MIN_S 0.5
#define RETRY_MAX_S 10.0

struct item {
    struct item *next;
    bool is_event;
    char *uid, *path; /* status: uid and .../status path */
    json_t *body;     /* the patch, or the Event */
    double retry_at;  /* monotonic; 0: now */
    double backoff;
};

/* Writes go out on SHARDS threads, each with its own connection: a pod's
 * statuses and Events always take the same one (by its uid), so they stay
 * in order, while 100 pods starting at once are not written one after
 * another on a single connection. */
#define SHARDS 4

struct wl_pod_writer;

/* One writer thread and what only it touches (besides its queue). */
struct shard {
    struct wl_pod_writer *top;
    struct wl_queue *queue;
    pthread_t thread;
    bool started;
    struct wl_kube_client *client;
    unsigned client_gen;
    struct item *pending, **tail; /* in order of arrival */
};

struct wl_pod_writer {
    struct wl_kube_creds *creds;
    struct shard shards[SHARDS];
    /* counters: written by the writers (and status_queued by the owner),
     * read by anyone */
    atomic_ulong status_queued, status_written, status_coalesced,
        events_posted;
};

static void item_free(void *p)
{
    struct item *it = p;
    if (!it)
        return;
    free(it->uid);
    free(it->path);
    json_decref(it->body);
    free(it);
}

/* Adds a new item; a status replaces the waiting status of the same pod,
 * keeping its place in line. */
static void take(struct shard *w, struct item *it)
{
    if (!it->is_event) {
        for (struct item *p = w->pending; p; p = p->next) {
            if (p->is_event || strcmp(p->uid, it->uid) != 0)
                continue;
            json_decref(p->body);
            p->body = it->body;
            it->body = NULL;
            p->retry_at = 0;
            atomic_fetch_add(&w->top->status_coalesced, 1);
            item_free(it);
            return;
        }
    }
    it->next = NULL;
    *w->tail = it;
    w->tail = &it->next;
}

static void renew_client(struct shard *w)
{
    struct wl_error err = WL_ERROR_INIT;
    if (wl_kube_client_renew(w->top->creds, "wasmlet/" WL_VERSION, &w->client,
                             &w->client_gen, &err) < 0) {
        log_warning("pod writer: %s", err.msg);
        wl_error_clear(&err);
    }
}

/* Sends it; returns true when it is done with (written, or not worth
 * retrying). */
static bool send_item(struct shard *w, struct item *it)
{
    struct wl_error err = WL_ERROR_INIT;
    long status = 0;
    if (!w->client)
        return false;
    if (it->is_event) {
        const char *ns = wl_json_str(it->body, "metadata", "namespace", NULL);
        char path[300];
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events",
                 ns ? ns : "default");
        if (wl_kube_request(w->client, "POST", path, NULL, it->body, NULL,
                            NULL, &err) < 0)
            log_debug("event not posted: %s", err.msg);
        else {
            atomic_fetch_add(&w->top->events_posted, 1);
            wl_counter_inc(&wl_m_events_written);
        }
        wl_error_clear(&err);
        return true; /* best effort */
    }
    if (wl_kube_request(w->client, "PATCH", it->path, WL_KUBE_MERGE_PATCH,
                        it->body, NULL, &status, &err) == 0) {
        atomic_fetch_add(&w->top->status_written, 1);
        wl_counter_inc(&wl_m_status_writes);
        return true;
    }
    bool drop = status == 404; /* the pod is gone: nothing to say */
    if (!drop)
        log_warning("pod status %s: %s", it->path, err.msg);
    wl_error_clear(&err);
    return drop;
}

/* The link to the next item to send: the first due status, else the
 * first due event (a pod's status is what users and controllers wait on;
 * Events may lag), or NULL when nothing is due. */
static struct item **next_due(struct shard *w, double now)
{
    struct item **event = NULL;
    for (struct item **pp = &w->pending; *pp; pp = &(*pp)->next) {
        if ((*pp)->retry_at > now)
            continue;
        if (!(*pp)->is_event)
            return pp;
        if (!event)
            event = pp;
    }
    return event;
}

/* Writes every item that is due, statuses first, taking in what arrives
 * meanwhile (so a status queued while Events go out does not wait for all
 * of them); returns the seconds until the next retry (negative: nothing
 * waits). */
static double flush(struct shard *w)
{
    renew_client(w);
    for (;;) {
        for (struct item *it; (it = wl_queue_pop(w->queue, 0));)
            take(w, it);
        double now = wl_now_s();
        struct item **pp = next_due(w, now);
        if (!pp)
            break;
        struct item *it = *pp;
        if (send_item(w, it)) {
            *pp = it->next;
            if (w->tail == &it->next) /* it was last: take() appends here */
                w->tail = pp;
            item_free(it);
            continue;
        }
        it->backoff = it->backoff ? it->backoff * 2 : RETRY_MIN_S;
        if (it->backoff > RETRY_MAX_S)
            it->backoff = RETRY_MAX_S;
        it->retry_at = now + it->backoff;
    }
    double now = wl_now_s(), next = -1;
    w->tail = &w->pending;
    for (struct item *it = w->pending; it; it = it->next) {
        if (next < 0 || it->retry_at - now < next)
            next = it->retry_at > now ? it->retry_at - now : 0;
        w->tail = &it->next;
    }
    return next;
}

static void *writer_main(void *arg)
{
    struct shard *w = arg;
    long wait_ms = -1;
    for (;;) {
        struct item *it = wl_queue_pop(w->queue, wait_ms);
        if (!it && wl_queue_closed(w->queue))
            break;
        /* Take everything that waits, so statuses of a pod coalesce. */
        for (; it; it = wl_queue_pop(w->queue, 0))
            take(w, it);
        double next = flush(w);
        wait_ms = next < 0 ? -1 : (long)(next * 1000) + 1;
    }
    /* Closed: what is left, with a limit on how long to try. */
    double until = wl_now_s() + FLUSH_LIMIT_S;
    for (struct item *it; (it = wl_queue_pop(w->queue, 0));)
        take(w, it);
    while (w->pending && wl_now_s() < until) {
        double next = flush(w);
        if (next < 0)
            break;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    while (w->pending) {
        struct item *it = w->pending;
        w->pending = it->next;
        log_warning("pod status %s not written: wasmlet is stopping",
                    it->path ? it->path : "(event)");
        item_free(it);
    }
    return NULL;
}

static void shard_free(struct shard *sh)
{
    wl_queue_free(sh->queue);
    wl_kube_client_free(sh->client);
}

void wl_pod_writer_stop(struct wl_pod_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < SHARDS; i++)
        if (w->shards[i].queue)
            wl_queue_close(w->shards[i].queue);
    for (size_t i = 0; i < SHARDS; i++)
        if (w->shards[i].started)
            (void)pthread_join(w->shards[i].thread, NULL);
    log_info("pod writer stats: statuses queued=%lu written=%lu "
             "coalesced=%lu events=%lu",
             atomic_load(&w->status_queued), atomic_load(&w->status_written),
             atomic_load(&w->status_coalesced),
             atomic_load(&w->events_posted));
    for (size_t i = 0; i < SHARDS; i++)
        shard_free(&w->shards[i]);
    free(w);
}

int wl_pod_writer_start(struct wl_kube_creds *creds,
                        struct wl_pod_writer **ret, struct wl_error *err)
{
    struct wl_pod_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return wl_error_set(err, ENOMEM, "pod writer");
    w->creds = creds;
    for (size_t i = 0; i < SHARDS; i++) {
        struct shard *sh = &w->shards[i];
        sh->top = w;
        sh->tail = &sh->pending;
        if (!(sh->queue = wl_queue_new(item_free))) {
            wl_error_set(err, ENOMEM, "pod writer");
            break;
        }
        if (wl_kube_client_from_creds(creds, "wasmlet/" WL_VERSION,
                                      &sh->client, &sh->client_gen,
                                      err) < 0)
            break;
        if (pthread_create(&sh->thread, NULL, writer_main, sh) != 0) {
            wl_error_set(err, EAGAIN, "pod writer thread");
            break;
        }
        sh->started = true;
    }
    if (err->msg) {
        wl_pod_writer_stop(w);
        return -1;
    }
    *ret = w;
    return 0;
}

/* The shard of a pod, by its uid (FNV-1a). */
static struct shard *shard_of(struct wl_pod_writer *w, const char *uid)
{
    uint32_t h = 2166136261u;
    for (const char *c = uid ? uid : ""; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    return &w->shards[h % SHARDS];
}

static void push(struct wl_pod_writer *w, struct item *it)
{
    const char *uid = it->is_event
                          ? wl_json_str(it->body, "involvedObject", "uid", NULL)
                          : it->uid;
    if (wl_queue_push(shard_of(w, uid)->queue, it) < 0) {
        log_warning("pod writer: dropped %s (stopping)",
                    it->is_event ? "an event" : it->path);
        item_free(it);
    }
}

void wl_pod_writer_status(struct wl_pod_writer *w, const char *namespace_,
                          const char *name, const char *uid, json_t *status)
{
    /* "o" takes status, also when packing fails */
    json_t *body = status ? json_pack("{s:o}", "status", status) : NULL;
    struct item *it = body && uid ? calloc(1, sizeof(*it)) : NULL;
    if (!it) {
        json_decref(body);
        return;
    }
    it->body = body;
    if (!(it->uid = strdup(uid)) ||
        asprintf(&it->path, "/api/v1/namespaces/%s/pods/%s/status",
                 namespace_, name) < 0) {
        it->path = NULL;
        item_free(it);
        return;
    }
    atomic_fetch_add(&w->status_queued, 1);
    push(w, it);
}

void wl_pod_writer_event(struct wl_pod_writer *w, json_t *event)
{
    struct item *it = w ? calloc(1, sizeof(*it)) : NULL;
    if (!it || !event) {
        free(it);
        json_decref(event);
        return;
    }
    it->is_event = true;
    it->body = event;
    push(w, it);
}

void wl_pod_writer_eventf(struct wl_pod_writer *w, const char *node,
                          const json_t *pod, const char *field_path,
                          bool warning, const char *reason, const char *fmt,
                          ...)
{
    char *msg = NULL;
    va_list ap;
    if (!w)
        return;
    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    wl_pod_writer_event(w, wl_pod_event_build(node, pod, field_path, warning,
                                              reason, msg));
    free(msg);
}

void wl_pod_writer_stats(struct wl_pod_writer *w,
                         struct wl_pod_writer_stats *ret)
{
    ret->status_queued = atomic_load(&w->status_queued);
    ret->status_written = atomic_load(&w->status_written);
    ret->status_coalesced = atomic_load(&w->status_coalesced);
    ret->events_posted = atomic_load(&w->events_posted);
}
