/* libFuzzer target: image layers (tar, plain or gzip) searched for the
 * module, read from an fd as the puller does, with a small size limit. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "oci/tar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz-tar", MFD_CLOEXEC);
    if (fd < 0)
        abort();
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(fd, data + off, size - off);
        if (n <= 0)
            abort();
        off += (size_t)n;
    }
    if (lseek(fd, 0, SEEK_SET) != 0)
        abort();

    struct wl_error err = WL_ERROR_INIT;
    uint8_t *out = NULL;
    size_t len = 0;
    int found = -1;
    int r = wl_tar_extract(fd, "app/hello.wasm", 64 * 1024, &out, &len, &found,
                           &err);
    if (r < 0) {
        if (!err.msg || out)
            abort();
        wl_error_clear(&err);
    } else if (found == 1) {
        if (!out || len > 64 * 1024)
            abort();
    } else if (found != 0 || out) {
        abort();
    }
    free(out);
    (void)close(fd);
    return 0;
}
