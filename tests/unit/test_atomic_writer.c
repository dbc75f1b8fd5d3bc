#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pod/atomic_writer.h"
#include "test.h"
#include "util/error.h"
#include "util/fileio.h"

static char *tmpdir(void)
{
    char *d = strdup("/tmp/wl-aw-XXXXXX");
    return mkdtemp(d) ? d : NULL;
}

static void cleanup(char *dir)
{
    (void)wl_remove_tree(dir, NULL);
    free(dir);
}

static char link_buf[4096];

static const char *link_of(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    ssize_t n = readlink(path, link_buf, sizeof(link_buf) - 1);
    if (n < 0)
        return NULL;
    link_buf[n] = '\0';
    return link_buf;
}

static char file_buf[4096];

static const char *read_at(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(file_buf, 1, sizeof(file_buf) - 1, f);
    fclose(f);
    file_buf[n] = '\0';
    return file_buf;
}

static unsigned mode_at(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return stat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0xffff;
}

/* Number of "..<timestamp>" directories in dir. */
static int ts_dirs(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strncmp(e->d_name, "..20", 4) == 0;
    if (d)
        closedir(d);
    return n;
}

#define F(p, s, m)                                                             \
    {                                                                          \
        p, s, sizeof(s) - 1, m                                                 \
    }

static void test_atomic_write_makes_the_kubelet_layout(void)
{
    char *dir = tmpdir();
    struct wl_error err = WL_ERROR_INIT;
    struct wl_aw_file files[] = {F("a", "one", 0644), F("sub/b", "two", 0600)};
    bool changed = false;
    CHECK(dir);
    CHECK_INT(wl_atomic_write(dir, 0755, files, 2, &changed, &err), 0);
    CHECK(changed);
    CHECK_STR(link_of(dir, "a"), "..data/a");
    CHECK_STR(link_of(dir, "sub"), "..data/sub");
    const char *data = link_of(dir, "..data");
    CHECK(data && strncmp(data, "..20", 4) == 0 && !strchr(data, '/'));
    CHECK_STR(read_at(dir, "a"), "one");
    CHECK_STR(read_at(dir, "sub/b"), "two");
    CHECK_INT(mode_at(dir, "a"), 0644);
    CHECK_INT(mode_at(dir, "sub/b"), 0600);
    CHECK_INT(mode_at(dir, "."), 0755);
    CHECK_INT(ts_dirs(dir), 1);
    CHECK(!link_of(dir, "..data_tmp"));
    cleanup(dir);
}

static void test_atomic_write_unchanged_payload_writes_nothing(void)
{
    char *dir = tmpdir();
    struct wl_error err = WL_ERROR_INIT;
    struct wl_aw_file files[] = {F("a", "one", 0644)};
    bool changed = true;
    CHECK_INT(wl_atomic_write(dir, 0755, files, 1, NULL, &err), 0);
    char first[256];
    snprintf(first, sizeof(first), "%s", link_of(dir, "..data"));
    CHECK_INT(wl_atomic_write(dir, 0755, files, 1, &changed, &err), 0);
    CHECK(!changed);
    CHECK_STR(link_of(dir, "..data"), first);
    /* A mode change is a change. */
    files[0].mode = 0640;
    CHECK_INT(wl_atomic_write(dir, 0755, files, 1, &changed, &err), 0);
    CHECK(changed);
    CHECK_INT(mode_at(dir, "a"), 0640);
    cleanup(dir);
}

static void test_atomic_write_update_swaps_and_removes_old_payload(void)
{
    char *dir = tmpdir();
    struct wl_error err = WL_ERROR_INIT;
    struct wl_aw_file v1[] = {F("a", "one", 0644), F("old", "x", 0644)};
    struct wl_aw_file v2[] = {F("a", "uno", 0644), F("new", "y", 0644)};
    bool changed = false;
    CHECK_INT(wl_atomic_write(dir, 0755, v1, 2, NULL, &err), 0);
    char first[256];
    snprintf(first, sizeof(first), "%s", link_of(dir, "..data"));
    CHECK_INT(wl_atomic_write(dir, 0755, v2, 2, &changed, &err), 0);
    CHECK(changed);
    CHECK(strcmp(link_of(dir, "..data"), first) != 0);
    CHECK_STR(read_at(dir, "a"), "uno");
    CHECK_STR(read_at(dir, "new"), "y");
    CHECK(!link_of(dir, "old")); /* stale link gone */
    CHECK_INT(ts_dirs(dir), 1);  /* old payload gone */
    cleanup(dir);
}

static void test_atomic_write_empty_payload_is_an_empty_volume(void)
{
    char *dir = tmpdir();
    struct wl_error err = WL_ERROR_INIT;
    struct wl_aw_file v1[] = {F("a", "one", 0644)};
    CHECK_INT(wl_atomic_write(dir, 0755, v1, 1, NULL, &err), 0);
    CHECK_INT(wl_atomic_write(dir, 0755, NULL, 0, NULL, &err), 0);
    CHECK(!link_of(dir, "a"));
    CHECK(link_of(dir, "..data"));
    CHECK_INT(ts_dirs(dir), 1);
    cleanup(dir);
}

static void test_atomic_write_rejects_escaping_paths(void)
{
    static const char *bad[] = {"",          "/etc/passwd", "../x",
                                "a/../../x", "a/..",        "..data",
                                "..x/y",     "a//b",        "./a"};
    char *dir = tmpdir();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct wl_error err = WL_ERROR_INIT;
        struct wl_aw_file f[] = {F("ok", "1", 0644), {bad[i], "x", 1, 0644}};
        CHECK_INT(wl_atomic_write(dir, 0755, f, 2, NULL, &err), -1);
        CHECK_CONTAINS(err.msg, "invalid path");
        wl_error_clear(&err);
    }
    CHECK(!link_of(dir, "..data")); /* nothing written */
    CHECK(!link_of(dir, "ok"));
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(wl_aw_check_path("a/..b/c", &err), 0);
    CHECK_INT(wl_aw_check_path("..", &err), -1);
    CHECK_CONTAINS(err.msg, "must not start with '..'");
    wl_error_clear(&err);
    CHECK_INT(wl_aw_check_path("x/../y", &err), -1);
    CHECK_CONTAINS(err.msg, "must not contain '..'");
    wl_error_clear(&err);
    cleanup(dir);
}

static void test_atomic_write_rejects_duplicate_paths(void)
{
    char *dir = tmpdir();
    struct wl_error err = WL_ERROR_INIT;
    struct wl_aw_file f[] = {F("a", "1", 0644), F("a", "2", 0644)};
    CHECK_INT(wl_atomic_write(dir, 0755, f, 2, NULL, &err), -1);
    CHECK_CONTAINS(err.msg, "duplicate path \"a\"");
    wl_error_clear(&err);
    cleanup(dir);
}

static void test_atomic_write_secret_modes_exact_despite_umask(void)
{
    char *dir = tmpdir();
    struct wl_error err = WL_ERROR_INIT;
    struct wl_aw_file f[] = {F("token", "t", 0600), F("all", "x", 0777)};
    mode_t old = umask(0077);
    int rc = wl_atomic_write(dir, 0700, f, 2, NULL, &err);
    umask(old);
    CHECK_INT(rc, 0);
    CHECK_INT(mode_at(dir, "."), 0700);
    CHECK_INT(mode_at(dir, "token"), 0600);
    CHECK_INT(mode_at(dir, "all"), 0777);
    cleanup(dir);
}

static void test_atomic_write_removes_leftovers_of_interrupted_writes(void)
{
    char *dir = tmpdir();
    struct wl_error err = WL_ERROR_INIT;
    char junk[4096];
    snprintf(junk, sizeof(junk), "%s/..2001_01_01_00_00_00.000000001", dir);
    CHECK_INT(mkdir(junk, 0755), 0);
    struct wl_aw_file f[] = {F("a", "1", 0644)};
    CHECK_INT(wl_atomic_write(dir, 0755, f, 1, NULL, &err), 0);
    CHECK_INT(ts_dirs(dir), 1);
    CHECK(access(junk, F_OK) != 0);
    cleanup(dir);
}

WL_TEST_MAIN(WL_T(test_atomic_write_makes_the_kubelet_layout),
             WL_T(test_atomic_write_unchanged_payload_writes_nothing),
             WL_T(test_atomic_write_update_swaps_and_removes_old_payload),
             WL_T(test_atomic_write_empty_payload_is_an_empty_volume),
             WL_T(test_atomic_write_rejects_escaping_paths),
             WL_T(test_atomic_write_rejects_duplicate_paths),
             WL_T(test_atomic_write_secret_modes_exact_despite_umask),
             WL_T(test_atomic_write_removes_leftovers_of_interrupted_writes))
