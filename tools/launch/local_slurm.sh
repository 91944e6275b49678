#!/bin/sh
# tools/launch/local_slurm.sh start|stop DIR — a single-node Slurm cluster on this
# machine, for `make test-cluster`: munged, slurmctld and slurmd from Debian's
# packages (munge, slurm-wlm), configured in DIR for this host's cores, state and
# logs in DIR too.  `start` prints the SLURM_CONF to export; `stop` ends the
# daemons it started (their pids in DIR).  Needs root (slurmd runs jobs as their
# user).  Nothing outside DIR is changed but munge's key, which the Debian
# package creates on installation.
set -eu
cmd=${1:-} dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
    echo "usage: tools/launch/local_slurm.sh start|stop DIR" >&2
    exit 2
fi
case $cmd in
stop)
    for d in slurmd slurmctld munged; do
        [ -f "$dir/$d.pid" ] && kill "$(cat "$dir/$d.pid")" 2>/dev/null || true
    done
    sleep 1
    exit 0 ;;
start) ;;
*) echo "tools/launch/local_slurm.sh: error: unknown command '$cmd'; expected start or stop" >&2; exit 2 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
    echo "tools/launch/local_slurm.sh: error: the local cluster needs root (slurmd starts jobs as their user)" >&2
    exit 1
fi
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
dir=$(cd "$dir" && pwd)
host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ { print int($2 / 1024 * 0.8) }' /proc/meminfo)
# munge: its own socket and state under DIR, the package's key
munged --socket="$dir/munge/munge.socket" --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" \
    --seed-file="$dir/munge/seed" --key-file=/etc/munge/munge.key --force
cat > "$dir/slurm.conf" <<CONF
ClusterName=probador
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SchedulerType=sched/backfill
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
MaxArraySize=10001
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"
if sinfo -h >/dev/null 2>&1; then
    echo "tools/launch/local_slurm.sh: error: a Slurm controller already answers on port 16817 (another local" \
         "cluster?); stop it first (tools/launch/local_slurm.sh stop ITS_DIR)" >&2
    kill "$(cat "$dir/munged.pid")" 2>/dev/null || true
    exit 1
fi
slurmctld -f "$SLURM_CONF" -i
slurmd -f "$SLURM_CONF"
# ready when the node takes jobs
for i in $(seq 1 30); do
    state=$(sinfo -h -o %t 2>/dev/null || true)
    case $state in idle*|mix*|alloc*) echo "SLURM_CONF=$SLURM_CONF"; exit 0 ;; esac
    sleep 1
done
echo "tools/launch/local_slurm.sh: error: the node did not come up; see $dir/slurmctld.log and $dir/slurmd.log" >&2
exit 1
