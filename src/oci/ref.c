/* Image references, following the grammar of the distribution project's
 * `reference` package (the one Docker, containerd and the kubelet's image
 * code use):
 *
 *   reference    := name [ ":" tag ] [ "@" digest ]
 *   name         := [ domain "/" ] path
 *   domain       := host [ ":" port ]
 *   host         := domain-name | "[" IPv6 "]"      (IPv4 is a domain-name)
 *   domain-name  := component ( "." component )*
 *   component    := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 *   path         := path-component ( "/" path-component )*
 *   path-component := [a-z0-9]+ ( separator [a-z0-9]+ )*
 *   separator    := "." | "_" | "__" | "-"+
 *   tag          := [\w][\w.-]{0,127}
 *   digest       := "sha256:" [0-9a-f]{64}
 *
 * and normalising as Docker's ParseNormalizedNamed does (docker.io default,
 * "library/" for official images, "latest" when nothing pins a version).
 *
 * The parser works on spans of the input and allocates only once the whole
 * reference is known to be valid, so no failure path has anything to free.
 */
#include "oci/ref.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/hex.h"

/* Docker's NameTotalLengthMax: the normalised "registry/repository". */
#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128
#define SHA256_HEX_LEN 64
/* How much of an over-long input an error message quotes. */
#define QUOTE_OVERLONG_LEN 64

#define DOCKER_HUB "docker.io"
#define DOCKER_HUB_LEGACY "index.docker.io"
#define DOCKER_HUB_API "registry-1.docker.io"
#define OFFICIAL_PREFIX "library/"
#define DEFAULT_TAG "latest"

/* A piece of the input; not NUL-terminated. */
struct span {
    const char *p;
    size_t n;
};

struct parse {
    const char *s;
    size_t len; /* strnlen(s, WL_OCI_REF_MAX_LEN + 1) */
    struct wl_error *err;
};

/* The locale-independent character classes of the grammar (no <ctype.h>:
 * its answers depend on the locale and it is undefined for negative chars).
 */
static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool is_alnum(char c)
{
    return is_digit(c) || is_lower(c) || is_upper(c);
}

static bool is_lower_alnum(char c)
{
    return is_digit(c) || is_lower(c);
}

static bool is_word(char c)
{
    return is_alnum(c) || c == '_';
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool span_eq(struct span a, const char *lit)
{
    size_t n = strlen(lit);
    return a.n == n && memcmp(a.p, lit, n) == 0;
}

/* s[0..n) with '"', '\\' and non-printable bytes escaped, so an error
 * message stays one readable line whatever the input held; "..." marks a
 * truncated quote. NULL when out of memory. */
static char *quote_input(const char *s, size_t n, bool truncated)
{
    char *q = malloc(n * 4 + sizeof("..."));
    size_t o = 0;

    if (!q)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            q[o++] = '\\';
            q[o++] = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            q[o++] = '\\';
            q[o++] = 'x';
            wl_hex_encode(&c, 1, q + o); /* its NUL is overwritten */
            o += 2;
        } else {
            q[o++] = (char)c;
        }
    }
    if (truncated) {
        memcpy(q + o, "...", 3);
        o += 3;
    }
    q[o] = '\0';
    return q;
}

/* Sets "invalid reference \"<input>\": <reason>". Returns -1. Reasons only
 * ever embed pieces of the input whose characters were already checked, so
 * the quoted input is the one place raw bytes reach the message. */
__attribute__((format(printf, 2, 3))) static int fail(const struct parse *ps,
                                                      const char *fmt, ...)
{
    bool overlong = ps->len > WL_OCI_REF_MAX_LEN;
    _cleanup_free_ char *reason = NULL;
    _cleanup_free_ char *quoted = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&reason, fmt, ap) < 0)
        reason = NULL;
    va_end(ap);
    quoted =
        quote_input(ps->s, overlong ? QUOTE_OVERLONG_LEN : ps->len, overlong);
    if (!reason || !quoted)
        return wl_error_set(ps->err, ENOMEM, "parse reference");
    return wl_error_set(ps->err, 0, "invalid reference \"%s\": %s", quoted,
                        reason);
}

/* component ( "." component )*, each component alphanumeric at both ends
 * with dashes allowed inside. */
static bool valid_host_name(struct span h)
{
    size_t i = 0;

    while (i < h.n) {
        size_t start = i;
        while (i < h.n && (is_alnum(h.p[i]) || h.p[i] == '-'))
            i++;
        if (i == start || h.p[start] == '-' || h.p[i - 1] == '-')
            return false;
        if (i == h.n)
            return true;
        if (h.p[i] != '.')
            return false;
        i++; /* a trailing '.' leaves i == h.n and fails below */
    }
    return false;
}

/* The inside of "[...]". The distribution grammar only asks for
 * [a-fA-F0-9:]+; inet_pton() also rejects nonsense such as ":::". */
static bool valid_ipv6(struct span a)
{
    char buf[INET6_ADDRSTRLEN];
    struct in6_addr addr;

    if (a.n == 0 || a.n >= sizeof(buf))
        return false;
    for (size_t i = 0; i < a.n; i++) {
        if (!is_hex(a.p[i]) && a.p[i] != ':')
            return false;
    }
    memcpy(buf, a.p, a.n);
    buf[a.n] = '\0';
    return inet_pton(AF_INET6, buf, &addr) == 1;
}

/* Decimal 1..65535. The grammar allows any digits; a port outside that
 * range can never be reached, so saying so here beats a connect error. */
static bool valid_port(struct span p)
{
    unsigned long v = 0;

    if (p.n == 0 || p.n > 5)
        return false;
    for (size_t i = 0; i < p.n; i++) {
        if (!is_digit(p.p[i]))
            return false;
        v = v * 10 + (unsigned long)(p.p[i] - '0');
    }
    return v >= 1 && v <= 65535;
}

static int check_domain(const struct parse *ps, struct span d)
{
    size_t host_n;

    if (d.p[0] == '[') {
        const char *close = memchr(d.p, ']', d.n);
        if (!close)
            return fail(ps, "unterminated '[' in registry");
        host_n = (size_t)(close - d.p) + 1;
        if (!valid_ipv6((struct span){d.p + 1, host_n - 2}))
            return fail(ps, "invalid IPv6 address in registry");
    } else {
        const char *colon = memchr(d.p, ':', d.n);
        host_n = colon ? (size_t)(colon - d.p) : d.n;
        if (!valid_host_name((struct span){d.p, host_n}))
            return fail(ps, "invalid registry host");
    }
    if (host_n == d.n)
        return 0;
    if (d.p[host_n] != ':')
        return fail(ps, "invalid registry host");
    if (!valid_port((struct span){d.p + host_n + 1, d.n - host_n - 1}))
        return fail(ps, "invalid registry port (want 1-65535)");
    return 0;
}

/* alnum+ ( separator alnum+ )* with separator "." | "_" | "__" | "-"+. */
static bool valid_path_component(struct span c)
{
    size_t i = 0;

    for (;;) {
        size_t start = i;
        while (i < c.n && is_lower_alnum(c.p[i]))
            i++;
        if (i == start)
            return false;
        if (i == c.n)
            return true;
        if (c.p[i] == '.') {
            i++;
        } else if (c.p[i] == '_') {
            i++;
            if (i < c.n && c.p[i] == '_')
                i++;
        } else if (c.p[i] == '-') {
            while (i < c.n && c.p[i] == '-')
                i++;
        } else {
            return false;
        }
    }
}

static int check_path(const struct parse *ps, struct span path)
{
    bool upper = false;
    bool other = false;

    for (size_t i = 0; i < path.n; i++) {
        char c = path.p[i];
        if (is_upper(c))
            upper = true;
        else if (!is_lower_alnum(c) && !strchr("._-/", c))
            other = true;
    }
    /* Docker says this one first: "Foo" is the commonest mistake. */
    if (upper)
        return fail(ps, "repository name must be lowercase");
    if (other)
        return fail(ps, "invalid character in repository name");

    /* Only [a-z0-9._-] remain, so a component can be quoted as is. */
    const char *end = path.p + path.n;
    for (const char *c = path.p; c < end;) {
        const char *slash = memchr(c, '/', (size_t)(end - c));
        size_t n = slash ? (size_t)(slash - c) : (size_t)(end - c);
        if (!valid_path_component((struct span){c, n}))
            return fail(ps,
                        "invalid repository name component \"%.*s\" "
                        "(lowercase letters and digits, separated by '.', "
                        "'_', '__' or dashes)",
                        (int)n, c);
        c += n + 1;
    }
    return 0;
}

static int check_tag(const struct parse *ps, struct span t)
{
    if (t.n == 0)
        return fail(ps, "empty tag");
    if (t.n > TAG_MAX_LEN)
        return fail(ps, "tag longer than %d characters", TAG_MAX_LEN);
    bool ok = is_word(t.p[0]);
    for (size_t i = 1; ok && i < t.n; i++)
        ok = is_word(t.p[i]) || t.p[i] == '.' || t.p[i] == '-';
    if (!ok)
        return fail(ps, "invalid tag (letters, digits, '_', '.' and '-', "
                        "not starting with '.' or '-')");
    return 0;
}

/* The algorithm grammar of the OCI image spec: [a-z0-9]+ joined by
 * [+._-]. Used only to tell "an algorithm we do not support" (which can be
 * quoted safely) from garbage. */
static bool plausible_algorithm(struct span a)
{
    if (a.n == 0 || a.n > 32)
        return false;
    for (size_t i = 0; i < a.n; i++) {
        char c = a.p[i];
        if (is_lower_alnum(c))
            continue;
        if (!strchr("+._-", c) || i == 0 || i == a.n - 1 ||
            !is_lower_alnum(a.p[i - 1]))
            return false;
    }
    return true;
}

static int check_digest(const struct parse *ps, struct span d)
{
    if (d.n == 0)
        return fail(ps, "empty digest");
    const char *colon = memchr(d.p, ':', d.n);
    if (!colon)
        return fail(ps, "invalid digest (want sha256:<64 hex characters>)");
    struct span algo = {d.p, (size_t)(colon - d.p)};
    struct span hex = {colon + 1, d.n - algo.n - 1};
    if (!span_eq(algo, "sha256")) {
        if (plausible_algorithm(algo))
            return fail(ps,
                        "unsupported digest algorithm \"%.*s\" (only sha256)",
                        (int)algo.n, algo.p);
        return fail(ps, "invalid digest (want sha256:<64 hex characters>)");
    }
    bool ok = hex.n == SHA256_HEX_LEN;
    for (size_t i = 0; ok && i < hex.n; i++)
        ok = is_digit(hex.p[i]) || (hex.p[i] >= 'a' && hex.p[i] <= 'f');
    if (!ok)
        return fail(ps,
                    "invalid digest (sha256 takes exactly %d lowercase "
                    "hex characters)",
                    SHA256_HEX_LEN);
    return 0;
}

/* Docker refuses a bare image ID where a name is expected, since pulling
 * "<64 hex>" from Docker Hub is never what was meant. */
static bool is_image_id(const struct parse *ps)
{
    if (ps->len != SHA256_HEX_LEN)
        return false;
    for (size_t i = 0; i < ps->len; i++) {
        if (!is_digit(ps->s[i]) && !(ps->s[i] >= 'a' && ps->s[i] <= 'f'))
            return false;
    }
    return true;
}

/* The leading component is a registry when it looks like a host: it has a
 * '.' or a ':' (port, IPv6) or is "localhost" (Docker's splitDockerDomain;
 * unlike newer Docker, an uppercase component is not taken for a host, so
 * "Foo/bar" fails as not lowercase instead of naming a registry "Foo").
 * A leading '[' can only have meant an IPv6 host, so it counts too and gets
 * the IPv6 error rather than a path one. */
static bool looks_like_domain(struct span c)
{
    return memchr(c.p, '.', c.n) || memchr(c.p, ':', c.n) ||
           span_eq(c, "localhost") || c.p[0] == '[';
}

static char *span_dup(struct span s)
{
    return strndup(s.p, s.n);
}

static void wl_oci_ref_freep(struct wl_oci_ref **p)
{
    wl_oci_ref_free(*p);
}

/* Builds the result from validated pieces, taking *registry. tag.p and
 * digest.p are NULL when absent. */
static int build(const struct parse *ps, char **registry, struct span path,
                 bool official, struct span tag, struct span digest,
                 struct wl_oci_ref **ret)
{
    _cleanup_(wl_oci_ref_freep) struct wl_oci_ref *ref =
        calloc(1, sizeof(*ref));
    size_t prefix = official ? strlen(OFFICIAL_PREFIX) : 0;

    if (!ref)
        return wl_error_set(ps->err, ENOMEM, "parse reference");
    ref->registry = TAKE_PTR(*registry);
    ref->repository = malloc(prefix + path.n + 1);
    if (!ref->repository)
        return wl_error_set(ps->err, ENOMEM, "parse reference");
    memcpy(ref->repository, OFFICIAL_PREFIX, prefix);
    memcpy(ref->repository + prefix, path.p, path.n);
    ref->repository[prefix + path.n] = '\0';
    if (tag.p) {
        if (!(ref->tag = span_dup(tag)))
            return wl_error_set(ps->err, ENOMEM, "parse reference");
    } else if (!digest.p) {
        if (!(ref->tag = strdup(DEFAULT_TAG)))
            return wl_error_set(ps->err, ENOMEM, "parse reference");
    }
    if (digest.p && !(ref->digest = span_dup(digest)))
        return wl_error_set(ps->err, ENOMEM, "parse reference");
    *ret = TAKE_PTR(ref);
    return 0;
}

/* Checks the name's slashes; the messages name the mistake rather than
 * leaving it to the component grammar. */
static int check_slashes(const struct parse *ps, struct span name)
{
    if (name.n == 0)
        return fail(ps, "missing repository name");
    if (name.p[0] == '/')
        return fail(ps, "name starts with '/'");
    if (name.p[name.n - 1] == '/')
        return fail(ps, "name ends with '/'");
    if (memmem(name.p, name.n, "//", 2))
        return fail(ps, "empty path component ('//')");
    return 0;
}

int wl_oci_ref_parse(const char *s, struct wl_oci_ref **ret,
                     struct wl_error *err)
{
    if (!s)
        return wl_error_set(err, EINVAL, "parse reference: no reference");

    struct parse ps = {s, strnlen(s, WL_OCI_REF_MAX_LEN + 1), err};
    if (ps.len > WL_OCI_REF_MAX_LEN)
        return fail(&ps, "longer than %d characters", WL_OCI_REF_MAX_LEN);
    if (ps.len == 0)
        return fail(&ps, "empty");
    if (is_image_id(&ps))
        return fail(&ps, "a 64-character hexadecimal string is an image ID, "
                         "not a repository name");

    /* The name cannot hold '@', so the first one starts the digest; the
     * tag is after the last ':' that follows the last '/' (an earlier ':'
     * is a registry port). */
    struct span name = {s, ps.len};
    struct span tag = {NULL, 0}, digest = {NULL, 0};
    const char *at = memchr(s, '@', ps.len);
    if (at) {
        digest = (struct span){at + 1, ps.len - (size_t)(at - s) - 1};
        name.n = (size_t)(at - s);
    }
    const char *colon = memrchr(name.p, ':', name.n);
    const char *slash = memrchr(name.p, '/', name.n);
    if (colon && (!slash || colon > slash)) {
        tag = (struct span){colon + 1, name.n - (size_t)(colon - s) - 1};
        name.n = (size_t)(colon - s);
    }
    if (check_slashes(&ps, name) < 0)
        return -1;

    /* Split off the registry. */
    bool hub = true;
    struct span path = name;
    const char *first = memchr(name.p, '/', name.n);
    struct span domain = {name.p, first ? (size_t)(first - name.p) : 0};
    if (first && looks_like_domain(domain)) {
        if (check_domain(&ps, domain) < 0)
            return -1;
        path = (struct span){first + 1, name.n - domain.n - 1};
        hub = span_eq(domain, DOCKER_HUB) || span_eq(domain, DOCKER_HUB_LEGACY);
    }
    if (check_path(&ps, path) < 0)
        return -1;

    /* Docker Hub's official images live under "library/". The limit is on
     * the normalised name, as in Docker, so the canonical string of
     * anything accepted parses again. */
    bool official = hub && !memchr(path.p, '/', path.n);
    size_t name_n = (hub ? strlen(DOCKER_HUB) : domain.n) + 1 +
                    (official ? strlen(OFFICIAL_PREFIX) : 0) + path.n;
    if (name_n > NAME_MAX_LEN)
        return fail(&ps,
                    "repository name must not be more than %d "
                    "characters",
                    NAME_MAX_LEN);
    if (tag.p && check_tag(&ps, tag) < 0)
        return -1;
    if (digest.p && check_digest(&ps, digest) < 0)
        return -1;

    _cleanup_free_ char *registry = hub ? strdup(DOCKER_HUB) : span_dup(domain);
    if (!registry)
        return wl_error_set(err, ENOMEM, "parse reference");
    return build(&ps, &registry, path, official, tag, digest, ret);
}

void wl_oci_ref_free(struct wl_oci_ref *ref)
{
    if (!ref)
        return;
    free(ref->registry);
    free(ref->repository);
    free(ref->tag);
    free(ref->digest);
    free(ref);
}

char *wl_oci_ref_string(const struct wl_oci_ref *ref)
{
    char *s = NULL;

    if (!ref || !ref->registry || !ref->repository)
        return NULL;
    if (asprintf(&s, "%s/%s%s%s%s%s", ref->registry, ref->repository,
                 ref->tag ? ":" : "", ref->tag ? ref->tag : "",
                 ref->digest ? "@" : "", ref->digest ? ref->digest : "") < 0)
        return NULL;
    return s;
}

const char *wl_oci_ref_api_host(const struct wl_oci_ref *ref)
{
    if (!ref || !ref->registry)
        return NULL;
    /* docker.io is Docker Hub's name, not its registry API endpoint. */
    if (strcmp(ref->registry, DOCKER_HUB) == 0)
        return DOCKER_HUB_API;
    return ref->registry;
}
