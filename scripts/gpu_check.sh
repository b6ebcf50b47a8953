#!/usr/bin/env bash
# The suite on a CUDA machine, in one go: build (Release, ninja, all cores)
# against the LibTorch of python3's torch, run the test suite (CUDA tests
# included), run each stage briefly on the GPU, run the benchmark harness,
# and write a report (OUTDIR/report.md, OUTDIR/report.json, logs beside).
#
#   scripts/gpu_check.sh OUTDIR
#
# Meant to finish within 8 minutes on one H100 with 16 cores. Where the machine
# lacks cxxopts, GoogleTest, libjpeg or Fashion-MNIST, they are taken from .gpu-carry/
# (scripts/prepare_gpu_carry.sh fills it). Every step runs even if an earlier
# one failed (except what needs the build); the exit status is 1 if any failed.
#
# Environment: PYTHON (default python3), whose torch gives LibTorch and runs
# the Python benchmarks; GPU_CHECK_REPEATS (default 3), the benchmark rounds
# each median is taken over; GPU_CHECK_DEVICE=cpu rehearses the whole script on a
# machine without a GPU (stages and benchmarks on the CPU).
set -uo pipefail
(($# == 1)) || { echo "usage: scripts/gpu_check.sh OUTDIR" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1" || exit 2
out=$(cd "$1" && pwd)
build=$root/build-gpu
carry=$root/.gpu-carry
cd "$root" || exit 2

steps_json=() failed=0
# step NAME TIMEOUT_S COMMAND...: runs it with its output in OUTDIR/NAME.log.
step() {
  local name=$1 limit=$2 start status seconds
  shift 2
  echo "gpu_check: $name ..." >&2
  start=$(date +%s.%N)
  timeout --kill-after=10 "$limit" "$@" >"$out/$name.log" 2>&1
  status=$?
  seconds=$(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $start }")
  ((status == 0)) || failed=1
  echo "gpu_check: $name: exit $status after $seconds s" >&2
  steps_json+=("{\"step\": \"$name\", \"exit_status\": $status, \"seconds\": $seconds}")
  printf '| %s | %s | %s |\n' "$name" "$([[ $status == 0 ]] && echo ok || echo "FAILED ($status)")" \
    "$seconds" >>"$out/steps.md"
  return "$status"
}

: >"$out/steps.md"
python=${PYTHON:-python3}
device=${GPU_CHECK_DEVICE:-cuda}
torch_dir=$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null)
torch_version=$("$python" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)' 2>/dev/null)
[[ -n $torch_dir ]] || { echo "gpu_check: $python has no torch (set PYTHON)" >&2; exit 2; }
gpu="none (GPU_CHECK_DEVICE=$device)" capability=""
if [[ $device == cuda ]]; then
  gpu=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -n1)
  capability=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n1)
  [[ -n $gpu ]] || { echo "gpu_check: no GPU (nvidia-smi found none)" >&2; exit 2; }
fi

# ---------------------------------------------------------------- build
configure_args=(-S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_PREFIX_PATH="$torch_dir")
if [[ -n $capability ]]; then
  configure_args+=(-DTORCH_CUDA_ARCH_LIST="$capability" -DCMAKE_CUDA_ARCHITECTURES="${capability/./}")
fi
[[ -f /usr/include/cxxopts.hpp || ! -d $carry/cxxopts ]] ||
  configure_args+=(-DCXXOPTS_INCLUDE_DIR="$carry/cxxopts")
[[ -d /usr/src/googletest || ! -d $carry/googletest ]] ||
  configure_args+=(-DGTEST_SOURCE_DIR="$carry/googletest")
[[ -f /usr/include/jpeglib.h || ! -d $carry/libjpeg ]] ||
  configure_args+=(-DJPEG_INCLUDE_DIR="$carry/libjpeg/include"
    -DJPEG_LIBRARY_RELEASE="$carry/libjpeg/lib/libjpeg.so" -DJPEG_LIBRARY="$carry/libjpeg/lib/libjpeg.so")
built=0
step configure 180 cmake "${configure_args[@]}" &&
  step build 420 cmake --build "$build" --parallel "$(nproc)" && built=1

# ---------------------------------------------------------------- data
data=/usr/share/datasets/fashion-mnist
if [[ ! -d $data && -d $carry/fashion-mnist ]]; then
  data=$build/fashion-mnist  # uncompressed: the build may lack zlib
  mkdir -p "$data"
  for file in "$carry"/fashion-mnist/*.gz; do
    gunzip -c "$file" >"$data/$(basename "$file" .gz)"
  done
fi

if ((built)); then
  # -------------------------------------------------------------- tests
  # One test per core, each process on one CPU thread: every core busy and none
  # oversubscribed (with 16 threads per test on 16 cores, the resume tests took
  # 150 s instead of 11 on an H200's machine).
  step tests 240 env OMP_NUM_THREADS=1 ctest --test-dir "$build" -j "$(nproc)" \
    --output-on-failure --timeout 200
  # -------------------------------------------------------------- stages
  job=(--device "$device" --data-dir "$data" --epochs 1 --max-steps 400 --log-interval 100)
  step stage1 120 "$build/examples/stage1_single_device" "${job[@]}" --output-dir "$out/stage1"
  step stage2 120 "$build/examples/stage2_data_parallel" "${job[@]}" --output-dir "$out/stage2"
  step stage3 120 env -u RANK -u WORLD_SIZE scripts/launch_local.sh --nproc-per-node 1 \
    --master-port 29517 "$build/examples/stage3_ddp_launched" "${job[@]}" --output-dir "$out/stage3"
  step stage4 120 "$build/examples/stage4_ddp_spawned" --nproc-per-node 1 "${job[@]}" \
    --output-dir "$out/stage4"
  if [[ $device == cuda ]]; then
    # DataParallel's multi-replica path on one GPU: ResNet-20 (BatchNorm) with
    # one replica, then two on GPU 0 (--devices 0,0), for their images/s.
    step stage2_resnet20_one_replica 120 "$build/examples/stage2_data_parallel" "${job[@]}" \
      --model resnet20 --devices 0 --output-dir "$out/stage2_resnet20_one_replica"
    step stage2_resnet20_two_replicas 120 "$build/examples/stage2_data_parallel" "${job[@]}" \
      --model resnet20 --devices 0,0 --output-dir "$out/stage2_resnet20_two_replicas"
  fi
  step stage1_fast_path 120 "$build/examples/stage1_single_device" "${job[@]}" --amp \
    --data-on-device --cuda-graph --output-dir "$out/stage1_fast_path"
  if [[ $device == cuda ]]; then
    # Issue #17 on a GPU: fp16 autocast with loss scaling (ResNet-20, whose
    # convolutions run in fp16), --accumulate-steps under a CUDA graph, --sync-bn.
    step stage1_fp16 120 "$build/examples/stage1_single_device" "${job[@]}" --model resnet20 \
      --amp-dtype fp16 --output-dir "$out/stage1_fp16"
    step stage1_accumulate_graph 120 "$build/examples/stage1_single_device" "${job[@]}" \
      --accumulate-steps 2 --cuda-graph --output-dir "$out/stage1_accumulate_graph"
    # --sync-bn on the one GPU there is (NCCL, world size 1: two NCCL ranks need two GPUs).
    step stage4_sync_bn 120 "$build/examples/stage4_ddp_spawned" --nproc-per-node 1 "${job[@]}" \
      --model resnet20 --sync-bn --output-dir "$out/stage4_sync_bn"
    # Issue #19: --trace on a GPU (the device synchronized at span ends inside
    # the window); the timeline comes back in $out for scripts/plot_timeline.py.
    step stage4_trace 120 "$build/examples/stage4_ddp_spawned" --nproc-per-node 1 "${job[@]}" \
      --model resnet20 --trace "$out/stage4_trace/trace.json" --trace-steps 100:104 \
      --output-dir "$out/stage4_trace"
  fi
  # Where a step of stage 1 spends its GPU time, kernel by kernel (nsys's
  # summary tables in stage1_profile.log), where Nsight Systems is installed.
  if [[ $device == cuda ]] && command -v nsys >/dev/null; then
    step stage1_profile 120 nsys profile --stats=true --force-overwrite=true \
      -o "$out/stage1_profile" "$build/examples/stage1_single_device" "${job[@]}" \
      --output-dir "$out/stage1_profile_run"
  fi
  # -------------------------------------------------------------- benchmarks
  step benchmarks 420 "$python" benchmarks/run_benchmarks.py --build "$build" --out "$out/bench" \
    --repeats "${GPU_CHECK_REPEATS:-3}" --quick --data-dir "$data" $([[ $device == cpu ]] && echo --cpu)
fi

# ---------------------------------------------------------------- report
{
  echo "# GPU check, $(date -u +%Y-%m-%d\ %H:%M) UTC"
  echo
  echo "GPU: $gpu; compute capability $capability; torch $torch_version; $(nproc) cores."
  echo
  echo "| step | result | seconds |"
  echo "|---|---|---|"
  cat "$out/steps.md"
  echo
  if [[ -f $out/tests.log ]]; then
    echo "Tests: $(grep -E 'tests passed|tests failed' "$out/tests.log" | tail -n1)"
    grep -E '^\s*[0-9]+ - .*\((Failed|Timeout|SEGFAULT|Subprocess)' "$out/tests.log" | sed 's/^/    /'
    echo
  fi
  for stage in stage1 stage2 stage2_resnet20_one_replica stage2_resnet20_two_replicas stage3 \
               stage4 stage1_fast_path; do
    [[ -f $out/$stage.log ]] || continue
    echo "$stage: $(grep -E 'Accuracy' "$out/$stage.log" | tail -n1 | xargs) $(grep -E 'Epoch time' "$out/$stage.log" | tail -n1) $(grep -E -e '--cuda-graph' "$out/$stage.log")"
  done
  echo
  [[ -f $out/bench/benchmarks.md ]] && cat "$out/bench/benchmarks.md"
} >"$out/report.md"
{
  echo "{\"gpu\": \"$gpu\", \"compute_capability\": \"$capability\", \"torch\": \"$torch_version\","
  echo " \"steps\": [$(IFS=,; echo "${steps_json[*]}")],"
  echo " \"benchmarks\": $(cat "$out/bench/benchmarks.json" 2>/dev/null || echo null)}"
} >"$out/report.json"
cat "$out/report.md"
exit "$failed"
