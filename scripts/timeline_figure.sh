#!/usr/bin/env bash
# Chapter 3's timeline picture: two CPU ranks (Gloo) train ResNet-20 on
# Fashion-MNIST for 14 steps, once with small gradient buckets and once with
# one bucket, each recording steps 10 to 13 (--trace); scripts/plot_timeline.py
# draws both, one above the other, each with the share of the all-reduce that
# backward hid, and prints those figures as JSON lines.
#   scripts/timeline_figure.sh [OUT.png] [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-timeline.png}
build=${2:-$here/../build}
python=python3
for candidate in python3 /usr/bin/python3; do  # the one with matplotlib
  if "$candidate" -c "import matplotlib" 2>/dev/null; then python=$candidate; break; fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# name, then the bucket caps: ResNet-20's gradients are 1.08 MB, so the
# defaults (first bucket 1 MB, then 25 MB) make nearly one bucket.
runs=("small --bucket-cap-mb 0.1 --first-bucket-cap-mb 0.05"
      "one --first-bucket-cap-mb 25")
for run in "${runs[@]}"; do
  read -r name caps <<<"$run"
  # shellcheck disable=SC2086  # $caps is several options
  "$here/launch_local.sh" --nproc-per-node 2 "$build/examples/stage3_ddp_launched" \
    --device cpu --model resnet20 --max-steps 14 --no-progress $caps \
    --trace "$work/$name/trace.json" --trace-steps 10:14 --output-dir "$work/$name" \
    >"$work/$name.log" 2>&1 || { cat "$work/$name.log" >&2; exit 1; }
done
"$python" "$here/plot_timeline.py" "$work/small/trace.json" "$work/one/trace.json" \
  --label "ResNet-20, 2 CPU ranks, small buckets (--bucket-cap-mb 0.1 --first-bucket-cap-mb 0.05)" \
  --label "ResNet-20, 2 CPU ranks, one bucket (--first-bucket-cap-mb 25)" \
  --out "$out" --summary
