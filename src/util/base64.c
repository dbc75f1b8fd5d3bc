#include "util/base64.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/cleanup.h"

static int base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes standard base64 as client-go reads the *-data fields (Go's
 * encoding/json on a []byte: base64.StdEncoding): padding is required, CR
 * and LF are skipped, anything else outside the alphabet is an error. The
 * result is NUL-terminated. */
int wl_base64_decode(const char *s, size_t len, const char *key, char **ret,
                     size_t *ret_len, struct wl_error *err)
{
    _cleanup_free_ char *out = malloc(len / 4 * 3 + 1);
    if (!out)
        return wl_error_set(err, ENOMEM, "%s", key);

    size_t n = 0;
    uint32_t acc = 0;
    unsigned sextets = 0, pad = 0; /* in the current 4-character group */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            if (sextets < 2 || sextets + pad == 4)
                return wl_error_set(err, 0, "%s: invalid base64 at byte %zu",
                                    key, i);
            pad++;
            continue;
        }
        int v = base64_value(c);
        if (v < 0 || pad > 0)
            return wl_error_set(err, 0, "%s: invalid base64 at byte %zu", key,
                                i);
        acc = acc << 6 | (uint32_t)v;
        if (++sextets == 4) {
            out[n++] = (char)(acc >> 16);
            out[n++] = (char)(acc >> 8);
            out[n++] = (char)acc;
            sextets = 0;
            acc = 0;
        }
    }
    if (sextets + pad != 0 && sextets + pad != 4)
        return wl_error_set(err, 0, "%s: invalid base64 (truncated)", key);
    if (sextets == 2) {
        out[n++] = (char)(acc >> 4);
    } else if (sextets == 3) {
        out[n++] = (char)(acc >> 10);
        out[n++] = (char)(acc >> 2);
    }
    out[n] = '\0';
    *ret = TAKE_PTR(out);
    *ret_len = n;
    return 0;
}
