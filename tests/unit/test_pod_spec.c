#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pod/runtimeclass.h"
#include "pod/spec.h"
#include "test.h"
#include "util/json.h"

/* A pod as `kubectl apply` creates it and the API server returns it, with
 * the defaults the server fills in (terminationGracePeriodSeconds,
 * restartPolicy, dnsPolicy, the kube-api-access projected volume,
 * tolerations for not-ready/unreachable) plus what our own manifests add
 * (nodeSelector and a toleration for the wasm node's taint). */
static const char realistic_pod[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{"
    "\"name\":\"hello\",\"namespace\":\"demo\","
    "\"uid\":\"6f1c6a2e-6a51-4b9f-9c39-0c1f5b0e2d11\","
    "\"resourceVersion\":\"4711\",\"creationTimestamp\":"
    "\"2026-11-27T10:00:00Z\",\"labels\":{\"app\":\"hello\"},"
    "\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":"
    "\"{}\"}},"
    "\"spec\":{"
    "\"initContainers\":[{\"name\":\"setup\",\"image\":\"registry.local/"
    "setup:1\",\"imagePullPolicy\":\"IfNotPresent\",\"resources\":{},"
    "\"terminationMessagePath\":\"/dev/termination-log\","
    "\"terminationMessagePolicy\":\"File\",\"volumeMounts\":[{\"name\":"
    "\"scratch\",\"mountPath\":\"/scratch\"}]}],"
    "\"containers\":[{\"name\":\"main\",\"image\":\"registry.local/hello:"
    "v1\",\"command\":[\"hello.wasm\"],\"args\":[\"--greet\",\"world\"],"
    "\"workingDir\":\"/scratch\",\"ports\":[{\"name\":\"http\","
    "\"containerPort\":8080,\"protocol\":\"TCP\"}],"
    "\"env\":["
    "{\"name\":\"PLAIN\",\"value\":\"yes\"},"
    "{\"name\":\"EMPTY\"},"
    "{\"name\":\"FROM_CM\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":"
    "\"settings\",\"key\":\"greeting\"}}},"
    "{\"name\":\"FROM_SECRET\",\"valueFrom\":{\"secretKeyRef\":{\"name\":"
    "\"creds\",\"key\":\"token\",\"optional\":true}}},"
    "{\"name\":\"POD_NAME\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":"
    "\"v1\",\"fieldPath\":\"metadata.name\"}}},"
    "{\"name\":\"MEM\",\"valueFrom\":{\"resourceFieldRef\":{"
    "\"containerName\":\"main\",\"resource\":\"limits.memory\","
    "\"divisor\":\"1Mi\"}}}],"
    "\"envFrom\":[{\"configMapRef\":{\"name\":\"settings\"}},"
    "{\"prefix\":\"S_\",\"secretRef\":{\"name\":\"creds\",\"optional\":"
    "true}}],"
    "\"resources\":{\"limits\":{\"cpu\":\"500m\",\"memory\":\"64Mi\"},"
    "\"requests\":{\"cpu\":\"100m\",\"memory\":\"32Mi\"}},"
    "\"volumeMounts\":[{\"name\":\"scratch\",\"mountPath\":\"/scratch\"},"
    "{\"name\":\"config\",\"mountPath\":\"/etc/hello\",\"readOnly\":true,"
    "\"subPath\":\"conf.d\"},"
    "{\"name\":\"kube-api-access-x7k2p\",\"mountPath\":"
    "\"/var/run/secrets/kubernetes.io/serviceaccount\",\"readOnly\":"
    "true}],"
    "\"terminationMessagePath\":\"/dev/termination-log\","
    "\"terminationMessagePolicy\":\"File\",\"imagePullPolicy\":\"Always\"}],"
    "\"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":30,"
    "\"dnsPolicy\":\"ClusterFirst\",\"serviceAccountName\":\"default\","
    "\"serviceAccount\":\"default\",\"nodeName\":\"wasm-node-1\","
    "\"securityContext\":{},\"imagePullSecrets\":[{\"name\":\"regcred\"}],"
    "\"schedulerName\":\"default-scheduler\","
    "\"nodeSelector\":{\"kubernetes.io/arch\":\"wasm32-wasi\"},"
    "\"tolerations\":[{\"key\":\"kubernetes.io/arch\",\"operator\":"
    "\"Equal\",\"value\":\"wasm32-wasi\",\"effect\":\"NoSchedule\"},"
    "{\"key\":\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\","
    "\"effect\":\"NoExecute\",\"tolerationSeconds\":300},"
    "{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\","
    "\"effect\":\"NoExecute\",\"tolerationSeconds\":300}],"
    "\"priority\":0,\"enableServiceLinks\":true,\"preemptionPolicy\":"
    "\"PreemptLowerPriority\","
    "\"volumes\":["
    "{\"name\":\"scratch\",\"emptyDir\":{}},"
    "{\"name\":\"config\",\"configMap\":{\"name\":\"settings\","
    "\"defaultMode\":420}},"
    "{\"name\":\"kube-api-access-x7k2p\",\"projected\":{\"sources\":["
    "{\"serviceAccountToken\":{\"expirationSeconds\":3607,\"path\":"
    "\"token\"}},"
    "{\"configMap\":{\"name\":\"kube-root-ca.crt\",\"items\":[{\"key\":"
    "\"ca.crt\",\"path\":\"ca.crt\"}]}},"
    "{\"downwardAPI\":{\"items\":[{\"path\":\"namespace\",\"fieldRef\":{"
    "\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.namespace\"}}]}}],"
    "\"defaultMode\":420}}]},"
    "\"status\":{\"phase\":\"Pending\",\"qosClass\":\"Burstable\"}}";

static json_t *parse_json(const char *text)
{
    json_t *v = NULL;
    struct wl_error err = WL_ERROR_INIT;
    if (wl_json_parse(text, strlen(text), WL_JSON_MAX_DEPTH, &v, &err) < 0) {
        fprintf(stderr, "  fixture: %s\n", err.msg);
        wl_error_clear(&err);
    }
    return v;
}

/* Parses text as a pod; on failure NULL with the message in *err. */
static struct wl_pod_spec *parse_pod(const char *text, struct wl_error *err)
{
    json_t *v = parse_json(text);
    struct wl_pod_spec *s = NULL;
    if (v && wl_pod_spec_parse(v, &s, err) < 0)
        s = NULL;
    json_decref(v);
    return s;
}

/* Parses the minimal valid pod with `extra_spec` spliced into its spec
 * (and `extra_md` into metadata). */
static struct wl_pod_spec *parse_minimal(const char *extra_md,
                                         const char *extra_spec,
                                         struct wl_error *err)
{
    char text[8192];
    (void)snprintf(text, sizeof(text),
                   "{\"metadata\":{\"name\":\"p\"%s},\"spec\":{%s"
                   "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}",
                   extra_md, extra_spec);
    return parse_pod(text, err);
}

static void test_pod_spec_decodes_realistic_pod_metadata(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_pod_spec *s = parse_pod(realistic_pod, &err);
    if (!s)
        WL_FAIL("parse: %s", err.msg);
    CHECK_STR(s->namespace_, "demo");
    CHECK_STR(s->name, "hello");
    CHECK_STR(s->uid, "6f1c6a2e-6a51-4b9f-9c39-0c1f5b0e2d11");
    CHECK_STR(s->resource_version, "4711");
    CHECK_STR(s->node_name, "wasm-node-1");
    CHECK_STR(s->restart_policy, "Always");
    CHECK_INT(s->termination_grace_s, 30);
    CHECK_INT(s->active_deadline_s, -1);
    CHECK(!s->deleting);
    CHECK_INT(s->deletion_grace_s, 30);
    CHECK_STR(s->service_account, "default");
    CHECK_INT(s->npull_secrets, 1);
    CHECK_STR(s->image_pull_secrets[0], "regcred");
    CHECK(!s->host_network && !s->host_pid && !s->host_ipc);
    CHECK_INT(s->nephemeral, 0);
    CHECK_INT(s->ninit, 1);
    CHECK_INT(s->ncontainers, 1);
    wl_pod_spec_free(s);
}

/* spec.runtimeClassName kept for the runner; "" is the default class. */
static void test_pod_spec_runtime_class_name(void)
{
    struct wl_error err = WL_ERROR_INIT;
    static const char *const pods[] = {
        "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"runtimeClassName\":"
        "\"wasm\",\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}",
        "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"runtimeClassName\":"
        "\"\",\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}"};
    struct wl_pod_spec *s = parse_pod(pods[0], &err);
    if (!s)
        WL_FAIL("parse: %s", err.msg);
    CHECK_STR(s->runtime_class, "wasm");
    wl_pod_spec_free(s);
    s = parse_pod(pods[1], &err);
    if (!s)
        WL_FAIL("parse: %s", err.msg);
    CHECK(s->runtime_class == NULL);
    wl_pod_spec_free(s);
    s = parse_pod(realistic_pod, &err);
    if (!s)
        WL_FAIL("parse: %s", err.msg);
    CHECK(s->runtime_class == NULL);
    wl_pod_spec_free(s);
}

/* wasmlet's handler names, and the check without an API server. */
static void test_runtime_class_handlers(void)
{
    struct wl_error err = WL_ERROR_INIT;
    CHECK(wl_runtime_handler_supported("wasmtime"));
    CHECK(wl_runtime_handler_supported("wasmlet"));
    CHECK(!wl_runtime_handler_supported("runc"));
    CHECK(!wl_runtime_handler_supported(""));
    CHECK(!wl_runtime_handler_supported(NULL));
    CHECK_INT(wl_runtime_class_check(NULL, "wasmtime", &err), 0);
    CHECK_INT(wl_runtime_class_check(NULL, "gvisor", &err), -1);
    CHECK_STR(err.msg, "no runtime for \"gvisor\" is configured (wasmlet's "
                       "handlers are wasmtime and wasmlet)");
    wl_error_clear(&err);
}

static void test_pod_spec_decodes_realistic_pod_volumes(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_pod_spec *s = parse_pod(realistic_pod, &err);
    if (!s)
        WL_FAIL("parse: %s", err.msg);
    CHECK_INT(s->nvolumes, 3);
    CHECK_STR(s->volumes[0].name, "scratch");
    CHECK_INT(s->volumes[0].type, WL_VOL_EMPTYDIR);
    CHECK_STR(s->volumes[0].type_name, "emptyDir");
    CHECK(json_is_object(s->volumes[0].source));
    CHECK_STR(s->volumes[1].name, "config");
    CHECK_INT(s->volumes[1].type, WL_VOL_CONFIGMAP);
    CHECK_STR(wl_json_str(s->volumes[1].source, "name", NULL), "settings");
    CHECK_STR(s->volumes[2].name, "kube-api-access-x7k2p");
    CHECK_INT(s->volumes[2].type, WL_VOL_PROJECTED);
    json_t *sources = wl_json_get(s->volumes[2].source, "sources", NULL);
    CHECK_INT(json_array_size(sources), 3);
    CHECK_INT(json_integer_value(wl_json_get(json_array_get(sources, 0),
                                             "serviceAccountToken",
                                             "expirationSeconds", NULL)),
              3607);
    CHECK_STR(
        wl_json_str(json_array_get(sources, 1), "configMap", "name", NULL),
        "kube-root-ca.crt");
    CHECK(
        wl_json_get(json_array_get(sources, 2), "downwardAPI", "items", NULL));
    wl_pod_spec_free(s);
}

static void test_pod_spec_volume_source_outlives_the_pod_json(void)
{
    json_t *v = parse_json(realistic_pod);
    struct wl_error err = WL_ERROR_INIT;
    struct wl_pod_spec *s = NULL;
    CHECK(v);
    CHECK_INT(wl_pod_spec_parse(v, &s, &err), 0);
    json_decref(v); /* the spec holds its own references */
    CHECK_INT(json_integer_value(
                  json_object_get(s->volumes[1].source, "defaultMode")),
              420);
    CHECK_STR(s->containers[0].env[0].name, "PLAIN");
    wl_pod_spec_free(s);
}

static void test_pod_spec_decodes_realistic_containers(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_pod_spec *s = parse_pod(realistic_pod, &err);
    if (!s)
        WL_FAIL("parse: %s", err.msg);
    const struct wl_container *init = &s->init_containers[0];
    CHECK_STR(init->name, "setup");
    CHECK_STR(init->image, "registry.local/setup:1");
    CHECK_STR(init->image_pull_policy, "IfNotPresent");
    CHECK_INT(init->ncommand, 0);
    CHECK(init->command == NULL);
    CHECK_INT(init->nargs, 0);
    CHECK_INT(init->nenv, 0);
    CHECK_INT(init->memory_limit, 0);
    CHECK_INT(init->cpu_limit_millis, 0);
    CHECK(init->working_dir == NULL);
    CHECK_INT(init->nmounts, 1);
    CHECK_STR(init->mounts[0].mount_path, "/scratch");

    const struct wl_container *c = &s->containers[0];
    CHECK_STR(c->name, "main");
    CHECK_STR(c->image, "registry.local/hello:v1");
    CHECK_STR(c->image_pull_policy, "Always");
    CHECK_STR(c->working_dir, "/scratch");
    CHECK_INT(c->ncommand, 1);
    CHECK_STR(c->command[0], "hello.wasm");
    CHECK_INT(c->nargs, 2);
    CHECK_STR(c->args[0], "--greet");
    CHECK_STR(c->args[1], "world");
    CHECK_INT(c->memory_limit, 64 * 1024 * 1024);
    CHECK_INT(c->cpu_limit_millis, 500);
    CHECK(!c->privileged);
    CHECK_INT(c->nports, 1);
    CHECK_STR(c->ports[0].name, "http");
    CHECK_INT(c->ports[0].container_port, 8080);
    CHECK_INT(c->ports[0].host_port, 0);
    CHECK_STR(c->ports[0].protocol, "TCP");

    CHECK_INT(c->nmounts, 3);
    CHECK_STR(c->mounts[0].name, "scratch");
    CHECK(!c->mounts[0].read_only);
    CHECK(c->mounts[0].sub_path == NULL);
    CHECK_STR(c->mounts[1].name, "config");
    CHECK_STR(c->mounts[1].mount_path, "/etc/hello");
    CHECK(c->mounts[1].read_only);
    CHECK_STR(c->mounts[1].sub_path, "conf.d");
    CHECK_STR(c->mounts[2].mount_path,
              "/var/run/secrets/kubernetes.io/serviceaccount");
    CHECK(c->mounts[2].read_only);
    wl_pod_spec_free(s);
}

static void test_pod_spec_decodes_every_env_source(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_pod_spec *s = parse_pod(realistic_pod, &err);
    if (!s)
        WL_FAIL("parse: %s", err.msg);
    const struct wl_container *c = &s->containers[0];
    CHECK_INT(c->nenv, 6);
    const struct wl_env_var *e = c->env;

    CHECK_STR(e[0].name, "PLAIN");
    CHECK_INT(e[0].source, WL_ENV_VALUE);
    CHECK_STR(e[0].value, "yes");

    CHECK_STR(e[1].name, "EMPTY"); /* an absent value is the empty string */
    CHECK_INT(e[1].source, WL_ENV_VALUE);
    CHECK_STR(e[1].value, "");

    CHECK_INT(e[2].source, WL_ENV_CONFIGMAP_KEY);
    CHECK(e[2].value == NULL);
    CHECK_STR(e[2].ref_name, "settings");
    CHECK_STR(e[2].ref_key, "greeting");
    CHECK(!e[2].optional);

    CHECK_INT(e[3].source, WL_ENV_SECRET_KEY);
    CHECK_STR(e[3].ref_name, "creds");
    CHECK_STR(e[3].ref_key, "token");
    CHECK(e[3].optional);

    CHECK_INT(e[4].source, WL_ENV_FIELD);
    CHECK_STR(e[4].field_path, "metadata.name");

    CHECK_INT(e[5].source, WL_ENV_RESOURCE);
    CHECK_STR(e[5].resource, "limits.memory");
    CHECK_STR(e[5].container_name, "main");
    CHECK_STR(e[5].divisor, "1Mi");

    CHECK_INT(c->nenv_from, 2);
    CHECK(!c->env_from[0].is_secret);
    CHECK_STR(c->env_from[0].name, "settings");
    CHECK(c->env_from[0].prefix == NULL);
    CHECK(!c->env_from[0].optional);
    CHECK(c->env_from[1].is_secret);
    CHECK_STR(c->env_from[1].name, "creds");
    CHECK_STR(c->env_from[1].prefix, "S_");
    CHECK(c->env_from[1].optional);
    wl_pod_spec_free(s);
}

static void test_pod_spec_resource_field_ref_divisor_number(void)
{
    struct wl_error err = WL_ERROR_INIT;
    json_t *v = parse_json(
        "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{"
        "\"name\":\"c\",\"image\":\"i\",\"env\":[{\"name\":\"CPU\","
        "\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"limits.cpu\","
        "\"divisor\":1}}}],\"resources\":{\"limits\":{\"memory\":"
        "134217728,\"cpu\":0.25}}}]}}");
    struct wl_pod_spec *s = NULL;
    CHECK(v);
    int r = wl_pod_spec_parse(v, &s, &err);
    json_decref(v);
    if (r < 0)
        WL_FAIL("parse: %s", err.msg);
    CHECK_STR(s->containers[0].env[0].divisor, "1");
    CHECK(s->containers[0].env[0].container_name == NULL);
    CHECK_INT(s->containers[0].memory_limit, 134217728);
    CHECK_INT(s->containers[0].cpu_limit_millis, 250);
    wl_pod_spec_free(s);
}

static void test_pod_spec_minimal_pod_gets_defaults(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_pod_spec *s = parse_minimal("", "", &err);
    if (!s)
        WL_FAIL("parse: %s", err.msg);
    CHECK_STR(s->namespace_, "default");
    CHECK(s->uid == NULL);
    CHECK(s->resource_version == NULL);
    CHECK(s->node_name == NULL);
    CHECK_STR(s->restart_policy, "Always");
    CHECK_INT(s->termination_grace_s, WL_POD_DEFAULT_GRACE_S);
    CHECK_INT(s->active_deadline_s, -1);
    CHECK(s->service_account == NULL);
    CHECK_INT(s->nvolumes, 0);
    CHECK_INT(s->ninit, 0);
    CHECK(s->containers[0].image_pull_policy == NULL);
    wl_pod_spec_free(s);
}

static void test_pod_spec_reads_deletion_and_deadline(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_pod_spec *s = parse_minimal(
        ",\"deletionTimestamp\":\"2026-11-27T10:05:00Z\","
        "\"deletionGracePeriodSeconds\":5",
        "\"terminationGracePeriodSeconds\":60,\"activeDeadlineSeconds\":120,"
        "\"restartPolicy\":\"OnFailure\",\"serviceAccount\":\"old\",",
        &err);
    if (!s)
        WL_FAIL("parse: %s", err.msg);
    CHECK(s->deleting);
    CHECK_INT(s->deletion_grace_s, 5);
    CHECK_INT(s->termination_grace_s, 60);
    CHECK_INT(s->active_deadline_s, 120);
    CHECK_STR(s->restart_policy, "OnFailure");
    CHECK_STR(s->service_account, "old"); /* deprecated spelling honoured */
    wl_pod_spec_free(s);

    /* Without deletionGracePeriodSeconds the pod's own grace applies. */
    s = parse_minimal(",\"deletionTimestamp\":\"2026-11-27T10:05:00Z\"",
                      "\"terminationGracePeriodSeconds\":0,", &err);
    if (!s)
        WL_FAIL("parse: %s", err.msg);
    CHECK(s->deleting);
    CHECK_INT(s->deletion_grace_s, 0);
    wl_pod_spec_free(s);
}

/* ---- admission ---- */

static void expect_rejected(const char *extra_spec, const char *reason,
                            const char *msg)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_pod_spec *s = parse_minimal("", extra_spec, &err);
    if (!s)
        WL_FAIL("parse of %s: %s", extra_spec, err.msg);
    const char *got = NULL;
    int r = wl_pod_admit(s, 0, 110, &got, &err);
    wl_pod_spec_free(s);
    CHECK_INT(r, -1);
    CHECK_STR(got, reason);
    CHECK_STR(err.msg, msg);
    wl_error_clear(&err);
}

static void test_pod_admit_accepts_realistic_pod(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_pod_spec *s = parse_pod(realistic_pod, &err);
    if (!s)
        WL_FAIL("parse: %s", err.msg);
    const char *reason = "untouched";
    CHECK_INT(wl_pod_admit(s, 109, 110, &reason, &err), 0);
    CHECK_STR(reason, "untouched");
    CHECK(err.msg == NULL);
    CHECK_INT(wl_pod_admit(s, 5000, 0, &reason, &err), 0); /* no limit */
    wl_pod_spec_free(s);
}

static void test_pod_admit_rejects_host_namespaces(void)
{
    expect_rejected("\"hostNetwork\":true,", "UnsupportedPodSpec",
                    "spec.hostNetwork: host networking is not supported by "
                    "wasmlet");
    expect_rejected("\"hostPID\":true,", "UnsupportedPodSpec",
                    "spec.hostPID: the host PID namespace is not supported "
                    "by wasmlet");
    expect_rejected("\"hostIPC\":true,", "UnsupportedPodSpec",
                    "spec.hostIPC: the host IPC namespace is not supported "
                    "by wasmlet");
}

static void test_pod_admit_rejects_ephemeral_containers(void)
{
    expect_rejected("\"ephemeralContainers\":[{\"name\":\"debug\","
                    "\"image\":\"busybox\"}],",
                    "UnsupportedPodSpec",
                    "spec.ephemeralContainers: ephemeral containers are not "
                    "supported by wasmlet");
}

static void test_pod_admit_rejects_privileged(void)
{
    expect_rejected("\"initContainers\":[{\"name\":\"setup\",\"image\":\"i\","
                    "\"securityContext\":{\"privileged\":true}}],",
                    "UnsupportedPodSpec",
                    "init container \"setup\": securityContext.privileged is "
                    "not supported by wasmlet");

    struct wl_error err = WL_ERROR_INIT;
    struct wl_pod_spec *s =
        parse_pod("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":["
                  "{\"name\":\"a\",\"image\":\"i\",\"securityContext\":{"
                  "\"privileged\":false}},"
                  "{\"name\":\"b\",\"image\":\"i\",\"securityContext\":{"
                  "\"privileged\":true}}]}}",
                  &err);
    if (!s)
        WL_FAIL("parse: %s", err.msg);
    const char *reason = NULL;
    CHECK_INT(wl_pod_admit(s, 0, 110, &reason, &err), -1);
    wl_pod_spec_free(s);
    CHECK_STR(reason, "UnsupportedPodSpec");
    CHECK_STR(err.msg, "container \"b\": securityContext.privileged is not "
                       "supported by wasmlet");
    wl_error_clear(&err);
}

static void test_pod_admit_takes_sidecars_and_refuses_other_policies(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_pod_spec *s = parse_pod(
        "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"initContainers\":["
        "{\"name\":\"side\",\"image\":\"i\",\"restartPolicy\":\"Always\"}],"
        "\"containers\":[{\"name\":\"a\",\"image\":\"i\"}]}}",
        &err);
    if (!s)
        WL_FAIL("parse: %s", err.msg);
    const char *reason = NULL;
    CHECK_INT(wl_pod_admit(s, 0, 110, &reason, &err), 0);
    CHECK_STR(s->init_containers[0].restart_policy, "Always");
    wl_pod_spec_free(s);

    s = parse_pod("{\"metadata\":{\"name\":\"p\"},\"spec\":{"
                  "\"containers\":[{\"name\":\"a\",\"image\":\"i\","
                  "\"restartPolicy\":\"Never\"}]}}",
                  &err);
    if (!s)
        WL_FAIL("parse: %s", err.msg);
    CHECK_INT(wl_pod_admit(s, 0, 110, &reason, &err), -1);
    wl_pod_spec_free(s);
    CHECK_STR(reason, "UnsupportedPodSpec");
    CHECK_STR(err.msg, "container \"a\": restartPolicy Never is not "
                       "supported by wasmlet");
    wl_error_clear(&err);
}

static void test_pod_admit_rejects_host_port(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_pod_spec *s = parse_pod(
        "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":["
        "{\"name\":\"web\",\"image\":\"i\",\"ports\":[{\"containerPort\":80},"
        "{\"containerPort\":443,\"hostPort\":8443}]}]}}",
        &err);
    if (!s)
        WL_FAIL("parse: %s", err.msg);
    const char *reason = NULL;
    CHECK_INT(wl_pod_admit(s, 0, 110, &reason, &err), -1);
    wl_pod_spec_free(s);
    CHECK_STR(reason, "UnsupportedPodSpec");
    CHECK_STR(err.msg, "container \"web\": ports[1].hostPort 8443 is not "
                       "supported by wasmlet");
    wl_error_clear(&err);
}

static void test_pod_admit_rejects_unsupported_volume_types(void)
{
    expect_rejected("\"volumes\":[{\"name\":\"ok\",\"emptyDir\":{}},"
                    "{\"name\":\"data\",\"persistentVolumeClaim\":{"
                    "\"claimName\":\"pvc\"}}],",
                    "UnsupportedPodSpec",
                    "volume \"data\": persistentVolumeClaim volumes are not "
                    "supported by wasmlet");
    expect_rejected("\"volumes\":[{\"name\":\"nfs\",\"nfs\":{\"server\":"
                    "\"x\",\"path\":\"/\"}}],",
                    "UnsupportedPodSpec",
                    "volume \"nfs\": nfs volumes are not supported by wasmlet");
}

static void test_pod_admit_rejects_unsupported_projected_sources(void)
{
    expect_rejected("\"volumes\":[{\"name\":\"p\",\"projected\":{"
                    "\"sources\":[{\"configMap\":{\"name\":\"x\"}},"
                    "{\"clusterTrustBundle\":{\"signerName\":\"s\","
                    "\"path\":\"b\"}}]}}],",
                    "UnsupportedPodSpec",
                    "volume \"p\": projected source clusterTrustBundle "
                    "(sources[1]) is not supported by wasmlet");
    expect_rejected("\"volumes\":[{\"name\":\"q\",\"projected\":{"
                    "\"sources\":[{\"podCertificate\":{}}]}}],",
                    "UnsupportedPodSpec",
                    "volume \"q\": projected source podCertificate "
                    "(sources[0]) is not supported by wasmlet");
}

static void test_pod_admit_accepts_every_supported_volume_type(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_pod_spec *s = parse_minimal(
        "",
        "\"volumes\":[{\"name\":\"a\",\"emptyDir\":{\"medium\":\"Memory\"}},"
        "{\"name\":\"b\",\"configMap\":{\"name\":\"x\"}},"
        "{\"name\":\"c\",\"secret\":{\"secretName\":\"x\"}},"
        "{\"name\":\"d\",\"hostPath\":{\"path\":\"/tmp\"}},"
        "{\"name\":\"e\",\"projected\":{\"sources\":["
        "{\"configMap\":{\"name\":\"kube-root-ca.crt\"}},"
        "{\"secret\":{\"name\":\"s\"}},"
        "{\"downwardAPI\":{\"items\":[]}},"
        "{\"serviceAccountToken\":{\"path\":\"token\"}}]}},"
        "{\"name\":\"f\",\"downwardAPI\":{\"items\":[]}}],",
        &err);
    if (!s)
        WL_FAIL("parse: %s", err.msg);
    static const enum wl_volume_type want[] = {
        WL_VOL_EMPTYDIR, WL_VOL_CONFIGMAP, WL_VOL_SECRET,
        WL_VOL_HOSTPATH, WL_VOL_PROJECTED, WL_VOL_DOWNWARDAPI,
    };
    CHECK_INT(s->nvolumes, 6);
    for (size_t i = 0; i < 6; i++)
        CHECK_INT(s->volumes[i].type, want[i]);
    const char *reason = NULL;
    CHECK_INT(wl_pod_admit(s, 0, 110, &reason, &err), 0);
    wl_pod_spec_free(s);
}

static void test_pod_admit_rejects_over_max_pods(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_pod_spec *s = parse_minimal("", "", &err);
    if (!s)
        WL_FAIL("parse: %s", err.msg);
    const char *reason = NULL;
    CHECK_INT(wl_pod_admit(s, 110, 110, &reason, &err), -1);
    CHECK_STR(reason, "OutOfpods");
    CHECK_STR(err.msg, "Node didn't have enough resource: pods, requested: "
                       "1, used: 110, capacity: 110");
    wl_error_clear(&err);
    CHECK_INT(wl_pod_admit(s, 0, 1, &reason, &err), 0);
    CHECK_INT(wl_pod_admit(s, 1, 1, &reason, &err), -1);
    CHECK_STR(err.msg, "Node didn't have enough resource: pods, requested: "
                       "1, used: 1, capacity: 1");
    wl_error_clear(&err);
    wl_pod_spec_free(s);
}

/* ---- malformed input ---- */

static void expect_invalid(const char *text, const char *msg)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_pod_spec *s = parse_pod(text, &err);
    if (s) {
        wl_pod_spec_free(s);
        WL_FAIL("accepted: %s", text);
    }
    if (!err.msg || strcmp(err.msg, msg) != 0) {
        fprintf(stderr, "  input: %s\n", text);
        CHECK_STR(err.msg, msg);
    }
    wl_error_clear(&err);
}

#define POD(spec) "{\"metadata\":{\"name\":\"p\"},\"spec\":{" spec "}}"
#define CONTAINER(fields)                                                      \
    POD("\"containers\":[{\"name\":\"c\",\"image\":\"i\"," fields "}]")

static void test_pod_spec_rejects_malformed_objects(void)
{
    expect_invalid("[]", "pod: expected a JSON object");
    expect_invalid("{\"spec\":{}}", "metadata: missing");
    expect_invalid("{\"metadata\":[]}", "pod.metadata: expected an object");
    expect_invalid("{\"metadata\":{}}", "metadata: name missing");
    expect_invalid("{\"metadata\":{\"name\":\"\"}}", "metadata: name missing");
    expect_invalid("{\"metadata\":{\"name\":7}}",
                   "metadata.name: expected a string");
    expect_invalid("{\"metadata\":{\"name\":\"p\"}}", "spec: missing");
    expect_invalid("{\"metadata\":{\"name\":\"p\",\"namespace\":false},"
                   "\"spec\":{}}",
                   "metadata.namespace: expected a string");
    expect_invalid("{\"metadata\":{\"name\":\"p\","
                   "\"deletionGracePeriodSeconds\":\"5\"},\"spec\":{}}",
                   "metadata.deletionGracePeriodSeconds: expected an integer");
}

static void test_pod_spec_rejects_bad_containers(void)
{
    expect_invalid(POD(""),
                   "spec.containers: a pod needs at least one container");
    expect_invalid(POD("\"containers\":[]"),
                   "spec.containers: a pod needs at least one container");
    expect_invalid(POD("\"containers\":{}"),
                   "spec.containers: expected an array");
    expect_invalid(POD("\"containers\":[\"c\"]"),
                   "spec.containers[0]: expected an object");
    expect_invalid(POD("\"containers\":[{\"image\":\"i\"}]"),
                   "spec.containers[0]: name missing");
    expect_invalid(POD("\"containers\":[{\"name\":\"c\"}]"),
                   "spec.containers[0]: image missing");
    expect_invalid(POD("\"containers\":[{\"name\":\"c\",\"image\":\"i\"},"
                       "{\"name\":\"c\",\"image\":\"i\"}]"),
                   "spec.containers[1]: duplicate container name \"c\"");
    expect_invalid(POD("\"initContainers\":[{\"name\":\"c\",\"image\":\"i\"}],"
                       "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]"),
                   "spec.containers[0]: duplicate container name \"c\"");
    expect_invalid(POD("\"initContainers\":[{\"name\":\"x\"}],"
                       "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]"),
                   "spec.initContainers[0]: image missing");
    expect_invalid(CONTAINER("\"command\":\"run\""),
                   "spec.containers[0].command: expected an array");
    expect_invalid(CONTAINER("\"args\":[\"a\",1]"),
                   "spec.containers[0].args[1]: expected a string");
    expect_invalid(CONTAINER("\"imagePullPolicy\":\"Sometimes\""),
                   "spec.containers[0].imagePullPolicy: \"Sometimes\" is not "
                   "Always, IfNotPresent or Never");
    expect_invalid(CONTAINER("\"securityContext\":{\"privileged\":\"yes\"}"),
                   "spec.containers[0].securityContext.privileged: expected "
                   "true or false");
    expect_invalid(CONTAINER("\"ports\":[{\"containerPort\":80,"
                             "\"hostPort\":-1}]"),
                   "spec.containers[0].ports[0].hostPort: -1 is less than 0");
    expect_invalid(CONTAINER("\"resources\":{\"limits\":{\"memory\":"
                             "\"lots\"}}"),
                   "spec.containers[0].resources.limits.memory: quantity "
                   "\"lots\" has no number");
    expect_invalid(CONTAINER("\"resources\":{\"limits\":{\"cpu\":\"-1\"}}"),
                   "spec.containers[0].resources.limits.cpu: quantity \"-1\" "
                   "is negative");
    expect_invalid(CONTAINER("\"resources\":{\"limits\":{\"cpu\":[]}}"),
                   "spec.containers[0].resources.limits.cpu: expected a "
                   "quantity");
    expect_invalid(CONTAINER("\"resources\":[]"),
                   "spec.containers[0].resources: expected an object");
}

static void test_pod_spec_rejects_bad_env(void)
{
    expect_invalid(POD("\"containers\":[{\"name\":\"a\",\"image\":\"i\"},"
                       "{\"name\":\"b\",\"image\":\"i\",\"env\":"
                       "[{\"value\":\"x\"}]}]"),
                   "spec.containers[1].env[0]: name missing");
    expect_invalid(CONTAINER("\"env\":{}"),
                   "spec.containers[0].env: expected an array");
    expect_invalid(CONTAINER("\"env\":[{\"name\":\"A\",\"value\":1}]"),
                   "spec.containers[0].env[0].value: expected a string");
    expect_invalid(CONTAINER("\"env\":[{\"name\":\"A\",\"value\":\"x\","
                             "\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
                             "\"spec.nodeName\"}}}]"),
                   "spec.containers[0].env[0]: both value and valueFrom set");
    expect_invalid(CONTAINER("\"env\":[{\"name\":\"A\",\"valueFrom\":{}}]"),
                   "spec.containers[0].env[0].valueFrom: no configMapKeyRef, "
                   "secretKeyRef, fieldRef or resourceFieldRef");
    expect_invalid(CONTAINER("\"env\":[{\"name\":\"A\",\"valueFrom\":{"
                             "\"configMapKeyRef\":{\"name\":\"x\",\"key\":"
                             "\"k\"},\"secretKeyRef\":{\"name\":\"x\","
                             "\"key\":\"k\"}}}]"),
                   "spec.containers[0].env[0].valueFrom: both "
                   "configMapKeyRef and secretKeyRef set");
    expect_invalid(CONTAINER("\"env\":[{\"name\":\"A\",\"valueFrom\":{"
                             "\"secretKeyRef\":{\"name\":\"x\"}}}]"),
                   "spec.containers[0].env[0].valueFrom.secretKeyRef: key "
                   "missing");
    expect_invalid(CONTAINER("\"env\":[{\"name\":\"A\",\"valueFrom\":{"
                             "\"configMapKeyRef\":{\"name\":\"x\",\"key\":"
                             "\"k\",\"optional\":\"no\"}}}]"),
                   "spec.containers[0].env[0].valueFrom.configMapKeyRef."
                   "optional: expected true or false");
    expect_invalid(CONTAINER("\"env\":[{\"name\":\"A\",\"valueFrom\":{"
                             "\"fieldRef\":{}}}]"),
                   "spec.containers[0].env[0].valueFrom.fieldRef: fieldPath "
                   "missing");
    expect_invalid(CONTAINER("\"env\":[{\"name\":\"A\",\"valueFrom\":{"
                             "\"resourceFieldRef\":{\"divisor\":\"1\"}}}]"),
                   "spec.containers[0].env[0].valueFrom.resourceFieldRef: "
                   "resource missing");
    expect_invalid(CONTAINER("\"envFrom\":[{\"prefix\":\"P_\"}]"),
                   "spec.containers[0].envFrom[0]: no configMapRef or "
                   "secretRef");
    expect_invalid(CONTAINER("\"envFrom\":[{\"configMapRef\":{\"name\":\"a\"},"
                             "\"secretRef\":{\"name\":\"b\"}}]"),
                   "spec.containers[0].envFrom[0]: both configMapRef and "
                   "secretRef set");
    expect_invalid(CONTAINER("\"envFrom\":[{\"secretRef\":{}}]"),
                   "spec.containers[0].envFrom[0].secretRef: name missing");
}

static void test_pod_spec_rejects_bad_volumes_and_mounts(void)
{
    expect_invalid(CONTAINER("\"volumeMounts\":[{\"name\":\"v\","
                             "\"mountPath\":\"/v\"}]"),
                   "spec.containers[0].volumeMounts[0]: volume \"v\" not "
                   "found");
    expect_invalid(POD("\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}}],"
                       "\"containers\":[{\"name\":\"c\",\"image\":\"i\","
                       "\"volumeMounts\":[{\"name\":\"v\"}]}]"),
                   "spec.containers[0].volumeMounts[0]: mountPath missing");
    expect_invalid(POD("\"volumes\":[{\"emptyDir\":{}}]"),
                   "spec.volumes[0]: name missing");
    expect_invalid(POD("\"volumes\":[{\"name\":\"v\"}]"),
                   "spec.volumes[0]: no volume source");
    expect_invalid(POD("\"volumes\":[{\"name\":\"v\",\"emptyDir\":{},"
                       "\"secret\":{}}]"),
                   "spec.volumes[0]: more than one volume source (emptyDir, "
                   "secret)");
    expect_invalid(POD("\"volumes\":[{\"name\":\"v\",\"emptyDir\":true}]"),
                   "spec.volumes[0].emptyDir: expected an object");
    expect_invalid(POD("\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}},"
                       "{\"name\":\"v\",\"emptyDir\":{}}]"),
                   "spec.volumes[1]: duplicate volume name \"v\"");
    expect_invalid(POD("\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}}],"
                       "\"containers\":[{\"name\":\"c\",\"image\":\"i\","
                       "\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/v\","
                       "\"subPath\":\"a\",\"subPathExpr\":\"$(X)\"}]}]"),
                   "spec.containers[0].volumeMounts[0]: subPath and "
                   "subPathExpr are mutually exclusive");
    expect_invalid(POD("\"volumes\":{}"), "spec.volumes: expected an array");
    expect_invalid(POD("\"imagePullSecrets\":[{}]"),
                   "spec.imagePullSecrets[0]: name missing");
}

static void test_pod_spec_rejects_bad_pod_fields(void)
{
    expect_invalid(POD("\"restartPolicy\":\"Sometimes\""),
                   "spec.restartPolicy: \"Sometimes\" is not Always, "
                   "OnFailure or Never");
    expect_invalid(POD("\"terminationGracePeriodSeconds\":\"30\""),
                   "spec.terminationGracePeriodSeconds: expected an integer");
    expect_invalid(POD("\"terminationGracePeriodSeconds\":-1"),
                   "spec.terminationGracePeriodSeconds: -1 is less than 0");
    expect_invalid(POD("\"activeDeadlineSeconds\":0"),
                   "spec.activeDeadlineSeconds: 0 is less than 1");
    expect_invalid(POD("\"hostNetwork\":1"),
                   "spec.hostNetwork: expected true or false");
    expect_invalid(POD("\"ephemeralContainers\":{}"),
                   "spec.ephemeralContainers: expected an array");
    expect_invalid("{\"metadata\":{\"name\":\"p\"},\"spec\":[]}",
                   "pod.spec: expected an object");
}

/* wl_json_parse() refuses \u0000, but a json_t built in memory (jansson's
 * json_stringn) can hold NULs; they must not be cut off silently. */
static void test_pod_spec_rejects_strings_with_nul(void)
{
    json_t *pod = parse_json(CONTAINER("\"args\":[\"x\"],\"env\":[{"
                                       "\"name\":\"A\",\"value\":\"v\"}]"));
    CHECK(pod);
    json_t *c = json_array_get(wl_json_get(pod, "spec", "containers", NULL), 0);
    struct wl_error err = WL_ERROR_INIT;
    struct wl_pod_spec *s = NULL;

    json_array_set_new(json_object_get(c, "args"), 0, json_stringn("a\0b", 3));
    CHECK_INT(wl_pod_spec_parse(pod, &s, &err), -1);
    CHECK_STR(err.msg, "spec.containers[0].args[0]: contains a NUL character");
    wl_error_clear(&err);

    json_array_set_new(json_object_get(c, "args"), 0, json_string("a"));
    json_object_set_new(json_array_get(json_object_get(c, "env"), 0), "value",
                        json_stringn("x\0y", 3));
    CHECK_INT(wl_pod_spec_parse(pod, &s, &err), -1);
    CHECK_STR(err.msg,
              "spec.containers[0].env[0].value: contains a NUL character");
    wl_error_clear(&err);
    CHECK(s == NULL);
    json_decref(pod);
}

/* Builds a pod whose `where` list has n copies of item. */
static char *pod_with_many(const char *prefix, const char *item, size_t n,
                           const char *suffix)
{
    size_t ilen = strlen(item), plen = strlen(prefix), slen = strlen(suffix);
    char *text = malloc(plen + n * (ilen + 1) + slen + 1);
    if (!text)
        return NULL;
    char *p = text;
    memcpy(p, prefix, plen);
    p += plen;
    for (size_t i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        memcpy(p, item, ilen);
        p += ilen;
    }
    memcpy(p, suffix, slen + 1);
    return text;
}

static void test_pod_spec_rejects_arrays_over_limits(void)
{
    char *t = pod_with_many(
        "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[",
        "{\"name\":\"c\",\"image\":\"i\"}", WL_POD_MAX_CONTAINERS + 1, "]}}");
    expect_invalid(t, "spec.containers: 65 items, more than the limit of 64");
    free(t);

    t = pod_with_many("{\"metadata\":{\"name\":\"p\"},\"spec\":{"
                      "\"containers\":[{\"name\":\"c\",\"image\":\"i\","
                      "\"env\":[",
                      "{\"name\":\"A\"}", WL_POD_MAX_ENV + 1, "]}]}}");
    expect_invalid(t, "spec.containers[0].env: 257 items, more than the "
                      "limit of 256");
    free(t);

    t = pod_with_many("{\"metadata\":{\"name\":\"p\"},\"spec\":{"
                      "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}],"
                      "\"volumes\":[",
                      "{\"name\":\"v\",\"emptyDir\":{}}",
                      WL_POD_MAX_VOLUMES + 1, "]}}");
    expect_invalid(t, "spec.volumes: 65 items, more than the limit of 64");
    free(t);

    t = pod_with_many("{\"metadata\":{\"name\":\"p\"},\"spec\":{"
                      "\"containers\":[{\"name\":\"c\",\"image\":\"i\","
                      "\"args\":[",
                      "\"x\"", WL_POD_MAX_ARGS + 1, "]}]}}");
    expect_invalid(t, "spec.containers[0].args: 1025 items, more than the "
                      "limit of 1024");
    free(t);

    /* Exactly at the limit is fine. */
    t = pod_with_many("{\"metadata\":{\"name\":\"p\"},\"spec\":{"
                      "\"containers\":[{\"name\":\"c\",\"image\":\"i\","
                      "\"env\":[",
                      "{\"name\":\"A\",\"value\":\"v\"}", WL_POD_MAX_ENV,
                      "]}]}}");
    struct wl_error err = WL_ERROR_INIT;
    struct wl_pod_spec *s = parse_pod(t, &err);
    free(t);
    if (!s)
        WL_FAIL("at the limit: %s", err.msg);
    CHECK_INT(s->containers[0].nenv, WL_POD_MAX_ENV);
    wl_pod_spec_free(s);
}

static void test_pod_ignored_fields_are_named(void)
{
    json_t *pod = parse_json(
        "{\"metadata\": {\"name\": \"p\"}, \"spec\": {"
        "\"hostAliases\": [{\"ip\": \"1.2.3.4\"}], \"dnsConfig\": {},"
        "\"initContainers\": [{\"name\": \"i\", \"image\": \"x\","
        " \"tty\": true}],"
        "\"containers\": [{\"name\": \"a\", \"image\": \"x\","
        " \"workingDir\": \"/\", \"stdin\": false},"
        " {\"name\": \"b\", \"image\": \"x\", \"workingDir\": \"/data\","
        " \"readinessProbe\": {\"exec\": {\"command\": [\"true\"]}},"
        " \"lifecycle\": {\"preStop\": {}}}]}}");
    char *s = wl_pod_ignored_fields(pod);
    CHECK_STR(s, "spec.initContainers[0].tty, "
                 "spec.containers[1].readinessProbe, "
                 "spec.containers[1].lifecycle, "
                 "spec.containers[1].workingDir, spec.hostAliases: "
                 "not supported by wasmlet, ignored");
    free(s);
    json_decref(pod);

    pod = parse_json("{\"metadata\": {\"name\": \"p\"}, \"spec\": "
                     "{\"containers\": [{\"name\": \"a\", "
                     "\"image\": \"x\"}]}}");
    CHECK(wl_pod_ignored_fields(pod) == NULL);
    json_decref(pod);
}

WL_TEST_MAIN(WL_T(test_pod_spec_decodes_realistic_pod_metadata),
             WL_T(test_pod_spec_runtime_class_name),
             WL_T(test_runtime_class_handlers),
             WL_T(test_pod_ignored_fields_are_named),
             WL_T(test_pod_admit_takes_sidecars_and_refuses_other_policies),
             WL_T(test_pod_spec_decodes_realistic_pod_volumes),
             WL_T(test_pod_spec_volume_source_outlives_the_pod_json),
             WL_T(test_pod_spec_decodes_realistic_containers),
             WL_T(test_pod_spec_decodes_every_env_source),
             WL_T(test_pod_spec_resource_field_ref_divisor_number),
             WL_T(test_pod_spec_minimal_pod_gets_defaults),
             WL_T(test_pod_spec_reads_deletion_and_deadline),
             WL_T(test_pod_admit_accepts_realistic_pod),
             WL_T(test_pod_admit_rejects_host_namespaces),
             WL_T(test_pod_admit_rejects_ephemeral_containers),
             WL_T(test_pod_admit_rejects_privileged),
             WL_T(test_pod_admit_rejects_host_port),
             WL_T(test_pod_admit_rejects_unsupported_volume_types),
             WL_T(test_pod_admit_rejects_unsupported_projected_sources),
             WL_T(test_pod_admit_accepts_every_supported_volume_type),
             WL_T(test_pod_admit_rejects_over_max_pods),
             WL_T(test_pod_spec_rejects_malformed_objects),
             WL_T(test_pod_spec_rejects_bad_containers),
             WL_T(test_pod_spec_rejects_bad_env),
             WL_T(test_pod_spec_rejects_bad_volumes_and_mounts),
             WL_T(test_pod_spec_rejects_bad_pod_fields),
             WL_T(test_pod_spec_rejects_strings_with_nul),
             WL_T(test_pod_spec_rejects_arrays_over_limits))
