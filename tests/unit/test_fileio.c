#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "util/fileio.h"

static char dir[] = "/tmp/wl-test-fileio-XXXXXX";

static int count_entries(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void test_write_atomic_creates_and_replaces(void)
{
    struct wl_error err = WL_ERROR_INIT;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(dfd >= 0);
    CHECK_INT(wl_file_write_atomic(dfd, "state", "one", 3, 0600, &err), 0);
    CHECK_INT(wl_file_write_atomic(dfd, "state", "second", 6, 0600, &err), 0);

    uint8_t *data = NULL;
    size_t len = 0;
    CHECK_INT(wl_file_read(dfd, "state", 100, &data, &len, &err), 0);
    close(dfd);
    CHECK_INT(len, 6);
    CHECK_STR((char *)data, "second");
    free(data);
    CHECK_INT(count_entries(), 1); /* no temp file left behind */

    struct stat st;
    char path[128];
    snprintf(path, sizeof(path), "%s/state", dir);
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
}

static void test_write_atomic_failure_leaves_target_alone(void)
{
    struct wl_error err = WL_ERROR_INIT;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(dfd >= 0);
    CHECK_INT(wl_file_write_atomic(dfd, "keep", "old", 3, 0600, &err), 0);
    /* The temp file cannot be created in a directory that does not exist. */
    CHECK_INT(wl_file_write_atomic(dfd, "missing/keep", "x", 1, 0600, &err),
              -1);
    CHECK_CONTAINS(err.msg, "No such file or directory");
    wl_error_clear(&err);

    uint8_t *data = NULL;
    size_t len = 0;
    CHECK_INT(wl_file_read(dfd, "keep", 100, &data, &len, &err), 0);
    close(dfd);
    CHECK_STR((char *)data, "old");
    free(data);
}

static void test_read_refuses_file_over_limit(void)
{
    struct wl_error err = WL_ERROR_INIT;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK_INT(wl_file_write_atomic(dfd, "big", "0123456789", 10, 0600, &err),
              0);
    uint8_t *data = (uint8_t *)"untouched";
    size_t len = 77;
    CHECK_INT(wl_file_read(dfd, "big", 9, &data, &len, &err), -1);
    close(dfd);
    CHECK_CONTAINS(err.msg, "10 bytes is over the limit of 9");
    CHECK_STR((char *)data, "untouched");
    CHECK_INT(len, 77);
    wl_error_clear(&err);
}

static void test_read_refuses_directory(void)
{
    struct wl_error err = WL_ERROR_INIT;
    uint8_t *data = NULL;
    size_t len = 0;
    CHECK_INT(wl_file_read(AT_FDCWD, dir, 100, &data, &len, &err), -1);
    CHECK_CONTAINS(err.msg, "not a regular file");
    wl_error_clear(&err);
}

static void test_read_missing_file_names_it(void)
{
    struct wl_error err = WL_ERROR_INIT;
    uint8_t *data = NULL;
    size_t len = 0;
    CHECK_INT(wl_file_read(AT_FDCWD, "/nonexistent/x.wasm", 100, &data, &len,
                           &err),
              -1);
    CHECK_STR(err.msg, "open /nonexistent/x.wasm: No such file or directory");
    wl_error_clear(&err);
}

/* Writes len bytes to path: noise, so that a compressing filesystem
 * still allocates them. */
static int fill(const char *path, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    unsigned char buf[4096];
    uint32_t x = 2463534242u;
    for (size_t done = 0; fd >= 0 && done < len;) {
        size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            buf[i] = (unsigned char)x;
        }
        if (write(fd, buf, n) != (ssize_t)n) {
            close(fd);
            return -1;
        }
        done += n;
    }
    return fd < 0 || fsync(fd) < 0 || close(fd) < 0 ? -1 : 0;
}

static void test_dir_usage_counts_allocated_blocks_of_the_tree(void)
{
    struct wl_error err = WL_ERROR_INIT;
    char top[256], sub[300], f1[300], f2[320], sparse[300], link[300];
    snprintf(top, sizeof(top), "%s/usage", dir);
    snprintf(sub, sizeof(sub), "%s/sub", top);
    snprintf(f1, sizeof(f1), "%s/one", top);
    snprintf(f2, sizeof(f2), "%s/two", sub);
    snprintf(sparse, sizeof(sparse), "%s/sparse", top);
    snprintf(link, sizeof(link), "%s/link", top);
    CHECK_INT(mkdir(top, 0700), 0);
    CHECK_INT(mkdir(sub, 0700), 0);
    uint64_t empty = 0;
    CHECK_INT(wl_dir_usage(top, &empty, &err), 0);
    CHECK(empty < 64 * 1024); /* two directories */

    CHECK_INT(fill(f1, 1 << 20), 0);
    CHECK_INT(fill(f2, 3 << 20), 0);
    /* A 1 GiB hole holds no blocks: it does not count. */
    int fd = open(sparse, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    CHECK_INT(ftruncate(fd, 1L << 30), 0);
    close(fd);
    /* A symlink to outside the tree is not followed. */
    CHECK_INT(symlink("/usr", link), 0);

    uint64_t bytes = 0;
    CHECK_INT(wl_dir_usage(top, &bytes, &err), 0);
    CHECK(bytes >= empty + (4u << 20));
    CHECK(bytes < empty + (4u << 20) + 256 * 1024);
}

static void test_dir_usage_of_a_missing_dir_is_zero(void)
{
    struct wl_error err = WL_ERROR_INIT;
    uint64_t bytes = 42;
    CHECK_INT(wl_dir_usage("/nonexistent/wl-usage", &bytes, &err), 0);
    CHECK_INT(bytes, 0);
    CHECK(err.msg == NULL);
}

static void test_setup(void) { wl_test_tmpdir(dir); }

WL_TEST_MAIN(WL_T(test_setup), WL_T(test_write_atomic_creates_and_replaces),
             WL_T(test_write_atomic_failure_leaves_target_alone),
             WL_T(test_read_refuses_file_over_limit),
             WL_T(test_read_refuses_directory),
             WL_T(test_read_missing_file_names_it),
             WL_T(test_dir_usage_counts_allocated_blocks_of_the_tree),
             WL_T(test_dir_usage_of_a_missing_dir_is_zero))
