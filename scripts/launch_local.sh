#!/usr/bin/env bash
# A launcher like torchrun that needs no Python: starts one process per GPU
# with the variables torchrun sets, and stops them all when one fails, so a
# crashed rank never leaves the others hanging in a collective.
set -u

readonly me=launch_local.sh

usage() {
  cat <<'EOF'
Usage: scripts/launch_local.sh --nproc-per-node N [--nnodes M --node-rank R
         --master-addr A --master-port P] [--] PROGRAM [ARGS...]

Starts N copies of PROGRAM on this node, each with RANK, LOCAL_RANK,
WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT set, as torchrun
does, and waits for them. Their output is passed through unchanged.

  --nproc-per-node N  processes on this node (usually one per GPU); required
  --nnodes M          nodes taking part (default 1); run this script on each
  --node-rank R       this node's index, 0 .. M-1 (default 0)
  --master-addr A     host of rank 0 (default 127.0.0.1; required when M > 1)
  --master-port P     port rank 0 listens on (default 29500)

If a process exits with a non-zero status, the others are stopped (SIGTERM,
then SIGKILL after 5 s), a line names it (not for status 2, a user error the
process has explained itself) and this script exits with that status, or, with
--max-restarts N, starts them all again, up to N times (run the program with
--resume auto so that it continues from its last checkpoint). SIGINT, SIGTERM,
SIGHUP and SIGUSR1 are passed on to the processes, which get --stop-grace
seconds (default 60) to save a checkpoint and exit before SIGKILL; if they all
exit with status 3 (stopped and saved), so does this script. Bad arguments:
status 2.

  --max-restarts N    restart the job after a failure, up to N times (default 0)
  --stop-grace S      seconds between passing on a signal and SIGKILL (default 60)

Example, two processes on one machine:
  scripts/launch_local.sh --nproc-per-node 2 build/examples/stage3_ddp_launched
EOF
}

# Bad arguments: one line on stderr, status 2.
die() {
  echo "$me: $* (see --help)" >&2
  exit 2
}

# The value $2 of option $1 as a decimal number if it is one (leading zeros allowed,
# at most 9 digits so arithmetic cannot overflow), else die.
number() {
  local option=$1 value=$2
  [[ $value =~ ^[0-9]{1,9}$ ]] || die "$option: '$value' is not a whole number from 0 to 999999999"
  echo $((10#$value))
}

nproc="" nnodes=1 node_rank=0 master_addr="" master_port=29500 max_restarts=0 stop_grace=60
while (($#)); do
  option=$1 value="" has_value=0
  case $option in
    --*=*) value=${option#*=} option=${option%%=*} has_value=1 ;;
  esac
  option=${option//_/-}  # torchrun also spells them --nproc_per_node etc.
  case $option in
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    --nproc-per-node | --nnodes | --node-rank | --master-addr | --master-port | --max-restarts | \
      --stop-grace)
      if ((!has_value)); then
        (($# >= 2)) || die "$option needs a value"
        value=$2
        shift
      fi
      shift
      case $option in
        --nproc-per-node) nproc=$(number "$option" "$value") || exit 2 ;;
        --nnodes) nnodes=$(number "$option" "$value") || exit 2 ;;
        --node-rank) node_rank=$(number "$option" "$value") || exit 2 ;;
        --master-addr) master_addr=$value; [[ -n $value ]] || die "--master-addr is empty" ;;
        --master-port) master_port=$(number "$option" "$value") || exit 2 ;;
        --max-restarts) max_restarts=$(number "$option" "$value") || exit 2 ;;
        --stop-grace) stop_grace=$(number "$option" "$value") || exit 2 ;;
      esac
      ;;
    -*) die "unknown option '$1'" ;;
    *) break ;;
  esac
done

[[ -n $nproc ]] || die "--nproc-per-node is required"
((nproc >= 1)) || die "--nproc-per-node must be at least 1"
# A typo such as 20000 would start that many processes and halt the machine.
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null) || cores=1
((nproc <= 4 * cores)) ||
  die "--nproc-per-node must be at most $((4 * cores)) (4 per core of this machine's $cores)"
((nnodes >= 1)) || die "--nnodes must be at least 1"
((node_rank < nnodes)) || die "--node-rank $node_rank must be less than --nnodes $nnodes"
((master_port >= 1 && master_port <= 65535)) || die "--master-port $master_port is not 1 to 65535"
if [[ -z $master_addr ]]; then
  # 127.0.0.1 would send every node to itself.
  ((nnodes == 1)) || die "--master-addr is required with --nnodes $nnodes"
  master_addr=127.0.0.1
fi
(($# >= 1)) || die "no program given"
[[ -n $(type -P -- "$1") ]] || die "'$1' is not an executable program"

world_size=$((nproc * nnodes))
pids=()            # one per local rank; each leads its own process group
statuses=()        # exit status per local rank, once it has exited
signal_status=""   # 128 + the signal that stopped this script
grace_ticks=50     # tenths of a second from SIGTERM to SIGKILL

# Sends signal $1 to every rank's process group (or to the rank itself,
# should it have left its group).
signal_ranks() {
  local pid
  for pid in ${pids[@]+"${pids[@]}"}; do  # (an empty array is "unbound" to bash < 4.4)
    kill -s "$1" -- "-$pid" 2>/dev/null || kill -s "$1" "$pid" 2>/dev/null
  done
}

stop_ranks() {
  signal_ranks "$1"
  stopping=1
}

# shellcheck disable=SC2317  # called from the traps below
on_signal() {
  signal_status=$((128 + $2))
  grace_ticks=$((stop_grace * 10))  # time to save a checkpoint
  stop_ticks=0
  stop_ranks "$1"
}
trap 'on_signal INT 2' INT
trap 'on_signal TERM 15' TERM
trap 'on_signal HUP 1' HUP
trap 'on_signal USR1 10' USR1
# Should this script die of an unexpected error, take the ranks with it.
trap 'signal_ranks KILL' EXIT

# Each rank gets its own process group (job control on while starting them),
# so stopping a rank also stops whatever it started, and so the ranks react
# to SIGINT rather than ignoring it as plain background jobs do.
start_ranks() {
  local local_rank
  set -m
  for ((local_rank = 0; local_rank < nproc && !stopping; local_rank++)); do
    RANK=$((node_rank * nproc + local_rank)) LOCAL_RANK=$local_rank WORLD_SIZE=$world_size \
      LOCAL_WORLD_SIZE=$nproc MASTER_ADDR=$master_addr MASTER_PORT=$master_port \
      "$@" </dev/null 9<&- &
    pids+=($!)
    alive=$((alive + 1))
  done
  set +m
}

# Prints the local ranks that are stopped (SIGSTOP or a debugger: state T or t),
# killing them: they can neither save nor exit on SIGTERM.
kill_stopped() {
  local i stat names=""
  for i in "${!pids[@]}"; do
    [[ -z ${statuses[i]:-} ]] || continue
    stat=$(cat "/proc/${pids[i]}/stat" 2>/dev/null) || continue
    stat=${stat##*) }
    case ${stat%% *} in
      T | t)
        kill -s KILL -- "-${pids[i]}" 2>/dev/null || kill -s KILL "${pids[i]}" 2>/dev/null
        names+="${names:+, }$((node_rank * nproc + i))"
        ;;
    esac
  done
  echo "$names"
}

# Collects the ranks that have exited; the first failure stops the rest.
# Several ranks found dead at once: name one killed by a signal, the likely
# cause, rather than a peer that exited because it lost its connection to it.
reap() {
  local i status failed=""
  for i in "${!pids[@]}"; do
    [[ -z ${statuses[i]:-} ]] || continue
    kill -0 "${pids[i]}" 2>/dev/null && continue
    wait "${pids[i]}" 2>/dev/null  # (bash's "Killed" report: see pause)
    status=$?
    statuses[i]=$status
    alive=$((alive - 1))
    if ((status != 0)) && { [[ -z $failed ]] || ((status > 128 && statuses[failed] <= 128)); }; then
      failed=$i
    fi
  done
  if [[ -n $failed ]] && ((!stopping)); then
    failed_status=${statuses[failed]}
    stopped=$(kill_stopped)
    cause=""
    # NCCL's watchdog aborts a rank whose collective outlived its timeout.
    ((failed_status == 134)) && cause=" (SIGABRT: with NCCL, a collective that outlived --dist-timeout)"
    # Status 2 is a user error the rank has explained in its own line.
    if ((failed_status != 2)) || [[ -n $stopped ]]; then
      echo "$me: rank $((node_rank * nproc + failed)) exited with status $failed_status$cause;" \
        "${stopped:+rank $stopped is stopped (SIGSTOP or a debugger): killed; }stopping the other ranks" >&2
    fi
    grace_ticks=50
    stop_ranks TERM
  fi
}

# True while a rank's process group has a live member: the rank itself or
# something it started. Zombies don't count: once a rank is gone its children
# are reaped by init, which in a container may take a while or never happen.
group_left() {
  local table pid
  if table=$(ps -e -o pgid= -o stat= 2>/dev/null); then
    awk -v groups=" ${pids[*]} " \
      '$2 !~ /^Z/ && index(groups, " " $1 " ") { found = 1 } END { exit !found }' <<<"$table"
    return
  fi
  for pid in "${pids[@]}"; do  # no ps: zombies count too
    kill -0 -- "-$pid" 2>/dev/null && return 0
  done
  return 1
}

# Sleeps $1 seconds. Meanwhile bash collects the ranks that exit, and reports
# those that die of a signal ("Killed" and their whole command line) on its
# stderr; the ranks' own output and our one line are all that should be seen.
# It waits in `read -t` on a pipe that nobody writes to, not in `sleep`: ten
# new processes a second cost the ranks about 2% of their training speed on
# a 2-core machine (BENCHMARKS.md, section 3). Bash 3 has no fractional
# timeout: there it sleeps.
if ((BASH_VERSINFO[0] >= 4)) && exec 9<> <(:); then
  pause() {
    read -r -t "$1" -u 9 _ || true
  } 2>/dev/null
else
  pause() {
    sleep "$1"
  } 2>/dev/null
fi

# Runs the job; with --max-restarts, again after a failure.
attempt=0
while :; do
  pids=() statuses=() alive=0
  stopping=0       # 1 once the ranks have been told to stop
  stop_ticks=0     # tenths of a second since then
  killed=0         # 1 once SIGKILL has been sent
  leftovers_told=0 # 1 once what the exited ranks left running has had SIGTERM
  failed_status="" # status of the first rank that failed
  [[ -n $signal_status ]] || start_ranks "$@"
  # A signal before the first rank started: nothing to wait for.
  ((${#pids[@]})) || exit "${signal_status:-0}"
  while :; do
    reap
    if ((alive == 0)); then
      group_left || break
      if ((killed && stop_ticks >= 70)); then
        echo "$me: some processes the ranks started survive SIGKILL; giving up on them" >&2
        break
      fi
      # The ranks are gone but something they started is not: stop it too,
      # with SIGTERM even if the ranks got another signal.
      if ((!leftovers_told)); then
        stop_ranks TERM
        leftovers_told=1
      fi
    fi
    if ((stopping)); then
      # SIGKILL a grace period after the first signal, for whatever ignored it.
      if ((stop_ticks >= grace_ticks && !killed)); then
        signal_ranks KILL
        killed=1
      fi
      stop_ticks=$((stop_ticks + 1))
    fi
    # Polling rather than `wait -n`: that misses a rank that died of a signal
    # while bash ran another command (bash 5.2), and would then wait forever
    # for ranks blocked on the dead one.
    pause 0.1
  done
  [[ -z $signal_status && -n $failed_status ]] && ((attempt < max_restarts)) || break
  attempt=$((attempt + 1))
  echo "$me: restarting the job (restart $attempt of $max_restarts)" >&2
done

trap - EXIT
if [[ -n $signal_status ]]; then
  # Every rank stopped cleanly after saving a checkpoint: say so, with their status.
  stopped_cleanly=1
  for status in "${statuses[@]}"; do ((status == 3)) || stopped_cleanly=0; done
  ((stopped_cleanly)) && exit 3
  exit "$signal_status"
fi
exit "${failed_status:-0}"
