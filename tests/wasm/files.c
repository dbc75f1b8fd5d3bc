/* files read PATH | files write PATH TEXT | files append PATH TEXT | files
 * ls DIR | files fill PATH BYTES [SECONDS]: the file operations volume
 * tests need. fill writes BYTES bytes (that do not compress) to PATH, says
 * so, then sleeps SECONDS (default 3600) and exits 0. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cat(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 1;
    }
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        fwrite(buf, 1, n, stdout);
    fclose(f);
    return 0;
}

static int put(const char *path, const char *mode, const char *text)
{
    FILE *f = fopen(path, mode);
    if (!f) {
        perror(path);
        return 1;
    }
    fputs(text, f);
    if (fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

static int ls(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        perror(path);
        return 1;
    }
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            printf("%s\n", e->d_name);
    closedir(d);
    return 0;
}

static int fill(const char *path, long bytes, long secs)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    static unsigned char buf[65536];
    unsigned x = 2463534242u;
    for (long done = 0; done < bytes;) {
        size_t n = bytes - done < (long)sizeof(buf) ? (size_t)(bytes - done)
                                                    : sizeof(buf);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            buf[i] = (unsigned char)x;
        }
        if (fwrite(buf, 1, n, f) != n) {
            perror(path);
            fclose(f);
            return 1;
        }
        done += (long)n;
    }
    if (fclose(f) != 0) {
        perror(path);
        return 1;
    }
    printf("wrote %ld bytes to %s\n", bytes, path);
    fflush(stdout);
    sleep((unsigned)secs);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "read") == 0)
        return cat(argv[2]);
    if (argc == 4 && strcmp(argv[1], "write") == 0)
        return put(argv[2], "w", argv[3]);
    if (argc == 4 && strcmp(argv[1], "append") == 0)
        return put(argv[2], "a", argv[3]);
    if (argc == 3 && strcmp(argv[1], "ls") == 0)
        return ls(argv[2]);
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "fill") == 0)
        return fill(argv[2], strtol(argv[3], NULL, 10),
                    argc == 5 ? strtol(argv[4], NULL, 10) : 3600);
    fprintf(stderr, "usage: files read PATH | write PATH TEXT | "
                    "append PATH TEXT | ls DIR | fill PATH BYTES "
                    "[SECONDS]\n");
    return 2;
}
