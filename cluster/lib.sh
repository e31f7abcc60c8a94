# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this
# Shared settings and functions of the hermetic cluster scripts.
# Sourced by build.sh, up.sh, down.sh and load-images.sh; never run directly.

set -euo pipefail

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# ---- versions (the Go modules in k8s/, addons/, coredns/, crictl/, kube-router/, metallb/ pin the same) ----
readonly K8S_VERSION=v1.33.13
readonly ETCD_VERSION=v3.5.21          # the etcd that k8s.io/kubernetes v1.33.13 pins
readonly HELM_VERSION=v3.18.6
readonly METRICS_SERVER_VERSION=v0.8.0
readonly COREDNS_VERSION=v1.14.7
readonly CRICTL_VERSION=v1.34.0
readonly PAUSE_VERSION=3.10
readonly KUBE_ROUTER_VERSION=v2.1.0   # network policy firewall only
readonly METALLB_VERSION=v0.16.1       # v0.16.2 needs an frr-k8s the Go proxy does not serve

# ---- paths ----
CACHE_ROOT="${CASTLE_CACHE_DIR:-/var/cache/castle}"
CACHE_DIR="$CACHE_ROOT/k8s-$K8S_VERSION"
BIN_DIR="$CACHE_DIR/bin"
IMAGE_DIR="$CACHE_DIR/images"
STATE_DIR="${CASTLE_K8S_STATE_DIR:-/var/lib/castle-k8s}"
RUN_DIR="${CASTLE_K8S_RUN_DIR:-/run/castle-k8s}"
PKI_DIR="$STATE_DIR/pki"
LOG_DIR="$STATE_DIR/logs"
PID_DIR="$RUN_DIR/pids"
KUBECONFIG_PATH="$STATE_DIR/kubeconfig"
CONTAINERD_SOCK="$RUN_DIR/containerd.sock"
CNI_CONF_DIR="$STATE_DIR/cni/net.d"
CNI_BIN_DIR=/usr/lib/cni            # Debian's containernetworking-plugins

# ---- network: all inside 198.18.0.0/15 (RFC 2544 benchmark-testing range) ----
# Nothing on a normal LAN uses it, and every address in it lives on this machine:
# the node IP on lo, pods on our own bridge, Service IPs routed to that bridge.
readonly NODE_NAME=castle-node
readonly NODE_IP=198.18.0.1
readonly BRIDGE=castle0
readonly POD_CIDR=198.18.1.0/24
readonly POD_GATEWAY=198.18.1.1
readonly SERVICE_CIDR=198.19.0.0/24
readonly API_SERVICE_IP=198.19.0.1
readonly DNS_SERVICE_IP=198.19.0.10
readonly TEST_RANGE=198.18.0.0/15
readonly API_PORT=6443
readonly CLUSTER_DOMAIN=cluster.local
readonly EGRESS_CHAIN=CASTLE-K8S-EGRESS
# LoadBalancer addresses (MetalLB's IPAddressPool), routed to the bridge like Service IPs
readonly LB_POOL=198.18.2.0/24
readonly METALLB_NAMESPACE=metallb-system

# Images built here from static binaries; "castle.local" is a name, not a host.
readonly PAUSE_IMAGE="castle.local/pause:$PAUSE_VERSION"
readonly COREDNS_IMAGE="castle.local/coredns:$COREDNS_VERSION"
readonly METRICS_SERVER_IMAGE="castle.local/metrics-server:$METRICS_SERVER_VERSION"
readonly METALLB_CONTROLLER_IMAGE="castle.local/metallb-controller:$METALLB_VERSION"
readonly METALLB_SPEAKER_IMAGE="castle.local/metallb-speaker:$METALLB_VERSION"

# Host processes in start order; down.sh stops them in reverse.
readonly COMPONENTS=(containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kube-router)

export PATH="$BIN_DIR:$PATH"

# ---- messages (progress and errors go to stderr) ----
step() { printf '• %s\n' "$*" >&2; }
ok() { printf '✓ %s\n' "$*" >&2; }
warn() { printf '! %s\n' "$*" >&2; }
fail() { printf '✗ %s\n' "$*" >&2; exit 1; }

require_root() {
  [[ $EUID -eq 0 ]] || fail "$(basename "$0") needs root (it runs containerd, kubelet and iptables); rerun with sudo"
}

now_s() { date +%s; }

# wait_for DESCRIPTION TIMEOUT_SECONDS CMD...: poll CMD every half second until it
# succeeds or the deadline passes. Returns 1 on timeout.
wait_for() {
  local what=$1 timeout=$2
  shift 2
  local deadline=$(($(now_s) + timeout))
  until "$@" >/dev/null 2>&1; do
    if (($(now_s) >= deadline)); then
      printf '✗ timed out after %ss waiting for %s\n' "$timeout" "$what" >&2
      return 1
    fi
    sleep 0.5
  done
}

# Note: never `cmd | grep -q` under pipefail: grep -q exits at the first match and
# cmd then dies of SIGPIPE, failing the pipeline. Use `grep PATTERN >/dev/null`.

# ---- Debian packages ----
APT_UPDATED=0
# ensure_packages PKG...: install the missing ones (apt-get update at most once).
ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep 'install ok installed' >/dev/null || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  step "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ((APT_UPDATED == 0)); then
    apt-get update -qq >&2 || fail "apt-get update failed; check the Debian mirror configuration"
    APT_UPDATED=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
    || fail "apt-get install ${missing[*]} failed"
  ok "installed ${missing[*]}"
}

# ---- host processes ----
pid_of() { local f="$PID_DIR/$1.pid"; [[ -f $f ]] && cat "$f"; }

# alive PID: the process exists and is not a zombie (PID 1 here may reap late)
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

is_running() {
  local pid
  pid=$(pid_of "$1") || return 1
  [[ -n $pid ]] && alive "$pid"
}

# start_process NAME CMD...: run CMD in its own session, log to $LOG_DIR/NAME.log.
start_process() {
  local name=$1
  shift
  mkdir -p "$PID_DIR" "$LOG_DIR"
  setsid "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$PID_DIR/$name.pid"
}

# exited_within PID SECONDS: true once PID is gone, false if it still runs after SECONDS
exited_within() {
  local pid=$1 deadline=$(($(now_s) + $2))
  while alive "$pid"; do
    (($(now_s) < deadline)) || return 1
    sleep 0.2
  done
}

# stop_process NAME: SIGTERM, then SIGKILL after 15s. Safe when not running.
stop_process() {
  local name=$1 pid
  pid=$(pid_of "$name") || return 0
  if [[ -n $pid ]] && alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    if ! exited_within "$pid" 15; then
      warn "$name (pid $pid) ignored SIGTERM for 15s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      exited_within "$pid" 5 || warn "$name (pid $pid) survived SIGKILL"
    fi
    ok "stopped $name"
  fi
  rm -f "$PID_DIR/$name.pid"
}

# last lines of a component's log, for error messages
log_tail() { tail -n "${2:-20}" "$LOG_DIR/$1.log" 2>/dev/null | sed 's/^/    /' >&2 || true; }

# image_tar NAME:TAG OUT.tar USER ENTRYPOINT_BINARY [PATH_IN_IMAGE]: write a docker-archive
# image with a single layer holding one static binary, at /NAME of the binary unless
# PATH_IN_IMAGE says otherwise (some operators start a fixed path such as /bin/x).
# Accepted by `ctr images import` and `docker load`; nothing is pulled.
image_tar() {
  local ref=$1 out=$2 user=$3 binary=$4 target=${5:-/$(basename "$4")} work layer_sha config config_sha
  work=$(mktemp -d)
  mkdir -p "$work/rootfs/tmp" "$work/img" "$work/rootfs$(dirname "$target")"
  chmod 1777 "$work/rootfs/tmp"
  cp "$binary" "$work/rootfs$target"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/rootfs" -cf "$work/layer.tar" .
  layer_sha=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  mkdir -p "$work/img/$layer_sha"
  mv "$work/layer.tar" "$work/img/$layer_sha/layer.tar"
  config=$(printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"User":"%s","Entrypoint":["%s"],"Env":["PATH=/"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"castle cluster/build.sh"}]}' \
    "$user" "$target" "$layer_sha")
  config_sha=$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)
  printf '%s' "$config" >"$work/img/$config_sha.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' \
    "$config_sha" "$ref" "$layer_sha" >"$work/img/manifest.json"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/img" -cf "$out.tmp" .
  mv -f "$out.tmp" "$out"
  rm -rf "$work"
}

# module_hash DIR EXTRA: identifies the build inputs of one Go module by the contents of
# its files, never by their path, so moving the repository or this folder keeps the cache.
# (That is also why the go.mod files keep their module names: a new name is a new hash.)
module_hash() {
  (cd "$1" && cat go.mod go.sum ./*.go && printf '%s' "$2") | sha256sum | cut -c1-16
}

# go_build MODULE_DIR STAMP LDFLAGS "OUT=PKG"...: build into BIN_DIR unless the stamp matches.
# GO_BUILD_TAGS (optional) are passed as -tags and are part of the stamp.
go_build() {
  local dir=$1 stamp_name=$2 ldflags=$3 tags=${GO_BUILD_TAGS:-}
  shift 3
  local stamp="$BIN_DIR/.stamp-$stamp_name" hash spec out pkg absent=0
  hash=$(module_hash "$dir" "$ldflags${tags:+ tags=$tags}")
  for spec in "$@"; do [[ -x $BIN_DIR/${spec%%=*} ]] || absent=1; done
  if [[ ${CASTLE_REBUILD:-0} != 1 && $absent == 0 && -f $stamp && $(cat "$stamp") == "$hash" ]]; then
    ok "$stamp_name: cached"
    return 0
  fi
  local tmp started
  tmp=$(mktemp -d "$CACHE_DIR/.build-XXXXXX")
  started=$(now_s)
  step "$stamp_name: compiling ${*%%=*} (cold builds take minutes on 2 cores)"
  for spec in "$@"; do
    out=${spec%%=*} pkg=${spec#*=}
    (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false nice -n 10 \
      go build -trimpath -tags "$tags" -ldflags "$ldflags" -o "$tmp/$out" "$pkg") \
      || { rm -rf "$tmp"; fail "$stamp_name: go build $pkg failed (see the compiler output above)"; }
  done
  for spec in "$@"; do mv -f "$tmp/${spec%%=*}" "$BIN_DIR/"; done
  rm -rf "$tmp"
  echo "$hash" >"$stamp"
  ok "$stamp_name: built in $(($(now_s) - started))s"
}

# image_once REF TAR USER BINARY: (re)write TAR only when BINARY is newer
image_once() {
  [[ -f $2 && $2 -nt $4 && ${CASTLE_REBUILD:-0} != 1 ]] || image_tar "$@"
}

# import_image TAR REF: load one of our image tars into containerd's k8s.io namespace
import_image() {
  local tar=$1 ref=$2
  ctr_ images ls -q 2>/dev/null | grep -xF "$ref" >/dev/null && return 0
  ctr_ images import "$tar" >/dev/null || fail "ctr images import $tar failed"
  ctr_ images ls -q | grep -xF "$ref" >/dev/null || fail "importing $tar did not create image $ref"
  ok "image $ref imported"
}

kubectl_() { "$BIN_DIR/kubectl" --kubeconfig "$KUBECONFIG_PATH" "$@"; }
crictl_() { "$BIN_DIR/crictl" --runtime-endpoint "unix://$CONTAINERD_SOCK" --timeout 30s "$@"; }
ctr_() { ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }
