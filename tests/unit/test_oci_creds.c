/* Registry credentials from Docker config documents: the two Secret types
 * Kubernetes uses for imagePullSecrets and the node's config.json. */
#include <stdlib.h>

#include "oci/creds.h"
#include "test.h"

struct found {
    int rc;
    char *user, *pass, *msg;
};

static struct found lookup(const char *json, const char *host)
{
    struct wl_error err = WL_ERROR_INIT;
    struct found f = {0};
    f.rc = wl_creds_lookup(json, strlen(json), host, &f.user, &f.pass, &err);
    f.msg = err.msg;
    return f;
}

static void found_clear(struct found *f)
{
    free(f->user);
    free(f->pass);
    free(f->msg);
}

static void test_dockerconfigjson_auth(void)
{
    struct found f =
        lookup("{\"auths\":{\"registry.example.com\":{\"auth\":"
               "\"YWxpY2U6czNjcjpldA==\"},\"127.0.0.1:25001\":{\"auth\":"
               "\"Ym9iOmh1bnRlcjI=\"}}}",
               "registry.example.com");
    struct found g = f;
    f = (struct found){0};
    found_clear(&f);
    CHECK_INT(g.rc, 1);
    CHECK_STR(g.user, "alice");
    CHECK_STR(g.pass, "s3cr:et"); /* only the first colon separates */
    CHECK(g.msg == NULL);
    found_clear(&g);
}

static void test_dockerconfigjson_username_password(void)
{
    struct found f =
        lookup("{\"auths\":{\"ghcr.io\":{\"username\":\"octo\",\"password\":"
               "\"tok:en\",\"email\":\"o@example.com\"}}}",
               "ghcr.io");
    int rc = f.rc;
    int ok = f.user && f.pass && strcmp(f.user, "octo") == 0 &&
             strcmp(f.pass, "tok:en") == 0;
    found_clear(&f);
    CHECK_INT(rc, 1);
    CHECK(ok);
}

static void test_auth_preferred_over_username_password(void)
{
    struct found f =
        lookup("{\"auths\":{\"ghcr.io\":{\"username\":\"x\",\"password\":\"y\","
               "\"auth\":\"Ym9iOmh1bnRlcjI=\"}}}",
               "ghcr.io");
    int rc = f.rc;
    int ok = f.user && strcmp(f.user, "bob") == 0 && f.pass &&
             strcmp(f.pass, "hunter2") == 0;
    found_clear(&f);
    CHECK_INT(rc, 1);
    CHECK(ok);
}

static void test_dockercfg_top_level_map(void)
{
    struct found f = lookup(
        "{\"quay.io\":{\"auth\":\"Ym9iOmh1bnRlcjI=\",\"email\":\"b@x\"}}",
        "quay.io");
    int rc = f.rc;
    int ok = f.user && strcmp(f.user, "bob") == 0 && f.pass &&
             strcmp(f.pass, "hunter2") == 0;
    found_clear(&f);
    CHECK_INT(rc, 1);
    CHECK(ok);
}

static void test_url_key_matches_docker_hub(void)
{
    struct found f =
        lookup("{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":"
               "\"Ym9iOmh1bnRlcjI=\"}}}",
               "docker.io");
    int rc = f.rc;
    int ok = f.user && strcmp(f.user, "bob") == 0;
    found_clear(&f);
    CHECK_INT(rc, 1);
    CHECK(ok);
}

static void test_docker_hub_aliases_match(void)
{
    struct found f =
        lookup("{\"auths\":{\"docker.io\":{\"auth\":\"Ym9iOmh1bnRlcjI=\"}}}",
               "registry-1.docker.io");
    int rc = f.rc;
    found_clear(&f);
    CHECK_INT(rc, 1);
}

static void test_host_port_key(void)
{
    static const char doc[] =
        "{\"auths\":{\"127.0.0.1:25000\":{\"auth\":\"YWxpY2U6czNjcjpldA==\"},"
        "\"http://127.0.0.1:25001\":{\"auth\":\"Ym9iOmh1bnRlcjI=\"}}}";
    struct found f = lookup(doc, "127.0.0.1:25001");
    int rc = f.rc;
    int ok = f.user && strcmp(f.user, "bob") == 0;
    found_clear(&f);
    CHECK_INT(rc, 1);
    CHECK(ok);
}

static void test_host_without_port_does_not_match_port_key(void)
{
    struct found f = lookup(
        "{\"auths\":{\"127.0.0.1:25001\":{\"auth\":\"Ym9iOmh1bnRlcjI=\"}}}",
        "127.0.0.1");
    int rc = f.rc;
    int nothing = f.user == NULL && f.pass == NULL && f.msg == NULL;
    found_clear(&f);
    CHECK_INT(rc, 0);
    CHECK(nothing);
}

static void test_not_found_returns_zero(void)
{
    struct found f = lookup(
        "{\"auths\":{\"ghcr.io\":{\"auth\":\"Ym9iOmh1bnRlcjI=\"}}}", "quay.io");
    int rc = f.rc;
    int nothing = f.user == NULL && f.pass == NULL && f.msg == NULL;
    found_clear(&f);
    CHECK_INT(rc, 0);
    CHECK(nothing);
}

static void test_entry_without_credentials_is_not_found(void)
{
    struct found f =
        lookup("{\"auths\":{\"ghcr.io\":{\"email\":\"a@b\"}}}", "ghcr.io");
    int rc = f.rc;
    found_clear(&f);
    CHECK_INT(rc, 0);
}

static void test_invalid_base64_refused(void)
{
    struct found f =
        lookup("{\"auths\":{\"ghcr.io\":{\"auth\":\"Ym9i*mh1\"}}}", "ghcr.io");
    int rc = f.rc;
    char *msg = f.msg;
    f.msg = NULL;
    found_clear(&f);
    CHECK_INT(rc, -1);
    CHECK_STR(msg, "credentials: \"auth\" is not base64");
    free(msg);
}

static void test_base64_of_wrong_length_refused(void)
{
    struct found f =
        lookup("{\"auths\":{\"ghcr.io\":{\"auth\":\"Ym9iOm\"}}}", "ghcr.io");
    int rc = f.rc;
    char *msg = f.msg;
    f.msg = NULL;
    found_clear(&f);
    CHECK_INT(rc, -1);
    CHECK_STR(msg, "credentials: \"auth\" is not base64");
    free(msg);
}

static void test_auth_without_colon_refused(void)
{
    struct found f = lookup(
        "{\"auths\":{\"ghcr.io\":{\"auth\":\"bm9jb2xvbmhlcmU=\"}}}", "ghcr.io");
    int rc = f.rc;
    int no_out = f.user == NULL && f.pass == NULL;
    char *msg = f.msg;
    f.msg = NULL;
    found_clear(&f);
    CHECK_INT(rc, -1);
    CHECK(no_out);
    CHECK_STR(msg, "credentials: \"auth\" is not user:password");
    free(msg);
}

static void test_auth_with_nul_byte_refused(void)
{
    struct found f =
        lookup("{\"auths\":{\"ghcr.io\":{\"auth\":\"YWIAOmNk\"}}}", "ghcr.io");
    int rc = f.rc;
    char *msg = f.msg;
    f.msg = NULL;
    found_clear(&f);
    CHECK_INT(rc, -1);
    CHECK_STR(msg, "credentials: \"auth\" holds a NUL byte");
    free(msg);
}

static void test_empty_password_accepted(void)
{
    struct found f = lookup(
        "{\"auths\":{\"ghcr.io\":{\"auth\":\"cm9ib3QkY2k6\"}}}", "ghcr.io");
    int rc = f.rc;
    int ok = f.user && strcmp(f.user, "robot$ci") == 0 && f.pass &&
             strcmp(f.pass, "") == 0;
    found_clear(&f);
    CHECK_INT(rc, 1);
    CHECK(ok);
}

static void test_not_json_refused(void)
{
    struct found f = lookup("{\"auths\":", "ghcr.io");
    int rc = f.rc;
    char *msg = f.msg;
    f.msg = NULL;
    found_clear(&f);
    CHECK_INT(rc, -1);
    CHECK_CONTAINS(msg, "credentials: ");
    free(msg);
}

static void test_not_an_object_refused(void)
{
    struct found f = lookup("[\"ghcr.io\"]", "ghcr.io");
    int rc = f.rc;
    char *msg = f.msg;
    f.msg = NULL;
    found_clear(&f);
    CHECK_INT(rc, -1);
    CHECK_STR(msg, "credentials: not a JSON object");
    free(msg);
}

static void test_auths_not_an_object_refused(void)
{
    struct found f = lookup("{\"auths\":[\"ghcr.io\"]}", "ghcr.io");
    int rc = f.rc;
    char *msg = f.msg;
    f.msg = NULL;
    found_clear(&f);
    CHECK_INT(rc, -1);
    CHECK_STR(msg, "credentials: \"auths\" not an object");
    free(msg);
}

static void test_oversize_refused(void)
{
    size_t len = WL_CREDS_MAX_SIZE + 1;
    char *doc = malloc(len);
    CHECK(doc);
    memset(doc, ' ', len);
    doc[0] = '{';
    doc[len - 1] = '}';
    struct wl_error err = WL_ERROR_INIT;
    char *user = NULL, *pass = NULL;
    int rc = wl_creds_lookup(doc, len, "ghcr.io", &user, &pass, &err);
    free(doc);
    CHECK_INT(rc, -1);
    CHECK(user == NULL && pass == NULL);
    CHECK_STR(err.msg, "credentials over 1048576 bytes");
    wl_error_clear(&err);
}

WL_TEST_MAIN(WL_T(test_dockerconfigjson_auth),
             WL_T(test_dockerconfigjson_username_password),
             WL_T(test_auth_preferred_over_username_password),
             WL_T(test_dockercfg_top_level_map),
             WL_T(test_url_key_matches_docker_hub),
             WL_T(test_docker_hub_aliases_match), WL_T(test_host_port_key),
             WL_T(test_host_without_port_does_not_match_port_key),
             WL_T(test_not_found_returns_zero),
             WL_T(test_entry_without_credentials_is_not_found),
             WL_T(test_invalid_base64_refused),
             WL_T(test_base64_of_wrong_length_refused),
             WL_T(test_auth_without_colon_refused),
             WL_T(test_auth_with_nul_byte_refused),
             WL_T(test_empty_password_accepted), WL_T(test_not_json_refused),
             WL_T(test_not_an_object_refused),
             WL_T(test_auths_not_an_object_refused),
             WL_T(test_oversize_refused))
