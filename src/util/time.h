/* Clocks, and times as the Kubernetes API writes them: the one home of
 * RFC 3339 formatting and parsing (API Time, MicroTime, CRI log lines,
 * sinceTime, token expiry). Owns no state; safe from any thread. */
#ifndef WL_UTIL_TIME_H
#define WL_UTIL_TIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Seconds on the monotonic clock, for measuring durations. */
double wl_now_s(void);

/* RFC 3339 times as the API uses them: "2006-01-02T15:04:05Z" (Time) and
 * with microseconds (MicroTime). buf holds at least 32 bytes. */
void wl_time_format(time_t t, char *buf, size_t len);
void wl_microtime_format(const struct timespec *ts, char *buf, size_t len);

/* The one RFC 3339 parser, as Go's time.RFC3339Nano parses for the
 * kubelet: "2006-01-02T15:04:05[.999999999](Z|+07:00|-07:00)" and nothing
 * else (two-digit fields, a real calendar date, 1 to 9 fraction digits,
 * an upper-case T and Z, no trailing bytes).
 *
 * wl_time_parse_ns: exactly len bytes at s (need not be NUL-terminated),
 * to unix nanoseconds, clamped to INT64_MIN/INT64_MAX outside 1677..2262.
 * wl_time_parse: the NUL-terminated s to unix seconds (fraction dropped).
 * Both return 0 and set *ret, or -1 (nothing written) when s is NULL or
 * not such a time. */
int wl_time_parse_ns(const char *s, size_t len, int64_t *ret);
int wl_time_parse(const char *s, time_t *ret);

#endif
