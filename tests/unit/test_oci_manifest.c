/* Manifests, indexes and image configs as registries serve them: OCI and
 * Docker formats, the three ways wasm modules are published, and every
 * malformed field refused with its own message. */
#include <stdlib.h>

#include "oci/manifest.h"
#include "test.h"

#define D1                                                                     \
    "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2                                                                     \
    "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3                                                                     \
    "sha256:3333333333333333333333333333333333333333333333333333333333333333"

#define DESC(mt, d, sz)                                                        \
    "{\"mediaType\":\"" mt "\",\"digest\":\"" d "\",\"size\":" #sz "}"

static struct wl_oci_manifest *parse_ok(const char *body, const char *ct)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_oci_manifest *m = NULL;
    if (wl_oci_manifest_parse(body, strlen(body), ct, &m, &err) < 0) {
        fprintf(stderr, "  unexpected error: %s\n", err.msg);
        wl_error_clear(&err);
        return NULL;
    }
    return m;
}

/* The error message of a parse that must fail (caller frees), or NULL. */
static char *parse_err(const char *body, size_t len, const char *ct)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_oci_manifest *m = NULL;
    if (wl_oci_manifest_parse(body, len, ct, &m, &err) == 0) {
        wl_oci_manifest_free(m);
        return NULL;
    }
    if (!err.msg)
        return strdup("(no message)");
    return err.msg;
}

static const char oci_index[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" WL_MT_OCI_INDEX "\","
    "\"manifests\":["
    "{\"mediaType\":\"" WL_MT_OCI_MANIFEST "\",\"digest\":\"" D1 "\","
    "\"size\":500,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
    "{\"mediaType\":\"" WL_MT_OCI_MANIFEST "\",\"digest\":\"" D2 "\","
    "\"size\":501,\"platform\":{\"os\":\"wasi\",\"architecture\":\"wasm\"}}]}";

static void test_oci_index_parsed_with_platforms(void)
{
    struct wl_oci_manifest *m = parse_ok(oci_index, NULL);
    CHECK(m);
    int kind = m->kind;
    size_t n = m->nentries;
    int ok = n == 2 && strcmp(m->media_type, WL_MT_OCI_INDEX) == 0 &&
             strcmp(m->entries[0].os, "linux") == 0 &&
             strcmp(m->entries[0].architecture, "amd64") == 0 &&
             strcmp(m->entries[1].digest, D2) == 0 &&
             m->entries[1].size == 501 &&
             strcmp(m->entries[1].media_type, WL_MT_OCI_MANIFEST) == 0;
    wl_oci_manifest_free(m);
    CHECK_INT(kind, WL_MANIFEST_INDEX);
    CHECK_INT(n, 2);
    CHECK(ok);
}

static void test_index_pick_wasm_finds_wasi_wasm(void)
{
    struct wl_error err = WL_ERROR_INIT;
    const struct wl_oci_descriptor *d = NULL;
    struct wl_oci_manifest *m = parse_ok(oci_index, NULL);
    CHECK(m);
    int r = wl_oci_index_pick_wasm(m, &d, &err);
    int ok = r == 0 && d == &m->entries[1];
    wl_oci_manifest_free(m);
    CHECK_INT(r, 0);
    CHECK(ok);
}

static void test_index_pick_wasm_accepts_wasip1_wasm32(void)
{
    static const char body[] =
        "{\"schemaVersion\":2,\"manifests\":["
        "{\"mediaType\":\"" WL_MT_OCI_MANIFEST "\",\"digest\":\"" D1 "\","
        "\"size\":5,\"platform\":{\"os\":\"linux\",\"architecture\":"
        "\"arm64\"}},"
        "{\"mediaType\":\"" WL_MT_OCI_MANIFEST "\",\"digest\":\"" D3 "\","
        "\"size\":7,\"platform\":{\"os\":\"wasip1\",\"architecture\":"
        "\"wasm32\"}}]}";
    struct wl_error err = WL_ERROR_INIT;
    const struct wl_oci_descriptor *d = NULL;
    struct wl_oci_manifest *m = parse_ok(body, WL_MT_OCI_INDEX);
    CHECK(m);
    int r = wl_oci_index_pick_wasm(m, &d, &err);
    int ok = r == 0 && d && strcmp(d->digest, D3) == 0;
    wl_oci_manifest_free(m);
    CHECK_INT(r, 0);
    CHECK(ok);
}

static void test_index_pick_wasm_error_lists_platforms(void)
{
    static const char body[] =
        "{\"schemaVersion\":2,\"mediaType\":\"" WL_MT_OCI_INDEX "\","
        "\"manifests\":["
        "{\"mediaType\":\"" WL_MT_OCI_MANIFEST "\",\"digest\":\"" D1 "\","
        "\"size\":5,\"platform\":{\"os\":\"linux\",\"architecture\":"
        "\"amd64\"}},"
        "{\"mediaType\":\"" WL_MT_OCI_MANIFEST "\",\"digest\":\"" D2 "\","
        "\"size\":5,\"platform\":{\"os\":\"linux\",\"architecture\":"
        "\"arm64\"}},"
        "{\"mediaType\":\"" WL_MT_OCI_MANIFEST "\",\"digest\":\"" D3 "\","
        "\"size\":5}]}";
    struct wl_error err = WL_ERROR_INIT;
    const struct wl_oci_descriptor *d = NULL;
    struct wl_oci_manifest *m = parse_ok(body, NULL);
    CHECK(m);
    int r = wl_oci_index_pick_wasm(m, &d, &err);
    wl_oci_manifest_free(m);
    CHECK_INT(r, -1);
    CHECK_STR(err.msg, "no wasi/wasm entry in the image index (platforms: "
                       "linux/amd64, linux/arm64, ?/?)");
    CHECK(d == NULL);
    wl_error_clear(&err);
}

static void test_docker_manifest_list_is_an_index(void)
{
    static const char body[] =
        "{\"schemaVersion\":2,\"mediaType\":\"" WL_MT_DOCKER_LIST "\","
        "\"manifests\":[{\"mediaType\":\"" WL_MT_DOCKER_MANIFEST "\","
        "\"digest\":\"" D1 "\",\"size\":528,\"platform\":{\"os\":\"wasi\","
        "\"architecture\":\"wasm\"}}]}";
    struct wl_oci_manifest *m = parse_ok(body, NULL);
    CHECK(m);
    int kind = m->kind;
    int ok = strcmp(m->media_type, WL_MT_DOCKER_LIST) == 0 &&
             m->nentries == 1 && m->entries[0].size == 528;
    wl_oci_manifest_free(m);
    CHECK_INT(kind, WL_MANIFEST_INDEX);
    CHECK(ok);
}

static const char oci_image_no_mt[] = "{\"schemaVersion\":2,\"config\":" DESC(
    WL_MT_OCI_CONFIG, D1,
    300) ","
         "\"layers\":[" DESC("application/vnd.oci.image.layer.v1.tar+gzip", D2,
                             4000) "]}";

static void test_manifest_without_media_type_uses_content_type(void)
{
    struct wl_oci_manifest *m =
        parse_ok(oci_image_no_mt, WL_MT_DOCKER_MANIFEST "; charset=utf-8");
    CHECK(m);
    int kind = m->kind;
    int ok = strcmp(m->media_type, WL_MT_DOCKER_MANIFEST) == 0;
    wl_oci_manifest_free(m);
    CHECK_INT(kind, WL_MANIFEST_IMAGE);
    CHECK(ok);
}

static void test_manifest_without_media_type_inferred_from_shape(void)
{
    struct wl_oci_manifest *m =
        parse_ok(oci_image_no_mt, "application/octet-stream");
    CHECK(m);
    int kind = m->kind;
    int ok = strcmp(m->media_type, WL_MT_OCI_MANIFEST) == 0 &&
             strcmp(m->config.digest, D1) == 0 && m->config.size == 300 &&
             m->nentries == 1 && strcmp(m->entries[0].digest, D2) == 0 &&
             m->entries[0].size == 4000 && m->entries[0].os == NULL &&
             m->artifact_type == NULL;
    wl_oci_manifest_free(m);
    CHECK_INT(kind, WL_MANIFEST_IMAGE);
    CHECK(ok);
}

static void test_index_without_media_type_inferred_from_shape(void)
{
    static const char body[] = "{\"schemaVersion\":2,\"manifests\":[]}";
    struct wl_oci_manifest *m = parse_ok(body, NULL);
    CHECK(m);
    int kind = m->kind;
    int ok = strcmp(m->media_type, WL_MT_OCI_INDEX) == 0 && m->nentries == 0;
    wl_oci_manifest_free(m);
    CHECK_INT(kind, WL_MANIFEST_INDEX);
    CHECK(ok);
}

static void test_docker_v2_schema2_manifest(void)
{
    static const char body[] =
        "{\"schemaVersion\":2,\"mediaType\":\"" WL_MT_DOCKER_MANIFEST "\","
        "\"config\":" DESC(WL_MT_DOCKER_CONFIG, D1, 1469) ",\"layers\":[" DESC(
            "application/vnd.docker.image.rootfs.diff.tar.gzip", D2,
            977) "," DESC("application/vnd.docker.image.rootfs.diff.tar.gzip",
                          D3, 12) "]}";
    struct wl_oci_manifest *m = parse_ok(body, WL_MT_OCI_MANIFEST);
    CHECK(m);
    int kind = m->kind;
    int ok = strcmp(m->media_type, WL_MT_DOCKER_MANIFEST) == 0 &&
             strcmp(m->config.media_type, WL_MT_DOCKER_CONFIG) == 0 &&
             m->nentries == 2 && strcmp(m->entries[1].digest, D3) == 0 &&
             m->entries[1].size == 12;
    wl_oci_manifest_free(m);
    CHECK_INT(kind, WL_MANIFEST_IMAGE);
    CHECK(ok);
}

static void test_schema1_refused(void)
{
    static const char body[] =
        "{\"schemaVersion\":1,\"name\":\"library/hello\",\"tag\":\"latest\","
        "\"architecture\":\"amd64\",\"fsLayers\":[{\"blobSum\":\"" D1 "\"}]}";
    char *msg = parse_err(body, strlen(body), NULL);
    CHECK_STR(msg, "manifest: schemaVersion is not 2 (Docker schema 1 is "
                   "not supported)");
    free(msg);
}

static void test_unknown_media_type_refused(void)
{
    static const char body[] =
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.example+json\","
        "\"config\":" DESC(WL_MT_OCI_CONFIG, D1, 1) ",\"layers\":[]}";
    char *msg = parse_err(body, strlen(body), NULL);
    CHECK_STR(msg, "manifest: unsupported manifest media type "
                   "\"application/vnd.example+json\"");
    free(msg);
}

static void test_bad_layer_digest_refused(void)
{
    static const char body[] = "{\"schemaVersion\":2,\"config\":" DESC(
        WL_MT_OCI_CONFIG, D1,
        1) ","
           "\"layers\":[" DESC(WL_MT_WASM, D2,
                               2) "," DESC(WL_MT_WASM, "sha256:ABCD", 2) "]}";
    char *msg = parse_err(body, strlen(body), NULL);
    CHECK_STR(msg, "manifest: layers[1]: digest \"sha256:ABCD\" is not "
                   "sha256:<hex>");
    free(msg);
}

static void test_bad_config_digest_algorithm_refused(void)
{
    static const char body[] = "{\"schemaVersion\":2,\"config\":" DESC(
        WL_MT_OCI_CONFIG,
        "sha512:1111111111111111111111111111111111111111111111111111111"
        "111111111",
        1) ",\"layers\":[]}";
    char *msg = parse_err(body, strlen(body), NULL);
    CHECK_CONTAINS(msg, "manifest: config: digest \"sha512:");
    free(msg);
}

static void test_negative_size_refused(void)
{
    static const char body[] = "{\"schemaVersion\":2,\"manifests\":[" DESC(
        WL_MT_OCI_MANIFEST, D1, -1) "]}";
    char *msg = parse_err(body, strlen(body), NULL);
    CHECK_STR(msg, "manifest: manifests[0]: size missing or negative");
    free(msg);
}

static void test_missing_size_refused(void)
{
    static const char body[] =
        "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" WL_MT_OCI_CONFIG
        "\",\"digest\":\"" D1 "\"},\"layers\":[]}";
    char *msg = parse_err(body, strlen(body), NULL);
    CHECK_STR(msg, "manifest: config: size missing or negative");
    free(msg);
}

static void test_missing_media_type_in_descriptor_refused(void)
{
    static const char body[] = "{\"schemaVersion\":2,\"config\":" DESC(
        WL_MT_OCI_CONFIG, D1, 1) ","
                                 "\"layers\":[{\"digest\":\"" D2
                                 "\",\"size\":3}]}";
    char *msg = parse_err(body, strlen(body), NULL);
    CHECK_STR(msg, "manifest: layers[0]: no mediaType");
    free(msg);
}

static void test_missing_config_refused(void)
{
    static const char body[] =
        "{\"schemaVersion\":2,\"mediaType\":\"" WL_MT_OCI_MANIFEST "\","
        "\"layers\":[]}";
    char *msg = parse_err(body, strlen(body), NULL);
    CHECK_STR(msg, "manifest: config: not an object");
    free(msg);
}

static void test_missing_layers_refused(void)
{
    static const char body[] =
        "{\"schemaVersion\":2,\"config\":" DESC(WL_MT_OCI_CONFIG, D1, 1) "}";
    char *msg = parse_err(body, strlen(body), NULL);
    CHECK_STR(msg, "manifest: no layers array");
    free(msg);
}

static void test_not_an_object_refused(void)
{
    static const char body[] = "[1,2,3]";
    char *msg = parse_err(body, strlen(body), NULL);
    CHECK_STR(msg, "manifest: not a JSON object");
    free(msg);
}

static void test_too_many_layers_refused(void)
{
    static const char layer[] = DESC(WL_MT_WASM, D2, 2);
    size_t n = WL_MANIFEST_MAX_ENTRIES + 1;
    size_t cap = 256 + n * (sizeof(layer) + 1);
    char *body = malloc(cap);
    CHECK(body);
    size_t used = (size_t)snprintf(
        body, cap, "{\"schemaVersion\":2,\"config\":%s,\"layers\":[",
        DESC(WL_MT_OCI_CONFIG, D1, 1));
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(body + used, cap - used, "%s%s", i ? "," : "",
                                 layer);
    used += (size_t)snprintf(body + used, cap - used, "]}");
    char *msg = parse_err(body, used, NULL);
    free(body);
    CHECK_STR(msg, "manifest: 1025 layers is more than the limit of 1024");
    free(msg);
}

static void test_exactly_max_layers_accepted(void)
{
    static const char layer[] = DESC(WL_MT_WASM, D2, 2);
    size_t n = WL_MANIFEST_MAX_ENTRIES;
    size_t cap = 256 + n * (sizeof(layer) + 1);
    char *body = malloc(cap);
    CHECK(body);
    size_t used = (size_t)snprintf(
        body, cap, "{\"schemaVersion\":2,\"config\":%s,\"layers\":[",
        DESC(WL_MT_OCI_CONFIG, D1, 1));
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(body + used, cap - used, "%s%s", i ? "," : "",
                                 layer);
    used += (size_t)snprintf(body + used, cap - used, "]}");
    struct wl_error err = WL_ERROR_INIT;
    struct wl_oci_manifest *m = NULL;
    int r = wl_oci_manifest_parse(body, used, NULL, &m, &err);
    free(body);
    size_t got = r == 0 ? m->nentries : 0;
    wl_oci_manifest_free(m);
    wl_error_clear(&err);
    CHECK_INT(r, 0);
    CHECK_INT(got, WL_MANIFEST_MAX_ENTRIES);
}

static void test_oversize_body_refused(void)
{
    size_t len = WL_MANIFEST_MAX_SIZE + 1;
    char *body = malloc(len);
    CHECK(body);
    memset(body, ' ', len);
    body[0] = '{';
    body[len - 1] = '}';
    char *msg = parse_err(body, len, NULL);
    free(body);
    CHECK_STR(msg, "manifest of 4194305 bytes is over the limit of 4194304");
    free(msg);
}

/* pick_wasm: parses body and returns its result. */
static int pick(const char *body, enum wl_wasm_format *fmt, char **layer_digest,
                char **msg)
{
    struct wl_error err = WL_ERROR_INIT;
    const struct wl_oci_descriptor *l = NULL;
    struct wl_oci_manifest *m = parse_ok(body, NULL);
    if (!m)
        return -2;
    int r = wl_oci_manifest_pick_wasm(m, fmt, &l, &err);
    *layer_digest = r == 0 && l ? strdup(l->digest) : NULL;
    *msg = err.msg;
    wl_oci_manifest_free(m);
    return r;
}

static void test_pick_wasm_krustlet_format(void)
{
    static const char body[] = "{\"schemaVersion\":2,\"config\":" DESC(
        WL_MT_WASM_CONFIG_V1, D1, 2) ",\"layers\":[" DESC(WL_MT_WASM_LAYER_V1,
                                                          D2, 1024) "]}";
    enum wl_wasm_format fmt = WL_WASM_FORMAT_IMAGE;
    char *dg = NULL, *msg = NULL;
    int r = pick(body, &fmt, &dg, &msg);
    free(msg);
    CHECK_INT(r, 0);
    CHECK_INT(fmt, WL_WASM_FORMAT_KRUSTLET);
    CHECK_STR(dg, D2);
    free(dg);
}

static void test_pick_wasm_artifact_format(void)
{
    static const char body[] =
        "{\"schemaVersion\":2,\"mediaType\":\"" WL_MT_OCI_MANIFEST "\","
        "\"artifactType\":\"application/wasm\",\"config\":" DESC(
            WL_MT_WASM_CONFIG_V0, D1,
            2) ",\"layers\":[" DESC("text/plain", D3,
                                    5) "," DESC(WL_MT_WASM, D2, 1024) "]}";
    enum wl_wasm_format fmt = WL_WASM_FORMAT_IMAGE;
    char *dg = NULL, *msg = NULL;
    int r = pick(body, &fmt, &dg, &msg);
    free(msg);
    CHECK_INT(r, 0);
    CHECK_INT(fmt, WL_WASM_FORMAT_ARTIFACT);
    CHECK_STR(dg, D2);
    free(dg);
}

static void test_pick_wasm_artifact_type_recorded(void)
{
    static const char body[] =
        "{\"schemaVersion\":2,\"artifactType\":\"application/wasm\","
        "\"config\":" DESC("application/vnd.oci.empty.v1+json", D1,
                           2) ",\"layers\":[" DESC(WL_MT_WASM, D2, 1024) "]}";
    struct wl_oci_manifest *m = parse_ok(body, NULL);
    CHECK(m);
    int ok =
        m->artifact_type && strcmp(m->artifact_type, "application/wasm") == 0;
    wl_oci_manifest_free(m);
    CHECK(ok);
}

static void test_pick_wasm_image_format(void)
{
    enum wl_wasm_format fmt = WL_WASM_FORMAT_KRUSTLET;
    char *dg = (char *)"x", *msg = NULL;
    int r = pick(oci_image_no_mt, &fmt, &dg, &msg);
    free(msg);
    CHECK_INT(r, 0);
    CHECK_INT(fmt, WL_WASM_FORMAT_IMAGE);
    CHECK(dg == NULL);
}

static void test_pick_wasm_refuses_non_wasm_manifest(void)
{
    static const char body[] = "{\"schemaVersion\":2,\"config\":" DESC(
        "application/vnd.cncf.helm.config.v1+json", D1,
        2) ",\"layers\":[" DESC("application/"
                                "vnd.cncf.helm.chart.content.v1.tar+gzip",
                                D2, 9) "]}";
    enum wl_wasm_format fmt = WL_WASM_FORMAT_KRUSTLET;
    char *dg = NULL, *msg = NULL;
    int r = pick(body, &fmt, &dg, &msg);
    free(dg);
    CHECK_INT(r, -1);
    CHECK_STR(msg, "not a WebAssembly image: config media type "
                   "\"application/vnd.cncf.helm.config.v1+json\", 1 "
                   "layer(s), the first "
                   "application/vnd.cncf.helm.chart.content.v1.tar+gzip, "
                   "none of type application/wasm or "
                   "application/vnd.wasm.content.layer.v1+wasm");
    free(msg);
}

static void test_pick_wasm_refuses_index(void)
{
    enum wl_wasm_format fmt = WL_WASM_FORMAT_KRUSTLET;
    char *dg = NULL, *msg = NULL;
    int r = pick(oci_index, &fmt, &dg, &msg);
    CHECK_INT(r, -1);
    CHECK_STR(msg, "expected an image manifest, got an index");
    free(msg);
}

static char *config_module(const char *body, int *rc)
{
    struct wl_error err = WL_ERROR_INIT;
    char *path = NULL;
    *rc = wl_oci_image_config_module(body, strlen(body), &path, &err);
    if (*rc < 0)
        return err.msg;
    return path;
}

static void test_config_entrypoint_names_module(void)
{
    int rc;
    char *p =
        config_module("{\"architecture\":\"wasm\",\"os\":\"wasi\",\"config\":{"
                      "\"Entrypoint\":[\"/app/hello.wasm\",\"--flag\"],"
                      "\"Cmd\":[\"other.wasm\"]}}",
                      &rc);
    CHECK_INT(rc, 0);
    CHECK_STR(p, "app/hello.wasm");
    free(p);
}

static void test_config_cmd_used_without_entrypoint(void)
{
    int rc;
    char *p = config_module(
        "{\"architecture\":\"wasm32\",\"os\":\"wasip1\",\"config\":{"
        "\"Env\":[\"PATH=/\"],\"Cmd\":[\"./hello.wasm\"]}}",
        &rc);
    CHECK_INT(rc, 0);
    CHECK_STR(p, "hello.wasm");
    free(p);
}

static void test_config_strips_repeated_root_prefixes(void)
{
    int rc;
    char *p =
        config_module("{\"architecture\":\"wasm\",\"os\":\"wasi\",\"config\":{"
                      "\"Entrypoint\":[\"/./bin/x.wasm\"]}}",
                      &rc);
    CHECK_INT(rc, 0);
    CHECK_STR(p, "bin/x.wasm");
    free(p);
}

static void test_config_linux_amd64_refused(void)
{
    int rc;
    char *msg = config_module(
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{"
        "\"Cmd\":[\"/bin/sh\"]}}",
        &rc);
    CHECK_INT(rc, -1);
    CHECK_STR(msg, "not a WebAssembly image: platform linux/amd64, expected "
                   "wasi/wasm");
    free(msg);
}

static void test_config_without_entrypoint_or_cmd_refused(void)
{
    int rc;
    char *msg =
        config_module("{\"architecture\":\"wasm\",\"os\":\"wasi\",\"config\":{"
                      "\"Env\":[\"A=b\"]}}",
                      &rc);
    CHECK_INT(rc, -1);
    CHECK_STR(msg, "wasm image config names no module in Entrypoint or Cmd");
    free(msg);
}

static void test_config_root_only_entrypoint_refused(void)
{
    int rc;
    char *msg =
        config_module("{\"architecture\":\"wasm\",\"os\":\"wasi\",\"config\":{"
                      "\"Entrypoint\":[\"./\"]}}",
                      &rc);
    CHECK_INT(rc, -1);
    CHECK_STR(msg, "wasm image config names no module in Entrypoint or Cmd");
    free(msg);
}

WL_TEST_MAIN(
    WL_T(test_oci_index_parsed_with_platforms),
    WL_T(test_index_pick_wasm_finds_wasi_wasm),
    WL_T(test_index_pick_wasm_accepts_wasip1_wasm32),
    WL_T(test_index_pick_wasm_error_lists_platforms),
    WL_T(test_docker_manifest_list_is_an_index),
    WL_T(test_manifest_without_media_type_uses_content_type),
    WL_T(test_manifest_without_media_type_inferred_from_shape),
    WL_T(test_index_without_media_type_inferred_from_shape),
    WL_T(test_docker_v2_schema2_manifest), WL_T(test_schema1_refused),
    WL_T(test_unknown_media_type_refused), WL_T(test_bad_layer_digest_refused),
    WL_T(test_bad_config_digest_algorithm_refused),
    WL_T(test_negative_size_refused), WL_T(test_missing_size_refused),
    WL_T(test_missing_media_type_in_descriptor_refused),
    WL_T(test_missing_config_refused), WL_T(test_missing_layers_refused),
    WL_T(test_not_an_object_refused), WL_T(test_too_many_layers_refused),
    WL_T(test_exactly_max_layers_accepted), WL_T(test_oversize_body_refused),
    WL_T(test_pick_wasm_krustlet_format), WL_T(test_pick_wasm_artifact_format),
    WL_T(test_pick_wasm_artifact_type_recorded),
    WL_T(test_pick_wasm_image_format),
    WL_T(test_pick_wasm_refuses_non_wasm_manifest),
    WL_T(test_pick_wasm_refuses_index),
    WL_T(test_config_entrypoint_names_module),
    WL_T(test_config_cmd_used_without_entrypoint),
    WL_T(test_config_strips_repeated_root_prefixes),
    WL_T(test_config_linux_amd64_refused),
    WL_T(test_config_without_entrypoint_or_cmd_refused),
    WL_T(test_config_root_only_entrypoint_refused))
