#include "util/json.h"

#include <stdarg.h>
#include <stdbool.h>

/* Nesting depth of JSON text, counting only brackets outside strings. Not a
 * validator: jansson validates afterwards. Returns -1 past max_depth. */
static int check_depth(const char *buf, size_t len, unsigned max_depth)
{
    unsigned depth = 0;
    bool in_string = false, escaped = false;

    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth)
                return -1;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

int wl_json_parse(const char *buf, size_t len, unsigned max_depth,
                  json_t **ret, struct wl_error *err)
{
    json_error_t jerr;

    if (check_depth(buf, len, max_depth) < 0)
        return wl_error_set(err, 0, "JSON nested deeper than %u levels",
                            max_depth);
    json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v)
        return wl_error_set(err, 0, "invalid JSON at line %d column %d: %s",
                            jerr.line, jerr.column, jerr.text);
    *ret = v;
    return 0;
}

char *wl_json_dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT);
}

static json_t *walk(const json_t *o, va_list ap)
{
    const char *key;
    json_t *cur = (json_t *)o;

    while ((key = va_arg(ap, const char *))) {
        if (!json_is_object(cur))
            return NULL;
        cur = json_object_get(cur, key);
    }
    return cur;
}

json_t *wl_json_get(const json_t *o, ...)
{
    va_list ap;
    va_start(ap, o);
    json_t *v = walk(o, ap);
    va_end(ap);
    return v;
}

const char *wl_json_str(const json_t *o, ...)
{
    va_list ap;
    va_start(ap, o);
    json_t *v = walk(o, ap);
    va_end(ap);
    return json_string_value(v);
}
