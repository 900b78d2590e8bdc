"""``fit(..., live=True)``: training watched while it runs (nn/live.py, nn/live.js).

The record holds what ``fit`` saw (the losses of its history, step by step), snapshots in order,
boundaries computed from the weights equal to the scalar engine's own predictions, a bounded cost,
a clean end when training fails; the page and the widget render in a real Chromium / JupyterLab,
and the widget grows while ``fit`` is still running.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading

import pytest
from browser import chromium_page, jupyterlab, needs_jupyterlab, needs_playwright

import nn.live as live_module
from nn import MLP, SGD, LiveTraining, fit, make_blobs, make_moons, predict


def moons(n: int = 40, seed: int = 0) -> tuple[list[list[float]], list[int]]:
    return make_moons(n, noise=0.1, seed=seed, signed=True)


def train(live: LiveTraining | bool, epochs: int = 12, **kwargs):  # type: ignore[no-untyped-def]
    X, y = moons()
    model = MLP(2, [8, 1], seed=0)
    history = fit(model, X, y, optimizer=SGD(model.parameters(), lr=0.2), epochs=epochs, shuffle=False,
                  progress=False, live=live, **kwargs)  # fmt: skip
    return model, X, y, history


class Checked(LiveTraining):
    """A LiveTraining that also records, at each snapshot, the scalar engine's own predictions on the grid."""

    def _snapshot(self, step: int) -> None:
        super()._snapshot(step)
        if self._grid is not None and self._model is not None:
            self.snapshots[-1]["engine"] = predict(self._model, self._grid)


def test_the_record_is_what_fit_saw_in_order():
    watch = LiveTraining(show=False, every=1, budget=1e9)
    model, X, y, history = train(watch)
    record = watch.record()
    assert history.live is watch
    assert record["losses"] == [entry["loss"] for entry in history.steps]
    assert [e[0] for e in record["epochs"]] == list(range(1, 13))
    assert [e[2] for e in record["epochs"]] == history.accuracies
    assert [s["step"] for s in record["snapshots"]] == list(range(0, 13))  # every step, and the start
    assert record["status"] == "done" and record["total"] == 12
    json.dumps(record)  # JSON-able, as the widget and the page send it


def test_a_snapshot_shows_the_engines_own_decision_at_that_moment():
    watch = Checked(show=False, every=3, budget=1e9, resolution=12)
    train(watch)
    assert len(watch.snapshots) >= 4
    for shot in watch.snapshots:
        for cell, score in zip(shot["cells"], shot["engine"], strict=True):
            assert (cell > 0) == (score > 0) or abs(score) < 1e-9
            assert cell == round(100 * math.tanh(score))


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "linear"])
@pytest.mark.parametrize("nouts", [[5, 1], [4, 3, 3]])
def test_the_numpy_boundary_of_an_mlp_equals_the_scalar_engine(activation, nouts):
    model = MLP(2, nouts, activation=activation, output_activation="tanh", seed=3)
    grid = [[0.3 * i - 1.5, 0.7 - 0.25 * j] for i in range(9) for j in range(7)]
    fast = live_module._mlp_scores(model, grid)
    engine = predict(model, grid)
    assert fast is not None
    flat = lambda rows: [v for r in rows for v in (r if isinstance(r, list) else [r])]  # noqa: E731
    assert flat(fast) == pytest.approx(flat(engine), rel=1e-12, abs=1e-12)


def test_k_classes_colour_by_the_winning_output():
    X, y = make_blobs(60, centers=3, seed=1)
    model = MLP(2, [8, 3], seed=1)
    watch = LiveTraining(show=False, every=2, budget=1e9, resolution=10)
    fit(model, X, y, loss="cross_entropy", optimizer=SGD(model.parameters(), lr=0.1), epochs=4, progress=False,
        live=watch)  # fmt: skip
    frame = watch.record()["frame"]
    assert frame["binary"] is False and {p[2] for p in frame["points"]} == set(y)
    last = watch.snapshots[-1]["cells"]
    for cell, scores in zip(last, predict(model, live_module._frame(X, y, "cross_entropy", 10)["grid"])):
        assert cell // 1000 == max(range(3), key=scores.__getitem__)


def test_refreshes_stay_within_the_budget_of_training_time(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(live_module.time, "perf_counter", lambda: clock[0])
    watch = LiveTraining(show=False, every=1, budget=0.1)
    taken = []
    monkeypatch.setattr(watch, "_snapshot", lambda step: (taken.append(step), clock.__setitem__(0, clock[0] + 0.5)))
    monkeypatch.setattr(watch, "_push", lambda: None)
    watch.start(None, [], [], loss="mse", steps=100)
    for step in range(1, 101):
        clock[0] += 0.1  # a step of training takes 0.1 s, a snapshot 0.5 s
        watch.step(step, 1.0)
    training = 100 * 0.1
    assert watch.spent <= 0.1 * training + 0.5  # within budget, give or take the last snapshot
    assert 1 < len(taken) < 101 and taken == sorted(taken)


def test_a_long_run_keeps_a_bounded_record_with_its_first_and_newest_snapshot():
    watch = LiveTraining(show=False, every=1, budget=1e9, resolution=4)
    _, _, _, history = train(watch, epochs=450)
    steps = [s["step"] for s in watch.snapshots]
    assert len(steps) <= live_module.MAX_SNAPSHOTS and steps[0] == 0 and steps[-1] == 450 and steps == sorted(steps)
    assert len(watch.losses) == 450


def test_a_failing_fit_leaves_a_record_that_says_where_it_stopped_and_no_thread():
    threads = threading.active_count()
    watch = LiveTraining(show=False, every=1, budget=1e9)

    def schedule(k: int) -> float:
        if k == 5:
            raise KeyboardInterrupt
        return 0.1

    with pytest.raises(KeyboardInterrupt):
        train(watch, lr_schedule=schedule)
    assert watch.status.startswith("stopped at step 5: KeyboardInterrupt")
    assert len(watch.losses) == 5 and watch._model is None
    assert threading.active_count() == threads

    diverging = LiveTraining(show=False)
    X, y = moons()
    model = MLP(2, [8, 1], seed=0)
    with pytest.raises(FloatingPointError):
        fit(model, X, y, optimizer=SGD(model.parameters(), lr=1e200), epochs=5, progress=False, live=diverging)
    assert diverging.status.startswith("stopped at step") and "FloatingPointError" in diverging.status


def test_bad_live_arguments_are_named():
    X, y = moons()
    with pytest.raises(TypeError, match=r"fit: live must be True, False or a LiveTraining, got str 'yes'"):
        fit(MLP(2, [1]), X, y, live="yes", progress=False)
    with pytest.raises(ValueError, match=r"LiveTraining: every must be a positive int, got 0"):
        LiveTraining(every=0)
    with pytest.raises(ValueError, match=r"LiveTraining: budget must be a finite number > 0"):
        LiveTraining(budget=-1)


def test_in_a_terminal_live_shows_the_progress_bar_instead():
    code = (
        "from nn import MLP, fit, make_moons\n"
        "X, y = make_moons(20, seed=0, signed=True)\n"
        "h = fit(MLP(2, [4, 1], seed=0), X, y, epochs=3, live=True)\n"
        "print(h.live.show, len(h.live.losses))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "3"]
    assert "fit: 100%" in result.stderr and "3/3" in result.stderr


@needs_playwright
def test_the_page_shows_the_boundary_and_curves_and_scrubs_back(tmp_path):
    watch = LiveTraining(show=False, every=2, budget=1e9)
    train(watch, epochs=20)
    path = watch.save_html(tmp_path / "training.html", title="moons")
    with chromium_page(tmp_path / "profile", 1280, 800) as page:
        page.goto(path.as_uri())
        view = page.locator(".sg-live")
        assert view.get_attribute("data-step") == "20" and view.get_attribute("data-status") == "done"
        assert page.locator(".sg-live-text").text_content().startswith("step 20 / 20 · loss ")
        painted = page.evaluate(
            "() => [...document.querySelectorAll('canvas')].map((c) => {"
            " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;"
            " for (let i = 0; i < d.length; i += 4) { if (d[i + 3] > 0) { n++; } } return n / (d.length / 4); })"
        )
        assert len(painted) == 2 and painted[0] > 0.95 and painted[1] > 0.01  # the boundary fills its panel
        for canvas in page.locator("canvas").all():
            box = canvas.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 1280 and box["y"] + box["height"] <= 800
        page.screenshot(path=str(tmp_path / "training.png"))
        page.evaluate(
            "() => { const s = document.querySelector('.sg-live-slider'); s.value = '0';"
            " s.dispatchEvent(new Event('input')); }"
        )
        assert view.get_attribute("data-step") == "0"
        assert page.locator(".sg-live-text").text_content().startswith("step 0 / 20 · loss ?")


LIVE_NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": [
                "from nn import MLP, SGD, LiveTraining, fit, make_moons\n",
                "X, y = make_moons(100, noise=0.1, seed=1, signed=True)\n",
                "model = MLP(2, [16, 16, 1], seed=1)\n",
                "history = fit(model, X, y, optimizer=SGD(model.parameters(), lr=0.5), epochs=60, alpha=1e-4,\n",
                "              shuffle=False, live=LiveTraining(every=2, budget=1.0))\n",
            ],
        },  # fmt: skip
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


@needs_jupyterlab
@pytest.mark.slow
def test_the_widget_grows_while_fit_runs_in_jupyterlab(tmp_path):
    root = tmp_path / "notebooks"
    root.mkdir()
    (root / "live.ipynb").write_text(json.dumps(LIVE_NOTEBOOK))
    state = tmp_path / "jupyter"
    state.mkdir()
    with jupyterlab(root, state) as url, chromium_page(tmp_path / "profile", 1400, 900) as page:
        page.goto(url.format(path="live.ipynb"))
        page.wait_for_function(
            "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
            " return !!(w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel); }",
            timeout=90_000,
        )
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")  # not awaited
        read = (
            "() => { const v = document.querySelector('.sg-live');"
            " const busy = [...document.querySelectorAll('.jp-InputPrompt')].some((p) => p.textContent.includes('*'));"
            " return {busy, steps: v ? +v.getAttribute('data-steps') : null,"
            " status: v ? v.getAttribute('data-status') : null}; }"
        )
        seen_while_running = []
        trail = []
        for _ in range(1200):  # at most ~4 minutes
            now = page.evaluate(read)
            trail.append(now)
            if now["steps"] is not None and now["busy"] and now["status"] == "training":
                seen_while_running.append(now["steps"])
            if not now["busy"] and now["status"] == "done":
                break
            page.wait_for_timeout(200)
        assert now["status"] == "done" and now["steps"] == 60, now
        assert len(set(seen_while_running)) >= 2, trail[::10]  # the curve grew during the run
        assert seen_while_running == sorted(seen_while_running)
        page.locator(".sg-live").scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "live-widget.png"))
        slider = page.locator(".sg-live-slider")
        assert int(slider.get_attribute("max")) >= 2
        slider.evaluate("(s) => { s.value = '0'; s.dispatchEvent(new Event('input')); }")
        assert page.locator(".sg-live").get_attribute("data-step") == "0"


def test_vector_targets_train_live_without_a_boundary_and_other_models_get_a_coarser_grid():
    X, _ = moons(20)
    targets = [[1.0, 0.0] if i % 2 else [0.0, 1.0] for i in range(20)]
    model = MLP(2, [4, 2], seed=0)
    watch = LiveTraining(show=False)
    fit(model, X, targets, loss="mse", optimizer=SGD(model.parameters(), lr=0.1), epochs=3, progress=False,
        live=watch)  # fmt: skip
    assert watch.record()["frame"] == {} and len(watch.losses) == 3 and "cells" not in watch.snapshots[-1]

    mlp = MLP(2, [4, 1], seed=0)

    class Wrapped:  # a model of the user's own: the boundary comes from predict, on 24 × 24 points
        def __call__(self, x):  # type: ignore[no-untyped-def]
            return mlp(x)

        def parameters(self):  # type: ignore[no-untyped-def]
            return mlp.parameters()

    y = moons(20)[1]
    other = LiveTraining(show=False, every=1, budget=1e9)
    fit(Wrapped(), X, y, optimizer=SGD(mlp.parameters(), lr=0.1), epochs=2, progress=False, live=other)
    assert other.record()["frame"]["resolution"] == 24 and len(other.snapshots[-1]["cells"]) == 24 * 24
    engine = predict(mlp, live_module._frame(X, y, "hinge", 24)["grid"])
    assert other.snapshots[-1]["cells"] == [round(100 * math.tanh(s)) for s in engine]
