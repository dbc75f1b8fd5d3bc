/* The CRI log writer and parser (runtime/crilog.h). A struct wl_cri_log
 * owns its fd, the live file's name, the rotation state and each
 * stream's unfinished line, all under its mutex: any thread may write.
 * The files are its to append to, rotate and drop; readers
 * (server/logs.c) only read them, taking a record as whole once its '\n'
 * is there and a line once its F record is. */
#include "runtime/crilog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/log.h"
#include "util/time.h"

struct pending {
    char buf[WL_CRI_MAX_LINE];
    size_t len;
    bool split; /* a P record of the line was written, its F not yet */
};

struct wl_cri_log {
    pthread_mutex_t lock; /* guards everything below */
    int fd;
    char *path;
    int64_t max_size; /* 0: never rotate */
    int max_files;
    int64_t size;      /* of the live file */
    int64_t rotate_at; /* max_size, or further on after a failed rotation */
    struct pending p[2];
    unsigned long failures; /* records that could not be written */
    int first_errno;        /* why the first of them failed */
    char *echo;             /* wl_cri_log_echo()'s prefix; NULL: no echo */
};

static const char *const stream_names[] = {"stdout", "stderr"};

int wl_cri_log_open(const char *path, const struct wl_cri_log_opts *opts,
                    struct wl_cri_log **ret, struct wl_error *err)
{
    if (opts &&
        (opts->max_size < 0 || (opts->max_size > 0 && opts->max_files < 2)))
        return wl_error_set(err, EINVAL,
                            "log %s: rotation needs max_size >= 0 and "
                            "max_files >= 2",
                            path);
    struct wl_cri_log *l = calloc(1, sizeof(*l));
    if (!l || !(l->path = strdup(path))) {
        free(l);
        return wl_error_set(err, ENOMEM, "log %s", path);
    }
    l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    struct stat st;
    if (l->fd < 0 || fstat(l->fd, &st) < 0) {
        int e = errno;
        if (l->fd >= 0)
            (void)close(l->fd);
        free(l->path);
        free(l);
        return wl_error_set(err, e, "open log %s", path);
    }
    l->size = (int64_t)st.st_size;
    if (opts) {
        l->max_size = opts->max_size;
        l->max_files = opts->max_files;
    }
    l->rotate_at = l->max_size;
    pthread_mutex_init(&l->lock, NULL);
    *ret = l;
    return 0;
}

/* Moves the live file to path.1 (shifting the older ones up) and puts a
 * new empty file in its place. Called with the lock held, between two
 * records. The live name is never missing: the old file gets its second
 * name (link) before the new one replaces it (rename), so a crash at any
 * point leaves path, at worst also linked as path.1. */
static int rotate(struct wl_cri_log *l)
{
    size_t n = strlen(l->path) + 32;
    _cleanup_free_ char *from = malloc(n), *to = malloc(n), *tmp = malloc(n);
    if (!from || !to || !tmp)
        return -1;
    /* path.(max_files - 1) is overwritten: the oldest is dropped. */
    for (int k = l->max_files - 2; k >= 1; k--) {
        snprintf(from, n, "%s.%d", l->path, k);
        snprintf(to, n, "%s.%d", l->path, k + 1);
        if (rename(from, to) < 0 && errno != ENOENT)
            return -1;
    }
    snprintf(to, n, "%s.1", l->path);
    /* Still there only when max_files is 2 (nothing was shifted). */
    if (unlink(to) < 0 && errno != ENOENT)
        return -1;
    if (link(l->path, to) < 0)
        return -1;
    snprintf(tmp, n, "%s.tmpXXXXXX", l->path);
    int fd = mkostemp(tmp, O_APPEND | O_CLOEXEC);
    if (fd >= 0 && (fchmod(fd, 0640) < 0 || rename(tmp, l->path) < 0)) {
        int e = errno;
        (void)unlink(tmp);
        (void)close(fd);
        fd = -1;
        errno = e;
    }
    if (fd < 0) {
        /* Undo the link, or readers would see the live file twice. */
        int e = errno;
        (void)unlink(to);
        errno = e;
        return -1;
    }
    (void)close(l->fd);
    l->fd = fd;
    l->size = 0;
    return 0;
}

/* Rotates first when this record would take the live file past max_size.
 * An empty file takes any record, so a record is never split and a record
 * bigger than max_size gets a file of its own. While a line is being split
 * into P records, the file may grow to twice max_size first: a line cut
 * by rotation would lose its start when the older file is dropped, and a
 * reader would show its end as a line of its own. */
static void maybe_rotate(struct wl_cri_log *l, size_t total)
{
    if (l->max_size <= 0 || l->size == 0 ||
        l->size + (int64_t)total <= l->rotate_at)
        return;
    if ((l->p[0].split || l->p[1].split) &&
        l->size + (int64_t)total <= l->rotate_at + l->max_size)
        return;
    if (rotate(l) < 0) {
        /* Keep logging to the live file; try again a max_size later
         * rather than on every record. */
        log_debug("log rotation failed path=%s: %s", l->path, strerror(errno));
        l->rotate_at = l->size + l->max_size;
        return;
    }
    l->rotate_at = l->max_size;
}

/* A record's text on our own stdout or stderr, after the echo prefix, in
 * one write() so the lines of containers running at once do not mix. A
 * terminal that is gone is not the log's failure: errors are ignored. */
static void echo_line(struct wl_cri_log *l, enum wl_cri_stream s,
                      const char *text, size_t len)
{
    size_t plen = strlen(l->echo);
    char *line = malloc(plen + len + 1);
    if (!line)
        return;
    memcpy(line, l->echo, plen);
    memcpy(line + plen, text, len);
    line[plen + len] = '\n';
    size_t total = plen + len + 1, off = 0;
    int fd = s == WL_CRI_STDOUT ? STDOUT_FILENO : STDERR_FILENO;
    while (off < total) {
        ssize_t w = write(fd, line + off, total - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    free(line);
}

int wl_cri_log_echo(struct wl_cri_log *l, const char *prefix,
                    struct wl_error *err)
{
    char *copy = strdup(prefix);
    if (!copy)
        return wl_error_set(err, ENOMEM, "log %s", l->path);
    pthread_mutex_lock(&l->lock);
    free(l->echo);
    l->echo = copy;
    pthread_mutex_unlock(&l->lock);
    return 0;
}

/* One record: "<time> <stream> <F|P> <text>\n", written with one write()
 * so readers never see half a record. */
static int emit(struct wl_cri_log *l, enum wl_cri_stream s, const char *text,
                size_t len, bool full)
{
    struct timespec ts;
    struct tm tm;
    char head[96];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(head, sizeof(head), "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(head + n, sizeof(head) - n, ".%09ldZ %s %c ",
                          ts.tv_nsec, stream_names[s], full ? 'F' : 'P');
    char *rec = malloc(n + len + 1);
    if (!rec)
        return -1;
    memcpy(rec, head, n);
    memcpy(rec + n, text, len);
    rec[n + len] = '\n';
    size_t total = n + len + 1, off = 0;
    maybe_rotate(l, total);
    while (off < total) {
        ssize_t w = write(l->fd, rec + off, total - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            free(rec);
            return -1;
        }
        off += (size_t)w;
        l->size += w;
    }
    free(rec);
    l->p[s].split = !full;
    if (l->echo)
        echo_line(l, s, text, len);
    return 0;
}

long wl_cri_log_write(struct wl_cri_log *l, enum wl_cri_stream s,
                      const unsigned char *buf, size_t len)
{
    struct pending *p = &l->p[s];
    int rc = 0;
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < len && rc == 0; i++) {
        if (buf[i] == '\n') {
            rc = emit(l, s, p->buf, p->len, true);
            p->len = 0;
            continue;
        }
        if (p->len == sizeof(p->buf)) {
            rc = emit(l, s, p->buf, p->len, false);
            p->len = 0;
        }
        p->buf[p->len++] = (char)buf[i];
    }
    if (rc < 0 && l->failures++ == 0)
        l->first_errno = errno;
    pthread_mutex_unlock(&l->lock);
    return rc == 0 ? (long)len : -1;
}

unsigned long wl_cri_log_failures(struct wl_cri_log *l, int *first_errno)
{
    pthread_mutex_lock(&l->lock);
    unsigned long n = l->failures;
    if (first_errno)
        *first_errno = l->first_errno;
    pthread_mutex_unlock(&l->lock);
    return n;
}

void wl_cri_log_close(struct wl_cri_log *l)
{
    if (!l)
        return;
    /* WASI writes may have come from wasmtime's own threads: the lock
     * orders them before this flush. */
    pthread_mutex_lock(&l->lock);
    for (int s = 0; s < 2; s++)
        if (l->p[s].len)
            (void)emit(l, (enum wl_cri_stream)s, l->p[s].buf, l->p[s].len,
                       false);
    pthread_mutex_unlock(&l->lock);
    (void)close(l->fd);
    pthread_mutex_destroy(&l->lock);
    free(l->echo);
    free(l->path);
    free(l);
}

int wl_cri_parse_line(const char *line, size_t len, struct wl_cri_line *out)
{
    if (len > 0 && line[len - 1] == '\n')
        len--;
    const char *end = line + len;
    const char *sp = memchr(line, ' ', len);
    int64_t t;
    if (!sp || wl_time_parse_ns(line, (size_t)(sp - line), &t) < 0)
        return -1;
    const char *p = sp + 1;
    enum wl_cri_stream stream;
    if (end - p >= 7 && memcmp(p, "stdout ", 7) == 0)
        stream = WL_CRI_STDOUT;
    else if (end - p >= 7 && memcmp(p, "stderr ", 7) == 0)
        stream = WL_CRI_STDERR;
    else
        return -1;
    p += 7;
    const char *tags_end = memchr(p, ' ', (size_t)(end - p));
    if (!tags_end)
        return -1;
    /* The first tag says F or P; later ones are for future use. */
    if (tags_end - p < 1 || (*p != 'F' && *p != 'P') ||
        (tags_end - p > 1 && p[1] != ':'))
        return -1;
    out->time_ns = t;
    out->stream = stream;
    out->partial = *p == 'P';
    out->text = tags_end + 1;
    out->text_len = (size_t)(end - out->text);
    return 0;
}
