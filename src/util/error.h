/* The error convention used everywhere in wasmlet (modelled on crun's
 * libcrun_error_t).
 *
 * A function that can fail returns int: 0 on success, negative on failure,
 * and fills the caller's struct wl_error with a message. Callers add context
 * as the error travels up with wl_error_prefix(), giving messages such as
 * "run hello.wasm: compile: invalid magic number".
 *
 *     struct wl_error err = WL_ERROR_INIT;
 *     if (wl_thing_do(x, &err) < 0) {
 *         log_error("%s", err.msg);
 *         wl_error_clear(&err);
 *     }
 */
#ifndef WL_UTIL_ERROR_H
#define WL_UTIL_ERROR_H

struct wl_error {
    char *msg;  /* owned; NULL when no error is set */
    int errnum; /* errno of the cause, 0 when there is none */
};

#define WL_ERROR_INIT {NULL, 0}

/* Sets err (replacing any earlier message) to the formatted message; when
 * errnum is non-zero, ": strerror(errnum)" is appended. err may be NULL, for
 * callers that do not want the message. Always returns -1 so it can end a
 * failing function: `return wl_error_set(err, errno, "open %s", path);`. */
int wl_error_set(struct wl_error *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "<formatted>: " to the message already in err. Returns -1. */
int wl_error_prefix(struct wl_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Frees the message and resets err to WL_ERROR_INIT. Accepts NULL. */
void wl_error_clear(struct wl_error *err);

#endif
