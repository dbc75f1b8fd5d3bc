#include "pod/expand.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *wl_expand(const char *in, wl_expand_lookup lookup, void *userdata)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return NULL;

    for (const char *p = in; *p;) {
        if (p[0] != '$' || p[1] == '\0') {
            fputc(*p++, f);
            continue;
        }
        if (p[1] == '$') { /* escaped dollar */
            fputc('$', f);
            p += 2;
            continue;
        }
        if (p[1] != '(') { /* a lone '$' */
            fputc('$', f);
            fputc(p[1], f);
            p += 2;
            continue;
        }
        const char *close = strchr(p + 2, ')');
        if (!close) { /* unterminated: literal */
            fputs("$(", f);
            p += 2;
            continue;
        }
        size_t n = (size_t)(close - (p + 2));
        const char *v = lookup(userdata, p + 2, n);
        if (v)
            fputs(v, f);
        else
            fwrite(p, 1, n + 3, f); /* "$(NAME)" as written */
        p = close + 1;
    }
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}
