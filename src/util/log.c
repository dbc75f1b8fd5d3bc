#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static enum wl_log_level max_level = WL_LOG_INFO;

static const char *const level_names[] = {
    [WL_LOG_ERROR] = "error",
    [WL_LOG_WARNING] = "warning",
    [WL_LOG_INFO] = "info",
    [WL_LOG_DEBUG] = "debug",
};

void wl_log_set_level(enum wl_log_level level) { max_level = level; }

int wl_log_level_parse(const char *s, enum wl_log_level *ret)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *ret = (enum wl_log_level)i;
            return 0;
        }
    }
    return -1;
}

void wl_log(enum wl_log_level level, const char *fmt, ...)
{
    char line[4096];
    va_list ap;

    if (level > max_level)
        return;
    int n = snprintf(line, sizeof(line), "wasmlet[%ld]: %s: ", (long)getpid(),
                     level_names[level]);
    if (n < 0)
        return;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    /* A longer message is cut, never split across lines. */
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
