#!/usr/bin/env bash
# scripts/plot_timeline.py end to end on synthetic --trace files of 2 ranks
# (3 steps, 3 buckets, times chosen so that the figures are known exactly): they
# become one PNG, --summary gives the designed overlap, and a damaged file, a
# missing rank and a missing run are each one line and status 2.
#   plot_timeline_test.sh PYTHON
set -euo pipefail
python=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
script=$root/scripts/plot_timeline.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "plot_timeline_test: $*" >&2; exit 1; }

# Each step of each rank, in microseconds from the step's start o (whole numbers, so
# exact in doubles): load batch 0-500, forward 500-2500, backward 2500-E with its
# "all-reduce wait" 6500-E nested in it, optimizer step E-E+500; buckets 0, 1, 2
# ready at 4000, 5500, 6500. Rank 0: launched at 4500, 6000, 7500, done at 6000,
# 7500, 8500 = E. Rank 1: launched at 5500, 6500, 7500, done at 6500, 7500, 9000 = E.
# By trace_format.md: rank 0 comm 8500-4500 = 4000, overlap 6500-4500 = 2000,
# exposed 8500-6500 = 2000; rank 1 comm 3500, overlap 1000, exposed 2500; backward
# compute 6500-2500 = 4000 on both. So hidden = (2000+1000)/(4000+3500) = 0.4 (a mean
# of the ranks' shares would be 0.393), exposed 2.25 ms, comm 3.75 ms, compute 4 ms.
# Step 12 accumulates 2 micro-batches: an earlier forward 300-400 and backward
# 400-500 (load batch 0-300 then), which must not count (only the last backward).
"$python" - "$work/good" <<'PY'
import json, os, sys
folder = sys.argv[1]
os.makedirs(folder)
launches = {0: [(4500, 6000), (6000, 7500), (7500, 8500)],
            1: [(5500, 6500), (6500, 7500), (7500, 9000)]}
ready = [4000, 5500, 6500]
for rank in (0, 1):
    events = [{"name": "process_name", "ph": "M", "pid": rank, "tid": 0,
               "args": {"name": f"rank {rank}"}}]
    def span(name, cat, tid, start, end, step, **args):
        events.append({"name": name, "cat": cat, "ph": "X", "pid": rank, "tid": tid,
                       "ts": start, "dur": end - start, "args": {"step": step, **args}})
    for step in (10, 11, 12):
        o = 1764000000000000 + 10000 * step + 37 * rank
        end = launches[rank][-1][1]
        if step == 12:
            span("load batch", "data", 1, o, o + 300, step)
            span("forward", "compute", 2, o + 300, o + 400, step)
            span("backward", "compute", 2, o + 400, o + 500, step)
        else:
            span("load batch", "data", 1, o, o + 500, step)
        span("forward", "compute", 2, o + 500, o + 2500, step)
        span("backward", "compute", 2, o + 2500, o + end, step)
        span("all-reduce wait", "communication", 2, o + 6500, o + end, step)
        span("optimizer step", "compute", 2, o + end, o + end + 500, step)
        for k, (launch, done) in enumerate(launches[rank]):
            span("all-reduce", "communication", 100 + k, o + launch, o + done, step,
                 bucket=k, bytes=4000 * (k + 1), parameters=2, ready_ts=o + ready[k])
            events.append({"name": "bucket ready", "ph": "i", "s": "t", "pid": rank,
                           "tid": 100 + k, "ts": o + ready[k], "args": {"step": step, "bucket": k}})
    other = {"format": "libtorch-ddp-tutorial timeline", "version": 1, "rank": rank,
             "world_size": 2, "backend": "gloo", "device": "cpu", "first_step": 10,
             "end_step": 13, "timing": "synthetic",
             "buckets": [{"index": k, "bytes": 4000 * (k + 1), "parameters": 2} for k in range(3)]}
    with open(os.path.join(folder, f"trace.rank{rank}.json"), "w") as f:
        json.dump({"traceEvents": events, "displayTimeUnit": "ms", "otherData": other}, f)
PY

"$python" "$script" "$work/good/trace.json" "$work/good/trace.rank1.json" \
  --label "two ranks" --label "rank 1 alone" --out "$work/charts/timeline.png"
[[ $(head -c 4 "$work/charts/timeline.png" | od -An -c | tr -d ' ') == '211PNG' ]] ||
  fail "timeline.png is no PNG"

summary=$("$python" "$script" "$work/good/trace.json" --summary)
"$python" - "$summary" <<'PY' || fail "--summary gave $summary"
import json, sys
s = json.loads(sys.argv[1])
expected = {"world_size": 2, "buckets": 3, "steps": 3, "overlap_share": 0.4,
            "exposed_ms_per_step": 2.25, "comm_ms_per_step": 3.75,
            "backward_compute_ms_per_step": 4.0}
sys.exit(any(abs(s[k] - v) > 1e-6 for k, v in expected.items()))
PY

expect_one_line() {  # expect_one_line WHAT EXPECTED-START RUN...
  local what=$1 start=$2 message status
  shift 2
  set +e
  message=$("$python" "$script" "$@" --summary 2>&1)
  status=$?
  set -e
  [[ $status == 2 && $message == "plot_timeline.py: error: $start"* &&
     $(printf '%s\n' "$message" | wc -l) == 1 ]] ||
    fail "$what gave status $status: $message"
}
mkdir "$work/damaged" "$work/one"
cp "$work/good/trace.rank0.json" "$work/damaged/"
echo '{"traceEvents": [' >"$work/damaged/trace.rank1.json"
expect_one_line "a damaged file" "$work/damaged/trace.rank1.json: not JSON" "$work/damaged/trace.json"
cp "$work/good/trace.rank1.json" "$work/one/"
expect_one_line "a missing rank" "$work/one/trace.json: rank 0 of world size 2 missing" \
  "$work/one/trace.json"
expect_one_line "a missing run" "$work/missing.json: No such file or directory" "$work/missing.json"
echo "plot_timeline_test: ok"
