#!/usr/bin/env bash
# The real stores the tests start (packages/sluice/test/stores/, docs/testing.md):
# - OpenSearch 2.19 and Kafka 4.x as jars from Maven Central, resolved from the pinned poms in
#   packages/sluice/test/stores/jvm/*/pom.xml into Maven's local repository (~/.m2); the
#   classpaths go to .cache/stores/NAME.classpath;
# - the OpenSearch launcher (SluiceOpenSearch.java) compiled into .cache/stores/opensearch-launcher;
# - a Python virtualenv at .cache/stores/venv from the pinned requirements.txt: moto's server,
#   boto3, fluent-logger.
# Each part is redone only when its input changed (a hash of the pom or requirements file is
# kept beside the result) or a file it made is gone, so a warm machine downloads nothing.
# Needs Java 17+, Maven and Python 3 with venv; missing Debian packages are installed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.."
root=$PWD
src=packages/sluice/test/stores
# SLUICE_STORES_CACHE moves it all elsewhere (the tests read the same variable).
cache="${SLUICE_STORES_CACHE:-${SLUICE_CACHE:-$root/.cache}/stores}"
mkdir -p "$cache"

missing=()
command -v java >/dev/null || missing+=(openjdk-17-jdk-headless)
command -v javac >/dev/null || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v python3 >/dev/null || missing+=(python3 python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test-deps: installing Debian packages: ${missing[*]}"
  apt_install $(printf '%s\n' "${missing[@]}" | sort -u)
fi

# Java 17 when the machine has it (OpenSearch 2.19 and Kafka 4 are built for it; a newer
# default java, e.g. a Java 25 on PATH, is not what these versions were released against).
java_bin=$(ls /usr/lib/jvm/java-17-openjdk-*/bin/java 2>/dev/null | head -1)
[ -n "$java_bin" ] || java_bin=$(readlink -f "$(command -v java)")
javac_bin="$(dirname "$java_bin")/javac"
[ -x "$javac_bin" ] || javac_bin=javac
java_version=$("$java_bin" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.version = //p')
if [ "${java_version%%.*}" -lt 17 ]; then
  echo "test-deps: the test stores need Java 17 or newer, $java_bin is $java_version" >&2
  exit 1
fi
echo "$java_bin" >"$cache/java"

hash_of() { sha256sum "$@" | sha256sum | cut -c1-16; }

# classpath NAME: resolves jvm/NAME/pom.xml unless its classpath is there, from the same pom,
# with every jar present.
classpath() {
  local name=$1 pom="$src/jvm/$1/pom.xml" out="$cache/$1.classpath"
  local want
  want=$(hash_of "$pom")
  if [ -s "$out" ] && [ "$(cat "$out.hash" 2>/dev/null)" = "$want" ]; then
    local ok=1 jar
    while read -r jar; do [ -f "$jar" ] || ok=0; done < <(tr ':' '\n' <"$out")
    [ $ok = 1 ] && return 0
  fi
  echo "test-deps: resolving the $name jars (Maven)"
  rm -f "$out.hash"
  mvn -B -q -f "$pom" dependency:build-classpath -Dmdep.outputFile="$out" >"$cache/$name.mvn.log" 2>&1 || {
    cat "$cache/$name.mvn.log" >&2
    exit 1
  }
  echo "$want" >"$out.hash"
}
jars() { tr ':' '\n' <"$cache/$1.classpath" | wc -l; }
pom_version() { sed -n "s|.*<$2>\(.*\)</$2>.*|\1|p" "$src/jvm/$1/pom.xml" | head -1; }

classpath opensearch
launcher="$cache/opensearch-launcher"
launcher_src="$src/jvm/opensearch/SluiceOpenSearch.java"
if [ ! -f "$launcher/SluiceOpenSearch.class" ] || [ "$launcher_src" -nt "$launcher/SluiceOpenSearch.class" ] ||
  [ "$cache/opensearch.classpath" -nt "$launcher/SluiceOpenSearch.class" ]; then
  rm -rf "$launcher"
  mkdir -p "$launcher"
  "$javac_bin" -nowarn -d "$launcher" -cp "$(cat "$cache/opensearch.classpath")" "$launcher_src"
fi
echo "test-deps: OpenSearch $(pom_version opensearch opensearch.version) ($(jars opensearch) jars, launcher compiled) on Java $java_version"

classpath kafka
echo "test-deps: Kafka $(pom_version kafka kafka.version) ($(jars kafka) jars) on Java $java_version"

venv="$cache/venv"
req="$src/python/requirements.txt"
want=$(hash_of "$req")
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c '' 2>/dev/null ||
  [ "$(cat "$venv/.requirements.hash" 2>/dev/null)" != "$want" ]; then
  echo "test-deps: building the Python venv for the test stores (pip)"
  rm -rf "$venv"
  python3 -m venv "$venv" || {
    apt_install python3-venv
    python3 -m venv "$venv"
  }
  "$venv/bin/pip" install -q --disable-pip-version-check --no-input -r "$req"
  echo "$want" >"$venv/.requirements.hash"
fi
# Seed 004's logging config names pythonjsonlogger's JsonFormatter (test/e2e/seed004-firehose).
# Added to the venv in place, not to requirements.txt, so a venv other tests use is not rebuilt.
pyjsonlogger=4.2.0
if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('python-json-logger') != '$pyjsonlogger')" 2>/dev/null; then
  "$venv/bin/pip" install -q --disable-pip-version-check --no-input "python-json-logger==$pyjsonlogger"
fi
pkg_version() { "$venv/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))"; }
echo "test-deps: moto $(pkg_version moto), boto3 $(pkg_version boto3), fluent-logger $(pkg_version fluent-logger) ($("$venv/bin/python" -c 'import platform; print("Python", platform.python_version())'), $venv)"
