/* Shared between the runtime's own files (engine.c, memory.c, run.c,
 * module_cache.c; bench/ too), not part of its interface. The engine
 * (engine.c) knows nothing of the compiled-module cache: the cache uses
 * the engine through what is declared here, never the other way round. */
#ifndef WL_RUNTIME_ENGINE_INTERNAL_H
#define WL_RUNTIME_ENGINE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <wasmtime.h>

#include "runtime/engine.h"

struct wl_module {
    wasmtime_module_t *module;
};

wasm_engine_t *wl_engine_raw(struct wl_engine *engine);

/* The engine settings that change generated code, as a string for the
 * compiled-module cache key. */
const char *wl_engine_settings(void);

/* A run's memory limit as the memories made for it see it (memory.c). */
struct wl_memory_limit {
    uint64_t bytes;   /* 0: none */
    bool hit;         /* a memory (its start or a grow) was refused */
    uint64_t refused; /* the size that was refused, in bytes */
    uint64_t used;    /* bytes of the memories made under it, as grown */
};

/* Makes config's engine create linear memories through memory.c. */
void wl_memory_creator_install(wasm_config_t *config);

/* Memories created on this thread until wl_memory_limit_leave() enforce
 * limit (which must outlive them: it lives as long as their store). */
void wl_memory_limit_enter(struct wl_memory_limit *limit);
void wl_memory_limit_leave(void);

/* wl_module_compile without the wrapper: *ret is a new wasmtime module. */
int wl_module_compile_raw(struct wl_engine *engine, const uint8_t *wasm,
                          size_t len, wasmtime_module_t **ret,
                          struct wl_error *err);

/* Wraps module (taken: deleted on failure) into a struct wl_module. */
int wl_module_wrap(wasmtime_module_t *module, struct wl_module **ret,
                   struct wl_error *err);

/* Sleeps until until_ns (CLOCK_MONOTONIC) unless *cancel (may be NULL)
 * is or becomes true (wl_run_cancel wakes sleepers): returns 0 when the
 * time came, -1 when cancelled. */
int wl_engine_sleep(struct wl_engine *engine, const atomic_bool *cancel,
                    uint64_t until_ns);

/* Brackets a run: the epoch ticker only ticks while runs are going. */
void wl_engine_run_begin(struct wl_engine *engine);
void wl_engine_run_end(struct wl_engine *engine);

#endif
