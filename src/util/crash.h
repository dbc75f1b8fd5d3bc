/* A report for the crashes nothing else reports.
 *
 * wasmtime turns faults in guest code into traps with its own signal
 * handlers and passes every other fault on to the handler installed before
 * it. Under a plain build or ASan with handle_segv=0 that would be the
 * default action: the process dies with nothing said. Installed first
 * thing in main(), this handler is the one wasmtime passes faults on to; it
 * writes the signal, the faulting address and a backtrace to stderr, then
 * lets the signal kill the process as it would have.
 */
#ifndef WL_UTIL_CRASH_H
#define WL_UTIL_CRASH_H

/* Installs the handler for SIGSEGV, SIGBUS, SIGILL and SIGFPE on an
 * alternate stack of the calling thread (other threads run it on their
 * own stack; a stack overflow there is reported by wasmtime's guard
 * handling or not at all). Call before any engine exists. */
void wl_crash_handler_install(void);

#endif
