/* The content store in a fresh temp directory per test: verified blobs,
 * tags, garbage collection and concurrent pulls of one blob. */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci/store.h"
#include "test.h"

#define BAD_DIGESTS                                                            \
    {                                                                          \
        "sha256:abc", "sha512:" HEX64, "sha256:" HEX64 "00",                   \
            "sha256:../../../../etc/passwd", "sha256:" HEX64_UPPER, "", HEX64  \
    }
#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX64_UPPER                                                            \
    "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

struct tmpstore {
    char dir[64];
    struct wl_store *s;
};

static int ts_open(struct tmpstore *t)
{
    struct wl_error err = WL_ERROR_INIT;
    snprintf(t->dir, sizeof(t->dir), "/tmp/wl-test-store-XXXXXX");
    if (!mkdtemp(t->dir))
        return -1;
    if (wl_store_open(t->dir, &t->s, &err) < 0) {
        fprintf(stderr, "  store open: %s\n", err.msg);
        wl_error_clear(&err);
        return -1;
    }
    return 0;
}

static void ts_close(struct tmpstore *t)
{
    wl_store_free(t->s);
    t->s = NULL;
    (void)nftw(t->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Entries in <dir>/<sub>, not counting "." and "..". */
static int count_entries(const struct tmpstore *t, const char *sub)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", t->dir, sub);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* A pull killed half-way leaves tmp/blob.<pid>.<n>: the next open of the
 * store removes those of processes that are gone, and nothing else. */
static void test_open_sweeps_partial_downloads_of_dead_processes(void)
{
    struct tmpstore t;
    CHECK_INT(ts_open(&t), 0);
    wl_store_free(t.s);
    t.s = NULL;
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    CHECK(child > 0);
    CHECK_INT(waitpid(child, NULL, 0), child); /* its pid is now free */
    char dead[160], alive[160], other[160];
    snprintf(dead, sizeof(dead), "%s/tmp/blob.%ld.7", t.dir, (long)child);
    snprintf(alive, sizeof(alive), "%s/tmp/blob.%ld.1", t.dir, (long)getpid());
    snprintf(other, sizeof(other), "%s/tmp/notes", t.dir);
    for (const char *p = dead; p; p = p == dead ? alive : p == alive ? other : NULL) {
        FILE *f = fopen(p, "w");
        CHECK(f);
        fputs("partial", f);
        fclose(f);
    }
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(wl_store_open(t.dir, &t.s, &err), 0);
    CHECK(access(dead, F_OK) != 0);
    CHECK_INT(access(alive, F_OK), 0);
    CHECK_INT(access(other, F_OK), 0);
    ts_close(&t);
}

static void test_digest_of_known_value(void)
{
    char d[72];
    CHECK_INT(wl_digest_of("abc", 3, d, NULL), 0);
    CHECK_STR(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410"
                 "ff61f20015ad");
    CHECK(wl_digest_valid(d));
}

static void test_digest_valid_refuses_malformed(void)
{
    static const char *bad[] = BAD_DIGESTS;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (wl_digest_valid(bad[i]))
            WL_FAIL("\"%s\" accepted", bad[i]);
    CHECK(!wl_digest_valid(NULL));
    CHECK(wl_digest_valid("sha256:" HEX64));
}

static void test_put_has_read(void)
{
    struct tmpstore t;
    struct wl_error err = WL_ERROR_INIT;
    char d[72];
    uint8_t *data = NULL;
    size_t len = 0;
    CHECK_INT(ts_open(&t), 0);
    (void)wl_digest_of("hello blob", 10, d, NULL);
    int had = wl_store_has(t.s, d);
    int put = wl_store_put(t.s, "hello blob", 10, d, &err);
    int has = wl_store_has(t.s, d);
    int rd = wl_store_read(t.s, d, 1024, &data, &len, &err);
    char *path = wl_store_blob_path(t.s, d);
    char want_path[160];
    snprintf(want_path, sizeof(want_path), "%s/blobs/sha256/%s", t.dir, d + 7);
    int tmp_left = count_entries(&t, "tmp");
    ts_close(&t);
    CHECK_INT(had, 0);
    CHECK_INT(put, 0);
    CHECK_INT(has, 1);
    CHECK_INT(rd, 0);
    CHECK_INT(len, 10);
    CHECK(memcmp(data, "hello blob", 10) == 0);
    free(data);
    CHECK_STR(path, want_path);
    free(path);
    CHECK_INT(tmp_left, 0);
}

static void test_put_twice_is_idempotent(void)
{
    struct tmpstore t;
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(ts_open(&t), 0);
    int a = wl_store_put(t.s, "same", 4, NULL, &err);
    int b = wl_store_put(t.s, "same", 4, NULL, &err);
    int n = count_entries(&t, "blobs/sha256");
    ts_close(&t);
    CHECK_INT(a, 0);
    CHECK_INT(b, 0);
    CHECK_INT(n, 1);
}

static void test_put_with_wrong_digest_refused(void)
{
    struct tmpstore t;
    struct wl_error err = WL_ERROR_INIT;
    char d[72];
    CHECK_INT(ts_open(&t), 0);
    (void)wl_digest_of("other", 5, d, NULL);
    int r = wl_store_put(t.s, "hello", 5, d, &err);
    int n = count_entries(&t, "blobs/sha256");
    ts_close(&t);
    CHECK_INT(r, -1);
    CHECK_INT(n, 0);
    CHECK_CONTAINS(err.msg, d);
    wl_error_clear(&err);
}

static void test_writer_commit_with_matching_digest(void)
{
    struct tmpstore t;
    struct wl_error err = WL_ERROR_INIT;
    struct wl_store_writer *w = NULL;
    char d[72];
    CHECK_INT(ts_open(&t), 0);
    (void)wl_digest_of("part one, part two", 18, d, NULL);
    int r0 = wl_store_writer_new(t.s, d, 18, &w, &err);
    int r1 = r0 == 0 ? wl_store_writer_write(w, "part one, ", 10, &err) : -1;
    int r2 = r1 == 0 ? wl_store_writer_write(w, "part two", 8, &err) : -1;
    uint64_t size = r2 == 0 ? wl_store_writer_size(w) : 0;
    int rc = r2 == 0 ? wl_store_writer_commit(w, &err) : -1;
    int has = wl_store_has(t.s, d);
    int tmp_left = count_entries(&t, "tmp");
    ts_close(&t);
    CHECK_INT(r2, 0);
    CHECK_INT(size, 18);
    CHECK_INT(rc, 0);
    CHECK_INT(has, 1);
    CHECK_INT(tmp_left, 0);
}

static void test_writer_mismatch_names_both_digests(void)
{
    struct tmpstore t;
    struct wl_error err = WL_ERROR_INIT;
    struct wl_store_writer *w = NULL;
    char want[72], got[72];
    CHECK_INT(ts_open(&t), 0);
    (void)wl_digest_of("expected", 8, want, NULL);
    (void)wl_digest_of("tampered", 8, got, NULL);
    int r0 = wl_store_writer_new(t.s, want, 100, &w, &err);
    int r1 = r0 == 0 ? wl_store_writer_write(w, "tampered", 8, &err) : -1;
    int rc = r1 == 0 ? wl_store_writer_commit(w, &err) : 0;
    int blobs = count_entries(&t, "blobs/sha256");
    int tmp_left = count_entries(&t, "tmp");
    int has = wl_store_has(t.s, want) || wl_store_has(t.s, got);
    ts_close(&t);
    CHECK_INT(rc, -1);
    char expect[256];
    snprintf(expect, sizeof(expect),
             "digest mismatch: expected %s, got %s (8 bytes); not stored", want,
             got);
    CHECK_STR(err.msg, expect);
    wl_error_clear(&err);
    CHECK_INT(blobs, 0);
    CHECK_INT(tmp_left, 0);
    CHECK_INT(has, 0);
}

static void test_writer_over_max_size_refused(void)
{
    struct tmpstore t;
    struct wl_error err = WL_ERROR_INIT;
    struct wl_store_writer *w = NULL;
    char d[72];
    CHECK_INT(ts_open(&t), 0);
    (void)wl_digest_of("0123456789", 10, d, NULL);
    int r0 = wl_store_writer_new(t.s, d, 9, &w, &err);
    int r1 = r0 == 0 ? wl_store_writer_write(w, "01234", 5, &err) : -1;
    int r2 = r1 == 0 ? wl_store_writer_write(w, "56789", 5, &err) : 0;
    uint64_t size = r0 == 0 ? wl_store_writer_size(w) : 0;
    wl_store_writer_free(w);
    int tmp_left = count_entries(&t, "tmp");
    ts_close(&t);
    CHECK_INT(r1, 0);
    CHECK_INT(r2, -1);
    CHECK_INT(size, 5);
    char expect[160];
    snprintf(expect, sizeof(expect),
             "blob %s is larger than the limit of 9 bytes", d);
    CHECK_STR(err.msg, expect);
    wl_error_clear(&err);
    CHECK_INT(tmp_left, 0);
}

static void test_read_respects_max(void)
{
    struct tmpstore t;
    struct wl_error err = WL_ERROR_INIT;
    char d[72];
    uint8_t *data = NULL;
    size_t len = 0;
    CHECK_INT(ts_open(&t), 0);
    (void)wl_digest_of("0123456789", 10, d, NULL);
    int put = wl_store_put(t.s, "0123456789", 10, NULL, &err);
    int rd = wl_store_read(t.s, d, 9, &data, &len, &err);
    ts_close(&t);
    free(data);
    CHECK_INT(put, 0);
    CHECK_INT(rd, -1);
    CHECK(err.msg != NULL);
    wl_error_clear(&err);
}

static void test_read_missing_blob_fails(void)
{
    struct tmpstore t;
    struct wl_error err = WL_ERROR_INIT;
    uint8_t *data = NULL;
    size_t len = 0;
    CHECK_INT(ts_open(&t), 0);
    int rd = wl_store_read(t.s, "sha256:" HEX64, 100, &data, &len, &err);
    ts_close(&t);
    CHECK_INT(rd, -1);
    CHECK(data == NULL);
    CHECK(err.msg != NULL);
    wl_error_clear(&err);
}

static void test_tag_round_trip_with_slash_colon_at(void)
{
    static const char ref[] =
        "127.0.0.1:25001/team/app/hello:v1.2@sha256:" HEX64;
    struct tmpstore t;
    struct wl_error err = WL_ERROR_INIT;
    char d[72], d2[72];
    CHECK_INT(ts_open(&t), 0);
    (void)wl_digest_of("manifest", 8, d, NULL);
    (void)wl_digest_of("manifest 2", 10, d2, NULL);
    int before_set = wl_store_tag_get(t.s, ref) == NULL;
    int r = wl_store_tag_set(t.s, ref, d, &err);
    char *got = wl_store_tag_get(t.s, ref);
    int r2 = wl_store_tag_set(t.s, ref, d2, &err);
    char *got2 = wl_store_tag_get(t.s, ref);
    char *other = wl_store_tag_get(t.s, "127.0.0.1:25001/team/app/hello:v1");
    int refs = count_entries(&t, "refs");
    ts_close(&t);
    CHECK(before_set);
    CHECK_INT(r, 0);
    CHECK_INT(r2, 0);
    CHECK_STR(got, d);
    free(got);
    CHECK_STR(got2, d2);
    free(got2);
    CHECK(other == NULL);
    CHECK_INT(refs, 1);
}

/* Overwrites the tag file of ref with body. */
static int damage_tag(const struct tmpstore *t, const char *ref,
                      const char *body)
{
    char d[72], path[200];
    (void)wl_digest_of(ref, strlen(ref), d, NULL);
    snprintf(path, sizeof(path), "%s/refs/%s", t->dir, d + 7);
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, body, strlen(body));
    close(fd);
    return n == (ssize_t)strlen(body) ? 0 : -1;
}

static void test_damaged_tag_file_reads_as_null(void)
{
    static const char ref[] = "docker.io/library/hello:latest";
    static const char *bodies[] = {
        "",
        "sha256:" HEX64,                               /* no ref line */
        "sha256:" HEX64 "\n",                          /* empty ref line */
        "sha256:" HEX64 "\ndocker.io/library/other\n", /* wrong ref */
        "sha256:0123\ndocker.io/library/hello:latest\n",
        "garbage\ndocker.io/library/hello:latest\n",
    };
    struct tmpstore t;
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(ts_open(&t), 0);
    int r = wl_store_tag_set(t.s, ref, "sha256:" HEX64, &err);
    char *intact = wl_store_tag_get(t.s, ref);
    int ok = intact && strcmp(intact, "sha256:" HEX64) == 0;
    free(intact);
    int bad = -1;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        char *got = NULL;
        if (damage_tag(&t, ref, bodies[i]) < 0 ||
            (got = wl_store_tag_get(t.s, ref)) != NULL) {
            free(got);
            bad = (int)i;
            break;
        }
    }
    ts_close(&t);
    CHECK_INT(r, 0);
    CHECK(ok);
    CHECK_INT(bad, -1);
}

static void test_gc_keeps_listed_and_removes_others(void)
{
    struct tmpstore t;
    struct wl_error err = WL_ERROR_INIT;
    char a[72], b[72], c[72];
    struct wl_store_writer *w = NULL;
    CHECK_INT(ts_open(&t), 0);
    (void)wl_digest_of("a", 1, a, NULL);
    (void)wl_digest_of("b", 1, b, NULL);
    (void)wl_digest_of("c", 1, c, NULL);
    int puts = wl_store_put(t.s, "a", 1, NULL, &err) |
               wl_store_put(t.s, "b", 1, NULL, &err) |
               wl_store_put(t.s, "c", 1, NULL, &err);
    /* a leftover from a pull that died: a temp file in tmp/ */
    int wr = wl_store_writer_new(t.s, "sha256:" HEX64, 10, &w, &err);
    if (wr == 0)
        wr = wl_store_writer_write(w, "partial", 7, &err);
    int tmp_before = count_entries(&t, "tmp");
    const char *keep[] = {a, "not-a-digest", c};
    int removed = wl_store_gc(t.s, keep, 3, &err);
    int has_a = wl_store_has(t.s, a), has_b = wl_store_has(t.s, b),
        has_c = wl_store_has(t.s, c);
    int tmp_after = count_entries(&t, "tmp");
    int blobs = count_entries(&t, "blobs/sha256");
    /* the writer's temp file is gone already; dropping it is harmless */
    wl_store_writer_free(w);
    ts_close(&t);
    CHECK_INT(puts, 0);
    CHECK_INT(wr, 0);
    CHECK_INT(tmp_before, 1);
    CHECK_INT(removed, 1);
    CHECK_INT(has_a, 1);
    CHECK_INT(has_b, 0);
    CHECK_INT(has_c, 1);
    CHECK_INT(tmp_after, 0);
    CHECK_INT(blobs, 2);
}

static void test_gc_with_empty_keep_removes_all(void)
{
    struct tmpstore t;
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(ts_open(&t), 0);
    int puts = wl_store_put(t.s, "a", 1, NULL, &err) |
               wl_store_put(t.s, "b", 1, NULL, &err);
    int removed = wl_store_gc(t.s, NULL, 0, &err);
    int blobs = count_entries(&t, "blobs/sha256");
    ts_close(&t);
    CHECK_INT(puts, 0);
    CHECK_INT(removed, 2);
    CHECK_INT(blobs, 0);
}

static void test_invalid_digests_refused_everywhere(void)
{
    static const char *bad[] = BAD_DIGESTS;
    struct tmpstore t;
    CHECK_INT(ts_open(&t), 0);
    int failures = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct wl_error e1 = WL_ERROR_INIT, e2 = WL_ERROR_INIT,
                        e3 = WL_ERROR_INIT, e4 = WL_ERROR_INIT;
        struct wl_store_writer *w = NULL;
        uint8_t *data = NULL;
        size_t len = 0;
        char *path = wl_store_blob_path(t.s, bad[i]);
        if (wl_store_has(t.s, bad[i]) || path ||
            wl_store_read(t.s, bad[i], 100, &data, &len, &e1) != -1 ||
            !e1.msg || wl_store_writer_new(t.s, bad[i], 100, &w, &e2) != -1 ||
            !e2.msg || w || wl_store_put(t.s, "x", 1, bad[i], &e3) != -1 ||
            !e3.msg || wl_store_tag_set(t.s, "ref", bad[i], &e4) != -1 ||
            !e4.msg) {
            fprintf(stderr, "  \"%s\" not refused everywhere\n", bad[i]);
            failures++;
        }
        free(path);
        free(data);
        wl_store_writer_free(w);
        wl_error_clear(&e1);
        wl_error_clear(&e2);
        wl_error_clear(&e3);
        wl_error_clear(&e4);
    }
    int blobs = count_entries(&t, "blobs/sha256");
    int refs = count_entries(&t, "refs");
    int tmp = count_entries(&t, "tmp");
    ts_close(&t);
    CHECK_INT(failures, 0);
    CHECK_INT(blobs, 0);
    CHECK_INT(refs, 0);
    CHECK_INT(tmp, 0);
}

static void test_null_digest_refused_with_message(void)
{
    struct tmpstore t;
    struct wl_error e1 = WL_ERROR_INIT, e2 = WL_ERROR_INIT, e3 = WL_ERROR_INIT;
    struct wl_store_writer *w = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    CHECK_INT(ts_open(&t), 0);
    int has = wl_store_has(t.s, NULL);
    char *path = wl_store_blob_path(t.s, NULL);
    int rd = wl_store_read(t.s, NULL, 100, &data, &len, &e1);
    int wn = wl_store_writer_new(t.s, NULL, 100, &w, &e2);
    int ts = wl_store_tag_set(t.s, "ref", NULL, &e3);
    ts_close(&t);
    CHECK_INT(has, 0);
    CHECK(path == NULL);
    CHECK_INT(rd, -1);
    CHECK_INT(wn, -1);
    CHECK_INT(ts, -1);
    CHECK_STR(e1.msg, "invalid digest \"\"");
    CHECK_STR(e2.msg, "invalid digest \"\"");
    CHECK_STR(e3.msg, "invalid digest \"\"");
    wl_error_clear(&e1);
    wl_error_clear(&e2);
    wl_error_clear(&e3);
}

struct writer_arg {
    struct wl_store *s;
    const char *digest;
    const char *data;
    size_t len;
    int rc;
};

static void *write_blob(void *p)
{
    struct writer_arg *a = p;
    struct wl_error err = WL_ERROR_INIT;
    struct wl_store_writer *w = NULL;
    a->rc = -1;
    if (wl_store_writer_new(a->s, a->digest, a->len, &w, &err) < 0)
        goto out;
    /* in small pieces, so the threads interleave */
    for (size_t off = 0; off < a->len; off += 4096) {
        size_t n = a->len - off < 4096 ? a->len - off : 4096;
        if (wl_store_writer_write(w, a->data + off, n, &err) < 0) {
            wl_store_writer_free(w);
            goto out;
        }
    }
    a->rc = wl_store_writer_commit(w, &err);
out:
    if (err.msg)
        fprintf(stderr, "  writer: %s\n", err.msg);
    wl_error_clear(&err);
    return NULL;
}

static void test_concurrent_writers_of_one_digest(void)
{
    enum { NTHREADS = 4, SIZE = 256 * 1024 };
    struct tmpstore t;
    char d[72];
    char *data = malloc(SIZE);
    CHECK(data);
    for (size_t i = 0; i < SIZE; i++)
        data[i] = (char)(i * 31 + i / 7);
    (void)wl_digest_of(data, SIZE, d, NULL);
    if (ts_open(&t) < 0) {
        free(data);
        WL_FAIL("store open");
    }
    pthread_t th[NTHREADS];
    struct writer_arg args[NTHREADS];
    int started = 0;
    for (int i = 0; i < NTHREADS; i++) {
        args[i] = (struct writer_arg){t.s, d, data, SIZE, -1};
        if (pthread_create(&th[i], NULL, write_blob, &args[i]) == 0)
            started++;
        else
            break;
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    struct wl_error err = WL_ERROR_INIT;
    uint8_t *back = NULL;
    size_t len = 0;
    int rd = wl_store_read(t.s, d, SIZE, &back, &len, &err);
    int same = rd == 0 && len == SIZE && memcmp(back, data, SIZE) == 0;
    free(back);
    free(data);
    wl_error_clear(&err);
    int blobs = count_entries(&t, "blobs/sha256");
    int tmp = count_entries(&t, "tmp");
    ts_close(&t);
    CHECK_INT(started, NTHREADS);
    for (int i = 0; i < NTHREADS; i++)
        CHECK_INT(args[i].rc, 0);
    CHECK(same);
    CHECK_INT(blobs, 1);
    CHECK_INT(tmp, 0);
}

static void test_reopen_sees_existing_blobs(void)
{
    struct tmpstore t;
    struct wl_error err = WL_ERROR_INIT;
    struct wl_store *s2 = NULL;
    char d[72];
    CHECK_INT(ts_open(&t), 0);
    (void)wl_digest_of("kept", 4, d, NULL);
    int put = wl_store_put(t.s, "kept", 4, NULL, &err);
    int op = wl_store_open(t.dir, &s2, &err);
    int has = op == 0 && wl_store_has(s2, d);
    wl_store_free(s2);
    ts_close(&t);
    CHECK_INT(put, 0);
    CHECK_INT(op, 0);
    CHECK_INT(has, 1);
}

WL_TEST_MAIN(WL_T(test_digest_of_known_value),
             WL_T(test_digest_valid_refuses_malformed), WL_T(test_put_has_read),
             WL_T(test_put_twice_is_idempotent),
             WL_T(test_put_with_wrong_digest_refused),
             WL_T(test_writer_commit_with_matching_digest),
             WL_T(test_writer_mismatch_names_both_digests),
             WL_T(test_writer_over_max_size_refused),
             WL_T(test_read_respects_max), WL_T(test_read_missing_blob_fails),
             WL_T(test_tag_round_trip_with_slash_colon_at),
             WL_T(test_damaged_tag_file_reads_as_null),
             WL_T(test_gc_keeps_listed_and_removes_others),
             WL_T(test_gc_with_empty_keep_removes_all),
             WL_T(test_invalid_digests_refused_everywhere),
             WL_T(test_null_digest_refused_with_message),
             WL_T(test_concurrent_writers_of_one_digest),
             WL_T(test_reopen_sees_existing_blobs),
             WL_T(test_open_sweeps_partial_downloads_of_dead_processes))
