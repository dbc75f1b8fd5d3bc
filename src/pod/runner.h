/* One run of one container, on its own thread: pull the image, resolve
 * the environment and volumes, give the guest its terminationMessagePath
 * file, compile, run, read the termination message (pod/termmsg.h), and
 * report to the pod manager's queue. Internal to src/pod. */
#ifndef WL_POD_RUNNER_H
#define WL_POD_RUNNER_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "pod/manager.h"
#include "runtime/run.h"
#include "util/queue.h"

struct wl_pod_writer;

enum wl_pod_msg_kind {
    WL_MSG_POD,     /* a watch event */
    WL_MSG_STARTED, /* a runner started its module */
    WL_MSG_EXITED,  /* a runner is done (ran, or could not start) */
    WL_MSG_VOLUMES, /* the volume manager wrote a pod's volumes, or not */
    WL_MSG_SNAPSHOT, /* the server asks for a copy of the pods */
};

/* A snapshot request: shared by the asker and the owner, freed by the
 * last of the two to let go (refs, under lock). */
struct wl_snapshot_req {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int refs;
    bool done;
    bool with_objects;
    struct wl_pod_snapshot *result; /* set by the owner; NULL on ENOMEM */
};

/* The owner's answer (result may be NULL); drops the owner's ref. */
void wl_snapshot_req_answer(struct wl_snapshot_req *req,
                            struct wl_pod_snapshot *result);

struct wl_pod_msg {
    enum wl_pod_msg_kind kind;
    /* WL_MSG_POD */
    int watch_type; /* enum wl_watch_type */
    json_t *obj;
    /* WL_MSG_STARTED / WL_MSG_EXITED / WL_MSG_VOLUMES */
    char *uid;
    bool ok; /* VOLUMES: every volume written; else message says why */
    bool evict; /* VOLUMES: an emptyDir is over its sizeLimit: evict the
                   pod, message says why (ok is then true) */
    bool is_init;
    size_t index;
    unsigned run_id;
    char *image_id;            /* STARTED */
    time_t when;               /* started / finished */
    struct wl_run_result result; /* EXITED, when it ran */
    bool ran;                  /* EXITED: false: could not start */
    const char *reason;        /* EXITED && !ran: ErrImagePull, ... */
    char *message;
    char *term_message; /* EXITED, when it ran: the termination message
                           (pod/termmsg.h), NULL when none */
    struct wl_snapshot_req *snapshot; /* SNAPSHOT */
};

void wl_pod_msg_free(void *msg);

/* What a runner needs; it owns all of it. */
struct wl_runner_job {
    const struct wl_pod_manager_config *cfg;
    struct wl_queue *queue;
    struct wl_pod_writer *writer; /* posts the run's Events */
    json_t *pod; /* a deep copy: the runner's own */
    bool is_init;
    size_t index;
    unsigned run_id;
    unsigned restart; /* restartCount: names the log file */
    atomic_bool *cancel; /* owned by the manager, outlives the thread */
    struct wl_run_stats *stats; /* likewise */
};

/* Thread entry: runs job and frees it. */
void *wl_runner_main(void *job);

#endif
