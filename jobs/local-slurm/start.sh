#!/usr/bin/env bash
# Start a single-node SLURM (munged, slurmctld, slurmd; no accounting) on this machine for
# the `slurm` tests. Debian/Ubuntu, as root, no systemd needed. Idempotent: installs what is
# missing (apt), writes config, state, logs and pid files under $BIGBRAIN_SLURM_DIR, starts
# only daemons that are not running, and waits until the node takes jobs.
#
#   bash jobs/local-slurm/start.sh      # then: sbatch, srun, squeue, scancel work
#   bash jobs/local-slurm/stop.sh       # stops exactly the daemons started here
#
# BIGBRAIN_SLURM_DIR (default /tmp/bigbrain-slurm); BIGBRAIN_SLURM_CPUS (default nproc).
# The node is partition "debug"; MpiDefault=pmi2 so `srun -n K python` gets real MPI ranks
# from the mpich wheel. /etc/slurm/slurm.conf is linked to the generated config when that
# path is free (otherwise export SLURM_CONF=$BIGBRAIN_SLURM_DIR/etc/slurm.conf).
set -euo pipefail
D="${BIGBRAIN_SLURM_DIR:-/tmp/bigbrain-slurm}"
CPUS="${BIGBRAIN_SLURM_CPUS:-$(nproc)}"
log() { printf '[local-slurm] %s\n' "$*"; }
die() { log "ERROR: $*" >&2; tail -n 20 "$D"/log/*.log >&2 2>/dev/null; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"

for b in slurmctld slurmd sbatch munged; do
  if ! command -v "$b" >/dev/null; then
    log "installing slurmctld slurmd slurm-client munge (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
    break
  fi
done

alive() { # alive NAME: the pid file names a live, non-zombie process called NAME
  local p; [ -s "$D/run/$1.pid" ] || return 1; p=$(tr -dc 0-9 <"$D/run/$1.pid")
  [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$1" ] &&
    ! grep -q '^State:[[:space:]]*Z' "/proc/$p/status" 2>/dev/null
}
wait_for() { # wait_for WHAT CMD...: poll for 60 s
  local what="$1"; shift
  for _ in $(seq 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "timed out waiting for $what"
}

mkdir -p "$D"/{etc,run,log,state,spool}
[ -s "$D/etc/munge.key" ] || dd if=/dev/urandom of="$D/etc/munge.key" bs=1024 count=1 status=none
chmod 700 "$D/etc"; chmod 600 "$D/etc/munge.key"
H=$(hostname -s)
MEM=$(awk '/^MemTotal:/{printf "%d", $2/1024*0.9}' /proc/meminfo)
export SLURM_CONF="$D/etc/slurm.conf"
cat >"$SLURM_CONF.new" <<CONF
ClusterName=bigbrain
SlurmctldHost=$H(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$D/run/munge.socket
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/run/slurmctld.pid
SlurmdPidFile=$D/run/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerParameters=batch_sched_delay=0
MpiDefault=pmi2
MailProg=/bin/true
ReturnToService=2
InactiveLimit=0
MinJobAge=300
KillWait=10
Waittime=0
NodeName=$H NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
CONF
if ! cmp -s "$SLURM_CONF.new" "$SLURM_CONF"; then
  mv "$SLURM_CONF.new" "$SLURM_CONF"
  if alive slurmctld || alive slurmd; then
    log "configuration changed: restarting the SLURM daemons"
    BIGBRAIN_SLURM_KEEP_MUNGE=1 bash "$(dirname "$0")/stop.sh"
  fi
else
  rm -f "$SLURM_CONF.new"
fi
mkdir -p /etc/slurm
if [ -L /etc/slurm/slurm.conf ] || [ ! -e /etc/slurm/slurm.conf ]; then
  ln -sfn "$SLURM_CONF" /etc/slurm/slurm.conf
fi

if ! alive munged; then
  rm -f "$D/run/munge.socket"*
  munged --key-file="$D/etc/munge.key" --socket="$D/run/munge.socket" --pid-file="$D/run/munged.pid" \
    --log-file="$D/log/munged.log" --seed-file="$D/run/munged.seed"
fi
wait_for munged bash -c "munge -n -S '$D/run/munge.socket' | unmunge -S '$D/run/munge.socket'"
alive slurmctld || slurmctld -f "$SLURM_CONF"
wait_for slurmctld scontrol ping
alive slurmd || slurmd -f "$SLURM_CONF" -N "$H"
node_idle() {
  case "$(sinfo -h -n "$H" -o %T 2>/dev/null)" in
    idle*|mixed*|allocated*|completing*) return 0 ;;
    drain*|down*) scontrol update nodename="$H" state=resume >/dev/null 2>&1 ;;
  esac
  return 1
}
wait_for "node $H" node_idle
log "SLURM is up: partition debug, node $H, $CPUS CPUs (config $SLURM_CONF)"
