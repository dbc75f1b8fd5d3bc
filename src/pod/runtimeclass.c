/* RuntimeClass lookup and wasmlet's handler names; see pod/runtimeclass.h. */
#include "pod/runtimeclass.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/json.h"

static const char *const handlers[] = {"wasmtime", "wasmlet"};

bool wl_runtime_handler_supported(const char *handler)
{
    for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
        if (handler && strcmp(handler, handlers[i]) == 0)
            return true;
    return false;
}

/* containerd's words for a handler it does not have, which is what a
 * kubelet's FailedCreatePodSandBox Event shows then. */
static int no_runtime(const char *handler, struct wl_error *err)
{
    return wl_error_set(err, 0,
                        "no runtime for \"%s\" is configured (wasmlet's "
                        "handlers are wasmtime and wasmlet)",
                        handler);
}

int wl_runtime_class_check(struct wl_kube_client *client, const char *name,
                           struct wl_error *err)
{
    if (!client)
        return wl_runtime_handler_supported(name) ? 0 : no_runtime(name, err);

    _cleanup_free_ char *path = NULL;
    json_t *rc = NULL;
    long status = 0;
    if (asprintf(&path, "/apis/node.k8s.io/v1/runtimeclasses/%s", name) < 0)
        return wl_error_set(err, ENOMEM, "runtimeclass %s", name);
    if (wl_kube_request(client, "GET", path, NULL, NULL, &rc, &status, err) <
        0) {
        if (status != 404)
            return -1;
        wl_error_clear(err);
        /* apimachinery's NotFound, as the kubelet's lister returns it */
        return wl_error_set(
            err, 0, "runtimeclasses.node.k8s.io \"%s\" not found", name);
    }
    const char *handler = wl_json_str(rc, "handler", NULL);
    int r = wl_runtime_handler_supported(handler)
                ? 0
                : no_runtime(handler ? handler : "", err);
    json_decref(rc);
    return r;
}
