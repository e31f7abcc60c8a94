#!/usr/bin/env bash
# Copy locally built Docker images into the hermetic cluster's containerd (namespace
# k8s.io), where kubelet finds them. Pods must use imagePullPolicy: IfNotPresent or
# Never: the cluster has no registry to pull from.
#   bash cluster/load-images.sh castle/www:dev castle/backend:dev
#   (npm run cluster:load -- castle/www:dev castle/backend:dev)
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  (($# > 0)) || fail "usage: load-images.sh IMAGE... (e.g. castle/www:dev castle/backend:dev)"
  require_root
  command -v docker >/dev/null || fail "docker is not installed; build the images first (scripts/ensure-docker.sh)"
  docker info >/dev/null 2>&1 || fail "the Docker daemon is not running; start it first (scripts/ensure-docker.sh)"
  if ! is_running containerd || ! ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1; then
    fail "the hermetic cluster's containerd is not running; run npm run cluster:up first"
  fi
  local image missing=()
  for image in "$@"; do
    docker image inspect "$image" >/dev/null 2>&1 || missing+=("$image")
  done
  ((${#missing[@]} == 0)) || fail "not in the local Docker engine: ${missing[*]} (build them first)"
  local started
  started=$(now_s)
  step "loading $* into containerd ($CONTAINERD_SOCK, namespace k8s.io)"
  docker save "$@" | ctr_ images import - >/dev/null || fail "docker save | ctr images import failed for: $*"
  for image in "$@"; do
    # crictl resolves the name the way kubelet does (short names get the default registry)
    crictl_ inspecti "$image" >/dev/null 2>&1 || fail "$image was imported but kubelet's CRI cannot see it"
    ok "$image loaded"
  done
  ok "loaded $# image(s) in $(($(now_s) - started))s; use imagePullPolicy: IfNotPresent or Never"
}

main "$@"
