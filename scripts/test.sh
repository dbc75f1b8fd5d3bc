#!/usr/bin/env bash
# The whole test suite, from a fresh clone (what .ci/run runs): installs or
# refreshes the dependencies, builds wasmlet four ways (gcc; clang; clang
# with ASan+UBSan, which also builds the libFuzzer targets; clang with
# TSan), runs the unit tests of each build, each fuzz target for a while
# (in the background, at the lowest CPU priority, while the end-to-end
# suite runs), and the end-to-end suite (real kube-apiserver, etcd,
# scheduler, controller-manager, docker-registry, kubectl) against the
# plain, the ASan+UBSan and the TSan build, each pass on parallel pytest
# workers (pytest-xdist) sharing one control plane and one set of
# registries, every test file in a namespace of its own
# (tests/e2e/conftest.py; docs/testing.md).
#
# Output: one line per test case ("PASS|FAIL|SKIP label case"), a table of
# the phases and their seconds, the skipped count, and last:
#   N passed, N failed
#
# Env: WL_FUZZ_SECONDS (default 30 per target), WL_E2E_WORKERS (pytest
# workers for the plain pass, default 3), WL_E2E_SAN_WORKERS (sanitized
# passes, default 3: at 4 the TSan pass keeps both cores busy and CPU
# figures measured in tests fall short), WL_E2E_MAX / WL_E2E_SAN_MAX (seconds one e2e pass may
# take: 900 plain, 1200 sanitized), WL_TEST_TIMEOUT (one e2e test: 600),
# WL_SKIP_DEPS=1 to trust the cache as it is, WL_NO_CCACHE=1 to compile
# without ccache.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$WL_ROOT"

(($# == 0)) || wl_die "usage: scripts/test.sh (no arguments; see its header for the env)"

passed=0 failed=0 skipped=0
failures=()
t_start=$SECONDS
phase_t=0 phase_name=
phase_rows=()

phase() { phase_t=$SECONDS phase_name=$1; wl_log "$1"; }
# row NAME SECONDS: one line of the phase table.
row() { printf '%-32s %7d' "$1" "$2"; }
phase_end() {
    phase_rows+=("$(row "$phase_name" $((SECONDS - phase_t)))")
    wl_log "  ($((SECONDS - phase_t)) s)"
}
ok() { passed=$((passed + ${1:-1})); }
bad() { failed=$((failed + ${2:-1})); failures+=("$1"); }

# add_counts LABEL: reads scripts/testcount.py's output on stdin, prints
# its per-case lines and adds its "counts: P F S" line to the totals
# (the failures also in last_failed).
last_failed=0
add_counts() {
    local label=$1 line p=0 f=0 s=0 got=0
    last_failed=0
    while IFS= read -r line; do
        if [[ $line == counts:* ]]; then
            read -r _ p f s <<<"$line"
            got=1
        else
            printf '    %s\n' "$line"
        fi
    done
    ((got)) || { bad "$label: no counts"; return; }
    last_failed=$f
    ok "$p"
    skipped=$((skipped + s))
    ((f == 0)) || bad "$label ($f failed)" "$f"
}

# Compiles go through ccache (cache under $WL_CACHE, paths taken relative
# to the checkout, so a fresh clone elsewhere hits what an earlier one
# compiled). Nothing is built twice: four build directories, each
# configured once; the fuzz targets come from the ASan+UBSan build.
ccache_prefix=()
if [[ ${WL_NO_CCACHE:-0} != 1 ]] && command -v ccache >/dev/null; then
    export CCACHE_DIR=$WL_CACHE/ccache CCACHE_BASEDIR=$WL_ROOT CCACHE_NOHASHDIR=1
    ccache_prefix=(ccache)
fi

# build DIR LABEL CC ENV... -- MESON_SETUP_ARGS...
build() {
    local dir=$1 label=$2 cc=$3
    shift 3
    local envs=()
    while [[ $1 != -- ]]; do envs+=("$1"); shift; done
    shift
    rm -rf "$dir"
    if ! env "${envs[@]}" CC="${ccache_prefix[*]} $cc" meson setup "$dir" "$@" \
        >"$dir.setup.log" 2>&1 || ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
        tail -n 30 "$dir.setup.log" "$dir.build.log" 2>/dev/null >&2
        bad "$label: build"
        return 1
    fi
}

# unit DIR LABEL ENV...: the build's unit tests, counted per case.
unit() {
    local dir=$1 label=$2
    shift 2
    env "$@" meson test -C "$dir" --print-errorlogs >"$dir.test.log" 2>&1 ||
        tail -n 40 "$dir.test.log" >&2
    add_counts "unit ($label)" < <(python3 scripts/testcount.py unit "$label" "$dir")
}

# Sanitizer runtime settings: wasmtime installs its own signal handlers
# for traps; TSan needs the suppressions for wasmtime's Rust threads.
# use_sigaltstack=0: at a thread's exit ASan unmaps whatever alternate
# signal stack is installed, taking it for its own; wasmtime's (already
# unmapped by wasmtime) was unmapped a second time, after the range had
# been reused (docs/reliability.md).
asan="ASAN_OPTIONS=handle_segv=0:allow_user_segv_handler=1:use_sigaltstack=0:detect_leaks=1:abort_on_error=1"
ubsan="UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1"
tsan="TSAN_OPTIONS=suppressions=$WL_ROOT/tests/tsan.supp:halt_on_error=1"

# The fuzz targets, one after another at nice 19 in the background: the
# e2e passes, mostly waiting on the cluster, get the CPU when they want
# it. Results go to build-asan/fuzz-results (one "name rc" line each).
fuzz_pid=
fuzz_start() {
    rm -f build-asan/fuzz-results
    (
        for target in tests/fuzz/corpus/*/; do
            name=$(basename "$target")
            work=$(mktemp -d)
            env "$asan" "$ubsan" nice -n 19 "build-asan/tests/fuzz/fuzz_$name" \
                -max_total_time="${WL_FUZZ_SECONDS:-30}" -timeout=10 -rss_limit_mb=4096 \
                -artifact_prefix="build-asan/crash-$name-" "$work" "$target" \
                >"build-asan/fuzz-$name.log" 2>&1
            echo "$name $?" >>build-asan/fuzz-results
            rm -rf "$work"
        done
    ) &
    fuzz_pid=$!
    fuzz_t=$SECONDS
}

fuzz_collect() {
    [[ -n $fuzz_pid ]] || return
    phase "fuzz (rest of)"
    wait "$fuzz_pid"
    local name rc n=0
    while read -r name rc; do
        n=$((n + 1))
        if ((rc == 0)); then
            printf '    PASS fuzz %s: %s\n' "$name" "$(grep -o 'Done [0-9]* runs in [0-9]* second' \
                "build-asan/fuzz-$name.log" | tail -n 1)"
            ok
        else
            printf '    FAIL fuzz %s\n' "$name"
            tail -n 30 "build-asan/fuzz-$name.log" >&2
            bad "fuzz $name"
        fi
    done <build-asan/fuzz-results
    local want
    want=$(find tests/fuzz/corpus -mindepth 1 -maxdepth 1 -type d | wc -l)
    ((n == want)) || bad "fuzz: $n of $want targets ran"
    phase_end
    phase_rows+=("$(row "  (fuzz, overlapped, in all)" $((SECONDS - fuzz_t)))")
}

# e2e LABEL BUILD_DIR WORKERS MAX_SECONDS [PYTEST_ARGS...] -- ENV...
e2e() {
    local label=$1 dir=$2 workers=$3 max=$4
    shift 4
    local args=()
    while [[ $1 != -- ]]; do args+=("$1"); shift; done
    shift
    phase "e2e $label ($workers workers)"
    # A crash that breaks every later test must not run the CI out of
    # time: stop after a few failures, and cap the pass (SIGINT first, so
    # pytest tears the clusters down).
    # WL_WASMLET picks the binary the tests start; the plain pass leaves it
    # unset, so the tests that only run build/wasmlet (the demo) run there.
    local binary=()
    [[ $dir == build ]] || binary=(WL_WASMLET="$WL_ROOT/$dir/wasmlet")
    env "$@" WL_BUILD_DIR="$WL_ROOT/build" "${binary[@]}" \
        timeout -s INT -k 120 "$max" \
        /usr/bin/python3 -m pytest -q -rfE --maxfail=10 -p no:cacheprovider \
        -n "$workers" --dist loadfile "${pytest_timeout[@]}" \
        --junitxml="$dir/e2e.xml" "${args[@]}" >"$dir/e2e.log" 2>&1
    local rc=$?
    grep -E '^(FAILED|ERROR) ' "$dir/e2e.log" >&2
    grep -A 30 'wasmlet: fatal signal' "$dir/e2e.log" | head -n 60 >&2
    tail -n 3 "$dir/e2e.log" >&2
    add_counts "e2e ($label)" < <(python3 scripts/testcount.py junit "e2e($label)" "$dir/e2e.xml")
    # pytest failed with no failed case: cut short by the time limit, or a
    # shared service that could not be stopped cleanly.
    ((rc == 0 || last_failed > 0)) || bad "e2e ($label): pytest exit $rc with no failed case"
    phase_end
}

summary() {
    local total=$((SECONDS - t_start))
    echo
    echo "phase                            seconds"
    printf '%s\n' "${phase_rows[@]}"
    row total "$total"
    echo
    echo "total: $total s"
    for f in "${failures[@]}"; do
        printf 'FAILED: %s\n' "$f"
    done
    ((skipped == 0)) || printf '%d skipped (not counted as passed)\n' "$skipped"
    printf '%d passed, %d failed\n' "$passed" "$failed"
    ((failed == 0))
    exit
}

main() {
    if [[ ${WL_SKIP_DEPS:-0} != 1 ]]; then
        phase "dependencies"
        bash scripts/deps.sh || { bad "deps"; summary; }
        phase_end
    fi

    phase "banned functions"
    if grep -rnE '\b(v?sprintf|strcpy|strcat|atoi|strtok|gets)[[:space:]]*\(' src; then
        bad "banned functions in src/"
    else
        ok
    fi
    phase_end

    # gcc, clang, clang ASan+UBSan (+ the fuzz targets), clang TSan
    phase "builds (4)"
    local have_asan=1
    build build gcc gcc --
    build build-clang clang clang-14 --
    build build-asan asan+ubsan clang-14 -- -Db_sanitize=address,undefined \
        -Dfuzz=true -Dc_args=-fsanitize=fuzzer-no-link || have_asan=0
    build build-tsan tsan clang-14 -- -Db_sanitize=thread
    phase_end

    # Fuzzing starts now and runs beside the unit tests and e2e passes.
    ((have_asan)) && fuzz_start

    phase "unit tests (4 builds)"
    unit build gcc
    unit build-clang clang
    unit build-asan asan+ubsan "$asan" "$ubsan"
    unit build-tsan tsan "$tsan"
    phase_end

    # One test may take at most this long (pytest-timeout), so a hang is
    # one failure with a traceback rather than a CI run out of time.
    pytest_timeout=()
    if /usr/bin/python3 -c 'import pytest_timeout' 2>/dev/null; then
        pytest_timeout=(--timeout="${WL_TEST_TIMEOUT:-600}")
    fi
    /usr/bin/python3 -c 'import xdist' 2>/dev/null ||
        wl_die "pytest-xdist is missing: run scripts/deps.sh"

    e2e plain build "${WL_E2E_WORKERS:-3}" "${WL_E2E_MAX:-900}" tests/e2e --

    # The benchmarks at their smallest sizes, so they keep working; their
    # figures are printed, never judged here (docs/benchmarks.md).
    phase "bench/run --smoke"
    if /usr/bin/python3 bench/run --smoke --build build >build/bench.log 2>&1; then
        grep -E 'MISS|pass|info' build/bench.log | sed 's/^/    /' >&2
        ok
    else
        tail -n 30 build/bench.log >&2
        bad "bench/run --smoke"
    fi
    phase_end

    # The same suite against the sanitizer builds: every wasmlet process
    # the tests start (run, serve, watch) is instrumented, and a leak, a
    # UB report or a data race makes it exit non-zero, failing its test.
    e2e asan+ubsan build-asan "${WL_E2E_SAN_WORKERS:-3}" "${WL_E2E_SAN_MAX:-1200}" \
        tests/e2e -- "$asan" "$ubsan"
    e2e tsan build-tsan "${WL_E2E_SAN_WORKERS:-3}" "${WL_E2E_SAN_MAX:-1200}" \
        tests/e2e -- "$tsan"

    ((have_asan)) && fuzz_collect

    summary
}

main "$@"
