/* `kubectl logs` while the log is written and rotated (issue 22): one
 * writer thread floods lines of many sizes through the real CRI log writer
 * (runtime/crilog.h), rotating at a small size; tail and follow readers
 * read at the same time through the real reader (server/logs.h). Every
 * line read back must be a whole line that was written, in order, with no
 * gap, and a tail must hold exactly the lines asked for.
 *
 * Each line says which it is ("L000042 " then a filler that depends on the
 * number and the length), so a reader checks what it got without sharing
 * anything with the writer but the count of lines written so far (and
 * when each was written, for sinceTime).
 *
 * The race is timing-dependent, so the test loops: WL_LOGS_RACE_ROUNDS
 * rounds (default 50) of WL_LOGS_RACE_LINES lines each (default 100).
 * Most rounds rotate at 8 KiB and keep every rotated file, so counts must
 * be exact; every fourth keeps 3 files of 128 KiB, so a slow follower may
 * miss a dropped file (and a tail may find fewer lines than were written)
 * but must still see only whole lines, in order. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/crilog.h"
#include "server/logs.h"
#include "test.h"
#include "util/fileio.h"

static char dir[] = "/tmp/wl-test-logs-race-XXXXXX";

#define TAIL_READERS 3
#define FOLLOW_READERS 2
/* "L000042 ": the line's number, then its filler. */
#define ID_LEN 8
/* RFC3339Nano with nine digits and a space: timestamps=true. */
#define TS_LEN 31

/* ---- what the writer writes ---- */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

struct round {
    char ctr[300];
    unsigned lines; /* written in this round, the last without '\n' */
    unsigned seed;
    bool drops; /* max_files 3: old files go while being read */
    /* Lines whose write returned; t_start/t_done of those are set. */
    _Atomic unsigned done;
    int64_t *t_start, *t_done; /* realtime ns around each line's write */
    atomic_bool stop;          /* a reader failed: everyone stops */
};

/* Length of line i (without '\n'). Most are short; some are longer than
 * a CRI record holds (the writer splits them into P records), a few
 * longer than the reader reads at a time, and some sit exactly at the
 * record size. */
static size_t line_len(const struct round *rd, unsigned i)
{
    if (i + 1 == rd->lines)
        return ID_LEN + 3; /* "end", flushed as P at close */
    uint64_t h = mix(((uint64_t)rd->seed << 32) | i);
    switch (i % 50) {
    case 7:
        return WL_CRI_MAX_LINE; /* one full F record */
    case 8:
        return WL_CRI_MAX_LINE + 1; /* a P and an F of one byte */
    case 9:
        return 2 * WL_CRI_MAX_LINE; /* P, then F */
    }
    unsigned k = (unsigned)(h % 1000);
    if (k < 700)
        return ID_LEN + (size_t)(h >> 20) % 80;
    if (k < 940)
        return ID_LEN + 200 + (size_t)(h >> 20) % 2000;
    if (k < 993)
        return WL_CRI_MAX_LINE - 20 +
               (size_t)(h >> 20) % (WL_CRI_MAX_LINE + 40);
    return 70 * 1024 + (size_t)(h >> 20) % (30 * 1024);
}

static char line_char(unsigned i, size_t pos)
{
    return (char)('a' + (i * 7u + (unsigned)pos) % 26);
}

static void line_text(const struct round *rd, unsigned i, char *buf)
{
    size_t n = line_len(rd, i);
    snprintf(buf, ID_LEN + 1, "L%06u ", i);
    if (i + 1 == rd->lines) {
        memcpy(buf + ID_LEN, "end", 3);
        return;
    }
    for (size_t p = ID_LEN; p < n; p++)
        buf[p] = line_char(i, p);
}

static int64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- failures, from any thread ---- */

static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static char fail_msg[1024];
static atomic_bool any_failed;

static void race_fail(struct round *rd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void race_fail(struct round *rd, const char *fmt, ...)
{
    pthread_mutex_lock(&fail_lock);
    if (!atomic_load(&any_failed)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(fail_msg, sizeof(fail_msg), fmt, ap);
        va_end(ap);
        atomic_store(&any_failed, true);
    }
    pthread_mutex_unlock(&fail_lock);
    atomic_store(&rd->stop, true);
}

/* ---- the writer ---- */

struct writer_arg {
    struct round *rd;
    struct wl_cri_log *log;
};

static void write_all(struct wl_cri_log *l, enum wl_cri_stream s, const char *p,
                      size_t n)
{
    if (n && wl_cri_log_write(l, s, (const unsigned char *)p, n) != (long)n)
        abort();
}

/* Creates <ctr>/<name> holding text. */
static void touch(const char *ctr, const char *name, const char *text)
{
    char p[400];
    snprintf(p, sizeof(p), "%s/%s", ctr, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        abort();
    close(fd);
}

static void *writer_main(void *arg)
{
    struct writer_arg *w = arg;
    struct round *rd = w->rd;
    char *buf = malloc(128 * 1024);
    if (!buf)
        abort();
    for (unsigned i = 0; i < rd->lines && !atomic_load(&rd->stop); i++) {
        size_t n = line_len(rd, i);
        enum wl_cri_stream s = i % 2 ? WL_CRI_STDERR : WL_CRI_STDOUT;
        line_text(rd, i, buf);
        rd->t_start[i] = real_ns();
        if (i + 1 == rd->lines) {
            /* The last line has no '\n': close flushes it as a P record,
             * then the run ends (n.exit) and the next one starts. */
            write_all(w->log, s, buf, n);
            wl_cri_log_close(w->log);
            w->log = NULL;
            touch(rd->ctr, "0.exit", "{}");
            touch(rd->ctr, "1.log", "");
        } else if (mix(i ^ 0x5555) % 5 == 0) {
            /* In pieces, as a WASI module's buffered stdout writes it. */
            size_t a = (size_t)(mix(i) % (n + 1));
            size_t b = a + (size_t)(mix(i + 1) % (n - a + 1));
            write_all(w->log, s, buf, a);
            write_all(w->log, s, buf + a, b - a);
            write_all(w->log, s, buf + b, n - b);
            write_all(w->log, s, "\n", 1);
        } else {
            buf[n] = '\n';
            write_all(w->log, s, buf, n + 1);
        }
        rd->t_done[i] = real_ns();
        atomic_store_explicit(&rd->done, i + 1, memory_order_release);
    }
    free(buf);
    return NULL;
}

/* ---- the readers ---- */

struct reader_arg {
    struct round *rd;
    uint64_t rng;
};

static uint64_t rnd(struct reader_arg *a)
{
    a->rng = mix(a->rng + 0x9e3779b97f4a7c15ULL);
    return a->rng;
}

/* One read of the log, what was asked and what the writer had done
 * around the open. */
struct session {
    struct wl_log_opts o;
    unsigned lo, hi;    /* lines done before the open, after it */
    int64_t since_line; /* since_ns is this line's t_start; -1: none */
    char *out;
    size_t len;
};

/* Reads until the end, in reads of at most max bytes. -1 on a failed
 * read or a follow that does not end. */
static int read_session(struct round *rd, struct session *s, size_t max)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_log_reader *r = NULL;
    s->lo = atomic_load_explicit(&rd->done, memory_order_acquire);
    if (wl_log_reader_open(rd->ctr, 0, &s->o, &r, &err) < 0) {
        race_fail(rd, "open: %s", err.msg);
        wl_error_clear(&err);
        return -1;
    }
    s->hi = atomic_load_explicit(&rd->done, memory_order_acquire);
    size_t cap = 64 * 1024;
    s->out = malloc(cap);
    s->len = 0;
    char *buf = malloc(max);
    double deadline = mono_ms() + 60000;
    int rc = 0;
    for (;;) {
        ssize_t n = wl_log_reader_read(r, buf, max, 100, -1);
        if (n == 0)
            break;
        if (n == -1) {
            race_fail(rd, "read: %s", strerror(errno));
            rc = -1;
            break;
        }
        if (n == -2) {
            if (mono_ms() > deadline || atomic_load(&rd->stop)) {
                if (!atomic_load(&rd->stop))
                    race_fail(rd, "follow did not end");
                rc = -1;
                break;
            }
            continue;
        }
        if ((size_t)n > max) {
            race_fail(rd, "read returned %zd > %zu", n, max);
            rc = -1;
            break;
        }
        if (s->len + (size_t)n > cap) {
            while (s->len + (size_t)n > cap)
                cap *= 2;
            s->out = realloc(s->out, cap);
        }
        memcpy(s->out + s->len, buf, (size_t)n);
        s->len += (size_t)n;
    }
    free(buf);
    wl_log_reader_free(r);
    return rc;
}

static void describe(const struct session *s, char *d, size_t n)
{
    snprintf(d, n,
             "follow=%d tail=%ld limit=%" PRId64
             " timestamps=%d since_line=%" PRId64
             " lines done before/after open %u/%u, got %zu bytes",
             s->o.follow, s->o.tail_lines, s->o.limit_bytes, s->o.timestamps,
             s->since_line, s->lo, s->hi, s->len);
}

/* At most 60 bytes of a line of output, for a message. */
#define SHOW(n) ((int)((n) < 60 ? (n) : 60))

/* Checks one line of output (without '\n'); cut: the output ends inside
 * it (limit_bytes). Returns its number, -1 (failure recorded), or -2
 * when the cut left too little to tell. */
static long check_line(struct round *rd, const struct session *s, const char *p,
                       size_t n, bool terminated, bool cut, char *expect)
{
    char d[256];
    describe(s, d, sizeof(d));
    if (s->o.timestamps) {
        if (n < TS_LEN && cut)
            return -2; /* too little left to say which line it is */
        if (n < TS_LEN || p[10] != 'T' || p[29] != 'Z' || p[30] != ' ') {
            race_fail(rd, "no timestamp on line \"%.*s\" (%s)", SHOW(n), p, d);
            return -1;
        }
        p += TS_LEN;
        n -= TS_LEN;
    }
    if (n < ID_LEN && cut)
        return -2;
    unsigned i = 0;
    bool id = n >= ID_LEN && p[0] == 'L' && p[7] == ' ';
    for (int k = 1; id && k < 7; k++) {
        id = p[k] >= '0' && p[k] <= '9';
        i = i * 10 + (unsigned)(p[k] - '0');
    }
    if (!id || i >= rd->lines) {
        race_fail(rd, "not a line that was written: \"%.*s\" (%s)", SHOW(n), p,
                  d);
        return -1;
    }
    size_t want = line_len(rd, i);
    line_text(rd, i, expect);
    bool last = i + 1 == rd->lines;
    if ((cut ? n > want : n != want) || memcmp(p, expect, n) != 0) {
        race_fail(rd,
                  "line %u cut or changed: %zu bytes, want %zu: \"%.*s\"… (%s)",
                  i, n, want, SHOW(n), p, d);
        return -1;
    }
    if (!cut && terminated == last) {
        race_fail(rd, "line %u %s a newline (%s)", i, last ? "has" : "lacks",
                  d);
        return -1;
    }
    return (long)i;
}

/* The lines of a session's output, in order: whole, written, no gap
 * (unless files were dropped under a follower), and the right ones. */
static void check_session(struct round *rd, const struct session *s)
{
    char d[256];
    describe(s, d, sizeof(d));
    if (s->o.limit_bytes > 0 && s->len > (size_t)s->o.limit_bytes) {
        race_fail(rd, "more than limit_bytes (%s)", d);
        return;
    }
    bool limited = s->o.limit_bytes > 0 && s->len == (size_t)s->o.limit_bytes;
    char *expect = malloc(128 * 1024);
    long first = -1, prev = -1, count = 0;
    bool gaps_ok = rd->drops && s->o.follow;
    size_t pos = 0;
    while (pos < s->len) {
        const char *p = s->out + pos;
        const char *nl = memchr(p, '\n', s->len - pos);
        size_t n = nl ? (size_t)(nl - p) : s->len - pos;
        bool cut = !nl && limited;
        long i = check_line(rd, s, p, n, nl != NULL, cut, expect);
        pos += n + (nl ? 1 : 0);
        if (i == -2)
            break;
        if (i < 0)
            goto out;
        if (prev >= 0 && (gaps_ok ? i <= prev : i != prev + 1)) {
            race_fail(rd, "line %ld after line %ld (%s)", i, prev, d);
            goto out;
        }
        if (first < 0)
            first = i;
        prev = i;
        count++;
    }
    long tail = s->o.tail_lines;
    /* Where the output must start: the tail of what was there at the
     * open, which holds at least lo and at most hi + 1 lines. */
    long smin = 0, smax = 0;
    if (tail >= 0) {
        smin = (long)s->lo - tail > 0 ? (long)s->lo - tail : 0;
        smax = (long)s->hi + 1 - tail > 0 ? (long)s->hi + 1 - tail : 0;
    }
    if (s->since_line >= 0) {
        int64_t since = s->o.since_ns;
        /* The first line shown ends at or after since (the record that
         * ends it was written after t_start); the one before it ended
         * before since, so it started before. */
        if (first < 0 || first > s->since_line) {
            race_fail(rd, "line %" PRId64 " (since) missing, first %ld (%s)",
                      s->since_line, first, d);
            goto out;
        }
        if (rd->t_done[first] < since ||
            (first > 0 && rd->t_start[first - 1] >= since)) {
            race_fail(rd, "since: started at line %ld (%s)", first, d);
            goto out;
        }
        smin = 0;
        smax = first;
    }
    if (s->o.follow) {
        /* To the very end: the unfinished last line included; nothing
         * for a tail of 0 when the run may have ended at the open. */
        if (count == 0 && tail == 0 && s->hi + 1 >= rd->lines)
            goto out;
        if (!limited && prev + 1 != (long)rd->lines) {
            race_fail(rd, "follow ended at line %ld of %u (%s)", prev,
                      rd->lines, d);
            goto out;
        }
    } else if (!limited) {
        /* The last line shown is the last whole one at the open. */
        long end = prev + 1;
        if (count == 0 && tail != 0 && s->lo > 0) {
            race_fail(rd, "no lines, %u were done before the open (%s)", s->lo,
                      d);
            goto out;
        }
        if (count > 0 && (end < (long)s->lo || end > (long)s->hi + 1)) {
            race_fail(rd, "ended at line %ld, done %u..%u (%s)", prev, s->lo,
                      s->hi, d);
            goto out;
        }
        /* Exactly tail lines, or all there are. */
        if (tail >= 0 && count > 0 && !rd->drops &&
            count != (tail < end ? tail : end)) {
            race_fail(rd, "%ld lines for tail=%ld of %ld (%s)", count, tail,
                      end, d);
            goto out;
        }
        if (tail >= 0 && count > tail) {
            race_fail(rd, "%ld lines for tail=%ld (%s)", count, tail, d);
            goto out;
        }
        if (tail < 0 && s->since_line < 0 && count > 0 && !rd->drops &&
            first != 0) {
            race_fail(rd, "all lines started at line %ld (%s)", first, d);
            goto out;
        }
        goto out;
    }
    if (first >= 0 && !rd->drops && (first < smin || first > smax)) {
        race_fail(rd, "started at line %ld, not in %ld..%ld (%s)", first, smin,
                  smax, d);
        goto out;
    }
out:
    free(expect);
}

static void random_opts(struct reader_arg *a, struct session *s, bool follow)
{
    static const long tails[] = {0, 1, 2, 5, 17, 100, 1000, -1};
    memset(s, 0, sizeof(*s));
    s->since_line = -1;
    s->o.follow = follow;
    s->o.tail_lines = tails[rnd(a) % 8];
    uint64_t k = rnd(a) % 16;
    if (k == 0)
        s->o.timestamps = true;
    if (k == 1 && !follow)
        s->o.limit_bytes = 1 + (int64_t)(rnd(a) % 60000);
    unsigned done = atomic_load_explicit(&a->rd->done, memory_order_acquire);
    if (k == 2 && done > 0 && !a->rd->drops) {
        s->since_line = (int64_t)(rnd(a) % done);
        s->o.since_ns = a->rd->t_start[s->since_line];
        s->o.tail_lines = -1;
    }
}

static size_t random_max(struct reader_arg *a)
{
    static const size_t maxes[] = {1, 7, 100, 4096, 4096, 4096, 65536};
    return maxes[rnd(a) % 7];
}

static void *tail_main(void *arg)
{
    struct reader_arg *a = arg;
    struct round *rd = a->rd;
    bool last = false;
    while (!atomic_load(&rd->stop)) {
        /* One more after the writer is done: the ended run. */
        if (atomic_load_explicit(&rd->done, memory_order_acquire) == rd->lines)
            last = true;
        struct session s;
        random_opts(a, &s, false);
        if (read_session(rd, &s, random_max(a)) == 0)
            check_session(rd, &s);
        free(s.out);
        if (last)
            break;
    }
    return NULL;
}

static void *follow_main(void *arg)
{
    struct reader_arg *a = arg;
    struct round *rd = a->rd;
    /* Joins at some point of the flood. */
    usleep((useconds_t)(rnd(a) % 3000));
    struct session s;
    random_opts(a, &s, true);
    if (read_session(rd, &s, random_max(a)) == 0)
        check_session(rd, &s);
    free(s.out);
    return NULL;
}

static unsigned env_unsigned(const char *name, unsigned def)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    return *end || n == 0 || n > 100000 ? def : (unsigned)n;
}

static int run_round(unsigned round, unsigned lines)
{
    struct round rd = {.lines = lines,
                       .seed = round * 2654435761u + 1,
                       .drops = round % 4 == 3};
    snprintf(rd.ctr, sizeof(rd.ctr), "%s/r%u", dir, round);
    if (mkdir(rd.ctr, 0700) < 0)
        return -1;
    rd.t_start = calloc(lines, sizeof(int64_t));
    rd.t_done = calloc(lines, sizeof(int64_t));
    char p[400];
    snprintf(p, sizeof(p), "%s/0.log", rd.ctr);
    struct wl_error err = WL_ERROR_INIT;
    struct writer_arg w = {.rd = &rd};
    /* Dropping files: big enough that no line is split between two
     * (the writer keeps a line together up to max_size), or the end of
     * one whose start was dropped would be all there is of it. */
    struct wl_cri_log_opts ro = {.max_size = rd.drops ? 128 * 1024 : 8 * 1024,
                                 .max_files = rd.drops ? 3 : 200};
    if (wl_cri_log_open(p, &ro, &w.log, &err) < 0) {
        fprintf(stderr, "  %s\n", err.msg);
        return -1;
    }
    pthread_t wt, tt[TAIL_READERS], ft[FOLLOW_READERS];
    struct reader_arg ta[TAIL_READERS], fa[FOLLOW_READERS];
    for (int i = 0; i < FOLLOW_READERS; i++) {
        fa[i] =
            (struct reader_arg){.rd = &rd, .rng = rd.seed + 100u + (unsigned)i};
        pthread_create(&ft[i], NULL, follow_main, &fa[i]);
    }
    for (int i = 0; i < TAIL_READERS; i++) {
        ta[i] = (struct reader_arg){.rd = &rd, .rng = rd.seed + (unsigned)i};
        pthread_create(&tt[i], NULL, tail_main, &ta[i]);
    }
    pthread_create(&wt, NULL, writer_main, &w);
    pthread_join(wt, NULL);
    for (int i = 0; i < TAIL_READERS; i++)
        pthread_join(tt[i], NULL);
    for (int i = 0; i < FOLLOW_READERS; i++)
        pthread_join(ft[i], NULL);
    wl_cri_log_close(w.log); /* a writer stopped early */
    free(rd.t_start);
    free(rd.t_done);
    if (!atomic_load(&any_failed) && wl_remove_tree(rd.ctr, &err) < 0)
        wl_error_clear(&err);
    return 0;
}

static void test_logs_tail_and_follow_while_written_and_rotated(void)
{
    unsigned rounds = env_unsigned("WL_LOGS_RACE_ROUNDS", 50);
    unsigned lines = env_unsigned("WL_LOGS_RACE_LINES", 100);
    double t0 = mono_ms();
    for (unsigned r = 0; r < rounds; r++) {
        double t1 = mono_ms();
        CHECK_INT(run_round(r, lines < 2 ? 2 : lines), 0);
        if (getenv("WL_DEBUG_ROUNDS"))
            fprintf(stderr, "round %u %.0f ms\n", r, mono_ms() - t1);
        if (atomic_load(&any_failed))
            WL_FAIL("round %u: %s", r, fail_msg);
    }
    printf("  %u rounds of %u lines in %.0f ms\n", rounds, lines,
           mono_ms() - t0);
}

static void test_setup(void)
{
    wl_test_tmpdir(dir);
}

WL_TEST_MAIN(WL_T(test_setup),
             WL_T(test_logs_tail_and_follow_while_written_and_rotated))
