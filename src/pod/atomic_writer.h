/* The kubelet's atomic writer (pkg/volume/util/atomic_writer.go): how
 * configMap, secret, downwardAPI and projected volumes are written so a
 * running module never sees half of an update.
 *
 * Layout of a volume directory DIR after a write:
 *
 *     DIR/..2026_11_27_12_30_00.123456789/   the payload (files, subdirs)
 *     DIR/..data -> ..2026_11_27_12_30_00.123456789
 *     DIR/<top> -> ..data/<top>              one per first path component
 *
 * A write puts the whole payload into a fresh timestamped directory,
 * fsyncs every file and directory, points a new symlink "..data_tmp" at it
 * and renames that over "..data" (one atomic step for readers), then adds
 * the user-visible symlinks that are missing, removes those no longer in
 * the payload and removes the previous timestamped directory. A payload
 * equal to what is on disk (same paths, bytes and modes) writes nothing.
 *
 * Not thread-safe for one DIR: one writer per volume (the volume manager
 * thread).
 */
#ifndef WL_POD_ATOMIC_WRITER_H
#define WL_POD_ATOMIC_WRITER_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/* Longest relative path accepted for one file of a payload (the kubelet's
 * maxPathLength). */
#define WL_AW_MAX_PATH 4096

/* One file of a payload. Borrowed by wl_atomic_write(). */
struct wl_aw_file {
    const char *path; /* relative, e.g. "key" or "dir/key" */
    const void *data;
    size_t len;
    unsigned mode; /* permission bits, e.g. 0644 */
};

/* Checks that path may name a file in a volume: not empty, not absolute,
 * no longer than WL_AW_MAX_PATH, no empty, "." or ".." component, and a
 * first component not starting with ".." (reserved for the writer's own
 * entries). Returns 0, or -1 with err saying why, naming path. */
int wl_aw_check_path(const char *path, struct wl_error *err);

/* Makes dir (mode dir_mode, parents 0750) hold exactly the n files of
 * files, in the layout above. Every path is checked first (nothing is
 * written when one is bad) and paths must be unique. *ret_changed (may be
 * NULL) says whether anything was written. On failure the previous payload
 * stays visible. */
int wl_atomic_write(const char *dir, unsigned dir_mode,
                    const struct wl_aw_file *files, size_t n, bool *ret_changed,
                    struct wl_error *err);

#endif
