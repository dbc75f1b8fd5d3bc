#include "pod/writer.h"
#include "util/metrics_daemon.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "version.h" /* WL_VERSION, generated */
#include "pod/events.h"
#include "util/json.h"
#include "util/log.h"
#include "util/queue.h"
#include "util/time.h"

/* How long a stopping writer keeps trying to flush. */
#define FLUSH_LIMIT_S 5.0
#define RETRY_MIN_S 0.5
/* Short enough that a pod's status is right a few seconds after the API
 * server is back from an outage; a write that goes through also makes
 * every status waiting for a retry due at once (api_back). */
#define RETRY_MAX_S 4.0
/* Events wait while statuses are on their way, but no longer than this;
 * while they wait, their thread looks again this often. */
#define EVENT_HOLD_MAX_S 2.0
#define EVENT_RECHECK_MS 10

/* Statuses go out on STATUS_WORKERS threads that take the next due status
 * from one shared list (any free thread takes it, so 100 pods starting at
 * once are written up to STATUS_WORKERS at a time: a PATCH takes 50-70 ms
 * while the API server creates and schedules those pods on two cores,
 * docs/benchmarks.md). Events go out on EVENT_SHARDS threads of their
 * own, a pod's Events always on the same one, in order. Each thread has
 * its own API server connection. */
#define STATUS_WORKERS 16
#define EVENT_SHARDS 4

struct item {
    struct item *next;
    char *uid, *path; /* status: uid and .../status path */
    json_t *body;     /* the patch, or the Event */
    double retry_at;  /* monotonic; 0: now */
    double backoff;
    double queued_at; /* monotonic */
    bool in_flight;   /* a worker is writing it (status) */
    bool fresh;       /* a status not yet tried: counted in fresh_statuses */
};

struct wl_pod_writer;

/* The statuses waiting to be written, shared by the status workers. At
 * most two items per pod: one being written and the newest one waiting
 * (a newer status replaces the waiting one, keeping its place); a pod's
 * next status is not started while its previous one is in flight, so a
 * pod's writes keep their order. */
struct status_pool {
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t cond;  /* an item came, one finished, or closing */
    struct item *pending, **tail; /* in order of arrival */
    const char *flying[STATUS_WORKERS]; /* uid each worker writes, or NULL */
    bool closing;
    double flush_until; /* when closing: monotonic time to give up */
};

/* What every writer thread has: the thread and its own connection. */
struct writer_thread {
    pthread_t thread;
    bool started;
    struct wl_kube_client *client;
    unsigned client_gen;
};

/* A status worker and what only it touches. */
struct status_worker {
    struct wl_pod_writer *top;
    size_t index; /* in flying[] */
    struct writer_thread t;
};

/* An event thread and what only it touches (besides its queue). */
struct event_shard {
    struct wl_pod_writer *top;
    struct wl_queue *queue;
    struct writer_thread t;
    struct item *pending, **tail; /* in order of arrival */
};

struct wl_pod_writer {
    struct wl_kube_creds *creds;
    struct status_pool pool;
    bool pool_ready; /* lock and cond initialised */
    struct status_worker workers[STATUS_WORKERS];
    struct event_shard shards[EVENT_SHARDS];
    /* counters: written by any thread, read by anyone */
    atomic_ulong status_queued, status_written, status_coalesced,
        events_posted;
    /* statuses queued and not yet tried: Events wait for them, so that
     * when 100 pods start at once their 300 Events do not queue in the
     * API server ahead of the statuses users and controllers wait on */
    atomic_long fresh_statuses;
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

/* Its first try is over (or it is dropped): Events no longer wait for it. */
static void tried(struct wl_pod_writer *w, struct item *it)
{
    if (it->fresh) {
        it->fresh = false;
        atomic_fetch_sub(&w->fresh_statuses, 1);
    }
}

static void renew_client(struct wl_pod_writer *w, struct writer_thread *t)
{
    struct wl_error err = WL_ERROR_INIT;
    if (wl_kube_client_renew(w->creds, "wasmlet/" WL_VERSION, &t->client,
                             &t->client_gen, &err) < 0) {
        log_warning("pod writer: %s", err.msg);
        wl_error_clear(&err);
    }
}

/* ------------------------------------------------------------ statuses */

/* Writes it; returns true when it is done with (written, or not worth
 * retrying); *written tells which. */
static bool send_status(struct wl_pod_writer *w, struct wl_kube_client *c,
                        struct item *it, bool *written)
{
    *written = false;
    struct wl_error err = WL_ERROR_INIT;
    long status = 0;
    if (!c)
        return false;
    double t0 = wl_now_s();
    if (wl_kube_request(c, "PATCH", it->path, WL_KUBE_MERGE_PATCH, it->body,
                        NULL, &status, &err) == 0) {
        atomic_fetch_add(&w->status_written, 1);
        wl_counter_inc(&wl_m_status_writes);
        log_debug("status written path=%s phase=%s in %.1f ms", it->path,
                  wl_json_str(it->body, "status", "phase", NULL),
                  (wl_now_s() - t0) * 1e3);
        *written = true;
        return true;
    }
    bool drop = status == 404; /* the pod is gone: nothing to say */
    if (!drop)
        log_warning("pod status %s: %s", it->path, err.msg);
    wl_error_clear(&err);
    return drop;
}

static bool flying(const struct status_pool *pool, const char *uid)
{
    for (size_t i = 0; i < STATUS_WORKERS; i++)
        if (pool->flying[i] && strcmp(pool->flying[i], uid) == 0)
            return true;
    return false;
}

/* Under the lock: the first due status whose pod has none in flight, or
 * NULL; *wait gets the seconds until the next retry is due (negative:
 * none waits for a time). */
static struct item *next_status(struct status_pool *pool, double now,
                                double *wait)
{
    *wait = -1;
    for (struct item *it = pool->pending; it; it = it->next) {
        if (it->in_flight || flying(pool, it->uid))
            continue; /* its pod's write ends with a broadcast */
        if (it->retry_at <= now)
            return it;
        if (*wait < 0 || it->retry_at - now < *wait)
            *wait = it->retry_at - now;
    }
    return NULL;
}

/* Under the lock: takes it out of the list. */
static void unlink_status(struct status_pool *pool, struct item *it)
{
    for (struct item **pp = &pool->pending; *pp; pp = &(*pp)->next) {
        if (*pp != it)
            continue;
        *pp = it->next;
        if (pool->tail == &it->next)
            pool->tail = pp;
        return;
    }
}

/* Under the lock: whether a newer status of its pod waits (behind it). */
static bool superseded(const struct item *it)
{
    for (struct item *p = it->next; p; p = p->next)
        if (strcmp(p->uid, it->uid) == 0)
            return true;
    return false;
}

/* Under the lock: a write went through, so the API server answers again:
 * the statuses waiting out a backoff are due now, not seconds later. */
static void api_back(struct status_pool *pool)
{
    for (struct item *it = pool->pending; it; it = it->next)
        if (it->backoff > 0) {
            it->backoff = 0;
            it->retry_at = 0;
        }
}

static void cond_wait_s(struct status_pool *pool, double secs)
{
    if (secs < 0) {
        pthread_cond_wait(&pool->cond, &pool->lock);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long ns = ts.tv_nsec + (long long)(secs * 1e9) + 1000000;
    ts.tv_sec += (time_t)(ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    pthread_cond_timedwait(&pool->cond, &pool->lock, &ts);
}

static void *status_main(void *arg)
{
    struct status_worker *sw = arg;
    struct wl_pod_writer *w = sw->top;
    struct status_pool *pool = &w->pool;

    pthread_mutex_lock(&pool->lock);
    for (;;) {
        double now = wl_now_s(), wait;
        struct item *it = next_status(pool, now, &wait);
        if (!it) {
            if (pool->closing) {
                /* Stopping: wait for retries that come before the limit. */
                if (wait < 0 || now + wait > pool->flush_until)
                    break;
            }
            cond_wait_s(pool, wait);
            continue;
        }
        it->in_flight = true;
        pool->flying[sw->index] = it->uid;
        pthread_mutex_unlock(&pool->lock);

        renew_client(w, &sw->t);
        bool written;
        bool done = send_status(w, sw->t.client, it, &written);

        pthread_mutex_lock(&pool->lock);
        pool->flying[sw->index] = NULL;
        it->in_flight = false;
        tried(w, it);
        if (written)
            api_back(pool);
        if (done || superseded(it)) {
            unlink_status(pool, it);
            item_free(it);
        } else {
            it->backoff = it->backoff ? it->backoff * 2 : RETRY_MIN_S;
            if (it->backoff > RETRY_MAX_S)
                it->backoff = RETRY_MAX_S;
            it->retry_at = wl_now_s() + it->backoff;
        }
        pthread_cond_broadcast(&pool->cond);
        if (pool->closing && wl_now_s() > pool->flush_until)
            break;
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

void wl_pod_writer_status(struct wl_pod_writer *w, const char *namespace_,
                          const char *name, const char *uid, json_t *status,
                          double delay_s)
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
    log_debug("status queued path=%s phase=%s", it->path,
              wl_json_str(body, "status", "phase", NULL));

    struct status_pool *pool = &w->pool;
    pthread_mutex_lock(&pool->lock);
    if (pool->closing) {
        pthread_mutex_unlock(&pool->lock);
        log_warning("pod writer: dropped %s (stopping)", it->path);
        item_free(it);
        return;
    }
    /* A newer status replaces the one of the same pod that waits. */
    for (struct item *p = pool->pending; p; p = p->next) {
        if (p->in_flight || strcmp(p->uid, it->uid) != 0)
            continue;
        json_decref(p->body);
        p->body = it->body;
        it->body = NULL;
        p->retry_at = 0; /* due now, also if it was held back */
        pthread_cond_signal(&pool->cond);
        pthread_mutex_unlock(&pool->lock);
        atomic_fetch_add(&w->status_coalesced, 1);
        item_free(it);
        return;
    }
    it->retry_at = delay_s > 0 ? wl_now_s() + delay_s : 0;
    it->fresh = true;
    atomic_fetch_add(&w->fresh_statuses, 1);
    *pool->tail = it;
    pool->tail = &it->next;
    pthread_cond_signal(&pool->cond);
    pthread_mutex_unlock(&pool->lock);
}

/* -------------------------------------------------------------- events */

static void send_event(struct event_shard *sh, struct item *it)
{
    struct wl_error err = WL_ERROR_INIT;
    const char *ns = wl_json_str(it->body, "metadata", "namespace", NULL);
    char path[300];
    if (!sh->t.client)
        return; /* best effort */
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events",
             ns ? ns : "default");
    if (wl_kube_request(sh->t.client, "POST", path, NULL, it->body, NULL, NULL,
                        &err) < 0)
        log_debug("event not posted: %s", err.msg);
    else {
        atomic_fetch_add(&sh->top->events_posted, 1);
        wl_counter_inc(&wl_m_events_written);
    }
    wl_error_clear(&err);
}

/* Moves what waits in the queue to the end of the pending list. */
static void take_events(struct event_shard *sh)
{
    for (struct item *it; (it = wl_queue_pop(sh->queue, 0));) {
        it->next = NULL;
        *sh->tail = it;
        sh->tail = &it->next;
    }
}

/* Posts pending Events in order while none must wait (hold: statuses
 * are on their way and the first Event is younger than EVENT_HOLD_MAX_S);
 * returns whether some wait. */
static bool post_events(struct event_shard *sh, bool hold)
{
    for (;;) {
        take_events(sh);
        struct item *it = sh->pending;
        if (!it)
            return false;
        if (hold && atomic_load(&sh->top->fresh_statuses) > 0 &&
            wl_now_s() - it->queued_at < EVENT_HOLD_MAX_S)
            return true;
        sh->pending = it->next;
        if (!sh->pending)
            sh->tail = &sh->pending;
        renew_client(sh->top, &sh->t);
        send_event(sh, it);
        item_free(it);
    }
}

static void *event_main(void *arg)
{
    struct event_shard *sh = arg;
    long wait_ms = -1;
    for (;;) {
        struct item *it = wl_queue_pop(sh->queue, wait_ms);
        if (!it && wl_queue_closed(sh->queue))
            break;
        if (it) {
            it->next = NULL;
            *sh->tail = it;
            sh->tail = &it->next;
        }
        wait_ms = post_events(sh, true) ? EVENT_RECHECK_MS : -1;
    }
    /* Closed: what is left, in order, with a limit on how long to try
     * (each request is bounded by the client's timeout). */
    double until = wl_now_s() + FLUSH_LIMIT_S;
    take_events(sh);
    while (sh->pending && wl_now_s() < until) {
        struct item *it = sh->pending;
        sh->pending = it->next;
        renew_client(sh->top, &sh->t);
        send_event(sh, it);
        item_free(it);
    }
    while (sh->pending) {
        struct item *it = sh->pending;
        sh->pending = it->next;
        log_warning("an event not posted: wasmlet is stopping");
        item_free(it);
    }
    return NULL;
}

void wl_pod_writer_event(struct wl_pod_writer *w, json_t *event)
{
    struct item *it = w ? calloc(1, sizeof(*it)) : NULL;
    if (!it || !event) {
        free(it);
        json_decref(event);
        return;
    }
    it->body = event;
    it->queued_at = wl_now_s();
    /* The shard of the pod, by its uid (FNV-1a). */
    const char *uid = wl_json_str(event, "involvedObject", "uid", NULL);
    uint32_t h = 2166136261u;
    for (const char *c = uid ? uid : ""; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    if (wl_queue_push(w->shards[h % EVENT_SHARDS].queue, it) < 0) {
        log_warning("pod writer: dropped an event (stopping)");
        item_free(it);
    }
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

/* ------------------------------------------------------------ lifetime */

void wl_pod_writer_stop(struct wl_pod_writer *w)
{
    if (!w)
        return;
    struct status_pool *pool = &w->pool;
    if (w->pool_ready) {
        pthread_mutex_lock(&pool->lock);
        pool->closing = true;
        pool->flush_until = wl_now_s() + FLUSH_LIMIT_S;
        pthread_cond_broadcast(&pool->cond);
        pthread_mutex_unlock(&pool->lock);
    }
    for (size_t i = 0; i < EVENT_SHARDS; i++)
        if (w->shards[i].queue)
            wl_queue_close(w->shards[i].queue);
    for (size_t i = 0; i < STATUS_WORKERS; i++)
        if (w->workers[i].t.started)
            (void)pthread_join(w->workers[i].t.thread, NULL);
    for (size_t i = 0; i < EVENT_SHARDS; i++)
        if (w->shards[i].t.started)
            (void)pthread_join(w->shards[i].t.thread, NULL);
    /* Every thread is gone: what is left is only ours. */
    while (pool->pending) {
        struct item *it = pool->pending;
        pool->pending = it->next;
        log_warning("pod status %s not written: wasmlet is stopping",
                    it->path);
        tried(w, it);
        item_free(it);
    }
    log_info("pod writer stats: statuses queued=%lu written=%lu "
             "coalesced=%lu events=%lu",
             atomic_load(&w->status_queued), atomic_load(&w->status_written),
             atomic_load(&w->status_coalesced),
             atomic_load(&w->events_posted));
    for (size_t i = 0; i < STATUS_WORKERS; i++)
        wl_kube_client_free(w->workers[i].t.client);
    for (size_t i = 0; i < EVENT_SHARDS; i++) {
        wl_queue_free(w->shards[i].queue);
        wl_kube_client_free(w->shards[i].t.client);
    }
    if (w->pool_ready) {
        pthread_cond_destroy(&pool->cond);
        pthread_mutex_destroy(&pool->lock);
    }
    free(w);
}

/* Gives t its connection and starts it on fn(arg). */
static int spawn(struct wl_kube_creds *creds, struct writer_thread *t,
                 void *(*fn)(void *), void *arg, struct wl_error *err)
{
    if (wl_kube_client_from_creds(creds, "wasmlet/" WL_VERSION, &t->client,
                                  &t->client_gen, err) < 0)
        return -1;
    if (pthread_create(&t->thread, NULL, fn, arg) != 0)
        return wl_error_set(err, EAGAIN, "pod writer thread");
    t->started = true;
    return 0;
}

int wl_pod_writer_start(struct wl_kube_creds *creds,
                        struct wl_pod_writer **ret, struct wl_error *err)
{
    struct wl_pod_writer *w = calloc(1, sizeof(*w));
    pthread_condattr_t ca;
    if (!w)
        return wl_error_set(err, ENOMEM, "pod writer");
    w->creds = creds;
    w->pool.tail = &w->pool.pending;
    if (pthread_condattr_init(&ca) != 0) {
        free(w);
        return wl_error_set(err, ENOMEM, "pod writer");
    }
    /* timed waits on the monotonic clock, as wl_now_s() */
    bool ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
              pthread_mutex_init(&w->pool.lock, NULL) == 0;
    if (ok && pthread_cond_init(&w->pool.cond, &ca) != 0) {
        pthread_mutex_destroy(&w->pool.lock);
        ok = false;
    }
    pthread_condattr_destroy(&ca);
    if (!ok) {
        free(w);
        return wl_error_set(err, ENOMEM, "pod writer");
    }
    w->pool_ready = true;
    int rc = 0;
    for (size_t i = 0; i < STATUS_WORKERS && rc == 0; i++) {
        struct status_worker *sw = &w->workers[i];
        sw->top = w;
        sw->index = i;
        rc = spawn(creds, &sw->t, status_main, sw, err);
    }
    for (size_t i = 0; i < EVENT_SHARDS && rc == 0; i++) {
        struct event_shard *sh = &w->shards[i];
        sh->top = w;
        sh->tail = &sh->pending;
        if (!(sh->queue = wl_queue_new(item_free)))
            rc = wl_error_set(err, ENOMEM, "pod writer");
        else
            rc = spawn(creds, &sh->t, event_main, sh, err);
    }
    if (rc < 0) {
        wl_pod_writer_stop(w);
        return -1;
    }
    *ret = w;
    return 0;
}

void wl_pod_writer_stats(struct wl_pod_writer *w,
                         struct wl_pod_writer_stats *ret)
{
    ret->status_queued = atomic_load(&w->status_queued);
    ret->status_written = atomic_load(&w->status_written);
    ret->status_coalesced = atomic_load(&w->status_coalesced);
    ret->events_posted = atomic_load(&w->events_posted);
}
