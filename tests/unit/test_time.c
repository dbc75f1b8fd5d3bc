/* util/time.h: the one RFC 3339 parser, for what its former copies
 * handled (API Time in sinceTime and statuses, CRI log line times, token
 * expiry): fractions, offsets, calendar checks, bounds, bad input. */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "test.h"
#include "util/time.h"

/* 2026-11-27T09:32:05Z */
#define T0 1795771925LL

/* Good times and their unix seconds: UTC, fractions dropped, offsets. */
static const struct {
    const char *in;
    long long secs;
} good[] = {
    {"2026-11-27T09:32:05Z", T0},
    {"1970-01-01T00:00:00Z", 0},
    {"2026-11-27T09:32:05.5Z", T0},
    {"2026-11-27T09:32:05.999999999Z", T0},
    {"2026-11-27T10:32:05+01:00", T0},
    {"2026-11-27T04:02:05-05:30", T0},
    {"2026-11-27T09:32:05+00:00", T0},
};

static void test_time_parse_utc_fractions_and_offsets(void)
{
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        time_t t = 0;
        if (wl_time_parse(good[i].in, &t) != 0 || (long long)t != good[i].secs)
            WL_FAIL("\"%s\" -> %lld, expected %lld", good[i].in,
                    (long long)t, good[i].secs);
    }
}

static void test_time_parse_ns_fraction_digits(void)
{
    int64_t ns = 0;
    const char *a = "2026-11-27T09:32:05.123456789Z";
    CHECK_INT(wl_time_parse_ns(a, strlen(a), &ns), 0);
    CHECK_INT(ns, T0 * 1000000000LL + 123456789);
    const char *b = "2026-11-27T09:32:05.5Z";
    CHECK_INT(wl_time_parse_ns(b, strlen(b), &ns), 0);
    CHECK_INT(ns, T0 * 1000000000LL + 500000000);
    const char *c = "2026-11-27T11:32:05.000001+02:00";
    CHECK_INT(wl_time_parse_ns(c, strlen(c), &ns), 0);
    CHECK_INT(ns, T0 * 1000000000LL + 1000);
}

static void test_time_parse_ns_reads_only_len_bytes(void)
{
    /* A CRI line: the time ends at the first space, with no NUL. */
    const char line[] = "2026-11-27T09:32:05Z stdout F x";
    int64_t ns = 0;
    CHECK_INT(wl_time_parse_ns(line, 20, &ns), 0);
    CHECK_INT(ns, T0 * 1000000000LL);
    CHECK_INT(wl_time_parse_ns(line, 21, &ns), -1);
    CHECK_INT(wl_time_parse_ns(line, 19, &ns), -1);
}

static void test_time_parse_leap_days(void)
{
    time_t t = 0;
    CHECK_INT(wl_time_parse("2024-02-29T00:00:00Z", &t), 0);
    CHECK_INT(wl_time_parse("2000-02-29T00:00:00Z", &t), 0);
    CHECK_INT(wl_time_parse("2026-02-29T00:00:00Z", &t), -1);
    CHECK_INT(wl_time_parse("1900-02-29T00:00:00Z", &t), -1);
}

static void test_time_parse_ns_clamps_far_years(void)
{
    int64_t ns = 0;
    const char *far = "9999-12-31T23:59:59Z";
    CHECK_INT(wl_time_parse_ns(far, strlen(far), &ns), 0);
    CHECK(ns == INT64_MAX);
    const char *early = "0001-01-01T00:00:00Z";
    CHECK_INT(wl_time_parse_ns(early, strlen(early), &ns), 0);
    CHECK(ns == INT64_MIN);
    /* Seconds need no clamp. */
    time_t t = 0;
    CHECK_INT(wl_time_parse(far, &t), 0);
    CHECK_INT((long long)t, 253402300799LL);
}

static void test_time_parse_rejects_bad_input(void)
{
    static const char *const bad[] = {
        "",
        "yesterday",
        "2026-11-27T09:32:05",         /* no zone */
        "2026-11-27T09:32:05Zjunk",    /* trailing bytes */
        "2026-11-27T09:32:05Z ",
        "2026-11-27T09:32:05.Z",       /* empty fraction */
        "2026-11-27T09:32:05.1234567890Z", /* more than ns */
        "2026-11-27 09:32:05Z",        /* space for T */
        "2026-11-27t09:32:05Z",
        "2026-11-27T09:32:05z",
        "2026-1-27T09:32:05Z",         /* one-digit fields */
        "2026-11-27T9:32:05Z",
        "2026-13-27T09:32:05Z",        /* no such month, day, hour... */
        "2026-00-27T09:32:05Z",
        "2026-11-31T09:32:05Z",
        "2026-11-00T09:32:05Z",
        "2026-11-27T24:00:00Z",
        "2026-11-27T09:60:05Z",
        "2026-11-27T09:32:60Z",
        "2026-11-27T09:32:05+1:00",    /* bad offsets */
        "2026-11-27T09:32:05+01",
        "2026-11-27T09:32:05+0100",
        "2026-11-27T09:32:05+24:00",
        "2026-11-27T09:32:05+01:60",
        "+2026-11-27T09:32:05Z",
    };
    time_t t = 42;
    int64_t ns = 42;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (wl_time_parse(bad[i], &t) != -1)
            WL_FAIL("wl_time_parse accepted \"%s\"", bad[i]);
        if (wl_time_parse_ns(bad[i], strlen(bad[i]), &ns) != -1)
            WL_FAIL("wl_time_parse_ns accepted \"%s\"", bad[i]);
    }
    /* Nothing written on failure. */
    CHECK_INT((long long)t, 42);
    CHECK_INT(ns, 42);
    CHECK_INT(wl_time_parse(NULL, &t), -1);
    CHECK_INT(wl_time_parse_ns(NULL, 0, &ns), -1);
}

static void test_time_format_round_trips(void)
{
    char buf[32];
    time_t t = 0;
    wl_time_format((time_t)T0, buf, sizeof(buf));
    CHECK_INT(wl_time_parse(buf, &t), 0);
    CHECK_INT((long long)t, T0);
    struct timespec ts = {(time_t)T0, 123456789};
    int64_t ns = 0;
    wl_microtime_format(&ts, buf, sizeof(buf));
    CHECK_INT(wl_time_parse_ns(buf, strlen(buf), &ns), 0);
    CHECK_INT(ns, T0 * 1000000000LL + 123456000);
}

WL_TEST_MAIN(WL_T(test_time_parse_utc_fractions_and_offsets),
             WL_T(test_time_parse_ns_fraction_digits),
             WL_T(test_time_parse_ns_reads_only_len_bytes),
             WL_T(test_time_parse_leap_days),
             WL_T(test_time_parse_ns_clamps_far_years),
             WL_T(test_time_parse_rejects_bad_input),
             WL_T(test_time_format_round_trips))
