#!/usr/bin/env bash
# Creates (or refreshes) the Python virtualenv of the interop test double (tests/interop/): aiortc
# and friends from tests/interop/requirements.txt, wheels only. Idempotent and silent when the
# venv is already up to date (a stamp file holds the requirements' hash).
#
# Run it with bash: `bash scripts/interop-venv.sh` prints the venv's python path on stdout (the
# only stdout line; progress goes to stderr). It may also be sourced (e.g. from scripts/deps.sh,
# under set -euo pipefail): then it prints nothing to stdout and exports
# RTC_ASSIST_INTEROP_PYTHON instead. The venv lives in
# ${RTC_ASSIST_INTEROP_VENV:-$HOME/.cache/rtc-assist-interop-venv}.
set -euo pipefail
_interop_main() {
  local root venv req stamp want
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  venv="${RTC_ASSIST_INTEROP_VENV:-$HOME/.cache/rtc-assist-interop-venv}"
  req="$root/tests/interop/requirements.txt"
  stamp="$venv/.rtc-assist-requirements.sha256"
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    command -v python3 >/dev/null || { echo "interop-venv: python3 not found" >&2; return 2; }
    # Concurrent test processes: one builds, the others wait and then find it up to date.
    mkdir -p "$(dirname "$venv")"
    local lock
    exec {lock}>"$venv.lock"
    flock "$lock"
    _interop_build "$venv" "$req" "$stamp" "$want" # a failure exits (set -e), lock released
    exec {lock}>&-
  fi
  export RTC_ASSIST_INTEROP_PYTHON="$venv/bin/python"
}
_interop_build() {
  local venv="$1" req="$2" stamp="$3" want="$4"
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    if [ ! -x "$venv/bin/python" ]; then
      echo "interop-venv: creating $venv" >&2
      rm -rf "$venv"
      if ! python3 -m venv "$venv" >/dev/null 2>&1; then
        # Debian ships venv (ensurepip) separately.
        rm -rf "$venv"
        local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
        echo "interop-venv: installing Debian's python3-venv" >&2
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv "$venv"
      fi
    fi
    echo "interop-venv: installing tests/interop/requirements.txt" >&2
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --only-binary=:all: \
      -r "$req" >&2
    echo "$want" >"$stamp"
  fi
}
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  _interop_main
  echo "$RTC_ASSIST_INTEROP_PYTHON"
else
  _interop_main
fi
unset -f _interop_main _interop_build
