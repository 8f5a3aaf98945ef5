#!/usr/bin/env bash
# The whole test suite: unit tests, integration tests against the real binary on loopback,
# a 60 s fuzz smoke run of every fuzz target, every scenario in scenarios/ (and, as root, the network-lab scenarios in scenarios/lab/), a build of the benchmarks
# and, with that release build, a 16-peer 60 s run that checks nothing forwarded is lost. The interop tests run rtc-assist
# against an aiortc double of the guide's stack (tests/interop/, a virtualenv made here).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
# The interop test double (aiortc, from PyPI) lives in its own virtualenv.
. scripts/interop-venv.sh
# JUnit reports go where cargo builds (CARGO_TARGET_DIR when set), as the binaries do.
target_dir=$(bash scripts/target-dir.sh)
cargo build --all-targets --quiet
cargo test --quiet --lib --tests 2>&1
cargo bench --no-run --quiet
# Nothing lost: 16 peers, all publishing, 60 s through a release serve (the benchmarks' build).
bash scripts/nothing-lost.sh
# Fuzz smoke: every cargo-fuzz target for 60 s, all at once (they link only the pure core); a
# crash, hang or out-of-memory input fails the run and is kept in fuzz/regressions/.
bash scripts/fuzz.sh 60
cargo run --quiet -- scenario run --junit "$target_dir/scenarios-junit.xml"
# The network-lab scenarios build Linux network namespaces: root only (CI is root), bounded in
# time; every namespace is removed even when a scenario fails.
if [ "$(id -u)" -eq 0 ]; then
  timeout 300 cargo run --quiet -- scenario run scenarios/lab/*.toml --junit "$target_dir/lab-scenarios-junit.xml"
else
  echo "skipped: scenarios/lab/*.toml (the network lab needs root)"
fi
