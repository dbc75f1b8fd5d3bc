#!/usr/bin/env bash
# The whole test suite, from a fresh clone (what .ci/run runs): installs or
# refreshes the dependencies, builds wasmlet four ways (gcc; clang; clang
# with ASan+UBSan, which also builds the libFuzzer targets; clang with
# TSan), runs the unit tests of each build, each fuzz target for a while
# (in the background, at the lowest CPU priority, while the end-to-end
# suite runs), and the end-to-end suite (real kube-apiserver, etcd,
# scheduler, controller-manager, docker-registry, kubectl) against the
# plain, the ASan+UBSan and the TSan build, each pass on parallel pytest
# workers (pytest-xdist), every worker with one control plane and one set
# of registries for all the test files it is given.
#
# Output: one line per test case ("PASS|FAIL|SKIP label case"), a table of
# the phases and their seconds, the skipped count, and last:
#   N passed, N failed
#
#   scripts/test.sh          the CI suite (TSan e2e: the tests named in
#                            tests/e2e/tsan-subset.txt)
#   scripts/test.sh --full   the same with the whole e2e suite under TSan
#
# Env: WL_FUZZ_SECONDS (default 30 per target), WL_E2E_WORKERS (pytest
# workers for the plain pass, default 3), WL_E2E_SAN_WORKERS (sanitized
# passes, default 2), WL_E2E_MAX / WL_E2E_SAN_MAX (seconds one e2e pass may
# take: 900 plain, 1200 sanitized), WL_TEST_TIMEOUT (one e2e test: 600),
# WL_SKIP_DEPS=1 to trust the cache as it is, WL_NO_CCACHE=1 to compile
# without ccache.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$WL_ROOT"

full=0
for arg in "$@"; do
    case $arg in
    --full) full=1 ;;
    *) wl_die "usage: scripts/test.sh [--full]" ;;
    esac
done

passed=0 failed=0 skipped=0
failures=()
t_start=$SECONDS
phase_t=0 phase_name=
phase_rows=()

phase() { phase_t=$SECONDS phase_name=$1; wl_log "$1"; }
phase_end() {
    phase_rows+=("$(printf '%-44s %5d' "$phase_name" $((SECONDS - phase_t)))")
    wl_log "  ($((SECONDS - phase_t)) s)"
}
ok() { passed=$((passed + ${1:-1})); }
bad() { failed=$((failed + ${2:-1})); failures+=("$1"); }

# add_counts LABEL: reads scripts/testcount.py's output on stdin, prints
# its per-case lines and adds its "counts: P F S" line to the totals.
add_counts() {
    local label=$1 line p=0 f=0 s=0 got=0
    while IFS= read -r line; do
        if [[ $line == counts:* ]]; then
            read -r _ p f s <<<"$line"
            got=1
        else
            printf '    %s\n' "$line"
        fi
    done
    ((got)) || { bad "$label: no counts"; return; }
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
    phase "fuzz targets (${WL_FUZZ_SECONDS:-30} s each, overlapped; waiting for the rest)"
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
    phase_rows+=("$(printf '%-44s %5d' "  (fuzzing, from its start)" $((SECONDS - fuzz_t)))")
}

# e2e LABEL BUILD_DIR WORKERS MAX_SECONDS [PYTEST_ARGS...] -- ENV...
e2e() {
    local label=$1 dir=$2 workers=$3 max=$4
    shift 4
    local args=()
    while [[ $1 != -- ]]; do args+=("$1"); shift; done
    shift
    phase "end-to-end: $label ($workers workers)"
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
    grep -E '^(FAILED|ERROR) ' "$dir/e2e.log" >&2
    grep -A 30 'wasmlet: fatal signal' "$dir/e2e.log" | head -n 60 >&2
    tail -n 3 "$dir/e2e.log" >&2
    add_counts "e2e ($label)" < <(python3 scripts/testcount.py junit "e2e($label)" "$dir/e2e.xml")
    phase_end
}

summary() {
    local total=$((SECONDS - t_start))
    echo
    echo "phase                                        seconds"
    printf '%s\n' "${phase_rows[@]}"
    printf '%-44s %5d\n' "total" "$total"
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

    phase "banned functions (sprintf strcpy strcat atoi strtok gets)"
    if grep -rnE '\b(v?sprintf|strcpy|strcat|atoi|strtok|gets)[[:space:]]*\(' src; then
        bad "banned functions in src/"
    else
        ok
    fi
    phase_end

    phase "builds: gcc, clang, clang ASan+UBSan (+ fuzz targets), clang TSan"
    local have_asan=1
    build build gcc gcc --
    build build-clang clang clang-14 --
    build build-asan asan+ubsan clang-14 -- -Db_sanitize=address,undefined \
        -Dfuzz=true -Dc_args=-fsanitize=fuzzer-no-link || have_asan=0
    build build-tsan tsan clang-14 -- -Db_sanitize=thread
    phase_end

    # Fuzzing starts now and runs beside the unit tests and e2e passes.
    ((have_asan)) && fuzz_start

    phase "unit tests: gcc, clang, asan+ubsan, tsan"
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

    e2e plain build "${WL_E2E_WORKERS:-3}" "${WL_E2E_MAX:-900}" tests/e2e -- WL_E2E_PASS=plain

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
    e2e asan+ubsan build-asan "${WL_E2E_SAN_WORKERS:-2}" "${WL_E2E_SAN_MAX:-1200}" \
        tests/e2e -- "$asan" "$ubsan" WL_E2E_PASS=asan
    local tsan_tests=(tests/e2e)
    if ((!full)); then
        mapfile -t tsan_tests < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' \
            -e 's#^#tests/e2e/#' tests/e2e/tsan-subset.txt)
    fi
    e2e tsan build-tsan "${WL_E2E_SAN_WORKERS:-2}" "${WL_E2E_SAN_MAX:-1200}" \
        "${tsan_tests[@]}" -- "$tsan" WL_E2E_PASS=tsan

    ((have_asan)) && fuzz_collect

    summary
}

main "$@"
