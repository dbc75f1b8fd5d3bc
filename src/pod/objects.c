#include "pod/objects.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/cleanup.h"
#include "util/json.h"

int wl_pod_get_object(struct wl_kube_client *c, const char *ns, bool secret,
                      const char *name, json_t **ret, struct wl_error *err)
{
    _cleanup_free_ char *path = NULL;
    long status = 0;
    *ret = NULL;
    if (asprintf(&path, "/api/v1/namespaces/%s/%s/%s", ns,
                 secret ? "secrets" : "configmaps", name) < 0)
        return wl_error_set(err, ENOMEM, "get %s", name);
    if (wl_kube_request(c, "GET", path, NULL, NULL, ret, &status, err) == 0)
        return 0;
    if (status == 404) {
        wl_error_clear(err);
        return 0;
    }
    return -1;
}

int wl_pod_object_value(const json_t *obj, bool secret, const char *key,
                        char **ret, size_t *ret_len, struct wl_error *err)
{
    const char *v = wl_json_str(obj, "data", key, NULL);
    *ret = NULL;
    if (v && !secret) {
        *ret_len = strlen(v);
        if (!(*ret = strdup(v)))
            return wl_error_set(err, ENOMEM, "key %s", key);
        return 0;
    }
    if (!v && !secret)
        v = wl_json_str(obj, "binaryData", key, NULL);
    if (!v)
        return 0;
    return wl_base64_decode(v, strlen(v), key, ret, ret_len, err);
}
