# shellcheck shell=bash
# KEDA (event-driven autoscaling): operator, metrics API server and admission webhooks,
# built from github.com/kedacore/keda/v2 through the Go module proxy (wrapper module in
# keda/), images of one static binary each, manifests in manifests/keda/.
# Sourced by addons.sh, which provides lib.sh.
#   bash cluster/addons.sh keda

readonly KEDA_VERSION=v2.21.0          # keda/go.mod pins the same
readonly KEDA_NAMESPACE=keda
readonly KEDA_OPERATOR_IMAGE="castle.local/keda-operator:$KEDA_VERSION"
readonly KEDA_ADAPTER_IMAGE="castle.local/keda-metrics-apiserver:$KEDA_VERSION"
readonly KEDA_WEBHOOKS_IMAGE="castle.local/keda-admission-webhooks:$KEDA_VERSION"
KEDA_MANIFESTS="$CLUSTER_DIR/manifests/keda"

addon_build() {
  # The operator links in every scaler's SDK (cloud providers, databases, queues): a cold
  # build takes minutes and peaks near 3.4 GB of memory; afterwards the stamp makes it a no-op.
  go_build "$CLUSTER_DIR/keda" keda "-s -w -X=github.com/kedacore/keda/v2/version.Version=$KEDA_VERSION" \
    keda-operator=github.com/kedacore/keda/v2/cmd/operator \
    keda-metrics-apiserver=github.com/kedacore/keda/v2/cmd/adapter \
    keda-admission-webhooks=github.com/kedacore/keda/v2/cmd/webhooks
  mkdir -p "$IMAGE_DIR"
  image_once "$KEDA_OPERATOR_IMAGE" "$IMAGE_DIR/keda-operator.tar" 65532:65532 "$BIN_DIR/keda-operator"
  image_once "$KEDA_ADAPTER_IMAGE" "$IMAGE_DIR/keda-metrics-apiserver.tar" 65532:65532 "$BIN_DIR/keda-metrics-apiserver"
  image_once "$KEDA_WEBHOOKS_IMAGE" "$IMAGE_DIR/keda-admission-webhooks.tar" 65532:65532 "$BIN_DIR/keda-admission-webhooks"
}

# keda_crd_dir: config/crd/bases of the KEDA module in the Go module cache (downloaded by
# the build), so the CRDs applied are exactly those of the version built.
keda_crd_dir() {
  local dir
  dir=$(cd "$CLUSTER_DIR/keda" && go list -m -f '{{.Dir}}' github.com/kedacore/keda/v2 2>/dev/null) \
    || fail "keda: cannot find github.com/kedacore/keda/v2 in the Go module cache (run the build first)"
  [[ -d $dir/config/crd/bases ]] || fail "keda: $dir/config/crd/bases is missing"
  printf '%s\n' "$dir/config/crd/bases"
}

keda_apply() {
  sed -e "s|@KEDA_OPERATOR_IMAGE@|$KEDA_OPERATOR_IMAGE|g" -e "s|@KEDA_ADAPTER_IMAGE@|$KEDA_ADAPTER_IMAGE|g" \
    -e "s|@KEDA_WEBHOOKS_IMAGE@|$KEDA_WEBHOOKS_IMAGE|g" -e "s|@CLUSTER_DOMAIN@|$CLUSTER_DOMAIN|g" "$1" \
    | kubectl_ apply --server-side --force-conflicts --field-manager castle-addons -f - >/dev/null \
    || fail "keda: kubectl apply of ${1#"$CLUSTER_DIR"/} failed"
}

# keda_diagnose: pods, recent logs and events of the namespace, for a failed wait
keda_diagnose() {
  kubectl_ -n "$KEDA_NAMESPACE" get pods -o wide >&2 || true
  kubectl_ -n "$KEDA_NAMESPACE" logs -l app.kubernetes.io/part-of=keda --all-containers --prefix --tail 10 >&2 || true
  kubectl_ -n "$KEDA_NAMESPACE" get events --sort-by .lastTimestamp 2>/dev/null | tail -n 15 >&2 || true
}

keda_wait_rollout() {
  if ! kubectl_ -n "$KEDA_NAMESPACE" rollout status "deployment/$1" --timeout "$2s" >/dev/null 2>&1; then
    keda_diagnose
    fail "keda: deployment $1 did not become ready in $2s (pods, logs and events above)"
  fi
}

keda_crds_established() {
  local crd
  for crd in scaledobjects.keda.sh scaledjobs.keda.sh triggerauthentications.keda.sh clustertriggerauthentications.keda.sh; do
    [[ $(kubectl_ get crd "$crd" -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}' 2>/dev/null) == True ]] || return 1
  done
}

external_metrics_available() {
  [[ $(kubectl_ get apiservice v1beta1.external.metrics.k8s.io \
    -o 'jsonpath={.status.conditions[?(@.type=="Available")].status}' 2>/dev/null) == True ]]
}

webhook_ca_patched() {
  [[ -n $(kubectl_ get validatingwebhookconfiguration keda-admission -o 'jsonpath={.webhooks[0].clientConfig.caBundle}' 2>/dev/null) ]]
}

addon_install() {
  import_image "$IMAGE_DIR/keda-operator.tar" "$KEDA_OPERATOR_IMAGE"
  import_image "$IMAGE_DIR/keda-metrics-apiserver.tar" "$KEDA_ADAPTER_IMAGE"
  import_image "$IMAGE_DIR/keda-admission-webhooks.tar" "$KEDA_WEBHOOKS_IMAGE"
  local crds
  crds=$(keda_crd_dir)
  kubectl_ apply --server-side --force-conflicts --field-manager castle-addons -f "$crds" >/dev/null \
    || fail "keda: applying the CRDs from $crds failed"
  # (kubectl wait fails at once on a CRD whose status has no conditions yet: poll instead)
  wait_for "KEDA's CRDs to be Established" 60 keda_crds_established \
    || fail "keda: the CRDs were not established within 60s (kubectl get crd scaledobjects.keda.sh -o yaml)"
  local f
  for f in "$KEDA_MANIFESTS"/*.yaml; do keda_apply "$f"; done
  # The operator first: it writes the certificates the other two mount.
  keda_wait_rollout keda-operator 180
  keda_wait_rollout keda-metrics-apiserver 120
  keda_wait_rollout keda-admission-webhooks 120
  if ! wait_for "APIService v1beta1.external.metrics.k8s.io to be Available" 90 external_metrics_available; then
    kubectl_ get apiservice v1beta1.external.metrics.k8s.io -o yaml >&2 || true
    keda_diagnose
    fail "keda: the metrics API server runs but external.metrics.k8s.io is not Available"
  fi
  if ! wait_for "the operator to patch the webhooks' CA bundle" 60 webhook_ca_patched; then
    keda_diagnose
    fail "keda: ValidatingWebhookConfiguration keda-admission has no caBundle (the operator's certificate rotation did not run)"
  fi
  ok "KEDA $KEDA_VERSION: operator, external metrics API and admission webhooks ready (namespace $KEDA_NAMESPACE)"
}
