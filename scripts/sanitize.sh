#!/usr/bin/env bash
# The unit tests under AddressSanitizer and UndefinedBehaviorSanitizer
# (-DTUTORIAL_SANITIZE=ON, build-asan/): data formats, pipeline, models and
# training engine. Any sanitizer report fails the run. Leak checking is on.
#   scripts/sanitize.sh [more test executables under build-asan/tests/...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-asan
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTUTORIAL_SANITIZE=ON >/dev/null
suites=(tests/data/test_data tests/pipeline/test_pipeline tests/models/test_models tests/train/test_train "$@")
cmake --build "$build" --parallel "$(nproc)" --target "${suites[@]##*/}"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for suite in "${suites[@]}"; do
  echo "sanitize.sh: $suite" >&2
  "$build/$suite" --gtest_brief=1 || status=1
done
exit "$status"
