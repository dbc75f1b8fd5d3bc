/* Standard base64 (RFC 4648 with padding), as Kubernetes uses it for
 * Secret data and kubeconfig *-data fields. */
#ifndef WL_UTIL_BASE64_H
#define WL_UTIL_BASE64_H

#include <stddef.h>

#include "util/error.h"

/* Decodes len bytes of s: padding is required, CR and LF are skipped,
 * anything else outside the alphabet is an error naming key and the byte
 * offset. *ret (malloc'd, NUL-terminated, *ret_len bytes before the NUL)
 * is written only on success. */
int wl_base64_decode(const char *s, size_t len, const char *key, char **ret,
                     size_t *ret_len, struct wl_error *err);

#endif
