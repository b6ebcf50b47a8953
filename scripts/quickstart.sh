#!/usr/bin/env bash
# From a fresh clone to a trained model: installs what is missing, builds,
# and runs stage 1 on Fashion-MNIST (Debian's dataset-fashion-mnist) with the
# tutorial's settings. Extra arguments go to stage 1, e.g. --epochs 1.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install_deps.sh"
"$root/scripts/build.sh"
"${BUILD_DIR:-$root/build}/examples/stage1_single_device" "$@"
