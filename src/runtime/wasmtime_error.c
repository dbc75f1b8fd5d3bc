#include "runtime/wasmtime_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *wl_wasmtime_summary(const char *data, size_t size, bool with_head)
{
    static const char caused[] = "\nCaused by:\n";
    const char *end = data + size;
    const char *head_end = memchr(data, '\n', size);
    if (!head_end)
        head_end = end;
    const char *c = memmem(data, size, caused, sizeof(caused) - 1);
    const char *cause = NULL, *cause_end = NULL;
    if (c) {
        cause = c + sizeof(caused) - 1;
        while (cause < end && (*cause == ' ' || *cause == '\t'))
            cause++;
        cause_end = memchr(cause, '\n', (size_t)(end - cause));
        if (!cause_end)
            cause_end = end;
    }
    char *s = NULL;
    int r;
    if (!cause)
        r = asprintf(&s, "%.*s", (int)(head_end - data), data);
    else if (!with_head)
        r = asprintf(&s, "%.*s", (int)(cause_end - cause), cause);
    else
        r = asprintf(&s, "%.*s: %.*s", (int)(head_end - data), data,
                     (int)(cause_end - cause), cause);
    return r < 0 ? NULL : s;
}

char *wl_wasmtime_message(wasmtime_error_t *error, wasm_trap_t *trap,
                          bool with_head)
{
    wasm_byte_vec_t msg;
    if (error)
        wasmtime_error_message(error, &msg);
    else
        wasm_trap_message(trap, &msg);
    if (error)
        wasmtime_error_delete(error);
    if (trap)
        wasm_trap_delete(trap);
    char *s = wl_wasmtime_summary(msg.data, msg.size, with_head);
    wasm_byte_vec_delete(&msg);
    return s;
}

int wl_error_from_wasmtime(struct wl_error *err, wasmtime_error_t *error,
                           const char *what)
{
    char *s = wl_wasmtime_message(error, NULL, true);
    wl_error_set(err, 0, "%s: %s", what, s ? s : "failed");
    free(s);
    return -1;
}
