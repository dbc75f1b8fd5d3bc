/* The framing of streamed API answers (watches): newline-delimited JSON.
 * Apart from client.c so that the fuzz target links no network code. */
#include "kube/client.h"

#include <string.h>

#include "util/json.h"

int wl_kube_lines_drain(char *buf, size_t *len, wl_kube_line_fn fn,
                        void *userdata, bool *stopped, struct wl_error *err)
{
    char *start = buf;
    char *end = buf + *len;
    char *nl;

    while (start < end && (nl = memchr(start, '\n', (size_t)(end - start)))) {
        json_t *v = NULL;
        if (nl > start) {
            if (wl_json_parse(start, (size_t)(nl - start), WL_JSON_MAX_DEPTH,
                              &v, err) < 0)
                return -1;
            int r = fn(userdata, v);
            json_decref(v);
            if (r < 0) {
                *stopped = true;
                return -1;
            }
        }
        start = nl + 1;
    }
    size_t rest = (size_t)(end - start);
    memmove(buf, start, rest);
    *len = rest;
    return 0;
}
