#!/usr/bin/env bash
# scripts/docs_check.py on a made-up repository: it reports a link to nowhere,
# a stale generated block and a mark naming no test, fixes the block with
# --update, runs unmarked commands with --run and reports the one that fails.
#   docs_check_test.sh PYTHON
set -euo pipefail
python=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/scripts" "$work/tests" "$work/src"
cp "$root/scripts/docs_check.py" "$work/scripts/"
printf 'int a;\n' >"$work/src/a.cpp"
printf 'int b;\n' >"$work/src/b.cpp"
echo 'TEST(Real, Name)' >"$work/tests/test_real.cpp"
cat >"$work/README.md" <<'MD'
See [the code](src/a.cpp) and [nothing](src/missing.cpp).

<!-- diff src/a.cpp src/b.cpp -->
stale
<!-- end -->

```sh
# tested by Real.Name
true
# tested by Imaginary.Name
true

echo ran >ran.txt
false  # a command that fails
```
MD
set +e
report=$("$python" "$work/scripts/docs_check.py" 2>&1)
status=$?
set -e
expect() { grep -qF -- "$1" <<<"$2" || { echo "docs_check_test: missing '$1' in:" >&2; echo "$2" >&2; exit 1; }; }
[[ $status == 1 ]] || { echo "docs_check_test: status $status, not 1" >&2; exit 1; }
expect "README.md: the link src/missing.cpp leads nowhere" "$report"
expect "README.md: the diff block 'src/a.cpp src/b.cpp' is stale" "$report"
expect "'tested by Imaginary.Name', which tests/ does not mention" "$report"
expect "2 commands to run, 2 marked; 3 problems" "$report"
"$python" "$work/scripts/docs_check.py" --update >/dev/null || true
grep -qF -- '-int a;' "$work/README.md" || { echo "docs_check_test: --update wrote no diff" >&2; exit 1; }
sed -i 's/ and \[nothing\](src\/missing.cpp)//; s/Imaginary.Name/Real.Name/' "$work/README.md"
set +e
report=$("$python" "$work/scripts/docs_check.py" --run 2>&1)
status=$?
set -e
[[ $status == 1 ]] || { echo "docs_check_test: --run gave status $status, not 1" >&2; exit 1; }
expect "README.md: \`false\` failed (1)" "$report"
expect "2 commands run, 2 marked; 1 problems" "$report"
[[ ! -e $work/ran.txt ]] || { echo "docs_check_test: ran.txt, made by a command, was left behind" >&2; exit 1; }
# Stage 2 strays from stage 1 by 62 lines of diff (budget 30), then by 30.
mkdir -p "$work/examples/stage1_single_device" "$work/examples/stage2_data_parallel"
seq 1 40 >"$work/examples/stage1_single_device/main.cpp"
{ seq 1 9; seq 101 131; } >"$work/examples/stage2_data_parallel/main.cpp"
set +e
report=$("$python" "$work/scripts/docs_check.py" 2>&1)
status=$?
set -e
[[ $status == 1 ]] || { echo "docs_check_test: a stage over budget gave status $status" >&2; exit 1; }
expect "diff examples/stage1_single_device/main.cpp examples/stage2_data_parallel/main.cpp changes 62 lines, more than the 30" "$report"
{ seq 1 25; seq 101 115; } >"$work/examples/stage2_data_parallel/main.cpp"
"$python" "$work/scripts/docs_check.py" >/dev/null || { echo "docs_check_test: 30 changed lines refused" >&2; exit 1; }
# A function block shows one definition, from its first line to its "}".
printf 'int helper();\n\nint helper() {\n  return 1;\n}\n\nint other() { return 2; }\n' >"$work/src/f.cpp"
printf '<!-- function src/f.cpp helper -->\nstale\n<!-- end -->\n' >"$work/docs.md"
mv "$work/docs.md" "$work/BENCHMARKS.md"
set +e
report=$("$python" "$work/scripts/docs_check.py" 2>&1)
set -e
expect "BENCHMARKS.md: the function block 'src/f.cpp helper' is stale" "$report"
"$python" "$work/scripts/docs_check.py" --update >/dev/null || true
expected=$(printf '<!-- function src/f.cpp helper -->\n```cpp\nint helper() {\n  return 1;\n}\n```\n<!-- end -->')
[[ $(cat "$work/BENCHMARKS.md") == "$expected" ]] || { echo "docs_check_test: function block:" >&2; cat "$work/BENCHMARKS.md" >&2; exit 1; }
echo "docs_check_test: ok"
