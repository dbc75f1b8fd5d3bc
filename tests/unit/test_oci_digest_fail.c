/* When OpenSSL cannot compute a SHA-256 (here: a configuration that loads
 * only its "null" provider, as a broken or FIPS-misconfigured host might),
 * nothing is stored or trusted under a digest that was never computed. A
 * process of its own: OpenSSL reads its configuration once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oci/store.h"
#include "test.h"

static char dir[] = "/tmp/wl-digest-fail-XXXXXX";
static char conf[sizeof(dir) + 16];

/* First: OpenSSL has not read its configuration yet. */
static void test_setup(void)
{
    wl_test_tmpdir(dir);
    snprintf(conf, sizeof(conf), "%s/ssl.cnf", dir);
    FILE *f = fopen(conf, "w");
    CHECK(f != NULL);
    fputs("openssl_conf = init\n[init]\nproviders = prov\n"
          "[prov]\nnull = null_sect\n[null_sect]\nactivate = 1\n",
          f);
    CHECK_INT(fclose(f), 0);
    CHECK_INT(setenv("OPENSSL_CONF", conf, 1), 0);
}

static void test_digest_failure_is_an_error_and_stores_nothing(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_store *s = NULL;
    char d[80] = "untouched";
    char store_dir[sizeof(dir) + 16];
    snprintf(store_dir, sizeof(store_dir), "%s/store", dir);
    CHECK_INT(wl_digest_of("abc", 3, d, &err), -1);
    CHECK_STR(err.msg, "sha256 failed");
    CHECK_STR(d, "untouched");
    wl_error_clear(&err);
    CHECK_INT(wl_store_open(store_dir, &s, &err), 0);
    CHECK_INT(wl_store_put(s, "abc", 3, NULL, &err), -1);
    CHECK_CONTAINS(err.msg, "sha256 failed");
    wl_error_clear(&err);
    CHECK(wl_store_tag_get(s, "example.com/a:v1") == NULL);
    CHECK(wl_store_tag_set(s, "example.com/a:v1",
                           "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396"
                           "177a9cb410ff61f20015ad",
                           &err) < 0);
    wl_error_clear(&err);
    wl_store_free(s);
}

WL_TEST_MAIN(WL_T(test_setup),
             WL_T(test_digest_failure_is_an_error_and_stores_nothing))
