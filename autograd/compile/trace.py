"""Compile, stage 1: the trace. The arguments are flattened into a structure key and numbers, and the
traced call's arguments are built from them; ``_Tracer`` watches the nodes made and the numbers read while
``fn`` runs; ``_returned_values`` reads what it returned. numpy is not needed here.
"""

from __future__ import annotations

import numbers
import os
import sys
from itertools import chain
from typing import TYPE_CHECKING, Any

from .. import engine, modes
from ..engine import Value
from . import checks
from .checks import _a  # an argument named in an error: its type and its repr, cut at 40

if TYPE_CHECKING:  # pragma: no cover
    from .function import Compiled

MAX_DEPTH = 64  # nesting levels of the arguments (deeper: a list that contains itself, or not data)
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # autograd/


class TracerWarning(UserWarning):
    """A traced value was read as a number while a compiled function was traced: it is frozen."""


class TraceError(RuntimeError):
    """A function cannot be compiled as traced (a frozen read under ``strict=True``, a node without a rule, ...)."""


def _flatten_arguments(
    args: tuple[Any, ...], static: frozenset[int]
) -> tuple[tuple[Any, ...], list[float], list[Value]]:
    """(structure key, the numbers in order, the distinct Value arguments in order of first use)."""
    key: list[Any] = []
    numbers_: list[float] = []
    values: list[Value] = []
    first_use: dict[int, int] = {}

    def walk(item: Any, where: str, depth: int) -> None:
        kind = type(item)
        if kind is float:
            key.append("f")
            numbers_.append(item)
        elif kind is list or kind is tuple:
            if depth >= MAX_DEPTH:
                raise ValueError(
                    f"compiled: {where} is nested more than {MAX_DEPTH} levels deep (a list that contains itself?): "
                    "arguments are numbers, Values and lists or tuples of them"
                )
            tag = "[" if kind is list else "("
            kinds = set(map(type, item))
            if kinds <= {float}:  # a vector of floats: the common case, one token
                key.append((tag, len(item), "f"))
                numbers_.extend(item)
            elif (kinds == {list} or kinds == {tuple}) and set(map(type, chain.from_iterable(item))) <= {float}:
                key.append((tag, len(item)))  # rows of floats (a batch of samples): the tokens of walking them
                row = "[" if kinds == {list} else "("
                key.extend((row, len(r), "f") for r in item)
                numbers_.extend(chain.from_iterable(item))
            elif all(_is_number(x) for x in item):  # numbers of other types (ints, numpy floats)
                key.append((tag, len(item), "f"))
                numbers_.extend(_number(x, f"{where}[{i}]") for i, x in enumerate(item))
            else:
                key.append((tag, len(item)))
                for i, x in enumerate(item):
                    walk(x, f"{where}[{i}]", depth + 1)
        elif isinstance(item, Value):
            if item._parents:
                raise ValueError(
                    f"compiled: {where} is a Value computed by an operation ({_describe(item)}): a compiled function "
                    "takes leaves; pass its number (.data) or compute it inside the function"
                )
            position = first_use.setdefault(id(item), len(values))
            if position == len(values):
                values.append(item)
            key.append(("v", position))
        else:
            key.append("f")
            numbers_.append(_number(item, where))

    for i, arg in enumerate(args):
        if i in static:
            try:
                hash(arg)
            except TypeError:
                raise TypeError(
                    f"compiled: args[{i}] is static (static_argnums) and must be hashable, got {_a(arg)}; "
                    "pass a tuple instead of a list"
                ) from None
            key.append(("static", type(arg), arg))
        else:
            walk(arg, f"args[{i}]", 0)
    return tuple(key), numbers_, values


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, Value))


def _number(x: Any, where: str) -> float:
    """An argument's number as a float, or an error naming where it is and what it is."""
    if isinstance(x, bool):
        raise TypeError(f"compiled: {where} is a bool ({x}): pass 1.0 or 0.0, or mark the argument static")
    if not _is_number(x):
        raise TypeError(
            f"compiled: {where} is {_a(x)}: arguments are numbers, Values and (nested) lists or tuples of them; "
            "mark an argument that is not data with static_argnums"
        )
    return engine._real(x, f"compiled: {where}")


def _describe(node: Value) -> str:
    op = node._op
    symbol = str(op) if op else ("a constant" if node.is_constant else "a leaf")
    return f"{symbol}, data {node._data!r}"


def _build_arguments(
    args: tuple[Any, ...], static: frozenset[int], values: list[Value]
) -> tuple[tuple[Any, ...], dict[Value, int], list[Value]]:
    """The arguments for the traced call: every number becomes a leaf Value ({that leaf: its index}),
    and every Value argument a stand-in leaf holding its number (one per distinct argument, in the
    order of ``values``). As in JAX, an argument is an input of its own: a Value passed as an argument
    that the function also closes over is two leaves of the program, not one."""
    made: dict[Value, int] = {}
    counter = [0]
    stand_ins = [checks.stand_in(v) for v in values]
    stand_in = {id(v): s for v, s in zip(values, stand_ins)}

    def build(item: Any) -> Any:
        if isinstance(item, (list, tuple)):
            return type(item)(build(x) for x in item)
        if isinstance(item, Value):
            return stand_in[id(item)]
        leaf = Value(float(item))
        made[leaf] = counter[0]
        counter[0] += 1
        return leaf

    return tuple(arg if i in static else build(arg) for i, arg in enumerate(args)), made, stand_ins


def _user_frame() -> tuple[str, int, str]:
    """(file, line, module) of the innermost caller outside the autograd package."""
    frame: Any = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:  # pragma: no cover - only autograd frames on the stack
        return "<unknown>", 0, "autograd"
    return frame.f_code.co_filename, frame.f_lineno, frame.f_globals.get("__name__", "")


class _Tracer:
    """Watches the nodes made and the numbers read while fn runs (registered in ``modes``)."""

    def __init__(self, owner: Compiled, inputs: dict[Value, int], values: list[Value]):
        self.owner = owner
        self.made: dict[Value, int] = {}  # strong references: every node made while tracing, in eager's order
        self.inputs = inputs  # {leaf made from a number: its index among the numbers}
        self.value_inputs = set(values)
        self.modes = modes.this_thread()

    def created(self, node: Value) -> None:
        """``modes.record`` calls this for every node made while the tracer is registered."""
        self.made[node] = len(self.made)
        if self.modes.no_grad:
            self.owner._frozen("a Value computed under no_grad() inside the traced function", node)

    def read(self, node: Value) -> None:
        """``Value.data`` (and a comparison) calls this while the tracer is registered."""
        if node in self.made:
            if not node._parents:
                return  # a constant made inside fn (or under no_grad, warned when made): nothing more to freeze
            what = "a Value computed inside the traced function"
        elif node in self.inputs or node in self.value_inputs:
            what = "an input of the traced function"
        else:
            what = "a Value made outside the traced function (a parameter)"
        self.owner._frozen(what, node)


def _returned_values(result: Any) -> tuple[Value, list[Value], Any]:
    """(the loss, every Value fn returned, the shape of what it returned) — the loss is the result, or
    the first item of a returned tuple."""
    if isinstance(result, Value):
        loss = result
    elif type(result) is tuple and result and isinstance(result[0], Value):
        loss = result[0]
    else:
        raise TypeError(
            "compiled: the function must return the Value to differentiate (the loss), or a tuple whose first "
            f"item is that Value; it returned {_a(result)}"
        )
    returned: list[Value] = []

    def shape_of(item: Any, depth: int) -> Any:
        if isinstance(item, Value):
            returned.append(item)
            return ("value", len(returned) - 1)
        if (type(item) is list or type(item) is tuple) and depth < MAX_DEPTH:
            return ("sequence", type(item), [shape_of(x, depth + 1) for x in item])
        return ("object", item)  # anything else comes back as it was at trace time

    return loss, returned, shape_of(result, 0)
