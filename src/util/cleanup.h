/* Scope-bound cleanup for locals (the systemd/crun idiom).
 *
 * A local that owns a resource is declared with its cleanup, so every early
 * return releases it:
 *
 *     _cleanup_free_ char *s = strdup(x);
 *     _cleanup_close_ int fd = open(...);
 *
 * TAKE_PTR(p) hands ownership out of such a local: it returns p and sets the
 * local to NULL so the cleanup does nothing.
 */
#ifndef WL_UTIL_CLEANUP_H
#define WL_UTIL_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void wl_freep(void *p) { free(*(void **)p); }

static inline void wl_closep(int *fd)
{
    if (*fd >= 0)
        (void)close(*fd);
}

static inline void wl_fclosep(FILE **f)
{
    if (*f)
        (void)fclose(*f);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(wl_freep)
#define _cleanup_close_ _cleanup_(wl_closep)
#define _cleanup_fclose_ _cleanup_(wl_fclosep)

#define TAKE_PTR(p)                                                            \
    ({                                                                         \
        __typeof__(p) wl_take_tmp_ = (p);                                      \
        (p) = NULL;                                                            \
        wl_take_tmp_;                                                          \
    })

#define TAKE_FD(fd)                                                            \
    ({                                                                         \
        int wl_take_fd_ = (fd);                                                \
        (fd) = -1;                                                             \
        wl_take_fd_;                                                           \
    })

#define WL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
