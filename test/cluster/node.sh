#!/usr/bin/env bash
# A real node for the test control plane of up.sh: pods run on it.
#
#   test/cluster/node.sh up DIR      (up.sh --node DIR calls it once the control plane is up)
#   test/cluster/node.sh down DIR    (down.sh DIR calls it first)
#
# What `up` starts, as root, all state under DIR/node/ (logs in DIR/node/logs/, "NAME PID" in DIR/node/pids):
# - containerd + runc from Debian with their own root, state and socket, and the project's images imported
#   (images/build.sh builds them: nothing is ever pulled; pods use the names the chart and the CRD default to);
# - a bridge $BRIDGE holding the node IP, with the Service range routed onto it, and a CNI config (bridge +
#   host-local) that gives pods a route to the Service range and nothing else: no default route, no
#   masquerade, so nothing a pod sends can leave this machine;
# - kubelet (node named by its IP: the API server dials kubelets by name first and cannot resolve another),
#   with a serving certificate from the cluster CA and webhook authentication/authorization, as kubeadm does;
# - kube-scheduler and kube-proxy (nftables mode); the control plane of up.sh runs neither;
# - a relay NODE_IP:6443 -> the loopback-only API server, and the `kubernetes` EndpointSlice pointing at it,
#   so pods (the operator) reach the API server through the `kubernetes` Service as in any cluster.
# The addresses are fixed (the bridge, the node IP, the Service range of up.sh), so one node runs per
# machine at a time: `up` refuses a second one and names the directory of the first.
#
# Settings this host needs (cgroup v1 hybrid, no CAP_SYS_RESOURCE in the sandbox):
# - kubelet: cgroupDriver cgroupfs (no systemd), failCgroupV1 false (kubelet >= 1.35 refuses v1 otherwise);
# - containerd CRI: restrict_oom_score_adj (runc cannot set the -998 the kubelet asks for sandboxes and
#   reports only "can't get final child's PID from pipe: EOF"); runc, not crun (crun refuses hybrid cgroups).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
# shellcheck source=SCRIPTDIR/versions.env
source "$here/versions.env"

BRIDGE=tinycdn0
NODE_IP=10.89.0.1
POD_CIDR=10.89.0.0/24
SERVICE_CIDR=10.0.0.0/24 # up.sh's --service-cluster-ip-range
NODE_NAME=$NODE_IP
API_RELAY_PORT=6443
# The sandbox ("pause") image: built by images/build.sh from Kubernetes' own pause.c.
PAUSE_IMAGE=localhost/tinycdn-test/pause:3.10
OWNER=/run/tinycdn-test-node # holds the DIR of the node that is up
DEFAULT_CONTAINERD_SOCK=/run/containerd/containerd.sock
images=${TINYCDN_CACHE:-$HOME/.cache/tinycdn}/images
bin=${TINYCDN_CACHE:-$HOME/.cache/tinycdn}/k8s/$K8S_VERSION/bin

(($# == 2)) && [[ $1 == up || $1 == down ]] || die "usage: node.sh up|down DIR"
action=$1
[[ -d $2 ]] || die "no such directory: $2"
dir=$(cd "$2" && pwd)
node=$dir/node
pids=$node/pids
logs=$node/logs
sock=$node/containerd/containerd.sock
crictl() { "$bin/crictl" --runtime-endpoint "unix://$sock" --timeout 20s "$@"; }

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}'; }

# ------------------------------------------------------------------------------------------------------
# down: kubelet first (so nothing restarts), then every pod sandbox through the CRI (CNI DEL: veths,
# network namespaces, IP leases), kube-proxy's nftables table, containerd and its shims, the mounts under
# DIR/node, the bridge, the kubelet's iptables chains and its cgroups.
# ------------------------------------------------------------------------------------------------------
# stop_process NAME: SIGTERM the recorded pid if it is still that program (its command line names DIR or
# it is the relay), wait up to 20 s, then SIGKILL.
stop_process() {
  local pid
  pid=$(pid_of "$1" 2>/dev/null) || return 0
  [[ -n $pid ]] && alive "$pid" || return 0
  grep -qaF -- "$dir" "/proc/$pid/cmdline" 2>/dev/null || [[ $1 == apirelay ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 80); do
    alive "$pid" || return 0
    sleep 0.25
  done
  echo "node.sh: $1 ($pid) ignored SIGTERM for 20s; killing" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

node_down() {
  [[ -d $node ]] || return 0
  local failed=0
  if [[ -f $pids ]]; then
    stop_process kubelet
    stop_process kube-scheduler
    if [[ -S $sock ]] && [[ -x $bin/crictl ]]; then
      crictl rmp --all --force >/dev/null 2>&1 || true
      if [[ -n $(crictl pods -q 2>/dev/null) ]]; then
        echo "node.sh: pod sandboxes left in containerd after crictl rmp" >&2
        failed=1
      fi
    fi
    stop_process apirelay
    stop_process kube-proxy
    stop_process containerd
  fi
  "$bin/kube-proxy" --cleanup --proxy-mode=nftables >/dev/null 2>&1 || true
  # A shim outlives containerd only while its task runs; rmp stopped them all, but a failed run may not
  # have: kill shims of this containerd (their command line names its socket's directory).
  local p
  for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $sock" || true); do kill -KILL "$p" 2>/dev/null || true; done
  # Deepest first; a lazy unmount as the last resort for a busy one.
  findmnt -rn -o TARGET | awk -v p="$node/" 'index($0, p) == 1' | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  [[ -L $DEFAULT_CONTAINERD_SOCK && $(readlink "$DEFAULT_CONTAINERD_SOCK") == "$sock" ]] && rm -f "$DEFAULT_CONTAINERD_SOCK"
  nft delete table inet tinycdn-test-node 2>/dev/null || true
  # The kubelet's canary and firewall chains (it still makes them in iptables).
  local t c ipt
  for ipt in iptables ip6tables; do
    command -v $ipt >/dev/null || continue
    for t in filter nat mangle; do
      for c in KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT KUBE-NODEPORTS; do
        while $ipt -w -t $t -D INPUT -j $c 2>/dev/null; do :; done
        while $ipt -w -t $t -D OUTPUT -j $c 2>/dev/null; do :; done
        $ipt -w -t $t -F $c 2>/dev/null || true
        $ipt -w -t $t -X $c 2>/dev/null || true
      done
    done
  done
  local d
  for d in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [[ -d $d ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    [[ -d $d ]] && { echo "node.sh: cgroup $d still has processes" >&2; failed=1; }
  done
  [[ -f $OWNER && $(<"$OWNER") == "$dir" ]] && rm -f "$OWNER"
  [[ -f $pids ]] && mv -f "$pids" "$pids.stopped"
  echo "node.sh: node of $dir stopped" >&2
  return $failed
}

if [[ $action == down ]]; then
  node_down
  exit
fi

# ------------------------------------------------------------------------------------------------------
# up
# ------------------------------------------------------------------------------------------------------
[[ $(id -u) == 0 ]] || die "a node needs root (containerd, network namespaces, mounts)"
[[ -f $dir/env ]] || die "no control plane in $dir: run up.sh --node $dir"
if [[ -f $OWNER ]] && ip link show "$BRIDGE" >/dev/null 2>&1; then
  die "a test node is already up for $(<"$OWNER"); stop it first: test/cluster/down.sh $(<"$OWNER")"
fi
t0=$(date +%s.%N)
lap() { echo "node.sh: $1 ($(elapsed "$t0")s)" >&2; }

bash "$root/test/fixtures/apt.sh" containerd=containerd runc=runc socat=socat nft=nftables ip=iproute2 \
  iptables=iptables
[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local ]] ||
  bash "$root/test/fixtures/apt.sh" cni-plugins-missing=containernetworking-plugins
bash "$root/images/build.sh" >&2
for b in kubelet kube-proxy kube-scheduler crictl; do
  [[ -x $bin/$b ]] || die "$bin/$b is missing: run test/cluster/build.sh --node"
done

rm -rf "$node"
mkdir -p "$node"/{containerd,cni/net.d,cni/ipam,kubelet,pod-logs,pki} "$logs"
: >"$pids"
echo "$dir" >"$OWNER"
launching=""
up_done=""
on_exit() {
  local rc=$?
  [[ -n $up_done ]] && return
  echo "node.sh: up failed (exit $rc); last log lines:" >&2
  for f in "$logs"/*.log; do
    [[ -f $f ]] || continue
    echo "--- $f" >&2
    tail -n 20 "$f" >&2
  done
}
trap on_exit EXIT

# wait_for NAME SECONDS WHAT CHECK...: CHECK until it succeeds; dies naming WHAT when NAME exited or time is up.
wait_for() {
  local name=$1 timeout=$2 what=$3 rc=0
  shift 3
  wait_ready "$name" "$timeout" "$@" || rc=$?
  ((rc == 0)) && return 0
  ((rc == 2)) && die "$name exited before $what (see $logs/$name.log)"
  die "$what: not after ${timeout}s (see $logs/$name.log)"
}

# --- containerd -----------------------------------------------------------------------------------------
cat >"$node/containerd/config.toml" <<TOML
version = 2
root = "$node/containerd/root"
state = "$node/containerd/state"
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[debug]
  address = "$sock.debug"
[plugins."io.containerd.internal.v1.opt"]
  path = "$node/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$node/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$node/cni/net.d"
TOML
start containerd containerd --config "$node/containerd/config.toml"
wait_for containerd 30 "containerd answering" ctr --address "$sock" version
for tar in "$images"/*.tar; do
  ctr --address "$sock" -n k8s.io images import --all-platforms "$tar" >/dev/null
done
lap "containerd up, images imported: $(ctr --address "$sock" -n k8s.io images ls -q | grep -v '^sha256:' | tr '\n' ' ')"

# --- network --------------------------------------------------------------------------------------------
ip link add "$BRIDGE" type bridge
ip addr add "$NODE_IP/${POD_CIDR#*/}" dev "$BRIDGE"
ip link set "$BRIDGE" up
# Host -> ClusterIP: kube-proxy's output-hook DNAT picks a pod; the route makes the packet leave on the
# bridge with the node IP as its source, so the pod's reply comes back to the host.
ip route replace "$SERVICE_CIDR" dev "$BRIDGE" src "$NODE_IP"
# Pod -> Service -> pod on the same bridge: the DNAT happens on a bridged packet, which netfilter sees
# only with br_netfilter's bridge-nf-call-iptables (as on every kubeadm node).
if [[ -w /proc/sys/net/bridge/bridge-nf-call-iptables ]]; then
  echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables
fi
# Nothing is forwarded between the bridge and any other interface, whatever ip_forward says.
nft -f - <<NFT
table inet tinycdn-test-node {
  chain forward {
    type filter hook forward priority -10; policy accept;
    iifname "$BRIDGE" oifname != "$BRIDGE" drop
    oifname "$BRIDGE" iifname != "$BRIDGE" drop
  }
}
NFT
cat >"$node/cni/net.d/10-tinycdn-test.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "tinycdn-test",
  "plugins": [
    {
      "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$node/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "$SERVICE_CIDR"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON

# --- identities -----------------------------------------------------------------------------------------
kc() { "$(env_value "$dir/env" KUBECTL)" --kubeconfig "$dir/kubeconfig" "$@"; }
node_kubeconfig=$("$here/mint-user.sh" "$dir" "system:node:$NODE_NAME" system:nodes)
# up.sh runs the RBAC authorizer only (no Node authorizer): bind the node role to this node's user.
kc create clusterrolebinding "tinycdn-test-node:$NODE_NAME" --clusterrole=system:node \
  --user="system:node:$NODE_NAME" >/dev/null
proxy_kubeconfig=$("$here/mint-user.sh" "$dir" system:kube-proxy)         # system:node-proxier binds it
scheduler_kubeconfig=$("$here/mint-user.sh" "$dir" system:kube-scheduler) # system:kube-scheduler binds it
issue_cert "$node/pki/kubelet" "/CN=system:node:$NODE_NAME/O=system:nodes" 'basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:'"$NODE_IP" "$dir/pki/ca"

# --- kubelet --------------------------------------------------------------------------------------------
# The kubelet's cAdvisor finds containerd only at its default socket (no flag moves it): without it,
# container metrics carry no pod or container labels. Link it to this node's socket when that path is
# free (down removes the link; it refuses to replace a real containerd's socket).
if [[ ! -e $DEFAULT_CONTAINERD_SOCK && ! -L $DEFAULT_CONTAINERD_SOCK ]]; then
  mkdir -p "${DEFAULT_CONTAINERD_SOCK%/*}"
  ln -s "$sock" "$DEFAULT_CONTAINERD_SOCK"
else
  echo "node.sh: $DEFAULT_CONTAINERD_SOCK exists: cAdvisor's container metrics will lack pod labels" >&2
fi
cat >"$node/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $node/pki/kubelet.crt
tlsPrivateKeyFile: $node/pki/kubelet.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $dir/pki/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$sock
imageServiceEndpoint: unix://$sock
podLogsDir: $node/pod-logs
# No cluster DNS here (no CoreDNS): pods get an empty resolv.conf rather than the host's.
resolvConf: ""
staticPodPath: ""
serializeImagePulls: false
# The disk is shared with everything else on this machine: evict only when it is really full.
evictionHard: {memory.available: 200Mi, nodefs.available: 2%, imagefs.available: 2%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
YAML
start kubelet "$bin/kubelet" --config="$node/kubelet.yaml" --kubeconfig="$node_kubeconfig" \
  --root-dir="$node/kubelet" --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --v=1
node_ready() {
  [[ $(kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]
}
wait_for kubelet 90 "node $NODE_NAME Ready" node_ready
lap "kubelet up, node $NODE_NAME Ready"

# --- kube-scheduler, kube-proxy -------------------------------------------------------------------------
start kube-scheduler "$bin/kube-scheduler" --kubeconfig="$scheduler_kubeconfig" \
  --authentication-kubeconfig="$scheduler_kubeconfig" --authorization-kubeconfig="$scheduler_kubeconfig" \
  --bind-address=127.0.0.1 --secure-port=0 --leader-elect=false
start kube-proxy "$bin/kube-proxy" --kubeconfig="$proxy_kubeconfig" --hostname-override="$NODE_NAME" \
  --proxy-mode=nftables --cluster-cidr="$POD_CIDR" --conntrack-max-per-core=0 \
  --healthz-bind-address=127.0.0.1:10256 --metrics-bind-address=127.0.0.1:10249 \
  --nodeport-addresses="$NODE_IP/32"

# --- the API server from pods: `kubernetes` Service -> NODE_IP:6443 -> relay -> 127.0.0.1:PORT ----------
api=$(env_value "$dir/env" TINYCDN_APISERVER)
start apirelay socat "TCP-LISTEN:$API_RELAY_PORT,bind=$NODE_IP,fork,reuseaddr" "TCP:127.0.0.1:${api##*:}"
kc apply -f - >/dev/null <<YAML
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kubernetes-test-node
  namespace: default
  labels:
    kubernetes.io/service-name: kubernetes
    endpointslice.kubernetes.io/managed-by: tinycdn-test-node
addressType: IPv4
endpoints: [{addresses: ["$NODE_IP"], conditions: {ready: true}}]
ports: [{name: https, port: $API_RELAY_PORT, protocol: TCP}]
YAML
service_ip=$(kc get service kubernetes -o jsonpath='{.spec.clusterIP}')
api_through_service() { curl -sf --max-time 2 --cacert "$dir/pki/ca.crt" "https://$service_ip/readyz"; }
wait_for kube-proxy 60 "the API server through its Service ($service_ip)" api_through_service
lap "kube-scheduler, kube-proxy, API server reachable at https://$service_ip"

cat >>"$dir/env" <<EOF
TINYCDN_NODE_NAME=$NODE_NAME
TINYCDN_NODE_IP=$NODE_IP
TINYCDN_POD_CIDR=$POD_CIDR
TINYCDN_CONTAINERD_ADDRESS=$sock
TINYCDN_CRICTL=$bin/crictl
EOF
up_done=1
echo "node.sh: node $NODE_NAME up in $(elapsed "$t0")s; pods on $POD_CIDR ($BRIDGE)" >&2
