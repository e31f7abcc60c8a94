# shellcheck shell=bash
# Configuration files of containerd, CNI, kubelet and kube-proxy, derived from lib.sh
# alone and checked on every `up`. Sourced by up.sh after lib.sh.

# write_config FILE COMPONENT: write stdin to FILE when it differs; if COMPONENT is
# running with the old content, stop it so that up.sh starts it with the new one
# (kube-proxy would exit by itself: it watches its configuration file).
write_config() {
  local file=$1 component=$2 new
  new=$(cat)
  [[ -f $file && $(cat "$file") == "$new" ]] && return 0
  printf '%s\n' "$new" >"$file.tmp"
  mv -f "$file.tmp" "$file"
  if is_running "$component"; then
    step "$component: configuration changed, restarting"
    stop_process "$component"
  fi
}

write_containerd_config() {
  mkdir -p "$STATE_DIR/containerd" "$RUN_DIR"
  write_config "$STATE_DIR/containerd.toml" containerd <<EOF
# containerd of the hermetic cluster: its own socket, root and state, so the
# system containerd that Docker uses is never touched.
version = 2
root = "$STATE_DIR/containerd"
state = "$RUN_DIR/containerd"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "$CONTAINERD_SOCK"

[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # Never ask for a negative oom_score_adj (containerd gives sandboxes -998): VMs like
  # this workplace's withhold CAP_SYS_RESOURCE and runc then fails every pod with
  # "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$STATE_DIR/registry"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$CNI_CONF_DIR"
    max_conf_num = 1
EOF
}

# Every registry host resolves to a closed port on loopback: an image that was not
# loaded fails at once with "connection refused" instead of containerd reaching out to
# a registry on the internet.
write_registry_config() {
  mkdir -p "$STATE_DIR/registry/_default"
  write_config "$STATE_DIR/registry/_default/hosts.toml" none <<EOF
server = "http://127.0.0.1:9"

[host."http://127.0.0.1:9"]
  capabilities = ["pull", "resolve"]
EOF
}

write_cni_config() {
  mkdir -p "$CNI_CONF_DIR" "$STATE_DIR/cni/ipam"
  write_config "$CNI_CONF_DIR/10-castle.conflist" none <<EOF
{
  "cniVersion": "1.0.0",
  "name": "castle",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE_DIR/cni/ipam",
        "ranges": [[{ "subnet": "$POD_CIDR", "gateway": "$POD_GATEWAY" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
}

write_kubelet_config() {
  mkdir -p "$STATE_DIR/kubelet"
  # Pods with dnsPolicy Default get this file: cluster DNS only, never the host's resolver.
  printf 'nameserver %s\n' "$DNS_SERVICE_IP" >"$STATE_DIR/kubelet/resolv.conf"
  write_config "$STATE_DIR/kubelet/config.yaml" kubelet <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $PKI_DIR/ca.crt }
authorization: { mode: Webhook }
tlsCertFile: $PKI_DIR/kubelet-serving.crt
tlsPrivateKeyFile: $PKI_DIR/kubelet-serving.key
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0
clusterDNS: [$DNS_SERVICE_IP]
clusterDomain: $CLUSTER_DOMAIN
resolvConf: $STATE_DIR/kubelet/resolv.conf
serializeImagePulls: false
maxPods: 110
evictionHard:
  memory.available: 100Mi
  nodefs.available: 2%
  nodefs.inodesFree: 2%
  imagefs.available: 2%
imageGCHighThresholdPercent: 98
imageGCLowThresholdPercent: 95
EOF
}

write_kube_proxy_config() {
  write_config "$STATE_DIR/kube-proxy.yaml" kube-proxy <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: { kubeconfig: $STATE_DIR/kube-proxy.kubeconfig }
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$NODE_IP/32"]
oomScoreAdj: 0
# program endpoint changes at once (default: at most once a second), so a Service
# spreads over every Ready pod as soon as a rollout reports them Ready
iptables: { minSyncPeriod: 0s }
# leave the kernel's conntrack sysctls alone (the VM may not allow changing them)
conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s }
EOF
}

write_configs() {
  write_containerd_config
  write_registry_config
  write_cni_config
  write_kubelet_config
  write_kube_proxy_config
  ok "configuration written to $STATE_DIR"
}
