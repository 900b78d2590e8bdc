"""Training, watched: ``fit(..., live=True)`` — the loss, the accuracy and the decision boundary while they change.

A ``LiveTraining`` is a callback object ``fit`` calls at its start, after every optimizer step and at
the end. It keeps a *record*: the loss of every step, the accuracy of every epoch, and snapshots of
the decision boundary (for 2-D inputs) every ``every`` steps. In a notebook it shows a widget that
redraws while ``fit`` runs; when training ends (or fails) the same widget stays as a scrubbable record,
a slider over the snapshots. In a terminal there is no widget: ``fit`` shows its progress bar instead.
``save_html(path)`` writes the record as one self-contained page (``stepgrad demo`` writes
``training.html``). Widget and page share one renderer, ``nn/live.js``.

Cost. Updates run in ``fit``'s own thread, between steps (no thread is started, so none can be left
behind). A snapshot is taken only while the time spent on the view stays below ``budget`` (5 %) of the
time spent training, so the default refresh costs at most about that much however slow the model is
(``tests/benchmarks/bench_live.py`` measures it). For ``nn.MLP`` the boundary is computed from the
weights with numpy, one matrix product per layer; other models go through ``predict`` on a coarser
grid (24², the start and end snapshots are taken whatever they cost).

>>> history = fit(model, X, y, epochs=100, live=True)     # doctest: +SKIP
>>> history.live.save_html("training.html")               # doctest: +SKIP
"""

from __future__ import annotations

import math
import numbers
import os
import pathlib
import time
from collections.abc import Callable, Sequence
from functools import cache
from importlib import resources
from typing import Any

from autograd.files import write_atomically

from ._check import check_int, check_number, check_type

__all__ = ["LiveTraining", "in_notebook"]

MAX_POINTS = 2000  # training points drawn on the boundary (a sample beyond that)
MAX_SNAPSHOTS = 200  # beyond that every other one is dropped (the first and the newest stay)


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where a widget can be shown), False in a terminal or a script."""
    try:
        from IPython import get_ipython  # type: ignore[attr-defined]
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


class LiveTraining:
    """What ``fit`` shows while it trains: loss per step, accuracy per epoch, the boundary every ``every`` steps.

    ``every``: steps between two refreshes (a refresh is skipped while the view has used more than
    ``budget`` of the training time so far). ``resolution``: the boundary's grid is resolution² points.
    ``show``: None shows the widget when running in a notebook; True or False forces it.
    """

    def __init__(
        self,
        *,
        every: int = 5,
        budget: float = 0.05,
        resolution: int = 60,
        show: bool | None = None,
        title: str | None = None,
    ) -> None:
        self.every = check_int(every, "every", "LiveTraining")
        self.budget = check_number(budget, "budget", "LiveTraining", greater_than=0)
        self.resolution = check_int(resolution, "resolution", "LiveTraining", at_least=2)
        check_type(show, "show", "LiveTraining", (bool, type(None)), "True, False or None (in a notebook)")
        check_type(title, "title", "LiveTraining", (str, type(None)), "a string or None")
        self.show = in_notebook() if show is None else show
        self.title = title
        self.widget: Any = None
        self.spent = 0.0  # seconds spent on the view (snapshots, updates)
        self._reset()

    def _reset(self) -> None:
        self.losses: list[float] = []
        self.epochs: list[list[Any]] = []  # [last step (1-based), mean loss, accuracy or None]
        self.snapshots: list[dict[str, Any]] = []
        self.status = "not started"
        self._model: Any = None
        self._grid: Any = None
        self._frame: dict[str, Any] = {}
        self._started = 0.0
        self._total: int | None = None

    # ---- what fit calls

    def start(
        self, model: Any, X: Sequence[Sequence[float]], y: Sequence[Any], *, loss: Any, steps: int | None
    ) -> None:
        """Training begins: ``steps`` optimizer steps are planned (None if unknown). Shows the widget."""
        self._reset()
        self.spent = 0.0
        began = time.perf_counter()
        self._model, self._total, self.status = model, steps, "training"
        # the scalar engine's predict on every grid point is slow: a coarser grid unless numpy does nn.MLP's
        resolution = self.resolution if _mlp_scores(model, [[0.0, 0.0]]) is not None else min(self.resolution, 24)
        self._frame = _frame(X, y, loss, resolution)
        self._grid = self._frame.pop("grid", None)
        if self.show:
            self.widget = widget_class()(record=self.record())
            from IPython.display import display

            display(self.widget)
        self._snapshot(0)
        self._push()
        self.spent += time.perf_counter() - began
        self._started = began  # training time = time since then − time spent on the view

    def step(self, step: int, loss: float) -> None:
        """Optimizer step ``step`` (1-based) is done; ``loss`` was its loss."""
        self.losses.append(float(loss))
        if step % self.every == 0 and self._may_refresh():
            began = time.perf_counter()
            self._snapshot(step)
            self._push()
            self.spent += time.perf_counter() - began

    def epoch(self, step: int, loss: float, accuracy: float | None) -> None:
        """An epoch ended at step ``step`` with mean ``loss`` and training ``accuracy`` (None for regression)."""
        self.epochs.append([step, float(loss), accuracy])

    def finish(self, error: BaseException | None = None) -> None:
        """Training ended (``error`` if it failed): a last snapshot, and the widget becomes a record to scrub."""
        steps = len(self.losses)
        self.status = "done" if error is None else f"stopped at step {steps}: {type(error).__name__}: {error}"
        if error is None and (not self.snapshots or self.snapshots[-1]["step"] != steps):
            self._snapshot(steps)
        self._push()
        self._model = None  # the record keeps numbers only

    # ---- the record

    def _may_refresh(self) -> bool:
        training = time.perf_counter() - self._started - self.spent
        return self.spent <= self.budget * max(training, 0.0)

    def _snapshot(self, step: int) -> None:
        shot: dict[str, Any] = {"step": step, "loss": self.losses[-1] if self.losses and step else None}
        if self._grid is not None and self._model is not None:
            shot["cells"] = _cells(self._model, self._grid, self._frame)
        self.snapshots.append(shot)
        if len(self.snapshots) > MAX_SNAPSHOTS:  # a long run: keep the record's size bounded
            self.snapshots[1:-1] = self.snapshots[2:-1:2]

    def record(self) -> dict[str, Any]:
        """The record as JSON-able data: ``losses``, ``epochs``, ``snapshots``, the data ``frame``, ``status``.

        A new object each time (the widget sends a change only when the value differs from what it had)."""
        return {
            "title": self.title,
            "status": self.status,
            "total": self._total,
            "losses": list(self.losses),
            "epochs": list(self.epochs),
            "snapshots": list(self.snapshots),
            "frame": self._frame,
        }

    def _push(self) -> None:
        if self.widget is not None:
            self.widget.record = self.record()

    def to_html(self, title: str | None = None) -> str:
        """The record as one self-contained HTML page (no network): the same view as the widget."""
        import html

        from autograd.views.player import _json_for_script

        name = title or self.title or "stepgrad: training"
        return _PAGE.format(
            title=html.escape(name),
            css=asset("live.css"),
            script=asset("live.js"),
            data=_json_for_script(self.record()),
        )

    def save_html(self, path: str | os.PathLike[str], title: str | None = None) -> pathlib.Path:
        """Write ``to_html`` to ``path`` atomically; returns the path."""
        return write_atomically(path, self.to_html(title).encode("utf-8"))

    def __repr__(self) -> str:
        return f"LiveTraining({len(self.losses)} steps, {len(self.snapshots)} snapshots, {self.status})"


def live_from(live: Any, where: str) -> LiveTraining | None:
    """``fit``'s ``live`` argument as a ``LiveTraining`` (True: a default one) or None (False)."""
    if live is False or live is None:
        return None
    if live is True:
        return LiveTraining()
    if isinstance(live, LiveTraining):
        return live
    raise TypeError(f"{where}: live must be True, False or a LiveTraining, got {type(live).__name__} {live!r}")


# ---- the decision boundary


def _frame(X: Sequence[Sequence[float]], y: Sequence[Any], loss: Any, resolution: int) -> dict[str, Any]:
    """The data drawn under the boundary and the grid it is computed on (2-D inputs only).

    A point's class is its label's side of the decision threshold for a one-output model (0 below,
    1 above: −1/+1 or 0/1 labels), its label for a k-output model ("cross_entropy": int labels 0..k−1).
    """
    if not X or len(X[0]) != 2 or not all(isinstance(label, numbers.Real) for label in y):
        return {}  # a boundary is drawn for 2-D inputs and number labels (not for vector targets)
    xs = [float(p[0]) for p in X]
    ys = [float(p[1]) for p in X]
    margin = 0.5
    x0, x1, y0, y1 = min(xs) - margin, max(xs) + margin, min(ys) - margin, max(ys) + margin
    binary = loss != "cross_entropy"
    threshold = 0.5 if loss == "mse" and set(y) <= {0, 1} else 0.0
    every = max(1, math.ceil(len(X) / MAX_POINTS))
    points = [[xs[k], ys[k], (1 if y[k] > threshold else 0) if binary else int(y[k])] for k in range(0, len(X), every)]
    grid = [
        [x0 + (x1 - x0) * (i + 0.5) / resolution, y1 - (y1 - y0) * (j + 0.5) / resolution]
        for j in range(resolution)
        for i in range(resolution)
    ]  # row by row from the top, cell centres
    return {
        "bounds": [x0, x1, y0, y1],
        "resolution": resolution,
        "points": points,
        "binary": binary,
        "threshold": threshold,
        "grid": grid,
    }


def _cells(model: Any, grid: list[list[float]], frame: dict[str, Any]) -> list[int]:
    """The class shown in each grid cell, with its confidence: for one output, round(100·tanh(score − threshold));
    for k outputs, 1000·class + round(100·margin) with margin the softmax probability of the winner."""
    scores = _scores(model, grid)
    cells: list[int] = []
    for s in scores:
        if isinstance(s, list):
            k = max(range(len(s)), key=s.__getitem__)
            top = max(s)
            total = sum(math.exp(v - top) for v in s)
            cells.append(1000 * k + round(100 / total))
        else:
            d = s - frame["threshold"]
            cells.append(round(100 * math.tanh(d)) if math.isfinite(d) else (100 if d > 0 else -100))
    return cells


def _scores(model: Any, grid: list[list[float]]) -> list[Any]:
    """The model's outputs on the grid: numpy from the weights for an ``nn.MLP``, else ``predict``."""
    fast = _mlp_scores(model, grid)
    if fast is not None:
        return fast
    from .train import predict

    return predict(model, grid)


def _mlp_scores(model: Any, grid: list[list[float]]) -> list[Any] | None:
    """``nn.MLP``'s forward pass on all grid points at once (numpy), or None for any other model or without numpy.

    Each layer is b + W·x followed by its activation, the same operations as ``Neuron.__call__``.
    """
    from .module import MLP

    if type(model) is not MLP:
        return None
    try:
        import numpy as np
    except ImportError:
        return None
    functions: dict[str, Callable[[Any], Any]] = {
        "relu": lambda a: np.maximum(a, 0.0),
        "linear": lambda a: a,
        "tanh": np.tanh,
        "sigmoid": lambda a: 0.5 * (1.0 + np.tanh(0.5 * a)),  # 1/(1 + e^-a) without overflow
    }
    a = np.asarray(grid, dtype=float)
    with np.errstate(all="ignore"):
        for layer in model.layers:
            W = np.array([[w.data for w in n.w] for n in layer.neurons])
            b = np.array([n.b.data for n in layer.neurons])
            a = functions[layer.neurons[0].activation](a @ W.T + b)
    if a.shape[1] == 1:
        return [float(v) for v in a[:, 0]]
    return [[float(v) for v in row] for row in a]


# ---- the widget and the page


@cache
def asset(name: str) -> str:
    """The text of ``live.js`` or ``live.css`` (shipped inside the package)."""
    return resources.files("nn").joinpath(name).read_text(encoding="utf-8")


@cache
def widget_class() -> Any:
    """The ``LiveWidget`` class, made on first use (anywidget and traitlets are optional)."""
    import anywidget
    import traitlets

    class LiveWidget(anywidget.AnyWidget):
        """Training in a notebook: curves and boundary redrawn while ``fit`` runs, then a slider over snapshots."""

        _esm = asset("live.js") + _WIDGET_ESM
        _css = asset("live.css")
        record = traitlets.Dict().tag(sync=True)

    return LiveWidget


_WIDGET_ESM = """
export default {
  render({ model, el }) {
    var view = stepgradLive(el, model.get("record"));
    model.on("change:record", function () { view.update(model.get("record")); });
  },
};
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
{css}
body {{ font-family: Helvetica, Arial, sans-serif; font-size: 15px; margin: 0; padding: 10px 14px; }}
h1 {{ font-size: 18px; margin: 0 0 8px 0; }}
</style>
</head>
<body>
<h1>{title}</h1>
<div id="live"></div>
<script type="application/json" id="stepgrad-live">{data}</script>
<script>
{script}
stepgradLive(document.getElementById("live"), JSON.parse(document.getElementById("stepgrad-live").textContent));
</script>
</body>
</html>
"""
