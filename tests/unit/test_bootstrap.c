/* TLS bootstrapping's local parts: the key and CSR we send, and when a
 * client certificate is still good enough to reuse. */
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "node/bootstrap.h"
#include "test.h"

#define DAY (24 * 3600)

static EVP_PKEY *read_key(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return k;
}

/* A PEM certificate for key's public key, valid from now+nb to now+na,
 * self-signed with key (what matters here is only validity and key). */
static char *make_cert(const char *key_pem, time_t now, long nb, long na)
{
    EVP_PKEY *key = read_key(key_pem);
    X509 *x = X509_new();
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (key && x && b && X509_set_version(x, 2) &&
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
        X509_time_adj_ex(X509_getm_notBefore(x), 0, nb, &now) &&
        X509_time_adj_ex(X509_getm_notAfter(x), 0, na, &now) &&
        X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
                                   MBSTRING_UTF8,
                                   (const unsigned char *)"t", -1, -1, 0) &&
        X509_set_issuer_name(x, X509_get_subject_name(x)) &&
        X509_set_pubkey(x, key) && X509_sign(x, key, EVP_sha256()) > 0 &&
        PEM_write_bio_X509(b, x)) {
        char *data;
        long len = BIO_get_mem_data(b, &data);
        out = strndup(data, (size_t)len);
    }
    BIO_free(b);
    X509_free(x);
    EVP_PKEY_free(key);
    return out;
}

static bool usable(const char *cert, const char *key, time_t now)
{
    struct wl_error err = WL_ERROR_INIT;
    bool ok = wl_bootstrap_cert_usable(cert, strlen(cert), key, strlen(key),
                                       now, &err);
    wl_error_clear(&err);
    return ok;
}

static void test_csr_has_node_subject_and_p256_key(void)
{
    struct wl_error err = WL_ERROR_INIT;
    char *key = NULL, *csr = NULL;
    CHECK_INT(wl_bootstrap_make_csr("wasm-1", &key, &csr, &err), 0);
    CHECK_CONTAINS(key, "-----BEGIN PRIVATE KEY-----");
    CHECK_CONTAINS(csr, "-----BEGIN CERTIFICATE REQUEST-----");

    BIO *b = BIO_new_mem_buf(csr, -1);
    X509_REQ *req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
    BIO_free(b);
    CHECK(req != NULL);
    char *subj = X509_NAME_oneline(X509_REQ_get_subject_name(req), NULL, 0);
    CHECK_STR(subj, "/O=system:nodes/CN=system:node:wasm-1");
    OPENSSL_free(subj);
    EVP_PKEY *pub = X509_REQ_get_pubkey(req);
    CHECK(pub != NULL);
    CHECK(X509_REQ_verify(req, pub) == 1);
    char group[32];
    CHECK(EVP_PKEY_get_group_name(pub, group, sizeof(group), NULL) == 1);
    CHECK_STR(group, "prime256v1");
    EVP_PKEY_free(pub);
    X509_REQ_free(req);
    free(key);
    free(csr);
}

static void test_fresh_certificate_is_reused(void)
{
    struct wl_error err = WL_ERROR_INIT;
    char *key = NULL, *csr = NULL;
    time_t now = time(NULL);
    CHECK_INT(wl_bootstrap_make_csr("n", &key, &csr, &err), 0);
    char *cert = make_cert(key, now, -DAY, 364 * DAY);
    CHECK(cert != NULL);
    CHECK(usable(cert, key, now));
    free(cert);
    free(key);
    free(csr);
}

static void test_expired_or_last_tenth_certificate_is_replaced(void)
{
    struct wl_error err = WL_ERROR_INIT;
    char *key = NULL, *csr = NULL;
    time_t now = time(NULL);
    CHECK_INT(wl_bootstrap_make_csr("n", &key, &csr, &err), 0);
    /* 100 days of lifetime, 9 left: inside the last 10%. */
    char *late = make_cert(key, now, -91 * DAY, 9 * DAY);
    char *expired = make_cert(key, now, -10 * DAY, -DAY);
    char *future = make_cert(key, now, DAY, 10 * DAY);
    CHECK(late && expired && future);
    CHECK(!usable(late, key, now));
    CHECK(!usable(expired, key, now));
    CHECK(!usable(future, key, now));
    CHECK(!wl_bootstrap_cert_usable(expired, strlen(expired), key,
                                    strlen(key), now, &err));
    CHECK_STR(err.msg, "client certificate expired");
    wl_error_clear(&err);
    free(late);
    free(expired);
    free(future);
    free(key);
    free(csr);
}

static void test_certificate_for_another_key_is_replaced(void)
{
    struct wl_error err = WL_ERROR_INIT;
    char *k1 = NULL, *k2 = NULL, *c1 = NULL, *c2 = NULL;
    time_t now = time(NULL);
    CHECK_INT(wl_bootstrap_make_csr("n", &k1, &c1, &err), 0);
    CHECK_INT(wl_bootstrap_make_csr("n", &k2, &c2, &err), 0);
    char *cert = make_cert(k1, now, -DAY, 100 * DAY);
    CHECK(cert != NULL);
    CHECK(!wl_bootstrap_cert_usable(cert, strlen(cert), k2, strlen(k2), now,
                                    &err));
    CHECK_CONTAINS(err.msg, "client key does not match certificate");
    wl_error_clear(&err);
    CHECK(!usable("garbage", k1, now));
    free(cert);
    free(k1);
    free(k2);
    free(c1);
    free(c2);
}

static void test_bootstrap_kubeconfig_requires_kubeconfig(void)
{
    struct wl_config cfg;
    struct wl_error err = WL_ERROR_INIT;
    unsetenv("WASMLET_KUBECONFIG");
    char *argv[] = {"serve", "--bootstrap-kubeconfig", "/b", NULL};
    CHECK_INT(wl_config_parse(3, argv, &cfg, &err), -1);
    CHECK_CONTAINS(err.msg, "--bootstrap-kubeconfig needs --kubeconfig");
    wl_error_clear(&err);
    wl_config_clear(&cfg);

    char *argv2[] = {"serve", "--bootstrap-kubeconfig", "/b", "--kubeconfig",
                     "/k", NULL};
    CHECK_INT(wl_config_parse(5, argv2, &cfg, &err), 0);
    CHECK_STR(cfg.bootstrap_kubeconfig, "/b");
    CHECK_STR(cfg.kubeconfig, "/k");
    wl_config_clear(&cfg);
}

WL_TEST_MAIN(WL_T(test_csr_has_node_subject_and_p256_key),
             WL_T(test_fresh_certificate_is_reused),
             WL_T(test_expired_or_last_tenth_certificate_is_replaced),
             WL_T(test_certificate_for_another_key_is_replaced),
             WL_T(test_bootstrap_kubeconfig_requires_kubeconfig))
