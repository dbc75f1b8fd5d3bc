/* Running one WASI command module to completion: the unit a container is
 * made of. The caller's thread runs the module; stopping it early goes
 * through the epoch ticker (timeout_ms, or *cancel becoming true), never by
 * killing the thread.
 */
#ifndef WL_RUNTIME_RUN_H
#define WL_RUNTIME_RUN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/crilog.h"
#include "runtime/engine.h"
#include "util/error.h"

/* What a run is using now, for /stats/summary and /metrics/resource: the
 * running thread stores, any thread loads. Updated every epoch tick and
 * when the run starts and ends. */
struct wl_run_stats {
    _Atomic uint64_t cpu_ns;       /* CPU time of this run's thread */
    _Atomic uint64_t memory_bytes; /* linear memories' size; 0 once ended */
    _Atomic int64_t started_ns;    /* realtime unix ns the run started */
};

/* A host directory the module may see, and nothing else of the host. */
struct wl_preopen {
    const char *host_path;
    const char *guest_path;
    bool read_only;
};

struct wl_run_spec {
    const char *const *argv; /* argv[0] is the program name the module sees */
    size_t argc;
    const char *const *env_names; /* the module's whole environment */
    const char *const *env_values;
    size_t envc;
    const struct wl_preopen *preopens;
    size_t npreopens;
    const char *stdout_path; /* NULL: inherit ours */
    const char *stderr_path; /* NULL: inherit ours */
    struct wl_cri_log *log;  /* when set, both streams go here instead */
    int64_t memory_limit;    /* bytes of linear memory; 0: no limit */
    uint64_t timeout_ms;     /* 0: none */
    int64_t cpu_limit_millis; /* CPU time per second of wall time, in
                                 thousandths of a core; 0: no limit */
    const atomic_bool *cancel; /* may be NULL; true stops the module */
    struct wl_run_stats *stats; /* may be NULL; kept current while it runs */
};

enum wl_exit_kind {
    WL_EXIT_CODE = 0,   /* returned from _start or called proc_exit */
    WL_EXIT_TRAP,       /* trapped (unreachable, out of bounds, ...) */
    WL_EXIT_TIMEOUT,    /* ran past timeout_ms */
    WL_EXIT_CANCELLED,  /* stopped through *cancel */
};

struct wl_run_result {
    enum wl_exit_kind kind;
    int exit_code; /* WL_EXIT_CODE only */
    char *message; /* owned; the trap or stop reason, NULL for WL_EXIT_CODE */
    /* The module failed (trapped or exited non-zero) with its linear memory
     * at memory_limit: the pod manager reports it as OOMKilled (137), as
     * the kernel's OOM killer would end a container at its cgroup limit.
     * Only with a memory_limit, never for a timeout or a cancel. */
    bool oom;
};

/* Instantiates module with WASI as spec says and runs its _start export.
 * How the module ended (its exit code, a trap, a timeout) is a result, not
 * a failure: the return is negative only when the module could not be
 * started at all (bad preopen, missing import, no _start, too much initial
 * memory), with err saying why. */
int wl_run(struct wl_engine *engine, const struct wl_module *module,
           const struct wl_run_spec *spec, struct wl_run_result *ret,
           struct wl_error *err);

/* Stops the run whose spec->cancel is cancel: sets it, and wakes the
 * module at once if it sleeps in WASI's poll_oneoff. Any thread. */
void wl_run_cancel(struct wl_engine *engine, atomic_bool *cancel);

/* Frees the message inside result. */
void wl_run_result_clear(struct wl_run_result *result);

#endif
