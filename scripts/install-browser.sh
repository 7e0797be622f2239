#!/usr/bin/env bash
# Installs the browser the dashboard's browser test drives: Debian's `chromium`
# package (playwright-core never downloads a browser of its own here). CI runs
# as root on a fresh Debian machine; a developer without root gets told what to run.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-browser: /usr/bin/chromium is missing; run: sudo apt-get install -y --no-install-recommends chromium" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium
/usr/bin/chromium --version
