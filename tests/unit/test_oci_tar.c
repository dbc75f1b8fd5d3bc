/* Finding the module in an image layer. The archives are built here, block
 * by block, so each test holds exactly the tar feature it is about. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "oci/tar.h"
#include "test.h"

struct tarbuf {
    unsigned char *p;
    size_t len, cap;
};

static void tb_put(struct tarbuf *t, const void *data, size_t len)
{
    if (t->len + len > t->cap) {
        size_t cap = (t->len + len) * 2;
        unsigned char *p = realloc(t->p, cap);
        if (!p)
            abort();
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, data, len);
    t->len += len;
}

static void octal(unsigned char *f, size_t width, uint64_t v)
{
    /* width-1 digits, then NUL, as ustar writes them */
    f[width - 1] = '\0';
    for (size_t i = width - 1; i-- > 0;) {
        f[i] = (unsigned char)('0' + (v & 7));
        v >>= 3;
    }
}

/* Appends a ustar header; size_field (12 bytes) overrides the size when
 * not NULL. */
static void tb_header(struct tarbuf *t, const char *name, char type,
                      uint64_t size, const char *prefix,
                      const unsigned char *size_field)
{
    unsigned char h[512] = {0};
    memcpy(h, name, strnlen(name, 100));
    octal(h + 100, 8, type == '5' ? 0755 : 0644);
    octal(h + 108, 8, 1000);
    octal(h + 116, 8, 1000);
    if (size_field)
        memcpy(h + 124, size_field, 12);
    else
        octal(h + 124, 12, size);
    octal(h + 136, 12, 1700000000);
    h[156] = (unsigned char)type;
    memcpy(h + 257, "ustar", 6); /* magic with NUL, then version "00" */
    memcpy(h + 263, "00", 2);
    memcpy(h + 265, "user", 4);
    memcpy(h + 297, "user", 4);
    if (prefix)
        memcpy(h + 345, prefix, strnlen(prefix, 155));
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += h[i];
    octal(h + 148, 7, sum);
    h[155] = ' ';
    tb_put(t, h, sizeof(h));
}

static void tb_data(struct tarbuf *t, const void *data, size_t len)
{
    static const unsigned char zero[512];
    tb_put(t, data, len);
    if (len % 512)
        tb_put(t, zero, 512 - len % 512);
}

static void tb_file(struct tarbuf *t, const char *name, const char *content)
{
    tb_header(t, name, '0', strlen(content), NULL, NULL);
    tb_data(t, content, strlen(content));
}

static void tb_end(struct tarbuf *t)
{
    static const unsigned char zero[1024];
    tb_put(t, zero, sizeof(zero));
}

/* An fd holding data, positioned at its start. */
static int fd_of(const void *data, size_t len)
{
    int fd = memfd_create("tar", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    if (write(fd, data, len) != (ssize_t)len || lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* An fd holding data gzip-compressed with zlib's own gz writer. */
static int gz_fd_of(const void *data, size_t len)
{
    char path[] = "/tmp/wl-test-tar-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    (void)unlink(path);
    int wfd = dup(fd);
    gzFile gz = wfd >= 0 ? gzdopen(wfd, "wb9") : NULL;
    if (!gz || gzwrite(gz, data, (unsigned)len) != (int)len ||
        gzclose(gz) != Z_OK || lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

struct result {
    int rc, found;
    char *data; /* NUL-terminated copy */
    size_t len;
    char *msg;
};

static struct result extract_fd(int fd, const char *path, size_t max)
{
    struct wl_error err = WL_ERROR_INIT;
    struct result res = {.found = -1};
    uint8_t *data = NULL;
    size_t len = 0;
    res.rc = wl_tar_extract(fd, path, max, &data, &len, &res.found, &err);
    if (res.rc == 0 && res.found == 1) {
        res.data = malloc(len + 1);
        if (res.data) {
            memcpy(res.data, data, len);
            res.data[len] = '\0';
        }
        res.len = len;
    }
    free(data);
    res.msg = err.msg;
    return res;
}

static struct result extract(const struct tarbuf *t, const char *path,
                             size_t max)
{
    int fd = fd_of(t->p, t->len);
    if (fd < 0)
        return (struct result){.rc = -2};
    struct result res = extract_fd(fd, path, max);
    close(fd);
    return res;
}

static void result_clear(struct result *r)
{
    free(r->data);
    free(r->msg);
}

static const char wasm[] = "\0asm\1\0\0\0 a module";

static void test_plain_tar_file_found_by_name(void)
{
    struct tarbuf t = {0};
    tb_header(&t, "app/", '5', 0, NULL, NULL);
    tb_file(&t, "app/readme.txt", "not this one");
    tb_file(&t, "app/hello.wasm", "the module bytes");
    tb_file(&t, "app/zzz", "after");
    tb_end(&t);
    struct result r = extract(&t, "app/hello.wasm", 1024);
    free(t.p);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.found, 1);
    CHECK_INT(r.len, 16);
    CHECK_STR(r.data, "the module bytes");
    result_clear(&r);
}

static void test_binary_content_returned_exactly(void)
{
    struct tarbuf t = {0};
    tb_header(&t, "m.wasm", '0', sizeof(wasm) - 1, NULL, NULL);
    tb_data(&t, wasm, sizeof(wasm) - 1);
    tb_end(&t);
    struct result r = extract(&t, "m.wasm", 1024);
    free(t.p);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.found, 1);
    CHECK_INT(r.len, sizeof(wasm) - 1);
    CHECK(memcmp(r.data, wasm, sizeof(wasm) - 1) == 0);
    result_clear(&r);
}

static void test_gzip_tar_file_found(void)
{
    struct tarbuf t = {0};
    tb_file(&t, "a.txt", "aaaa");
    tb_file(&t, "app/hello.wasm", "gzipped module");
    tb_end(&t);
    int fd = gz_fd_of(t.p, t.len);
    free(t.p);
    CHECK(fd >= 0);
    struct result r = extract_fd(fd, "app/hello.wasm", 1024);
    /* the fd is the caller's: still open afterwards */
    int still_open = fcntl(fd, F_GETFD) >= 0;
    close(fd);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.found, 1);
    CHECK_STR(r.data, "gzipped module");
    CHECK(still_open);
    result_clear(&r);
}

static void test_dot_slash_prefix_in_archive_matched(void)
{
    struct tarbuf t = {0};
    tb_header(&t, "./", '5', 0, NULL, NULL);
    tb_file(&t, "./app/hello.wasm", "dot");
    tb_end(&t);
    struct result r = extract(&t, "app/hello.wasm", 1024);
    free(t.p);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.found, 1);
    CHECK_STR(r.data, "dot");
    result_clear(&r);
}

static void test_slash_prefix_in_path_matched(void)
{
    struct tarbuf t = {0};
    tb_file(&t, "app/hello.wasm", "slash");
    tb_end(&t);
    struct result r = extract(&t, "/app/hello.wasm", 1024);
    free(t.p);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.found, 1);
    CHECK_STR(r.data, "slash");
    result_clear(&r);
}

static void test_absolute_name_in_archive_matched(void)
{
    struct tarbuf t = {0};
    tb_file(&t, "/app/hello.wasm", "abs");
    tb_end(&t);
    struct result r = extract(&t, "./app/hello.wasm", 1024);
    free(t.p);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.found, 1);
    CHECK_STR(r.data, "abs");
    result_clear(&r);
}

static void test_missing_file_not_found(void)
{
    struct tarbuf t = {0};
    tb_file(&t, "app/other.wasm", "x");
    tb_end(&t);
    struct result r = extract(&t, "app/hello.wasm", 1024);
    free(t.p);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.found, 0);
    CHECK(r.msg == NULL);
    result_clear(&r);
}

static void test_file_over_max_refused(void)
{
    struct tarbuf t = {0};
    tb_file(&t, "app/hello.wasm", "0123456789abcdefX");
    tb_end(&t);
    struct result r = extract(&t, "app/hello.wasm", 16);
    free(t.p);
    CHECK_INT(r.rc, -1);
    CHECK_STR(r.msg, "app/hello.wasm in the layer is 17 bytes, over the "
                     "limit of 16");
    result_clear(&r);
}

static void test_file_of_exactly_max_accepted(void)
{
    struct tarbuf t = {0};
    tb_file(&t, "app/hello.wasm", "0123456789abcdef");
    tb_end(&t);
    struct result r = extract(&t, "app/hello.wasm", 16);
    free(t.p);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.found, 1);
    CHECK_INT(r.len, 16);
    result_clear(&r);
}

static void test_truncated_data_is_an_error(void)
{
    struct tarbuf t = {0};
    tb_file(&t, "app/hello.wasm", "module contents that are cut");
    t.len = 512 + 10; /* header and part of the data */
    struct result r = extract(&t, "app/hello.wasm", 1024);
    free(t.p);
    CHECK_INT(r.rc, -1);
    CHECK_STR(r.msg, "layer: truncated tar archive");
    result_clear(&r);
}

static void test_truncated_while_skipping_is_an_error(void)
{
    struct tarbuf t = {0};
    tb_file(&t, "big.bin", "some data");
    t.len = 512 + 100;
    struct result r = extract(&t, "app/hello.wasm", 1024);
    free(t.p);
    CHECK_INT(r.rc, -1);
    CHECK_STR(r.msg, "layer: truncated tar archive");
    result_clear(&r);
}

static void test_truncated_header_is_an_error(void)
{
    struct tarbuf t = {0};
    char partial[100];
    memset(partial, 'n', sizeof(partial));
    tb_file(&t, "a", "x");
    tb_put(&t, partial, sizeof(partial)); /* a header cut short */
    struct result r = extract(&t, "app/hello.wasm", 1024);
    free(t.p);
    CHECK_INT(r.rc, -1);
    CHECK_STR(r.msg, "layer: truncated tar archive");
    result_clear(&r);
}

static void test_gnu_long_name_honoured(void)
{
    char long_name[300];
    memset(long_name, 'd', sizeof(long_name));
    memcpy(long_name, "app/", 4);
    memcpy(long_name + 200, "/hello.wasm", 12); /* 211 chars */
    struct tarbuf t = {0};
    tb_header(&t, "././@LongLink", 'L', strlen(long_name) + 1, NULL, NULL);
    tb_data(&t, long_name, strlen(long_name) + 1);
    tb_file(&t, "app/dddddddddddd", "long");
    tb_file(&t, "app/hello.wasm", "short");
    tb_end(&t);
    struct result r = extract(&t, long_name, 1024);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.found, 1);
    CHECK_STR(r.data, "long");
    result_clear(&r);
    /* the long name applied to one entry only */
    r = extract(&t, "app/hello.wasm", 1024);
    free(t.p);
    CHECK_INT(r.rc, 0);
    CHECK_STR(r.data, "short");
    result_clear(&r);
}

static void test_gnu_long_name_replaces_short_name(void)
{
    struct tarbuf t = {0};
    const char *ln = "app/real.wasm";
    tb_header(&t, "././@LongLink", 'L', strlen(ln) + 1, NULL, NULL);
    tb_data(&t, ln, strlen(ln) + 1);
    tb_file(&t, "app/hello.wasm", "renamed");
    tb_end(&t);
    struct result r = extract(&t, "app/hello.wasm", 1024);
    free(t.p);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.found, 0);
    result_clear(&r);
}

static void test_pax_path_honoured(void)
{
    static const char pax[] = "30 mtime=1700000000.123456789\n"
                              "27 path=app/hello.wasm.pax\n"
                              "12 uid=1000\n";
    struct tarbuf t = {0};
    tb_header(&t, "PaxHeaders/x", 'x', strlen(pax), NULL, NULL);
    tb_data(&t, pax, strlen(pax));
    tb_file(&t, "x", "from pax");
    tb_end(&t);
    struct result r = extract(&t, "app/hello.wasm.pax", 1024);
    free(t.p);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.found, 1);
    CHECK_STR(r.data, "from pax");
    result_clear(&r);
}

static void test_pax_record_with_short_length_ignored(void)
{
    /* "3 path=..." claims 3 bytes, shorter than its own key: not a path */
    static const char pax[] = "3 path=app/evil.wasm\n";
    struct tarbuf t = {0};
    tb_header(&t, "PaxHeaders/x", 'x', strlen(pax), NULL, NULL);
    tb_data(&t, pax, strlen(pax));
    tb_file(&t, "app/hello.wasm", "plain");
    tb_end(&t);
    struct result r = extract(&t, "app/hello.wasm", 1024);
    free(t.p);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.found, 1);
    CHECK_STR(r.data, "plain");
    result_clear(&r);
}

static void test_ustar_prefix_joined(void)
{
    struct tarbuf t = {0};
    tb_header(&t, "hello.wasm", '0', 6, "some/deep/dir", NULL);
    tb_data(&t, "prefix", 6);
    tb_end(&t);
    struct result r = extract(&t, "some/deep/dir/hello.wasm", 1024);
    free(t.p);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.found, 1);
    CHECK_STR(r.data, "prefix");
    result_clear(&r);
}

static void test_directory_entry_skipped(void)
{
    struct tarbuf t = {0};
    tb_header(&t, "app/hello.wasm", '5', 0, NULL, NULL);
    tb_file(&t, "app/hello.wasm/x", "inside");
    tb_end(&t);
    struct result r = extract(&t, "app/hello.wasm", 1024);
    free(t.p);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.found, 0);
    result_clear(&r);
}

static void test_symlink_entry_skipped(void)
{
    struct tarbuf t = {0};
    tb_header(&t, "app/hello.wasm", '2', 0, NULL, NULL);
    tb_file(&t, "app/hello.wasm", "real");
    tb_end(&t);
    struct result r = extract(&t, "app/hello.wasm", 1024);
    free(t.p);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.found, 1);
    CHECK_STR(r.data, "real");
    result_clear(&r);
}

static void test_base256_size_parsed(void)
{
    unsigned char size[12] = {0x80};
    size[11] = 5; /* 5 bytes, in base-256 */
    struct tarbuf t = {0};
    tb_header(&t, "skipped.bin", '0', 0, NULL, size);
    tb_data(&t, "12345", 5);
    size[10] = 0x02; /* 0x205 = 517 bytes: two data blocks */
    size[11] = 0x05;
    tb_header(&t, "app/hello.wasm", '0', 0, NULL, size);
    char big[517];
    memset(big, 'w', sizeof(big));
    tb_data(&t, big, sizeof(big));
    tb_end(&t);
    struct result r = extract(&t, "app/hello.wasm", 1024);
    free(t.p);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.found, 1);
    CHECK_INT(r.len, 517);
    CHECK(r.data[0] == 'w' && r.data[516] == 'w');
    result_clear(&r);
}

static void test_huge_base256_size_refused(void)
{
    unsigned char size[12];
    memset(size, 0xff, sizeof(size)); /* -1, or 2^88-1 */
    struct tarbuf t = {0};
    tb_header(&t, "x", '0', 0, NULL, size);
    tb_end(&t);
    struct result r = extract(&t, "app/hello.wasm", 1024);
    free(t.p);
    CHECK_INT(r.rc, -1);
    CHECK_STR(r.msg, "layer: bad tar size field");
    result_clear(&r);
}

static void test_size_that_would_wrap_refused(void)
{
    /* 2^64-1 in base-256: padded to blocks it would wrap to 0 and the
     * next "header" would be read from the middle of the file's data */
    unsigned char size[12] = {0x80, 0, 0, 0};
    memset(size + 4, 0xff, 8);
    struct tarbuf t = {0};
    tb_header(&t, "x", '0', 0, NULL, size);
    tb_file(&t, "app/hello.wasm", "smuggled");
    tb_end(&t);
    struct result r = extract(&t, "app/hello.wasm", 1024);
    free(t.p);
    CHECK_INT(r.rc, -1);
    CHECK_STR(r.msg, "layer: bad tar size field");
    result_clear(&r);
}

static void test_pax_record_with_huge_length_ignored(void)
{
    static const char pax[] = "9223372036854775807 path=app/x.wasm\n";
    struct tarbuf t = {0};
    tb_header(&t, "PaxHeaders/x", 'x', strlen(pax), NULL, NULL);
    tb_data(&t, pax, strlen(pax));
    tb_file(&t, "app/hello.wasm", "plain");
    tb_end(&t);
    struct result r = extract(&t, "app/hello.wasm", 1024);
    free(t.p);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.found, 1);
    CHECK_STR(r.data, "plain");
    result_clear(&r);
}

static void test_empty_archive_not_found(void)
{
    struct tarbuf t = {0};
    tb_end(&t);
    struct result r = extract(&t, "app/hello.wasm", 1024);
    free(t.p);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.found, 0);
    result_clear(&r);
}

WL_TEST_MAIN(
    WL_T(test_plain_tar_file_found_by_name),
    WL_T(test_binary_content_returned_exactly), WL_T(test_gzip_tar_file_found),
    WL_T(test_dot_slash_prefix_in_archive_matched),
    WL_T(test_slash_prefix_in_path_matched),
    WL_T(test_absolute_name_in_archive_matched),
    WL_T(test_missing_file_not_found), WL_T(test_file_over_max_refused),
    WL_T(test_file_of_exactly_max_accepted),
    WL_T(test_truncated_data_is_an_error),
    WL_T(test_truncated_while_skipping_is_an_error),
    WL_T(test_truncated_header_is_an_error), WL_T(test_gnu_long_name_honoured),
    WL_T(test_gnu_long_name_replaces_short_name), WL_T(test_pax_path_honoured),
    WL_T(test_pax_record_with_short_length_ignored),
    WL_T(test_ustar_prefix_joined), WL_T(test_directory_entry_skipped),
    WL_T(test_symlink_entry_skipped), WL_T(test_base256_size_parsed),
    WL_T(test_huge_base256_size_refused),
    WL_T(test_size_that_would_wrap_refused),
    WL_T(test_pax_record_with_huge_length_ignored),
    WL_T(test_empty_archive_not_found))
