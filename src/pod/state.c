#include "pod/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pod/termmsg.h"
#include "util/time.h"

void term_clear(struct term *t)
{
    free(t->message);
    memset(t, 0, sizeof(*t));
}

void ctr_set_waiting(struct ctr *c, const char *reason, const char *msg)
{
    c->state = CTR_WAITING;
    c->wait_reason = reason;
    free(c->wait_message);
    c->wait_message = msg ? strdup(msg) : NULL;
}

static void term_set_kind(struct term *t, enum wl_exit_kind kind,
                          int exit_code, bool oom, const char *message,
                          bool deadline_hit);

void term_set(struct term *t, enum wl_exit_kind kind, int exit_code,
              bool oom, const char *message, const char *term_message,
              bool deadline_hit)
{
    term_set_kind(t, kind, exit_code, oom, message, deadline_hit);
    if (!term_message || !*term_message)
        return;
    char *joined = NULL;
    if (asprintf(&joined, "%s%s%s", t->message ? t->message : "",
                 t->message ? ": " : "", term_message) < 0)
        return; /* out of memory: the runtime's message alone */
    free(t->message);
    t->message = joined;
}

static void term_set_kind(struct term *t, enum wl_exit_kind kind,
                          int exit_code, bool oom, const char *message,
                          bool deadline_hit)
{
    /* The module failed after a memory.grow past limits.memory was
     * refused (runtime/memory.c): what the kubelet reports for a
     * container the kernel OOM-killed at its cgroup limit. */
    if (oom && kind != WL_EXIT_CANCELLED && kind != WL_EXIT_TIMEOUT) {
        t->exit_code = 137;
        t->reason = "OOMKilled";
        t->message = message ? strdup(message) : NULL;
        return;
    }
    switch (kind) {
    case WL_EXIT_CODE:
        t->exit_code = exit_code;
        t->reason = exit_code == 0 ? "Completed" : "Error";
        break;
    case WL_EXIT_TRAP:
        t->exit_code = 1;
        t->reason = "Error";
        t->message = message ? strdup(message) : NULL;
        break;
    case WL_EXIT_TIMEOUT:
    case WL_EXIT_CANCELLED:
        /* Stopped by us (deletion, deadline): 137, as a SIGKILL'd
         * container reports. */
        t->exit_code = 137;
        t->reason = deadline_hit ? "DeadlineExceeded" : "Error";
        break;
    }
}

void ctr_run_ended(struct ctr *c, time_t finished,
                   const struct wl_run_result *res, const char *term_message,
                   bool deadline_hit)
{
    term_clear(&c->prev);
    c->prev = c->last;
    c->has_prev = c->has_last;
    memset(&c->last, 0, sizeof(c->last));
    c->has_last = true;
    c->last.started = c->started;
    c->last.finished = finished;
    term_set(&c->last, res->kind, res->exit_code, res->oom, res->message,
             term_message, deadline_hit);
    c->state = CTR_TERMINATED;
}

bool ctr_is_sidecar(const struct ctr *c)
{
    return c->is_init && c->spec && c->spec->restart_policy &&
           strcmp(c->spec->restart_policy, "Always") == 0;
}

bool ctr_sidecar_started(const struct ctr *c)
{
    return c->state == CTR_RUNNING || c->has_last;
}

bool pod_initialized_of(const struct ctr *init, size_t ninit)
{
    for (size_t i = 0; i < ninit; i++) {
        const struct ctr *c = &init[i];
        if (ctr_is_sidecar(c) ? !ctr_sidecar_started(c)
                              : !(c->state == CTR_TERMINATED &&
                                  c->last.exit_code == 0))
            return false;
    }
    return true;
}

bool pod_apps_done(const struct ctr *ctrs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ctrs[i].state != CTR_TERMINATED || ctrs[i].restart_at ||
            ctrs[i].live)
            return false;
    return n > 0;
}

bool ctr_should_restart(const struct ctr *c, const char *policy,
                        bool stopping)
{
    if (stopping)
        return false;
    if (ctr_is_sidecar(c))
        return true;
    if (c->is_init) /* init containers restart unless the policy is Never */
        return c->last.exit_code != 0 && strcmp(policy, "Never") != 0;
    if (!strcmp(policy, "Always"))
        return true;
    return !strcmp(policy, "OnFailure") && c->last.exit_code != 0;
}

const char *pod_phase_of(const struct ctr *init, size_t ninit,
                         const struct ctr *ctrs, size_t n, bool failed)
{
    if (failed)
        return "Failed";
    size_t done = 0, ok = 0, running = 0, waiting = 0;
    for (size_t i = 0; i < ninit; i++)
        if (!ctr_is_sidecar(&init[i]) && init[i].state == CTR_TERMINATED &&
            init[i].last.exit_code != 0 && !init[i].restart_at &&
            !init[i].live)
            return "Failed"; /* an init container failed for good */
    for (size_t i = 0; i < n; i++) {
        const struct ctr *c = &ctrs[i];
        /* As the kubelet: a container that has never started (pulling,
         * ErrImagePull, its runner being set up) keeps the pod Pending; one
         * that ran before and is waiting to run again keeps it Running. */
        if (c->state == CTR_WAITING && !c->has_last) {
            waiting++;
            continue;
        }
        running += c->live || c->state == CTR_RUNNING || c->restart_at > 0 ||
                   c->state == CTR_WAITING;
        if (c->state == CTR_TERMINATED && !c->restart_at && !c->live) {
            done++;
            ok += c->last.exit_code == 0;
        }
    }
    if (waiting)
        return "Pending";
    if (done == n)
        return ok == n ? "Succeeded" : "Failed";
    return running ? "Running" : "Pending";
}

/* message cut to max bytes (0: whole), between characters. */
static void set_message(json_t *t, const char *message, size_t max)
{
    if (!t || !message)
        return;
    size_t n = max ? wl_termmsg_cut(message, max) : strlen(message);
    json_object_set_new(t, "message", json_stringn(message, n));
}

json_t *ctr_state_json(const struct ctr *c, size_t max_message)
{
    char t1[40], t2[40];
    if (c->state == CTR_RUNNING) {
        wl_time_format(c->started, t1, sizeof(t1));
        return json_pack("{s:{s:s}}", "running", "startedAt", t1);
    }
    if (c->state == CTR_TERMINATED) {
        wl_time_format(c->last.started, t1, sizeof(t1));
        wl_time_format(c->last.finished, t2, sizeof(t2));
        json_t *t = json_pack("{s:i, s:s, s:s, s:s}", "exitCode",
                              c->last.exit_code, "reason", c->last.reason,
                              "startedAt", t1, "finishedAt", t2);
        set_message(t, c->last.message, max_message);
        return json_pack("{s:o}", "terminated", t);
    }
    json_t *w = json_pack("{s:s}", "reason", c->wait_reason);
    if (w && c->wait_message)
        json_object_set_new(w, "message", json_string(c->wait_message));
    return json_pack("{s:o}", "waiting", w);
}

json_t *ctr_last_state_json(const struct ctr *c, size_t max_message)
{
    /* lastState: the run before the current one. */
    const struct term *t = c->state == CTR_TERMINATED ? &c->prev : &c->last;
    bool has = c->state == CTR_TERMINATED ? c->has_prev : c->has_last;
    if (!has)
        return json_object();
    char t1[40], t2[40];
    wl_time_format(t->started, t1, sizeof(t1));
    wl_time_format(t->finished, t2, sizeof(t2));
    json_t *j = json_pack("{s:i, s:s, s:s, s:s}", "exitCode", t->exit_code,
                          "reason", t->reason, "startedAt", t1, "finishedAt",
                          t2);
    set_message(j, t->message, max_message);
    return json_pack("{s:o}", "terminated", j);
}
