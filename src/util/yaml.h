/* YAML text to jansson values, for manifests a user writes (static pods):
 * every document of a stream, typed as JSON would carry it.
 *
 *     json_t *docs = NULL;
 *     if (wl_yaml_to_json(text, len, &docs, &err) < 0)
 *         ... err.msg: "invalid YAML: line 3, column 7: ..."
 *     json_array_foreach(docs, i, doc) ...
 *     json_decref(docs);
 *
 * Scalars are typed by the YAML 1.2 core schema, only when plain (quoted
 * and block scalars are strings): null (null, Null, NULL, ~, empty), bool
 * (true/false in three cases), int (decimal, 0o octal, 0x hex), float
 * (with .inf / .nan refused: JSON has no such numbers); "!!str" forces a
 * string. Mapping keys must be scalars and become strings; a duplicate
 * key is an error; "<<" is a key like any other (merge keys are YAML 1.1).
 * Anchors and aliases are expanded, at most WL_YAML_MAX_NODES values in
 * all (an alias counts every value it copies),
 * so a "billion laughs" document fails instead of eating memory; nesting
 * is bounded by WL_YAML_MAX_DEPTH. The text goes through wl_fyaml's checks
 * first (UTF-8, no tabs, no control characters).
 */
#ifndef WL_UTIL_YAML_H
#define WL_UTIL_YAML_H

#include <jansson.h>
#include <stddef.h>

#include "util/error.h"

#define WL_YAML_MAX_SIZE (4u * 1024 * 1024) /* bytes of text */
#define WL_YAML_MAX_NODES 1000000           /* values made, aliases included */
#define WL_YAML_MAX_DEPTH 64                /* nested collections */

/* Parses len bytes of yaml (NUL not needed) into *ret, a new JSON array
 * with one value per document (empty or null documents, "---" with
 * nothing after, are skipped; a stream of only comments gives an empty
 * array). Fails
 * with a message naming the line and column where one is known:
 * "invalid YAML: line L, column C: ...". *ret is written only on
 * success; the caller decrefs it. */
int wl_yaml_to_json(const char *yaml, size_t len, json_t **ret,
                    struct wl_error *err);

#endif
