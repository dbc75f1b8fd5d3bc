/* libFuzzer target: WebAssembly files, as pulled from a registry, through
 * our loader and wasmtime's compiler. Valid modules are also instantiated
 * and run with a short deadline and no preopens, as a pod would run them. */
#include <stdint.h>
#include <stdlib.h>

#include "runtime/engine.h"
#include "runtime/run.h"

static struct wl_engine *engine;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    struct wl_error err = WL_ERROR_INIT;
    if (wl_engine_new(&engine, &err) < 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_module *m = NULL;

    if (size > 1 << 16)
        return -1; /* keep inputs small: compile time grows with size */
    if (wl_module_compile(engine, data, size, &m, &err) < 0) {
        if (!err.msg)
            abort();
        wl_error_clear(&err);
        return 0;
    }
    const char *argv[] = {"fuzz"};
    struct wl_run_spec spec = {
        .argv = argv,
        .argc = 1,
        .stdout_path = "/dev/null",
        .stderr_path = "/dev/null",
        .memory_limit = 64 << 20,
        .timeout_ms = 50,
    };
    struct wl_run_result res;
    if (wl_run(engine, m, &spec, &res, &err) == 0)
        wl_run_result_clear(&res);
    wl_error_clear(&err);
    wl_module_free(m);
    return 0;
}
