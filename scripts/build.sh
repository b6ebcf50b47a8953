#!/usr/bin/env bash
# Configures and builds the project in build/ (Release, Ninja when present).
#   scripts/build.sh [extra cmake arguments...]
# BUILD_DIR overrides the folder. Set-up of packages is scripts/install_deps.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
generator=()
if command -v ninja >/dev/null && [[ ! -f $build/CMakeCache.txt ]]; then generator=(-G Ninja); fi
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build" -j "$(nproc)"
