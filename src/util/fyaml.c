#include "util/fyaml.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"

static void fy_document_destroyp(struct fy_document **doc)
{
    if (*doc)
        fy_document_destroy(*doc);
}

/* fy_diag_destroy(), not fy_diag_unref(): only destroy frees the collected
 * errors. It drops our reference; a document built with the diag holds its
 * own until it is destroyed. */
static void fy_diag_destroyp(struct fy_diag **diag)
{
    if (*diag)
        fy_diag_destroy(*diag);
}

bool wl_fyaml_is_unset(struct fy_node *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};

    if (!n)
        return true;
    if (!fy_node_is_scalar(n) || fy_node_get_style(n) != FYNS_PLAIN)
        return false;
    size_t len = 0;
    const char *s = fy_node_get_scalar(n, &len);
    if (!s)
        return true;
    for (size_t i = 0; i < WL_ARRAY_SIZE(nulls); i++)
        if (len == strlen(nulls[i]) && memcmp(s, nulls[i], len) == 0)
            return true;
    return false;
}

/* Decodes the content of a single-quoted scalar (between the quotes) as
 * YAML 1.2 does (7.3.2): '' is a quote, and line breaks fold, a single one
 * into a space, n > 1 of them into n - 1 newlines, with the white space
 * around them dropped. */
static char *single_quoted_decode(const char *raw, size_t len, size_t *ret_len)
{
    char *out = malloc(len + 1);
    size_t n = 0;

    if (!out)
        return NULL;
    for (size_t i = 0; i < len;) {
        char c = raw[i];
        if (c == '\'') {
            out[n++] = c;
            i += i + 1 < len && raw[i + 1] == '\'' ? 2 : 1;
        } else if (c == ' ' || c == '\t') {
            size_t j = i;
            while (j < len && (raw[j] == ' ' || raw[j] == '\t'))
                j++;
            if (j < len && (raw[j] == '\n' || raw[j] == '\r')) {
                i = j; /* white space before a line break is dropped */
                continue;
            }
            memcpy(out + n, raw + i, j - i);
            n += j - i;
            i = j;
        } else if (c == '\n' || c == '\r') {
            size_t breaks = 0;
            while (i < len && (raw[i] == '\n' || raw[i] == '\r')) {
                i +=
                    raw[i] == '\r' && i + 1 < len && raw[i + 1] == '\n' ? 2 : 1;
                breaks++;
                while (i < len && (raw[i] == ' ' || raw[i] == '\t'))
                    i++;
            }
            if (breaks == 1)
                out[n++] = ' ';
            else
                for (size_t k = 1; k < breaks; k++)
                    out[n++] = '\n';
        } else {
            out[n++] = c;
            i++;
        }
    }
    out[n] = '\0';
    *ret_len = n;
    return out;
}

/* libfyaml 0.7.12 leaks the chunk array of its text iterator when a
 * single-quoted scalar has several escaped quotes in a row (libfyaml issue
 * #233), so single-quoted scalars with escapes are decoded here, from the
 * source text between the scalar's marks. */
const char *wl_fyaml_scalar(const struct wl_fyaml *y, struct fy_node *n,
                            size_t *len, char **tmp)
{
    *tmp = NULL;
    if (fy_node_get_style(n) == FYNS_SINGLE_QUOTED) {
        struct fy_token *t = fy_node_get_scalar_token(n);
        const struct fy_mark *start = t ? fy_token_start_mark(t) : NULL;
        const struct fy_mark *end = t ? fy_token_end_mark(t) : NULL;
        if (start && end && start->input_pos <= end->input_pos &&
            end->input_pos <= y->len) {
            const char *raw = y->text + start->input_pos;
            size_t raw_len = end->input_pos - start->input_pos;
            if (memmem(raw, raw_len, "''", 2))
                return *tmp = single_quoted_decode(raw, raw_len, len);
        }
    }
    return fy_node_get_scalar(n, len);
}

/* libfyaml reports through its diag object; this one collects errors and
 * drops everything else, so nothing reaches stderr. */
static void diag_drop(struct fy_diag *diag, void *user, const char *buf,
                      size_t len)
{
    (void)diag;
    (void)user;
    (void)buf;
    (void)len;
}

/* Decodes the UTF-8 sequence at s (n > 0 bytes available) into *ret_cp
 * and returns its length, or 0 when it is malformed: truncated, overlong,
 * a surrogate or above U+10FFFF. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *ret_cp)
{
    uint32_t cp, min;
    size_t width;

    if (s[0] < 0x80) {
        *ret_cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        width = 2;
        cp = s[0] & 0x1f;
        min = 0x80;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        width = 3;
        cp = s[0] & 0x0f;
        min = 0x800;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        width = 4;
        cp = s[0] & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (width > n)
        return 0;
    for (size_t i = 1; i < width; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    *ret_cp = cp;
    return width;
}

/* YAML 1.2's c-printable set: what a YAML stream may contain at all. */
static bool yaml_printable(uint32_t c)
{
    return c == 0x09 || c == 0x0a || c == 0x0d || (c >= 0x20 && c <= 0x7e) ||
           c == 0x85 || (c >= 0xa0 && c <= 0xd7ff) ||
           (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

/* Checks that yaml is what a YAML stream may be, UTF-8 text of printable
 * characters (YAML 1.2, 5.1; go-yaml refuses anything else for client-go
 * too), and copies it into *ret with every line break (CR LF, or a lone CR)
 * turned into LF. That changes no meaning: YAML normalizes line breaks in
 * scalars to LF anyway (5.4).
 *
 * Both also keep the input away from bugs of libfyaml 0.7.12 (Debian 12)
 * that a fuzzer finds within minutes: it loops forever on malformed UTF-8
 * in a directive line such as "%\x9c" (libfyaml issue #101, fixed upstream
 * in 2023), leaks on runs of lone CRs in a quoted scalar (issue #233), and
 * crashes on a tab after an explicit key ("? x:\t:"). Tabs are therefore
 * refused altogether, although YAML allows them outside indentation:
 * kubeconfigs written by tools never contain one, and a double-quoted
 * string can still say "\t". */
int wl_fyaml_prepare(const char *yaml, size_t len, const char *what, char **ret,
                     size_t *ret_len, struct wl_error *err)
{
    const unsigned char *s = (const unsigned char *)yaml;
    _cleanup_free_ char *out = malloc(len + 1);
    int line = 1, column = 1;
    size_t n = 0;

    if (!out)
        return wl_error_set(err, ENOMEM, "%s", what);
    for (size_t i = 0; i < len; column++) {
        uint32_t c = 0;
        size_t width = utf8_next(s + i, len - i, &c);
        if (width == 0)
            return wl_error_set(err, 0,
                                "invalid YAML: line %d, column %d: not valid "
                                "UTF-8",
                                line, column);
        if (c == '\t')
            return wl_error_set(err, 0,
                                "line %d, column %d: tab characters are not "
                                "supported (use spaces)",
                                line, column);
        if (!yaml_printable(c))
            return wl_error_set(err, 0,
                                "invalid YAML: line %d, column %d: control "
                                "character U+%04X is not allowed",
                                line, column, (unsigned)c);
        if (c == '\r' && i + 1 < len && s[i + 1] == '\n')
            width = 2;
        if (c == '\r' || c == '\n') {
            out[n++] = '\n';
            line++;
            column = 0;
        } else {
            memcpy(out + n, s + i, width);
            n += width;
        }
        i += width;
    }
    out[n] = '\0';
    *ret = TAKE_PTR(out);
    *ret_len = n;
    return 0;
}

struct fy_diag *wl_fyaml_diag_new(void)
{
    struct fy_diag_cfg dcfg;

    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = diag_drop;
    dcfg.colorize = false;
    struct fy_diag *diag = fy_diag_create(&dcfg);
    if (diag)
        fy_diag_set_collect_errors(diag, true);
    return diag;
}

int wl_fyaml_diag_error(struct fy_diag *diag, const char *what,
                        struct wl_error *err)
{
    struct fy_diag_error *e;
    void *iter = NULL;
    while ((e = fy_diag_errors_iterate(diag, &iter))) {
        if (e->type < FYET_ERROR || !e->msg)
            continue;
        if (e->line > 0)
            return wl_error_set(err, 0, "invalid YAML: line %d, column %d: %s",
                                e->line, e->column, e->msg);
        return wl_error_set(err, 0, "invalid YAML: %s", e->msg);
    }
    /* libfyaml fails without a diagnostic on input without a document
     * (only comments or blanks). */
    return wl_error_set(err, 0, "%s is empty", what);
}

/* Parses yaml into *ret_doc. *ret_diag holds the document's diagnostics
 * and is destroyed after it. */
static int yaml_load(const char *yaml, size_t len, const char *what,
                     struct fy_diag **ret_diag, struct fy_document **ret_doc,
                     struct wl_error *err)
{
    _cleanup_(fy_diag_destroyp) struct fy_diag *diag = wl_fyaml_diag_new();
    _cleanup_(fy_document_destroyp) struct fy_document *doc = NULL;

    if (!diag)
        return wl_error_set(err, ENOMEM, "parse YAML");
    struct fy_parse_cfg pcfg = {
        .flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG,
        .diag = diag,
    };
    doc = fy_document_build_from_string(&pcfg, yaml, len);
    if (doc && !fy_diag_got_error(diag)) {
        *ret_diag = TAKE_PTR(diag);
        *ret_doc = TAKE_PTR(doc);
        return 0;
    }
    return wl_fyaml_diag_error(diag, what, err);
}

int wl_fyaml_load(const char *yaml, size_t len, const char *what,
                  struct wl_fyaml *ret, struct wl_error *err)
{
    /* Freed in the reverse order: the document reports to the diag. */
    _cleanup_free_ char *text = NULL;
    _cleanup_(fy_diag_destroyp) struct fy_diag *diag = NULL;
    _cleanup_(fy_document_destroyp) struct fy_document *doc = NULL;
    size_t text_len = 0;

    if (wl_fyaml_prepare(yaml, len, what, &text, &text_len, err) < 0 ||
        yaml_load(text, text_len, what, &diag, &doc, err) < 0)
        return -1;
    *ret = (struct wl_fyaml){
        .text = TAKE_PTR(text),
        .len = text_len,
        .diag = TAKE_PTR(diag),
        .doc = TAKE_PTR(doc),
    };
    return 0;
}

void wl_fyaml_clear(struct wl_fyaml *y)
{
    if (!y)
        return;
    fy_document_destroyp(&y->doc);
    fy_diag_destroyp(&y->diag);
    free(y->text);
    *y = (struct wl_fyaml){0};
}

int wl_fyaml_bool(struct fy_node *n, bool *ret)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes",
                                      "Yes",  "YES",  "on",   "On",
                                      "ON",   "y",    "Y"};
    static const char *const no[] = {"false", "False", "FALSE", "no",
                                     "No",    "NO",    "off",   "Off",
                                     "OFF",   "n",     "N"};
    _Static_assert(WL_ARRAY_SIZE(yes) == WL_ARRAY_SIZE(no), "yes and no");
    size_t len = 0;
    const char *s = NULL;

    /* Only plain scalars are booleans; those have no escapes for
     * wl_fyaml_scalar() to decode. */
    if (n && fy_node_is_scalar(n) && !fy_node_is_alias(n) &&
        fy_node_get_style(n) == FYNS_PLAIN)
        s = fy_node_get_scalar(n, &len);
    for (size_t i = 0; s && i < WL_ARRAY_SIZE(yes); i++) {
        if (len == strlen(yes[i]) && memcmp(s, yes[i], len) == 0) {
            *ret = true;
            return 0;
        }
        if (len == strlen(no[i]) && memcmp(s, no[i], len) == 0) {
            *ret = false;
            return 0;
        }
    }
    return -1;
}

int wl_fyaml_line(struct fy_node *n)
{
    struct fy_token *t = n ? fy_node_get_scalar_token(n) : NULL;
    const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
    return m ? m->line + 1 : 0;
}

struct fy_node *wl_fyaml_map_get(const struct wl_fyaml *y, struct fy_node *map,
                                 const char *key)
{
    size_t key_len = strlen(key);
    struct fy_node_pair *pair;
    void *iter = NULL;

    while ((pair = fy_node_mapping_iterate(map, &iter))) {
        _cleanup_free_ char *tmp = NULL;
        struct fy_node *k = fy_node_pair_key(pair);
        size_t len = 0;
        const char *s;

        if (!k || !fy_node_is_scalar(k) || fy_node_is_alias(k))
            continue;
        s = wl_fyaml_scalar(y, k, &len, &tmp);
        if (s && len == key_len && memcmp(s, key, len) == 0)
            return fy_node_pair_value(pair);
    }
    return NULL;
}
