#!/usr/bin/env bash
# `make e2e`: one cluster with a real node for every e2e file (starting a node costs about a minute, so the
# files share it; they run one at a time, as one node per machine can run), then a clean stop.
#
#   test/e2e/run.sh [TEST_FILE...]     (default: every test/e2e/*.test.ts, in the order below)
#
# Prints the time of each stage. The cluster's directory is kept on failure, for its logs
# (DIR/logs, DIR/node/logs, DIR/node/pod-logs), and removed after a passing run.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
# The user's path first (install, apply), then what breaks things (disruption), then the add-ons.
default_files=(install imageproxy disruption autoscaling monitoring)
files=("$@")
if ((${#files[@]} == 0)); then
  for f in "${default_files[@]}"; do
    [[ -f test/e2e/$f.test.ts ]] && files+=("test/e2e/$f.test.ts")
  done
fi

stage_start=$(date +%s)
stage() {
  local now
  now=$(date +%s)
  echo "e2e: $1 in $((now - stage_start))s" >&2
  stage_start=$now
}

dir=$(mktemp -d "${TMPDIR:-/tmp}/tinycdn-e2e-XXXXXX")
passed=""
cleanup() {
  test/cluster/down.sh "$dir" >&2 || true
  if [[ -n $passed ]]; then
    rm -rf "$dir"
  else
    echo "e2e: failed; the cluster's logs are kept in $dir" >&2
  fi
}
trap cleanup EXIT

test/cluster/up.sh --node "$dir"
stage "cluster with a node up (build, images, node)"

TINYCDN_E2E_CLUSTER=$dir node --test --test-reporter=spec --test-reporter-destination=stdout \
  --test-concurrency=1 "${files[@]}"
stage "e2e tests"
passed=1
