#include "util/yaml.h"

#include <errno.h>
#include <libfyaml.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fyaml.h"

/* What one conversion carries down the tree. */
struct conv {
    const struct wl_fyaml *y; /* the text the marks index into */
    size_t nodes;             /* values made so far, aliases included */
    struct fy_node *alias;    /* the outermost alias being expanded: where
                                 an error inside its copy is reported */
    struct wl_error *err;
};

/* The position of n for messages: a scalar's own; a collection's first
 * scalar's, searched a few levels down (a collection has no token of its
 * own in libfyaml's API). */
static const struct fy_mark *node_mark(struct fy_node *n, int depth)
{
    if (!n || depth > 4)
        return NULL;
    if (fy_node_is_scalar(n)) {
        struct fy_token *t = fy_node_get_scalar_token(n);
        return t ? fy_token_start_mark(t) : NULL;
    }
    void *iter = NULL;
    if (fy_node_is_sequence(n))
        return node_mark(fy_node_sequence_iterate(n, &iter), depth + 1);
    struct fy_node_pair *p = fy_node_mapping_iterate(n, &iter);
    return p ? node_mark(fy_node_pair_key(p), depth + 1) : NULL;
}

static int conv_error(struct conv *c, struct fy_node *n, const char *what)
{
    const struct fy_mark *m = node_mark(c->alias ? c->alias : n, 0);
    if (m)
        return wl_error_set(c->err, 0, "invalid YAML: line %d, column %d: %s",
                            m->line + 1, m->column + 1, what);
    return wl_error_set(c->err, 0, "invalid YAML: %s", what);
}

static bool is_one_of(const char *s, size_t len, const char *const *words,
                      size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (len == strlen(words[i]) && memcmp(s, words[i], len) == 0)
            return true;
    return false;
}

/* [-+]? then digits of base (10, 8 after "0o", 16 after "0x"; the core
 * schema allows a sign only on decimals). */
static bool is_core_int(const char *s, size_t len, int *ret_base,
                        size_t *ret_skip)
{
    size_t i = 0;
    int base = 10;
    if (len > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
        base = s[1] == 'o' ? 8 : 16;
        i = 2;
    } else if (len > 0 && (s[0] == '-' || s[0] == '+')) {
        i = 1;
    }
    *ret_base = base;
    *ret_skip = base == 10 ? 0 : 2;
    if (i == len)
        return false;
    for (; i < len; i++) {
        char ch = s[i];
        bool ok = base == 8 ? ch >= '0' && ch <= '7'
                  : base == 16
                      ? (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
                            (ch >= 'A' && ch <= 'F')
                      : ch >= '0' && ch <= '9';
        if (!ok)
            return false;
    }
    return true;
}

/* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static bool is_core_float(const char *s, size_t len)
{
    size_t i = 0, digits = 0;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        i++;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
        digits++;
    if (i < len && s[i] == '.')
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            digits++;
    if (digits == 0)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t exp = 0;
        i++;
        if (i < len && (s[i] == '-' || s[i] == '+'))
            i++;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            exp++;
        if (exp == 0)
            return false;
    }
    return i == len;
}

/* A plain scalar, typed by the YAML 1.2 core schema. */
static int plain_scalar(struct conv *c, struct fy_node *n, const char *s,
                        size_t len, json_t **ret)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    static const char *const trues[] = {"true", "True", "TRUE"};
    static const char *const falses[] = {"false", "False", "FALSE"};
    static const char *const nonfinite[] = {".inf",  ".Inf",  ".INF",  "+.inf",
                                            "+.Inf", "+.INF", "-.inf", "-.Inf",
                                            "-.INF", ".nan",  ".NaN",  ".NAN"};
    char num[64];
    int base;
    size_t skip;

    if (is_one_of(s, len, nulls, WL_ARRAY_SIZE(nulls)))
        return (*ret = json_null()) ? 0 : -1;
    if (is_one_of(s, len, trues, WL_ARRAY_SIZE(trues)))
        return (*ret = json_true()) ? 0 : -1;
    if (is_one_of(s, len, falses, WL_ARRAY_SIZE(falses)))
        return (*ret = json_false()) ? 0 : -1;
    if (is_one_of(s, len, nonfinite, WL_ARRAY_SIZE(nonfinite)))
        return conv_error(c, n,
                          "infinity and NaN cannot be represented in "
                          "JSON");
    bool is_int = is_core_int(s, len, &base, &skip);
    if (!is_int && !is_core_float(s, len))
        return (*ret = json_stringn(s, len)) ? 0 : -1;
    if (len >= sizeof(num))
        return conv_error(c, n, "number too long");
    memcpy(num, s + skip, len - skip);
    num[len - skip] = '\0';
    char *end = NULL;
    errno = 0;
    if (is_int) {
        long long v = strtoll(num, &end, base);
        if (errno == ERANGE)
            return conv_error(c, n, "integer out of the 64-bit range");
        return (*ret = json_integer(v)) ? 0 : -1;
    }
    double d = strtod(num, &end);
    if (errno == ERANGE || !isfinite(d))
        return conv_error(c, n, "number out of range");
    return (*ret = json_real(d)) ? 0 : -1;
}

static bool tag_is_str(struct fy_node *n)
{
    size_t len = 0;
    const char *tag = fy_node_get_tag(n, &len);
    static const char *const str[] = {"!!str", "tag:yaml.org,2002:str"};
    return tag && is_one_of(tag, len, str, WL_ARRAY_SIZE(str));
}

static int scalar(struct conv *c, struct fy_node *n, json_t **ret)
{
    _cleanup_free_ char *tmp = NULL;
    size_t len = 0;
    const char *s = wl_fyaml_scalar(c->y, n, &len, &tmp);
    if (!s)
        return wl_error_set(c->err, ENOMEM, "YAML");
    int r;
    if (fy_node_get_style(n) == FYNS_PLAIN && !tag_is_str(n))
        r = plain_scalar(c, n, s, len, ret);
    else
        r = (*ret = json_stringn(s, len)) ? 0 : -1;
    if (r < 0 && !c->err->msg) /* jansson refused: bad UTF-8 or NUL */
        return conv_error(c, n, "string is not valid UTF-8");
    return r;
}

static int convert(struct conv *c, struct fy_node *n, int depth, json_t **ret);

static int sequence(struct conv *c, struct fy_node *n, int depth, json_t **ret)
{
    json_t *arr = json_array();
    struct fy_node *item;
    void *iter = NULL;
    if (!arr)
        return wl_error_set(c->err, ENOMEM, "YAML");
    while ((item = fy_node_sequence_iterate(n, &iter))) {
        json_t *v = NULL;
        if (convert(c, item, depth + 1, &v) < 0 ||
            json_array_append_new(arr, v) < 0) {
            json_decref(arr);
            return c->err->msg ? -1 : wl_error_set(c->err, ENOMEM, "YAML");
        }
    }
    *ret = arr;
    return 0;
}

/* A mapping key: a scalar (an alias to one is fine), as text. */
static int key_text(struct conv *c, struct fy_node *k, const char **ret,
                    size_t *ret_len, char **tmp)
{
    struct fy_node *target = k;
    if (k && fy_node_is_alias(k))
        target = fy_node_resolve_alias(k);
    if (!target || !fy_node_is_scalar(target) || fy_node_is_alias(target))
        return conv_error(c, k, "mapping keys must be scalars");
    *ret = wl_fyaml_scalar(c->y, target, ret_len, tmp);
    if (!*ret)
        return wl_error_set(c->err, ENOMEM, "YAML");
    if (memchr(*ret, '\0', *ret_len))
        return conv_error(c, k, "mapping key contains a NUL character");
    return 0;
}

static int mapping(struct conv *c, struct fy_node *n, int depth, json_t **ret)
{
    json_t *obj = json_object();
    struct fy_node_pair *pair;
    void *iter = NULL;
    if (!obj)
        return wl_error_set(c->err, ENOMEM, "YAML");
    while ((pair = fy_node_mapping_iterate(n, &iter))) {
        _cleanup_free_ char *tmp = NULL;
        struct fy_node *k = fy_node_pair_key(pair);
        const char *key = NULL;
        size_t klen = 0;
        json_t *v = NULL;
        if (key_text(c, k, &key, &klen, &tmp) < 0)
            goto fail;
        _cleanup_free_ char *kz = strndup(key, klen);
        if (!kz) {
            wl_error_set(c->err, ENOMEM, "YAML");
            goto fail;
        }
        if (json_object_get(obj, kz)) {
            conv_error(c, k, "duplicate mapping key");
            goto fail;
        }
        if (convert(c, fy_node_pair_value(pair), depth + 1, &v) < 0)
            goto fail;
        if (json_object_set_new(obj, kz, v) < 0) {
            conv_error(c, k, "mapping key is not valid UTF-8");
            goto fail;
        }
    }
    *ret = obj;
    return 0;
fail:
    json_decref(obj);
    return -1;
}

static int convert(struct conv *c, struct fy_node *n, int depth, json_t **ret)
{
    if (!n) /* "key:" with nothing after: null */
        return (*ret = json_null()) ? 0 : wl_error_set(c->err, ENOMEM, "YAML");
    if (depth > WL_YAML_MAX_DEPTH)
        return conv_error(c, n, "nested deeper than 64 levels");
    if (++c->nodes > WL_YAML_MAX_NODES)
        return conv_error(c, n,
                          "more than 1000000 values (aliases "
                          "expanded): refused");
    if (fy_node_is_alias(n)) {
        struct fy_node *target = fy_node_resolve_alias(n);
        if (!target)
            return conv_error(c, n, "alias to an unknown anchor");
        /* An alias to its own ancestor recurses until the depth limit. */
        bool outermost = !c->alias;
        if (outermost)
            c->alias = n;
        int r = convert(c, target, depth + 1, ret);
        if (outermost)
            c->alias = NULL;
        return r;
    }
    switch (fy_node_get_type(n)) {
    case FYNT_SCALAR:
        return scalar(c, n, ret);
    case FYNT_SEQUENCE:
        return sequence(c, n, depth, ret);
    case FYNT_MAPPING:
        return mapping(c, n, depth, ret);
    }
    return conv_error(c, n, "unknown node type");
}

/* libfyaml reports through a diag; errors are collected, nothing is
 * printed. */
static void diag_drop(struct fy_diag *diag, void *user, const char *buf,
                      size_t len)
{
    (void)diag, (void)user, (void)buf, (void)len;
}

static int parse_error(struct fy_diag *diag, struct wl_error *err)
{
    struct fy_diag_error *e;
    void *iter = NULL;
    while ((e = fy_diag_errors_iterate(diag, &iter)))
        if (e->type >= FYET_ERROR && e->msg)
            return e->line > 0
                       ? wl_error_set(err, 0,
                                      "invalid YAML: line %d, column %d: %s",
                                      e->line, e->column, e->msg)
                       : wl_error_set(err, 0, "invalid YAML: %s", e->msg);
    return wl_error_set(err, 0, "invalid YAML");
}

/* A parser and the diag it reports to, destroyed in that order. */
struct parser {
    struct fy_diag *diag;
    struct fy_parser *p;
};

static void parser_clear(struct parser *y)
{
    if (y->p)
        fy_parser_destroy(y->p);
    if (y->diag)
        fy_diag_destroy(y->diag); /* destroy, not unref: frees the errors */
}

/* Each document of the parser's stream, converted, appended to docs. */
static int load_all(struct fy_parser *p, struct fy_diag *diag, struct conv *c,
                    json_t *docs)
{
    for (;;) {
        struct fy_document *doc = fy_parse_load_document(p);
        if (!doc || fy_diag_got_error(diag)) {
            if (doc)
                fy_parse_document_destroy(p, doc);
            return fy_diag_got_error(diag) ? parse_error(diag, c->err) : 0;
        }
        struct fy_node *root = fy_document_root(doc);
        json_t *v = NULL;
        int r = root ? convert(c, root, 0, &v) : 0;
        fy_parse_document_destroy(p, doc);
        if (r < 0)
            return -1;
        /* An empty document ("---" and nothing) is skipped, as kubectl
         * skips it. */
        if (json_is_null(v))
            continue;
        if (json_array_append_new(docs, v) < 0)
            return wl_error_set(c->err, ENOMEM, "YAML");
    }
}

int wl_yaml_to_json(const char *yaml, size_t len, json_t **ret,
                    struct wl_error *err)
{
    _cleanup_free_ char *text = NULL;
    _cleanup_(parser_clear) struct parser y = {0};
    size_t text_len = 0;
    struct fy_diag_cfg dcfg;

    if (len > WL_YAML_MAX_SIZE)
        return wl_error_set(err, 0, "YAML is %zu bytes, over the limit of %u",
                            len, WL_YAML_MAX_SIZE);
    if (wl_fyaml_prepare(yaml, len, "YAML", &text, &text_len, err) < 0)
        return -1;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = diag_drop;
    dcfg.colorize = false;
    if (!(y.diag = fy_diag_create(&dcfg)))
        return wl_error_set(err, ENOMEM, "YAML");
    fy_diag_set_collect_errors(y.diag, true);
    struct fy_parse_cfg pcfg = {
        .flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG,
        .diag = y.diag,
    };
    if (!(y.p = fy_parser_create(&pcfg)) ||
        fy_parser_set_string(y.p, text, text_len) < 0)
        return wl_error_set(err, ENOMEM, "YAML");

    json_t *docs = json_array();
    struct wl_fyaml marks = {.text = text, .len = text_len};
    struct conv c = {.y = &marks, .err = err};
    if (!docs)
        return wl_error_set(err, ENOMEM, "YAML");
    if (load_all(y.p, y.diag, &c, docs) < 0) {
        json_decref(docs);
        return -1;
    }
    *ret = docs;
    return 0;
}
