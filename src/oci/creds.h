/* Registry credentials from Docker config files: a node-level file
 * (~/.docker/config.json layout) and the contents of pod imagePullSecrets
 * of type kubernetes.io/dockerconfigjson ({"auths": {...}}) or
 * kubernetes.io/dockercfg (the older top-level map). */
#ifndef WL_OCI_CREDS_H
#define WL_OCI_CREDS_H

#include <stddef.h>

#include "util/error.h"

#define WL_CREDS_MAX_SIZE (1024 * 1024)

/* Finds credentials for registry host (e.g. "127.0.0.1:25001",
 * "docker.io") in a Docker config document. Keys may be bare hosts or URLs
 * ("https://index.docker.io/v1/"); docker.io, index.docker.io and
 * registry-1.docker.io are one registry. An entry gives "auth"
 * (base64 of user:password) or "username" and "password".
 * Returns 1 and sets *ret_user and *ret_pass (caller frees, wiping the
 * password) when found, 0 when the document has nothing for host, -1 when
 * the document is malformed. */
int wl_creds_lookup(const char *json, size_t len, const char *host,
                    char **ret_user, char **ret_pass, struct wl_error *err);

#endif
