#!/usr/bin/env bash
# Run before `npm test` (npm's pretest): the tests start a real Docker Distribution registry
# (docker-registry, with htpasswd from apache2-utils) on 127.0.0.1 and run promtool (prometheus).
# Installs the Debian packages that are missing when it can (root with apt-get), else says what to install.
set -euo pipefail
need=()
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v htpasswd >/dev/null || need+=(apache2-utils)
command -v promtool >/dev/null || need+=(prometheus)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing the Debian packages the tests need: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "the tests need these Debian packages: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
