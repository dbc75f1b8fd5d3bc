#include "oci/tar.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "util/cleanup.h"

#define BLOCK 512
/* Longest name (GNU 'L' or PAX path) we read; longer ones are skipped. */
#define NAME_MAX_LEN 4096

struct reader {
    gzFile gz;
    struct wl_error *err;
};

/* Reads exactly len bytes; a short read is a truncated archive. */
static int read_exact(struct reader *r, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        int n = gzread(r->gz, (char *)buf + got,
                       (unsigned)(len - got > 65536 ? 65536 : len - got));
        if (n < 0) {
            int zerr;
            const char *msg = gzerror(r->gz, &zerr);
            return wl_error_set(r->err, 0, "layer: %s", msg);
        }
        if (n == 0)
            return wl_error_set(r->err, 0, "layer: truncated tar archive");
        got += (size_t)n;
    }
    return 0;
}

static int skip(struct reader *r, uint64_t len)
{
    char buf[8192];
    while (len > 0) {
        size_t n = len > sizeof(buf) ? sizeof(buf) : (size_t)len;
        if (read_exact(r, buf, n) < 0)
            return -1;
        len -= n;
    }
    return 0;
}

static uint64_t padded(uint64_t size)
{
    return (size + BLOCK - 1) / BLOCK * BLOCK;
}

/* tar numbers: octal text, or base-256 when the top bit is set. */
static int parse_size(const unsigned char *f, size_t len, uint64_t *ret)
{
    uint64_t v = 0;
    if (f[0] & 0x80) {
        /* Base-256 is two's complement: 0x80 alone starts a non-negative
         * number. Anything at or over 2^63 is refused so that padding the
         * size to whole blocks cannot wrap around. */
        if (f[0] != 0x80)
            return -1;
        for (size_t i = 1; i < len; i++) {
            if (v >> 55)
                return -1;
            v = (v << 8) | f[i];
        }
        *ret = v;
        return 0;
    }
    size_t i = 0;
    while (i < len && f[i] == ' ')
        i++;
    for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
        if (v >> 60)
            return -1;
        v = v * 8 + (uint64_t)(f[i] - '0');
    }
    *ret = v;
    return 0;
}

const char *wl_tar_path_strip_root(const char *p)
{
    for (;;) {
        if (p[0] == '/')
            p++;
        else if (p[0] == '.' && p[1] == '/')
            p += 2;
        else
            return p;
    }
}

static bool all_zero(const unsigned char *b)
{
    for (int i = 0; i < BLOCK; i++)
        if (b[i])
            return false;
    return true;
}

/* Reads a GNU long name or a PAX header's "path=" record (size bytes). */
static int read_meta_name(struct reader *r, uint64_t size, char type,
                          char **name)
{
    if (size > NAME_MAX_LEN)
        return skip(r, padded(size));
    _cleanup_free_ char *buf = malloc(padded(size) + 1);
    if (!buf)
        return wl_error_set(r->err, ENOMEM, "layer");
    if (read_exact(r, buf, padded(size)) < 0)
        return -1;
    buf[size] = '\0';
    free(*name);
    *name = NULL;
    if (type == 'L') {
        *name = strdup(buf);
        return 0;
    }
    /* PAX records: "<len> key=value\n" */
    for (char *p = buf; p < buf + size;) {
        char *end = NULL;
        long rec = strtol(p, &end, 10);
        /* The length counts the whole record, digits to newline: one that
         * does not reach past its own "key=" or does not end in a newline
         * is malformed, and so is the rest of the header. Compared as
         * lengths so that a huge one cannot overflow the pointer. */
        if (rec <= 0 || !end || *end != ' ' ||
            (unsigned long)rec > (size_t)(buf + size - p))
            break;
        char *rec_end = p + rec; /* one past the record's newline */
        if (rec_end[-1] != '\n' || end + 1 >= rec_end)
            break;
        if (rec_end - (end + 1) > 5 && strncmp(end + 1, "path=", 5) == 0) {
            *name = strndup(end + 6, (size_t)(rec_end - 1 - (end + 6)));
            break;
        }
        p = rec_end;
    }
    return 0;
}

int wl_tar_extract(int fd, const char *path, size_t max, uint8_t **ret_data,
                   size_t *ret_len, int *ret_found, struct wl_error *err)
{
    int dfd = dup(fd);
    if (dfd < 0)
        return wl_error_set(err, errno, "layer");
    struct reader r = {.gz = gzdopen(dfd, "rb"), .err = err};
    if (!r.gz) {
        (void)close(dfd);
        return wl_error_set(err, ENOMEM, "layer");
    }
    const char *want = wl_tar_path_strip_root(path);
    _cleanup_free_ char *long_name = NULL;
    unsigned char h[BLOCK];
    int rc = -1;

    for (;;) {
        if (read_exact(&r, h, BLOCK) < 0)
            break;
        if (all_zero(h)) { /* end of archive */
            *ret_found = 0;
            rc = 0;
            break;
        }
        uint64_t size;
        if (parse_size(h + 124, 12, &size) < 0) {
            wl_error_set(err, 0, "layer: bad tar size field");
            break;
        }
        char type = (char)h[156];
        if (type == 'L' || type == 'x') {
            if (read_meta_name(&r, size, type, &long_name) < 0)
                break;
            continue;
        }
        char name[256 + 1 + 100 + 1];
        if (long_name) {
            snprintf(name, sizeof(name), "%.*s", (int)(sizeof(name) - 1),
                     long_name);
        } else if (memcmp(h + 257, "ustar", 5) == 0 && h[345]) {
            snprintf(name, sizeof(name), "%.155s/%.100s", (char *)h + 345,
                     (char *)h);
        } else {
            snprintf(name, sizeof(name), "%.100s", (char *)h);
        }
        bool match = (type == '0' || type == '\0') &&
                     strcmp(wl_tar_path_strip_root(long_name ? long_name : name), want) == 0;
        free(long_name);
        long_name = NULL;
        if (!match) {
            if (skip(&r, padded(size)) < 0)
                break;
            continue;
        }
        if (size > max) {
            wl_error_set(err, 0, "%s in the layer is %llu bytes, over the "
                                 "limit of %zu",
                         want, (unsigned long long)size, max);
            break;
        }
        uint8_t *data = malloc(size ? (size_t)size : 1);
        if (!data) {
            wl_error_set(err, ENOMEM, "layer");
            break;
        }
        if (read_exact(&r, data, (size_t)size) < 0) {
            free(data);
            break;
        }
        *ret_data = data;
        *ret_len = (size_t)size;
        *ret_found = 1;
        rc = 0;
        break;
    }
    (void)gzclose(r.gz);
    return rc;
}
