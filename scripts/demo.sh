#!/usr/bin/env bash
# The main job, from a fresh clone: installs dependencies, builds wasmlet,
# brings up a local Kubernetes control plane and an OCI registry on
# 127.0.0.1, publishes the sample module tests/wasm/hello.c to the registry
# with `wasmlet push`, pulls it back with `wasmlet pull` (verified by
# digest into the module store) and runs it with `wasmlet run`.
#
# Then it starts `wasmlet serve` as a node of that cluster, waits for the
# node to be Ready, and runs the module as a pod the scheduler places on
# the node, showing its status and log. The cluster, registry and node
# stay up for you to try (`scripts/demo.sh stop` brings them down).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$WL_ROOT"

# WL_DEMO_DIR holds the node's data dir, pid and log (default .wasmlet/);
# WL_DEMO_PORT is the node's kubelet port. With WL_CLUSTER_DIR,
# WL_REGISTRY_DIR and the WL_*_PORT variables of scripts/cluster.sh and
# scripts/registry.sh, a second demo can run beside the first (the e2e
# test does).
demo_dir=${WL_DEMO_DIR:-$WL_ROOT/.wasmlet}
demo_port=${WL_DEMO_PORT:-10250}
node_pid=$demo_dir/wasmlet.pid
node_log=$demo_dir/wasmlet.log
mkdir -p "$demo_dir"

stop_node() {
    if [[ -f $node_pid ]] && kill "$(cat "$node_pid")" 2>/dev/null; then
        wl_log "stopping wasmlet node (it marks itself NotReady)"
        while kill -0 "$(cat "$node_pid")" 2>/dev/null; do sleep 0.2; done
    fi
    rm -f "$node_pid"
}

if [[ ${1:-} == stop ]]; then
    stop_node
    bash scripts/registry.sh stop
    bash scripts/cluster.sh stop
    exit 0
fi

t0=$SECONDS
bash scripts/deps.sh
wl_log "building wasmlet"
[[ -f build/build.ninja ]] || meson setup build >/dev/null
ninja -C build >/dev/null

bash scripts/cluster.sh start
bash scripts/registry.sh start
eval "$(bash scripts/cluster.sh env)"
eval "$(bash scripts/registry.sh env)"
registry=127.0.0.1:${WL_REGISTRY_PORT:-25000}

wl_log "kubectl get --raw /readyz"
"$WL_KUBECTL" get --raw /readyz
echo

# Publish the sample module as a wasm OCI artifact, pull it back into a
# module store (verified by digest) and run it.
image=$registry/demo/hello:v1
wl_log "wasmlet push build/tests/wasm/hello.wasm $image"
./build/wasmlet push --insecure build/tests/wasm/hello.wasm "$image"
wl_log "wasmlet pull $image"
pulled=$(./build/wasmlet pull --data-dir "$demo_dir/node" \
    --insecure-registry "$registry" --pull-policy Always "$image")
echo "$pulled"
module_path=$(sed -n 's/^path: //p' <<<"$pulled")
wl_log "running the pulled module:"
./build/wasmlet run --env GREETING=hello "$module_path" -- from the registry

stop_node
wl_log "starting wasmlet serve as node wasm-demo (log: $node_log)"
./build/wasmlet serve --kubeconfig "$KUBECONFIG" --node-name wasm-demo \
    --node-ip 127.0.0.1 --port "$demo_port" --data-dir "$demo_dir/node" \
    --insecure-registries "$registry" >>"$node_log" 2>&1 &
echo $! >"$node_pid"
for _ in $(seq 50); do
    ready=$("$WL_KUBECTL" get node wasm-demo \
        -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)
    [[ $ready == True ]] && break
    sleep 0.2
done
[[ $ready == True ]] || wl_die "node wasm-demo did not become Ready; see $node_log"
"$WL_KUBECTL" get nodes -o wide
"$WL_KUBECTL" get node wasm-demo \
    -o jsonpath='{range .spec.taints[*]}taint: {.key}={.value}:{.effect}{"\n"}{end}'

# The main job: examples/hello.yaml, a wasm pod placed by the scheduler
# through the node's label and taints, run by wasmlet. Its image names the
# default registry; another registry port is put in on the way.
wl_log "kubectl apply -f examples/hello.yaml (nodeSelector + tolerations for wasm32-wasi)"
"$WL_KUBECTL" delete pod hello-wasm --ignore-not-found --wait=true >/dev/null
sed "s#image: 127.0.0.1:25000/demo/hello:v1#image: $image#" examples/hello.yaml |
    "$WL_KUBECTL" apply -f -

# Progress: the pod's phase, node and container state reason each time
# they change, with the seconds since it was created.
t_pod=$SECONDS last=
for _ in $(seq 300); do
    state=$("$WL_KUBECTL" get pod hello-wasm -o jsonpath='{.status.phase} {.spec.nodeName} {.status.containerStatuses[0].state.*.reason}' 2>/dev/null || true)
    read -r phase node reason <<<"$state"
    if [[ $state != "$last" ]]; then
        printf '    %3d s  %s%s%s\n' "$((SECONDS - t_pod))" "${phase:-Pending}" \
            "${node:+ on $node}" "${reason:+: $reason}" >&2
        last=$state
    fi
    [[ $phase == Succeeded || $phase == Failed ]] && break
    sleep 0.2
done
"$WL_KUBECTL" get pod hello-wasm -o wide
[[ $phase == Succeeded ]] || wl_die "pod hello-wasm ended ${phase:-unknown}; see $node_log"
# The log comes back the way users read it: kubectl -> API server ->
# wasmlet's kubelet API.
wl_log "kubectl logs hello-wasm:"
"$WL_KUBECTL" logs hello-wasm

wl_log "done in $((SECONDS - t0)) s; the cluster, the registry and node wasm-demo keep running."
wl_log "use kubectl against it:"
wl_log "  export KUBECONFIG=$KUBECONFIG"
wl_log "  $WL_KUBECTL get nodes,pods -o wide"
wl_log "node log: $node_log"
wl_log "stop everything: scripts/demo.sh stop"
