"""The limit policy: what the engine's numbers are where an operation or its derivative has no plain value.

- Values follow IEEE 754, as in PyTorch: a result too large for a float is ±inf (``exp(1000)``), and
  infinities and nan flow through.
- Where an operation has no value at all at its input, it raises an error naming it: ``log`` of x ≤ 0,
  ``sqrt`` of x < 0, division by zero, 0 to a negative power, a negative base to a fractional power,
  ``sin`` and ``cos`` of ±inf (``_undefined``).
- Derivatives never raise: while partials are evaluated (``modes.limits``) the same functions return the
  limit instead (±inf or nan), and ``_Limit`` carries a float rule through that arithmetic.
- A zero factor contributes nothing: in the chain rule 0 · ∞ is 0, never nan (``engine.chain_rule``).

The engine's forward functions (``_divide``, ``_pow``, ``_exp``, ...) are defined here, one per rule
that needs care; the rule table in ``engine.py`` names them. Standard library only (and ``modes``,
which holds the "evaluating derivatives" switch).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import modes

if TYPE_CHECKING:
    from .engine import Operand
    from .op import Op

# ---- the forward functions: IEEE 754 values, and a named error where there is no value at all


def _undefined(limit: float, message: str, error: type[Exception] = ValueError) -> float:
    """An input where the operation has no value: raise ``error`` — or, while derivatives are
    evaluated (``modes.limits``), return the limit, so a derivative is ±inf or nan, never an error."""
    if modes.in_limits():
        return limit
    raise error(message)


def _divide(a: float, b: float) -> float:
    if b:
        return a / b
    limit = math.nan if a == 0 or a != a else math.copysign(math.inf, a) * math.copysign(1.0, b)
    return _undefined(limit, f"division by zero: {a} / {b}", ZeroDivisionError)


def _pow(x: float, k: float) -> float:
    if x < 0 and math.isfinite(k) and not float(k).is_integer():
        return _undefined(math.nan, f"({x}) ** {k} is undefined: a negative base needs an integer exponent")
    odd = float(k).is_integer() and k % 2 == 1  # x ** odd keeps the sign of x
    if x == 0 and k < 0:
        limit = math.copysign(math.inf, x) if odd else math.inf
        message = f"{x} ** {k} is undefined: zero to a negative power divides by zero"
        return _undefined(limit, message, ZeroDivisionError)
    try:
        return float(x**k)
    except OverflowError:  # too large for a float: ±inf, as IEEE 754 and PyTorch give
        return math.copysign(math.inf, x) if odd else math.inf


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _log(x: float) -> float:
    if x > 0 or x != x:
        return math.log(x)
    return _undefined(-math.inf if x == 0 else math.nan, f"log() of {x} is undefined: log needs a positive input")


def _sqrt(x: float) -> float:
    if x >= 0 or x != x:
        return math.sqrt(x)
    return _undefined(math.nan, f"sqrt() of {x} is undefined: sqrt needs a non-negative input")


def _sin(x: float) -> float:
    if math.isinf(x):
        return _undefined(math.nan, f"sin() of {x} is undefined: sin has no limit at infinity")
    return math.sin(x)


def _cos(x: float) -> float:
    if math.isinf(x):
        return _undefined(math.nan, f"cos() of {x} is undefined: cos has no limit at infinity")
    return math.cos(x)


def _sigmoid(x: float) -> float:
    if x >= 0:  # stable on both sides: never exponentiates a large positive number
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))  # ln(1 + e^x) without overflow


# ---- numbers as floats, and the errors that name a bad one


def _real(x: Any, where: str) -> float:
    """``x`` as a float, or an error naming ``where`` and the offending value."""
    if isinstance(x, numbers.Real):  # (a Value is not a numbers.Real)
        try:
            return float(x)
        except OverflowError:
            digits = f" ({len(str(abs(x)))} digits)" if isinstance(x, int) else ""
            raise OverflowError(f"{where}: the number {_shown(x)}{digits} is too large for a float") from None
    raise TypeError(f"{where} needs a real number or a Value, got {type(x).__name__} {_shown(x)}")


def _shown(x: Any) -> str:
    if isinstance(x, int) and not isinstance(x, bool) and abs(x) > 10**30:
        text = str(x)
        return f"{text[:12]}...{text[-6:]}"
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."


def _checked(x: Any, where: str) -> Any:
    """``x`` as an operand of ``where``: a Value as it is, a number as a float (it becomes a constant)."""
    if isinstance(x, Compat) or type(x) is float:  # a Value (Compat is its base) or a float
        return x
    return _real(x, where)


def _number_of(x: Operand, where: str = "comparison") -> float:
    """The float inside ``x`` (a Value or a number)."""
    if isinstance(x, Compat):  # a Value
        return x._data
    return _real(x, where)


# ---- derivatives at a singular point: the limit, never an error


def _partials_at(op: Op, xs: Sequence[float], out: float) -> tuple[Any, ...]:
    """``op.partials`` at the numbers ``xs``. At a singular point (1/0, log 0, 0**-1) Python's
    float arithmetic raises; there the rule is evaluated again in limit arithmetic (±inf, nan)."""
    try:
        local = op.partials(*xs, out)
    except (ZeroDivisionError, OverflowError, ValueError):
        with modes.limits():
            local = op.partials(*[_Limit(x) for x in xs], _Limit(out))
        local = tuple(float(d) if isinstance(d, _Limit) else d for d in _checked_partials(op, local, len(xs)))
    if type(local) is not tuple or len(local) != len(xs):
        local = _checked_partials(op, local, len(xs))
    return local


def _checked_partials(op: Op, local: Any, n: int) -> tuple[Any, ...]:
    """A user's partials as a tuple of n derivatives, or an error naming the op."""
    if not isinstance(local, (tuple, list)):
        local = (local,)
    if len(local) != n:
        raise ValueError(f"op {str(op)!r}: partials gave {len(local)} derivatives for {n} inputs")
    return tuple(local)


class _Limit(float):
    """A float whose / and ** give the IEEE 754 limit (±inf, nan) where Python's raise; every
    operation a rule may use on it (arithmetic, abs, autograd's functions) gives a ``_Limit`` again."""

    def __truediv__(self, other: Any) -> Any:
        return _Limit(_divide(float(self), float(other)))

    def __rtruediv__(self, other: Any) -> Any:
        return _Limit(_divide(float(other), float(self)))

    def __pow__(self, other: Any) -> Any:  # type: ignore[override]
        return _Limit(_pow(float(self), float(other)))

    def __rpow__(self, other: Any) -> Any:  # type: ignore[override]
        return _Limit(_pow(float(other), float(self)))

    def __add__(self, other: Any) -> Any:
        return _Limit(float(self) + float(other)) if isinstance(other, numbers.Real) else NotImplemented

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        return _Limit(float(self) - float(other)) if isinstance(other, numbers.Real) else NotImplemented

    def __rsub__(self, other: Any) -> Any:
        return _Limit(float(other) - float(self)) if isinstance(other, numbers.Real) else NotImplemented

    def __mul__(self, other: Any) -> Any:
        return _Limit(float(self) * float(other)) if isinstance(other, numbers.Real) else NotImplemented

    __rmul__ = __mul__

    def __neg__(self) -> Any:
        return _Limit(-float(self))

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return _Limit(abs(float(self)))


# last: compat.py imports _real from here (a Value's base class, for the operand checks above)
from .compat import Compat  # noqa: E402
