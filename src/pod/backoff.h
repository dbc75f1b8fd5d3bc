/* Restart backoff for crashing containers, as the kubelet's
 * CrashLoopBackOff: the first restart is immediate, then 10 s, doubling
 * up to 5 min; a container that ran for 10 min before exiting starts the
 * sequence again. */
#ifndef WL_POD_BACKOFF_H
#define WL_POD_BACKOFF_H

#include <stdint.h>

#define WL_BACKOFF_INITIAL_MS (10 * 1000)
#define WL_BACKOFF_MAX_MS (300 * 1000)
#define WL_BACKOFF_RESET_MS (600 * 1000)

struct wl_backoff {
    int64_t next_ms; /* delay for the next restart; 0 before the first */
};

/* How long to wait before restarting a container that exited after
 * running ran_ms, and advances b. */
int64_t wl_backoff_delay(struct wl_backoff *b, int64_t ran_ms);

#endif
