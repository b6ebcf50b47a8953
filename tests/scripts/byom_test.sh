#!/usr/bin/env bash
# The DDP in a project of one's own: installs this build's libraries into a
# temporary prefix, builds examples/byom against that package (and nothing of
# the source tree), and trains it for two epochs on 2 CPU ranks under
# launch_local.sh, on a small IDX dataset this script writes.
#   byom_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 source=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "byom_test: $*" >&2; exit 1; }
show_and_fail() { cat "$1" >&2; fail "$2"; }

cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" 2>&1 ||
  show_and_fail "$work/install.log" "cmake --install failed"
[[ -f $work/prefix/lib/cmake/libtorch_ddp/libtorch_ddpConfig.cmake ]] || fail "no package config installed"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
# Warnings are errors: the example stays clean (its includes of the package are system ones).
cmake -S "$source/examples/byom" -B "$work/byom" "${generator[@]}" \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Werror" \
  >"$work/configure.log" 2>&1 ||
  show_and_fail "$work/configure.log" "configuring examples/byom failed"
cmake --build "$work/byom" >"$work/build.log" 2>&1 || show_and_fail "$work/build.log" "building examples/byom failed"
# Built from the installed headers only.
if grep -rqs -- "$source/src" "$work/byom/CMakeFiles" "$work/byom/build.ninja"; then
  fail "examples/byom was built with the source tree's headers, not the installed ones"
fi

# 256 training and 64 test images, Fashion-MNIST's file names and format.
python3 - "$work/data" <<'PY'
import os, random, struct, sys
folder = sys.argv[1]
os.makedirs(folder)
random.seed(0)
for prefix, n in (("train", 256), ("t10k", 64)):
    labels = [i % 10 for i in range(n)]
    with open(os.path.join(folder, prefix + "-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 2051, n, 28, 28))
        f.write(bytes(random.randrange(256) for _ in range(n * 28 * 28)))
    with open(os.path.join(folder, prefix + "-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 2049, n) + bytes(labels))
PY
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
env -u RANK -u WORLD_SIZE -u SLURM_PROCID -u OMPI_COMM_WORLD_RANK \
  "$source/scripts/launch_local.sh" --nproc-per-node 2 --master-port "$port" \
  "$work/byom/byom" --data-dir "$work/data" --epochs 2 --output "$work/model.pt" \
  >"$work/run.log" 2>&1 || show_and_fail "$work/run.log" "byom on 2 ranks failed"
grep -q "^epoch 2: test accuracy .*% of 64 images" "$work/run.log" ||
  show_and_fail "$work/run.log" "no evaluation over the whole test set (64 images) after epoch 2"
(($(grep -c "^epoch " "$work/run.log") == 2)) || show_and_fail "$work/run.log" "not one line per epoch (rank 0 alone prints)"
[[ -s $work/model.pt ]] || fail "rank 0 saved no model"
cat "$work/run.log"
echo "byom_test: ok"
