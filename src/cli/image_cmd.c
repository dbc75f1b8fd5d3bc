/* wasmlet pull IMAGE and wasmlet push FILE.wasm IMAGE. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "oci/creds.h"
#include "oci/puller.h"
#include "oci/push.h"
#include "oci/ref.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/time.h"

#define MAX_INSECURE 32

static void log_progress(void *userdata, const char *digest, uint64_t now,
                         uint64_t total)
{
    (void)userdata;
    if (total)
        log_info("pull progress blob=%s received=%llu total=%llu (%.0f%%)",
                 digest, (unsigned long long)now, (unsigned long long)total,
                 100.0 * (double)now / (double)total);
    else
        log_info("pull progress blob=%s received=%llu", digest,
                 (unsigned long long)now);
}

static void pull_usage(void)
{
    printf("Usage: wasmlet pull [OPTIONS] IMAGE\n\n"
           "Pulls the wasm module of IMAGE into the module store and prints "
           "its\nimage ID, digest and path.\n\n"
           "  --data-dir DIR            store under DIR/modules (default "
           "/var/lib/wasmlet)\n"
           "  --insecure-registry HOST  plain HTTP for HOST (repeatable)\n"
           "  --certs-dir DIR           trust DIR/<host>/ca.crt for <host>\n"
           "  --registry-config FILE    Docker config.json with "
           "credentials\n"
           "  --pull-policy POLICY      Always, IfNotPresent or Never "
           "(default: as Kubernetes)\n");
}

int wl_cmd_pull(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"insecure-registry", required_argument, NULL, 'i'},
        {"certs-dir", required_argument, NULL, 'c'},
        {"registry-config", required_argument, NULL, 'a'},
        {"pull-policy", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data_dir = "/var/lib/wasmlet", *policy_s = NULL;
    const char *insecure[MAX_INSECURE];
    struct wl_puller_config cfg = {.insecure = insecure,
                                   .progress = log_progress};
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            data_dir = optarg;
            break;
        case 'i':
            if (cfg.ninsecure == MAX_INSECURE) {
                log_error("more than %d --insecure-registry", MAX_INSECURE);
                return 2;
            }
            insecure[cfg.ninsecure++] = optarg;
            break;
        case 'c':
            cfg.certs_dir = optarg;
            break;
        case 'a':
            cfg.auth_file = optarg;
            break;
        case 'p':
            policy_s = optarg;
            break;
        case 'h':
            pull_usage();
            return 0;
        default:
            return 2;
        }
    }
    if (optind != argc - 1) {
        log_error("expected one IMAGE (see wasmlet pull --help)");
        return 2;
    }
    const char *image = argv[optind];
    enum wl_pull_policy policy = wl_pull_policy_default(image);
    if (policy_s && wl_pull_policy_parse(policy_s, &policy) < 0) {
        log_error("--pull-policy \"%s\": expected Always, IfNotPresent or "
                  "Never",
                  policy_s);
        return 2;
    }

    _cleanup_free_ char *store_dir = NULL;
    struct wl_error err = WL_ERROR_INIT;
    struct wl_puller *p = NULL;
    struct wl_pull_result res = {0};
    int status = 1;
    if (asprintf(&store_dir, "%s/modules", data_dir) < 0)
        return 1;
    cfg.store_dir = store_dir;
    if (mkdir(data_dir, 0700) < 0 && errno != EEXIST) {
        log_error("mkdir %s: %s", data_dir, strerror(errno));
        return 1;
    }
    double t0 = wl_now_s();
    log_info("pulling image=%s", image);
    if (wl_puller_new(&cfg, &p, &err) < 0 ||
        wl_puller_pull(p, image, policy, NULL, &res, &err) < 0) {
        log_error("%s", err.msg);
        goto out;
    }
    log_info("pulled image=%s size=%llu downloaded=%llu duration=%.3fs%s",
             image, (unsigned long long)res.module_size,
             (unsigned long long)res.downloaded, wl_now_s() - t0,
             res.cached ? " (already present)" : "");
    printf("image-id: %s\nmodule: %s\nsize: %llu\npath: %s\n", res.image_id,
           res.module_digest, (unsigned long long)res.module_size,
           res.module_path);
    status = 0;
out:
    wl_error_clear(&err);
    wl_pull_result_clear(&res);
    wl_puller_free(p);
    return status;
}

static void push_usage(void)
{
    printf("Usage: wasmlet push [OPTIONS] FILE.wasm IMAGE\n\n"
           "Publishes a module as a wasm OCI artifact (config "
           "application/vnd.wasm.config.v0+json,\nlayer application/wasm), "
           "or with --krustlet in Krustlet's wasm-to-oci format.\n\n"
           "  --krustlet                Krustlet's format instead\n"
           "  --insecure                plain HTTP to the registry\n"
           "  --ca-file FILE            trust FILE for the registry's TLS\n"
           "  --username USER           Basic/token credentials; the password "
           "is read\n"
           "                            from stdin (--password-stdin)\n"
           "  --password-stdin          read the password from stdin\n"
           "  --registry-config FILE    Docker config.json with "
           "credentials\n");
}

/* One line from stdin, without its newline; the caller frees and wipes. */
static char *read_password(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    line[strcspn(line, "\r\n")] = '\0';
    return line;
}

int wl_cmd_push(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"krustlet", no_argument, NULL, 'k'},
        {"insecure", no_argument, NULL, 'i'},
        {"ca-file", required_argument, NULL, 'c'},
        {"username", required_argument, NULL, 'u'},
        {"password-stdin", no_argument, NULL, 'P'},
        {"registry-config", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct wl_registry_opts o = {0};
    const char *auth_file = NULL;
    bool krustlet = false, password_stdin = false;
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            krustlet = true;
            break;
        case 'i':
            o.insecure = true;
            break;
        case 'c':
            o.ca_file = optarg;
            break;
        case 'u':
            o.username = optarg;
            break;
        case 'P':
            password_stdin = true;
            break;
        case 'a':
            auth_file = optarg;
            break;
        case 'h':
            push_usage();
            return 0;
        default:
            return 2;
        }
    }
    if (optind != argc - 2) {
        log_error("expected FILE.wasm and IMAGE (see wasmlet push --help)");
        return 2;
    }
    const char *file = argv[optind], *image = argv[optind + 1];
    struct wl_error err = WL_ERROR_INIT;
    _cleanup_free_ uint8_t *wasm = NULL;
    _cleanup_free_ char *user = NULL, *pass = NULL;
    struct wl_oci_ref *ref = NULL;
    size_t len = 0;
    char digest[80];
    int status = 1;

    if (password_stdin != (o.username != NULL)) {
        log_error("--username and --password-stdin go together");
        return 2;
    }
    if (password_stdin && !(pass = read_password())) {
        log_error("--password-stdin: no password on stdin");
        return 2;
    }
    o.password = pass;
    if (auth_file && !o.username) {
        uint8_t *cfg = NULL;
        size_t cfg_len = 0;
        if (wl_oci_ref_parse(image, &ref, &err) < 0 ||
            wl_file_read(AT_FDCWD, auth_file, WL_CREDS_MAX_SIZE, &cfg,
                         &cfg_len, &err) < 0 ||
            wl_creds_lookup((char *)cfg, cfg_len, ref->registry, &user, &pass,
                            &err) < 0) {
            free(cfg);
            goto out;
        }
        free(cfg);
        o.username = user;
        o.password = pass;
    }
    if (wl_file_read(AT_FDCWD, file, WL_MODULE_MAX_BYTES, &wasm, &len, &err) <
            0 ||
        wl_oci_push(wasm, len, image, krustlet, &o, digest, &err) < 0)
        goto out;
    log_info("pushed image=%s digest=%s size=%zu format=%s", image, digest,
             len, krustlet ? "krustlet" : "wasm-artifact");
    printf("%s\n", digest);
    status = 0;
out:
    if (err.msg)
        log_error("%s", err.msg);
    if (pass)
        explicit_bzero(pass, strlen(pass));
    wl_error_clear(&err);
    wl_oci_ref_free(ref);
    return status;
}

int wl_cmd_gc(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"keep", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data_dir = "/var/lib/wasmlet";
    const char *images[256];
    size_t nimages = 0;
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'd') {
            data_dir = optarg;
        } else if (c == 'k' && nimages < 256) {
            images[nimages++] = optarg;
        } else if (c == 'h') {
            printf("Usage: wasmlet gc [--data-dir DIR] [--keep IMAGE]...\n\n"
                   "Removes every blob of the module store that the images "
                   "given with\n--keep do not use. Run it while nothing "
                   "pulls into DIR.\n");
            return 0;
        } else {
            return 2;
        }
    }
    if (optind != argc) {
        log_error("unexpected argument \"%s\"", argv[optind]);
        return 2;
    }
    _cleanup_free_ char *store_dir = NULL;
    struct wl_puller_config cfg = {0};
    struct wl_puller *p = NULL;
    struct wl_error err = WL_ERROR_INIT;
    char **keep = NULL;
    size_t nkeep = 0;
    int status = 1;
    if (asprintf(&store_dir, "%s/modules", data_dir) < 0)
        return 1;
    cfg.store_dir = store_dir;
    if (wl_puller_new(&cfg, &p, &err) < 0)
        goto out;
    for (size_t i = 0; i < nimages; i++)
        if (wl_puller_image_blobs(p, images[i], &keep, &nkeep, &err) < 0)
            goto out;
    int removed = wl_store_gc(wl_puller_store(p), (const char *const *)keep,
                              nkeep, &err);
    if (removed < 0)
        goto out;
    log_info("gc removed=%d kept=%zu store=%s", removed, nkeep, store_dir);
    printf("removed %d blob(s), kept %zu\n", removed, nkeep);
    status = 0;
out:
    if (err.msg)
        log_error("%s", err.msg);
    wl_error_clear(&err);
    for (size_t i = 0; i < nkeep; i++)
        free(keep[i]);
    free(keep);
    wl_puller_free(p);
    return status;
}
