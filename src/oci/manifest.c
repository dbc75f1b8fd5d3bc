#include "oci/manifest.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "oci/store.h"
#include "oci/tar.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/json.h"

static void descriptor_clear(struct wl_oci_descriptor *d)
{
    free(d->media_type);
    free(d->digest);
    free(d->os);
    free(d->architecture);
    memset(d, 0, sizeof(*d));
}

void wl_oci_manifest_free(struct wl_oci_manifest *m)
{
    if (!m)
        return;
    free(m->media_type);
    free(m->artifact_type);
    descriptor_clear(&m->config);
    for (size_t i = 0; i < m->nentries; i++)
        descriptor_clear(&m->entries[i]);
    free(m->entries);
    free(m);
}

static char *dup_str(const json_t *v)
{
    const char *s = json_string_value(v);
    return s ? strdup(s) : NULL;
}

static int descriptor_parse(const json_t *j, const char *what,
                            struct wl_oci_descriptor *d, struct wl_error *err)
{
    const char *mt = wl_json_str(j, "mediaType", NULL);
    const char *digest = wl_json_str(j, "digest", NULL);
    json_t *size = json_object_get(j, "size");

    if (!json_is_object(j))
        return wl_error_set(err, 0, "%s: not an object", what);
    if (!mt)
        return wl_error_set(err, 0, "%s: no mediaType", what);
    if (!wl_digest_valid(digest))
        return wl_error_set(err, 0, "%s: digest \"%s\" is not sha256:<hex>",
                            what, digest ? digest : "");
    if (!json_is_integer(size) || json_integer_value(size) < 0)
        return wl_error_set(err, 0, "%s: size missing or negative", what);
    d->media_type = strdup(mt);
    d->digest = strdup(digest);
    d->size = json_integer_value(size);
    d->os = dup_str(wl_json_get(j, "platform", "os", NULL));
    d->architecture = dup_str(wl_json_get(j, "platform", "architecture", NULL));
    if (!d->media_type || !d->digest)
        return wl_error_set(err, ENOMEM, "%s", what);
    return 0;
}

static bool is_index_type(const char *mt)
{
    return strcmp(mt, WL_MT_OCI_INDEX) == 0 ||
           strcmp(mt, WL_MT_DOCKER_LIST) == 0;
}

static bool is_image_type(const char *mt)
{
    return strcmp(mt, WL_MT_OCI_MANIFEST) == 0 ||
           strcmp(mt, WL_MT_DOCKER_MANIFEST) == 0;
}

/* The media type: the body's own, else the header's (without parameters),
 * else inferred from the shape (OCI allows mediaType to be absent). */
static char *media_type_of(const json_t *j, const char *content_type)
{
    const char *mt = wl_json_str(j, "mediaType", NULL);
    if (mt)
        return strdup(mt);
    if (content_type && *content_type) {
        size_t n = strcspn(content_type, "; ");
        char *ct = strndup(content_type, n);
        if (ct && (is_index_type(ct) || is_image_type(ct)))
            return ct;
        free(ct);
    }
    return strdup(json_object_get(j, "manifests") ? WL_MT_OCI_INDEX
                                                  : WL_MT_OCI_MANIFEST);
}

static int entries_parse(const json_t *arr, const char *what,
                         struct wl_oci_manifest *m, struct wl_error *err)
{
    if (!json_is_array(arr))
        return wl_error_set(err, 0, "no %s array", what);
    size_t n = json_array_size(arr);
    if (n > WL_MANIFEST_MAX_ENTRIES)
        return wl_error_set(err, 0, "%zu %s is more than the limit of %d", n,
                            what, WL_MANIFEST_MAX_ENTRIES);
    m->entries = calloc(n ? n : 1, sizeof(*m->entries));
    if (!m->entries)
        return wl_error_set(err, ENOMEM, "%s", what);
    for (size_t i = 0; i < n; i++) {
        char label[48];
        snprintf(label, sizeof(label), "%s[%zu]", what, i);
        m->nentries = i + 1; /* so free() clears what is filled */
        if (descriptor_parse(json_array_get(arr, i), label, &m->entries[i],
                             err) < 0)
            return -1;
    }
    return 0;
}

int wl_oci_manifest_parse(const char *body, size_t len,
                          const char *content_type,
                          struct wl_oci_manifest **ret, struct wl_error *err)
{
    json_t *j = NULL;
    if (len > WL_MANIFEST_MAX_SIZE)
        return wl_error_set(err, 0, "manifest of %zu bytes is over the limit "
                                    "of %u",
                            len, WL_MANIFEST_MAX_SIZE);
    if (wl_json_parse(body, len, WL_JSON_MAX_DEPTH, &j, err) < 0)
        return wl_error_prefix(err, "manifest");

    struct wl_oci_manifest *m = calloc(1, sizeof(*m));
    int r = -1;
    if (!m) {
        wl_error_set(err, ENOMEM, "manifest");
        goto out;
    }
    if (!json_is_object(j)) {
        wl_error_set(err, 0, "manifest: not a JSON object");
        goto out;
    }
    if (json_integer_value(json_object_get(j, "schemaVersion")) != 2) {
        wl_error_set(err, 0, "manifest: schemaVersion is not 2 (Docker "
                             "schema 1 is not supported)");
        goto out;
    }
    m->media_type = media_type_of(j, content_type);
    m->artifact_type = dup_str(json_object_get(j, "artifactType"));
    if (!m->media_type) {
        wl_error_set(err, ENOMEM, "manifest");
        goto out;
    }
    if (is_index_type(m->media_type)) {
        m->kind = WL_MANIFEST_INDEX;
        r = entries_parse(json_object_get(j, "manifests"), "manifests", m, err);
    } else if (is_image_type(m->media_type)) {
        m->kind = WL_MANIFEST_IMAGE;
        r = descriptor_parse(json_object_get(j, "config"), "config",
                             &m->config, err);
        if (r == 0)
            r = entries_parse(json_object_get(j, "layers"), "layers", m, err);
    } else {
        wl_error_set(err, 0, "unsupported manifest media type \"%s\"",
                     m->media_type);
    }
    if (r < 0)
        wl_error_prefix(err, "manifest");
out:
    json_decref(j);
    if (r < 0) {
        wl_oci_manifest_free(m);
        return -1;
    }
    *ret = m;
    return 0;
}

static bool is_wasm_platform(const char *os, const char *arch)
{
    return os && arch &&
           (strcmp(os, "wasi") == 0 || strcmp(os, "wasip1") == 0) &&
           (strcmp(arch, "wasm") == 0 || strcmp(arch, "wasm32") == 0);
}

int wl_oci_index_pick_wasm(const struct wl_oci_manifest *idx,
                           const struct wl_oci_descriptor **ret,
                           struct wl_error *err)
{
    char found[512] = "";
    size_t used = 0;

    for (size_t i = 0; i < idx->nentries; i++) {
        const struct wl_oci_descriptor *d = &idx->entries[i];
        if (is_wasm_platform(d->os, d->architecture)) {
            *ret = d;
            return 0;
        }
        if (used < sizeof(found) - 1) {
            int n = snprintf(found + used, sizeof(found) - used, "%s%s/%s",
                             used ? ", " : "", d->os ? d->os : "?",
                             d->architecture ? d->architecture : "?");
            if (n > 0)
                used += (size_t)n;
        }
    }
    return wl_error_set(err, 0, "no wasi/wasm entry in the image index "
                                "(platforms: %s)",
                        used ? found : "none");
}

static const struct wl_oci_descriptor *
find_layer(const struct wl_oci_manifest *m, const char *media_type)
{
    for (size_t i = 0; i < m->nentries; i++)
        if (strcmp(m->entries[i].media_type, media_type) == 0)
            return &m->entries[i];
    return NULL;
}

int wl_oci_manifest_pick_wasm(const struct wl_oci_manifest *m,
                              enum wl_wasm_format *ret_format,
                              const struct wl_oci_descriptor **ret_layer,
                              struct wl_error *err)
{
    const struct wl_oci_descriptor *l;
    const char *cfg = m->config.media_type;

    if (m->kind != WL_MANIFEST_IMAGE)
        return wl_error_set(err, 0, "expected an image manifest, got an "
                                    "index");
    if ((l = find_layer(m, WL_MT_WASM_LAYER_V1))) {
        *ret_format = WL_WASM_FORMAT_KRUSTLET;
        *ret_layer = l;
        return 0;
    }
    if ((l = find_layer(m, WL_MT_WASM))) {
        *ret_format = WL_WASM_FORMAT_ARTIFACT;
        *ret_layer = l;
        return 0;
    }
    if (strcmp(cfg, WL_MT_OCI_CONFIG) == 0 ||
        strcmp(cfg, WL_MT_DOCKER_CONFIG) == 0) {
        *ret_format = WL_WASM_FORMAT_IMAGE;
        *ret_layer = NULL;
        return 0;
    }
    return wl_error_set(err, 0, "not a WebAssembly image: config media type "
                                "\"%s\", %zu layer(s)%s%s, none of type %s "
                                "or %s",
                        cfg, m->nentries, m->nentries ? ", the first " : "",
                        m->nentries ? m->entries[0].media_type : "",
                        WL_MT_WASM, WL_MT_WASM_LAYER_V1);
}

int wl_oci_image_config_module(const char *body, size_t len, char **ret_path,
                               struct wl_error *err)
{
    json_t *j = NULL;
    int r = -1;

    if (len > WL_MANIFEST_MAX_SIZE)
        return wl_error_set(err, 0, "image config over %u bytes",
                            WL_MANIFEST_MAX_SIZE);
    if (wl_json_parse(body, len, WL_JSON_MAX_DEPTH, &j, err) < 0)
        return wl_error_prefix(err, "image config");
    const char *os = wl_json_str(j, "os", NULL);
    const char *arch = wl_json_str(j, "architecture", NULL);
    json_t *ep = wl_json_get(j, "config", "Entrypoint", NULL);
    json_t *cmd = wl_json_get(j, "config", "Cmd", NULL);
    const char *path = json_string_value(json_array_get(ep, 0));
    if (!path)
        path = json_string_value(json_array_get(cmd, 0));

    if (!is_wasm_platform(os, arch)) {
        wl_error_set(err, 0, "not a WebAssembly image: platform %s/%s, "
                             "expected wasi/wasm",
                     os ? os : "?", arch ? arch : "?");
    } else if (!path || !*wl_tar_path_strip_root(path)) {
        wl_error_set(err, 0, "wasm image config names no module in "
                             "Entrypoint or Cmd");
    } else if (!(*ret_path = strdup(wl_tar_path_strip_root(path)))) {
        wl_error_set(err, ENOMEM, "image config");
    } else {
        r = 0;
    }
    json_decref(j);
    return r;
}
