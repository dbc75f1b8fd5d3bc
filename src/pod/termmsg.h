/* Container termination messages, as the kubelet makes them
 * (kuberuntime's getTerminationMessage / readLastStringFromContainerLogs):
 *
 * - terminationMessagePath (default /dev/termination-log) is a file the
 *   guest can write. Run n of a container gets its own host directory
 *   <ctr_dir>/n.termination holding one empty file named as the path's
 *   last component, preopened at the path's directory (so the guest sees
 *   /dev with only termination-log in it). When a volumeMount of the
 *   container is at that very directory, no directory is preopened (it
 *   would shadow the volume): the file is the volume's, read from there
 *   at exit, and not emptied at the start of a run.
 * - At exit the file's last WL_TERMMSG_MAX_BYTES are read
 *   (MaxContainerTerminationMessageLength, tail.ReadAtMost). The guest
 *   controls the directory: a symlink, FIFO or anything but a regular
 *   file is never followed or read (the host daemon must not publish a
 *   file the guest points it at).
 * - terminationMessagePolicy FallbackToLogsOnError: when the file is
 *   empty or missing and the container failed (exit code not 0), the
 *   message is the log's last WL_TERMMSG_LOG_MAX_LINES lines, at most
 *   the last WL_TERMMSG_LOG_MAX_BYTES bytes of them.
 * - The status manager cuts each message to WL_TERMMSG_POD_MAX_BYTES
 *   divided by the number of containers (normalizeStatus):
 *   wl_termmsg_budget / wl_termmsg_cut.
 *
 * Messages are valid UTF-8: invalid bytes (and NUL) become U+FFFD, as Go's
 * JSON encoder shows them (util/utf8.h). No state; functions are safe on
 * any thread.
 */
#ifndef WL_POD_TERMMSG_H
#define WL_POD_TERMMSG_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/run.h"
#include "util/error.h"

#define WL_TERMMSG_MAX_BYTES 4096
#define WL_TERMMSG_LOG_MAX_BYTES 2048
#define WL_TERMMSG_LOG_MAX_LINES 80
#define WL_TERMMSG_POD_MAX_BYTES (12 * 1024)

/* Where one run's termination message file is. All owned. */
struct wl_termmsg {
    char *host_dir; /* to preopen at guest_dir; NULL: a volume holds it */
    char *guest_dir;
    char *host_file; /* read at exit; NULL: the path is not usable */
    char *guest_path;
};

/* Sets up run `run`'s file for the guest path `path` (absolute, no "."
 * or ".." components, not a directory; else *ret has no file and the
 * message can only come from the logs). preopens are the container's
 * volume mounts, checked for one at the path's directory. Creates
 * <ctr_dir>/<run>.termination (emptied if left from before) with an
 * empty file. Fails (err set) when the directory or file cannot be made;
 * *ret is written only on success, freed with wl_termmsg_clear(). */
int wl_termmsg_prepare(const char *ctr_dir, unsigned run, const char *path,
                       const struct wl_preopen *preopens, size_t npreopens,
                       struct wl_termmsg *ret, struct wl_error *err);

void wl_termmsg_clear(struct wl_termmsg *t);

/* The message of run `run` that ended, as the kubelet builds it: the
 * file's content; else, when fallback_to_logs and failed, the log tail
 * (wl_termmsg_log_tail); a file that cannot be read gives the kubelet's
 * "Error on reading termination log <path>: <why>". Returns a malloc'd
 * non-empty string, or NULL when there is no message. */
char *wl_termmsg_of_run(const struct wl_termmsg *t, const char *ctr_dir,
                        unsigned run, bool fallback_to_logs, bool failed);

/* The last max bytes of the regular file path (not followed if a
 * symlink), as UTF-8: 0 and *ret (malloc'd, maybe ""), or -1 with errno
 * (ENOENT: no file; EINVAL: not a regular file). */
int wl_termmsg_read_file(const char *path, size_t max, char **ret);

/* The last WL_TERMMSG_LOG_MAX_LINES lines of run `run`'s log in ctr_dir
 * (both streams, as `kubectl logs --tail` shows them, rotated files
 * included), at most their last WL_TERMMSG_LOG_MAX_BYTES bytes, as
 * UTF-8. The run must have ended (its log closed): a last line without a
 * newline is included. Returns malloc'd text ("" for an empty log), or
 * the kubelet's "Error on reading termination message from logs: ..."
 * when the log cannot be read; NULL only when out of memory. */
char *wl_termmsg_log_tail(const char *ctr_dir, unsigned run);

/* Bytes per message for a pod with ncontainers containers and init
 * containers: WL_TERMMSG_POD_MAX_BYTES / ncontainers. */
size_t wl_termmsg_budget(size_t ncontainers);

/* The length of the longest prefix of the UTF-8 string s that is at most
 * max bytes and does not end inside a character. */
size_t wl_termmsg_cut(const char *s, size_t max);

#endif
