#!/usr/bin/env bash
# Debian packages the tests use as real tools: openssl (test certificates), systemd
# (systemd-analyze verifies examples/systemd), chromium (the dashboard browser test,
# driven by playwright-core, which downloads no browser of its own).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
missing=()
command -v openssl >/dev/null || missing+=(openssl)
command -v systemd-analyze >/dev/null || missing+=(systemd)
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test-deps: installing Debian packages: ${missing[*]}"
  apt_install "${missing[@]}"
fi
echo "test-deps: $(openssl version)"
echo "test-deps: $(systemd-analyze --version | head -1)"
echo "test-deps: $("${CHROMIUM_PATH:-/usr/bin/chromium}" --version 2>/dev/null | head -1)"
