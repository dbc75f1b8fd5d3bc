#!/usr/bin/env bash
# Pull throughput of a 20 MiB module from the local registry: wasmlet's
# puller (stream to the store while hashing, verify, fsync, rename) against
# curl downloading the same blob to a file. Prints a table and the ratio.
#
#   bench/pull.sh [BUILD_DIR]     (default: build)
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
cd "$WL_ROOT"
build=${1:-build}
work=$(mktemp -d)
export WL_REGISTRY_DIR=$work/registry WL_REGISTRY_PORT=${WL_BENCH_PORT:-25100}
trap 'bash scripts/registry.sh stop --purge >/dev/null 2>&1; rm -rf "$work"' EXIT
bash scripts/registry.sh start >/dev/null 2>&1
host=127.0.0.1:$WL_REGISTRY_PORT

# A valid module padded to 20 MiB with a custom section, so it is a real
# .wasm of the size asked for.
python3 - "$work/big.wasm" <<'PY'
import sys
size = 20 * 1024 * 1024
name = b"pad"
payload = size - 8 - 1 - 5 - 1 - len(name)
def leb(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)
body = bytes([len(name)]) + name + b"\0" * payload
sec = b"\x00" + leb(len(body)) + body
open(sys.argv[1], "wb").write(b"\0asm\x01\0\0\0" + sec)
PY
"$build/wasmlet" push --insecure "$work/big.wasm" "$host/bench/big:v1" >/dev/null 2>&1
digest=sha256:$(sha256sum "$work/big.wasm" | cut -d' ' -f1)
size=$(stat -c %s "$work/big.wasm")

best_curl=999
for _ in 1 2 3 4 5; do
    rm -f "$work/curl.out"
    t=$(curl -fsS -o "$work/curl.out" -w '%{time_total}' \
        "http://$host/v2/bench/big/blobs/$digest")
    best_curl=$(python3 -c "print(min($best_curl, $t))")
done
out=$("$build/bench/bench_pull" --insecure-registry "$host" --repeat 5 \
    "$work/store" "$host/bench/big:v1")
best_wl=$(sed -n 's/^best seconds: //p' <<<"$out")

printf '%-28s %10s %10s\n' "20 MiB module, best of 5" "seconds" "MiB/s"
for row in "curl (to a file):$best_curl" "wasmlet pull (verified):$best_wl"; do
    name=${row%:*} t=${row##*:}
    printf '%-28s %10.4f %10.1f\n' "$name" "$t" \
        "$(python3 -c "print($size / 1048576 / $t)")"
done
printf 'ratio wasmlet/curl time: %.2f\n' "$(python3 -c "print($best_wl / $best_curl)")"
