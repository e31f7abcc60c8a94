#!/usr/bin/env bash
# Lint the GitHub Actions workflows: actionlint (with shellcheck on run: steps when shellcheck
# is installed), zizmor at its pedantic persona (suppressions, each justified, in
# .github/zizmor.yml), and scripts/ci/check-workflows.ts (SHA pins, permissions, timeouts,
# npm scripts that .ci/run runs). The tools come from scripts/ensure-tools.sh.
# Usage: bash scripts/ci/lint-workflows.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${CASTLE_TOOLS_DIR:-${CASTLE_CACHE_DIR:-/var/cache/castle}/tools}/bin
log() { printf 'lint:workflows: %s\n' "$*" >&2; }
for tool in actionlint zizmor; do
  [[ -x $bin/$tool ]] || { log "error: $tool is not installed: run npm run tools:ensure -- actionlint zizmor"; exit 2; }
done
cd "$root"

status=0
shellcheck_flag=()
command -v shellcheck >/dev/null || { shellcheck_flag=(-shellcheck=); log "shellcheck not found: actionlint skips the run: scripts"; }
if "$bin/actionlint" -no-color -oneline "${shellcheck_flag[@]}"; then log "✓ actionlint $("$bin/actionlint" -version | head -1)"; else status=1; fi
if "$bin/zizmor" --offline --persona=pedantic --no-progress --quiet .github; then log "✓ zizmor (pedantic)"; else status=1; fi
if node --import tsx scripts/ci/check-workflows.ts; then :; else status=1; fi
exit $status
