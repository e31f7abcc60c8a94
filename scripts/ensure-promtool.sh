#!/usr/bin/env bash
# Make sure promtool (Prometheus's rule checker and rule unit-test runner) is installed, and
# print its path on stdout. The rule tests (deploy/k8s/test/alerting) run it.
#
# Uses $PROMTOOL when it names a promtool that runs. Otherwise it is the promtool of the
# cluster's monitoring add-on (bash cluster/addon-monitoring.sh promtool): one build of the
# Prometheus module, with the add-on's build tags, cached by its stamp in
# ${CASTLE_CACHE_DIR:-/var/cache/castle}/k8s-v1.33.13/bin, so the Prometheus the add-on
# builds later reuses every compiled package (a few minutes cold; needs Go).
#
# Usage: bash scripts/ensure-promtool.sh
set -euo pipefail

log() { printf 'ensure-promtool: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ -n ${PROMTOOL:-} ]]; then
  "$PROMTOOL" --version >/dev/null 2>&1 || die "PROMTOOL=$PROMTOOL does not run"
  log "using $PROMTOOL"
  printf '%s\n' "$PROMTOOL"
  exit 0
fi
path=$(bash "$(dirname "${BASH_SOURCE[0]}")/../cluster/addon-monitoring.sh" promtool) \
  || die "building promtool failed (see above)"
"$path" --version >/dev/null || die "$path does not run"
log "✓ $path"
printf '%s\n' "$path"
