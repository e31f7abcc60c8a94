#!/usr/bin/env bash
# Scan for secrets with gitleaks (scripts/ensure-tools.sh builds it) and its configuration
# .gitleaks.toml (the default rules plus kubeconfig credentials and encryption keys).
#
# Usage: bash scripts/secret-scan.sh            the repository's whole git history
#        bash scripts/secret-scan.sh FILE...    files, e.g. CI's own log (.ci-results/ci.log)
# Exits 1 when a secret is found; findings are printed redacted, never the secret itself.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf 'secrets:scan: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

gitleaks=${CASTLE_TOOLS_DIR:-${CASTLE_CACHE_DIR:-/var/cache/castle}/tools}/bin/gitleaks
[[ -x $gitleaks ]] || die "gitleaks is not installed: run npm run tools:ensure -- gitleaks"
common=(--config "$root/.gitleaks.toml" --no-banner --no-color --redact --exit-code 1 --log-level warn --verbose)

if (($# == 0)); then
  started=$SECONDS
  "$gitleaks" git "${common[@]}" "$root" || { log "secrets found in the git history (redacted above)"; exit 1; }
  log "✓ no secret in $(git -C "$root" rev-list --count HEAD) commits ($((SECONDS - started))s)"
  exit 0
fi
for file in "$@"; do
  [[ -f $file ]] || die "no such file: $file"
  "$gitleaks" dir "${common[@]}" "$file" || { log "secrets found in $file (redacted above)"; exit 1; }
  log "✓ no secret in $file ($(wc -c <"$file") bytes)"
done
