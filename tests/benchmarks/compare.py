"""The engine's and the compiler's speed against an earlier commit, in one run, taking turns.

    .venv/bin/python tests/benchmarks/compare.py BASE               # BASE: a git ref (default HEAD~1); 2-4 minutes
    .venv/bin/python tests/benchmarks/compare.py BASE --rounds 20   # more rounds, a steadier verdict
    .venv/bin/python tests/benchmarks/compare.py BASE --quick       # 2 short rounds: checks it runs, no verdict

BASE is checked out into a temporary git worktree (removed at the end); the other side is this working
tree, uncommitted edits included. Both run the same workload code, this tree's bench_engine.py and
bench_compile.py, each measurement in a fresh worker process whose PYTHONPATH puts the side's tree first
(the worker checks that every autograd and nn module it used came from that tree). The workers take
turns, base and head alternately and the order flipped every round (A B, B A, A B, ...), so a busy spell
of the shared machine falls on both alike. Workloads, as those scripts define them:
  W1 eager      micrograd's demo step on stepgrad (bench_engine.py W1, own MLP, GC on)
  W3 eager      build and backward 100,000 multiply-adds (bench_engine.py W3)
  GPT eager     microgpt's loss and gradients, and a training step with Adam (bench_compile.py)
  W1 compiled   the demo step replayed by autograd.compiled (bench_compile.py)
  GPT compiled  the GPT replayed: loss and gradients, and a training step on arrays (bench_compile.py)
Each worker reports its median step (CPU time, time.process_time). The verdict uses the median of the
rounds' ratios, each head worker over the base worker beside it, not the ratio of each side's fastest
worker (which the other benchmarks report, and the table shows too): on a shared virtual machine the speed
jumps, and one worker that ran in a fast spell moves a minimum. Comparing main with its parent (the same
code twice) on the 2-core machine this was written on, the head's fastest worker was 18 % faster than any
of the base's in two rows, while the median of the rounds' ratios stayed within 0.98-1.03× in every row
of two runs; a slowdown of W1 by about 6 % put in on purpose read 1.062× and 1.070× in two runs (the
fastest: 1.045× and 1.086×). The pairing
cancels load that drifts during the run (both workers of a pair run back to back, in alternating order),
and the median ignores a single lucky or unlucky pair. The table also shows the range of the ratios and
each side's spread over the rounds: a median near 1.05 with a wide range wants more --rounds.
Exit status 1 when a workload's median ratio exceeds 1.05, 2 when a worker failed. A full run takes 15-20 s
a round, 2-4 minutes.
Not part of the test suite: timings are never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
LIMIT = 1.05  # head may take at most 5 % longer than base

# the table's rows: (worker, key of its result, title)
ROWS = [
    ("W1-eager", "seconds", "W1 eager: demo step, GC on"),
    ("W3-eager", "seconds", "W3 eager: 100,000 multiply-adds, build + backward"),
    ("GPT-eager", "grad_seconds", "GPT eager: loss and gradients, 7 positions"),
    ("GPT-eager", "seconds", "GPT eager: training step with Adam"),
    ("W1-compiled", "seconds", "W1 compiled: demo step"),
    ("GPT-compiled", "grad_seconds", "GPT compiled: loss and gradients"),
    ("GPT-compiled", "seconds", "GPT compiled: training step on arrays"),
]
WORKERS = list(dict.fromkeys(worker for worker, _, _ in ROWS))


# --------------------------------------------------------------------------- worker (runs in a fresh process)


def worker(name: str, tree: Path, quick: bool) -> dict:
    """One measurement of workload ``name`` on the autograd and nn of ``tree`` (first on PYTHONPATH)."""
    import autograd  # noqa: F401 - the tree's packages first: bench_compile puts this repository on sys.path
    import nn  # noqa: F401

    # isort: split
    import bench_compile
    import bench_engine

    if quick:  # tiny settings: only enough steps for a median
        bench_engine.W1_STEPS = bench_compile.W1_STEPS = 3
        bench_compile.GPT_STEPS = 4
    if name == "W1-eager":
        result = bench_engine.work_w1("stepgrad", gc_on=True, same_graph=False)
    elif name == "W3-eager":
        result = bench_engine.work_w3("stepgrad", memory=False)
    elif name == "W1-compiled":
        result = bench_compile.work_w1_compiled()
    elif name in ("GPT-eager", "GPT-compiled"):
        result = bench_compile.work_gpt(name.split("-")[1])
    else:
        raise SystemExit(f"no workload {name!r}: one of {', '.join(WORKERS)}")
    strays = sorted(
        f"{module}: {getattr(sys.modules[module], '__file__', None)}"
        for module in list(sys.modules)
        if module.split(".")[0] in ("autograd", "nn")
        and getattr(sys.modules[module], "__file__", None)
        and not Path(sys.modules[module].__file__ or "").resolve().is_relative_to(tree)
    )
    if strays:
        raise SystemExit(f"{len(strays)} module(s) imported from outside {tree}, as {strays[0]}")
    return result


# --------------------------------------------------------------------------- driver


def git(*args: str, cwd: Path = REPO) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"git {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout.strip()


def measure(name: str, tree: Path, quick: bool) -> dict:
    """Run one worker on ``tree`` in a fresh process; its result, or {"error": the last line of stderr}."""
    env = dict(os.environ)
    env.pop("STEPGRAD_PURE", None)  # the default settings: the accelerator installed
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), env.get("PYTHONPATH")]))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--tree", str(tree)]
    if quick:
        cmd.append("--quick")
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, cwd=tree)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or [f"exit status {out.returncode}"])[-1]}
    return json.loads(out.stdout.splitlines()[-1])  # the worker prints its result last


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 0.01 else f"{seconds * 1000:.1f} ms"


def spread(times: list[float]) -> str:
    """How far the slowest round is above the fastest."""
    return f"+{(max(times) / min(times) - 1) * 100:.0f} %"


def compare(base_tree: Path, head_tree: Path, names: list[str], rounds: int, quick: bool) -> dict:
    """{(worker, side): [results of the rounds]}, the sides alternating, their order flipped each round."""
    results: dict = {(name, side): [] for name in names for side in ("base", "head")}
    trees = {"base": base_tree, "head": head_tree}
    for k in range(rounds):
        started = time.monotonic()
        order = ("base", "head") if k % 2 == 0 else ("head", "base")
        for name in names:
            for side in order:
                results[name, side].append(measure(name, trees[side], quick))
        took = time.monotonic() - started
        left = f", about {took * (rounds - k - 1) / 60:.0f} min left" if k + 1 < rounds else ""
        print(f"round {k + 1}/{rounds}: {took:.0f} s{left}", file=sys.stderr, flush=True)
    return results


def report(results: dict, names: list[str], quick: bool) -> int:
    """Print the table and the verdict; the exit status (0 within 5 %, 1 slower, 2 a worker failed)."""
    print("| workload | base, fastest | head, fastest | head/base: median of the rounds [range] | of the fastest "
          "| spread base · head |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- |")
    slower, failed = [], []
    for name, key, title in ROWS:
        if name not in names:
            continue
        runs = {side: results[name, side] for side in ("base", "head")}
        errors = [f"{side}: {r['error']}" for side, rs in runs.items() for r in rs if "error" in r]
        if errors:
            failed.append(f"{name} ({errors[0]})")
            print(f"| {title} | failed | | | | |")
            continue
        base = [r[key] for r in runs["base"]]
        head = [r[key] for r in runs["head"]]
        ratio = min(head) / min(base)
        paired = [h / b for b, h in zip(base, head)]
        per_round = statistics.median(paired)
        if per_round > LIMIT:
            slower.append(f"{title}: {per_round:.3f}× [{min(paired):.2f}–{max(paired):.2f}]")
        print(
            f"| {title} | {ms(min(base))} | {ms(min(head))} | {per_round:.3f}× [{min(paired):.2f}–{max(paired):.2f}] "
            f"| {ratio:.3f}× | {spread(base)} · {spread(head)} |"
        )
    print()
    for text in dict.fromkeys(failed):
        print(f"FAILED: {text}")
    if quick:
        print("--quick: too few rounds and steps for a verdict")
        return 2 if failed else 0
    for text in slower:
        print(f"SLOWER by more than {(LIMIT - 1) * 100:.0f} %: {text}")
    if not slower and not failed:
        print(f"no workload slower by more than {(LIMIT - 1) * 100:.0f} %")
    return 2 if failed else 1 if slower else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", nargs="?", default="HEAD~1", help="the git ref to compare with (default HEAD~1)")
    parser.add_argument("--rounds", type=int, help="measurements per workload and side (default 10, --quick 2)")
    parser.add_argument("--quick", action="store_true", help="tiny settings: 2 rounds of a few steps each")
    parser.add_argument("--only", help="comma-separated workers to run: " + ", ".join(WORKERS))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.tree.resolve(), args.quick)))
        return 0
    rounds = args.rounds or (2 if args.quick else 10)
    if rounds < 1:
        parser.error("--rounds must be at least 1")
    names = args.only.split(",") if args.only else WORKERS
    unknown = sorted(set(names) - set(WORKERS))
    if unknown:
        parser.error(f"no worker {', '.join(unknown)}: one of {', '.join(WORKERS)}")
    try:
        import numpy  # noqa: F401 - the compiled workloads
    except ImportError:
        print("numpy is missing: pip install -e '.[dev]'", file=sys.stderr)
        return 2

    found = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{args.base}^{{commit}}"], cwd=REPO,
                           capture_output=True, text=True, check=False)  # fmt: skip
    if found.returncode != 0:
        print(f"no commit {args.base!r} in {REPO}", file=sys.stderr)
        return 2
    base = found.stdout.strip()
    head = git("rev-parse", "HEAD")
    dirty = " with uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    print(f"base {base[:10]} ({args.base}): {git('log', '-1', '--format=%s', base)}")
    print(f"head {REPO}: {head[:10]}{dirty}")
    print(
        f"python {sys.version.split()[0]}; {rounds} round(s){', quick settings' if args.quick else ''}; "
        "each time is the fastest worker's median step, CPU time\n",
        flush=True,
    )
    folder = Path(tempfile.mkdtemp(prefix="stepgrad-compare-"))
    base_tree = folder / "base"
    started = time.monotonic()
    try:
        git("worktree", "add", "--detach", "--quiet", str(base_tree), base)
        results = compare(base_tree.resolve(), REPO, names, rounds, args.quick)
    finally:
        removed = subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=REPO, check=False,
                                 capture_output=True)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)
        if removed.returncode != 0:  # its folder gone or never made: drop git's record of it
            subprocess.run(["git", "worktree", "prune"], cwd=REPO, capture_output=True, check=False)
    status = report(results, names, args.quick)
    print(f"({time.monotonic() - started:.0f} s)")
    return status


if __name__ == "__main__":
    sys.exit(main())
