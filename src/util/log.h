/* Logging: one line per event on stderr, systemd-style levels, with
 * key=value fields written by the caller:
 *
 *     log_info("module loaded path=%s size=%zu", path, size);
 *
 * In the text format (the default) lines look like
 * `wasmlet[1234]: info: module loaded path=... size=...` (no time stamp:
 * journald and terminals add their own). In the json format each line is
 * one JSON object:
 *
 *     {"ts":"2026-01-02T15:04:05.000000Z","level":"info","pid":1234,
 *      "msg":"module loaded path=... size=..."}
 *
 * Never pass secrets, tokens or registry credentials. Thread-safe: each line
 * is formatted first and written with one write(2).
 */
#ifndef WL_UTIL_LOG_H
#define WL_UTIL_LOG_H

#include <stddef.h>

enum wl_log_level {
    WL_LOG_ERROR = 0,
    WL_LOG_WARNING,
    WL_LOG_INFO,
    WL_LOG_DEBUG,
};

enum wl_log_format {
    WL_LOG_TEXT = 0,
    WL_LOG_JSON,
};

/* Sets the most verbose level that is written (default WL_LOG_INFO). Call it
 * once at start-up, before other threads exist. */
void wl_log_set_level(enum wl_log_level level);

/* Sets the line format (default WL_LOG_TEXT). Call it once at start-up,
 * before other threads exist. */
void wl_log_set_format(enum wl_log_format format);

/* Parses "error", "warning", "info" or "debug". Returns 0 and writes *ret on
 * success, -1 for anything else. */
int wl_log_level_parse(const char *s, enum wl_log_level *ret);

/* Parses "text" or "json". Returns 0 and writes *ret, or -1. */
int wl_log_format_parse(const char *s, enum wl_log_format *ret);

/* Formats one line (with its newline) as wl_log() would write it, into
 * line (size bytes, at least 64); returns its length. A longer message is
 * cut, never split across lines; a JSON line stays valid JSON. For tests. */
size_t wl_log_format_line(char *line, size_t size, enum wl_log_format format,
                          enum wl_log_level level, const char *msg);

void wl_log(enum wl_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) wl_log(WL_LOG_ERROR, __VA_ARGS__)
#define log_warning(...) wl_log(WL_LOG_WARNING, __VA_ARGS__)
#define log_info(...) wl_log(WL_LOG_INFO, __VA_ARGS__)
#define log_debug(...) wl_log(WL_LOG_DEBUG, __VA_ARGS__)

#endif
