#!/usr/bin/env bash
# Builds the Kubernetes test control plane from Go modules (no binary downloads) into
#   ${TINYCDN_CACHE:-$HOME/.cache/tinycdn}/k8s/<K8S_VERSION>/bin/
# etcd, kube-apiserver, kube-controller-manager, helm, and kubectl when the machine has none
# (TINYCDN_BUILD_KUBECTL=1 builds it anyway, at the cluster's version). With --node, also what a real
# node needs (up.sh --node): kubelet, kube-proxy, kube-scheduler from the same wrapper module, and crictl
# (cri-tools, its own module) that down.sh uses to remove pod sandboxes through the CRI.
#
# The module graphs come from the committed wrapper modules in hack/k8s-build/ (see update.sh there);
# versions are pinned in test/cluster/versions.env. Idempotent: each binary has a stamp holding a hash of
# everything its build depends on (wrapper go.mod/go.sum, Go version, flags); a matching stamp skips it.
# Concurrent runs serialise on a lock in the cache, so parallel `up.sh` calls build once.
#
# Usage: test/cluster/build.sh [--node]   prints what it built or skipped, with wall times
set -euo pipefail

with_node=""
case ${1:-} in
--node) with_node=1 ;;
"") ;;
*)
  echo "usage: build.sh [--node]" >&2
  exit 2
  ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/versions.env
source "$here/versions.env"
mods="$root/hack/k8s-build"

bin="${TINYCDN_CACHE:-$HOME/.cache/tinycdn}/k8s/$K8S_VERSION/bin"
mkdir -p "$bin"

export GOTOOLCHAIN=local GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0

command -v go >/dev/null || { echo "build.sh: go is not on PATH" >&2; exit 1; }
go_version=$(go env GOVERSION)

# The committed wrapper modules must match versions.env, or update.sh was not run after an edit.
check_pin() {
  grep -qE "^[[:space:]]*(require[[:space:]]+)?$2 $3( |$)" "$mods/$1/go.mod" || {
    echo "build.sh: hack/k8s-build/$1/go.mod does not require $2 $3 (versions.env);" \
      "run hack/k8s-build/update.sh" >&2
    exit 1
  }
}
check_pin kubernetes k8s.io/kubernetes "$K8S_VERSION"
check_pin etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
check_pin helm helm.sh/helm/v3 "$HELM_VERSION"
check_pin cri-tools sigs.k8s.io/cri-tools "$CRI_TOOLS_VERSION"
check_pin metrics-server sigs.k8s.io/metrics-server "$METRICS_SERVER_VERSION"
check_pin kube-state-metrics k8s.io/kube-state-metrics/v2 "$KUBE_STATE_METRICS_VERSION"

exec 9>"$bin/.build.lock"
flock 9

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }

# build NAME MODULE_DIR PACKAGE LDFLAGS: go build PACKAGE inside hack/k8s-build/MODULE_DIR into $bin/NAME.
build() {
  local name=$1 dir="$mods/$2" pkg=$3 ldflags=$4
  local key
  key=$(
    {
      printf '%s\n' "$go_version" "$(go env GOOS GOARCH)" "$CGO_ENABLED" "$pkg" "$ldflags"
      cat "$dir/go.mod" "$dir/go.sum"
    } | sha256sum | cut -d' ' -f1
  )
  if [[ -x "$bin/$name" && -f "$bin/$name.stamp" && $(<"$bin/$name.stamp") == "$key" ]]; then
    echo "$name: up to date ($bin/$name)"
    return
  fi
  echo "$name: building $pkg ..."
  local start
  start=$(now)
  (cd "$dir" && nice -n 10 go build -trimpath -ldflags "$ldflags" -o "$bin/.$name.tmp" "$pkg")
  mv -f "$bin/.$name.tmp" "$bin/$name"
  printf '%s\n' "$key" >"$bin/$name.stamp"
  echo "$name: built in $(elapsed "$start")s ($bin/$name)"
}

total_start=$(now)

# Version stamp for Kubernetes binaries, as hack/lib/version.sh sets it; /version and the binary-version
# checks at start-up read it. The build date is the tag's time from the module proxy, so rebuilds match.
k8s_time=$(cd "$mods/kubernetes" && go list -m -f '{{with .Time}}{{.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes)
k8s_minor=${K8S_VERSION#v1.}
k8s_minor=${k8s_minor%%.*}
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
  k8s_ldflags+=" -X $pkg.gitTreeState=archive -X $pkg.buildDate=${k8s_time:-1970-01-01T00:00:00Z}"
  k8s_ldflags+=" -X $pkg.gitCommit="
done

build kube-apiserver kubernetes k8s.io/kubernetes/cmd/kube-apiserver "$k8s_ldflags"
build kube-controller-manager kubernetes k8s.io/kubernetes/cmd/kube-controller-manager "$k8s_ldflags"
# The e2e tests on a node drive the cluster as a user would, so there kubectl is the cluster's own version.
if [[ -n $with_node || ${TINYCDN_BUILD_KUBECTL:-} == 1 || -x "$bin/kubectl" ]] || ! command -v kubectl >/dev/null; then
  build kubectl kubernetes k8s.io/kubernetes/cmd/kubectl "$k8s_ldflags"
else
  echo "kubectl: using $(command -v kubectl) (TINYCDN_BUILD_KUBECTL=1 builds $K8S_VERSION)"
fi

if [[ -n $with_node ]]; then
  for c in kubelet kube-proxy kube-scheduler; do
    build "$c" kubernetes "k8s.io/kubernetes/cmd/$c" "$k8s_ldflags"
  done
  build crictl cri-tools sigs.k8s.io/cri-tools/cmd/crictl \
    "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRI_TOOLS_VERSION"
fi

# The e2e add-ons (test/e2e/addons.sh runs them as host processes): metrics-server, whose resource metrics
# API the HPA scales on, and kube-state-metrics for the dashboard. Each stamped as its Makefile does;
# the build date is the tag's time from the module proxy, so rebuilds match.
if [[ -n $with_node ]]; then
  tag_time() {
    (cd "$mods/$1" && go list -m -f '{{with .Time}}{{.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' "$2")
  }
  ms_ldflags="-s -w"
  for v in "gitVersion=$METRICS_SERVER_VERSION" gitCommit= gitTreeState=archive \
    "buildDate=$(tag_time metrics-server sigs.k8s.io/metrics-server)"; do
    ms_ldflags+=" -X k8s.io/client-go/pkg/version.$v"
  done
  build metrics-server metrics-server sigs.k8s.io/metrics-server/cmd/metrics-server "$ms_ldflags"
  ksm_ldflags="-s -w -X github.com/prometheus/common/version.Version=${KUBE_STATE_METRICS_VERSION#v}"
  ksm_ldflags+=" -X github.com/prometheus/common/version.Branch=archive"
  ksm_ldflags+=" -X github.com/prometheus/common/version.BuildDate=$(tag_time kube-state-metrics k8s.io/kube-state-metrics/v2)"
  ksm_ldflags+=" -X k8s.io/kube-state-metrics/v2/pkg/app.ClientGoVersion=$(cd "$mods/kube-state-metrics" && go list -m -f '{{.Version}}' k8s.io/client-go)"
  build kube-state-metrics kube-state-metrics k8s.io/kube-state-metrics/v2 "$ksm_ldflags"
fi

# etcd keeps its version in a constant of go.etcd.io/etcd/api/v3/version; only the git SHA is stamped.
build etcd etcd go.etcd.io/etcd/server/v3 "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION"

# helm's Makefile stamps its version and the Kubernetes version of its client libraries (for
# .Capabilities.KubeVersion and lint's deprecation checks).
helm_k8s=$(cd "$mods/helm" && go list -m -f '{{.Version}}' k8s.io/client-go)
helm_k8s_minor=${helm_k8s#v0.}
helm_k8s_minor=${helm_k8s_minor%%.*}
helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
helm_ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$helm_k8s_minor"
done
build helm helm helm.sh/helm/v3/cmd/helm "$helm_ldflags"

echo "build.sh: done in $(elapsed "$total_start")s: $bin"
