# Shared helpers of test/cluster/*.sh (sourced, not run).
# shellcheck shell=bash

die() {
  echo "$(basename "$0"): $*" >&2
  exit 1
}

# Absolute path of directory $1 (created if missing); refuses characters that would need quoting in
# flags, kubeconfigs or DIR/env.
cluster_dir() {
  [[ -n ${1:-} ]] || die "missing DIR"
  mkdir -p "$1"
  local d
  d=$(cd "$1" && pwd)
  [[ $d =~ ^[A-Za-z0-9._/+@,:-]+$ ]] || die "DIR must contain only letters, digits and ._/+@,:- ($d)"
  printf '%s\n' "$d"
}

# Value of KEY in the KEY=VALUE file $1.
env_value() {
  sed -n "s/^$2=//p" "$1" | tail -n 1
}

# Escapes a value for an `openssl req -subj` field.
subj_escape() {
  local v=${1//\\/\\\\}
  printf '%s' "${v//\//\\/}"
}

# issue_cert OUT_PREFIX SUBJECT EXTENSIONS CA_PREFIX: P-256 key OUT_PREFIX.key and certificate
# OUT_PREFIX.crt for SUBJECT (openssl -subj form), with the x509v3 EXTENSIONS (config lines), signed
# by CA_PREFIX.crt/.key, valid 10 years.
issue_cert() {
  local out=$1 subj=$2 ext=$3 ca=$4
  (
    umask 077
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$out.key" 2>/dev/null
  )
  openssl req -new -key "$out.key" -subj "$subj" -out "$out.csr" 2>/dev/null
  printf '%s\n' "$ext" >"$out.ext"
  openssl x509 -req -in "$out.csr" -CA "$ca.crt" -CAkey "$ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days 3650 -sha256 -extfile "$out.ext" -out "$out.crt" 2>/dev/null
  rm -f "$out.csr" "$out.ext"
}

# shellcheck disable=SC2034 # used by the scripts that source this file
client_cert_ext='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth'

# client_subject USER [GROUP...]: openssl -subj for a Kubernetes client certificate (CN = user name,
# one O per group).
client_subject() {
  local s g
  s="/CN=$(subj_escape "$1")"
  shift
  for g in "$@"; do s+="/O=$(subj_escape "$g")"; done
  printf '%s' "$s"
}

# write_kubeconfig FILE SERVER CA_CRT CLIENT_PREFIX: a self-contained kubeconfig (certificates inlined).
write_kubeconfig() {
  local file=$1 server=$2 ca=$3 client=$4
  (
    umask 077
    cat >"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: tinycdn
    cluster:
      server: $server
      certificate-authority-data: $(base64 -w0 <"$ca")
users:
  - name: tinycdn
    user:
      client-certificate-data: $(base64 -w0 <"$client.crt")
      client-key-data: $(base64 -w0 <"$client.key")
contexts:
  - name: tinycdn
    context:
      cluster: tinycdn
      user: tinycdn
      namespace: default
current-context: tinycdn
EOF
  )
  mv -f "$file.tmp" "$file"
}

# Process helpers of up.sh and node.sh. The caller sets `pids` (the "NAME PID" file that down.sh reads)
# and `logs` (the log directory); `launching` tells the caller's exit trap which start is under way.

# start NAME CMD...: runs CMD in its own session (not tied to the caller's terminal or process group),
# output to $logs/NAME.log; records "NAME PID" in $pids.
start() {
  local name=$1
  shift
  local pidfile="${pids%/*}/.$name.pid"
  rm -f "$pidfile"
  [[ -f $logs/$name.log ]] && mv -f "$logs/$name.log" "$logs/$name.previous.log"
  launching="$name $pidfile"
  # shellcheck disable=SC2016 # $$ and $0 belong to the inner shell
  setsid bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$pidfile" "$@" \
    >"$logs/$name.log" 2>&1 </dev/null 3>&- &
  for _ in $(seq 100); do
    [[ -s $pidfile ]] && break
    sleep 0.05
  done
  [[ -s $pidfile ]] || die "$name did not start"
  echo "$name $(<"$pidfile")" >>"$pids"
  launching=""
  rm -f "$pidfile"
}

pid_of() { awk -v n="$1" '$1 == n {p = $2} END {print p}' "$pids"; }

alive() {
  local pid=$1 state
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $state != Z ]]
}

# wait_ready NAME TIMEOUT_S CHECK...: 0 when CHECK succeeds, 2 when the process died, 1 on timeout.
wait_ready() {
  local name=$1 timeout=$2
  shift 2
  local pid deadline=$(($(date +%s) + timeout))
  pid=$(pid_of "$name")
  while (($(date +%s) < deadline)); do
    "$@" >/dev/null 2>&1 && return 0
    alive "$pid" || return 2
    sleep 0.25
  done
  return 1
}
