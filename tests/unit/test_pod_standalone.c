/* Loading static pod manifests (src/pod/standalone.c): formats, strict
 * field checking, standalone admission, images. Nothing runs here; the
 * e2e test tests/e2e/test_standalone.py runs pods. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pod/standalone.h"
#include "test.h"

static char dir[] = "/tmp/wl-test-standalone-XXXXXX";

/* Writes text to dir/name; returns the path (static buffer). */
static const char *put(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
    return path;
}

/* Loads text as dir/name; returns NULL when it loads (pods in *pods),
 * else the error message (caller frees). */
static char *load(const char *name, const char *text, bool strict,
                  struct wl_static_pods *pods)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_static_pod_opts o = {.strict = strict, .node_name = "node-1"};
    const char *path = put(name, text);
    if (wl_static_pods_load(path, &o, pods, &err) == 0)
        return NULL;
    /* the message without the directory, for exact comparisons */
    char *msg = strdup(err.msg + strlen(dir) + 1);
    wl_error_clear(&err);
    return msg;
}

#define POD(spec)                                                              \
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: " spec "\n"

/* Loading text (strict) as name fails with exactly want. */
#define CHECK_REFUSED(name, text, want)                                        \
    do {                                                                       \
        struct wl_static_pods pods_ = {0};                                     \
        char *e_ = load(name, text, true, &pods_);                             \
        int same_ = e_ && strcmp(e_, want) == 0;                               \
        if (!same_)                                                            \
            fprintf(stderr, "  got: %s\n", e_ ? e_ : "(loaded)");              \
        free(e_);                                                              \
        wl_static_pods_clear(&pods_);                                          \
        CHECK(same_);                                                          \
    } while (0)

static void test_wasm_magic_tells_modules_from_manifests(void)
{
    CHECK(wl_static_is_wasm("\0asm\1\0\0\0", 8));
    CHECK(!wl_static_is_wasm("\0as", 3));
    CHECK(!wl_static_is_wasm("apiVersion: v1", 14));
}

static void test_pod_loads_with_uid_node_name_and_absolute_image(void)
{
    struct wl_static_pods pods = {0};
    char path[256];
    snprintf(path, sizeof(path), "%s/m.wasm", dir);
    FILE *f = fopen(path, "w"); /* not put(): the magic has a NUL */
    if (!f)
        abort();
    fwrite("\0asm\1\0\0\0", 1, 8, f);
    fclose(f);
    char *e = load("ok.yaml", POD("{containers: [{name: c, image: m.wasm}]}"),
                   true, &pods);
    CHECK(e == NULL);
    CHECK_INT(pods.n, 1);
    const json_t *pod = pods.v[0].obj;
    const json_t *c = json_array_get(
        json_object_get(json_object_get(pod, "spec"), "containers"), 0);
    CHECK_STR(json_string_value(json_object_get(c, "image")), path);
    CHECK_STR(json_string_value(
                  json_object_get(json_object_get(pod, "spec"), "nodeName")),
              "node-1");
    CHECK_INT(strlen(pods.v[0].spec->uid), 36);
    CHECK_STR(pods.v[0].spec->namespace_, "default");
    wl_static_pods_clear(&pods);
}

static void test_unknown_field_is_named_by_path(void)
{
    CHECK_REFUSED("u.yaml",
                  POD("{containers: [{name: c, image: /x.wasm, "
                      "env: [{name: A, valu: b}]}]}"),
                  "u.yaml: pod \"p\": spec.containers[0].env[0].valu: "
                  "unknown field");
}

static void test_not_strict_lets_unknown_fields_pass(void)
{
    struct wl_static_pods pods = {0};
    char *e = load("n.yaml",
                   POD("{containers: [{name: c, image: registry/x:v1, "
                       "colour: blue}]}"),
                   false, &pods);
    CHECK(e == NULL);
    CHECK_INT(pods.n, 1);
    wl_static_pods_clear(&pods);
}

static void test_list_documents_and_their_errors(void)
{
    struct wl_static_pods pods = {0};
    char *e = load("l.yaml",
                   "apiVersion: v1\nkind: List\nitems:\n"
                   "- "
                   "{apiVersion: v1, kind: Pod, metadata: {name: a}, "
                   "spec: {containers: [{name: c, image: r/x:v1}]}}\n"
                   "---\n" POD("{containers: [{name: c, image: r/x:v1}]}"),
                   true, &pods);
    CHECK(e == NULL);
    CHECK_INT(pods.n, 2);
    wl_static_pods_clear(&pods);
    CHECK_REFUSED("d.yaml",
                  POD("{containers: []}") "---\nkind: Service\n"
                                          "apiVersion: v1\n",
                  "d.yaml: pod \"p\": spec.containers: a pod needs at least "
                  "one container");
    CHECK_REFUSED("s.yaml", "kind: Service\napiVersion: v1\n---\n- 1\n",
                  "s.yaml: document 1: v1 Service is not a Pod: wasmlet run "
                  "runs v1 Pods");
}

static void test_api_server_features_are_refused(void)
{
    CHECK_REFUSED(
        "k.yaml",
        POD("{containers: [{name: c, image: r/x:v1, env: [{name: "
            "T, valueFrom: {secretKeyRef: {name: s, key: k}}}]}]}"),
        "k.yaml: pod \"p\": spec.containers[0].env[0].valueFrom."
        "secretKeyRef (T): needs an API server, and wasmlet run has none");
    CHECK_REFUSED("ips.yaml",
                  POD("{imagePullSecrets: [{name: s}], containers: [{name: "
                      "c, image: r/x:v1}]}"),
                  "ips.yaml: pod \"p\": spec.imagePullSecrets: needs an API "
                  "server, and wasmlet run has none");
    CHECK_REFUSED("side.yaml",
                  POD("{initContainers: [{name: s, image: r/x:v1, "
                      "restartPolicy: Always}], containers: [{name: c, "
                      "image: r/x:v1}]}"),
                  "side.yaml: pod \"p\": spec.initContainers[0]."
                  "restartPolicy: sidecar containers are not supported by "
                  "wasmlet run");
}

static void test_missing_image_file_is_named(void)
{
    char want[300];
    snprintf(want, sizeof(want),
             "img.yaml: pod \"p\": spec.containers[0].image: %s/./no.wasm: "
             "No such file or directory",
             dir);
    CHECK_REFUSED("img.yaml",
                  POD("{containers: [{name: c, image: ./no.wasm}]}"), want);
}

int main(void)
{
    wl_test_tmpdir(dir);
    static const struct wl_test tests[] = {
        WL_T(test_wasm_magic_tells_modules_from_manifests),
        WL_T(test_pod_loads_with_uid_node_name_and_absolute_image),
        WL_T(test_unknown_field_is_named_by_path),
        WL_T(test_not_strict_lets_unknown_fields_pass),
        WL_T(test_list_documents_and_their_errors),
        WL_T(test_api_server_features_are_refused),
        WL_T(test_missing_image_file_is_named),
    };
    return wl_test_run_all(tests, sizeof(tests) / sizeof(tests[0]));
}
