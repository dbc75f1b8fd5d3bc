/* Termination messages (pod/termmsg.h): the guest's file and its place,
 * the kubelet's caps (4 KiB of the file's end; 80 lines / 2 KiB of the
 * log for FallbackToLogsOnError; 12 KiB per pod), UTF-8 clean-up, and
 * files the guest could use to make us read something else. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pod/termmsg.h"
#include "runtime/crilog.h"
#include "test.h"
#include "util/utf8.h"

static char tmp[] = "/tmp/wl-test-termmsg-XXXXXX";
static int seq;

/* A fresh container dir. */
static char *new_dir(void)
{
    char *d = NULL;
    if (asprintf(&d, "%s/c%d", tmp, seq++) < 0 || mkdir(d, 0750) < 0)
        abort();
    return d;
}

static void put(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "w");
    if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0)
        abort();
}

/* Run `run`'s CRI log in dir with text as the guest's stdout. */
static void write_log(const char *dir, unsigned run, const char *text)
{
    char path[512];
    struct wl_cri_log *log = NULL;
    struct wl_error err = WL_ERROR_INIT;
    snprintf(path, sizeof(path), "%s/%u.log", dir, run);
    if (wl_cri_log_open(path, NULL, &log, &err) < 0)
        abort();
    (void)wl_cri_log_write(log, WL_CRI_STDOUT, (const unsigned char *)text,
                           strlen(text));
    wl_cri_log_close(log);
}

static void test_utf8_invalid_bytes_and_nul_become_replacement(void)
{
    char *s = wl_utf8_sanitize("h\xc3\xa9llo", 6);
    CHECK_STR(s, "h\xc3\xa9llo");
    free(s);
    s = wl_utf8_sanitize("a\xff"
                         "b\0c\xe2\x82",
                         7);
    CHECK_STR(s, "a\xef\xbf\xbd"
                 "b\xef\xbf\xbd"
                 "c\xef\xbf\xbd\xef\xbf\xbd");
    free(s);
    s = wl_utf8_sanitize("\xed\xa0\x80", 3); /* a surrogate */
    CHECK_STR(s, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    free(s);
}

static void test_file_read_keeps_the_last_4096_bytes(void)
{
    char *d = new_dir(), path[512], *big = malloc(5000), *s = NULL;
    snprintf(path, sizeof(path), "%s/f", d);
    memset(big, 'a', 5000);
    memset(big + 5000 - 4096, 'b', 4096);
    put(path, big, 5000);
    CHECK_INT(wl_termmsg_read_file(path, WL_TERMMSG_MAX_BYTES, &s), 0);
    CHECK_INT(strlen(s), 4096);
    CHECK(strspn(s, "b") == 4096);
    free(s);
    free(big);
    free(d);
}

static void test_file_read_refuses_symlinks_and_fifos(void)
{
    char *d = new_dir(), path[512], *s = NULL;
    snprintf(path, sizeof(path), "%s/link", d);
    CHECK_INT(symlink("/etc/passwd", path), 0);
    CHECK_INT(wl_termmsg_read_file(path, 4096, &s), -1);
    CHECK_INT(errno, EINVAL);
    snprintf(path, sizeof(path), "%s/fifo", d);
    CHECK_INT(mkfifo(path, 0600), 0);
    CHECK_INT(wl_termmsg_read_file(path, 4096, &s), -1);
    CHECK_INT(errno, EINVAL);
    snprintf(path, sizeof(path), "%s/none", d);
    CHECK_INT(wl_termmsg_read_file(path, 4096, &s), -1);
    CHECK_INT(errno, ENOENT);
    free(d);
}

static void test_log_tail_is_the_last_80_lines(void)
{
    char *d = new_dir(), text[2000];
    size_t o = 0;
    for (int i = 1; i <= 100; i++)
        o += (size_t)snprintf(text + o, sizeof(text) - o, "%d\n", i);
    snprintf(text + o, sizeof(text) - o, "no newline");
    write_log(d, 0, text);
    char *s = wl_termmsg_log_tail(d, 0);
    /* 80 lines: 22..100 and the unfinished last one */
    CHECK(s != NULL);
    CHECK(strncmp(s, "22\n23\n", 6) == 0);
    CHECK(strstr(s, "\n21\n") == NULL);
    size_t n = strlen(s);
    CHECK(n > 10 && strcmp(s + n - 14, "100\nno newline") == 0);
    free(s);
    free(d);
}

static void test_log_tail_is_at_most_2048_bytes(void)
{
    char *d = new_dir(), *text = malloc(10 * 501 + 1);
    size_t o = 0;
    for (int i = 0; i < 10; i++) {
        memset(text + o, 'a' + i, 500);
        text[o + 500] = '\n';
        o += 501;
    }
    text[o] = '\0';
    write_log(d, 0, text);
    char *s = wl_termmsg_log_tail(d, 0);
    CHECK_INT(strlen(s), WL_TERMMSG_LOG_MAX_BYTES);
    CHECK_INT(memcmp(s, text + o - 2048, 2048), 0);
    free(s);
    free(text);
    free(d);
}

static void test_log_tail_of_a_missing_log_says_why(void)
{
    char *d = new_dir();
    char *s = wl_termmsg_log_tail(d, 7);
    CHECK_CONTAINS(s, "Error on reading termination message from logs: ");
    free(s);
    free(d);
}

static void test_prepare_makes_an_empty_file_per_run(void)
{
    char *d = new_dir(), *s = NULL;
    struct wl_termmsg t;
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(
        wl_termmsg_prepare(d, 2, "/dev/termination-log", NULL, 0, &t, &err), 0);
    CHECK_STR(t.guest_dir, "/dev");
    CHECK(t.host_dir && strstr(t.host_dir, "/2.termination"));
    CHECK_CONTAINS(t.host_file, "/2.termination/termination-log");
    CHECK_INT(wl_termmsg_read_file(t.host_file, 4096, &s), 0);
    CHECK_STR(s, "");
    free(s);
    /* a run that starts again in the same dir starts empty */
    put(t.host_file, "old", 3);
    wl_termmsg_clear(&t);
    CHECK_INT(
        wl_termmsg_prepare(d, 2, "/dev/termination-log", NULL, 0, &t, &err), 0);
    CHECK_INT(wl_termmsg_read_file(t.host_file, 4096, &s), 0);
    CHECK_STR(s, "");
    free(s);
    wl_termmsg_clear(&t);
    /* a file at the root */
    CHECK_INT(wl_termmsg_prepare(d, 3, "/msg", NULL, 0, &t, &err), 0);
    CHECK_STR(t.guest_dir, "/");
    wl_termmsg_clear(&t);
    free(d);
}

static void test_prepare_leaves_a_volume_at_the_dir_alone(void)
{
    char *d = new_dir();
    struct wl_preopen vols[] = {{.host_path = "/vol/a", .guest_path = "/dev/"},
                                {.host_path = "/vol/b", .guest_path = "/"}};
    struct wl_termmsg t;
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(
        wl_termmsg_prepare(d, 0, "/dev/termination-log", vols, 2, &t, &err), 0);
    CHECK(t.host_dir == NULL);
    CHECK_STR(t.host_file, "/vol/a/termination-log");
    wl_termmsg_clear(&t);
    /* a volume above the dir is shadowed by ours (longest preopen) */
    CHECK_INT(
        wl_termmsg_prepare(d, 0, "/dev/termination-log", vols + 1, 1, &t, &err),
        0);
    CHECK(t.host_dir != NULL);
    wl_termmsg_clear(&t);
    free(d);
}

static void test_prepare_ignores_unusable_paths(void)
{
    static const char *const bad[] = {
        "", "relative/x", "/", "/dev/", "/dev/../etc/x", "/./x", "//x"};
    char *d = new_dir();
    struct wl_error err = WL_ERROR_INIT;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct wl_termmsg t;
        CHECK_INT(wl_termmsg_prepare(d, 0, bad[i], NULL, 0, &t, &err), 0);
        CHECK(t.host_file == NULL && t.host_dir == NULL);
        wl_termmsg_clear(&t);
    }
    free(d);
}

static void test_message_from_file_else_log_tail_on_failure(void)
{
    char *d = new_dir(), *s;
    struct wl_termmsg t;
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(
        wl_termmsg_prepare(d, 0, "/dev/termination-log", NULL, 0, &t, &err), 0);
    write_log(d, 0, "one\ntwo\n");
    /* empty file: File policy has nothing, fallback only on failure */
    CHECK(wl_termmsg_of_run(&t, d, 0, false, true) == NULL);
    CHECK(wl_termmsg_of_run(&t, d, 0, true, false) == NULL);
    s = wl_termmsg_of_run(&t, d, 0, true, true);
    CHECK_STR(s, "one\ntwo\n");
    free(s);
    /* the file wins when it has something */
    put(t.host_file, "last words", 10);
    s = wl_termmsg_of_run(&t, d, 0, true, true);
    CHECK_STR(s, "last words");
    free(s);
    /* the guest put a symlink there: an error, never the target */
    CHECK_INT(unlink(t.host_file), 0);
    CHECK_INT(symlink("/etc/passwd", t.host_file), 0);
    s = wl_termmsg_of_run(&t, d, 0, false, false);
    CHECK_STR(s, "Error on reading termination log /dev/termination-log: "
                 "not a regular file");
    free(s);
    /* no file at all: as empty */
    CHECK_INT(unlink(t.host_file), 0);
    s = wl_termmsg_of_run(&t, d, 0, true, true);
    CHECK_STR(s, "one\ntwo\n");
    free(s);
    wl_termmsg_clear(&t);
    free(d);
}

static void test_pod_budget_and_cut_between_characters(void)
{
    CHECK_INT(wl_termmsg_budget(0), 12288);
    CHECK_INT(wl_termmsg_budget(3), 4096);
    CHECK_INT(wl_termmsg_cut("abc", 5), 3);
    CHECK_INT(wl_termmsg_cut("abc", 2), 2);
    CHECK_INT(wl_termmsg_cut("a\xc3\xa9", 2), 1);
    CHECK_INT(wl_termmsg_cut("a\xe2\x82\xac", 3), 1);
}

int main(void)
{
    static const struct wl_test tests[] = {
        WL_T(test_utf8_invalid_bytes_and_nul_become_replacement),
        WL_T(test_file_read_keeps_the_last_4096_bytes),
        WL_T(test_file_read_refuses_symlinks_and_fifos),
        WL_T(test_log_tail_is_the_last_80_lines),
        WL_T(test_log_tail_is_at_most_2048_bytes),
        WL_T(test_log_tail_of_a_missing_log_says_why),
        WL_T(test_prepare_makes_an_empty_file_per_run),
        WL_T(test_prepare_leaves_a_volume_at_the_dir_alone),
        WL_T(test_prepare_ignores_unusable_paths),
        WL_T(test_message_from_file_else_log_tail_on_failure),
        WL_T(test_pod_budget_and_cut_between_characters),
    };
    wl_test_tmpdir(tmp);
    return wl_test_run_all(tests, sizeof(tests) / sizeof(tests[0]));
}
