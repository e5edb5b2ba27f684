#!/usr/bin/env bash
# Installs what ossify needs on a fresh Debian/Ubuntu machine (run as root, Node >= 20 present):
#  - a software WebGPU driver for machines without a GPU: Mesa's lavapipe (Mesa >= 23; on Debian 12
#    from bookworm-backports) as the fast one, and Chromium, which ships SwiftShader and runs the
#    browser benchmarks and tests;
#  - the npm dependencies (npm ci).
# Safe to re-run: each step checks first.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "[setup] $*"; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

have_lavapipe() { ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 && mesa_ok; }
mesa_ok() {
  # Dawn refuses Mesa 22's lavapipe; we need >= 23.
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [ -n "$v" ] && dpkg --compare-versions "$v" ge 23
}

if command -v apt-get >/dev/null 2>&1; then
  need_update=1
  apt_update() { if [ $need_update -eq 1 ]; then $SUDO apt-get update -qq || true; need_update=0; fi; }
  if ! command -v chromium >/dev/null 2>&1; then
    log "installing chromium (SwiftShader WebGPU for browsers and as the fallback adapter)"
    apt_update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  fi
  if ! have_lavapipe; then
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    candidate=$(apt-cache policy mesa-vulkan-drivers 2>/dev/null | awk '/Candidate:/ {print $2}')
    if [ "$codename" = "bookworm" ]; then
      log "installing Mesa lavapipe from bookworm-backports (Debian 12's own Mesa 22 is refused by Dawn)"
      echo 'deb http://deb.debian.org/debian bookworm-backports main' | $SUDO tee /etc/apt/sources.list.d/ossify-backports.list >/dev/null
      need_update=1
      apt_update
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null || log "lavapipe could not be installed; SwiftShader will be used"
    else
      apt_update
      candidate=$(apt-cache policy mesa-vulkan-drivers 2>/dev/null | awk '/Candidate:/ {print $2}')
      if [ -n "$candidate" ] && dpkg --compare-versions "$candidate" ge 23; then
        log "installing Mesa lavapipe $candidate"
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mesa-vulkan-drivers >/dev/null || true
      else
        log "no Mesa >= 23 in this distribution's archive; SwiftShader (chromium) is the software adapter"
      fi
    fi
  fi
else
  log "no apt-get: install a Vulkan driver (or Mesa >= 23 lavapipe) and Chromium yourself"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi
log "done"
