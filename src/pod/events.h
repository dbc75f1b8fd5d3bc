/* Kubernetes Events about a pod, as the kubelet reports them (source
 * component "kubelet", the node as host), so `kubectl describe pod` and
 * `kubectl get events` show what happened. Posting is best effort: a
 * failure is logged at debug level and never stops the pod. */
#ifndef WL_POD_EVENTS_H
#define WL_POD_EVENTS_H

#include <jansson.h>
#include <stdbool.h>

#include "kube/client.h"

/* Builds the Event object (NULL when pod has no namespace/name or memory
 * ran out). */
json_t *wl_pod_event_build(const char *node, const json_t *pod,
                           const char *field_path, bool warning,
                           const char *reason, const char *message);

/* Posts an Event on pod (a Pod object). field_path (e.g.
 * "spec.containers{main}") may be NULL. */
void wl_pod_event(struct wl_kube_client *c, const char *node,
                  const json_t *pod, const char *field_path, bool warning,
                  const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

#endif
