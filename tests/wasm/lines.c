/* lines N CODE [PAD]: prints "line 1" ... "line N", each followed by PAD
 * (default 0) x's, on stdout (odd) and stderr (even), then exits with
 * status CODE: output for terminationMessagePolicy FallbackToLogsOnError. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: lines N CODE [PAD]\n");
        return 2;
    }
    long n = strtol(argv[1], NULL, 10);
    long pad = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
    for (long i = 1; i <= n; i++) {
        FILE *f = i % 2 ? stdout : stderr;
        fprintf(f, "line %ld", i);
        for (long k = 0; k < pad; k++)
            fputc('x', f);
        fputc('\n', f);
        fflush(f);
    }
    exit((int)strtol(argv[2], NULL, 10));
}
