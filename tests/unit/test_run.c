/* The runtime against real modules from tests/wasm and the real wasmtime. */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/engine.h"
#include "runtime/run.h"
#include "test.h"
#include "util/fileio.h"

static struct wl_engine *engine;
static char tmp[] = "/tmp/wl-test-run-XXXXXX";
static char out_path[256], err_path[256];

static struct wl_module *load(const char *name)
{
    char path[512];
    const char *dir = getenv("WL_TEST_WASM_DIR");
    snprintf(path, sizeof(path), "%s/%s.wasm", dir ? dir : ".", name);
    struct wl_error err = WL_ERROR_INIT;
    uint8_t *wasm = NULL;
    size_t len = 0;
    struct wl_module *m = NULL;
    if (wl_file_read(AT_FDCWD, path, 64 << 20, &wasm, &len, &err) < 0 ||
        wl_module_compile(engine, wasm, len, &m, &err) < 0) {
        fprintf(stderr, "  load %s: %s\n", path, err.msg);
        wl_error_clear(&err);
    }
    free(wasm);
    return m;
}

/* Reads a captured stream; "" when the file is empty or missing. */
static char *slurp(const char *path)
{
    struct wl_error err = WL_ERROR_INIT;
    uint8_t *data = NULL;
    size_t len = 0;
    if (wl_file_read(AT_FDCWD, path, 1 << 20, &data, &len, &err) < 0) {
        wl_error_clear(&err);
        return strdup("");
    }
    return (char *)data;
}

/* Runs name with args, capturing stdout/stderr to files under tmp. */
static int run(const char *name, struct wl_run_spec *spec,
               struct wl_run_result *res, struct wl_error *err)
{
    struct wl_module *m = load(name);
    if (!m)
        return wl_error_set(err, 0, "cannot load %s", name);
    spec->stdout_path = out_path;
    spec->stderr_path = err_path;
    int r = wl_run(engine, m, spec, res, err);
    wl_module_free(m);
    return r;
}

static void test_run_passes_args_and_env(void)
{
    const char *argv[] = {"hello.wasm", "a", "b c"};
    const char *names[] = {"GREETING", "EMPTY"};
    const char *values[] = {"hi there", ""};
    struct wl_run_spec spec = {.argv = argv, .argc = 3, .env_names = names,
                               .env_values = values, .envc = 2};
    struct wl_run_result res;
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(run("hello", &spec, &res, &err), 0);
    CHECK_INT(res.kind, WL_EXIT_CODE);
    CHECK_INT(res.exit_code, 0);
    char *out = slurp(out_path);
    CHECK_STR(out, "hello from wasm\narg[0]=hello.wasm\narg[1]=a\n"
                   "arg[2]=b c\nenv GREETING=hi there\nenv EMPTY=\n");
    free(out);
}

static void test_run_reports_exit_code(void)
{
    const char *argv[] = {"exit_code", "42"};
    struct wl_run_spec spec = {.argv = argv, .argc = 2};
    struct wl_run_result res;
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(run("exit_code", &spec, &res, &err), 0);
    CHECK_INT(res.kind, WL_EXIT_CODE);
    CHECK_INT(res.exit_code, 42);
    CHECK(res.message == NULL);
}

static void test_run_reports_trap_with_message(void)
{
    const char *argv[] = {"trap"};
    struct wl_run_spec spec = {.argv = argv, .argc = 1};
    struct wl_run_result res;
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(run("trap", &spec, &res, &err), 0);
    CHECK_INT(res.kind, WL_EXIT_TRAP);
    CHECK_CONTAINS(res.message, "unreachable");
    char *out = slurp(out_path);
    CHECK_STR(out, "about to trap\n");
    free(out);
    wl_run_result_clear(&res);
}

static void test_run_stops_infinite_loop_at_timeout(void)
{
    const char *argv[] = {"loop"};
    struct wl_run_spec spec = {.argv = argv, .argc = 1, .timeout_ms = 200};
    struct wl_run_result res;
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(run("loop", &spec, &res, &err), 0);
    CHECK_INT(res.kind, WL_EXIT_TIMEOUT);
    wl_run_result_clear(&res);
}

static void test_run_stops_when_cancelled(void)
{
    static atomic_bool cancel = true; /* already set: stops at first tick */
    const char *argv[] = {"loop"};
    struct wl_run_spec spec = {.argv = argv, .argc = 1, .cancel = &cancel};
    struct wl_run_result res;
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(run("loop", &spec, &res, &err), 0);
    CHECK_INT(res.kind, WL_EXIT_CANCELLED);
    wl_run_result_clear(&res);
}

static void test_run_memory_limit_makes_allocation_fail(void)
{
    const char *argv[] = {"memhog", "64"};
    struct wl_run_spec spec = {.argv = argv, .argc = 2,
                               .memory_limit = 16 << 20};
    struct wl_run_result res;
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(run("memhog", &spec, &res, &err), 0);
    CHECK_INT(res.kind, WL_EXIT_CODE);
    CHECK_INT(res.exit_code, 1);
    char *e = slurp(err_path);
    CHECK_CONTAINS(e, "memhog: allocation failed after");
    free(e);

    /* The same module within its limit succeeds. */
    spec.memory_limit = 128 << 20;
    CHECK_INT(run("memhog", &spec, &res, &err), 0);
    CHECK_INT(res.exit_code, 0);
    char *out = slurp(out_path);
    CHECK_STR(out, "memhog: holding 64 MiB\n");
    free(out);
}

static void test_run_preopen_reads_and_writes_only_there(void)
{
    char vol[300];
    snprintf(vol, sizeof(vol), "%s/vol", tmp);
    CHECK_INT(mkdir(vol, 0700), 0);
    struct wl_preopen pre = {.host_path = vol, .guest_path = "/data"};
    const char *write_argv[] = {"files", "write", "/data/f.txt", "payload"};
    struct wl_run_spec spec = {.argv = write_argv, .argc = 4,
                               .preopens = &pre, .npreopens = 1};
    struct wl_run_result res;
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(run("files", &spec, &res, &err), 0);
    CHECK_INT(res.exit_code, 0);

    char host_file[320];
    snprintf(host_file, sizeof(host_file), "%s/f.txt", vol);
    char *content = slurp(host_file);
    CHECK_STR(content, "payload");
    free(content);

    /* Outside the preopen nothing of the host is visible. */
    const char *escape_argv[] = {"files", "read", "/etc/hostname"};
    spec.argv = escape_argv;
    spec.argc = 3;
    CHECK_INT(run("files", &spec, &res, &err), 0);
    CHECK_INT(res.exit_code, 1);

    /* A read-only preopen can be read but not written. */
    pre.read_only = true;
    const char *read_argv[] = {"files", "read", "/data/f.txt"};
    spec.argv = read_argv;
    CHECK_INT(run("files", &spec, &res, &err), 0);
    CHECK_INT(res.exit_code, 0);
    char *out = slurp(out_path);
    CHECK_STR(out, "payload");
    free(out);
    spec.argv = write_argv;
    spec.argc = 4;
    CHECK_INT(run("files", &spec, &res, &err), 0);
    CHECK_INT(res.exit_code, 1);
    content = slurp(host_file);
    CHECK_STR(content, "payload");
    free(content);
}

static void test_run_missing_preopen_dir_is_an_error(void)
{
    struct wl_preopen pre = {.host_path = "/nonexistent-wl-dir",
                             .guest_path = "/data"};
    const char *argv[] = {"hello"};
    struct wl_run_spec spec = {.argv = argv, .argc = 1, .preopens = &pre,
                               .npreopens = 1};
    struct wl_run_result res;
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(run("hello", &spec, &res, &err), -1);
    CHECK_STR(err.msg, "wasi: cannot open directory /nonexistent-wl-dir");
    wl_error_clear(&err);
}

static void test_compile_rejects_non_wasm_clearly(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_module *m = NULL;
    const uint8_t text[] = "#!/bin/sh\necho hi\n";
    CHECK_INT(wl_module_compile(engine, text, sizeof(text) - 1, &m, &err), -1);
    CHECK_STR(err.msg, "not a WebAssembly module (no \\0asm header)");
    wl_error_clear(&err);

    /* Right magic, truncated body: wasmtime's reason, prefixed. */
    const uint8_t truncated[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1};
    CHECK_INT(wl_module_compile(engine, truncated, sizeof(truncated), &m,
                                &err),
              -1);
    CHECK_CONTAINS(err.msg, "compile: ");
    CHECK(m == NULL);
    wl_error_clear(&err);
}

static void test_setup(void)
{
    struct wl_error err = WL_ERROR_INIT;
    if (!mkdtemp(tmp) || wl_engine_new(&engine, &err) < 0) {
        fprintf(stderr, "setup: %s\n", err.msg ? err.msg : "mkdtemp failed");
        exit(1);
    }
    snprintf(out_path, sizeof(out_path), "%s/stdout", tmp);
    snprintf(err_path, sizeof(err_path), "%s/stderr", tmp);
}

static void test_teardown(void)
{
    char cmd[300];
    wl_engine_free(engine);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
    CHECK_INT(system(cmd), 0);
}

WL_TEST_MAIN(WL_T(test_setup), WL_T(test_run_passes_args_and_env),
             WL_T(test_run_reports_exit_code),
             WL_T(test_run_reports_trap_with_message),
             WL_T(test_run_stops_infinite_loop_at_timeout),
             WL_T(test_run_stops_when_cancelled),
             WL_T(test_run_memory_limit_makes_allocation_fail),
             WL_T(test_run_preopen_reads_and_writes_only_there),
             WL_T(test_run_missing_preopen_dir_is_an_error),
             WL_T(test_compile_rejects_non_wasm_clearly),
             WL_T(test_teardown))
