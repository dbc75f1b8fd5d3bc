/* CRI log files: the record format, partial lines, long lines, and
 * writers on several threads (this test runs under TSan in CI). */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/crilog.h"
#include "test.h"
#include "util/fileio.h"

static char path[] = "/tmp/wl-test-crilog-XXXXXX";

static char *contents(void)
{
    struct wl_error err = WL_ERROR_INIT;
    uint8_t *data = NULL;
    size_t len = 0;
    if (wl_file_read(AT_FDCWD, path, 64 << 20, &data, &len, &err) < 0) {
        wl_error_clear(&err);
        return strdup("");
    }
    return (char *)data;
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
    CHECK_INT(wl_cri_log_open(path, &l, &err), 0);
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
    CHECK_INT(wl_cri_log_open(path, &l, &err), 0);
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
    CHECK_INT(wl_cri_log_open(path, &l, &err), 0);
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

WL_TEST_MAIN(WL_T(test_crilog_lines_and_partial_flush),
             WL_T(test_crilog_splits_long_lines),
             WL_T(test_crilog_concurrent_writers_keep_whole_records))
