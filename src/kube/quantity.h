/* Kubernetes resource quantities ("128Mi", "1G", "1.5Gi", "2e3", "500m").
 *
 * The grammar is that of k8s.io/apimachinery's resource.Quantity: a signed
 * decimal number, then a binary suffix (Ki Mi Gi Ti Pi Ei), a decimal suffix
 * (n u m "" k M G T P E) or a decimal exponent (e3, E-2).
 */
#ifndef WL_KUBE_QUANTITY_H
#define WL_KUBE_QUANTITY_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* Longest quantity string accepted; longer input is an error, not a scan. */
#define WL_QUANTITY_MAX_LEN 64

/* Parses s as an amount of bytes, rounding a fractional result up to the
 * next byte as Kubernetes' Quantity.Value() does. Negative amounts, amounts
 * above INT64_MAX and malformed strings are errors that quote the input. */
int wl_quantity_parse_bytes(const char *s, int64_t *ret, struct wl_error *err);

/* Parses s as thousandths of its unit, as Quantity.MilliValue() does: CPU
 * "500m" is 500, "2" is 2000, "0.5" is 500, "1u" rounds up to 1. Errors as
 * wl_quantity_parse_bytes(). */
int wl_quantity_parse_millis(const char *s, int64_t *ret, struct wl_error *err);

#endif
