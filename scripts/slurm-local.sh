#!/usr/bin/env bash
# A one-host Slurm cluster for trying `trustx run --executor slurm` on a laptop and for CI.
#
#   scripts/slurm-local.sh start     install nothing; start munged, slurmctld and slurmd
#   scripts/slurm-local.sh stop      stop the daemons this script started
#   scripts/slurm-local.sh status    show the node and the queue
#
# Needs root (slurmd runs jobs as their users) and Debian's packages:
#   apt-get install -y slurmctld slurmd slurm-client munge
# (`.ci/run` installs them when missing). The configuration, state, spool folders and logs
# live in $TRUSTX_SLURM_DIR (default /var/tmp/trustx-slurm); /etc/slurm/slurm.conf is linked
# to that configuration while the cluster runs (unless a slurm.conf of another origin is
# there: then export SLURM_CONF as printed). One node: this machine, with its CPUs and
# memory as `slurmd -C` reports them. Jobs run as root on this machine, so a results folder
# anywhere outside /tmp is "shared".
set -euo pipefail

dir="${TRUSTX_SLURM_DIR:-/var/tmp/trustx-slurm}"
conf="$dir/slurm.conf"
etc_conf=/etc/slurm/slurm.conf
marker="# written by trustx scripts/slurm-local.sh"

need() {
  command -v "$1" >/dev/null 2>&1 || {
    echo "slurm-local: $1 not found; install Debian's packages: apt-get install -y slurmctld slurmd slurm-client munge" >&2
    exit 1
  }
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  [ "$(id -u)" = 0 ] || { echo "slurm-local: start needs root (slurmd runs the jobs)" >&2; exit 1; }
  need munged; need slurmctld; need slurmd; need sbatch
  mkdir -p "$dir/state" "$dir/spool" "$dir/log" "$dir/munge" /run/munge
  chown munge:munge /run/munge "$dir/munge"
  # munge: the key Debian's package made, or a new one.
  if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
  fi
  if ! pid_alive "$dir/munged.pid"; then
    # munged runs as the munge user, so its pid and log files live in a folder it owns.
    runuser -u munge -- /usr/sbin/munged --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
      || { echo "slurm-local: munged did not start; see $dir/munge/munged.log" >&2; exit 1; }
    for _ in $(seq 1 20); do [ -s "$dir/munge/munged.pid" ] && break; sleep 0.2; done
    cp "$dir/munge/munged.pid" "$dir/munged.pid"
  fi
  local node host
  host="$(hostname -s)"
  # `slurmd -C` prints "NodeName=vm CPUs=2 Boards=1 ... RealMemory=24105": this machine.
  node="$(slurmd -C | head -1)"
  cat >"$conf" <<EOF
$marker
ClusterName=trustx-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SchedulerParameters=defer_batch=0
MinJobAge=600
KillWait=5
$node State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  if [ ! -e "$etc_conf" ] || grep -qx "$marker" "$etc_conf" 2>/dev/null; then
    mkdir -p /etc/slurm
    ln -sfn "$conf" "$etc_conf"
  else
    echo "slurm-local: $etc_conf is not ours; run: export SLURM_CONF=$conf" >&2
  fi
  export SLURM_CONF="$conf"
  pid_alive "$dir/slurmctld.pid" || slurmctld -f "$conf"
  pid_alive "$dir/slurmd.pid" || slurmd -f "$conf"
  # Wait until the node takes jobs.
  for _ in $(seq 1 60); do
    state="$(sinfo -h -N -o %t 2>/dev/null | head -1 || true)"
    case "$state" in idle*|mix*|alloc*) echo "slurm-local: up (node $host: $state; config $conf)"; return 0 ;; esac
    sleep 1
  done
  echo "slurm-local: the node did not become idle; logs in $dir/log" >&2
  sinfo -N -l >&2 || true
  exit 1
}

stop() {
  local f
  for f in slurmd slurmctld munged; do
    if pid_alive "$dir/$f.pid"; then
      kill "$(cat "$dir/$f.pid")" 2>/dev/null || true
      for _ in $(seq 1 20); do pid_alive "$dir/$f.pid" || break; sleep 0.5; done
    fi
    rm -f "$dir/$f.pid"
  done
  if [ -L "$etc_conf" ] && [ "$(readlink "$etc_conf")" = "$conf" ]; then rm -f "$etc_conf"; fi
  echo "slurm-local: stopped"
}

status() {
  export SLURM_CONF="$conf"
  sinfo -N -l
  squeue
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
