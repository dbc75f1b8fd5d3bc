#include "util/log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/hex.h"
#include "util/time.h"
#include "util/utf8.h"

static enum wl_log_level max_level = WL_LOG_INFO;
static enum wl_log_format log_format = WL_LOG_TEXT;

static const char *const level_names[] = {
    [WL_LOG_ERROR] = "error",
    [WL_LOG_WARNING] = "warning",
    [WL_LOG_INFO] = "info",
    [WL_LOG_DEBUG] = "debug",
};

static const char *const format_names[] = {
    [WL_LOG_TEXT] = "text",
    [WL_LOG_JSON] = "json",
};

void wl_log_set_level(enum wl_log_level level)
{
    max_level = level;
}

void wl_log_set_format(enum wl_log_format format)
{
    log_format = format;
}

static int name_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

int wl_log_level_parse(const char *s, enum wl_log_level *ret)
{
    int i =
        name_index(level_names, sizeof(level_names) / sizeof(*level_names), s);
    if (i < 0)
        return -1;
    *ret = (enum wl_log_level)i;
    return 0;
}

int wl_log_format_parse(const char *s, enum wl_log_format *ret)
{
    int i = name_index(format_names,
                       sizeof(format_names) / sizeof(*format_names), s);
    if (i < 0)
        return -1;
    *ret = (enum wl_log_format)i;
    return 0;
}

/* Appends msg as the contents of a JSON string to out (which has room for
 * cap bytes, and already n of them), escaping what JSON requires and
 * replacing bytes that are not UTF-8 with U+FFFD: messages quote outside
 * input. Stops before an escape that would not fit. Returns the new n. */
static size_t json_escape(char *out, size_t n, size_t cap, const char *msg)
{
    const unsigned char *s = (const unsigned char *)msg;
    size_t len = strlen(msg);

    for (size_t i = 0; i < len;) {
        char esc[8];
        size_t elen = 0, width = 1;
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c, elen = 2;
        } else if (c == '\n') {
            memcpy(esc, "\\n", elen = 2);
        } else if (c == '\t') {
            memcpy(esc, "\\t", elen = 2);
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(esc, "\\u00", 4);
            wl_hex_encode(&c, 1, esc + 4); /* and a NUL, in esc[6] */
            elen = 6;
        } else if (c >= 0x80 && !(width = wl_utf8_len(s + i, len - i))) {
            memcpy(esc, "\\ufffd", elen = 6);
            width = 1;
        }
        const char *src = elen ? esc : (const char *)s + i;
        size_t slen = elen ? elen : width;
        if (n + slen > cap)
            break;
        memcpy(out + n, src, slen);
        n += slen;
        i += width;
    }
    return n;
}

size_t wl_log_format_line(char *line, size_t size, enum wl_log_format format,
                          enum wl_log_level level, const char *msg)
{
    int n;
    if (format == WL_LOG_JSON) {
        struct timespec now;
        char ts[40];
        clock_gettime(CLOCK_REALTIME, &now);
        wl_microtime_format(&now, ts, sizeof(ts));
        n = snprintf(line, size,
                     "{\"ts\":\"%s\",\"level\":\"%s\",\"pid\":%ld,\"msg\":\"",
                     ts, level_names[level], (long)getpid());
        if (n < 0 || (size_t)n >= size)
            return 0;
        /* Room is kept for the closing `"}` and the newline. */
        size_t len = json_escape(line, (size_t)n, size - 3, msg);
        memcpy(line + len, "\"}\n", 3);
        return len + 3;
    }
    n = snprintf(line, size, "wasmlet[%ld]: %s: %s\n", (long)getpid(),
                 level_names[level], msg);
    if (n < 0)
        return 0;
    /* A longer message is cut, never split across lines. */
    if ((size_t)n >= size) {
        line[size - 2] = '\n';
        return size - 1;
    }
    return (size_t)n;
}

void wl_log(enum wl_log_level level, const char *fmt, ...)
{
    char msg[4096], line[8192];
    va_list ap;

    if (level > max_level)
        return;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    size_t len = wl_log_format_line(line, sizeof(line), log_format, level, msg);
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
