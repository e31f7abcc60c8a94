# shellcheck shell=bash
# Host networking of the hermetic cluster: node IP, pod bridge, Service route and the
# forward guard. Sourced by up.sh and down.sh after lib.sh. Everything created here is
# named castle*/CASTLE-* so that teardown touches nothing it did not make.

# The node IP lives on lo; the bridge carries the pod gateway; Service IPs are routed
# to the bridge so that host traffic to a ClusterIP never leaves the machine, even
# when kube-proxy's rules are missing (kube-proxy DNATs it to a pod IP in OUTPUT).
network_up() {
  sysctl -qw net.ipv4.ip_forward=1
  sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null \
    || fail "net.bridge.bridge-nf-call-iptables is missing: the kernel needs br_netfilter (modprobe br_netfilter)"
  ip -4 addr show dev lo | grep " $NODE_IP/" >/dev/null || ip addr add "$NODE_IP/32" dev lo
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge || fail "could not create bridge $BRIDGE (ip link add type bridge)"
  fi
  ip -4 addr show dev "$BRIDGE" | grep " $POD_GATEWAY/" >/dev/null || ip addr add "$POD_GATEWAY/${POD_CIDR#*/}" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  ip route replace "$SERVICE_CIDR" dev "$BRIDGE" src "$POD_GATEWAY"
  # LoadBalancer addresses too: kube-proxy DNATs them to a pod like a ClusterIP, and
  # MetalLB's speaker answers ARP for them on the bridge
  ip route replace "$LB_POOL" dev "$BRIDGE" src "$POD_GATEWAY"
  forward_guard_up
  ok "network: node $NODE_IP (lo), pods $POD_CIDR on $BRIDGE, services $SERVICE_CIDR, load balancers $LB_POOL"
}

# Pods may talk only to addresses inside $TEST_RANGE (each other, Services, the node);
# anything else is rejected. This also lets pod traffic pass when dockerd has set the
# FORWARD policy to DROP.
forward_guard_up() {
  iptables -w -N "$EGRESS_CHAIN" 2>/dev/null || iptables -w -F "$EGRESS_CHAIN"
  iptables -w -A "$EGRESS_CHAIN" -s "$TEST_RANGE" -d "$TEST_RANGE" -j ACCEPT
  iptables -w -A "$EGRESS_CHAIN" -j REJECT --reject-with icmp-net-prohibited
  local dir
  for dir in -i -o; do
    iptables -w -C FORWARD "$dir" "$BRIDGE" -j "$EGRESS_CHAIN" 2>/dev/null \
      || iptables -w -I FORWARD 1 "$dir" "$BRIDGE" -j "$EGRESS_CHAIN"
  done
}

network_down() {
  local dir
  for dir in -i -o; do
    while iptables -w -D FORWARD "$dir" "$BRIDGE" -j "$EGRESS_CHAIN" 2>/dev/null; do :; done
  done
  iptables -w -F "$EGRESS_CHAIN" 2>/dev/null || true
  iptables -w -X "$EGRESS_CHAIN" 2>/dev/null || true
  ip route del "$SERVICE_CIDR" 2>/dev/null || true
  ip route del "$LB_POOL" 2>/dev/null || true
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link del "$BRIDGE" && ok "removed bridge $BRIDGE"
  fi
  ip addr del "$NODE_IP/32" dev lo 2>/dev/null || true
}

# drop_chains CMD TABLE PREFIX: delete the jumps into chains named PREFIX*, then those
# chains. Only chains with that prefix (kube-proxy/kubelet: KUBE-, portmap CNI: CNI-)
# are touched; Docker's chains stay.
drop_chains() {
  local cmd=$1 table=$2 prefix=$3 rule chain chains
  chains=$("$cmd" -w -t "$table" -S 2>/dev/null | awk -v p="^$prefix" '$1 == "-N" && $2 ~ p {print $2}') || return 0
  [[ -n $chains ]] || return 0
  while read -r rule; do
    [[ -z $rule ]] || eval "$cmd -w -t $table ${rule/-A /-D }" 2>/dev/null || true
  done < <("$cmd" -w -t "$table" -S 2>/dev/null | grep -E "^-A [A-Z]+ .*-j $prefix" || true)
  for chain in $chains; do "$cmd" -w -t "$table" -F "$chain" 2>/dev/null || true; done
  for chain in $chains; do "$cmd" -w -t "$table" -X "$chain" 2>/dev/null || true; done
}

kube_iptables_down() {
  local cmd table prefix
  for cmd in iptables ip6tables; do
    command -v "$cmd" >/dev/null || continue
    for table in filter nat mangle raw; do
      for prefix in KUBE- CNI-; do drop_chains "$cmd" "$table" "$prefix"; done
    done
  done
  ok "removed KUBE-* and CNI-* iptables chains"
  kube_router_ipsets_down
}

# kube-router's firewall keeps the pods each policy selects in ipsets named KUBE-SRC-*
# and KUBE-DST-* (inet6:KUBE-* for IPv6); they can only go once no iptables rule
# refers to them, so after kube_iptables_down. down.sh reports any that stayed.
kube_router_ipsets() { ipset list -n 2>/dev/null | grep -E '^(inet6:)?KUBE-(SRC|DST)-' || true; }

kube_router_ipsets_down() {
  command -v ipset >/dev/null || return 0
  local set count=0
  for set in $(kube_router_ipsets); do
    ipset destroy "$set" 2>/dev/null && count=$((count + 1))
  done
  ((count == 0)) || ok "removed $count KUBE-SRC-*/KUBE-DST-* ipsets"
}
