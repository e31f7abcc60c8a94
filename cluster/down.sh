#!/usr/bin/env bash
# Tear the hermetic cluster down completely: pods, host processes, mounts, network
# interfaces, iptables chains, cgroups and state. Keeps the versioned binary cache.
# Best effort and idempotent: safe to run when nothing (or half of it) is up; every
# step runs, and what could not be cleaned is listed at the end.
#   bash cluster/down.sh      (npm run cluster:down)
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=network.sh
source "$CLUSTER_DIR/network.sh"

PROBLEMS=()
problem() { PROBLEMS+=("$1"); warn "$1"; }

# Remove pod sandboxes through CRI while containerd is still up, so the CNI plugins
# delete the veths, the netns and the IP leases themselves.
remove_pods() {
  is_running containerd && [[ -x $BIN_DIR/crictl ]] || return 0
  local pods
  pods=$(crictl_ pods -q 2>/dev/null) || { problem "crictl could not list pods"; return 0; }
  [[ -n $pods ]] || return 0
  # shellcheck disable=SC2086
  crictl_ stopp $pods >/dev/null 2>&1 || problem "crictl stopp failed for some pods"
  # shellcheck disable=SC2086
  crictl_ rmp -f $pods >/dev/null 2>&1 || problem "crictl rmp failed for some pods"
  ok "removed $(wc -w <<<"$pods") pod sandboxes"
}

# containerd-shim processes of OUR containerd (their command line names our socket)
kill_our_shims() {
  local pid
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" || true); do
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# Our host processes whose pid file is gone (e.g. /run was cleared): a binary from
# BIN_DIR or containerd, with our state dir on its command line.
kill_strays() {
  local pid exe
  for pid in $(pgrep -f -- "$STATE_DIR" || true); do
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
    [[ $exe == "$BIN_DIR"/* || $exe == "$(command -v containerd)" ]] || continue
    kill -KILL "$pid" 2>/dev/null && warn "killed stray $(basename "$exe") (pid $pid)"
  done
  return 0
}

# Processes left in the kubepods cgroups were started by our kubelet; kill them and
# remove the cgroups (deepest first).
remove_kubepods_cgroups() {
  local hierarchy dir pid
  for hierarchy in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
    [[ -d ${hierarchy}kubepods ]] || continue
    while read -r pid; do
      kill -KILL "$pid" 2>/dev/null || true
    done < <(find "${hierarchy}kubepods" -name cgroup.procs -exec cat {} + 2>/dev/null)
    # a cgroup can only be removed once its killed processes are gone
    wait_for "processes in ${hierarchy}kubepods to exit" 10 \
      bash -c "[[ -z \$(find '${hierarchy}kubepods' -name cgroup.procs -exec cat {} + 2>/dev/null) ]]" || true
    while read -r dir; do
      rmdir "$dir" 2>/dev/null || true
    done < <(find "${hierarchy}kubepods" -depth -type d 2>/dev/null)
    [[ -d ${hierarchy}kubepods ]] && problem "cgroup ${hierarchy}kubepods could not be removed"
  done
  return 0
}

# Network namespaces and veths whose pod IP is in our pod CIDR (left when CRI could not
# remove the sandboxes, e.g. containerd had crashed).
remove_leftover_netns() {
  local ns link prefix=${POD_CIDR%.*}.
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^cni-' || true); do
    ip netns exec "$ns" ip -4 -o addr 2>/dev/null | grep -F " $prefix" >/dev/null || continue
    ip netns del "$ns" 2>/dev/null || problem "could not delete network namespace $ns"
  done
  for link in $(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip link del "$link" 2>/dev/null || true
  done
}

# Unmount everything below our state and run dirs (pod volumes, overlay rootfs, shm),
# deepest first.
unmount_state() {
  local mp
  while read -r mp; do
    umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || problem "could not unmount $mp"
  done < <(awk '{print $5}' /proc/self/mountinfo | grep -E "^($STATE_DIR|$RUN_DIR)(/|$)" | sort -r)
}

main() {
  require_root
  local started c i
  started=$(now_s)
  stop_process kube-proxy
  stop_process kubelet
  remove_pods
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    c=${COMPONENTS[i]}
    [[ $c == kube-proxy || $c == kubelet ]] || stop_process "$c"
  done
  kill_strays
  kill_our_shims
  remove_kubepods_cgroups
  remove_leftover_netns
  kube_iptables_down
  [[ -z $(kube_router_ipsets) ]] || problem "kube-router ipsets could not be destroyed: $(kube_router_ipsets | tr '\n' ' ')"
  network_down
  unmount_state
  rm -rf --one-file-system "$STATE_DIR" "$RUN_DIR" || problem "could not remove $STATE_DIR or $RUN_DIR"
  if ((${#PROBLEMS[@]} > 0)); then
    printf '✗ down finished with %d problem(s):\n' "${#PROBLEMS[@]}" >&2
    printf '    %s\n' "${PROBLEMS[@]}" >&2
    exit 1
  fi
  ok "cluster down in $(($(now_s) - started))s (binaries kept in $BIN_DIR)"
}

main "$@"
