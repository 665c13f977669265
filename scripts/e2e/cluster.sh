#!/usr/bin/env bash
# The local cluster of the end-to-end tests, sourced by env.sh and down.sh. Everything listens on 127.0.0.1 only:
#   etcd             client 127.0.0.1:23790, peer 127.0.0.1:23800 (not etcd's defaults, to leave a real one alone)
#   kube-apiserver   https://127.0.0.1:16443, TLS from a generated CA, a static admin token, RBAC
#   kube-controller-manager   creates each namespace's `default` service account; deletes namespaces
# No scheduler and no kubelet: pods are admitted but never run. Nothing in the program waits on pods.
# Data, certificates, logs and pid files live in $E2E_DIR.
#
# Several runs share the cluster (issue 18.5): up:local's stack, a `npm run test:e2e`, a bench. Each is a user, a file
# in $E2E_DIR/users named NAME.PID that holds "NAME PID START", START being the process's start time (so a reused
# pid is not taken for it). cluster_up adds one when REGISTRY_ACCESS_E2E_USER (a name) and
# REGISTRY_ACCESS_E2E_USER_PID are set; PID "-" is a user with no process, held until released (up:local's, which
# down:local releases). A user whose process is gone is stale and ignored. cluster_release stops the cluster only
# when no other user is left: `npm run e2e:down` refuses while one is (exit 3, naming it) unless given --force.

E2E_DIR="${REGISTRY_ACCESS_E2E_DIR:-${TMPDIR:-/tmp}/registry-access-e2e}"
E2E_PASSPHRASE="registry-access-e2e"
E2E_API_PORT=16443
E2E_ETCD_PORT=23790
E2E_ETCD_PEER_PORT=23800
E2E_KCM_PORT=16257
E2E_USERS="$E2E_DIR/users"

log() { echo "e2e: $*" >&2; }

running() { [[ -f "$E2E_DIR/$1.pid" ]] && kill -0 "$(cat "$E2E_DIR/$1.pid")" 2>/dev/null; }

api_ready() {
  [[ -f "$E2E_DIR/kubeconfig" ]] &&
    curl -sf --max-time 2 --cacert "$E2E_DIR/pki/ca.crt" \
      -H "Authorization: Bearer $(cat "$E2E_DIR/admin.token" 2>/dev/null)" \
      "https://127.0.0.1:$E2E_API_PORT/readyz" >/dev/null 2>&1
}

# start NAME COMMAND...: runs it in its own session, in the background, logging to $E2E_DIR/NAME.log.
start() {
  local name=$1
  shift
  # 8>&-: the cluster's lock (cluster_lock) stays with the scripts, not with the servers that outlive them.
  setsid "$@" >"$E2E_DIR/$name.log" 2>&1 </dev/null 8>&- &
  echo $! >"$E2E_DIR/$name.pid"
}

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

certificates() {
  local pki="$E2E_DIR/pki"
  [[ -f "$pki/sa.pub" ]] && return
  mkdir -p "$pki"
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj "/CN=registry-access-e2e-ca" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj "/CN=kube-apiserver" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n' >apiserver.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt -days 3650 \
      -extfile apiserver.ext 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$E2E_DIR/admin.token"
  echo "$(cat "$E2E_DIR/admin.token"),admin,admin,\"system:masters\"" >"$E2E_DIR/tokens.csv"
  chmod 600 "$E2E_DIR/admin.token" "$E2E_DIR/tokens.csv" "$pki"/*.key
}

kubeconfig() {
  local file=$1 context=$2
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: $context
    cluster:
      server: https://127.0.0.1:$E2E_API_PORT
      certificate-authority: $E2E_DIR/pki/ca.crt
users:
  - name: $context-admin
    user:
      token: $(cat "$E2E_DIR/admin.token")
contexts:
  - name: $context
    context:
      cluster: $context
      user: $context-admin
current-context: $context
EOF
  chmod 600 "$file"
}

# cluster_lock: takes $E2E_DIR/.lock on fd 8. A cluster_down that ran meanwhile removed the folder with the file
# that was waited on; then the new file is locked, so that two runs never start the cluster side by side.
cluster_lock() {
  while true; do
    mkdir -p "$E2E_DIR"
    exec 8>>"$E2E_DIR/.lock"
    flock 8
    [[ "$E2E_DIR/.lock" -ef /dev/fd/8 ]] && return
    exec 8>&-
  done
}

# proc_start PID: the start time of the process (field 22 of /proc/PID/stat, after the command name in parentheses).
proc_start() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  # shellcheck disable=SC2086
  set -- $stat
  echo "${20}"
}

# cluster_join NAME PID: records NAME (with its process PID, or "-") as a user of the cluster.
cluster_join() {
  local start=-
  if [[ "$2" != - ]]; then
    start="$(proc_start "$2")" || {
      log "cluster_join: no process $2 for $1"
      return 1
    }
  fi
  mkdir -p "$E2E_USERS"
  echo "$1 $2 $start" >"$E2E_USERS/$1.$2"
}

# cluster_leave NAME PID: NAME, with PID, no longer uses the cluster.
cluster_leave() { rm -f "$E2E_USERS/$1.$2"; }

# cluster_users: one line per user whose process still runs ("-" ones always), as NAME PID; removes stale ones.
cluster_users() {
  local f name pid start
  for f in "$E2E_USERS"/*; do
    [[ -f "$f" ]] || continue
    read -r name pid start <"$f" || true
    if [[ "$pid" == - ]] || [[ -n "$pid" && "$(proc_start "$pid")" == "$start" ]]; then
      echo "$name $pid"
    else
      rm -f "$f"
    fi
  done
}

# describe_user NAME PID: how a user is named in messages.
describe_user() {
  if [[ "$2" == - ]]; then
    echo "$1 (no process: held until it is released; up:local's by npm run down:local)"
  else
    echo "$1, pid $2: $(tr '\0\n' '  ' 2>/dev/null <"/proc/$2/cmdline" | cut -c1-100 | sed 's/ $//')"
  fi
}

# cluster_release NAME PID [--force]: NAME (PID) leaves (NAME empty: no one), then the cluster stops if no other
# user is left, or with --force. Returns 3, naming the users, when it stays up because of them.
cluster_release() {
  local name=$1 pid=$2 force=${3:-} users
  if [[ ! -d "$E2E_DIR" ]]; then
    log "no cluster in $E2E_DIR: nothing to stop"
    return 0
  fi
  cluster_lock
  [[ -z "$name" ]] || cluster_leave "$name" "$pid"
  users="$(cluster_users)"
  if [[ -n "$users" ]]; then
    if [[ "$force" != --force ]]; then
      log "the cluster in $E2E_DIR stays up: it is in use by"
      while read -r name pid; do log "  $(describe_user "$name" "$pid")"; done <<<"$users"
      log "It stops when the last of them leaves (npm run e2e:down then); to stop it now, breaking their runs:" \
        "npm run e2e:down -- --force"
      flock -u 8
      return 3
    fi
    log "stopping the cluster although it is in use (--force) by"
    while read -r name pid; do log "  $(describe_user "$name" "$pid")"; done <<<"$users"
  fi
  cluster_down
}

# cluster_up: starts what is not running and waits until the API server is ready and `default` accounts appear.
# With REGISTRY_ACCESS_E2E_USER and REGISTRY_ACCESS_E2E_USER_PID set, records that user (cluster_join), under the
# lock, so that no cluster_release can stop the cluster between its start and its use.
cluster_up() {
  cluster_lock
  if [[ -n "${REGISTRY_ACCESS_E2E_USER:-}" ]]; then
    cluster_join "$REGISTRY_ACCESS_E2E_USER" "${REGISTRY_ACCESS_E2E_USER_PID:?set it to the pid of the process that uses the cluster, or -}"
  fi
  if running etcd && running kube-apiserver && running kube-controller-manager && api_ready; then
    log "reusing the cluster in $E2E_DIR"
    flock -u 8
    return
  fi
  certificates
  kubeconfig "$E2E_DIR/kubeconfig" e2e
  local t0=$SECONDS
  if ! running etcd; then
    for p in $E2E_ETCD_PORT $E2E_ETCD_PEER_PORT; do
      if port_taken "$p"; then
        log "port $p on 127.0.0.1 is taken by a process that is not this cluster's etcd: stop it, or run npm run e2e:down"
        exit 1
      fi
    done
    start etcd etcd --name e2e --data-dir "$E2E_DIR/etcd" \
      --listen-client-urls "http://127.0.0.1:$E2E_ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$E2E_ETCD_PORT" \
      --listen-peer-urls "http://127.0.0.1:$E2E_ETCD_PEER_PORT" \
      --initial-advertise-peer-urls "http://127.0.0.1:$E2E_ETCD_PEER_PORT" \
      --initial-cluster "e2e=http://127.0.0.1:$E2E_ETCD_PEER_PORT" \
      --unsafe-no-fsync --quota-backend-bytes=1073741824 --log-level=warn
  fi
  if ! running kube-apiserver; then
    if port_taken $E2E_API_PORT; then
      log "port $E2E_API_PORT on 127.0.0.1 is taken by a process that is not this cluster's API server: stop it, or run npm run e2e:down"
      exit 1
    fi
    local pki="$E2E_DIR/pki"
    start kube-apiserver kube-apiserver \
      --etcd-servers="http://127.0.0.1:$E2E_ETCD_PORT" \
      --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port=$E2E_API_PORT \
      --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" --client-ca-file="$pki/ca.crt" \
      --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$pki/sa.pub" \
      --service-account-signing-key-file="$pki/sa.key" --service-cluster-ip-range=10.0.0.0/24 \
      --token-auth-file="$E2E_DIR/tokens.csv" --authorization-mode=Node,RBAC \
      --profiling=false --enable-priority-and-fairness=false
  fi
  local i
  for i in $(seq 1 240); do
    api_ready && break
    if ! running kube-apiserver || ! running etcd; then
      log "the API server or etcd stopped; the end of its log:"
      tail -n 20 "$E2E_DIR/kube-apiserver.log" "$E2E_DIR/etcd.log" >&2
      exit 1
    fi
    sleep 0.5
  done
  if ! api_ready; then
    log "the API server was not ready after 120 s; see $E2E_DIR/kube-apiserver.log"
    exit 1
  fi
  if ! running kube-controller-manager; then
    kubeconfig "$E2E_DIR/controller-manager.kubeconfig" e2e
    start kube-controller-manager kube-controller-manager \
      --kubeconfig="$E2E_DIR/controller-manager.kubeconfig" \
      --service-account-private-key-file="$E2E_DIR/pki/sa.key" --root-ca-file="$E2E_DIR/pki/ca.crt" \
      --controllers='*' --leader-elect=false --bind-address=127.0.0.1 --secure-port=$E2E_KCM_PORT \
      --use-service-account-credentials=false
  fi
  # The controller manager is ready when `default` in kube-system exists.
  for i in $(seq 1 240); do
    kubectl --kubeconfig "$E2E_DIR/kubeconfig" -n default get serviceaccount default >/dev/null 2>&1 && break
    sleep 0.5
  done
  if ! kubectl --kubeconfig "$E2E_DIR/kubeconfig" -n default get serviceaccount default >/dev/null 2>&1; then
    log "no default service account after 120 s; see $E2E_DIR/kube-controller-manager.log"
    exit 1
  fi
  log "cluster ready on https://127.0.0.1:$E2E_API_PORT in $((SECONDS - t0)) s (data in $E2E_DIR)"
  flock -u 8
}

# cluster_down: stops every process of the cluster and deletes its folder, whoever uses it (see cluster_release).
cluster_down() {
  local name
  for name in kube-controller-manager kube-apiserver etcd; do
    if running "$name"; then
      kill "$(cat "$E2E_DIR/$name.pid")" 2>/dev/null || true
    fi
  done
  for name in kube-controller-manager kube-apiserver etcd; do
    local i
    for i in $(seq 1 40); do
      running "$name" || break
      sleep 0.25
    done
    running "$name" && kill -9 "$(cat "$E2E_DIR/$name.pid")" 2>/dev/null || true
  done
  rm -rf "$E2E_DIR"
  log "cluster stopped; $E2E_DIR removed"
}
