#!/usr/bin/env bash
# Writes a kubeconfig for a non-admin identity of the cluster in DIR: a client certificate signed by the
# cluster CA (DIR/pki/ca.*) with CN=USER and one O per GROUP, which the API server authenticates as user
# USER in those groups (plus system:authenticated). Prints the kubeconfig's path.
#
#   test/cluster/mint-user.sh DIR USER [GROUP...]
#
# For the operator's service account, authenticate as its user name with its groups, so RBAC bindings to
# the ServiceAccount subject apply:
#   test/cluster/mint-user.sh DIR system:serviceaccount:tinycdn:operator \
#     system:serviceaccounts system:serviceaccounts:tinycdn
# Written to DIR/users/<USER, characters other than A-Za-z0-9._@+- as '_'>.kubeconfig (key and
# certificate beside it).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"

(($# >= 2)) || die "usage: mint-user.sh DIR USER [GROUP...]"
[[ -d $1 ]] || die "no such directory: $1"
dir=$(cd "$1" && pwd)
user=$2
shift 2
[[ -n $user ]] || die "empty user name"
[[ -f $dir/env && -f $dir/pki/ca.key ]] || die "no running cluster in $dir (run up.sh first)"
server=$(env_value "$dir/env" TINYCDN_APISERVER)

name=$(printf '%s' "$user" | tr -c 'A-Za-z0-9._@+-' '_')
mkdir -p "$dir/users"
out=$dir/users/$name
issue_cert "$out" "$(client_subject "$user" "$@")" "$client_cert_ext" "$dir/pki/ca"
write_kubeconfig "$out.kubeconfig" "$server" "$dir/pki/ca.crt" "$out"
echo "$out.kubeconfig"
