#include "node/node.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

#define LEASE_NS "kube-node-lease"
#define LEASES_PATH "/apis/coordination.k8s.io/v1/namespaces/" LEASE_NS "/leases"

/* What memory allocatable keeps back: the kubelet's default hard eviction
 * threshold (memory.available < 100Mi). */
#define MEMORY_RESERVED (100LL * 1024 * 1024)

static bool is_dns_subdomain(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253 || !isalnum((unsigned char)s[0]) ||
        !isalnum((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(islower(c) || isdigit(c) || c == '-' || c == '.'))
            return false;
    }
    return true;
}

int wl_node_config_check(const struct wl_node_config *cfg,
                         struct wl_error *err)
{
    if (!is_dns_subdomain(cfg->name))
        return wl_error_set(err, 0,
                            "node name \"%s\" is not a lower-case DNS "
                            "subdomain (a-z, 0-9, '-', '.')",
                            cfg->name);
    if (cfg->port < 1 || cfg->port > 65535)
        return wl_error_set(err, 0, "port %d is out of range", cfg->port);
    if (cfg->max_pods < 1 || cfg->max_pods > 100000)
        return wl_error_set(err, 0, "max pods %ld is out of range",
                            cfg->max_pods);
    for (size_t i = 0; i < cfg->nlabels; i++) {
        const char *eq = strchr(cfg->labels[i], '=');
        if (!eq || eq == cfg->labels[i])
            return wl_error_set(err, 0, "node label \"%s\": expected key=value",
                                cfg->labels[i]);
    }
    return 0;
}

void wl_node_init(struct wl_node *node, const struct wl_node_config *cfg,
                  struct wl_kube_client *client)
{
    static const char *const types[WL_COND_N] = {
        [WL_COND_READY] = "Ready",
        [WL_COND_MEMORY] = "MemoryPressure",
        [WL_COND_DISK] = "DiskPressure",
        [WL_COND_PID] = "PIDPressure",
    };
    memset(node, 0, sizeof(*node));
    node->cfg = cfg;
    node->client = client;
    node->ready = true;
    for (int i = 0; i < WL_COND_N; i++)
        node->cond[i].type = types[i];
}

void wl_node_clear(struct wl_node *node)
{
    free(node->uid);
    node->uid = NULL;
    json_decref(node->lease);
    node->lease = NULL;
}

void wl_node_set_ready(struct wl_node *node, bool ready, const char *message)
{
    node->ready = ready;
    node->not_ready_reason = ready ? NULL : message;
}

static void cond_set(struct wl_node_condition *c, bool status,
                     const char *reason, const char *message, time_t now,
                     bool *changed)
{
    if (c->transition == 0 || c->status != status) {
        c->transition = now;
        *changed = true;
    }
    c->status = status;
    c->reason = reason;
    snprintf(c->message, sizeof(c->message), "%s", message);
}

bool wl_node_eval_conditions(struct wl_node *node, const struct wl_sysinfo *si,
                             time_t now)
{
    bool changed = false;
    bool mem = wl_sysinfo_memory_pressure(si);
    bool disk = wl_sysinfo_disk_pressure(si);
    bool pid = wl_sysinfo_pid_pressure(si);

    if (node->ready)
        cond_set(&node->cond[WL_COND_READY], true, "KubeletReady",
                 "wasmlet is posting ready status", now, &changed);
    else
        cond_set(&node->cond[WL_COND_READY], false, "KubeletNotReady",
                 node->not_ready_reason ? node->not_ready_reason
                                        : "wasmlet is not ready",
                 now, &changed);
    cond_set(&node->cond[WL_COND_MEMORY], mem,
             mem ? "KubeletHasInsufficientMemory"
                 : "KubeletHasSufficientMemory",
             mem ? "less than 100Mi of memory available"
                 : "wasmlet has sufficient memory available",
             now, &changed);
    cond_set(&node->cond[WL_COND_DISK], disk,
             disk ? "KubeletHasDiskPressure" : "KubeletHasNoDiskPressure",
             disk ? "less than 10% of the data directory's disk available"
                  : "wasmlet has no disk pressure",
             now, &changed);
    cond_set(&node->cond[WL_COND_PID], pid,
             pid ? "KubeletHasInsufficientPID" : "KubeletHasSufficientPID",
             pid ? "less than 10% of process IDs available"
                 : "wasmlet has sufficient PID available",
             now, &changed);
    return changed;
}

static json_t *resources(const struct wl_node *node,
                         const struct wl_sysinfo *si, bool allocatable)
{
    int64_t mem = si->memory_total;
    if (allocatable)
        mem = mem > MEMORY_RESERVED ? mem - MEMORY_RESERVED : 0;
    char cpu[32], memory[32], pods[32], disk[32];
    snprintf(cpu, sizeof(cpu), "%ld", si->cpus);
    snprintf(memory, sizeof(memory), "%lldKi", (long long)(mem / 1024));
    snprintf(pods, sizeof(pods), "%ld", node->cfg->max_pods);
    snprintf(disk, sizeof(disk), "%lld", (long long)si->disk_total);
    return json_pack("{s:s, s:s, s:s, s:s}", "cpu", cpu, "memory", memory,
                     "pods", pods, "ephemeral-storage", disk);
}

static json_t *conditions(const struct wl_node *node, time_t now)
{
    char hb[32], tr[32];
    json_t *a = json_array();
    wl_time_format(now, hb, sizeof(hb));
    for (int i = 0; i < WL_COND_N; i++) {
        const struct wl_node_condition *c = &node->cond[i];
        wl_time_format(c->transition, tr, sizeof(tr));
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", c->type,
                         "status", c->status ? "True" : "False",
                         "lastHeartbeatTime", hb, "lastTransitionTime", tr,
                         "reason", c->reason, "message", c->message));
    }
    return a;
}

json_t *wl_node_build_status(const struct wl_node *node,
                             const struct wl_sysinfo *si, time_t now)
{
    const struct wl_node_config *cfg = node->cfg;
    char kubelet[96], runtime[96];
    snprintf(kubelet, sizeof(kubelet), "wasmlet/%s", cfg->version);
    snprintf(runtime, sizeof(runtime), "wasmtime://%s", cfg->wasmtime_version);

    return json_pack(
        "{s:o, s:o, s:o, s:[{s:s, s:s}, {s:s, s:s}], s:{s:{s:i}}, "
        "s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}}",
        "capacity", resources(node, si, false),
        "allocatable", resources(node, si, true),
        "conditions", conditions(node, now),
        "addresses", "type", "InternalIP", "address", cfg->node_ip,
        "type", "Hostname", "address", cfg->hostname,
        "daemonEndpoints", "kubeletEndpoint", "Port", cfg->port,
        "nodeInfo", "machineID", si->machine_id, "systemUUID", si->machine_id,
        "bootID", si->boot_id, "kernelVersion", si->kernel, "osImage",
        si->os_image, "containerRuntimeVersion", runtime, "kubeletVersion",
        kubelet, "kubeProxyVersion", "", "operatingSystem", "linux",
        "architecture", si->arch);
}

static json_t *labels(const struct wl_node_config *cfg)
{
    json_t *l = json_pack("{s:s, s:s, s:s, s:s}", WL_NODE_ARCH_KEY,
                          WL_NODE_ARCH_VALUE, "kubernetes.io/os", "linux",
                          "kubernetes.io/hostname", cfg->hostname,
                          "node.kubernetes.io/instance-type", "wasmlet");
    for (size_t i = 0; l && i < cfg->nlabels; i++) {
        const char *eq = strchr(cfg->labels[i], '=');
        _cleanup_free_ char *key =
            strndup(cfg->labels[i], (size_t)(eq - cfg->labels[i]));
        if (key)
            json_object_set_new(l, key, json_string(eq + 1));
    }
    return l;
}

static json_t *our_taints(void)
{
    return json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]", "key",
                     WL_NODE_ARCH_KEY, "value", WL_NODE_ARCH_VALUE, "effect",
                     "NoSchedule", "key", WL_NODE_ARCH_KEY, "value",
                     WL_NODE_ARCH_VALUE, "effect", "NoExecute");
}

json_t *wl_node_build(const struct wl_node *node, const struct wl_sysinfo *si,
                      time_t now)
{
    return json_pack("{s:s, s:s, s:{s:s, s:o}, s:{s:o}, s:o}", "apiVersion",
                     "v1", "kind", "Node", "metadata", "name",
                     node->cfg->name, "labels", labels(node->cfg), "spec",
                     "taints", our_taints(), "status",
                     wl_node_build_status(node, si, now));
}

static int remember_uid(struct wl_node *node, const json_t *obj,
                        struct wl_error *err)
{
    const char *uid = wl_json_str(obj, "metadata", "uid", NULL);
    if (!uid)
        return wl_error_set(err, 0, "node %s: API server sent no uid",
                            node->cfg->name);
    free(node->uid);
    node->uid = strdup(uid);
    return node->uid ? 0 : wl_error_set(err, ENOMEM, "node uid");
}

static bool has_taint(const json_t *taints, const json_t *want)
{
    size_t i;
    json_t *t;
    json_array_foreach(taints, i, t) {
        if (json_equal(json_object_get(t, "key"), json_object_get(want, "key")) &&
            json_equal(json_object_get(t, "effect"),
                       json_object_get(want, "effect")) &&
            json_equal(json_object_get(t, "value"),
                       json_object_get(want, "value")))
            return true;
    }
    return false;
}

/* The Node exists (wasmlet restarted, or someone created it): add our
 * labels, and our taints when they are missing, keeping everything else
 * (user labels, other taints) as it is. */
static int adopt_existing(struct wl_node *node, struct wl_error *err)
{
    _cleanup_free_ char *path = NULL;
    json_t *cur = NULL;
    int r = -1;

    if (asprintf(&path, "/api/v1/nodes/%s", node->cfg->name) < 0)
        return wl_error_set(err, ENOMEM, "node path");
    if (wl_kube_request(node->client, "GET", path, NULL, NULL, &cur, NULL,
                        err) < 0)
        return -1;

    json_t *taints = json_deep_copy(wl_json_get(cur, "spec", "taints", NULL));
    if (!json_is_array(taints)) {
        json_decref(taints);
        taints = json_array();
    }
    json_t *ours = our_taints();
    bool add = false;
    size_t i;
    json_t *t;
    json_array_foreach(ours, i, t) {
        if (!has_taint(taints, t)) {
            json_array_append(taints, t);
            add = true;
        }
    }
    json_decref(ours);

    json_t *patch = json_pack("{s:{s:o}}", "metadata", "labels",
                              labels(node->cfg));
    if (add)
        json_object_set_new(patch, "spec", json_pack("{s:o}", "taints", taints));
    else
        json_decref(taints);
    json_t *updated = NULL;
    if (wl_kube_request(node->client, "PATCH", path, WL_KUBE_MERGE_PATCH,
                        patch, &updated, NULL, err) == 0)
        r = remember_uid(node, updated, err);
    json_decref(patch);
    json_decref(updated);
    json_decref(cur);
    return r;
}

int wl_node_register(struct wl_node *node, struct wl_error *err)
{
    struct wl_sysinfo si;
    json_t *created = NULL;
    long status = 0;
    time_t now = time(NULL);

    if (wl_sysinfo_read(node->cfg->data_dir, &si, err) < 0)
        return wl_error_prefix(err, "register node %s", node->cfg->name);
    wl_node_eval_conditions(node, &si, now);
    json_t *obj = wl_node_build(node, &si, now);
    if (!obj)
        return wl_error_set(err, ENOMEM, "register node");
    int r = wl_kube_request(node->client, "POST", "/api/v1/nodes", NULL, obj,
                            &created, &status, err);
    json_decref(obj);
    if (r == 0) {
        r = remember_uid(node, created, err);
        json_decref(created);
        log_info("node registered node=%s uid=%s", node->cfg->name,
                 node->uid ? node->uid : "?");
    } else if (status == 409) {
        wl_error_clear(err);
        r = adopt_existing(node, err);
        if (r == 0)
            log_info("node exists, taken over node=%s uid=%s",
                     node->cfg->name, node->uid);
    }
    if (r < 0)
        return wl_error_prefix(err, "register node %s", node->cfg->name);
    /* Status on create may be dropped by the API server; write it now. */
    return wl_node_update_status(node, true, err);
}

int wl_node_update_status(struct wl_node *node, bool force,
                          struct wl_error *err)
{
    struct wl_sysinfo si;
    time_t now = time(NULL);
    _cleanup_free_ char *path = NULL;

    if (wl_sysinfo_read(node->cfg->data_dir, &si, err) < 0)
        return wl_error_prefix(err, "node status");
    bool changed = wl_node_eval_conditions(node, &si, now);
    if (!force && !changed && now - node->last_status < WL_STATUS_REPORT_S)
        return 0;
    if (asprintf(&path, "/api/v1/nodes/%s/status", node->cfg->name) < 0)
        return wl_error_set(err, ENOMEM, "node status");
    json_t *patch = json_pack("{s:o}", "status",
                              wl_node_build_status(node, &si, now));
    int r = wl_kube_request(node->client, "PATCH", path,
                            WL_KUBE_STRATEGIC_PATCH, patch, NULL, NULL, err);
    json_decref(patch);
    if (r < 0)
        return -1;
    node->last_status = now;
    return 0;
}

static json_t *lease_build(const struct wl_node *node, const char *renew)
{
    return json_pack(
        "{s:s, s:s, s:{s:s, s:s, s:[{s:s, s:s, s:s, s:s}]}, "
        "s:{s:s, s:i, s:s}}",
        "apiVersion", "coordination.k8s.io/v1", "kind", "Lease", "metadata",
        "name", node->cfg->name, "namespace", LEASE_NS, "ownerReferences",
        "apiVersion", "v1", "kind", "Node", "name", node->cfg->name, "uid",
        node->uid ? node->uid : "", "spec", "holderIdentity", node->cfg->name,
        "leaseDurationSeconds", WL_LEASE_DURATION_S, "renewTime", renew);
}

/* PUT the cached Lease with a new renewTime. Returns the HTTP status. */
static int lease_put(struct wl_node *node, const char *renew, long *status,
                     struct wl_error *err)
{
    _cleanup_free_ char *path = NULL;
    json_t *updated = NULL;

    if (asprintf(&path, LEASES_PATH "/%s", node->cfg->name) < 0)
        return wl_error_set(err, ENOMEM, "lease");
    json_object_set_new(json_object_get(node->lease, "spec"), "renewTime",
                        json_string(renew));
    if (wl_kube_request(node->client, "PUT", path, NULL, node->lease, &updated,
                        status, err) < 0)
        return -1;
    json_decref(node->lease);
    node->lease = updated;
    return 0;
}

int wl_node_renew_lease(struct wl_node *node, struct wl_error *err)
{
    struct timespec ts;
    char renew[40];
    long status = 0;
    _cleanup_free_ char *path = NULL;

    (void)clock_gettime(CLOCK_REALTIME, &ts);
    wl_microtime_format(&ts, renew, sizeof(renew));

    if (node->lease) {
        if (lease_put(node, renew, &status, err) == 0)
            return 0;
        if (status != 409 && status != 404)
            return wl_error_prefix(err, "renew lease");
        /* Someone else wrote it (or deleted it): read it again. */
        wl_error_clear(err);
        json_decref(node->lease);
        node->lease = NULL;
    }
    if (asprintf(&path, LEASES_PATH "/%s", node->cfg->name) < 0)
        return wl_error_set(err, ENOMEM, "lease");
    if (wl_kube_request(node->client, "GET", path, NULL, NULL, &node->lease,
                        &status, err) == 0)
        return lease_put(node, renew, &status, err) < 0
                   ? wl_error_prefix(err, "renew lease")
                   : 0;
    if (status != 404)
        return wl_error_prefix(err, "read lease");
    wl_error_clear(err);
    json_t *lease = lease_build(node, renew);
    int r = wl_kube_request(node->client, "POST", LEASES_PATH, NULL, lease,
                            &node->lease, NULL, err);
    json_decref(lease);
    return r < 0 ? wl_error_prefix(err, "create lease") : 0;
}

static int evict(struct wl_node *node, const char *ns, const char *name,
                 struct wl_error *err)
{
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "/api/v1/namespaces/%s/pods/%s/eviction", ns, name) < 0)
        return wl_error_set(err, ENOMEM, "eviction");
    json_t *ev = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion",
                           "policy/v1", "kind", "Eviction", "metadata", "name",
                           name, "namespace", ns);
    long status = 0;
    int r = wl_kube_request(node->client, "POST", path, NULL, ev, NULL,
                            &status, err);
    json_decref(ev);
    if (r < 0 && status == 404) { /* already gone */
        wl_error_clear(err);
        r = 0;
    }
    return r;
}

int wl_node_drain(struct wl_node *node, struct wl_error *err)
{
    _cleanup_free_ char *path = NULL, *sel = NULL, *esc = NULL;
    json_t *list = NULL;
    int failures = 0;

    if (asprintf(&path, "/api/v1/nodes/%s", node->cfg->name) < 0)
        return wl_error_set(err, ENOMEM, "drain");
    json_t *cordon = json_pack("{s:{s:b}}", "spec", "unschedulable", 1);
    int r = wl_kube_request(node->client, "PATCH", path, WL_KUBE_MERGE_PATCH,
                            cordon, NULL, NULL, err);
    json_decref(cordon);
    if (r < 0)
        return wl_error_prefix(err, "cordon");
    log_info("node cordoned node=%s", node->cfg->name);

    free(path);
    path = NULL;
    if (asprintf(&sel, "spec.nodeName=%s", node->cfg->name) < 0 ||
        !(esc = wl_kube_query_escape(sel)) ||
        asprintf(&path, "/api/v1/pods?fieldSelector=%s", esc) < 0)
        return wl_error_set(err, ENOMEM, "drain");
    if (wl_kube_request(node->client, "GET", path, NULL, NULL, &list, NULL,
                        err) < 0)
        return wl_error_prefix(err, "drain: list pods");
    size_t i;
    json_t *pod;
    json_array_foreach(json_object_get(list, "items"), i, pod) {
        const char *ns = wl_json_str(pod, "metadata", "namespace", NULL);
        const char *name = wl_json_str(pod, "metadata", "name", NULL);
        struct wl_error e = WL_ERROR_INIT;
        if (!ns || !name)
            continue;
        if (evict(node, ns, name, &e) < 0) {
            log_warning("evict failed pod=%s/%s: %s", ns, name, e.msg);
            failures++;
        } else {
            log_info("pod evicted pod=%s/%s", ns, name);
        }
        wl_error_clear(&e);
    }
    json_decref(list);
    if (failures)
        return wl_error_set(err, 0, "drain: %d pod(s) could not be evicted",
                            failures);
    return 0;
}
