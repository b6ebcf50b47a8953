#!/usr/bin/env bash
# The hardening checks of issue #5, in build-sanitize/ (clang, everything of
# this project built with AddressSanitizer and UndefinedBehaviorSanitizer and
# instrumented for libFuzzer; LibTorch itself is not):
#   1. the unit tests (data formats, pipeline, models, training engine) under
#      the sanitizers, leak checking on; any report fails the run;
#   2. with --fuzz SECONDS, each libFuzzer target of tests/fuzz (IDX, CIFAR
#      binary, images, state dicts and checkpoints) for SECONDS, from a small
#      corpus of valid files so the fuzzer starts from real structure. A crash
#      leaves its input in build-sanitize/crashes/<target>/: add it to
#      tests/fuzz/regressions/<target>/ (each run replays those first), make
#      it a unit test, then fix the parser. Leaks inside LibTorch itself are
#      suppressed, with their reason, in tests/fuzz/lsan_suppressions.txt.
#
#   scripts/sanitize.sh [--fuzz SECONDS] [more test executables under tests/...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-sanitize
fuzz_seconds=0
if [[ ${1:-} == --fuzz ]]; then
  [[ ${2:-} =~ ^[0-9]+$ ]] || { echo "sanitize.sh: --fuzz takes a number of seconds" >&2; exit 2; }
  fuzz_seconds=$2
  shift 2
fi
command -v clang++ >/dev/null || { echo "sanitize.sh: needs clang++ (apt-get install clang)" >&2; exit 2; }

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DTUTORIAL_SANITIZE=ON -DTUTORIAL_FUZZ=ON \
  -DTUTORIAL_WARNINGS_AS_ERRORS=ON >/dev/null
suites=(tests/data/test_data tests/pipeline/test_pipeline tests/models/test_models tests/train/test_train "$@")
targets=("${suites[@]##*/}")
((fuzz_seconds == 0)) || targets+=(fuzz_targets)
cmake --build "$build" --parallel "$(nproc)" --target "${targets[@]}"

# ---------------------------------------------------------------- unit tests
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/fuzz/lsan_suppressions.txt}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for suite in "${suites[@]}"; do
  echo "sanitize.sh: $suite" >&2
  "$build/$suite" --gtest_brief=1 || status=1
done
((fuzz_seconds > 0)) || exit "$status"

# ---------------------------------------------------------------- fuzzing
corpus=$build/corpus
rm -rf "$corpus" && mkdir -p "$corpus"/{fuzz_idx,fuzz_cifar,fuzz_image,fuzz_state_dict}
# IDX: 2 images of 2x2, and 2 labels, raw and gzip-compressed.
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x02\x01\x02\x03\x04\x05\x06\x07\x08' \
  >"$corpus/fuzz_idx/images"
printf '\x00\x00\x08\x01\x00\x00\x00\x02\x03\x07' >"$corpus/fuzz_idx/labels"
gzip -c "$corpus/fuzz_idx/images" >"$corpus/fuzz_idx/images.gz"
# CIFAR-10: one record, label 3 and 3072 pixels.
{ printf '\x03'; head -c 3072 /dev/zero | tr '\0' '\200'; } >"$corpus/fuzz_cifar/record"
# A 1x1 grey PNG.
printf '\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00\x3a\x7e\x9b\x55\x00\x00\x00\x0aIDATx\x9cc`\x00\x00\x00\x02\x00\x01H\xaf\xa4q\x00\x00\x00\x00IEND\xaeB`\x82' \
  >"$corpus/fuzz_image/grey.png"
# A state dict of the fuzz target's model (one Linear(4, 2) named fc) and a
# checkpoint-shaped dict holding it, saved by Python, where a python3 has torch.
python=$(command -v /usr/bin/python3 || command -v python3 || true)
if [[ -n $python ]] && "$python" -c 'import torch' 2>/dev/null; then
  "$python" - "$corpus/fuzz_state_dict" <<'PY'
import sys, torch
torch.manual_seed(0)  # the same corpus each time
state = {"fc." + k: v for k, v in torch.nn.Linear(4, 2).state_dict().items()}
torch.save(state, sys.argv[1] + "/model.pth")
torch.save({"format": "ddp-tutorial checkpoint 1", "fingerprint": "", "position": torch.tensor([0, 1, 1]),
            "model": state, "optimizer": torch.zeros(8, dtype=torch.uint8),
            "cpu_rng_state": torch.zeros(8, dtype=torch.uint8)}, sys.argv[1] + "/checkpoint.pt")
PY
fi
for target in fuzz_idx fuzz_cifar fuzz_image fuzz_state_dict; do
  program=$build/tests/fuzz/$target
  # First the inputs that once failed (tests/fuzz/regressions/<target>/), once each.
  regressions=("$root/tests/fuzz/regressions/$target"/*)
  if [[ -e ${regressions[0]} ]]; then
    echo "sanitize.sh: $target on ${#regressions[@]} regression input(s)" >&2
    "$program" "${regressions[@]}" >"$build/$target.regressions.log" 2>&1 || {
      echo "sanitize.sh: $target FAILED on a regression input (log: $build/$target.regressions.log)" >&2
      tail -n 30 "$build/$target.regressions.log" >&2
      status=1
    }
    cp "${regressions[@]}" "$corpus/$target/"
  fi
  crashes=$build/crashes/$target
  mkdir -p "$crashes"
  echo "sanitize.sh: fuzzing $target for $fuzz_seconds s" >&2
  # A fixed seed: a shorter run explores a prefix of what a longer one does,
  # so a clean long run here means a clean CI run (FUZZ_SEED=0: a new seed).
  if ! "$program" -seed="${FUZZ_SEED:-1}" -max_total_time="$fuzz_seconds" -max_len=65536 \
    -rss_limit_mb=4096 -artifact_prefix="$crashes/" -print_final_stats=1 "$corpus/$target" \
    >"$build/$target.log" 2>&1; then
    echo "sanitize.sh: $target FAILED, input in $crashes/ (log: $build/$target.log)" >&2
    tail -n 30 "$build/$target.log" >&2
    status=1
  else
    grep -E '^stat::number_of_executed_units' "$build/$target.log" >&2 || true
  fi
done
exit "$status"
