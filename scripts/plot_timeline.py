#!/usr/bin/env python3
"""Draws the per-rank timelines of --trace (stages 3 and 4) and measures the overlap.

    plot_timeline.py RUN [RUN ...] --out timeline.png [--label TEXT ...] [--steps N]
    plot_timeline.py RUN [RUN ...] --summary [--out timeline.png]

A RUN is the FILE given to --trace (out/trace.json: its out/trace.rank*.json are
read, every rank of the world size) or one rank's file (out/trace.rank0.json).
Each RUN is a panel of ONE picture, panels stacked top to bottom: a lane per rank
(rank 0 on top) over the last --steps steps recorded (default 2), with forward,
backward and the optimizer step in blues, "load batch" in grey, the wait at the
end of backward in red, and under each rank a thin row per gradient bucket with
its all-reduce in orange (a tick where its last gradient was ready). The caption
under a panel measures ALL its recorded steps, by PyTorch DDP's own definitions
(its reducer's timer; see overlap()): the share of the all-reduce hidden under
backward, the communication left exposed per step, backward's compute per step.

--summary prints one JSON line per RUN instead of (or as well as, with --out) the
picture: {"run", "world_size", "buckets", "steps", "overlap_share",
"exposed_ms_per_step", "comm_ms_per_step", "backward_compute_ms_per_step"}.
benchmarks/run_benchmarks.py imports overlap() from here. A file that is not such
a timeline, or a rank missing, is one line on stderr and exit status 2.
Uses matplotlib (Debian: python3-matplotlib), without a display.
"""
import argparse
import json
import os
import re
import sys

FORMAT = "libtorch-ddp-tutorial timeline"
BUCKET_LANE = 100  # tid 100 + k: bucket k
COLOURS = {"forward": "#6baed6", "backward": "#2171b5", "optimizer step": "#08306b",
           "load batch": "#bdbdbd", "all-reduce wait": "tab:red", "all-reduce": "tab:orange"}
OTHER_COMPUTE = "#9ecae1"  # any other compute span (a CUDA graph replay)


class TraceError(Exception):
    """A trace the user gave that cannot be read: the message names the file."""


def die(message):
    """A problem the user can fix: one line, exit status 2."""
    print(f"plot_timeline.py: error: {message}", file=sys.stderr)
    sys.exit(2)


# ---------------------------------------------------------------- reading
def rank_files(path):
    """{rank: file} of the files --trace PATH writes (trace.json -> trace.rankR.json)."""
    folder, name = os.path.split(path)
    stem, extension = os.path.splitext(name)
    pattern = re.compile(re.escape(stem) + r"\.rank(\d+)" + re.escape(extension or ".json") + "$")
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return {}
    found = {}
    for entry in names:
        match = pattern.match(entry)
        if match:
            found[int(match.group(1))] = os.path.join(folder, entry)
    return found


def read_rank(file):
    """One rank's file: {"file", "rank", "world_size", "buckets", "spans"}; spans are the
    X events as (name, tid, step, start_us, end_us, args)."""
    try:
        with open(file) as f:
            trace = json.load(f)
    except OSError as e:
        raise TraceError(f"{file}: {e.strerror}")
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TraceError(f"{file}: not JSON ({e})")
    if not isinstance(trace, dict) or not isinstance(trace.get("traceEvents"), list):
        raise TraceError(f'{file}: no "traceEvents" in it: not a trace-event file')
    other = trace.get("otherData")
    if not isinstance(other, dict) or other.get("format") != FORMAT:
        found = other.get("format") if isinstance(other, dict) else None
        raise TraceError(f'{file}: otherData.format is {json.dumps(found)}, not "{FORMAT}" '
                         "(a file of --trace?)")
    for key in ("rank", "world_size"):
        if not isinstance(other.get(key), int):
            raise TraceError(f"{file}: otherData has no {key}")
    spans = []
    for event in trace["traceEvents"]:
        if not isinstance(event, dict) or event.get("ph") != "X":
            continue
        args = event.get("args") if isinstance(event.get("args"), dict) else {}
        name, tid = event.get("name"), event.get("tid")
        where = f'{file}: the "{name}" event at ts {event.get("ts")}'
        if not all(isinstance(event.get(k), (int, float)) for k in ("ts", "dur", "tid")):
            raise TraceError(f'{where} lacks "ts", "dur" or "tid"')
        if not isinstance(args.get("step"), int):
            raise TraceError(f'{where} has no args "step"')
        if tid >= BUCKET_LANE and name == "all-reduce":
            missing = [k for k in ("bucket", "bytes", "ready_ts") if k not in args]
            if missing:
                raise TraceError(f'{where} (a bucket\'s) has no args {", ".join(missing)}')
        spans.append((name, tid, args["step"], event["ts"], event["ts"] + event["dur"], args))
    buckets = other.get("buckets")
    if not isinstance(buckets, list):  # what the events show
        buckets = [{"index": tid - BUCKET_LANE} for tid in sorted({s[1] for s in spans
                                                                   if s[1] >= BUCKET_LANE})]
    return {"file": file, "rank": other["rank"], "world_size": other["world_size"],
            "buckets": len(buckets), "bucket_bytes": [b.get("bytes") for b in buckets],
            "spans": spans}


def read_run(path):
    """A RUN: the FILE of --trace (every rank's file) or one rank's file. A dict with
    "path", "world_size", "buckets", "bucket_bytes" and "ranks" (read_rank's, by rank)."""
    files = rank_files(path)
    if not files:
        if not os.path.exists(path):
            raise TraceError(f"{path}: No such file or directory")
        rank = read_rank(path)  # one rank's file alone
        return {"path": path, "world_size": rank["world_size"], "buckets": rank["buckets"],
                "bucket_bytes": rank["bucket_bytes"], "ranks": [rank]}
    ranks = [read_rank(files[r]) for r in sorted(files)]
    world_size = ranks[0]["world_size"]
    seen = {}
    for rank in ranks:
        if rank["world_size"] != world_size:
            raise TraceError(f"{rank['file']}: world size {rank['world_size']}, but "
                             f"{ranks[0]['file']} says {world_size}")
        if rank["rank"] in seen:
            raise TraceError(f"{rank['file']}: rank {rank['rank']} again (also in "
                             f"{seen[rank['rank']]})")
        seen[rank["rank"]] = rank["file"]
    missing = [r for r in range(world_size) if r not in seen]
    extra = [r for r in seen if not 0 <= r < world_size]
    if missing or extra:
        problem = (f"rank {', '.join(map(str, missing))} of world size {world_size} missing"
                   if missing else f"rank {extra[0]} outside world size {world_size}")
        raise TraceError(f"{path}: {problem} (found {len(ranks)} file"
                         f"{'s' if len(ranks) > 1 else ''}: "
                         f"{', '.join(os.path.basename(r['file']) for r in ranks)})")
    ranks.sort(key=lambda r: r["rank"])
    return {"path": path, "world_size": world_size, "buckets": ranks[0]["buckets"],
            "bucket_bytes": ranks[0]["bucket_bytes"], "ranks": ranks}


# ---------------------------------------------------------------- measuring
def step_figures(spans):
    """One rank's one step, by PyTorch's reducer's timer, in microseconds:
    (backward_compute, comm, overlap, exposed); comm etc. None with nothing communicated."""
    backwards = [s for s in spans if s[0] == "backward" and s[1] < BUCKET_LANE]
    if not backwards:
        return None  # a step the window cut before its backward
    last = max(backwards, key=lambda s: s[3])
    backward_start = last[3]
    waits = [s for s in spans if s[0] == "all-reduce wait"]
    launches = [s[3] for s in spans if s[0] == "all-reduce" and s[1] >= BUCKET_LANE]
    if not waits or not launches:
        return last[4] - backward_start, None, None, None
    compute_end, comm_end = waits[-1][3], waits[-1][4]
    comm_start = min(launches)
    comm = comm_end - comm_start
    overlap = min(max(compute_end - comm_start, 0.0), comm)
    return compute_end - backward_start, comm, overlap, comm_end - compute_end


def overlap(run):
    """The figures of a read_run() over all its recorded steps and ranks, as trace_format
    defines them: overlap_share = sum(overlap) / sum(comm) (None when nothing was
    communicated), the rest means per rank and step, in ms."""
    figures = []
    steps = set()
    for rank in run["ranks"]:
        by_step = {}
        for span in rank["spans"]:
            by_step.setdefault(span[2], []).append(span)
        for step in sorted(by_step):
            measured = step_figures(by_step[step])
            if measured is not None:
                figures.append(measured)
                steps.add(step)
    communicated = [f for f in figures if f[1] is not None]

    def mean_ms(values):
        return sum(values) / len(values) / 1000 if values else 0.0

    total_comm = sum(f[1] for f in communicated)
    return {"run": run["path"], "world_size": run["world_size"], "buckets": run["buckets"],
            "steps": len(steps),
            "overlap_share": sum(f[2] for f in communicated) / total_comm if total_comm > 0
            else None,
            "exposed_ms_per_step": mean_ms([f[3] for f in communicated]),
            "comm_ms_per_step": mean_ms([f[1] for f in communicated]),
            "backward_compute_ms_per_step": mean_ms([f[0] for f in figures])}


def caption(figures):
    if figures["world_size"] == 1 or figures["overlap_share"] is None:
        return (f"world size {figures['world_size']}: nothing communicated; backward compute "
                f"{figures['backward_compute_ms_per_step']:.1f} ms ({figures['steps']} steps)")
    return (f"all-reduce hidden under backward: {100 * figures['overlap_share']:.0f}% "
            f"(PyTorch's definition); exposed communication per step: "
            f"{figures['exposed_ms_per_step']:.1f} ms; backward compute "
            f"{figures['backward_compute_ms_per_step']:.1f} ms; {figures['buckets']} bucket"
            f"{'s' if figures['buckets'] != 1 else ''} (over {figures['steps']} steps)")


# ---------------------------------------------------------------- drawing
def draw_panel(ax, run, label, steps):
    """Rank 0's lane on top: its compute row, then a thin row per bucket."""
    recorded = sorted({s[2] for rank in run["ranks"] for s in rank["spans"]})
    drawn = set(recorded[-steps:])
    shown = [s for rank in run["ranks"] for s in rank["spans"] if s[2] in drawn]
    t0 = min((s[3] for s in shown), default=0.0)
    ms = lambda us: (us - t0) / 1000  # noqa: E731
    y, ticks, names = 0.0, [], []
    for rank in run["ranks"]:
        for name, tid, step, start, end, args in rank["spans"]:
            if step not in drawn or tid >= BUCKET_LANE:
                continue
            nested = name == "all-reduce wait"  # inside backward: drawn over it, thinner
            height = 0.5 if nested else 0.8
            ax.barh(y, ms(end) - ms(start), left=ms(start), height=height,
                    color=COLOURS.get(name, OTHER_COMPUTE), edgecolor="white", linewidth=0.3,
                    zorder=3 if nested else 2)
        ticks.append(y)
        names.append(f"rank {rank['rank']}")
        y += 0.75
        buckets = [s for s in rank["spans"]
                   if s[2] in drawn and s[1] >= BUCKET_LANE and s[0] == "all-reduce"]
        rows = {tid: y + 0.4 * i for i, tid in enumerate(sorted({s[1] for s in buckets}))}
        for name, tid, step, start, end, args in buckets:
            row = rows[tid]
            ax.barh(row, ms(end) - ms(start), left=ms(start), height=0.3,
                    color=COLOURS["all-reduce"], zorder=2)
            ax.plot([ms(args["ready_ts"])] * 2, [row - 0.18, row + 0.18], color="black",
                    linewidth=1, zorder=4)
        for tid, row in sorted(rows.items()):
            ticks.append(row)
            names.append(f"bucket {tid - BUCKET_LANE}")
        y += 0.4 * len(rows) + 0.6
    ax.set_yticks(ticks)
    ax.set_yticklabels(names, fontsize=7)
    ax.set_ylim(y - 0.4, -0.6)  # rank 0 on top
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(label, fontsize=10, loc="left")
    first = min(drawn) if drawn else 0
    ax.set_xlabel(f"ms from the start of step {first} (steps {first}-{max(drawn, default=0)} "
                  f"shown)\n{caption(overlap(run))}", fontsize=8)


def legend_handles():
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    handles = [Patch(color=COLOURS[n], label=n) for n in
               ("forward", "backward", "optimizer step", "load batch", "all-reduce wait")]
    handles.append(Patch(color=COLOURS["all-reduce"], label="bucket all-reduce"))
    handles.append(Line2D([], [], color="black", marker="|", linestyle="none",
                          markersize=8, label="bucket ready"))
    return handles


def plot(runs, labels, steps, out):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        die("needs matplotlib (apt-get install python3-matplotlib)")
    heights = [1.6 + 0.45 * len(r["ranks"]) * (1.5 + 0.4 * r["buckets"]) for r in runs]
    legend = 0.45  # inches
    fig, axes = plt.subplots(len(runs), 1, figsize=(10, sum(heights) + legend), dpi=100,
                             squeeze=False, gridspec_kw={"height_ratios": heights})
    for ax, run, label in zip(axes[:, 0], runs, labels):
        draw_panel(ax, run, label, steps)
    fig.legend(handles=legend_handles(), loc="upper center", ncol=7, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - legend / (sum(heights) + legend)))
    folder = os.path.dirname(out)
    if folder:
        os.makedirs(folder, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="RUN",
                        help="the FILE of --trace (its .rankR files), or one rank's file")
    parser.add_argument("--out", help="the PNG to write")
    parser.add_argument("--label", action="append", default=[],
                        help="a name for each RUN, in order (default: its path)")
    parser.add_argument("--steps", type=int, default=2,
                        help="draw the last N steps recorded (default 2); the caption "
                             "measures them all")
    parser.add_argument("--summary", action="store_true",
                        help="print each RUN's figures as one JSON line")
    args = parser.parse_args()
    if not args.out and not args.summary:
        die("give --out FILE.png, --summary, or both")
    if args.label and len(args.label) != len(args.runs):
        die(f"{len(args.label)} --label for {len(args.runs)} runs")
    if args.steps < 1:
        die(f"--steps {args.steps}: must be at least 1")
    try:
        runs = [read_run(path) for path in args.runs]
    except TraceError as e:
        die(str(e))
    if args.summary:
        for run in runs:
            print(json.dumps(overlap(run)))
    if args.out:
        plot(runs, args.label or args.runs, args.steps, args.out)
        if not args.summary:
            print(args.out)


if __name__ == "__main__":
    main()
