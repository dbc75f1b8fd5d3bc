/* flood MIB [nl|nonl]: writes MIB MiB to stdout as fast as it can, in
 * 64 KiB writes: 1 KiB lines (nl, the default) or one endless line (nonl),
 * then says so on stderr and exits 0. For log-flood tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 100;
    int lines = !(argc > 2 && strcmp(argv[2], "nonl") == 0);
    static char buf[65536];

    memset(buf, 'x', sizeof(buf));
    if (lines)
        for (size_t i = 1023; i < sizeof(buf); i += 1024)
            buf[i] = '\n';
    for (long i = 0; i < mib * 16; i++) {
        for (size_t done = 0; done < sizeof(buf);) {
            ssize_t n = write(1, buf + done, sizeof(buf) - done);
            if (n <= 0) {
                perror("flood: write");
                return 1;
            }
            done += (size_t)n;
        }
    }
    fprintf(stderr, "\nflood: wrote %ld MiB\n", mib);
    return 0;
}
