#include <stdlib.h>
#include <string.h>

#include "oci/ref.h"
#include "test.h"
#include "util/cleanup.h"

/* 64 lowercase hex characters, the shape of a sha256 digest. */
#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX64_UPPER                                                            \
    "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
#define DIGEST "sha256:" HEX64

static void ref_freep(struct wl_oci_ref **p)
{
    wl_oci_ref_free(*p);
}

static void error_clearp(struct wl_error *err)
{
    wl_error_clear(err);
}

#define _cleanup_ref_ _cleanup_(ref_freep)
#define _cleanup_error_ _cleanup_(error_clearp)

/* Like CHECK_STR, but an expectation of NULL means "absent". */
#define CHECK_OPT_STR(a, b)                                                    \
    do {                                                                       \
        const char *wl_o_ = (b);                                               \
        if (wl_o_)                                                             \
            CHECK_STR(a, wl_o_);                                               \
        else if ((a) != NULL)                                                  \
            WL_FAIL("%s == \"%s\", expected NULL", #a, (a));                   \
    } while (0)

struct good_case {
    const char *input;
    const char *registry;
    const char *repository;
    const char *tag; /* NULL: none */
    const char *digest;
    const char *canonical;
};

static const struct good_case good[] = {
    {"hello", "docker.io", "library/hello", "latest", NULL,
     "docker.io/library/hello:latest"},
    {"user/hello:v1", "docker.io", "user/hello", "v1", NULL,
     "docker.io/user/hello:v1"},
    {"localhost:5000/a/b", "localhost:5000", "a/b", "latest", NULL,
     "localhost:5000/a/b:latest"},
    {"127.0.0.1:25000/demo/hello:v1", "127.0.0.1:25000", "demo/hello", "v1",
     NULL, "127.0.0.1:25000/demo/hello:v1"},
    {"ghcr.io/o/x@" DIGEST, "ghcr.io", "o/x", NULL, DIGEST,
     "ghcr.io/o/x@" DIGEST},
    {"ghcr.io/o/x:v1@" DIGEST, "ghcr.io", "o/x", "v1", DIGEST,
     "ghcr.io/o/x:v1@" DIGEST},
    {"x:v1@" DIGEST, "docker.io", "library/x", "v1", DIGEST,
     "docker.io/library/x:v1@" DIGEST},
    {"x@" DIGEST, "docker.io", "library/x", NULL, DIGEST,
     "docker.io/library/x@" DIGEST},
    {"index.docker.io/library/busybox", "docker.io", "library/busybox",
     "latest", NULL, "docker.io/library/busybox:latest"},
    {"index.docker.io/busybox", "docker.io", "library/busybox", "latest", NULL,
     "docker.io/library/busybox:latest"},
    {"docker.io/x", "docker.io", "library/x", "latest", NULL,
     "docker.io/library/x:latest"},
    {"docker.io/library/hello:latest", "docker.io", "library/hello", "latest",
     NULL, "docker.io/library/hello:latest"},
    {"[::1]:5000/x", "[::1]:5000", "x", "latest", NULL, "[::1]:5000/x:latest"},
    {"[2001:db8::1]/a/b:v2", "[2001:db8::1]", "a/b", "v2", NULL,
     "[2001:db8::1]/a/b:v2"},
    {"host:5000/x", "host:5000", "x", "latest", NULL, "host:5000/x:latest"},
    {"localhost/x", "localhost", "x", "latest", NULL, "localhost/x:latest"},
    /* Without a '/', "localhost" is an image name and ":5000" its tag. */
    {"localhost", "docker.io", "library/localhost", "latest", NULL,
     "docker.io/library/localhost:latest"},
    {"localhost:5000", "docker.io", "library/localhost", "5000", NULL,
     "docker.io/library/localhost:5000"},
    {"my.app", "docker.io", "library/my.app", "latest", NULL,
     "docker.io/library/my.app:latest"},
    {"user/my_app", "docker.io", "user/my_app", "latest", NULL,
     "docker.io/user/my_app:latest"},
    {"user/my__app", "docker.io", "user/my__app", "latest", NULL,
     "docker.io/user/my__app:latest"},
    {"user/my-app", "docker.io", "user/my-app", "latest", NULL,
     "docker.io/user/my-app:latest"},
    {"user/my---app", "docker.io", "user/my---app", "latest", NULL,
     "docker.io/user/my---app:latest"},
    {"user/a0-b1.c_d__e9", "docker.io", "user/a0-b1.c_d__e9", "latest", NULL,
     "docker.io/user/a0-b1.c_d__e9:latest"},
    {"a/b/c/d/e", "docker.io", "a/b/c/d/e", "latest", NULL,
     "docker.io/a/b/c/d/e:latest"},
    {"quay.io/o/x:v1.2.3-rc_1", "quay.io", "o/x", "v1.2.3-rc_1", NULL,
     "quay.io/o/x:v1.2.3-rc_1"},
    {"x:_tag", "docker.io", "library/x", "_tag", NULL,
     "docker.io/library/x:_tag"},
    {"x:V1", "docker.io", "library/x", "V1", NULL, "docker.io/library/x:V1"},
    /* Registry hosts keep their case, as in Docker. */
    {"Example.COM/x", "Example.COM", "x", "latest", NULL,
     "Example.COM/x:latest"},
    /* Only docker.io gets "library/": another host of Docker Hub is just a
     * registry. */
    {"registry-1.docker.io/x", "registry-1.docker.io", "x", "latest", NULL,
     "registry-1.docker.io/x:latest"},
    {"10.0.0.1/x", "10.0.0.1", "x", "latest", NULL, "10.0.0.1/x:latest"},
    {"my-registry.local:443/team/app@" DIGEST, "my-registry.local:443",
     "team/app", NULL, DIGEST, "my-registry.local:443/team/app@" DIGEST},
    {"a-b.c-d:1/e", "a-b.c-d:1", "e", "latest", NULL, "a-b.c-d:1/e:latest"},
    {"ghcr.io", "docker.io", "library/ghcr.io", "latest", NULL,
     "docker.io/library/ghcr.io:latest"},
};

static void check_good(const struct good_case *c)
{
    _cleanup_error_ struct wl_error err = WL_ERROR_INIT;
    _cleanup_ref_ struct wl_oci_ref *ref = NULL;
    _cleanup_ref_ struct wl_oci_ref *again = NULL;
    _cleanup_free_ char *s = NULL;
    _cleanup_free_ char *s2 = NULL;

    if (wl_oci_ref_parse(c->input, &ref, &err) < 0)
        WL_FAIL("parse failed: %s", err.msg);
    CHECK(err.msg == NULL);
    CHECK_STR(ref->registry, c->registry);
    CHECK_STR(ref->repository, c->repository);
    CHECK_OPT_STR(ref->tag, c->tag);
    CHECK_OPT_STR(ref->digest, c->digest);
    CHECK((s = wl_oci_ref_string(ref)) != NULL);
    CHECK_STR(s, c->canonical);

    /* The canonical form is a fixed point. */
    CHECK_INT(wl_oci_ref_parse(s, &again, &err), 0);
    CHECK((s2 = wl_oci_ref_string(again)) != NULL);
    CHECK_STR(s2, s);
}

static void test_oci_ref_parses_good_references(void)
{
    for (size_t i = 0; i < WL_ARRAY_SIZE(good); i++) {
        check_good(&good[i]);
        if (wl_test_failed) {
            fprintf(stderr, "  case: \"%s\"\n", good[i].input);
            return;
        }
    }
}

struct bad_case {
    const char *input;
    const char *fragment; /* expected in the message */
};

static const struct bad_case bad[] = {
    {"", "empty"},
    {"Foo", "repository name must be lowercase"},
    {"user/Hello:v1", "repository name must be lowercase"},
    {"ghcr.io/Org/x", "repository name must be lowercase"},
    {"/x", "name starts with '/'"},
    {"x/", "name ends with '/'"},
    {"ghcr.io/", "name ends with '/'"},
    {"a//b", "empty path component ('//')"},
    {":v1", "missing repository name"},
    {"@" DIGEST, "missing repository name"},
    {"x:", "empty tag"},
    {"x:-v1", "invalid tag"},
    {"x:.v1", "invalid tag"},
    {"x:v1!", "invalid tag"},
    {"x@sha512:" HEX64 HEX64, "unsupported digest algorithm \"sha512\""},
    {"x@md5:0123456789abcdef0123456789abcdef",
     "unsupported digest algorithm \"md5\""},
    {"x@sha256:abc", "invalid digest"},
    {"x@sha256:" HEX64_UPPER, "invalid digest"},
    {"x@sha256:" HEX64 "0", "invalid digest"},
    {"x@" DIGEST "@" DIGEST, "invalid digest"},
    {"x@", "empty digest"},
    {"x@sha256", "invalid digest"},
    {"x@:" HEX64, "invalid digest"},
    {"a..b", "invalid repository name component \"a..b\""},
    {"user/a___b", "invalid repository name component \"a___b\""},
    {"user/-a", "invalid repository name component \"-a\""},
    {"user/a-", "invalid repository name component \"a-\""},
    {"user/a._b", "invalid repository name component \"a._b\""},
    {"user/.a", "invalid repository name component \".a\""},
    {"user/hel lo", "invalid character in repository name"},
    {"x:v1:v2", "invalid character in repository name"},
    {"host:99999/x", "invalid registry port"},
    {"host:0/x", "invalid registry port"},
    {"host:/x", "invalid registry port"},
    {"host:50a/x", "invalid registry port"},
    {"-host.com/x", "invalid registry host"},
    {"host-.com/x", "invalid registry host"},
    {"host..com/x", "invalid registry host"},
    {"host.com./x", "invalid registry host"},
    {"ho_st.com/x", "invalid registry host"},
    {"[::1/x", "unterminated '[' in registry"},
    {"[zz::1]:5000/x", "invalid IPv6 address in registry"},
    {"[:::]/x", "invalid IPv6 address in registry"},
    {"[]/x", "invalid IPv6 address in registry"},
    {"[::1]x/y", "invalid registry host"},
    {HEX64, "image ID"},
};

static void check_bad(const struct bad_case *c)
{
    _cleanup_error_ struct wl_error err = WL_ERROR_INIT;
    struct wl_oci_ref *sentinel = (struct wl_oci_ref *)&err;
    struct wl_oci_ref *ref = sentinel;
    char prefix[1024];

    CHECK_INT(wl_oci_ref_parse(c->input, &ref, &err), -1);
    CHECK(ref == sentinel); /* out-parameters only on success */
    CHECK_CONTAINS(err.msg, c->fragment);
    /* The message quotes the input (these inputs need no escaping). */
    (void)snprintf(prefix, sizeof(prefix),
                   "invalid reference \"%s\": ", c->input);
    CHECK(strncmp(err.msg, prefix, strlen(prefix)) == 0);
}

static void test_oci_ref_rejects_bad_references(void)
{
    for (size_t i = 0; i < WL_ARRAY_SIZE(bad); i++) {
        check_bad(&bad[i]);
        if (wl_test_failed) {
            fprintf(stderr, "  case: \"%s\"\n", bad[i].input);
            return;
        }
    }
}

static void test_oci_ref_error_escapes_input(void)
{
    _cleanup_error_ struct wl_error err = WL_ERROR_INIT;
    struct wl_oci_ref *ref = NULL;

    CHECK_INT(wl_oci_ref_parse("a\"b\n\\", &ref, &err), -1);
    CHECK(ref == NULL);
    CHECK_CONTAINS(err.msg, "invalid reference \"a\\\"b\\x0a\\\\\": ");
}

static void test_oci_ref_rejects_null(void)
{
    _cleanup_error_ struct wl_error err = WL_ERROR_INIT;
    struct wl_oci_ref *ref = NULL;

    CHECK_INT(wl_oci_ref_parse(NULL, &ref, &err), -1);
    CHECK(ref == NULL);
    CHECK(err.msg != NULL);
}

/* A string of n copies of c. */
static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memset(s, c, n);
        s[n] = '\0';
    }
    return s;
}

/* prefix + n copies of c + suffix. */
static char *make(const char *prefix, char c, size_t n, const char *suffix)
{
    _cleanup_free_ char *mid = repeat(c, n);
    char *s = NULL;
    if (!mid || asprintf(&s, "%s%s%s", prefix, mid, suffix) < 0)
        return NULL;
    return s;
}

static void test_oci_ref_rejects_overlong_input(void)
{
    _cleanup_error_ struct wl_error err = WL_ERROR_INIT;
    _cleanup_free_ char *s = repeat('a', WL_OCI_REF_MAX_LEN + 1);
    _cleanup_free_ char *quoted = make("\"", 'a', 64, "...\"");
    struct wl_oci_ref *ref = NULL;

    CHECK(s && quoted);
    CHECK_INT(wl_oci_ref_parse(s, &ref, &err), -1);
    CHECK(ref == NULL);
    CHECK_CONTAINS(err.msg, "longer than 512 characters");
    /* The quote is cut short: the message stays readable. */
    CHECK_CONTAINS(err.msg, quoted);
    CHECK(strlen(err.msg) < 200);
}

static void check_length(const char *prefix, size_t n, const char *suffix,
                         int want, const char *fragment)
{
    _cleanup_error_ struct wl_error err = WL_ERROR_INIT;
    _cleanup_ref_ struct wl_oci_ref *ref = NULL;
    _cleanup_free_ char *s = make(prefix, 'a', n, suffix);

    CHECK(s);
    CHECK_INT(wl_oci_ref_parse(s, &ref, &err), want);
    if (fragment)
        CHECK_CONTAINS(err.msg, fragment);
}

/* The 255 limit is on the normalised name, as in Docker, so a name that
 * only fits before "docker.io/library/" is added is refused. */
static void test_oci_ref_limits_name_to_255(void)
{
    const char *msg = "repository name must not be more than 255 characters";

    /* "docker.io/library/" is 18 characters, "ghcr.io/" 8. */
    check_length("", 255 - 18, "", 0, NULL);
    check_length("", 255 - 18 + 1, "", -1, msg);
    check_length("ghcr.io/", 255 - 8, ":v1", 0, NULL);
    check_length("ghcr.io/", 255 - 8 + 1, ":v1", -1, msg);
    check_length("index.docker.io/", 255 - 18, "", 0, NULL);
    check_length("index.docker.io/", 255 - 18 + 1, "", -1, msg);
}

static void test_oci_ref_limits_tag_to_128(void)
{
    check_length("x:", 128, "", 0, NULL);
    check_length("x:", 129, "", -1, "tag longer than 128 characters");
}

/* The longest valid reference: its canonical form must still parse. */
static void test_oci_ref_longest_reference_round_trips(void)
{
    _cleanup_error_ struct wl_error err = WL_ERROR_INIT;
    _cleanup_ref_ struct wl_oci_ref *ref = NULL;
    _cleanup_ref_ struct wl_oci_ref *again = NULL;
    _cleanup_free_ char *tag = repeat('t', 128);
    _cleanup_free_ char *s = NULL;
    _cleanup_free_ char *canonical = NULL;
    _cleanup_free_ char *name = repeat('a', 255 - 18);

    CHECK(tag && name);
    CHECK(asprintf(&s, "%s:%s@%s", name, tag, DIGEST) >= 0);
    CHECK_INT(wl_oci_ref_parse(s, &ref, &err), 0);
    CHECK((canonical = wl_oci_ref_string(ref)) != NULL);
    CHECK(strlen(canonical) <= WL_OCI_REF_MAX_LEN);
    CHECK_INT(wl_oci_ref_parse(canonical, &again, &err), 0);
    CHECK_STR(again->repository, ref->repository);
    CHECK_STR(again->tag, tag);
    CHECK_STR(again->digest, DIGEST);
}

static void test_oci_ref_defaults_to_docker_hub(void)
{
    _cleanup_error_ struct wl_error err = WL_ERROR_INIT;
    _cleanup_ref_ struct wl_oci_ref *ref = NULL;

    CHECK_INT(wl_oci_ref_parse("nginx", &ref, &err), 0);
    CHECK_STR(ref->registry, "docker.io");
    CHECK_STR(ref->repository, "library/nginx");
    CHECK_STR(ref->tag, "latest");
    CHECK(ref->digest == NULL);
}

/* A digest pins the image: no "latest" is invented next to it. */
static void test_oci_ref_digest_only_has_no_tag(void)
{
    _cleanup_error_ struct wl_error err = WL_ERROR_INIT;
    _cleanup_ref_ struct wl_oci_ref *ref = NULL;

    CHECK_INT(wl_oci_ref_parse("ghcr.io/o/x@" DIGEST, &ref, &err), 0);
    CHECK(ref->tag == NULL);
    CHECK_STR(ref->digest, DIGEST);
}

static void check_api_host(const char *input, const char *host)
{
    _cleanup_error_ struct wl_error err = WL_ERROR_INIT;
    _cleanup_ref_ struct wl_oci_ref *ref = NULL;

    CHECK_INT(wl_oci_ref_parse(input, &ref, &err), 0);
    CHECK_STR(wl_oci_ref_api_host(ref), host);
}

static void test_oci_ref_api_host(void)
{
    check_api_host("hello", "registry-1.docker.io");
    check_api_host("docker.io/user/x:v1", "registry-1.docker.io");
    check_api_host("index.docker.io/library/busybox", "registry-1.docker.io");
    check_api_host("ghcr.io/o/x", "ghcr.io");
    check_api_host("localhost:5000/a/b", "localhost:5000");
    check_api_host("127.0.0.1:25000/demo/hello:v1", "127.0.0.1:25000");
    check_api_host("[::1]:5000/x", "[::1]:5000");
    CHECK(wl_oci_ref_api_host(NULL) == NULL);
}

static void test_oci_ref_free_accepts_null(void)
{
    wl_oci_ref_free(NULL);
    CHECK(wl_oci_ref_string(NULL) == NULL);
}

WL_TEST_MAIN(WL_T(test_oci_ref_parses_good_references),
             WL_T(test_oci_ref_rejects_bad_references),
             WL_T(test_oci_ref_error_escapes_input),
             WL_T(test_oci_ref_rejects_null),
             WL_T(test_oci_ref_rejects_overlong_input),
             WL_T(test_oci_ref_limits_name_to_255),
             WL_T(test_oci_ref_limits_tag_to_128),
             WL_T(test_oci_ref_longest_reference_round_trips),
             WL_T(test_oci_ref_defaults_to_docker_hub),
             WL_T(test_oci_ref_digest_only_has_no_tag),
             WL_T(test_oci_ref_api_host), WL_T(test_oci_ref_free_accepts_null))
