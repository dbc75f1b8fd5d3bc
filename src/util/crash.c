#include "util/crash.h"

#include <execinfo.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Only async-signal-safe calls below: write(2) of text formatted by hand,
 * and backtrace_symbols_fd(), whose library is loaded at install. */

static void put(const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void put_num(uintmax_t v, unsigned base)
{
    char buf[32];
    size_t i = sizeof(buf);
    buf[--i] = '\0';
    do {
        buf[--i] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v > 0 && i > 0);
    put(buf + i);
}

static void on_fault(int sig, siginfo_t *si, void *uctx)
{
    (void)uctx;
    void *frames[64];

    put("wasmlet: fatal signal ");
    put_num((uintmax_t)sig, 10);
    put(" (");
    put(sig == SIGSEGV ? "SIGSEGV" : sig == SIGBUS ? "SIGBUS"
        : sig == SIGILL ? "SIGILL" : "SIGFPE");
    put(") at address 0x");
    put_num((uintmax_t)(uintptr_t)si->si_addr, 16);
    put(", code ");
    put_num((uintmax_t)(unsigned)si->si_code, 10);
    put(", thread ");
    put_num((uintmax_t)syscall(SYS_gettid), 10);
    put("; backtrace:\n");
    int n = backtrace(frames, (int)(sizeof(frames) / sizeof(frames[0])));
    backtrace_symbols_fd(frames, n, STDERR_FILENO);

    /* Die of the same signal, as without this handler. */
    signal(sig, SIG_DFL);
    raise(sig);
}

void wl_crash_handler_install(void)
{
    static char altstack[64 * 1024];
    void *frame;

    (void)backtrace(&frame, 1); /* loads libgcc now, not in the handler */
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
    (void)sigaltstack(&ss, NULL);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        (void)sigaction(sigs[i], &sa, NULL);
}
