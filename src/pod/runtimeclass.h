/* spec.runtimeClassName: the RuntimeClass a pod asks for, and whether
 * wasmlet has its handler.
 *
 * wasmlet has one runtime, with two handler names: "wasmtime" (what runs
 * the modules) and "wasmlet" (the node). A pod without runtimeClassName
 * runs; one whose RuntimeClass does not exist, or names another handler,
 * does not. As the kubelet (kuberuntime's createPodSandbox, which looks the
 * class up through its RuntimeClass manager before RunPodSandbox): a
 * Warning Event FailedCreatePodSandBox "Failed to create pod sandbox:
 * <why>", the pod stays Pending (its containers waiting ContainerCreating,
 * with the reason as message) and the lookup is tried again after a
 * back-off, so creating the class later lets the pod start.
 *
 * The Node authorizer lets a node get RuntimeClasses. Without an API
 * server (`wasmlet run POD.yaml`), the class name itself must be one of
 * the handler names. Pure functions and one GET on the caller's client:
 * no state.
 */
#ifndef WL_POD_RUNTIMECLASS_H
#define WL_POD_RUNTIMECLASS_H

#include <stdbool.h>

#include "kube/client.h"
#include "util/error.h"

/* Whether handler is one of wasmlet's ("wasmtime", "wasmlet"). */
bool wl_runtime_handler_supported(const char *handler);

/* Checks that RuntimeClass name exists and that wasmlet has its handler:
 * 0 when it runs here; -1 otherwise, err saying why in the words of the
 * kubelet's Event (`runtimeclasses.node.k8s.io "x" not found`, `no runtime
 * for "h" is configured`) or the API error. client NULL (no API server):
 * name itself must be a handler name. */
int wl_runtime_class_check(struct wl_kube_client *client, const char *name,
                           struct wl_error *err);

#endif
