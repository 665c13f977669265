#!/usr/bin/env bash
# The progress of a long step of toolchain.sh (issue 18.6), sourced by it. A cold build runs for up to 20 minutes
# per component; these print, every $PROGRESS_INTERVAL seconds (default 30), how long it has run against how long it
# usually takes, with the Go modules downloaded and packages compiled so far (counted in its log: `go` prints
# "go: downloading MODULE VERSION" per module, and `go build -v` one import path per package it compiles). A
# second run that waits for the build lock says who holds it, building what, and for how long.
# All of it goes to stderr, as `toolchain: ...` lines.

PROGRESS_INTERVAL="${PROGRESS_INTERVAL:-30}"

# duration SECONDS: "45 s", "3 min 05 s".
duration() {
  if (($1 < 60)); then
    echo "$1 s"
  else
    printf '%d min %02d s\n' $(($1 / 60)) $(($1 % 60))
  fi
}

# log_counts LOG: "N modules downloaded, M packages compiled" from a build's log, the parts that are not zero.
log_counts() {
  local modules packages parts=()
  modules="$(grep -c '^go: downloading ' "$1" 2>/dev/null)" || true
  # An import path alone on its line: what `go build -v` prints per package (never a message, which has spaces).
  packages="$(grep -cE '^[A-Za-z0-9_.~-]+(/[A-Za-z0-9_.~+-]+)*$' "$1" 2>/dev/null)" || true
  ((${modules:-0} == 0)) || parts+=("$modules modules downloaded")
  ((${packages:-0} == 0)) || parts+=("$packages packages compiled")
  local IFS=,
  echo "${parts[*]}" | sed 's/,/, /g'
}

# with_progress LABEL USUAL_SECONDS LOG COMMAND...: runs COMMAND with its output to LOG and prints, every
# PROGRESS_INTERVAL seconds, "toolchain: LABEL: <elapsed> of usually about <usual> (<counts>)". Returns its status.
with_progress() {
  local label=$1 usual=$2 log=$3
  shift 3
  "$@" >"$log" 2>&1 &
  local pid=$! started=$SECONDS next=$((SECONDS + PROGRESS_INTERVAL)) counts
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= next)); then
      next=$((next + PROGRESS_INTERVAL))
      counts="$(log_counts "$log")"
      echo "toolchain: $label: $(duration $((SECONDS - started))) of usually about $(duration "$usual")${counts:+ ($counts)}" >&2
    fi
    sleep 1
  done
  wait "$pid"
}

# hold_lock FD LOCK: takes the lock on FD (open on LOCK), waiting as long as it takes; while it waits, prints every
# PROGRESS_INTERVAL seconds who holds it (from LOCK.holder: "PID EPOCH WHAT", written by say_holding) and for how long.
hold_lock() {
  local fd=$1 lock=$2 started=$SECONDS pid since what
  flock -n "$fd" && return
  while true; do
    read -r pid since what 2>/dev/null <"$lock.holder" || pid=""
    # A holder file left by a run that is gone names no one (what holds the lock then is a process it left).
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      echo "toolchain: waiting for pid $pid, which holds $lock: $what, for $(duration $(($(date +%s) - since))) so far;" \
        "waited $(duration $((SECONDS - started)))" >&2
    else
      echo "toolchain: waiting for another build, which holds $lock; waited $(duration $((SECONDS - started)))" >&2
    fi
    flock -w "$PROGRESS_INTERVAL" "$fd" && return
  done
}

# say_holding LOCK WHAT: records in LOCK.holder that this process holds LOCK, doing WHAT, for hold_lock's message.
say_holding() { echo "$$ $(date +%s) $2" >"$1.holder"; }
