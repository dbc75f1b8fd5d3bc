/* libFuzzer target: kubeconfig files (written by people and tools, handed
 * to the daemon with --kubeconfig or $KUBECONFIG). Parsed without a base
 * directory, so file references are refused and nothing is read from disk.
 * The input is passed as is, without a NUL terminator, so a read past its
 * end shows up under ASan. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kubeconfig.h"

/* A PEM buffer is NUL-terminated at its length. */
static void check_pem(const char *pem, size_t len)
{
    if (!pem) {
        if (len != 0)
            abort();
        return;
    }
    if (len == 0 || pem[len] != '\0')
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_kubeconfig *kc = NULL;

    if (wl_kubeconfig_parse((const char *)data, size, NULL, NULL, &kc, &err) <
        0) {
        if (!err.msg || kc)
            abort(); /* every failure says why, and *ret stays untouched */
        wl_error_clear(&err);
        return 0;
    }
    if (err.msg || !kc || !kc->context || !kc->server || !*kc->server)
        abort();
    check_pem(kc->ca_pem, kc->ca_pem_len);
    check_pem(kc->cert_pem, kc->cert_pem_len);
    check_pem(kc->key_pem, kc->key_pem_len);
    if (!kc->cert_pem != !kc->key_pem)
        abort(); /* a client certificate comes with its key */
    if (kc->token && (!*kc->token || strpbrk(kc->token, "\r\n")))
        abort(); /* the token goes into a header line */
    wl_kubeconfig_free(kc);
    return 0;
}
