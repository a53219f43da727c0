#!/usr/bin/env bash
# Starts a Kubernetes control plane for integration tests in DIR, envtest style: etcd, kube-apiserver and
# kube-controller-manager on loopback, random free ports. Without --node there is no kubelet (pods are
# accepted but never run); with --node, node.sh adds a real node on which pods run: containerd + runc,
# kubelet, kube-scheduler, kube-proxy, a CNI bridge, and the project's images loaded (one per machine).
#
#   test/cluster/up.sh [--node] DIR
#
# Builds the binaries first (build.sh; a no-op when cached). Writes:
#   DIR/kubeconfig   admin (client certificate in group system:masters)
#   DIR/env          KEY=VALUE lines: KUBECONFIG, KUBECTL, HELM, HELM_*_HOME, TINYCDN_APISERVER, ...
#   DIR/pids         "name pid" of each process started (down.sh stops exactly these)
#   DIR/pki/         cluster CA (ca.crt/ca.key: mint-user.sh signs other identities with it), serving
#                    and client certificates, service-account signing key
#   DIR/logs/        etcd.log, kube-apiserver.log, kube-controller-manager.log
# Returns once /readyz is ok, the default namespace and the `kubernetes` service exist and the
# controller manager is healthy and has created the default service account. On failure it prints the
# logs' tails, stops what it started and exits non-zero. Several clusters can run at once (different DIRs).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
# shellcheck source=SCRIPTDIR/versions.env
source "$here/versions.env"

with_node=""
if [[ ${1:-} == --node ]]; then
  with_node=1
  shift
fi
[[ $# -eq 1 ]] || die "usage: up.sh [--node] DIR"
dir=$(cluster_dir "$1")
started=$(date +%s)

if [[ -s $dir/pids ]]; then
  while read -r name pid; do
    if kill -0 "$pid" 2>/dev/null && grep -qaF -- "$dir" "/proc/$pid/cmdline" 2>/dev/null; then
      die "a cluster is already running in $dir ($name pid $pid); run down.sh $dir first"
    fi
  done <"$dir/pids"
fi

"$here/build.sh" ${with_node:+--node} >&2
bin="${TINYCDN_CACHE:-$HOME/.cache/tinycdn}/k8s/$K8S_VERSION/bin"
if [[ -x $bin/kubectl ]]; then
  kubectl=$bin/kubectl
else
  kubectl=$(command -v kubectl) || die "no kubectl (build.sh builds one when the machine has none)"
fi

pki=$dir/pki
logs=$dir/logs
pids=$dir/pids
rm -rf "$pki" "$dir/etcd" "$dir/certs" "$dir/kcm" "$dir/users" "$dir/env" "$dir/kubeconfig"
mkdir -p "$pki" "$logs" "$dir/etcd" "$dir/certs/apiserver" "$dir/certs/kcm" "$dir/kcm" "$dir/helm"
: >"$pids"

finished=""
launching="" # "NAME PIDFILE" while start() launches a process whose pid is not in DIR/pids yet
exec 3>&2 # the caller's stderr, for on_exit: a trap can fire inside a command whose output goes elsewhere
on_exit() {
  local rc=$?
  [[ -n $finished ]] && return
  exec 1>&3 2>&3
  if [[ -n $launching ]]; then
    local name=${launching%% *} pidfile=${launching#* }
    for _ in $(seq 100); do
      [[ -s $pidfile ]] && break
      sleep 0.05
    done
    [[ -s $pidfile ]] && echo "$name $(<"$pidfile")" >>"$pids"
    rm -f "$pidfile"
  fi
  echo "up.sh: failed (exit $rc); last log lines:" >&2
  for f in "$logs"/*.log; do
    [[ -f $f ]] || continue
    echo "--- $f" >&2
    tail -n 25 "$f" >&2
  done
  "$here/down.sh" "$dir" >&2 || true
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# --- PKI ------------------------------------------------------------------------------------------------
cat >"$pki/ca.cnf" <<'EOF'
[req]
distinguished_name = dn
x509_extensions = ca
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
EOF
(umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/ca.key" 2>/dev/null)
openssl req -x509 -new -config "$pki/ca.cnf" -key "$pki/ca.key" -subj "/CN=tinycdn-test-ca" -days 3650 \
  -sha256 -out "$pki/ca.crt" 2>/dev/null

issue_cert "$pki/apiserver" "/CN=kube-apiserver" 'basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local' "$pki/ca"
issue_cert "$pki/admin" "$(client_subject tinycdn-admin system:masters)" "$client_cert_ext" "$pki/ca"
# The API server's identity towards kubelets (logs, exec, port-forward; metrics-server uses its own).
issue_cert "$pki/apiserver-kubelet-client" "$(client_subject kube-apiserver-kubelet-client system:masters)" \
  "$client_cert_ext" "$pki/ca"
issue_cert "$pki/kube-controller-manager" "$(client_subject system:kube-controller-manager)" \
  "$client_cert_ext" "$pki/ca"

# Front proxy (aggregation layer): its own CA, so no ordinary client certificate can pass as the proxy.
# With --requestheader-client-ca-file set, delegated authentication (kube-controller-manager, aggregated
# API servers) also finds the request-header CA it expects.
(umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/front-proxy-ca.key" 2>/dev/null)
openssl req -x509 -new -config "$pki/ca.cnf" -key "$pki/front-proxy-ca.key" -subj "/CN=tinycdn-front-proxy-ca" \
  -days 3650 -sha256 -out "$pki/front-proxy-ca.crt" 2>/dev/null
issue_cert "$pki/front-proxy-client" "/CN=front-proxy-client" "$client_cert_ext" "$pki/front-proxy-ca"
rm -f "$pki/ca.cnf"

# Service-account token signing key (RSA, the kind every client library verifies).
(umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/sa.key" 2>/dev/null)
openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null

# --- process helpers ------------------------------------------------------------------------------------
declare -A taken_ports=()
etcd_port="" api_port="" kcm_port=""
# free_port VAR: sets VAR to a random port in 20000-32767 (below Linux's ephemeral range) that nothing
# listens on yet. Another process can still take it before we bind: start_component retries on
# "address already in use".
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + SRANDOM % 12768))
    [[ -n ${taken_ports[$p]:-} ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      taken_ports[$p]=1
      printf -v "$1" '%s' "$p"
      return
    fi
  done
  die "no free port found"
}

# start_component NAME TIMEOUT CHECK_FN ARGS_FN: picks ports, starts `ARGS_FN` output as the command and
# waits for CHECK_FN; retries with new ports (up to 3 times) when a port was taken meanwhile.
start_component() {
  local name=$1 timeout=$2 check=$3 args_fn=$4 rc
  for attempt in 1 2 3; do
    "$args_fn"
    start "$name" "${cmd[@]}"
    rc=0
    wait_ready "$name" "$timeout" "$check" || rc=$?
    ((rc == 0)) && return 0
    if ((rc == 2)) && grep -q 'address already in use' "$logs/$name.log" && ((attempt < 3)); then
      echo "up.sh: $name: port taken meanwhile, retrying on other ports" >&2
      sed -i "/^$name /d" "$dir/pids"
      continue
    fi
    ((rc == 2)) && die "$name exited during start-up (see $logs/$name.log)"
    die "$name not ready after ${timeout}s (see $logs/$name.log)"
  done
}

curl_admin() {
  curl -sf --max-time 5 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "https://127.0.0.1:$api_port$1"
}

# --- etcd -----------------------------------------------------------------------------------------------
etcd_args() {
  free_port etcd_port
  cmd=("$bin/etcd"
    --data-dir="$dir/etcd"
    --listen-client-urls="http://127.0.0.1:$etcd_port"
    --advertise-client-urls="http://127.0.0.1:$etcd_port"
    --listen-peer-urls=http://127.0.0.1:0
    --unsafe-no-fsync
    --log-level=warn)
}
etcd_ready() { curl -sf --max-time 2 "http://127.0.0.1:$etcd_port/health" | grep -q '"health":"true"'; }
start_component etcd 60 etcd_ready etcd_args

# --- kube-apiserver -------------------------------------------------------------------------------------
# It listens on loopback only, so it advertises 127.0.0.1; the lease endpoint reconciler refuses a
# loopback address, so none runs: the `kubernetes` service exists without endpoints (nothing in-cluster
# could use them anyway: no kubelet, no pods).
apiserver_args() {
  free_port api_port
  cmd=("$bin/kube-apiserver"
    --etcd-servers="http://127.0.0.1:$etcd_port"
    --cert-dir="$dir/certs/apiserver"
    --tls-cert-file="$pki/apiserver.crt"
    --tls-private-key-file="$pki/apiserver.key"
    --client-ca-file="$pki/ca.crt"
    --secure-port="$api_port"
    --bind-address=127.0.0.1
    --advertise-address=127.0.0.1
    --endpoint-reconciler-type=none
    --service-cluster-ip-range=10.0.0.0/24
    --authorization-mode=RBAC
    --service-account-issuer=https://kubernetes.default.svc.cluster.local
    --service-account-key-file="$pki/sa.pub"
    --service-account-signing-key-file="$pki/sa.key"
    --allow-privileged=true
    --requestheader-client-ca-file="$pki/front-proxy-ca.crt"
    --requestheader-allowed-names=front-proxy-client
    --requestheader-username-headers=X-Remote-User
    --requestheader-group-headers=X-Remote-Group
    --requestheader-extra-headers-prefix=X-Remote-Extra-
    --proxy-client-cert-file="$pki/front-proxy-client.crt"
    --proxy-client-key-file="$pki/front-proxy-client.key"
    --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt"
    --kubelet-client-key="$pki/apiserver-kubelet-client.key"
    --kubelet-certificate-authority="$pki/ca.crt")
}
apiserver_ready() { [[ $(curl_admin /readyz) == ok ]]; }
start_component kube-apiserver 180 apiserver_ready apiserver_args

server="https://127.0.0.1:$api_port"
write_kubeconfig "$dir/kubeconfig" "$server" "$pki/ca.crt" "$pki/admin"
write_kubeconfig "$dir/kube-controller-manager.kubeconfig" "$server" "$pki/ca.crt" \
  "$pki/kube-controller-manager"

bootstrapped() {
  curl_admin /api/v1/namespaces/default && curl_admin /api/v1/namespaces/default/services/kubernetes
}
wait_ready kube-apiserver 60 bootstrapped ||
  die "default namespace or kubernetes service missing (see $logs/kube-apiserver.log)"

# --- kube-controller-manager ----------------------------------------------------------------------------
kcm_kubeconfig=$dir/kube-controller-manager.kubeconfig
kcm_args() {
  free_port kcm_port
  cmd=("$bin/kube-controller-manager"
    --kubeconfig="$kcm_kubeconfig"
    --authentication-kubeconfig="$kcm_kubeconfig"
    --authorization-kubeconfig="$kcm_kubeconfig"
    --bind-address=127.0.0.1
    --secure-port="$kcm_port"
    --cert-dir="$dir/certs/kcm"
    --leader-elect=false
    --controllers='*,garbage-collector-controller,namespace-controller,deployment-controller,replicaset-controller'
    --use-service-account-credentials=true
    --service-account-private-key-file="$pki/sa.key"
    --root-ca-file="$pki/ca.crt"
    --cluster-signing-cert-file="$pki/ca.crt"
    --cluster-signing-key-file="$pki/ca.key"
    --cluster-name=tinycdn
    --flex-volume-plugin-dir="$dir/kcm/flexvolume")
}
kcm_ready() { [[ $(curl -sk --max-time 2 "https://127.0.0.1:$kcm_port/healthz") == ok ]]; }
start_component kube-controller-manager 120 kcm_ready kcm_args
# The service-account controller making `default` in `default` shows the controllers really run.
default_sa() { curl_admin /api/v1/namespaces/default/serviceaccounts/default; }
wait_ready kube-controller-manager 120 default_sa ||
  die "controller manager created no default service account (see $logs/kube-controller-manager.log)"

# --- DIR/env --------------------------------------------------------------------------------------------
cat >"$dir/env.tmp" <<EOF
KUBECONFIG=$dir/kubeconfig
KUBECTL=$kubectl
HELM=$bin/helm
HELM_CACHE_HOME=$dir/helm/cache
HELM_CONFIG_HOME=$dir/helm/config
HELM_DATA_HOME=$dir/helm/data
TINYCDN_CLUSTER_DIR=$dir
TINYCDN_K8S_VERSION=$K8S_VERSION
TINYCDN_K8S_BIN=$bin
TINYCDN_APISERVER=$server
TINYCDN_ETCD=http://127.0.0.1:$etcd_port
TINYCDN_CA_CERT=$pki/ca.crt
TINYCDN_CA_KEY=$pki/ca.key
EOF
mv -f "$dir/env.tmp" "$dir/env"

if [[ -n $with_node ]]; then
  echo "up.sh: control plane up in $(($(date +%s) - started))s; adding a node" >&2
  "$here/node.sh" up "$dir"
fi

finished=1
what="no kubelet"
[[ -n $with_node ]] && what="node $(env_value "$dir/env" TINYCDN_NODE_NAME)"
echo "up.sh: Kubernetes $K8S_VERSION cluster up in $(($(date +%s) - started))s: $server ($what)" >&2
echo "up.sh: KUBECONFIG=$dir/kubeconfig; env in $dir/env; stop with test/cluster/down.sh $dir" >&2
