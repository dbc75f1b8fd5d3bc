/* The state of one pod's containers as the pod manager's owner thread
 * keeps it, and the rules that move it: how a run's end shows, whether a
 * container runs again, the pod's phase. Internal to src/pod; pure
 * functions of their arguments, so the state machine is unit-tested on
 * its own (tests/unit/test_pod_state.c).
 */
#ifndef WL_POD_STATE_H
#define WL_POD_STATE_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "pod/backoff.h"
#include "pod/spec.h"
#include "runtime/run.h"

enum ctr_state { CTR_WAITING, CTR_RUNNING, CTR_TERMINATED };

struct term {
    int exit_code;
    const char *reason; /* Completed, Error, ... (static) */
    char *message;
    time_t started, finished;
};

/* A container as the owner sees it. */
struct ctr {
    const struct wl_container *spec; /* into pod->spec */
    bool is_init;
    size_t index;
    enum ctr_state state;
    const char *wait_reason; /* static */
    char *wait_message;
    time_t started;
    struct term last, prev; /* this run's end; the one before (lastState) */
    bool has_last, has_prev;
    unsigned restarts;
    struct wl_backoff backoff;
    double restart_at; /* monotonic s; 0 none */
    double pull_failed_at; /* ErrImagePull shown since; 0 none */
    /* the runner thread, when one is live */
    bool live;
    pthread_t thread;
    unsigned run_id;
    atomic_bool *cancel;
    struct wl_run_stats *stats; /* the runner's thread stores into it */
    char *image_id;
};

void term_clear(struct term *t);

/* c waits, for reason (static) and msg (copied; may be NULL). */
void ctr_set_waiting(struct ctr *c, const char *reason, const char *msg);

/* How a run that ended shows in a container status: exit code, reason
 * (Completed, Error, OOMKilled, DeadlineExceeded) and message. A module
 * that failed after its memory limit refused a grow is OOMKilled (137); a
 * module stopped by us is 137, DeadlineExceeded when the pod's deadline
 * stopped it. term_message, the run's termination message (pod/termmsg.h,
 * may be NULL), follows the runtime's message after ": ", as the kubelet
 * joins them. */
void term_set(struct term *t, enum wl_exit_kind kind, int exit_code,
              bool oom, const char *message, const char *term_message,
              bool deadline_hit);

/* A run of c ended at finished: the previous end becomes lastState, c is
 * terminated with the new one (term_message as term_set's). */
void ctr_run_ended(struct ctr *c, time_t finished,
                   const struct wl_run_result *res, const char *term_message,
                   bool deadline_hit);

/* Whether c is a sidecar: an init container with restartPolicy Always,
 * which starts in its turn, runs beside the app containers, restarts
 * whenever it exits, and is stopped once they are done. */
bool ctr_is_sidecar(const struct ctr *c);

/* Whether a sidecar has started (its module ran): the next init container
 * may start. */
bool ctr_sidecar_started(const struct ctr *c);

/* The Initialized condition: every init container completed with exit 0,
 * and every sidecar started. */
bool pod_initialized_of(const struct ctr *init, size_t ninit);

/* Whether every app container ended for good (none runs, none will run
 * again): the pod is done, its sidecars are stopped. */
bool pod_apps_done(const struct ctr *ctrs, size_t n);

/* Whether c runs again after its last run under policy (Always,
 * OnFailure, Never). Init containers rerun after a failure unless the
 * policy is Never; sidecars always rerun. Nothing reruns once the pod is
 * stopping. */
bool ctr_should_restart(const struct ctr *c, const char *policy,
                        bool stopping);

/* The pod's phase from its containers: Failed when failed (rejected,
 * deadline) or an init container (not a sidecar) failed for good; Succeeded / Failed when
 * every app container ended for good; Running when any runs or waits to
 * run again; else Pending. */
const char *pod_phase_of(const struct ctr *init, size_t ninit,
                         const struct ctr *ctrs, size_t n, bool failed);

/* containerStatuses[].state and .lastState; a terminated message is cut
 * to max_message bytes (the pod's share of the kubelet's 12 KiB,
 * wl_termmsg_budget; 0: no cut). */
json_t *ctr_state_json(const struct ctr *c, size_t max_message);
json_t *ctr_last_state_json(const struct ctr *c, size_t max_message);

#endif
