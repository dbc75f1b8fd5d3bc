/* libFuzzer target: a static pod manifest file (`wasmlet run POD.yaml`,
 * serve's --pod-manifest-path) through the whole loader: YAML/JSON
 * documents, Lists, the strict field check, the pod spec parser and
 * admission, what standalone mode refuses, image resolution. It must load
 * pods or fail with a message naming the file, never crash or leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pod/standalone.h"

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0]) {
        char dir[] = "/tmp/fuzz_static_pod.XXXXXX";
        if (!mkdtemp(dir))
            abort();
        snprintf(path, sizeof(path), "%s/pod.yaml", dir);
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();

    struct wl_static_pods pods = {0};
    struct wl_static_pod_opts opts = {.strict = size % 2 == 0,
                                      .node_name = "fuzz-node"};
    struct wl_error err = WL_ERROR_INIT;
    if (wl_static_pods_load(path, &opts, &pods, &err) < 0) {
        if (!err.msg || !strstr(err.msg, "pod.yaml"))
            abort(); /* every refusal names the file */
        wl_error_clear(&err);
        return 0;
    }
    for (size_t i = 0; i < pods.n; i++)
        if (!pods.v[i].obj || !pods.v[i].spec)
            abort();
    wl_static_pods_clear(&pods);
    return 0;
}
