"""nn.train: fit (against micrograd's own demo loop), progress bar, multi-class spirals, helpers, errors; the compiled
step, warnings and divergence messages fit shares with train_gpt."""

import io
import math
import random
import re
import sys

import pytest

from autograd import Value
from nn import (
    MLP,
    SGD,
    Adam,
    History,
    Neuron,
    accuracy,
    fit,
    linear_decay,
    make_moons,
    make_spirals,
    predict,
    predict_classes,
)


def test_fit_follows_micrograds_demo_loop():
    """micrograd's demo: MLP(2, [16, 16, 1]), hinge loss + 1e-4·Σp², full batch, lr = 1.0 − 0.9·k/100."""
    micrograd_nn = pytest.importorskip("micrograd.nn")
    X, y = make_moons(24, noise=0.1, seed=0, signed=True)
    steps = 5
    random.seed(1337)
    theirs = micrograd_nn.MLP(2, [16, 16, 1])
    reference = []
    for k in range(steps):  # micrograd's demo loop, verbatim apart from the data
        inputs = [list(map(micrograd_nn.Value, xrow)) for xrow in X]
        scores = list(map(theirs, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in theirs.parameters())
        total_loss = data_loss + reg_loss
        theirs.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in theirs.parameters():
            p.data -= learning_rate * p.grad
        reference.append(total_loss.data)

    random.seed(1337)
    ours = MLP(2, [16, 16, 1])
    history = fit(
        ours,
        X,
        y,
        loss="hinge",
        optimizer=SGD(ours.parameters(), lr=1.0),
        epochs=steps,
        alpha=1e-4,
        lr_schedule=linear_decay(1.0, 0.1, 100),
        progress=False,
    )
    assert [s["loss"] for s in history.steps] == pytest.approx(reference, rel=1e-9, abs=1e-12)
    assert [s["lr"] for s in history.steps] == pytest.approx([1.0 - 0.9 * k / 100 for k in range(steps)])
    assert [p.data for p in ours.parameters()] == pytest.approx([p.data for p in theirs.parameters()], abs=1e-9)


def test_fit_compiled_reaches_micrograds_demo_result():
    """nn.demo's training (micrograd's demo: 100 moons, seed 1337, 100 full-batch SGD steps) with compile=True:
    the same losses as eager for the first steps, and every one of the 100 points classified right."""
    pytest.importorskip("numpy")
    X, y = make_moons(100, noise=0.1, seed=1337, signed=True)

    def train(steps, compile):
        model = MLP(2, [16, 16, 1], seed=1337)
        history = fit(
            model, X, y, loss="hinge", optimizer=SGD(model.parameters(), lr=1.0), epochs=steps, alpha=1e-4,
            lr_schedule=linear_decay(1.0, 0.1, 100), shuffle=False, progress=False, compile=compile,
        )  # fmt: skip
        return model, history

    _, eager = train(5, compile=False)
    _, first = train(5, compile=True)
    assert [s["loss"] for s in first.steps] == pytest.approx([s["loss"] for s in eager.steps], rel=1e-12)
    model, history = train(100, compile=True)
    assert accuracy(model, X, y) == 1.0 and history.accuracies[-1] == 1.0
    assert history.losses[-1] < history.losses[0] / 10


def test_fit_compiled_with_batches_and_cross_entropy_follows_eager():
    """Mini-batches in a fixed order (one trace per batch) and a softmax loss, which reads no number while
    traced (its shift is a node), so there is no warning, and fit silences none."""
    pytest.importorskip("numpy")
    import warnings

    X, y = make_spirals(60, k=3, noise=0.2, seed=0)

    def train(compile):
        model = MLP(2, [8, 3], activation="tanh", init="xavier", seed=0)
        return model, fit(model, X, y, loss="cross_entropy", optimizer=Adam(model.parameters(), lr=0.05), epochs=4,
                          batch_size=25, shuffle=False, progress=False, compile=compile)  # fmt: skip

    eager_model, eager = train(False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model, history = train(True)
    assert [s["loss"] for s in history.steps] == pytest.approx([s["loss"] for s in eager.steps], rel=1e-12)
    assert history.accuracies == eager.accuracies
    assert [p.data for p in model.parameters()] == pytest.approx([p.data for p in eager_model.parameters()], rel=1e-12)


def test_fit_compiled_needs_batches_that_repeat():
    pytest.importorskip("numpy")
    X, y = make_moons(20, noise=0.1, seed=0, signed=True)
    with pytest.raises(ValueError, match="compile=True needs the same batches every epoch .* shuffle=False"):
        fit(MLP(2, [4, 1], seed=0), X, y, batch_size=5, compile=True, progress=False)
    with pytest.raises(TypeError, match="compile must be True or False"):
        fit(MLP(2, [4, 1], seed=0), X, y, compile="yes", progress=False)


def test_fit_three_arm_spiral_reaches_95_percent_with_cross_entropy():
    # 150 points, 3 arms; a 2-16-3 tanh network (Xavier init), Adam lr 0.05, batches of 15, 70 epochs
    # (tried with seeds 0-3 for the weights and the shuffling: 96.7-98 % training accuracy each time).
    X, y = make_spirals(150, k=3, noise=0.2, seed=0)
    model = MLP(2, [16, 3], activation="tanh", init="xavier", seed=0)
    history = fit(
        model,
        X,
        y,
        loss="cross_entropy",
        optimizer=Adam(model.parameters(), lr=0.05),
        epochs=70,
        batch_size=15,
        seed=0,
        progress=False,
    )
    assert len(history) == 70 and history.losses[-1] < history.losses[0]
    assert accuracy(model, X, y, loss="cross_entropy") >= 0.95
    assert history.accuracies[0] < 0.8  # it really learned: the first epoch was far from it


def test_history_records_losses_accuracies_and_steps():
    X, y = make_moons(20, noise=0.1, seed=1, signed=True)
    model = MLP(2, [4, 1], seed=0)
    history = fit(model, X, y, epochs=3, batch_size=8, progress=False, seed=0)
    assert isinstance(history, History) and len(history) == 3
    assert len(history.steps) == 3 * 3  # 20 samples in batches of 8: 8, 8, 4
    assert [s["epoch"] for s in history.steps] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert all(0 <= a <= 1 for a in history.accuracies)
    # the epoch loss is the sample-weighted mean of its batch losses
    first = history.steps[:3]
    assert history.losses[0] == pytest.approx((first[0]["loss"] * 8 + first[1]["loss"] * 8 + first[2]["loss"] * 4) / 20)


def test_fit_with_bce_mse_and_a_callable_loss():
    X, y01 = make_moons(30, noise=0.05, seed=2)
    model = MLP(2, [8, 1], activation="tanh", init="xavier", seed=1)
    h = fit(model, X, y01, loss="bce", optimizer=Adam(model.parameters(), lr=0.05), epochs=40, progress=False)
    assert h.losses[-1] < h.losses[0] and h.accuracies[-1] > 0.8
    assert accuracy(model, X, y01, loss="bce") == pytest.approx(
        sum(int(p == t) for p, t in zip(predict_classes(model, X, loss="bce"), y01)) / 30
    )
    # regression: no accuracy
    xs = [[i / 10] for i in range(10)]
    ts = [2 * x[0] + 0.5 for x in xs]
    reg = MLP(1, [1], seed=0)
    h = fit(reg, xs, ts, loss="mse", optimizer=SGD(reg.parameters(), lr=0.3), epochs=200, progress=False)
    assert h.accuracies == [None] * 200 and h.losses[-1] < 1e-6
    w, b = reg.layers[0].neurons[0].w[0].data, reg.layers[0].neurons[0].b.data
    assert (w, b) == (pytest.approx(2.0, abs=1e-3), pytest.approx(0.5, abs=1e-3))
    calls = []

    def absolute(outputs, labels):
        calls.append(len(outputs))
        return sum(abs(o - t) for o, t in zip(outputs, labels)) * (1 / len(outputs))

    fit(MLP(1, [1], seed=0), xs, ts, loss=absolute, epochs=2, batch_size=5, progress=False)
    assert calls == [5, 5, 5, 5]


def test_predict_and_accuracy_by_hand():
    n = Neuron(2, nonlin=False)
    n.w[0].data, n.w[1].data, n.b.data = 1.0, -1.0, 0.0  # score = x0 − x1
    X = [[2.0, 1.0], [0.0, 3.0], [1.0, 1.5], [5.0, 0.0]]
    assert predict(n, X) == [1.0, -3.0, -0.5, 5.0]
    assert predict_classes(n, X, loss="hinge") == [1, -1, -1, 1]
    assert predict_classes(n, X, loss="bce") == [1, 0, 0, 1]
    assert accuracy(n, X, [1, -1, 1, 1], loss="hinge") == 0.75
    three = MLP(2, [3], seed=0)
    outs = predict(three, X)
    assert all(isinstance(o, list) and len(o) == 3 for o in outs)
    assert predict_classes(three, X) == [max(range(3), key=o.__getitem__) for o in outs]
    before = Value(0.0)
    predict(three, X)
    assert three.layers[0].neurons[0].w[0].grad == 0.0 and before.grad == 0.0


# ---------------------------------------------------------------- progress bar


def test_progress_true_shows_a_tqdm_bar_with_loss_and_accuracy(capsys):
    X, y = make_moons(10, noise=0.1, seed=0, signed=True)
    fit(MLP(2, [3, 1], seed=0), X, y, epochs=2, progress=True)
    err = capsys.readouterr().err
    assert "fit" in err and "2/2" in err and "loss=" in err and "acc=" in err
    assert "step/s" in err and "epoch" not in err  # full batch: one step per epoch, counted as steps
    fit(MLP(2, [3, 1], seed=0), X, y, epochs=2, batch_size=4, progress=True)
    assert "epoch/s" in capsys.readouterr().err  # mini-batches: several steps per epoch


def test_progress_is_quiet_when_false_or_when_stderr_is_not_a_terminal(capsys):
    X, y = make_moons(10, noise=0.1, seed=0, signed=True)
    fit(MLP(2, [3, 1], seed=0), X, y, epochs=2, progress=False)
    fit(MLP(2, [3, 1], seed=0), X, y, epochs=2)  # progress=None: auto; pytest's stderr is not a terminal
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_auto_shows_the_bar_on_a_terminal(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    X, y = make_moons(10, noise=0.1, seed=0, signed=True)
    fit(MLP(2, [3, 1], seed=0), X, y, epochs=3)
    assert "3/3" in terminal.getvalue() and "loss=" in terminal.getvalue()


# ---------------------------------------------------------------- bad input


def _moons():
    return make_moons(10, noise=0.1, seed=0, signed=True)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"X": [[1.0, 2.0]], "y": [1, -1]}, ValueError, "fit: X has 1 samples but y has 2 labels"),
        ({"X": [], "y": []}, ValueError, "fit: X and y are empty (no data)"),
        (
            {"loss": "huber"},
            ValueError,
            "fit: loss must be one of 'mse', 'hinge', 'bce', 'cross_entropy' or a callable loss(outputs, labels), "
            "got 'huber'",
        ),
        ({"epochs": 0}, ValueError, "fit: epochs must be a positive int, got 0"),
        ({"epochs": 2.5}, TypeError, "fit: epochs must be a positive int, got float 2.5"),
        ({"batch_size": 0}, ValueError, "fit: batch_size must be a positive int, got 0"),
        ({"batch_size": "all"}, TypeError, "fit: batch_size must be a positive int, got str 'all'"),
        ({"alpha": -1e-4}, ValueError, "fit: alpha must be a finite number >= 0, got -0.0001"),
        (
            {"optimizer": "adam"},
            TypeError,
            "fit: optimizer must be an Optimizer instance (e.g. SGD(...)), got str 'adam'",
        ),
        ({"progress": "yes"}, TypeError, "fit: progress must be True, False or None (auto), got str 'yes'"),
        ({"progress": 1}, TypeError, "fit: progress must be True, False or None (auto), got int 1"),
        ({"shuffle": "no"}, TypeError, "fit: shuffle must be True or False, got str 'no'"),
        ({"seed": "abc"}, TypeError, "fit: seed must be an int, a random.Random or None, got str 'abc'"),
        ({"lr_schedule": 0.1}, TypeError, "fit: lr_schedule must be callable (step -> lr), got float 0.1"),
        ({"model": "mlp"}, TypeError, "fit: model must be a Module"),
        ({"X": [[1.0, 2.0, 3.0]], "y": [1]}, ValueError, "expected 2 inputs, got 3"),
        ({"y": [0] * 10}, ValueError, "hinge: labels[0] must be -1 or +1, got 0"),
    ],
)
def test_fit_bad_input_messages(kwargs, error, message):
    X, y = _moons()
    args = {"model": MLP(2, [3, 1], seed=0), "X": X, "y": y, "epochs": 1, "progress": False}
    args.update(kwargs)
    model = args.pop("model")
    with pytest.raises(error) as e:
        fit(model, args.pop("X"), args.pop("y"), **args)
    assert message in str(e.value)


@pytest.mark.parametrize(
    "bad, error, shown",
    [(-5.0, ValueError, "-5.0"), (0, ValueError, "0"), (math.nan, ValueError, "nan"), ("0.1", TypeError, "str '0.1'")],
)
def test_fit_checks_what_lr_schedule_returns_at_every_step(bad, error, shown):
    """A schedule that goes wrong late (here at step 3) is refused there, before a step with that rate is taken."""
    X, y = _moons()
    model, reference = MLP(2, [3, 1], seed=0), MLP(2, [3, 1], seed=0)
    schedule = lambda k: 0.1 if k < 3 else bad  # noqa: E731
    with pytest.raises(error, match=rf"^fit: lr_schedule\(3\) must be a finite number > 0, got {re.escape(shown)}$"):
        fit(model, X, y, epochs=10, lr_schedule=schedule, progress=False)
    fit(reference, X, y, epochs=3, lr_schedule=lambda k: 0.1, progress=False)  # the three good steps alone
    assert model.state_dict() == reference.state_dict()


def test_helpers_bad_input_messages():
    model = MLP(2, [1], seed=0)
    with pytest.raises(ValueError, match="accuracy: X has 2 samples but y has 1 labels"):
        accuracy(model, [[0.0, 1.0], [1.0, 0.0]], [1])
    with pytest.raises(TypeError, match="predict: X must be a list of samples, got int 5"):
        predict(model, 5)
    with pytest.raises(ValueError, match="predict_classes: loss must be 'hinge' or 'bce' for a model with one output"):
        predict_classes(model, [[0.0, 1.0]], loss="mse")


def test_a_diverging_fit_stops_with_a_clear_error():
    xs = [[10.0], [20.0]]
    model = MLP(1, [1], seed=0)
    with pytest.raises(FloatingPointError, match="fit: training diverged at epoch"):
        fit(model, xs, [1.0, 2.0], loss="mse", optimizer=SGD(model.parameters(), lr=10.0), epochs=200, progress=False)


@pytest.mark.parametrize(
    "X, y, where",
    [
        ([[0.0, 1.0], [float("nan"), 2.0]], [1, -1], "X[1][0] is nan"),
        ([[0.0, 1.0], [1.0, float("inf")]], [1, -1], "X[1][1] is inf"),
        ([[0.0, 1.0], [1.0, 2.0]], [1, float("-inf")], "y[1] is -inf"),
    ],
)
def test_fit_names_non_finite_data_instead_of_blaming_the_learning_rate(X, y, where):
    from nn import MLP, fit

    model = MLP(2, [3, 1], seed=0)
    before = [p.data for p in model.parameters()]
    with pytest.raises(ValueError) as info:
        fit(model, X, y, epochs=2, progress=False)
    assert where in str(info.value) and "finite" in str(info.value)
    assert "learning rate" not in str(info.value)
    assert [p.data for p in model.parameters()] == before


# --------------------------------------------------------------------------- one path, one policy: fit and train_gpt


def _tiny_gpt_run(seed=0, **options):
    """A small GPT (2 heads of 2 features, 4 positions) trained by train_gpt on two names."""
    from nn import GPT, CharTokenizer, GPTConfig, load_names, train_gpt

    names = load_names()
    tokenizer = CharTokenizer.from_documents(names)
    model = GPT(GPTConfig(n_embd=4, n_head=2, block_size=4), seed=seed, std=options.pop("std", 0.08))
    return model, lambda **more: train_gpt(model, tokenizer, names[:2], 2, progress=False, **options, **more)


def test_fit_and_train_gpt_compile_their_steps_through_one_function(monkeypatch):
    """fit(compile=True) and train_gpt(compile=True) build their compiled step with the same function,
    nn.train.compile_step, the one place that calls autograd.compiled for training (issue 19, item 5)."""
    pytest.importorskip("numpy")
    import autograd.compile

    real = autograd.compile.compiled
    callers = []

    def recording(*args, **kwargs):
        caller = sys._getframe(1).f_code
        callers.append((caller.co_filename.replace("\\", "/").rsplit("/", 2)[-2:], caller.co_name))
        return real(*args, **kwargs)

    monkeypatch.setattr(autograd.compile, "compiled", recording)
    X, y = make_moons(8, noise=0.1, seed=0, signed=True)
    fit(MLP(2, [3, 1], seed=0), X, y, epochs=2, progress=False, compile=True)
    _, run = _tiny_gpt_run(compile=True)
    history = run()
    assert history.compiled is not None and len(history) == 2
    assert callers == [(["nn", "train.py"], "compile_step")] * 2


def test_fit_and_train_gpt_let_a_frozen_number_warn_the_caller():
    """The one warning policy: neither loop silences a TracerWarning, so a number read out of the graph
    while it is traced (here a model that peeks at its output's float) reaches the caller of each."""
    pytest.importorskip("numpy")
    from autograd import TracerWarning
    from nn import GPT, CharTokenizer, GPTConfig, load_names, train_gpt

    class PeekingMLP(MLP):
        def __call__(self, x):
            out = super().__call__(x)
            self.seen = out.data  # a number read while traced: frozen in a replay
            return out

    class PeekingGPT(GPT):
        def __call__(self, *args, **kwargs):
            logits = super().__call__(*args, **kwargs)
            self.seen = logits[0].data  # the same kind of read in a GPT
            return logits

    X, y = make_moons(8, noise=0.1, seed=0, signed=True)
    with pytest.warns(TracerWarning, match="frozen") as caught:
        fit(PeekingMLP(2, [3, 1], seed=0), X, y, epochs=2, progress=False, compile=True)
    assert {w.filename for w in caught} == {__file__}  # the warning points at the line that read the number
    names = load_names()
    model = PeekingGPT(GPTConfig(n_embd=4, n_head=2, block_size=4), seed=0)
    with pytest.warns(TracerWarning, match="frozen") as caught:
        train_gpt(model, CharTokenizer.from_documents(names), names[:2], 2, progress=False, compile=True)
    assert {w.filename for w in caught} == {__file__}


@pytest.mark.parametrize("compile", [False, True])
def test_fit_and_train_gpt_say_the_same_when_training_diverges(compile):
    """One message for a step whose arithmetic fails: '<where>: training diverged at <when> (lower the
    learning rate?): <the error>', from fit and from train_gpt (eager or compiled)."""
    if compile:
        pytest.importorskip("numpy")
    _, run = _tiny_gpt_run(std=30.0, compile=compile)  # huge weights: a probability underflows to 0
    with pytest.raises(FloatingPointError) as gpt_error:
        run()
    xs = [[10.0], [20.0]]
    model = MLP(1, [1], seed=0)
    with pytest.raises(FloatingPointError) as fit_error:
        fit(model, xs, [1.0, 2.0], loss="mse", optimizer=SGD(model.parameters(), lr=10.0), epochs=200, progress=False)
    assert re.match(r"train_gpt: training diverged at step 0 \(lower the learning rate\?\): \S", str(gpt_error.value))
    assert isinstance(gpt_error.value.__cause__, (OverflowError, ValueError))
    form = r"fit: training diverged at epoch \d+, step \d+( \(lower the learning rate\?\): \S|: the loss became )"
    assert re.match(form, str(fit_error.value))
