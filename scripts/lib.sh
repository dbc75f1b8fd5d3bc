# shellcheck shell=bash
# Shared settings for wasmlet's scripts: pinned versions and where their
# builds are cached. Source it; do not run it.

WL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WL_CACHE=${WL_CACHE:-$HOME/.cache/wasmlet}

# Pinned versions. Changing one changes its cache key, so the next
# scripts/deps.sh rebuilds it.
WL_K8S_VERSION=v1.34.4
WL_ETCD_VERSION=v3.5.35
WL_METRICS_SERVER_VERSION=v0.8.0
WL_WASMTIME_GO_MODULE=github.com/bytecodealliance/wasmtime-go/v39
WL_WASMTIME_GO_VERSION=v39.0.1

WL_K8S_BIN=${WL_K8S_BIN:-$WL_CACHE/k8s-$WL_K8S_VERSION/bin}
WL_ETCD_BIN=$WL_CACHE/etcd-$WL_ETCD_VERSION/bin
WL_METRICS_SERVER_BIN=$WL_CACHE/metrics-server-$WL_METRICS_SERVER_VERSION/bin
WL_WASMTIME_DIR=$WL_CACHE/wasmtime-go-$WL_WASMTIME_GO_VERSION

# Commands scripts and tests use: the pinned builds, never whatever else is
# on PATH.
WL_KUBECTL=$WL_K8S_BIN/kubectl
WL_ETCD=${WL_ETCD:-$WL_ETCD_BIN/etcd}
WL_METRICS_SERVER=${WL_METRICS_SERVER:-$WL_METRICS_SERVER_BIN/metrics-server}

wl_log() { printf '==> %s\n' "$*" >&2; }
wl_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# wl_pid_alive PID NEEDLE: PID runs, is not a zombie, and is really ours:
# its command line mentions NEEDLE, so a recycled pid or another
# instance's process is never mistaken for ours. An empty command line
# counts as ours: it reads empty while a launcher execs the program
# (execve replacing the process image), a window long enough to be seen
# under load; cluster and registry starts were failed by it in CI.
wl_pid_alive() {
	local pid=$1 needle=$2 state cmd
	[[ -r /proc/$pid/stat ]] || return 1
	state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
	[[ $state != Z && $state != X ]] || return 1
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ -z $cmd || $cmd == *"$needle"* ]]
}
