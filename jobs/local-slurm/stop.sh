#!/usr/bin/env bash
# Stop the single-node SLURM that start.sh started: cancel its jobs, then stop slurmd,
# slurmctld and munged, each found by its pid file and only if that pid still names the
# daemon (never by name). --purge also deletes $BIGBRAIN_SLURM_DIR.
set -uo pipefail
D="${BIGBRAIN_SLURM_DIR:-/tmp/bigbrain-slurm}"
export SLURM_CONF="$D/etc/slurm.conf"
log() { printf '[local-slurm] %s\n' "$*"; }
pid_of() {
  local p; [ -s "$D/run/$1.pid" ] || return 1; p=$( { tr -dc 0-9 <"$D/run/$1.pid"; } 2>/dev/null )  # the daemon may remove it meanwhile
  [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$1" ] &&
    ! grep -q '^State:[[:space:]]*Z' "/proc/$p/status" 2>/dev/null && echo "$p"
}
stop_one() {
  local p
  p=$(pid_of "$1") || { rm -f "$D/run/$1.pid"; return 0; }
  kill -TERM "$p"
  for _ in $(seq 100); do pid_of "$1" >/dev/null || break; sleep 0.2; done
  pid_of "$1" >/dev/null && kill -KILL "$p"
  rm -f "$D/run/$1.pid"
  log "$1 (pid $p) stopped"
}
if pid_of slurmctld >/dev/null; then
  jobs=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')
  if [ -n "${jobs// /}" ]; then
    # shellcheck disable=SC2086
    scancel $jobs
    for _ in $(seq 100); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.2; done
  fi
fi
stop_one slurmd
stop_one slurmctld
[ "${BIGBRAIN_SLURM_KEEP_MUNGE:-0}" = 1 ] || stop_one munged
if [ "${1:-}" = --purge ]; then
  [ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" = "$D/etc/slurm.conf" ] && rm -f /etc/slurm/slurm.conf
  rm -rf "$D"
  log "purged $D"
fi
exit 0
