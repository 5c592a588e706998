#!/usr/bin/env bash
# Debian packages the tests use as real tools: openssl (test certificates), systemd
# (systemd-analyze verifies examples/systemd), chromium (the dashboard browser test,
# driven by playwright-core, which downloads no browser of its own), logger (bsdutils: a real
# syslog client for the syslog/tcp/udp input tests) and rsyslog (rsyslogd run from a temp
# config, forwarding to the syslog input).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
missing=()
command -v openssl >/dev/null || missing+=(openssl)
command -v systemd-analyze >/dev/null || missing+=(systemd)
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
command -v logger >/dev/null || missing+=(bsdutils)
command -v rsyslogd >/dev/null || [ -x /usr/sbin/rsyslogd ] || missing+=(rsyslog)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test-deps: installing Debian packages: ${missing[*]}"
  apt_install "${missing[@]}"
fi
echo "test-deps: $(openssl version)"
echo "test-deps: $(systemd-analyze --version | head -1)"
echo "test-deps: $("${CHROMIUM_PATH:-/usr/bin/chromium}" --version 2>/dev/null | head -1)"
echo "test-deps: $(logger --version 2>/dev/null | head -1)"
echo "test-deps: $( (command -v rsyslogd >/dev/null && rsyslogd -v || /usr/sbin/rsyslogd -v) 2>/dev/null | head -1)"
