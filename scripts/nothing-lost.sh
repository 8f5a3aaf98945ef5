#!/usr/bin/env bash
# "Nothing lost": one room of 16 peers, all publishing, for 60 s through `serve`, both release
# builds on loopback. `load` exits 1 unless every peer connected and every receiver's RTP
# sequence set is exactly what the server says it forwarded to it (no queue drop, no packet
# short of or beyond it, no gap, no duplicate). scripts/test.sh runs it after the benchmarks'
# release build; PEERS and SECONDS_ override the size for a quick local run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin rtc-assist
# Where cargo put it: CARGO_TARGET_DIR or the configured target directory, not always ./target.
bin=$(bash scripts/target-dir.sh)/release/rtc-assist
peers=${PEERS:-16}
seconds=${SECONDS_:-60}
out=$(mktemp -d)
trap 'kill "$serve" 2>/dev/null || true; wait "$serve" 2>/dev/null || true; rm -rf "$out"' EXIT
"$bin" serve --listen 127.0.0.1:0 >"$out/serve.out" 2>"$out/serve.err" &
serve=$!
for _ in $(seq 100); do
  url=$(grep -o 'ws://[^ ]*' "$out/serve.out" | head -1 || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "nothing-lost: serve did not start"; cat "$out/serve.err"; exit 1; }
pass='failed<1,server_queue_drops<1,peers_short<1,packets_extra<1,packets_lost<1,duplicates<1'
echo "nothing-lost: $peers peers in one room, all publishing, ${seconds} s through $url"
code=0
"$bin" load "$url" --rooms 1 --peers "$peers" --rate 10 --duration "$seconds" --pass "$pass" \
  >"$out/load.out" 2>"$out/load.err" || code=$?
grep -E 'delivery|per peer|pass|FAIL|connected' "$out/load.out" || cat "$out/load.out"
if [ "$code" -ne 0 ]; then
  echo "nothing-lost: FAILED (exit $code)"
  tail -20 "$out/load.err"
  tail -20 "$out/serve.err"
fi
exit "$code"
