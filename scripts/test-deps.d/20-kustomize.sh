#!/usr/bin/env bash
# kustomize renders examples/k8s offline (test/deploy/k8s.test.ts). Debian has no kubectl
# recent enough (kubernetes-client is 1.20), so the standalone kustomize is built from Go's
# module proxy at a pinned version into .cache/tools/bin, once; the tests run that binary.
set -euo pipefail
version=v5.5.0
bin="${SLUICE_CACHE:?}/tools/bin"
stamp="$bin/kustomize.version"
if [ ! -x "$bin/kustomize" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$version" ]; then
  # Debian's golang-go (1.19) is too old for kustomize 5.5; the machine's Go is used.
  command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"
  if ! command -v go >/dev/null; then
    echo "test-deps: kustomize $version is built with Go >= 1.22, and no go is on PATH" >&2
    echo "test-deps: install Go, or put a kustomize $version binary at $bin/kustomize" >&2
    exit 1
  fi
  echo "test-deps: building kustomize $version (go install, Go module proxy)"
  mkdir -p "$bin"
  GOBIN="$bin" GOFLAGS=-mod=mod go install "sigs.k8s.io/kustomize/kustomize/v5@$version"
  echo "$version" >"$stamp"
fi
echo "test-deps: kustomize $(cat "$stamp") ($bin/kustomize)"
if command -v kubectl >/dev/null; then
  echo "test-deps: kubectl $(kubectl version --client 2>/dev/null | head -1) (not used by the tests)"
else
  echo "test-deps: kubectl not installed (not needed: the tests use kustomize)"
fi
