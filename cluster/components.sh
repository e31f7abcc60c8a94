# shellcheck shell=bash
# Start and readiness checks of the host processes (containerd, etcd, control plane,
# kubelet, kube-proxy). Each ensure_* starts its component only when it is not already
# running, then waits for it to report healthy. Sourced by up.sh after lib.sh.

# check_ready NAME TIMEOUT CMD...: wait, and on timeout show the component's log and fail
check_ready() {
  local name=$1 timeout=$2
  shift 2
  if ! wait_for "$name to become ready" "$timeout" "$@"; then
    if is_running "$name"; then warn "last lines of $LOG_DIR/$name.log:"; else warn "$name exited; last lines of $LOG_DIR/$name.log:"; fi
    log_tail "$name" 25
    fail "$name did not become ready; full log: $LOG_DIR/$name.log"
  fi
}

# same_command NAME CMD...: the running NAME was started with exactly CMD
same_command() {
  local name=$1 running
  shift
  running=$(tr '\0' '\n' <"/proc/$(pid_of "$name")/cmdline" 2>/dev/null) || return 1
  [[ $running == "$(printf '%s\n' "$@")" ]]
}

# ensure_component NAME TIMEOUT READY_CMD -- START_CMD...
# A component running with other flags than START_CMD (this script changed) is restarted.
ensure_component() {
  local name=$1 timeout=$2 ready=$3
  shift 4
  if is_running "$name" && ! same_command "$name" "$@"; then
    step "$name: command line changed, restarting"
    stop_process "$name"
  fi
  if is_running "$name"; then
    check_ready "$name" "$timeout" bash -c "$ready"
    ok "$name: running (pid $(pid_of "$name"))"
    return 0
  fi
  step "$name: starting"
  start_process "$name" "$@"
  check_ready "$name" "$timeout" bash -c "$ready"
  ok "$name: ready (pid $(pid_of "$name"), log $LOG_DIR/$name.log)"
}

https_ok() { echo "curl -fsk --max-time 3 https://127.0.0.1:$1/healthz"; }

ensure_containerd() {
  ensure_component containerd 60 "ctr --address $CONTAINERD_SOCK version" -- \
    containerd --config "$STATE_DIR/containerd.toml"
}

ensure_etcd() {
  ensure_component etcd 60 "curl -fs --max-time 3 http://127.0.0.1:2379/health" -- \
    etcd --name castle --data-dir "$STATE_DIR/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster castle=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381 \
    --unsafe-no-fsync --log-level warn
}

# Every request must authenticate (--anonymous-auth=false: even /healthz, /readyz and
# /version answer 401 without a client certificate or token; the readiness check below
# uses the admin certificate). Privileged containers are refused cluster-wide (no
# --allow-privileged): nothing here needs one, the CNI and kube-proxy run on the host.
ensure_apiserver() {
  local p=$PKI_DIR
  ensure_component kube-apiserver 120 \
    "curl -fs --max-time 3 --cacert $p/ca.crt --cert $p/admin.crt --key $p/admin.key https://$NODE_IP:$API_PORT/readyz" -- \
    kube-apiserver --advertise-address "$NODE_IP" --bind-address "$NODE_IP" --secure-port "$API_PORT" \
    --etcd-servers http://127.0.0.1:2379 --service-cluster-ip-range "$SERVICE_CIDR" \
    --client-ca-file "$p/ca.crt" --tls-cert-file "$p/apiserver.crt" --tls-private-key-file "$p/apiserver.key" \
    --kubelet-client-certificate "$p/apiserver-kubelet-client.crt" --kubelet-client-key "$p/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$p/ca.crt" --kubelet-preferred-address-types InternalIP \
    --service-account-key-file "$p/sa.pub" --service-account-signing-key-file "$p/sa.key" \
    --service-account-issuer "https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
    --anonymous-auth=false --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --requestheader-client-ca-file "$p/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client \
    --requestheader-extra-headers-prefix X-Remote-Extra- --requestheader-group-headers X-Remote-Group \
    --requestheader-username-headers X-Remote-User \
    --proxy-client-cert-file "$p/front-proxy-client.crt" --proxy-client-key-file "$p/front-proxy-client.key" \
    --enable-aggregator-routing --profiling=false --v 1
}

ensure_controller_manager() {
  local kc=$STATE_DIR/controller-manager.kubeconfig p=$PKI_DIR
  ensure_component kube-controller-manager 60 "$(https_ok 10257)" -- \
    kube-controller-manager --kubeconfig "$kc" --authentication-kubeconfig "$kc" --authorization-kubeconfig "$kc" \
    --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials \
    --cluster-signing-cert-file "$p/ca.crt" --cluster-signing-key-file "$p/ca.key" --root-ca-file "$p/ca.crt" \
    --service-account-private-key-file "$p/sa.key" --service-cluster-ip-range "$SERVICE_CIDR" \
    --cluster-cidr "$POD_CIDR" --allocate-node-cidrs=false \
    --requestheader-client-ca-file "$p/front-proxy-ca.crt" --profiling=false --v 1
}

ensure_scheduler() {
  local kc=$STATE_DIR/scheduler.kubeconfig
  ensure_component kube-scheduler 60 "$(https_ok 10259)" -- \
    kube-scheduler --kubeconfig "$kc" --authentication-kubeconfig "$kc" --authorization-kubeconfig "$kc" \
    --bind-address 127.0.0.1 --leader-elect=false --profiling=false --v 1
}

ensure_kubelet() {
  ensure_component kubelet 90 "curl -fs --max-time 3 http://127.0.0.1:10248/healthz" -- \
    kubelet --config "$STATE_DIR/kubelet/config.yaml" --kubeconfig "$STATE_DIR/kubelet.kubeconfig" \
    --root-dir "$STATE_DIR/kubelet" --node-ip "$NODE_IP" --hostname-override "$NODE_NAME" --v 1
}

ensure_kube_proxy() {
  ensure_component kube-proxy 60 "curl -fs --max-time 3 http://127.0.0.1:10256/healthz" -- \
    kube-proxy --config "$STATE_DIR/kube-proxy.yaml" --v 1
}

# Only kube-router's network policy firewall, beside the bridge CNI (pod networking) and
# kube-proxy (Services): no BGP router, no service proxy. Its health port answers once
# the firewall has synced.
ensure_kube_router() {
  ensure_component kube-router 60 "curl -fs --max-time 3 http://127.0.0.1:20244/healthz" -- \
    kube-router --kubeconfig "$STATE_DIR/kube-router.kubeconfig" --hostname-override "$NODE_NAME" \
    --run-firewall=true --run-router=false --run-service-proxy=false \
    --service-cluster-ip-range "$SERVICE_CIDR" --health-port 20244 --metrics-port 0 --v 1
}

node_ready() {
  [[ $(kubectl_ get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}

wait_node_ready() {
  if ! wait_for "node $NODE_NAME to be Ready" 120 node_ready; then
    kubectl_ describe node "$NODE_NAME" 2>&1 | sed -n '/Conditions:/,/Addresses:/p' | sed 's/^/    /' >&2 || true
    log_tail kubelet 25
    fail "node $NODE_NAME is not Ready; kubelet log: $LOG_DIR/kubelet.log"
  fi
  ok "node $NODE_NAME: Ready"
}

import_system_images() {
  import_image "$IMAGE_DIR/pause.tar" "$PAUSE_IMAGE"
  import_image "$IMAGE_DIR/coredns.tar" "$COREDNS_IMAGE"
  import_image "$IMAGE_DIR/metrics-server.tar" "$METRICS_SERVER_IMAGE"
  import_image "$IMAGE_DIR/metallb-controller.tar" "$METALLB_CONTROLLER_IMAGE"
  import_image "$IMAGE_DIR/metallb-speaker.tar" "$METALLB_SPEAKER_IMAGE"
}
