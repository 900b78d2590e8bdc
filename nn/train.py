"""Training: ``fit`` (a loop of forward, loss, zero_grad, backward, optimizer step) and prediction helpers."""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from autograd.engine import Value, no_grad

from ._check import (
    check_callable,
    check_int,
    check_number,
    check_rng,
    check_sequence,
    check_type,
    wrong_type,
    wrong_value,
)
from .data import batches, check_dataset
from .live import LiveTraining, live_from
from .losses import get_loss, l2_penalty
from .optim import SGD, Optimizer


@dataclass
class History:
    """What ``fit`` saw: per epoch the mean loss and the training accuracy (None for regression),
    and per optimizer step a dict {"epoch", "step", "loss", "lr"}."""

    losses: list[float] = field(default_factory=list)
    accuracies: list[float | None] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    live: LiveTraining | None = field(default=None, repr=False)  # fit(live=...): the record it showed

    def __len__(self) -> int:
        return len(self.losses)


def _output_floats(out: Any) -> float | list[float]:
    if isinstance(out, Value):
        return out.data
    if isinstance(out, (list, tuple)):
        return [o.data if isinstance(o, Value) else float(o) for o in out]
    return float(out)


def predict(model: Callable[[Any], Any], X: Sequence[Sequence[float]]) -> list[Any]:
    """The model's raw outputs as floats (one float per sample, or a list for k outputs), without building a graph."""
    X = check_sequence(X, "X", "predict", "a list of samples", non_empty=False)
    with no_grad():
        return [_output_floats(model(x)) for x in X]


def _decide(outputs: list[Any], labels: Sequence[Any], loss: Any) -> list[Any] | None:
    """The predicted class per output, using the decision rule of ``loss`` (None for regression)."""
    if not outputs:
        return []
    if isinstance(outputs[0], list):  # k outputs: the largest logit wins
        return [max(range(len(o)), key=o.__getitem__) for o in outputs]
    if loss == "hinge":
        return [1 if o > 0 else -1 for o in outputs]
    if loss == "bce":
        return [1 if o > 0 else 0 for o in outputs]
    values = set(labels)
    if values <= {-1, 1}:  # a score for ±1 labels: its sign
        return [1 if o > 0 else -1 for o in outputs]
    if values <= {0, 1} and loss == "mse":  # a regression onto 0/1: threshold ½
        return [1 if o > 0.5 else 0 for o in outputs]
    return None


def predict_classes(model: Callable[[Any], Any], X: Sequence[Sequence[float]], loss: Any = "hinge") -> list[int]:
    """Class predictions: argmax for k outputs; sign (±1) for "hinge"; logit > 0 (0/1) for "bce"."""
    outputs = predict(model, X)
    if outputs and not isinstance(outputs[0], list) and loss not in ("hinge", "bce"):
        raise wrong_value("predict_classes", "loss", "'hinge' or 'bce' for a model with one output", loss)
    return _decide(outputs, [], loss) or []


def _fraction_correct(predicted: list[Any] | None, labels: Sequence[Any]) -> float | None:
    if predicted is None:
        return None
    return sum(1 for p, t in zip(predicted, labels) if p == t) / len(labels)


def accuracy(model: Callable[[Any], Any], X: Sequence[Sequence[float]], y: Sequence[Any], loss: Any = "hinge") -> float:
    """Fraction of samples whose predicted class (see ``predict_classes``) equals the label."""
    X, y = check_dataset(X, y, "accuracy")
    result = _fraction_correct(_decide(predict(model, X), y, loss), y)
    if result is None:
        raise ValueError(
            f"accuracy: cannot turn outputs into classes for loss {loss!r} and labels {sorted(set(y))[:5]}"
        )
    return result


# --------------------------------------------------------------------------- shared by fit and train_gpt
# One compiled-step path and one policy for what training says (warnings, divergence, progress):
# ``fit`` and ``nn.gpt_train.train_gpt`` both go through these.


def compile_step(loss_fn: Callable[..., Any], cache_size: int, static_argnums: int | Sequence[int] = ()) -> Any:
    """``loss_fn`` traced once per input structure by ``autograd.compiled`` and replayed as array kernels:
    a call returns what ``loss_fn`` returns (the loss first) and leaves ∂loss/∂p in each parameter's ``.grad``.

    The one way training compiles a step (``fit(compile=True)``, ``train_gpt(compile=True)``); numpy is
    imported here, lazily. It silences no warning: nn's losses read no number while traced (softmax's max
    shift is a node of the graph), so a ``TracerWarning`` means a number read in the model or the loss,
    frozen at trace time, and reaches the caller.
    """
    from autograd.compile import compiled  # numpy, lazily: only when training compiles

    return compiled(loss_fn, cache_size=cache_size, static_argnums=static_argnums)


def diverged(where: str, at: str, cause: BaseException | float) -> FloatingPointError:
    """The error a training loop raises when a step's numbers fail at ``at`` ("step 3"): ``cause`` is the
    arithmetic error (exp overflowed; raise it ``from cause``) or the loss that is not finite."""
    if isinstance(cause, BaseException):
        return FloatingPointError(f"{where}: training diverged at {at} (lower the learning rate?): {cause}")
    return FloatingPointError(f"{where}: training diverged at {at}: the loss became {cause!r}")


def show_progress(progress: bool | None) -> bool:
    """Whether to show a progress bar: ``progress`` itself, or for None whether stderr is a terminal."""
    return sys.stderr.isatty() if progress is None else progress


def progress_bar(steps: Iterable[int], desc: str, unit: str) -> Any:
    """A tqdm bar on stderr over ``steps``, named ``desc`` (tqdm is imported only when a bar is shown)."""
    from tqdm.auto import tqdm  # type: ignore[import-untyped]  # lazily: only when a bar is shown

    return tqdm(steps, desc=desc, unit=unit, file=sys.stderr)


def fit(
    model: Any,
    X: Sequence[Sequence[float]],
    y: Sequence[Any],
    *,
    loss: str | Callable[..., Value] = "hinge",
    optimizer: Optimizer | None = None,
    epochs: int = 10,
    batch_size: int | None = None,
    alpha: float = 0.0,
    lr_schedule: Callable[[int], float] | None = None,
    shuffle: bool = True,
    seed: int | random.Random | None = None,
    progress: bool | None = None,
    compile: bool = False,
    live: bool | LiveTraining = False,
) -> History:
    """Train ``model`` on (X, y): per batch, loss = loss(outputs, labels) + α·Σp², zero_grad, backward, step.

    ``loss``: "hinge" (labels ±1), "mse", "bce" (labels 0/1), "cross_entropy" (k outputs, int labels) or a
    callable ``loss(outputs, labels) -> Value``. ``optimizer``: an instance (default ``SGD(lr=0.1)``).
    ``batch_size=None`` uses all the data every step. ``lr_schedule(k)`` sets ``optimizer.lr`` before
    step k (k counts optimizer steps from 0). ``progress``: True shows a tqdm bar with loss and accuracy
    on stderr, False is quiet, None shows it only when stderr is a terminal.

    ``live=True`` (or a ``nn.live.LiveTraining`` with its own settings) watches the training: in a
    notebook a widget redraws the loss, the accuracy and (2-D inputs) the decision boundary while
    ``fit`` runs, then stays as a record with a slider over its snapshots; in a terminal the progress
    bar is shown instead (unless ``progress=False``). The record is ``history.live``
    (``history.live.save_html(path)`` writes it as a page).

    ``compile=True`` computes each batch's loss and gradients with ``autograd.compiled`` (numpy): the
    graph of a batch is traced once and replayed as array kernels, with the same losses, gradients and
    optimizer steps. A batch's labels are part of what is traced (the losses read them as Python
    numbers), so the batches must repeat: full batch (``batch_size=None``) or ``shuffle=False``. The
    losses read no other number while traced (softmax's max shift is a node of the graph), so a
    ``TracerWarning`` from ``fit`` means a number read in your model or loss, frozen at trace time.

    >>> X, y = make_moons(100, seed=0, signed=True)                          # doctest: +SKIP
    >>> history = fit(MLP(2, [16, 16, 1]), X, y, loss="hinge", epochs=50)     # doctest: +SKIP
    """
    X, y = check_dataset(X, y, "fit")
    if not callable(model) or not hasattr(model, "parameters"):
        raise wrong_type("fit", "model", "a Module (callable with parameters())", model)
    loss_fn = get_loss(loss, "fit")
    epochs = check_int(epochs, "epochs", "fit")
    if batch_size is not None:
        check_int(batch_size, "batch_size", "fit")
    alpha = check_number(alpha, "alpha", "fit", at_least=0)
    if lr_schedule is not None:
        check_callable(lr_schedule, "lr_schedule", "fit", "callable (step -> lr)")
    check_type(shuffle, "shuffle", "fit", bool, "True or False")
    rng = check_rng(seed, "seed", "fit")
    check_type(progress, "progress", "fit", (bool, type(None)), "True, False or None (auto)")
    check_type(compile, "compile", "fit", bool, "True or False")
    monitor = live_from(live, "fit")
    params = model.parameters()
    if optimizer is None:
        optimizer = SGD(params, lr=0.1)
    check_type(optimizer, "optimizer", "fit", Optimizer, "an Optimizer instance (e.g. SGD(...))")
    show = show_progress(progress)
    if monitor is not None and progress is None:  # the widget, or in a terminal the bar, shows the training
        show = not monitor.show

    epoch_range: Any = range(epochs)
    bar = None
    if show:
        whole = batch_size is None or batch_size >= len(X)  # one step per epoch: the bar counts steps
        bar = epoch_range = progress_bar(epoch_range, "fit", "step" if whole else "epoch")

    history = History()
    step = 0
    size = batch_size or len(X)
    compiled_step = _compiled_batch_step(model, loss_fn, params, alpha, size, len(X), shuffle) if compile else None
    failure: BaseException | None = None
    if monitor is not None:
        history.live = monitor
        monitor.start(model, X, y, loss=loss, steps=epochs * -(-len(X) // size))
    try:
        for epoch in epoch_range:
            total_loss = 0.0
            predicted: list[Any] = []
            seen_labels: list[Any] = []
            for xb, yb in batches(X, y, size, shuffle=shuffle and size < len(X), seed=rng):
                if compiled_step is not None:  # loss and gradients at once, replayed from the batch's trace
                    optimizer.zero_grad()
                    total, outputs = compiled_step(xb, tuple(yb))
                try:
                    if compiled_step is None:
                        outputs = [model(x) for x in xb]
                        data_loss = loss_fn(outputs, yb)
                        total = data_loss + l2_penalty(params, alpha) if alpha else data_loss
                except OverflowError as e:
                    raise diverged("fit", f"epoch {epoch}, step {step}", e) from e
                if not math.isfinite(total.data):
                    raise diverged("fit", f"epoch {epoch}, step {step}", total.data)
                if compiled_step is None:
                    optimizer.zero_grad()
                    total.backward()
                if lr_schedule is not None:  # checked every step: a schedule may go wrong late (-5.0, "0.1", nan)
                    optimizer.lr = check_number(lr_schedule(step), f"lr_schedule({step})", "fit", greater_than=0)
                optimizer.step()
                history.steps.append({"epoch": epoch, "step": step, "loss": total.data, "lr": optimizer.lr})
                total_loss += total.data * len(xb)
                predicted.append([_output_floats(o) for o in outputs])
                seen_labels.extend(yb)
                step += 1
                if monitor is not None:
                    monitor.step(step, total.data)
            flat = [o for chunk in predicted for o in chunk]
            decided = _decide(flat, seen_labels, loss)
            acc = _fraction_correct(decided, seen_labels)
            history.losses.append(total_loss / len(X))
            history.accuracies.append(acc)
            if monitor is not None:
                monitor.epoch(step, history.losses[-1], acc)
            if bar is not None:
                shown = {"loss": f"{history.losses[-1]:.4f}"}
                if acc is not None:
                    shown["acc"] = f"{acc:.1%}"
                bar.set_postfix(shown)
    except BaseException as error:  # KeyboardInterrupt too: the record says where training stopped
        failure = error
        raise
    finally:
        if bar is not None:
            bar.close()
        if monitor is not None:
            monitor.finish(failure)
    return history


def _compiled_batch_step(
    model: Any, loss_fn: Callable[..., Value], params: list[Value], alpha: float, size: int, count: int,
    shuffle: bool,
) -> Callable[[Sequence[Any], tuple[Any, ...]], tuple[Value, list[Any]]]:  # fmt: skip
    """A batch's (loss, outputs), traced once per batch by ``autograd.compiled`` and replayed after."""
    if shuffle and size < count:
        raise ValueError(
            "fit: compile=True needs the same batches every epoch (each batch's labels are part of its trace): "
            "use batch_size=None (full batch) or shuffle=False"
        )

    def batch_loss(xb: Sequence[Any], yb: tuple[Any, ...]) -> tuple[Value, list[Any]]:
        outputs = [model(x) for x in xb]
        data_loss = loss_fn(outputs, list(yb))
        total = data_loss + l2_penalty(params, alpha) if alpha else data_loss
        return total, outputs

    return compile_step(batch_loss, cache_size=-(-count // size), static_argnums=1)  # type: ignore[no-any-return]
