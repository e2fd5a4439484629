#!/usr/bin/env bash
# Installs every Debian package that fastlane's build, tests, benchmarks and demo need.
# Does nothing when they are all present. Must run as root (or via sudo) to install.
set -euo pipefail

packages=(
  build-essential pkg-config clang libclang-rt-14-dev
  default-libmysqlclient-dev liblmdb-dev lmdb-utils libhiredis-dev libmemcached-dev
  libev-dev libcmocka-dev zlib1g-dev libinih-dev libssl-dev libzstd-dev libsystemd-dev
  mariadb-server mariadb-client redis-server redis-tools memcached libmemcached-tools sasl2-bin
  iproute2 valgrind hyperfine procps openssl systemd curl python3 sysbench
  man-db groff-base debhelper dpkg-dev fakeroot clang-format
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packaged services must not run on their default ports: the harness starts private ones.
for svc in mariadb redis-server memcached; do
  $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
