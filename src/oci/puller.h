/* Pulling a wasm module for an image reference: resolve the reference,
 * authenticate, fetch the manifest (through an index when there is one),
 * find the module in whichever of the three wasm formats the image uses
 * (see oci/manifest.h), download and verify every blob into the content
 * store, and remember what the reference resolved to.
 *
 * A puller is shared by the pull workers: wl_puller_pull may run on many
 * threads at once. Each call makes its own registry client; downloads of
 * one blob are shared (single flight), so two pods with the same image
 * cause one download.
 */
#ifndef WL_OCI_PULLER_H
#define WL_OCI_PULLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/registry.h"
#include "oci/store.h"
#include "util/error.h"

/* Largest module accepted (layer or extracted file). */
#define WL_MODULE_MAX_BYTES (256ull * 1024 * 1024)
/* Largest image layer read for format (c). */
#define WL_LAYER_MAX_BYTES (1024ull * 1024 * 1024)

struct wl_puller_config {
    const char *store_dir;
    const char *const *insecure; /* hosts spoken to over plain HTTP */
    size_t ninsecure;
    const char *certs_dir; /* <certs_dir>/<host>/ca.crt trusted for host;
                              NULL: system CAs only */
    const char *auth_file; /* node-level Docker config, or NULL */
    wl_progress_fn progress; /* long downloads report here; may be NULL */
    void *progress_data;
};

enum wl_pull_policy {
    WL_PULL_ALWAYS,
    WL_PULL_IF_NOT_PRESENT,
    WL_PULL_NEVER,
};

/* Kubernetes' default: Always for ":latest" or no tag, IfNotPresent
 * otherwise (digests included). */
enum wl_pull_policy wl_pull_policy_default(const char *image);

/* "Always", "IfNotPresent", "Never" -> policy; -1 for anything else. */
int wl_pull_policy_parse(const char *s, enum wl_pull_policy *ret);

/* Credentials for one pull (from the pod's imagePullSecrets): Docker
 * config documents tried in order, before the node-level file. */
struct wl_pull_auth {
    const char *const *docker_configs;
    const size_t *docker_config_lens;
    size_t n;
};

struct wl_pull_result {
    char *image_id;      /* "registry/repo@sha256:<manifest>" (status.imageID) */
    char *module_digest; /* "sha256:<hex>" of the .wasm */
    char *module_path;   /* the verified module in the store */
    uint64_t module_size;
    uint64_t downloaded; /* bytes fetched by this call (0: all cached) */
    bool cached;         /* resolved without contacting the registry */
};

struct wl_puller;

int wl_puller_new(const struct wl_puller_config *cfg, struct wl_puller **ret,
                  struct wl_error *err);
void wl_puller_free(struct wl_puller *p);

/* Abandons every transfer in progress, within about a second, and fails
 * every pull that needs the registry from then on (those already in the
 * store still succeed): a stopping daemon must not wait for a stalled
 * registry. Any thread. */
void wl_puller_cancel(struct wl_puller *p);

/* Pulls image under policy. Errors say which step failed and why
 * ("pull 127.0.0.1:5000/x:v1: manifest v1: HTTP 404 MANIFEST_UNKNOWN: ...",
 * "...: not a WebAssembly image: ...", "...: digest mismatch: ..."); with
 * Never and nothing stored: "... is not present and the pull policy is
 * Never". */
int wl_puller_pull(struct wl_puller *p, const char *image,
                   enum wl_pull_policy policy, const struct wl_pull_auth *auth,
                   struct wl_pull_result *ret, struct wl_error *err);

void wl_pull_result_clear(struct wl_pull_result *r);

/* Adds to *keep (a growing array of malloc'd digests, *nkeep entries)
 * every blob image uses in the store: its manifest (and the index entry it
 * resolved to), config, layers and module. An image never pulled adds
 * nothing. For garbage collection: keep what the pods use, drop the rest. */
int wl_puller_image_blobs(struct wl_puller *p, const char *image,
                          char ***keep, size_t *nkeep, struct wl_error *err);

/* The store, for garbage collection by its owner. */
struct wl_store *wl_puller_store(struct wl_puller *p);

/* Blob downloads started since the puller was made (tests use it to
 * check that concurrent pulls share one download). */
unsigned wl_puller_downloads(const struct wl_puller *p);

#endif
