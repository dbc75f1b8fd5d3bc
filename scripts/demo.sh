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

node_pid=$WL_ROOT/.wasmlet/wasmlet.pid
node_log=$WL_ROOT/.wasmlet/wasmlet.log

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
pulled=$(./build/wasmlet pull --data-dir "$WL_ROOT/.wasmlet/node" \
    --insecure-registry "$registry" --pull-policy Always "$image")
echo "$pulled"
module_path=$(sed -n 's/^path: //p' <<<"$pulled")
wl_log "running the pulled module:"
./build/wasmlet run --env GREETING=hello "$module_path" -- from the registry

stop_node
wl_log "starting wasmlet serve as node wasm-demo (log: $node_log)"
./build/wasmlet serve --kubeconfig "$KUBECONFIG" --node-name wasm-demo \
    --node-ip 127.0.0.1 --port 10250 --data-dir "$WL_ROOT/.wasmlet/node" \
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

# The main job: a wasm pod, placed by the scheduler through the node's
# label and taints, run by wasmlet.
wl_log "creating pod hello-wasm (nodeSelector + toleration for wasm32-wasi)"
"$WL_KUBECTL" delete pod hello-wasm --ignore-not-found --wait=true >/dev/null
"$WL_KUBECTL" apply -f - <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: hello-wasm
spec:
  restartPolicy: Never
  nodeSelector:
    kubernetes.io/arch: wasm32-wasi
  tolerations:
  - key: kubernetes.io/arch
    operator: Equal
    value: wasm32-wasi
  containers:
  - name: hello
    image: $image
    args: ["from", "a", "pod"]
    env:
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
YAML
for _ in $(seq 100); do
    phase=$("$WL_KUBECTL" get pod hello-wasm -o jsonpath='{.status.phase}')
    [[ $phase == Succeeded || $phase == Failed ]] && break
    sleep 0.2
done
"$WL_KUBECTL" get pod hello-wasm -o wide
[[ $phase == Succeeded ]] || wl_die "pod hello-wasm ended $phase; see $node_log"
# The log comes back the way users read it: kubectl -> API server ->
# wasmlet's kubelet API on port 10250.
wl_log "kubectl logs hello-wasm:"
"$WL_KUBECTL" logs hello-wasm

wl_log "done in $((SECONDS - t0)) s; cluster, registry and node still running:"
wl_log "  $(bash scripts/cluster.sh env | tr '\n' ' ')"
wl_log "  stop them with: scripts/demo.sh stop"
