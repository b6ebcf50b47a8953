#!/usr/bin/env bash
# The cost of DistributedDataParallel on the tutorial's job (CPU, Gloo):
# stage 1 against stage 3 at world size 1 (the wrapper's own overhead) and at
# world size 2 (two ranks sharing this machine's cores), side by side.
#   benchmarks/bench_ddp.sh [BUILD_DIR] [ROUNDS] [EPOCHS]
# Prints a markdown table of median training time per epoch (from each run's
# metrics.jsonl, so start-up and data loading are left out) and the ratios.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
rounds=${2:-3}
epochs=${3:-1}
launch=$here/../scripts/launch_local.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Mean epoch_seconds of a run's metrics.jsonl.
epoch_seconds() {
  sed 's/.*"epoch_seconds": \([0-9.]*\).*/\1/' "$1/metrics.jsonl" |
    awk '{ sum += $1 } END { print sum / NR }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

single=() ddp1=() ddp2=()
port=29600
for round in $(seq 1 "$rounds"); do
  "$build/examples/stage1_single_device" --device cpu --epochs "$epochs" --output-dir "$work/s1" >/dev/null
  single+=("$(epoch_seconds "$work/s1")")
  for world in 1 2; do
    port=$((port + 1))
    "$launch" --nproc-per-node "$world" --master-port "$port" \
      "$build/examples/stage3_ddp_launched" --device cpu --epochs "$epochs" \
      --output-dir "$work/s3w$world" >/dev/null
  done
  ddp1+=("$(epoch_seconds "$work/s3w1")")
  ddp2+=("$(epoch_seconds "$work/s3w2")")
  echo "round $round: stage 1 ${single[-1]} s, DDP x1 ${ddp1[-1]} s, DDP x2 ${ddp2[-1]} s per epoch" >&2
done
s=$(median "${single[@]}") d1=$(median "${ddp1[@]}") d2=$(median "${ddp2[@]}")
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
cat <<TABLE
| run | training time per epoch, median of $rounds (s) | relative to stage 1 |
|---|---|---|
| stage 1, one process | $s | 1.00 |
| stage 3, DDP, world size 1 | $d1 | $(ratio "$d1" "$s") |
| stage 3, DDP, world size 2 (same $(nproc) cores) | $d2 | $(ratio "$d2" "$s") |

Job: the tutorial's (Fashion-MNIST, MLP, global batch 64), $epochs epoch(s) per run, Gloo backend.
TABLE
