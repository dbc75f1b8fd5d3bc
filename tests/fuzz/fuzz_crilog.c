/* libFuzzer target: CRI log records (`kubectl logs` reads back files
 * that a crash may have torn, that a writer may be in the middle of, and
 * that anything on the node may have written into).
 *
 * Two checks per input:
 * - The record parser alone: the text is a suffix of the line, the final
 *   '\n' excluded.
 * - The reader (server/logs.h) on the input cut into a log of three files
 *   (0.log.2, 0.log.1, 0.log) at two points anywhere, records cut
 *   included, with options from a header: its output must be exactly
 *   what a simple model of the rules gives. The model takes whole lines
 *   only (the bytes after a file's last '\n' are never shown), drops P
 *   records at the end while the run goes on, joins P records to what
 *   follows, then applies since, tail, timestamps and limit. So nothing
 *   but whole records ever comes out, and tail counts lines exactly.
 *
 * Input: 10 header bytes, then the log (at most MAX_LOG bytes):
 *   [0] flags: 1 run ended (0.exit), 2 follow (the next run started,
 *       so the follow ends), 4 timestamps, 8 since
 *   [1] tail lines: bit 7 set: all, else the low 4 bits
 *   [2..3], [4..5] the two cut points (little endian, modulo the size)
 *   [6..7] limit bytes (0: none)
 *   [8] read size - 1 (low 6 bits)
 *   [9] since: 2026-11-27T10:00:00Z plus this many seconds, minus 128
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/crilog.h"
#include "server/logs.h"

#define HEADER 10
/* Below the reader's over-long line size: such lines are passed on in
 * pieces, which the model does not follow. */
#define MAX_LOG 16000
#define T0 1795773600LL

static void check_parse(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so ASan sees any read past the end. */
    char *line = malloc(size ? size : 1);
    if (!line)
        return;
    memcpy(line, data, size);
    struct wl_cri_line rec;
    if (wl_cri_parse_line(line, size, &rec) == 0) {
        /* The text is a suffix of the line, the final '\n' excluded. */
        if (rec.text < line || rec.text > line + size ||
            rec.text_len > (size_t)(line + size - rec.text))
            abort();
        if (rec.text_len && rec.text[rec.text_len - 1] == '\n' &&
            rec.text + rec.text_len == line + size)
            abort();
        if (rec.stream != WL_CRI_STDOUT && rec.stream != WL_CRI_STDERR)
            abort();
    }
    free(line);
}

/* ---- a growable byte string ---- */

struct bytes {
    char *p;
    size_t len, cap;
};

static void add(struct bytes *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            abort();
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* ---- the model ---- */

struct item {
    const char *line; /* in the log, without '\n' */
    size_t len;
    bool record;
    struct wl_cri_line rec;
};

/* One line of output. */
struct out_line {
    size_t start, len; /* in the model's text */
    bool terminated;   /* '\n' follows */
    bool timed;        /* its last record has a time: since applies */
    int64_t end_ns;    /* that time */
};

static void model_time(int64_t ns, struct bytes *b)
{
    time_t sec = (time_t)(ns / 1000000000);
    long frac = (long)(ns % 1000000000);
    struct tm tm;
    char buf[64];
    if (frac < 0) {
        frac += 1000000000;
        sec--;
    }
    gmtime_r(&sec, &tm);
    size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, ".%09ldZ ", frac);
    add(b, buf, n);
}

/* The whole lines of one file go to items. */
static void model_file(const char *p, size_t n, struct item *items,
                       size_t *count)
{
    const char *end = p + n;
    for (;;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return; /* the rest is not a whole line */
        struct item *it = &items[(*count)++];
        it->line = p;
        it->len = (size_t)(nl - p);
        it->record = wl_cri_parse_line(p, it->len, &it->rec) == 0;
        p = nl + 1;
    }
}

static void model(const char *const parts[3], const size_t lens[3],
                  const struct wl_log_opts *o, bool ended, struct bytes *ret)
{
    size_t total = lens[0] + lens[1] + lens[2];
    struct item *items = calloc(total + 1, sizeof(*items));
    struct out_line *lines = calloc(total + 1, sizeof(*lines));
    struct bytes text = {0};
    size_t n = 0, nlines = 0;
    if (!items || !lines)
        abort();
    for (int i = 0; i < 3; i++)
        model_file(parts[i], lens[i], items, &n);
    /* A line still being split while the run goes on. */
    while (!ended && n > 0 && items[n - 1].record && items[n - 1].rec.partial)
        n--;
    bool open = false; /* a line has begun */
    struct out_line cur = {0};
    for (size_t i = 0; i < n; i++) {
        struct item *it = &items[i];
        if (!open) {
            cur = (struct out_line){.start = text.len};
            open = true;
            if (o->timestamps && it->record)
                model_time(it->rec.time_ns, &text);
        }
        if (!it->record) {
            add(&text, it->line, it->len);
            cur.timed = false;
        } else {
            add(&text, it->rec.text, it->rec.text_len);
            cur.timed = true;
            cur.end_ns = it->rec.time_ns;
            if (it->rec.partial)
                continue;
        }
        cur.len = text.len - cur.start;
        cur.terminated = true;
        lines[nlines++] = cur;
        open = false;
    }
    if (open) {
        /* The run's unfinished last line. */
        cur.len = text.len - cur.start;
        lines[nlines++] = cur;
    }
    /* since, then tail */
    size_t first = 0;
    if (o->since_ns > 0)
        for (size_t i = nlines; i > 0; i--)
            if (lines[i - 1].timed && lines[i - 1].end_ns < o->since_ns) {
                first = i;
                break;
            }
    if (o->tail_lines >= 0 && nlines - first > (size_t)o->tail_lines)
        first = nlines - (size_t)o->tail_lines;
    for (size_t i = first; i < nlines; i++) {
        add(ret, text.p + lines[i].start, lines[i].len);
        if (lines[i].terminated)
            add(ret, "\n", 1);
    }
    if (o->limit_bytes > 0 && ret->len > (size_t)o->limit_bytes)
        ret->len = (size_t)o->limit_bytes;
    free(text.p);
    free(items);
    free(lines);
}

/* ---- the reader on files ---- */

static char dir[] = "/tmp/wl-fuzz-crilog-XXXXXX";

static void remove_dir(void)
{
    static const char *const names[] = {"0.log", "0.log.1", "0.log.2", "0.exit",
                                        "1.log"};
    char p[128];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        (void)unlink(p);
    }
    (void)rmdir(dir);
}

static const char *scratch(void)
{
    static bool made;
    if (!made) {
        if (!mkdtemp(dir))
            abort();
        atexit(remove_dir);
        made = true;
    }
    return dir;
}

/* name holds data, or is missing when absent. */
static void put_file(const char *name, const char *data, size_t n, bool present)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/%s", scratch(), name);
    if (!present) {
        (void)unlink(p);
        return;
    }
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (n && write(fd, data, n) != (ssize_t)n))
        abort();
    close(fd);
}

static void read_log(const struct wl_log_opts *o, size_t max, struct bytes *ret)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_log_reader *r = NULL;
    if (wl_log_reader_open(scratch(), 0, o, &r, &err) < 0)
        abort(); /* 0.log is there */
    char buf[64];
    for (;;) {
        ssize_t n = wl_log_reader_read(r, buf, max, 1000, -1);
        if (n == 0)
            break;
        /* A read error, or a follow that does not end at (n+1).log. */
        if (n < 0 || (size_t)n > max)
            abort();
        add(ret, buf, (size_t)n);
    }
    wl_log_reader_free(r);
}

static void check_reader(const uint8_t *data, size_t size)
{
    if (size < HEADER || size - HEADER > MAX_LOG)
        return;
    const uint8_t *h = data;
    const char *log = (const char *)data + HEADER;
    size_t n = size - HEADER;
    bool follow = h[0] & 2, ended = (h[0] & 1) || follow;
    struct wl_log_opts o = {
        .follow = follow,
        .tail_lines = h[1] & 0x80 ? -1 : h[1] & 0x0f,
        .timestamps = h[0] & 4,
        .since_ns = h[0] & 8 ? (T0 + h[9] - 128) * 1000000000LL : 0,
        .limit_bytes = h[6] | h[7] << 8,
    };
    size_t a = (size_t)(h[2] | h[3] << 8) % (n + 1);
    size_t b = (size_t)(h[4] | h[5] << 8) % (n + 1);
    if (a > b) {
        size_t t = a;
        a = b;
        b = t;
    }
    const char *parts[3] = {log, log + a, log + b};
    const size_t lens[3] = {a, b - a, n - b};
    put_file("0.log.2", parts[0], lens[0], lens[0] > 0);
    put_file("0.log.1", parts[1], lens[1], lens[1] > 0 || lens[0] > 0);
    put_file("0.log", parts[2], lens[2], true);
    put_file("0.exit", "{}", 2, h[0] & 1);
    put_file("1.log", "", 0, follow);

    struct bytes got = {0}, want = {0};
    read_log(&o, 1 + (h[8] & 63), &got);
    model(parts, lens, &o, ended, &want);
    if (got.len != want.len || (got.len && memcmp(got.p, want.p, got.len))) {
        fprintf(stderr,
                "reader: %zu bytes \"%.*s\"\nmodel: %zu bytes \"%.*s\"\n",
                got.len, (int)got.len, got.p ? got.p : "", want.len,
                (int)want.len, want.p ? want.p : "");
        abort();
    }
    free(got.p);
    free(want.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_parse(data, size);
    check_reader(data, size);
    return 0;
}
