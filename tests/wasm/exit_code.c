/* exit_code N: exits with status N (default 3). */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    long code = 3;
    if (argc > 1) {
        char *end;
        code = strtol(argv[1], &end, 10);
        if (*end) {
            fprintf(stderr, "exit_code: not a number: %s\n", argv[1]);
            return 2;
        }
    }
    printf("exiting with %ld\n", code);
    fflush(stdout);
    exit((int)code);
}
