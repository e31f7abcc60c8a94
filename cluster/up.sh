#!/usr/bin/env bash
# Bring up (or verify) the hermetic single-node Kubernetes cluster. Idempotent: when
# the cluster is already up it only checks it and prints how to use it; when a host
# process has died it starts just that one again.
#   bash cluster/up.sh        (npm run cluster:up)
#   bash cluster/up.sh --packages   only install the Debian packages the cluster and its
#                                   build need (as .ci/run does before building in parallel)
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=pki.sh
source "$CLUSTER_DIR/pki.sh"
# shellcheck source=config.sh
source "$CLUSTER_DIR/config.sh"
# shellcheck source=network.sh
source "$CLUSTER_DIR/network.sh"
# shellcheck source=components.sh
source "$CLUSTER_DIR/components.sh"

# Debian packages the cluster needs at run time (gcc/libc6-dev only for build.sh).
readonly RUNTIME_PACKAGES=(containerd runc containernetworking-plugins iptables ipset conntrack
  openssl curl iproute2 procps util-linux ca-certificates)

check_host() {
  [[ $(uname -m) == x86_64 ]] || fail "only x86_64 hosts are supported (this is $(uname -m))"
  [[ -d /sys/fs/cgroup/memory || -f /sys/fs/cgroup/cgroup.controllers ]] \
    || fail "no memory cgroup under /sys/fs/cgroup; kubelet needs cgroups (v1 or v2)"
}

binaries_present() {
  local b
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl \
    helm coredns metrics-server crictl pause kube-router metallb-controller metallb-speaker; do
    [[ -x $BIN_DIR/$b ]] || return 1
  done
  for b in pause coredns metrics-server metallb-controller metallb-speaker; do
    [[ -f $IMAGE_DIR/$b.tar ]] || return 1
  done
}

ensure_binaries() {
  if binaries_present && [[ ${CASTLE_REBUILD:-0} != 1 ]]; then
    ok "binaries: cached in $BIN_DIR"
    return 0
  fi
  step "binaries: missing in $BIN_DIR, running build.sh"
  bash "$CLUSTER_DIR/build.sh"
}

# apply_manifest FILE: fill in @VARS@ and apply with server-side apply
apply_manifest() {
  sed -e "s|@CLUSTER_DOMAIN@|$CLUSTER_DOMAIN|g" -e "s|@DNS_SERVICE_IP@|$DNS_SERVICE_IP|g" \
    -e "s|@COREDNS_IMAGE@|$COREDNS_IMAGE|g" -e "s|@METRICS_SERVER_IMAGE@|$METRICS_SERVER_IMAGE|g" \
    -e "s|@METALLB_CONTROLLER_IMAGE@|$METALLB_CONTROLLER_IMAGE|g" -e "s|@METALLB_SPEAKER_IMAGE@|$METALLB_SPEAKER_IMAGE|g" \
    -e "s|@METALLB_NAMESPACE@|$METALLB_NAMESPACE|g" -e "s|@LB_POOL@|$LB_POOL|g" -e "s|@BRIDGE@|$BRIDGE|g" \
    "$CLUSTER_DIR/manifests/$1" | kubectl_ apply --server-side --force-conflicts -f - >/dev/null \
    || fail "kubectl apply of manifests/$1 failed"
}

# wait_rollout NAMESPACE KIND/NAME TIMEOUT SELECTOR: rollout status of a Deployment or
# DaemonSet; on timeout show its pods, their logs and the events, and fail
wait_rollout() {
  local ns=$1 workload=$2 timeout=$3 selector=$4
  if ! kubectl_ -n "$ns" rollout status "$workload" --timeout "${timeout}s" >/dev/null 2>&1; then
    kubectl_ -n "$ns" get pods -l "$selector" -o wide >&2 || true
    kubectl_ -n "$ns" logs -l "$selector" --tail 20 >&2 || true
    kubectl_ -n "$ns" get events --sort-by .lastTimestamp 2>/dev/null | tail -n 15 >&2 || true
    fail "$ns/$workload did not become ready in ${timeout}s (pods, logs and events above)"
  fi
}

# wait_deployment NAME TIMEOUT K8S_APP: rollout status of a kube-system Deployment
wait_deployment() { wait_rollout kube-system "deployment/$1" "$2" "k8s-app=$3"; }

apiservice_available() {
  [[ $(kubectl_ get apiservice v1beta1.metrics.k8s.io \
    -o 'jsonpath={.status.conditions[?(@.type=="Available")].status}' 2>/dev/null) == True ]]
}

# MetalLB's CRDs must be served before its IPAddressPool and L2Advertisement can be applied.
apply_metallb() {
  apply_manifest metallb-crds.yaml
  kubectl_ wait --for condition=Established --timeout 60s \
    crd/ipaddresspools.metallb.io crd/l2advertisements.metallb.io >/dev/null \
    || fail "MetalLB's CRDs were not established within 60s (kubectl get crd -o wide)"
  apply_manifest metallb.yaml
}

ensure_addons() {
  apply_manifest coredns.yaml
  apply_manifest metrics-server.yaml
  apply_metallb
  wait_deployment coredns 120 kube-dns
  ok "CoreDNS: ready at $DNS_SERVICE_IP (kube-system/kube-dns)"
  wait_deployment metrics-server 120 metrics-server
  if ! wait_for "APIService v1beta1.metrics.k8s.io to be Available" 90 apiservice_available; then
    kubectl_ get apiservice v1beta1.metrics.k8s.io -o yaml >&2 || true
    fail "metrics-server is running but metrics.k8s.io is not Available"
  fi
  ok "metrics-server: metrics.k8s.io available"
  wait_rollout "$METALLB_NAMESPACE" deployment/controller 120 app=metallb
  wait_rollout "$METALLB_NAMESPACE" daemonset/speaker 120 app=metallb
  ok "MetalLB: LoadBalancer addresses from $LB_POOL, announced on $BRIDGE (L2)"
}

# kube-router's firewall enforces NetworkPolicies; it reads them as castle:kube-router.
ensure_network_policies() {
  apply_manifest kube-router-rbac.yaml
  ensure_kube_router
}

# State without any running component is left from an earlier boot (or a crash): its
# etcd objects, IP leases and container metadata would only get in the way, so reset.
reset_stale_state() {
  [[ -d $STATE_DIR ]] || return 0
  local c
  for c in "${COMPONENTS[@]}"; do is_running "$c" && return 0; done
  step "found $STATE_DIR but no running component: resetting stale state with down.sh"
  bash "$CLUSTER_DIR/down.sh"
}

print_usage() {
  cat <<EOF

Kubernetes $K8S_VERSION is up (single node $NODE_NAME, $NODE_IP).
  export KUBECONFIG=$KUBECONFIG_PATH
  export PATH=$BIN_DIR:\$PATH     # kubectl, helm, crictl
  kubectl get nodes
  helm version
Services are reachable from this host at their ClusterIP (route $SERVICE_CIDR via $BRIDGE);
LoadBalancer Services get an address from $LB_POOL (MetalLB), also reachable from here.
NetworkPolicies are enforced (kube-router's firewall).
Load locally built images: npm run cluster:load -- IMAGE...   Stop: npm run cluster:down
Logs: $LOG_DIR
EOF
}

main() {
  require_root
  if [[ ${1:-} == --packages ]]; then
    ensure_packages "${RUNTIME_PACKAGES[@]}" gcc libc6-dev
    return 0
  fi
  local started
  started=$(now_s)
  check_host
  ensure_packages "${RUNTIME_PACKAGES[@]}"
  ensure_binaries
  reset_stale_state
  mkdir -p "$STATE_DIR" "$RUN_DIR" "$LOG_DIR"
  ensure_pki
  write_configs
  network_up
  ensure_containerd
  import_system_images
  ensure_etcd
  ensure_apiserver
  ensure_controller_manager
  ensure_scheduler
  ensure_kubelet
  ensure_kube_proxy
  wait_node_ready
  ensure_network_policies
  ensure_addons
  ok "cluster ready in $(($(now_s) - started))s"
  print_usage
}

main "$@"
