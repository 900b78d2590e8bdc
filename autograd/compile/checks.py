"""The checks that keep a compiled replay equal to the eager step (used by ``autograd.compile``).

- ``rule_on_arrays``: may a user's ``Op`` run on whole arrays? Its forward and partials are evaluated on
  arrays and on floats, one point at a time as eager does, at the traced points and at points of both
  signs, and must agree everywhere; a rule with a Python ``if`` on its input raises on an array of
  several numbers, so it is evaluated element by element, at every kernel size. A partial that is a
  plain number is a constant only where the float rule gives that number at every probe.
- ``careful_forward``: the slow path of a replay's forward when a number is ±inf or nan, or an
  element-wise op raised: the engine's scalar forward (and partials) give the number, or raise the
  engine's own error, and where several nodes fail the one eager meets first (the first made while
  tracing) is raised.
- ``unused_that_can_fail``: the nodes fn made and did not use that a replay still computes, as eager does,
  because their op can fail; ``stand_in`` and ``swapped``: a Value argument traced as a leaf of its own.
- ``check_params`` and ``numbers_array``: the arguments of ``Compiled.gradients`` and
  ``Adam.step_arrays`` refused by name (a parameter listed twice; strings, bools, complex numbers,
  ``Value``s where numbers belong).

numpy is imported inside the functions: this module is imported by ``autograd.compile``, which imports numpy lazily.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from .. import engine
from ..engine import Op, Value

# Points where a user's rule is probed besides the traced ones: both signs, near and away from 0.
_PROBES = (-1.5, 0.75, -0.25, 2.5, 1.0, -3.0, 0.5, -1.0)


def same_numbers(a: Any, b: Any) -> bool:
    """Equal to 1e-12 relative, with ±inf and nan in the same places."""
    import numpy as np

    finite = np.isfinite(b)
    if not np.array_equal(np.isfinite(a), finite) or not np.array_equal(a[~finite], b[~finite], equal_nan=True):
        return False
    return bool(np.all(np.abs(a[finite] - b[finite]) <= 1e-12 * np.abs(b[finite])))


def eager_forward(op: Op, xs: Sequence[float]) -> float:
    """The op's number at ``xs`` exactly as ``engine._apply`` computes it (its errors included)."""
    out = op.forward(*xs)
    return out if type(out) is float else engine._real(out, f"op {str(op)!r}: forward")


def rule_on_arrays(op: Op, xs: list[Any]) -> tuple[bool, bool]:
    """(the forward gives eager's numbers on arrays, the partials do), for a user's op whose traced
    operands are ``xs``: probed on the traced points and on ``_PROBES``, never fewer than two points
    (a Python ``if`` on an array of two numbers raises)."""
    import numpy as np

    arity = len(xs)
    extra = [[_PROBES[(k + 3 * i) % len(_PROBES)] for k in range(len(_PROBES))] for i in range(arity)]
    rows: list[tuple[float, ...]] = []
    outs: list[float] = []
    partials: list[tuple[float, ...]] = []
    for row in zip(*[x.tolist() + e for x, e in zip(xs, extra)]):
        try:
            out = eager_forward(op, row)
            local = engine._partials_at(op, row, out)
            local = tuple(float(d) for d in local)
        except Exception:  # noqa: BLE001 - no value there (log of a negative, ...): not a probe
            continue
        rows.append(row)
        outs.append(out)
        partials.append(local)
    if len(rows) < 2:  # too few points where the rule has a value to tell: element by element
        return False, False
    arrays = [np.array(column, dtype=float) for column in zip(*rows)]
    out_array = np.array(outs, dtype=float)
    with np.errstate(all="ignore"):
        try:
            forward = np.asarray(op.forward(*arrays), dtype=float)
            forward_ok = forward.shape == out_array.shape and same_numbers(forward, out_array)
        except Exception:  # noqa: BLE001 - math.* on an array, `if x > 0` on an array, ...
            forward_ok = False
        try:
            local = engine._checked_partials(op, op.partials(*arrays, out_array), arity)
            expected = [np.array(column, dtype=float) for column in zip(*partials)]
            partials_ok = all(
                same_numbers(np.broadcast_to(np.asarray(d, dtype=float), out_array.shape), e)
                for d, e in zip(local, expected)
            )
        except Exception:  # noqa: BLE001
            partials_ok = False
    return forward_ok, partials_ok


def careful_forward(kernel: Any, args: tuple[Any, ...], out: Any, failures: list[tuple[int, BaseException]]) -> Any:
    """An element-wise kernel's numbers where the fast path cannot be trusted, into ``out``; returns
    its partials (or None). Rows of a user's op evaluated element by element take eager's steps one
    at a time; other kernels recompute, by the scalar forward, each row whose output or an operand
    is ±inf or nan. A row that raises adds (its node's place in eager's order, the error) to
    ``failures`` and holds nan."""
    import numpy as np

    op = kernel.op
    per_row = kernel.per_row
    if not per_row:
        try:
            if kernel.ufunc:
                kernel.forward(*args, out=out)
            else:
                out[...] = kernel.forward(*args)
        except Exception:  # noqa: BLE001 - a user's forward on arrays, at numbers it was not probed on
            per_row = True
    if per_row:
        rows: Any = range(kernel.count)
    else:
        bad = ~np.isfinite(out)
        for a in args:
            bad |= ~np.isfinite(a)
        rows = np.flatnonzero(bad).tolist()
    columns: list[list[float]] | None = None
    if per_row and kernel.partials is not None:
        columns = [[math.nan] * kernel.count for _ in args]
    for j in rows:
        xs = [float(a[j]) for a in args]
        try:
            y = eager_forward(op, xs)
            if columns is not None:
                for column, d in zip(columns, engine._partials_at(op, xs, y)):
                    column[j] = float(d)
            out[j] = y
        except Exception as error:  # noqa: BLE001 - eager raises it: the replay raises the first of them
            failures.append((int(kernel.order[j]), error))
            out[j] = math.nan
    if kernel.partials is None:
        return None
    if columns is not None:
        return tuple(np.array(column, dtype=float) for column in columns)
    try:
        return kernel.partials(*args, out)
    except Exception as error:  # noqa: BLE001
        failures.append((int(kernel.order.min()), error))
        return None


def stand_in(v: Value) -> Value:
    """A leaf holding the number of the Value argument ``v``, traced in its place (an input of its own)."""
    leaf = Value(v._data)
    if v.label:
        leaf.label = v.label
    return leaf


def swapped(result: Any, originals: dict[int, Value], max_depth: int, depth: int = 0) -> Any:
    """``result`` with every stand-in of a Value argument replaced by that argument (in lists and tuples)."""
    if isinstance(result, Value):
        return originals.get(id(result), result)
    if (type(result) is list or type(result) is tuple) and depth < max_depth:
        return type(result)(swapped(x, originals, max_depth, depth + 1) for x in result)
    return result


def _total(op: Op) -> bool:
    """The op's forward has a value at every input, ±inf and nan included: its ``total`` field (and +, ADD,
    which the replay computes as a sum of two terms: SUM, which is total)."""
    return op.total or op is engine.ADD


def unused_that_can_fail(made: dict[Value, int], reached: dict[Value, Any]) -> list[Value]:
    """The nodes made inside fn, in eager's order, that nothing returned depends on and whose op can
    fail, where the program can compute them (their graph was traced, by their ops' rules: an ``Op``
    and no ``_backward`` closure of the node's own)."""
    traceable: dict[Value, bool] = {}
    unused = []
    for v in made:
        parents = v._parents
        if not parents:
            continue
        op = v._op
        ok = isinstance(op, Op) and engine._own_backward(v) is None
        ok = ok and all(traceable.get(p, False) if p._parents else True for p in parents)
        traceable[v] = ok
        if ok and v not in reached and not _total(op):
            unused.append(v)
    return unused


def check_params(params: Sequence[Value], where: str) -> None:
    """``params`` is a list of distinct Values, or an error naming the offending item."""
    if isinstance(params, (str, bytes)) or not isinstance(params, Sequence):
        raise TypeError(f"{where}: params must be a list of Values, got {type(params).__name__}")
    for i, p in enumerate(params):
        if not isinstance(p, Value):
            raise TypeError(f"{where}: params must be a list of Values; params[{i}] is {_a(p)}")
    if len({id(p) for p in params}) != len(params):
        first: dict[int, int] = {}
        for i, p in enumerate(params):
            j = first.setdefault(id(p), i)
            if j != i:
                raise ValueError(
                    f"{where}: params[{i}] is params[{j}] (data {p._data!r}), listed twice: a parameter's "
                    "number and gradient have one place in the array; list each parameter once"
                )


def numbers_array(x: Any, where: str) -> Any:
    """``x`` (an array or a list of real numbers) as a float numpy array, or an error naming ``where``,
    the first offending item and what it is (a string, a bool, a complex number, a Value)."""
    import numpy as np

    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return x.astype(float, copy=False)
    if isinstance(x, (list, tuple)):  # numpy would read True as 1.0
        for i, item in enumerate(x):
            if isinstance(item, bool):
                raise TypeError(f"{where}[{i}] is bool {item}: only real numbers are data")
    try:
        array = np.asarray(x)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{where} must be an array of real numbers, got {_a(x)} ({error})") from None
    if array.dtype.kind in "fiu":
        return array.astype(float)
    if array.ndim == 0:
        raise TypeError(f"{where} must be an array of real numbers, got {_a(x)}")
    items = array.ravel().tolist() if array.dtype.kind != "O" else list(array.ravel())
    if array.dtype.kind == "c":  # name a number whose imaginary part is not 0 (the one that would be dropped)
        items = [item if item.imag else 0.0 for item in items]
    for i, item in enumerate(items):
        if isinstance(item, Value):
            raise TypeError(
                f"{where}[{i}] is a Value (data {item._data!r}): pass numbers, e.g. [p.data for p in params]"
            )
        if isinstance(item, bool) or not isinstance(item, numbers.Real):
            raise TypeError(f"{where}[{i}] is {_a(item)}: only real numbers are data")
    return array.astype(float)


def _a(x: Any) -> str:
    text = repr(x)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{type(x).__name__} {text}"
