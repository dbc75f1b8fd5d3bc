#include <errno.h>

#include "test.h"
#include "util/error.h"

static void test_error_set_formats_message(void)
{
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(wl_error_set(&err, 0, "bad %s %d", "thing", 7), -1);
    CHECK_STR(err.msg, "bad thing 7");
    CHECK_INT(err.errnum, 0);
    wl_error_clear(&err);
    CHECK(err.msg == NULL);
}

static void test_error_set_appends_strerror(void)
{
    struct wl_error err = WL_ERROR_INIT;
    wl_error_set(&err, ENOENT, "open %s", "/x");
    CHECK_STR(err.msg, "open /x: No such file or directory");
    CHECK_INT(err.errnum, ENOENT);
    wl_error_clear(&err);
}

static void test_error_prefix_adds_context_outermost_first(void)
{
    struct wl_error err = WL_ERROR_INIT;
    wl_error_set(&err, 0, "401 Unauthorized");
    wl_error_prefix(&err, "fetch manifest");
    CHECK_INT(wl_error_prefix(&err, "pull %s", "hello.wasm"), -1);
    CHECK_STR(err.msg, "pull hello.wasm: fetch manifest: 401 Unauthorized");
    wl_error_clear(&err);
}

static void test_error_set_replaces_earlier_message(void)
{
    struct wl_error err = WL_ERROR_INIT;
    wl_error_set(&err, 0, "first");
    wl_error_set(&err, 0, "second");
    CHECK_STR(err.msg, "second");
    wl_error_clear(&err);
}

static void test_error_accepts_null(void)
{
    CHECK_INT(wl_error_set(NULL, 0, "ignored"), -1);
    CHECK_INT(wl_error_prefix(NULL, "ignored"), -1);
    wl_error_clear(NULL);
    struct wl_error empty = WL_ERROR_INIT;
    CHECK_INT(wl_error_prefix(&empty, "no message yet"), -1);
    CHECK(empty.msg == NULL);
}

WL_TEST_MAIN(WL_T(test_error_set_formats_message),
             WL_T(test_error_set_appends_strerror),
             WL_T(test_error_prefix_adds_context_outermost_first),
             WL_T(test_error_set_replaces_earlier_message),
             WL_T(test_error_accepts_null))
