/* The shared WebAssembly engine: one wasmtime engine per daemon, configured
 * for epoch interruption, and a ticker thread that advances its epoch every
 * WL_EPOCH_TICK_MS so running modules can be stopped (timeouts, pod
 * deletion) without killing threads.
 *
 * An engine is created once and shared read-only by every container thread
 * (wasmtime engines are thread-safe); its owner frees it after every store
 * that uses it is gone, and after the module cache made for it. It owns
 * its ticker thread and the sleep/wake state of poll_oneoff; it does not
 * know the compiled-module cache (runtime/module_cache.h), which its owner
 * makes beside it. wasmtime's errors become ours in runtime/wasmtime_error.c.
 */
#ifndef WL_RUNTIME_ENGINE_H
#define WL_RUNTIME_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define WL_EPOCH_TICK_MS 10

struct wl_engine;
struct wl_module;

/* Creates the engine and starts its epoch ticker. */
int wl_engine_new(struct wl_engine **ret, struct wl_error *err);

/* Stops the ticker and frees the engine. Accepts NULL. */
void wl_engine_free(struct wl_engine *engine);

/* How many times the epoch ticker has ticked: it ticks only while a
 * module runs, so an idle node does not wake up every tick. */
unsigned long wl_engine_ticks(struct wl_engine *engine);

/* The wasmtime version wasmlet was built with, e.g. "39.0.0". */
const char *wl_engine_wasmtime_version(void);

/* Compiles (and validates) a module from its bytes. The bytes are not kept.
 * Fails with wasmtime's message for anything that is not a valid module,
 * and with a clear message for input that is not WebAssembly at all. */
int wl_module_compile(struct wl_engine *engine, const uint8_t *wasm,
                      size_t len, struct wl_module **ret,
                      struct wl_error *err);

/* Frees a compiled module. Accepts NULL. */
void wl_module_free(struct wl_module *module);

#endif
