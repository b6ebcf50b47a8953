#!/usr/bin/env python3
"""The docs check: README.md, README_zh.md, BENCHMARKS.md and docs/**.md stay true.

    scripts/docs_check.py            links, generated blocks, commands (no running)
    scripts/docs_check.py --run      ... and runs every command not marked otherwise
    scripts/docs_check.py --update   regenerates the generated blocks in place

1. Every relative link or image resolves to a file in the repository.
2. Generated blocks are current. Between
       <!-- diff A B -->  and  <!-- end -->     the `diff -u` of two sources;
       <!-- file A -->    and  <!-- end -->     a whole source file;
       <!-- function A NAME --> and <!-- end --> the definition of NAME in A,
                                                from its first line to the
                                                first "}" in column 0;
       <!-- output TITLE -->  and  <!-- end --> RUN.md's console block of
                                                the section "## TITLE", shortened.
3. Every command in a ```sh block either runs (--run: from the repository's
   root; what it creates there is removed after) or carries a
   mark, in a comment on its line or in the comment lines above it in the
   same paragraph of the block (no blank line between):
       needs a GPU | needs a cluster | needs Slurm | needs several machines
       CI runs it                      (the README's test command, say)
       tested by NAME                  (NAME must occur in tests/)
4. Each stage stays a small change from the one before: plain `diff` of two
   consecutive examples/*/main.cpp prints at most STAGE_DIFF_BUDGETS lines
   starting with < or >.
Problems are printed one per line; the exit status is 1 if there are any.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARK = re.compile(r"needs (a GPU|a cluster|Slurm|several machines)|CI runs it|tested by ([\w./:-]+)",
                  re.IGNORECASE)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
BLOCK = re.compile(r"(<!-- (diff|file|function|output) (.+?) -->\n)(.*?)(<!-- end -->)", re.DOTALL)
OUTPUT_HEAD, OUTPUT_TAIL = 14, 12  # console lines kept from RUN.md's start and end
# (previous stage, stage, most lines `diff` may print with < or >): issue #15.
# Stage 3's was 60 until issue #17 added two lines only DDP has: --sync-bn's
# conversion and --accumulate-steps' no_sync switch (three lines were joined
# to make room for one of them), then 62 until issue #19 added three for
# --trace's timeline (made, given to the wrapper, given to the trainer).
STAGE_DIFF_BUDGETS = [
    ("stage1_single_device", "stage2_data_parallel", 30),
    ("stage2_data_parallel", "stage3_ddp_launched", 66),
    ("stage3_ddp_launched", "stage4_ddp_spawned", 40),
]


def markdown_files():
    files = [os.path.join(ROOT, name) for name in ("README.md", "README_zh.md", "BENCHMARKS.md")]
    files += sorted(glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))
    return [f for f in files if os.path.exists(f)]


def relative(path):
    return os.path.relpath(path, ROOT)


def check_links(file, text, problems):
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor in the same page
        path = os.path.normpath(os.path.join(os.path.dirname(file), target.split("#")[0]))
        if not os.path.exists(path):
            problems.append(f"{relative(file)}: the link {target} leads nowhere")


def diff_block(arguments):
    a, b = arguments.split()
    result = subprocess.run(["diff", "-u", "--label", a, "--label", b,
                             os.path.join(ROOT, a), os.path.join(ROOT, b)],
                            stdout=subprocess.PIPE, text=True)
    return "```diff\n" + result.stdout + "```\n"


def output_block(title):
    with open(os.path.join(ROOT, "RUN.md")) as f:
        run = f.read()
    match = re.search(r"^## " + re.escape(title) + r"\n\n```\n(.*?)```", run, re.DOTALL | re.MULTILINE)
    if not match:
        raise KeyError(f"RUN.md has no section '## {title}'")
    lines = match.group(1).splitlines()
    if len(lines) > OUTPUT_HEAD + OUTPUT_TAIL + 1:
        lines = lines[:OUTPUT_HEAD] + ["..."] + lines[-OUTPUT_TAIL:]
    return "```\n" + "\n".join(lines) + "\n```\n"


def file_block(path):
    with open(os.path.join(ROOT, path)) as f:
        text = f.read()
    # ```bash: a script's text; ```sh is kept for commands a reader types (3. above).
    language = {".cpp": "cpp", ".h": "cpp", ".sh": "bash", ".sbatch": "bash"}.get(
        os.path.splitext(path)[1], "")
    return f"```{language}\n{text}```\n"


def function_block(arguments):
    path, name = arguments.split()
    with open(os.path.join(ROOT, path)) as f:
        lines = f.read().splitlines()
    # The definition: a line in column 0 naming NAME followed by "(", not a declaration.
    start = next((i for i, line in enumerate(lines)
                  if re.match(r"\S.*\b" + re.escape(name) + r"\(", line) and not line.endswith(";")),
                 None)
    if start is None:
        raise ValueError(f"{path} has no definition of {name}")
    end = next((i for i in range(start, len(lines)) if lines[i] == "}"), None)
    if end is None:
        raise ValueError(f"{path}: the definition of {name} has no closing '}}' in column 0")
    return "```cpp\n" + "\n".join(lines[start:end + 1]) + "\n```\n"


def generated(kind, arguments):
    if kind == "diff":
        return diff_block(arguments)
    if kind == "function":
        return function_block(arguments)
    return file_block(arguments) if kind == "file" else output_block(arguments)


def check_blocks(file, text, problems, update):
    def replace(match):
        head, kind, arguments, body, end = match.groups()
        try:
            fresh = generated(kind, arguments.strip())
        except (KeyError, ValueError, OSError) as e:
            problems.append(f"{relative(file)}: <!-- {kind} {arguments} -->: {e}")
            return match.group(0)
        if body != fresh and not update:
            problems.append(f"{relative(file)}: the {kind} block '{arguments}' is stale "
                            "(scripts/docs_check.py --update)")
        return head + fresh + end
    new_text = BLOCK.sub(replace, text)
    if update and new_text != text:
        with open(file, "w") as f:
            f.write(new_text)
        print(f"docs_check.py: updated {relative(file)}")


def commands(text):
    """(command, mark or None) for each command of each ```sh block."""
    for block in re.findall(r"^```sh\n(.*?)^```", text, re.DOTALL | re.MULTILINE):
        comments = []
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            if not line.strip():
                comments = []
            elif line.lstrip().startswith("#"):
                comments.append(line)
            else:
                command = line
                while command.endswith("\\") and i + 1 < len(lines):
                    i += 1
                    command = command[:-1] + " " + lines[i].strip()
                # The nearest mark wins: the command's own line, then the comments up.
                mark = next(filter(None, (MARK.search(text) for text in [command] + comments[::-1])),
                            None)
                yield command.split("  #")[0].strip(), mark
            i += 1


def tests_mention(name):
    """Whether tests/ names the test: verbatim (a CTest name), or as a
    GoogleTest TEST(Suite, Name) for "Suite.Name"."""
    suite, _, test = name.rpartition(".")
    gtest = re.compile(rf"TEST(_F|_P)?\(\s*{re.escape(suite)}\s*,\s*{re.escape(test)}\b") if suite else None
    for path in glob.glob(os.path.join(ROOT, "tests", "**", "*"), recursive=True):
        if os.path.isfile(path):
            with open(path, errors="replace") as f:
                text = f.read()
            if name in text or (gtest and gtest.search(text)):
                return True
    return False


def run_command(command, problems, file):
    """Runs `command` from the repository's root (as a reader would; CMake
    insists on its source folder), then removes what it created at the top
    (output/, charts/, ...); what was there before stays."""
    before = set(os.listdir(ROOT))
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")}
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    print(f"docs_check.py: running {command}", flush=True)
    try:
        result = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, timeout=900,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if result.returncode != 0:
            last = (result.stdout.strip().splitlines() or [""])[-1]
            problems.append(f"{relative(file)}: `{command}` failed ({result.returncode}): {last}")
    except subprocess.TimeoutExpired:
        problems.append(f"{relative(file)}: `{command}` ran over 900 s")
    finally:
        for entry in set(os.listdir(ROOT)) - before:
            path = os.path.join(ROOT, entry)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)


def changed_lines(a, b):
    """The lines plain `diff a b` prints with < or >."""
    output = subprocess.run(["diff", a, b], capture_output=True, text=True).stdout
    return sum(1 for line in output.splitlines() if line.startswith(("<", ">")))


def check_stage_diffs(problems):
    for previous, stage, budget in STAGE_DIFF_BUDGETS:
        a, b = (os.path.join(ROOT, "examples", name, "main.cpp") for name in (previous, stage))
        if not (os.path.exists(a) and os.path.exists(b)):
            continue
        count = changed_lines(a, b)
        if count > budget:
            problems.append(f"diff {relative(a)} {relative(b)} changes {count} lines, more than "
                            f"the {budget} a reader should have to follow: keep what the stages "
                            "share in the same lines, or in src/")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="store_true", help="run the unmarked commands")
    parser.add_argument("--update", action="store_true", help="regenerate the generated blocks")
    args = parser.parse_args()
    problems, ran, marked, done = [], 0, 0, set()
    for file in markdown_files():
        with open(file) as f:
            text = f.read()
        check_links(file, text, problems)
        check_blocks(file, text, problems, args.update)
        for command, mark in commands(text):
            if mark:
                marked += 1
                if mark.group(2) and not tests_mention(mark.group(2)):
                    problems.append(f"{relative(file)}: `{command}` is 'tested by "
                                    f"{mark.group(2)}', which tests/ does not mention")
            elif command not in done:  # the same command in two languages runs once
                done.add(command)
                ran += 1
                if args.run:
                    run_command(command, problems, file)
    check_stage_diffs(problems)
    for problem in problems:
        print(f"docs_check.py: {problem}")
    print(f"docs_check.py: {len(markdown_files())} files; {ran} commands "
          f"{'run' if args.run else 'to run'}, {marked} marked; {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
