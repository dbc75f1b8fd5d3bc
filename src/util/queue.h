/* A multi-producer, single-consumer queue of owned messages: how threads
 * talk to the thread that owns some state (DESIGN.md, "Concurrency
 * model"). A message's memory belongs to the receiver once sent.
 *
 * Senders: wl_queue_push from any thread. The owner: wl_queue_pop, which
 * waits up to a timeout. The queue never drops a message: push only fails
 * once the queue is closed (or out of memory), and says so.
 */
#ifndef WL_UTIL_QUEUE_H
#define WL_UTIL_QUEUE_H

#include <stdbool.h>

struct wl_queue;

/* free_fn frees messages still queued when the queue is freed (may be
 * NULL when messages need no freeing). */
struct wl_queue *wl_queue_new(void (*free_fn)(void *msg));

/* Frees the queue and every message still in it. Only after every sender
 * has stopped. Accepts NULL. */
void wl_queue_free(struct wl_queue *q);

/* Appends msg; the queue (then the receiver) owns it. Returns 0, or -1
 * when the queue is closed or memory ran out — msg then still belongs to
 * the caller. */
int wl_queue_push(struct wl_queue *q, void *msg);

/* Takes the oldest message, waiting up to timeout_ms (0: do not wait,
 * negative: forever). Returns NULL on timeout, or when the queue is closed
 * and empty. */
void *wl_queue_pop(struct wl_queue *q, long timeout_ms);

/* Refuses further pushes and wakes the receiver; what is queued can still
 * be popped. */
void wl_queue_close(struct wl_queue *q);

/* Whether close was called. */
bool wl_queue_closed(struct wl_queue *q);

#endif
