#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pod/fieldref.h"
#include "test.h"

/* A 317-character label key, the longest the API allows: a 253-character
 * DNS prefix, "/", a 63-character name. */
static char long_key[318];

static json_t *pod_with(const char *key)
{
    return json_pack("{s:{s:{s:s,s:s},s:{s:s}}}", "metadata", "labels", key,
                     "long", "app", "web", "annotations", key, "note");
}

static char *path(const char *map, const char *key)
{
    char *p = NULL;
    return asprintf(&p, "metadata.%s['%s']", map, key) < 0 ? NULL : p;
}

static void make_long_key(void)
{
    memset(long_key, 'a', 317);
    for (int i = 63; i < 253; i += 64)
        long_key[i] = '.';
    long_key[253] = '/';
    long_key[317] = '\0';
}

static void test_fieldref_longest_label_key_resolves(void)
{
    make_long_key();
    json_t *pod = pod_with(long_key);
    char *lp = path("labels", long_key), *ap = path("annotations", long_key);
    CHECK_STR(wl_fieldref_map_value(pod, lp), "long");
    CHECK_STR(wl_fieldref_map_value(pod, ap), "note");
    free(lp);
    free(ap);
    json_decref(pod);
}

static void test_fieldref_absent_key_is_empty_and_prefix_no_match(void)
{
    make_long_key();
    json_t *pod = pod_with(long_key);
    CHECK_STR(wl_fieldref_map_value(pod, "metadata.labels['app']"), "web");
    /* a key that is a prefix of a present key is not that key */
    CHECK_STR(wl_fieldref_map_value(pod, "metadata.labels['ap']"), "");
    CHECK_STR(wl_fieldref_map_value(pod, "metadata.annotations['x']"), "");
    CHECK(wl_fieldref_map_value(pod, "metadata.labels") == NULL);
    CHECK(wl_fieldref_map_value(pod, "metadata.labels['app'") == NULL);
    CHECK(wl_fieldref_map_value(pod, "metadata.name") == NULL);
    json_decref(pod);
    /* no labels at all */
    json_t *bare = json_pack("{s:{}}", "metadata");
    CHECK_STR(wl_fieldref_map_value(bare, "metadata.labels['app']"), "");
    json_decref(bare);
}

WL_TEST_MAIN(WL_T(test_fieldref_longest_label_key_resolves),
             WL_T(test_fieldref_absent_key_is_empty_and_prefix_no_match))
