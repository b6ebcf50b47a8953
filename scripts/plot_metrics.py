#!/usr/bin/env python3
"""Charts (PNG) of training runs and of the benchmark tables.

    plot_metrics.py --out DIR RUN [RUN ...]            runs: output folders or metrics.jsonl files
    plot_metrics.py --out DIR --benchmarks FILE.json   a benchmarks.json of benchmarks/run_benchmarks.py

For runs it writes DIR/loss.png (training and test loss per epoch),
DIR/accuracy.png (test accuracy per epoch) and DIR/throughput.png (training
samples/s per epoch), one line per run, named by its folder (or --label).
For benchmarks it writes DIR/benchmarks.png: ResNet-20 images/s of each
variant (section 2) and the tutorial's job's wall time (section 1).
Uses matplotlib (Debian: python3-matplotlib), without a display.
"""
import argparse
import json
import os
import sys



def die(message):
    """A problem the user can fix: one line, exit status 2."""
    print(f"plot_metrics.py: error: {message}", file=sys.stderr)
    sys.exit(2)


try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    die("needs matplotlib (apt-get install python3-matplotlib)")


def read_run(path):
    """The epochs of one run: a list of dicts, one per metrics.jsonl line."""
    file = os.path.join(path, "metrics.jsonl") if os.path.isdir(path) else path
    try:
        with open(file) as f:
            epochs = [json.loads(line) for line in f if line.strip()]
    except OSError as e:
        die(f"{file}: {e.strerror}")
    except json.JSONDecodeError as e:
        die(f"{file}: not JSON lines ({e})")
    if not epochs:
        die(f"{file}: no epochs in it")
    return epochs


def run_label(path):
    path = os.path.normpath(path)
    if os.path.basename(path) == "metrics.jsonl":
        path = os.path.dirname(path)
    return os.path.basename(path) or path


def chart(file, title, ylabel, series):
    """series: (label, xs, ys, style) tuples."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    for label, xs, ys, style in series:
        ax.plot(xs, ys, style, label=label)
    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(file)
    plt.close(fig)
    print(file)


def plot_runs(runs, labels, out):
    loss, accuracy, throughput = [], [], []
    for path, label in zip(runs, labels):
        epochs = read_run(path)
        xs = [e["epoch"] for e in epochs]
        loss.append((f"{label} train", xs, [e["train_loss"] for e in epochs], "o-"))
        loss.append((f"{label} test", xs, [e["test_loss"] for e in epochs], "s--"))
        accuracy.append((label, xs, [100 * e["test_accuracy"] for e in epochs], "o-"))
        throughput.append((label, xs, [e["samples_per_second"] for e in epochs], "o-"))
    chart(os.path.join(out, "loss.png"), "Loss per epoch", "loss", loss)
    chart(os.path.join(out, "accuracy.png"), "Test accuracy per epoch", "accuracy (%)", accuracy)
    chart(os.path.join(out, "throughput.png"), "Training throughput", "samples/s", throughput)


def plot_benchmarks(file, out):
    with open(file) as f:
        bench = json.load(f)
    sections = {s["title"].split(".")[0]: s for s in bench["sections"]}
    machine = bench["machine"]
    where = machine.get("gpu", f"{machine['cores']} cores of {machine['cpu']}")
    panels = [n for n in ("1", "2") if n in sections]
    if not panels:
        die(f"{file}: has neither section 1 nor section 2")
    fig, axes = plt.subplots(1, len(panels), figsize=(6.0 * len(panels), 4.0), dpi=100,
                             squeeze=False)
    for ax, number in zip(axes[0], panels):
        rows = sections[number]["results"]
        if number == "1":
            names = [r["program"] for r in rows]
            values = [r["seconds"] for r in rows]
            ax.set_title("The tutorial's job: wall time (lower is better)")
            ax.set_xlabel("seconds")
        else:
            names = [r["variant"] for r in rows]
            values = [r["images_per_s"] for r in rows]
            ax.set_title("ResNet-20, batch 128: images/s (higher is better)")
            ax.set_xlabel("images/s")
        colours = ["tab:blue" if n.startswith("C++") else "tab:orange" for n in names]
        ax.barh(names[::-1], values[::-1], color=colours[::-1])
        for y, value in enumerate(values[::-1]):
            ax.text(value, y, f" {value:,.1f}" if value < 100 else f" {value:,.0f}",
                    va="center", fontsize=8)
        ax.margins(x=0.2)
    fig.suptitle(f"{where}; LibTorch {machine['libtorch']}, Python torch {machine['python_torch']}"
                 f" ({machine['date']})", fontsize=9)
    fig.tight_layout()
    path = os.path.join(out, "benchmarks.png")
    fig.savefig(path)
    plt.close(fig)
    print(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", help="output folders or metrics.jsonl files")
    parser.add_argument("--out", required=True, help="folder for the PNG files")
    parser.add_argument("--label", action="append", default=[],
                        help="a name for each run, in order (default: its folder's name)")
    parser.add_argument("--benchmarks", help="a benchmarks.json to chart")
    args = parser.parse_args()
    if not args.runs and not args.benchmarks:
        parser.error("give runs, --benchmarks FILE, or both")
    if args.label and len(args.label) != len(args.runs):
        parser.error(f"{len(args.label)} --label for {len(args.runs)} runs")
    os.makedirs(args.out, exist_ok=True)
    if args.runs:
        plot_runs(args.runs, args.label or [run_label(r) for r in args.runs], args.out)
    if args.benchmarks:
        plot_benchmarks(args.benchmarks, args.out)


if __name__ == "__main__":
    main()
