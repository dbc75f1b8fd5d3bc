/* The list+watch state: scripted lists and events as the API server sends
 * them, including broken streams (a resume replays events) and 410 Gone
 * (a relist after changes were missed). The consumer must hear every
 * change exactly once, in order. */
#include <stdarg.h>
#include <stdlib.h>

#include "kube/watch.h"
#include "test.h"

static char heard[4096];

static void record(void *userdata, enum wl_watch_type type, const json_t *obj)
{
    static const char *const names[] = {"ADDED", "MODIFIED", "DELETED"};
    (void)userdata;
    json_t *md = json_object_get(obj, "metadata");
    size_t n = strlen(heard);
    snprintf(heard + n, sizeof(heard) - n, "%s %s %s\n", names[type],
             json_string_value(json_object_get(md, "name")),
             json_string_value(json_object_get(md, "resourceVersion")));
}

static json_t *obj(const char *name, const char *rv)
{
    return json_pack("{s:{s:s, s:s, s:s}}", "metadata", "namespace", "ns",
                     "name", name, "resourceVersion", rv);
}

static json_t *list(const char *rv, int n, ...)
{
    va_list ap;
    json_t *items = json_array();
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *name = va_arg(ap, const char *);
        const char *orv = va_arg(ap, const char *);
        json_array_append_new(items, obj(name, orv));
    }
    va_end(ap);
    return json_pack("{s:{s:s}, s:o}", "metadata", "resourceVersion", rv,
                     "items", items);
}

static enum wl_watch_step event(struct wl_watch_cache *c, const char *type,
                                const char *name, const char *rv)
{
    struct wl_error err = WL_ERROR_INIT;
    json_t *ev = json_pack("{s:s, s:o}", "type", type, "object", obj(name, rv));
    enum wl_watch_step s = wl_watch_cache_apply_event(c, ev, &err);
    json_decref(ev);
    wl_error_clear(&err);
    return s;
}

static void test_list_then_events_are_heard_once_in_order(void)
{
    struct wl_watch_cache c;
    struct wl_error err = WL_ERROR_INIT;
    heard[0] = '\0';
    wl_watch_cache_init(&c, record, NULL);
    json_t *l = list("10", 2, "a", "5", "b", "7");
    CHECK_INT(wl_watch_cache_apply_list(&c, l, &err), 0);
    json_decref(l);
    CHECK_STR(c.rv, "10");
    CHECK_INT(event(&c, "ADDED", "c", "11"), WL_WATCH_CONTINUE);
    CHECK_INT(event(&c, "MODIFIED", "a", "12"), WL_WATCH_CONTINUE);
    CHECK_INT(event(&c, "DELETED", "b", "13"), WL_WATCH_CONTINUE);
    CHECK_STR(c.rv, "13");
    CHECK_STR(heard, "ADDED a 5\nADDED b 7\nADDED c 11\nMODIFIED a 12\n"
                     "DELETED b 13\n");
    wl_watch_cache_clear(&c);
}

static void test_resume_after_broken_stream_drops_replayed_events(void)
{
    struct wl_watch_cache c;
    struct wl_error err = WL_ERROR_INIT;
    heard[0] = '\0';
    wl_watch_cache_init(&c, record, NULL);
    json_t *l = list("10", 1, "a", "5");
    wl_watch_cache_apply_list(&c, l, &err);
    json_decref(l);
    event(&c, "MODIFIED", "a", "11");
    /* The stream broke; a server that replays from an older point sends
     * the same change again: the consumer must not hear it twice. */
    event(&c, "MODIFIED", "a", "11");
    event(&c, "ADDED", "a", "11");
    event(&c, "MODIFIED", "a", "12");
    event(&c, "DELETED", "zzz", "13"); /* never heard of: nothing to say */
    CHECK_STR(heard, "ADDED a 5\nMODIFIED a 11\nMODIFIED a 12\n");
    CHECK_STR(c.rv, "13");
    wl_watch_cache_clear(&c);
}

static void test_bookmark_moves_resume_point_silently(void)
{
    struct wl_watch_cache c;
    heard[0] = '\0';
    wl_watch_cache_init(&c, record, NULL);
    CHECK_INT(event(&c, "BOOKMARK", "", "42"), WL_WATCH_CONTINUE);
    CHECK_STR(c.rv, "42");
    CHECK_STR(heard, "");
    wl_watch_cache_clear(&c);
}

static void test_gone_asks_for_relist_and_relist_diffs(void)
{
    struct wl_watch_cache c;
    struct wl_error err = WL_ERROR_INIT;
    heard[0] = '\0';
    wl_watch_cache_init(&c, record, NULL);
    json_t *l = list("10", 3, "a", "5", "b", "6", "c", "7");
    wl_watch_cache_apply_list(&c, l, &err);
    json_decref(l);
    heard[0] = '\0';

    json_t *gone = json_pack("{s:s, s:{s:s, s:i, s:s}}", "type", "ERROR",
                             "object", "kind", "Status", "code", 410,
                             "message", "too old resource version: 10 (50)");
    CHECK_INT(wl_watch_cache_apply_event(&c, gone, &err), WL_WATCH_RELIST);
    json_decref(gone);

    /* Meanwhile: b changed, c was deleted, d was created, a is as it was. */
    l = list("60", 3, "a", "5", "b", "55", "d", "58");
    CHECK_INT(wl_watch_cache_apply_list(&c, l, &err), 0);
    json_decref(l);
    CHECK_STR(heard, "DELETED c 7\nMODIFIED b 55\nADDED d 58\n");
    CHECK_STR(c.rv, "60");
    wl_watch_cache_clear(&c);
}

static void test_other_errors_and_bad_events_fail_clearly(void)
{
    struct wl_watch_cache c;
    struct wl_error err = WL_ERROR_INIT;
    wl_watch_cache_init(&c, record, NULL);
    json_t *e = json_pack("{s:s, s:{s:i, s:s}}", "type", "ERROR", "object",
                          "code", 500, "message", "internal error");
    CHECK_INT(wl_watch_cache_apply_event(&c, e, &err), WL_WATCH_FAILED);
    CHECK_STR(err.msg, "watch: error 500: internal error");
    json_decref(e);
    e = json_pack("{s:s}", "type", "ADDED");
    CHECK_INT(wl_watch_cache_apply_event(&c, e, &err), WL_WATCH_FAILED);
    CHECK_STR(err.msg, "watch: event without type or object");
    json_decref(e);
    CHECK_INT(event(&c, "RENAMED", "a", "3"), WL_WATCH_FAILED);
    json_t *bad = json_pack("{s:[]}", "items");
    CHECK_INT(wl_watch_cache_apply_list(&c, bad, &err), -1);
    CHECK_STR(err.msg, "list: no items or resourceVersion");
    json_decref(bad);
    wl_error_clear(&err);
    wl_watch_cache_clear(&c);
}

WL_TEST_MAIN(WL_T(test_list_then_events_are_heard_once_in_order),
             WL_T(test_resume_after_broken_stream_drops_replayed_events),
             WL_T(test_bookmark_moves_resume_point_silently),
             WL_T(test_gone_asks_for_relist_and_relist_diffs),
             WL_T(test_other_errors_and_bad_events_fail_clearly))
