#!/usr/bin/env bash
# Makes tests/fixtures/dumps/ anew: Debian's Chromium (chromedriver, headless, fake audio) joins a
# room of `serve --fault CODE` (and a healthy one) through the page at `/`, with
# chrome://webrtc-internals open from the start; a CLI tone peer joins after it; the internals
# page's downloads (webrtc_internals_dump.gz, and rtcstats_dump.gz for healthy) are saved.
# Then update the table in tests/fixtures/dumps/README.md and the DUMPS list in tests/analyze.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
cargo test --quiet --test integration analyze::make_dumps -- --ignored --exact
ls -l tests/fixtures/dumps/
