#!/usr/bin/env bash
# Make sure a Docker engine answers `docker info`; install and start Debian's if not.
#
# Idempotent: does nothing when the daemon already answers. Otherwise it installs Debian's
# docker.io (dockerd, containerd, runc, iptables) with apt, once, and starts dockerd in the
# background, because PID 1 on these machines is not systemd. Some machines ship a
# client-only /usr/local/bin/docker; that client is fine to keep (it negotiates the API
# version down), but the daemon must be Debian's /usr/sbin/dockerd.
#
# Environment:
#   CASTLE_DOCKERD_LOG       dockerd log file              (default /var/log/castle-dockerd.log)
#   CASTLE_DOCKERD_TIMEOUT   seconds to wait for the daemon (default 60)
#   CASTLE_DOCKERD_ARGS      extra dockerd flags, e.g. "--storage-driver=vfs --iptables=false"
set -euo pipefail

log() { printf 'ensure-docker: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

DOCKERD_LOG=${CASTLE_DOCKERD_LOG:-/var/log/castle-dockerd.log}
TIMEOUT=${CASTLE_DOCKERD_TIMEOUT:-60}
DOCKERD=/usr/sbin/dockerd

docker_ok() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

# alive PIDFILE COMM: the pid file names a live process called COMM (not a zombie that
# PID 1 has yet to reap after a killed session, nor a reused pid).
alive() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ && $(cat "/proc/$pid/comm" 2>/dev/null) == "$2" ]] || return 1
  [[ $(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) != Z ]]
}

if docker_ok; then
  log "docker engine is running ($(docker info --format '{{.ServerVersion}}, storage {{.Driver}}'))"
  exit 0
fi

[[ $(id -u) -eq 0 ]] || die "no running Docker engine and not root: start dockerd, or run this script as root"

# One caller at a time installs and starts the engine (build and test scripts may race).
exec 9>/var/run/castle-ensure-docker.lock
flock --timeout "$((TIMEOUT + 300))" 9 || die "another ensure-docker.sh still holds /var/run/castle-ensure-docker.lock"

if [[ ! -x $DOCKERD || ! -x /usr/bin/containerd || ! -x /usr/sbin/runc ]] || ! command -v docker >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || die "no Docker engine and no apt-get to install Debian's docker.io"
  log "installing Debian's docker.io (dockerd, containerd, runc, iptables)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends docker.io iptables ca-certificates >/dev/null \
    || die "apt-get install docker.io failed"
fi

# A daemon that is already starting is left alone. Pid files left by a dead dockerd and
# its containerd (a killed session) are cleared: with a stale one dockerd waits for a
# containerd that is gone and gives up.
started=''
if ! alive /var/run/docker.pid dockerd; then
  rm -f /var/run/docker.pid
  alive /var/run/docker/containerd/containerd.pid containerd || rm -f /var/run/docker/containerd/containerd.pid
  args=()
  # Containers behind a bridge must not use a larger MTU than the uplink, or TLS to the
  # package registries stalls on the first full-size packet.
  uplink=$(ip -o route show default 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1); exit}') || uplink=''
  if [[ -n $uplink && -r /sys/class/net/$uplink/mtu ]]; then
    mtu=$(cat "/sys/class/net/$uplink/mtu")
    if (( mtu < 1500 )); then args+=("--mtu=$mtu"); fi
  fi
  # shellcheck disable=SC2206 # word splitting of the extra flags is intended
  args+=(${CASTLE_DOCKERD_ARGS:-})
  mkdir -p "$(dirname "$DOCKERD_LOG")"
  log "starting $DOCKERD ${args[*]} (log: $DOCKERD_LOG)"
  setsid nohup "$DOCKERD" "${args[@]}" >>"$DOCKERD_LOG" 2>&1 </dev/null 9>&- &
  started=$!
fi

deadline=$((SECONDS + TIMEOUT))
until docker_ok; do
  if [[ -n $started ]] && { ! kill -0 "$started" 2>/dev/null || [[ $(awk '{ print $3 }' "/proc/$started/stat" 2>/dev/null) == Z ]]; }; then
    log "last lines of $DOCKERD_LOG:"
    tail -n 30 "$DOCKERD_LOG" >&2 || true
    die "dockerd exited while starting (see above)"
  fi
  if (( SECONDS >= deadline )); then
    log "last lines of $DOCKERD_LOG:"
    tail -n 30 "$DOCKERD_LOG" >&2 || true
    die "docker engine did not answer 'docker info' within ${TIMEOUT}s; try CASTLE_DOCKERD_ARGS='--storage-driver=vfs' or '--iptables=false'"
  fi
  sleep 0.5
done
log "docker engine is running ($(docker info --format '{{.ServerVersion}}, storage {{.Driver}}'))"
