# shellcheck shell=bash disable=SC2015  # "a && b || fail": fail if either step fails
# Certificates and kubeconfigs of the hermetic cluster, made with openssl on the
# first `up` and kept in $PKI_DIR until `down`. Sourced by up.sh after lib.sh.

# new_ca NAME CN: a self-signed CA (EC P-256, 10 years)
new_ca() {
  local name=$1 cn=$2
  [[ -f $PKI_DIR/$name.crt ]] && return 0
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout "$PKI_DIR/$name.key" -out "$PKI_DIR/$name.crt" -days 3650 -subj "/CN=$cn" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null || fail "openssl could not create the $name CA in $PKI_DIR"
}

# new_cert NAME SUBJECT USAGE [SANS] [CA]: a leaf certificate signed by CA (default ca).
# USAGE is clientAuth, serverAuth or "serverAuth,clientAuth".
new_cert() {
  local name=$1 subject=$2 usage=$3 sans=${4:-} ca=${5:-ca} ext
  [[ -f $PKI_DIR/$name.crt ]] && return 0
  ext=$(mktemp)
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [[ -n $sans ]] && echo "subjectAltName=$sans"
  } >"$ext"
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout "$PKI_DIR/$name.key" -out "$PKI_DIR/$name.csr" -subj "$subject" 2>/dev/null \
    && openssl x509 -req -in "$PKI_DIR/$name.csr" -CA "$PKI_DIR/$ca.crt" -CAkey "$PKI_DIR/$ca.key" \
      -CAcreateserial -days 3650 -extfile "$ext" -out "$PKI_DIR/$name.crt" 2>/dev/null \
    || { rm -f "$ext"; fail "openssl could not create the $name certificate in $PKI_DIR"; }
  rm -f "$ext" "$PKI_DIR/$name.csr"
}

# write_kubeconfig FILE CERT_NAME: a kubeconfig authenticating with $PKI_DIR/CERT_NAME.{crt,key}
write_kubeconfig() {
  local file=$1 cert=$2
  [[ -f $file ]] && return 0
  local kc=("$BIN_DIR/kubectl" --kubeconfig "$file.tmp" config)
  rm -f "$file.tmp"
  "${kc[@]}" set-cluster castle --server "https://$NODE_IP:$API_PORT" \
    --certificate-authority "$PKI_DIR/ca.crt" --embed-certs >/dev/null
  "${kc[@]}" set-credentials "$cert" --client-certificate "$PKI_DIR/$cert.crt" \
    --client-key "$PKI_DIR/$cert.key" --embed-certs >/dev/null
  "${kc[@]}" set-context castle --cluster castle --user "$cert" >/dev/null
  "${kc[@]}" use-context castle >/dev/null
  chmod 600 "$file.tmp"
  mv "$file.tmp" "$file"
}

ensure_pki() {
  mkdir -p "$PKI_DIR"
  chmod 700 "$PKI_DIR"
  local api_sans="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
  api_sans+=",DNS:kubernetes.default.svc.$CLUSTER_DOMAIN,DNS:localhost,DNS:$NODE_NAME"
  api_sans+=",IP:127.0.0.1,IP:$NODE_IP,IP:$API_SERVICE_IP"

  new_ca ca castle-k8s-ca
  new_ca front-proxy-ca castle-k8s-front-proxy-ca
  new_cert apiserver "/CN=kube-apiserver" serverAuth "$api_sans"
  new_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  new_cert admin "/O=system:masters/CN=castle-admin" clientAuth
  new_cert controller-manager "/CN=system:kube-controller-manager" clientAuth
  new_cert scheduler "/CN=system:kube-scheduler" clientAuth
  new_cert kube-proxy "/CN=system:kube-proxy" clientAuth
  # kube-router's firewall: read-only access granted by manifests/kube-router-rbac.yaml
  new_cert kube-router "/CN=castle:kube-router" clientAuth
  new_cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
  new_cert kubelet-serving "/CN=$NODE_NAME" serverAuth "DNS:$NODE_NAME,IP:$NODE_IP"
  new_cert front-proxy-client "/CN=front-proxy-client" clientAuth "" front-proxy-ca
  if [[ ! -f $PKI_DIR/sa.key ]]; then
    openssl genrsa -out "$PKI_DIR/sa.key" 2048 2>/dev/null \
      && openssl rsa -in "$PKI_DIR/sa.key" -pubout -out "$PKI_DIR/sa.pub" 2>/dev/null \
      || fail "openssl could not create the service account key pair in $PKI_DIR"
  fi

  write_kubeconfig "$KUBECONFIG_PATH" admin
  write_kubeconfig "$STATE_DIR/controller-manager.kubeconfig" controller-manager
  write_kubeconfig "$STATE_DIR/scheduler.kubeconfig" scheduler
  write_kubeconfig "$STATE_DIR/kube-proxy.kubeconfig" kube-proxy
  write_kubeconfig "$STATE_DIR/kube-router.kubeconfig" kube-router
  write_kubeconfig "$STATE_DIR/kubelet.kubeconfig" kubelet
  ok "certificates and kubeconfigs in $PKI_DIR"
}
