/* ConfigMaps and Secrets as pods use them (env, envFrom, volumes,
 * imagePullSecrets): fetching one, and the bytes of one key. */
#ifndef WL_POD_OBJECTS_H
#define WL_POD_OBJECTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "kube/client.h"
#include "util/error.h"

/* GETs the ConfigMap (secret false) or Secret name in namespace ns. *ret is
 * the object, or NULL when it does not exist (404, not an error). */
int wl_pod_get_object(struct wl_kube_client *c, const char *ns, bool secret,
                      const char *name, json_t **ret, struct wl_error *err);

/* The bytes of key: a ConfigMap's data (text) or binaryData (base64), a
 * Secret's data (base64). *ret is malloc'd and NUL-terminated (*ret_len
 * bytes before the NUL), or NULL when the key is absent. */
int wl_pod_object_value(const json_t *obj, bool secret, const char *key,
                        char **ret, size_t *ret_len, struct wl_error *err);

#endif
