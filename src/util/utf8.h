/* UTF-8 as Go's encoders see it: what is well-formed, and text made
 * well-formed for JSON (jansson refuses invalid UTF-8) by replacing each
 * byte that is not part of a well-formed sequence with U+FFFD, as Go's
 * encoding/json does. Used by util/log (JSON log lines) and
 * pod/termmsg (messages from files a guest wrote). No state. */
#ifndef WL_UTIL_UTF8_H
#define WL_UTIL_UTF8_H

#include <stddef.h>

/* The length of the well-formed UTF-8 sequence at s (n > 0 bytes), or 0:
 * not a lead byte, cut short, overlong, a surrogate, above U+10FFFF.
 * A byte below 0x80 (NUL included) is a sequence of 1. */
size_t wl_utf8_len(const unsigned char *s, size_t n);

/* len bytes of buf as a NUL-terminated well-formed string: each byte not
 * in a well-formed sequence, and each NUL, becomes U+FFFD. malloc'd; NULL
 * when out of memory. */
char *wl_utf8_sanitize(const char *buf, size_t len);

#endif
