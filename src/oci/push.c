#include "oci/push.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "oci/manifest.h"
#include "oci/ref.h"
#include "oci/store.h"
#include "util/digest.h"
#include "util/json.h"

static json_t *manifest_build(const uint8_t *wasm, size_t len,
                              const char *config, bool krustlet,
                              struct wl_error *err)
{
    char config_digest[80], layer_digest[80];
    if (wl_digest_of(config, strlen(config), config_digest, err) < 0 ||
        wl_digest_of(wasm, len, layer_digest, err) < 0)
        return NULL;
    json_t *m = json_pack(
        "{s:i, s:s, s:{s:s, s:s, s:I}, s:[{s:s, s:s, s:I}]}", "schemaVersion",
        2, "mediaType", WL_MT_OCI_MANIFEST, "config", "mediaType",
        krustlet ? WL_MT_WASM_CONFIG_V1 : WL_MT_WASM_CONFIG_V0, "digest",
        config_digest, "size", (json_int_t)strlen(config), "layers",
        "mediaType", krustlet ? WL_MT_WASM_LAYER_V1 : WL_MT_WASM, "digest",
        layer_digest, "size", (json_int_t)len);
    if (!m)
        wl_error_set(err, ENOMEM, "manifest");
    else if (!krustlet)
        json_object_set_new(m, "artifactType", json_string(WL_MT_WASM));
    return m;
}

int wl_oci_push(const uint8_t *wasm, size_t len, const char *image,
                bool krustlet, const struct wl_registry_opts *opts,
                char *ret_digest, struct wl_error *err)
{
    static const char config[] = "{}";
    struct wl_oci_ref *ref = NULL;
    struct wl_registry *reg = NULL;
    json_t *m = NULL;
    char *body = NULL;
    int rc = -1;

    if (len < 8 || memcmp(wasm, "\0asm", 4) != 0)
        return wl_error_set(err, 0, "not a WebAssembly module (no \\0asm "
                                    "header)");
    if (wl_oci_ref_parse(image, &ref, err) < 0)
        return -1;
    if (ref->digest) {
        wl_error_set(err, 0, "push to \"%s\": give a tag, not a digest", image);
        goto out;
    }
    if (wl_registry_new(wl_oci_ref_api_host(ref), opts, &reg, err) < 0 ||
        wl_registry_ping(reg, err) < 0)
        goto out;
    if (!(m = manifest_build(wasm, len, config, krustlet, err))) {
        wl_error_prefix(err, "push");
        goto out;
    }
    if (!(body = wl_json_dump(m))) {
        wl_error_set(err, ENOMEM, "push");
        goto out;
    }
    if (wl_registry_push_blob(reg, ref->repository, config, strlen(config),
                              err) < 0 ||
        wl_registry_push_blob(reg, ref->repository, wasm, len, err) < 0 ||
        wl_registry_put_manifest(reg, ref->repository, ref->tag,
                                 WL_MT_OCI_MANIFEST, body, strlen(body),
                                 ret_digest, err) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0)
        wl_error_prefix(err, "push %s", image);
    free(body);
    json_decref(m);
    wl_registry_free(reg);
    wl_oci_ref_free(ref);
    return rc;
}
