/* logspam [LINES]: writes LINES numbered lines (default 1000), even ones to
 * stdout and odd ones to stderr. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    long lines = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
    for (long i = 0; i < lines; i++)
        fprintf(i % 2 ? stderr : stdout, "line %ld\n", i);
    return 0;
}
