#!/usr/bin/env bash
# Checks the interop test double against itself (healthy server and each fault switch, ws:// and
# wss://), on loopback, bounded to 5 minutes. Usage: bash tests/interop/selfcheck.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/interop-venv.sh
exec timeout 300 "$RTC_ASSIST_INTEROP_PYTHON" tests/interop/selfcheck.py
