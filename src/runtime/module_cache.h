/* Compiled-module cache: a module is compiled once per engine (and, with a
 * cache directory, once per wasmtime version and engine configuration), so
 * a container restart, a daemon restart, or 100 pods of one image never
 * compile it again.
 *
 * Two levels, both keyed by the digest of the .wasm bytes:
 *
 *   - memory: the engine keeps every module it loaded; a load returns a
 *     clone (wasmtime_module_clone shares the compiled code). Concurrent
 *     loads of one digest compile once: the first loader compiles, the
 *     others wait for it (single flight).
 *   - disk: <cache_dir>/<key>.cwasm, where key is the hex sha256 of the
 *     digest, the wasmtime version and the engine's settings, so an upgrade
 *     or a configuration change misses instead of loading incompatible
 *     code. Files carry their own sha256; one that is corrupt, truncated or
 *     refused by wasmtime is deleted and the module recompiled.
 */
#ifndef WL_RUNTIME_MODULE_CACHE_H
#define WL_RUNTIME_MODULE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/engine.h"
#include "util/error.h"

/* Largest .cwasm file read back: compiled code is a few times the size of
 * the largest accepted module. Larger files are treated as corrupt. */
#define WL_CWASM_MAX_BYTES (1024ull * 1024 * 1024)

enum wl_module_source {
    WL_MODULE_MEMORY,   /* the engine had it (or a concurrent load made it) */
    WL_MODULE_DISK,     /* deserialized from the cache directory */
    WL_MODULE_COMPILED, /* compiled from the .wasm file */
};

/* Counters since the engine was made, for metrics and tests. */
struct wl_module_cache_stats {
    uint64_t memory_hits;
    uint64_t disk_hits;
    uint64_t compiles;
    uint64_t disk_rejected; /* cache files found corrupt or incompatible */
    uint64_t disk_write_errors;
};

/* Returns the module whose wasm bytes have digest ("sha256:<64 hex>",
 * trusted to match the file: the content store verified it), from the
 * engine's memory, from cache_dir, or by compiling wasm_path (read only
 * then, with WL_MODULE_MAX_BYTES as its size limit). cache_dir NULL keeps
 * the cache in memory only; otherwise it is created (0700) when a module
 * is first written there, and a failure to write it is counted, not
 * returned. The caller frees *ret with wl_module_free; *how (may be NULL)
 * says where it came from. Fails for a malformed digest, an unreadable
 * file, or a module that does not compile (the message says which). Safe
 * to call from many threads on one engine. */
int wl_module_load(struct wl_engine *engine, const char *cache_dir,
                   const char *digest, const char *wasm_path,
                   struct wl_module **ret, enum wl_module_source *how,
                   struct wl_error *err);

/* wl_module_load for a module whose bytes the caller holds: wasm (len
 * bytes) is compiled on a miss, and digest must be the digest of those very
 * bytes (hash and compile one copy, so a file that changes meanwhile is
 * never cached under another content's digest). wasm is only borrowed. */
int wl_module_load_bytes(struct wl_engine *engine, const char *cache_dir,
                         const char *digest, const uint8_t *wasm, size_t len,
                         struct wl_module **ret, enum wl_module_source *how,
                         struct wl_error *err);

/* "memory", "disk" or "compiled", for logs. */
const char *wl_module_source_name(enum wl_module_source how);

/* A consistent snapshot of the engine's counters. */
void wl_module_cache_stats(struct wl_engine *engine,
                           struct wl_module_cache_stats *ret);

#endif
