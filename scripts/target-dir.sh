#!/usr/bin/env bash
# Prints the directory cargo builds into for the package at MANIFEST (default: ./Cargo.toml), as
# cargo itself decides it: CARGO_TARGET_DIR, `build.target-dir` in a .cargo/config.toml, or
# target/ beside the workspace root. Scripts find the binaries there, never in a hard-coded
# target/, so a run with CARGO_TARGET_DIR set uses the build it just made.
#
#   scripts/target-dir.sh [MANIFEST]
set -euo pipefail
manifest=${1:-Cargo.toml}
cargo metadata --format-version 1 --no-deps --manifest-path "$manifest" \
  | grep -o '"target_directory":"[^"]*"' | head -1 | cut -d'"' -f4
