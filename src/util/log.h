/* Logging: one line per event on stderr, systemd-style levels, with
 * key=value fields written by the caller:
 *
 *     log_info("module loaded path=%s size=%zu", path, size);
 *
 * Lines look like `wasmlet[1234]: info: module loaded path=... size=...`.
 * Never pass secrets, tokens or registry credentials. Thread-safe: each line
 * is formatted first and written with one write(2).
 */
#ifndef WL_UTIL_LOG_H
#define WL_UTIL_LOG_H

enum wl_log_level {
    WL_LOG_ERROR = 0,
    WL_LOG_WARNING,
    WL_LOG_INFO,
    WL_LOG_DEBUG,
};

/* Sets the most verbose level that is written (default WL_LOG_INFO). Call it
 * once at start-up, before other threads exist. */
void wl_log_set_level(enum wl_log_level level);

/* Parses "error", "warning", "info" or "debug". Returns 0 and writes *ret on
 * success, -1 for anything else. */
int wl_log_level_parse(const char *s, enum wl_log_level *ret);

void wl_log(enum wl_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) wl_log(WL_LOG_ERROR, __VA_ARGS__)
#define log_warning(...) wl_log(WL_LOG_WARNING, __VA_ARGS__)
#define log_info(...) wl_log(WL_LOG_INFO, __VA_ARGS__)
#define log_debug(...) wl_log(WL_LOG_DEBUG, __VA_ARGS__)

#endif
