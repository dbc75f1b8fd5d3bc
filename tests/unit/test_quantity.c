#include <stdint.h>

#include "kube/quantity.h"
#include "test.h"

static const struct {
    const char *in;
    int64_t bytes;
} good[] = {
    {"0", 0},
    {"1", 1},
    {"128974848", 128974848},
    {"129e6", 129000000},
    {"129M", 129000000},
    {"123Mi", 128974848},
    {"1Ki", 1024},
    {"1k", 1000},
    {"1.5Gi", 1610612736},
    {"0.5Ki", 512},
    {"1e3", 1000},
    {"1E3", 1000},
    {"+2", 2},
    {"1.1", 2},      /* fractions round up, as Quantity.Value() */
    {"1500m", 2},    /* 1.5 bytes -> 2 */
    {"1m", 1},       /* a milli-byte is still a byte once rounded up */
    {"0m", 0},
    {"1e-3", 1},
    {"7Ei", 7 * (INT64_C(1) << 60)},
    {"9223372036854775807", INT64_MAX},
    {".5k", 500},
};

static void test_quantity_parses_kubernetes_forms(void)
{
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int64_t v = -1;
        struct wl_error err = WL_ERROR_INIT;
        if (wl_quantity_parse_bytes(good[i].in, &v, &err) < 0)
            WL_FAIL("\"%s\": %s", good[i].in, err.msg);
        if (v != good[i].bytes)
            WL_FAIL("\"%s\" -> %lld, expected %lld", good[i].in, (long long)v,
                    (long long)good[i].bytes);
    }
}

static const struct {
    const char *in;
    const char *msg;
} bad[] = {
    {"", "empty quantity"},
    {"Mi", "has no number"},
    {"12Qi", "unknown suffix \"Qi\""},
    {"1.2.3", "two points"},
    {"-1Mi", "is negative"},
    {"8Ei", "is too large"},
    {"9223372036854775808", "is too large"},
    {"1e100", "is too large"},
    {"1e", "unknown suffix"},
    {"1 Mi", "unknown suffix"},
    {"12345678901234567890123456789012345678901234567890123456789012345",
     "longer than 64 characters"},
};

static void test_quantity_rejects_malformed_with_clear_message(void)
{
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v = 42;
        struct wl_error err = WL_ERROR_INIT;
        if (wl_quantity_parse_bytes(bad[i].in, &v, &err) != -1)
            WL_FAIL("\"%s\" accepted as %lld", bad[i].in, (long long)v);
        CHECK_CONTAINS(err.msg, bad[i].msg);
        CHECK_INT(v, 42); /* out-parameter untouched on failure */
        wl_error_clear(&err);
    }
}

static const struct {
    const char *in;
    int64_t millis;
} good_millis[] = {
    {"500m", 500},
    {"2", 2000},
    {"0.5", 500},
    {"0", 0},
    {"1u", 1},
    {"1500u", 2},
    {"0.0001", 1},
    {"1k", 1000000},
    {"1Ki", 1024000},
    {"100m", 100},
    {"1.25", 1250},
    {"2e-3", 2},
    {"9223372036854775m", 9223372036854775},
};

static void test_quantity_millis_parses_cpu_forms(void)
{
    for (size_t i = 0; i < sizeof(good_millis) / sizeof(good_millis[0]); i++) {
        int64_t v = -1;
        struct wl_error err = WL_ERROR_INIT;
        if (wl_quantity_parse_millis(good_millis[i].in, &v, &err) < 0)
            WL_FAIL("\"%s\": %s", good_millis[i].in, err.msg);
        if (v != good_millis[i].millis)
            WL_FAIL("\"%s\" -> %lld, expected %lld", good_millis[i].in,
                    (long long)v, (long long)good_millis[i].millis);
    }
}

static void test_quantity_millis_rejects_malformed_and_too_large(void)
{
    static const struct {
        const char *in, *msg;
    } bad_millis[] = {
        {"", "empty quantity"},
        {"-1", "quantity \"-1\" is negative"},
        {"abc", "quantity \"abc\" has no number"},
        {"1x", "quantity \"1x\": unknown suffix \"x\""},
        {"9223372036854776", "quantity \"9223372036854776\" is too large"},
        {"10E", "quantity \"10E\" is too large"},
    };
    for (size_t i = 0; i < sizeof(bad_millis) / sizeof(bad_millis[0]); i++) {
        int64_t v = 42;
        struct wl_error err = WL_ERROR_INIT;
        if (wl_quantity_parse_millis(bad_millis[i].in, &v, &err) != -1)
            WL_FAIL("\"%s\" accepted as %lld", bad_millis[i].in, (long long)v);
        CHECK_STR(err.msg, bad_millis[i].msg);
        CHECK_INT(v, 42);
        wl_error_clear(&err);
    }
}

WL_TEST_MAIN(WL_T(test_quantity_parses_kubernetes_forms),
             WL_T(test_quantity_rejects_malformed_with_clear_message),
             WL_T(test_quantity_millis_parses_cpu_forms),
             WL_T(test_quantity_millis_rejects_malformed_and_too_large))
