#include "pod/events.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "node/node.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

json_t *wl_pod_event_build(const char *node, const json_t *pod,
                           const char *field_path, bool warning,
                           const char *reason, const char *message)
{
    const char *ns = wl_json_str(pod, "metadata", "namespace", NULL);
    const char *name = wl_json_str(pod, "metadata", "name", NULL);
    const char *uid = wl_json_str(pod, "metadata", "uid", NULL);
    char *gen = NULL, now[40];

    if (!ns || !name || asprintf(&gen, "%s.", name) < 0)
        return NULL;
    wl_time_format(time(NULL), now, sizeof(now));
    json_t *ev = json_pack(
        "{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s}, s:s, s:s, "
        "s:s, s:{s:s, s:s}, s:s, s:s, s:i, s:s, s:s}",
        "apiVersion", "v1", "kind", "Event", "metadata", "generateName", gen,
        "namespace", ns, "involvedObject", "apiVersion", "v1", "kind", "Pod",
        "namespace", ns, "name", name, "uid", uid ? uid : "", "reason", reason,
        "message", message, "type", warning ? "Warning" : "Normal", "source",
        "component", "kubelet", "host", node, "firstTimestamp", now,
        "lastTimestamp", now, "count", 1, "reportingComponent", "kubelet",
        "reportingInstance", node);
    if (ev && field_path)
        json_object_set_new(json_object_get(ev, "involvedObject"), "fieldPath",
                            json_string(field_path));
    free(gen);
    return ev;
}

void wl_pod_event(struct wl_kube_client *c, const char *node,
                  const json_t *pod, const char *field_path, bool warning,
                  const char *reason, const char *fmt, ...)
{
    const char *ns = wl_json_str(pod, "metadata", "namespace", NULL);
    char *msg = NULL, *path = NULL;
    va_list ap;

    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    json_t *ev = n < 0 ? NULL
                       : wl_pod_event_build(node, pod, field_path, warning,
                                            reason, msg);
    struct wl_error err = WL_ERROR_INIT;
    if (ev && asprintf(&path, "/api/v1/namespaces/%s/events", ns) < 0)
        path = NULL;
    if (path && wl_kube_request(c, "POST", path, NULL, ev, NULL, NULL, &err) <
                    0)
        log_debug("event reason=%s pod=%s not posted: %s", reason,
                  wl_json_str(pod, "metadata", "name", NULL), err.msg);
    wl_error_clear(&err);
    json_decref(ev);
    free(msg);
    free(path);
}
