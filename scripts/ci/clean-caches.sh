#!/usr/bin/env bash
# Remove every cache a run of .ci/run fills, so the next run is a cold one, as on a new
# machine: Castle's build cache (${CASTLE_CACHE_DIR:-/var/cache/castle}: the cluster's and
# add-ons' binaries and image tars, the CI tools, the base images' downloads), Go's module
# and build caches, npm's cache, and Docker's images and build cache. Stops the hermetic
# cluster first. Debian packages stay installed (apt's own cache is cleaned).
#
# Usage: bash scripts/ci/clean-caches.sh --yes      (npm run ci:clean-caches -- --yes)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
log() { printf 'ci:clean-caches: %s\n' "$*" >&2; }
[[ ${1:-} == --yes ]] || { log "removes every build cache on this machine (see the header of $0); run with --yes"; exit 2; }
[[ $EUID -eq 0 ]] || { log "needs root (the caches are root's)"; exit 1; }

bash "$root/cluster/down.sh" >/dev/null 2>&1 || true
if [[ -x /usr/sbin/dockerd ]] && bash "$root/scripts/ensure-docker.sh"; then
  docker system prune --all --force >/dev/null
  docker builder prune --all --force >/dev/null
  log "✓ Docker images and build cache"
fi
if command -v go >/dev/null; then
  gocache=$(go env GOCACHE) gomodcache=$(go env GOMODCACHE)
  go clean -cache -modcache
  rm -rf "$gocache" "$gomodcache"
  log "✓ Go build cache ($gocache) and module cache ($gomodcache)"
fi
rm -rf "${CASTLE_CACHE_DIR:-/var/cache/castle}"
log "✓ ${CASTLE_CACHE_DIR:-/var/cache/castle}"
npm cache clean --force >/dev/null 2>&1 || true
log "✓ npm cache"
apt-get clean
log "✓ apt's package cache"
