#!/bin/sh
# Container entrypoint, compatible with the fluent/fluentd image's conventions:
#   (no arguments)           -> sluice -c $SLUICE_CONF_DIR/$FLUENTD_CONF $FLUENTD_OPT
#   -v --some-option ...     -> sluice <those options> -c ... (options only: prepend "sluice")
#   fluentd [args]           -> sluice [args] (compose files that call fluentd keep working)
#   sluice run|check [args]  -> the config file is added unless -c/--config is given
#   sluice agent|cat|postback|... and any other command run unchanged.
set -e

conf="${SLUICE_CONF_DIR:-/fluentd/etc}/${FLUENTD_CONF:-fluent.conf}"

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- sluice "$@"
elif [ "$1" = "fluentd" ]; then
  shift
  set -- sluice "$@"
fi

if [ "$1" = "sluice" ]; then
  wants_conf=no
  case "${2:-}" in
    "" | -* | run | check) wants_conf=yes ;;
  esac
  if [ "$wants_conf" = yes ]; then
    for arg in "$@"; do
      case "$arg" in
        -c | --config | --config=* | -c?*) wants_conf=no ;;
      esac
    done
  fi
  if [ "$wants_conf" = yes ]; then
    set -- "$@" -c "$conf"
  fi
  # FLUENTD_OPT is split on spaces on purpose, as in the fluentd image.
  # shellcheck disable=SC2086
  set -- "$@" ${FLUENTD_OPT:-}
fi

exec "$@"
