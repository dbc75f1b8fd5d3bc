#include "util/queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct node {
    struct node *next;
    void *msg;
};

/* Every field is guarded by lock. */
struct wl_queue {
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    struct node *head, *tail;
    bool closed;
    void (*free_fn)(void *msg);
};

struct wl_queue *wl_queue_new(void (*free_fn)(void *msg))
{
    struct wl_queue *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    /* Timeouts on the monotonic clock: a wall-clock jump must not make
     * the owner sleep for hours or spin. */
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&q->nonempty, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&q->lock, NULL);
    q->free_fn = free_fn;
    return q;
}

void wl_queue_free(struct wl_queue *q)
{
    if (!q)
        return;
    struct node *n = q->head;
    while (n) {
        struct node *next = n->next;
        if (q->free_fn)
            q->free_fn(n->msg);
        free(n);
        n = next;
    }
    pthread_cond_destroy(&q->nonempty);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

int wl_queue_push(struct wl_queue *q, void *msg)
{
    struct node *n = malloc(sizeof(*n));
    if (!n)
        return -1;
    n->next = NULL;
    n->msg = msg;
    pthread_mutex_lock(&q->lock);
    if (q->closed) {
        pthread_mutex_unlock(&q->lock);
        free(n);
        return -1;
    }
    if (q->tail)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
    pthread_cond_signal(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
    return 0;
}

static void deadline_after(long ms, struct timespec *ts)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

void *wl_queue_pop(struct wl_queue *q, long timeout_ms)
{
    struct timespec deadline;
    if (timeout_ms > 0)
        deadline_after(timeout_ms, &deadline);

    pthread_mutex_lock(&q->lock);
    while (!q->head && !q->closed && timeout_ms != 0) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&q->nonempty, &q->lock);
        } else if (pthread_cond_timedwait(&q->nonempty, &q->lock,
                                          &deadline) == ETIMEDOUT) {
            break;
        }
    }
    struct node *n = q->head;
    if (n) {
        q->head = n->next;
        if (!q->head)
            q->tail = NULL;
    }
    pthread_mutex_unlock(&q->lock);
    if (!n)
        return NULL;
    void *msg = n->msg;
    free(n);
    return msg;
}

void wl_queue_close(struct wl_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    pthread_cond_broadcast(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
}

bool wl_queue_closed(struct wl_queue *q)
{
    pthread_mutex_lock(&q->lock);
    bool c = q->closed;
    pthread_mutex_unlock(&q->lock);
    return c;
}
