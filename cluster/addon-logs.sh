# shellcheck shell=bash
# The logs add-on: VictoriaLogs as the log store and an OpenTelemetry Collector DaemonSet
# that tails every pod's log file on the node and ships it there (namespace `logging`).
#   npm run cluster:addons -- logs
# Sourced by addons.sh after lib.sh; defines addon_build and addon_install.

readonly LOGS_OTELCOL_VERSION=v0.165.0
readonly LOGS_VICTORIALOGS_VERSION=v1.52.1
readonly LOGS_NAMESPACE=logging
LOGS_DIR="$CLUSTER_DIR/logs"
# The collector's configuration is the one shipped to users, unchanged.
LOGS_COLLECTOR_CONFIG="$CLUSTER_DIR/../deploy/logging/collector.yaml"

# build_collector: run the builder on the manifest unless the stamp says this manifest
# was already built by this builder. The builder compiles with CGO_ENABLED=0 (static).
build_collector() {
  local stamp="$BIN_DIR/.stamp-otelcol-castle" hash work started
  hash=$( (cat "$LOGS_DIR/otelcol-builder.yaml" && module_hash "$LOGS_DIR/builder" "") | sha256sum | cut -c1-16)
  if [[ ${CASTLE_REBUILD:-0} != 1 && -x $BIN_DIR/otelcol-castle && -f $stamp && $(cat "$stamp") == "$hash" ]]; then
    ok "otelcol-castle: cached"
    return 0
  fi
  work=$(mktemp -d "$CACHE_DIR/.build-XXXXXX")
  started=$(now_s)
  step "otelcol-castle: generating and compiling the collector (cold builds take minutes on 2 cores)"
  (cd "$work" && GOFLAGS=-buildvcs=false nice -n 10 "$BIN_DIR/otelcol-builder" \
    --config="$LOGS_DIR/otelcol-builder.yaml" >"$work/builder.log" 2>&1) || {
    tail -n 30 "$work/builder.log" | sed 's/^/    /' >&2
    rm -rf "$work"
    fail "otelcol-castle: the builder failed (its last lines are above)"
  }
  mv -f "$work/_build/otelcol-castle" "$BIN_DIR/otelcol-castle"
  rm -rf "$work"
  echo "$hash" >"$stamp"
  ok "otelcol-castle: built in $(($(now_s) - started))s"
}

# logs_image BINARY VERSION: the image of a binary of the binary cache,
# castle.local/BINARY:VERSION-<its build stamp>, so that a rebuilt binary is a new image
# (import_image keeps an image whose name it already has) and its pods roll.
logs_image() {
  [[ -f $BIN_DIR/.stamp-$1 ]] || fail "$1 has not been built (no $BIN_DIR/.stamp-$1)"
  printf 'castle.local/%s:%s-%s' "$1" "$2" "$(cut -c1-8 "$BIN_DIR/.stamp-$1")"
}

# logs_image_tar REF: where the image tar of REF lives
logs_image_tar() { local name=${1#castle.local/}; printf '%s/%s.tar' "$IMAGE_DIR" "${name/:/-}"; }

addon_build() {
  mkdir -p "$BIN_DIR" "$IMAGE_DIR"
  go_build "$LOGS_DIR/builder" otelcol-builder "-s -w" otelcol-builder=go.opentelemetry.io/collector/cmd/builder
  build_collector
  go_build "$LOGS_DIR/victorialogs" victoria-logs \
    "-s -w -X github.com/VictoriaMetrics/VictoriaMetrics/lib/buildinfo.Version=victoria-logs-$LOGS_VICTORIALOGS_VERSION" \
    victoria-logs=github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs
  local collector victorialogs
  collector=$(logs_image otelcol-castle "$LOGS_OTELCOL_VERSION")
  victorialogs=$(logs_image victoria-logs "$LOGS_VICTORIALOGS_VERSION")
  # The collector runs as root: the kubelet's pod log files are root's, mode 0640.
  image_once "$collector" "$(logs_image_tar "$collector")" 0:0 "$BIN_DIR/otelcol-castle"
  image_once "$victorialogs" "$(logs_image_tar "$victorialogs")" 65534:65534 "$BIN_DIR/victoria-logs"
}

# logs_apply FILE [CONFIG_SHA]: fill in @VARS@ and apply a manifest of manifests/logs with server-side apply
logs_apply() {
  sed -e "s|@LOGS_COLLECTOR_IMAGE@|$LOGS_COLLECTOR_IMAGE|g" -e "s|@LOGS_VICTORIALOGS_IMAGE@|$LOGS_VICTORIALOGS_IMAGE|g" \
    -e "s|@LOGS_OFFSETS_DIR@|$STATE_DIR/otelcol|g" -e "s|@CONFIG_SHA@|${2:-}|g" \
    "$CLUSTER_DIR/manifests/logs/$1" | kubectl_ apply --server-side --force-conflicts -f - >/dev/null \
    || fail "kubectl apply of manifests/logs/$1 failed"
}

# logs_wait_rollout KIND/NAME TIMEOUT: rollout status; on timeout show the pods, their logs
# and the namespace's events, and fail
logs_wait_rollout() {
  local workload=$1 timeout=$2 name=${1#*/}
  if ! kubectl_ -n "$LOGS_NAMESPACE" rollout status "$workload" --timeout "${timeout}s" >/dev/null 2>&1; then
    kubectl_ -n "$LOGS_NAMESPACE" get pods -l "app.kubernetes.io/name=$name" -o wide >&2 || true
    kubectl_ -n "$LOGS_NAMESPACE" logs -l "app.kubernetes.io/name=$name" --tail 20 >&2 || true
    kubectl_ -n "$LOGS_NAMESPACE" get events --sort-by .lastTimestamp 2>/dev/null | tail -n 15 >&2 || true
    fail "$LOGS_NAMESPACE/$workload did not become ready in ${timeout}s (pods, logs and events above)"
  fi
}

addon_install() {
  [[ -f $LOGS_COLLECTOR_CONFIG ]] || fail "the collector's configuration $LOGS_COLLECTOR_CONFIG is missing"
  LOGS_COLLECTOR_IMAGE=$(logs_image otelcol-castle "$LOGS_OTELCOL_VERSION")
  LOGS_VICTORIALOGS_IMAGE=$(logs_image victoria-logs "$LOGS_VICTORIALOGS_VERSION")
  import_image "$(logs_image_tar "$LOGS_COLLECTOR_IMAGE")" "$LOGS_COLLECTOR_IMAGE"
  import_image "$(logs_image_tar "$LOGS_VICTORIALOGS_IMAGE")" "$LOGS_VICTORIALOGS_IMAGE"
  logs_apply namespace.yaml
  # The shipped configuration, checked by the collector itself before it reaches the cluster.
  "$BIN_DIR/otelcol-castle" validate --config="$LOGS_COLLECTOR_CONFIG" >/dev/null 2>&1 || {
    "$BIN_DIR/otelcol-castle" validate --config="$LOGS_COLLECTOR_CONFIG" 2>&1 | tail -n 5 | sed 's/^/    /' >&2
    fail "otelcol-castle validate refused $LOGS_COLLECTOR_CONFIG (see above)"
  }
  kubectl_ -n "$LOGS_NAMESPACE" create configmap otelcol-config --from-file=collector.yaml="$LOGS_COLLECTOR_CONFIG" \
    --dry-run=client -o yaml | kubectl_ apply --server-side --force-conflicts -f - >/dev/null \
    || fail "kubectl apply of ConfigMap $LOGS_NAMESPACE/otelcol-config failed"
  logs_apply victorialogs.yaml
  logs_apply otelcol.yaml "$(sha256sum "$LOGS_COLLECTOR_CONFIG" | cut -c1-16)"
  logs_wait_rollout deployment/victorialogs 120
  logs_wait_rollout daemonset/otelcol 120
  local ip
  ip=$(kubectl_ -n "$LOGS_NAMESPACE" get service victorialogs -o 'jsonpath={.spec.clusterIP}')
  ok "logs: the collector ships every pod's log lines to VictoriaLogs at http://$ip:9428 (LogsQL: /select/logsql/query)"
}
