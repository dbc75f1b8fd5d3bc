/* wasmlet version: ours (the generated version.h, from meson's project
 * version) and the wasmtime C API's. */
#include <stdio.h>

#include "cli/cli.h"
#include "runtime/engine.h"
#include "version.h"

int wl_cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("wasmlet %s\nwasmtime %s\n", WL_VERSION,
           wl_engine_wasmtime_version());
    return 0;
}
