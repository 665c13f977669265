#!/usr/bin/env bash
# Shared by scripts/local/up.sh and down.sh (`npm run up:local`, `npm run down:local`). Sourced, not run.
#
# Everything of the local stack lives on this machine and listens on 127.0.0.1 only:
#   the cluster         scripts/e2e (https://127.0.0.1:16443, context e2e), data in $E2E_DIR
#   the Pulumi state    the file backend of scripts/e2e/env.sh: $E2E_DIR/pulumi-state
#   the registry        Debian's docker-registry on 127.0.0.1:$LOCAL_REGISTRY_PORT, htpasswd, in $LOCAL_DIR/registry
#   the project copy    $LOCAL_DIR/project: links to this clone's program and a copy of Pulumi.local.yaml, into
#                       which up.sh sets the generated password (the committed file stays as it is)
# REGISTRY_ACCESS_LOCAL_DIR moves $LOCAL_DIR; REGISTRY_ACCESS_LOCAL_PORT moves the registry (default 15000).

LOCAL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL_DIR="${REGISTRY_ACCESS_LOCAL_DIR:-${TMPDIR:-/tmp}/registry-access-local}"
# Not in the folder (down.sh removes it while it holds the lock), and the same whatever the folder: every up:local
# works on the one stack `local` of the cluster's backend.
LOCAL_LOCK="${TMPDIR:-/tmp}/registry-access-local.lock"
LOCAL_REGISTRY_PORT="${REGISTRY_ACCESS_LOCAL_PORT:-15000}"
LOCAL_REGISTRY="127.0.0.1:$LOCAL_REGISTRY_PORT"
LOCAL_REGISTRY_DIR="$LOCAL_DIR/registry"
LOCAL_PROJECT="$LOCAL_DIR/project"
LOCAL_STACK=local
# The user of the stack (Pulumi.local.yaml), which only ever pulls, and the one that pushes the image.
LOCAL_PULL_USER=local-bot
LOCAL_PUSH_USER=local-admin
LOCAL_IMAGE_REPOSITORY=local/hello
LOCAL_IMAGE_TAG=latest

# The fast path of every pulumi run (no type-check on each run, no state rewrite after each step), no network.
# shellcheck source=scripts/e2e/pulumi-env.sh
source "$LOCAL_ROOT/scripts/e2e/pulumi-env.sh"

# This shell's npm must not look for its own updates on the network.
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

say() { echo "$LOCAL_COMMAND: $*" >&2; }

# take_lock: one up:local or down:local at a time. The lock is released when the process ends, however it ends;
# every process up.sh leaves running (the registry, a cluster env.sh starts, Pulumi's plugins) is started without it.
take_lock() {
  exec 7>>"$LOCAL_LOCK"
  if ! flock -n 7; then
    local holder pid
    holder="$(cat "$LOCAL_LOCK" 2>/dev/null || true)"
    pid="$(sed -n 's/.*, pid \([0-9]*\),.*/\1/p' <<<"$holder")"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      say "another up:local or down:local is running ($holder); wait for it to finish." \
        "It holds the lock $LOCAL_LOCK, which goes away with that process."
      exit 3
    fi
    # Its process is gone, so what still holds the lock was started by it and survived it: Pulumi's plugins of a
    # killed run can be stopped; anything else is named.
    stop_orphans
    sleep 0.5
    if flock -n 7; then
      echo "$LOCAL_COMMAND, pid $$, started $(date '+%H:%M:%S')" >"$LOCAL_LOCK"
      return
    fi
    local f lock holders=()
    lock="$(realpath "$LOCAL_LOCK")"
    for f in /proc/[0-9]*/fd/*; do
      [[ "$(readlink "$f" 2>/dev/null)" == "$lock" ]] || continue
      f="${f#/proc/}"
      holders+=("${f%%/*}")
    done
    say "the $holder has ended, but processes it started still hold the lock $LOCAL_LOCK:"
    for pid in $(printf '%s\n' "${holders[@]}" | sort -u); do
      [[ "$pid" == "$$" ]] || say "  pid $pid: $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")"
    done
    say "stop them (kill <pid>), then run it again."
    exit 3
  fi
  echo "$LOCAL_COMMAND, pid $$, started $(date '+%H:%M:%S')" >"$LOCAL_LOCK"
}

# registry_pid: the pid of the registry this folder's config runs, whether or not the pid file still names it.
registry_pid() {
  local config="$LOCAL_REGISTRY_DIR/config.yml" pid cmd
  if [[ -f "$LOCAL_REGISTRY_DIR/registry.pid" ]]; then
    pid="$(cat "$LOCAL_REGISTRY_DIR/registry.pid")"
    cmd="$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" || true)"
    if [[ "$cmd" == *"docker-registry serve $config"* ]]; then
      echo "$pid"
      return
    fi
  fi
  # A registry of ours whose pid file is gone (a crash between start and write, a folder removed by hand).
  local f
  for f in /proc/[0-9]*/cmdline; do
    cmd="$(tr '\0' ' ' 2>/dev/null <"$f" || true)"
    if [[ "$cmd" == *"docker-registry serve $config "* ]]; then
      pid="${f#/proc/}"
      echo "${pid%/cmdline}"
      return
    fi
  done
}

# registry_stop: stops this folder's registry, if one runs. Never any other process.
registry_stop() {
  local pid i
  pid="$(registry_pid)"
  [[ -n "$pid" ]] || return 0
  kill "$pid" 2>/dev/null || true
  for i in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$LOCAL_REGISTRY_DIR/registry.pid"
}

# port_owner PORT: who listens on PORT, as "pid <n>: <command line>" (ss names the process), or "a process" when
# ss is missing; empty when nobody does.
port_owner() {
  local pid
  if command -v ss >/dev/null 2>&1; then
    if [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]; then
      pid="$(ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1)"
      if [[ -n "$pid" ]]; then
        echo "pid $pid: $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | sed 's/ $//')"
      else
        echo "a process of another user"
      fi
    fi
    return
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then echo "a process (iproute2's ss would name it)"; fi
}

# registry_port_check: exits 1, naming who holds it, when $LOCAL_REGISTRY_PORT is taken by anything but this
# folder's registry serving there. up.sh runs it before it starts or stops anything: a taken port once stopped the
# working registry before it was found taken (issue 18.5).
registry_port_check() {
  local pid owner stop_it
  pid="$(registry_pid)"
  if [[ -n "$pid" ]] && grep -qx "  addr: $LOCAL_REGISTRY" "$LOCAL_REGISTRY_DIR/config.yml" 2>/dev/null; then
    return 0
  fi
  owner="$(port_owner "$LOCAL_REGISTRY_PORT")"
  [[ -n "$owner" ]] || return 0
  say "port $LOCAL_REGISTRY_PORT is taken by $owner"
  stop_it="$(sed -n 's/^pid \([0-9]*\):.*/ (kill \1)/p' <<<"$owner")"
  say "That is not up:local's registry (docker-registry serve $LOCAL_REGISTRY_DIR/config.yml)." \
    "Stop it$stop_it and run npm run up:local again," \
    "or leave it and put the registry on another port: REGISTRY_ACCESS_LOCAL_PORT=$((LOCAL_REGISTRY_PORT + 1)) npm run up:local"
  if [[ -n "$pid" ]]; then
    say "up:local's registry (pid $pid) keeps running where it was; nothing was changed."
  fi
  exit 1
}

# stop_orphans: Pulumi's plugins (language host, Kubernetes provider) of a run that was killed outlive it, adopted by
# init, in the project copy. Only those: orphans whose working directory is $LOCAL_PROJECT.
stop_orphans() {
  local f pid project found=()
  [[ -d "$LOCAL_PROJECT" ]] || return 0
  project="$(cd "$LOCAL_PROJECT" && pwd -P)"
  for f in /proc/[0-9]*/cwd; do
    pid="${f#/proc/}"
    pid="${pid%/cwd}"
    [[ "$(readlink "$f" 2>/dev/null)" == "$project" ]] || continue
    [[ "$(ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ')" == 1 ]] || continue
    found+=("$pid")
  done
  [[ ${#found[@]} -gt 0 ]] || return 0
  kill "${found[@]}" 2>/dev/null || true
  say "stopped ${#found[@]} Pulumi plugin processes left by a run that was killed (pids ${found[*]})"
}
