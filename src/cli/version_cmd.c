#include <stdio.h>

#include "cli/cli.h"
#include "runtime/engine.h"

int wl_cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("wasmlet %s\nwasmtime %s\n", WL_VERSION,
           wl_engine_wasmtime_version());
    return 0;
}
