#!/usr/bin/env bash
# From a fresh clone to a trained model: installs what building and running
# need (scripts/run_tests.sh adds what the tests need), builds the four stages,
# and runs stage 1 on Fashion-MNIST (Debian's dataset-fashion-mnist) with the
# tutorial's settings. Extra arguments go to stage 1, e.g. --epochs 1.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
elapsed() { printf '%dm%02ds' $((SECONDS / 60)) $((SECONDS % 60)); }
"$root/scripts/install_deps.sh" --run-only
echo "quickstart.sh: packages ready after $(elapsed)"
"$root/scripts/build.sh" --stages-only
echo "quickstart.sh: stages built after $(elapsed)"
"${BUILD_DIR:-$root/build}/examples/stage1_single_device" "$@"
