/* Reading a container run's log back for `kubectl logs` (the kubelet's
 * /containerLogs/{namespace}/{pod}/{container} endpoint).
 *
 * Run n of a container writes <ctr_dir>/n.log in the CRI format
 * (runtime/crilog.h), rotated into n.log.1, n.log.2 … (oldest last), and
 * n.exit once it ended. The reader turns the records back into what the
 * container wrote: each record's text, F records ending with "\n", P
 * (partial) records joined to the next; stdout and stderr together, in
 * file order. A line that is not a CRI record is shown as it is, as a
 * line of its own text (never timestamped).
 *
 * Only what the writer finished is shown, while it appends and rotates:
 * never a record still being written (the bytes after the last '\n'),
 * and never a line still being split into P records -- unless the run
 * ended (n.exit or (n+1).log exists): then trailing P records are its
 * unfinished last line, shown without a final '\n' (opts.ended says so
 * for a caller that knows it before n.exit exists).
 *
 *     struct wl_log_opts o = {.follow = true, .tail_lines = 10};
 *     if (wl_log_reader_open(dir, 3, &o, &r, &err) < 0) ... 404
 *     while ((n = wl_log_reader_read(r, buf, sizeof(buf), 500, fd)) != 0)
 *         if (n > 0) send(buf, n); else if (n == -1) break;
 *     wl_log_reader_free(r);
 *
 * A reader is used by one thread at a time.
 */
#ifndef WL_SERVER_LOGS_H
#define WL_SERVER_LOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

/* PodLogOptions as the kubelet applies them. */
struct wl_log_opts {
    bool follow;
    long tail_lines;     /* < 0: all lines */
    int64_t since_ns;    /* > 0: skip records whose time is earlier (unix
                            ns, realtime) */
    bool timestamps;     /* prefix each line with its RFC3339Nano time and
                            a space, as the kubelet does */
    int64_t limit_bytes; /* > 0: stop after this many bytes of output */
    bool ended;          /* the caller knows the run ended and its log is
                            closed, before n.exit is written (the runner
                            reading its own log: pod/termmsg.c) */
};

struct wl_log_reader;

/* Opens run `run`'s log of the container whose dir is ctr_dir: the
 * rotated files n.log.k … n.log.1, then n.log, oldest first. Without
 * follow, the reader shows the log as it was here, at the open: what is
 * appended while it is read is not (so tail_lines is exact). tail_lines
 * counts output lines (joined partials; a finished run's unfinished last
 * line counts) across the rotated files, reading backwards from the end;
 * since_ns keeps the lines from the first whose last record is at or
 * after since_ns (so a line is never cut in two), before tail_lines
 * counts (the kubelet: since first, then tail). Returns -1 and err
 * (errnum ENOENT) when n.log does not exist, -1 and err on other
 * failures. *ret is freed with wl_log_reader_free(). */
int wl_log_reader_open(const char *ctr_dir, unsigned run,
                       const struct wl_log_opts *opts,
                       struct wl_log_reader **ret, struct wl_error *err);

/* Copies up to max (> 0) bytes of output into buf. Returns the number of
 * bytes (> 0); 0 at the end: the whole log was read and either follow is
 * off, the run ended (n.exit or (n+1).log exists; what was left is
 * drained first), limit_bytes was reached, the container dir or the log
 * was removed, or the client went away; -1 on a read error (errno set).
 *
 * In follow mode, with nothing new to return, it waits (inotify on the
 * container dir: appends, rotation, the run's end, the dir's removal) at
 * most timeout_ms (< 0: no limit) and returns -2, "nothing yet, call
 * again". While waiting it watches client_fd (when >= 0) and returns 0
 * when it reports POLLHUP, POLLRDHUP or POLLERR. */
ssize_t wl_log_reader_read(struct wl_log_reader *r, char *buf, size_t max,
                           int timeout_ms, int client_fd);

/* Closes the files and frees. Accepts NULL. */
void wl_log_reader_free(struct wl_log_reader *r);

#endif
