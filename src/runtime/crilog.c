#include "runtime/crilog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct pending {
    char buf[WL_CRI_MAX_LINE];
    size_t len;
};

struct wl_cri_log {
    pthread_mutex_t lock; /* guards everything below */
    int fd;
    struct pending p[2];
};

static const char *const stream_names[] = {"stdout", "stderr"};

int wl_cri_log_open(const char *path, struct wl_cri_log **ret,
                    struct wl_error *err)
{
    struct wl_cri_log *l = calloc(1, sizeof(*l));
    if (!l)
        return wl_error_set(err, ENOMEM, "log %s", path);
    l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (l->fd < 0) {
        int e = errno;
        free(l);
        return wl_error_set(err, e, "open log %s", path);
    }
    pthread_mutex_init(&l->lock, NULL);
    *ret = l;
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
    while (off < total) {
        ssize_t w = write(l->fd, rec + off, total - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            free(rec);
            return -1;
        }
        off += (size_t)w;
    }
    free(rec);
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
    pthread_mutex_unlock(&l->lock);
    return rc == 0 ? (long)len : -1;
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
    free(l);
}
