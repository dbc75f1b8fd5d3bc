#include "runtime/run.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/engine_internal.h"
#include "runtime/wasmtime_error.h"
#include "util/cleanup.h"
#include "util/metrics_daemon.h"


/* State the epoch-deadline callback reads and writes. Owned by wl_run's
 * stack frame; only the thread running the module touches it. */
struct run_ctx {
    struct wl_engine *engine;
    uint64_t deadline_ns; /* monotonic; 0 for none */
    const atomic_bool *cancel;
    enum wl_exit_kind stopped; /* WL_EXIT_CODE until the callback stops us */
    uint64_t wasi_base_ns; /* monotonic time when the WASI context was made */
    /* CPU limit: the thread may use quota_ns of CPU per CPU_PERIOD_NS */
    uint64_t quota_ns;
    uint64_t period_start_ns, period_cpu_ns;
    struct wl_run_stats *stats; /* NULL: nobody asks */
    const struct wl_memory_limit *limit;
};

/* The CPU limit is enforced per period, as CFS bandwidth control does. */
#define CPU_PERIOD_NS 100000000ULL

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Publishes what the run uses now (any thread may be reading). */
static void stats_update(struct run_ctx *ctx)
{
    if (!ctx->stats)
        return;
    atomic_store_explicit(&ctx->stats->cpu_ns, thread_cpu_ns(),
                          memory_order_relaxed);
    atomic_store_explicit(&ctx->stats->memory_bytes, ctx->limit->used,
                          memory_order_relaxed);
}

/* Called every epoch tick while the module runs: decides whether it goes
 * on. Returning an error unwinds the module. */
static wasmtime_error_t *on_epoch(wasmtime_context_t *context, void *data,
                                  uint64_t *delta,
                                  wasmtime_update_deadline_kind_t *kind)
{
    struct run_ctx *ctx = data;
    (void)context;

    if (ctx->cancel && atomic_load(ctx->cancel)) {
        ctx->stopped = WL_EXIT_CANCELLED;
        return wasmtime_error_new("cancelled");
    }
    if (ctx->deadline_ns && now_ns() >= ctx->deadline_ns) {
        ctx->stopped = WL_EXIT_TIMEOUT;
        return wasmtime_error_new("deadline exceeded");
    }
    stats_update(ctx);
    if (ctx->quota_ns) {
        /* Over its CPU for this period: sleep out the rest of it. */
        uint64_t now = now_ns(), cpu = thread_cpu_ns();
        if (now - ctx->period_start_ns >= CPU_PERIOD_NS) {
            ctx->period_start_ns = now;
            ctx->period_cpu_ns = cpu;
        } else if (cpu - ctx->period_cpu_ns >= ctx->quota_ns) {
            uint64_t until = ctx->period_start_ns + CPU_PERIOD_NS;
            if (ctx->deadline_ns && until > ctx->deadline_ns)
                until = ctx->deadline_ns;
            (void)wl_engine_sleep(ctx->engine, ctx->cancel, until);
            ctx->period_start_ns = now_ns();
            ctx->period_cpu_ns = thread_cpu_ns();
        }
    }
    *delta = 1;
    *kind = WASMTIME_UPDATE_DEADLINE_CONTINUE;
    return NULL;
}

/* ---- poll_oneoff ----
 *
 * WASI's poll_oneoff (sleep, nanosleep, clock_nanosleep) as wasmtime
 * implements it blocks the thread where epoch interruption cannot reach
 * it, so a sleeping module could be neither deleted nor timed out. Ours
 * shadows it: clock subscriptions sleep on the engine's wake condition
 * (wl_engine_sleep), which wl_run_cancel() interrupts at once; fd
 * subscriptions are reported ready straight away (pods have no stdin, and
 * regular files are always ready, as WASI says). Layouts are
 * wasi_snapshot_preview1's, little-endian like every host we build for. */

#define WASI_ERRNO_SUCCESS 0
#define WASI_ERRNO_FAULT 21
#define WASI_ERRNO_INVAL 28
#define WASI_SUBSCRIPTION_SIZE 48
#define WASI_EVENT_SIZE 32
#define WASI_EVENTTYPE_CLOCK 0
#define WASI_CLOCK_REALTIME 0
#define WASI_CLOCKFLAG_ABSTIME 1

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* When a clock subscription fires, on our monotonic clock. */
static uint64_t clock_due(const struct run_ctx *ctx, const uint8_t *sub,
                          uint64_t now)
{
    uint32_t id = get_u32(sub + 16);
    uint64_t timeout = get_u64(sub + 24);
    uint16_t flags;
    memcpy(&flags, sub + 40, sizeof(flags));
    if (!(flags & WASI_CLOCKFLAG_ABSTIME))
        return timeout > UINT64_MAX - now ? UINT64_MAX : now + timeout;
    if (id == WASI_CLOCK_REALTIME) {
        uint64_t real = realtime_ns();
        return timeout <= real ? now : now + (timeout - real);
    }
    /* WASI's monotonic clock counts from when the context was made. */
    uint64_t at = ctx->wasi_base_ns + timeout;
    return at < ctx->wasi_base_ns ? UINT64_MAX : at;
}

static void put_event(uint8_t *ev, const uint8_t *sub)
{
    memset(ev, 0, WASI_EVENT_SIZE);
    memcpy(ev, sub, 8);     /* userdata */
    ev[10] = sub[8];        /* type: the subscription's tag */
}

static wasm_trap_t *poll_oneoff(void *env, wasmtime_caller_t *caller,
                                const wasmtime_val_t *args, size_t nargs,
                                wasmtime_val_t *results, size_t nresults)
{
    struct run_ctx *ctx = env;
    (void)nargs;
    (void)nresults;
    stats_update(ctx);
    uint64_t in = (uint32_t)args[0].of.i32, out = (uint32_t)args[1].of.i32;
    uint64_t n = (uint32_t)args[2].of.i32,
             nevents_at = (uint32_t)args[3].of.i32;
    results[0].kind = WASMTIME_I32;
    results[0].of.i32 = WASI_ERRNO_FAULT;

    wasmtime_extern_t mem;
    if (!wasmtime_caller_export_get(caller, "memory", 6, &mem))
        return NULL;
    if (mem.kind != WASMTIME_EXTERN_MEMORY) {
        wasmtime_extern_delete(&mem);
        return NULL;
    }
    wasmtime_context_t *cx = wasmtime_caller_context(caller);
    uint8_t *base = wasmtime_memory_data(cx, &mem.of.memory);
    uint64_t size = wasmtime_memory_data_size(cx, &mem.of.memory);
    wasmtime_extern_delete(&mem);
    if (n == 0) {
        results[0].of.i32 = WASI_ERRNO_INVAL;
        return NULL;
    }
    if (in + n * WASI_SUBSCRIPTION_SIZE > size ||
        out + n * WASI_EVENT_SIZE > size || nevents_at + 4 > size)
        return NULL;

    const uint8_t *subs = base + in;
    uint8_t *events = base + out;
    uint32_t nev = 0;
    /* fd subscriptions are ready now: no waiting at all */
    for (uint64_t i = 0; i < n; i++)
        if (subs[i * WASI_SUBSCRIPTION_SIZE + 8] != WASI_EVENTTYPE_CLOCK)
            put_event(events + (nev++) * WASI_EVENT_SIZE,
                      subs + i * WASI_SUBSCRIPTION_SIZE);
    if (nev == 0) {
        uint64_t now = now_ns(), due = UINT64_MAX;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t d = clock_due(ctx, subs + i * WASI_SUBSCRIPTION_SIZE,
                                   now);
            if (d < due)
                due = d;
        }
        uint64_t until = due;
        if (ctx->deadline_ns && ctx->deadline_ns < until)
            until = ctx->deadline_ns;
        if (until > now &&
            wl_engine_sleep(ctx->engine, ctx->cancel, until) < 0) {
            ctx->stopped = WL_EXIT_CANCELLED;
            return wasmtime_trap_new("cancelled", 9);
        }
        if (ctx->deadline_ns && now_ns() >= ctx->deadline_ns &&
            due > ctx->deadline_ns) {
            ctx->stopped = WL_EXIT_TIMEOUT;
            return wasmtime_trap_new("deadline exceeded", 17);
        }
        now = now_ns();
        for (uint64_t i = 0; i < n; i++) {
            const uint8_t *sub = subs + i * WASI_SUBSCRIPTION_SIZE;
            if (clock_due(ctx, sub, now) <= now || nev == 0)
                put_event(events + (nev++) * WASI_EVENT_SIZE, sub);
        }
    }
    memcpy(base + nevents_at, &nev, sizeof(nev));
    results[0].of.i32 = WASI_ERRNO_SUCCESS;
    return NULL;
}

/* Shadows WASI's poll_oneoff in linker with ours. */
static int define_poll_oneoff(wasmtime_linker_t *linker, struct run_ctx *ctx,
                              struct wl_error *err)
{
    wasm_valtype_t *params[4] = {
        wasm_valtype_new_i32(), wasm_valtype_new_i32(),
        wasm_valtype_new_i32(), wasm_valtype_new_i32()};
    wasm_valtype_t *result = wasm_valtype_new_i32();
    wasm_valtype_vec_t pv, rv;
    wasm_valtype_vec_new(&pv, 4, params); /* takes the valtypes */
    wasm_valtype_vec_new(&rv, 1, &result);
    wasm_functype_t *ty = wasm_functype_new(&pv, &rv); /* takes the vecs */
    if (!ty)
        return wl_error_set(err, ENOMEM, "poll_oneoff");
    wasmtime_linker_allow_shadowing(linker, true);
    wasmtime_error_t *error = wasmtime_linker_define_func(
        linker, "wasi_snapshot_preview1", 22, "poll_oneoff", 11, ty,
        poll_oneoff, ctx, NULL);
    wasm_functype_delete(ty);
    wasmtime_linker_allow_shadowing(linker, false);
    if (error)
        return wl_error_from_wasmtime(err, error, "define poll_oneoff");
    return 0;
}

static ptrdiff_t to_stdout(void *data, const unsigned char *buf, size_t len)
{
    long n = wl_cri_log_write(data, WL_CRI_STDOUT, buf, len);
    return n < 0 ? -(ptrdiff_t)errno : (ptrdiff_t)n;
}

static ptrdiff_t to_stderr(void *data, const unsigned char *buf, size_t len)
{
    long n = wl_cri_log_write(data, WL_CRI_STDERR, buf, len);
    return n < 0 ? -(ptrdiff_t)errno : (ptrdiff_t)n;
}

static int wasi_config_build(const struct wl_run_spec *spec,
                             wasi_config_t **ret, struct wl_error *err)
{
    wasi_config_t *wasi = wasi_config_new();
    if (!wasi)
        return wl_error_set(err, ENOMEM, "wasi config");

    if (!wasi_config_set_argv(wasi, spec->argc, (const char **)spec->argv) ||
        !wasi_config_set_env(wasi, spec->envc,
                             (const char **)spec->env_names,
                             (const char **)spec->env_values)) {
        wasi_config_delete(wasi);
        return wl_error_set(err, 0, "wasi: invalid argv or environment");
    }
    if (spec->log) {
        wasi_config_set_stdout_custom(wasi, to_stdout, spec->log, NULL);
        wasi_config_set_stderr_custom(wasi, to_stderr, spec->log, NULL);
    } else if (spec->stdout_path) {
        if (!wasi_config_set_stdout_file(wasi, spec->stdout_path)) {
            wasi_config_delete(wasi);
            return wl_error_set(err, 0, "wasi: open stdout file %s",
                                spec->stdout_path);
        }
    } else {
        wasi_config_inherit_stdout(wasi);
    }
    if (spec->log) {
        /* set above */
    } else if (spec->stderr_path) {
        if (!wasi_config_set_stderr_file(wasi, spec->stderr_path)) {
            wasi_config_delete(wasi);
            return wl_error_set(err, 0, "wasi: open stderr file %s",
                                spec->stderr_path);
        }
    } else {
        wasi_config_inherit_stderr(wasi);
    }
    for (size_t i = 0; i < spec->npreopens; i++) {
        const struct wl_preopen *p = &spec->preopens[i];
        wasi_dir_perms dp = WASMTIME_WASI_DIR_PERMS_READ;
        wasi_file_perms fp = WASMTIME_WASI_FILE_PERMS_READ;
        if (!p->read_only) {
            dp |= WASMTIME_WASI_DIR_PERMS_WRITE;
            fp |= WASMTIME_WASI_FILE_PERMS_WRITE;
        }
        if (!wasi_config_preopen_dir(wasi, p->host_path, p->guest_path, dp,
                                     fp)) {
            wasi_config_delete(wasi);
            return wl_error_set(err, 0, "wasi: cannot open directory %s",
                                p->host_path);
        }
    }
    *ret = wasi;
    return 0;
}

/* Turns how _start ended into a result. Takes error and trap. */
static void result_from_call(struct run_ctx *ctx, wasmtime_error_t *error,
                             wasm_trap_t *trap, struct wl_run_result *ret)
{
    int status;

    memset(ret, 0, sizeof(*ret));
    if (!error && !trap) {
        ret->kind = WL_EXIT_CODE;
        return;
    }
    if (error && wasmtime_error_exit_status(error, &status)) {
        wasmtime_error_delete(error);
        ret->kind = WL_EXIT_CODE;
        ret->exit_code = status;
        return;
    }
    ret->kind = ctx->stopped != WL_EXIT_CODE ? ctx->stopped : WL_EXIT_TRAP;
    ret->exit_code = -1;
    /* wasmtime's messages carry a wasm backtrace (and a Rust one when
     * RUST_BACKTRACE is set) around the cause. Users see the cause: the
     * line after "Caused by:", or the first line when there is no such
     * section. */
    ret->message = wl_wasmtime_message(error, trap, false);
}

/* Whether the run ended in failure: a trap, or a non-zero exit (an
 * allocator that got NULL usually reports it and exits). A timeout or a
 * cancel is our doing, never the module running out of memory. */
static bool run_failed(const struct wl_run_result *r)
{
    return r->kind == WL_EXIT_TRAP ||
           (r->kind == WL_EXIT_CODE && r->exit_code != 0);
}

/* Instantiation failed. A module whose declared minimum memory is over
 * the limit fails here; say so in our words rather than wasmtime's. Takes
 * error and trap. */
static void instantiate_error(struct wl_error *err,
                              const struct wl_memory_limit *limit,
                              wasmtime_error_t *error, wasm_trap_t *trap)
{
    char *m = wl_wasmtime_message(error, trap, false);
    if (limit->hit) {
        wl_error_set(err, 0,
                     "instantiate: the module needs %llu bytes of linear "
                     "memory to start, over its memory limit of %llu bytes",
                     (unsigned long long)limit->refused,
                     (unsigned long long)limit->bytes);
    } else {
        wl_error_set(err, 0, "instantiate: %s", m ? m : "failed");
    }
    free(m);
}

int wl_run(struct wl_engine *engine, const struct wl_module *module,
           const struct wl_run_spec *spec, struct wl_run_result *ret,
           struct wl_error *err)
{
    struct run_ctx ctx = {
        .deadline_ns = spec->timeout_ms ? now_ns() + spec->timeout_ms * 1000000ULL
                                        : 0,
        .engine = engine,
        .cancel = spec->cancel,
        .stopped = WL_EXIT_CODE,
    };
    if (spec->cpu_limit_millis > 0) {
        int64_t millis = spec->cpu_limit_millis < 1 ? 1 : spec->cpu_limit_millis;
        ctx.quota_ns = (uint64_t)millis * CPU_PERIOD_NS / 1000;
        ctx.period_start_ns = now_ns();
        ctx.period_cpu_ns = thread_cpu_ns();
    }
    struct wl_memory_limit limit = {
        .bytes = spec->memory_limit > 0 ? (uint64_t)spec->memory_limit : 0,
    };
    uint64_t t0 = now_ns();
    ctx.stats = spec->stats;
    ctx.limit = &limit;
    if (ctx.stats) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        atomic_store(&ctx.stats->started_ns,
                     (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    }
    wasmtime_store_t *store = NULL;
    wasmtime_linker_t *linker = NULL;
    wasi_config_t *wasi = NULL;
    wasmtime_error_t *error = NULL;
    wasm_trap_t *trap = NULL;
    bool ticking = false;
    int r = -1;

    if (wasi_config_build(spec, &wasi, err) < 0)
        return -1;

    store = wasmtime_store_new(wl_engine_raw(engine), NULL, NULL);
    if (!store) {
        wasi_config_delete(wasi);
        return wl_error_set(err, ENOMEM, "create store");
    }
    wasmtime_context_t *context = wasmtime_store_context(store);
    /* Deadline one tick ahead; the callback re-arms it every tick. */
    wasmtime_context_set_epoch_deadline(context, 1);
    wasmtime_store_epoch_deadline_callback(store, on_epoch, &ctx, NULL);

    ctx.wasi_base_ns = now_ns();
    error = wasmtime_context_set_wasi(context, wasi); /* takes wasi */
    if (error) {
        wl_error_from_wasmtime(err, error, "wasi");
        goto out;
    }

    linker = wasmtime_linker_new(wl_engine_raw(engine));
    if (!linker) {
        wl_error_set(err, ENOMEM, "create linker");
        goto out;
    }
    error = wasmtime_linker_define_wasi(linker);
    if (error) {
        wl_error_from_wasmtime(err, error, "define wasi");
        goto out;
    }
    if (define_poll_oneoff(linker, &ctx, err) < 0)
        goto out;
    /* The limit is not wasmtime_store_limiter's: that one refuses a grow
     * without telling anyone. Our memories (memory.c) refuse it and record
     * that they did in limit, which lives as long as the store. */
    wasmtime_instance_t instance;
    /* From here wasm may run (a start function runs at instantiation):
     * the epoch must tick. */
    wl_engine_run_begin(engine);
    ticking = true;
    wl_memory_limit_enter(&limit);
    error = wasmtime_linker_instantiate(linker, context, module->module,
                                        &instance, &trap);
    wl_memory_limit_leave();
    if (error || trap) {
        instantiate_error(err, &limit, error, trap);
        goto out;
    }
    stats_update(&ctx);
    wl_histogram_observe(&wl_m_module_start_seconds,
                         (double)(now_ns() - t0) / 1e9);
    wasmtime_extern_t start;
    bool found =
        wasmtime_instance_export_get(context, &instance, "_start", 6, &start);
    if (!found || start.kind != WASMTIME_EXTERN_FUNC) {
        if (found)
            wasmtime_extern_delete(&start);
        wl_error_set(err, 0, "find _start: the module exports no _start "
                             "function (not a WASI command)");
        goto out;
    }

    error = wasmtime_func_call(context, &start.of.func, NULL, 0, NULL, 0,
                               &trap);
    wasmtime_extern_delete(&start);
    result_from_call(&ctx, error, trap, ret);
    /* OOMKilled: it failed after a grow past its limit was refused. One
     * that handled the refusal and exited 0 did not fail. */
    ret->oom = limit.hit && run_failed(ret);
    r = 0;

out:
    if (ticking)
        wl_engine_run_end(engine);
    if (linker)
        wasmtime_linker_delete(linker);
    wasmtime_store_delete(store);
    if (ctx.stats) {
        atomic_store(&ctx.stats->cpu_ns, thread_cpu_ns());
        atomic_store(&ctx.stats->memory_bytes, 0);
    }
    return r;
}

void wl_run_result_clear(struct wl_run_result *result)
{
    if (!result)
        return;
    free(result->message);
    result->message = NULL;
}
