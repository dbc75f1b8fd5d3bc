/* List+watch of one Kubernetes collection, as client-go's reflector and
 * informer do it, handing every change to a consumer exactly once and in
 * order:
 *
 * - LIST the collection, then WATCH from the list's resourceVersion with
 *   bookmarks on; every event moves the resume point forward.
 * - When a watch stream ends or breaks, WATCH again from the last
 *   resourceVersion after a jittered backoff: nothing is missed and nothing
 *   is replayed.
 * - When the server answers 410 Gone (the resume point was compacted
 *   away), LIST again and diff the new list against what the consumer was
 *   already told: it hears ADDED / MODIFIED / DELETED for exactly what
 *   changed while we were away.
 *
 * The diffing state (struct wl_watch_cache) is separate from the network
 * loop so it can be tested on its own with scripted lists and events.
 */
#ifndef WL_KUBE_WATCH_H
#define WL_KUBE_WATCH_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "kube/client.h"
#include "util/error.h"

enum wl_watch_type {
    WL_WATCH_ADDED,
    WL_WATCH_MODIFIED,
    WL_WATCH_DELETED,
};

/* Receives one change. obj is borrowed: valid during the call only
 * (json_incref it to keep it). Runs on the watching thread. */
typedef void (*wl_watch_fn)(void *userdata, enum wl_watch_type type,
                            const json_t *obj);

/* What the consumer has been told: objects by "namespace/name", and the
 * resourceVersion to resume from. */
struct wl_watch_cache {
    json_t *objects; /* object: key -> last object sent */
    char *rv;        /* NULL before the first list */
    wl_watch_fn fn;
    void *userdata;
};

void wl_watch_cache_init(struct wl_watch_cache *c, wl_watch_fn fn,
                         void *userdata);
void wl_watch_cache_clear(struct wl_watch_cache *c);

/* Applies a LIST answer (the whole List object): tells the consumer what
 * differs from what it was told before, and resumes from the list's
 * resourceVersion. */
int wl_watch_cache_apply_list(struct wl_watch_cache *c, const json_t *list,
                              struct wl_error *err);

/* Outcome of one watch event. */
enum wl_watch_step {
    WL_WATCH_CONTINUE, /* applied (or a bookmark): keep reading */
    WL_WATCH_RELIST,   /* 410 Gone: list again */
    WL_WATCH_FAILED,   /* an ERROR event other than 410, or a bad event */
};

/* Applies one decoded watch event {"type": ..., "object": ...}. Events at
 * or below the resume point that the consumer already has are dropped, so
 * a replay can never reach it twice. */
enum wl_watch_step wl_watch_cache_apply_event(struct wl_watch_cache *c,
                                              const json_t *event,
                                              struct wl_error *err);

struct wl_watch_opts {
    const char *path;           /* e.g. "/api/v1/configmaps" */
    const char *label_selector; /* may be NULL */
    const char *field_selector; /* may be NULL */
    int timeout_s;              /* server-side watch timeout; 0: 300 */
};

/* Runs list+watch on the calling thread until *stop becomes true (checked
 * at least every WL_WATCH_STOP_CHECK_MS), feeding cache. Errors (API server
 * down, TLS, 5xx) are logged and retried with jittered backoff from 0.5 s to
 * 30 s; the function only returns 0 once stopped. */
#define WL_WATCH_STOP_CHECK_MS 200
int wl_watch_run(struct wl_kube_client *client, const struct wl_watch_opts *o,
                 struct wl_watch_cache *cache, const atomic_bool *stop);

#endif
