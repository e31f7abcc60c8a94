#!/usr/bin/env bash
# Build (or reuse) every binary and image of the hermetic cluster, cached by version
# under ${CASTLE_CACHE_DIR:-/var/cache/castle}/k8s-<version>/. A component is rebuilt
# only when its Go module files (go.mod, go.sum, *.go) or its version change.
#   bash cluster/build.sh          # build what is missing
#   CASTLE_REBUILD=1 bash .../build.sh           # rebuild everything
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Kubernetes reports this version (kubectl version, node info) instead of v0.0.0.
k8s_ldflags() {
  local flags="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=33"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  printf '%s' "$flags"
}

build_go_binaries() {
  local m=k8s.io/kubernetes/cmd
  go_build "$CLUSTER_DIR/k8s" kubernetes "$(k8s_ldflags)" \
    kube-apiserver=$m/kube-apiserver kube-controller-manager=$m/kube-controller-manager \
    kube-scheduler=$m/kube-scheduler kubelet=$m/kubelet kube-proxy=$m/kube-proxy kubectl=$m/kubectl
  go_build "$CLUSTER_DIR/k8s" etcd "-s -w" etcd=go.etcd.io/etcd/server/v3
  go_build "$CLUSTER_DIR/addons" addons "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    helm=helm.sh/helm/v3/cmd/helm metrics-server=sigs.k8s.io/metrics-server/cmd/metrics-server
  go_build "$CLUSTER_DIR/coredns" coredns "-s -w" coredns=.
  go_build "$CLUSTER_DIR/crictl" crictl "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" \
    crictl=sigs.k8s.io/cri-tools/cmd/crictl
  go_build "$CLUSTER_DIR/kube-router" kube-router \
    "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION" \
    kube-router=github.com/cloudnativelabs/kube-router/v2/cmd/kube-router
  go_build "$CLUSTER_DIR/metallb" metallb "-s -w" \
    metallb-controller=go.universe.tf/metallb/controller metallb-speaker=go.universe.tf/metallb/speaker
}

build_pause() {
  local src="$CLUSTER_DIR/pause/pause.c" stamp="$BIN_DIR/.stamp-pause" hash
  hash=$(sha256sum "$src" | cut -c1-16)
  if [[ -x $BIN_DIR/pause && -f $stamp && $(cat "$stamp") == "$hash" ]]; then
    ok "pause: cached"
    return 0
  fi
  ensure_packages gcc libc6-dev
  gcc -static -O2 -Wall -Wextra -o "$BIN_DIR/pause" "$src" || fail "pause: gcc -static failed"
  strip "$BIN_DIR/pause"
  echo "$hash" >"$stamp"
  ok "pause: built (static C binary)"
}

build_images() {
  mkdir -p "$IMAGE_DIR"
  image_once "$PAUSE_IMAGE" "$IMAGE_DIR/pause.tar" 65535:65535 "$BIN_DIR/pause"
  image_once "$COREDNS_IMAGE" "$IMAGE_DIR/coredns.tar" 0:0 "$BIN_DIR/coredns"
  image_once "$METRICS_SERVER_IMAGE" "$IMAGE_DIR/metrics-server.tar" 65534:65534 "$BIN_DIR/metrics-server"
  image_once "$METALLB_CONTROLLER_IMAGE" "$IMAGE_DIR/metallb-controller.tar" 65534:65534 "$BIN_DIR/metallb-controller"
  # root, but the pod keeps only CAP_NET_RAW (manifests/metallb.yaml says why)
  image_once "$METALLB_SPEAKER_IMAGE" "$IMAGE_DIR/metallb-speaker.tar" 0:0 "$BIN_DIR/metallb-speaker"
  ok "images: pause, coredns, metrics-server, metallb-controller, metallb-speaker tars in $IMAGE_DIR"
}

main() {
  command -v go >/dev/null || fail "go is not installed; the cluster binaries are built from the Go module proxy (install Go ≥ 1.24)"
  mkdir -p "$BIN_DIR" "$IMAGE_DIR"
  local started
  started=$(now_s)
  build_go_binaries
  build_pause
  build_images
  ok "binaries ready in $BIN_DIR ($(($(now_s) - started))s)"
}

main "$@"
