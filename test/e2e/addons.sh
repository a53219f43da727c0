#!/usr/bin/env bash
# The cluster add-ons the e2e tests of autoscaling and monitoring need, on the node of
# `test/cluster/up.sh --node DIR`, run as host processes (no images: each is built from its Go module by
# test/cluster/build.sh --node, or is Debian's):
#
#   test/e2e/addons.sh up DIR                  metrics-server + kube-state-metrics; idempotent
#   test/e2e/addons.sh prometheus DIR CONFIG   (re)starts Prometheus with CONFIG (Debian's `prometheus`)
#   test/e2e/addons.sh down DIR                stops them all and deletes their API objects
#
# - metrics-server serves the resource metrics API (metrics.k8s.io) as an aggregated API, as in any
#   cluster: an APIService v1beta1.metrics.k8s.io points at a selector-less Service in kube-system whose
#   EndpointSlice is NODE_IP:PORT, where metrics-server listens with a serving certificate from the cluster
#   CA (the APIService's caBundle). It trusts the front proxy's request-header CA (the API server proxies
#   with --proxy-client-*), authenticates and authorizes delegated requests through the API server, and
#   reads each kubelet's /metrics/resource with the client certificate of `system:metrics-server`, checking
#   the kubelet's serving certificate against the cluster CA. The RBAC is upstream's components.yaml, bound
#   to that user instead of a ServiceAccount.
# - kube-state-metrics, with the client certificate of `tinycdn-e2e:kube-state-metrics`, serves
#   http://127.0.0.1:PORT/metrics.
# - Prometheus' identity `tinycdn-e2e:prometheus` (a kubeconfig for kubernetes_sd_configs and a client
#   certificate for the kubelet's /metrics/cadvisor), with kube-prometheus' RBAC: discovery of services,
#   endpoints, endpoint slices and pods, and nodes/metrics.
#
# State in DIR/addons/: pids ("NAME PID", what `down` stops), logs/, pki/, env (KEY=VALUE lines for the
# tests: METRICS_SERVER_URL, KUBE_STATE_METRICS_URL, PROMETHEUS_URL, PROMETHEUS_KUBECONFIG,
# PROMETHEUS_CERT, PROMETHEUS_KEY, KUBELET_CA). Every API object it creates carries the label
# app.kubernetes.io/managed-by=tinycdn-e2e-addons, and `down` deletes them by it: an APIService whose
# server is gone would fail API discovery, and with it namespace deletion.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cluster=$root/test/cluster
# shellcheck source=SCRIPTDIR/../cluster/lib.sh
source "$cluster/lib.sh"
# shellcheck source=SCRIPTDIR/../cluster/versions.env
source "$cluster/versions.env"

MANAGED_BY=tinycdn-e2e-addons
METRICS_SERVER_NS=kube-system
METRICS_SERVER_SVC=metrics-server
PROMETHEUS=/usr/bin/prometheus

usage() { die "usage: addons.sh up DIR | addons.sh prometheus DIR CONFIG | addons.sh down DIR"; }
(($# >= 2)) || usage
action=$1
[[ -d $2 ]] || die "no such directory: $2"
dir=$(cd "$2" && pwd)
case $action in
up | down) (($# == 2)) || usage ;;
prometheus) (($# == 3)) || usage ;;
*) usage ;;
esac

addons=$dir/addons
pids=$addons/pids
logs=$addons/logs
bin=${TINYCDN_CACHE:-$HOME/.cache/tinycdn}/k8s/$K8S_VERSION/bin
launching=""

kc() { "$(env_value "$dir/env" KUBECTL)" --kubeconfig "$dir/kubeconfig" "$@"; }

# Still our process: alive and started with DIR in its arguments (every flag file is under DIR).
ours() {
  local pid=$1
  [[ -n $pid ]] && alive "$pid" && grep -qaF -- "$dir" "/proc/$pid/cmdline" 2>/dev/null
}

# stop NAME: SIGTERM the recorded process if it is still ours, SIGKILL after 20 s; drops its line.
stop() {
  [[ -f $pids ]] || return 0
  local pid
  pid=$(pid_of "$1")
  if ours "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 80); do
      ours "$pid" || break
      sleep 0.25
    done
    if ours "$pid"; then
      echo "addons.sh: $1 ($pid) ignored SIGTERM for 20s; killing" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  sed -i "/^$1 /d" "$pids"
}

running() { ours "$(pid_of "$1" 2>/dev/null)"; }

# set_env KEY VALUE in DIR/addons/env.
set_env() {
  touch "$addons/env"
  sed -i "/^$1=/d" "$addons/env"
  echo "$1=$2" >>"$addons/env"
}

# free_port VAR HOST: a random port in 20000-32767 that nothing on HOST listens on yet.
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + SRANDOM % 12768))
    if ! (exec 3<>"/dev/tcp/$2/$p") 2>/dev/null; then
      printf -v "$1" '%s' "$p"
      return
    fi
  done
  die "no free port on $2"
}

# wait_for NAME SECONDS WHAT CHECK...: CHECK until it succeeds; dies naming WHAT when NAME exited or time is up.
wait_for() {
  local name=$1 timeout=$2 what=$3 rc=0
  shift 3
  wait_ready "$name" "$timeout" "$@" || rc=$?
  ((rc == 0)) && return 0
  tail -n 20 "$logs/$name.log" >&2 || true
  ((rc == 2)) && die "$name exited before $what (see $logs/$name.log)"
  die "$what: not after ${timeout}s (see $logs/$name.log)"
}

# ------------------------------------------------------------------------------------------------------
down() {
  [[ -d $addons ]] || return 0
  local name
  if [[ -f $pids ]]; then
    for name in $(tac "$pids" | awk '{print $1}'); do stop "$name"; done
  fi
  # The API objects, while the API server is there (down.sh removes DIR/env when it stops it).
  if [[ -f $dir/env ]] && kc get --raw /readyz >/dev/null 2>&1; then
    kc delete apiservice -l "app.kubernetes.io/managed-by=$MANAGED_BY" --ignore-not-found --wait=false >/dev/null
    kc delete service,endpointslice,rolebinding -A -l "app.kubernetes.io/managed-by=$MANAGED_BY" \
      --ignore-not-found --wait=false >/dev/null
    kc delete clusterrole,clusterrolebinding -l "app.kubernetes.io/managed-by=$MANAGED_BY" \
      --ignore-not-found --wait=false >/dev/null
  fi
  rm -f "$addons/env"
  echo "addons.sh: add-ons of $dir stopped" >&2
}

if [[ $action == down ]]; then
  down
  exit
fi

# ------------------------------------------------------------------------------------------------------
[[ -f $dir/env ]] || die "no cluster in $dir (test/cluster/up.sh --node $dir)"
node_ip=$(env_value "$dir/env" TINYCDN_NODE_IP)
[[ -n $node_ip ]] || die "the cluster in $dir has no node (test/cluster/up.sh --node $dir)"
mkdir -p "$addons/pki" "$logs" "$addons/prometheus"
touch "$pids"

if [[ $action == prometheus ]]; then
  config=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
  [[ -f $config ]] || die "no such file: $3"
  bash "$root/test/fixtures/apt.sh" prometheus=prometheus
  stop prometheus
  rm -rf "$addons/prometheus/data"
  mkdir -p "$addons/prometheus/data"
  free_port prometheus_port 127.0.0.1
  # Its command line names DIR (the data path), so `down` and down.sh recognise it.
  start prometheus "$PROMETHEUS" --config.file="$config" --storage.tsdb.path="$addons/prometheus/data" \
    --web.listen-address="127.0.0.1:$prometheus_port" --storage.tsdb.retention.time=2h
  prometheus_ready() { curl -sf --max-time 2 "http://127.0.0.1:$prometheus_port/-/ready"; }
  wait_for prometheus 60 "Prometheus ready" prometheus_ready
  set_env PROMETHEUS_URL "http://127.0.0.1:$prometheus_port"
  echo "http://127.0.0.1:$prometheus_port"
  exit
fi

# --- up ---------------------------------------------------------------------------------------------
t0=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}'; }
"$cluster/build.sh" --node >&2
for b in metrics-server kube-state-metrics; do
  [[ -x $bin/$b ]] || die "$bin/$b is missing: run test/cluster/build.sh --node"
done

metrics_api_ready() {
  [[ $(kc get apiservice v1beta1.metrics.k8s.io \
    -o jsonpath='{.status.conditions[?(@.type=="Available")].status}') == True ]] &&
    kc get --raw "/apis/metrics.k8s.io/v1beta1/nodes/$node_ip" >/dev/null
}
ksm_ready() {
  curl -sf --max-time 2 "$(env_value "$addons/env" KUBE_STATE_METRICS_URL)/metrics" | grep -q '^kube_node_info{'
}
if running metrics-server && running kube-state-metrics && metrics_api_ready >/dev/null 2>&1 &&
  ksm_ready >/dev/null 2>&1; then
  echo "addons.sh: add-ons of $dir already up" >&2
  exit 0
fi
stop metrics-server
stop kube-state-metrics

labels="labels: {app.kubernetes.io/managed-by: $MANAGED_BY}"

# --- identities -----------------------------------------------------------------------------------------
ms_kubeconfig=$("$cluster/mint-user.sh" "$dir" system:metrics-server)
ksm_kubeconfig=$("$cluster/mint-user.sh" "$dir" tinycdn-e2e:kube-state-metrics)
prom_kubeconfig=$("$cluster/mint-user.sh" "$dir" tinycdn-e2e:prometheus)
issue_cert "$addons/pki/metrics-server" "/CN=metrics-server" 'basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:'"$METRICS_SERVER_SVC.$METRICS_SERVER_NS.svc"',IP:'"$node_ip" "$dir/pki/ca"

kc apply -f - >/dev/null <<YAML
# metrics-server: upstream's RBAC (manifests/base/rbac.yaml), bound to the user system:metrics-server.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: system:aggregated-metrics-reader
  labels:
    app.kubernetes.io/managed-by: $MANAGED_BY
    rbac.authorization.k8s.io/aggregate-to-admin: "true"
    rbac.authorization.k8s.io/aggregate-to-edit: "true"
    rbac.authorization.k8s.io/aggregate-to-view: "true"
rules:
  - apiGroups: [metrics.k8s.io]
    resources: [pods, nodes]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: system:metrics-server, $labels}
rules:
  - apiGroups: [""]
    resources: [nodes/metrics]
    verbs: [get]
  - apiGroups: [""]
    resources: [pods, nodes]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: system:metrics-server, $labels}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:metrics-server}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: system:metrics-server}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "metrics-server:system:auth-delegator", $labels}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:auth-delegator}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: system:metrics-server}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: metrics-server-auth-reader, namespace: kube-system, $labels}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: extension-apiserver-authentication-reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: system:metrics-server}]
---
# kube-state-metrics: list/watch of the resources it is started with (--resources below).
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "tinycdn-e2e:kube-state-metrics", $labels}
rules:
  - apiGroups: [""]
    resources: [nodes, namespaces, pods, services]
    verbs: [list, watch]
  - apiGroups: [apps]
    resources: [deployments, replicasets]
    verbs: [list, watch]
  - apiGroups: [autoscaling]
    resources: [horizontalpodautoscalers]
    verbs: [list, watch]
  - apiGroups: [policy]
    resources: [poddisruptionbudgets]
    verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "tinycdn-e2e:kube-state-metrics", $labels}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "tinycdn-e2e:kube-state-metrics"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "tinycdn-e2e:kube-state-metrics"}]
---
# Prometheus: kube-prometheus' prometheus-k8s rules (service discovery; the kubelet's metrics).
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "tinycdn-e2e:prometheus", $labels}
rules:
  - apiGroups: [""]
    resources: [nodes/metrics]
    verbs: [get]
  - apiGroups: [""]
    resources: [services, endpoints, pods]
    verbs: [get, list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [get, list, watch]
  - nonResourceURLs: [/metrics]
    verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "tinycdn-e2e:prometheus", $labels}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "tinycdn-e2e:prometheus"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "tinycdn-e2e:prometheus"}]
YAML

# --- metrics-server ---------------------------------------------------------------------------------------
ms_args() {
  free_port ms_port "$node_ip"
  cmd=("$bin/metrics-server"
    --kubeconfig="$ms_kubeconfig"
    --authentication-kubeconfig="$ms_kubeconfig"
    --authorization-kubeconfig="$ms_kubeconfig"
    --requestheader-client-ca-file="$dir/pki/front-proxy-ca.crt"
    --requestheader-allowed-names=front-proxy-client
    --bind-address="$node_ip"
    --secure-port="$ms_port"
    --tls-cert-file="$addons/pki/metrics-server.crt"
    --tls-private-key-file="$addons/pki/metrics-server.key"
    --kubelet-certificate-authority="$dir/pki/ca.crt"
    --kubelet-preferred-address-types=InternalIP
    --kubelet-use-node-status-port
    --metric-resolution=15s)
}
ms_listening() { curl -sf --max-time 2 --cacert "$dir/pki/ca.crt" "https://$node_ip:$ms_port/livez"; }
for attempt in 1 2 3; do
  ms_args
  start metrics-server "${cmd[@]}"
  rc=0
  wait_ready metrics-server 60 ms_listening || rc=$?
  ((rc == 0)) && break
  if ((rc == 2 && attempt < 3)) && grep -q 'address already in use' "$logs/metrics-server.log"; then
    sed -i '/^metrics-server /d' "$pids"
    continue
  fi
  tail -n 20 "$logs/metrics-server.log" >&2
  die "metrics-server did not start (see $logs/metrics-server.log)"
done
set_env METRICS_SERVER_URL "https://$node_ip:$ms_port"

kc apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Service
metadata: {name: $METRICS_SERVER_SVC, namespace: $METRICS_SERVER_NS, $labels}
spec:
  ports: [{name: https, port: 443, targetPort: $ms_port, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: $METRICS_SERVER_SVC-host
  namespace: $METRICS_SERVER_NS
  labels:
    kubernetes.io/service-name: $METRICS_SERVER_SVC
    endpointslice.kubernetes.io/managed-by: $MANAGED_BY
    app.kubernetes.io/managed-by: $MANAGED_BY
addressType: IPv4
endpoints: [{addresses: ["$node_ip"], conditions: {ready: true}}]
ports: [{name: https, port: $ms_port, protocol: TCP}]
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.k8s.io, $labels}
spec:
  group: metrics.k8s.io
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  service: {name: $METRICS_SERVER_SVC, namespace: $METRICS_SERVER_NS, port: 443}
  caBundle: $(base64 -w0 <"$dir/pki/ca.crt")
YAML
# Available once the API server reaches it through the Service; node metrics once it scraped the kubelet.
wait_for metrics-server 120 "metrics.k8s.io available with the node's metrics" metrics_api_ready
echo "addons.sh: metrics-server up, metrics.k8s.io available ($(elapsed "$t0")s)" >&2

# --- kube-state-metrics -----------------------------------------------------------------------------------
for attempt in 1 2 3; do
  free_port ksm_port 127.0.0.1
  free_port ksm_telemetry_port 127.0.0.1
  start kube-state-metrics "$bin/kube-state-metrics" --kubeconfig="$ksm_kubeconfig" \
    --host=127.0.0.1 --port="$ksm_port" --telemetry-host=127.0.0.1 --telemetry-port="$ksm_telemetry_port" \
    --resources=nodes,namespaces,pods,services,deployments,replicasets,horizontalpodautoscalers,poddisruptionbudgets
  set_env KUBE_STATE_METRICS_URL "http://127.0.0.1:$ksm_port"
  rc=0
  wait_ready kube-state-metrics 60 ksm_ready || rc=$?
  ((rc == 0)) && break
  if ((rc == 2 && attempt < 3)) && grep -q 'address already in use' "$logs/kube-state-metrics.log"; then
    sed -i '/^kube-state-metrics /d' "$pids"
    continue
  fi
  tail -n 20 "$logs/kube-state-metrics.log" >&2
  die "kube-state-metrics did not serve the cluster's objects (see $logs/kube-state-metrics.log)"
done
echo "addons.sh: kube-state-metrics up ($(elapsed "$t0")s)" >&2

prom_user=$(basename "$prom_kubeconfig" .kubeconfig)
set_env PROMETHEUS_KUBECONFIG "$prom_kubeconfig"
set_env PROMETHEUS_CERT "$dir/users/$prom_user.crt"
set_env PROMETHEUS_KEY "$dir/users/$prom_user.key"
set_env KUBELET_CA "$dir/pki/ca.crt"
echo "addons.sh: add-ons up in $(elapsed "$t0")s; env in $addons/env" >&2
