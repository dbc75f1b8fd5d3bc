/* Client-certificate TLS bootstrapping, as the kubelet does it with
 * --bootstrap-kubeconfig.
 *
 * When the node's kubeconfig is missing, unreadable, or holds a client
 * certificate that is expired or in the last 10% of its lifetime, a new
 * ECDSA P-256 key is made and a CertificateSigningRequest
 * (certificates.k8s.io/v1, signer kubernetes.io/kube-apiserver-client-kubelet,
 * subject CN=system:node:<name>, O=system:nodes) is sent with the
 * bootstrap credentials. Once the CSR is approved and signed, the node's
 * kubeconfig is written (server and CA from the bootstrap kubeconfig, the
 * signed certificate and the key) and a copy of the key and certificate is
 * kept in <data-dir>/pki/kubelet-client.{key,crt}.
 *
 * The CSR pieces (key and request, create, poll, files in <data-dir>/pki)
 * are shared with the node loop's certificate manager (node/certs.h), which
 * gets the serving certificate and rotates both while running.
 */
#ifndef WL_NODE_BOOTSTRAP_H
#define WL_NODE_BOOTSTRAP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "kube/client.h"
#include "util/error.h"

/* The signers of the kubelet's two certificates. */
#define WL_SIGNER_CLIENT "kubernetes.io/kube-apiserver-client-kubelet"
#define WL_SIGNER_SERVING "kubernetes.io/kubelet-serving"

/* How long to wait for the CSR to be approved and signed. */
#define WL_BOOTSTRAP_TIMEOUT_S 300

/* Largest certificate accepted from status.certificate (base64). */
#define WL_BOOTSTRAP_MAX_CERT (256 * 1024)

struct wl_bootstrap_config {
    const char *bootstrap_kubeconfig; /* credentials allowed to create CSRs */
    const char *kubeconfig;           /* the node's kubeconfig to check/write */
    const char *node_name;
    const char *data_dir;   /* <data_dir>/pki gets a copy; NULL: no copy */
    const char *user_agent; /* sent to the API server */
    int timeout_s;          /* 0: WL_BOOTSTRAP_TIMEOUT_S */
    const sigset_t *sigs;   /* blocked signals that interrupt the wait, or
                               NULL */
};

/* Makes sure cfg->kubeconfig holds a usable client certificate, getting one
 * through a CSR when it does not (see above). Returns 0 when the kubeconfig
 * is usable (reused or newly written), 1 when one of cfg->sigs arrived while
 * waiting (nothing written), or -1 with err saying which step failed
 * ("csr node-csr-abcde denied: <message>", "csr ...: not signed after
 * 300 s", "create csr: POST ...: 403 Forbidden: ..."). Logs each step at
 * info level; never logs the key. */
int wl_bootstrap_client_cert(const struct wl_bootstrap_config *cfg,
                             struct wl_error *err);

/* What a node's certificate request asks for: always CN=system:node:<name>,
 * O=system:nodes (how the Node authorizer and the kubelet-serving signer
 * know a node); optionally subjectAltName DNS names and IP addresses (the
 * serving certificate's). Strings are borrowed. */
struct wl_csr_subject {
    const char *node_name;
    const char *const *dns; /* DNS SANs */
    size_t ndns;
    const char *const *ips; /* IP SANs, textual IPv4 or IPv6 */
    size_t nips;
};

/* Makes a new ECDSA P-256 key and a PEM certificate request for subj,
 * signed with it. On success *ret_key_pem (PKCS#8 PEM) and *ret_csr_pem are
 * malloc'd strings the caller frees (wipe the key first); on failure they
 * are untouched and err says why (a name too long, an IP that does not
 * parse, a name with a comma). */
int wl_bootstrap_make_csr(const struct wl_csr_subject *subj, char **ret_key_pem,
                          char **ret_csr_pem, struct wl_error *err);

/* Makes a new key and a certificate for subj signed by that key, valid
 * for days, with extended key usage serverAuth: the serving certificate a
 * kubelet uses until (or instead of) one the cluster signs. */
int wl_bootstrap_self_signed(const struct wl_csr_subject *subj, int days,
                             char **ret_key_pem, char **ret_cert_pem,
                             struct wl_error *err);

/* POSTs a certificates.k8s.io/v1 CertificateSigningRequest for csr_pem to
 * signer (WL_SIGNER_CLIENT: usages digital signature + client auth,
 * generateName node-csr-; WL_SIGNER_SERVING: digital signature + server
 * auth, generateName csr-). *ret_name (malloc'd) is the name the API
 * server generated. Fails with err "create csr: POST ...: 403 ...". */
int wl_bootstrap_csr_create(struct wl_kube_client *c, const char *csr_pem,
                            const char *signer, char **ret_name,
                            struct wl_error *err);

enum wl_csr_state {
    WL_CSR_PENDING, /* not approved yet, or approved and not yet signed */
    WL_CSR_ISSUED,  /* status.certificate is set */
    WL_CSR_DENIED,  /* Denied or Failed: err holds the condition's message */
    WL_CSR_GONE,    /* 404: deleted (the csrcleaner removes stale ones) */
};

/* Reads CSR name once. Returns 0 with *ret_state PENDING, ISSUED
 * (*ret_cert is the malloc'd PEM certificate) or DENIED (err reads "csr
 * NAME denied: <message>"; the caller clears it). Returns -1 with err set
 * when the read failed; *ret_state is then GONE for a 404 and untouched
 * otherwise. *ret_status (may be NULL) gets the HTTP status, 0 for none. */
int wl_bootstrap_csr_poll(struct wl_kube_client *c, const char *name,
                          enum wl_csr_state *ret_state, char **ret_cert,
                          long *ret_status, struct wl_error *err);

/* Writes <data_dir>/pki/<base>.key and <base>.crt (e.g. base
 * "kubelet-server"), each atomically with mode 0600, key first, making
 * pki/ (0700) when missing. */
int wl_bootstrap_pki_write(const char *data_dir, const char *base,
                           const char *key_pem, const char *cert_pem,
                           struct wl_error *err);

/* Checks that cert_pem parses, that key_pem is its key, that it is valid
 * at now and, when ip is not NULL, that its subjectAltName has IP address
 * ip. kind ("client", "serving") starts the messages in err ("serving
 * certificate expired"). On success *ret_not_before / *ret_not_after (each
 * may be NULL) get its validity. */
int wl_bootstrap_cert_inspect(const char *kind, const char *cert_pem,
                              size_t cert_len, const char *key_pem,
                              size_t key_len, time_t now, const char *ip,
                              time_t *ret_not_before, time_t *ret_not_after,
                              struct wl_error *err);

/* Whether the PEM certificate cert_pem (with its private key key_pem) is
 * still good at now: it parses, the key matches, it is valid now and more
 * than 10% of its lifetime (notBefore..notAfter) remains, the point at
 * which the kubelet's certificate manager rotates. When it is not, err says
 * why. Exposed for the unit tests. */
bool wl_bootstrap_cert_usable(const char *cert_pem, size_t cert_len,
                              const char *key_pem, size_t key_len, time_t now,
                              struct wl_error *err);

#endif
