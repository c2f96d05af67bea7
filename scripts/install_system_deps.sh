#!/usr/bin/env bash
# Debian packages the browser tests need (headless Chromium and its driver). Idempotent; runs
# only as root (CI machines start bare). Elsewhere the browser tests skip with a reason.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: chromium/chromedriver missing and not root: browser tests will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium chromium-driver >/dev/null
