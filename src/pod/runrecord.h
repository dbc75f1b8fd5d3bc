/* What survives a wasmlet crash about each container run, so that a
 * restarted wasmlet neither runs a container twice nor forgets one.
 *
 * A container's runs live in <pod dir>/<container>/: run n (n is the
 * restartCount it ran with) has its log n.log, created before the module
 * starts, and, once it ended, n.exit (JSON, written atomically) saying how.
 * A wasmlet that restarts and finds n.log without n.exit knows run n was
 * running when it stopped and was lost with the process. n.exit also
 * keeps the run's termination message, so state.terminated.message and
 * lastState's survive a restart as the rest of the status does.
 *
 *     struct wl_run_record rec;
 *     if (wl_run_record_last(dir, &rec) > 0 && !rec.ended) ... lost run
 *     wl_run_record_clear(&rec);
 */
#ifndef WL_POD_RUNRECORD_H
#define WL_POD_RUNRECORD_H

#include <stdbool.h>
#include <time.h>

#include "runtime/run.h"
#include "util/error.h"

struct wl_run_record {
    unsigned n;        /* the run's number (its restartCount) */
    bool ended;        /* n.exit exists: the fields below are set */
    bool started;      /* false: the module could not be started at all */
    enum wl_exit_kind kind;
    int exit_code;
    bool oom;          /* a memory.grow past the limit was refused */
    char *message;     /* owned; may be NULL */
    char *term_message; /* owned; the termination message (pod/termmsg.h),
                           NULL when none */
    time_t started_at; /* when the module started; for a lost run, when
                        * its n.log was created (the log is made just
                        * before the module starts), or last written where
                        * the filesystem keeps no creation time */
    time_t finished_at;
};

/* Records how run n ended. res NULL: the module could not start (message
 * says why). term_message: its termination message, or NULL. */
int wl_run_record_write(const char *ctr_dir, unsigned n,
                        const struct wl_run_result *res, const char *message,
                        const char *term_message, time_t started_at,
                        time_t finished_at,
                        struct wl_error *err);

/* The last run of the container in ctr_dir: returns 1 and fills *ret,
 * 0 when the container never ran (no dir, no log), -1 on a read error.
 * An unreadable or corrupt n.exit counts as a lost run (ended false). */
int wl_run_record_last(const char *ctr_dir, struct wl_run_record *ret);

/* Reads run n's record: returns 1 when n.exit exists and parses, else 0. */
int wl_run_record_read(const char *ctr_dir, unsigned n,
                       struct wl_run_record *ret);

void wl_run_record_clear(struct wl_run_record *rec);

/* Removes what the runs before keep_from left in ctr_dir: n.log, its
 * rotated n.log.* and n.exit (and a temp file of an interrupted n.exit
 * write), and the termination message dir n.termination, for every
 * n < keep_from. The kubelet keeps the current and the
 * previous run's logs (`kubectl logs --previous`): pass restartCount - 1.
 * Best effort: a file that cannot be removed is left for the next call,
 * a missing dir is fine. */
void wl_run_record_prune(const char *ctr_dir, unsigned keep_from);

#endif
