#include "pod/atomic_writer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fileio.h"

#define DATA_LINK "..data"
#define DATA_TMP "..data_tmp"
#define LINK_TMP "..link_tmp"

static void closedirp(DIR **d)
{
    if (*d)
        (void)closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(closedirp)

int wl_aw_check_path(const char *path, struct wl_error *err)
{
    size_t len = strlen(path);
    if (len == 0)
        return wl_error_set(err, 0, "invalid path \"\": must not be empty");
    if (len > WL_AW_MAX_PATH)
        return wl_error_set(err, 0,
                            "invalid path \"%.32s...\": longer than "
                            "%d bytes",
                            path, WL_AW_MAX_PATH);
    if (path[0] == '/')
        return wl_error_set(err, 0, "invalid path \"%s\": must be relative",
                            path);
    if (strncmp(path, "..", 2) == 0)
        return wl_error_set(err, 0,
                            "invalid path \"%s\": must not start "
                            "with '..'",
                            path);
    for (const char *p = path;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.'))
            return wl_error_set(err, 0,
                                "invalid path \"%s\": must not "
                                "contain empty or '.' components",
                                path);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return wl_error_set(err, 0,
                                "invalid path \"%s\": must not "
                                "contain '..'",
                                path);
        if (!slash)
            return 0;
        p = slash + 1;
    }
}

/* Length of path's first component. */
static size_t top_len(const char *path)
{
    const char *slash = strchr(path, '/');
    return slash ? (size_t)(slash - path) : strlen(path);
}

/* Whether name is the first component of one of the files. */
static bool is_top(const char *name, const struct wl_aw_file *files, size_t n)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (top_len(files[i].path) == len &&
            strncmp(files[i].path, name, len) == 0)
            return true;
    return false;
}

/* Whether the symlink name in dfd points at ..data/name. */
static bool link_ok(int dfd, const char *name)
{
    char want[WL_AW_MAX_PATH + 16], got[WL_AW_MAX_PATH + 16];
    snprintf(want, sizeof(want), DATA_LINK "/%s", name);
    ssize_t n = readlinkat(dfd, name, got, sizeof(got) - 1);
    if (n < 0)
        return false;
    got[n] = '\0';
    return strcmp(got, want) == 0;
}

/* Whether the file at path in dfd holds exactly f. */
static bool file_same(int dfd, const struct wl_aw_file *f)
{
    _cleanup_close_ int fd =
        openat(dfd, f->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size != f->len || (st.st_mode & 07777) != f->mode)
        return false;
    _cleanup_free_ uint8_t *buf = malloc(f->len ? f->len : 1);
    size_t got = 0;
    while (buf && got < f->len) {
        ssize_t r = read(fd, buf + got, f->len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return buf && memcmp(buf, f->data, f->len) == 0;
}

/* Number of non-directory entries under the directory dfd (recursively);
 * -1 on error. */
static long count_files(int dfd)
{
    int fd = dup(dfd);
    if (fd < 0)
        return -1;
    _cleanup_closedir_ DIR *d = fdopendir(fd);
    if (!d) {
        (void)close(fd);
        return -1;
    }
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return -1;
        if (!S_ISDIR(st.st_mode)) {
            n++;
            continue;
        }
        _cleanup_close_ int sub =
            openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        long k = sub < 0 ? -1 : count_files(sub);
        if (k < 0)
            return -1;
        n += k;
    }
    return n;
}

/* Whether the visible entries of dfd are exactly the payload's tops. */
static bool tops_same(int dfd, const struct wl_aw_file *files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char top[WL_AW_MAX_PATH + 1];
        snprintf(top, sizeof(top), "%.*s", (int)top_len(files[i].path),
                 files[i].path);
        if (!link_ok(dfd, top))
            return false;
    }
    int fd = dup(dfd);
    _cleanup_closedir_ DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        if (fd >= 0)
            (void)close(fd);
        return false;
    }
    struct dirent *e;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "..", 2) != 0 && strcmp(e->d_name, ".") &&
            !is_top(e->d_name, files, n))
            return false;
    return true;
}

/* Whether the payload on disk (under ..data) equals files. */
static bool payload_same(int dfd, const struct wl_aw_file *files, size_t n)
{
    _cleanup_close_ int data =
        openat(dfd, DATA_LINK, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (data < 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!file_same(data, &files[i]))
            return false;
    return count_files(data) == (long)n && tops_same(dfd, files, n);
}

static int write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fsync_at(int dfd, const char *path)
{
    _cleanup_close_ int fd =
        openat(dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd < 0 ? -1 : fsync(fd);
}

/* Creates the parent directories of path in tfd (mode dir_mode). */
static int make_parents(int tfd, const char *path, unsigned dir_mode,
                        struct wl_error *err)
{
    char buf[WL_AW_MAX_PATH + 1];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = strchr(buf, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        if (mkdirat(tfd, buf, 0700) < 0) {
            if (errno != EEXIST)
                return wl_error_set(err, errno, "mkdir %s", buf);
        } else if (fchmodat(tfd, buf, (mode_t)dir_mode, 0) < 0) {
            return wl_error_set(err, errno, "chmod %s", buf);
        }
        *p = '/';
    }
    return 0;
}

/* Writes one file (fsynced) and fsyncs the directory holding it. */
static int write_file(int tfd, const struct wl_aw_file *f, unsigned dir_mode,
                      struct wl_error *err)
{
    if (make_parents(tfd, f->path, dir_mode, err) < 0)
        return -1;
    _cleanup_close_ int fd =
        openat(tfd, f->path,
               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return wl_error_set(err, errno, "create %s", f->path);
    /* fchmod: the requested bits exactly, whatever the umask. */
    if (write_all(fd, f->data, f->len) < 0 ||
        fchmod(fd, (mode_t)(f->mode & 07777)) < 0 || fsync(fd) < 0)
        return wl_error_set(err, errno, "write %s", f->path);
    char parent[WL_AW_MAX_PATH + 1];
    snprintf(parent, sizeof(parent), "%s", f->path);
    char *slash = strrchr(parent, '/');
    if (slash && (*slash = '\0', fsync_at(tfd, parent) < 0))
        return wl_error_set(err, errno, "fsync %s", parent);
    return 0;
}

/* Makes a fresh "..<timestamp>" directory in dfd; its name in name. */
static int make_ts_dir(int dfd, unsigned dir_mode, char *name, size_t size,
                       struct wl_error *err)
{
    struct timespec ts;
    struct tm tm;
    char base[64];
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    (void)gmtime_r(&ts.tv_sec, &tm);
    (void)strftime(base, sizeof(base), "..%Y_%m_%d_%H_%M_%S", &tm);
    for (long i = 0; i < 1000; i++) {
        snprintf(name, size, "%s.%09ld", base, (ts.tv_nsec + i) % 1000000000);
        if (mkdirat(dfd, name, 0700) == 0)
            return fchmodat(dfd, name, (mode_t)dir_mode, 0) < 0
                       ? wl_error_set(err, errno, "chmod %s", name)
                       : 0;
        if (errno != EEXIST)
            return wl_error_set(err, errno, "mkdir %s", name);
    }
    return wl_error_set(err, EEXIST, "mkdir %s", name);
}

/* Points name at target through a temporary symlink and a rename, so the
 * entry is always either the old link or the new one. */
static int swap_link(int dfd, const char *target, const char *tmp,
                     const char *name, struct wl_error *err)
{
    if (unlinkat(dfd, tmp, 0) < 0 && errno != ENOENT)
        return wl_error_set(err, errno, "remove %s", tmp);
    if (symlinkat(target, dfd, tmp) < 0)
        return wl_error_set(err, errno, "symlink %s", tmp);
    if (renameat(dfd, tmp, dfd, name) < 0) {
        int e = errno;
        (void)unlinkat(dfd, tmp, 0);
        return wl_error_set(err, e, "rename %s to %s", tmp, name);
    }
    return 0;
}

/* Adds the missing user-visible links. */
static int link_tops(int dfd, const struct wl_aw_file *files, size_t n,
                     struct wl_error *err)
{
    for (size_t i = 0; i < n; i++) {
        char top[WL_AW_MAX_PATH + 1], target[WL_AW_MAX_PATH + 16];
        snprintf(top, sizeof(top), "%.*s", (int)top_len(files[i].path),
                 files[i].path);
        if (link_ok(dfd, top))
            continue;
        snprintf(target, sizeof(target), DATA_LINK "/%s", top);
        if (swap_link(dfd, target, LINK_TMP, top, err) < 0)
            return -1;
    }
    return 0;
}

/* Removes links no longer in the payload, and timestamped directories but
 * keep (the old payload, or leftovers of an interrupted write). */
static int prune(const char *dir, int dfd, const char *keep,
                 const struct wl_aw_file *files, size_t n, struct wl_error *err)
{
    int fd = dup(dfd);
    _cleanup_closedir_ DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        if (fd >= 0)
            (void)close(fd);
        return wl_error_set(err, errno, "list %s", dir);
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *name = e->d_name;
        struct stat st;
        if (!strcmp(name, ".") || !strcmp(name, "..") ||
            fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (strncmp(name, "..", 2) != 0) {
            if (S_ISLNK(st.st_mode) && !is_top(name, files, n) &&
                unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                return wl_error_set(err, errno, "remove %s/%s", dir, name);
            continue;
        }
        if (!S_ISDIR(st.st_mode) || !strcmp(name, keep))
            continue;
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, name) < 0)
            return wl_error_set(err, ENOMEM, "remove %s/%s", dir, name);
        if (wl_remove_tree(path, err) < 0)
            return -1;
    }
    return 0;
}

static int check_files(const struct wl_aw_file *files, size_t n,
                       struct wl_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (wl_aw_check_path(files[i].path, err) < 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(files[i].path, files[j].path))
                return wl_error_set(err, 0, "duplicate path \"%s\"",
                                    files[i].path);
    }
    return 0;
}

int wl_atomic_write(const char *dir, unsigned dir_mode,
                    const struct wl_aw_file *files, size_t n, bool *ret_changed,
                    struct wl_error *err)
{
    if (check_files(files, n, err) < 0)
        return -1;
    if (wl_mkdir_p(dir, 0750, err) < 0)
        return -1;
    _cleanup_close_ int dfd =
        open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return wl_error_set(err, errno, "open %s", dir);
    if (fchmod(dfd, (mode_t)dir_mode) < 0)
        return wl_error_set(err, errno, "chmod %s", dir);
    if (payload_same(dfd, files, n)) {
        if (ret_changed)
            *ret_changed = false;
        return 0;
    }

    char ts[96];
    if (make_ts_dir(dfd, dir_mode, ts, sizeof(ts), err) < 0)
        return wl_error_prefix(err, "%s", dir);
    _cleanup_close_ int tfd =
        openat(dfd, ts, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tfd < 0)
        return wl_error_set(err, errno, "open %s/%s", dir, ts);
    for (size_t i = 0; i < n; i++) {
        if (write_file(tfd, &files[i], dir_mode, err) < 0) {
            _cleanup_free_ char *path = NULL;
            if (asprintf(&path, "%s/%s", dir, ts) >= 0)
                (void)wl_remove_tree(path, NULL);
            return wl_error_prefix(err, "%s", dir);
        }
    }
    if (fsync(tfd) < 0 || fsync(dfd) < 0)
        return wl_error_set(err, errno, "fsync %s", dir);
    /* The one step readers see: ..data now names the new payload. */
    if (swap_link(dfd, ts, DATA_TMP, DATA_LINK, err) < 0 ||
        link_tops(dfd, files, n, err) < 0 ||
        prune(dir, dfd, ts, files, n, err) < 0)
        return wl_error_prefix(err, "%s", dir);
    if (fsync(dfd) < 0)
        return wl_error_set(err, errno, "fsync %s", dir);
    if (ret_changed)
        *ret_changed = true;
    return 0;
}
