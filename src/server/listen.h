/* What the kubelet API and the health endpoint share: turning a bind
 * address from the configuration into what libmicrohttpd listens on, and
 * libmicrohttpd's log messages into ours. */
#ifndef WL_SERVER_LISTEN_H
#define WL_SERVER_LISTEN_H

#include <stdarg.h>
#include <stdbool.h>
#include <sys/socket.h>

/* addr: an IPv4 or IPv6 literal. Fills *ss with it and port; *v6 tells
 * which (MHD_USE_IPv6 is needed for the latter). Returns -1 when addr is
 * neither. */
int wl_listen_addr(const char *addr, int port, struct sockaddr_storage *ss,
                   bool *v6);

/* libmicrohttpd's MHD_OPTION_EXTERNAL_LOGGER: its messages at debug
 * level, prefixed with cls (a string such as "kubelet API"). */
void wl_listen_mhd_log(void *cls, const char *fmt, va_list ap);

#endif
