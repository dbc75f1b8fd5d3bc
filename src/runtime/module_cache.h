/* Compiled-module cache: a module is compiled once per cache (and, with a
 * cache directory, once per wasmtime version and engine configuration), so
 * a container restart, a daemon restart, or 100 pods of one image never
 * compile it again.
 *
 * Ownership: the cache is an object of its own, made and freed by whoever
 * made the engine it compiles for (cli/serve_cmd.c, cli/run_cmd.c for pod
 * manifests, tests), and handed to those that load modules (the pod
 * runners, through struct wl_pod_manager_config). It borrows the engine,
 * which must outlive it; the engine knows nothing of it. It uses the engine
 * only through runtime/engine_internal.h (compile, deserialize, settings).
 *
 * Two levels, both keyed by the digest of the .wasm bytes:
 *
 *   - memory: the cache keeps every module it loaded; a load returns a
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

struct wl_module_cache;

enum wl_module_source {
    WL_MODULE_MEMORY,   /* the cache had it (or a concurrent load made it) */
    WL_MODULE_DISK,     /* deserialized from the cache directory */
    WL_MODULE_COMPILED, /* compiled from the .wasm file */
};

/* Counters since the cache was made, for metrics and tests. */
struct wl_module_cache_stats {
    uint64_t memory_hits;
    uint64_t disk_hits;
    uint64_t compiles;
    uint64_t disk_rejected; /* cache files found corrupt or incompatible */
    uint64_t disk_write_errors;
};

/* Makes an empty cache of modules compiled by engine (borrowed: it must
 * outlive the cache). cache_dir (copied; NULL keeps the cache in memory
 * only) is created (0700) when a module is first written there. Fails only
 * when out of memory. */
int wl_module_cache_new(struct wl_engine *engine, const char *cache_dir,
                        struct wl_module_cache **ret, struct wl_error *err);

/* Drops every cached module (clones handed out stay valid). Call once no
 * load is running. Accepts NULL. */
void wl_module_cache_free(struct wl_module_cache *cache);

/* Returns the module whose wasm bytes have digest ("sha256:<64 hex>",
 * trusted to match the file: the content store verified it), from the
 * cache's memory, from its directory, or by compiling wasm_path (read only
 * then, with WL_MODULE_MAX_BYTES as its size limit). A failure to write
 * the directory is counted, not returned. The caller frees *ret with
 * wl_module_free; *how (may be NULL) says where it came from. Fails for a
 * malformed digest, an unreadable file, or a module that does not compile
 * (the message says which). Safe to call from many threads on one cache. */
int wl_module_load(struct wl_module_cache *cache, const char *digest,
                   const char *wasm_path, struct wl_module **ret,
                   enum wl_module_source *how, struct wl_error *err);

/* wl_module_load for a module whose bytes the caller holds: wasm (len
 * bytes) is compiled on a miss, and digest must be the digest of those very
 * bytes (hash and compile one copy, so a file that changes meanwhile is
 * never cached under another content's digest). wasm is only borrowed. */
int wl_module_load_bytes(struct wl_module_cache *cache, const char *digest,
                         const uint8_t *wasm, size_t len,
                         struct wl_module **ret, enum wl_module_source *how,
                         struct wl_error *err);

/* "memory", "disk" or "compiled", for logs. */
const char *wl_module_source_name(enum wl_module_source how);

/* A consistent snapshot of the cache's counters. */
void wl_module_cache_stats(struct wl_module_cache *cache,
                           struct wl_module_cache_stats *ret);

#endif
