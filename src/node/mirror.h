/* Static pods in `wasmlet serve` (--pod-manifest-path): the manifests in a
 * directory are this node's own pods, shown in the API server as mirror
 * pods, as the kubelet shows its static pods.
 *
 * Each node-loop turn, wl_mirror_sync() reads the directory (every *.yaml,
 * *.yml and *.json file, loaded and admitted as `wasmlet run` loads them,
 * pod/standalone.h; a bad file is skipped and logged once), and makes the
 * API server's mirror pods match it:
 * - a manifest without its mirror pod: the mirror pod is created, named
 *   <name>-<node>, bound to this node (spec.nodeName), owned by the Node,
 *   annotated kubernetes.io/config.mirror and config.hash (a hash of the
 *   manifest), config.source "file" and config.seen, and tolerating the
 *   node's kubernetes.io/arch taints (the taint manager would evict it);
 * - a mirror pod whose hash is not its manifest's (the file changed) or
 *   whose manifest is gone: the mirror pod is deleted (a changed one is
 *   created again on a later turn, once it is gone).
 * The pod manager then runs mirror pods like any pod bound to the node.
 *
 * Unlike the kubelet, wasmlet runs a static pod through its mirror pod:
 * without an API server it does not run (`wasmlet run` does that), and a
 * mirror pod deleted by hand comes back on the next turn. Images must be
 * registry references: a file path works only with `wasmlet run`.
 *
 * One owner: the node loop's thread. */
#ifndef WL_NODE_MIRROR_H
#define WL_NODE_MIRROR_H

#include "kube/client.h"
#include "util/error.h"

struct wl_mirror;

/* dir: the manifests' directory (borrowed: it must outlive the mirror). */
int wl_mirror_new(const char *dir, const char *node_name,
                  struct wl_mirror **ret, struct wl_error *err);

/* One turn, as above; node_uid is the Node's metadata.uid (the mirror
 * pods' owner). Problems are logged; the next turn tries again. */
void wl_mirror_sync(struct wl_mirror *m, struct wl_kube_client *c,
                    const char *node_uid);

/* Accepts NULL. */
void wl_mirror_free(struct wl_mirror *m);

#endif
