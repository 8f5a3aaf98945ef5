#!/usr/bin/env bash
# The whole test suite: unit tests, integration tests against the real binary on loopback,
# every scenario in scenarios/, and a build of the benchmark (`cargo bench --bench connect`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
cargo build --all-targets --quiet
cargo test --quiet --lib --tests 2>&1
cargo bench --no-run --quiet
cargo run --quiet -- scenario run --junit target/scenarios-junit.xml
