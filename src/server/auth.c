#include "server/auth.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "util/json.h"
#include "util/log.h"

#define TOKEN_TTL_S 120
#define ALLOWED_TTL_S 300
#define DENIED_TTL_S 30

/* One cached answer, keyed by a SHA-256 of what was asked (a token is
 * never kept, only its hash). */
struct entry {
    unsigned char key[SHA256_DIGEST_LENGTH];
    time_t expires;
    int answer; /* 1 yes, 0 no */
    struct wl_user user; /* token reviews */
    char reason[128];    /* denials */
};

struct wl_auth {
    struct wl_auth_config cfg;
    pthread_mutex_t lock; /* guards everything below */
    struct wl_kube_client *client;
    unsigned client_gen;
    struct entry *cache;
    size_t ncache;
};

int wl_auth_new(const struct wl_auth_config *cfg, struct wl_auth **ret,
                struct wl_error *err)
{
    struct wl_auth *a = calloc(1, sizeof(*a));
    if (!a || !(a->cache = calloc(WL_AUTH_CACHE_MAX, sizeof(*a->cache)))) {
        free(a);
        return wl_error_set(err, ENOMEM, "auth");
    }
    a->cfg = *cfg;
    pthread_mutex_init(&a->lock, NULL);
    *ret = a;
    return 0;
}

void wl_auth_free(struct wl_auth *a)
{
    if (!a)
        return;
    wl_kube_client_free(a->client);
    pthread_mutex_destroy(&a->lock);
    free(a->cache);
    free(a);
}

/* The cache key of parts; -1 (never a key) when it cannot be made. */
static int hash_parts(unsigned char out[SHA256_DIGEST_LENGTH],
                      const char *const *parts, size_t n,
                      struct wl_error *err)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; ok && i < n; i++) /* each with its NUL: unambiguous */
        ok = EVP_DigestUpdate(c, parts[i], strlen(parts[i]) + 1) == 1;
    ok = ok && EVP_DigestFinal_ex(c, out, NULL) == 1;
    EVP_MD_CTX_free(c);
    return ok ? 0 : wl_error_set(err, ENOMEM, "hash a cache key");
}

/* Called locked. */
static struct entry *cache_find(struct wl_auth *a, const unsigned char *key,
                                time_t now)
{
    for (size_t i = 0; i < a->ncache; i++)
        if (a->cache[i].expires > now &&
            !memcmp(a->cache[i].key, key, SHA256_DIGEST_LENGTH))
            return &a->cache[i];
    return NULL;
}

/* Called locked: a slot for a new entry (an expired one, a free one, or
 * the one closest to expiry). */
static struct entry *cache_slot(struct wl_auth *a, time_t now)
{
    size_t best = 0;
    for (size_t i = 0; i < a->ncache; i++) {
        if (a->cache[i].expires <= now)
            return &a->cache[i];
        if (a->cache[i].expires < a->cache[best].expires)
            best = i;
    }
    if (a->ncache < WL_AUTH_CACHE_MAX)
        return &a->cache[a->ncache++];
    return &a->cache[best];
}

/* Called locked: caches answer ok for key, for ttl seconds. */
static struct entry *cache_put(struct wl_auth *a,
                               const unsigned char *key, time_t now, bool ok,
                               int ttl)
{
    struct entry *e = cache_slot(a, now);
    memcpy(e->key, key, SHA256_DIGEST_LENGTH);
    e->expires = now + ttl;
    e->answer = ok;
    return e;
}

/* Called locked: POSTs a review (body taken; NULL: out of memory making
 * it), *ret its answer. */
static int review(struct wl_auth *a, const char *path, json_t *body,
                  json_t **ret, struct wl_error *err)
{
    if (!body)
        return wl_error_set(err, ENOMEM, "%s", path);
    if (wl_kube_client_renew(a->cfg.creds, a->cfg.user_agent, &a->client,
                             &a->client_gen, err) < 0) {
        json_decref(body);
        return -1;
    }
    int r = wl_kube_request(a->client, "POST", path, NULL, body, ret, NULL,
                            err);
    json_decref(body);
    return r;
}

int wl_auth_token(struct wl_auth *a, const char *token, struct wl_user *user,
                  struct wl_error *err)
{
    if (!a->cfg.token_webhook)
        return 0;
    const char *parts[] = {"token", token};
    unsigned char key[SHA256_DIGEST_LENGTH];
    if (hash_parts(key, parts, 2, err) < 0)
        return -1;
    time_t now = time(NULL);

    pthread_mutex_lock(&a->lock);
    struct entry *e = cache_find(a, key, now);
    if (e) {
        int ans = e->answer;
        *user = e->user;
        pthread_mutex_unlock(&a->lock);
        return ans;
    }
    json_t *body = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion",
                             "authentication.k8s.io/v1", "kind", "TokenReview",
                             "spec", "token", token);
    json_t *res = NULL;
    if (review(a, "/apis/authentication.k8s.io/v1/tokenreviews", body, &res,
               err) < 0) {
        pthread_mutex_unlock(&a->lock);
        return -1;
    }
    struct wl_user u;
    memset(&u, 0, sizeof(u));
    json_t *st = wl_json_get(res, "status", NULL);
    bool ok = json_is_true(json_object_get(st, "authenticated"));
    const char *name = wl_json_str(st, "user", "username", NULL);
    if (ok && name && strlen(name) < sizeof(u.name)) {
        memcpy(u.name, name, strlen(name) + 1);
        json_t *groups = wl_json_get(st, "user", "groups", NULL);
        size_t i;
        json_t *g;
        json_array_foreach(groups, i, g) {
            const char *s = json_string_value(g);
            if (s && strlen(s) < sizeof(u.groups[0]) &&
                u.ngroups < WL_AUTH_MAX_GROUPS)
                memcpy(u.groups[u.ngroups++], s, strlen(s) + 1);
        }
    } else {
        ok = false;
    }
    json_decref(res);
    e = cache_put(a, key, now, ok, ok ? TOKEN_TTL_S : DENIED_TTL_S);
    e->user = u;
    pthread_mutex_unlock(&a->lock);
    *user = u;
    return ok;
}

int wl_auth_authorize(struct wl_auth *a, const struct wl_user *user,
                      const char *verb, const char *subresource,
                      char *reason_buf, size_t reason_len,
                      struct wl_error *err)
{
    const char *parts[4 + WL_AUTH_MAX_GROUPS] = {"sar", user->name, verb,
                                                 subresource};
    for (size_t i = 0; i < user->ngroups; i++)
        parts[4 + i] = user->groups[i];
    unsigned char key[SHA256_DIGEST_LENGTH];
    if (hash_parts(key, parts, 4 + user->ngroups, err) < 0)
        return -1;
    time_t now = time(NULL);

    pthread_mutex_lock(&a->lock);
    struct entry *e = cache_find(a, key, now);
    if (e) {
        int ans = e->answer;
        snprintf(reason_buf, reason_len, "%s", e->reason);
        pthread_mutex_unlock(&a->lock);
        return ans;
    }
    json_t *groups = json_array();
    for (size_t i = 0; groups && i < user->ngroups; i++)
        json_array_append_new(groups, json_string(user->groups[i]));
    json_t *body = groups ? json_pack(
        "{s:s, s:s, s:{s:s, s:o, s:{s:s, s:s, s:s, s:s, s:s, s:s}}}",
        "apiVersion", "authorization.k8s.io/v1", "kind",
        "SubjectAccessReview", "spec", "user", user->name, "groups", groups,
        "resourceAttributes", "verb", verb, "group", "", "version", "v1",
        "resource", "nodes", "subresource", subresource, "name",
        a->cfg.node_name) : NULL;
    json_t *res = NULL;
    if (review(a, "/apis/authorization.k8s.io/v1/subjectaccessreviews", body,
               &res, err) < 0) {
        pthread_mutex_unlock(&a->lock);
        return -1;
    }
    bool ok = json_is_true(wl_json_get(res, "status", "allowed", NULL));
    const char *why = wl_json_str(res, "status", "reason", NULL);
    e = cache_put(a, key, now, ok, ok ? ALLOWED_TTL_S : DENIED_TTL_S);
    snprintf(e->reason, sizeof(e->reason), "%s", why ? why : "");
    snprintf(reason_buf, reason_len, "%s", e->reason);
    json_decref(res);
    pthread_mutex_unlock(&a->lock);
    return ok;
}
