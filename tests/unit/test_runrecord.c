/* Run records: what a restarted wasmlet learns about each container. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pod/runrecord.h"
#include "test.h"
#include "util/error.h"
#include "util/fileio.h"

static char dir[] = "/tmp/wl-runrecord-XXXXXX";

static void touch(unsigned n)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%u.log", dir, n);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
}

static void test_never_ran(void)
{
    struct wl_run_record rec;
    CHECK_INT(wl_run_record_last("/nonexistent/wl-ctr", &rec), 0);
    CHECK_INT(wl_run_record_last(dir, &rec), 0);
}

static void test_lost_run_has_log_and_no_exit(void)
{
    struct wl_run_record rec;
    touch(0);
    CHECK_INT(wl_run_record_last(dir, &rec), 1);
    CHECK_INT(rec.n, 0);
    CHECK(!rec.ended);
    /* started when its log was made (just now), never the epoch */
    time_t now = time(NULL);
    CHECK(rec.started_at >= now - 5 && rec.started_at <= now + 1);
    wl_run_record_clear(&rec);
}

static void test_ended_runs_read_back(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_run_result res = {.kind = WL_EXIT_TRAP, .exit_code = -1,
                                .message = "wasm trap: unreachable"};
    CHECK_INT(wl_run_record_write(dir, 0, &res, NULL, "last words\n", 100,
                                  105, &err),
              0);
    touch(1);
    touch(10); /* numeric order, not text order */
    touch(9);
    struct wl_run_result ok = {.kind = WL_EXIT_CODE, .exit_code = 3,
                               .oom = true};
    CHECK_INT(wl_run_record_write(dir, 10, &ok, NULL, NULL, 200, 201, &err), 0);

    struct wl_run_record rec;
    CHECK_INT(wl_run_record_last(dir, &rec), 1);
    CHECK_INT(rec.n, 10);
    CHECK(rec.ended && rec.started);
    CHECK_INT(rec.kind, WL_EXIT_CODE);
    CHECK_INT(rec.exit_code, 3);
    CHECK(rec.oom);
    CHECK_INT((long long)rec.started_at, 200);
    CHECK_INT((long long)rec.finished_at, 201);
    CHECK(rec.message == NULL);
    CHECK(rec.term_message == NULL);
    wl_run_record_clear(&rec);

    CHECK_INT(wl_run_record_read(dir, 0, &rec), 1);
    CHECK_INT(rec.kind, WL_EXIT_TRAP);
    CHECK(!rec.oom);
    CHECK_STR(rec.message, "wasm trap: unreachable");
    /* the termination message survives a wasmlet restart */
    CHECK_STR(rec.term_message, "last words\n");
    wl_run_record_clear(&rec);
    CHECK_INT(wl_run_record_read(dir, 9, &rec), 0);
    CHECK(!rec.ended);

    /* could not start: no result, a message */
    CHECK_INT(wl_run_record_write(dir, 11, NULL, "missing import", NULL, 300, 300,
                                  &err),
              0);
    touch(11);
    CHECK_INT(wl_run_record_last(dir, &rec), 1);
    CHECK(rec.ended && !rec.started);
    CHECK_STR(rec.message, "missing import");
    wl_run_record_clear(&rec);
    wl_error_clear(&err);
}

static void test_corrupt_record_counts_as_lost(void)
{
    struct wl_error err = WL_ERROR_INIT;
    touch(12);
    char path[128];
    snprintf(path, sizeof(path), "%s/12.exit", dir);
    CHECK_INT(wl_file_write_atomic(AT_FDCWD, path, "{\"kind\":", 8, 0600, &err), 0);
    struct wl_run_record rec;
    CHECK_INT(wl_run_record_last(dir, &rec), 1);
    CHECK_INT(rec.n, 12);
    CHECK(!rec.ended);
    wl_run_record_clear(&rec);
    wl_error_clear(&err);
}

static void touch_path(const char *sub, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(path, "w");
    if (f)
        fclose(f);
}

static int present(const char *sub, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
    return access(path, F_OK) == 0;
}

static void test_prune_keeps_the_runs_from_keep_from(void)
{
    char sub[256];
    snprintf(sub, sizeof(sub), "%s/prune", dir);
    CHECK_INT(mkdir(sub, 0700), 0);
    static const char *const gone[] = {"0.log", "0.log.1", "0.exit",
                                       "0.exit.tmp.12.0", "1.log",
                                       "1.log.1", "1.log.2", "1.log.tmpAbc123",
                                       "1.exit"};
    static const char *const kept[] = {"2.log", "2.log.1", "2.exit", "10.log",
                                       "x.log", "notes", "1.logfile",
                                       "+1.log", "1"};
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
        touch_path("prune", gone[i]);
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
        touch_path("prune", kept[i]);
    /* run 1's termination message dir (pod/termmsg.h), with its file */
    char tdir[300];
    snprintf(tdir, sizeof(tdir), "%s/1.termination", sub);
    CHECK_INT(mkdir(tdir, 0700), 0);
    touch_path("prune/1.termination", "termination-log");
    snprintf(tdir, sizeof(tdir), "%s/2.termination", sub);
    CHECK_INT(mkdir(tdir, 0700), 0);
    wl_run_record_prune(sub, 2);
    CHECK(!present("prune", "1.termination"));
    CHECK(present("prune", "2.termination"));
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
        if (present("prune", gone[i]))
            WL_FAIL("%s was not removed", gone[i]);
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
        if (!present("prune", kept[i]))
            WL_FAIL("%s was removed", kept[i]);
    /* The last run is still found; nothing to do for keep_from 0 or a
     * missing dir. */
    struct wl_run_record rec;
    CHECK_INT(wl_run_record_last(sub, &rec), 1);
    CHECK_INT(rec.n, 10);
    wl_run_record_clear(&rec);
    wl_run_record_prune(sub, 0);
    CHECK(present("prune", "2.log"));
    wl_run_record_prune("/nonexistent/wl-ctr", 5);
}

static void test_setup(void) { wl_test_tmpdir(dir); }

WL_TEST_MAIN(WL_T(test_setup), WL_T(test_never_ran),
             WL_T(test_lost_run_has_log_and_no_exit),
             WL_T(test_ended_runs_read_back),
             WL_T(test_corrupt_record_counts_as_lost),
             WL_T(test_prune_keeps_the_runs_from_keep_from))
