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
 * Serving certificates and rotation of the client certificate while running
 * are not done: a certificate near its end is only replaced at start-up.
 */
#ifndef WL_NODE_BOOTSTRAP_H
#define WL_NODE_BOOTSTRAP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/error.h"

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

/* Makes a new ECDSA P-256 key and a PEM certificate request for
 * CN=system:node:<node_name>, O=system:nodes signed with it. On success
 * *ret_key_pem (PKCS#8 PEM) and *ret_csr_pem are malloc'd strings the caller
 * frees (wipe the key first); on failure they are untouched. Exposed for
 * the unit tests. */
int wl_bootstrap_make_csr(const char *node_name, char **ret_key_pem,
                          char **ret_csr_pem, struct wl_error *err);

/* Whether the PEM certificate cert_pem (with its private key key_pem) is
 * still good at now: it parses, the key matches, it is valid now and more
 * than 10% of its lifetime (notBefore..notAfter) remains, the point at
 * which the kubelet's certificate manager rotates. When it is not, err says
 * why. Exposed for the unit tests. */
bool wl_bootstrap_cert_usable(const char *cert_pem, size_t cert_len,
                              const char *key_pem, size_t key_len, time_t now,
                              struct wl_error *err);

#endif
