/* CRI log files: the record format, partial lines, long lines, writers
 * on several threads (this test runs under TSan in CI), size-based
 * rotation and the record parser. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/crilog.h"
#include "test.h"
#include "util/fileio.h"

static char path[] = "/tmp/wl-test-crilog-XXXXXX";
static char dir[] = "/tmp/wl-test-crilog-rot-XXXXXX";

static char *read_all(const char *p)
{
    struct wl_error err = WL_ERROR_INIT;
    uint8_t *data = NULL;
    size_t len = 0;
    if (wl_file_read(AT_FDCWD, p, 64 << 20, &data, &len, &err) < 0) {
        wl_error_clear(&err);
        return strdup("");
    }
    return (char *)data;
}

static char *contents(void)
{
    return read_all(path);
}

/* Drops the timestamps: "stdout F x\n..." */
static char *strip_times(const char *s)
{
    char *out = calloc(1, strlen(s) + 1);
    char *o = out;
    for (const char *line = s; *line;) {
        const char *sp = strchr(line, ' ');
        const char *nl = strchr(line, '\n');
        if (!sp || !nl)
            break;
        memcpy(o, sp + 1, (size_t)(nl - sp));
        o += nl - sp;
        line = nl + 1;
    }
    return out;
}

static void test_crilog_lines_and_partial_flush(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_cri_log *l = NULL;
    int fd = mkstemp(path);
    close(fd);
    CHECK_INT(wl_cri_log_open(path, NULL, &l, &err), 0);
    const char out[] = "one\ntw";
    const char errs[] = "oops\n";
    CHECK_INT(wl_cri_log_write(l, WL_CRI_STDOUT, (const unsigned char *)out,
                               strlen(out)),
              (long)strlen(out));
    CHECK_INT(wl_cri_log_write(l, WL_CRI_STDERR, (const unsigned char *)errs,
                               strlen(errs)),
              (long)strlen(errs));
    CHECK_INT(wl_cri_log_write(l, WL_CRI_STDOUT, (const unsigned char *)"o",
                               1),
              1);
    wl_cri_log_close(l);
    char *raw = contents();
    CHECK(strncmp(raw, "20", 2) == 0 && raw[10] == 'T' && raw[29] == 'Z');
    char *s = strip_times(raw);
    CHECK_STR(s, "stdout F one\nstderr F oops\nstdout P two\n");
    free(s);
    free(raw);
    unlink(path);
}

static void test_crilog_splits_long_lines(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_cri_log *l = NULL;
    strcpy(path + strlen(path) - 6, "XXXXXX");
    int fd = mkstemp(path);
    close(fd);
    CHECK_INT(wl_cri_log_open(path, NULL, &l, &err), 0);
    size_t n = WL_CRI_MAX_LINE + 10;
    unsigned char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = '\n';
    wl_cri_log_write(l, WL_CRI_STDOUT, big, n + 1);
    free(big);
    wl_cri_log_close(l);
    char *raw = contents();
    char *s = strip_times(raw);
    CHECK(strncmp(s, "stdout P xxx", 12) == 0);
    CHECK(strstr(s, "\nstdout F xxxxxxxxxx\n") != NULL);
    free(s);
    free(raw);
    unlink(path);
}

static void *spam(void *arg)
{
    struct wl_cri_log *l = arg;
    for (int i = 0; i < 2000; i++)
        wl_cri_log_write(l, i % 2 ? WL_CRI_STDERR : WL_CRI_STDOUT,
                         (const unsigned char *)"line\n", 5);
    return NULL;
}

static void test_crilog_concurrent_writers_keep_whole_records(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_cri_log *l = NULL;
    strcpy(path + strlen(path) - 6, "XXXXXX");
    int fd = mkstemp(path);
    close(fd);
    CHECK_INT(wl_cri_log_open(path, NULL, &l, &err), 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, spam, l);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    wl_cri_log_close(l);
    char *raw = contents();
    char *s = strip_times(raw);
    int lines = 0;
    for (char *p = s; (p = strstr(p, " F line\n")); p++)
        lines++;
    CHECK_INT(lines, 8000);
    free(s);
    free(raw);
    unlink(path);
}

/* A fresh log path in the scratch dir for each rotation test. */
static void fresh_log(char *p, size_t n, const char *name)
{
    snprintf(p, n, "%s/%s", dir, name);
}

static long long file_size(const char *base, int k)
{
    char p[320];
    struct stat st;
    if (k)
        snprintf(p, sizeof(p), "%s.%d", base, k);
    else
        snprintf(p, sizeof(p), "%s", base);
    return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

/* path.k, …, path.1, path concatenated: the whole log, oldest first. */
static char *concat_rotated(const char *base)
{
    size_t cap = 1, len = 0;
    char *all = calloc(1, cap);
    int k = 1;
    while (file_size(base, k) >= 0)
        k++;
    for (k--; k >= 0; k--) {
        char p[320];
        if (k)
            snprintf(p, sizeof(p), "%s.%d", base, k);
        else
            snprintf(p, sizeof(p), "%s", base);
        char *c = read_all(p);
        size_t n = strlen(c);
        all = realloc(all, cap + n);
        cap += n;
        memcpy(all + len, c, n + 1);
        len += n;
        free(c);
    }
    return all;
}

/* Every line of s is a whole record: it parses and s ends with '\n'. */
static int all_records_whole(const char *s)
{
    size_t n = strlen(s);
    if (n && s[n - 1] != '\n')
        return 0;
    for (const char *line = s; *line;) {
        const char *nl = strchr(line, '\n');
        struct wl_cri_line rec;
        if (wl_cri_parse_line(line, (size_t)(nl - line), &rec) < 0)
            return 0;
        line = nl + 1;
    }
    return 1;
}

static void write_numbered(struct wl_cri_log *l, int from, int to)
{
    for (int i = from; i < to; i++) {
        char line[32];
        int n = snprintf(line, sizeof(line), "line %04d\n", i);
        wl_cri_log_write(l, WL_CRI_STDOUT, (const unsigned char *)line,
                         (size_t)n);
    }
}

/* A record is 50 bytes: 30 of time, " stdout F ", "line 0001\n". */
#define REC 50

static void test_crilog_rotates_when_a_record_would_pass_max_size(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_cri_log *l = NULL;
    char p[256];
    fresh_log(p, sizeof(p), "at-size.log");
    struct wl_cri_log_opts opts = {.max_size = 3 * REC + 25, .max_files = 10};
    CHECK_INT(wl_cri_log_open(p, &opts, &l, &err), 0);
    write_numbered(l, 0, 3);
    CHECK_INT(file_size(p, 0), 3 * REC);
    CHECK_INT(file_size(p, 1), -1);
    write_numbered(l, 3, 7);
    wl_cri_log_close(l);
    CHECK_INT(file_size(p, 2), 3 * REC);
    CHECK_INT(file_size(p, 1), 3 * REC);
    CHECK_INT(file_size(p, 0), REC);
    CHECK_INT(file_size(p, 3), -1);
    char *s = read_all(p);
    CHECK_CONTAINS(s, " stdout F line 0006\n");
    free(s);
}

static void test_crilog_rotation_keeps_max_files(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_cri_log *l = NULL;
    char p[256];
    fresh_log(p, sizeof(p), "bounded.log");
    struct wl_cri_log_opts opts = {.max_size = 2 * REC, .max_files = 3};
    CHECK_INT(wl_cri_log_open(p, &opts, &l, &err), 0);
    write_numbered(l, 0, 40);
    wl_cri_log_close(l);
    CHECK_INT(file_size(p, 0), 2 * REC);
    CHECK_INT(file_size(p, 1), 2 * REC);
    CHECK_INT(file_size(p, 2), 2 * REC);
    CHECK_INT(file_size(p, 3), -1);
    /* The newest six records, in order, nothing else. */
    char *all = concat_rotated(p);
    char *s = strip_times(all);
    CHECK_STR(s, "stdout F line 0034\nstdout F line 0035\n"
                 "stdout F line 0036\nstdout F line 0037\n"
                 "stdout F line 0038\nstdout F line 0039\n");
    free(s);
    free(all);

    /* max_files 2: the live file and path.1. */
    fresh_log(p, sizeof(p), "two.log");
    opts.max_files = 2;
    CHECK_INT(wl_cri_log_open(p, &opts, &l, &err), 0);
    write_numbered(l, 0, 9);
    wl_cri_log_close(l);
    CHECK_INT(file_size(p, 0), REC);
    CHECK_INT(file_size(p, 1), 2 * REC);
    CHECK_INT(file_size(p, 2), -1);
}

static void test_crilog_big_record_gets_a_file_of_its_own(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_cri_log *l = NULL;
    char p[256];
    fresh_log(p, sizeof(p), "big.log");
    struct wl_cri_log_opts opts = {.max_size = 100, .max_files = 5};
    CHECK_INT(wl_cri_log_open(p, &opts, &l, &err), 0);
    write_numbered(l, 0, 1);
    unsigned char big[301];
    memset(big, 'b', 300);
    big[300] = '\n';
    wl_cri_log_write(l, WL_CRI_STDERR, big, sizeof(big));
    write_numbered(l, 1, 2);
    wl_cri_log_close(l);
    CHECK_INT(file_size(p, 2), REC);
    CHECK_INT(file_size(p, 1), 40 + 301);
    CHECK_INT(file_size(p, 0), REC);
}

static void test_crilog_rotation_keeps_a_split_line_in_one_file(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_cri_log *l = NULL;
    char p[256];
    fresh_log(p, sizeof(p), "split.log");
    struct wl_cri_log_opts opts = {.max_size = 20000, .max_files = 10};
    CHECK_INT(wl_cri_log_open(p, &opts, &l, &err), 0);
    write_numbered(l, 0, 1);
    /* P, P, F: 16425 + 16425 + 51 bytes. The second P passes max_size,
     * yet stays with the first, or the line's start could be dropped
     * with 0.log.1 while its end lives on. */
    size_t n = 2 * WL_CRI_MAX_LINE + 10;
    unsigned char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = '\n';
    wl_cri_log_write(l, WL_CRI_STDOUT, big, n + 1);
    write_numbered(l, 1, 2);
    CHECK_INT(file_size(p, 1), REC + 2 * (40 + WL_CRI_MAX_LINE + 1) + 51);
    CHECK_INT(file_size(p, 0), REC);
    /* Not beyond twice max_size: a line without end is split then. */
    size_t huge = 6 * WL_CRI_MAX_LINE;
    big = realloc(big, huge);
    memset(big, 'y', huge);
    wl_cri_log_write(l, WL_CRI_STDERR, big, huge);
    wl_cri_log_close(l);
    free(big);
    for (int k = 0; k < 5; k++)
        CHECK(file_size(p, k) <= 2 * opts.max_size);
    CHECK(file_size(p, 3) > 0);
}

static void test_crilog_appending_to_a_full_file_rotates(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_cri_log *l = NULL;
    char p[256];
    fresh_log(p, sizeof(p), "reopen.log");
    struct wl_cri_log_opts opts = {.max_size = 2 * REC, .max_files = 4};
    CHECK_INT(wl_cri_log_open(p, &opts, &l, &err), 0);
    write_numbered(l, 0, 2);
    wl_cri_log_close(l);
    CHECK_INT(wl_cri_log_open(p, &opts, &l, &err), 0);
    write_numbered(l, 2, 3);
    wl_cri_log_close(l);
    CHECK_INT(file_size(p, 1), 2 * REC);
    CHECK_INT(file_size(p, 0), REC);
}

static void test_crilog_rejects_bad_rotation_opts(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_cri_log *l = NULL;
    char p[256];
    fresh_log(p, sizeof(p), "bad.log");
    struct wl_cri_log_opts one = {.max_size = 100, .max_files = 1};
    CHECK_INT(wl_cri_log_open(p, &one, &l, &err), -1);
    CHECK_INT(err.errnum, EINVAL);
    wl_error_clear(&err);
    struct wl_cri_log_opts neg = {.max_size = -1, .max_files = 3};
    CHECK_INT(wl_cri_log_open(p, &neg, &l, &err), -1);
    wl_error_clear(&err);
    /* max_size 0 never rotates, whatever max_files says */
    struct wl_cri_log_opts off = {.max_size = 0, .max_files = 0};
    CHECK_INT(wl_cri_log_open(p, &off, &l, &err), 0);
    write_numbered(l, 0, 100);
    wl_cri_log_close(l);
    CHECK_INT(file_size(p, 0), 100 * REC);
    CHECK_INT(file_size(p, 1), -1);
}

static void test_crilog_rotation_with_concurrent_writers_loses_nothing(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_cri_log *l = NULL;
    char p[256];
    fresh_log(p, sizeof(p), "threads.log");
    /* Enough files that nothing is dropped. */
    struct wl_cri_log_opts opts = {.max_size = 4096, .max_files = 1000};
    CHECK_INT(wl_cri_log_open(p, &opts, &l, &err), 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, spam, l);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    wl_cri_log_close(l);
    CHECK(file_size(p, 1) > 0);
    for (int k = 0; file_size(p, k) >= 0; k++)
        CHECK(file_size(p, k) <= 4096);
    char *all = concat_rotated(p);
    CHECK(all_records_whole(all));
    char *s = strip_times(all);
    int lines = 0;
    for (char *q = s; (q = strstr(q, " F line\n")); q++)
        lines++;
    CHECK_INT(lines, 8000);
    free(s);
    free(all);
}

static void test_crilog_rotation_keeps_records_in_order(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_cri_log *l = NULL;
    char p[256];
    fresh_log(p, sizeof(p), "order.log");
    struct wl_cri_log_opts opts = {.max_size = 7 * REC + 3, .max_files = 100};
    CHECK_INT(wl_cri_log_open(p, &opts, &l, &err), 0);
    write_numbered(l, 0, 500);
    wl_cri_log_close(l);
    char *all = concat_rotated(p);
    CHECK(all_records_whole(all));
    char *s = strip_times(all);
    const char *q = s;
    for (int i = 0; i < 500; i++) {
        char want[40];
        snprintf(want, sizeof(want), "stdout F line %04d\n", i);
        if (strncmp(q, want, strlen(want)) != 0) {
            free(s);
            free(all);
            WL_FAIL("record %d missing or out of order", i);
        }
        q += strlen(want);
    }
    CHECK(*q == '\0');
    free(s);
    free(all);
}

static void test_cri_parse_line(void)
{
    struct wl_cri_line rec;
    const char ok[] = "2026-11-27T10:00:00.123456789Z stderr P the start\n";
    CHECK_INT(wl_cri_parse_line(ok, strlen(ok), &rec), 0);
    CHECK_INT(rec.time_ns, 1795773600123456789LL);
    CHECK_INT(rec.stream, WL_CRI_STDERR);
    CHECK(rec.partial);
    CHECK_INT(rec.text_len, 9);
    CHECK(memcmp(rec.text, "the start", 9) == 0);

    const char off[] = "2026-11-27T12:00:00.5+02:00 stdout F:x:y ";
    CHECK_INT(wl_cri_parse_line(off, strlen(off), &rec), 0);
    CHECK_INT(rec.time_ns, 1795773600500000000LL);
    CHECK(!rec.partial);
    CHECK_INT(rec.text_len, 0);

    static const char *const bad[] = {
        "",
        "hello world",
        "2026-11-27T10:00:00Z stdout F",
        "2026-11-27T10:00:00Z stdin F x",
        "2026-11-27T10:00:00Z stdout X x",
        "2026-11-27T10:00:00Z stdout FP x",
        "2026-13-27T10:00:00Z stdout F x",
        "2026-02-30T10:00:00Z stdout F x",
        "2026-11-27T10:00:00.Z stdout F x",
        "2026-11-27T10:00:00.1234567890Z stdout F x",
        "2026-11-27T10:00:00 stdout F x",
        "2026-11-27 10:00:00Z stdout F x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (wl_cri_parse_line(bad[i], strlen(bad[i]), &rec) != -1)
            WL_FAIL("parsed \"%s\"", bad[i]);
    /* Times past 2262 still parse, clamped. */
    const char far[] = "9999-12-31T23:59:59Z stdout F x";
    CHECK_INT(wl_cri_parse_line(far, strlen(far), &rec), 0);
    CHECK(rec.time_ns == INT64_MAX);
}

static void test_setup(void)
{
    wl_test_tmpdir(dir);
}

WL_TEST_MAIN(WL_T(test_setup), WL_T(test_crilog_lines_and_partial_flush),
             WL_T(test_crilog_splits_long_lines),
             WL_T(test_crilog_concurrent_writers_keep_whole_records),
             WL_T(test_crilog_rotates_when_a_record_would_pass_max_size),
             WL_T(test_crilog_rotation_keeps_max_files),
             WL_T(test_crilog_big_record_gets_a_file_of_its_own),
             WL_T(test_crilog_rotation_keeps_a_split_line_in_one_file),
             WL_T(test_crilog_appending_to_a_full_file_rotates),
             WL_T(test_crilog_rejects_bad_rotation_opts),
             WL_T(test_crilog_rotation_with_concurrent_writers_loses_nothing),
             WL_T(test_crilog_rotation_keeps_records_in_order),
             WL_T(test_cri_parse_line))
