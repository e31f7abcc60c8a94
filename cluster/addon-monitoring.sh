# shellcheck shell=bash
# The monitoring add-on: Prometheus 3, the Prometheus Operator (+ its config reloader) and
# Alertmanager, each built here from its Go module into a single-binary image, and
# installed into the namespace `monitoring` (manifests/monitoring/). Sourced by addons.sh:
#   bash cluster/addons.sh monitoring          (npm run cluster:addons -- monitoring)
# Only promtool (for `promtool test rules`), no cluster needed:
#   bash cluster/addon-monitoring.sh promtool  (npm run cluster:promtool)
# shellcheck source=lib.sh
[[ $(type -t go_build) == function ]] || source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly PROMETHEUS_VERSION=v0.316.0   # Prometheus 3.16.0 (the module is tagged v0.3xx.y)
readonly PROMETHEUS_RELEASE=3.16.0
readonly OPERATOR_VERSION=v0.93.1
readonly ALERTMANAGER_VERSION=v0.35.0
readonly ALERTMANAGER_MODULE=github.com/prometheus/alertmanager

readonly PROMETHEUS_IMAGE="castle.local/prometheus:v$PROMETHEUS_RELEASE"
readonly OPERATOR_IMAGE="castle.local/prometheus-operator:$OPERATOR_VERSION"
readonly RELOADER_IMAGE="castle.local/prometheus-config-reloader:$OPERATOR_VERSION"
readonly ALERTMANAGER_IMAGE="castle.local/alertmanager:$ALERTMANAGER_VERSION"

MONITORING_DIR="$CLUSTER_DIR/monitoring"
MONITORING_MANIFESTS="$CLUSTER_DIR/manifests/monitoring"
readonly MONITORING_NS=monitoring

# -X flags of github.com/prometheus/common/version, which all three projects print for
# --version (empty without them, as a plain `go build` leaves them).
version_ldflags() {
  local pkg=github.com/prometheus/common/version
  printf -- '-s -w -X %s.Version=%s -X %s.Revision=%s -X %s.Branch=HEAD -X %s.BuildUser=castle' \
    "$pkg" "$1" "$pkg" "$2" "$pkg" "$pkg"
}

# Prometheus' service discovery plugins are selected by build tags: only Kubernetes (all the
# Prometheus Operator generates here) and the file, static and HTTP ones, which need no tag.
# Without the cloud providers' SDKs (AWS, Azure, GCE, ...) a cold build takes about a
# quarter less time and the binary is 73 MB instead of 100 (cluster/README.md has the
# figures); `promtool check config` therefore rejects their *_sd_configs.
readonly PROMETHEUS_TAGS=remove_all_sd,enable_kubernetes_sd

build_promtool() {
  GO_BUILD_TAGS=$PROMETHEUS_TAGS go_build "$MONITORING_DIR/prometheus" promtool \
    "$(version_ldflags "$PROMETHEUS_RELEASE" "$PROMETHEUS_VERSION")" \
    promtool=github.com/prometheus/prometheus/cmd/promtool
}

build_prometheus() {
  GO_BUILD_TAGS=$PROMETHEUS_TAGS go_build "$MONITORING_DIR/prometheus" prometheus \
    "$(version_ldflags "$PROMETHEUS_RELEASE" "$PROMETHEUS_VERSION")" \
    prometheus=github.com/prometheus/prometheus/cmd/prometheus
}

build_operator() {
  local m=github.com/prometheus-operator/prometheus-operator/cmd
  go_build "$MONITORING_DIR/operator" prometheus-operator "$(version_ldflags "${OPERATOR_VERSION#v}" "$OPERATOR_VERSION")" \
    prometheus-operator=$m/operator prometheus-config-reloader=$m/prometheus-config-reloader
}

# Alertmanager embeds its web UI (ui/app/dist), which is built with npm upstream and is not
# in the module zip, so `go build` of the module fails. Build a copy of the module source
# from the module cache with a one-page placeholder in place of the UI; the API, which
# Prometheus and amtool use, is complete. Cached by a stamp of the version and flags.
build_alertmanager() {
  local ldflags stamp="$BIN_DIR/.stamp-alertmanager" hash src tmp started d
  ldflags=$(version_ldflags "${ALERTMANAGER_VERSION#v}" "$ALERTMANAGER_VERSION")
  hash=$(printf '%s@%s %s ui-placeholder-1' "$ALERTMANAGER_MODULE" "$ALERTMANAGER_VERSION" "$ldflags" | sha256sum | cut -c1-16)
  if [[ ${CASTLE_REBUILD:-0} != 1 && -x $BIN_DIR/alertmanager && -f $stamp && $(cat "$stamp") == "$hash" ]]; then
    ok "alertmanager: cached"
    return 0
  fi
  started=$(now_s)
  src=$(cd "$MONITORING_DIR" && go mod download -json "$ALERTMANAGER_MODULE@$ALERTMANAGER_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [[ -n $src && -d $src ]] || fail "alertmanager: go mod download $ALERTMANAGER_MODULE@$ALERTMANAGER_VERSION failed"
  tmp=$(mktemp -d "$CACHE_DIR/.build-XXXXXX")
  cp -r "$src" "$tmp/src" && chmod -R u+w "$tmp/src"
  for d in elm mantine; do
    mkdir -p "$tmp/src/ui/app/dist/$d"
    printf '<!doctype html><title>Alertmanager</title><p>The web UI is not part of this build; the API is at /api/v2/.\n' \
      >"$tmp/src/ui/app/dist/$d/index.html"
  done
  step "alertmanager: compiling (cold builds take minutes on 2 cores)"
  (cd "$tmp/src" && CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=readonly" nice -n 10 \
    go build -trimpath -ldflags "$ldflags" -o "$tmp/alertmanager" ./cmd/alertmanager) \
    || { rm -rf "$tmp"; fail "alertmanager: go build failed (see the compiler output above)"; }
  mv -f "$tmp/alertmanager" "$BIN_DIR/"
  rm -rf "$tmp"
  echo "$hash" >"$stamp"
  ok "alertmanager: built in $(($(now_s) - started))s"
}

addon_build() {
  command -v go >/dev/null || fail "go is not installed; the monitoring add-on is built from the Go module proxy"
  mkdir -p "$BIN_DIR" "$IMAGE_DIR"
  build_promtool
  build_prometheus
  build_operator
  build_alertmanager
  # 65534 (nobody): the pods also run as non-root by their securityContext. Binaries under
  # /bin, as upstream's images have them: the operator mounts the data volumes at
  # /prometheus and /alertmanager.
  image_once "$PROMETHEUS_IMAGE" "$IMAGE_DIR/prometheus.tar" 65534:65534 "$BIN_DIR/prometheus" /bin/prometheus
  image_once "$OPERATOR_IMAGE" "$IMAGE_DIR/prometheus-operator.tar" 65534:65534 "$BIN_DIR/prometheus-operator"
  # the operator starts the reloader as /bin/prometheus-config-reloader
  image_once "$RELOADER_IMAGE" "$IMAGE_DIR/prometheus-config-reloader.tar" 65534:65534 \
    "$BIN_DIR/prometheus-config-reloader" /bin/prometheus-config-reloader
  image_once "$ALERTMANAGER_IMAGE" "$IMAGE_DIR/alertmanager.tar" 65534:65534 "$BIN_DIR/alertmanager" /bin/alertmanager
}

# Where the module cache holds a module's source (downloaded through the proxy if absent).
module_dir() {
  local dir
  dir=$(cd "$MONITORING_DIR" && go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [[ -n $dir && -d $dir ]] || fail "go mod download $1 failed"
  printf '%s' "$dir"
}

apply_() { kubectl_ apply --server-side --force-conflicts --field-manager=castle-addons "$@" >/dev/null; }

# What an operator of this add-on needs when something does not become ready.
monitoring_diagnostics() {
  local pod
  {
    printf '    --- pods\n'
    kubectl_ -n "$MONITORING_NS" get pods -o wide 2>&1
    printf '    --- Prometheus and Alertmanager objects\n'
    kubectl_ -n "$MONITORING_NS" get prometheus,alertmanager -o wide 2>&1
    kubectl_ -n "$MONITORING_NS" get prometheus,alertmanager \
      -o 'jsonpath={range .items[*]}{.kind}/{.metadata.name}:{range .status.conditions[*]} {.type}={.status} {.message}{end}{"\n"}{end}' 2>&1
    for pod in $(kubectl_ -n "$MONITORING_NS" get pods -o name 2>/dev/null); do
      printf '    --- logs of %s\n' "$pod"
      kubectl_ -n "$MONITORING_NS" logs "$pod" --all-containers --tail=8 2>&1 | cut -c1-400
    done
    printf '    --- events\n'
    kubectl_ -n "$MONITORING_NS" get events --sort-by=.lastTimestamp 2>&1 | tail -n 20
  } | sed 's/^/    /' >&2 || true
}

fail_with_diagnostics() {
  monitoring_diagnostics
  fail "$1"
}

# condition TYPE KIND/NAME: the status of one condition of a monitoring.coreos.com object
condition_true() {
  [[ $(kubectl_ -n "$MONITORING_NS" get "$2" -o "jsonpath={.status.conditions[?(@.type==\"$1\")].status}" 2>/dev/null) == True ]]
}

# ready through the API server's service proxy, as clients outside the cluster reach it
service_ready() {
  kubectl_ get --raw "/api/v1/namespaces/$MONITORING_NS/services/$1:web/proxy/-/ready" >/dev/null 2>&1
}

addon_install() {
  local crds
  import_image "$IMAGE_DIR/prometheus.tar" "$PROMETHEUS_IMAGE"
  import_image "$IMAGE_DIR/prometheus-operator.tar" "$OPERATOR_IMAGE"
  import_image "$IMAGE_DIR/prometheus-config-reloader.tar" "$RELOADER_IMAGE"
  import_image "$IMAGE_DIR/alertmanager.tar" "$ALERTMANAGER_IMAGE"

  # The CRDs exactly as the operator's module ships them; server-side, because some are
  # larger than the last-applied annotation allows.
  crds="$(module_dir "github.com/prometheus-operator/prometheus-operator@$OPERATOR_VERSION")/example/prometheus-operator-crd"
  apply_ -f "$crds" || fail "applying the Prometheus Operator CRDs from $crds failed"
  kubectl_ wait --for=condition=Established --timeout=60s -f "$crds" >/dev/null \
    || fail "the Prometheus Operator CRDs did not become Established (kubectl get crd | grep monitoring.coreos.com)"
  ok "monitoring: CRDs of prometheus-operator $OPERATOR_VERSION established"

  # (addons.sh tests this function's status, which turns off set -e inside it: check each step)
  apply_ -f "$MONITORING_MANIFESTS/namespace.yaml" -f "$MONITORING_MANIFESTS/operator.yaml" \
    || fail "applying $MONITORING_MANIFESTS/{namespace,operator}.yaml failed"
  kubectl_ -n "$MONITORING_NS" rollout status deployment/prometheus-operator --timeout=120s >/dev/null 2>&1 \
    || fail_with_diagnostics "the Prometheus Operator did not become ready in 120s"
  ok "monitoring: prometheus-operator ready"

  apply_ -f "$MONITORING_MANIFESTS/prometheus.yaml" -f "$MONITORING_MANIFESTS/alertmanager.yaml" \
    || fail_with_diagnostics "applying $MONITORING_MANIFESTS/{prometheus,alertmanager}.yaml failed"
  wait_for "Prometheus castle to be Available" 180 condition_true Available prometheus/castle \
    || fail_with_diagnostics "Prometheus monitoring/castle is not Available"
  wait_for "Prometheus to answer /-/ready" 60 service_ready prometheus \
    || fail_with_diagnostics "Prometheus does not answer /-/ready through monitoring/prometheus:9090"
  ok "monitoring: Prometheus ready at http://prometheus.monitoring.svc:9090"
  wait_for "Alertmanager castle to be Available" 120 condition_true Available alertmanager/castle \
    || fail_with_diagnostics "Alertmanager monitoring/castle is not Available"
  wait_for "Alertmanager to answer /-/ready" 60 service_ready alertmanager \
    || fail_with_diagnostics "Alertmanager does not answer /-/ready through monitoring/alertmanager:9093"
  ok "monitoring: Alertmanager ready at http://alertmanager.monitoring.svc:9093"
}

# Run directly, not through addons.sh: `bash cluster/addon-monitoring.sh promtool` builds
# (or finds cached) only $BIN_DIR/promtool, with no cluster needed, and prints its path.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  case ${1:-} in
    promtool)
      command -v go >/dev/null || fail "go is not installed; promtool is built from the Go module proxy"
      mkdir -p "$BIN_DIR"
      build_promtool
      printf '%s\n' "$BIN_DIR/promtool"
      ;;
    *)
      printf 'usage: bash cluster/addon-monitoring.sh promtool   (build only promtool into %s)\n' "$BIN_DIR" >&2
      printf '       bash cluster/addons.sh monitoring          (build and install the whole stack)\n' >&2
      exit 2
      ;;
  esac
fi
