/* lastwords PATH CODE [TEXT [REPEAT]]: writes TEXT (default "last words")
 * REPEAT times (default 1) to PATH, as a container writes its
 * terminationMessagePath, says so on stdout, then exits with status CODE.
 * PATH "-" writes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: lastwords PATH CODE [TEXT [REPEAT]]\n");
        return 2;
    }
    const char *text = argc > 3 ? argv[3] : "last words";
    long repeat = argc > 4 ? strtol(argv[4], NULL, 10) : 1;
    int code = (int)strtol(argv[2], NULL, 10);
    if (strcmp(argv[1], "-") != 0) {
        FILE *f = fopen(argv[1], "w");
        if (!f) {
            perror(argv[1]);
            return 2;
        }
        for (long i = 0; i < repeat; i++)
            fputs(text, f);
        if (fclose(f) != 0) {
            perror(argv[1]);
            return 2;
        }
        printf("wrote %zu bytes to %s\n", strlen(text) * (size_t)repeat,
               argv[1]);
    }
    printf("exiting with %d\n", code);
    fflush(stdout);
    exit(code);
}
