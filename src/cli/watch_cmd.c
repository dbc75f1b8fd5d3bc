/* wasmlet watch PATH: list+watch a collection and print each change, one
 * line per change ("ADDED namespace/name resourceVersion"), as
 * `kubectl get -w` does. It exercises the same list+watch the daemon uses,
 * so operators can see what wasmlet sees. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "kube/kubeconfig.h"
#include "kube/watch.h"
#include "util/json.h"
#include "util/log.h"
#include "version.h"

static void print_change(void *userdata, enum wl_watch_type type,
                         const json_t *obj)
{
    static const char *const names[] = {"ADDED", "MODIFIED", "DELETED"};
    const char *ns = wl_json_str(obj, "metadata", "namespace", NULL);
    (void)userdata;
    printf("%s %s%s%s %s\n", names[type], ns ? ns : "", ns ? "/" : "",
           wl_json_str(obj, "metadata", "name", NULL),
           wl_json_str(obj, "metadata", "resourceVersion", NULL));
    fflush(stdout);
}

struct sig_waiter {
    sigset_t set;
    atomic_bool stop;
};

/* Turns SIGTERM/SIGINT into the watch's stop flag. */
static void *wait_for_signal(void *arg)
{
    struct sig_waiter *w = arg;
    int sig;
    (void)sigwait(&w->set, &sig);
    atomic_store(&w->stop, true);
    return NULL;
}

int wl_cmd_watch(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"kubeconfig", required_argument, NULL, 'k'},
        {"label-selector", required_argument, NULL, 'l'},
        {"field-selector", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *kubeconfig = NULL;
    struct wl_watch_opts opts = {0};
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "k:l:f:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            kubeconfig = optarg;
            break;
        case 'l':
            opts.label_selector = optarg;
            break;
        case 'f':
            opts.field_selector = optarg;
            break;
        case 'h':
            printf("Usage: wasmlet watch [--kubeconfig PATH] [-l SELECTOR] "
                   "[--field-selector SELECTOR] API-PATH\n\n"
                   "Lists and watches a collection (e.g. "
                   "/api/v1/namespaces/default/pods)\nand prints one line "
                   "per change until SIGINT or SIGTERM.\n");
            return 0;
        default:
            return 2;
        }
    }
    if (optind != argc - 1 || argv[optind][0] != '/') {
        log_error("expected one API path such as /api/v1/pods "
                  "(see wasmlet watch --help)");
        return 2;
    }
    opts.path = argv[optind];

    struct sig_waiter w;
    sigemptyset(&w.set);
    sigaddset(&w.set, SIGTERM);
    sigaddset(&w.set, SIGINT);
    atomic_init(&w.stop, false);
    pthread_sigmask(SIG_BLOCK, &w.set, NULL);

    struct wl_error err = WL_ERROR_INIT;
    struct wl_kubeconfig *kc = NULL;
    struct wl_kube_client *client = NULL;
    if (wl_kubeconfig_load(kubeconfig, NULL, &kc, &err) < 0 ||
        wl_kube_client_new(kc, "wasmlet/" WL_VERSION, &client, &err) < 0) {
        log_error("%s", err.msg);
        wl_error_clear(&err);
        wl_kubeconfig_free(kc);
        return 1;
    }
    pthread_t waiter;
    if (pthread_create(&waiter, NULL, wait_for_signal, &w) != 0) {
        log_error("cannot start the signal thread");
        wl_kube_client_free(client);
        wl_kubeconfig_free(kc);
        return 1;
    }
    struct wl_watch_cache cache;
    wl_watch_cache_init(&cache, print_change, NULL);
    (void)wl_watch_run(client, &opts, &cache, &w.stop);
    (void)pthread_join(waiter, NULL);
    wl_watch_cache_clear(&cache);
    wl_kube_client_free(client);
    wl_kubeconfig_free(kc);
    return 0;
}
