#!/usr/bin/env bash
# Installs Debian's Chromium for the console's browser test (test/e2e/console.test.ts) when it is
# missing. Idempotent: does nothing when /usr/bin/chromium (or $HEARTH_CHROMIUM) exists. Runs from
# .ci/run and from the console test's setup; needs root (or sudo) and a reachable Debian mirror.
# Exit status 0 when Chromium is there afterwards, 1 otherwise (the test then skips loudly).
set -uo pipefail
bin="${HEARTH_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$bin" ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "[chromium] $bin missing and no apt-get on this machine: install Chromium and set HEARTH_CHROMIUM" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else
    echo "[chromium] $bin missing and not root (no sudo): run 'apt-get install -y chromium' as root" >&2
    exit 1
  fi
fi
echo "[chromium] $bin missing: apt-get install -y chromium" >&2
export DEBIAN_FRONTEND=noninteractive
# One installer at a time (two test workers may both call this): apt's own lock would fail the second.
(
  flock -w 900 9 || { echo "[chromium] timed out waiting for another install" >&2; exit 1; }
  if [ -x "$bin" ]; then exit 0; fi
  $sudo apt-get update -qq >&2 || true
  $sudo apt-get install -y -qq --no-install-recommends chromium >&2
) 9>/tmp/hearth-ensure-chromium.lock
if [ -x "$bin" ]; then exit 0; fi
echo "[chromium] install failed: $bin still missing" >&2
exit 1
