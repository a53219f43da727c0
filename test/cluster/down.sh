#!/usr/bin/env bash
# Stops the control plane that up.sh started in DIR: exactly the processes listed in DIR/pids (each
# checked to still be that process: its command line names DIR), newest first, SIGTERM then SIGKILL after
# 20 s, and waits until they are gone. Keeps DIR's files (logs, pki) for inspection.
#
#   test/cluster/down.sh DIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"

[[ $# -eq 1 ]] || die "usage: down.sh DIR"
[[ -d $1 ]] || die "no such directory: $1"
dir=$(cd "$1" && pwd)
# The e2e add-ons (metrics-server, kube-state-metrics, Prometheus) of a test stopped before its clean-up,
# then a node (node.sh up recorded it): its pods, mounts, network and cgroups go before the API server.
if [[ -d $dir/addons ]]; then
  "$here/../e2e/addons.sh" down "$dir" || echo "down.sh: the e2e add-ons did not stop cleanly (see above)" >&2
fi
if [[ -d $dir/node ]]; then
  "$here/node.sh" down "$dir" || echo "down.sh: the node did not stop cleanly (see above)" >&2
fi
[[ -f $dir/pids ]] || { echo "down.sh: nothing to stop in $dir" >&2; exit 0; }

# Still our process: alive (not a zombie waiting for its reaper) and started with DIR in its arguments.
ours() {
  local pid=$1 state
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $state != Z ]] && grep -qaF -- "$dir" "/proc/$pid/cmdline" 2>/dev/null
}

# wait_gone PID SECONDS
wait_gone() {
  local deadline=$(($(date +%s) + $2))
  while ours "$1"; do
    (($(date +%s) < deadline)) || return 1
    sleep 0.1
  done
}

failed=0
while read -r name pid; do
  [[ -n ${pid:-} ]] || continue
  ours "$pid" || continue
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" 20; then
    echo "down.sh: $name ($pid) ignored SIGTERM for 20s; killing" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || { echo "down.sh: $name ($pid) is still running" >&2; failed=1; }
  fi
done < <(tac "$dir/pids")

((failed == 0)) || exit 1
mv -f "$dir/pids" "$dir/pids.stopped"
rm -f "$dir/env"
echo "down.sh: stopped the cluster in $dir" >&2
