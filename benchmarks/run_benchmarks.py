#!/usr/bin/env python3
"""Every benchmark of the suite, side by side, in one command.

    python3 benchmarks/run_benchmarks.py --build build --out bench-out [--repeats 3] [--quick]

On whatever device is present (CUDA if the Python torch sees one, else the
CPU) it runs, alternating C++ and Python in each round:
  1. the tutorial's job: C++ stage 1 against benchmarks/tutorial_job.py
     (whole runs, wall time, final accuracy);
  2. ResNet-20 training throughput, batch 128 (images/s): C++ eager, C++ with
     the fast path, C++ with --cuda-graph, against Python eager, Python with
     the same fast path and, with torch 2.x on CUDA, torch.compile;
  3. DistributedDataParallel's overhead (the tutorial's job, 1 epoch, training
     samples/s summed over ranks): C++ stage 1 against stage 3 under
     scripts/launch_local.sh, Python tutorial_job.py against tutorial_job.py
     --ddp (PyTorch's DistributedDataParallel) under torchrun, each at world
     size 1 and at world size 2 (two ranks sharing a CPU with Gloo, or two GPUs
     with NCCL; left out with one GPU), with the wrapper's cost per step at
     world size 1 in microseconds and as % of the plain step;
  4. the data pipeline alone (batches/s with augmentation), C++ and Python;
  5. the gradient all-reduce hidden under backward (2 ranks, Gloo, CPU only):
     stage 3's --trace measured by scripts/plot_timeline.py against PyTorch's
     own reducer timer (tutorial_job.py --ddp --ddp-timing).
Each figure is the median of --repeats runs (section 3: of --ddp-repeats
interleaved rounds, at least 5 by default); each ratio compares figures of
this same invocation. Writes OUT/benchmarks.md and OUT/benchmarks.json and
prints the markdown.
"""
import argparse
import datetime
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import importlib.util
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(command, env=None, optional=False):
    """Runs a command, returns its stdout; stops the harness with its stderr if it fails
    (an optional one: says so and returns None). Says on stderr how long each took, so a
    run stopped by a time limit shows where it went."""
    start = datetime.datetime.now()
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    print(f"run_benchmarks.py:   {(datetime.datetime.now() - start).total_seconds():6.1f} s  "
          + " ".join(os.path.basename(part) if i < 2 else part for i, part in enumerate(command)),
          file=sys.stderr, flush=True)
    if result.returncode != 0 and optional:
        print(f"run_benchmarks.py: {' '.join(command)} failed ({result.returncode}), "
              f"left out: {result.stderr.strip()[-300:]}", file=sys.stderr, flush=True)
        return None
    if result.returncode != 0:
        sys.exit(f"run_benchmarks.py: {' '.join(command)} failed ({result.returncode}):\n"
                 f"{result.stderr[-2000:]}")
    return result.stdout


def last_json(text):
    """The JSON object on the last line (after torchrun --tee's "[default0]:", if any)."""
    line = text.strip().splitlines()[-1]
    return json.loads(line[line.index("{"):])


def free_port():
    """A TCP port nobody listens on now, for a launcher's rendezvous."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metrics(output_dir):
    with open(os.path.join(output_dir, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def median(values):
    return statistics.median(values) if values else float("nan")


def plot_timeline():
    """scripts/plot_timeline.py as a module (read_run, overlap)."""
    spec = importlib.util.spec_from_file_location(
        "plot_timeline", os.path.join(ROOT, "scripts", "plot_timeline.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def launcher_env():
    """The environment without a rendezvous of the shell this runs in."""
    return {k: v for k, v in os.environ.items()
            if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK")
            and not k.startswith(("MASTER_", "TORCHELASTIC_"))}


class Harness:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        self.cuda = torch.cuda.is_available() and not args.cpu
        self.device = "cuda" if self.cuda else "cpu"
        self.work = tempfile.mkdtemp(prefix="bench-")
        self.sections = []
        self.python = sys.executable

    def exe(self, name):
        path = os.path.join(self.build, name)
        if not os.access(path, os.X_OK):
            sys.exit(f"run_benchmarks.py: {path} is not built (cmake --build {self.build})")
        return path

    # ---------------------------------------------------------------- 1
    def tutorial_job(self):
        epochs = 1 if self.args.quick else 5
        stage1 = self.exe("examples/stage1_single_device")
        common = ["--data-dir", self.args.data_dir, "--epochs", str(epochs)]
        seconds = {"C++": [], "Python": []}
        accuracy = {}
        libtorch = ""
        for round_index in range(self.args.repeats):
            out = os.path.join(self.work, f"stage1-{round_index}")
            start = datetime.datetime.now()
            log = run([stage1, *common, "--device", self.device, "--output-dir", out])
            seconds["C++"].append((datetime.datetime.now() - start).total_seconds())
            accuracy["C++"] = metrics(out)[-1]["test_accuracy"]
            libtorch = re.search(r"\| LibTorch\s*\| (\S+)", log).group(1)
            result = last_json(run([self.python, os.path.join(HERE, "tutorial_job.py"), *common,
                                    "--device", self.device]))
            seconds["Python"].append(result["seconds"])
            accuracy["Python"] = result["accuracy"]
        self.libtorch = libtorch
        rows = []
        for program in ("C++", "Python"):
            rows.append({"program": program, "seconds": median(seconds[program]),
                         "accuracy": accuracy[program],
                         "speedup_vs_python": median(seconds["Python"]) / median(seconds[program])})
        self.sections.append({
            "title": f"1. The tutorial's job (Fashion-MNIST, MLP, batch 64, SGD, {epochs} "
                     f"epoch{'s' if epochs > 1 else ''}), whole runs",
            "columns": ["program", "wall time (s)", "final test accuracy", "speed vs Python"],
            "rows": [[("C++ stage1_single_device" if r["program"] == "C++"
                       else "Python tutorial_job.py"), f"{r['seconds']:.1f}",
                      f"{100 * r['accuracy']:.1f}%", f"{r['speedup_vs_python']:.2f}x"]
                     for r in rows],
            "data": rows})

    # ---------------------------------------------------------------- 2
    def throughput(self):
        steps = self.args.steps or (100 if self.cuda else 10)
        cpp = self.exe("benchmarks/bench_train_throughput")
        fast = ["--amp", "--channels-last", "--data-on-device"]
        common = ["--batch-size", "128", "--steps", str(steps), "--device", self.device,
                  "--threads", str(self.args.threads)]
        variants = [("C++ eager", [cpp]), ("C++ fast path", [cpp, *fast])]
        if self.cuda:
            variants.append(("C++ fast path + CUDA graph", [cpp, *fast, "--cuda-graph"]))
        python = [self.python, os.path.join(HERE, "train_throughput.py")]
        variants += [("Python eager", python), ("Python fast path", [*python, *fast])]
        if self.cuda and hasattr(torch, "compile"):
            variants.append(("Python fast path + torch.compile", [*python, *fast, "--compile"]))
        images_per_s = {name: [] for name, _ in variants}
        graphed = {}
        for round_index in range(self.args.repeats):
            for name, command in variants:
                if "--compile" in command and round_index > 0:
                    continue  # compiling takes minutes: one run
                result = last_json(run([*command, *common]))
                images_per_s[name].append(result["images_per_s"])
                if result["program"] == "C++":
                    self.libtorch = result["libtorch"]
                if "cuda_graph" in result:
                    graphed[name] = result["cuda_graph"]
        # What a launch-bound step costs: the ATen operators the host calls per
        # step, counted in separate short runs (counting slows a run down).
        count_steps = str(min(steps, 5))
        ops_per_step = {}
        for name, command in variants:
            if "--compile" not in command:  # compiled code calls its kernels directly
                counted = [*command, *common, "--count-ops"]
                counted[counted.index("--steps") + 1] = count_steps
                output = run(counted, optional=True)  # a diagnostic: never the harness's end
                if output is not None:
                    ops_per_step[name] = last_json(output).get("ops_per_step")
        python_eager = median(images_per_s["Python eager"])
        rows = [{"variant": name, "images_per_s": median(images_per_s[name]),
                 "vs_python_eager": median(images_per_s[name]) / python_eager,
                 "graph_replayed": graphed.get(name), "aten_ops_per_step": ops_per_step.get(name)}
                for name, _ in variants]
        note = ("fast path: --amp (bf16 autocast) --channels-last --data-on-device"
                + ("" if self.cuda else "; --cuda-graph does not apply to a CPU")
                + ". ATen ops per step: operators called from outside any other operator, "
                "each a host dispatch and, on a GPU, usually a kernel launch (a replayed "
                "graph calls almost none).")
        self.sections.append({
            "title": f"2. ResNet-20 training throughput, batch 128, {steps} timed steps "
                     f"after {steps} warm-up steps ({self.device})",
            "columns": ["variant", "images/s", "vs Python eager", "ATen ops per step"],
            "rows": [[r["variant"], f"{r['images_per_s']:.0f}", f"{r['vs_python_eager']:.2f}x",
                      "-" if r["aten_ops_per_step"] is None else f"{r['aten_ops_per_step']:.0f}"]
                     for r in rows],
            "note": note, "data": rows})

    # ---------------------------------------------------------------- 3
    def ddp_overhead(self):
        """Plain training against DistributedDataParallel, C++ (stage 1, stage 3 under
        scripts/launch_local.sh) and Python (tutorial_job.py, and --ddp under torchrun),
        at world size 1 and, where there is room for 2 ranks, 2; interleaved rounds."""
        rounds = self.args.ddp_repeats or max(5, self.args.repeats)
        self.ddp_rounds = rounds
        batch = 64
        stage1 = self.exe("examples/stage1_single_device")
        stage3 = self.exe("examples/stage3_ddp_launched")
        launch = os.path.join(ROOT, "scripts", "launch_local.sh")
        job = os.path.join(HERE, "tutorial_job.py")
        common = ["--data-dir", self.args.data_dir, "--epochs", "1", "--device", self.device]
        # Two ranks need two GPUs; on a CPU they share its cores.
        world_sizes = [1, 2] if not self.cuda or torch.cuda.device_count() >= 2 else [1]
        env = launcher_env()  # the launchers must not find this shell's rendezvous

        def threads(ranks):  # stage 3's own default: the cores over the ranks on a machine
            return ["--threads", str(max(1, self.args.threads // ranks))]

        def cpp_stage1(out):
            log = run([stage1, *common, *threads(1), "--output-dir", out], env=env)
            self.libtorch = re.search(r"\| LibTorch\s*\| (\S+)", log).group(1)
            return metrics(out)[-1]["samples_per_second"]

        def cpp_stage3(ranks):
            def measure(out):
                run([launch, "--nproc-per-node", str(ranks), "--master-port", str(free_port()),
                     stage3, *common, *threads(ranks), "--output-dir", out], env=env)
                return metrics(out)[-1]["samples_per_second"]  # summed over ranks
            return measure

        def python_plain(out):
            return last_json(run([self.python, job, *common, *threads(1)], env=env)
                             )["samples_per_second"]

        def python_ddp(ranks):
            def measure(out):
                # Debian's torch 1.13 on Python 3.11 fails in torchrun without --redirects
                # 1 --tee 1: rank 0's lines then come prefixed "[default0]:".
                output = run([self.python, "-m", "torch.distributed.run",
                              "--nproc_per_node", str(ranks), "--master_port", str(free_port()),
                              "--redirects", "1", "--tee", "1", "--log_dir", out,
                              job, "--ddp", *common, *threads(ranks)], env=env)
                return last_json(output)["samples_per_second"]  # summed over ranks
            return measure

        # (program, family, DDP?, world size, run): each family's plain row first.
        variants = [("C++ stage1_single_device", "C++", False, 1, cpp_stage1)]
        variants += [("C++ stage3_ddp_launched (launch_local.sh)", "C++", True, n, cpp_stage3(n))
                     for n in world_sizes]
        variants += [("Python tutorial_job.py", "Python", False, 1, python_plain)]
        variants += [("Python tutorial_job.py --ddp (torchrun)", "Python", True, n,
                      python_ddp(n)) for n in world_sizes]
        rates = [[] for _ in variants]
        for round_index in range(rounds):
            for index, (_, _, _, _, measure) in enumerate(variants):
                out = os.path.join(self.work, f"ddp-{index}-{round_index}")
                rates[index].append(measure(out))
        plain = {family: median(rates[index])
                 for index, (_, family, ddp, _, _) in enumerate(variants) if not ddp}
        rows = []
        for index, (program, family, ddp, ranks, _) in enumerate(variants):
            rate = median(rates[index])
            row = {"program": program, "ddp": ddp, "world_size": ranks, "samples_per_s": rate,
                   "vs_plain": rate / plain[family], "runs": rates[index],
                   "wrapper_us_per_step": None, "wrapper_percent_of_step": None}
            if ddp and ranks == 1:  # what the wrapper adds to a step of `batch` samples
                row["wrapper_us_per_step"] = 1e6 * batch * (1 / rate - 1 / plain[family])
                row["wrapper_percent_of_step"] = 100 * (plain[family] / rate - 1)
            rows.append(row)
        backend = "NCCL" if self.cuda else "Gloo"
        note = (f"Medians of {rounds} interleaved rounds (each round runs every row once, in "
                "this order). Training samples/s: the samples of rank 0's epoch over the time "
                "of its training loop alone (no start-up, data loading or evaluation), times "
                "the world size, as in stage 3's metrics.jsonl; tutorial_job.py reports it "
                f"the same way. Batch {batch} in all, {batch} / world size per rank under "
                f"DDP; backend {backend}. Each of N ranks on one machine runs with "
                f"--threads {self.args.threads} / N (stage 3's own default: the cores over the "
                "local ranks; this overrides torchrun's OMP_NUM_THREADS=1). Wrapper's cost: "
                f"1e6 x {batch} x (1 / DDP rate - 1 / plain rate), the microseconds DDP adds "
                "to one step at world size 1, and that as % of the plain step.")
        if self.cuda and len(world_sizes) == 1:
            note += (f" World size 2 left out: it needs 2 GPUs, this machine has "
                     f"{torch.cuda.device_count()}.")
        elif not self.cuda:
            note += (" World size 2 on a CPU adds no hardware: its 2 ranks share the cores, "
                     "so the row shows the gradient all-reduce's cost plus how differently "
                     "2 ranks of half the threads use the cores than 1 rank of all of them.")

        def cost(row):
            if row["wrapper_us_per_step"] is None:
                return "-"
            return f"{row['wrapper_us_per_step']:+.0f} us ({row['wrapper_percent_of_step']:+.1f}%)"

        self.sections.append({
            "title": "3. DistributedDataParallel's overhead at world size 1, and world size "
                     f"2 (tutorial's job, 1 epoch, training samples/s, {self.device}, "
                     f"{rounds} rounds)",
            "columns": ["program", "world size", "training samples/s", "vs its own plain run",
                        "wrapper's cost per step (world size 1)"],
            "rows": [[r["program"], str(r["world_size"]),
                      f"{r['samples_per_s']:.0f}", f"{r['vs_plain']:.2f}x", cost(r)]
                     for r in rows],
            "note": note, "data": rows})

    # ---------------------------------------------------------------- 4
    def pipeline(self):
        steps = self.args.steps or (100 if self.cuda else 50)
        common = ["--batch-size", "128", "--steps", str(steps), "--device", self.device,
                  "--threads", str(self.args.threads), "--pipeline-only"]
        variants = [("C++ BatchLoader + transforms",
                     [self.exe("benchmarks/bench_train_throughput")]),
                    ("Python, the same tensor ops",
                     [self.python, os.path.join(HERE, "train_throughput.py")])]
        if self.cuda:
            variants += [(name + ", data on device", [*command, "--data-on-device"])
                         for name, command in list(variants)]
        rate = {name: [] for name, _ in variants}
        for _ in range(self.args.repeats):
            for name, command in variants:
                rate[name].append(last_json(run([*command, *common]))["batches_per_s"])
        rows = [{"variant": name, "batches_per_s": median(values)} for name, values in rate.items()]
        self.sections.append({
            "title": f"4. Data pipeline alone: gather, copy, crop + flip + normalise, batch 128 "
                     f"({self.device})",
            "columns": ["variant", "batches/s"],
            "rows": [[r["variant"], f"{r['batches_per_s']:.0f}"] for r in rows],
            "data": rows})

    # ---------------------------------------------------------------- 5
    def overlap(self):
        """How much of the gradient all-reduce backward hides, at world size 2 on the CPU:
        stage 3's --trace measured by plot_timeline.py, against PyTorch's reducer timer."""
        title = ("5. The gradient all-reduce hidden under backward (tutorial's job, 2 ranks, "
                 "Gloo, CPU)")
        columns = ["program", "buckets", "backward compute per step (ms)",
                   "communication per step (ms)", "hidden under backward",
                   "exposed per step (ms)"]
        if self.cuda:
            self.sections.append({
                "title": title, "columns": columns, "rows": [], "data": [],
                "note": "Left out on CUDA: it runs 2 ranks on the CPU with Gloo, and one GPU "
                        "cannot hold two NCCL ranks; run it with --cpu."})
            return
        measured = self.args.steps or 50
        steps = 10 + measured  # 10 steps of warm-up, then the measured ones
        stage3 = self.exe("examples/stage3_ddp_launched")
        launch = os.path.join(ROOT, "scripts", "launch_local.sh")
        job = os.path.join(HERE, "tutorial_job.py")
        common = ["--data-dir", self.args.data_dir, "--epochs", "1", "--device", "cpu",
                  "--threads", str(max(1, self.args.threads // 2)), "--max-steps", str(steps)]
        env = launcher_env()
        timeline = plot_timeline()

        def cpp(out):
            trace = os.path.join(out, "trace.json")
            log = run([launch, "--nproc-per-node", "2", "--master-port", str(free_port()), stage3,
                       *common, "--output-dir", out, "--trace", trace,
                       "--trace-steps", f"10:{steps}"], env=env)
            libtorch = re.search(r"\| LibTorch\s*\| (\S+)", log)
            if libtorch:
                self.libtorch = libtorch.group(1)
            try:
                read = timeline.read_run(trace)
            except timeline.TraceError as e:
                sys.exit(f"run_benchmarks.py: {e}")
            figures = timeline.overlap(read)
            sizes = [str(b) for b in read["bucket_bytes"] if b is not None]
            return {"buckets": ", ".join(sizes),
                    "backward_compute_ms": figures["backward_compute_ms_per_step"],
                    "comm_ms": figures["comm_ms_per_step"],
                    "overlap_share": figures["overlap_share"],
                    "exposed_ms": figures["exposed_ms_per_step"]}

        def python(out):
            result = last_json(run([self.python, "-m", "torch.distributed.run",
                                    "--nproc_per_node", "2", "--master_port", str(free_port()),
                                    "--redirects", "1", "--tee", "1", "--log_dir", out,
                                    job, "--ddp", "--ddp-timing", *common], env=env))
            return {"buckets": result["ddp_bucket_sizes"],
                    "backward_compute_ms": result["ddp_backward_compute_ms"],
                    "comm_ms": result["ddp_backward_comm_ms"],
                    "overlap_share": result["ddp_overlap_share"],
                    "exposed_ms": result["ddp_exposed_ms"]}

        variants = [("C++ stage3_ddp_launched (launch_local.sh)", cpp),
                    ("Python tutorial_job.py --ddp (torchrun)", python)]
        runs = [[] for _ in variants]
        for round_index in range(self.args.repeats):
            for index, (_, measure) in enumerate(variants):
                out = os.path.join(self.work, f"overlap-{index}-{round_index}")
                runs[index].append(measure(out))
        rows = []
        for (program, _), results in zip(variants, runs):
            row = {"program": program, "bucket_bytes": results[-1]["buckets"], "runs": results}
            for key in ("backward_compute_ms", "comm_ms", "overlap_share", "exposed_ms"):
                values = [r[key] for r in results if r[key] is not None]
                row[key] = median(values)
            rows.append(row)

        def buckets(text):
            sizes = [float(b) / 1e6 for b in text.split(",") if b.strip()]
            return f"{len(sizes)}: " + " + ".join(f"{b:.2f}" for b in sizes) + " MB"

        note = (f"Medians of {self.args.repeats} interleaved rounds; --threads "
                f"{max(1, self.args.threads // 2)} per rank, batch 32 per rank, "
                f"{steps} steps (--max-steps; set by 10 + --steps, default 50). By PyTorch "
                "DDP's reducer timer, per step: communication runs from the first bucket's "
                "all-reduce launch to the end of the final wait for every bucket; hidden = "
                "backward's end (every gradient computed) minus that first launch, at most "
                "the communication, as a share of it (sum over sum); exposed = communication "
                "- hidden (C++: the wait's end minus backward's end, the same whenever the "
                "first launch precedes backward's end); backward compute = the last "
                "backward's start to its every gradient computed. C++ measures steps 10 to "
                f"{steps - 1} of both ranks from its --trace files (scripts/plot_timeline.py); "
                "PyTorch averages on rank 0 the iterations its timer sampled, every one from "
                "the first (--ddp-timing sets the sample rate to 1; by default the first 10 "
                "and then 1 in 100). Both with the default buckets (25 MB, the first 1 MB); "
                "PyTorch rebuilds its buckets after the first iteration in the order the "
                "gradients became ready (its rebuilt sizes shown), while ours keep reverse "
                "registration order.")
        self.sections.append({
            "title": title, "columns": columns,
            "rows": [[r["program"], buckets(r["bucket_bytes"]),
                      f"{r['backward_compute_ms']:.2f}", f"{r['comm_ms']:.2f}",
                      f"{100 * r['overlap_share']:.0f}%",
                      f"{r['exposed_ms']:.2f}"] for r in rows],
            "note": note, "data": rows})

    # ---------------------------------------------------------------- report
    def machine(self):
        cpu = platform.processor()
        try:
            with open("/proc/cpuinfo") as f:
                cpu = next(line.split(":", 1)[1].strip() for line in f
                           if line.startswith("model name"))
        except (OSError, StopIteration):
            pass
        info = {"date": datetime.date.today().isoformat(), "cpu": cpu, "cores": os.cpu_count(),
                "python_torch": torch.__version__, "libtorch": getattr(self, "libtorch", "?"),
                "device": self.device, "repeats": self.args.repeats, "threads": self.args.threads}
        if hasattr(self, "ddp_rounds"):
            info["ddp_repeats"] = self.ddp_rounds
        if self.cuda:
            info["gpu"] = torch.cuda.get_device_name(0)
            info["cuda"] = torch.version.cuda
        return info

    def report(self):
        """Writes OUT/benchmarks.md and .json with the sections done so far; returns the markdown."""
        machine = self.machine()
        lines = [f"Benchmarks of {machine['date']}: "
                 + (f"{machine['gpu']} (CUDA {machine['cuda']}), " if self.cuda else "")
                 + f"{machine['cores']} cores of {machine['cpu']} ({machine['threads']} threads "
                 f"each); LibTorch {machine['libtorch']}, "
                 f"Python torch {machine['python_torch']}; medians of {machine['repeats']} "
                 + (f"runs (section 3: of {machine['ddp_repeats']} rounds), "
                    if "ddp_repeats" in machine else "runs, ")
                 + "ratios from this same invocation.", ""]
        for section in self.sections:
            lines += [f"### {section['title']}", ""]
            if section["rows"]:
                lines += ["| " + " | ".join(section["columns"]) + " |",
                          "|" + "---|" * len(section["columns"])]
                lines += ["| " + " | ".join(row) + " |" for row in section["rows"]]
            if section.get("note"):
                lines += ["", section["note"]] if section["rows"] else [section["note"]]
            lines.append("")
        markdown = "\n".join(lines)
        os.makedirs(self.args.out, exist_ok=True)
        with open(os.path.join(self.args.out, "benchmarks.md"), "w") as f:
            f.write(markdown)
        with open(os.path.join(self.args.out, "benchmarks.json"), "w") as f:
            json.dump({"machine": machine,
                       "sections": [{"title": s["title"], "results": s["data"]}
                                    for s in self.sections]}, f, indent=2)
        return markdown


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--out", default="bench-out")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 epoch of the tutorial's job")
    parser.add_argument("--steps", type=int, default=0,
                        help="timed steps for sections 2 and 4 (default: 100 on CUDA; "
                             "10 and 50 on a CPU), and measured steps of section 5 after "
                             "its 10 warm-up steps (default 50)")
    parser.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--cpu", action="store_true", help="benchmark the CPU even with a GPU")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="CPU threads for both programs (default: all cores)")
    parser.add_argument("--ddp-repeats", type=int, default=0,
                        help="interleaved rounds of section 3 (default: the larger of 5 "
                             "and --repeats)")
    parser.add_argument("--only", default="12345", help="sections to run, e.g. 24")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.ddp_repeats < 0:
        parser.error("--ddp-repeats must be at least 1 (0: the larger of 5 and --repeats)")
    harness = Harness(args)
    for number, section in zip("12345", (harness.tutorial_job, harness.throughput,
                                         harness.ddp_overhead, harness.pipeline,
                                         harness.overlap)):
        if number in args.only:
            start = datetime.datetime.now()
            print(f"run_benchmarks.py: section {number} ...", file=sys.stderr, flush=True)
            section()
            harness.report()  # what is done survives a run stopped later
            print(f"run_benchmarks.py: section {number} took "
                  f"{(datetime.datetime.now() - start).total_seconds():.0f} s",
                  file=sys.stderr, flush=True)
    print(harness.report())


if __name__ == "__main__":
    main()
