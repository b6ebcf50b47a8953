#!/usr/bin/env bash
# Time to accuracy on a GPU: ResNet-20 on the CIFAR-10 image folder with He et
# al.'s recipe scaled to fit (SGD momentum 0.9, lr 0.1 divided by 10 at 50%
# and 75% of training, batch 128, random crop and flip), with the whole fast
# path (--amp --channels-last --data-on-device --cuda-graph). Uses the build
# of scripts/gpu_check.sh (build-gpu/); appends its result to OUTDIR/report.md.
#
#   scripts/gpu_time_to_accuracy.sh OUTDIR [EPOCHS]     (default 40 epochs)
#
# The archive comes from .gpu-carry/ (scripts/prepare_gpu_carry.sh --cifar) or
# ../shared/datasets/. Environment: GPU_CHECK_DEVICE=cpu rehearses it on a CPU.
set -uo pipefail
(($# >= 1)) || { echo "usage: scripts/gpu_time_to_accuracy.sh OUTDIR [EPOCHS]" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1" || exit 2
out=$(cd "$1" && pwd)
epochs=${2:-40}
device=${GPU_CHECK_DEVICE:-cuda}
build=$root/build-gpu
stage1=$build/examples/stage1_single_device
[[ -x $stage1 ]] || { echo "gpu_time_to_accuracy: $stage1 is not built (run scripts/gpu_check.sh first)" >&2; exit 2; }
archive=""
for candidate in "$root/.gpu-carry/cifar10-jpeg.tar.gz" "$root/../shared/datasets/cifar10-jpeg.tar.gz"; do
  [[ -f $candidate ]] && { archive=$candidate; break; }
done
[[ -n $archive ]] || { echo "gpu_time_to_accuracy: no cifar10-jpeg.tar.gz (scripts/prepare_gpu_carry.sh --cifar)" >&2; exit 2; }

data=$build/cifar10
if [[ ! -d $data/train ]]; then
  mkdir -p "$data" && tar -xzf "$archive" -C "$data" || exit 1
fi
fast=(--amp --channels-last --data-on-device)
[[ $device == cuda ]] && fast+=(--cuda-graph)
start=$(date +%s.%N)
"$stage1" --device "$device" --dataset image-folder --data-dir "$data" --model resnet20 \
  --batch-size 128 --lr 0.1 --momentum 0.9 --weight-decay 5e-4 --schedule step \
  --epochs "$epochs" "${fast[@]}" --log-interval 1000 --output-dir "$out/resnet20" \
  >"$out/resnet20.log" 2>&1
status=$?
seconds=$(awk "BEGIN { printf \"%.0f\", $(date +%s.%N) - $start }")
accuracy=$(grep -E 'Accuracy' "$out/resnet20.log" | tail -n1 | xargs)
best=$(sed 's/.*"test_accuracy": \([0-9.]*\).*/\1/' "$out/resnet20/metrics.jsonl" 2>/dev/null | sort -g | tail -n1)
train_seconds=$(sed 's/.*"epoch_seconds": \([0-9.]*\).*/\1/' "$out/resnet20/metrics.jsonl" 2>/dev/null |
  awk '{ s += $1 } END { printf "%.0f", s }')
line="Time to accuracy: ResNet-20, CIFAR-10, $epochs epochs, fast path on $device: final $accuracy (best epoch $(awk "BEGIN { printf \"%.1f\", 100 * ${best:-0} }")%); ${train_seconds:-?} s training, $seconds s in all (data loading and evaluation included); exit $status."
echo "$line" | tee -a "$out/report.md"
exit "$status"
