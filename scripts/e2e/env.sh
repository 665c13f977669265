#!/usr/bin/env bash
# `npm run -s e2e:env`: builds the toolchain if it is missing, starts (or reuses) a local cluster on 127.0.0.1 —
# etcd, kube-apiserver and kube-controller-manager, with generated certificates, a static admin token and RBAC —
# and prints the `export` lines of a shell in which `pulumi` and `kubectl` work against it:
#
#   eval "$(npm run -s e2e:env)"
#
# Progress goes to stderr; stdout has only the export lines. `npm run e2e:down` stops the cluster and deletes its
# data. REGISTRY_ACCESS_E2E_DIR moves the cluster's folder (default: $TMPDIR/registry-access-e2e).
# REGISTRY_ACCESS_E2E_USER=NAME with REGISTRY_ACCESS_E2E_USER_PID=PID records a user of the cluster (cluster.sh), which
# e2e:down and down:local then leave running until PID ends: the e2e harness sets them; by hand, PID $$ of your shell.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/e2e/cluster.sh
source "$here/cluster.sh"
# shellcheck source=scripts/e2e/pulumi-env.sh
source "$here/pulumi-env.sh"

log "toolchain: ~/.cache/registry-access-e2e (first build: see docs/testing.md)"
tool_path="$(bash "$here/toolchain.sh")"
export PATH="$tool_path:$PATH"
cluster_up

# The file backend's folder must exist before `pulumi stack init` or `login` ("unable to open bucket").
mkdir -p "$E2E_DIR/pulumi-state"
q() { printf '%q' "$1"; }
echo "export PATH=$(q "$tool_path"):\"\$PATH\""
echo "export KUBECONFIG=$(q "$E2E_DIR/kubeconfig")"
echo "export PULUMI_BACKEND_URL=$(q "file://$E2E_DIR/pulumi-state")"
echo "export PULUMI_CONFIG_PASSPHRASE=$(q "$E2E_PASSPHRASE")"
for var in $PULUMI_RUN_VARS; do
  echo "export $var=$(q "${!var}")"
done
