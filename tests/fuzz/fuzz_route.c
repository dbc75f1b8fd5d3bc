/* libFuzzer target: the kubelet API's request targets (the raw path and
 * query of any HTTPS client's request line). Checks that a refusal is an
 * HTTP error status with a message, and that whatever is accepted carries
 * only names the API allows, so nothing from a URL reaches a file name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/route.h"

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT",
                                      "PATCH", "DELETE", "OPTIONS", "BREW"};

static void check_name(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max)
        abort();
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '-' || s[i] == '.'))
            abort();
    if (strstr(s, ".."))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *method = methods[data[0] % 8];
    char *target = malloc(size);
    if (!target)
        return 0;
    memcpy(target, data + 1, size - 1);
    target[size - 1] = 0;

    struct wl_route r;
    struct wl_error err = WL_ERROR_INIT;
    int code = wl_route_parse(method, target, &r, &err);
    if (code) {
        if (code < 400 || code > 499 || !err.msg)
            abort();
    } else {
        if (!r.verb || !r.subresource)
            abort();
        if (r.kind == WL_ROUTE_CONTAINER_LOGS) {
            if (!*r.namespace_ || !*r.pod || !*r.container)
                abort();
            if (r.tail_lines < -1 || r.limit_bytes < 0 || r.since_seconds < 0)
                abort();
        }
        check_name(r.namespace_, 63);
        check_name(r.pod, 253);
        check_name(r.container, 63);
    }
    wl_error_clear(&err);
    free(target);
    return 0;
}
