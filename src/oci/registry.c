#include "oci/registry.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/cleanup.h"
#include "util/digest.h"
#include "util/json.h"

#define TOKEN_MAX_SIZE (64u * 1024)
#define ERROR_BODY_MAX (64u * 1024)
#define MAX_TOKENS 16

struct token {
    char *scope;
    char *value;
    time_t expires;
};

struct wl_registry {
    CURL *curl;
    char *base; /* "https://host" */
    char *ca_file;
    char *username, *password;
    bool basic;            /* the registry asked for Basic */
    const atomic_bool *cancel; /* may be NULL */
    struct token tokens[MAX_TOKENS];
    unsigned requests;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { (void)curl_global_init(CURL_GLOBAL_ALL); }

/* Where a response body goes: memory (up to max) or a store writer. */
struct sink {
    CURL *curl;
    char *data;
    size_t len, cap, max;
    struct wl_store_writer *writer;
    struct wl_error werr; /* a writer failure, reported after the transfer */
    bool too_large;
};

struct headers {
    char *www_authenticate;
    char *digest;
    char *content_type;
    char *location;
};

static void headers_clear(struct headers *h)
{
    free(h->www_authenticate);
    free(h->digest);
    free(h->content_type);
    free(h->location);
    memset(h, 0, sizeof(*h));
}

static void sink_clear(struct sink *s)
{
    free(s->data);
    wl_error_clear(&s->werr);
    s->data = NULL;
    s->len = s->cap = 0;
}

void wl_registry_free(struct wl_registry *r)
{
    if (!r)
        return;
    if (r->curl)
        curl_easy_cleanup(r->curl);
    free(r->base);
    free(r->ca_file);
    free(r->username);
    if (r->password) {
        explicit_bzero(r->password, strlen(r->password));
        free(r->password);
    }
    for (int i = 0; i < MAX_TOKENS; i++) {
        free(r->tokens[i].scope);
        if (r->tokens[i].value)
            explicit_bzero(r->tokens[i].value, strlen(r->tokens[i].value));
        free(r->tokens[i].value);
    }
    free(r);
}

int wl_registry_new(const char *host, const struct wl_registry_opts *o,
                    struct wl_registry **ret, struct wl_error *err)
{
    (void)pthread_once(&curl_once, curl_init_once);
    struct wl_registry *r = calloc(1, sizeof(*r));
    if (!r)
        return wl_error_set(err, ENOMEM, "registry");
    r->curl = curl_easy_init();
    if (asprintf(&r->base, "%s://%s", o->insecure ? "http" : "https", host) < 0)
        r->base = NULL;
    r->cancel = o->cancel;
    r->ca_file = o->ca_file ? strdup(o->ca_file) : NULL;
    r->username = o->username ? strdup(o->username) : NULL;
    r->password = o->password ? strdup(o->password) : NULL;
    if (!r->curl || !r->base || (o->ca_file && !r->ca_file) ||
        (o->username && !r->username) || (o->password && !r->password)) {
        wl_registry_free(r);
        return wl_error_set(err, ENOMEM, "registry");
    }
    *ret = r;
    return 0;
}

unsigned wl_registry_requests(const struct wl_registry *r)
{
    return r->requests;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct sink *s = userdata;
    size_t n = size * nmemb;

    if (s->writer) {
        /* Only a 200's body is the blob; a 401's or 404's is an error
         * document, kept in memory (bounded) for the message. */
        long status = 0;
        (void)curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status == 200) {
            if (wl_store_writer_write(s->writer, ptr, n, &s->werr) < 0)
                return 0;
            return n;
        }
        if (s->max == 0)
            s->max = ERROR_BODY_MAX;
    }
    if (n > s->max - s->len) {
        s->too_large = true;
        return 0;
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 8192;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *d = realloc(s->data, cap);
        if (!d)
            return 0;
        s->data = d;
        s->cap = cap;
    }
    memcpy(s->data + s->len, ptr, n);
    s->len += n;
    s->data[s->len] = '\0';
    return n;
}

/* Keeps the value of header name from a raw header line. */
static void take_header(const char *line, size_t len, const char *name,
                        char **slot)
{
    size_t nl = strlen(name);
    if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    free(*slot);
    *slot = strndup(v, (size_t)(end - v));
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct headers *h = userdata;
    size_t n = size * nmemb;
    /* A new response (after a redirect or 100-continue) starts afresh. */
    if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0)
        headers_clear(h);
    take_header(ptr, n, "WWW-Authenticate", &h->www_authenticate);
    take_header(ptr, n, "Docker-Content-Digest", &h->digest);
    take_header(ptr, n, "Content-Type", &h->content_type);
    take_header(ptr, n, "Location", &h->location);
    return n;
}

/* A parameter of a WWW-Authenticate challenge: key="value". Only a key
 * at a parameter boundary counts, not one inside another's value (a realm
 * URL may carry ?service=...). */
static char *challenge_param(const char *ch, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = ch; (p = strcasestr(p, key)); p += kl) {
        if ((p != ch && !strchr(" \t,", p[-1])) || p[kl] != '=')
            continue;
        const char *v = p + kl + 1;
        if (*v == '"') {
            const char *end = strchr(v + 1, '"');
            return end ? strndup(v + 1, (size_t)(end - v - 1)) : NULL;
        }
        return strndup(v, strcspn(v, ", "));
    }
    return NULL;
}

static const char *cached_token(struct wl_registry *r, const char *scope)
{
    time_t now = time(NULL);
    for (int i = 0; i < MAX_TOKENS; i++)
        if (r->tokens[i].scope && strcmp(r->tokens[i].scope, scope) == 0 &&
            r->tokens[i].expires > now)
            return r->tokens[i].value;
    return NULL;
}

static void cache_token(struct wl_registry *r, const char *scope,
                        const char *value, long expires_in)
{
    int slot = 0;
    for (int i = 0; i < MAX_TOKENS; i++) {
        if (!r->tokens[i].scope || strcmp(r->tokens[i].scope, scope) == 0) {
            slot = i;
            break;
        }
        if (r->tokens[i].expires < r->tokens[slot].expires)
            slot = i; /* else replace the one expiring first */
    }
    struct token *t = &r->tokens[slot];
    free(t->scope);
    free(t->value);
    t->scope = strdup(scope);
    t->value = strdup(value);
    /* Distribution's default is 60 s; renew 10 s early. */
    if (expires_in < 60)
        expires_in = 60;
    t->expires = time(NULL) + expires_in - 10;
}

static void setup_common(struct wl_registry *r, struct sink *sink,
                         struct headers *hdrs)
{
    CURL *h = r->curl;
    curl_easy_reset(h);
    (void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    (void)curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    (void)curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (r->ca_file)
        (void)curl_easy_setopt(h, CURLOPT_CAINFO, r->ca_file);
    (void)curl_easy_setopt(h, CURLOPT_USERAGENT, "wasmlet");
    (void)curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    /* Slow registries are fine; stalled ones are not. */
    (void)curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    (void)curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    (void)curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    (void)curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    (void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    (void)curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
    (void)curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    (void)curl_easy_setopt(h, CURLOPT_HEADERDATA, hdrs);
}

/* GET realm?service=..&scope=.. (with Basic credentials when we have
 * them) and cache the token. */
static int fetch_token(struct wl_registry *r, const char *challenge,
                       const char *scope, struct wl_error *err)
{
    _cleanup_free_ char *realm = challenge_param(challenge, "realm");
    _cleanup_free_ char *service = challenge_param(challenge, "service");
    _cleanup_free_ char *url = NULL, *esc_service = NULL, *esc_scope = NULL;
    struct sink sink = {.max = TOKEN_MAX_SIZE};
    struct headers hdrs = {0};
    json_t *j = NULL;
    long status = 0;
    int rc = -1;

    if (!realm || strncmp(realm, "http", 4) != 0)
        return wl_error_set(err, 0, "bearer challenge without a realm URL");
    esc_service = curl_easy_escape(r->curl, service ? service : "", 0);
    esc_scope = curl_easy_escape(r->curl, scope, 0);
    if (!esc_service || !esc_scope ||
        asprintf(&url, "%s%sservice=%s&scope=%s", realm,
                 strchr(realm, '?') ? "&" : "?", esc_service, esc_scope) < 0)
        return wl_error_set(err, ENOMEM, "token");

    setup_common(r, &sink, &hdrs);
    (void)curl_easy_setopt(r->curl, CURLOPT_URL, url);
    (void)curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, 30000L);
    if (r->username) {
        (void)curl_easy_setopt(r->curl, CURLOPT_USERNAME, r->username);
        (void)curl_easy_setopt(r->curl, CURLOPT_PASSWORD,
                               r->password ? r->password : "");
    }
    r->requests++;
    CURLcode cr = curl_easy_perform(r->curl);
    (void)curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
    if (cr != CURLE_OK) {
        wl_error_set(err, 0, "token from %s: %s", realm,
                     curl_easy_strerror(cr));
    } else if (status != 200) {
        wl_error_set(err, 0, "token from %s: HTTP %ld%s", realm, status,
                     status == 401 ? " (wrong or missing credentials)" : "");
    } else if (wl_json_parse(sink.data ? sink.data : "", sink.len, 8, &j,
                             err) < 0) {
        wl_error_prefix(err, "token from %s", realm);
    } else {
        const char *tok = wl_json_str(j, "token", NULL);
        if (!tok)
            tok = wl_json_str(j, "access_token", NULL);
        if (!tok) {
            wl_error_set(err, 0, "token from %s: no token in the answer",
                         realm);
        } else {
            cache_token(r, scope,
                        tok, (long)json_integer_value(
                                 json_object_get(j, "expires_in")));
            rc = 0;
        }
    }
    json_decref(j);
    if (sink.data)
        explicit_bzero(sink.data, sink.len);
    sink_clear(&sink);
    headers_clear(&hdrs);
    return rc;
}

struct req {
    const char *method;
    const char *url;
    const char *scope;
    const char *accept;       /* may be NULL */
    const char *content_type; /* may be NULL */
    const void *body;         /* may be NULL */
    size_t body_len;
    bool head;
    bool big_buffer; /* a blob: fewer, larger writes to the store */
    wl_progress_fn progress;
    void *progress_data;
    const char *digest; /* for progress reports */
};

struct progress_ctx {
    const struct req *q;
    const atomic_bool *cancel;
    time_t last;
};

/* libcurl calls it at least once a second during a transfer, even a
 * stalled one: the place to abandon it when asked to. */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    struct progress_ctx *p = userdata;
    time_t now = time(NULL);
    (void)ultotal, (void)ulnow;
    if (p->cancel && atomic_load(p->cancel))
        return 1; /* CURLE_ABORTED_BY_CALLBACK */
    if (!p->q->progress)
        return 0;
    if (p->last == 0)
        p->last = now;
    if (now - p->last >= WL_PROGRESS_INTERVAL_S) {
        p->last = now;
        p->q->progress(p->q->progress_data, p->q->digest, (uint64_t)dlnow,
                       (uint64_t)dltotal);
    }
    return 0;
}

/* One request with the auth dance: send; on 401 answer the challenge
 * (Bearer: get a token for scope; Basic: use our credentials) and send
 * once more. *status and hdrs describe the final answer. */
static int send_req(struct wl_registry *r, const struct req *q,
                    struct sink *sink, struct headers *hdrs, long *status,
                    struct wl_error *err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        struct curl_slist *hl = NULL;
        _cleanup_free_ char *auth = NULL, *accept = NULL, *ct = NULL;
        const char *tok = cached_token(r, q->scope);

        if (tok && asprintf(&auth, "Authorization: Bearer %s", tok) >= 0)
            hl = curl_slist_append(hl, auth);
        if (q->accept && asprintf(&accept, "Accept: %s", q->accept) >= 0)
            hl = curl_slist_append(hl, accept);
        if (q->content_type &&
            asprintf(&ct, "Content-Type: %s", q->content_type) >= 0)
            hl = curl_slist_append(hl, ct);

        sink_clear(sink);
        headers_clear(hdrs);
        sink->curl = r->curl;
        setup_common(r, sink, hdrs);
        CURL *h = r->curl;
        (void)curl_easy_setopt(h, CURLOPT_URL, q->url);
        (void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
        struct progress_ctx pctx = {.q = q, .cancel = r->cancel};
        if (q->big_buffer)
            (void)curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
        if (q->progress || r->cancel) {
            (void)curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
            (void)curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
            (void)curl_easy_setopt(h, CURLOPT_XFERINFODATA, &pctx);
        }
        if (q->head)
            (void)curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        else
            (void)curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
        if (q->body || strcmp(q->method, "PUT") == 0 ||
            strcmp(q->method, "POST") == 0) {
            (void)curl_easy_setopt(h, CURLOPT_POSTFIELDS,
                                   q->body ? q->body : "");
            (void)curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                                   (curl_off_t)q->body_len);
        }
        if (!tok && r->basic && r->username) {
            (void)curl_easy_setopt(h, CURLOPT_USERNAME, r->username);
            (void)curl_easy_setopt(h, CURLOPT_PASSWORD,
                                   r->password ? r->password : "");
        }
        r->requests++;
        CURLcode cr = curl_easy_perform(h);
        curl_slist_free_all(hl);
        *status = 0;
        (void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
        if (cr != CURLE_OK) {
            if (sink->too_large)
                return wl_error_set(err, 0, "%s %s: answer over %zu bytes",
                                    q->method, q->url, sink->max);
            if (sink->werr.msg) { /* the writer's error, cause kept */
                wl_error_set(err, 0, "%s", sink->werr.msg);
                err->errnum = sink->werr.errnum;
                return -1;
            }
            return wl_error_set(err, 0, "%s %s: %s", q->method, q->url,
                                curl_easy_strerror(cr));
        }
        if (*status != 401 || attempt == 1 || !hdrs->www_authenticate)
            return 0;
        /* Challenged: prepare credentials for the second attempt. */
        const char *ch = hdrs->www_authenticate;
        if (strncasecmp(ch, "Bearer", 6) == 0) {
            if (fetch_token(r, ch, q->scope, err) < 0)
                return -1;
        } else if (strncasecmp(ch, "Basic", 5) == 0 && r->username &&
                   !r->basic) {
            r->basic = true;
        } else {
            return 0; /* nothing more we can offer: report the 401 */
        }
    }
    return 0;
}

/* An error for a non-2xx answer, with the registry's own message when its
 * body is the distribution error format. */
static int status_error(struct wl_error *err, const struct req *q,
                        long status, const struct sink *sink)
{
    json_t *j = NULL;
    struct wl_error perr = WL_ERROR_INIT;
    const char *code = NULL, *msg = NULL;
    if (sink->data && wl_json_parse(sink->data, sink->len, 16, &j, &perr) == 0) {
        json_t *e = json_array_get(json_object_get(j, "errors"), 0);
        code = wl_json_str(e, "code", NULL);
        msg = wl_json_str(e, "message", NULL);
    }
    wl_error_clear(&perr);
    const char *hint = status == 401 ? " (credentials missing or wrong)"
                       : status == 403 ? " (access denied)"
                                       : "";
    if (msg)
        wl_error_set(err, 0, "%s %s: HTTP %ld %s: %s%s", q->method, q->url,
                     status, code ? code : "", msg, hint);
    else
        wl_error_set(err, 0, "%s %s: HTTP %ld%s", q->method, q->url, status,
                     hint);
    json_decref(j);
    return -1;
}

int wl_registry_ping(struct wl_registry *r, struct wl_error *err)
{
    _cleanup_free_ char *url = NULL;
    struct sink sink = {.curl = r->curl, .max = ERROR_BODY_MAX};
    struct headers hdrs = {0};
    long status = 0;
    int rc = -1;

    if (asprintf(&url, "%s/v2/", r->base) < 0)
        return wl_error_set(err, ENOMEM, "ping");
    setup_common(r, &sink, &hdrs);
    (void)curl_easy_setopt(r->curl, CURLOPT_URL, url);
    (void)curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, 30000L);
    r->requests++;
    CURLcode cr = curl_easy_perform(r->curl);
    (void)curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
    if (cr != CURLE_OK) {
        wl_error_set(err, 0, "GET %s: %s", url, curl_easy_strerror(cr));
    } else if (status == 200 || status == 401) {
        if (status == 401 && hdrs.www_authenticate && r->username &&
            strncasecmp(hdrs.www_authenticate, "Basic", 5) == 0)
            r->basic = true; /* send credentials from the first request */
        rc = 0;
    } else {
        wl_error_set(err, 0, "%s does not look like an OCI registry: GET "
                             "%s answered HTTP %ld",
                     r->base, url, status);
    }
    sink_clear(&sink);
    headers_clear(&hdrs);
    return rc;
}

static char *scope_for(const char *repo, bool push)
{
    char *s = NULL;
    if (asprintf(&s, "repository:%s:%s", repo, push ? "pull,push" : "pull") < 0)
        return NULL;
    return s;
}

int wl_registry_get_manifest(struct wl_registry *r, const char *repo,
                             const char *reference, char **ret_body,
                             size_t *ret_len, char **ret_content_type,
                             char *ret_digest, struct wl_error *err)
{
    _cleanup_free_ char *url = NULL, *scope = scope_for(repo, false);
    struct sink sink = {.max = WL_MANIFEST_BODY_MAX};
    struct headers hdrs = {0};
    long status = 0;
    char got[80];
    int rc = -1;

    if (!scope || asprintf(&url, "%s/v2/%s/manifests/%s", r->base, repo,
                           reference) < 0)
        return wl_error_set(err, ENOMEM, "manifest");
    struct req q = {.method = "GET", .url = url, .scope = scope,
                    .accept = WL_REGISTRY_MANIFEST_ACCEPT};
    if (send_req(r, &q, &sink, &hdrs, &status, err) < 0)
        goto out;
    if (status != 200) {
        status_error(err, &q, status, &sink);
        goto out;
    }
    if (wl_digest_of(sink.data ? sink.data : "", sink.len, got, err) < 0)
        goto out;
    const char *want = wl_digest_valid(reference) ? reference : hdrs.digest;
    if (want && strcmp(want, got) != 0) {
        wl_error_set(err, 0, "manifest %s of %s: digest mismatch: expected "
                             "%s, got %s",
                     reference, repo, want, got);
        goto out;
    }
    *ret_body = sink.data ? sink.data : strdup("");
    sink.data = NULL;
    *ret_len = sink.len;
    *ret_content_type = hdrs.content_type;
    hdrs.content_type = NULL;
    memcpy(ret_digest, got, strlen(got) + 1);
    rc = 0;
out:
    sink_clear(&sink);
    headers_clear(&hdrs);
    return rc;
}

int wl_registry_get_blob(struct wl_registry *r, const char *repo,
                         const char *digest, uint64_t max,
                         struct wl_store *store, wl_progress_fn progress,
                         void *progress_data, struct wl_error *err)
{
    _cleanup_free_ char *url = NULL, *scope = scope_for(repo, false);
    struct sink sink = {0};
    struct headers hdrs = {0};
    long status = 0;

    if (wl_store_has(store, digest))
        return 0;
    if (!scope ||
        asprintf(&url, "%s/v2/%s/blobs/%s", r->base, repo, digest) < 0)
        return wl_error_set(err, ENOMEM, "blob");
    struct req q = {.method = "GET", .url = url, .scope = scope,
                    .big_buffer = true, .progress = progress,
                    .progress_data = progress_data, .digest = digest};
    if (wl_store_writer_new(store, digest, max, &sink.writer, err) < 0)
        return -1;
    int rc = send_req(r, &q, &sink, &hdrs, &status, err);
    if (rc == 0 && status != 200)
        rc = status_error(err, &q, status, &sink);
    if (rc == 0) {
        rc = wl_store_writer_commit(sink.writer, err);
        sink.writer = NULL;
        if (rc < 0)
            wl_error_prefix(err, "blob %s of %s", digest, repo);
    }
    wl_store_writer_free(sink.writer);
    sink_clear(&sink);
    headers_clear(&hdrs);
    return rc;
}

int wl_registry_push_blob(struct wl_registry *r, const char *repo,
                          const void *data, size_t len, struct wl_error *err)
{
    _cleanup_free_ char *url = NULL, *put = NULL;
    _cleanup_free_ char *scope = scope_for(repo, true);
    struct sink sink = {.max = ERROR_BODY_MAX};
    struct headers hdrs = {0};
    long status = 0;
    char digest[80];
    int rc = -1;

    if (wl_digest_of(data, len, digest, err) < 0)
        return wl_error_prefix(err, "push");
    if (!scope ||
        asprintf(&url, "%s/v2/%s/blobs/%s", r->base, repo, digest) < 0)
        return wl_error_set(err, ENOMEM, "push");
    struct req head = {.method = "HEAD", .url = url, .scope = scope,
                       .head = true};
    if (send_req(r, &head, &sink, &hdrs, &status, err) < 0)
        goto out;
    if (status == 200) {
        rc = 0; /* already there */
        goto out;
    }
    free(url);
    if (asprintf(&url, "%s/v2/%s/blobs/uploads/", r->base, repo) < 0) {
        url = NULL;
        wl_error_set(err, ENOMEM, "push");
        goto out;
    }
    struct req post = {.method = "POST", .url = url, .scope = scope};
    if (send_req(r, &post, &sink, &hdrs, &status, err) < 0)
        goto out;
    if (status != 202 || !hdrs.location) {
        status_error(err, &post, status, &sink);
        goto out;
    }
    /* Location may be relative and may already carry a query. */
    const char *loc = hdrs.location;
    bool rel = loc[0] == '/';
    if (asprintf(&put, "%s%s%cdigest=%s", rel ? r->base : "", loc,
                 strchr(loc, '?') ? '&' : '?', digest) < 0) {
        put = NULL;
        wl_error_set(err, ENOMEM, "push");
        goto out;
    }
    struct req q = {.method = "PUT", .url = put, .scope = scope,
                    .content_type = "application/octet-stream",
                    .body = data, .body_len = len};
    if (send_req(r, &q, &sink, &hdrs, &status, err) < 0)
        goto out;
    if (status != 201) {
        status_error(err, &q, status, &sink);
        goto out;
    }
    rc = 0;
out:
    sink_clear(&sink);
    headers_clear(&hdrs);
    return rc;
}

int wl_registry_put_manifest(struct wl_registry *r, const char *repo,
                             const char *tag, const char *media_type,
                             const char *body, size_t len, char *ret_digest,
                             struct wl_error *err)
{
    _cleanup_free_ char *url = NULL, *scope = scope_for(repo, true);
    struct sink sink = {.max = ERROR_BODY_MAX};
    struct headers hdrs = {0};
    long status = 0;
    int rc = -1;

    if (!scope ||
        asprintf(&url, "%s/v2/%s/manifests/%s", r->base, repo, tag) < 0)
        return wl_error_set(err, ENOMEM, "push manifest");
    struct req q = {.method = "PUT", .url = url, .scope = scope,
                    .content_type = media_type, .body = body,
                    .body_len = len};
    if (send_req(r, &q, &sink, &hdrs, &status, err) < 0)
        goto out;
    if (status != 201) {
        status_error(err, &q, status, &sink);
        goto out;
    }
    if (wl_digest_of(body, len, ret_digest, err) < 0)
        goto out;
    rc = 0;
out:
    sink_clear(&sink);
    headers_clear(&hdrs);
    return rc;
}
