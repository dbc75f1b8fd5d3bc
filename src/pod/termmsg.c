#include "pod/termmsg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/logs.h"
#include "util/cleanup.h"
#include "util/utf8.h"

void wl_termmsg_clear(struct wl_termmsg *t)
{
    if (!t)
        return;
    free(t->host_dir);
    free(t->guest_dir);
    free(t->host_file);
    free(t->guest_path);
    memset(t, 0, sizeof(*t));
}

/* An absolute path of plain components, not ending in '/': the only
 * kind we map (a WASI guest resolves "." and ".." itself, against its
 * preopens, so they could not name our directory anyway). */
static bool usable_path(const char *p)
{
    if (!p || p[0] != '/' || !p[1] || p[strlen(p) - 1] == '/')
        return false;
    for (const char *c = p + 1;;) {
        const char *e = strchr(c, '/');
        size_t n = e ? (size_t)(e - c) : strlen(c);
        if (n == 0 || (n == 1 && c[0] == '.') ||
            (n == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        if (!e)
            return true;
        c = e + 1;
    }
}

/* A mount path as a directory: without trailing slashes ("/" stays). */
static bool same_dir(const char *mount, const char *dir)
{
    size_t n = strlen(mount);
    while (n > 1 && mount[n - 1] == '/')
        n--;
    return strlen(dir) == n && strncmp(mount, dir, n) == 0;
}

/* Empties dir (files only: we put nothing else there; the guest may have
 * made more) so that a run never starts with an old message. */
static void empty_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            (void)unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
}

int wl_termmsg_prepare(const char *ctr_dir, unsigned run, const char *path,
                       const struct wl_preopen *preopens, size_t npreopens,
                       struct wl_termmsg *ret, struct wl_error *err)
{
    struct wl_termmsg t = {0};
    if (!usable_path(path)) {
        *ret = t;
        return 0;
    }
    const char *base = strrchr(path, '/') + 1;
    size_t dlen = (size_t)(base - path) > 1 ? (size_t)(base - path) - 1 : 1;
    if (!(t.guest_dir = strndup(path, dlen)) || !(t.guest_path = strdup(path)))
        goto nomem;
    for (size_t i = 0; i < npreopens; i++) {
        if (!same_dir(preopens[i].guest_path, t.guest_dir))
            continue;
        /* The pod mounts a volume there: the guest writes into it. */
        if (asprintf(&t.host_file, "%s/%s", preopens[i].host_path, base) < 0) {
            t.host_file = NULL;
            goto nomem;
        }
        *ret = t;
        return 0;
    }
    if (asprintf(&t.host_dir, "%s/%u.termination", ctr_dir, run) < 0) {
        t.host_dir = NULL;
        goto nomem;
    }
    if (asprintf(&t.host_file, "%s/%s", t.host_dir, base) < 0) {
        t.host_file = NULL;
        goto nomem;
    }
    if (mkdir(t.host_dir, 0750) < 0 && errno != EEXIST) {
        int e = errno;
        wl_termmsg_clear(&t);
        return wl_error_set(err, e, "termination message dir");
    }
    empty_dir(t.host_dir);
    int fd = open(t.host_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) {
        int e = errno;
        wl_termmsg_clear(&t);
        return wl_error_set(err, e, "termination message file");
    }
    (void)close(fd);
    *ret = t;
    return 0;
nomem:
    wl_termmsg_clear(&t);
    return wl_error_set(err, ENOMEM, "termination message");
}

int wl_termmsg_read_file(const char *path, size_t max, char **ret)
{
    /* O_NONBLOCK: a FIFO the guest left there must not hang the runner;
     * O_NOFOLLOW: nor may a symlink take us out of its directory. */
    _cleanup_close_ int fd =
        open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return errno == ELOOP ? (errno = EINVAL, -1) : -1;
    if (fstat(fd, &st) < 0)
        return -1;
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        return -1;
    }
    /* tail.ReadAtMost: the last max bytes. */
    off_t from = st.st_size > (off_t)max ? st.st_size - (off_t)max : 0;
    _cleanup_free_ char *buf = malloc(max + 1);
    size_t len = 0;
    if (!buf)
        return -1;
    while (len < max) {
        ssize_t n = pread(fd, buf + len, max - len, from + (off_t)len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        len += (size_t)n;
    }
    char *s = wl_utf8_sanitize(buf, len);
    if (!s)
        return -1;
    *ret = s;
    return 0;
}

char *wl_termmsg_log_tail(const char *ctr_dir, unsigned run)
{
    struct wl_log_opts o = {.tail_lines = WL_TERMMSG_LOG_MAX_LINES,
                            .ended = true};
    struct wl_log_reader *r = NULL;
    struct wl_error err = WL_ERROR_INIT;
    char *msg = NULL;
    if (wl_log_reader_open(ctr_dir, run, &o, &r, &err) < 0)
        goto fail;
    /* The kubelet's circbuf: only the last bytes stay. */
    char ring[WL_TERMMSG_LOG_MAX_BYTES], chunk[4096];
    size_t have = 0;
    for (;;) {
        ssize_t n = wl_log_reader_read(r, chunk, sizeof(chunk), 0, -1);
        if (n == 0)
            break;
        if (n == -2)
            break; /* only with follow, which is off */
        if (n < 0) {
            (void)wl_error_set(&err, errno, "read %s/%u.log", ctr_dir, run);
            goto fail;
        }
        size_t k = (size_t)n;
        if (k >= sizeof(ring)) {
            memcpy(ring, chunk + k - sizeof(ring), sizeof(ring));
            have = sizeof(ring);
        } else {
            size_t keep = have + k > sizeof(ring) ? sizeof(ring) - k : have;
            memmove(ring, ring + have - keep, keep);
            memcpy(ring + keep, chunk, k);
            have = keep + k;
        }
    }
    wl_log_reader_free(r);
    return wl_utf8_sanitize(ring, have);
fail:
    wl_log_reader_free(r);
    if (asprintf(&msg, "Error on reading termination message from logs: %s",
                 err.msg ? err.msg : "unknown error") < 0)
        msg = NULL;
    wl_error_clear(&err);
    return msg;
}

char *wl_termmsg_of_run(const struct wl_termmsg *t, const char *ctr_dir,
                        unsigned run, bool fallback_to_logs, bool failed)
{
    bool fallback = fallback_to_logs && failed;
    char *msg = NULL;
    if (t->host_file) {
        if (wl_termmsg_read_file(t->host_file, WL_TERMMSG_MAX_BYTES, &msg) <
            0) {
            if (errno != ENOENT) {
                int e = errno;
                if (asprintf(&msg, "Error on reading termination log %s: %s",
                             t->guest_path,
                             e == EINVAL ? "not a regular file" : strerror(e)) <
                    0)
                    msg = NULL;
                return msg;
            }
            msg = NULL;
        }
    }
    if (msg && *msg)
        return msg;
    free(msg);
    if (!fallback)
        return NULL;
    msg = wl_termmsg_log_tail(ctr_dir, run);
    if (msg && !*msg) {
        free(msg);
        return NULL;
    }
    return msg;
}

size_t wl_termmsg_budget(size_t ncontainers)
{
    return ncontainers ? WL_TERMMSG_POD_MAX_BYTES / ncontainers
                       : WL_TERMMSG_POD_MAX_BYTES;
}

size_t wl_termmsg_cut(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return n;
    /* Back off continuation bytes so the cut falls between characters. */
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}
