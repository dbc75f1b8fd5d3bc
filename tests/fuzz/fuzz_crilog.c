/* libFuzzer target: CRI log records (`kubectl logs` reads back files
 * that a crash may have torn and that anything on the node may have
 * written into). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/crilog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so ASan sees any read past the end. */
    char *line = malloc(size ? size : 1);
    if (!line)
        return 0;
    memcpy(line, data, size);
    struct wl_cri_line rec;
    if (wl_cri_parse_line(line, size, &rec) == 0) {
        /* The text is a suffix of the line, the final '\n' excluded. */
        if (rec.text < line || rec.text > line + size ||
            rec.text_len > (size_t)(line + size - rec.text))
            abort();
        if (rec.text_len && rec.text[rec.text_len - 1] == '\n' &&
            rec.text + rec.text_len == line + size)
            abort();
        if (rec.stream != WL_CRI_STDOUT && rec.stream != WL_CRI_STDERR)
            abort();
    }
    free(line);
    return 0;
}
