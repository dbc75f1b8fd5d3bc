#include "util/utf8.h"

#include <stdlib.h>
#include <string.h>

size_t wl_utf8_len(const unsigned char *s, size_t n)
{
    size_t width = s[0] < 0x80                    ? 1
                   : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
                   : s[0] >= 0xe0 && s[0] <= 0xef ? 3
                   : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
                                                  : 0;
    if (width == 0 || width > n)
        return 0;
    for (size_t i = 1; i < width; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    /* overlong 3- and 4-byte forms, surrogates, above U+10FFFF */
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
        return 0;
    return width;
}

char *wl_utf8_sanitize(const char *buf, size_t len)
{
    /* At worst every byte becomes 3. */
    if (len > (((size_t)-1) - 1) / 3)
        return NULL;
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    const unsigned char *s = (const unsigned char *)buf;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = s[i] ? wl_utf8_len(s + i, len - i) : 0;
        if (n == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(out + o, s + i, n);
        o += n;
        i += n;
    }
    out[o] = '\0';
    return out;
}
