"""Plots of a classifier and of its training, drawn with matplotlib into any axes.

- ``plot_decision_boundary(model, X, y)``: the sign of the model's score over the plane, and the data;
- ``plot_history(history)``: the loss and the training accuracy against the optimizer step;
- ``save_png(figure, path)``: a figure written as a PNG file, atomically.

Without ``ax``/``axes`` a function draws on a new figure with the Agg canvas and leaves pyplot's
global state alone, so it works in scripts without a display; in a notebook, pass axes from
``plt.subplots``. numpy and matplotlib are imported when a function runs (``pip install 'stepgrad[demo]'``).
"""

from __future__ import annotations

import io
import os
import pathlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from autograd.files import write_atomically

from .train import History, predict

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.axes
    import matplotlib.figure

__all__ = ["new_figure", "plot_decision_boundary", "plot_history", "png_bytes", "save_png"]

REGION_COLOURS = ("#f4a582", "#92c5de")  # score ≤ 0 (class −1), score > 0 (class +1)
POINT_COLOURS = ("#b2182b", "#2166ac")
LOSS_COLOUR = "#2166ac"
ACCURACY_COLOUR = "#1b7837"


def new_figure(width: float, height: float) -> matplotlib.figure.Figure:
    """A figure of ``width`` × ``height`` inches at 100 dpi on the Agg canvas (no display, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def plot_decision_boundary(
    model: Callable[[Any], Any],
    X: Sequence[Sequence[float]],
    y: Sequence[int],
    ax: matplotlib.axes.Axes | None = None,
    *,
    resolution: int = 60,
    title: str | None = None,
    xlabel: str = "x₀",
    ylabel: str = "x₁",
    class_names: tuple[str, str] = ("label −1", "label +1"),
) -> matplotlib.figure.Figure:
    """The sign of the model's score over a grid (``resolution``² points, under ``no_grad``) and the ±1-labelled data.

    Regions: score ≤ 0 (class −1) and score > 0 (class +1); the black line is score = 0.
    Returns the figure drawn on (a new 6.4 × 5.2 inch one when ``ax`` is None).
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

    if ax is None:
        ax = new_figure(6.4, 5.2).add_subplot(1, 1, 1)
    bounds = [float(scores.min()) - 1.0, 0.0, float(scores.max()) + 1.0]  # two regions: score ≤ 0 and score > 0
    ax.contourf(grid_x, grid_y, scores, levels=bounds, colors=list(REGION_COLOURS), alpha=0.8)
    ax.contour(grid_x, grid_y, scores, levels=[0.0], colors="black", linewidths=1.2)
    for label, colour, name in zip((-1, 1), POINT_COLOURS, class_names):
        chosen = labels == label
        ax.scatter(points[chosen, 0], points[chosen, 1], c=colour, s=28, edgecolors="white", linewidths=0.6, label=name)
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper right", framealpha=0.9)
    if title is not None:
        ax.set_title(title)
    return ax.figure  # type: ignore[return-value]


def plot_history(
    history: History,
    axes: Sequence[matplotlib.axes.Axes] | None = None,
    *,
    titles: tuple[str | None, str | None] = (None, None),
    loss_label: str = "loss (log scale)",
) -> matplotlib.figure.Figure:
    """Two panels against the optimizer step (1, 2, ...): the loss at every step (log scale), the accuracy per epoch.

    An epoch's training accuracy is placed at its last step (with full batches, every step is an epoch).
    ``titles`` go above the two panels. Returns the figure (a new 10 × 4 inch one when ``axes`` is None).
    """
    if axes is None:
        figure = new_figure(10, 4)
        loss_ax, acc_ax = figure.subplots(1, 2)
    else:
        loss_ax, acc_ax = axes
    losses = [entry["loss"] for entry in history.steps]
    loss_ax.semilogy(range(1, len(losses) + 1), losses, color=LOSS_COLOUR)  # steps counted from 1, as fit's bar does
    loss_ax.set_ylabel(loss_label)
    loss_ax.grid(True, which="both", alpha=0.3)
    last_step = {entry["epoch"]: entry["step"] + 1 for entry in history.steps}  # each epoch's last step
    measured = [(last_step[e], 100 * a) for e, a in enumerate(history.accuracies) if a is not None and e in last_step]
    acc_ax.plot([step for step, _ in measured], [a for _, a in measured], color=ACCURACY_COLOUR)
    acc_ax.set_ylabel("training accuracy (%)")
    acc_ax.set_ylim(min([a for _, a in measured] + [50]) - 2, 101)
    acc_ax.grid(True, alpha=0.3)
    for ax, title in zip((loss_ax, acc_ax), titles):
        ax.set_xlabel("step")
        if title is not None:
            ax.set_title(title)
    loss_ax.figure.tight_layout()
    return loss_ax.figure  # type: ignore[return-value]


def png_bytes(figure: matplotlib.figure.Figure) -> bytes:
    """``figure`` as a PNG file's bytes, at 100 dpi."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def save_png(figure: matplotlib.figure.Figure, path: str | os.PathLike[str]) -> pathlib.Path:
    """Write ``figure`` as a PNG file at 100 dpi, atomically (``autograd.files.write_atomically``); returns the path."""
    return write_atomically(path, png_bytes(figure))
