"""Eager cost of one training step of microgpt's GPT on stepgrad (nn.gpt), for comparison with compile later.

    .venv/bin/python tests/benchmarks/bench_gpt.py            # about a minute
    .venv/bin/python tests/benchmarks/bench_gpt.py --quick    # fewer repeats

For documents of several lengths (positions = letters + 1): the nodes of the step's graph (nn.gpt's
n-ary sums, and with one-hot tokens), and the CPU time (time.process_time) of building the loss,
of backward(), of the Adam update, and of the whole step — the fastest of the repeats, with the
garbage collector on as in a training run. A "typical" name has 6 letters (7 positions: the median
length of the names data set). The last column is the whole step with the parts named for grouped
drawings (``named=True``: every node records its scope), as a ratio to the plain step: the reason
naming is off by default. Not part of the test suite: timings are never asserted in tests.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from autograd import topological_order  # noqa: E402
from nn.gpt import GPT, document_loss, microgpt_adam, step_graph  # noqa: E402
from nn.text import load_names  # noqa: E402


def _time_step(model: GPT, positions: int, repeats: int, named: bool = False) -> dict[str, float]:
    optimizer = microgpt_adam(model)
    best = {"build": float("inf"), "backward": float("inf"), "adam": float("inf"), "step": float("inf")}
    rng = random.Random(positions)
    bos = model.config.vocab_size - 1
    for _ in range(repeats):
        tokens = [bos] + [rng.randrange(bos) for _ in range(positions - 1)] + [bos]
        inputs, targets = model.inputs_and_targets(tokens)
        t0 = time.process_time()
        optimizer.zero_grad()
        loss = document_loss(model, inputs, targets, named=named)
        t1 = time.process_time()
        loss.backward()
        t2 = time.process_time()
        optimizer.step()
        t3 = time.process_time()
        for key, seconds in (("build", t1 - t0), ("backward", t2 - t1), ("adam", t3 - t2), ("step", t3 - t0)):
            best[key] = min(best[key], seconds)
        del loss
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 10")
    args = parser.parse_args()
    repeats = 3 if args.quick else 10
    names = load_names()
    lengths = [len(n) for n in names]
    print(
        f"names: {len(names)}, letters per name: median {statistics.median(lengths):.0f}, "
        f"mean {statistics.fmean(lengths):.2f}, max {max(lengths)}"
    )
    model = GPT(seed=42)
    print(f"model: {model!r}, {len(model.parameters())} parameters; {repeats} repeats, fastest shown\n")
    header = ("positions", "nodes", "one-hot", "build ms", "backward ms", "adam ms", "step ms", "named")
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, (9, 8, 8, 9, 12, 8, 8, 7))))
    for positions in (2, 4, 7, 8, 12, 16):
        nodes = len(topological_order(step_graph(positions, model=model)))
        one_hot = len(topological_order(step_graph(positions, model=model, one_hot=True)))
        t = _time_step(model, positions, repeats)
        named = _time_step(model, positions, repeats, named=True)["step"] / t["step"]
        mark = "  <- a typical name (6 letters)" if positions == 7 else ""
        print(
            f"{positions:>9} {nodes:>8,} {one_hot:>8,} {1000 * t['build']:>9.1f} {1000 * t['backward']:>12.1f} "
            f"{1000 * t['adam']:>8.1f} {1000 * t['step']:>8.1f} {named:>6.2f}×{mark}"
        )


if __name__ == "__main__":
    main()
