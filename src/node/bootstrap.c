#include "node/bootstrap.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/bn.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "util/base64.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/log.h"
#include "util/sig.h"

#define CSR_PATH "/apis/certificates.k8s.io/v1/certificatesigningrequests"
#define SIGNER WL_SIGNER_CLIENT

/* ------------------------------------------------------------ cleanup */

static void secret_freep(char **p)
{
    if (*p) {
        OPENSSL_cleanse(*p, strlen(*p));
        free(*p);
    }
}
static void pkey_freep(EVP_PKEY **p) { EVP_PKEY_free(*p); }
static void x509_freep(X509 **p) { X509_free(*p); }
static void req_freep(X509_REQ **p) { X509_REQ_free(*p); }
static void bio_freep(BIO **p) { BIO_free(*p); }
static void kubeconfig_freep(struct wl_kubeconfig **p)
{
    wl_kubeconfig_free(*p);
}
static void client_freep(struct wl_kube_client **p)
{
    wl_kube_client_free(*p);
}

#define _cleanup_secret_ _cleanup_(secret_freep)

/* Sets err to what (printf-style), followed by OpenSSL's first queued
 * reason. */
__attribute__((format(printf, 2, 3))) static int
ssl_error(struct wl_error *err, const char *fmt, ...)
{
    unsigned long e = ERR_get_error();
    char buf[256], what[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return wl_error_set(err, 0, "%s: %s", what, e ? buf : "unknown error");
}

/* The contents of a memory BIO as a malloc'd string. */
/* Adds extension nid with the openssl config value (a constant). */
static bool add_ext(X509 *cert, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, nid, value);
    bool ok = ext && X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

static char *bio_to_string(BIO *bio)
{
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    if (len < 0)
        return NULL;
    char *s = malloc((size_t)len + 1);
    if (!s)
        return NULL;
    memcpy(s, data, (size_t)len);
    s[len] = '\0';
    return s;
}

/* ------------------------------------------------------------ CSR */

/* Adds subjectAltName (DNS names and IP addresses) to req as a requested
 * extension, which is where the signer reads the SANs of a CSR. */
static int req_add_sans(X509_REQ *req, const struct wl_csr_subject *subj,
                        struct wl_error *err)
{
    if (subj->ndns == 0 && subj->nips == 0)
        return 0;
    /* A comma inside a name would smuggle in another SAN. */
    for (size_t i = 0; i < subj->ndns; i++)
        if (strchr(subj->dns[i], ',') || !*subj->dns[i])
            return wl_error_set(err, 0, "bad DNS name \"%s\" for a "
                                        "certificate", subj->dns[i]);
    for (size_t i = 0; i < subj->nips; i++)
        if (strchr(subj->ips[i], ',') || !*subj->ips[i])
            return wl_error_set(err, 0, "bad IP address \"%s\" for a "
                                        "certificate", subj->ips[i]);
    /* Built as GENERAL_NAMEs rather than through openssl's config syntax
     * ("DNS:a,IP:b"), so no name is ever parsed as more than itself. */
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    bool ok = names != NULL;
    for (size_t i = 0; ok && i < subj->ndns; i++) {
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_IA5STRING *v = ASN1_IA5STRING_new();
        ok = g && v && ASN1_STRING_set(v, subj->dns[i], -1);
        if (ok) {
            GENERAL_NAME_set0_value(g, GEN_DNS, v);
            v = NULL;
            ok = sk_GENERAL_NAME_push(names, g) > 0;
            if (ok)
                g = NULL;
        }
        ASN1_IA5STRING_free(v);
        GENERAL_NAME_free(g);
    }
    for (size_t i = 0; ok && i < subj->nips; i++) {
        ASN1_OCTET_STRING *ip = a2i_IPADDRESS(subj->ips[i]);
        if (!ip) {
            sk_GENERAL_NAME_pop_free(names, GENERAL_NAME_free);
            ERR_clear_error();
            return wl_error_set(err, 0, "subjectAltName: \"%s\" is not an "
                                        "IP address", subj->ips[i]);
        }
        GENERAL_NAME *g = GENERAL_NAME_new();
        ok = g != NULL;
        if (ok) {
            GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
            ip = NULL;
            ok = sk_GENERAL_NAME_push(names, g) > 0;
            if (ok)
                g = NULL;
        }
        ASN1_OCTET_STRING_free(ip);
        GENERAL_NAME_free(g);
    }
    STACK_OF(X509_EXTENSION) *exts = NULL;
    ok = ok && X509V3_add1_i2d(&exts, NID_subject_alt_name, names, 0,
                               X509V3_ADD_DEFAULT) == 1 &&
         X509_REQ_add_extensions(req, exts);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    sk_GENERAL_NAME_pop_free(names, GENERAL_NAME_free);
    if (!ok)
        return ssl_error(err, "add subjectAltName");
    return 0;
}

/* A new P-256 key and a signed request for subj: the start of both a CSR
 * and a self-signed certificate. */
static int build_request(const struct wl_csr_subject *subj, EVP_PKEY **ret_pkey,
                         X509_REQ **ret_req, struct wl_error *err)
{
    _cleanup_(pkey_freep) EVP_PKEY *pkey = EVP_EC_gen("P-256");
    if (!pkey)
        return ssl_error(err, "generate P-256 key");

    _cleanup_(req_freep) X509_REQ *req = X509_REQ_new();
    if (!req)
        return ssl_error(err, "new certificate request");
    char cn[320];
    int n = snprintf(cn, sizeof(cn), "system:node:%s", subj->node_name);
    if (n < 0 || (size_t)n >= sizeof(cn))
        return wl_error_set(err, 0, "node name too long for a certificate");
    /* The kubelet's subject: the Node authorizer and NodeRestriction know
     * a node by CN system:node:<name> in group (O) system:nodes. */
    X509_NAME *name = X509_REQ_get_subject_name(req);
    if (!X509_REQ_set_version(req, 0) ||
        !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                    (const unsigned char *)"system:nodes", -1,
                                    -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                    (const unsigned char *)cn, -1, -1, 0) ||
        !X509_REQ_set_pubkey(req, pkey))
        return ssl_error(err, "build certificate request");
    if (req_add_sans(req, subj, err) < 0)
        return -1;
    if (X509_REQ_sign(req, pkey, EVP_sha256()) <= 0)
        return ssl_error(err, "sign certificate request");
    *ret_pkey = TAKE_PTR(pkey);
    *ret_req = TAKE_PTR(req);
    return 0;
}

/* The PEM of pkey (secure memory) and of the request or certificate. */
static int encode_pair(EVP_PKEY *pkey, X509_REQ *req, X509 *cert,
                       char **ret_key_pem, char **ret_pem,
                       struct wl_error *err)
{
    _cleanup_(bio_freep) BIO *kbio = BIO_new(BIO_s_secmem());
    _cleanup_(bio_freep) BIO *rbio = BIO_new(BIO_s_mem());
    if (!kbio || !rbio ||
        !PEM_write_bio_PrivateKey(kbio, pkey, NULL, NULL, 0, NULL, NULL) ||
        (req && !PEM_write_bio_X509_REQ(rbio, req)) ||
        (cert && !PEM_write_bio_X509(rbio, cert)))
        return ssl_error(err, "encode key and certificate");
    _cleanup_secret_ char *key = bio_to_string(kbio);
    _cleanup_free_ char *pem = bio_to_string(rbio);
    if (!key || !pem)
        return wl_error_set(err, ENOMEM, "certificate");
    *ret_key_pem = TAKE_PTR(key);
    *ret_pem = TAKE_PTR(pem);
    return 0;
}

int wl_bootstrap_make_csr(const struct wl_csr_subject *subj,
                          char **ret_key_pem, char **ret_csr_pem,
                          struct wl_error *err)
{
    _cleanup_(pkey_freep) EVP_PKEY *pkey = NULL;
    _cleanup_(req_freep) X509_REQ *req = NULL;
    if (build_request(subj, &pkey, &req, err) < 0)
        return -1;
    return encode_pair(pkey, req, NULL, ret_key_pem, ret_csr_pem, err);
}

int wl_bootstrap_self_signed(const struct wl_csr_subject *subj, int days,
                             char **ret_key_pem, char **ret_cert_pem,
                             struct wl_error *err)
{
    _cleanup_(pkey_freep) EVP_PKEY *pkey = NULL;
    _cleanup_(req_freep) X509_REQ *req = NULL;
    if (build_request(subj, &pkey, &req, err) < 0)
        return -1;
    _cleanup_(x509_freep) X509 *cert = X509_new();
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    bool ok = cert && exts && RAND_bytes(serial, sizeof(serial)) == 1 &&
              (bn = BN_bin2bn(serial, sizeof(serial), NULL)) &&
              BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) &&
              X509_set_version(cert, 2) &&
              X509_set_subject_name(cert, X509_REQ_get_subject_name(req)) &&
              X509_set_issuer_name(cert, X509_REQ_get_subject_name(req)) &&
              X509_set_pubkey(cert, pkey) &&
              X509_gmtime_adj(X509_getm_notBefore(cert), -3600) &&
              X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 86400);
    for (int i = 0; ok && i < sk_X509_EXTENSION_num(exts); i++)
        ok = X509_add_ext(cert, sk_X509_EXTENSION_value(exts, i), -1);
    BN_free(bn);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    ok = ok && add_ext(cert, NID_ext_key_usage, "serverAuth") &&
         add_ext(cert, NID_key_usage, "critical,digitalSignature") &&
         X509_sign(cert, pkey, EVP_sha256()) > 0;
    if (!ok)
        return ssl_error(err, "make a self-signed certificate");
    return encode_pair(pkey, NULL, cert, ret_key_pem, ret_cert_pem, err);
}

/* ------------------------------------------------------------ validity */

static int asn1_to_time(const ASN1_TIME *t, time_t *ret)
{
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm))
        return -1;
    *ret = timegm(&tm);
    return 0;
}

/* Parses the certificate and key, checks that they belong together, that
 * the certificate is valid at now and (ip not NULL) names ip in its
 * subjectAltName. kind ("client", "serving") starts the messages. */
static int cert_inspect(const char *kind, const char *cert_pem,
                        size_t cert_len, const char *key_pem, size_t key_len,
                        time_t now, const char *ip, time_t *ret_nb,
                        time_t *ret_na, struct wl_error *err)
{
    if (!cert_pem || !key_pem)
        return wl_error_set(err, 0, "no %s certificate and key", kind);
    if (cert_len > INT_MAX || key_len > INT_MAX)
        return wl_error_set(err, 0, "%s certificate too large", kind);
    _cleanup_(bio_freep) BIO *cbio = BIO_new_mem_buf(cert_pem, (int)cert_len);
    _cleanup_(bio_freep) BIO *kbio = BIO_new_mem_buf(key_pem, (int)key_len);
    if (!cbio || !kbio)
        return wl_error_set(err, ENOMEM, "%s certificate", kind);
    _cleanup_(x509_freep) X509 *cert =
        PEM_read_bio_X509(cbio, NULL, NULL, NULL);
    if (!cert)
        return ssl_error(err, "parse %s certificate", kind);
    _cleanup_(pkey_freep) EVP_PKEY *pkey =
        PEM_read_bio_PrivateKey(kbio, NULL, NULL, NULL);
    if (!pkey)
        return ssl_error(err, "parse %s key", kind);
    if (!X509_check_private_key(cert, pkey))
        return ssl_error(err, "%s key does not match certificate", kind);

    time_t nb, na;
    if (asn1_to_time(X509_get0_notBefore(cert), &nb) < 0 ||
        asn1_to_time(X509_get0_notAfter(cert), &na) < 0)
        return wl_error_set(err, 0, "%s certificate: bad validity", kind);
    if (now < nb)
        return wl_error_set(err, 0, "%s certificate not valid yet", kind);
    if (now >= na)
        return wl_error_set(err, 0, "%s certificate expired", kind);
    if (ip && X509_check_ip_asc(cert, ip, 0) != 1)
        return wl_error_set(err, 0, "%s certificate is not for IP address %s",
                            kind, ip);
    if (ret_nb)
        *ret_nb = nb;
    if (ret_na)
        *ret_na = na;
    return 0;
}

int wl_bootstrap_cert_inspect(const char *kind, const char *cert_pem, size_t cert_len,
                              const char *key_pem, size_t key_len, time_t now,
                              const char *ip, time_t *ret_not_before,
                              time_t *ret_not_after, struct wl_error *err)
{
    return cert_inspect(kind, cert_pem, cert_len, key_pem, key_len,
                        now, ip, ret_not_before, ret_not_after, err);
}

static int cert_check(const char *cert_pem, size_t cert_len,
                      const char *key_pem, size_t key_len, time_t now,
                      struct wl_error *err)
{
    time_t nb, na;
    if (cert_inspect("client", cert_pem, cert_len, key_pem,
                     key_len, now, NULL, &nb, &na, err) < 0)
        return -1;
    /* The kubelet's certificate manager rotates at 70-90% of the lifetime
     * (the node loop does at 80%, see certs.h); at start-up we only insist
     * that more than the last 10% remains. */
    if (na - now <= (na - nb) / 10)
        return wl_error_set(err, 0, "client certificate expires within 10%% "
                                    "of its lifetime");
    return 0;
}

bool wl_bootstrap_cert_usable(const char *cert_pem, size_t cert_len,
                              const char *key_pem, size_t key_len, time_t now,
                              struct wl_error *err)
{
    return cert_check(cert_pem, cert_len, key_pem, key_len, now, err) == 0;
}

/* Whether the node's kubeconfig can be used as it is; logs why not. */
static bool kubeconfig_usable(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0 && errno == ENOENT) {
        log_info("bootstrap: no kubeconfig at path=%s", path);
        return false;
    }
    struct wl_error err = WL_ERROR_INIT;
    _cleanup_(kubeconfig_freep) struct wl_kubeconfig *kc = NULL;
    if (wl_kubeconfig_load(path, NULL, &kc, &err) < 0 ||
        !wl_bootstrap_cert_usable(kc->cert_pem, kc->cert_pem_len, kc->key_pem,
                                  kc->key_pem_len, time(NULL), &err)) {
        log_info("bootstrap: kubeconfig path=%s not usable: %s", path,
                 err.msg);
        wl_error_clear(&err);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ API */

static char *base64_encode(const char *s)
{
    size_t n = strlen(s);
    if (n > INT_MAX / 2)
        return NULL;
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s,
                        (int)n);
    return out;
}

/* Decodes the certificate's standard base64 (as Go encodes a []byte). */
static char *base64_decode(const char *s)
{
    size_t n = strlen(s), len = 0;
    char *out = NULL;
    struct wl_error err = WL_ERROR_INIT;
    if (n > WL_BOOTSTRAP_MAX_CERT ||
        wl_base64_decode(s, n, "status.certificate", &out, &len, &err) < 0) {
        wl_error_clear(&err);
        return NULL;
    }
    return out;
}

int wl_bootstrap_csr_create(struct wl_kube_client *c, const char *csr_pem,
                            const char *signer, char **ret_name,
                            struct wl_error *err)
{
    /* The usages each signer insists on: kubelet-serving refuses anything
     * but (key encipherment,) digital signature and server auth; the
     * client signer the same with client auth. An ECDSA key has no use for
     * key encipherment, so it is left out as the kubelet does. */
    bool serving = !strcmp(signer, WL_SIGNER_SERVING);
    _cleanup_free_ char *b64 = base64_encode(csr_pem);
    if (!b64)
        return wl_error_set(err, ENOMEM, "create csr");
    _cleanup_(json_decrefp) json_t *body = json_pack(
        "{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:[s, s]}}", "apiVersion",
        "certificates.k8s.io/v1", "kind", "CertificateSigningRequest",
        "metadata", "generateName", serving ? "csr-" : "node-csr-", "spec",
        "request", b64, "signerName", signer, "usages", "digital signature",
        serving ? "server auth" : "client auth");
    if (!body)
        return wl_error_set(err, ENOMEM, "create csr");
    _cleanup_(json_decrefp) json_t *resp = NULL;
    if (wl_kube_request(c, "POST", CSR_PATH, NULL, body, &resp, NULL, err) <
        0)
        return wl_error_prefix(err, "create csr");
    const char *name = wl_json_str(resp, "metadata", "name", NULL);
    if (!name || !*name)
        return wl_error_set(err, 0, "create csr: no metadata.name in answer");
    char *copy = strdup(name);
    if (!copy)
        return wl_error_set(err, ENOMEM, "create csr");
    *ret_name = copy;
    return 0;
}

/* Looks at one read of the CSR: *ret_state and, when issued, *ret_cert
 * (the PEM). Denied and Failed leave the condition's message in err. */
static int csr_check(const json_t *csr, const char *name,
                     enum wl_csr_state *ret_state, char **ret_cert,
                     struct wl_error *err)
{
    bool approved = false;
    json_t *conds = wl_json_get(csr, "status", "conditions", NULL);
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c)
    {
        const char *type = wl_json_str(c, "type", NULL);
        const char *status = wl_json_str(c, "status", NULL);
        const char *msg = wl_json_str(c, "message", NULL);
        if (!type || (status && strcmp(status, "True") != 0))
            continue;
        if (!strcmp(type, "Denied") || !strcmp(type, "Failed")) {
            wl_error_set(err, 0, "csr %s %s: %s", name,
                         !strcmp(type, "Denied") ? "denied" : "failed",
                         msg && *msg ? msg : "(no message)");
            *ret_state = WL_CSR_DENIED;
            return 0;
        }
        if (!strcmp(type, "Approved"))
            approved = true;
    }
    const char *b64 = wl_json_str(csr, "status", "certificate", NULL);
    if (!approved || !b64 || !*b64) {
        *ret_state = WL_CSR_PENDING;
        return 0;
    }
    char *pem = base64_decode(b64);
    if (!pem)
        return wl_error_set(err, 0, "csr %s: status.certificate is not "
                                    "valid base64 (or too large)",
                            name);
    *ret_cert = pem;
    *ret_state = WL_CSR_ISSUED;
    return 0;
}

int wl_bootstrap_csr_poll(struct wl_kube_client *c, const char *name,
                          enum wl_csr_state *ret_state, char **ret_cert,
                          long *ret_status, struct wl_error *err)
{
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "%s/%s", CSR_PATH, name) < 0) {
        path = NULL;
        return wl_error_set(err, ENOMEM, "csr %s", name);
    }
    _cleanup_(json_decrefp) json_t *csr = NULL;
    long status = 0;
    int r = wl_kube_request(c, "GET", path, NULL, NULL, &csr, &status, err);
    if (ret_status)
        *ret_status = status;
    if (r < 0) {
        if (status == 404) {
            /* Deleted: by a human, or by the csrcleaner controller after
             * it stayed pending for a day. */
            *ret_state = WL_CSR_GONE;
            return wl_error_prefix(err, "csr %s gone", name);
        }
        return wl_error_prefix(err, "csr %s", name);
    }
    return csr_check(csr, name, ret_state, ret_cert, err);
}

/* Polls the CSR every second until it is signed (0, *ret_cert set), denied
 * or failed or timed out (-1), or a signal arrives (1). */
static int csr_wait(struct wl_kube_client *c, const char *name,
                    const struct wl_bootstrap_config *cfg, char **ret_cert,
                    struct wl_error *err)
{
    int timeout = cfg->timeout_s > 0 ? cfg->timeout_s : WL_BOOTSTRAP_TIMEOUT_S;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        enum wl_csr_state state = WL_CSR_PENDING;
        long status = 0;
        if (wl_bootstrap_csr_poll(c, name, &state, ret_cert, &status, err) <
            0) {
            /* The API server restarting is worth waiting for; a 4xx
             * (the CSR deleted, access gone) will not get better. */
            if (status >= 400 && status < 500)
                return -1;
            log_warning("bootstrap: %s", err->msg);
            wl_error_clear(err);
        } else if (state == WL_CSR_DENIED) {
            return -1;
        } else if (state == WL_CSR_ISSUED) {
            return 0;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= timeout)
            return wl_error_set(err, 0, "csr %s: not approved and signed "
                                        "after %d s",
                                name, timeout);
        int sig = wl_sig_wait(cfg->sigs, 1);
        if (sig > 0) {
            log_info("bootstrap: signal=%s while waiting for csr=%s",
                     strsignal(sig), name);
            return 1;
        }
    }
}

/* ------------------------------------------------------------ files */

int wl_bootstrap_pki_write(const char *data_dir, const char *base,
                           const char *key_pem, const char *cert_pem,
                           struct wl_error *err)
{
    _cleanup_close_ int dfd =
        open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return wl_error_set(err, errno, "open %s", data_dir);
    if (mkdirat(dfd, "pki", 0700) < 0 && errno != EEXIST)
        return wl_error_set(err, errno, "mkdir %s/pki", data_dir);
    char kpath[128], cpath[128];
    int n1 = snprintf(kpath, sizeof(kpath), "pki/%s.key", base);
    int n2 = snprintf(cpath, sizeof(cpath), "pki/%s.crt", base);
    if (n1 < 0 || (size_t)n1 >= sizeof(kpath) || n2 < 0 ||
        (size_t)n2 >= sizeof(cpath))
        return wl_error_set(err, 0, "pki file name too long");
    /* Key first: a reader that finds a certificate also finds its key (or
     * a newer one, which the certificate check then refuses). */
    if (wl_file_write_atomic(dfd, kpath, key_pem, strlen(key_pem), 0600,
                             err) < 0 ||
        wl_file_write_atomic(dfd, cpath, cert_pem, strlen(cert_pem), 0600,
                             err) < 0)
        return wl_error_prefix(err, "%s/pki", data_dir);
    return 0;
}

/* ------------------------------------------------------------ main */

int wl_bootstrap_client_cert(const struct wl_bootstrap_config *cfg,
                             struct wl_error *err)
{
    if (!cfg->kubeconfig)
        return wl_error_set(err, 0, "--bootstrap-kubeconfig needs "
                                    "--kubeconfig: the path where the node's "
                                    "credentials are written");
    if (kubeconfig_usable(cfg->kubeconfig)) {
        log_info("bootstrap: reusing client certificate in kubeconfig "
                 "path=%s",
                 cfg->kubeconfig);
        return 0;
    }

    _cleanup_(kubeconfig_freep) struct wl_kubeconfig *boot = NULL;
    _cleanup_(client_freep) struct wl_kube_client *client = NULL;
    if (wl_kubeconfig_load(cfg->bootstrap_kubeconfig, NULL, &boot, err) < 0 ||
        wl_kube_client_new(boot, cfg->user_agent, &client, err) < 0)
        return wl_error_prefix(err, "bootstrap kubeconfig");

    _cleanup_secret_ char *key = NULL;
    _cleanup_free_ char *csr_pem = NULL, *name = NULL, *cert = NULL;
    struct wl_csr_subject subj = {.node_name = cfg->node_name};
    if (wl_bootstrap_make_csr(&subj, &key, &csr_pem, err) < 0 ||
        wl_bootstrap_csr_create(client, csr_pem, SIGNER, &name, err) < 0)
        return -1;
    log_info("bootstrap: csr created name=%s signer=%s subject=system:node:%s",
             name, SIGNER, cfg->node_name);

    int r = csr_wait(client, name, cfg, &cert, err);
    if (r != 0)
        return r;
    /* A signer that hands back a certificate for another key would leave
     * us with credentials that cannot work; refuse them here. */
    if (!wl_bootstrap_cert_usable(cert, strlen(cert), key, strlen(key),
                                  time(NULL), err))
        return wl_error_prefix(err, "csr %s", name);
    log_info("bootstrap: csr approved name=%s", name);

    if (cfg->data_dir && wl_bootstrap_pki_write(cfg->data_dir,
                                                "kubelet-client", key, cert,
                                                err) < 0)
        return -1;
    if (wl_kubeconfig_write(cfg->kubeconfig, "default", boot->server,
                            boot->ca_pem, cert, key, NULL, err) < 0)
        return wl_error_prefix(err, "write %s", cfg->kubeconfig);
    log_info("bootstrap: client certificate written path=%s",
             cfg->kubeconfig);
    return 0;
}
