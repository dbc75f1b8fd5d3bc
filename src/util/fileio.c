#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"

/* Distinguishes temp files of threads writing the same path at once. */
static _Atomic unsigned tmp_seq;

int wl_file_read(int dirfd, const char *path, size_t max_size,
                 uint8_t **ret_data, size_t *ret_len, struct wl_error *err)
{
    _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return wl_error_set(err, errno, "open %s", path);

    struct stat st;
    if (fstat(fd, &st) < 0)
        return wl_error_set(err, errno, "stat %s", path);
    if (!S_ISREG(st.st_mode))
        return wl_error_set(err, 0, "%s: not a regular file", path);
    if ((uint64_t)st.st_size > max_size)
        return wl_error_set(err, 0, "%s: %lld bytes is over the limit of %zu",
                            path, (long long)st.st_size, max_size);

    size_t cap = (size_t)st.st_size;
    _cleanup_free_ uint8_t *data = malloc(cap + 1);
    if (!data)
        return wl_error_set(err, ENOMEM, "read %s", path);

    /* The file may change size while we read; never read past cap, and
     * report a file that grew past the limit. */
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, data + len, cap - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return wl_error_set(err, errno, "read %s", path);
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == cap) {
            char probe;
            ssize_t more = read(fd, &probe, 1);
            if (more > 0)
                return wl_error_set(err, 0, "%s: changed size while read",
                                    path);
            break;
        }
    }
    data[len] = '\0';
    *ret_data = TAKE_PTR(data);
    *ret_len = len;
    return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fsync_parent(int dirfd, const char *path)
{
    _cleanup_free_ char *copy = strdup(path);
    if (!copy)
        return -1;
    _cleanup_close_ int fd =
        openat(dirfd, dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    return fsync(fd);
}

int wl_file_write_atomic(int dirfd, const char *path, const void *data,
                         size_t len, unsigned mode, struct wl_error *err)
{
    _cleanup_free_ char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp.%ld.%u", path, (long)getpid(), tmp_seq++) < 0)
        return wl_error_set(err, ENOMEM, "write %s", path);

    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                    (mode_t)mode);
    if (fd < 0)
        return wl_error_set(err, errno, "create %s", tmp);
    if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        int e = errno;
        (void)close(fd);
        (void)unlinkat(dirfd, tmp, 0);
        return wl_error_set(err, e, "write %s", tmp);
    }
    if (close(fd) < 0) {
        int e = errno;
        (void)unlinkat(dirfd, tmp, 0);
        return wl_error_set(err, e, "close %s", tmp);
    }
    if (renameat(dirfd, tmp, dirfd, path) < 0) {
        int e = errno;
        (void)unlinkat(dirfd, tmp, 0);
        return wl_error_set(err, e, "rename %s to %s", tmp, path);
    }
    if (fsync_parent(dirfd, path) < 0)
        return wl_error_set(err, errno, "fsync directory of %s", path);
    return 0;
}

int wl_mkdir_p(const char *path, unsigned mode, struct wl_error *err)
{
    char *copy = strdup(path);
    if (!copy)
        return wl_error_set(err, ENOMEM, "mkdir %s", path);
    int r = 0;
    for (char *p = copy + 1; *p && r == 0; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, (mode_t)mode) < 0 && errno != EEXIST)
            r = wl_error_set(err, errno, "mkdir %s", copy);
        *p = '/';
    }
    if (r == 0 && mkdir(copy, (mode_t)mode) < 0 && errno != EEXIST)
        r = wl_error_set(err, errno, "mkdir %s", copy);
    free(copy);
    return r;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int r = flag == FTW_DP ? rmdir(path) : unlink(path);
    return r < 0 && errno != ENOENT ? -1 : 0;
}

int wl_remove_tree(const char *path, struct wl_error *err)
{
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 &&
        errno != ENOENT)
        return wl_error_set(err, errno, "remove %s", path);
    return 0;
}

/* nftw() passes no user pointer: each thread sums into its own total. */
static _Thread_local uint64_t usage_total;

static int add_usage(const char *path, const struct stat *st, int flag,
                     struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    /* FTW_NS: the entry went away (or cannot be stat'ed): nothing to add.
     * Allocated blocks rather than st_size: what the disk really gives up
     * (sparse files count what they hold), as the kubelet's du-based
     * emptyDir measure. */
    if (flag != FTW_NS)
        usage_total += (uint64_t)st->st_blocks * 512u;
    return 0;
}

int wl_dir_usage(const char *path, uint64_t *ret_bytes, struct wl_error *err)
{
    usage_total = 0;
    /* ENOENT: path is missing (0 bytes), or a directory vanished under
     * the walk, which then stopped: what was counted is a lower bound,
     * and the next measure sees the rest. */
    if (nftw(path, add_usage, 16, FTW_PHYS) < 0 && errno != ENOENT)
        return wl_error_set(err, errno, "measure %s", path);
    *ret_bytes = usage_total;
    return 0;
}
