/* libFuzzer target: Kubernetes quantities (resources.limits.memory and
 * friends arrive from the API server as strings). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/quantity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct wl_error err = WL_ERROR_INIT;
    int64_t v = -1;
    if (wl_quantity_parse_bytes(s, &v, &err) == 0) {
        if (v < 0)
            abort(); /* a parsed amount of bytes is never negative */
    } else if (!err.msg) {
        abort(); /* every failure says why */
    }
    wl_error_clear(&err);
    free(s);
    return 0;
}
