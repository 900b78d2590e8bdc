"""autograd.compiled against eager stepgrad, micrograd 0.1.0 and PyTorch, measured in one run.

    .venv/bin/python tests/benchmarks/bench_compile.py            # about 3 minutes
    .venv/bin/python tests/benchmarks/bench_compile.py --quick    # one worker per measurement

As in bench_engine.py, every measurement runs in a fresh worker process and is that process's CPU time
(time.process_time); each number is the fastest of three workers, each reporting its median step.
Workloads:
  W1   micrograd's demo step (bench_engine.py's definition: MLP(2, [16, 16, 1]) with random.seed(1337),
       its 100 two-moons points, SVM max-margin loss + 1e-4·Σp², zero_grad, backward, SGD update).
       Compiled: the same loss function traced once by autograd.compiled and replayed each step (the
       points as data), then the same zero_grad and SGD loop over the 337 parameters.
       micrograd 0.1.0 with the GC off: bench_engine.py's own worker. PyTorch 2.13.0 (CPU, one thread,
       float64): the same network and weights on the batch as tensors, forward + backward + SGD update.
  GPT  nn.gpt's microgpt on a document of 7 positions (a 6-letter name: the median), GC on as in
       training. "loss and gradients": document_loss + backward() eagerly (tokens as indices, as
       train_gpt runs it), one replay compiled (tokens as one-hot data). "training step": what train_gpt
       runs per step — eagerly zero_grad, loss and gradients, Adam.step over the 4,192 Values; compiled
       with the parameters in one array, Compiled.gradients and Adam.step_arrays (the same floats).
Compile times are the first call's: the traced eager call with its backward, and the scheduling.
This is not part of the test suite: timings are never asserted in tests.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the repository: autograd, nn
sys.path.insert(0, str(HERE))  # bench_engine: W1's definition

from bench_engine import W1_STEPS, _moons  # noqa: E402

GPT_POSITIONS = 7
GPT_STEPS = 30


# --------------------------------------------------------------------------- workers


def _w1_model():
    from nn import MLP

    random.seed(1337)
    return MLP(2, [16, 16, 1])


def _w1_loss(model, y):
    def loss(X):
        scores = list(map(model, X))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in model.parameters())
        return data_loss + reg_loss

    return loss


def work_w1_compiled() -> dict:
    from autograd import compiled

    model = _w1_model()
    X, y = _moons()
    step_loss = compiled(_w1_loss(model, y))

    def step(k: int) -> float:
        model.zero_grad()
        total = step_loss(X)
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        return total.data

    times = []
    for k in range(W1_STEPS + 20):
        t0 = time.process_time()
        loss = step(k)
        times.append(time.process_time() - t0)
    (program,) = step_loss.programs
    return {"seconds": statistics.median(times[2:]), "loss": loss, **_summary(program.stats)}


def _summary(s) -> dict:
    """A compiled program's size and cost, from its ProgramStats."""
    return {
        "trace": s.trace_seconds,
        "schedule": s.schedule_seconds,
        "nodes": s.nodes_traced,
        "kernels": s.kernels,
        "levels": s.levels,
        "levels_traced": s.levels_traced,
    }


def work_w1_torch() -> dict:
    import torch

    from nn import to_torch

    torch.set_num_threads(1)
    model = _w1_model()
    X, y = _moons()
    net = to_torch(model)
    params = list(net.parameters())
    inputs = torch.tensor(X, dtype=torch.float64)
    labels = torch.tensor(y, dtype=torch.float64)

    def step(k: int) -> float:
        scores = net(inputs).squeeze(1)
        data_loss = torch.relu(1 - labels * scores).mean()
        reg_loss = 1e-4 * sum((p * p).sum() for p in params)
        total = data_loss + reg_loss
        for p in params:
            p.grad = None
        total.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        with torch.no_grad():
            for p in params:
                p -= learning_rate * p.grad
        return total.item()

    times = []
    for k in range(W1_STEPS + 20):
        t0 = time.process_time()
        loss = step(k)
        times.append(time.process_time() - t0)
    return {"seconds": statistics.median(times[2:]), "loss": loss, "version": torch.__version__}


def _gpt_document(model, positions: int) -> list[int]:
    rng = random.Random(positions)
    bos = model.config.vocab_size - 1
    return [bos] + [rng.randrange(bos) for _ in range(positions - 1)] + [bos]


def work_gpt(mode: str) -> dict:
    from nn.gpt import GPT, document_loss, microgpt_adam

    model = GPT(seed=42)
    optimizer = microgpt_adam(model)
    tokens = _gpt_document(model, GPT_POSITIONS)
    result: dict = {}
    if mode == "compiled":
        import warnings

        from autograd import TracerWarning, compiled

        warnings.simplefilter("ignore", TracerWarning)  # softmax's shift, harmless
        loss_and_grads = compiled(lambda inputs, targets: document_loss(model, inputs, targets))
        inputs, targets = model.inputs_and_targets(tokens, one_hot=True)
        for positions in (GPT_POSITIONS, model.config.block_size):  # compile times of two structures
            loss_and_grads(*model.inputs_and_targets(_gpt_document(model, positions), one_hot=True))
            result[f"compile{positions}"] = _summary(loss_and_grads.programs[-1].stats)

        def loss_step() -> float:
            return loss_and_grads(inputs, targets).data

        import numpy as np

        params = optimizer.params
        data = np.array([p.data for p in params])

        def train_step() -> None:  # what train_gpt(compile=True) runs: the parameters live in one array
            nonlocal data
            _, grads = loss_and_grads.gradients(params, data, inputs, targets)
            data = optimizer.step_arrays(data, grads)

    else:
        inputs, targets = model.inputs_and_targets(tokens)

        def loss_step() -> float:
            loss = document_loss(model, inputs, targets)
            loss.backward()
            return loss.data

        def train_step() -> None:  # what train_gpt runs eagerly
            optimizer.zero_grad()
            loss_step()
            optimizer.step()

    grads, steps = [], []
    repeats = GPT_STEPS if mode == "eager" else 8 * GPT_STEPS  # a replay is short: more of them, a steadier median
    for _ in range(repeats):
        optimizer.zero_grad()
        t0 = time.process_time()
        loss_step()
        t1 = time.process_time()
        grads.append(t1 - t0)
    for _ in range(repeats):
        t0 = time.process_time()
        train_step()
        steps.append(time.process_time() - t0)
    result.update(grad_seconds=statistics.median(grads[2:]), seconds=statistics.median(steps[2:]))
    return result


def worker(name: str) -> None:
    if name == "W1-compiled":
        result = work_w1_compiled()
    elif name == "W1-torch":
        result = work_w1_torch()
    else:
        result = work_gpt(name.split("-")[1])
    print(json.dumps(result))


# --------------------------------------------------------------------------- driver


def measure(cmd: list[str]) -> dict:
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {"seconds": None, "error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout)


def fastest(cmd: list[str], repeats: int) -> dict:
    runs = [measure(cmd) for _ in range(repeats)]
    good = [r for r in runs if r.get("seconds") is not None]
    if not good:
        raise SystemExit(f"{' '.join(cmd[1:])} failed: {runs[0].get('error')}")
    return min(good, key=lambda r: r["seconds"])  # other load only ever adds time


def ours(name: str, repeats: int) -> dict:
    return fastest([sys.executable, __file__, "--worker", name], repeats)


def bench_engine(workload: str, lib: str, gc_mode: str, repeats: int) -> dict:
    return fastest(
        [sys.executable, str(HERE / "bench_engine.py"), "--worker", workload, "--lib", lib, "--gc", gc_mode], repeats
    )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 0.01 else f"{seconds * 1000:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one worker per measurement instead of three")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return 0
    for module in ("micrograd", "torch", "numpy"):
        try:
            __import__(module)
        except ImportError:
            print(f"{module} is missing: pip install -e '.[dev]' (it is in stepgrad's dev extra)", file=sys.stderr)
            return 2
    repeats = 1 if args.quick else 3
    gc.collect()
    print(f"python {sys.version.split()[0]}; each time is the fastest of {repeats} worker process(es), CPU time\n")

    compiled_w1 = ours("W1-compiled", repeats)
    micrograd_off = bench_engine("W1", "micrograd", "off", repeats)
    eager_w1 = bench_engine("W1", "stepgrad", "on", repeats)
    torch_w1 = ours("W1-torch", repeats)
    eager_gpt = ours("GPT-eager", repeats)
    compiled_gpt = ours("GPT-compiled", repeats)

    c = compiled_w1["seconds"]
    vs_micrograd = micrograd_off["seconds"] / c
    vs_torch = c / torch_w1["seconds"]
    vs_gpt = eager_gpt["grad_seconds"] / compiled_gpt["grad_seconds"]
    gpt_step = eager_gpt["seconds"] / compiled_gpt["seconds"]
    vs_eager = eager_w1["seconds"] / c
    positions = f"{GPT_POSITIONS} positions"
    torch_name = f"PyTorch {torch_w1['version']} (CPU, 1 thread, float64 batch)"
    rows = [
        ("W1 step: compiled vs micrograd 0.1.0 (GC off)", c, micrograd_off["seconds"], f"{vs_micrograd:.0f}× faster"),
        ("W1 step: compiled vs stepgrad eager (GC on)", c, eager_w1["seconds"], f"{vs_eager:.0f}× faster"),
        (f"W1 step: compiled vs {torch_name}", c, torch_w1["seconds"], f"{vs_torch:.2f}× the time"),
        (f"GPT loss and gradients, {positions}: compiled vs stepgrad eager", compiled_gpt["grad_seconds"],
         eager_gpt["grad_seconds"], f"{vs_gpt:.0f}× faster"),
        (f"GPT training step with Adam, {positions}: compiled vs stepgrad eager", compiled_gpt["seconds"],
         eager_gpt["seconds"], f"{gpt_step:.0f}× faster"),
    ]  # fmt: skip
    print("| workload | compiled | other | ratio |")
    print("| --- | --- | --- | --- |")
    for title, mine, other, ratio in rows:
        print(f"| {title} | {ms(mine)} | {ms(other)} | {ratio} |")

    print("\n| compiled program | scalar nodes | levels (traced → compiled) | kernels | trace | schedule |")
    print("| --- | --- | --- | --- | --- | --- |")
    programs = [("W1", compiled_w1)]
    programs += [(f"GPT, {n} positions", compiled_gpt[f"compile{n}"]) for n in (GPT_POSITIONS, 16)]
    for title, p in programs:
        print(
            f"| {title} | {p['nodes']:,} | {p['levels_traced']} → {p['levels']} | {p['kernels']} | {p['trace']:.2f} s "
            f"| {p['schedule']:.2f} s |"
        )

    checks = [
        (vs_micrograd >= 100, f"W1 compiled ≥ 100× faster than micrograd 0.1.0 with the GC off: {vs_micrograd:.0f}×"),
        (vs_torch <= 3, f"W1 compiled within 3× of PyTorch: {vs_torch:.2f}×"),
        (vs_gpt >= 30, f"GPT loss and gradients compiled ≥ 30× faster than eager: {vs_gpt:.0f}×"),
        (gpt_step >= 30, f"GPT training step with Adam compiled ≥ 30× faster than eager: {gpt_step:.0f}×"),
    ]
    print()
    for ok, text in checks:
        print(("met:    " if ok else "NOT MET: ") + text)
    return 0 if all(ok for ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
