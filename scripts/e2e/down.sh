#!/usr/bin/env bash
# `npm run e2e:down [-- --force]`: stops the local cluster of `npm run e2e:env` and deletes its data, once no one
# uses it: while a user is left (up:local's stack, a running `npm run test:e2e` or bench, see cluster.sh) it names
# them and exits 3, unless given --force. Touches nothing else.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/e2e/cluster.sh
source "$here/cluster.sh"
force=""
for arg in "$@"; do
  case "$arg" in
    --force) force=--force ;;
    *)
      log "e2e:down: unknown argument '$arg'; usage: npm run e2e:down [-- --force]"
      exit 2
      ;;
  esac
done
cluster_release "" "" "$force"
