"""nn.plots: the demo's and notebook 03's plots, drawn for real with matplotlib's Agg canvas."""

from __future__ import annotations

import stat

import matplotlib.image
import pytest

from nn import MLP, History, make_moons
from nn.plots import new_figure, plot_decision_boundary, plot_history, save_png


def history(epochs: int, steps_per_epoch: int) -> History:
    """A made-up training history: the loss halves every step, the accuracy grows per epoch."""
    h = History()
    for epoch in range(epochs):
        for k in range(steps_per_epoch):
            step = epoch * steps_per_epoch + k
            h.steps.append({"epoch": epoch, "step": step, "loss": 2.0**-step, "lr": 0.1})
        h.losses.append(2.0 ** -(epoch * steps_per_epoch))
        h.accuracies.append(0.5 + 0.5 * epoch / max(1, epochs - 1))
    return h


def test_both_panels_are_against_the_step_and_titles_are_parameters():
    figure = plot_history(history(4, 3), titles=("my loss", None))
    loss_ax, acc_ax = figure.axes
    assert loss_ax.get_xlabel() == acc_ax.get_xlabel() == "step"
    assert loss_ax.get_title() == "my loss" and acc_ax.get_title() == ""
    assert loss_ax.get_yscale() == "log"
    (loss_line,) = loss_ax.get_lines()
    assert list(loss_line.get_xdata()) == list(range(1, 13))  # counted from 1, as the progress bar counts
    (accuracy_line,) = acc_ax.get_lines()
    # with 3 steps per epoch, each epoch's accuracy sits at its last step: 3, 6, 9, 12
    assert list(accuracy_line.get_xdata()) == [3, 6, 9, 12]
    assert list(accuracy_line.get_ydata()) == pytest.approx([50.0, 50 + 50 / 3, 50 + 100 / 3, 100.0])


def test_plots_draw_into_given_axes():
    figure = new_figure(8, 3)
    axes = figure.subplots(1, 3)
    assert plot_history(history(2, 1), axes=axes[:2]) is figure
    X, y = make_moons(20, noise=0.1, seed=0, signed=True)
    drawn = plot_decision_boundary(MLP(2, [4, 1], seed=0), X, y, ax=axes[2], resolution=5, xlabel="a", ylabel="b")
    assert drawn is figure
    assert (axes[2].get_xlabel(), axes[2].get_ylabel(), axes[2].get_title()) == ("a", "b", "")
    assert [text.get_text() for text in axes[2].get_legend().get_texts()] == ["label −1", "label +1"]


def test_save_png_writes_a_picture_with_ordinary_permissions(tmp_path):
    X, y = make_moons(20, noise=0.1, seed=0, signed=True)
    figure = plot_decision_boundary(MLP(2, [4, 1], seed=0), X, y, resolution=10, title="t")
    path = save_png(figure, tmp_path / "boundary.png")
    image = matplotlib.image.imread(path)
    assert image.shape == (520, 640, 4) and image[:, :, :3].std() > 0.05
    assert not stat.S_IMODE(path.stat().st_mode) & 0o111
    assert [p.name for p in tmp_path.iterdir()] == ["boundary.png"]


def test_resolution_is_checked():
    X, y = make_moons(4, seed=0, signed=True)
    with pytest.raises(ValueError, match="plot_decision_boundary: resolution must be an int >= 2, got 1"):
        plot_decision_boundary(MLP(2, [1], seed=0), X, y, resolution=1)
