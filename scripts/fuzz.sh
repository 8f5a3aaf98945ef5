#!/usr/bin/env bash
# Fuzzes every cargo-fuzz target in fuzz/ for SECONDS each (default 60) on the stable toolchain:
# libFuzzer coverage instrumentation without a sanitizer (`-s none` needs no -Z flag, so no
# nightly and no RUSTC_BOOTSTRAP), debug assertions and overflow checks on. Builds all targets
# once, runs them all at once (sharing the cores) from fuzz/seeds/TARGET (plus scenarios/ for the scenario
# loader) into fuzz/corpus/TARGET, and prints each target's executions and the total. A crash,
# timeout or out-of-memory input is copied into fuzz/regressions/TARGET/ and the script exits 1:
# fix the bug, then commit the input; `cargo test --lib` replays that folder.
#
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2; }
cargo_fuzz_version=0.13.2
targets=(protocol candidate ice_url scenario stun_framing)
flags=(--sanitizer none --debug-assertions)

if [[ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $cargo_fuzz_version" ]]; then
    cargo install cargo-fuzz --locked --version "$cargo_fuzz_version"
fi

build_start=$(date +%s)
cargo fuzz build "${flags[@]}"
echo "build: $(($(date +%s) - build_start)) s"

# Beside the fuzz crate's build, wherever cargo puts it (CARGO_TARGET_DIR when set).
logs=$(bash scripts/target-dir.sh fuzz/Cargo.toml)/fuzz-logs
mkdir -p "$logs"
# Every target runs at once for SECONDS, sharing the cores: CI's smoke run takes SECONDS of
# wall time, not five times that.
run_target() {
    local t=$1 inputs=("fuzz/seeds/$1") dict=()
    [[ $t == scenario ]] && inputs+=(scenarios)
    [[ -f fuzz/dicts/$t.dict ]] && dict=("-dict=fuzz/dicts/$t.dict")
    rm -rf "fuzz/artifacts/$t"
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    cargo fuzz run "${flags[@]}" "$t" "fuzz/corpus/$t" "${inputs[@]}" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 "${dict[@]}" \
        >"$logs/$t.log" 2>&1
}
declare -A pids
for t in "${targets[@]}"; do
    run_target "$t" &
    pids[$t]=$!
done
total=0
failed=()
for t in "${targets[@]}"; do
    status=0
    wait "${pids[$t]}" || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -1)
    [[ -n $execs ]] || execs=$(sed -n 's/^#\([0-9]*\).*DONE.*/\1/p' "$logs/$t.log" | tail -1)
    execs=${execs:-0}
    total=$((total + execs))
    if ((status != 0)); then
        mkdir -p "fuzz/regressions/$t"
        cp "fuzz/artifacts/$t"/* "fuzz/regressions/$t/" 2>/dev/null || true
        failed+=("$t")
        printf '%-13s %12s executions  FAILED (exit %d; inputs in fuzz/regressions/%s/, log %s)\n' \
            "$t" "$execs" "$status" "$t" "$logs/$t.log"
    else
        printf '%-13s %12s executions in %s s\n' "$t" "$execs" "$seconds"
    fi
done
printf '%-13s %12s executions\n' total "$total"
if ((${#failed[@]} > 0)); then
    echo "failed: ${failed[*]}" >&2
    exit 1
fi
