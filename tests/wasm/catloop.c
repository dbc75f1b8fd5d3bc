/* catloop SECONDS FILE...: prints "FILE=<content>" for each file (or
 * "FILE: <error>"), then again every SECONDS; 0 prints once and exits 0.
 * Volume tests watch a file change under a running module with it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void show(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("%s: %s\n", path, strerror(errno));
        return;
    }
    char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    printf("%s=%s\n", path, buf);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: catloop SECONDS FILE...\n");
        return 2;
    }
    long secs = strtol(argv[1], NULL, 10);
    for (;;) {
        for (int i = 2; i < argc; i++)
            show(argv[i]);
        fflush(stdout);
        if (secs <= 0)
            return 0;
        sleep((unsigned)secs);
    }
}
