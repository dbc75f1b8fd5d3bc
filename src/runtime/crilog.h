/* Container log files in the CRI format the kubelet writes and `kubectl
 * logs` reads back:
 *
 *   2026-11-27T10:00:00.123456789Z stdout F a whole line
 *   2026-11-27T10:00:00.123456789Z stderr P the start of a longer line
 *
 * F marks a full line, P a partial one (a line longer than
 * WL_CRI_MAX_LINE is split; output that ends without a newline is
 * flushed as P when the container ends). Both streams go to one file,
 * appended; writes may come from any thread (a mutex orders them).
 */
#ifndef WL_RUNTIME_CRILOG_H
#define WL_RUNTIME_CRILOG_H

#include <stddef.h>

#include "util/error.h"

#define WL_CRI_MAX_LINE (16 * 1024)

enum wl_cri_stream { WL_CRI_STDOUT, WL_CRI_STDERR };

struct wl_cri_log;

/* Opens (creating, appending to) path with mode 0640. */
int wl_cri_log_open(const char *path, struct wl_cri_log **ret,
                    struct wl_error *err);

/* Adds len bytes of a stream's output. Returns len, or -1 when the file
 * cannot be written (errno set). */
long wl_cri_log_write(struct wl_cri_log *l, enum wl_cri_stream s,
                      const unsigned char *buf, size_t len);

/* Flushes partial lines, closes, frees. Accepts NULL. */
void wl_cri_log_close(struct wl_cri_log *l);

#endif
