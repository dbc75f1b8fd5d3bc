#include "runtime/run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/engine_internal.h"
#include "util/cleanup.h"

/* State the epoch-deadline callback reads and writes. Owned by wl_run's
 * stack frame; only the thread running the module touches it. */
struct run_ctx {
    uint64_t deadline_ns; /* monotonic; 0 for none */
    const atomic_bool *cancel;
    enum wl_exit_kind stopped; /* WL_EXIT_CODE until the callback stops us */
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
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
    *delta = 1;
    *kind = WASMTIME_UPDATE_DEADLINE_CONTINUE;
    return NULL;
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

/* wasmtime's messages carry a wasm backtrace (and a Rust one when
 * RUST_BACKTRACE is set) around the cause. Users see the cause: the line
 * after "Caused by:", or the first line when there is no such section. */
static char *message_of(const wasm_byte_vec_t *msg)
{
    static const char caused[] = "\nCaused by:\n";
    const char *start = msg->data, *end = msg->data + msg->size;
    const char *c = memmem(start, msg->size, caused, sizeof(caused) - 1);

    if (c) {
        start = c + sizeof(caused) - 1;
        while (start < end && (*start == ' ' || *start == '\t'))
            start++;
    }
    const char *nl = memchr(start, '\n', (size_t)(end - start));
    if (nl)
        end = nl;
    char *s = NULL;
    if (asprintf(&s, "%.*s", (int)(end - start), start) < 0)
        return NULL;
    return s;
}

/* Turns how _start ended into a result. Takes error and trap. */
static void result_from_call(struct run_ctx *ctx, wasmtime_error_t *error,
                             wasm_trap_t *trap, struct wl_run_result *ret)
{
    wasm_byte_vec_t msg;
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
    if (error) {
        wasmtime_error_message(error, &msg);
        wasmtime_error_delete(error);
    } else {
        wasm_trap_message(trap, &msg);
        wasm_trap_delete(trap);
    }
    ret->kind = ctx->stopped != WL_EXIT_CODE ? ctx->stopped : WL_EXIT_TRAP;
    ret->exit_code = -1;
    ret->message = message_of(&msg);
    wasm_byte_vec_delete(&msg);
}

int wl_run(struct wl_engine *engine, const struct wl_module *module,
           const struct wl_run_spec *spec, struct wl_run_result *ret,
           struct wl_error *err)
{
    struct run_ctx ctx = {
        .deadline_ns = spec->timeout_ms ? now_ns() + spec->timeout_ms * 1000000ULL
                                        : 0,
        .cancel = spec->cancel,
        .stopped = WL_EXIT_CODE,
    };
    wasmtime_store_t *store = NULL;
    wasmtime_linker_t *linker = NULL;
    wasi_config_t *wasi = NULL;
    wasmtime_error_t *error = NULL;
    wasm_trap_t *trap = NULL;
    int r = -1;

    if (wasi_config_build(spec, &wasi, err) < 0)
        return -1;

    store = wasmtime_store_new(wl_engine_raw(engine), NULL, NULL);
    if (!store) {
        wasi_config_delete(wasi);
        return wl_error_set(err, ENOMEM, "create store");
    }
    wasmtime_context_t *context = wasmtime_store_context(store);
    if (spec->memory_limit > 0)
        wasmtime_store_limiter(store, spec->memory_limit, -1, -1, -1, -1);
    /* Deadline one tick ahead; the callback re-arms it every tick. */
    wasmtime_context_set_epoch_deadline(context, 1);
    wasmtime_store_epoch_deadline_callback(store, on_epoch, &ctx, NULL);

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
    error = wasmtime_linker_module(linker, context, "", 0, module->module);
    if (error) {
        wl_error_from_wasmtime(err, error, "instantiate");
        goto out;
    }
    wasmtime_func_t start;
    error = wasmtime_linker_get_default(linker, context, "", 0, &start);
    if (error) {
        wl_error_from_wasmtime(err, error, "find _start");
        goto out;
    }

    error = wasmtime_func_call(context, &start, NULL, 0, NULL, 0, &trap);
    result_from_call(&ctx, error, trap, ret);
    r = 0;

out:
    if (linker)
        wasmtime_linker_delete(linker);
    wasmtime_store_delete(store);
    return r;
}

void wl_run_result_clear(struct wl_run_result *result)
{
    if (!result)
        return;
    free(result->message);
    result->message = NULL;
}
