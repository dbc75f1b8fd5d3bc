/* The log line formats: text and json (--log-format). */
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "util/log.h"

static void test_text_line_has_pid_level_and_message(void)
{
    char line[256], want[256];
    size_t n = wl_log_format_line(line, sizeof(line), WL_LOG_TEXT,
                                  WL_LOG_WARNING, "pod admitted pod=a/b");
    snprintf(want, sizeof(want),
             "wasmlet[%ld]: warning: pod admitted "
             "pod=a/b\n",
             (long)getpid());
    CHECK_INT(n, strlen(want));
    line[n] = '\0';
    CHECK_STR(line, want);
}

/* Parses a JSON line: one object, ending in exactly one newline. */
static json_t *parse_line(const char *line, size_t n)
{
    if (n == 0 || line[n - 1] != '\n' || memchr(line, '\n', n - 1))
        return NULL;
    return json_loadb(line, n - 1, 0, NULL);
}

/* msg as a JSON line at level, parsed back; NULL if it is not one. */
static json_t *json_line(enum wl_log_level level, const char *msg)
{
    char line[256];
    size_t n = wl_log_format_line(line, sizeof(line), WL_LOG_JSON, level, msg);
    return parse_line(line, n);
}

static void test_json_line_is_one_object_with_ts_level_pid_msg(void)
{
    json_t *o = json_line(WL_LOG_INFO, "node ready node=n1 port=10250");
    CHECK(o != NULL);
    CHECK_INT(json_object_size(o), 4);
    CHECK_STR(json_string_value(json_object_get(o, "level")), "info");
    CHECK_STR(json_string_value(json_object_get(o, "msg")),
              "node ready node=n1 port=10250");
    CHECK_INT(json_integer_value(json_object_get(o, "pid")), getpid());
    const char *ts = json_string_value(json_object_get(o, "ts"));
    CHECK(ts != NULL);
    /* RFC 3339 UTC with microseconds: 2026-01-02T15:04:05.123456Z */
    CHECK_INT(strlen(ts), 27);
    CHECK(ts[4] == '-' && ts[10] == 'T' && ts[19] == '.' && ts[26] == 'Z');
    json_decref(o);
}

static void test_json_escapes_quotes_controls_and_bad_utf8(void)
{
    json_t *o =
        json_line(WL_LOG_ERROR, "a \"q\" \\ b\nc\td\x01 \xc3\xa9 \xff end");
    CHECK(o != NULL);
    CHECK_STR(json_string_value(json_object_get(o, "msg")),
              "a \"q\" \\ b\nc\td\x01 \xc3\xa9 \xef\xbf\xbd end");
    json_decref(o);
}

static void test_long_messages_are_cut_to_one_valid_line(void)
{
    char msg[1000], line[200];
    memset(msg, '"', sizeof(msg) - 1); /* every byte needs an escape */
    msg[sizeof(msg) - 1] = '\0';
    size_t n =
        wl_log_format_line(line, sizeof(line), WL_LOG_JSON, WL_LOG_INFO, msg);
    CHECK(n <= sizeof(line));
    json_t *o = parse_line(line, n);
    CHECK(o != NULL);
    const char *m = json_string_value(json_object_get(o, "msg"));
    CHECK(m && strlen(m) > 10 && m[0] == '"');
    json_decref(o);

    n = wl_log_format_line(line, sizeof(line), WL_LOG_TEXT, WL_LOG_INFO, msg);
    CHECK_INT(n, sizeof(line) - 1);
    CHECK(line[n - 1] == '\n');
    CHECK(memchr(line, '\n', n - 1) == NULL);
}

static void test_format_names(void)
{
    enum wl_log_format f = WL_LOG_TEXT;
    CHECK_INT(wl_log_format_parse("json", &f), 0);
    CHECK_INT(f, WL_LOG_JSON);
    CHECK_INT(wl_log_format_parse("text", &f), 0);
    CHECK_INT(f, WL_LOG_TEXT);
    CHECK_INT(wl_log_format_parse("JSON", &f), -1);
}

WL_TEST_MAIN(WL_T(test_text_line_has_pid_level_and_message),
             WL_T(test_json_line_is_one_object_with_ts_level_pid_msg),
             WL_T(test_json_escapes_quotes_controls_and_bad_utf8),
             WL_T(test_long_messages_are_cut_to_one_valid_line),
             WL_T(test_format_names))
