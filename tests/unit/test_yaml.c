#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "util/yaml.h"

/* The documents of yaml as compact JSON with sorted keys, or the error
 * message prefixed "error: ". The caller frees. */
static char *conv(const char *yaml)
{
    struct wl_error err = WL_ERROR_INIT;
    json_t *docs = NULL;
    char *out = NULL;
    if (wl_yaml_to_json(yaml, strlen(yaml), &docs, &err) < 0) {
        if (asprintf(&out, "error: %s", err.msg) < 0)
            out = NULL;
        wl_error_clear(&err);
        return out;
    }
    out = json_dumps(docs, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(docs);
    return out;
}

#define CHECK_YAML(yaml, want)                                                 \
    do {                                                                       \
        char *got_ = conv(yaml);                                               \
        int same_ = got_ && strcmp(got_, want) == 0;                           \
        if (!same_) {                                                          \
            fprintf(stderr, "  got: %s\n", got_ ? got_ : "(null)");            \
            free(got_);                                                        \
            WL_FAIL("%s -> expected %s", #yaml, want);                         \
        }                                                                      \
        free(got_);                                                            \
    } while (0)

static void test_yaml_plain_scalars_follow_the_core_schema(void)
{
    CHECK_YAML("a: null\nb: ~\nc:\nd: Null\n",
               "[{\"a\":null,\"b\":null,\"c\":null,\"d\":null}]");
    CHECK_YAML("[true, False, TRUE, yes, no, on, tRue]",
               "[[true,false,true,\"yes\",\"no\",\"on\",\"tRue\"]]");
    CHECK_YAML("[1, -2, +3, 0o17, 0x1F, 007, 1_000]",
               "[[1,-2,3,15,31,7,\"1_000\"]]");
    CHECK_YAML("[1.5, -.5, 1e3, 2.E-1, 1.2.3, 1e]",
               "[[1.5,-0.5,1000.0,0.20000000000000001,\"1.2.3\",\"1e\"]]");
}

static void test_yaml_quoted_and_block_scalars_stay_strings(void)
{
    CHECK_YAML("a: \"1\"\nb: 'true'\nc: !!str 5\nd: |\n  12\n",
               "[{\"a\":\"1\",\"b\":\"true\",\"c\":\"5\",\"d\":\"12\\n\"}]");
    CHECK_YAML("a: 'it''s'\n", "[{\"a\":\"it's\"}]");
}

static void test_yaml_several_documents(void)
{
    CHECK_YAML("a: 1\n---\nb: 2\n---\n", "[{\"a\":1},{\"b\":2}]");
    CHECK_YAML("# only a comment\n", "[]");
    CHECK_YAML("", "[]");
    CHECK_YAML("--- 5\n--- x\n--- null\n...\n", "[5,\"x\"]");
}

static void test_yaml_json_is_yaml(void)
{
    CHECK_YAML("{\"kind\": \"Pod\", \"n\": [1, 2.5, null, false]}",
               "[{\"kind\":\"Pod\",\"n\":[1,2.5,null,false]}]");
}

static void test_yaml_aliases_are_expanded(void)
{
    CHECK_YAML("a: &x {k: v}\nb: *x\nc: &s hi\nd: *s\n",
               "[{\"a\":{\"k\":\"v\"},\"b\":{\"k\":\"v\"},\"c\":\"hi\","
               "\"d\":\"hi\"}]");
}

static void test_yaml_billion_laughs_is_refused(void)
{
    CHECK_YAML("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
               "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
               "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
               "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
               "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
               "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
               "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
               "error: invalid YAML: line 6, column 37: more than 1000000 "
               "values (aliases expanded): refused");
}

static void test_yaml_errors_name_line_and_column(void)
{
    char *got = conv("a: 1\nb: [1, 2\n");
    CHECK(got &&
          strncmp(got, "error: invalid YAML: line 3, column 1: ", 39) == 0);
    free(got);
    CHECK_YAML("a: 1\na: 2\n", "error: invalid YAML: line 2, column 1: "
                               "duplicate key");
    CHECK_YAML("a: .inf\n", "error: invalid YAML: line 1, column 4: infinity "
                            "and NaN cannot be represented in JSON");
    CHECK_YAML("a: 99999999999999999999\n",
               "error: invalid YAML: line 1, column 4: integer out of the "
               "64-bit range");
    CHECK_YAML("? [a]\n: 1\n", "error: invalid YAML: line 1, column 4: "
                               "mapping keys must be scalars");
    CHECK_YAML("a:\n\tb: 1\n", "error: line 2, column 1: tab characters are "
                               "not supported (use spaces)");
    CHECK_YAML("a: *nope\n", "error: invalid YAML: line 1, column 5: alias to "
                             "an unknown anchor");
}

static void test_yaml_deep_nesting_is_refused(void)
{
    char deep[300];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    deep[200] = '\0';
    char *got = conv(deep);
    CHECK(got && strstr(got, "line 1, column 64: Max depth (64) exceeded"));
    free(got);
    /* an alias inside its own anchor's node */
    CHECK_YAML("a: &a [1, *a]\n", "error: invalid YAML: line 1, column 12: "
                                  "nested deeper than 64 levels");
}

WL_TEST_MAIN(WL_T(test_yaml_plain_scalars_follow_the_core_schema),
             WL_T(test_yaml_quoted_and_block_scalars_stay_strings),
             WL_T(test_yaml_several_documents), WL_T(test_yaml_json_is_yaml),
             WL_T(test_yaml_aliases_are_expanded),
             WL_T(test_yaml_billion_laughs_is_refused),
             WL_T(test_yaml_errors_name_line_and_column),
             WL_T(test_yaml_deep_nesting_is_refused))
