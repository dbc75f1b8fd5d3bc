/* A client for one registry host speaking the OCI distribution API:
 * manifests and blobs, pull and push, with the auth schemes registries
 * use: anonymous, Basic, and the Bearer token flow announced by
 * WWW-Authenticate (realm, service, scope), tokens cached until they
 * expire. HTTPS with verification unless the host is configured insecure
 * (plain HTTP, for local registries).
 *
 * One wl_registry belongs to one thread (one curl handle, its token cache).
 */
#ifndef WL_OCI_REGISTRY_H
#define WL_OCI_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/manifest.h"
#include <stdatomic.h>

#include "oci/store.h"
#include "util/error.h"

#define WL_MANIFEST_BODY_MAX WL_MANIFEST_MAX_SIZE
#define WL_REGISTRY_MANIFEST_ACCEPT WL_MANIFEST_ACCEPT

struct wl_registry_opts {
    bool insecure;        /* plain http:// (--insecure-registries) */
    const char *ca_file;  /* extra CA bundle for this host, or NULL */
    const char *username; /* Basic credentials, or NULL for anonymous */
    const char *password;
    /* when it becomes true, a transfer in progress is abandoned (within a
     * second) and fails; may be NULL. Must outlive the registry. */
    const atomic_bool *cancel;
};

struct wl_registry;

/* host is "registry:port" as an image reference names it (use
 * wl_oci_ref_api_host). opts' strings are copied. */
int wl_registry_new(const char *host, const struct wl_registry_opts *opts,
                    struct wl_registry **ret, struct wl_error *err);
void wl_registry_free(struct wl_registry *r);

/* GET /v2/, as Docker does before anything else: a 200 or 401 answer
 * means the host speaks the distribution API (and a Basic challenge is
 * remembered); anything else is an error saying the host does not look
 * like an OCI registry. */
int wl_registry_ping(struct wl_registry *r, struct wl_error *err);

/* Fetches the manifest (or index) reference (a tag or a digest) of repo.
 * The body's sha256 is checked against the digest asked for, or against
 * the registry's Docker-Content-Digest header. On success the caller owns
 * *ret_body (NUL-terminated) and *ret_content_type; ret_digest receives
 * "sha256:<hex>" (80 bytes). */
int wl_registry_get_manifest(struct wl_registry *r, const char *repo,
                             const char *reference, char **ret_body,
                             size_t *ret_len, char **ret_content_type,
                             char *ret_digest, struct wl_error *err);

/* Called during a blob download at most every WL_PROGRESS_INTERVAL_S with
 * the bytes received so far and the expected total (0 if unknown). */
#define WL_PROGRESS_INTERVAL_S 5
typedef void (*wl_progress_fn)(void *userdata, const char *digest,
                               uint64_t now, uint64_t total);

/* Downloads blob digest of repo into store (at most max bytes), verified.
 * A blob already in the store is not downloaded again. progress may be
 * NULL. */
int wl_registry_get_blob(struct wl_registry *r, const char *repo,
                         const char *digest, uint64_t max,
                         struct wl_store *store, wl_progress_fn progress,
                         void *progress_data, struct wl_error *err);

/* Uploads len bytes as a blob of repo (monolithic POST + PUT), unless the
 * registry already has that digest. */
int wl_registry_push_blob(struct wl_registry *r, const char *repo,
                          const void *data, size_t len, struct wl_error *err);

/* PUTs a manifest under tag; ret_digest (80 bytes) gets its digest. */
int wl_registry_put_manifest(struct wl_registry *r, const char *repo,
                             const char *tag, const char *media_type,
                             const char *body, size_t len, char *ret_digest,
                             struct wl_error *err);

/* How many HTTP requests were sent, and how many blob downloads were
 * started (for tests and the single-download guarantee). */
unsigned wl_registry_requests(const struct wl_registry *r);

#endif
