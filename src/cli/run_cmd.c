/* wasmlet run FILE.wasm [-- ARGS...]: run one module, as a container would
 * run, with its exit code as ours. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "kube/quantity.h"
#include "runtime/engine.h"
#include "runtime/run.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/log.h"

/* Modules larger than this are refused before they are read. */
#define WL_MODULE_MAX_SIZE (256u * 1024 * 1024)

struct run_opts {
    const char **env_names;
    const char **env_values;
    size_t envc;
    struct wl_preopen *preopens;
    size_t npreopens;
    int64_t memory_limit;
    uint64_t timeout_ms;
};

static void run_opts_clear(struct run_opts *o)
{
    free(o->env_names);
    free(o->env_values);
    for (size_t i = 0; i < o->npreopens; i++)
        free((char *)o->preopens[i].host_path);
    free(o->preopens);
}

static void run_usage(FILE *f)
{
    fprintf(f,
            "Usage: wasmlet run [OPTIONS] FILE.wasm [-- ARGS...]\n"
            "\n"
            "Runs a WASI command module and exits with its exit code.\n"
            "\n"
            "  -e, --env NAME=VALUE       set an environment variable "
            "(repeatable)\n"
            "  -d, --dir HOST:GUEST[:ro]  let the module see HOST as GUEST "
            "(repeatable)\n"
            "  -m, --memory-limit QTY     cap linear memory (e.g. 64Mi)\n"
            "  -t, --timeout SECONDS      stop the module after SECONDS\n"
            "  -h, --help                 show this help\n"
            "\n"
            "Exit status: the module's own, %d if it ran past --timeout, "
            "%d if it\ntrapped, %d if wasmlet could not run it.\n",
            WL_STATUS_TIMEOUT, WL_STATUS_TRAP, WL_STATUS_FAILED);
}

/* --env NAME=VALUE: the strings point into argv, which outlives the run. */
static int add_env(struct run_opts *o, char *arg, struct wl_error *err)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return wl_error_set(err, 0, "--env %s: expected NAME=VALUE", arg);
    const char **n = realloc(o->env_names, (o->envc + 1) * sizeof(*n));
    if (!n)
        return wl_error_set(err, ENOMEM, "--env");
    o->env_names = n;
    const char **v = realloc(o->env_values, (o->envc + 1) * sizeof(*v));
    if (!v)
        return wl_error_set(err, ENOMEM, "--env");
    o->env_values = v;
    *eq = '\0';
    o->env_names[o->envc] = arg;
    o->env_values[o->envc] = eq + 1;
    o->envc++;
    return 0;
}

/* --dir HOST:GUEST[:ro]. HOST must not contain ':' (as docker -v). */
static int add_dir(struct run_opts *o, const char *arg, struct wl_error *err)
{
    const char *colon = strchr(arg, ':');
    if (!colon || colon == arg || colon[1] == '\0')
        return wl_error_set(err, 0, "--dir %s: expected HOST:GUEST[:ro]", arg);
    const char *guest = colon + 1;
    bool ro = false;
    size_t glen = strlen(guest);
    if (glen > 3 && strcmp(guest + glen - 3, ":ro") == 0) {
        ro = true;
        glen -= 3;
    } else if (strchr(guest, ':')) {
        return wl_error_set(err, 0, "--dir %s: unknown mode after GUEST", arg);
    }
    /* One allocation holds "HOST\0GUEST\0"; host_path owns it. */
    size_t hlen = (size_t)(colon - arg);
    char *mem = malloc(hlen + 1 + glen + 1);
    if (!mem)
        return wl_error_set(err, ENOMEM, "--dir");
    memcpy(mem, arg, hlen);
    mem[hlen] = '\0';
    memcpy(mem + hlen + 1, guest, glen);
    mem[hlen + 1 + glen] = '\0';

    struct wl_preopen *p =
        realloc(o->preopens, (o->npreopens + 1) * sizeof(*p));
    if (!p) {
        free(mem);
        return wl_error_set(err, ENOMEM, "--dir");
    }
    o->preopens = p;
    o->preopens[o->npreopens++] = (struct wl_preopen){
        .host_path = mem, .guest_path = mem + hlen + 1, .read_only = ro};
    return 0;
}

static int parse_timeout(const char *arg, uint64_t *ret, struct wl_error *err)
{
    char *end = NULL;
    errno = 0;
    double s = strtod(arg, &end);
    if (errno || end == arg || *end || !(s > 0) || s > 1e9)
        return wl_error_set(err, 0, "--timeout %s: expected seconds > 0", arg);
    *ret = (uint64_t)(s * 1000.0 + 0.5);
    if (*ret == 0)
        *ret = 1;
    return 0;
}

static int parse_opts(int argc, char **argv, struct run_opts *o,
                      struct wl_error *err)
{
    static const struct option longopts[] = {
        {"env", required_argument, NULL, 'e'},
        {"dir", required_argument, NULL, 'd'},
        {"memory-limit", required_argument, NULL, 'm'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    /* '+': stop at the first non-option, the module file. */
    while ((c = getopt_long(argc, argv, "+e:d:m:t:h", longopts, NULL)) != -1) {
        int r = 0;
        switch (c) {
        case 'e':
            r = add_env(o, optarg, err);
            break;
        case 'd':
            r = add_dir(o, optarg, err);
            break;
        case 'm':
            r = wl_quantity_parse_bytes(optarg, &o->memory_limit, err);
            if (r == 0 && o->memory_limit == 0)
                r = wl_error_set(err, 0, "--memory-limit must be above 0");
            break;
        case 't':
            r = parse_timeout(optarg, &o->timeout_ms, err);
            break;
        case 'h':
            run_usage(stdout);
            return 1;
        default:
            return wl_error_set(err, 0, "see 'wasmlet run --help'");
        }
        if (r < 0)
            return -1;
    }
    return 0;
}

static int report(const char *file, const struct wl_run_result *res)
{
    /* The status stays the module's own (as a script expects); the cause
     * is worth a line, since the module may not say it. */
    if (res->oom)
        log_error("module=%s failed after reaching --memory-limit (a "
                  "memory.grow was refused)",
                  file);
    switch (res->kind) {
    case WL_EXIT_CODE:
        /* WASI exit codes are 0..255 in practice; keep ours in range. */
        return res->exit_code & 0xff;
    case WL_EXIT_TIMEOUT:
        log_error("module=%s stopped: ran past --timeout", file);
        return WL_STATUS_TIMEOUT;
    case WL_EXIT_CANCELLED:
        log_error("module=%s stopped: cancelled", file);
        return WL_STATUS_TIMEOUT;
    case WL_EXIT_TRAP:
        break;
    }
    log_error("module=%s trapped: %s", file,
              res->message ? res->message : "(no message)");
    return WL_STATUS_TRAP;
}

int wl_cmd_run(int argc, char **argv)
{
    _cleanup_(run_opts_clear) struct run_opts opts = {0};
    struct wl_error err = WL_ERROR_INIT;
    struct wl_engine *engine = NULL;
    struct wl_module *module = NULL;
    _cleanup_free_ uint8_t *wasm = NULL;
    size_t wasm_len = 0;
    int status = WL_STATUS_FAILED;

    optind = 0; /* reset getopt: this is not the first parse of argv */
    int r = parse_opts(argc, argv, &opts, &err);
    if (r != 0)
        goto out;
    if (optind >= argc) {
        run_usage(stderr);
        goto out;
    }
    const char *file = argv[optind];
    /* argv for the module: its file name, then what follows, without the
     * "--" that may separate them (getopt stopped at the file, before it). */
    char **margv = argv + optind;
    size_t margc = (size_t)(argc - optind);
    if (margc > 1 && strcmp(margv[1], "--") == 0) {
        memmove(margv + 1, margv + 2, (margc - 2) * sizeof(*margv));
        margc--;
    }

    if (wl_file_read(AT_FDCWD, file, WL_MODULE_MAX_SIZE, &wasm,
                     &wasm_len, &err) < 0 ||
        wl_engine_new(&engine, &err) < 0 ||
        wl_module_compile(engine, wasm, wasm_len, &module, &err) < 0) {
        wl_error_prefix(&err, "run %s", file);
        goto out;
    }

    struct wl_run_spec spec = {
        .argv = (const char *const *)margv,
        .argc = margc,
        .env_names = opts.env_names,
        .env_values = opts.env_values,
        .envc = opts.envc,
        .preopens = opts.preopens,
        .npreopens = opts.npreopens,
        .memory_limit = opts.memory_limit,
        .timeout_ms = opts.timeout_ms,
    };
    struct wl_run_result res;
    if (wl_run(engine, module, &spec, &res, &err) < 0) {
        wl_error_prefix(&err, "run %s", file);
        goto out;
    }
    status = report(file, &res);
    wl_run_result_clear(&res);

out:
    if (r > 0) /* --help */
        status = 0;
    else if (err.msg)
        log_error("%s", err.msg);
    wl_error_clear(&err);
    wl_module_free(module);
    wl_engine_free(engine);
    return status;
}
