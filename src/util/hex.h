/* Lowercase hexadecimal: the one encoder of bytes as hex digits (content
 * digests, compiled-module cache keys, mirror pod hashes, pod UIDs, the
 * \xNN escapes of quoted input). Owns no state.
 */
#ifndef WL_UTIL_HEX_H
#define WL_UTIL_HEX_H

#include <stddef.h>

/* Writes the n bytes at data as 2n lowercase hex digits and a NUL into
 * out, which holds at least 2n + 1 bytes. Cannot fail. */
void wl_hex_encode(const void *data, size_t n, char *out);

#endif
