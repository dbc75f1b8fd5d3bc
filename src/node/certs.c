#include "node/certs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "kube/kubeconfig.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/log.h"

/* Largest certificate or key file read from pki/. */
#define PKI_MAX_FILE (256 * 1024)

static void secret_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}
static void secret_freep(char **p)
{
    secret_free(*p);
}
static void kubeconfig_freep(struct wl_kubeconfig **p)
{
    wl_kubeconfig_free(*p);
}

time_t wl_certs_rotation_deadline(time_t not_before, time_t not_after)
{
    if (not_after <= not_before)
        return not_before;
    /* Unsigned, and divided before multiplying, so that no validity (the
     * 9999-12-31 of "never expires" certificates, a notBefore before 1970)
     * can overflow: part < life, so not_before + part lies between the
     * two. */
    uint64_t life =
        (uint64_t)(int64_t)not_after - (uint64_t)(int64_t)not_before;
    uint64_t part = life / 100 * WL_CERTS_ROTATE_PERCENT +
                    life % 100 * WL_CERTS_ROTATE_PERCENT / 100;
    return (time_t)(int64_t)((uint64_t)(int64_t)not_before + part);
}

void wl_certs_init(struct wl_certs *certs, const struct wl_certs_config *cfg)
{
    memset(certs, 0, sizeof(*certs));
    certs->cfg = cfg;
    certs->serving.kind = "serving";
    certs->client.kind = "client";
}

static void slot_drop_pending(struct wl_cert_slot *slot)
{
    free(slot->csr_name);
    slot->csr_name = NULL;
    secret_free(slot->key_pem);
    slot->key_pem = NULL;
}

void wl_certs_clear(struct wl_certs *certs)
{
    if (!certs)
        return;
    slot_drop_pending(&certs->serving);
    slot_drop_pending(&certs->client);
}

static bool is_serving(const struct wl_certs *certs,
                       const struct wl_cert_slot *slot)
{
    return slot == &certs->serving;
}

/* The serving certificate's files, read; -1 when they cannot be. */
static int serving_read(const struct wl_certs_config *cfg, char **ret_cert,
                        size_t *ret_cert_len, char **ret_key,
                        size_t *ret_key_len, struct wl_error *err)
{
    _cleanup_close_ int dfd =
        open(cfg->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return wl_error_set(err, errno, "open %s", cfg->data_dir);
    uint8_t *cert = NULL, *key = NULL;
    if (wl_file_read(dfd, "pki/kubelet-server.crt", PKI_MAX_FILE, &cert,
                     ret_cert_len, err) < 0)
        return -1;
    if (wl_file_read(dfd, "pki/kubelet-server.key", PKI_MAX_FILE, &key,
                     ret_key_len, err) < 0) {
        free(cert);
        return -1;
    }
    *ret_cert = (char *)cert;
    *ret_key = (char *)key;
    return 0;
}

/* Whether slot's current certificate is good and before its rotation
 * deadline; when good, slot->rotate_at is set. why says why not. */
static bool slot_current_ok(struct wl_certs *certs, struct wl_cert_slot *slot,
                            time_t now, struct wl_error *why)
{
    const struct wl_certs_config *cfg = certs->cfg;
    time_t nb = 0, na = 0;
    int r;
    if (is_serving(certs, slot)) {
        _cleanup_free_ char *cert = NULL;
        _cleanup_(secret_freep) char *key = NULL;
        size_t clen = 0, klen = 0;
        r = serving_read(cfg, &cert, &clen, &key, &klen, why);
        if (r == 0)
            r = wl_bootstrap_cert_inspect("serving", cert, clen, key, klen, now,
                                          cfg->node_ip, &nb, &na, why);
    } else {
        _cleanup_(kubeconfig_freep) struct wl_kubeconfig *kc = NULL;
        r = wl_kubeconfig_load(cfg->kubeconfig, NULL, &kc, why);
        if (r == 0)
            r = wl_bootstrap_cert_inspect(
                "client", kc->cert_pem, kc->cert_pem_len, kc->key_pem,
                kc->key_pem_len, now, NULL, &nb, &na, why);
    }
    if (r < 0)
        return false;
    time_t at = wl_certs_rotation_deadline(nb, na);
    if (now >= at) {
        wl_error_set(why, 0, "%s certificate passed %d%% of its lifetime",
                     slot->kind, WL_CERTS_ROTATE_PERCENT);
        return false;
    }
    slot->rotate_at = at;
    return true;
}

/* Makes a key and CSR for slot and sends it; remembers both. */
static int slot_request(struct wl_certs *certs, struct wl_cert_slot *slot,
                        struct wl_kube_client *client, struct wl_error *err)
{
    const struct wl_certs_config *cfg = certs->cfg;
    const char *ips[1] = {cfg->node_ip};
    const char *dns[1] = {cfg->hostname};
    struct wl_csr_subject subj = {.node_name = cfg->node_name};
    const char *signer = WL_SIGNER_CLIENT;
    if (is_serving(certs, slot)) {
        signer = WL_SIGNER_SERVING;
        subj.ips = ips;
        subj.nips = cfg->node_ip && *cfg->node_ip ? 1 : 0;
        subj.dns = dns;
        subj.ndns = cfg->hostname && *cfg->hostname ? 1 : 0;
    }
    _cleanup_(secret_freep) char *key = NULL;
    _cleanup_free_ char *csr = NULL, *name = NULL;
    if (wl_bootstrap_make_csr(&subj, &key, &csr, err) < 0 ||
        wl_bootstrap_csr_create(client, csr, signer, &name, err) < 0)
        return wl_error_prefix(err, "%s certificate", slot->kind);
    log_info("certificate: csr created name=%s signer=%s kind=%s "
             "subject=system:node:%s",
             name, signer, slot->kind, cfg->node_name);
    slot->csr_name = TAKE_PTR(name);
    slot->key_pem = TAKE_PTR(key);
    return 0;
}

/* Writes an issued serving certificate to pki/. */
static int serving_store(struct wl_certs *certs, const char *cert,
                         struct wl_error *err)
{
    const struct wl_certs_config *cfg = certs->cfg;
    if (wl_bootstrap_pki_write(cfg->data_dir, "kubelet-server",
                               certs->serving.key_pem, cert, err) < 0)
        return -1;
    log_info("serving certificate written path=%s/pki/kubelet-server.crt "
             "csr=%s",
             cfg->data_dir, certs->serving.csr_name);
    return 0;
}

/* Writes an issued client certificate into the kubeconfig (server and CA
 * as they are) and pki/, and makes a client that uses it. */
static int client_store(struct wl_certs *certs, const char *cert,
                        struct wl_kube_client **ret_client,
                        struct wl_error *err)
{
    const struct wl_certs_config *cfg = certs->cfg;
    const char *key = certs->client.key_pem;
    _cleanup_(kubeconfig_freep) struct wl_kubeconfig *old = NULL;
    _cleanup_(kubeconfig_freep) struct wl_kubeconfig *kc = NULL;
    if (wl_kubeconfig_load(cfg->kubeconfig, NULL, &old, err) < 0)
        return -1;
    if (cfg->data_dir && wl_bootstrap_pki_write(cfg->data_dir, "kubelet-client",
                                                key, cert, err) < 0)
        return -1;
    if (wl_kubeconfig_write(cfg->kubeconfig, "default", old->server,
                            old->ca_pem, cert, key, NULL, err) < 0)
        return wl_error_prefix(err, "write %s", cfg->kubeconfig);
    log_info("client certificate rotated path=%s csr=%s", cfg->kubeconfig,
             certs->client.csr_name);
    if (wl_kubeconfig_load(cfg->kubeconfig, NULL, &kc, err) < 0 ||
        wl_kube_client_new(kc, cfg->user_agent, ret_client, err) < 0)
        return wl_error_prefix(err, "reload %s", cfg->kubeconfig);
    return 0;
}

/* Reads slot's pending CSR and acts on what it says. */
static int slot_poll(struct wl_certs *certs, struct wl_cert_slot *slot,
                     struct wl_kube_client *client, time_t now,
                     struct wl_kube_client **ret_client, struct wl_error *err)
{
    enum wl_csr_state state = WL_CSR_PENDING;
    _cleanup_free_ char *cert = NULL;
    if (wl_bootstrap_csr_poll(client, slot->csr_name, &state, &cert, NULL,
                              err) < 0) {
        if (state == WL_CSR_GONE)
            slot_drop_pending(slot); /* ask again on the next tick */
        return wl_error_prefix(err, "%s certificate", slot->kind);
    }
    if (state == WL_CSR_PENDING)
        return 0;
    if (state == WL_CSR_DENIED) {
        log_error("certificate: kind=%s %s (next request in %d s)", slot->kind,
                  err->msg, WL_CERTS_DENIED_BACKOFF_S);
        wl_error_clear(err);
        slot_drop_pending(slot);
        slot->retry_after = now + WL_CERTS_DENIED_BACKOFF_S;
        return 0;
    }
    bool serving = is_serving(certs, slot);
    time_t nb, na;
    int r = wl_bootstrap_cert_inspect(
        slot->kind, cert, strlen(cert), slot->key_pem, strlen(slot->key_pem),
        now, serving ? certs->cfg->node_ip : NULL, &nb, &na, err);
    if (r < 0) {
        /* A signer handing back something unusable will likely do it
         * again: treat it like a denial. */
        wl_error_prefix(err, "%s certificate from csr %s", slot->kind,
                        slot->csr_name);
        slot_drop_pending(slot);
        slot->retry_after = now + WL_CERTS_DENIED_BACKOFF_S;
        return -1;
    }
    r = serving ? serving_store(certs, cert, err)
                : client_store(certs, cert, ret_client, err);
    if (r < 0)
        return wl_error_prefix(err, "%s certificate", slot->kind);
    slot->rotate_at = wl_certs_rotation_deadline(nb, na);
    slot_drop_pending(slot);
    return 0;
}

static int slot_tick(struct wl_certs *certs, struct wl_cert_slot *slot,
                     struct wl_kube_client *client, time_t now,
                     struct wl_kube_client **ret_client, struct wl_error *err)
{
    if (slot->csr_name)
        return slot_poll(certs, slot, client, now, ret_client, err);
    if (now < slot->retry_after)
        return 0;
    if (slot->rotate_at && now < slot->rotate_at)
        return 0;
    struct wl_error why = WL_ERROR_INIT;
    slot->rotate_at = 0;
    if (slot_current_ok(certs, slot, now, &why))
        return 0;
    log_info("certificate: kind=%s needs a new one: %s", slot->kind,
             why.msg ? why.msg : "unknown");
    wl_error_clear(&why);
    return slot_request(certs, slot, client, err);
}

int wl_certs_tick(struct wl_certs *certs, struct wl_kube_client *client,
                  time_t now, struct wl_kube_client **ret_client,
                  struct wl_error *err)
{
    struct wl_error second = WL_ERROR_INIT;
    int r = slot_tick(certs, &certs->serving, client, now, NULL, err);
    if (certs->cfg->kubeconfig) {
        struct wl_error *e = r < 0 ? &second : err;
        if (slot_tick(certs, &certs->client, client, now, ret_client, e) < 0)
            r = -1;
        if (second.msg)
            log_warning("%s", second.msg);
    }
    wl_error_clear(&second);
    return r;
}
