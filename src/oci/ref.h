/* Image references, parsed as Docker and containerd parse them:
 *
 *   hello                      -> docker.io/library/hello:latest
 *   user/hello:v1              -> docker.io/user/hello:v1
 *   127.0.0.1:5000/demo/x:v1   -> registry 127.0.0.1:5000
 *   localhost/x                -> registry localhost
 *   ghcr.io/o/x@sha256:<hex>   -> digest only (no tag)
 *   ghcr.io/o/x:v1@sha256:<hex>-> tag kept for display, digest wins
 *
 * The first path component is a registry when it contains '.' or ':' or
 * is "localhost" (Docker's rule); otherwise the registry is docker.io and
 * one-component names get "library/".
 */
#ifndef WL_OCI_REF_H
#define WL_OCI_REF_H

#include "util/error.h"

/* Longest reference accepted (Docker's limit on the name is 255; tag and
 * digest come on top). */
#define WL_OCI_REF_MAX_LEN 512

struct wl_oci_ref {
    char *registry;   /* "docker.io", "127.0.0.1:5000", "ghcr.io" */
    char *repository; /* "library/hello", "demo/x" */
    char *tag;        /* "latest" when neither tag nor digest was given;
                         NULL when only a digest was */
    char *digest;     /* "sha256:<64 hex>" or NULL */
};

/* Parses s. Errors quote the input and say what is wrong ("invalid
 * reference \"Foo\": repository name must be lowercase", "... invalid
 * digest", "... tag longer than 128 characters", "... empty"). */
int wl_oci_ref_parse(const char *s, struct wl_oci_ref **ret,
                     struct wl_error *err);

/* Accepts NULL. */
void wl_oci_ref_free(struct wl_oci_ref *ref);

/* The canonical form "registry/repository[:tag][@digest]"; the caller
 * frees it. NULL when out of memory. */
char *wl_oci_ref_string(const struct wl_oci_ref *ref);

/* The host to talk to: "registry-1.docker.io" for docker.io (as Docker
 * does), otherwise the registry itself. Borrowed. */
const char *wl_oci_ref_api_host(const struct wl_oci_ref *ref);

#endif
