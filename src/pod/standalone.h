/* Standalone mode: `wasmlet run POD.yaml`, the kubelet's static pods
 * without an API server. Manifests are loaded and admitted up front (every
 * error before anything runs), then the pods run on this thread's loop
 * with the pod manager's runner threads (pod/runner.c) and state rules
 * (pod/state.c):
 *
 *     struct wl_static_pods pods = {0};
 *     if (wl_static_pods_load(path, &opts, &pods, &err) < 0)
 *         ... err.msg: "hello.yaml: pod \"x\":
 *                       spec.containers[0].imagePullPolicyy: unknown field"
 *     int status = wl_static_pods_run(&pods, &cfg);
 *     wl_static_pods_clear(&pods);
 *
 * Loading: a file holds YAML or JSON, one or several documents, each a v1
 * Pod or a v1 List of them; a directory contributes each *.yaml, *.yml and
 * *.json file in it, in name order (dot files skipped). A pod goes through
 * wl_pod_spec_parse() and wl_pod_admit() as in serve, and then through what
 * this mode cannot do: anything that needs an API server (configMap and
 * secret env and volumes, imagePullSecrets), sidecars. In strict mode an
 * unknown field is an error naming its path; otherwise a warning. An image
 * that is a path (absolute, "./", "../", or a relative name ending in
 * ".wasm" that exists) is the .wasm file itself, relative to the
 * manifest's directory, and must start with the wasm magic; anything else
 * is an OCI reference, pulled by the puller.
 *
 * Running: init containers one after another, then the app containers at
 * once, each run on a thread of its own; restartPolicy with the kubelet's
 * CrashLoopBackOff (pod/backoff.h); activeDeadlineSeconds. SIGINT and
 * SIGTERM (which the caller blocks before calling) stop every module and
 * end the loop. Output goes to the CRI logs under
 * <data_dir>/pods/<uid>/<container>/ and to our stdout/stderr; a run that
 * failed or left a message (a trap, its termination message: the
 * runner's, pod/termmsg.h) is logged with it on stderr.
 */
#ifndef WL_POD_STANDALONE_H
#define WL_POD_STANDALONE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "pod/manager.h"
#include "pod/spec.h"
#include "util/error.h"

/* Largest manifest file read. */
#define WL_STATIC_POD_MAX_BYTES (4u * 1024 * 1024)
/* Most pods one run takes (a directory of manifests included). */
#define WL_STATIC_POD_MAX_PODS 64

struct wl_static_pod {
    char *source; /* the manifest file, for messages */
    json_t *obj;  /* the Pod: uid and nodeName filled in, images
                     that are paths made absolute */
    struct wl_pod_spec *spec;
};

struct wl_static_pods {
    struct wl_static_pod *v;
    size_t n;
};

struct wl_static_pod_opts {
    bool strict;           /* unknown fields are errors, not warnings */
    bool is_dir;           /* path is a directory of manifests */
    const char *node_name; /* spec.nodeName and its fieldRef */
};

/* Whether the first len bytes of a file look like a wasm module ("\0asm"):
 * `wasmlet run` runs those, and reads anything else as a manifest. */
bool wl_static_is_wasm(const void *head, size_t len);

/* Loads and admits every pod of path into *ret (which must be zeroed), or
 * fails with the first problem, prefixed by the file and the pod: nothing
 * is kept then. The caller clears *ret with wl_static_pods_clear(). */
int wl_static_pods_load(const char *path, const struct wl_static_pod_opts *o,
                        struct wl_static_pods *ret, struct wl_error *err);

void wl_static_pods_clear(struct wl_static_pods *pods);

/* The manifest files of dir (*.yaml, *.yml, *.json, not dot files) as
 * "dir/name" paths in name order, at most max of them; *more tells that
 * dir held more (not listed). An empty list is not an error here (serve's
 * static pod directory may be empty; `wasmlet run DIR` says so itself).
 * Free with wl_static_manifests_free(). */
int wl_static_manifests(const char *dir, size_t max, char ***ret,
                        size_t *ret_n, bool *more, struct wl_error *err);
void wl_static_manifests_free(char **paths, size_t n);

/* Runs the pods to the end (or until SIGINT/SIGTERM) with cfg's engine,
 * puller and data dir; creds is unused (NULL). When echo is set, every
 * container's output also goes to our stdout/stderr, each line prefixed
 * "[pod/container] " when prefix is set. Returns the exit status of
 * `wasmlet run`: 0 when every app container succeeded (or the pods were
 * stopped by a signal with none failed), else the exit code of the first
 * container that failed for good (a trap is 1, a module stopped or out of
 * memory 137, as the pod's status would say), 124 when a pod ran past its
 * activeDeadlineSeconds, 125 when a container could not be started. */
int wl_static_pods_run(const struct wl_static_pods *pods,
                       const struct wl_pod_manager_config *cfg);

#endif
