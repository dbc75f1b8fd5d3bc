#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kube/kubeconfig.h"
#include "test.h"
#include "util/fileio.h"

static char dir[] = "/tmp/wl-test-kubeconfig-XXXXXX";

/* PEM-looking fixtures and their base64 (from `base64 -w0`); between them
 * they end in each of the three base64 padding cases. */
#define CA_PEM "-----BEGIN CERTIFICATE-----\nY2EK\n-----END CERTIFICATE-----\n"
#define CA_B64                                                                 \
    "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClkyRUsKLS0tLS1FTkQgQ0VSVElGSUNBVEU"  \
    "tLS0tLQo="
#define CERT_PEM                                                               \
    "-----BEGIN CERTIFICATE-----\nY2xpZW50Cg==\n-----END CERTIFICATE-----\n"
#define CERT_B64                                                               \
    "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClkyeHBaVzUwQ2c9PQotLS0tLUVORCBDRVJ"  \
    "USUZJQ0FURS0tLS0tCg=="
#define KEY_PEM                                                                \
    "-----BEGIN PRIVATE KEY-----\na2V5Cg==\n-----END PRIVATE KEY-----\n"
#define KEY_B64                                                                \
    "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCmEyVjVDZz09Ci0tLS0tRU5EIFBSSVZBVEU"  \
    "gS0VZLS0tLS0K"

/* A formatted string in one of a ring of static buffers: the strings of
 * one check stay valid well after it. */
static const char *fmt(const char *f, ...)
{
    static char bufs[32][4096];
    static unsigned next;
    char *b = bufs[next++ % 32];
    va_list ap;

    va_start(ap, f);
    (void)vsnprintf(b, sizeof(bufs[0]), f, ap);
    va_end(ap);
    return b;
}

/* dir/name, creating directories on the way. */
static const char *path_in_dir(const char *name)
{
    for (const char *slash = name; (slash = strchr(slash, '/')); slash++) {
        char sub[512];
        (void)snprintf(sub, sizeof(sub), "%s/%.*s", dir, (int)(slash - name),
                       name);
        (void)mkdir(sub, 0700);
    }
    return fmt("%s/%s", dir, name);
}

static void write_text(const char *name, const char *text)
{
    struct wl_error err = WL_ERROR_INIT;
    const char *p = path_in_dir(name);
    if (wl_file_write_atomic(AT_FDCWD, p, text, strlen(text), 0600, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
}

/* Writes yaml to dir/name and loads it. */
static int load_text(const char *name, const char *yaml, const char *context,
                     struct wl_kubeconfig **kc, struct wl_error *err)
{
    write_text(name, yaml);
    return wl_kubeconfig_load(path_in_dir(name), context, kc, err);
}

/* One cluster "c", one user "u", one context "ctx" using both: the
 * caller supplies the cluster's and the user's fields (indented by four
 * spaces). */
static const char *simple(const char *cluster_fields, const char *user_fields)
{
    return fmt("apiVersion: v1\n"
               "kind: Config\n"
               "clusters:\n"
               "- name: c\n"
               "  cluster:\n"
               "%s"
               "users:\n"
               "- name: u\n"
               "  user:\n"
               "%s"
               "contexts:\n"
               "- name: ctx\n"
               "  context:\n"
               "    cluster: c\n"
               "    user: u\n"
               "current-context: ctx\n",
               cluster_fields, user_fields);
}

#define SERVER "    server: https://127.0.0.1:6443\n"

/* Expects load_text() to fail with exactly the message want, leaving the
 * out-parameter alone. */
#define CHECK_LOAD_FAILS(name, yaml, context, want)                            \
    do {                                                                       \
        struct wl_error e_ = WL_ERROR_INIT;                                    \
        struct wl_kubeconfig *kc_ = (struct wl_kubeconfig *)&e_;               \
        CHECK_INT(load_text(name, yaml, context, &kc_, &e_), -1);              \
        CHECK(kc_ == (struct wl_kubeconfig *)&e_);                             \
        CHECK_STR(e_.msg, want);                                               \
        wl_error_clear(&e_);                                                   \
    } while (0)

static void test_data_fields_are_decoded(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_kubeconfig *kc = NULL;
    CHECK_INT(load_text("data/config",
                        "apiVersion: v1\n"
                        "kind: Config\n"
                        "clusters:\n"
                        "- name: c\n"
                        "  cluster:\n"
                        "    server: https://127.0.0.1:6443\n"
                        "    tls-server-name: api.example\n"
                        "    certificate-authority-data: " CA_B64 "\n"
                        "users:\n"
                        "- name: u\n"
                        "  user:\n"
                        "    client-certificate-data: " CERT_B64 "\n"
                        "    client-key-data: " KEY_B64 "\n"
                        "    token: abc.def\n"
                        "contexts:\n"
                        "- name: ctx\n"
                        "  context:\n"
                        "    cluster: c\n"
                        "    user: u\n"
                        "    namespace: team-a\n"
                        "current-context: ctx\n",
                        NULL, &kc, &err),
              0);
    CHECK(err.msg == NULL);
    CHECK_STR(kc->context, "ctx");
    CHECK_STR(kc->server, "https://127.0.0.1:6443");
    CHECK_STR(kc->tls_server_name, "api.example");
    CHECK_STR(kc->ca_pem, CA_PEM);
    CHECK_INT(kc->ca_pem_len, strlen(CA_PEM));
    CHECK_STR(kc->cert_pem, CERT_PEM);
    CHECK_INT(kc->cert_pem_len, strlen(CERT_PEM));
    CHECK_STR(kc->key_pem, KEY_PEM);
    CHECK_INT(kc->key_pem_len, strlen(KEY_PEM));
    CHECK_STR(kc->token, "abc.def");
    CHECK_STR(kc->namespace_, "team-a");
    wl_kubeconfig_free(kc);
}

static void test_optional_fields_default_to_null(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_kubeconfig *kc = NULL;
    CHECK_INT(load_text("min/config",
                        "clusters:\n"
                        "- name: c\n"
                        "  cluster:\n"
                        "    server: https://h:1\n"
                        "    tls-server-name: \"\"\n"
                        "    certificate-authority-data: null\n"
                        "contexts:\n"
                        "- name: ctx\n"
                        "  context: {cluster: c, namespace: ~}\n"
                        "current-context: ctx\n",
                        NULL, &kc, &err),
              0);
    CHECK_STR(kc->server, "https://h:1");
    CHECK(kc->tls_server_name == NULL);
    CHECK(kc->ca_pem == NULL);
    CHECK_INT(kc->ca_pem_len, 0);
    CHECK(kc->cert_pem == NULL);
    CHECK(kc->key_pem == NULL);
    CHECK(kc->token == NULL);
    CHECK(kc->namespace_ == NULL);
    wl_kubeconfig_free(kc);
}

static void test_file_fields_resolve_relative_to_kubeconfig(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_kubeconfig *kc = NULL;
    write_text("files/ca.crt", CA_PEM);
    write_text("certs/client.crt", CERT_PEM);
    write_text("certs/client.key", KEY_PEM);
    CHECK_INT(load_text("files/config",
                        simple(SERVER "    certificate-authority: ca.crt\n",
                               fmt("    client-certificate: ../certs/"
                                   "client.crt\n"
                                   "    client-key: %s/certs/client.key\n",
                                   dir)),
                        NULL, &kc, &err),
              0);
    CHECK_STR(kc->ca_pem, CA_PEM);
    CHECK_INT(kc->ca_pem_len, strlen(CA_PEM));
    CHECK_STR(kc->cert_pem, CERT_PEM);
    CHECK_INT(kc->cert_pem_len, strlen(CERT_PEM));
    CHECK_STR(kc->key_pem, KEY_PEM);
    CHECK_INT(kc->key_pem_len, strlen(KEY_PEM));
    CHECK(kc->token == NULL);
    wl_kubeconfig_free(kc);
}

static void test_token_file_is_read_and_trimmed(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_kubeconfig *kc = NULL;
    write_text("tok/token", " \tabcdef.0123456789abcdef\n\n");
    CHECK_INT(load_text("tok/config", simple(SERVER, "    tokenFile: token\n"),
                        NULL, &kc, &err),
              0);
    CHECK_STR(kc->token, "abcdef.0123456789abcdef");
    CHECK(kc->cert_pem == NULL);
    wl_kubeconfig_free(kc);
}

static void test_token_takes_precedence_over_token_file(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_kubeconfig *kc = NULL;
    CHECK_INT(load_text("tok2/config",
                        simple(SERVER, "    token: inline\n"
                                       "    tokenFile: does-not-exist\n"),
                        NULL, &kc, &err),
              0);
    CHECK_STR(kc->token, "inline");
    wl_kubeconfig_free(kc);
}

static void test_empty_token_file_is_refused(void)
{
    write_text("tok3/token", "\n \n");
    CHECK_LOAD_FAILS("tok3/config", simple(SERVER, "    tokenFile: token\n"),
                     NULL,
                     fmt("%s/tok3/config: user \"u\": tokenFile token is "
                         "empty",
                         dir));
}

static void test_token_with_control_characters_is_refused(void)
{
    CHECK_LOAD_FAILS("tok4/config", simple(SERVER, "    token: \"a\\r\\nb\"\n"),
                     NULL,
                     fmt("%s/tok4/config: user \"u\": token: contains control "
                         "characters",
                         dir));
}

static const char *two_contexts =
    "clusters:\n"
    "- name: prod\n"
    "  cluster: {server: https://prod:6443}\n"
    "- name: dev\n"
    "  cluster: {server: https://dev:6443}\n"
    "users:\n"
    "- name: prod-admin\n"
    "  user: {token: p}\n"
    "- name: dev-admin\n"
    "  user: {token: d}\n"
    "contexts:\n"
    "- name: prod\n"
    "  context: {cluster: prod, user: prod-admin}\n"
    "- name: dev\n"
    "  context: {cluster: dev, user: dev-admin, namespace: play}\n"
    "current-context: prod\n";

static void test_current_context_is_used(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_kubeconfig *kc = NULL;
    CHECK_INT(load_text("two/config", two_contexts, NULL, &kc, &err), 0);
    CHECK_STR(kc->context, "prod");
    CHECK_STR(kc->server, "https://prod:6443");
    CHECK_STR(kc->token, "p");
    CHECK(kc->namespace_ == NULL);
    wl_kubeconfig_free(kc);

    kc = NULL;
    CHECK_INT(load_text("two/config", two_contexts, "", &kc, &err), 0);
    CHECK_STR(kc->context, "prod");
    wl_kubeconfig_free(kc);
}

static void test_explicit_context_overrides_current_context(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_kubeconfig *kc = NULL;
    CHECK_INT(load_text("two/config", two_contexts, "dev", &kc, &err), 0);
    CHECK_STR(kc->context, "dev");
    CHECK_STR(kc->server, "https://dev:6443");
    CHECK_STR(kc->token, "d");
    CHECK_STR(kc->namespace_, "play");
    wl_kubeconfig_free(kc);
}

static void test_unknown_context_names_the_file(void)
{
    CHECK_LOAD_FAILS(
        "two/config", two_contexts, "staging",
        fmt("context \"staging\" not found in %s/two/config", dir));
}

static void test_unknown_current_context_names_the_file(void)
{
    CHECK_LOAD_FAILS("cur/config",
                     "current-context: gone\n"
                     "contexts:\n"
                     "- name: other\n"
                     "  context: {cluster: c}\n",
                     NULL,
                     fmt("context \"gone\" not found in %s/cur/config", dir));
}

static void test_no_current_context(void)
{
    CHECK_LOAD_FAILS("nocur/config",
                     "apiVersion: v1\n"
                     "kind: Config\n"
                     "clusters: []\n",
                     NULL,
                     fmt("no context given and current-context is not set in "
                         "%s/nocur/config",
                         dir));
}

static void test_missing_file_names_path_and_cause(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_kubeconfig *kc = NULL;
    CHECK_INT(wl_kubeconfig_load(path_in_dir("absent/config"), NULL, &kc, &err),
              -1);
    CHECK(kc == NULL);
    CHECK_STR(err.msg,
              fmt("open %s/absent/config: No such file or directory", dir));
    wl_error_clear(&err);
}

static void test_file_over_the_limit_is_refused(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_kubeconfig *kc = NULL;
    char *big = malloc(WL_KUBECONFIG_MAX_SIZE + 2);
    CHECK(big != NULL);
    memset(big, '#', WL_KUBECONFIG_MAX_SIZE + 1);
    big[WL_KUBECONFIG_MAX_SIZE + 1] = '\0';
    write_text("big/config", big);
    CHECK_INT(wl_kubeconfig_parse(big, WL_KUBECONFIG_MAX_SIZE + 1, NULL, NULL,
                                  &kc, &err),
              -1);
    free(big);
    CHECK_STR(err.msg,
              "kubeconfig is 1048577 bytes, over the limit of 1048576");
    CHECK_INT(wl_kubeconfig_load(path_in_dir("big/config"), NULL, &kc, &err),
              -1);
    CHECK(kc == NULL);
    CHECK_STR(err.msg, fmt("%s/big/config: 1048577 bytes is over the limit "
                           "of 1048576",
                           dir));
    wl_error_clear(&err);
}

static void test_invalid_yaml_reports_line_and_prints_nothing(void)
{
    /* libfyaml prints its diagnostics to stderr unless told otherwise. */
    const char *log = path_in_dir("stderr.log");
    int saved = dup(2);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(saved >= 0 && fd >= 0);
    (void)fflush(stderr);
    (void)dup2(fd, 2);
    close(fd);
    struct wl_error err = WL_ERROR_INIT;
    struct wl_kubeconfig *kc = NULL;
    int r1 = load_text("bad/config", "clusters:\n- name: c\n  cluster: [\n",
                       NULL, &kc, &err);
    char *msg1 = err.msg ? strdup(err.msg) : NULL;
    int r2 = load_text("bad/config", "# only a comment\n", NULL, &kc, &err);
    char *msg2 = err.msg ? strdup(err.msg) : NULL;
    (void)fflush(stderr);
    (void)dup2(saved, 2);
    close(saved);
    wl_error_clear(&err);

    struct stat st;
    CHECK_INT(stat(log, &st), 0);
    CHECK_INT(st.st_size, 0);
    CHECK_INT(r1, -1);
    CHECK_STR(msg1, fmt("%s/bad/config: invalid YAML: line 4, column 1: flow "
                        "sequence without a closing bracket",
                        dir));
    CHECK_INT(r2, -1);
    CHECK_STR(msg2, fmt("%s/bad/config: kubeconfig is empty", dir));
    CHECK(kc == NULL);
    free(msg1);
    free(msg2);
}

/* Parses len bytes of yaml without a base directory; returns the message. */
static const char *parse_error(const char *yaml, size_t len)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_kubeconfig *kc = NULL;
    if (wl_kubeconfig_parse(yaml, len, NULL, NULL, &kc, &err) == 0) {
        wl_kubeconfig_free(kc);
        return "(parsed)";
    }
    const char *msg = fmt("%s", err.msg ? err.msg : "(no message)");
    wl_error_clear(&err);
    return msg;
}

static void test_input_must_be_printable_utf8_without_tabs(void)
{
    /* libfyaml 0.7.12 loops forever on this one (its issue #101). */
    CHECK_STR(parse_error("%\x9c", 2),
              "invalid YAML: line 1, column 2: not valid UTF-8");
    CHECK_STR(parse_error("a: b\nc: \xc3\xa9\xc0\xaf\n", 13),
              "invalid YAML: line 2, column 5: not valid UTF-8");
    CHECK_STR(parse_error("a: \xed\xa0\x80\n", 7), /* a surrogate */
              "invalid YAML: line 1, column 4: not valid UTF-8");
    CHECK_STR(parse_error("a: \xe2\x82", 5), /* truncated */
              "invalid YAML: line 1, column 4: not valid UTF-8");
    CHECK_STR(parse_error("a: b\0c\n", 7),
              "invalid YAML: line 1, column 5: control character U+0000 is "
              "not allowed");
    CHECK_STR(parse_error("\n\n  \x1b[31m", 9),
              "invalid YAML: line 3, column 3: control character U+001B is "
              "not allowed");
    /* libfyaml 0.7.12 crashes on this one. */
    CHECK_STR(parse_error("? x:\t:", 6),
              "line 1, column 5: tab characters are not supported (use "
              "spaces)");
    CHECK_STR(parse_error("a:\n\tb: c\n", 10),
              "line 2, column 1: tab characters are not supported (use "
              "spaces)");
    /* Non-ASCII text and a byte order mark are fine. */
    const char *yaml = "\xef\xbb\xbf"
                       "clusters: [{name: \xc3\xa9, cluster: {server: "
                       "https://h}}]\n"
                       "contexts: [{name: \xf0\x9f\x9a\x80, context: "
                       "{cluster: \xc3\xa9}}]\n";
    struct wl_error err = WL_ERROR_INIT;
    struct wl_kubeconfig *kc = NULL;
    CHECK_INT(wl_kubeconfig_parse(yaml, strlen(yaml), NULL, "\xf0\x9f\x9a\x80",
                                  &kc, &err),
              0);
    CHECK_STR(kc->server, "https://h");
    wl_kubeconfig_free(kc);
}

/* The expected values are what libfyaml itself makes of these scalars; the
 * module decodes single-quoted scalars with escapes itself (to dodge a
 * libfyaml 0.7.12 leak), so they check that it folds lines the same way. */
static void test_single_quoted_strings_are_decoded(void)
{
    static const struct {
        const char *yaml, *want;
    } cases[] = {
        {"'it''s'", "it's"},
        {"'a''b\n      c''d'", "a'b c'd"},
        {"'x  \n        y\n\n      z '' w  '", "x y\nz ' w  "},
        {"'  lead '' trail  '", "  lead ' trail  "},
        {"'p''q\n\n\n\n      r'", "p'q\n\n\nr"},
        {"'a''b\r\n      c'", "a'b c"},
        /* libfyaml 0.7.12 leaks when it formats this one (its issue
         * #233); the ASan build checks that we never let it. */
        {"''''''''''''''", "''''''"},
        {"'no escapes\n\n      here'", "no escapes\nhere"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wl_error err = WL_ERROR_INIT;
        struct wl_kubeconfig *kc = NULL;
        const char *yaml =
            fmt("clusters:\n- name: c\n  cluster: {server: https://h}\n"
                "contexts:\n"
                "- name: ''''\n"
                "  context:\n"
                "    cluster: 'c'\n"
                "    namespace: %s\n",
                cases[i].yaml);
        CHECK_INT(wl_kubeconfig_parse(yaml, strlen(yaml), NULL, "'", &kc, &err),
                  0);
        CHECK_STR(kc->context, "'");
        CHECK_STR(kc->namespace_, cases[i].want);
        wl_kubeconfig_free(kc);
    }
}

static void test_crlf_and_cr_line_breaks(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_kubeconfig *kc = NULL;
    /* As saved by an editor on Windows. */
    const char *yaml =
        "clusters:\r\n"
        "- name: c\r\n"
        "  cluster:\r\n"
        "    server: https://h\r\n"
        "    certificate-authority-data: |\r\n"
        "      QUJD\r\n"
        "      QUI=\r\n"
        "contexts:\r\n"
        "- name: x\r\n"
        "  context:\r\n"
        "    cluster: c\r\n"
        /* libfyaml 0.7.12 leaks on runs of lone CRs in a
         * quoted scalar (its issue #233). */
        "    namespace: \"a\r\r\r\r\r\r\r\n\n\n\r\r\r\r\n\n\n\n      b\"\r\n"
        "current-context: x\r\n";
    CHECK_INT(wl_kubeconfig_parse(yaml, strlen(yaml), NULL, NULL, &kc, &err),
              0);
    CHECK_STR(kc->server, "https://h");
    CHECK_STR(kc->ca_pem, "ABCAB");
    CHECK_STR(kc->namespace_, "a\n\n\n\n\n\n\n\n\n\n\n\n\n\n\nb");
    wl_kubeconfig_free(kc);
    /* A lone CR is a line break too, for line numbers as well. */
    CHECK_STR(parse_error("a: b\r\rc:\r\tx", 11),
              "line 4, column 1: tab characters are not supported (use "
              "spaces)");
}

static void test_parse_does_not_read_past_len(void)
{
    /* The text after len would make it valid; without it, it is not. */
    const char *yaml = "contexts: []\ncurrent-context: x\n";
    CHECK_STR(parse_error(yaml, 13),
              "no context given and current-context is not set");
    CHECK_STR(parse_error(yaml, strlen(yaml)), "context \"x\" not found");
    CHECK_STR(parse_error(yaml, 0), "kubeconfig is empty");
}

static void test_context_without_cluster_entry(void)
{
    CHECK_LOAD_FAILS(
        "nocl/config",
        "contexts:\n- name: ctx\n  context: {cluster: gone, user: u}\n"
        "users:\n- name: u\n  user: {token: t}\n"
        "current-context: ctx\n",
        NULL,
        fmt("%s/nocl/config: context \"ctx\" refers to cluster \"gone\", which "
            "is not defined",
            dir));
    CHECK_LOAD_FAILS(
        "nocl2/config", "contexts:\n- name: ctx\n  context: {user: u}\n", "ctx",
        fmt("%s/nocl2/config: context \"ctx\" has no cluster", dir));
}

static void test_context_without_user_entry(void)
{
    CHECK_LOAD_FAILS(
        "nous/config",
        "clusters:\n- name: c\n  cluster: {server: https://h}\n"
        "contexts:\n- name: ctx\n  context: {cluster: c, user: ghost}\n"
        "current-context: ctx\n",
        NULL,
        fmt("%s/nous/config: context \"ctx\" refers to user \"ghost\", which "
            "is not defined",
            dir));
}

static void test_cluster_without_server(void)
{
    CHECK_LOAD_FAILS(
        "nosrv/config",
        simple("    certificate-authority-data: " CA_B64 "\n",
               "    token: t\n"),
        NULL, fmt("%s/nosrv/config: cluster \"c\": server is not set", dir));
}

static void test_unreadable_referenced_files_name_path_and_cause(void)
{
    CHECK_LOAD_FAILS(
        "noca/config", simple(SERVER "    certificate-authority: ca.crt\n", ""),
        NULL,
        fmt("%s/noca/config: cluster \"c\": certificate-authority: open "
            "%s/noca/ca.crt: No such file or directory",
            dir, dir));
    write_text("nokey/client.crt", CERT_PEM);
    CHECK_LOAD_FAILS("nokey/config",
                     simple(SERVER,
                            "    client-certificate: client.crt\n"
                            "    client-key: /nonexistent/client.key\n"),
                     NULL,
                     fmt("%s/nokey/config: user \"u\": client-key: open "
                         "/nonexistent/client.key: No such file or directory",
                         dir));
    CHECK_LOAD_FAILS("nokey/config",
                     simple(SERVER, "    client-certificate: .\n"
                                    "    client-key: client.crt\n"),
                     NULL,
                     fmt("%s/nokey/config: user \"u\": client-certificate: "
                         "%s/nokey/.: not a regular file",
                         dir, dir));
    CHECK_LOAD_FAILS(
        "notok/config", simple(SERVER, "    tokenFile: tok\n"), NULL,
        fmt("%s/notok/config: user \"u\": tokenFile: open %s/notok/tok: No "
            "such file or directory",
            dir, dir));
}

static void test_invalid_base64_is_refused(void)
{
    CHECK_LOAD_FAILS("b64/config",
                     simple(SERVER, "    client-certificate-data: " CERT_B64
                                    "\n    client-key-data: LS0t*S1C\n"),
                     NULL,
                     fmt("%s/b64/config: user \"u\": client-key-data: invalid "
                         "base64 at byte 4",
                         dir));
    CHECK_LOAD_FAILS(
        "b64/config",
        simple(SERVER "    certificate-authority-data: QUJDR\n", ""), NULL,
        fmt("%s/b64/config: cluster \"c\": "
            "certificate-authority-data: invalid base64 "
            "(truncated)",
            dir));
    CHECK_LOAD_FAILS(
        "b64/config",
        simple(SERVER "    certificate-authority-data: QQ==QUJD\n", ""), NULL,
        fmt("%s/b64/config: cluster \"c\": "
            "certificate-authority-data: invalid base64 at byte "
            "4",
            dir));
}

static void test_base64_padding_and_line_breaks(void)
{
    static const struct {
        const char *b64, *want;
    } cases[] = {
        {"QQ==", "A"},
        {"QUI=", "AB"},
        {"QUJD", "ABC"},
        {"|\n      QUJD\n      QUJD\n      QQ==", "ABCABCA"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wl_error err = WL_ERROR_INIT;
        struct wl_kubeconfig *kc = NULL;
        const char *yaml = simple(
            fmt(SERVER "    certificate-authority-data: %s\n", cases[i].b64),
            "");
        CHECK_INT(
            wl_kubeconfig_parse(yaml, strlen(yaml), NULL, NULL, &kc, &err), 0);
        CHECK_STR(kc->ca_pem, cases[i].want);
        CHECK_INT(kc->ca_pem_len, strlen(cases[i].want));
        wl_kubeconfig_free(kc);
    }
}

static void test_insecure_skip_tls_verify_is_refused(void)
{
    CHECK_LOAD_FAILS("insec/config",
                     simple(SERVER "    insecure-skip-tls-verify: true\n", ""),
                     NULL,
                     fmt("%s/insec/config: cluster \"c\": "
                         "insecure-skip-tls-verify: TLS verification cannot "
                         "be turned off",
                         dir));
    struct wl_error err = WL_ERROR_INIT;
    struct wl_kubeconfig *kc = NULL;
    CHECK_INT(
        load_text("insec/config",
                  simple(SERVER "    insecure-skip-tls-verify: false\n", ""),
                  NULL, &kc, &err),
        0);
    wl_kubeconfig_free(kc);
}

static void test_credential_plugins_are_refused(void)
{
    CHECK_LOAD_FAILS("exec/config",
                     simple(SERVER, "    exec:\n"
                                    "      apiVersion: "
                                    "client.authentication.k8s.io/v1\n"
                                    "      command: aws\n"),
                     NULL,
                     fmt("%s/exec/config: user \"u\": exec: exec credential "
                         "plugins are not supported",
                         dir));
    CHECK_LOAD_FAILS("exec/config",
                     simple(SERVER, "    auth-provider:\n"
                                    "      name: gcp\n"),
                     NULL,
                     fmt("%s/exec/config: user \"u\": auth-provider: auth "
                         "provider plugins are not supported",
                         dir));
    CHECK_LOAD_FAILS("exec/config",
                     simple(SERVER, "    username: admin\n"
                                    "    password: secret\n"),
                     NULL,
                     fmt("%s/exec/config: user \"u\": username: basic "
                         "authentication is not supported",
                         dir));
}

static void test_data_and_file_together_are_refused(void)
{
    CHECK_LOAD_FAILS("both/config",
                     simple(SERVER "    certificate-authority: ca.crt\n"
                                   "    certificate-authority-data: " CA_B64
                                   "\n",
                            ""),
                     NULL,
                     fmt("%s/both/config: cluster \"c\": certificate-authority "
                         "and certificate-authority-data are both set",
                         dir));
}

static void test_client_certificate_needs_a_key(void)
{
    CHECK_LOAD_FAILS(
        "halfcert/config",
        simple(SERVER, "    client-certificate-data: " CERT_B64 "\n"), NULL,
        fmt("%s/halfcert/config: user \"u\": client-certificate "
            "is set but client-key is not",
            dir));
}

static void test_structure_errors_name_the_place(void)
{
    CHECK_LOAD_FAILS("struct/config",
                     "clusters:\n- name: c\n  cluster: {server: [a]}\n"
                     "contexts:\n- name: x\n  context: {cluster: c}\n",
                     "x",
                     fmt("%s/struct/config: cluster \"c\": server: expected "
                         "a string",
                         dir));
    CHECK_LOAD_FAILS("struct/config", "contexts: {x: y}\n", "x",
                     fmt("%s/struct/config: contexts: expected a list", dir));
    CHECK_LOAD_FAILS(
        "struct/config", "contexts:\n- x\n", "x",
        fmt("%s/struct/config: contexts[0]: expected a mapping", dir));
    CHECK_LOAD_FAILS(
        "struct/config",
        "contexts:\n- name: x\n  context: {cluster: c}\n"
        "- name: x\n  context: {cluster: d}\n",
        "x", fmt("%s/struct/config: context \"x\" is defined twice", dir));
    CHECK_LOAD_FAILS(
        "struct/config", "- a\n", NULL,
        fmt("%s/struct/config: kubeconfig: expected a mapping", dir));
    CHECK_LOAD_FAILS("struct/config", "kind: Pod\n", NULL,
                     fmt("%s/struct/config: kind is \"Pod\", not Config: not "
                         "a kubeconfig",
                         dir));
    CHECK_LOAD_FAILS("struct/config",
                     "clusters:\n- name: c\n  cluster: &c {server: x}\n"
                     "- name: d\n  cluster: *c\n"
                     "contexts:\n- name: x\n  context: {cluster: c}\n",
                     "x",
                     fmt("%s/struct/config: clusters[1]: cluster: YAML aliases "
                         "are not supported",
                         dir));
}

static void test_parse_without_base_dir_refuses_file_references(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_kubeconfig *kc = NULL;
    const char *yaml =
        simple(SERVER "    certificate-authority: /etc/passwd\n", "");
    CHECK_INT(wl_kubeconfig_parse(yaml, strlen(yaml), NULL, NULL, &kc, &err),
              -1);
    CHECK(kc == NULL);
    CHECK_STR(err.msg, "cluster \"c\": certificate-authority: file references "
                       "are not allowed here");
    yaml = simple(SERVER, "    tokenFile: token\n");
    CHECK_INT(wl_kubeconfig_parse(yaml, strlen(yaml), NULL, "nope", &kc, &err),
              -1);
    CHECK_STR(err.msg, "context \"nope\" not found");
    CHECK_INT(wl_kubeconfig_parse(yaml, strlen(yaml), NULL, NULL, &kc, &err),
              -1);
    CHECK_STR(err.msg, "user \"u\": tokenFile: file references are not "
                       "allowed here");
    wl_error_clear(&err);
}

static void check_mode_0600(const char *path)
{
    struct stat st;
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 07777, 0600);
}

static void test_write_then_load_round_trips(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_kubeconfig *kc = NULL;
    const char *path = path_in_dir("rt/kubelet.kubeconfig");
    const char *name = "system:node:a \"quoted\" \\ name";

    CHECK_INT(wl_kubeconfig_write(path, name, "https://10.0.0.1:6443", CA_PEM,
                                  CERT_PEM, KEY_PEM, "abcdef.0123456789abcdef",
                                  &err),
              0);
    check_mode_0600(path);
    CHECK_INT(wl_kubeconfig_load(path, NULL, &kc, &err), 0);
    CHECK_STR(kc->context, name);
    CHECK_STR(kc->server, "https://10.0.0.1:6443");
    CHECK(kc->tls_server_name == NULL);
    CHECK_STR(kc->ca_pem, CA_PEM);
    CHECK_INT(kc->ca_pem_len, strlen(CA_PEM));
    CHECK_STR(kc->cert_pem, CERT_PEM);
    CHECK_INT(kc->cert_pem_len, strlen(CERT_PEM));
    CHECK_STR(kc->key_pem, KEY_PEM);
    CHECK_INT(kc->key_pem_len, strlen(KEY_PEM));
    CHECK_STR(kc->token, "abcdef.0123456789abcdef");
    CHECK(kc->namespace_ == NULL);
    wl_kubeconfig_free(kc);

    /* Rewriting replaces the file, again 0600 whatever it was. */
    CHECK_INT(chmod(path, 0644), 0);
    CHECK_INT(wl_kubeconfig_write(path, "n", "https://h", NULL, NULL, NULL,
                                  NULL, &err),
              0);
    check_mode_0600(path);
    kc = NULL;
    CHECK_INT(wl_kubeconfig_load(path, NULL, &kc, &err), 0);
    CHECK_STR(kc->context, "n");
    CHECK_STR(kc->server, "https://h");
    CHECK(kc->ca_pem == NULL);
    CHECK(kc->cert_pem == NULL);
    CHECK(kc->key_pem == NULL);
    CHECK(kc->token == NULL);
    wl_kubeconfig_free(kc);
}

static void test_write_refuses_bad_arguments(void)
{
    struct wl_error err = WL_ERROR_INIT;
    const char *path = path_in_dir("badw/config");
    CHECK_INT(wl_kubeconfig_write(path, "n", "https://h", NULL, CERT_PEM, NULL,
                                  NULL, &err),
              -1);
    CHECK_STR(err.msg, fmt("write kubeconfig %s: a client certificate and key "
                           "go together",
                           path));
    CHECK_INT(wl_kubeconfig_write(path, "n\nx", "https://h", NULL, NULL, NULL,
                                  NULL, &err),
              -1);
    CHECK_STR(err.msg, fmt("write kubeconfig %s: name contains a character "
                           "that is not printable ASCII",
                           path));
    CHECK_INT(wl_kubeconfig_write(path, "n", "", NULL, NULL, NULL, NULL, &err),
              -1);
    CHECK_STR(err.msg, fmt("write kubeconfig %s: server is empty", path));
    CHECK_INT(access(path, F_OK), -1);
    wl_error_clear(&err);
}

static void test_kubeconfig_env_reads_first_entry_only(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_kubeconfig *kc = NULL;
    const char *first = path_in_dir("env/first");
    const char *second = path_in_dir("env/second");
    write_text("env/first", simple(SERVER, "    token: one\n"));
    write_text("env/second", two_contexts);

    CHECK_INT(setenv("KUBECONFIG", fmt("::%s:%s:", first, second), 1), 0);
    CHECK_INT(wl_kubeconfig_load(NULL, NULL, &kc, &err), 0);
    CHECK_STR(kc->token, "one");
    wl_kubeconfig_free(kc);

    /* "dev" is in the second file, which client-go would merge in. */
    kc = NULL;
    CHECK_INT(wl_kubeconfig_load(NULL, "dev", &kc, &err), -1);
    CHECK(kc == NULL);
    CHECK_STR(err.msg,
              fmt("context \"dev\" not found in %s ($KUBECONFIG lists 2 "
                  "files; only the first is read, merging several files is "
                  "not supported)",
                  first));

    /* With a single file there is nothing to explain. */
    CHECK_INT(setenv("KUBECONFIG", first, 1), 0);
    CHECK_INT(wl_kubeconfig_load(NULL, "dev", &kc, &err), -1);
    CHECK_STR(err.msg, fmt("context \"dev\" not found in %s", first));

    /* An explicit path wins over $KUBECONFIG. */
    CHECK_INT(wl_kubeconfig_load(second, "dev", &kc, &err), 0);
    CHECK_STR(kc->server, "https://dev:6443");
    wl_kubeconfig_free(kc);
    CHECK_INT(unsetenv("KUBECONFIG"), 0);
    wl_error_clear(&err);
}

static void test_default_is_home_kube_config(void)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_kubeconfig *kc = NULL;
    const char *home = fmt("%s/home", dir);
    write_text("home/.kube/config", two_contexts);

    CHECK_INT(setenv("KUBECONFIG", "", 1), 0);
    CHECK_INT(setenv("HOME", home, 1), 0);
    CHECK_INT(wl_kubeconfig_load(NULL, NULL, &kc, &err), 0);
    CHECK_STR(kc->server, "https://prod:6443");
    wl_kubeconfig_free(kc);

    CHECK_INT(setenv("HOME", dir, 1), 0);
    kc = NULL;
    CHECK_INT(wl_kubeconfig_load(NULL, NULL, &kc, &err), -1);
    CHECK_STR(err.msg,
              fmt("open %s/.kube/config: No such file or directory", dir));

    CHECK_INT(unsetenv("HOME"), 0);
    CHECK_INT(unsetenv("KUBECONFIG"), 0);
    CHECK_INT(wl_kubeconfig_load(NULL, NULL, &kc, &err), -1);
    CHECK_STR(err.msg, "no kubeconfig: neither $KUBECONFIG nor $HOME is set");
    wl_error_clear(&err);
}

static void test_free_accepts_null(void)
{
    wl_kubeconfig_free(NULL);
}

static void test_setup(void) { wl_test_tmpdir(dir); }

WL_TEST_MAIN(
    WL_T(test_setup), WL_T(test_data_fields_are_decoded),
    WL_T(test_optional_fields_default_to_null),
    WL_T(test_file_fields_resolve_relative_to_kubeconfig),
    WL_T(test_token_file_is_read_and_trimmed),
    WL_T(test_token_takes_precedence_over_token_file),
    WL_T(test_empty_token_file_is_refused),
    WL_T(test_token_with_control_characters_is_refused),
    WL_T(test_current_context_is_used),
    WL_T(test_explicit_context_overrides_current_context),
    WL_T(test_unknown_context_names_the_file),
    WL_T(test_unknown_current_context_names_the_file),
    WL_T(test_no_current_context), WL_T(test_missing_file_names_path_and_cause),
    WL_T(test_file_over_the_limit_is_refused),
    WL_T(test_invalid_yaml_reports_line_and_prints_nothing),
    WL_T(test_input_must_be_printable_utf8_without_tabs),
    WL_T(test_parse_does_not_read_past_len), WL_T(test_crlf_and_cr_line_breaks),
    WL_T(test_single_quoted_strings_are_decoded),
    WL_T(test_context_without_cluster_entry),
    WL_T(test_context_without_user_entry), WL_T(test_cluster_without_server),
    WL_T(test_unreadable_referenced_files_name_path_and_cause),
    WL_T(test_invalid_base64_is_refused),
    WL_T(test_base64_padding_and_line_breaks),
    WL_T(test_insecure_skip_tls_verify_is_refused),
    WL_T(test_credential_plugins_are_refused),
    WL_T(test_data_and_file_together_are_refused),
    WL_T(test_client_certificate_needs_a_key),
    WL_T(test_structure_errors_name_the_place),
    WL_T(test_parse_without_base_dir_refuses_file_references),
    WL_T(test_write_then_load_round_trips),
    WL_T(test_write_refuses_bad_arguments),
    WL_T(test_kubeconfig_env_reads_first_entry_only),
    WL_T(test_default_is_home_kube_config), WL_T(test_free_accepts_null))
