#!/usr/bin/env bash
# The benchmark's references that come from Debian rather than npm: Twisted's own echo
# server for the `twisted` row (python3-twisted, for /usr/bin/python3) and OpenSSL's headers
# for the load generator's TLS mode (libssl-dev). Installs only what is missing.
set -euo pipefail
need=()
/usr/bin/python3 -c "import twisted" 2>/dev/null || need+=(python3-twisted)
dpkg -s libssl-dev >/dev/null 2>&1 || need+=(libssl-dev)
if [ ${#need[@]} -eq 0 ]; then
  echo "bench:setup: python3-twisted and libssl-dev are installed"
  exit 0
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
echo "bench:setup: installing ${need[*]} with apt-get"
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${need[@]}"
