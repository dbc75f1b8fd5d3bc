#include "pod/manager.h"
#include "util/metrics_daemon.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "version.h" /* WL_VERSION, generated */
#include "kube/client.h"
#include "kube/watch.h"
#include "node/node.h"
#include "pod/backoff.h"
#include "pod/emptydir.h"
#include "pod/events.h"
#include "pod/runner.h"
#include "pod/runrecord.h"
#include "pod/spec.h"
#include "pod/state.h"
#include "pod/termmsg.h"
#include "pod/writer.h"
#include "pod/volumes.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/log.h"
#include "util/queue.h"
#include "util/time.h"

#define TICK_MS 500

struct pod {
    struct pod *next;
    char *uid;
    json_t *obj; /* the latest object from the watch */
    struct wl_pod_spec *spec;
    struct ctr *init, *ctrs;
    bool rejected; /* admission said no: status written, nothing runs */
    bool finished; /* phase Succeeded/Failed: nothing runs any more */
    bool deleting;
    bool gone;     /* deleted from the API server */
    bool dirty;    /* status must be written */
    bool status_sent; /* a status went to the writer */
    double status_at; /* monotonic: when it last went */
    time_t start_time;
    double deadline; /* activeDeadlineSeconds, monotonic; 0 none */
    bool deadline_hit;
    bool sidecars_stopped; /* every app container is done */
    /* emptyDir over its sizeLimit (the volume manager measures): evicted
     * as the kubelet does, like deadline_hit; evict_message set by the
     * volume manager's word, evicted once acted on in pod_step. */
    bool evicted;
    char *evict_message;
    /* configMap/secret/downwardAPI/projected volumes: mounted = the volume
     * manager has the pod (unmount it when done); wait = not written yet,
     * so no container starts; message = the last FailedMount. */
    bool volumes_mounted, volumes_wait;
    char *volumes_message;
    /* conditions: status and when it last changed (lastTransitionTime) */
    struct cond {
        bool set, value;
        time_t since;
    } conds[4];
};

struct wl_pod_manager {
    const struct wl_pod_manager_config *cfg;
    struct wl_queue *queue;
    pthread_t owner, watcher;
    atomic_bool stop_watch;
    atomic_bool watch_interrupt; /* set with stop_watch, or to renew the
                                    watch's client */
    atomic_bool stop_owner;
    /* wl_now_s() in ms when the owner last turned (any thread reads it:
     * wl_pod_manager_stalled_s) */
    atomic_llong turned_ms;
    /* owner-thread state */
    struct wl_pod_writer *writer; /* status and Events, on its thread */
    struct wl_kube_client *client;
    unsigned client_gen; /* of cfg->creds, when client was made */
    struct pod *pods;
    unsigned next_run_id;
    struct wl_volume_manager *volumes; /* its own thread; we only send */
    double reconcile_at; /* monotonic: next look for status drift */
};

/* ---------------------------------------------------------------- watch */

static void on_pod_event(void *ud, enum wl_watch_type type, const json_t *obj)
{
    struct wl_pod_manager *m = ud;
    struct wl_pod_msg *msg = calloc(1, sizeof(*msg));
    if (!msg)
        return;
    msg->kind = WL_MSG_POD;
    msg->watch_type = (int)type;
    /* A deep copy: the owner may keep it after the watch moves on. */
    msg->obj = json_deep_copy(obj);
    if (!msg->obj || wl_queue_push(m->queue, msg) < 0)
        wl_pod_msg_free(msg);
}

/* The watch goes on across credential changes: the owner interrupts it
 * when the client certificate was rotated, and it resumes with a new
 * client from the same cache (nothing missed or replayed). */
static void *watch_main(void *arg)
{
    struct wl_pod_manager *m = arg;
    _cleanup_free_ char *sel = NULL;

    if (asprintf(&sel, "spec.nodeName=%s", m->cfg->node_name) < 0) {
        log_error("pod watch: out of memory");
        return NULL;
    }
    struct wl_watch_opts o = {.path = "/api/v1/pods", .field_selector = sel};
    struct wl_watch_cache cache;
    wl_watch_cache_init(&cache, on_pod_event, m);
    while (!atomic_load(&m->stop_watch)) {
        struct wl_kube_client *c = NULL;
        struct wl_error err = WL_ERROR_INIT;
        atomic_store(&m->watch_interrupt, false);
        if (atomic_load(&m->stop_watch)) /* stopped since the check */
            break;
        if (wl_kube_client_from_creds(m->cfg->creds, "wasmlet/" WL_VERSION,
                                      &c, NULL, &err) < 0) {
            log_error("pod watch: %s", err.msg);
            wl_error_clear(&err);
            break;
        }
        (void)wl_watch_run(c, &o, &cache, &m->watch_interrupt);
        wl_kube_client_free(c);
    }
    wl_watch_cache_clear(&cache);
    return NULL;
}

/* ---------------------------------------------------------------- state */

static struct pod *pod_find(struct wl_pod_manager *m, const char *uid)
{
    for (struct pod *p = m->pods; p; p = p->next)
        if (strcmp(p->uid, uid) == 0)
            return p;
    return NULL;
}

static size_t active_pods(struct wl_pod_manager *m)
{
    size_t n = 0;
    for (struct pod *p = m->pods; p; p = p->next)
        n += !p->rejected && !p->finished && !p->gone;
    return n;
}



static void pod_free(struct pod *p)
{
    size_t n[2] = {p->spec ? p->spec->ninit : 0,
                   p->spec ? p->spec->ncontainers : 0};
    struct ctr *arr[2] = {p->init, p->ctrs};
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; arr[k] && i < n[k]; i++) {
            struct ctr *c = &arr[k][i];
            free(c->wait_message);
            term_clear(&c->last);
            term_clear(&c->prev);
            free(c->cancel);
            free(c->stats);
            free(c->image_id);
        }
        free(arr[k]);
    }
    wl_pod_spec_free(p->spec);
    json_decref(p->obj);
    free(p->volumes_message);
    free(p->evict_message);
    free(p->uid);
    free(p);
}

static bool pod_has_live(const struct pod *p)
{
    for (size_t i = 0; i < p->spec->ninit; i++)
        if (p->init[i].live)
            return true;
    for (size_t i = 0; i < p->spec->ncontainers; i++)
        if (p->ctrs[i].live)
            return true;
    return false;
}

static struct ctr *ctrs_new(const struct wl_container *specs, size_t n,
                            bool is_init)
{
    struct ctr *c = calloc(n ? n : 1, sizeof(*c));
    for (size_t i = 0; c && i < n; i++) {
        c[i].spec = &specs[i];
        c[i].is_init = is_init;
        c[i].index = i;
        c[i].cancel = malloc(sizeof(atomic_bool));
        c[i].stats = calloc(1, sizeof(*c[i].stats));
        if (!c[i].cancel || !c[i].stats)
            return c; /* checked by the caller through cancel == NULL */
        atomic_init(c[i].cancel, false);
        ctr_set_waiting(&c[i], is_init ? "PodInitializing" : "ContainerCreating",
                        NULL);
    }
    return c;
}

/* Whether c runs again after its last run, as p's restart policy says
 * (never once the pod is being stopped). */
static bool should_restart(const struct pod *p, const struct ctr *c)
{
    return ctr_should_restart(c, p->spec->restart_policy,
                              p->deleting || p->gone || p->deadline_hit ||
                                  p->evicted ||
                                  (ctr_is_sidecar(c) && p->sidecars_stopped));
}

static const char *pod_phase(const struct pod *p)
{
    return pod_phase_of(p->init, p->spec->ninit, p->ctrs,
                        p->spec->ncontainers,
                        p->rejected || p->deadline_hit || p->evicted);
}

/* ---------------------------------------------------------------- status */



static json_t *ctr_status(const struct pod *p, const struct ctr *c)
{
    char id[200];
    snprintf(id, sizeof(id), "wasmtime://%s-%s", p->uid, c->spec->name);
    bool running = c->state == CTR_RUNNING;
    /* The status manager's normalizeStatus: 12 KiB of termination
     * messages per pod, shared evenly. */
    size_t budget = wl_termmsg_budget(p->spec->ncontainers + p->spec->ninit);
    json_t *s = json_pack(
        "{s:s, s:o, s:o, s:b, s:b, s:i, s:s, s:s}", "name", c->spec->name,
        "state", ctr_state_json(c, budget), "lastState",
        ctr_last_state_json(c, budget), "ready",
        running, "started", running, "restartCount", (int)c->restarts,
        "image", c->spec->image, "imageID", c->image_id ? c->image_id : "");
    if (s && (c->state != CTR_WAITING || c->image_id))
        json_object_set_new(s, "containerID", json_string(id));
    return s;
}


/* A pod condition; its lastTransitionTime moves only when its status
 * changes. */
static json_t *condition(struct cond *cond, const char *type, bool status,
                         const char *reason)
{
    char since[40];
    if (!cond->set || cond->value != status) {
        cond->set = true;
        cond->value = status;
        cond->since = time(NULL);
    }
    wl_time_format(cond->since, since, sizeof(since));
    json_t *c = json_pack("{s:s, s:s, s:s}", "type", type, "status",
                          status ? "True" : "False", "lastTransitionTime",
                          since);
    if (c && reason)
        json_object_set_new(c, "reason", json_string(reason));
    return c;
}

static json_t *pod_status(struct pod *p, const struct wl_pod_manager_config *cfg)
{
    const char *phase = pod_phase(p);
    bool inited = pod_initialized_of(p->init, p->spec->ninit),
         all_running = p->spec->ncontainers > 0;
    for (size_t i = 0; i < p->spec->ncontainers; i++)
        all_running &= p->ctrs[i].state == CTR_RUNNING;
    bool ended = !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
    const char *why = ended ? "PodCompleted"
                            : (all_running ? NULL : "ContainersNotReady");
    char start[40];
    wl_time_format(p->start_time, start, sizeof(start));

    json_t *inits = json_array(), *ctrs = json_array();
    for (size_t i = 0; i < p->spec->ninit; i++)
        json_array_append_new(inits, ctr_status(p, &p->init[i]));
    for (size_t i = 0; i < p->spec->ncontainers; i++)
        json_array_append_new(ctrs, ctr_status(p, &p->ctrs[i]));
    json_t *st = json_pack(
        "{s:s, s:[o, o, o, o], s:s, s:[{s:s}], s:s, s:[{s:s}], s:s, s:o, "
        "s:o}",
        "phase", phase, "conditions",
        condition(&p->conds[0], "PodScheduled", true, NULL),
        condition(&p->conds[1], "Initialized", inited,
                  inited ? NULL : "ContainersNotInitialized"),
        condition(&p->conds[2], "ContainersReady", all_running && !ended,
                  why),
        condition(&p->conds[3], "Ready", all_running && !ended, why), "hostIP", cfg->node_ip,
        "hostIPs", "ip", cfg->node_ip, "podIP", cfg->node_ip, "podIPs", "ip",
        cfg->node_ip, "startTime", start, "initContainerStatuses", inits,
        "containerStatuses", ctrs);
    if (st && p->deadline_hit) {
        json_object_set_new(st, "reason", json_string("DeadlineExceeded"));
        json_object_set_new(st, "message",
                            json_string("Pod was active on the node longer "
                                        "than the specified deadline"));
    }
    if (st && p->evicted) {
        json_object_set_new(st, "reason", json_string("Evicted"));
        json_object_set_new(st, "message", json_string(p->evict_message));
    }
    return st;
}

/* Hands status to the writer thread (pod/writer.h), which coalesces and
 * retries. A pod's first status, when Pending, waits FIRST_STATUS_DELAY_S
 * in the writer: a pod whose module is in the store starts a few ms later,
 * and its Running status then replaces it, so it costs one PATCH instead
 * of two in a row (with 100 pods starting at once, a PATCH takes ~60 ms). */
#define FIRST_STATUS_DELAY_S 0.1
static void write_status(struct wl_pod_manager *m, struct pod *p,
                         json_t *status)
{
    const char *phase = wl_json_str(status, "phase", NULL);
    double delay = !p->status_sent && phase && !strcmp(phase, "Pending")
                       ? FIRST_STATUS_DELAY_S
                       : 0;
    wl_pod_writer_status(m->writer, p->spec->namespace_, p->spec->name,
                         p->uid, status, delay);
    p->dirty = false;
    p->status_sent = true;
    p->status_at = wl_now_s();
}

/* An Event from the owner thread, posted by the writer thread. */
#define owner_event(m, pod, ...)                                               \
    wl_pod_writer_eventf((m)->writer, (m)->cfg->node_name, pod, __VA_ARGS__)

/* ---------------------------------------------------------------- actions */

static void start_ctr(struct wl_pod_manager *m, struct pod *p, struct ctr *c)
{
    struct wl_runner_job *job = calloc(1, sizeof(*job));
    if (!job)
        return;
    job->cfg = m->cfg;
    job->queue = m->queue;
    job->writer = m->writer;
    job->pod = json_deep_copy(p->obj);
    job->is_init = c->is_init;
    job->index = c->index;
    unsigned run_id = job->run_id = ++m->next_run_id;
    job->restart = c->restarts;
    job->cancel = c->cancel;
    job->stats = c->stats;
    atomic_store(c->cancel, false);
    if (!job->pod || pthread_create(&c->thread, NULL, wl_runner_main, job)) {
        json_decref(job->pod);
        free(job);
        ctr_set_waiting(c, "CreateContainerError", "cannot start a thread");
        p->dirty = true;
        return;
    }
    /* job is the runner's now (it may be freed already): not read again */
    c->live = true;
    c->run_id = run_id;
    c->restart_at = 0;
    /* A restart keeps showing why it waited (CrashLoopBackOff) until the
     * module runs again, as the kubelet does. */
    if (!c->has_last)
        ctr_set_waiting(c, "ContainerCreating", NULL);
    p->dirty = true;
}

static void reject(struct wl_pod_manager *m, struct pod *p, const char *reason,
                   const char *message)
{
    p->rejected = true;
    log_warning("pod rejected pod=%s/%s reason=%s: %s", p->spec->namespace_,
                p->spec->name, reason, message);
    owner_event(m, p->obj, NULL, true, reason,
                 "%s", message);
    json_t *st = json_pack("{s:s, s:s, s:s}", "phase", "Failed", "reason",
                           reason, "message", message);
    write_status(m, p, st);
}

/* A pod we cannot even decode: report on the object itself. */
static void reject_raw(struct wl_pod_manager *m, const json_t *obj,
                       const char *message)
{
    const char *ns = wl_json_str(obj, "metadata", "namespace", NULL);
    const char *name = wl_json_str(obj, "metadata", "name", NULL);
    const char *uid = wl_json_str(obj, "metadata", "uid", NULL);
    const char *phase = wl_json_str(obj, "status", "phase", NULL);
    const char *why = wl_json_str(obj, "status", "reason", NULL);
    if (!ns || !name)
        return;
    /* Said already (our own status write comes back as MODIFIED, and a
     * restarted wasmlet sees the pod again): once is enough. */
    if (phase && !strcmp(phase, "Failed") && why &&
        !strcmp(why, "UnsupportedPodSpec"))
        return;
    log_warning("pod rejected pod=%s/%s: %s", ns, name, message);
    owner_event(m, obj, NULL, true, "UnsupportedPodSpec", "%s", message);
    json_t *st = json_pack("{s:s, s:s, s:s}", "phase", "Failed", "reason",
                           "UnsupportedPodSpec", "message", message);
    wl_pod_writer_status(m->writer, ns, name, uid ? uid : name, st, 0);
}


/* The startedAt the API's status gave run n of c while it ran, 0 when it
 * has none (that run was never reported running): the start of a run lost
 * with a wasmlet that died, which wrote no n.exit to say it. */
static time_t status_started_at(const struct pod *p, const struct ctr *c,
                                unsigned n)
{
    const char *list =
        c->is_init ? "initContainerStatuses" : "containerStatuses";
    size_t i;
    json_t *cs;
    json_array_foreach(wl_json_get(p->obj, "status", list, NULL), i, cs) {
        const char *name = wl_json_str(cs, "name", NULL);
        json_t *count = json_object_get(cs, "restartCount");
        time_t t;
        if (name && !strcmp(name, c->spec->name) && json_is_integer(count) &&
            json_integer_value(count) == (json_int_t)n &&
            wl_time_parse(wl_json_str(cs, "state", "running", "startedAt",
                                      NULL),
                          &t) == 0)
            return t;
    }
    return 0;
}

static void term_from_record(struct term *t, const struct pod *p,
                             const struct ctr *c,
                             const struct wl_run_record *rec)
{
    term_clear(t);
    t->started = rec->started_at;
    t->finished = rec->finished_at;
    if (!rec->ended) {
        /* Run by a wasmlet that died (its modules died with it). Its start
         * is what the status said, else when its log was made. */
        time_t said = status_started_at(p, c, rec->n);
        if (said > 0)
            t->started = said;
        t->exit_code = 137;
        t->reason = "ContainerStatusUnknown";
        t->message = strdup("The container was running when wasmlet "
                            "stopped; the run was lost with it");
        t->finished = time(NULL);
    } else if (!rec->started) {
        t->exit_code = 128;
        t->reason = "StartError";
        t->message = rec->message ? strdup(rec->message) : NULL;
    } else {
        term_set(t, rec->kind, rec->exit_code, rec->oom, rec->message,
                 rec->term_message, p->deadline_hit);
    }
}

/* After a wasmlet restart: what each container did before, from the run
 * records in the pod's dir (pod/runrecord.h), so that nothing runs twice
 * and restart counts go on. A run that was going when wasmlet died ended
 * with it: it counts as a failed run, restarted as the policy says. */
static void adopt_local(struct wl_pod_manager *m, struct pod *p)
{
    size_t n[2] = {p->spec->ninit, p->spec->ncontainers};
    struct ctr *arr[2] = {p->init, p->ctrs};
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < n[k]; i++) {
            struct ctr *c = &arr[k][i];
            _cleanup_free_ char *dir = NULL;
            struct wl_run_record rec, prev;
            if (asprintf(&dir, "%s/pods/%s/%s", m->cfg->data_dir, p->uid,
                         c->spec->name) < 0 ||
                wl_run_record_last(dir, &rec) <= 0)
                continue;
            if (rec.n > c->restarts)
                c->restarts = rec.n;
            if (rec.n > 0 && wl_run_record_read(dir, rec.n - 1, &prev)) {
                term_from_record(&c->prev, p, c, &prev);
                c->has_prev = true;
                wl_run_record_clear(&prev);
            }
            term_from_record(&c->last, p, c, &rec);
            c->has_last = true;
            c->state = CTR_TERMINATED;
            if (!rec.ended)
                log_warning("container run lost pod=%s/%s container=%s "
                            "restartCount=%u",
                            p->spec->namespace_, p->spec->name,
                            c->spec->name, rec.n);
            if (should_restart(p, c))
                c->restart_at = wl_now_s();
            wl_run_record_clear(&rec);
        }
    }
}

/* Restart counts survive a wasmlet restart through the pod's status. */
static void adopt_status(struct pod *p)
{
    const char *phase = wl_json_str(p->obj, "status", "phase", NULL);
    if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
        p->finished = true; /* never run a finished pod again */
    /* Conditions keep the times they already have (PodScheduled is the
     * scheduler's). */
    static const char *const cond_types[] = {"PodScheduled", "Initialized",
                                             "ContainersReady", "Ready"};
    size_t ci;
    json_t *cj;
    json_array_foreach(wl_json_get(p->obj, "status", "conditions", NULL), ci,
                       cj) {
        const char *type = wl_json_str(cj, "type", NULL);
        const char *status = wl_json_str(cj, "status", NULL);
        time_t since;
        for (size_t k = 0; type && k < 4; k++)
            if (strcmp(type, cond_types[k]) == 0 &&
                wl_time_parse(wl_json_str(cj, "lastTransitionTime", NULL),
                              &since) == 0)
                p->conds[k] = (struct cond){
                    .set = true,
                    .value = status && !strcmp(status, "True"),
                    .since = since};
    }
    time_t started;
    if (wl_time_parse(wl_json_str(p->obj, "status", "startTime", NULL),
                      &started) == 0 &&
        started <= time(NULL))
        p->start_time = started;
    size_t i;
    json_t *cs;
    json_array_foreach(wl_json_get(p->obj, "status", "containerStatuses", NULL),
                       i, cs) {
        const char *name = wl_json_str(cs, "name", NULL);
        for (size_t k = 0; name && k < p->spec->ncontainers; k++)
            if (strcmp(p->ctrs[k].spec->name, name) == 0)
                p->ctrs[k].restarts = (unsigned)json_integer_value(
                    json_object_get(cs, "restartCount"));
    }
}

/* ---------------------------------------------------------------- volumes */

/* Hands the volume manager a copy of the pod to write (or write again);
 * its answer comes back as WL_MSG_VOLUMES. */
static void volumes_request(struct wl_pod_manager *m, struct pod *p)
{
    if (wl_volume_manager_mount(m->volumes, json_deep_copy(p->obj)) < 0)
        log_warning("volume mount request pod=%s/%s: volume manager "
                    "unavailable",
                    p->spec->namespace_, p->spec->name);
    p->volumes_mounted = true;
}

/* The pod is finished or gone: its volumes can go. */
static void volumes_release(struct wl_pod_manager *m, struct pod *p)
{
    if (!p->volumes_mounted)
        return;
    p->volumes_mounted = false;
    if (wl_volume_manager_unmount(m->volumes, p->uid) < 0)
        log_warning("volume unmount request pod=%s/%s: volume manager "
                    "unavailable",
                    p->spec->namespace_, p->spec->name);
}

static void on_volumes_msg(struct wl_pod_manager *m, struct wl_pod_msg *msg)
{
    struct pod *p = pod_find(m, msg->uid);
    if (!p || !p->volumes_mounted)
        return; /* an answer for a pod we let go */
    if (msg->evict) {
        /* pod_step stops the pod (as for activeDeadlineSeconds). */
        if (!p->evict_message)
            p->evict_message = TAKE_PTR(msg->message);
        return;
    }
    free(p->volumes_message);
    p->volumes_message = msg->ok ? NULL : TAKE_PTR(msg->message);
    if (msg->ok && p->volumes_wait) {
        /* Once written, a later failure (a ConfigMap deleted) leaves the
         * running pod alone, as the kubelet does. */
        p->volumes_wait = false;
        log_info("volumes ready pod=%s/%s", p->spec->namespace_,
                 p->spec->name);
    }
}

/* json_equal, with two absent values equal. */
static bool same_json(const json_t *a, const json_t *b)
{
    return (!a && !b) || (a && b && json_equal((json_t *)a, (json_t *)b));
}

static void pod_added(struct wl_pod_manager *m, json_t *obj)
{
    struct wl_pod_spec *spec = NULL;
    struct wl_error err = WL_ERROR_INIT;
    const char *reason = NULL;

    if (wl_pod_spec_parse(obj, &spec, &err) < 0) {
        reject_raw(m, obj, err.msg);
        wl_error_clear(&err);
        return;
    }
    struct pod *p = calloc(1, sizeof(*p));
    if (!p || !spec->uid || !(p->uid = strdup(spec->uid))) {
        free(p);
        wl_pod_spec_free(spec);
        return;
    }
    p->spec = spec;
    p->obj = json_incref(obj);
    p->start_time = time(NULL);
    p->init = ctrs_new(spec->init_containers, spec->ninit, true);
    p->ctrs = ctrs_new(spec->containers, spec->ncontainers, false);
    p->next = m->pods;
    m->pods = p;
    if (!p->init || !p->ctrs) {
        reject(m, p, "OutOfMemory", "wasmlet ran out of memory");
        return;
    }
    adopt_status(p);
    if (spec->deleting) {
        /* Being deleted already (before we saw it, or a late event after
         * we forgot it): never start it, only finish the deletion. */
        p->deleting = true;
        return;
    }
    if (p->finished)
        return;
    if (wl_pod_admit(spec, active_pods(m) - 1, m->cfg->max_pods, &reason,
                     &err) < 0) {
        reject(m, p, reason, err.msg);
        wl_error_clear(&err);
        return;
    }
    adopt_local(m, p);
    if (spec->active_deadline_s > 0)
        p->deadline = wl_now_s() + (double)(p->start_time +
                                            spec->active_deadline_s -
                                            time(NULL));
    log_info("pod admitted pod=%s/%s uid=%s", spec->namespace_, spec->name,
             spec->uid);
    char *ignored = wl_pod_ignored_fields(obj);
    if (ignored) {
        owner_event(m, p->obj, NULL, true, "UnsupportedField", "%s",
                    ignored);
        free(ignored);
    }
    if (wl_volumes_needed(spec)) {
        p->volumes_wait = true;
        volumes_request(m, p);
    }
    p->dirty = true;
}

/* Stops every module of p (at once, also one asleep in poll_oneoff). */
static void cancel_all(struct wl_pod_manager *m, struct pod *p)
{
    for (size_t i = 0; i < p->spec->ninit; i++)
        wl_run_cancel(m->cfg->engine, p->init[i].cancel);
    for (size_t i = 0; i < p->spec->ncontainers; i++) {
        wl_run_cancel(m->cfg->engine, p->ctrs[i].cancel);
        p->ctrs[i].restart_at = 0;
    }
}

static void on_pod_msg(struct wl_pod_manager *m, struct wl_pod_msg *msg)
{
    const char *uid = wl_json_str(msg->obj, "metadata", "uid", NULL);
    struct pod *p = uid ? pod_find(m, uid) : NULL;

    log_debug("pod event type=%d pod=%s known=%d", (int)msg->watch_type,
              wl_json_str(msg->obj, "metadata", "name", NULL), p != NULL);

    if (msg->watch_type == WL_WATCH_DELETED) {
        if (p) {
            p->gone = true;
            cancel_all(m, p);
        }
        return;
    }
    if (!p) {
        pod_added(m, msg->obj);
        return;
    }
    /* downwardAPI files show labels and annotations: write them again. */
    bool relabel =
        !same_json(wl_json_get(p->obj, "metadata", "labels", NULL),
                   wl_json_get(msg->obj, "metadata", "labels", NULL)) ||
        !same_json(wl_json_get(p->obj, "metadata", "annotations", NULL),
                   wl_json_get(msg->obj, "metadata", "annotations", NULL));
    json_decref(p->obj);
    p->obj = json_incref(msg->obj);
    if (relabel && p->volumes_mounted)
        volumes_request(m, p);
    if (wl_json_get(msg->obj, "metadata", "deletionTimestamp", NULL) &&
        !p->deleting) {
        p->deleting = true;
        log_info("pod deleting pod=%s/%s", p->spec->namespace_,
                 p->spec->name);
        for (size_t i = 0; i < p->spec->ncontainers; i++)
            if (p->ctrs[i].live)
                owner_event(m, p->obj, NULL,
                             false, "Killing", "Stopping container %s",
                             p->ctrs[i].spec->name);
        cancel_all(m, p);
    }
}

static struct ctr *ctr_of(struct pod *p, const struct wl_pod_msg *msg)
{
    size_t n = msg->is_init ? p->spec->ninit : p->spec->ncontainers;
    if (msg->index >= n)
        return NULL;
    struct ctr *c = msg->is_init ? &p->init[msg->index] : &p->ctrs[msg->index];
    return c->run_id == msg->run_id ? c : NULL;
}

/* How a run that ended shows in the container's status. */


static void on_exited(struct wl_pod_manager *m, struct pod *p, struct ctr *c,
                      struct wl_pod_msg *msg)
{
    (void)pthread_join(c->thread, NULL);
    c->live = false;
    p->dirty = true;
    const char *field = c->is_init ? "spec.initContainers" : "spec.containers";
    char fp[300];
    snprintf(fp, sizeof(fp), "%s{%s}", field, c->spec->name);

    if (!msg->ran) {
        /* Could not start: waiting, retried with backoff. */
        log_warning("container not started pod=%s/%s container=%s "
                    "reason=%s: %s",
                    p->spec->namespace_, p->spec->name, c->spec->name,
                    msg->reason, msg->message ? msg->message : "");
        wl_counter_inc(wl_metric_with(&wl_m_container_failures, msg->reason));
        ctr_set_waiting(c, msg->reason, msg->message);
        c->pull_failed_at = strcmp(msg->reason, "ErrImagePull") == 0
                                ? wl_now_s()
                                : 0;
        if (!p->deleting && !p->gone) {
            int64_t d = wl_backoff_delay(&c->backoff, 0);
            if (d < 10000)
                d = 10000;
            c->restart_at = wl_now_s() + (double)d / 1000.0;
        }
        return;
    }
    ctr_run_ended(c, msg->when, &msg->result, msg->term_message,
                  p->deadline_hit);
    log_info("container exited pod=%s/%s container=%s exit=%d reason=%s",
             p->spec->namespace_, p->spec->name, c->spec->name,
             c->last.exit_code, c->last.reason);
    if (c->last.exit_code != 0)
        wl_counter_inc(wl_metric_with(&wl_m_container_failures,
                                      c->last.reason ? c->last.reason
                                                     : "Error"));
    if (should_restart(p, c)) {
        int64_t d = wl_backoff_delay(&c->backoff,
                                     (int64_t)(c->last.finished -
                                               c->last.started) * 1000);
        c->restart_at = wl_now_s() + (double)d / 1000.0;
        if (d > 0) {
            ctr_set_waiting(c, "CrashLoopBackOff", NULL);
            char msg_buf[300];
            snprintf(msg_buf, sizeof(msg_buf),
                     "back-off %llds restarting failed container=%s pod=%s",
                     (long long)(d / 1000), c->spec->name, p->spec->name);
            free(c->wait_message);
            c->wait_message = strdup(msg_buf);
            owner_event(m, p->obj, fp, true,
                         "BackOff", "Back-off restarting failed container %s "
                                    "in pod %s",
                         c->spec->name, p->spec->name);
        }
    }
}

/* ------------------------------------------------------------ snapshots */

void wl_snapshot_req_answer(struct wl_snapshot_req *req,
                            struct wl_pod_snapshot *result)
{
    pthread_mutex_lock(&req->lock);
    req->result = result;
    req->done = true;
    pthread_cond_broadcast(&req->cond);
    bool last = --req->refs == 0;
    pthread_mutex_unlock(&req->lock);
    if (last) {
        wl_pod_snapshot_free(req->result);
        pthread_mutex_destroy(&req->lock);
        pthread_cond_destroy(&req->cond);
        free(req);
    }
}

static int view_ctr(struct wl_pod_view_ctr *v, const struct ctr *c)
{
    v->name = strdup(c->spec->name);
    v->is_init = c->is_init;
    v->restarts = c->restarts;
    v->running = c->state == CTR_RUNNING;
    v->waiting = c->state == CTR_WAITING ? c->wait_reason : NULL;
    v->ran = c->state == CTR_RUNNING || c->has_last;
    if (c->stats) {
        v->cpu_ns = atomic_load(&c->stats->cpu_ns);
        v->memory_bytes = atomic_load(&c->stats->memory_bytes);
        v->started_ns = atomic_load(&c->stats->started_ns);
    }
    return v->name ? 0 : -1;
}

static int view_pod(struct wl_pod_view *v, struct pod *p,
                    const struct wl_pod_manager_config *cfg, bool objects)
{
    v->namespace_ = strdup(p->spec->namespace_);
    v->name = strdup(p->spec->name);
    v->uid = strdup(p->uid);
    v->phase = strdup(pod_phase(p));
    v->start_ns = (int64_t)p->start_time * 1000000000LL;
    if (!v->namespace_ || !v->name || !v->uid || !v->phase)
        return -1;
    if (objects) {
        v->obj = json_deep_copy(p->obj);
        if (!v->obj)
            return -1;
        if (!p->rejected) {
            json_t *st = pod_status(p, cfg);
            if (!st || json_object_set_new(v->obj, "status", st) < 0)
                return -1;
        }
    }
    size_t n = p->spec->ninit + p->spec->ncontainers;
    v->ctrs = calloc(n ? n : 1, sizeof(*v->ctrs));
    if (!v->ctrs)
        return -1;
    for (size_t i = 0; i < p->spec->ninit; i++)
        if (view_ctr(&v->ctrs[v->nctrs++], &p->init[i]) < 0)
            return -1;
    for (size_t i = 0; i < p->spec->ncontainers; i++)
        if (view_ctr(&v->ctrs[v->nctrs++], &p->ctrs[i]) < 0)
            return -1;
    return 0;
}

static struct wl_pod_snapshot *snapshot_build(struct wl_pod_manager *m,
                                              bool objects)
{
    struct wl_pod_snapshot *s = calloc(1, sizeof(*s));
    size_t n = 0;
    for (struct pod *p = m->pods; p; p = p->next)
        n += p->spec && !p->gone;
    if (!s || !(s->pods = calloc(n ? n : 1, sizeof(*s->pods)))) {
        free(s);
        return NULL;
    }
    for (struct pod *p = m->pods; p; p = p->next) {
        if (!p->spec || p->gone)
            continue;
        if (view_pod(&s->pods[s->npods++], p, m->cfg, objects) < 0) {
            wl_pod_snapshot_free(s);
            return NULL;
        }
    }
    return s;
}

int wl_pod_manager_snapshot(struct wl_pod_manager *m, bool with_objects,
                            long timeout_ms, struct wl_pod_snapshot **ret,
                            struct wl_error *err)
{
    struct wl_snapshot_req *req = calloc(1, sizeof(*req));
    struct wl_pod_msg *msg = calloc(1, sizeof(*msg));
    if (!req || !msg) {
        free(req);
        free(msg);
        return wl_error_set(err, ENOMEM, "snapshot");
    }
    pthread_mutex_init(&req->lock, NULL);
    pthread_cond_init(&req->cond, NULL);
    req->refs = 2; /* ours, and the message's until the owner answers */
    req->with_objects = with_objects;
    msg->kind = WL_MSG_SNAPSHOT;
    msg->snapshot = req;
    if (wl_queue_push(m->queue, msg) < 0)
        wl_pod_msg_free(msg); /* answers NULL */

    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&req->lock);
    while (!req->done &&
           pthread_cond_timedwait(&req->cond, &req->lock, &until) == 0)
        ;
    bool done = req->done;
    struct wl_pod_snapshot *s = req->result;
    req->result = NULL;
    bool last = --req->refs == 0;
    pthread_mutex_unlock(&req->lock);
    if (last) {
        pthread_mutex_destroy(&req->lock);
        pthread_cond_destroy(&req->cond);
        free(req);
    }
    if (!s)
        return wl_error_set(err, done ? ENOMEM : ETIMEDOUT,
                            done ? "the pod manager could not copy its pods"
                                 : "the pod manager did not answer in %ld ms",
                            timeout_ms);
    *ret = s;
    return 0;
}

const struct wl_pod_view *wl_pod_snapshot_find(const struct wl_pod_snapshot *s,
                                               const char *namespace_,
                                               const char *name)
{
    for (size_t i = 0; s && i < s->npods; i++)
        if (!strcmp(s->pods[i].namespace_, namespace_) &&
            !strcmp(s->pods[i].name, name))
            return &s->pods[i];
    return NULL;
}

void wl_pod_snapshot_free(struct wl_pod_snapshot *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->npods; i++) {
        struct wl_pod_view *v = &s->pods[i];
        for (size_t k = 0; k < v->nctrs; k++)
            free(v->ctrs[k].name);
        free(v->ctrs);
        free(v->namespace_);
        free(v->name);
        free(v->uid);
        free(v->phase);
        json_decref(v->obj);
    }
    free(s->pods);
    free(s);
}

static void on_runner_msg(struct wl_pod_manager *m, struct wl_pod_msg *msg)
{
    if (msg->kind == WL_MSG_SNAPSHOT) {
        struct wl_snapshot_req *req = msg->snapshot;
        msg->snapshot = NULL;
        wl_snapshot_req_answer(req, snapshot_build(m, req->with_objects));
        return;
    }
    if (msg->kind == WL_MSG_VOLUMES) {
        on_volumes_msg(m, msg);
        return;
    }
    struct pod *p = pod_find(m, msg->uid);
    struct ctr *c = p ? ctr_of(p, msg) : NULL;
    if (!c)
        return; /* a run we no longer track */
    if (msg->kind == WL_MSG_STARTED) {
        wl_counter_inc(&wl_m_container_starts);
        c->state = CTR_RUNNING;
        c->started = msg->when;
        free(c->image_id);
        c->image_id = msg->image_id;
        msg->image_id = NULL;
        p->dirty = true;
        char fp[300];
        snprintf(fp, sizeof(fp), "%s{%s}",
                 c->is_init ? "spec.initContainers" : "spec.containers",
                 c->spec->name);
        owner_event(m, p->obj, fp, false,
                     "Created", "Created container %s", c->spec->name);
        owner_event(m, p->obj, fp, false,
                     "Started", "Started container %s", c->spec->name);
        return;
    }
    on_exited(m, p, c, msg);
}

/* Starts what is due: the next init container, or every app container
 * once init is done; and restarts whose backoff expired. */
/* Sidecars that started once: restarted when they exit (with backoff),
 * and stopped once every app container is done. */
static void step_sidecars(struct wl_pod_manager *m, struct pod *p, double now)
{
    if (!p->sidecars_stopped && pod_apps_done(p->ctrs, p->spec->ncontainers)) {
        p->sidecars_stopped = true;
        for (size_t i = 0; i < p->spec->ninit; i++) {
            struct ctr *c = &p->init[i];
            if (!ctr_is_sidecar(c))
                continue;
            c->restart_at = 0;
            if (c->live) {
                owner_event(m, p->obj, NULL, false, "Killing",
                            "Stopping container %s", c->spec->name);
                wl_run_cancel(m->cfg->engine, c->cancel);
            }
        }
    }
    for (size_t i = 0; i < p->spec->ninit && !p->sidecars_stopped; i++) {
        struct ctr *c = &p->init[i];
        if (ctr_is_sidecar(c) && !c->live && c->has_last && c->restart_at &&
            now >= c->restart_at) {
            c->restarts++;
            start_ctr(m, p, c);
        }
    }
}

static void pod_step(struct wl_pod_manager *m, struct pod *p)
{
    double now = wl_now_s();
    if (p->rejected || p->finished || p->gone)
        volumes_release(m, p); /* the kubelet unmounts terminated pods */
    if (p->rejected || p->finished || p->deleting || p->gone)
        return;
    if (p->deadline && now >= p->deadline && !p->deadline_hit) {
        p->deadline_hit = true;
        p->dirty = true;
        owner_event(m, p->obj, NULL, true,
                     "DeadlineExceeded", "Pod was active on the node longer "
                                         "than the specified deadline");
        cancel_all(m, p);
        return;
    }
    if (p->evict_message && !p->evicted) {
        /* The kubelet's eviction: every container stopped (137), the pod
         * Failed with reason Evicted, nothing restarts. */
        p->evicted = true;
        p->dirty = true;
        log_warning("pod evicted pod=%s/%s: %s", p->spec->namespace_,
                    p->spec->name, p->evict_message);
        owner_event(m, p->obj, NULL, true, "Evicted", "%s",
                    p->evict_message);
        for (size_t i = 0; i < p->spec->ncontainers; i++)
            if (p->ctrs[i].live)
                owner_event(m, p->obj, NULL, false, "Killing",
                            "Stopping container %s", p->ctrs[i].spec->name);
        cancel_all(m, p);
        return;
    }
    if (p->evicted)
        return; /* stopped: nothing starts again */
    if (p->volumes_wait)
        return; /* no container before its volumes are written */
    step_sidecars(m, p, now);
    for (size_t i = 0; i < p->spec->ninit; i++) {
        struct ctr *c = &p->init[i];
        if (ctr_is_sidecar(c)) {
            if (ctr_sidecar_started(c))
                continue; /* runs beside the rest; restarts above */
            if (!c->live && (!c->restart_at || now >= c->restart_at))
                start_ctr(m, p, c);
            return; /* the next one waits until it started */
        }
        if (c->state == CTR_TERMINATED && c->last.exit_code == 0)
            continue; /* done */
        if (c->live)
            return; /* wait for it */
        if (c->has_last && !c->restart_at && c->state == CTR_TERMINATED)
            return; /* failed for good: the pod fails */
        if (!c->restart_at || now >= c->restart_at) {
            if (c->has_last)
                c->restarts++; /* a rerun after a failure */
            start_ctr(m, p, c);
        }
        return;
    }
    for (size_t i = 0; i < p->spec->ncontainers; i++) {
        struct ctr *c = &p->ctrs[i];
        if (c->live)
            continue;
        /* As the kubelet: ErrImagePull right after a failed pull, then
         * ImagePullBackOff while waiting to try again. */
        if (c->pull_failed_at && now - c->pull_failed_at >= 1.0) {
            char *why = c->wait_message;
            c->wait_message = NULL;
            char buf[1024];
            snprintf(buf, sizeof(buf), "Back-off pulling image \"%s\": %s",
                     c->spec->image, why ? why : "");
            free(why);
            ctr_set_waiting(c, "ImagePullBackOff", buf);
            c->pull_failed_at = 0;
            p->dirty = true;
            owner_event(m, p->obj, NULL, false,
                         "BackOff", "Back-off pulling image \"%s\"",
                         c->spec->image);
        }
        bool never_started = !c->has_last && !c->restart_at &&
                             c->state == CTR_WAITING &&
                             !strcmp(c->wait_reason, "ContainerCreating");
        if (never_started || (c->restart_at && now >= c->restart_at)) {
            if (c->has_last)
                c->restarts++;
            start_ctr(m, p, c);
        }
    }
}

/* Graceful deletion: once nothing runs, delete with grace 0 (uid
 * precondition), so `kubectl delete pod` returns promptly. */
static void finish_deletion(struct wl_pod_manager *m, struct pod *p)
{
    _cleanup_free_ char *path = NULL;
    struct wl_error err = WL_ERROR_INIT;
    long status = 0;
    if (asprintf(&path, "/api/v1/namespaces/%s/pods/%s", p->spec->namespace_,
                 p->spec->name) < 0)
        return;
    json_t *opts = json_pack("{s:s, s:s, s:i, s:{s:s}}", "apiVersion", "v1",
                             "kind", "DeleteOptions", "gracePeriodSeconds", 0,
                             "preconditions", "uid", p->uid);
    if (wl_kube_request(m->client, "DELETE", path, NULL, opts, NULL, &status,
                        &err) == 0 || status == 404 || status == 409)
        p->gone = true;
    else
        log_warning("delete pod=%s/%s: %s", p->spec->namespace_, p->spec->name,
                    err.msg);
    wl_error_clear(&err);
    json_decref(opts);
}

/* Removes a pod's dir (logs, run records, volumes). */
static void remove_pod_dir(struct wl_pod_manager *m, const char *uid)
{
    _cleanup_free_ char *dir = NULL;
    struct wl_error err = WL_ERROR_INIT;
    if (asprintf(&dir, "%s/pods/%s", m->cfg->data_dir, uid) < 0)
        return;
    /* A medium Memory emptyDir's tmpfs first (also one left by an earlier
     * wasmlet): else the walk empties it and fails on the mount point. */
    if (wl_emptydir_detach_all(dir, &err) < 0 ||
        wl_remove_tree(dir, &err) < 0) {
        log_warning("pod dir: %s", err.msg);
        wl_error_clear(&err);
    }
}

/* At start-up: dirs of pods that were deleted while wasmlet was down. A
 * pod still bound to this node keeps its dir (its run records). */
static void sweep_orphans(struct wl_pod_manager *m)
{
    _cleanup_free_ char *sel = NULL, *path = NULL, *dir = NULL;
    struct wl_error err = WL_ERROR_INIT;
    json_t *list = NULL;
    if (asprintf(&sel, "spec.nodeName=%s", m->cfg->node_name) < 0 ||
        asprintf(&dir, "%s/pods", m->cfg->data_dir) < 0)
        return;
    char *q = wl_kube_query_escape(sel);
    if (!q || asprintf(&path, "/api/v1/pods?fieldSelector=%s", q) < 0) {
        free(q);
        return;
    }
    free(q);
    DIR *d = opendir(dir);
    if (!d)
        return;
    if (wl_kube_request(m->client, "GET", path, NULL, NULL, &list, NULL,
                        &err) < 0) {
        log_warning("pod dirs not swept: %s", err.msg);
        wl_error_clear(&err);
        closedir(d);
        return;
    }
    json_t *items = json_object_get(list, "items");
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        bool known = false;
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it) {
            const char *uid = wl_json_str(it, "metadata", "uid", NULL);
            known |= uid && strcmp(uid, e->d_name) == 0;
        }
        if (!known) {
            log_info("removing the dir of a deleted pod uid=%s", e->d_name);
            remove_pod_dir(m, e->d_name);
        }
    }
    closedir(d);
    json_decref(list);
}

static void reap(struct wl_pod_manager *m)
{
    struct pod **pp = &m->pods;
    while (*pp) {
        struct pod *p = *pp;
        if (p->gone && !pod_has_live(p)) {
            *pp = p->next;
            log_info("pod forgotten pod=%s/%s", p->spec->namespace_,
                     p->spec->name);
            volumes_release(m, p); /* before the pod dir goes */
            remove_pod_dir(m, p->uid);
            pod_free(p);
            continue;
        }
        pp = &p->next;
    }
}

/* After a client certificate rotation: new clients for the owner and the
 * watch (runners make theirs per run). */
static void renew_clients(struct wl_pod_manager *m)
{
    struct wl_error err = WL_ERROR_INIT;
    int r = wl_kube_client_renew(m->cfg->creds, "wasmlet/" WL_VERSION,
                                 &m->client, &m->client_gen, &err);
    if (r < 0) {
        log_warning("pod manager: %s", err.msg);
        wl_error_clear(&err);
    } else if (r > 0) {
        atomic_store(&m->watch_interrupt, true);
        log_info("pod manager clients renewed with the rotated credentials");
    }
}

/* As the kubelet's status manager reconciles: someone else changed what
 * the API server shows of a pod we run (the node lifecycle controller sets
 * Ready=False on every pod of a node it has not heard from, and nobody
 * sets it back but the node), so the status is written again. Only after
 * RECONCILE_QUIET_S without a write of ours, so that the watch's echo of
 * an older write of ours is never taken for a change. */
#define RECONCILE_EVERY_S 5.0
#define RECONCILE_QUIET_S 5.0
/* The Ready condition's status the API server shows, or NULL. */
static const char *api_ready(const struct pod *p)
{
    size_t i;
    json_t *cj;
    json_array_foreach(wl_json_get(p->obj, "status", "conditions", NULL), i,
                       cj) {
        const char *type = wl_json_str(cj, "type", NULL);
        if (type && !strcmp(type, "Ready"))
            return wl_json_str(cj, "status", NULL);
    }
    return NULL;
}

static bool status_drifted(const struct pod *p, double now)
{
    if (p->rejected || p->finished || p->deleting || p->gone || p->dirty ||
        !p->status_sent || !p->conds[3].set ||
        now - p->status_at < RECONCILE_QUIET_S)
        return false;
    const char *phase = wl_json_str(p->obj, "status", "phase", NULL);
    const char *ready = api_ready(p);
    return !phase || strcmp(phase, pod_phase(p)) != 0 || !ready ||
           !strcmp(ready, "True") != p->conds[3].value;
}

static void tick(struct wl_pod_manager *m)
{
    renew_clients(m);
    double now = wl_now_s();
    bool reconcile = now >= m->reconcile_at;
    if (reconcile)
        m->reconcile_at = now + RECONCILE_EVERY_S;
    for (struct pod *p = m->pods; p; p = p->next) {
        if (reconcile && status_drifted(p, now)) {
            log_info("pod status drift pod=%s/%s: the API server shows "
                     "phase=%s Ready=%s; writing ours again",
                     p->spec->namespace_, p->spec->name,
                     wl_json_str(p->obj, "status", "phase", NULL) ?: "none",
                     api_ready(p) ?: "none");
            p->dirty = true;
        }
        if (p->deleting && !p->gone && !pod_has_live(p)) {
            finish_deletion(m, p);
            continue;
        }
        pod_step(m, p);
        if (p->dirty && !p->rejected && !p->gone) {
            const char *phase = pod_phase(p);
            write_status(m, p, pod_status(p, m->cfg));
            if (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")) {
                if (!pod_has_live(p))
                    p->finished = true;
            }
        }
    }
    reap(m);
}

static void *owner_main(void *arg)
{
    struct wl_pod_manager *m = arg;
    sweep_orphans(m);
    while (!atomic_load(&m->stop_owner)) {
        atomic_store(&m->turned_ms, (long long)(wl_now_s() * 1e3));
        struct wl_pod_msg *msg = wl_queue_pop(m->queue, TICK_MS);
        for (; msg; msg = wl_queue_pop(m->queue, 0)) {
            if (msg->kind == WL_MSG_POD)
                on_pod_msg(m, msg);
            else
                on_runner_msg(m, msg);
            wl_pod_msg_free(msg);
        }
        tick(m);
    }
    /* Stopping: cancel every module and wait for the runners. */
    for (struct pod *p = m->pods; p; p = p->next)
        if (p->spec)
            cancel_all(m, p);
    for (;;) {
        bool live = false;
        for (struct pod *p = m->pods; p; p = p->next)
            live |= p->spec && pod_has_live(p);
        if (!live)
            break;
        struct wl_pod_msg *msg = wl_queue_pop(m->queue, TICK_MS);
        if (msg && msg->kind != WL_MSG_POD)
            on_runner_msg(m, msg);
        wl_pod_msg_free(msg);
    }
    for (struct pod *p = m->pods; p; p = p->next)
        if (p->dirty && !p->rejected && !p->gone)
            write_status(m, p, pod_status(p, m->cfg));
    return NULL;
}

int wl_pod_manager_start(const struct wl_pod_manager_config *cfg,
                         struct wl_pod_manager **ret, struct wl_error *err)
{
    struct wl_pod_manager *m = calloc(1, sizeof(*m));
    if (!m)
        return wl_error_set(err, ENOMEM, "pod manager");
    m->cfg = cfg;
    atomic_init(&m->stop_watch, false);
    atomic_init(&m->watch_interrupt, false);
    atomic_init(&m->stop_owner, false);
    atomic_init(&m->turned_ms, (long long)(wl_now_s() * 1e3));
    m->queue = wl_queue_new(wl_pod_msg_free);
    if (!m->queue) {
        wl_error_set(err, ENOMEM, "pod manager");
        goto fail;
    }
    if (wl_kube_client_from_creds(cfg->creds, "wasmlet/" WL_VERSION,
                                  &m->client, &m->client_gen, err) < 0 ||
        wl_pod_writer_start(cfg->creds, &m->writer, err) < 0 ||
        wl_volume_manager_start(cfg, m->queue, &m->volumes, err) < 0)
        goto fail;
    if (pthread_create(&m->owner, NULL, owner_main, m) != 0) {
        wl_error_set(err, EAGAIN, "pod manager thread");
        goto fail;
    }
    if (pthread_create(&m->watcher, NULL, watch_main, m) != 0) {
        atomic_store(&m->stop_owner, true);
        (void)pthread_join(m->owner, NULL);
        wl_error_set(err, EAGAIN, "pod watch thread");
        goto fail;
    }
    *ret = m;
    return 0;
fail:
    wl_volume_manager_stop(m->volumes);
    wl_pod_writer_stop(m->writer);
    wl_kube_client_free(m->client);
    wl_queue_free(m->queue);
    free(m);
    return -1;
}

double wl_pod_manager_stalled_s(struct wl_pod_manager *m)
{
    double s = wl_now_s() - (double)atomic_load(&m->turned_ms) / 1e3 -
               TICK_MS / 1e3;
    return s > 0 ? s : 0;
}

void wl_pod_manager_stop(struct wl_pod_manager *m)
{
    if (!m)
        return;
    atomic_store(&m->stop_watch, true);
    atomic_store(&m->watch_interrupt, true);
    (void)pthread_join(m->watcher, NULL);
    atomic_store(&m->stop_owner, true);
    (void)pthread_join(m->owner, NULL);
    /* After the owner: it is the only one sending requests. Volumes stay
     * on disk for the next start. */
    wl_volume_manager_stop(m->volumes);
    wl_pod_writer_stop(m->writer); /* flushes the owner's last statuses */
    while (m->pods) {
        struct pod *p = m->pods;
        m->pods = p->next;
        pod_free(p);
    }
    wl_queue_close(m->queue);
    wl_queue_free(m->queue);
    wl_kube_client_free(m->client);
    free(m);
}
