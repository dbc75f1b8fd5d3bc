/* The wasmlet subcommands. Each takes the arguments after its name
 * (argv[0] is the subcommand) and returns the process exit status.
 * Only src/main.c and src/cli/ include this header: library code never
 * does (the version string lives in the generated version.h). */
#ifndef WL_CLI_CLI_H
#define WL_CLI_CLI_H

/* Exit statuses of our own, chosen like docker/podman and timeout(1) so
 * scripts can tell them from a module's own exit code. */
enum {
    WL_STATUS_TIMEOUT = 124, /* the module ran past --timeout */
    WL_STATUS_FAILED = 125,  /* wasmlet itself failed (bad file, flags) */
    WL_STATUS_TRAP = 134,    /* the module trapped (128 + SIGABRT) */
};

int wl_cmd_run(int argc, char **argv);
int wl_cmd_serve(int argc, char **argv);
int wl_cmd_watch(int argc, char **argv);
int wl_cmd_pull(int argc, char **argv);
int wl_cmd_push(int argc, char **argv);
int wl_cmd_gc(int argc, char **argv);
int wl_cmd_version(int argc, char **argv);

#endif
