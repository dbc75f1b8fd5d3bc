/* libFuzzer target: YAML streams (static pod manifests, `wasmlet run
 * POD.yaml`) through the YAML to JSON converter: it must fail with a
 * message or give an array of documents, never crash, leak or expand
 * aliases without bound. */
#include <stdint.h>
#include <stdlib.h>

#include "util/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wl_error err = WL_ERROR_INIT;
    json_t *docs = NULL;

    if (wl_yaml_to_json((const char *)data, size, &docs, &err) < 0) {
        if (!err.msg)
            abort();
        wl_error_clear(&err);
        return 0;
    }
    if (!json_is_array(docs))
        abort();
    char *s = json_dumps(docs, JSON_COMPACT);
    free(s);
    json_decref(docs);
    return 0;
}
