#!/usr/bin/env bash
# `npm run e2e:down`: stops the local cluster of `npm run e2e:env` and deletes its data. Touches nothing else.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/e2e/cluster.sh
source "$here/cluster.sh"
cluster_down
