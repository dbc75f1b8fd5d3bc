/* Waiting for blocked signals: the daemon's sleep.
 *
 * wasmlet blocks SIGTERM/SIGINT in every thread and takes them with
 * sigtimedwait(), so waiting for a signal and sleeping are one call and no
 * signal handler or shared flag is needed.
 */
#ifndef WL_UTIL_SIG_H
#define WL_UTIL_SIG_H

#include <signal.h>

/* Waits up to seconds for one of the signals in set, which must be blocked
 * in the calling thread (so they queue instead of being delivered). Returns
 * the signal number taken, or 0 when seconds passed without one. A NULL set
 * only sleeps. Other signals interrupting the wait (EINTR) do not end it
 * early: the wait is resumed for the time that remains. Cannot fail. */
int wl_sig_wait(const sigset_t *set, int seconds);

/* wl_sig_wait() in milliseconds. */
int wl_sig_wait_ms(const sigset_t *set, long ms);

#endif
