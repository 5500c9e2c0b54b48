#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (tests/test_browser.py).
# Playwright drives it from /usr/bin/chromium, so no browser is downloaded by
# `playwright install`, which needs an internet connection the test machines may not have.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "The browser tests need Chromium at $CHROMIUM: sudo apt-get install chromium" >&2
    exit 1
fi
echo "Installing Chromium for the browser tests ..." >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
