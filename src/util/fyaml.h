/* Loading YAML with libfyaml behind the project's guards, and reading its
 * scalars: shared by the kubeconfig and the config file parsers.
 *
 * The text is checked and normalized before libfyaml sees it (UTF-8,
 * printable, no tabs, LF line breaks), which keeps inputs away from
 * libfyaml 0.7.12 bugs a fuzzer finds within minutes (see fyaml.c), and
 * libfyaml's diagnostics are collected, never printed.
 */
#ifndef WL_UTIL_FYAML_H
#define WL_UTIL_FYAML_H

#include <libfyaml.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/* A parsed document and the text its node marks index into. */
struct wl_fyaml {
    char *text; /* the normalized text libfyaml parsed, NUL-terminated */
    size_t len;
    struct fy_diag *diag;
    struct fy_document *doc; /* destroyed before diag */
};

/* Parses len bytes of yaml (not necessarily NUL-terminated) into *ret,
 * which the caller clears with wl_fyaml_clear(). what names the input in
 * messages ("kubeconfig is empty"). Fails with "invalid YAML: line L,
 * column C: ..." for text libfyaml refuses or that is not valid UTF-8 /
 * contains tabs or control characters, "<what> is empty" for a stream
 * without a document. *ret is written only on success. */
int wl_fyaml_load(const char *yaml, size_t len, const char *what,
                  struct wl_fyaml *ret, struct wl_error *err);

/* The checks and normalization wl_fyaml_load() does before libfyaml sees
 * the text, for callers that drive a libfyaml parser themselves (util/yaml.c
 * reads multi-document streams): checks
 * that yaml is UTF-8 text of YAML-printable characters without tabs and
 * copies it to *ret (NUL-terminated, *ret_len bytes; the caller frees it)
 * with every line break made LF. what names the input in messages. */
int wl_fyaml_prepare(const char *yaml, size_t len, const char *what, char **ret,
                     size_t *ret_len, struct wl_error *err);

/* A libfyaml diag that collects errors and prints nothing, for
 * fy_parse_cfg.diag; NULL when out of memory. fy_diag_destroy() frees it
 * (after every document built with it). */
struct fy_diag *wl_fyaml_diag_new(void);

/* Sets err from the first error diag collected ("invalid YAML: line L,
 * column C: ..."), or to "<what> is empty" when there is none (libfyaml
 * fails silently on a stream without a document). Returns -1. */
int wl_fyaml_diag_error(struct fy_diag *diag, const char *what,
                        struct wl_error *err);

/* Frees what y holds. Accepts a zeroed struct. */
void wl_fyaml_clear(struct wl_fyaml *y);

/* Whether n is absent or a plain null ("", ~, null): client-go
 * unmarshals through JSON, where null is the Go zero value, "not set". */
bool wl_fyaml_is_unset(struct fy_node *n);

/* The text of scalar n and its length: in the document, or in *tmp, which
 * the caller frees. NULL when out of memory. Use this, not
 * fy_node_get_scalar(), for anything that may be single-quoted. */
const char *wl_fyaml_scalar(const struct wl_fyaml *y, struct fy_node *n,
                            size_t *len, char **tmp);

/* The value of key in mapping map (NULL when absent), keys compared by
 * their decoded text. */
struct fy_node *wl_fyaml_map_get(const struct wl_fyaml *y, struct fy_node *map,
                                 const char *key);

/* A plain scalar n as a boolean as sigs.k8s.io/yaml reads one (YAML 1.1:
 * true/yes/on/y and false/no/off/n in their three cases). Returns 0 and
 * writes *ret, or -1 (err untouched) when n is not one. */
int wl_fyaml_bool(struct fy_node *n, bool *ret);

/* The 1-based line where n starts (for a scalar; 0 when unknown). */
int wl_fyaml_line(struct fy_node *n);

#endif
