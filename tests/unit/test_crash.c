/* The crash report: a fault outside guest code is described on stderr,
 * then the process dies of the same signal. */
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "util/crash.h"

static void test_fault_is_reported_then_kills(void)
{
    int fds[2];
    CHECK_INT(pipe(fds), 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        wl_crash_handler_install();
        /* a read at address 8, as of a member of a NULL struct (the
         * address goes through a volatile so no compiler sees it) */
        volatile uintptr_t addr = 8;
        volatile long *p = (volatile long *)addr;
        (void)*p;
        _exit(0);
    }
    close(fds[1]);
    char out[8192];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof(out) - 1 &&
           (n = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(fds[0]);
    int status;
    CHECK_INT(waitpid(pid, &status, 0), pid);
    CHECK(WIFSIGNALED(status));
    CHECK_INT(WTERMSIG(status), SIGSEGV);
    CHECK_CONTAINS(out, "wasmlet: fatal signal 11 (SIGSEGV) at address 0x8, "
                        "code 1, thread ");
    CHECK_CONTAINS(out, "; backtrace:\n");
    /* at least the handler's and the faulting function's frames */
    const char *bt = strstr(out, "backtrace:\n");
    int frames = 0;
    for (const char *c = bt; c && *c; c++)
        frames += *c == '\n';
    CHECK(frames >= 3);
}

WL_TEST_MAIN(WL_T(test_fault_is_reported_then_kills))
