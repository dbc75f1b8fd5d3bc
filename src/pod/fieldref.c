/* Subscripted downward-API fieldRefs; see pod/fieldref.h. */
#include "pod/fieldref.h"

#include <string.h>

#include "util/json.h"

static const char *map_value(const json_t *pod, const char *path,
                             const char *prefix, const char *map)
{
    size_t pl = strlen(prefix), n = strlen(path);
    if (strncmp(path, prefix, pl) != 0 || n < pl + 2 ||
        strcmp(path + n - 2, "']") != 0)
        return NULL;
    const json_t *m = wl_json_get(pod, "metadata", map, NULL);
    const char *key = path + pl;
    size_t klen = n - pl - 2;
    const char *k;
    json_t *v;
    /* Compared in place: no copy of the key, so no limit on its length. */
    json_object_foreach((json_t *)m, k, v)
    {
        if (strlen(k) == klen && memcmp(k, key, klen) == 0) {
            const char *s = json_string_value(v);
            return s ? s : "";
        }
    }
    return "";
}

const char *wl_fieldref_map_value(const json_t *pod, const char *path)
{
    const char *v = map_value(pod, path, "metadata.labels['", "labels");
    return v ? v
             : map_value(pod, path, "metadata.annotations['", "annotations");
}
