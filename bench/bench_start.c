/* bench_start: how long a container's module takes to start and run when
 * it is already compiled (issue #8, "module start"), against the physical
 * floor: the same module instantiated and run with the bare wasmtime C API
 * in a loop, on the same engine.
 *
 *   bench_start [--runs N] MODULE.wasm
 *
 * Each run of wasmlet's path is wl_run(): a store, WASI (argv, env,
 * stdout/stderr to /dev/null), our poll_oneoff, the memory limit and CPU
 * accounting, instantiation, _start, teardown. The floor is a store, WASI,
 * the linker, instantiation, _start, teardown: nothing of ours. Prints the
 * median and 99th percentile of each, the ratio of medians, and the target
 * (median <= 1 ms). */
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wasmtime.h>

#include "runtime/engine.h"
#include "runtime/engine_internal.h"
#include "runtime/run.h"
#include "util/fileio.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof(*v), cmp_double);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

/* The floor: one run with nothing but the C API. */
static int bare_run(wasm_engine_t *engine, const wasmtime_module_t *module)
{
    wasmtime_store_t *store = wasmtime_store_new(engine, NULL, NULL);
    wasmtime_context_t *ctx = wasmtime_store_context(store);
    wasmtime_context_set_epoch_deadline(ctx, 1ULL << 40);
    wasi_config_t *wasi = wasi_config_new();
    static const char *argv[] = {"bench"};
    (void)wasi_config_set_argv(wasi, 1, argv);
    (void)wasi_config_set_stdout_file(wasi, "/dev/null");
    (void)wasi_config_set_stderr_file(wasi, "/dev/null");
    wasmtime_error_t *error = wasmtime_context_set_wasi(ctx, wasi);
    wasmtime_linker_t *linker = wasmtime_linker_new(engine);
    if (!error)
        error = wasmtime_linker_define_wasi(linker);
    wasmtime_instance_t inst;
    wasm_trap_t *trap = NULL;
    if (!error)
        error = wasmtime_linker_instantiate(linker, ctx, module, &inst, &trap);
    int rc = error || trap ? -1 : 0;
    wasmtime_extern_t start;
    if (rc == 0 && wasmtime_instance_export_get(ctx, &inst, "_start", 6,
                                                &start)) {
        error = wasmtime_func_call(ctx, &start.of.func, NULL, 0, NULL, 0,
                                   &trap);
        /* proc_exit(0) comes back as an error carrying status 0 */
        int status;
        if (error && !wasmtime_error_exit_status(error, &status))
            rc = -1;
        wasmtime_extern_delete(&start);
    }
    if (error)
        wasmtime_error_delete(error);
    if (trap) {
        wasm_trap_delete(trap);
        rc = -1;
    }
    wasmtime_linker_delete(linker);
    wasmtime_store_delete(store);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"runs", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    long runs = 1000;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c != 'n')
            return 2;
        runs = strtol(optarg, NULL, 10);
    }
    if (optind + 1 != argc || runs < 10) {
        fprintf(stderr, "usage: bench_start [--runs N>=10] MODULE.wasm\n");
        return 2;
    }
    struct wl_error err = WL_ERROR_INIT;
    struct wl_engine *engine = NULL;
    struct wl_module *module = NULL;
    uint8_t *wasm = NULL;
    size_t len = 0;
    if (wl_file_read(AT_FDCWD, argv[optind], 64 << 20, &wasm, &len, &err) < 0 ||
        wl_engine_new(&engine, &err) < 0 ||
        wl_module_compile(engine, wasm, len, &module, &err) < 0) {
        fprintf(stderr, "bench_start: %s\n", err.msg);
        return 1;
    }
    free(wasm);

    double *ours = calloc((size_t)runs, sizeof(double));
    double *floor_ = calloc((size_t)runs, sizeof(double));
    static const char *const args[] = {"bench"};
    struct wl_run_spec spec = {
        .argv = args,
        .argc = 1,
        .stdout_path = "/dev/null",
        .stderr_path = "/dev/null",
        .memory_limit = 64 << 20,
    };
    struct wl_run_stats stats;
    memset(&stats, 0, sizeof(stats));
    spec.stats = &stats;
    /* Interleaved, so both see the same machine noise. */
    for (long i = -10; i < runs; i++) { /* 10 warm-up rounds */
        struct wl_run_result res = {0};
        double t0 = now_s();
        if (wl_run(engine, module, &spec, &res, &err) < 0 ||
            res.kind != WL_EXIT_CODE || res.exit_code != 0) {
            fprintf(stderr, "bench_start: run failed: %s\n",
                    err.msg ? err.msg : "exit not 0");
            return 1;
        }
        double t1 = now_s();
        wl_run_result_clear(&res);
        if (bare_run(wl_engine_raw(engine), module->module) < 0) {
            fprintf(stderr, "bench_start: bare run failed\n");
            return 1;
        }
        double t2 = now_s();
        if (i >= 0) {
            ours[i] = t1 - t0;
            floor_[i] = t2 - t1;
        }
    }
    double om = pct(ours, (size_t)runs, 0.5), op = pct(ours, (size_t)runs, 0.99);
    double fm = pct(floor_, (size_t)runs, 0.5),
           fp = pct(floor_, (size_t)runs, 0.99);
    printf("module start+run of %s, compiled, %ld runs\n", argv[optind], runs);
    printf("%-28s %10s %10s\n", "", "median ms", "p99 ms");
    printf("%-28s %10.3f %10.3f\n", "wasmlet (wl_run)", om * 1e3, op * 1e3);
    printf("%-28s %10.3f %10.3f\n", "bare wasmtime C API (floor)", fm * 1e3,
           fp * 1e3);
    printf("ratio of medians wasmlet/floor: %.2f\n", om / fm);
    printf("target: median <= 1 ms: %s\n", om <= 1e-3 ? "pass" : "MISS");
    free(ours);
    free(floor_);
    wl_module_free(module);
    wl_engine_free(engine);
    return 0;
}
