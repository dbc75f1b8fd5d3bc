/* libFuzzer target: Docker config documents (imagePullSecrets contents and
 * the node's config.json) through the credential lookup, for a Docker Hub
 * alias and a host:port registry. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci/creds.h"

static const char *const hosts[] = {"docker.io", "127.0.0.1:25001", "ghcr.io"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        struct wl_error err = WL_ERROR_INIT;
        char *user = NULL, *pass = NULL;
        int r = wl_creds_lookup((const char *)data, size, hosts[i], &user,
                                &pass, &err);
        if (r < 0) {
            if (!err.msg || user || pass)
                abort();
            wl_error_clear(&err);
            return 0; /* the document is malformed for every host */
        }
        if (r == 1) {
            if (!user || !pass || err.msg)
                abort();
            explicit_bzero(pass, strlen(pass));
        } else if (r != 0 || user || pass) {
            abort();
        }
        free(user);
        free(pass);
    }
    return 0;
}
