/* libFuzzer target: a watch stream from the API server, as it arrives —
 * bytes in chunks of any size, split into lines (wl_kube_lines_drain, the
 * framing the client uses) and each event applied to a watch cache seeded
 * by a list. Checks that a bad line is refused with a reason, and that the
 * cache never tells its consumer about an object without a name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/client.h"
#include "kube/watch.h"
#include "util/json.h"

static void on_change(void *ud, enum wl_watch_type type, const json_t *obj)
{
    (void)ud;
    (void)type;
    if (!wl_json_str(obj, "metadata", "name", NULL))
        abort();
}

struct feed {
    struct wl_watch_cache cache;
};

static int on_line(void *ud, const json_t *event)
{
    struct feed *f = ud;
    struct wl_error err = WL_ERROR_INIT;
    enum wl_watch_step step =
        wl_watch_cache_apply_event(&f->cache, event, &err);
    if (step == WL_WATCH_FAILED && !err.msg)
        abort();
    wl_error_clear(&err);
    return step == WL_WATCH_CONTINUE ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct feed f;
    struct wl_error err = WL_ERROR_INIT;
    wl_watch_cache_init(&f.cache, on_change, NULL);
    json_t *list = json_pack(
        "{s:{s:s}, s:[{s:{s:s, s:s, s:s}}]}", "metadata", "resourceVersion",
        "10", "items", "metadata", "name", "a", "namespace", "default",
        "resourceVersion", "9");
    if (list && wl_watch_cache_apply_list(&f.cache, list, &err) < 0)
        abort();
    json_decref(list);

    /* The first byte picks the chunk size the stream arrives in. */
    size_t chunk = size ? (size_t)data[0] % 64 + 1 : 1;
    char *buf = malloc(size + 1);
    size_t len = 0;
    for (size_t off = size ? 1 : 0; buf && off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        memcpy(buf + len, data + off, n);
        len += n;
        bool stopped = false;
        if (wl_kube_lines_drain(buf, &len, on_line, &f, &stopped, &err) < 0) {
            if (!stopped && !err.msg)
                abort();
            wl_error_clear(&err);
            break;
        }
        if (len > size)
            abort();
    }
    free(buf);
    wl_watch_cache_clear(&f.cache);
    return 0;
}
