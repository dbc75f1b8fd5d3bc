/* libFuzzer target: manifest, index and image-config bodies from a
 * registry, with the Content-Type header it might have sent, through the
 * parser and the choice of the wasm entry or layer. */
#include <stdint.h>
#include <stdlib.h>

#include "oci/manifest.h"

static const char *const content_types[] = {
    NULL,
    "",
    WL_MT_OCI_INDEX,
    WL_MT_OCI_MANIFEST,
    WL_MT_DOCKER_LIST,
    WL_MT_DOCKER_MANIFEST "; charset=utf-8",
    "application/json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_oci_manifest *m = NULL;
    const char *ct = NULL;

    if (size > 0) {
        ct = content_types[data[0] %
                           (sizeof(content_types) / sizeof(content_types[0]))];
        data++;
        size--;
    }
    const char *body = (const char *)data;
    if (wl_oci_manifest_parse(body, size, ct, &m, &err) < 0) {
        if (!err.msg)
            abort();
        wl_error_clear(&err);
    } else {
        const struct wl_oci_descriptor *d = NULL;
        enum wl_wasm_format fmt;
        int r = m->kind == WL_MANIFEST_INDEX
                    ? wl_oci_index_pick_wasm(m, &d, &err)
                    : wl_oci_manifest_pick_wasm(m, &fmt, &d, &err);
        if (r < 0 && !err.msg)
            abort();
        if (r == 0 && m->kind == WL_MANIFEST_INDEX && !d)
            abort();
        wl_error_clear(&err);
        wl_oci_manifest_free(m);
    }

    char *path = NULL;
    if (wl_oci_image_config_module(body, size, &path, &err) < 0) {
        if (!err.msg || path)
            abort();
        wl_error_clear(&err);
    } else if (!path || !*path || path[0] == '/') {
        abort();
    }
    free(path);
    return 0;
}
