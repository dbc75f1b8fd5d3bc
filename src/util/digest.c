#include "util/digest.h"

#include <openssl/evp.h>
#include <string.h>

#include "util/hex.h"

bool wl_digest_valid(const char *d)
{
    size_t plen = strlen(WL_DIGEST_PREFIX);
    if (!d || strncmp(d, WL_DIGEST_PREFIX, plen) != 0)
        return false;
    d += plen;
    for (int i = 0; i < WL_DIGEST_HEX_LEN; i++) {
        if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f')))
            return false;
    }
    return d[WL_DIGEST_HEX_LEN] == '\0';
}

void wl_digest_from_sha256(const unsigned char *md, char *buf)
{
    size_t plen = strlen(WL_DIGEST_PREFIX);
    memcpy(buf, WL_DIGEST_PREFIX, plen);
    wl_hex_encode(md, WL_DIGEST_HEX_LEN / 2, buf + plen);
}

int wl_digest_of(const void *data, size_t len, char *buf,
                 struct wl_error *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 ||
        n != WL_DIGEST_HEX_LEN / 2)
        return wl_error_set(err, 0, "sha256 failed");
    wl_digest_from_sha256(md, buf);
    return 0;
}
