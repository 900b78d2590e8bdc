"""Training nn.gpt's GPT: microgpt's loop (Adam, linear decay to 0), eagerly or compiled.

- ``microgpt_adam``: Adam with microgpt's settings (lr 0.01, β = (0.85, 0.99), ε = 1e-8);
- ``eager_step``: one document's loss and ``backward()``;
- ``train_gpt``: step k trains on ``documents[k % len(documents)]``; ``compile=True`` replays each
  document length's trace as array kernels (``autograd.compiled``), the parameters in one array;
- ``GPTHistory``: what it saw (losses, learning rates, documents, seconds, the compiled function).

The model is ``nn.gpt``; the views and the demo are ``nn.gpt_views``. ``from nn.gpt import train_gpt``
works too.

>>> history = train_gpt(GPT(), tokenizer, names, steps=10, progress=False)    # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import gc
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from autograd.engine import Value

from ._check import check_int, check_sequence, check_type
from .gpt import GPT, Token, _check_tokenizer, document_loss
from .optim import Adam, Optimizer, Scheduler, linear_decay
from .text import CharTokenizer
from .train import compile_step, diverged, progress_bar, show_progress

__all__ = ["BETAS", "EPS", "LEARNING_RATE", "GPTHistory", "eager_step", "microgpt_adam", "train_gpt"]

# microgpt's optimizer settings
LEARNING_RATE = 0.01
BETAS = (0.85, 0.99)
EPS = 1e-8


def microgpt_adam(model: GPT, lr: float = LEARNING_RATE) -> Adam:
    """Adam with microgpt's settings: lr 0.01, β₁ = 0.85, β₂ = 0.99, ε = 1e-8 (torch.optim.Adam's rule)."""
    return Adam(model.parameters(), lr=lr, betas=BETAS, eps=EPS)


def eager_step(model: GPT, inputs: Sequence[Token], targets: Sequence[Token]) -> float:
    """Build the document's loss and run ``backward()``: each parameter's ``.grad`` gains ∂L/∂p; returns L."""
    loss = document_loss(model, inputs, targets)
    loss.backward()
    return loss.data


def _compiled_step(model: GPT) -> Callable[[GPT, Sequence[Token], Sequence[Token]], float]:
    """``eager_step`` compiled: ``document_loss`` traced once per document length by ``autograd.compiled``
    (tokens as one-hot data) and replayed as array kernels; the step's ``.compiled`` is that function."""
    loss_and_grads = compile_step(
        lambda inputs, targets: document_loss(model, inputs, targets), cache_size=model.config.block_size
    )

    def step(stepped: GPT, inputs: Sequence[Token], targets: Sequence[Token]) -> float:
        if stepped is not model:
            raise ValueError("train_gpt: a compiled step belongs to the model it was made for")
        return float(loss_and_grads(inputs, targets).data)

    step.compiled = loss_and_grads  # type: ignore[attr-defined]
    return step


@dataclass
class GPTHistory:
    """What ``train_gpt`` saw at each step: the document, its loss before the update, the learning rate;
    the wall-clock seconds of the whole run; with ``compile=True``, the ``autograd.compiled`` function
    that computed the steps (its ``programs``, one per document length, have ``stats`` and ``draw()``)."""

    losses: list[float] = field(default_factory=list)
    learning_rates: list[float] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    seconds: float = 0.0
    compiled: Any = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.losses)


def train_gpt(
    model: GPT,
    tokenizer: CharTokenizer,
    documents: Sequence[str],
    steps: int,
    *,
    optimizer: Optimizer | None = None,
    lr_schedule: Callable[[int], float] | None = None,
    progress: bool | None = None,
    compile: bool = False,
) -> GPTHistory:
    """microgpt's training loop: step k trains on ``documents[k % len(documents)]`` alone.

    Per step: zero_grad, L = ``document_loss``, backward, set the learning rate, Adam update.
    ``optimizer`` defaults to ``microgpt_adam(model)``; ``lr_schedule(k)`` (k = 0 … steps−1) to
    microgpt's linear decay lr·(1 − k/steps). ``progress``: a tqdm bar (True), none (False), or one only
    when stderr is a terminal (None). ``compile=True`` feeds the tokens as one-hot vectors and computes
    each step's loss and gradients with ``autograd.compiled`` (numpy): one trace per document length,
    then array kernels — the same losses and updates as eagerly, to rounding. With an Adam over all the
    model's parameters (the default) the parameters then live in one array during the run
    (``Compiled.gradients``, ``Adam.step_arrays``) and are written back to the Values at the end.

    >>> history = train_gpt(GPT(), tokenizer, names, steps=10, progress=False)    # doctest: +SKIP
    """
    _check_tokenizer(model, tokenizer, "train_gpt")
    check_int(steps, "steps", "train_gpt")
    check_sequence(documents, "documents", "train_gpt", "a non-empty list of str")
    if progress is not None:
        check_type(progress, "progress", "train_gpt", bool, "True, False or None (auto)")
    check_type(compile, "compile", "train_gpt", bool, "True or False")
    step = _compiled_step(model) if compile else eager_step
    if optimizer is None:
        optimizer = microgpt_adam(model)
    elif not isinstance(optimizer, Optimizer):
        raise TypeError(f"train_gpt: optimizer must be an Optimizer (e.g. Adam), got {type(optimizer).__name__}")
    if lr_schedule is None:
        lr_schedule = linear_decay(optimizer.lr, 0.0, steps)
    elif not callable(lr_schedule):
        raise TypeError(f"train_gpt: lr_schedule must be callable (step -> lr), got {type(lr_schedule).__name__}")
    scheduler = Scheduler(optimizer, lr_schedule)
    # encode every document this run reads first: a character outside the vocabulary fails before training
    chosen = [documents[k % len(documents)] for k in range(min(steps, len(documents)))]
    encoded = [model.inputs_and_targets(tokenizer.encode(doc), one_hot=compile) for doc in chosen]

    history = GPTHistory(compiled=getattr(step, "compiled", None))
    iterator: Any = range(steps)
    bar = None
    if show_progress(progress):
        bar = iterator = progress_bar(iterator, "train_gpt", "step")
    with _heap_frozen():
        start = time.perf_counter()
        if compile and isinstance(optimizer, Adam) and _covers(optimizer.params, model.parameters()):
            _train_arrays(optimizer, scheduler, encoded, chosen, iterator, bar, history)
        else:
            _train_values(model, step, optimizer, scheduler, encoded, chosen, iterator, bar, history)
        history.seconds = time.perf_counter() - start
    return history


@contextlib.contextmanager
def _heap_frozen() -> Iterator[None]:
    """Collect garbage, then ``gc.freeze()`` what is alive for the run, so the time measured is the step's:
    the collector runs during training (each step makes tens of thousands of nodes), and without this it
    scans again and again every object made before — in a notebook, hundreds of thousands that earlier
    cells left, which made an eager step take 3 times as long. Left alone if the caller froze objects."""
    if gc.get_freeze_count():
        yield
        return
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _train_values(
    model: GPT, step: Any, optimizer: Optimizer, scheduler: Scheduler, encoded: list[Any], chosen: list[str],
    iterator: Any, bar: Any, history: GPTHistory,
) -> None:  # fmt: skip
    """The loop over Values: per step zero_grad, loss and gradients (eager or compiled), Adam's update."""
    try:
        for k in iterator:
            inputs, targets = encoded[k % len(encoded)]
            optimizer.zero_grad()
            try:
                loss = step(model, inputs, targets)
            except (OverflowError, ValueError) as error:  # exp overflowed, or a probability underflowed to 0
                raise diverged("train_gpt", f"step {k}", error) from error
            if not math.isfinite(loss):
                raise diverged("train_gpt", f"step {k}", loss)
            lr = scheduler.step()
            optimizer.step()
            _record(history, bar, loss, lr, chosen[k % len(chosen)])
    finally:
        if bar is not None:
            bar.close()


def _covers(params: Sequence[Value], needed: Sequence[Value]) -> bool:
    """Whether every one of ``needed`` is among ``params`` (the array loop updates ``params`` only)."""
    ids = {id(p) for p in params}
    return all(id(p) in ids for p in needed)


def _record(history: GPTHistory, bar: Any, loss: float, lr: float, document: str) -> None:
    """One step into the history, and its loss onto the progress bar."""
    history.losses.append(loss)
    history.learning_rates.append(lr)
    history.documents.append(document)
    if bar is not None:
        bar.set_postfix({"loss": f"{loss:.4f}"})


def _train_arrays(
    optimizer: Adam,
    scheduler: Scheduler,
    encoded: list[tuple[list[Token], list[Token]]],
    chosen: list[str],
    iterator: Any,
    bar: Any,
    history: GPTHistory,
) -> None:
    """The compiled loop with the parameters in one numpy array: each step's loss and gradients come from
    ``Compiled.gradients`` and Adam updates the array (``Adam.step_arrays``: ``step()``'s floats, bit for
    bit), so no Value is touched until the end, when every ``p.data`` (and the last step's ``p.grad``) is
    written back — also when training stops early. The same losses and updates as the loop over Values."""
    import numpy as np

    loss_and_grads = history.compiled
    assert loss_and_grads is not None
    params = optimizer.params
    data = np.fromiter((p.data for p in params), float, len(params))
    grads = np.zeros(len(params))
    try:
        for k in iterator:
            inputs, targets = encoded[k % len(encoded)]
            try:
                loss, grads = loss_and_grads.gradients(params, data, inputs, targets)
            except (OverflowError, ValueError) as error:  # exp overflowed, or a probability underflowed to 0
                raise diverged("train_gpt", f"step {k}", error) from error
            if not math.isfinite(loss):
                raise diverged("train_gpt", f"step {k}", loss)
            lr = scheduler.step()
            data = optimizer.step_arrays(data, grads)
            _record(history, bar, loss, lr, chosen[k % len(chosen)])
    finally:
        for p, x, g in zip(params, data.tolist(), grads.tolist()):
            p.data, p.grad = x, g
        if bar is not None:
            bar.close()
