#!/usr/bin/env bash
# Configures and builds the project in build/ (Release, Ninja when present).
#   scripts/build.sh [--stages-only] [extra cmake arguments...]
# --stages-only builds the four stage programs and the library they use, not
# the tests and benchmarks (scripts/quickstart.sh). BUILD_DIR overrides the
# folder. Set-up of packages is scripts/install_deps.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
targets=()
if [[ ${1:-} == --stages-only ]]; then
  shift
  targets=(--target stage1_single_device stage2_data_parallel stage3_ddp_launched
    stage4_ddp_spawned)
fi
generator=()
if command -v ninja >/dev/null && [[ ! -f $build/CMakeCache.txt ]]; then generator=(-G Ninja); fi
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build" -j "$(nproc)" "${targets[@]}"
