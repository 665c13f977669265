#!/usr/bin/env bash
# `npm run down:local`: removes what `npm run up:local` set up, on this machine only:
#   1. pulumi destroy --stack local, then pulumi stack rm. The program retains namespaces, pull secrets and service
#      accounts on destroy (retainOnDelete), so this removes them from the stack, not from the cluster;
#   2. stops the local registry and removes its folder (storage, passwords, the project copy with the stack file);
#   3. releases up:local's hold on the local cluster, and stops it and removes its data when no one else uses it
#      (scripts/e2e/cluster.sh, cluster_release): the objects above and the Pulumi state go with it. While a
#      `npm run test:e2e` or a bench uses it, it stays up, and this says so; --force stops it anyway.
# The toolchain in ~/.cache/registry-access-e2e stays (the next up:local reuses it).
#
# Exit status: 0 done (also when nothing was running, or the cluster stays up for another user), 1 a step failed,
# 2 an unknown argument, 3 an up:local or down:local is running.
set -euo pipefail
LOCAL_COMMAND=down:local
# shellcheck source=scripts/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=scripts/e2e/cluster.sh
source "$LOCAL_ROOT/scripts/e2e/cluster.sh"
cd "$LOCAL_ROOT"
force=""
for arg in "$@"; do
  case "$arg" in
    --force) force=--force ;;
    *)
      say "unknown argument '$arg'; usage: npm run down:local [-- --force]"
      exit 2
      ;;
  esac
done
started=$SECONDS
take_lock

# 1. The stack, when the cluster answers and the project copy exists (otherwise step 3 removes the state anyway).
if api_ready && [[ -f "$LOCAL_PROJECT/Pulumi.$LOCAL_STACK.yaml" ]]; then
  # Reuses the running cluster and the built toolchain: starts nothing new. 7>&-: see up.sh.
  eval "$(bash scripts/e2e/env.sh 7>&- 2>/dev/null)"
  pl() { pulumi -C "$LOCAL_PROJECT" --non-interactive "$@" 7>&-; }
  if pl stack ls --json | node -e 'process.exit(JSON.parse(require("fs").readFileSync(0,"utf8")).some((s)=>s.name==="local")?0:1)'; then
    pl cancel --yes --stack "$LOCAL_STACK" >/dev/null 2>&1 || true
    echo "== pulumi destroy --yes --stack $LOCAL_STACK (namespaces, secrets and accounts are retained: handed back)"
    pl destroy --yes --stack "$LOCAL_STACK"
    pl stack rm --yes --stack "$LOCAL_STACK" >/dev/null
    say "removed the stack $LOCAL_STACK"
  fi
else
  say "no running cluster or no stack $LOCAL_STACK: nothing to destroy"
fi

# 2. The registry and the folder.
pid="$(registry_pid)"
if [[ -n "$pid" ]]; then
  registry_stop
  say "stopped the registry (pid $pid)"
fi
rm -rf "$LOCAL_DIR"
say "removed $LOCAL_DIR"

# 3. The cluster and its data (the Pulumi state included), unless someone else still uses it.
released=0
cluster_release up:local - "$force" || released=$?
if [[ $released -eq 3 ]]; then
  say "the cluster stays up for them; the stack $LOCAL_STACK is gone from it"
elif [[ $released -ne 0 ]]; then
  exit "$released"
fi

say "done in $((SECONDS - started)) s. The toolchain stays in ~/.cache/registry-access-e2e; npm run up:local starts again."
