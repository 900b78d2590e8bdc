"""Speed and memory of stepgrad's engine against micrograd 0.1.0, measured in one run.

    .venv/bin/python tests/benchmarks/bench_engine.py            # full run, about 15 minutes
    .venv/bin/python tests/benchmarks/bench_engine.py --quick    # fewer repeats

Every measurement runs in a fresh worker process (so neither library inherits the
other's heap) and is the process's CPU time (time.process_time: single-threaded work,
less disturbed by other load than wall time); the script prints the ratios.
Workloads (issue 2):
  W1  micrograd's demo step: MLP(2, [16, 16, 1]), 100 two-moons points, SVM max-margin
      loss + 1e-4·Σp², zero_grad, backward, SGD update. Each library's own nn.MLP.
  W1= the same step with micrograd's own nn code driving both engines: the identical
      graph node for node (65,818 nodes), so only the engine differs.
  W3  build and backward a graph of 100,000 multiply-adds; time and bytes per node.
  deep  a chain 100,000 and 1,000,000 nodes deep: build + backward (stepgrad only;
      micrograd's recursive topological sort cannot), with the GC on and off; and the
      same chain of bare slotted objects with no engine at all (the floor), which shows
      how much of the growth is CPython's cyclic collector rather than the engine.
This is not part of the test suite: timings are never asserted in tests.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import random
import statistics
import subprocess
import sys
import time

W1_STEPS = 10  # steps timed per worker (after 2 warm-up steps)


# --------------------------------------------------------------------------- workers


BASELINE = "e42b236"  # the engine before issue 9's reshaping: W1 and W3 must stay within 5 % of it


def _engine(lib: str):
    if lib == "micrograd":
        from micrograd.engine import Value
    else:  # stepgrad, stepgrad-pure (STEPGRAD_PURE=1 set by the driver) or baseline (sys.path set by the driver)
        from autograd.engine import Value
    return Value


def _baseline_dir() -> str | None:
    """The baseline's autograd/ and nn/ unpacked from git into a temporary folder (None without git)."""
    import atexit
    import shutil
    import tempfile

    root = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, cwd=sys.path[0])
    if root.returncode != 0:
        return None
    folder = tempfile.mkdtemp(prefix="stepgrad-baseline-")
    atexit.register(shutil.rmtree, folder, True)
    archive = subprocess.run(
        ["git", "archive", BASELINE, "autograd", "nn"], capture_output=True, cwd=root.stdout.strip(), check=False
    )
    if archive.returncode != 0:
        return None
    subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
    return folder


def _moons(n: int = 100, seed: int = 0) -> tuple[list[tuple[float, float]], list[int]]:
    """Two interleaved half circles with a little noise, labels ±1 (pure Python)."""
    rng = random.Random(seed)
    X, y = [], []
    for i in range(n):
        t = math.pi * rng.random()
        if i % 2 == 0:
            X.append((math.cos(t) + rng.gauss(0, 0.1), math.sin(t) + rng.gauss(0, 0.1)))
            y.append(1)
        else:
            X.append((1 - math.cos(t) + rng.gauss(0, 0.1), 0.5 - math.sin(t) + rng.gauss(0, 0.1)))
            y.append(-1)
    return X, y


def _mlp(lib: str, same_graph: bool):
    if lib == "micrograd" or same_graph:
        import micrograd.nn as mnn

        if lib != "micrograd":  # micrograd's nn code, stepgrad's Value (any variant)
            mnn.Value = _engine("stepgrad")
        return mnn.MLP
    from nn import MLP

    return MLP


def work_w1(lib: str, gc_on: bool, same_graph: bool) -> dict:
    Value = _engine(lib)
    MLP = _mlp(lib, same_graph)
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    X, y = _moons()
    nodes = 0

    def step(k: int) -> float:
        nonlocal nodes
        inputs = [list(map(Value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in model.parameters())
        total = data_loss + reg_loss
        if not nodes:
            nodes = _count_nodes(total)
        model.zero_grad()
        total.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        return total.data

    if not gc_on:
        gc.disable()
    times = []
    for k in range(W1_STEPS + 2):
        t0 = time.process_time()
        loss = step(k)
        times.append(time.process_time() - t0)
    return {"seconds": statistics.median(times[2:]), "nodes": nodes, "loss": loss}


def _count_nodes(root) -> int:
    seen = {root}
    stack = [root]
    while stack:
        node = stack.pop()
        for parent in getattr(node, "_parents", None) or node._prev:
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return len(seen)


def work_w3(lib: str, memory: bool, n: int = 100_000) -> dict:
    """Build and backward n multiply-adds: timed, or (memory=True) traced for bytes per node."""
    import tracemalloc

    Value = _engine(lib)
    if lib == "micrograd":  # its recursive topological sort needs room for a 100,000-deep chain
        sys.setrecursionlimit(1_000_000)
    rng = random.Random(0)
    data = [(rng.uniform(-1, 1), rng.uniform(-1, 1)) for _ in range(n)]

    def build_and_backward():
        acc = Value(0.0)
        for a, b in data:
            acc = acc + Value(a) * Value(b)
        acc.backward()
        return acc

    nodes = 1 + 4 * n  # the start, and per term: two leaves, one product, one sum
    if memory:  # traced, in a worker of its own: tracing slows everything (micrograd's deep recursion most)
        gc.disable()  # the collector only slows the traced build down; gc.collect() below does its work
        tracemalloc.start()
        graph = build_and_backward()
        gc.collect()  # garbage cycles left by backward (micrograd's recursive build_topo and its closure cells)
        allocated, _peak = tracemalloc.get_traced_memory()  # what the live graph holds after backward
        tracemalloc.stop()
        del graph
        return {"bytes_per_node": allocated / nodes, "nodes": nodes}
    t0 = time.process_time()
    graph = build_and_backward()
    seconds = time.process_time() - t0  # before the graph is freed
    del graph
    return {"seconds": seconds, "nodes": nodes}


def work_deep(lib: str, n: int, gc_on: bool = True) -> dict:
    Value = _engine(lib)
    if not gc_on:
        gc.disable()
    t0 = time.process_time()
    x = Value(0.5)
    scale = Value(1.0000001)
    y = x
    try:
        for _ in range(n):
            y = y * scale
        t1 = time.process_time()
        y.backward()
    except RecursionError:
        return {"seconds": None, "error": "RecursionError"}
    t2 = time.process_time()
    expected = n * 1.0000001 ** (n - 1) * 0.5  # ∂(x·s^n)/∂s = n·x·s^(n-1)
    assert math.isclose(scale.grad, expected, rel_tol=1e-9), (scale.grad, expected)
    return {"seconds": t2 - t0, "backward": t2 - t1}


def work_grad(n: int) -> dict:
    """``autograd.grad(y, [s])`` against ``y.backward()`` on one chain of n products (each the fastest of 3)."""
    from autograd import Value, grad

    x, scale = Value(0.5), Value(1.0000001)
    y = x
    for _ in range(n):
        y = y * scale
    times: dict[str, float] = {"backward": math.inf, "grad": math.inf}
    for _ in range(3):
        scale.grad = 0.0
        t0 = time.process_time()
        y.backward()
        t1 = time.process_time()
        (d,) = grad(y, [scale])
        t2 = time.process_time()
        times["backward"] = min(times["backward"], t1 - t0)
        times["grad"] = min(times["grad"], t2 - t1)
    assert d.data == scale.grad  # the same derivative, two ways
    return {"seconds": times["grad"], "backward": times["backward"]}


class _Link:
    """The floor: one slotted object per node, the least any engine of Python objects allocates."""

    __slots__ = ("parent", "data", "grad")


def work_floor(n: int, gc_on: bool = True) -> dict:
    """A chain of n bare objects, built and walked back once: no engine, only allocation and a loop."""
    if not gc_on:
        gc.disable()
    t0 = time.process_time()
    node = _Link()
    node.parent, node.data, node.grad = None, 0.5, 0.0
    for _ in range(n):
        child = _Link()
        child.parent, child.data, child.grad = node, node.data * 1.0000001, 0.0
        node = child
    node.grad = 1.0
    while node.parent is not None:  # the "backward": one multiply-add per node
        node.parent.grad += node.grad * 1.0000001
        node = node.parent
    return {"seconds": time.process_time() - t0}


def worker(args: argparse.Namespace) -> None:
    if args.worker == "W1":
        result = work_w1(args.lib, args.gc == "on", same_graph=False)
    elif args.worker == "W1=":
        result = work_w1(args.lib, args.gc == "on", same_graph=True)
    elif args.worker in ("W3", "W3mem"):
        result = work_w3(args.lib, memory=args.worker == "W3mem")
    elif args.worker == "nodesize":
        result = work_nodesize(args.lib)
    elif args.worker.startswith("grad:"):
        result = work_grad(int(args.worker.split(":")[1]))
    elif args.worker.startswith("floor:"):
        result = work_floor(int(args.worker.split(":")[1]), args.gc == "on")
    else:
        result = work_deep(args.lib, int(args.worker.split(":")[1]), args.gc == "on")
    print(json.dumps(result))


# --------------------------------------------------------------------------- driver


_baseline: list[str | None] = []


def measure(workload: str, lib: str, gc_mode: str = "on") -> dict:
    import os

    cmd = [sys.executable, __file__, "--worker", workload, "--lib", lib, "--gc", gc_mode]
    env = dict(os.environ)
    env.pop("STEPGRAD_PURE", None)
    if lib == "stepgrad-pure":
        env["STEPGRAD_PURE"] = "1"
    if lib == "baseline":
        if not _baseline:
            _baseline.append(_baseline_dir())
        if _baseline[0] is None:
            return {"seconds": None, "error": f"git archive {BASELINE} failed"}
        env["PYTHONPATH"] = _baseline[0] + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if out.returncode != 0:
        return {"seconds": None, "error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout)


def fastest_of(workload: str, lib: str, gc_mode: str, repeats: int) -> dict:
    return fastest_interleaved(workload, (lib,), gc_mode, repeats)[lib]


def fastest_interleaved(workload: str, libs: tuple[str, ...], gc_mode: str, repeats: int) -> dict[str, dict]:
    """The fastest of ``repeats`` workers per library, the libraries taking turns (A B C A B C …), so a
    slow spell of the shared machine falls on all of them alike. The fastest: on a shared machine other
    load only ever adds time, so the minimum is the least disturbed measurement (as timeit advises)."""
    best: dict[str, dict] = {}
    for _ in range(repeats):
        for lib in libs:
            result = measure(workload, lib, gc_mode)
            if lib not in best or (result.get("seconds") or math.inf) < (best[lib].get("seconds") or math.inf):
                best[lib] = result
    return best


def _growth_row(title: str, small: dict, big: dict, key: str = "seconds", micrograd: str = "") -> tuple[str, ...]:
    """A table row: the time at 100,000 and 1,000,000 nodes and how much it grew."""
    return (
        title,
        f"{small[key]:.2f} s → {big[key]:.2f} s",
        micrograd,
        f"{big[key] / small[key]:.1f}× for 10× the nodes",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one worker per measurement instead of three")
    parser.add_argument(
        "--versions", action="store_true", help="only the table against the engine before the split (issue 9)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--lib", help=argparse.SUPPRESS)
    parser.add_argument("--gc", default="on", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return 0
    try:
        import micrograd  # noqa: F401
    except ImportError:
        print("the reference is missing: pip install micrograd==0.1.0 (it is in stepgrad's dev extra)", file=sys.stderr)
        return 2

    repeats = 1 if args.quick else 3
    if args.versions:
        print(engine_versions_table(repeats))
        return 0
    print(
        f"python {sys.version.split()[0]}; each time is the fastest of {repeats} worker process(es) "
        "(a W1 worker reports its median step)\n"
    )
    rows = []
    for workload, title in (("W1", "W1 demo step, own MLP"), ("W1=", "W1= demo step, identical graph")):
        for gc_mode in ("on", "off"):
            mine = fastest_of(workload, "stepgrad", gc_mode, repeats)
            ref = fastest_of(workload, "micrograd", gc_mode, repeats)
            ratio = ref["seconds"] / mine["seconds"]
            rows.append(
                (
                    f"{title}, GC {gc_mode}",
                    f"{mine['seconds'] * 1000:.1f} ms ({mine['nodes']:,} nodes)",
                    f"{ref['seconds'] * 1000:.1f} ms ({ref['nodes']:,} nodes)",
                    f"{ratio:.1f}× faster",
                )
            )
    mine = fastest_of("W3", "stepgrad", "on", repeats)
    ref = fastest_of("W3", "micrograd", "on", repeats)
    mine.update(measure("W3mem", "stepgrad"))  # bytes per node: deterministic, measured once
    ref.update(measure("W3mem", "micrograd"))
    rows.append(
        (
            "W3 100,000 multiply-adds, build + backward",
            f"{mine['seconds'] * 1000:.0f} ms",
            f"{ref['seconds'] * 1000:.0f} ms",
            f"{ref['seconds'] / mine['seconds']:.1f}× faster",
        )
    )
    rows.append(
        (
            "W3 memory per node",
            f"{mine['bytes_per_node']:.0f} bytes",
            f"{ref['bytes_per_node']:.0f} bytes",
            f"{mine['bytes_per_node'] / ref['bytes_per_node']:.2f}× the memory",
        )
    )
    small = fastest_of("deep:100000", "stepgrad", "on", repeats)
    big = fastest_of("deep:1000000", "stepgrad", "on", repeats)
    ref_big = measure("deep:1000000", "micrograd", "on")
    micrograd_big = ref_big.get("error") or f"{ref_big['seconds']:.2f} s"
    title = "deep 100,000 → 1,000,000-node chain, build + backward"
    rows.append(_growth_row(title, small, big, micrograd=micrograd_big))
    rows.append(_growth_row("deep, backward() alone", small, big, key="backward"))
    small = fastest_of("deep:100000", "stepgrad", "off", repeats)
    big = fastest_of("deep:1000000", "stepgrad", "off", repeats)
    rows.append(_growth_row("deep, build + backward, GC off", small, big))
    both = measure("grad:1000000", "stepgrad")
    rows.append(
        (
            "grad(y, [s]) vs y.backward(), one 1,000,000-node chain",
            f"{both['seconds']:.2f} s vs {both['backward']:.2f} s",
            "—",
            f"grad() takes {both['seconds'] / both['backward']:.1f}× as long",
        )
    )
    small = fastest_of("floor:100000", "-", "on", repeats)
    big = fastest_of("floor:1000000", "-", "on", repeats)
    title = "deep floor: a chain of bare 3-slot objects, built and walked back (no engine)"
    rows.append(_growth_row(title, small, big))
    print("| workload | stepgrad | micrograd 0.1.0 | ratio |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    print(engine_versions_table(repeats))
    return 0


def engine_versions_table(repeats: int) -> str:
    """Issue 9: the accelerated engine against the engine before it (BASELINE) and the reference alone."""
    libs = ("stepgrad", "baseline", "stepgrad-pure")
    lines = [
        f"| workload | stepgrad (reference + _fast) | engine at {BASELINE} | reference alone (STEPGRAD_PURE=1) "
        f"| stepgrad / {BASELINE} |",
        "| --- | --- | --- | --- | --- |",
    ]
    for workload, title in (("W1", "W1 demo step, own MLP"), ("W1=", "W1= demo step, identical graph")):
        for gc_mode in ("on", "off"):
            got = fastest_interleaved(workload, libs, gc_mode, repeats)
            ms = {lib: (r["seconds"] * 1000 if r.get("seconds") else float("nan")) for lib, r in got.items()}
            lines.append(
                f"| {title}, GC {gc_mode} | {ms['stepgrad']:.1f} ms | {ms['baseline']:.1f} ms | "
                f"{ms['stepgrad-pure']:.1f} ms | {ms['stepgrad'] / ms['baseline']:.2f}× |"
            )
    got = fastest_interleaved("W3", libs, "on", repeats)
    ms = {lib: r["seconds"] * 1000 for lib, r in got.items()}
    lines.append(
        f"| W3 100,000 multiply-adds, build + backward | {ms['stepgrad']:.0f} ms | {ms['baseline']:.0f} ms | "
        f"{ms['stepgrad-pure']:.0f} ms | {ms['stepgrad'] / ms['baseline']:.2f}× |"
    )
    size = {lib: measure("W3mem", lib)["bytes_per_node"] for lib in libs}
    lines.append(
        f"| W3 memory per node | {size['stepgrad']:.0f} bytes | {size['baseline']:.0f} bytes | "
        f"{size['stepgrad-pure']:.0f} bytes | {size['stepgrad'] / size['baseline']:.2f}× |"
    )
    node = {lib: measure("nodesize", lib) for lib in libs}
    lines.append(
        f"| one node object (sys.getsizeof of a + node), its slots | {node['stepgrad']['bytes']} bytes, "
        f"{node['stepgrad']['slots']} | {node['baseline']['bytes']} bytes, {node['baseline']['slots']} | "
        f"{node['stepgrad-pure']['bytes']} bytes, {node['stepgrad-pure']['slots']} | |"
    )
    return "\n".join(lines)


def work_nodesize(lib: str) -> dict:
    """The size of one node object and its slots: what attribute support (__dict__) costs per node."""
    Value = _engine(lib)
    node = Value(1.0) + Value(2.0)
    return {"bytes": sys.getsizeof(node), "slots": len(type(node).__slots__)}


if __name__ == "__main__":
    sys.exit(main())
