#!/usr/bin/env bash
# End-to-end check of a running hermetic cluster with a workload built here: a pod
# from a locally made image, a Service reached by DNS name from another pod and by
# ClusterIP and LoadBalancer address from the host, pod logs, metrics (kubectl top) and helm. Cleans up after
# itself. Run after up.sh:  bash cluster/verify.sh
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly SELFTEST_IMAGE=castle.local/selftest:1
NS=castle-selftest-$(date +%s)

cleanup() { kubectl_ delete namespace "$NS" --wait=false >/dev/null 2>&1 || true; }

on_failure() {
  warn "diagnostics for namespace $NS:"
  kubectl_ -n "$NS" get pods,svc,endpointslices -o wide >&2 || true
  kubectl_ -n "$NS" logs -l app=hello --tail 20 >&2 || true
  kubectl_ -n "$NS" logs job/client --tail 20 >&2 || true
  kubectl_ -n "$NS" get events --sort-by .lastTimestamp >&2 || true
}

build_selftest_image() {
  (cd "$CLUSTER_DIR/selftest" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags '-s -w' \
    -o "$BIN_DIR/selftest" .) || fail "go build of selftest failed"
  image_tar "$SELFTEST_IMAGE" "$IMAGE_DIR/selftest.tar" 65534:65534 "$BIN_DIR/selftest"
  ctr_ images import "$IMAGE_DIR/selftest.tar" >/dev/null || fail "ctr images import of selftest failed"
  ok "image $SELFTEST_IMAGE built and imported"
}

# The pods meet the restricted Pod Security Standard, which the namespace enforces as
# every namespace of Castle's tests does.
readonly RESTRICTED_POD='securityContext:
        runAsNonRoot: true
        seccompProfile: { type: RuntimeDefault }'
readonly RESTRICTED_CONTAINER='securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: { drop: [ALL] }'

deploy_hello() {
  kubectl_ create namespace "$NS" >/dev/null
  kubectl_ label namespace "$NS" pod-security.kubernetes.io/enforce=restricted \
    pod-security.kubernetes.io/warn=restricted pod-security.kubernetes.io/audit=restricted >/dev/null
  kubectl_ -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: { name: hello }
spec:
  replicas: 2
  selector: { matchLabels: { app: hello } }
  template:
    metadata: { labels: { app: hello } }
    spec:
      enableServiceLinks: false
      $RESTRICTED_POD
      containers:
        - name: hello
          image: $SELFTEST_IMAGE
          imagePullPolicy: Never
          args: [serve]
          $RESTRICTED_CONTAINER
          ports: [{ containerPort: 8080 }]
          readinessProbe: { httpGet: { path: /, port: 8080 }, periodSeconds: 1 }
---
apiVersion: v1
kind: Service
metadata: { name: hello }
spec:
  type: LoadBalancer
  selector: { app: hello }
  ports: [{ port: 80, targetPort: 8080 }]
YAML
  kubectl_ -n "$NS" rollout status deployment/hello --timeout 90s >/dev/null || fail "deployment hello did not become ready"
  ok "deployment hello: 2 pods ready"
}

check_dns_from_pod() {
  local url="http://hello.$NS.svc.$CLUSTER_DOMAIN/"
  kubectl_ -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: batch/v1
kind: Job
metadata: { name: client }
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      enableServiceLinks: false
      $RESTRICTED_POD
      containers:
        - name: client
          image: $SELFTEST_IMAGE
          imagePullPolicy: Never
          args: [get, "$url"]
          $RESTRICTED_CONTAINER
YAML
  kubectl_ -n "$NS" wait --for condition=complete job/client --timeout 90s >/dev/null \
    || fail "pod could not GET $url"
  kubectl_ -n "$NS" logs job/client | grep 'hello from hello-' >/dev/null || fail "unexpected answer from $url"
  ok "pod → Service by DNS name ($url): $(kubectl_ -n "$NS" logs job/client)"
}

check_cluster_ip_from_host() {
  local ip body
  ip=$(kubectl_ -n "$NS" get service hello -o 'jsonpath={.spec.clusterIP}')
  body=$(curl -fsS --max-time 5 "http://$ip/") || fail "host could not reach the ClusterIP http://$ip/"
  [[ $body == "hello from hello-"* ]] || fail "unexpected answer from http://$ip/: $body"
  ok "host → Service ClusterIP http://$ip/: $body"
}

lb_ip() { kubectl_ -n "$NS" get service hello -o 'jsonpath={.status.loadBalancer.ingress[0].ip}'; }
lb_assigned() { [[ -n $(lb_ip) ]]; }

# MetalLB gives the Service an address from its pool, which answers from this host
check_load_balancer_from_host() {
  local ip body
  wait_for "a LoadBalancer address for service hello" 30 lb_assigned \
    || fail "service hello got no LoadBalancer address (kubectl -n $METALLB_NAMESPACE logs deployment/controller)"
  ip=$(lb_ip)
  body=$(curl -fsS --max-time 5 "http://$ip/") || fail "host could not reach the LoadBalancer address http://$ip/"
  [[ $body == "hello from hello-"* ]] || fail "unexpected answer from http://$ip/: $body"
  ok "host → Service LoadBalancer address http://$ip/ (MetalLB, $LB_POOL): $body"
}

check_logs() {
  kubectl_ -n "$NS" logs deployment/hello | grep 'GET /' >/dev/null || fail "kubectl logs shows no request"
  ok "kubectl logs: requests visible"
}

check_metrics() {
  wait_for "kubectl top node" 90 kubectl_ top node "$NODE_NAME" || fail "metrics.k8s.io serves no node metrics"
  ok "kubectl top node: $(kubectl_ top node "$NODE_NAME" --no-headers)"
}

check_helm() {
  KUBECONFIG=$KUBECONFIG_PATH "$BIN_DIR/helm" list -A >/dev/null || fail "helm list failed"
  ok "helm $("$BIN_DIR/helm" version --short) talks to the cluster"
}

main() {
  require_root
  [[ -f $KUBECONFIG_PATH ]] || fail "no cluster: run npm run cluster:up first"
  trap 'rc=$?; ((rc == 0)) || on_failure; cleanup' EXIT
  build_selftest_image
  deploy_hello
  check_dns_from_pod
  check_cluster_ip_from_host
  check_load_balancer_from_host
  check_logs
  check_metrics
  check_helm
  ok "hermetic cluster verified end to end"
}

main "$@"
