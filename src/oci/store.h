/* The content store: blobs by digest under <dir>/blobs/sha256/<hex>, and
 * which manifest digest each pulled reference resolved to.
 *
 * A blob is written to <dir>/tmp while it is hashed, fsynced, and renamed
 * into place only when its sha256 matches the digest it was fetched as, so
 * a blob in blobs/ is always complete and verified. A store is shared by
 * the threads that pull: all its functions are safe to call concurrently
 * (they only create files with unique temp names and rename them).
 */
#ifndef WL_OCI_STORE_H
#define WL_OCI_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct wl_store;
struct wl_store_writer;

/* Opens (creating as needed) the store in dir. */
int wl_store_open(const char *dir, struct wl_store **ret, struct wl_error *err);

/* Accepts NULL. */
void wl_store_free(struct wl_store *s);

/* Whether "sha256:<hex>" is a well-formed digest this store can hold. */
bool wl_digest_valid(const char *digest);

/* "sha256:<hex>" of len bytes at data, into buf (at least 72 bytes). Fails
 * (-1, buf untouched) only when OpenSSL cannot compute it (no SHA-256 in
 * its provider, no memory). */
int wl_digest_of(const void *data, size_t len, char *buf,
                 struct wl_error *err);

/* Whether the blob is present (and therefore verified). */
bool wl_store_has(const struct wl_store *s, const char *digest);

/* The blob's path; the caller frees it. NULL for a malformed digest or no
 * memory. The file exists only if wl_store_has says so. */
char *wl_store_blob_path(const struct wl_store *s, const char *digest);

/* Reads a blob into memory (at most max bytes). */
int wl_store_read(const struct wl_store *s, const char *digest, size_t max,
                  uint8_t **ret_data, size_t *ret_len, struct wl_error *err);

/* Starts writing the blob with the given digest (max_size bytes at most).
 * Feed it with wl_store_writer_write, then either commit or free. */
int wl_store_writer_new(struct wl_store *s, const char *digest,
                        uint64_t max_size, struct wl_store_writer **ret,
                        struct wl_error *err);

/* Appends bytes; fails once more than max_size bytes arrived. */
int wl_store_writer_write(struct wl_store_writer *w, const void *data,
                          size_t len, struct wl_error *err);

/* Verifies the sha256 of what was written and moves it into place. A
 * mismatch is an error naming both digests; nothing is stored then. Frees
 * w in every case. */
int wl_store_writer_commit(struct wl_store_writer *w, struct wl_error *err);

/* Drops a writer that will not be committed (removes its temp file).
 * Accepts NULL. */
void wl_store_writer_free(struct wl_store_writer *w);

/* Bytes written so far. */
uint64_t wl_store_writer_size(const struct wl_store_writer *w);

/* Stores len bytes under their own digest (for manifests and configs we
 * already hold). When want_digest is not NULL it must match. */
int wl_store_put(struct wl_store *s, const void *data, size_t len,
                 const char *want_digest, struct wl_error *err);

/* Records that reference ref (canonical string) resolved to manifest
 * digest, atomically; and reads it back (NULL: never resolved). */
int wl_store_tag_set(struct wl_store *s, const char *ref, const char *digest,
                     struct wl_error *err);
char *wl_store_tag_get(const struct wl_store *s, const char *ref);

/* Removes every blob whose digest is not in keep (nkeep entries), and
 * leftover temp files. Returns the number of blobs removed, or -1. Unlike
 * the rest of the store this must not run while a pull is writing: its
 * temp file would go. */
int wl_store_gc(struct wl_store *s, const char *const *keep, size_t nkeep,
                struct wl_error *err);

#endif
