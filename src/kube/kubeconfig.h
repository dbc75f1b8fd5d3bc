/* Kubeconfig files: where the API server is and how to authenticate to it.
 *
 * The format is client-go's clientcmd v1 Config: lists `clusters`, `users`
 * and `contexts` of {name, cluster|user|context} entries, and
 * `current-context`. One context is picked and resolved into a flat
 * struct wl_kubeconfig with everything read into memory: file references
 * (certificate-authority, client-certificate, client-key, tokenFile) are
 * loaded and the *-data fields base64-decoded.
 *
 * What wasmlet cannot honour is refused rather than ignored, so that a
 * kubeconfig never means something weaker than what it says:
 * `insecure-skip-tls-verify: true`, `exec` and `auth-provider` credential
 * plugins, basic auth (username/password), impersonation (`as*`) and
 * `proxy-url`. Several files are never merged (client-go merges the files
 * of $KUBECONFIG; we read the first one only).
 *
 * The YAML must be UTF-8 (as go-yaml requires too) and, unlike YAML in
 * general, contain no tab characters: libfyaml 0.7, which parses it, crashes
 * on some tabs (see yaml_prepare() in kubeconfig.c for this and the other
 * libfyaml bugs worked around).
 *
 *     struct wl_error err = WL_ERROR_INIT;
 *     struct wl_kubeconfig *kc = NULL;
 *     if (wl_kubeconfig_load(NULL, NULL, &kc, &err) < 0) {
 *         log_error("kubeconfig: %s", err.msg);
 *         wl_error_clear(&err);
 *         return -1;
 *     }
 *     ... connect to kc->server ...
 *     wl_kubeconfig_free(kc);
 */
#ifndef WL_KUBE_KUBECONFIG_H
#define WL_KUBE_KUBECONFIG_H

#include <stddef.h>

#include "util/error.h"

/* Largest kubeconfig accepted; bigger files are refused unread. */
#define WL_KUBECONFIG_MAX_SIZE (1024 * 1024)

/* Largest file a kubeconfig may refer to (CA, certificate, key, token). */
#define WL_KUBECONFIG_MAX_REF_SIZE (1024 * 1024)

/* One resolved context. Every string is malloc'd, NUL-terminated and owned
 * by the struct; the PEM buffers also carry their length (a NUL byte after
 * the data, not counted). Optional fields are NULL when not set; an empty
 * string in the file counts as not set, as in client-go. */
struct wl_kubeconfig {
    char *context;         /* the context used */
    char *server;          /* cluster.server, e.g. https://127.0.0.1:6443 */
    char *tls_server_name; /* cluster.tls-server-name or NULL */
    char *ca_pem;          /* certificate-authority(-data) contents;
                              NULL = system CAs */
    size_t ca_pem_len;
    char *cert_pem; /* user client-certificate(-data) contents or NULL */
    size_t cert_pem_len;
    char *key_pem; /* user client-key(-data) contents or NULL */
    size_t key_pem_len;
    char *token;      /* user token, or the contents of tokenFile with
                         surrounding whitespace trimmed (client-go's
                         strings.TrimSpace), or NULL */
    char *namespace_; /* context namespace or NULL */
};

/* Loads the kubeconfig at path and resolves context (NULL or "" means the
 * file's current-context). When path is NULL the file is the first entry of
 * $KUBECONFIG (a colon-separated list; empty entries are skipped) or, when
 * that is unset or empty, $HOME/.kube/config. Only that one file is read:
 * when $KUBECONFIG lists several files and the first lacks the context (or
 * its cluster or user), the error says that merging is not supported.
 *
 * Relative file references are resolved against the kubeconfig's directory,
 * as client-go does. Errors name the file: "open PATH: strerror" when it
 * cannot be read, "PATH: line L, column C: ..." for bad YAML,
 * "context \"x\" not found in PATH", "PATH: ..." for everything else. On
 * success *ret is a new struct the caller frees with wl_kubeconfig_free();
 * on failure *ret is untouched. */
int wl_kubeconfig_load(const char *path, const char *context,
                       struct wl_kubeconfig **ret, struct wl_error *err);

/* Parses len bytes of kubeconfig YAML (no NUL terminator needed) and
 * resolves context like wl_kubeconfig_load(). Relative file references are
 * resolved against base_dir; when base_dir is NULL every file reference is
 * refused with an error naming the field, so untrusted input (the fuzzer)
 * never makes us read files. Messages do not name a file ("context \"x\"
 * not found"). On success *ret is a new struct for wl_kubeconfig_free(); on
 * failure *ret is untouched. */
int wl_kubeconfig_parse(const char *yaml, size_t len, const char *base_dir,
                        const char *context, struct wl_kubeconfig **ret,
                        struct wl_error *err);

/* Frees kc and everything in it. Accepts NULL. */
void wl_kubeconfig_free(struct wl_kubeconfig *kc);

/* Writes a kubeconfig with one cluster, one user and one context, all
 * called name, and current-context set to it. The PEMs are embedded as
 * base64 *-data fields. ca_pem NULL means no certificate-authority-data
 * (system CAs); cert_pem and key_pem are both given or both NULL; token may
 * be NULL. name, server and token must be printable ASCII (they are written
 * as YAML double-quoted strings). The file is written with
 * wl_file_write_atomic() and mode 0600, since it may hold a private key or
 * token. Fails without touching path when an argument is invalid or the
 * result would exceed WL_KUBECONFIG_MAX_SIZE. */
int wl_kubeconfig_write(const char *path, const char *name, const char *server,
                        const char *ca_pem, const char *cert_pem,
                        const char *key_pem, const char *token,
                        struct wl_error *err);

#endif
