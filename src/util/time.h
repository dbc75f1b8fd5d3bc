/* Clocks. */
#ifndef WL_UTIL_TIME_H
#define WL_UTIL_TIME_H

/* Seconds on the monotonic clock, for measuring durations. */
double wl_now_s(void);

#endif
