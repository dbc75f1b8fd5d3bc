#include "pod/runrecord.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/json.h"

#define RECORD_MAX_BYTES 65536

static const char *const kind_names[] = {
    [WL_EXIT_CODE] = "exit",
    [WL_EXIT_TRAP] = "trap",
    [WL_EXIT_TIMEOUT] = "timeout",
    [WL_EXIT_CANCELLED] = "cancelled",
};
#define NKINDS (sizeof(kind_names) / sizeof(kind_names[0]))

int wl_run_record_write(const char *ctr_dir, unsigned n,
                        const struct wl_run_result *res, const char *message,
                        const char *term_message, time_t started_at,
                        time_t finished_at, struct wl_error *err)
{
    _cleanup_free_ char *path = NULL, *text = NULL;
    const char *msg = res ? res->message : message;
    json_t *j = json_pack("{s:b, s:s, s:i, s:I, s:I}", "started", res != NULL,
                          "kind",
                          res && (size_t)res->kind < NKINDS
                              ? kind_names[res->kind]
                              : "exit",
                          "exitCode", res ? res->exit_code : 128, "startedAt",
                          (json_int_t)started_at, "finishedAt",
                          (json_int_t)finished_at);
    if (j && msg)
        json_object_set_new(j, "message", json_string(msg));
    if (j && term_message)
        json_object_set_new(j, "terminationMessage",
                            json_string(term_message));
    if (j && res && res->oom)
        json_object_set_new(j, "oom", json_true());
    if (!j || !(text = json_dumps(j, JSON_COMPACT)) ||
        asprintf(&path, "%s/%u.exit", ctr_dir, n) < 0) {
        json_decref(j);
        return wl_error_set(err, ENOMEM, "run record");
    }
    json_decref(j);
    return wl_file_write_atomic(AT_FDCWD, path, text, strlen(text), 0600, err);
}

void wl_run_record_clear(struct wl_run_record *rec)
{
    if (!rec)
        return;
    free(rec->message);
    free(rec->term_message);
    memset(rec, 0, sizeof(*rec));
}

int wl_run_record_read(const char *ctr_dir, unsigned n,
                       struct wl_run_record *ret)
{
    _cleanup_free_ char *path = NULL;
    _cleanup_free_ uint8_t *data = NULL;
    size_t len = 0;
    struct wl_error err = WL_ERROR_INIT;
    memset(ret, 0, sizeof(*ret));
    ret->n = n;
    if (asprintf(&path, "%s/%u.exit", ctr_dir, n) < 0)
        return 0;
    if (wl_file_read(AT_FDCWD, path, RECORD_MAX_BYTES, &data, &len, &err) <
        0) {
        wl_error_clear(&err);
        return 0;
    }
    json_t *j = json_loadb((const char *)data, len, 0, NULL);
    const char *kind = wl_json_str(j, "kind", NULL);
    json_t *code = json_object_get(j, "exitCode");
    if (!j || !kind || !json_is_integer(code)) {
        json_decref(j);
        return 0;
    }
    ret->kind = WL_EXIT_CODE;
    for (size_t i = 0; i < NKINDS; i++)
        if (kind_names[i] && strcmp(kind_names[i], kind) == 0)
            ret->kind = (enum wl_exit_kind)i;
    ret->ended = true;
    ret->started = json_is_true(json_object_get(j, "started"));
    ret->exit_code = (int)json_integer_value(code);
    ret->oom = json_is_true(json_object_get(j, "oom"));
    ret->started_at = (time_t)json_integer_value(json_object_get(j, "startedAt"));
    ret->finished_at =
        (time_t)json_integer_value(json_object_get(j, "finishedAt"));
    const char *msg = wl_json_str(j, "message", NULL);
    ret->message = msg ? strdup(msg) : NULL;
    const char *tmsg = wl_json_str(j, "terminationMessage", NULL);
    ret->term_message = tmsg ? strdup(tmsg) : NULL;
    json_decref(j);
    return 1;
}

/* When run n's log was created (statx btime), else last written: the
 * start of a run that has no n.exit to say it. 0 when there is no log. */
static time_t log_born(const char *ctr_dir, unsigned n)
{
    _cleanup_free_ char *path = NULL;
    struct statx stx;
    if (asprintf(&path, "%s/%u.log", ctr_dir, n) < 0 ||
        statx(AT_FDCWD, path, 0, STATX_BTIME | STATX_MTIME, &stx) < 0)
        return 0;
    if ((stx.stx_mask & STATX_BTIME) && stx.stx_btime.tv_sec > 0)
        return (time_t)stx.stx_btime.tv_sec;
    return (stx.stx_mask & STATX_MTIME) ? (time_t)stx.stx_mtime.tv_sec : 0;
}

int wl_run_record_last(const char *ctr_dir, struct wl_run_record *ret)
{
    memset(ret, 0, sizeof(*ret));
    DIR *d = opendir(ctr_dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    bool found = false;
    unsigned last = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        errno = 0;
        unsigned long n = strtoul(e->d_name, &end, 10);
        if (end == e->d_name || strcmp(end, ".log") != 0 || errno ||
            n > 1000000000UL)
            continue;
        if (!found || n > last)
            last = (unsigned)n;
        found = true;
    }
    closedir(d);
    if (!found)
        return 0;
    if (!wl_run_record_read(ctr_dir, last, ret)) {
        memset(ret, 0, sizeof(*ret));
        ret->n = last;
        ret->started_at = log_born(ctr_dir, last);
    }
    return 1;
}

/* A run's file: "<n>.log", "<n>.log.<anything>", "<n>.exit" or
 * "<n>.exit.<anything>". Returns true and *ret_n for those. */
static bool run_file(const char *name, unsigned *ret_n)
{
    if (!isdigit((unsigned char)name[0]))
        return false;
    char *end;
    errno = 0;
    unsigned long n = strtoul(name, &end, 10);
    if (errno || n > 1000000000UL)
        return false;
    if (strcmp(end, ".log") != 0 && strncmp(end, ".log.", 5) != 0 &&
        strcmp(end, ".exit") != 0 && strncmp(end, ".exit.", 6) != 0 &&
        strcmp(end, ".termination") != 0)
        return false;
    *ret_n = (unsigned)n;
    return true;
}

void wl_run_record_prune(const char *ctr_dir, unsigned keep_from)
{
    DIR *d = opendir(ctr_dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        unsigned n;
        if (!run_file(e->d_name, &n) || n >= keep_from)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) < 0 && errno == EISDIR) {
            /* n.termination: the guest may have made more in it */
            _cleanup_free_ char *path = NULL;
            if (asprintf(&path, "%s/%s", ctr_dir, e->d_name) >= 0)
                (void)wl_remove_tree(path, NULL);
        }
    }
    closedir(d);
}
