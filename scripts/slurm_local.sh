#!/usr/bin/env bash
# A Slurm cluster on this one machine, to practise stage 5 (blog chapter 7,
# "installing a Slurm cluster") and for the tests: munged, slurmctld and one or
# two slurmd "nodes", started as plain daemons (no systemd needed), with their
# key, config, state and logs in one scratch folder.
#
#   scripts/slurm_local.sh start [--nodes 1|2] [--dir DIR] [--port P]
#   export SLURM_CONF=DIR/slurm.conf       (start prints this line last)
#   sbatch ... ; squeue ; sacct is not set up: scontrol show job ID
#   scripts/slurm_local.sh stop [--dir DIR]
#
#   --nodes N  slurmd nodes, named n1 (and n2), each with all of this machine's
#              CPUs and reached at 127.0.0.1 (default 1)
#   --dir DIR  the scratch folder (default ${TMPDIR:-/tmp}/slurm-local)
#   --port P   slurmctld's port; the nodes use P+1 and P+2 (default 6817, Slurm's own)
#
# start fails (status 1, the daemons' logs quoted) if the nodes are not idle
# within 30 s; stop cancels the cluster's jobs and ends exactly the daemons
# that start started (by the pid files in DIR). Slurm and munge come from
# Debian's packages (scripts/install_deps.sh). Bad arguments: status 2.
set -euo pipefail
readonly me=slurm_local.sh

die() { echo "$me: $*" >&2; exit 2; }
fail() { echo "$me: error: $*" >&2; exit 1; }

action=${1:-}
[[ $action == start || $action == stop ]] || die "usage: $me start|stop [--nodes 1|2] [--dir DIR] [--port P]"
shift
nodes=1 dir=${TMPDIR:-/tmp}/slurm-local port=6817
while (($#)); do
  (($# >= 2)) || die "$1 needs a value"
  case $1 in
    --nodes) [[ $2 == 1 || $2 == 2 ]] || die "--nodes must be 1 or 2, not '$2'"; nodes=$2 ;;
    --dir) [[ -n $2 ]] || die "--dir is empty"; dir=$2 ;;
    --port) [[ $2 =~ ^[0-9]{1,5}$ ]] && (($2 >= 1024 && $2 <= 65533)) ||
              die "--port must be a number from 1024 to 65533, not '$2'"; port=$2 ;;
    *) die "unknown option '$1'" ;;
  esac
  shift 2
done
mkdir -p "$dir" || die "cannot create $dir"
dir=$(cd "$dir" && pwd)
conf=$dir/slurm.conf

# The pid in pid file $1 if that process is still one of ours: its command line
# names this folder (a pid reused by another program is left alone).
our_pid() {
  local pid
  [[ -f $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] && [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir" || return 1
  echo "$pid"
}

# Ends the daemon of pid file $1: SIGTERM, then SIGKILL after 10 s.
stop_daemon() {
  local pid tick
  pid=$(our_pid "$1") || { rm -f "$1"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((tick = 0; tick < 100; tick++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$1"
}

stop_cluster() {
  local tick
  if [[ -f $conf ]] && our_pid "$dir/slurmctld.pid" >/dev/null; then
    # Jobs first, so that no task outlives its node.
    SLURM_CONF=$conf scancel --quiet --full --partition=local 2>/dev/null || true
    for ((tick = 0; tick < 150; tick++)); do
      [[ -z $(SLURM_CONF=$conf squeue -h -o %i 2>/dev/null) ]] && break
      sleep 0.1
    done
  fi
  for pid_file in "$dir"/slurmd-*.pid "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    [[ -e $pid_file ]] && stop_daemon "$pid_file"
  done
  return 0
}

if [[ $action == stop ]]; then
  stop_cluster
  echo "$me: stopped the cluster of $dir" >&2
  exit 0
fi

# ---------------------------------------------------------------- start
for program in munged mungekey slurmctld slurmd sinfo; do
  command -v "$program" >/dev/null ||
    fail "$program not found: install Slurm and munge (scripts/install_deps.sh)"
done
if our_pid "$dir/slurmctld.pid" >/dev/null; then
  fail "a cluster of $dir is running already: scripts/slurm_local.sh stop --dir $dir"
fi
# munged refuses a socket below a folder that not everyone may enter.
parent=$dir
while [[ $parent != / ]]; do
  parent=$(dirname "$parent")
  (( 8#$(stat -c %a "$parent") & 1 )) ||
    fail "munged needs every folder above its socket to be open to all (o+x), and $parent is not: chmod o+x it, or choose another --dir"
done
stop_cluster  # what a failed start may have left
rm -rf "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
# munged refuses a socket folder others may write to; Slurm's clients need to enter it.
mkdir -p "$dir/munge" "$dir/state" "$dir/log"
chmod 755 "$dir" "$dir/munge"

mungekey --create --keyfile="$dir/munge/munge.key" 2>/dev/null ||
  mungekey -c -k "$dir/munge/munge.key"
munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket.2" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
  --seed-file="$dir/munge/munged.seed" ||
  fail "munged did not start: $(tail -n 3 "$dir/munge/munged.log" 2>/dev/null)"

user=$(id -un)
host=$(hostname -s)
# This machine's CPUs, sockets and memory as slurmd sees them.
hardware=$(slurmd -C | sed -n 's/^NodeName=[^ ]* //p' | sed 's/ UpTime=.*//')
[[ -n $hardware ]] || fail "slurmd -C did not describe this machine"
node_names=n1
((nodes == 2)) && node_names=n1,n2
{
  echo "# Written by scripts/slurm_local.sh: $nodes node(s) on this machine."
  echo "ClusterName=local"
  echo "SlurmctldHost=$host(127.0.0.1)"
  echo "SlurmctldPort=$port"
  echo "SlurmUser=$user"
  echo "SlurmdUser=$user"
  echo "AuthType=auth/munge"
  echo "CredType=cred/munge"
  # cred_expire: a requeued job may start again after 10 s, not Slurm's 120.
  echo "AuthInfo=socket=$dir/munge/munge.socket.2,cred_expire=10"
  echo "ProctrackType=proctrack/linuxproc"  # no cgroups without systemd
  echo "TaskPlugin=task/none"
  echo "SelectType=select/cons_tres"
  echo "SelectTypeParameters=CR_CPU"
  echo "SchedulerParameters=bf_interval=2,sched_interval=5"
  echo "MpiDefault=none"
  echo "ReturnToService=2"
  echo "KillWait=10"
  echo "MinJobAge=600"
  echo "MailProg=/bin/true"
  echo "StateSaveLocation=$dir/state"
  echo "SlurmdSpoolDir=$dir/spool/%n"
  echo "SlurmctldPidFile=$dir/slurmctld.pid"
  echo "SlurmdPidFile=$dir/slurmd-%n.pid"
  echo "SlurmctldLogFile=$dir/log/slurmctld.log"
  echo "SlurmdLogFile=$dir/log/slurmd-%n.log"
  echo "JobCompType=jobcomp/none"
  echo "AccountingStorageType=accounting_storage/none"
  echo "JobAcctGatherType=jobacct_gather/none"
  for ((i = 1; i <= nodes; i++)); do
    echo "NodeName=n$i NodeHostname=$host NodeAddr=127.0.0.1 Port=$((port + i)) $hardware State=UNKNOWN"
  done
  echo "PartitionName=local Nodes=$node_names Default=YES MaxTime=INFINITE State=UP"
} >"$conf"

for ((i = 1; i <= nodes; i++)); do mkdir -p "$dir/spool/n$i"; done
export SLURM_CONF=$conf
slurmctld -f "$conf" || fail "slurmctld did not start: $(tail -n 5 "$dir/log/slurmctld.log" 2>/dev/null)"
for ((i = 1; i <= nodes; i++)); do
  slurmd -f "$conf" -N "n$i" ||
    fail "slurmd n$i did not start: $(tail -n 5 "$dir/log/slurmd-n$i.log" 2>/dev/null)"
done

# Ready when every node is idle.
for ((tick = 0; tick < 300; tick++)); do
  states=$(sinfo -h -N -o %T 2>/dev/null | sort -u | tr '\n' ' ')
  [[ $states == "idle " ]] && break
  sleep 0.1
done
if [[ $states != "idle " ]]; then
  echo "$me: the nodes are not idle after 30 s (sinfo: ${states:-no answer}); the logs say:" >&2
  tail -n 5 "$dir/log/"*.log >&2 || true
  stop_cluster
  exit 1
fi
echo "$me: $nodes node(s) idle ($(nproc) CPUs each); logs in $dir/log" >&2
echo "export SLURM_CONF=$conf"
