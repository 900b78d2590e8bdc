"""``stepgrad demo``: micrograd's moons classifier trained, plotted, drawn and stepped through.

``run_demo(out_dir)`` trains ``MLP(2, [16, 16, 1])`` on 100 two-moons points with the SVM
max-margin loss plus 1e-4·Σp² and SGD whose learning rate decays linearly from 1.0 to 0.1
(micrograd's demo notebook), then writes five files into ``out_dir``:

- ``decision_boundary.png``  the classifier's two regions with the training points (``nn.plots``);
- ``loss_curve.png``         loss and training accuracy per step (``nn.plots``);
- ``neuron_graph.svg``       the tanh neuron (``autograd.examples``) drawn after ``backward()`` (``autograd.views``);
- ``backprop_steps.html``    that neuron's backward pass, one chain-rule step per frame (``autograd.views.stepper``);
- ``training.html``          the training watched: boundary snapshots, loss and accuracy, a slider (``nn.live``).

It needs the demo extra (``pip install 'stepgrad[demo]'``: matplotlib, numpy, graphviz, tqdm) and
Graphviz's ``dot`` program; the command line checks both before it trains.

>>> result = run_demo("stepgrad-demo", steps=100, seed=1337)      # doctest: +SKIP
>>> result.final_loss, result.accuracy                          # doctest: +SKIP
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from autograd.examples import tanh_neuron
from autograd.files import check_writable, write_all_atomically

from ._check import check_int
from .data import make_moons
from .live import LiveTraining
from .module import MLP
from .optim import SGD, linear_decay
from .plots import plot_decision_boundary, plot_history, png_bytes
from .train import History, fit

DEFAULT_OUT = "stepgrad-demo"
DEFAULT_STEPS = 100
DEFAULT_SEED = 1337  # micrograd's demo seed
ALPHA = 1e-4  # L2 penalty coefficient: loss = hinge + α·Σp²
PACKAGES = ("matplotlib", "numpy", "graphviz", "tqdm")  # the demo extra's modules

FILES = {
    "decision_boundary.png": "the trained classifier's two regions and the 100 training points",
    "loss_curve.png": "loss and training accuracy at every step",
    "neuron_graph.svg": "the graph of o = tanh(x1·w1 + x2·w2 + b) after backward()",
    "backprop_steps.html": "that neuron's backward pass, one chain-rule step per frame (slider, ←/→ keys)",
    "training.html": "the training watched: the decision boundary every few steps, loss and accuracy (slider)",
}


@dataclass
class DemoResult:
    """What ``run_demo`` produced: the files written (name → path), and the training's last loss and accuracy.

    ``final_loss`` and ``accuracy`` are those of the last step's forward pass (before its update): the
    numbers the progress bar ends on, ``history.losses[-1]`` and ``history.accuracies[-1]``.
    """

    files: dict[str, pathlib.Path]
    final_loss: float
    accuracy: float
    history: History
    model: MLP
    data: tuple[list[list[float]], list[int]] = field(repr=False)


def train_moons(
    steps: int = DEFAULT_STEPS,
    seed: int = DEFAULT_SEED,
    progress: bool | None = None,
    live: bool | LiveTraining = False,
) -> tuple[MLP, list[list[float]], list[int], History]:
    """micrograd's demo: MLP(2, [16, 16, 1]) on 100 moons (±1 labels), hinge + 1e-4·Σp², SGD lr 1.0 − 0.9·k/steps.

    Full batch: one step per epoch. ``live`` goes to ``fit``. Returns the model, the data and ``fit``'s history.
    """
    check_int(steps, "steps", "train_moons")
    X, y = make_moons(100, noise=0.1, seed=seed, signed=True)
    model = MLP(2, [16, 16, 1], seed=seed)
    history = fit(
        model,
        X,
        y,
        loss="hinge",
        optimizer=SGD(model.parameters(), lr=1.0),
        epochs=steps,
        alpha=ALPHA,
        lr_schedule=linear_decay(1.0, 0.1, steps),  # micrograd: lr = 1.0 − 0.9·k/steps
        shuffle=False,
        progress=progress,
        live=live,
    )
    return model, X, y, history


def run_demo(
    out_dir: str | os.PathLike[str] = DEFAULT_OUT,
    steps: int = DEFAULT_STEPS,
    seed: int = DEFAULT_SEED,
    progress: bool | None = True,
) -> DemoResult:
    """Train the moons classifier and write the five demo files into ``out_dir`` (created if needed).

    The arguments and the outputs' names are checked before anything is trained (``OSError`` for a
    folder, FIFO or read-only file in an output's place). Everything is rendered before the first file is
    written, and the five files are written as one: all of them or, if a write fails (a full disk), none
    (``autograd.files.write_all_atomically``).
    """
    from autograd.views.drawing import to_svg
    from autograd.views.layout import fit_svg
    from autograd.views.stepper import backward_steps

    check_int(steps, "steps", "run_demo")
    check_int(seed, "seed", "run_demo", at_least=None)
    folder = output_folder(out_dir, "run_demo")
    check_outputs(folder, FILES)
    watch = LiveTraining(show=False, title="stepgrad demo: MLP(2, [16, 16, 1]) learning two moons")
    model, X, y, history = train_moons(steps, seed, progress=progress, live=watch)
    # Everything is rendered first, then the five files are written as one (all or none).
    decision = plot_decision_boundary(model, X, y, title="decision boundary of MLP(2, [16, 16, 1]) on two moons")
    curves = plot_history(history, titles=("hinge loss + 1e-4·Σp²", "training accuracy"))
    neuron = tanh_neuron().o
    neuron.backward()
    title = "stepgrad: the backward pass of o = tanh(x1·w1 + x2·w2 + b)"
    outputs: dict[str, str | bytes] = {
        "decision_boundary.png": png_bytes(decision),
        "loss_curve.png": png_bytes(curves),
        "neuron_graph.svg": fit_svg(to_svg(neuron)),  # as save_svg: fits the browser window
        "backprop_steps.html": backward_steps(tanh_neuron().o).to_html(title=title),  # a fresh graph to step
        "training.html": watch.to_html(),
    }
    folder.mkdir(parents=True, exist_ok=True)
    files = {name: folder / name for name in FILES}
    write_all_atomically({files[name]: outputs[name] for name in FILES})
    last_accuracy = history.accuracies[-1]
    assert last_accuracy is not None  # hinge loss on ±1 labels always has a decision rule
    return DemoResult(files, history.losses[-1], last_accuracy, history, model, (X, y))


def output_folder(out_dir: str | os.PathLike[str], where: str) -> pathlib.Path:
    """``out_dir`` as a folder path to write into (not created yet); ``ValueError`` if it cannot be one:
    a file in its place, a symbolic link to nothing, a name longer than the file system allows."""
    folder = pathlib.Path(out_dir)
    if not str(out_dir).strip():
        raise ValueError(f"{where}: out_dir must be a folder name, got {str(out_dir)!r}")
    name = str(folder)
    try:
        os.stat(folder)
    except FileNotFoundError:
        if os.path.islink(folder):
            raise ValueError(
                f"{where}: out_dir {name!r} is a symbolic link to {os.readlink(folder)!r}, which does not exist"
            ) from None
    except OSError as error:  # a name too long, a file used as a folder, a symlink loop
        raise ValueError(f"{where}: out_dir {name!r} cannot be a folder: {error.strerror or error}") from None
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{where}: out_dir {name!r} is a file, not a folder")
    return folder


def check_outputs(folder: pathlib.Path, names: Iterable[str]) -> None:
    """Before any work: each file ``folder/name`` could be written (``autograd.files.check_writable``);
    the ``OSError`` naming the first that could not (a folder, a FIFO, a read-only file in its place)."""
    if folder.is_dir():
        for name in names:
            check_writable(folder / name)
