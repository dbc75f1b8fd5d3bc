/* The kubelet's health endpoint (its --healthz-port, 10248): plain HTTP on
 * a local address, no authentication, for liveness probes and operators'
 * scripts (`curl http://127.0.0.1:10248/healthz`).
 *
 *   /healthz, /healthz/syncloop  200 "ok"; 500 when the pod manager's
 *                                owner thread has been stuck on one turn
 *                                for more than WL_HEALTHZ_STALL_S
 *   /healthz/ping                200 "ok" while the process answers
 *
 * Until the pod manager runs (registration, a wait for the API server)
 * and once it has stopped, /healthz says "ok": the process answers, and a
 * liveness probe restarting it would not bring the API server back.
 *
 * Anything else is 404, a method other than GET/HEAD 405. One
 * libmicrohttpd thread serves every connection (each answer is a few
 * bytes); libmicrohttpd parses the request, this file only compares the
 * path it hands over. */
#ifndef WL_SERVER_HEALTHZ_H
#define WL_SERVER_HEALTHZ_H

#include "pod/manager.h"
#include "util/error.h"

#define WL_HEALTHZ_STALL_S 60.0

struct wl_healthz;

/* Listens on address:port (address an IP literal). */
int wl_healthz_start(const char *address, int port, struct wl_healthz **ret,
                     struct wl_error *err);

/* The pod manager to watch, or NULL before the manager is stopped: once
 * this returns no request looks at the old one. Accepts h NULL. */
void wl_healthz_set_manager(struct wl_healthz *h,
                            struct wl_pod_manager *manager);

/* Accepts NULL. */
void wl_healthz_stop(struct wl_healthz *h);

#endif
