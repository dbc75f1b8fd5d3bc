/* libFuzzer target: Pod objects from the API server (or static pod
 * manifests) through the typed view the pod manager reads, and admission.
 * Every failure must carry a message; nothing may leak. */
#include <stdint.h>
#include <stdlib.h>

#include "pod/spec.h"
#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wl_error err = WL_ERROR_INIT;
    json_t *v = NULL;

    if (wl_json_parse((const char *)data, size, WL_JSON_MAX_DEPTH, &v, &err) <
        0) {
        if (!err.msg)
            abort();
        wl_error_clear(&err);
        return 0;
    }
    free(wl_pod_ignored_fields(v)); /* any document: never crash */
    struct wl_pod_spec *s = NULL;
    if (wl_pod_spec_parse(v, &s, &err) < 0) {
        if (!err.msg || s)
            abort();
        wl_error_clear(&err);
        json_decref(v);
        return 0;
    }
    json_decref(v); /* the spec must not borrow from the document */
    if (!s || s->ncontainers == 0 || !s->name || !s->namespace_ ||
        !s->restart_policy)
        abort();
    const char *reason = NULL;
    /* size picks the node's fill so both sides of max pods are reached. */
    if (wl_pod_admit(s, size % 4, 2, &reason, &err) < 0) {
        if (!err.msg || !reason)
            abort();
        wl_error_clear(&err);
    }
    for (size_t i = 0; i < s->nvolumes; i++)
        if (!json_is_object(s->volumes[i].source))
            abort();
    wl_pod_spec_free(s);
    return 0;
}
