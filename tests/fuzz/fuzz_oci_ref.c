/* libFuzzer target: image references (spec.containers[].image arrives from
 * the API server as any string a user typed). Checks that every failure
 * says why, that a failure leaves the out-parameter alone, and that the
 * canonical string of anything accepted parses back to the same reference
 * and prints the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci/ref.h"

static int str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static int ref_eq(const struct wl_oci_ref *a, const struct wl_oci_ref *b)
{
    return str_eq(a->registry, b->registry) &&
           str_eq(a->repository, b->repository) && str_eq(a->tag, b->tag) &&
           str_eq(a->digest, b->digest);
}

static void check_round_trip(const struct wl_oci_ref *ref)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_oci_ref *again = NULL;
    char *canonical = wl_oci_ref_string(ref);
    char *canonical2 = NULL;

    if (!canonical)
        return; /* out of memory */
    if (!ref->registry || !ref->repository || (!ref->tag && !ref->digest))
        abort(); /* a parsed reference always names an image version */
    if (wl_oci_ref_parse(canonical, &again, &err) < 0)
        abort(); /* the canonical form must parse */
    if (!ref_eq(ref, again))
        abort();
    canonical2 = wl_oci_ref_string(again);
    if (canonical2 && strcmp(canonical, canonical2) != 0)
        abort();
    free(canonical2);
    free(canonical);
    wl_oci_ref_free(again);
    wl_error_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    struct wl_error err = WL_ERROR_INIT;
    struct wl_oci_ref *sentinel = (struct wl_oci_ref *)&err;
    struct wl_oci_ref *ref = sentinel;
    if (wl_oci_ref_parse(s, &ref, &err) == 0) {
        if (!ref || ref == sentinel || err.msg)
            abort();
        check_round_trip(ref);
        (void)wl_oci_ref_api_host(ref);
        wl_oci_ref_free(ref);
    } else if (!err.msg || ref != sentinel) {
        abort(); /* every failure says why and leaves ret alone */
    }
    wl_error_clear(&err);
    free(s);
    return 0;
}
