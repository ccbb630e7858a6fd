#!/usr/bin/env bash
# Installs the Debian packages scoresync needs to build and test, when missing.
# Safe to run repeatedly: it only calls apt-get when something is absent.
set -euo pipefail

pkgs=(cmake gcc make pkg-config curl ca-certificates
      libcurl4-openssl-dev libjson-c-dev libpq-dev libssl-dev libyaml-dev
      libmicrohttpd-dev libcmocka-dev postgresql postgresql-client
      python3-yaml)  # python3-yaml: tests/integration/test_deploy.sh parses the manifests

missing=()
for p in "${pkgs[@]}"; do
  # A -dev package counts as present when pkg-config already finds its library
  # (e.g. libcurl4-gnutls-dev instead of the openssl flavour).
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' && continue
  case "$p" in
    libcurl4-openssl-dev) pkg-config --exists libcurl 2>/dev/null && continue ;;
  esac
  missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "scoresync: installing missing packages: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "scoresync: not root and no sudo; install these packages first: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
