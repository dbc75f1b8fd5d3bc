/* ticker INTERVAL_MS COUNT [BUSY_MS]: prints "tick N" every INTERVAL_MS
 * (sleeping through WASI's poll_oneoff), COUNT times (0: forever), then
 * exits 0. With BUSY_MS it also spins that long before each tick, so it
 * uses CPU that /stats/summary can see. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    long interval = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
    long count = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
    long busy = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
    volatile unsigned long sink = 0;
    for (long i = 0; count == 0 || i < count; i++) {
        double until = now_ms() + (double)busy;
        while (now_ms() < until)
            sink++;
        printf("tick %ld\n", i);
        fflush(stdout);
        struct timespec ts = {interval / 1000, (interval % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}
