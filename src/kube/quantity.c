#include "kube/quantity.h"

#include <stdbool.h>
#include <string.h>

typedef unsigned __int128 u128;

/* Large enough that any value we accept fits, small enough that the
 * arithmetic below cannot overflow u128 (10^18 * 1024^6 < 2^121). */
static const u128 mantissa_cap = (u128)1000000000000000000ULL;

struct suffix {
    const char *name;
    unsigned base; /* 2 or 10 */
    int exp;       /* power of 1024 (base 2) or of 10 (base 10) */
};

static const struct suffix suffixes[] = {
    {"Ki", 2, 1}, {"Mi", 2, 2}, {"Gi", 2, 3}, {"Ti", 2, 4}, {"Pi", 2, 5},
    {"Ei", 2, 6}, {"n", 10, -9}, {"u", 10, -6}, {"m", 10, -3}, {"", 10, 0},
    {"k", 10, 3}, {"M", 10, 6},  {"G", 10, 9},  {"T", 10, 12}, {"P", 10, 15},
    {"E", 10, 18},
};

static int parse_exponent(const char *s, int *ret)
{
    bool neg = false;
    int v = 0;

    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 100)
            return -1;
        v = v * 10 + (*s - '0');
    }
    *ret = neg ? -v : v;
    return 0;
}

static int parse_suffix(const char *s, unsigned *base, int *exp)
{
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        if (strcmp(s, suffixes[i].name) == 0) {
            *base = suffixes[i].base;
            *exp = suffixes[i].exp;
            return 0;
        }
    }
    if (s[0] == 'e' || s[0] == 'E') {
        *base = 10;
        return parse_exponent(s + 1, exp);
    }
    return -1;
}

/* Parses s and returns its value times 10^extra_exp10, rounded up: 0 for
 * plain units (bytes), 3 for thousandths (millicores). */
static int parse_scaled(const char *s, int extra_exp10, int64_t *ret,
                        struct wl_error *err)
{
    size_t len = strnlen(s, WL_QUANTITY_MAX_LEN + 1);
    if (len == 0)
        return wl_error_set(err, 0, "empty quantity");
    if (len > WL_QUANTITY_MAX_LEN)
        return wl_error_set(err, 0, "quantity longer than %d characters",
                            WL_QUANTITY_MAX_LEN);

    const char *p = s;
    bool neg = false;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';

    /* mantissa = all digits, scale = digits after the point. Digits beyond
     * what fits are only accepted when zero after the point. */
    u128 mantissa = 0;
    int scale = 0, digits = 0;
    bool point = false;
    for (; (*p >= '0' && *p <= '9') || *p == '.'; p++) {
        if (*p == '.') {
            if (point)
                return wl_error_set(err, 0, "quantity \"%s\": two points", s);
            point = true;
            continue;
        }
        digits++;
        if (mantissa >= mantissa_cap) {
            if (!point)
                return wl_error_set(err, 0, "quantity \"%s\" is too large", s);
            continue; /* drop precision past 10^18: rounds down here */
        }
        mantissa = mantissa * 10 + (u128)(*p - '0');
        if (point)
            scale++;
    }
    if (digits == 0)
        return wl_error_set(err, 0, "quantity \"%s\" has no number", s);

    unsigned base;
    int exp;
    if (parse_suffix(p, &base, &exp) < 0)
        return wl_error_set(err, 0, "quantity \"%s\": unknown suffix \"%s\"", s,
                            p);
    if (neg && mantissa != 0)
        return wl_error_set(err, 0, "quantity \"%s\" is negative", s);

    /* value = mantissa * 1024^exp / 10^scale (binary suffix) or
     * mantissa * 10^(exp - scale) (decimal), rounded up. */
    u128 num = mantissa, den = 1;
    if (base == 2) {
        for (; exp > 0; exp--)
            num *= 1024;
    }
    /* From here on exp is a power of ten for either base. */
    exp += extra_exp10 - scale;
    int down = exp < 0 ? -exp : 0;
    for (; exp > 0; exp--) {
        num *= 10;
        if (num > (u128)INT64_MAX * 1000)
            return wl_error_set(err, 0, "quantity \"%s\" is too large", s);
    }
    for (; down > 0; down--) {
        den *= 10;
        if (den > mantissa_cap * 10) {
            /* The divisor outgrew every possible numerator: the value is a
             * positive fraction of a byte, or zero. */
            *ret = num ? 1 : 0;
            return 0;
        }
    }
    u128 v = (num + den - 1) / den;
    if (v > (u128)INT64_MAX)
        return wl_error_set(err, 0, "quantity \"%s\" is too large", s);
    *ret = (int64_t)v;
    return 0;
}

int wl_quantity_parse_bytes(const char *s, int64_t *ret, struct wl_error *err)
{
    return parse_scaled(s, 0, ret, err);
}

int wl_quantity_parse_millis(const char *s, int64_t *ret, struct wl_error *err)
{
    return parse_scaled(s, 3, ret, err);
}
