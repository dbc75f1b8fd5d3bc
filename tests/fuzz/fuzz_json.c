/* libFuzzer target: JSON bodies from the API server (Node and Pod objects,
 * Status errors) through our size/depth-checked parser and the accessors
 * the node code reads them with. */
#include <stdint.h>
#include <stdlib.h>

#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wl_error err = WL_ERROR_INIT;
    json_t *v = NULL;

    if (wl_json_parse((const char *)data, size, WL_JSON_MAX_DEPTH, &v,
                      &err) < 0) {
        if (!err.msg)
            abort();
        wl_error_clear(&err);
        return 0;
    }
    (void)wl_json_str(v, "metadata", "name", NULL);
    (void)wl_json_str(v, "metadata", "uid", NULL);
    (void)wl_json_str(v, "message", NULL);
    (void)wl_json_get(v, "spec", "taints", NULL);
    size_t i;
    json_t *item;
    json_array_foreach(wl_json_get(v, "items", NULL), i, item)
        (void)wl_json_str(item, "metadata", "namespace", NULL);
    char *s = wl_json_dump(v);
    free(s);
    json_decref(v);
    return 0;
}
