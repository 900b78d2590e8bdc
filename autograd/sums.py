"""Sums and dot products as one n-ary node: ``sum_values`` and ``dot`` (a neuron's Σ wᵢxᵢ + b).

Built from the rule table's ``SUM`` and ``MUL``, so they need no rule of their own; ``engine`` re-exports
them, and the accelerator (``_fast.py``) installs its copies of both over ``engine``'s names.
"""

from __future__ import annotations

from collections.abc import Sequence

from .compat import Compat  # a base of every Value, the reference's and the accelerator's
from .engine import MUL, SUM, Operand, Value, _checked, _constant, _real


def sum_values(values: Sequence[Operand], start: Operand = 0.0) -> Value:
    """start + v₀ + v₁ + … as one n-ary ``+`` node; ∂/∂vᵢ = 1 for every term.

    The sum is accumulated left to right, so ``.data`` is what Python's
    ``sum(values, start)`` gives, but the graph has one node instead of a chain of
    len(values) binary ``+`` nodes. A ``start`` of 0 adds no term.
    """
    terms = [v if isinstance(v, Compat) else _constant(v, "sum_values") for v in values]
    if isinstance(start, Compat) or _real(start, "sum_values(start=...)") != 0:
        terms.insert(0, start if isinstance(start, Compat) else _constant(start, "sum_values(start=...)"))
    if not terms:
        return _constant(0.0, "sum_values")
    return SUM(*terms)


def dot(weights: Sequence[Operand], inputs: Sequence[Operand], start: Operand = 0.0) -> Value:
    """start + w₀·x₀ + w₁·x₁ + … (a neuron's pre-activation Σ wᵢxᵢ + b).

    One ``*`` node per product and one n-ary ``+`` node for the sum (``sum_values``):
    the same floats as ``sum((w * x for w, x in zip(weights, inputs)), start)``, and
    the same gradients, from a graph about half the size of that chain of binary ``+``.
    """
    if len(weights) != len(inputs):
        raise ValueError(f"dot: {len(weights)} weights but {len(inputs)} inputs")
    products = [MUL(_checked(w, "*"), _checked(x, "*")) for w, x in zip(weights, inputs)]
    return sum_values(products, start)
