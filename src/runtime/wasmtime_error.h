/* wasmtime's errors and traps into ours: the one place in runtime/ that
 * reads the message of a wasmtime_error_t or a wasm_trap_t. Every other
 * file hands what wasmtime returned to a function here, which takes it
 * (deletes it) and gives back our error or the message users see.
 *
 * Internal to runtime/ (and bench/): wasmtime types do not leave it.
 * Owns no state; safe from any thread.
 */
#ifndef WL_RUNTIME_WASMTIME_ERROR_H
#define WL_RUNTIME_WASMTIME_ERROR_H

#include <stdbool.h>
#include <stddef.h>
#include <wasmtime.h>

#include "util/error.h"

/* One line of a wasmtime error message (which may hold "Caused by:"
 * sections and, with RUST_BACKTRACE set, a Rust stack): its first line,
 * then ": " and the first cause when with_head, or only the first cause
 * (the first line when there is none). malloc'd; NULL when out of memory. */
char *wl_wasmtime_summary(const char *data, size_t size, bool with_head);

/* The summary (above) of error's message, or of trap's when error is
 * NULL. Takes and deletes both (either may be NULL, not both). malloc'd;
 * NULL when out of memory. */
char *wl_wasmtime_message(wasmtime_error_t *error, wasm_trap_t *trap,
                          bool with_head);

/* Fills err with "<what>: <first line>: <cause>" of error's message and
 * deletes error. Returns -1. */
int wl_error_from_wasmtime(struct wl_error *err, wasmtime_error_t *error,
                           const char *what);

#endif
