/* libFuzzer target: termination messages come from a file the guest
 * writes (pod/termmsg.h). Whatever the bytes, the message is valid UTF-8
 * that jansson takes (or the status would lose it), and a cut to any
 * budget stays valid. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pod/termmsg.h"
#include "util/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 3 * WL_TERMMSG_MAX_BYTES)
        return 0;
    char *s = wl_utf8_sanitize((const char *)data, size);
    if (!s)
        return 0;
    size_t len = strlen(s);
    json_t *j = json_string(s);
    if (!j)
        abort(); /* not UTF-8, or a NUL got through */
    json_decref(j);
    size_t budget = size ? data[0] * 16u : 0;
    size_t cut = wl_termmsg_cut(s, budget);
    if (cut > len || (cut > budget && budget < len))
        abort();
    j = json_stringn(s, cut);
    if (!j)
        abort(); /* cut inside a character */
    json_decref(j);
    free(s);
    return 0;
}
