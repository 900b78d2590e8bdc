"""What watching costs: ``fit(..., live=...)`` against plain ``fit``, measured in one run (wall time).

    .venv/bin/python tests/benchmarks/bench_live.py [--rounds 3] [--steps 100]

micrograd's demo training (``MLP(2, [16, 16, 1])`` on 100 moons, hinge + 1e-4·Σp², full batch) three ways,
taking turns (A B C A B C ...) so that a busy machine slows all three alike:
  plain      ``fit`` with no view
  record     ``live=LiveTraining(show=False)``: the snapshots and the record, no widget (``stepgrad demo``)
  widget     the default refresh with a notebook widget (anywidget; outside a kernel its messages are
             serialized and dropped, which is the kernel's share of the cost)
It prints each one's best time and its ratio to plain, and the time the view itself took (measured inside
``fit``, so it holds on a busy machine too, where the ratios are noisy); the target is ≤ 10 % at the default
refresh.
This is not part of the test suite: timings are never asserted in tests.
"""

from __future__ import annotations

import argparse
import time

import IPython.display

from nn import MLP, SGD, LiveTraining, fit, linear_decay, make_moons


def train(steps: int, live: LiveTraining | bool) -> float:
    X, y = make_moons(100, noise=0.1, seed=1337, signed=True)
    model = MLP(2, [16, 16, 1], seed=1337)
    start = time.perf_counter()
    fit(model, X, y, loss="hinge", optimizer=SGD(model.parameters(), lr=1.0), epochs=steps, alpha=1e-4,
        lr_schedule=linear_decay(1.0, 0.1, steps), shuffle=False, progress=False, live=live)  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    IPython.display.display = lambda *a, **k: None  # type: ignore[assignment]  # no kernel: show nothing
    ways = {
        "plain": lambda: False,
        "record": lambda: LiveTraining(show=False),
        "widget": lambda: LiveTraining(show=True),
    }
    best = {name: float("inf") for name in ways}
    snapshots = {}
    train(5, False)  # warm up: imports, first allocations
    for _ in range(args.rounds):
        for name, make in ways.items():
            live = make()
            seconds = train(args.steps, live)
            if live and seconds < best[name]:
                snapshots[name] = (len(live.snapshots), live.spent, live.spent / (seconds - live.spent))
            best[name] = min(best[name], seconds)
    print(f"fit of micrograd's demo, {args.steps} steps, best of {args.rounds} (turns taken A B C):")
    for name, seconds in best.items():
        extra = ""
        if name in snapshots:
            count, spent, share = snapshots[name]
            extra = f"  {count} snapshots; the view took {spent:.3f} s, {share:.1%} of the training time"
        print(f"  {name:<7} {seconds:7.3f} s  {seconds / best['plain']:.3f}× plain{extra}")


if __name__ == "__main__":
    main()
