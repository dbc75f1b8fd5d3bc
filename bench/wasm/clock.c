/* clock INTERVAL_MS COUNT: prints the realtime clock (WASI clock_time_get,
 * which is the host's CLOCK_REALTIME) in nanoseconds, one line every
 * INTERVAL_MS, COUNT times (0: forever), then exits 0. bench/run compares
 * each line's time with the time `kubectl logs -f` delivered it. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    long interval = argc > 1 ? strtol(argv[1], NULL, 10) : 20;
    long count = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
    for (long i = 0; count == 0 || i < count; i++) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        printf("%lld %ld\n",
               (long long)now.tv_sec * 1000000000LL + now.tv_nsec, i);
        fflush(stdout);
        struct timespec ts = {interval / 1000, (interval % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}
