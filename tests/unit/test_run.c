/* The runtime against real modules from tests/wasm and the real wasmtime. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/store.h"
#include "runtime/engine.h"
#include "runtime/module_cache.h"
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

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_run_sleeping_module_wakes_on_time(void)
{
    const char *argv[] = {"sleeper", "1"};
    struct wl_run_spec spec = {.argv = argv, .argc = 2};
    struct wl_run_result res;
    struct wl_error err = WL_ERROR_INIT;
    double t0 = mono_s();
    CHECK_INT(run("sleeper", &spec, &res, &err), 0);
    double took = mono_s() - t0;
    CHECK_INT(res.kind, WL_EXIT_CODE);
    CHECK_INT(res.exit_code, 0);
    CHECK(took >= 1.0);
    char *out = slurp(out_path);
    CHECK_STR(out, "sleeping 1 s\nwoke up\n");
    free(out);
}

static void test_run_sleeping_module_stops_at_timeout(void)
{
    const char *argv[] = {"sleeper"}; /* an hour */
    struct wl_run_spec spec = {.argv = argv, .argc = 1, .timeout_ms = 300};
    struct wl_run_result res;
    struct wl_error err = WL_ERROR_INIT;
    double t0 = mono_s();
    CHECK_INT(run("sleeper", &spec, &res, &err), 0);
    CHECK_INT(res.kind, WL_EXIT_TIMEOUT);
    CHECK(mono_s() - t0 < 30); /* not an hour */
    wl_run_result_clear(&res);
}

static atomic_bool sleeper_cancel;

static void *cancel_later(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
    wl_run_cancel(engine, &sleeper_cancel);
    return NULL;
}

static void test_run_sleeping_module_is_cancelled_at_once(void)
{
    const char *argv[] = {"sleeper"}; /* an hour */
    struct wl_run_spec spec = {.argv = argv, .argc = 1,
                               .cancel = &sleeper_cancel};
    struct wl_run_result res;
    struct wl_error err = WL_ERROR_INIT;
    pthread_t t;
    atomic_store(&sleeper_cancel, false);
    CHECK_INT(pthread_create(&t, NULL, cancel_later, NULL), 0);
    double t0 = mono_s();
    CHECK_INT(run("sleeper", &spec, &res, &err), 0);
    pthread_join(t, NULL);
    CHECK_INT(res.kind, WL_EXIT_CANCELLED);
    CHECK(mono_s() - t0 < 30);
    wl_run_result_clear(&res);
}

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_run_cpu_limit_throttles_a_busy_module(void)
{
    /* A busy loop for 1 s of wall time at 200m uses about 0.2 s of CPU;
     * unthrottled it would use all of it. The bound is loose on purpose
     * (shared machines): it only tells throttled from not. */
    const char *argv[] = {"loop"};
    struct wl_run_spec spec = {.argv = argv, .argc = 1, .timeout_ms = 1000,
                               .cpu_limit_millis = 200};
    struct wl_run_result res;
    struct wl_error err = WL_ERROR_INIT;
    struct wl_module *m = load("loop");
    CHECK(m != NULL);
    if (!m)
        return;
    spec.stdout_path = out_path;
    spec.stderr_path = err_path;
    double c0 = thread_cpu_s();
    CHECK_INT(wl_run(engine, m, &spec, &res, &err), 0);
    double used = thread_cpu_s() - c0;
    CHECK_INT(res.kind, WL_EXIT_TIMEOUT);
    CHECK(used < 0.6);
    wl_run_result_clear(&res);
    wl_module_free(m);
}

static void test_engine_ticks_only_while_modules_run(void)
{
    struct timespec pause = {0, 150 * 1000000L};
    nanosleep(&pause, NULL); /* a tick of the last test may still land */
    unsigned long t0 = wl_engine_ticks(engine);
    nanosleep(&pause, NULL);
    /* idle: no ticks (one in flight from an earlier run at most) */
    CHECK(wl_engine_ticks(engine) - t0 <= 1);

    const char *argv[] = {"loop"};
    struct wl_run_spec spec = {.argv = argv, .argc = 1, .timeout_ms = 200};
    struct wl_run_result res;
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(run("loop", &spec, &res, &err), 0);
    CHECK_INT(res.kind, WL_EXIT_TIMEOUT); /* so the ticker ran */
    wl_run_result_clear(&res);
    CHECK(wl_engine_ticks(engine) > t0);

    unsigned long t1 = wl_engine_ticks(engine);
    nanosleep(&pause, NULL);
    nanosleep(&pause, NULL);
    CHECK(wl_engine_ticks(engine) - t1 <= 1); /* 30 if it went on */
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

static void test_run_memory_limit_hit_and_failed_is_oom(void)
{
    const char *argv[] = {"memhog", "64"};
    struct wl_run_spec spec = {.argv = argv, .argc = 2,
                               .memory_limit = 16 << 20};
    struct wl_run_result res;
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(run("memhog", &spec, &res, &err), 0);
    CHECK_INT(res.kind, WL_EXIT_CODE);
    CHECK_INT(res.exit_code, 1);
    CHECK(res.oom);
}

static void test_run_within_memory_limit_is_not_oom(void)
{
    const char *argv[] = {"memhog", "8"};
    struct wl_run_spec spec = {.argv = argv, .argc = 2,
                               .memory_limit = 128 << 20};
    struct wl_run_result res;
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(run("memhog", &spec, &res, &err), 0);
    CHECK_INT(res.exit_code, 0);
    CHECK(!res.oom);

    /* No limit at all: never OOM. */
    spec.memory_limit = 0;
    CHECK_INT(run("memhog", &spec, &res, &err), 0);
    CHECK_INT(res.exit_code, 0);
    CHECK(!res.oom);
}

static void test_run_plain_trap_under_limit_is_not_oom(void)
{
    const char *argv[] = {"trap"};
    struct wl_run_spec spec = {.argv = argv, .argc = 1,
                               .memory_limit = 16 << 20};
    struct wl_run_result res;
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(run("trap", &spec, &res, &err), 0);
    CHECK_INT(res.kind, WL_EXIT_TRAP);
    CHECK(!res.oom);
    wl_run_result_clear(&res);
}

static void test_run_initial_memory_over_limit_is_an_error(void)
{
    const char *argv[] = {"hello"};
    struct wl_run_spec spec = {.argv = argv, .argc = 1,
                               .memory_limit = 64 << 10};
    struct wl_run_result res;
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(run("hello", &spec, &res, &err), -1);
    CHECK_CONTAINS(err.msg, "over its memory limit of 65536 bytes");
    wl_error_clear(&err);
}

/* ---- compiled-module cache ---- */

static char cache_dir[300];

static void wasm_path(const char *name, char *buf, size_t len)
{
    const char *dir = getenv("WL_TEST_WASM_DIR");
    snprintf(buf, len, "%s/%s.wasm", dir ? dir : ".", name);
}

static void digest_of_file(const char *path, char *digest)
{
    struct wl_error err = WL_ERROR_INIT;
    uint8_t *data = NULL;
    size_t len = 0;
    digest[0] = '\0';
    if (wl_file_read(AT_FDCWD, path, 64 << 20, &data, &len, &err) < 0) {
        wl_error_clear(&err);
        return;
    }
    if (wl_digest_of(data, len, digest, &err) < 0)
        wl_error_clear(&err);
    free(data);
}

/* The one .cwasm file in cache_dir, into buf; false if not exactly one. */
static bool the_cwasm(char *buf, size_t len)
{
    DIR *d = opendir(cache_dir);
    int n = 0;
    if (!d)
        return false;
    for (struct dirent *de; (de = readdir(d));) {
        size_t l = strlen(de->d_name);
        if (l > 6 && strcmp(de->d_name + l - 6, ".cwasm") == 0) {
            snprintf(buf, len, "%s/%s", cache_dir, de->d_name);
            n++;
        }
    }
    closedir(d);
    return n == 1;
}

/* A cache for e in dir, as the daemon makes one beside its engine. */
static struct wl_module_cache *cache_for(struct wl_engine *e, const char *dir)
{
    struct wl_module_cache *c = NULL;
    struct wl_error err = WL_ERROR_INIT;
    if (wl_module_cache_new(e, dir, &c, &err) < 0) {
        fprintf(stderr, "  module cache: %s\n", err.msg);
        exit(1);
    }
    return c;
}

static int load_cached(struct wl_module_cache *c, const char *name,
                       struct wl_module **m, enum wl_module_source *how)
{
    char path[512], digest[80];
    struct wl_error err = WL_ERROR_INIT;
    wasm_path(name, path, sizeof(path));
    digest_of_file(path, digest);
    int r = wl_module_load(c, digest, path, m, how, &err);
    if (r < 0)
        fprintf(stderr, "  load %s: %s\n", name, err.msg);
    wl_error_clear(&err);
    return r;
}

static int run_module(struct wl_engine *e, struct wl_module *m)
{
    const char *argv[] = {"hello.wasm"};
    struct wl_run_spec spec = {.argv = argv, .argc = 1,
                               .stdout_path = out_path,
                               .stderr_path = err_path};
    struct wl_run_result res;
    struct wl_error err = WL_ERROR_INIT;
    if (wl_run(e, m, &spec, &res, &err) < 0) {
        wl_error_clear(&err);
        return -1;
    }
    int code = res.kind == WL_EXIT_CODE ? res.exit_code : -1;
    wl_run_result_clear(&res);
    return code;
}

static void test_module_load_compiles_then_memory_then_disk(void)
{
    struct wl_engine *e1 = NULL, *e2 = NULL;
    struct wl_module *m1 = NULL, *m2 = NULL, *m3 = NULL;
    enum wl_module_source how;
    struct wl_error err = WL_ERROR_INIT;
    struct wl_module_cache_stats st;
    char cwasm[600];

    CHECK_INT(wl_engine_new(&e1, &err), 0);
    struct wl_module_cache *c1 = cache_for(e1, cache_dir);
    CHECK_INT(load_cached(c1, "hello", &m1, &how), 0);
    CHECK_INT(how, WL_MODULE_COMPILED);
    CHECK(the_cwasm(cwasm, sizeof(cwasm)));
    struct stat sb;
    CHECK_INT(stat(cwasm, &sb), 0);
    CHECK_INT(sb.st_mode & 0777, 0600);

    /* Same engine: memory. */
    CHECK_INT(load_cached(c1, "hello", &m2, &how), 0);
    CHECK_INT(how, WL_MODULE_MEMORY);
    wl_module_cache_stats(c1, &st);
    CHECK_INT(st.compiles, 1);
    CHECK_INT(st.memory_hits, 1);

    /* A fresh engine (a restarted daemon): disk, and it runs. */
    CHECK_INT(wl_engine_new(&e2, &err), 0);
    struct wl_module_cache *c2 = cache_for(e2, cache_dir);
    CHECK_INT(load_cached(c2, "hello", &m3, &how), 0);
    CHECK_INT(how, WL_MODULE_DISK);
    CHECK_INT(run_module(e2, m3), 0);
    wl_module_cache_stats(c2, &st);
    CHECK_INT(st.compiles, 0);
    CHECK_INT(st.disk_hits, 1);

    /* A module outlives the cache and its entry: free the clones last. */
    wl_module_cache_free(c1);
    wl_module_cache_free(c2);
    wl_module_free(m1);
    CHECK_INT(run_module(e1, m2), 0);
    wl_module_free(m2);
    wl_module_free(m3);
    wl_engine_free(e1);
    wl_engine_free(e2);
}

/* Run after the test above: its .cwasm is there to damage. */
static void check_damaged_cache_recompiles(const char *what, bool cut)
{
    struct wl_engine *e = NULL;
    struct wl_module *m = NULL;
    enum wl_module_source how;
    struct wl_error err = WL_ERROR_INIT;
    struct wl_module_cache_stats st;
    char cwasm[600];

    CHECK(the_cwasm(cwasm, sizeof(cwasm)));
    if (cut) {
        struct stat sb;
        CHECK_INT(stat(cwasm, &sb), 0);
        CHECK_INT(truncate(cwasm, sb.st_size / 2), 0);
    } else {
        const char garbage[] = "this is not a compiled module at all";
        CHECK_INT(wl_file_write_atomic(AT_FDCWD, cwasm, garbage,
                                       sizeof(garbage), 0600, &err),
                  0);
    }
    CHECK_INT(wl_engine_new(&e, &err), 0);
    struct wl_module_cache *c = cache_for(e, cache_dir);
    CHECK_INT(load_cached(c, "hello", &m, &how), 0);
    CHECK_INT(how, WL_MODULE_COMPILED);
    CHECK_INT(run_module(e, m), 0);
    wl_module_cache_stats(c, &st);
    CHECK_INT(st.disk_rejected, 1);
    CHECK_INT(st.compiles, 1);
    wl_module_free(m);
    wl_module_cache_free(c);
    wl_engine_free(e);

    /* The rewritten file is good again. */
    CHECK_INT(wl_engine_new(&e, &err), 0);
    c = cache_for(e, cache_dir);
    CHECK_INT(load_cached(c, "hello", &m, &how), 0);
    CHECK_INT(how, WL_MODULE_DISK);
    wl_module_free(m);
    wl_module_cache_free(c);
    wl_engine_free(e);
    (void)what;
}

static void test_module_load_truncated_cache_file_is_recompiled(void)
{
    check_damaged_cache_recompiles("truncated", true);
}

static void test_module_load_garbage_cache_file_is_recompiled(void)
{
    check_damaged_cache_recompiles("garbage", false);
}

static void test_module_load_different_digest_is_different_entry(void)
{
    struct wl_engine *e = NULL;
    struct wl_module *a = NULL, *b = NULL;
    enum wl_module_source how;
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(wl_engine_new(&e, &err), 0);
    struct wl_module_cache *c = cache_for(e, cache_dir);
    CHECK_INT(load_cached(c, "hello", &a, &how), 0);
    CHECK_INT(how, WL_MODULE_DISK);
    CHECK_INT(load_cached(c, "exit_code", &b, &how), 0);
    CHECK_INT(how, WL_MODULE_COMPILED);
    wl_module_free(a);
    wl_module_free(b);
    wl_module_cache_free(c);
    wl_engine_free(e);
}

static void test_module_load_rejects_bad_digest_and_missing_file(void)
{
    struct wl_engine *e = NULL;
    struct wl_module *m = NULL;
    struct wl_error err = WL_ERROR_INIT;
    CHECK_INT(wl_engine_new(&e, &err), 0);
    struct wl_module_cache *c = cache_for(e, cache_dir);
    CHECK_INT(wl_module_load(c, "sha256:../../etc", "/x", &m, NULL, &err), -1);
    CHECK_CONTAINS(err.msg, "malformed digest");
    wl_error_clear(&err);
    const char *d = "sha256:00000000000000000000000000000000"
                    "00000000000000000000000000000000";
    CHECK_INT(wl_module_load(c, d, "/nonexistent.wasm", &m, NULL, &err), -1);
    CHECK_CONTAINS(err.msg, "/nonexistent.wasm");
    wl_error_clear(&err);
    /* A failed load is not remembered: the next one tries again. */
    CHECK_INT(wl_module_load(c, d, "/nonexistent.wasm", &m, NULL, &err), -1);
    wl_error_clear(&err);
    wl_module_cache_free(c);
    wl_engine_free(e);
}

/* wasmlet run POD.yaml hashes a file image once and compiles those very
 * bytes: no second read that could find another module swapped in and
 * cache it under the first one's digest. */
static void test_module_load_bytes_compiles_what_was_hashed(void)
{
    struct wl_engine *e = NULL;
    struct wl_module *m = NULL;
    struct wl_error err = WL_ERROR_INIT;
    enum wl_module_source how = WL_MODULE_MEMORY;
    char path[512], digest[80];
    uint8_t *wasm = NULL;
    size_t len = 0;
    CHECK_INT(wl_engine_new(&e, &err), 0);
    struct wl_module_cache *c = cache_for(e, NULL);
    wasm_path("hello", path, sizeof(path));
    CHECK_INT(wl_file_read(AT_FDCWD, path, 64 << 20, &wasm, &len, &err), 0);
    CHECK_INT(wl_digest_of(wasm, len, digest, &err), 0);
    CHECK_INT(wl_module_load_bytes(c, digest, wasm, len, &m, &how, &err), 0);
    CHECK_INT(how, WL_MODULE_COMPILED);
    wl_module_free(m);
    m = NULL;
    /* the cache now has it under that digest: no file is read */
    CHECK_INT(wl_module_load(c, digest, "/nonexistent.wasm", &m, &how, &err),
              0);
    CHECK_INT(how, WL_MODULE_MEMORY);
    wl_module_free(m);
    m = NULL;
    /* bytes that are not a module fail as a file would */
    const char *d = "sha256:11111111111111111111111111111111"
                    "11111111111111111111111111111111";
    CHECK_INT(wl_module_load_bytes(c, d, (const uint8_t *)"nope", 4, &m, NULL,
                                   &err),
              -1);
    wl_error_clear(&err);
    free(wasm);
    wl_module_cache_free(c);
    wl_engine_free(e);
}

struct loader {
    struct wl_module_cache *cache;
    const char *digest;
    const char *path;
    pthread_barrier_t *start;
    int rc;
};

static void *loader_main(void *arg)
{
    struct loader *l = arg;
    struct wl_module *m = NULL;
    struct wl_error err = WL_ERROR_INIT;
    (void)pthread_barrier_wait(l->start);
    l->rc = wl_module_load(l->cache, l->digest, l->path, &m, NULL, &err);
    wl_error_clear(&err);
    wl_module_free(m);
    return NULL;
}

static void test_module_load_concurrent_loads_compile_once(void)
{
    enum { N = 8 };
    struct wl_engine *e = NULL;
    struct wl_error err = WL_ERROR_INIT;
    char path[512], digest[80];
    pthread_t threads[N];
    struct loader loaders[N];
    pthread_barrier_t start;
    struct wl_module_cache_stats st;

    wasm_path("loop", path, sizeof(path));
    digest_of_file(path, digest);
    CHECK_INT(wl_engine_new(&e, &err), 0);
    struct wl_module_cache *c = cache_for(e, NULL); /* memory only */
    CHECK_INT(pthread_barrier_init(&start, NULL, N), 0);
    for (int i = 0; i < N; i++) {
        loaders[i] = (struct loader){.cache = c, .digest = digest,
                                     .path = path, .start = &start, .rc = -2};
        CHECK_INT(pthread_create(&threads[i], NULL, loader_main, &loaders[i]),
                  0);
    }
    for (int i = 0; i < N; i++)
        (void)pthread_join(threads[i], NULL);
    (void)pthread_barrier_destroy(&start);
    for (int i = 0; i < N; i++)
        CHECK_INT(loaders[i].rc, 0);
    wl_module_cache_stats(c, &st);
    CHECK_INT(st.compiles, 1);
    CHECK_INT(st.memory_hits, N - 1);
    CHECK_INT(st.disk_hits, 0);
    wl_module_cache_free(c);
    wl_engine_free(e);
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
    snprintf(cache_dir, sizeof(cache_dir), "%s/cache/compiled", tmp);
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
             WL_T(test_run_sleeping_module_wakes_on_time),
             WL_T(test_run_sleeping_module_stops_at_timeout),
             WL_T(test_run_sleeping_module_is_cancelled_at_once),
             WL_T(test_run_cpu_limit_throttles_a_busy_module),
             WL_T(test_engine_ticks_only_while_modules_run),
             WL_T(test_run_memory_limit_makes_allocation_fail),
             WL_T(test_run_preopen_reads_and_writes_only_there),
             WL_T(test_run_missing_preopen_dir_is_an_error),
             WL_T(test_compile_rejects_non_wasm_clearly),
             WL_T(test_run_memory_limit_hit_and_failed_is_oom),
             WL_T(test_run_within_memory_limit_is_not_oom),
             WL_T(test_run_plain_trap_under_limit_is_not_oom),
             WL_T(test_run_initial_memory_over_limit_is_an_error),
             WL_T(test_module_load_compiles_then_memory_then_disk),
             WL_T(test_module_load_truncated_cache_file_is_recompiled),
             WL_T(test_module_load_garbage_cache_file_is_recompiled),
             WL_T(test_module_load_different_digest_is_different_entry),
             WL_T(test_module_load_rejects_bad_digest_and_missing_file),
             WL_T(test_module_load_bytes_compiles_what_was_hashed),
             WL_T(test_module_load_concurrent_loads_compile_once),
             WL_T(test_teardown))
