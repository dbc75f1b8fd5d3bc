#include "util/sig.h"

#include <errno.h>
#include <time.h>

/* Time left until deadline (CLOCK_MONOTONIC); zero once it has passed. */
static struct timespec remaining(const struct timespec *deadline)
{
    struct timespec now, left = {0, 0};
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > deadline->tv_sec ||
        (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec))
        return left;
    left.tv_sec = deadline->tv_sec - now.tv_sec;
    left.tv_nsec = deadline->tv_nsec - now.tv_nsec;
    if (left.tv_nsec < 0) {
        left.tv_sec--;
        left.tv_nsec += 1000000000L;
    }
    return left;
}

int wl_sig_wait(const sigset_t *set, int seconds)
{
    return wl_sig_wait_ms(set, seconds < 0 ? 0 : (long)seconds * 1000);
}

int wl_sig_wait_ms(const sigset_t *set, long ms)
{
    if (ms < 0)
        ms = 0;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += ms % 1000 * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    for (;;) {
        struct timespec left = remaining(&deadline);
        if (!set) {
            /* nanosleep() writes what is left back on EINTR; going by the
             * deadline instead keeps both paths alike. */
            if (nanosleep(&left, NULL) == 0)
                return 0;
        } else {
            int s = sigtimedwait(set, NULL, &left);
            if (s > 0)
                return s;
            if (errno == EAGAIN)
                return 0;
        }
        /* EINTR: another signal was handled; wait for what remains (a
         * zero wait polls once more and then returns 0). */
    }
}
