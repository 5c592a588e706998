# Sourced by the parts of scripts/test-deps.sh (not run on its own: no NN- prefix).
# apt_install PKG... installs Debian packages (after apt-get update: it runs only when
# something is missing), as root or through sudo; without either it stops with the
# command a person should run.
apt_install() {
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      echo "test-deps: the tests need Debian packages: $*" >&2
      echo "test-deps: run as root: apt-get update && apt-get install -y --no-install-recommends $*" >&2
      exit 1
    fi
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
