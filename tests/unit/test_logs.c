/* Reading container logs back for `kubectl logs`: records to text,
 * partial lines, timestamps, tail, since, limit, follow (appends, the
 * run's end, the dir's removal, rotation), malformed lines, and only
 * whole records and lines of a log still being written. (The race of
 * reading while a writer floods and rotates: test_logs_race.c.) */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/crilog.h"
#include "server/logs.h"
#include "test.h"
#include "util/fileio.h"

static char dir[] = "/tmp/wl-test-logs-XXXXXX";

/* 2026-11-27T10:00:00Z */
#define T0 1795773600LL
#define NS 1000000000LL

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A new container dir, <dir>/<name>. */
static void ctr(char *p, size_t n, const char *name)
{
    snprintf(p, n, "%s/%s", dir, name);
    mkdir(p, 0700);
}

static void append(const char *c, const char *file, const char *text)
{
    char p[320];
    snprintf(p, sizeof(p), "%s/%s", c, file);
    FILE *f = fopen(p, "a");
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
}

/* Reads everything (non-follow, or until the follow ends) with reads of
 * at most max bytes. NULL when a read fails. */
static char *read_all(struct wl_log_reader *r, size_t max)
{
    size_t len = 0;
    char *all = calloc(1, 1);
    char buf[4096];
    if (max > sizeof(buf))
        max = sizeof(buf);
    for (;;) {
        ssize_t n = wl_log_reader_read(r, buf, max, 2000, -1);
        if (n == 0)
            return all;
        if (n == -1) {
            free(all);
            return NULL;
        }
        if (n < 0)
            continue;
        all = realloc(all, len + (size_t)n + 1);
        memcpy(all + len, buf, (size_t)n);
        len += (size_t)n;
        all[len] = '\0';
    }
}

static char *logs(const char *c, unsigned run, struct wl_log_opts o)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_log_reader *r = NULL;
    if (wl_log_reader_open(c, run, &o, &r, &err) < 0) {
        fprintf(stderr, "  open: %s\n", err.msg);
        wl_error_clear(&err);
        return NULL;
    }
    char *s = read_all(r, 4096);
    wl_log_reader_free(r);
    return s;
}

static const struct wl_log_opts all_lines = {.tail_lines = -1};

/* Run 0's log in c, read with o, is want. */
#define CHECK_LOGS(c, o, want)                                                 \
    do {                                                                       \
        char *wl_s_ = logs(c, 0, o);                                           \
        bool wl_ok_ = wl_s_ && strcmp(wl_s_, want) == 0;                       \
        if (!wl_ok_)                                                           \
            fprintf(stderr, "  got \"%s\"\n", wl_s_ ? wl_s_ : "(null)");       \
        free(wl_s_);                                                           \
        CHECK(wl_ok_);                                                         \
    } while (0)

static void test_logs_full_read_has_both_streams(void)
{
    char c[256];
    ctr(c, sizeof(c), "full");
    append(c, "0.log",
           "2026-11-27T10:00:01.000000000Z stdout F one\n"
           "2026-11-27T10:00:02.000000000Z stderr F two\n"
           "2026-11-27T10:00:03.000000000Z stdout F \n"
           "2026-11-27T10:00:04.000000000Z stdout F three\n");
    char *s = logs(c, 0, all_lines);
    CHECK_STR(s, "one\ntwo\n\nthree\n");
    free(s);
    /* small reads give the same */
    struct wl_error err = WL_ERROR_INIT;
    struct wl_log_reader *r = NULL;
    CHECK_INT(wl_log_reader_open(c, 0, &all_lines, &r, &err), 0);
    s = read_all(r, 1);
    CHECK_STR(s, "one\ntwo\n\nthree\n");
    free(s);
    wl_log_reader_free(r);
}

static void test_logs_partial_records_join_into_one_line(void)
{
    char c[256];
    ctr(c, sizeof(c), "partial");
    append(c, "0.log",
           "2026-11-27T10:00:01.000000000Z stdout P hel\n"
           "2026-11-27T10:00:02.000000000Z stdout P lo \n"
           "2026-11-27T10:00:03.000000000Z stdout F world\n"
           "2026-11-27T10:00:04.000000000Z stderr P no newline\n");
    /* While the run goes on, the last line may go on too: not yet. */
    char *s = logs(c, 0, all_lines);
    CHECK_STR(s, "hello world\n");
    free(s);
    /* The run ended: its unfinished last line. */
    append(c, "0.exit", "{}");
    s = logs(c, 0, all_lines);
    CHECK_STR(s, "hello world\nno newline");
    free(s);
}

static void test_logs_timestamps_start_each_line(void)
{
    char c[256];
    ctr(c, sizeof(c), "timestamps");
    append(c, "0.log",
           "2026-11-27T10:00:01.5Z stdout P hel\n"
           "2026-11-27T10:00:02.000000000Z stdout F lo\n"
           "2026-11-27T12:00:03.000000001+02:00 stderr F x\n");
    struct wl_log_opts o = {.tail_lines = -1, .timestamps = true};
    char *s = logs(c, 0, o);
    CHECK_STR(s, "2026-11-27T10:00:01.500000000Z hello\n"
                 "2026-11-27T10:00:03.000000001Z x\n");
    free(s);
}

static void test_logs_tail_counts_lines_across_a_rotation(void)
{
    char c[256];
    ctr(c, sizeof(c), "tail");
    /* The line "b1b2b3" starts in 0.log.1 and ends in 0.log. */
    append(c, "0.log.2", "2026-11-27T10:00:01.000000000Z stdout F z\n");
    append(c, "0.log.1",
           "2026-11-27T10:00:02.000000000Z stdout F a\n"
           "2026-11-27T10:00:03.000000000Z stdout P b1\n");
    append(c, "0.log",
           "2026-11-27T10:00:04.000000000Z stderr P b2\n"
           "2026-11-27T10:00:05.000000000Z stderr F b3\n"
           "2026-11-27T10:00:06.000000000Z stdout F c\n");
    struct wl_log_opts o = {.tail_lines = 2};
    char *s = logs(c, 0, o);
    CHECK_STR(s, "b1b2b3\nc\n");
    free(s);
    o.tail_lines = 3;
    s = logs(c, 0, o);
    CHECK_STR(s, "a\nb1b2b3\nc\n");
    free(s);
    o.tail_lines = 0;
    s = logs(c, 0, o);
    CHECK_STR(s, "");
    free(s);
    o.tail_lines = 100;
    s = logs(c, 0, o);
    CHECK_STR(s, "z\na\nb1b2b3\nc\n");
    free(s);
    s = logs(c, 0, all_lines);
    CHECK_STR(s, "z\na\nb1b2b3\nc\n");
    free(s);
    /* A line still being written does not count yet; a finished run's
     * unfinished last line counts as one. */
    append(c, "0.log", "2026-11-27T10:00:07.000000000Z stdout P d\n");
    o.tail_lines = 1;
    s = logs(c, 0, o);
    CHECK_STR(s, "c\n");
    free(s);
    append(c, "0.exit", "{}");
    s = logs(c, 0, o);
    CHECK_STR(s, "d");
    free(s);
}

static void test_logs_tail_of_a_big_rotated_log(void)
{
    char c[256], p[300];
    ctr(c, sizeof(c), "tailbig");
    snprintf(p, sizeof(p), "%s/0.log", c);
    struct wl_error err = WL_ERROR_INIT;
    struct wl_cri_log *l = NULL;
    struct wl_cri_log_opts ro = {.max_size = 100 * 1024, .max_files = 4};
    CHECK_INT(wl_cri_log_open(p, &ro, &l, &err), 0);
    for (int i = 0; i < 20000; i++) {
        char line[64];
        int n = snprintf(line, sizeof(line), "line %05d\n", i);
        wl_cri_log_write(l, WL_CRI_STDOUT, (const unsigned char *)line,
                         (size_t)n);
    }
    wl_cri_log_close(l);
    snprintf(p, sizeof(p), "%s/0.log.3", c);
    CHECK(access(p, F_OK) == 0);
    struct wl_log_opts o = {.tail_lines = 3};
    char *s = logs(c, 0, o);
    CHECK_STR(s, "line 19997\nline 19998\nline 19999\n");
    free(s);
    /* More lines than the live file holds: they come from 0.log.1. */
    o.tail_lines = 5000;
    s = logs(c, 0, o);
    CHECK(s && strncmp(s, "line 15000\n", 11) == 0);
    CHECK(s && strlen(s) == 5000 * 11);
    free(s);
}

static void test_logs_since_then_tail(void)
{
    char c[256];
    ctr(c, sizeof(c), "since");
    append(c, "0.log",
           "2026-11-27T10:00:01.000000000Z stdout F one\n"
           "2026-11-27T10:00:02.000000000Z stdout F two\n"
           "2026-11-27T10:00:03.000000000Z stdout F three\n");
    struct wl_log_opts o = {.tail_lines = -1, .since_ns = (T0 + 2) * NS};
    char *s = logs(c, 0, o);
    CHECK_STR(s, "two\nthree\n");
    free(s);
    o.since_ns = (T0 + 2) * NS + 1;
    s = logs(c, 0, o);
    CHECK_STR(s, "three\n");
    free(s);
    o.since_ns = (T0 + 2) * NS;
    o.tail_lines = 1;
    s = logs(c, 0, o);
    CHECK_STR(s, "three\n");
    free(s);
    o.tail_lines = 5;
    s = logs(c, 0, o);
    CHECK_STR(s, "two\nthree\n");
    free(s);
    o.since_ns = (T0 + 10) * NS;
    s = logs(c, 0, o);
    CHECK_STR(s, "");
    free(s);
}

static void test_logs_limit_bytes_cuts_exactly(void)
{
    char c[256];
    ctr(c, sizeof(c), "limit");
    append(c, "0.log",
           "2026-11-27T10:00:01.000000000Z stdout F hello\n"
           "2026-11-27T10:00:02.000000000Z stdout F world\n");
    struct wl_log_opts o = {.tail_lines = -1, .limit_bytes = 8};
    char *s = logs(c, 0, o);
    CHECK_STR(s, "hello\nwo");
    free(s);
    o.limit_bytes = 12;
    s = logs(c, 0, o);
    CHECK_STR(s, "hello\nworld\n");
    free(s);
    /* with follow too: the limit ends it */
    o.follow = true;
    o.limit_bytes = 3;
    s = logs(c, 0, o);
    CHECK_STR(s, "hel");
    free(s);
}

static void test_logs_malformed_lines_pass_through(void)
{
    char c[256];
    ctr(c, sizeof(c), "malformed");
    append(c, "0.log",
           "garbage\n"
           "\n"
           "2026-11-27T10:00:01.000000000Z stdout F ok\n"
           "2026-13-27T10:00:01.000000000Z stdout F bad month\n"
           "2026-11-27T10:00:02.000000000Z stdout\n"
           "torn at the end");
    /* The torn end is a record still being written, or never finished:
     * not shown. */
    char *s = logs(c, 0, all_lines);
    CHECK_STR(s, "garbage\n\nok\n2026-13-27T10:00:01.000000000Z stdout F bad "
                 "month\n2026-11-27T10:00:02.000000000Z stdout\n");
    free(s);
    struct wl_log_opts o = {.tail_lines = 2};
    s = logs(c, 0, o);
    CHECK_STR(s, "2026-13-27T10:00:01.000000000Z stdout F bad month\n"
                 "2026-11-27T10:00:02.000000000Z stdout\n");
    free(s);

    /* A line with no end: passed on in pieces, all of it. */
    ctr(c, sizeof(c), "huge");
    size_t n = 200 * 1024;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = '\0';
    append(c, "0.log", big);
    append(c, "0.log", "\n2026-11-27T10:00:01.000000000Z stdout F after\n");
    s = logs(c, 0, all_lines);
    CHECK(s && strlen(s) == n + 1 + 6);
    CHECK(s && strncmp(s, big, n) == 0 && strcmp(s + n, "\nafter\n") == 0);
    free(s);
    free(big);
}

static void test_logs_record_being_written_is_left_out_until_whole(void)
{
    char c[256];
    ctr(c, sizeof(c), "writing");
    /* A write() seen in the middle: the second record has no end yet. */
    append(c, "0.log",
           "2026-11-27T10:00:01.000000000Z stdout F one\n"
           "2026-11-27T10:00:02.0000");
    CHECK_LOGS(c, all_lines, "one\n");
    struct wl_log_opts o = {.tail_lines = 1};
    CHECK_LOGS(c, o, "one\n");
    /* A follower gets it whole once it is. */
    struct wl_error err = WL_ERROR_INIT;
    struct wl_log_reader *r = NULL;
    struct wl_log_opts f = {.follow = true, .tail_lines = -1};
    CHECK_INT(wl_log_reader_open(c, 0, &f, &r, &err), 0);
    char buf[256];
    CHECK_INT(wl_log_reader_read(r, buf, sizeof(buf), 1000, -1), 4);
    CHECK(memcmp(buf, "one\n", 4) == 0);
    CHECK_INT(wl_log_reader_read(r, buf, sizeof(buf), 20, -1), -2);
    append(c, "0.log", "00000Z stdout F two\n");
    CHECK_INT(wl_log_reader_read(r, buf, sizeof(buf), 1000, -1), 4);
    CHECK(memcmp(buf, "two\n", 4) == 0);
    wl_log_reader_free(r);
}

static void test_logs_torn_end_of_a_rotated_file_is_dropped(void)
{
    char c[256];
    ctr(c, sizeof(c), "torn-rotated");
    append(c, "0.log.1",
           "2026-11-27T10:00:01.000000000Z stdout F a\n"
           "2026-11-27T10:00:02.000000000Z std");
    append(c, "0.log",
           "2026-11-27T10:00:03.000000000Z stdout F b\n"
           "2026-11-27T10:00:04.000000000Z stdout F c\n");
    CHECK_LOGS(c, all_lines, "a\nb\nc\n");
    struct wl_log_opts o = {.tail_lines = 3};
    CHECK_LOGS(c, o, "a\nb\nc\n");
}

static void test_logs_line_being_split_is_not_shown_until_it_ends(void)
{
    char c[256];
    ctr(c, sizeof(c), "splitting");
    /* The writer is splitting a long line; its start is in 0.log.1. */
    append(c, "0.log.1",
           "2026-11-27T10:00:01.000000000Z stdout F a\n"
           "2026-11-27T10:00:02.000000000Z stdout P b1\n");
    append(c, "0.log", "2026-11-27T10:00:03.000000000Z stdout P b2\n");
    CHECK_LOGS(c, all_lines, "a\n");
    struct wl_log_opts o = {.tail_lines = 1};
    CHECK_LOGS(c, o, "a\n");
    /* A follower waits for the line's end, then has it whole. */
    struct wl_error err = WL_ERROR_INIT;
    struct wl_log_reader *r = NULL;
    struct wl_log_opts f = {.follow = true, .tail_lines = 0};
    CHECK_INT(wl_log_reader_open(c, 0, &f, &r, &err), 0);
    /* b1 is in a file that will not grow: it may come at once, as the
     * start of the line. The rest waits for the line's end. */
    char buf[256];
    size_t got = 0;
    ssize_t n;
    while ((n = wl_log_reader_read(r, buf + got, sizeof(buf) - got, 20, -1)) >
           0)
        got += (size_t)n;
    CHECK_INT(n, -2);
    append(c, "0.log", "2026-11-27T10:00:04.000000000Z stdout P b3\n");
    while ((n = wl_log_reader_read(r, buf + got, sizeof(buf) - got, 20, -1)) >
           0)
        got += (size_t)n;
    CHECK_INT(n, -2);
    CHECK(got == 0 || (got == 2 && memcmp(buf, "b1", 2) == 0));
    append(c, "0.log", "2026-11-27T10:00:05.000000000Z stdout F b4\n");
    while (got < 9 && (n = wl_log_reader_read(r, buf + got, sizeof(buf) - got,
                                              1000, -1)) > 0)
        got += (size_t)n;
    CHECK_INT(got, 9);
    CHECK(memcmp(buf, "b1b2b3b4\n", 9) == 0);
    wl_log_reader_free(r);
}

static void test_logs_without_follow_shows_the_log_as_it_was_at_the_open(void)
{
    char c[256];
    ctr(c, sizeof(c), "snapshot");
    append(c, "0.log", "2026-11-27T10:00:01.000000000Z stdout F one\n");
    struct wl_error err = WL_ERROR_INIT;
    struct wl_log_reader *r = NULL;
    struct wl_log_opts o = {.tail_lines = 1};
    CHECK_INT(wl_log_reader_open(c, 0, &o, &r, &err), 0);
    append(c, "0.log", "2026-11-27T10:00:02.000000000Z stdout F two\n");
    char *s = read_all(r, 4096);
    CHECK_STR(s, "one\n");
    free(s);
    wl_log_reader_free(r);
}

static void test_logs_since_never_cuts_a_line(void)
{
    char c[256];
    ctr(c, sizeof(c), "since-whole");
    append(c, "0.log",
           "2026-11-27T10:00:01.000000000Z stdout F one\n"
           "2026-11-27T10:00:02.000000000Z stdout P t\n"
           "2026-11-27T10:00:04.000000000Z stdout F wo\n"
           "2026-11-27T10:00:05.000000000Z stdout F three\n");
    /* "two" ends after since: all of it, P record included. */
    struct wl_log_opts o = {.tail_lines = -1, .since_ns = (T0 + 3) * NS};
    CHECK_LOGS(c, o, "two\nthree\n");
    o.tail_lines = 1;
    CHECK_LOGS(c, o, "three\n");
}

static void test_logs_open_steps_over_a_name_being_rotated(void)
{
    char c[256];
    ctr(c, sizeof(c), "shifting");
    /* Mid-rotation: 0.log.1 was renamed to 0.log.2, 0.log not yet linked
     * as 0.log.1 (or a crash there). */
    append(c, "0.log.3", "2026-11-27T10:00:01.000000000Z stdout F a\n");
    append(c, "0.log.2", "2026-11-27T10:00:02.000000000Z stdout F b\n");
    append(c, "0.log", "2026-11-27T10:00:03.000000000Z stdout F c\n");
    CHECK_LOGS(c, all_lines, "a\nb\nc\n");
    struct wl_log_opts o = {.tail_lines = 2};
    CHECK_LOGS(c, o, "b\nc\n");
}

static void test_logs_missing_log_is_an_error(void)
{
    char c[256];
    ctr(c, sizeof(c), "missing");
    struct wl_error err = WL_ERROR_INIT;
    struct wl_log_reader *r = NULL;
    CHECK_INT(wl_log_reader_open(c, 0, &all_lines, &r, &err), -1);
    CHECK_INT(err.errnum, ENOENT);
    CHECK_CONTAINS(err.msg, "/missing/0.log");
    wl_error_clear(&err);
    struct wl_log_opts f = {.follow = true, .tail_lines = -1};
    CHECK_INT(wl_log_reader_open(c, 0, &f, &r, &err), -1);
    CHECK_INT(err.errnum, ENOENT);
    wl_error_clear(&err);
    CHECK_INT(wl_log_reader_open("/nonexistent/wl-ctr", 0, &f, &r, &err), -1);
    CHECK_INT(err.errnum, ENOENT);
    wl_error_clear(&err);
}

/* ---- follow ---- */

struct writer {
    char path[300];
    int delay_ms;
    _Atomic double wrote_at; /* just before the write */
};

static void *append_later(void *arg)
{
    struct writer *w = arg;
    usleep((useconds_t)w->delay_ms * 1000);
    struct wl_error err = WL_ERROR_INIT;
    struct wl_cri_log *l = NULL;
    if (wl_cri_log_open(w->path, NULL, &l, &err) < 0)
        return NULL;
    w->wrote_at = now_ms();
    wl_cri_log_write(l, WL_CRI_STDOUT, (const unsigned char *)"late\n", 5);
    wl_cri_log_close(l);
    return NULL;
}

static void test_logs_follow_sees_an_append_quickly(void)
{
    char c[256];
    ctr(c, sizeof(c), "follow");
    append(c, "0.log", "2026-11-27T10:00:01.000000000Z stdout F early\n");
    struct wl_error err = WL_ERROR_INIT;
    struct wl_log_reader *r = NULL;
    struct wl_log_opts o = {.follow = true, .tail_lines = -1};
    CHECK_INT(wl_log_reader_open(c, 0, &o, &r, &err), 0);
    char buf[256];
    CHECK_INT(wl_log_reader_read(r, buf, sizeof(buf), 1000, -1), 6);
    CHECK(memcmp(buf, "early\n", 6) == 0);
    /* nothing yet */
    CHECK_INT(wl_log_reader_read(r, buf, sizeof(buf), 20, -1), -2);

    struct writer w = {.delay_ms = 50};
    snprintf(w.path, sizeof(w.path), "%s/0.log", c);
    pthread_t t;
    pthread_create(&t, NULL, append_later, &w);
    ssize_t n;
    while ((n = wl_log_reader_read(r, buf, sizeof(buf), 2000, -1)) == -2)
        ;
    double latency = now_ms() - w.wrote_at;
    pthread_join(t, NULL);
    CHECK_INT(n, 5);
    CHECK(memcmp(buf, "late\n", 5) == 0);
    if (latency >= 100)
        WL_FAIL("latency %.1f ms", latency);
    wl_log_reader_free(r);
}

static void test_logs_follow_stops_when_the_client_goes(void)
{
    char c[256];
    ctr(c, sizeof(c), "client");
    append(c, "0.log", "2026-11-27T10:00:01.000000000Z stdout F x\n");
    struct wl_error err = WL_ERROR_INIT;
    struct wl_log_reader *r = NULL;
    struct wl_log_opts o = {.follow = true, .tail_lines = 0};
    CHECK_INT(wl_log_reader_open(c, 0, &o, &r, &err), 0);
    int sv[2];
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    char buf[64];
    CHECK_INT(wl_log_reader_read(r, buf, sizeof(buf), 20, sv[0]), -2);
    close(sv[1]);
    double t0 = now_ms();
    CHECK_INT(wl_log_reader_read(r, buf, sizeof(buf), 5000, sv[0]), 0);
    CHECK(now_ms() - t0 < 1000);
    close(sv[0]);
    wl_log_reader_free(r);
}

struct ender {
    char dir[256];
    int how; /* 0: n.exit, 1: (n+1).log, 2: rm -rf the dir */
};

static void *end_later(void *arg)
{
    struct ender *e = arg;
    usleep(50 * 1000);
    struct wl_error err = WL_ERROR_INIT;
    if (e->how == 2) {
        wl_remove_tree(e->dir, &err);
        wl_error_clear(&err);
        return NULL;
    }
    append(e->dir, "0.log", "2026-11-27T10:00:02.000000000Z stdout F last\n");
    if (e->how == 0)
        append(e->dir, "0.exit", "{}");
    else
        append(e->dir, "1.log", "");
    return NULL;
}

static void follow_until_end(int how, const char *name, const char *want)
{
    struct ender e = {.how = how};
    ctr(e.dir, sizeof(e.dir), name);
    append(e.dir, "0.log", "2026-11-27T10:00:01.000000000Z stdout F first\n");
    struct wl_error err = WL_ERROR_INIT;
    struct wl_log_reader *r = NULL;
    struct wl_log_opts o = {.follow = true, .tail_lines = -1};
    CHECK_INT(wl_log_reader_open(e.dir, 0, &o, &r, &err), 0);
    pthread_t t;
    double t0 = now_ms();
    pthread_create(&t, NULL, end_later, &e);
    char *s = read_all(r, 4096);
    double took = now_ms() - t0;
    pthread_join(t, NULL);
    CHECK_STR(s, want);
    free(s);
    wl_log_reader_free(r);
    if (took > 1000)
        WL_FAIL("took %.0f ms to end", took);
}

static void test_logs_follow_ends_when_the_run_exits(void)
{
    follow_until_end(0, "exit", "first\nlast\n");
}

static void test_logs_follow_ends_when_the_next_run_starts(void)
{
    follow_until_end(1, "next", "first\nlast\n");
}

static void test_logs_follow_ends_when_the_dir_is_removed(void)
{
    follow_until_end(2, "removed", "first\n");
}

static void test_logs_follow_of_an_ended_run_reads_it_all(void)
{
    char c[256];
    ctr(c, sizeof(c), "ended");
    append(c, "0.log", "2026-11-27T10:00:01.000000000Z stdout F a\n");
    append(c, "1.log", "2026-11-27T10:00:02.000000000Z stdout F b\n");
    struct wl_log_opts o = {.follow = true, .tail_lines = -1};
    double t0 = now_ms();
    char *s = logs(c, 0, o);
    CHECK_STR(s, "a\n");
    free(s);
    CHECK(now_ms() - t0 < 100);
}

#define ROT_LINES 3000

static void *write_rotating(void *arg)
{
    const char *c = arg;
    char p[300];
    snprintf(p, sizeof(p), "%s/0.log", c);
    struct wl_error err = WL_ERROR_INIT;
    struct wl_cri_log *l = NULL;
    struct wl_cri_log_opts ro = {.max_size = 2000, .max_files = 10000};
    if (wl_cri_log_open(p, &ro, &l, &err) < 0)
        return NULL;
    for (int i = 0; i < ROT_LINES; i++) {
        char line[32];
        int n = snprintf(line, sizeof(line), "line %05d\n", i);
        wl_cri_log_write(l, WL_CRI_STDOUT, (const unsigned char *)line,
                         (size_t)n);
        if (i % 100 == 0)
            usleep(1000);
    }
    /* A final unfinished line, flushed by close. */
    wl_cri_log_write(l, WL_CRI_STDOUT, (const unsigned char *)"end", 3);
    wl_cri_log_close(l);
    append(c, "0.exit", "{}");
    return NULL;
}

static void test_logs_follow_across_rotations_loses_nothing(void)
{
    char c[256], p[300];
    ctr(c, sizeof(c), "rotfollow");
    snprintf(p, sizeof(p), "%s/0.log", c);
    append(c, "0.log", "");
    struct wl_error err = WL_ERROR_INIT;
    struct wl_log_reader *r = NULL;
    struct wl_log_opts o = {.follow = true, .tail_lines = -1};
    CHECK_INT(wl_log_reader_open(c, 0, &o, &r, &err), 0);
    pthread_t t;
    pthread_create(&t, NULL, write_rotating, c);
    char *s = read_all(r, 100);
    pthread_join(t, NULL);
    wl_log_reader_free(r);
    snprintf(p, sizeof(p), "%s/0.log.20", c);
    CHECK(access(p, F_OK) == 0); /* it did rotate, often */
    CHECK(s != NULL);
    const char *q = s;
    for (int i = 0; i < ROT_LINES; i++) {
        char want[16];
        snprintf(want, sizeof(want), "line %05d\n", i);
        if (strncmp(q, want, 11) != 0) {
            free(s);
            WL_FAIL("line %d missing or out of order", i);
        }
        q += 11;
    }
    CHECK_STR(q, "end");
    free(s);
}

static void test_setup(void)
{
    wl_test_tmpdir(dir);
}

WL_TEST_MAIN(WL_T(test_setup), WL_T(test_logs_full_read_has_both_streams),
             WL_T(test_logs_partial_records_join_into_one_line),
             WL_T(test_logs_timestamps_start_each_line),
             WL_T(test_logs_tail_counts_lines_across_a_rotation),
             WL_T(test_logs_tail_of_a_big_rotated_log),
             WL_T(test_logs_since_then_tail),
             WL_T(test_logs_limit_bytes_cuts_exactly),
             WL_T(test_logs_malformed_lines_pass_through),
             WL_T(test_logs_record_being_written_is_left_out_until_whole),
             WL_T(test_logs_torn_end_of_a_rotated_file_is_dropped),
             WL_T(test_logs_line_being_split_is_not_shown_until_it_ends),
             WL_T(test_logs_without_follow_shows_the_log_as_it_was_at_the_open),
             WL_T(test_logs_since_never_cuts_a_line),
             WL_T(test_logs_open_steps_over_a_name_being_rotated),
             WL_T(test_logs_missing_log_is_an_error),
             WL_T(test_logs_follow_sees_an_append_quickly),
             WL_T(test_logs_follow_stops_when_the_client_goes),
             WL_T(test_logs_follow_ends_when_the_run_exits),
             WL_T(test_logs_follow_ends_when_the_next_run_starts),
             WL_T(test_logs_follow_ends_when_the_dir_is_removed),
             WL_T(test_logs_follow_of_an_ended_run_reads_it_all),
             WL_T(test_logs_follow_across_rotations_loses_nothing))
