#!/usr/bin/env bash
# Stage 1 against the Python peer on the tutorial's job, side by side.
#
#   benchmarks/bench_stage1.sh [BUILD_DIR] [ROUNDS] [-- extra args for both programs]
#
# Runs the C++ stage 1 and benchmarks/tutorial_job.py alternately ROUNDS times
# (default 1) with the same data, epochs and thread count, then prints a
# markdown table of whole-run wall times (medians), accuracies and the ratio.
# Environment: PYTHON (default /usr/bin/python3, Debian's python3-torch),
# DATA_DIR (default /usr/share/datasets/fashion-mnist), EPOCHS (default 5),
# THREADS (default: all cores).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
rounds=${2:-1}
python=${PYTHON:-/usr/bin/python3}
data_dir=${DATA_DIR:-/usr/share/datasets/fashion-mnist}
epochs=${EPOCHS:-5}
threads=${THREADS:-$(nproc)}
stage1=$build/examples/stage1_single_device
[[ -x $stage1 ]] || { echo "error: $stage1 not built (cmake --build $build)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
calc() { awk "BEGIN { print $* }"; }
cpp_seconds=() py_seconds=()
for round in $(seq 1 "$rounds"); do
  start=$(now)
  "$stage1" --data-dir "$data_dir" --epochs "$epochs" --threads "$threads" \
    --output-dir "$work/cpp" > "$work/cpp.log"
  cpp_seconds+=("$(calc "$(now) - $start")")
  cpp_accuracy=$(tail -n 1 "$work/cpp/metrics.jsonl" | sed 's/.*"test_accuracy": \([0-9.]*\).*/\1/')

  start=$(now)
  "$python" "$here/tutorial_job.py" --data-dir "$data_dir" --epochs "$epochs" \
    --threads "$threads" > "$work/py.log"
  py_seconds+=("$(calc "$(now) - $start")")
  py_accuracy=$(tail -n 1 "$work/py.log" | sed 's/.*"accuracy": \([0-9.]*\).*/\1/')
  echo "round $round: C++ ${cpp_seconds[-1]} s (accuracy $cpp_accuracy), Python ${py_seconds[-1]} s (accuracy $py_accuracy)" >&2
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
cpp=$(median "${cpp_seconds[@]}")
py=$(median "${py_seconds[@]}")
torch_version=$("$python" -c 'import torch; print(torch.__version__)')
cat <<TABLE
| program | wall time, median of $rounds (s) | final test accuracy | speed vs Python |
|---|---|---|---|
| C++ stage1_single_device | $(printf %.1f "$cpp") | $(printf %.1f%% "$(calc "$cpp_accuracy * 100")") | $(printf %.2fx "$(calc "$py / $cpp")") |
| Python tutorial_job.py (torch $torch_version) | $(printf %.1f "$py") | $(printf %.1f%% "$(calc "$py_accuracy * 100")") | 1.00x |

Job: Fashion-MNIST, MLP, SGD lr 1e-3, batch 64, $epochs epochs, $threads threads; $(nproc) cores of $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs).
TABLE
