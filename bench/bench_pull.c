/* bench_pull: pulls one image N times at once through one puller (so one
 * content store and one single-flight table, as the daemon has) and prints
 * how long it took, how many blob downloads happened and the throughput.
 *
 *   bench_pull [--insecure-registry HOST] [--concurrent N] [--repeat R]
 *              STORE_DIR IMAGE
 *
 * With --repeat R the pull is done R times, each into an emptied store,
 * and the best time is reported (pull throughput, the figure the OCI issue
 * asks for). N concurrent pulls of one image must cause one download. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oci/puller.h"
#include "util/time.h"

struct job {
    struct wl_puller *p;
    const char *image;
    int rc;
    struct wl_error err;
};

static void *pull_one(void *arg)
{
    struct job *j = arg;
    struct wl_pull_result res = {0};
    j->rc = wl_puller_pull(j->p, j->image, WL_PULL_ALWAYS, NULL, &res, &j->err);
    wl_pull_result_clear(&res);
    return NULL;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"insecure-registry", required_argument, NULL, 'i'},
        {"concurrent", required_argument, NULL, 'c'},
        {"repeat", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    const char *insecure[8];
    struct wl_puller_config cfg = {.insecure = insecure};
    long n = 1, repeat = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'i' && cfg.ninsecure < 8)
            insecure[cfg.ninsecure++] = optarg;
        else if (c == 'c')
            n = strtol(optarg, NULL, 10);
        else if (c == 'r')
            repeat = strtol(optarg, NULL, 10);
        else
            return 2;
    }
    if (optind != argc - 2 || n < 1 || n > 64 || repeat < 1) {
        fprintf(stderr, "usage: bench_pull [--insecure-registry HOST] "
                        "[--concurrent N] [--repeat R] STORE_DIR IMAGE\n");
        return 2;
    }
    const char *store = argv[optind], *image = argv[optind + 1];
    double best = 1e99;
    unsigned downloads = 0;
    unsigned long long size = 0;

    for (long r = 0; r < repeat; r++) {
        char cmd[1024];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", store);
        if (system(cmd) != 0)
            return 1;
        cfg.store_dir = store;
        struct wl_puller *p = NULL;
        struct wl_error err = WL_ERROR_INIT;
        if (wl_puller_new(&cfg, &p, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        struct job jobs[64];
        pthread_t threads[64];
        double t0 = wl_now_s();
        for (long i = 0; i < n; i++) {
            jobs[i] = (struct job){.p = p, .image = image};
            pthread_create(&threads[i], NULL, pull_one, &jobs[i]);
        }
        int failed = 0;
        for (long i = 0; i < n; i++) {
            pthread_join(threads[i], NULL);
            if (jobs[i].rc < 0) {
                fprintf(stderr, "pull %ld: %s\n", i, jobs[i].err.msg);
                failed = 1;
            }
            wl_error_clear(&jobs[i].err);
        }
        double dt = wl_now_s() - t0;
        if (dt < best)
            best = dt;
        downloads = wl_puller_downloads(p);
        struct wl_pull_result res = {0};
        if (!failed &&
            wl_puller_pull(p, image, WL_PULL_IF_NOT_PRESENT, NULL, &res, &err) == 0)
            size = res.module_size;
        wl_pull_result_clear(&res);
        wl_error_clear(&err);
        wl_puller_free(p);
        if (failed)
            return 1;
    }
    printf("image: %s\nconcurrent pulls: %ld\nblob downloads: %u\n"
           "module bytes: %llu\nbest seconds: %.4f\nMiB/s: %.1f\n",
           image, n, downloads, size, best,
           (double)size / (1024.0 * 1024.0) / best);
    return 0;
}
