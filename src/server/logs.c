/* The reader behind `kubectl logs` (server/logs.h). It owns everything in
 * struct wl_log_reader: the fds of the files it reads, the bytes read and
 * not yet turned into output (in), the output not yet returned (out), the
 * inotify fd; one thread uses a reader at a time. The files themselves
 * belong to their writer (runtime/crilog.c), which appends whole records
 * and rotates them while we read: we only ever read them, and take from
 * them only what the writer has finished.
 *
 * What "finished" means, as the writer works:
 * - A record is whole once its '\n' is there. The bytes after a file's
 *   last '\n' are a record being written (a write() is seen in pieces) or
 *   one torn by a crash: never shown.
 * - A line longer than a record is written as P records, then an F. While
 *   the run goes on, P records at the very end of the log are a line still
 *   being split: left out, without follow, and held back, with follow,
 *   until the record that ends the line is there. Once the run ended they
 *   are its unfinished last line (the writer's final flush) and shown.
 * - Without follow, the reader shows the log as it was when opened: it
 *   stops where the whole lines ended then, so tail_lines is exact even
 *   while lines pour in.
 * - Rotation renames files while we look at them: the set of files is
 *   opened again when a rotation completed meanwhile, and a name a
 *   rotation is shifting (n.log.k moved up, n.log.(k-1) not yet) is
 *   stepped over.
 */
#include "server/logs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/crilog.h"
#include "util/cleanup.h"

/* Rotated files looked at: n.log.1 … n.log.MAX_ROTATED at most. */
#define MAX_ROTATED 1000
/* Bytes read at a time, forwards and backwards. */
#define CHUNK (64 * 1024)
/* A line longer than any record the writer makes is not held whole: it is
 * passed on in pieces of this size, so a log without newlines cannot make
 * the reader grow without bound. */
#define LINE_MAX_BYTES (WL_CRI_MAX_LINE + 4096)
#define IN_CAP (LINE_MAX_BYTES + CHUNK)
/* Enough of a record to parse everything but its text (usually). */
#define HEAD_BYTES 128
/* Going through the rotated names again when a rotation moved them. */
#define OPEN_TRIES 20
/* The writer flushes its partial lines when it closes the log, which the
 * runner does just after writing n.exit: after n.exit appears, a follower
 * keeps reading until this long after n.exit's mtime. */
#define END_GRACE_NS (200 * 1000000LL)

struct log_file {
    int fd;
    dev_t dev;
    ino_t ino;
};

struct wl_log_reader {
    struct wl_log_opts opts;
    char *log_path, *exit_path, *next_path;
    /* Newest first. files[0] is the live file: n.log when it was opened,
     * replaced by its successor after a rotation. */
    struct log_file files[MAX_ROTATED + 1];
    size_t nfiles;
    size_t cur; /* files[cur] is being read, at off */
    off_t off;
    /* Without follow: reading ends at end_off in files[end_idx], where
     * the whole lines ended at the open. end_off -1: no end (follow). */
    size_t end_idx;
    off_t end_off;
    /* Follow, files[0] still written: [0, commit) is whole lines of
     * output; find_line_end() goes on from scan_off, with scan_buf. */
    off_t commit, scan_off;
    char *scan_buf;
    char *in; /* read, not yet turned into output: [in_pos, in_len) */
    size_t in_pos, in_len;
    char *out; /* output not yet returned: [out_pos, out_len) */
    size_t out_pos, out_len, out_cap;
    bool line_start;     /* the next output begins a line */
    int64_t emitted;     /* output bytes so far, for limit_bytes */
    bool done;           /* nothing follows what is in out */
    int inotify_fd;      /* follow only */
    bool gone;           /* the container dir was removed or moved away */
    bool cur_final;      /* files[0] is no longer n.log: read to its end */
    bool ended;          /* the run ended: drain, then done */
    int64_t grace_until; /* realtime ns, once ended */
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t real_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* n.log for k == 0, else n.log.k; p holds PATH_MAX bytes. */
static void rotated_path(const struct wl_log_reader *r, unsigned k, char *p,
                         size_t n)
{
    if (k == 0)
        snprintf(p, n, "%s", r->log_path);
    else
        snprintf(p, n, "%s.%u", r->log_path, k);
}

static int open_log_file(const char *p, struct log_file *ret)
{
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        (void)close(fd);
        errno = e;
        return -1;
    }
    *ret = (struct log_file){.fd = fd, .dev = st.st_dev, .ino = st.st_ino};
    return 0;
}

/* ---- output ---- */

static size_t pending(const struct wl_log_reader *r)
{
    return r->out_len - r->out_pos;
}

/* Appends to the output, cut exactly at limit_bytes. */
static int out_add(struct wl_log_reader *r, const char *s, size_t n)
{
    if (r->done)
        return 0;
    if (r->opts.limit_bytes > 0 &&
        (int64_t)n >= r->opts.limit_bytes - r->emitted) {
        n = (size_t)(r->opts.limit_bytes - r->emitted);
        r->done = true;
    }
    if (n == 0) /* an empty line's text; out may be NULL still */
        return 0;
    if (r->out_pos == r->out_len)
        r->out_pos = r->out_len = 0;
    if (r->out_len + n > r->out_cap) {
        size_t cap = r->out_cap ? r->out_cap : 4096;
        while (cap < r->out_len + n)
            cap *= 2;
        char *o = realloc(r->out, cap);
        if (!o)
            return -1;
        r->out = o;
        r->out_cap = cap;
    }
    memcpy(r->out + r->out_len, s, n);
    r->out_len += n;
    r->emitted += (int64_t)n;
    return 0;
}

/* RFC3339Nano with all nine digits, in UTC, as the kubelet prints it. */
static size_t format_time(int64_t ns, char *buf, size_t n)
{
    time_t sec = (time_t)(ns / 1000000000);
    long frac = (long)(ns % 1000000000);
    struct tm tm;
    if (frac < 0) {
        frac += 1000000000;
        sec--;
    }
    (void)gmtime_r(&sec, &tm);
    size_t len = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    len += (size_t)snprintf(buf + len, n - len, ".%09ldZ ", frac);
    return len;
}

/* Turns one line of the file (without its '\n') into output. terminated
 * is false for a piece of an over-long line, which continues. Which lines
 * sinceTime keeps was settled where reading starts (start_at()). */
static int put_line(struct wl_log_reader *r, const char *line, size_t len,
                    bool terminated)
{
    struct wl_cri_line rec;
    if (wl_cri_parse_line(line, len, &rec) < 0) {
        /* Not a record: shown as it is, a line of its own text. */
        r->line_start = terminated;
        if (out_add(r, line, len) < 0 ||
            (terminated && out_add(r, "\n", 1) < 0))
            return -1;
        return 0;
    }
    if (r->opts.timestamps && r->line_start) {
        char ts[64];
        if (out_add(r, ts, format_time(rec.time_ns, ts, sizeof(ts))) < 0)
            return -1;
    }
    bool ends = !rec.partial && terminated;
    r->line_start = ends;
    if (out_add(r, rec.text, rec.text_len) < 0 ||
        (ends && out_add(r, "\n", 1) < 0))
        return -1;
    return 0;
}

/* Bytes read from a file and not yet a whole line there: a record being
 * written, or one torn by a crash. When the file will not grow any more
 * (rotated away, the run over) they never will be: dropped. */
static void drop_held(struct wl_log_reader *r)
{
    r->in_pos = r->in_len = 0;
}

/* files[cur] is being appended to by its writer (follow only). */
static bool is_live(const struct wl_log_reader *r)
{
    return r->opts.follow && r->cur == 0 && !r->cur_final && !r->ended;
}

/* Follow, live file: looks forwards from pos (a P record) for the record
 * that ends its line, reading from scan_off on when an earlier look got
 * that far. Returns 1 and moves commit past that record, 0 when it is not
 * written yet, -1 on a read error. */
static int find_line_end(struct wl_log_reader *r, off_t pos)
{
    if (!r->scan_buf && !(r->scan_buf = malloc(CHUNK)))
        return -1;
    off_t o = pos > r->scan_off ? pos : r->scan_off;
    for (;;) {
        ssize_t n = pread(r->files[0].fd, r->scan_buf, CHUNK, o);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        size_t i = 0;
        for (;;) {
            char *line = r->scan_buf + i;
            char *nl = memchr(line, '\n', (size_t)n - i);
            if (!nl)
                break;
            struct wl_cri_line rec;
            size_t len = (size_t)(nl - line);
            i += len + 1;
            if (wl_cri_parse_line(line, len, &rec) < 0 || !rec.partial) {
                r->commit = r->scan_off = o + (off_t)i;
                return 1;
            }
        }
        o += (off_t)i;
        if (n < CHUNK) {
            r->scan_off = o;
            return 0;
        }
        if (i == 0) {
            /* Longer than any record: not the writer's, let it through
             * (in pieces). */
            r->commit = r->scan_off = o + n;
            return 1;
        }
    }
}

/* Whether a whole line of files[cur], now at in_pos, may become output:
 * 1 yes, 0 not yet (the line it is part of goes on in records not
 * written yet), -1 on a read error. */
static int line_ready(struct wl_log_reader *r, const char *line, size_t len)
{
    if (!is_live(r))
        return 1;
    off_t pos = r->off - (off_t)(r->in_len - r->in_pos);
    if (pos < r->commit)
        return 1;
    struct wl_cri_line rec;
    if (wl_cri_parse_line(line, len, &rec) < 0 || !rec.partial) {
        r->commit = pos + (off_t)len + 1;
        return 1;
    }
    return find_line_end(r, pos);
}

/* Reads more of files[cur] after what in holds, up to end_off in the
 * last file without follow. Returns 1 when it read something, 0 at the
 * end, -1 on a read error. */
static int read_more(struct wl_log_reader *r)
{
    size_t avail = r->in_len - r->in_pos;
    memmove(r->in, r->in + r->in_pos, avail);
    r->in_pos = 0;
    r->in_len = avail;
    size_t room = IN_CAP - avail;
    if (r->cur == r->end_idx && r->end_off >= 0) {
        if (r->off >= r->end_off)
            return 0;
        if ((off_t)room > r->end_off - r->off)
            room = (size_t)(r->end_off - r->off);
    }
    for (;;) {
        ssize_t n = pread(r->files[r->cur].fd, r->in + avail, room, r->off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        r->in_len += (size_t)n;
        r->off += n;
        return n > 0;
    }
}

/* Turns file contents into output until want bytes are pending, moving
 * from one file to the next. Returns 0, also at the end of the last file
 * or at a line not finished yet, or -1 on a read error. */
static int fill(struct wl_log_reader *r, size_t want)
{
    while (!r->done && pending(r) < want) {
        char *start = r->in + r->in_pos;
        size_t avail = r->in_len - r->in_pos;
        char *nl = memchr(start, '\n', avail);
        if (nl) {
            size_t len = (size_t)(nl - start);
            int rc = line_ready(r, start, len);
            if (rc <= 0)
                return rc;
            if (put_line(r, start, len, true) < 0)
                return -1;
            r->in_pos += len + 1;
            continue;
        }
        if (avail >= LINE_MAX_BYTES) {
            /* Longer than any record: passed on in pieces. */
            if (put_line(r, start, avail, false) < 0)
                return -1;
            r->in_pos += avail;
            continue;
        }
        int rc = read_more(r);
        if (rc < 0)
            return -1;
        if (rc > 0)
            continue;
        if (r->cur == r->end_idx)
            return 0;
        /* An older file is complete: on to the next newer one. */
        drop_held(r);
        (void)close(r->files[r->cur].fd);
        r->files[r->cur].fd = -1;
        r->nfiles = r->cur--;
        r->off = 0;
        r->commit = r->scan_off = 0;
    }
    return 0;
}

/* ---- where reading starts and ends: backwards from the end ---- */

/* The window of a file that buf (CHUNK bytes) holds while going
 * backwards. */
struct back {
    int fd;
    char *buf;
    off_t start, end; /* buf holds [start, end) */
};

static int pread_full(int fd, char *buf, size_t n, off_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, buf + got, n - got, off + (off_t)got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = EIO; /* the file shrank under us */
            return -1;
        }
        got += (size_t)k;
    }
    return 0;
}

/* The offset of the last '\n' before limit; -1 when there is none, -2
 * on a read error. */
static off_t prev_newline(struct back *b, off_t limit)
{
    for (;;) {
        off_t hi = limit < b->end ? limit : b->end;
        if (hi > b->start) {
            char *q = memrchr(b->buf, '\n', (size_t)(hi - b->start));
            if (q)
                return b->start + (q - b->buf);
        }
        hi = limit < b->start ? limit : b->start;
        if (hi <= 0)
            return -1;
        off_t lo = hi > CHUNK ? hi - CHUNK : 0;
        if (pread_full(b->fd, b->buf, (size_t)(hi - lo), lo) < 0)
            return -2;
        b->start = lo;
        b->end = hi;
    }
}

/* Starts a backward walk over fd: *ret_end is where its whole lines end,
 * after its last '\n' (0 when it has none). -1 on a read error. */
static int back_open(struct back *b, int fd, char *buf, off_t *ret_end)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -1;
    *b = (struct back){
        .fd = fd, .buf = buf, .start = st.st_size, .end = st.st_size};
    off_t nl = prev_newline(b, st.st_size);
    if (nl == -2)
        return -1;
    *ret_end = nl + 1;
    return 0;
}

/* What a line of the file is, as far as where output starts and ends
 * goes. */
struct line_kind {
    bool record;  /* a CRI record; the rest only then */
    bool partial; /* P */
    int64_t time_ns;
};

/* The kind of the line [ls, le) ('\n' included). Its head is enough,
 * except for a non-record head of a longer line: a record's tags may run
 * on, and the line is then judged whole, as fill() does. */
static int line_kind(struct back *b, off_t ls, off_t le, struct line_kind *ret)
{
    off_t he = le - ls > HEAD_BYTES ? ls + HEAD_BYTES : le;
    char head[HEAD_BYTES];
    _cleanup_free_ char *line = NULL;
    const char *h = head;
    size_t n = (size_t)(he - ls);
    if (ls >= b->start && he <= b->end)
        h = b->buf + (ls - b->start);
    else if (pread_full(b->fd, head, n, ls) < 0)
        return -1;
    struct wl_cri_line rec;
    int rc = wl_cri_parse_line(h, n, &rec);
    if (rc < 0 && he < le) {
        n = (size_t)(le - ls) < LINE_MAX_BYTES ? (size_t)(le - ls)
                                               : LINE_MAX_BYTES;
        if (!(line = malloc(n)) || pread_full(b->fd, line, n, ls) < 0)
            return -1;
        rc = wl_cri_parse_line(line, n, &rec);
    }
    *ret = (struct line_kind){.record = rc == 0,
                              .partial = rc == 0 && rec.partial,
                              .time_ns = rc == 0 ? rec.time_ns : 0};
    return 0;
}

/* Where reading without follow ends: after the last whole line at the
 * open. While the run goes on, P records at the end of the log are a line
 * the writer is still splitting, even when it started in an older file:
 * left out. Once it ended (ended), they are its unfinished last line. */
static int log_end(struct wl_log_reader *r, bool ended, size_t *ret_idx,
                   off_t *ret_off)
{
    _cleanup_free_ char *buf = malloc(CHUNK);
    if (!buf)
        return -1;
    for (size_t i = 0; i < r->nfiles; i++) {
        struct back b;
        off_t end;
        if (back_open(&b, r->files[i].fd, buf, &end) < 0)
            return -1;
        while (!ended && end > 0) {
            off_t nl = prev_newline(&b, end - 1);
            struct line_kind k;
            if (nl == -2 || line_kind(&b, nl + 1, end, &k) < 0)
                return -1;
            if (!k.record || !k.partial)
                break;
            end = nl + 1;
        }
        if (ended || end > 0) {
            *ret_idx = i;
            *ret_off = end;
            return 0;
        }
    }
    *ret_idx = r->nfiles - 1;
    *ret_off = 0;
    return 0;
}

struct tail {
    long want;  /* lines */
    long count; /* lines found so far */
    bool last;  /* the next record seen is the log's last one */
    int64_t since_ns;
};

/* Looks at one line of the file, going backwards. true: output starts
 * right after it (it ends the line before the wanted ones, or that line
 * ended before since_ns). */
static bool tail_stops_after(struct tail *t, const struct line_kind *k)
{
    bool last = t->last;
    t->last = false;
    /* Inside a line; at the end, a finished run's unfinished last line
     * (tail(1) counts one too). */
    if (k->record && k->partial && !last)
        return false;
    /* The kubelet: since first, then tail. A line goes with the time of
     * the record that ends it, so since never cuts one in two; records
     * are in time order, so the rest is older still. */
    if (k->record && t->since_ns > 0 && k->time_ns < t->since_ns)
        return true;
    if (t->count == t->want)
        return true;
    t->count++;
    return false;
}

/* Walks fd backwards from from (a line's start). Returns 1 and *ret_off
 * when output starts in this file, 0 when it starts in an older one, -1
 * on error. */
static int scan_back(struct back *b, off_t from, struct tail *t, off_t *ret_off)
{
    off_t line_end = from; /* the line is [?, line_end), '\n' incl. */
    while (line_end > 0) {
        off_t nl = prev_newline(b, line_end - 1);
        struct line_kind k;
        if (nl == -2 || line_kind(b, nl + 1, line_end, &k) < 0)
            return -1;
        if (tail_stops_after(t, &k)) {
            *ret_off = line_end;
            return 1;
        }
        line_end = nl + 1;
    }
    return 0;
}

/* Where output starts, a file and an offset in it, for tail_lines and
 * since_ns: counting back from the log's end at (end_idx, end_off). */
static int start_at(struct wl_log_reader *r, size_t end_idx, off_t end_off,
                    size_t *ret_idx, off_t *ret_off)
{
    struct tail t = {.want =
                         r->opts.tail_lines < 0 ? LONG_MAX : r->opts.tail_lines,
                     .last = true,
                     .since_ns = r->opts.since_ns};
    _cleanup_free_ char *buf = malloc(CHUNK);
    if (!buf)
        return -1;
    for (size_t i = end_idx; i < r->nfiles; i++) {
        struct back b;
        off_t from, off;
        if (back_open(&b, r->files[i].fd, buf, &from) < 0)
            return -1;
        if (i == end_idx)
            from = end_off;
        int rc = scan_back(&b, from, &t, &off);
        if (rc < 0)
            return -1;
        if (rc > 0) {
            *ret_idx = i;
            *ret_off = off;
            return 0;
        }
    }
    *ret_idx = r->nfiles - 1;
    *ret_off = 0;
    return 0;
}

/* ---- follow ---- */

static bool exists(const char *p)
{
    return access(p, F_OK) == 0;
}

static int finish(struct wl_log_reader *r)
{
    drop_held(r);
    r->done = true;
    return 1;
}

/* n.log.k is the file f (still). */
static bool rotated_is(const struct wl_log_reader *r, unsigned k,
                       const struct log_file *f)
{
    char p[PATH_MAX];
    struct stat st;
    rotated_path(r, k, p, sizeof(p));
    return stat(p, &st) == 0 && st.st_dev == f->dev && st.st_ino == f->ino;
}

/* Finds files[0] among n.log.1 …: 1 and *ret_k when it is n.log.k; 0
 * when it is gone (dropped as the oldest before we got here), *ret_k then
 * the oldest file not older than it, what came next as far as we can
 * tell. A name that a rotation is shifting up is stepped over. */
static int find_rotated(struct wl_log_reader *r, unsigned *ret_k)
{
    struct log_file *f = &r->files[0];
    struct stat cur;
    if (fstat(f->fd, &cur) < 0)
        return -1;
    char p[PATH_MAX];
    unsigned next = 0;
    bool missed = false;
    for (unsigned k = 1; k <= MAX_ROTATED; k++) {
        struct stat st;
        rotated_path(r, k, p, sizeof(p));
        if (stat(p, &st) < 0) {
            if (missed)
                break;
            missed = true;
            continue;
        }
        missed = false;
        if (st.st_dev == f->dev && st.st_ino == f->ino) {
            *ret_k = k;
            return 1;
        }
        /* Not older than ours: if ours was dropped before we got here,
         * the oldest such file is what came next. */
        if (st.st_mtim.tv_sec >= cur.st_mtim.tv_sec)
            next = k;
    }
    *ret_k = next;
    return 0;
}

/* files[0] was rotated away and read to its end: opens the file that came
 * after it. The writer links it as n.log.1 before replacing n.log, so it
 * is n.log.k for some k, and its successor n.log.(k-1) -- unless another
 * rotation moves both between our looking and our opening: ours is then
 * no longer n.log.k (the writer shifts the older names first). Returns 1
 * when it moved on, 0 to wait for that rotation to end (its renames wake
 * us), -1 on error. */
static int next_file(struct wl_log_reader *r)
{
    struct log_file *f = &r->files[0];
    unsigned k;
    int found = find_rotated(r, &k);
    if (found < 0)
        return -1;
    char p[PATH_MAX];
    struct log_file nf;
    rotated_path(r, found ? k - 1 : k, p, sizeof(p));
    if (open_log_file(p, &nf) < 0) {
        if (errno != ENOENT)
            return -1;
        /* Pruned, or the pod is being deleted; else mid-rotation. */
        return exists(r->log_path) ? 0 : finish(r);
    }
    if (found && !rotated_is(r, k, f)) {
        (void)close(nf.fd);
        return 0;
    }
    drop_held(r);
    (void)close(f->fd);
    *f = nf;
    r->off = 0;
    r->commit = r->scan_off = 0;
    r->cur_final = false;
    return 1;
}

/* At the end of files[0] with nothing to return. Returns 1 when the
 * state moved on (read again), 0 to wait for a change, -1 on error. */
static int at_end(struct wl_log_reader *r)
{
    if (!r->opts.follow || r->gone)
        return finish(r);
    struct stat st;
    if (stat(r->log_path, &st) < 0)
        /* Pruned, or the pod is being deleted. */
        return errno == ENOENT ? finish(r) : -1;
    if (st.st_dev != r->files[0].dev || st.st_ino != r->files[0].ino) {
        /* Rotated. Writes to the old file all came before the rename we
         * see now: one more read to its end, then the next file. */
        if (!r->cur_final) {
            r->cur_final = true;
            return 1;
        }
        return next_file(r);
    }
    if (exists(r->next_path)) {
        /* The next run started, so this one's writer is long closed:
         * drain once more, then done. */
        if (r->ended && real_ns() >= r->grace_until)
            return finish(r);
        r->ended = true;
        r->grace_until = 0;
        return 1;
    }
    struct stat ex;
    if (!r->ended) {
        if (stat(r->exit_path, &ex) < 0)
            return 0;
        /* Drain once more: everything but the final flush came before
         * n.exit. */
        r->ended = true;
        r->grace_until = (int64_t)ex.st_mtim.tv_sec * 1000000000 +
                         ex.st_mtim.tv_nsec + END_GRACE_NS;
        return 1;
    }
    return real_ns() >= r->grace_until ? finish(r) : 0;
}

static void drain_events(struct wl_log_reader *r)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(r->inotify_fd, buf, sizeof(buf));
        if (n <= 0)
            return;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const void *)p;
            /* The rest (appends, renames, the run's end) is read from
             * the files themselves, so a lost event cannot mislead. */
            if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
                r->gone = true;
            p += sizeof(*ev) + ev->len;
        }
    }
}

/* Waits for a change in the container dir. Returns 1 on a change (or the
 * end of the grace period), 0 at the deadline, 2 when the client went
 * away, -1 on error. */
static int wait_change(struct wl_log_reader *r, int64_t deadline, int client_fd)
{
    int64_t timeout = -1;
    if (deadline >= 0) {
        timeout = deadline - mono_ms();
        if (timeout < 0)
            timeout = 0;
    }
    if (r->ended) {
        int64_t g = (r->grace_until - real_ns()) / 1000000 + 1;
        if (g < 0)
            g = 0;
        if (g > END_GRACE_NS / 1000000 + 1) /* an exit mtime from the future */
            g = END_GRACE_NS / 1000000 + 1;
        if (timeout < 0 || g < timeout)
            timeout = g;
    }
    struct pollfd p[2] = {{.fd = r->inotify_fd, .events = POLLIN},
                          {.fd = client_fd, .events = POLLRDHUP}};
    int rc = poll(p, client_fd >= 0 ? 2 : 1, (int)timeout);
    if (rc < 0)
        return errno == EINTR ? 1 : -1;
    if (client_fd >= 0 &&
        (p[1].revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)))
        return 2;
    if (p[0].revents & POLLIN) {
        drain_events(r);
        return 1;
    }
    if (deadline >= 0 && mono_ms() >= deadline)
        return 0;
    return 1;
}

/* ---- the API ---- */

static void close_files(struct wl_log_reader *r)
{
    for (size_t i = 0; i < r->nfiles; i++) {
        (void)close(r->files[i].fd);
        r->files[i].fd = -1;
    }
    r->nfiles = 0;
}

/* One pass over n.log, n.log.1, n.log.2 …, newest first. */
static int open_files_once(struct wl_log_reader *r, struct wl_error *err)
{
    if (open_log_file(r->log_path, &r->files[0]) < 0)
        return wl_error_set(err, errno, "log %s", r->log_path);
    r->nfiles = 1;
    char p[PATH_MAX];
    bool missed = false;
    for (unsigned k = 1; k <= MAX_ROTATED; k++) {
        struct log_file f;
        rotated_path(r, k, p, sizeof(p));
        if (open_log_file(p, &f) < 0) {
            if (errno != ENOENT)
                return wl_error_set(err, errno, "log %s", p);
            /* A rotation shifting the names up (oldest first) leaves one
             * empty for a moment: step over it. Two in a row: the end. */
            if (missed)
                break;
            missed = true;
            continue;
        }
        missed = false;
        /* A rotation since we opened the newer ones: the same file twice
         * under two names. */
        bool dup = false;
        for (size_t i = 0; i < r->nfiles; i++)
            dup |= r->files[i].dev == f.dev && r->files[i].ino == f.ino;
        if (dup) {
            (void)close(f.fd);
            continue;
        }
        r->files[r->nfiles++] = f;
    }
    return 0;
}

/* Opens the log's files, newest first, as one consistent set. A rotation
 * that completed while we went through the names (n.log is another file
 * now) may have shown us a newer file under an older name, in the wrong
 * place: then again. One still going on leaves n.log alone, and shifts
 * names we step over or see twice. */
static int open_files(struct wl_log_reader *r, struct wl_error *err)
{
    for (int tries = 1;; tries++) {
        if (open_files_once(r, err) < 0)
            return -1;
        struct stat st;
        if (tries == OPEN_TRIES || stat(r->log_path, &st) < 0 ||
            (st.st_dev == r->files[0].dev && st.st_ino == r->files[0].ino))
            return 0;
        close_files(r);
    }
}

/* Where reading starts and (without follow) ends. ended: the run had
 * ended before the files were opened. */
static int place(struct wl_log_reader *r, bool ended)
{
    size_t end_idx, idx = r->nfiles - 1;
    off_t end_off, off = 0;
    if (log_end(r, ended, &end_idx, &end_off) < 0)
        return -1;
    if ((r->opts.tail_lines >= 0 || r->opts.since_ns > 0) &&
        start_at(r, end_idx, end_off, &idx, &off) < 0)
        return -1;
    for (size_t i = idx + 1; i < r->nfiles; i++) {
        (void)close(r->files[i].fd);
        r->files[i].fd = -1;
    }
    r->nfiles = idx + 1;
    r->cur = idx;
    r->off = off;
    /* With follow, on to whatever comes. */
    r->end_idx = r->opts.follow ? 0 : end_idx;
    r->end_off = r->opts.follow ? -1 : end_off;
    return 0;
}

int wl_log_reader_open(const char *ctr_dir, unsigned run,
                       const struct wl_log_opts *opts,
                       struct wl_log_reader **ret, struct wl_error *err)
{
    struct wl_log_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return wl_error_set(err, ENOMEM, "log reader");
    r->opts = *opts;
    r->inotify_fd = -1;
    r->line_start = true;
    for (size_t i = 0; i < MAX_ROTATED + 1; i++)
        r->files[i].fd = -1;
    if (asprintf(&r->log_path, "%s/%u.log", ctr_dir, run) < 0 ||
        asprintf(&r->exit_path, "%s/%u.exit", ctr_dir, run) < 0 ||
        asprintf(&r->next_path, "%s/%u.log", ctr_dir, run + 1) < 0 ||
        !(r->in = malloc(IN_CAP))) {
        wl_log_reader_free(r);
        return wl_error_set(err, ENOMEM, "log reader");
    }
    /* Watch before opening: a change after our first read always
     * wakes us. IN_DELETE_SELF alone is not enough: the dir's inode
     * lives on while we hold an fd of an (unlinked) file in it, so the
     * removal of n.log itself must wake us too. */
    if (opts->follow) {
        r->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (r->inotify_fd < 0 ||
            inotify_add_watch(r->inotify_fd, ctr_dir,
                              IN_MODIFY | IN_CREATE | IN_MOVED_TO |
                                  IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF |
                                  IN_MOVE_SELF | IN_ONLYDIR) < 0) {
            int e = errno;
            wl_log_reader_free(r);
            return wl_error_set(err, e, "log %s/%u.log: watch", ctr_dir, run);
        }
    }
    /* The runner closes the log (a last unfinished line flushed as P)
     * before it writes n.exit (pod/runner.c): when the run had ended
     * before we open the files, P records at their end are that line,
     * not one still being split (and n.log will not rotate again). */
    bool ended = opts->ended || exists(r->exit_path) ||
                 exists(r->next_path);
    if (open_files(r, err) < 0) {
        wl_log_reader_free(r);
        return -1;
    }
    if (place(r, ended) < 0) {
        int e = errno;
        wl_log_reader_free(r);
        return wl_error_set(err, e, "log %s/%u.log: tail", ctr_dir, run);
    }
    *ret = r;
    return 0;
}

ssize_t wl_log_reader_read(struct wl_log_reader *r, char *buf, size_t max,
                           int timeout_ms, int client_fd)
{
    if (max == 0) {
        errno = EINVAL;
        return -1;
    }
    int64_t deadline = timeout_ms >= 0 ? mono_ms() + timeout_ms : -1;
    for (;;) {
        size_t n = pending(r);
        if (n > 0) {
            if (n > max)
                n = max;
            memcpy(buf, r->out + r->out_pos, n);
            r->out_pos += n;
            return (ssize_t)n;
        }
        if (r->done)
            return 0;
        if (fill(r, max) < 0)
            return -1;
        if (pending(r) > 0 || r->done)
            continue;
        int rc = at_end(r);
        if (rc < 0)
            return -1;
        if (rc > 0)
            continue;
        rc = wait_change(r, deadline, client_fd);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return -2;
        if (rc == 2) {
            r->done = true;
            return 0;
        }
    }
}

void wl_log_reader_free(struct wl_log_reader *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < MAX_ROTATED + 1; i++)
        if (r->files[i].fd >= 0)
            (void)close(r->files[i].fd);
    if (r->inotify_fd >= 0)
        (void)close(r->inotify_fd);
    free(r->log_path);
    free(r->exit_path);
    free(r->next_path);
    free(r->in);
    free(r->out);
    free(r->scan_buf);
    free(r);
}
