#!/usr/bin/env bash
# Time to accuracy on a GPU: ResNet-20 on the CIFAR-10 image folder, random
# crop and flip, with the whole fast path (--amp --channels-last
# --data-on-device --cuda-graph). Two recipes (RECIPE=...):
#   fast (default, 60 epochs): batch 256, SGD lr 0.2 (0.1 per 128, scaled
#     linearly), Nesterov momentum 0.9, weight decay 5e-4, 2 warm-up epochs
#     then cosine to 0, label smoothing 0.1; replays one CUDA graph throughout
#     (the rate lives on the GPU). Aimed at 90% within 90 s of training; its
#     epochs and batch are a first guess, not yet tuned on a GPU.
#   he (default 160 epochs): He et al. 2016, batch 128, lr 0.1 divided by 10
#     at 50% and 75% of training, momentum 0.9, weight decay 5e-4.
# Uses the build of scripts/gpu_check.sh (build-gpu/); appends its result to
# OUTDIR/report.md.
#
#   [RECIPE=fast|he] scripts/gpu_time_to_accuracy.sh OUTDIR [EPOCHS]
#
# Reports the training time until the first epoch at 90% and at 91% test
# accuracy (the sum of metrics.jsonl's epoch_seconds up to it), the best and
# the final accuracy, and the whole wall time.
#
# The archive comes from .gpu-carry/ (scripts/prepare_gpu_carry.sh --cifar) or
# ../shared/datasets/. Environment: GPU_CHECK_DEVICE=cpu rehearses it on a CPU.
set -uo pipefail
(($# >= 1)) || { echo "usage: scripts/gpu_time_to_accuracy.sh OUTDIR [EPOCHS]" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1" || exit 2
out=$(cd "$1" && pwd)
recipe=${RECIPE:-fast}
case $recipe in
  fast) epochs=${2:-60}
        options=(--batch-size 256 --lr 0.2 --momentum 0.9 --nesterov --weight-decay 5e-4
                 --schedule cosine --warmup-epochs 2 --label-smoothing 0.1) ;;
  he)   epochs=${2:-160}
        options=(--batch-size 128 --lr 0.1 --momentum 0.9 --weight-decay 5e-4 --schedule step) ;;
  *) echo "gpu_time_to_accuracy: RECIPE must be fast or he, got '$recipe'" >&2; exit 2 ;;
esac
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
  "${options[@]}" --epochs "$epochs" "${fast[@]}" --log-interval 1000 --output-dir "$out/resnet20" \
  >"$out/resnet20.log" 2>&1
status=$?
seconds=$(awk "BEGIN { printf \"%.0f\", $(date +%s.%N) - $start }")
accuracy=$(grep -E 'Accuracy' "$out/resnet20.log" | tail -n1 | xargs)
summary=$(awk -F'[:,}]' '
  { for (i = 1; i < NF; i++) {
      key = $i; gsub(/[ "{]/, "", key)
      if (key == "epoch") epoch = $(i + 1) + 0
      if (key == "test_accuracy") accuracy = $(i + 1) + 0
      if (key == "epoch_seconds") seconds = $(i + 1) + 0
    }
    total += seconds
    if (accuracy > best) best = accuracy
    if (!reached90 && accuracy >= 0.9) { reached90 = epoch; seconds90 = total }
    if (!reached91 && accuracy >= 0.91) { reached91 = epoch; seconds91 = total }
  }
  END {
    printf "best epoch %.1f%%; ", 100 * best
    if (reached90) printf "90%% first reached after epoch %d, %.0f s of training; ", reached90, seconds90
    else printf "90%% not reached; "
    if (reached91) printf "91%% after epoch %d, %.0f s; ", reached91, seconds91
    else printf "91%% not reached; "
    printf "%.0f s of training in all", total
  }' "$out/resnet20/metrics.jsonl" 2>/dev/null)
line="Time to accuracy: ResNet-20, CIFAR-10, recipe $recipe, $epochs epochs, fast path on $device: final $accuracy; $summary; $seconds s wall time (JPEG decoding and evaluation included); exit $status."
echo "$line" | tee -a "$out/report.md"
exit "$status"
