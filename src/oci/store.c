#include "oci/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/digest.h"
#include "util/fileio.h"
#include "util/log.h"

#define HEX_LEN WL_DIGEST_HEX_LEN

struct wl_store {
    int blobs_fd; /* <dir>/blobs/sha256 */
    int tmp_fd;   /* <dir>/tmp */
    int refs_fd;  /* <dir>/refs */
    char *blobs_path;
};

struct wl_store_writer {
    struct wl_store *store;
    EVP_MD_CTX *md;
    int fd;
    char tmp_name[64];
    char digest[80];
    uint64_t size, max_size;
};

static _Atomic unsigned long tmp_seq;

static int open_dir(int parent, const char *name, struct wl_error *err)
{
    if (mkdirat(parent, name, 0700) < 0 && errno != EEXIST)
        return wl_error_set(err, errno, "mkdir %s", name);
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return wl_error_set(err, errno, "open %s", name);
    return fd;
}

/* Removes the temp files ("blob.<pid>.<n>") of processes that are gone:
 * what a pull killed half-way (SIGKILL, a crash) left behind. They were
 * never accepted (a blob is renamed into blobs/ only once verified), only
 * their disk space is reclaimed. */
static void sweep_tmp(int tmp_fd)
{
    int fd = dup(tmp_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            (void)close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid;
        char *end;
        if (strncmp(e->d_name, "blob.", 5))
            continue;
        pid = strtol(e->d_name + 5, &end, 10);
        if (end == e->d_name + 5 || *end != '.' || pid <= 0)
            continue;
        if (pid != (long)getpid() && kill((pid_t)pid, 0) < 0 && errno == ESRCH &&
            unlinkat(tmp_fd, e->d_name, 0) == 0)
            log_info("removed the partial download %s of a process that is "
                     "gone", e->d_name);
    }
    closedir(d);
}

int wl_store_open(const char *dir, struct wl_store **ret, struct wl_error *err)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return wl_error_set(err, errno, "mkdir %s", dir);
    _cleanup_close_ int root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return wl_error_set(err, errno, "open %s", dir);

    struct wl_store *s = calloc(1, sizeof(*s));
    if (!s)
        return wl_error_set(err, ENOMEM, "store");
    s->blobs_fd = s->tmp_fd = s->refs_fd = -1;
    _cleanup_close_ int blobs = open_dir(root, "blobs", err);
    if (blobs < 0 || (s->blobs_fd = open_dir(blobs, "sha256", err)) < 0 ||
        (s->tmp_fd = open_dir(root, "tmp", err)) < 0 ||
        (s->refs_fd = open_dir(root, "refs", err)) < 0 ||
        asprintf(&s->blobs_path, "%s/blobs/sha256", dir) < 0) {
        s->blobs_path = NULL;
        wl_store_free(s);
        return wl_error_prefix(err, "open store %s", dir);
    }
    sweep_tmp(s->tmp_fd);
    *ret = s;
    return 0;
}

void wl_store_free(struct wl_store *s)
{
    if (!s)
        return;
    if (s->blobs_fd >= 0)
        (void)close(s->blobs_fd);
    if (s->tmp_fd >= 0)
        (void)close(s->tmp_fd);
    if (s->refs_fd >= 0)
        (void)close(s->refs_fd);
    free(s->blobs_path);
    free(s);
}

static const char *hex_of(const char *digest)
{
    return digest + strlen(WL_DIGEST_PREFIX);
}

bool wl_store_has(const struct wl_store *s, const char *digest)
{
    struct stat st;
    return wl_digest_valid(digest) &&
           fstatat(s->blobs_fd, hex_of(digest), &st, 0) == 0 &&
           S_ISREG(st.st_mode);
}

char *wl_store_blob_path(const struct wl_store *s, const char *digest)
{
    char *p = NULL;
    if (!wl_digest_valid(digest) ||
        asprintf(&p, "%s/%s", s->blobs_path, hex_of(digest)) < 0)
        return NULL;
    return p;
}

int wl_store_read(const struct wl_store *s, const char *digest, size_t max,
                  uint8_t **ret_data, size_t *ret_len, struct wl_error *err)
{
    if (!wl_digest_valid(digest))
        return wl_error_set(err, 0, "invalid digest \"%s\"",
                            digest ? digest : "");
    return wl_file_read(s->blobs_fd, hex_of(digest), max, ret_data, ret_len,
                        err);
}

int wl_store_writer_new(struct wl_store *s, const char *digest,
                        uint64_t max_size, struct wl_store_writer **ret,
                        struct wl_error *err)
{
    if (!wl_digest_valid(digest))
        return wl_error_set(err, 0, "invalid digest \"%s\"",
                            digest ? digest : "");
    struct wl_store_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return wl_error_set(err, ENOMEM, "store writer");
    w->store = s;
    w->max_size = max_size;
    w->fd = -1;
    snprintf(w->digest, sizeof(w->digest), "%s", digest);
    snprintf(w->tmp_name, sizeof(w->tmp_name), "blob.%ld.%lu", (long)getpid(),
             tmp_seq++);
    w->md = EVP_MD_CTX_new();
    if (!w->md || EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) {
        wl_store_writer_free(w);
        return wl_error_set(err, ENOMEM, "sha256");
    }
    w->fd = openat(s->tmp_fd, w->tmp_name,
                   O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        int e = errno;
        wl_store_writer_free(w);
        return wl_error_set(err, e, "create temp blob");
    }
    *ret = w;
    return 0;
}

uint64_t wl_store_writer_size(const struct wl_store_writer *w)
{
    return w->size;
}

int wl_store_writer_write(struct wl_store_writer *w, const void *data,
                          size_t len, struct wl_error *err)
{
    if (len > w->max_size - w->size) {
        wl_error_set(err, 0, "blob %s is larger than the limit of %llu bytes",
                     w->digest, (unsigned long long)w->max_size);
        err->errnum = EFBIG; /* so a caller can tell this case (puller.c) */
        return -1;
    }
    const uint8_t *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(w->fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return wl_error_set(err, errno, "write blob %s", w->digest);
        }
        p += n;
        left -= (size_t)n;
    }
    (void)EVP_DigestUpdate(w->md, data, len);
    w->size += len;
    return 0;
}

void wl_store_writer_free(struct wl_store_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0) {
        (void)close(w->fd);
        (void)unlinkat(w->store->tmp_fd, w->tmp_name, 0);
    }
    EVP_MD_CTX_free(w->md);
    free(w);
}

int wl_store_writer_commit(struct wl_store_writer *w, struct wl_error *err)
{
    unsigned char md[32];
    unsigned int n = 0;
    char got[80];
    int r = -1;

    (void)EVP_DigestFinal_ex(w->md, md, &n);
    wl_digest_from_sha256(md, got);
    if (strcmp(got, w->digest) != 0) {
        wl_error_set(err, 0, "digest mismatch: expected %s, got %s (%llu "
                             "bytes); not stored",
                     w->digest, got, (unsigned long long)w->size);
    } else if (fsync(w->fd) < 0) {
        wl_error_set(err, errno, "fsync blob %s", w->digest);
    } else if (renameat(w->store->tmp_fd, w->tmp_name, w->store->blobs_fd,
                        hex_of(w->digest)) < 0) {
        wl_error_set(err, errno, "store blob %s", w->digest);
    } else {
        (void)fsync(w->store->blobs_fd);
        (void)close(w->fd);
        w->fd = -1; /* renamed: nothing for free() to remove */
        r = 0;
    }
    wl_store_writer_free(w);
    return r;
}

int wl_store_put(struct wl_store *s, const void *data, size_t len,
                 const char *want_digest, struct wl_error *err)
{
    char digest[80];
    struct wl_store_writer *w = NULL;

    if (wl_digest_of(data, len, digest, err) < 0)
        return -1;
    if (want_digest && strcmp(want_digest, digest) != 0)
        return wl_error_set(err, 0, "digest mismatch: expected %s, got %s; "
                                    "not stored",
                            want_digest, digest);
    if (wl_store_has(s, digest))
        return 0;
    if (wl_store_writer_new(s, digest, len, &w, err) < 0)
        return -1;
    if (wl_store_writer_write(w, data, len, err) < 0) {
        wl_store_writer_free(w);
        return -1;
    }
    return wl_store_writer_commit(w, err);
}

/* Tags live in refs/<sha256 of the reference>, holding "digest\nref\n":
 * any reference string maps to a safe file name. */
static int tag_file(const char *ref, char *buf, struct wl_error *err)
{
    char d[80];
    if (wl_digest_of(ref, strlen(ref), d, err) < 0)
        return -1;
    memcpy(buf, hex_of(d), HEX_LEN + 1);
    return 0;
}

int wl_store_tag_set(struct wl_store *s, const char *ref, const char *digest,
                     struct wl_error *err)
{
    char name[72];
    _cleanup_free_ char *body = NULL;
    if (!wl_digest_valid(digest))
        return wl_error_set(err, 0, "invalid digest \"%s\"",
                            digest ? digest : "");
    if (tag_file(ref, name, err) < 0)
        return wl_error_prefix(err, "tag %s", ref);
    int n = asprintf(&body, "%s\n%s\n", digest, ref);
    if (n < 0)
        return wl_error_set(err, ENOMEM, "tag");
    return wl_file_write_atomic(s->refs_fd, name, body, (size_t)n, 0600, err);
}

char *wl_store_tag_get(const struct wl_store *s, const char *ref)
{
    char name[72];
    struct wl_error err = WL_ERROR_INIT;
    uint8_t *data = NULL;
    size_t len = 0;

    if (tag_file(ref, name, &err) < 0) {
        wl_error_clear(&err);
        return NULL;
    }
    if (wl_file_read(s->refs_fd, name, 4096, &data, &len, &err) < 0) {
        wl_error_clear(&err);
        return NULL;
    }
    /* "digest\nref\n": the second line guards against a damaged file. */
    char *nl = strchr((char *)data, '\n');
    char *ref_line = nl ? nl + 1 : NULL;
    if (nl)
        *nl = '\0';
    if (ref_line)
        ref_line[strcspn(ref_line, "\n")] = '\0';
    if (!ref_line || !wl_digest_valid((char *)data) ||
        strcmp(ref_line, ref) != 0) {
        free(data);
        return NULL;
    }
    return (char *)data;
}

static bool kept(const char *hex, const char *const *keep, size_t nkeep)
{
    for (size_t i = 0; i < nkeep; i++)
        if (wl_digest_valid(keep[i]) && strcmp(hex_of(keep[i]), hex) == 0)
            return true;
    return false;
}

/* Removes the entries of dirfd not in keep (all of them when all is
 * set); returns how many. */
static int sweep(int dirfd, const char *const *keep, size_t nkeep, bool all,
                 struct wl_error *err)
{
    int dup = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
    if (!d) {
        if (dup >= 0)
            (void)close(dup);
        return wl_error_set(err, errno, "gc: open directory");
    }
    rewinddir(d);
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (!all && kept(e->d_name, keep, nkeep))
            continue;
        if (unlinkat(dirfd, e->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}

int wl_store_gc(struct wl_store *s, const char *const *keep, size_t nkeep,
                struct wl_error *err)
{
    if (sweep(s->tmp_fd, NULL, 0, true, err) < 0)
        return -1;
    return sweep(s->blobs_fd, keep, nkeep, false, err);
}
