/* files read PATH | files write PATH TEXT | files append PATH TEXT | files
 * ls DIR: the file operations volume tests need. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

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
    fprintf(stderr, "usage: files read PATH | write PATH TEXT | "
                    "append PATH TEXT | ls DIR\n");
    return 2;
}
