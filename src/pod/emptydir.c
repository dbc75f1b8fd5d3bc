#include "pod/emptydir.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kube/quantity.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/json.h"

bool wl_emptydir_memory(const struct wl_volume *v)
{
    const char *medium = v->type == WL_VOL_EMPTYDIR
                             ? wl_json_str(v->source, "medium", NULL)
                             : NULL;
    return medium && !strcmp(medium, "Memory");
}

int wl_emptydir_limit(const struct wl_volume *v, int64_t *ret_bytes,
                      const char **ret_text, struct wl_error *err)
{
    if (v->type != WL_VOL_EMPTYDIR)
        return 0;
    json_t *j = json_object_get(v->source, "sizeLimit");
    if (!j || json_is_null(j))
        return 0;
    const char *text = json_string_value(j);
    int64_t bytes;
    if (!text)
        return wl_error_set(err, 0,
                            "volume \"%s\": sizeLimit is not a "
                            "quantity string",
                            v->name);
    if (wl_quantity_parse_bytes(text, &bytes, err) < 0)
        return wl_error_prefix(err, "volume \"%s\": sizeLimit", v->name);
    if (bytes <= 0)
        return 0;
    *ret_bytes = bytes;
    *ret_text = text;
    return 1;
}

bool wl_emptydir_managed(const struct wl_volume *v)
{
    return v->type == WL_VOL_EMPTYDIR &&
           (wl_emptydir_memory(v) || json_object_get(v->source, "sizeLimit"));
}

bool wl_emptydir_is_mount(const char *dir)
{
    struct stat st, parent;
    _cleanup_free_ char *up = NULL;
    if (asprintf(&up, "%s/..", dir) < 0)
        return false;
    return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
           stat(up, &parent) == 0 && st.st_dev != parent.st_dev;
}

/* tmpfs' own default, spelled out so the size is the same whatever the
 * mount defaults are: half the node's memory. */
static int64_t half_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (int64_t)pages * page / 2 : 0;
}

int wl_emptydir_setup_memory(const char *dir, int64_t size,
                             int *ret_mount_errno, struct wl_error *err)
{
    if (wl_mkdir_p(dir, 0750, err) < 0)
        return -1;
    if (wl_emptydir_is_mount(dir)) {
        *ret_mount_errno = 0;
        return 0;
    }
    if (geteuid() != 0) {
        *ret_mount_errno = EPERM;
        return 0;
    }
    if (size <= 0)
        size = half_memory();
    char opts[64];
    if (size > 0)
        snprintf(opts, sizeof(opts), "size=%lld,mode=0750", (long long)size);
    else
        snprintf(opts, sizeof(opts), "mode=0750");
    /* The kubelet mounts "tmpfs" with size= only; nosuid and nodev cost
     * nothing here (modules neither exec nor open devices). */
    *ret_mount_errno =
        mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) == 0 ? 0
                                                                      : errno;
    return 0;
}

int wl_emptydir_detach(const char *dir, struct wl_error *err)
{
    if (!wl_emptydir_is_mount(dir))
        return 0;
    if (umount2(dir, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        return wl_error_set(err, errno, "unmount %s", dir);
    return 0;
}

int wl_emptydir_detach_all(const char *pod_dir, struct wl_error *err)
{
    _cleanup_free_ char *vols = NULL;
    if (asprintf(&vols, "%s/volumes", pod_dir) < 0)
        return wl_error_set(err, ENOMEM, "unmount volumes");
    DIR *d = opendir(vols);
    if (!d)
        return errno == ENOENT ? 0 : wl_error_set(err, errno, "open %s", vols);
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        _cleanup_free_ char *path = NULL;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (asprintf(&path, "%s/%s", vols, e->d_name) < 0) {
            rc = wl_error_set(err, ENOMEM, "unmount volumes");
            break;
        }
        if (wl_emptydir_detach(path, err) < 0)
            rc = -1; /* go on with the others; err holds the last */
    }
    closedir(d);
    return rc;
}
