/* wasmlet: a Kubernetes node agent that runs WebAssembly (WASI) pods.
 * This file only picks the subcommand; the work lives in libwasmlet. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/crash.h"
#include "util/log.h"

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"serve", wl_cmd_serve, "join a cluster as a node for wasm pods"},
    {"run", wl_cmd_run, "run one WASI module, exit with its exit code"},
    {"pull", wl_cmd_pull, "pull an image's wasm module into the store"},
    {"push", wl_cmd_push, "publish a .wasm file to an OCI registry"},
    {"gc", wl_cmd_gc, "remove module-store blobs no kept image uses"},
    {"watch", wl_cmd_watch, "list+watch an API collection, one line per change"},
    {"version", wl_cmd_version, "print the wasmlet and wasmtime versions"},
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: wasmlet COMMAND [ARGS...]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nRun 'wasmlet COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    wl_crash_handler_install();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return wl_cmd_version(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    }
    log_error("unknown command \"%s\"", argv[1]);
    usage(stderr);
    return 2;
}
