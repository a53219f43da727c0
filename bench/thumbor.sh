#!/usr/bin/env bash
# thumbor for bench/peers.ts: the releases pinned in bench/thumbor-requirements.txt, from PyPI
# only, in a venv at ~/.cache/tinycdn/bench/thumbor-venv. Reinstalled when the requirements
# change; otherwise does nothing. Prints the path of the thumbor executable.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
requirements=$here/thumbor-requirements.txt
venv=${XDG_CACHE_HOME:-$HOME/.cache}/tinycdn/bench/thumbor-venv
stamp=$venv/requirements.installed

if [ -x "$venv/bin/thumbor" ] && cmp -s "$requirements" "$stamp"; then
  echo "$venv/bin/thumbor"
  exit 0
fi

# Debian ships venv and ensurepip apart from python3, in python3-venv.
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=(); elif sudo -n true 2>/dev/null; then SUDO=(sudo -n); else
    echo "thumbor.sh: python3's venv module is missing: apt-get install -y python3-venv (as root)" >&2
    exit 1
  fi
  echo "thumbor.sh: installing python3-venv (Debian package)" >&2
  apt_get() { DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=300 "$@"; }
  apt_get install -y --no-install-recommends python3-venv >/dev/null 2>&1 ||
    { apt_get update >/dev/null && apt_get install -y --no-install-recommends python3-venv >/dev/null; }
fi

echo "thumbor.sh: installing thumbor from PyPI into $venv" >&2
rm -rf "$venv"
python3 -m venv "$venv"
# PyPI and nothing else: drop local wheel directories and extra indexes the environment may add.
env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL -u PIP_NO_INDEX \
  "$venv/bin/pip" install --quiet --no-input --disable-pip-version-check \
  --index-url https://pypi.org/simple -r "$requirements" >&2
"$venv/bin/thumbor" --version >&2
cp "$requirements" "$stamp"
echo "$venv/bin/thumbor"
