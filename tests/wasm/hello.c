/* hello: prints its arguments and environment, exits 0. */
#include <stdio.h>

extern char **environ;

int main(int argc, char **argv)
{
    printf("hello from wasm\n");
    for (int i = 0; i < argc; i++)
        printf("arg[%d]=%s\n", i, argv[i]);
    for (char **e = environ; *e; e++)
        printf("env %s\n", *e);
    return 0;
}
