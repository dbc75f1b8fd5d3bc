/* A typed, validated view of a Pod object (core/v1 Pod as the API server
 * sends it, or a static pod manifest) and the node's admission check.
 *
 *     struct wl_pod_spec *spec = NULL;
 *     const char *reason;
 *     if (wl_pod_spec_parse(pod_json, &spec, &err) < 0)
 *         ... err.msg: "spec.containers[1].env[0]: name missing"
 *     else if (wl_pod_admit(spec, running, max_pods, &reason, &err) < 0)
 *         ... pod Failed with reason and err.msg as its message
 *     wl_pod_spec_free(spec);
 *
 * Ownership: a struct wl_pod_spec owns every string and array it points to
 * (all malloc'd, freed by wl_pod_spec_free()), and holds one reference on
 * each volume's raw source object. Nothing in it borrows from the JSON it
 * was parsed from, which the caller may drop right after parsing.
 *
 * Parsing checks what the pod manager relies on (names present, types
 * right, one source per env var / volume, mounts naming declared volumes,
 * sizes under the limits below); it does not decide what this node can run,
 * which is wl_pod_admit()'s job, so a pod that parses can still be rejected
 * with a reason the user sees in its status.
 */
#ifndef WL_POD_SPEC_H
#define WL_POD_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* Size limits, checked before anything is allocated for the items. Far
 * above what real pods use; they bound what a hostile object costs. */
#define WL_POD_MAX_CONTAINERS 64   /* each of containers, initContainers */
#define WL_POD_MAX_ENV 256         /* env entries per container */
#define WL_POD_MAX_ENV_FROM 64     /* envFrom entries per container */
#define WL_POD_MAX_MOUNTS 64       /* volumeMounts per container */
#define WL_POD_MAX_PORTS 64        /* ports per container */
#define WL_POD_MAX_ARGS 1024       /* command or args entries */
#define WL_POD_MAX_VOLUMES 64      /* spec.volumes */
#define WL_POD_MAX_PULL_SECRETS 64 /* spec.imagePullSecrets */

/* Default of spec.terminationGracePeriodSeconds (the API server fills it
 * in; static pods may omit it). */
#define WL_POD_DEFAULT_GRACE_S 30

/* Where an env var's value comes from (EnvVar.value / EnvVar.valueFrom). */
enum wl_env_source {
    WL_ENV_VALUE,         /* value (absent value is "") */
    WL_ENV_CONFIGMAP_KEY, /* valueFrom.configMapKeyRef: ref_name, ref_key */
    WL_ENV_SECRET_KEY,    /* valueFrom.secretKeyRef: ref_name, ref_key */
    WL_ENV_FIELD,         /* valueFrom.fieldRef: field_path */
    WL_ENV_RESOURCE,      /* valueFrom.resourceFieldRef: resource, ... */
};

struct wl_env_var {
    char *name;
    enum wl_env_source source;
    char *value;          /* WL_ENV_VALUE only (never NULL then), else NULL */
    char *ref_name;       /* configMap / secret name */
    char *ref_key;        /* key in it */
    bool optional;        /* configMapKeyRef / secretKeyRef .optional */
    char *field_path;     /* fieldRef.fieldPath */
    char *resource;       /* resourceFieldRef.resource, e.g. limits.memory */
    char *container_name; /* resourceFieldRef.containerName, NULL if unset */
    char *divisor;        /* resourceFieldRef.divisor as text, NULL if unset */
};

/* One envFrom entry: every key of a ConfigMap or Secret, with a prefix. */
struct wl_env_from {
    char *prefix;   /* NULL when unset */
    bool is_secret; /* secretRef, else configMapRef */
    char *name;
    bool optional;
};

struct wl_volume_mount {
    char *name; /* a volume of the pod (checked) */
    char *mount_path;
    bool read_only;
    char *sub_path;      /* NULL when unset */
    char *sub_path_expr; /* subPathExpr ($(VAR) expanded), NULL unset */
};

struct wl_container_port {
    char *name; /* NULL when unset */
    int64_t container_port;
    int64_t host_port; /* 0 when unset */
    char *protocol;    /* NULL when unset (Kubernetes' default is TCP) */
};

struct wl_container {
    char *name;
    char *image;
    char **command; /* NULL when ncommand is 0 */
    size_t ncommand;
    char **args;
    size_t nargs;
    struct wl_env_var *env;
    size_t nenv;
    struct wl_env_from *env_from;
    size_t nenv_from;
    struct wl_volume_mount *mounts;
    size_t nmounts;
    struct wl_container_port *ports;
    size_t nports;
    int64_t memory_limit;     /* resources.limits.memory in bytes, 0 none */
    int64_t cpu_limit_millis; /* resources.limits.cpu in millicores, 0 none */
    char *image_pull_policy;  /* Always / IfNotPresent / Never, NULL unset */
    char *restart_policy;     /* the container's own (sidecars), NULL unset */
    char *working_dir;        /* NULL when unset */
    /* terminationMessagePath / terminationMessagePolicy, defaulted as the
     * API server does ("/dev/termination-log", "File") for pods that do
     * not come from it (wasmlet run POD.yaml) */
    char *termination_message_path;
    char *termination_message_policy; /* File or FallbackToLogsOnError */
    bool privileged;          /* securityContext.privileged */
};

/* Volume types this node implements; anything else parses as
 * WL_VOL_UNSUPPORTED so admission can reject the pod by name. */
enum wl_volume_type {
    WL_VOL_EMPTYDIR,
    WL_VOL_CONFIGMAP,
    WL_VOL_SECRET,
    WL_VOL_HOSTPATH,
    WL_VOL_PROJECTED,
    WL_VOL_DOWNWARDAPI,
    WL_VOL_UNSUPPORTED,
};

struct wl_volume {
    char *name;
    enum wl_volume_type type;
    char *type_name; /* the source's key as in the pod: "emptyDir",
                        "persistentVolumeClaim"... */
    json_t *source;  /* the raw source object; one reference owned */
};

struct wl_pod_spec {
    char *namespace_;       /* metadata.namespace, "default" when unset */
    char *name;             /* metadata.name, required */
    char *uid;              /* metadata.uid, NULL when unset (static pods) */
    char *resource_version; /* metadata.resourceVersion, NULL when unset */
    char *node_name;        /* spec.nodeName, NULL when unset */
    char *restart_policy;   /* Always (default) / OnFailure / Never */
    int64_t termination_grace_s; /* default WL_POD_DEFAULT_GRACE_S */
    int64_t active_deadline_s;   /* -1 when unset */
    bool deleting;               /* metadata.deletionTimestamp set */
    /* metadata.deletionGracePeriodSeconds, or termination_grace_s when the
     * API server did not set it. Meaningful only when deleting. */
    int64_t deletion_grace_s;
    struct wl_container *init_containers;
    size_t ninit;
    struct wl_container *containers; /* at least one */
    size_t ncontainers;
    struct wl_volume *volumes;
    size_t nvolumes;
    char **image_pull_secrets; /* names of the Secrets */
    size_t npull_secrets;
    char *service_account; /* spec.serviceAccountName (or the deprecated
                              serviceAccount), NULL when unset */
    char *runtime_class;   /* spec.runtimeClassName, NULL when unset or
                              empty (pod/runtimeclass.h) */
    /* Read for admission only. */
    bool host_network, host_pid, host_ipc;
    size_t nephemeral; /* spec.ephemeralContainers entries */
};

/* Parses a Pod object. On success *ret is a new spec the caller frees with
 * wl_pod_spec_free(). On failure returns -1, leaves *ret alone, and err
 * names the offending field by its JSON path, e.g.
 * "spec.containers[1].env[0]: name missing". */
int wl_pod_spec_parse(const json_t *pod, struct wl_pod_spec **ret,
                      struct wl_error *err);

/* Frees s and everything it owns. Accepts NULL and half-built specs. */
void wl_pod_spec_free(struct wl_pod_spec *s);

/* Fields of pod that wasmlet accepts but cannot honour (probes, lifecycle
 * hooks, workingDir, stdin/tty, ...): NULL when there are none, else a
 * malloc'd sentence naming each by its path, for a Warning Event, e.g.
 * "spec.containers[0].readinessProbe, spec.hostAliases: not supported by
 * wasmlet, ignored". */
char *wl_pod_ignored_fields(const json_t *pod);

/* Reasons wl_pod_admit() returns, as the kubelet puts them in pod status. */
#define WL_POD_REASON_UNSUPPORTED "UnsupportedPodSpec"
#define WL_POD_REASON_OUT_OF_PODS "OutOfpods"

/* Admission: whether this node can run s next to running_pods others when
 * it runs at most max_pods (<= 0: no limit). Returns 0 when admitted; else
 * -1 with *ret_reason set to one of the static WL_POD_REASON_* strings and
 * err holding the message for the pod's status, naming the field, e.g.
 * "volume \"data\": persistentVolumeClaim volumes are not supported by
 * wasmlet". Rejected: hostNetwork, hostPID, hostIPC, ephemeral containers,
 * privileged containers, hostPort, volume types not implemented, and a
 * full node. */
int wl_pod_admit(const struct wl_pod_spec *s, size_t running_pods,
                 long max_pods, const char **ret_reason, struct wl_error *err);

#endif
