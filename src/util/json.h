/* JSON from outside (the API server, registries) through jansson, with the
 * limits jansson does not impose itself. */
#ifndef WL_UTIL_JSON_H
#define WL_UTIL_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "util/error.h"

/* Deepest nesting accepted. Kubernetes objects nest about 15 deep (a pod's
 * affinity terms); 64 leaves room and stops stack-heavy hostile input. */
#define WL_JSON_MAX_DEPTH 64

/* Parses len bytes as one JSON value, refusing input nested deeper than
 * max_depth before jansson sees it. The caller owns *ret (json_decref). */
int wl_json_parse(const char *buf, size_t len, unsigned max_depth,
                  json_t **ret, struct wl_error *err);

/* Serialises v compactly; the caller frees the string. NULL when out of
 * memory. */
char *wl_json_dump(const json_t *v);

/* The string at a path of object keys, e.g. wl_json_str(o, "metadata",
 * "name", NULL); NULL when any step is missing or not the right type.
 * Borrowed: valid while o is. */
const char *wl_json_str(const json_t *o, ...) __attribute__((sentinel));

/* The object/array/any value at a path of keys, borrowed; NULL if absent. */
json_t *wl_json_get(const json_t *o, ...) __attribute__((sentinel));

#endif
