#include "util/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Used when formatting itself fails (out of memory): a static message, so
 * reporting the error never needs an allocation that could fail again. */
static char oom_msg[] = "out of memory while formatting an error";

static void msg_free(struct wl_error *err)
{
    if (err->msg != oom_msg)
        free(err->msg);
    err->msg = NULL;
}

int wl_error_set(struct wl_error *err, int errnum, const char *fmt, ...)
{
    char *base = NULL;
    va_list ap;

    if (!err)
        return -1;
    va_start(ap, fmt);
    int n = vasprintf(&base, fmt, ap);
    va_end(ap);
    msg_free(err);
    err->errnum = errnum;
    if (n < 0) {
        err->msg = oom_msg;
        return -1;
    }
    if (errnum == 0) {
        err->msg = base;
        return -1;
    }
    char *full = NULL;
    if (asprintf(&full, "%s: %s", base, strerror(errnum)) < 0) {
        err->msg = base;
        return -1;
    }
    free(base);
    err->msg = full;
    return -1;
}

int wl_error_prefix(struct wl_error *err, const char *fmt, ...)
{
    char *prefix = NULL;
    char *full = NULL;
    va_list ap;

    if (!err || !err->msg || err->msg == oom_msg)
        return -1;
    va_start(ap, fmt);
    int n = vasprintf(&prefix, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if (asprintf(&full, "%s: %s", prefix, err->msg) >= 0) {
        msg_free(err);
        err->msg = full;
    }
    free(prefix);
    return -1;
}

void wl_error_clear(struct wl_error *err)
{
    if (!err)
        return;
    msg_free(err);
    err->errnum = 0;
}
