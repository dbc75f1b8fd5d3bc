#include "runtime/engine.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/engine_internal.h"
#include "runtime/wasmtime_error.h"

#if defined(__SANITIZE_THREAD__)
#define WL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WL_TSAN 1
#endif
#endif
#ifndef WL_TSAN
#define WL_TSAN 0
#endif
#include "util/cleanup.h"

/* Every setting below that changes generated code, for the compiled-module
 * cache key (wl_engine_settings, read by module_cache.c): a change here
 * must change this string, so
 * cached code compiled under other settings is never loaded. */
#define WL_ENGINE_SETTINGS_BASE                                                \
    "epoch_interruption=1 host_memory=1 memory_init_cow=0"
#if WL_TSAN
#define WL_ENGINE_SETTINGS                                                     \
    WL_ENGINE_SETTINGS_BASE " parallel_compilation=0 signals_based_traps=0"
#else
#define WL_ENGINE_SETTINGS WL_ENGINE_SETTINGS_BASE
#endif

struct wl_engine {
    wasm_engine_t *engine;
    pthread_t ticker;
    bool ticker_started;
    atomic_bool stop; /* written by wl_engine_free, read by the ticker */
    /* Modules sleeping in poll_oneoff wait on wake; wl_run_cancel()
     * broadcasts it after setting a cancel flag. The lock guards nothing
     * but the wait itself (the flags are atomics). */
    pthread_mutex_t sleep_lock;
    pthread_cond_t wake;
    bool sleep_ready;
    /* Runs in progress (guarded by sleep_lock); the ticker waits on
     * ticker_wake while there are none. */
    unsigned running;
    pthread_cond_t ticker_wake;
    atomic_ulong ticks; /* epoch increments so far */
};

static void *ticker_main(void *arg)
{
    struct wl_engine *e = arg;
    const struct timespec tick = {0, WL_EPOCH_TICK_MS * 1000L * 1000L};

    while (!atomic_load(&e->stop)) {
        /* No module runs: no ticks (an idle node does not wake up). */
        (void)pthread_mutex_lock(&e->sleep_lock);
        while (e->running == 0 && !atomic_load(&e->stop))
            (void)pthread_cond_wait(&e->ticker_wake, &e->sleep_lock);
        (void)pthread_mutex_unlock(&e->sleep_lock);
        (void)nanosleep(&tick, NULL);
        wasmtime_engine_increment_epoch(e->engine);
        atomic_fetch_add(&e->ticks, 1);
    }
    return NULL;
}

int wl_engine_new(struct wl_engine **ret, struct wl_error *err)
{
    struct wl_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return wl_error_set(err, ENOMEM, "create engine");

    wasm_config_t *config = wasm_config_new();
    if (!config) {
        free(e);
        return wl_error_set(err, ENOMEM, "create engine config");
    }
    wasmtime_config_epoch_interruption_set(config, true);
    /* Linear memories are ours so that a refused grow is seen (OOMKilled,
     * see memory.c). */
    wl_memory_creator_install(config);
    /* Copy-on-write memory images work only on wasmtime's own mmap
     * memories: with a memory creator wasmtime 39 panics ("memory_image is
     * Some only for mmap-based memories") unless it is off. Data segments
     * are then copied in at instantiation. */
    wasmtime_config_memory_init_cow_set(config, false);
#if WL_TSAN
    /* ThreadSanitizer cannot see the synchronisation inside wasmtime's
     * uninstrumented Rust, so its compile threads show up as races; with
     * parallel compilation off wasmtime starts no compile threads. Traps
     * by signal handler (allocating inside it, as TSan reports) become
     * explicit checks in the generated code. What remains of wasmtime's
     * own threads (WASI's tokio blocking pool) is named in
     * tests/tsan.supp. */
    wasmtime_config_parallel_compilation_set(config, false);
    wasmtime_config_signals_based_traps_set(config, false);
#endif
    e->engine = wasm_engine_new_with_config(config); /* takes config */
    if (!e->engine) {
        free(e);
        return wl_error_set(err, 0, "create wasmtime engine");
    }
    atomic_init(&e->stop, false);
    pthread_condattr_t ca;
    (void)pthread_condattr_init(&ca);
    (void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    (void)pthread_cond_init(&e->wake, &ca);
    (void)pthread_condattr_destroy(&ca);
    (void)pthread_cond_init(&e->ticker_wake, NULL);
    (void)pthread_mutex_init(&e->sleep_lock, NULL);
    e->sleep_ready = true;
    int r = pthread_create(&e->ticker, NULL, ticker_main, e);
    if (r != 0) {
        wl_engine_free(e);
        return wl_error_set(err, r, "start epoch ticker");
    }
    e->ticker_started = true;
    *ret = e;
    return 0;
}

void wl_engine_free(struct wl_engine *e)
{
    if (!e)
        return;
    if (e->ticker_started) {
        atomic_store(&e->stop, true);
        (void)pthread_mutex_lock(&e->sleep_lock);
        (void)pthread_cond_broadcast(&e->ticker_wake);
        (void)pthread_mutex_unlock(&e->sleep_lock);
        (void)pthread_join(e->ticker, NULL);
    }
    if (e->sleep_ready) {
        (void)pthread_cond_destroy(&e->ticker_wake);
        (void)pthread_cond_destroy(&e->wake);
        (void)pthread_mutex_destroy(&e->sleep_lock);
    }
    if (e->engine)
        wasm_engine_delete(e->engine);
    free(e);
}

const char *wl_engine_wasmtime_version(void) { return WASMTIME_VERSION; }

const char *wl_engine_settings(void) { return WL_ENGINE_SETTINGS; }

wasm_engine_t *wl_engine_raw(struct wl_engine *engine)
{
    return engine->engine;
}

int wl_module_compile_raw(struct wl_engine *engine, const uint8_t *wasm,
                          size_t len, wasmtime_module_t **ret,
                          struct wl_error *err)
{
    static const uint8_t magic[4] = {0x00, 'a', 's', 'm'};

    /* Say plainly what a wrong file is, instead of a parser offset. */
    if (len < sizeof(magic) || memcmp(wasm, magic, sizeof(magic)) != 0)
        return wl_error_set(err, 0,
                            "not a WebAssembly module (no \\0asm header)");

    wasmtime_module_t *module = NULL;
    wasmtime_error_t *error =
        wasmtime_module_new(engine->engine, wasm, len, &module);
    if (error)
        return wl_error_from_wasmtime(err, error, "compile");
    *ret = module;
    return 0;
}

int wl_module_wrap(wasmtime_module_t *module, struct wl_module **ret,
                   struct wl_error *err)
{
    struct wl_module *m = malloc(sizeof(*m));
    if (!m) {
        wasmtime_module_delete(module);
        return wl_error_set(err, ENOMEM, "load module");
    }
    m->module = module;
    *ret = m;
    return 0;
}

int wl_module_compile(struct wl_engine *engine, const uint8_t *wasm,
                      size_t len, struct wl_module **ret, struct wl_error *err)
{
    wasmtime_module_t *module = NULL;
    if (wl_module_compile_raw(engine, wasm, len, &module, err) < 0)
        return -1;
    return wl_module_wrap(module, ret, err);
}

void wl_module_free(struct wl_module *m)
{
    if (!m)
        return;
    wasmtime_module_delete(m->module);
    free(m);
}

int wl_engine_sleep(struct wl_engine *e, const atomic_bool *cancel,
                    uint64_t until_ns)
{
    struct timespec ts = {.tv_sec = (time_t)(until_ns / 1000000000ULL),
                          .tv_nsec = (long)(until_ns % 1000000000ULL)};
    int r = 0;
    (void)pthread_mutex_lock(&e->sleep_lock);
    for (;;) {
        if (cancel && atomic_load(cancel)) {
            r = -1;
            break;
        }
        int w = pthread_cond_timedwait(&e->wake, &e->sleep_lock, &ts);
        if (w == ETIMEDOUT)
            break;
    }
    (void)pthread_mutex_unlock(&e->sleep_lock);
    return r;
}

void wl_run_cancel(struct wl_engine *e, atomic_bool *cancel)
{
    atomic_store(cancel, true);
    (void)pthread_mutex_lock(&e->sleep_lock);
    (void)pthread_cond_broadcast(&e->wake);
    (void)pthread_mutex_unlock(&e->sleep_lock);
}

void wl_engine_run_begin(struct wl_engine *e)
{
    (void)pthread_mutex_lock(&e->sleep_lock);
    if (e->running++ == 0)
        (void)pthread_cond_signal(&e->ticker_wake);
    (void)pthread_mutex_unlock(&e->sleep_lock);
}

void wl_engine_run_end(struct wl_engine *e)
{
    (void)pthread_mutex_lock(&e->sleep_lock);
    e->running--;
    (void)pthread_mutex_unlock(&e->sleep_lock);
}

unsigned long wl_engine_ticks(struct wl_engine *e)
{
    return atomic_load(&e->ticks);
}
