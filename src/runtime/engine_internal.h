/* Shared between the runtime's own files, not part of its interface. */
#ifndef WL_RUNTIME_ENGINE_INTERNAL_H
#define WL_RUNTIME_ENGINE_INTERNAL_H

#include <wasmtime.h>

#include "runtime/engine.h"

struct wl_module {
    wasmtime_module_t *module;
};

wasm_engine_t *wl_engine_raw(struct wl_engine *engine);

/* Moves wasmtime's message for error into err (prefixed by what) and
 * deletes error. Returns -1. */
int wl_error_from_wasmtime(struct wl_error *err, wasmtime_error_t *error,
                           const char *what);

#endif
