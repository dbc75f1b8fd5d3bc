/* TLS bootstrapping's and the certificate manager's local parts: the key
 * and CSR we send (with SANs for the serving certificate), when a
 * certificate is still good enough to keep, when it is due for rotation,
 * and the signal wait the loops sleep in. */
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "node/bootstrap.h"
#include "node/certs.h"
#include "util/sig.h"
#include "test.h"

#define DAY (24 * 3600)

/* The client certificate's request: just the node's subject. */
static int make_csr(const char *node, char **key, char **csr,
                    struct wl_error *err)
{
    struct wl_csr_subject subj = {.node_name = node};
    return wl_bootstrap_make_csr(&subj, key, csr, err);
}

static EVP_PKEY *read_key(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return k;
}

static int add_san(X509 *x, const char *san)
{
    if (!san)
        return 1;
    X509_EXTENSION *ext =
        X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
    int ok = ext && X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* A PEM certificate for key's public key, valid from now+nb to now+na,
 * self-signed with key (what matters here is only validity, key and, when
 * san is not NULL, subjectAltName in openssl's "IP:1.2.3.4" notation). */
static char *make_cert_san(const char *key_pem, time_t now, long nb, long na,
                           const char *san)
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
        X509_set_pubkey(x, key) && add_san(x, san) &&
        X509_sign(x, key, EVP_sha256()) > 0 &&
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

static char *make_cert(const char *key_pem, time_t now, long nb, long na)
{
    return make_cert_san(key_pem, now, nb, na, NULL);
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
    CHECK_INT(make_csr("wasm-1", &key, &csr, &err), 0);
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
    CHECK_INT(make_csr("n", &key, &csr, &err), 0);
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
    CHECK_INT(make_csr("n", &key, &csr, &err), 0);
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
    CHECK_INT(make_csr("n", &k1, &c1, &err), 0);
    CHECK_INT(make_csr("n", &k2, &c2, &err), 0);
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


static X509_REQ *read_req(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509_REQ *req = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return req;
}

/* The subjectAltName a CSR asks for, or NULL (caller frees). */
static GENERAL_NAMES *req_sans(X509_REQ *req)
{
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
    GENERAL_NAMES *names = NULL;
    for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
        X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
        if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) == NID_subject_alt_name)
            names = X509V3_EXT_d2i(e);
    }
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return names;
}

static void test_serving_csr_has_ip_and_dns_sans(void)
{
    struct wl_error err = WL_ERROR_INIT;
    const char *ips[] = {"127.0.0.1", "fd00::1"};
    const char *dns[] = {"wasm-host"};
    struct wl_csr_subject subj = {.node_name = "wasm-1",
                                  .dns = dns,
                                  .ndns = 1,
                                  .ips = ips,
                                  .nips = 2};
    char *key = NULL, *csr = NULL;
    CHECK_INT(wl_bootstrap_make_csr(&subj, &key, &csr, &err), 0);
    X509_REQ *req = read_req(csr);
    CHECK(req != NULL);
    char *name = X509_NAME_oneline(X509_REQ_get_subject_name(req), NULL, 0);
    CHECK_STR(name, "/O=system:nodes/CN=system:node:wasm-1");
    OPENSSL_free(name);
    EVP_PKEY *pub = X509_REQ_get_pubkey(req);
    CHECK(pub && X509_REQ_verify(req, pub) == 1);
    EVP_PKEY_free(pub);

    GENERAL_NAMES *sans = req_sans(req);
    CHECK(sans != NULL);
    CHECK_INT(sk_GENERAL_NAME_num(sans), 3);
    int type;
    const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, 0);
    ASN1_STRING *v = GENERAL_NAME_get0_value(g, &type);
    CHECK_INT(type, GEN_DNS);
    CHECK_INT(ASN1_STRING_length(v), 9);
    CHECK(memcmp(ASN1_STRING_get0_data(v), "wasm-host", 9) == 0);
    v = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(sans, 1), &type);
    CHECK_INT(type, GEN_IPADD);
    CHECK_INT(ASN1_STRING_length(v), 4);
    CHECK(memcmp(ASN1_STRING_get0_data(v), "\x7f\x00\x00\x01", 4) == 0);
    v = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(sans, 2), &type);
    CHECK_INT(type, GEN_IPADD);
    CHECK_INT(ASN1_STRING_length(v), 16);
    CHECK_INT(ASN1_STRING_get0_data(v)[0], 0xfd);
    CHECK_INT(ASN1_STRING_get0_data(v)[15], 0x01);
    GENERAL_NAMES_free(sans);
    X509_REQ_free(req);
    free(key);
    free(csr);
}

static void test_client_csr_has_no_sans(void)
{
    struct wl_error err = WL_ERROR_INIT;
    char *key = NULL, *csr = NULL;
    CHECK_INT(make_csr("wasm-1", &key, &csr, &err), 0);
    X509_REQ *req = read_req(csr);
    CHECK(req != NULL);
    CHECK(req_sans(req) == NULL);
    X509_REQ_free(req);
    free(key);
    free(csr);
}

static void test_csr_refuses_bad_sans(void)
{
    struct wl_error err = WL_ERROR_INIT;
    char *key = NULL, *csr = NULL;
    const char *bad_ip[] = {"not-an-ip"};
    struct wl_csr_subject s1 = {.node_name = "n", .ips = bad_ip, .nips = 1};
    CHECK_INT(wl_bootstrap_make_csr(&s1, &key, &csr, &err), -1);
    CHECK_CONTAINS(err.msg, "subjectAltName");
    wl_error_clear(&err);
    /* A comma would add a SAN of the caller's choosing. */
    const char *smuggle[] = {"host,IP:10.0.0.1"};
    struct wl_csr_subject s2 = {.node_name = "n", .dns = smuggle, .ndns = 1};
    CHECK_INT(wl_bootstrap_make_csr(&s2, &key, &csr, &err), -1);
    CHECK_CONTAINS(err.msg, "bad DNS name");
    wl_error_clear(&err);
    CHECK(key == NULL && csr == NULL);
}

static void test_inspect_checks_ip_san_and_reports_validity(void)
{
    struct wl_error err = WL_ERROR_INIT;
    char *key = NULL, *csr = NULL;
    time_t now = time(NULL), nb = 0, na = 0;
    CHECK_INT(make_csr("n", &key, &csr, &err), 0);
    char *cert = make_cert_san(key, now, -DAY, 9 * DAY, "IP:127.0.0.1");
    CHECK(cert != NULL);
    CHECK_INT(wl_bootstrap_cert_inspect("serving", cert, strlen(cert), key,
                                        strlen(key), now, "127.0.0.1", &nb,
                                        &na, &err),
              0);
    CHECK_INT((long)(nb - now), -DAY);
    CHECK_INT((long)(na - now), 9 * DAY);
    CHECK_INT(wl_bootstrap_cert_inspect("serving", cert, strlen(cert), key,
                                        strlen(key), now, "10.1.2.3", NULL,
                                        NULL, &err),
              -1);
    CHECK_STR(err.msg, "serving certificate is not for IP address 10.1.2.3");
    wl_error_clear(&err);
    CHECK_INT(wl_bootstrap_cert_inspect("serving", cert, strlen(cert), key,
                                        strlen(key), now + 10 * DAY, NULL,
                                        NULL, NULL, &err),
              -1);
    CHECK_STR(err.msg, "serving certificate expired");
    wl_error_clear(&err);
    free(cert);
    free(key);
    free(csr);
}

static void test_rotation_deadline_is_80_percent_of_lifetime(void)
{
    CHECK_INT((long)wl_certs_rotation_deadline(1000, 1000 + 100 * DAY),
              1000 + 80 * DAY);
    /* A one-year certificate issued at the epoch. */
    CHECK_INT((long)wl_certs_rotation_deadline(0, 365 * DAY),
              292 * DAY);
    /* Lifetimes not divisible by 100 round down, never past 80%. */
    CHECK_INT((long)wl_certs_rotation_deadline(10, 19), 17);
    CHECK_INT((long)wl_certs_rotation_deadline(0, 1234), 987);
    /* Empty or inverted validity: due at once. */
    CHECK_INT((long)wl_certs_rotation_deadline(500, 500), 500);
    CHECK_INT((long)wl_certs_rotation_deadline(500, 100), 500);
}

static void test_rotation_deadline_does_not_overflow(void)
{
    /* 9999-12-31T23:59:59Z, what some CAs use for "never". */
    time_t forever = (time_t)253402300799LL;
    time_t at = wl_certs_rotation_deadline(0, forever);
    CHECK((int64_t)at == (int64_t)253402300799LL / 100 * 80 +
                             (int64_t)253402300799LL % 100 * 80 / 100);
    CHECK(at > 0 && at < forever);
    time_t big = (time_t)INT64_MAX;
    at = wl_certs_rotation_deadline(-big, big);
    CHECK(at >= -big && at < big);
}

static void test_sig_wait_returns_signal_or_zero(void)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK_INT(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
    CHECK_INT(wl_sig_wait(&set, 0), 0);
    CHECK_INT(raise(SIGUSR1), 0);
    CHECK_INT(wl_sig_wait(&set, 5), SIGUSR1);
    time_t t0 = time(NULL);
    CHECK_INT(wl_sig_wait(&set, 1), 0);
    CHECK(time(NULL) - t0 >= 1);
    CHECK_INT(wl_sig_wait(NULL, 0), 0);
    CHECK_INT(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
}

WL_TEST_MAIN(WL_T(test_csr_has_node_subject_and_p256_key),
             WL_T(test_fresh_certificate_is_reused),
             WL_T(test_expired_or_last_tenth_certificate_is_replaced),
             WL_T(test_certificate_for_another_key_is_replaced),
             WL_T(test_bootstrap_kubeconfig_requires_kubeconfig),
             WL_T(test_serving_csr_has_ip_and_dns_sans),
             WL_T(test_client_csr_has_no_sans),
             WL_T(test_csr_refuses_bad_sans),
             WL_T(test_inspect_checks_ip_san_and_reports_validity),
             WL_T(test_rotation_deadline_is_80_percent_of_lifetime),
             WL_T(test_rotation_deadline_does_not_overflow),
             WL_T(test_sig_wait_returns_signal_or_zero))
