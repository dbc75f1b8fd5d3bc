/* OCI / Docker manifests, indexes and image configs, decoded from JSON
 * with every field checked, and the choice of which blob is the module.
 *
 * wasm modules are published three ways, all accepted:
 *   (a) Krustlet / wasm-to-oci: config application/vnd.wasm.config.v1+json,
 *       layer application/vnd.wasm.content.layer.v1+wasm;
 *   (b) the CNCF wasm artifact: config application/vnd.wasm.config.v0+json
 *       (or artifactType application/wasm), layer application/wasm;
 *   (c) an OCI/Docker image for platform wasi/wasm (or wasip1/wasm) whose
 *       tar(.gz) layer holds the .wasm named by the config's Entrypoint or
 *       Cmd.
 */
#ifndef WL_OCI_MANIFEST_H
#define WL_OCI_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define WL_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define WL_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define WL_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define WL_MT_DOCKER_LIST                                                      \
    "application/vnd.docker.distribution.manifest.list.v2+json"
#define WL_MT_DOCKER_MANIFEST                                                  \
    "application/vnd.docker.distribution.manifest.v2+json"
#define WL_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define WL_MT_WASM_CONFIG_V1 "application/vnd.wasm.config.v1+json"
#define WL_MT_WASM_LAYER_V1 "application/vnd.wasm.content.layer.v1+wasm"
#define WL_MT_WASM_CONFIG_V0 "application/vnd.wasm.config.v0+json"
#define WL_MT_WASM "application/wasm"

/* What the registry is asked for, in our order of preference. */
#define WL_MANIFEST_ACCEPT                                                     \
    WL_MT_OCI_INDEX ", " WL_MT_OCI_MANIFEST ", " WL_MT_DOCKER_LIST             \
                    ", " WL_MT_DOCKER_MANIFEST

/* Largest manifest, index or image config accepted. */
#define WL_MANIFEST_MAX_SIZE (4u * 1024 * 1024)
/* Most layers or index entries accepted. */
#define WL_MANIFEST_MAX_ENTRIES 1024

struct wl_oci_descriptor {
    char *media_type;
    char *digest;
    int64_t size;
    char *os;           /* index entries only; NULL otherwise */
    char *architecture; /* index entries only */
};

enum wl_manifest_kind {
    WL_MANIFEST_INDEX, /* OCI index or Docker manifest list */
    WL_MANIFEST_IMAGE, /* OCI image manifest or Docker v2 schema 2 */
};

struct wl_oci_manifest {
    enum wl_manifest_kind kind;
    char *media_type;
    char *artifact_type;              /* NULL when absent */
    struct wl_oci_descriptor config;  /* images only */
    struct wl_oci_descriptor *entries; /* layers, or the index's manifests */
    size_t nentries;
};

/* Decodes a manifest or index. content_type is the registry's Content-Type
 * header (may be NULL); the body's own mediaType wins when present. */
int wl_oci_manifest_parse(const char *body, size_t len,
                          const char *content_type,
                          struct wl_oci_manifest **ret, struct wl_error *err);
void wl_oci_manifest_free(struct wl_oci_manifest *m);

/* The index entry for a wasm platform (os wasi or wasip1, architecture
 * wasm or wasm32). Borrowed from idx. The error lists the platforms found. */
int wl_oci_index_pick_wasm(const struct wl_oci_manifest *idx,
                           const struct wl_oci_descriptor **ret,
                           struct wl_error *err);

enum wl_wasm_format {
    WL_WASM_FORMAT_KRUSTLET, /* (a) */
    WL_WASM_FORMAT_ARTIFACT, /* (b) */
    WL_WASM_FORMAT_IMAGE,    /* (c): see wl_oci_image_config_parse */
};

/* Recognises how an image manifest carries its module. For (a) and (b)
 * *ret_layer is the module's layer; for (c) it is NULL and the caller reads
 * the config. Anything else is an error saying what was found. */
int wl_oci_manifest_pick_wasm(const struct wl_oci_manifest *m,
                              enum wl_wasm_format *ret_format,
                              const struct wl_oci_descriptor **ret_layer,
                              struct wl_error *err);

/* From an image config (format (c)): its platform must be wasi/wasm (or
 * wasip1, wasm32), and the module is the first of Entrypoint, else Cmd.
 * *ret_path (caller frees) is that path without leading "/" or "./". */
int wl_oci_image_config_module(const char *body, size_t len, char **ret_path,
                               struct wl_error *err);

#endif
