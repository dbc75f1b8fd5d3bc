#include "server/server.h"

#include <errno.h>
#include <stdarg.h>
#include <strings.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "node/bootstrap.h"
#include "server/auth.h"
#include "server/logs.h"
#include "server/listen.h"
#include "server/route.h"
#include "server/stats.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/metrics_daemon.h"

#define DEFAULT_MAX_LOG_STREAMS 64
#define DEFAULT_MAX_CONNECTIONS 256
#define DEFAULT_TIMEOUT_S 15
/* Memory for one connection's request line, headers and buffers: a
 * request that does not fit is refused by libmicrohttpd (414/431). */
#define CONNECTION_MEMORY (32 * 1024)
#define THREAD_STACK (256 * 1024)
#define SNAPSHOT_TIMEOUT_MS 5000
#define PKI_MAX_FILE (64 * 1024)
#define SELF_SIGNED_DAYS 365
/* TLS 1.2 and 1.3 only. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct wl_server {
    struct wl_server_config cfg;
    struct MHD_Daemon *daemon;
    struct wl_auth *auth;
    atomic_bool stopping;
    atomic_uint log_streams;
};

/* ---------------------------------------------------------- certificate */

/* A loaded certificate chain and key. Never freed while the server runs:
 * a handshake in progress may still use one that was replaced. */
struct cert_pair {
    gnutls_pcert_st pcerts[8];
    unsigned n;
    gnutls_privkey_t key;
    struct cert_pair *older;
};

/* The serving certificate, for the GnuTLS callback, which has no user
 * pointer: there is one server per process. The lock guards all of it. */
static struct {
    pthread_mutex_t lock;
    const struct wl_server_config *cfg;
    struct cert_pair *cur;
    time_t checked;
    char source[32]; /* "flags", "pki", "self-signed" */
    struct timespec mtime; /* of the certificate file in use */
} certs = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void pair_free(struct cert_pair *p)
{
    while (p) {
        struct cert_pair *older = p->older;
        for (unsigned i = 0; i < p->n; i++)
            gnutls_pcert_deinit(&p->pcerts[i]);
        if (p->key)
            gnutls_privkey_deinit(p->key);
        free(p);
        p = older;
    }
}

static int pair_load(const char *cert_pem, size_t cert_len,
                     const char *key_pem, size_t key_len,
                     struct cert_pair **ret, struct wl_error *err)
{
    struct cert_pair *p = calloc(1, sizeof(*p));
    if (!p)
        return wl_error_set(err, ENOMEM, "certificate");
    gnutls_datum_t c = {(unsigned char *)cert_pem, (unsigned)cert_len};
    gnutls_datum_t k = {(unsigned char *)key_pem, (unsigned)key_len};
    p->n = sizeof(p->pcerts) / sizeof(*p->pcerts);
    int r = gnutls_pcert_list_import_x509_raw(p->pcerts, &p->n, &c,
                                              GNUTLS_X509_FMT_PEM, 0);
    if (r < 0) {
        p->n = 0;
        pair_free(p);
        return wl_error_set(err, 0, "serving certificate: %s",
                            gnutls_strerror(r));
    }
    r = gnutls_privkey_init(&p->key);
    if (r >= 0)
        r = gnutls_privkey_import_x509_raw(p->key, &k, GNUTLS_X509_FMT_PEM,
                                           NULL, 0);
    if (r < 0) {
        pair_free(p);
        return wl_error_set(err, 0, "serving key: %s", gnutls_strerror(r));
    }
    *ret = p;
    return 0;
}

static bool file_mtime(const char *path, struct timespec *ret)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return false;
    *ret = st.st_mtim;
    return true;
}

/* Reads a certificate and key (with a check that they belong together
 * and are valid now when check is set). */
static int read_pair(const char *cert_path, const char *key_path, bool check,
                     struct cert_pair **ret, struct timespec *mtime,
                     struct wl_error *err)
{
    uint8_t *cert = NULL, *key = NULL;
    size_t clen = 0, klen = 0;
    int r = -1;
    (void)file_mtime(cert_path, mtime);
    if (wl_file_read(AT_FDCWD, cert_path, PKI_MAX_FILE, &cert, &clen, err) <
            0 ||
        wl_file_read(AT_FDCWD, key_path, PKI_MAX_FILE, &key, &klen, err) < 0)
        goto out;
    if (check &&
        wl_bootstrap_cert_inspect("serving", (char *)cert, clen, (char *)key,
                                  klen, time(NULL), NULL, NULL, NULL, err) < 0)
        goto out;
    r = pair_load((char *)cert, clen, (char *)key, klen, ret, err);
out:
    free(cert);
    if (key) {
        explicit_bzero(key, klen);
        free(key);
    }
    return r;
}

/* Makes (or reuses) the self-signed certificate in pki/. */
static int self_signed(const struct wl_server_config *cfg,
                       struct cert_pair **ret, struct timespec *mtime,
                       struct wl_error *err)
{
    char crt[4096], key[4096];
    snprintf(crt, sizeof(crt), "%s/pki/kubelet-selfsigned.crt", cfg->data_dir);
    snprintf(key, sizeof(key), "%s/pki/kubelet-selfsigned.key", cfg->data_dir);
    struct wl_error e = WL_ERROR_INIT;
    if (read_pair(crt, key, true, ret, mtime, &e) == 0)
        return 0;
    wl_error_clear(&e);
    const char *ips[] = {cfg->node_ip};
    const char *dns[] = {cfg->hostname && *cfg->hostname ? cfg->hostname
                                                         : cfg->node_name};
    struct wl_csr_subject subj = {
        .node_name = cfg->node_name,
        .dns = dns,
        .ndns = 1,
        .ips = ips,
        .nips = cfg->node_ip && *cfg->node_ip ? 1 : 0,
    };
    char *kpem = NULL, *cpem = NULL;
    if (wl_bootstrap_self_signed(&subj, SELF_SIGNED_DAYS, &kpem, &cpem, err) <
        0)
        return -1;
    int r = wl_bootstrap_pki_write(cfg->data_dir, "kubelet-selfsigned", kpem,
                                   cpem, err);
    if (r == 0) {
        log_info("self-signed serving certificate written path=%s", crt);
        r = read_pair(crt, key, false, ret, mtime, err);
    }
    explicit_bzero(kpem, strlen(kpem));
    free(kpem);
    free(cpem);
    return r;
}

/* Called locked: picks the certificate to serve with, as server.h says. */
static int certs_load(struct wl_error *err)
{
    const struct wl_server_config *cfg = certs.cfg;
    struct cert_pair *p = NULL;
    struct timespec mtime = {0, 0};
    const char *source;
    if (cfg->tls_cert_file) {
        if (read_pair(cfg->tls_cert_file, cfg->tls_key_file, false, &p, &mtime,
                      err) < 0)
            return -1;
        source = "flags";
    } else {
        char crt[4096], key[4096];
        snprintf(crt, sizeof(crt), "%s/pki/kubelet-server.crt", cfg->data_dir);
        snprintf(key, sizeof(key), "%s/pki/kubelet-server.key", cfg->data_dir);
        struct wl_error e = WL_ERROR_INIT;
        if (read_pair(crt, key, true, &p, &mtime, &e) == 0) {
            source = "pki";
        } else {
            wl_error_clear(&e);
            if (self_signed(cfg, &p, &mtime, err) < 0)
                return -1;
            mtime = (struct timespec){0, 0}; /* look for pki/ again */
            source = "self-signed";
        }
    }
    if (certs.cur && !strcmp(source, certs.source) &&
        certs.mtime.tv_sec == mtime.tv_sec &&
        certs.mtime.tv_nsec == mtime.tv_nsec) {
        pair_free(p); /* the same one */
        return 0;
    }
    if (certs.cur)
        log_info("kubelet API serving certificate from %s", source);
    p->older = certs.cur;
    certs.cur = p;
    certs.mtime = mtime;
    snprintf(certs.source, sizeof(certs.source), "%s", source);
    return 0;
}

/* Called locked: reloads when the file in use (or pki/'s, while serving
 * the self-signed one) changed, at most every WL_SERVER_CERT_RECHECK_S. */
static void certs_recheck(void)
{
    time_t now = time(NULL);
    if (now - certs.checked < WL_SERVER_CERT_RECHECK_S)
        return;
    certs.checked = now;
    char path[4096];
    if (certs.cfg->tls_cert_file)
        snprintf(path, sizeof(path), "%s", certs.cfg->tls_cert_file);
    else
        snprintf(path, sizeof(path), "%s/pki/kubelet-server.crt",
                 certs.cfg->data_dir);
    struct timespec m;
    if (!file_mtime(path, &m) ||
        (m.tv_sec == certs.mtime.tv_sec && m.tv_nsec == certs.mtime.tv_nsec))
        return;
    struct wl_error err = WL_ERROR_INIT;
    if (certs_load(&err) < 0) {
        log_warning("kubelet API: keeping the serving certificate: %s",
                    err.msg);
        wl_error_clear(&err);
    }
}

static int cert_callback(gnutls_session_t session,
                         const gnutls_datum_t *req_ca_rdn, int nreqs,
                         const gnutls_pk_algorithm_t *pk_algos,
                         int pk_algos_length, gnutls_pcert_st **pcert,
                         unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
    (void)session;
    (void)req_ca_rdn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    pthread_mutex_lock(&certs.lock);
    certs_recheck();
    struct cert_pair *p = certs.cur;
    pthread_mutex_unlock(&certs.lock);
    if (!p)
        return -1;
    *pcert = p->pcerts;
    *pcert_length = p->n;
    *privkey = p->key;
    return 0;
}

/* ------------------------------------------------------------ responses */

/* The endpoint being answered on this thread (one request at a time per
 * connection thread), for wasmlet_kubelet_api_requests_total. */
static _Thread_local const char *tl_path = "unknown";

static void count(unsigned status)
{
    char code[16];
    snprintf(code, sizeof(code), "%u", status);
    wl_counter_inc(wl_metric_with(&wl_m_http_requests, tl_path, code));
}

/* One request: made by the URI callback with the raw target. */
struct req {
    char *target;
    bool seen;
    int status; /* what was answered, for the log */
};

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status,
                               const char *type, char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (status == 401)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer realm=\"kubelet\"");
    count(status);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static const char *reason_of(unsigned status)
{
    switch (status) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 414: return "RequestURITooLong";
    case 429: return "TooManyRequests";
    case 503: return "ServiceUnavailable";
    default: return "InternalError";
    }
}

/* Refusals of authentication and authorisation are a metav1.Status (JSON);
 * other errors are plain text, as the kubelet answers them: the API
 * server passes that text on, and kubectl shows it as "Error from server
 * (BadRequest): <text>". */
static enum MHD_Result respond_msg(struct MHD_Connection *conn,
                                   unsigned status, bool json,
                                   const char *msg)
{
    char *body;
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind",
                              "Status", "apiVersion", "v1", "metadata",
                              "status", "Failure", "message", msg, "reason",
                              reason_of(status), "code", (int)status);
        body = o ? wl_json_dump(o) : NULL;
        json_decref(o);
    } else {
        body = strdup(msg);
    }
    if (!body)
        return MHD_NO;
    return respond(conn, status,
                   json ? "application/json" : "text/plain; charset=utf-8",
                   body, strlen(body));
}

static enum MHD_Result respond_status(struct MHD_Connection *conn,
                                      unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum MHD_Result respond_status(struct MHD_Connection *conn,
                                      unsigned status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return respond_msg(conn, status, status == 401 || status == 403, msg);
}

static enum MHD_Result respond_text(struct MHD_Connection *conn,
                                    unsigned status, const char *type,
                                    const char *text)
{
    char *body = strdup(text);
    if (!body)
        return MHD_NO;
    return respond(conn, status, type, body, strlen(body));
}

/* ------------------------------------------------------- authentication */

/* The verified client certificate's user: 1, 0 when there is none, -1
 * when one was sent and is not valid for a client. */
static int cert_user(struct MHD_Connection *conn, struct wl_user *u,
                     char *why, size_t whylen)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session)
        return 0;
    gnutls_session_t s = (gnutls_session_t)ci->tls_session;
    unsigned ncerts = 0;
    const gnutls_datum_t *chain = gnutls_certificate_get_peers(s, &ncerts);
    if (!chain || ncerts == 0)
        return 0;
    gnutls_typed_vdata_st purpose = {
        .type = GNUTLS_DT_KEY_PURPOSE_OID,
        .data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT,
    };
    unsigned status = 0;
    int r = gnutls_certificate_verify_peers(s, &purpose, 1, &status);
    if (r < 0 || status != 0) {
        gnutls_datum_t out = {NULL, 0};
        if (r >= 0 && gnutls_certificate_verification_status_print(
                          status, GNUTLS_CRT_X509, &out, 0) >= 0) {
            snprintf(why, whylen, "%s", (char *)out.data);
            gnutls_free(out.data);
        } else {
            snprintf(why, whylen, "%s", gnutls_strerror(r));
        }
        return -1;
    }
    gnutls_x509_crt_t crt;
    if (gnutls_x509_crt_init(&crt) < 0)
        return -1;
    int ok = -1;
    size_t len = sizeof(u->name);
    if (gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) >= 0 &&
        gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0,
                                      u->name, &len) >= 0) {
        ok = 1;
        for (unsigned i = 0; u->ngroups < WL_AUTH_MAX_GROUPS; i++) {
            len = sizeof(u->groups[0]);
            if (gnutls_x509_crt_get_dn_by_oid(crt,
                                              GNUTLS_OID_X520_ORGANIZATION_NAME,
                                              i, 0, u->groups[u->ngroups],
                                              &len) < 0)
                break;
            u->ngroups++;
        }
    } else {
        snprintf(why, whylen, "the client certificate has no common name");
    }
    gnutls_x509_crt_deinit(crt);
    return ok;
}

/* Authenticates and authorises; on refusal the answer is queued and
 * *answered is set. */
static enum MHD_Result authorize(struct wl_server *s,
                                 struct MHD_Connection *conn,
                                 const struct wl_route *route, bool *answered)
{
    struct wl_user u;
    memset(&u, 0, sizeof(u));
    char why[256] = "";
    struct wl_error err = WL_ERROR_INIT;
    *answered = true;
    int r = cert_user(conn, &u, why, sizeof(why));
    if (r < 0)
        return respond_status(conn, 401, "Unauthorized: invalid client "
                                         "certificate: %s", why);
    if (r == 0) {
        const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                    "Authorization");
        if (h && !strncasecmp(h, "Bearer ", 7) && s->cfg.token_webhook) {
            r = wl_auth_token(s->auth, h + 7, &u, &err);
            if (r < 0) {
                log_warning("kubelet API: token review: %s", err.msg);
                wl_error_clear(&err);
                return respond_status(conn, 503, "cannot review the token: "
                                                 "the API server did not "
                                                 "answer");
            }
        }
        if (r == 0)
            return respond_status(conn, 401, "Unauthorized");
    }
    char reason[128] = "";
    r = wl_auth_authorize(s->auth, &u, route->verb, route->subresource,
                          reason, sizeof(reason), &err);
    if (r < 0) {
        log_warning("kubelet API: access review: %s", err.msg);
        wl_error_clear(&err);
        return respond_status(conn, 503, "cannot review access: the API "
                                         "server did not answer");
    }
    if (r == 0)
        return respond_status(conn, 403,
                              "Forbidden (user=%s, verb=%s, resource=nodes, "
                              "subresource=%s)%s%s",
                              u.name, route->verb, route->subresource,
                              *reason ? ": " : "", reason);
    *answered = false;
    return MHD_YES;
}

/* ------------------------------------------------------------- handlers */

/* The pods, from the manager; NULL when it did not answer, with a 503
 * queued (*ret). */
static struct wl_pod_snapshot *snapshot(struct wl_server *s,
                                        struct MHD_Connection *conn,
                                        bool with_objects, enum MHD_Result *ret)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_pod_snapshot *snap = NULL;
    if (wl_pod_manager_snapshot(s->cfg.manager, with_objects,
                                SNAPSHOT_TIMEOUT_MS, &snap, &err) < 0) {
        *ret = respond_status(conn, 503, "%s", err.msg);
        wl_error_clear(&err);
        return NULL;
    }
    return snap;
}

static enum MHD_Result serve_pods(struct wl_server *s,
                                  struct MHD_Connection *conn)
{
    enum MHD_Result ret;
    struct wl_pod_snapshot *snap = snapshot(s, conn, true, &ret);
    if (!snap)
        return ret;
    json_t *items = json_array();
    for (size_t i = 0; items && i < snap->npods; i++)
        json_array_append(items, snap->pods[i].obj);
    json_t *list = items ? json_pack("{s:s, s:s, s:{}, s:o}", "kind", "PodList",
                                     "apiVersion", "v1", "metadata", "items",
                                     items)
                         : NULL;
    char *body = list ? wl_json_dump(list) : NULL;
    json_decref(list);
    wl_pod_snapshot_free(snap);
    if (!body)
        return respond_status(conn, 500, "out of memory");
    return respond(conn, 200, "application/json", body, strlen(body));
}

/* The snapshot as /stats wants it; arrays freed by stats_free. */
struct stats_set {
    struct wl_stats_node node;
    struct wl_stats_pod *pods;
    struct wl_stats_container *ctrs;
    size_t npods;
};

static int stats_collect(struct wl_server *s, const struct wl_pod_snapshot *snap,
                         struct stats_set *set, struct wl_error *err)
{
    memset(set, 0, sizeof(*set));
    if (wl_stats_node_read(s->cfg.data_dir, s->cfg.node_name, &set->node,
                           err) < 0)
        return -1;
    size_t nctrs = 0;
    for (size_t i = 0; i < snap->npods; i++)
        nctrs += snap->pods[i].nctrs;
    set->pods = calloc(snap->npods ? snap->npods : 1, sizeof(*set->pods));
    set->ctrs = calloc(nctrs ? nctrs : 1, sizeof(*set->ctrs));
    if (!set->pods || !set->ctrs)
        return wl_error_set(err, ENOMEM, "stats");
    size_t k = 0;
    for (size_t i = 0; i < snap->npods; i++) {
        const struct wl_pod_view *v = &snap->pods[i];
        struct wl_stats_pod *p = &set->pods[set->npods++];
        p->namespace_ = v->namespace_;
        p->name = v->name;
        p->uid = v->uid;
        p->start_ns = v->start_ns;
        p->ctrs = &set->ctrs[k];
        for (size_t j = 0; j < v->nctrs; j++) {
            const struct wl_pod_view_ctr *c = &v->ctrs[j];
            /* Like the kubelet: containers that run now. */
            if (!c->running)
                continue;
            set->ctrs[k++] = (struct wl_stats_container){
                .name = c->name,
                .start_ns = c->started_ns,
                .cpu_ns = c->cpu_ns,
                .memory_bytes = c->memory_bytes,
            };
            p->nctrs++;
        }
    }
    return 0;
}

static enum MHD_Result serve_stats(struct wl_server *s,
                                   struct MHD_Connection *conn, bool summary)
{
    enum MHD_Result ret;
    struct wl_pod_snapshot *snap = snapshot(s, conn, false, &ret);
    if (!snap)
        return ret;
    struct wl_error err = WL_ERROR_INIT;
    struct stats_set set;
    memset(&set, 0, sizeof(set));
    char *body = NULL;
    if (stats_collect(s, snap, &set, &err) == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
        body = summary ? wl_stats_summary_json(&set.node, set.pods, set.npods,
                                               now)
                       : wl_stats_resource_metrics(&set.node, set.pods,
                                                   set.npods, now);
        if (!body)
            wl_error_set(&err, ENOMEM, "stats");
    }
    free(set.pods);
    free(set.ctrs);
    wl_pod_snapshot_free(snap);
    if (!body) {
        enum MHD_Result r = respond_status(conn, 500, "%s", err.msg);
        wl_error_clear(&err);
        return r;
    }
    return respond(conn, 200,
                   summary ? "application/json"
                           : "text/plain; version=0.0.4; charset=utf-8",
                   body, strlen(body));
}

/* The registry's metrics, then the pods this node runs by phase. */
static enum MHD_Result serve_metrics(struct wl_server *s,
                                     struct MHD_Connection *conn)
{
    static const char *const phases[] = {"Pending", "Running", "Succeeded",
                                         "Failed", "Unknown"};
    enum MHD_Result ret;
    struct wl_pod_snapshot *snap = snapshot(s, conn, false, &ret);
    if (!snap)
        return ret;
    struct wl_metrics_out out = WL_METRICS_OUT_INIT;
    wl_metrics_out_family(&out, "wasmlet_pods", "gauge",
                          "Pods this node runs, by phase.");
    for (size_t i = 0; i < sizeof(phases) / sizeof(*phases); i++) {
        size_t n = 0;
        for (size_t k = 0; k < snap->npods; k++)
            n += !strcmp(snap->pods[k].phase, phases[i]);
        wl_metrics_out_sample(&out, "wasmlet_pods",
                              WL_LABELS("phase", phases[i]), (double)n, 0);
    }
    wl_pod_snapshot_free(snap);
    size_t plen = 0, rlen = 0;
    char *pods = wl_metrics_out_steal(&out, &plen), *reg = NULL;
    char *body = NULL;
    if (pods && wl_metrics_render(&reg, &rlen) == 0 &&
        (body = malloc(rlen + plen + 1))) {
        memcpy(body, reg, rlen);
        memcpy(body + rlen, pods, plen + 1);
    }
    free(pods);
    free(reg);
    if (!body)
        return respond_status(conn, 500, "cannot render the metrics");
    return respond(conn, 200, "text/plain; version=0.0.4; charset=utf-8", body,
                   rlen + plen);
}

/* A `kubectl logs` stream: the reader runs on this connection's thread. */
struct log_stream {
    struct wl_server *s;
    struct wl_log_reader *reader;
    int fd; /* the client's socket, to notice it going */
    bool counted; /* a follow stream, in s->log_streams */
};

static ssize_t log_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct log_stream *ls = cls;
    (void)pos;
    for (;;) {
        if (atomic_load(&ls->s->stopping))
            return MHD_CONTENT_READER_END_OF_STREAM;
        ssize_t n = wl_log_reader_read(ls->reader, buf, max, 500, ls->fd);
        if (n > 0)
            return n;
        if (n == 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (n == -1)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        /* -2: nothing yet; wait again */
    }
}

static void log_stream_free(void *cls)
{
    struct log_stream *ls = cls;
    wl_log_reader_free(ls->reader);
    if (ls->counted)
        atomic_fetch_sub(&ls->s->log_streams, 1);
    free(ls);
}

static enum MHD_Result serve_logs(struct wl_server *s,
                                  struct MHD_Connection *conn,
                                  const struct wl_route *rt)
{
    enum MHD_Result ret;
    struct wl_pod_snapshot *snap = snapshot(s, conn, false, &ret);
    if (!snap)
        return ret;
    struct wl_error err = WL_ERROR_INIT;
    const struct wl_pod_view *v =
        wl_pod_snapshot_find(snap, rt->namespace_, rt->pod);
    const struct wl_pod_view_ctr *c = NULL;
    for (size_t i = 0; v && i < v->nctrs; i++)
        if (!strcmp(v->ctrs[i].name, rt->container))
            c = &v->ctrs[i];
    if (!v) {
        ret = respond_status(conn, 404, "pod \"%s\" in namespace \"%s\" is "
                                        "not running on node \"%s\"",
                             rt->pod, rt->namespace_, s->cfg.node_name);
        goto out;
    }
    if (!c) {
        ret = respond_status(conn, 404, "container \"%s\" not found in pod "
                                        "\"%s\"",
                             rt->container, rt->pod);
        goto out;
    }
    if (!c->ran) {
        ret = respond_status(conn, 400, "container \"%s\" in pod \"%s\" is "
                                        "waiting to start: %s",
                             c->name, v->name,
                             c->waiting ? c->waiting : "ContainerCreating");
        goto out;
    }
    if (rt->previous && c->restarts == 0) {
        ret = respond_status(conn, 400, "previous terminated container "
                                        "\"%s\" in pod \"%s\" not found",
                             c->name, v->name);
        goto out;
    }
    unsigned run = rt->previous ? c->restarts - 1 : c->restarts;
    struct wl_log_opts opts = {
        .follow = rt->follow && !rt->previous,
        .tail_lines = rt->tail_lines,
        .timestamps = rt->timestamps,
        .limit_bytes = rt->limit_bytes,
    };
    if (rt->since_seconds) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        opts.since_ns = ((int64_t)ts.tv_sec - rt->since_seconds) *
                        1000000000LL + ts.tv_nsec;
    } else if (rt->since_time) {
        opts.since_ns = rt->since_time * 1000000000LL;
    }
    if (opts.follow && atomic_fetch_add(&s->log_streams, 1) >=
                           s->cfg.max_log_streams) {
        atomic_fetch_sub(&s->log_streams, 1);
        ret = respond_status(conn, 429, "too many log streams are open on "
                                        "this node (at most %u)",
                             s->cfg.max_log_streams);
        goto out;
    }
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/pods/%s/%s", s->cfg.data_dir, v->uid,
             c->name);
    struct log_stream *ls = calloc(1, sizeof(*ls));
    if (!ls || wl_log_reader_open(dir, run, &opts, &ls->reader, &err) < 0) {
        if (opts.follow)
            atomic_fetch_sub(&s->log_streams, 1);
        free(ls);
        ret = respond_status(conn, 404, "the log of container \"%s\" in pod "
                                        "\"%s\" cannot be read: %s",
                             c->name, v->name, err.msg);
        wl_error_clear(&err);
        goto out;
    }
    ls->s = s;
    ls->counted = opts.follow;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    ls->fd = ci ? ci->connect_fd : -1;
    struct MHD_Response *r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 32 * 1024, log_stream_read, ls, log_stream_free);
    if (!r) {
        log_stream_free(ls);
        ret = MHD_NO;
        goto out;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; charset=utf-8");
    if (opts.follow) /* quiet for as long as the container is */
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, 0);
    count(200);
    ret = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
out:
    wl_pod_snapshot_free(snap);
    return ret;
}

static enum MHD_Result dispatch(struct wl_server *s, struct MHD_Connection *conn,
                                const struct wl_route *rt)
{
    switch (rt->kind) {
    case WL_ROUTE_HEALTHZ:
        return respond_text(conn, 200, "text/plain; charset=utf-8", "ok");
    case WL_ROUTE_PODS:
        return serve_pods(s, conn);
    case WL_ROUTE_METRICS:
        return serve_metrics(s, conn);
    case WL_ROUTE_METRICS_RESOURCE:
        return serve_stats(s, conn, false);
    case WL_ROUTE_STATS_SUMMARY:
        return serve_stats(s, conn, true);
    case WL_ROUTE_CONTAINER_LOGS:
        return serve_logs(s, conn, rt);
    case WL_ROUTE_UNSUPPORTED: {
        /* A Status: the API server hands it to kubectl exec/attach through
         * the stream it could not upgrade, and kubectl prints its message. */
        char msg[512];
        snprintf(msg, sizeof(msg),
                 "%s is not supported for WebAssembly pods: pod \"%s\" runs "
                 "WASI modules on node \"%s\", which have no shell or "
                 "processes to %s",
                 rt->what, rt->pod, s->cfg.node_name,
                 !strcmp(rt->what, "port forwarding") ? "forward ports to"
                                                      : "enter");
        return respond_msg(conn, 400, true, msg);
    }
    }
    return respond_status(conn, 404, "not found");
}

static const char *const path_names[] = {
    [WL_ROUTE_HEALTHZ] = "healthz",
    [WL_ROUTE_PODS] = "pods",
    [WL_ROUTE_METRICS] = "metrics",
    [WL_ROUTE_METRICS_RESOURCE] = "metrics/resource",
    [WL_ROUTE_STATS_SUMMARY] = "stats/summary",
    [WL_ROUTE_CONTAINER_LOGS] = "containerLogs",
    [WL_ROUTE_UNSUPPORTED] = "unsupported",
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct wl_server *s = cls;
    struct req *rq = *con_cls;
    (void)url;
    (void)version;
    (void)upload;
    if (!rq)
        return MHD_NO;
    if (!rq->seen) { /* headers are in; the body (if any) comes next */
        rq->seen = true;
        return MHD_YES;
    }
    if (*upload_size) { /* no endpoint takes a body */
        *upload_size = 0;
        return MHD_YES;
    }
    struct wl_route rt;
    struct wl_error err = WL_ERROR_INIT;
    tl_path = "unknown";
    int code = wl_route_parse(method, rq->target ? rq->target : "", &rt, &err);
    if (!code)
        tl_path = path_names[rt.kind];
    if (code) {
        enum MHD_Result r = respond_status(conn, (unsigned)code, "%s",
                                           err.msg);
        wl_error_clear(&err);
        return r;
    }
    bool answered;
    enum MHD_Result r = authorize(s, conn, &rt, &answered);
    if (answered)
        return r;
    return dispatch(s, conn, &rt);
}

/* The raw request target, before libmicrohttpd decodes it: route.c does
 * its own decoding. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    struct req *rq = calloc(1, sizeof(*rq));
    if (rq)
        rq->target = strndup(uri, WL_ROUTE_MAX_TARGET + 1);
    return rq;
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct req *rq = *con_cls;
    if (!rq)
        return;
    free(rq->target);
    free(rq);
    *con_cls = NULL;
}

/* ---------------------------------------------------------------- start */

int wl_server_start(const struct wl_server_config *cfg, struct wl_server **ret,
                    struct wl_error *err)
{
    struct wl_server *s = calloc(1, sizeof(*s));
    if (!s)
        return wl_error_set(err, ENOMEM, "server");
    s->cfg = *cfg;
    if (!s->cfg.max_log_streams)
        s->cfg.max_log_streams = DEFAULT_MAX_LOG_STREAMS;
    if (!s->cfg.max_connections)
        s->cfg.max_connections = DEFAULT_MAX_CONNECTIONS;
    if (!s->cfg.timeout_s)
        s->cfg.timeout_s = DEFAULT_TIMEOUT_S;
    atomic_init(&s->stopping, false);
    if (wl_daemon_metrics_register(err) < 0) {
        free(s);
        return -1;
    }
    atomic_init(&s->log_streams, 0);
    if (!cfg->client_ca_pem || !*cfg->client_ca_pem) {
        free(s);
        return wl_error_set(err, 0, "kubelet API: no client CA to verify "
                                    "client certificates with "
                                    "(--client-ca-file)");
    }
    struct wl_auth_config acfg = {
        .creds = cfg->creds,
        .node_name = cfg->node_name,
        .user_agent = cfg->user_agent,
        .token_webhook = cfg->token_webhook,
    };
    if (wl_auth_new(&acfg, &s->auth, err) < 0) {
        free(s);
        return -1;
    }
    pthread_mutex_lock(&certs.lock);
    certs.cfg = &s->cfg;
    certs.checked = time(NULL);
    int r = certs_load(err);
    pthread_mutex_unlock(&certs.lock);
    if (r < 0) {
        wl_auth_free(s->auth);
        free(s);
        return -1;
    }

    struct sockaddr_storage ss;
    const char *addr = cfg->address && *cfg->address ? cfg->address : NULL;
    /* poll(), not select(): a node with ~1,000 pods has more than
     * FD_SETSIZE descriptors open, and select() cannot wait on a socket
     * numbered 1024 or above (connections were dropped: bench/run). */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                     MHD_USE_TLS | MHD_USE_ERROR_LOG;
    struct sockaddr *sa = NULL;
    if (addr) {
        bool v6;
        if (wl_listen_addr(addr, cfg->port, &ss, &v6) < 0) {
            wl_auth_free(s->auth);
            free(s);
            return wl_error_set(err, 0, "kubelet API: bad address \"%s\"",
                                addr);
        }
        if (v6)
            flags |= MHD_USE_IPv6;
        sa = (struct sockaddr *)&ss;
    } else {
        flags |= MHD_USE_DUAL_STACK;
    }
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, s,
        MHD_OPTION_HTTPS_CERT_CALLBACK, cert_callback,
        MHD_OPTION_HTTPS_MEM_TRUST, cfg->client_ca_pem,
        MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_CONNECTION_LIMIT, s->cfg.max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, s->cfg.timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_THREAD_STACK_SIZE, (size_t)THREAD_STACK,
        MHD_OPTION_EXTERNAL_LOGGER, wl_listen_mhd_log, "kubelet API",
        sa ? MHD_OPTION_SOCK_ADDR : MHD_OPTION_END, sa, MHD_OPTION_END);
    if (!s->daemon) {
        wl_auth_free(s->auth);
        free(s);
        return wl_error_set(err, errno, "kubelet API: cannot listen on "
                                        "%s:%d",
                            addr ? addr : "*", cfg->port);
    }
    log_info("kubelet API listening address=%s port=%d certificate=%s",
             addr ? addr : "*", cfg->port, certs.source);
    *ret = s;
    return 0;
}

void wl_server_stop(struct wl_server *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, true);
    MHD_stop_daemon(s->daemon); /* joins every connection thread */
    wl_auth_free(s->auth);
    pthread_mutex_lock(&certs.lock);
    pair_free(certs.cur);
    certs.cur = NULL;
    certs.cfg = NULL;
    certs.source[0] = 0;
    pthread_mutex_unlock(&certs.lock);
    free(s);
}
