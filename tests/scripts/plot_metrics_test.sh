#!/usr/bin/env bash
# scripts/plot_metrics.py end to end: two runs' metrics.jsonl and a
# benchmarks.json become PNG files; a missing run is one line and status 2.
#   plot_metrics_test.sh PYTHON
set -euo pipefail
python=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for run in a b; do
  mkdir -p "$work/$run"
  for epoch in 1 2 3; do
    echo "{\"epoch\": $epoch, \"step\": $((epoch * 10)), \"lr\": 0.1, \"train_loss\": 1.$epoch, \"test_loss\": 1.$((epoch + 1)), \"test_accuracy\": 0.$((epoch + 5)), \"epoch_seconds\": 1.0, \"samples_per_second\": 100$epoch.0}"
  done >"$work/$run/metrics.jsonl"
done
cat >"$work/bench.json" <<'JSON'
{"machine": {"date": "2026-11-27", "cpu": "test", "cores": 2, "python_torch": "x", "libtorch": "y",
             "device": "cpu", "repeats": 1, "threads": 1},
 "sections": [{"title": "1. job", "results": [{"program": "C++", "seconds": 1.5}, {"program": "Python", "seconds": 4.0}]},
              {"title": "2. ResNet-20", "results": [{"variant": "C++ eager", "images_per_s": 500}, {"variant": "Python eager", "images_per_s": 400}]}]}
JSON
"$python" "$root/scripts/plot_metrics.py" --out "$work/charts" "$work/a" "$work/b/metrics.jsonl" \
  --benchmarks "$work/bench.json"
for chart in loss accuracy throughput benchmarks; do
  [[ $(head -c 4 "$work/charts/$chart.png" | od -An -c | tr -d ' ') == '211PNG' ]] ||
    { echo "plot_metrics_test: $chart.png is no PNG" >&2; exit 1; }
done
set +e
message=$("$python" "$root/scripts/plot_metrics.py" --out "$work/charts" "$work/missing" 2>&1)
status=$?
set -e
[[ $status == 2 && $message == "plot_metrics.py: error: $work/missing: No such file or directory" ]] ||
  { echo "plot_metrics_test: a missing run gave status $status: $message" >&2; exit 1; }
echo "plot_metrics_test: ok"
