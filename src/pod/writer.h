/* The pod manager's writer: pod status and Events go to the API server
 * from a thread of its own, so the owner thread never waits on the
 * network, and statuses are coalesced — when several statuses of one pod
 * are waiting, only the latest is written (a short-lived pod's
 * Pending -> Running -> Succeeded may become one write).
 *
 * The owner hands over finished JSON through queues (util/queue.h), one
 * per writer thread (a pod's items always to the same thread, by uid, so
 * they keep their order); the writer owns everything it was given. Due
 * statuses go before due Events. A status that fails to be written (API
 * server away) is retried with backoff until a newer one replaces it; one
 * for a pod that no longer exists (404) is dropped. Events are best
 * effort, posted in order per pod.
 */
#ifndef WL_POD_WRITER_H
#define WL_POD_WRITER_H

#include <jansson.h>
#include <stdbool.h>

#include "kube/client.h"
#include "util/error.h"

struct wl_pod_writer;

/* Counters, for tests, benchmarks and metrics. */
struct wl_pod_writer_stats {
    unsigned long status_queued;    /* statuses handed over */
    unsigned long status_written;   /* PATCHes that succeeded */
    unsigned long status_coalesced; /* replaced before being written */
    unsigned long events_posted;
};

int wl_pod_writer_start(struct wl_kube_creds *creds,
                        struct wl_pod_writer **ret, struct wl_error *err);

/* Writes what is still waiting (giving up after a few seconds when the API
 * server does not answer), stops the thread and frees the writer. Accepts
 * NULL. */
void wl_pod_writer_stop(struct wl_pod_writer *w);

/* Queues status (taken) as the status of the pod uid namespace/name. */
void wl_pod_writer_status(struct wl_pod_writer *w, const char *namespace_,
                          const char *name, const char *uid, json_t *status);

/* Queues an Event object (taken; see wl_pod_event_build()). A NULL w
 * (wasmlet run POD.yaml: no API server) drops it. */
void wl_pod_writer_event(struct wl_pod_writer *w, json_t *event);

/* Builds the Event (wl_pod_event_build) about pod and queues it. */
void wl_pod_writer_eventf(struct wl_pod_writer *w, const char *node,
                          const json_t *pod, const char *field_path,
                          bool warning, const char *reason, const char *fmt,
                          ...) __attribute__((format(printf, 7, 8)));

void wl_pod_writer_stats(struct wl_pod_writer *w,
                         struct wl_pod_writer_stats *ret);

#endif
