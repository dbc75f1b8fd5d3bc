/* Content digests as OCI names blobs: "sha256:<64 lowercase hex>". The one
 * place a digest is checked for form (the content store, the manifest
 * parser and the compiled-module cache all ask here) and made from bytes.
 * Owns no state; safe from any thread.
 */
#ifndef WL_UTIL_DIGEST_H
#define WL_UTIL_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define WL_DIGEST_PREFIX "sha256:"
#define WL_DIGEST_HEX_LEN 64
/* Bytes of a digest string with its NUL (72). */
#define WL_DIGEST_SIZE (sizeof(WL_DIGEST_PREFIX) + WL_DIGEST_HEX_LEN)

/* Whether digest is "sha256:" and exactly 64 lowercase hex digits (so it
 * is also safe as a file name). False for NULL. */
bool wl_digest_valid(const char *digest);

/* "sha256:<hex>" of len bytes at data, into buf (WL_DIGEST_SIZE bytes).
 * Fails (-1, buf untouched) only when OpenSSL cannot compute it (no
 * SHA-256 in its provider, no memory). */
int wl_digest_of(const void *data, size_t len, char *buf,
                 struct wl_error *err);

/* "sha256:<hex>" of a SHA-256 already computed (32 bytes at md), into buf
 * (WL_DIGEST_SIZE bytes). */
void wl_digest_from_sha256(const unsigned char *md, char *buf);

#endif
