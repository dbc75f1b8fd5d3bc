/* wasmlet serve: join the cluster as a node and keep it alive. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "cli/cli.h"
#include "config.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "node/bootstrap.h"
#include "node/certs.h"
#include "node/mirror.h"
#include "node/node.h"
#include "oci/puller.h"
#include "pod/manager.h"
#include "runtime/engine.h"
#include "runtime/module_cache.h"
#include "server/healthz.h"
#include "server/server.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/sig.h"
#include "util/time.h"
#include "version.h"

/* Backoff between failed API calls at start-up and in the loop. */
#define RETRY_MIN_S 1
#define RETRY_MAX_S 10

static int next_retry(int cur)
{
    int n = cur * 2;
    return n > RETRY_MAX_S ? RETRY_MAX_S : n;
}

struct pods;
static void pods_stop(struct pods *p);

/* systemd's service watchdog (WatchdogSec=, sd_watchdog_enabled(3)): the
 * node loop sends WATCHDOG=1 every half of WATCHDOG_USEC, as systemd
 * advises, from the thread that does the node's work, so a wedged loop
 * is restarted. Without $NOTIFY_SOCKET every sd_notify() is a no-op. */
struct watchdog {
    double interval_s; /* 0: no watchdog asked for */
    double next_s;     /* wl_now_s() when the next WATCHDOG=1 is due */
};

static void watchdog_init(struct watchdog *wd)
{
    uint64_t usec = 0;
    *wd = (struct watchdog){0};
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
        wd->interval_s = (double)usec / 2e6;
    wd->next_s = wl_now_s();
}

static void watchdog_feed(struct watchdog *wd)
{
    double now = wl_now_s();
    if (wd->interval_s <= 0 || now < wd->next_s)
        return;
    (void)sd_notify(0, "WATCHDOG=1");
    wd->next_s = now + wd->interval_s;
}

/* wl_sig_wait() for seconds, feeding the watchdog while it waits. */
static int wait_fed(const sigset_t *sigs, int seconds, struct watchdog *wd)
{
    double end = wl_now_s() + seconds;
    for (;;) {
        watchdog_feed(wd);
        double now = wl_now_s(), until = end - now;
        if (wd->interval_s > 0 && wd->next_s - now < until)
            until = wd->next_s - now;
        if (now >= end)
            return wl_sig_wait_ms(sigs, 0);
        int sig =
            wl_sig_wait_ms(sigs, until > 0 ? (long)(until * 1000) + 1 : 0);
        if (sig > 0)
            return sig;
    }
}

/* Drain (when asked), stop every module, then mark the node NotReady. */
static void shutdown_node(struct wl_node *node, const struct wl_config *cfg,
                          struct pods *pods)
{
    struct wl_error err = WL_ERROR_INIT;
    if (cfg->drain_on_exit && wl_node_drain(node, &err) < 0) {
        log_error("drain on exit node=%s: %s", cfg->node_name, err.msg);
        wl_error_clear(&err);
    }
    pods_stop(pods);
    wl_node_set_ready(node, false, "wasmlet is shutting down");
    if (wl_node_update_status(node, true, &err) < 0) {
        log_error("mark node NotReady node=%s: %s", cfg->node_name, err.msg);
        wl_error_clear(&err);
    } else {
        log_info("node marked NotReady node=%s", cfg->node_name);
    }
}

/* One step of the certificate manager. When the client certificate was
 * rotated, the node (and everything after it) moves to the new client and
 * the old one is freed: *client is the loop's owned client. */
static void certs_tick(struct wl_certs *certs, struct wl_node *node,
                       struct wl_kube_client **client,
                       const char *kubeconfig, struct wl_kube_creds *creds)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_kube_client *fresh = NULL;
    if (wl_certs_tick(certs, *client, time(NULL), &fresh, &err) < 0) {
        log_warning("node=%s %s", node->cfg->name, err.msg);
        wl_error_clear(&err);
    }
    if (fresh) {
        wl_kube_client_free(*client);
        *client = fresh;
        node->client = fresh;
        log_info("api client rebuilt with the rotated client certificate "
                 "node=%s",
                 node->cfg->name);
        /* The pod manager's threads make their clients from creds. */
        struct wl_kubeconfig *kc = NULL;
        if (wl_kubeconfig_load(kubeconfig, NULL, &kc, &err) < 0) {
            log_warning("reload %s: %s", kubeconfig, err.msg);
            wl_error_clear(&err);
        } else {
            wl_kube_creds_replace(creds, kc);
        }
    }
}

/* Registers, then renews the Lease every WL_LEASE_RENEW_S and keeps node
 * status current until a signal arrives. Each tick also drives the
 * certificate manager, which never waits for a CSR's approval. */
/* The pods side of the daemon: engine, its module cache, puller, pod
 * manager. Started once the node is registered, stopped before it is
 * marked NotReady. */
struct pods {
    const struct wl_config *cfg;
    struct wl_kube_creds *creds;
    struct wl_engine *engine;
    struct wl_module_cache *modules; /* for engine, freed before it */
    struct wl_puller *puller;
    struct wl_pod_manager *manager;
    struct wl_pod_manager_config mcfg;
    char *store_dir;
    const char *client_ca;     /* PEM: who may call the kubelet API */
    const char *user_agent;
    struct wl_server *server;  /* the kubelet API */
    struct wl_healthz *healthz; /* --healthz-port, or NULL; not ours */
    struct wl_mirror *mirror;  /* static pods; NULL without a manifest dir */
};

static int pods_start(struct pods *p, struct wl_error *err)
{
    const struct wl_config *cfg = p->cfg;
    if (asprintf(&p->store_dir, "%s/modules", cfg->data_dir) < 0) {
        p->store_dir = NULL;
        return wl_error_set(err, ENOMEM, "pods");
    }
    struct wl_puller_config pc = {
        .store_dir = p->store_dir,
        .insecure = (const char *const *)cfg->insecure_registries,
        .ninsecure = cfg->ninsecure,
        .certs_dir = cfg->registry_certs_dir,
        .auth_file = cfg->registry_config,
    };
    _cleanup_free_ char *compiled_dir = NULL;
    if (asprintf(&compiled_dir, "%s/modules/compiled", cfg->data_dir) < 0) {
        compiled_dir = NULL;
        return wl_error_set(err, ENOMEM, "pods");
    }
    if (wl_engine_new(&p->engine, err) < 0 ||
        wl_module_cache_new(p->engine, compiled_dir, &p->modules, err) < 0 ||
        wl_puller_new(&pc, &p->puller, err) < 0)
        return -1;
    p->mcfg = (struct wl_pod_manager_config){
        .creds = p->creds,
        .node_name = cfg->node_name,
        .node_ip = cfg->node_ip,
        .data_dir = cfg->data_dir,
        .max_pods = cfg->max_pods,
        .puller = p->puller,
        .engine = p->engine,
        .modules = p->modules,
        .log_opts = {.max_size = cfg->log_max_size,
                     .max_files = (int)cfg->log_max_files},
    };
    if (wl_pod_manager_start(&p->mcfg, &p->manager, err) < 0)
        return -1;
    if (cfg->pod_manifest_path &&
        wl_mirror_new(cfg->pod_manifest_path, cfg->node_name, &p->mirror,
                      err) < 0)
        return -1;
    struct wl_server_config scfg = {
        .address = cfg->address,
        .port = cfg->port,
        .node_name = cfg->node_name,
        .node_ip = cfg->node_ip,
        .hostname = cfg->hostname,
        .data_dir = cfg->data_dir,
        .tls_cert_file = cfg->tls_cert_file,
        .tls_key_file = cfg->tls_key_file,
        .client_ca_pem = p->client_ca,
        .creds = p->creds,
        .user_agent = p->user_agent,
        .token_webhook = cfg->token_webhook,
        .max_log_streams = (unsigned)cfg->max_log_streams,
        .manager = p->manager,
    };
    if (wl_server_start(&scfg, &p->server, err) < 0)
        return -1;
    wl_healthz_set_manager(p->healthz, p->manager);
    return 0;
}

static void pods_stop(struct pods *p)
{
    wl_mirror_free(p->mirror);
    p->mirror = NULL;
    wl_server_stop(p->server); /* it asks the manager for snapshots */
    p->server = NULL;
    wl_healthz_set_manager(p->healthz, NULL); /* it asks how it turns */
    if (p->puller) /* runners stuck in a pull must not hold the stop up */
        wl_puller_cancel(p->puller);
    wl_pod_manager_stop(p->manager);
    p->manager = NULL;
    wl_puller_free(p->puller);
    p->puller = NULL;
    wl_module_cache_free(p->modules); /* the runners are gone */
    p->modules = NULL;
    wl_engine_free(p->engine);
    p->engine = NULL;
    free(p->store_dir);
    p->store_dir = NULL;
}

static int node_loop(struct wl_node *node, const struct wl_config *cfg,
                     const sigset_t *sigs, struct wl_certs *certs,
                     struct wl_kube_client **client, struct pods *pods)
{
    struct wl_error err = WL_ERROR_INIT;
    int retry = RETRY_MIN_S, sig;
    struct watchdog wd;

    watchdog_init(&wd);
    /* Registered NotReady: Ready=True is posted by the first loop turn,
     * once the pod manager runs and the kubelet API listens (as the
     * kubelet waits for its runtime), so nobody who saw Ready finds the
     * kubelet port closed. */
    wl_node_set_ready(node, false, "wasmlet is starting its pod manager and "
                                   "kubelet API");
    (void)sd_notifyf(0, "STATUS=registering node %s", cfg->node_name);
    while (wl_node_register(node, &err) < 0) {
        log_error("%s (retrying in %d s)", err.msg, retry);
        (void)sd_notifyf(0,
                         "STATUS=registering node %s failed (retrying in "
                         "%d s): %s",
                         cfg->node_name, retry, err.msg);
        wl_error_clear(&err);
        if ((sig = wait_fed(sigs, retry, &wd)) > 0) {
            log_info("signal=%s before registration; exiting", strsignal(sig));
            (void)sd_notify(0, "STOPPING=1\nSTATUS=stopped before "
                               "registration");
            return 0;
        }
        retry = next_retry(retry);
    }
    log_info("node ready node=%s ip=%s port=%d", cfg->node_name, cfg->node_ip,
             cfg->port);
    if (pods_start(pods, &err) < 0) {
        log_error("cannot run pods: %s", err.msg);
        (void)sd_notifyf(0, "STOPPING=1\nSTATUS=cannot run pods: %s", err.msg);
        wl_error_clear(&err);
        shutdown_node(node, cfg, pods);
        return 1;
    }
    /* The first loop turn (at once) posts Ready=True: the node is up for
     * the scheduler. */
    wl_node_set_ready(node, true, NULL);
    (void)sd_notifyf(0, "READY=1\nSTATUS=node %s ready, running pods",
                     cfg->node_name);

    int wait = 0;
    retry = RETRY_MIN_S;
    double renewed = wl_now_s(); /* monotonic: the last renewal */
    bool owed = false;           /* a status write the silence calls for */
    while ((sig = wait_fed(sigs, wait, &wd)) == 0) {
        bool failed = false;
        /* Unheard of for longer than a turn and a half (stopped, the host
         * suspended, the API server out of reach): the node lifecycle
         * controller may have set Ready=Unknown, and only we set it back,
         * so the status is written now, not when the report is due. */
        bool silent = wl_now_s() - renewed > 1.5 * WL_LEASE_RENEW_S;
        if (wl_node_renew_lease(node, &err) < 0) {
            log_warning("node=%s %s", cfg->node_name, err.msg);
            wl_error_clear(&err);
            failed = true;
        } else {
            if (silent) {
                owed = true;
                log_info("node=%s lease renewed after %.0f s without; "
                         "writing the node status again",
                         cfg->node_name, wl_now_s() - renewed);
            }
            renewed = wl_now_s();
        }
        bool force = owed && !failed;
        if (wl_node_update_status(node, force, &err) < 0) {
            log_warning("node=%s %s", cfg->node_name, err.msg);
            wl_error_clear(&err);
            failed = true;
        } else if (force) {
            owed = false;
        }
        certs_tick(certs, node, client, cfg->kubeconfig, pods->creds);
        if (pods->mirror)
            wl_mirror_sync(pods->mirror, *client, node->uid);
        /* A failed renewal is retried soon, well inside the Lease's 40 s. */
        wait = failed ? retry : WL_LEASE_RENEW_S;
        retry = failed ? next_retry(retry) : RETRY_MIN_S;
    }
    log_info("signal=%s: shutting down", strsignal(sig));
    (void)sd_notifyf(0, "STOPPING=1\nSTATUS=shutting down (%s)",
                     cfg->drain_on_exit ? "draining, then stopping pods"
                                        : "stopping pods");
    shutdown_node(node, cfg, pods);
    return 0;
}

/* The CA bundle kubelet API clients' certificates must chain to:
 * --client-ca-file, else the cluster CA the kubeconfig trusts. */
static int load_client_ca(const struct wl_config *cfg,
                          const struct wl_kubeconfig *kc, char **ret,
                          struct wl_error *err)
{
    if (cfg->client_ca_file) {
        uint8_t *data = NULL;
        size_t len = 0;
        if (wl_file_read(AT_FDCWD, cfg->client_ca_file, 1 << 20, &data, &len,
                         err) < 0)
            return -1;
        *ret = (char *)data;
        return 0;
    }
    if (!kc->ca_pem || !kc->ca_pem_len)
        return wl_error_set(err, 0, "the kubeconfig names no certificate "
                                    "authority: give --client-ca-file for "
                                    "the kubelet API");
    *ret = strndup(kc->ca_pem, kc->ca_pem_len);
    return *ret ? 0 : wl_error_set(err, ENOMEM, "client CA");
}

int wl_cmd_serve(int argc, char **argv)
{
    struct wl_config cfg;
    struct wl_error err = WL_ERROR_INIT;
    struct wl_kubeconfig *kc = NULL;
    struct wl_kube_creds *creds = NULL;
    struct wl_kube_client *client = NULL;
    char *client_ca = NULL;
    struct wl_healthz *healthz = NULL;
    int status = 1;

    int r = wl_config_parse(argc, argv, &cfg, &err);
    if (r != 0) {
        if (r < 0)
            log_error("%s", err.msg);
        wl_error_clear(&err);
        wl_config_clear(&cfg);
        return r > 0 ? 0 : 2;
    }
    wl_log_set_level(cfg.log_level);
    wl_log_set_format(cfg.log_format);

    /* Block the shutdown signals before any thread exists, so every thread
     * inherits the mask and only sigtimedwait() receives them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    struct wl_node_config ncfg = {
        .name = cfg.node_name,
        .hostname = cfg.hostname,
        .node_ip = cfg.node_ip,
        .port = cfg.port,
        .max_pods = cfg.max_pods,
        .labels = (const char *const *)cfg.labels,
        .nlabels = cfg.nlabels,
        .data_dir = cfg.data_dir,
        .version = WL_VERSION,
        .wasmtime_version = wl_engine_wasmtime_version(),
    };
    char agent[64];
    snprintf(agent, sizeof(agent), "wasmlet/%s", WL_VERSION);
    if (wl_node_config_check(&ncfg, &err) < 0 ||
        wl_mkdir_p(cfg.data_dir, 0700, &err) < 0) {
        log_error("%s", err.msg);
        goto out;
    }
    if (cfg.bootstrap_kubeconfig) {
        struct wl_bootstrap_config bcfg = {
            .bootstrap_kubeconfig = cfg.bootstrap_kubeconfig,
            .kubeconfig = cfg.kubeconfig,
            .node_name = cfg.node_name,
            .data_dir = cfg.data_dir,
            .user_agent = agent,
            .sigs = &sigs,
        };
        r = wl_bootstrap_client_cert(&bcfg, &err);
        if (r != 0) {
            if (r < 0)
                log_error("bootstrap: %s", err.msg);
            status = r > 0 ? 0 : 1;
            goto out;
        }
    }
    if (wl_kubeconfig_load(cfg.kubeconfig, NULL, &kc, &err) < 0 ||
        load_client_ca(&cfg, kc, &client_ca, &err) < 0 ||
        wl_kube_creds_new(kc, &creds, &err) < 0) {
        log_error("%s", err.msg);
        goto out;
    }
    kc = NULL; /* creds' now */
    if (wl_kube_client_from_creds(creds, agent, &client, NULL, &err) < 0) {
        log_error("%s", err.msg);
        goto out;
    }
    log_info("starting version=%s wasmtime=%s node=%s server=%s", WL_VERSION,
             wl_engine_wasmtime_version(), cfg.node_name,
             wl_kube_client_server(client));
    /* Before registration, as the kubelet: a probe gets "ok" while we wait
     * for the API server. A taken port is said, not fatal. */
    if (cfg.healthz_port > 0 &&
        wl_healthz_start(cfg.healthz_address, cfg.healthz_port, &healthz,
                         &err) < 0) {
        log_warning("%s; no /healthz (--healthz-port 0 turns it off)",
                    err.msg);
        wl_error_clear(&err);
    }

    /* The client certificate is ours to rotate only when we wrote it. */
    struct wl_certs_config ccfg = {
        .node_name = cfg.node_name,
        .node_ip = cfg.node_ip,
        .hostname = cfg.hostname,
        .data_dir = cfg.data_dir,
        .kubeconfig = cfg.bootstrap_kubeconfig ? cfg.kubeconfig : NULL,
        .user_agent = agent,
    };
    struct wl_certs certs;
    wl_certs_init(&certs, &ccfg);
    struct wl_node node;
    wl_node_init(&node, &ncfg, client);
    struct pods pods = {
        .cfg = &cfg,
        .creds = creds,
        .client_ca = client_ca,
        .user_agent = agent,
        .healthz = healthz,
    };
    status = node_loop(&node, &cfg, &sigs, &certs, &client, &pods);
    wl_node_clear(&node);
    wl_certs_clear(&certs);

out:
    wl_healthz_stop(healthz);
    wl_error_clear(&err);
    wl_kube_client_free(client);
    wl_kubeconfig_free(kc);
    wl_kube_creds_free(creds);
    free(client_ca);
    wl_config_clear(&cfg);
    return status;
}
