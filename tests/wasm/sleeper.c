/* sleeper [SECONDS]: prints a line, sleeps (default 3600 s) through WASI's
 * poll_oneoff, prints another, exits 0. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long secs = argc > 1 ? strtol(argv[1], NULL, 10) : 3600;
    printf("sleeping %ld s\n", secs);
    fflush(stdout);
    sleep((unsigned)secs);
    printf("woke up\n");
    return 0;
}
