#!/usr/bin/env bash
# The main job on built-in defaults: serve + two tone peers on loopback, timelines shown.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
cargo run --release --quiet -- demo "$@"
