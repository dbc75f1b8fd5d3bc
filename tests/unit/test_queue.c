/* The owner's message queue: order per sender, nothing lost, timeouts,
 * close. Four producer threads make this a ThreadSanitizer test too. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "test.h"
#include "util/queue.h"

#define PRODUCERS 4
#define PER_PRODUCER 5000

struct msg {
    int producer;
    int seq;
};

static void *produce(void *arg)
{
    struct wl_queue *q = ((void **)arg)[0];
    int id = (int)(intptr_t)((void **)arg)[1];
    for (int i = 0; i < PER_PRODUCER; i++) {
        struct msg *m = malloc(sizeof(*m));
        m->producer = id;
        m->seq = i;
        if (wl_queue_push(q, m) < 0)
            free(m);
    }
    return NULL;
}

static void test_queue_delivers_everything_in_order_per_sender(void)
{
    struct wl_queue *q = wl_queue_new(free);
    pthread_t t[PRODUCERS];
    void *args[PRODUCERS][2];
    for (int i = 0; i < PRODUCERS; i++) {
        args[i][0] = q;
        args[i][1] = (void *)(intptr_t)i;
        pthread_create(&t[i], NULL, produce, args[i]);
    }
    int next[PRODUCERS] = {0};
    int got = 0;
    while (got < PRODUCERS * PER_PRODUCER) {
        struct msg *m = wl_queue_pop(q, 5000);
        if (!m)
            break;
        if (m->seq != next[m->producer]) {
            free(m);
            break;
        }
        next[m->producer]++;
        got++;
        free(m);
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(t[i], NULL);
    CHECK_INT(got, PRODUCERS * PER_PRODUCER);
    CHECK(wl_queue_pop(q, 0) == NULL);
    wl_queue_free(q);
}

static void test_queue_pop_times_out(void)
{
    struct wl_queue *q = wl_queue_new(NULL);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    CHECK(wl_queue_pop(q, 100) == NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    CHECK(ms >= 90);
    wl_queue_free(q);
}

static void test_queue_close_refuses_pushes_but_drains(void)
{
    struct wl_queue *q = wl_queue_new(NULL);
    static int a = 1, b = 2;
    CHECK_INT(wl_queue_push(q, &a), 0);
    wl_queue_close(q);
    CHECK(wl_queue_closed(q));
    CHECK_INT(wl_queue_push(q, &b), -1);
    CHECK(wl_queue_pop(q, -1) == &a);
    CHECK(wl_queue_pop(q, -1) == NULL); /* closed and empty: no wait */
    wl_queue_free(q);
}

static void test_queue_free_frees_leftovers(void)
{
    struct wl_queue *q = wl_queue_new(free);
    CHECK_INT(wl_queue_push(q, malloc(16)), 0);
    CHECK_INT(wl_queue_push(q, malloc(16)), 0);
    wl_queue_free(q); /* LeakSanitizer checks the two blocks went */
}

WL_TEST_MAIN(WL_T(test_queue_delivers_everything_in_order_per_sender),
             WL_T(test_queue_pop_times_out),
             WL_T(test_queue_close_refuses_pushes_but_drains),
             WL_T(test_queue_free_frees_leftovers))
