/* The volume manager: a thread of its own that writes the volumes whose
 * content comes from the API server — configMap, secret, downwardAPI and
 * projected (configMap, secret, downwardAPI, serviceAccountToken) — into
 * <data-dir>/pods/<uid>/volumes/<name>, and keeps them current.
 *
 * Threads (DESIGN.md, "Concurrency model"): the pod manager's owner thread
 * sends requests (wl_volume_manager_mount / _unmount, which only queue);
 * the volume manager owns its list of mounted pods (each a deep copy of
 * the pod object), its API client and its tokens, and answers on the
 * owner's queue with WL_MSG_VOLUMES messages (src/pod/runner.h): ok when
 * every volume of the pod is written, else the FailedMount message. It
 * answers after each mount request, and again whenever the outcome
 * changes.
 *
 * Every mounted pod is written again every WL_VOLUME_RESYNC_S seconds
 * (ConfigMap and Secret updates reach running pods; unchanged content
 * writes nothing), and service account tokens are requested again at 80%
 * of their lifetime. A failure (object missing, forbidden, bad path) posts
 * a FailedMount Event and is retried with backoff (1 s doubling to
 * WL_VOLUME_BACKOFF_MAX_S).
 *
 * emptyDirs (pod/emptydir.h): medium Memory is set up here (a tmpfs, or a
 * plain directory) before the first ok, and removed on unmount; a volume
 * with a sizeLimit is measured every WL_EMPTYDIR_CHECK_S, and once one is
 * over its limit the owner gets a WL_MSG_VOLUMES with evict set and the
 * kubelet's message, and evicts the pod.
 */
#ifndef WL_POD_VOLUMES_H
#define WL_POD_VOLUMES_H

#include <jansson.h>
#include <stdbool.h>

#include "pod/manager.h"
#include "pod/spec.h"
#include "util/error.h"
#include "util/queue.h"

/* Seconds between two writes of a mounted pod's volumes (the kubelet's
 * sync period is a minute; 20 s keeps updates well inside it). */
#define WL_VOLUME_RESYNC_S 20
/* Seconds between two measures of an emptyDir with a sizeLimit (an lstat
 * walk; the kubelet's eviction manager looks every 10 s). */
#define WL_EMPTYDIR_CHECK_S 5
/* Longest wait between two attempts at a failing mount. */
#define WL_VOLUME_BACKOFF_MAX_S 30
/* serviceAccountToken.expirationSeconds: default and minimum, as the API. */
#define WL_TOKEN_DEFAULT_EXPIRATION_S 3600
#define WL_TOKEN_MIN_EXPIRATION_S 600

struct wl_volume_manager;

/* Whether the pod has a volume this manager writes, or an emptyDir it
 * sets up or measures (medium Memory, sizeLimit). */
bool wl_volumes_needed(const struct wl_pod_spec *s);

/* Starts the thread. cfg must outlive the manager; replies go to reply
 * (the owner's queue), which must outlive it too. */
int wl_volume_manager_start(const struct wl_pod_manager_config *cfg,
                            struct wl_queue *reply,
                            struct wl_volume_manager **ret,
                            struct wl_error *err);

/* Stops and joins the thread; what is on disk stays (a restarted wasmlet
 * mounts its pods again). Accepts NULL. */
void wl_volume_manager_stop(struct wl_volume_manager *vm);

/* Asks for the pod's volumes to be written, or written again (the pod
 * changed: labels and annotations feed downwardAPI files). Takes pod (a
 * deep copy the caller hands over), also on failure. Returns -1 only when
 * the manager is stopping or memory ran out. */
int wl_volume_manager_mount(struct wl_volume_manager *vm, json_t *pod);

/* Forgets the pod uid and removes its volumes' directories. */
int wl_volume_manager_unmount(struct wl_volume_manager *vm, const char *uid);

#endif
