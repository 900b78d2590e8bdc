"""The ``stepgrad demo``: micrograd's moons classifier trained, plotted, drawn and stepped through.

``run_demo(out_dir)`` trains ``MLP(2, [16, 16, 1])`` on 100 two-moons points with the SVM
max-margin loss plus 1e-4·Σp² and SGD whose learning rate decays linearly from 1.0 to 0.1
(micrograd's demo notebook), then writes four files into ``out_dir``:

- ``decision_boundary.png``  the classifier's two regions with the training points;
- ``loss_curve.png``         loss and training accuracy per step;
- ``neuron_graph.svg``       the graph of one tanh neuron after ``backward()`` (``autograd.viz``);
- ``backprop_steps.html``    that neuron's backward pass, one chain-rule step per frame (``autograd.stepper``).

The pieces are public so a notebook can reuse them: ``train_moons``, ``plot_decision_boundary``,
``plot_history``, ``tanh_neuron``. matplotlib, graphviz and tqdm are imported only when needed
(``pip install 'stepgrad[demo]'``); plots use the Agg canvas and never touch pyplot's global state.

>>> result = run_demo("stepgrad-demo", steps=100, seed=1337)      # doctest: +SKIP
>>> result.accuracy
1.0
"""

from __future__ import annotations

import importlib
import io
import os
import pathlib
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from autograd import Value, no_grad
from autograd.files import write_atomically

from .data import make_moons
from .losses import hinge, l2_penalty
from .module import MLP
from .optim import SGD, linear_decay
from .train import History, accuracy, fit, predict

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.axes
    import matplotlib.figure

DEFAULT_OUT = "stepgrad-demo"
DEFAULT_STEPS = 100
DEFAULT_SEED = 1337  # micrograd's demo seed; with it the classifier reaches 100 % training accuracy
ALPHA = 1e-4  # L2 penalty coefficient: loss = hinge + α·Σp²
INSTALL_DEMO = "pip install 'stepgrad[demo]'"

FILES = {
    "decision_boundary.png": "the trained classifier's two regions and the 100 training points",
    "loss_curve.png": "loss and training accuracy at every step",
    "neuron_graph.svg": "the graph of o = tanh(x1·w1 + x2·w2 + b) after backward()",
    "backprop_steps.html": "that neuron's backward pass, one chain-rule step per frame (slider, ←/→ keys)",
}


class DemoError(Exception):
    """The demo cannot run: a bad argument (``status`` 2) or a missing dependency or program (``status`` 1)."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class DemoResult:
    """What ``run_demo`` produced: the folder, the files written (name → path), final loss and accuracy."""

    out_dir: pathlib.Path
    files: dict[str, pathlib.Path]
    final_loss: float
    accuracy: float
    history: History
    model: MLP
    data: tuple[list[list[float]], list[int]] = field(repr=False)


# --------------------------------------------------------------------------- checks


def check_dependencies() -> None:
    """Raise ``DemoError`` (status 1) naming what is missing: the demo extra's packages or Graphviz's ``dot``."""
    missing = []
    for module in ("matplotlib", "graphviz", "tqdm"):
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise DemoError(
            f"the demo needs the Python package(s) {', '.join(missing)}: install them with {INSTALL_DEMO}",
            status=1,
        )
    if shutil.which("dot") is None:
        raise DemoError(
            "the demo draws graphs with Graphviz's `dot` program, which was not found on PATH: install Graphviz "
            "(Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz; "
            "conda: conda install -c conda-forge graphviz)",
            status=1,
        )


def check_steps(steps: object) -> int:
    """``steps`` as a positive int, or ``DemoError`` naming the value."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise DemoError(f"--steps must be a positive whole number of training steps, got {steps!r}")
    return steps


def prepare_out_dir(out_dir: str | os.PathLike[str]) -> pathlib.Path:
    """Create ``out_dir`` if needed and prove it is writable (a probe file), or ``DemoError`` saying why."""
    text = os.fspath(out_dir)
    if not text.strip():
        raise DemoError("--out needs a folder name")
    path = pathlib.Path(text)
    if path.exists() and not path.is_dir():
        raise DemoError(f"--out {text!r} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".stepgrad-probe-"):
            pass
    except OSError as error:
        raise DemoError(f"--out {text!r} is not writable: {error.strerror or error}") from None
    return path


# --------------------------------------------------------------------------- training


def train_moons(
    steps: int = DEFAULT_STEPS, seed: int = DEFAULT_SEED, progress: bool | None = None
) -> tuple[MLP, list[list[float]], list[int], History]:
    """micrograd's demo: MLP(2, [16, 16, 1]) on 100 moons (±1 labels), hinge + 1e-4·Σp², SGD lr 1.0 − 0.9·k/steps.

    Full batch: one step per epoch. Returns the model, the data and ``fit``'s history.
    """
    steps = check_steps(steps)
    X, y = make_moons(100, noise=0.1, seed=seed, signed=True)
    model = MLP(2, [16, 16, 1], seed=seed)
    optimizer = SGD(model.parameters(), lr=1.0)
    history = fit(
        model,
        X,
        y,
        loss="hinge",
        optimizer=optimizer,
        epochs=steps,
        alpha=ALPHA,
        lr_schedule=linear_decay(1.0, 0.1, steps),  # micrograd: lr = 1.0 − 0.9·k/steps
        shuffle=False,
        progress=progress,
    )
    return model, X, y, history


def moons_loss(model: MLP, X: Sequence[Sequence[float]], y: Sequence[int]) -> float:
    """The demo's loss for ``model`` now: mean max(0, 1 − yᵢ·score(xᵢ)) + 1e-4·Σp² (no graph kept)."""
    with no_grad():
        return (hinge([model(x) for x in X], y) + l2_penalty(model.parameters(), ALPHA)).data


# --------------------------------------------------------------------------- pictures


def _new_axes(ax: Any, size: tuple[float, float]) -> tuple[Any, Any]:
    """``(figure, axes)``: the given axes, or a fresh figure on the Agg canvas (pyplot's state is left alone)."""
    if ax is not None:
        return ax.figure, ax
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot(1, 1, 1)


def plot_decision_boundary(
    model: Callable[[Any], Any],
    X: Sequence[Sequence[float]],
    y: Sequence[int],
    ax: matplotlib.axes.Axes | None = None,
    resolution: int = 60,
) -> matplotlib.figure.Figure:
    """The sign of the model's score over a grid (``resolution``² points, evaluated under ``no_grad``) and the data.

    Regions: score > 0 (class +1) and score ≤ 0 (class −1); the black line is score = 0.
    """
    import numpy as np

    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"plot_decision_boundary: resolution must be an int >= 2, got {resolution!r}")
    points = np.asarray(X, dtype=float)
    labels = np.asarray(y)
    margin = 0.5
    xs = np.linspace(points[:, 0].min() - margin, points[:, 0].max() + margin, resolution)
    ys = np.linspace(points[:, 1].min() - margin, points[:, 1].max() + margin, resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    grid = [[float(a), float(b)] for a, b in zip(grid_x.ravel(), grid_y.ravel())]
    scores = np.asarray(predict(model, grid), dtype=float).reshape(grid_x.shape)

    figure, ax = _new_axes(ax, (6.4, 5.2))
    bounds = [float(scores.min()) - 1.0, 0.0, float(scores.max()) + 1.0]  # two regions: score ≤ 0 and score > 0
    ax.contourf(grid_x, grid_y, scores, levels=bounds, colors=["#f4a582", "#92c5de"], alpha=0.8)
    ax.contour(grid_x, grid_y, scores, levels=[0.0], colors="black", linewidths=1.2)
    for label, colour, name in ((-1, "#b2182b", "label −1"), (1, "#2166ac", "label +1")):
        chosen = labels == label
        ax.scatter(points[chosen, 0], points[chosen, 1], c=colour, s=28, edgecolors="white", linewidths=0.6, label=name)
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel("x₀")
    ax.set_ylabel("x₁")
    ax.legend(loc="upper right", framealpha=0.9)
    ax.set_title("decision boundary of MLP(2, [16, 16, 1]) on two moons")
    return figure


def plot_history(history: History, axes: Sequence[Any] | None = None) -> matplotlib.figure.Figure:
    """Two panels: the loss at every optimizer step (log scale) and the training accuracy per epoch."""
    if axes is None:
        figure, loss_ax = _new_axes(None, (10, 4))
        figure.clear()
        loss_ax, acc_ax = figure.subplots(1, 2)
    else:
        loss_ax, acc_ax = axes
        figure = loss_ax.figure
    losses = [entry["loss"] for entry in history.steps]
    loss_ax.semilogy(range(len(losses)), losses, color="#2166ac")
    loss_ax.set_xlabel("step")
    loss_ax.set_ylabel("loss (log scale)")
    loss_ax.set_title("hinge loss + 1e-4·Σp²")
    loss_ax.grid(True, which="both", alpha=0.3)
    accuracies = [100 * a for a in history.accuracies if a is not None]
    acc_ax.plot(range(len(accuracies)), accuracies, color="#1b7837")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("training accuracy (%)")
    acc_ax.set_ylim(min(accuracies + [50]) - 2, 101)
    acc_ax.set_title("training accuracy")
    acc_ax.grid(True, alpha=0.3)
    figure.tight_layout()
    return figure


def save_figure(figure: matplotlib.figure.Figure, path: str | os.PathLike[str]) -> pathlib.Path:
    """Write ``figure`` as a PNG atomically (``autograd.files.write_atomically``: temporary file, then rename)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return write_atomically(path, buffer.getvalue())


# --------------------------------------------------------------------------- the neuron


def tanh_neuron() -> Value:
    """The neuron of micrograd's lecture, labelled: o = tanh(x1·w1 + x2·w2 + b) with o = 1/√2.

    x1 = 2, x2 = 0, w1 = −3, w2 = 1, b = 6.8813735870195432, so n = 0.8814 and ∂o/∂n = 1 − o² = 0.5.
    Returns ``o`` before any backward pass.
    """
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    total = x1w1 + x2w2
    total.label = "x1*w1 + x2*w2"
    n = total + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


# --------------------------------------------------------------------------- the whole demo


def run_demo(
    out_dir: str | os.PathLike[str] = DEFAULT_OUT,
    steps: int = DEFAULT_STEPS,
    seed: int = DEFAULT_SEED,
    progress: bool | None = True,
    report: Callable[[str], None] | None = print,
) -> DemoResult:
    """Train the moons classifier and write the four demo files into ``out_dir``; ``report`` gets the messages.

    Checks first (dependencies, ``steps``, that ``out_dir`` is writable) so nothing is trained in vain.
    """
    from autograd.stepper import backward_steps
    from autograd.viz import save_svg

    say = report or (lambda text: None)
    check_dependencies()
    steps = check_steps(steps)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise DemoError(f"--seed must be a whole number, got {seed!r}")
    folder = prepare_out_dir(out_dir)

    say(f"training MLP(2, [16, 16, 1]) on 100 two-moons points for {steps} steps (seed {seed}) ...")
    model, X, y, history = train_moons(steps, seed, progress=progress)
    final_loss = moons_loss(model, X, y)
    final_accuracy = accuracy(model, X, y, loss="hinge")
    correct = round(final_accuracy * len(y))
    say(f"final loss {final_loss:.4f}")
    say(f"training accuracy {100 * final_accuracy:.1f} % ({correct} of {len(y)} points)")

    files: dict[str, pathlib.Path] = {}
    files["decision_boundary.png"] = save_figure(plot_decision_boundary(model, X, y), folder / "decision_boundary.png")
    files["loss_curve.png"] = save_figure(plot_history(history), folder / "loss_curve.png")

    neuron = tanh_neuron()
    neuron.backward()
    files["neuron_graph.svg"] = save_svg(neuron, folder / "neuron_graph.svg")
    stepped = tanh_neuron()  # a fresh copy: the stepper performs its own backward pass
    files["backprop_steps.html"] = backward_steps(stepped).save_html(
        folder / "backprop_steps.html", title="stepgrad: the backward pass of o = tanh(x1·w1 + x2·w2 + b)"
    )

    shown = folder.resolve()
    say(f"\nwrote {len(files)} files to {shown}/:")
    width = max(len(name) for name in files)
    for name in files:
        say(f"  {name:<{width}}  {FILES[name]}")
    page = (shown / "backprop_steps.html").as_uri()
    say(
        "\nopen them: the .html and .svg files in any web browser (e.g. "
        f"{_opener()} {folder / 'backprop_steps.html'}, or the address {page}), the .png files in any image viewer."
    )
    return DemoResult(folder, files, final_loss, final_accuracy, history, model, (X, y))


def _opener() -> str:
    """The usual command that opens a file with its default program on this system."""
    if sys.platform == "darwin":
        return "open"
    if sys.platform.startswith("win"):
        return "start"
    return "xdg-open"
