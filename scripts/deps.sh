#!/usr/bin/env bash
# Installs everything wasmlet needs to build and test, idempotently:
#   1. Debian packages (compilers, libraries, docker-registry, pytest)
#   2. the wasmtime C API, from the wasmtime-go module on the Go proxy
#   3. etcd 3.5, built from the Go proxy
#   4. kube-apiserver, kube-controller-manager, kube-scheduler and kubectl,
#      built from one pinned k8s.io/kubernetes release on the Go proxy
#   5. metrics-server, built from the Go proxy
# Builds are cached under $WL_CACHE (default ~/.cache/wasmlet), keyed by
# version: a second run finds them and takes seconds.
#
# Usage: scripts/deps.sh [PHASE...]   (apt wasmtime etcd kubernetes metrics-server;
#                                      default all)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

APT_PACKAGES=(
    meson ninja-build pkg-config clang-14 lld-14 libclang-rt-14-dev
    wasi-libc libclang-rt-14-dev-wasm32 wabt
    libcurl4-openssl-dev libssl-dev libjansson-dev libfyaml-dev
    libmicrohttpd-dev libgnutls28-dev libsystemd-dev zlib1g-dev
    docker-registry apache2-utils openssl ca-certificates curl
    python3 python3-pytest python3-pytest-timeout python3-pytest-xdist
    python3-prometheus-client ccache
    python3-yaml linux-perf
)

phase_start=0
phase() { phase_start=$SECONDS; wl_log "$*"; }
phase_done() { wl_log "$1 ($((SECONDS - phase_start)) s)"; }

# Runs a long command with its output in a log file, printing a line every
# 30 s so a cold build visibly makes progress; shows the log's tail if it
# fails.
with_progress() {
    local label=$1 log=$2
    shift 2
    "$@" >"$log" 2>&1 &
    local pid=$! start=$SECONDS
    while kill -0 "$pid" 2>/dev/null; do
        sleep 5
        if (( (SECONDS - start) % 30 < 5 )) && kill -0 "$pid" 2>/dev/null; then
            wl_log "  $label: still working ($((SECONDS - start)) s, log $log)"
        fi
    done
    if ! wait "$pid"; then
        tail -n 30 "$log" >&2
        wl_die "$label failed; full log in $log"
    fi
}

install_apt() {
    phase "Debian packages"
    local missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    if ((${#missing[@]} == 0)); then
        phase_done "Debian packages: all ${#APT_PACKAGES[@]} present"
        return
    fi
    wl_log "  installing: ${missing[*]}"
    local sudo=()
    ((EUID == 0)) || sudo=(sudo)
    with_progress "apt-get update" "$WL_CACHE/apt.log" "${sudo[@]}" apt-get update
    with_progress "apt-get install" "$WL_CACHE/apt.log" \
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"
    phase_done "Debian packages: installed ${#missing[@]}"
}

check_go() {
    command -v go >/dev/null ||
        wl_die "Go is needed to fetch wasmtime and build Kubernetes (Go >= 1.24)"
    wl_log "using $(go version)"
}

# Publishes a finished directory into the cache in one rename, so an
# interrupted run never leaves a half-filled cache entry behind.
publish_dir() {
    local tmp=$1 dest=$2
    rm -rf "$dest"
    mv "$tmp" "$dest"
}

install_wasmtime() {
    phase "wasmtime C API ($WL_WASMTIME_GO_MODULE $WL_WASMTIME_GO_VERSION)"
    if [[ -f $WL_WASMTIME_DIR/lib/libwasmtime.a ]]; then
        phase_done "wasmtime: cached in $WL_WASMTIME_DIR"
        return
    fi
    local src
    src=$(cd "$WL_ROOT/scripts/gomod/wasmtime" &&
        go mod download -json "$WL_WASMTIME_GO_MODULE" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [[ -n $src && -f $src/build/linux-x86_64/libwasmtime.a ]] ||
        wl_die "wasmtime-go download has no build/linux-x86_64/libwasmtime.a"
    local tmp=$WL_WASMTIME_DIR.tmp
    rm -rf "$tmp"
    mkdir -p "$tmp/lib"
    cp -r "$src/build/include" "$tmp/include"
    cp "$src/build/linux-x86_64/libwasmtime.a" "$tmp/lib/"
    find "$tmp" -name empty.go -delete
    chmod -R u+w "$tmp"
    publish_dir "$tmp" "$WL_WASMTIME_DIR"
    phase_done "wasmtime: $(grep -o '"[0-9.]*"' "$WL_WASMTIME_DIR/include/wasmtime.h" | head -1) in $WL_WASMTIME_DIR"
}

# go_build_cached NAME VERSION GOMOD_DIR BIN_DIR PACKAGES...
go_build_cached() {
    local name=$1 version=$2 moddir=$3 bindir=$4
    shift 4
    local bins=("$@") missing=0
    for p in "${bins[@]}"; do
        [[ -x $bindir/$(basename "$p") ]] || missing=1
    done
    if ((missing == 0)); then
        phase_done "$name $version: cached in $bindir"
        return
    fi
    local tmp=$bindir.tmp
    rm -rf "$tmp"
    mkdir -p "$tmp"
    wl_log "  building $name $version from the Go module proxy (cold: many minutes)"
    with_progress "build $name" "$WL_CACHE/build-$name.log" \
        bash -c 'cd "$1" && out=$2 && ldflags=$3 && shift 3 &&
                 go build -ldflags="$ldflags" -o "$out/" "$@"' \
        _ "$moddir" "$tmp" "${GO_LDFLAGS:-}" "${bins[@]}"
    mkdir -p "$(dirname "$bindir")"
    publish_dir "$tmp" "$bindir"
    phase_done "$name $version: built into $bindir"
}

install_etcd() {
    phase "etcd $WL_ETCD_VERSION"
    go_build_cached etcd "$WL_ETCD_VERSION" "$WL_ROOT/scripts/gomod/etcd" \
        "$WL_ETCD_BIN" wasmlet.local/etcd
}

install_kubernetes() {
    phase "Kubernetes $WL_K8S_VERSION control plane"
    # Stamp the version as Kubernetes' own release builds do, so the API
    # server reports it and kubectl can compare versions.
    local v=${WL_K8S_VERSION#v} x pkg
    local minor=${v#*.}
    minor=${minor%%.*}
    GO_LDFLAGS=
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        for x in "gitVersion=$WL_K8S_VERSION" "gitMajor=${v%%.*}" \
            "gitMinor=$minor" gitTreeState=clean; do
            GO_LDFLAGS+=" -X $pkg.$x"
        done
    done
    GO_LDFLAGS=$GO_LDFLAGS go_build_cached kubernetes "$WL_K8S_VERSION" "$WL_ROOT/scripts/gomod/k8s" \
        "$WL_K8S_BIN" \
        k8s.io/kubernetes/cmd/kube-apiserver \
        k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kube-scheduler \
        k8s.io/kubernetes/cmd/kubectl
}

install_metrics_server() {
    phase "metrics-server $WL_METRICS_SERVER_VERSION"
    # Stamp the version as metrics-server's own Makefile does, so
    # --version reports the release.
    GO_LDFLAGS="-X k8s.io/client-go/pkg/version.gitVersion=$WL_METRICS_SERVER_VERSION -X k8s.io/client-go/pkg/version.gitTreeState=clean" \
        go_build_cached metrics-server "$WL_METRICS_SERVER_VERSION" \
        "$WL_ROOT/scripts/gomod/metrics-server" "$WL_METRICS_SERVER_BIN" \
        sigs.k8s.io/metrics-server/cmd/metrics-server
}

main() {
    local t0=$SECONDS phases=("$@")
    ((${#phases[@]})) || phases=(apt wasmtime etcd kubernetes metrics-server)
    mkdir -p "$WL_CACHE"
    for p in "${phases[@]}"; do
        case $p in
        apt) install_apt ;;
        wasmtime) check_go && install_wasmtime ;;
        etcd) check_go && install_etcd ;;
        kubernetes) check_go && install_kubernetes ;;
        metrics-server) check_go && install_metrics_server ;;
        *) wl_die "unknown phase '$p' (apt, wasmtime, etcd, kubernetes, metrics-server)" ;;
        esac
    done
    wl_log "dependencies ready in $((SECONDS - t0)) s (cache: $WL_CACHE)"
}

main "$@"
