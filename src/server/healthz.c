#include "server/healthz.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "server/listen.h"
#include "util/log.h"

#define HEALTHZ_CONNECTIONS 16
#define HEALTHZ_TIMEOUT_S 5
#define HEALTHZ_MEMORY (16 * 1024)

struct wl_healthz {
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock;           /* guards manager */
    struct wl_pod_manager *manager; /* NULL: no pods run (yet, or now) */
};

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status,
                              const char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct wl_healthz *h = cls;
    (void)version;
    (void)upload;
    if (!*con_cls) { /* headers are in; a body (if any) comes next */
        *con_cls = h;
        return MHD_YES;
    }
    if (*upload_size) { /* nothing here takes a body */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return answer(conn, 405, "method not allowed\n");
    if (!strcmp(url, "/healthz/ping"))
        return answer(conn, 200, "ok");
    if (strcmp(url, "/healthz") != 0 && strcmp(url, "/healthz/syncloop") != 0)
        return answer(conn, 404, "not found\n");
    pthread_mutex_lock(&h->lock);
    double stalled = h->manager ? wl_pod_manager_stalled_s(h->manager) : 0;
    pthread_mutex_unlock(&h->lock);
    if (stalled <= WL_HEALTHZ_STALL_S)
        return answer(conn, 200, "ok");
    char msg[160];
    snprintf(msg, sizeof(msg),
             "[-]syncloop failed: the pod manager has been stuck on one "
             "turn for %.0f s\nhealthz check failed\n",
             stalled);
    log_warning("healthz: the pod manager has been stuck for %.0f s",
                stalled);
    return answer(conn, 500, msg);
}

int wl_healthz_start(const char *address, int port, struct wl_healthz **ret,
                     struct wl_error *err)
{
    struct sockaddr_storage ss;
    bool v6;
    if (wl_listen_addr(address, port, &ss, &v6) < 0)
        return wl_error_set(err, 0, "healthz: bad bind address \"%s\"",
                            address);
    struct wl_healthz *h = calloc(1, sizeof(*h));
    if (!h)
        return wl_error_set(err, ENOMEM, "healthz");
    pthread_mutex_init(&h->lock, NULL);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                     MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
    h->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, h,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)HEALTHZ_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HEALTHZ_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HEALTHZ_MEMORY,
        MHD_OPTION_EXTERNAL_LOGGER, wl_listen_mhd_log, "healthz",
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_END);
    if (!h->daemon) {
        int e = errno;
        pthread_mutex_destroy(&h->lock);
        free(h);
        return wl_error_set(err, e, "healthz: cannot listen on %s:%d",
                            address, port);
    }
    log_info("healthz listening address=%s port=%d", address, port);
    *ret = h;
    return 0;
}

void wl_healthz_set_manager(struct wl_healthz *h,
                            struct wl_pod_manager *manager)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->manager = manager;
    pthread_mutex_unlock(&h->lock);
}

void wl_healthz_stop(struct wl_healthz *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->daemon);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
