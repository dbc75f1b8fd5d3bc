/* The configuration file of `wasmlet serve --config FILE`: a
 * KubeletConfiguration (kubelet.config.k8s.io/v1beta1) of which wasmlet
 * reads the fields that mean the same as its own flags, plus wasmlet-only
 * settings under the top-level key `wasmlet:`. docs/configuration.md is
 * the reference for every key.
 *
 * This module only reads the YAML and checks keys and types; each setting
 * is handed to a callback as the flag it stands for and a string value, so
 * the values are checked by the same code as flags and variables.
 */
#ifndef WL_CONFIG_FILE_H
#define WL_CONFIG_FILE_H

#include <stddef.h>

#include "util/error.h"

/* The largest config file read. */
#define WL_CONFIG_FILE_MAX_SIZE (1 << 20)

/* Receives one setting: flag is the long option it stands for ("port"),
 * value its value as a flag would carry it (lists comma-joined, a mapping
 * as k=v,...; booleans "true"/"false"), what the place for messages
 * ("wasmlet.yaml:7: port"). Returns 0, or -1 with err set. */
typedef int wl_config_file_set_fn(void *ctx, const char *flag,
                                  const char *value, const char *what,
                                  struct wl_error *err);

/* Parses len bytes of yaml (source names it in messages, e.g. its path)
 * and calls set for every key that is set, in the file's order. Fails on
 * invalid YAML, a wrong apiVersion or kind, an unknown key or a value of
 * the wrong type, with a message naming source, line and key path:
 * "wasmlet.yaml:7: authentication.webhook.enabled: expected a boolean".
 * A null value leaves the setting alone. */
int wl_config_file_parse(const char *yaml, size_t len, const char *source,
                         wl_config_file_set_fn *set, void *ctx,
                         struct wl_error *err);

#endif
