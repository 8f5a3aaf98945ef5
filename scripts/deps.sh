#!/usr/bin/env bash
# Installs what building and testing rtc-assist needs on Debian: cmake and pkg-config (the opus
# crate builds its bundled libopus with cmake), a C compiler, ALSA headers (cpal), coturn and
# openssl (TURN tests), janus (Janus signalling tests), curl (the docs' examples), iproute2, nftables and procps (network lab), Chromium and chromedriver (browser test), redis-server (cluster tests), PulseAudio with its ALSA plugin
# (clocked virtual microphone and speaker for the audio tests). Sourced by demo.sh and test.sh.
set -euo pipefail
missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v cc >/dev/null || missing+=(build-essential)
# cpal (audio devices) needs ALSA's headers.
pkg-config --exists alsa 2>/dev/null || missing+=(libasound2-dev)
# The audio tests run their own PulseAudio (null sinks), reached through ALSA's pulse plugin.
command -v pulseaudio >/dev/null || missing+=(pulseaudio)
command -v paplay >/dev/null || missing+=(pulseaudio-utils)
[ -e /usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so ] || \
  ls /usr/lib/*/alsa-lib/libasound_module_pcm_pulse.so >/dev/null 2>&1 || missing+=(libasound2-plugins)
# The TURN probe's tests run against Debian's coturn and make their certificates with openssl.
command -v turnserver >/dev/null || missing+=(coturn)
command -v openssl >/dev/null || missing+=(openssl)
# The Janus signalling tests (tests/common/janus.rs) run Debian's Janus WebRTC Gateway.
command -v janus >/dev/null || missing+=(janus)
# The network lab (`rtc-assist lab`, scenarios/lab/): namespaces, veth and tc from iproute2,
# NAT and firewall rules from nftables, sysctl from procps.
command -v ip >/dev/null || missing+=(iproute2)
command -v nft >/dev/null || missing+=(nftables)
command -v sysctl >/dev/null || missing+=(procps)
# The cluster tests (tests/cluster.rs) start their own Debian redis-server on a loopback port.
command -v redis-server >/dev/null || missing+=(redis-server)
# The docs' examples (tests/docs_examples.rs) show the Origin check and /stats with curl.
command -v curl >/dev/null || missing+=(curl)
# The browser test drives Debian's Chromium through chromedriver.
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing Debian packages: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null; then
  echo "cargo not found: install a Rust toolchain >= 1.85 (rustup) and re-run" >&2
  exit 2
fi
