#!/usr/bin/env bash
# Make sure promtool (Prometheus's rule checker and rule unit-test runner) is installed, and
# print its path on stdout. The rule tests (deploy/k8s/test/alerting) run it.
#
# Idempotent: uses, in this order, $PROMTOOL, the promtool the cluster's monitoring add-on
# built (${BIN_DIR:-/var/cache/castle/k8s-v1.33.13/bin}/promtool) and a previous build of
# this script (${CASTLE_CACHE_DIR:-/var/cache/castle}/tools/bin/promtool), whichever runs
# first. Otherwise it builds promtool from its Go module through the module proxy (a few
# minutes cold; needs Go). To take a newer pin, delete the cached binary.
#
# Usage: bash scripts/ensure-promtool.sh
set -euo pipefail

version=v0.316.0 # github.com/prometheus/prometheus; Prometheus 3's promtool
log() { printf 'ensure-promtool: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

cache=${CASTLE_CACHE_DIR:-/var/cache/castle}
tools=$cache/tools/bin
for candidate in "${PROMTOOL:-}" "${BIN_DIR:-$cache/k8s-v1.33.13/bin}/promtool" "$tools/promtool"; do
  if [[ -n $candidate && -x $candidate ]] && "$candidate" --version >/dev/null 2>&1; then
    log "using $candidate"
    printf '%s\n' "$candidate"
    exit 0
  fi
done
command -v go >/dev/null || die "go is not installed: install Go 1.26 (or set PROMTOOL to a promtool binary), then run this again"
mkdir -p "$tools"
log "building promtool from github.com/prometheus/prometheus@$version into $tools (a few minutes cold)"
(cd /tmp && GOBIN=$tools GOFLAGS=-buildvcs=false go install "github.com/prometheus/prometheus/cmd/promtool@$version") >&2 ||
  die "go install of promtool $version failed (see above)"
"$tools/promtool" --version >/dev/null || die "$tools/promtool does not run"
log "✓ $tools/promtool"
printf '%s\n' "$tools/promtool"
