/* Who may use the kubelet API, decided as the kubelet decides it:
 *
 * - authentication: a client certificate the cluster CA signed (verified
 *   by the TLS layer; CN is the user, each O a group), or, when enabled, a
 *   bearer token the API server vouches for through a TokenReview;
 * - authorization: a SubjectAccessReview for verb on nodes/<node> with the
 *   request's subresource (stats, metrics, log, proxy).
 *
 * Answers are cached like the kubelet's webhooks: TokenReviews 2 min,
 * SubjectAccessReviews allowed 5 min and denied 30 s; at most
 * WL_AUTH_CACHE_MAX entries (the oldest go first). Thread-safe: any
 * connection thread calls in; a lock guards the cache and the one API
 * client, so reviews are asked one at a time.
 */
#ifndef WL_SERVER_AUTH_H
#define WL_SERVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "kube/client.h"
#include "util/error.h"

#define WL_AUTH_CACHE_MAX 1024
#define WL_AUTH_MAX_GROUPS 16

struct wl_user {
    char name[256];
    char groups[WL_AUTH_MAX_GROUPS][128];
    size_t ngroups;
};

struct wl_auth_config {
    struct wl_kube_creds *creds;
    const char *node_name;
    const char *user_agent;
    bool token_webhook; /* accept bearer tokens (TokenReview) */
};

struct wl_auth;

int wl_auth_new(const struct wl_auth_config *cfg, struct wl_auth **ret,
                struct wl_error *err);
void wl_auth_free(struct wl_auth *a);

/* Authenticates a bearer token: 1 and *user when the API server says it
 * is valid, 0 when it is not, -1 when it could not be asked. */
int wl_auth_token(struct wl_auth *a, const char *token, struct wl_user *user,
                  struct wl_error *err);

/* 1 allowed, 0 denied (*reason, static or from the API server, copied into
 * reason_buf), -1 when the API server could not be asked. */
int wl_auth_authorize(struct wl_auth *a, const struct wl_user *user,
                      const char *verb, const char *subresource,
                      char *reason_buf, size_t reason_len,
                      struct wl_error *err);

#endif
