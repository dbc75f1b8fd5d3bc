/* Publishing a .wasm file as an OCI artifact, so users need no other
 * tool: format (b), the CNCF wasm artifact (config
 * application/vnd.wasm.config.v0+json, artifactType and layer
 * application/wasm), or with krustlet set, format (a) (config
 * application/vnd.wasm.config.v1+json, layer
 * application/vnd.wasm.content.layer.v1+wasm). */
#ifndef WL_OCI_PUSH_H
#define WL_OCI_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/registry.h"
#include "util/error.h"

/* Pushes wasm (len bytes, which must start with the \0asm magic) to image
 * (a reference with a tag) through opts. ret_digest (80 bytes) receives
 * the manifest digest. */
int wl_oci_push(const uint8_t *wasm, size_t len, const char *image,
                bool krustlet, const struct wl_registry_opts *opts,
                char *ret_digest, struct wl_error *err);

#endif
