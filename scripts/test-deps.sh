#!/usr/bin/env bash
# Installs, only when missing, every tool the test suite runs for real: run by `npm test`
# (scripts/run-tests.mjs) before the tests, and so by .ci/run. Each part lives in
# scripts/test-deps.d/NN-name.sh and is run in name order; a warm machine installs nothing.
# Tools the project builds or downloads go under .cache/ at the repository root (ignored
# by git); Debian packages go to the system through apt-get.
# SLUICE_SKIP_TEST_DEPS=1 skips it all (a machine set up by hand, or no root).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SLUICE_SKIP_TEST_DEPS:-}" = 1 ]; then
  echo "test-deps: skipped (SLUICE_SKIP_TEST_DEPS=1)"
  exit 0
fi
export SLUICE_CACHE="$PWD/.cache"
mkdir -p "$SLUICE_CACHE"
for part in scripts/test-deps.d/*.sh; do
  [ -e "$part" ] || continue
  bash "$part"
done
