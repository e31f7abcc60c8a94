#!/usr/bin/env bash
# Build the Castle service images castle/backend and castle/www.
#
# Usage: bash scripts/build-images.sh [--tag TAG] [--version VERSION] [SERVICE...]
#   SERVICE     backend, www (default: both)
#   --tag       image tag besides `dev` (default: VERSION)
#   --version   version baked into the image, /version and labels
#               (default: from the git release tag, npm run -s release:version)
# Environment:
#   CASTLE_BUILD_IMAGE    build-stage base   (default castle/node:24-bookworm, made locally)
#   CASTLE_RUNTIME_IMAGE  runtime base       (default castle/node:24-bookworm-slim, made locally)
#                         e.g. node:24-bookworm and node:24-bookworm-slim where a registry is reachable
#   CASTLE_BUILD_NETWORK  network of RUN steps, e.g. host (default: the engine's default bridge)
#
# Starts a Docker engine if none runs (scripts/ensure-docker.sh) and makes the local base
# images when the defaults are used (images/base/build.sh; cached). npm inside the build
# gets the host's npm settings as BuildKit secrets, never as image layers: the user npmrc
# (registry, auth) and the CA bundle npm trusts (a TLS-intercepting proxy's CA, if any).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf 'images:build: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=../images/lib/docker-build.sh
source "$root/images/lib/docker-build.sh"

tag='' version='' services=()
while (($# > 0)); do
  case $1 in
    --tag) [[ -n ${2:-} ]] || die "--tag needs a value"; tag=$2; shift 2 ;;
    --version) [[ -n ${2:-} ]] || die "--version needs a value"; version=$2; shift 2 ;;
    backend | www) services+=("$1"); shift ;;
    -h | --help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (expected --tag TAG, --version VERSION, backend, www)" ;;
  esac
done
((${#services[@]} > 0)) || services=(backend www)
if [[ -z $version ]]; then
  version=$(cd "$root" && node --import tsx --conditions castle-source scripts/version.ts) \
    || die "cannot derive the version from git (scripts/version.ts failed above); pass --version"
fi
tag=${tag:-$version}
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "--tag '$tag' is not a valid image tag"

build_image=${CASTLE_BUILD_IMAGE:-castle/node:24-bookworm}
runtime_image=${CASTLE_RUNTIME_IMAGE:-castle/node:24-bookworm-slim}

bash "$root/scripts/ensure-docker.sh"
if [[ $build_image == castle/* || $runtime_image == castle/* ]]; then
  bash "$root/images/base/build.sh"
fi
for image in "$build_image" "$runtime_image"; do
  docker image inspect "$image" >/dev/null 2>&1 \
    || [[ $image != castle/* ]] || die "base image $image is missing; run: npm run images:base"
done

git_sha=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
build_time=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# The repository URL for the OCI source label, without any credentials in it.
source_url=$(git -C "$root" config --get remote.origin.url 2>/dev/null | sed -E 's#//[^/@]*@#//#' || true)

args=(
  --build-arg "BUILD_IMAGE=$build_image" --build-arg "RUNTIME_IMAGE=$runtime_image"
  --build-arg "VERSION=$version" --build-arg "GIT_SHA=$git_sha"
  --build-arg "BUILD_TIME=$build_time" --build-arg "SOURCE=$source_url"
)
[[ -t 2 ]] || args+=(--progress=plain)
[[ -z ${CASTLE_BUILD_NETWORK:-} ]] || args+=("--network=$CASTLE_BUILD_NETWORK")
npm_ca=$(cd "$root" && npm config get cafile 2>/dev/null) || npm_ca=
[[ -f $npm_ca ]] || npm_ca=${NODE_EXTRA_CA_CERTS:-}
if [[ -n $npm_ca && -f $npm_ca ]]; then args+=(--secret "id=npm_ca,src=$npm_ca"); fi
npmrc=$(cd "$root" && npm config get userconfig 2>/dev/null) || npmrc=
if [[ -n $npmrc && -f $npmrc ]]; then args+=(--secret "id=npmrc,src=$npmrc"); fi

summary=()
for svc in "${services[@]}"; do
  started=$SECONDS
  log "building castle/$svc:$tag and castle/$svc:dev (version $version, commit ${git_sha:0:12})"
  docker_build "${args[@]}" --file "$root/apps/Dockerfile" --build-arg "SERVICE=$svc" \
    --tag "castle/$svc:$tag" --tag "castle/$svc:dev" "$root" \
    || die "building castle/$svc failed; the build output above names the failing step"
  size=$(docker image inspect --format '{{.Size}}' "castle/$svc:$tag")
  summary+=("$(printf 'castle/%-8s %-12s %4d MB  built in %ds' "$svc" "$tag" $((size / 1000000)) $((SECONDS - started)))")
done
printf '%s\n' "${summary[@]}"
