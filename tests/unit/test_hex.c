/* util/hex.h and util/digest.h: the one hex encoder and the one digest
 * check, for what their former copies handled (content-store digests,
 * module cache keys and digests, mirror hashes, UIDs, escapes). */
#include <stdint.h>
#include <string.h>

#include "test.h"
#include "util/digest.h"
#include "util/hex.h"

static void test_hex_encode_lowercase_with_nul(void)
{
    const uint8_t b[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char out[2 * sizeof(b) + 1];
    memset(out, 'X', sizeof(out));
    wl_hex_encode(b, sizeof(b), out);
    CHECK_STR(out, "00017f80abff");
}

static void test_hex_encode_one_byte_and_none(void)
{
    char out[3] = "XX";
    const unsigned char c = 0x1f;
    wl_hex_encode(&c, 1, out);
    CHECK_STR(out, "1f");
    wl_hex_encode(&c, 0, out);
    CHECK_STR(out, "");
}

static void test_digest_of_known_value(void)
{
    char d[WL_DIGEST_SIZE];
    CHECK_INT(WL_DIGEST_SIZE, 72);
    CHECK_INT(wl_digest_of("", 0, d, NULL), 0);
    CHECK_STR(d, "sha256:e3b0c44298fc1c149afbf4c8996fb924"
                 "27ae41e4649b934ca495991b7852b855");
    CHECK_INT(wl_digest_of("{}", 2, d, NULL), 0);
    CHECK_STR(d, "sha256:44136fa355b3678a1146ad16f7e8649e"
                 "94fb4fc21fe77e8310c060f61caaff8a");
    CHECK(wl_digest_valid(d));
}

static void test_digest_from_sha256(void)
{
    unsigned char md[32];
    for (int i = 0; i < 32; i++)
        md[i] = (unsigned char)(i * 8);
    char d[WL_DIGEST_SIZE];
    wl_digest_from_sha256(md, d);
    CHECK_STR(d, "sha256:0008101820283038404850586068707880889098a0a8b0b8"
                 "c0c8d0d8e0e8f0f8");
}

static void test_digest_valid(void)
{
    const char *good = "sha256:0123456789abcdef0123456789abcdef"
                       "0123456789abcdef0123456789abcdef";
    CHECK(wl_digest_valid(good));
    static const char *const bad[] = {
        "",
        "sha256:",
        "sha256:../../etc",
        "sha512:0123456789abcdef0123456789abcdef"
        "0123456789abcdef0123456789abcdef",
        "SHA256:0123456789abcdef0123456789abcdef"
        "0123456789abcdef0123456789abcdef",
        /* upper-case hex, one short, one long, a non-hex digit */
        "sha256:0123456789ABCDEF0123456789abcdef"
        "0123456789abcdef0123456789abcdef",
        "sha256:0123456789abcdef0123456789abcdef"
        "0123456789abcdef0123456789abcde",
        "sha256:0123456789abcdef0123456789abcdef"
        "0123456789abcdef0123456789abcdef0",
        "sha256:0123456789abcdef0123456789abcdef"
        "0123456789abcdef0123456789abcdeg",
        "0123456789abcdef0123456789abcdef"
        "0123456789abcdef0123456789abcdef",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (wl_digest_valid(bad[i]))
            WL_FAIL("accepted \"%s\"", bad[i]);
    CHECK(!wl_digest_valid(NULL));
}

WL_TEST_MAIN(WL_T(test_hex_encode_lowercase_with_nul),
             WL_T(test_hex_encode_one_byte_and_none),
             WL_T(test_digest_of_known_value), WL_T(test_digest_from_sha256),
             WL_T(test_digest_valid))
