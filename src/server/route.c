#include "server/route.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/time.h"

/* Decodes %XX (and, in a query, '+' as a space) from src[0..len) into dst
 * (size cap, NUL-terminated). -2 on a bad escape (not % and two hex
 * digits: 400, as Go's URL parsing), -1 on a NUL byte or no room. */
static int unescape(const char *src, size_t len, bool query, char *dst,
                    size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)src[i];
        if (c == '%') {
            if (i + 2 >= len || !isxdigit((unsigned char)src[i + 1]) ||
                !isxdigit((unsigned char)src[i + 2]))
                return -2;
            char hex[3] = {src[i + 1], src[i + 2], 0};
            c = (int)strtol(hex, NULL, 16);
            i += 2;
        } else if (c == '+' && query) {
            c = ' ';
        }
        if (c == 0 || o + 1 >= cap)
            return -1;
        dst[o++] = (char)c;
    }
    dst[o] = 0;
    return 0;
}

/* A DNS-1123 label (max 63) or, subdomain, dot-separated labels (max
 * 253): what the API allows for namespaces, pods and containers. */
static bool dns_name(const char *s, size_t max, bool subdomain)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (alnum)
            continue;
        if (c == '-' && i > 0 && i + 1 < n && s[i - 1] != '.' &&
            s[i + 1] != '.')
            continue;
        if (c == '.' && subdomain && i > 0 && i + 1 < n && s[i - 1] != '.')
            continue;
        return false;
    }
    return true;
}

/* Go's strconv.ParseBool, which the API's query decoding uses. */
static int parse_bool(const char *v, bool *ret)
{
    static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
        if (!strcmp(v, yes[i]))
            return *ret = true, 0;
        if (!strcmp(v, no[i]))
            return *ret = false, 0;
    }
    return -1;
}

static int parse_int(const char *v, int64_t *ret)
{
    if (!*v || (!isdigit((unsigned char)*v) && *v != '-'))
        return -1;
    errno = 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (errno || *end)
        return -1;
    *ret = n;
    return 0;
}

static const char *verb_of(const char *method)
{
    static const struct {
        const char *method, *verb;
    } verbs[] = {{"GET", "get"},     {"HEAD", "get"},
                 {"POST", "create"}, {"PUT", "update"},
                 {"PATCH", "patch"}, {"DELETE", "delete"}};
    for (size_t i = 0; i < sizeof(verbs) / sizeof(*verbs); i++)
        if (!strcmp(method, verbs[i].method))
            return verbs[i].verb;
    return NULL;
}

/* One query parameter of /containerLogs. */
static int log_param(struct wl_route *r, const char *k, const char *v,
                     struct wl_error *err)
{
    int64_t n;
    if (!strcmp(k, "follow") || !strcmp(k, "previous") ||
        !strcmp(k, "timestamps")) {
        bool b;
        if (parse_bool(v, &b) < 0)
            return wl_error_set(err, 0, "%s: invalid boolean \"%s\"", k, v);
        *(!strcmp(k, "follow")     ? &r->follow
          : !strcmp(k, "previous") ? &r->previous
                                   : &r->timestamps) = b;
    } else if (!strcmp(k, "tailLines")) {
        if (parse_int(v, &n) < 0 || n < 0 || n > LONG_MAX)
            return wl_error_set(err, 0,
                                "tailLines: must be an integer >= 0, "
                                "not \"%s\"", v);
        r->tail_lines = (long)n;
    } else if (!strcmp(k, "sinceSeconds")) {
        if (parse_int(v, &n) < 0 || n < 1)
            return wl_error_set(err, 0,
                                "sinceSeconds: must be an integer >= 1, "
                                "not \"%s\"", v);
        r->since_seconds = n;
    } else if (!strcmp(k, "limitBytes")) {
        if (parse_int(v, &n) < 0 || n < 1)
            return wl_error_set(err, 0,
                                "limitBytes: must be an integer >= 1, "
                                "not \"%s\"", v);
        r->limit_bytes = n;
    } else if (!strcmp(k, "sinceTime")) {
        time_t t;
        if (wl_time_parse(v, &t) < 0)
            return wl_error_set(err, 0,
                                "sinceTime: \"%s\" is not an RFC 3339 time", v);
        r->since_time = t > 0 ? (int64_t)t : 1;
    }
    /* Anything else is ignored, as the kubelet does. */
    return 0;
}

static int parse_query(struct wl_route *r, const char *q, struct wl_error *err)
{
    char key[64], val[256];
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        size_t klen = eq ? (size_t)(eq - q) : len;
        if (len > 0) {
            if (unescape(q, klen, true, key, sizeof(key)) < 0)
                return wl_error_set(err, 0, "bad query parameter name");
            const char *vs = eq ? eq + 1 : q + len;
            if (unescape(vs, (size_t)(q + len - vs), true, val, sizeof(val)) < 0)
                return wl_error_set(err, 0, "bad value of query parameter %s",
                                    key);
            if (r->kind == WL_ROUTE_CONTAINER_LOGS &&
                log_param(r, key, val, err) < 0)
                return -1;
        }
        q = amp ? amp + 1 : NULL;
    }
    if (r->since_seconds && r->since_time)
        return wl_error_set(err, 0, "at most one of sinceTime or "
                                    "sinceSeconds may be specified");
    return 0;
}

#define MAX_SEGS 8

/* Splits path (no query) into decoded segments: "/a/b/" is a, b. -2 on a
 * bad escape, -1 when it cannot name anything we serve. */
static int split_path(const char *path, size_t len, char segs[][256],
                      size_t *nsegs)
{
    size_t n = 0, i = 0;
    while (i < len) {
        while (i < len && path[i] == '/')
            i++;
        if (i >= len)
            break;
        size_t j = i;
        while (j < len && path[j] != '/')
            j++;
        if (n == MAX_SEGS)
            return -1;
        int rc = unescape(path + i, j - i, false, segs[n], 256);
        if (rc < 0)
            return rc;
        n++;
        i = j;
    }
    *nsegs = n;
    return 0;
}

static const struct {
    const char *prefix, *what;
} unsupported[] = {
    {"exec", "exec"},
    {"attach", "attach"},
    {"portForward", "port forwarding"},
    {"run", "run"},
    {"cri", "exec"},
};

int wl_route_parse(const char *method, const char *target,
                   struct wl_route *ret, struct wl_error *err)
{
    struct wl_route r = {.tail_lines = -1};
    size_t tlen = strlen(target);
    if (tlen > WL_ROUTE_MAX_TARGET) {
        wl_error_set(err, 0, "request URI too long");
        return 414;
    }
    if (target[0] != '/') {
        wl_error_set(err, 0, "the request target must be a path");
        return 400;
    }
    const char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : tlen;
    char segs[MAX_SEGS][256];
    size_t n;
    int rc = split_path(target, plen, segs, &n);
    if (rc == -2) {
        wl_error_set(err, 0, "invalid URL escape in the path");
        return 400;
    }
    if (rc < 0) {
        wl_error_set(err, 0, "the path is not valid");
        return 404;
    }
    r.verb = verb_of(method);
    if (!r.verb) {
        wl_error_set(err, 0, "method %.16s is not allowed", method);
        return 405;
    }

    /* The kubelet's authorization subresource: by path prefix. */
    const char *first = n ? segs[0] : "";
    r.subresource = !strcmp(first, "stats")     ? "stats"
                    : !strcmp(first, "metrics") ? "metrics"
                    : !strcmp(first, "logs")    ? "log"
                                                : "proxy";
    bool get = !strcmp(r.verb, "get");

    if (!strcmp(first, "healthz") &&
        (n == 1 || (n == 2 && (!strcmp(segs[1], "ping") ||
                               !strcmp(segs[1], "syncloop") ||
                               !strcmp(segs[1], "log"))))) {
        r.kind = WL_ROUTE_HEALTHZ;
    } else if (!strcmp(first, "pods") && n == 1) {
        r.kind = WL_ROUTE_PODS;
    } else if (!strcmp(first, "metrics") && n == 1) {
        r.kind = WL_ROUTE_METRICS;
    } else if (!strcmp(first, "metrics") && n == 2 &&
               !strcmp(segs[1], "resource")) {
        r.kind = WL_ROUTE_METRICS_RESOURCE;
    } else if (!strcmp(first, "stats") && n == 2 &&
               !strcmp(segs[1], "summary")) {
        r.kind = WL_ROUTE_STATS_SUMMARY;
    } else if (!strcmp(first, "containerLogs") && n == 4) {
        r.kind = WL_ROUTE_CONTAINER_LOGS;
    } else {
        size_t i;
        for (i = 0; i < sizeof(unsupported) / sizeof(*unsupported); i++)
            if (!strcmp(first, unsupported[i].prefix))
                break;
        if (i == sizeof(unsupported) / sizeof(*unsupported) || n < 3) {
            wl_error_set(err, 0, "the server could not find the requested "
                                 "resource");
            return 404;
        }
        /* /exec/{ns}/{pod}/{container} or /exec/{ns}/{pod}/{uid}/{c} */
        r.kind = WL_ROUTE_UNSUPPORTED;
        r.what = unsupported[i].what;
        get = true; /* any method: the answer is the same */
    }
    if (!get) {
        wl_error_set(err, 0, "method %s is not allowed on this path", method);
        return 405;
    }
    if (r.kind == WL_ROUTE_CONTAINER_LOGS || r.kind == WL_ROUTE_UNSUPPORTED) {
        const char *c = n >= 4 ? segs[n - 1] : "";
        if (!dns_name(segs[1], 63, false) || !dns_name(segs[2], 253, true) ||
            (*c && !dns_name(c, 63, false))) {
            wl_error_set(err, 0, "no such container: the namespace, pod or "
                                 "container name is not valid");
            return 404;
        }
        /* Lengths checked by dns_name() against each field's size. */
        memcpy(r.namespace_, segs[1], strlen(segs[1]) + 1);
        memcpy(r.pod, segs[2], strlen(segs[2]) + 1);
        memcpy(r.container, c, strlen(c) + 1);
    }
    if (q && parse_query(&r, q + 1, err) < 0)
        return 400;
    *ret = r;
    return 0;
}
