/* Reading files with a size limit, and durable atomic writes.
 *
 * Everything wasmlet writes (module store, state, volumes) goes through
 * wl_file_write_atomic(): readers see either the old content or the new,
 * never a torn file, and the new content survives power loss once the call
 * returns.
 */
#ifndef WL_UTIL_FILEIO_H
#define WL_UTIL_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* Reads the whole file at path (relative to dirfd, or AT_FDCWD) into a
 * malloc'd buffer that the caller frees. Files larger than max_size are
 * refused before anything is allocated. A NUL byte follows the data (not
 * counted in *ret_len), so text can be used as a string. */
int wl_file_read(int dirfd, const char *path, size_t max_size,
                 uint8_t **ret_data, size_t *ret_len, struct wl_error *err);

/* Writes data to path (relative to dirfd) atomically and durably: a temp
 * file in the same directory is written, fsynced and renamed over path, then
 * the directory is fsynced. mode is the new file's permission bits. On
 * failure path is untouched and the temp file is removed. */
int wl_file_write_atomic(int dirfd, const char *path, const void *data,
                         size_t len, unsigned mode, struct wl_error *err);

/* Creates path and its missing parents with mode (like mkdir -p); an
 * existing directory is fine. */
int wl_mkdir_p(const char *path, unsigned mode, struct wl_error *err);

/* Removes path and everything under it (like rm -rf), without following
 * symlinks; a missing path is fine. */
int wl_remove_tree(const char *path, struct wl_error *err);

/* Disk space used by path and everything under it, in bytes, as du counts
 * it: st_blocks * 512 of every entry (directories included, symlinks not
 * followed, a file with n hard links inside the tree counted n times). A
 * missing path uses 0 bytes; entries that vanish during the walk are
 * skipped. Fails only when path cannot be walked at all. */
int wl_dir_usage(const char *path, uint64_t *ret_bytes, struct wl_error *err);

#endif
