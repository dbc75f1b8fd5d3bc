/* Clocks, and times as the Kubernetes API writes them. */
#ifndef WL_UTIL_TIME_H
#define WL_UTIL_TIME_H

#include <stddef.h>
#include <time.h>

/* Seconds on the monotonic clock, for measuring durations. */
double wl_now_s(void);

/* RFC 3339 times as the API uses them: "2006-01-02T15:04:05Z" (Time) and
 * with microseconds (MicroTime). buf holds at least 32 bytes. */
void wl_time_format(time_t t, char *buf, size_t len);
void wl_microtime_format(const struct timespec *ts, char *buf, size_t len);

/* Parses an API Time ("2006-01-02T15:04:05Z", fractions and a numeric
 * offset accepted). Returns 0 and *ret (UTC seconds), or -1 if s is not
 * such a time. */
int wl_time_parse(const char *s, time_t *ret);

#endif
