/* Finding one file in an image layer: a tar archive, gzip-compressed or
 * not (zlib reads both). Used for wasm images published as ordinary OCI
 * images (format (c)). */
#ifndef WL_OCI_TAR_H
#define WL_OCI_TAR_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* A layer path as images name it ("/app/x.wasm", "./app/x.wasm") in the
 * form tar entries are compared in ("app/x.wasm"). Points into p. */
const char *wl_tar_path_strip_root(const char *p);

/* Reads the tar stream from fd (which it does not close) and returns the
 * contents of the regular file whose name is path (compared without a
 * leading "/" or "./"). GNU long names and PAX path records are honoured.
 * Files over max bytes, truncated archives and a missing entry are errors;
 * *ret_found is 0 for "not in this layer" (so the caller can try another
 * layer) and 1 when the file was found. */
int wl_tar_extract(int fd, const char *path, size_t max, uint8_t **ret_data,
                   size_t *ret_len, int *ret_found, struct wl_error *err);

#endif
