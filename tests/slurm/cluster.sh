# A real one-node Slurm cluster in a temporary folder (docs/running-on-slurm.md, "Testing"): its own munged
# (own socket and key), slurmctld and slurmd on their own ports, state and logs under $CLUSTER. Sourced by the
# Slurm tests; needs root (munged runs as the munge user, slurmd as root) and Debian's slurm-wlm and munge.
#   cluster_start DIR   start it (exports SLURM_CONF); fails with a message naming what is missing
#   cluster_stop        stop the daemons it started (by their pid files) and remove nothing else

cluster_fail() { echo "FAIL: slurm cluster: $*" >&2; exit 1; }

cluster_start() {
  CLUSTER=$1
  local need
  [ "$(id -u)" -eq 0 ] || cluster_fail "must run as root (slurmd and munged need it); CI runs as root"
  for need in munged slurmctld slurmd sbatch scontrol squeue scancel srun sinfo; do
    command -v "$need" >/dev/null || cluster_fail "'$need' not found: install slurm-wlm and munge (scripts/setup.sh does)"
  done
  id munge >/dev/null 2>&1 || cluster_fail "no 'munge' user: install munge (scripts/setup.sh does)"
  mkdir -p "$CLUSTER"/{munge,state,spool,log,run}
  chmod 755 "$CLUSTER"
  # munged: its own key and socket, so that it neither needs nor disturbs a munged of the machine
  dd if=/dev/urandom of="$CLUSTER/munge/munge.key" bs=1024 count=1 status=none
  chown -R munge:munge "$CLUSTER/munge"
  chmod 755 "$CLUSTER/munge" # the socket must be reachable by every user
  chmod 400 "$CLUSTER/munge/munge.key"
  MUNGE_SOCKET=$CLUSTER/munge/munge.socket
  runuser -u munge -- munged --socket="$MUNGE_SOCKET" --key-file="$CLUSTER/munge/munge.key" \
    --pid-file="$CLUSTER/munge/munged.pid" --seed-file="$CLUSTER/munge/munged.seed" \
    --log-file="$CLUSTER/munge/munged.log" || cluster_fail "munged did not start: $(cat "$CLUSTER/munge/munged.log" 2>/dev/null)"
  # ports of our own, away from a cluster the machine may run
  local base=$((20000 + ($$ % 2000) * 2))
  cat >"$CLUSTER/slurm.conf" <<CONF
ClusterName=dpstest
SlurmctldHost=localhost
SlurmctldPort=$base
SlurmdPort=$((base + 1))
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MailProg=/bin/true
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
StateSaveLocation=$CLUSTER/state
SlurmdSpoolDir=$CLUSTER/spool
SlurmctldPidFile=$CLUSTER/run/slurmctld.pid
SlurmdPidFile=$CLUSTER/run/slurmd.pid
SlurmctldLogFile=$CLUSTER/log/slurmctld.log
SlurmdLogFile=$CLUSTER/log/slurmd.log
SlurmdDebug=info
MinJobAge=600
KillWait=10
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
  export SLURM_CONF=$CLUSTER/slurm.conf
  slurmctld || cluster_fail "slurmctld did not start: $(tail -5 "$CLUSTER/log/slurmctld.log" 2>/dev/null)"
  slurmd -N localhost || cluster_fail "slurmd did not start: $(tail -5 "$CLUSTER/log/slurmd.log" 2>/dev/null)"
  for _ in $(seq 100); do
    sinfo -h -o %T 2>/dev/null | grep -qE '^idle' && return 0
    sleep 0.1
  done
  cluster_fail "the node did not become idle in 10 s: $(sinfo 2>&1); $(tail -5 "$CLUSTER/log/slurmctld.log") $(tail -5 "$CLUSTER/log/slurmd.log")"
}

cluster_stop() {
  local f p
  for f in "$CLUSTER/run/slurmd.pid" "$CLUSTER/run/slurmctld.pid" "$CLUSTER/munge/munged.pid"; do
    [ -s "$f" ] || continue
    p=$(cat "$f")
    kill "$p" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
}
