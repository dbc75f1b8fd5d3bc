#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs/refreshes dependencies,
# builds wasmlet with gcc and with clang, runs the unit tests plain, under
# ASan+UBSan and under TSan, runs each fuzz target for a short while, then
# the end-to-end suite (real kube-apiserver, etcd, scheduler,
# controller-manager, docker-registry, kubectl). Ends with one line:
#   N passed, N failed
#
# Env: WL_FUZZ_SECONDS (default 30 per target), WL_E2E_MAX / WL_E2E_SAN_MAX
# (seconds one e2e phase may take: 1200 plain, 1500 sanitized),
# WL_TEST_TIMEOUT (one e2e test: 900), WL_SKIP_DEPS=1 to trust the
# cache as it is.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$WL_ROOT"

passed=0 failed=0
failures=()
t_start=$SECONDS
phase_t=0

phase() { phase_t=$SECONDS; wl_log "$*"; }
phase_end() { wl_log "  ($((SECONDS - phase_t)) s)"; }
ok() { passed=$((passed + ${2:-1})); }
bad() { failed=$((failed + ${2:-1})); failures+=("$1"); }

# count_meson DIR LABEL: adds a meson test run's counts from its JSON log.
count_meson() {
    local log=$1/meson-logs/testlog.json n_ok n_fail
    n_ok=$(grep -c '"result": "OK"' "$log" 2>/dev/null) || n_ok=0
    n_fail=$(grep -vc '"result": "OK"' "$log" 2>/dev/null) || n_fail=0
    ok "$2" "$n_ok"
    ((n_fail == 0)) || bad "$2 ($n_fail failed)" "$n_fail"
}

# count_pytest LOG LABEL: adds pytest's summary counts.
count_pytest() {
    local line n
    line=$(tail -n 1 "$1")
    n=$(grep -o '[0-9]* passed' <<<"$line" | cut -d' ' -f1)
    ok "$2" "${n:-0}"
    for what in failed error errors; do
        n=$(grep -o "[0-9]* $what" <<<"$line" | cut -d' ' -f1)
        [[ -z $n ]] || bad "$2 ($n $what)" "$n"
    done
    # A run that could not even start counts as a failure, never as 0/0.
    grep -qE '[0-9]+ (passed|failed)' <<<"$line" || bad "$2 (did not run)"
}

# build_and_test DIR LABEL ENV... -- MESON_SETUP_ARGS...
build_and_test() {
    local dir=$1 label=$2
    shift 2
    local envs=()
    while [[ $1 != -- ]]; do envs+=("$1"); shift; done
    shift
    phase "build + unit tests: $label"
    rm -rf "$dir"
    if ! env "${envs[@]}" meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 ||
        ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
        tail -n 30 "$dir.setup.log" "$dir.build.log" 2>/dev/null >&2
        bad "$label: build"
        return 1
    fi
    env "${envs[@]}" meson test -C "$dir" --print-errorlogs >"$dir.test.log" 2>&1 ||
        tail -n 40 "$dir.test.log" >&2
    count_meson "$dir" "$label: unit"
    phase_end
}

# e2e_sanitized LABEL BUILD_DIR ENV...
e2e_sanitized() {
    local label=$1 dir=$2
    shift 2
    phase "end-to-end under $label"
    # A crash that breaks every later test must not run the CI out of
    # time: stop after a few failures, and cap the phase (SIGINT first, so
    # pytest tears the cluster down).
    env "$@" WL_BUILD_DIR="$WL_ROOT/build" WL_WASMLET="$WL_ROOT/$dir/wasmlet" \
        timeout -s INT -k 120 "${WL_E2E_SAN_MAX:-1500}" \
        /usr/bin/python3 -m pytest -q -rfE --maxfail=5 -p no:cacheprovider \
        "${pytest_timeout[@]}" tests/e2e >"$dir/e2e.log" 2>&1
    # Which tests failed, then the last lines (the first failure's own
    # lines are in the log, kept in the build directory).
    grep -E '^(FAILED|ERROR) ' "$dir/e2e.log" >&2
    grep -A 30 'wasmlet: fatal signal' "$dir/e2e.log" | head -n 60 >&2
    tail -n 3 "$dir/e2e.log" >&2
    count_pytest "$dir/e2e.log" "e2e ($label)"
    phase_end
}

main() {
    if [[ ${WL_SKIP_DEPS:-0} != 1 ]]; then
        phase "dependencies"
        bash scripts/deps.sh || { bad "deps"; summary; }
        phase_end
    fi

    phase "banned functions (sprintf strcpy strcat atoi strtok gets)"
    if grep -rnE '\b(v?sprintf|strcpy|strcat|atoi|strtok|gets)[[:space:]]*\(' src; then
        bad "banned functions in src/"
    else
        ok
    fi

    # Sanitizer runtime settings: wasmtime installs its own signal handlers
    # for traps; TSan needs the suppressions for wasmtime's Rust threads.
    # use_sigaltstack=0: at a thread's exit ASan unmaps whatever alternate
    # signal stack is installed, taking it for its own; wasmtime's (already
    # unmapped by wasmtime) was unmapped a second time, after the range
    # had been reused — other threads' stacks and heap chunks vanished
    # (docs/reliability.md).
    local asan="ASAN_OPTIONS=handle_segv=0:allow_user_segv_handler=1:use_sigaltstack=0:detect_leaks=1:abort_on_error=1"
    local ubsan="UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1"
    local tsan="TSAN_OPTIONS=suppressions=$WL_ROOT/tests/tsan.supp:halt_on_error=1"

    build_and_test build gcc CC=gcc --
    build_and_test build-clang clang CC=clang-14 --
    build_and_test build-asan asan+ubsan CC=clang-14 "$asan" "$ubsan" -- \
        -Db_sanitize=address,undefined
    build_and_test build-tsan tsan CC=clang-14 "$tsan" -- \
        -Db_sanitize=thread

    phase "fuzz targets (${WL_FUZZ_SECONDS:-30} s each)"
    rm -rf build-fuzz
    if CC=clang-14 meson setup build-fuzz -Dfuzz=true -Dwasm_tests=false \
        -Db_sanitize=address,undefined \
        -Dc_args=-fsanitize=fuzzer-no-link >build-fuzz.setup.log 2>&1 &&
        ninja -C build-fuzz >build-fuzz.build.log 2>&1; then
        for target in tests/fuzz/corpus/*/; do
            local name work
            name=$(basename "$target")
            work=$(mktemp -d)
            if env "$asan" "$ubsan" "build-fuzz/tests/fuzz/fuzz_$name" \
                -max_total_time="${WL_FUZZ_SECONDS:-30}" -timeout=10 -rss_limit_mb=4096 \
                -artifact_prefix="build-fuzz/crash-$name-" "$work" "$target" \
                >"build-fuzz/fuzz-$name.log" 2>&1; then
                # Executions, for docs/reliability.md.
                echo "    fuzz $name: $(grep -o 'Done [0-9]* runs in [0-9]* second' \
                    "build-fuzz/fuzz-$name.log" | tail -n 1)"
                ok
            else
                tail -n 30 "build-fuzz/fuzz-$name.log" >&2
                bad "fuzz $name"
            fi
            rm -rf "$work"
        done
    else
        tail -n 30 build-fuzz.build.log >&2
        bad "fuzz: build"
    fi
    phase_end

    # One test may take at most this long (pytest-timeout), so a hang is
    # one failure with a traceback rather than a CI run out of time.
    pytest_timeout=()
    if /usr/bin/python3 -c 'import pytest_timeout' 2>/dev/null; then
        pytest_timeout=(--timeout="${WL_TEST_TIMEOUT:-900}")
    fi

    phase "end-to-end (real cluster, registry, kubectl)"
    python3=/usr/bin/python3
    WL_BUILD_DIR=$WL_ROOT/build timeout -s INT -k 120 "${WL_E2E_MAX:-1200}" \
        $python3 -m pytest -v --maxfail=10 -p no:cacheprovider \
        "${pytest_timeout[@]}" tests/e2e 2>&1 | tee build/e2e.log | grep -E 'PASSED|FAILED|ERROR' >&2
    count_pytest build/e2e.log "e2e"
    phase_end

    # The benchmarks at their smallest sizes, so they keep working; their
    # figures are printed, never judged here (docs/benchmarks.md).
    phase "benchmarks (bench/run --smoke)"
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
    e2e_sanitized "ASan+UBSan" build-asan "$asan" "$ubsan"
    e2e_sanitized "TSan" build-tsan "$tsan"

    summary
}

summary() {
    wl_log "total time $((SECONDS - t_start)) s"
    for f in "${failures[@]}"; do
        printf 'FAILED: %s\n' "$f"
    done
    printf '%d passed, %d failed\n' "$passed" "$failed"
    ((failed == 0))
    exit
}

main "$@"
