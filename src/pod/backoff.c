#include "pod/backoff.h"

int64_t wl_backoff_delay(struct wl_backoff *b, int64_t ran_ms)
{
    if (ran_ms >= WL_BACKOFF_RESET_MS)
        b->next_ms = 0; /* it ran long enough: forgive the past */
    int64_t delay = b->next_ms;
    if (b->next_ms == 0)
        b->next_ms = WL_BACKOFF_INITIAL_MS;
    else if (b->next_ms < WL_BACKOFF_MAX_MS / 2)
        b->next_ms *= 2;
    else
        b->next_ms = WL_BACKOFF_MAX_MS;
    return delay;
}
