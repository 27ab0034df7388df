#!/usr/bin/env bash
# Make sure the system tools the lab needs are present: tcpdump, tshark (and capinfos), ip, ethtool.
# As root, missing tools are installed with apt-get; otherwise we say exactly what to install.
set -euo pipefail
need=()
command -v tcpdump >/dev/null 2>&1 || need+=(tcpdump)
command -v tshark >/dev/null 2>&1 || need+=(tshark)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v tc >/dev/null 2>&1 || need+=(iproute2)
# ethtool: to turn a lab veth's checksum offload on or off (tests/analysis/data/offload.md)
command -v ethtool >/dev/null 2>&1 || need+=(ethtool)
# Only the test suite needs these (TEST_TOOLS=1): Chromium for the report's browser test.
if [ "${TEST_TOOLS:-0}" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
fi
# The compose backend (COMPOSE_TOOLS=1, and the test suite): Debian's Docker engine and
# docker-compose, and mmdebstrap for the local base image when python:3.11-slim cannot be pulled.
if [ "${TEST_TOOLS:-0}" = 1 ] || [ "${COMPOSE_TOOLS:-0}" = 1 ]; then
  command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
  command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
  command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
fi
[ ${#need[@]} -eq 0 ] && exit 0
# de-duplicate
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  echo "error: missing system tools: ${need[*]}; install them with: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: missing system tools: ${need[*]} and no apt-get here; install them with your package manager" >&2
  exit 1
fi
echo "installing system tools: ${need[*]} (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no, without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -qq >/dev/null
apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${need[@]}" >/dev/null
