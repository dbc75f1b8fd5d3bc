/* memhog [MIB]: allocates and touches 1 MiB blocks until MIB are held
 * (default: forever), printing progress. Exits 0 after MIB, or 1 with a
 * message on stderr when an allocation fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    long want = argc > 1 ? strtol(argv[1], NULL, 10) : -1;
    long held = 0;
    /* Blocks are chained through their first word so the compiler cannot
     * prove them unused and drop the allocations. */
    void *volatile head = NULL;
    while (want < 0 || held < want) {
        void **p = malloc(1 << 20);
        if (!p) {
            fprintf(stderr, "memhog: allocation failed after %ld MiB\n", held);
            return 1;
        }
        memset(p, 0xa5, 1 << 20);
        *p = head;
        head = p;
        held++;
    }
    printf("memhog: holding %ld MiB\n", held);
    return 0;
}
