#!/usr/bin/env bash
# The whole test suite: unit tests, integration tests against the real binary on loopback,
# every scenario in scenarios/, and a build of the benchmarks. The interop tests run rtc-assist
# against an aiortc double of the guide's stack (tests/interop/, a virtualenv made here).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
# The interop test double (aiortc, from PyPI) lives in its own virtualenv.
. scripts/interop-venv.sh
cargo build --all-targets --quiet
cargo test --quiet --lib --tests 2>&1
cargo bench --no-run --quiet
cargo run --quiet -- scenario run --junit target/scenarios-junit.xml
