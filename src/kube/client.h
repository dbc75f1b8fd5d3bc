/* A Kubernetes REST client over libcurl.
 *
 * One client belongs to one thread: it keeps one curl handle so requests
 * reuse the TLS connection (HTTP/2 when the server offers it). Threads that
 * talk to the API server each make their own client from the same
 * kubeconfig. TLS verification is always on.
 *
 * Requests and responses are JSON (jansson); responses are limited in size
 * (WL_KUBE_MAX_RESPONSE) and nesting depth (WL_JSON_MAX_DEPTH).
 */
#ifndef WL_KUBE_CLIENT_H
#define WL_KUBE_CLIENT_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "kube/kubeconfig.h"
#include "util/error.h"

#define WL_KUBE_MAX_RESPONSE (32u * 1024 * 1024)

/* Content types for PATCH. */
#define WL_KUBE_MERGE_PATCH "application/merge-patch+json"
#define WL_KUBE_STRATEGIC_PATCH "application/strategic-merge-patch+json"

struct wl_kube_client;

/* Makes a client for the cluster and credentials in kc (copied: kc may be
 * freed afterwards). user_agent is sent with every request. */
int wl_kube_client_new(const struct wl_kubeconfig *kc, const char *user_agent,
                       struct wl_kube_client **ret, struct wl_error *err);

/* Accepts NULL. */
void wl_kube_client_free(struct wl_kube_client *c);

/* Credentials shared by threads that may change at run time (the client
 * certificate is rotated): a kubeconfig behind a mutex, and a generation
 * that moves with each replacement, so a thread holding a long-lived
 * client knows when to make a new one. Threads only make clients from it;
 * the kubeconfig itself is never handed out. */
struct wl_kube_creds;

/* Takes ownership of kc. */
int wl_kube_creds_new(struct wl_kubeconfig *kc, struct wl_kube_creds **ret,
                      struct wl_error *err);
/* Accepts NULL. No client may be in the making. */
void wl_kube_creds_free(struct wl_kube_creds *creds);
/* Replaces the kubeconfig (ownership of kc taken); clients made later use
 * it. */
void wl_kube_creds_replace(struct wl_kube_creds *creds,
                           struct wl_kubeconfig *kc);
unsigned wl_kube_creds_generation(const struct wl_kube_creds *creds);
/* wl_kube_client_new() with the current kubeconfig; *ret_generation (may
 * be NULL) says which one. */
int wl_kube_client_from_creds(struct wl_kube_creds *creds,
                              const char *user_agent,
                              struct wl_kube_client **ret,
                              unsigned *ret_generation, struct wl_error *err);

/* Keeps a long-lived *client current: when creds changed since
 * *generation (or *client is NULL), makes a new client and frees the old.
 * Returns 1 when it did, 0 when nothing changed, -1 when a new client
 * could not be made (*client and *generation are left as they were). */
int wl_kube_client_renew(struct wl_kube_creds *creds, const char *user_agent,
                         struct wl_kube_client **client, unsigned *generation,
                         struct wl_error *err);

/* Sends method path (e.g. "GET", "/api/v1/nodes/n1") with body (may be
 * NULL; sent as content_type, default application/json).
 *
 * Returns 0 for a 2xx answer, with the decoded JSON body in *ret when ret
 * is not NULL (the caller owns it; an empty body gives a JSON null).
 * Otherwise -1, and err reads "PATCH /api/v1/nodes/n1: 422
 * Unprocessable Entity: <the Status message the API server sent>".
 * *ret_status (when not NULL) receives the HTTP status on both paths, 0
 * when no answer arrived (connection refused, TLS failure, timeout). */
int wl_kube_request(struct wl_kube_client *c, const char *method,
                    const char *path, const char *content_type,
                    const json_t *body, json_t **ret, long *ret_status,
                    struct wl_error *err);

/* Receives one decoded line of a streamed answer (a watch event); the
 * value is borrowed for the call. Returns 0 to go on reading, -1 to stop. */
typedef int (*wl_kube_line_fn)(void *userdata, const json_t *value);

/* The framing of a streamed answer: calls fn for each complete
 * newline-terminated line of buf[0..*len) (empty lines skipped), decoded as
 * JSON, then moves what is left (a partial line) to the front and sets
 * *len to its length. Returns 0; -1 when a line does not decode (err) or
 * fn returned -1 (*stopped set). Exposed for the fuzz target. */
int wl_kube_lines_drain(char *buf, size_t *len, wl_kube_line_fn fn,
                        void *userdata, bool *stopped, struct wl_error *err);

/* GETs path and decodes the answer line by line as it arrives (a watch),
 * calling fn for each line, until the server ends the stream, fn returns
 * -1, or *stop (may be NULL) becomes true — checked at least every 200 ms.
 * Returns 0 in those cases. Returns -1 for no answer, a non-2xx status
 * (in *ret_status, as wl_kube_request), an undecodable line or one longer
 * than WL_KUBE_MAX_RESPONSE, and a stream that breaks off. */
int wl_kube_stream(struct wl_kube_client *c, const char *path,
                   wl_kube_line_fn fn, void *userdata, const atomic_bool *stop,
                   long *ret_status, struct wl_error *err);

/* The API server's base URL, e.g. "https://127.0.0.1:6443". Borrowed. */
const char *wl_kube_client_server(const struct wl_kube_client *c);

/* Percent-encodes s for use in a query string value (a label or field
 * selector). The caller frees the result; NULL when out of memory. */
char *wl_kube_query_escape(const char *s);

#endif
