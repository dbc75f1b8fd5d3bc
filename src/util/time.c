#include "util/time.h"

#include <ctype.h>
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

int wl_time_parse(const char *s, time_t *ret)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *rest = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!rest)
        return -1;
    if (*rest == '.') {
        rest++;
        if (!isdigit((unsigned char)*rest))
            return -1;
        while (isdigit((unsigned char)*rest))
            rest++;
    }
    long offset = 0;
    if (*rest == 'Z' || *rest == 'z') {
        rest++;
    } else if (*rest == '+' || *rest == '-') {
        int h, m, n = 0;
        if (sscanf(rest + 1, "%2d:%2d%n", &h, &m, &n) != 2 || n != 5 ||
            h > 23 || m > 59)
            return -1;
        offset = (h * 60L + m) * 60L * (*rest == '-' ? -1 : 1);
        rest += 1 + n;
    } else {
        return -1;
    }
    if (*rest)
        return -1;
    *ret = timegm(&tm) - offset;
    return 0;
}
