/* emptyDir sizeLimit and medium Memory (src/pod/emptydir.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pod/emptydir.h"
#include "test.h"

static char dir[] = "/tmp/wl-test-emptydir-XXXXXX";

static struct wl_volume vol(enum wl_volume_type type, const char *source)
{
    struct wl_volume v = {.name = "scratch", .type = type};
    v.source = json_loads(source, 0, NULL);
    return v;
}

static void test_limit_parses_size_limit_as_written(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_volume v = vol(WL_VOL_EMPTYDIR, "{\"sizeLimit\": \"1Mi\"}");
    int64_t bytes = 0;
    const char *text = NULL;
    CHECK_INT(wl_emptydir_limit(&v, &bytes, &text, &err), 1);
    CHECK_INT(bytes, 1048576);
    CHECK_STR(text, "1Mi");
    CHECK(wl_emptydir_managed(&v));
    CHECK(!wl_emptydir_memory(&v));
    json_decref(v.source);
}

static void test_limit_none_zero_and_other_types(void)
{
    struct wl_error err = WL_ERROR_INIT;
    int64_t bytes = 7;
    const char *text = NULL;
    struct wl_volume plain = vol(WL_VOL_EMPTYDIR, "{}");
    struct wl_volume zero = vol(WL_VOL_EMPTYDIR, "{\"sizeLimit\": \"0\"}");
    struct wl_volume cm =
        vol(WL_VOL_CONFIGMAP, "{\"name\": \"x\", \"sizeLimit\": \"1Mi\"}");
    CHECK_INT(wl_emptydir_limit(&plain, &bytes, &text, &err), 0);
    CHECK_INT(wl_emptydir_limit(&zero, &bytes, &text, &err), 0);
    CHECK_INT(wl_emptydir_limit(&cm, &bytes, &text, &err), 0);
    CHECK_INT(bytes, 7); /* untouched */
    CHECK(!wl_emptydir_managed(&plain));
    CHECK(!wl_emptydir_managed(&cm));
    json_decref(plain.source);
    json_decref(zero.source);
    json_decref(cm.source);
}

static void test_limit_refuses_a_bad_quantity(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_volume v = vol(WL_VOL_EMPTYDIR, "{\"sizeLimit\": \"lots\"}");
    struct wl_volume n = vol(WL_VOL_EMPTYDIR, "{\"sizeLimit\": 5}");
    int64_t bytes = 0;
    const char *text = NULL;
    CHECK_INT(wl_emptydir_limit(&v, &bytes, &text, &err), -1);
    CHECK_CONTAINS(err.msg, "volume \"scratch\": sizeLimit");
    wl_error_clear(&err);
    CHECK_INT(wl_emptydir_limit(&n, &bytes, &text, &err), -1);
    CHECK_STR(err.msg,
              "volume \"scratch\": sizeLimit is not a quantity string");
    wl_error_clear(&err);
    json_decref(v.source);
    json_decref(n.source);
}

static void test_memory_medium_is_managed(void)
{
    struct wl_volume v = vol(WL_VOL_EMPTYDIR, "{\"medium\": \"Memory\"}");
    struct wl_volume d = vol(WL_VOL_EMPTYDIR, "{\"medium\": \"\"}");
    CHECK(wl_emptydir_memory(&v));
    CHECK(wl_emptydir_managed(&v));
    CHECK(!wl_emptydir_memory(&d));
    CHECK(!wl_emptydir_managed(&d));
    json_decref(v.source);
    json_decref(d.source);
}

/* As root a tmpfs of the given size, detached before the pod dir goes;
 * otherwise a plain directory (EPERM). */
static void test_memory_setup_mounts_tmpfs_as_root_and_detaches(void)
{
    struct wl_error err = WL_ERROR_INIT;
    char vdir[256], pod[200];
    snprintf(pod, sizeof(pod), "%s/pod", dir);
    snprintf(vdir, sizeof(vdir), "%s/volumes/mem", pod);
    int merr = -1;
    CHECK_INT(wl_emptydir_setup_memory(vdir, 1 << 20, &merr, &err), 0);
    struct stat st;
    CHECK_INT(stat(vdir, &st), 0);
    CHECK(S_ISDIR(st.st_mode));
    if (geteuid() != 0) {
        CHECK_INT(merr, EPERM);
        CHECK(!wl_emptydir_is_mount(vdir));
        return;
    }
    if (merr != 0) {
        /* Root without CAP_SYS_ADMIN (a container): a plain dir too. */
        fprintf(stderr, "  (tmpfs not mountable here: %s)\n", strerror(merr));
        CHECK(!wl_emptydir_is_mount(vdir));
        return;
    }
    CHECK(wl_emptydir_is_mount(vdir));
    /* A second setup (a resync, a restarted wasmlet) keeps it. */
    CHECK_INT(wl_emptydir_setup_memory(vdir, 1 << 20, &merr, &err), 0);
    CHECK_INT(merr, 0);
    /* size= is a hard cap: 2 MiB do not fit in 1 MiB. */
    char f[300];
    snprintf(f, sizeof(f), "%s/big", vdir);
    FILE *fp = fopen(f, "w");
    CHECK(fp != NULL);
    static char chunk[1 << 20];
    size_t put = fwrite(chunk, 1, sizeof(chunk), fp);
    put += fwrite(chunk, 1, sizeof(chunk), fp);
    int closed = fclose(fp);
    CHECK(put < 2u << 20 || closed != 0);
    CHECK_INT(wl_emptydir_detach_all(pod, &err), 0);
    CHECK(!wl_emptydir_is_mount(vdir));
    CHECK_INT(access(f, F_OK), -1); /* the file was in the tmpfs */
    CHECK_INT(wl_emptydir_detach(vdir, &err), 0); /* nothing to do */
}

static void test_detach_all_without_volumes_is_fine(void)
{
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(wl_emptydir_detach_all("/nonexistent/wl-pod", &err), 0);
    CHECK(err.msg == NULL);
}

static void detach(void)
{
    char pod[200];
    snprintf(pod, sizeof(pod), "%s/pod", dir);
    (void)wl_emptydir_detach_all(pod, NULL); /* after a failed check */
}

static void test_setup(void)
{
    wl_test_tmpdir(dir);
    atexit(detach); /* runs before the dir is removed */
}

WL_TEST_MAIN(WL_T(test_setup), WL_T(test_limit_parses_size_limit_as_written),
             WL_T(test_limit_none_zero_and_other_types),
             WL_T(test_limit_refuses_a_bad_quantity),
             WL_T(test_memory_medium_is_managed),
             WL_T(test_memory_setup_mounts_tmpfs_as_root_and_detaches),
             WL_T(test_detach_all_without_volumes_is_fine))
