#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# setup.sh — install everything liboffheap needs on a fresh Debian 12
# machine: the build, the tests, the real programs the tests run under the
# preload, and the peers the benchmarks compare against.  Idempotent.
set -euo pipefail

pkgs=(
  build-essential clang meson ninja-build pkg-config cmake
  libjemalloc-dev libunwind-dev libdw-dev libcriterion-dev libclang-rt-14-dev valgrind
  python3 git sqlite3 perl coreutils curl strace
  libmimalloc-dev libtcmalloc-minimal4 libcjson-dev libjansson-dev
  libevent-dev libmicrohttpd-dev libuv1-dev
  gnuplot-nox hyperfine wrk
  # tests/battery: one library per program (each is built only when found)
  libxml2-dev libxslt1-dev libexpat1-dev libssl-dev libgnutls28-dev libgcrypt20-dev
  libsodium-dev libicu-dev libglib2.0-dev libprotobuf-dev protobuf-compiler
  libyaml-cpp-dev libyaml-dev libpcre2-dev libre2-dev libboost-regex-dev zlib1g-dev
  libzstd-dev liblz4-dev libarchive-dev libsqlite3-dev libcurl4-openssl-dev libevent-dev
  nlohmann-json3-dev libfmt-dev libmsgpack-dev uuid-dev libpng-dev liblmdb-dev
  libleveldb-dev libjson-c-dev libpugixml-dev libtinyxml2-dev libsnappy-dev
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "setup: all ${#pkgs[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
