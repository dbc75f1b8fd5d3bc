/* wasmlet run FILE.wasm [-- ARGS...]: run one module, as a container would
 * run, with its exit code as ours.
 * wasmlet run POD.yaml | --pod-manifest-path DIR: run static pods without
 * an API server (pod/standalone.h). The file tells the two apart: a
 * wasm module starts with "\0asm" (is_manifest()). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "kube/quantity.h"
#include "pod/standalone.h"
#include "runtime/engine.h"
#include "runtime/module_cache.h"
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
    /* pod manifests */
    const char *manifest_dir; /* --pod-manifest-path */
    const char *data_dir;
    bool no_strict;
    const char **insecure; /* --insecure-registry */
    size_t ninsecure;
};

static void run_opts_clear(struct run_opts *o)
{
    free(o->env_names);
    free(o->env_values);
    for (size_t i = 0; i < o->npreopens; i++)
        free((char *)o->preopens[i].host_path);
    free(o->preopens);
    free(o->insecure);
}

static void run_usage(FILE *f)
{
    fprintf(f,
            "Usage: wasmlet run [OPTIONS] FILE.wasm [-- ARGS...]\n"
            "       wasmlet run [POD OPTIONS] POD.yaml|POD.json|DIR\n"
            "       wasmlet run [POD OPTIONS] --pod-manifest-path DIR\n"
            "\n"
            "Runs a WASI command module and exits with its exit code; or runs\n"
            "the pods of a manifest (YAML or JSON, one or more v1 Pods, or a\n"
            "directory of *.yaml, *.yml, *.json) without an API server, as\n"
            "the kubelet runs static pods. A file starting with the wasm\n"
            "magic or named *.wasm is a module; a text file a manifest. A\n"
            "container image is a .wasm file (absolute, or relative to the\n"
            "manifest) or an OCI reference to pull.\n"
            "\n"
            "  -e, --env NAME=VALUE       set an environment variable "
            "(repeatable)\n"
            "  -d, --dir HOST:GUEST[:ro]  let the module see HOST as GUEST "
            "(repeatable)\n"
            "  -m, --memory-limit QTY     cap linear memory (e.g. 64Mi)\n"
            "  -t, --timeout SECONDS      stop the module after SECONDS\n"
            "  -h, --help                 show this help\n"
            "\n"
            "Pod options:\n"
            "  --pod-manifest-path DIR    run every manifest in DIR\n"
            "  --data-dir DIR             container logs (CRI format, under\n"
            "                             DIR/pods/<uid>/), emptyDirs and "
            "pulled\n"
            "                             images; default a private temporary\n"
            "                             directory removed at exit\n"
            "  --no-strict                unknown fields are warnings, not "
            "errors\n"
            "  --insecure-registry HOST   pull from HOST over plain HTTP\n"
            "\n"
            "Exit status of a module: its own, %d if it ran past --timeout, "
            "%d if it\ntrapped, %d if wasmlet could not run it.\n"
            "Exit status of pods: 0 when every app container succeeded (or "
            "SIGINT/\nSIGTERM stopped them before any failed), else the "
            "exit code of the\nfirst container that failed for good (a trap "
            "is 1, a module stopped\nor out of memory 137, as in pod "
            "status), %d if a pod ran past its\nactiveDeadlineSeconds, %d "
            "if a manifest is refused or a container\ncould not start.\n",
            WL_STATUS_TIMEOUT, WL_STATUS_TRAP, WL_STATUS_FAILED,
            WL_STATUS_TIMEOUT, WL_STATUS_FAILED);
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

static int add_insecure(struct run_opts *o, const char *host,
                        struct wl_error *err)
{
    const char **v = realloc(o->insecure, (o->ninsecure + 1) * sizeof(*v));
    if (!v)
        return wl_error_set(err, ENOMEM, "--insecure-registry");
    o->insecure = v;
    v[o->ninsecure++] = host;
    return 0;
}

enum { OPT_MANIFEST_DIR = 256, OPT_DATA_DIR, OPT_NO_STRICT, OPT_INSECURE };

static int parse_opts(int argc, char **argv, struct run_opts *o,
                      struct wl_error *err)
{
    static const struct option longopts[] = {
        {"pod-manifest-path", required_argument, NULL, OPT_MANIFEST_DIR},
        {"data-dir", required_argument, NULL, OPT_DATA_DIR},
        {"no-strict", no_argument, NULL, OPT_NO_STRICT},
        {"insecure-registry", required_argument, NULL, OPT_INSECURE},
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
        case OPT_MANIFEST_DIR:
            o->manifest_dir = optarg;
            break;
        case OPT_DATA_DIR:
            o->data_dir = optarg;
            break;
        case OPT_NO_STRICT:
            o->no_strict = true;
            break;
        case OPT_INSECURE:
            r = add_insecure(o, optarg, err);
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

/* The data dir of a pod run: --data-dir, or a private temporary dir that
 * *ret_tmp names (to be removed at exit). */
static int pod_data_dir(const struct run_opts *o, char **ret_dir,
                        bool *ret_tmp, struct wl_error *err)
{
    char *dir = NULL;
    if (o->data_dir) {
        if (wl_mkdir_p(o->data_dir, 0700, err) < 0 ||
            !(dir = strdup(o->data_dir)))
            return err->msg ? -1 : wl_error_set(err, ENOMEM, "--data-dir");
        *ret_tmp = false;
    } else {
        const char *tmp = getenv("TMPDIR");
        if (asprintf(&dir, "%s/wasmlet-run-XXXXXX",
                     tmp && *tmp ? tmp : "/tmp") < 0)
            return wl_error_set(err, ENOMEM, "data dir");
        if (!mkdtemp(dir)) {
            int e = errno;
            free(dir);
            return wl_error_set(err, e, "make a temporary data dir");
        }
        *ret_tmp = true;
    }
    *ret_dir = dir;
    return 0;
}

/* Whether more than one container runs: then each output line says whose
 * it is. */
static bool several_containers(const struct wl_static_pods *pods)
{
    size_t n = 0;
    for (size_t i = 0; i < pods->n; i++)
        n += pods->v[i].spec->ninit + pods->v[i].spec->ncontainers;
    return n > 1;
}

static int run_pods(const char *path, bool is_dir, const struct run_opts *o,
                    struct wl_error *err)
{
    struct wl_static_pods pods = {0};
    struct wl_engine *engine = NULL;
    struct wl_module_cache *modules = NULL;
    struct wl_puller *puller = NULL;
    _cleanup_free_ char *data_dir = NULL, *store_dir = NULL;
    _cleanup_free_ char *compiled_dir = NULL;
    bool tmp = false;
    char host[256] = "localhost";
    int status = WL_STATUS_FAILED;

    if (o->envc || o->npreopens || o->memory_limit || o->timeout_ms) {
        wl_error_set(err, 0, "--env, --dir, --memory-limit and --timeout are "
                             "for a module; a pod says them in its spec");
        return status;
    }
    (void)gethostname(host, sizeof(host) - 1);
    struct wl_static_pod_opts lo = {
        .strict = !o->no_strict, .is_dir = is_dir, .node_name = host};
    if (wl_static_pods_load(path, &lo, &pods, err) < 0)
        return status;

    /* Before any thread: SIGINT/SIGTERM queue for the pod loop's
     * sigtimedwait instead of killing the process mid-run. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    if (pod_data_dir(o, &data_dir, &tmp, err) < 0)
        goto out;
    if (!data_dir || asprintf(&store_dir, "%s/modules", data_dir) < 0) {
        wl_error_set(err, ENOMEM, "data dir");
        goto out;
    }
    if (asprintf(&compiled_dir, "%s/modules/compiled", data_dir) < 0) {
        compiled_dir = NULL;
        wl_error_set(err, ENOMEM, "data dir");
        goto out;
    }
    struct wl_puller_config pc = {.store_dir = store_dir,
                                  .insecure = o->insecure,
                                  .ninsecure = o->ninsecure};
    if (wl_engine_new(&engine, err) < 0 ||
        wl_module_cache_new(engine, compiled_dir, &modules, err) < 0 ||
        wl_puller_new(&pc, &puller, err) < 0)
        goto out;
    struct wl_pod_manager_config cfg = {
        .node_name = host,
        .node_ip = "127.0.0.1",
        .data_dir = data_dir,
        .puller = puller,
        .engine = engine,
        .modules = modules,
        .log_opts = {.max_size = 10 * 1024 * 1024, .max_files = 5},
        .local_images = true,
        .echo_logs = true,
        .echo_prefix = several_containers(&pods),
    };
    status = wl_static_pods_run(&pods, &cfg);
out:
    wl_puller_free(puller);
    wl_module_cache_free(modules); /* the pods' runners are gone */
    wl_engine_free(engine);
    if (tmp) {
        struct wl_error rm_err = WL_ERROR_INIT;
        if (wl_remove_tree(data_dir, &rm_err) < 0)
            log_warning("remove %s: %s", data_dir, rm_err.msg);
        wl_error_clear(&rm_err);
    }
    wl_static_pods_clear(&pods);
    return status;
}

/* Whether path is a pod manifest (or a directory of them) rather than a
 * wasm module: not a module by its content (the wasm magic), nor by its
 * name (*.wasm), nor an executable (ELF), for which the module path's
 * "not a WebAssembly module" is the clearer message. */
static bool is_manifest(const char *path, bool *ret_dir)
{
    struct stat st;
    unsigned char head[4];
    size_t len = strlen(path);
    *ret_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    if (*ret_dir)
        return true;
    if (len >= 5 && strcmp(path + len - 5, ".wasm") == 0)
        return false;
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false; /* the module path says why */
    ssize_t n = read(fd, head, sizeof(head));
    return n >= 0 && !wl_static_is_wasm(head, (size_t)n) &&
           !(n == 4 && memcmp(head, "\177ELF", 4) == 0);
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
    bool is_dir = false;
    if (opts.manifest_dir ||
        (optind < argc && is_manifest(argv[optind], &is_dir))) {
        if (opts.manifest_dir && optind < argc) {
            wl_error_set(&err, 0, "--pod-manifest-path %s and %s: one or the "
                                  "other", opts.manifest_dir, argv[optind]);
            goto out;
        }
        if (optind + 1 < argc) {
            wl_error_set(&err, 0, "%s is a pod manifest: arguments go in "
                                  "its containers' args", argv[optind]);
            goto out;
        }
        status = run_pods(opts.manifest_dir ? opts.manifest_dir : argv[optind],
                          opts.manifest_dir || is_dir, &opts, &err);
        goto out;
    }
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
