#!/usr/bin/env bash
# The soak (issue #9; too long for CI): pods created, run to completion and
# deleted in a loop against the real local cluster, wasmlet built with
# ThreadSanitizer (a race report makes it exit non-zero, which fails the
# run). Prints a line per round (time, wasmlet RSS) and a summary.
#
# Usage: scripts/soak.sh [--asan | --plain]
#   (default: TSan; --asan: ASan+UBSan with leak checks; --plain: the normal
#   build, and wasmlet's RSS must not grow round over round)
# Env:   WL_SOAK_PODS (pods per round, default 1000),
#        WL_SOAK_MINUTES (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

build=build-tsan san=(-Db_sanitize=thread)
opts="TSAN_OPTIONS=suppressions=$WL_ROOT/tests/tsan.supp:halt_on_error=1"
rss_check=0
case ${1:-} in
--asan)
    build=build-asan san=(-Db_sanitize=address,undefined)
    opts="ASAN_OPTIONS=handle_segv=0:allow_user_segv_handler=1:use_sigaltstack=0:detect_leaks=1:abort_on_error=1"
    ;;
--plain) build=build opts="WL_SOAK_PLAIN=1" rss_check=1 ;;
"") ;;
*) wl_die "usage: scripts/soak.sh [--asan | --plain]" ;;
esac
[[ -d build ]] || meson setup build >/dev/null
ninja -C build >/dev/null
[[ -d $build ]] || CC=clang-14 meson setup "$build" "${san[@]}" >/dev/null
ninja -C "$build" >/dev/null

wl_log "soak: ${WL_SOAK_PODS:-1000} pods a round for ${WL_SOAK_MINUTES:-10} min, $build/wasmlet"
env "$opts" WL_SOAK=1 WL_SOAK_RSS_CHECK=$rss_check WL_BUILD_DIR="$WL_ROOT/build" \
    WL_WASMLET="$WL_ROOT/$build/wasmlet" \
    /usr/bin/python3 -m pytest -q -s -p no:cacheprovider tests/e2e/test_soak.py
