#include "kube/client.h"
#include "util/metrics_daemon.h"
#include "util/time.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/json.h"

struct wl_kube_client {
    CURL *curl;
    char *server; /* without a trailing slash */
    char *tls_server_name;
    struct curl_blob ca, cert, key; /* point into the copies below */
    char *ca_pem, *cert_pem, *key_pem;
    char *auth_header; /* "Authorization: Bearer ..." or NULL */
    char *user_agent;
    char errbuf[CURL_ERROR_SIZE]; /* libcurl's detail of the last failure */
};

/* Why a transfer failed: libcurl's detail ("SSL certificate problem:
 * unable to get local issuer certificate") when it left one. */
static const char *failure(const struct wl_kube_client *c, CURLcode cr)
{
    return c->errbuf[0] ? c->errbuf : curl_easy_strerror(cr);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { (void)curl_global_init(CURL_GLOBAL_ALL); }

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

const char *wl_kube_client_server(const struct wl_kube_client *c)
{
    return c->server;
}

void wl_kube_client_free(struct wl_kube_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->server);
    free(c->tls_server_name);
    free(c->ca_pem);
    free(c->cert_pem);
    free(c->key_pem);
    if (c->auth_header) {
        /* Do not leave the token lying in freed memory. */
        explicit_bzero(c->auth_header, strlen(c->auth_header));
        free(c->auth_header);
    }
    free(c->user_agent);
    free(c);
}

static void blob_set(struct curl_blob *b, char *pem, size_t len)
{
    b->data = pem;
    b->len = len;
    b->flags = CURL_BLOB_NOCOPY;
}

int wl_kube_client_new(const struct wl_kubeconfig *kc, const char *user_agent,
                       struct wl_kube_client **ret, struct wl_error *err)
{
    (void)pthread_once(&curl_once, curl_init_once);
    if (!kc->server || strncmp(kc->server, "https://", 8) != 0)
        return wl_error_set(err, 0,
                            "API server \"%s\": only https:// is supported",
                            kc->server ? kc->server : "");

    if (kc->tls_server_name)
        return wl_error_set(err, 0, "tls-server-name \"%s\" in the kubeconfig "
                                    "is not supported yet",
                            kc->tls_server_name);

    struct wl_kube_client *c = calloc(1, sizeof(*c));
    if (!c)
        return wl_error_set(err, ENOMEM, "kube client");
    c->curl = curl_easy_init();
    c->server = strdup(kc->server);
    c->tls_server_name = dup_or_null(kc->tls_server_name);
    c->ca_pem = dup_or_null(kc->ca_pem);
    c->cert_pem = dup_or_null(kc->cert_pem);
    c->key_pem = dup_or_null(kc->key_pem);
    c->user_agent = strdup(user_agent);
    if (kc->token && asprintf(&c->auth_header, "Authorization: Bearer %s",
                              kc->token) < 0)
        c->auth_header = NULL;
    if (!c->curl || !c->server || !c->user_agent ||
        (kc->tls_server_name && !c->tls_server_name) ||
        (kc->ca_pem && !c->ca_pem) || (kc->cert_pem && !c->cert_pem) ||
        (kc->key_pem && !c->key_pem) || (kc->token && !c->auth_header)) {
        wl_kube_client_free(c);
        return wl_error_set(err, ENOMEM, "kube client");
    }
    size_t n = strlen(c->server);
    while (n > 0 && c->server[n - 1] == '/')
        c->server[--n] = '\0';
    if (c->ca_pem)
        blob_set(&c->ca, c->ca_pem, kc->ca_pem_len);
    if (c->cert_pem)
        blob_set(&c->cert, c->cert_pem, kc->cert_pem_len);
    if (c->key_pem)
        blob_set(&c->key, c->key_pem, kc->key_pem_len);
    *ret = c;
    return 0;
}

struct body_buf {
    char *data;
    size_t len, cap;
    bool too_large;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct body_buf *b = userdata;
    size_t n = size * nmemb;

    if (n > WL_KUBE_MAX_RESPONSE - b->len) {
        b->too_large = true;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

static void setup_tls(struct wl_kube_client *c)
{
    CURL *h = c->curl;
    (void)curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    (void)curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_pem)
        (void)curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &c->ca);
    if (c->cert_pem) {
        (void)curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &c->cert);
        (void)curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (c->key_pem) {
        (void)curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &c->key);
        (void)curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
}

/* "422 Unprocessable Entity: <message>" from a Status body, or the raw
 * body's start when it is not a Status. */
static void status_error(struct wl_error *err, const char *method,
                         const char *path, long status,
                         const struct body_buf *b)
{
    json_t *j = NULL;
    struct wl_error perr = WL_ERROR_INIT;
    const char *msg = NULL;

    if (b->data && wl_json_parse(b->data, b->len, WL_JSON_MAX_DEPTH, &j,
                                 &perr) == 0)
        msg = wl_json_str(j, "message", NULL);
    wl_error_clear(&perr);
    if (msg)
        wl_error_set(err, 0, "%s %s: %ld: %s", method, path, status, msg);
    else
        wl_error_set(err, 0, "%s %s: %ld: %.200s", method, path, status,
                     b->data ? b->data : "(no body)");
    json_decref(j);
}

/* Resets the handle and sets what every request shares: TLS, auth, user
 * agent, HTTP/2, the body sink. headers receives the list to free after
 * the transfer. */
static int prepare(struct wl_kube_client *c, const char *method,
                   const char *path, const char *content_type,
                   const char *req, struct body_buf *resp,
                   struct curl_slist **headers, struct wl_error *err)
{
    CURL *h = c->curl;
    _cleanup_free_ char *url = NULL, *ct = NULL;

    if (asprintf(&url, "%s%s", c->server, path) < 0 ||
        asprintf(&ct, "Content-Type: %s",
                 content_type ? content_type : "application/json") < 0)
        return wl_error_set(err, ENOMEM, "%s %s", method, path);

    curl_easy_reset(h); /* keeps the connection cache, drops old options */
    c->errbuf[0] = '\0';
    (void)curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    setup_tls(c);
    *headers = curl_slist_append(*headers, "Accept: application/json");
    if (req)
        *headers = curl_slist_append(*headers, ct);
    if (c->auth_header)
        *headers = curl_slist_append(*headers, c->auth_header);
    (void)curl_easy_setopt(h, CURLOPT_URL, url); /* curl copies strings */
    (void)curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    (void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, *headers);
    (void)curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
    (void)curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
    (void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    (void)curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    (void)curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    (void)curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 15L);
    (void)curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 5L);
    (void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    (void)curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    if (req) {
        (void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, req);
        (void)curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(req));
    }
    return 0;
}

int wl_kube_request(struct wl_kube_client *c, const char *method,
                    const char *path, const char *content_type,
                    const json_t *body, json_t **ret, long *ret_status,
                    struct wl_error *err)
{
    CURL *h = c->curl;
    struct body_buf resp = {0};
    _cleanup_free_ char *req = NULL;
    struct curl_slist *headers = NULL;
    long status = 0;
    int r = -1;

    if (ret_status)
        *ret_status = 0;
    if (body && !(req = wl_json_dump(body)))
        return wl_error_set(err, ENOMEM, "%s %s", method, path);
    if (prepare(c, method, path, content_type, req, &resp, &headers, err) < 0)
        return -1;
    (void)curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);

    double t0 = wl_now_s();
    CURLcode cr = curl_easy_perform(h);
    wl_histogram_observe(wl_metric_with(&wl_m_api_request_seconds, method),
                         wl_now_s() - t0);
    curl_slist_free_all(headers);
    if (cr != CURLE_OK) {
        if (resp.too_large)
            wl_error_set(err, 0, "%s %s: response larger than %u bytes",
                         method, path, WL_KUBE_MAX_RESPONSE);
        else
            wl_error_set(err, 0, "%s %s%s: %s", method, c->server, path,
                         failure(c, cr));
        goto out;
    }
    (void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (ret_status)
        *ret_status = status;
    if (status < 200 || status > 299) {
        status_error(err, method, path, status, &resp);
        goto out;
    }
    if (ret) {
        if (resp.len == 0) {
            *ret = json_null();
        } else if (wl_json_parse(resp.data, resp.len, WL_JSON_MAX_DEPTH, ret,
                                 err) < 0) {
            wl_error_prefix(err, "%s %s", method, path);
            goto out;
        }
    }
    r = 0;
out:
    if (r < 0) {
        char code[16];
        snprintf(code, sizeof(code), "%ld", status);
        wl_counter_inc(wl_metric_with(&wl_m_api_request_errors, method, code));
    }
    free(resp.data);
    return r;
}

/* A streamed answer: bytes collect in buf until a newline completes a
 * line, which is decoded and handed to fn, then dropped. */
struct stream {
    CURL *curl;
    struct body_buf buf;
    wl_kube_line_fn fn;
    void *userdata;
    const atomic_bool *stop;
    bool ok_status;   /* 2xx: lines are events; else the body is a Status */
    bool stopped;     /* fn asked to stop, or *stop was set */
    struct wl_error *err;
    bool line_failed; /* a line did not decode; err says why */
};

static int stream_lines(struct stream *s)
{
    bool stopped = false;
    if (wl_kube_lines_drain(s->buf.data, &s->buf.len, s->fn, s->userdata,
                            &stopped, s->err) == 0)
        return 0;
    if (stopped)
        s->stopped = true;
    else
        s->line_failed = true;
    return -1;
}

static size_t on_stream(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct stream *s = userdata;
    long status = 0;
    size_t n = size * nmemb;

    if (on_body(ptr, size, nmemb, &s->buf) != n)
        return 0;
    (void)curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
    s->ok_status = status >= 200 && status <= 299;
    if (s->ok_status && stream_lines(s) < 0)
        return 0;
    return n;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    struct stream *s = userdata;
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    if (s->stop && atomic_load(s->stop)) {
        s->stopped = true;
        return 1;
    }
    return 0;
}

int wl_kube_stream(struct wl_kube_client *c, const char *path,
                   wl_kube_line_fn fn, void *userdata, const atomic_bool *stop,
                   long *ret_status, struct wl_error *err)
{
    CURL *h = c->curl;
    struct stream s = {.curl = h, .fn = fn, .userdata = userdata,
                       .stop = stop, .err = err};
    struct curl_slist *headers = NULL;
    long status = 0;
    int r = -1;

    if (ret_status)
        *ret_status = 0;
    if (prepare(c, "GET", path, NULL, NULL, &s.buf, &headers, err) < 0)
        return -1;
    (void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_stream);
    (void)curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    (void)curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    (void)curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    (void)curl_easy_setopt(h, CURLOPT_XFERINFODATA, &s);

    CURLcode cr = curl_easy_perform(h);
    curl_slist_free_all(headers);
    (void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (ret_status)
        *ret_status = status;
    if (s.stopped) {
        r = 0;
    } else if (s.line_failed) {
        wl_error_prefix(err, "watch %s", path);
    } else if (cr != CURLE_OK) {
        if (s.buf.too_large)
            wl_error_set(err, 0, "watch %s: event larger than %u bytes", path,
                         WL_KUBE_MAX_RESPONSE);
        else
            wl_error_set(err, 0, "watch %s%s: %s", c->server, path,
                         failure(c, cr));
    } else if (!s.ok_status) {
        status_error(err, "GET", path, status, &s.buf);
    } else if (s.buf.len > 0) {
        /* The connection closed inside an event: the stream broke. */
        wl_error_set(err, 0, "watch %s: stream ended inside an event "
                             "(%zu bytes of it)",
                     path, s.buf.len);
    } else {
        r = 0; /* the server ended the stream (its timeoutSeconds) */
    }
    free(s.buf.data);
    return r;
}

char *wl_kube_query_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    if (!e)
        return NULL;
    char *copy = strdup(e); /* callers free() it, not curl_free() */
    curl_free(e);
    return copy;
}

struct wl_kube_creds {
    pthread_mutex_t lock; /* guards kc */
    struct wl_kubeconfig *kc;
    atomic_uint generation;
};

int wl_kube_creds_new(struct wl_kubeconfig *kc, struct wl_kube_creds **ret,
                      struct wl_error *err)
{
    struct wl_kube_creds *c = calloc(1, sizeof(*c));
    if (!c)
        return wl_error_set(err, ENOMEM, "credentials");
    (void)pthread_mutex_init(&c->lock, NULL);
    c->kc = kc;
    atomic_init(&c->generation, 1);
    *ret = c;
    return 0;
}

void wl_kube_creds_free(struct wl_kube_creds *creds)
{
    if (!creds)
        return;
    wl_kubeconfig_free(creds->kc);
    (void)pthread_mutex_destroy(&creds->lock);
    free(creds);
}

void wl_kube_creds_replace(struct wl_kube_creds *creds,
                           struct wl_kubeconfig *kc)
{
    (void)pthread_mutex_lock(&creds->lock);
    struct wl_kubeconfig *old = creds->kc;
    creds->kc = kc;
    atomic_fetch_add(&creds->generation, 1);
    (void)pthread_mutex_unlock(&creds->lock);
    wl_kubeconfig_free(old);
}

unsigned wl_kube_creds_generation(const struct wl_kube_creds *creds)
{
    return atomic_load(&creds->generation);
}

int wl_kube_client_from_creds(struct wl_kube_creds *creds,
                              const char *user_agent,
                              struct wl_kube_client **ret,
                              unsigned *ret_generation, struct wl_error *err)
{
    (void)pthread_mutex_lock(&creds->lock);
    unsigned gen = atomic_load(&creds->generation);
    int r = wl_kube_client_new(creds->kc, user_agent, ret, err);
    (void)pthread_mutex_unlock(&creds->lock);
    if (r == 0 && ret_generation)
        *ret_generation = gen;
    return r;
}

int wl_kube_client_renew(struct wl_kube_creds *creds, const char *user_agent,
                         struct wl_kube_client **client, unsigned *generation,
                         struct wl_error *err)
{
    if (*client && wl_kube_creds_generation(creds) == *generation)
        return 0;
    struct wl_kube_client *c = NULL;
    unsigned gen = 0;
    if (wl_kube_client_from_creds(creds, user_agent, &c, &gen, err) < 0)
        return -1;
    wl_kube_client_free(*client);
    *client = c;
    *generation = gen;
    return 1;
}
