/* A minimal unit-test harness: each test is a function; CHECK* macros
 * record a failure with file:line and return from the test.
 *
 *     static void test_x(void) { CHECK_INT(f(), 0); }
 *     WL_TEST_MAIN(test_x, test_y)
 */
#ifndef WL_TESTS_UNIT_TEST_H
#define WL_TESTS_UNIT_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int wl_test_failed;

#define WL_FAIL(...)                                                           \
    do {                                                                       \
        fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                      \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        wl_test_failed = 1;                                                    \
        return;                                                                \
    } while (0)

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            WL_FAIL("check failed: %s", #cond);                                \
    } while (0)

#define CHECK_INT(a, b)                                                        \
    do {                                                                       \
        long long wl_a_ = (long long)(a), wl_b_ = (long long)(b);              \
        if (wl_a_ != wl_b_)                                                    \
            WL_FAIL("%s == %lld, expected %lld", #a, wl_a_, wl_b_);            \
    } while (0)

#define CHECK_STR(a, b)                                                        \
    do {                                                                       \
        const char *wl_a_ = (a), *wl_b_ = (b);                                 \
        if (!wl_a_ || strcmp(wl_a_, wl_b_) != 0)                               \
            WL_FAIL("%s == \"%s\", expected \"%s\"", #a,                       \
                    wl_a_ ? wl_a_ : "(null)", wl_b_);                          \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                            \
    do {                                                                       \
        const char *wl_h_ = (hay), *wl_n_ = (needle);                          \
        if (!wl_h_ || !strstr(wl_h_, wl_n_))                                   \
            WL_FAIL("%s == \"%s\", expected it to contain \"%s\"", #hay,       \
                    wl_h_ ? wl_h_ : "(null)", wl_n_);                          \
    } while (0)

struct wl_test {
    const char *name;
    void (*fn)(void);
};

static inline int wl_test_run_all(const struct wl_test *tests, size_t n)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        wl_test_failed = 0;
        tests[i].fn();
        printf("%s %s\n", wl_test_failed ? "FAIL" : "ok  ", tests[i].name);
        failures += wl_test_failed;
    }
    printf("%zu passed, %d failed\n", n - (size_t)failures, failures);
    return failures ? 1 : 0;
}

/* A scratch directory for the whole test program: wl_test_tmpdir(dir)
 * makes it from a mkdtemp template ("/tmp/wl-x-XXXXXX", rewritten in
 * place) and removes it, with everything in it, at exit. */
static char *wl_test_tmpdir_path;

static inline void wl_test_tmpdir_remove(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", wl_test_tmpdir_path);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", wl_test_tmpdir_path);
}

static inline void wl_test_tmpdir(char *dir)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
    wl_test_tmpdir_path = dir;
    atexit(wl_test_tmpdir_remove);
}

#define WL_T(fn) {#fn, fn}
#define WL_TEST_MAIN(...)                                                      \
    int main(void)                                                             \
    {                                                                          \
        static const struct wl_test tests[] = {__VA_ARGS__};                   \
        return wl_test_run_all(tests, sizeof(tests) / sizeof(tests[0]));      \
    }

#endif
