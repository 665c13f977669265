#!/usr/bin/env bash
# `npm run up:local`: the program's main job, `pulumi up`, on this machine, then a check that pulls work.
#
#   1. builds or reuses the toolchain and starts or reuses the local cluster (scripts/e2e/env.sh);
#   2. starts the local registry (Debian's docker-registry, htpasswd) on 127.0.0.1:15000 with a generated password,
#      and puts one small image into it through the registry API: local/hello:latest;
#   3. sets up namespace local-legacy the way the kubectl script did, for the program to adopt;
#   4. creates the stack `local` on the file backend (when it does not exist) and sets the registry's password
#      with `pulumi config set --secret --path`;
#   5. pulumi up --yes --refresh --stack local, with Pulumi's own progress;
#   6. npm run verify -- --stack local, and a pull of the image with each namespace's pull secret.
#
# Run it again and it reuses all of it and changes nothing; most of its time is `pulumi up` type-checking the
# program for the preview and again for the update. `npm run down:local` removes it all. Nothing it starts listens
# beyond 127.0.0.1, and nothing it runs connects beyond it, except what sets the machine up: a cold toolchain build
# (Go modules, see docs/testing.md) and, when docker-registry or htpasswd is missing, apt-get.
#
# Exit status: 0 everything passed, 1 a step failed (it says which), 3 another up:local or down:local is running.
set -euo pipefail
LOCAL_COMMAND=up:local
# shellcheck source=scripts/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$LOCAL_ROOT"
started=$SECONDS
step="prerequisites"
timings=()
begin() {
  step="$1"
  step_started=$SECONDS
  echo
  echo "== $1"
}
done_step() { timings+=("$1 $((SECONDS - step_started)) s"); }
trap 'rc=$?; [[ $rc -eq 0 || $rc -eq 3 ]] || say "FAILED at \"$step\" after $((SECONDS - started)) s (exit $rc)"' EXIT

if ! command -v flock >/dev/null; then
  say "flock is missing: install util-linux"
  exit 1
fi
take_lock

# --- prerequisites -------------------------------------------------------------------------------------------
if [[ ! -x node_modules/.bin/ts-node ]]; then
  say "node_modules is missing: run npm ci first"
  exit 1
fi
need=()
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v htpasswd >/dev/null || need+=(apache2-utils)
command -v curl >/dev/null || need+=(curl)
if [[ ${#need[@]} -gt 0 ]]; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    say "installing the Debian packages the local registry needs: ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    say "the local registry needs these Debian packages: sudo apt-get install ${need[*]}"
    exit 1
  fi
fi
ts_node=("$LOCAL_ROOT/node_modules/.bin/ts-node" --transpile-only)
# The registry's port before anything is started or stopped.
registry_port_check

# --- 1. toolchain and cluster --------------------------------------------------------------------------------
begin "1/6 toolchain and cluster (scripts/e2e/env.sh)"
# 7>&-: a cluster it starts outlives this script and must not hold its lock. The stack is a user of the cluster
# with no process: it holds the cluster until down:local releases it (scripts/e2e/cluster.sh).
env_lines="$(REGISTRY_ACCESS_E2E_USER=up:local REGISTRY_ACCESS_E2E_USER_PID=- bash scripts/e2e/env.sh 7>&-)"
eval "$env_lines"
done_step "toolchain and cluster"

# --- 2. the registry and its image ---------------------------------------------------------------------------
begin "2/6 local registry on $LOCAL_REGISTRY"
mkdir -p "$LOCAL_REGISTRY_DIR"
chmod 700 "$LOCAL_DIR" "$LOCAL_REGISTRY_DIR"
new_password() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }
for user in "$LOCAL_PULL_USER" "$LOCAL_PUSH_USER"; do
  if [[ ! -s "$LOCAL_REGISTRY_DIR/$user.password" ]]; then
    (umask 077 && new_password >"$LOCAL_REGISTRY_DIR/$user.password")
  fi
done
[[ -s "$LOCAL_REGISTRY_DIR/http.secret" ]] || (umask 077 && new_password >"$LOCAL_REGISTRY_DIR/http.secret")

# v2_status [USER]: the status of GET /v2/, as USER (its password from its file, through curl's stdin) or anonymous.
v2_status() {
  local auth=()
  [[ $# -eq 0 ]] || auth=(-K -)
  printf 'user = "%s:%s"\n' "${1:-}" "$(cat "$LOCAL_REGISTRY_DIR/${1:-none}.password" 2>/dev/null)" |
    curl -s -o /dev/null -w '%{http_code}' --max-time 2 --noproxy '*' "${auth[@]}" "http://$LOCAL_REGISTRY/v2/" ||
    true
}

# Again, now that the cluster is up (the port may have been taken since): before the registry is touched.
registry_port_check
pid="$(registry_pid)"
if [[ -n "$pid" ]]; then
  if [[ "$(v2_status)" == 401 && "$(v2_status "$LOCAL_PULL_USER")" == 200 && "$(v2_status "$LOCAL_PUSH_USER")" == 200 ]]; then
    say "reusing the registry (pid $pid, data in $LOCAL_REGISTRY_DIR)"
  elif ! grep -qx "  addr: $LOCAL_REGISTRY" "$LOCAL_REGISTRY_DIR/config.yml"; then
    say "moving the registry (pid $pid) to $LOCAL_REGISTRY: restarting it"
    registry_stop
    pid=""
  else
    say "the registry left by an earlier run (pid $pid) does not answer as it should: restarting it"
    registry_stop
    pid=""
  fi
fi
if [[ -z "$pid" ]]; then
  : >"$LOCAL_REGISTRY_DIR/htpasswd.new"
  for user in "$LOCAL_PULL_USER" "$LOCAL_PUSH_USER"; do
    # -i: the password from stdin, never the command line; -B: bcrypt.
    htpasswd -niB "$user" <"$LOCAL_REGISTRY_DIR/$user.password" | sed '/^$/d' >>"$LOCAL_REGISTRY_DIR/htpasswd.new"
  done
  mv "$LOCAL_REGISTRY_DIR/htpasswd.new" "$LOCAL_REGISTRY_DIR/htpasswd"
  chmod 600 "$LOCAL_REGISTRY_DIR/htpasswd"
  cat >"$LOCAL_REGISTRY_DIR/config.yml" <<EOF
# Written by scripts/local/up.sh. The log is JSON: per request "authorized request" (htpasswd accepted it) and
# "response completed", each with its User-Agent; the pull check names the namespace in its User-Agent.
version: 0.1
log:
  level: info
  formatter: json
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $LOCAL_REGISTRY_DIR/data
  delete:
    enabled: true
http:
  addr: $LOCAL_REGISTRY
  secret: $(cat "$LOCAL_REGISTRY_DIR/http.secret")
auth:
  htpasswd:
    realm: registry-access-local
    path: $LOCAL_REGISTRY_DIR/htpasswd
EOF
  chmod 600 "$LOCAL_REGISTRY_DIR/config.yml"
  # 7>&-: the registry outlives this script and must not hold its lock.
  setsid docker-registry serve "$LOCAL_REGISTRY_DIR/config.yml" >>"$LOCAL_REGISTRY_DIR/registry.log" 2>&1 </dev/null 7>&- &
  pid=$!
  echo "$pid" >"$LOCAL_REGISTRY_DIR/registry.pid"
  for _ in $(seq 1 60); do
    [[ "$(v2_status)" == 401 ]] && break
    if ! kill -0 "$pid" 2>/dev/null; then
      say "docker-registry exited at start; the end of its log ($LOCAL_REGISTRY_DIR/registry.log):"
      tail -n 5 "$LOCAL_REGISTRY_DIR/registry.log" >&2
      exit 1
    fi
    sleep 0.25
  done
  if [[ "$(v2_status "$LOCAL_PULL_USER")" != 200 ]]; then
    say "the registry (pid $pid) did not accept $LOCAL_PULL_USER within 15 s; see $LOCAL_REGISTRY_DIR/registry.log"
    exit 1
  fi
  say "started the registry (pid $pid) on http://$LOCAL_REGISTRY, data in $LOCAL_REGISTRY_DIR"
fi
"${ts_node[@]}" scripts/local/registry.ts push --server "$LOCAL_REGISTRY" \
  --repository "$LOCAL_IMAGE_REPOSITORY" --tag "$LOCAL_IMAGE_TAG" \
  --username "$LOCAL_PUSH_USER" --password-file "$LOCAL_REGISTRY_DIR/$LOCAL_PUSH_USER.password" \
  --out "$LOCAL_DIR/image.json"
done_step "registry and image"

# --- 3. the kubectl-era namespace ----------------------------------------------------------------------------
begin "3/6 namespace local-legacy as the kubectl script left it"
legacy=local-legacy
legacy_done=()
if ! kubectl get namespace "$legacy" >/dev/null 2>&1; then
  kubectl create namespace "$legacy"
  legacy_done+=("namespace")
fi
for _ in $(seq 1 120); do
  kubectl -n "$legacy" get serviceaccount default >/dev/null 2>&1 && break
  sleep 0.5
done
# Each piece only when missing: after a crash part way, the rest is added; once the program manages the
# namespace, none is missing and this step leaves it alone.
if ! kubectl -n "$legacy" get secret regcred >/dev/null 2>&1; then
  # The password the script once set, long since changed at the registry: the program's up replaces it.
  kubectl -n "$legacy" create secret docker-registry regcred --docker-server="$LOCAL_REGISTRY" \
    --docker-username="$LOCAL_PULL_USER" --docker-password="the-old-password-of-the-kubectl-script"
  legacy_done+=("secret regcred with an old password")
fi
if ! kubectl -n "$legacy" get secret vendor-pull >/dev/null 2>&1; then
  # Another team's pull secret, for a registry no one contacts here (.invalid never resolves).
  kubectl -n "$legacy" create secret docker-registry vendor-pull --docker-server=registry.vendor.invalid \
    --docker-username=vendor --docker-password=not-used-here
  legacy_done+=("secret vendor-pull")
fi
if [[ -z "$(kubectl -n "$legacy" get serviceaccount default -o jsonpath='{.imagePullSecrets}')" ]]; then
  kubectl -n "$legacy" patch serviceaccount default \
    -p '{"imagePullSecrets":[{"name":"regcred"},{"name":"vendor-pull"}]}'
  legacy_done+=("default lists regcred, vendor-pull")
fi
if [[ ${#legacy_done[@]} -eq 0 ]]; then
  say "$legacy is already in place (from an earlier run)"
fi
done_step "kubectl-era namespace"

# --- 4. the stack --------------------------------------------------------------------------------------------
begin "4/6 stack $LOCAL_STACK on the file backend ${PULUMI_BACKEND_URL}"
mkdir -p "$LOCAL_PROJECT"
# The program is this clone's (links); only the stack file is a copy, which takes the encrypted password.
for f in Pulumi.yaml index.ts components loader package.json tsconfig.json node_modules; do
  ln -sfn "$LOCAL_ROOT/$f" "$LOCAL_PROJECT/$f"
done
# 7>&-: Pulumi's plugins of a killed run outlive it, and must not hold the lock.
pl() { pulumi -C "$LOCAL_PROJECT" --non-interactive "$@" 7>&-; }
stack_file="$LOCAL_PROJECT/Pulumi.$LOCAL_STACK.yaml"
stack_exists=""
if pl stack ls --json | node -e 'process.exit(JSON.parse(require("fs").readFileSync(0,"utf8")).some((s)=>s.name==="local")?0:1)'; then
  stack_exists=1
fi
salt=""
if [[ -n "$stack_exists" ]]; then
  # The key of the stack's secrets: the salt its state recorded at `stack init`.
  salt="$(pl stack export --stack "$LOCAL_STACK" | node -e \
    'const s=JSON.parse(require("fs").readFileSync(0,"utf8")).deployment?.secrets_providers?.state?.salt;if(s)process.stdout.write(s)')"
  if [[ -z "$salt" ]]; then
    say "the stack $LOCAL_STACK records no key for its secrets: removing it and creating it again" \
      "(the cluster keeps every object, and the next up adopts them)"
    pl stack rm --force --yes --stack "$LOCAL_STACK" >/dev/null
    stack_exists=""
  fi
fi
# A fresh copy of the committed file on every run, so that edits to Pulumi.local.yaml take effect.
{
  cat Pulumi.local.yaml
  [[ -z "$salt" ]] || echo "encryptionsalt: $salt"
} >"$stack_file"
if [[ -z "$stack_exists" ]]; then
  pl stack init "$LOCAL_STACK" >/dev/null
  say "created the stack $LOCAL_STACK"
else
  # A killed up leaves the file backend's lock on the stack behind, and its plugins running; no other up of this
  # stack can be running (we hold the lock).
  stop_orphans
  if [[ -n "$(ls -A "${PULUMI_BACKEND_URL#file://}/.pulumi/locks/organization/registry-access/$LOCAL_STACK" 2>/dev/null)" ]]; then
    pl cancel --yes --stack "$LOCAL_STACK" >/dev/null
    say "removed the lock a killed pulumi up left on the stack (pulumi cancel)"
  fi
  say "reusing the stack $LOCAL_STACK"
fi
if [[ "$LOCAL_REGISTRY_PORT" != 15000 ]]; then
  pl config set --stack "$LOCAL_STACK" --path "registries.local.server" "$LOCAL_REGISTRY"
fi
# The password from stdin: never on a command line, in shell history or in the committed file.
pl config set --stack "$LOCAL_STACK" --secret --path 'registries.local.password' \
  <"$LOCAL_REGISTRY_DIR/$LOCAL_PULL_USER.password"
say "set registries.local.password with pulumi config set --secret --path (encrypted in $stack_file)"
# What exists before the up, to say afterwards what it created and what it adopted.
managed_before="$(pl stack output namespaces --json --stack "$LOCAL_STACK" 2>/dev/null |
  node -e 'try{process.stdout.write(Object.keys(JSON.parse(require("fs").readFileSync(0,"utf8"))).join(" "))}catch{}')" || true
existing_before=" $(kubectl get namespaces -o jsonpath='{.items[*].metadata.name}') "
done_step "stack"

# --- 5. pulumi up --------------------------------------------------------------------------------------------
begin "5/6 pulumi up --yes --refresh --stack $LOCAL_STACK"
pl up --yes --refresh --stack "$LOCAL_STACK"
done_step "pulumi up"

# --- 6. verify and pull --------------------------------------------------------------------------------------
begin "6/6 npm run verify -- --stack $LOCAL_STACK, and a pull of $LOCAL_REGISTRY/$LOCAL_IMAGE_REPOSITORY:$LOCAL_IMAGE_TAG per namespace"
set +e
npm run -s verify -- --stack "$LOCAL_STACK" --project-dir "$LOCAL_PROJECT" | tee "$LOCAL_DIR/verify.txt"
verified=${PIPESTATUS[0]}
echo
"${ts_node[@]}" scripts/local/pullCheck.ts --stack "$LOCAL_STACK" --project-dir "$LOCAL_PROJECT" \
  --image-file "$LOCAL_DIR/image.json" --out "$LOCAL_DIR/pull-checks.json"
pulled=$?
set -e
done_step "verify and pull"
if [[ $verified -ne 0 || $pulled -ne 0 ]]; then
  step="6/6 verify (exit $verified) and pull check (exit $pulled)"
  exit 1
fi

# --- summary -------------------------------------------------------------------------------------------------
echo
echo "== up:local: done in $((SECONDS - started)) s ($(IFS=,; echo "${timings[*]}" | sed 's/,/, /g'))"
echo
echo "The stack $LOCAL_STACK, context e2e (https://127.0.0.1:16443), registry http://$LOCAL_REGISTRY:"
namespaces="$(pl stack output namespaces --json --stack "$LOCAL_STACK" |
  node -e 'process.stdout.write(Object.keys(JSON.parse(require("fs").readFileSync(0,"utf8"))).join(" "))')"
for ns in $namespaces; do
  if [[ " $managed_before " == *" $ns "* ]]; then
    how="managed since an earlier run"
  elif [[ "$ns" == "$legacy" && ${#legacy_done[@]} -gt 0 ]]; then
    how="adopted: the kubectl-era setup of step 3, its regcred updated in place to the registry's password"
  elif [[ "$existing_before" == *" $ns "* ]]; then
    how="adopted: it was in the cluster already, taken over in place"
  else
    how="created"
  fi
  accounts="$(kubectl -n "$ns" get serviceaccounts -o \
    jsonpath='{range .items[*]}{.metadata.name} ({range .imagePullSecrets[*]}{.name}, {end}); {end}' |
    sed 's/, )/)/g; s/; $//')"
  printf '  %-13s %s\n  %-13s secret regcred; service accounts: %s\n' "$ns" "$how" "" "$accounts"
done
cat <<EOF

State: the Pulumi file backend ${PULUMI_BACKEND_URL#file://} (passphrase in the env line below); the stack file
with the encrypted password: $stack_file. Registry: $LOCAL_REGISTRY_DIR (log registry.log, passwords *.password).
Results: $LOCAL_DIR/verify.txt, $LOCAL_DIR/pull-checks.json.

Inspect it:
  eval "\$(npm run -s e2e:env)"
  kubectl get namespaces local-apps local-legacy local-team --show-labels
  kubectl -n local-legacy get secrets,serviceaccounts
  kubectl -n local-team get serviceaccounts -o yaml
  pulumi -C $LOCAL_PROJECT stack --stack $LOCAL_STACK
  pulumi -C $LOCAL_PROJECT stack output namespaces --stack $LOCAL_STACK
Run it again (reuses everything): npm run up:local
Tear it down (the stack, the registry, the cluster and their data): npm run down:local
EOF
