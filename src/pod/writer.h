/* The pod manager's writer: pod status and Events go to the API server
 * from threads of their own, so the owner thread never waits on the
 * network, and statuses are coalesced — when several statuses of one pod
 * are waiting, only the latest is written (a short-lived pod's
 * Pending -> Running -> Succeeded may become one write).
 *
 * Statuses go into one list (under its lock) that 16 writer threads take
 * from, each with its own connection: any free thread writes the next due
 * status, but never two of one pod at once, so a pod's statuses keep
 * their order. Events go through queues (util/queue.h) to 4 threads of
 * their own, a pod's Events always to the same one (by uid), in order,
 * and wait while statuses not yet tried are on their way (at most 2 s):
 * a pod's status is what users and controllers wait on. The writer owns
 * everything it was given. A status that fails to be written (API server
 * away) is retried with backoff until a newer one replaces it; one for a
 * pod that no longer exists (404) is dropped. Events are best effort.
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

/* Queues status (taken) as the status of the pod uid namespace/name, to be
 * written delay_s from now at the earliest (a newer status of the pod
 * replaces it and goes at once). */
void wl_pod_writer_status(struct wl_pod_writer *w, const char *namespace_,
                          const char *name, const char *uid, json_t *status,
                          double delay_s);

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
