#!/usr/bin/env bash
# Regenerates RUN.md from real runs of the built executables.
#   scripts/make_run_md.sh [BUILD_DIR]
# Runs: stage 1 with its defaults (the tutorial's job, 5 epochs), stage 2 for
# one epoch, stage 3 with two CPU ranks (the default job), stage 4 with two
# workers (the default job), stage 3 under a one-node Slurm cluster of
# scripts/slurm_local.sh for one epoch (where Slurm is installed), ResNet-20 on the
# CIFAR-10 image folder for one epoch when
# ../shared/datasets/cifar10-jpeg.tar.gz is there, and two bad inputs.
# Takes about 10 minutes on 2 CPU cores.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
work=$(mktemp -d)
chmod 755 "$work"  # scripts/slurm_local.sh's munged wants its folder open to all
trap 'rm -rf "$work"' EXIT
out=$root/RUN.md

# Runs a command in $work, and writes it and what it printed as a console block.
show() {
  local title=$1; shift
  echo "running: $*" >&2
  {
    echo "## $title"
    echo
    echo '```'
    echo "\$ $*"
    (cd "$work" && "$@" 2>&1) || echo "(exit status $?)"
    echo '```'
    echo
  } >> "$out.tmp"
}

cat > "$out.tmp" <<HEADER
# Real runs

Produced by \`scripts/make_run_md.sh\` on $(date -u +%Y-%m-%d): $(nproc) CPU cores
($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), no GPU,
Debian's LibTorch $(dpkg-query -W -f='${Version}' libtorch-dev 2>/dev/null || echo '?').
Commands are shown with the build folder relative to the repository root,
run in an empty working folder.

HEADER

# Commands run inside $work with relative paths, so what they print holds no
# temporary folder names.
show "Stage 1, the tutorial's job (defaults)" \
  "$build/examples/stage1_single_device" --output-dir stage1
show "Stage 2 on a machine without GPUs (one epoch)" \
  "$build/examples/stage2_data_parallel" --epochs 1 --output-dir stage2

show "Stage 3: DistributedDataParallel with two CPU ranks (scripts/launch_local.sh)" \
  "$root/scripts/launch_local.sh" --nproc-per-node 2 --master-port 29533 \
  "$build/examples/stage3_ddp_launched" --output-dir stage3

show "Stage 4: two worker processes started by the program (one epoch)" \
  "$build/examples/stage4_ddp_spawned" --nproc-per-node 2 --output-dir stage4

# Stage 5: the batch script under a one-node Slurm cluster on this machine,
# from the working folder, where build/ leads to the build tree.
if command -v slurmctld >/dev/null; then
  ln -s "$build" "$work/build"
  echo "running: stage 5 under Slurm" >&2
  {
    echo "## Stage 5: stage 3 under Slurm (scripts/slurm_local.sh, one epoch)"
    echo
    echo '```'
    echo "\$ eval \"\$(scripts/slurm_local.sh start --dir slurm --port 16817)\""
    eval "$(cd "$work" && "$root/scripts/slurm_local.sh" start --dir slurm --port 16817)"
    sbatch_options=(--wait --nodes=1 --ntasks-per-node=2 --cpus-per-task=1 --gpus-per-node=0)
    echo "\$ sbatch ${sbatch_options[*]} scripts/slurm_stage3.sbatch --epochs 1"
    (cd "$work" && sbatch "${sbatch_options[@]}" "$root/scripts/slurm_stage3.sbatch" \
      --epochs 1 2>&1) || echo "(exit status $?)"
    echo "\$ cat ddp-stage3-1.out"
    cat "$work/ddp-stage3-1.out"
    echo '```'
    echo
  } >> "$out.tmp"
  "$root/scripts/slurm_local.sh" stop --dir "$work/slurm"
  rm -f "$work/build"
fi

cifar=$root/../shared/datasets/cifar10-jpeg.tar.gz
if [[ -f $cifar ]]; then
  mkdir -p "$work/cifar10"
  tar -xzf "$cifar" -C "$work/cifar10"
  show "ResNet-20 on the CIFAR-10 image folder (one epoch of He et al.'s recipe, CPU)" \
    "$build/examples/stage1_single_device" --dataset image-folder --data-dir cifar10 \
    --model resnet20 --batch-size 128 --lr 0.1 --momentum 0.9 --weight-decay 1e-4 \
    --epochs 1 --log-interval 50 --output-dir resnet20
fi

show "A bad option" "$build/examples/stage1_single_device" --batch-size 0
show "A missing dataset folder" "$build/examples/stage1_single_device" --data-dir /no/such/folder

# The build tree's absolute path means nothing to a reader.
sed -e "s|$build/|build/|g" -e "s|$root/scripts/|scripts/|g" "$out.tmp" > "$out"
rm -f "$out.tmp"
echo "wrote $out" >&2
