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
 *
 * Rotation (the kubelet's containerLogMaxSize / containerLogMaxFiles):
 * when a record would take the live file past max_size, path.1 … are
 * shifted up (path.1 becomes path.2, the oldest beyond max_files - 1 is
 * dropped), the live file is hard-linked as path.1 and a fresh empty file
 * is renamed over path. path therefore always exists, even after a crash
 * in the middle of a rotation, and reading path.k … path.1, path in that
 * order gives every record once. A record is never split across files,
 * and the P records of a line stay in one file with its F unless that
 * would take the file past twice max_size: dropping the oldest file does
 * not leave the end of such a line without its start.
 *
 * What a reader (server/logs.c) can rely on: each record is written with
 * one write() and ends with '\n', so bytes after a file's last '\n' are a
 * record still being written; P records at the end of the live file are
 * a line still being written, until the log is closed (the final flush).
 */
#ifndef WL_RUNTIME_CRILOG_H
#define WL_RUNTIME_CRILOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define WL_CRI_MAX_LINE (16 * 1024)

enum wl_cri_stream { WL_CRI_STDOUT, WL_CRI_STDERR };

struct wl_cri_log;

struct wl_cri_log_opts {
    int64_t max_size; /* bytes, 0 = never rotate */
    int max_files;    /* files kept including the live one, >= 2 when
                         rotating */
};

/* Opens (creating, appending to) path with mode 0640. opts NULL: the file
 * is never rotated. Fails with EINVAL for a negative max_size, or a
 * max_size with max_files < 2. */
int wl_cri_log_open(const char *path, const struct wl_cri_log_opts *opts,
                    struct wl_cri_log **ret, struct wl_error *err);

/* From now on, also copies each record's text to our stdout (stdout
 * records) or stderr, after prefix (copied; "" for none), a line per
 * record: `wasmlet run POD.yaml` shows its containers' output as it
 * logs it. Failing writes there are ignored. */
int wl_cri_log_echo(struct wl_cri_log *l, const char *prefix,
                    struct wl_error *err);

/* Adds len bytes of a stream's output. Returns len, or -1 when the file
 * cannot be written (errno set). A rotation that fails is not an error:
 * the records go on to the live file and the next record tries again. */
long wl_cri_log_write(struct wl_cri_log *l, enum wl_cri_stream s,
                      const unsigned char *buf, size_t len);

/* How many writes failed (the module saw the error; its output is lost),
 * and the errno of the first (may be NULL): a full disk must not lose a
 * container's output silently. */
unsigned long wl_cri_log_failures(struct wl_cri_log *l, int *first_errno);

/* Flushes partial lines, closes, frees. Accepts NULL. */
void wl_cri_log_close(struct wl_cri_log *l);

/* One record, parsed. text points into the parsed line (not NUL-ended). */
struct wl_cri_line {
    int64_t time_ns; /* unix ns; clamped to the int64 range */
    enum wl_cri_stream stream;
    bool partial; /* P: the line goes on in the next record */
    const char *text;
    size_t text_len;
};

/* Parses one record, "<RFC3339Nano time> <stdout|stderr> <F|P>[:tags]
 * <text>", with or without its final '\n' (not part of text). The time
 * (util/time.h's wl_time_parse_ns) may have 0 to 9 fraction digits and a
 * Z or ±hh:mm offset; further
 * ':'-separated tags after F or P are ignored, as the kubelet does.
 * Returns 0 and fills *out, or -1 (out untouched) for anything else. */
int wl_cri_parse_line(const char *line, size_t len, struct wl_cri_line *out);

#endif
