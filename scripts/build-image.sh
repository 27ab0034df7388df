#!/usr/bin/env bash
# `make image`: build reqresp-lab:latest (compose/Dockerfile) for the compose backend, unless the image
# already holds exactly the current sources (a label carries their hash, so a warm run is one
# `docker image inspect`).
#
# Base: the official python:3.11-slim when it is present or can be pulled; otherwise a local base
# made from Debian packages (mmdebstrap minbase + python3, tcpdump, iproute2), imported as
# reqresp-base:bookworm, so the image builds on a machine that reaches a Debian mirror but no image
# registry. The last line says which base was used.
set -euo pipefail
shopt -s inherit_errexit  # a failing step inside $(pick_base) stops the script too
cd "$(dirname "$0")/.."
IMAGE=${IMAGE:-reqresp-lab:latest}
OFFICIAL=${OFFICIAL_BASE:-python:3.11-slim}
LOCAL=${LOCAL_BASE:-reqresp-base:bookworm}
SUITE=${DEBIAN_SUITE:-bookworm}
PACKAGES=python3,python-is-python3,tcpdump,iproute2

docker info >/dev/null 2>&1 || {
  echo "error: the Docker engine does not answer (docker info); start it: sudo scripts/dockerd.sh start" >&2
  exit 1
}

# What goes into the image (compose/Dockerfile and .dockerignore name the same files).
sources_hash() {
  { printf '%s\n' compose/Dockerfile .dockerignore compose/server.py compose/client.py capture/__init__.py
    find lab capture/peers -name '*.py' -type f; } | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16
}
HASH=$(sources_hash)
if [ "$(docker image inspect -f '{{index .Config.Labels "reqresp.sources"}}' "$IMAGE" 2>/dev/null || true)" = "$HASH" ]; then
  echo "image $IMAGE is up to date (base $(docker image inspect -f '{{index .Config.Labels "reqresp.base"}}' "$IMAGE"))" >&2
  exit 0
fi

pick_base() {
  if docker image inspect "$OFFICIAL" >/dev/null 2>&1 || docker pull -q "$OFFICIAL" >/dev/null 2>&1; then
    echo "$OFFICIAL"; return
  fi
  if ! docker image inspect "$LOCAL" >/dev/null 2>&1; then
    echo "$OFFICIAL cannot be pulled (no image registry reachable): building $LOCAL from Debian packages" >&2
    command -v mmdebstrap >/dev/null 2>&1 || {
      [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 || {
        echo "error: $OFFICIAL cannot be pulled and mmdebstrap is missing: sudo apt-get install mmdebstrap" >&2
        exit 1; }
      apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends mmdebstrap >/dev/null
    }
    local tmp
    tmp=$(mktemp -d /tmp/reqresp-base.XXXXXX)
    # The rootfs tarball is a temporary file: removed on success, failure, Ctrl-C and SIGTERM alike
    # (bash runs a signal's trap once the running command, which got the signal too, has ended).
    trap 'rm -rf "$tmp"' EXIT
    trap 'rm -rf "$tmp"; exit 130' INT
    trap 'rm -rf "$tmp"; exit 143' TERM
    # minbase + the lab's needs; no documentation, manuals or apt lists (smaller image).
    mmdebstrap --quiet --variant=minbase --include="$PACKAGES" \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
      "$SUITE" "$tmp/base.tar" >&2
    docker import -c 'CMD ["bash"]' -m "mmdebstrap minbase $SUITE + $PACKAGES" "$tmp/base.tar" "$LOCAL" >/dev/null
    rm -rf "$tmp"
    trap - EXIT INT TERM
  fi
  echo "$LOCAL"
}
BASE=$(pick_base)
echo "building $IMAGE on base $BASE" >&2
# --force-rm: a build cut short (error, Ctrl-C) leaves no intermediate containers behind.
docker build -q --force-rm --build-arg BASE="$BASE" --label reqresp.sources="$HASH" --label reqresp.base="$BASE" \
  -f compose/Dockerfile -t "$IMAGE" . >/dev/null
# The previous build's image, now untagged, would stay as a dangling leftover: remove only it.
docker image prune -f --filter label=reqresp.sources >/dev/null
echo "built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')) on base $BASE" >&2
