/* Clocks, and times as the Kubernetes API writes them: the one home of
 * RFC 3339 formatting and parsing (API Time, MicroTime, CRI log lines,
 * sinceTime, token expiry). Owns no state; see time.h. */
#include "util/time.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

double wl_now_s(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void wl_time_format(time_t t, char *buf, size_t len)
{
    struct tm tm;
    (void)gmtime_r(&t, &tm);
    (void)strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void wl_microtime_format(const struct timespec *ts, char *buf, size_t len)
{
    struct tm tm;
    char sec[32];
    (void)gmtime_r(&ts->tv_sec, &tm);
    (void)strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%06ldZ", sec, ts->tv_nsec / 1000);
}

/* Exactly n decimal digits. */
static bool digits(const char *s, size_t n, int *ret)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *ret = v;
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* The one RFC 3339 parser: "2006-01-02T15:04:05[.999999999](Z|±07:00)",
 * Go's RFC3339Nano as the kubelet parses it, exactly len bytes, to unix
 * seconds and nanoseconds. */
static int parse_rfc3339(const char *s, size_t len, int64_t *ret_s,
                         int64_t *ret_ns)
{
    int year, mon, day, hour, min, sec;
    if (len < 20 || !digits(s, 4, &year) || s[4] != '-' ||
        !digits(s + 5, 2, &mon) || s[7] != '-' || !digits(s + 8, 2, &day) ||
        s[10] != 'T' || !digits(s + 11, 2, &hour) || s[13] != ':' ||
        !digits(s + 14, 2, &min) || s[16] != ':' || !digits(s + 17, 2, &sec))
        return -1;
    if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) ||
        hour > 23 || min > 59 || sec > 59)
        return -1;
    size_t i = 19;
    int64_t ns = 0;
    if (s[i] == '.') {
        int nd = 0;
        for (i++; i < len && nd < 9 && s[i] >= '0' && s[i] <= '9'; i++, nd++)
            ns = ns * 10 + (s[i] - '0');
        if (nd == 0)
            return -1;
        for (; nd < 9; nd++)
            ns *= 10;
    }
    int64_t offset = 0;
    if (i < len && s[i] == 'Z') {
        i++;
    } else if (i + 6 <= len && (s[i] == '+' || s[i] == '-')) {
        int oh, om;
        if (!digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
            !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset = (oh * 60 + om) * 60 * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return -1;
    }
    if (i != len)
        return -1;
    struct tm tm = {.tm_year = year - 1900,
                    .tm_mon = mon - 1,
                    .tm_mday = day,
                    .tm_hour = hour,
                    .tm_min = min,
                    .tm_sec = sec};
    *ret_s = (int64_t)timegm(&tm) - offset;
    *ret_ns = ns;
    return 0;
}

int wl_time_parse_ns(const char *s, size_t len, int64_t *ret)
{
    int64_t t, ns;
    if (!s || parse_rfc3339(s, len, &t, &ns) < 0)
        return -1;
    /* int64 ns reach from 1677 to 2262; clamp rather than overflow. */
    if (t >= INT64_MAX / 1000000000 - 1)
        *ret = INT64_MAX;
    else if (t <= INT64_MIN / 1000000000 + 1)
        *ret = INT64_MIN;
    else
        *ret = t * 1000000000 + ns;
    return 0;
}

int wl_time_parse(const char *s, time_t *ret)
{
    int64_t t, ns;
    if (!s || parse_rfc3339(s, strlen(s), &t, &ns) < 0)
        return -1;
    *ret = (time_t)t;
    return 0;
}
