#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (tests/browser drive
# /usr/bin/chromium through Playwright). Idempotent; intended for Debian 12, run as root.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    echo "ensure-chromium: already present ($(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)), nothing to do"
    exit 0
fi

apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
echo "ensure-chromium: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
