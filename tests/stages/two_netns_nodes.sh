#!/usr/bin/env bash
# Two "nodes" on one machine, for the multi-node test: two network namespaces
# joined by a veth pair (10.231.0.1 and 10.231.0.2), each with only its own
# address and loopback, so the ranks of one node can reach the other only
# through the veth, as they would through a real network.
#
# Usage: two_netns_nodes.sh NODE1_LOG COMMAND
# Runs `sh -c COMMAND` in each namespace with NODE_RANK (0 or 1) and
# MASTER_ADDR (node 0's address) set. Node 0's output is this script's; node
# 1's goes to NODE1_LOG. Exit status: node 0's, else node 1's if that failed;
# 77 with the reason on stderr when the namespaces cannot be made here.
set -u

readonly node0=10.231.0.1 node1=10.231.0.2

if [[ ${TWO_NETNS_INSIDE:-} != 1 ]]; then
  (($# == 2)) || { echo "usage: $0 NODE1_LOG COMMAND" >&2; exit 2; }
  command -v ip >/dev/null || { echo "skip: no 'ip' command (iproute2)" >&2; exit 77; }
  # A user namespace with its own network stack: no root needed where the
  # kernel allows unprivileged user namespaces.
  if ! unshare --user --map-root-user --net true 2>/dev/null; then
    echo "skip: cannot create user and network namespaces here (unshare -rn failed)" >&2
    exit 77
  fi
  TWO_NETNS_INSIDE=1 exec unshare --user --map-root-user --net "$0" "$@"
fi

# Now inside node 0's namespace.
node1_log=$1 command=$2
handshake=$(mktemp -d)
trap 'rm -rf "$handshake"' EXIT
mkfifo "$handshake/created" "$handshake/wired"
ip link set lo up

# Node 1: a second network namespace. It says when it exists, waits until its
# end of the veth has been moved in, configures it and runs the command.
unshare --net sh -c '
  echo created > "$1/created"
  read -r _ < "$1/wired"
  ip link set lo up && ip addr add "$2/24" dev veth1 && ip link set veth1 up || exit 1
  NODE_RANK=1 MASTER_ADDR=$3 exec sh -c "$4"' \
  node1 "$handshake" "$node1" "$node0" "$command" >"$node1_log" 2>&1 &
node1_pid=$!
read -r _ <"$handshake/created"

if ! { ip link add veth0 type veth peer name veth1 netns "$node1_pid" &&
  ip addr add "$node0/24" dev veth0 && ip link set veth0 up; }; then
  echo "skip: cannot create a veth pair between the namespaces" >&2
  kill "$node1_pid" 2>/dev/null
  exit 77
fi
echo wired >"$handshake/wired"

NODE_RANK=0 MASTER_ADDR=$node0 sh -c "$command"
node0_status=$?
wait "$node1_pid"
node1_status=$?
((node0_status != 0)) && exit "$node0_status"
exit "$node1_status"
