#!/usr/bin/env bash
# The main job, from a fresh clone: installs dependencies, builds wasmlet,
# brings up a local Kubernetes control plane and an OCI registry on
# 127.0.0.1, publishes the sample module tests/wasm/hello.c to the registry
# as a wasm artifact, pulls it back by digest and runs it with wasmlet.
#
# Then it starts `wasmlet serve` as a node of that cluster and waits for the
# node to be Ready. Until pods land, the module runs through `wasmlet run`;
# the cluster, registry and node stay up for you to try
# (`scripts/demo.sh stop` brings them down).
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

# Publishes FILE as repository REPO:TAG in the CNCF wasm artifact layout
# (config application/vnd.wasm.config.v0+json, one application/wasm layer)
# through the OCI distribution API; prints the manifest digest.
push_blob() {
    local repo=$1 file=$2 digest=$3 location
    location=$(curl -fsS -D - -o /dev/null -X POST \
        "http://$registry/v2/$repo/blobs/uploads/" |
        tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
    [[ $location == http* ]] || location=http://$registry$location
    [[ $location == *\?* ]] && sep='&' || sep='?'
    curl -fsS -X PUT -H 'Content-Type: application/octet-stream' \
        --data-binary "@$file" "$location${sep}digest=$digest" >/dev/null
}
sha() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
module=build/tests/wasm/hello.wasm
printf '{}' >"$work/config.json"
wasm_digest=$(sha "$module")
config_digest=$(sha "$work/config.json")
push_blob demo/hello "$module" "$wasm_digest"
push_blob demo/hello "$work/config.json" "$config_digest"
cat >"$work/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/wasm","config":{"mediaType":"application/vnd.wasm.config.v0+json","digest":"$config_digest","size":$(stat -c %s "$work/config.json")},"layers":[{"mediaType":"application/wasm","digest":"$wasm_digest","size":$(stat -c %s "$module")}]}
JSON
manifest_digest=$(curl -fsS -D - -o /dev/null -X PUT \
    -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$work/manifest.json" "http://$registry/v2/demo/hello/manifests/v1" |
    tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')
wl_log "pushed $registry/demo/hello:v1 ($manifest_digest)"

curl -fsS -o "$work/pulled.wasm" "http://$registry/v2/demo/hello/blobs/$wasm_digest"
[[ $(sha "$work/pulled.wasm") == "$wasm_digest" ]] || wl_die "pulled module digest mismatch"
wl_log "pulled $registry/demo/hello@$wasm_digest; running it:"
./build/wasmlet run --env GREETING=hello "$work/pulled.wasm" -- from the registry

stop_node
wl_log "starting wasmlet serve as node wasm-demo (log: $node_log)"
./build/wasmlet serve --kubeconfig "$KUBECONFIG" --node-name wasm-demo \
    --node-ip 127.0.0.1 --port 10250 --data-dir "$WL_ROOT/.wasmlet/node" \
    >>"$node_log" 2>&1 &
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

wl_log "done in $((SECONDS - t0)) s; cluster, registry and node still running:"
wl_log "  $(bash scripts/cluster.sh env | tr '\n' ' ')"
wl_log "  stop them with: scripts/demo.sh stop"
