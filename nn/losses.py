"""Losses: plain functions from lists of ``Value``s (predictions) and targets to one ``Value``.

Each is written with the engine's ops, so its gradient comes from backpropagation; the
numerically delicate ones (binary cross-entropy, softmax) use stable forms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

from autograd.engine import Value, maximum, sum_values

from ._check import check_choice, check_number, check_sequence, check_values, wrong_type, wrong_value

Scalar = Value | float | int

REDUCTIONS = ("mean", "sum", "half_sum")


def _flatten(x: Any, name: str, where: str) -> list[Scalar]:
    """A Value/number, a list of them, or a list of lists (vectors), flattened in order."""
    if isinstance(x, (Value, int, float)) and not isinstance(x, bool):
        return [x]
    items = check_sequence(x, name, where, "a Value, a number or a list of them", non_empty=False)
    return [scalar for i, item in enumerate(items) for scalar in _flatten(item, f"{name}[{i}]", where)]


def _pair(pred: Any, target: Any, where: str) -> tuple[list[Scalar], list[Scalar]]:
    p = _flatten(pred, "pred", where)
    t = _flatten(target, "target", where)
    if len(p) != len(t):
        raise ValueError(f"{where}: pred has {len(p)} values but target has {len(t)}")
    if not p:
        raise ValueError(f"{where}: pred and target are empty")
    return p, t


def _mean(terms: Sequence[Value | float]) -> Value:
    """(Σ terms) · (1/n), summed left to right as micrograd does."""
    return cast(Value, sum(terms) * (1.0 / len(terms)))


def mse(pred: Any, target: Any, reduction: str = "mean") -> Value:
    """Squared error: mean (default) Σ(y−t)²/n, "sum" Σ(y−t)², or "half_sum" ½Σ(y−t)² (the reference derivation's E).

    >>> mse([Value(1.0), Value(3.0)], [0.0, 1.0]).data   # ((1)² + (2)²) / 2
    2.5
    """
    check_choice(reduction, "reduction", "mse", REDUCTIONS)
    p, t = _pair(pred, target, "mse")
    terms: list[Value] = [(pi - ti) ** 2 for pi, ti in zip(p, t)]  # type: ignore[misc]  # a Value if pred holds one
    if reduction == "mean":
        return _mean(terms)
    total = cast(Value, sum(terms[1:], terms[0]))
    return total * 0.5 if reduction == "half_sum" else total


def half_squared_error(pred: Any, target: Any) -> Value:
    """E = ½‖y − t‖² = ½Σ(yᵢ − tᵢ)², whose gradient is simply y − t (the reference derivation's convention)."""
    return mse(pred, target, reduction="half_sum")


def _labels(labels: Any, n: int, where: str) -> list[float]:
    if isinstance(labels, (str, bytes)) or not isinstance(labels, Sequence):
        labels = [labels]
    if len(labels) != n:
        raise ValueError(f"{where}: got {n} predictions but {len(labels)} labels")
    out = []
    for i, y in enumerate(labels):
        v = y.data if isinstance(y, Value) else y
        out.append(check_number(v, f"labels[{i}]", where))
    return out


def _scores(scores: Any, where: str) -> list[Value]:
    """One score per sample, as Values (a plain number becomes a leaf)."""
    if isinstance(scores, (Value, int, float)) and not isinstance(scores, bool):
        scores = [scores]
    scores = check_sequence(scores, "predictions", where, "a Value, a number or a list of them", non_empty=False)
    if not scores:
        raise ValueError(f"{where}: no predictions (empty list)")
    for i, s in enumerate(scores):
        if not isinstance(s, (Value, int, float)) or isinstance(s, bool):
            requirement = "one Value per sample (a model with k outputs needs cross_entropy)"
            raise wrong_type(where, f"predictions[{i}]", requirement, s)
    return [s if isinstance(s, Value) else Value(float(s)) for s in scores]


def hinge(scores: Any, labels: Any) -> Value:
    """Max-margin loss mean(relu(1 − y·s)) with labels y = ±1 (micrograd's SVM loss).

    >>> hinge([Value(2.0), Value(0.5)], [1, 1]).data     # (0 + 0.5) / 2
    0.25
    """
    s = _scores(scores, "hinge")
    y = _labels(labels, len(s), "hinge")
    for i, yi in enumerate(y):
        if yi not in (-1, 1):
            raise wrong_value("hinge", f"labels[{i}]", "-1 or +1", yi)
    # written as micrograd writes it: (1 + -y·s).relu()
    return _mean([(1 + -yi * si).relu() for yi, si in zip(y, s)])  # type: ignore[union-attr]


def bce_with_logits(logits: Any, labels: Any) -> Value:
    """Binary cross-entropy of σ(z) against y ∈ [0, 1]: mean(softplus(z) − y·z), stable for |z| ≈ 1000.

    −[y log σ(z) + (1−y) log(1−σ(z))] = softplus(z) − y·z, with softplus(z) = ln(1 + eᶻ) computed stably.

    >>> round(bce_with_logits([Value(0.0)], [1]).data, 6)   # ln 2
    0.693147
    """
    z = _scores(logits, "bce_with_logits")
    y = _labels(labels, len(z), "bce_with_logits")
    for i, yi in enumerate(y):
        if not 0 <= yi <= 1:
            raise wrong_value("bce_with_logits", f"labels[{i}]", "in [0, 1]", yi)
    terms = []
    for zi, yi in zip(z, y):
        terms.append(zi.softplus() - yi * zi if yi else zi.softplus())
    return _mean(terms)


def _vector(logits: Any, where: str) -> list[Value]:
    items = check_sequence(logits, "logits", where, "a non-empty list of Values")
    return [z if isinstance(z, Value) else Value(check_number(z, f"logits[{i}]", where)) for i, z in enumerate(items)]


def log_softmax(logits: Sequence[Scalar]) -> list[Value]:
    """log softmax(z)ᵢ = zᵢ − m − log Σⱼ exp(zⱼ − m), m = max z (log-sum-exp: no overflow).

    The shift m is a node (``autograd.maximum``), computed from z by every evaluation, also a compiled replay.
    """
    z = _vector(logits, "log_softmax")
    m = maximum(*z)
    shifted = [v - m for v in z]
    log_total = cast(Value, sum(s.exp() for s in shifted)).log()
    return [s - log_total for s in shifted]


def softmax(logits: Sequence[Scalar]) -> list[Value]:
    """softmax(z)ᵢ = exp(zᵢ − m) / Σⱼ exp(zⱼ − m), m = max z (stable for large logits).

    The shift m is a node of the graph (``autograd.maximum``), so a compiled replay subtracts the max of
    the logits it is given, not the traced ones. softmax(z − m) = softmax(z) for every m, so neither the
    result nor its gradient depends on m: the gradient that reaches m is 0, up to rounding. Each zᵢ − m is
    zᵢ + (−m), micrograd's graph of a subtraction, with a negation per term (so every softmax, whatever
    its length, compiles to the same kernels): the floats of microgpt's ``val - max_val``. Σⱼ is one
    n-ary + node (``sum_values``), summed left to right: the floats of microgpt's ``sum(exps)``.

    >>> [round(p.data, 4) for p in softmax([Value(1.0), Value(1.0)])]
    [0.5, 0.5]
    """
    z = _vector(logits, "softmax")
    m = maximum(*z)
    e = [(v - m).exp() for v in z]
    total = sum_values(e)
    return [ei / total for ei in e]


def cross_entropy(logits: Any, labels: Any) -> Value:
    """Mean over samples of −log softmax(z)[y]; logits: a list of k-vectors (or one k-vector), labels: ints in [0, k).

    >>> round(cross_entropy([[Value(0.0), Value(0.0)]], [1]).data, 6)   # −log ½
    0.693147
    """
    if isinstance(logits, Sequence) and logits and isinstance(logits[0], (Value, int, float)):
        if isinstance(labels, Sequence):
            raise TypeError(
                f"cross_entropy: logits is a flat list of {len(logits)} values but labels is a list; give one "
                "k-vector of logits per sample (a model with one output needs hinge or bce)"
            )
        logits, labels = [logits], [labels]  # one sample: a k-vector and its class
    logits = check_sequence(logits, "logits", "cross_entropy", "a non-empty list of k-vectors")
    labels = check_sequence(labels, "labels", "cross_entropy", "a list of class indices", non_empty=False)
    if len(labels) != len(logits):
        raise ValueError(f"cross_entropy: got {len(logits)} samples of logits but {len(labels)} labels")
    terms = []
    for i, (z, y) in enumerate(zip(logits, labels)):
        if isinstance(z, Value) or not isinstance(z, Sequence):
            raise wrong_type("cross_entropy", f"logits[{i}]", "a list of k >= 2 Values", z)
        k = len(z)
        requirement = f"an int class index in [0, {k})"
        if isinstance(y, bool) or not isinstance(y, int):
            raise wrong_type("cross_entropy", f"labels[{i}]", requirement, y)
        if not 0 <= y < k:
            raise wrong_value("cross_entropy", f"labels[{i}]", requirement, y)
        terms.append(-log_softmax(z)[y])
    return _mean(terms)


def l2_penalty(params: Sequence[Value], alpha: float = 1.0) -> Value:
    """α·Σ p² over ``params`` (weight decay as a loss term; micrograd uses α = 1e-4)."""
    params = check_values(params, "params", "l2_penalty")
    alpha = check_number(alpha, "alpha", "l2_penalty", at_least=0)
    return alpha * cast(Value, sum(p * p for p in params))


LOSSES: dict[str, Callable[..., Value]] = {
    "mse": mse,
    "hinge": hinge,
    "bce": bce_with_logits,
    "cross_entropy": cross_entropy,
}


def get_loss(loss: str | Callable[..., Value], where: str = "get_loss") -> Callable[..., Value]:
    """The loss function for a name ("mse", "hinge", "bce", "cross_entropy") or a callable, unchanged.

    ``where`` names the caller in the error (``fit`` passes "fit").
    """
    if callable(loss):
        return loss
    return LOSSES[check_choice(loss, "loss", where, LOSSES, also="a callable loss(outputs, labels)")]
