/* emptyDir volumes beyond a plain directory, as the kubelet does them:
 *
 * - medium: Memory is a tmpfs (size = sizeLimit, else half the node's
 *   memory) when wasmlet may mount one (it runs as root and mount(2)
 *   works); otherwise a plain directory.
 * - sizeLimit is enforced by measuring the directory (wl_dir_usage) and
 *   evicting the pod when it is over (the kubelet's eviction manager,
 *   emptyDirLimitEviction).
 *
 * The volume manager thread (volumes.c) sets up and measures these
 * volumes; the owner thread detaches what is mounted before it removes a
 * pod's directory. Internal to src/pod.
 */
#ifndef WL_POD_EMPTYDIR_H
#define WL_POD_EMPTYDIR_H

#include <stdbool.h>
#include <stdint.h>

#include "pod/spec.h"
#include "util/error.h"

/* Whether v is an emptyDir with medium "Memory". */
bool wl_emptydir_memory(const struct wl_volume *v);

/* v's emptyDir.sizeLimit: 1 with the bytes in *ret_bytes and the text as
 * written in the pod in *ret_text (borrowed from v->source); 0 when v is
 * not an emptyDir or has no positive sizeLimit (the kubelet ignores a zero
 * one); -1 with err set when it does not parse. */
int wl_emptydir_limit(const struct wl_volume *v, int64_t *ret_bytes,
                      const char **ret_text, struct wl_error *err);

/* Whether v needs the volume manager: medium Memory or a sizeLimit. */
bool wl_emptydir_managed(const struct wl_volume *v);

/* Makes dir (and its parents) for a medium Memory emptyDir. As root, a
 * tmpfs of size bytes (<= 0: half the node's memory) is mounted on it,
 * nosuid, nodev, mode 0750; a dir that is a mount point already (left by
 * an earlier wasmlet) is kept as it is. *ret_mount_errno is 0 when dir is
 * a tmpfs, else why it is a plain directory (EPERM when not root, or what
 * mount(2) said). Fails only when dir cannot be made. */
int wl_emptydir_setup_memory(const char *dir, int64_t size,
                             int *ret_mount_errno, struct wl_error *err);

/* Whether dir is a mount point (its device differs from its parent's). */
bool wl_emptydir_is_mount(const char *dir);

/* Detaches the mount at dir (umount2 MNT_DETACH: busy or not) when dir is
 * a mount point; nothing to do is fine. */
int wl_emptydir_detach(const char *dir, struct wl_error *err);

/* Detaches every mount point <pod_dir>/volumes/<name>, so that removing
 * the pod's directory deletes files and not mounted memory (and the
 * removal of the mount point does not fail with EBUSY). A pod without
 * volumes is fine. */
int wl_emptydir_detach_all(const char *pod_dir, struct wl_error *err);

#endif
