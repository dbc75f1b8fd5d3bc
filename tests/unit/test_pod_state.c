/* The pod state machine: how runs end, what restarts, the pod's phase. */
#include <stdlib.h>
#include <string.h>

#include "pod/state.h"
#include "test.h"

static struct ctr ctr_new(bool is_init)
{
    struct ctr c;
    memset(&c, 0, sizeof(c));
    c.is_init = is_init;
    ctr_set_waiting(&c, is_init ? "PodInitializing" : "ContainerCreating",
                    NULL);
    return c;
}

static void end_run(struct ctr *c, enum wl_exit_kind kind, int code,
                    bool oom, const char *msg, bool deadline)
{
    struct wl_run_result r = {.kind = kind, .exit_code = code, .oom = oom,
                              .message = (char *)msg};
    c->state = CTR_RUNNING;
    c->started = 100;
    ctr_run_ended(c, 105, &r, NULL, deadline);
}

static void ctr_free(struct ctr *c)
{
    free(c->wait_message);
    term_clear(&c->last);
    term_clear(&c->prev);
}

static void test_run_ends_map_to_reasons(void)
{
    struct ctr c = ctr_new(false);
    end_run(&c, WL_EXIT_CODE, 0, false, NULL, false);
    CHECK_INT(c.state, CTR_TERMINATED);
    CHECK_INT(c.last.exit_code, 0);
    CHECK_STR(c.last.reason, "Completed");
    CHECK_INT((long long)c.last.started, 100);
    CHECK_INT((long long)c.last.finished, 105);
    CHECK(!c.has_prev);

    end_run(&c, WL_EXIT_CODE, 3, false, NULL, false);
    CHECK_STR(c.last.reason, "Error");
    CHECK_INT(c.last.exit_code, 3);
    CHECK(c.has_prev); /* the run before is lastState */
    CHECK_STR(c.prev.reason, "Completed");

    end_run(&c, WL_EXIT_TRAP, -1, false, "wasm trap: unreachable", false);
    CHECK_INT(c.last.exit_code, 1);
    CHECK_STR(c.last.reason, "Error");
    CHECK_STR(c.last.message, "wasm trap: unreachable");
    CHECK_INT(c.prev.exit_code, 3);

    end_run(&c, WL_EXIT_TRAP, -1, true, "out of memory", false);
    CHECK_INT(c.last.exit_code, 137);
    CHECK_STR(c.last.reason, "OOMKilled");

    end_run(&c, WL_EXIT_CODE, 1, true, NULL, false);
    CHECK_STR(c.last.reason, "OOMKilled");

    /* stopped by us: never OOM, whatever happened before */
    end_run(&c, WL_EXIT_CANCELLED, -1, true, "cancelled", false);
    CHECK_INT(c.last.exit_code, 137);
    CHECK_STR(c.last.reason, "Error");

    end_run(&c, WL_EXIT_CANCELLED, -1, false, "cancelled", true);
    CHECK_STR(c.last.reason, "DeadlineExceeded");
    ctr_free(&c);
}

static void test_restart_policy_table(void)
{
    static const struct {
        const char *policy;
        bool is_init;
        int exit_code;
        bool stopping;
        bool restarts;
    } cases[] = {
        {"Always", false, 0, false, true},
        {"Always", false, 1, false, true},
        {"OnFailure", false, 0, false, false},
        {"OnFailure", false, 2, false, true},
        {"Never", false, 0, false, false},
        {"Never", false, 2, false, false},
        {"Always", false, 1, true, false}, /* deleting / deadline */
        {"OnFailure", false, 1, true, false},
        /* init containers: rerun after a failure unless Never */
        {"Always", true, 0, false, false},
        {"Always", true, 1, false, true},
        {"OnFailure", true, 1, false, true},
        {"Never", true, 1, false, false},
        {"Always", true, 1, true, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ctr c = ctr_new(cases[i].is_init);
        end_run(&c, WL_EXIT_CODE, cases[i].exit_code, false, NULL, false);
        if (ctr_should_restart(&c, cases[i].policy, cases[i].stopping) !=
            cases[i].restarts)
            WL_FAIL("case %zu: %s init=%d exit=%d stopping=%d", i,
                    cases[i].policy, cases[i].is_init, cases[i].exit_code,
                    cases[i].stopping);
        ctr_free(&c);
    }
}

static void test_phase_follows_containers(void)
{
    struct ctr init[1], app[2];
    init[0] = ctr_new(true);
    app[0] = ctr_new(false);
    app[1] = ctr_new(false);

    /* nothing ran yet */
    CHECK_STR(pod_phase_of(init, 1, app, 2, false), "Pending");
    CHECK_STR(pod_phase_of(init, 1, app, 2, true), "Failed");

    /* init done, one app container running, the other not started yet
     * (pulling, or its pull failed): Pending, as the kubelet says while
     * any container has never started */
    end_run(&init[0], WL_EXIT_CODE, 0, false, NULL, false);
    app[0].state = CTR_RUNNING;
    app[1].live = true;
    CHECK_STR(pod_phase_of(init, 1, app, 2, false), "Pending");
    app[1].live = false;
    ctr_set_waiting(&app[1], "ImagePullBackOff", NULL);
    app[1].restart_at = 1000;
    CHECK_STR(pod_phase_of(init, 1, app, 2, false), "Pending");
    app[1].restart_at = 0;

    /* both started */
    app[1].state = CTR_RUNNING;
    CHECK_STR(pod_phase_of(init, 1, app, 2, false), "Running");

    /* one done, one still running */
    end_run(&app[0], WL_EXIT_CODE, 0, false, NULL, false);
    CHECK_STR(pod_phase_of(init, 1, app, 2, false), "Running");

    /* a restart waiting (CrashLoopBackOff) keeps the pod Running */
    end_run(&app[1], WL_EXIT_CODE, 1, false, NULL, false);
    app[1].restart_at = 1000;
    CHECK_STR(pod_phase_of(init, 1, app, 2, false), "Running");

    /* both done for good: the worst decides */
    app[1].restart_at = 0;
    CHECK_STR(pod_phase_of(init, 1, app, 2, false), "Failed");
    end_run(&app[1], WL_EXIT_CODE, 0, false, NULL, false);
    CHECK_STR(pod_phase_of(init, 1, app, 2, false), "Succeeded");

    /* an init container that failed for good fails the pod */
    struct ctr bad = ctr_new(true), waiting = ctr_new(false);
    end_run(&bad, WL_EXIT_CODE, 1, false, NULL, false);
    CHECK_STR(pod_phase_of(&bad, 1, &waiting, 1, false), "Failed");
    bad.restart_at = 1000; /* ... unless it is to run again */
    CHECK_STR(pod_phase_of(&bad, 1, &waiting, 1, false), "Pending");
    bad.restart_at = 0;
    bad.live = true; /* or running again */
    CHECK_STR(pod_phase_of(&bad, 1, &waiting, 1, false), "Pending");

    ctr_free(&bad);
    ctr_free(&waiting);
    ctr_free(&init[0]);
    ctr_free(&app[0]);
    ctr_free(&app[1]);
}

static void test_state_json(void)
{
    struct ctr c = ctr_new(false);
    json_t *j = ctr_state_json(&c, 0);
    CHECK_STR(json_string_value(json_object_get(
                  json_object_get(j, "waiting"), "reason")),
              "ContainerCreating");
    json_decref(j);
    j = ctr_last_state_json(&c, 0);
    CHECK_INT(json_object_size(j), 0);
    json_decref(j);

    end_run(&c, WL_EXIT_TRAP, -1, false, "boom", false);
    j = ctr_state_json(&c, 0);
    json_t *t = json_object_get(j, "terminated");
    CHECK_INT(json_integer_value(json_object_get(t, "exitCode")), 1);
    CHECK_STR(json_string_value(json_object_get(t, "message")), "boom");
    CHECK_STR(json_string_value(json_object_get(t, "startedAt")),
              "1970-01-01T00:01:40Z");
    json_decref(j);

    /* waiting to run again: lastState is the run that ended */
    ctr_set_waiting(&c, "CrashLoopBackOff", "back-off 10s");
    j = ctr_last_state_json(&c, 0);
    t = json_object_get(j, "terminated");
    CHECK_STR(json_string_value(json_object_get(t, "reason")), "Error");
    json_decref(j);
    ctr_free(&c);
}

/* The kubelet joins the runtime's message and the termination message
 * with ": "; lastState keeps it; the status cuts it to the pod's share. */
static void test_termination_message_joins_and_is_cut(void)
{
    struct ctr c = ctr_new(false);
    struct wl_run_result exit3 = {.kind = WL_EXIT_CODE, .exit_code = 3};
    struct wl_run_result trap = {.kind = WL_EXIT_TRAP, .exit_code = -1,
                                 .message = "boom"};
    c.started = 100;
    ctr_run_ended(&c, 105, &exit3, "last words", false);
    CHECK_STR(c.last.message, "last words");
    ctr_run_ended(&c, 106, &trap, "caf\xc3\xa9", false);
    CHECK_STR(c.last.message, "boom: caf\xc3\xa9");
    CHECK_STR(c.prev.message, "last words");
    json_t *j = ctr_state_json(&c, 10);
    CHECK_STR(json_string_value(json_object_get(
                  json_object_get(j, "terminated"), "message")),
              "boom: caf"); /* 10 bytes would split the \xc3\xa9 */
    json_decref(j);
    ctr_set_waiting(&c, "CrashLoopBackOff", NULL);
    j = ctr_last_state_json(&c, 0);
    CHECK_STR(json_string_value(json_object_get(
                  json_object_get(j, "terminated"), "message")),
              "boom: caf\xc3\xa9");
    json_decref(j);
    /* an empty termination message adds nothing */
    ctr_run_ended(&c, 107, &exit3, "", false);
    CHECK(c.last.message == NULL);
    ctr_free(&c);
}

static void test_sidecars_start_rerun_and_do_not_fail_the_pod(void)
{
    struct wl_container side_spec = {.name = "side",
                                     .restart_policy = "Always"};
    struct wl_container init_spec = {.name = "init"};
    struct ctr init[2], app[1];
    init[0] = ctr_new(true);
    init[0].spec = &side_spec;
    init[1] = ctr_new(true);
    init[1].spec = &init_spec;
    app[0] = ctr_new(false);
    CHECK(ctr_is_sidecar(&init[0]));
    CHECK(!ctr_is_sidecar(&init[1]));
    CHECK(!ctr_is_sidecar(&app[0]));

    CHECK(!ctr_sidecar_started(&init[0]));
    CHECK(!pod_initialized_of(init, 2));
    init[0].state = CTR_RUNNING; /* the sidecar runs: init[1] may start */
    CHECK(ctr_sidecar_started(&init[0]));
    CHECK(!pod_initialized_of(init, 2));
    end_run(&init[1], WL_EXIT_CODE, 0, false, NULL, false);
    CHECK(pod_initialized_of(init, 2));

    /* a sidecar reruns whatever it exited with, under any policy, until
     * the pod stops */
    end_run(&init[0], WL_EXIT_CODE, 0, false, NULL, false);
    CHECK(ctr_sidecar_started(&init[0])); /* it ran: still counts */
    CHECK(pod_initialized_of(init, 2));
    CHECK(ctr_should_restart(&init[0], "Never", false));
    CHECK(ctr_should_restart(&init[0], "OnFailure", false));
    CHECK(!ctr_should_restart(&init[0], "Always", true));

    /* the app container is done: the pod is done, and the stopped sidecar
     * (137) does not make it Failed */
    CHECK(!pod_apps_done(app, 1));
    app[0].state = CTR_RUNNING;
    CHECK(!pod_apps_done(app, 1));
    end_run(&app[0], WL_EXIT_CODE, 0, false, NULL, false);
    CHECK(pod_apps_done(app, 1));
    end_run(&init[0], WL_EXIT_CANCELLED, -1, false, "cancelled", false);
    CHECK_INT(init[0].last.exit_code, 137);
    CHECK_STR(pod_phase_of(init, 2, app, 1, false), "Succeeded");

    ctr_free(&init[0]);
    ctr_free(&init[1]);
    ctr_free(&app[0]);
}

WL_TEST_MAIN(WL_T(test_run_ends_map_to_reasons),
             WL_T(test_restart_policy_table),
             WL_T(test_phase_follows_containers), WL_T(test_state_json),
             WL_T(test_termination_message_joins_and_is_cut),
             WL_T(test_sidecars_start_rerun_and_do_not_fail_the_pod))
